/**
 * Sorting: `sort`, `argsort` and `topk`, as PyTorch. One primitive,
 * `argsort` (a stable merge sort in the kernels, int32 result, no
 * derivative), gives the permutation; the values are a `gather` of x by it,
 * so their derivative is the tangent gathered by the same permutation (and
 * the gradient scattered back), under every transform.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { normAxis } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import { gather } from "./indexing.ts";
import { narrow, reshape } from "./layout.ts";
import { checkTensor, describe } from "./scalar.ts";

/** Options of {@link sort} and {@link argsort} (PyTorch's names and defaults). */
export interface SortOptions {
  /** The dim to sort along (default -1, the last). */
  dim?: number;
  /** Largest first (default false). */
  descending?: boolean;
  /**
   * Keep equal values in their original order. Accepted for PyTorch
   * compatibility: the sort is always stable.
   */
  stable?: boolean;
}

/** Options of {@link topk} (PyTorch's names and defaults). */
export interface TopkOptions {
  /** The dim to select along (default -1, the last). */
  dim?: number;
  /** The k largest (default true) or the k smallest. */
  largest?: boolean;
  /**
   * Return them in order (default true). Accepted for PyTorch
   * compatibility: they always come sorted.
   */
  sorted?: boolean;
}

/** Values and the int32 positions they came from (as PyTorch's named tuple). */
export interface ValuesIndices {
  /** The selected or reordered values (differentiable). */
  values: Tensor;
  /** Their int32 positions along the dim in the input. */
  indices: Tensor;
}

function optionsOf<O extends { dim?: number }>(
  what: string,
  options: O | number | undefined,
): O {
  if (typeof options === "number") return { dim: options } as O;
  if (
    options !== undefined && (options === null || typeof options !== "object")
  ) {
    throw new TypeError(
      `${what}: options must be an object (or a dim), got ${describe(options)}`,
    );
  }
  return options ?? ({} as O);
}

/** The int32 permutation sorting `x` along `dim` (a scalar sorts as one entry). */
function permutation(
  what: string,
  x: Tensor,
  dim: number,
  descending: unknown,
  name = "descending",
): [Tensor, number] {
  checkTensor(what, x);
  if (typeof descending !== "boolean") {
    throw new TypeError(
      `${what}: ${name} must be a boolean, got ${describe(descending)}`,
    );
  }
  const xs = x.ndim === 0 ? reshape(x, [1]) : x;
  const d = normAxis(dim, xs.ndim);
  return [bind("argsort", [xs], { axis: d, descending }), d];
}

/**
 * The values of `x` sorted along `dim` and their original positions, as
 * `torch.sort`. The sort is stable (equal values keep their order) and NaN
 * sorts above every number (last ascending, first descending). The values
 * are differentiable: their tangent is the input's tangent permuted the
 * same way.
 *
 * @example
 * ```ts
 * import { sort, tensor } from "./mod.ts";
 * const { values, indices } = sort(tensor([3, 1, 2, 1]));
 * // values: [1, 1, 2, 3], indices: [1, 3, 2, 0] (int32)
 * const down = sort(tensor([[3, 1], [0, 5]]), { dim: 0, descending: true });
 * // down.values: [[3, 5], [0, 1]]
 * ```
 */
export function sort(
  x: Tensor,
  options?: SortOptions | number,
): ValuesIndices {
  return eagerOp([x, options], () => {
    const { dim = -1, descending = false } = optionsOf("sort", options);
    const [indices, d] = permutation("sort", x, dim, descending);
    if (x.ndim === 0) return { values: x, indices: reshape(indices, []) };
    return { values: gather(x, d, indices), indices };
  });
}

/**
 * The int32 positions that sort `x` along `dim`, as `torch.argsort`
 * (stable; NaN above every number).
 *
 * @example
 * ```ts
 * import { argsort, tensor } from "./mod.ts";
 * argsort(tensor([3, 1, 2])); // [1, 2, 0]
 * argsort(tensor([3, 1, 2]), { descending: true }); // [0, 2, 1]
 * ```
 */
export function argsort(x: Tensor, options?: SortOptions | number): Tensor {
  return eagerOp([x, options], () => {
    const { dim = -1, descending = false } = optionsOf("argsort", options);
    const [indices] = permutation("argsort", x, dim, descending);
    return x.ndim === 0 ? reshape(indices, []) : indices;
  });
}

/**
 * The `k` largest (or smallest) entries of `x` along `dim` and their
 * positions, as `torch.topk`, largest first (smallest first with
 * `largest: false`); among equal values the earlier position comes first.
 * The values are differentiable (the gradient goes to the selected
 * positions).
 *
 * @example
 * ```ts
 * import { tensor, topk } from "./mod.ts";
 * const { values, indices } = topk(tensor([1, 5, 2, 5, 3]), 3);
 * // values: [5, 5, 3], indices: [1, 3, 4]
 * topk(tensor([[4, 1, 3], [0, 2, 9]]), 1, { largest: false }).values; // [[1], [0]]
 * ```
 */
export function topk(
  x: Tensor,
  k: number,
  options?: TopkOptions | number,
): ValuesIndices {
  return eagerOp([x, k, options], () => {
    const { dim = -1, largest = true } = optionsOf("topk", options);
    const [perm, d] = permutation("topk", x, dim, largest, "largest");
    const n = perm.shape[d];
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new RangeError(
        `topk: k must be an integer in [0, ${n}] (the size of dim ${d}), got ${
          describe(k)
        }`,
      );
    }
    const indices = narrow(perm, d, 0, k);
    const xs = x.ndim === 0 ? reshape(x, [1]) : x;
    return { values: gather(xs, d, indices), indices };
  });
}
