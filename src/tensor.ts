/**
 * The Tensor: an immutable n-dimensional array whose elements live in
 * WebAssembly memory. Transforms substitute tracers (subclasses) for tensors,
 * so every method here works inside `grad`, `vmap` and friends too.
 * @module
 */
import type { DType } from "./backend/dtype.ts";
import { type Storage, toTypedArray } from "./backend/storage.ts";
import type { Trace } from "./core/trace.ts";
import { sizeOf, stridesOf } from "./shape.ts";
import { copyStrided } from "./backend/kernels.ts";
import * as E from "./ops/elementwise.ts";
import * as L from "./ops/layout.ts";
import * as R from "./ops/reduce.ts";
import * as M from "./ops/linalg.ts";
import type { TensorLike } from "./ops/scalar.ts";
import { formatTensor } from "./format.ts";

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
  /** Keep the graph for another backward pass. */
  retainGraph?: boolean;
  /** Record the backward pass so that `.grad` can be differentiated again. */
  createGraph?: boolean;
}

/**
 * @internal The eager tape (src/autograd) extends Tensor, so this module
 * cannot import it; it installs its entry points here when loaded.
 */
export const autogradHooks: {
  requiresGrad?: (t: Tensor) => Tensor;
  backward?: (
    t: Tensor,
    gradient: Tensor | undefined,
    options: BackwardOptions,
  ) => void;
  leafGrad?: (t: Tensor) => { gradSlot: Tensor | null } | null;
} = {};

function hook<K extends keyof typeof autogradHooks>(
  name: K,
): NonNullable<typeof autogradHooks[K]> {
  const h = autogradHooks[name];
  if (h === undefined) {
    throw new Error(
      `${name}: the autograd module is not loaded (import jacobi's mod.ts)`,
    );
  }
  return h as NonNullable<typeof autogradHooks[K]>;
}

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

  /** A typed-array copy of the elements in row-major order. */
  data(): Float32Array | Float64Array | Int32Array {
    return toTypedArray(this._concrete("data()")._storage!);
  }

  /** The elements as nested arrays (a number for a rank-0 tensor). */
  toArray(): NestedNumbers {
    const flat = this.data();
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

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(
        `item(): the tensor has ${this.size} elements (shape [${this.shape}]); only one-element tensors can be converted`,
      );
    }
    return this.data()[0];
  }

  /** Releases the WebAssembly memory now (otherwise the garbage collector does). Tensors made by reshape share it. */
  dispose(): void {
    this._storage?.dispose();
  }
  /** Frees the memory now (for `using` declarations). */
  [Symbol.dispose](): void {
    this.dispose();
  }

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
  requiresGrad(): Tensor {
    return hook("requiresGrad")(this);
  }
  /** Accumulates the gradient of this tensor into the `.grad` of every leaf it depends on. */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    hook("backward")(this, gradient, options);
  }
  /** The gradient accumulated by `backward()` on a `requiresGrad()` leaf (null before). */
  get grad(): Tensor | null {
    return hook("leafGrad")(this)?.gradSlot ?? null;
  }
  set grad(value: Tensor | null) {
    const slot = hook("leafGrad")(this);
    if (slot === null) {
      throw new TypeError(
        "grad can only be set on a tensor made by requiresGrad()",
      );
    }
    slot.gradSlot = value;
  }
  /** Clears `.grad` (as `optimizer.zero_grad()` does for a parameter). */
  zeroGrad(): void {
    const slot = hook("leafGrad")(this);
    if (slot !== null) slot.gradSlot = null;
  }

  /** `this + o` elementwise (see `add`). */
  add(o: TensorLike): Tensor {
    return E.add(this, o);
  }
  /** `this - o` elementwise (see `sub`). */
  sub(o: TensorLike): Tensor {
    return E.sub(this, o);
  }
  /** `this * o` elementwise (see `mul`). */
  mul(o: TensorLike): Tensor {
    return E.mul(this, o);
  }
  /** `this / o` elementwise (see `div`). */
  div(o: TensorLike): Tensor {
    return E.div(this, o);
  }
  /** `this ** o` elementwise (see `pow`). */
  pow(o: TensorLike): Tensor {
    return E.pow(this, o);
  }
  /** Elementwise maximum with `o`. */
  maximum(o: TensorLike): Tensor {
    return E.maximum(this, o);
  }
  /** Elementwise minimum with `o`. */
  minimum(o: TensorLike): Tensor {
    return E.minimum(this, o);
  }
  /** `this == o` as 1/0. */
  eq(o: TensorLike): Tensor {
    return E.eq(this, o);
  }
  /** `this != o` as 1/0. */
  ne(o: TensorLike): Tensor {
    return E.ne(this, o);
  }
  /** `this < o` as 1/0. */
  lt(o: TensorLike): Tensor {
    return E.lt(this, o);
  }
  /** `this <= o` as 1/0. */
  le(o: TensorLike): Tensor {
    return E.le(this, o);
  }
  /** `this > o` as 1/0. */
  gt(o: TensorLike): Tensor {
    return E.gt(this, o);
  }
  /** `this >= o` as 1/0. */
  ge(o: TensorLike): Tensor {
    return E.ge(this, o);
  }

  /** Elementwise `-this`. */
  neg(): Tensor {
    return E.neg(this);
  }
  /** Elementwise absolute value. */
  abs(): Tensor {
    return E.abs(this);
  }
  /** Elementwise `e^this`. */
  exp(): Tensor {
    return E.exp(this);
  }
  /** Elementwise natural logarithm. */
  log(): Tensor {
    return E.log(this);
  }
  /** Elementwise square root. */
  sqrt(): Tensor {
    return E.sqrt(this);
  }
  /** Elementwise sine. */
  sin(): Tensor {
    return E.sin(this);
  }
  /** Elementwise cosine. */
  cos(): Tensor {
    return E.cos(this);
  }
  /** Elementwise tangent. */
  tan(): Tensor {
    return E.tan(this);
  }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor {
    return E.tanh(this);
  }
  /** Elementwise logistic function. */
  sigmoid(): Tensor {
    return E.sigmoid(this);
  }
  /** Elementwise `max(this, 0)`. */
  relu(): Tensor {
    return E.relu(this);
  }
  /** Elementwise square. */
  square(): Tensor {
    return E.square(this);
  }
  /** Elementwise `1 / this`. */
  reciprocal(): Tensor {
    return E.reciprocal(this);
  }
  /** Elementwise sign (-1, 0 or 1). */
  sign(): Tensor {
    return E.sign(this);
  }

  /** Sum over `dim` (all dims when omitted). */
  sum(dim?: R.Dims, keepdim = false): Tensor {
    return R.sum(this, dim, keepdim);
  }
  /** Mean over `dim` (all dims when omitted). */
  mean(dim?: R.Dims, keepdim = false): Tensor {
    return R.mean(this, dim, keepdim);
  }
  /** Maximum over `dim` (all dims when omitted). */
  max(dim?: R.Dims, keepdim = false): Tensor {
    return R.max(this, dim, keepdim);
  }
  /** Minimum over `dim` (all dims when omitted). */
  min(dim?: R.Dims, keepdim = false): Tensor {
    return R.min(this, dim, keepdim);
  }
  /** Product over `dim` (all dims when omitted). */
  prod(dim?: R.Dims, keepdim = false): Tensor {
    return R.prod(this, dim, keepdim);
  }
  /** Index of the largest entry along `dim` (flattened when omitted); int32. */
  argmax(dim?: number, keepdim = false): Tensor {
    return R.argmax(this, dim, keepdim);
  }
  /**
   * Index of the smallest entry along `dim` (flattened when omitted); int32.
   */
  argmin(dim?: number, keepdim = false): Tensor {
    return R.argmin(this, dim, keepdim);
  }

  /** Matrix product (see `matmul`). */
  matmul(o: Tensor): Tensor {
    return M.matmul(this, o);
  }
  /** Inner product of two 1-D tensors. */
  dot(o: Tensor): Tensor {
    return M.dot(this, o);
  }
  /** Outer product of two 1-D tensors. */
  outer(o: Tensor): Tensor {
    return M.outer(this, o);
  }

  /** The same values in a new shape (one size may be -1). */
  reshape(shape: readonly number[]): Tensor {
    return L.reshape(this, shape);
  }
  /** Reorders the dims (see `permute`). */
  permute(dims: readonly number[]): Tensor {
    return L.permute(this, dims);
  }
  /** Swaps two dims (default: the last two). */
  transpose(dim0 = -2, dim1 = -1): Tensor {
    return L.transpose(this, dim0, dim1);
  }
  /** The transpose of a matrix (last two dims swapped). */
  get T(): Tensor {
    return L.transpose(this);
  }
  /** Moves dims `source` to positions `destination`. */
  movedim(
    source: number | readonly number[],
    destination: number | readonly number[],
  ): Tensor {
    return L.movedim(this, source, destination);
  }
  /** Broadcasts to `shape`. */
  expand(shape: readonly number[]): Tensor {
    return L.expand(this, shape);
  }
  /** Removes size-1 dims (all, or those in `dim`). */
  squeeze(dim?: number | readonly number[]): Tensor {
    return L.squeeze(this, dim);
  }
  /** Inserts a size-1 dim at `dim`. */
  unsqueeze(dim: number): Tensor {
    return L.unsqueeze(this, dim);
  }
  /** Merges dims `startDim` to `endDim` into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return L.flatten(this, startDim, endDim);
  }
  /** Python-style slice along `dim` (see `slice`). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return L.slice(this, dim, start, end, step);
  }
  /** `length` elements from `start` along `dim`. */
  narrow(dim: number, start: number, length: number): Tensor {
    return L.narrow(this, dim, start, length);
  }
  /** The slice at `index` along `dim`, that dim removed. */
  select(dim: number, index: number): Tensor {
    return L.select(this, dim, index);
  }
  /** Entries at `indices` along `dim` (as `torch.index_select`). */
  index(dim: number, indices: Tensor | readonly number[]): Tensor {
    return L.indexSelect(this, dim, indices);
  }
  /** Converts to another dtype. */
  to(dtype: DType): Tensor {
    return L.cast(this, dtype);
  }
  /** A value with no derivative: constant to every transform. */
  detach(): Tensor {
    return E.detach(this);
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

  /** PyTorch-style text, e.g. `tensor([1., 2.])`. */
  toString(): string {
    return formatTensor(this);
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
