/**
 * Elementwise operations with NumPy broadcasting.
 * @module
 */
import { bind } from "../core/trace.ts";
import type { BinaryPrim, UnaryPrim } from "../core/primitives.ts";
import type { Tensor } from "../tensor.ts";
import { checkTensor, coerce, type TensorLike } from "./scalar.ts";

export function unary(prim: UnaryPrim, x: Tensor): Tensor {
  return bind(prim, [checkTensor(prim, x)], null);
}

export function binary(prim: BinaryPrim, a: TensorLike, b: TensorLike): Tensor {
  return bind(prim, coerce(prim, a, b), null);
}

export const add = (a: TensorLike, b: TensorLike): Tensor =>
  binary("add", a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor =>
  binary("sub", a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor =>
  binary("mul", a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor =>
  binary("div", a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor =>
  binary("pow", a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor =>
  binary("maximum", a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor =>
  binary("minimum", a, b);
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary("eq", a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary("ne", a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary("lt", a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => binary("le", a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary("gt", a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary("ge", a, b);

export const neg = (x: Tensor): Tensor => unary("neg", x);
export const abs = (x: Tensor): Tensor => unary("abs", x);
export const exp = (x: Tensor): Tensor => unary("exp", x);
export const log = (x: Tensor): Tensor => unary("log", x);
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
export const sin = (x: Tensor): Tensor => unary("sin", x);
export const cos = (x: Tensor): Tensor => unary("cos", x);
export const tan = (x: Tensor): Tensor => unary("tan", x);
export const tanh = (x: Tensor): Tensor => unary("tanh", x);
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);
export const relu = (x: Tensor): Tensor => unary("relu", x);
export const square = (x: Tensor): Tensor => unary("square", x);
export const reciprocal = (x: Tensor): Tensor => unary("reciprocal", x);
export const sign = (x: Tensor): Tensor => unary("sign", x);

/** `cond ? a : b` elementwise, with broadcasting; `cond` is nonzero for true. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  checkTensor("where (cond)", cond);
  const [ta, tb] = coerce("where", a, b);
  return bind("where", [cond, ta, tb], null);
}

/** Identity with a zero derivative: the result is a constant to every transform. */
export function detach(x: Tensor): Tensor {
  return bind("stopGradient", [checkTensor("detach", x)], null);
}
