/**
 * The public face of the worker pool (thread_pool.ts): how many threads
 * the kernels may use.
 * @module
 */
import { setThreadCount, threadCount } from "./thread_pool.ts";

/**
 * Sets how many threads the kernels may use (matrix products, and
 * elementwise work and reductions, large enough to gain from it; everything
 * else runs on the calling thread). The
 * default is the engine's `navigator.hardwareConcurrency` (at most 16).
 * Where the engine has no shared memory (a browser page without
 * cross-origin isolation, `globalThis.jacobiThreads = false` before the
 * first import), everything runs on one thread whatever this says.
 * Results do not depend on the thread count: each element of a product is
 * summed in the same order, and each element or reduced output of the other
 * kernels is computed whole by one thread, the same way.
 *
 * @example
 * ```ts
 * import { getNumThreads, matmul, randn, setNumThreads } from "./mod.ts";
 * setNumThreads(1);
 * const a = randn([512, 512]);
 * const one = matmul(a, a).toArray();
 * setNumThreads(2);
 * console.log(getNumThreads() <= 2); // true
 * ```
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `setNumThreads: n must be a positive integer, got ${n}`,
    );
  }
  setThreadCount(n);
}

/**
 * The number of threads the kernels use now: {@link setNumThreads}'s value,
 * or 1 where the engine cannot run more (no shared memory or workers).
 *
 * @example
 * ```ts
 * import { getNumThreads } from "./mod.ts";
 * console.log(getNumThreads() >= 1); // true
 * ```
 */
export function getNumThreads(): number {
  return threadCount();
}
