/**
 * Buffer lifetimes (ARCHITECTURE.md ("Buffers and lifetimes")): a correct program never meets
 * "tensor was disposed". Each test is a program that used to fail that way
 * (a buffer freed while something still held it), called more than once,
 * with its values checked against a closed form.
 */
import assert from "node:assert/strict";
import {
  cat,
  expand,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  memoryStats,
  ones,
  permute,
  reshape,
  slice,
  sum,
  type Tensor,
  tensor,
  transpose,
  valueAndGrad,
  vjp,
  vmap,
  zeros,
} from "../mod.ts";
import { assertClose } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;

Deno.test("lifetimes: jit traced inside grad keeps the tensors f creates (second call)", () => {
  const f = (x: Tensor) => tensor([1, 2], f64).mul(x).sin().sum();
  const g = grad(jit(f));
  const x = tensor([0.3, -0.4], f64);
  const expected = tensor([1, 2], f64).mul(tensor([1, 2], f64).mul(x).cos());
  for (let i = 0; i < 3; i++) assertClose(g(x), expected, {}, `call ${i}`);
});

Deno.test("lifetimes: jit inside a chunked vmap keeps its constants (second call)", () => {
  const h = vmap(jit((x: Tensor) => tensor(-0.08, f64).sub(x)), {
    chunkSize: 1,
  });
  const X = tensor([1, 2, 3], f64);
  for (let i = 0; i < 2; i++) assertClose(h(X), [-1.08, -2.08, -3.08]);
});

Deno.test("lifetimes: reverse mode through jit when an undifferentiated argument feeds an intermediate", () => {
  const a = tensor([0.1, -0.2], f64), b = tensor([1, 2], f64);
  const f = jit((a: Tensor, b: Tensor) => b.mul(a.exp()).sum());
  const g = grad(f, { argnums: 1 });
  for (let i = 0; i < 2; i++) assertClose(g(a, b), a.exp());
  const [ga, gb] = grad(f, { argnums: [0, 1] })(a, b) as Tensor[];
  assertClose(ga, b.mul(a.exp()));
  assertClose(gb, a.exp());
});

Deno.test("lifetimes: a chunked vmap under jacfwd keeps what the outer transform needs", () => {
  const a3 = tensor([1, 2, 3], f64), b1 = tensor([0.5], f64);
  const zero = jacfwd(
    hessian((_a: Tensor, b: Tensor) => b.sub(b), {
      chunkSize: 2,
    }),
    { argnums: 1 },
  )(a3, b1) as Tensor;
  assertClose(zero, zeros([1, 3, 3, 1], f64));
  // A non-trivial one: d/db of the Hessian in a of sum(sin(a * b)), chunked
  // and not, against the closed form -a·b²... per entry:
  // H_ij = -b² sin(a_i b) δ_ij, dH_ii/db = -2b sin(a_i b) - a_i b² cos(a_i b).
  const f = (a: Tensor, b: Tensor) => a.mul(b).sin().sum();
  const b = tensor(0.7, f64);
  const chunked = jacfwd(hessian(f, { chunkSize: 2 }), { argnums: 1 });
  const plain = jacfwd(hessian(f), { argnums: 1 });
  const ab = a3.mul(b);
  const diag = b.mul(-2).mul(ab.sin()).sub(a3.mul(b.square()).mul(ab.cos()));
  for (let i = 0; i < 2; i++) {
    const H = chunked(a3, b) as Tensor;
    assertClose(H, plain(a3, b) as Tensor, { rtol: 1e-12, atol: 1e-12 });
    for (let k = 0; k < 3; k++) {
      assertClose(H.select(0, k).select(0, k), diag.select(0, k).item());
    }
  }
  // linearize over a chunked vmap: the residuals of the outer program live.
  const [y, jvpFn] = linearize(
    (b: Tensor) => vmap((a: Tensor) => a.mul(b).sin(), { chunkSize: 1 })(a3),
    b,
  );
  assertClose(y as Tensor, ab.sin());
  assertClose(jvpFn(tensor(1, f64)) as Tensor, a3.mul(ab.cos()));
  assertClose(jvpFn(tensor(2, f64)) as Tensor, a3.mul(ab.cos()).mul(2));
});

Deno.test("lifetimes: disposing a gradient never frees a cached constant", () => {
  const g = grad((x: Tensor) => x.sum())(tensor(5)) as Tensor;
  assert.equal(g.item(), 1);
  g.dispose();
  // Every later use of the constant 1 still works.
  assert.equal(tensor([1, 2]).add(1).sum().item(), 5);
  assert.equal((grad((x: Tensor) => x.sum())(tensor(5)) as Tensor).item(), 1);
  const gg = grad((x: Tensor) => x.mul(2).sum())(tensor([1, 2], f64));
  (gg as Tensor).dispose();
  assert.equal(tensor([3], f64).mul(2).item(), 6);
  assertClose(grad((x: Tensor) => x.mul(2).sum())(tensor([1], f64)), [2]);
});

Deno.test("lifetimes: tensors f creates and stores outside survive the transform", () => {
  let m: Tensor | undefined;
  const f = (w: Tensor) => {
    m ??= ones([4], f64).mul(0.5);
    return w.mul(m).sin().sum();
  };
  const w = tensor([1, 2, 3, 4], f64);
  const expected = w.mul(0.5).cos().mul(0.5);
  for (let i = 0; i < 2; i++) assertClose(grad(f)(w), expected, {}, "grad");
  assertClose(m!, [0.5, 0.5, 0.5, 0.5]);
  // The same under the other transforms, each with its own stored tensor.
  const stored = () => {
    let s: Tensor | undefined;
    return (x: Tensor) => {
      s ??= tensor([2, 3], f64).exp();
      return x.mul(s);
    };
  };
  const e23 = tensor([2, 3], f64).exp();
  for (
    const [name, t] of [
      ["vmap", (h: (x: Tensor) => Tensor) => vmap(h)],
      ["vmap chunked", (h: (x: Tensor) => Tensor) => vmap(h, { chunkSize: 1 })],
      ["jit", (h: (x: Tensor) => Tensor) => jit(h)],
      ["jacrev", (h: (x: Tensor) => Tensor) => jacrev(h)],
      ["jacfwd", (h: (x: Tensor) => Tensor) => jacfwd(h)],
    ] as const
  ) {
    const h = t(stored());
    const x = tensor([[1, 2], [3, 4]], f64).select(0, 1);
    for (let i = 0; i < 2; i++) {
      const r = name.startsWith("vmap") ? h(x.reshape([2, 1])) : h(x);
      assert.ok(r instanceof Object, name);
      assert.ok((r as Tensor).data().every(Number.isFinite), name);
    }
  }
  const jr = jacrev(stored())(tensor([1, 1], f64)) as Tensor;
  assertClose(jr.select(0, 0).select(0, 0), e23.select(0, 0).item());
});

Deno.test("lifetimes: results never alias their inputs (disposing one leaves the other)", () => {
  const cases: [string, (x: Tensor) => Tensor][] = [
    ["jit identity", (x) => jit((v: Tensor) => v)(x) as Tensor],
    ["jit reshape", (x) => jit((v: Tensor) => v.reshape([2, 2]))(x) as Tensor],
    ["sum over no axes", (x) => sum(x, [])],
    ["reshape to the same shape", (x) => reshape(x, [4])],
    ["reshape (a view)", (x) => reshape(x, [2, 2])],
    ["permute identity", (x) => permute(x, [0])],
    ["transpose of 1-D", (x) => transpose(x)],
    ["expand to the same shape", (x) => expand(x, [4])],
    ["full slice", (x) => slice(x, 0)],
    ["cat of one", (x) => cat([x])],
    ["to the same dtype", (x) => x.to("float64")],
    ["detach", (x) => x.detach()],
    ["vmap identity", (x) => vmap((v: Tensor) => v)(x) as Tensor],
    ["vjp identity", (x) => vjp((v: Tensor) => v, x)[0] as Tensor],
    ["jvp identity tangent", (x) => jvp((v: Tensor) => v, [x], [x])[1]],
    ["linearize identity", (x) => linearize((v: Tensor) => v, x)[1](x)],
    [
      "valueAndGrad value",
      (x) => valueAndGrad((v: Tensor) => v.sum())(x.sum())[0] as Tensor,
    ],
  ];
  for (const [name, op] of cases) {
    const x = tensor([1, 2, 3, 4], f64);
    const y = op(x);
    y.dispose();
    assertClose(
      x.sum(),
      10,
      {},
      `${name}: the input after disposing the result`,
    );
    // And the other way round: the result outlives a disposed input.
    const x2 = tensor([1, 2, 3, 4], f64);
    const y2 = op(x2);
    x2.dispose();
    assert.equal(
      y2.sum().item(),
      10,
      `${name}: the result after disposing the input`,
    );
    y2.dispose();
  }
  const s = tensor(4);
  s.sum().dispose();
  assert.equal(s.item(), 4);
});

Deno.test("lifetimes: a buffer is freed once every tensor holding it is disposed", () => {
  const id = jit((t: Tensor) => t);
  id(tensor(new Float64Array(1000), f64)); // compiled (its plan stays)
  const before = memoryStats().liveBytes;
  const x = tensor(new Float64Array(1000), f64);
  const v = x.reshape([10, 100]);
  const w = id(x) as Tensor;
  assert.equal(memoryStats().liveBytes, before + 8000);
  x.dispose();
  v.dispose();
  assert.equal(memoryStats().liveBytes, before + 8000); // w still holds it
  assert.equal(w.data()[999], 0);
  w.dispose();
  assert.equal(memoryStats().liveBytes, before);
  assert.throws(() => w.data(), /disposed/);
});

Deno.test("lifetimes: a vjp closure keeps its residuals when the user disposes the primal's inputs", () => {
  const W = tensor([[1, 2], [3, 4]], f64);
  const x = tensor([0.5, -1], f64);
  const [y, vjpFn] = vjp((x: Tensor) => W.matmul(x).sin(), x);
  const c = W.matmul(x).cos();
  W.dispose();
  (y as Tensor).dispose();
  const [g] = vjpFn(tensor([1, 1], f64)) as Tensor[];
  assertClose(g, tensor([[1, 2], [3, 4]], f64).T.matmul(c));
});

Deno.test("lifetimes: jit owns its baked constants even when the closed-over tensor is disposed", () => {
  const W = tensor([1, 2, 3], f64);
  const f = jit((x: Tensor) => x.mul(W));
  assertClose(f(tensor([1, 1, 1], f64)) as Tensor, [1, 2, 3]);
  W.dispose();
  assertClose(f(tensor([2, 2, 2], f64)) as Tensor, [2, 4, 6]);
});

Deno.test("lifetimes: user code never gets (and disposes) a value the library shares", () => {
  const x0 = tensor([0.5, 1], f64);
  const f = (x: Tensor) => {
    const y = x.sin(); // the library evaluates sin(x0) for the primal
    const a = x0.sin(); // the same evaluation, in user code
    a.dispose();
    return y.mul(y).sum();
  };
  for (let i = 0; i < 2; i++) {
    assertClose(grad(f)(x0) as Tensor, x0.sin().mul(x0.cos()).mul(2));
  }
});

Deno.test("lifetimes: a concrete result of a nested transform, stored outside, survives", () => {
  const c = tensor([0.1, 0.2, 0.3], f64);
  let saved: Tensor | undefined;
  const f = (x: Tensor) => {
    saved = jacrev((v: Tensor) => v.sin())(c) as Tensor; // concrete: no tracer
    return x.mul(saved.sum(1)).sum();
  };
  for (let i = 0; i < 2; i++) {
    assertClose(grad(f)(tensor([1, 1, 1], f64)) as Tensor, c.cos());
    assertClose(saved!.sum(1), c.cos());
  }
});

Deno.test("lifetimes: a transform that throws keeps what user code made", () => {
  let m: Tensor | undefined;
  const boom = (x: Tensor) => {
    m = ones([3], f64).mul(2);
    x.mul(m).sum();
    throw new Error("boom");
  };
  assert.throws(() => grad(boom)(tensor([1, 2, 3], f64)), /boom/);
  assertClose(m!, [2, 2, 2]);
  assert.throws(() => vmap(boom, { chunkSize: 1 })(ones([2, 3], f64)), /boom/);
  assertClose(m!, [2, 2, 2]);
});

Deno.test("lifetimes: donation inside another transform is ignored", () => {
  const step = jit((v: Tensor) => v.sin(), { donateArgnums: 0 });
  const x = tensor([0.5, 1], f64);
  const g = grad((v: Tensor) => (step(v) as Tensor).sum())(x) as Tensor;
  assertClose(g, x.cos()); // x is still usable
  const c = tensor([1, 2], f64);
  // A concrete argument inside grad's function is not donated either.
  grad((v: Tensor) => v.mul(step(c) as Tensor).sum())(x);
  assertClose(c, [1, 2]);
});
