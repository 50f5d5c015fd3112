/**
 * Activation functions and the softmax family, as compositions of
 * primitives (each differentiated like any function, so every transform and
 * every order of derivative applies). Numerically stable forms throughout:
 * the softmax family subtracts the (detached) maximum, softplus never
 * exponentiates a positive number.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { normAxis } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import {
  add,
  detach,
  div,
  erfc,
  exp,
  expm1,
  gt,
  log,
  mul,
  sigmoid,
  sub,
  tanh,
  where,
} from "./elementwise.ts";
import { max, sum } from "./reduce.ts";
import { checkTensor, describe } from "./scalar.ts";
import { softplusParts } from "./math.ts";

/** Throws a TypeError naming `what` unless `x` is a float tensor. */
export function checkFloat(what: string, x: unknown): Tensor {
  const t = checkTensor(what, x);
  if (t.dtype === "int32" || t.dtype === "bool") {
    throw new TypeError(
      `${what}: expected a float32 or float64 tensor, got ${t.dtype} (convert with .to("float32"))`,
    );
  }
  return t;
}

/** `x - max(x, dim)`, the maximum detached: shifts do not change the result. */
function shifted(what: string, x: Tensor, dim: number): [Tensor, number] {
  checkFloat(what, x);
  if (x.ndim === 0) {
    throw new RangeError(`${what}: expected a tensor with at least one dim`);
  }
  const d = normAxis(dim, x.ndim);
  // max of the detached input: the same shift, and no tangent to compute
  // for a max whose derivative would be dropped anyway.
  return [sub(x, max(detach(x), d, true)), d];
}

/**
 * `exp(x) / sum(exp(x), dim)`, computed with the maximum along `dim`
 * subtracted first (no overflow; the gradient is exact because the shift
 * cancels). `dim` defaults to the last dim.
 *
 * @example
 * ```ts
 * import { softmax, tensor } from "./mod.ts";
 * const p = softmax(tensor([[1, 2, 3], [1000, 1000, 1000]]), -1);
 * // [[0.0900, 0.2447, 0.6652], [0.3333, 0.3333, 0.3333]]
 * ```
 */
export function softmax(x: Tensor, dim = -1): Tensor {
  return eagerOp([x, dim], () => {
    const [s, d] = shifted("softmax", x, dim);
    const e = exp(s);
    return div(e, sum(e, d, true));
  });
}

/**
 * `log(softmax(x, dim))` without forming the softmax: `x - logsumexp(x, dim)`
 * with the maximum subtracted first. `dim` defaults to the last dim.
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor } from "./mod.ts";
 * const lp = logSoftmax(tensor([0, 1e4]), 0); // tensor([-10000., 0.]), no -inf
 * ```
 */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return eagerOp([x, dim], () => {
    const [s, d] = shifted("logSoftmax", x, dim);
    return sub(s, log(sum(exp(s), d, true)));
  });
}

/**
 * Options of {@link softplus}.
 *
 * @example
 * ```ts
 * import { softplus, tensor } from "./mod.ts";
 * const y = softplus(tensor([0, 1]), { beta: 2 });
 * ```
 */
export interface SoftplusOptions {
  /** Sharpness: `softplus(βx)/β` (default 1). */
  beta?: number;
}

/**
 * `log(1 + exp(x))` elementwise, stably: `max(x, 0) + log1p(exp(-|x|))`,
 * never exponentiating a positive number and accurate to a few ulps also
 * far in the negative tail (where the value is about `exp(x)`). Its
 * derivative is `sigmoid(x)`, also at 0 and to every order. With `beta`: `softplus(beta x) / beta`.
 * Unlike PyTorch there is no `threshold`: the stable form needs none.
 *
 * @example
 * ```ts
 * import { softplus, tensor } from "./mod.ts";
 * const y = softplus(tensor([-1000, 0, 1000])); // tensor([0., 0.6931, 1000.])
 * ```
 */
export function softplus(x: Tensor, options: SoftplusOptions = {}): Tensor {
  return eagerOp([x, options], () => {
    checkFloat("softplus", x);
    const { beta = 1 } = options;
    if (typeof beta !== "number" || !(beta > 0)) {
      throw new RangeError(
        `softplus: beta must be a positive number, got ${describe(beta)}`,
      );
    }
    const bx = beta === 1 ? x : mul(x, beta);
    const y = add(...softplusParts(bx));
    return beta === 1 ? y : div(y, beta);
  });
}

/**
 * Options of {@link gelu}.
 *
 * @example
 * ```ts
 * import { gelu, tensor } from "./mod.ts";
 * const y = gelu(tensor([1]), { approximate: "tanh" });
 * ```
 */
export interface GeluOptions {
  /** `"none"` (default): exact, `x Φ(x)`; `"tanh"`: the tanh approximation. */
  approximate?: "none" | "tanh";
}

/**
 * The Gaussian error linear unit `x · Φ(x)`, Φ the standard normal CDF, as
 * `torch.nn.functional.gelu`. `approximate: "tanh"` gives
 * `x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³)))`. The exact form (the
 * default) is `x/2 · erfc(-x/√2)`: three elementwise operations, with a
 * relative error under 4e-15 in float64, also in the negative tail where
 * Φ is tiny.
 *
 * @example
 * ```ts
 * import { gelu, tensor } from "./mod.ts";
 * const x = tensor([-1, 0, 1], { dtype: "float64" });
 * const y = gelu(x); // [-0.158655253931457, 0, 0.841344746068543]
 * const z = gelu(x, { approximate: "tanh" }); // [-0.1588, 0, 0.8412]
 * ```
 */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  return eagerOp([x, options], () => {
    checkFloat("gelu", x);
    const { approximate = "none" } = options;
    if (approximate === "tanh") {
      const inner = mul(
        add(x, mul(mul(x, mul(x, x)), 0.044715)),
        SQRT_2_OVER_PI,
      );
      return mul(mul(x, 0.5), add(tanh(inner), 1));
    }
    if (approximate !== "none") {
      throw new TypeError(
        `gelu: approximate must be "none" or "tanh", got ${
          describe(approximate)
        }`,
      );
    }
    // Φ(x) = erfc(-x/√2)/2: accurate also where Φ is tiny (x very negative).
    return mul(mul(x, 0.5), erfc(mul(x, -Math.SQRT1_2)));
  });
}
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * The sigmoid linear unit (swish) `x · sigmoid(x)`.
 *
 * @example
 * ```ts
 * import { silu, tensor } from "./mod.ts";
 * const y = silu(tensor([-1, 0, 1])); // tensor([-0.2689, 0., 0.7311])
 * ```
 */
export function silu(x: Tensor): Tensor {
  return eagerOp([x], () => {
    checkFloat("silu", x);
    return mul(x, sigmoid(x));
  });
}

/**
 * The exponential linear unit: `x` for `x > 0`, `alpha · (exp(x) - 1)`
 * otherwise (with an accurate `expm1`). The derivative at 0 is taken from
 * the left (`alpha`), as PyTorch.
 *
 * @example
 * ```ts
 * import { elu, tensor } from "./mod.ts";
 * const y = elu(tensor([-1, 0, 2])); // tensor([-0.6321, 0., 2.])
 * const z = elu(tensor([-1]), 0.5); // tensor([-0.3161])
 * ```
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  return eagerOp([x, alpha], () => {
    checkFloat("elu", x);
    const pos = gt(x, 0);
    // exp of the positive inputs could overflow and poison the gradient.
    const left = mul(expm1(where(pos, 0, x)), alpha);
    return where(pos, x, left);
  });
}

/**
 * `x` for `x > 0`, `negativeSlope · x` otherwise (default slope 0.01); the
 * derivative at 0 is `negativeSlope`, as PyTorch.
 *
 * @example
 * ```ts
 * import { leakyRelu, tensor } from "./mod.ts";
 * const y = leakyRelu(tensor([-2, 3]), 0.1); // tensor([-0.2, 3.])
 * ```
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return eagerOp([x, negativeSlope], () => {
    checkFloat("leakyRelu", x);
    return where(gt(x, 0), x, mul(x, negativeSlope));
  });
}
