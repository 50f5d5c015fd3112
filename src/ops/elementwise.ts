/**
 * Elementwise operations with NumPy broadcasting.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { bind } from "../core/trace.ts";
import type { BinaryPrim, UnaryPrim } from "../core/primitives.ts";
import { Tensor } from "../core/tensor.ts";
import { floatOf } from "../core/dtypes.ts";
import { castTo, checkTensor, coerce, type TensorLike } from "./scalar.ts";

/** Unary ops with int32 kernels (bool operands compute in int32). */
const INT_UNARY = new Set<UnaryPrim>([
  "neg",
  "abs",
  "sign",
  "square",
  "relu",
  "floor",
  "ceil",
  "round",
  "trunc",
]);
/** Binary ops with int32 kernels (bool operands compute in int32). */
const INT_BINARY = new Set<BinaryPrim>([
  "add",
  "sub",
  "mul",
  "fmod",
  "remainder",
]);
/** Binary ops that take any dtype as it is (comparisons give bool). */
const ANY_BINARY = new Set<BinaryPrim>([
  "maximum",
  "minimum",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
]);

/**
 * `prim` on `x`, promoted: float-only ops compute int32 and bool in the
 * default float dtype (as PyTorch: `exp` of an int tensor is a float).
 */
export function unary(prim: UnaryPrim, x: Tensor): Tensor {
  checkTensor(prim, x);
  if (isFloat(x)) return bind(prim, [x], null);
  // An integer or bool operand is cast first: a temporary of the call.
  return eagerOp([x], () => {
    if (prim !== "isnan" && prim !== "isfinite") {
      if (INT_UNARY.has(prim)) {
        if (x.dtype === "bool") x = castTo(x, "int32");
      } else x = castTo(x, floatOf(x.dtype));
    }
    return bind(prim, [x], null);
  });
}

/** A float tensor, or a number (which becomes a cached scalar, no buffer). */
function isFloat(x: TensorLike): boolean {
  return !(x instanceof Tensor) || x.dtype === "float32" ||
    x.dtype === "float64";
}

/**
 * `prim` on `a` and `b` promoted to one dtype (see `coerce`); float-only
 * ops (true division, pow, atan2, ...) compute int32 and bool in the
 * default float dtype, and arithmetic computes bool in int32.
 */
export function binary(prim: BinaryPrim, a: TensorLike, b: TensorLike): Tensor {
  // The common case, two float tensors of one dtype, needs no promotion.
  if (
    a instanceof Tensor && b instanceof Tensor && a.dtype === b.dtype &&
    isFloat(a)
  ) return bind(prim, [a, b], null);
  const promoted = () => {
    let [x, y] = coerce(prim, a, b);
    if (!ANY_BINARY.has(prim)) {
      const d = INT_BINARY.has(prim)
        ? (x.dtype === "bool" ? "int32" : x.dtype)
        : floatOf(x.dtype);
      [x, y] = [castTo(x, d), castTo(y, d)];
    }
    return bind(prim, [x, y], null);
  };
  // A float tensor and a number need no cast; any other mix casts an
  // operand first, a temporary of the call.
  const casts = !isFloat(a) || !isFloat(b) ||
    (a instanceof Tensor && b instanceof Tensor);
  return casts ? eagerOp([a, b], promoted) : promoted();
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
 * Elementwise maximum of `a` and `b`, with broadcasting. NaN wins. The
 * gradient goes to the larger operand, half to each on a tie, and to
 * neither where one is NaN (as JAX).
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
 * Elementwise minimum of `a` and `b`, with broadcasting. NaN wins. The
 * gradient goes to the smaller operand, half to each on a tie, and to
 * neither where one is NaN (as JAX).
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
 * Elementwise `a == b` as bool, with broadcasting (operands promoted); no derivative.
 *
 * @example
 * ```ts
 * import { eq, tensor } from "./mod.ts";
 * const m = eq(tensor([1, 2, 3]), 2); // tensor([false, true, false])
 * ```
 */
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary("eq", a, b);
/**
 * Elementwise `a != b` as bool, with broadcasting (operands promoted); no derivative.
 *
 * @example
 * ```ts
 * import { ne, tensor } from "./mod.ts";
 * const m = ne(tensor([1, 2, 3]), 2); // tensor([true, false, true])
 * ```
 */
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary("ne", a, b);
/**
 * Elementwise `a < b` as bool, with broadcasting (operands promoted); no derivative.
 *
 * @example
 * ```ts
 * import { lt, tensor } from "./mod.ts";
 * const m = lt(tensor([1, 2, 3]), 2); // tensor([true, false, false])
 * ```
 */
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary("lt", a, b);
/**
 * Elementwise `a <= b` as bool, with broadcasting (operands promoted); no derivative.
 *
 * @example
 * ```ts
 * import { le, tensor } from "./mod.ts";
 * const m = le(tensor([1, 2, 3]), 2); // tensor([true, true, false])
 * ```
 */
export const le = (a: TensorLike, b: TensorLike): Tensor => binary("le", a, b);
/**
 * Elementwise `a > b` as bool, with broadcasting (operands promoted); no derivative.
 *
 * @example
 * ```ts
 * import { gt, tensor } from "./mod.ts";
 * const m = gt(tensor([1, 2, 3]), 2); // tensor([false, false, true])
 * ```
 */
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary("gt", a, b);
/**
 * Elementwise `a >= b` as bool, with broadcasting (operands promoted); no derivative.
 *
 * @example
 * ```ts
 * import { ge, tensor } from "./mod.ts";
 * const m = ge(tensor([1, 2, 3]), 2); // tensor([false, true, true])
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
 * Elementwise `exp(x) - 1`, accurate for `x` near 0 where `exp(x) - 1`
 * loses every digit of `x` (derivative `exp(x)`).
 *
 * @example
 * ```ts
 * import { expm1, tensor } from "./mod.ts";
 * const y = expm1(tensor([1e-10, 0, 1])); // [1e-10, 0, 1.71828]
 * ```
 */
export const expm1 = (x: Tensor): Tensor => unary("expm1", x);
/**
 * Elementwise base-2 logarithm (derivative `1 / (x ln 2)`; -inf at 0 and
 * NaN below, as `log`).
 *
 * @example
 * ```ts
 * import { log2, tensor } from "./mod.ts";
 * const y = log2(tensor([1, 8, 0.5])); // tensor([0., 3., -1.])
 * ```
 */
export const log2 = (x: Tensor): Tensor => unary("log2", x);
/**
 * Elementwise base-10 logarithm (derivative `1 / (x ln 10)`).
 *
 * @example
 * ```ts
 * import { log10, tensor } from "./mod.ts";
 * const y = log10(tensor([1, 1000, 0.01])); // tensor([0., 3., -2.])
 * ```
 */
export const log10 = (x: Tensor): Tensor => unary("log10", x);
/**
 * Elementwise `2 ** x` (derivative `2 ** x · ln 2`).
 *
 * @example
 * ```ts
 * import { exp2, tensor } from "./mod.ts";
 * const y = exp2(tensor([0, 3, -1])); // tensor([1., 8., 0.5])
 * ```
 */
export const exp2 = (x: Tensor): Tensor => unary("exp2", x);
/**
 * Elementwise inverse sine, in [-π/2, π/2]; NaN outside [-1, 1].
 * Derivative `1 / sqrt(1 - x²)`: +inf at ±1, as in JAX.
 *
 * @example
 * ```ts
 * import { asin, tensor } from "./mod.ts";
 * const y = asin(tensor([0, 1, -0.5])); // tensor([0., 1.5708, -0.5236])
 * ```
 */
export const asin = (x: Tensor): Tensor => unary("asin", x);
/**
 * Elementwise inverse cosine, in [0, π]; NaN outside [-1, 1].
 * Derivative `-1 / sqrt(1 - x²)`: -inf at ±1, as in JAX.
 *
 * @example
 * ```ts
 * import { acos, tensor } from "./mod.ts";
 * const y = acos(tensor([1, 0, -1])); // tensor([0., 1.5708, 3.1416])
 * ```
 */
export const acos = (x: Tensor): Tensor => unary("acos", x);
/**
 * Elementwise inverse tangent, in (-π/2, π/2) (derivative `1 / (1 + x²)`).
 *
 * @example
 * ```ts
 * import { atan, tensor } from "./mod.ts";
 * const y = atan(tensor([0, 1, -Infinity])); // tensor([0., 0.7854, -1.5708])
 * ```
 */
export const atan = (x: Tensor): Tensor => unary("atan", x);
/**
 * Elementwise hyperbolic sine (derivative `cosh(x)`).
 *
 * @example
 * ```ts
 * import { sinh, tensor } from "./mod.ts";
 * const y = sinh(tensor([0, 1])); // tensor([0., 1.1752])
 * ```
 */
export const sinh = (x: Tensor): Tensor => unary("sinh", x);
/**
 * Elementwise hyperbolic cosine (derivative `sinh(x)`).
 *
 * @example
 * ```ts
 * import { cosh, tensor } from "./mod.ts";
 * const y = cosh(tensor([0, 1])); // tensor([1., 1.5431])
 * ```
 */
export const cosh = (x: Tensor): Tensor => unary("cosh", x);
/**
 * Elementwise inverse hyperbolic sine (derivative `1 / sqrt(x² + 1)`).
 *
 * @example
 * ```ts
 * import { asinh, tensor } from "./mod.ts";
 * const y = asinh(tensor([0, 1])); // tensor([0., 0.8814])
 * ```
 */
export const asinh = (x: Tensor): Tensor => unary("asinh", x);
/**
 * Elementwise inverse hyperbolic cosine, for `x >= 1` (NaN below).
 * Derivative `1 / sqrt(x² - 1)`: +inf at 1, as in JAX.
 *
 * @example
 * ```ts
 * import { acosh, tensor } from "./mod.ts";
 * const y = acosh(tensor([1, 2])); // tensor([0., 1.3170])
 * ```
 */
export const acosh = (x: Tensor): Tensor => unary("acosh", x);
/**
 * Elementwise inverse hyperbolic tangent, ±inf at ±1 and NaN beyond.
 * Derivative `1 / (1 - x²)` (+inf at ±1, as in JAX).
 *
 * @example
 * ```ts
 * import { atanh, tensor } from "./mod.ts";
 * const y = atanh(tensor([0, 0.5, 1])); // tensor([0., 0.5493, inf])
 * ```
 */
export const atanh = (x: Tensor): Tensor => unary("atanh", x);
/**
 * Elementwise largest integer not greater than `x`. Its derivative is zero
 * everywhere (also at the integers, where it jumps), as in JAX and PyTorch.
 *
 * @example
 * ```ts
 * import { floor, tensor } from "./mod.ts";
 * const y = floor(tensor([1.5, -1.5, 2])); // tensor([1., -2., 2.])
 * ```
 */
export const floor = (x: Tensor): Tensor => unary("floor", x);
/**
 * Elementwise smallest integer not less than `x`. Its derivative is zero
 * everywhere (also at the jumps), as in JAX and PyTorch.
 *
 * @example
 * ```ts
 * import { ceil, tensor } from "./mod.ts";
 * const y = ceil(tensor([1.5, -1.5, 2])); // tensor([2., -1., 2.])
 * ```
 */
export const ceil = (x: Tensor): Tensor => unary("ceil", x);
/**
 * Elementwise nearest integer, halfway cases to the even one (as PyTorch
 * and JAX's `round`, unlike `Math.round`). Its derivative is zero
 * everywhere (also at the jumps), as in JAX and PyTorch.
 *
 * @example
 * ```ts
 * import { round, tensor } from "./mod.ts";
 * const y = round(tensor([0.5, 1.5, 2.5, -0.5, 2.7])); // tensor([0., 2., 2., -0., 3.])
 * ```
 */
export const round = (x: Tensor): Tensor => unary("round", x);
/**
 * Elementwise integer part: rounds toward zero. Its derivative is zero
 * everywhere (also at the jumps), as in JAX and PyTorch.
 *
 * @example
 * ```ts
 * import { trunc, tensor } from "./mod.ts";
 * const y = trunc(tensor([1.7, -1.7])); // tensor([1., -1.])
 * ```
 */
export const trunc = (x: Tensor): Tensor => unary("trunc", x);
/**
 * Elementwise error function `2/√π ∫₀ˣ exp(-t²) dt` (about 2e-16 absolute
 * error in float64; derivative `2/√π · exp(-x²)`).
 *
 * @example
 * ```ts
 * import { erf, tensor } from "./mod.ts";
 * const y = erf(tensor([0, 0.5, -Infinity])); // tensor([0., 0.5205, -1.])
 * ```
 */
export const erf = (x: Tensor): Tensor => unary("erf", x);
/**
 * Elementwise complementary error function `1 - erf(x)`, with relative
 * accuracy (about 4e-15) in the tail where `1 - erf(x)` rounds to 0
 * (derivative `-2/√π · exp(-x²)`).
 *
 * @example
 * ```ts
 * import { erfc, tensor } from "./mod.ts";
 * const y = erfc(tensor([0, 10], { dtype: "float64" })); // [1, 2.0885e-45]
 * ```
 */
export const erfc = (x: Tensor): Tensor => unary("erfc", x);
/**
 * Elementwise inverse of `erf`: ±inf at ±1, NaN outside [-1, 1].
 * Derivative `√π/2 · exp(erfinv(x)²)`, +inf at ±1 (as JAX).
 *
 * @example
 * ```ts
 * import { erfinv, tensor } from "./mod.ts";
 * const y = erfinv(tensor([0, 0.5, 1])); // tensor([0., 0.4769, inf])
 * ```
 */
export const erfinv = (x: Tensor): Tensor => unary("erfinv", x);
/**
 * Elementwise `ln|Γ(x)|`, +inf at the poles (0 and the negative integers),
 * as PyTorch and JAX. Derivative `digamma(x)` (NaN at the negative-integer
 * poles, -inf at +0).
 *
 * @example
 * ```ts
 * import { lgamma, tensor } from "./mod.ts";
 * const y = lgamma(tensor([1, 5, 0.5])); // tensor([0., 3.1781, 0.5724])
 * ```
 */
export const lgamma = (x: Tensor): Tensor => unary("lgamma", x);
/**
 * Elementwise digamma function `ψ(x) = Γ'(x)/Γ(x)`: -inf at +0 (+inf at -0)
 * and NaN at the negative integers, as PyTorch. Derivative
 * `polygamma(1, x)`, and every higher one through `polygamma`.
 *
 * @example
 * ```ts
 * import { digamma, tensor } from "./mod.ts";
 * const y = digamma(tensor([1, 0.5])); // tensor([-0.5772, -1.9635])
 * ```
 */
export const digamma = (x: Tensor): Tensor => unary("digamma", x);

/**
 * Elementwise `atan2(a, b)`: the angle of the point `(b, a)` in (-π, π],
 * with broadcasting, as `Math.atan2` (signed zeros pick the quadrant).
 * Derivatives `b / (a² + b²)` and `-a / (a² + b²)`: NaN at the origin, as
 * in JAX.
 *
 * @example
 * ```ts
 * import { atan2, tensor } from "./mod.ts";
 * const y = atan2(tensor([1, 1, -1]), tensor([1, -1, 0])); // tensor([0.7854, 2.3562, -1.5708])
 * ```
 */
export const atan2 = (a: TensorLike, b: TensorLike): Tensor =>
  binary("atan2", a, b);
/**
 * Elementwise C remainder `fmod(a, b) = a - b · trunc(a / b)`, computed
 * exactly: the result has the sign of the dividend `a` (as C and PyTorch's
 * `fmod`; see `remainder` for the divisor's sign). NaN for `b = 0`.
 * Derivatives `1` in `a` and `-trunc(a / b)` in `b` (as JAX's `rem`).
 *
 * @example
 * ```ts
 * import { fmod, tensor } from "./mod.ts";
 * const y = fmod(tensor([5, -5]), 3); // tensor([2., -2.])
 * ```
 */
export const fmod = (a: TensorLike, b: TensorLike): Tensor =>
  binary("fmod", a, b);
/**
 * Elementwise Python remainder `a - b · floor(a / b)`: the result has the
 * sign of the divisor `b` (as Python's `%` and PyTorch's `remainder`; see
 * `fmod` for the dividend's sign). NaN for `b = 0`. Derivatives `1` in `a`
 * and `-floor(a / b)` in `b`.
 *
 * @example
 * ```ts
 * import { remainder, tensor } from "./mod.ts";
 * const y = remainder(tensor([5, -5]), 3); // tensor([2., 1.])
 * ```
 */
export const remainder = (a: TensorLike, b: TensorLike): Tensor =>
  binary("remainder", a, b);
/**
 * Elementwise `floor(a / b)`, as PyTorch's `floor_divide` and Python's
 * `//`, with broadcasting and promotion. int32 operands give int32, exact
 * (with `remainder`, `a = b · floorDivide(a, b) + remainder(a, b)`); an
 * int32 division by zero throws, as PyTorch's. Floats give `floor(a / b)`
 * (±inf or NaN for `b = 0`). The derivative is zero.
 *
 * @example
 * ```ts
 * import { floorDivide, tensor } from "./mod.ts";
 * const q = floorDivide(tensor([7, -7], { dtype: "int32" }), 2); // tensor([ 3, -4], dtype=int32)
 * const f = floorDivide(tensor([7.5, -7.5]), 2); // tensor([ 3., -4.])
 * ```
 */
export function floorDivide(a: TensorLike, b: TensorLike): Tensor {
  return eagerOp([a, b], () => {
    let [x, y] = coerce("floorDivide", a, b);
    if (x.dtype === "bool") [x, y] = [castTo(x, "int32"), castTo(y, "int32")];
    if (x.dtype !== "int32") return floor(bind("div", [x, y], null));
    // a - remainder(a, b) is an exact multiple of b in float64 (int32
    // remainder throws on b = 0), so the quotient is exact too.
    const r = castTo(bind("remainder", [x, y], null), "float64");
    const num = bind("sub", [castTo(x, "float64"), r], null);
    return castTo(bind("div", [num, castTo(y, "float64")], null), "int32");
  });
}

/**
 * The polygamma function `ψ⁽ⁿ⁾(x)`, the n-th derivative of `digamma`, for an
 * integer order `n >= 0` (`n = 0` is `digamma`), as PyTorch's
 * `polygamma(n, x)`. At the poles (0 and the negative integers) it is +inf
 * for odd n and NaN for even n; negative `x` goes through the reflection
 * formula; orders above 1000 give NaN. Differentiable in `x` to any order
 * (the derivative is `polygamma(n + 1, x)`).
 *
 * @example
 * ```ts
 * import { polygamma, tensor } from "./mod.ts";
 * const y = polygamma(1, tensor([1, 0.5])); // tensor([1.6449, 4.9348]): π²/6, π²/2
 * ```
 */
export function polygamma(n: number, x: Tensor): Tensor {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `polygamma: n must be a non-negative integer, got ${n}`,
    );
  }
  // (binary scopes the cast of an integer x.)
  return binary("polygamma", n, checkTensor("polygamma", x));
}
/**
 * Elementwise test for NaN, as bool (false everywhere for int32 and bool).
 * Its derivative is zero.
 *
 * @example
 * ```ts
 * import { isnan, tensor } from "./mod.ts";
 * const y = isnan(tensor([1, NaN, Infinity])); // tensor([false, true, false])
 * ```
 */
export const isnan = (x: Tensor): Tensor => unary("isnan", x);
/**
 * Elementwise test for a finite value (neither ±inf nor NaN), as bool
 * (true everywhere for int32 and bool). Its derivative is zero.
 *
 * @example
 * ```ts
 * import { isfinite, tensor } from "./mod.ts";
 * const y = isfinite(tensor([1, NaN, -Infinity])); // tensor([true, false, false])
 * ```
 */
export const isfinite = (x: Tensor): Tensor => unary("isfinite", x);

/**
 * `cond ? a : b` elementwise, with broadcasting; `cond` is a bool mask (a
 * tensor of another dtype is read as nonzero for true), and `a` and `b` are
 * promoted to one dtype.
 *
 * @example
 * ```ts
 * import { tensor, where } from "./mod.ts";
 * const x = tensor([-2, 0, 3]);
 * const y = where(x.gt(0), x, 0); // tensor([0., 0., 3.]), as relu
 * ```
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return eagerOp([cond, a, b], () => {
    checkTensor("where (cond)", cond);
    const [ta, tb] = coerce("where", a, b);
    return bind("where", [castTo(cond, "bool"), ta, tb], null);
  });
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
