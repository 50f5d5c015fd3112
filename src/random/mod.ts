/**
 * Random numbers from explicit keys, in the style of `jax.random`: a key is
 * a value (an int32 tensor of shape [2] holding two 32-bit words), every
 * sampler is a pure function of its key, shape and dtype, and new keys come
 * from `split` and `foldIn`, which hash the parent key with Philox (in a
 * counter domain that sampling never uses). Results never depend on call
 * order or on how a draw is chunked: element i of a draw is Philox4x32-10
 * of counter i under the key (crates/kernels/src/random.rs).
 *
 * Sampling and key derivation are primitives taking the key as an operand
 * (`randomSample`, `randomDerive`), so keys may be traced: an argument of
 * `jit` (the compiled program draws from whatever key it is given), a batch
 * of keys under `vmap` (lane i draws exactly what key i alone draws), an
 * argument beside differentiated ones (samples have no derivative). Every
 * sampler is one of those primitives followed by ordinary operations, so a
 * result is the same bit for bit eagerly, under `jit` and under `vmap`.
 *
 * Use each key once: samplers given the same key return correlated values
 * (the same uniforms underlie `uniform` and `normal`); `split` it first.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import type { DType } from "../backend/dtype.ts";
import { fromArray } from "../backend/storage.ts";
import {
  broadcastShapes,
  fmtShape,
  normAxis,
  type Shape,
} from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import {
  add,
  div,
  eq,
  erfc,
  exp,
  floor,
  ge,
  gt,
  le,
  log,
  lt,
  maximum,
  minimum,
  mul,
  neg,
  sqrt,
  sub,
  where,
} from "../ops/elementwise.ts";
import { cast, expand, indexSelect, reshape, stack } from "../ops/layout.ts";
import { argmax } from "../ops/reduce.ts";
import { describe, type TensorLike } from "../ops/scalar.ts";

/**
 * A random key: an int32 tensor of shape [2] (two 32-bit words), made by
 * {@link key}, {@link split} or {@link foldIn}. `split` returns keys as
 * one tensor `[n, 2]`; iterating it gives the keys.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const k: random.Key = random.key(0);
 * const [k1, k2] = random.split(k);
 * ```
 */
export type Key = Tensor;

const TWO32 = 4294967296;

function constWords(shape: number[], words: readonly number[]): Tensor {
  return Tensor._fromStorage(
    fromArray("int32", words.map((w) => w | 0)),
    shape,
    "int32",
  );
}

/** Two 32-bit words of a safe integer (two's complement for negatives). */
function words64(what: string, name: string, v: unknown): [number, number] {
  if (!Number.isSafeInteger(v)) {
    throw new TypeError(
      `${what}: ${name} must be a safe integer or an integer-valued tensor of shape [], got ${
        describe(v)
      }`,
    );
  }
  const b = BigInt.asUintN(64, BigInt(v as number));
  return [Number(b & 0xffffffffn), Number(b >> 32n)];
}

/**
 * The two words of an integer given as a number (a constant) or a rank-0
 * tensor (possibly traced, such as a step counter passed to `jit`): the
 * same words as {@link words64}, computed in float64 (exact for safe
 * integers), as an int32 tensor [2].
 */
function dataWords(what: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) {
    return constWords([2], words64(what, name, v));
  }
  if (v.ndim !== 0) {
    throw new TypeError(
      `${what}: ${name} must be a number or a tensor of shape [], got shape ${
        fmtShape(v.shape)
      }`,
    );
  }
  const d = cast(v, "float64");
  const hi = floor(div(d, TWO32));
  const lo = sub(d, mul(hi, TWO32)); // in [0, 2^32)
  const loBits = where(ge(lo, 2 ** 31), sub(lo, TWO32), lo);
  return stack([cast(loBits, "int32"), cast(hi, "int32")]);
}

/** Checks that `key` is a key (traced or not) and returns it. */
function checkKey(what: string, key: unknown): Key {
  if (
    !(key instanceof Tensor) || key.dtype !== "int32" || key.ndim !== 1 ||
    key.shape[0] !== 2
  ) {
    const batch = key instanceof Tensor && key.dtype === "int32" &&
        key.ndim > 1 && key.shape[key.ndim - 1] === 2
      ? " (a batch of keys: draw from each with vmap, or iterate over it)"
      : "";
    throw new TypeError(
      `${what}: expected a key (an int32 tensor of shape [2] from random.key or random.split), got ${
        describe(key)
      }${batch}`,
    );
  }
  return key;
}

function checkShape(what: string, shape: unknown): number[] {
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    throw new TypeError(
      `${what}: shape must be an array of non-negative integers, got ${
        describe(shape)
      }`,
    );
  }
  return [...shape];
}

function floatDtype(what: string, dtype: unknown): "float32" | "float64" {
  if (dtype !== "float32" && dtype !== "float64") {
    throw new TypeError(
      `${what}: dtype must be "float32" or "float64", got ${describe(dtype)}`,
    );
  }
  return dtype;
}

/** The `randomSample` primitive on a checked key. */
function draw(
  key: Key,
  dist: "uniform" | "normal" | "permutation",
  shape: number[],
  dtype: DType,
): Tensor {
  return bind("randomSample", [key], { dist, shape, dtype });
}

/**
 * A key from an integer seed (any safe integer), as `jax.random.key`. The
 * seed may also be a rank-0 integer-valued tensor, traced too (a seed
 * passed to `jit`): it gives the same key as the number.
 *
 * @example
 * ```ts
 * import { jit, random, type Tensor, tensor } from "./mod.ts";
 * const k = random.key(42);
 * const x = random.normal(k, [3]);
 * const draw = jit((seed: Tensor) => random.uniform(random.key(seed), [2]));
 * const y = draw(tensor(42, { dtype: "int32" })); // = random.uniform(k, [2])
 * ```
 */
export function key(seed: number | Tensor): Key {
  return eagerOp([seed], () => {
    if (seed instanceof Tensor) return dataWords("random.key", "seed", seed);
    return constWords([2], words64("random.key", "seed", seed));
  });
}

/**
 * `num` (default 2) new keys derived from `key`, independent of it and of
 * each other, as `jax.random.split`: one int32 tensor `[num, 2]`, which
 * destructures and iterates into keys and which `vmap` maps over.
 *
 * @example
 * ```ts
 * import { random, vmap } from "./mod.ts";
 * let k = random.key(0);
 * let sub: random.Key;
 * [k, sub] = random.split(k);
 * const noise = random.normal(sub, [4]);
 * const keys = random.split(k, 8); // [8, 2]: 8 keys
 * const rows = vmap((k: random.Key) => random.normal(k, [3]))(keys); // [8, 3]
 * ```
 */
export function split(key: Key, num = 2): Tensor {
  return eagerOp([key, num], () => {
    checkKey("random.split", key);
    if (!Number.isInteger(num) || num < 0 || num > TWO32) {
      throw new RangeError(
        `random.split: num must be a non-negative integer, got ${
          describe(num)
        }`,
      );
    }
    // Child i hashes the counter (i, 0) in the split domain.
    const data = constWords(
      [num, 2],
      Array.from({ length: 2 * num }, (_, j) => (j % 2 === 0 ? j / 2 : 0)),
    );
    const parents = expand(reshape(key, [1, 2]), [num, 2]);
    return bind("randomDerive", [parents, data], { domain: "split" });
  });
}

/**
 * A new key from `key` and an integer (a step number, a layer index, ...),
 * as `jax.random.fold_in`: distinct data give independent keys. `data` may
 * be a rank-0 integer-valued tensor, traced too (a step counter passed to
 * `jit`); it gives the same key as the number.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const base = random.key(0);
 * const perStep = (step: number) => random.foldIn(base, step);
 * const a = random.uniform(perStep(1), [2]);
 * ```
 */
export function foldIn(key: Key, data: number | Tensor): Key {
  return eagerOp([key, data], () => {
    checkKey("random.foldIn", key);
    const words = dataWords("random.foldIn", "data", data);
    return bind("randomDerive", [key, words], { domain: "foldIn" });
  });
}

/**
 * Options of {@link uniform}.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const u = random.uniform(random.key(0), [2], { minval: -1, maxval: 1, dtype: "float64" });
 * ```
 */
export interface UniformOptions {
  /** float32 (default) or float64. */
  dtype?: DType;
  /** Lower bound, included (default 0). */
  minval?: number;
  /** Upper bound, excluded (default 1). */
  maxval?: number;
}

/**
 * Uniform samples in `[minval, maxval)` (default [0, 1)) of `shape`
 * (default a scalar): 24 random bits per float32, 53 per float64.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const u = random.uniform(random.key(1), [2, 3]); // float32 in [0, 1)
 * ```
 */
export function uniform(
  key: Key,
  shape: Shape = [],
  options: UniformOptions = {},
): Tensor {
  return eagerOp([key, shape, options], () => {
    const what = "random.uniform";
    checkKey(what, key);
    const s = checkShape(what, shape);
    const { minval = 0, maxval = 1 } = options;
    const dtype = floatDtype(what, options.dtype ?? "float32");
    if (
      typeof minval !== "number" || typeof maxval !== "number" ||
      !(minval < maxval) || !Number.isFinite(maxval - minval)
    ) {
      throw new RangeError(
        `${what}: need finite minval < maxval, got ${describe(minval)} and ${
          describe(maxval)
        }`,
      );
    }
    const u = draw(key, "uniform", s, dtype);
    return minval === 0 && maxval === 1
      ? u
      : add(mul(u, maxval - minval), minval);
  });
}

/**
 * Options of the samplers that only take a dtype.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const z = random.normal(random.key(0), [3], { dtype: "float64" });
 * ```
 */
export interface SampleOptions {
  /** float32 (default) or float64. */
  dtype?: DType;
}

/**
 * Standard normal samples of `shape` (Box–Muller; never inf or NaN).
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const w = random.normal(random.key(0), [16, 8]).mul(0.1);
 * ```
 */
export function normal(
  key: Key,
  shape: Shape = [],
  options: SampleOptions = {},
): Tensor {
  return eagerOp([key, shape, options], () => {
    const what = "random.normal";
    checkKey(what, key);
    const s = checkShape(what, shape);
    const dtype = floatDtype(what, options.dtype ?? "float32");
    return draw(key, "normal", s, dtype);
  });
}

/**
 * Uniform integers in `[minval, maxval)` of `shape`, as an int32 tensor (as
 * `jax.random.randint`; the range must fit int32).
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const dice = random.randint(random.key(0), [10], 1, 7); // values 1..6
 * ```
 */
export function randint(
  key: Key,
  shape: Shape,
  minval: number,
  maxval: number,
): Tensor {
  return eagerOp([key, shape, minval, maxval], () => {
    const what = "random.randint";
    checkKey(what, key);
    const s = checkShape(what, shape);
    const inInt32 = (v: number) =>
      Number.isInteger(v) && v >= -2147483648 && v <= 2147483648;
    if (!inInt32(minval) || !inInt32(maxval) || !(minval < maxval)) {
      throw new RangeError(
        `${what}: need integers minval < maxval within int32, got ${
          describe(minval)
        } and ${describe(maxval)}`,
      );
    }
    // minval + floor(u · span) in float64 (exact: both are integers < 2^53).
    const u = draw(key, "uniform", s, "float64");
    return cast(add(floor(mul(u, maxval - minval)), minval), "int32");
  });
}

/**
 * Samples that are 1 with probability `p` and 0 otherwise (a float tensor
 * of 1/0 until a bool dtype exists), of `shape` (default `p`'s shape). `p`
 * may be a number or a float tensor (broadcast; it may be traced).
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const mask = random.bernoulli(random.key(0), 0.9, [4, 4]); // dropout keep-mask
 * ```
 */
export function bernoulli(
  key: Key,
  p: TensorLike = 0.5,
  shape?: Shape,
): Tensor {
  return eagerOp([key, p, shape], () => {
    const what = "random.bernoulli";
    if (!(p instanceof Tensor) && typeof p !== "number") {
      throw new TypeError(
        `${what}: p must be a number or a tensor, got ${describe(p)}`,
      );
    }
    const dtype = p instanceof Tensor ? floatDtype(what, p.dtype) : "float32";
    const s = shape === undefined
      ? (p instanceof Tensor ? [...p.shape] : [])
      : checkShape(what, shape);
    if (p instanceof Tensor) broadcastShapes(what, s, p.shape);
    return lt(uniform(key, s, { dtype }), p);
  });
}

/**
 * Options of {@link categorical}.
 *
 * @example
 * ```ts
 * import { random, tensor } from "./mod.ts";
 * const draws = random.categorical(random.key(0), tensor([0, 1, 2]), { shape: [100] });
 * ```
 */
export interface CategoricalOptions {
  /** The class dim of the logits (default -1). */
  axis?: number;
  /** Shape of the result (default the logits' shape without `axis`); its trailing dims broadcast with that. */
  shape?: Shape;
}

/**
 * Class indices (int32) drawn with probabilities `softmax(logits)` along
 * `axis`, by the Gumbel-max trick (`argmax(logits + Gumbel noise)`), as
 * `jax.random.categorical`. The logits may be traced.
 *
 * @example
 * ```ts
 * import { random, tensor } from "./mod.ts";
 * const logits = tensor([[0, 0, 5], [5, 0, 0]]);
 * const classes = random.categorical(random.key(3), logits); // int32 [2], most likely [2, 0]
 * ```
 */
export function categorical(
  key: Key,
  logits: Tensor,
  options: CategoricalOptions = {},
): Tensor {
  return eagerOp([key, logits, options], () => {
    const what = "random.categorical";
    if (!(logits instanceof Tensor) || logits.ndim === 0) {
      throw new TypeError(
        `${what}: logits must be a tensor with a class dim, got ${
          describe(logits)
        }`,
      );
    }
    const dtype = floatDtype(what, logits.dtype);
    const ax = normAxis(options.axis ?? -1, logits.ndim, "axis");
    const batch = logits.shape.filter((_, i) => i !== ax);
    const out = options.shape === undefined
      ? batch
      : checkShape(what, options.shape);
    if (out.length < batch.length) {
      throw new RangeError(
        `${what}: shape ${
          fmtShape(out)
        } has fewer dims than the logits' batch shape ${fmtShape(batch)}`,
      );
    }
    const lead = out.length - batch.length;
    const tail = out.slice(lead);
    if (!tail.every((d, i) => d === batch[i] || batch[i] === 1)) {
      throw new RangeError(
        `${what}: shape ${
          fmtShape(out)
        } does not broadcast with the logits' batch shape ${fmtShape(batch)}`,
      );
    }
    const noiseShape = [...out.slice(0, lead), ...tail];
    noiseShape.splice(lead + ax, 0, logits.shape[ax]);
    // Gumbel noise -log(-log u); u = 0 gives -inf, a class never picked.
    const u = uniform(key, noiseShape, { dtype });
    const gumbel = neg(log(neg(log(u))));
    return argmax(add(logits, gumbel), lead + ax);
  });
}

/**
 * A random permutation of `0..n-1` (an int32 tensor), or of the entries of
 * `x` along `axis` (default 0; x may be traced), by Fisher–Yates.
 *
 * @example
 * ```ts
 * import { arange, random } from "./mod.ts";
 * const order = random.permutation(random.key(0), 5); // e.g. int32 [3, 0, 4, 1, 2]
 * const shuffled = random.permutation(random.key(0), arange(10).reshape([5, 2])); // rows shuffled
 * ```
 */
export function permutation(
  key: Key,
  x: number | Tensor,
  options: { axis?: number } = {},
): Tensor {
  return eagerOp([key, x, options], () => {
    const what = "random.permutation";
    checkKey(what, key);
    let n: number, axis = 0;
    if (x instanceof Tensor) {
      if (x.ndim === 0) {
        throw new RangeError(`${what}: x must have at least one dim`);
      }
      axis = normAxis(options.axis ?? 0, x.ndim, "axis");
      n = x.shape[axis];
    } else if (Number.isInteger(x) && (x as number) >= 0) n = x as number;
    else {
      throw new TypeError(
        `${what}: x must be a non-negative integer or a tensor, got ${
          describe(x)
        }`,
      );
    }
    const p = draw(key, "permutation", [n], "int32");
    return x instanceof Tensor ? indexSelect(x, axis, p) : p;
  });
}

/** Standard normal CDF of a number (erfc: relative accuracy in the lower tail). */
function normalCdfOf(x: number): number {
  using t = Tensor._fromStorage(
    fromArray("float64", [-x * Math.SQRT1_2]),
    [],
    "float64",
  );
  using e = erfc(t);
  return 0.5 * e.item();
}

/**
 * Inverse of the standard normal CDF, elementwise on float64 `p` in (0, 1):
 * on q = min(p, 1 - p) (the lower tail, where erfc keeps its relative
 * accuracy) a rational first guess (error < 5e-4), then Newton steps on
 * the CDF; negated where p > 0.5.
 */
function normalQuantile(p: Tensor): Tensor {
  const upper = gt(p, 0.5);
  const q = where(upper, sub(1, p), p);
  const t = sqrt(mul(log(q), -2));
  const num = add(mul(add(mul(t, 0.010328), 0.802853), t), 2.515517);
  const den = add(
    mul(add(mul(add(mul(t, 0.001308), 0.189269), t), 1.432788), t),
    1,
  );
  let x = neg(sub(t, div(num, den)));
  for (let i = 0; i < 4; i++) {
    const density = div(exp(mul(mul(x, x), -0.5)), Math.sqrt(2 * Math.PI));
    const cdf = mul(erfc(mul(x, -Math.SQRT1_2)), 0.5);
    // Where the density underflows, x stays (the step would divide by 0).
    x = where(eq(density, 0), x, sub(x, div(sub(cdf, q), density)));
  }
  return where(upper, neg(x), x);
}

/**
 * Standard normal samples conditioned on `[lower, upper]` (either may be
 * infinite), of `shape`, as `jax.random.truncated_normal`: inverse-CDF
 * sampling in float64 (accurate in the tails too, by working in the lower
 * tail), then rounded to `dtype`.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const w = random.truncatedNormal(random.key(0), -2, 2, [64, 32]).mul(0.02);
 * ```
 */
export function truncatedNormal(
  key: Key,
  lower: number,
  upper: number,
  shape: Shape = [],
  options: SampleOptions = {},
): Tensor {
  return eagerOp([key, lower, upper, shape, options], () => {
    const what = "random.truncatedNormal";
    checkKey(what, key);
    const s = checkShape(what, shape);
    const dtype = floatDtype(what, options.dtype ?? "float32");
    if (
      typeof lower !== "number" || typeof upper !== "number" || !(lower < upper)
    ) {
      throw new RangeError(
        `${what}: need lower < upper, got ${describe(lower)} and ${
          describe(upper)
        }`,
      );
    }
    // An interval in the upper tail is sampled mirrored, from the lower tail.
    const mirror = lower > 0;
    const [a, b] = mirror ? [-upper, -lower] : [lower, upper];
    const pa = normalCdfOf(a), pb = normalCdfOf(b);
    const p = add(mul(draw(key, "uniform", s, "float64"), pb - pa), pa);
    // p = 0 or 1 (the far tails) would give ±inf: the bounds instead.
    const x = minimum(
      maximum(where(le(p, 0), a, where(ge(p, 1), b, normalQuantile(p))), a),
      b,
    );
    return cast(mirror ? neg(x) : x, dtype);
  });
}
