/**
 * The rows of bench/jit_arena_bench.ts (and a few memory-bound
 * reductions) timed for a loaded machine: CPU time per call (user +
 * system of this process, so time spent descheduled does not count),
 * median over 41 rounds in which the variants (no arena; arena; arena
 * and fused reductions) alternate. `deno run --allow-read --allow-env
 * bench/jit_arena_ab.ts [all|R1|small|R5|rows|sq|sq64|lse]`.
 * @module
 */
import * as J from "../mod.ts";
import type { Tensor } from "../mod.ts";
import process from "node:process";
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
import { arenaOptions } from "../src/jit/wasm_plan.ts";
import { fusionOptions } from "../src/jit/fusion.ts";
const data = (n: number, s: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + s) * 0.05);
const T = (shape: number[], s: number) =>
  J.tensor(data(shape.reduce((a, b) => a * b), s)).reshape(shape);
function mlp(dims: number[], batch: number) {
  const params: Tensor[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    params.push(
      T([dims[l + 1], dims[l]], 2 * l + 1),
      T([dims[l + 1]], 2 * l + 2),
    );
  }
  const x = T([batch, dims[0]], 9);
  const y = J.oneHot(
    J.tensor(Int32Array.from({ length: batch }, (_, i) => (i * 7) % 10)),
    10,
  );
  const loss = (p: Tensor[], x: Tensor, y: Tensor): Tensor => {
    let h = x;
    for (let l = 0; l + 2 < p.length; l += 2) {
      h = J.linear(h, p[l], p[l + 1]).tanh();
    }
    return J.crossEntropy(J.linear(h, p[p.length - 2], p[p.length - 1]), y);
  };
  return { f: J.grad(loss), args: [params, x, y] as unknown[] };
}
const which = Deno.args[0] ?? "all";
const rows: [string, (...a: unknown[]) => unknown, unknown[], number][] = [];
if (which === "all" || which === "R1") {
  const m = mlp([784, 256, 256, 10], 128);
  rows.push(["R1 MLP 784-256-256-10 b128", m.f as never, m.args, 10]);
}
if (which === "all" || which === "small") {
  const m = mlp([16, 64, 10], 128);
  rows.push(["MLP 16-64-10 b128", m.f as never, m.args, 400]);
}
if (which === "all" || which === "R5") {
  const W = T([64, 64], 3);
  rows.push([
    "R5 hessian n=64",
    J.hessian((x: Tensor) => W.matmul(x).tanh().sum()) as never,
    [T([64], 4)],
    1000,
  ]);
}
if (which === "all" || which === "rows") {
  rows.push([
    "rows sum(tanh(1.5x)^2,1) [256,512]",
    ((x: Tensor) => x.mul(1.5).tanh().square().sum(1)) as never,
    [T([256, 512], 5)],
    60,
  ]);
}
if (which === "all" || which === "sq") {
  rows.push([
    "sum((x-y)^2,1) [1024,1024]",
    ((x: Tensor, y: Tensor) => x.sub(y).square().sum(1)) as never,
    [T([1024, 1024], 5), T([1024, 1024], 6)],
    5,
  ]);
}
if (which === "all" || which === "sq64") {
  rows.push([
    "sum((x-y)^2,1) [64,100]",
    ((x: Tensor, y: Tensor) => x.sub(y).square().sum(1)) as never,
    [T([64, 100], 5), T([64, 100], 6)],
    2000,
  ]);
}
if (which === "all" || which === "lse") {
  rows.push([
    "logsumexp(x,1) [512,1000]",
    ((x: Tensor) => J.logsumexp(x, 1)) as never,
    [T([512, 1000], 5)],
    20,
  ]);
}
const variants: [string, boolean, boolean][] = [["no arena", false, false], [
  "arena",
  true,
  false,
], ["arena+reduce", true, true]];
for (const [name, f, args, k] of rows) {
  const gs = variants.map(([, a, r]) => {
    const g = J.jit(f);
    return () => {
      arenaOptions.enabled = a;
      fusionOptions.reduce = r;
      try {
        return g(...args);
      } finally {
        arenaOptions.enabled = true;
        fusionOptions.reduce = true;
      }
    };
  });
  const times: number[][] = variants.map(() => []);
  for (const g of gs) {
    for (let i = 0; i < 3; i++) {
      for (const t of J.tree.leaves(g())) t.dispose();
    }
  }
  for (let round = 0; round < 41; round++) {
    for (let v = 0; v < gs.length; v++) {
      const t0 = cpu();
      for (let i = 0; i < k; i++) {
        for (const t of J.tree.leaves(gs[v]())) t.dispose();
      }
      times[v].push((cpu() - t0) / k);
    }
  }
  const med = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  console.log(
    name + ": " +
      variants.map(([vn], v) =>
        `${vn} ${(med(times[v]) * 1000).toFixed(1)} µs (${
          (1000 / med(times[v])).toFixed(0)
        }/s, min ${(Math.min(...times[v]) * 1000).toFixed(1)})`
      ).join(" | "),
  );
}
