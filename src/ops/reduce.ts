/**
 * Reductions over one dim, several dims or all of them, with `keepdim`.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import type { ReducePrim } from "../core/primitives.ts";
import { bind } from "../core/trace.ts";
import { normAxes, normAxis, sizeOf } from "../core/shape.ts";
import type { Dims, Tensor } from "../core/tensor.ts";
import { reshape } from "./layout.ts";
import { div } from "./elementwise.ts";
import { castTo, checkTensor } from "./scalar.ts";
import { floatOf } from "../core/dtypes.ts";

export type { Dims };

function keep(x: Tensor, y: Tensor, axes: number[], keepdim: boolean): Tensor {
  if (!keepdim) return y;
  return reshape(y, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

export function reduce(
  prim: ReducePrim,
  x: Tensor,
  dim?: Dims,
  keepdim = false,
): Tensor {
  checkTensor(prim, x);
  const body = () => {
    // sum and prod of bool count in int32 (as PyTorch's, in int64 there).
    if (x.dtype === "bool" && (prim === "sum" || prim === "prod")) {
      x = castTo(x, "int32");
    }
    const axes = normAxes(dim, x.ndim);
    if (axes.length === 0) return x._alias();
    return keep(x, bind(prim, [x], { axes }), axes, keepdim);
  };
  // One primitive makes no temporary: only the cast of bool and keepdim's
  // reshape (a second holder of the reduced buffer) need the scope.
  return keepdim || x.dtype === "bool" ? eagerOp([x], body) : body();
}

/**
 * Sum over `dim` (all dims when omitted); `keepdim` keeps reduced dims as size 1.
 *
 * @example
 * ```ts
 * import { sum, tensor } from "./mod.ts";
 * const s = sum(tensor([[1, 2], [3, 4]]), 1); // tensor([3., 7.])
 * ```
 */
export const sum = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("sum", x, dim, keepdim);
/**
 * Product over `dim` (all dims when omitted); `keepdim` keeps reduced dims as size 1.
 *
 * @example
 * ```ts
 * import { prod, tensor } from "./mod.ts";
 * const p = prod(tensor([1, 2, 3, 4])); // tensor(24.)
 * ```
 */
export const prod = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("prod", x, dim, keepdim);
/**
 * Maximum over `dim` (all dims when omitted); the gradient goes to the maxima.
 *
 * @example
 * ```ts
 * import { max, tensor } from "./mod.ts";
 * const m = max(tensor([[1, 5], [3, 4]]), 0); // tensor([3., 5.])
 * ```
 */
export const max = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("max", x, dim, keepdim);
/**
 * Minimum over `dim` (all dims when omitted); the gradient goes to the minima.
 *
 * @example
 * ```ts
 * import { min, tensor } from "./mod.ts";
 * const m = min(tensor([[1, 5], [3, 4]]), 1); // tensor([1., 3.])
 * ```
 */
export const min = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("min", x, dim, keepdim);

/**
 * Mean over `dim` (all dims when omitted); `keepdim` keeps reduced dims as size 1.
 *
 * @example
 * ```ts
 * import { mean, tensor } from "./mod.ts";
 * const m = mean(tensor([[1, 2], [3, 4]]), 0, true); // tensor([[2., 3.]])
 * ```
 */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return eagerOp([x, dim, keepdim], () => {
    checkTensor("mean", x);
    // int32 and bool average in the default float dtype (their sum could wrap).
    x = castTo(x, floatOf(x.dtype));
    const axes = normAxes(dim, x.ndim);
    const n = sizeOf(axes.map((a) => x.shape[a]));
    return div(sum(x, axes, keepdim), n);
  });
}

/**
 * Index of the largest entry along `dim` (of the flattened tensor when omitted); int32.
 *
 * @example
 * ```ts
 * import { argmax, tensor } from "./mod.ts";
 * const i = argmax(tensor([[1, 5], [7, 2]]), 1); // int32 tensor([1, 0])
 * ```
 */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return eagerOp([x, dim, keepdim], () => argReduce("argmax", x, dim, keepdim));
}

/**
 * Index of the smallest entry along `dim` (of the flattened tensor when omitted); int32.
 *
 * @example
 * ```ts
 * import { argmin, tensor } from "./mod.ts";
 * const i = argmin(tensor([3, 1, 2])); // int32 tensor(1)
 * ```
 */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return eagerOp([x, dim, keepdim], () => argReduce("argmin", x, dim, keepdim));
}

function argReduce(
  prim: "argmax" | "argmin",
  x: Tensor,
  dim: number | undefined,
  keepdim: boolean,
): Tensor {
  checkTensor(prim, x);
  if (dim === undefined) {
    const y = bind(prim, [reshape(x, [-1])], { axis: 0 });
    return keepdim ? reshape(y, x.shape.map(() => 1)) : y;
  }
  const axis = normAxis(dim, x.ndim);
  return keep(x, bind(prim, [x], { axis }), [axis], keepdim);
}
