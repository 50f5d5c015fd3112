// The peers of the seed workloads W1–W7: each is a small script of ours in
// its own long-lived process (run with --serve), answering one workload at a
// time in JSON lines (see bench/peers/harness.*). run.ts drives them; a peer
// that fails, crashes or hangs inside a variant is restarted past it, so one
// bad variant costs one table cell, not the rest of the column.

import { WORKLOADS } from "./workloads.ts";

export interface Peer {
  /** Name in logs and in the setup step it needs. */
  name: string;
  /** The result columns this process reports (JAX reports eager and jit). */
  columns: string[];
  /** Which setup step must have succeeded (see setup.ts), if any. */
  needs?: "torch" | "jax" | "npm";
  /** argv, relative to the repository root. */
  command: (manifest: string, skip: string[]) => string[];
}

// ";"-separated: variant names hold commas (jacrev(W,b)).
const skipArg = (skip: string[]) =>
  skip.length ? [`--skip=${skip.join(";")}`] : [];

export const VENV_PYTHON = "bench/peers/.venv/bin/python";

export const PEERS: Peer[] = [
  {
    name: "jacobi",
    columns: ["jacobi", "jacobi+jit"],
    command: (m, skip) => [
      Deno.execPath(),
      "run",
      "--quiet",
      "--allow-read",
      "bench/compare/jacobi.ts",
      m,
      ...skipArg(skip),
    ],
  },
  {
    name: "pytorch",
    columns: ["pytorch"],
    needs: "torch",
    // Debian's python: the pyenv python3 first on PATH cannot see python3-torch.
    command: (m, skip) => [
      "/usr/bin/python3",
      "bench/peers/torch_peer.py",
      m,
      ...skipArg(skip),
    ],
  },
  {
    name: "jax",
    columns: ["jax", "jax+jit"],
    needs: "jax",
    command: (m, skip) => [
      VENV_PYTHON,
      "bench/peers/jax_peer.py",
      m,
      ...skipArg(skip),
    ],
  },
  {
    name: "jax-js",
    columns: ["jax-js", "jax-js+jit"],
    needs: "npm",
    command: (m, skip) => [
      "node",
      "bench/peers/jaxjs_peer.mjs",
      m,
      ...skipArg(skip),
    ],
  },
  {
    name: "tfjs-wasm",
    columns: ["tfjs-wasm"],
    needs: "npm",
    command: (m, skip) => [
      "node",
      "bench/peers/tfjs_peer.mjs",
      m,
      ...skipArg(skip),
    ],
  },
];

/** Result columns that count as "JavaScript peers" for the ratio. */
export const JS_COLUMNS = ["jax-js", "jax-js+jit", "tfjs-wasm"];

/** One result line of a peer (see harness.mjs / harness.py). */
export interface Result {
  peer: string;
  workload: string;
  variant: string;
  status: "ok" | "wrong" | "error" | "n/a";
  ok: boolean;
  /** Median wall time per call. */
  median_ms?: number;
  /** Median process CPU time per call (what run.ts compares). */
  cpu_ms?: number;
  first_ms?: number;
  samples?: number;
  reps?: number;
  max_err?: number;
  error?: string;
  note?: string;
  /** Each round's time (timeMs), in round order, null where the round
   * failed (see rounds.ts): the per-round ratios read it. */
  round_ms?: (number | null)[];
}

// One thread for every peer's BLAS/OpenMP pools.
export const ONE_THREAD_ENV = {
  OMP_NUM_THREADS: "1",
  OPENBLAS_NUM_THREADS: "1",
  MKL_NUM_THREADS: "1",
};

export const key = (
  r: { peer: string; workload: string; variant: string },
) => `${r.peer}:${r.workload}/${r.variant}`;

/** The time a result is compared by: CPU time where the peer reports it. */
export function timeMs(r: Result | undefined): number | undefined {
  return r?.cpu_ms ?? r?.median_ms;
}

/** Records "n/a" for every variant of the peer's columns that has no result. */
export function fillMissing(
  peer: Peer,
  results: Result[],
  reason: string,
  workloads = WORKLOADS,
) {
  const seen = new Set(results.map(key));
  for (const column of peer.columns) {
    for (const w of workloads) {
      for (const variant of w.variants) {
        const r = { peer: column, workload: w.id, variant };
        if (seen.has(key(r))) continue;
        results.push({
          ...r,
          status: "n/a",
          ok: false,
          error: `n/a: ${reason}`,
        });
      }
    }
  }
}

/** A result as one log line. */
export function describe(r: Result): string {
  const head = `${r.peer} ${r.workload} ${r.variant}:`;
  if (r.status === "ok") return `${head} ${timeMs(r)!.toFixed(3)} ms`;
  if (r.status === "wrong") {
    return `${head} ${timeMs(r)?.toFixed(3)} ms WRONG ${r.error}`;
  }
  return `${head} ${r.error}`;
}
