/**
 * Derives the polynomial coefficients of the erf/erfc kernels in
 * crates/kernels/src/special.rs and reports their error against a 256-bit
 * fixed-point reference. Run: deno run scripts/fit_erf.ts
 *
 * Three fits, each a Chebyshev interpolant (64 Chebyshev points of the
 * first kind) truncated where its coefficients fall to ~1e-16, rewritten as
 * a polynomial in the interval's own variable u in [-1, 1] (Horner):
 * - |x| <= 2: erf(x) = x · P(u), u = x²/2 - 1, P(t) = erf(√t)/√t;
 * - 1/2 < x <= 2: erfc(x) = exp(-x²) · Q(u), u = (4x - 5)/3, Q = erfc · exp(x²)
 *   (1 - erf(x) would lose up to 8 bits to cancellation there, 2e-14 at 2);
 * - |x| > 2: erfc(|x|) = exp(-x²)/|x| · R(u), u = 4/|x| - 1, where
 *   R = x · erfc(x) · exp(x²) as a function of 1/x in [0, 1/2] (it tends to
 *   1/√π as x grows; smooth, though not analytic, at 1/x = 0).
 * @module
 */

// ------------------------------------------------ 256-bit fixed point
const F = 256n;
const ONE = 1n << F;
const mul = (a: bigint, b: bigint) => (a * b) >> F;

/** A double, exactly, in fixed point. */
function fixed(x: number): bigint {
  if (x === 0) return 0n;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (biased !== 0) mant |= 1n << 52n;
  const shift = BigInt(biased === 0 ? -1074 : biased - 1075) + F;
  return sign * (shift >= 0n ? mant << shift : mant >> -shift);
}

/** Fixed point to the nearest double (to within an ulp). */
function toNumber(a: bigint): number {
  const neg = a < 0n;
  if (neg) a = -a;
  const shift = Math.max(0, a.toString(2).length - 64);
  const v = Number(a >> BigInt(shift)) * 2 ** (shift - Number(F));
  return neg ? -v : v;
}

function atanInv(n: bigint): bigint {
  let s = 0n, term = ONE / n, k = 0n;
  while (term !== 0n) {
    s += ((k % 2n === 0n ? 1n : -1n) * term) / (2n * k + 1n);
    term /= n * n;
    k++;
  }
  return s;
}
const PI = 16n * atanInv(5n) - 4n * atanInv(239n); // Machin
function sqrtFixed(a: bigint): bigint {
  const v = a * ONE;
  let x = BigInt(Math.floor(Math.sqrt(toNumber(a)) * 2 ** 40)) << (F - 40n);
  for (let i = 0; i < 300; i++) {
    const y = (x + v / x) >> 1n;
    if (y === x) break;
    x = y;
  }
  return x;
}
const TWO_OVER_SQRT_PI = (2n * ONE * ONE) / sqrtFixed(PI);

/** P(t) = erf(√t)/√t = 2/√π Σ (-1)^k t^k / (k! (2k+1)) for fixed-point t. */
function pFixed(t: bigint): bigint {
  let term = ONE, s = ONE;
  for (let k = 1n; term !== 0n; k++) {
    term = mul(term, t) / k;
    s += ((k % 2n ? -1n : 1n) * term) / (2n * k + 1n);
  }
  return mul(TWO_OVER_SQRT_PI, s);
}
function expFixed(x: bigint): bigint {
  let term = ONE, s = ONE;
  for (let k = 1n; term !== 0n; k++) {
    term = mul(term, x) / k;
    s += term;
  }
  return s;
}
/** x · erfc(x) · exp(x²) for x >= 6 by its continued fraction, backwards. */
function rByFraction(x: number): bigint {
  const X = fixed(x);
  let f = X;
  for (let k = 8000n; k >= 1n; k--) f = X + ((k * ONE * ONE) / 2n) / f;
  return (mul(X, (ONE * ONE) / f) * ONE) / sqrtFixed(PI);
}

/** erf(x) for a double x, in fixed point. */
function erfFixed(x: number): bigint {
  const X = fixed(x);
  return mul(X, pFixed(mul(X, X)));
}

// ------------------------------------------------ Chebyshev fits
/** cos of a fixed-point angle (Taylor series; |θ| <= 2π here). */
function cosFixed(theta: bigint): bigint {
  const t2 = mul(theta, theta);
  let term = ONE, s = ONE;
  for (let k = 1n; term !== 0n; k++) {
    term = -mul(term, t2) / ((2n * k - 1n) * (2n * k));
    s += term;
  }
  return s;
}

/**
 * Chebyshev coefficients of f on [-1, 1] (f ≈ Σ c_k T_k), in fixed point:
 * f at n Chebyshev points of the first kind, transformed exactly.
 */
function chebyshev(f: (u: number) => bigint, n = 64): bigint[] {
  const cosines = Array.from(
    { length: 4 * n },
    (_, m) => cosFixed((PI * BigInt(m)) / BigInt(2 * n)),
  );
  const fx = Array.from(
    { length: n },
    (_, j) => f(toNumber(cosines[2 * j + 1])),
  );
  return Array.from({ length: n }, (_, k) => {
    let s = 0n;
    for (let j = 0; j < n; j++) {
      s += mul(fx[j], cosines[(k * (2 * j + 1)) % (4 * n)]);
    }
    return ((k === 0 ? 1n : 2n) * s) / BigInt(n);
  });
}

/** Monomial coefficients (lowest first) of Σ_{k<=deg} c_k T_k(u), rounded once. */
function toMonomial(c: bigint[], deg: number): number[] {
  const out = new Array<bigint>(deg + 1).fill(0n);
  const T: bigint[][] = [[1n], [0n, 1n]];
  for (let k = 2; k <= deg; k++) {
    const next = new Array<bigint>(k + 1).fill(0n);
    T[k - 1].forEach((v, i) => (next[i + 1] += 2n * v));
    T[k - 2].forEach((v, i) => (next[i] -= v));
    T.push(next);
  }
  for (let k = 0; k <= deg; k++) T[k].forEach((v, i) => (out[i] += c[k] * v));
  return out.map(toNumber);
}

const cA = chebyshev((u) => pFixed(fixed(2 * (u + 1))));
const cB = chebyshev((u) => {
  const y = (u + 1) / 4;
  if (y === 0) return (ONE * ONE) / sqrtFixed(PI);
  const x = 1 / y;
  if (x >= 6) return rByFraction(x);
  const X = fixed(x);
  return mul(X, mul(ONE - erfFixed(x), expFixed(mul(X, X))));
});
const cC = chebyshev((u) => {
  const x = (3 * u + 5) / 4;
  const X = fixed(x);
  return mul(ONE - erfFixed(x), expFixed(mul(X, X)));
});
const DEG_A = 16, DEG_B = 20, DEG_C = 18;
const pA = toMonomial(cA, DEG_A), pB = toMonomial(cB, DEG_B);
const pC = toMonomial(cC, DEG_C);
console.log(
  `first dropped Chebyshev coefficients: ${
    toNumber(cA[DEG_A + 1]).toExponential(2)
  } (|x| <= 2), ${toNumber(cB[DEG_B + 1]).toExponential(2)} (|x| > 2), ${
    toNumber(cC[DEG_C + 1]).toExponential(2)
  } (erfc on (1/2, 2])`,
);
console.log(`const ERF_SMALL = [\n${pA.map((v) => `  ${v},`).join("\n")}\n];`);
console.log(`const ERFC_LARGE = [\n${pB.map((v) => `  ${v},`).join("\n")}\n];`);
console.log(`const ERFC_MID = [\n${pC.map((v) => `  ${v},`).join("\n")}\n];`);

// ------------------------------------------------ the model's error
const horner = (p: readonly number[], u: number) =>
  p.reduceRight((acc, a) => acc * u + a, 0);
/** erf and erfc of x >= 0 as the composition computes them in float64. */
function model(x: number): [number, number] {
  if (x <= 2) {
    const e = x * horner(pA, (x * x) / 2 - 1);
    if (x <= 0.5) return [e, 1 - e];
    return [e, Math.exp(-x * x) * horner(pC, (4 * x - 5) / 3)];
  }
  const r = horner(pB, 4 / x - 1);
  const c = (Math.exp(-x * x) * r) / x;
  return [1 - c, c];
}
let erfErr = 0, at = 0;
const erfcRel = [0, 0];
for (let i = 1; i <= 6000; i++) {
  const x = (6 * i) / 6000 + 1e-4 * Math.sin(i); // off-grid points in (0, 6]
  const e = erfFixed(x);
  const [me, mc] = model(x);
  const err = Math.abs(me - toNumber(e));
  if (err > erfErr) [erfErr, at] = [err, x];
  const k = x <= 2 ? 0 : 1;
  erfcRel[k] = Math.max(erfcRel[k], Math.abs(mc / toNumber(ONE - e) - 1));
}
// Beyond 6: the fitted R against the continued fraction (erfc's relative error).
let tailRel = 0;
for (let i = 0; i <= 200; i++) {
  const x = 6 + i * 0.5 + 0.01 * Math.sin(i);
  tailRel = Math.max(
    tailRel,
    Math.abs(horner(pB, 4 / x - 1) / toNumber(rByFraction(x)) - 1),
  );
}
console.log(
  `max |erf error| ${erfErr.toExponential(2)} (at ${at.toFixed(4)}); ` +
    `max relative erfc error ${erfcRel[0].toExponential(2)} on (0, 2], ${
      erfcRel[1].toExponential(2)
    } on (2, 6], ${tailRel.toExponential(2)} on [6, 106] (of R)`,
);
