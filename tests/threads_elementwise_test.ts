// Elementwise work across threads (crates/kernels/src/program/split.rs and
// the fused groups of program/fused.rs): large fused groups, plain unary
// and binary kernels, casts, transposes and reductions by rows and by
// columns split into parts, and give the same bits with 1, 2 and 3
// threads, in jit programs, eagerly and inside a scan loop. Sizes are odd
// so that no part count divides them.
import assert from "node:assert/strict";
import {
  jit,
  logsumexp,
  random,
  scan,
  setNumThreads,
  softmax,
  sum,
  type Tensor,
} from "../mod.ts";
import { poolStats } from "../src/backend/thread_pool.ts";

type Out = Tensor | Tensor[];

/** The values of `f()`'s results (disposed after reading). */
function values(f: () => Out): number[] {
  const out = f();
  const list = Array.isArray(out) ? out : [out];
  const vals = list.flatMap((t) => Array.from(t.data() as ArrayLike<number>));
  list.forEach((t) => t.dispose());
  return vals;
}

/**
 * `f` with 1, 2 and 3 threads: the results agree bit for bit, and with
 * threads at least `minSplits` jobs were split. Returns the
 * single-threaded values.
 */
function sameBits(name: string, f: () => Out, minSplits = 1): number[] {
  setNumThreads(1);
  const one = values(f);
  for (const n of [2, 3]) {
    setNumThreads(n);
    const before = poolStats().splitJobs;
    const got = values(f);
    const split = poolStats().splitJobs - before;
    assert(
      split >= minSplits,
      `${name}: ${split} jobs split with ${n} threads, expected ${minSplits}`,
    );
    assert.deepStrictEqual(got.length, one.length, name);
    for (let i = 0; i < one.length; i++) {
      if (!Object.is(one[i], got[i])) {
        throw new Error(
          `${name}, ${n} threads: element ${i} differs: ${one[i]} vs ${got[i]}`,
        );
      }
    }
  }
  setNumThreads(1);
  assert(one.every(Number.isFinite), `${name}: non-finite values`);
  return one;
}

/** Starts two workers (a large elementwise op starts the pool). */
async function waitForWorkers(): Promise<void> {
  setNumThreads(3);
  const a = random.normal(random.key(1), [400, 400]);
  a.tanh().dispose();
  for (let i = 0; i < 200 && poolStats().ready < 2; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  a.dispose();
  if (poolStats().ready < 2) {
    throw new Error("the worker pool did not start two workers within 5 s");
  }
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "threads: fused groups, plain kernels and casts split bit for bit",
  ...opts,
  async fn() {
    await waitForWorkers();
    const [k1, k2, k3] = random.split(random.key(3), 3);
    const x = random.normal(k1, [301, 257]);
    const y = random.normal(k2, [301, 257]);
    const b = random.normal(k3, [257]);
    const x64 = x.to("float64");
    // A fused chain with two results (one kept, one final).
    const chain = jit((x: Tensor, y: Tensor) => {
      const t = x.mul(y).add(x).tanh();
      return [t, t.sub(y).mul(t)];
    });
    const got = sameBits("jit fused chain", () => chain(x, y));
    const xs = x.data() as Float32Array, ys = y.data() as Float32Array;
    for (const i of [0, 12345, 77356]) {
      const t = Math.tanh(xs[i] * ys[i] + xs[i]);
      assert(Math.abs(got[i] - t) < 1e-5, `tanh chain at ${i}`);
    }
    sameBits(
      "jit fused f64",
      () => jit((v: Tensor) => v.exp().mul(v).sin())(x64),
    );
    // Single ops stay plain unary and binary instructions.
    sameBits("tanh", () => x.tanh());
    sameBits("exp f64", () => x64.exp());
    sameBits("add a bias", () => x.add(b));
    sameBits("compare", () => x.gt(y));
    sameBits("cast", () => x64.to("float32"));
    sameBits("transpose", () => jit((v: Tensor) => v.T.exp())(x));
    for (const t of [x, y, b, x64, k1, k2, k3]) t.dispose();
  },
});

Deno.test({
  name: "threads: reductions split by rows and by columns bit for bit",
  ...opts,
  async fn() {
    await waitForWorkers();
    const [k1, k2] = random.split(random.key(5), 2);
    const x = random.normal(k1, [1001, 77]);
    const w = random.normal(k2, [257, 301]).to("float64");
    // Rows: a fused reduction (the chain and its row sums in one pass),
    // softmax's row max and sum, logsumexp.
    const rows = sameBits(
      "fused row sums",
      () => jit((v: Tensor) => v.tanh().mul(v).sum(-1))(x),
    );
    const xs = x.data() as Float32Array;
    let want = 0;
    for (let j = 0; j < 77; j++) want += Math.tanh(xs[j]) * xs[j];
    assert(Math.abs(rows[0] - want) < 1e-4, `row 0: ${rows[0]} vs ${want}`);
    sameBits("softmax rows", () => jit((v: Tensor) => softmax(v, -1))(x));
    sameBits("logsumexp rows f64", () => logsumexp(w, -1));
    sameBits("max over rows", () => x.max(-1));
    // Columns: sums over the leading axis, plain and after a chain.
    const cols = sameBits("column sums f64", () => sum(w, 0));
    const ws = w.data() as Float64Array;
    let c0 = 0;
    for (let i = 0; i < 257; i++) c0 += ws[i * 301];
    assert(Math.abs(cols[0] - c0) < 1e-9, `column 0: ${cols[0]} vs ${c0}`);
    sameBits(
      "column sums of a chain",
      () => jit((v: Tensor) => v.tanh().square().sum(0))(x),
    );
    sameBits("max over columns", () => x.max(0));
    for (const t of [x, w, k1, k2]) t.dispose();
  },
});

Deno.test({
  name: "threads: a large fused body inside a scan splits on every step",
  ...opts,
  async fn() {
    await waitForWorkers();
    const xs = random.normal(random.key(9), [4, 40001]);
    const init = random.normal(random.key(10), [40001]);
    const f = jit((c: Tensor, xs: Tensor) =>
      scan(
        (h: Tensor, x: Tensor) => {
          const next = h.mul(0.5).add(x).tanh();
          return [next, next.mul(x)] as const;
        },
        c,
        xs,
      )
    );
    // Four steps, each with a group of 40,001 elements (the tanh and the
    // product fuse): at least one split per step.
    const ys = sameBits("scan", () => f(init, xs), 4);
    const x0 = xs.data() as Float32Array, h0 = init.data() as Float32Array;
    const h1 = Math.tanh(h0[7] * 0.5 + x0[7]);
    assert(Math.abs(ys[40001 + 7] - h1 * x0[7]) < 1e-6, "first output");
    for (const t of [xs, init]) t.dispose();
  },
});
