/**
 * Runs `iterations` of `x.exp().add(x)` on `n` float32 elements (two
 * temporaries, both dropped, never disposed) and prints, as JSON, the wasm
 * heap's peak and the peak of live tensor bytes. tests/memory_test.ts runs
 * it in a fresh process: garbage that an earlier test left for the GC
 * would otherwise count as this loop's (CI measured 140.7 MiB, of which up
 * to ~75 MiB was the previous test's 64 KiB temporaries not yet collected).
 *
 * Usage: deno run --allow-read tests/_dropped_loop.ts N ITERATIONS
 */
import { memoryStats, resetPeakMemory, setNumThreads, tensor } from "../mod.ts";

const [n, iterations] = Deno.args.map(Number);
// One thread: this bounds garbage between collections, and an exp split
// across a worker changes when V8 collects (for 64 KiB, peaks measured
// 77–132 MiB with two threads, 77 MiB with one).
setNumThreads(1);
// An event-loop turn every 100 iterations, as any async program has: V8
// runs FinalizationRegistry callbacks only between tasks (see storage.ts).
const macrotask = () => new Promise((r) => setTimeout(r, 0));
const x = tensor(new Float32Array(n).fill(0.25));
let heap = 0;
resetPeakMemory();
for (let i = 0; i < iterations; i++) {
  x.exp().add(x);
  if (i % 100 === 99) await macrotask();
  heap = Math.max(heap, memoryStats().heapBytes);
}
console.log(JSON.stringify({ heap, live: memoryStats().peakLiveBytes }));
