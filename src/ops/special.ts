/**
 * The error function as a composition of primitives (accurate to about
 * 2e-16 absolute in float64), until an `erf` primitive with its own kernel
 * exists. It is differentiated like any composition, so its derivative is
 * the derivative of the approximation, which agrees with
 * 2/√π · exp(-x²) to about 1e-15 (tests/composites_test.ts checks both).
 *
 * Regions (coefficients and error report: `deno run scripts/fit_erf.ts`):
 * - |x| <= 2: erf(x) = x · P(x²/2 - 1), a degree-16 polynomial;
 * - 2 < |x| <= 5: erfc(|x|) = exp(-x²)/|x| · R((2/|x| - 0.7)/0.3), degree 12;
 * - |x| > 5: the same with R from 9 terms of the asymptotic series (relative
 *   error below 2e-8 of an erfc that is below 2e-12 there).
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
  reciprocal,
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
const ERFC_MID = [
  0.5345896477470605,
  -0.02199659561838639,
  -0.0023796908282111224,
  0.0006365082380525572,
  -0.00005547124597532498,
  -0.000005369481838007893,
  0.0000027690078266987284,
  -4.7495384037857e-7,
  2.0560582171786987e-8,
  1.3112965760799393e-8,
  -4.604458856011049e-9,
  6.808894095568105e-10,
  6.3518474756917165e-12,
];
/** (-1)^n (2n-1)!!: erfc(x) ~ exp(-x²)/(x√π) Σ_n (-1)^n (2n-1)!! / (2x²)^n. */
const ASYMPTOTIC = [1, -1, 3, -15, 105, -945, 10395, -135135, 2027025];
const SQRT_PI = Math.sqrt(Math.PI);

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
  const mid = le(ax, 5);
  const xm = where(mid, ax, 5);
  const rMid = horner(ERFC_MID, div(sub(div(2, xm), 0.7), 0.3));
  const xt = where(mid, 6, ax);
  const rTail = div(
    horner(ASYMPTOTIC, reciprocal(mul(square(xt), 2))),
    SQRT_PI,
  );
  return div(mul(exp(neg(square(ax))), where(mid, rMid, rTail)), ax);
}

/** erf(x) = 2/√π ∫₀ˣ exp(-t²) dt, elementwise (float32 or float64). */
export function erfComposite(x: Tensor): Tensor {
  const [small, e] = smallRegion(x);
  return where(small, e, mul(sign(x), sub(1, largeRegion(x, small))));
}

/**
 * erfc(x) = 1 - erf(x), elementwise, with relative accuracy for large x
 * (about 3e-14 up to x = 5, 2e-8 beyond, where erfc < 2e-12).
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
  const r = ax <= 5
    ? hornerNumber(ERFC_MID, (2 / ax - 0.7) / 0.3)
    : hornerNumber(ASYMPTOTIC, 1 / (2 * ax * ax)) / SQRT_PI;
  const c = (Math.exp(-x * x) * r) / ax;
  return x > 0 ? c : 2 - c;
}
