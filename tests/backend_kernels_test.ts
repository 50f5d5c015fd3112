// The kernels, each through the primitive that launches it (its lowering
// and the WebAssembly executor), checked against plain JavaScript; and the
// kernel wrappers used outside the primitives (copyStrided, fill, cast,
// random).
import assert from "node:assert/strict";
import {
  allocate,
  fromArray,
  readElement,
  type Storage,
  toTypedArray,
} from "../src/backend/storage.ts";
import {
  cast,
  copyStrided,
  fill,
  randomNormal,
  randomUniform,
} from "../src/backend/kernels.ts";
import { runEager } from "../src/core/executor.ts";
import type {
  BinaryPrim as BinaryOp,
  Prim,
  PrimParams,
  ReducePrim as ReduceOp,
  UnaryPrim as UnaryOp,
} from "../src/core/primitives.ts";
import { Tensor } from "../src/core/tensor.ts";
import { bind } from "../src/core/trace.ts";
import { erfRef } from "./_helpers.ts";

/**
 * Runs primitive `p` on storages of the given shapes and checks the result
 * is `shape`: through `bind` (shape rule, then lowering), or with `direct`
 * through the lowering alone. That is the kernels' contract below the
 * shape rules, which reject some of it: int32 arithmetic (the public ops
 * are float-only; the lowering runs it through float64 kernels), and
 * max/min over an empty dimension (the kernels give the identity).
 */
function run<P extends Prim>(
  p: P,
  args: [Storage, readonly number[]][],
  params: PrimParams[P],
  shape: readonly number[],
  direct = false,
): Storage {
  const ts = args.map(([s, sh]) => Tensor._fromStorage(s, sh, s.dtype));
  if (direct) return runEager(p, ts, params, { shape, dtype: ts[0].dtype });
  const t = bind(p, ts, params);
  assert.deepEqual(t.shape, shape);
  return t._storage!;
}

const unary = (op: UnaryOp, x: Storage) =>
  run(op, [[x, [x.length]]], null, [x.length]);
const binary = (
  op: BinaryOp,
  a: Storage,
  aShape: readonly number[],
  b: Storage,
  bShape: readonly number[],
  outShape: readonly number[],
) =>
  run(
    op,
    [[a, aShape], [b, bShape]],
    null,
    outShape,
    a.dtype === "int32",
  );
const where = (
  c: Storage,
  cShape: readonly number[],
  a: Storage,
  aShape: readonly number[],
  b: Storage,
  bShape: readonly number[],
  outShape: readonly number[],
) => run("where", [[c, cShape], [a, aShape], [b, bShape]], null, outShape);
const reduce = (
  op: ReduceOp,
  x: Storage,
  shape: readonly number[],
  axes: number[],
) =>
  run(
    op,
    [[x, shape]],
    { axes },
    shape.filter((_, d) => !axes.includes(d)),
    true,
  );
const argReduce = (
  op: "argmax" | "argmin",
  x: Storage,
  shape: readonly number[],
  axis: number,
) => run(op, [[x, shape]], { axis }, shape.filter((_, d) => d !== axis));
const indexSelect = (
  x: Storage,
  shape: readonly number[],
  axis: number,
  index: Storage,
) =>
  run(
    "indexSelect",
    [[x, shape], [index, [index.length]]],
    { axis },
    shape.map((d, i) => (i === axis ? index.length : d)),
  );
const indexAdd = (
  outShape: readonly number[],
  axis: number,
  index: Storage,
  src: Storage,
) =>
  run(
    "indexAdd",
    [
      [src, outShape.map((d, i) => (i === axis ? index.length : d))],
      [index, [index.length]],
    ],
    { axis, size: outShape[axis] },
    outShape,
  );
/** `a` is `[batch, m, k]` (`[batch, k, m]` if transposed); `b` likewise, without the batch dim when its batch stride is 0. */
const matmul = (
  a: Storage,
  b: Storage,
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  _aBatchStride: number,
  bBatchStride: number,
) =>
  run(
    "matmul",
    [
      [a, [batch, ...(transA ? [k, m] : [m, k])]],
      [b, [...(bBatchStride ? [batch] : []), ...(transB ? [n, k] : [k, n])]],
    ],
    { transA, transB },
    [batch, m, n],
  );

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const arr = (s: Storage) => Array.from(toTypedArray(s));

function data(n: number, seed = 1): number[] {
  let s = seed * 2654435761 % 4294967296 + 7;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) % 4294967296;
    out.push(Math.round((s / 4294967296 * 4 - 2) * 1000) / 1000);
  }
  return out;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Flat index into `shape` of an out-index broadcast from `out`. */
function bindex(idx: number[], shape: readonly number[]): number {
  const off = idx.length - shape.length;
  let f = 0;
  for (let d = 0; d < shape.length; d++) {
    f = f * shape[d] + (shape[d] === 1 ? 0 : idx[d + off]);
  }
  return f;
}

function close(got: number, want: number, tol: number): boolean {
  return (Number.isNaN(got) && Number.isNaN(want)) || got === want ||
    Math.abs(got - want) <= tol * (1 + Math.abs(want));
}

function assertClose(got: number[], want: number[], tol: number, msg = "") {
  assert.equal(got.length, want.length, `${msg}: length`);
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      close(got[i], want[i], tol),
      `${msg}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

/** erfinv by bisection on erfRef. */
function erfinvRef(y: number): number {
  if (!(Math.abs(y) <= 1)) return NaN;
  if (Math.abs(y) === 1) return y * Infinity;
  let lo = -6, hi = 6;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (erfRef(mid) < y) lo = mid;
    else hi = mid;
  }
  return y === 0 ? y : (lo + hi) / 2;
}

/** ln|Γ(x)|: a sum of logs up to 12, Stirling's series there; reflection below 1/2. */
function lgammaRef(x: number): number {
  if (Number.isNaN(x)) return x;
  if (!Number.isFinite(x) || (x <= 0 && Number.isInteger(x))) return Infinity;
  if (x < 0.5) {
    const r = x - Math.round(x); // sin(π x) = ±sin(π r), exactly reduced
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * r))) -
      lgammaRef(1 - x);
  }
  let z = x, logs = 0;
  for (; z < 12; z++) logs += Math.log(z);
  const s = 1 / (12 * z) - 1 / (360 * z ** 3) + 1 / (1260 * z ** 5) -
    1 / (1680 * z ** 7) + 1 / (1188 * z ** 9) - 691 / (360360 * z ** 11) +
    1 / (156 * z ** 13);
  return (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + s - logs;
}

/** ψ(x): recurrence up to 30, asymptotic series there; reflection below 0. */
function digammaRef(x: number): number {
  if (Number.isNaN(x) || x === -Infinity) return NaN;
  if (x === 0) return Object.is(x, -0) ? Infinity : -Infinity;
  if (x < 0) {
    if (Number.isInteger(x)) return NaN;
    return digammaRef(1 - x) -
      Math.PI / Math.tan(Math.PI * (x - Math.round(x)));
  }
  let z = x, acc = 0;
  for (; z < 30; z++) acc -= 1 / z;
  const r2 = 1 / (z * z);
  return acc + Math.log(z) - 0.5 / z -
    r2 * (1 / 12 - r2 * (1 / 120 - r2 * (1 / 252 - r2 / 240)));
}

/** ψ⁽ⁿ⁾(x) = (-1)^(n+1) n! Σₖ (x+k)^-(n+1): 2000 terms, then Euler-Maclaurin. */
function polygammaRef(n: number, x: number): number {
  if (!Number.isInteger(n) || n < 0 || Number.isNaN(x)) return NaN;
  if (n === 0) return digammaRef(x);
  if (x <= 0 && Number.isInteger(x)) return n % 2 === 1 ? Infinity : NaN;
  let fact = 1;
  for (let i = 2; i <= n; i++) fact *= i;
  let z = x, s = 0;
  for (let k = 0; k < 2000; k++, z++) s += z ** -(n + 1);
  s += z ** -n / n + z ** -(n + 1) / 2 + (n + 1) * z ** -(n + 2) / 12;
  return (n % 2 === 1 ? 1 : -1) * fact * s;
}

/** Nearest integer, ties to even (Math.round rounds ties up). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const UNARY_REF: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => Number.isNaN(x) ? x : Math.max(x, 0),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sign: (x) => x > 0 ? 1 : x < 0 ? -1 : x,
  log1p: Math.log1p,
  expm1: Math.expm1,
  log2: Math.log2,
  log10: Math.log10,
  exp2: (x) => 2 ** x,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  trunc: Math.trunc,
  erf: erfRef,
  erfc: (x) => 1 - erfRef(x),
  erfinv: erfinvRef,
  lgamma: lgammaRef,
  digamma: digammaRef,
  isnan: (x) => +Number.isNaN(x),
  isfinite: (x) => +Number.isFinite(x),
};

Deno.test("unary() matches Math for every op in float32 and float64", () => {
  const xs = [...data(41), 0, -0, NaN, Infinity, -Infinity, 1e-3, 30, -30];
  for (const op of Object.keys(UNARY_REF) as UnaryOp[]) {
    for (const dtype of ["float32", "float64"] as const) {
      const x = fromArray(dtype, xs);
      const src = arr(x);
      const want = src.map(UNARY_REF[op]).map((v) =>
        dtype === "float32" ? Math.fround(v) : v
      );
      assertClose(
        arr(unary(op, x)),
        want,
        dtype === "float32" ? 2e-6 : 1e-14,
        `${op} ${dtype}`,
      );
    }
  }
  assert.equal(unary("exp", fromArray("float32", [])).length, 0);
  assert.throws(() => unary("exp", fromArray("int32", [1])), TypeError);
  // Below the public ops, the lowering runs int32 through float64 kernels.
  const x = Tensor._fromStorage(fromArray("int32", [3, -4]), [2], "int32");
  const neg = runEager("neg", [x], null, { shape: [2], dtype: "int32" });
  assert.deepEqual(arr(neg), [-3, 4]);
});

const BIN_REF: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b),
  minimum: (a, b) => Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b),
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  polygamma: polygammaRef,
  atan2: Math.atan2,
  fmod: (a, b) => a % b,
  remainder: (a, b) => {
    const r = a % b;
    return r === 0 ? (b < 0 ? -0 : 0) : (r < 0) !== (b < 0) ? r + b : r;
  },
  hypot: Math.hypot,
};

Deno.test("binary() broadcasts like numpy for every op, rank 0 and zero-size included", () => {
  const cases: [number[], number[], number[]][] = [
    [[7], [7], [7]],
    [[2, 3, 5], [5], [2, 3, 5]],
    [[2, 1, 5], [3, 1], [2, 3, 5]],
    [[], [4, 9], [4, 9]],
    [[4, 9], [1], [4, 9]],
    [[], [], []],
    [[3, 0], [1], [3, 0]],
    [[13, 1], [1, 17], [13, 17]],
    [[1, 6], [6], [1, 6]],
  ];
  for (const [sa, sb, so] of cases) {
    for (const dtype of ["float32", "float64"] as const) {
      const av = data(size(sa), 2), bv = data(size(sb), 3);
      if (av.length > 2) av[1] = NaN;
      if (bv.length > 3) bv[3] = av[0];
      const a = fromArray(dtype, av), b = fromArray(dtype, bv);
      const ar = arr(a), br = arr(b);
      for (const op of Object.keys(BIN_REF) as BinaryOp[]) {
        const out = binary(op, a, sa, b, sb, so);
        const want = Array.from({ length: size(so) }, (_, i) => {
          const idx = unravel(i, so);
          const v = BIN_REF[op](ar[bindex(idx, sa)], br[bindex(idx, sb)]);
          return dtype === "float32" ? Math.fround(v) : v;
        });
        assertClose(
          arr(out),
          want,
          dtype === "float32" ? 1e-6 : 1e-15,
          `${op} ${sa}|${sb} ${dtype}`,
        );
      }
    }
  }
});

Deno.test("binary() on int32 goes through float64 and returns int32", () => {
  const a = fromArray("int32", [1, 2, 3]), b = fromArray("int32", [3]);
  const c = binary("mul", a, [3], b, [], [3]);
  assert.equal(c.dtype, "int32");
  assert.deepEqual(arr(c), [3, 6, 9]);
});

Deno.test("kernels are never reached with mixed dtypes or disposed storages", () => {
  const a = fromArray("float32", [1, 2]), b = fromArray("float64", [1, 2]);
  assert.throws(() => binary("add", a, [2], b, [2], [2]), /mixed dtypes/);
  assert.throws(
    () => matmul(a, b, 1, 1, 1, 2, false, false, 0, 0),
    /mixed dtypes/,
  );
  const d = fromArray("float32", [1, 2]);
  d.dispose();
  assert.equal(d.disposed, true);
  d.dispose();
  for (
    const f of [
      () => unary("exp", d),
      () => binary("add", a, [2], d, [2], [2]),
      () => reduce("sum", d, [2], [0]),
      () => copyStrided(d, 0, [2], [1]),
      () => toTypedArray(d),
      () => readElement(d, 0),
      () => cast(d, "float64"),
      () => matmul(d, a, 1, 1, 1, 2, false, false, 0, 0),
    ]
  ) {
    assert.throws(f, /tensor was disposed/);
  }
});

Deno.test("where() picks a where cond != 0, all three broadcast", () => {
  for (const dtype of ["float32", "float64", "int32"] as const) {
    const cond = fromArray("float64", [1, 0, 0, 2]);
    const a = fromArray(dtype, data(12, 4).map((v) => Math.round(v * 10)));
    const b = fromArray(dtype, [9]);
    const out = where(cond, [4], a, [3, 4], b, [], [3, 4]);
    assert.equal(out.dtype, dtype);
    const av = arr(a);
    assert.deepEqual(arr(out), av.map((v, i) => [1, 0, 0, 2][i % 4] ? v : 9));
  }
  const s = where(
    fromArray("int32", [0]),
    [],
    fromArray("float32", [1]),
    [],
    fromArray("float32", [2]),
    [],
    [],
  );
  assert.deepEqual(arr(s), [2]);
});

function reduceRef(
  op: ReduceOp,
  x: number[],
  shape: number[],
  axes: number[],
): number[] {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const n = size(kept.map((d) => shape[d]));
  const init = { sum: 0, prod: 1, max: -Infinity, min: Infinity }[op];
  const out = new Array(n).fill(init);
  x.forEach((v, i) => {
    const idx = unravel(i, shape);
    let o = 0;
    for (const d of kept) o = o * shape[d] + idx[d];
    out[o] = op === "sum"
      ? out[o] + v
      : op === "prod"
      ? out[o] * v
      : Number.isNaN(v) || Number.isNaN(out[o])
      ? NaN
      : op === "max"
      ? Math.max(out[o], v)
      : Math.min(out[o], v);
  });
  return out;
}

Deno.test("reduce() over any axes, empty extents give the identity", () => {
  const cases: [number[], number[]][] = [
    [[100], [0]],
    [[5, 40], [0]],
    [[5, 40], [1]],
    [[3, 4, 20], [0, 2]],
    [[3, 4, 20], [1]],
    [[3, 4, 20], [0, 1, 2]],
    [[3, 4, 20], []],
    [[], []],
    [[4, 0, 3], [1]],
    [[4, 0, 3], [0]],
    [[0], [0]],
  ];
  for (const [shape, axes] of cases) {
    for (const dtype of ["float32", "float64", "int32"] as const) {
      const xv = data(size(shape), 5).map((v) =>
        dtype === "int32" ? Math.round(v * 3) : v * 0.5 + 1
      );
      const x = fromArray(dtype, xv);
      for (const op of ["sum", "prod", "max", "min"] as const) {
        const out = reduce(op, x, shape, axes);
        assert.equal(out.dtype, dtype);
        let want = reduceRef(op, arr(x), shape, axes);
        if (dtype === "int32") {
          // int32 sums and products wrap (the reference's are exact
          // integers in float64); an empty max/min gives the int32 extreme.
          want = want.map((v) =>
            Number.isFinite(v)
              ? Number(BigInt.asIntN(32, BigInt(v)))
              : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, v))
          );
        }
        assertClose(
          arr(out),
          want,
          dtype === "float32" ? 1e-5 : 1e-12,
          `${op} ${shape} ${axes} ${dtype}`,
        );
      }
    }
  }
  assert.ok(
    Number.isNaN(
      arr(reduce("max", fromArray("float32", [1, NaN, 3]), [3], [0]))[0],
    ),
  );
});

Deno.test("argReduce() returns int32 first occurrences with the axis removed", () => {
  const x = fromArray("float32", [1, 5, 5, -2, 0, -2]);
  assert.deepEqual(arr(argReduce("argmax", x, [2, 3], 1)), [1, 1]);
  assert.deepEqual(arr(argReduce("argmin", x, [2, 3], 1)), [0, 0]);
  assert.deepEqual(arr(argReduce("argmax", x, [2, 3], 0)), [0, 0, 0]);
  assert.deepEqual(arr(argReduce("argmin", x, [2, 3], 0)), [1, 1, 1]);
  assert.equal(argReduce("argmax", x, [6], 0).dtype, "int32");
  assert.deepEqual(arr(argReduce("argmax", fromArray("float64", [7]), [], 0)), [
    0,
  ]);
  assert.throws(
    () => argReduce("argmax", fromArray("float32", []), [2, 0], 1),
    RangeError,
  );
  assert.deepEqual(
    arr(argReduce("argmax", fromArray("float32", []), [0, 3], 1)),
    [],
  );
});

Deno.test("copyStrided() materialises transposes, flips, expands and slices for every dtype", () => {
  const base = Array.from({ length: 20 * 33 }, (_, i) => i);
  const cases: [number, number[], number[]][] = [
    [0, [33, 20], [1, 33]],
    [20 * 33 - 1, [20, 33], [-33, -1]],
    [5, [4, 3, 7], [0, 33, 1]],
    [7, [], []],
    [2, [3, 0], [1, 1]],
    [0, [2, 2, 2, 2], [66, 1, 33, 2]],
    [40, [5], [-8]],
  ];
  for (const dtype of ["float32", "float64", "int32"] as const) {
    const x = fromArray(dtype, base);
    for (const [off, shape, st] of cases) {
      const out = copyStrided(x, off, shape, st);
      const want = Array.from({ length: size(shape) }, (_, i) => {
        const idx = unravel(i, shape);
        return base[off + idx.reduce((s, v, d) => s + v * st[d], 0)];
      });
      assert.deepEqual(arr(out), want, `${dtype} ${shape} ${st}`);
    }
  }
});

Deno.test("pad and cat scatter contiguous blocks into strided destinations for every dtype", () => {
  for (const dtype of ["float32", "float64", "int32"] as const) {
    const x = fromArray(dtype, [0, 1, 2, 3, 4, 5]);
    const pad = (shape: number[], start: number[], step: number[]) =>
      arr(run("pad", [[x, [2, 3]]], { start, step, shape }, shape));
    // [2, 3] at row 1, column 2 of [4, 5].
    const d = pad([4, 5], [1, 2], [1, 1]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        assert.equal(d[(1 + i) * 5 + 2 + j], i * 3 + j);
      }
    }
    assert.equal(d.reduce((a, b) => a + b), 15);
    // Every other row and column of [3, 5].
    assert.deepEqual(
      pad([3, 5], [0, 0], [2, 2]),
      [0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 5],
    );
    const one = fromArray(dtype, [8]);
    assert.deepEqual(
      arr(run("pad", [[one, []]], { start: [], step: [], shape: [] }, [])),
      [8],
    );
    const empty = fromArray(dtype, []);
    assert.deepEqual(
      arr(
        run("pad", [[empty, [0, 3]]], {
          start: [0, 0],
          step: [1, 1],
          shape: [2, 3],
        }, [2, 3]),
      ),
      [0, 0, 0, 0, 0, 0],
    );
    const c = run(
      "cat",
      [[fromArray(dtype, [1, 2]), [2, 1]], [empty, [2, 0]], [x, [2, 3]]],
      { axis: 1 },
      [2, 4],
    );
    assert.deepEqual(arr(c), [1, 0, 1, 2, 2, 3, 4, 5]);
    assert.equal(c.dtype, dtype);
  }
});

Deno.test("fill() and cast() cover all dtypes; float → int truncates toward zero", () => {
  assert.deepEqual(arr(fill("float32", 3, 1.5)), [1.5, 1.5, 1.5]);
  assert.deepEqual(arr(fill("int32", 2, -2.7)), [-2, -2]);
  assert.equal(fill("float64", 0, 1).length, 0);
  const x = fromArray("float64", [1.7, -1.7, 0.5, -0.5]);
  assert.deepEqual(arr(cast(x, "int32")), [1, -1, 0, 0]);
  assert.deepEqual(
    arr(cast(cast(x, "float32"), "float64")),
    [1.7, -1.7, 0.5, -0.5].map(Math.fround),
  );
  assert.deepEqual(arr(cast(fromArray("int32", [3, -4]), "float32")), [3, -4]);
  const same = cast(x, "float64");
  assert.notEqual(same, x);
  assert.deepEqual(arr(same), arr(x));
});

Deno.test("indexSelect() gathers along an axis and throws RangeError naming the index and size", () => {
  for (const dtype of ["float32", "float64", "int32"] as const) {
    const x = fromArray(dtype, Array.from({ length: 12 }, (_, i) => i));
    const out = indexSelect(x, [2, 3, 2], 1, fromArray("int32", [2, 0, 2, 1]));
    assert.deepEqual(arr(out), [
      4,
      5,
      0,
      1,
      4,
      5,
      2,
      3,
      10,
      11,
      6,
      7,
      10,
      11,
      8,
      9,
    ]);
    assert.throws(
      () => indexSelect(x, [2, 3, 2], 1, fromArray("int32", [0, 3])),
      (e: Error) =>
        e instanceof RangeError && /index 3/.test(e.message) &&
        /size 3/.test(e.message),
    );
    assert.throws(
      () => indexSelect(x, [12], 0, fromArray("int32", [-1])),
      /index -1/,
    );
    assert.equal(indexSelect(x, [12], 0, fromArray("int32", [])).length, 0);
  }
  assert.throws(
    () =>
      indexSelect(fromArray("float32", [1]), [1], 0, fromArray("float32", [0])),
    TypeError,
  );
});

Deno.test("indexAdd() accumulates into zeros and range-checks", () => {
  const src = fromArray("float64", [1, 2, 3, 4, 10, 20, 30, 40]);
  const out = indexAdd([2, 3], 1, fromArray("int32", [2, 0, 2, 1]), src);
  assert.deepEqual(arr(out), [2, 4, 4, 20, 40, 40]);
  assert.throws(
    () => indexAdd([3], 0, fromArray("int32", [5]), fromArray("float32", [1])),
    /index 5.*size 3/,
  );
  assert.deepEqual(
    arr(
      indexAdd([2], 0, fromArray("int32", [1, 1]), fromArray("int32", [3, 4])),
    ),
    [0, 7],
  );
});

function matmulRef(
  a: number[],
  b: number[],
  batch: number,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
  sa: number,
  sb: number,
): number[] {
  const c: number[] = [];
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          s += a[bi * sa + (ta ? p * m + i : i * k + p)] *
            b[bi * sb + (tb ? j * k + p : p * n + j)];
        }
        c.push(s);
      }
    }
  }
  return c;
}

Deno.test("matmul() handles batches, transposes, broadcast strides and edge sizes", () => {
  const dims: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [2, 3, 5, 7],
    [3, 13, 17, 9],
    [1, 70, 30, 300],
    [2, 1, 20, 5],
    [2, 20, 1, 5],
    [1, 0, 3, 2],
    [1, 3, 4, 0],
    [0, 3, 3, 3],
  ];
  for (const [batch, m, n, k] of dims) {
    for (const dtype of ["float32", "float64"] as const) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const bcast of [false, true]) {
            const av = data(batch * m * k, 6),
              bv = data((bcast ? 1 : batch) * k * n, 7);
            const a = fromArray(dtype, av), b = fromArray(dtype, bv);
            const sb = bcast ? 0 : k * n;
            const out = matmul(a, b, batch, m, n, k, ta, tb, m * k, sb);
            const want = matmulRef(
              arr(a),
              arr(b),
              batch,
              m,
              n,
              k,
              ta,
              tb,
              m * k,
              sb,
            );
            assertClose(
              arr(out),
              want,
              dtype === "float32" ? 1e-5 * (k + 1) : 1e-13,
              `${batch}x${m}x${n}x${k} ${ta} ${tb} ${dtype}`,
            );
          }
        }
      }
    }
  }
});

Deno.test("randomUniform()/randomNormal() are reproducible, chunk-independent and finite", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const u = arr(randomUniform(dtype, 10000, 42, 0));
    assert.ok(u.every((v) => v >= 0 && v < 1));
    const mean = u.reduce((a, b) => a + b) / u.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `${mean}`);
    assert.deepEqual(arr(randomUniform(dtype, 10000, 42, 0)), u);
    assert.deepEqual(arr(randomUniform(dtype, 100, 42, 9900)), u.slice(9900));
    assert.notDeepEqual(arr(randomUniform(dtype, 100, 43, 0)), u.slice(0, 100));
    const z = arr(randomNormal(dtype, 20000, 2 ** 40 + 3, 2 ** 33));
    assert.ok(z.every(Number.isFinite));
    const zm = z.reduce((a, b) => a + b) / z.length;
    const zv = z.reduce((a, b) => a + (b - zm) ** 2, 0) / z.length;
    assert.ok(Math.abs(zm) < 0.03 && Math.abs(zv - 1) < 0.04, `${zm} ${zv}`);
    assert.deepEqual(
      arr(randomNormal(dtype, 10, 2 ** 40 + 3, 2 ** 33 + 5)),
      z.slice(5, 15),
    );
    assert.equal(randomNormal(dtype, 0, 1, 0).length, 0);
  }
  assert.throws(() => randomUniform("float32", 1, -1, 0), RangeError);
});

Deno.test("storage views are refreshed after memory growth", () => {
  const s = fromArray("float64", [1, 2, 3]);
  const big = allocate("float32", 1 << 23); // 32 MiB: grows memory
  assert.deepEqual(arr(s), [1, 2, 3]);
  assert.equal(readElement(s, 2), 3);
  big.dispose();
  assert.throws(() => readElement(s, 3), RangeError);
  assert.ok(allocate("float32", 0).ptr > 0);
});
