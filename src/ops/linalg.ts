/**
 * Matrix products with PyTorch's semantics (1-D operands, broadcast batch
 * dims) lowered to one `matmul` primitive with transpose flags.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { bind } from "../core/trace.ts";
import { broadcastShapes, fmtShape, shapeEq } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { add, mul } from "./elementwise.ts";
import { expand, reshape, unsqueeze } from "./layout.ts";
import { castTo, checkTensor } from "./scalar.ts";
import { promoteTypes } from "../core/dtypes.ts";

/**
 * Matrix product as `torch.matmul`: vectors, matrices, broadcast batches.
 * With `transB`, the product with `b`'s transpose (its last two dims
 * swapped), read in place: eagerly, `matmul(x, w, true)` saves the copy
 * that `matmul(x, w.T)` makes for `w.T` (under `jit` both are one product).
 *
 * @example
 * ```ts
 * import { matmul, randn } from "./mod.ts";
 * const A = randn([5, 3, 4]), B = randn([4, 2]);
 * const C = matmul(A, B); // shape [5, 3, 2] (B broadcast over the batch)
 * const v = matmul(randn([3, 4]), randn([4])); // shape [3]
 * const y = matmul(randn([8, 4]), randn([6, 4]), true); // [8, 4] @ [6, 4]ᵀ: [8, 6]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, transB = false): Tensor {
  return eagerOp([a, b, transB], () => {
    checkTensor("matmul (a)", a);
    checkTensor("matmul (b)", b);
    // Promoted as the elementwise ops (bool computes in int32).
    let d = promoteTypes(a.dtype, b.dtype);
    if (d === "bool") d = "int32";
    [a, b] = [castTo(a, d), castTo(b, d)];
    if (a.ndim === 0 || b.ndim === 0) {
      throw new RangeError(
        `matmul: both operands need at least 1 dim, got ${
          fmtShape(a.shape)
        } and ${fmtShape(b.shape)}`,
      );
    }
    const aVec = a.ndim === 1, bVec = b.ndim === 1;
    let A = aVec ? unsqueeze(a, 0) : a;
    let B = bVec ? (transB ? unsqueeze(b, 0) : unsqueeze(b, 1)) : b;
    const k1 = A.shape[A.ndim - 1],
      k2 = transB ? B.shape[B.ndim - 1] : B.shape[B.ndim - 2];
    if (k1 !== k2) {
      throw new RangeError(
        `matmul: inner dimensions differ: ${fmtShape(a.shape)} @ ${
          fmtShape(b.shape)
        }${transB ? "ᵀ" : ""} (${k1} vs ${k2})`,
      );
    }
    const ba = A.shape.slice(0, -2), bb = B.shape.slice(0, -2);
    if (ba.length > 0 && bb.length > 0 && !shapeEq(ba, bb)) {
      const batch = broadcastShapes("matmul batch dims", ba, bb);
      A = expand(A, [...batch, ...A.shape.slice(-2)]);
      B = expand(B, [...batch, ...B.shape.slice(-2)]);
    } else if (bb.length === 0 && ba.length > 0 && !transB) {
      // [..., m, k] @ [k, n]: fold the batch into m for one large GEMM.
      const m = A.shape[A.ndim - 2];
      const y = bind("matmul", [reshape(A, [-1, k1]), B], {
        transA: false,
        transB,
      });
      const out = reshape(y, [...ba, m, y.shape[1]]);
      return bVec ? reshape(out, [...ba, m]) : out;
    }
    let y = bind("matmul", [A, B], { transA: false, transB });
    if (aVec) y = reshape(y, y.shape.filter((_, i) => i !== y.ndim - 2));
    if (bVec) y = reshape(y, y.shape.slice(0, -1));
    return y;
  });
}

/**
 * `x @ weight.T + bias`, as `torch.nn.functional.linear` (weight is [out, in]).
 *
 * @example
 * ```ts
 * import { linear, randn } from "./mod.ts";
 * const W = randn([16, 8]), b = randn([16]);
 * const y = linear(randn([8]), W, b); // shape [16]
 * const Y = linear(randn([32, 8]), W, b); // shape [32, 16]
 * ```
 */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
): Tensor {
  return eagerOp([x, weight, bias], () => {
    checkTensor("linear (weight)", weight);
    if (weight.ndim !== 2) {
      throw new RangeError(
        `linear: weight must be 2-D [out, in], got ${fmtShape(weight.shape)}`,
      );
    }
    const y = matmul(x, weight, true);
    return bias === undefined || bias === null
      ? y
      : add(y, checkTensor("linear (bias)", bias));
  });
}

/**
 * Inner product of two 1-D tensors.
 *
 * @example
 * ```ts
 * import { dot, tensor } from "./mod.ts";
 * const d = dot(tensor([1, 2, 3]), tensor([4, 5, 6])); // tensor(32.)
 * ```
 */
export function dot(a: Tensor, b: Tensor): Tensor {
  return eagerOp([a, b], () => {
    if (
      checkTensor("dot (a)", a).ndim !== 1 ||
      checkTensor("dot (b)", b).ndim !== 1 || a.shape[0] !== b.shape[0]
    ) {
      throw new RangeError(
        `dot: expected two 1-D tensors of equal length, got ${
          fmtShape(a.shape)
        } and ${fmtShape(b.shape)}`,
      );
    }
    return matmul(a, b);
  });
}

/**
 * Outer product of two 1-D tensors.
 *
 * @example
 * ```ts
 * import { outer, tensor } from "./mod.ts";
 * const m = outer(tensor([1, 2]), tensor([1, 10, 100])); // shape [2, 3]
 * ```
 */
export function outer(a: Tensor, b: Tensor): Tensor {
  return eagerOp([a, b], () => {
    if (
      checkTensor("outer (a)", a).ndim !== 1 ||
      checkTensor("outer (b)", b).ndim !== 1
    ) {
      throw new RangeError(
        `outer: expected two 1-D tensors, got ${fmtShape(a.shape)} and ${
          fmtShape(b.shape)
        }`,
      );
    }
    return mul(unsqueeze(a, 1), unsqueeze(b, 0));
  });
}
