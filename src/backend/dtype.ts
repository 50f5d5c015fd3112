/**
 * Element types a {@link Storage} can hold. `bool` is stored as an int32
 * buffer of 0 and 1 (so `data()` of a bool tensor is an `Int32Array`).
 *
 * @example
 * ```ts
 * import { DType, zeros } from "./mod.ts";
 * const dtype: DType = "float64";
 * const x = zeros([3], { dtype });
 * console.log(x.dtype, x.to("float32").dtype); // float64 float32
 * ```
 */
export type DType = "float32" | "float64" | "int32" | "bool";

/** Bytes per element of each dtype. */
export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  int32: 4,
  bool: 4,
};

/** The typed array that holds each dtype's elements. */
export type TypedArrayFor = Float32Array | Float64Array | Int32Array;

/** Dtype codes used by the kernels' `cast` export. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 0,
  float64: 1,
  int32: 2,
  bool: 3,
};

/** Whether `dtype` is a floating-point type (the only differentiable ones). */
export const isFloatDtype = (dtype: DType): dtype is "float32" | "float64" =>
  dtype === "float32" || dtype === "float64";
