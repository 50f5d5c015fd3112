/**
 * Eager implementations: each primitive on concrete tensors, as one call into
 * the WebAssembly kernels. Shapes were validated by the shape rule already.
 * Reshape-like primitives share the input's storage (tensors are immutable).
 * @module
 */
import * as K from "../../backend/kernels.ts";
import type { Storage } from "../../backend/storage.ts";
import { shapeEq, sizeOf, stridesOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import {
  BINARY_PRIMS,
  type Prim,
  type PrimParams,
  REDUCE_PRIMS,
  UNARY_PRIMS,
} from "../primitives.ts";
import type { Aval } from "../ir.ts";
import { family } from "./family.ts";

type Impl<Q> = (
  args: Tensor[],
  params: Q,
  out: Aval,
) => Storage;
type ImplTable = { [P in Prim]: Impl<PrimParams[P]> };

const st = (t: Tensor): Storage => t._storage!;

/** Strides of `shape` broadcast to `outShape` (0 on broadcast dims). */
function broadcastStrides(
  shape: readonly number[],
  outShape: readonly number[],
): number[] {
  const s = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((
    _,
    i,
  ) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]));
}

export const implRules: ImplTable = {
  ...family(
    UNARY_PRIMS,
    (op): Impl<PrimParams["neg"]> => ([x]) => K.unary(op, st(x)),
  ),
  ...family(
    BINARY_PRIMS,
    (op): Impl<PrimParams["add"]> => ([a, b], _, out) =>
      K.binary(op, st(a), a.shape, st(b), b.shape, out.shape),
  ),
  ...family(
    REDUCE_PRIMS,
    (op): Impl<PrimParams["sum"]> => ([x], { axes }) =>
      axes.length === 0 ? st(x) : K.reduce(op, st(x), x.shape, axes),
  ),
  where: ([c, a, b], _, out) =>
    K.where(st(c), c.shape, st(a), a.shape, st(b), b.shape, out.shape),
  argmax: ([x], { axis }) => K.argReduce("argmax", st(x), x.shape, axis),
  argmin: ([x], { axis }) => K.argReduce("argmin", st(x), x.shape, axis),
  reshape: ([x]) => st(x),
  permute: ([x], { perm }, out) => {
    if (perm.every((p, i) => p === i)) return st(x);
    const s = stridesOf(x.shape);
    return K.copyStrided(st(x), 0, out.shape, perm.map((p) => s[p]));
  },
  broadcastTo: ([x], { shape }) =>
    shapeEq(x.shape, shape)
      ? st(x)
      : K.copyStrided(st(x), 0, shape, broadcastStrides(x.shape, shape)),
  slice: ([x], { start, step, shape }) => {
    const s = stridesOf(x.shape);
    let offset = 0;
    for (let i = 0; i < s.length; i++) offset += start[i] * s[i];
    return K.copyStrided(st(x), offset, shape, s.map((v, i) => v * step[i]));
  },
  pad: ([x], { start, step, shape }, out) => {
    const dst = K.fill(out.dtype, sizeOf(shape), 0);
    const s = stridesOf(shape);
    let offset = 0;
    for (let i = 0; i < s.length; i++) offset += start[i] * s[i];
    K.copyInto(st(x), x.shape, dst, offset, s.map((v, i) => v * step[i]));
    return dst;
  },
  cat: (args, { axis }, out) => {
    if (args.length === 1) return st(args[0]);
    const dst = K.fill(out.dtype, sizeOf(out.shape), 0);
    const s = stridesOf(out.shape);
    let at = 0;
    for (const a of args) {
      if (sizeOf(a.shape) > 0) K.copyInto(st(a), a.shape, dst, at * s[axis], s);
      at += a.shape[axis];
    }
    return dst;
  },
  indexSelect: ([x, index], { axis }) =>
    K.indexSelect(st(x), x.shape, axis, st(index)),
  indexAdd: ([src, index], { axis }, out) =>
    K.indexAdd(out.shape, axis, st(index), st(src)),
  cast: ([x], { dtype }) => (x.dtype === dtype ? st(x) : K.cast(st(x), dtype)),
  matmul: ([a, b], { transA, transB }, out) => {
    const r = out.shape.length;
    const m = out.shape[r - 2], n = out.shape[r - 1];
    const k = transA
      ? a.shape[a.shape.length - 2]
      : a.shape[a.shape.length - 1];
    const batch = sizeOf(out.shape.slice(0, -2));
    const aStride = a.shape.length > 2 ? m * k : 0;
    const bStride = b.shape.length > 2 ? k * n : 0;
    return K.matmul(
      st(a),
      st(b),
      batch,
      m,
      n,
      k,
      transA,
      transB,
      aStride,
      bStride,
    );
  },
  stopGradient: ([x]) => st(x),
};

/** Runs the kernel of `prim` on concrete tensors. */
export function evalImpl<P extends Prim>(
  prim: P,
  args: Tensor[],
  params: PrimParams[P],
  out: Aval,
): Storage {
  return (implRules[prim] as Impl<PrimParams[P]>)(args, params, out);
}
