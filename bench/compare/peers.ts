// The peers and how to run one: each is a small script of ours in its own
// process, printing JSON lines (see bench/peers/harness.*). A peer that
// fails, crashes or hangs inside a variant is restarted past it, so one bad
// variant costs one table cell, not the rest of the column.

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
  median_ms?: number;
  first_ms?: number;
  samples?: number;
  reps?: number;
  max_err?: number;
  error?: string;
  note?: string;
  /** With --rounds > 1: each round's median (see rounds.ts). */
  round_ms?: number[];
}

export interface PeerRun {
  results: Result[];
  meta: Record<string, unknown>[];
  seconds: number;
  restarts: number;
}

// One thread for every peer's BLAS/OpenMP pools.
const ENV = {
  OMP_NUM_THREADS: "1",
  OPENBLAS_NUM_THREADS: "1",
  MKL_NUM_THREADS: "1",
};

const key = (r: { peer: string; workload: string; variant: string }) =>
  `${r.peer}:${r.workload}/${r.variant}`;

/**
 * Runs a peer to the end, restarting it past a variant that crashed it or
 * printed nothing for `idleMs`; fills every variant it never reported with
 * an "n/a" carrying the reason.
 */
export async function runPeer(
  peer: Peer,
  manifest: string,
  idleMs: number,
  log: (line: string) => void,
): Promise<PeerRun> {
  const t0 = performance.now();
  const results: Result[] = [];
  const meta: Record<string, unknown>[] = [];
  let lastFailure = "";
  let restarts = 0;
  for (;;) {
    const skip = results.map(key);
    const once = await runOnce(peer.command(manifest, skip), idleMs, log);
    results.push(...once.results);
    meta.push(...once.meta);
    if (once.crashedIn) {
      // The variant in flight takes the blame; the rest get another process.
      const [peerCol, rest] = once.crashedIn.split(":");
      const [workload, variant] = rest.split("/");
      results.push({
        peer: peerCol,
        workload,
        variant,
        status: "error",
        ok: false,
        error: once.failure,
      });
    }
    lastFailure = once.failure;
    const progressed = once.results.length > 0 || once.crashedIn;
    if (once.code === 0 || !progressed || restarts >= 60) break;
    restarts++;
    if (!once.stoppedAfterError) {
      log(`  ${peer.name}: restarting after: ${once.failure}`);
    }
  }
  fillMissing(peer, results, lastFailure || "the peer did not report it");
  return {
    results,
    meta,
    seconds: (performance.now() - t0) / 1000,
    restarts,
  };
}

/** Records "n/a" for every variant of the peer's columns that has no result. */
export function fillMissing(peer: Peer, results: Result[], reason: string) {
  const seen = new Set(results.map(key));
  for (const column of peer.columns) {
    for (const w of WORKLOADS) {
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

interface Once {
  code: number;
  results: Result[];
  meta: Record<string, unknown>[];
  /** `peer:W/variant` started but never finished, if the process died. */
  crashedIn?: string;
  /** We stopped it after a variant's error, to run the rest in a fresh one. */
  stoppedAfterError?: boolean;
  failure: string;
}

async function runOnce(
  argv: string[],
  idleMs: number,
  log: (line: string) => void,
): Promise<Once> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: ENV,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    const failure = `cannot start ${argv[0]}: ${(e as Error).message}`;
    return { code: -1, results: [], meta: [], failure };
  }
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, idleMs);
  };
  arm();
  const stderr = tail(child.stderr);
  const results: Result[] = [];
  const meta: Record<string, unknown>[] = [];
  let current: string | undefined;
  let stoppedAfterError = false;
  for await (const line of lines(child.stdout)) {
    arm();
    if (!line.startsWith("{")) continue; // banners and stray prints
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (ev.event === "meta") meta.push(ev);
    else if (ev.event === "start") current = key(ev as unknown as Result);
    else if (ev.event === "result") {
      const r = ev as unknown as Result;
      delete (r as { event?: unknown }).event;
      results.push(r);
      if (current === key(r)) current = undefined;
      log(`  ${describe(r)}`);
      if (r.status === "error") {
        // A failed variant may leave the process poisoned (jacobi out of
        // WebAssembly memory, jax-js after a wasm trap): the next variants
        // get a fresh process.
        stoppedAfterError = true;
        child.kill("SIGKILL");
        break;
      }
    }
  }
  const { code, signal } = await child.status;
  clearTimeout(timer);
  const err = (await stderr).trim().split("\n").filter((l) => l.trim());
  const why = stoppedAfterError
    ? "stopped after an error"
    : timedOut
    ? `timed out: no output for ${idleMs / 1000} s`
    : `exited with ${signal ?? `code ${code}`}: ${err.slice(-3).join(" | ")}`;
  return {
    code: timedOut || stoppedAfterError ? -1 : code,
    results,
    meta,
    crashedIn: current,
    stoppedAfterError,
    failure: strip(why).slice(0, 400),
  };
}

/** A result as one log line. */
export function describe(r: Result): string {
  const head = `${r.peer} ${r.workload} ${r.variant}:`;
  if (r.status === "ok") return `${head} ${r.median_ms!.toFixed(3)} ms`;
  if (r.status === "wrong") {
    return `${head} ${r.median_ms?.toFixed(3)} ms WRONG ${r.error}`;
  }
  return `${head} ${r.error}`;
}

async function* lines(stream: ReadableStream<Uint8Array>) {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  if (buf) yield buf;
}

/** The last 8 KiB of a stream (a crashed peer's stack trace ends there). */
async function tail(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text = (text + chunk).slice(-8192);
  }
  return text;
}

// deno-lint-ignore no-control-regex
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
