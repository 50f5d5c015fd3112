/**
 * Type promotion and the default float dtype.
 *
 * The public operations promote their tensor operands to one dtype before
 * they bind a primitive (by inserting `cast`), so every primitive rule sees
 * operands of equal dtypes. The order is bool < int32 < float32 < float64:
 * two tensors meet at the larger of their dtypes. A plain JavaScript number
 * is weak: it takes the dtype of the tensor next to it, unless it does not
 * fit that dtype's kind (a fractional number next to an int32 or bool
 * tensor gives the default float dtype; an integer next to a bool tensor
 * gives int32).
 * @module
 */
import { type DType, isFloatDtype } from "../backend/dtype.ts";

const RANK: Record<DType, number> = {
  bool: 0,
  int32: 1,
  float32: 2,
  float64: 3,
};

let defaultDtype: "float32" | "float64" = "float32";

/**
 * Sets the dtype that tensors made from plain numbers get: `tensor([1, 2])`,
 * `zeros`, `ones`, `full`, `eye`, `arange`, `linspace`, `randn`, `rand`
 * without a `dtype` option, numbers combined only with other numbers, and
 * int32 or bool values promoted to a float (by `div`, `exp`, `mean`, ...).
 * float32 unless set; as `torch.set_default_dtype`.
 *
 * @example
 * ```ts
 * import { getDefaultDtype, setDefaultDtype, tensor } from "./mod.ts";
 * setDefaultDtype("float64");
 * console.log(tensor([1, 2]).dtype); // float64
 * setDefaultDtype("float32");
 * console.log(getDefaultDtype()); // float32
 * ```
 */
export function setDefaultDtype(dtype: "float32" | "float64"): void {
  if (dtype !== "float32" && dtype !== "float64") {
    throw new TypeError(
      `setDefaultDtype: dtype must be "float32" or "float64", got ${
        typeof dtype === "string" ? `"${dtype}"` : String(dtype)
      }`,
    );
  }
  defaultDtype = dtype;
}

/**
 * The default float dtype (see {@link setDefaultDtype}).
 *
 * @example
 * ```ts
 * import { getDefaultDtype } from "./mod.ts";
 * const d = getDefaultDtype(); // "float32" unless set
 * ```
 */
export function getDefaultDtype(): "float32" | "float64" {
  return defaultDtype;
}

/**
 * The dtype two tensor dtypes promote to: the larger in bool < int32 <
 * float32 < float64, as `torch.promote_types` for these four.
 *
 * @example
 * ```ts
 * import { promoteTypes } from "./mod.ts";
 * promoteTypes("int32", "float32"); // "float32"
 * promoteTypes("float32", "float64"); // "float64"
 * promoteTypes("bool", "int32"); // "int32"
 * ```
 */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The dtype a plain number takes next to a tensor of `dtype` (weak). */
export function weakDtype(value: number, dtype: DType): DType {
  if (isFloatDtype(dtype)) return dtype;
  if (!Number.isInteger(value)) return defaultDtype;
  return dtype === "bool" && value !== 0 && value !== 1 ? "int32" : dtype;
}

/** `dtype` if it is a float, else the default float dtype. */
export const floatOf = (dtype: DType): "float32" | "float64" =>
  isFloatDtype(dtype) ? dtype : defaultDtype;
