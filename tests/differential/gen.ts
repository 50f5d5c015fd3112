/**
 * A seeded generator of differential cases: a random program (shapes checked
 * as it is built), a random stack of transforms, and inputs. Case `index` of
 * seed `seed` depends on nothing else, so a long run contains the CI run and
 * any case can be regenerated alone.
 *
 * Values stay where both libraries are smooth and finite: every value carries
 * an interval that bounds it on both input sets, and an op is only chosen
 * where its domain allows (log, sqrt and reciprocal of values >= 0.25, exp of
 * values <= 4, ...). Ops with kinks or ties (abs, relu, sign, maximum, max)
 * are only applied to "generic" values: values with no exact zeros or
 * repeated entries, where a derivative does not depend on a tie-breaking
 * convention.
 * @module
 */
import {
  type Argnums,
  atLeaves,
  type AType,
  BINARY,
  type BinaryFn,
  type Case,
  type CmpFn,
  type Layer,
  type Node,
  type Operand,
  type Program,
  type Ref,
  type ScalarizeKind,
  sizeOf,
  UNARY,
  type UnaryFn,
} from "./case.ts";

/** splitmix32-seeded xorshift: small, fast, the same on every platform. */
export class Rng {
  #s: number;
  constructor(seed: number, index: number) {
    let z =
      (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b) ^
        0x2545f491) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
    z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
    this.#s = (z ^ (z >>> 16)) >>> 0 || 1;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** Picks a key with probability proportional to its weight. */
  weighted<K extends string>(w: Record<K, number>): K {
    const keys = Object.keys(w) as K[];
    let r = this.next() * keys.reduce((s, k) => s + w[k], 0);
    for (const k of keys) {
      r -= w[k];
      if (r < 0) return k;
    }
    return keys[keys.length - 1];
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
  /** Uniform in [lo, hi], on a grid of 1e-6 (short reproducers, ties unlikely). */
  value(lo: number, hi: number): number {
    return Math.round((lo + (hi - lo) * this.next()) * 1e6) / 1e6;
  }
}

interface Info {
  shape: number[];
  lo: number;
  hi: number;
  /** No exact zeros or repeated entries (generically), so kinks and ties are not hit. */
  generic: boolean;
  /** Depends on an input of the function. */
  live: boolean;
}

const MAX_MAG = 1e4;
const mag = (i: { lo: number; hi: number }) =>
  Math.max(Math.abs(i.lo), Math.abs(i.hi));
const shapeEq = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const norm = (d: number, r: number) => (d < 0 ? d + r : d);

function broadcast(...shapes: number[][]): number[] | null {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const s of shapes) {
      const e = s[s.length - r + i] ?? 1;
      if (e !== 1) {
        if (d !== 1 && d !== e) return null;
        d = e;
      }
    }
    out.push(d);
  }
  return out;
}

function corners(
  f: (a: number, b: number) => number,
  a: Info | { lo: number; hi: number },
  b: { lo: number; hi: number },
): [number, number] {
  const v = [f(a.lo, b.lo), f(a.lo, b.hi), f(a.hi, b.lo), f(a.hi, b.hi)];
  return [Math.min(...v), Math.max(...v)];
}

/** A random shape of `size` elements with rank in [minRank, 3]. */
function factor(rng: Rng, size: number, minRank = 0): number[] {
  for (let tries = 0; tries < 20; tries++) {
    const rank = rng.int(Math.max(minRank, size === 1 ? 0 : 1), 3);
    if (rank === 0) return [];
    const dims: number[] = [];
    let rest = size;
    for (let i = 0; i < rank - 1; i++) {
      const divs = [];
      for (let d = 1; d <= rest; d++) if (rest % d === 0) divs.push(d);
      const d = rng.pick(divs);
      dims.push(d);
      rest /= d;
    }
    dims.push(rest);
    if (dims.length >= minRank) return rng.shuffle(dims);
  }
  return [size];
}

const NUMBERS = [0.5, 2, -1.5, 3, 0.25, 1.7, -0.8];

class ProgramBuilder {
  readonly infos: Info[] = [];
  readonly nodes: Node[] = [];
  readonly captured: { shape: number[]; data: number[] }[] = [];
  readonly inputShapes: number[][] = [];
  readonly inputRanges: [number, number][] = [];

  constructor(readonly rng: Rng) {}

  get nInputs() {
    return this.inputShapes.length;
  }

  addInput(shape: number[]) {
    const [lo, hi] = this.rng.pick<[number, number]>([
      [-2, 2],
      [0.5, 2],
      [-1, 1],
      [0.3, 1.5],
      [-1.5, -0.4],
    ]);
    this.inputShapes.push(shape);
    this.inputRanges.push([lo, hi]);
    this.infos.push({ shape, lo, hi, generic: true, live: true });
  }

  push(node: Node, info: Info): Ref {
    this.nodes.push(node);
    this.infos.push(info);
    return this.infos.length - 1;
  }

  /** A recent value, preferring live ones; `ok` filters. */
  pickRef(ok: (i: Info, r: Ref) => boolean = () => true): Ref | null {
    const cands: Ref[] = [];
    this.infos.forEach((info, r) => {
      if (ok(info, r)) cands.push(r);
    });
    if (cands.length === 0) return null;
    // Favour the newest values so that programs form chains, not just fans.
    if (this.rng.chance(0.45)) {
      const live = cands.filter((r) => this.infos[r].live);
      if (live.length > 0) return live[live.length - 1];
    }
    return this.rng.pick(cands);
  }

  /** A fresh tensor of `shape`: a literal inside the function, one closed over, or one kept from the first call. */
  fresh(shape: number[]): Ref {
    const [lo, hi] = this.rng.pick<[number, number]>([[-1, 1], [0.5, 1.5]]);
    const data = Array.from(
      { length: sizeOf(shape) },
      () => this.rng.value(lo, hi),
    );
    const info = { shape, lo, hi, generic: true, live: false };
    const where = this.rng.weighted({ inside: 4, outside: 4, lazy: 1 });
    if (where === "inside") {
      return this.push({ op: "const", shape, data }, info);
    }
    if (where === "lazy") {
      const k = this.nodes.filter((n) => n.op === "lazy").length;
      return this.push({ op: "lazy", k, shape, data }, info);
    }
    this.captured.push({ shape, data });
    return this.push({ op: "captured", k: this.captured.length - 1 }, info);
  }

  /** An existing value of exactly `shape`, or (sometimes, or when none) a fresh one. */
  withShape(shape: number[], exclude: Ref | null = null): Ref {
    const r = this.rng.chance(0.7)
      ? this.pickRef((i, r) => shapeEq(i.shape, shape) && r !== exclude)
      : null;
    return r ?? this.fresh(shape);
  }

  /** A shape that broadcasts with `s` (same, trailing part, or with 1s). */
  broadcastPartner(s: number[]): number[] {
    switch (this.rng.int(0, 4)) {
      case 0:
        return s.slice(this.rng.int(0, s.length));
      case 1:
        return s.map((d) => (this.rng.chance(0.5) ? 1 : d));
      case 2:
        return [];
      default:
        return [...s];
    }
  }

  info(
    o: Operand,
  ): { lo: number; hi: number; generic: boolean; shape: number[] } {
    if (typeof o === "number") return this.infos[o];
    return { lo: o.num, hi: o.num, generic: true, shape: [] };
  }

  // --- op generators: each returns false when it found nothing valid ---

  unary(): boolean {
    const x = this.pickRef();
    if (x === null) return false;
    const i = this.infos[x];
    const m = mag(i);
    const ok: Record<UnaryFn, boolean> = {
      neg: true,
      abs: i.generic,
      exp: i.hi <= 4,
      log: i.lo >= 0.25,
      sqrt: i.lo >= 0.25,
      sin: m <= 100,
      cos: m <= 100,
      tan: i.lo >= -1.2 && i.hi <= 1.2,
      tanh: true,
      sigmoid: true,
      relu: i.generic,
      square: m <= 50,
      reciprocal: i.lo >= 0.25 || i.hi <= -0.25,
      sign: i.generic,
    };
    const fns = UNARY.filter((f) => ok[f]);
    const fn = this.rng.pick(fns);
    let [lo, hi] = [i.lo, i.hi];
    let generic = i.generic;
    switch (fn) {
      case "neg":
        [lo, hi] = [-i.hi, -i.lo];
        break;
      case "abs":
        [lo, hi] = [i.lo > 0 ? i.lo : i.hi < 0 ? -i.hi : 0, m];
        break;
      case "exp":
        [lo, hi] = [Math.exp(i.lo), Math.exp(i.hi)];
        break;
      case "log":
        [lo, hi] = [Math.log(i.lo), Math.log(i.hi)];
        break;
      case "sqrt":
        [lo, hi] = [Math.sqrt(i.lo), Math.sqrt(i.hi)];
        break;
      case "sin":
      case "cos":
        [lo, hi] = [-1, 1];
        break;
      case "tan":
        [lo, hi] = [Math.tan(i.lo), Math.tan(i.hi)];
        break;
      case "tanh":
        [lo, hi] = [Math.tanh(i.lo), Math.tanh(i.hi)];
        break;
      case "sigmoid":
        [lo, hi] = [1 / (1 + Math.exp(-i.lo)), 1 / (1 + Math.exp(-i.hi))];
        break;
      case "relu":
        [lo, hi] = [Math.max(i.lo, 0), Math.max(i.hi, 0)];
        generic = i.generic && i.lo > 0;
        break;
      case "square":
        [lo, hi] = i.lo >= 0
          ? [i.lo ** 2, i.hi ** 2]
          : i.hi <= 0
          ? [i.hi ** 2, i.lo ** 2]
          : [0, m * m];
        break;
      case "reciprocal":
        [lo, hi] = [1 / i.hi, 1 / i.lo];
        break;
      case "sign":
        [lo, hi] = [-1, 1];
        generic = false;
        break;
    }
    this.push({ op: "unary", fn, x }, {
      shape: i.shape,
      lo,
      hi,
      generic,
      live: i.live,
    });
    return true;
  }

  binary(): boolean {
    const fn: BinaryFn = this.rng.pick(BINARY);
    const a = this.pickRef();
    if (a === null) return false;
    const ai = this.infos[a];
    let b: Operand;
    if (this.rng.chance(0.3)) b = { num: this.rng.pick(NUMBERS) };
    else {
      const want = this.broadcastPartner(ai.shape);
      b = this.rng.chance(0.3)
        ? a
        : this.pickRef((i, r) =>
          r !== a && broadcast(i.shape, ai.shape) !== null &&
          sizeOf(broadcast(i.shape, ai.shape)!) <= 32
        ) ?? this.withShape(want);
    }
    // The number may come first (sub(0.5, x)).
    let [x, y]: [Operand, Operand] = [a, b];
    if (typeof b !== "number" || this.rng.chance(0.3)) {
      if (this.rng.chance(0.5)) [x, y] = [b, a];
    }
    const xi = this.info(x), yi = this.info(y);
    const shape = broadcast(xi.shape, yi.shape);
    if (shape === null || sizeOf(shape) > 32) return false;
    const same = x === y;
    const bothGeneric = xi.generic && yi.generic;
    const broadcasted = !shapeEq(xi.shape, shape) || !shapeEq(yi.shape, shape);
    let lo: number, hi: number, generic = bothGeneric;
    switch (fn) {
      case "add":
        [lo, hi] = [xi.lo + yi.lo, xi.hi + yi.hi];
        break;
      case "sub":
        [lo, hi] = [xi.lo - yi.hi, xi.hi - yi.lo];
        if (same) generic = false;
        break;
      case "mul":
        [lo, hi] = corners((p, q) => p * q, xi, yi);
        break;
      case "div":
        if (!(yi.lo >= 0.25 || yi.hi <= -0.25)) return false;
        [lo, hi] = corners((p, q) => p / q, xi, yi);
        if (same) generic = false;
        break;
      case "pow":
        if (xi.lo < 0.25 || xi.hi > 4 || yi.lo < -3 || yi.hi > 3) return false;
        [lo, hi] = corners((p, q) => p ** q, xi, yi);
        break;
      case "maximum":
      case "minimum": {
        if (!bothGeneric || same) return false;
        const f = fn === "maximum" ? Math.max : Math.min;
        [lo, hi] = [f(xi.lo, yi.lo), f(xi.hi, yi.hi)];
        // Broadcasting or a number repeats entries of the result.
        generic = !broadcasted && typeof x === "number" &&
          typeof y === "number";
        break;
      }
    }
    if (mag({ lo, hi }) > MAX_MAG) return false;
    const live = (typeof x === "number" && this.infos[x].live) ||
      (typeof y === "number" && this.infos[y].live);
    this.push(
      { op: "binary", fn, a: x, b: y },
      { shape, lo, hi, generic, live },
    );
    return true;
  }

  where(): boolean {
    const ca = this.pickRef((i) => i.generic);
    if (ca === null) return false;
    const ci = this.infos[ca];
    const cb: Operand = this.rng.chance(0.4)
      ? { num: Math.round(((ci.lo + ci.hi) / 2) * 100) / 100 }
      : this.pickRef((i, r) =>
        i.generic && r !== ca && broadcast(i.shape, ci.shape) !== null
      ) ?? this.withShape(this.broadcastPartner(ci.shape), ca);
    const cmp: CmpFn = this.rng.pick(["lt", "le", "gt", "ge"] as const);
    const a: Operand = this.rng.chance(0.8)
      ? this.pickRef() ?? { num: 1 }
      : { num: this.rng.pick(NUMBERS) };
    const b: Operand = typeof a !== "number" || this.rng.chance(0.7)
      ? this.pickRef((_, r) => r !== a) ?? this.fresh(ci.shape)
      : { num: this.rng.pick(NUMBERS) };
    const ai = this.info(a), bi = this.info(b), cbi = this.info(cb);
    const condShape = broadcast(ci.shape, cbi.shape);
    if (condShape === null) return false;
    const shape = broadcast(condShape, ai.shape, bi.shape);
    if (shape === null || sizeOf(shape) > 32) return false;
    const generic = typeof a === "number" && typeof b === "number" &&
      ai.generic && bi.generic && shapeEq(ai.shape, shape) &&
      shapeEq(bi.shape, shape);
    const live = (typeof a === "number" && this.infos[a].live) ||
      (typeof b === "number" && this.infos[b].live);
    this.push({ op: "where", cmp, ca, cb, a, b }, {
      shape,
      lo: Math.min(ai.lo, bi.lo),
      hi: Math.max(ai.hi, bi.hi),
      generic,
      live,
    });
    return true;
  }

  reduce(): boolean {
    const x = this.pickRef();
    if (x === null) return false;
    const i = this.infos[x];
    const r = i.shape.length;
    let dim: number | number[] | null = null;
    let axes = i.shape.map((_, k) => k);
    if (r > 0) {
      const mode = this.rng.int(0, 9);
      if (mode >= 3 && mode < 8) {
        const d = this.rng.int(-r, r - 1);
        dim = d;
        axes = [norm(d, r)];
      } else if (mode >= 8) {
        axes = this.rng.shuffle(i.shape.map((_, k) => k)).slice(
          0,
          this.rng.int(1, r),
        );
        dim = axes.map((a) => (this.rng.chance(0.3) ? a - r : a));
      }
    }
    const keepdim = r > 0 && this.rng.chance(0.4);
    const n = sizeOf(axes.map((a) => i.shape[a]));
    const m = mag(i);
    const fn = this.rng.weighted({
      sum: 4,
      mean: 2,
      prod: n <= 6 && m ** n <= MAX_MAG ? 1.5 : 0,
      max: i.generic ? 1.5 : 0,
      min: i.generic ? 1 : 0,
    });
    let [lo, hi] = [i.lo, i.hi];
    if (fn === "sum") [lo, hi] = [n * i.lo, n * i.hi];
    if (fn === "prod") {
      [lo, hi] = i.lo >= 0 ? [i.lo ** n, i.hi ** n] : [-(m ** n), m ** n];
    }
    if (mag({ lo, hi }) > MAX_MAG) return false;
    const shape = i.shape.flatMap((d, k) =>
      axes.includes(k) ? (keepdim ? [1] : []) : [d]
    );
    this.push({ op: "reduce", fn, x, dim, keepdim }, { ...i, shape, lo, hi });
    return true;
  }

  layout(): boolean {
    const x = this.pickRef();
    if (x === null) return false;
    const i = this.infos[x];
    const s = i.shape, r = s.length;
    const kind = this.rng.pick(
      [
        "reshape",
        "permute",
        "transpose",
        "movedim",
        "expand",
        "squeeze",
        "unsqueeze",
        "flatten",
        "slice",
        "narrow",
        "select",
      ] as const,
    );
    const same = (shape: number[], node: Node, generic = i.generic) => {
      this.push(node, { ...i, shape, generic });
      return true;
    };
    switch (kind) {
      case "reshape": {
        const shape = factor(this.rng, sizeOf(s));
        const spec = [...shape];
        if (spec.length > 0 && this.rng.chance(0.3)) {
          spec[this.rng.int(0, spec.length - 1)] = -1;
        }
        return same(shape, { op: "reshape", x, shape: spec });
      }
      case "permute": {
        if (r < 2) return false;
        const perm = this.rng.shuffle(s.map((_, k) => k));
        const dims = perm.map((p) => (this.rng.chance(0.2) ? p - r : p));
        return same(perm.map((p) => s[p]), { op: "permute", x, dims });
      }
      case "transpose": {
        if (r < 2) return false;
        const [a, b] = this.rng.shuffle(s.map((_, k) => k));
        const out = [...s];
        [out[a], out[b]] = [s[b], s[a]];
        const dim0 = this.rng.chance(0.3) ? a - r : a,
          dim1 = this.rng.chance(0.3) ? b - r : b;
        return same(out, { op: "transpose", x, dim0, dim1 });
      }
      case "movedim": {
        if (r < 2) return false;
        const src = this.rng.int(-r, r - 1), dst = this.rng.int(-r, r - 1);
        const order = s.map((_, k) => k).filter((k) => k !== norm(src, r));
        order.splice(norm(dst, r), 0, norm(src, r));
        return same(order.map((k) => s[k]), { op: "movedim", x, src, dst });
      }
      case "expand": {
        const lead = r < 3 && this.rng.chance(0.5) ? [this.rng.int(1, 3)] : [];
        const target = [
          ...lead,
          ...s.map((d) => (d === 1 ? this.rng.int(1, 3) : d)),
        ];
        if (sizeOf(target) > 32) return false;
        const spec = [
          ...lead,
          ...s.map((d, k) =>
            d !== 1 && this.rng.chance(0.3) ? -1 : target[lead.length + k]
          ),
        ];
        const repeats = sizeOf(target) > sizeOf(s);
        return same(
          target,
          { op: "expand", x, shape: spec },
          i.generic && !repeats,
        );
      }
      case "squeeze": {
        let dim: number | number[] | null = null;
        let drop = s.map((d) => d === 1);
        if (r > 0 && this.rng.chance(0.6)) {
          const d = this.rng.int(-r, r - 1);
          if (this.rng.chance(0.7)) dim = d;
          else dim = [d];
          drop = s.map((e, k) => e === 1 && k === norm(d, r));
        }
        return same(s.filter((_, k) => !drop[k]), { op: "squeeze", x, dim });
      }
      case "unsqueeze": {
        if (r >= 4) return false;
        const dim = this.rng.int(-(r + 1), r);
        const out = [...s];
        out.splice(norm(dim, r + 1), 0, 1);
        return same(out, { op: "unsqueeze", x, dim });
      }
      case "flatten": {
        if (r === 0) return same([1], { op: "flatten", x, start: 0, end: -1 });
        const a = this.rng.int(0, r - 1), b = this.rng.int(a, r - 1);
        const start = this.rng.chance(0.3) ? a - r : a,
          end = this.rng.chance(0.3) ? b - r : b;
        const out = [
          ...s.slice(0, a),
          sizeOf(s.slice(a, b + 1)),
          ...s.slice(b + 1),
        ];
        return same(out, { op: "flatten", x, start, end });
      }
      case "slice": {
        if (r === 0) return false;
        const dim = this.rng.int(-r, r - 1), d = norm(dim, r), n = s[d];
        const start = this.rng.chance(0.3) ? null : this.rng.int(-n - 1, n);
        const end = this.rng.chance(0.3) ? null : this.rng.int(-n - 1, n + 1);
        const step = this.rng.pick([1, 1, 2, 3]);
        const clamp = (v: number) =>
          Math.min(Math.max(v < 0 ? v + n : v, 0), n);
        const len = Math.ceil((clamp(end ?? n) - clamp(start ?? 0)) / step);
        if (len < 1) return false;
        const out = [...s];
        out[d] = len;
        return same(out, { op: "slice", x, dim, start, end, step });
      }
      case "narrow": {
        if (r === 0) return false;
        const dim = this.rng.int(-r, r - 1), d = norm(dim, r), n = s[d];
        const st = this.rng.int(0, n - 1), length = this.rng.int(1, n - st);
        const start = this.rng.chance(0.3) ? st - n : st;
        const out = [...s];
        out[d] = length;
        return same(out, { op: "narrow", x, dim, start, length });
      }
      case "select": {
        if (r === 0) return false;
        const dim = this.rng.int(-r, r - 1), d = norm(dim, r), n = s[d];
        const index = this.rng.int(-n, n - 1);
        return same(s.filter((_, k) => k !== d), {
          op: "select",
          x,
          dim,
          index,
        });
      }
    }
  }

  join(): boolean {
    const x = this.pickRef((i) => i.shape.length > 0 || this.rng.chance(0.3));
    if (x === null) return false;
    const i = this.infos[x], s = i.shape, r = s.length;
    const parts: Ref[] = [x];
    const n = this.rng.int(2, 3);
    const stack = r === 0 || this.rng.chance(0.4);
    if (stack) {
      for (let k = 1; k < n; k++) parts.push(this.withShape(s));
      const dim = this.rng.int(-(r + 1), r);
      const out = [...s];
      out.splice(norm(dim, r + 1), 0, n);
      if (sizeOf(out) > 32) return false;
      return this.pushJoin(
        { op: "stack", xs: this.rng.shuffle(parts), dim },
        out,
      );
    }
    const dim = this.rng.int(-r, r - 1), d = norm(dim, r);
    for (let k = 1; k < n; k++) {
      const p = this.pickRef((j) =>
        j.shape.length === r && j.shape.every((e, q) => q === d || e === s[q])
      );
      if (p !== null && this.rng.chance(0.6)) parts.push(p);
      else {
        const shape = [...s];
        shape[d] = this.rng.int(1, 3);
        parts.push(this.fresh(shape));
      }
    }
    const out = [...s];
    out[d] = parts.reduce((t, p) => t + this.infos[p].shape[d], 0);
    if (sizeOf(out) > 32) return false;
    return this.pushJoin({ op: "cat", xs: this.rng.shuffle(parts), dim }, out);
  }

  pushJoin(node: Node & { xs: Ref[] }, shape: number[]): boolean {
    const is = node.xs.map((p) => this.infos[p]);
    const distinct = new Set(node.xs).size === node.xs.length;
    this.push(node, {
      shape,
      lo: Math.min(...is.map((j) => j.lo)),
      hi: Math.max(...is.map((j) => j.hi)),
      generic: distinct && is.every((j) => j.generic),
      live: is.some((j) => j.live),
    });
    return true;
  }

  linalg(): boolean {
    const kind = this.rng.weighted({ matmul: 4, dot: 1, outer: 1, linear: 2 });
    const a = this.pickRef((i) => i.shape.length >= 1 && i.shape.length <= 3);
    if (a === null) return false;
    const ai = this.infos[a], s = ai.shape, r = s.length;
    const k = s[r - 1];
    let node: Node, shape: number[], bRefs: Ref[];
    if (kind === "dot" || kind === "outer") {
      if (r !== 1) return false;
      const b = this.withShape(kind === "dot" ? [k] : [this.rng.int(1, 4)], a);
      node = { op: kind, a, b };
      shape = kind === "dot" ? [] : [k, this.infos[b].shape[0]];
      bRefs = [b];
    } else if (kind === "linear") {
      const w = this.withShape([this.rng.int(1, 4), k]);
      const outF = this.infos[w].shape[0];
      const b = this.rng.chance(0.6) ? this.withShape([outF]) : null;
      node = { op: "linear", x: a, w, b };
      shape = [...s.slice(0, -1), outF];
      bRefs = b === null ? [w] : [w, b];
    } else {
      const n = this.rng.int(1, 4);
      const bShape = this.rng.pick([
        [k],
        [k, n],
        [k, n],
        ...(r === 3 ? [[s[0], k, n], [1, k, n]] : [[2, k, n]]),
      ]);
      const b = this.withShape(bShape, a);
      node = { op: "matmul", a, b };
      const aB = r === 1 ? [] : s.slice(0, -2), bB = bShape.slice(0, -2);
      const batch = broadcast(aB, bB)!;
      shape = [
        ...batch,
        ...(r === 1 ? [] : [s[r - 2]]),
        ...(bShape.length === 1 ? [] : [n]),
      ];
      bRefs = [b];
    }
    if (sizeOf(shape) > 32) return false;
    const bis = bRefs.map((b) => this.infos[b]);
    const bound = k * mag(ai) * Math.max(...bis.map(mag)) +
      (kind === "linear" && bis.length === 2 ? mag(bis[1]) : 0);
    if (bound > MAX_MAG) return false;
    this.push(node, {
      shape,
      lo: -bound,
      hi: bound,
      generic: ai.generic && bis.every((j) => j.generic),
      live: ai.live || bis.some((j) => j.live),
    });
    return true;
  }

  detach(): boolean {
    const x = this.pickRef();
    if (x === null) return false;
    this.push({ op: "detach", x }, { ...this.infos[x], live: false });
    return true;
  }
}

/** A random program with 1-3 inputs and 2-8 steps. */
export function genProgram(rng: Rng): {
  program: Program;
  b: ProgramBuilder;
  outType: AType;
} {
  const b = new ProgramBuilder(rng);
  const nIn = rng.weighted({ 1: 4, 2: 4, 3: 2 } as Record<string, number>);
  for (let k = 0; k < Number(nIn); k++) {
    const size = rng.pick([1, 2, 3, 4, 6, 8, 12]);
    b.addInput(size === 1 && rng.chance(0.5) ? [] : factor(rng, size, 1));
  }
  const steps = rng.int(2, 8);
  for (let made = 0, tries = 0; made < steps && tries < 200; tries++) {
    const kind = rng.weighted({
      unary: 25,
      binary: 25,
      where: 5,
      reduce: 10,
      layout: 20,
      join: 5,
      linalg: 8,
      detach: 2,
    });
    if (b[kind]()) made++;
  }
  const okOut = (i: Info) =>
    i.live && i.shape.length <= 3 && sizeOf(i.shape) <= 24;
  const outs: Ref[] = [];
  for (let r = b.infos.length - 1; r >= 0; r--) {
    if (okOut(b.infos[r])) {
      outs.push(r);
      break;
    }
  }
  if (outs.length === 0) outs.push(0);
  let out: Ref | Ref[] = outs[0];
  if (rng.chance(0.2)) {
    const other = b.pickRef((i, r) => okOut(i) && r !== outs[0]);
    if (other !== null) out = [outs[0], other];
  }
  const outType: AType = typeof out === "number"
    ? { shape: b.infos[out].shape }
    : out.map((r) => ({ shape: b.infos[r].shape }));
  return {
    program: { nInputs: b.nInputs, nodes: b.nodes, out },
    b,
    outType,
  };
}

/** An argument of the function built so far, with the interval its values are drawn from. */
export interface Arg {
  shape: number[];
  lo: number;
  hi: number;
}

/** The signature of the function built so far. */
export interface StackState {
  args: Arg[];
  out: AType;
}

const MAX_OUT = 1500;
const MAX_ARG = 64;
/** Tangents and cotangents: any values, they never enter a nonlinear op. */
const free = (shape: number[]): Arg => ({ shape, lo: -1, hi: 1 });

function mapType(t: AType, f: (s: number[], j: number) => AType): AType {
  let j = 0;
  const go = (u: AType): AType =>
    Array.isArray(u) ? u.map(go) : f(u.shape, j++);
  return go(t);
}

const validArgnums = (a: Argnums, n: number) =>
  (typeof a === "number" ? [a] : a).every((i) =>
    Number.isInteger(i) && i >= 0 && i < n
  ) &&
  (typeof a === "number" || (a.length > 0 && new Set(a).size === a.length));

const inRange = (d: number, rank: number) => d >= -(rank + 1) && d <= rank;

/**
 * The signature after layer `L`, or null when `L` does not apply (argnums or
 * dims out of range, grad of a non-scalar). Deterministic: the shrinker
 * re-types stacks with it.
 */
export function typeLayer(L: Layer, st: StackState): StackState | null {
  const { args, out } = st;
  const leaves = atLeaves(out);
  switch (L.t) {
    case "scalarize":
      return { args, out: L.aux ? [{ shape: [] }, out] : { shape: [] } };
    case "grad": {
      if (!validArgnums(L.argnums, args.length)) return null;
      // With hasAux the function returns [scalar, aux].
      const main = L.hasAux ? (Array.isArray(out) ? out[0] : null) : out;
      if (main === null || main === undefined || Array.isArray(main)) {
        return null;
      }
      if (main.shape.length !== 0) return null;
      if (L.hasAux && (!Array.isArray(out) || out.length !== 2)) return null;
      const aux = L.hasAux ? (out as AType[])[1] : null;
      const g: AType = typeof L.argnums === "number"
        ? { shape: args[L.argnums].shape }
        : L.argnums.map((i) => ({ shape: args[i].shape }));
      const v: AType = aux === null ? { shape: [] } : [{ shape: [] }, aux];
      return {
        args,
        out: L.value ? [v, g] : aux === null ? g : [g, aux],
      };
    }
    case "jacrev":
    case "jacfwd":
    case "hessian": {
      const an = L.argnums;
      if (!validArgnums(an, args.length)) return null;
      const A = (s: number[], i: number) => [...s, ...args[i].shape];
      const per = (s: number[], f: (s: number[], i: number) => AType): AType =>
        typeof an === "number" ? f(s, an) : an.map((i) => f(s, i));
      return {
        args,
        out: mapType(
          out,
          (s) =>
            L.t === "hessian"
              ? per(
                s,
                (s1, i) => per(A(s1, i), (s2, j) => ({ shape: A(s2, j) })),
              )
              : per(s, (s1, i) => ({ shape: A(s1, i) })),
        ),
      };
    }
    case "jvp":
      return {
        args: [...args, ...args.map((a) => free(a.shape))],
        out: [out, out],
      };
    case "linearize":
      return {
        args: [...args, ...args.map((a) => free(a.shape))],
        out: L.withValue ? [out, out] : out,
      };
    case "vjp": {
      if (L.nPrimals !== args.length) return null;
      const cts: AType = args.map((a) => ({ shape: a.shape }));
      return {
        args: [...args, ...leaves.map(free)],
        out: L.withValue ? [out, cts] : cts,
      };
    }
    case "vmap": {
      const dims = typeof L.inDims === "number"
        ? args.map(() => L.inDims as number)
        : L.inDims;
      if (dims.length !== args.length || dims.every((d) => d === null)) {
        return null;
      }
      if (
        dims.some((d, k) => d !== null && !inRange(d, args[k].shape.length))
      ) {
        return null;
      }
      const outDims = L.outDims;
      if (typeof outDims !== "number" && outDims.length !== leaves.length) {
        return null;
      }
      const od = (j: number) =>
        typeof outDims === "number" ? outDims : outDims[j];
      if (leaves.some((s, j) => !inRange(od(j), s.length))) return null;
      const insert = (s: number[], d: number) => {
        const shape = [...s];
        shape.splice(norm(d, s.length + 1), 0, L.batch);
        return shape;
      };
      return {
        args: args.map((a, k) =>
          dims[k] === null ? a : { ...a, shape: insert(a.shape, dims[k]!) }
        ),
        out: mapType(out, (s, j) => ({ shape: insert(s, od(j)) })),
      };
    }
    case "jit":
      return st;
  }
}

function pickArgnums(rng: Rng, n: number): Argnums {
  if (n === 1 || rng.chance(0.65)) return rng.int(0, n - 1);
  const all = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const picked = all.slice(0, rng.int(1, Math.min(2, n)));
  return rng.chance(0.6) ? picked.sort((a, b) => a - b) : picked;
}

/** Random parameters for a layer of kind `kind` on `st` (with a scalarize adapter before grad when needed). */
function chooseLayer(rng: Rng, kind: Layer["t"], st: StackState): Layer[] {
  const { args, out } = st;
  const leaves = atLeaves(out);
  switch (kind) {
    case "grad": {
      const scalarOut = !Array.isArray(out) && out.shape.length === 0;
      const hasAux = rng.chance(0.15);
      const pre: Layer[] = [];
      if (!scalarOut || hasAux) {
        const kind: ScalarizeKind = rng.pick(["sum", "sin", "square"] as const);
        pre.push({ t: "scalarize", kind, aux: hasAux });
      }
      return [...pre, {
        t: "grad",
        argnums: pickArgnums(rng, args.length),
        value: rng.chance(0.2),
        hasAux,
      }];
    }
    case "jacrev":
    case "jacfwd":
    case "hessian":
      return [{
        t: kind,
        argnums: pickArgnums(rng, args.length),
        chunkSize: rng.chance(0.3) ? rng.int(1, 3) : null,
      }];
    case "jvp":
      return [{ t: "jvp" }];
    case "linearize":
      return [{ t: "linearize", withValue: rng.chance(0.4) }];
    case "vjp":
      return [{
        t: "vjp",
        withValue: rng.chance(0.3),
        nPrimals: args.length,
      }];
    case "vmap": {
      const batch = rng.pick([1, 2, 2, 3, 3]);
      const dims = args.map((a): number | null =>
        rng.chance(0.7) ? rng.int(-(a.shape.length + 1), a.shape.length) : null
      );
      if (!dims.some((d) => d !== null)) {
        const k = rng.int(0, args.length - 1);
        dims[k] = rng.int(0, args[k].shape.length);
      }
      const inDims = rng.chance(0.15)
        ? rng.int(0, Math.min(...args.map((a) => a.shape.length)))
        : dims;
      const minRank = Math.min(...leaves.map((s) => s.length));
      const mode = rng.int(0, 9);
      const outDims = mode < 6
        ? 0
        : mode < 8
        ? rng.int(-(minRank + 1), minRank)
        : leaves.map((s) => rng.int(-(s.length + 1), s.length));
      const chunkSize = batch > 1 && rng.chance(0.35)
        ? rng.int(1, batch - 1)
        : null;
      return [{ t: "vmap", inDims, outDims, chunkSize, batch }];
    }
    case "jit":
    case "scalarize":
      return [{ t: "jit" }];
  }
}

/** Signature after all of `layers`, or null when one does not apply or sizes grow past the limits. */
export function typeStack(st: StackState, layers: Layer[]): StackState | null {
  let s: StackState | null = st;
  for (const L of layers) {
    s = typeLayer(L, s);
    if (s === null || !withinLimits(s)) return null;
  }
  return s;
}

function withinLimits(s: StackState): boolean {
  const outSize = atLeaves(s.out).reduce((t, sh) => t + sizeOf(sh), 0);
  return outSize <= MAX_OUT && s.args.length <= 8 &&
    s.args.every((a) => sizeOf(a.shape) <= MAX_ARG);
}

/** Two sets of argument values drawn from the arguments' intervals. */
export function drawInputs(rng: Rng, args: Arg[]): [number[][], number[][]] {
  return [0, 1].map(() =>
    args.map((a) =>
      Array.from({ length: sizeOf(a.shape) }, () => rng.value(a.lo, a.hi))
    )
  ) as [number[][], number[][]];
}

/** The program's own signature: its inputs with their intervals, and its output. */
export function baseState(
  c: Pick<Case, "program" | "inputShapes" | "inputRanges">,
  out: AType,
): StackState {
  return {
    args: c.inputShapes.map((shape, k) => ({
      shape,
      lo: c.inputRanges[k][0],
      hi: c.inputRanges[k][1],
    })),
    out,
  };
}

/** Case `index` of `seed`: a program, a stack of 1-3 transforms, two input sets. */
export function genCase(seed: number, index: number): Case {
  const rng = new Rng(seed, index);
  for (;;) {
    const { program, b, outType } = genProgram(rng);
    let st = baseState({
      program,
      inputShapes: b.inputShapes,
      inputRanges: b.inputRanges,
    }, outType);
    const depth = Number(
      rng.weighted({ 1: 3, 2: 4.5, 3: 2.5 } as Record<string, number>),
    );
    const layers: Layer[] = [];
    for (let made = 0, tries = 0; made < depth && tries < 30; tries++) {
      const kind = rng.weighted({
        grad: 14,
        jacrev: 11,
        jacfwd: 11,
        hessian: 6,
        jvp: 9,
        vjp: 9,
        linearize: 4,
        vmap: 22,
        jit: 13,
      });
      const ls = chooseLayer(rng, kind, st);
      const next = typeStack(st, ls);
      if (next === null) continue;
      layers.push(...ls);
      st = next;
      made++;
    }
    if (layers.length === 0) continue;
    return {
      seed,
      index,
      program,
      inputShapes: b.inputShapes,
      inputRanges: b.inputRanges,
      captured: b.captured,
      layers,
      argShapes: st.args.map((a) => a.shape),
      outType: st.out,
      inputs: drawInputs(rng, st.args),
    };
  }
}
