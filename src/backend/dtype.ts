/**
 * Element types a {@link Storage} can hold.
 *
 * @example
 * ```ts
 * import { DType, zeros } from "./mod.ts";
 * const dtype: DType = "float64";
 * const x = zeros([3], { dtype });
 * console.log(x.dtype, x.to("float32").dtype); // float64 float32
 * ```
 */
export type DType = "float32" | "float64" | "int32";

/** Bytes per element of each dtype. */
export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  int32: 4,
};

/** The typed array that holds each dtype's elements. */
export type TypedArrayFor = Float32Array | Float64Array | Int32Array;

/** Dtype codes used by the kernels' `cast` export. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 0,
  float64: 1,
  int32: 2,
};
