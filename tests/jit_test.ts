import assert from "node:assert/strict";
import {
  allclose,
  grad,
  hessian,
  jacrev,
  jit,
  jvp,
  linear,
  memoryStats,
  randn,
  stack,
  type Tensor,
  tensor,
  vjp,
  vmap,
} from "../mod.ts";
import { lowerings } from "../src/core/lowering.ts";

const f64 = { dtype: "float64" } as const;
const predict = (W: Tensor, b: Tensor, x: Tensor) => linear(x, W, b).tanh();

function close(a: Tensor, b: Tensor, tol = 1e-12): void {
  assert.deepEqual(a.shape, b.shape);
  assert.ok(allclose(a, b, { rtol: tol, atol: tol }), `${a} vs ${b}`);
}

/** Counts lowerings per primitive while `body` runs. */
function launches(body: () => void): Map<string, number> {
  const table = lowerings as unknown as Record<
    string,
    (...a: unknown[]) => unknown
  >;
  const saved = { ...table };
  const counts = new Map<string, number>();
  for (const k of Object.keys(saved)) {
    table[k] = (...a: unknown[]) => {
      counts.set(k, (counts.get(k) ?? 0) + 1);
      return saved[k](...a);
    };
  }
  try {
    body();
  } finally {
    Object.assign(table, saved);
  }
  return counts;
}

Deno.test("jit() gives the same values and traces once per input signature", () => {
  let traces = 0;
  const g = jit((p: { a: Tensor; b: Tensor }, k: number) => {
    traces++;
    return [p.a.mul(p.b).add(k).sin(), p.a.sum()];
  });
  const a = randn([3], f64), b = randn([3], f64);
  for (let i = 0; i < 3; i++) {
    const [y, s] = g({ a, b }, 2) as Tensor[];
    close(y, a.mul(b).add(2).sin());
    close(s, a.sum());
  }
  assert.equal(traces, 1);
  g({ a: randn([5], f64), b: randn([5], f64) }, 2); // new shapes
  assert.equal(traces, 2);
  // A plain number is traced: a new value reuses the program.
  const [y3] = g({ a, b }, 3) as Tensor[];
  close(y3, a.mul(b).add(3).sin());
  assert.equal(traces, 2);
});

Deno.test("jit() of transforms equals the transforms (hvp, jacrev, hessian)", () => {
  const f = (x: Tensor) => x.sin().sum();
  const x = randn([50], f64), v = randn([50], f64);
  const expected = x.sin().neg().mul(v);
  close(
    jit((x: Tensor, v: Tensor) => jvp(grad(f), [x], [v])[1])(x, v) as Tensor,
    expected,
  );
  close(
    jit((x: Tensor, v: Tensor) => vjp(grad(f), x)[1](v)[0])(x, v) as Tensor,
    expected,
  );
  const [W, b, x2] = [randn([5, 4], f64), randn([5], f64), randn([4], f64)];
  const jr = jacrev(predict, { argnums: 2 });
  close(jit(jr)(W, b, x2), jr(W, b, x2));
  const h = hessian(predict, { argnums: 2 });
  close(jit(h)(W, b, x2), h(W, b, x2));
});

Deno.test("transforms of jit() equal the transforms of the function", () => {
  const f = (x: Tensor) => x.mul(x).sin().sum();
  const jf = jit(f);
  const x = randn([6], f64);
  close(grad(jf)(x), grad(f)(x));
  close(
    grad((x: Tensor) => (grad(jf)(x) as Tensor).sum())(x),
    grad((x: Tensor) => (grad(f)(x) as Tensor).sum())(x),
  );
  const xs = randn([4, 6], f64);
  close(vmap(jf)(xs), stack([0, 1, 2, 3].map((i) => f(xs.select(0, i)))));
  close(
    jacrev(jit((x: Tensor) => x.exp().mul(x)))(x),
    jacrev((x: Tensor) => x.exp().mul(x))(x),
  );
});

Deno.test("jit() drops dead and repeated work: grad of sum(sin x) runs one cos and no sin", () => {
  // Unfused, so that each equation is one lowering to count.
  const g = jit(grad((x: Tensor) => x.sin().sum()), { fuse: false });
  const x = randn([100]);
  // The first call traces, optimises and compiles: what it lowers is what
  // every later call runs.
  let y: Tensor | undefined;
  const counts = launches(() => y = g(x) as Tensor);
  assert.equal(counts.get("sin") ?? 0, 0);
  assert.equal(counts.get("cos"), 1);
  close(y!, x.cos());
  assert.equal(launches(() => g(x)).size, 0);
});

Deno.test("a jitted function closing over an outer transform's tracer still differentiates correctly", () => {
  // d/dx [x * g(x)] with g = jit(y => y * x): the inner program closes over x.
  const outer = (x: Tensor) => jit((y: Tensor) => y.mul(x))(x).sum();
  const x = tensor([1.5, -2], f64);
  close(grad(outer)(x), x.mul(2));
});

Deno.test("reading values inside jit() is a clear error", () => {
  const g = jit((x: Tensor) => tensor(x.item()));
  assert.throws(() => g(tensor([1])), /being traced/);
});

Deno.test("a synchronous loop of jitted calls keeps memory bounded", () => {
  const step = jit((w: Tensor) =>
    w.sub(grad((w: Tensor) => w.tanh().mul(w).sum())(w).mul(1e-3))
  );
  let w = randn([16384]);
  for (let i = 0; i < 2000; i++) {
    const next = step(w) as Tensor;
    w.dispose();
    w = next;
  }
  const { heapBytes } = memoryStats();
  assert.ok(
    heapBytes < 96 * 2 ** 20,
    `heap ${(heapBytes / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(Number.isFinite(w.sum().item()));
});
