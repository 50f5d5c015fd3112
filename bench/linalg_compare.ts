/**
 * Side-by-side linear-algebra timings: jacobi (WebAssembly, one thread)
 * against numpy (OpenBLAS/LAPACK) and JAX (XLA CPU, jitted), both pinned to
 * one thread, for cholesky, lu, qr, eigh and svd at n = 32, 128, 512 in
 * float32 and float64, next to each library's own GEMM as the roof.
 *
 *   bash scripts/jax-venv.sh        # numpy and JAX into .venv-jax (once)
 *   deno run -A bench/linalg_compare.ts [--sizes=32,128,512] [--ops=...] [--min-reps=3]
 *
 * Rates are nominal flops over the best time: GEMM 2n³, Cholesky n³/3,
 * LU 2n³/3, QR with Q formed 4n³/3, eigh with vectors 9n³, SVD with U and
 * V 21n³ (Golub and Van Loan's counts for the LAPACK algorithms; jacobi's
 * Jacobi eigh and SVD do more work than that, which the rate shows). The
 * Python peer runs without jacobi in the process, after jacobi's runs.
 * @module
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

const arg = (name: string, fallback: string) =>
  (Deno.args.find((a) => a.startsWith(`--${name}=`)) ?? `=${fallback}`)
    .split("=")[1];
const sizes = arg("sizes", "32,128,512").split(",").map(Number);
const ops = arg("ops", "cholesky,lu,qr,eigh,svd").split(",");
/** Fewest timed calls per case (1 keeps eigh and svd at n = 512 short). */
const minReps = Number(arg("min-reps", "3"));

const FLOPS: Record<string, (n: number) => number> = {
  matmul: (n) => 2 * n ** 3,
  cholesky: (n) => n ** 3 / 3,
  lu: (n) => 2 * n ** 3 / 3,
  qr: (n) => 4 * n ** 3 / 3,
  eigh: (n) => 9 * n ** 3,
  svd: (n) => 21 * n ** 3,
};

type Row = { lib: string; op: string; dtype: string; n: number; ms: number };
const rows: Row[] = [];

/** Best of adaptive samples after a warm-up (at least minReps, about 0.3 s). */
function bestMs(run: () => Tensor[]): number {
  const free = (ts: Tensor[]) => ts.forEach((t) => t.dispose());
  free(run());
  let best = Infinity, spent = 0, reps = 0;
  while (reps < minReps || (spent < 300 && reps < 50)) {
    const t0 = performance.now();
    const out = run();
    out[0].data(); // wait for nothing lazy: read one result
    const dt = performance.now() - t0;
    free(out);
    best = Math.min(best, dt);
    spent += dt;
    reps++;
  }
  return best;
}

for (const dtype of ["float32", "float64"] as const) {
  for (const n of sizes) {
    const g = randn([n, n], { dtype });
    const spd = matmul(g, g.T).div(n).add(eye(n, { dtype }));
    const A = randn([n, n], { dtype });
    const fns: Record<string, () => Tensor[]> = {
      matmul: () => [matmul(A, A)],
      cholesky: () => [linalg.cholesky(spd)],
      lu: () => {
        const { LU, perm } = linalg.luFactor(A);
        return [LU, perm];
      },
      qr: () => {
        const { Q, R } = linalg.qr(A);
        return [Q, R];
      },
      eigh: () => {
        const { eigenvalues, eigenvectors } = linalg.eigh(spd);
        return [eigenvalues, eigenvectors];
      },
      svd: () => {
        const { U, S, Vh } = linalg.svd(A);
        return [U, S, Vh];
      },
    };
    for (const op of ["matmul", ...ops]) {
      if (!fns[op]) throw new Error(`unknown op ${op}`);
      const ms = bestMs(fns[op]);
      rows.push({ lib: "jacobi", op, dtype, n, ms });
      console.error(`jacobi ${op} ${dtype} ${n}: ${ms.toFixed(3)} ms`);
    }
  }
}

const python = ".venv-jax/bin/python";
try {
  // Pinned to one core as well (taskset), where the machine has it.
  const peer = ["bench/peers/linalg_peer.py", sizes.join(","), ops.join(",")];
  const pin = await new Deno.Command("taskset", { args: ["-V"] }).output()
    .then((o) => o.success, () => false);
  const out = await new Deno.Command(pin ? "taskset" : python, {
    args: pin ? ["-c", "0", python, ...peer] : peer,
    stderr: "inherit",
  }).output();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (line.trim()) rows.push(JSON.parse(line));
  }
} catch (e) {
  console.error(
    `no numpy/JAX columns (${python}: ${
      (e as Error).message
    }); run bash scripts/jax-venv.sh`,
  );
}

const libs = ["jacobi", "numpy", "jax"].filter((l) =>
  rows.some((r) => r.lib === l)
);
const find = (lib: string, op: string, dtype: string, n: number) =>
  rows.find((r) =>
    r.lib === lib && r.op === op && r.dtype === dtype && r.n === n
  );
console.log(
  `\n| op | dtype | n | ${
    libs.map((l) => `${l} ms | ${l} GFLOP/s (% of its GEMM)`).join(" | ")
  } |`,
);
console.log(`|${" --- |".repeat(3 + 2 * libs.length)}`);
for (const op of ["matmul", ...ops]) {
  for (const dtype of ["float32", "float64"]) {
    for (const n of sizes) {
      const cells = libs.map((lib) => {
        const r = find(lib, op, dtype, n);
        if (!r) return "– | –";
        const rate = FLOPS[op](n) / (r.ms * 1e6);
        const roof = find(lib, "matmul", dtype, n);
        const pct = roof && op !== "matmul"
          ? ` (${
            (100 * rate / (FLOPS.matmul(n) / (roof.ms * 1e6))).toFixed(0)
          }%)`
          : "";
        return `${r.ms.toFixed(3)} | ${rate.toFixed(2)}${pct}`;
      });
      console.log(`| ${op} | ${dtype} | ${n} | ${cells.join(" | ")} |`);
    }
  }
}
