/**
 * The Tensor: an immutable n-dimensional array whose elements live in
 * WebAssembly memory. Transforms substitute tracers (subclasses) for tensors,
 * so every method works inside `grad`, `vmap` and friends too.
 *
 * This module is the bottom of the core: it defines the data (shape, dtype,
 * storage or trace) and declares the operation methods (`add`, `sum`,
 * `reshape`, `backward`, ...), whose bodies live with the operations in the
 * layers above and are attached by src/methods.ts, which mod.ts imports
 * first. That keeps the import graph acyclic: tracers in core extend Tensor,
 * operations in ops/ call core, and nothing below ops/ imports ops/.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import {
  deadStorage,
  settleShadows,
  type Storage,
  toTypedArray,
} from "../backend/storage.ts";
import type { Trace } from "./trace.ts";
import { sizeOf, stridesOf } from "./shape.ts";
import { copyStrided } from "../backend/kernels.ts";
import { formatTensor } from "./format.ts";
import { type TensorJSON, tensorToJSON } from "./to_json.ts";

/**
 * Options of `backward()`.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad();
 * const y = x.pow(3).sum();
 * y.backward(undefined, { createGraph: true }); // x.grad = 3x², differentiable
 * console.log(x.grad);
 * ```
 */
export interface BackwardOptions {
  /**
   * Keep the graph, and the buffers of its intermediate results, for another
   * backward pass (default: `createGraph`).
   */
  retainGraph?: boolean;
  /** Record the backward pass so that `.grad` can be differentiated again. */
  createGraph?: boolean;
}

/**
 * A tensor or a plain number.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const y = tensor([1, 2]).mul(2).add(tensor([0.5, 0.5])); // numbers act as scalars
 * ```
 */
export type TensorLike = Tensor | number;

/**
 * Which dims to reduce: one, several, or all when omitted.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * x.sum(); // all dims: tensor(10.)
 * x.sum(0); // tensor([4., 6.])
 * x.sum([0, 1], true); // tensor([[10.]])
 * ```
 */
export type Dims = number | readonly number[] | undefined;

/**
 * Nested arrays as returned by `toArray()`.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const n = tensor([[1, 2], [3, 4]]).toArray(); // [[1, 2], [3, 4]]
 * ```
 */
export type NestedNumbers = number | NestedNumbers[];

/**
 * The operation methods of every tensor, declared here and attached by
 * src/methods.ts (see the module documentation).
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const y = tensor([1, 2, 3]).mul(2).sin().sum();
 * ```
 */
export interface Tensor {
  /**
   * A tensor with the same values that records the operations applied to it,
   * for `backward()` and `autograd.grad` (PyTorch's `requires_grad_()`).
   *
   * @example
   * ```ts
   * import { tensor } from "./mod.ts";
   * const x = tensor([1, 2]).requiresGrad();
   * x.square().sum().backward();
   * console.log(x.grad); // tensor([2., 4.])
   * ```
   */
  requiresGrad(): Tensor;
  /**
   * Accumulates the gradient of this tensor into the `.grad` of every leaf
   * it depends on. Unless `retainGraph` (or `createGraph`) is set, it then
   * frees the graph, including the buffers of its intermediate results (as
   * PyTorch frees saved tensors), so a synchronous training loop stays
   * bounded: read intermediates before calling it. This tensor, the leaves
   * and `detach()`ed copies stay valid.
   *
   * @example
   * ```ts
   * import { noGrad, randn, tensor } from "./mod.ts";
   * let w = randn([3]).requiresGrad();
   * const x = tensor([1, 2, 3]);
   * for (let step = 0; step < 100; step++) {
   *   using loss = w.mul(x).sum().sub(1).square(); // freed at the end of the step
   *   loss.backward(); // frees the intermediates of this step
   *   const next = noGrad(() => {
   *     using update = w.grad!.mul(0.01);
   *     return w.sub(update);
   *   });
   *   w.zeroGrad(); // frees the gradient
   *   w.dispose(); // frees the old parameter
   *   w = next.requiresGrad();
   * }
   * ```
   */
  backward(gradient?: Tensor, options?: BackwardOptions): void;
  /** The gradient accumulated by `backward()` on a `requiresGrad()` leaf (null before); settable on such a leaf. */
  grad: Tensor | null;
  /**
   * Clears `.grad` (as `optimizer.zero_grad()` does for a parameter),
   * freeing the buffer that `backward()` made for it (a gradient assigned
   * with `x.grad = g` is only dropped).
   */
  zeroGrad(): void;
  /** `this + o` elementwise (see `add`). */
  add(o: TensorLike): Tensor;
  /** `this - o` elementwise (see `sub`). */
  sub(o: TensorLike): Tensor;
  /** `this * o` elementwise (see `mul`). */
  mul(o: TensorLike): Tensor;
  /** `this / o` elementwise (see `div`). */
  div(o: TensorLike): Tensor;
  /** `this ** o` elementwise (see `pow`). */
  pow(o: TensorLike): Tensor;
  /** Elementwise maximum with `o`. */
  maximum(o: TensorLike): Tensor;
  /** Elementwise minimum with `o`. */
  minimum(o: TensorLike): Tensor;
  /** `this == o` as bool. */
  eq(o: TensorLike): Tensor;
  /** `this != o` as bool. */
  ne(o: TensorLike): Tensor;
  /** `this < o` as bool. */
  lt(o: TensorLike): Tensor;
  /** `this <= o` as bool. */
  le(o: TensorLike): Tensor;
  /** `this > o` as bool. */
  gt(o: TensorLike): Tensor;
  /** `this >= o` as bool. */
  ge(o: TensorLike): Tensor;
  /** Elementwise `-this`. */
  neg(): Tensor;
  /** Elementwise absolute value. */
  abs(): Tensor;
  /** Elementwise `e^this`. */
  exp(): Tensor;
  /** Elementwise natural logarithm. */
  log(): Tensor;
  /** Elementwise square root. */
  sqrt(): Tensor;
  /** Elementwise sine. */
  sin(): Tensor;
  /** Elementwise cosine. */
  cos(): Tensor;
  /** Elementwise tangent. */
  tan(): Tensor;
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor;
  /** Elementwise logistic function. */
  sigmoid(): Tensor;
  /** Elementwise `max(this, 0)`. */
  relu(): Tensor;
  /** Elementwise square. */
  square(): Tensor;
  /** Elementwise `1 / this`. */
  reciprocal(): Tensor;
  /** Elementwise sign (-1, 0 or 1). */
  sign(): Tensor;
  /** Elementwise `log(1 + this)`, accurate near 0 (see `log1p`). */
  log1p(): Tensor;
  /** Elementwise `e^this - 1`, accurate near 0 (see `expm1`). */
  expm1(): Tensor;
  /** Elementwise base-2 logarithm. */
  log2(): Tensor;
  /** Elementwise base-10 logarithm. */
  log10(): Tensor;
  /** Elementwise `2^this`. */
  exp2(): Tensor;
  /** Elementwise inverse sine. */
  asin(): Tensor;
  /** Elementwise inverse cosine. */
  acos(): Tensor;
  /** Elementwise inverse tangent. */
  atan(): Tensor;
  /** Elementwise hyperbolic sine. */
  sinh(): Tensor;
  /** Elementwise hyperbolic cosine. */
  cosh(): Tensor;
  /** Elementwise inverse hyperbolic sine. */
  asinh(): Tensor;
  /** Elementwise inverse hyperbolic cosine. */
  acosh(): Tensor;
  /** Elementwise inverse hyperbolic tangent. */
  atanh(): Tensor;
  /** Elementwise largest integer `<= this`. */
  floor(): Tensor;
  /** Elementwise smallest integer `>= this`. */
  ceil(): Tensor;
  /** Elementwise nearest integer, ties to even (see `round`). */
  round(): Tensor;
  /** Elementwise integer part (rounds toward zero). */
  trunc(): Tensor;
  /** Elementwise error function (see `erf`). */
  erf(): Tensor;
  /** Elementwise `1 - erf(this)`, accurate in the tail (see `erfc`). */
  erfc(): Tensor;
  /** Elementwise inverse error function (see `erfinv`). */
  erfinv(): Tensor;
  /** Elementwise `ln|Γ(this)|` (see `lgamma`). */
  lgamma(): Tensor;
  /** Elementwise `Γ'(this)/Γ(this)` (see `digamma`). */
  digamma(): Tensor;
  /** `atan2(this, o)`: the angle of `(o, this)` (see `atan2`). */
  atan2(o: TensorLike): Tensor;
  /** C remainder of `this / o`, with the sign of `this` (see `fmod`). */
  fmod(o: TensorLike): Tensor;
  /** Python remainder of `this / o`, with the sign of `o` (see `remainder`). */
  remainder(o: TensorLike): Tensor;
  /** `floor(this / o)`, int32 for int32 operands (see `floorDivide`). */
  floorDivide(o: TensorLike): Tensor;
  /** `this` with NaN and ±inf replaced by finite numbers (see `nanToNum`). */
  nanToNum(
    options?: { nan?: number; posinf?: number; neginf?: number },
  ): Tensor;
  /** `polygamma(n, this)`, the n-th derivative of digamma (see `polygamma`). */
  polygamma(n: number): Tensor;
  /** Elementwise: true where `this` is NaN, as bool (see `isnan`). */
  isnan(): Tensor;
  /** Elementwise: true where `this` is finite, as bool (see `isfinite`). */
  isfinite(): Tensor;
  /** Sum over `dim` (all dims when omitted). */
  sum(dim?: Dims, keepdim?: boolean): Tensor;
  /** Mean over `dim` (all dims when omitted). */
  mean(dim?: Dims, keepdim?: boolean): Tensor;
  /** Maximum over `dim` (all dims when omitted). */
  max(dim?: Dims, keepdim?: boolean): Tensor;
  /** Minimum over `dim` (all dims when omitted). */
  min(dim?: Dims, keepdim?: boolean): Tensor;
  /** Product over `dim` (all dims when omitted). */
  prod(dim?: Dims, keepdim?: boolean): Tensor;
  /** Index of the largest entry along `dim` (flattened when omitted); int32. */
  argmax(dim?: number, keepdim?: boolean): Tensor;
  /**
   * Index of the smallest entry along `dim` (flattened when omitted); int32.
   */
  argmin(dim?: number, keepdim?: boolean): Tensor;
  /** Matrix product (see `matmul`). */
  matmul(o: Tensor): Tensor;
  /** Inner product of two 1-D tensors. */
  dot(o: Tensor): Tensor;
  /** Outer product of two 1-D tensors. */
  outer(o: Tensor): Tensor;
  /** The same values in a new shape (one size may be -1). */
  reshape(shape: readonly number[]): Tensor;
  /** Reorders the dims (see `permute`). */
  permute(dims: readonly number[]): Tensor;
  /** Swaps two dims (default: the last two). */
  transpose(dim0?: number, dim1?: number): Tensor;
  /** The transpose of a matrix (last two dims swapped). */
  readonly T: Tensor;
  /** Moves dims `source` to positions `destination`. */
  movedim(
    source: number | readonly number[],
    destination: number | readonly number[],
  ): Tensor;
  /** Broadcasts to `shape`. */
  expand(shape: readonly number[]): Tensor;
  /** Removes size-1 dims (all, or those in `dim`). */
  squeeze(dim?: number | readonly number[]): Tensor;
  /** Inserts a size-1 dim at `dim`. */
  unsqueeze(dim: number): Tensor;
  /** Merges dims `startDim` to `endDim` into one. */
  flatten(startDim?: number, endDim?: number): Tensor;
  /** Python-style slice along `dim` (see `slice`). */
  slice(dim: number, start?: number, end?: number, step?: number): Tensor;
  /** `length` elements from `start` along `dim`. */
  narrow(dim: number, start: number, length: number): Tensor;
  /** The slice at `index` along `dim`, that dim removed. */
  select(dim: number, index: number): Tensor;
  /**
   * The slices along dim 0, in order (as iterating a PyTorch tensor), so
   * `const [k1, k2] = random.split(k)` destructures; a 0-d tensor throws.
   */
  [Symbol.iterator](): IterableIterator<Tensor>;
  /** Entries at `indices` along `dim` (as `torch.index_select`). */
  index(dim: number, indices: Tensor | readonly number[]): Tensor;
  /** Converts to another dtype. */
  to(dtype: DType): Tensor;
  /** A value with no derivative: constant to every transform. */
  detach(): Tensor;
  /** Softmax along `dim` (default -1), the maximum subtracted (see `softmax`). */
  softmax(dim?: number): Tensor;
  /** Log-softmax along `dim` (default -1), stably (see `logSoftmax`). */
  logSoftmax(dim?: number): Tensor;
  /** `log(sum(exp(this), dim))`, stably (see `logsumexp`). */
  logsumexp(dim?: Dims, keepdim?: boolean | { keepdim?: boolean }): Tensor;
  /** Variance over `dim` with `correction` (default 1) (see `variance`). */
  var(
    dim?: Dims | { correction?: number; keepdim?: boolean },
    options?: { correction?: number; keepdim?: boolean },
  ): Tensor;
  /** Standard deviation over `dim` with `correction` (default 1) (see `std`). */
  std(
    dim?: Dims | { correction?: number; keepdim?: boolean },
    options?: { correction?: number; keepdim?: boolean },
  ): Tensor;
  /** The vector p-norm over `dim` (see `norm`). */
  norm(p?: number | "fro", dim?: Dims, keepdim?: boolean): Tensor;
  /** Limits the entries to `[min, max]` (see `clamp`). */
  clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor;
  /** `log(exp(this) + exp(o))`, stably (see `logaddexp`). */
  logaddexp(o: TensorLike): Tensor;
  /** `sqrt(this² + o²)`, without overflow (see `hypot`). */
  hypot(o: TensorLike): Tensor;
  /** Pieces along `dim` of a size or of listed sizes (see `split`). */
  split(
    splitSizeOrSections: number | readonly number[],
    dim?: number,
  ): Tensor[];
  /** `chunks` pieces along `dim` (see `chunk`). */
  chunk(chunks: number, dim?: number): Tensor[];
  /** The lower triangle of the last two dims (see `tril`). */
  tril(diagonal?: number): Tensor;
  /** The upper triangle of the last two dims (see `triu`). */
  triu(diagonal?: number): Tensor;
  /** Vector to diagonal matrix, or matrix to diagonal (see `diag`). */
  diag(diagonal?: number): Tensor;
  /** A diagonal of the matrices over `dim1`, `dim2` (see `diagonal`). */
  diagonal(offset?: number, dim1?: number, dim2?: number): Tensor;
  /** Sum of the main diagonal of a matrix (see `trace`). */
  trace(): Tensor;
  /** Repeats the tensor `reps[i]` times along each dim (see `tile`). */
  tile(reps: readonly number[]): Tensor;
  /** Repeats each entry along `dim` (see `repeatInterleave`). */
  repeatInterleave(
    repeats: number | readonly number[] | Tensor,
    dim?: number,
  ): Tensor;
  /** Rolls entries along `dims` by `shifts` (see `roll`). */
  roll(
    shifts: number | readonly number[],
    dims?: number | readonly number[],
  ): Tensor;
  /** Reverses the entries along `dims` (see `flip`). */
  flip(dims: number | readonly number[]): Tensor;
  /** Entries along `dim` at an int32 `index` of the same rank (see `gather`). */
  gather(dim: number, index: Tensor): Tensor;
  /** Entries at `indices` along `dim`, broadcasting (see `takeAlongDim`). */
  takeAlongDim(indices: Tensor, dim?: number): Tensor;
  /** Kronecker product with `other` (see `kron`). */
  kron(other: Tensor): Tensor;
  /** Elementwise `this && other` as bool (see `logicalAnd`). */
  logicalAnd(other: Tensor | number): Tensor;
  /** Elementwise `this || other` as bool (see `logicalOr`). */
  logicalOr(other: Tensor | number): Tensor;
  /** Elementwise exclusive or as bool (see `logicalXor`). */
  logicalXor(other: Tensor | number): Tensor;
  /** Elementwise `!this` as bool (see `logicalNot`). */
  logicalNot(): Tensor;
  /** Whether any entry over `dim` is nonzero, as bool (see `any`). */
  any(dim?: Dims, keepdim?: boolean): Tensor;
  /** Whether every entry over `dim` is nonzero, as bool (see `all`). */
  all(dim?: Dims, keepdim?: boolean): Tensor;
  /** `this` with `value` where `mask` is nonzero (see `maskedFill`). */
  maskedFill(mask: Tensor, value: number | Tensor): Tensor;
  /** Running sum along `dim` (see `cumsum`). */
  cumsum(dim: number): Tensor;
  /** Running product along `dim`, exact at zeros (see `cumprod`). */
  cumprod(dim: number): Tensor;
  /** `log(cumsum(exp(this), dim))`, stably (see `logcumsumexp`). */
  logcumsumexp(dim: number): Tensor;
  /** Sorted values and their int32 positions, stably (see `sort`). */
  sort(
    options?: { dim?: number; descending?: boolean; stable?: boolean } | number,
  ): { values: Tensor; indices: Tensor };
  /** The int32 positions that sort this, stably (see `argsort`). */
  argsort(
    options?: { dim?: number; descending?: boolean; stable?: boolean } | number,
  ): Tensor;
  /** This with `src` written at `index` along `dim` (see `scatter`). */
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor;
  /** This with `src` added at `index` along `dim` (see `scatterAdd`). */
  scatterAdd(dim: number, index: Tensor, src: Tensor | number): Tensor;
  /** This with slices of `source` added at `index` along `dim` (see `indexAdd`). */
  indexAdd(
    dim: number,
    index: Tensor | readonly number[],
    source: Tensor,
    options?: { alpha?: number },
  ): Tensor;
  /** The k largest (or smallest) values and their positions (see `topk`). */
  topk(
    k: number,
    options?: { dim?: number; largest?: boolean; sorted?: boolean } | number,
  ): { values: Tensor; indices: Tensor };
}

/**
 * Whose code is running: user code (the default, and the functions a
 * transform calls) or the library (transform bodies and the rules). A
 * concrete tensor made in user code holds its buffer, so no transform frees
 * it; one made in the library is a temporary that the enclosing top-level
 * transform frees unless it is handed out (ARCHITECTURE.md ("Buffers and lifetimes")).
 */
let userCode = true;

/** @internal Runs library code (a transform's body, a rule). */
export function inLibrary<T>(body: () => T): T {
  if (!userCode) return body();
  settleShadows();
  userCode = false;
  try {
    return body();
  } finally {
    userCode = true;
  }
}

/** @internal Runs user code (the function a transform was given). */
export function inUserCode<T>(body: () => T): T {
  if (userCode) return body();
  userCode = true;
  try {
    return body();
  } finally {
    userCode = false;
  }
}

/** @internal True while user code runs. */
export function isUserCode(): boolean {
  return userCode;
}

/**
 * An immutable n-dimensional array of float32 (default), float64 or int32.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * const y = x.matmul(x).add(1).tanh();
 * console.log(y.shape, y.sum().item());
 * ```
 */
export class Tensor {
  /** @internal the buffer of a concrete tensor; null for a tracer. */
  _storage: Storage | null;
  /**
   * @internal This object is one of its buffer's holders (counted in
   * `_storage._refs`) until it is disposed: true for tensors made in user
   * code and for every tensor a transform returns (ARCHITECTURE.md ("Buffers and lifetimes")).
   */
  _holds = false;
  /** @internal the trace that owns this tracer; null for a concrete tensor. */
  _trace: Trace | null;
  /** Size of each dimension. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;

  /** @internal use `tensor()`, `zeros()`, ... to create tensors. */
  constructor(
    shape: readonly number[],
    dtype: DType,
    storage: Storage | null,
    trace: Trace | null,
  ) {
    this.shape = shape;
    this.dtype = dtype;
    this._storage = storage;
    this._trace = trace;
    if (storage !== null && userCode) {
      this._holds = true;
      storage._refs++;
    }
  }

  /** @internal Makes this object a holder of its buffer (if it is not one). */
  _hold(): this {
    if (!this._holds && this._storage !== null) {
      this._holds = true;
      this._storage._refs++;
    }
    return this;
  }

  /**
   * @internal This value as a tensor user code may own and dispose: this
   * object if nothing holds it yet, else a new object holding the same
   * buffer (so that disposing it never frees what another holder uses).
   */
  _handOut(): Tensor {
    const s = this._storage;
    if (s === null || s.disposed) return this;
    if (!this._holds) return this._hold();
    return new Tensor(this.shape, this.dtype, s, null)._hold();
  }

  /**
   * @internal What an operation returns when its result is its operand (a
   * reshape to the same shape, a sum over no axes): in user code a new
   * holder of the same buffer, so that the two are disposed independently;
   * inside the library the operand itself.
   */
  _alias(): Tensor {
    return userCode && this._storage !== null ? this._handOut() : this;
  }

  /** @internal wraps a storage the caller owns. */
  static _fromStorage(
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
  ): Tensor {
    return new Tensor(shape, dtype, storage, null);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** @internal the concrete tensor behind this value (tracers override). */
  _concrete(what: string): Tensor {
    if (this._storage === null) throw new Error(`${what}: no concrete value`);
    return this;
  }

  /**
   * A typed-array copy of the elements in row-major order (an `Int32Array`
   * of 1 and 0 for bool).
   */
  data(): Float32Array | Float64Array | Int32Array {
    return this._read("data()");
  }

  /** The elements, read for `what` (which names the caller in errors). */
  private _read(what: string): Float32Array | Float64Array | Int32Array {
    return toTypedArray(this._concrete(what)._storage!);
  }

  /**
   * The elements as nested arrays (a number for a rank-0 tensor); a bool
   * tensor gives 1 and 0.
   */
  toArray(): NestedNumbers {
    const flat = this._read("toArray()");
    const build = (dim: number, off: number): NestedNumbers => {
      if (dim === this.ndim) return flat[off];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from(
        { length: this.shape[dim] },
        (_, i) => build(dim + 1, off + i * stride),
      );
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor (1 or 0 for bool). */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(
        `item(): the tensor has ${this.size} elements (shape [${this.shape}]); only one-element tensors can be converted`,
      );
    }
    return this._read("item()")[0];
  }

  /**
   * Releases this tensor's hold on its WebAssembly buffer; the buffer is
   * freed at once when nothing else holds it (another tensor sharing it,
   * such as a reshape, or a jit program or vjp closure that uses it), else
   * when the last holder is disposed or collected. Idempotent.
   */
  dispose(): void {
    const s = this._storage;
    if (s === null) return;
    if (this._holds) {
      this._holds = false;
      s._refs--;
    }
    if (s._refs <= 0) s.dispose();
  }
  /**
   * @internal Gives this tensor away (jit's `donateArgnums`): releases its
   * hold, frees the buffer if nothing else holds it, and makes every later
   * use of this object an error that says so.
   */
  _donate(): void {
    const s = this._storage;
    if (s === null || s._deadMessage !== undefined) return;
    this.dispose();
    this._storage = deadStorage(
      s.length,
      s.dtype,
      "tensor was donated to a jit call (donateArgnums) and can no longer be used; use the call's result instead",
    );
  }

  /** Frees the memory now (for `using` declarations). */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * A copy with its own buffer (so that disposing one leaves the other
   * valid). Inside a transform it is the identity, which is differentiable.
   */
  clone(): Tensor {
    if (this._storage === null) return this;
    const copy = copyStrided(
      this._storage,
      0,
      this.shape,
      stridesOf(this.shape),
    );
    return Tensor._fromStorage(copy, this.shape, this.dtype);
  }

  /**
   * Text for string conversion. A traced tensor (inside a transform or jit)
   * refuses arithmetic conversion: `x * 2` or `Math.exp(x)` would silently
   * give NaN instead of a traced operation.
   */
  [Symbol.toPrimitive](hint: string): string {
    if (hint !== "string" && this._storage === null) {
      throw new TypeError(
        "a traced tensor (an argument of a function under a transform or jit) cannot be used as a JS number: " +
          "use tensor operations (x.mul(2), x.exp()); for a plain number jit should not trace, list its argument in staticArgnums",
      );
    }
    return formatTensor(this);
  }

  /** PyTorch-style text, e.g. `tensor([1., 2.])`. */
  toString(): string {
    return formatTensor(this);
  }
  /**
   * What `JSON.stringify` writes: `{ shape, dtype, data }`, with the values
   * as nested arrays up to 1000 elements and a summary beyond (use `save`
   * to store tensors).
   */
  toJSON(): TensorJSON {
    return tensorToJSON(this);
  }
  /** `console.log` in Deno prints `toString()`. */
  [Symbol.for("Deno.customInspect")](): string {
    return formatTensor(this);
  }
  /** `console.log` in Node prints `toString()`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return formatTensor(this);
  }
}
