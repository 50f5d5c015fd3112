/**
 * Sparsity of Jacobians: the pattern type, the dependency interpreter that
 * derives a pattern from a {@link Program} without evaluating it, and the
 * graph colourings that group structurally independent columns (forward
 * mode), rows (reverse mode) or both at once for symmetric matrices (star
 * colouring, for Hessians).
 * @module
 */
import { isVar, type Program } from "./ir.ts";
import {
  denseDeps,
  DepContext,
  dependencyRules,
  type DepOperand,
  type DepRule,
  type DepSet,
  NO_DEPS,
} from "./rules/sparsity.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { sizeOf } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/**
 * The structure of an `m × n` matrix: which entries may be nonzero, in
 * compressed sparse row form (column indices sorted within each row). For
 * a Jacobian, rows are the function's output elements and columns its
 * input elements, each flattened in pytree-leaf order then row-major.
 *
 * @example
 * ```ts
 * import { SparsityPattern } from "./mod.ts";
 * const p = SparsityPattern.fromEntries([3, 3], [0, 1, 1, 2], [0, 0, 1, 2]);
 * console.log(p.nnz, p.has(1, 0), p.has(0, 1)); // 4 true false
 * console.log(p.toString());
 * // x..
 * // xx.
 * // ..x
 * ```
 */
export class SparsityPattern {
  /**
   * @internal Use {@link SparsityPattern.fromEntries},
   * {@link SparsityPattern.fromDense} or `jacobianSparsity`.
   */
  constructor(
    /** `[rows, columns]`. */
    readonly shape: readonly [number, number],
    /** Row `i`'s entries are `colIndices[rowPtr[i] .. rowPtr[i + 1]]`; length rows + 1. */
    readonly rowPtr: Int32Array,
    /** Column of each entry, row by row, increasing within a row. */
    readonly colIndices: Int32Array,
  ) {}

  /**
   * The pattern with an entry at each `(rows[k], cols[k])`; duplicates are
   * merged and the order does not matter.
   */
  static fromEntries(
    shape: readonly [number, number],
    rows: ArrayLike<number>,
    cols: ArrayLike<number>,
  ): SparsityPattern {
    const [m, n] = checkShape("SparsityPattern.fromEntries", shape);
    if (rows.length !== cols.length) {
      throw new RangeError(
        `SparsityPattern.fromEntries: rows has ${rows.length} entries but cols has ${cols.length}`,
      );
    }
    const perRow: number[][] = Array.from({ length: m }, () => []);
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k], j = cols[k];
      if (!Number.isInteger(i) || i < 0 || i >= m) {
        throw new RangeError(
          `SparsityPattern.fromEntries: row index ${i} (entry ${k}) is out of range for shape [${m}, ${n}]`,
        );
      }
      if (!Number.isInteger(j) || j < 0 || j >= n) {
        throw new RangeError(
          `SparsityPattern.fromEntries: column index ${j} (entry ${k}) is out of range for shape [${m}, ${n}]`,
        );
      }
      perRow[i].push(j);
    }
    return fromRows(
      [m, n],
      perRow.map((r) => {
        const sorted = Int32Array.from(r).sort();
        return sorted.filter((v, k) => k === 0 || v !== sorted[k - 1]);
      }),
    );
  }

  /**
   * The pattern of the nonzero entries of a matrix: a 2-D tensor, or nested
   * arrays of numbers or booleans.
   */
  static fromDense(
    matrix: Tensor | readonly (readonly (number | boolean)[])[],
  ): SparsityPattern {
    let m: number, n: number, at: (i: number, j: number) => boolean;
    if (Array.isArray(matrix)) {
      const rows = matrix as readonly (readonly (number | boolean)[])[];
      m = rows.length;
      n = m === 0 ? 0 : rows[0].length;
      rows.forEach((r, i) => {
        if (!Array.isArray(r) || r.length !== n) {
          throw new TypeError(
            `SparsityPattern.fromDense: row ${i} is not an array of length ${n}`,
          );
        }
      });
      at = (i, j) => Boolean(rows[i][j]);
    } else {
      const t = matrix as Tensor;
      if (t.shape?.length !== 2) {
        throw new TypeError(
          `SparsityPattern.fromDense: expected a 2-D tensor or nested arrays, got shape [${
            t.shape ?? ""
          }]`,
        );
      }
      [m, n] = t.shape;
      const d = t.data();
      at = (i, j) => d[i * n + j] !== 0;
    }
    const perRow = Array.from({ length: m }, (_, i) => {
      const r: number[] = [];
      for (let j = 0; j < n; j++) if (at(i, j)) r.push(j);
      return Int32Array.from(r);
    });
    return fromRows([m, n], perRow);
  }

  /** The number of entries. */
  get nnz(): number {
    return this.colIndices.length;
  }

  /** True when entry `(i, j)` is in the pattern. */
  has(i: number, j: number): boolean {
    return findEntry(this, i, j) >= 0;
  }

  /** The row of each entry (the COO row indices). */
  rowIndices(): Int32Array {
    const out = new Int32Array(this.nnz);
    for (let i = 0; i < this.shape[0]; i++) {
      out.fill(i, this.rowPtr[i], this.rowPtr[i + 1]);
    }
    return out;
  }

  /** The transposed pattern (`n × m`). */
  transpose(): SparsityPattern {
    const [m, n] = this.shape;
    const count = new Int32Array(n + 1);
    for (const j of this.colIndices) count[j + 1]++;
    for (let j = 0; j < n; j++) count[j + 1] += count[j];
    const ptr = count.slice();
    const idx = new Int32Array(this.nnz);
    for (let i = 0; i < m; i++) {
      for (let k = this.rowPtr[i]; k < this.rowPtr[i + 1]; k++) {
        idx[ptr[this.colIndices[k]]++] = i;
      }
    }
    return new SparsityPattern([n, m], count, idx);
  }

  /** The union of the pattern and its transpose (square patterns only). */
  symmetrize(): SparsityPattern {
    const [m, n] = this.shape;
    if (m !== n) {
      throw new RangeError(
        `SparsityPattern.symmetrize: the pattern must be square, got [${m}, ${n}]`,
      );
    }
    const t = this.transpose();
    const same = (a: Int32Array, b: Int32Array) =>
      a.length === b.length && a.every((v, k) => v === b[k]);
    if (same(t.rowPtr, this.rowPtr) && same(t.colIndices, this.colIndices)) {
      return this;
    }
    const ctx = new DepContext(n);
    return fromRows(
      [m, n],
      Array.from(
        { length: m },
        (_, i) =>
          ctx.union2(Array.from(rowOf(this, i)), Array.from(rowOf(t, i))),
      ),
    );
  }

  /** True when every entry of `other` is an entry of this pattern. */
  contains(other: SparsityPattern): boolean {
    if (other.shape[0] !== this.shape[0] || other.shape[1] !== this.shape[1]) {
      return false;
    }
    for (let i = 0; i < other.shape[0]; i++) {
      for (let k = other.rowPtr[i]; k < other.rowPtr[i + 1]; k++) {
        if (!this.has(i, other.colIndices[k])) return false;
      }
    }
    return true;
  }

  /** True when both patterns have the same shape and entries. */
  equals(other: SparsityPattern): boolean {
    return this.nnz === other.nnz && this.contains(other);
  }

  /** The pattern as nested arrays of 0 and 1 (for small patterns). */
  toArray(): number[][] {
    const [m, n] = this.shape;
    return Array.from({ length: m }, (_, i) => {
      const r = new Array<number>(n).fill(0);
      for (const j of rowOf(this, i)) r[j] = 1;
      return r;
    });
  }

  /** One line per row, `x` for an entry and `.` otherwise (for small patterns). */
  toString(): string {
    return this.toArray().map((r) => r.map((v) => (v ? "x" : ".")).join(""))
      .join("\n");
  }
}

function checkShape(
  what: string,
  shape: readonly number[],
): [number, number] {
  if (
    !Array.isArray(shape) || shape.length !== 2 ||
    !shape.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    throw new TypeError(
      `${what}: shape must be [rows, columns] of nonnegative integers, got ${
        JSON.stringify(shape)
      }`,
    );
  }
  return [shape[0], shape[1]];
}

/** The pattern whose row i has the (sorted, unique) columns rows[i]. */
export function fromRows(
  shape: readonly [number, number],
  rows: readonly ArrayLike<number>[],
): SparsityPattern {
  const ptr = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (ptr[i + 1] = ptr[i] + r.length));
  const idx = new Int32Array(ptr[rows.length]);
  rows.forEach((r, i) => idx.set(r, ptr[i]));
  return new SparsityPattern([shape[0], shape[1]], ptr, idx);
}

/** Row i's column indices (a view). */
export function rowOf(p: SparsityPattern, i: number): Int32Array {
  return p.colIndices.subarray(p.rowPtr[i], p.rowPtr[i + 1]);
}

/** The position of entry (i, j) in `colIndices`, or -1. */
export function findEntry(p: SparsityPattern, i: number, j: number): number {
  if (i < 0 || i >= p.shape[0]) return -1;
  let lo = p.rowPtr[i], hi = p.rowPtr[i + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, v = p.colIndices[mid];
    if (v === j) return mid;
    if (v < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Whether a constant's values can be read (a concrete, live tensor). */
function constValues(c: Tensor): () => ArrayLike<number> | null {
  let cached: ArrayLike<number> | null | undefined;
  return () => {
    if (cached === undefined) {
      const ok = c._trace === null && c._storage !== null &&
        !c._storage.disposed;
      cached = ok ? c.data() : null;
    }
    return cached;
  };
}

/**
 * The dependency sets of each output element of `p`, by abstract
 * interpretation with {@link dependencyRules}: input `k` element `e`
 * depends on index `offsets[k] + e`. Nothing is evaluated.
 */
export function programDependencies(p: Program): DepSet[][] {
  const sizes = p.inputAvals.map((a) => sizeOf(a.shape));
  const total = sizes.reduce((s, v) => s + v, 0);
  const ctx = new DepContext(total);
  const env = new Map<number, DepOperand>();
  let off = 0;
  p.inputs.forEach((v, k) => {
    const base = off;
    const deps = Array.from(
      { length: sizes[k] },
      (_, e) => [base + e],
    );
    env.set(v, {
      deps,
      shape: p.avals.get(v)!.shape,
      values: () => null,
      none: sizes[k] === 0,
    });
    off += sizes[k];
  });
  const constant = (c: Tensor): DepOperand => ({
    deps: new Array<DepSet>(sizeOf(c.shape)).fill(NO_DEPS),
    shape: c.shape,
    values: constValues(c),
    none: true,
  });
  for (const e of p.eqns) {
    const ins = e.inputs.map((
      a,
    ) => (isVar(a) ? env.get(a.var)! : constant(a.const)));
    const rule = dependencyRules[e.prim] as DepRule<PrimParams[Prim]> | "dense";
    // Integer values carry no derivative.
    const deps = e.aval.dtype === "int32"
      ? new Array<DepSet>(sizeOf(e.aval.shape)).fill(NO_DEPS)
      : rule === "dense"
      ? denseDeps(ins, e.aval, ctx)
      : rule(ins, e.params as PrimParams[Prim], e.aval, ctx);
    env.set(e.out, {
      deps,
      shape: e.aval.shape,
      values: () => null,
      none: deps.every((d) => d.length === 0),
    });
  }
  return p.outputs.map((o, i) => {
    const n = sizeOf(p.outputAvals[i].shape);
    if (o === null || !isVar(o)) return new Array<DepSet>(n).fill(NO_DEPS);
    return env.get(o.var)!.deps as DepSet[];
  });
}

/**
 * The Jacobian pattern of a program: rows are its output elements (outputs
 * in order, each row-major), columns its input elements.
 */
export function programSparsity(p: Program): SparsityPattern {
  const deps = programDependencies(p);
  const n = p.inputAvals.reduce((s, a) => s + sizeOf(a.shape), 0);
  const rows = deps.flat();
  return fromRows([rows.length, n], rows);
}

// ---------------------------------------------------------------------------
// Colouring

/**
 * The order in which a greedy colouring visits vertices: `"natural"`
 * (index order), `"largest-first"` (decreasing degree) or
 * `"smallest-last"` (the reverse of repeatedly removing a vertex of
 * smallest degree; usually the fewest colours).
 */
export type ColoringOrder = "natural" | "largest-first" | "smallest-last";

/**
 * What a colouring groups: `"column"` (structurally orthogonal columns,
 * for forward mode), `"row"` (rows, for reverse mode) or `"star"` (a
 * symmetric colouring of a square pattern, for Hessians: each entry is
 * recovered from one product with either its row or its column).
 */
export type ColoringKind = "column" | "row" | "star";

/**
 * A colouring of a pattern's columns (or rows): `colors[j]` is the group
 * of column `j`; the entries of each group are computed by one
 * Jacobian-vector (or vector-Jacobian, or Hessian-vector) product.
 *
 * @example
 * ```ts
 * import { colorSparsity, SparsityPattern } from "./mod.ts";
 * const tri = SparsityPattern.fromDense([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]]);
 * const c = colorSparsity(tri, { kind: "column" });
 * console.log(c.numColors, c.colors); // 3 Int32Array(4) [ 1, 0, 2, 1 ]: columns 0 and 3 share no row
 * ```
 */
export interface Coloring {
  /** What was coloured. */
  readonly kind: ColoringKind;
  /** The colour (0-based group) of each column (row, for `"row"`). */
  readonly colors: Int32Array;
  /** The number of colours: the number of products needed. */
  readonly numColors: number;
}

/** An undirected graph in adjacency (CSR) form, without self loops. */
interface Graph {
  ptr: Int32Array;
  adj: Int32Array;
}

/** The graph with an edge between vertices that share a row of `p` (columns of p). */
function columnIntersectionGraph(p: SparsityPattern): Graph {
  const n = p.shape[1];
  const t = p.transpose();
  const mark = new Int32Array(n).fill(-1);
  const ptr = new Int32Array(n + 1);
  const adj: number[] = [];
  for (let j = 0; j < n; j++) {
    mark[j] = j;
    for (const i of rowOf(t, j)) {
      for (const c of rowOf(p, i)) {
        if (mark[c] !== j) {
          mark[c] = j;
          adj.push(c);
        }
      }
    }
    ptr[j + 1] = adj.length;
  }
  return { ptr, adj: Int32Array.from(adj) };
}

/** The adjacency graph of a square pattern, symmetrized, without its diagonal. */
function adjacencyGraph(p: SparsityPattern): Graph {
  const s = p.symmetrize();
  const n = s.shape[0];
  const ptr = new Int32Array(n + 1);
  const adj: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const j of rowOf(s, i)) if (j !== i) adj.push(j);
    ptr[i + 1] = adj.length;
  }
  return { ptr, adj: Int32Array.from(adj) };
}

const neighbours = (g: Graph, v: number) =>
  g.adj.subarray(g.ptr[v], g.ptr[v + 1]);

function vertexOrder(g: Graph, order: ColoringOrder): Int32Array {
  const n = g.ptr.length - 1;
  const deg = Int32Array.from({ length: n }, (_, v) => g.ptr[v + 1] - g.ptr[v]);
  const ids = Int32Array.from({ length: n }, (_, v) => v);
  if (order === "natural") return ids;
  if (order === "largest-first") {
    return Int32Array.from(
      [...ids].sort((a, b) => deg[b] - deg[a] || a - b),
    );
  }
  // Smallest-last with bucket lists of the current degrees: O(V + E).
  const maxDeg = deg.reduce((a, b) => Math.max(a, b), 0);
  const head = new Int32Array(maxDeg + 1).fill(-1);
  const next = new Int32Array(n).fill(-1), prev = new Int32Array(n).fill(-1);
  const cur = deg.slice();
  const insert = (v: number) => {
    const d = cur[v];
    prev[v] = -1;
    next[v] = head[d];
    if (head[d] >= 0) prev[head[d]] = v;
    head[d] = v;
  };
  const remove = (v: number) => {
    const d = cur[v];
    if (prev[v] >= 0) next[prev[v]] = next[v];
    else head[d] = next[v];
    if (next[v] >= 0) prev[next[v]] = prev[v];
  };
  for (let v = n - 1; v >= 0; v--) insert(v);
  const removed = new Uint8Array(n);
  const out = new Int32Array(n);
  let low = 0;
  for (let k = n - 1; k >= 0; k--) {
    low = Math.max(0, low - 1);
    while (head[low] < 0) low++;
    const v = head[low];
    remove(v);
    removed[v] = 1;
    out[k] = v;
    for (const w of neighbours(g, v)) {
      if (removed[w]) continue;
      remove(w);
      cur[w]--;
      insert(w);
    }
  }
  return out;
}

/** Greedy distance-1 colouring: the smallest colour no coloured neighbour has. */
function greedyColoring(g: Graph, order: ColoringOrder): Int32Array {
  const n = g.ptr.length - 1;
  const color = new Int32Array(n).fill(-1);
  const forbidden = new Int32Array(n + 1).fill(-1);
  for (const v of vertexOrder(g, order)) {
    for (const w of neighbours(g, v)) {
      if (color[w] >= 0) forbidden[color[w]] = v;
    }
    let c = 0;
    while (forbidden[c] === v) c++;
    color[v] = c;
  }
  return color;
}

/**
 * Greedy star colouring: a distance-1 colouring in which every path on
 * four vertices uses at least three colours, so that every two-coloured
 * subgraph is a collection of stars. Then each off-diagonal entry (i, j)
 * of a symmetric matrix is the only term of colour color[j] in row i, or
 * of colour color[i] in row j (Gebremedhin, Manne and Pothen's simple
 * greedy algorithm).
 */
function starColoring(g: Graph, order: ColoringOrder): Int32Array {
  const n = g.ptr.length - 1;
  const { ptr, adj } = g;
  const color = new Int32Array(n).fill(-1);
  const forbidden = new Int32Array(n + 1).fill(-1);
  for (const v of vertexOrder(g, order)) {
    for (let a = ptr[v]; a < ptr[v + 1]; a++) {
      const w = adj[a];
      if (color[w] >= 0) forbidden[color[w]] = v;
    }
    for (let a = ptr[v]; a < ptr[v + 1]; a++) {
      const w = adj[a], cw = color[w];
      if (cw < 0) {
        // v and x would both touch w, which is not coloured yet.
        for (let b = ptr[w]; b < ptr[w + 1]; b++) {
          const x = adj[b];
          if (x !== v && color[x] >= 0) forbidden[color[x]] = v;
        }
        continue;
      }
      for (let b = ptr[w]; b < ptr[w + 1]; b++) {
        const x = adj[b];
        if (x === v || color[x] < 0 || forbidden[color[x]] === v) continue;
        // v–w–x–y with color(v) = color(x) and color(y) = color(w) is a
        // two-coloured path on four vertices.
        for (let c = ptr[x]; c < ptr[x + 1]; c++) {
          const y = adj[c];
          if (y !== w && color[y] === cw) {
            forbidden[color[x]] = v;
            break;
          }
        }
      }
    }
    let c = 0;
    while (forbidden[c] === v) c++;
    color[v] = c;
  }
  return color;
}

const countColors = (c: Int32Array) =>
  c.reduce((a, b) => Math.max(a, b + 1), 0);

/**
 * Colours a pattern's columns (`"column"`), rows (`"row"`) or, for a
 * square pattern read as symmetric, its vertices with a star colouring
 * (`"star"`). `order` is the greedy visiting order (default smallest-last).
 */
export function colorPattern(
  p: SparsityPattern,
  kind: ColoringKind,
  order: ColoringOrder = "smallest-last",
): Coloring {
  let colors: Int32Array;
  if (kind === "column") {
    colors = greedyColoring(columnIntersectionGraph(p), order);
  } else if (kind === "row") {
    colors = greedyColoring(columnIntersectionGraph(p.transpose()), order);
  } else colors = starColoring(adjacencyGraph(p), order);
  return { kind, colors, numColors: countColors(colors) };
}

/**
 * For each entry of `p` (in CSR order), the flat index into the compressed
 * product `[numColors, m]` (column colouring: entry (i, j) is
 * `B[color[j], i]` with `B = (J·S)ᵀ`), `[numColors, n]` (row colouring:
 * `C[color[i], j]` with `C = Sᵀ·J`), or `[numColors, n]` for a star
 * colouring of a symmetric `p` (`B = (H·S)ᵀ`: `B[color[j], i]`, or
 * `B[color[i], j]` when column i's group is the one where (i, j) is
 * alone).
 */
export function recoveryIndex(
  p: SparsityPattern,
  coloring: Coloring,
): Int32Array {
  const [m, n] = p.shape;
  const { colors, kind } = coloring;
  const out = new Int32Array(p.nnz);
  if (kind === "column") {
    for (let i = 0; i < m; i++) {
      for (let k = p.rowPtr[i]; k < p.rowPtr[i + 1]; k++) {
        out[k] = colors[p.colIndices[k]] * m + i;
      }
    }
    return out;
  }
  if (kind === "row") {
    for (let i = 0; i < m; i++) {
      for (let k = p.rowPtr[i]; k < p.rowPtr[i + 1]; k++) {
        out[k] = colors[i] * n + p.colIndices[k];
      }
    }
    return out;
  }
  // Star: row i of H·S in colour c sums H[i, k] over the k of colour c in
  // row i (the pattern includes what the colouring was made for).
  const s = p.symmetrize();
  const count = new Int32Array(countColors(colors));
  const alone = new Uint8Array(s.nnz); // (i, j) is alone in its colour in row i
  for (let i = 0; i < n; i++) {
    const row = rowOf(s, i);
    for (const j of row) count[colors[j]]++;
    for (let k = s.rowPtr[i]; k < s.rowPtr[i + 1]; k++) {
      alone[k] = count[colors[s.colIndices[k]]] === 1 ? 1 : 0;
    }
    for (const j of row) count[colors[j]]--;
  }
  for (let i = 0; i < m; i++) {
    for (let k = p.rowPtr[i]; k < p.rowPtr[i + 1]; k++) {
      const j = p.colIndices[k];
      if (alone[findEntry(s, i, j)]) out[k] = colors[j] * n + i;
      else if (alone[findEntry(s, j, i)]) out[k] = colors[i] * n + j;
      else {
        throw new Error(
          `star colouring: entry (${i}, ${j}) cannot be recovered; the colouring is not a star colouring of this pattern`,
        );
      }
    }
  }
  return out;
}
