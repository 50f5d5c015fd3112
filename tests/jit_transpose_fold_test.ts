// Transposes folded into matmul flags in compiled programs
// (src/jit/transpose_fold.ts): the permutes around a product are gone from
// the optimised program, results are bit-identical to the unfolded program
// and to eager evaluation, and the fold leaves alone what it must not touch.
import assert from "node:assert/strict";
import {
  grad,
  hessian,
  jit,
  makeProgram,
  matmul,
  ones,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";
import type { Program } from "../src/core/ir.ts";
import type { PrimParams } from "../src/core/primitives.ts";
import { transposeFoldOptions } from "../src/jit/transpose_fold.ts";
import { assertClose, assertSameBits, randnT, Rng } from "./_helpers.ts";
import { optimizedWith, withPass } from "./_passes.ts";

type F = (...xs: Tensor[]) => Tensor;

/** Runs `body` with the fold on or off. */
const withFold = <T>(on: boolean, body: () => T) =>
  withPass(transposeFoldOptions, on, body);

/** The program jit runs for `f` (well formed, checked). */
const optimized = (f: F, args: Tensor[], fold = true): Program =>
  optimizedWith(transposeFoldOptions, fold, f, args);
const count = (p: Program, prim: string) =>
  p.eqns.filter((e) => e.prim === prim).length;
const flags = (p: Program) =>
  p.eqns.filter((e) => e.prim === "matmul").map((e) => {
    const { transA, transB } = e.params as PrimParams["matmul"];
    return [transA, transB];
  });

/**
 * jit(f) folded equals jit(f) unfolded and eager f bit for bit, in float32
 * and float64, and float32 is close to float64.
 */
function agree(f: F, args64: Tensor[], what: string): void {
  for (const dtype of ["float32", "float64"] as const) {
    const args = args64.map((a) => a.to(dtype));
    const eager = f(...args);
    const on = withFold(true, () => jit(f)(...args));
    const off = withFold(false, () => jit(f)(...args));
    assertSameBits(on, eager, `${what} (${dtype}): folded jit vs eager`);
    assertSameBits(on, off, `${what} (${dtype}): folded vs unfolded jit`);
    // A second call replays the compiled program.
    assertSameBits(jit(f)(...args), on, `${what} (${dtype}): second call`);
    if (dtype === "float32") {
      const ref = f(...args64);
      const scale = Math.max(1, ...Array.from(ref.abs().data()));
      assertClose(on.to("float64"), ref, { rtol: 1e-4, atol: 1e-4 * scale });
    }
  }
}

const rng = new Rng(20261201);
const randn = (...shape: number[]) => randnT(rng, shape);

Deno.test("transpose fold: jit(hessian) of sum(tanh(W x)) has no permute left", () => {
  const f = hessian((x: Tensor, W: Tensor) => matmul(W, x).tanh().sum());
  for (const n of [3, 16, 100, 256]) {
    const args = [randn(n), randn(n, n)].map((a) => a.to("float32"));
    const folded = optimized(f as F, args);
    assert.equal(count(folded, "permute"), 0, `n = ${n}:\n${folded}`);
    // The seed of ones is no longer multiplied in.
    assert.equal(count(folded, "mul"), 3, `n = ${n}:\n${folded}`);
    const plain = optimized(f as F, args, false);
    assert.equal(count(plain, "permute"), 2, `n = ${n}:\n${plain}`);
    assert.equal(count(folded, "matmul"), count(plain, "matmul"));
    // makeProgram prints the program jit runs.
    const text = makeProgram(f, { optimize: true })(args[0], args[1])
      .toString();
    assert.ok(!text.includes("permute"), text);
    assert.match(text, /matmul\[transA=true transB=false\]/);
  }
});

Deno.test("transpose fold: jit(hessian) values equal the unfolded program and eager, bit for bit", () => {
  const f = hessian((x: Tensor, W: Tensor) => matmul(W, x).tanh().sum());
  // 300 > one K panel of the GEMM (256): the panel sums stay in order.
  for (const n of [3, 37, 300]) {
    agree(f as F, [randn(n), randn(n, n).mul(0.2)], `hessian n = ${n}`);
  }
});

Deno.test("transpose fold: matmul(a.T, b), matmul(a, b.T), matmul(a.T, b.T) read the operands through the flags", () => {
  const a = randn(6, 4), b = randn(6, 5), c = randn(5, 4);
  const d = randn(3, 4), e = randn(5, 6), x = randn(3, 5);
  const cases: [string, F, Tensor[], boolean[][]][] = [
    ["a.T b", (a, b) => matmul(a.T, b), [a, b], [[true, false]]],
    ["d c.T", (d, c) => matmul(d, c.T), [d, c], [[false, true]]],
    ["a.T e.T", (a, e) => matmul(a.T, e.T), [a, e], [[true, true]]],
    // Already a flag (linear's x Wᵀ) on a transposed operand: the flags
    // cancel.
    ["x (c.T)ᵀ", (x, c) => matmul(x, c.T, true), [x, c], [[false, false]]],
  ];
  for (const [what, f, args, want] of cases) {
    const p = optimized(f, args);
    assert.equal(count(p, "permute"), 0, `${what}:\n${p}`);
    assert.deepEqual(flags(p), want, `${what}:\n${p}`);
    agree(f, args, what);
  }
});

Deno.test("transpose fold: matmul(a, b).T is matmul(b, a) with both flags flipped", () => {
  const cases: [string, F, Tensor[], boolean[][]][] = [
    ["(a b).T", (a, b) => matmul(a, b).T, [randn(7, 3), randn(3, 9)], [[
      true,
      true,
    ]]],
    ["(a.T b).T", (a, b) => matmul(a.T, b).T, [randn(3, 7), randn(3, 9)], [[
      true,
      false,
    ]]],
    // The transpose of a product whose result is reshaped with size-1 axes.
    [
      "(a b) viewed [1, m, 1, n], permuted",
      (a, b) => matmul(a, b).reshape([1, 7, 1, 9]).permute([3, 1, 2, 0]),
      [randn(7, 3), randn(3, 9)],
      [[true, true]],
    ],
  ];
  for (const [what, f, args, want] of cases) {
    const p = optimized(f, args);
    assert.equal(count(p, "permute"), 0, `${what}:\n${p}`);
    assert.deepEqual(flags(p), want, `${what}:\n${p}`);
    agree(f, args, what);
  }
  // (a b).T b: both folds in one program, no copy left.
  const f: F = (a, b, c) => matmul(matmul(a, b).T, c);
  const args = [randn(7, 3), randn(3, 9), randn(7, 4)];
  const p = optimized(f, args);
  assert.equal(count(p, "permute"), 0, `${p}`);
  agree(f, args, "(a b).T c");
});

Deno.test("transpose fold: batched products (same batch dims in front)", () => {
  const cases: [string, F, Tensor[]][] = [
    [
      "a.mT b, batch [3]",
      (a, b) => matmul(a.transpose(-1, -2), b),
      [randn(3, 5, 4), randn(3, 5, 6)],
    ],
    [
      "a b.mT, batch [2, 3]",
      (a, b) => matmul(a, b.transpose(-1, -2)),
      [randn(2, 3, 4, 5), randn(2, 3, 6, 5)],
    ],
    [
      "(a b).mT, batch [3]",
      (a, b) => matmul(a, b).transpose(-1, -2),
      [randn(3, 4, 5), randn(3, 5, 6)],
    ],
    [
      "a [k, m] broadcast: a.T b, b batch [3]",
      (a, b) => matmul(a.T, b),
      [randn(5, 4), randn(3, 5, 6)],
    ],
    ["vmap of a.T b", vmap((a: Tensor, b: Tensor) => matmul(a.T, b)) as F, [
      randn(3, 5, 4),
      randn(3, 5, 6),
    ]],
  ];
  for (const [what, f, args] of cases) {
    const p = optimized(f, args);
    assert.equal(count(p, "permute"), 0, `${what}:\n${p}`);
    assert.ok(flags(p).flat().includes(true), `${what}:\n${p}`);
    agree(f, args, what);
  }
});

Deno.test("transpose fold: sizes past the GEMM's blocks and thread split, and int32", () => {
  // 300 > KC; 129 × 300 × 257 is split across threads when a pool runs.
  const a = randn(300, 129), b = randn(300, 257);
  agree((a, b) => matmul(a.T, b), [a, b], "a.T b, 129×300×257");
  agree((a, b) => matmul(a.T, b).T, [a, b], "(a.T b).T, 129×300×257");
  const ai = a.mul(10).to("int32"), bi = b.mul(10).to("int32");
  const f: F = (a, b) => matmul(a.T, b).T;
  const p = optimized(f, [ai, bi]);
  assert.equal(count(p, "permute"), 0, `${p}`);
  assertSameBits(
    withFold(true, () => jit(f)(ai, bi)),
    f(ai, bi),
    "int32 (a.T b).T",
  );
});

Deno.test("transpose fold: left alone where it must not apply", () => {
  const cases: [string, F, Tensor[], number][] = [
    // The transposed value is read elsewhere: the copy is needed anyway.
    [
      "permute read elsewhere",
      (a, b) => {
        const t = a.T;
        return matmul(t, b).add(t.sum());
      },
      [randn(5, 4), randn(5, 6)],
      1,
    ],
    // The product is read elsewhere: transposing it would compute it twice.
    [
      "product read elsewhere",
      (a, b) => {
        const y = matmul(a, b);
        return y.T.add(y.sum());
      },
      [randn(4, 5), randn(5, 6)],
      1,
    ],
    // A permute of the batch axes is no matrix transpose.
    [
      "batch axes swapped",
      (a, b) => matmul(a.permute([1, 0, 2, 3]), b),
      [randn(2, 3, 4, 5), randn(3, 2, 5, 6)],
      1,
    ],
    // [3, 5, 4] → [3, 4, 5] → [12, 5]: the batch folded into the rows.
    [
      "batch folded into rows",
      (a, w) => matmul(a.transpose(-1, -2), w),
      [randn(3, 5, 4), randn(5, 6)],
      1,
    ],
    // Not a swap: a rotation of three axes.
    [
      "three-axis rotation",
      (a, b) => matmul(a.permute([2, 0, 1]).reshape([4, 6]), b),
      [randn(2, 3, 4), randn(6, 5)],
      1,
    ],
    // The leading axes swapped, the matrix axes kept.
    [
      "non-trailing swap",
      (a, b) => matmul(a.permute([1, 0, 2]).reshape([6, 4]), b),
      [randn(2, 3, 4), randn(4, 5)],
      1,
    ],
    // A matrix-vector product: its loops sum in a layout-dependent order.
    [
      "matrix-vector",
      (a, x) => matmul(a.T, x),
      [randn(5, 4), randn(5)],
      1,
    ],
    [
      "product with one row, transposed",
      (x, b) => matmul(x, b).T,
      [randn(1, 5), randn(5, 6)],
      0, // a [1, n] transposed is a reshape: the permute is an alias
    ],
  ];
  for (const [what, f, args, permutes] of cases) {
    const p = optimized(f, args);
    const plain = optimized(f, args, false);
    assert.equal(p.toString(), plain.toString(), `${what}: unchanged`);
    assert.ok(count(p, "permute") >= permutes, `${what}:\n${p}`);
    agree(f, args, what);
  }
});

Deno.test("transpose fold: a product by a constant of ones is dropped only when it changes nothing", () => {
  const x = randn(3, 4);
  const dropped: [string, F][] = [
    ["ones of the same shape", (x) => x.mul(ones([3, 4])).sin()],
    ["ones broadcast to x's shape", (x) => ones([1, 4]).mul(x).sin()],
    ["scalar 1", (x) => x.mul(1).sin()],
  ];
  for (const [what, f] of dropped) {
    const p = optimized(f, [x]);
    assert.equal(count(p, "mul"), 0, `${what}:\n${p}`);
    agree(f, [x], what);
  }
  const kept: [string, F][] = [
    // The ones broadcast x to a larger shape.
    ["broadcasting ones", (x) => x.mul(ones([2, 3, 4])).sin()],
    ["not all ones", (x) => x.mul(tensor([1, 1, 1, 1.5])).sin()],
    ["not all ones (-1)", (x) => x.mul(tensor([1, 1, -1, 1])).sin()],
  ];
  for (const [what, f] of kept) {
    const p = optimized(f, [x]);
    assert.equal(count(p, "mul"), 1, `${what}:\n${p}`);
    agree(f, [x], what);
  }
  // The output becomes the input: jit still returns a fresh tensor.
  const id = jit((x: Tensor) => x.mul(ones([3, 4])));
  const y = id(x);
  assert.notEqual(y, x);
  assertSameBits(y, x, "x · 1");
  y.dispose();
  assert.equal(x.data().length, 12);
});

Deno.test("transpose fold: a transpose read by several products folds into each", () => {
  const f: F = (a, b, c) => matmul(a.T, b).add(matmul(c, a.T)).add(a.T.sum());
  const args = [randn(6, 6), randn(6, 6), randn(6, 6)];
  let p = optimized((a, b, c) => matmul(a.T, b).add(matmul(c, a.T)), args);
  assert.equal(count(p, "permute"), 0, `${p}`);
  assert.deepEqual(flags(p), [[true, false], [false, true]], `${p}`);
  agree((a, b, c) => matmul(a.T, b).add(matmul(c, a.T)), args, "a.T twice");
  // One reader that is no product keeps the copy, and the products read it.
  p = optimized(f, args);
  assert.equal(count(p, "permute"), 1, `${p}`);
  assert.deepEqual(flags(p), [[false, false], [false, false]], `${p}`);
  agree(f, args, "a.T twice and a sum");
  // Returned: the copy is made anyway.
  const r = (a: Tensor, b: Tensor) => [matmul(a.T, b), a.T];
  p = optimized(r as unknown as F, args.slice(0, 2));
  assert.equal(count(p, "permute"), 1, `${p}`);
  assert.deepEqual(flags(p), [[false, false]], `${p}`);
});

Deno.test("transpose fold: the derivative of matmul(a.T, b) reads a in place", () => {
  const loss = (a: Tensor, b: Tensor) => matmul(a.T, b).tanh().sum();
  const a = randn(6, 4), b = randn(6, 5);
  const p = optimized(grad(loss, { argnums: [0, 1] }) as unknown as F, [a, b]);
  assert.equal(count(p, "permute"), 0, `${p}`);
  const f = jit(loss);
  const g = grad(f, { argnums: [0, 1] });
  const want = grad((a: Tensor, b: Tensor) => matmul(a.T, b).tanh().sum(), {
    argnums: [0, 1],
  })(a, b);
  const got = g(a, b);
  assertClose(got[0], want[0], { rtol: 1e-12, atol: 1e-12 });
  assertClose(got[1], want[1], { rtol: 1e-12, atol: 1e-12 });
  const jg = jit(g)(a, b);
  assertClose(jg[0], want[0], { rtol: 1e-12, atol: 1e-12 });
  assertClose(jg[1], want[1], { rtol: 1e-12, atol: 1e-12 });
});
