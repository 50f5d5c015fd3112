/**
 * Calls per second of small jitted programs with and without the arena of
 * intermediates (src/jit/arena.ts), and with and without fused reductions:
 * `deno bench --allow-read --allow-env bench/jit_arena_bench.ts`.
 *
 * Rows: the MLP training step of bench/compare/realistic_rows.ts R1
 * (784-256-256-10 tanh, batch 128, softmax cross-entropy, grad of all
 * parameters), a small MLP step (16-64-10, batch 128) where allocation is
 * a larger share, jit(hessian) of sum(tanh(W x)) at n = 64 (R5), and a
 * row-wise reduction of an elementwise chain ([256, 512]). Each variant
 * compiles its own plans (the options apply when a plan is built).
 */
import * as J from "../mod.ts";
import type { Tensor } from "../mod.ts";
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
  return { f: J.grad(loss), args: [params, x, y] as const };
}

const big = mlp([784, 256, 256, 10], 128);
const small = mlp([16, 64, 10], 128);
const n = 64;
const W = T([n, n], 3), xh = T([n], 4);
const hess = J.hessian((x: Tensor) => W.matmul(x).tanh().sum());
const X = T([256, 512], 5);
const rowwise = (x: Tensor) => x.mul(1.5).tanh().square().sum(1);

type Variant = { arena: boolean; reduce: boolean };
const variants: [string, Variant][] = [
  ["no arena", { arena: false, reduce: false }],
  ["arena", { arena: true, reduce: false }],
  ["arena + fused reduce", { arena: true, reduce: true }],
];

function compiled<A extends unknown[]>(
  f: (...a: A) => unknown,
  v: Variant,
): (...a: A) => unknown {
  const g = J.jit(f as (...a: unknown[]) => unknown);
  return (...a: A) => {
    const [was, wasR] = [arenaOptions.enabled, fusionOptions.reduce];
    arenaOptions.enabled = v.arena;
    fusionOptions.reduce = v.reduce;
    try {
      return g(...a);
    } finally {
      arenaOptions.enabled = was;
      fusionOptions.reduce = wasR;
    }
  };
}

const dispose = (r: unknown) => {
  for (const t of J.tree.leaves(r)) (t as Tensor).dispose();
};

for (const [name, v] of variants) {
  const g1 = compiled(big.f, v);
  dispose(g1(...big.args));
  Deno.bench(`R1 MLP step 784-256-256-10, batch 128: ${name}`, {
    group: "R1",
    baseline: name === "no arena",
  }, () => dispose(g1(...big.args)));
  const g2 = compiled(small.f, v);
  dispose(g2(...small.args));
  Deno.bench(`MLP step 16-64-10, batch 128: ${name}`, {
    group: "small",
    baseline: name === "no arena",
  }, () => dispose(g2(...small.args)));
  const g3 = compiled(hess, v);
  dispose(g3(xh));
  Deno.bench(`R5 jit(hessian) n=64: ${name}`, {
    group: "R5",
    baseline: name === "no arena",
  }, () => dispose(g3(xh)));
  const g4 = compiled(rowwise, v);
  dispose(g4(X));
  Deno.bench(`sum(tanh(1.5 x)², axis 1), x [256, 512]: ${name}`, {
    group: "rows",
    baseline: name === "no arena",
  }, () => dispose(g4(X)));
}
