/**
 * jit(hessian) of `sum(tanh(W x))` (x `[n]`, W `[n, n]`, float32, one
 * thread) with the transpose fold (src/jit/transpose_fold.ts) on and off,
 * alternating in one process: CPU time per call, the minimum over rounds,
 * and GFLOP/s as 2n³ (the one n×n×n product) over that time. Each call's
 * result is checked bit for bit against the other variant's.
 * `deno run --allow-read --allow-env bench/transpose_fold_ab.ts [rounds] [n...]`.
 * @module
 */
import * as J from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { cpuMs } from "./roof.ts";
import { transposeFoldOptions } from "../src/jit/transpose_fold.ts";

const rounds = Number(Deno.args[0] ?? 5);
const sizes = Deno.args.length > 1
  ? Deno.args.slice(1).map(Number)
  : [256, 1024, 2048];
J.setNumThreads(1);

const input = (shape: number[], seed: number, scale: number): Tensor =>
  J.tensor(
    Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      (_, i) => Math.sin(i * 0.37 + seed) * scale,
    ),
  ).reshape(shape);

const f = J.hessian((x: Tensor, W: Tensor) => J.matmul(W, x).tanh().sum());

function compiled(fold: boolean, x: Tensor, W: Tensor) {
  transposeFoldOptions.enabled = fold;
  const g = J.jit(f);
  g(x, W).dispose(); // compiles with the option set
  transposeFoldOptions.enabled = true;
  return g;
}

console.log(
  "n     | fold off ms | GFLOP/s | fold on ms | GFLOP/s | off/on | matmul alone ms | GFLOP/s",
);
for (const n of sizes) {
  const x = input([n], 1, 1), W = input([n, n], 2, 1 / Math.sqrt(n));
  const on = compiled(true, x, W), off = compiled(false, x, W);
  const mm = J.jit((a: Tensor, b: Tensor) => J.matmul(a, b));
  mm(W, W).dispose();
  const best = { on: Infinity, off: Infinity, mm: Infinity };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ["on", "off"] as const : ["off", "on"] as const;
    const out: Record<string, Tensor> = {};
    for (const k of order) {
      const t0 = cpuMs();
      out[k] = (k === "on" ? on : off)(x, W);
      best[k] = Math.min(best[k], cpuMs() - t0);
    }
    const a = new Uint32Array((out.on.data() as Float32Array).buffer);
    const b = new Uint32Array((out.off.data() as Float32Array).buffer);
    if (a.some((v, i) => v !== b[i])) {
      throw new Error(`n = ${n}: results differ`);
    }
    out.on.dispose();
    out.off.dispose();
    const t0 = cpuMs();
    mm(W, W).dispose();
    best.mm = Math.min(best.mm, cpuMs() - t0);
  }
  const gf = (ms: number) => (2 * n ** 3 / (ms * 1e6)).toFixed(1);
  console.log(
    [
      String(n).padEnd(5),
      best.off.toFixed(2).padStart(11),
      gf(best.off).padStart(7),
      best.on.toFixed(2).padStart(10),
      gf(best.on).padStart(7),
      (best.off / best.on).toFixed(3).padStart(6),
      best.mm.toFixed(2).padStart(15),
      gf(best.mm).padStart(7),
    ].join(" | "),
  );
}
