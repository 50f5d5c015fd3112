/**
 * Shape arithmetic shared by every layer: broadcasting, axis normalisation,
 * strides. Pure functions over `number[]`; errors name the argument.
 * @module
 */

/**
 * A tensor shape: one size per dim (`[]` for a scalar).
 *
 * @example
 * ```ts
 * import { zeros } from "./mod.ts";
 * const x = zeros([2, 3]);
 * console.log(x.shape); // [2, 3]
 * ```
 */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** NumPy broadcasting of several shapes; throws a RangeError naming them. */
export function broadcastShapes(what: string, ...shapes: Shape[]): number[] {
  let rank = 0;
  for (const s of shapes) rank = Math.max(rank, s.length);
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i], o = out[off + i];
      if (d === o || d === 1) continue;
      if (o === 1) out[off + i] = d;
      else {
        throw new RangeError(
          `${what}: shapes ${
            shapes.map(fmtShape).join(" and ")
          } cannot be broadcast together (dimension ${
            i - s.length
          } is ${o} vs ${d})`,
        );
      }
    }
  }
  return out;
}

/** Normalise a possibly negative axis against a rank; RangeError if out of range. */
export function normAxis(axis: number, rank: number, what = "dim"): number {
  if (!Number.isInteger(axis)) {
    throw new TypeError(`${what} must be an integer, got ${axis}`);
  }
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw new RangeError(
      `${what} ${axis} is out of range for a tensor of rank ${rank} (expected ${-rank} <= ${what} < ${rank})`,
    );
  }
  return a;
}

/** Normalise a list of axes (or all axes when undefined), sorted and unique. */
export function normAxes(
  axes: number | readonly number[] | undefined | null,
  rank: number,
  what = "dim",
): number[] {
  if (axes === undefined || axes === null) {
    const all = new Array<number>(rank);
    for (let i = 0; i < rank; i++) all[i] = i;
    return all;
  }
  const list = typeof axes === "number" ? [axes] : axes;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `${what} must be a number or an array of numbers, got ${
        typeof axes === "object" ? "an object" : typeof axes
      }`,
    );
  }
  const out = list.map((a) => normAxis(a, rank, what));
  const sorted = [...out].sort((x, y) => x - y);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      throw new RangeError(`${what} ${sorted[i]} is repeated in [${list}]`);
    }
  }
  return sorted;
}

/** Checks that `perm` is a permutation of 0..rank-1 (negatives allowed). */
export function normPerm(perm: readonly number[], rank: number): number[] {
  if (perm.length !== rank) {
    throw new RangeError(
      `permute: dims [${perm}] has ${perm.length} entries but the tensor has rank ${rank}`,
    );
  }
  const p = perm.map((a) => normAxis(a, rank, "permute dim"));
  const seen = new Set(p);
  if (seen.size !== rank) {
    throw new RangeError(`permute: dims [${perm}] is not a permutation`);
  }
  return p;
}

export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export function isIdentityPerm(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

/** Resolves a single -1 in a reshape target against `size`. */
export function resolveReshape(
  size: number,
  target: Shape,
  from: Shape,
): number[] {
  let infer = -1, known = 1;
  const out = [...target];
  for (let i = 0; i < out.length; i++) {
    const d = out[i];
    if (d === -1) {
      if (infer >= 0) {
        throw new RangeError(
          `reshape: only one dimension can be -1, got ${fmtShape(target)}`,
        );
      }
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`reshape: invalid size ${d} in ${fmtShape(target)}`);
    } else known *= d;
  }
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new RangeError(
        `reshape: cannot reshape a tensor of shape ${
          fmtShape(from)
        } (${size} elements) into ${fmtShape(target)}`,
      );
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw new RangeError(
      `reshape: cannot reshape a tensor of shape ${
        fmtShape(from)
      } (${size} elements) into ${fmtShape(target)}`,
    );
  }
  return out;
}

/**
 * n for a shape `[..., n, n]` (a square matrix or a batch of them); a
 * RangeError naming `what`, the operand `name` and the shape otherwise.
 */
export function squareMatrixSize(
  what: string,
  shape: Shape,
  name = "A",
): number {
  const r = shape.length;
  if (r < 2 || shape[r - 1] !== shape[r - 2]) {
    throw new RangeError(
      `${what}: ${name} must be a square matrix or a batch of them [..., n, n], got shape ${
        fmtShape(shape)
      }`,
    );
  }
  return shape[r - 1];
}
