/**
 * Random numbers from explicit keys, in the style of `jax.random`: a key is
 * a value (an int32 tensor of shape [2] holding two 32-bit words), every
 * sampler is a pure function of its key, shape and dtype, and new keys come
 * from `split` and `foldIn`, which hash the parent key with Philox (in a
 * counter domain that sampling never uses). Results never depend on call
 * order or on how a draw is chunked: element i of a draw is Philox4x32-10
 * of counter i under the key (crates/kernels/src/random.rs).
 *
 * Keys must be concrete. What works: a key closed over by a `jit`ted
 * function (its samples become constants of the compiled program, the same
 * on every call), a key passed to `vmap` with `inDims` null, and a key passed
 * beside the differentiated arguments of `grad`, `jacrev`, ... (it is not
 * traced). What is an error, with a message saying so, until sampling is a
 * primitive: a key that is itself traced, such as an argument of `jit` or a
 * batch of keys under `vmap`. Parameters
 * that are tensors (`bernoulli`'s `p`, `categorical`'s logits,
 * `permutation`'s x) may be traced: the noise is concrete, the arithmetic on
 * them is recorded.
 *
 * Use each key once: samplers given the same key return correlated values
 * (the same uniforms underlie `uniform` and `normal`); `split` it first.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import * as K from "../backend/kernels.ts";
import { fromArray, toTypedArray } from "../backend/storage.ts";
import {
  broadcastShapes,
  fmtShape,
  normAxis,
  type Shape,
  sizeOf,
} from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { add, erfc, log, lt, mul, neg } from "../ops/elementwise.ts";
import { indexSelect } from "../ops/layout.ts";
import { argmax } from "../ops/reduce.ts";
import { describe, type TensorLike } from "../ops/scalar.ts";
import { philox } from "./philox.ts";

/**
 * A random key: an int32 tensor of shape [2] (two 32-bit words), made by
 * {@link key}, {@link split} or {@link foldIn}.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const k: random.Key = random.key(0);
 * const [k1, k2] = random.split(k);
 * ```
 */
export type Key = Tensor;

// Counter-block word 2 marks derivations; samples always have it 0.
const DOMAIN_SPLIT = 0x5117, DOMAIN_FOLD = 0xf01d;
const TWO32 = 4294967296;

function makeKey(k0: number, k1: number): Key {
  return Tensor._fromStorage(
    fromArray("int32", [k0 | 0, k1 | 0]),
    [2],
    "int32",
  );
}

/** Two 32-bit words of a safe integer (two's complement for negatives). */
function words64(what: string, name: string, v: unknown): [number, number] {
  if (!Number.isSafeInteger(v)) {
    throw new TypeError(
      `${what}: ${name} must be a safe integer, got ${describe(v)}`,
    );
  }
  const b = BigInt.asUintN(64, BigInt(v as number));
  return [Number(b & 0xffffffffn), Number(b >> 32n)];
}

/** The words of a concrete key; a clear error for anything else. */
function keyWords(what: string, key: unknown): [number, number] {
  if (
    !(key instanceof Tensor) || key.dtype !== "int32" || key.ndim !== 1 ||
    key.shape[0] !== 2
  ) {
    throw new TypeError(
      `${what}: expected a key (an int32 tensor of shape [2] from random.key or random.split), got ${
        describe(key)
      }`,
    );
  }
  let concrete: Tensor;
  try {
    concrete = key._concrete(what);
  } catch {
    throw new TypeError(
      `${what}: the key is traced (an argument of jit, a batch of keys under vmap, ...); ` +
        "random sampling needs a concrete key for now: draw the numbers outside and pass them in, " +
        "or close over the key (its samples are then constants of the traced function)",
    );
  }
  const d = concrete.data();
  return [d[0] >>> 0, d[1] >>> 0];
}

/**
 * The (seed, first counter) of a key's stream for the sampling kernels,
 * whose seed holds 53 bits: the key's low 53 bits are the seed and its top
 * 11 bits select a block of 2^32 counters, so distinct keys never share
 * counters.
 */
function stream(k: [number, number]): [number, number] {
  return [k[0] + (k[1] & 0x1fffff) * TWO32, (k[1] >>> 21) * TWO32];
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

/** n uniform float64 numbers in [0, 1) from a key's stream. */
function uniform64(k: [number, number], n: number): Float64Array {
  const [seed, ctr] = stream(k);
  const st = K.randomUniform("float64", n, seed, ctr);
  const out = toTypedArray(st) as Float64Array;
  st.dispose();
  return out;
}

/**
 * A key from an integer seed (any safe integer), as `jax.random.key`.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const k = random.key(42);
 * const x = random.normal(k, [3]);
 * ```
 */
export function key(seed: number): Key {
  const [lo, hi] = words64("random.key", "seed", seed);
  return makeKey(lo, hi);
}

/**
 * `num` (default 2) new keys derived from `key`, independent of it and of
 * each other, as `jax.random.split` (returned as an array).
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * let k = random.key(0);
 * let sub: random.Key;
 * [k, sub] = random.split(k);
 * const noise = random.normal(sub, [4]);
 * const keys = random.split(k, 8); // 8 keys
 * ```
 */
export function split(key: Key, num = 2): Key[] {
  const [k0, k1] = keyWords("random.split", key);
  if (!Number.isInteger(num) || num < 0 || num > TWO32) {
    throw new RangeError(
      `random.split: num must be a non-negative integer, got ${describe(num)}`,
    );
  }
  return Array.from({ length: num }, (_, i) => {
    const w = philox([i >>> 0, 0, DOMAIN_SPLIT, 0], k0, k1);
    return makeKey(w[0], w[1]);
  });
}

/**
 * A new key from `key` and an integer (a step number, a layer index, ...),
 * as `jax.random.fold_in`: distinct data give independent keys.
 *
 * @example
 * ```ts
 * import { random } from "./mod.ts";
 * const base = random.key(0);
 * const perStep = (step: number) => random.foldIn(base, step);
 * const a = random.uniform(perStep(1), [2]);
 * ```
 */
export function foldIn(key: Key, data: number): Key {
  const [k0, k1] = keyWords("random.foldIn", key);
  const [lo, hi] = words64("random.foldIn", "data", data);
  const w = philox([lo, hi, DOMAIN_FOLD, 0], k0, k1);
  return makeKey(w[0], w[1]);
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
  const what = "random.uniform";
  const k = keyWords(what, key);
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
  const [seed, ctr] = stream(k);
  const u = Tensor._fromStorage(
    K.randomUniform(dtype, sizeOf(s), seed, ctr),
    s,
    dtype,
  );
  return minval === 0 && maxval === 1
    ? u
    : add(mul(u, maxval - minval), minval);
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
  const what = "random.normal";
  const k = keyWords(what, key);
  const s = checkShape(what, shape);
  const dtype = floatDtype(what, options.dtype ?? "float32");
  const [seed, ctr] = stream(k);
  return Tensor._fromStorage(
    K.randomNormal(dtype, sizeOf(s), seed, ctr),
    s,
    dtype,
  );
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
  const what = "random.randint";
  const k = keyWords(what, key);
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
  const u = uniform64(k, sizeOf(s));
  const span = maxval - minval;
  const out = new Int32Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = minval + Math.floor(u[i] * span);
  return Tensor._fromStorage(fromArray("int32", out), s, "int32");
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
  const what = "random.permutation";
  const k = keyWords(what, key);
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
  const u = uniform64(k, n);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const p = Tensor._fromStorage(fromArray("int32", perm), [n], "int32");
  return x instanceof Tensor ? indexSelect(x, axis, p) : p;
}

/**
 * Standard normal CDF, with relative accuracy in the lower tail: the erfc
 * kernel on a float64 scalar.
 */
function normalCdf(x: number): number {
  using t = Tensor._fromStorage(
    fromArray("float64", [-x * Math.SQRT1_2]),
    [],
    "float64",
  );
  using e = erfc(t);
  return 0.5 * e.item();
}

/** Inverse of the standard normal CDF for p in (0, 1). */
function normalQuantile(p: number): number {
  if (p > 0.5) return -normalQuantile(1 - p);
  // A rational first guess (error < 5e-4), then Newton steps on the CDF.
  const t = Math.sqrt(-2 * Math.log(p));
  let x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) /
      (1 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
  for (let i = 0; i < 4; i++) {
    const density = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    if (density === 0) break;
    x -= (normalCdf(x) - p) / density;
  }
  return x;
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
  const what = "random.truncatedNormal";
  const k = keyWords(what, key);
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
  const pa = normalCdf(a), pb = normalCdf(b);
  const u = uniform64(k, sizeOf(s));
  const out = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const p = pa + u[i] * (pb - pa);
    let x = p <= 0 ? a : p >= 1 ? b : normalQuantile(p);
    x = Math.min(Math.max(x, a), b);
    out[i] = mirror ? -x : x;
  }
  return Tensor._fromStorage(fromArray(dtype, out), s, dtype);
}
