/**
 * erfc of a plain number (the random module's normal CDF), by the Chebyshev
 * fits that the `erf`/`erfc` kernels use (crates/kernels/src/special.rs;
 * coefficients and error report: `deno run scripts/fit_erf.ts`):
 * - |x| <= 2: erf(x) = x · P(x²/2 - 1), a degree-16 polynomial;
 * - |x| > 2: erfc(|x|) = exp(-x²)/|x| · R(4/|x| - 1), R of degree 20 (a
 *   Chebyshev fit of x · erfc(x) · exp(x²) in 1/x over [0, 1/2]).
 * @module
 */

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

const hornerNumber = (p: readonly number[], u: number) =>
  p.reduceRight((acc, a) => acc * u + a, 0);

/** erfc of a number (about 4e-15 relative error beyond 2, 3e-14 below). */
export function erfcNumber(x: number): number {
  const ax = Math.abs(x);
  if (ax <= 2) return 1 - x * hornerNumber(ERF_SMALL, (x * x) / 2 - 1);
  const r = hornerNumber(ERFC_LARGE, 4 / ax - 1);
  const c = (Math.exp(-x * x) * r) / ax;
  return x > 0 ? c : 2 - c;
}
