// Negations folded into the sums and products around them in compiled
// programs (src/jit/negations.ts): fewer equations, and every bit of the
// results kept, signed zeros and infinities included.
import assert from "node:assert/strict";
import { grad, jit, type Tensor, tensor } from "../mod.ts";
import type { Program } from "../src/core/ir.ts";
import { negationOptions } from "../src/jit/negations.ts";
import { assertSameBits } from "./_helpers.ts";
import { optimizedWith, withPass } from "./_passes.ts";
import { stagingMergeOptions } from "../src/core/staging_trace.ts";

type F = (...a: Tensor[]) => Tensor;

/** The program jit runs for `f` (checked), with the pass on or off. */
const optimized = (f: F, args: Tensor[], on = true): Program =>
  optimizedWith(negationOptions, on, f, args);
const count = (p: Program, prim: string) =>
  p.eqns.filter((e) => e.prim === prim).length;

// Values that exercise the sign rules: zeros of both signs, infinities,
// tiny and huge magnitudes.
const special = [0, -0, 1, -1, 2.5, -3, Infinity, -Infinity, 1e-310, -1e300];
function pairs(dtype: "float32" | "float64") {
  const a: number[] = [], b: number[] = [];
  for (const x of special) for (const y of special) a.push(x), b.push(y);
  return [tensor(a, { dtype }), tensor(b, { dtype })];
}

const cases: [string, F, number][] = [
  ["x + (−y)", (x, y) => x.add(y.neg()), 0],
  ["(−y) + x", (x, y) => y.neg().add(x), 0],
  ["x − (−y)", (x, y) => x.sub(y.neg()), 0],
  ["−(−x) · y", (x, y) => x.neg().neg().mul(y), 0],
  ["(−x)·y + x", (x, y) => x.neg().mul(y).add(x), 0],
  ["x/(−y) + y", (x, y) => x.div(y.neg()).add(y), 0],
  ["y − x/(−y)", (x, y) => y.sub(x.div(y.neg())), 0],
  ["(−x)·(−y)", (x, y) => x.neg().mul(y.neg()), 0],
  ["(−x)·y then exp", (x, y) => x.neg().mul(y).exp(), 1],
];

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`negations: folded and bit-identical (${dtype})`, () => {
    const [x, y] = pairs(dtype);
    for (const [name, f, negs] of cases) {
      const before = optimized(f, [x, y], false), after = optimized(f, [x, y]);
      assert.ok(count(before, "neg") > 0, name);
      assert.equal(count(after, "neg"), negs, name);
      assert.ok(after.eqns.length <= before.eqns.length, name);
      const want = f(x, y), got = jit(f)(x, y);
      // NaN results (∞ − ∞, 0·∞) may differ in sign bit only.
      const nan = Array.from(want.data(), Number.isNaN);
      const fix = (t: Tensor) =>
        tensor(Array.from(t.data(), (v, i) => (nan[i] ? NaN : v)), { dtype });
      assertSameBits(fix(got), fix(want), `${name} (${dtype})`);
      assert.deepEqual(Array.from(got.data(), Number.isNaN), nan, name);
    }
  });
}

Deno.test("negations: a broadcast operand's negation is not moved onto the product", () => {
  // −b has 3 elements, b·x has 12: moving it would negate 12.
  const f: F = (b, x) => b.neg().mul(x).exp();
  const args = [
    tensor([1, -2, 3]),
    tensor(new Float32Array(12).fill(0.5)).reshape([4, 3]),
  ];
  const p = optimized(f, args);
  const neg = p.eqns.find((e) => e.prim === "neg")!;
  assert.deepEqual(neg.aval.shape, [3]);
  assertSameBits(jit(f)(...args), f(...args), "broadcast");
});

Deno.test("negations: a PINN-style third derivative loses half its negations", () => {
  // grad of u_xx for u = sum(tanh(W tanh(W x))): the tanh derivatives'
  // negations (8) meet adds and products; 4 are left.
  const W = tensor(Array.from({ length: 64 }, (_, i) => Math.sin(i + 1)), {
    dtype: "float64",
  }).reshape([8, 8]);
  const u = (x: Tensor) => W.matmul(W.matmul(x).tanh()).tanh().sum();
  const uxx = (x: Tensor) =>
    grad((z: Tensor) => grad(u)(z).select(0, 0))(x).select(0, 0);
  const f: F = (x) => grad(uxx)(x);
  const x = tensor(Array.from({ length: 8 }, (_, i) => Math.cos(i)), {
    dtype: "float64",
  });
  // Without merging while staging, the repeated primal values and their
  // tangents give the pass twice the negations to fold.
  const [before, after] = withPass(
    stagingMergeOptions,
    false,
    () => [optimized(f, [x], false), optimized(f, [x])],
  );
  assert.equal(count(before, "neg"), 8);
  assert.equal(count(after, "neg"), 4);
  // (Merging repeats sums cotangents in another order than eager does.)
  const jitted = withPass(stagingMergeOptions, false, () => jit(f)(x));
  assertSameBits(jitted, f(x), "grad u_xx");
});
