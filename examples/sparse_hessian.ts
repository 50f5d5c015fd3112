/**
 * Newton's method on the chained (extended) Rosenbrock function at
 * n = 10,000 with a sparse Hessian. The Hessian is tridiagonal:
 * `hessianSparsity` finds that from the traced program (no values read),
 * a star colouring groups the 10,000 columns into 3, and
 * `hessian(f, { sparsity, format: "csr" })` computes it from 3
 * Hessian-vector products instead of 10,000. The Newton step solves the
 * tridiagonal system by an LDLᵀ factorization, damped (H + λI) where H is
 * not positive definite, with a backtracking line search.
 *
 *   npx --yes deno@2 run examples/sparse_hessian.ts [--quick]
 *
 * Every result is checked; a disagreement throws.
 * @module
 */
import {
  colorSparsity,
  grad,
  hessian,
  hessianSparsity,
  jit,
  type SparseMatrix,
  type Tensor,
  tensor,
} from "../mod.ts";
import { QUICK, timeAll } from "./_util.ts";

/** Σᵢ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²: minimum 0 at all ones. */
function rosenbrock(x: Tensor): Tensor {
  const a = x.slice(0, 0, -1), b = x.slice(0, 1);
  return b.sub(a.square()).square().mul(100).add(a.neg().add(1).square())
    .sum();
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

const n = 10_000;
/**
 * The start: all 0.5. (From the classic (−1.2, 1, −1.2, ...) a line-search
 * Newton on the chained function needs more than 100 iterations at this n:
 * it settles in a valley near x ≈ −1 and leaves it one coordinate at a time.)
 */
const start = (n: number) => tensor(new Float64Array(n).fill(0.5));

// 1. The pattern, once: traced on the shape, no numeric evaluation.
let t0 = performance.now();
const sparsity = hessianSparsity(rosenbrock)(start(n));
const detectMs = performance.now() - t0;
t0 = performance.now();
const coloring = colorSparsity(sparsity, { kind: "star" });
console.log(
  `Hessian pattern: [${sparsity.shape}], ${sparsity.nnz} entries (found in ${
    detectMs.toFixed(0)
  } ms); star colouring: ${coloring.numColors} colours, so ${coloring.numColors} Hessian-vector products (coloured in ${
    (performance.now() - t0).toFixed(0)
  } ms)`,
);
check(sparsity.nnz === 3 * n - 2, "the pattern is tridiagonal");

// 2. The sparse Hessian agrees with the dense one (small n).
{
  const m = 200,
    x = tensor(new Float64Array(m).fill(-1.2)).add(
      tensor(
        Float64Array.from({ length: m }, (_, i) => Math.sin(i)),
      ).mul(0.1),
    );
  const H = hessian(rosenbrock)(x);
  const S = hessian(rosenbrock, { sparsity: "auto", format: "csr" })(
    x,
  ) as SparseMatrix;
  const diff = S.toDense().sub(H).abs().max().item();
  check(
    diff <= 1e-9 * H.abs().max().item(),
    `sparse Hessian (csr, ${S.nnz} entries) == dense hessian at n = ${m}`,
  );
}

const f = jit(rosenbrock), g = jit(grad(rosenbrock));
const H = jit((x: Tensor) =>
  (hessian(rosenbrock, { sparsity, format: "csr" })(x) as SparseMatrix).values
);
const rowPtr = sparsity.rowPtr, cols = sparsity.colIndices;

/** The diagonal and superdiagonal of the tridiagonal Hessian from its CSR values. */
function bands(values: ArrayLike<number>): [Float64Array, Float64Array] {
  const d = new Float64Array(n), e = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
      const j = cols[k];
      if (j === i) d[i] = values[k];
      else if (j === i + 1) e[i] = values[k];
      else if (j !== i - 1) {
        throw new Error(`entry (${i}, ${j}) is off the band`);
      }
    }
  }
  return [d, e];
}

/**
 * Solves (T + λI) p = b for the symmetric tridiagonal T = (d, e) by LDLᵀ;
 * null when a pivot is not positive (then T + λI is not positive definite).
 */
function solveTridiagonal(
  d: Float64Array,
  e: Float64Array,
  lambda: number,
  b: Float64Array,
): Float64Array | null {
  const D = new Float64Array(n), l = new Float64Array(n - 1);
  D[0] = d[0] + lambda;
  for (let i = 0; i < n - 1; i++) {
    if (!(D[i] > 0)) return null;
    l[i] = e[i] / D[i];
    D[i + 1] = d[i + 1] + lambda - l[i] * e[i];
  }
  if (!(D[n - 1] > 0)) return null;
  const y = new Float64Array(n);
  y[0] = b[0];
  for (let i = 1; i < n; i++) y[i] = b[i] - l[i - 1] * y[i - 1];
  const p = new Float64Array(n);
  p[n - 1] = y[n - 1] / D[n - 1];
  for (let i = n - 2; i >= 0; i--) p[i] = y[i] / D[i] - l[i] * p[i + 1];
  return p;
}

// 3. Newton.
let x = start(n);
let iters = 0, damped = 0, gmax = Infinity, residual = Infinity;
t0 = performance.now();
for (; iters < 100; iters++) {
  const gr = g(x), gd = gr.data();
  gmax = 0;
  for (const v of gd) gmax = Math.max(gmax, Math.abs(v));
  if (gmax < 1e-10) break;
  const values = H(x).data();
  const [d, e] = bands(values);
  const b = Float64Array.from(gd, (v) => -v);
  let p: Float64Array | null = null, lambda = 0;
  for (; p === null; lambda = Math.max(1e-3, lambda * 10)) {
    p = solveTridiagonal(d, e, lambda, b);
    if (p !== null) break;
  }
  if (lambda > 0) damped++;
  const pt = tensor(p);
  if (iters === 0) {
    // The solve against the sparse matrix itself: ‖(H + λI) p + g‖.
    const S = hessian(rosenbrock, { sparsity, format: "csr" })(
      x,
    ) as SparseMatrix;
    residual = S.matvec(pt).add(pt.mul(lambda)).add(gr).abs().max().item();
  }
  // Backtracking (Armijo) line search along the descent direction p.
  const fx = f(x).item(), slope = gr.mul(pt).sum().item();
  let t = 1;
  while (f(x.add(pt.mul(t))).item() > fx + 1e-4 * t * slope && t > 1e-12) {
    t /= 2;
  }
  x = x.add(pt.mul(t));
}
const newtonMs = performance.now() - t0;
console.log(
  `n = ${n}: Newton converged (‖g‖∞ = ${
    gmax.toExponential(1)
  } < 1e-10) in ${iters} iterations (${damped} damped), ${
    newtonMs.toFixed(0)
  } ms`,
);
check(gmax < 1e-10, "the gradient is below 1e-10");
check(
  residual < 1e-8,
  `the first step solves (H + λI) p = −g against the sparse matrix (residual ${
    residual.toExponential(1)
  })`,
);
const xd = x.data();
check(
  xd.every((v) => Math.abs(v - 1) < 1e-8),
  "the minimiser is all ones",
);

// 4. Times: the sparse Hessian at n = 10,000 against the dense one at smaller n.
const xs = start(n);
const m = QUICK ? 500 : 2000;
const xm = start(m);
const denseJ = jit(hessian(rosenbrock));
const sparseM = jit((x: Tensor) =>
  (hessian(rosenbrock, { sparsity: "auto", format: "csr" })(x) as SparseMatrix)
    .values
);
const [sparseT, sparseSmall, denseT] = await timeAll([
  [`sparse hessian (3 HVPs), n = ${n}`, () => H(xs).data()],
  [`sparse hessian (3 HVPs), n = ${m}`, () => sparseM(xm).data()],
  [`dense hessian (${m} HVPs), n = ${m}`, () => denseJ(xm).data()],
], QUICK ? 5 : 50);
console.log(
  `jit: sparse ${sparseT.ms.toFixed(2)} ms at n = ${n}; at n = ${m} sparse ${
    sparseSmall.ms.toFixed(2)
  } ms vs dense ${denseT.ms.toFixed(1)} ms (${
    (denseT.ms / sparseSmall.ms).toFixed(0)
  }x)`,
);
console.log("All results agree.");
