import assert from "node:assert/strict";
import { allocate, memoryStats, shadowCount } from "../src/backend/storage.ts";
import { jit, type Tensor, tensor } from "../mod.ts";

const MiB = 2 ** 20;
const N = 16384; // 64 KiB of float32 per temporary

/**
 * The wasm heap's peak and the peak of live tensor bytes over `iterations`
 * of dropped temporaries of `n` float32 elements, measured in a fresh
 * process (tests/_dropped_loop.ts says why).
 */
async function droppedLoopPeaks(n: number, iterations: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      new URL("./_dropped_loop.ts", import.meta.url).pathname,
      String(n),
      String(iterations),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  return JSON.parse(text.decode(out.stdout)) as { heap: number; live: number };
}

Deno.test("memory: 10,000 iterations of dropped 64 KiB temporaries stay bounded without dispose()", async () => {
  const peak = (await droppedLoopPeaks(N, 10_000)).heap;
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

Deno.test("memory: small dropped temporaries (8 KiB) pace the GC too", async () => {
  // Shadows stand for the bytes of every collectable storage, small ones
  // included (storage.ts, SHADOW_CHUNK): with a shadow only per storage of
  // 16 KiB or more, this loop's live bytes peaked at 188-203 MiB; 70-75
  // with (each in a fresh process).
  const peak = (await droppedLoopPeaks(2048, 60_000)).live;
  assert.ok(
    peak < 140 * MiB,
    `live tensor bytes peaked at ${(peak / MiB).toFixed(1)} MiB`,
  );
});

Deno.test("memory: one shadow per 4 MiB of dropped storages, none for disposed ones", () => {
  // 64 KiB temporaries: dropped, 64 make one shadow; disposed, they were
  // freed at once and owe GC pacing nothing.
  const x = tensor(new Float32Array(N).fill(0.25));
  let s0 = shadowCount();
  for (let i = 0; i < 320; i++) x.exp().dispose();
  assert.equal(shadowCount() - s0, 0, "disposed");
  s0 = shadowCount();
  const kept = Array.from({ length: 320 }, () => x.exp());
  const made = shadowCount() - s0;
  assert.ok(made >= 4 && made <= 5, `dropped: ${made} shadows`);
  kept.forEach((t) => t.dispose());
});

Deno.test("memory: a loop that disposes 1.2 MiB of results per step pays for no shadow", () => {
  // A training step's gradients (the jitted MLP's are 1.1 MiB): each
  // shadow costs about its size in page faults and zeroing, so a loop that
  // disposes what it gets must not make one per step.
  const big = tensor(new Float32Array(200_000).fill(0.5)); // 0.76 MiB
  const small = tensor(new Float32Array(115_000).fill(0.5)); // 0.44 MiB
  const s0 = shadowCount();
  for (let i = 0; i < 50; i++) {
    const results = [big.exp(), small.exp(), small.sin()];
    results.forEach((t) => t.dispose());
  }
  assert.equal(shadowCount() - s0, 0);
});

Deno.test("memory: results over 4 MiB per call, disposed before the next call, pay for no shadow", () => {
  // Per-sample gradients return tens of MiB per call. The shadow is owed
  // only if those bytes are still live when the next call starts; dropped
  // instead of disposed, they pace the GC one call later.
  const f = jit((x: Tensor) => [x.exp(), x.sin().mul(2)]);
  const x = tensor(new Float32Array(1_000_000).fill(0.5)); // 3.8 MiB each
  // (x and earlier tests' dropped tensors may owe one: settle it first.)
  f(x).forEach((t) => t.dispose());
  let s0 = shadowCount();
  for (let i = 0; i < 20; i++) f(x).forEach((t) => t.dispose());
  for (let i = 0; i < 20; i++) x.exp().dispose();
  assert.equal(shadowCount() - s0, 0, "disposed");
  s0 = shadowCount();
  const kept = Array.from({ length: 10 }, () => f(x)).flat(); // 76 MiB
  const made = shadowCount() - s0;
  // Each call's 7.6 MiB owes one shadow, made as the next call starts.
  assert.ok(made >= 9 && made <= 10, `dropped: ${made} shadows`);
  // And an eager operation or a tensor from an array settles it too.
  const last = shadowCount();
  x.neg().dispose();
  assert.equal(shadowCount() - last, 1, "settled by the next eager op");
  kept.forEach((t) => t.dispose());
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
