// Merges the results of several rounds (`--rounds=N`): the machines are
// shared and noisy, and one peer runs minutes after another, so a single
// round can catch one peer in a burst of load. A cell that was correct in
// every round gets the median of its round medians; a cell that failed in any
// round shows that failure, marked with how often it happened.

import type { Result } from "./peers.ts";

const key = (r: Result) => `${r.peer}:${r.workload}/${r.variant}`;

export function mergeRounds(rounds: Result[][]): Result[] {
  if (rounds.length === 1) return rounds[0];
  const byKey = new Map<string, Result[]>();
  for (const round of rounds) {
    for (const r of round) {
      const list = byKey.get(key(r)) ?? [];
      list.push(r);
      byKey.set(key(r), list);
    }
  }
  return [...byKey.values()].map((list) => {
    const bad = list.filter((r) => r.status !== "ok");
    if (bad.length === 0) {
      const ms = list.map((r) => r.median_ms!).sort((a, b) => a - b);
      const m = ms.length >> 1;
      const median = ms.length % 2 ? ms[m] : (ms[m - 1] + ms[m]) / 2;
      return { ...list[0], median_ms: median, round_ms: ms };
    }
    const first = bad[0];
    if (bad.length === list.length) return first;
    return {
      ...first,
      error: `${first.error} (in ${bad.length} of ${list.length} rounds)`,
    };
  });
}
