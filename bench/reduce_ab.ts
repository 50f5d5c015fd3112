/**
 * A/B of the reduction kernels: the hand SIMD `reduce_f32` against ndarray's
 * version `ndarray_reduce_f32` (crates/kernels/src/reduce.rs module docs),
 * kernel calls only (preallocated buffers, meta written once per case).
 * For argmax both columns run the shipped `argreduce_f32` (lane loop for
 * inner == 1, ndarray row sweep otherwise).
 *
 * `deno run bench/reduce_ab.ts [rounds]`: best of `rounds` interleaved
 * 25 ms samples, GB/s of input and µs per call.
 */
import { wasm } from "../src/backend/wasm.ts";
const w = wasm as unknown as Record<string, (...a: number[]) => number>;
const mem = () => new Float32Array(wasm.memory.buffer);
const M = 1 << 20;
const x = wasm.alloc(4 * M) >>> 0;
{
  const f = mem();
  for (let i = 0; i < M; i++) f[(x >> 2) + i] = Math.random() * 2 - 1;
}
const out = wasm.alloc(4 * M) >>> 0;
const metaP = wasm.alloc(4 * 64) >>> 0;
type C = {
  name: string;
  op: number;
  shape: number[];
  axes: number[];
  arg?: boolean;
};
const cases: C[] = [
  { name: "sum 1M full", op: 0, shape: [M], axes: [0] },
  { name: "sum [1024,1024] axis 0", op: 0, shape: [1024, 1024], axes: [0] },
  { name: "sum [1024,1024] axis 1", op: 0, shape: [1024, 1024], axes: [1] },
  {
    name: "sum [64,128,64] axes [0,2]",
    op: 0,
    shape: [64, 128, 64],
    axes: [0, 2],
  },
  { name: "max [4096,256] axis 1", op: 2, shape: [4096, 256], axes: [1] },
  { name: "max [1024,1024] axis 0", op: 2, shape: [1024, 1024], axes: [0] },
  { name: "prod [1024,1024] axis 1", op: 1, shape: [1024, 1024], axes: [1] },
  { name: "sum [16]", op: 0, shape: [16], axes: [0] },
  { name: "sum [64,16] axis 0", op: 0, shape: [64, 16], axes: [0] },
  { name: "min [1024,1024] axis 0", op: 3, shape: [1024, 1024], axes: [0] },
  { name: "prod [1024,1024] axis 0", op: 1, shape: [1024, 1024], axes: [0] },
  { name: "sum [64,128,64] axis 0", op: 0, shape: [64, 128, 64], axes: [0] },
  { name: "argmax [16]", op: 0, shape: [16], axes: [0], arg: true },
  {
    name: "argmax [4096,256] axis 1",
    op: 0,
    shape: [4096, 256],
    axes: [1],
    arg: true,
  },
  {
    name: "argmax [1024,1024] axis 0",
    op: 0,
    shape: [1024, 1024],
    axes: [0],
    arg: true,
  },
];
function setup(c: C): () => [() => void, () => void] {
  return () => {
    const r = c.shape.length;
    const st: number[] = [];
    let acc = 1;
    for (let d = r - 1; d >= 0; d--) {
      st[d] = acc;
      acc *= c.shape[d];
    }
    const order = [...c.shape.keys()].filter((d) => !c.axes.includes(d)).concat(
      c.axes,
    );
    const i32 = new Int32Array(wasm.memory.buffer);
    order.forEach((d, k) => {
      i32[(metaP >> 2) + k] = c.shape[d];
      i32[(metaP >> 2) + r + k] = st[d];
    });
    if (c.arg) {
      const a = c.axes[0];
      let outer = 1, inner = 1;
      for (let d = 0; d < a; d++) outer *= c.shape[d];
      for (let d = a + 1; d < r; d++) inner *= c.shape[d];
      const len = c.shape[a];
      return [
        () => w.argreduce_f32(1, x, out, outer, len, inner),
        () => w.argreduce_f32(1, x, out, outer, len, inner),
      ];
    }
    return [
      () => w.reduce_f32(c.op, x, out, r, c.axes.length, metaP),
      () => w.ndarray_reduce_f32(c.op, x, out, r, c.axes.length, metaP),
    ];
  };
}
// correctness spot check: both give the same output
for (const c of cases) {
  const [a, b] = setup(c)();
  const n = c.shape.filter((_, d) => !c.axes.includes(d)).reduce(
    (p, q) => p * q,
    1,
  );
  a();
  const ra = (c.arg ? new Int32Array(wasm.memory.buffer) : mem()).slice(
    out >> 2,
    (out >> 2) + n,
  );
  b();
  const rb = (c.arg ? new Int32Array(wasm.memory.buffer) : mem()).slice(
    out >> 2,
    (out >> 2) + n,
  );
  let maxd = 0;
  for (let i = 0; i < n; i++) {
    maxd = Math.max(maxd, Math.abs(ra[i] - rb[i]) / (1 + Math.abs(ra[i])));
  }
  if (maxd > 1e-3) console.log(`MISMATCH ${c.name}: ${maxd}`);
}
const best = new Map<string, number>();
function time(fn: () => void): number {
  let reps = 0;
  const t0 = performance.now();
  do {
    fn();
    reps++;
  } while (performance.now() - t0 < 25);
  return (performance.now() - t0) / reps; // ms per call
}
const ROUNDS = Number(Deno.args[0] ?? 15);
const fns = cases.map((c) => setup(c));
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < cases.length; i++) {
    const [a, b] = fns[i]();
    const pair: [string, () => void][] = round % 2
      ? [["nd", b], ["hand", a]]
      : [["hand", a], ["nd", b]];
    for (const [k, f] of pair) {
      if (round === 0) { for (let j = 0; j < 3; j++) f(); }
      const ms = time(f);
      const key = `${cases[i].name}|${k}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, ms));
    }
  }
}
console.log(
  `case | hand GB/s | ndarray GB/s | hand µs | ndarray µs   (best of ${ROUNDS} interleaved 25 ms samples)`,
);
for (const c of cases) {
  const bytes = 4 * c.shape.reduce((p, q) => p * q, 1);
  const h = best.get(`${c.name}|hand`)!, n = best.get(`${c.name}|nd`)!;
  console.log(
    `${c.name.padEnd(28)} | ${(bytes / h / 1e6).toFixed(2).padStart(7)} | ${
      (bytes / n / 1e6).toFixed(2).padStart(7)
    } | ${(h * 1e3).toFixed(3)} | ${(n * 1e3).toFixed(3)}`,
  );
}
