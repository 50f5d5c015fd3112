/**
 * Symbolic one-hot bases for `jacrev`/`jacfwd`. The basis that a Jacobian
 * pushes through `vmap` is a (scaled) identity. Carrying it as its diagonal
 * turns the "wrong" mode's first matrix product (a GEMM against the
 * identity) into a scaled copy, and elementwise scalings into scalings of
 * the diagonal: O(n·k) instead of O(n²·k). A basis can be cut into chunks
 * (`chunkSize`) without ever being materialised. Any primitive without a
 * rule here gets the materialised basis, so results never change.
 * @module
 */
import * as E from "./lax.ts";
import { eye, full, narrow, reshape } from "./lax.ts";
import { shapeEq, sizeOf } from "./shape.ts";
import type { Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { bind } from "./trace.ts";

/**
 * A batch of `size` rows; rows offset..offset+count are one-hot at flat
 * positions first..first+count of the logical shape `scale.shape`, times
 * the scale there; every other row is zero.
 */
export interface Basis {
  /** The diagonal, in the logical (per-example) shape. */
  readonly scale: Tensor;
  /** Batch row holding flat position `first`. */
  readonly offset: number;
  /** First flat position present in this batch. */
  readonly first: number;
  /** Number of one-hot rows. */
  readonly count: number;
  /** Batch size. */
  readonly size: number;
  /** The scale is all ones (the plain identity), so scaling can be skipped. */
  readonly unit?: boolean;
}

/** The identity over `like`'s elements, placed at batch rows offset.. of a batch of `size`. */
export function identityBasis(
  like: Tensor,
  offset: number,
  size: number,
): Basis {
  const scale = full(like.shape, 1, like.dtype);
  return {
    scale,
    offset,
    first: 0,
    count: sizeOf(like.shape),
    size,
    unit: true,
  };
}

/** Batch rows start..start+len of a basis, still symbolic. */
export function sliceBasis(b: Basis, start: number, len: number): Basis {
  const lo = Math.max(start, b.offset),
    hi = Math.min(start + len, b.offset + b.count);
  const count = Math.max(0, hi - lo);
  return {
    ...b,
    offset: count > 0 ? lo - start : 0,
    first: b.first + (count > 0 ? lo - b.offset : 0),
    count,
    size: len,
  };
}

/** `t`'s slab first..first+count along `axis` (the basis' flat positions). */
function present(t: Tensor, axis: number, b: Basis): Tensor {
  return b.first === 0 && b.count === t.shape[axis]
    ? t
    : narrow(t, axis, b.first, b.count);
}

/** `x` (flat positions along `axis` of a rank-2 block) times the scale (skipped for a unit basis). */
function scaled(x: Tensor, b: Basis, axis: 0 | 1): Tensor {
  const rows = present(x, axis, b);
  if (b.unit) return rows;
  const s = present(reshape(b.scale, [-1]), 0, b);
  return E.mul(rows, reshape(s, axis === 0 ? [-1, 1] : [1, -1]));
}

/** Places `block` at positions offset..offset+count of a zero tensor of length `size` along `axis`. */
function place(block: Tensor, axis: number, b: Basis): Tensor {
  if (b.offset === 0 && block.shape[axis] === b.size) return block;
  const shape = block.shape.map((d, i) => (i === axis ? b.size : d));
  return bind("pad", [block], {
    start: shape.map((_, i) => (i === axis ? b.offset : 0)),
    step: shape.map(() => 1),
    shape,
  });
}

/** The dense batch [size, ...scale.shape]. */
export function materialize(b: Basis): Tensor {
  const n = sizeOf(b.scale.shape);
  const diag = scaled(eye(n, b.scale.dtype), b, 0);
  return reshape(place(diag, 0, b), [b.size, ...b.scale.shape]);
}

const withScale = (b: Basis, scale: Tensor): Basis => ({
  ...b,
  scale,
  unit: false,
});

/** A rule on basis-carrying arguments: a new basis, a dense batch with its batch dim, or null to fall back. */
type Result = { basis: Basis } | { dense: Tensor; bdim: number } | null;

const isB = (a: Tensor | Basis): a is Basis => "scale" in a && "first" in a;

/** `args[i]` is a Basis for symbolic arguments, a Tensor for unbatched ones. */
export function basisRule<P extends Prim>(
  prim: P,
  args: (Tensor | Basis)[],
  params: PrimParams[P],
): Result {
  switch (prim) {
    case "neg": {
      const [x] = args;
      return isB(x) ? { basis: withScale(x, E.neg(x.scale)) } : null;
    }
    case "mul":
    case "div": {
      const [a, b] = args;
      const [B, c] = isB(a) ? [a, b] : [b as Basis, a];
      if (isB(c) || (prim === "div" && !isB(a))) return null;
      const y = prim === "mul" ? E.mul(B.scale, c) : E.div(B.scale, c);
      return shapeEq(y.shape, B.scale.shape)
        ? { basis: withScale(B, y) }
        : null;
    }
    case "sum": {
      // Summing one-hot rows over `axes` leaves each row one-hot in the kept
      // dims: a dense [size, ...kept] of O(size · kept) instead of O(size²).
      const [x] = args as [Basis];
      const { axes } = params as PrimParams["sum"];
      const S = x.scale.shape;
      const kept = S.map((_, i) => i).filter((i) => !axes.includes(i));
      let d = reshape(x.scale, [...S, ...kept.map(() => 1)]);
      kept.forEach((p, q) => {
        const shape = [...S.map(() => 1), ...kept.map(() => 1)];
        shape[p] = S[p];
        shape[S.length + q] = S[p];
        d = E.mul(d, reshape(eye(S[p], x.scale.dtype), shape));
      });
      const rows = present(
        reshape(d, [sizeOf(S), ...kept.map((p) => S[p])]),
        0,
        x,
      );
      return { dense: place(rows, 0, x), bdim: 0 };
    }
    case "reshape": {
      // Same one-hot rows in another shape (a unit basis stays unit).
      const [x] = args as [Basis];
      const { shape } = params as PrimParams["reshape"];
      return { basis: { ...x, scale: reshape(x.scale, shape) } };
    }
    case "matmul":
      return matmulRule(args, params as PrimParams["matmul"]);
    default:
      return null;
  }
}

/**
 * A row basis [1, k] @ op(B) gives batch row j = scale_j · op(B)[j, :]; op(A)
 * @ a column basis [k, 1] gives scale_j · op(A)[:, j]. Each is laid out
 * batch-first or batch-last, whichever needs no copy of the matrix.
 */
function matmulRule(
  [a, b]: (Tensor | Basis)[],
  p: PrimParams["matmul"],
): Result {
  if (
    isB(a) && !isB(b) && !p.transA && a.scale.ndim === 2 &&
    a.scale.shape[0] === 1 && b.ndim === 2
  ) {
    if (p.transB) {
      const block = place(scaled(b, a, 1), 1, a); // [n, size]
      return { dense: reshape(block, [1, block.shape[0], a.size]), bdim: 2 };
    }
    const block = place(scaled(b, a, 0), 0, a); // [size, n]
    return { dense: reshape(block, [a.size, 1, block.shape[1]]), bdim: 0 };
  }
  if (
    isB(b) && !isB(a) && !p.transB && b.scale.ndim === 2 &&
    b.scale.shape[1] === 1 && a.ndim === 2
  ) {
    if (!p.transA) {
      const block = place(scaled(a, b, 1), 1, b); // [m, size]
      return { dense: reshape(block, [block.shape[0], 1, b.size]), bdim: 2 };
    }
    const block = place(scaled(a, b, 0), 0, b); // [size, m]
    return { dense: reshape(block, [b.size, block.shape[1], 1]), bdim: 0 };
  }
  return null;
}
