// Multi-threaded kernels: the binary rewrite that shares memory with
// workers, the pool's API, and results that do not depend on the thread
// count (every element of a split product is summed in the same order, so
// one and two threads agree bit for bit) on every path that reaches the
// GEMM: matmul (plain, transposed, batched), conv2d, the jit executor,
// hessian, and the blocked factorizations' in-place updates.
import assert from "node:assert/strict";
import {
  conv2d,
  eye,
  getNumThreads,
  grad,
  hessian,
  jit,
  linalg,
  matmul,
  memoryStats,
  randn,
  random,
  setNumThreads,
  type Tensor,
} from "../mod.ts";
import { WASM_BASE64 } from "../src/backend/wasm/kernels_wasm.ts";
import {
  memoryPages,
  sharedMemoryVariant,
  stackPointer,
} from "../src/backend/wasm_binary.ts";
import { poolStats } from "../src/backend/thread_pool.ts";

const bytes = Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0));

Deno.test("wasm_binary: the shared-memory variants validate and import what the pool provides", () => {
  const main = sharedMemoryVariant(bytes, { maxPages: 65536, worker: false });
  const worker = sharedMemoryVariant(bytes, { maxPages: 65536, worker: true });
  for (const b of [main, worker]) {
    assert(WebAssembly.validate(b as Uint8Array<ArrayBuffer>));
  }
  const imports = (b: Uint8Array) =>
    WebAssembly.Module.imports(
      new WebAssembly.Module(b as Uint8Array<ArrayBuffer>),
    )
      .map((i) => `${i.module}.${i.name}:${i.kind}`);
  const plain = imports(bytes);
  assert(!plain.includes("env.memory:memory"));
  assert.deepStrictEqual(imports(main), [...plain, "env.memory:memory"]);
  assert.deepStrictEqual(imports(worker), [
    ...plain,
    "env.memory:memory",
    "env.__stack_pointer:global",
  ]);
  assert(plain.includes("jacobi_threads.spawn:function"));
  // The worker's stack pointer is ours to give; the main one starts at 1 MiB.
  assert.deepStrictEqual(stackPointer(bytes), 1048576);
  assert(memoryPages(bytes) >= 17);
  // The worker variant has no data segments (they would overwrite the
  // statics the main instance has been changing): it is that much smaller.
  assert(worker.length < main.length - 1000);
});

Deno.test("setNumThreads: rejects what is not a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => setNumThreads(bad), RangeError);
  }
  const before = getNumThreads();
  setNumThreads(1);
  assert.deepStrictEqual(getNumThreads(), 1);
  setNumThreads(before);
});

/** Runs `f` with 1 and with 2 threads; the flattened results must agree bit for bit. */
function sameBits(name: string, f: () => Tensor | Tensor[]): void {
  const read = () => {
    const out = f();
    const list = Array.isArray(out) ? out : [out];
    const vals = list.flatMap((t) => Array.from(t.data()));
    list.forEach((t) => t.dispose());
    return vals;
  };
  setNumThreads(1);
  const one = read();
  setNumThreads(2);
  const before = poolStats().splitJobs;
  const two = read();
  const split = poolStats().splitJobs - before;
  assert(split > 0, `${name}: no product was split across threads`);
  assert.deepStrictEqual(two.length, one.length);
  for (let i = 0; i < one.length; i++) {
    if (!Object.is(one[i], two[i])) {
      throw new Error(`${name}: element ${i} differs: ${one[i]} vs ${two[i]}`);
    }
  }
  // And the values are right, not just equal: the threaded path gives
  // what the single-threaded one gives, which other tests check.
  assert(one.every(Number.isFinite), `${name}: non-finite values`);
}

async function waitForWorkers(): Promise<void> {
  setNumThreads(2);
  // A product large enough to split starts the pool.
  const a = randn([128, 128]);
  matmul(a, a).dispose();
  for (let i = 0; i < 200 && poolStats().ready < 1; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  a.dispose();
}

Deno.test({
  name: "threads: one and two threads give the same bits on every GEMM path",
  // Workers are started once and parked for the life of the process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await waitForWorkers();
    if (poolStats().ready < 1) {
      throw new Error("the worker pool did not start within 5 s");
    }
    const key = random.key(7);
    const [k1, k2, k3, k4] = random.split(key, 4);
    const a = random.normal(k1, [300, 200]);
    const b = random.normal(k2, [200, 260]);
    const a64 = a.to("float64"), b64 = b.to("float64");
    sameBits("matmul f32", () => matmul(a, b));
    sameBits("matmul f64", () => matmul(a64, b64));
    sameBits("matmul tall (rows split)", () => matmul(b.T, a.T));
    sameBits("matmul transposed B", () => matmul(a, a.T));
    const batch = random.normal(k3, [3, 96, 128]);
    sameBits("batched matmul", () => matmul(batch, batch.transpose(1, 2)));
    const x = random.normal(k4, [4, 16, 40, 40]);
    const w = random.normal(k1, [32, 16, 3, 3]);
    sameBits("conv2d", () => conv2d(x, w, { padding: 1 }));
    const W = random.normal(k2, [160, 160]).div(13);
    const f = (v: Tensor) => W.matmul(v).tanh().sum();
    const v = random.normal(k3, [160]);
    sameBits("jit(hessian)", () => jit(hessian(f))(v));
    const loss = (p: Tensor) => matmul(a, p).tanh().square().mean();
    sameBits("grad through matmul", () => grad(loss)(b));
    const spd = matmul(a64, a64.T).add(eye(300, { dtype: "float64" }).mul(300));
    sameBits("cholesky (blocked updates)", () => linalg.cholesky(spd));
    sameBits("solve", () => linalg.solve(spd, a64));
    for (
      const t of [a, b, a64, b64, batch, x, w, W, v, spd, key, k1, k2, k3, k4]
    ) {
      t.dispose();
    }
  },
});

Deno.test({
  name: "threads: a loop of split products keeps memory bounded",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await waitForWorkers();
    const a = randn([256, 256]);
    matmul(a, a).dispose();
    const start = memoryStats();
    for (let i = 0; i < 300; i++) matmul(a, a).dispose();
    const end = memoryStats();
    assert.deepStrictEqual(end.liveBytes, start.liveBytes);
    assert.deepStrictEqual(end.heapBytes, start.heapBytes);
    a.dispose();
  },
});
