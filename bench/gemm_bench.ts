/**
 * GEMM throughput against the measured roof, single thread:
 * `deno bench --allow-read --allow-env bench/gemm_bench.ts`.
 *
 * Cases: square f32/f64 products at 128/256/512/1024, as `A·B` and as
 * `A·Bᵀ` (the layout `linear` produces), plus the MLP layer shape
 * 128×784 · (256×784)ᵀ. Each runs through the eager `matmul` (one lowering
 * and one executor run, as a user calls it). At unload it prints the best
 * GFLOP/s of interleaved samples, the roof from bench/roof.ts (the best
 * f32 multiply-add probe over 4–16 chains) and each case as a share of it.
 */
import * as jacobi from "../mod.ts";
import {
  bestF32,
  bestF64,
  cpuMs,
  measureRoof,
  type RoofPoint,
} from "./roof.ts";

type Lib = typeof jacobi;
type Case = { name: string; flops: number; run: () => void };
const cases: Case[] = [];
const sizes = (Deno.env.get("GEMM_SIZES") ?? "128,256,512,1024")
  .split(",").map(Number);

// GEMM_BASELINE=/path/to/other/mod.ts interleaves a second copy of the
// library (e.g. `git archive main` unpacked elsewhere): before/after in one run.
// GEMM_VARIANTS=name=/path/mod.ts,... adds more copies (A/B of builds).
const libs: [string, Lib][] = [["", jacobi]];
const baseline = Deno.env.get("GEMM_BASELINE");
if (baseline) libs.push(["before ", await import(baseline)]);
for (const v of (Deno.env.get("GEMM_VARIANTS") ?? "").split(",")) {
  if (!v) continue;
  const [name, path] = v.split("=");
  libs.push([`${name} `, await import(path)]);
}

// One thread unless GEMM_THREADS says more: the rates are read against the
// single-core roof (and CPU time counts every thread).
const threads = Number(Deno.env.get("GEMM_THREADS") ?? 1);
for (const [, lib] of libs) {
  (lib as { setNumThreads?: (n: number) => void }).setNumThreads?.(threads);
}

function data(n: number, seed: number, f64: boolean) {
  const a = f64 ? new Float64Array(n) : new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

for (const [tag, lib] of libs) {
  for (const dtype of ["float32", "float64"] as const) {
    for (const n of sizes) {
      const a = lib.tensor(data(n * n, 1, dtype === "float64")).reshape([n, n]);
      const b = lib.tensor(data(n * n, 2, dtype === "float64")).reshape([n, n]);
      for (const tb of [false, true]) {
        cases.push({
          name: `${tag}${dtype} ${n}x${n}x${n} ${tb ? "A·Bᵀ" : "A·B"}`,
          flops: 2 * n ** 3,
          run: () => lib.matmul(a, b, tb).dispose(),
        });
      }
    }
  }
  const [m, k, n] = [128, 784, 256];
  const x = lib.tensor(data(m * k, 3, false)).reshape([m, k]);
  const w = lib.tensor(data(n * k, 4, false)).reshape([n, k]);
  cases.push({
    name: `${tag}float32 MLP layer ${m}x${k}·(${n}x${k})ᵀ`,
    flops: 2 * m * n * k,
    run: () => lib.matmul(x, w, true).dispose(),
  });
}
// Both copies must agree (the baseline is the reference for the new kernel).
if (libs.length >= 2) {
  const [x, ...ys] = libs.map(([, lib]) => {
    const a = lib.tensor(data(300 * 257, 7, false)).reshape([300, 257]);
    const b = lib.tensor(data(301 * 257, 8, false)).reshape([301, 257]);
    return lib.matmul(a, b, true).data();
  });
  let worst = 0;
  for (const y of ys) {
    for (let i = 0; i < x.length; i++) {
      worst = Math.max(worst, Math.abs(x[i] - y[i]));
    }
  }
  if (worst > 1e-4) throw new Error(`baseline disagrees by ${worst}`);
}

const best = new Map<string, number>();
function sample(c: Case): void {
  const t0 = cpuMs();
  let reps = 0;
  do {
    c.run();
    reps++;
  } while (cpuMs() - t0 < 30);
  const rate = (c.flops * reps) / ((cpuMs() - t0) * 1e6);
  best.set(c.name, Math.max(best.get(c.name) ?? 0, rate));
}

for (const c of cases) {
  Deno.bench({ name: `matmul ${c.name} (${c.flops / 1e6} MFLOP)`, fn: c.run });
}

globalThis.addEventListener("unload", () => {
  for (const c of cases) {
    const t0 = performance.now();
    while (performance.now() - t0 < 100) c.run(); // tier up
  }
  let roof: RoofPoint[] = [];
  for (let round = 0; round < 5; round++) {
    for (const c of cases) sample(c);
    if (round === 0) roof = measureRoof({ rounds: 3 });
  }
  const r = bestF32(roof);
  const r64 = bestF64(roof);
  console.log(
    `\nroof: f32 ${
      r.gflops.toFixed(1)
    } GFLOP/s (${r.kind}, ${r.chains} chains), ` +
      `f64 ${
        r64.gflops.toFixed(1)
      } GFLOP/s (${r64.kind}, ${r64.chains} chains)`,
  );
  console.log("GEMM, best of 5 interleaved samples of 30 ms CPU time:");
  for (const c of cases) {
    const g = best.get(c.name)!;
    const of = c.name.includes("float64") ? r64.gflops : r.gflops;
    console.log(
      `  ${c.name.padEnd(45)} ${g.toFixed(1).padStart(6)} GFLOP/s  ` +
        `${(100 * g / of).toFixed(0).padStart(3)}% of roof`,
    );
  }
});
