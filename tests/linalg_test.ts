/**
 * linalg: identities (L Lᵀ = A, A·solve(A, b) = b, A·inv(A) = I),
 * closed forms, second derivatives of log-determinants and of a Gaussian
 * process log-likelihood against float64 differences and a second method,
 * ill-conditioned inputs (condition numbers up to 1e8), and errors. The
 * case table (primitives_cases.ts) runs every op through jvp, vjp, second
 * order, vmap and jit as well.
 * @module
 */
import assert from "node:assert/strict";
import {
  eye,
  grad,
  hessian,
  jit,
  linalg,
  matmul,
  type Tensor,
  tensor,
  vmap,
  zeros,
} from "../mod.ts";
import {
  assertClose,
  assertThrowsWith,
  fromGen,
  randnT,
  Rng,
} from "./_helpers.ts";
import { spdT, wellConditionedT } from "./primitives_cases.ts";

const f64 = { dtype: "float64" } as const;
const mT = (x: Tensor) => x.transpose(-2, -1);

/** Max |x| over all elements. */
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

/** Q diag(s) Qᵀ with singular values from 1 down to 1/cond. */
function conditioned(rng: Rng, n: number, cond: number): Tensor {
  const q = orthogonal(rng, n);
  const s = Array.from({ length: n }, (_, i) => cond ** (-i / (n - 1)));
  return matmul(q.mul(tensor(s, f64)), mT(q));
}

Deno.test("cholesky: closed form, L Lᵀ = A over sizes and a batch, zero upper triangle", () => {
  const A = tensor([[4, 2], [2, 3]], f64);
  assertClose(linalg.cholesky(A), [2, 0, 1, Math.SQRT2], { rtol: 1e-15 });
  assertClose(linalg.cholesky(A, { upper: true }), [2, 1, 0, Math.SQRT2]);
  const rng = new Rng(1);
  for (const shape of [[1, 1], [5, 5], [33, 33], [3, 2, 7, 7]]) {
    const S = spdT(rng, shape);
    const L = linalg.cholesky(S);
    assertClose(matmul(L, mT(L)), S, { rtol: 1e-13, atol: 1e-13 }, `${shape}`);
    assertClose(L.triu(1), L.mul(0), {}, `upper triangle of L ${shape}`);
  }
  // float32 too.
  const S = spdT(rng, [16, 16]);
  const L32 = linalg.cholesky(S.to("float32"));
  assertClose(
    matmul(L32, mT(L32)).to("float64"),
    S,
    { rtol: 1e-5, atol: 1e-5 },
  );
});

Deno.test("solves: A·solve(A, b) = b, inv, choleskySolve, triangular from both sides", () => {
  const rng = new Rng(2);
  const A = wellConditionedT(rng, [2, 6, 6]), b = randnT(rng, [2, 6, 3]);
  const x = linalg.solve(A, b);
  assertClose(matmul(A, x), b, { rtol: 1e-13, atol: 1e-13 });
  assertClose(matmul(A, linalg.inv(A)), eye(6, f64).expand([2, 6, 6]), {
    atol: 1e-13,
  });
  // Vector right-hand side, and X A = B.
  const v = randnT(rng, [2, 6]);
  const xv = linalg.solve(A, v);
  assertClose(matmul(A, xv.unsqueeze(-1)).squeeze(-1), v, { atol: 1e-13 });
  const xr = linalg.solve(A, b.transpose(-2, -1), { left: false });
  assertClose(matmul(xr, A), b.transpose(-2, -1), { atol: 1e-13 });
  // choleskySolve agrees with solve on SPD matrices, lower and upper.
  const S = spdT(rng, [6, 6]);
  const want = linalg.solve(S, b);
  assertClose(linalg.choleskySolve(b, linalg.cholesky(S)), want, {
    atol: 1e-13,
  });
  assertClose(
    linalg.choleskySolve(b, linalg.cholesky(S, { upper: true }), {
      upper: true,
    }),
    want,
    { atol: 1e-13 },
  );
  // Triangular: only the triangle is read; left and right solves.
  const T = wellConditionedT(rng, [6, 6]);
  for (const upper of [false, true]) {
    const tri = upper ? T.triu() : T.tril();
    const xl = linalg.solveTriangular(T, b, { upper });
    assertClose(matmul(tri, xl), b, { atol: 1e-13 }, `left upper=${upper}`);
    const bt = b.transpose(-2, -1);
    const xrt = linalg.solveTriangular(T, bt, { upper, left: false });
    assertClose(matmul(xrt, tri), bt, { atol: 1e-13 }, `right upper=${upper}`);
    const unit = tri.sub(tri.mul(eye(6, f64))).add(eye(6, f64));
    const xu = linalg.solveTriangular(T, b, { upper, unitriangular: true });
    assertClose(matmul(unit, xu), b, { atol: 1e-13 }, `unit upper=${upper}`);
  }
});

Deno.test("det and slogdet: closed forms, signs, a singular matrix, float32", () => {
  const A = tensor([[0, 2], [3, 1]], f64);
  assertClose(linalg.det(A), -6, { rtol: 1e-15 });
  const { sign, logabsdet } = linalg.slogdet(A);
  assertClose(sign, -1);
  assertClose(logabsdet, Math.log(6), { rtol: 1e-15 });
  // 3×3 against the rule of Sarrus, batched.
  const rng = new Rng(3);
  const B = randnT(rng, [4, 3, 3]);
  const d = linalg.det(B).data();
  for (let i = 0; i < 4; i++) {
    const m = B.select(0, i).data();
    const want = m[0] * (m[4] * m[8] - m[5] * m[7]) -
      m[1] * (m[3] * m[8] - m[5] * m[6]) +
      m[2] * (m[3] * m[7] - m[4] * m[6]);
    assertClose(d[i], want, { rtol: 1e-12, atol: 1e-14 }, `det ${i}`);
  }
  const singular = tensor([[1, 2], [2, 4]], f64);
  assertClose(linalg.det(singular), 0);
  const s = linalg.slogdet(singular);
  assertClose(s.sign, 0);
  assert(s.logabsdet.data()[0] === -Infinity);
  assertClose(
    linalg.det(A.to("float32")).to("float64"),
    -6,
    { rtol: 1e-6 },
  );
});

Deno.test("grad and hessian of logdet: A⁻ᵀ, and -tr(A⁻¹ H A⁻¹ K) in a direction", () => {
  const rng = new Rng(4);
  const A = wellConditionedT(rng, [4, 4]);
  const logdet = (a: Tensor) => linalg.slogdet(a).logabsdet;
  const g = grad(logdet)(A);
  assertClose(g, mT(linalg.inv(A)), { rtol: 1e-12, atol: 1e-13 });
  // d²/dt² logdet(A + tH) at 0 = -tr(A⁻¹H A⁻¹H).
  const H = randnT(rng, [4, 4]);
  const along = (t: Tensor) => logdet(A.add(H.mul(t)));
  const h2 = hessian(along)(tensor(0, f64));
  const AiH = linalg.solve(A, H);
  const want = -matmul(AiH, AiH).mul(eye(4, f64)).sum().data()[0];
  assertClose(h2, want, { rtol: 1e-11 });
  // The full Hessian is symmetric as a 16×16 matrix.
  const full = hessian(logdet)(A).reshape([16, 16]);
  assertClose(full, mT(full), { atol: 1e-12 });
});

/**
 * Negative log marginal likelihood of a Gaussian process with an RBF
 * kernel of length scale `ell`: ½ yᵀK⁻¹y + ½ log det K, by Cholesky (as
 * in practice) and by solve + slogdet (the second method).
 */
function gpNll(xs: Tensor, y: Tensor, viaCholesky: boolean) {
  const n = xs.shape[0];
  const d2 = xs.reshape([n, 1]).sub(xs.reshape([1, n])).square();
  return (ell: Tensor) => {
    const K = d2.div(ell.square().mul(-2)).exp().add(eye(n, f64).mul(0.1));
    if (viaCholesky) {
      const L = linalg.cholesky(K);
      const a = linalg.solveTriangular(L, y.reshape([n, 1]), { upper: false });
      const logdet = L.mul(eye(n, f64)).sum(-1).log().sum();
      return a.square().sum().mul(0.5).add(logdet);
    }
    const quad = y.mul(linalg.solve(K, y)).sum().mul(0.5);
    return quad.add(linalg.slogdet(K).logabsdet.mul(0.5));
  };
}

Deno.test("GP log-likelihood: first and second derivatives in the length scale", () => {
  const rng = new Rng(5);
  const xs = fromGen([8], () => rng.uniform(-2, 2));
  const y = fromGen([8], () => rng.normal());
  const chol = gpNll(xs, y, true), lu = gpNll(xs, y, false);
  const ell = tensor(0.7, f64);
  assertClose(chol(ell), lu(ell), { rtol: 1e-13 });
  const g = grad(chol), h = hessian(chol);
  const gLu = grad(lu), hLu = hessian(lu);
  assertClose(g(ell), gLu(ell), { rtol: 1e-10 });
  assertClose(h(ell), hLu(ell), { rtol: 1e-9 });
  // Against central differences of the function and of the gradient.
  const e = 1e-5, at = (v: number) => tensor(v, f64);
  const fd1 = (chol(at(0.7 + e)).item() - chol(at(0.7 - e)).item()) / (2 * e);
  assertClose(g(ell), fd1, { rtol: 1e-7 });
  const fd2 = (g(at(0.7 + e)).item() - g(at(0.7 - e)).item()) / (2 * e);
  assertClose(h(ell), fd2, { rtol: 1e-7 });
  // Under jit, the same.
  assertClose(jit(h)(ell), h(ell), { rtol: 1e-12 });
});

Deno.test("ill-conditioned float64 inputs up to cond 1e8: backward-stable residuals", () => {
  const rng = new Rng(6);
  const n = 24;
  for (const cond of [1e2, 1e5, 1e8]) {
    const A = conditioned(rng, n, cond);
    const xTrue = randnT(rng, [n, 2]);
    const b = matmul(A, xTrue);
    // Cholesky: ‖L Lᵀ − A‖ / ‖A‖ at working precision.
    const L = linalg.cholesky(A);
    const back = maxAbs(matmul(L, mT(L)).sub(A)) / maxAbs(A);
    assert(back < 1e-14, `cond ${cond}: cholesky residual ${back}`);
    for (
      const [name, x] of [
        ["solve", linalg.solve(A, b)],
        ["choleskySolve", linalg.choleskySolve(b, L)],
      ] as const
    ) {
      const res = maxAbs(matmul(A, x).sub(b)) / (maxAbs(A) * maxAbs(x));
      assert(res < 1e-14, `cond ${cond}: ${name} residual ${res}`);
      // The forward error is bounded by cond · eps (with a margin).
      const err = maxAbs(x.sub(xTrue)) / maxAbs(xTrue);
      assert(err < cond * 1e-13, `cond ${cond}: ${name} error ${err}`);
    }
    // log det = Σ log s.
    const want = Array.from(
      { length: n },
      (_, i) => Math.log(cond ** (-i / (n - 1))),
    ).reduce((a, v) => a + v);
    assertClose(linalg.slogdet(A).logabsdet, want, { atol: 1e-8 });
  }
});

Deno.test("vmap over a batch dim of linalg ops equals a loop, with the matrix shared", () => {
  const rng = new Rng(7);
  const A = wellConditionedT(rng, [5, 5]), B = randnT(rng, [3, 5, 2]);
  const got = vmap((b: Tensor) => linalg.solve(A, b))(B);
  for (let i = 0; i < 3; i++) {
    assertClose(got.select(0, i), linalg.solve(A, B.select(0, i)));
  }
  const S = spdT(rng, [4, 3, 3]);
  const Ls = vmap((s: Tensor) => linalg.cholesky(s), { inDims: 1 })(
    S.movedim(0, 1),
  );
  for (let i = 0; i < 4; i++) {
    assertClose(Ls.select(0, i), linalg.cholesky(S.select(0, i)));
  }
});

Deno.test("errors: non-square, mismatched, not positive definite, singular", () => {
  const f = { dtype: "float64" } as const;
  assertThrowsWith(
    () => linalg.cholesky(randnT(new Rng(8), [2, 3])),
    RangeError,
    "cholesky: A must be a square matrix or a batch of them [..., n, n], got shape [2, 3]",
  );
  assertThrowsWith(
    () => linalg.solve(eye(3, f), randnT(new Rng(8), [4, 1])),
    RangeError,
    "solve: B must have shape [..., 3, k] to match A [3, 3], got [4, 1]",
  );
  assertThrowsWith(
    () =>
      linalg.solve(eye(3, f).expand([2, 3, 3]), randnT(new Rng(8), [3, 3, 1])),
    RangeError,
    "solve batch dims",
  );
  assertThrowsWith(
    () => linalg.det(eye(3, f).to("int32")),
    TypeError,
    "expected a float32 or float64 tensor",
  );
  // Missing upper, as PyTorch requires it.
  assertThrowsWith(
    // deno-lint-ignore no-explicit-any
    () => linalg.solveTriangular(eye(2, f), eye(2, f), {} as any),
    TypeError,
    "solveTriangular: options.upper must be given",
  );
  const indefinite = tensor([[1, 2, 0], [2, 1, 0], [0, 0, 1]], f);
  const msg =
    "cholesky: the matrix is not positive definite: the leading minor of order 2 is not positive (pivot 1 of 3)";
  assertThrowsWith(() => linalg.cholesky(indefinite), RangeError, msg);
  assertThrowsWith(
    () => jit((a: Tensor) => linalg.cholesky(a))(indefinite),
    RangeError,
    msg,
  );
  const batch = eye(3, f).expand([2, 3, 3]).mul(
    tensor([1, -1], f).reshape([2, 1, 1]),
  );
  assertThrowsWith(
    () => linalg.cholesky(batch),
    RangeError,
    "not positive definite (matrix 1 of the batch): the leading minor of order 1",
  );
  assertThrowsWith(
    () => linalg.solve(tensor([[1, 2], [2, 4]], f), tensor([1, 1], f)),
    RangeError,
    "solve: the matrix is singular: pivot 1 of its LU factorization is zero",
  );
  assertThrowsWith(
    () => linalg.inv(tensor([[0, 0], [0, 0]], f)),
    RangeError,
    "solve: the matrix is singular",
  );
});

Deno.test("eigh: V diag(w) Vᵀ = A with orthonormal V, ascending, closed form, float32", () => {
  const { eigenvalues, eigenvectors } = linalg.eigh(
    tensor([[2, 1], [1, 2]], f64),
  );
  assertClose(eigenvalues, [1, 3], { rtol: 1e-15 });
  const s = Math.SQRT1_2;
  // Signed so that the largest entry (the first among equals) is positive.
  assertClose(eigenvectors, [s, s, -s, s], { rtol: 1e-15 });
  const rng = new Rng(9);
  for (const shape of [[1, 1], [6, 6], [2, 3, 9, 9]]) {
    const m = randnT(rng, shape);
    const A = m.add(mT(m)).mul(0.5);
    const { eigenvalues: w, eigenvectors: V } = linalg.eigh(A);
    const rec = matmul(V.mul(w.unsqueeze(-2)), mT(V));
    assertClose(rec, A, { atol: 1e-13 }, `V Λ Vᵀ ${shape}`);
    const n = shape[shape.length - 1];
    assertClose(
      matmul(mT(V), V),
      eye(n, f64).expand(V.shape),
      { atol: 1e-13 },
      `VᵀV ${shape}`,
    );
    const d = w.data();
    for (let i = 1; i < d.length; i++) {
      if (i % n !== 0) assert(d[i - 1] <= d[i], `ascending ${shape}`);
    }
  }
  const A32 = tensor([[4, 1, 0], [1, 3, 1], [0, 1, 2]], { dtype: "float32" });
  const w32 = linalg.eigvalsh(A32).to("float64");
  assertClose(w32, linalg.eigvalsh(A32.to("float64")), { rtol: 1e-6 });
});

Deno.test("eigh derivatives at repeated eigenvalues: finite, exact for spectral functions", () => {
  // A = diag(1, 1, 2) rotated: the eigenvalue 1 is repeated.
  const q = orthogonal(new Rng(10), 3);
  const A = matmul(q.mul(tensor([1, 1, 2], f64)), mT(q));
  // Σ λ² = tr(A²): gradient 2A; Σ λ = tr A: gradient I; Hessian of tr(A²).
  const sq = (a: Tensor) => linalg.eigvalsh(a).square().sum();
  assertClose(grad(sq)(A), A.mul(2), { atol: 1e-12 });
  const tr = (a: Tensor) => linalg.eigvalsh(a).sum();
  assertClose(grad(tr)(A), eye(3, f64), { atol: 1e-12 });
  // The projector onto the repeated eigenspace, V₀V₀ᵀ, has a basis-free
  // derivative; its jvp is finite at the degenerate point.
  const H = randnT(new Rng(11), [3, 3]);
  const proj = (a: Tensor) => {
    const V = linalg.eigh(a).eigenvectors.narrow(-1, 0, 2);
    return matmul(V, mT(V));
  };
  // Exactly repeated (as computed) only where the input makes it so: a
  // diagonal matrix. A rotated one is merely close (1e-16 apart), where
  // the eigenvectors are genuinely ill-conditioned.
  const D = tensor([[1, 0, 0], [0, 2, 0], [0, 0, 1]], f64);
  const along = (t: Tensor) => proj(D.add(H.add(mT(H)).mul(t)));
  const g = grad((t: Tensor) => along(t).mul(H).sum())(tensor(0, f64));
  assert(Number.isFinite(g.item()), "finite derivative of the projector");
  const e = 1e-6;
  const fd = (along(tensor(e, f64)).mul(H).sum().item() -
    along(tensor(-e, f64)).mul(H).sum().item()) / (2 * e);
  assertClose(g, fd, { rtol: 1e-6, atol: 1e-8 });
});

Deno.test("qr: Q R = A, QᵀQ = I, R upper with a nonnegative diagonal; gram-matrix check of R", () => {
  const rng = new Rng(12);
  for (const shape of [[1, 1], [4, 4], [9, 4], [2, 3, 6, 2]]) {
    const A = randnT(rng, shape);
    const { Q, R } = linalg.qr(A);
    const [m, n] = shape.slice(-2);
    assertClose(matmul(Q, R), A, { atol: 1e-13 }, `QR ${shape}`);
    assertClose(
      matmul(mT(Q), Q),
      eye(n, f64).expand([...shape.slice(0, -2), n, n]),
      { atol: 1e-13 },
      `QᵀQ ${shape}`,
    );
    assertClose(R.tril(-1), R.mul(0), {}, `R upper ${shape}`);
    const d = R.mul(eye(n, f64)).sum(-1).data();
    assert(Array.from(d).every((v) => v >= 0), `diag(R) >= 0 ${shape}`);
    // RᵀR = AᵀA, and R is the Cholesky factor of AᵀA transposed.
    assertClose(
      linalg.cholesky(matmul(mT(A), A)),
      mT(R),
      { rtol: 1e-9, atol: 1e-9 },
      `R vs cholesky(AᵀA) ${shape} (m = ${m})`,
    );
  }
  // Wide matrices and the complete mode: tests/linalg_svd_test.ts.
});

Deno.test("qr derivatives: second order of a least-squares residual through Q", () => {
  // ‖(I − QQᵀ) b‖² is the least-squares residual of A x ≈ b; its gradient
  // in A is −2 r xᵀ with r the residual and x the solution.
  const rng = new Rng(13);
  const A = randnT(rng, [6, 3]), b = randnT(rng, [6, 1]);
  const resid = (a: Tensor) => {
    const { Q } = linalg.qr(a);
    const r = b.sub(matmul(Q, matmul(mT(Q), b)));
    return r.square().sum();
  };
  const { Q, R } = linalg.qr(A);
  const x = linalg.solveTriangular(R, matmul(mT(Q), b), { upper: true });
  const r = b.sub(matmul(A, x));
  assertClose(grad(resid)(A), matmul(r, mT(x)).mul(-2), { atol: 1e-12 });
  // Second order in a direction against differences of the gradient.
  const H = randnT(rng, [6, 3]);
  const along = (t: Tensor) => resid(A.add(H.mul(t)));
  const h2 = hessian(along)(tensor(0, f64));
  const g1 = grad(along), e = 1e-5;
  const fd = (g1(tensor(e, f64)).item() - g1(tensor(-e, f64)).item()) / (2 * e);
  assertClose(h2, fd, { rtol: 1e-7 });
});

Deno.test("lu: P L U = A with unit L, a permutation that pivots, luSolve = solve", () => {
  // [[1, 2], [3, 4]] pivots on 3: perm [1, 0], L = [[1, 0], [1/3, 1]].
  const A = tensor([[1, 2], [3, 4]], f64);
  const { LU, perm } = linalg.luFactor(A);
  assert.deepEqual(Array.from(perm.data()), [1, 0]);
  assert.equal(perm.dtype, "int32");
  assertClose(LU, [3, 4, 1 / 3, 2 - 4 / 3], { rtol: 1e-15 });
  const rng = new Rng(14);
  for (const shape of [[1, 1], [5, 5], [2, 3, 6, 6]]) {
    const M = randnT(rng, shape);
    const { P, L, U } = linalg.lu(M);
    assertClose(matmul(P, matmul(L, U)), M, { atol: 1e-13 }, `PLU ${shape}`);
    assertClose(L.triu(1), L.mul(0), {}, `L lower ${shape}`);
    assertClose(U.tril(-1), U.mul(0), {}, `U upper ${shape}`);
    // Partial pivoting: every multiplier is at most 1 in magnitude.
    assert(maxAbs(L) <= 1 + 1e-15, `|L| <= 1 ${shape}`);
    const n = shape[shape.length - 1];
    const B = randnT(rng, [...shape.slice(0, -1), 2]);
    const f = linalg.luFactor(M);
    assertClose(
      linalg.luSolve(f.LU, f.perm, B),
      linalg.solve(M, B),
      { rtol: 1e-10, atol: 1e-12 },
      `luSolve ${shape} (n = ${n})`,
    );
  }
  assertThrowsWith(
    () => linalg.luSolve(LU, tensor([0, 1, 2]).to("int32"), eye(2, f64)),
    RangeError,
    "luSolve: perm must have shape [2] to match LU [2, 2], got [3]",
  );
});

// From order 32 eigh reduces to tridiagonal form and runs implicit QR
// steps (small matrices use Jacobi): check that path through the public op.
Deno.test("eigh at n = 64 and 100 (tridiagonal path): V diag(w) Vᵀ = A, VᵀV = I, dλᵢ/dA = vᵢvᵢᵀ", () => {
  const r = new Rng(64);
  for (const n of [64, 100]) {
    const g = randnT(r, [n, n]);
    const A = g.add(g.transpose(0, 1));
    const { eigenvalues: w, eigenvectors: V } = linalg.eigh(A);
    const lam = w.toArray() as number[];
    assert.ok(lam.every((x, i) => i === 0 || lam[i - 1] <= x), "ascending");
    assertClose(matmul(V.mul(w.reshape([1, n])), V.transpose(0, 1)), A, {
      rtol: 0,
      atol: 1e-11,
    });
    assertClose(matmul(V.transpose(0, 1), V), eye(n, { dtype: "float64" }), {
      rtol: 0,
      atol: 1e-12,
    });
    // The gradient of Σ cᵢ λᵢ is V diag(c) Vᵀ (distinct eigenvalues).
    const c = randnT(r, [n]);
    const gA = grad((a: Tensor) => linalg.eigvalsh(a).mul(c).sum())(A);
    const want = matmul(V.mul(c.reshape([1, n])), V.transpose(0, 1));
    assertClose(gA, want, { rtol: 0, atol: 1e-9 });
  }
});

Deno.test("qr, svd, pinv and lstsq of empty matrices give NumPy's shapes (they trapped)", () => {
  // [m, n] with m or n zero: reduced factors with k = min(m, n) = 0.
  const cases: [number[], Record<string, number[]>][] = [
    [[0, 3], {
      Q: [0, 0],
      R: [0, 3],
      U: [0, 0],
      S: [0],
      Vh: [0, 3],
      P: [3, 0],
      X: [3, 2],
    }],
    [[3, 0], {
      Q: [3, 0],
      R: [0, 0],
      U: [3, 0],
      S: [0],
      Vh: [0, 0],
      P: [0, 3],
      X: [0, 2],
    }],
    [[2, 0, 3], {
      Q: [2, 0, 0],
      R: [2, 0, 3],
      U: [2, 0, 0],
      S: [2, 0],
      Vh: [2, 0, 3],
      P: [2, 3, 0],
      X: [2, 3, 2],
    }],
    [[0, 0], {
      Q: [0, 0],
      R: [0, 0],
      U: [0, 0],
      S: [0],
      Vh: [0, 0],
      P: [0, 0],
      X: [0, 2],
    }],
  ];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [shape, want] of cases) {
      const A = zeros(shape, { dtype });
      const { Q, R } = linalg.qr(A);
      const { U, S, Vh } = linalg.svd(A);
      const B = zeros([...shape.slice(0, -1), 2], { dtype });
      const X = linalg.lstsq(A, B);
      const got = { Q, R, U, S, Vh, P: linalg.pinv(A), X };
      for (const [k, t] of Object.entries(got)) {
        assert.deepEqual(t.shape, want[k], `${k} of [${shape}] ${dtype}`);
      }
      // The least-squares solution of an empty system is the minimum-norm 0.
      assert.ok(Array.from(X.data()).every((v) => v === 0));
      assert.deepEqual(jit((a: Tensor) => linalg.qr(a).R)(A).shape, want.R);
    }
  }
});
