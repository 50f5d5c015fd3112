// `deno task bench:compare [--quick] [--only=jacobi,pytorch] [--seed=N]
//   [--rounds=N] [--core=0] [--group=R]` (--group=R: the realistic group,
//   realistic.ts, after the same setup)
//
// Runs the seed workloads W1–W7 on jacobi, PyTorch, JAX, jax-js and
// TensorFlow.js on the same seeded data and writes
// bench/results/compare.{json,md,svg}. Every peer is one long-lived process
// (`--serve`, see bench/peers/harness.*) pinned with `taskset` to the same
// core; for each workload the peers take their turn in an order that
// rotates with the workload and the round (interleave.ts, shared with the
// realistic group), at least 3 rounds, and the ratios are taken per round
// (report_md.ts), eager-vs-eager beside best-vs-best. --quick runs each
// variant once, one round (a smoke test of the whole pipeline), and writes
// compare-quick.* instead, so that it never overwrites real measurements. A
// peer whose setup failed (no PyTorch, no network) becomes "n/a" cells with
// the reason; nothing here needs any one peer.

import { writeData } from "./data.ts";
import { interleave, PinnedProcess, tasksetWorks } from "./interleave.ts";
import {
  describe,
  fillMissing,
  key,
  ONE_THREAD_ENV,
  type Peer,
  PEERS,
  type Result,
} from "./peers.ts";
import type { Report } from "./report.ts";
import { renderMarkdown } from "./report_md.ts";
import { renderSvg } from "./report_svg.ts";
import { mergeRounds } from "./rounds.ts";
import { ensureJax, ensureNpm, ensureTorch, type Step } from "./setup.ts";
import { type Workload, WORKLOADS } from "./workloads.ts";

const args = new Set(Deno.args);
const flag = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = args.has("--quick");
const seed = Number(flag("seed") ?? 0);
const only = flag("only")?.split(",");
const roundCount = Math.max(quick ? 1 : 3, Number(flag("rounds") ?? 1));
const core = flag("core") ?? "0";
const group = flag("group");
const peers = PEERS.filter((p) => !only || only.includes(p.name));

// Paths below are relative to the repository root.
Deno.chdir(new URL("../..", import.meta.url).pathname);
const log = (line: string) => console.log(line);
const t0 = performance.now();

log(`setup (installs only what is missing)`);
const steps: Step[] = [];
const installers = { torch: ensureTorch, jax: ensureJax, npm: ensureNpm };
const needs = group === "R"
  ? ["torch", "jax", "npm"] as const
  : peers.map((p) => p.needs);
for (const need of new Set(needs)) {
  if (!need) continue;
  const s = await installers[need]();
  steps.push(s);
  log(
    `  ${s.name}: ${s.status} in ${s.seconds.toFixed(1)} s${
      s.detail ? `: ${s.detail}` : ""
    }`,
  );
}
if (group === "R") {
  // The realistic group (R1–R6): realistic.ts reads the same arguments and
  // skips, with the reason, any peer whose setup failed.
  await import("./realistic.ts");
  Deno.exit(0);
}

/** A peer's process and what it has failed so far. */
interface Running {
  peer: Peer;
  proc?: PinnedProcess;
  /** Set when the peer cannot run at all (setup failed, dies at start). */
  dead?: string;
  /** Variants that failed in an earlier round: not rerun, the error kept. */
  failed: Map<string, Result>;
  meta: Record<string, unknown>[];
}

// A variant may run long (PyTorch's jacrev(jacrev) on W4 takes seconds),
// but a peer that prints nothing for minutes is hung.
const idleMs = quick ? 120_000 : 240_000;
const dir = await Deno.makeTempDir({ prefix: "jacobi-compare-" });
const manifest = await writeData(dir, seed, quick);
const running: Running[] = peers.map((peer) => {
  const failed = steps.find((s) =>
    s.name === peer.needs && s.status === "failed"
  );
  return {
    peer,
    failed: new Map(),
    meta: [],
    dead: failed
      ? `setup of ${failed.name} failed: ${failed.detail}`
      : undefined,
  };
});
for (const r of running) if (r.dead) log(`${r.peer.name}: skipped (${r.dead})`);
const pinned = tasksetWorks(core);
log(
  `peers: ${peers.map((p) => p.name).join(", ")}; pinned to core ${
    pinned ? core : "(no taskset: not pinned)"
  }; ${roundCount} round(s), interleaved per workload in rotating order`,
);

const rounds: Result[][] = Array.from({ length: roundCount }, () => []);
const load = [loadAverage()];
try {
  let visits = 0;
  await interleave(running, WORKLOADS, roundCount, async (run, w, round) => {
    const results = await runWorkload(run, w, round);
    rounds[round].push(...results);
    for (const r of results) log(`  round ${round + 1} ${describe(r)}`);
    // One load sample per workload row (all peers had their turn).
    if (++visits % running.length === 0) load.push(loadAverage());
  });
} finally {
  for (const r of running) await r.proc?.close();
  await Deno.remove(dir, { recursive: true });
}
const results = mergeRounds(rounds);

/** Every variant of `peer` on workload `w` (all its columns), in this round. */
async function runWorkload(
  run: Running,
  w: Workload,
  round: number,
): Promise<Result[]> {
  const out: Result[] = [];
  if (run.dead) {
    fillMissing(run.peer, out, run.dead, [w]);
    return out;
  }
  // Failures of earlier rounds stand for this round too.
  for (const [k, r] of run.failed) {
    if (k.split(":")[1].startsWith(`${w.id}/`)) out.push(r);
  }
  for (let starts = 0; starts < 20; starts++) {
    if (!run.proc || run.proc.exited) {
      run.proc = new PinnedProcess(
        run.peer.name,
        [...run.peer.command(manifest, []), "--serve"],
        { cores: core, env: ONE_THREAD_ENV },
      );
    }
    const proc = run.proc;
    await proc.send({ workload: w.id, skip: out.map(key) });
    let current: string | undefined;
    let restart = false;
    for (;;) {
      const ev = await proc.next(idleMs);
      if (!ev) {
        // Exited or hung: the variant in flight takes the blame.
        const why = proc.exited
          ? `exited: ${proc.stderrTail() || "no message"}`
          : `no output for ${idleMs / 1000} s`;
        proc.kill();
        run.proc = undefined;
        if (!current) {
          if (starts === 0 && round === 0 && out.length === 0) {
            // It never got going: the rest of its column says why.
            run.dead = `the peer does not start: ${why}`;
          }
          fillMissing(run.peer, out, run.dead ?? why, [w]);
          return out;
        }
        const [peer, rest] = current.split(":");
        const variant = rest.slice(w.id.length + 1);
        const r: Result = {
          peer,
          workload: w.id,
          variant,
          status: "error",
          ok: false,
          error: `${why} (round ${round + 1})`.slice(0, 400),
        };
        out.push(r);
        run.failed.set(current, r);
        restart = true;
        break;
      }
      if (ev.event === "meta") run.meta.push(ev);
      else if (ev.event === "start") current = key(ev as unknown as Result);
      else if (ev.event === "result") {
        const r = ev as unknown as Result;
        delete (r as { event?: unknown }).event;
        out.push(r);
        current = undefined;
        if (r.status === "error") {
          // A failed variant may leave the process poisoned (jacobi out of
          // WebAssembly memory, jax-js after a wasm trap): the rest of the
          // workload gets a fresh process, and later rounds skip it.
          r.error = `${r.error} (round ${round + 1})`;
          run.failed.set(key(r), r);
          proc.kill();
          run.proc = undefined;
          restart = true;
          break;
        }
      } else if (ev.event === "done") return out;
    }
    if (!restart) break;
  }
  fillMissing(run.peer, out, "restarted too often", [w]);
  return out;
}

const report: Report = {
  generated: new Date().toISOString(),
  quick,
  seed,
  machine: {
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency ?? null,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    load: load.filter((l): l is number => l !== null),
  },
  rounds: roundCount,
  pinned: pinned ? `core ${core}` : "not pinned (no taskset)",
  revision: await revision(),
  setup: steps,
  // One meta line per process start: keep the first of each peer.
  peers: running.flatMap((r) => r.meta.slice(0, 1)),
  results,
  seconds: (performance.now() - t0) / 1000,
};
const base = `bench/results/compare${quick ? "-quick" : ""}`;
await Deno.mkdir("bench/results", { recursive: true });
await Deno.writeTextFile(
  `${base}.json`,
  JSON.stringify(report, null, 1) + "\n",
);
await Deno.writeTextFile(`${base}.md`, renderMarkdown(report));
await Deno.writeTextFile(`${base}.svg`, renderSvg(report));
log(
  `wrote ${base}.json, ${base}.md, ${base}.svg in ${
    report.seconds.toFixed(0)
  } s`,
);

/** The 1-minute load average, to tell a quiet run from a noisy one. */
function loadAverage(): number | null {
  try {
    return Deno.loadavg()[0]; // --allow-sys=loadavg (reading /proc needs -A)
  } catch {
    return null;
  }
}

/** The commit measured, and whether the library's files differ from it. */
async function revision(): Promise<string> {
  const git = async (...args: string[]) => {
    try {
      const out = await new Deno.Command("git", { args }).output();
      return new TextDecoder().decode(out.stdout).trim();
    } catch {
      return "";
    }
  };
  const head = await git("rev-parse", "--short", "HEAD");
  const dirty = await git("status", "--porcelain", "mod.ts", "src", "crates");
  const n = dirty ? dirty.split("\n").length : 0;
  return n ? `${head} + ${n} uncommitted paths in mod.ts/src/crates` : head;
}
