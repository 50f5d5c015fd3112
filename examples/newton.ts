/**
 * Newton's method on the extended Rosenbrock function with `hessian` and
 * `linalg`: the Newton step solves H p = −g by Cholesky, and when H is not
 * positive definite (the Cholesky error) the step is damped, H + λI, until
 * it is; a backtracking line search keeps every step a descent step.
 * Gradient descent for the same number of iterations is far from done.
 *
 *   npx --yes deno@2 run examples/newton.ts [--quick]
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

/** Σ 100 (x₂ᵢ₊₁ − x₂ᵢ²)² + (1 − x₂ᵢ)², minimum 0 at all ones. */
function rosenbrock(x: Tensor): Tensor {
  const pairs = x.reshape([-1, 2]);
  const a = pairs.select(1, 0), b = pairs.select(1, 1);
  return b.sub(a.square()).square().mul(100).add(a.neg().add(1).square())
    .sum();
}

const f = jit(rosenbrock), g = jit(grad(rosenbrock));
const H = jit(hessian(rosenbrock));

/** Largest |v|. */
const maxAbs = (v: Tensor) => Math.max(...Array.from(v.data(), Math.abs));

/** Solves H p = −g, damping H + λI until its Cholesky factor exists. */
function newtonStep(h: Tensor, gr: Tensor): { p: Tensor; damping: number } {
  const n = gr.shape[0];
  const I = eye(n, { dtype: "float64" });
  for (let damping = 0;; damping = Math.max(1e-3, damping * 10)) {
    try {
      const L = linalg.cholesky(h.add(I.mul(damping)));
      const p = linalg.choleskySolve(gr.neg().reshape([n, 1]), L).reshape([n]);
      return { p, damping };
    } catch (e) {
      if (
        !(e instanceof RangeError) || !/not positive definite/.test(e.message)
      ) {
        throw e;
      }
    }
  }
}

/** (−1.2, 1, −1.2, 1, ...), the classic start, or (0, 1, ...) where H is indefinite. */
const startAt = (n: number, a: number) =>
  Array.from({ length: n }, (_, i) => (i % 2 === 0 ? a : 1));

function newton(
  n: number,
  a = -1.2,
): { iters: number; damped: number; ms: number } {
  const start = startAt(n, a);
  let x = tensor(start, { dtype: "float64" });
  let damped = 0;
  const t0 = performance.now();
  for (let it = 0; it < 200; it++) {
    const gr = g(x);
    if (maxAbs(gr) < 1e-10) {
      return { iters: it, damped, ms: performance.now() - t0 };
    }
    const { p, damping } = newtonStep(H(x), gr);
    if (damping > 0) damped++;
    // Backtracking (Armijo) line search along the descent direction p.
    const fx = f(x).item(), slope = gr.mul(p).sum().item();
    let t = 1;
    while (f(x.add(p.mul(t))).item() > fx + 1e-4 * t * slope && t > 1e-10) {
      t /= 2;
    }
    x = x.add(p.mul(t));
  }
  throw new Error(`Newton did not converge for n = ${n}`);
}

function gradientDescent(n: number, iters: number): number {
  const start = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
  let x = tensor(start, { dtype: "float64" });
  for (let it = 0; it < iters; it++) x = x.sub(g(x).mul(1e-3));
  return maxAbs(g(x));
}

console.log(
  `jacobi: Newton's method with hessian and linalg${QUICK ? " (quick)" : ""}`,
);
for (const n of QUICK ? [100] : [100, 1000]) {
  const { iters, damped, ms } = newton(n);
  const gd = gradientDescent(n, iters);
  console.log(
    `n = ${n}: Newton converged (|g| < 1e-10) in ${iters} iterations (${damped} damped), ${
      ms.toFixed(0)
    } ms; gradient descent after ${iters} iterations: |g| = ${
      gd.toExponential(2)
    }`,
  );
  if (!(gd > 1e-6)) throw new Error("gradient descent should be far from done");
}
{
  // From (0, 1, ...) the Hessian diag(−398, 200) blocks is indefinite: the
  // first Cholesky fails, naming its pivot, and the damped step is taken.
  const { iters, damped } = newton(100, 0);
  console.log(
    `n = 100 from (0, 1, ...): converged in ${iters} iterations, ${damped} of them damped`,
  );
  if (damped === 0) {
    throw new Error("expected damped steps from an indefinite start");
  }
}
// The solution is all ones: check Newton's answer directly.
{
  const n = 10;
  let x = tensor(
    Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1)),
    {
      dtype: "float64",
    },
  );
  for (let it = 0; it < 200 && maxAbs(g(x)) >= 1e-10; it++) {
    const { p } = newtonStep(H(x), g(x));
    const fx = f(x).item(), slope = g(x).mul(p).sum().item();
    let t = 1;
    while (f(x.add(p.mul(t))).item() > fx + 1e-4 * t * slope && t > 1e-10) {
      t /= 2;
    }
    x = x.add(p.mul(t));
  }
  if (maxAbs(x.sub(1)) > 1e-8) throw new Error(`not at the minimum: ${x}`);
  console.log("ok: the minimiser is all ones");
}
console.log("All results agree.");
