/**
 * Thin wrappers over `bind`, one per primitive (plus a few compositions the
 * rules share). Derivative, transpose and batching rules are written with
 * these, never with the public operations in src/ops: the rules run on
 * values the shape rules already accepted, so they need no argument
 * checking, and core stays below ops in the import graph.
 *
 * Plain numbers next to a tensor become rank-0 constants of its dtype.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import { fill } from "../backend/kernels.ts";
import { fromArray, untracked } from "../backend/storage.ts";
import type { Aval } from "./ir.ts";
import type { BinaryPrim, UnaryPrim } from "./primitives.ts";
import { shapeEq, sizeOf } from "./shape.ts";
import { Tensor, type TensorLike } from "./tensor.ts";
import { bind } from "./trace.ts";

// Scalars recur constantly (2, 1, 0.5 in derivative rules): keep a few.
// Safe because tensors are immutable and the cache holds each one.
// One map per dtype, keyed by the number (no key string per call). A Map
// key does not tell -0 from 0, so -0 is never cached (nor given 0's entry).
const caches = new Map<DType, Map<number, Tensor>>();
let cached = 0;

/** Rank-0 tensor of `dtype` holding `value` (cached and held by the cache). */
export function scalar(value: number, dtype: DType): Tensor {
  let cache = caches.get(dtype);
  if (cache === undefined) caches.set(dtype, cache = new Map());
  let t = Object.is(value, -0) ? undefined : cache.get(value);
  if (t === undefined) {
    // The cache holds it: a user who gets it back (as a gradient of 1)
    // gets another holder, whose dispose() leaves the cache's intact.
    t = Tensor._fromStorage(constantStorage(value, dtype), [], dtype)._hold();
    if (++cached > 256) {
      for (const c of caches.values()) c.clear();
      cached = 1;
    }
    if (!Object.is(value, -0)) cache.set(value, t);
  }
  return t;
}

/** The buffer of a cached scalar (no arena frees it). */
function constantStorage(value: number, dtype: DType) {
  return untracked(() => fromArray(dtype, [value]));
}

/** Both operands as tensors: a number takes the other operand's dtype. */
function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor) {
    return [a, b instanceof Tensor ? b : scalar(b, a.dtype)];
  }
  return [scalar(a, (b as Tensor).dtype), b as Tensor];
}

const unary = (prim: UnaryPrim) => (x: Tensor): Tensor => bind(prim, [x], null);
const binary = (prim: BinaryPrim) => (a: TensorLike, b: TensorLike): Tensor =>
  bind(prim, pair(a, b), null);

export const neg = unary("neg");
export const abs = unary("abs");
export const exp = unary("exp");
export const log = unary("log");
export const sqrt = unary("sqrt");
export const sin = unary("sin");
export const cos = unary("cos");
export const sinh = unary("sinh");
export const cosh = unary("cosh");
export const digamma = unary("digamma");
export const square = unary("square");
export const reciprocal = unary("reciprocal");
export const sign = unary("sign");
export const floor = unary("floor");
export const trunc = unary("trunc");

export const add = binary("add");
export const sub = binary("sub");
export const mul = binary("mul");
export const div = binary("div");
export const pow = binary("pow");
export const eq = binary("eq");
export const gt = binary("gt");
export const lt = binary("lt");
export const polygamma = binary("polygamma");

/** `x` as `dtype` (bool masks as 1/0 floats); the identity for the same dtype. */
export function asDtype(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind("cast", [x], { dtype });
}

/** `a && b` for bool `a` and `b`. */
export const logicalAnd = (a: Tensor, b: Tensor): Tensor =>
  bind("minimum", [a, b], null);

/** `cond ? a : b` elementwise. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return bind("where", [cond, ...pair(a, b)], null);
}

/** Sum over `axes` (removed); the identity for no axes. */
export function sum(x: Tensor, axes: readonly number[]): Tensor {
  return axes.length === 0 ? x : bind("sum", [x], { axes });
}

/** `x` in `shape` (one entry may be -1); the identity for the same shape. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const hole = shape.indexOf(-1);
  if (hole >= 0) shape = fillHole(shape, hole, sizeOf(x.shape));
  return shapeEq(x.shape, shape) ? x : bind("reshape", [x], { shape });
}

// (Helpers, not closures in the callers: a closure there would make every
// call allocate a context.)
function fillHole(shape: readonly number[], hole: number, size: number) {
  const known = shape.reduce((p, d, i) => (i === hole ? p : p * d), 1);
  return shape.map((d, i) => (i === hole ? size / known : d));
}

/** `x` broadcast to `shape` (NumPy rules); the identity for the same shape. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return shapeEq(x.shape, shape) ? x : bind("broadcastTo", [x], { shape });
}

/** Reorders dims: dim i of the result is dim `perm[i]` of `x`. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  return perm.every((p, i) => p === i) ? x : bind("permute", [x], { perm });
}

/** Sums `x` over the dims along which `shape` was broadcast to `x.shape`. */
export function sumToShape(x: Tensor, shape: readonly number[]): Tensor {
  if (shapeEq(x.shape, shape)) return x;
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(x, axes), shape);
}

/** `length` entries of `x` from `start` along `axis`. */
export function narrow(
  x: Tensor,
  axis: number,
  start: number,
  length: number,
): Tensor {
  if (start === 0 && length === x.shape[axis]) return x;
  return bind("slice", [x], {
    start: x.shape.map((_, i) => (i === axis ? start : 0)),
    step: x.shape.map(() => 1),
    shape: x.shape.map((d, i) => (i === axis ? length : d)),
  });
}

/** The slice at `index` along `axis`, that axis removed. */
export function select(x: Tensor, axis: number, index: number): Tensor {
  return reshape(
    narrow(x, axis, index, 1),
    x.shape.filter((_, i) => i !== axis),
  );
}

/** Joins equal-shaped tensors along a new axis `axis`. */
export function stack(xs: readonly Tensor[], axis: number): Tensor {
  const parts = xs.map((x) => {
    const shape = [...x.shape];
    shape.splice(axis, 0, 1);
    return reshape(x, shape);
  });
  return parts.length === 1 ? parts[0] : bind("cat", parts, { axis });
}

/** A new tensor of `shape` filled with `value`. */
export function full(
  shape: readonly number[],
  value: number,
  dtype: DType,
): Tensor {
  return Tensor._fromStorage(fill(dtype, sizeOf(shape), value), shape, dtype);
}

/** Zeros of an abstract value. */
export function zerosOf(aval: Aval): Tensor {
  return full(aval.shape, 0, aval.dtype);
}

/** A tangent that may be symbolically zero (null), made concrete. */
export function instantiate(t: Tensor | null, aval: Aval): Tensor {
  return t ?? zerosOf(aval);
}

/** The n×n identity matrix. */
export function eye(n: number, dtype: DType): Tensor {
  const buf = new Float64Array(n * n);
  for (let i = 0; i < n; i++) buf[i * n + i] = 1;
  return Tensor._fromStorage(fromArray(dtype, buf), [n, n], dtype);
}

/** `op(a) @ op(b)` (batch dims equal, or one operand without). */
export function matmul(
  a: Tensor,
  b: Tensor,
  transA = false,
  transB = false,
): Tensor {
  return bind("matmul", [a, b], { transA, transB });
}

/** Swaps the last two dims (a copy). */
export function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.ndim - 2] = x.ndim - 1;
  perm[x.ndim - 1] = x.ndim - 2;
  return permute(x, perm);
}

/**
 * The n×n matrix with `below` under the diagonal, `diag` on it and `above`
 * over it: masks that pick or weight a triangle.
 */
export function triangleMask(
  n: number,
  below: number,
  diag: number,
  above: number,
  dtype: DType,
): Tensor {
  const buf = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      buf[i * n + j] = j < i ? below : j === i ? diag : above;
    }
  }
  return Tensor._fromStorage(fromArray(dtype, buf), [n, n], dtype);
}

/** `[0, 1, ..., n - 1]` as a tensor of `dtype`. */
export function iota(n: number, dtype: DType): Tensor {
  const buf = new Float64Array(n);
  for (let i = 0; i < n; i++) buf[i] = i;
  return Tensor._fromStorage(fromArray(dtype, buf), [n], dtype);
}

/**
 * The permutation matrices `[..., n, n]` of float permutation vectors
 * `perm [..., n]`: P[i, j] = 1 where perm[i] = j, so P X = X[perm].
 */
export function permutationMatrix(perm: Tensor): Tensor {
  const n = perm.shape[perm.ndim - 1];
  const col = reshape(perm, [...perm.shape, 1]);
  return asDtype(eq(col, iota(n, perm.dtype)), perm.dtype);
}
