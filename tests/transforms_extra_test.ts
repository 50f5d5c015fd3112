/**
 * evalShape, linearizeWithAux, vmap's outDims null and pytree prefixes,
 * linearTranspose, and debug.print / debug.callback inside grad, vmap and
 * jit (values at run time, on every call).
 * @module
 */
import assert from "node:assert/strict";
import {
  debug,
  evalShape,
  grad,
  hessian,
  jacrev,
  jit,
  linearize,
  linearizeWithAux,
  linearTranspose,
  memoryStats,
  type Tensor,
  tensor,
  vjp,
  vmap,
} from "../mod.ts";
import { assertClose, assertThrowsWith, randnT, Rng } from "./_helpers.ts";

const F64 = { dtype: "float64" } as const;
const EXACT = { rtol: 1e-12, atol: 1e-12 };

Deno.test("evalShape gives the output pytree of shapes and dtypes without computing", () => {
  const f = (x: Tensor, y: Tensor) => ({ m: x.matmul(y), s: [x.sum(), y.T] });
  const x = tensor([[1, 2, 3], [4, 5, 6]], F64),
    y = tensor([[1], [2], [3]], F64);
  const live = memoryStats().liveStorages;
  const out = evalShape(f)(x, y);
  assert.equal(memoryStats().liveStorages, live, "nothing was allocated");
  assert.deepEqual(out, {
    m: { shape: [2, 1], dtype: "float64" },
    s: [{ shape: [], dtype: "float64" }, { shape: [1, 3], dtype: "float64" }],
  });
  // { shape, dtype } objects stand for tensors: nothing needs to exist.
  assert.deepEqual(
    evalShape(f)(
      { shape: [1000, 30], dtype: "float64" },
      { shape: [30, 7], dtype: "float64" },
    ),
    {
      m: { shape: [1000, 7], dtype: "float64" },
      s: [{ shape: [], dtype: "float64" }, {
        shape: [7, 30],
        dtype: "float64",
      }],
    },
  );
  assert.equal(memoryStats().liveStorages, live);
  assertThrowsWith(
    () =>
      evalShape(f)({ shape: [2, 3], dtype: "float64" }, {
        shape: [2, 3],
        dtype: "float64",
      }),
    RangeError,
  );
  assert.deepEqual(
    evalShape(hessian((x: Tensor) => x.sin().sum()))(tensor([1, 2])),
    { shape: [2, 2], dtype: "float32" },
  );
  assert.deepEqual(
    evalShape(vmap(jacrev((x: Tensor) => x.sin())))(tensor([[1, 2, 3]])),
    { shape: [1, 3, 3], dtype: "float32" },
  );
});

Deno.test("linearizeWithAux returns the output, a jvpFn and the aux, called twice", () => {
  const x = tensor([0.5, -1], F64);
  const [y, jvpFn, aux] = linearizeWithAux(
    (x: Tensor) => [x.exp(), { n: x.square().sum() }] as const,
    x,
  );
  assertClose(y, x.exp(), EXACT);
  assertClose((aux as { n: Tensor }).n, 1.25, EXACT);
  const t = tensor([2, 3], F64);
  assertClose(jvpFn(t), x.exp().mul(t), EXACT);
  assertClose(jvpFn(t), x.exp().mul(t), EXACT);
  // The same through linearize's { hasAux: true } last argument.
  const [y2, jvpFn2, aux2] = linearize(
    (x: Tensor) => [x.exp(), { n: x.square().sum() }] as const,
    x,
    { hasAux: true },
  );
  assertClose(y2, x.exp(), EXACT);
  assertClose(aux2.n, 1.25, EXACT);
  assertClose(jvpFn2(t), x.exp().mul(t), EXACT);
  assertClose(jvpFn2(t), x.exp().mul(t), EXACT);
  // Without it, a two-argument call is two primals.
  const [, jf] = linearize((a: Tensor, b: Tensor) => a.mul(b), x, t);
  assertClose(jf(t, x), t.mul(t).add(x.mul(x)), EXACT);
  assertThrowsWith(
    () => linearize((x: Tensor) => x as never, x, { hasAux: true }),
    TypeError,
    "hasAux",
  );
  assertThrowsWith(
    () => linearizeWithAux((x: Tensor) => x as never, x),
    TypeError,
    "hasAux",
  );
});

Deno.test("vmap outDims: null returns an unbatched output, pytree prefixes place each leaf", () => {
  const rng = new Rng(2);
  const xs = randnT(rng, [3, 4]), w = randnT(rng, [4]);
  const f = (x: Tensor, w: Tensor) => ({
    y: x.mul(w),
    c: w.square().sum(),
    p: [x.sum(), x.sin()],
  });
  for (let call = 0; call < 2; call++) {
    const r = vmap(f, {
      inDims: [0, null],
      outDims: { y: 1, c: null, p: [0, -1] },
    })(xs, w) as { y: Tensor; c: Tensor; p: Tensor[] };
    assertClose(r.y, xs.mul(w).T, EXACT);
    assertClose(r.c, w.square().sum(), EXACT);
    assertClose(r.p[0], xs.sum(1), EXACT);
    assertClose(r.p[1], xs.sin().T, EXACT);
  }
  // With chunks, and nested under grad and jit.
  const r2 = vmap((x: Tensor) => [x.sin(), w.sum()], {
    outDims: [0, null],
    chunkSize: 2,
  })(xs) as Tensor[];
  assertClose(r2[1], w.sum(), EXACT);
  const g = grad((w: Tensor) =>
    (vmap((x: Tensor) => [x.mul(w).sum(), w.square().sum()], {
      outDims: [0, null],
    })(xs) as Tensor[])[1]
  )(w);
  assertClose(g, w.mul(2), EXACT);
  const j = jit((xs: Tensor) =>
    vmap((x: Tensor) => ({ a: x, b: w }), { outDims: { a: 1, b: null } })(xs)
  )(xs) as { a: Tensor; b: Tensor };
  assertClose(j.a, xs.T, EXACT);
  assertClose(j.b, w, EXACT);
  assertThrowsWith(
    () => vmap((x: Tensor) => x.sin(), { outDims: null })(xs),
    Error,
    "outDims is null for output 0",
    "differs per batch entry",
  );
  assertThrowsWith(
    () => vmap((x: Tensor) => ({ a: x }), { outDims: { b: 0 } })(xs),
    TypeError,
    "outDims has keys",
  );
});

Deno.test("linearTranspose gives Aᵀ ct for linear functions, pytrees included, and rejects nonlinear ones", () => {
  const rng = new Rng(8);
  const A = randnT(rng, [3, 4]), B = randnT(rng, [3, 2]);
  const f = (p: { x: Tensor; y: Tensor }) =>
    A.matmul(p.x).add(B.matmul(p.y)).mul(2);
  const fT = linearTranspose(f, { x: randnT(rng, [4]), y: randnT(rng, [2]) });
  const ct = randnT(rng, [3]);
  for (let call = 0; call < 2; call++) {
    const [back] = fT(ct) as unknown as [{ x: Tensor; y: Tensor }];
    assertClose(back.x, A.T.matmul(ct).mul(2), EXACT);
    assertClose(back.y, B.T.matmul(ct).mul(2), EXACT);
  }
  // Agrees with vjp, under vmap and inside jit.
  const g = (x: Tensor) => A.matmul(x).cumsum(0);
  const gT = linearTranspose(g, randnT(rng, [4]));
  const [, back] = vjp(g, randnT(rng, [4]));
  assertClose(gT(ct)[0], back(ct)[0], EXACT);
  const cts = randnT(rng, [5, 3]);
  assertClose(
    vmap((c: Tensor) => gT(c)[0])(cts),
    vmap((c: Tensor) => back(c)[0])(cts),
    EXACT,
  );
  assertClose(jit((c: Tensor) => gT(c)[0])(ct), back(ct)[0], EXACT);
  assertThrowsWith(
    () => linearTranspose((x: Tensor) => x.sin(), tensor([1]))(tensor([1])),
    TypeError,
    "not linear",
    "sin",
  );
  assertThrowsWith(
    () =>
      linearTranspose(f, { x: randnT(rng, [4]), y: randnT(rng, [2]) })(
        tensor([1, 2]),
      ),
    TypeError,
    "cotangent",
  );
});

Deno.test("debug.callback sees actual values: primal under grad, each entry under vmap, at run time under jit", () => {
  const seen: number[][] = [];
  const f = (x: Tensor) => {
    debug.callback((v: Tensor) => {
      seen.push(Array.from(v.data()));
    }, x.mul(10));
    return x.sin().sum();
  };
  const x = tensor([1, 2], F64);
  f(x);
  assert.deepEqual(seen.splice(0), [[10, 20]]);
  grad(f)(x);
  assert.deepEqual(seen.splice(0), [[10, 20]]);
  hessian(f)(x);
  assert.ok(seen.splice(0).every((s) => s[0] === 10 && s[1] === 20));
  vmap(f)(tensor([[1, 2], [3, 4]], F64));
  assert.deepEqual(seen.splice(0), [[10, 20], [30, 40]]);
  const jf = jit(f);
  jf(x);
  assert.deepEqual(seen.splice(0), [[10, 20]], "first call, after tracing");
  jf(tensor([5, 6], F64));
  assert.deepEqual(seen.splice(0), [[50, 60]], "second call: run time values");
  jf(tensor([7, 8], F64));
  assert.deepEqual(seen.splice(0), [[70, 80]]);
  grad(jf)(x);
  assert.deepEqual(seen.splice(0), [[10, 20]], "grad(jit)");
  // With no tensor among the values, under jit it runs once per call too.
  let calls = 0;
  const counted = jit((x: Tensor) => {
    debug.callback(() => calls++);
    return x.mul(2);
  });
  counted(x);
  counted(x);
  counted(tensor([3, 4], F64));
  assert.equal(calls, 3);
  const jvg = jit(vmap(grad(f)));
  jvg(tensor([[1, 2], [3, 4]], F64));
  jvg(tensor([[5, 6], [7, 8]], F64));
  assert.deepEqual(seen.splice(0), [[10, 20], [30, 40], [50, 60], [70, 80]]);
});

Deno.test("debug.print formats {} and {i} with values, one line per vmap entry", () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    const f = (x: Tensor) => {
      debug.print("x = {}, s = {}", x, x.sum());
      debug.print("{1} then {0}", x.sum(), "n");
      return x;
    };
    jit(f)(tensor([1, 2]));
    vmap(f)(tensor([[1, 2], [3, 4]]));
  } finally {
    console.log = log;
  }
  assert.deepEqual(lines, [
    "x = tensor([1., 2.]), s = tensor(3.)",
    "n then tensor(3.)",
    // Under vmap each call prints every entry in turn.
    "x = tensor([1., 2.]), s = tensor(3.)",
    "x = tensor([3., 4.]), s = tensor(7.)",
    "n then tensor(3.)",
    "n then tensor(7.)",
  ]);
  assertThrowsWith(
    // deno-lint-ignore no-explicit-any
    () => debug.callback(1 as any),
    TypeError,
    "debug.callback: fn must be a function",
  );
});
