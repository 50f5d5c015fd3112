/**
 * Helpers shared by the examples: a small timer in the spirit of
 * `torch.utils.benchmark.Timer`, a `check` that throws on disagreement, and
 * the `--quick` switch (also on when the `CI` environment variable is set).
 * @module
 */
import { allclose, type Tensor } from "../mod.ts";

/** `CI` is set; read only when env access is already granted (no prompt). */
function envCI(): boolean {
  const q = Deno.permissions.querySync({ name: "env", variable: "CI" });
  return q.state === "granted" && Deno.env.get("CI") !== undefined;
}

/** Fewer timing runs: `--quick` on the command line, or `CI` set. */
export const QUICK: boolean = Deno.args.includes("--quick") || envCI();

/** One timing result. */
export interface Timing {
  /** What was timed, as a line of code. */
  stmt: string;
  /** Mean milliseconds per call. */
  ms: number;
  /** Number of timed calls. */
  runs: number;
}

/** Lets the event loop turn, so unreachable tensors are freed (see storage.ts). */
export const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/**
 * Times `fn` like `Timer(stmt).timeit(runs)`: see {@link timeAll}.
 */
export async function timeit(
  stmt: string,
  fn: () => unknown,
  runs = 500,
  budgetMs = QUICK ? 100 : 1000,
): Promise<Timing> {
  return (await timeAll([[stmt, fn]], runs, budgetMs))[0];
}

/**
 * Times several statements side by side: one warm-up call each, then rounds
 * that call each once, until `runs` rounds or until `budgetMs` of timed work
 * per statement is spent (at least 3 rounds). Interleaving keeps a
 * comparison fair on a machine whose load changes. Prints and returns the
 * mean time per call of each.
 */
export async function timeAll(
  entries: readonly (readonly [string, () => unknown])[],
  runs = 500,
  budgetMs = QUICK ? 100 : 1000,
): Promise<Timing[]> {
  for (const [, fn] of entries) fn();
  await tick();
  const totals = entries.map(() => 0);
  let n = 0, sinceTick = 0;
  while (n < runs && (n < 3 || Math.max(...totals) < budgetMs)) {
    entries.forEach(([, fn], i) => {
      const t0 = performance.now();
      fn();
      const dt = performance.now() - t0;
      totals[i] += dt;
      sinceTick += dt;
    });
    n++;
    // A turn of the event loop (which lets unreachable tensors be freed)
    // costs a few ms of timer clamping, so take one every ~25 ms of work.
    if (sinceTick > 25) {
      sinceTick = 0;
      await tick();
    }
  }
  return entries.map(([stmt], i) => {
    const ms = totals[i] / n;
    console.log(`${stmt}\n  ${fmtMs(ms)} per call (mean of ${n} runs)`);
    return { stmt, ms, runs: n };
  });
}

/** Milliseconds with a sensible number of digits. */
export function fmtMs(ms: number): string {
  return ms >= 100
    ? `${ms.toFixed(0)} ms`
    : ms >= 1
    ? `${ms.toFixed(2)} ms`
    : `${(ms * 1000).toFixed(0)} µs`;
}

/**
 * The tutorial's `get_perf`: how much faster `second` is than `first`, in
 * percent of `first`'s time (printed as slower when it is not faster).
 */
export function getPerf(
  first: Timing,
  firstName: string,
  second: Timing,
  secondName: string,
): void {
  const gain = ((first.ms - second.ms) / first.ms) * 100;
  const ratio = first.ms / second.ms;
  if (gain >= 0) {
    console.log(
      ` Performance delta: ${
        gain.toFixed(4)
      } percent improvement with ${secondName} over ${firstName} (${
        ratio.toFixed(1)
      }x)`,
    );
  } else {
    console.log(
      ` Performance delta: ${secondName} is ${
        (-gain).toFixed(4)
      } percent slower than ${firstName} (${(1 / ratio).toFixed(1)}x)`,
    );
  }
}

/** Shape as PyTorch prints it: `torch.Size([16, 16])`. */
export const size = (t: Tensor): string => `[${t.shape.join(", ")}]`;

/** Throws unless `a` and `b` have the same shape and are allclose; prints an OK line. */
export function check(
  what: string,
  a: Tensor,
  b: Tensor,
  options: { rtol?: number; atol?: number } = {},
): void {
  const { rtol = 1e-5, atol = 1e-6 } = options;
  if (
    a.shape.length !== b.shape.length ||
    a.shape.some((d, i) => d !== b.shape[i])
  ) {
    throw new Error(`${what}: shapes differ: ${size(a)} vs ${size(b)}`);
  }
  if (!allclose(a, b, { rtol, atol })) {
    const diff = a.sub(b).abs().max().item();
    throw new Error(
      `${what}: results differ (max |a - b| = ${diff.toExponential(3)})`,
    );
  }
  console.log(`  ok: ${what}`);
}
