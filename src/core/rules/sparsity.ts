/**
 * Dependency rules: which input elements each output element of a
 * primitive can have a nonzero derivative with respect to. A rule maps the
 * dependency sets of the operands' elements to those of the result's
 * elements, without any numeric evaluation of the traced inputs; constants
 * of the program (whose values are known) may be read, so that a constant
 * zero in `mul`/`matmul`, a constant condition of `where` and constant
 * indices of `indexSelect`/`indexAdd` give exact patterns.
 *
 * A primitive listed as `"dense"` gets the conservative rule: every result
 * element depends on every operand element. Rules describe derivatives, so
 * piecewise-constant primitives (comparisons, floor, argmax, stopGradient,
 * casts to int32) have empty sets, as their JVP rules give zero tangents.
 * @module
 */
import type { Aval } from "../ir.ts";
import {
  BINARY_PRIMS,
  type Prim,
  type PrimParams,
  REDUCE_PRIMS,
  UNARY_PRIMS,
} from "../primitives.ts";
import { sizeOf, stridesOf } from "../shape.ts";
import { convDependencyRules } from "./conv_sparsity.ts";

/**
 * Sorted, duplicate-free indices of the inputs an element depends on.
 * Plain arrays: most sets hold a few indices, and V8 allocates small
 * arrays several times faster than small typed arrays.
 */
export type DepSet = readonly number[];

/** The empty dependency set (shared). */
export const NO_DEPS: DepSet = Object.freeze([]) as DepSet;

/** What a rule knows about one operand. */
export interface DepOperand {
  /** The dependency set of each element, row-major. */
  readonly deps: readonly DepSet[];
  /** The operand's shape. */
  readonly shape: readonly number[];
  /** The values, when the operand is a concrete constant; else null. */
  values(): ArrayLike<number> | null;
  /** True when no element depends on any input (a constant, an int value). */
  readonly none: boolean;
}

/** Set operations shared by the rules of one interpretation. */
export class DepContext {
  private stamp: Int32Array;
  private gen = 0;
  constructor(readonly numInputs: number) {
    this.stamp = new Int32Array(numInputs);
  }

  /** The union of two sets (returns an operand when it is the union). */
  union2(a: DepSet, b: DepSet): DepSet {
    if (a === b || b.length === 0) return a;
    if (a.length === 0) return b;
    const out: number[] = [];
    let i = 0, j = 0, k = 0;
    while (i < a.length && j < b.length) {
      const x = a[i], y = b[j];
      if (x < y) out[k++] = a[i++];
      else if (y < x) out[k++] = b[j++];
      else {
        out[k++] = x;
        i++;
        j++;
      }
    }
    while (i < a.length) out[k++] = a[i++];
    while (j < b.length) out[k++] = b[j++];
    if (k === a.length) return a;
    if (k === b.length) return b;
    return out;
  }

  /** The union of many sets. */
  unionMany(sets: readonly DepSet[]): DepSet {
    let first: DepSet | null = null, distinct = 0;
    for (const s of sets) {
      if (s.length === 0 || s === first) continue;
      if (first === null) first = s;
      distinct++;
    }
    if (first === null) return NO_DEPS;
    if (distinct === 1) return first;
    if (distinct === 2) {
      let second: DepSet | null = null;
      for (const s of sets) if (s.length > 0 && s !== first) second = s;
      if (second !== null) return this.union2(first, second);
    }
    const g = ++this.gen;
    if (g === 0x7fffffff) {
      this.stamp.fill(0);
      this.gen = 1;
    }
    const stamp = this.stamp, gen = this.gen;
    const acc: number[] = [];
    let prev: DepSet | null = null;
    for (const s of sets) {
      if (s === prev || s.length === 0) continue;
      prev = s;
      for (let i = 0; i < s.length; i++) {
        const v = s[i];
        if (stamp[v] !== gen) {
          stamp[v] = gen;
          acc.push(v);
        }
      }
    }
    return acc.sort((x, y) => x - y);
  }
}

/** A dependency rule: the sets of the result's elements. */
export type DepRule<Q> = (
  ins: readonly DepOperand[],
  params: Q,
  out: Aval,
  ctx: DepContext,
) => DepSet[];

/** Every primitive: a precise rule, or `"dense"` (conservative). */
export type DepRules = { [P in Prim]: DepRule<PrimParams[P]> | "dense" };

/** Every result element depends on nothing. */
const none: DepRule<unknown> = (_ins, _p, out) =>
  new Array<DepSet>(sizeOf(out.shape)).fill(NO_DEPS);

/** The conservative rule: each result element depends on every operand element. */
export function denseDeps(
  ins: readonly DepOperand[],
  out: Aval,
  ctx: DepContext,
): DepSet[] {
  const all = ctx.unionMany(ins.flatMap((o) => o.deps));
  return new Array<DepSet>(sizeOf(out.shape)).fill(all);
}

/**
 * For each element of `shape` (row-major), the flat index
 * `offset + Σ idx[a]·strides[a]`.
 */
function affineIndex(
  shape: readonly number[],
  strides: readonly number[],
  offset = 0,
): Int32Array {
  const n = sizeOf(shape), r = shape.length;
  const out = new Int32Array(n);
  if (n === 0) return out;
  const idx = new Array<number>(r).fill(0);
  let cur = offset;
  for (let k = 0; k < n; k++) {
    out[k] = cur;
    for (let a = r - 1; a >= 0; a--) {
      idx[a]++;
      cur += strides[a];
      if (idx[a] < shape[a]) break;
      cur -= strides[a] * shape[a];
      idx[a] = 0;
    }
  }
  return out;
}

/** Flat index into an operand of shape `from`, broadcast to `to`, per element of `to`. */
function broadcastIndex(
  from: readonly number[],
  to: readonly number[],
): Int32Array {
  const st = stridesOf(from), lead = to.length - from.length;
  const strides = to.map((d, a) => {
    const i = a - lead;
    return i < 0 || from[i] === 1 && d !== 1 ? 0 : st[i];
  });
  return affineIndex(to, strides);
}

const gather = (deps: readonly DepSet[], index: Int32Array): DepSet[] =>
  Array.from(index, (i) => deps[i]);

/** Elementwise with broadcasting: each result element unions its operands' elements. */
function elementwise(
  ins: readonly DepOperand[],
  out: Aval,
  ctx: DepContext,
  skip?: (k: number, index: Int32Array[]) => boolean,
): DepSet[] {
  const live = ins.filter((o) => !o.none);
  const n = sizeOf(out.shape);
  const index = ins.map((o) => broadcastIndex(o.shape, out.shape));
  const liveIndex = ins.map((o, i) => o.none ? null : index[i]).filter((x) =>
    x !== null
  ) as Int32Array[];
  const res = new Array<DepSet>(n);
  for (let k = 0; k < n; k++) {
    if (skip?.(k, index)) {
      res[k] = NO_DEPS;
      continue;
    }
    let acc = NO_DEPS;
    for (let i = 0; i < live.length; i++) {
      acc = ctx.union2(acc, live[i].deps[liveIndex[i][k]]);
    }
    res[k] = acc;
  }
  return res;
}

const unary: DepRule<unknown> = ([x]) => x.deps.slice();

const binary: DepRule<unknown> = (ins, _p, out, ctx) =>
  elementwise(ins, out, ctx);

/** d(a·b) = da·b + a·db: a constant zero factor makes the element's derivative zero. */
const mulRule: DepRule<unknown> = (ins, _p, out, ctx) => {
  const vals = ins.map((o) => (o.none ? o.values() : null));
  if (vals.every((v) => v === null)) return elementwise(ins, out, ctx);
  return elementwise(
    ins,
    out,
    ctx,
    (k, index) => vals.some((v, i) => v !== null && v[index[i][k]] === 0),
  );
};

/** Only the second operand (x) of polygamma(n, x) has a derivative. */
const secondOnly: DepRule<unknown> = ([, x], _p, out) =>
  gather(x.deps, broadcastIndex(x.shape, out.shape));

/** where(c, a, b): the condition carries no derivative; a constant one picks a side. */
const whereRule: DepRule<unknown> = ([c, a, b], _p, out, ctx) => {
  const cv = c.none ? c.values() : null;
  const ia = broadcastIndex(a.shape, out.shape);
  const ib = broadcastIndex(b.shape, out.shape);
  const n = sizeOf(out.shape);
  if (cv === null) {
    return Array.from(
      { length: n },
      (_, k) => ctx.union2(a.deps[ia[k]], b.deps[ib[k]]),
    );
  }
  const ic = broadcastIndex(c.shape, out.shape);
  return Array.from(
    { length: n },
    (_, k) => (cv[ic[k]] !== 0 ? a.deps[ia[k]] : b.deps[ib[k]]),
  );
};

/** Reductions: each result element unions the elements reduced into it. */
const reduceRule: DepRule<{ axes: readonly number[] }> = (
  [x],
  { axes },
  out,
  ctx,
) => {
  const outStrides = stridesOf(out.shape);
  let j = 0;
  const strides = x.shape.map((_, a) => axes.includes(a) ? 0 : outStrides[j++]);
  const target = affineIndex(x.shape, strides);
  const groups: DepSet[][] = Array.from(
    { length: sizeOf(out.shape) },
    () => [],
  );
  for (let k = 0; k < target.length; k++) groups[target[k]].push(x.deps[k]);
  return groups.map((g) => ctx.unionMany(g));
};

/** The dependency rules of every primitive (`"dense"`: conservative). */
export const dependencyRules: DepRules = {
  ...Object.fromEntries(UNARY_PRIMS.map((p) => [p, unary])) as {
    [P in typeof UNARY_PRIMS[number]]: DepRule<null>;
  },
  ...Object.fromEntries(BINARY_PRIMS.map((p) => [p, binary])) as {
    [P in typeof BINARY_PRIMS[number]]: DepRule<null>;
  },
  ...Object.fromEntries(REDUCE_PRIMS.map((p) => [p, reduceRule])) as {
    [P in typeof REDUCE_PRIMS[number]]: DepRule<{ axes: readonly number[] }>;
  },
  // Piecewise constant: zero derivative (as their JVP rules).
  sign: none,
  floor: none,
  ceil: none,
  round: none,
  trunc: none,
  isnan: none,
  isfinite: none,
  eq: none,
  ne: none,
  lt: none,
  le: none,
  gt: none,
  ge: none,
  argmax: none,
  argmin: none,
  stopGradient: none,
  // Random bits depend on the key only, and have zero derivative.
  randomSample: none,
  randomDerive: none,
  mul: mulRule,
  polygamma: secondOnly,
  where: whereRule,
  reshape: unary, // row-major order is unchanged
  permute: ([x], { perm }, out) => {
    const st = stridesOf(x.shape);
    return gather(x.deps, affineIndex(out.shape, perm.map((p) => st[p])));
  },
  broadcastTo: ([x], _p, out) =>
    gather(x.deps, broadcastIndex(x.shape, out.shape)),
  slice: ([x], { start, step }, out) => {
    const st = stridesOf(x.shape);
    const offset = start.reduce((s, v, a) => s + v * st[a], 0);
    return gather(
      x.deps,
      affineIndex(out.shape, step.map((s, a) => s * st[a]), offset),
    );
  },
  pad: ([x], { start, step }, out) => {
    const st = stridesOf(out.shape);
    const offset = start.reduce((s, v, a) => s + v * st[a], 0);
    const at = affineIndex(x.shape, step.map((s, a) => s * st[a]), offset);
    const res = new Array<DepSet>(sizeOf(out.shape)).fill(NO_DEPS);
    for (let k = 0; k < at.length; k++) res[at[k]] = x.deps[k];
    return res;
  },
  cat: (ins, { axis }, out) => {
    const pre = sizeOf(out.shape.slice(0, axis));
    const post = sizeOf(out.shape.slice(axis + 1));
    const res: DepSet[] = [];
    for (let p = 0; p < pre; p++) {
      for (const x of ins) {
        const block = x.shape[axis] * post;
        for (let k = 0; k < block; k++) res.push(x.deps[p * block + k]);
      }
    }
    return res;
  },
  indexSelect: ([x, index], { axis }, out, ctx) => {
    const pre = sizeOf(x.shape.slice(0, axis));
    const post = sizeOf(x.shape.slice(axis + 1));
    const len = x.shape[axis], k = out.shape[axis];
    const iv = index.values();
    const ok = iv !== null &&
      Array.prototype.every.call(iv, (v: number) => v >= 0 && v < len);
    const res = new Array<DepSet>(sizeOf(out.shape));
    for (let p = 0; p < pre; p++) {
      for (let q = 0; q < post; q++) {
        const at = (i: number) => x.deps[(p * len + i) * post + q];
        // Unknown indices: any element along the axis may be picked.
        const any = ok
          ? null
          : ctx.unionMany(Array.from({ length: len }, (_, i) => at(i)));
        for (let j = 0; j < k; j++) {
          res[(p * k + j) * post + q] = any ?? at(iv![j]);
        }
      }
    }
    return res;
  },
  indexAdd: ([src, index], { axis, size }, out, ctx) => {
    const pre = sizeOf(src.shape.slice(0, axis));
    const post = sizeOf(src.shape.slice(axis + 1));
    const k = src.shape[axis];
    const iv = index.values();
    const ok = iv !== null &&
      Array.prototype.every.call(iv, (v: number) => v >= 0 && v < size);
    const res = new Array<DepSet>(sizeOf(out.shape)).fill(NO_DEPS);
    for (let p = 0; p < pre; p++) {
      for (let q = 0; q < post; q++) {
        const at = (j: number) => src.deps[(p * k + j) * post + q];
        if (!ok) {
          const any = ctx.unionMany(Array.from({ length: k }, (_, j) => at(j)));
          for (let s = 0; s < size; s++) res[(p * size + s) * post + q] = any;
        } else {
          for (let j = 0; j < k; j++) {
            const o = (p * size + iv![j]) * post + q;
            res[o] = ctx.union2(res[o], at(j));
          }
        }
      }
    }
    return res;
  },
  cast: ([x], { dtype }, out) =>
    dtype === "int32" ? none([x], null, out, null!) : x.deps.slice(),
  matmul: ([a, b], { transA, transB }, out, ctx) => {
    const ra = a.shape.length, rb = b.shape.length, ro = out.shape.length;
    const m = out.shape[ro - 2], n = out.shape[ro - 1];
    const kk = transA ? a.shape[ra - 2] : a.shape[ra - 1];
    const batch = sizeOf(out.shape.slice(0, -2));
    const aBatched = ra > 2, bBatched = rb > 2;
    const A = (t: number, i: number, k: number) =>
      (aBatched ? t * m * kk : 0) + (transA ? k * m + i : i * kk + k);
    const B = (t: number, k: number, j: number) =>
      (bBatched ? t * kk * n : 0) + (transB ? j * kk + k : k * n + j);
    // d(AB) = dA·B + A·dB; a known zero of the other factor drops a term.
    const av = a.none ? a.values() : null, bv = b.none ? b.values() : null;
    const res = new Array<DepSet>(batch * m * n);
    const terms: DepSet[] = [];
    for (let t = 0; t < batch; t++) {
      // Without known zeros a term is the union of a row of A or a column of B.
      const rowA = !a.none && bv === null
        ? Array.from(
          { length: m },
          (_, i) =>
            ctx.unionMany(
              Array.from({ length: kk }, (_, k) => a.deps[A(t, i, k)]),
            ),
        )
        : null;
      const colB = !b.none && av === null
        ? Array.from(
          { length: n },
          (_, j) =>
            ctx.unionMany(
              Array.from({ length: kk }, (_, k) => b.deps[B(t, k, j)]),
            ),
        )
        : null;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = NO_DEPS;
          if (rowA !== null) acc = rowA[i];
          else if (!a.none) {
            terms.length = 0;
            for (let k = 0; k < kk; k++) {
              if (bv![B(t, k, j)] !== 0) terms.push(a.deps[A(t, i, k)]);
            }
            acc = ctx.unionMany(terms);
          }
          if (colB !== null) acc = ctx.union2(acc, colB[j]);
          else if (!b.none) {
            terms.length = 0;
            for (let k = 0; k < kk; k++) {
              if (av![A(t, i, k)] !== 0) terms.push(b.deps[B(t, k, j)]);
            }
            acc = ctx.union2(acc, ctx.unionMany(terms));
          }
          res[(t * m + i) * n + j] = acc;
        }
      }
    }
    return res;
  },
  // Factorizations and solves: every result element may depend on every
  // operand element (batched operands included: conservative).
  cholesky: "dense",
  triangularSolve: "dense",
  solve: "dense",
  slogdet: "dense",
  eigh: "dense",
  qr: "dense",
  lu: "dense",
  svd: "dense",
  // A user-defined call (customJvp, customVjp, checkpoint): opaque here.
  custom: "dense",
  // Control flow: conservative (exact rules would interpret the bodies).
  scan: "dense",
  cond: "dense",
  while: "dense",
  ...convDependencyRules,
  // Each maximum depends on its window (which tap wins is data, not known).
  maxPool: ([x], p, out, ctx) => {
    const nd = p.kernel.length, r = x.shape.length;
    const inp = x.shape.slice(r - nd), os = out.shape.slice(r - nd);
    const sin = sizeOf(inp), sout = sizeOf(os);
    const planes = sizeOf(x.shape.slice(0, r - nd));
    const ist = stridesOf(inp), ost = stridesOf(os);
    // Flat input positions of each output position's valid taps.
    const windows: number[][] = [];
    for (let o = 0; o < sout; o++) {
      let taps = [0];
      for (let d = 0; d < nd; d++) {
        const od = Math.floor(o / ost[d]) % os[d];
        const next: number[] = [];
        for (let j = 0; j < p.kernel[d]; j++) {
          const i = od * p.stride[d] - p.padLo[d] + j * p.dilation[d];
          if (i >= 0 && i < inp[d]) {
            for (const t of taps) next.push(t + i * ist[d]);
          }
        }
        taps = next;
      }
      windows.push(taps);
    }
    const res = new Array<DepSet>(planes * sout);
    for (let q = 0; q < planes; q++) {
      for (let o = 0; o < sout; o++) {
        res[q * sout + o] = ctx.unionMany(
          windows[o].map((t) => x.deps[q * sin + t]),
        );
      }
    }
    return res;
  },
  argsort: none,
};
