/**
 * linalg, second part: the SVD (U diag(S) Vh = A, orthonormal factors,
 * closed forms, derivatives at repeated singular values), pinv, lstsq,
 * matrix and vector norms, matrixPower, matrixExp, cross, multiDot and QR
 * of wide matrices and in the complete mode; identities on inputs with
 * condition numbers up to 1e8 in float64, and errors. The case tables
 * (primitives_cases.ts, composites_cases.ts) run every op through jvp,
 * vjp, second order, vmap and jit against float64 finite differences.
 * @module
 */
import assert from "node:assert/strict";
import {
  cat,
  eye,
  grad,
  hessian,
  jit,
  jvp,
  linalg,
  makeProgram,
  matmul,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";
import { assertClose, assertThrowsWith, randnT, Rng } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;
const mT = (x: Tensor) => x.transpose(-2, -1);
const maxAbs = (x: Tensor) => Math.max(...Array.from(x.data(), Math.abs));

/** A random orthogonal n×n matrix: product of Householder reflections. */
function orthogonal(rng: Rng, n: number): Tensor {
  let q = eye(n, f64);
  for (let k = 0; k < n; k++) {
    const v = randnT(rng, [n, 1]);
    const vv = v.mul(v).sum().data()[0];
    q = q.sub(matmul(matmul(q, v), mT(v)).mul(2 / vv));
  }
  return q;
}

/** Singular values from 1 down to 1/cond, geometrically spaced. */
const spectrum = (n: number, cond: number) =>
  Array.from({ length: n }, (_, i) => cond ** (-i / (n - 1)));

/** U₀ diag(s) V₀ᵀ for random orthogonal U₀ (m×m, first n columns) and V₀. */
function withSingularValues(rng: Rng, m: number, s: number[]): Tensor {
  const n = s.length;
  const U0 = orthogonal(rng, m).narrow(1, 0, n), V0 = orthogonal(rng, n);
  return matmul(U0.mul(tensor(s, f64)), mT(V0));
}

/** Checks the SVD of A: reconstruction, orthonormality, order, shapes. */
function checkSvd(A: Tensor, tol: number, what: string) {
  const { U, S, Vh } = linalg.svd(A);
  const [m, n] = A.shape.slice(-2), k = Math.min(m, n);
  const batch = A.shape.slice(0, -2);
  assert.deepEqual(U.shape, [...batch, m, k], `${what}: U shape`);
  assert.deepEqual(S.shape, [...batch, k], `${what}: S shape`);
  assert.deepEqual(Vh.shape, [...batch, k, n], `${what}: Vh shape`);
  const scale = Math.max(maxAbs(A), 1e-300);
  assertClose(
    matmul(U.mul(S.unsqueeze(-2)), Vh),
    A,
    { atol: tol * scale, rtol: 0 },
    `${what}: U diag(S) Vh = A`,
  );
  const I = eye(k, { dtype: A.dtype }).expand([...batch, k, k]);
  assertClose(matmul(mT(U), U), I, { atol: tol }, `${what}: UᵀU = I`);
  assertClose(matmul(Vh, mT(Vh)), I, { atol: tol }, `${what}: Vh Vhᵀ = I`);
  const s = Array.from(S.data());
  for (let b = 0; b < s.length / Math.max(k, 1); b++) {
    for (let i = 1; i < k; i++) {
      assert(s[b * k + i] <= s[b * k + i - 1], `${what}: S descending`);
    }
  }
  assert(s.every((v) => v >= 0), `${what}: S >= 0`);
  return { U, S, Vh };
}

Deno.test("svd: closed forms; U diag(S) Vh = A with orthonormal factors for tall, wide, square, batched, float32", () => {
  const { S } = checkSvd(tensor([[3, 0], [4, 5]], f64), 1e-15, "2×2");
  assertClose(S, [Math.sqrt(45), Math.sqrt(5)], { rtol: 1e-15 });
  // A permuted, signed diagonal: the singular values are the |entries|.
  const D = tensor([[0, -2, 0], [0, 0, 5], [1, 0, 0]], f64);
  assertClose(linalg.svdvals(D), [5, 2, 1], { rtol: 1e-15 });
  const rng = new Rng(21);
  for (
    const shape of [[1, 1], [1, 4], [4, 1], [5, 3], [3, 5], [6, 6], [2, 7, 4], [
      2,
      3,
      3,
      8,
    ], [33, 20]]
  ) {
    checkSvd(randnT(rng, shape), 1e-13, `${shape}`);
  }
  const A32 = randnT(rng, [6, 4]).to("float32");
  const r32 = checkSvd(A32, 5e-6, "float32 [6, 4]");
  assertClose(r32.S.to("float64"), linalg.svdvals(A32.to("float64")), {
    rtol: 1e-5,
  });
  // The sign convention: V's entry of largest magnitude is positive (U's
  // for a wide matrix).
  const { Vh } = linalg.svd(randnT(rng, [5, 3]));
  for (let i = 0; i < 3; i++) {
    const row = Array.from(Vh.select(0, i).data());
    const big = row.reduce(
      (b, v, j) => Math.abs(v) > Math.abs(row[b]) ? j : b,
      0,
    );
    assert(row[big] > 0, `row ${i} of Vh: largest entry positive`);
  }
});

Deno.test("svd: rank-deficient and zero matrices still give orthonormal U and V", () => {
  const rng = new Rng(22);
  // Rank 2 of 5×4: two singular values at rounding level.
  const A = matmul(randnT(rng, [5, 2]), randnT(rng, [2, 4]));
  const { S } = checkSvd(A, 1e-13, "rank 2");
  const s = Array.from(S.data());
  assert(s[2] < 1e-14 * s[0] && s[3] < 1e-14 * s[0], `tiny: ${s}`);
  const Z = checkSvd(tensor([[0, 0], [0, 0], [0, 0]], f64), 1e-15, "zero");
  assertClose(Z.S, [0, 0]);
  checkSvd(tensor([[1, 1], [1, 1]], f64), 1e-15, "rank one 2×2");
});

Deno.test("svd derivatives: closed forms, repeated singular values stay finite and exact for spectral functions", () => {
  const rng = new Rng(23);
  const A = randnT(rng, [5, 3]);
  // ∇ Σ s = U Vh; ∇ Σ s² = 2A; the Hessian of Σ s² is 2·I.
  const nuc = (a: Tensor) => linalg.svdvals(a).sum();
  const { U, Vh } = linalg.svd(A);
  assertClose(grad(nuc)(A), matmul(U, Vh), { atol: 1e-13 });
  const sq = (a: Tensor) => linalg.svdvals(a).square().sum();
  assertClose(grad(sq)(A), A.mul(2), { atol: 1e-13 });
  const H = hessian(sq)(randnT(rng, [3, 2])).reshape([6, 6]);
  assertClose(H, eye(6, f64).mul(2), { atol: 1e-12 });
  // At A = I (all singular values equal): ∇ Σ s = I, ∇ Σ s² = 2I and the
  // derivative of U Vh (the polar factor) in direction E is (E − Eᵀ)/2.
  const I3 = eye(3, f64);
  assertClose(grad(nuc)(I3), I3, { atol: 1e-14 });
  assertClose(grad(sq)(I3), I3.mul(2), { atol: 1e-14 });
  const E = randnT(rng, [3, 3]);
  const polar = (a: Tensor) => {
    const r = linalg.svd(a);
    return matmul(r.U, r.Vh);
  };
  const [, dPolar] = jvp(polar, [I3], [E]);
  assertClose(dPolar, E.sub(mT(E)).mul(0.5), { atol: 1e-14 });
  // A repeated singular value of a tall matrix (s = 2, 2, 1).
  const R = withSingularValues(rng, 5, [2, 2, 1]);
  const gs = grad(nuc)(R);
  assert(Number.isFinite(maxAbs(gs)));
  const r = linalg.svd(R);
  assertClose(gs, matmul(r.U, r.Vh), { atol: 1e-13 });
  // U is finite there too (its derivative is basis-dependent).
  const [, dU] = jvp((a: Tensor) => linalg.svd(a).U, [R], [
    randnT(rng, [5, 3]),
  ]);
  assert(Number.isFinite(maxAbs(dU)));
});

Deno.test("svd under vmap (any dim) and jit equals a loop and eager", () => {
  const rng = new Rng(24);
  const X = randnT(rng, [4, 3, 5]); // vmapped over dim 1: three 4×5 (wide)
  const parts = (a: Tensor) => {
    const { U, S, Vh } = linalg.svd(a);
    return cat([U.reshape([-1]), S, Vh.reshape([-1])], 0);
  };
  const got = vmap(parts, { inDims: 1 })(X);
  for (let i = 0; i < 3; i++) {
    assertClose(got.select(0, i), parts(X.select(1, i)), { atol: 1e-14 });
  }
  const T = randnT(rng, [6, 3]);
  assertClose(jit(parts)(T), parts(T), { atol: 1e-15 });
  // The batched primitive runs once for the whole batch.
  const prog = makeProgram(vmap(parts))(randnT(rng, [2, 6, 3]));
  assert.equal(prog.eqns.filter((e) => e.prim === "svd").length, 1);
});

Deno.test("ill-conditioned float64 inputs up to cond 1e8: svd, qr, pinv and lstsq identities", () => {
  const rng = new Rng(25);
  for (const cond of [1e2, 1e5, 1e8]) {
    const s = spectrum(12, cond);
    const A = withSingularValues(rng, 20, s); // 20×12
    // SVD: backward stable, singular values to eps·‖A‖ absolutely.
    const { S } = checkSvd(A, 1e-14, `svd cond ${cond}`);
    assertClose(S, s, { atol: 1e-14, rtol: 0 }, `singular values cond ${cond}`);
    // The largest over the smallest recovers the condition number.
    const got = S.data()[0] / S.data()[11];
    assert(Math.abs(got / cond - 1) < cond * 1e-15 + 1e-12, `cond ${got}`);
    // QR: Q R = A and QᵀQ = I at working precision, whatever the cond.
    const { Q, R } = linalg.qr(A);
    assertClose(matmul(Q, R), A, { atol: 1e-14 }, `QR cond ${cond}`);
    assertClose(matmul(mT(Q), Q), eye(12, f64), { atol: 1e-14 });
    // Least squares: the normal equations Aᵀ(A x − b) = 0 to the
    // attainable accuracy, and x agrees with the SVD route to cond·eps.
    const b = randnT(rng, [20, 1]);
    const x = linalg.lstsq(A, b);
    // (Relative to ‖A‖(‖A‖‖x‖ + ‖b‖), the size of a backward error.)
    const res = maxAbs(matmul(mT(A), matmul(A, x).sub(b))) /
      (maxAbs(x) + maxAbs(b));
    assert(res < 1e-14, `cond ${cond}: normal equations ${res}`);
    const xs = linalg.lstsq(A, b, { driver: "gelsd", rcond: 1e-12 });
    const err = maxAbs(x.sub(xs)) / maxAbs(xs);
    assert(err < cond * 1e-14, `cond ${cond}: gels vs gelsd ${err}`);
    // pinv: the Penrose conditions A P A = A (to cond·eps, as P has norm
    // cond) and P A P = P.
    const P = linalg.pinv(A, { rtol: 1e-12 });
    const apa = maxAbs(matmul(A, matmul(P, A)).sub(A));
    assert(apa < cond * 1e-15, `cond ${cond}: APA = A ${apa}`);
    const pap = maxAbs(matmul(P, matmul(A, P)).sub(P)) / maxAbs(P);
    assert(pap < cond * 1e-15, `cond ${cond}: PAP = P ${pap}`);
  }
  // A square matrix at cond 1e8: solve and cholesky residuals via the SVD
  // route agree (the other routes are in linalg_test.ts).
  const sq = withSingularValues(rng, 10, spectrum(10, 1e8));
  const spd = matmul(mT(sq), sq).add(eye(10, f64).mul(1e-8)); // cond ~1e8
  const L = linalg.cholesky(spd);
  assertClose(matmul(L, mT(L)), spd, { atol: 1e-15 });
  const b = randnT(rng, [10, 2]);
  const x1 = linalg.solve(spd, b), x2 = matmul(linalg.pinv(spd), b);
  assert(maxAbs(x1.sub(x2)) / maxAbs(x1) < 1e8 * 1e-14);
});

Deno.test("pinv: Penrose conditions on a rank-deficient matrix, the full-rank formula, the rtol cut", () => {
  const rng = new Rng(26);
  const A = matmul(randnT(rng, [6, 2]), randnT(rng, [2, 4])); // rank 2
  const P = linalg.pinv(A);
  assert.deepEqual(P.shape, [4, 6]);
  assertClose(matmul(A, matmul(P, A)), A, { atol: 1e-12 });
  assertClose(matmul(P, matmul(A, P)), P, { atol: 1e-12 });
  const AP = matmul(A, P), PA = matmul(P, A);
  assertClose(AP, mT(AP), { atol: 1e-12 });
  assertClose(PA, mT(PA), { atol: 1e-12 });
  // Full column rank: (AᵀA)⁻¹Aᵀ.
  const T = randnT(rng, [5, 3]);
  assertClose(linalg.pinv(T), linalg.solve(matmul(mT(T), T), mT(T)), {
    atol: 1e-12,
  });
  // diag(1, 1e-6): rtol 1e-3 drops the second value, atol 1e-7 keeps it.
  const D = tensor([[1, 0], [0, 1e-6]], f64);
  assertClose(linalg.pinv(D, { rtol: 1e-3 }), [1, 0, 0, 0]);
  assertClose(linalg.pinv(D, { atol: 1e-7 }), [1, 0, 0, 1e6], { rtol: 1e-12 });
  // Batched and wide.
  const W = randnT(rng, [2, 3, 5]);
  const PW = linalg.pinv(W);
  assertClose(matmul(W, PW), eye(3, f64).expand([2, 3, 3]), { atol: 1e-12 });
});

Deno.test("lstsq: tall least squares, wide minimum norm, gelsd on rank-deficient, vectors and batches", () => {
  const rng = new Rng(27);
  const A = tensor([[1, 0], [1, 1], [1, 2]], f64);
  // The line through (0, 1), (1, 2), (2, 4): intercept 5/6, slope 3/2.
  assertClose(linalg.lstsq(A, tensor([1, 2, 4], f64)), [5 / 6, 1.5], {
    rtol: 1e-14,
  });
  const T = randnT(rng, [2, 7, 3]), B = randnT(rng, [2, 7, 2]);
  const normal = linalg.solve(matmul(mT(T), T), matmul(mT(T), B));
  assertClose(linalg.lstsq(T, B), normal, { atol: 1e-12 });
  // Wide: an exact solution of least norm, equal to pinv(A) b.
  const W = randnT(rng, [3, 6]), b = randnT(rng, [3, 1]);
  const x = linalg.lstsq(W, b);
  assertClose(matmul(W, x), b, { atol: 1e-13 });
  assertClose(x, matmul(linalg.pinv(W), b), { atol: 1e-13 });
  // Rank-deficient: gelsd gives pinv(A) b.
  const D = matmul(randnT(rng, [6, 2]), randnT(rng, [2, 4]));
  const y = randnT(rng, [6, 2]);
  assertClose(
    linalg.lstsq(D, y, { driver: "gelsd" }),
    matmul(linalg.pinv(D), y),
    { atol: 1e-12 },
  );
  // A shared matrix against a batch of right-hand sides.
  const Bs = randnT(rng, [4, 7, 1]), A0 = T.select(0, 0);
  const xb = linalg.lstsq(A0, Bs);
  assertClose(xb.select(0, 2), linalg.lstsq(A0, Bs.select(0, 2)), {
    atol: 1e-14,
  });
});

Deno.test("matrixNorm and vectorNorm: every order against closed forms, dims and keepdim", () => {
  const A = tensor([[1, -2], [3, 4]], f64);
  const s = linalg.svdvals(A).data();
  const cases: [linalg.MatrixNormOrder, number][] = [
    ["fro", Math.sqrt(30)],
    ["nuc", s[0] + s[1]],
    [2, s[0]],
    [-2, s[1]],
    [1, 6],
    [-1, 4],
    [Infinity, 7],
    [-Infinity, 3],
  ];
  for (const [ord, want] of cases) {
    assertClose(linalg.matrixNorm(A, ord), want, { rtol: 1e-14 }, `${ord}`);
  }
  // s₀ s₁ = |det A| = 10 and s₀² + s₁² = 30.
  assertClose(s[0] * s[1], 10, { rtol: 1e-14 });
  // dim and keepdim: matrices along dims [0, 2] of [2, 3, 2].
  const rng = new Rng(28);
  const X = randnT(rng, [2, 3, 2]);
  for (
    const ord of ["fro", "nuc", 2, -2, 1, -1, Infinity, -Infinity] as const
  ) {
    const got = linalg.matrixNorm(X, ord, { dim: [0, 2], keepdim: true });
    assert.deepEqual(got.shape, [1, 3, 1]);
    for (let j = 0; j < 3; j++) {
      assertClose(
        got.reshape([3]).select(0, j),
        linalg.matrixNorm(X.select(1, j), ord),
        { rtol: 1e-14 },
        `ord ${ord}, matrix ${j}`,
      );
    }
  }
  const v = tensor([[3, -4], [0, 12]], f64);
  assertClose(linalg.vectorNorm(v), 13);
  assertClose(linalg.vectorNorm(v, 1, { dim: 1 }), [7, 12]);
  assertClose(linalg.vectorNorm(v, Infinity), 12);
  assertClose(linalg.vectorNorm(v, -Infinity), 0);
  assertClose(linalg.vectorNorm(v, 0), 3);
  assertClose(linalg.vectorNorm(v, 3, { dim: 0, keepdim: true }), [
    3,
    Math.cbrt(64 + 1728),
  ]);
  // Negative orders: (Σ |x|^p)^(1/p); 0 when an element is 0.
  assertClose(linalg.vectorNorm(tensor([1, 2], f64), -1), 2 / 3, {
    rtol: 1e-15,
  });
  assertClose(linalg.vectorNorm(v, -2, { dim: 0 }), [0, 12 / Math.sqrt(10)]);
});

Deno.test("matrixPower: positive, zero and negative powers, batched", () => {
  const A = tensor([[1, 1], [0, 1]], f64);
  assertClose(linalg.matrixPower(A, 5), [1, 5, 0, 1]);
  assertClose(linalg.matrixPower(A, -2), [1, -2, 0, 1]);
  assertClose(linalg.matrixPower(A, 0), [1, 0, 0, 1]);
  assertClose(linalg.matrixPower(A, 1), A);
  const rng = new Rng(29);
  const B = randnT(rng, [3, 4, 4]).mul(0.5);
  let want = B;
  for (let k = 1; k < 7; k++) want = matmul(want, B);
  assertClose(linalg.matrixPower(B, 7), want, { atol: 1e-12 });
  const Bi = linalg.inv(B);
  assertClose(
    linalg.matrixPower(B, -3),
    matmul(Bi, matmul(Bi, Bi)),
    { rtol: 1e-10, atol: 1e-10 },
  );
  assert.deepEqual(linalg.matrixPower(B, 0).shape, [3, 4, 4]);
});

Deno.test("matrixExp: closed forms, large norms (many squarings), exp(A)exp(-A) = I, derivative A exp(tA), jit and vmap", () => {
  // A rotation generator: exp(θJ) is the rotation by θ.
  for (const theta of [1, 0.001, 30, 1000]) {
    const J = tensor([[0, -theta], [theta, 0]], f64);
    const c = Math.cos(theta), sn = Math.sin(theta);
    assertClose(linalg.matrixExp(J), [c, -sn, sn, c], {
      atol: 1e-15 * Math.max(1, theta),
    }, `θ = ${theta}`);
  }
  // Diagonal and nilpotent.
  assertClose(linalg.matrixExp(tensor([[2, 0], [0, -30]], f64)), [
    Math.exp(2),
    0,
    0,
    Math.exp(-30),
  ], { rtol: 1e-14 });
  assertClose(
    linalg.matrixExp(tensor([[0, 1, 0], [0, 0, 1], [0, 0, 0]], f64)),
    [
      1,
      1,
      0.5,
      0,
      1,
      1,
      0,
      0,
      1,
    ],
    { rtol: 1e-15, atol: 1e-15 },
  );
  assertClose(linalg.matrixExp(eye(3, f64).mul(0)), eye(3, f64));
  const rng = new Rng(30);
  const A = randnT(rng, [2, 4, 4]).mul(2);
  const eA = linalg.matrixExp(A), emA = linalg.matrixExp(A.neg());
  assertClose(matmul(eA, emA), eye(4, f64).expand([2, 4, 4]), { atol: 1e-11 });
  // d/dt exp(tA) = A exp(tA) at t = 1, and its second derivative A² exp(A).
  const M = A.select(0, 0);
  const f = (t: Tensor) => linalg.matrixExp(M.mul(t));
  const [, d1] = jvp(f, [tensor(1, f64)], [tensor(1, f64)]);
  assertClose(d1, matmul(M, eA.select(0, 0)), { rtol: 1e-11, atol: 1e-11 });
  const g = (t: Tensor) => jvp(f, [t], [tensor(1, f64)])[1];
  const [, d2] = jvp(g, [tensor(1, f64)], [tensor(1, f64)]);
  assertClose(d2, matmul(M, matmul(M, eA.select(0, 0))), {
    rtol: 1e-10,
    atol: 1e-10,
  });
  // jit and vmap mask the squarings per matrix: the same values.
  const mixed = tensor([[[0.1, 0], [0, 0.2]], [[0, -40], [40, 0]]], f64);
  const eager = linalg.matrixExp(mixed);
  assertClose(jit(linalg.matrixExp)(mixed), eager, { atol: 1e-13 });
  assertClose(vmap(linalg.matrixExp)(mixed), eager, { atol: 1e-13 });
});

Deno.test("cross and multiDot: closed forms, broadcasting, the cheapest chain order", () => {
  const x = tensor([1, 0, 0], f64), y = tensor([0, 1, 0], f64);
  assertClose(linalg.cross(x, y), [0, 0, 1]);
  assertClose(linalg.cross(y, x), [0, 0, -1]);
  const a = tensor([[1, 2, 3], [4, 5, 6]], f64), b = tensor([[7, 8, 9]], f64);
  assertClose(linalg.cross(a, b), [-6, 12, -6, -3, 6, -3]);
  assertClose(linalg.cross(mT(a), mT(b), 0), mT(linalg.cross(a, b)));
  // ∇_a ⟨a × b, c⟩ = b × c.
  const c = tensor([0.5, -1, 2], f64);
  const ga = grad((u: Tensor) => linalg.cross(u, b.select(0, 0)).mul(c).sum())(
    a.select(0, 0),
  );
  assertClose(ga, linalg.cross(b.select(0, 0), c));
  const rng = new Rng(31);
  const A = randnT(rng, [10, 30]),
    B = randnT(rng, [30, 2]),
    C = randnT(rng, [2, 20]),
    v = randnT(rng, [20]);
  assertClose(
    linalg.multiDot([A, B, C, v]),
    matmul(matmul(matmul(A, B), C), v),
    { atol: 1e-12 },
  );
  // (A B) C costs 10·30·2 + 10·2·20 = 1000; A (B C) 30·2·20 + 10·30·20.
  const prog = makeProgram((p: Tensor, q: Tensor, r: Tensor) =>
    linalg.multiDot([p, q, r])
  )(A, B, C);
  const first = prog.eqns.find((e) => e.prim === "matmul")!;
  assert.deepEqual(first.aval.shape, [10, 2]);
  const u = randnT(rng, [10]);
  assertClose(linalg.multiDot([u, A, B]), matmul(matmul(u, A), B), {
    atol: 1e-12,
  });
});

Deno.test("qr: wide matrices and the complete mode; shapes, Q R = A, orthogonal Q", () => {
  const rng = new Rng(32);
  for (
    const [shape, mode] of [
      [[3, 5], "reduced"],
      [[3, 5], "complete"],
      [[2, 4, 7], "reduced"],
      [[6, 2], "complete"],
      [[2, 5, 3], "complete"],
      [[4, 4], "complete"],
    ] as const
  ) {
    const A = randnT(rng, [...shape]);
    const { Q, R } = linalg.qr(A, { mode });
    const [m, n] = shape.slice(-2), batch = shape.slice(0, -2);
    const k = mode === "complete" ? m : Math.min(m, n);
    assert.deepEqual(Q.shape, [...batch, m, k], `Q ${shape} ${mode}`);
    assert.deepEqual(R.shape, [...batch, k, n], `R ${shape} ${mode}`);
    assertClose(matmul(Q, R), A, { atol: 1e-13 }, `QR ${shape} ${mode}`);
    assertClose(
      matmul(mT(Q), Q),
      eye(k, f64).expand([...batch, k, k]),
      { atol: 1e-13 },
      `QᵀQ ${shape} ${mode}`,
    );
    assertClose(R.tril(-1), R.mul(0), {}, `R upper ${shape} ${mode}`);
  }
  // The complete Q's first columns are the reduced Q.
  const T = randnT(rng, [5, 2]);
  assertClose(
    linalg.qr(T, { mode: "complete" }).Q.narrow(1, 0, 2),
    linalg.qr(T).Q,
  );
});

Deno.test("errors: shapes, dtypes, options, singular to working precision, the failing Cholesky pivot", () => {
  const rng = new Rng(33);
  assertThrowsWith(
    () => linalg.svd(tensor([1, 2, 3], f64)),
    RangeError,
    "svd: A must be a matrix or a batch of them [..., m, n], got shape [3]",
  );
  assertThrowsWith(
    () => linalg.svd(eye(2).to("int32")),
    TypeError,
    "svd: expected a float32 or float64 tensor for A, got int32",
  );
  assertThrowsWith(
    // deno-lint-ignore no-explicit-any
    () => linalg.svd(eye(2), { fullMatrices: true } as any),
    RangeError,
    "svd: fullMatrices: true is not supported",
  );
  assertThrowsWith(
    () => linalg.lstsq(randnT(rng, [4, 2]), randnT(rng, [3, 1])),
    RangeError,
    "lstsq: B must have shape [4] or [..., 4, k] to match A [4, 2], got [3, 1]",
  );
  assertThrowsWith(
    () => linalg.pinv(eye(2, f64), { rtol: -1 }),
    RangeError,
    "pinv: options.rtol must be a number >= 0, got number -1",
  );
  assertThrowsWith(
    // deno-lint-ignore no-explicit-any
    () => linalg.matrixNorm(eye(2, f64), 3 as any),
    RangeError,
    'matrixNorm: ord must be "fro", "nuc", 1, -1, 2, -2, Infinity or -Infinity, got number 3',
  );
  assertThrowsWith(
    () => linalg.matrixNorm(eye(2, f64), "fro", { dim: [0, 0] }),
    RangeError,
    "matrixNorm: dim must be two distinct dims of a tensor with 2 dims",
  );
  assertThrowsWith(
    () => linalg.matrixPower(randnT(rng, [2, 3]), 2),
    RangeError,
    "matrixPower: A must be a square matrix or a batch of them [..., n, n], got shape [2, 3]",
  );
  assertThrowsWith(
    () => linalg.matrixPower(eye(2, f64), 1.5),
    RangeError,
    "matrixPower: n must be an integer, got number 1.5",
  );
  assertThrowsWith(
    () => linalg.matrixExp(randnT(rng, [3, 2])),
    RangeError,
    "matrixExp: A must be a square matrix",
  );
  assertThrowsWith(
    () => linalg.cross(randnT(rng, [4]), randnT(rng, [4])),
    RangeError,
    "cross: a and b must have size 3 along dim -1, got [4] and [4]",
  );
  assertThrowsWith(
    () => linalg.multiDot([randnT(rng, [2, 3]), randnT(rng, [4, 2])]),
    RangeError,
    "multiDot: tensors[0] [2, 3] and tensors[1] [4, 2] cannot be multiplied",
  );
  assertThrowsWith(
    () => linalg.multiDot([randnT(rng, [2, 3])]),
    RangeError,
    "multiDot: expected an array of at least 2 tensors",
  );
  assertThrowsWith(
    // deno-lint-ignore no-explicit-any
    () => linalg.qr(eye(2, f64), { mode: "r" as any }),
    RangeError,
    'qr: mode must be "reduced" or "complete", got "r"',
  );
  // Singular to working precision: 1 + 1e-17 rounds to 1 in float64.
  const S = tensor([[1, 1], [1, 1 + 1e-17]], f64);
  assertThrowsWith(
    () => linalg.solve(S, tensor([1, 2], f64)),
    RangeError,
    "solve: the matrix is singular: pivot 1 of its LU factorization is zero",
  );
  assertThrowsWith(
    () => linalg.matrixPower(S, -1),
    RangeError,
    "solve: the matrix is singular",
  );
  // Positive semidefinite to working precision fails at the last pivot;
  // an indefinite matrix of cond 1e8 names the pivot where it fails.
  assertThrowsWith(
    () => linalg.cholesky(tensor([[1, 1], [1, 1]], f64)),
    RangeError,
    "the leading minor of order 2 is not positive (pivot 1 of 2)",
  );
  const q = orthogonal(rng, 6);
  const ind = matmul(
    q.mul(tensor([1, 1e-2, 1e-4, -1e-8, 1e-6, 1], f64)),
    mT(q),
  );
  assertThrowsWith(
    () => linalg.cholesky(ind),
    RangeError,
    "cholesky: the matrix is not positive definite: the leading minor of order",
  );
});

Deno.test("blocked LU and triangular solves (n ≥ 160): P L U = A, A·solve(A, B) = B, slogdet, both dtypes", () => {
  const rng = new Rng(34);
  for (const dtype of ["float64", "float32"] as const) {
    const tol = dtype === "float64" ? 1e-11 : 2e-3;
    const n = 203;
    const A = randnT(rng, [n, n]).to(dtype);
    const { P, L, U } = linalg.lu(A);
    assertClose(matmul(P, matmul(L, U)), A, { atol: tol }, `PLU ${dtype}`);
    const B = randnT(rng, [n, 20]).to(dtype);
    const X = linalg.solve(A, B);
    assertClose(matmul(A, X), B, { atol: tol * 10 }, `A X = B ${dtype}`);
    for (const upper of [false, true]) {
      const T = (upper ? U : L).add(eye(n, { dtype }).mul(upper ? 0 : 1));
      const Y = linalg.solveTriangular(T, B, { upper });
      assertClose(matmul(T, Y), B, { atol: tol * 10 }, `T Y = B ${upper}`);
    }
    const logabs = U.mul(eye(n, { dtype })).sum(-1).abs().log().sum();
    assertClose(linalg.slogdet(A).logabsdet, logabs, {
      rtol: dtype === "float64" ? 1e-12 : 1e-4,
    });
  }
});

Deno.test("blocked QR and SVD past n = 160: Q R = A, orthonormal factors, singular values against eigvalsh(AᵀA)", () => {
  const rng = new Rng(35);
  const A = randnT(rng, [230, 170]);
  const { Q, R } = linalg.qr(A);
  assertClose(matmul(Q, R), A, { atol: 1e-12 });
  assertClose(matmul(mT(Q), Q), eye(170, f64), { atol: 1e-13 });
  assertClose(R.tril(-1), R.mul(0));
  const { S } = checkSvd(A, 1e-12, "230×170");
  // Well conditioned, so the Gram matrix's eigenvalues are accurate here.
  const w = linalg.eigvalsh(matmul(mT(A), A)).flip(0).sqrt();
  assertClose(S, w, { rtol: 1e-10 });
});

Deno.test("blocked Cholesky from n = 256: L Lᵀ = A, lower triangular, the failing pivot in a later block, both dtypes", () => {
  const rng = new Rng(36);
  for (const dtype of ["float64", "float32"] as const) {
    const n = 263;
    const G = randnT(rng, [n, n]).to(dtype);
    const A = matmul(G, mT(G)).div(n).add(eye(n, { dtype }));
    const L = linalg.cholesky(A);
    const tol = dtype === "float64" ? 1e-12 : 2e-5;
    assertClose(matmul(L, mT(L)), A, { atol: tol }, `L Lᵀ ${dtype}`);
    assertClose(L.triu(1), L.mul(0));
    // Made indefinite at pivot 250 (past the first blocks): named there.
    const bump = eye(n, { dtype }).mul(
      tensor(Array.from({ length: n }, (_, i) => (i === 250 ? -1e3 : 0)), {
        dtype,
      }),
    );
    assertThrowsWith(
      () => linalg.cholesky(A.add(bump)),
      RangeError,
      `the leading minor of order 251 is not positive (pivot 250 of ${n})`,
    );
  }
});
