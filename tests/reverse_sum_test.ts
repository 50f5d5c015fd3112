/**
 * Reverse mode through `sum`: its transpose feeds an elementwise multiply
 * by a constant without broadcasting the cotangent first, and grad's seed
 * of exactly 1 makes that product the constant itself. These tests pin the
 * consequences: values (closed forms), the gradient that is a user's
 * tensor's buffer (disposing one leaves the other valid), and what a vjp
 * closure of a nested grad keeps (no dead tangent's constants, no buffer of
 * ones). Last, the scalar constants those rules use keep the sign of zero.
 */
import assert from "node:assert/strict";
import {
  grad,
  jit,
  jvp,
  memoryStats,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";
import { assertClose } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;
const xs = [0.3, -1.2, 2.5, 0.0];

Deno.test("reverse sum: grad of sum(x * w) is w, a holder of its own that outlives w", () => {
  const w = tensor([1.5, -2, 0.25, 3], f64);
  const x = tensor(xs, f64);
  const g = grad((x: Tensor) => sum(x.mul(w)))(x) as Tensor;
  const h = grad((x: Tensor) => sum(w.mul(x)))(x) as Tensor;
  assertClose(g, [1.5, -2, 0.25, 3]);
  assertClose(h, [1.5, -2, 0.25, 3]);
  g.dispose();
  assertClose(w, [1.5, -2, 0.25, 3]); // still the user's
  w.dispose();
  assertClose(h, [1.5, -2, 0.25, 3]); // still the gradient's
  h.dispose();
  x.dispose();
});

Deno.test("reverse sum: a seed other than 1, a broadcast constant and a summed axis still multiply", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]], f64);
  const w = tensor([[0.5, -1, 2], [3, 0.25, -2]], f64);
  const row = tensor([2, -3, 0.5], f64);
  // sum(x * w) * 3: the seed of the sum is 3.
  const g = grad((x: Tensor) => sum(x.mul(w)).mul(3))(x) as Tensor;
  assertClose(g, [1.5, -3, 6, 9, 0.75, -6]);
  // A constant of another shape (broadcast): the cotangent is broadcast.
  const b = grad((x: Tensor) => sum(x.mul(row)))(x) as Tensor;
  assertClose(b, [2, -3, 0.5, 2, -3, 0.5]);
  // A sum over one axis, then over the rest.
  const a = grad((x: Tensor) => sum(sum(x.mul(w), 1).mul(row.narrow(0, 0, 2))))(
    x,
  ) as Tensor;
  assertClose(a, [1, -2, 4, -9, -0.75, 6]);
  // vjp with a cotangent of 1 given by the user, and of 2.
  const [, f] = vjp((x: Tensor) => sum(x.mul(w)), x);
  assertClose(f(tensor(1, f64))[0] as Tensor, [0.5, -1, 2, 3, 0.25, -2]);
  assertClose(f(tensor(2, f64))[0] as Tensor, [1, -2, 4, 6, 0.5, -4]);
});

Deno.test("reverse sum: grad of sum(sin) is cos, every way it is reached", () => {
  const x = tensor(xs, f64);
  const cos = xs.map(Math.cos);
  const f = (x: Tensor) => sum(x.sin());
  assertClose(grad(f)(x) as Tensor, cos);
  assertClose(jit(grad(f))(x) as Tensor, cos);
  const [v, g] = valueAndGrad(f)(x);
  assertClose(v, xs.map(Math.sin).reduce((p, q) => p + q));
  assertClose(g as Tensor, cos);
  // Batched: each row's own gradient.
  const X = tensor([xs, xs.map((t) => -t)], f64);
  assertClose(vmap(grad(f))(X) as Tensor, [
    ...cos,
    ...xs.map((t) => Math.cos(-t)),
  ]);
});

Deno.test("reverse sum: hvp of sum(sin) both ways, and what the vjp closure keeps", () => {
  const n = 512;
  const x = tensor(Array.from({ length: n }, (_, i) => Math.sin(i) * 3), f64);
  const v = tensor(Array.from({ length: n }, (_, i) => Math.cos(2 * i)), f64);
  const want = Array.from(
    { length: n },
    (_, i) => -Math.sin(Math.sin(i) * 3) * Math.cos(2 * i),
  );
  const g = (x: Tensor) => grad((x: Tensor) => sum(x.sin()))(x) as Tensor;
  for (let k = 0; k < 2; k++) {
    const before = memoryStats().liveBytes;
    const [out, vjpFn] = vjp(g, x);
    // The output (cos x) and one residual (-sin x): the tangent of the
    // inner value sum(sin x) is dead, and there is no buffer of ones.
    assert.equal(memoryStats().liveBytes - before, 2 * n * 8);
    assertClose(out, Array.from(x.data(), Math.cos));
    const [h] = vjpFn(v) as Tensor[];
    assertClose(h, want);
    const [o2, t] = jvp(g, [x], [v]);
    assertClose(t, want);
    assertClose(o2, Array.from(x.data(), Math.cos));
    for (const r of [out, h, o2, t]) r.dispose();
  }
});

Deno.test("scalar constants: -0 next to a tensor stays -0 after 0 was used (and 0 stays 0)", () => {
  const x = tensor([1, 2], f64);
  for (let k = 0; k < 2; k++) {
    assert.ok(Object.is(x.mul(0).data()[0], 0));
    assert.ok(Object.is(x.mul(-0).data()[0], -0));
    assert.ok(Object.is(x.mul(0).data()[1], 0));
  }
});
