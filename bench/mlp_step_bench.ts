/**
 * Where the MLP training step's time goes (single thread unless
 * `MLP_THREADS=n`, CPU time):
 * `deno run --allow-read --allow-env bench/mlp_step_bench.ts`.
 *
 * Times the whole step (grad of softmax cross-entropy over a 784-256-256-10
 * tanh MLP, batch 128; eager and jit) against its eight matrix products
 * alone (three forward x·Wᵀ, three weight gradients gᵀ·h, two input
 * gradients g·W: none for x itself), so the report can say what share of the
 * step is dense work and what rate the step achieves in GFLOP/s. A 512³
 * f32 GEMM (A·Bᵀ, as bench/gemm_bench.ts) runs in the same process, so the
 * step's rate is also given as a share of the GEMM rate.
 * `MLP_BASELINE=/path/to/other/mod.ts` interleaves the jitted step of a
 * second copy of the library (before/after in one run).
 */
import * as J from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { cpuMs } from "./roof.ts";

type Lib = typeof J;
const baselinePath = Deno.env.get("MLP_BASELINE");
const baseline: Lib | null = baselinePath ? await import(baselinePath) : null;
// CPU time counts every thread: one thread unless MLP_THREADS says more.
const threads = Number(Deno.env.get("MLP_THREADS") ?? 1);
for (const L of [J, baseline]) L?.setNumThreads?.(threads);

const data = (n: number, s: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + s) * 0.05);
const T = (shape: number[], s: number) =>
  J.tensor(data(shape.reduce((a, b) => a * b), s)).reshape(shape);

const B = 128, dims = [784, 256, 256, 10];
const params: Tensor[] = [];
for (let l = 0; l < 3; l++) {
  params.push(
    T([dims[l + 1], dims[l]], 2 * l + 1),
    T([dims[l + 1]], 2 * l + 2),
  );
}
const x = T([B, 784], 9);
const y = J.oneHot(
  J.tensor(Int32Array.from({ length: B }, (_, i) => (i * 7) % 10)),
  10,
);

function loss(p: Tensor[], x: Tensor, y: Tensor): Tensor {
  const h1 = J.linear(x, p[0], p[1]).tanh();
  const h2 = J.linear(h1, p[2], p[3]).tanh();
  return J.crossEntropy(J.linear(h2, p[4], p[5]), y);
}
const step = J.grad(loss);
const stepJit = J.jit(J.grad(loss));

// The same step in the baseline copy (its own tensors and jit).
let baseStep: (() => void) | null = null;
if (baseline !== null) {
  const L = baseline;
  const t = (shape: number[], s: number) =>
    L.tensor(data(shape.reduce((a, b) => a * b), s)).reshape(shape);
  const bp: ReturnType<typeof t>[] = [];
  for (let l = 0; l < 3; l++) {
    bp.push(t([dims[l + 1], dims[l]], 2 * l + 1), t([dims[l + 1]], 2 * l + 2));
  }
  const bx = t([B, 784], 9);
  const by = L.oneHot(
    L.tensor(Int32Array.from({ length: B }, (_, i) => (i * 7) % 10)),
    10,
  );
  type T = ReturnType<typeof t>;
  const bloss = (p: T[], x: T, y: T): T => {
    const h1 = L.linear(x, p[0], p[1]).tanh();
    const h2 = L.linear(h1, p[2], p[3]).tanh();
    return L.crossEntropy(L.linear(h2, p[4], p[5]), y);
  };
  const f = L.jit(L.grad(bloss));
  const bleaves = (v: unknown): T[] =>
    Array.isArray(v) ? v.flatMap(bleaves) : [v as T];
  baseStep = () => bleaves(f(bp, bx, by)).forEach((v) => v.dispose());
}

// A 512³ f32 product in the layout `linear` uses (A·Bᵀ), for the ratio.
const G = 512;
const ga = T([G, G], 21), gb = T([G, G], 22);
const gemm512 = () => J.matmul(ga, gb, true).dispose();

// The nine products of one step, same shapes and layouts.
const acts = [x, T([B, 256], 11), T([B, 256], 12)];
const cots = [T([B, 256], 13), T([B, 256], 14), T([B, 10], 15)];
function products() {
  const out: Tensor[] = [];
  for (let l = 0; l < 3; l++) {
    out.push(J.matmul(acts[l], params[2 * l], true)); // forward x·Wᵀ
    out.push(J.matmul(cots[l].transpose(0, 1), acts[l])); // dW = gᵀ·h
    if (l > 0) out.push(J.matmul(cots[l], params[2 * l])); // dh = g·W
  }
  out.forEach((t) => t.dispose());
}
let flops = 0;
for (let l = 0; l < 3; l++) {
  flops += 2 * 2 * B * dims[l] * dims[l + 1] +
    (l > 0 ? 2 * B * dims[l] * dims[l + 1] : 0);
}

const leaves = (t: unknown): Tensor[] =>
  Array.isArray(t) ? t.flatMap(leaves) : [t as Tensor];
const cases: [string, () => void][] = [
  ["step eager", () => leaves(step(params, x, y)).forEach((t) => t.dispose())],
  ["step jit", () => leaves(stepJit(params, x, y)).forEach((t) => t.dispose())],
  ["its 8 products alone", products],
  ...(baseStep === null ? [] : [["step jit (baseline)", baseStep]] as [
    string,
    () => void,
  ][]),
  ["GEMM 512³ f32 A·Bᵀ", gemm512],
];
const best = new Map<string, number>();
// Warm-up: about 300 ms of CPU time per case.
for (const [, f] of cases) {
  const t = cpuMs();
  while (cpuMs() - t < 300) f();
}
for (let round = 0; round < 5; round++) {
  for (const [name, f] of cases) {
    const t0 = cpuMs();
    let n = 0;
    do {
      f();
      n++;
    } while (cpuMs() - t0 < 200);
    const ms = (cpuMs() - t0) / n;
    best.set(name, Math.min(best.get(name) ?? Infinity, ms));
  }
}
console.log(
  `MLP step, ${
    (flops / 1e6).toFixed(0)
  } MFLOP of products (CPU time, best of 5):`,
);
const rate = (name: string) =>
  (name.startsWith("GEMM") ? 2 * G ** 3 : flops) / (best.get(name)! * 1e6);
for (const [name] of cases) {
  console.log(
    `  ${name.padEnd(22)} ${best.get(name)!.toFixed(3)} ms  ${
      rate(name).toFixed(1)
    } GFLOP/s`,
  );
}
const gemmRate = rate("GEMM 512³ f32 A·Bᵀ");
for (const name of ["step jit", "step jit (baseline)"]) {
  if (!best.has(name)) continue;
  console.log(
    `  ${name} / GEMM 512: ${(100 * rate(name) / gemmRate).toFixed(1)} %`,
  );
}
