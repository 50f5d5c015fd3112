/**
 * TypeScript face of the kernels used outside the primitives: creation
 * (fill, random), cast, and a strided copy (clone). Primitives reach the
 * kernels through their lowering (src/core/lowering.ts) and the executor.
 *
 * Every function returns a NEW contiguous row-major {@link Storage}. Shapes
 * and strides go to the kernels through one persistent i32 scratch area in
 * linear memory; tensors are never copied across the boundary. Here we only
 * guard against disposed storages so that nothing reaches a kernel as a trap.
 * @module
 */
import { BYTES_PER_ELEMENT, type DType, DTYPE_CODE } from "./dtype.ts";
import { allocate, heapI32, Storage } from "./storage.ts";
import { wasm } from "./wasm.ts";

import { MAX_RANK } from "./wasm/program_codes.ts";

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
  if (s.disposed) {
    throw new Error(`${what}: ${s._deadMessage ?? "tensor was disposed"}`);
  }
  return s.ptr;
}

function checkRank(rank: number, what: string): void {
  if (rank > MAX_RANK) {
    throw new RangeError(
      `${what}: rank ${rank} exceeds the maximum of ${MAX_RANK}`,
    );
  }
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
