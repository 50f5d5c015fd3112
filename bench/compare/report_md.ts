// Renders compare.md: one row per workload variant, one column of medians
// per peer, jacobi's speed-up over PyTorch and over the fastest correct
// JavaScript peer, and numbered notes for every wrong, failed or n/a cell.

import { COLUMNS, fastestJs, okMs, type Report, rows } from "./report.ts";
import { WORKLOADS } from "./workloads.ts";

// PyTorch 1.13 single-thread medians quoted in the seed table (ms), for comparison.
const ISSUE6_PYTORCH: Record<string, number> = {
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

export function renderMarkdown(report: Report): string {
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
      `${report.rounds} round(s); load average ` +
      `${report.machine.load.map((l) => l.toFixed(1)).join(" → ")}` +
      `${
        report.quick ? "; **--quick: smoke test, timings meaningless**" : ""
      }.`,
    "",
    "Median wall time per call in **ms**, float32, one thread per peer, " +
      "same inputs for all; every result checked against the closed forms " +
      "(max error relative to the largest entry ≤ 1e-4). `✗` = timed but " +
      "wrong. Speed-ups are other / jacobi, with jacobi's faster of eager and jit (> 1: jacobi faster).",
    "",
  );
  const head = [
    "workload",
    "variant",
    ...COLUMNS,
    "jacobi vs PyTorch",
    "jacobi vs fastest JS",
    "PyTorch, seed table",
  ];
  out.push(`| ${head.join(" | ")} |`);
  out.push(`|${head.map((_, i) => i < 2 ? "---" : "---:").join("|")}|`);
  const all = rows(report);
  let ptRows = 0, ptMet = 0, jsRows = 0, jsMet = 0;
  for (const row of all) {
    const cells = COLUMNS.map((c) => {
      const r = row.cells.get(c);
      if (!r) return "";
      const note = r.note ? ` ${ref(`${c}: ${r.note}`)}` : "";
      if (r.status === "ok") return `${fmtMs(r.median_ms!)}${note}`;
      const why = ref(`${c}: ${(r.error ?? r.status).replace(/^n\/a: /, "")}`);
      if (r.status === "wrong") return `${fmtMs(r.median_ms!)} ✗ ${why}${note}`;
      return `${r.status} ${why}${note}`;
    });
    // jacobi's faster column (eager or jit), as the JavaScript side counts
    // jax-js+jit and JAX has its jit column.
    const eager = okMs(row.cells.get("jacobi"));
    const jitted = okMs(row.cells.get("jacobi+jit"));
    const jac = eager === undefined
      ? jitted
      : jitted === undefined
      ? eager
      : Math.min(eager, jitted);
    const tag = jac !== undefined && jac === jitted && jac !== eager
      ? " (jit)"
      : "";
    const pt = okMs(row.cells.get("pytorch"));
    const js = fastestJs(row);
    let vsPt = "–", vsJs = "–";
    if (jac !== undefined && pt !== undefined) {
      vsPt = ratio(pt / jac) + tag;
      ptRows++;
      if (pt / jac >= 3) ptMet++;
    }
    if (jac !== undefined && js) {
      vsJs = `${ratio(js.ms / jac)}${tag} vs ${js.column}`;
      jsRows++;
      if (js.ms / jac >= 2) jsMet++;
    }
    const issue = ISSUE6_PYTORCH[`${row.workload}/${row.variant}`];
    out.push(
      `| ${row.workload} | ${row.variant} | ${cells.join(" | ")} | ${vsPt} | ` +
        `${vsJs} | ${issue === undefined ? "" : fmtMs(issue)} |`,
    );
  }
  out.push(
    "",
    `Targets: ≥ 3× faster than PyTorch on ${ptMet} of ${ptRows} ` +
      `comparable rows; ≥ 2× faster than the fastest JavaScript peer on ` +
      `${jsMet} of ${jsRows}.`,
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
