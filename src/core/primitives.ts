/**
 * The primitive operations. Every tensor operation lowers to these; every
 * transform is a table keyed by them. A few general primitives (broadcast,
 * reduce over axes, matmul with transpose flags, strided slice/pad) keep the
 * rule tables small.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import type { CustomOp } from "./custom_op.ts";
import type { Program } from "./ir.ts";

export const UNARY_PRIMS = [
  "neg",
  "abs",
  "exp",
  "log",
  "sqrt",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sigmoid",
  "relu",
  "square",
  "reciprocal",
  "sign",
  "log1p",
  "expm1",
  "log2",
  "log10",
  "exp2",
  "asin",
  "acos",
  "atan",
  "sinh",
  "cosh",
  "asinh",
  "acosh",
  "atanh",
  "floor",
  "ceil",
  "round",
  "trunc",
  "erf",
  "erfc",
  "erfinv",
  "lgamma",
  "digamma",
  "isnan",
  "isfinite",
] as const;
export const BINARY_PRIMS = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "maximum",
  "minimum",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "polygamma",
  "atan2",
  "fmod",
  "remainder",
  "hypot",
] as const;
export const REDUCE_PRIMS = ["sum", "prod", "max", "min"] as const;

export type UnaryPrim = typeof UNARY_PRIMS[number];
export type BinaryPrim = typeof BINARY_PRIMS[number];
export type ReducePrim = typeof REDUCE_PRIMS[number];
export type ComparePrim = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
/** The comparisons: any dtype in, bool out. */
export const COMPARE_PRIMS: ReadonlySet<string> = new Set<ComparePrim>([
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
]);

/**
 * Parameters each primitive carries (static, never tensors), by primitive
 * name: the `params` of an equation of a {@link Program}.
 *
 * @example
 * ```ts
 * import { makeProgram, zeros } from "./mod.ts";
 * const [e] = makeProgram((x) => x.sum(0))(zeros([2, 3])).eqns;
 * console.log(e.prim, e.params); // sum { axes: [ 0 ] }
 * ```
 */
export interface PrimParams {
  /** `neg`: no parameters. */
  neg: null;
  /** `abs`: no parameters. */
  abs: null;
  /** `exp`: no parameters. */
  exp: null;
  /** `log`: no parameters. */
  log: null;
  /** `sqrt`: no parameters. */
  sqrt: null;
  /** `sin`: no parameters. */
  sin: null;
  /** `cos`: no parameters. */
  cos: null;
  /** `tan`: no parameters. */
  tan: null;
  /** `tanh`: no parameters. */
  tanh: null;
  /** `sigmoid`: no parameters. */
  sigmoid: null;
  /** `relu`: no parameters. */
  relu: null;
  /** `square`: no parameters. */
  square: null;
  /** `reciprocal`: no parameters. */
  reciprocal: null;
  /** `sign`: no parameters. */
  sign: null;
  /** `log1p`: no parameters. */
  log1p: null;
  /** `expm1`: no parameters. */
  expm1: null;
  /** `log2`: no parameters. */
  log2: null;
  /** `log10`: no parameters. */
  log10: null;
  /** `exp2`: no parameters. */
  exp2: null;
  /** `asin`: no parameters. */
  asin: null;
  /** `acos`: no parameters. */
  acos: null;
  /** `atan`: no parameters. */
  atan: null;
  /** `sinh`: no parameters. */
  sinh: null;
  /** `cosh`: no parameters. */
  cosh: null;
  /** `asinh`: no parameters. */
  asinh: null;
  /** `acosh`: no parameters. */
  acosh: null;
  /** `atanh`: no parameters. */
  atanh: null;
  /** `floor`: no parameters. */
  floor: null;
  /** `ceil`: no parameters. */
  ceil: null;
  /** `round`: no parameters. */
  round: null;
  /** `trunc`: no parameters. */
  trunc: null;
  /** `erf`: no parameters. */
  erf: null;
  /** `erfc`: no parameters. */
  erfc: null;
  /** `erfinv`: no parameters. */
  erfinv: null;
  /** `lgamma`: no parameters. */
  lgamma: null;
  /** `digamma`: no parameters. */
  digamma: null;
  /** `isnan`: no parameters. */
  isnan: null;
  /** `isfinite`: no parameters. */
  isfinite: null;
  /** `add`: no parameters. */
  add: null;
  /** `sub`: no parameters. */
  sub: null;
  /** `mul`: no parameters. */
  mul: null;
  /** `div`: no parameters. */
  div: null;
  /** `pow`: no parameters. */
  pow: null;
  /** `maximum`: no parameters. */
  maximum: null;
  /** `minimum`: no parameters. */
  minimum: null;
  /** `eq`: no parameters. */
  eq: null;
  /** `ne`: no parameters. */
  ne: null;
  /** `lt`: no parameters. */
  lt: null;
  /** `le`: no parameters. */
  le: null;
  /** `gt`: no parameters. */
  gt: null;
  /** `ge`: no parameters. */
  ge: null;
  /** `polygamma` (order, x): no parameters. */
  polygamma: null;
  /** `atan2`: no parameters. */
  atan2: null;
  /** `fmod`: no parameters. */
  fmod: null;
  /** `remainder`: no parameters. */
  remainder: null;
  /** `hypot`: no parameters. */
  hypot: null;
  /** where(cond, a, b) with broadcasting of all three. */
  where: null;
  /** Reductions over sorted unique `axes`; the axes are removed. */
  sum: { axes: readonly number[] };
  /** `prod`: its parameters. */
  prod: { axes: readonly number[] };
  /** `max`: its parameters. */
  max: { axes: readonly number[] };
  /** `min`: its parameters. */
  min: { axes: readonly number[] };
  /** `argmax`: its parameters. */
  argmax: { axis: number };
  /** `argmin`: its parameters. */
  argmin: { axis: number };
  /** `reshape`: its parameters. */
  reshape: { shape: readonly number[] };
  /** `permute`: its parameters. */
  permute: { perm: readonly number[] };
  /** NumPy broadcast to `shape` (may add leading dims). */
  broadcastTo: { shape: readonly number[] };
  /** out[i] = x[start + i*step] along every axis; `shape` is the result. */
  slice: {
    start: readonly number[];
    step: readonly number[];
    shape: readonly number[];
  };
  /** The transpose of slice: zeros of `shape` with x placed at start + i*step. */
  pad: {
    start: readonly number[];
    step: readonly number[];
    shape: readonly number[];
  };
  /** `cat`: its parameters. */
  cat: { axis: number };
  /** indexSelect(x, index) along axis; index is an int32 vector. */
  indexSelect: { axis: number };
  /** indexAdd(src, index): zeros with size `size` along axis, src rows added at index. */
  indexAdd: { axis: number; size: number };
  /** `cast`: its parameters. */
  cast: { dtype: DType };
  /** op(A) @ op(B) over equal batch dims (or one operand without batch dims). */
  matmul: { transA: boolean; transB: boolean };
  /** Identity whose derivative is zero (detach). */
  stopGradient: null;
  /** Lower Cholesky factor of `[..., n, n]`: of its symmetric part (A + Aᵀ)/2. */
  cholesky: null;
  /**
   * `A⁻¹ B` for triangular `A [..., n, n]` (only its `upper` or lower
   * triangle is read; with `unitriangular` not its diagonal, taken as ones)
   * and `B [..., n, k]`, batch dims equal or one operand without.
   */
  triangularSolve: { upper: boolean; unitriangular: boolean };
  /** `A⁻¹ B` for square `A [..., n, n]`, `B [..., n, k]` (LU with partial pivoting). */
  solve: null;
  /** `[..., 2]`: the sign and the log of the absolute determinant of `[..., n, n]`. */
  slogdet: null;
  /**
   * Symmetric eigen-decomposition of (A + Aᵀ)/2 for `[..., n, n]`, packed
   * in one result `[..., n + 1, n]` (a primitive has one output): row 0 the
   * eigenvalues in ascending order, rows 1..n the eigenvectors as columns.
   */
  eigh: null;
  /**
   * Reduced QR of `[..., m, n]` with m ≥ n, packed in one result
   * `[..., m + n, n]`: rows 0..m the orthonormal Q, rows m..m+n the upper
   * triangular R with a nonnegative diagonal.
   */
  qr: null;
  /**
   * LU with partial pivoting of `[..., n, n]`, packed in one result
   * `[..., n + 1, n]`: row 0 the row permutation `perm` (row i of P A is
   * row `perm[i]` of A, as values), rows 1..n the factors of P A = L U
   * (unit L strictly below the diagonal, U on and above it).
   */
  lu: null;
  /**
   * Samples from keys `[..., 2]` (int32 word pairs): `[..., ...shape]`, each
   * key's draw a pure function of that key (crates/kernels/src/random.rs).
   * `dist` "uniform" ([0, 1)) and "normal" give `dtype` float32/float64;
   * "permutation" gives an int32 permutation of `0..shape[0]`.
   */
  randomSample: {
    dist: "uniform" | "normal" | "permutation";
    shape: readonly number[];
    dtype: DType;
  };
  /**
   * New keys `[..., 2]` hashed from keys and data word pairs of the same
   * shape (int32): `random.split` and `random.foldIn` in their domains.
   */
  randomDerive: { domain: "split" | "foldIn" };
  /**
   * Output `index` of a call the library sees only through the rules of
   * `op` (src/core/custom_op.ts): customJvp, customVjp, checkpoint. A call
   * with several outputs is one equation per output, sharing `op`.
   */
  custom: { op: CustomOp; index: number };
  /**
   * Control flow (src/core/control.ts): `scan` of `body` over `length`
   * steps. Operands: `nConsts` loop-invariant values, `nCarry` initial
   * carries, then the stacked inputs `xs` (leading dim `length`). The body
   * maps (consts, carry, x) to (carry, y). Its one result packs the final
   * carries and the stacked `ys` (see `pack` in src/core/control.ts).
   * `linear` marks operands the body is linear in (tangent scans only).
   */
  scan: {
    body: Program;
    nConsts: number;
    nCarry: number;
    length: number;
    reverse: boolean;
    unroll: number;
    linear: readonly boolean[] | null;
  };
  /**
   * `cond`/`switchCase`: operand 0 is the branch index (rank 0, clamped to
   * the branches), the rest are the operands every branch takes; the
   * result packs the chosen branch's outputs.
   */
  cond: { branches: readonly Program[]; linear: readonly boolean[] | null };
  /**
   * `whileLoop`: operands are `nCondConsts` values for `cond`,
   * `nBodyConsts` for `body`, then the carries; `body` runs while `cond`
   * (a rank-0 result, nonzero is true) holds. The result packs the carries.
   */
  while: {
    cond: Program;
    body: Program;
    nCondConsts: number;
    nBodyConsts: number;
  };
  /**
   * Convolution (cross-correlation, as PyTorch) of x `[N, C, *in]` with w
   * `[O, C/groups, *k]` over 1 to 3 spatial dims: `[N, O, *out]`, output
   * position o reading input position `o·stride - padLo + j·dilation`
   * (zeros outside), `out = ⌊(in + padLo + padHi - dilation·(k-1) - 1) /
   * stride⌋ + 1`. Bilinear; its transposes are the next two primitives.
   */
  conv: ConvParams;
  /**
   * The transpose of `conv` in its input: (gy `[N, O, *out]`, w) → `[N, C,
   * *size]`, the transposed convolution; `size` is the input's spatial
   * shape of the `conv` it transposes.
   */
  convTranspose: ConvParams & { size: readonly number[] };
  /**
   * The transpose of `conv` in its weight: (x `[N, C, *in]`, gy `[N, O,
   * *out]`) → `[O, C/groups, *size]`; `size` is the kernel's spatial shape.
   */
  convWeightGrad: ConvParams & { size: readonly number[] };
  /**
   * Max pooling of x `[..., *in]` over its last `kernel.length` dims
   * (windows as `conv`'s, padding never wins) to `[..., *out]`: the maxima,
   * or with `indices` their int32 flat positions within each plane. The
   * first maximum in row-major window order wins ties.
   */
  maxPool: {
    kernel: readonly number[];
    stride: readonly number[];
    padLo: readonly number[];
    dilation: readonly number[];
    out: readonly number[];
    indices: boolean;
  };
  /** Stable argsort along `axis` (int32); NaN sorts above every number. */
  argsort: { axis: number; descending: boolean };
  /**
   * Reduced SVD of `[..., m, n]` with m ≥ n, packed in one result
   * `[..., m + 1 + n, n]`: rows 0..m U, row m the singular values in
   * descending order, rows m+1..m+1+n Vᵀ (A = U diag(S) Vᵀ).
   */
  svd: null;
}

/**
 * The geometry shared by the convolution primitives (one entry per spatial
 * dim): the `params` of a `conv` equation.
 *
 * @example
 * ```ts
 * import { conv2d, makeProgram, zeros } from "./mod.ts";
 * const [e] = makeProgram((x) => conv2d(x, zeros([2, 1, 3, 3]), { padding: 1 }))(zeros([1, 1, 4, 4])).eqns;
 * console.log(e.params); // { stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1], groups: 1 }
 * ```
 */
export interface ConvParams {
  /** Step between output positions, per spatial dim. */
  stride: readonly number[];
  /** Zeros before each spatial dim (negative: cropped). */
  padLo: readonly number[];
  /** Zeros after each spatial dim (negative: cropped). */
  padHi: readonly number[];
  /** Spacing between kernel taps, per spatial dim. */
  dilation: readonly number[];
  /** Channel groups (input and output channels split into this many). */
  groups: number;
}

/**
 * The name of a primitive operation (`"add"`, `"sum"`, `"matmul"`, ...): what
 * an equation of a {@link Program} applies.
 *
 * @example
 * ```ts
 * import { makeProgram, type Prim, zeros } from "./mod.ts";
 * const prims: Prim[] = makeProgram((x) => x.exp().sum())(zeros([3])).eqns.map((e) => e.prim);
 * ```
 */
export type Prim = keyof PrimParams;

/** Every primitive, for tests that check rule tables are complete. */
export const ALL_PRIMS: readonly Prim[] = [
  ...UNARY_PRIMS,
  ...BINARY_PRIMS,
  "where",
  ...REDUCE_PRIMS,
  "argmax",
  "argmin",
  "reshape",
  "permute",
  "broadcastTo",
  "slice",
  "pad",
  "cat",
  "indexSelect",
  "indexAdd",
  "cast",
  "matmul",
  "stopGradient",
  "cholesky",
  "triangularSolve",
  "solve",
  "slogdet",
  "eigh",
  "qr",
  "lu",
  "randomSample",
  "randomDerive",
  "custom",
  "scan",
  "cond",
  "while",
  "conv",
  "convTranspose",
  "convWeightGrad",
  "maxPool",
  "argsort",
  "svd",
];

/** The control-flow primitives: they carry sub-programs in their params. */
export const CONTROL_PRIMS = ["scan", "cond", "while"] as const;

/**
 * Primitives that are linear in (some of) their tensor inputs and can appear
 * in a linearized program, so they need a transpose rule.
 */
export type LinearPrim =
  | "neg"
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "where"
  | "sum"
  | "reshape"
  | "permute"
  | "broadcastTo"
  | "slice"
  | "pad"
  | "cat"
  | "indexSelect"
  | "indexAdd"
  | "cast"
  | "matmul"
  | "triangularSolve"
  | "solve"
  | "custom"
  | "scan"
  | "cond"
  | "while"
  | "conv"
  | "convTranspose"
  | "convWeightGrad";
