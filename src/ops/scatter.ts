/**
 * `scatter` and `scatterAdd`, as PyTorch: the inverses of `gather`. Built
 * from one `indexAdd` of the used part of `src` into the flattened input
 * (positions computed as `gather` does), so both are linear in the input
 * and in `src`, their transposes are gathers, and vmap batches the indices
 * without a loop.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { fmtShape, normAxis } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import { add, div, gt, maximum, mul, where } from "./elementwise.ts";
import { flatIndexAlong } from "./indexing.ts";
import { cast, indexTensor, reshape } from "./layout.ts";
import { checkTensor, describe } from "./scalar.ts";
import { full } from "./creation.ts";

/**
 * Checks PyTorch's shape rules and returns the normalised dim, the flat
 * positions and the part of `src` that is used (flattened).
 */
function prepare(
  what: string,
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor | number,
): [Tensor, Tensor] {
  checkTensor(what, x);
  checkTensor(`${what} (index)`, index);
  if (index.dtype !== "int32") {
    throw new TypeError(
      `${what}: index must be an int32 tensor, got ${index.dtype}`,
    );
  }
  if (index.ndim !== x.ndim) {
    throw new RangeError(
      `${what}: index has rank ${index.ndim} (shape ${
        fmtShape(index.shape)
      }) but x has rank ${x.ndim} (shape ${fmtShape(x.shape)})`,
    );
  }
  const xs = x.ndim === 0 ? reshape(x, [1]) : x;
  const is = index.ndim === 0 ? reshape(index, [1]) : index;
  const d = normAxis(dim, xs.ndim);
  is.shape.forEach((s, i) => {
    if (i !== d && s > xs.shape[i]) {
      throw new RangeError(
        `${what}: index shape ${fmtShape(index.shape)} exceeds x shape ${
          fmtShape(x.shape)
        } in dim ${i}`,
      );
    }
  });
  let used: Tensor;
  if (typeof src === "number") {
    used = full(is.shape, src, { dtype: x.dtype });
  } else {
    checkTensor(`${what} (src)`, src);
    if (src.dtype !== x.dtype) {
      throw new TypeError(
        `${what}: src is ${src.dtype} but x is ${x.dtype}; convert one with .to(dtype)`,
      );
    }
    const ss = src.ndim === 0 ? reshape(src, [1]) : src;
    if (
      ss.ndim !== is.ndim || is.shape.some((s, i) => s > ss.shape[i])
    ) {
      throw new RangeError(
        `${what}: src ${fmtShape(src.shape)} must have the rank of index ${
          fmtShape(index.shape)
        } and be at least as large in every dim`,
      );
    }
    // Only the index-shaped leading block of src is scattered (PyTorch).
    used = ss;
    if (ss.shape.some((s, i) => s !== is.shape[i])) {
      used = bind("slice", [ss], {
        start: ss.shape.map(() => 0),
        step: ss.shape.map(() => 1),
        shape: is.shape,
      });
    }
  }
  const flat = flatIndexAlong(what, xs.shape, d, is);
  return [flat, reshape(used, [-1])];
}

/**
 * int32 tensors take the float64 path (exact for int32 values) and come
 * back as int32; null for float inputs.
 */
function viaFloat64(
  x: Tensor,
  src: Tensor | number,
  f: (x: Tensor, src: Tensor | number) => Tensor,
): Tensor | null {
  if (!(x instanceof Tensor) || x.dtype !== "int32") return null;
  const s = src instanceof Tensor && src.dtype === "int32"
    ? cast(src, "float64")
    : src;
  return cast(f(cast(x, "float64"), s), "int32");
}

/** Sums `values` (1-D) at the flat positions into zeros shaped like x. */
function addAt(x: Tensor, flat: Tensor, values: Tensor): Tensor {
  const summed = bind("indexAdd", [values, flat], { axis: 0, size: x.size });
  return reshape(summed, x.shape);
}

/**
 * `x` with the entries of `src` added at `index` along `dim`, as
 * `torch.scatter_add`: for dim 1, `out[i][index[i][j]] += src[i][j]` over
 * index's shape (src at least as large; only that block is used; repeated
 * positions accumulate). Linear in `x` and `src`: the gradient in src
 * gathers the cotangent at index.
 *
 * @example
 * ```ts
 * import { scatterAdd, tensor, zeros } from "./mod.ts";
 * const index = tensor([[0, 1, 0], [2, 2, 1]], { dtype: "int32" });
 * const src = tensor([[1, 2, 3], [4, 5, 6]]);
 * scatterAdd(zeros([2, 3]), 1, index, src); // [[4, 2, 0], [0, 6, 9]]
 * ```
 */
export function scatterAdd(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor | number,
): Tensor {
  return eagerOp([x, dim, index, src], () => {
    const wide = viaFloat64(x, src, (x, s) => scatterAdd(x, dim, index, s));
    if (wide) return wide;
    const [flat, values] = prepare("scatterAdd", x, dim, index, src);
    return add(x, addAt(x, flat, values));
  });
}

/**
 * `x` with the entries of `src` (or the number `src`) written at `index`
 * along `dim`, as `torch.scatter`: for dim 0,
 * `out[index[i][j]][j] = src[i][j]` over index's shape. PyTorch leaves the
 * result undefined when positions repeat; here a repeated position gets
 * the mean of the values written to it, which is deterministic and smooth
 * (without repeats, the same). Linear in `x` and `src`: positions written
 * get no gradient in x.
 *
 * @example
 * ```ts
 * import { scatter, tensor, zeros } from "./mod.ts";
 * const index = tensor([[1, 0, 2]], { dtype: "int32" });
 * scatter(zeros([3, 3]), 0, index, tensor([[5, 6, 7]])); // [[0, 6, 0], [5, 0, 0], [0, 0, 7]]
 * scatter(zeros([2, 2]), 1, tensor([[1], [0]], { dtype: "int32" }), 9); // [[0, 9], [9, 0]]
 * ```
 */
export function scatter(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor | number,
): Tensor {
  return eagerOp([x, dim, index, src], () => {
    if (
      !(src instanceof Tensor) && typeof src !== "number"
    ) {
      throw new TypeError(
        `scatter: src must be a tensor or a number, got ${describe(src)}`,
      );
    }
    const wide = viaFloat64(x, src, (x, s) => scatter(x, dim, index, s));
    if (wide) return wide;
    const [flat, values] = prepare("scatter", x, dim, index, src);
    const ones = full([values.size], 1, { dtype: x.dtype });
    const count = addAt(x, flat, ones);
    const summed = addAt(x, flat, values);
    return where(gt(count, 0), div(summed, maximum(count, 1)), x);
  });
}

/**
 * `x` with the slices of `source` added at positions `index` along `dim`,
 * as `torch.index_add`: `out[..., index[i], ...] += alpha · source[..., i,
 * ...]`. `index` is a 1-D int32 tensor (or an array) as long as `source`
 * along `dim`; `source` matches `x` in every other dim; repeated positions
 * accumulate. Linear in `x` and `source` (the gradient in source is an
 * `indexSelect` of the cotangent).
 *
 * @example
 * ```ts
 * import { indexAdd, ones, tensor } from "./mod.ts";
 * const y = indexAdd(ones([3, 2]), 0, [2, 0, 2], tensor([[1, 2], [3, 4], [5, 6]]));
 * // [[4, 5], [1, 1], [7, 9]]
 * ```
 */
export function indexAdd(
  x: Tensor,
  dim: number,
  index: Tensor | readonly number[],
  source: Tensor,
  options: { alpha?: number } = {},
): Tensor {
  return eagerOp([x, dim, index, source, options], () => {
    checkTensor("indexAdd", x);
    checkTensor("indexAdd (source)", source);
    const wide = viaFloat64(
      x,
      source,
      (x, s) => indexAdd(x, dim, index, s as Tensor, options),
    );
    if (wide) return wide;
    const d = normAxis(dim, Math.max(1, x.ndim));
    const { alpha = 1 } = options;
    if (typeof alpha !== "number") {
      throw new TypeError(
        `indexAdd: alpha must be a number, got ${describe(alpha)}`,
      );
    }
    if (source.dtype !== x.dtype) {
      throw new TypeError(
        `indexAdd: source is ${source.dtype} but x is ${x.dtype}; convert one with .to(dtype)`,
      );
    }
    const n = Array.isArray(index) ? index.length : (index as Tensor).size;
    const fits = source.ndim === x.ndim &&
      source.shape.every((s, i) => (i === d ? s === n : s === x.shape[i]));
    if (!fits || (index instanceof Tensor && index.ndim !== 1)) {
      throw new RangeError(
        `indexAdd: source ${fmtShape(source.shape)} must match x ${
          fmtShape(x.shape)
        } except in dim ${d}, where it must have the length of the 1-D index (${n})`,
      );
    }
    const idx = indexTensor("indexAdd", x.shape[d], dim, index);
    const src = alpha === 1 ? source : mul(source, alpha);
    return add(x, bind("indexAdd", [src, idx], { axis: d, size: x.shape[d] }));
  });
}
