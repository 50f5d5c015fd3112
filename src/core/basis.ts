/**
 * Symbolic one-hot bases for `jacrev`/`jacfwd`. The basis that a Jacobian
 * pushes through `vmap` is a (scaled) identity: batch row r is
 * `scale[r - offset]` at flat position `r - offset`, zero elsewhere. Carrying
 * it as its diagonal turns the "wrong" mode's first matrix product (a GEMM
 * against the identity) into a scaled copy, and elementwise scalings into
 * scalings of the diagonal: O(n·k) instead of O(n²·k). Any primitive without
 * a rule here gets the materialised basis, so results never change.
 * @module
 */
import { eye } from "../ops/creation.ts";
import * as E from "../ops/elementwise.ts";
import { reshape } from "../ops/layout.ts";
import { shapeEq, sizeOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { bind } from "./trace.ts";

/** Batch of `size` one-hot rows of logical shape `scale.shape`, scaled. */
export interface Basis {
  /** The diagonal, in the logical (per-example) shape. */
  readonly scale: Tensor;
  /** Batch row of the first basis vector (rows outside the block are zero). */
  readonly offset: number;
  /** Batch size. */
  readonly size: number;
  /** The scale is all ones (the plain identity), so scaling can be skipped. */
  readonly unit?: boolean;
}

/** `x` times the basis scale laid out by `shape` (skipped for a unit basis). */
function scaled(x: Tensor, b: Basis, shape: number[]): Tensor {
  return b.unit ? x : E.mul(x, reshape(b.scale, shape));
}

/** Places `block` at positions offset..offset+k of a zero tensor of length `size` along `axis`. */
function place(
  block: Tensor,
  axis: number,
  offset: number,
  size: number,
): Tensor {
  if (offset === 0 && block.shape[axis] === size) return block;
  const shape = block.shape.map((d, i) => (i === axis ? size : d));
  return bind("pad", [block], {
    start: shape.map((_, i) => (i === axis ? offset : 0)),
    step: shape.map(() => 1),
    shape,
  });
}

/** The dense batch [size, ...scale.shape]. */
export function materialize(b: Basis): Tensor {
  const n = sizeOf(b.scale.shape);
  const diag = E.mul(
    eye(n, { dtype: b.scale.dtype }),
    reshape(b.scale, [1, n]),
  );
  return reshape(place(diag, 0, b.offset, b.size), [b.size, ...b.scale.shape]);
}

const withScale = (b: Basis, scale: Tensor): Basis => ({
  scale,
  offset: b.offset,
  size: b.size,
});

/** A rule on basis-carrying arguments: a new basis, a dense batch with its batch dim, or null to fall back. */
type Result = { basis: Basis } | { dense: Tensor; bdim: number } | null;

/** `args[i]` is a Basis for symbolic arguments, a Tensor for unbatched ones. */
export function basisRule<P extends Prim>(
  prim: P,
  args: (Tensor | Basis)[],
  params: PrimParams[P],
): Result {
  const isB = (a: Tensor | Basis): a is Basis => "scale" in a && "offset" in a;
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
      const y = prim === "mul"
        ? E.mul(B.scale, c as Tensor)
        : E.div(B.scale, c as Tensor);
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
        d = E.mul(d, reshape(eye(S[p], { dtype: x.scale.dtype }), shape));
      });
      const keptShape = kept.map((p) => S[p]);
      const rows = reshape(d, [sizeOf(S), ...keptShape]);
      return { dense: place(rows, 0, x.offset, x.size), bdim: 0 };
    }
    case "reshape": {
      const [x] = args as [Basis];
      // Same one-hot rows in another shape (a unit basis stays unit).
      const { shape } = params as PrimParams["reshape"];
      return { basis: { ...x, scale: reshape(x.scale, shape) } };
    }
    case "matmul": {
      const [a, b] = args;
      const p = params as PrimParams["matmul"];
      if (
        isB(a) && !isB(b) && !p.transA && a.scale.ndim === 2 &&
        a.scale.shape[0] === 1 && b.ndim === 2
      ) {
        // Row basis [1, k] @ op(B): batch row j is scale_j · op(B)[j, :].
        // Laid out batch-last when B is stored transposed (no copy of B).
        if (p.transB) {
          const block = place(
            scaled(b, a as Basis, [1, -1]),
            1,
            a.offset,
            a.size,
          );
          return {
            dense: reshape(block, [1, block.shape[0], a.size]),
            bdim: 2,
          };
        }
        const block = place(
          scaled(b, a as Basis, [-1, 1]),
          0,
          a.offset,
          a.size,
        );
        return { dense: reshape(block, [a.size, 1, block.shape[1]]), bdim: 0 };
      }
      if (
        isB(b) && !isB(a) && !p.transB && b.scale.ndim === 2 &&
        b.scale.shape[1] === 1 && a.ndim === 2
      ) {
        // op(A) @ column basis [k, 1]: batch row j is scale_j · op(A)[:, j].
        if (!p.transA) {
          const block = place(
            scaled(a, b as Basis, [1, -1]),
            1,
            b.offset,
            b.size,
          );
          return {
            dense: reshape(block, [block.shape[0], 1, b.size]),
            bdim: 2,
          };
        }
        const block = place(
          scaled(a, b as Basis, [-1, 1]),
          0,
          b.offset,
          b.size,
        );
        return { dense: reshape(block, [b.size, block.shape[1], 1]), bdim: 0 };
      }
      return null;
    }
    default:
      return null;
  }
}
