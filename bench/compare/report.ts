// The shape of bench/results/compare.json and the lookups both renderers
// (report_md.ts, report_svg.ts) share.

import { JS_COLUMNS, PEERS, type Result } from "./peers.ts";
import type { Step } from "./setup.ts";
import { WORKLOADS } from "./workloads.ts";

export interface Report {
  generated: string;
  quick: boolean;
  seed: number;
  machine: {
    os: string;
    cpus: number | null;
    deno: string;
    v8: string;
    /** 1-minute load average before the first peer and after each one. */
    load: number[];
  };
  rounds: number;
  /** git HEAD, and whether mod.ts/src/crates had uncommitted changes. */
  revision: string;
  setup: Step[];
  peers: Record<string, unknown>[];
  results: Result[];
  seconds: number;
}

/** Result columns in table order. */
export const COLUMNS = PEERS.flatMap((p) => p.columns);

export interface Row {
  workload: string;
  variant: string;
  cells: Map<string, Result | undefined>;
}

export function rows(report: Report): Row[] {
  const byKey = new Map(
    report.results.map((r) => [`${r.peer}:${r.workload}/${r.variant}`, r]),
  );
  return WORKLOADS.flatMap((w) =>
    w.variants.map((variant) => ({
      workload: w.id,
      variant,
      cells: new Map(
        COLUMNS.map((c) => [c, byKey.get(`${c}:${w.id}/${variant}`)]),
      ),
    }))
  );
}

/** Median of a correct result, else undefined. */
export function okMs(r: Result | undefined): number | undefined {
  return r?.status === "ok" ? r.median_ms : undefined;
}

/** The fastest correct JavaScript peer of a row. */
export function fastestJs(
  row: Row,
): { column: string; ms: number } | undefined {
  let best: { column: string; ms: number } | undefined;
  for (const column of JS_COLUMNS) {
    const ms = okMs(row.cells.get(column));
    if (ms !== undefined && (!best || ms < best.ms)) best = { column, ms };
  }
  return best;
}
