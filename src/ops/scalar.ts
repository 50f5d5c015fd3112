/**
 * Plain numbers next to tensors: turned into rank-0 tensors of the tensor's
 * dtype (a "weak" scalar type, as in JAX and PyTorch).
 * @module
 */
import { Tensor, type TensorLike } from "../core/tensor.ts";
import { scalar } from "../core/lax.ts";
import type { DType } from "../backend/dtype.ts";
export type { TensorLike };
export { scalar };

/** Converts numbers to scalars of the dtype of the tensor operand. */
export function coerce(
  what: string,
  a: TensorLike,
  b: TensorLike,
): [Tensor, Tensor] {
  if (a instanceof Tensor) {
    return [a, b instanceof Tensor ? b : scalarOf(what, b, a.dtype)];
  }
  if (b instanceof Tensor) return [scalarOf(what, a, b.dtype), b];
  return [
    scalar(checkNumber(what, a), "float32"),
    scalar(checkNumber(what, b), "float32"),
  ];
}

/** A number next to a tensor of `dtype`, as a scalar of that dtype. */
function scalarOf(what: string, x: unknown, dtype: DType): Tensor {
  const v = checkNumber(what, x);
  if (dtype === "int32") {
    checkInt32(what, v, `the number ${v} next to an int32 tensor`);
  }
  return scalar(v, dtype);
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
