// Renders compare.md: one row per workload variant, one column of medians
// per peer, then jacobi's speed-up over each peer taken per round (the peers
// ran interleaved, see run.ts) and its median over rounds, eager-vs-eager
// beside best-vs-best, and numbered notes for every wrong, failed or n/a
// cell. The targets are stated for both pairings, so that no headline rests
// on jacobi's jit against another library's eager mode.

import { bestPerRound, median, perRoundRatios } from "./interleave.ts";
import { JS_COLUMNS, PEERS } from "./peers.ts";
import {
  columnsOf,
  okMs,
  type Report,
  roundTimes,
  type Row,
  rows,
} from "./report.ts";
import { WORKLOADS } from "./workloads.ts";

// PyTorch 1.13 single-thread medians quoted in the seed table (ms), for comparison.
const SEED_TABLE_PYTORCH: Record<string, number> = {
  "W1/vjp-loop": 1.198,
  "W1/jacrev": 0.583,
  "W2/jacfwd": 1.5,
  "W2/jacrev": 25.7,
  "W3/jacfwd": 20.6,
  "W3/jacrev": 0.83,
  "W4/hessian": 63,
  "W5/vmap(jacrev)": 1.09,
  "W5/vmap(hessian)": 17.3,
  "W6/jvp(grad)": 0.62,
  "W6/vjp(grad)": 0.41,
  "W7/jacrev(W,b)": 0.73,
};

/** Milliseconds with three significant digits, no exponent. */
export function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toPrecision(3);
}

const ratio = (x: number) => x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`;

/** The peers other than jacobi, with their eager and jit columns. */
const ALL_OTHERS = PEERS.filter((p) => p.name !== "jacobi").map((p) => ({
  name: p.name,
  eager: p.columns[0],
  jit: p.columns.find((c) => c.endsWith("+jit")),
}));
const JS_EAGER = JS_COLUMNS.filter((c) => !c.endsWith("+jit"));

/** Per round, the fastest of `columns` (null where none has a time). */
const fastestOf = (row: Row, columns: string[]) =>
  bestPerRound(...columns.map((c) => roundTimes(row.cells.get(c))));

/** Speed-up of jacobi (other / jacobi) per round, median over rounds. */
function speedUp(
  other: (number | null)[],
  jacobi: (number | null)[],
): number | undefined {
  const m = median(perRoundRatios(other, jacobi));
  return isFinite(m) ? m : undefined;
}

/** Load samples (one per workload row) as start, peak and end. */
function loadText(load: number[]): string {
  if (load.length === 0) return "unknown";
  const f = (x: number) => x.toFixed(1);
  return `${f(load[0])} at the start, ${f(Math.max(...load))} at most, ` +
    `${f(load.at(-1)!)} at the end`;
}

export function renderMarkdown(report: Report): string {
  const COLUMNS = columnsOf(report);
  const OTHERS = ALL_OTHERS.filter((o) => COLUMNS.includes(o.eager));
  const notes: string[] = [];
  const ref = (text: string) => {
    let i = notes.indexOf(text);
    if (i < 0) i = notes.push(text) - 1;
    return `[${i + 1}]`;
  };
  const out: string[] = [];
  out.push(
    "# jacobi side by side (`deno task bench:compare`)",
    "",
    `${report.generated}, ${report.machine.os}, ${report.machine.cpus} CPUs, ` +
      `Deno ${report.machine.deno} (V8 ${report.machine.v8}); seed ` +
      `${report.seed}; jacobi at ${report.revision}; ` +
      `${report.rounds} round(s), peers interleaved per workload in ` +
      `rotating order, each pinned to ${report.pinned ?? "one core"}; ` +
      `1-minute load average ${loadText(report.machine.load)}` +
      `${
        report.quick ? "; **--quick: smoke test, timings meaningless**" : ""
      }.`,
    "",
    "Median CPU time per call in **ms** (process CPU time, median over " +
      "rounds; wall times are in the JSON), float32, one thread per peer, " +
      "same inputs for all; every result checked against the closed forms " +
      "(max error relative to the largest entry ≤ 1e-4). `✗` = timed but " +
      "wrong. Speed-ups are other / jacobi (> 1: jacobi faster), taken " +
      "within each round and the median over rounds reported: **e/e** " +
      "eager vs eager (jacobi without jit against the peer without jit), " +
      "**b/b** best vs best (each side's faster of eager and jit in that " +
      "round; PyTorch and TensorFlow.js have only eager, so their b/b " +
      "puts jacobi's best against their eager).",
    "",
  );
  const head = [
    "workload",
    "variant",
    ...COLUMNS,
    ...OTHERS.flatMap((o) => [`vs ${o.name} e/e`, `vs ${o.name} b/b`]),
    "PyTorch, seed table",
  ];
  out.push(`| ${head.join(" | ")} |`);
  out.push(`|${head.map((_, i) => i < 2 ? "---" : "---:").join("|")}|`);
  const all = rows(report);
  // [met, comparable] per target and pairing.
  const tally = { ptE: [0, 0], ptB: [0, 0], jsE: [0, 0], jsB: [0, 0] };
  const count = (t: number[], x: number | undefined, goal: number) => {
    if (x === undefined) return;
    t[1]++;
    if (x >= goal) t[0]++;
  };
  const fmt = (x: number | undefined) => x === undefined ? "–" : ratio(x);
  for (const row of all) {
    const cells = COLUMNS.map((c) => {
      const r = row.cells.get(c);
      if (!r) return "";
      const note = r.note ? ` ${ref(`${c}: ${r.note}`)}` : "";
      if (r.status === "ok") return `${fmtMs(okMs(r)!)}${note}`;
      const why = ref(`${c}: ${(r.error ?? r.status).replace(/^n\/a: /, "")}`);
      const ms = r.cpu_ms ?? r.median_ms;
      if (r.status === "wrong" && ms !== undefined) {
        return `${fmtMs(ms)} ✗ ${why}${note}`;
      }
      return `${r.status} ${why}${note}`;
    });
    const jacE = roundTimes(row.cells.get("jacobi"));
    const jacB = fastestOf(row, ["jacobi", "jacobi+jit"]);
    const ratios = OTHERS.flatMap((o) => {
      const e = speedUp(roundTimes(row.cells.get(o.eager)), jacE);
      const b = speedUp(
        fastestOf(row, [o.eager, ...o.jit ? [o.jit] : []]),
        jacB,
      );
      return [fmt(e), fmt(b)];
    });
    const ptE = speedUp(roundTimes(row.cells.get("pytorch")), jacE);
    const ptB = speedUp(roundTimes(row.cells.get("pytorch")), jacB);
    count(tally.ptE, ptE, 3);
    count(tally.ptB, ptB, 3);
    count(tally.jsE, speedUp(fastestOf(row, JS_EAGER), jacE), 2);
    count(tally.jsB, speedUp(fastestOf(row, JS_COLUMNS), jacB), 2);
    const seedMs = SEED_TABLE_PYTORCH[`${row.workload}/${row.variant}`];
    out.push(
      `| ${row.workload} | ${row.variant} | ${cells.join(" | ")} | ` +
        `${ratios.join(" | ")} | ${
          seedMs === undefined ? "" : fmtMs(seedMs)
        } |`,
    );
  }
  const of = (t: number[]) => `${t[0]} of ${t[1]}`;
  out.push(
    "",
    `Targets, per-round medians: ≥ 3× faster than PyTorch on ` +
      `${of(tally.ptE)} comparable rows eager vs eager ` +
      `(${of(tally.ptB)} with jacobi's best against PyTorch's eager); ` +
      `≥ 2× faster than the fastest JavaScript peer on ${of(tally.jsE)} ` +
      `eager vs eager (${JS_EAGER.join(", ")}) and ${of(tally.jsB)} best ` +
      `vs best (${JS_COLUMNS.join(", ")}).`,
    "",
    "Workloads: " +
      WORKLOADS.map((w) => `${w.id} ${w.title}`).join("; ") + ".",
    "",
    "## Notes",
    "",
    ...notes.map((n, i) => `${i + 1}. ${n.replaceAll("|", "\\|")}`),
    "",
    "## Setup",
    "",
    "| step | status | seconds | detail |",
    "|---|---|---:|---|",
    ...report.setup.map((s) =>
      `| ${s.name} | ${s.status} | ${s.seconds.toFixed(1)} | ${
        (s.detail ?? "").replaceAll("|", "\\|")
      } |`
    ),
    "",
    "## Peers",
    "",
    ...report.peers.map((m) => {
      const { event: _e, peer, ...rest } = m;
      const info = Object.entries(rest).map(([k, v]) => `${k} ${v}`);
      return `- ${peer}: ${info.join(", ")}`;
    }),
    "",
    `Total ${report.seconds.toFixed(0)} s.`,
    "",
  );
  return out.join("\n");
}
