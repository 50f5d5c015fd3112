/**
 * Elementwise functions composed from the primitives: `clamp`, `logaddexp`,
 * `hypot`, `nanToNum`, and the softplus parts the activations and losses share. Each composition is differentiated like any other function,
 * so every transform applies; where a branch could produce inf or NaN that
 * `where` would hide from the value but not from the gradient, its input is
 * first replaced by a safe value (the "double where").
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import {
  add,
  eq,
  exp,
  gt,
  isnan,
  log1p,
  lt,
  neg,
  sub,
  where,
} from "./elementwise.ts";
import { castTo, checkTensor, coerce, type TensorLike } from "./scalar.ts";
import { floatOf } from "../core/dtypes.ts";

/**
 * softplus(z) = log(1 + exp(z)) as two terms, `[where(z > 0, z, 0),
 * log1p(exp(-|z|))]`, that never overflow. `-|z|` is written as
 * `where(z > 0, -z, z)` so that at z = 0 the derivatives of every order are
 * those of the smooth `log1p(exp(z))` (1/2, 1/4, ...), not of two kinks
 * whose subgradients happen to be 0. Callers that add a large term may add
 * the first term first, so that the small second one is not lost.
 */
export function softplusParts(z: Tensor): [Tensor, Tensor] {
  return eagerOp([z], () => {
    const pos = gt(z, 0);
    return [where(pos, z, 0), log1p(exp(where(pos, neg(z), z)))];
  });
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
  return eagerOp([x, min, max], () => {
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
  });
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
  return eagerOp([a, b], () => {
    const [ta, tb] = coerce("logaddexp", a, b);
    // max(a, b) + log1p(exp(-|a - b|)), with -|a - b| written so that ties
    // differentiate (to every order) as the smooth b + log1p(exp(a - b)).
    const d = sub(ta, tb);
    const pos = gt(d, 0);
    const s = where(pos, neg(d), d);
    // a = b = ±inf gives NaN here; exp(-inf) = 0 then leaves the max unchanged.
    const safe = where(eq(s, s), s, -Infinity);
    return add(where(pos, ta, tb), log1p(exp(safe)));
  });
}

/**
 * `sqrt(a² + b²)` elementwise without overflow or underflow (one kernel,
 * within an ulp), with broadcasting; inf if either is ±inf, even with a
 * NaN. The gradient is `a / hypot` and `b / hypot`, and 0 at the origin (a
 * subgradient, as for `norm`).
 *
 * @example
 * ```ts
 * import { hypot, tensor } from "./mod.ts";
 * const y = hypot(tensor([3, 1e30]), tensor([4, 1e30])); // [5., 1.4142e30] in float32
 * ```
 */
export function hypot(a: TensorLike, b: TensorLike): Tensor {
  return eagerOp([a, b], () => {
    const [x, y] = coerce("hypot", a, b);
    const d = floatOf(x.dtype); // int32 and bool in the default float dtype
    return bind("hypot", [castTo(x, d), castTo(y, d)], null);
  });
}

/** Replacement values of {@link nanToNum}. */
export interface NanToNumOptions {
  /** The value for NaN (default 0). */
  nan?: number;
  /** The value for +inf (default: the dtype's largest finite number). */
  posinf?: number;
  /** The value for -inf (default: the dtype's most negative finite number). */
  neginf?: number;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * `x` with NaN, +inf and -inf replaced by finite numbers (by default 0 and
 * the dtype's largest and most negative finite values), as PyTorch's
 * `nan_to_num`. The derivative is 1 where `x` is kept and 0 where it is
 * replaced.
 *
 * @example
 * ```ts
 * import { nanToNum, tensor } from "./mod.ts";
 * const y = nanToNum(tensor([NaN, Infinity, -Infinity, 2]), { posinf: 1e3 });
 * // tensor([0., 1000., -3.4028e38, 2.])
 * ```
 */
export function nanToNum(x: Tensor, options: NanToNumOptions = {}): Tensor {
  return eagerOp([x, options], () => {
    checkTensor("nanToNum", x);
    if (x.dtype === "int32" || x.dtype === "bool") return x._alias(); // nothing to replace
    const big = x.dtype === "float32" ? FLOAT32_MAX : Number.MAX_VALUE;
    const { nan = 0, posinf = big, neginf = -big } = options;
    for (const [k, v] of Object.entries({ nan, posinf, neginf })) {
      if (typeof v !== "number") {
        throw new TypeError(`nanToNum: ${k} must be a number, got ${typeof v}`);
      }
    }
    const kept = where(isnan(x), nan, x);
    return where(
      eq(x, Infinity),
      posinf,
      where(eq(x, -Infinity), neginf, kept),
    );
  });
}
