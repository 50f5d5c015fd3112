/**
 * Second derivatives: `hessian` (forward-over-reverse Jacobian of the
 * gradient), and Hessian-vector products that never form the Hessian.
 * @module
 */
import type { Tree } from "../core/tree.ts";
import type { Fn } from "./args.ts";
import { grad } from "./grad.ts";
import { jacfwdNamed, type JacobianOptions, jacrevNamed } from "./jacobian.ts";
import { jvp, vjp } from "./vjp.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

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
export function hessian<F extends Fn>(
  f: F,
  options: JacobianOptions = {},
): (...args: Parameters<F>) => Any {
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
export function vhp(f: Fn, primals: readonly Tree[], v: readonly Tree[]): Any {
  const n = primals.length;
  const g = grad(f, { argnums: allArgs(n) });
  const [, vjpFn] = vjp(g as Fn, ...(primals as never[]));
  const cts = (vjpFn as (ct: unknown) => unknown[])(n === 1 ? v[0] : v);
  return n === 1 ? cts[0] : cts;
}
