/**
 * Type promotion of operands (src/core/dtypes.ts has the rules): tensors
 * meet at the larger dtype, and plain numbers are weak, turned into rank-0
 * tensors of the tensor's dtype, as in JAX and PyTorch.
 * @module
 */
import { Tensor, type TensorLike } from "../core/tensor.ts";
import { scalar } from "../core/lax.ts";
import type { DType } from "../backend/dtype.ts";
import { getDefaultDtype, promoteTypes, weakDtype } from "../core/dtypes.ts";
import { bind } from "../core/trace.ts";
export type { TensorLike };
export { scalar };

/** `x` converted to `dtype` (a `cast`, which differentiates back). */
export function castTo(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind("cast", [x], { dtype });
}

/** The dtype `x` promotes to next to a tensor of `dtype`. */
function promoteWith(x: TensorLike, dtype: DType): DType {
  return promoteTypes(
    dtype,
    x instanceof Tensor ? x.dtype : weakDtype(x as number, dtype),
  );
}

/**
 * Both operands as tensors of one dtype: tensors promote to the larger
 * dtype, and a number takes the tensor's dtype (weak) when it fits its
 * kind; two numbers give the default float dtype.
 */
export function coerce(
  what: string,
  a: TensorLike,
  b: TensorLike,
): [Tensor, Tensor] {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) {
    const d = getDefaultDtype();
    return [scalar(checkNumber(what, a), d), scalar(checkNumber(what, b), d)];
  }
  if (!(a instanceof Tensor)) checkNumber(what, a);
  if (!(b instanceof Tensor)) checkNumber(what, b);
  const d = a instanceof Tensor
    ? promoteWith(b, a.dtype)
    : promoteWith(a, (b as Tensor).dtype);
  return [operand(what, a, d), operand(what, b, d)];
}

/** A tensor or number as an operand of `dtype`. */
export function operand(what: string, x: TensorLike, dtype: DType): Tensor {
  return x instanceof Tensor ? castTo(x, dtype) : scalarOf(what, x, dtype);
}

/** A number next to a tensor of `dtype`, as a scalar of that dtype. */
function scalarOf(what: string, x: unknown, dtype: DType): Tensor {
  const v = checkNumber(what, x);
  if (dtype === "int32") {
    checkInt32(what, v, `the number ${v} next to an int32 tensor`);
  }
  // A weak number next to bool is 0 or 1 (others promoted to int32).
  return scalar(dtype === "bool" ? (v !== 0 ? 1 : 0) : v, dtype);
}

/**
 * Throws a RangeError unless `v` is an int32 value (an integer from -2³¹
 * to 2³¹-1): storing anything else would silently truncate or wrap.
 * `where` names the value in the message.
 */
export function checkInt32(what: string, v: number, where: string): void {
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new RangeError(
      `${what}: ${where} is not an int32 (an integer from -2147483648 to 2147483647); ` +
        `use a float dtype, or round it first`,
    );
  }
}

function checkNumber(what: string, x: unknown): number {
  if (typeof x !== "number") {
    throw new TypeError(
      `${what}: expected a Tensor or a number, got ${describe(x)}`,
    );
  }
  return x;
}

/** Short description of an unexpected value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  // Tracers are Tensors too: name the public type, not the internal class.
  if (x instanceof Tensor) {
    return `a ${x.dtype} tensor of shape [${x.shape.join(", ")}]`;
  }
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (typeof x === "object") {
    return `an object (${(x as object).constructor?.name ?? "Object"})`;
  }
  return `${typeof x} ${String(x)}`;
}

/** Throws a TypeError unless `x` is a Tensor. */
export function checkTensor(what: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${what}: expected a Tensor, got ${describe(x)}`);
  }
  return x;
}
