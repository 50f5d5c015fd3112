/**
 * `jacrev` and `jacfwd`: full Jacobians as `vmap` of `vjp` over the output
 * basis, or of `jvp` over the input basis. Jacobian shape is
 * `out.shape ++ in.shape`, for every (output leaf, input leaf) pair.
 * @module
 */
import type { Fn } from "./args.ts";
import { withTemporaries } from "../core/scope.ts";
import { jvpFlat, linearizeFlat } from "../core/ad.ts";
import { transposeProgram } from "../core/interpret.ts";
import { instantiate } from "../ops/broadcast.ts";
import { type Basis, identityBasis } from "../core/basis.ts";
import { narrow, reshape } from "../ops/layout.ts";
import { sizeOf } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { type TreeDef, unflatten } from "../core/tree.ts";
import {
  type Argnums,
  checkRealOutput,
  type DiffArgs,
  diffArgs,
  flatOutput,
  normArgnums,
} from "./args.ts";
import { vmapFlat } from "../core/batch_trace.ts";
import type { ColoringOrder } from "../core/sparsity.ts";
import { sparseJacobianNamed, type SparsityOption } from "./sparse.ts";
import type { SparseFormat, SparseMatrix } from "./sparse_matrix.ts";

/**
 * Options of `jacrev`, `jacfwd` and `hessian`.
 *
 * @example
 * ```ts
 * import { jacfwd, jacrev, randn, type Tensor } from "./mod.ts";
 * const f = (x: Tensor) => x.tanh();
 * const J = jacrev(f, { chunkSize: 8 })(randn([64])); // [64, 64], 8 rows at a time
 * const [Jf, aux] = jacfwd((x: Tensor) => [f(x), "aux"], { hasAux: true })(randn([3]));
 * ```
 */
export interface JacobianOptions<A extends Argnums = number> {
  /** Which argument(s) to differentiate; an array gives an array of Jacobians. Default 0. */
  argnums?: A;
  /** `f` returns `[output, aux]`; the result is then `[jacobian, aux]`. */
  hasAux?: boolean;
  /** Compute at most this many basis vectors at a time (bounded memory). */
  chunkSize?: number;
  /**
   * A sparse Jacobian: `"auto"` finds the sparsity pattern
   * (`jacobianSparsity`, or `hessianSparsity` for `hessian`) on each call,
   * or pass a pattern found once. Structurally independent columns
   * (`jacfwd`, `hessian`) or rows (`jacrev`) are grouped by a graph
   * colouring and each group costs one product: a tridiagonal Jacobian
   * takes 3 JVPs at any size. The pattern must contain every nonzero.
   */
  sparsity?: SparsityOption;
  /**
   * The result's form: `"dense"` (the default) gives the same tensors as
   * without `sparsity`; `"coo"` or `"csr"` give a `SparseMatrix` per
   * (output tensor, input tensor) block, `[out.size, in.size]` (and imply
   * `sparsity: "auto"` when `sparsity` is not given).
   */
  format?: "dense" | SparseFormat;
  /** The greedy colouring's vertex order with `sparsity` (default `"smallest-last"`). */
  coloringOrder?: ColoringOrder;
}

/** True when the options ask for a sparse Jacobian. */
export function wantsSparse(options: JacobianOptions<Argnums>): boolean {
  return options.sparsity !== undefined ||
    (options.format !== undefined && options.format !== "dense");
}

/**
 * `T` with `X` in place of every tensor: a Jacobian has the output's
 * structure with the differentiated arguments' structure at each output
 * tensor. Non-tensor leaves stay as they are; `any` (what an untyped
 * function such as `(x) => x.sin()` returns) counts as a tensor.
 *
 * @example
 * ```ts
 * import type { MapTensors, Tensor } from "./mod.ts";
 * type T = MapTensors<{ a: Tensor; b: [Tensor, number] }, string>; // { a: string; b: [string, number] }
 * ```
 */
export type MapTensors<T, X> = 0 extends 1 & T ? X
  : T extends Tensor ? X
  : T extends readonly unknown[]
    ? { -readonly [K in keyof T]: MapTensors<T[K], X> }
  : T extends object ? { -readonly [K in keyof T]: MapTensors<T[K], X> }
  : T;

/**
 * The differentiated arguments' types, from the types of a call's
 * arguments: the argument `argnums` names, or a tuple of them for an array
 * of argnums.
 *
 * @example
 * ```ts
 * import type { ArgsAt, Tensor } from "./mod.ts";
 * type Both = ArgsAt<[{ a: Tensor }, Tensor], readonly [0, 1]>; // [{ a: Tensor }, Tensor]
 * ```
 */
export type ArgsAt<Args extends readonly unknown[], A> = A extends
  readonly number[] ? { -readonly [K in keyof A]: Args[A[K] & number] }
  : A extends number ? Args[A]
  : Args[0];

/**
 * What a function returns without its aux (`hasAux`), and the aux: `f`
 * returns `[output, aux]`.
 *
 * @example
 * ```ts
 * import type { OutputOf, Tensor } from "./mod.ts";
 * type O = OutputOf<(x: Tensor) => readonly [Tensor, string], true>; // Tensor
 * ```
 */
export type OutputOf<F extends Fn, HasAux extends boolean = false> =
  HasAux extends true ? ReturnType<F> extends readonly [infer O, unknown] ? O
    : ReturnType<F> extends readonly (infer E)[] ? E
    : unknown
    : ReturnType<F>;

/**
 * The aux a `hasAux` function returns beside its output.
 *
 * @example
 * ```ts
 * import type { AuxOf, Tensor } from "./mod.ts";
 * type X = AuxOf<(x: Tensor) => readonly [Tensor, { n: number }]>; // { n: number }
 * ```
 */
export type AuxOf<F extends Fn> = ReturnType<F> extends
  readonly [unknown, infer X] ? X
  : ReturnType<F> extends readonly (infer E)[] ? E
  : unknown;

/**
 * The type `jacrev(f, { argnums })` and `jacfwd` return: the output's
 * structure, with the differentiated arguments' structure at each output
 * tensor (a `Tensor` for one tensor argument and a tensor output). `Args`
 * are the types of the call's arguments (so an untyped `f` called with
 * tensors still gives tensors).
 *
 * @example
 * ```ts
 * import { jacrev, type Tensor, tensor } from "./mod.ts";
 * const f = (a: Tensor, b: Tensor) => ({ s: a.mul(b), d: a.sub(b) });
 * const J = jacrev(f, { argnums: [0, 1] })(tensor([1, 2]), tensor([3, 4]));
 * const dsdb: Tensor = J.s[1]; // JacobianOf<typeof f, readonly [0, 1]>
 * ```
 */
export type JacobianOf<
  F extends Fn,
  A = 0,
  HasAux extends boolean = false,
  Args extends readonly unknown[] = Parameters<F>,
> = MapTensors<OutputOf<F, HasAux>, ArgsAt<Args, A>>;

/**
 * The type `jacrev`/`jacfwd` return with `format: "coo" | "csr"`: the
 * structure of {@link JacobianOf} with a `SparseMatrix` per block.
 *
 * @example
 * ```ts
 * import { jacfwd, type SparseMatrix, tensor, type Tensor } from "./mod.ts";
 * const J: SparseMatrix = jacfwd((x: Tensor) => x.sin(), { format: "csr" })(tensor([1, 2]));
 * ```
 */
export type SparseJacobianOf<
  F extends Fn,
  A = 0,
  HasAux extends boolean = false,
  Args extends readonly unknown[] = Parameters<F>,
> = MapTensors<OutputOf<F, HasAux>, MapTensors<ArgsAt<Args, A>, SparseMatrix>>;

/** Options that ask for a sparse result. */
type SparseOut = { format: SparseFormat };

// deno-lint-ignore no-explicit-any
type Any = any;

/**
 * The identity basis over all leaves, split per leaf: leaf i gets batch rows
 * offs[i]..offs[i]+size(leaf) as symbolic one-hot vectors (never a dense eye).
 */
function bases(leaves: Tensor[]): [Basis[], number[], number] {
  const offs: number[] = [];
  let total = 0;
  for (const l of leaves) {
    offs.push(total);
    total += sizeOf(l.shape);
  }
  return [leaves.map((l, i) => identityBasis(l, offs[i], total)), offs, total];
}

/** Assembles the nested result: output structure, then argnums, then input structure. */
function assemble(
  outDef: TreeDef,
  nOut: number,
  d: DiffArgs,
  single: boolean,
  block: (j: number, i: number) => Tensor,
): unknown {
  const perOut = Array.from({ length: nOut }, (_, j) => {
    const perArg = d.rebuild(d.leaves.map((_, i) => block(j, i)));
    return single ? perArg[0] : perArg;
  });
  return unflatten(outDef, perOut);
}

function prepare(
  what: string,
  f: Fn,
  options: JacobianOptions<Argnums>,
  args: unknown[],
) {
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${typeof f}`);
  }
  const argnums = options.argnums ?? 0;
  const d = diffArgs(what, args, normArgnums(what, argnums, args.length));
  const { flat, outDef } = flatOutput(what, d, f, options.hasAux ?? false);
  return { d, flat, single: typeof argnums === "number", outDef };
}

// deno-doc-ignore private-type-ref
/**
 * Jacobian by reverse mode: one VJP per output element, vectorised with
 * `vmap`. Best when outputs are fewer than inputs.
 *
 * @example
 * ```ts
 * import { jacrev, linear, randn } from "./mod.ts";
 * const [W, b, x] = [randn([4, 3]), randn([4]), randn([3])];
 * const J = jacrev((x) => linear(x, W, b).tanh())(x);   // [4, 3]
 * const [Jw, Jb] = jacrev((W, b) => linear(x, W, b).tanh(), { argnums: [0, 1] })(W, b);
 * ```
 */
export function jacrev<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & { hasAux: true } & SparseOut,
): <Args extends Parameters<F>>(
  ...args: Args
) => [SparseJacobianOf<F, A, true, Args>, AuxOf<F>];
/** `jacrev` with a sparse `format`: `SparseMatrix` blocks. */
export function jacrev<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & SparseOut,
): <Args extends Parameters<F>>(
  ...args: Args
) => SparseJacobianOf<F, A, false, Args>;
/** `jacrev` with `hasAux`: `[jacobian, aux]`. */
export function jacrev<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & { hasAux: true },
): <Args extends Parameters<F>>(
  ...args: Args
) => [JacobianOf<F, A, true, Args>, AuxOf<F>];
/** `jacrev(f, options)` without `hasAux`: the Jacobian alone. */
export function jacrev<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options?: JacobianOptions<A>,
): <Args extends Parameters<F>>(...args: Args) => JacobianOf<F, A, false, Args>;
export function jacrev(
  f: Fn,
  options: JacobianOptions<Argnums> = {},
): (...args: unknown[]) => unknown {
  return jacrevNamed("jacrev", f, options);
}

/** @internal `jacrev` whose errors name `what` (hessian is built from it). */
export function jacrevNamed(
  what: string,
  f: Fn,
  options: JacobianOptions<Argnums>,
): (...args: unknown[]) => Any {
  if (wantsSparse(options)) {
    return sparseJacobianNamed(what, f, options, "reverse");
  }
  return ((...args: unknown[]) =>
    withTemporaries(args, () => {
      const p = prepare(what, f, options, args);
      const r = linearizeFlat(what, (xs) => {
        const res = p.flat(xs);
        res[0].forEach((o, j) => checkRealOutput(what, o, `output ${j}`));
        return res;
      }, p.d.leaves);
      const [basis, offs] = bases(r.outs);
      const cts = vmapFlat(
        what,
        (b) => {
          return transposeProgram(r.program, b).map((c, i) =>
            instantiate(c, p.d.leaves[i])
          );
        },
        basis,
        basis.map(() => 0),
        basis[0].size,
        () => 0,
        options.chunkSize,
      );
      const jac = assemble(p.outDef(), r.outs.length, p.d, p.single, (j, i) => {
        const o = r.outs[j];
        return reshape(narrow(cts[i], 0, offs[j], sizeOf(o.shape)), [
          ...o.shape,
          ...p.d.leaves[i].shape,
        ]);
      });
      return options.hasAux ? [jac, r.extra] : jac;
    }));
}

// deno-doc-ignore private-type-ref
/**
 * Jacobian by forward mode: one JVP per input element, vectorised with
 * `vmap`. Best when inputs are fewer than outputs.
 *
 * @example
 * ```ts
 * import { jacfwd, randn } from "./mod.ts";
 * const W = randn([5, 2]);
 * const J = jacfwd((x) => W.matmul(x).sin())(randn([2])); // [5, 2]
 * ```
 */
export function jacfwd<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & { hasAux: true } & SparseOut,
): <Args extends Parameters<F>>(
  ...args: Args
) => [SparseJacobianOf<F, A, true, Args>, AuxOf<F>];
/** `jacfwd` with a sparse `format`: `SparseMatrix` blocks. */
export function jacfwd<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & SparseOut,
): <Args extends Parameters<F>>(
  ...args: Args
) => SparseJacobianOf<F, A, false, Args>;
/** `jacfwd` with `hasAux`: `[jacobian, aux]`. */
export function jacfwd<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & { hasAux: true },
): <Args extends Parameters<F>>(
  ...args: Args
) => [JacobianOf<F, A, true, Args>, AuxOf<F>];
/** `jacfwd(f, options)` without `hasAux`: the Jacobian alone. */
export function jacfwd<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options?: JacobianOptions<A>,
): <Args extends Parameters<F>>(...args: Args) => JacobianOf<F, A, false, Args>;
export function jacfwd(
  f: Fn,
  options: JacobianOptions<Argnums> = {},
): (...args: unknown[]) => unknown {
  return jacfwdNamed("jacfwd", f, options);
}

/** @internal `jacfwd` whose errors name `what`. */
export function jacfwdNamed(
  what: string,
  f: Fn,
  options: JacobianOptions<Argnums>,
): (...args: unknown[]) => Any {
  if (wantsSparse(options)) {
    return sparseJacobianNamed(what, f, options, "forward");
  }
  return ((...args: unknown[]) =>
    withTemporaries(args, () => {
      const p = prepare(what, f, options, args);
      const [basis, offs] = bases(p.d.leaves);
      let outs: Tensor[] = [], extra: unknown;
      const touts = vmapFlat(
        what,
        (ts) => {
          const r = jvpFlat(what, p.flat, p.d.leaves, ts);
          outs = r.outs;
          extra = r.extra;
          return r.tangents.map((t, j) => instantiate(t, r.outs[j]));
        },
        basis,
        basis.map(() => 0),
        basis[0].size,
        // Basis dim last: the Jacobian's layout is out.shape ++ in.shape.
        (_, rank) => rank,
        options.chunkSize,
        () => [outs, extra], // primal outputs and aux are read after the chunks
      );
      const jac = assemble(p.outDef(), outs.length, p.d, p.single, (j, i) => {
        const leaf = p.d.leaves[i], o = outs[j];
        const cols = narrow(touts[j], o.ndim, offs[i], sizeOf(leaf.shape));
        return reshape(cols, [...o.shape, ...leaf.shape]);
      });
      return options.hasAux ? [jac, extra] : jac;
    }));
}
