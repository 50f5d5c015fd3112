/**
 * `grad` and `valueAndGrad`: reverse mode for scalar-valued functions.
 * @module
 */
import type { Fn } from "./args.ts";
import type { AuxOf } from "./jacobian.ts";
import { withTemporaries } from "../core/scope.ts";
import { linearizeFlat } from "../core/ad.ts";
import { transposeProgram } from "../core/interpret.ts";
import { instantiate } from "../ops/broadcast.ts";
import { scalar } from "../ops/scalar.ts";
import { fmtShape } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import {
  type Argnums,
  checkRealOutput,
  diffArgs,
  normArgnums,
  splitAux,
} from "./args.ts";

/**
 * Options of `grad` and `valueAndGrad`.
 *
 * @example
 * ```ts
 * import { grad, type Tensor, tensor } from "./mod.ts";
 * const f = (x: Tensor, y: Tensor) => x.mul(y).sum();
 * const [gx, gy] = grad(f, { argnums: [0, 1] })(tensor([1, 2]), tensor([3, 4]));
 * const aux = (x: Tensor) => [x.square().sum(), x.shape] as const;
 * const [g, shape] = grad(aux, { hasAux: true })(tensor([1, 2]));
 * ```
 */
export interface GradOptions<A extends Argnums = number> {
  /** Which argument(s) to differentiate; an array gives an array of gradients. Default 0. */
  argnums?: A;
  /** `f` returns `[output, aux]`; aux is returned alongside, undifferentiated. */
  hasAux?: boolean;
}

// deno-doc-ignore private-type-ref
/**
 * The gradient's type: the argument's type, or a tuple of them for an array of argnums.
 *
 * @example
 * ```ts
 * import { grad, type Tensor, tensor } from "./mod.ts";
 * const f = (x: Tensor, y: Tensor) => x.mul(y).sum();
 * const gs = grad(f, { argnums: [0, 1] as const })(tensor([1]), tensor([2]));
 * const gy: Tensor = gs[1]; // GradOf<typeof f, readonly [0, 1]> is a pair of tensors
 * ```
 */
export type GradOf<F extends Fn, A> = A extends readonly number[]
  ? { -readonly [K in keyof A]: Parameters<F>[A[K] & number] }
  : A extends number ? Parameters<F>[A]
  : Parameters<F>[0];

function gradImpl(
  what: string,
  f: Fn,
  argnums: Argnums,
  hasAux: boolean,
  args: unknown[],
) {
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${typeof f}`);
  }
  const nums = normArgnums(what, argnums, args.length);
  const d = diffArgs(what, args, nums);
  const r = linearizeFlat(what, (xs) => {
    const [out, aux] = splitAux(what, d.call(f, xs), hasAux);
    if (!(out instanceof Tensor) || out.size !== 1) {
      throw new TypeError(
        `${what}: the function must return a scalar tensor, got ${
          out instanceof Tensor ? `shape ${fmtShape(out.shape)}` : typeof out
        } (use vjp or jacrev for non-scalar outputs)`,
      );
    }
    checkRealOutput(what, out, "the output");
    return [[out], aux];
  }, d.leaves);
  const [out] = r.outs;
  const cts = transposeProgram(r.program, [
    scalar(1, out.dtype).reshape(out.shape),
  ]);
  const grads = d.rebuild(cts.map((c, i) => instantiate(c, d.leaves[i])));
  return {
    value: out,
    grad: typeof argnums === "number" ? grads[0] : grads,
    aux: r.extra,
  };
}

// deno-doc-ignore private-type-ref
/**
 * The gradient of a scalar-valued function with respect to argument
 * `argnums` (default 0), as a function of the same arguments. `f` must be
 * synchronous, return a float scalar, and not read the numbers of values
 * that depend on the argument (`item()`, `data()`): read `x.detach()` when
 * a constant is meant.
 *
 * @example
 * ```ts
 * import { grad, tensor } from "./mod.ts";
 * const f = (x) => x.sin().sum();
 * const g = grad(f)(tensor([0, 1, 2]));       // cos(x)
 * const gg = grad((x) => grad(f)(x).sum())(tensor([0, 1])); // -sin(x)
 * ```
 */
export function grad<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: GradOptions<A> & { hasAux: true },
): (...args: Parameters<F>) => [GradOf<F, A>, AuxOf<F>];
/**
 * `grad(f)` returning `[gradient, aux]` when `f` returns `[output, aux]` (`hasAux: true`).
 */
export function grad<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options?: GradOptions<A>,
): (...args: Parameters<F>) => GradOf<F, A>;
export function grad(
  f: Fn,
  options: GradOptions<Argnums> = {},
): (...args: unknown[]) => unknown {
  const { argnums = 0, hasAux = false } = options;
  return (...args: unknown[]) =>
    withTemporaries(args, () => {
      const r = gradImpl("grad", f, argnums, hasAux, args);
      return hasAux ? [r.grad, r.aux] : r.grad;
    });
}

// deno-doc-ignore private-type-ref
/**
 * Like `grad`, returning `[value, gradient]` (or `[[value, aux], gradient]`
 * with `hasAux`), from one evaluation.
 *
 * @example
 * ```ts
 * import { tensor, valueAndGrad } from "./mod.ts";
 * const [v, g] = valueAndGrad((x) => x.square().sum())(tensor([1, 2])); // 5, [2, 4]
 * ```
 */
export function valueAndGrad<F extends Fn, const A extends Argnums = 0>(
  f: F,
  options: GradOptions<A> = {},
): (...args: Parameters<F>) => [Tensor, GradOf<F, A>] {
  const { argnums = 0, hasAux = false } = options;
  return ((...args: unknown[]) =>
    withTemporaries(args, () => {
      const r = gradImpl("valueAndGrad", f, argnums, hasAux, args);
      return [hasAux ? [r.value, r.aux] : r.value, r.grad];
    })) as (...args: Parameters<F>) => [Tensor, GradOf<F, A>];
}
