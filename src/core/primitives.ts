/**
 * The primitive operations. Every tensor operation lowers to these; every
 * transform is a table keyed by them. A few general primitives (broadcast,
 * reduce over axes, matmul with transpose flags, strided slice/pad) keep the
 * rule tables small.
 * @module
 */
import type { DType } from "../backend/dtype.ts";

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
] as const;
export const REDUCE_PRIMS = ["sum", "prod", "max", "min"] as const;

export type UnaryPrim = typeof UNARY_PRIMS[number];
export type BinaryPrim = typeof BINARY_PRIMS[number];
export type ReducePrim = typeof REDUCE_PRIMS[number];
export type ComparePrim = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

/** Parameters each primitive carries (static, never tensors). */
export interface PrimParams {
  neg: null;
  abs: null;
  exp: null;
  log: null;
  sqrt: null;
  sin: null;
  cos: null;
  tan: null;
  tanh: null;
  sigmoid: null;
  relu: null;
  square: null;
  reciprocal: null;
  sign: null;
  add: null;
  sub: null;
  mul: null;
  div: null;
  pow: null;
  maximum: null;
  minimum: null;
  eq: null;
  ne: null;
  lt: null;
  le: null;
  gt: null;
  ge: null;
  /** where(cond, a, b) with broadcasting of all three. */
  where: null;
  /** Reductions over sorted unique `axes`; the axes are removed. */
  sum: { axes: readonly number[] };
  prod: { axes: readonly number[] };
  max: { axes: readonly number[] };
  min: { axes: readonly number[] };
  argmax: { axis: number };
  argmin: { axis: number };
  reshape: { shape: readonly number[] };
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
  cat: { axis: number };
  /** indexSelect(x, index) along axis; index is an int32 vector. */
  indexSelect: { axis: number };
  /** indexAdd(src, index): zeros with size `size` along axis, src rows added at index. */
  indexAdd: { axis: number; size: number };
  cast: { dtype: DType };
  /** op(A) @ op(B) over equal batch dims (or one operand without batch dims). */
  matmul: { transA: boolean; transB: boolean };
  /** Identity whose derivative is zero (detach). */
  stopGradient: null;
}

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
];

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
  | "matmul";
