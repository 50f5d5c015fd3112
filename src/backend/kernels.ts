/**
 * TypeScript face of the WebAssembly kernels.
 *
 * Every function returns a NEW contiguous row-major {@link Storage} (except
 * {@link copyInto}). Shapes and strides go to the kernels through one
 * persistent i32 scratch area in linear memory; tensors are never copied
 * across the boundary. Shape validation for users happens in the Tensor
 * layer; here we only guard against disposed storages and dtype mismatches
 * so that nothing ever reaches the kernels as a trap.
 * @module
 */
import { BYTES_PER_ELEMENT, type DType, DTYPE_CODE } from "./dtype.ts";
import { allocate, heapI32, outOfMemoryError, Storage } from "./storage.ts";
import { wasm } from "./wasm.ts";

export type UnaryOp =
  | "neg"
  | "abs"
  | "exp"
  | "log"
  | "sqrt"
  | "sin"
  | "cos"
  | "tan"
  | "tanh"
  | "sigmoid"
  | "relu"
  | "square"
  | "reciprocal"
  | "sign";
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge";
export type ReduceOp = "sum" | "prod" | "max" | "min";

const UNARY: Record<UnaryOp, number> = {
  neg: 0,
  abs: 1,
  exp: 2,
  log: 3,
  sqrt: 4,
  sin: 5,
  cos: 6,
  tan: 7,
  tanh: 8,
  sigmoid: 9,
  relu: 10,
  square: 11,
  reciprocal: 12,
  sign: 13,
};
const BINARY: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  eq: 7,
  ne: 8,
  lt: 9,
  le: 10,
  gt: 11,
  ge: 12,
};
const REDUCE: Record<ReduceOp, number> = { sum: 0, prod: 1, max: 2, min: 3 };

/** Maximum rank of the strided kernels (crates/kernels/src/nd.rs). */
export const MAX_RANK = 32;
const SCRATCH_INTS = 4 * MAX_RANK + 16;
const scratchPtr = wasm.alloc(SCRATCH_INTS * 4) >>> 0;

/** The scratch area as an i32 view index (fresh after memory growth). */
function meta(): [Int32Array, number] {
  return [heapI32(), scratchPtr >>> 2];
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

function live(s: Storage, what: string): number {
  if (!(s instanceof Storage)) {
    throw new TypeError(`${what}: expected a Storage, got ${typeof s}`);
  }
  if (s.disposed) throw new Error(`${what}: tensor was disposed`);
  return s.ptr;
}

function checkRank(rank: number, what: string): void {
  if (rank > MAX_RANK) {
    throw new RangeError(
      `${what}: rank ${rank} exceeds the maximum of ${MAX_RANK}`,
    );
  }
}

function sameDtype(what: string, ...xs: Storage[]): DType {
  const d = xs[0].dtype;
  for (const x of xs) {
    if (x.dtype !== d) {
      throw new TypeError(
        `${what}: dtype mismatch (${xs.map((s) => s.dtype).join(" vs ")})`,
      );
    }
  }
  return d;
}

function isFloat(d: DType): d is "float32" | "float64" {
  return d === "float32" || d === "float64";
}

/** Writes broadcast strides of `shape` (right-aligned to `out`) at `at`. */
function writeBroadcastStrides(
  m: Int32Array,
  at: number,
  shape: readonly number[],
  out: readonly number[],
): void {
  const r = out.length;
  const off = r - shape.length;
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    const sd = d - off;
    if (sd < 0 || shape[sd] === 1) {
      m[at + d] = 0;
    } else {
      m[at + d] = acc;
      acc *= shape[sd];
    }
  }
}

/** Elementwise unary op (float32/float64). */
export function unary(op: UnaryOp, x: Storage): Storage {
  const xp = live(x, `unary(${op})`);
  if (!isFloat(x.dtype)) {
    throw new TypeError(
      `unary(${op}) needs float32 or float64, got ${x.dtype}`,
    );
  }
  const out = allocate(x.dtype, x.length);
  if (x.length > 0) {
    (x.dtype === "float32" ? wasm.unary_f32 : wasm.unary_f64)(
      UNARY[op],
      xp,
      out.ptr,
      x.length,
    );
  }
  return out;
}

/** Runs a float-only kernel on int32 operands through float64. */
function viaFloat64(
  xs: Storage[],
  f: (ys: Storage[]) => Storage,
): Storage {
  const ys = xs.map((s) => cast(s, "float64"));
  const r = f(ys);
  const out = cast(r, "int32");
  for (const y of ys) y.dispose();
  r.dispose();
  return out;
}

/**
 * Broadcasting binary op. Comparisons give 1/0 in the operands' dtype;
 * maximum/minimum propagate NaN.
 */
export function binary(
  op: BinaryOp,
  a: Storage,
  aShape: readonly number[],
  b: Storage,
  bShape: readonly number[],
  outShape: readonly number[],
): Storage {
  const what = `binary(${op})`;
  const ap = live(a, what), bp = live(b, what);
  const dtype = sameDtype(what, a, b);
  if (!isFloat(dtype)) {
    return viaFloat64(
      [a, b],
      ([x, y]) => binary(op, x, aShape, y, bShape, outShape),
    );
  }
  const n = size(outShape);
  const out = allocate(dtype, n, outShape);
  if (n === 0) return out;
  const f = dtype === "float32" ? wasm.binary_f32 : wasm.binary_f64;
  const [m, at] = meta();
  const an = a.length, bn = b.length;
  if ((an === n || an === 1) && (bn === n || bn === 1)) {
    // Same-shape contiguous and scalar-operand fast paths: one flat row.
    m[at] = n;
    m[at + 1] = an === n ? 1 : 0;
    m[at + 2] = bn === n ? 1 : 0;
    f(BINARY[op], ap, bp, out.ptr, 1, scratchPtr);
    return out;
  }
  const r = outShape.length;
  checkRank(r, what);
  for (let d = 0; d < r; d++) m[at + d] = outShape[d];
  writeBroadcastStrides(m, at + r, aShape, outShape);
  writeBroadcastStrides(m, at + 2 * r, bShape, outShape);
  f(BINARY[op], ap, bp, out.ptr, r, scratchPtr);
  return out;
}

/** `cond != 0 ? a : b`, all three broadcast to `outShape`. */
export function where(
  cond: Storage,
  condShape: readonly number[],
  a: Storage,
  aShape: readonly number[],
  b: Storage,
  bShape: readonly number[],
  outShape: readonly number[],
): Storage {
  live(cond, "where");
  live(a, "where");
  live(b, "where");
  const dtype = sameDtype("where", a, b);
  // int32 values move bit-exactly through the f32 kernel (loads/stores only).
  const kd = dtype === "float64" ? "float64" : "float32";
  const c = cond.dtype === kd ? cond : cast(cond, kd);
  const n = size(outShape);
  const out = allocate(dtype, n, outShape);
  if (n > 0) {
    const r = outShape.length;
    checkRank(r, "where");
    const [m, at] = meta();
    for (let d = 0; d < r; d++) m[at + d] = outShape[d];
    writeBroadcastStrides(m, at + r, condShape, outShape);
    writeBroadcastStrides(m, at + 2 * r, aShape, outShape);
    writeBroadcastStrides(m, at + 3 * r, bShape, outShape);
    (kd === "float32" ? wasm.where_f32 : wasm.where_f64)(
      c.ptr,
      a.ptr,
      b.ptr,
      out.ptr,
      r,
      scratchPtr,
    );
  }
  if (c !== cond) c.dispose();
  return out;
}

/**
 * Reduces over `axes` (sorted, unique); the result has those axes removed.
 * Empty extents give the identity: sum 0, prod 1, max -inf, min +inf.
 */
export function reduce(
  op: ReduceOp,
  x: Storage,
  shape: readonly number[],
  axes: readonly number[],
): Storage {
  const what = `reduce(${op})`;
  const xp = live(x, what);
  if (!isFloat(x.dtype)) {
    return viaFloat64([x], ([y]) => reduce(op, y, shape, axes));
  }
  const r = shape.length;
  checkRank(r, what);
  const isRed = new Array<boolean>(r).fill(false);
  for (const a of axes) isRed[a] = true;
  let nout = 1;
  for (let d = 0; d < r; d++) if (!isRed[d]) nout *= shape[d];
  // Never larger than x, so only running out of memory can fail here.
  const out = allocate(x.dtype, nout);
  if (nout === 0) return out;
  const [m, at] = meta();
  // kept dims first, then reduced dims; strides of contiguous x.
  let acc = 1;
  const strides = new Array<number>(r);
  for (let d = r - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= shape[d];
  }
  let k = 0;
  for (let d = 0; d < r; d++) {
    if (!isRed[d]) {
      m[at + k] = shape[d];
      m[at + r + k] = strides[d];
      k++;
    }
  }
  for (let d = 0; d < r; d++) {
    if (isRed[d]) {
      m[at + k] = shape[d];
      m[at + r + k] = strides[d];
      k++;
    }
  }
  (x.dtype === "float32" ? wasm.reduce_f32 : wasm.reduce_f64)(
    REDUCE[op],
    xp,
    out.ptr,
    r,
    axes.length,
    scratchPtr,
  );
  return out;
}

function splitAxis(
  shape: readonly number[],
  axis: number,
): [number, number, number] {
  let outer = 1, inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return [outer, shape.length === 0 ? 1 : shape[axis], inner];
}

/** argmax/argmin along `axis` (int32, first occurrence, axis removed). */
export function argReduce(
  op: "argmax" | "argmin",
  x: Storage,
  shape: readonly number[],
  axis: number,
): Storage {
  const xp = live(x, op);
  if (!isFloat(x.dtype)) {
    const y = cast(x, "float64");
    const r = argReduce(op, y, shape, axis);
    y.dispose();
    return r;
  }
  const [outer, len, inner] = splitAxis(shape, axis);
  const out = allocate("int32", outer * inner); // never larger than x
  const st = (x.dtype === "float32" ? wasm.argreduce_f32 : wasm.argreduce_f64)(
    op === "argmax" ? 1 : 0,
    xp,
    out.ptr,
    outer,
    len,
    inner,
  );
  if (st === 2) {
    // The strided kernel could not allocate its row of running bests.
    out.dispose();
    throw outOfMemoryError(`the ${inner}-element scratch row of ${op}`);
  }
  if (st !== 0) {
    out.dispose();
    throw new RangeError(
      `${op}: cannot reduce over dimension ${axis} of size 0 (shape [${shape}])`,
    );
  }
  return out;
}

/**
 * `out[i] = x[offset + Σ i_d * strides_d]` (strides in elements, may be 0
 * or negative); any dtype.
 */
export function copyStrided(
  x: Storage,
  offset: number,
  outShape: readonly number[],
  strides: readonly number[],
): Storage {
  const xp = live(x, "copyStrided");
  const n = size(outShape);
  const out = allocate(x.dtype, n, outShape);
  if (n === 0) return out;
  const r = outShape.length;
  checkRank(r, "copyStrided");
  const [m, at] = meta();
  for (let d = 0; d < r; d++) {
    m[at + d] = outShape[d];
    m[at + r + d] = strides[d];
  }
  const w = BYTES_PER_ELEMENT[x.dtype];
  (w === 4 ? wasm.copy_strided_4 : wasm.copy_strided_8)(
    xp + offset * w,
    out.ptr,
    r,
    scratchPtr,
  );
  return out;
}

/** `dst[dstOffset + Σ i_d * dstStrides_d] = src[i]` (src contiguous). */
export function copyInto(
  src: Storage,
  shape: readonly number[],
  dst: Storage,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const sp = live(src, "copyInto"), dp = live(dst, "copyInto");
  sameDtype("copyInto", src, dst);
  const n = size(shape);
  if (n === 0) return;
  const r = shape.length;
  checkRank(r, "copyInto");
  const [m, at] = meta();
  for (let d = 0; d < r; d++) {
    m[at + d] = shape[d];
    m[at + r + d] = dstStrides[d];
  }
  const w = BYTES_PER_ELEMENT[src.dtype];
  (w === 4 ? wasm.copy_into_4 : wasm.copy_into_8)(
    sp,
    dp + dstOffset * w,
    r,
    scratchPtr,
  );
}

/**
 * A new storage of `length` copies of `value` (`shape`, when given, is
 * named by a size error).
 */
export function fill(
  dtype: DType,
  length: number,
  value: number,
  shape?: readonly number[],
): Storage {
  const out = allocate(dtype, length, shape);
  if (length === 0) return out;
  if (dtype === "float32") wasm.fill_f32(out.ptr, length, value);
  else if (dtype === "float64") wasm.fill_f64(out.ptr, length, value);
  else wasm.fill_i32(out.ptr, length, Math.trunc(value) | 0);
  return out;
}

/** Converts to `dtype` (float → int truncates toward zero). */
export function cast(x: Storage, dtype: DType): Storage {
  const xp = live(x, "cast");
  const out = allocate(dtype, x.length);
  if (x.length > 0) {
    wasm.cast(xp, DTYPE_CODE[x.dtype], out.ptr, DTYPE_CODE[dtype], x.length);
  }
  return out;
}

function indexError(
  what: string,
  index: Storage,
  pos: number,
  axis: number,
  dim: number,
): never {
  const v = heapI32()[(index.ptr >>> 2) + pos];
  throw new RangeError(
    `${what}: index ${v} (at position ${pos}) is out of range for dimension ${axis} with size ${dim}`,
  );
}

function checkIndex(what: string, index: Storage): number {
  const p = live(index, what);
  if (index.dtype !== "int32") {
    throw new TypeError(`${what}: index must be int32, got ${index.dtype}`);
  }
  return p;
}

/** Gathers `index` entries along `axis`. */
export function indexSelect(
  x: Storage,
  shape: readonly number[],
  axis: number,
  index: Storage,
): Storage {
  const xp = live(x, "indexSelect");
  const ip = checkIndex("indexSelect", index);
  const [outer, dim, inner] = splitAxis(shape, axis);
  const nidx = index.length;
  const out = allocate(
    x.dtype,
    outer * nidx * inner,
    shape.map((d, i) => i === axis ? nidx : d),
  );
  const w = BYTES_PER_ELEMENT[x.dtype];
  const st = (w === 4 ? wasm.index_select_4 : wasm.index_select_8)(
    xp,
    out.ptr,
    outer,
    dim,
    inner,
    ip,
    nidx,
  );
  if (st >= 0) {
    out.dispose();
    indexError("indexSelect", index, st, axis, dim);
  }
  return out;
}

/** `zeros(outShape)`, then `out[..., index[j], ...] += src[..., j, ...]`. */
export function indexAdd(
  outShape: readonly number[],
  axis: number,
  index: Storage,
  src: Storage,
): Storage {
  const sp = live(src, "indexAdd");
  const ip = checkIndex("indexAdd", index);
  const [outer, dim, inner] = splitAxis(outShape, axis);
  const out = allocate(src.dtype, outer * dim * inner, outShape);
  const f = src.dtype === "float32"
    ? wasm.index_add_f32
    : src.dtype === "float64"
    ? wasm.index_add_f64
    : wasm.index_add_i32;
  const st = f(sp, out.ptr, outer, dim, inner, ip, index.length);
  if (st >= 0) {
    out.dispose();
    indexError("indexAdd", index, st, axis, dim);
  }
  return out;
}

/**
 * Batched matmul: `C[bi] = op(A[bi]) @ op(B[bi])`, result `[batch, m, n]`.
 * A[bi] starts at element `bi * aBatchStride` and is m×k row-major (k×m if
 * `transA`); B likewise k×n (n×k if `transB`). Batch strides of 0 broadcast.
 */
export function matmul(
  a: Storage,
  b: Storage,
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  aBatchStride: number,
  bBatchStride: number,
): Storage {
  const ap = live(a, "matmul"), bp = live(b, "matmul");
  const dtype = sameDtype("matmul", a, b);
  if (!isFloat(dtype)) {
    return viaFloat64(
      [a, b],
      ([x, y]) =>
        matmul(
          x,
          y,
          batch,
          m,
          n,
          k,
          transA,
          transB,
          aBatchStride,
          bBatchStride,
        ),
    );
  }
  const out = allocate(dtype, batch * m * n, [batch, m, n]);
  if (batch * m * n === 0) return out;
  const st = (dtype === "float32" ? wasm.matmul_f32 : wasm.matmul_f64)(
    ap,
    bp,
    out.ptr,
    batch,
    m,
    n,
    k,
    transA ? 1 : 0,
    transB ? 1 : 0,
    aBatchStride,
    bBatchStride,
  );
  if (st !== 0) {
    // The kernel could not allocate its packing buffers (a few MiB).
    out.dispose();
    throw outOfMemoryError(
      `the packing buffers of a ${dtype} matmul (batch ${batch}, ${m}×${k} @ ${k}×${n})`,
    );
  }
  return out;
}

const TWO32 = 4294967296;

function split64(x: number, what: string): [number, number] {
  if (!Number.isSafeInteger(x) || x < 0) {
    throw new RangeError(
      `${what} must be a non-negative safe integer, got ${x}`,
    );
  }
  return [x % TWO32, Math.floor(x / TWO32)];
}

function random(
  normal: boolean,
  dtype: "float32" | "float64",
  length: number,
  seed: number,
  counter: number,
  shape?: readonly number[],
): Storage {
  const [sl, sh] = split64(seed, "seed");
  const [cl, ch] = split64(counter, "counter");
  const out = allocate(dtype, length, shape);
  if (length === 0) return out;
  const f = normal
    ? (dtype === "float32" ? wasm.random_normal_f32 : wasm.random_normal_f64)
    : (dtype === "float32" ? wasm.random_uniform_f32 : wasm.random_uniform_f64);
  f(out.ptr, length, sl, sh, cl, ch);
  return out;
}

/** Uniform [0, 1); element i is a function of (seed, counter + i) only. */
export function randomUniform(
  dtype: "float32" | "float64",
  length: number,
  seed: number,
  counter: number,
  shape?: readonly number[],
): Storage {
  return random(false, dtype, length, seed, counter, shape);
}

/** Standard normal; element i is a function of (seed, counter + i) only. */
export function randomNormal(
  dtype: "float32" | "float64",
  length: number,
  seed: number,
  counter: number,
  shape?: readonly number[],
): Storage {
  return random(true, dtype, length, seed, counter, shape);
}
