/**
 * Approximate equality, as `torch.isclose` / `torch.allclose`:
 * |a - b| <= atol + rtol * |b|, with NaNs unequal unless `equalNan`.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { abs, add, le, maximum, minimum, mul, sub } from "./elementwise.ts";
import { min } from "./reduce.ts";
import { checkTensor } from "./scalar.ts";

/**
 * Tolerances of `isclose` and `allclose`.
 *
 * @example
 * ```ts
 * import { allclose, tensor } from "./mod.ts";
 * const ok = allclose(tensor([1, 2]), tensor([1, 2.001]), { rtol: 1e-2, atol: 0 }); // true
 * ```
 */
export interface CloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8). */
  atol?: number;
  /** Count NaN as equal to NaN (default false). */
  equalNan?: boolean;
}

/**
 * Elementwise closeness as a bool tensor (broadcasting).
 *
 * @example
 * ```ts
 * import { isclose, tensor } from "./mod.ts";
 * const c = isclose(tensor([1, 2]), tensor([1, 3])); // tensor([true, false])
 * ```
 */
export function isclose(
  a: Tensor,
  b: Tensor,
  options: CloseOptions = {},
): Tensor {
  return eagerOp([a, b, options], () => {
    const { rtol = 1e-5, atol = 1e-8, equalNan = false } = options;
    checkTensor("isclose (a)", a);
    checkTensor("isclose (b)", b);
    const close = le(abs(sub(a, b)), add(mul(abs(b), rtol), atol));
    if (!equalNan) return close;
    const bothNan = minimum(a.ne(a), b.ne(b));
    return maximum(close, bothNan);
  });
}

/**
 * True when every element of `a` is close to `b`.
 *
 * @example
 * ```ts
 * import { allclose, tensor } from "./mod.ts";
 * allclose(tensor([1, 2]), tensor([1, 2 + 1e-7])); // true
 * allclose(tensor([1, 2]), tensor([1, 3])); // false
 * ```
 */
export function allclose(
  a: Tensor,
  b: Tensor,
  options: CloseOptions = {},
): boolean {
  return eagerOp([a, b, options], () => {
    const c = isclose(a, b, options);
    return c.size === 0 || min(c).item() === 1;
  });
}
