/**
 * Attaches the operation methods declared on {@link Tensor} (`x.add(y)`,
 * `x.sum()`, `x.backward()`, ...) to its prototype. Each one forwards to the
 * public operation of the same name, so a method and its function never
 * differ. mod.ts imports this module first; the npm package lists it in
 * `sideEffects` so that bundlers keep it (a bundled consumer test checks).
 * @module
 */
import type { DType } from "./backend/dtype.ts";
import { backward } from "./autograd/api.ts";
import { isTracked, requiresGrad } from "./autograd/tracked.ts";
import {
  type BackwardOptions,
  type Dims,
  Tensor,
  type TensorLike,
} from "./core/tensor.ts";
import * as E from "./ops/elementwise.ts";
import * as L from "./ops/layout.ts";
import * as M from "./ops/linalg.ts";
import * as R from "./ops/reduce.ts";
import * as A from "./ops/activation.ts";
import * as I from "./ops/indexing.ts";
import * as X from "./ops/math.ts";
import * as S from "./ops/stats.ts";
import * as C from "./ops/contract.ts";
import * as G from "./ops/logical.ts";
import * as N from "./ops/scan.ts";
import * as O from "./ops/sort.ts";
import * as P from "./ops/scatter.ts";

const methods: ThisType<Tensor> & Record<string, unknown> = {
  requiresGrad(): Tensor {
    return requiresGrad(this);
  },
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    backward(this, gradient, options);
  },
  get grad(): Tensor | null {
    return isTracked(this) ? this.gradSlot : null;
  },
  set grad(value: Tensor | null) {
    if (!isTracked(this)) {
      throw new TypeError(
        "grad can only be set on a tensor made by requiresGrad()",
      );
    }
    this.setGrad(value, false);
  },
  zeroGrad(): void {
    if (isTracked(this)) this.clearGrad();
  },
  add(o: TensorLike): Tensor {
    return E.add(this, o);
  },
  sub(o: TensorLike): Tensor {
    return E.sub(this, o);
  },
  mul(o: TensorLike): Tensor {
    return E.mul(this, o);
  },
  div(o: TensorLike): Tensor {
    return E.div(this, o);
  },
  pow(o: TensorLike): Tensor {
    return E.pow(this, o);
  },
  maximum(o: TensorLike): Tensor {
    return E.maximum(this, o);
  },
  minimum(o: TensorLike): Tensor {
    return E.minimum(this, o);
  },
  eq(o: TensorLike): Tensor {
    return E.eq(this, o);
  },
  ne(o: TensorLike): Tensor {
    return E.ne(this, o);
  },
  lt(o: TensorLike): Tensor {
    return E.lt(this, o);
  },
  le(o: TensorLike): Tensor {
    return E.le(this, o);
  },
  gt(o: TensorLike): Tensor {
    return E.gt(this, o);
  },
  ge(o: TensorLike): Tensor {
    return E.ge(this, o);
  },
  neg(): Tensor {
    return E.neg(this);
  },
  abs(): Tensor {
    return E.abs(this);
  },
  exp(): Tensor {
    return E.exp(this);
  },
  log(): Tensor {
    return E.log(this);
  },
  sqrt(): Tensor {
    return E.sqrt(this);
  },
  sin(): Tensor {
    return E.sin(this);
  },
  cos(): Tensor {
    return E.cos(this);
  },
  tan(): Tensor {
    return E.tan(this);
  },
  tanh(): Tensor {
    return E.tanh(this);
  },
  sigmoid(): Tensor {
    return E.sigmoid(this);
  },
  relu(): Tensor {
    return E.relu(this);
  },
  square(): Tensor {
    return E.square(this);
  },
  reciprocal(): Tensor {
    return E.reciprocal(this);
  },
  sign(): Tensor {
    return E.sign(this);
  },
  log1p(): Tensor {
    return E.log1p(this);
  },
  expm1(): Tensor {
    return E.expm1(this);
  },
  log2(): Tensor {
    return E.log2(this);
  },
  log10(): Tensor {
    return E.log10(this);
  },
  exp2(): Tensor {
    return E.exp2(this);
  },
  asin(): Tensor {
    return E.asin(this);
  },
  acos(): Tensor {
    return E.acos(this);
  },
  atan(): Tensor {
    return E.atan(this);
  },
  sinh(): Tensor {
    return E.sinh(this);
  },
  cosh(): Tensor {
    return E.cosh(this);
  },
  asinh(): Tensor {
    return E.asinh(this);
  },
  acosh(): Tensor {
    return E.acosh(this);
  },
  atanh(): Tensor {
    return E.atanh(this);
  },
  floor(): Tensor {
    return E.floor(this);
  },
  ceil(): Tensor {
    return E.ceil(this);
  },
  round(): Tensor {
    return E.round(this);
  },
  trunc(): Tensor {
    return E.trunc(this);
  },
  erf(): Tensor {
    return E.erf(this);
  },
  erfc(): Tensor {
    return E.erfc(this);
  },
  erfinv(): Tensor {
    return E.erfinv(this);
  },
  lgamma(): Tensor {
    return E.lgamma(this);
  },
  digamma(): Tensor {
    return E.digamma(this);
  },
  atan2(o: TensorLike): Tensor {
    return E.atan2(this, o);
  },
  fmod(o: TensorLike): Tensor {
    return E.fmod(this, o);
  },
  remainder(o: TensorLike): Tensor {
    return E.remainder(this, o);
  },
  floorDivide(o: TensorLike): Tensor {
    return E.floorDivide(this, o);
  },
  nanToNum(options?: X.NanToNumOptions): Tensor {
    return X.nanToNum(this, options);
  },
  polygamma(n: number): Tensor {
    return E.polygamma(n, this);
  },
  isnan(): Tensor {
    return E.isnan(this);
  },
  isfinite(): Tensor {
    return E.isfinite(this);
  },
  sum(dim?: Dims, keepdim = false): Tensor {
    return R.sum(this, dim, keepdim);
  },
  mean(dim?: Dims, keepdim = false): Tensor {
    return R.mean(this, dim, keepdim);
  },
  max(dim?: Dims, keepdim = false): Tensor {
    return R.max(this, dim, keepdim);
  },
  min(dim?: Dims, keepdim = false): Tensor {
    return R.min(this, dim, keepdim);
  },
  prod(dim?: Dims, keepdim = false): Tensor {
    return R.prod(this, dim, keepdim);
  },
  argmax(dim?: number, keepdim = false): Tensor {
    return R.argmax(this, dim, keepdim);
  },
  argmin(dim?: number, keepdim = false): Tensor {
    return R.argmin(this, dim, keepdim);
  },
  matmul(o: Tensor): Tensor {
    return M.matmul(this, o);
  },
  dot(o: Tensor): Tensor {
    return M.dot(this, o);
  },
  outer(o: Tensor): Tensor {
    return M.outer(this, o);
  },
  reshape(shape: readonly number[]): Tensor {
    return L.reshape(this, shape);
  },
  permute(dims: readonly number[]): Tensor {
    return L.permute(this, dims);
  },
  transpose(dim0 = -2, dim1 = -1): Tensor {
    return L.transpose(this, dim0, dim1);
  },
  get T(): Tensor {
    return L.transpose(this);
  },
  movedim(
    source: number | readonly number[],
    destination: number | readonly number[],
  ): Tensor {
    return L.movedim(this, source, destination);
  },
  expand(shape: readonly number[]): Tensor {
    return L.expand(this, shape);
  },
  squeeze(dim?: number | readonly number[]): Tensor {
    return L.squeeze(this, dim);
  },
  unsqueeze(dim: number): Tensor {
    return L.unsqueeze(this, dim);
  },
  flatten(startDim = 0, endDim = -1): Tensor {
    return L.flatten(this, startDim, endDim);
  },
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return L.slice(this, dim, start, end, step);
  },
  narrow(dim: number, start: number, length: number): Tensor {
    return L.narrow(this, dim, start, length);
  },
  select(dim: number, index: number): Tensor {
    return L.select(this, dim, index);
  },
  index(dim: number, indices: Tensor | readonly number[]): Tensor {
    return L.indexSelect(this, dim, indices);
  },
  to(dtype: DType): Tensor {
    return L.cast(this, dtype);
  },
  detach(): Tensor {
    return E.detach(this);
  },
  softmax(dim = -1): Tensor {
    return A.softmax(this, dim);
  },
  logSoftmax(dim = -1): Tensor {
    return A.logSoftmax(this, dim);
  },
  logsumexp(dim?: Dims, keepdim?: S.KeepdimOption): Tensor {
    return S.logsumexp(this, dim, keepdim);
  },
  var(dim?: Dims | S.VarOptions, options?: S.VarOptions): Tensor {
    return S.variance(this, dim, options);
  },
  std(dim?: Dims | S.VarOptions, options?: S.VarOptions): Tensor {
    return S.std(this, dim, options);
  },
  norm(p?: S.NormOrder, dim?: Dims, keepdim = false): Tensor {
    return S.norm(this, p, dim, keepdim);
  },
  clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return X.clamp(this, min, max);
  },
  logaddexp(o: TensorLike): Tensor {
    return X.logaddexp(this, o);
  },
  hypot(o: TensorLike): Tensor {
    return X.hypot(this, o);
  },
  split(sizes: number | readonly number[], dim = 0): Tensor[] {
    return I.split(this, sizes, dim);
  },
  chunk(chunks: number, dim = 0): Tensor[] {
    return I.chunk(this, chunks, dim);
  },
  tril(diagonal = 0): Tensor {
    return I.tril(this, diagonal);
  },
  triu(diagonal = 0): Tensor {
    return I.triu(this, diagonal);
  },
  diag(diagonal = 0): Tensor {
    return I.diag(this, diagonal);
  },
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return I.diagonal(this, offset, dim1, dim2);
  },
  trace(): Tensor {
    return I.trace(this);
  },
  tile(reps: readonly number[]): Tensor {
    return I.tile(this, reps);
  },
  repeatInterleave(
    repeats: number | readonly number[] | Tensor,
    dim?: number,
  ): Tensor {
    return I.repeatInterleave(this, repeats, dim);
  },
  roll(
    shifts: number | readonly number[],
    dims?: number | readonly number[],
  ): Tensor {
    return I.roll(this, shifts, dims);
  },
  flip(dims: number | readonly number[]): Tensor {
    return I.flip(this, dims);
  },
  gather(dim: number, index: Tensor): Tensor {
    return I.gather(this, dim, index);
  },
  takeAlongDim(indices: Tensor, dim?: number): Tensor {
    return I.takeAlongDim(this, indices, dim);
  },
  kron(other: Tensor): Tensor {
    return C.kron(this, other);
  },
  logicalAnd(other: Tensor | number): Tensor {
    return G.logicalAnd(this, other);
  },
  logicalOr(other: Tensor | number): Tensor {
    return G.logicalOr(this, other);
  },
  logicalXor(other: Tensor | number): Tensor {
    return G.logicalXor(this, other);
  },
  logicalNot(): Tensor {
    return G.logicalNot(this);
  },
  any(dim?: Dims, keepdim?: boolean): Tensor {
    return G.any(this, dim, keepdim);
  },
  all(dim?: Dims, keepdim?: boolean): Tensor {
    return G.all(this, dim, keepdim);
  },
  maskedFill(mask: Tensor, value: number | Tensor): Tensor {
    return G.maskedFill(this, mask, value);
  },
  cumsum(dim: number): Tensor {
    return N.cumsum(this, dim);
  },
  cumprod(dim: number): Tensor {
    return N.cumprod(this, dim);
  },
  logcumsumexp(dim: number): Tensor {
    return N.logcumsumexp(this, dim);
  },
  sort(options?: O.SortOptions | number): O.ValuesIndices {
    return O.sort(this, options);
  },
  argsort(options?: O.SortOptions | number): Tensor {
    return O.argsort(this, options);
  },
  topk(k: number, options?: O.TopkOptions | number): O.ValuesIndices {
    return O.topk(this, k, options);
  },
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return P.scatter(this, dim, index, src);
  },
  scatterAdd(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return P.scatterAdd(this, dim, index, src);
  },
  indexAdd(
    dim: number,
    index: Tensor | readonly number[],
    source: Tensor,
    options?: { alpha?: number },
  ): Tensor {
    return P.indexAdd(this, dim, index, source, options);
  },
};

// Non-enumerable, as methods declared in a class body are.
for (
  const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(methods))
) {
  Object.defineProperty(Tensor.prototype, name, { ...d, enumerable: false });
}

// Iteration over dim 0 (a symbol key, so not in the loop above).
Object.defineProperty(Tensor.prototype, Symbol.iterator, {
  *value(this: Tensor): IterableIterator<Tensor> {
    if (this.ndim === 0) throw new TypeError("iteration over a 0-d tensor");
    const n = this.shape[0];
    for (let i = 0; i < n; i++) yield L.select(this, 0, i);
  },
  writable: true,
  configurable: true,
  enumerable: false,
});
