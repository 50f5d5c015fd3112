// The realistic workload group R1–R6 (`deno task bench:realistic`):
//
//   deno task bench:realistic [--rounds=3] [--quick] [--rows=R1,R5]
//     [--hessian=64,256] [--gemm=500,512] [--peers=jacobi,jax,pytorch]
//     [--core=0] [--ms=400] [--name=realistic]
//
// Unlike W1–W7 (one peer after another), peers here run interleaved per row:
// every peer is one long-lived process pinned with `taskset` to the same
// core, and for each row the driver asks each peer in turn, in an order that
// rotates with the row and the round, so a burst of load from elsewhere hits
// every peer alike. At least 3 rounds; ratios are taken per round (jacobi's
// time over the peer's time in that round) and their median reported, both
// best-vs-best (each side's faster of eager and jit) and eager-vs-eager. Every
// result is checked against jacobi's own float64 evaluation of the same row
// (sums of all outputs and of their absolute values, relative 2e-3 of the
// latter). Peers report CPU time per call (process CPU time: a peer that is
// descheduled by someone else's work is not charged for it) and wall time. The WebAssembly roof (bench/roof.ts) is measured in the jacobi
// process of the same run, so GFLOP/s columns can be read against it.
// Writes bench/results/<name>{-quick}.{json,md,svg} (name: realistic).

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
const core = flag("core") ?? "0";
const only = list(flag("rows"));
const wantPeers = list(flag("peers"));
const rows = allRows({
  hessian: nums(flag("hessian")) ?? (quick ? [64, 256] : HESSIAN_SIZES),
  gemm: nums(flag("gemm")) ?? (quick ? [512] : GEMM_SIZES),
}).filter((r) => !only || only.includes(r.id));

Deno.chdir(new URL("../..", import.meta.url).pathname);
const log = (s: string) => console.log(s);

/** A long-lived peer process speaking JSON lines. */
class Peer {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  constructor(readonly name: string, cmd: string[]) {
    const pin = hasTaskset() ? ["taskset", "-c", core] : [];
    const [exe, ...args] = [...pin, ...cmd];
    this.#proc = new Deno.Command(exe, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = lines(this.#proc.stdout)[Symbol.asyncIterator]();
  }
  async ask(req: Request): Promise<Answer> {
    await this.#writer.write(
      new TextEncoder().encode(JSON.stringify(req) + "\n"),
    );
    const r = await this.#lines.next();
    if (r.done) return { status: "error", error: "peer exited" };
    return JSON.parse(r.value) as Answer;
  }
  async close() {
    await this.#writer.close().catch(() => {});
    await this.#proc.status;
  }
}

async function* lines(s: ReadableStream<Uint8Array>): AsyncGenerator<string> {
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
}

let tasksetOk: boolean | undefined;
function hasTaskset(): boolean {
  if (tasksetOk === undefined) {
    try {
      tasksetOk = new Deno.Command("taskset", { args: ["-c", core, "true"] })
        .outputSync().success;
    } catch {
      tasksetOk = false;
    }
  }
  return tasksetOk;
}

function works(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

interface PeerSpec {
  name: string;
  variants: ("eager" | "jit")[];
  cmd: () => string[] | string; // a command, or why it is skipped
}

const deno = Deno.execPath();
const JACOBI = [deno, "run", "--allow-read", "--allow-env", "--allow-sys=cpus"];
const PEER_SPECS: PeerSpec[] = [
  {
    name: "jacobi",
    variants: ["eager", "jit"],
    cmd: () => [...JACOBI, "bench/peers/realistic_jacobi.ts"],
  },
  {
    name: "jax",
    variants: ["eager", "jit"],
    cmd: () => {
      for (
        const py of [".venv-jax/bin/python", "bench/peers/.venv/bin/python"]
      ) {
        if (works(py, ["-c", "import jax"])) {
          return [py, "bench/peers/realistic_jax.py"];
        }
      }
      return "no Python with jax (bash scripts/jax-venv.sh installs one)";
    },
  },
  {
    name: "pytorch",
    variants: ["eager"],
    cmd: () => {
      for (const py of ["/usr/bin/python3", "python3"]) {
        // torch.func from torch 2.0; Debian bookworm's 1.13 has functorch.
        const probe = "import torch\ntry: import torch.func\n" +
          "except ImportError: import functorch";
        if (works(py, ["-c", probe])) {
          return [py, "bench/peers/realistic_torch.py"];
        }
      }
      return "no Python with torch (apt-get install python3-torch)";
    },
  },
];

type Cell = { variant: string; rounds: Answer[] };
type Result = { row: Row; peers: Record<string, Cell[]> };

const peers: { spec: PeerSpec; peer: Peer }[] = [];
const skipped: Record<string, string> = {};
for (const spec of PEER_SPECS) {
  if (wantPeers && !wantPeers.includes(spec.name)) continue;
  const cmd = spec.cmd();
  if (typeof cmd === "string") {
    skipped[spec.name] = cmd;
    log(`${spec.name}: skipped (${cmd})`);
    continue;
  }
  peers.push({ spec, peer: new Peer(spec.name, cmd) });
}
log(
  `peers: ${peers.map((p) => p.spec.name).join(", ")}; pinned to core ${
    hasTaskset() ? core : "(no taskset: not pinned)"
  }; ${roundCount} rounds`,
);

// The roof, measured by the jacobi process (same engine, same core).
const jac = peers.find((p) => p.spec.name === "jacobi");
const roof = jac
  ? await jac.peer.ask({ row: "ROOF", id: "ROOF", n: 0, variant: "eager", ms })
  : undefined;
if (roof) log(`roof: ${JSON.stringify(roof)}`);

// float64 reference of every row (jacobi eager in float64).
const refPeer = new Peer("reference", [
  ...JACOBI,
  "bench/peers/realistic_jacobi.ts",
  "--reference",
]);
const refs = new Map<string, Answer>();
for (const row of rows) {
  refs.set(
    row.key,
    await refPeer.ask({
      row: row.key,
      id: row.id,
      n: row.n,
      variant: "eager",
      ms,
    }),
  );
}
await refPeer.close();

const results: Result[] = rows.map((row) => ({ row, peers: {} }));
for (let round = 0; round < roundCount; round++) {
  for (const [i, res] of results.entries()) {
    const order = peers.map((_, j) => peers[(j + round + i) % peers.length]);
    for (const { spec, peer } of order) {
      const cells = res.peers[spec.name] ??= spec.variants.map((variant) => ({
        variant,
        rounds: [],
      }));
      for (const cell of cells) {
        const req: Request = {
          row: res.row.key,
          id: res.row.id,
          n: res.row.n,
          variant: cell.variant as "eager" | "jit",
          ms,
        };
        const ans = await peer.ask(req);
        check(ans, refs.get(res.row.key));
        cell.rounds.push(ans);
        log(
          `round ${round + 1} ${res.row.key} ${spec.name} ${cell.variant}: ${
            ans.status === "ok"
              ? `${ans.median_ms!.toFixed(3)} ms`
              : `${ans.status} ${ans.error ?? ""}`
          }`,
        );
      }
    }
  }
}
for (const { peer } of peers) await peer.close();

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

// --- per-round ratios --------------------------------------------------------
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
    ? s[s.length >> 1]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Time of one variant in round r, or the best of all variants. */
function timeOf(
  cells: Cell[] | undefined,
  r: number,
  variant?: string,
): number {
  if (!cells) return NaN;
  const ts = cells.filter((c) => !variant || c.variant === variant)
    .map((c) => c.rounds[r])
    .filter((a) => a?.status === "ok")
    .map((a) => a.median_ms!);
  return ts.length ? Math.min(...ts) : NaN;
}
function ratios(res: Result, peer: string, variant?: string): number[] {
  const out: number[] = [];
  for (let r = 0; r < roundCount; r++) {
    const a = timeOf(res.peers.jacobi, r, variant),
      b = timeOf(res.peers[peer], r, variant);
    if (isFinite(a) && isFinite(b)) out.push(a / b);
  }
  return out;
}
const medTime = (cells: Cell[] | undefined, variant?: string) =>
  median(
    Array.from({ length: roundCount }, (_, r) => timeOf(cells, r, variant))
      .filter(isFinite),
  );

// --- report ------------------------------------------------------------------
const others = peers.map((p) => p.spec.name).filter((n) => n !== "jacobi");
const fmt = (x: number, d = 2) => (isFinite(x) ? x.toFixed(d) : "—");
const md: string[] = [];
md.push(`# Realistic workloads (R1–R6)\n`);
md.push(
  `Generated ${new Date().toISOString()}${
    quick ? " (quick)" : ""
  }; ${roundCount} rounds, peers interleaved per row in rotating order, each pinned to core ${
    hasTaskset() ? core : "(not pinned)"
  }; load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}.`,
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
md.push(`\nArguments: \`${Deno.args.join(" ") || "(none)"}\`.`);
md.push(
  `\nTimes are medians over rounds of each call's median CPU time (ms; process CPU time, so that stretches when the shared machine deschedules a peer do not count; wall times are in the JSON); ratios are jacobi / peer per round, median over rounds (> 1: jacobi slower).\n`,
);
const head = [
  "row",
  "jacobi eager",
  "jacobi jit",
  ...others.flatMap((o) =>
    peers.find((p) => p.spec.name === o)!.spec.variants.map((v) => `${o} ${v}`)
  ),
  ...others.flatMap((o) => [`best/best vs ${o}`, `eager/eager vs ${o}`]),
  "jacobi GFLOP/s",
  ...others.map((o) => `${o} GFLOP/s`),
];
md.push(`| ${head.join(" | ")} |`);
md.push(`|${head.map(() => "---").join("|")}|`);
for (const res of results) {
  const cellText = (peer: string, v: string) => {
    const c = res.peers[peer]?.find((c) => c.variant === v);
    const bad = c?.rounds.find((a) => a.status !== "ok");
    return bad
      ? `${bad.status}${bad.error ? `: ${bad.error.slice(0, 60)}` : ""}`
      : fmt(medTime(res.peers[peer], v), 3);
  };
  const gf = (peer: string) =>
    res.row.flops
      ? fmt(res.row.flops / (medTime(res.peers[peer]) * 1e6), 1)
      : "—";
  md.push(`| ${
    [
      res.row.key,
      cellText("jacobi", "eager"),
      cellText("jacobi", "jit"),
      ...others.flatMap((o) =>
        peers.find((p) => p.spec.name === o)!.spec.variants.map((v) =>
          cellText(o, v)
        )
      ),
      ...others.flatMap((
        o,
      ) => [fmt(median(ratios(res, o))), fmt(median(ratios(res, o, "eager")))]),
      gf("jacobi"),
      ...others.map(gf),
    ].join(" | ")
  } |`);
}
md.push("\nRows:\n");
for (const id of new Set(rows.map((r) => r.id))) {
  md.push(`- ${id}: ${rows.find((r) => r.id === id)!.title}`);
}
if (peers.some((p) => p.spec.name === "jax")) {
  md.push(
    "- JAX + jit runs R4 with lax.scan (a Python loop of 1,000 steps unrolls under jit) and jacobi + jit with scan; eager JAX and eager jacobi run the loop.",
  );
}

const base = `bench/results/${flag("name") ?? "realistic"}${
  quick ? "-quick" : ""
}`;
await Deno.mkdir("bench/results", { recursive: true });
await Deno.writeTextFile(
  `${base}.json`,
  JSON.stringify({ roof, skipped, rounds: roundCount, results }, null, 1) +
    "\n",
);
await Deno.writeTextFile(`${base}.md`, md.join("\n") + "\n");
await Deno.writeTextFile(`${base}.svg`, scalingSvg());
log(md.join("\n"));
log(`wrote ${base}.{json,md,svg}`);

/** Time vs n, log-log, one line per peer (best variant), for R5 and R6. */
function scalingSvg(): string {
  const W = 720, H = 300, pad = 50;
  const panels = ["R5", "R6"];
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
  const names = peers.map((p) => p.spec.name);
  let body = "";
  panels.forEach((id, pi) => {
    const rs = results.filter((r) => r.row.id === id);
    const pts = rs.flatMap((r) =>
      names.map((n) => [r.row.n, medTime(r.peers[n])])
    ).filter(([, t]) => isFinite(t) && t > 0);
    if (pts.length === 0) return;
    const x0 = pi * (W / 2) + pad, w = W / 2 - pad - 10, h = H - 2 * pad;
    const [nmin, nmax] = [
      Math.min(...pts.map((p) => p[0])),
      Math.max(...pts.map((p) => p[0])),
    ];
    const [tmin, tmax] = [
      Math.min(...pts.map((p) => p[1])),
      Math.max(...pts.map((p) => p[1])),
    ];
    const lx = (n: number) =>
      x0 +
      (nmax === nmin
        ? w / 2
        : (Math.log(n / nmin) / Math.log(nmax / nmin)) * w);
    const ly = (t: number) =>
      pad + h -
      (tmax === tmin
        ? h / 2
        : (Math.log(t / tmin) / Math.log(tmax / tmin)) * h);
    body += `<text x="${x0}" y="${pad - 20}" font-size="13">${
      id === "R5" ? "hessian of sum(tanh(Wx))" : "GEMM n×n"
    }: ms vs n (log-log)</text>`;
    body +=
      `<rect x="${x0}" y="${pad}" width="${w}" height="${h}" fill="none" stroke="#999"/>`;
    body += `<text x="${x0}" y="${
      H - 15
    }" font-size="11">n ${nmin}…${nmax}</text><text x="${x0 - 45}" y="${
      pad + 10
    }" font-size="11">${fmt(tmax, 1)}</text><text x="${x0 - 45}" y="${
      pad + h
    }" font-size="11">${fmt(tmin, 2)}</text>`;
    names.forEach((n, ci) => {
      const line = rs.map((r) => [r.row.n, medTime(r.peers[n])]).filter((
        [, t],
      ) => isFinite(t) && t > 0);
      if (line.length === 0) return;
      body += `<polyline fill="none" stroke="${
        colors[ci % 4]
      }" stroke-width="1.5" points="${
        line.map(([x, t]) => `${lx(x).toFixed(1)},${ly(t).toFixed(1)}`).join(
          " ",
        )
      }"/>`;
      body += `<text x="${x0 + w - 60}" y="${
        pad + 15 + 14 * ci
      }" font-size="11" fill="${colors[ci % 4]}">${n}</text>`;
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${body}</svg>\n`;
}
