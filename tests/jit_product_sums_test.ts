// Products sharing an operand inside a sum are factored by jit's optimizer
// (src/jit/product_sums.ts): fewer products, programs that check, and the
// values of the unfactored program and of eager evaluation.
import assert from "node:assert/strict";
import { grad, jit, matmul, type Tensor } from "../mod.ts";
import type { Program } from "../src/core/ir.ts";
import { productSumOptions } from "../src/jit/product_sums.ts";
import { assertClose, randnT, Rng } from "./_helpers.ts";
import { optimizedWith, withPass } from "./_passes.ts";
import { smallPinn } from "./_pinn.ts";
import { stagingMergeOptions } from "../src/core/staging_trace.ts";

type F = (...a: Tensor[]) => Tensor;
const rng = new Rng(20261202);
const tight = { rtol: 1e-12, atol: 1e-13 };

/** The program jit runs for `f` (well formed, checked). */
const optimized = (f: F, args: unknown[], on = true): Program =>
  optimizedWith(productSumOptions, on, f, args);
const products = (p: Program, shape?: string) =>
  p.eqns.filter((e) =>
    e.prim === "matmul" && (shape === undefined || `${e.aval.shape}` === shape)
  ).length;

/** `f` jitted with the pass, without it, and eager. */
function threeWays(f: F, args: Tensor[]) {
  const on = jit(f)(...args);
  const off = withPass(productSumOptions, false, () => jit(f)(...args));
  return { on, off, eager: f(...args) };
}

Deno.test("product sums: A·X + Z·B + A·Y + W·B is two products", () => {
  const f: F = (a, x, y, z, w, b) =>
    matmul(a, x).add(matmul(z, b)).add(matmul(a, y)).add(matmul(w, b));
  const args = [[6, 5], [5, 7], [5, 7], [6, 4], [6, 4], [4, 7]].map((s) =>
    randnT(rng, s)
  );
  assert.equal(products(optimized(f, args, false)), 4);
  assert.equal(products(optimized(f, args)), 2);
  const { on, off, eager } = threeWays(f, args);
  assertClose(on, off, tight);
  assertClose(on, eager, tight);
});

Deno.test("product sums: a shared operand matches only under the same flag", () => {
  // a·xᵀ + a·yᵀ share a, the others read through the flag; a·u does not.
  const f: F = (a, x, y, u) =>
    matmul(a, x, true).add(matmul(a, y, true)).add(matmul(a, u));
  const args = [0, 1, 2, 3].map(() => randnT(rng, [5, 5]));
  assert.equal(products(optimized(f, args)), 2);
  const { on, eager } = threeWays(f, args);
  assertClose(on, eager, tight);
});

Deno.test("product sums: a product read elsewhere too is left alone", () => {
  const f: F = (a, x, y) => {
    const p = matmul(a, x);
    return p.add(matmul(a, y)).mul(p);
  };
  const args = [[4, 3], [3, 6], [3, 6]].map((s) => randnT(rng, s, "float32"));
  assert.equal(products(optimized(f, args)), 2);
  const { on, off } = threeWays(f, args);
  assert.deepEqual(Array.from(on.data()), Array.from(off.data()));
});

Deno.test("product sums: a broadcasting add is not a sum node", () => {
  // [1,6] + [4,6]: the add broadcasts, so the products stay apart.
  const f: F = (a, x, y, b) => matmul(b, x).add(matmul(a, y));
  const args = [[4, 3], [3, 6], [3, 6], [1, 3]].map((s) => randnT(rng, s));
  assert.equal(products(optimized(f, args)), 2);
  assertClose(jit(f)(...args), f(...args), tight);
});

Deno.test("product sums: integer products are left alone", () => {
  const f: F = (a, x, y) => matmul(a, x).add(matmul(a, y));
  const args = [[3, 3], [3, 3], [3, 3]].map((s) =>
    randnT(rng, s).mul(4).round().to("int32")
  );
  assert.equal(products(optimized(f, args)), 2);
  assert.deepEqual(
    Array.from(jit(f)(...args).data()),
    Array.from(f(...args).data()),
  );
});

Deno.test("product sums: a PINN gradient loses two weight products, same value", () => {
  const { p, pts, loss } = smallPinn(rng);
  const g = grad(loss) as unknown as F;
  // Staged without merging repeats, the second layer's weight gradient
  // has six terms; two pairs share a factor. (Merged while staging, the
  // pairs are one term each already: tests/staging_merge_test.ts.)
  withPass(stagingMergeOptions, false, () => {
    assert.equal(products(optimized(g, [p, pts], false), "16,16"), 6);
    assert.equal(products(optimized(g, [p, pts]), "16,16"), 4);
  });
  const eager = grad(loss)(p, pts);
  const jitted = jit(grad(loss))(p, pts);
  assert.equal(jitted.length, 6);
  eager.forEach((e, i) => assertClose(jitted[i], e, tight, `param ${i}`));
});

Deno.test("a jitted chain of 30,000 adds (an unrolled loop) compiles: no recursion, no n² grouping", () => {
  // Three limits this hit: the sum-tree walk was recursive (the stack
  // overflowed), the fused group's 180,000 fields were pushed as call
  // arguments (likewise), and fusion sorted a group at every merge (7 s).
  const f: F = (a, x) => {
    let acc = matmul(a, x);
    for (let i = 0; i < 30_000; i++) acc = acc.add(x.mul(i % 7));
    return acc.add(matmul(a, x.neg()));
  };
  const args = [randnT(rng, [2, 2]), randnT(rng, [2, 2])];
  assert.equal(products(optimized(f, args)), 1);
  assertClose(jit(f)(...args), f(...args), { rtol: 1e-10, atol: 1e-9 });
});
