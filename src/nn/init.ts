/**
 * Parameter initialisers taking a random key, as `jax.nn.initializers` with
 * PyTorch's fan conventions (`torch.nn.init`): a weight of shape
 * `[out, in, ...kernel]` has fanIn = in · kernel size and
 * fanOut = out · kernel size.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import type { DType } from "../backend/dtype.ts";
import { fmtShape, type Shape, sizeOf } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { full } from "../ops/creation.ts";
import { mul } from "../ops/elementwise.ts";
import { describe } from "../ops/scalar.ts";
import { type Key, normal, uniform } from "../random/mod.ts";

/**
 * Options of the initialisers.
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const w = nn.init.heNormal(random.key(0), [64, 32], { mode: "fanOut", dtype: "float64" });
 * ```
 */
export interface InitOptions {
  /** float32 (default) or float64. */
  dtype?: DType;
  /** Scale factor (default 1 for Glorot, √2 for He, as for ReLU). */
  gain?: number;
  /** Which fan the He initialisers use (default `"fanIn"`). */
  mode?: "fanIn" | "fanOut";
}

/** [fanIn, fanOut] of a weight shape [out, in, ...kernel]. */
export function fans(what: string, shape: Shape): [number, number] {
  if (!Array.isArray(shape) || shape.length < 2) {
    throw new RangeError(
      `${what}: fans need a shape [out, in, ...kernel] with at least 2 dims, got ${
        Array.isArray(shape) ? fmtShape(shape) : describe(shape)
      }`,
    );
  }
  const kernel = sizeOf(shape.slice(2));
  return [shape[1] * kernel, shape[0] * kernel];
}

function gainOf(what: string, options: InitOptions, fallback: number): number {
  const g = options.gain ?? fallback;
  if (typeof g !== "number" || !(g >= 0)) {
    throw new RangeError(
      `${what}: gain must be a number >= 0, got ${describe(g)}`,
    );
  }
  return g;
}

function heFan(what: string, shape: Shape, options: InitOptions): number {
  const [fanIn, fanOut] = fans(what, shape);
  const { mode = "fanIn" } = options;
  if (mode !== "fanIn" && mode !== "fanOut") {
    throw new TypeError(
      `${what}: mode must be "fanIn" or "fanOut", got ${describe(mode)}`,
    );
  }
  return mode === "fanIn" ? fanIn : fanOut;
}

/**
 * Glorot (Xavier) uniform: U(-a, a) with a = gain · √(6 / (fanIn + fanOut)).
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const W = nn.init.glorotUniform(random.key(0), [32, 16]); // a linear layer's [out, in]
 * ```
 */
export function glorotUniform(
  key: Key,
  shape: Shape,
  options: InitOptions = {},
): Tensor {
  return eagerOp([key, shape, options], () => {
    const [fanIn, fanOut] = fans("nn.init.glorotUniform", shape);
    const a = gainOf("nn.init.glorotUniform", options, 1) *
      Math.sqrt(6 / (fanIn + fanOut));
    return uniform(key, shape, { dtype: options.dtype, minval: -a, maxval: a });
  });
}

/**
 * Glorot (Xavier) normal: N(0, σ²) with σ = gain · √(2 / (fanIn + fanOut)).
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const W = nn.init.glorotNormal(random.key(0), [32, 16]);
 * ```
 */
export function glorotNormal(
  key: Key,
  shape: Shape,
  options: InitOptions = {},
): Tensor {
  return eagerOp([key, shape, options], () => {
    const [fanIn, fanOut] = fans("nn.init.glorotNormal", shape);
    const std = gainOf("nn.init.glorotNormal", options, 1) *
      Math.sqrt(2 / (fanIn + fanOut));
    return mul(normal(key, shape, { dtype: options.dtype }), std);
  });
}

/**
 * He (Kaiming) normal: N(0, σ²) with σ = gain / √fan (gain √2 by default,
 * for ReLU; fan = fanIn unless `mode: "fanOut"`).
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const W = nn.init.heNormal(random.key(0), [64, 2]);
 * ```
 */
export function heNormal(
  key: Key,
  shape: Shape,
  options: InitOptions = {},
): Tensor {
  return eagerOp([key, shape, options], () => {
    const fan = heFan("nn.init.heNormal", shape, options);
    const std = gainOf("nn.init.heNormal", options, Math.SQRT2) /
      Math.sqrt(fan);
    return mul(normal(key, shape, { dtype: options.dtype }), std);
  });
}

/**
 * He (Kaiming) uniform: U(-b, b) with b = gain · √(3 / fan) (gain √2 by
 * default, for ReLU; fan = fanIn unless `mode: "fanOut"`).
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const W = nn.init.heUniform(random.key(0), [64, 2]);
 * ```
 */
export function heUniform(
  key: Key,
  shape: Shape,
  options: InitOptions = {},
): Tensor {
  return eagerOp([key, shape, options], () => {
    const fan = heFan("nn.init.heUniform", shape, options);
    const b = gainOf("nn.init.heUniform", options, Math.SQRT2) *
      Math.sqrt(3 / fan);
    return uniform(key, shape, { dtype: options.dtype, minval: -b, maxval: b });
  });
}

/**
 * Zeros of `shape` (the key is accepted for a uniform signature and unused).
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const b = nn.init.zeros(random.key(0), [32]);
 * ```
 */
export function zeros(
  _key: Key,
  shape: Shape,
  options: InitOptions = {},
): Tensor {
  return full(shape, 0, { dtype: options.dtype });
}

/**
 * Ones of `shape` (the key is accepted for a uniform signature and unused).
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const gamma = nn.init.ones(random.key(0), [32]);
 * ```
 */
export function ones(
  _key: Key,
  shape: Shape,
  options: InitOptions = {},
): Tensor {
  return full(shape, 1, { dtype: options.dtype });
}
