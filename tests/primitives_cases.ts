/**
 * The primitive test table (as PyTorch's OpInfo): every primitive through
 * its public op, with input generators that keep away from kinks and poles.
 * `primitives_numeric_test.ts` runs every case through jvp (against central
 * differences), vjp (the ⟨J t, c⟩ = ⟨t, Jᵀ c⟩ identity), second order and
 * vmap; `primitives_rules_test.ts` checks that the cases cover every
 * primitive and that `prims` is what each case really binds.
 * @module
 */
import {
  cat,
  cond,
  div,
  dot,
  eye,
  linalg,
  linear,
  matmul,
  maximum,
  minimum,
  outer,
  pow,
  random,
  scan,
  stack,
  sub,
  type Tensor,
  where,
  whileLoop,
} from "../mod.ts";
import { bind } from "../src/core/trace.ts";
import type { Prim } from "../src/core/primitives.ts";
import {
  awayFromZero,
  fromGen,
  indicesT,
  maskT,
  randnT,
  Rng,
  uniformT,
} from "./_helpers.ts";
import { convCases } from "./conv_cases.ts";

/** One row of the table. */
export interface OpCase {
  /** The public symbol and the variant, e.g. "add() broadcast [3, 1] + [4]". */
  readonly name: string;
  /** Primitives the forward pass binds (checked against a recording). */
  readonly prims: readonly Prim[];
  readonly fn: (...xs: Tensor[]) => Tensor;
  /** Fresh arguments: the same shapes on every call, new values. */
  readonly args: (rng: Rng) => Tensor[];
  /** Arguments that are data, not differentiated (conditions); int32 ones always are. */
  readonly constArgs?: readonly number[];
  /** Integer output: only the vmap checks apply. */
  readonly noGrad?: boolean;
  /** The function finite differences see, when `fn` uses detach (given the base point). */
  readonly fdRef?: (base: Tensor[]) => (...xs: Tensor[]) => Tensor;
  /** Finite-difference step (default 1e-6) and tolerances (fd: 1e-6, exact: 1e-10). */
  readonly fdStep?: number;
  readonly tol?: { readonly fd?: number; readonly exact?: number };
  /** At a kink (ties): the gradient jumps, so no second-order difference check. */
  readonly firstOrderOnly?: boolean;
}

/**
 * Primitives with a known failing check, and why. Kept in one place; it is
 * the expected-failure list of the coverage map. Empty: every primitive
 * passes every check that applies to it.
 */
export const EXPECTED_FAILURES: Readonly<Partial<Record<Prim, string>>> = {
  while:
    "reverse mode of whileLoop is unsupported, as in JAX (its transpose throws); forward mode is checked in tests/control_flow_test.ts",
};

// Shapes drawn once from a seeded generator, so the table is reproducible.
const shapes = new Rng(20240611);

const f64 = (shape: readonly number[]) => (rng: Rng) => [randnT(rng, shape)];
const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

/** Values `c + k ± 0.35` for integers k in [-3, 3]: `c = 0.5` stays 0.15 away from the jumps of floor/ceil/trunc, `c = 0` from those of round. */
const offInteger = (r: Rng, s: number[], c: number) =>
  fromGen(s, () => r.int(-3, 3) + c + r.uniform(-0.35, 0.35));

type Unary = (x: Tensor) => Tensor;
const UNARY: [Prim, Unary, (rng: Rng, s: number[]) => Tensor][] = [
  ["neg", (x) => x.neg(), randnT],
  ["abs", (x) => x.abs(), (r, s) => awayFromZero(r, s)],
  ["exp", (x) => x.exp(), randnT],
  ["log", (x) => x.log(), (r, s) => uniformT(r, s, 0.3, 2)],
  ["sqrt", (x) => x.sqrt(), (r, s) => uniformT(r, s, 0.3, 2)],
  ["sin", (x) => x.sin(), randnT],
  ["cos", (x) => x.cos(), randnT],
  ["tan", (x) => x.tan(), (r, s) => uniformT(r, s, -1.2, 1.2)],
  ["tanh", (x) => x.tanh(), randnT],
  ["sigmoid", (x) => x.sigmoid(), randnT],
  ["relu", (x) => x.relu(), (r, s) => awayFromZero(r, s)],
  ["square", (x) => x.square(), randnT],
  ["reciprocal", (x) => x.reciprocal(), (r, s) => awayFromZero(r, s, 0.4)],
  ["sign", (x) => x.sign(), (r, s) => awayFromZero(r, s)],
  ["log1p", (x) => x.log1p(), (r, s) => uniformT(r, s, -0.7, 2)],
  ["expm1", (x) => x.expm1(), randnT],
  ["log2", (x) => x.log2(), (r, s) => uniformT(r, s, 0.3, 2)],
  ["log10", (x) => x.log10(), (r, s) => uniformT(r, s, 0.3, 2)],
  ["exp2", (x) => x.exp2(), randnT],
  ["asin", (x) => x.asin(), (r, s) => uniformT(r, s, -0.9, 0.9)],
  ["acos", (x) => x.acos(), (r, s) => uniformT(r, s, -0.9, 0.9)],
  ["atan", (x) => x.atan(), randnT],
  ["sinh", (x) => x.sinh(), randnT],
  ["cosh", (x) => x.cosh(), randnT],
  ["asinh", (x) => x.asinh(), randnT],
  ["acosh", (x) => x.acosh(), (r, s) => uniformT(r, s, 1.2, 3)],
  ["atanh", (x) => x.atanh(), (r, s) => uniformT(r, s, -0.8, 0.8)],
  ["floor", (x) => x.floor(), (r, s) => offInteger(r, s, 0.5)],
  ["ceil", (x) => x.ceil(), (r, s) => offInteger(r, s, 0.5)],
  ["round", (x) => x.round(), (r, s) => offInteger(r, s, 0)],
  ["trunc", (x) => x.trunc(), (r, s) => offInteger(r, s, 0.5)],
  ["erf", (x) => x.erf(), randnT],
  ["erfc", (x) => x.erfc(), randnT],
  ["erfinv", (x) => x.erfinv(), (r, s) => uniformT(r, s, -0.9, 0.9)],
  ["lgamma", (x) => x.lgamma(), (r, s) => uniformT(r, s, 0.3, 4)],
  ["digamma", (x) => x.digamma(), (r, s) => uniformT(r, s, 0.3, 4)],
  // Bool results, read as 1/0 floats so the derivative checks see zero.
  ["isnan", (x) => x.isnan().to(x.dtype), randnT],
  ["isfinite", (x) => x.isfinite().to(x.dtype), randnT],
];

const unaryCases: OpCase[] = UNARY.map(([prim, f, gen]) => {
  const s = shapes.shape(0, 3, 4);
  return {
    name: `${prim}() on ${fmt(s)}`,
    prims: [prim],
    fn: f,
    args: (r) => [gen(r, s)],
  };
});

type Binary = (a: Tensor, b: Tensor) => Tensor;
type Gen2 = (rng: Rng, sa: number[], sb: number[]) => Tensor[];
const normal2: Gen2 = (r, sa, sb) => [randnT(r, sa), randnT(r, sb)];
/** a in [2k, 2k+1), b in [2k'+1.1, 2k'+1.9]: never within 0.1 of each other. */
const separated: Gen2 = (r, sa, sb) => [
  fromGen(sa, () => r.uniform(0, 1) + 2 * r.int(0, 2)),
  fromGen(sb, () => r.uniform(1.1, 1.9) + 2 * r.int(0, 2)),
];
/** Small integers, so that eq/ne see ties (their derivative is zero on both sides). */
const integers: Gen2 = (r, sa, sb) => [
  fromGen(sa, () => r.int(0, 2)),
  fromGen(sb, () => r.int(0, 2)),
];

/** a/b stays 0.15 or more from an integer: a in 4k + [0.5, 1.5], |b| in [2, 2.1]. */
const offMultiple: Gen2 = (r, sa, sb) => [
  fromGen(sa, () => 4 * r.int(-2, 2) + r.uniform(0.5, 1.5)),
  fromGen(sb, () => (r.next() < 0.5 ? -1 : 1) * r.uniform(2, 2.1)),
];

const BINARY: [Prim, Binary, Gen2][] = [
  ["add", (a, b) => a.add(b), normal2],
  ["sub", (a, b) => a.sub(b), normal2],
  ["mul", (a, b) => a.mul(b), normal2],
  [
    "div",
    (a, b) => a.div(b),
    (r, sa, sb) => [randnT(r, sa), awayFromZero(r, sb, 0.4)],
  ],
  [
    "pow",
    (a, b) => pow(a, b),
    (r, sa, sb) => [uniformT(r, sa, 0.4, 2), uniformT(r, sb, -1.5, 1.5)],
  ],
  ["maximum", (a, b) => maximum(a, b), separated],
  ["minimum", (a, b) => minimum(a, b), separated],
  // Comparisons give bool: read as 1/0 floats, as isnan above.
  ["eq", (a, b) => a.eq(b).to(a.dtype), integers],
  ["ne", (a, b) => a.ne(b).to(a.dtype), integers],
  ["lt", (a, b) => a.lt(b).to(a.dtype), normal2],
  ["le", (a, b) => a.le(b).to(a.dtype), normal2],
  ["gt", (a, b) => a.gt(b).to(a.dtype), normal2],
  ["ge", (a, b) => a.ge(b).to(a.dtype), normal2],
  [
    "atan2",
    (a, b) => a.atan2(b),
    // a away from 0: the angle jumps by 2π across the negative b axis.
    (r, sa, sb) => [awayFromZero(r, sa), randnT(r, sb)],
  ],
  ["fmod", (a, b) => a.fmod(b), offMultiple],
  ["remainder", (a, b) => a.remainder(b), offMultiple],
  ["hypot", (a, b) => a.hypot(b), normal2],
];

const binaryCases: OpCase[] = BINARY.flatMap(([prim, f, gen]): OpCase[] => {
  const [sa, sb] = shapes.broadcastPair();
  return [
    {
      name: `${prim}() broadcasts ${fmt(sa)} with ${fmt(sb)}`,
      prims: [prim],
      fn: f,
      args: (r) => gen(r, sa, sb),
    },
    {
      name: `${prim}() broadcasts size-1 dims [1, 3] with [2, 1]`,
      prims: [prim],
      fn: f,
      args: (r) => gen(r, [1, 3], [2, 1]),
    },
  ];
});

const scalarCases: OpCase[] = [
  {
    name: "polygamma() of orders 0..3 (a tensor) broadcast [3, 1] with [4]",
    prims: ["polygamma"],
    fn: (n, x) => bind("polygamma", [n, x], null),
    args: (r) => [fromGen([3, 1], () => r.int(0, 3)), uniformT(r, [4], 1, 3)],
    constArgs: [0],
  },
  {
    name: "polygamma(2, x) on [5]",
    prims: ["polygamma"],
    fn: (x) => x.polygamma(2),
    args: (r) => [uniformT(r, [5], 1, 3)],
  },
  {
    name: "add() of rank 0 and [3]",
    prims: ["add"],
    fn: (a, b) => a.add(b),
    args: (r) => [randnT(r, []), randnT(r, [3])],
  },
  {
    name: "mul() by a plain number",
    prims: ["mul"],
    fn: (x) => x.mul(2.5),
    args: f64([2, 3]),
  },
  {
    name: "div() of a plain number by a tensor",
    prims: ["div"],
    fn: (x) => div(1, x),
    args: (r) => [awayFromZero(r, [4], 0.4)],
  },
  {
    name: "pow() with a plain-number exponent",
    prims: ["pow"],
    fn: (x) => x.pow(3),
    args: f64([2, 2]),
  },
  {
    name: "pow() of a plain-number base",
    prims: ["pow"],
    fn: (x) => pow(2, x),
    args: f64([3]),
  },
  {
    name: "sub() of a tensor from a plain number",
    prims: ["sub"],
    fn: (x) => sub(1, x),
    args: f64([3]),
  },
];

const whereCases: OpCase[] = [
  {
    name: "where() broadcasts cond [3, 1], a [3, 4], b [4]",
    prims: ["where"],
    fn: (c, a, b) => where(c, a, b),
    args: (r) => [maskT(r, [3, 1]), randnT(r, [3, 4]), randnT(r, [4])],
    constArgs: [0],
  },
  {
    name: "where() with a plain-number branch",
    prims: ["where"],
    fn: (c, a) => where(c, 0.5, a),
    args: (r) => [maskT(r, [2, 3]), randnT(r, [2, 3])],
    constArgs: [0],
  },
];

/**
 * Rows whose extreme value (max, or min with `sign` -1) occurs exactly twice.
 * At a two-way tie the central difference in direction t is the mean of the
 * two tied entries of t, which is what the tie rule must give.
 */
function twoWayTies(
  rng: Rng,
  rows: number,
  cols: number,
  sign: 1 | -1,
): Tensor {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: cols }, () => rng.normal());
    const best = row.indexOf(sign > 0 ? Math.max(...row) : Math.min(...row));
    row[(best + 1 + rng.int(0, cols - 2)) % cols] = row[best];
    out.push(...row);
  }
  return fromGen(
    [rows, cols],
    (() => {
      let i = 0;
      return () => out[i++];
    })(),
  );
}

const tieCases: OpCase[] = [
  {
    name: "max(1) with two-way ties averages the tied tangents",
    prims: ["max"],
    fn: (x) => x.max(1),
    args: (r) => [twoWayTies(r, 3, 4, 1)],
    firstOrderOnly: true,
  },
  {
    name: "min() with a two-way tie averages the tied tangents",
    prims: ["min"],
    fn: (x) => x.min(),
    args: (r) => [twoWayTies(r, 1, 5, -1)],
    firstOrderOnly: true,
  },
  {
    name: "maximum() at ties weighs both operands ½",
    prims: ["maximum"],
    fn: (a, b) => maximum(a, b),
    args: (r) => {
      const a = randnT(r, [2, 3]);
      // Tied where the mask is 0, b = a ± 0.5 elsewhere.
      return [
        a,
        a.add(maskT(r, [2, 3]).mul(awayFromZero(r, [2, 3], 0.5, 0.5))),
      ];
    },
    firstOrderOnly: true,
  },
  {
    name: "minimum() at ties weighs both operands ½",
    prims: ["minimum"],
    fn: (a, b) => minimum(a, b),
    args: (r) => {
      const a = randnT(r, [4]);
      return [a, a.add(0)];
    },
    firstOrderOnly: true,
  },
];

const reduceCases: OpCase[] = [
  {
    name: "sum() over all dims",
    prims: ["sum"],
    fn: (x) => x.sum(),
    args: f64([3, 4]),
  },
  {
    name: "sum(1, keepdim) on [2, 3, 4]",
    prims: ["sum", "reshape"],
    fn: (x) => x.sum(1, true),
    args: f64([2, 3, 4]),
  },
  {
    name: "sum([0, 2]) on [2, 3, 4]",
    prims: ["sum"],
    fn: (x) => x.sum([0, 2]),
    args: f64([2, 3, 4]),
  },
  {
    name: "sum(-1) over a size-1 dim",
    prims: ["sum"],
    fn: (x) => x.sum(-1),
    args: f64([3, 1]),
  },
  {
    name: "mean(-1) on [3, 4]",
    prims: ["sum", "div"],
    fn: (x) => x.mean(-1),
    args: f64([3, 4]),
  },
  {
    name: "mean([0, 1], keepdim) on [2, 3, 2]",
    prims: ["sum", "div", "reshape"],
    fn: (x) => x.mean([0, 1], true),
    args: f64([2, 3, 2]),
  },
  {
    name: "prod(1) on [3, 4]",
    prims: ["prod"],
    fn: (x) => x.prod(1),
    args: (r) => [awayFromZero(r, [3, 4], 0.5, 1.5)],
  },
  {
    name: "prod() over all dims, keepdim",
    prims: ["prod", "reshape"],
    fn: (x) => x.prod(undefined, true),
    args: (r) => [awayFromZero(r, [2, 3], 0.5, 1.5)],
  },
  {
    name: "max(1, keepdim) on [3, 4]",
    prims: ["max", "reshape"],
    fn: (x) => x.max(1, true),
    args: f64([3, 4]),
  },
  {
    name: "max() over all dims",
    prims: ["max"],
    fn: (x) => x.max(),
    args: f64([2, 3]),
  },
  {
    name: "min(0) on [3, 2]",
    prims: ["min"],
    fn: (x) => x.min(0),
    args: f64([3, 2]),
  },
  {
    name: "min([0, 2], keepdim) on [2, 1, 3]",
    prims: ["min", "reshape"],
    fn: (x) => x.min([0, 2], true),
    args: f64([2, 1, 3]),
  },
  {
    name: "argmax(1) on [3, 4]",
    prims: ["argmax"],
    fn: (x) => x.argmax(1),
    args: f64([3, 4]),
    noGrad: true,
  },
  {
    name: "argmax(0, keepdim) on [3, 2]",
    prims: ["argmax", "reshape"],
    fn: (x) => x.argmax(0, true),
    args: f64([3, 2]),
    noGrad: true,
  },
  {
    name: "argmin() of the flattened tensor",
    prims: ["argmin", "reshape"],
    fn: (x) => x.argmin(),
    args: f64([2, 3]),
    noGrad: true,
  },
];

const layoutCases: OpCase[] = [
  {
    name: "reshape() [2, 3, 4] to [4, -1]",
    prims: ["reshape"],
    fn: (x) => x.reshape([4, -1]),
    args: f64([2, 3, 4]),
  },
  {
    name: "reshape() [1] to rank 0",
    prims: ["reshape"],
    fn: (x) => x.reshape([]),
    args: f64([1]),
  },
  {
    name: "flatten(1) on [2, 3, 2]",
    prims: ["reshape"],
    fn: (x) => x.flatten(1),
    args: f64([2, 3, 2]),
  },
  {
    name: "squeeze() on [2, 1, 3, 1]",
    prims: ["reshape"],
    fn: (x) => x.squeeze(),
    args: f64([2, 1, 3, 1]),
  },
  {
    name: "unsqueeze(-1) on [2, 3]",
    prims: ["reshape"],
    fn: (x) => x.unsqueeze(-1),
    args: f64([2, 3]),
  },
  {
    name: "permute([2, 0, 1]) on [2, 3, 4]",
    prims: ["permute"],
    fn: (x) => x.permute([2, 0, 1]),
    args: f64([2, 3, 4]),
  },
  {
    name: "transpose() (.T) on [3, 4]",
    prims: ["permute"],
    fn: (x) => x.T,
    args: f64([3, 4]),
  },
  {
    name: "transpose(0, 2) on [2, 3, 4]",
    prims: ["permute"],
    fn: (x) => x.transpose(0, 2),
    args: f64([2, 3, 4]),
  },
  {
    name: "movedim([0, 1], [2, 0]) on [2, 3, 4]",
    prims: ["permute"],
    fn: (x) => x.movedim([0, 1], [2, 0]),
    args: f64([2, 3, 4]),
  },
  {
    name: "expand() [3, 1] to [2, 3, 4]",
    prims: ["broadcastTo"],
    fn: (x) => x.expand([2, -1, 4]),
    args: f64([3, 1]),
  },
  {
    name: "expand() rank 0 to [2, 2]",
    prims: ["broadcastTo"],
    fn: (x) => x.expand([2, 2]),
    args: f64([]),
  },
  {
    name: "slice(1, 1, undefined, 2) on [3, 5]",
    prims: ["slice"],
    fn: (x) => x.slice(1, 1, undefined, 2),
    args: f64([3, 5]),
  },
  {
    name: "slice(0, -2) on [4, 2]",
    prims: ["slice"],
    fn: (x) => x.slice(0, -2),
    args: f64([4, 2]),
  },
  {
    name: "narrow(1, 1, 2) on [2, 4, 2]",
    prims: ["slice"],
    fn: (x) => x.narrow(1, 1, 2),
    args: f64([2, 4, 2]),
  },
  {
    name: "select(-1, -1) on [3, 4]",
    prims: ["slice", "reshape"],
    fn: (x) => x.select(-1, -1),
    args: f64([3, 4]),
  },
  {
    name: "index(1, [2, 0, 2]) repeats an index",
    prims: ["indexSelect"],
    fn: (x) => x.index(1, [2, 0, 2]),
    args: f64([2, 3]),
  },
  {
    name: "index(0, indices) with a tensor of indices",
    prims: ["indexSelect"],
    fn: (x, i) => x.index(0, i),
    args: (r) => [randnT(r, [4, 2]), indicesT(r, 5, 4)],
  },
  {
    name: "cat() of [2, 1], [2, 3], [2, 2] along dim 1",
    prims: ["cat"],
    fn: (a, b, c) => cat([a, b, c], 1),
    args: (r) => [randnT(r, [2, 1]), randnT(r, [2, 3]), randnT(r, [2, 2])],
  },
  {
    name: "stack() along dim 1",
    prims: ["cat", "reshape"],
    fn: (a, b) => stack([a, b], 1),
    args: (r) => [randnT(r, [3, 2]), randnT(r, [3, 2])],
  },
  {
    name: "stack() along dim -1",
    prims: ["cat", "reshape"],
    fn: (a, b, c) => stack([a, b, c], -1),
    args: (r) => [randnT(r, [2]), randnT(r, [2]), randnT(r, [2])],
  },
  {
    name: "pad (primitive) places [3, 3] at stride 2 into [6, 3]",
    prims: ["pad"],
    fn: (x) => bind("pad", [x], { start: [1, 0], step: [2, 1], shape: [6, 3] }),
    args: f64([3, 3]),
  },
  {
    name: "indexAdd (primitive) accumulates repeated indices",
    prims: ["indexAdd"],
    fn: (src, i) => bind("indexAdd", [src, i], { axis: 0, size: 4 }),
    args: (r) => [randnT(r, [3, 2]), indicesT(r, 3, 4)],
  },
  {
    name: "to() float64 → float32 → float64",
    prims: ["cast"],
    fn: (x) => x.to("float32").to("float64").sin(),
    args: f64([2, 3]),
    fdStep: 1e-3,
    tol: { fd: 3e-4, exact: 1e-5 },
  },
  {
    name: 'to("int32") truncates',
    prims: ["cast"],
    fn: (x) => x.mul(3).to("int32"),
    args: f64([2, 3]),
    noGrad: true,
  },
  {
    name: "detach() is a constant to derivatives",
    prims: ["stopGradient"],
    fn: (x) => x.mul(x.detach()).sin(),
    args: f64([2, 3]),
    fdRef: ([x0]) => (x) => x.mul(x0).sin(),
  },
];

const linalgCases: OpCase[] = [
  {
    name: "matmul() vector @ vector",
    prims: ["matmul"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [4]), randnT(r, [4])],
  },
  {
    name: "matmul() matrix @ vector",
    prims: ["matmul"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [3, 4]), randnT(r, [4])],
  },
  {
    name: "matmul() vector @ matrix",
    prims: ["matmul"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [3]), randnT(r, [3, 2])],
  },
  {
    name: "matmul() matrix @ matrix",
    prims: ["matmul"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [2, 3]), randnT(r, [3, 4])],
  },
  {
    name: "matmul() batched [2, 3, 4] @ [2, 4, 2]",
    prims: ["matmul"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [2, 3, 4]), randnT(r, [2, 4, 2])],
  },
  {
    name: "matmul() batch [2, 3, 4] @ matrix [4, 2]",
    prims: ["matmul"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [2, 3, 4]), randnT(r, [4, 2])],
  },
  {
    name: "matmul() matrix [3, 4] @ batch [2, 4, 2]",
    prims: ["matmul"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [3, 4]), randnT(r, [2, 4, 2])],
  },
  {
    name: "matmul() broadcasts batch dims [2, 1, 3, 2] @ [3, 2, 2]",
    prims: ["matmul", "broadcastTo"],
    fn: (a, b) => matmul(a, b),
    args: (r) => [randnT(r, [2, 1, 3, 2]), randnT(r, [3, 2, 2])],
  },
  {
    name: "linear() of a batch [5, 3] with bias",
    prims: ["matmul", "add"],
    fn: (x, w, b) => linear(x, w, b),
    args: (r) => [randnT(r, [5, 3]), randnT(r, [4, 3]), randnT(r, [4])],
  },
  {
    name: "linear() of a vector without bias",
    prims: ["matmul"],
    fn: (x, w) => linear(x, w),
    args: (r) => [randnT(r, [3]), randnT(r, [2, 3])],
  },
  {
    name: "linear() of [2, 5, 3] with bias",
    prims: ["matmul", "add"],
    fn: (x, w, b) => linear(x, w, b),
    args: (r) => [randnT(r, [2, 5, 3]), randnT(r, [4, 3]), randnT(r, [4])],
  },
  {
    name: "dot() of two vectors",
    prims: ["matmul"],
    fn: (a, b) => dot(a, b),
    args: (r) => [randnT(r, [5]), randnT(r, [5])],
  },
  {
    name: "outer() of two vectors",
    prims: ["mul", "reshape"],
    fn: (a, b) => outer(a, b),
    args: (r) => [randnT(r, [3]), randnT(r, [4])],
  },
];

/** Symmetric positive definite `[..., n, n]`: M Mᵀ / n + I (condition ~ 5). */
export function spdT(rng: Rng, shape: readonly number[]): Tensor {
  const n = shape[shape.length - 1];
  const m = randnT(rng, shape);
  return matmul(m, m.transpose(-2, -1)).div(n).add(eyeLike(n));
}

const eyeLike = (n: number) => eye(n, { dtype: "float64" });

/** A well-conditioned `[..., n, n]`: random with n added on the diagonal. */
export function wellConditionedT(rng: Rng, shape: readonly number[]): Tensor {
  const n = shape[shape.length - 1];
  return randnT(rng, shape).add(eyeLike(n).mul(n));
}

const chol = ["cholesky"] as const;
const decompCases: OpCase[] = [
  {
    name: "linalg.cholesky() of [4, 4] whose symmetric part is SPD",
    prims: [...chol],
    fn: (a) => linalg.cholesky(a),
    // Not symmetric: cholesky factors the symmetric part.
    args: (r) => [spdT(r, [4, 4]).add(randnT(r, [4, 4]).mul(0.1))],
  },
  {
    name: "linalg.cholesky() batched [2, 3, 3], upper",
    prims: [...chol],
    fn: (a) => linalg.cholesky(a, { upper: true }),
    args: (r) => [spdT(r, [2, 3, 3])],
  },
  {
    name: "linalg.solveTriangular() lower [4, 4] \\ [4, 2]",
    prims: ["triangularSolve"],
    fn: (a, b) => linalg.solveTriangular(a, b, { upper: false }),
    args: (r) => [wellConditionedT(r, [4, 4]), randnT(r, [4, 2])],
  },
  {
    name: "linalg.solveTriangular() upper unitriangular [3, 3] \\ [3, 1]",
    prims: ["triangularSolve"],
    fn: (a, b) =>
      linalg.solveTriangular(a, b, { upper: true, unitriangular: true }),
    args: (r) => [randnT(r, [3, 3]).mul(0.5), randnT(r, [3, 1])],
  },
  {
    name: "linalg.solveTriangular() right, batched [2, 3, 3] and [4, 3]",
    prims: ["triangularSolve", "permute"],
    fn: (a, b) => linalg.solveTriangular(a, b, { upper: true, left: false }),
    args: (r) => [wellConditionedT(r, [2, 3, 3]), randnT(r, [4, 3])],
  },
  {
    name: "linalg.choleskySolve() [3, 2] with L of [3, 3]",
    prims: ["triangularSolve", "permute"],
    fn: (b, a) => linalg.choleskySolve(b, linalg.cholesky(a)),
    args: (r) => [randnT(r, [3, 2]), spdT(r, [3, 3])],
  },
  {
    name: "linalg.solve() [3, 3] \\ [3, 2]",
    prims: ["solve"],
    fn: (a, b) => linalg.solve(a, b),
    args: (r) => [wellConditionedT(r, [3, 3]), randnT(r, [3, 2])],
  },
  {
    name: "linalg.solve() batched [2, 3, 3] \\ vector [3]",
    prims: ["solve", "reshape"],
    fn: (a, b) => linalg.solve(a, b),
    args: (r) => [wellConditionedT(r, [2, 3, 3]), randnT(r, [3])],
  },
  {
    name: "linalg.inv() [3, 3]",
    prims: ["solve"],
    fn: (a) => linalg.inv(a),
    args: (r) => [wellConditionedT(r, [3, 3])],
  },
  {
    name: "linalg.slogdet() logabsdet of [2, 3, 3]",
    prims: ["slogdet", "slice"],
    fn: (a) => linalg.slogdet(a).logabsdet,
    // Negated: det < 0, so the sign is -1.
    args: (r) => [wellConditionedT(r, [2, 3, 3]).neg()],
  },
  {
    name: "linalg.eigvalsh() batched [2, 4, 4]",
    prims: ["eigh", "slice", "reshape"],
    fn: (a) => linalg.eigvalsh(a),
    args: (r) => [randnT(r, [2, 4, 4])],
  },
  {
    name: "linalg.eigh() eigenvectors of [3, 3]",
    prims: ["eigh", "slice"],
    fn: (a) => linalg.eigh(a).eigenvectors,
    args: (r) => [randnT(r, [3, 3])],
  },
  {
    name: "linalg.qr() Q of a tall [5, 3]",
    prims: ["qr", "slice"],
    fn: (a) => linalg.qr(a).Q,
    args: (r) => [randnT(r, [5, 3])],
  },
  {
    name: "linalg.qr() R of a batched square [2, 3, 3]",
    prims: ["qr", "slice"],
    fn: (a) => linalg.qr(a).R,
    args: (r) => [wellConditionedT(r, [2, 3, 3])],
  },
  {
    name: "linalg.lu() U of a batched [2, 4, 4]",
    prims: ["lu", "slice"],
    fn: (a) => linalg.lu(a).U,
    args: (r) => [randnT(r, [2, 4, 4])],
  },
  {
    name: "linalg.luSolve() with luFactor of [3, 3], B [3, 2]",
    prims: ["lu", "slice", "triangularSolve", "matmul"],
    fn: (a, b) => {
      const { LU, perm } = linalg.luFactor(a);
      return linalg.luSolve(LU, perm, b);
    },
    args: (r) => [randnT(r, [3, 3]), randnT(r, [3, 2])],
  },
  {
    name: "linalg.svd() S of a tall [5, 3]",
    prims: ["svd", "slice", "reshape"],
    fn: (a) => linalg.svd(a).S,
    args: (r) => [randnT(r, [5, 3])],
  },
  {
    name: "linalg.svd() U of a tall [4, 3]",
    prims: ["svd", "slice"],
    fn: (a) => linalg.svd(a).U,
    args: (r) => [randnT(r, [4, 3])],
  },
  {
    name: "linalg.svd() Vh of a batched square [2, 3, 3]",
    prims: ["svd", "slice"],
    fn: (a) => linalg.svd(a).Vh,
    args: (r) => [randnT(r, [2, 3, 3])],
  },
  {
    name: "linalg.svd() U of a wide [2, 4]",
    prims: ["svd", "slice", "permute"],
    fn: (a) => linalg.svd(a).U,
    args: (r) => [randnT(r, [2, 4])],
  },
  {
    name: "linalg.svdvals() of a batched wide [2, 3, 5]",
    prims: ["svd", "slice", "reshape", "permute"],
    fn: (a) => linalg.svdvals(a),
    args: (r) => [randnT(r, [2, 3, 5])],
  },
  {
    name: "linalg.det() [3, 3]",
    prims: ["slogdet", "exp", "mul"],
    fn: (a) => linalg.det(a),
    args: (r) => [wellConditionedT(r, [3, 3]).mul(0.5)],
  },
];

/** A random key: two int32 words (batched by the vmap checks as any int32 argument). */
const keyT = (r: Rng) =>
  fromGen([2], () => r.int(-2147483648, 2147483647), "int32");

// Samples are constants to differentiation: the checks differentiate x.
const randomCases: OpCase[] = [
  {
    name: "random.normal() of a key, times x [3]",
    prims: ["randomSample", "mul"],
    fn: (x, k) => x.mul(random.normal(k, [3], { dtype: x.dtype })),
    args: (r) => [randnT(r, [3]), keyT(r)],
  },
  {
    name: "random.uniform() of foldIn(key, 7), plus x [2, 2]",
    prims: ["randomDerive", "randomSample", "add"],
    fn: (x, k) =>
      x.add(random.uniform(random.foldIn(k, 7), [2, 2], { dtype: x.dtype })),
    args: (r) => [randnT(r, [2, 2]), keyT(r)],
  },
  {
    name: "random.permutation() of the rows of x [4, 2]",
    prims: ["randomSample", "indexSelect"],
    fn: (x, k) => random.permutation(k, x),
    args: (r) => [randnT(r, [4, 2]), keyT(r)],
  },
];

/** Control flow: one primitive per loop or branch, its body a sub-program. */
const controlCases: OpCase[] = [
  {
    name: "scan() carry [3], xs [4, 3], ys stacked",
    prims: ["scan"],
    fn: (w, xs) => {
      const [c, ys] = scan(
        (c: Tensor, x: Tensor) => [c.mul(w).add(x).sin(), c.mul(x)],
        w.mul(0.5),
        xs,
      );
      return ys.sum(0).add(c);
    },
    args: (r) => [randnT(r, [3]), randnT(r, [4, 3])],
  },
  {
    name: "cond() on the sign of a data argument",
    prims: ["cond"],
    fn: (p, x) =>
      cond(
        p.sum().gt(0),
        (v: Tensor) => v.sin().mul(v),
        (v: Tensor) => v.exp(),
        x,
      ),
    args: (r) => [randnT(r, [2]), randnT(r, [3])],
    constArgs: [0],
  },
  {
    name: "whileLoop() with a data-dependent trip count (forward only)",
    prims: ["while"],
    fn: (x) =>
      whileLoop(
        (c: Tensor) => c.abs().sum().lt(20),
        (c: Tensor) => c.mul(1.5).add(1),
        x,
      ),
    args: (r) => [randnT(r, [3])],
    noGrad: true,
  },
];

/** The whole table. */
export const CASES: readonly OpCase[] = [
  ...unaryCases,
  ...binaryCases,
  ...scalarCases,
  ...whereCases,
  ...reduceCases,
  ...tieCases,
  ...layoutCases,
  ...linalgCases,
  ...decompCases,
  ...randomCases,
  ...controlCases,
  ...convCases,
];
