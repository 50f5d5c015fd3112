// What the JavaScript peers of the realistic group (bench/compare/
// realistic.ts) share under Node: the inputs (the formula of
// bench/compare/realistic_rows.ts inputValue), the parameter shapes of the
// MLP and PINN rows, the timing of one request and the stdin/stdout
// protocol. realistic_common.py is its Python twin; each peer supplies its
// own functions.

import { createInterface } from "node:readline";
import process from "node:process";

/** Input `seed` of `shape` as float32 values, as every peer computes it. */
export function inputArray(seed, shape, scale) {
  const size = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a[i] = Math.fround(scale * Math.sin(i * 0.7 + seed * 1.3 + 0.25));
  }
  return a;
}

/** One-hot labels, example b of class 7b mod classes. */
export function labelsArray(batch, classes) {
  const a = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) a[i * classes + ((i * 7) % classes)] = 1;
  return a;
}

/** [seed, shape, scale] of each parameter, in order. */
export const MLP_PARAMS = [
  [1, [256, 784], 1 / Math.sqrt(784)],
  [2, [256], 0.1],
  [3, [256, 256], 1 / 16],
  [4, [256], 0.1],
  [5, [10, 256], 1 / 16],
  [6, [10], 0.1],
];
export const PINN_PARAMS = [
  [1, [64, 2], 1],
  [2, [64], 0.1],
  [3, [64, 64], 1 / 8],
  [4, [64], 0.1],
  [5, [1, 64], 1 / 8],
  [6, [1], 0.1],
];

/** Process CPU time in ms (a descheduled peer is not charged). */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Times `call()` (one request run to completion; may be async) for about
 * `ms` milliseconds after a first call and a 0.3 s warm-up. `values(out)`
 * gives the result's leaves as arrays of numbers for the check sums;
 * `dispose(out)` frees a result. Medians of CPU and wall time per call.
 */
export async function measure(call, values, dispose, ms) {
  let t0 = performance.now();
  const first = await call();
  const first_ms = performance.now() - t0;
  let sum = 0, sum_abs = 0;
  for (const leaf of values(first)) {
    for (const v of leaf) {
      sum += v;
      sum_abs += Math.abs(v);
    }
  }
  dispose(first);
  t0 = performance.now();
  do dispose(await call()); while (performance.now() - t0 < 300);
  const cpu = [], wall = [];
  t0 = performance.now();
  while (cpu.length < 3 || (performance.now() - t0 < ms && cpu.length < 200)) {
    const w = performance.now(), c = cpuMs();
    dispose(await call());
    cpu.push(cpuMs() - c);
    wall.push(performance.now() - w);
  }
  const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return {
    status: "ok",
    median_ms: med(cpu),
    wall_ms: med(wall),
    first_ms,
    sum,
    sum_abs,
  };
}

/** One JSON request per stdin line, one JSON answer per stdout line. */
export async function serve(answer) {
  const input = createInterface({ input: process.stdin });
  for await (const line of input) {
    if (!line.trim()) continue;
    let ans;
    try {
      ans = await answer(JSON.parse(line));
    } catch (e) {
      ans = {
        status: "error",
        error: String(e?.message ?? e).slice(0, 300),
      };
    }
    process.stdout.write(JSON.stringify(ans) + "\n");
  }
}
