// Merges the rounds of the interleaved W1–W7 run (run.ts): a cell that was
// correct in every round gets the median of its round medians (wall and
// CPU); a cell that failed in any round shows that failure, marked with how
// often it happened. Every cell keeps its per-round times in round order
// (`round_ms`), since ratios are taken within a round (interleave.ts).

import { median } from "./interleave.ts";
import { key, type Result, timeMs } from "./peers.ts";

export function mergeRounds(rounds: Result[][]): Result[] {
  const byKey = new Map<string, (Result | undefined)[]>();
  rounds.forEach((round, r) => {
    for (const res of round) {
      const list = byKey.get(key(res)) ??
        Array.from({ length: rounds.length }, () => undefined);
      list[r] = res;
      byKey.set(key(res), list);
    }
  });
  return [...byKey.values()].map((list) => {
    const present = list.filter((r): r is Result => r !== undefined);
    const round_ms = list.map((r) =>
      r?.status === "ok" ? timeMs(r) ?? null : null
    );
    const bad = present.filter((r) => r.status !== "ok");
    if (bad.length === 0) {
      const cpu = present.map((r) => r.cpu_ms).filter((t) => t !== undefined);
      return {
        ...present[0],
        median_ms: median(present.map((r) => r.median_ms!)),
        cpu_ms: cpu.length === present.length ? median(cpu) : undefined,
        round_ms,
      };
    }
    const first = bad[0];
    if (bad.length === present.length) return { ...first, round_ms };
    return {
      ...first,
      error: `${first.error} (in ${bad.length} of ${present.length} rounds)`,
      round_ms,
    };
  });
}
