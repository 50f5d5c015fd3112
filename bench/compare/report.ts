// The shape of bench/results/compare.json and the lookups both renderers
// (report_md.ts, report_svg.ts) share.

import { PEERS, type Result, timeMs } from "./peers.ts";
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
  /** Where the peers ran: "core 0", or why they were not pinned. */
  pinned?: string;
  /** git HEAD, and whether mod.ts/src/crates had uncommitted changes. */
  revision: string;
  setup: Step[];
  peers: Record<string, unknown>[];
  results: Result[];
  seconds: number;
}

/** Result columns in table order. */
export const COLUMNS = PEERS.flatMap((p) => p.columns);

/** The columns a report has results for (`--only` runs fewer peers). */
export function columnsOf(report: Report): string[] {
  const seen = new Set(report.results.map((r) => r.peer));
  return COLUMNS.filter((c) => seen.has(c));
}

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

/** Median time (CPU where reported) of a correct result, else undefined. */
export function okMs(r: Result | undefined): number | undefined {
  return r?.status === "ok" ? timeMs(r) : undefined;
}

/** A cell's per-round times (null where a round failed or is missing). */
export function roundTimes(r: Result | undefined): (number | null)[] {
  return r?.round_ms ?? [];
}
