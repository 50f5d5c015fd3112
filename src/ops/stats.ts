/**
 * Reductions composed from primitives: `logsumexp`, `var`, `std`, `norm`.
 * Same `dim` conventions as `sum` (one dim, several, or all when omitted).
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { normAxes, sizeOf } from "../core/shape.ts";
import type { Dims, Tensor } from "../core/tensor.ts";
import {
  abs,
  add,
  detach,
  div,
  eq,
  exp,
  log,
  lt,
  ne,
  pow,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.ts";
import { reshape } from "./layout.ts";
import { max, mean, min, sum } from "./reduce.ts";
import { describe } from "./scalar.ts";
import { checkFloat } from "./activation.ts";

/**
 * Whether reduced dims are kept (as size 1): a boolean, as the third
 * argument of `sum`, or an options object.
 *
 * @example
 * ```ts
 * import { logsumexp, tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * logsumexp(x, 1, true); // shape [2, 1]
 * logsumexp(x, 1, { keepdim: true }); // the same
 * ```
 */
export type KeepdimOption = boolean | { keepdim?: boolean };

function keepdimOf(what: string, k: KeepdimOption | undefined): boolean {
  if (k === undefined) return false;
  if (typeof k === "boolean") return k;
  if (k !== null && typeof k === "object") return k.keepdim ?? false;
  throw new TypeError(
    `${what}: keepdim must be a boolean or { keepdim }, got ${describe(k)}`,
  );
}

/** `y` reduced with keepdim over `axes`, returned with or without those dims. */
function dropAxes(y: Tensor, axes: number[], keepdim: boolean): Tensor {
  return keepdim ? y : reshape(y, y.shape.filter((_, i) => !axes.includes(i)));
}

/**
 * `log(sum(exp(x), dim))`, stably: the maximum along `dim` is subtracted
 * before exponentiating and added back, detached, so the gradient (the
 * softmax) is exact and finite for any finite input (1e4, -1e4, ...).
 * Slices that are all -inf give -inf, a +inf entry gives +inf.
 *
 * @example
 * ```ts
 * import { logsumexp, tensor } from "./mod.ts";
 * const y = logsumexp(tensor([[1e4, 1e4], [0, -Infinity]]), 1); // [10000.6931, 0.]
 * ```
 */
export function logsumexp(
  x: Tensor,
  dim?: Dims,
  keepdim?: KeepdimOption,
): Tensor {
  return eagerOp([x, dim, keepdim], () => {
    checkFloat("logsumexp", x);
    const kd = keepdimOf("logsumexp", keepdim);
    const axes = normAxes(dim, x.ndim);
    if (axes.length === 0) return x;
    // max of the detached input: no tangent for a max whose derivative cancels.
    const m = max(detach(x), axes, true);
    // An infinite maximum would give inf - inf = NaN: shift by 0 there.
    const shift = where(lt(abs(m), Infinity), m, 0);
    const y = add(log(sum(exp(sub(x, shift)), axes, true)), shift);
    return dropAxes(y, axes, kd);
  });
}

/**
 * Options of {@link variance} (`var`) and {@link std}.
 *
 * @example
 * ```ts
 * import { tensor, variance } from "./mod.ts";
 * const v = variance(tensor([1, 2, 3, 4]), 0, { correction: 0 }); // population variance 1.25
 * ```
 */
export interface VarOptions {
  /** Subtracted from the count in the denominator: 1 (default) is Bessel's correction, 0 the population variance. */
  correction?: number;
  /** Keep the reduced dims as size 1. */
  keepdim?: boolean;
}

/**
 * Variance over `dim` (all dims when omitted), as `torch.var`:
 * `sum((x - mean)²) / (N - correction)`, two-pass (the mean subtracted
 * first, so no cancellation). `N <= correction` gives inf or NaN, as
 * PyTorch. Named `variance` because `var` is a reserved word; the method
 * is `x.var()`, as PyTorch's.
 *
 * @example
 * ```ts
 * import { tensor, variance } from "./mod.ts";
 * const x = tensor([[1, 2, 3], [4, 6, 8]]);
 * const v = variance(x, 1); // tensor([1., 4.])
 * const w = x.var(1, { correction: 0, keepdim: true }); // shape [2, 1]
 * ```
 */
export function variance(
  x: Tensor,
  dim?: Dims | VarOptions,
  options: VarOptions = {},
): Tensor {
  return eagerOp([x, dim, options], () => varImpl("var", x, dim, options));
}

function varImpl(
  what: string,
  x: Tensor,
  dim: Dims | VarOptions,
  options: VarOptions,
): Tensor {
  // `var(x, { correction: 0 })`: options in the dim slot, all dims.
  if (dim !== null && typeof dim === "object" && !Array.isArray(dim)) {
    [dim, options] = [undefined, dim as VarOptions];
  }
  checkFloat(what, x);
  const { correction = 1, keepdim = false } = options;
  if (typeof correction !== "number" || !Number.isFinite(correction)) {
    throw new TypeError(
      `${what}: correction must be a finite number, got ${
        describe(correction)
      }`,
    );
  }
  const axes = normAxes(dim, x.ndim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  const d = sub(x, mean(x, axes, true));
  return div(sum(square(d), axes, keepdim), Math.max(0, n - correction));
}

/**
 * Standard deviation over `dim` (all dims when omitted): `sqrt(var)`, with
 * the same `correction` (default 1) and `keepdim`, as `torch.std`.
 *
 * @example
 * ```ts
 * import { std, tensor } from "./mod.ts";
 * const s = std(tensor([2, 4, 4, 4, 5, 5, 7, 9]), 0, { correction: 0 }); // tensor(2.)
 * ```
 */
export function std(
  x: Tensor,
  dim?: Dims | VarOptions,
  options: VarOptions = {},
): Tensor {
  return eagerOp(
    [x, dim, options],
    () => sqrt(varImpl("std", x, dim, options)),
  );
}

/**
 * The order of a {@link norm}: a positive number, `Infinity`, `-Infinity`,
 * 0 (the number of nonzero entries) or `"fro"` (the 2-norm over the dims).
 *
 * @example
 * ```ts
 * import { norm, type NormOrder, tensor } from "./mod.ts";
 * const p: NormOrder = Infinity;
 * norm(tensor([3, -4]), p); // tensor(4.)
 * ```
 */
export type NormOrder = number | "fro";

/**
 * The vector p-norm of `x` over `dim` (all entries when omitted), as
 * `torch.norm` / `torch.linalg.vector_norm`: p = 2 (default) and `"fro"`
 * give `sqrt(sum(x²))`, p = 1 `sum(|x|)`, `Infinity` `max(|x|)`,
 * `-Infinity` `min(|x|)`, 0 the count of nonzeros, any other p > 0
 * `sum(|x|^p)^(1/p)`. The gradient at a zero vector is 0 (a subgradient, as
 * PyTorch), not NaN. Over several dims this is the norm of the flattened
 * entries, not an induced matrix norm.
 *
 * @example
 * ```ts
 * import { norm, tensor } from "./mod.ts";
 * const x = tensor([[3, 4], [6, 8]]);
 * norm(x); // tensor(11.1803), as "fro"
 * norm(x, 2, 1); // tensor([5., 10.])
 * norm(x, 1, 0, true); // tensor([[9., 12.]])
 * norm(x, Infinity); // tensor(8.)
 * ```
 */
export function norm(
  x: Tensor,
  p: NormOrder = 2,
  dim?: Dims,
  keepdim = false,
): Tensor {
  return eagerOp([x, p, dim, keepdim], () => {
    checkFloat("norm", x);
    const axes = normAxes(dim, x.ndim);
    if (p === "fro" || p === 2) return rootOfSum(sum(square(x), axes, keepdim));
    if (
      typeof p !== "number" || Number.isNaN(p) || (p < 0 && p !== -Infinity)
    ) {
      throw new RangeError(
        `norm: p must be a number >= 0, Infinity, -Infinity or "fro", got ${
          describe(p)
        }`,
      );
    }
    if (p === Infinity) return max(abs(x), axes, keepdim);
    if (p === -Infinity) return min(abs(x), axes, keepdim);
    if (p === 1) return sum(abs(x), axes, keepdim);
    if (p === 0) return sum(ne(x, 0), axes, keepdim);
    const s = sum(pow(abs(x), p), axes, keepdim);
    const zero = eq(s, 0);
    return where(zero, 0, pow(where(zero, 1, s), 1 / p));
  });
}

/** sqrt(s) with a zero gradient (not NaN) where s = 0. */
function rootOfSum(s: Tensor): Tensor {
  const zero = eq(s, 0);
  return where(zero, 0, sqrt(where(zero, 1, s)));
}
