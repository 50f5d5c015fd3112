/**
 * The WebAssembly SIMD roof of this machine: multiply-add probes with enough
 * independent accumulator chains to be throughput-bound, not latency-bound.
 *
 * Each probe is a small WebAssembly module assembled here byte by byte (so
 * the instruction stream is exactly what the engine sees, and so a probe can
 * use relaxed SIMD without putting relaxed opcodes in the shipped kernel
 * module, which must validate on engines without them). A probe runs
 * `iters` steps of `acc[c] = acc[c] * s + t` over `chains` independent f32x4
 * (or f64x2) accumulators, four times unrolled; with relaxed SIMD the step
 * is one `relaxed_madd`. One chain is latency-bound (mul latency + add
 * latency per step); enough chains fill every FP pipe, and more than the 16
 * vector registers spill: the sweep finds the best.
 *
 * Use `measureRoof()` from a bench; `deno run bench/roof.ts` prints the sweep.
 */

import process from "node:process";

/**
 * Milliseconds of CPU time used by this process. The benches divide work by
 * CPU time, not wall time: on a shared machine the process is descheduled
 * for long stretches, which wall time would count as slowness. (Compute is
 * single-threaded; V8's background threads are idle once code has tiered up.)
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export type ProbeKind =
  | "f32 mul+add"
  | "f32 relaxed_madd"
  | "f64 mul+add"
  | "f64 relaxed_madd";

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const simd = (op: number) => [0xfd, ...uleb(op)];
const section = (id: number, body: number[]) => [
  id,
  ...uleb(body.length),
  ...body,
];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

/** The bytes of a probe module exporting `probe(iters: i32) -> f64`. */
export function probeModule(
  kind: ProbeKind,
  chains: number,
): Uint8Array<ArrayBuffer> {
  const f64 = kind.startsWith("f64");
  const [SPLAT, MUL, ADD, EXTRACT] = f64
    ? [0x14, 0xf2, 0xf0, 0x21]
    : [0x13, 0xe6, 0xe4, 0x1f];
  // f32x4.relaxed_madd / f64x2.relaxed_madd (a, b, c) = a * b + c
  const RELAXED_MADD = f64 ? 0x107 : 0x105;
  // Locals: 0 = iters (param), 1 = s, 2 = t, 3.. = accumulators.
  const S = 1, T = 2, A0 = 3;
  const get = (i: number) => [0x20, ...uleb(i)];
  const set = (i: number) => [0x21, ...uleb(i)];
  // A scalar constant that the engine cannot fold: c + f(iters) * 0.
  const opaque = (c: number) =>
    f64
      ? [
        0x44,
        ...f64Bytes(c),
        ...get(0),
        0xb8,
        0x44,
        ...f64Bytes(0),
        0xa2,
        0xa0,
      ]
      : [
        0x43,
        ...f32Bytes(c),
        ...get(0),
        0xb3,
        0x43,
        ...f32Bytes(0),
        0x94,
        0x92,
      ];
  const body: number[] = [];
  body.push(...opaque(0.999), ...simd(SPLAT), ...set(S));
  body.push(...opaque(0.001), ...simd(SPLAT), ...set(T));
  for (let c = 0; c < chains; c++) {
    body.push(...opaque(1 + c / 64), ...simd(SPLAT), ...set(A0 + c));
  }
  const step: number[] = [];
  for (let u = 0; u < 4; u++) {
    for (let c = 0; c < chains; c++) {
      if (kind.endsWith("relaxed_madd")) {
        step.push(...get(A0 + c), ...get(S), ...get(T), ...simd(RELAXED_MADD));
      } else {
        step.push(...get(A0 + c), ...get(S), ...simd(MUL));
        step.push(...get(T), ...simd(ADD));
      }
      step.push(...set(A0 + c));
    }
  }
  // block; loop; step; iters -= 1; br_if (iters != 0) 0; end; end
  body.push(0x02, 0x40, 0x03, 0x40, ...step);
  body.push(...get(0), 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x0b);
  // Sum the accumulators and return lane 0 as f64.
  body.push(...get(A0));
  for (let c = 1; c < chains; c++) body.push(...get(A0 + c), ...simd(ADD));
  body.push(...simd(EXTRACT), 0);
  if (!f64) body.push(0xbb); // f64.promote_f32
  const locals = vec([[...uleb(chains + 2), 0x7b]]); // v128 locals
  const fn = [...locals, ...body, 0x0b];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, 1, 0x7f, 1, 0x7c]])), // (i32) -> f64
    ...section(3, vec([[0]])),
    ...section(7, vec([[5, ...new TextEncoder().encode("probe"), 0x00, 0]])),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ];
  return new Uint8Array(bytes);
}

function f32Bytes(x: number): number[] {
  return [...new Uint8Array(new Float32Array([x]).buffer)];
}
function f64Bytes(x: number): number[] {
  return [...new Uint8Array(new Float64Array([x]).buffer)];
}

/** Whether this engine validates relaxed SIMD (`f32x4.relaxed_madd`). */
export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(probeModule("f32 relaxed_madd", 1));
}

/** Flops per probe step: chains × lanes × 2, four steps per iteration. */
function flopsPerIter(kind: ProbeKind, chains: number): number {
  return 4 * chains * (kind.startsWith("f64") ? 2 : 4) * 2;
}

/** The value `probe(iters)` must return (the same recurrence in f32/f64). */
function expected(kind: ProbeKind, chains: number, iters: number): number {
  const f = kind.startsWith("f64") ? (x: number) => x : Math.fround;
  const s = f(0.999), t = f(0.001);
  let sum = 0;
  for (let c = 0; c < chains; c++) {
    let a = f(1 + c / 64);
    for (let i = 0; i < 4 * iters; i++) a = f(f(a * s) + t);
    sum = f(sum + a);
  }
  return sum;
}

export type RoofPoint = { kind: ProbeKind; chains: number; gflops: number };

/**
 * Sweeps 4–16 chains for each probe kind this engine supports and returns
 * every point with its best rate over `rounds` interleaved samples of about
 * `ms` milliseconds each. Results are checked against the recurrence
 * (relaxed madd may fuse, so it is checked to a tolerance).
 */
export function measureRoof(
  { rounds = 3, ms = 20, kinds }: {
    rounds?: number;
    ms?: number;
    kinds?: ProbeKind[];
  } = {},
): RoofPoint[] {
  const all: ProbeKind[] = kinds ??
    ["f32 mul+add", "f64 mul+add", "f32 relaxed_madd", "f64 relaxed_madd"];
  const probes: {
    kind: ProbeKind;
    chains: number;
    fn: (n: number) => number;
    best: number;
  }[] = [];
  for (const kind of all) {
    if (kind.endsWith("relaxed_madd") && !hasRelaxedSimd()) continue;
    for (let chains = 4; chains <= 16; chains++) {
      const inst = new WebAssembly.Instance(
        new WebAssembly.Module(probeModule(kind, chains)),
      );
      const fn = inst.exports.probe as (n: number) => number;
      const want = expected(kind, chains, 50);
      const got = fn(50);
      if (Math.abs(got - want) > 1e-4 * Math.abs(want)) {
        throw new Error(`roof probe ${kind} x${chains}: ${got} != ${want}`);
      }
      // Liftoff (the baseline tier) keeps locals in memory; run until the
      // optimizing tier has replaced it (tier-up is background and lazy).
      const t0 = performance.now();
      while (performance.now() - t0 < 60) fn(20000);
      probes.push({ kind, chains, fn, best: 0 });
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const p of probes) {
      let iters = 1 << 14, dt = 0;
      for (;;) {
        const t0 = cpuMs();
        p.fn(iters);
        dt = cpuMs() - t0;
        if (dt >= ms) break;
        iters *= dt < ms / 8 ? 8 : 2;
      }
      const g = flopsPerIter(p.kind, p.chains) * iters / (dt * 1e6);
      p.best = Math.max(p.best, g);
    }
  }
  return probes.map(({ kind, chains, best }) => ({
    kind,
    chains,
    gflops: best,
  }));
}

/** The best f64 point (plain or relaxed) of a sweep. */
export function bestF64(points: RoofPoint[]): RoofPoint {
  return points.filter((p) => p.kind.startsWith("f64"))
    .reduce((a, b) => (b.gflops > a.gflops ? b : a));
}

/** The best f32 point (plain or relaxed) of a sweep: the roof GEMM aims at. */
export function bestF32(points: RoofPoint[]): RoofPoint {
  return points.filter((p) => p.kind.startsWith("f32"))
    .reduce((a, b) => (b.gflops > a.gflops ? b : a));
}

if (import.meta.main) {
  const points = measureRoof();
  console.log(`relaxed SIMD: ${hasRelaxedSimd() ? "yes" : "no"}`);
  for (const kind of new Set(points.map((p) => p.kind))) {
    const row = points.filter((p) => p.kind === kind);
    console.log(
      `${kind.padEnd(18)} ` +
        row.map((p) => `${p.chains}:${p.gflops.toFixed(1)}`).join(" "),
    );
  }
  for (const b of [bestF32(points), bestF64(points)]) {
    console.log(
      `roof (best ${b.kind.slice(0, 3)}): ${b.gflops.toFixed(1)} GFLOP/s ` +
        `(${b.kind}, ${b.chains} chains)`,
    );
  }
}
