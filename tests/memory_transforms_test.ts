import assert from "node:assert/strict";
import { grad, jacrev, memoryStats, randn, type Tensor, vmap } from "../mod.ts";

// Finalizers cannot run inside a synchronous loop, so only the transforms'
// own release of temporaries (src/transforms/arena.ts) keeps this bounded.
// Each iteration allocates ~10 temporaries of 64 KiB (16384 float32): without
// the release, 3000 iterations would hold ~1.9 GiB; with it, the heap stays
// near its high-water mark of one iteration plus the loop's own results.
const BOUND = 96 * 2 ** 20;

Deno.test("a synchronous loop of grad() calls keeps WebAssembly memory bounded", () => {
  let w = randn([16384]);
  const loss = (w: Tensor) => w.tanh().mul(w).sin().sum();
  for (let i = 0; i < 3000; i++) {
    const g = grad(loss)(w) as Tensor;
    // The loop's own tensors are released with `using`/dispose(); the
    // transform's internal temporaries are released by grad() itself.
    using step = g.mul(1e-3);
    const next = w.sub(step);
    w.dispose();
    g.dispose();
    w = next;
  }
  const { heapBytes } = memoryStats();
  assert.ok(
    heapBytes < BOUND,
    `wasm heap grew to ${(heapBytes / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(Number.isFinite(w.sum().item()));
});

Deno.test("temporaries of jacrev and vmap are released while results stay valid", () => {
  const x = randn([64]);
  const results: Tensor[] = [];
  for (let i = 0; i < 200; i++) {
    const J = jacrev((x: Tensor) => x.sin().mul(x))(x) as Tensor;
    const v = vmap((r: Tensor) => r.exp().sum())(J);
    if (i % 50 === 0) results.push(J, v);
  }
  // Every kept result is still readable (nothing it uses was freed).
  for (const r of results) assert.ok(r.data().every(Number.isFinite));
  const expected = x.cos().mul(x).add(x.sin());
  const diag = (results[0] as Tensor).mul(randn([64]).mul(0).add(1)).sum(0);
  assert.ok(diag.sub(expected).abs().max().item() < 1e-5);
});

Deno.test("jacrev(jacrev) with chunkSize stays symbolic and frees each chunk", () => {
  const W = randn([32, 512]), b = randn([32]), x = randn([512]);
  const p = (x: Tensor) => x.matmul(W.T).add(b).tanh();
  const before = memoryStats().liveBytes;
  const H = jacrev(jacrev(p), { chunkSize: 1024 })(x) as Tensor;
  const grown = memoryStats().liveBytes - before;
  // The result is 32·512·512 float32 = 32 MiB; a dense identity over the
  // 16384 outputs would be 1 GiB, and keeping every chunk's temporaries
  // several hundred MiB.
  assert.ok(
    grown < 48 * 2 ** 20,
    `live memory grew by ${(grown / 2 ** 20).toFixed(1)} MiB`,
  );
  const y = p(x);
  const k = 3, i = 5, j = 7;
  const expected = -2 * y.select(0, k).item() *
    (1 - y.select(0, k).item() ** 2) * W.select(0, k).select(0, i).item() *
    W.select(0, k).select(0, j).item();
  assert.ok(
    Math.abs(H.select(0, k).select(0, i).select(0, j).item() - expected) < 1e-5,
  );
  H.dispose();
});
