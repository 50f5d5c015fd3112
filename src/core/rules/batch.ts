/**
 * Batching rules for `vmap`: each primitive applied to arguments that carry
 * a batch dimension at position `dims[i]` (null for unbatched), returning the
 * result and where its batch dimension is. Rules avoid moving data where
 * they can (reductions and slices just shift their axes; matmul folds the
 * batch into a larger GEMM).
 * @module
 */
import { add, iota, mul, reshape } from "../lax.ts";
import type { Tensor } from "../tensor.ts";
import {
  BINARY_PRIMS,
  type Prim,
  type PrimParams,
  REDUCE_PRIMS,
  UNARY_PRIMS,
} from "../primitives.ts";
import { bind } from "../trace.ts";
import { family } from "./family.ts";
import { controlImpl } from "./control_hooks.ts";
import { convBatchRules } from "./conv.ts";

export type Dim = number | null;
export type BatchRule<Q> = (
  vals: Tensor[],
  dims: Dim[],
  params: Q,
  size: number,
) => [Tensor, Dim];
type BatchTable = { [P in Prim]: BatchRule<PrimParams[P]> };

/** Moves the batch dim of `x` from `d` to the front (a copy unless d is 0). */
export function toFront(x: Tensor, d: number): Tensor {
  if (d === 0) return x;
  const perm = [d, ...x.shape.map((_, i) => i).filter((i) => i !== d)];
  return bind("permute", [x], { perm });
}

/** Moves the batch dim to `to`, broadcasting unbatched values to `size`. */
export function moveBatch(x: Tensor, d: Dim, to: number, size: number): Tensor {
  if (d === null) {
    const shape = [...x.shape];
    shape.splice(to, 0, size);
    const ones = [...x.shape];
    ones.splice(to, 0, 1);
    return bind("broadcastTo", [reshape(x, ones)], { shape });
  }
  if (d === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== d);
  perm.splice(to, 0, d);
  return bind("permute", [x], { perm });
}

/** Physical axis of logical axis `a` when the batch dim sits at `d`. */
const phys = (a: number, d: number): number => (a < d ? a : a + 1);

/** Inserts a full range for the batch dim into per-axis slice parameters. */
function withBatchAxis<T>(list: readonly T[], d: number, v: T): T[] {
  const out = [...list];
  out.splice(d, 0, v);
  return out;
}

/** Elementwise n-ary: batch dims to the front, ranks aligned for broadcasting. */
function elementwiseBatch<P extends Prim>(prim: P): BatchRule<PrimParams[P]> {
  return (vals, dims, params) => {
    const rank = Math.max(
      ...vals.map((v, i) => v.ndim - (dims[i] === null ? 0 : 1)),
    );
    // Where each batched operand's batch dim sits once it is padded to full rank.
    const padded = vals.map((
      v,
      i,
    ) => (dims[i] === null ? -1 : dims[i]! + rank - (v.ndim - 1)));
    const D = padded.find((p) => p >= 0)!;
    if (padded.every((p) => p < 0 || p === D)) {
      // One common position: keep it (no data movement), align the others
      // with size-1 dims so that broadcasting puts the batch at D.
      const args = vals.map((v, i) => {
        if (dims[i] !== null) {
          const lead = rank - (v.ndim - 1);
          return lead === 0
            ? v
            : reshape(v, [...new Array(lead).fill(1), ...v.shape]);
        }
        if (D <= rank - v.ndim) return v;
        const shape = [...v.shape];
        shape.splice(D - (rank - v.ndim), 0, 1);
        return reshape(v, shape);
      });
      return [bind(prim, args, params), D];
    }
    const args = vals.map((v, i) => {
      const d = dims[i];
      if (d === null) return v;
      const f = toFront(v, d);
      const rest = f.shape.slice(1);
      return reshape(f, [
        f.shape[0],
        ...new Array(rank - rest.length).fill(1),
        ...rest,
      ]);
    });
    return [bind(prim, args, params), 0];
  };
}

function reduceBatch<P extends "sum" | "prod" | "max" | "min">(
  prim: P,
): BatchRule<PrimParams[P]> {
  return ([x], [d], { axes }) => {
    const pa = axes.map((a) => phys(a, d!));
    const out = d! - pa.filter((a) => a < d!).length;
    return [bind(prim, [x], { axes: pa } as PrimParams[P]), out];
  };
}

function argBatch(prim: "argmax" | "argmin"): BatchRule<PrimParams["argmax"]> {
  return ([x], [d], { axis }) => {
    const pa = phys(axis, d!);
    return [bind(prim, [x], { axis: pa }), pa < d! ? d! - 1 : d!];
  };
}

function sliceLikeBatch<P extends "slice" | "pad">(
  prim: P,
): BatchRule<PrimParams[P]> {
  return ([x], [d], { start, step, shape }, size) => [
    bind(
      prim,
      [x],
      {
        start: withBatchAxis(start, d!, 0),
        step: withBatchAxis(step, d!, 1),
        shape: withBatchAxis(shape, d!, size),
      } as PrimParams[P],
    ),
    d,
  ];
}

const unaryBatch =
  <P extends Prim>(prim: P): BatchRule<PrimParams[P]> => ([x], [d], params) => [
    bind(prim, [x], params),
    d,
  ];

function matmulBatch(
  [a, b]: Tensor[],
  [da, db]: Dim[],
  p: PrimParams["matmul"],
  size: number,
): [Tensor, Dim] {
  if (db === null) {
    // Only A batched: fold the batch into A's rows when A is not transposed.
    const A = toFront(a, da!);
    if (!p.transA && b.ndim === 2) {
      const k = A.shape[A.ndim - 1];
      const y = bind("matmul", [reshape(A, [-1, k]), b], p);
      return [reshape(y, [...A.shape.slice(0, -1), y.shape[1]]), 0];
    }
    if (b.ndim === 2) return [bind("matmul", [A, b], p), 0];
    // b has batch dims of its own: A must be broadcast over them too.
    return matmulBatch([A, moveBatch(b, null, 0, size)], [0, 0], p, size);
  }
  if (da === null) {
    const B = toFront(b, db);
    const n = p.transB ? B.shape[B.ndim - 2] : B.shape[B.ndim - 1];
    if (a.ndim === 2 && B.ndim === 3 && n === 1) {
      // Matrix times a batch of vectors: one GEMM (B rows) @ op(A)ᵀ.
      const k = p.transB ? B.shape[2] : B.shape[1];
      const y = bind("matmul", [reshape(B, [size, k]), a], {
        transA: false,
        transB: !p.transA,
      });
      return [reshape(y, [size, y.shape[1], 1]), 0];
    }
    if (a.ndim === 2) return [bind("matmul", [a, B], p), 0];
    // a has batch dims of its own: B must be broadcast over them too.
    return matmulBatch([moveBatch(a, null, 0, size), B], [0, 0], p, size);
  }
  // Both batched: batch dims to the front, other batch dims made equal.
  let A = toFront(a, da), B = toFront(b, db);
  if (A.ndim !== B.ndim) {
    if (A.ndim < B.ndim) {
      A = bind("broadcastTo", [
        reshape(A, [
          size,
          ...new Array(B.ndim - A.ndim).fill(1),
          ...A.shape.slice(1),
        ]),
      ], { shape: [...B.shape.slice(0, B.ndim - 2), ...A.shape.slice(-2)] });
    } else {B = bind("broadcastTo", [
        reshape(B, [
          size,
          ...new Array(A.ndim - B.ndim).fill(1),
          ...B.shape.slice(1),
        ]),
      ], { shape: [...A.shape.slice(0, A.ndim - 2), ...B.shape.slice(-2)] });}
  }
  return [bind("matmul", [A, B], p), 0];
}

/** A matrix primitive of one operand: batch dim to the front, a leading dim. */
const matrixBatch =
  <P extends Prim>(prim: P): BatchRule<PrimParams[P]> => ([x], [d], params) => [
    bind(prim, [toFront(x, d!)], params),
    0,
  ];

/**
 * `A⁻¹ B` primitives: the batch dims are leading dims of both operands, so
 * the vmapped dim goes to the front of each. An unbatched plain matrix is
 * left alone (the kernel broadcasts it); otherwise both operands get the
 * same leading dims.
 */
function solveBatch<P extends "solve" | "triangularSolve">(
  prim: P,
): BatchRule<PrimParams[P]> {
  return (vals, dims, params, size) => {
    const [a, b] = vals, [da, db] = dims;
    if (da === null && a.ndim === 2) {
      return [bind(prim, [a, toFront(b, db!)], params), 0];
    }
    if (db === null && b.ndim === 2) {
      return [bind(prim, [toFront(a, da!), b], params), 0];
    }
    const A = moveBatch(a, da, 0, size), B = moveBatch(b, db, 0, size);
    const batch = (A.ndim >= B.ndim ? A : B).shape.slice(0, -2);
    const full = (x: Tensor) => {
      if (x.ndim - 2 === batch.length) return x;
      const ones = new Array(batch.length + 2 - x.ndim).fill(1);
      const r = reshape(x, [size, ...ones, ...x.shape.slice(1)]);
      return bind("broadcastTo", [r], {
        shape: [...batch, ...x.shape.slice(-2)],
      });
    };
    return [bind(prim, [full(A), full(B)], params), 0];
  };
}

/**
 * Row `b` of a batched int32 index `[B, m]` shifted by `b·n`, flattened to
 * `[B·m]`: indices into B blocks of n merged along one axis.
 */
function offsetIndex(
  index: Tensor,
  di: number,
  n: number,
  size: number,
): Tensor {
  const I = toFront(index, di);
  const offs = reshape(mul(iota(size, "float64"), n), [size, 1]);
  const wide = add(bind("cast", [I], { dtype: "float64" }), offs);
  return reshape(bind("cast", [wide], { dtype: "int32" }), [-1]);
}

/** Merges dims `at` and `at + 1` of `x`. */
function mergeAt(x: Tensor, at: number): Tensor {
  const s = [...x.shape];
  s.splice(at, 2, s[at] * s[at + 1]);
  return reshape(x, s);
}

/**
 * indexSelect with batched indices: one gather from x with the batch
 * merged into the indexed axis (or from unbatched x directly), instead of
 * one call per batch entry.
 */
function batchedIndexSelect(
  x: Tensor,
  d: Dim,
  index: Tensor,
  di: number,
  { axis }: PrimParams["indexSelect"],
  size: number,
): [Tensor, Dim] {
  const m = index.shape[di === 0 ? 1 : 0];
  if (d === null) {
    const flat = reshape(toFront(index, di), [-1]);
    const y = bind("indexSelect", [x, flat], { axis });
    const s = [...y.shape];
    s.splice(axis, 1, size, m);
    return [reshape(y, s), axis];
  }
  const X = moveBatch(x, d, axis, size); // [..., B, n, ...]
  const n = X.shape[axis + 1];
  const y = bind("indexSelect", [
    mergeAt(X, axis),
    offsetIndex(index, di, n, size),
  ], { axis });
  const s = [...X.shape];
  s.splice(axis, 2, size, m);
  return [reshape(y, s), axis];
}

/** indexAdd with batched indices: one scatter-add into B merged blocks. */
function batchedIndexAdd(
  src: Tensor,
  d: Dim,
  index: Tensor,
  di: number,
  p: PrimParams["indexAdd"],
  size: number,
): [Tensor, Dim] {
  const S = moveBatch(src, d, p.axis, size); // [..., B, m, ...]
  const y = bind("indexAdd", [
    mergeAt(S, p.axis),
    offsetIndex(index, di, p.size, size),
  ], { axis: p.axis, size: size * p.size });
  const s = [...S.shape];
  s.splice(p.axis, 2, size, p.size);
  return [reshape(y, s), p.axis];
}

export const batchRules: BatchTable = {
  ...family(UNARY_PRIMS, unaryBatch),
  ...family(BINARY_PRIMS, elementwiseBatch),
  ...family(REDUCE_PRIMS, reduceBatch),
  where: elementwiseBatch("where"),
  argmax: argBatch("argmax"),
  argmin: argBatch("argmin"),
  reshape: ([x], [d], { shape }, size) =>
    // A batch dim first or last stays there (row-major order is unchanged).
    d === x.ndim - 1 && d > 0
      ? [reshape(x, [...shape, size]), shape.length]
      : [reshape(toFront(x, d!), [size, ...shape]), 0],
  permute: (
    [x],
    [d],
    { perm },
  ) => [
    bind("permute", [x], { perm: [d!, ...perm.map((p) => phys(p, d!))] }),
    0,
  ],
  broadcastTo: ([x], [d], { shape }, size) => {
    const f = toFront(x, d!);
    const rest = f.shape.slice(1);
    const aligned = reshape(f, [
      size,
      ...new Array(shape.length - rest.length).fill(1),
      ...rest,
    ]);
    return [bind("broadcastTo", [aligned], { shape: [size, ...shape] }), 0];
  },
  slice: sliceLikeBatch("slice"),
  pad: sliceLikeBatch("pad"),
  cat: (vals, dims, { axis }, size) => [
    bind("cat", vals.map((v, i) => moveBatch(v, dims[i], 0, size)), {
      axis: axis + 1,
    }),
    0,
  ],
  indexSelect: (vals, dims, params, size) => {
    const [x, index] = vals, [d, di] = dims;
    if (di !== null) return batchedIndexSelect(x, d, index, di, params, size);
    return [
      bind("indexSelect", [x, index], { axis: phys(params.axis, d!) }),
      d,
    ];
  },
  indexAdd: (vals, dims, params, size) => {
    const [src, index] = vals, [d, di] = dims;
    if (di !== null) return batchedIndexAdd(src, d, index, di, params, size);
    return [
      bind("indexAdd", [src, index], {
        axis: phys(params.axis, d!),
        size: params.size,
      }),
      d,
    ];
  },
  cast: unaryBatch("cast"),
  matmul: matmulBatch,
  stopGradient: unaryBatch("stopGradient"),
  cholesky: matrixBatch("cholesky"),
  slogdet: matrixBatch("slogdet"),
  eigh: matrixBatch("eigh"),
  qr: matrixBatch("qr"),
  lu: matrixBatch("lu"),
  svd: matrixBatch("svd"),
  triangularSolve: solveBatch("triangularSolve"),
  solve: solveBatch("solve"),
  // A batch of keys is more leading key dims: lane b draws exactly what key
  // b alone draws (the kernel loops over keys), so vmap equals a loop.
  randomSample: ([k], [d], params) => [
    bind("randomSample", [toFront(k, d!)], params),
    0,
  ],
  randomDerive: ([k, data], [dk, dd], params, size) => [
    bind("randomDerive", [
      moveBatch(k, dk, 0, size),
      moveBatch(data, dd, 0, size),
    ], params),
    0,
  ],
  custom: (vals, dims, { op, index }, size) =>
    op.batch(vals, dims, size, index),
  scan: (v, d, p, n) => controlImpl("scan").batch(v, d, p, n),
  cond: (v, d, p, n) => controlImpl("cond").batch(v, d, p, n),
  while: (v, d, p, n) => controlImpl("while").batch(v, d, p, n),
  ...convBatchRules,
};
