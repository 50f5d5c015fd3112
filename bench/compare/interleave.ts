// What both interleaved drivers share (the realistic group R1–R6 in
// realistic.ts, the seed workloads W1–W7 in run.ts): long-lived peer
// processes pinned with `taskset`, speaking JSON lines; the rotating order in
// which the peers take their turn on each row of each round; and the
// per-round ratios. Interleaving per row means a burst of load from
// elsewhere on the shared machine hits every peer alike, and a ratio taken
// within one round compares two measurements minutes apart at most.

/** Whether `taskset -c <cores>` works here (Linux with util-linux). */
export function tasksetWorks(cores: string): boolean {
  try {
    return new Deno.Command("taskset", {
      args: ["-c", cores, "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

export interface ProcessOptions {
  /** CPU list for `taskset -c` (e.g. "0" or "0,1"); unpinned if absent or
   * if taskset does not work here. */
  cores?: string;
  env?: Record<string, string>;
}

/**
 * A long-lived peer process: requests go to its stdin as JSON lines, its
 * stdout lines that look like JSON objects are its answers (banners and
 * stray prints are skipped). The last 8 KiB of stderr are kept, so that a
 * peer that dies can say why.
 */
export class PinnedProcess {
  readonly pinned: boolean;
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  #stderr = "";
  #exited = false;
  constructor(readonly name: string, cmd: string[], opts: ProcessOptions = {}) {
    this.pinned = opts.cores !== undefined && tasksetWorks(opts.cores);
    const pin = this.pinned ? ["taskset", "-c", opts.cores!] : [];
    const [exe, ...args] = [...pin, ...cmd];
    this.#proc = new Deno.Command(exe, {
      args,
      env: opts.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#proc.status.then(() => (this.#exited = true));
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = jsonLines(this.#proc.stdout)[Symbol.asyncIterator]();
    this.#keepStderr();
  }

  async #keepStderr() {
    try {
      const text = this.#proc.stderr.pipeThrough(new TextDecoderStream());
      for await (const chunk of text) {
        this.#stderr = (this.#stderr + chunk).slice(-8192);
      }
    } catch {
      // the process was killed
    }
  }

  /** The last lines of stderr, ANSI colours stripped, for an error cell. */
  stderrTail(lines = 3): string {
    // deno-lint-ignore no-control-regex
    return this.#stderr.replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n")
      .filter((l) => l.trim()).slice(-lines).join(" | ").slice(0, 400);
  }

  get exited(): boolean {
    return this.#exited;
  }

  async send(message: unknown): Promise<boolean> {
    try {
      await this.#writer.write(
        new TextEncoder().encode(JSON.stringify(message) + "\n"),
      );
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The next JSON object the peer prints; undefined if it exited first or
   * printed nothing for `idleMs` (then it is killed: a hung peer).
   */
  async next(idleMs = Infinity): Promise<Record<string, unknown> | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      if (isFinite(idleMs)) {
        timer = setTimeout(() => resolve("timeout"), idleMs);
      }
    });
    const r = await Promise.race([this.#lines.next(), timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      this.kill();
      return undefined;
    }
    if (r.done) return undefined;
    try {
      return JSON.parse(r.value);
    } catch {
      return this.next(idleMs);
    }
  }

  /** One request, one answer. */
  async ask<T>(request: unknown, idleMs = Infinity): Promise<T | undefined> {
    if (!(await this.send(request))) return undefined;
    return (await this.next(idleMs)) as T | undefined;
  }

  kill() {
    try {
      this.#proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Closes stdin (the peer's signal to finish) and waits for the exit. */
  async close() {
    await this.#writer.close().catch(() => {});
    await this.#proc.status;
  }
}

async function* jsonLines(
  s: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim().startsWith("{")) yield line;
    }
  }
  if (buf.trim().startsWith("{")) yield buf;
}

/** The order in which peers take their turn: rotated by `shift`. */
export function rotation<T>(items: T[], shift: number): T[] {
  return items.map((_, j) => items[(j + shift) % items.length]);
}

/**
 * Runs `visit(peer, row, round)` for every round, every row and every peer,
 * peers interleaved per row, their order rotating with the row and the round
 * (round r, row i: the list rotated by r + i), so no peer is always first
 * after a row change or always last before one.
 */
export async function interleave<P, R>(
  peers: P[],
  rows: R[],
  rounds: number,
  visit: (peer: P, row: R, round: number, rowIndex: number) => Promise<void>,
) {
  if (peers.length === 0) return;
  for (let round = 0; round < rounds; round++) {
    for (const [i, row] of rows.entries()) {
      for (const peer of rotation(peers, round + i)) {
        await visit(peer, row, round, i);
      }
    }
  }
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => isFinite(x)).sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
    ? s[s.length >> 1]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * a[r] / b[r] for every round r where both sides have a time (NaN, null or
 * undefined where a round failed): the ratio is taken within a round, never
 * across rounds.
 */
export function perRoundRatios(
  a: (number | null | undefined)[],
  b: (number | null | undefined)[],
): number[] {
  const out: number[] = [];
  for (let r = 0; r < Math.min(a.length, b.length); r++) {
    const x = a[r], y = b[r];
    if (x != null && y != null && isFinite(x) && isFinite(y) && y > 0) {
      out.push(x / y);
    }
  }
  return out;
}

/** Element-wise minimum per round (the faster of eager and jit). */
export function bestPerRound(
  ...series: (number | null | undefined)[][]
): (number | null)[] {
  const n = Math.max(0, ...series.map((s) => s.length));
  return Array.from({ length: n }, (_, r) => {
    const ts = series.map((s) => s[r]).filter((t): t is number =>
      t != null && isFinite(t)
    );
    return ts.length ? Math.min(...ts) : null;
  });
}
