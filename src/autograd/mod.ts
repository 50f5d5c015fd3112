/**
 * The eager autograd namespace (`autograd.grad`, `autograd.jacobian`,
 * `autograd.hessian`, `autograd.functional.*`), PyTorch style.
 * @module
 */
export { backward, grad, hessian, jacobian } from "./api.ts";
export type { AutogradOptions } from "./api.ts";
export * as functional from "./functional.ts";

import { autogradHooks } from "../tensor.ts";
import { backward } from "./api.ts";
import { isTracked, requiresGrad } from "./tracked.ts";

autogradHooks.requiresGrad = requiresGrad;
autogradHooks.backward = backward;
autogradHooks.leafGrad = (t) => (isTracked(t) ? t : null);
