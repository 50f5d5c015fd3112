/**
 * Linear-algebra benchmarks: `deno bench bench/linalg_bench.ts`. Each
 * factorization runs through its public op (one eager call: lowering and
 * one executor run) at n = 32, 128, 512 in float32 and float64, next to
 * GEMM at the same size and dtype, the roof the issue measures against.
 *
 * Deno.bench names carry the work per iteration (the usual flop counts:
 * Cholesky n³/3, LU solve with n right-hand sides 8n³/3, Householder QR
 * with Q formed 4n³/3, GEMM 2n³); a summary of GFLOP/s and the ratio to
 * GEMM (best of interleaved samples, after warm-up) prints at unload.
 * eigh and svd (Jacobi, several sweeps of O(n³)) and the compositions
 * (pinv, lstsq, norms, matrixPower, matrixExp, multiDot, cross, complete
 * QR) run at 32 and 128 only and are reported in milliseconds per call.
 */
import {
  eye,
  linalg,
  matmul,
  randn,
  setNumThreads,
  type Tensor,
} from "../mod.ts";

// One thread: the peers (numpy, JAX) are pinned to one core too.
setNumThreads(1);

type Case = {
  name: string;
  op: string;
  dtype: string;
  n: number;
  work: number;
  run: () => void;
};
const cases: Case[] = [];

/** Symmetric positive definite, condition number about 5. */
function spd(n: number, dtype: "float32" | "float64"): Tensor {
  const m = randn([n, n], { dtype });
  return matmul(m, m.transpose(-2, -1)).div(n).add(eye(n, { dtype }));
}

for (const dtype of ["float32", "float64"] as const) {
  for (const n of [32, 128, 512]) {
    const A = spd(n, dtype), B = randn([n, n], { dtype });
    const add = (op: string, work: number, run: () => Tensor | Tensor[]) =>
      cases.push({
        name: `${op} ${dtype} ${n}x${n}`,
        op,
        dtype,
        n,
        work,
        run: () => {
          const r = run();
          for (const t of Array.isArray(r) ? r : [r]) t.dispose();
        },
      });
    add("matmul", 2 * n ** 3, () => matmul(A, B));
    add("cholesky", n ** 3 / 3, () => linalg.cholesky(A));
    add("solve", 8 * n ** 3 / 3, () => linalg.solve(A, B));
    add("qr", 4 * n ** 3 / 3, () => {
      const { Q, R } = linalg.qr(B);
      return [Q, R];
    });
    add("slogdet", 2 * n ** 3 / 3, () => {
      const { sign, logabsdet } = linalg.slogdet(B);
      return [sign, logabsdet];
    });
    // Tridiagonal reduction + implicit QR from n = 32 (Jacobi below).
    add("eigh", 0, () => {
      const { eigenvalues, eigenvectors } = linalg.eigh(A);
      return [eigenvalues, eigenvectors];
    });
    if (n <= 128) {
      // One-sided Jacobi SVD (several sweeps of O(n³)), and what is built
      // on it or on QR: reported in milliseconds per call.
      add("svd", 0, () => {
        const { U, S, Vh } = linalg.svd(B);
        return [U, S, Vh];
      });
      add("svdvals", 0, () => linalg.svdvals(B));
      add("pinv", 0, () => linalg.pinv(B));
      add("lstsq", 0, () => linalg.lstsq(B, A));
      add("matrixNorm nuc", 0, () => linalg.matrixNorm(B, "nuc"));
      add("matrixNorm 1", 0, () => linalg.matrixNorm(B, 1));
      add("vectorNorm 3", 0, () => linalg.vectorNorm(B, 3));
      add("matrixPower 9", 0, () => linalg.matrixPower(B, 9));
      add("matrixExp", 0, () => linalg.matrixExp(B));
      add("multiDot", 0, () => linalg.multiDot([A, B, A]));
      add("qr complete", 0, () => {
        const { Q, R } = linalg.qr(B, { mode: "complete" });
        return [Q, R];
      });
      const u = randn([n * 64, 3], { dtype }),
        v = randn([n * 64, 3], { dtype });
      add(`cross ${n * 64}`, 0, () => linalg.cross(u, v));
    }
  }
}

// Best rate (or time) per case from interleaved samples (noisy machine).
const best = new Map<string, number>();
function sample(c: Case): void {
  const t0 = performance.now();
  let reps = 0;
  do {
    c.run();
    reps++;
  } while (performance.now() - t0 < 20);
  const ms = (performance.now() - t0) / reps;
  const v = c.work > 0 ? c.work / (ms * 1e6) : -ms;
  best.set(c.name, Math.max(best.get(c.name) ?? -Infinity, v));
}

for (const c of cases) {
  c.run(); // warm-up: V8 tiers wasm up
  Deno.bench({
    name: `${c.name} (${c.work > 0 ? "GFLOP/s" : "ms"})`,
    fn: c.run,
  });
}

globalThis.addEventListener("unload", () => {
  for (let round = 0; round < 3; round++) for (const c of cases) sample(c);
  console.log("\nlinalg throughput (best of 3 interleaved 20 ms samples):");
  for (const c of cases) {
    const v = best.get(c.name)!;
    if (c.work === 0) {
      console.log(`  ${c.name.padEnd(34)} ${(-v).toFixed(2)} ms`);
      continue;
    }
    const roof = best.get(`matmul ${c.dtype} ${c.n}x${c.n}`)!;
    const ratio = c.op === "matmul"
      ? ""
      : `  (${(100 * v / roof).toFixed(0)}% of GEMM)`;
    console.log(`  ${c.name.padEnd(34)} ${v.toFixed(2)} GFLOP/s${ratio}`);
  }
});
