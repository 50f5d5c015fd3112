/**
 * The special-function primitives (erf, erfc, erfinv, lgamma, digamma,
 * polygamma) against closed forms and identities in float64 and float32,
 * their derivatives by grad against the known formulas, and the argument
 * check of polygamma. The transform checks are the case table's.
 * @module
 */
import {
  digamma,
  erf,
  erfc,
  erfinv,
  grad,
  lgamma,
  polygamma,
  type Tensor,
  tensor,
} from "../mod.ts";
import { assertClose, assertSameBits, assertThrowsWith } from "./_helpers.ts";

const f64 = (xs: number[]) => tensor(xs, { dtype: "float64" });
const f32 = (xs: number[]) => tensor(xs, { dtype: "float32" });
const EULER = 0.5772156649015329;
const ZETA3 = 1.2020569031595942;

Deno.test("lgamma: log-factorials, Γ(1/2) = √π, reflection, poles", () => {
  const ns = [1, 2, 3, 5, 10, 20, 50, 171];
  let f = 0;
  const logFact: number[] = [];
  for (let n = 1, i = 0; i < ns.length; n++) {
    if (n === ns[i]) logFact.push(f), i++;
    f += Math.log(n);
  }
  assertClose(lgamma(f64(ns)), logFact, { rtol: 4e-15, atol: 4e-15 });
  // Γ(1/2) = √π, Γ(-1/2) = -2√π, Γ(-3/2) = 4√π/3.
  const sp = Math.log(Math.sqrt(Math.PI));
  assertClose(lgamma(f64([0.5, -0.5, -1.5])), [
    sp,
    Math.log(2) + sp,
    Math.log(4 / 3) + sp,
  ], { atol: 4e-15, rtol: 0 });
  assertClose(lgamma(f64([0, -1, -7, Infinity])), [
    Infinity,
    Infinity,
    Infinity,
    Infinity,
  ]);
  assertClose(lgamma(f32([1, 5, 0.5])), [0, Math.log(24), sp], {
    atol: 4e-7,
    rtol: 2e-7,
  });
});

Deno.test("lgamma: exactly 0 at 1 and 2, and accurate relative to its value near them", () => {
  assertSameBits(lgamma(f64([1, 2])), f64([0, 0]), "lgamma float64");
  assertSameBits(lgamma(f32([1, 2])), f32([0, 0]), "lgamma float32");
  // ln|Γ(x)| at these doubles, from 50-digit arithmetic: near the zeros the
  // value is about 0.58·(1 - x) or 0.42·(x - 2), so an absolute error of
  // 1e-15 would be a relative one of 1e-8.
  const cases: [number, number][] = [
    [0.9999999, 5.772157468444193e-08],
    [1.0000001, -5.772155829918507e-08],
    [1.9999999, -4.2278430309861296e-08],
    [2.0000001, 4.227843666532498e-08],
    [0.999, 0.0005780385328913802],
    [1.001, -0.0005763935982833062],
    [1.25, -0.09827183642181316],
    [2.5, 0.2846828704729192],
    [7.25, 7.0521854507385395],
  ];
  assertClose(lgamma(f64(cases.map((c) => c[0]))), cases.map((c) => c[1]), {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("digamma keeps its relative accuracy near its positive root", () => {
  // ψ at these doubles, from 50-digit arithmetic; the first is the double
  // nearest the root 1.4616321449683623…
  const cases: [number, number][] = [
    [1.4616321449683622, -9.241265521729427e-17],
    [1.46163214, -4.807746276832806e-09],
    [1.4616322, 5.325258698206045e-08],
    [1.3, -0.16919088886679962],
    [1.6, 0.12604745277347632],
  ];
  assertClose(digamma(f64(cases.map((c) => c[0]))), cases.map((c) => c[1]), {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("digamma and polygamma: constants, the recurrence, negative arguments", () => {
  const ln2 = Math.log(2);
  assertClose(digamma(f64([1, 0.5, 2, -0.5])), [
    -EULER,
    -EULER - 2 * ln2,
    1 - EULER,
    2 - EULER - 2 * ln2,
  ], { atol: 1e-14, rtol: 0 });
  const d = digamma(f64([0, -0, -3])).toArray() as number[];
  if (d[0] !== -Infinity || d[1] !== Infinity || !Number.isNaN(d[2])) {
    throw new Error(`digamma at the poles: ${d}`);
  }
  const pi2 = Math.PI ** 2;
  assertClose(polygamma(1, f64([1, 0.5, -0.5])), [
    pi2 / 6,
    pi2 / 2,
    pi2 / 2 + 4,
  ], {
    rtol: 1e-14,
    atol: 0,
  });
  assertClose(polygamma(2, f64([1])), [-2 * ZETA3], { rtol: 1e-14, atol: 0 });
  assertClose(polygamma(3, f64([1])), [Math.PI ** 4 / 15], { rtol: 1e-14 });
  // ψ⁽ⁿ⁾(x + 1) = ψ⁽ⁿ⁾(x) + (-1)ⁿ n! / x^(n+1).
  const xs = [0.3, 1.7, 4.2, 11.5, -2.5];
  for (const [n, fact] of [[0, 1], [1, 1], [2, 2], [4, 24]]) {
    const lhs = polygamma(n, f64(xs.map((x) => x + 1)));
    const rhs = (polygamma(n, f64(xs)).toArray() as number[]).map((v, i) =>
      v + (-1) ** n * fact / xs[i] ** (n + 1)
    );
    assertClose(lhs, rhs, { rtol: 1e-13, atol: 1e-13 }, `order ${n}`);
  }
  assertClose(polygamma(0, f64([3])), digamma(f64([3])), { rtol: 0, atol: 0 });
  assertClose(digamma(f32([1])), [-EULER], { rtol: 2e-7 });
  assertThrowsWith(
    () => polygamma(1.5, f64([1])),
    RangeError,
    "polygamma",
    "1.5",
  );
  assertThrowsWith(() => polygamma(-1, f64([1])), RangeError, "non-negative");
});

Deno.test("erfc keeps its relative accuracy between 1/2 and 2 (no 1 - erf cancellation)", () => {
  // erfc at these doubles, from 50-digit arithmetic.
  const cases: [number, number][] = [
    [0.75, 0.28884436634648486],
    [1.3, 0.06599205505934755],
    [1.9999, 0.004679802092970608],
    [2, 0.004677734981047266],
    [-1.5, 1.9661051464753108],
  ];
  assertClose(erfc(f64(cases.map((c) => c[0]))), cases.map((c) => c[1]), {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("erfinv inverts erf and erfc; ±1, outside [-1, 1]", () => {
  const xs = [-3, -1, -0.2, 1e-8, 0.5, 2, 4];
  const y = erf(f64(xs));
  // Limited by the rounding of y: dx ≈ ulp(y) / erf'(x).
  const tol = xs.map((x) =>
    3e-16 / (2 / Math.sqrt(Math.PI) * Math.exp(-x * x))
  );
  const back = erfinv(y).toArray() as number[];
  back.forEach((v, i) => {
    if (!(Math.abs(v - xs[i]) <= tol[i] + 1e-15 * Math.abs(xs[i]))) {
      throw new Error(`erfinv(erf(${xs[i]})) = ${v}`);
    }
  });
  // Near 1, from the exact 1 - y: erfc(erfinv(1 - c)) = c.
  const c = [1e-3, 1e-8, 1e-15];
  assertClose(
    erfc(erfinv(f64(c.map((v) => 1 - v)))),
    c.map((v) => 1 - (1 - v)),
    {
      rtol: 1e-12,
      atol: 0,
    },
  );
  const e = erfinv(f64([1, -1, 1.5, NaN, 0])).toArray() as number[];
  if (
    e[0] !== Infinity || e[1] !== -Infinity || !Number.isNaN(e[2]) ||
    !Number.isNaN(e[3]) || e[4] !== 0
  ) throw new Error(`erfinv special values: ${e}`);
  assertClose(erfinv(f32([0.5])), [0.4769362762044699], { rtol: 2e-7 });
});

Deno.test("derivatives by grad: erf, erfc, erfinv, lgamma, digamma, polygamma", () => {
  const xs = [0.4, 1.3, 2.6];
  const d = (f: (x: Tensor) => Tensor, x: number[]) =>
    grad((t: Tensor) => f(t).sum())(f64(x));
  const g = xs.map((x) => 2 / Math.sqrt(Math.PI) * Math.exp(-x * x));
  assertClose(d(erf, xs), g, { rtol: 1e-14, atol: 0 });
  assertClose(d(erfc, xs), g.map((v) => -v), { rtol: 1e-14, atol: 0 });
  const ys = [-0.7, 0.1, 0.9];
  const inv = erfinv(f64(ys)).toArray() as number[];
  assertClose(
    d(erfinv, ys),
    inv.map((v) => Math.sqrt(Math.PI) / 2 * Math.exp(v * v)),
    { rtol: 1e-14, atol: 0 },
  );
  assertClose(d(lgamma, [1, 0.5]), [-EULER, -EULER - 2 * Math.log(2)], {
    atol: 1e-14,
    rtol: 0,
  });
  assertClose(d(digamma, [1]), [Math.PI ** 2 / 6], { rtol: 1e-14, atol: 0 });
  // Second derivative of digamma: polygamma(2, x).
  const d2 = grad((t: Tensor) =>
    grad((u: Tensor) => digamma(u).sum())(t).sum()
  );
  assertClose(d2(f64([1])), [-2 * ZETA3], { rtol: 1e-14, atol: 0 });
});
