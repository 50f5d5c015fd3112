/**
 * The eager autograd namespace (`autograd.grad`, `autograd.jacobian`,
 * `autograd.hessian`, `autograd.functional.*`), PyTorch style.
 * @module
 */
// `export *` rather than a list: `deno doc` lists a namespace's members
// only through star re-exports (a named re-export list shows nothing).
export * from "./api.ts";
/**
 * PyTorch's `torch.autograd.functional`: `jacobian`, `hessian`, `vjp`, `jvp`, `hvp`, `vhp` of a function at some inputs.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const H = autograd.functional.hessian((x) => x.pow(3).sum(), tensor([1, 2]));
 * ```
 */
export * as functional from "./functional.ts";
