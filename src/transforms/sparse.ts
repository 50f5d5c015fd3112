/**
 * Sparse Jacobians: `jacobianSparsity` (the pattern, by a dependency
 * interpreter over the staged program), `colorSparsity`, and the compressed
 * products behind `jacfwd`/`jacrev`/`hessian` with a `sparsity` option: one
 * JVP (or VJP, or HVP) per colour, batched with `vmap`, then each entry
 * read back from the compressed result.
 * @module
 */
import { fromArray } from "../backend/storage.ts";
import { jvpFlat, linearizeFlat } from "../core/ad.ts";
import { vmapFlat } from "../core/batch_trace.ts";
import type { Program } from "../core/ir.ts";
import { transposeProgram } from "../core/interpret.ts";
import { withTemporaries } from "../core/scope.ts";
import { sizeOf } from "../core/shape.ts";
import {
  type Coloring,
  type ColoringKind,
  type ColoringOrder,
  colorPattern,
  programSparsity,
  recoveryIndex,
  SparsityPattern,
} from "../core/sparsity.ts";
import { StagingTrace } from "../core/staging_trace.ts";
import { Tensor } from "../core/tensor.ts";
import { bind, withMain } from "../core/trace.ts";
import { type TreeDef, unflatten } from "../core/tree.ts";
import { instantiate } from "../ops/broadcast.ts";
import { cat, reshape } from "../ops/layout.ts";
import {
  type Argnums,
  checkRealOutput,
  type DiffArgs,
  diffArgs,
  flatOutput,
  type Fn,
  normArgnums,
} from "./args.ts";
import {
  rowPointers,
  type SparseFormat,
  SparseMatrix,
} from "./sparse_matrix.ts";

/**
 * Options of {@link jacobianSparsity}.
 *
 * @example
 * ```ts
 * import { jacobianSparsity, tensor, type Tensor } from "./mod.ts";
 * const p = jacobianSparsity((a: Tensor, b: Tensor) => a.mul(b), { argnums: 1 })(tensor([1, 2]), tensor([3, 4]));
 * console.log(p.toString());
 * // x.
 * // .x
 * ```
 */
export interface SparsityOptions {
  /** Which argument(s) the columns are: their tensors, flattened in order. Default 0. */
  argnums?: Argnums;
  /** `f` returns `[output, aux]`; the aux is ignored. */
  hasAux?: boolean;
}

/**
 * The `sparsity` option of `jacfwd`, `jacrev` and `hessian`: `"auto"`
 * detects the pattern on each call ({@link jacobianSparsity}), a pattern
 * (or a 0/1 matrix, read with `SparsityPattern.fromDense`) is used as
 * given and must contain every structurally nonzero entry.
 *
 * @example
 * ```ts
 * import { jacfwd, SparsityPattern, tensor, type Tensor } from "./mod.ts";
 * const sparsity: SparsityPattern = SparsityPattern.fromDense([[1, 0], [0, 1]]);
 * const J = jacfwd((x: Tensor) => x.sin(), { sparsity })(tensor([1, 2]));
 * ```
 */
export type SparsityOption =
  | "auto"
  | SparsityPattern
  | Tensor
  | readonly (readonly (number | boolean)[])[];

/** The sparse part of the Jacobian options (see `JacobianOptions`). */
export interface SparseJacobianOptions {
  argnums?: Argnums;
  hasAux?: boolean;
  chunkSize?: number;
  sparsity?: SparsityOption;
  format?: "dense" | SparseFormat;
  coloringOrder?: ColoringOrder;
}

/** Runs `flat` on staging tracers with `leaves`' avals: the program, nothing computed. */
function stageLeaves(
  what: string,
  flat: (xs: Tensor[]) => [Tensor[], unknown],
  leaves: readonly Tensor[],
): Program {
  return withMain(`${what} (sparsity)`, (main) => {
    const trace = new StagingTrace(main);
    const ins = leaves.map((l) => trace.newInput(l));
    const [outs] = flat(ins);
    return trace.finish(ins, outs, outs);
  });
}

function checkFn(what: string, f: unknown): void {
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${typeof f}`);
  }
}

/** The pattern of `f`'s Jacobian at the shapes of `args`. */
export function detectSparsity(
  what: string,
  f: Fn,
  options: SparsityOptions,
  args: unknown[],
): SparsityPattern {
  const nums = normArgnums(what, options.argnums ?? 0, args.length);
  const d = diffArgs(what, args, nums);
  const { flat } = flatOutput(what, d, f, options.hasAux ?? false);
  let program: Program;
  try {
    program = stageLeaves(what, flat, d.leaves);
  } catch (e) {
    if (e instanceof Error && /is being traced/.test(e.message)) {
      throw new Error(
        `${what}: the sparsity pattern is found by tracing the function on shapes only, and it read the value of a traced input (${e.message}); ` +
          `write value-dependent branches with where(), or pass the pattern as the sparsity option`,
      );
    }
    throw e;
  }
  return programSparsity(program);
}

/**
 * Returns a function that, given example arguments, finds the sparsity
 * pattern of `f`'s Jacobian: which output elements can depend on which
 * input elements. `f` is traced once on the arguments' shapes and dtypes
 * and its program is read by a dependency interpreter (one rule per
 * primitive; factorizations and solves count as dense); no value of the
 * arguments is read. Rows are the output elements, columns the elements of
 * the differentiated arguments (pytree leaves in order, each row-major).
 *
 * The pattern is structural and conservative: it contains every entry that
 * is nonzero at any input. Both sides of a `where` count unless its
 * condition is a constant, and a value read in JavaScript cannot steer the
 * trace (reading a traced value is an error), so there is no control flow
 * that the pattern could miss. Constants of `f` are read: a constant zero
 * factor of `mul` or `matmul` and constant indices give exact patterns.
 *
 * @example
 * ```ts
 * import { jacobianSparsity, tensor, type Tensor } from "./mod.ts";
 * const f = (x: Tensor) => x.slice(0, 1).sub(x.slice(0, 0, -1)); // differences
 * const p = jacobianSparsity(f)(tensor([1, 2, 3, 4]));
 * console.log(p.shape, p.nnz); // [3, 4] 6
 * console.log(p.toString());
 * // xx..
 * // .xx.
 * // ..xx
 * ```
 */
export function jacobianSparsity<F extends Fn>(
  f: F,
  options: SparsityOptions = {},
): (...args: Parameters<F>) => SparsityPattern {
  checkFn("jacobianSparsity", f);
  return ((...args: unknown[]) =>
    withTemporaries(
      args,
      () => detectSparsity("jacobianSparsity", f, options, args),
    )) as (...args: Parameters<F>) => SparsityPattern;
}

/**
 * Options of {@link colorSparsity}.
 *
 * @example
 * ```ts
 * import { colorSparsity, SparsityPattern } from "./mod.ts";
 * const p = SparsityPattern.fromDense([[1, 1], [1, 1]]);
 * console.log(colorSparsity(p, { kind: "star", order: "natural" }).numColors); // 2
 * ```
 */
export interface ColorOptions {
  /** Columns (forward mode, the default), rows (reverse mode) or a symmetric star colouring. */
  kind?: ColoringKind;
  /** Greedy vertex order; default `"smallest-last"`. */
  order?: ColoringOrder;
}

/**
 * Colours a sparsity pattern: columns (`"column"`, the default) so that
 * columns of one colour share no row, and one JVP per colour gives the
 * Jacobian; rows (`"row"`) for one VJP per colour; or a star colouring
 * (`"star"`) of a symmetric pattern, for one Hessian-vector product per
 * colour. A tridiagonal pattern needs 3 colours in each case, whatever
 * its size.
 *
 * @example
 * ```ts
 * import { colorSparsity, hessianSparsity, tensor, type Tensor } from "./mod.ts";
 * const f = (x: Tensor) => x.slice(0, 1).sub(x.slice(0, 0, -1).square()).square().sum();
 * const p = hessianSparsity(f)(tensor(new Float64Array(1000)));
 * console.log(colorSparsity(p, { kind: "star" }).numColors); // 3
 * ```
 */
export function colorSparsity(
  pattern: SparsityPattern,
  options: ColorOptions = {},
): Coloring {
  if (!(pattern instanceof SparsityPattern)) {
    throw new TypeError(
      `colorSparsity: expected a SparsityPattern, got ${typeof pattern}`,
    );
  }
  const kind = options.kind ?? "column",
    order = options.order ?? "smallest-last";
  checkKind("colorSparsity", kind, order);
  if (kind === "star" && pattern.shape[0] !== pattern.shape[1]) {
    throw new RangeError(
      `colorSparsity: a star colouring needs a square pattern, got [${pattern.shape}]`,
    );
  }
  return colorPattern(pattern, kind, order);
}

function checkKind(what: string, kind: unknown, order: unknown): void {
  if (kind !== "column" && kind !== "row" && kind !== "star") {
    throw new TypeError(
      `${what}: kind must be "column", "row" or "star", got ${
        JSON.stringify(kind)
      }`,
    );
  }
  if (
    order !== "natural" && order !== "largest-first" &&
    order !== "smallest-last"
  ) {
    throw new TypeError(
      `${what}: order must be "natural", "largest-first" or "smallest-last", got ${
        JSON.stringify(order)
      }`,
    );
  }
}

// ---------------------------------------------------------------------------
// Compressed products

interface Plan {
  coloring: Coloring;
  /** Per entry of the pattern, its flat index in the compressed product. */
  index: Int32Array;
}

/** Colourings are cached per pattern object, so a pattern passed each call is coloured once. */
const plans = new WeakMap<SparsityPattern, Map<string, Plan>>();
const symmetric = new WeakMap<SparsityPattern, SparsityPattern>();

function planFor(
  p: SparsityPattern,
  kind: ColoringKind,
  order: ColoringOrder,
): Plan {
  let byKey = plans.get(p);
  if (byKey === undefined) plans.set(p, byKey = new Map());
  const key = `${kind}/${order}`;
  let plan = byKey.get(key);
  if (plan === undefined) {
    const coloring = colorPattern(p, kind, order);
    plan = { coloring, index: recoveryIndex(p, coloring) };
    byKey.set(key, plan);
  }
  return plan;
}

function symmetrized(p: SparsityPattern): SparsityPattern {
  let s = symmetric.get(p);
  if (s === undefined) {
    s = p.symmetrize();
    symmetric.set(p, s);
    symmetric.set(s, s);
  }
  return s;
}

function toPattern(what: string, s: SparsityOption): SparsityPattern {
  if (s instanceof SparsityPattern) return s;
  if (s instanceof Tensor || Array.isArray(s)) {
    return SparsityPattern.fromDense(s as Tensor);
  }
  throw new TypeError(
    `${what}: sparsity must be "auto", a SparsityPattern or a 0/1 matrix, got ${
      JSON.stringify(s)
    }`,
  );
}

const int32 = (a: Int32Array) =>
  Tensor._fromStorage(fromArray("int32", a), [a.length], "int32");

/** The seed matrix: for each leaf, `[numColors, ...leaf.shape]`, one-hot by colour. */
function seeds(
  colors: Int32Array,
  count: number,
  leaves: readonly { shape: readonly number[]; dtype: Tensor["dtype"] }[],
): Tensor[] {
  let off = 0;
  return leaves.map((l) => {
    const size = sizeOf(l.shape);
    const data = new Float64Array(count * size);
    for (let e = 0; e < size; e++) {
      const c = colors[off + e];
      if (c >= 0 && c < count) data[c * size + e] = 1;
    }
    off += size;
    return Tensor._fromStorage(
      fromArray(l.dtype, data),
      [count, ...l.shape],
      l.dtype,
    );
  });
}

/** `[c, ...shape]` tensors flattened and concatenated to `[c, Σ size]`. */
function compress(parts: Tensor[], c: number): Tensor {
  const flat = parts.map((t) => reshape(t, [c, sizeOf(t.shape) / c || 0]));
  return flat.length === 1 ? flat[0] : cat(flat, 1);
}

function shapeError(
  what: string,
  p: SparsityPattern,
  m: number,
  n: number,
): never {
  throw new RangeError(
    `${what}: the sparsity pattern has shape [${p.shape[0]}, ${
      p.shape[1]
    }] but the Jacobian (outputs × inputs, flattened) is [${m}, ${n}]`,
  );
}

/** Which product computes the compressed Jacobian. */
export type SparseMode = "forward" | "reverse" | "hessian";

/** One block of the result (output leaf j, input leaf i): its entries. */
interface Block {
  /** Row and column of each entry within the block. */
  rows: Int32Array;
  cols: Int32Array;
  /** Flat index of each entry in the compressed product. */
  index: Int32Array;
}

/** The splits of a plan's entries per block layout (cached with the plan). */
const splits = new WeakMap<Plan, Map<string, Block[][]>>();

/**
 * The entries of `pattern` split into blocks of `rowSizes[j] ×
 * colSizes[i]` (output leaves × input leaves), each in row-major order.
 */
function splitBlocks(
  pattern: SparsityPattern,
  plan: Plan,
  rowSizes: number[],
  colSizes: number[],
): Block[][] {
  let byLayout = splits.get(plan);
  if (byLayout === undefined) splits.set(plan, byLayout = new Map());
  const key = `${rowSizes}/${colSizes}`;
  const cached = byLayout.get(key);
  if (cached !== undefined) return cached;
  const leafOf = (sizes: number[], total: number) => {
    const leaf = new Int32Array(total), off = new Int32Array(total);
    let at = 0;
    sizes.forEach((s, j) => {
      for (let e = 0; e < s; e++, at++) {
        leaf[at] = j;
        off[at] = e;
      }
    });
    return [leaf, off];
  };
  const [rowLeaf, rowOff] = leafOf(rowSizes, pattern.shape[0]);
  const [colLeaf, colOff] = leafOf(colSizes, pattern.shape[1]);
  const nc = colSizes.length;
  const counts = new Int32Array(rowSizes.length * nc);
  for (let i = 0; i < pattern.shape[0]; i++) {
    for (let k = pattern.rowPtr[i]; k < pattern.rowPtr[i + 1]; k++) {
      counts[rowLeaf[i] * nc + colLeaf[pattern.colIndices[k]]]++;
    }
  }
  const blocks = rowSizes.map((_, j) =>
    colSizes.map((_, i) => {
      const c = counts[j * nc + i];
      return {
        rows: new Int32Array(c),
        cols: new Int32Array(c),
        index: new Int32Array(c),
      };
    })
  );
  const fill = new Int32Array(rowSizes.length * nc);
  for (let i = 0; i < pattern.shape[0]; i++) {
    for (let k = pattern.rowPtr[i]; k < pattern.rowPtr[i + 1]; k++) {
      const j = pattern.colIndices[k];
      const slot = rowLeaf[i] * nc + colLeaf[j];
      const b = blocks[rowLeaf[i]][colLeaf[j]], at = fill[slot]++;
      b.rows[at] = rowOff[i];
      b.cols[at] = colOff[j];
      b.index[at] = plan.index[k];
    }
  }
  byLayout.set(key, blocks);
  return blocks;
}

/**
 * The Jacobian of `f` from one product per colour. `mode` "forward" uses
 * column colouring and JVPs, "reverse" row colouring and VJPs, "hessian"
 * (for `f` the gradient of a function) JVPs with a star colouring when the
 * pattern is square (the Hessian of a scalar function is symmetric) and a
 * column colouring otherwise. `detect` finds the pattern for `"auto"`.
 */
export function sparseJacobianNamed(
  what: string,
  f: Fn,
  options: SparseJacobianOptions,
  mode: SparseMode,
  detect: (args: unknown[]) => SparsityPattern = (args) =>
    detectSparsity(what, f, options, args),
): (...args: unknown[]) => unknown {
  checkFn(what, f);
  const format = options.format ?? "dense";
  if (format !== "dense" && format !== "coo" && format !== "csr") {
    throw new TypeError(
      `${what}: format must be "dense", "coo" or "csr", got ${
        JSON.stringify(format)
      }`,
    );
  }
  const order = options.coloringOrder ?? "smallest-last";
  checkKind(what, "column", order);
  const given = options.sparsity === undefined || options.sparsity === "auto"
    ? null
    : toPattern(what, options.sparsity);
  return (...args: unknown[]) => {
    // Built inside the memory scope, wrapped outside it (the scope hands
    // out the tensors it returns, not those inside a class).
    const meta = {} as {
      blocks: Block[][];
      shapes: [number, number][][];
      outDef: TreeDef;
      d: DiffArgs;
      single: boolean;
    };
    const raw = withTemporaries(args, () => {
      const argnums = options.argnums ?? 0;
      meta.single = typeof argnums === "number";
      const d = meta.d = diffArgs(
        what,
        args,
        normArgnums(what, argnums, args.length),
      );
      const fo = flatOutput(what, d, f, options.hasAux ?? false);
      const leaves = d.leaves;
      const n = leaves.reduce((s, l) => s + sizeOf(l.shape), 0);
      let pattern = given ?? detect(args);
      if (pattern.shape[1] !== n) {
        shapeError(what, pattern, pattern.shape[0], n);
      }
      const square = pattern.shape[0] === n;
      const kind: ColoringKind = mode === "reverse"
        ? "row"
        : mode === "hessian" && square
        ? "star"
        : "column";
      if (kind === "star") pattern = symmetrized(pattern);
      const plan = planFor(pattern, kind, order);
      const c = Math.max(plan.coloring.numColors, 1);
      let outs: Tensor[] = [], extra: unknown, comp: Tensor;
      if (kind === "row") {
        const r = linearizeFlat(what, (xs) => {
          const res = fo.flat(xs);
          res[0].forEach((o, j) => checkRealOutput(what, o, `output ${j}`));
          return res;
        }, leaves);
        outs = r.outs;
        extra = r.extra;
        const m = outs.reduce((s, o) => s + sizeOf(o.shape), 0);
        if (pattern.shape[0] !== m) shapeError(what, pattern, m, n);
        const s = seeds(plan.coloring.colors, c, outs);
        const cts = vmapFlat(
          what,
          (b) =>
            transposeProgram(r.program, b).map((ct, i) =>
              instantiate(ct, leaves[i])
            ),
          s,
          s.map(() => 0),
          c,
          () => 0,
          options.chunkSize,
        );
        comp = compress(cts, c);
      } else {
        const s = seeds(plan.coloring.colors, c, leaves);
        const touts = vmapFlat(
          what,
          (ts) => {
            const r = jvpFlat(what, fo.flat, leaves, ts);
            outs = r.outs;
            extra = r.extra;
            return r.tangents.map((t, j) => instantiate(t, r.outs[j]));
          },
          s,
          s.map(() => 0),
          c,
          () => 0,
          options.chunkSize,
          () => [outs, extra],
        );
        const m = outs.reduce((s, o) => s + sizeOf(o.shape), 0);
        if (pattern.shape[0] !== m) shapeError(what, pattern, m, n);
        comp = compress(touts, c);
      }
      meta.outDef = fo.outDef();
      const rowSizes = outs.map((o) => sizeOf(o.shape));
      const colSizes = leaves.map((l) => sizeOf(l.shape));
      const blocks = meta.blocks = splitBlocks(
        pattern,
        plan,
        rowSizes,
        colSizes,
      );
      const shapes = meta.shapes = rowSizes.map((r) =>
        colSizes.map((c) => [r, c] as [number, number])
      );
      const flatComp = reshape(comp, [-1]);
      const values = blocks.map((bs, j) =>
        bs.map((b, i) => {
          const v = bind("indexSelect", [flatComp, int32(b.index)], {
            axis: 0,
          });
          if (format !== "dense") return v;
          const [mj, ni] = shapes[j][i];
          const at = Int32Array.from(b.rows, (r, k) => r * ni + b.cols[k]);
          const dense = bind("indexAdd", [v, int32(at)], {
            axis: 0,
            size: mj * ni,
          });
          return reshape(dense, [...outs[j].shape, ...leaves[i].shape]);
        })
      );
      return [values, extra] as [Tensor[][], unknown];
    });
    const [values, extra] = raw;
    const { blocks, shapes, d, single } = meta;
    const perOut = values.map((vs, j) => {
      const perLeaf = vs.map((v, i) => {
        if (format === "dense") return v;
        const b = blocks[j][i];
        return new SparseMatrix(
          format,
          shapes[j][i],
          b.rows,
          b.cols,
          v,
          format === "csr" ? rowPointers(shapes[j][i][0], b.rows) : null,
        );
      });
      const perArg = d.rebuild(perLeaf);
      return single ? perArg[0] : perArg;
    });
    const jac = unflatten(meta.outDef, perOut);
    return options.hasAux ? [jac, extra] : jac;
  };
}
