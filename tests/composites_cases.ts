/**
 * The case table of the composite operations (built from primitives, no
 * rules of their own): every differentiable one with inputs away from its
 * kinks, and the integer-index ones for vmap and jit.
 * composites_numeric_test.ts runs each through the checks of _op_checks.ts.
 * @module
 */
import {
  binaryCrossEntropyWithLogits,
  cat,
  chunk,
  clamp,
  crossEntropy,
  diag,
  diagonal,
  elu,
  eye,
  flip,
  gather,
  gelu,
  hypot,
  leakyRelu,
  logaddexp,
  logSoftmax,
  logsumexp,
  mseLoss,
  norm,
  oneHot,
  pad,
  repeatInterleave,
  roll,
  silu,
  softmax,
  softplus,
  split,
  std,
  takeAlongDim,
  type Tensor,
  tile,
  trace,
  tril,
  triu,
  variance,
} from "../mod.ts";
import { erf, erfc, expm1, nanToNum } from "../mod.ts";
import { linalg, log1p } from "../mod.ts";
import {
  cumprod,
  cumsum,
  einsum,
  kron,
  logcumsumexp,
  maskedFill,
  tensor,
  tensordot,
  where,
} from "../mod.ts";
import { indexAdd, indexSelect, scatter, scatterAdd, slice } from "../mod.ts";
import {
  awayFromZero,
  fromGen,
  randnT,
  type Rng,
  uniformT,
} from "./_helpers.ts";
import type { CheckCase } from "./_op_checks.ts";

const f64 = (...shapes: number[][]) => (r: Rng) =>
  shapes.map((s) => randnT(r, s));
const scaled = (shape: number[], k: number, shift = 0) => (r: Rng) => [
  randnT(r, shape).mul(k).add(shift),
];
/** Class indices in [0, n). */
const classes = (r: Rng, shape: number[], n: number) =>
  fromGen(shape, () => r.int(0, n - 1), "int32");
/** Distinct magnitudes (no ties for max/min): a shuffled ramp with a random sign. */
const noTies = (shape: number[]) => (r: Rng) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const ramp = Array.from({ length: n }, (_, i) => 0.5 + i / n);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(0, i);
    [ramp[i], ramp[j]] = [ramp[j], ramp[i]];
  }
  let k = 0;
  return [fromGen(shape, () => (r.next() < 0.5 ? -1 : 1) * ramp[k++])];
};
/** Several norms of one input as one tensor. */
const stackNorms = (xs: Tensor[]) => cat(xs.map((x) => x.reshape([-1])), 0);
const eyeF64 = (n: number) => eye(n, { dtype: "float64" });
/** Probabilities along dim 1 (rows of a softmax of noise). */
const probs = (r: Rng, shape: number[]) => softmax(randnT(r, shape), 1);

export const COMPOSITE_CASES: CheckCase[] = [
  // ---------------------------------------------------------- softmax family
  {
    name: "softmax(x, -1) on [3, 4]",
    fn: (x) => softmax(x, -1),
    args: f64([3, 4]),
  },
  {
    name: "softmax(x, 0) on [4, 3]",
    fn: (x) => softmax(x, 0),
    args: f64([4, 3]),
  },
  {
    name: "logSoftmax(x, 1) on [2, 5]",
    fn: (x) => logSoftmax(x, 1),
    args: f64([2, 5]),
  },
  {
    name: "logsumexp(x, [0, 2], keepdim) on [2, 3, 4]",
    fn: (x) => logsumexp(x, [0, 2], { keepdim: true }),
    args: f64([2, 3, 4]),
  },
  {
    name: "logsumexp(x) over all dims",
    fn: (x) => logsumexp(x),
    args: f64([3, 2]),
  },
  {
    name: "logsumexp(x, 1) at 1e4 scale",
    fn: (x) => logsumexp(x, 1),
    args: scaled([2, 4], 1, 1e4),
    tol: { fd: 1e-5 },
  },
  {
    name: "softmax(x, 1) at -1e4 scale",
    fn: (x) => softmax(x, 1),
    args: scaled([2, 3], 1, -1e4),
    tol: { fd: 1e-5 },
  },
  // ------------------------------------------------------------ activations
  {
    name: "softplus(x) on [-15, 15]",
    fn: (x) => softplus(x),
    args: scaled([12], 6),
  },
  {
    name: "softplus(x, { beta: 2 })",
    fn: (x) => softplus(x, { beta: 2 }),
    args: f64([5]),
  },
  { name: "gelu(x) exact", fn: (x) => gelu(x), args: scaled([3, 4], 3) },
  {
    name: "gelu(x, { approximate: 'tanh' })",
    fn: (x) => gelu(x, { approximate: "tanh" }),
    args: scaled([6], 2),
  },
  { name: "silu(x)", fn: (x) => silu(x), args: scaled([2, 3], 2) },
  {
    name: "elu(x, 0.7)",
    fn: (x) => elu(x, 0.7),
    args: (r) => [awayFromZero(r, [8])],
  },
  {
    name: "leakyRelu(x, 0.1)",
    fn: (x) => leakyRelu(x, 0.1),
    args: (r) => [awayFromZero(r, [8])],
  },
  // -------------------------------------------------- elementwise compositions
  {
    name: "erf() on [-6, 6]",
    fn: erf,
    args: (r) => [uniformT(r, [16], -6, 6)],
  },
  {
    name: "erfc() on [-6, 6]",
    fn: erfc,
    args: (r) => [uniformT(r, [16], -6, 6)],
  },
  {
    name: "log1p() on [-0.5, 2]",
    fn: log1p,
    args: (r) => [uniformT(r, [8], -0.5, 2)],
  },
  { name: "expm1()", fn: expm1, args: scaled([8], 2) },
  {
    name: "clamp(x, -0.5, 0.5) away from the bounds",
    fn: (x) => clamp(x, -0.5, 0.5),
    args: (
      r,
    ) => [
      fromGen([10], () => r.pick([-1, 0, 1]) * 0.6 + r.uniform(-0.08, 0.08)),
    ],
  },
  {
    name: "clamp(x, lo, hi) with tensor bounds",
    fn: (x, lo, hi) => clamp(x, lo, hi),
    args: (r) => [
      fromGen([3, 4], () => r.pick([-1, 0, 1]) + r.uniform(-0.2, 0.2)),
      fromGen([4], () => -0.5 + r.uniform(-0.1, 0.1)),
      fromGen([3, 1], () => 0.5 + r.uniform(-0.1, 0.1)),
    ],
  },
  {
    name: "logaddexp(a, b) broadcasts [3, 1] with [4]",
    fn: (a, b) => logaddexp(a, b),
    args: f64([3, 1], [4]),
  },
  {
    name: "hypot(a, b) broadcasts [2, 3] with [3]",
    fn: (a, b) => hypot(a, b),
    args: f64([2, 3], [3]),
  },
  {
    name: "nanToNum(x) of finite values is the identity",
    fn: (x) => nanToNum(x, { nan: 1 }),
    args: f64([2, 3]),
  },
  // --------------------------------------------------------------- reductions
  { name: "variance(x, 1)", fn: (x) => variance(x, 1), args: f64([3, 5]) },
  {
    name: "variance(x) correction 0, keepdim",
    fn: (x) => variance(x, undefined, { correction: 0, keepdim: true }),
    args: f64([2, 3]),
  },
  { name: "std(x, [0, 2])", fn: (x) => std(x, [0, 2]), args: f64([3, 2, 4]) },
  { name: "norm(x) (2-norm of all)", fn: (x) => norm(x), args: f64([3, 4]) },
  {
    name: "norm(x, 'fro', [0, 1]) on [2, 3, 2]",
    fn: (x) => norm(x, "fro", [0, 1]),
    args: f64([2, 3, 2]),
  },
  {
    name: "norm(x, 1, 1)",
    fn: (x) => norm(x, 1, 1),
    args: (r) => [awayFromZero(r, [3, 4])],
  },
  {
    name: "norm(x, Infinity, 0)",
    fn: (x) => norm(x, Infinity, 0),
    args: noTies([4, 3]),
  },
  {
    name: "norm(x, -Infinity)",
    fn: (x) => norm(x, -Infinity),
    args: noTies([5]),
  },
  {
    name: "norm(x, 3, -1, keepdim)",
    fn: (x) => norm(x, 3, -1, true),
    args: (r) => [awayFromZero(r, [2, 4])],
  },
  // ------------------------------------------------------------------- losses
  {
    name: "crossEntropy(logits [4, 3], class indices)",
    fn: (x, y) => crossEntropy(x, y),
    args: (r) => [randnT(r, [4, 3]), classes(r, [4], 3)],
  },
  {
    name: "crossEntropy(logits [2, 4, 3], indices [2, 3], sum, labelSmoothing)",
    fn: (x, y) => crossEntropy(x, y, { reduction: "sum", labelSmoothing: 0.2 }),
    args: (r) => [randnT(r, [2, 4, 3]), classes(r, [2, 3], 4)],
  },
  {
    name: "crossEntropy(logits [5], index []) unbatched, none",
    fn: (x, y) => crossEntropy(x, y, { reduction: "none" }),
    args: (r) => [randnT(r, [5]), classes(r, [], 5)],
  },
  {
    name: "crossEntropy(logits, probabilities) in both arguments",
    fn: (x, p) => crossEntropy(x, p),
    args: (r) => [randnT(r, [3, 4]), probs(r, [3, 4])],
  },
  {
    name:
      "crossEntropy(logits [5, 3], indices with ignoreIndex, class weights)",
    fn: (x, w, y) =>
      crossEntropy(x, where(tensor([1, 1, 0, 1, 0]), y, -7), {
        weight: w.abs().add(0.5),
        ignoreIndex: -7,
      }),
    args: (r) => [randnT(r, [5, 3]), randnT(r, [3]), classes(r, [5], 3)],
  },
  {
    name:
      "crossEntropy(logits [4, 3], indices with the default ignoreIndex -100)",
    fn: (x, y) => crossEntropy(x, where(tensor([1, 0, 1, 1]), y, -100)),
    args: (r) => [randnT(r, [4, 3]), classes(r, [4], 3)],
  },
  {
    name:
      "crossEntropy(logits [2, 3, 2], indices [2, 2], weights, labelSmoothing, none)",
    fn: (x, w, y) =>
      crossEntropy(x, y, {
        weight: w.abs().add(0.5),
        labelSmoothing: 0.3,
        reduction: "none",
      }),
    args: (r) => [randnT(r, [2, 3, 2]), randnT(r, [3]), classes(r, [2, 2], 3)],
  },
  {
    name: "crossEntropy(logits, probabilities) with class weights",
    fn: (x, p, w) => crossEntropy(x, p, { weight: w }),
    args: (r) => [randnT(r, [3, 4]), probs(r, [3, 4]), randnT(r, [4])],
  },
  {
    name: "mseLoss(a, b)",
    fn: (a, b) => mseLoss(a, b),
    args: f64([2, 3], [2, 3]),
  },
  {
    name: "binaryCrossEntropyWithLogits(x, y)",
    fn: (x, y) => binaryCrossEntropyWithLogits(x, y),
    args: (r) => [randnT(r, [6]).mul(3), uniformT(r, [6], 0, 1)],
  },
  {
    name: "binaryCrossEntropyWithLogits(x, y, posWeight, none)",
    fn: (x, y, w) =>
      binaryCrossEntropyWithLogits(x, y, { posWeight: w, reduction: "none" }),
    args: (
      r,
    ) => [
      randnT(r, [2, 3]),
      uniformT(r, [2, 3], 0, 1),
      uniformT(r, [3], 0.5, 2),
    ],
  },
  // ------------------------------------------------------------------- layout
  {
    name: "split(x, 2, 1)[1] on [3, 5]",
    fn: (x) => split(x, 2, 1)[1],
    args: f64([3, 5]),
  },
  {
    name: "split(x, [1, 3]) pieces recombined",
    fn: (x) => {
      const [a, b] = split(x, [1, 3]);
      return b.mul(a.sum());
    },
    args: f64([4, 2]),
  },
  {
    name: "chunk(x, 3, -1) last piece",
    fn: (x) => chunk(x, 3, -1)[2],
    args: f64([2, 7]),
  },
  {
    name: "tril(x, -1) on [2, 3, 4]",
    fn: (x) => tril(x, -1),
    args: f64([2, 3, 4]),
  },
  { name: "triu(x, 1) on [4, 3]", fn: (x) => triu(x, 1), args: f64([4, 3]) },
  {
    name: "diag(v, 1) vector to matrix",
    fn: (v) => diag(v, 1),
    args: f64([3]),
  },
  {
    name: "diag(v, -2) vector to matrix",
    fn: (v) => diag(v, -2),
    args: f64([2]),
  },
  {
    name: "diag(m, -1) matrix to vector",
    fn: (m) => diag(m, -1),
    args: f64([4, 3]),
  },
  {
    name: "diagonal(x, 1, 0, 2) on [3, 2, 4]",
    fn: (x) => diagonal(x, 1, 0, 2),
    args: f64([3, 2, 4]),
  },
  { name: "trace(m) on [3, 4]", fn: (m) => trace(m), args: f64([3, 4]) },
  {
    name: "tile(x, [2, 1, 3]) on [2, 2]",
    fn: (x) => tile(x, [2, 1, 3]),
    args: f64([2, 2]),
  },
  {
    name: "repeatInterleave(x, 2, 1)",
    fn: (x) => repeatInterleave(x, 2, 1),
    args: f64([2, 3]),
  },
  {
    name: "repeatInterleave(x, [0, 2, 1], 0)",
    fn: (x) => repeatInterleave(x, [0, 2, 1], 0),
    args: f64([3, 2]),
  },
  {
    name: "roll(x, [1, -2], [0, 1])",
    fn: (x) => roll(x, [1, -2], [0, 1]),
    args: f64([3, 4]),
  },
  { name: "roll(x, 3) flattened", fn: (x) => roll(x, 3), args: f64([2, 3]) },
  { name: "flip(x, [0, 2])", fn: (x) => flip(x, [0, 2]), args: f64([2, 3, 4]) },
  {
    name: "pad(x, [1, 2, 0, 1], value 0.5)",
    fn: (x) => pad(x, [1, 2, 0, 1], { value: 0.5 }),
    args: f64([2, 3]),
  },
  {
    name: "pad(x, [-1, 2]) crops and pads",
    fn: (x) => pad(x, [-1, 2]),
    args: f64([2, 4]),
  },
  {
    name: "pad(x, [2, 1, 1, 2], reflect)",
    fn: (x) => pad(x, [2, 1, 1, 2], { mode: "reflect" }),
    args: f64([3, 4]),
  },
  {
    name: "pad(x, [3, 0], replicate)",
    fn: (x) => pad(x, [3, 0], { mode: "replicate" }),
    args: f64([2, 3]),
  },
  {
    name: "pad(x, [1, 3], circular)",
    fn: (x) => pad(x, [1, 3], { mode: "circular" }),
    args: f64([3]),
  },
  {
    name: "gather(x, 1, index) with repeated indices",
    fn: (x, i) => gather(x, 1, i),
    args: (r) => [randnT(r, [3, 4]), classes(r, [3, 5], 4)],
  },
  {
    name: "gather(x, 0, index) of [4, 3] by [2, 2]",
    fn: (x, i) => gather(x, 0, i),
    args: (r) => [randnT(r, [4, 3]), classes(r, [2, 2], 4)],
  },
  {
    name: "takeAlongDim(x, indices, 2) broadcasting",
    fn: (x, i) => takeAlongDim(x, i, 2),
    args: (r) => [randnT(r, [2, 1, 4]), classes(r, [1, 3, 2], 4)],
  },
  // ------------------------------------------------------------ contractions
  {
    name: "einsum('ij,jk->ik') matmul",
    fn: (a, b) => einsum("ij,jk->ik", a, b),
    args: f64([2, 3], [3, 2]),
  },
  {
    name: "einsum('bij,bkj->bik') batched, broadcast batch",
    fn: (a, b) => einsum("bij,bkj->bik", a, b),
    args: f64([2, 2, 3], [1, 2, 3]),
  },
  {
    name: "einsum('ii->i') diagonal",
    fn: (a) => einsum("ii->i", a),
    args: f64([3, 3]),
  },
  {
    name: "einsum('...ij,...j') ellipsis, implicit output",
    fn: (a, b) => einsum("...ij,...j", a, b),
    args: f64([2, 3, 2], [2]),
  },
  {
    name: "einsum('ab,bc,ca->') three operands to a scalar",
    fn: (a, b, c) => einsum("ab,bc,ca->", a, b, c),
    args: f64([2, 3], [3, 2], [2, 2]),
  },
  {
    name: "tensordot(a, b, [[0, 2], [1, 0]])",
    fn: (a, b) => tensordot(a, b, [[0, 2], [1, 0]]),
    args: f64([2, 3, 2], [2, 2]),
  },
  {
    name: "tensordot(a, b, 1)",
    fn: (a, b) => tensordot(a, b, 1),
    args: f64([2, 3], [3, 2]),
  },
  {
    name: "kron(a, b) of [2] and [2, 2]",
    fn: (a, b) => kron(a, b),
    args: f64([2], [2, 2]),
  },
  // ------------------------------------------------------------------ scans
  {
    name: "cumsum(x, 1) on [2, 5]",
    fn: (x) => cumsum(x, 1),
    args: f64([2, 5]),
  },
  {
    name: "cumsum(x, 0) past one block (70)",
    fn: (x) => cumsum(x, 0),
    args: f64([70]),
  },
  {
    name: "cumprod(x, -1) on [2, 5]",
    fn: (x) => cumprod(x, -1),
    args: f64([2, 5]),
  },
  {
    name: "cumprod(x, 0) through a zero",
    fn: (x) => cumprod(x, 0),
    args: (
      r,
    ) => [randnT(r, [4]).mul(tensor([1, 0, 1, 1], { dtype: "float64" }))],
  },
  {
    name: "logcumsumexp(x, 1) on [2, 5]",
    fn: (x) => logcumsumexp(x, 1),
    args: f64([2, 5]),
  },
  {
    name: "logcumsumexp(x, 0) at 1e3 scale",
    fn: (x) => logcumsumexp(x, 0),
    args: scaled([4], 1e3),
  },
  {
    name: "maskedFill(x, mask, value) with a broadcast mask and tensor value",
    fn: (x, v) => maskedFill(x, tensor([[1], [0]], { dtype: "float64" }), v),
    args: (r) => [randnT(r, [2, 3]), randnT(r, [])],
  },
  // ------------------------------------------------------------ promotion
  {
    name: "int32 promoted to float: sin(x·k + k²) with an int32 k",
    fn: (x, k) => x.mul(k).add(k.square()).sin(),
    args: (r) => [randnT(r, [2, 3]), fromGen([3], () => r.int(-3, 3), "int32")],
  },
  {
    name:
      "bool masks promoted in arithmetic: x·(x > 0) + where(x < 0.5, x², 1)",
    fn: (x) => x.mul(x.gt(0)).add(where(x.lt(0.5), x.square(), 1)),
    args: (r) => [awayFromZero(r, [2, 3], 0.6)],
  },
  {
    name: "scatterAdd(x, 1, index, src) with repeated indices and a larger src",
    fn: (x, i, src) => scatterAdd(x, 1, i, src),
    args: (r) => [randnT(r, [3, 4]), classes(r, [2, 5], 4), randnT(r, [3, 6])],
  },
  {
    name: "scatterAdd(x, 0, index, src) of [4, 3] by [2, 2]",
    fn: (x, i, src) => scatterAdd(x, 0, i, src),
    args: (r) => [randnT(r, [4, 3]), classes(r, [2, 2], 4), randnT(r, [2, 2])],
  },
  {
    name: "scatter(x, 1, index, src) (repeated positions get the mean)",
    fn: (x, i, src) => scatter(x, 1, i, src),
    args: (r) => [randnT(r, [3, 4]), classes(r, [3, 3], 4), randnT(r, [3, 3])],
  },
  {
    name: "scatter(x, 0, index, value) of a number",
    fn: (x, i) => scatter(x, 0, i, 2.5),
    args: (r) => [randnT(r, [4, 3]), classes(r, [2, 3], 4)],
  },
  {
    name: "indexAdd(x, 1, index, source) with a repeated index and alpha",
    fn: (x, i, src) => indexAdd(x, 1, i, src, { alpha: 0.5 }),
    args: (r) => [randnT(r, [2, 4]), classes(r, [3], 4), randnT(r, [2, 3])],
  },
  {
    name: "indexSelect(x, 1, index) with a 2-D index",
    fn: (x, i) => indexSelect(x, 1, i),
    args: (r) => [randnT(r, [3, 4]), classes(r, [2, 3], 4)],
  },
  {
    name: "slice(x, 1, 5, 0, -2) (negative step)",
    fn: (x) => slice(x, 1, 5, 0, -2),
    args: f64([2, 6]),
  },
  {
    name: "slice(x, 0) reversed by step -1",
    fn: (x) => slice(x, 0, undefined, undefined, -1),
    args: f64([4, 2]),
  },
  // ------------------------------------------------------------------ linalg
  {
    name: "linalg.lstsq(A, B) tall [5, 3], B [5, 2]",
    fn: (a, b) => linalg.lstsq(a, b),
    args: f64([5, 3], [5, 2]),
  },
  {
    name: "linalg.lstsq(A, b) wide [2, 4] (minimum norm), b [2]",
    fn: (a, b) => linalg.lstsq(a, b),
    args: f64([2, 4], [2]),
  },
  {
    name: "linalg.lstsq(A, B) gelsd, batched [2, 4, 3]",
    fn: (a, b) => linalg.lstsq(a, b, { driver: "gelsd" }),
    args: f64([2, 4, 3], [2, 4, 1]),
  },
  {
    name: "linalg.pinv(A) of a wide [3, 4]",
    fn: (a) => linalg.pinv(a),
    args: f64([3, 4]),
  },
  {
    name: "linalg.matrixNorm(A) fro, nuc, ±2 of [3, 4]",
    fn: (a) =>
      stackNorms(
        (["fro", "nuc", 2, -2] as const).map((o) => linalg.matrixNorm(a, o)),
      ),
    args: f64([3, 4]),
  },
  {
    name:
      "linalg.matrixNorm(A) ±1, ±inf over dims [0, 2] of [3, 2, 4], keepdim",
    fn: (a) =>
      stackNorms(
        [1, -1, Infinity, -Infinity].map((o) =>
          linalg.matrixNorm(a, o, { dim: [0, 2], keepdim: true })
        ),
      ),
    // Gaussian entries: no ties among the sums of |a| (a ramp would have).
    args: f64([3, 2, 4]),
  },
  {
    name: "linalg.vectorNorm(x) ord 2, 3, -1.5, inf over dim 1",
    fn: (x) =>
      stackNorms(
        [2, 3, -1.5, Infinity].map((o) => linalg.vectorNorm(x, o, { dim: 1 })),
      ),
    args: noTies([3, 4]),
  },
  {
    name: "linalg.matrixPower(A, n) n = 3 and -2 of batched [2, 3, 3]",
    fn: (a) => linalg.matrixPower(a, 3).add(linalg.matrixPower(a, -2)),
    args: (r) => [randnT(r, [2, 3, 3]).mul(0.5).add(eyeF64(3).mul(2))],
  },
  {
    name: "linalg.matrixExp(A) of [3, 3] (one squaring or more)",
    fn: (a) => linalg.matrixExp(a),
    args: scaled([3, 3], 3),
  },
  {
    name: "linalg.matrixExp(A) of a batched [2, 2, 2]",
    fn: (a) => linalg.matrixExp(a),
    args: scaled([2, 2, 2], 0.5),
  },
  {
    name: "linalg.cross(a, b) broadcast [2, 3] × [3] and dim 0",
    fn: (a, b) =>
      cat([linalg.cross(a, b), linalg.cross(a.T, b.unsqueeze(1), 0).T], 0),
    args: f64([2, 3], [3]),
  },
  {
    name: "linalg.multiDot([v, A, B, w]) vector ends",
    fn: (v, a, b, w) => linalg.multiDot([v, a, b, w]),
    args: f64([4], [4, 2], [2, 5], [5]),
  },
  {
    name: "linalg.multiDot([A, B, C]) [3, 6] [6, 2] [2, 4]",
    fn: (a, b, c) => linalg.multiDot([a, b, c]),
    args: f64([3, 6], [6, 2], [2, 4]),
  },
  {
    name: "linalg.qr(A) of a wide [3, 5]: Q and R",
    fn: (a) => {
      const { Q, R } = linalg.qr(a);
      return cat([Q, R], 1);
    },
    args: f64([3, 5]),
  },
  {
    name: "linalg.qr(A) complete of a tall [4, 2]: Q and R",
    fn: (a) => {
      const { Q, R } = linalg.qr(a, { mode: "complete" });
      return cat([Q, R], 1);
    },
    args: f64([4, 2]),
    // The extra columns Q₂ are not unique: their derivative is that of
    // Q₂ − Q₁Q₁ᵀQ₂ with Q₂ held at the base point (the documented gauge),
    // exact to first order only.
    fdRef: ([a0]) => {
      const Q20 = linalg.qr(a0, { mode: "complete" }).Q.narrow(1, 2, 2);
      return (a) => {
        const { Q, R } = linalg.qr(a);
        const Q2 = Q20.sub(Q.matmul(Q.T.matmul(Q20)));
        return cat([cat([Q, Q2], 1), cat([R, R.mul(0)], 0)], 1);
      };
    },
    firstOrderOnly: true,
  },
  // ----------------------------------------------------------------- integer
  {
    name: "oneHot(indices, 4)",
    fn: (i) => oneHot(i, 4, { dtype: "float64" }),
    args: (r) => [classes(r, [2, 3], 4)],
    noGrad: true,
  },
];

/** The composites the table is meant to cover, for a coverage check. */
export const COVERED: readonly string[] = [
  "softmax",
  "logSoftmax",
  "logsumexp",
  "softplus",
  "gelu",
  "silu",
  "elu",
  "leakyRelu",
  "clamp",
  "logaddexp",
  "hypot",
  "nanToNum",
  "variance",
  "std",
  "norm",
  "crossEntropy",
  "mseLoss",
  "binaryCrossEntropyWithLogits",
  "oneHot",
  "split",
  "chunk",
  "tril",
  "triu",
  "diag",
  "diagonal",
  "trace",
  "tile",
  "repeatInterleave",
  "roll",
  "flip",
  "pad",
  "gather",
  "takeAlongDim",
  "scatter",
  "scatterAdd",
  "indexAdd",
  "indexSelect",
  "einsum",
  "tensordot",
  "kron",
  "cumsum",
  "cumprod",
  "logcumsumexp",
  "maskedFill",
  "linalg.lstsq",
  "linalg.pinv",
  "linalg.matrixNorm",
  "linalg.vectorNorm",
  "linalg.matrixPower",
  "linalg.matrixExp",
  "linalg.cross",
  "linalg.multiDot",
  "linalg.qr",
];
