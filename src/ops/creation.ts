/**
 * Creating tensors: from data, filled, ranges, identity, and seeded random.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import * as K from "../backend/kernels.ts";
import {
  allocate,
  fromArray,
  heapView,
  type Storage,
} from "../backend/storage.ts";
import { BYTES_PER_ELEMENT } from "../backend/dtype.ts";
import { fmtShape, type Shape, sizeOf } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { getDefaultDtype } from "../core/dtypes.ts";
import { checkInt32, describe } from "./scalar.ts";

/**
 * Options accepted by every creation function.
 *
 * @example
 * ```ts
 * import { zeros } from "./mod.ts";
 * const x = zeros([2, 3], { dtype: "float64" });
 * ```
 */
export interface DTypeOptions {
  /** Element type; the default dtype (float32 unless `setDefaultDtype`) when omitted. */
  dtype?: DType;
}

/**
 * Nested arrays of numbers, any depth.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const m = tensor([[1, 2], [3, 4]]); // shape [2, 2]
 * ```
 */
export type NestedArray = number | boolean | readonly NestedArray[];

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
  if (dtype === undefined) return getDefaultDtype();
  if (
    dtype !== "float32" && dtype !== "float64" && dtype !== "int32" &&
    dtype !== "bool"
  ) {
    throw new TypeError(
      `${what}: unknown dtype ${
        describe(dtype)
      }; expected "float32", "float64", "int32" or "bool"`,
    );
  }
  return dtype;
}

/** Values as a bool tensor stores them: 1 for nonzero (NaN too), else 0. */
function toBits(flat: ArrayLike<number>): Int32Array {
  const out = new Int32Array(flat.length);
  for (let i = 0; i < flat.length; i++) out[i] = flat[i] !== 0 ? 1 : 0;
  return out;
}

function inferShape(data: NestedArray, path = "data"): number[] {
  if (typeof data === "number" || typeof data === "boolean") return [];
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
  out: (number | boolean)[],
  path: string,
): void {
  if (depth === shape.length) {
    if (typeof data !== "number" && typeof data !== "boolean") {
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

/** Every value must be an int32; the first that is not is named by its index. */
function checkInt32Values(flat: ArrayLike<number>, shape: number[]): void {
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) continue;
    let rest = i, path = "";
    for (let d = shape.length - 1; d >= 0; d--) {
      path = `[${rest % shape[d]}]${path}`;
      rest = Math.floor(rest / shape[d]);
    }
    checkInt32("tensor", v, `data${path} = ${v}`);
  }
}

/**
 * A tensor from nested arrays, a typed array (1-D) or a number, in the
 * default dtype (float32 unless `setDefaultDtype`) when no `dtype` is given;
 * nested booleans make a bool tensor.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);           // float32, shape [2, 2]
 * const y = tensor([1, 2], { dtype: "float64" });
 * const m = tensor([true, false]);              // bool
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
    let arr = data as Float32Array | Int32Array;
    if (dtype === "int32" && !(data instanceof Int32Array)) {
      checkInt32Values(arr, [arr.length]);
    }
    if (dtype === "bool") arr = toBits(arr);
    return Tensor._fromStorage(fromArray(dtype, arr), [arr.length], dtype);
  }
  const shape = inferShape(data);
  const raw: (number | boolean)[] = [];
  flattenInto(data, shape, 0, raw, "data");
  // Booleans make a bool tensor unless a dtype is given.
  const dtype = checkDtype(
    "tensor",
    options.dtype ?? (typeof raw[0] === "boolean" ? "bool" : undefined),
  );
  const flat = raw.map(Number);
  if (dtype === "int32") checkInt32Values(flat, shape);
  const values = dtype === "bool" ? toBits(flat) : flat;
  return Tensor._fromStorage(fromArray(dtype, values, shape), shape, dtype);
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * import { full } from "./mod.ts";
 * const x = full([2, 3], 7); // a 2×3 tensor of 7s
 * ```
 */
export function full(
  shape: Shape,
  value: number,
  options: DTypeOptions = {},
): Tensor {
  const s = checkShape("full", shape);
  const dtype = checkDtype("full", options.dtype);
  if (typeof value !== "number") {
    throw new TypeError(`full: value must be a number, got ${describe(value)}`);
  }
  if (dtype === "int32") checkInt32("full", value, `value ${value}`);
  if (dtype === "bool") value = value !== 0 ? 1 : 0;
  return Tensor._fromStorage(K.fill(dtype, sizeOf(s), value, s), s, dtype);
}

/**
 * A tensor of `shape` filled with 0.
 *
 * @example
 * ```ts
 * import { zeros } from "./mod.ts";
 * const z = zeros([3]); // tensor([0., 0., 0.])
 * ```
 */
export const zeros = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  full(shape, 0, options);
/**
 * A tensor of `shape` filled with 1.
 *
 * @example
 * ```ts
 * import { ones } from "./mod.ts";
 * const o = ones([2, 2], { dtype: "float64" });
 * ```
 */
export const ones = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  full(shape, 1, options);
/**
 * Zeros with the shape (and, unless given, the dtype) of `x`.
 *
 * @example
 * ```ts
 * import { randn, zerosLike } from "./mod.ts";
 * const z = zerosLike(randn([2, 3])); // shape [2, 3]
 * ```
 */
export const zerosLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  full(x.shape, 0, { dtype: options.dtype ?? x.dtype });
/**
 * Ones with the shape (and, unless given, the dtype) of `x`.
 *
 * @example
 * ```ts
 * import { onesLike, randn } from "./mod.ts";
 * const o = onesLike(randn([4])); // tensor([1., 1., 1., 1.])
 * ```
 */
export const onesLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  full(x.shape, 1, { dtype: options.dtype ?? x.dtype });
/**
 * `value` everywhere, with the shape (and, unless given, the dtype) of `x`.
 *
 * @example
 * ```ts
 * import { fullLike, randn } from "./mod.ts";
 * const h = fullLike(randn([2]), 0.5); // tensor([0.5, 0.5])
 * ```
 */
export const fullLike = (
  x: Tensor,
  value: number,
  options: DTypeOptions = {},
): Tensor => full(x.shape, value, { dtype: options.dtype ?? x.dtype });

/**
 * The n×m identity matrix (m defaults to n).
 *
 * @example
 * ```ts
 * import { eye } from "./mod.ts";
 * const I = eye(3); // 3×3 identity
 * const R = eye(2, 3, { dtype: "float64" }); // 2×3, ones on the diagonal
 * ```
 */
export function eye(
  n: number,
  m: number | DTypeOptions = n,
  options: DTypeOptions = {},
): Tensor {
  if (typeof m === "object") [m, options] = [n, m];
  const s = checkShape("eye", [n, m]);
  const dtype = checkDtype("eye", options.dtype);
  const { view, at, storage } = filled(dtype, n * m);
  view.fill(0, at, at + n * m);
  for (let i = 0; i < Math.min(n, m); i++) view[at + i * m + i] = 1;
  return Tensor._fromStorage(storage, s, dtype);
}

/** `n` values of `view` from `at` as a bool tensor stores them (see toBits). */
function asBits(
  view: ArrayLike<number> & { [i: number]: number },
  at: number,
  n: number,
) {
  for (let i = at; i < at + n; i++) view[i] = view[i] !== 0 ? 1 : 0;
}

/**
 * A storage of `n` elements of `dtype` to be written through `view` from
 * index `at`: allocated before any value is computed, so that a size too
 * large fails at once (not after filling gigabytes in JavaScript).
 */
function filled(dtype: DType, n: number) {
  const storage: Storage = allocate(dtype, n);
  return {
    storage,
    view: heapView(dtype),
    at: storage.ptr / BYTES_PER_ELEMENT[dtype],
  };
}

/**
 * Values from `start` to `end` (exclusive) by `step`; `arange(n)` is 0..n-1.
 *
 * @example
 * ```ts
 * import { arange } from "./mod.ts";
 * const a = arange(4); // tensor([0., 1., 2., 3.])
 * const b = arange(1, 2, 0.25); // tensor([1., 1.25, 1.5, 1.75])
 * ```
 */
export function arange(
  start: number,
  end?: number,
  step = 1,
  options: DTypeOptions = {},
): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new RangeError(
      `arange: start and end must be finite numbers, got ${start} and ${end}`,
    );
  }
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(
      `arange: step must be finite and nonzero, got ${step}`,
    );
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = checkDtype("arange", options.dtype);
  const { view, at, storage } = filled(dtype, n);
  for (let i = 0; i < n; i++) view[at + i] = start + i * step;
  if (dtype === "bool") asBits(view, at, n);
  return Tensor._fromStorage(storage, [n], dtype);
}

/**
 * `steps` evenly spaced values from `start` to `end` inclusive.
 *
 * @example
 * ```ts
 * import { linspace } from "./mod.ts";
 * const t = linspace(0, 1, 5); // tensor([0., 0.25, 0.5, 0.75, 1.])
 * ```
 */
export function linspace(
  start: number,
  end: number,
  steps: number,
  options: DTypeOptions = {},
): Tensor {
  checkShape("linspace", [steps]);
  const dtype = checkDtype("linspace", options.dtype);
  const { view, at, storage } = filled(dtype, steps);
  const h = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) {
    view[at + i] = i === steps - 1 && steps > 1 ? end : start + i * h;
  }
  if (dtype === "bool") asBits(view, at, steps);
  return Tensor._fromStorage(storage, [steps], dtype);
}

// Counter-based generator state: element i of a draw uses (seed, counter + i).
let seed = 0x5eed;
let counter = 0;

/**
 * Seeds the global generator (as `torch.manual_seed`).
 *
 * @example
 * ```ts
 * import { manualSeed, randn } from "./mod.ts";
 * manualSeed(0);
 * const a = randn([3]);
 * manualSeed(0);
 * const b = randn([3]); // the same values as a
 * ```
 */
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
  const dtype = checkDtype(what, options.dtype);
  if (dtype === "int32" || dtype === "bool") {
    throw new TypeError(
      `${what}: dtype must be float32 or float64, got ${dtype}`,
    );
  }
  const n = sizeOf(s);
  const st = normal
    ? K.randomNormal(dtype, n, seed, counter, s)
    : K.randomUniform(dtype, n, seed, counter, s);
  counter += n;
  return Tensor._fromStorage(st, s, dtype);
}

/**
 * Standard normal samples from the seeded generator.
 *
 * @example
 * ```ts
 * import { manualSeed, randn } from "./mod.ts";
 * manualSeed(42);
 * const w = randn([16, 16]); // N(0, 1) entries, float32
 * const v = randn([4], { dtype: "float64" });
 * ```
 */
export const randn = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  draw("randn", true, shape, options);
/**
 * Uniform samples in [0, 1) from the seeded generator.
 *
 * @example
 * ```ts
 * import { rand } from "./mod.ts";
 * const u = rand([2, 2]); // entries in [0, 1)
 * ```
 */
export const rand = (shape: Shape, options: DTypeOptions = {}): Tensor =>
  draw("rand", false, shape, options);
/**
 * Standard normal samples with the shape (and, unless given, the dtype) of `x`.
 *
 * @example
 * ```ts
 * import { randnLike, zeros } from "./mod.ts";
 * const noise = randnLike(zeros([3, 3]));
 * ```
 */
export const randnLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  randn(x.shape, { dtype: options.dtype ?? x.dtype });
/**
 * Uniform samples in [0, 1) with the shape (and, unless given, the dtype) of `x`.
 *
 * @example
 * ```ts
 * import { randLike, zeros } from "./mod.ts";
 * const u = randLike(zeros([5]));
 * ```
 */
export const randLike = (x: Tensor, options: DTypeOptions = {}): Tensor =>
  rand(x.shape, { dtype: options.dtype ?? x.dtype });
