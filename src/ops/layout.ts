/**
 * Shape and layout operations: reshape, permute and friends, slicing,
 * indexing, concatenation. All lower to a handful of primitives.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import type { DType } from "../backend/dtype.ts";
import { bind } from "../core/trace.ts";
import {
  fmtShape,
  isIdentityPerm,
  normAxis,
  normPerm,
  resolveReshape,
  type Shape,
  shapeEq,
  sizeOf,
} from "../core/shape.ts";
import { fromArray } from "../backend/storage.ts";
import { Tensor } from "../core/tensor.ts";
import { castTo, checkTensor, describe } from "./scalar.ts";
import { promoteTypes } from "../core/dtypes.ts";

/**
 * The same values in a new shape (one size may be -1, inferred); shares the buffer when it can.
 *
 * @example
 * ```ts
 * import { arange, reshape } from "./mod.ts";
 * const m = reshape(arange(6), [2, -1]); // [[0, 1, 2], [3, 4, 5]]
 * ```
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  checkTensor("reshape", x);
  const target = resolveReshape(sizeOf(x.shape), shape, x.shape);
  if (shapeEq(target, x.shape)) return x._alias();
  return bind("reshape", [x], { shape: target });
}

/**
 * Reorders the dims: dim `i` of the result is dim `dims[i]` of `x`.
 *
 * @example
 * ```ts
 * import { permute, zeros } from "./mod.ts";
 * const y = permute(zeros([2, 3, 4]), [2, 0, 1]); // shape [4, 2, 3]
 * ```
 */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const perm = normPerm(dims, checkTensor("permute", x).ndim);
  if (isIdentityPerm(perm)) return x._alias();
  return bind("permute", [x], { perm });
}

/**
 * Swaps two dimensions (default: the last two).
 *
 * @example
 * ```ts
 * import { arange, transpose } from "./mod.ts";
 * const m = arange(6).reshape([2, 3]);
 * const t = transpose(m); // shape [3, 2], as m.T
 * ```
 */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const r = checkTensor("transpose", x).ndim;
  if (r < 2 && dim0 === -2 && dim1 === -1) return x._alias();
  const a = normAxis(dim0, r, "dim0"), b = normAxis(dim1, r, "dim1");
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/**
 * Moves dims `source` to positions `destination`, keeping the others' order.
 *
 * @example
 * ```ts
 * import { movedim, zeros } from "./mod.ts";
 * const y = movedim(zeros([2, 3, 4]), 0, -1); // shape [3, 4, 2]
 * ```
 */
export function movedim(
  x: Tensor,
  source: number | readonly number[],
  destination: number | readonly number[],
): Tensor {
  const r = checkTensor("movedim", x).ndim;
  const src = (typeof source === "number" ? [source] : source).map((d) =>
    normAxis(d, r, "source")
  );
  const dst = (typeof destination === "number" ? [destination] : destination)
    .map((d) => normAxis(d, r, "destination"));
  if (src.length !== dst.length) {
    throw new RangeError(
      `movedim: source [${src}] and destination [${dst}] differ in length`,
    );
  }
  const perm = new Array<number>(r).fill(-1);
  src.forEach((s, i) => (perm[dst[i]] = s));
  const rest = Array.from({ length: r }, (_, i) => i).filter((i) =>
    !src.includes(i)
  );
  let j = 0;
  for (let i = 0; i < r; i++) if (perm[i] === -1) perm[i] = rest[j++];
  return permute(x, perm);
}

/**
 * Broadcasts to `shape` (NumPy rules; -1 keeps a dimension).
 *
 * @example
 * ```ts
 * import { expand, tensor } from "./mod.ts";
 * const y = expand(tensor([[1], [2]]), [2, 3]); // [[1, 1, 1], [2, 2, 2]]
 * ```
 */
export function expand(x: Tensor, shape: Shape): Tensor {
  checkTensor("expand", x);
  const off = shape.length - x.ndim;
  if (off < 0) {
    throw new RangeError(
      `expand: target ${fmtShape(shape)} has fewer dims than ${
        fmtShape(x.shape)
      }`,
    );
  }
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - off] : d));
  if (!target.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(
      `expand: target ${fmtShape(shape)} must be non-negative integers (or -1)`,
    );
  }
  if (shapeEq(target, x.shape)) return x._alias();
  return bind("broadcastTo", [x], { shape: target });
}

/**
 * Removes size-1 dims: all of them, or those in `dim` (others are kept).
 *
 * @example
 * ```ts
 * import { squeeze, zeros } from "./mod.ts";
 * const a = squeeze(zeros([1, 3, 1])); // shape [3]
 * const b = squeeze(zeros([1, 3, 1]), 0); // shape [3, 1]
 * ```
 */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  checkTensor("squeeze", x);
  const dims = dim === undefined
    ? x.shape.map((_, i) => i)
    : (typeof dim === "number" ? [dim] : dim).map((d) => normAxis(d, x.ndim));
  return reshape(x, x.shape.filter((d, i) => !(d === 1 && dims.includes(i))));
}

/**
 * Inserts a size-1 dim at `dim` (negative counts from the end of the result).
 *
 * @example
 * ```ts
 * import { unsqueeze, zeros } from "./mod.ts";
 * const y = unsqueeze(zeros([3]), 0); // shape [1, 3]
 * const z = unsqueeze(zeros([3]), -1); // shape [3, 1]
 * ```
 */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor("unsqueeze", x);
  const d = normAxis(dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

/**
 * Merges dims `startDim` to `endDim` (all by default) into one.
 *
 * @example
 * ```ts
 * import { flatten, zeros } from "./mod.ts";
 * const y = flatten(zeros([2, 3, 4])); // shape [24]
 * const z = flatten(zeros([2, 3, 4]), 1); // shape [2, 12]
 * ```
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor("flatten", x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis(startDim, x.ndim, "startDim"),
    e = normAxis(endDim, x.ndim, "endDim");
  if (s > e) {
    throw new RangeError(
      `flatten: startDim ${startDim} comes after endDim ${endDim}`,
    );
  }
  const mid = sizeOf(x.shape.slice(s, e + 1));
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
}

/**
 * Python-style slice along one dim: `start` (default 0) to `end` (exclusive,
 * default the size) by `step`; negative start/end count from the end. A
 * negative step walks backwards as Python's `x[start:end:step]` (start
 * defaults to the last entry, end to before the first): a copy, where a
 * positive step is a strided view for the transforms.
 *
 * @example
 * ```ts
 * import { arange, slice } from "./mod.ts";
 * const x = arange(10);
 * const evens = slice(x, 0, 0, undefined, 2); // tensor([0., 2., 4., 6., 8.])
 * const last3 = slice(x, 0, -3); // tensor([7., 8., 9.])
 * const reversed = slice(x, 0, undefined, undefined, -1); // tensor([9., 8., ..., 0.])
 * const back2 = slice(x, 0, 7, 2, -2); // tensor([7., 5., 3.])
 * ```
 */
export function slice(
  x: Tensor,
  dim: number,
  start?: number,
  end?: number,
  step = 1,
): Tensor {
  checkTensor("slice", x);
  const d = normAxis(dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(step) || step === 0) {
    throw new RangeError(`slice: step must be a nonzero integer, got ${step}`);
  }
  for (const [name, v] of [["start", start], ["end", end]] as const) {
    if (v !== undefined && !Number.isInteger(v)) {
      throw new RangeError(`slice: ${name} must be an integer, got ${v}`);
    }
  }
  if (step < 0) {
    // Python's x[start:end:step] backwards: from start (default the last)
    // down to just above end (default before the first). A gather of those
    // positions (its gradient scatters back).
    const back = (v: number) =>
      Math.min(Math.max(v < 0 ? v + n : v, -1), n - 1);
    const s = start === undefined ? n - 1 : back(start);
    const e = end === undefined ? -1 : back(end);
    const len = Math.max(0, Math.ceil((s - e) / -step));
    return indexSelect(
      x,
      d,
      Array.from({ length: len }, (_, j) => s + j * step),
    );
  }
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = clamp(start ?? 0), e = clamp(end ?? n);
  const len = Math.max(0, Math.ceil((e - s) / step));
  return sliceParts(x, d, s, len, step);
}

function sliceParts(
  x: Tensor,
  d: number,
  start: number,
  len: number,
  step: number,
): Tensor {
  if (start === 0 && step === 1 && len === x.shape[d]) return x._alias();
  const startV = x.shape.map(() => 0),
    stepV = x.shape.map(() => 1),
    shape = [...x.shape];
  startV[d] = start;
  stepV[d] = step;
  shape[d] = len;
  return bind("slice", [x], { start: startV, step: stepV, shape });
}

/**
 * `length` elements from `start` along `dim` (start may be negative); RangeError past the end.
 *
 * @example
 * ```ts
 * import { arange, narrow } from "./mod.ts";
 * const y = narrow(arange(6), 0, 2, 3); // tensor([2., 3., 4.])
 * ```
 */
export function narrow(
  x: Tensor,
  dim: number,
  start: number,
  length: number,
): Tensor {
  checkTensor("narrow", x);
  const d = normAxis(dim, x.ndim);
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  if (
    !Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 ||
    s + length > n
  ) {
    throw new RangeError(
      `narrow: start ${start} and length ${length} are out of range for dim ${dim} of size ${n} (shape ${
        fmtShape(x.shape)
      })`,
    );
  }
  return sliceParts(x, d, s, length, 1);
}

/**
 * The slice at `index` along `dim`, with that dim removed.
 *
 * @example
 * ```ts
 * import { arange, select } from "./mod.ts";
 * const m = arange(6).reshape([2, 3]);
 * const row = select(m, 0, 1); // tensor([3., 4., 5.])
 * const col = select(m, 1, 0); // tensor([0., 3.])
 * ```
 */
export function select(x: Tensor, dim: number, index: number): Tensor {
  checkTensor("select", x);
  const d = normAxis(dim, x.ndim);
  const n = x.shape[d];
  const i = index < 0 ? index + n : index;
  if (!Number.isInteger(i) || i < 0 || i >= n) {
    throw new RangeError(
      `select: index ${index} is out of range for dim ${dim} of size ${n} (shape ${
        fmtShape(x.shape)
      })`,
    );
  }
  const shape = x.shape.filter((_, j) => j !== d);
  return reshape(sliceParts(x, d, i, 1, 1), shape);
}

/**
 * `indices` (an int32 tensor or an array of integers) as an int32 tensor
 * with negative entries counted from the end of a dim of size `n`; arrays
 * and concrete tensors are range-checked (naming `what`).
 */
export function indexTensor(
  what: string,
  n: number,
  dim: number,
  indices: Tensor | readonly number[],
): Tensor {
  return eagerOp([what, n, dim, indices], () => {
    const bad = (v: number) => {
      throw new RangeError(
        `${what}: index ${v} is out of range for dim ${dim} of size ${n}`,
      );
    };
    let idx: Tensor;
    if (Array.isArray(indices)) {
      const list = indices as readonly number[];
      for (const v of list) {
        if (!Number.isInteger(v) || v < -n || v >= n) bad(v);
      }
      const norm = list.map((v) => (v < 0 ? v + n : v));
      return Tensor._fromStorage(
        fromArray("int32", norm),
        [norm.length],
        "int32",
      );
    }
    idx = checkTensor(`${what} (indices)`, indices);
    if (idx.dtype !== "int32") {
      throw new TypeError(
        `${what}: indices must be an int32 tensor, got ${idx.dtype} ${
          fmtShape(idx.shape)
        }`,
      );
    }
    if (idx._storage !== null) {
      const v = idx.data();
      let negative = false;
      for (let i = 0; i < v.length; i++) {
        if (v[i] < -n || v[i] >= n) bad(v[i]);
        negative ||= v[i] < 0;
      }
      if (negative) {
        const norm = Array.from(v, (k) => (k < 0 ? k + n : k));
        idx = Tensor._fromStorage(fromArray("int32", norm), idx.shape, "int32");
      }
    }
    return idx;
  });
}

/**
 * Integer indexing of one dim, as `x[:, indices]` in PyTorch: the entries
 * at `indices` (an int32 tensor of any shape, or an array of integers)
 * along `dim`, giving shape `x.shape[:dim] ++ indices.shape ++
 * x.shape[dim+1:]`. Negative indices count from the end (for arrays and
 * concrete tensors, which are also range-checked; indices computed inside
 * a transform cannot be). The gradient scatter-adds back (repeated indices
 * accumulate).
 *
 * @example
 * ```ts
 * import { arange, indexSelect, tensor } from "./mod.ts";
 * const x = arange(12).reshape([3, 4]);
 * indexSelect(x, 1, [3, 0]); // [[3, 0], [7, 4], [11, 8]]
 * const i = tensor([[0, 2], [-1, 1]], { dtype: "int32" });
 * x.index(0, i).shape; // [2, 2, 4]
 * ```
 */
export function indexSelect(
  x: Tensor,
  dim: number,
  indices: Tensor | readonly number[],
): Tensor {
  return eagerOp([x, dim, indices], () => {
    checkTensor("index", x);
    const d = normAxis(dim, x.ndim);
    const idx = indexTensor("index", x.shape[d], dim, indices);
    if (idx.ndim === 1) return bind("indexSelect", [x, idx], { axis: d });
    const flat = reshape(idx, [idx.size]);
    const y = bind("indexSelect", [x, flat], { axis: d });
    return reshape(y, [
      ...x.shape.slice(0, d),
      ...idx.shape,
      ...x.shape.slice(d + 1),
    ]);
  });
}

/**
 * Concatenates along an existing dim.
 *
 * @example
 * ```ts
 * import { cat, ones, zeros } from "./mod.ts";
 * const y = cat([zeros([2, 3]), ones([1, 3])]); // shape [3, 3]
 * ```
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return eagerOp([tensors, dim], () => {
    if (!Array.isArray(tensors) || tensors.length === 0) {
      throw new TypeError(
        `cat: expected a non-empty array of tensors, got ${describe(tensors)}`,
      );
    }
    tensors.forEach((t, i) => checkTensor(`cat (tensor ${i})`, t));
    const axis = normAxis(dim, tensors[0].ndim);
    if (tensors.length === 1) return tensors[0]._alias();
    // Mixed dtypes meet at the promoted one, as PyTorch's cat.
    const d = tensors.map((t) => t.dtype).reduce(promoteTypes);
    return bind("cat", tensors.map((t) => castTo(t, d)), { axis });
  });
}

/**
 * Stacks equal-shaped tensors along a new dim.
 *
 * @example
 * ```ts
 * import { ones, stack, zeros } from "./mod.ts";
 * const y = stack([zeros([3]), ones([3])]); // shape [2, 3]
 * const z = stack([zeros([3]), ones([3])], 1); // shape [3, 2]
 * ```
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return eagerOp([tensors, dim], () => {
    if (!Array.isArray(tensors) || tensors.length === 0) {
      throw new TypeError(
        `stack: expected a non-empty array of tensors, got ${
          describe(tensors)
        }`,
      );
    }
    tensors.forEach((t, i) => {
      checkTensor(`stack (tensor ${i})`, t);
      if (!shapeEq(t.shape, tensors[0].shape)) {
        throw new RangeError(
          `stack: tensor ${i} has shape ${fmtShape(t.shape)} but tensor 0 has ${
            fmtShape(tensors[0].shape)
          }`,
        );
      }
    });
    const d = normAxis(dim, tensors[0].ndim + 1);
    const parts = tensors.map((t) => unsqueeze(t, d));
    return parts.length === 1 ? parts[0] : cat(parts, d); // cat promotes
  });
}

export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor("to", x);
  if (
    dtype !== "float32" && dtype !== "float64" && dtype !== "int32" &&
    dtype !== "bool"
  ) {
    throw new TypeError(
      `to: unknown dtype ${
        describe(dtype)
      }; expected "float32", "float64", "int32" or "bool"`,
    );
  }
  return x.dtype === dtype ? x._alias() : bind("cast", [x], { dtype });
}
