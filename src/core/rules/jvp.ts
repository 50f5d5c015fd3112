/**
 * Forward-mode (JVP) rules: primal output and tangent output of each
 * primitive. `null` is a symbolic zero tangent, so constants cost nothing.
 * Rules are written with ordinary operations, which is what lets every
 * derivative be differentiated again. Reverse mode reuses these rules
 * (linearize + transpose), so there are no separate VJP rules to get wrong.
 * @module
 */
import * as E from "../lax.ts";
import { broadcastTo, instantiate, reshape } from "../lax.ts";
import type { Tensor } from "../tensor.ts";
import type { BinaryPrim, Prim, PrimParams, UnaryPrim } from "../primitives.ts";
import { bind } from "../trace.ts";
import { controlImpl } from "./control_hooks.ts";
import { convJvpRules } from "./conv.ts";

type T = Tensor | null;
export type JvpRule<Q> = (
  primals: Tensor[],
  tangents: T[],
  params: Q,
) => [Tensor, T];
type JvpTable = { [P in Prim]: JvpRule<PrimParams[P]> };

/** Unary op whose derivative is `coef(x, y)`: tangent = t * coef. */
function unaryJvp(
  prim: UnaryPrim,
  coef: (x: Tensor, y: Tensor) => Tensor | null,
): JvpRule<PrimParams[UnaryPrim]> {
  return ([x], [t]) => {
    const y = bind(prim, [x], null);
    if (t === null) return [y, null];
    const c = coef(x, y);
    return [y, c === null ? null : E.mul(t, c)];
  };
}

/** Applies the same (linear) primitive to the tangent. */
function linearJvp<P extends Prim>(prim: P): JvpRule<PrimParams[P]> {
  return (xs, ts, params) => {
    const y = bind(prim, xs, params);
    const t = ts[0];
    if (t === null) return [y, null];
    return [y, bind(prim, xs.length === 1 ? [t] : [t, ...xs.slice(1)], params)];
  };
}

function zeroJvp<P extends Prim>(prim: P): JvpRule<PrimParams[P]> {
  return (xs, _ts, params) => [bind(prim, xs, params), null];
}

/** Sum of tangent terms, any of which may be zero; broadcast to `shape`. */
function addTangents(shape: readonly number[], ...terms: T[]): T {
  let acc: T = null;
  for (const t of terms) if (t !== null) acc = acc === null ? t : E.add(acc, t);
  return acc === null ? null : broadcastTo(acc, shape);
}

function binary(prim: BinaryPrim, a: Tensor, b: Tensor): Tensor {
  return bind(prim, [a, b], null);
}

/**
 * The weight of `a`'s tangent in max/min(a, b): 1 where a wins, 0.5 on
 * ties, 0 where it loses; called both ways round, so that where either is
 * NaN (no comparison holds) neither operand gets a tangent, as in JAX.
 */
function winnerWeight(a: Tensor, b: Tensor, wins: "gt" | "lt"): Tensor {
  const won = E.asDtype(binary(wins, a, b), a.dtype);
  return E.add(won, E.mul(E.asDtype(binary("eq", a, b), a.dtype), 0.5));
}

function reduceWithKeep(x: Tensor, y: Tensor, axes: readonly number[]): Tensor {
  return reshape(y, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

/** max/min over axes: the tangent averages over the tied maxima. */
function extremumJvp(prim: "max" | "min"): JvpRule<PrimParams["max"]> {
  return ([x], [t], p) => {
    const y = bind(prim, [x], p);
    if (t === null) return [y, null];
    const mask = E.asDtype(E.eq(x, reduceWithKeep(x, y, p.axes)), x.dtype);
    const num = bind("sum", [E.mul(t, mask)], p);
    return [y, E.div(num, bind("sum", [mask], p))];
  };
}

/**
 * d/da a^b = b·a^(b-1), taken as 0 where a = b = 0 (there the formula is
 * 0·∞; a^0 is the constant 1), as JAX and PyTorch. There the base reads 1,
 * so that no higher derivative meets an infinity either.
 */
function powBaseCoef(a: Tensor, b: Tensor): Tensor {
  const coef = (a: Tensor) => E.mul(b, binary("pow", a, E.sub(b, 1)));
  // The common case, a constant nonzero exponent, needs no guard.
  if (b._storage !== null && b.size === 1 && b.data()[0] !== 0) return coef(a);
  const both = E.logicalAnd(E.eq(a, 0), E.eq(b, 0));
  return E.where(both, 0, coef(E.where(both, 1, a)));
}

/**
 * The tangent of prod over `axes`, Σᵢ tᵢ·Πⱼ≠ᵢ xⱼ, without dividing by x (so
 * it is exact where x has zeros, to every order, as in JAX): forward mode
 * through a balanced tree of pairwise products, (a·b)' = a'·b + a·b', over
 * the reduced elements moved last and flattened. Linear in `t`, and made of
 * primitives, so it transposes and differentiates again.
 */
function prodTangent(
  x: Tensor,
  t: Tensor,
  axes: readonly number[],
  shape: readonly number[],
): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const outer = kept.map((i) => x.shape[i]);
  let n = axes.reduce((k, i) => k * x.shape[i], 1);
  if (n === 0) return bind("sum", [t], { axes }); // zeros: prod of nothing is 1
  const flat = (v: Tensor) =>
    reshape(E.permute(v, [...kept, ...axes]), [...outer, n]);
  let p = flat(x), dp = flat(t);
  const last = outer.length;
  while (n > 1) {
    if (n % 2 === 1) {
      // Pad with a factor 1 (tangent 0) to an even length.
      const pad = (v: Tensor, fill: number) =>
        bind("cat", [v, E.full([...outer, 1], fill, v.dtype)], { axis: last });
      [p, dp, n] = [pad(p, 1), pad(dp, 0), n + 1];
    }
    n /= 2;
    const pairs = (v: Tensor) => {
      const r = reshape(v, [...outer, n, 2]);
      return [E.select(r, last + 1, 0), E.select(r, last + 1, 1)];
    };
    const [a, b] = pairs(p), [ta, tb] = pairs(dp);
    dp = E.add(E.mul(ta, b), E.mul(a, tb));
    p = E.mul(a, b);
  }
  return reshape(dp, shape);
}

/** n of a `[..., n, n]` operand. */
const order = (a: Tensor): number => a.shape[a.ndim - 1];

/**
 * The tangent of X = A⁻¹ B (`solve`, or `triangularSolve` with `mask`
 * keeping the triangle the primal reads): Ẋ = A⁻¹ (Ḃ − Ȧ X). It calls the
 * primitive itself, so it is differentiable again to any order.
 */
function solveTangent(
  x: Tensor,
  ta: T,
  tb: T,
  solveWith: (rhs: Tensor) => Tensor,
  mask: Tensor | null,
): T {
  const ax = ta && E.matmul(mask === null ? ta : E.mul(ta, mask), x);
  const rhs = addTangents(x.shape, tb, ax && E.neg(ax));
  return rhs && solveWith(rhs);
}

export const jvpRules: JvpTable = {
  neg: linearJvp("neg"),
  abs: unaryJvp("abs", (x) => E.sign(x)),
  exp: unaryJvp("exp", (_x, y) => y),
  log: unaryJvp("log", (x) => E.reciprocal(x)),
  sqrt: unaryJvp("sqrt", (_x, y) => E.div(0.5, y)),
  sin: unaryJvp("sin", (x) => E.cos(x)),
  cos: unaryJvp("cos", (x) => E.neg(E.sin(x))),
  tan: unaryJvp("tan", (_x, y) => E.add(E.square(y), 1)),
  tanh: unaryJvp("tanh", (_x, y) => E.sub(1, E.square(y))),
  sigmoid: unaryJvp("sigmoid", (_x, y) => E.mul(y, E.sub(1, y))),
  // t where x > 0, else 0: a select on the bool mask (one pass, where a
  // 1/0 float factor would need a cast and a multiply).
  relu: ([x], [t]) => {
    const y = bind("relu", [x], null);
    return [y, t === null ? null : E.where(E.gt(x, 0), t, 0)];
  },
  square: unaryJvp("square", (x) => E.mul(x, 2)),
  reciprocal: unaryJvp("reciprocal", (_x, y) => E.neg(E.square(y))),
  sign: unaryJvp("sign", () => null),
  log1p: unaryJvp("log1p", (x) => E.reciprocal(E.add(x, 1))),
  expm1: unaryJvp("expm1", (_x, y) => E.add(y, 1)),
  log2: unaryJvp("log2", (x) => E.reciprocal(E.mul(x, Math.LN2))),
  log10: unaryJvp("log10", (x) => E.reciprocal(E.mul(x, Math.LN10))),
  exp2: unaryJvp("exp2", (_x, y) => E.mul(y, Math.LN2)),
  asin: unaryJvp(
    "asin",
    (x) => E.reciprocal(E.sqrt(E.mul(E.sub(1, x), E.add(x, 1)))),
  ),
  acos: unaryJvp(
    "acos",
    (x) => E.neg(E.reciprocal(E.sqrt(E.mul(E.sub(1, x), E.add(x, 1))))),
  ),
  atan: unaryJvp("atan", (x) => E.reciprocal(E.add(E.square(x), 1))),
  sinh: unaryJvp("sinh", (x) => E.cosh(x)),
  cosh: unaryJvp("cosh", (x) => E.sinh(x)),
  asinh: unaryJvp("asinh", (x) => E.reciprocal(E.sqrt(E.add(E.square(x), 1)))),
  acosh: unaryJvp(
    "acosh",
    (x) => E.reciprocal(E.sqrt(E.mul(E.sub(x, 1), E.add(x, 1)))),
  ),
  atanh: unaryJvp(
    "atanh",
    (x) => E.reciprocal(E.mul(E.sub(1, x), E.add(x, 1))),
  ),
  floor: unaryJvp("floor", () => null),
  ceil: unaryJvp("ceil", () => null),
  round: unaryJvp("round", () => null),
  trunc: unaryJvp("trunc", () => null),
  erf: unaryJvp(
    "erf",
    (x) => E.mul(E.exp(E.neg(E.square(x))), 2 / Math.sqrt(Math.PI)),
  ),
  erfc: unaryJvp(
    "erfc",
    (x) => E.mul(E.exp(E.neg(E.square(x))), -2 / Math.sqrt(Math.PI)),
  ),
  erfinv: unaryJvp(
    "erfinv",
    (_x, y) => E.mul(E.exp(E.square(y)), Math.sqrt(Math.PI) / 2),
  ),
  lgamma: unaryJvp("lgamma", (x) => E.digamma(x)),
  digamma: unaryJvp("digamma", (x) => E.polygamma(1, x)),
  isnan: unaryJvp("isnan", () => null),
  isfinite: unaryJvp("isfinite", () => null),

  add: ([a, b], [ta, tb]) => {
    const y = binary("add", a, b);
    return [y, addTangents(y.shape, ta, tb)];
  },
  sub: ([a, b], [ta, tb]) => {
    const y = binary("sub", a, b);
    return [y, addTangents(y.shape, ta, tb && E.neg(tb))];
  },
  mul: ([a, b], [ta, tb]) => {
    const y = binary("mul", a, b);
    return [y, addTangents(y.shape, ta && E.mul(ta, b), tb && E.mul(a, tb))];
  },
  div: ([a, b], [ta, tb]) => {
    const y = binary("div", a, b);
    return [
      y,
      addTangents(
        y.shape,
        ta && E.div(ta, b),
        tb && E.mul(tb, E.neg(E.div(y, b))),
      ),
    ];
  },
  pow: ([a, b], [ta, tb]) => {
    const y = binary("pow", a, b);
    const da = ta && E.mul(ta, powBaseCoef(a, b));
    // d/db a^b = a^b log a, taken as 0 where a = 0 (as JAX and PyTorch);
    // log reads 1 there so that higher derivatives stay finite too.
    const zero = tb && E.eq(a, 0);
    const db = tb &&
      E.mul(tb, E.where(zero!, 0, E.mul(y, E.log(E.where(zero!, 1, a)))));
    return [y, addTangents(y.shape, da, db)];
  },
  maximum: ([a, b], [ta, tb]) => {
    const y = binary("maximum", a, b);
    return [
      y,
      addTangents(
        y.shape,
        ta && E.mul(ta, winnerWeight(a, b, "gt")),
        tb && E.mul(tb, winnerWeight(b, a, "gt")),
      ),
    ];
  },
  minimum: ([a, b], [ta, tb]) => {
    const y = binary("minimum", a, b);
    return [
      y,
      addTangents(
        y.shape,
        ta && E.mul(ta, winnerWeight(a, b, "lt")),
        tb && E.mul(tb, winnerWeight(b, a, "lt")),
      ),
    ];
  },
  eq: zeroJvp("eq"),
  ne: zeroJvp("ne"),
  lt: zeroJvp("lt"),
  le: zeroJvp("le"),
  gt: zeroJvp("gt"),
  ge: zeroJvp("ge"),
  // No derivative in the order n (an integer): its tangent is dropped.
  polygamma: ([n, x], [_tn, tx]) => {
    const y = binary("polygamma", n, x);
    const dx = tx && E.mul(tx, E.polygamma(E.add(n, 1), x));
    return [y, addTangents(y.shape, dx)];
  },
  // atan2(a, b) is the angle of (b, a): d = (b da - a db) / (a² + b²), NaN
  // at the origin as in JAX.
  atan2: ([a, b], [ta, tb]) => {
    const y = binary("atan2", a, b);
    const r2 = E.add(E.square(a), E.square(b));
    return [
      y,
      addTangents(
        y.shape,
        ta && E.mul(ta, E.div(b, r2)),
        tb && E.mul(tb, E.neg(E.div(a, r2))),
      ),
    ];
  },
  // a - b·q with q = trunc(a / b) (fmod) or floor(a / b) (remainder), q
  // piecewise constant: 1 in a, -q in b (as JAX's rem).
  fmod: ([a, b], [ta, tb]) => {
    const y = binary("fmod", a, b);
    const db = tb && E.mul(tb, E.neg(E.trunc(E.div(a, b))));
    return [y, addTangents(y.shape, ta, db)];
  },
  remainder: ([a, b], [ta, tb]) => {
    const y = binary("remainder", a, b);
    const db = tb && E.mul(tb, E.neg(E.floor(E.div(a, b))));
    return [y, addTangents(y.shape, ta, db)];
  },
  // a / hypot and b / hypot; 0 at the origin (a subgradient, as for norm).
  hypot: ([a, b], [ta, tb]) => {
    const y = binary("hypot", a, b);
    const safe = E.where(E.eq(y, 0), 1, y);
    return [
      y,
      addTangents(
        y.shape,
        ta && E.mul(ta, E.div(a, safe)),
        tb && E.mul(tb, E.div(b, safe)),
      ),
    ];
  },
  where: ([c, a, b], [, ta, tb]) => {
    const y = bind("where", [c, a, b], null);
    if (ta === null && tb === null) return [y, null];
    return [
      y,
      broadcastTo(E.where(c, instantiate(ta, a), instantiate(tb, b)), y.shape),
    ];
  },
  sum: linearJvp("sum"),
  prod: ([x], [t], p) => {
    const y = bind("prod", [x], p);
    return [y, t === null ? null : prodTangent(x, t, p.axes, y.shape)];
  },
  max: extremumJvp("max"),
  min: extremumJvp("min"),
  argmax: zeroJvp("argmax"),
  argmin: zeroJvp("argmin"),
  reshape: linearJvp("reshape"),
  permute: linearJvp("permute"),
  broadcastTo: linearJvp("broadcastTo"),
  slice: linearJvp("slice"),
  pad: linearJvp("pad"),
  cat: (xs, ts, p) => {
    const y = bind("cat", xs, p);
    if (ts.every((t) => t === null)) return [y, null];
    return [y, bind("cat", ts.map((t, i) => instantiate(t, xs[i])), p)];
  },
  indexSelect: linearJvp("indexSelect"),
  indexAdd: linearJvp("indexAdd"),
  cast: ([x], [t], p) => {
    const y = bind("cast", [x], p);
    // A cast to int32 or bool has a zero derivative.
    const float = p.dtype === "float32" || p.dtype === "float64";
    return [y, t === null || !float ? null : bind("cast", [t], p)];
  },
  matmul: ([a, b], [ta, tb], p) => {
    const y = bind("matmul", [a, b], p);
    const t1 = ta && bind("matmul", [ta, b], p);
    const t2 = tb && bind("matmul", [a, tb], p);
    return [y, t1 === null ? t2 : t2 === null ? t1 : E.add(t1, t2)];
  },
  stopGradient: zeroJvp("stopGradient"),
  // Samples and keys depend on integer keys only: no derivative.
  randomSample: zeroJvp("randomSample"),
  randomDerive: zeroJvp("randomDerive"),
  cholesky: ([a], [t]) => {
    const L = bind("cholesky", [a], null);
    if (t === null) return [L, null];
    // The primal factors the symmetric part, so the tangent is (Ȧ + Ȧᵀ)/2;
    // Φ takes the lower triangle with the diagonal halved.
    const n = order(a);
    const phi = E.triangleMask(n, 1, 0.5, 0, a.dtype);
    const sym = E.mul(E.add(t, E.mT(t)), 0.5);
    // L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ); L⁻¹ Ȧ L⁻ᵀ = L⁻¹ (L⁻¹ Ȧ)ᵀ as Ȧ is symmetric.
    const lower = { upper: false, unitriangular: false };
    const y = bind("triangularSolve", [L, sym], lower);
    const z = bind("triangularSolve", [L, E.mT(y)], lower);
    return [L, E.matmul(L, E.mul(z, phi))];
  },
  triangularSolve: ([a, b], [ta, tb], p) => {
    const x = bind("triangularSolve", [a, b], p);
    const n = order(a);
    const inside = p.unitriangular ? 0 : 1;
    const mask = ta &&
      E.triangleMask(
        n,
        p.upper ? 0 : 1,
        inside,
        p.upper ? 1 : 0,
        a.dtype,
      );
    const solveWith = (r: Tensor) => bind("triangularSolve", [a, r], p);
    return [x, solveTangent(x, ta, tb, solveWith, mask)];
  },
  solve: ([a, b], [ta, tb]) => {
    const x = bind("solve", [a, b], null);
    const solveWith = (r: Tensor) => bind("solve", [a, r], null);
    return [x, solveTangent(x, ta, tb, solveWith, null)];
  },
  qr: ([a], [t]) => {
    const y = bind("qr", [a], null);
    if (t === null) return [y, null];
    // A = QR: with X = Ȧ R⁻¹ and C = Qᵀ X = Ω + Ṙ R⁻¹ (Ω = QᵀQ̇ skew,
    // Ṙ R⁻¹ upper), Ω is C's strict lower triangle minus its transpose;
    // then Ṙ = (C − Ω) R and Q̇ = X + Q (Ω − C). R⁻¹ needs full rank.
    const r = a.ndim, m = a.shape[r - 2], n = a.shape[r - 1];
    const Q = E.narrow(y, r - 2, 0, m), R = E.narrow(y, r - 2, m, n);
    const lower = { upper: false, unitriangular: false };
    const X = E.mT(bind("triangularSolve", [E.mT(R), E.mT(t)], lower));
    const C = E.matmul(Q, X, true);
    const low = E.mul(C, E.triangleMask(n, 1, 0, 0, a.dtype));
    const omega = E.sub(low, E.mT(low));
    const dR = E.matmul(E.sub(C, omega), R);
    const dQ = E.add(X, E.matmul(Q, E.sub(omega, C)));
    return [y, bind("cat", [dQ, dR], { axis: r - 2 })];
  },
  lu: ([a], [t]) => {
    const y = bind("lu", [a], null);
    if (t === null) return [y, null];
    // P A = L U, P locally constant: with M = L⁻¹ P Ȧ U⁻¹ (strictly lower
    // L⁻¹L̇ plus upper U̇U⁻¹), L̇ = L tril(M, -1) and U̇ = triu(M) U; the
    // packed tangent is their sum, the permutation row's is zero.
    // U⁻¹ needs a nonsingular U: at a singular matrix this is inf/NaN.
    const n = order(a), r = a.ndim;
    const perm = E.select(E.narrow(y, r - 2, 0, 1), r - 2, 0);
    const LU = E.narrow(y, r - 2, 1, n);
    const Pt = E.matmul(E.permutationMatrix(perm), t);
    const unitLower = { upper: false, unitriangular: true };
    const Y = bind("triangularSolve", [LU, Pt], unitLower);
    const lowerU = { upper: false, unitriangular: false };
    const M = E.mT(bind("triangularSolve", [E.mT(LU), E.mT(Y)], lowerU));
    const strict = E.triangleMask(n, 1, 0, 0, a.dtype);
    const upper = E.triangleMask(n, 0, 1, 1, a.dtype);
    const L = E.add(E.mul(LU, strict), E.eye(n, a.dtype));
    const dL = E.matmul(L, E.mul(M, strict));
    const dU = E.matmul(E.mul(M, upper), E.mul(LU, upper));
    const zero = E.full([...a.shape.slice(0, -2), 1, n], 0, a.dtype);
    return [y, bind("cat", [zero, E.add(dL, dU)], { axis: r - 2 })];
  },
  eigh: ([a], [t]) => {
    const y = bind("eigh", [a], null);
    if (t === null) return [y, null];
    // A = V Λ Vᵀ: with P = Vᵀ Ȧ V (Ȧ symmetrized, as the primal), λ̇ =
    // diag(P) and V̇ = V (F ∘ P), F_ij = 1/(λ_j − λ_i) off the diagonal.
    // Where λ_i = λ_j exactly (i ≠ j) F_ij is taken as 0, so results stay
    // finite; they are then correct for functions that do not depend on
    // the choice of basis inside the repeated eigenspace (eigenvalues,
    // projectors onto the whole eigenspace), as JAX aims.
    const n = order(a), r = a.ndim;
    const lam = E.narrow(y, r - 2, 0, 1); // [..., 1, n]
    const V = E.narrow(y, r - 2, 1, n);
    const sym = E.mul(E.add(t, E.mT(t)), 0.5);
    const P = E.matmul(E.matmul(V, sym, true), V);
    const I = E.eye(n, a.dtype);
    const dlam = reshape(E.sum(E.mul(P, I), [r - 2]), lam.shape);
    const diff = E.sub(lam, E.mT(lam)); // [i, j] = λ_j − λ_i
    const same = E.eq(diff, 0);
    const F = E.where(same, 0, E.reciprocal(E.where(same, 1, diff)));
    const dV = E.matmul(V, E.mul(F, P));
    return [y, bind("cat", [dlam, dV], { axis: r - 2 })];
  },
  svd: ([a], [t]) => {
    const y = bind("svd", [a], null);
    if (t === null) return [y, null];
    // A = U S Vᵀ (m ≥ n, V square). With P = Uᵀ Ȧ V split into its
    // symmetric and skew parts Pₛ and Pₖ: Ṡ = diag(P), Uᵀ U̇ = Pₛ∘F₁ + Pₖ∘F₂
    // and Vᵀ V̇ = Pₛ∘F₁ − Pₖ∘F₂ with F₁_ij = 1/(s_j − s_i) and
    // F₂_ij = 1/(s_i + s_j); U̇ adds the part of Ȧ V S⁻¹ outside U's range.
    // Only F₁ is singular at a repeated singular value: there it is taken
    // as 0 (as eigh), F₂ as 0 where s_i + s_j = 0 and 1/s as 0 where s = 0,
    // so results stay finite, and exact for functions of the singular
    // values, of whole singular subspaces and of U Vᵀ.
    const r = a.ndim, m = a.shape[r - 2], n = a.shape[r - 1];
    const U = E.narrow(y, r - 2, 0, m);
    const s = E.narrow(y, r - 2, m, 1); // [..., 1, n]
    const Vt = E.narrow(y, r - 2, m + 1, n);
    const AV = E.matmul(t, Vt, false, true);
    const P = E.matmul(U, AV, true);
    const ds = reshape(E.sum(E.mul(P, E.eye(n, a.dtype)), [r - 2]), s.shape);
    const safeInverse = (d: Tensor) => {
      const zero = E.eq(d, 0);
      return E.where(zero, 0, E.reciprocal(E.where(zero, 1, d)));
    };
    const F1 = safeInverse(E.sub(s, E.mT(s))); // [i, j] = 1/(s_j − s_i)
    const F2 = safeInverse(E.add(s, E.mT(s)));
    const Pt = E.mT(P);
    const sym = E.mul(E.mul(E.add(P, Pt), 0.5), F1);
    const skew = E.mul(E.mul(E.sub(P, Pt), 0.5), F2);
    let dU = E.matmul(U, E.add(sym, skew));
    const dVt = E.matmul(E.sub(sym, skew), Vt, true); // (V (Pₛ∘F₁ − Pₖ∘F₂))ᵀ
    if (m > n) {
      dU = E.add(dU, E.mul(E.sub(AV, E.matmul(U, P)), safeInverse(s)));
    }
    return [y, bind("cat", [dU, ds, dVt], { axis: r - 2 })];
  },
  slogdet: ([a], [t]) => {
    const y = bind("slogdet", [a], null);
    if (t === null) return [y, null];
    // d log|det A| = tr(A⁻¹ Ȧ); the sign is piecewise constant.
    const n = order(a);
    const d = E.mul(bind("solve", [a, t], null), E.eye(n, a.dtype));
    const tr = E.sum(d, [a.ndim - 2, a.ndim - 1]);
    const batch = a.shape.slice(0, -2);
    const col = reshape(tr, [...batch, 1]);
    const zero = E.full([...batch, 1], 0, a.dtype);
    return [y, bind("cat", [zero, col], { axis: batch.length })];
  },
  custom: (primals, tangents, { op, index }) =>
    op.jvp(primals, tangents, index),
  scan: (xs, ts, p) => controlImpl("scan").jvp(xs, ts, p),
  cond: (xs, ts, p) => controlImpl("cond").jvp(xs, ts, p),
  while: (xs, ts, p) => controlImpl("while").jvp(xs, ts, p),
  ...convJvpRules,
};
