/**
 * Elementwise operations with NumPy broadcasting.
 * @module
 */
import { bind } from "../core/trace.ts";
import type { BinaryPrim, UnaryPrim } from "../core/primitives.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkTensor, coerce, type TensorLike } from "./scalar.ts";

export function unary(prim: UnaryPrim, x: Tensor): Tensor {
  return bind(prim, [checkTensor(prim, x)], null);
}

export function binary(prim: BinaryPrim, a: TensorLike, b: TensorLike): Tensor {
  return bind(prim, coerce(prim, a, b), null);
}

/**
 * Elementwise `a + b`, with broadcasting; numbers are scalars.
 *
 * @example
 * ```ts
 * import { add, tensor } from "./mod.ts";
 * const y = add(tensor([1, 2]), 3); // tensor([4., 5.])
 * ```
 */
export const add = (a: TensorLike, b: TensorLike): Tensor =>
  binary("add", a, b);
/**
 * Elementwise `a - b`, with broadcasting; numbers are scalars.
 *
 * @example
 * ```ts
 * import { sub, tensor } from "./mod.ts";
 * const y = sub(tensor([[1, 2], [3, 4]]), tensor([1, 1])); // rows minus [1, 1]
 * ```
 */
export const sub = (a: TensorLike, b: TensorLike): Tensor =>
  binary("sub", a, b);
/**
 * Elementwise `a * b`, with broadcasting; numbers are scalars.
 *
 * @example
 * ```ts
 * import { mul, tensor } from "./mod.ts";
 * const y = mul(tensor([1, 2, 3]), 2); // tensor([2., 4., 6.])
 * ```
 */
export const mul = (a: TensorLike, b: TensorLike): Tensor =>
  binary("mul", a, b);
/**
 * Elementwise `a / b`, with broadcasting; numbers are scalars.
 *
 * @example
 * ```ts
 * import { div, tensor } from "./mod.ts";
 * const y = div(1, tensor([2, 4])); // tensor([0.5, 0.25])
 * ```
 */
export const div = (a: TensorLike, b: TensorLike): Tensor =>
  binary("div", a, b);
/**
 * Elementwise `a ** b`, with broadcasting; numbers are scalars.
 *
 * @example
 * ```ts
 * import { pow, tensor } from "./mod.ts";
 * const y = pow(tensor([1, 2, 3]), 2); // tensor([1., 4., 9.])
 * ```
 */
export const pow = (a: TensorLike, b: TensorLike): Tensor =>
  binary("pow", a, b);
/**
 * Elementwise maximum of `a` and `b`, with broadcasting.
 *
 * @example
 * ```ts
 * import { maximum, tensor } from "./mod.ts";
 * const y = maximum(tensor([-1, 2]), 0); // tensor([0., 2.])
 * ```
 */
export const maximum = (a: TensorLike, b: TensorLike): Tensor =>
  binary("maximum", a, b);
/**
 * Elementwise minimum of `a` and `b`, with broadcasting.
 *
 * @example
 * ```ts
 * import { minimum, tensor } from "./mod.ts";
 * const y = minimum(tensor([-1, 2]), 0); // tensor([-1., 0.])
 * ```
 */
export const minimum = (a: TensorLike, b: TensorLike): Tensor =>
  binary("minimum", a, b);
/**
 * Elementwise `a == b` as 1/0 (in the inputs' dtype), with broadcasting; no derivative.
 *
 * @example
 * ```ts
 * import { eq, tensor } from "./mod.ts";
 * const m = eq(tensor([1, 2, 3]), 2); // tensor([0., 1., 0.])
 * ```
 */
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary("eq", a, b);
/**
 * Elementwise `a != b` as 1/0, with broadcasting; no derivative.
 *
 * @example
 * ```ts
 * import { ne, tensor } from "./mod.ts";
 * const m = ne(tensor([1, 2, 3]), 2); // tensor([1., 0., 1.])
 * ```
 */
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary("ne", a, b);
/**
 * Elementwise `a < b` as 1/0, with broadcasting; no derivative.
 *
 * @example
 * ```ts
 * import { lt, tensor } from "./mod.ts";
 * const m = lt(tensor([1, 2, 3]), 2); // tensor([1., 0., 0.])
 * ```
 */
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary("lt", a, b);
/**
 * Elementwise `a <= b` as 1/0, with broadcasting; no derivative.
 *
 * @example
 * ```ts
 * import { le, tensor } from "./mod.ts";
 * const m = le(tensor([1, 2, 3]), 2); // tensor([1., 1., 0.])
 * ```
 */
export const le = (a: TensorLike, b: TensorLike): Tensor => binary("le", a, b);
/**
 * Elementwise `a > b` as 1/0, with broadcasting; no derivative.
 *
 * @example
 * ```ts
 * import { gt, tensor } from "./mod.ts";
 * const m = gt(tensor([1, 2, 3]), 2); // tensor([0., 0., 1.])
 * ```
 */
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary("gt", a, b);
/**
 * Elementwise `a >= b` as 1/0, with broadcasting; no derivative.
 *
 * @example
 * ```ts
 * import { ge, tensor } from "./mod.ts";
 * const m = ge(tensor([1, 2, 3]), 2); // tensor([0., 1., 1.])
 * ```
 */
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary("ge", a, b);

/**
 * Elementwise `-x`.
 *
 * @example
 * ```ts
 * import { neg, tensor } from "./mod.ts";
 * const y = neg(tensor([1, -2])); // tensor([-1., 2.])
 * ```
 */
export const neg = (x: Tensor): Tensor => unary("neg", x);
/**
 * Elementwise `|x|` (derivative `sign(x)`).
 *
 * @example
 * ```ts
 * import { abs, tensor } from "./mod.ts";
 * const y = abs(tensor([-1, 2])); // tensor([1., 2.])
 * ```
 */
export const abs = (x: Tensor): Tensor => unary("abs", x);
/**
 * Elementwise `e^x`.
 *
 * @example
 * ```ts
 * import { exp, tensor } from "./mod.ts";
 * const y = exp(tensor([0, 1])); // tensor([1., 2.7183])
 * ```
 */
export const exp = (x: Tensor): Tensor => unary("exp", x);
/**
 * Elementwise natural logarithm.
 *
 * @example
 * ```ts
 * import { log, tensor } from "./mod.ts";
 * const y = log(tensor([1, Math.E])); // tensor([0., 1.])
 * ```
 */
export const log = (x: Tensor): Tensor => unary("log", x);
/**
 * Elementwise square root.
 *
 * @example
 * ```ts
 * import { sqrt, tensor } from "./mod.ts";
 * const y = sqrt(tensor([4, 9])); // tensor([2., 3.])
 * ```
 */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
/**
 * Elementwise sine.
 *
 * @example
 * ```ts
 * import { sin, tensor } from "./mod.ts";
 * const y = sin(tensor([0, Math.PI / 2])); // tensor([0., 1.])
 * ```
 */
export const sin = (x: Tensor): Tensor => unary("sin", x);
/**
 * Elementwise cosine.
 *
 * @example
 * ```ts
 * import { cos, tensor } from "./mod.ts";
 * const y = cos(tensor([0, Math.PI])); // tensor([1., -1.])
 * ```
 */
export const cos = (x: Tensor): Tensor => unary("cos", x);
/**
 * Elementwise tangent.
 *
 * @example
 * ```ts
 * import { tan, tensor } from "./mod.ts";
 * const y = tan(tensor([0, Math.PI / 4])); // tensor([0., 1.])
 * ```
 */
export const tan = (x: Tensor): Tensor => unary("tan", x);
/**
 * Elementwise hyperbolic tangent (derivative `1 - tanh²`).
 *
 * @example
 * ```ts
 * import { tanh, tensor } from "./mod.ts";
 * const y = tanh(tensor([0, 1])); // tensor([0., 0.7616])
 * ```
 */
export const tanh = (x: Tensor): Tensor => unary("tanh", x);
/**
 * Elementwise logistic function `1 / (1 + e^-x)`.
 *
 * @example
 * ```ts
 * import { sigmoid, tensor } from "./mod.ts";
 * const y = sigmoid(tensor([0])); // tensor([0.5])
 * ```
 */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);
/**
 * Elementwise `max(x, 0)`.
 *
 * @example
 * ```ts
 * import { relu, tensor } from "./mod.ts";
 * const y = relu(tensor([-1, 2])); // tensor([0., 2.])
 * ```
 */
export const relu = (x: Tensor): Tensor => unary("relu", x);
/**
 * Elementwise `x²`.
 *
 * @example
 * ```ts
 * import { square, tensor } from "./mod.ts";
 * const y = square(tensor([2, 3])); // tensor([4., 9.])
 * ```
 */
export const square = (x: Tensor): Tensor => unary("square", x);
/**
 * Elementwise `1 / x`.
 *
 * @example
 * ```ts
 * import { reciprocal, tensor } from "./mod.ts";
 * const y = reciprocal(tensor([2, 4])); // tensor([0.5, 0.25])
 * ```
 */
export const reciprocal = (x: Tensor): Tensor => unary("reciprocal", x);
/**
 * Elementwise sign: -1, 0 or 1 (zero derivative).
 *
 * @example
 * ```ts
 * import { sign, tensor } from "./mod.ts";
 * const y = sign(tensor([-3, 0, 2])); // tensor([-1., 0., 1.])
 * ```
 */
export const sign = (x: Tensor): Tensor => unary("sign", x);
/**
 * Elementwise `log(1 + x)`, accurate for `x` near 0 where `log(1 + x)`
 * loses every digit of `x` (derivative `1 / (1 + x)`).
 *
 * @example
 * ```ts
 * import { log1p, tensor } from "./mod.ts";
 * const y = log1p(tensor([1e-10, 0, 1], { dtype: "float64" })); // [1e-10, 0, 0.693...]
 * ```
 */
export const log1p = (x: Tensor): Tensor => unary("log1p", x);

/**
 * `cond ? a : b` elementwise, with broadcasting; `cond` is nonzero for true.
 *
 * @example
 * ```ts
 * import { tensor, where } from "./mod.ts";
 * const x = tensor([-2, 0, 3]);
 * const y = where(x.gt(0), x, 0); // tensor([0., 0., 3.]), as relu
 * ```
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  checkTensor("where (cond)", cond);
  const [ta, tb] = coerce("where", a, b);
  return bind("where", [cond, ta, tb], null);
}

/**
 * Identity with a zero derivative: the result is a constant to every transform.
 *
 * @example
 * ```ts
 * import { grad, type Tensor, tensor } from "./mod.ts";
 * const f = (x: Tensor) => x.mul(x.detach()).sum(); // x·c with c = x held constant
 * const g = grad(f)(tensor([1, 2])); // tensor([1., 2.]), not 2x
 * ```
 */
export function detach(x: Tensor): Tensor {
  return bind("stopGradient", [checkTensor("detach", x)], null);
}
