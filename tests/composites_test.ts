/**
 * Values of the composite operations against closed forms and plain-JS
 * references (float64), their stability at extreme inputs, their gradients
 * where they have a known closed form, and their error messages. The
 * transform checks are in composites_numeric_test.ts.
 * @module
 */
import {
  arange,
  binaryCrossEntropyWithLogits,
  chunk,
  clamp,
  crossEntropy,
  diag,
  diagonal,
  elu,
  flip,
  gather,
  gelu,
  grad,
  hypot,
  leakyRelu,
  logaddexp,
  logSoftmax,
  logsumexp,
  mseLoss,
  norm,
  oneHot,
  pad,
  repeatInterleave,
  roll,
  silu,
  softmax,
  softplus,
  split,
  std,
  takeAlongDim,
  type Tensor,
  tensor,
  tile,
  trace,
  tril,
  triu,
  variance,
  vmap,
  zeros,
} from "../mod.ts";
import { erf, erfc, expm1 } from "../mod.ts";
import { log1p } from "../mod.ts";
import {
  assertClose,
  assertThrowsWith,
  erfRef,
  fromGen,
  randnT,
  Rng,
  type Tol,
} from "./_helpers.ts";

const f64 = (data: Parameters<typeof tensor>[0]) =>
  tensor(data, { dtype: "float64" });
const i32 = (data: Parameters<typeof tensor>[0]) =>
  tensor(data, { dtype: "int32" });
const rows = (t: Tensor) => t.toArray() as number[][];

type Nested = number | readonly Nested[];
/** assertClose with nested arrays of numbers allowed as the expected value. */
function near(
  actual: Tensor | number,
  expected: Tensor | number | readonly Nested[],
  tol: Tol = {},
  msg = "",
): void {
  assertClose(
    actual,
    Array.isArray(expected)
      ? (expected.flat(Infinity) as number[])
      : expected as Tensor | number,
    tol,
    msg,
  );
}

// ------------------------------------------------------------ softmax family

function jsLogsumexp(v: number[]): number {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
}

Deno.test("softmax, logSoftmax and logsumexp match plain-JS references", () => {
  const x = randnT(new Rng(1), [3, 5]).mul(3);
  const lse = rows(x).map(jsLogsumexp);
  near(logsumexp(x, 1), lse, { rtol: 1e-14, atol: 1e-14 });
  const expectedLsm = rows(x).flatMap((r, i) => r.map((v) => v - lse[i]));
  near(logSoftmax(x, 1), expectedLsm, { rtol: 1e-14, atol: 1e-14 });
  near(softmax(x), expectedLsm.map(Math.exp), { atol: 1e-15 });
  near(x.softmax(0).sum(0), [1, 1, 1, 1, 1], { atol: 1e-15 });
  near(logsumexp(x), jsLogsumexp(rows(x).flat()), { atol: 1e-14 });
});

Deno.test("logsumexp keeps dims with a boolean or { keepdim }, and reduces several dims", () => {
  const x = randnT(new Rng(2), [2, 3, 4]);
  const a = logsumexp(x, [0, 2], true),
    b = x.logsumexp([0, 2], { keepdim: true });
  near(a, b);
  near(a.reshape([3]), logsumexp(x, [2, 0]));
  near(
    a.reshape([3]),
    logsumexp(x.permute([1, 0, 2]).reshape([3, 8]), 1),
  );
});

Deno.test("logsumexp, softmax and logSoftmax stay finite with exact gradients at ±1e4", () => {
  const x = f64([1e4, -1e4, 1e4 - 1, 0]);
  near(logsumexp(x), 1e4 + Math.log(1 + Math.exp(-1)), { rtol: 1e-15 });
  const g = grad((x: Tensor) => logsumexp(x))(x);
  const e = Math.exp(-1) / (1 + Math.exp(-1));
  near(g, [1 - e, 0, e, 0], { atol: 1e-15 });
  near(softmax(x), [1 - e, 0, e, 0], { atol: 1e-15 });
  near(logSoftmax(f64([0, 1e4])), [-1e4, 0]);
  const gl = grad((x: Tensor) => logSoftmax(x).select(0, 0))(f64([-1e4, 1e4]));
  near(gl, [1, -1]);
  const f32 = logsumexp(tensor([[1e4, 1e4], [-1e4, -1e4]]), 1);
  near(f32, [1e4 + Math.LN2, -1e4 + Math.LN2], { rtol: 1e-6 });
});

Deno.test("logsumexp of an all -inf slice is -inf and of a slice with +inf is +inf", () => {
  const y = logsumexp(
    f64([[-Infinity, -Infinity], [0, Infinity], [0, -Infinity]]),
    1,
  );
  near(y, [-Infinity, Infinity, 0]);
});

Deno.test("the softmax family names itself in errors", () => {
  assertThrowsWith(() => softmax(i32([1, 2])), TypeError, "softmax", "int32");
  assertThrowsWith(
    () => logSoftmax(f64(1)),
    RangeError,
    "logSoftmax",
    "at least one dim",
  );
  assertThrowsWith(
    () => softmax(f64([1, 2]), 1),
    RangeError,
    "dim 1 is out of range",
  );
  assertThrowsWith(
    () => logsumexp(f64([1]), 0, 3 as never),
    TypeError,
    "logsumexp",
    "keepdim",
  );
});

// --------------------------------------------------------------- erf, gelu

Deno.test("erf is accurate to 1e-15 and its derivative (by grad) to 1e-13", () => {
  const xs = Array.from(
    { length: 2401 },
    (_, i) => -6 + i / 200 + 1e-7 * Math.sin(i),
  );
  const x = f64(xs);
  near(erf(x), xs.map(erfRef), { atol: 1e-15, rtol: 0 });
  const g = grad((x: Tensor) => erf(x).sum())(x);
  const d = xs.map((v) => (2 / Math.sqrt(Math.PI)) * Math.exp(-v * v));
  near(g, d, { atol: 1e-13, rtol: 0 }, "d/dx erf = 2/√π exp(-x²)");
  const g2 = grad((x: Tensor) => grad((x: Tensor) => erf(x).sum())(x).sum())(x);
  near(
    g2,
    xs.map((v, i) => -2 * v * d[i]),
    { atol: 1e-11, rtol: 0 },
    "second derivative",
  );
});

Deno.test("erfc keeps relative accuracy in the tail; erf and erfc of ±inf and NaN", () => {
  // Reference values of erfc (to 16 digits).
  const ref: [number, number][] = [
    [1, 0.15729920705028513],
    [3, 2.209049699858544e-5],
    [5, 1.5374597944280349e-12],
    [10, 2.088487583762545e-45],
    [26, 5.663192408856143e-296],
  ];
  ref.forEach(([x, v]) =>
    near(
      erfc(f64([x])),
      [v],
      { rtol: 1e-14, atol: 0 },
      `erfc(${x})`,
    )
  );
  near(erfc(f64([-2])), [2 - 0.004677734981047266], {
    atol: 1e-15,
  });
  near(erf(f64([Infinity, -Infinity, 0])), [1, -1, 0]);
  if (!Number.isNaN(erf(f64([NaN])).item())) {
    throw new Error("erf(NaN) is not NaN");
  }
});

Deno.test("gelu is x Φ(x) (relative accuracy in the negative tail); tanh form matches its formula", () => {
  const Phi = (x: number) => 0.5 * (1 + erfRef(x / Math.SQRT2));
  const xs = [-3, -1, -0.2, 0, 0.5, 1, 2.5, 4];
  near(gelu(f64(xs)), xs.map((x) => x * Phi(x)), {
    atol: 2e-16,
    rtol: 1e-15,
  });
  // gelu(-10) = -10 Φ(-10) = -10 · 7.619853024160527e-24.
  near(gelu(f64([-10])), [-7.619853024160527e-23], {
    rtol: 1e-14,
    atol: 0,
  });
  const c = Math.sqrt(2 / Math.PI);
  const tanhForm = xs.map((x) =>
    0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3)))
  );
  near(gelu(f64(xs), { approximate: "tanh" }), tanhForm, {
    atol: 1e-15,
  });
  // The derivative: Φ(x) + x φ(x).
  const g = grad((x: Tensor) => gelu(x).sum())(f64(xs));
  const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
  near(g, xs.map((x) => Phi(x) + x * phi(x)), { atol: 1e-14 });
  assertThrowsWith(
    () => gelu(f64([1]), { approximate: "erf" as never }),
    TypeError,
    "gelu",
    "approximate",
  );
});

// -------------------------------------------------------- other activations

Deno.test("softplus is accurate in both tails, with gradient sigmoid(x), and never overflows", () => {
  const xs = [-745, -100, -40, -20, -1, -1e-10, 0, 1e-10, 1, 20, 40, 1000];
  const ref = xs.map((x) =>
    Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))
  );
  near(softplus(f64(xs)), ref, { rtol: 4e-16, atol: 0 });
  const g = grad((x: Tensor) => softplus(x).sum())(f64(xs));
  near(g, xs.map((x) => 1 / (1 + Math.exp(-x))), {
    rtol: 1e-15,
    atol: 1e-300,
  });
  near(
    softplus(f64([1, -2]), { beta: 2 }),
    [1, -2].map((x) => Math.log1p(Math.exp(2 * x)) / 2),
    {
      rtol: 1e-15,
    },
  );
  near(softplus(tensor([-1000, 1000])), [0, 1000]);
  assertThrowsWith(
    () => softplus(f64([1]), { beta: 0 }),
    RangeError,
    "softplus",
    "beta",
  );
});

Deno.test("log1p and expm1 are accurate to a few ulps", () => {
  const us = [-0.9, -1e-5, -1e-12, 0, 1e-20, 1e-15, 1e-8, 0.3, 5, 1e10];
  near(log1p(f64(us)), us.map(Math.log1p), {
    rtol: 4e-16,
    atol: 0,
  });
  const xs = [-800, -30, -1, -1e-6, -1e-17, 0, 1e-12, 0.5, 3, 700];
  near(expm1(f64(xs)), xs.map(Math.expm1), {
    rtol: 4e-16,
    atol: 0,
  });
});

Deno.test("silu, elu and leakyRelu: values, and the derivative at 0 from the left as PyTorch", () => {
  const xs = [-2, -0.5, 0, 0.5, 2];
  near(silu(f64(xs)), xs.map((x) => x / (1 + Math.exp(-x))), {
    atol: 1e-16,
  });
  near(
    elu(f64(xs), 0.7),
    xs.map((x) => (x > 0 ? x : 0.7 * Math.expm1(x))),
    { atol: 1e-16 },
  );
  near(leakyRelu(f64(xs), 0.1), xs.map((x) => (x > 0 ? x : 0.1 * x)));
  near(grad((x: Tensor) => elu(x, 0.7).sum())(f64([0, 1000, -1000])), [
    0.7,
    1,
    0,
  ]);
  near(grad((x: Tensor) => leakyRelu(x).sum())(f64([0, 3])), [0.01, 1]);
});

// ------------------------------------------------------- elementwise helpers

Deno.test("clamp: bounds included in the gradient, min > max gives max, NaN stays, tensor bounds", () => {
  const x = f64([-2, -1, 0, 1, 2]);
  near(clamp(x, -1, 1), [-1, -1, 0, 1, 1]);
  near(x.clamp(null, 0), [-2, -1, 0, 0, 0]);
  near(grad((x: Tensor) => clamp(x, -1, 1).sum())(x), [0, 1, 1, 1, 0]);
  near(clamp(x, 1, -1), [-1, -1, -1, -1, -1]);
  if (!Number.isNaN(clamp(f64([NaN]), 0, 1).item())) {
    throw new Error("NaN was clamped");
  }
  const lo = f64([0, 0.5]),
    [glo] = grad((lo: Tensor) => clamp(f64([-1, 1]), lo, 0.8).sum(), {
      argnums: [0],
    })(lo) as Tensor[];
  near(glo, [1, 0]);
  assertThrowsWith(
    () => clamp(x),
    TypeError,
    "clamp",
    "at least one of min and max",
  );
});

Deno.test("logaddexp: stable at 1e308 and -inf, gradient sigmoid(a - b), 1/2 on ties", () => {
  const a = f64([1000, 0, -Infinity, 1e308, 2]),
    b = f64([1000, -Infinity, -Infinity, 1e308, -1]);
  near(logaddexp(a, b), [
    1000 + Math.LN2,
    0,
    -Infinity,
    1e308,
    2 + Math.log1p(Math.exp(-3)),
  ], {
    rtol: 1e-15,
  });
  const [ga, gb] = grad((a: Tensor, b: Tensor) => logaddexp(a, b).sum(), {
    argnums: [0, 1],
  })(
    f64([1, 3]),
    f64([1, -2]),
  ) as Tensor[];
  const s = 1 / (1 + Math.exp(-5));
  near(ga, [0.5, s], { rtol: 1e-15 });
  near(gb, [0.5, 1 - s], { rtol: 1e-14 });
  near(logaddexp(2, f64([0])), [2 + Math.log1p(Math.exp(-2))], {
    rtol: 1e-15,
  });
});

Deno.test("hypot: no overflow or underflow, gradient a / hypot, 0 at the origin", () => {
  near(hypot(tensor([3, 1e30, 1e-30]), tensor([4, 1e30, 1e-30])), [
    5,
    Math.SQRT2 * 1e30,
    Math.SQRT2 * 1e-30,
  ], {
    rtol: 1e-6,
  });
  const a = f64([3, 0, -1e200]), b = f64([4, 0, 1e200]);
  near(a.hypot(b), [5, 0, Math.hypot(1e200, 1e200)], { rtol: 1e-15 });
  const [ga, gb] = grad((a: Tensor, b: Tensor) => hypot(a, b).sum(), {
    argnums: [0, 1],
  })(a, b) as Tensor[];
  near(ga, [0.6, 0, -Math.SQRT1_2], { rtol: 1e-15 });
  near(gb, [0.8, 0, Math.SQRT1_2], { rtol: 1e-15 });
  near(hypot(f64([Infinity]), f64([1])), [Infinity]);
});

// --------------------------------------------------------------- reductions

Deno.test("variance and std: two-pass values, correction, keepdim, N <= correction", () => {
  const data = [[1e8 + 1, 1e8 + 2, 1e8 + 3], [4, 6, 8]];
  const x = f64(data);
  near(variance(x, 1), [1, 4], { rtol: 1e-15 });
  near(x.var(1, { correction: 0, keepdim: true }), [[2 / 3], [8 / 3]], {
    rtol: 1e-15,
  });
  near(std(f64([2, 4, 4, 4, 5, 5, 7, 9]), 0, { correction: 0 }), 2);
  near(f64([1, 2, 3, 4]).var(), 5 / 3, { rtol: 1e-15 });
  // Options in the dim slot reduce over all dims.
  near(f64([1, 2, 3, 4]).var({ correction: 0 }), 5 / 4, { rtol: 1e-15 });
  near(variance(f64([1, 2, 3, 4]), { correction: 0 }), 5 / 4, { rtol: 1e-15 });
  near(std(f64([[1, 3], [5, 7]]), { keepdim: true }), [[Math.sqrt(20 / 3)]]);
  assertThrowsWith(
    () => variance(f64([1, 2]), "0" as unknown as number),
    TypeError,
    "dim must be a number or an array of numbers",
  );
  if (!Number.isNaN(variance(f64([3])).item())) {
    throw new Error(
      "var of one value with correction 1 is 0/0 = NaN, as PyTorch",
    );
  }
  near(variance(f64([3, 5]), 0, { correction: 2 }), Infinity);
  const g = grad((x: Tensor) => variance(x))(f64([1, 2, 6]));
  near(g, [1, 2, 6].map((v) => (2 * (v - 3)) / 2));
  assertThrowsWith(
    () => std(f64([1]), 0, { correction: NaN }),
    TypeError,
    "std",
    "correction",
  );
});

Deno.test("norm: every order, keepdim, and a zero gradient (not NaN) at the zero vector", () => {
  const x = f64([[3, -4], [0, 12]]);
  near(norm(x), 13);
  near(norm(x, "fro"), 13);
  near(x.norm(2, 1), [5, 12]);
  near(norm(x, 1, 0, true), [[3, 16]]);
  near(norm(x, Infinity), 12);
  near(norm(x, -Infinity, 1), [3, 0]);
  near(norm(x, 0), 3);
  near(norm(x, 3, 1), [Math.cbrt(27 + 64), 12], { rtol: 1e-15 });
  near(norm(x, 0.5, 1), [(Math.sqrt(3) + 2) ** 2, 12], { rtol: 1e-15 });
  near(grad((v: Tensor) => norm(v))(zeros([3], { dtype: "float64" })), [
    0,
    0,
    0,
  ]);
  near(
    grad((v: Tensor) => norm(v, 3))(zeros([2], { dtype: "float64" })),
    [0, 0],
  );
  near(grad((v: Tensor) => norm(v))(f64([3, 4])), [0.6, 0.8]);
  assertThrowsWith(() => norm(x, -1), RangeError, "norm", "p must be");
});

// ------------------------------------------------------------------- losses

Deno.test("oneHot: values, inferred numClasses, dtype, range errors, and under vmap", () => {
  near(
    oneHot(i32([0, 2, 1]), 3),
    tensor([[1, 0, 0], [0, 0, 1], [0, 1, 0]]),
  );
  near(
    oneHot(i32([[1], [3]])),
    tensor([[[0, 1, 0, 0]], [[0, 0, 0, 1]]]),
  );
  near(oneHot(i32([1]), 2, { dtype: "float64" }), f64([[0, 1]]));
  assertThrowsWith(
    () => oneHot(i32([0, 3]), 3),
    RangeError,
    "oneHot",
    "index 3",
    "numClasses 3",
  );
  assertThrowsWith(() => oneHot(i32([-1]), 3), RangeError, "index -1");
  assertThrowsWith(() => oneHot(tensor([1]), 3), TypeError, "oneHot", "int32");
  const batched = vmap((i: Tensor) => oneHot(i, 3))(i32([[0, 1], [2, 2]]));
  near(batched, oneHot(i32([[0, 1], [2, 2]]), 3));
  assertThrowsWith(
    () => vmap((i: Tensor) => oneHot(i))(i32([[0]])),
    TypeError,
    "numClasses must be given",
  );
});

function jsCrossEntropy(logits: number[][], target: number[]): number[] {
  return logits.map((r, i) => jsLogsumexp(r) - r[target[i]]);
}

Deno.test("crossEntropy with class indices and probabilities matches -log softmax", () => {
  const rng = new Rng(5);
  const logits = randnT(rng, [4, 3]);
  const y = [2, 0, 1, 1];
  const per = jsCrossEntropy(rows(logits), y);
  near(crossEntropy(logits, i32(y), { reduction: "none" }), per, {
    rtol: 1e-14,
  });
  near(crossEntropy(logits, i32(y)), per.reduce((a, b) => a + b) / 4, {
    rtol: 1e-14,
  });
  near(
    crossEntropy(logits, i32(y), { reduction: "sum" }),
    per.reduce((a, b) => a + b),
    {
      rtol: 1e-14,
    },
  );
  const p = oneHot(i32(y), 3, { dtype: "float64" });
  near(crossEntropy(logits, p), crossEntropy(logits, i32(y)), {
    rtol: 1e-14,
  });
  // Unnormalised probabilities: -Σ q log softmax.
  const q = f64([[2, 0, 1], [0, 0, 0], [1, 1, 1], [0.5, 0, 0]]);
  const lsm = rows(logSoftmax(logits, 1));
  const expected = rows(q).map((r, i) =>
    -r.reduce((s, v, c) => s + v * lsm[i][c], 0)
  );
  near(crossEntropy(logits, q, { reduction: "none" }), expected, {
    rtol: 1e-14,
  });
  // Label smoothing ε: target (1 - ε) onehot + ε / C.
  const eps = 0.1;
  const smooth = rows(logits).map((r, i) => {
    const l = jsLogsumexp(r);
    return r.reduce(
      (s, v, c) => s + ((c === y[i] ? 1 - eps : 0) + eps / 3) * (l - v),
      0,
    );
  });
  near(
    crossEntropy(logits, i32(y), { reduction: "none", labelSmoothing: eps }),
    smooth,
    {
      rtol: 1e-14,
    },
  );
});

Deno.test("crossEntropy: [N, C, d] logits, unbatched logits, huge logits with gradient softmax - onehot", () => {
  const rng = new Rng(6);
  const logits = randnT(rng, [2, 3, 4]);
  const y = fromGen([2, 4], () => rng.int(0, 2), "int32");
  const moved = logits.movedim(1, -1).reshape([8, 3]);
  near(
    crossEntropy(logits, y, { reduction: "none" }),
    crossEntropy(moved, y.reshape([8]), { reduction: "none" }).reshape([2, 4]),
    { rtol: 1e-14 },
  );
  near(
    crossEntropy(f64([1, 2, 3]), i32(2)),
    jsLogsumexp([1, 2, 3]) - 3,
    { rtol: 1e-15 },
  );
  const big = f64([[1e4, 0, -1e4]]);
  near(crossEntropy(big, i32([1])), 1e4);
  near(grad((l: Tensor) => crossEntropy(l, i32([1])))(big), [[
    1,
    -1,
    0,
  ]]);
});

Deno.test("crossEntropy names its arguments and shapes in errors", () => {
  const l = zeros([2, 3], { dtype: "float64" });
  assertThrowsWith(
    () => crossEntropy(l, i32([0, 1, 2])),
    RangeError,
    "class-index target must have shape [2]",
    "[3]",
  );
  assertThrowsWith(
    () => crossEntropy(l, f64([1, 0])),
    RangeError,
    "crossEntropy (probabilities)",
    "[2]",
  );
  assertThrowsWith(
    () => crossEntropy(l, zeros([2, 3])),
    TypeError,
    "float32",
    "float64",
  );
  assertThrowsWith(
    () => crossEntropy(l, i32([0, 1]), { reduction: "avg" as never }),
    TypeError,
    "reduction",
  );
  assertThrowsWith(
    () => crossEntropy(l, i32([0, 1]), { labelSmoothing: 2 }),
    RangeError,
    "labelSmoothing",
  );
  assertThrowsWith(
    () => crossEntropy(l, i32([0, 3])),
    RangeError,
    "crossEntropy",
    "target class 3",
    "3 classes",
  );
});

Deno.test("binaryCrossEntropyWithLogits: stable at ±100, gradient sigmoid(x) - y, posWeight", () => {
  const x = [100, -100, 0, 2, -3], y = [1, 0, 1, 0.3, 0.8];
  const ref = x.map((v, i) =>
    Math.max(v, 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)))
  );
  near(
    binaryCrossEntropyWithLogits(f64(x), f64(y), { reduction: "none" }),
    ref,
    { rtol: 1e-15, atol: 1e-300 },
  );
  const g = grad((v: Tensor) =>
    binaryCrossEntropyWithLogits(v, f64(y), { reduction: "sum" })
  )(f64(x));
  near(g, x.map((v, i) => 1 / (1 + Math.exp(-v)) - y[i]), {
    atol: 1e-15,
  });
  const w = 3;
  const refW = x.map((v, i) =>
    -(w * y[i] * Math.log(1 / (1 + Math.exp(-v))) +
      (1 - y[i]) * Math.log(1 - 1 / (1 + Math.exp(-v))))
  );
  near(
    binaryCrossEntropyWithLogits(f64(x.slice(2)), f64(y.slice(2)), {
      posWeight: w,
      reduction: "none",
    }),
    refW.slice(2),
    {
      rtol: 1e-14,
    },
  );
  assertThrowsWith(
    () => binaryCrossEntropyWithLogits(f64([1]), f64([1, 0])),
    RangeError,
    "target shape [2]",
  );
});

Deno.test("mseLoss: reductions and a shape error", () => {
  const a = f64([1, 2, 3]), b = f64([1, 2, 5]);
  near(mseLoss(a, b), 4 / 3, { rtol: 1e-15 });
  near(mseLoss(a, b, { reduction: "sum" }), 4);
  near(mseLoss(a, b, { reduction: "none" }), [0, 0, 4]);
  assertThrowsWith(
    () => mseLoss(a, f64([1])),
    RangeError,
    "mseLoss",
    "[1]",
    "[3]",
  );
});

// ------------------------------------------------------------------- layout

Deno.test("split and chunk: sizes as PyTorch, and errors", () => {
  const x = arange(7);
  near(split(x, 3)[2], [6]);
  const parts = x.split([2, 0, 5]);
  near(parts[0], [0, 1]);
  near(parts[1], tensor([]).reshape([0]));
  near(parts[2], [2, 3, 4, 5, 6]);
  const sizes = (ts: Tensor[]) => ts.map((t) => t.shape[0]);
  if (sizes(chunk(x, 3)).join() !== "3,3,1") throw new Error("chunk(7, 3)");
  if (sizes(chunk(arange(6), 4)).join() !== "2,2,2") {
    throw new Error("chunk(6, 4)");
  }
  assertThrowsWith(() => split(x, [2, 2]), RangeError, "add up to 4", "size 7");
  assertThrowsWith(() => split(x, 0), RangeError, "splitSize");
});

function jsMatrix(
  n: number,
  m: number,
  f: (i: number, j: number) => number,
): number[][] {
  return Array.from(
    { length: n },
    (_, i) => Array.from({ length: m }, (_, j) => f(i, j)),
  );
}

Deno.test("tril, triu, diag, diagonal and trace match index formulas", () => {
  const x = randnT(new Rng(7), [3, 4]);
  const v = rows(x);
  for (const k of [-2, -1, 0, 1, 3]) {
    near(
      tril(x, k),
      jsMatrix(3, 4, (i, j) => (j - i <= k ? v[i][j] : 0)).flat(),
    );
    near(
      triu(x, k),
      jsMatrix(3, 4, (i, j) => (j - i >= k ? v[i][j] : 0)).flat(),
    );
    const d: number[] = [];
    for (let i = 0; i < 3; i++) {
      if (i + k >= 0 && i + k < 4) d.push(v[i][i + k]);
    }
    near(diagonal(x, k), d);
    near(x.diag(k), d);
  }
  const t = tril(f64([[Infinity, Infinity], [1, 2]]));
  near(t, [[Infinity, 0], [1, 2]]);
  near(diag(f64([1, 2]), -1), [[0, 0, 0], [1, 0, 0], [0, 2, 0]]);
  near(
    diag(f64([5]), 2),
    jsMatrix(3, 3, (i, j) => (i === 0 && j === 2 ? 5 : 0)).flat(),
  );
  const cube = arange(24, undefined, 1, { dtype: "float64" }).reshape([
    2,
    3,
    4,
  ]);
  near(diagonal(cube, 0, 1, 2), [[0, 5, 10], [12, 17, 22]]);
  // Matrices over (dim 2, dim 0); offset -1 takes entries [i + 1, i]:
  // cube[i][m][i + 1] for each m of dim 1.
  near(
    diagonal(cube, -1, 2, 0),
    [0, 1, 2].map((m) => [0, 1].map((i) => 12 * i + 4 * m + i + 1)),
  );
  near(trace(x), v[0][0] + v[1][1] + v[2][2], { rtol: 1e-15 });
  assertThrowsWith(() => trace(f64([1, 2])), RangeError, "trace", "[2]");
  assertThrowsWith(() => diagonal(cube, 0, 1, -2), RangeError, "same dim");
});

Deno.test("tile, repeatInterleave, roll and flip match index formulas", () => {
  const x = f64([[1, 2, 3], [4, 5, 6]]);
  near(
    tile(x, [2, 2]),
    jsMatrix(4, 6, (i, j) => rows(x)[i % 2][j % 3]).flat(),
  );
  near(tile(f64([1, 2]), [2, 1, 2]).reshape([-1]), [
    1,
    2,
    1,
    2,
    1,
    2,
    1,
    2,
  ]);
  near(tile(x, [2]), [[1, 2, 3, 1, 2, 3], [4, 5, 6, 4, 5, 6]]);
  near(repeatInterleave(x, 2), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  near(x.repeatInterleave([0, 1, 3], 1), [[2, 3, 3, 3], [5, 6, 6, 6]]);
  near(repeatInterleave(x, i32([2, 1]), 0), [[1, 2, 3], [1, 2, 3], [
    4,
    5,
    6,
  ]]);
  assertThrowsWith(
    () => repeatInterleave(x, [1, 2], 1),
    RangeError,
    "2 repeats for dim 1 of size 3",
  );
  near(roll(x, 1, 1), [[3, 1, 2], [6, 4, 5]]);
  near(roll(x, -1), [2, 3, 4, 5, 6, 1]);
  near(roll(x, [7, 1], [1, 0]), [[6, 4, 5], [3, 1, 2]]);
  near(flip(x, 1), [[3, 2, 1], [6, 5, 4]]);
  near(x.flip([0, 1]), [[6, 5, 4], [3, 2, 1]]);
  assertThrowsWith(() => roll(x, [1, 2]), RangeError, "single number");
});

Deno.test("pad: constant, crop, reflect, replicate and circular match index formulas", () => {
  const x = f64([[1, 2, 3], [4, 5, 6]]);
  const v = rows(x);
  near(pad(x, [1, 2]), v.map((r) => [0, ...r, 0, 0]).flat());
  near(
    pad(x, [0, 0, 1, 1], { value: -1 }),
    [[-1, -1, -1], ...v, [-1, -1, -1]].flat(),
  );
  near(pad(x, [-1, 1]), v.map((r) => [r[1], r[2], 0]).flat());
  const modes = {
    reflect: (
      j: number,
      n: number,
    ) => (j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j),
    replicate: (j: number, n: number) => Math.min(Math.max(j, 0), n - 1),
    circular: (j: number, n: number) => ((j % n) + n) % n,
  };
  for (const [mode, src] of Object.entries(modes)) {
    const [l, r, t, b] = [2, 1, 1, 1];
    const got = pad(x, [l, r, t, b], { mode: mode as "reflect" });
    const exp = jsMatrix(
      2 + t + b,
      3 + l + r,
      (i, j) => v[src(i - t, 2)][src(j - l, 3)],
    );
    near(got, exp.flat(), {}, mode);
  }
  assertThrowsWith(
    () => pad(x, [3, 0], { mode: "reflect" }),
    RangeError,
    "too large",
  );
  assertThrowsWith(() => pad(x, [1]), RangeError, "pairs");
  assertThrowsWith(
    () => pad(x, [1, 1], { mode: "edge" as never }),
    TypeError,
    "mode",
  );
});

Deno.test("gather and takeAlongDim match index formulas; gather's gradient accumulates repeats", () => {
  const x = f64([[1, 2, 3], [4, 5, 6]]);
  near(gather(x, 1, i32([[2, 0], [1, 1]])), [[3, 1], [5, 5]]);
  near(x.gather(0, i32([[1, 0, 1]])), [[4, 2, 6]]);
  const g = grad((x: Tensor) => gather(x, 1, i32([[2, 2], [0, 1]])).sum())(x);
  near(g, [[0, 0, 2], [1, 1, 0]]);
  near(takeAlongDim(x, i32([[2], [0]]), 1), [[3], [4]]);
  near(takeAlongDim(x, i32([[0, 2]]), 1), [[1, 3], [4, 6]]);
  near(x.takeAlongDim(i32([5, 0])), [6, 1]);
  assertThrowsWith(
    () => gather(x, 1, i32([[3]])),
    RangeError,
    "index 3",
    "size 3",
  );
  assertThrowsWith(() => gather(x, 1, i32([1])), RangeError, "rank 1");
  assertThrowsWith(() => gather(x, 1, f64([[1]])), TypeError, "int32");
});

Deno.test("softplus, logaddexp and BCE differentiate at their kink-free 0 to second order", () => {
  const d2 = (f: (x: Tensor) => Tensor) =>
    grad((x: Tensor) => grad((x: Tensor) => f(x).sum())(x).sum())(f64([0]));
  near(grad((x: Tensor) => softplus(x).sum())(f64([0])), [0.5]);
  near(d2(softplus), [0.25]);
  near(d2((a) => logaddexp(a, f64([0]))), [0.25]);
  near(d2((x) => binaryCrossEntropyWithLogits(x, f64([0.3]))), [0.25]);
  near(
    grad((x: Tensor) => binaryCrossEntropyWithLogits(x, f64([0.3])))(f64([0])),
    [0.2],
  );
});

Deno.test("the composites work on the eager tape (requiresGrad/backward) as under grad", () => {
  const rng = new Rng(9);
  const x0 = randnT(rng, [3, 4]), w = randnT(rng, [3, 4]);
  const y = i32([0, 3, 1]);
  const f = (x: Tensor) =>
    softmax(x, 1).mul(w).sum()
      .add(crossEntropy(x, y))
      .add(gelu(x).mul(w).sum())
      .add(logsumexp(x, 0).sum())
      .add(pad(flip(x, 1), [1, 1], { mode: "reflect" }).mul(0.1).sum())
      .add(gather(x, 1, i32([[1], [2], [0]])).sum());
  const x = x0.requiresGrad();
  f(x).backward();
  near(x.grad!, grad(f)(x0), { rtol: 1e-12, atol: 1e-12 });
});
