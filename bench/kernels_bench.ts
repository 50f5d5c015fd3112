/**
 * Kernel benchmarks: `deno bench bench/kernels_bench.ts`. Each kernel runs
 * through the primitive that launches it (one eager call: its lowering and
 * one executor run), so the small cases include that dispatch.
 *
 * Deno.bench names carry the work per iteration; a summary of GFLOP/s and
 * GB/s (best of interleaved samples, after warm-up) prints at unload.
 *
 * The SIMD roof is not measured here: the old `simd_peak_f32` probe (8
 * chains of dependent mul+add) was latency-bound and read about half the
 * machine's rate. bench/roof.ts sweeps 4–16 chains, plain and relaxed, and
 * bench/gemm_bench.ts reads GEMM against it.
 */
import type { Storage } from "../src/backend/storage.ts";
import { copyStrided, randomUniform } from "../src/backend/kernels.ts";
import { Tensor } from "../src/core/tensor.ts";
import { matmul } from "../mod.ts";

function rand(dtype: "float32" | "float64", n: number, seed: number): Storage {
  return randomUniform(dtype, n, seed, 0);
}

/** A tensor of `shape` over a storage from {@link rand}. */
const T = (s: Storage, shape: number[]) =>
  Tensor._fromStorage(s, shape, s.dtype);

type Case = {
  name: string;
  work: number;
  unit: "GFLOP/s" | "GB/s";
  run: () => void;
};
const cases: Case[] = [];

for (const dtype of ["float32", "float64"] as const) {
  for (const n of [64, 256, 512, 1024]) {
    const a = rand(dtype, n * n, 1), b = rand(dtype, n * n, 2);
    cases.push({
      name: `matmul ${dtype} ${n}x${n}`,
      work: 2 * n ** 3,
      unit: "GFLOP/s",
      run: () => matmul(T(a, [n, n]), T(b, [n, n])).dispose(),
    });
  }
}
const M = 1 << 20;
const x = rand("float32", M, 5), y = rand("float32", M, 6);
cases.push({
  name: "tanh float32 1M",
  work: 8 * M, // bytes read + written
  unit: "GB/s",
  run: () => T(x, [M]).tanh().dispose(),
});
cases.push({
  name: "exp float32 1M",
  work: 8 * M,
  unit: "GB/s",
  run: () => T(x, [M]).exp().dispose(),
});
cases.push({
  name: "add float32 1M",
  work: 12 * M,
  unit: "GB/s",
  run: () => T(x, [M]).add(T(y, [M])).dispose(),
});
cases.push({
  name: "add float32 1024x1024 + row broadcast",
  work: 8 * M,
  unit: "GB/s",
  run: () => T(x, [1024, 1024]).add(T(y, [1024])).dispose(),
});
{
  // hessian(predict)'s two hot kernels at the tutorial's 32x512 size.
  const [P, Q] = [512, 32];
  const n3 = P * Q * P;
  const t = rand("float32", n3, 7);
  cases.push({
    name: "permute float32 [512,32,512] -> [1,2,0]",
    work: 8 * n3, // bytes read + written
    unit: "GB/s",
    run: () => copyStrided(t, 0, [Q, P, P], [P, 1, Q * P]).dispose(),
  });
  const wa = rand("float32", Q * P, 8), wb = rand("float32", P * Q, 9);
  cases.push({
    name: "mul float32 [32,512] * [512,32,1]",
    work: 4 * n3, // bytes written (operands stay in cache)
    unit: "GB/s",
    run: () => T(wa, [Q, P]).mul(T(wb, [P, Q, 1])).dispose(),
  });
}
cases.push({
  name: "sum float32 1M",
  work: 4 * M,
  unit: "GB/s",
  run: () => T(x, [M]).sum(0).dispose(),
});
cases.push({
  name: "sum float32 1024x1024 over axis 0",
  work: 4 * M,
  unit: "GB/s",
  run: () => T(x, [1024, 1024]).sum(0).dispose(),
});
cases.push({
  name: "sum float32 1024x1024 over axis 1",
  work: 4 * M,
  unit: "GB/s",
  run: () => T(x, [1024, 1024]).sum(1).dispose(),
});
cases.push({
  name: "sum float32 [64,128,64] over [0,2]",
  work: 4 * 64 * 128 * 64,
  unit: "GB/s",
  run: () => T(x, [64, 128, 64]).sum([0, 2]).dispose(),
});
cases.push({
  name: "sum float32 [524288,2] over axis 0",
  work: 4 * M,
  unit: "GB/s",
  run: () => T(x, [M / 2, 2]).sum(0).dispose(),
});
{
  const xd = rand("float64", M, 11);
  cases.push({
    name: "sum float64 1M",
    work: 8 * M,
    unit: "GB/s",
    run: () => T(xd, [M]).sum().dispose(),
  });
}
cases.push({
  name: "max float32 [4096,256] over axis 1",
  work: 4 * M,
  unit: "GB/s",
  run: () => T(x, [4096, 256]).max(1).dispose(),
});
cases.push({
  name: "argmax float32 1024x1024 over axis 0",
  work: 4 * M,
  unit: "GB/s",
  run: () => T(x, [1024, 1024]).argmax(0).dispose(),
});
{
  const s16 = rand("float32", 16, 10);
  cases.push({
    name: "sum float32 [16] (per-call overhead)",
    work: 4 * 16,
    unit: "GB/s",
    run: () => T(s16, [16]).sum(0).dispose(),
  });
}
// Best rate per case from interleaved timed samples (noisy shared machine).
const best = new Map<string, number>();
function sample(c: Case): void {
  const t0 = performance.now();
  let reps = 0;
  do {
    c.run();
    reps++;
  } while (performance.now() - t0 < 20);
  const rate = (c.work * reps) / ((performance.now() - t0) * 1e6);
  best.set(c.name, Math.max(best.get(c.name) ?? 0, rate));
}

for (const c of cases) {
  for (let i = 0; i < 3; i++) c.run(); // warm-up: V8 tiers wasm up
  Deno.bench({ name: `${c.name} (${c.unit})`, fn: c.run });
}

globalThis.addEventListener("unload", () => {
  for (let round = 0; round < 5; round++) for (const c of cases) sample(c);
  console.log("\nkernel throughput (best of 5 interleaved 20 ms samples):");
  for (const c of cases) {
    console.log(
      `  ${c.name.padEnd(40)} ${best.get(c.name)!.toFixed(2)} ${c.unit}`,
    );
  }
});
