/**
 * Creating tensors: from data, filled, ranges, identity, and seeded random.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import * as K from "../backend/kernels.ts";
import { fromArray } from "../backend/storage.ts";
import { fmtShape, type Shape, sizeOf } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { describe } from "./scalar.ts";

/** Options accepted by every creation function. */
export interface DTypeOptions {
  /** Element type; float32 by default. */
  dtype?: DType;
}

/** Nested arrays of numbers, any depth. */
export type NestedArray = number | readonly NestedArray[];

function checkShape(what: string, shape: Shape): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      `${what}: shape must be an array of sizes, got ${describe(shape)}`,
    );
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${what}: invalid size ${d} in shape ${fmtShape(shape)}`,
      );
    }
  }
  return [...shape];
}

function checkDtype(what: string, dtype: unknown): DType {
  if (dtype !== "float32" && dtype !== "float64" && dtype !== "int32") {
    throw new TypeError(
      `${what}: unknown dtype ${
        describe(dtype)
      }; expected "float32", "float64" or "int32"`,
    );
  }
  return dtype;
}

function inferShape(data: NestedArray, path = "data"): number[] {
  if (typeof data === "number") return [];
  if (!Array.isArray(data)) {
    throw new TypeError(
      `tensor: ${path} is ${describe(data)}, expected a number or an array`,
    );
  }
  if (data.length === 0) return [0];
  return [data.length, ...inferShape(data[0], `${path}[0]`)];
}

function flattenInto(
  data: NestedArray,
  shape: number[],
  depth: number,
  out: number[],
  path: string,
): void {
  if (depth === shape.length) {
    if (typeof data !== "number") {
      throw new TypeError(
        `tensor: ${path} is ${
          describe(data)
        }, expected a number (the nested arrays are not rectangular)`,
      );
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new RangeError(
      `tensor: ${path} has ${
        Array.isArray(data) ? `length ${data.length}` : describe(data)
      } but length ${
        shape[depth]
      } was expected (the nested arrays are not rectangular)`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    flattenInto(data[i], shape, depth + 1, out, `${path}[${i}]`);
  }
}

/**
 * A tensor from nested arrays, a typed array (1-D) or a number.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);           // float32, shape [2, 2]
 * const y = tensor([1, 2], { dtype: "float64" });
 * ```
 */
export function tensor(
  data: NestedArray | Float32Array | Float64Array | Int32Array,
  options: DTypeOptions = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const dtype = checkDtype(
      "tensor",
      options.dtype ??
        (data instanceof Float64Array
          ? "float64"
          : data instanceof Int32Array
          ? "int32"
          : "float32"),
    );
    const arr = data as Float32Array;
    return Tensor._fromStorage(fromArray(dtype, arr), [arr.length], dtype);
  }
  const dtype = checkDtype("tensor", options.dtype ?? "float32");
  const shape = inferShape(data);
  const flat: number[] = [];
  flattenInto(data, shape, 0, flat, "data");
  return Tensor._fromStorage(fromArray(dtype, flat), shape, dtype);
}

/** A tensor of `shape` filled with `value`. */
export function full(
  shape: Shape,
  value: number,
  options: DTypeOptions = {},
): Tensor {
  const s = checkShape("full", shape);
  const dtype = checkDtype("full", options.dtype ?? "float32");
  if (typeof value !== "number") {
    throw new TypeError(`full: value must be a number, got ${describe(value)}`);
  }
  return Tensor._fromStorage(K.fill(dtype, sizeOf(s), value), s, dtype);
}

export const zeros = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  full(shape, 0, options);
export const ones = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  full(shape, 1, options);
export const zerosLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  full(x.shape, 0, { dtype: options.dtype ?? x.dtype });
export const onesLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  full(x.shape, 1, { dtype: options.dtype ?? x.dtype });
export const fullLike = (
  x: Tensor,
  value: number,
  options: DTypeOptions = {},
): Tensor => full(x.shape, value, { dtype: options.dtype ?? x.dtype });

/** The n×m identity matrix (m defaults to n). */
export function eye(
  n: number,
  m: number | DTypeOptions = n,
  options: DTypeOptions = {},
): Tensor {
  if (typeof m === "object") [m, options] = [n, m];
  const s = checkShape("eye", [n, m]);
  const dtype = checkDtype("eye", options.dtype ?? "float32");
  const buf = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) buf[i * m + i] = 1;
  return Tensor._fromStorage(fromArray(dtype, buf), s, dtype);
}

/** Values from `start` to `end` (exclusive) by `step`; `arange(n)` is 0..n-1. */
export function arange(
  start: number,
  end?: number,
  step = 1,
  options: DTypeOptions = {},
): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(
      `arange: step must be finite and nonzero, got ${step}`,
    );
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = checkDtype("arange", options.dtype ?? "float32");
  const buf = new Float64Array(n);
  for (let i = 0; i < n; i++) buf[i] = start + i * step;
  return Tensor._fromStorage(fromArray(dtype, buf), [n], dtype);
}

/** `steps` evenly spaced values from `start` to `end` inclusive. */
export function linspace(
  start: number,
  end: number,
  steps: number,
  options: DTypeOptions = {},
): Tensor {
  checkShape("linspace", [steps]);
  const dtype = checkDtype("linspace", options.dtype ?? "float32");
  const buf = new Float64Array(steps);
  const h = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) {
    buf[i] = i === steps - 1 && steps > 1 ? end : start + i * h;
  }
  return Tensor._fromStorage(fromArray(dtype, buf), [steps], dtype);
}

// Counter-based generator state: element i of a draw uses (seed, counter + i).
let seed = 0x5eed;
let counter = 0;

/** Seeds the global generator (as `torch.manual_seed`). */
export function manualSeed(s: number): void {
  if (!Number.isInteger(s)) {
    throw new TypeError(`manualSeed: seed must be an integer, got ${s}`);
  }
  seed = s >>> 0;
  counter = 0;
}

function draw(
  what: string,
  normal: boolean,
  shape: Shape,
  options: DTypeOptions,
): Tensor {
  const s = checkShape(what, shape);
  const dtype = checkDtype(what, options.dtype ?? "float32");
  if (dtype === "int32") {
    throw new TypeError(`${what}: dtype must be float32 or float64`);
  }
  const n = sizeOf(s);
  const st = normal
    ? K.randomNormal(dtype, n, seed, counter)
    : K.randomUniform(dtype, n, seed, counter);
  counter += n;
  return Tensor._fromStorage(st, s, dtype);
}

/** Standard normal samples from the seeded generator. */
export const randn = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  draw("randn", true, shape, options);
/** Uniform samples in [0, 1) from the seeded generator. */
export const rand = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  draw("rand", false, shape, options);
export const randnLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  randn(x.shape, { dtype: options.dtype ?? x.dtype });
export const randLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  rand(x.shape, { dtype: options.dtype ?? x.dtype });
