/**
 * Elementwise fusion in jit, on and off (`jit(f, { fuse })`), on
 * elementwise-heavy gradients (single thread, CPU time, float32):
 * `deno run --allow-read --allow-env bench/fusion_bench.ts [rounds]`.
 *
 * Per row: ms per call with fusion on and off (median over rounds, the two
 * interleaved in each round), the ratio, the executor's instructions per
 * call and the bytes it allocates per call (results and intermediates).
 * Every call's results are checked bit for bit against the other variant.
 */
import * as J from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { cpuMs } from "./roof.ts";
import { optimize } from "../src/jit/execute.ts";
import { stage } from "../src/jit/make_program.ts";
import { planStats, wasmPlan } from "../src/jit/wasm_plan.ts";
import { OP } from "../src/backend/wasm/program_codes.ts";

const rounds = Number(Deno.args[0] ?? 5);

function input(seed: number, shape: number[], scale: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = Float32Array.from(
    { length: n },
    (_, i) => Math.sin(i * 0.37 + seed * 1.7) * scale,
  );
  return J.tensor(a).reshape(shape);
}

type Fn = (...a: never[]) => unknown;
interface Row {
  name: string;
  f: Fn;
  args: unknown[];
}

// sum(tanh(x)·sigmoid(x) + x²/2): gradient is one long elementwise DAG.
const ew = (x: Tensor) =>
  x.tanh().mul(x.sigmoid()).add(x.square().mul(0.5)).sum();

// Hessian-vector product of sum(tanh(W x)).
const tanhW = (x: Tensor, W: Tensor) => J.matmul(W, x).tanh().sum();
const hvp = (x: Tensor, W: Tensor, v: Tensor) =>
  J.jvp((y: Tensor) => J.grad(tanhW)(y, W), [x], [v])[1];

function mlpLoss(p: Tensor[], x: Tensor, y: Tensor): Tensor {
  const h1 = J.linear(x, p[0], p[1]).tanh();
  const h2 = J.linear(h1, p[2], p[3]).tanh();
  return J.logSoftmax(J.linear(h2, p[4], p[5]), -1).mul(y).sum().neg()
    .div(x.shape[0]);
}

function pinnU(p: Tensor[], xt: Tensor): Tensor {
  const h1 = J.linear(xt, p[0], p[1]).tanh();
  const h2 = J.linear(h1, p[2], p[3]).tanh();
  return J.linear(h2, p[4], p[5]).sum();
}
function pinnLoss(p: Tensor[], pts: Tensor): Tensor {
  const du = J.grad(pinnU, { argnums: 1 });
  const residual = (xt: Tensor) => {
    const g = du(p, xt);
    const uxx = J.grad((z: Tensor) => du(p, z).select(0, 0))(xt).select(0, 0);
    return g.select(0, 1).sub(uxx.mul(0.01));
  };
  return J.vmap(residual)(pts).square().mean();
}

// 1,000 Euler steps in 16 dims through scan: tiny vectors, where the
// per-instruction cost decides.
function odeLoss(A: Tensor, x0: Tensor): Tensor {
  const [xT] = J.scan(
    (x: Tensor) => [x.add(J.matmul(A, x).tanh().mul(0.01)), null],
    x0,
    null,
    { length: 1000 },
  );
  return (xT as Tensor).sum();
}

const labels = J.oneHot(
  J.tensor(Int32Array.from({ length: 128 }, (_, i) => (i * 7) % 10)),
  10,
);
const rows: Row[] = [
  {
    name: "grad elementwise DAG, n = 2^20",
    f: J.grad(ew),
    args: [input(1, [1 << 20], 2)],
  },
  {
    name: "hvp of sum(tanh(W x)), n = 512",
    f: hvp,
    args: [
      input(1, [512], 1),
      input(2, [512, 512], 1 / 23),
      input(3, [512], 1),
    ],
  },
  {
    name: "PINN residual grad, 1,024 points",
    f: J.grad(pinnLoss),
    args: [
      [
        input(1, [64, 2], 1),
        input(2, [64], 0.1),
        input(3, [64, 64], 1 / 8),
        input(4, [64], 0.1),
        input(5, [1, 64], 1 / 8),
        input(6, [1], 0.1),
      ],
      input(8, [1024, 2], 1),
    ],
  },
  {
    name: "ODE grad, 1,000 scan steps, 16 dims",
    f: J.grad(odeLoss),
    args: [input(1, [16, 16], 0.25), input(2, [16], 1)],
  },
  {
    name: "MLP 784-256-256-10 step, batch 128",
    f: J.grad(mlpLoss),
    args: [
      [
        input(1, [256, 784], 1 / 28),
        input(2, [256], 0.1),
        input(3, [256, 256], 1 / 16),
        input(4, [256], 0.1),
        input(5, [10, 256], 1 / 16),
        input(6, [10], 0.1),
      ],
      input(7, [128, 784], 1),
      labels,
    ],
  },
];

const leaves = (t: unknown): Tensor[] =>
  t instanceof J.Tensor ? [t] : Array.isArray(t) ? t.flatMap(leaves) : [];

function sameBits(a: unknown, b: unknown, what: string): void {
  const x = leaves(a), y = leaves(b);
  x.forEach((t, i) => {
    const u = t.data() as Float32Array, v = y[i].data() as Float32Array;
    const p = new Uint32Array(u.buffer, u.byteOffset, u.length);
    const q = new Uint32Array(v.buffer, v.byteOffset, v.length);
    if (!p.every((w, k) => w === q[k])) {
      throw new Error(`${what}: fused and unfused results differ`);
    }
  });
}

function timeOne(g: (...a: unknown[]) => unknown, args: unknown[]): number {
  // Enough calls for ≥ 50 ms of CPU.
  let calls = 0, spent = 0;
  const t0 = cpuMs();
  while (spent < 50) {
    for (const t of leaves(g(...args))) t.dispose();
    calls++;
    spent = cpuMs() - t0;
  }
  return spent / calls;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (x: number) => x < 10 ? x.toFixed(3) : x.toFixed(1);

console.log(
  "| row | fused ms | unfused ms | unfused / fused | instructions fused / unfused | fused groups | MB allocated fused / unfused |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const on = J.jit(r.f as Fn) as (...a: unknown[]) => unknown;
  const off = J.jit(r.f as Fn, { fuse: false }) as (...a: unknown[]) => unknown;
  sameBits(on(...r.args), off(...r.args), r.name);
  const { program } = stage("bench", r.f as never, r.args);
  const sOn = planStats(wasmPlan(optimize(program, true)));
  const sOff = planStats(wasmPlan(optimize(program, false)));
  const count = (s: typeof sOn) =>
    s.opcodes.filter((o) => o !== OP.free).length;
  const groups = sOn.opcodes.filter((o) => o === OP.fused).length;
  const tOn: number[] = [], tOff: number[] = [];
  for (let k = 0; k < rounds; k++) {
    // Alternate which goes first.
    if (k % 2 === 0) {
      tOn.push(timeOne(on, r.args));
      tOff.push(timeOne(off, r.args));
    } else {
      tOff.push(timeOne(off, r.args));
      tOn.push(timeOne(on, r.args));
    }
  }
  const a = median(tOn), b = median(tOff);
  const mb = (x: number) => (x / 2 ** 20).toFixed(1);
  console.log(
    `| ${r.name} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(2)}× | ${
      count(sOn)
    } / ${count(sOff)} | ${groups} | ${mb(sOn.allocatedBytes)} / ${
      mb(sOff.allocatedBytes)
    } |`,
  );
}
