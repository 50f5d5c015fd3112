// `deno task bench:compare [--quick] [--only=jacobi,pytorch] [--seed=N]
//   [--rounds=N] [--group=R]` (--group=R: the realistic group, realistic.ts)
//
// Runs the seed workloads on jacobi, PyTorch, JAX, jax-js and
// TensorFlow.js, one peer after another on the same seeded data, and writes
// bench/results/compare.{json,md,svg}. --quick runs each variant once (a smoke
// test of the whole pipeline) and writes compare-quick.* instead, so that it
// never overwrites real measurements. --rounds=N runs all peers N times in
// turn and keeps the median of the rounds (rounds.ts).

import { writeData } from "./data.ts";
import { describe, fillMissing, PEERS, type Result } from "./peers.ts";
import { runPeer } from "./peers.ts";
import type { Report } from "./report.ts";
import { renderMarkdown } from "./report_md.ts";
import { renderSvg } from "./report_svg.ts";
import { mergeRounds } from "./rounds.ts";
import { ensureJax, ensureNpm, ensureTorch, type Step } from "./setup.ts";

const args = new Set(Deno.args);
const flag = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = args.has("--quick");
const seed = Number(flag("seed") ?? 0);
const only = flag("only")?.split(",");
const roundCount = Math.max(1, Number(flag("rounds") ?? 1));
const peers = PEERS.filter((p) => !only || only.includes(p.name));
if (flag("group") === "R") {
  // The realistic group (R1–R6, peers interleaved per row): realistic.ts.
  await import("./realistic.ts");
  Deno.exit(0);
}

// Paths below are relative to the repository root.
Deno.chdir(new URL("../..", import.meta.url).pathname);
const log = (line: string) => console.log(line);
const t0 = performance.now();

log(`setup (installs only what is missing)`);
const steps: Step[] = [];
const installers = { torch: ensureTorch, jax: ensureJax, npm: ensureNpm };
for (const need of new Set(peers.map((p) => p.needs))) {
  if (!need) continue;
  const s = await installers[need]();
  steps.push(s);
  log(
    `  ${s.name}: ${s.status} in ${s.seconds.toFixed(1)} s${
      s.detail ? `: ${s.detail}` : ""
    }`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "jacobi-compare-" });
const manifest = await writeData(dir, seed, quick);
const rounds: Result[][] = [];
const metas: Record<string, unknown>[] = [];
const load = [loadAverage()];
try {
  for (let round = 1; round <= roundCount; round++) {
    const results: Result[] = [];
    for (const peer of peers) {
      const failed = steps.find((s) =>
        s.name === peer.needs && s.status === "failed"
      );
      if (failed) {
        const before = results.length;
        const why = `setup of ${failed.name} failed: ${failed.detail}`;
        fillMissing(peer, results, why);
        log(`${peer.name}: skipped (${describe(results[before])})`);
        continue;
      }
      log(roundCount > 1 ? `${peer.name} (round ${round})` : peer.name);
      // A variant may run long (PyTorch's jacrev(jacrev) on W4 takes
      // seconds), but a peer that prints nothing for minutes is hung.
      const idleMs = quick ? 120_000 : 240_000;
      const run = await runPeer(peer, manifest, idleMs, log);
      results.push(...run.results);
      metas.push(...run.meta);
      log(
        `  ${peer.name}: ${run.seconds.toFixed(0)} s, ${run.restarts} restarts`,
      );
      load.push(loadAverage());
    }
    rounds.push(results);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
const results = mergeRounds(rounds);

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
  revision: await revision(),
  setup: steps,
  // One meta line per process start: keep the first of each peer.
  peers: metas.filter((m, i) =>
    metas.findIndex((o) => o.peer === m.peer) === i
  ),
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
