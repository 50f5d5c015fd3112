/**
 * Single-thread f32 GEMM of several copies of the library, interleaved in
 * one process (A/B of kernel builds on a shared machine):
 *
 * ```sh
 * git -C /work/main archive main | tar -x -C /tmp/before
 * deno run --allow-read --allow-env --allow-sys bench/gemm_ab.ts \
 *   after=./mod.ts before=/tmp/before/mod.ts
 * ```
 *
 * Each copy runs `setNumThreads(1)` and `C = A·B` at GEMM_SIZES (default
 * 256,512,1024) through the eager `matmul`; ROUNDS (default 6) rounds of
 * 60 ms CPU-time samples per case, interleaved across copies, and the best
 * sample counts. The roof is bench/roof.ts's best f32 probe, measured in
 * between. `GEMM_SIMD128=1` forces the SIMD128 build of every copy (set
 * before the first import). The copies' products must agree to 1e-4.
 */
import { bestF32, cpuMs, measureRoof } from "./roof.ts";

const simd128 = Deno.env.get("GEMM_SIMD128") === "1";
if (simd128) {
  (globalThis as { jacobiRelaxedSimd?: boolean }).jacobiRelaxedSimd = false;
}
const sizes = (Deno.env.get("GEMM_SIZES") ?? "256,512,1024").split(",")
  .map(Number);
const rounds = Number(Deno.env.get("ROUNDS") ?? 6);

type Lib = typeof import("../mod.ts");
type Case = { name: string; flops: number; run: () => void };

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

const libs: [string, Lib][] = [];
for (const arg of Deno.args) {
  const at = arg.indexOf("=");
  if (at < 1) throw new Error(`expected name=path/to/mod.ts, got ${arg}`);
  const path = new URL(arg.slice(at + 1), `file://${Deno.cwd()}/`).href;
  libs.push([arg.slice(0, at), await import(path)]);
}
if (libs.length === 0) libs.push(["this", await import("../mod.ts")]);

const cases: Case[] = [];
for (const [name, lib] of libs) {
  lib.setNumThreads(1);
  for (const n of sizes) {
    const a = lib.tensor(data(n * n, 1)).reshape([n, n]);
    const b = lib.tensor(data(n * n, 2)).reshape([n, n]);
    cases.push({
      name: `${name} ${n}`,
      flops: 2 * n ** 3,
      run: () => lib.matmul(a, b).dispose(),
    });
  }
}

const outs = libs.map(([, lib]) => {
  const a = lib.tensor(data(300 * 257, 7)).reshape([300, 257]);
  const b = lib.tensor(data(257 * 301, 8)).reshape([257, 301]);
  return lib.matmul(a, b).data() as Float32Array;
});
for (const y of outs.slice(1)) {
  let worst = 0;
  for (let i = 0; i < y.length; i++) {
    worst = Math.max(worst, Math.abs(y[i] - outs[0][i]));
  }
  if (worst > 1e-4) throw new Error(`copies disagree by ${worst}`);
}

for (const c of cases) {
  const t0 = performance.now();
  while (performance.now() - t0 < 200) c.run(); // tier up
}
const best = new Map<string, number>();
let roof = 0;
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const t0 = cpuMs();
    let reps = 0;
    do {
      c.run();
      reps++;
    } while (cpuMs() - t0 < 60);
    const g = c.flops * reps / ((cpuMs() - t0) * 1e6);
    best.set(c.name, Math.max(best.get(c.name) ?? 0, g));
  }
  if (r % 2 === 0) {
    roof = Math.max(roof, bestF32(measureRoof({ rounds: 2 })).gflops);
  }
}
console.log(
  `roof: f32 ${roof.toFixed(1)} GFLOP/s; ${
    simd128 ? "SIMD128" : "default (relaxed-SIMD where validated)"
  } module, one thread, best of ${rounds} rounds`,
);
for (const c of cases) {
  const g = best.get(c.name)!;
  console.log(
    `  ${c.name.padEnd(16)} ${g.toFixed(1).padStart(6)} GFLOP/s ${
      (100 * g / roof).toFixed(1).padStart(5)
    }% of roof`,
  );
}
