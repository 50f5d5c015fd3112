/**
 * Logical operations on bool: operands of other dtypes are read as truth
 * values (nonzero, NaN included, is true) and every result is bool. Also
 * `maskedFill`, a `where`.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { broadcastShapes, fmtShape } from "../core/shape.ts";
import type { Dims, Tensor } from "../core/tensor.ts";
import { eq, maximum, minimum, ne, where } from "./elementwise.ts";
import { sum } from "./reduce.ts";
import {
  castTo,
  checkTensor,
  coerce,
  operand,
  type TensorLike,
} from "./scalar.ts";

const truth = (x: Tensor) => castTo(x, "bool");

/**
 * Elementwise `a && b` as bool (nonzero is true), broadcasting. No
 * derivative.
 *
 * @example
 * ```ts
 * import { logicalAnd, tensor } from "./mod.ts";
 * const y = logicalAnd(tensor([0, 1, 2, NaN]), tensor([1, 1, 0, 3])); // [false, true, false, true]
 * ```
 */
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  return eagerOp([a, b], () => {
    const [x, y] = coerce("logicalAnd", a, b);
    return minimum(truth(x), truth(y));
  });
}

/**
 * Elementwise `a || b` as bool (nonzero is true), broadcasting. No
 * derivative.
 *
 * @example
 * ```ts
 * import { logicalOr, tensor } from "./mod.ts";
 * const y = logicalOr(tensor([0, 0, 2]), tensor([0, 1, 0])); // [false, true, true]
 * ```
 */
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  return eagerOp([a, b], () => {
    const [x, y] = coerce("logicalOr", a, b);
    return maximum(truth(x), truth(y));
  });
}

/**
 * Elementwise exclusive or as bool (nonzero is true), broadcasting. No
 * derivative.
 *
 * @example
 * ```ts
 * import { logicalXor, tensor } from "./mod.ts";
 * const y = logicalXor(tensor([0, 0, 2, 3]), tensor([0, 1, 0, -1])); // [false, true, true, false]
 * ```
 */
export function logicalXor(a: TensorLike, b: TensorLike): Tensor {
  return eagerOp([a, b], () => {
    const [x, y] = coerce("logicalXor", a, b);
    return ne(truth(x), truth(y));
  });
}

/**
 * Elementwise `!x` as bool: true where `x` is 0 (NaN is nonzero, so gives
 * false). No derivative.
 *
 * @example
 * ```ts
 * import { logicalNot, tensor } from "./mod.ts";
 * const y = logicalNot(tensor([0, 1, NaN])); // [true, false, false]
 * ```
 */
export function logicalNot(x: Tensor): Tensor {
  return eagerOp([x], () => eq(truth(checkTensor("logicalNot", x)), 0));
}

/**
 * Whether any entry over `dim` (all dims when omitted) is nonzero, as bool;
 * an empty reduction gives false. `keepdim` keeps the reduced dims as
 * size 1.
 *
 * @example
 * ```ts
 * import { any, tensor } from "./mod.ts";
 * const y = any(tensor([[0, 0], [0, 3]]), 1); // [false, true]
 * ```
 */
export function any(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return eagerOp([x, dim, keepdim], () => {
    checkTensor("any", x);
    return ne(sum(truth(x), dim, keepdim), 0);
  });
}

/**
 * Whether every entry over `dim` (all dims when omitted) is nonzero, as
 * bool; an empty reduction gives true. `keepdim` keeps the reduced dims as
 * size 1.
 *
 * @example
 * ```ts
 * import { all, tensor } from "./mod.ts";
 * const y = all(tensor([[1, 2], [0, 3]]), 1, true); // [[true], [false]]
 * ```
 */
export function all(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return eagerOp([x, dim, keepdim], () => {
    checkTensor("all", x);
    return eq(sum(logicalNot(x), dim, keepdim), 0);
  });
}

/**
 * `x` with `value` where `mask` is nonzero, as `torch.Tensor.masked_fill`:
 * `mask` broadcasts to `x`'s shape (the result always has `x`'s shape and
 * dtype); `value` is a number or a 0-dim tensor. The gradient flows to `x`
 * where `mask` is 0, and to a tensor `value` summed over the filled entries.
 *
 * @example
 * ```ts
 * import { maskedFill, tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * const y = maskedFill(x, x.gt(2), -Infinity); // [[1, 2], [-inf, -inf]]
 * ```
 */
export function maskedFill(
  x: Tensor,
  mask: Tensor,
  value: number | Tensor,
): Tensor {
  return eagerOp([x, mask, value], () => {
    checkTensor("maskedFill", x);
    checkTensor("maskedFill mask", mask);
    const ok = broadcastShapes("maskedFill", x.shape, mask.shape);
    if (ok.length !== x.ndim || ok.some((d, i) => d !== x.shape[i])) {
      throw new RangeError(
        `maskedFill: mask of shape ${
          fmtShape(mask.shape)
        } does not broadcast to x's shape ${fmtShape(x.shape)}`,
      );
    }
    if (typeof value !== "number") {
      checkTensor("maskedFill value", value);
      if (value.ndim !== 0) {
        throw new RangeError(
          `maskedFill: value must be a number or a 0-dim tensor, got shape ${
            fmtShape(value.shape)
          }`,
        );
      }
    }
    // The value takes x's dtype: the result is always x's dtype.
    return where(mask, operand("maskedFill", value, x.dtype), x);
  });
}
