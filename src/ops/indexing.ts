/**
 * Layout and indexing operations composed from existing primitives: split
 * and chunk (slices), tril/triu (a constant mask and `where`), diag and
 * diagonal (strided pad/slice of the flattened matrix), tile and
 * repeatInterleave (broadcast), roll (two slices and a cat), flip, pad's
 * reflect/replicate/circular modes and gather (`indexSelect` with constant
 * or computed indices). Each is linear in the tensor argument and
 * differentiated through those primitives' rules.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { fromArray } from "../backend/storage.ts";
import type { DType } from "../backend/dtype.ts";
import { bind } from "../core/trace.ts";
import {
  broadcastShapes,
  fmtShape,
  normAxis,
  stridesOf,
} from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { add, mul, where } from "./elementwise.ts";
import {
  cast,
  cat,
  expand,
  flatten,
  indexSelect,
  movedim,
  narrow,
  reshape,
  unsqueeze,
} from "./layout.ts";
import { sum } from "./reduce.ts";
import { checkTensor, describe } from "./scalar.ts";

/** A constant tensor from JS numbers. */
function constant(
  dtype: DType,
  shape: readonly number[],
  values: ArrayLike<number>,
): Tensor {
  return Tensor._fromStorage(fromArray(dtype, values), shape, dtype);
}

/** int32 index vector constant. */
const indexVector = (v: readonly number[]) => constant("int32", [v.length], v);

const isConcrete = (x: Tensor) => x._storage !== null;

function checkInt(what: string, name: string, v: unknown, min = 0): number {
  if (!Number.isInteger(v) || (v as number) < min) {
    throw new RangeError(
      `${what}: ${name} must be an integer >= ${min}, got ${describe(v)}`,
    );
  }
  return v as number;
}

/**
 * Splits `x` along `dim` into pieces of `splitSize` (the last one may be
 * smaller), or of the sizes listed in `sections` (which must add up to the
 * dim's size), as `torch.split`. The pieces are slices (views for a
 * transform: their gradients are placed back by the slice's transpose).
 *
 * @example
 * ```ts
 * import { arange, split } from "./mod.ts";
 * const [a, b, c] = split(arange(5), 2); // [0, 1], [2, 3], [4]
 * const [p, q] = split(arange(6).reshape([2, 3]), [1, 2], 1); // [2, 1] and [2, 2]
 * ```
 */
export function split(
  x: Tensor,
  splitSizeOrSections: number | readonly number[],
  dim = 0,
): Tensor[] {
  return eagerOp([x, splitSizeOrSections, dim], () => {
    checkTensor("split", x);
    const d = normAxis(dim, x.ndim);
    const n = x.shape[d];
    let sizes: number[];
    if (typeof splitSizeOrSections === "number") {
      const s = checkInt("split", "splitSize", splitSizeOrSections, 1);
      sizes = [];
      for (let at = 0; at < n; at += s) sizes.push(Math.min(s, n - at));
      if (sizes.length === 0) sizes.push(0);
    } else if (Array.isArray(splitSizeOrSections)) {
      sizes = splitSizeOrSections.map((s) =>
        checkInt("split", "section size", s)
      );
      const total = sizes.reduce((a, b) => a + b, 0);
      if (total !== n) {
        throw new RangeError(
          `split: sections [${sizes}] add up to ${total}, but dim ${dim} of shape ${
            fmtShape(x.shape)
          } has size ${n}`,
        );
      }
    } else {
      throw new TypeError(
        `split: expected a split size or an array of section sizes, got ${
          describe(splitSizeOrSections)
        }`,
      );
    }
    let at = 0;
    return sizes.map((s) => {
      const piece = narrow(x, d, at, s);
      at += s;
      return piece;
    });
  });
}

/**
 * Splits `x` along `dim` into `chunks` pieces of size `ceil(n / chunks)`
 * (the last smaller; fewer pieces when they run out), as `torch.chunk`.
 *
 * @example
 * ```ts
 * import { arange, chunk } from "./mod.ts";
 * const parts = chunk(arange(7), 3); // sizes 3, 3, 1
 * ```
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  return eagerOp([x, chunks, dim], () => {
    checkTensor("chunk", x);
    checkInt("chunk", "chunks", chunks, 1);
    const d = normAxis(dim, x.ndim);
    return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
  });
}

function triangle(
  what: string,
  x: Tensor,
  diagonal: number,
  lower: boolean,
): Tensor {
  checkTensor(what, x);
  if (x.ndim < 2) {
    throw new RangeError(
      `${what}: expected a matrix or a batch of matrices, got shape ${
        fmtShape(x.shape)
      }`,
    );
  }
  if (!Number.isInteger(diagonal)) {
    throw new TypeError(
      `${what}: diagonal must be an integer, got ${describe(diagonal)}`,
    );
  }
  const [n, m] = x.shape.slice(-2);
  const mask = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      mask[i * m + j] = (lower ? j - i <= diagonal : j - i >= diagonal) ? 1 : 0;
    }
  }
  // where, not a product: entries outside the triangle become 0 even if inf.
  return where(constant(x.dtype, [n, m], mask), x, 0);
}

/**
 * The lower triangle of the last two dims (the rest set to 0): entries with
 * `col - row <= diagonal` are kept, as `torch.tril`.
 *
 * @example
 * ```ts
 * import { ones, tril } from "./mod.ts";
 * const L = tril(ones([3, 3])); // [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
 * const S = tril(ones([3, 3]), -1); // strictly lower
 * ```
 */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return eagerOp([x, diagonal], () => triangle("tril", x, diagonal, true));
}

/**
 * The upper triangle of the last two dims (the rest set to 0): entries with
 * `col - row >= diagonal` are kept, as `torch.triu`.
 *
 * @example
 * ```ts
 * import { ones, triu } from "./mod.ts";
 * const U = triu(ones([3, 3]), 1); // [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
 * ```
 */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return eagerOp([x, diagonal], () => triangle("triu", x, diagonal, false));
}

/**
 * The diagonal `offset` (above the main one if positive, below if negative)
 * of the matrices spanned by dims `dim1` and `dim2`, appended as the last
 * dim, as `torch.diagonal`.
 *
 * @example
 * ```ts
 * import { arange, diagonal } from "./mod.ts";
 * const m = arange(9).reshape([3, 3]);
 * diagonal(m); // tensor([0., 4., 8.])
 * diagonal(m, 1); // tensor([1., 5.])
 * diagonal(arange(24).reshape([2, 3, 4]), 0, 1, 2); // shape [2, 3]
 * ```
 */
export function diagonal(x: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  return eagerOp([x, offset, dim1, dim2], () => {
    checkTensor("diagonal", x);
    if (x.ndim < 2) {
      throw new RangeError(
        `diagonal: expected at least 2 dims, got shape ${fmtShape(x.shape)}`,
      );
    }
    if (!Number.isInteger(offset)) {
      throw new TypeError(
        `diagonal: offset must be an integer, got ${describe(offset)}`,
      );
    }
    const a = normAxis(dim1, x.ndim, "dim1"),
      b = normAxis(dim2, x.ndim, "dim2");
    if (a === b) {
      throw new RangeError(`diagonal: dim1 and dim2 are the same dim ${a}`);
    }
    const y = movedim(x, [a, b], [-2, -1]);
    const [n, m] = y.shape.slice(-2);
    const len = Math.max(
      0,
      offset >= 0 ? Math.min(n, m - offset) : Math.min(n + offset, m),
    );
    const start = len === 0 ? 0 : offset >= 0 ? offset : -offset * m;
    // Entry (i, i + offset) of an n×m matrix is element start + i(m + 1) of its rows joined.
    const flat = flatten(y, -2, -1);
    const lead = flat.shape.slice(0, -1);
    return bind("slice", [flat], {
      start: [...lead.map(() => 0), start],
      step: [...lead.map(() => 1), m + 1],
      shape: [...lead, len],
    });
  });
}

/**
 * A vector to a square matrix with it on diagonal `diagonal` (zeros
 * elsewhere), or a matrix to its diagonal `diagonal` as a vector, as
 * `torch.diag`.
 *
 * @example
 * ```ts
 * import { diag, tensor } from "./mod.ts";
 * const D = diag(tensor([1, 2, 3])); // 3×3 with 1, 2, 3 on the diagonal
 * const U = diag(tensor([1, 2]), 1); // 3×3 with 1, 2 just above it
 * const d = diag(D); // tensor([1., 2., 3.])
 * ```
 */
export function diag(x: Tensor, diagonal_ = 0): Tensor {
  return eagerOp([x, diagonal_], () => {
    checkTensor("diag", x);
    if (!Number.isInteger(diagonal_)) {
      throw new TypeError(
        `diag: diagonal must be an integer, got ${describe(diagonal_)}`,
      );
    }
    if (x.ndim === 2) return diagonal(x, diagonal_);
    if (x.ndim !== 1) {
      throw new RangeError(
        `diag: expected a vector or a matrix, got shape ${fmtShape(x.shape)}`,
      );
    }
    const k = diagonal_, N = x.shape[0] + Math.abs(k);
    // v[i] goes to entry (i, i + k) for k >= 0 or (i - k, i) for k < 0 of an N×N matrix.
    const flat = bind("pad", [x], {
      start: [k >= 0 ? k : -k * N],
      step: [N + 1],
      shape: [N * N],
    });
    return reshape(flat, [N, N]);
  });
}

/**
 * The sum of the main diagonal of a matrix, as `torch.trace`.
 *
 * @example
 * ```ts
 * import { eye, trace } from "./mod.ts";
 * const t = trace(eye(4).mul(2)); // tensor(8.)
 * ```
 */
export function trace(x: Tensor): Tensor {
  return eagerOp([x], () => {
    checkTensor("trace", x);
    if (x.ndim !== 2) {
      throw new RangeError(
        `trace: expected a matrix, got shape ${fmtShape(x.shape)}`,
      );
    }
    return sum(diagonal(x));
  });
}

/**
 * Repeats `x` `reps[i]` times along each dim, as `torch.tile`: fewer reps
 * than dims count from the last dim; more reps add leading dims.
 *
 * @example
 * ```ts
 * import { tensor, tile } from "./mod.ts";
 * const y = tile(tensor([1, 2]), [2]); // tensor([1., 2., 1., 2.])
 * const z = tile(tensor([[1, 2]]), [2, 2]); // [[1, 2, 1, 2], [1, 2, 1, 2]]
 * ```
 */
export function tile(x: Tensor, reps: readonly number[]): Tensor {
  return eagerOp([x, reps], () => {
    checkTensor("tile", x);
    if (!Array.isArray(reps)) {
      throw new TypeError(
        `tile: reps must be an array of integers, got ${describe(reps)}`,
      );
    }
    reps.forEach((r) => checkInt("tile", "each rep", r));
    const r = Math.max(reps.length, x.ndim);
    const full = [...Array(r - reps.length).fill(1), ...reps];
    const shape = [...Array(r - x.ndim).fill(1), ...x.shape];
    // [s0, s1] -> [1, s0, 1, s1] -> [r0, s0, r1, s1] -> [r0 s0, r1 s1]
    const spread = reshape(x, shape.flatMap((s) => [1, s]));
    const big = expand(spread, shape.flatMap((s, i) => [full[i], s]));
    return reshape(big, shape.map((s, i) => s * full[i]));
  });
}

/**
 * Repeats each entry along `dim` (of the flattened tensor when omitted),
 * consecutively, as `torch.repeat_interleave`: `repeats` times each, or
 * `repeats[i]` times entry i (an array, or a concrete int32 tensor).
 *
 * @example
 * ```ts
 * import { repeatInterleave, tensor } from "./mod.ts";
 * repeatInterleave(tensor([1, 2]), 2); // tensor([1., 1., 2., 2.])
 * repeatInterleave(tensor([[1, 2], [3, 4]]), [1, 2], 0); // [[1, 2], [3, 4], [3, 4]]
 * ```
 */
export function repeatInterleave(
  x: Tensor,
  repeats: number | readonly number[] | Tensor,
  dim?: number,
): Tensor {
  return eagerOp([x, repeats, dim], () => {
    checkTensor("repeatInterleave", x);
    const y = dim === undefined ? flatten(x) : x;
    const d = dim === undefined ? 0 : normAxis(dim, x.ndim);
    const n = y.shape[d];
    if (typeof repeats === "number") {
      const r = checkInt("repeatInterleave", "repeats", repeats);
      const shape = [...y.shape];
      shape.splice(d + 1, 0, r);
      const out = [...y.shape];
      out[d] = n * r;
      return reshape(expand(unsqueeze(y, d + 1), shape), out);
    }
    let list: number[];
    if (repeats instanceof Tensor) {
      if (
        repeats.dtype !== "int32" || repeats.ndim > 1 || !isConcrete(repeats)
      ) {
        throw new TypeError(
          `repeatInterleave: a repeats tensor must be a concrete int32 vector (its values fix the result's shape), got ${
            describe(repeats)
          }`,
        );
      }
      list = Array.from(repeats.data());
    } else if (Array.isArray(repeats)) list = [...repeats];
    else {
      throw new TypeError(
        `repeatInterleave: repeats must be an integer, an array or an int32 tensor, got ${
          describe(repeats)
        }`,
      );
    }
    if (list.length === 1) return repeatInterleave(y, list[0], d);
    if (list.length !== n) {
      throw new RangeError(
        `repeatInterleave: ${list.length} repeats for dim ${d} of size ${n}`,
      );
    }
    const index: number[] = [];
    list.forEach((r, i) => {
      checkInt("repeatInterleave", "each repeat", r);
      for (let k = 0; k < r; k++) index.push(i);
    });
    return indexSelect(y, d, indexVector(index));
  });
}

function dimList(
  what: string,
  dims: number | readonly number[],
  rank: number,
): number[] {
  const list = typeof dims === "number" ? [dims] : dims;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `${what}: dims must be a dim or an array of dims, got ${describe(dims)}`,
    );
  }
  return list.map((d) => normAxis(d, rank));
}

/**
 * Rolls entries along `dims` by `shifts` (entries pushed past the end come
 * back at the start), as `torch.roll`; without `dims`, the flattened tensor
 * is rolled and reshaped back.
 *
 * @example
 * ```ts
 * import { arange, roll } from "./mod.ts";
 * roll(arange(5), 2); // tensor([3., 4., 0., 1., 2.])
 * roll(arange(6).reshape([2, 3]), [1, -1], [0, 1]); // [[4, 5, 3], [1, 2, 0]]
 * ```
 */
export function roll(
  x: Tensor,
  shifts: number | readonly number[],
  dims?: number | readonly number[],
): Tensor {
  return eagerOp([x, shifts, dims], () => {
    checkTensor("roll", x);
    const sh = typeof shifts === "number" ? [shifts] : [...shifts];
    sh.forEach((s) => {
      if (!Number.isInteger(s)) {
        throw new TypeError(
          `roll: shifts must be integers, got ${describe(s)}`,
        );
      }
    });
    if (dims === undefined) {
      if (sh.length !== 1) {
        throw new RangeError(
          "roll: without dims, shifts must be a single number",
        );
      }
      return reshape(roll(flatten(x), sh[0], 0), x.shape);
    }
    const ds = dimList("roll", dims, x.ndim);
    if (ds.length !== sh.length) {
      throw new RangeError(
        `roll: ${sh.length} shifts for ${ds.length} dims`,
      );
    }
    let y = x;
    ds.forEach((d, i) => {
      const n = y.shape[d];
      const s = n === 0 ? 0 : ((sh[i] % n) + n) % n;
      if (s !== 0) y = cat([narrow(y, d, n - s, s), narrow(y, d, 0, n - s)], d);
    });
    return y;
  });
}

/**
 * Reverses the order of entries along each of `dims`, as `torch.flip`.
 *
 * @example
 * ```ts
 * import { arange, flip } from "./mod.ts";
 * flip(arange(4), 0); // tensor([3., 2., 1., 0.])
 * flip(arange(4).reshape([2, 2]), [0, 1]); // [[3, 2], [1, 0]]
 * ```
 */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  return eagerOp([x, dims], () => {
    checkTensor("flip", x);
    let y = x;
    for (const d of new Set(dimList("flip", dims, x.ndim))) {
      const n = y.shape[d];
      if (n < 2) continue;
      y = indexSelect(
        y,
        d,
        indexVector(Array.from({ length: n }, (_, i) => n - 1 - i)),
      );
    }
    return y;
  });
}

/**
 * How {@link pad} fills the border: a constant, a mirror image without
 * repeating the edge (`reflect`), copies of the edge (`replicate`), or the
 * entries from the other end (`circular`).
 *
 * @example
 * ```ts
 * import { arange, pad, type PadMode } from "./mod.ts";
 * const mode: PadMode = "reflect";
 * pad(arange(4), [2, 1], { mode }); // tensor([2., 1., 0., 1., 2., 3., 2.])
 * ```
 */
export type PadMode = "constant" | "reflect" | "replicate" | "circular";

/**
 * Options of {@link pad}.
 *
 * @example
 * ```ts
 * import { pad, zeros } from "./mod.ts";
 * const y = pad(zeros([2, 2]), [1, 1], { value: -1 }); // shape [2, 4]
 * ```
 */
export interface PadOptions {
  /** The border's contents (default `"constant"`). */
  mode?: PadMode;
  /** The constant of `"constant"` mode (default 0). */
  value?: number;
}

/**
 * Pads `x`, as `torch.nn.functional.pad`: `padding` lists (before, after)
 * pairs starting from the last dim (`[left, right]` pads the last dim,
 * `[left, right, top, bottom]` the last two, ...). Modes: `"constant"`
 * (default, fill `value`; negative amounts crop), `"reflect"` (amounts
 * below the dim's size), `"replicate"`, `"circular"` (amounts up to the
 * dim's size), on any dims.
 *
 * @example
 * ```ts
 * import { arange, pad } from "./mod.ts";
 * const x = arange(3);
 * pad(x, [1, 2]); // tensor([0., 0., 1., 2., 0., 0.])
 * pad(x, [2, 0], { mode: "replicate" }); // tensor([0., 0., 0., 1., 2.])
 * pad(x, [1, 1], { mode: "circular" }); // tensor([2., 0., 1., 2., 0.])
 * pad(arange(4).reshape([2, 2]), [0, 0, 1, 0], { value: 9 }); // [[9, 9], [0, 1], [2, 3]]
 * ```
 */
export function pad(
  x: Tensor,
  padding: readonly number[],
  options: PadOptions = {},
): Tensor {
  return eagerOp([x, padding, options], () => {
    checkTensor("pad", x);
    const { mode = "constant", value = 0 } = options;
    if (!["constant", "reflect", "replicate", "circular"].includes(mode)) {
      throw new TypeError(
        `pad: mode must be "constant", "reflect", "replicate" or "circular", got ${
          describe(mode)
        }`,
      );
    }
    if (
      !Array.isArray(padding) || padding.length % 2 !== 0 ||
      padding.length > 2 * x.ndim
    ) {
      throw new RangeError(
        `pad: padding must be an array of (before, after) pairs for at most ${x.ndim} dims, got ${
          describe(padding)
        }`,
      );
    }
    padding.forEach((p) => {
      if (!Number.isInteger(p)) {
        throw new TypeError(
          `pad: padding amounts must be integers, got ${describe(p)}`,
        );
      }
    });
    // (dim, before, after) for each padded dim, from the last dim backwards.
    const plan = Array.from({ length: padding.length / 2 }, (_, i) => ({
      d: x.ndim - 1 - i,
      before: padding[2 * i],
      after: padding[2 * i + 1],
    }));
    if (mode === "constant") {
      if (typeof value !== "number") {
        throw new TypeError(
          `pad: value must be a number, got ${describe(value)}`,
        );
      }
      let y = x;
      for (const { d, before, after } of plan) {
        // Negative amounts crop.
        const cropB = Math.max(0, -before), cropA = Math.max(0, -after);
        if (cropB + cropA > y.shape[d]) {
          throw new RangeError(
            `pad: cropping ${cropB + cropA} from dim ${d} of size ${
              y.shape[d]
            }`,
          );
        }
        if (cropB + cropA > 0) {
          y = narrow(y, d, cropB, y.shape[d] - cropB - cropA);
        }
      }
      const start = y.shape.map(() => 0), shape = [...y.shape];
      for (const { d, before, after } of plan) {
        start[d] = Math.max(0, before);
        shape[d] += Math.max(0, before) + Math.max(0, after);
      }
      if (start.every((s, i) => s === 0 && shape[i] === y.shape[i])) return y;
      const params = { start, step: shape.map(() => 1), shape };
      const padded = bind("pad", [y], params);
      if (value === 0) return padded;
      const ones = constant(y.dtype, y.shape, new Float64Array(y.size).fill(1));
      return where(bind("pad", [ones], params), padded, value);
    }
    let y = x;
    for (const { d, before, after } of plan) {
      const n = y.shape[d];
      if (before < 0 || after < 0) {
        throw new RangeError(
          `pad: ${mode} padding must not be negative, got [${padding}]`,
        );
      }
      const limit = mode === "reflect"
        ? n - 1
        : mode === "circular"
        ? n
        : Infinity;
      if (n === 0 || before > limit || after > limit) {
        throw new RangeError(
          `pad: ${mode} padding (${before}, ${after}) of dim ${d} with size ${n} is too large (at most ${
            mode === "replicate" ? "any amount of a non-empty dim" : limit
          })`,
        );
      }
      const source = (i: number): number => {
        // i indexes the padded dim; j is the position in x it copies.
        const j = i - before;
        if (j >= 0 && j < n) return j;
        if (mode === "replicate") return j < 0 ? 0 : n - 1;
        if (mode === "circular") return ((j % n) + n) % n;
        return j < 0 ? -j : 2 * (n - 1) - j; // reflect
      };
      if (before === 0 && after === 0) continue;
      y = indexSelect(
        y,
        d,
        indexVector(
          Array.from({ length: n + before + after }, (_, i) => source(i)),
        ),
      );
    }
    return y;
  });
}

/**
 * Gathers entries along `dim` by an int32 `index` of the same rank, as
 * `torch.gather`: `out[i][j][k] = x[i][index[i][j][k]][k]` for dim 1, and
 * `out.shape` is `index.shape` (each other dim of the index at most x's).
 * The gradient scatter-adds into x (repeated indices accumulate). Built
 * from one `indexSelect` of the flattened x with computed flat indices;
 * concrete indices are range-checked, indices inside a transform cannot be.
 *
 * @example
 * ```ts
 * import { gather, tensor } from "./mod.ts";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * const idx = tensor([[2, 0], [1, 1]], { dtype: "int32" });
 * gather(x, 1, idx); // [[3, 1], [5, 5]]
 * ```
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return eagerOp([x, dim, index], () => {
    checkTensor("gather", x);
    checkTensor("gather (index)", index);
    if (index.dtype !== "int32") {
      throw new TypeError(
        `gather: index must be an int32 tensor, got ${index.dtype}`,
      );
    }
    if (index.ndim !== x.ndim) {
      throw new RangeError(
        `gather: index has rank ${index.ndim} (shape ${
          fmtShape(index.shape)
        }) but x has rank ${x.ndim} (shape ${fmtShape(x.shape)})`,
      );
    }
    const d = normAxis(dim, Math.max(1, x.ndim));
    if (x.ndim === 0) return x;
    index.shape.forEach((s, i) => {
      if (i !== d && s > x.shape[i]) {
        throw new RangeError(
          `gather: index shape ${fmtShape(index.shape)} exceeds x shape ${
            fmtShape(x.shape)
          } in dim ${i}`,
        );
      }
    });
    const picked = indexSelect(
      reshape(x, [-1]),
      0,
      flatIndexAlong("gather", x.shape, d, index),
    );
    return reshape(picked, index.shape);
  });
}

/**
 * The flat positions in a contiguous tensor of `shape` that an int32
 * `index` addresses along dim `d` (its other coordinates its own): a 1-D
 * int32 tensor of `index.size` entries, for gather- and scatter-like ops.
 * Concrete indices are range-checked (naming `what`); indices inside a
 * transform cannot be.
 */
export function flatIndexAlong(
  what: string,
  shape: readonly number[],
  d: number,
  index: Tensor,
): Tensor {
  return eagerOp([what, shape, d, index], () => {
    const n = shape[d];
    if (isConcrete(index)) {
      const v = index.data();
      for (let i = 0; i < v.length; i++) {
        if (v[i] < 0 || v[i] >= n) {
          throw new RangeError(
            `${what}: index ${
              v[i]
            } (at flat position ${i}) is out of range for dim ${d} of size ${n}`,
          );
        }
      }
    }
    // flat = index · stride[d] + Σ_{i≠d} pos_i · stride[i], in float64 (exact
    // for any size that fits in memory), then back to int32.
    const strides = stridesOf(shape);
    const base = new Float64Array(index.size);
    const istr = stridesOf(index.shape);
    for (let f = 0; f < base.length; f++) {
      let off = 0;
      for (let i = 0; i < index.ndim; i++) {
        if (i !== d) {
          off += Math.floor(f / istr[i]) % index.shape[i] * strides[i];
        }
      }
      base[f] = off;
    }
    const flat = add(
      mul(cast(index, "float64"), strides[d]),
      constant("float64", index.shape, base),
    );
    return reshape(cast(flat, "int32"), [-1]);
  });
}

/**
 * Entries of `x` at `indices` along `dim`, as `torch.take_along_dim`:
 * like {@link gather}, but x and indices broadcast against each other in
 * every other dim; without `dim`, both are flattened.
 *
 * @example
 * ```ts
 * import { argmax, takeAlongDim, tensor } from "./mod.ts";
 * const x = tensor([[10, 30, 20], [60, 40, 50]]);
 * const best = takeAlongDim(x, argmax(x, 1, true), 1); // [[30], [60]]
 * ```
 */
export function takeAlongDim(x: Tensor, indices: Tensor, dim?: number): Tensor {
  return eagerOp([x, indices, dim], () => {
    checkTensor("takeAlongDim", x);
    checkTensor("takeAlongDim (indices)", indices);
    if (dim === undefined) return gather(flatten(x), 0, flatten(indices));
    if (indices.ndim !== x.ndim) {
      throw new RangeError(
        `takeAlongDim: indices have rank ${indices.ndim} but x has rank ${x.ndim}`,
      );
    }
    const d = normAxis(dim, x.ndim);
    const others = (s: readonly number[]) => s.map((v, i) => (i === d ? 1 : v));
    const b = broadcastShapes(
      "takeAlongDim",
      others(x.shape),
      others(indices.shape),
    );
    const xs = expand(x, b.map((v, i) => (i === d ? x.shape[d] : v)));
    const is = expand(
      indices,
      b.map((v, i) => (i === d ? indices.shape[d] : v)),
    );
    return gather(xs, d, is);
  });
}
