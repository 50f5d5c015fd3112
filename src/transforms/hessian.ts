/**
 * Second derivatives: `hessian` (forward-over-reverse Jacobian of the
 * gradient), and Hessian-vector products that never form the Hessian.
 * @module
 */
import type { Tree } from "../core/tree.ts";
import type { Argnums, Fn } from "./args.ts";
import { grad } from "./grad.ts";
import {
  type ArgsAt,
  type AuxOf,
  jacfwdNamed,
  type JacobianOptions,
  jacrevNamed,
  type MapTensors,
  type OutputOf,
  wantsSparse,
} from "./jacobian.ts";
import { jvp, vjp } from "./vjp.ts";
import { withTemporaries } from "../core/scope.ts";
import type { SparsityPattern } from "../core/sparsity.ts";
import {
  detectSparsity,
  sparseJacobianNamed,
  type SparsityOptions,
} from "./sparse.ts";
import type { SparseFormat, SparseMatrix } from "./sparse_matrix.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/**
 * The type `hessian(f, { argnums })` returns: the output's structure, then
 * the arguments' structure twice (a `Tensor` for one tensor argument and a
 * scalar or tensor output; `[[H00, H01], [H10, H11]]` for `argnums: [0, 1]`).
 * `Args` are the types of the call's arguments.
 *
 * @example
 * ```ts
 * import { hessian, type Tensor, tensor } from "./mod.ts";
 * const f = (x: Tensor, y: Tensor) => x.mul(y).sin().sum();
 * const [[Hxx, Hxy], [Hyx, Hyy]] = hessian(f, { argnums: [0, 1] })(tensor([1]), tensor([2]));
 * ```
 */
export type HessianOf<
  F extends Fn,
  A = 0,
  HasAux extends boolean = false,
  Args extends readonly unknown[] = Parameters<F>,
> = MapTensors<
  MapTensors<OutputOf<F, HasAux>, ArgsAt<Args, A>>,
  ArgsAt<Args, A>
>;

/**
 * The type `hessian` returns with `format: "coo" | "csr"`: the structure of
 * {@link HessianOf} with a `SparseMatrix` per block (for one tensor
 * argument and a scalar output, one `[n, n]` matrix).
 *
 * @example
 * ```ts
 * import { hessian, type SparseMatrix, tensor, type Tensor } from "./mod.ts";
 * const H: SparseMatrix = hessian((x: Tensor) => x.pow(3).sum(), { format: "coo" })(tensor([1, 2]));
 * ```
 */
export type SparseHessianOf<
  F extends Fn,
  A = 0,
  HasAux extends boolean = false,
  Args extends readonly unknown[] = Parameters<F>,
> = MapTensors<
  MapTensors<OutputOf<F, HasAux>, ArgsAt<Args, A>>,
  MapTensors<ArgsAt<Args, A>, SparseMatrix>
>;

/**
 * The result of `hvp` and `vhp`: the structure of the primals' gradient (the
 * one primal's type for one primal, a tuple for several).
 *
 * @example
 * ```ts
 * import { hvp, type Tensor, tensor } from "./mod.ts";
 * const f = (x: Tensor, y: Tensor) => x.mul(y).sin().sum();
 * const [hx, hy] = hvp(f, [tensor([1]), tensor([2])], [tensor([1]), tensor([0])]);
 * ```
 */
export type ProductOf<P extends readonly unknown[]> = P extends
  readonly [infer X] ? X
  : P extends readonly [unknown, ...unknown[]]
    ? { -readonly [K in keyof P]: P[K] }
  : P[number] | P[number][];

// deno-doc-ignore private-type-ref
/**
 * The Hessian, as `jacfwd(jacrev(f))`: shape `out.shape ++ in.shape ++ in.shape`.
 * With `hasAux`, `f` returns `[output, aux]` and the result is `[hessian, aux]`.
 *
 * @example
 * ```ts
 * import { hessian, tensor } from "./mod.ts";
 * const H = hessian((x) => x.pow(3).sum())(tensor([1, 2])); // diag(6x)
 * ```
 */
export function hessian<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & { hasAux: true; format: SparseFormat },
): <Args extends Parameters<F>>(
  ...args: Args
) => [SparseHessianOf<F, A, true, Args>, AuxOf<F>];
/** `hessian` with a sparse `format`: `SparseMatrix` blocks. */
export function hessian<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & { format: SparseFormat },
): <Args extends Parameters<F>>(
  ...args: Args
) => SparseHessianOf<F, A, false, Args>;
/** `hessian` with `hasAux`: `[hessian, aux]`. */
export function hessian<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: JacobianOptions<A> & { hasAux: true },
): <Args extends Parameters<F>>(
  ...args: Args
) => [HessianOf<F, A, true, Args>, AuxOf<F>];
/** `hessian(f, options)` without `hasAux`: the Hessian alone. */
export function hessian<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options?: JacobianOptions<A>,
): <Args extends Parameters<F>>(...args: Args) => HessianOf<F, A, false, Args>;
export function hessian(
  f: Fn,
  options: JacobianOptions<Argnums> = {},
): (...args: unknown[]) => unknown {
  const { argnums = 0, hasAux = false, chunkSize } = options;
  if (typeof f !== "function") {
    throw new TypeError(`hessian: expected a function, got ${typeof f}`);
  }
  // Both halves name hessian in their errors.
  const inner = jacrevNamed("hessian", f, { argnums, hasAux });
  if (wantsSparse(options)) {
    // Hessian-vector products (forward over reverse), one per colour of a
    // star colouring of the symmetric pattern.
    return sparseJacobianNamed(
      "hessian",
      inner,
      { ...options, argnums, hasAux },
      "hessian",
      (args) => detectSparsity("hessian", inner, { argnums, hasAux }, args),
    );
  }
  return jacfwdNamed("hessian", inner, { argnums, hasAux, chunkSize });
}

/**
 * Returns a function that, given example arguments, finds the sparsity
 * pattern of `f`'s Hessian: the Jacobian pattern of its gradient
 * (`jacobianSparsity` of `jacrev(f)`), traced on the arguments' shapes and
 * dtypes without computing anything. For a scalar `f` the pattern is
 * `[n, n]` over the differentiated arguments' elements and symmetric; pass
 * it to `hessian(f, { sparsity })` to reuse it.
 *
 * @example
 * ```ts
 * import { hessian, hessianSparsity, tensor, type Tensor } from "./mod.ts";
 * // Chained Rosenbrock: a tridiagonal Hessian.
 * const f = (x: Tensor) => {
 *   const a = x.slice(0, 0, -1), b = x.slice(0, 1);
 *   return b.sub(a.square()).square().mul(100).add(a.neg().add(1).square()).sum();
 * };
 * const x = tensor([-1.2, 1, -1.2, 1], { dtype: "float64" });
 * const sparsity = hessianSparsity(f)(x);
 * console.log(sparsity.toString());
 * // xx..
 * // xxx.
 * // .xxx
 * // ..xx
 * const H = hessian(f, { sparsity, format: "csr" })(x); // 3 Hessian-vector products
 * ```
 */
export function hessianSparsity<F extends Fn>(
  f: F,
  options: SparsityOptions = {},
): (...args: Parameters<F>) => SparsityPattern {
  if (typeof f !== "function") {
    throw new TypeError(
      `hessianSparsity: expected a function, got ${typeof f}`,
    );
  }
  const { argnums = 0, hasAux = false } = options;
  const inner = jacrevNamed("hessianSparsity", f, { argnums, hasAux });
  return ((...args: unknown[]) =>
    withTemporaries(args, () => {
      const p = detectSparsity(
        "hessianSparsity",
        inner,
        { argnums, hasAux },
        args,
      );
      return p.shape[0] === p.shape[1] ? p.symmetrize() : p;
    })) as (...args: Parameters<F>) => SparsityPattern;
}

/** All argument positions of a call with `n` arguments (one index when n is 1). */
const allArgs = (
  n: number,
) => (n === 1 ? 0 : Array.from({ length: n }, (_, i) => i));

// deno-doc-ignore private-type-ref
/**
 * Hessian-vector product of a scalar function, forward-over-reverse
 * (`jvp` of `grad`), without forming the Hessian. `primals` and `tangents`
 * are arrays with one entry per argument; the result has the structure of
 * the gradient (one tensor for one argument, an array for several).
 *
 * @example
 * ```ts
 * import { hvp, tensor } from "./mod.ts";
 * const x = tensor([0, 1, 2]), v = tensor([1, 1, 1]);
 * const hv = hvp((x) => x.sin().sum(), [x], [v]); // -sin(x) * v
 * ```
 */
export function hvp<F extends Fn, const P extends readonly Tree[]>(
  f: F,
  primals: P,
  tangents: readonly Tree[],
): ProductOf<P>;
export function hvp(
  f: Fn,
  primals: readonly Tree[],
  tangents: readonly Tree[],
): Any {
  const g = grad(f, { argnums: allArgs(primals.length) });
  return jvp(g as Fn, primals as never, tangents as never)[1];
}

// deno-doc-ignore private-type-ref
/**
 * Vector-Hessian product (`vjp` of `grad`): vᵀH, equal to Hv for smooth `f`.
 *
 * @example
 * ```ts
 * import { tensor, vhp } from "./mod.ts";
 * const vh = vhp((x) => x.sin().sum(), [tensor([0, 1])], [tensor([1, 1])]);
 * ```
 */
export function vhp<F extends Fn, const P extends readonly Tree[]>(
  f: F,
  primals: P,
  v: readonly Tree[],
): ProductOf<P>;
export function vhp(f: Fn, primals: readonly Tree[], v: readonly Tree[]): Any {
  const n = primals.length;
  const g = grad(f, { argnums: allArgs(n) });
  const [, vjpFn] = vjp(g as Fn, ...(primals as never[]));
  const cts = (vjpFn as (ct: unknown) => unknown[])(n === 1 ? v[0] : v);
  return n === 1 ? cts[0] : cts;
}
