import assert from "node:assert/strict";
import { allocate, memoryStats } from "../src/backend/storage.ts";
import { getNumThreads, setNumThreads, tensor } from "../mod.ts";

const MiB = 2 ** 20;
const N = 16384; // 64 KiB of float32 per temporary
const macrotask = () => new Promise((r) => setTimeout(r, 0));

Deno.test("memory: 10,000 iterations of dropped 64 KiB temporaries stay bounded without dispose()", async () => {
  // One thread: this bounds garbage between collections, and a 16,384-
  // element exp split across a worker changes when V8 collects (peaks
  // measured 77–132 MiB with two threads, 77 MiB with one).
  const threads = getNumThreads();
  setNumThreads(1);
  const x = tensor(new Float32Array(N).fill(0.25));
  let peak = 0;
  try {
    for (let i = 0; i < 10_000; i++) {
      const y = x.exp(); // two 64 KiB temporaries per iteration,
      y.add(x); // both dropped unreferenced
      // An event-loop turn now and then, as any async program has: V8 runs
      // FinalizationRegistry callbacks only between tasks (see storage.ts).
      if (i % 100 === 99) await macrotask();
      peak = Math.max(peak, memoryStats().heapBytes);
    }
  } finally {
    setNumThreads(threads);
  }
  // Total allocated: 10,000 × 128 KiB = 1.25 GiB (what a leak would show;
  // the registry alone, without storage.ts's GC valve, peaked at 233 MiB).
  // Bound: V8 starts a GC when external (ArrayBuffer shadow) memory has
  // grown ~64 MiB, so unreclaimed wasm garbage stays near 64 MiB, plus
  // 12.5 MiB allocated between event-loop turns, plus allocator slack and
  // a few MiB of baseline. Measured 52–100 MiB on a noisy 2-core machine.
  assert.ok(
    peak < 160 * MiB,
    `wasm heap peaked at ${(peak / MiB).toFixed(1)} MiB`,
  );
});

Deno.test("memory: dispose() releases at once, so a synchronous loop stays flat", () => {
  const before = memoryStats();
  for (let i = 0; i < 10_000; i++) {
    const s = allocate("float64", N);
    s.dispose();
    s.dispose(); // idempotent
  }
  const after = memoryStats();
  assert.equal(after.liveStorages, before.liveStorages);
  assert.equal(after.liveBytes, before.liveBytes);
  assert.ok(after.heapBytes - before.heapBytes <= 2 * N * 8 + MiB);
});

Deno.test("memory: `using` disposes at scope end", () => {
  const before = memoryStats().liveBytes;
  {
    using s = allocate("float32", 1000);
    assert.equal(memoryStats().liveBytes, before + 4000);
    assert.equal(s.disposed, false);
  }
  assert.equal(memoryStats().liveBytes, before);
});
