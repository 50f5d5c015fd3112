/**
 * Where the MLP training step's time goes (single thread, CPU time):
 * `deno run --allow-read --allow-env bench/mlp_step_bench.ts`.
 *
 * Times the whole step (grad of softmax cross-entropy over a 784-256-256-10
 * tanh MLP, batch 128; eager and jit) against its eight matrix products
 * alone (three forward x·Wᵀ, three weight gradients gᵀ·h, two input
 * gradients g·W: none for x itself), so the report can say what share of the
 * step is dense work and what rate the step achieves in GFLOP/s.
 */
import * as J from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { cpuMs } from "./roof.ts";

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
for (const [name] of cases) {
  const ms = best.get(name)!;
  console.log(
    `  ${name.padEnd(22)} ${ms.toFixed(3)} ms  ${
      (flops / (ms * 1e6)).toFixed(1)
    } GFLOP/s`,
  );
}
