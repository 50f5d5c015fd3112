/**
 * Gaussian-process regression with an RBF kernel: the hyperparameters
 * (log length scale, log signal variance, log noise variance) maximise the
 * log marginal likelihood, computed with `linalg.cholesky`, a triangular
 * solve and the log-determinant from the factor's diagonal. They are fitted
 * by Newton's method with `grad` and `hessian` (a damped step while the
 * Hessian is indefinite), and the Hessian at the optimum gives a Laplace
 * approximation of their uncertainty.
 *
 *   npx --yes deno@2 run examples/gaussian_process.ts [--quick]
 *
 * Every result is checked; a disagreement throws.
 * @module
 */
import {
  eye,
  grad,
  hessian,
  jit,
  linalg,
  type Tensor,
  tensor,
} from "../mod.ts";
import { QUICK } from "./_util.ts";

// Data: y = sin(x) + noise (sd 0.1) at 40 points, from a seeded generator.
const N = 40;
let seed = 12345;
const uniform = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const xsArr = Array.from({ length: N }, () => uniform() * 10 - 5);
const ysArr = xsArr.map((x) => {
  const u = 1 - uniform(), v = uniform();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.sin(x) + 0.1 * z;
});
const f64 = { dtype: "float64" } as const;
const xs = tensor(xsArr, f64), ys = tensor(ysArr, f64);
const d2 = xs.reshape([N, 1]).sub(xs.reshape([1, N])).square();
const I = eye(N, f64);

/** −log p(y | θ) for θ = [log ℓ, log σf², log σn²] (up to the constant). */
function nll(theta: Tensor): Tensor {
  const [logEll, logSf2, logSn2] = [0, 1, 2].map((i) => theta.select(0, i));
  const K = d2.div(logEll.mul(2).exp().mul(-2)).exp().mul(logSf2.exp())
    .add(I.mul(logSn2.exp()));
  const L = linalg.cholesky(K);
  // ½ yᵀK⁻¹y = ½ ‖L⁻¹y‖², and ½ log det K = Σ log Lᵢᵢ.
  const alpha = linalg.solveTriangular(L, ys.reshape([N, 1]), { upper: false });
  const logdet = L.mul(I).sum(-1).log().sum();
  return alpha.square().sum().mul(0.5).add(logdet);
}

const value = jit(nll),
  gradient = jit(grad(nll)),
  curvature = jit(hessian(nll));
const maxAbs = (v: Tensor) => Math.max(...Array.from(v.data(), Math.abs));

console.log(
  `jacobi: Gaussian-process hyperparameters${QUICK ? " (quick)" : ""}`,
);
let theta = tensor([0, 0, Math.log(0.5)], f64);
console.log(
  `start: θ = [${fmt(theta)}], −log p = ${value(theta).item().toFixed(4)}`,
);
let iters = 0;
for (; iters < 100 && maxAbs(gradient(theta)) > 1e-9; iters++) {
  const g = gradient(theta), H = curvature(theta);
  let p: Tensor | null = null;
  for (let damping = 0; p === null; damping = Math.max(1e-3, damping * 10)) {
    try {
      const L = linalg.cholesky(H.add(eye(3, f64).mul(damping)));
      p = linalg.choleskySolve(g.neg().reshape([3, 1]), L).reshape([3]);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  const f0 = value(theta).item(), slope = g.mul(p).sum().item();
  let t = 1;
  while (value(theta.add(p.mul(t))).item() > f0 + 1e-4 * t * slope) t /= 2;
  theta = theta.add(p.mul(t));
}
const gFinal = maxAbs(gradient(theta));
if (!(gFinal < 1e-9)) throw new Error(`did not converge: |g| = ${gFinal}`);
const [ell, sf2, sn2] = Array.from(theta.data(), Math.exp);
console.log(
  `Newton: ${iters} iterations, |∇| = ${gFinal.toExponential(1)}; ℓ = ${
    ell.toFixed(3)
  }, σf² = ${sf2.toFixed(3)}, σn = ${Math.sqrt(sn2).toFixed(3)}`,
);
// The data were made with noise sd 0.1 and a smooth sine.
if (Math.abs(Math.sqrt(sn2) - 0.1) > 0.05) throw new Error("noise level off");

// Laplace approximation: covariance of θ ≈ H⁻¹ at the optimum.
const H = curvature(theta);
if (maxAbs(H.sub(H.transpose(0, 1))) > 1e-9) throw new Error("H not symmetric");
linalg.cholesky(H); // throws if the optimum is not a strict minimum
const sd = Array.from(linalg.inv(H).mul(eye(3, f64)).sum(1).data(), Math.sqrt);
console.log(
  `Laplace sd of [log ℓ, log σf², log σn²]: [${
    sd.map((s) => s.toFixed(3)).join(", ")
  }]`,
);
// The Hessian against central differences of the gradient.
const h = 1e-5;
for (let j = 0; j < 3; j++) {
  const e = tensor([0, 1, 2].map((i) => (i === j ? h : 0)), f64);
  const col = gradient(theta.add(e)).sub(gradient(theta.sub(e))).div(2 * h);
  const err = maxAbs(col.sub(H.select(1, j)));
  if (err > 1e-5 * (1 + maxAbs(H))) {
    throw new Error(`Hessian column ${j}: ${err}`);
  }
}
console.log(
  "ok: Hessian equals differences of the gradient, and is positive definite",
);
console.log("All results agree.");

function fmt(v: Tensor): string {
  return Array.from(v.data(), (x) => x.toFixed(3)).join(", ");
}
