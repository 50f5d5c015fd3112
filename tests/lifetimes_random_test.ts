/**
 * Random compositions of transforms, each transformed function called
 * twice, checking buffer lifetimes (ARCHITECTURE.md ("Buffers and lifetimes")): no call may meet
 * "tensor was disposed", and both calls must agree with a reference built
 * from the same composition without jit and without chunking.
 *
 * The functions mix tensors made outside (closed over), inside on every
 * call, and inside on the first call and then stored outside and reused;
 * results are disposed after use. Fixed seed and a few hundred cases by
 * default; `JACOBI_LIFETIMES_CASES=5000` (and `JACOBI_LIFETIMES_SEED`) for
 * a longer run.
 */
import {
  cat,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";
import { assertClose, env, Rng } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;
const CASES = Number(env("JACOBI_LIFETIMES_CASES") ?? 600);
const SEED = Number(env("JACOBI_LIFETIMES_SEED") ?? 20240610);

type F = (x: Tensor) => Tensor;

/** A random elementwise-ish function of x: [n] using tensors of every origin. */
function baseFunction(rng: Rng, n: number): [F, string] {
  const outside = tensor(
    Array.from({ length: n }, () => rng.uniform(-1, 1)),
    f64,
  );
  const M = tensor(
    Array.from(
      { length: n },
      () => Array.from({ length: n }, () => rng.uniform(-1, 1)),
    ),
    f64,
  );
  const insideValues = Array.from({ length: n }, () => rng.uniform(-1, 1));
  let stored: Tensor | undefined;
  const steps: [string, (y: Tensor) => Tensor][] = [
    ["sin", (y) => y.sin()],
    ["tanh", (y) => y.tanh()],
    ["mul(outside)", (y) => y.mul(outside)],
    ["add(inside)", (y) => y.add(tensor(insideValues, f64))],
    ["mul(stored)", (y) => {
      stored ??= tensor(insideValues, f64).mul(0.5).exp();
      return y.mul(stored);
    }],
    ["inside-only chain", (y) => y.add(outside.mul(2).cos().sum())],
    ["matmul(M)", (y) => M.matmul(y)],
    ["square*0.3", (y) => y.square().mul(0.3)],
    ["exp(0.2y)", (y) => y.mul(0.2).exp()],
    ["same-shape reshape", (y) => y.reshape([n]).sum([])],
    ["detach mix", (y) => y.add(y.detach().mul(0.1))],
    ["view", (y) => y.reshape([1, n]).squeeze(0).clone()],
    ["cat of one", (y) => cat([y]).add(0.25)],
  ];
  const chosen = Array.from(
    { length: rng.int(2, 4) },
    () => rng.pick(steps),
  );
  const scalarOut = rng.next() < 0.3;
  const f: F = (x) => {
    let y = x;
    for (const [, s] of chosen) y = s(y);
    return scalarOut ? y.sum() : y;
  };
  return [
    f,
    chosen.map((c) => c[0]).join(" ∘ ") + (scalarOut ? " → sum" : ""),
  ];
}

interface Layer {
  name: string;
  /** The transformed function; `reference` drops jit and chunking. */
  apply(g: F, reference: boolean): F;
}

function randomLayer(rng: Rng): Layer {
  const chunk = rng.pick([undefined, 1, 2]);
  const c = chunk === undefined ? "" : `, chunk ${chunk}`;
  const kinds: Layer[] = [
    {
      name: "grad",
      apply: (g) => (x) => grad((y: Tensor) => g(y).sin().sum())(x) as Tensor,
    },
    { name: "jit", apply: (g, ref) => (ref ? g : jit(g) as F) },
    {
      name: "jit with a traced number",
      apply: (g, ref) => {
        const h = (y: Tensor, s: number) => g(y.mul(s)).mul(s);
        const j = ref ? h : jit(h) as typeof h;
        return (x) => j(x, 0.75);
      },
    },
    {
      name: "jit donating a copy",
      apply: (g, ref) => {
        const j = ref ? g : jit(g, { donateArgnums: 0 }) as F;
        return (x) => j(x.mul(1));
      },
    },
    {
      name: `vmap${c}`,
      apply: (g, ref) => (x) => {
        const X = x.unsqueeze(0).mul(tensor([[1], [0.5], [-2]], f64));
        return vmap(g, { chunkSize: ref ? undefined : chunk })(X) as Tensor;
      },
    },
    {
      name: "linearize",
      apply: (g) => (x) => {
        const [y, jvpFn] = linearize(g, x);
        const t = x.cos();
        const out = (jvpFn(t) as Tensor).add(y as Tensor);
        (y as Tensor).dispose(); // the closure holds its residuals
        t.dispose();
        return out;
      },
    },
    {
      name: "vjp",
      apply: (g) => (x) => {
        const [y, vjpFn] = vjp(g, x);
        const ct = (y as Tensor).cos();
        (y as Tensor).dispose();
        const out = vjpFn(ct)[0] as Tensor;
        ct.dispose();
        return out;
      },
    },
    {
      name: "jvp",
      apply: (g) => (x) => jvp(g, [x], [x.sin()])[1],
    },
    {
      name: "valueAndGrad",
      apply: (g) => (x) => {
        const [v, gr] = valueAndGrad((y: Tensor) => g(y).tanh().sum())(x);
        return (gr as Tensor).mul(v);
      },
    },
    {
      name: "hessian",
      apply: (g) => (x) =>
        hessian((y: Tensor) => g(y).sin().sum())(x) as Tensor,
    },
    {
      name: `vmap with an unbatched argument${c}`,
      apply: (g, ref) => (x) => {
        const X = x.unsqueeze(0).mul(tensor([[0.5], [1.5]], f64));
        return vmap((a: Tensor, b: Tensor) => g(a.add(b)), {
          inDims: [0, null],
          chunkSize: ref ? undefined : chunk,
        })(X, x.mul(0.1)) as Tensor;
      },
    },
    {
      name: `jacfwd${c}`,
      apply: (g, ref) => (x) =>
        jacfwd(g, { chunkSize: ref ? undefined : chunk })(x) as Tensor,
    },
    {
      name: `jacrev${c}`,
      apply: (g, ref) => (x) =>
        jacrev(g, { chunkSize: ref ? undefined : chunk })(x) as Tensor,
    },
  ];
  return rng.pick(kinds);
}

Deno.test(`lifetimes: ${CASES} random transform compositions, each called twice, agree with a reference`, () => {
  const rng = new Rng(SEED);
  const failures: string[] = [];
  for (let k = 0; k < CASES; k++) {
    const n = rng.int(2, 3);
    const [f, desc] = baseFunction(rng, n);
    const layers = Array.from(
      { length: rng.int(1, 3) },
      () => randomLayer(rng),
    );
    // Innermost first: layers[0] wraps f.
    let g: F = f, ref: F = f;
    for (const l of layers) {
      g = l.apply(g, false);
      ref = l.apply(ref, true);
    }
    const label = `case ${k}: ${
      [...layers].reverse().map((l) => l.name).join("(")
    }(${desc})${")".repeat(layers.length - 1)}`;
    const x = tensor(Array.from({ length: n }, () => rng.uniform(-1, 1)), f64);
    try {
      const first = g(x);
      const expected = ref(x);
      const firstValues = first.data();
      first.dispose();
      const second = g(x);
      assertClose(second, expected, { rtol: 1e-9, atol: 1e-9 }, "second call");
      assertClose(
        tensor(firstValues, f64).reshape(expected.shape),
        expected,
        { rtol: 1e-9, atol: 1e-9 },
        "first call",
      );
      second.dispose();
      expected.dispose();
      // The input survives everything.
      x.data();
    } catch (e) {
      failures.push(`${label}: ${(e as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} of ${CASES} compositions failed (seed ${SEED}):\n` +
        failures.slice(0, 20).join("\n"),
    );
  }
});
