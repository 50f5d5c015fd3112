/**
 * Helpers the derivative rules share: undoing a broadcast (summing a
 * cotangent back to an operand's shape) and materialising symbolic zeros.
 * @module
 */
import { bind } from "../core/trace.ts";
import type { Aval } from "../core/ir.ts";
import { type Shape, shapeEq } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { full } from "./creation.ts";
import { expand, reshape } from "./layout.ts";

/** Sums `x` over the dims along which `shape` was broadcast to `x.shape`. */
export function sumToShape(x: Tensor, shape: Shape): Tensor {
  if (shapeEq(x.shape, shape)) return x;
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  const y = axes.length ? bind("sum", [x], { axes }) : x;
  return reshape(y, shape);
}

/** `x` broadcast to `shape` when it is smaller. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  return shapeEq(x.shape, shape) ? x : expand(x, shape);
}

/** Zeros of an abstract value. */
export function zerosOf(aval: Aval): Tensor {
  return full(aval.shape, 0, { dtype: aval.dtype });
}

/** A tangent that may be symbolically zero (null), made concrete. */
export function instantiate(t: Tensor | null, aval: Aval): Tensor {
  return t ?? zerosOf(aval);
}
