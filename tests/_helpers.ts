/**
 * Shared float64 test helpers: closeness with the maximum error reported,
 * central finite differences, a seeded generator for values and shapes, and
 * a recording trace that lists the primitives a function binds.
 * @module
 */
import assert from "node:assert/strict";
import { Tensor } from "../src/core/tensor.ts";
import { makeProgram, stack, tensor } from "../mod.ts";
import { evalProgram } from "../src/core/interpret.ts";
import { Program } from "../src/core/ir.ts";
import { bind, type MainTrace, Trace, withMain } from "../src/core/trace.ts";
import type { Prim, PrimParams } from "../src/core/primitives.ts";
import type { DType } from "../src/backend/dtype.ts";

// ---------------------------------------------------------------- closeness

/** Tolerances: |a - b| <= atol + rtol * |b| elementwise. */
export interface Tol {
  rtol?: number;
  atol?: number;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function valuesOf(x: Tensor | number | readonly number[]): {
  shape: readonly number[];
  data: ArrayLike<number>;
} {
  if (x instanceof Tensor) return { shape: x.shape, data: x.data() };
  if (typeof x === "number") return { shape: [], data: [x] };
  return { shape: [x.length], data: x };
}

/**
 * Asserts `a` and `b` equal bit for bit (same shape and dtype; NaNs equal
 * when their bits are), failing at the first element that differs.
 */
export function assertSameBits(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  const bits = (v: ArrayLike<number>) =>
    v instanceof Float32Array
      ? new Uint32Array(v.buffer, v.byteOffset, v.length)
      : v instanceof Float64Array
      ? new BigUint64Array(v.buffer, v.byteOffset, v.length)
      : v;
  const x = bits(a.data()), y = bits(b.data());
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) {
      assert.fail(`${what}: at ${i}, ${a.data()[i]} vs ${b.data()[i]}`);
    }
  }
}

/**
 * Asserts `actual` ≈ `expected` (same shape, and dtype when both are
 * tensors), failing with the largest error, where it is, and the tolerance.
 */
export function assertClose(
  actual: Tensor | number,
  expected: Tensor | number | readonly number[],
  tol: Tol = {},
  msg = "",
): void {
  const { rtol = 1e-10, atol = 1e-10 } = tol;
  const where = msg ? `${msg}: ` : "";
  if (!(actual instanceof Tensor) && typeof actual !== "number") {
    throw new Error(`${where}expected a Tensor, got ${String(actual)}`);
  }
  const a = valuesOf(actual), e = valuesOf(expected);
  const sameShape = a.shape.length === e.shape.length &&
    a.shape.every((d, i) => d === e.shape[i]);
  // A number array compares with any shape of the same size.
  const loose = Array.isArray(expected) && a.data.length === e.data.length;
  if (!sameShape && !loose) {
    throw new Error(
      `${where}shape ${fmt(a.shape)} differs from expected ${fmt(e.shape)}`,
    );
  }
  if (
    actual instanceof Tensor && expected instanceof Tensor &&
    actual.dtype !== expected.dtype
  ) {
    throw new Error(
      `${where}dtype ${actual.dtype} differs from expected ${expected.dtype}`,
    );
  }
  let worst = -1, worstExcess = 0, maxErr = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i], y = e.data[i];
    const err = Math.abs(x - y);
    if (
      Number.isNaN(x) !== Number.isNaN(y) ||
      !(err <= atol + rtol * Math.abs(y)) && !(x === y)
    ) {
      const excess = Number.isNaN(err)
        ? Infinity
        : err - (atol + rtol * Math.abs(y));
      if (worst < 0 || excess > worstExcess) [worst, worstExcess] = [i, excess];
    }
    if (err > maxErr) maxErr = err;
  }
  if (worst >= 0) {
    throw new Error(
      `${where}not close: max |actual - expected| = ${
        maxErr.toExponential(3)
      }; ` +
        `worst at flat index ${worst}: ${a.data[worst]} vs ${e.data[worst]} ` +
        `(rtol ${rtol}, atol ${atol}, shape ${fmt(a.shape)})`,
    );
  }
}

/** Asserts two pytrees of tensors have the same structure and close leaves. */
export function assertTreeClose(
  actual: unknown,
  expected: unknown,
  tol: Tol = {},
  msg = "",
): void {
  if (expected instanceof Tensor) {
    assertClose(actual as Tensor, expected, tol, msg);
  } else if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      throw new Error(
        `${msg}: expected an array of ${expected.length}, got ${
          String(actual)
        }`,
      );
    }
    expected.forEach((e, i) =>
      assertTreeClose(actual[i], e, tol, `${msg}[${i}]`)
    );
  } else if (expected !== null && typeof expected === "object") {
    const keys = Object.keys(expected);
    const got = actual as Record<string, unknown>;
    if (
      got === null || typeof got !== "object" ||
      Object.keys(got).sort().join() !== [...keys].sort().join()
    ) {
      throw new Error(`${msg}: expected keys ${keys}, got ${String(actual)}`);
    }
    for (const k of keys) {
      assertTreeClose(
        got[k],
        (expected as Record<string, unknown>)[k],
        tol,
        `${msg}.${k}`,
      );
    }
  } else if (actual !== expected) {
    throw new Error(
      `${msg}: expected ${String(expected)}, got ${String(actual)}`,
    );
  }
}

/** Asserts a shape. */
export function assertShape(
  t: Tensor,
  shape: readonly number[],
  msg = "",
): void {
  if (!(t instanceof Tensor)) throw new Error(`${msg}: not a Tensor`);
  if (
    t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])
  ) {
    throw new Error(`${msg}: shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
  }
}

/**
 * Asserts that `fn` throws an instance of `cls` whose message matches every
 * pattern (strings are matched literally).
 */
export function assertThrowsWith(
  fn: () => unknown,
  cls: new (...a: never[]) => Error,
  ...patterns: (string | RegExp)[]
): Error {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) {
    throw new Error(`expected ${cls.name}, nothing was thrown`);
  }
  if (!(err instanceof cls) || err.constructor !== cls) {
    throw new Error(
      `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${
        (err as Error)?.message
      }`,
    );
  }
  for (const p of patterns) {
    const ok = typeof p === "string"
      ? err.message.includes(p)
      : p.test(err.message);
    if (!ok) {
      throw new Error(
        `${cls.name} message ${
          JSON.stringify(err.message)
        } does not contain ${p}`,
      );
    }
  }
  return err;
}

// ------------------------------------------------------------------ numbers

/** Sum of elementwise products of two same-shaped tensors, in float64 JS. */
export function inner(a: Tensor, b: Tensor): number {
  const x = a.data(), y = b.data();
  if (x.length !== y.length) {
    throw new Error(`inner: sizes differ ${fmt(a.shape)} vs ${fmt(b.shape)}`);
  }
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** Σ inner over paired lists. */
export function innerAll(a: readonly Tensor[], b: readonly Tensor[]): number {
  return a.reduce((s, x, i) => s + inner(x, b[i]), 0);
}

/**
 * An environment variable, or undefined (also without --allow-env): the
 * randomized tests read their counts and seeds this way.
 */
export function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The largest finite magnitude of any value `f`'s traced program computes
 * on `args`: the scale of the rounding that reordering its sums may move
 * (entries that cancel large terms keep their error).
 */
export function largestIntermediate(
  f: (...a: Tensor[]) => Tensor | Tensor[],
  args: Tensor[],
): number {
  const p = makeProgram(f)(...args);
  const every = new Program(
    p.inputs,
    p.eqns,
    p.eqns.map((e) => ({ var: e.out })),
    p.eqns.map((e) => p.avals.get(e.out)!),
    p.avals,
  );
  let largest = 0;
  for (const v of evalProgram(every, args)) {
    for (const x of v.abs().data()) {
      if (Number.isFinite(x) && x > largest) largest = x;
    }
    if (!args.includes(v)) v.dispose(); // an equation may return its input
  }
  return largest;
}

/** Default relative finite-difference step. */
export const FD_STEP = 1e-6;

/**
 * Central finite difference of `f` at `xs` in direction `ts`:
 * (f(x + h t) - f(x - h t)) / 2h, on every output leaf.
 */
export function centralDiff(
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  xs: readonly Tensor[],
  ts: readonly Tensor[],
  h = FD_STEP,
): Tensor[] {
  const at = (s: number) => {
    const y = f(...xs.map((x, i) => x.add(ts[i].mul(s * h))));
    return Array.isArray(y) ? y : [y];
  };
  const plus = at(1), minus = at(-1);
  return plus.map((p, i) => p.sub(minus[i]).div(2 * h));
}

// ------------------------------------------------------------------- random

/** A small seeded generator (mulberry32) for test data and shapes. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  normal(): number {
    const u = 1 - this.next(), v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** A shape of rank in [minRank, maxRank] with sizes in [1, maxDim]. */
  shape(minRank = 0, maxRank = 3, maxDim = 4): number[] {
    return Array.from(
      { length: this.int(minRank, maxRank) },
      () => this.int(1, maxDim),
    );
  }
  /**
   * Two shapes that broadcast together: from a random result shape, each
   * operand drops some leading dims and turns some dims into 1.
   */
  broadcastPair(): [number[], number[]] {
    const out = this.shape(1, 3, 4).map((d) => Math.max(d, 2));
    const operand = () => {
      const s = out.slice(this.int(0, out.length - 1));
      return s.map((d) => (this.next() < 0.35 ? 1 : d));
    };
    return [operand(), out.map((d) => (this.next() < 0.25 ? 1 : d))].sort(() =>
      this.next() - 0.5
    ) as [number[], number[]];
  }
}

/** A tensor of `shape` whose elements are `gen()` in row-major order. */
export function fromGen(
  shape: readonly number[],
  gen: () => number,
  dtype: DType = "float64",
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const buf = new Float64Array(n);
  for (let i = 0; i < n; i++) buf[i] = gen();
  return tensor(buf, { dtype }).reshape(shape);
}

/** Standard normal float64 values. */
export function randnT(
  rng: Rng,
  shape: readonly number[],
  dtype: DType = "float64",
): Tensor {
  return fromGen(shape, () => rng.normal(), dtype);
}

/** Uniform float64 values in [lo, hi). */
export function uniformT(
  rng: Rng,
  shape: readonly number[],
  lo: number,
  hi: number,
): Tensor {
  return fromGen(shape, () => rng.uniform(lo, hi), "float64");
}

/** Values with |x| in [lo, hi] and a random sign (away from a kink at 0). */
export function awayFromZero(
  rng: Rng,
  shape: readonly number[],
  lo = 0.2,
  hi = 2,
): Tensor {
  return fromGen(
    shape,
    () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(lo, hi),
    "float64",
  );
}

/** Random 0/1 float64 values (a condition for `where`). */
export function maskT(rng: Rng, shape: readonly number[]): Tensor {
  return fromGen(shape, () => (rng.next() < 0.5 ? 0 : 1), "float64");
}

/** Random int32 indices in [0, n). */
export function indicesT(rng: Rng, length: number, n: number): Tensor {
  return fromGen([length], () => rng.int(0, n - 1), "int32");
}

/** Stacks f(i) for i < n along dim 0 (the reference for vmap). */
export function stackOf(n: number, f: (i: number) => Tensor): Tensor {
  return stack(Array.from({ length: n }, (_, i) => f(i)), 0);
}

// ---------------------------------------------------------------- recording

class RecordTracer extends Tensor {
  constructor(trace: RecordTrace, readonly val: Tensor) {
    super(val.shape, val.dtype, null, trace);
  }
  override _concrete(what: string): Tensor {
    return this.val._concrete(what);
  }
}

class RecordTrace extends Trace {
  readonly seen = new Set<Prim>();
  constructor(main: MainTrace) {
    super(main);
  }
  lift(x: Tensor): Tensor {
    return new RecordTracer(this, x);
  }
  process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor {
    this.seen.add(prim);
    return new RecordTracer(
      this,
      bind(prim, args.map((a) => (a as RecordTracer).val), params),
    );
  }
}

/**
 * The primitives `f` binds when called on `args`, including those bound by
 * transforms it runs inside (a derivative's transposed program, vmap's
 * batching rules): an outermost trace that records and forwards.
 */
export function primsOf(
  f: (...xs: Tensor[]) => unknown,
  args: readonly Tensor[],
): Set<Prim> {
  return withMain("record", (main) => {
    const trace = new RecordTrace(main);
    f(...args.map((a) => trace.lift(a)));
    return trace.seen;
  });
}

/**
 * erf to a few ulps: its series of positive terms for |x| <= 2.5, else
 * 1 - erfc from erfc's continued fraction (evaluated backwards).
 */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax > 2.5) {
    let f = ax;
    for (let k = 2000; k >= 1; k--) f = ax + k / 2 / f;
    return Math.sign(x) * (1 - Math.exp(-x * x) / f / Math.sqrt(Math.PI));
  }
  const t = x * x;
  let term = x, s = x;
  for (let k = 1; k < 500 && Math.abs(term) > 1e-30 * Math.abs(s); k++) {
    term *= (2 * t) / (2 * k + 1);
    s += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-t) * s;
}
