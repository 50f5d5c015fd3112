/**
 * `autograd.functional`: PyTorch's `torch.autograd.functional` API, built on
 * the transforms. `inputs` is a tensor or an array of tensors; results
 * follow PyTorch's nesting (arrays when the inputs or outputs are arrays).
 * @module
 */
import { hessian as hessianT } from "../transforms/hessian.ts";
import { hvp as hvpT, vhp as vhpT } from "../transforms/hessian.ts";
import { jacfwd, jacrev } from "../transforms/jacobian.ts";
import { jvp as jvpT, vjp as vjpT } from "../transforms/vjp.ts";
import type { Tensor } from "../core/tensor.ts";
import type { MapTensors } from "../transforms/jacobian.ts";
import type { ProductOf } from "../transforms/hessian.ts";
import type { AutogradHessianOf, PerInput } from "./api.ts";

type Inputs = Tensor | readonly Tensor[];
type Fn = (...xs: Tensor[]) => unknown;

/** hvp/vhp give one tensor for one input, as the transforms do. */
type ProductOfInputs<I> = I extends Tensor ? Tensor
  : I extends readonly Tensor[] ? ProductOf<I>
  : never;

const list = (
  x: Inputs,
): Tensor[] => (Array.isArray(x) ? [...x] : [x as Tensor]);
const argnumsOf = (x: Inputs) => (Array.isArray(x) ? x.map((_, i) => i) : 0);

/**
 * Options of `autograd.functional.jacobian`.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const J = autograd.functional.jacobian((x) => x.sin(), tensor([0, 1]), {
 *   strategy: "forward-mode",
 *   vectorize: true,
 * });
 * ```
 */
export interface FunctionalJacobianOptions {
  /** Accepted for compatibility: jacobi always vectorises. */
  vectorize?: boolean;
  /** Reverse mode (default) or forward mode. */
  strategy?: "reverse-mode" | "forward-mode";
}

/**
 * Jacobian of `f` at `inputs` (as `torch.autograd.functional.jacobian`).
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const J = autograd.functional.jacobian((x) => x.exp(), tensor([0, 1]), { strategy: "forward-mode" });
 * ```
 */
export function jacobian<F extends Fn, const I extends Inputs>(
  f: F,
  inputs: I,
  options?: FunctionalJacobianOptions,
): MapTensors<ReturnType<F>, PerInput<I>>;
export function jacobian(
  f: Fn,
  inputs: Inputs,
  options: FunctionalJacobianOptions = {},
): unknown {
  const { strategy = "reverse-mode" } = options;
  if (strategy !== "reverse-mode" && strategy !== "forward-mode") {
    throw new TypeError(
      `autograd.functional.jacobian: strategy must be "reverse-mode" or "forward-mode", got ${strategy}`,
    );
  }
  const t = strategy === "forward-mode" ? jacfwd : jacrev;
  return t(f, { argnums: argnumsOf(inputs) })(...list(inputs));
}

/**
 * Hessian of a scalar `f` at `inputs` (as `torch.autograd.functional.hessian`).
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const H = autograd.functional.hessian((x) => x.pow(3).sum(), tensor([1, 2])); // diag(6x)
 * ```
 */
export function hessian<const I extends Inputs>(
  f: Fn,
  inputs: I,
): AutogradHessianOf<I>;
export function hessian(f: Fn, inputs: Inputs): unknown {
  return hessianT(f, { argnums: argnumsOf(inputs) })(...list(inputs));
}

/**
 * `[f(inputs), vᵀJ]` (as `torch.autograd.functional.vjp`).
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const [y, g] = autograd.functional.vjp((x) => x.square(), tensor([1, 2]), tensor([1, 1])); // g = 2x
 * ```
 */
export function vjp<F extends Fn, const I extends Inputs>(
  f: F,
  inputs: I,
  v: unknown,
): [ReturnType<F>, PerInput<I>];
export function vjp(f: Fn, inputs: Inputs, v: unknown): [unknown, unknown] {
  const [out, vjpFn] = vjpT(f, ...list(inputs));
  const g = (vjpFn as (ct: unknown) => Tensor[])(v);
  return [out, Array.isArray(inputs) ? g : g[0]];
}

/**
 * `[f(inputs), J v]` (as `torch.autograd.functional.jvp`).
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const [y, t] = autograd.functional.jvp((x) => x.exp(), tensor([0, 1]), tensor([1, 1])); // t = e^x
 * ```
 */
export function jvp<F extends Fn>(
  f: F,
  inputs: Inputs,
  v: Inputs,
): [ReturnType<F>, ReturnType<F>];
export function jvp(f: Fn, inputs: Inputs, v: Inputs): [unknown, unknown] {
  return jvpT(f, list(inputs) as never, list(v) as never) as [unknown, unknown];
}

/**
 * `[f(inputs), H v]` for a scalar `f` (as `torch.autograd.functional.hvp`).
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const [y, hv] = autograd.functional.hvp((x) => x.pow(3).sum(), tensor([1, 2]), tensor([1, 1])); // hv = 6x
 * ```
 */
export function hvp<F extends Fn, const I extends Inputs>(
  f: F,
  inputs: I,
  v: Inputs,
): [ReturnType<F>, ProductOfInputs<I>];
export function hvp(f: Fn, inputs: Inputs, v: Inputs): [unknown, unknown] {
  return [f(...list(inputs)), hvpT(f, list(inputs), list(v))];
}

/**
 * `[f(inputs), vᵀ H]` for a scalar `f` (as `torch.autograd.functional.vhp`).
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const [y, vh] = autograd.functional.vhp((x) => x.pow(3).sum(), tensor([1, 2]), tensor([1, 0])); // vh = [6, 0]
 * ```
 */
export function vhp<F extends Fn, const I extends Inputs>(
  f: F,
  inputs: I,
  v: Inputs,
): [ReturnType<F>, ProductOfInputs<I>];
export function vhp(f: Fn, inputs: Inputs, v: Inputs): [unknown, unknown] {
  return [f(...list(inputs)), vhpT(f, list(inputs), list(v))];
}
