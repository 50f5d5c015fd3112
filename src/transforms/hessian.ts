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
} from "./jacobian.ts";
import { jvp, vjp } from "./vjp.ts";

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
  return jacfwdNamed("hessian", inner, { argnums, hasAux, chunkSize });
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
