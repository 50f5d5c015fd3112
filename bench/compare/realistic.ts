// The realistic workload group R1–R6 (`deno task bench:realistic`):
//
//   deno task bench:realistic [--rounds=3] [--quick] [--rows=R1,R5]
//     [--hessian=64,256] [--gemm=500,512] [--peers=jacobi,jax,pytorch]
//     [--core=0] [--threads=2] [--cores2=0,1] [--ms=400] [--slow-ms=2000]
//     [--name=realistic]
//
// Unlike the old one-peer-after-another way, peers run interleaved per row
// (interleave.ts, shared with W1–W7 in run.ts): every peer is one
// long-lived process pinned with `taskset` to the same core, and for each
// row the driver asks each peer in turn, in an order that rotates with the
// row and the round, so a burst of load from elsewhere hits every peer
// alike. At least 3 rounds (1 with --quick); ratios are taken per round
// (jacobi's time over the peer's time in that round) and their median
// reported, both best-vs-best (each side's faster of eager and jit) and
// eager-vs-eager. Every result is checked against jacobi's own float64
// evaluation of the same row (sums of all outputs and of their absolute
// values, relative 2e-3 of the latter). Peers report CPU time per call
// (process CPU time: a peer that is descheduled by someone else's work is
// not charged for it) and wall time. The WebAssembly roof (bench/roof.ts) is
// measured in the jacobi process of the same run, so GFLOP/s columns can be
// read against it.
//
// --threads=2 adds a second table: jacobi with setNumThreads(2) (when mod.ts
// has it; otherwise the column says it ran with one thread), JAX with its
// multi-threaded Eigen pool and PyTorch with torch.set_num_threads(2), each
// pinned to the two cores of --cores2; they take their turn in the same
// rotation. jax-js and TensorFlow.js stay at one thread (Node has no
// Worker for jax-js's pool; tfjs-wasm's threads need a browser).
//
// A peer whose time at a smaller size of R5 or R6 exceeded --slow-ms per
// call skips the larger sizes of that row ("n/a" with the reason), so one
// slow library does not hold the shared machine for an hour. Writes
// bench/results/<name>{-quick}.{json,md,svg} (name: realistic); the SVG is
// time vs n, log-log, one line per peer, for R5 and R6, and the report ends
// with the cliff check: time per flop between neighbouring sizes.

import {
  bestPerRound,
  interleave,
  median,
  perRoundRatios,
  PinnedProcess,
  tasksetWorks,
} from "./interleave.ts";
import {
  type Answer,
  GEMM_SIZES,
  HESSIAN_SIZES,
  type Request,
  type Row,
  rows as allRows,
} from "./realistic_rows.ts";

const flag = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = Deno.args.includes("--quick");
const list = (s?: string) => s?.split(",").filter(Boolean);
const nums = (s?: string) => list(s)?.map(Number);
const roundCount = Math.max(quick ? 1 : 3, Number(flag("rounds") ?? 1));
const ms = Number(flag("ms") ?? (quick ? 50 : 400));
const slowMs = Number(flag("slow-ms") ?? 2000);
const core = flag("core") ?? "0";
const cores2 = flag("cores2") ?? "0,1";
const threads = Number(flag("threads") ?? 1);
const only = list(flag("rows"));
const wantPeers = list(flag("peers"));
const rows = allRows({
  hessian: nums(flag("hessian")) ?? (quick ? [64, 256] : HESSIAN_SIZES),
  gemm: nums(flag("gemm")) ?? (quick ? [511, 512] : GEMM_SIZES),
}).filter((r) => !only || only.includes(r.id));
// A peer that prints nothing for this long inside one request is hung.
const idleMs = quick ? 120_000 : 600_000;

Deno.chdir(new URL("../..", import.meta.url).pathname);
const log = (s: string) => console.log(s);

type Variant = "eager" | "jit";

interface PeerSpec {
  /** Column name: "jacobi", "jax", "jacobi 2T", … */
  name: string;
  /** The library, whatever the thread count. */
  lib: string;
  threads: number;
  variants: Variant[];
  /** A command, or why the peer is skipped. */
  cmd: () => string[] | string;
  env?: Record<string, string>;
}

function works(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const deno = Deno.execPath();
const JACOBI = [deno, "run", "--allow-read", "--allow-env", "--allow-sys=cpus"];
const jaxCmd = () => {
  for (const py of [".venv-jax/bin/python", "bench/peers/.venv/bin/python"]) {
    if (works(py, ["-c", "import jax"])) {
      return [py, "bench/peers/realistic_jax.py"];
    }
  }
  return "no Python with jax (bash scripts/jax-venv.sh installs one)";
};
const torchCmd = () => {
  // torch.func from torch 2.0; Debian bookworm's 1.13 has functorch.
  const probe = "import torch\ntry: import torch.func\n" +
    "except ImportError: import functorch";
  for (const py of ["/usr/bin/python3", "python3"]) {
    if (works(py, ["-c", probe])) {
      return [py, "bench/peers/realistic_torch.py"];
    }
  }
  return "no Python with torch (apt-get install python3-torch)";
};
const nodeCmd = (script: string, pkg: string) => () => {
  try {
    Deno.statSync(`bench/peers/node_modules/${pkg}/package.json`);
  } catch {
    return `no ${pkg} (npm install --prefix bench/peers)`;
  }
  return works("node", ["--version"])
    ? ["node", `bench/peers/${script}`]
    : "no node on PATH";
};
const threadEnv = (n: number) => ({
  REALISTIC_THREADS: String(n),
  OMP_NUM_THREADS: String(n),
  OPENBLAS_NUM_THREADS: String(n),
  MKL_NUM_THREADS: String(n),
});

const ONE_THREAD: PeerSpec[] = [
  {
    name: "jacobi",
    lib: "jacobi",
    threads: 1,
    variants: ["eager", "jit"],
    cmd: () => [...JACOBI, "bench/peers/realistic_jacobi.ts", "--threads=1"],
  },
  {
    name: "jax",
    lib: "jax",
    threads: 1,
    variants: ["eager", "jit"],
    cmd: jaxCmd,
  },
  {
    name: "pytorch",
    lib: "pytorch",
    threads: 1,
    variants: ["eager"],
    cmd: torchCmd,
  },
  {
    name: "jax-js",
    lib: "jax-js",
    threads: 1,
    variants: ["eager", "jit"],
    cmd: nodeCmd("realistic_jaxjs.mjs", "@jax-js/jax"),
  },
  {
    name: "tfjs-wasm",
    lib: "tfjs-wasm",
    threads: 1,
    variants: ["eager"],
    cmd: nodeCmd("realistic_tfjs.mjs", "@tensorflow/tfjs-backend-wasm"),
  },
];
const PEER_SPECS: PeerSpec[] = [
  ...ONE_THREAD.map((s) => ({ ...s, env: threadEnv(1) })),
  ...(threads >= 2
    ? ONE_THREAD.filter((s) => ["jacobi", "jax", "pytorch"].includes(s.lib))
      .map((s) => ({
        ...s,
        name: `${s.lib} ${threads}T`,
        threads,
        env: threadEnv(threads),
        cmd: s.lib === "jacobi"
          ? () => [
            ...JACOBI,
            "bench/peers/realistic_jacobi.ts",
            `--threads=${threads}`,
          ]
          : s.cmd,
      }))
    : []),
];

/** A peer process that is restarted after it dies or hangs. */
class Peer {
  #proc?: PinnedProcess;
  constructor(readonly spec: PeerSpec, readonly cmd: string[]) {}
  get cores() {
    return this.spec.threads > 1 ? cores2 : core;
  }
  async ask(req: Request | { id: string }): Promise<Answer> {
    if (!this.#proc || this.#proc.exited) {
      this.#proc = new PinnedProcess(this.spec.name, this.cmd, {
        cores: this.cores,
        env: this.spec.env,
      });
    }
    const proc = this.#proc;
    const ans = await proc.ask<Answer>(req, idleMs);
    if (ans) return ans;
    const why = proc.exited
      ? `peer exited: ${proc.stderrTail() || "no message"}`
      : `no answer for ${idleMs / 1000} s`;
    proc.kill();
    this.#proc = undefined;
    return { status: "error", error: why };
  }
  async close() {
    await this.#proc?.close();
  }
}

type Cell = { variant: string; rounds: Answer[] };
type Result = { row: Row; peers: Record<string, Cell[]> };

const peers: Peer[] = [];
const skipped: Record<string, string> = {};
for (const spec of PEER_SPECS) {
  if (wantPeers && !wantPeers.includes(spec.lib)) continue;
  const cmd = spec.cmd();
  if (typeof cmd === "string") {
    skipped[spec.name] = cmd;
    log(`${spec.name}: skipped (${cmd})`);
    continue;
  }
  peers.push(new Peer(spec, cmd));
}
const pinnedNote = tasksetWorks(core)
  ? `each pinned to core ${core}${
    threads >= 2 ? ` (${threads}-thread peers to cores ${cores2})` : ""
  }`
  : "not pinned (no taskset)";
log(
  `peers: ${
    peers.map((p) => p.spec.name).join(", ")
  }; ${pinnedNote}; ${roundCount} rounds`,
);

// The roof, measured by the jacobi process (same engine, same core), and
// what each jacobi process did about threads.
const jac = peers.find((p) => p.spec.name === "jacobi");
const roof = jac
  ? await jac.ask({ row: "ROOF", id: "ROOF", n: 0, variant: "eager", ms })
  : undefined;
if (roof) log(`roof: ${JSON.stringify(roof)}`);
const threadNotes: Record<string, string> = {};
for (const p of peers.filter((p) => p.spec.lib === "jacobi")) {
  const info = await p.ask({ id: "INFO" });
  threadNotes[p.spec.name] = info.note ?? info.error ?? "";
  log(`${p.spec.name}: ${threadNotes[p.spec.name]}`);
}

// float64 reference of every row (jacobi eager in float64).
const refPeer = new PinnedProcess("reference", [
  ...JACOBI,
  "bench/peers/realistic_jacobi.ts",
  "--reference",
]);
const refs = new Map<string, Answer>();
for (const row of rows) {
  const req = { row: row.key, id: row.id, n: row.n, variant: "eager", ms };
  refs.set(
    row.key,
    await refPeer.ask<Answer>(req) ??
      { status: "error", error: "reference exited" },
  );
}
await refPeer.close();

/** `peer/variant/row id` → the size above which the peer is too slow. */
const tooSlow = new Map<string, { n: number; ms: number }>();
const results: Result[] = rows.map((row) => ({ row, peers: {} }));
await interleave(peers, results, roundCount, async (peer, res, round) => {
  const { spec } = peer;
  const cells = res.peers[spec.name] ??= spec.variants.map((variant) => ({
    variant,
    rounds: [],
  }));
  for (const cell of cells) {
    const slowKey = `${spec.name}/${cell.variant}/${res.row.id}`;
    const slow = tooSlow.get(slowKey);
    let ans: Answer;
    if (slow && res.row.n > slow.n) {
      ans = {
        status: "n/a",
        error: `skipped: n=${slow.n} took ${
          (slow.ms / 1000).toFixed(1)
        } s per call (over --slow-ms=${slowMs})`,
      };
    } else {
      ans = await peer.ask({
        row: res.row.key,
        id: res.row.id,
        n: res.row.n,
        variant: cell.variant as Variant,
        ms,
      });
      check(ans, refs.get(res.row.key));
      const t = Math.max(ans.median_ms ?? 0, ans.wall_ms ?? 0);
      if (
        ["R5", "R6"].includes(res.row.id) && ans.status === "ok" &&
        t > slowMs && (!slow || res.row.n < slow.n)
      ) {
        tooSlow.set(slowKey, { n: res.row.n, ms: t });
      }
    }
    cell.rounds.push(ans);
    log(
      `round ${round + 1} ${res.row.key} ${spec.name} ${cell.variant}: ${
        ans.status === "ok"
          ? `${ans.median_ms!.toFixed(3)} ms`
          : `${ans.status} ${ans.error ?? ""}`
      }`,
    );
  }
});
for (const peer of peers) await peer.close();

function check(ans: Answer, ref?: Answer) {
  if (ans.status !== "ok" || !ref || ref.status !== "ok") return;
  const tol = 2e-3 * ref.sum_abs!;
  const bad = Math.abs(ans.sum! - ref.sum!) > tol ||
    Math.abs(ans.sum_abs! - ref.sum_abs!) > tol;
  if (bad) {
    ans.status = "error";
    ans.error =
      `wrong result: sums ${ans.sum}, ${ans.sum_abs} vs float64 ${ref.sum}, ${ref.sum_abs}`;
  }
}

// --- per-round times and ratios --------------------------------------------
// CPU time for one-thread peers; wall time where several threads run (CPU
// time adds their threads up, so it cannot show a speed-up).
type Clock = "cpu" | "wall";
const clockOf = (name: string): Clock =>
  peers.find((p) => p.spec.name === name)!.spec.threads > 1 ? "wall" : "cpu";
/** Per-round times of one variant, or per round the best of all variants. */
function series(
  cells: Cell[] | undefined,
  variant: string | undefined,
  clock: Clock,
): (number | null)[] {
  if (!cells) return [];
  return bestPerRound(
    ...cells.filter((c) => !variant || c.variant === variant).map((c) =>
      c.rounds.map((a) =>
        a.status !== "ok" ? null : clock === "wall" ? a.wall_ms! : a.median_ms!
      )
    ),
  );
}
const medTime = (res: Result, name: string, variant?: string) =>
  median(
    series(res.peers[name], variant, clockOf(name))
      .filter((t): t is number => t !== null),
  );
/** base / peer per round, median over rounds, on `clock`. */
const ratio = (
  res: Result,
  base: string,
  peer: string,
  variant?: string,
  clock: Clock = clockOf(base),
) =>
  median(
    perRoundRatios(
      series(res.peers[base], variant, clock),
      series(res.peers[peer], variant, clock),
    ),
  );

// --- report ------------------------------------------------------------------
const fmt = (x: number, d = 2) => (isFinite(x) ? x.toFixed(d) : "—");
const specOf = (name: string) => peers.find((p) => p.spec.name === name)!.spec;
const md: string[] = [];
md.push(`# Realistic workloads (R1–R6)\n`);
md.push(
  `Generated ${new Date().toISOString()}${
    quick ? " (quick)" : ""
  }; ${roundCount} round(s), peers interleaved per row in rotating order, ${pinnedNote}; load ${loadavg()}.`,
);
if (roof?.status === "ok") {
  md.push(
    `\nWebAssembly roof in this run: ${
      fmt(roof.gflops!, 1)
    } GFLOP/s (${roof.note}).`,
  );
}
for (const [n, why] of Object.entries(skipped)) {
  md.push(`\n${n}: skipped (${why}).`);
}
for (const [n, note] of Object.entries(threadNotes)) {
  md.push(`\n${n}: ${note}.`);
}
md.push(`\nArguments: \`${Deno.args.join(" ") || "(none)"}\`.`);
md.push(
  `\nTimes are medians over rounds of each call's median CPU time (ms; process CPU time, so that stretches when the shared machine deschedules a peer do not count; wall times are in the JSON${
    threads >= 2
      ? `; a multi-threaded peer's CPU time adds up its threads, so the ${threads}-thread table uses wall time`
      : ""
  }); ratios are jacobi / peer per round, median over rounds (> 1: jacobi slower): best/best puts each side's faster variant against the other's, eager/eager only eager against eager.`,
);

function table(title: string, base: string, names: string[]) {
  const others = names.filter((n) => n !== base);
  md.push(`\n## ${title}\n`);
  const variantCols = (n: string) =>
    specOf(n).variants.map((v) => [n, v] as const);
  const head = [
    "row",
    ...[base, ...others].flatMap((n) =>
      variantCols(n).map(([, v]) => `${n} ${v}`)
    ),
    ...others.flatMap((o) => [`best/best vs ${o}`, `eager/eager vs ${o}`]),
    ...(base !== "jacobi" && names.includes(base) &&
        peers.some((p) => p.spec.name === "jacobi")
      ? ["jacobi 1T / this (wall)"]
      : []),
    `${base} GFLOP/s`,
    ...others.map((o) => `${o} GFLOP/s`),
  ];
  md.push(`| ${head.join(" | ")} |`);
  md.push(`|${head.map((_, i) => i ? "---:" : "---").join("|")}|`);
  for (const res of results) {
    const cellText = (peer: string, v: string) => {
      const c = res.peers[peer]?.find((c) => c.variant === v);
      const bad = c?.rounds.find((a) => a.status !== "ok");
      return bad
        ? `${bad.status}${
          bad.error ? `: ${bad.error.slice(0, 70).replaceAll("|", "\\|")}` : ""
        }`
        : fmt(medTime(res, peer, v), 3);
    };
    const gf = (peer: string) =>
      res.row.flops ? fmt(res.row.flops / (medTime(res, peer) * 1e6), 1) : "—";
    md.push(`| ${
      [
        res.row.key,
        ...[base, ...others].flatMap((n) =>
          variantCols(n).map(([, v]) => cellText(n, v))
        ),
        ...others.flatMap((o) => [
          fmt(ratio(res, base, o)),
          fmt(ratio(res, base, o, "eager")),
        ]),
        ...(head.includes("jacobi 1T / this (wall)")
          ? [fmt(ratio(res, "jacobi", base, undefined, "wall"))]
          : []),
        gf(base),
        ...others.map(gf),
      ].join(" | ")
    } |`);
  }
}

const oneT = peers.filter((p) => p.spec.threads === 1).map((p) => p.spec.name);
if (oneT.includes("jacobi")) table("One thread", "jacobi", oneT);
const manyT = peers.filter((p) => p.spec.threads > 1).map((p) => p.spec.name);
if (manyT.includes(`jacobi ${threads}T`)) {
  table(
    `${threads} threads (cores ${cores2}; jax-js and TensorFlow.js only at one thread)`,
    `jacobi ${threads}T`,
    manyT,
  );
}

// --- cliff check ---------------------------------------------------------------
// Time per flop should be smooth in n: a jump of more than 1.5× between two
// neighbouring sizes (a cache, a tile edge, a padding rule) is a cliff.
const CLIFF = 1.5;
const cliffIds = ["R5", "R6"].filter((id) =>
  results.filter((r) => r.row.id === id).length > 1
);
if (cliffIds.length) {
  md.push(
    `\n## Cliff check\n\nTime per flop (median time / flops, each column's own variant) between neighbouring sizes: the worst ratio (larger / smaller of the two, so a jump either way counts) per peer and row, and the pair of sizes (— where fewer than two sizes ran). ✓ ≤ ${CLIFF}×, ✗ above.\n`,
  );
  const cols = peers.flatMap((p) =>
    p.spec.variants.map((v) => [p.spec.name, v] as const)
  );
  // Small sizes are dominated by fixed per-call costs, so the worst ratio
  // is given over all sizes and over n ≥ 500, where the flops dominate.
  const heads = cliffIds.flatMap((id) => [`${id} all sizes`, `${id} n ≥ 500`]);
  md.push(`| peer | ${heads.join(" | ")} |`);
  md.push(`|---|${heads.map(() => "---").join("|")}|`);
  for (const [name, v] of cols) {
    const cells = cliffIds.flatMap((id) =>
      [0, 500].map((from) => {
        const pts = results.filter((r) =>
          r.row.id === id && r.row.flops && r.row.n >= from
        )
          .sort((a, b) => a.row.n - b.row.n)
          .map((r) => ({ n: r.row.n, tpf: medTime(r, name, v) / r.row.flops! }))
          .filter((p) => isFinite(p.tpf) && p.tpf > 0);
        let worst = { r: NaN, a: 0, b: 0 };
        for (let i = 0; i + 1 < pts.length; i++) {
          const [p, q] = [pts[i], pts[i + 1]];
          const r = Math.max(p.tpf / q.tpf, q.tpf / p.tpf);
          if (!(r <= worst.r)) worst = { r, a: p.n, b: q.n };
        }
        return isFinite(worst.r)
          ? `${fmt(worst.r)}× (n=${worst.a}→${worst.b}) ${
            worst.r <= CLIFF ? "✓" : "✗"
          }`
          : "—";
      })
    );
    md.push(`| ${name} ${v} | ${cells.join(" | ")} |`);
  }
}

md.push("\n## Rows\n");
for (const id of new Set(rows.map((r) => r.id))) {
  md.push(`- ${id}: ${rows.find((r) => r.id === id)!.title}`);
}
if (peers.some((p) => p.spec.lib === "jax")) {
  md.push(
    "- JAX + jit runs R4 with lax.scan (a Python loop of 1,000 steps unrolls under jit) and jacobi + jit with scan; eager JAX and eager jacobi run the loop.",
  );
}
if (peers.some((p) => p.spec.lib === "jax-js")) {
  md.push(
    "- jax-js takes R5's Hessian wrt x of a closure over W inside a function of (x, W) (its hessian fails on a function with an argument it does not differentiate); it has no lax.scan, so R4 jit is n/a.",
  );
}
md.push("\n![time vs n](" + baseName().split("/").pop() + ".svg)");

const base = baseName();
await Deno.mkdir("bench/results", { recursive: true });
await Deno.writeTextFile(
  `${base}.json`,
  JSON.stringify(
    { roof, skipped, threadNotes, rounds: roundCount, results },
    null,
    1,
  ) + "\n",
);
await Deno.writeTextFile(`${base}.md`, md.join("\n") + "\n");
await Deno.writeTextFile(`${base}.svg`, scalingSvg());
log(md.join("\n"));
log(`wrote ${base}.{json,md,svg}`);

function baseName() {
  return `bench/results/${flag("name") ?? "realistic"}${quick ? "-quick" : ""}`;
}

function loadavg(): string {
  try {
    return Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
  } catch {
    return "unknown";
  }
}

/** Time vs n, log-log, one line per peer (best variant), for R5 and R6. */
function scalingSvg(): string {
  const PW = 460, PH = 320, L = 60, T = 40, B = 40;
  const panels = ["R5", "R6"].filter((id) =>
    results.some((r) => r.row.id === id)
  );
  const W = Math.max(1, panels.length) * (PW + L + 20) + 150;
  const H = T + PH + B + 10;
  const colors = [
    "#d62728",
    "#1f77b4",
    "#ee7733",
    "#228833",
    "#aa3377",
    "#8c1d1d",
    "#1f3a68",
    "#b35806",
  ];
  const names = peers.map((p) => p.spec.name);
  // One colour per library; the multi-threaded runs are dashed.
  const libs = [...new Set(peers.map((p) => p.spec.lib))];
  const color = (n: string) =>
    colors[libs.indexOf(specOf(n).lib) % colors.length];
  const dash = (n: string) =>
    specOf(n).threads > 1 ? ' stroke-dasharray="6 3"' : "";
  let body = "";
  panels.forEach((id, pi) => {
    const rs = results.filter((r) => r.row.id === id)
      .sort((a, b) => a.row.n - b.row.n);
    const lines = names.map((n) => ({
      n,
      pts: rs.map((r) => [r.row.n, medTime(r, n)] as const)
        .filter(([, t]) => isFinite(t) && t > 0),
    })).filter((l) => l.pts.length);
    const all = lines.flatMap((l) => l.pts);
    if (!all.length) return;
    const lg = Math.log10;
    const [n0, n1] = [
      lg(Math.min(...all.map((p) => p[0]))),
      lg(Math.max(...all.map((p) => p[0]))),
    ];
    const [t0, t1] = [
      Math.floor(lg(Math.min(...all.map((p) => p[1])))),
      Math.ceil(lg(Math.max(...all.map((p) => p[1])))),
    ];
    const x0 = L + pi * (PW + L + 20);
    const sx = (n: number) =>
      x0 + (n1 === n0 ? PW / 2 : ((lg(n) - n0) / (n1 - n0)) * PW);
    const sy = (t: number) =>
      T + PH - (t1 === t0 ? PH / 2 : ((lg(t) - t0) / (t1 - t0)) * PH);
    body += `<text x="${x0}" y="${T - 14}" font-size="13">${
      id === "R5" ? "R5 hessian of sum(tanh(W x))" : "R6 GEMM n×n"
    }: ms per call vs n (log-log)</text>`;
    body +=
      `<rect x="${x0}" y="${T}" width="${PW}" height="${PH}" fill="none" stroke="#999"/>`;
    for (let e = t0; e <= t1; e++) {
      const y = sy(10 ** e).toFixed(1);
      body +=
        `<line x1="${x0}" x2="${x0 + PW}" y1="${y}" y2="${y}" stroke="#eee"/>` +
        `<text x="${x0 - 6}" y="${y}" dy="4" text-anchor="end" font-size="10">${
          10 ** e >= 1 ? 10 ** e : (10 ** e).toPrecision(1)
        }</text>`;
    }
    let lastLabel = -Infinity;
    for (const n of [...new Set(rs.map((r) => r.row.n))]) {
      // A tick for every size, a label where the previous one leaves room.
      const x = sx(n).toFixed(1);
      body += `<line x1="${x}" x2="${x}" y1="${T + PH}" y2="${
        T + PH + 4
      }" stroke="#333"/>`;
      if (sx(n) - lastLabel < 28) continue;
      lastLabel = sx(n);
      body += `<text x="${x}" y="${
        T + PH + 16
      }" text-anchor="middle" font-size="10">${n}</text>`;
    }
    body += `<text x="${x0 + PW / 2}" y="${
      T + PH + 32
    }" text-anchor="middle" font-size="11">n</text>`;
    for (const { n, pts } of lines) {
      const d = pts.map(([x, t]) => `${sx(x).toFixed(1)},${sy(t).toFixed(1)}`);
      body += `<polyline fill="none" stroke="${color(n)}" stroke-width="1.5"${
        dash(n)
      } points="${d.join(" ")}"/>`;
      body += pts.map(([x, t]) =>
        `<circle cx="${sx(x).toFixed(1)}" cy="${
          sy(t).toFixed(1)
        }" r="2" fill="${color(n)}"><title>${n} n=${x}: ${
          t.toPrecision(3)
        } ms</title></circle>`
      ).join("");
    }
  });
  const lx = W - 140;
  names.forEach((n, i) => {
    const y = T + 10 + 16 * i;
    body +=
      `<line x1="${lx}" x2="${lx + 20}" y1="${y}" y2="${y}" stroke="${
        color(n)
      }" stroke-width="2"${dash(n)}/>` +
      `<text x="${lx + 26}" y="${y + 4}" font-size="11">${n}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${body}</svg>\n`;
}
