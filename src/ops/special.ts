/**
 * The error function as a composition of primitives (accurate to about
 * 2e-16 absolute in float64), until an `erf` primitive with its own kernel
 * exists. It is differentiated like any composition, so its derivative is
 * the derivative of the approximation, which agrees with
 * 2/√π · exp(-x²) to about 1e-15 (tests/composites_test.ts checks both).
 *
 * Regions (coefficients and error report: `deno run scripts/fit_erf.ts`):
 * - |x| <= 2: erf(x) = x · P(x²/2 - 1), a degree-16 polynomial;
 * - |x| > 2: erfc(|x|) = exp(-x²)/|x| · R(4/|x| - 1), R of degree 20 (a
 *   Chebyshev fit of x · erfc(x) · exp(x²) in 1/x over [0, 1/2]), so erfc
 *   keeps a relative error of about 4e-15 however small it gets.
 * Every branch sees only inputs of its own region (others are replaced by a
 * safe value first), so no branch yields inf or NaN that would leak into a
 * gradient through `where`.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import {
  abs,
  add,
  div,
  exp,
  gt,
  le,
  mul,
  neg,
  sign,
  square,
  sub,
  where,
} from "./elementwise.ts";

const ERF_SMALL = [
  0.674933236039655,
  -0.26111186093124494,
  0.11947913860985178,
  -0.048662777449176214,
  0.01712834457181963,
  -0.005234875835852323,
  0.0014050914236111698,
  -0.00033514353549709316,
  0.00007180100869300156,
  -0.000013946267053666451,
  0.0000024758012155616467,
  -4.045222744209529e-7,
  6.119721419285295e-8,
  -8.603777437637857e-9,
  1.1332247429547315e-9,
  -1.481419643529208e-10,
  1.7209346129541707e-11,
];
const ERFC_LARGE = [
  0.5479978305002454,
  -0.029861732979909107,
  -0.01048663686197948,
  0.0034298906729755543,
  -0.00010971184808526284,
  -0.0002663707491054337,
  0.00010036645225669765,
  -0.0000059751070395146805,
  -0.000010805496792081665,
  0.000005640658459106703,
  -9.725104084574171e-7,
  -4.5653518362102977e-7,
  4.1266584369885984e-7,
  -1.457329775657382e-7,
  3.4418312522866096e-9,
  3.309769698166163e-8,
  -2.1905559738793396e-8,
  2.422247554504642e-9,
  3.7239900870585497e-9,
  -1.2105366979089087e-9,
  -7.695818728871014e-11,
];

/** p[0] + p[1] u + ... by Horner's rule. */
function horner(p: readonly number[], u: Tensor): Tensor {
  let acc = add(mul(u, p[p.length - 1]), p[p.length - 2]);
  for (let k = p.length - 3; k >= 0; k--) acc = add(mul(acc, u), p[k]);
  return acc;
}

/** erf(x) on |x| <= 2 (x elsewhere replaced by 0), and the region's mask. */
function smallRegion(x: Tensor): [Tensor, Tensor] {
  const small = le(abs(x), 2);
  const xs = where(small, x, 0);
  return [small, mul(xs, horner(ERF_SMALL, sub(mul(square(xs), 0.5), 1)))];
}

/** erfc(|x|) for |x| > 2 (|x| elsewhere replaced by 3). */
function largeRegion(x: Tensor, small: Tensor): Tensor {
  const ax = where(small, 3, abs(x));
  const r = horner(ERFC_LARGE, sub(div(4, ax), 1));
  return div(mul(exp(neg(square(ax))), r), ax);
}

/** erf(x) = 2/√π ∫₀ˣ exp(-t²) dt, elementwise (float32 or float64). */
export function erfComposite(x: Tensor): Tensor {
  const [small, e] = smallRegion(x);
  return where(small, e, mul(sign(x), sub(1, largeRegion(x, small))));
}

/**
 * erfc(x) = 1 - erf(x), elementwise, with relative accuracy for large x
 * (about 4e-15 beyond x = 2; 3e-14 below, where it is 1 - erf).
 */
export function erfcComposite(x: Tensor): Tensor {
  const [small, e] = smallRegion(x);
  const c = largeRegion(x, small);
  return where(small, sub(1, e), where(gt(x, 0), c, sub(2, c)));
}

const hornerNumber = (p: readonly number[], u: number) =>
  p.reduceRight((acc, a) => acc * u + a, 0);

/** erfc of a number, by the same approximation as {@link erfcComposite}. */
export function erfcNumber(x: number): number {
  const ax = Math.abs(x);
  if (ax <= 2) return 1 - x * hornerNumber(ERF_SMALL, (x * x) / 2 - 1);
  const r = hornerNumber(ERFC_LARGE, 4 / ax - 1);
  const c = (Math.exp(-x * x) * r) / ax;
  return x > 0 ? c : 2 - c;
}
