// Generates the shared inputs once, from a fixed seed, and writes them where
// every peer reads them: `data.bin` (little-endian float32, arrays back to
// back) and `manifest.json` (name → shape and element offset, plus the timing
// settings). A generator of our own keeps the data identical whatever the
// peers' RNGs do.

import { ARRAYS } from "./workloads.ts";

/** Timing settings the peers' harnesses read from the manifest. */
export interface Timing {
  /** Time spent warming up each variant before measuring (ms). */
  warmupMs: number;
  /** Time budget for the measured samples of each variant (ms). */
  budgetMs: number;
  minSamples: number;
  maxSamples: number;
  /** A sample repeats the call until it lasts at least this long (ms). */
  minSampleMs: number;
  /** Slow variants take fewer samples than minSamples to stay under this. */
  capMs: number;
}

export const FULL_TIMING: Timing = {
  warmupMs: 150,
  budgetMs: 600,
  minSamples: 5,
  maxSamples: 60,
  minSampleMs: 2,
  capMs: 8000,
};

// Enough to prove that every peer runs and checks, not to measure anything.
export const QUICK_TIMING: Timing = {
  warmupMs: 0,
  budgetMs: 0,
  minSamples: 1,
  maxSamples: 1,
  minSampleMs: 0,
  capMs: 0,
};

/** mulberry32: a small, well-mixed 32-bit generator. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller on mulberry32. */
function normals(n: number, next: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - next(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

export interface Manifest {
  seed: number;
  quick: boolean;
  timing: Timing;
  arrays: Record<string, { shape: number[]; offset: number }>;
}

/** Writes data.bin and manifest.json into `dir`; returns the manifest path. */
export async function writeData(
  dir: string,
  seed: number,
  quick: boolean,
): Promise<string> {
  const next = mulberry32(seed);
  const total = ARRAYS.reduce((n, a) => n + size(a.shape), 0);
  const data = new Float32Array(total);
  const arrays: Manifest["arrays"] = {};
  let offset = 0;
  for (const spec of ARRAYS) {
    const n = size(spec.shape);
    const z = normals(n, next);
    for (let i = 0; i < n; i++) data[offset + i] = z[i] * spec.scale;
    arrays[spec.name] = { shape: spec.shape, offset };
    offset += n;
  }
  // Float32Array is little-endian on every platform Deno runs on.
  await Deno.writeFile(`${dir}/data.bin`, new Uint8Array(data.buffer));
  const manifest: Manifest = {
    seed,
    quick,
    timing: quick ? QUICK_TIMING : FULL_TIMING,
    arrays,
  };
  const path = `${dir}/manifest.json`;
  await Deno.writeTextFile(path, JSON.stringify(manifest, null, 1));
  return path;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
