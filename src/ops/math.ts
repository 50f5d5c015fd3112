/**
 * Elementwise functions composed from the primitives: `clamp`, `logaddexp`,
 * `hypot`, and the softplus parts the activations and losses share. Each composition is differentiated like any other function,
 * so every transform applies; where a branch could produce inf or NaN that
 * `where` would hide from the value but not from the gradient, its input is
 * first replaced by a safe value (the "double where").
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import {
  abs,
  add,
  detach,
  div,
  eq,
  exp,
  gt,
  log1p,
  lt,
  maximum,
  mul,
  neg,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.ts";
import { checkTensor, coerce, type TensorLike } from "./scalar.ts";

/**
 * softplus(z) = log(1 + exp(z)) as two terms, `[where(z > 0, z, 0),
 * log1p(exp(-|z|))]`, that never overflow. `-|z|` is written as
 * `where(z > 0, -z, z)` so that at z = 0 the derivatives of every order are
 * those of the smooth `log1p(exp(z))` (1/2, 1/4, ...), not of two kinks
 * whose subgradients happen to be 0. Callers that add a large term may add
 * the first term first, so that the small second one is not lost.
 */
export function softplusParts(z: Tensor): [Tensor, Tensor] {
  const pos = gt(z, 0);
  return [where(pos, z, 0), log1p(exp(where(pos, neg(z), z)))];
}

/**
 * Limits `x` to `[min, max]` elementwise, as `torch.clamp`: either bound may
 * be omitted (`undefined` or `null`), bounds may be tensors (broadcast), and
 * when `min > max` the result is `max`. The gradient passes where
 * `min <= x <= max` (bounds included, as PyTorch) and goes to a tensor bound
 * where it is active; NaN stays NaN.
 *
 * @example
 * ```ts
 * import { clamp, tensor } from "./mod.ts";
 * const y = clamp(tensor([-2, 0.5, 3]), -1, 1); // tensor([-1., 0.5, 1.])
 * const z = clamp(tensor([-2, 3]), 0); // tensor([0., 3.]), as relu
 * ```
 */
export function clamp(
  x: Tensor,
  min?: TensorLike | null,
  max?: TensorLike | null,
): Tensor {
  checkTensor("clamp", x);
  const noMin = min === undefined || min === null,
    noMax = max === undefined || max === null;
  if (noMin && noMax) {
    throw new TypeError("clamp: at least one of min and max must be given");
  }
  let y = x;
  if (!noMin) y = where(lt(...coerce("clamp (min)", y, min)), min, y);
  if (!noMax) y = where(gt(...coerce("clamp (max)", y, max)), max, y);
  return y;
}

/**
 * `log(exp(a) + exp(b))` elementwise without overflow or underflow (the
 * larger argument factored out), with broadcasting. Its gradient is
 * `sigmoid(a - b)` and `sigmoid(b - a)`, 1/2 each on ties; -inf arguments
 * are neutral.
 *
 * @example
 * ```ts
 * import { logaddexp, tensor } from "./mod.ts";
 * const y = logaddexp(tensor([1000, 0]), tensor([1000, -Infinity])); // [1000.6931, 0.]
 * ```
 */
export function logaddexp(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = coerce("logaddexp", a, b);
  // max(a, b) + log1p(exp(-|a - b|)), with -|a - b| written so that ties
  // differentiate (to every order) as the smooth b + log1p(exp(a - b)).
  const d = sub(ta, tb);
  const pos = gt(d, 0);
  const s = where(pos, neg(d), d);
  // a = b = ±inf gives NaN here; exp(-inf) = 0 then leaves the max unchanged.
  const safe = where(eq(s, s), s, -Infinity);
  return add(where(pos, ta, tb), log1p(exp(safe)));
}

/**
 * `sqrt(a² + b²)` elementwise without overflow or underflow (both scaled by
 * the larger magnitude), with broadcasting. The gradient is `a / hypot` and
 * `b / hypot`, and 0 at the origin (a subgradient, as for `norm`).
 *
 * @example
 * ```ts
 * import { hypot, tensor } from "./mod.ts";
 * const y = hypot(tensor([3, 1e30]), tensor([4, 1e30])); // [5., 1.4142e30] in float32
 * ```
 */
export function hypot(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = coerce("hypot", a, b);
  // The scale is detached: r = m · sqrt((a/m)² + (b/m)²) has the exact
  // gradient a / r for any constant m.
  const m = maximum(abs(detach(ta)), abs(detach(tb)));
  const finite = mul(gt(m, 0), lt(m, Infinity));
  const ms = where(finite, m, 1);
  const s = add(square(div(ta, ms)), square(div(tb, ms)));
  const zero = eq(s, 0);
  return where(zero, 0, mul(ms, sqrt(where(zero, 1, s))));
}
