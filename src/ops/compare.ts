/**
 * Approximate equality, as `torch.isclose` / `torch.allclose`:
 * |a - b| <= atol + rtol * |b|, with NaNs unequal unless `equalNan`.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { abs, add, le, mul, sub } from "./elementwise.ts";
import { min } from "./reduce.ts";
import { checkTensor } from "./scalar.ts";

/** Tolerances of `isclose` and `allclose`. */
export interface CloseOptions {
  rtol?: number;
  atol?: number;
  equalNan?: boolean;
}

/** Elementwise closeness as a 0/1 tensor (broadcasting). */
export function isclose(
  a: Tensor,
  b: Tensor,
  options: CloseOptions = {},
): Tensor {
  const { rtol = 1e-5, atol = 1e-8, equalNan = false } = options;
  checkTensor("isclose (a)", a);
  checkTensor("isclose (b)", b);
  const close = le(abs(sub(a, b)), add(mul(abs(b), rtol), atol));
  if (!equalNan) return close;
  const bothNan = mul(a.ne(a), b.ne(b));
  return close.maximum(bothNan);
}

/** True when every element of `a` is close to `b`. */
export function allclose(
  a: Tensor,
  b: Tensor,
  options: CloseOptions = {},
): boolean {
  const c = isclose(a, b, options);
  return c.size === 0 || min(c).item() === 1;
}
