/**
 * Reductions over one dim, several dims or all of them, with `keepdim`.
 * @module
 */
import type { ReducePrim } from "../core/primitives.ts";
import { bind } from "../core/trace.ts";
import { normAxes, normAxis, sizeOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { reshape } from "./layout.ts";
import { div } from "./elementwise.ts";
import { checkTensor } from "./scalar.ts";

/** Which dims to reduce: one, several, or all when omitted. */
export type Dims = number | readonly number[] | undefined;

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
  const axes = normAxes(dim, x.ndim);
  if (axes.length === 0) return x;
  return keep(x, bind(prim, [x], { axes }), axes, keepdim);
}

export const sum = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("sum", x, dim, keepdim);
export const prod = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("prod", x, dim, keepdim);
export const max = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("max", x, dim, keepdim);
export const min = (x: Tensor, dim?: Dims, keepdim = false): Tensor =>
  reduce("min", x, dim, keepdim);

export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor("mean", x);
  const axes = normAxes(dim, x.ndim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  return div(sum(x, axes, keepdim), n);
}

/** Index of the largest entry along `dim` (of the flattened tensor when omitted); int32. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce("argmax", x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce("argmin", x, dim, keepdim);
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
