/**
 * Convolution and pooling against direct loops written from PyTorch's
 * definitions (float64), the adjoint identities between conv2d and
 * convTranspose2d, the tie and NaN conventions of max pooling, and the
 * argument errors. The transforms (jvp, vjp, second order, vmap, jit) run
 * through the case table (conv_cases.ts).
 * @module
 */
import {
  avgPool2d,
  conv1d,
  conv2d,
  convTranspose2d,
  grad,
  jacfwd,
  jacobianSparsity,
  jit,
  maxPool2d,
  sort,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";
import {
  assertClose,
  assertThrowsWith,
  fromGen,
  inner,
  randnT,
  Rng,
} from "./_helpers.ts";

const rng = new Rng(77);
const r = (...shape: number[]) => randnT(rng, shape);

interface Geo {
  stride: number[];
  padLo: number[];
  padHi: number[];
  dilation: number[];
  groups: number;
}

/** Direct 2-D cross-correlation: y[n, o, i, j] = Σ x[n, c, i·s - p + a·d, j·s - p + b·d] w[o, c, a, b]. */
function naiveConv2d(x: Tensor, w: Tensor, g: Geo): Tensor {
  const [N, C, H, W] = x.shape, [O, Cg, KH, KW] = w.shape;
  const G = g.groups, Og = O / G;
  const OH = Math.floor(
    (H + g.padLo[0] + g.padHi[0] - g.dilation[0] * (KH - 1) - 1) /
      g.stride[0],
  ) + 1;
  const OW = Math.floor(
    (W + g.padLo[1] + g.padHi[1] - g.dilation[1] * (KW - 1) - 1) /
      g.stride[1],
  ) + 1;
  const xd = x.data(), wd = w.data();
  const y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const gi = Math.floor(o / Og);
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          let s = 0;
          for (let c = 0; c < Cg; c++) {
            for (let a = 0; a < KH; a++) {
              for (let b = 0; b < KW; b++) {
                const h = i * g.stride[0] - g.padLo[0] + a * g.dilation[0];
                const v = j * g.stride[1] - g.padLo[1] + b * g.dilation[1];
                if (h < 0 || v < 0 || h >= H || v >= W) continue;
                s += xd[((n * C + gi * Cg + c) * H + h) * W + v] *
                  wd[((o * Cg + c) * KH + a) * KW + b];
              }
            }
          }
          y[((n * O + o) * OH + i) * OW + j] = s;
        }
      }
    }
  }
  return tensor(y, { dtype: "float64" }).reshape([N, O, OH, OW]);
}

/** Direct transposed convolution: each input entry scatters its kernel. */
function naiveConvTranspose2d(
  x: Tensor,
  w: Tensor,
  s: number[],
  p: number[],
  op: number[],
  d: number[],
  G: number,
): Tensor {
  const [N, Cin, H, W] = x.shape, [, Cog, KH, KW] = w.shape;
  const Cout = Cog * G, Cig = Cin / G;
  const OH = (H - 1) * s[0] - 2 * p[0] + d[0] * (KH - 1) + op[0] + 1;
  const OW = (W - 1) * s[1] - 2 * p[1] + d[1] * (KW - 1) + op[1] + 1;
  const xd = x.data(), wd = w.data();
  const y = new Float64Array(N * Cout * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let ci = 0; ci < Cin; ci++) {
      const gi = Math.floor(ci / Cig);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const v = xd[((n * Cin + ci) * H + i) * W + j];
          for (let co = 0; co < Cog; co++) {
            for (let a = 0; a < KH; a++) {
              for (let b = 0; b < KW; b++) {
                const h = i * s[0] - p[0] + a * d[0];
                const q = j * s[1] - p[1] + b * d[1];
                if (h < 0 || q < 0 || h >= OH || q >= OW) continue;
                y[((n * Cout + gi * Cog + co) * OH + h) * OW + q] += v *
                  wd[((ci * Cog + co) * KH + a) * KW + b];
              }
            }
          }
        }
      }
    }
  }
  return tensor(y, { dtype: "float64" }).reshape([N, Cout, OH, OW]);
}

const geo = (
  stride: number[],
  pad: number[],
  dilation: number[],
  groups = 1,
): Geo => ({ stride, padLo: pad, padHi: pad, dilation, groups });

Deno.test("conv2d matches a direct loop for strides, padding, dilation and groups", () => {
  const cases: [number[], number[], Geo][] = [
    [[2, 3, 7, 6], [4, 3, 3, 3], geo([1, 1], [0, 0], [1, 1])],
    [[1, 4, 8, 7], [6, 2, 3, 2], geo([2, 3], [1, 2], [1, 1], 2)],
    [[2, 2, 9, 9], [2, 1, 3, 3], geo([1, 2], [2, 1], [2, 3], 2)],
    [[1, 3, 5, 5], [5, 3, 1, 1], geo([1, 1], [0, 0], [1, 1])],
    [[3, 6, 6, 5], [3, 2, 2, 2], geo([2, 1], [1, 0], [1, 1], 3)],
  ];
  for (const [xs, ws, g] of cases) {
    const x = r(...xs), w = r(...ws);
    const y = conv2d(x, w, {
      stride: g.stride,
      padding: g.padLo,
      dilation: g.dilation,
      groups: g.groups,
    });
    assertClose(y, naiveConv2d(x, w, g), {}, `x ${xs}, w ${ws}`);
    // float32 agrees to single precision.
    const y32 = conv2d(x.to("float32"), w.to("float32"), {
      stride: g.stride,
      padding: g.padLo,
      dilation: g.dilation,
      groups: g.groups,
    });
    assertClose(y32.to("float64"), y, { rtol: 1e-5, atol: 1e-5 });
  }
});

Deno.test('conv2d padding "same" keeps the size (odd totals go right) and "valid" is none', () => {
  const x = r(2, 3, 6, 5), w = r(4, 3, 2, 3);
  const y = conv2d(x, w, { padding: "same", dilation: [3, 1] });
  // total padding dilation·(k - 1): rows 3 → (1, 2), columns 2 → (1, 1).
  const want = naiveConv2d(x, w, {
    stride: [1, 1],
    padLo: [1, 1],
    padHi: [2, 1],
    dilation: [3, 1],
    groups: 1,
  });
  assertClose(y, want);
  assertClose(
    conv2d(x, w, { padding: "valid" }),
    naiveConv2d(x, w, geo([1, 1], [0, 0], [1, 1])),
  );
});

Deno.test("conv2d adds the bias per output channel and accepts unbatched input", () => {
  const x = r(3, 5, 5),
    w = r(2, 3, 3, 3),
    b = tensor([10, -20], {
      dtype: "float64",
    });
  const y = conv2d(x, w, b, { padding: 1 });
  const ref = naiveConv2d(x.unsqueeze(0), w, geo([1, 1], [1, 1], [1, 1]))
    .squeeze(0).add(b.reshape([2, 1, 1]));
  assertClose(y, ref);
  assertClose(conv2d(x, w, { bias: b, padding: 1 }), ref);
});

Deno.test("conv1d is conv2d over a unit height", () => {
  const x = r(2, 4, 9), w = r(6, 2, 3), b = r(6);
  const y = conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2, groups: 2 });
  const ref = conv2d(x.unsqueeze(2), w.unsqueeze(2), b, {
    stride: [1, 2],
    padding: [0, 1],
    dilation: [1, 2],
    groups: 2,
  }).squeeze(2);
  assertClose(y, ref);
});

Deno.test("convTranspose2d matches a direct scatter and is the adjoint of conv2d", () => {
  const cases: [
    number[],
    number[],
    number[],
    number[],
    number[],
    number[],
    number,
  ][] = [
    [[2, 3, 4, 3], [3, 2, 3, 3], [1, 1], [0, 0], [0, 0], [1, 1], 1],
    [[1, 4, 3, 3], [4, 3, 4, 4], [2, 2], [1, 1], [0, 0], [1, 1], 1],
    [[2, 4, 3, 4], [4, 1, 3, 2], [2, 3], [1, 0], [1, 2], [1, 1], 2],
    [[1, 2, 4, 4], [2, 2, 2, 3], [1, 2], [0, 1], [1, 0], [2, 2], 1],
  ];
  for (const [xs, ws, s, p, op, d, G] of cases) {
    const x = r(...xs), w = r(...ws);
    const y = convTranspose2d(x, w, {
      stride: s,
      padding: p,
      outputPadding: op,
      dilation: d,
      groups: G,
    });
    assertClose(y, naiveConvTranspose2d(x, w, s, p, op, d, G), {}, `x ${xs}`);
    // ⟨convT(x, w), z⟩ = ⟨x, conv(z, w)⟩ (conv from the transposed output).
    const z = r(...y.shape);
    const back = conv2d(z, w, {
      stride: s,
      padding: p,
      dilation: d,
      groups: G,
    });
    // (an outputPadding at least the stride adds rows that no input reaches)
    const crop = back.narrow(2, 0, x.shape[2]).narrow(3, 0, x.shape[3]);
    const lhs = inner(y, z), rhs = inner(x, crop);
    if (Math.abs(lhs - rhs) > 1e-9 * (1 + Math.abs(lhs))) {
      throw new Error(`adjoint: ${lhs} vs ${rhs}`);
    }
  }
});

Deno.test("the gradient of conv2d in its input is convTranspose2d of the cotangent", () => {
  const x = r(2, 3, 7, 7), w = r(4, 3, 3, 3), c = r(2, 4, 3, 3);
  const gx = grad((x: Tensor) =>
    conv2d(x, w, { stride: 2, padding: 0 }).mul(c).sum()
  )(x);
  assertClose(
    gx,
    convTranspose2d(c, w, { stride: 2, outputPadding: 0 }),
  );
});

/** Direct max / average pooling of [N, C, H, W] (PyTorch's definitions). */
function naivePool(
  x: Tensor,
  k: number[],
  s: number[],
  p: number[],
  out: number[],
  kind: "max" | "avg",
  countIncludePad = true,
): Tensor {
  const [N, C, H, W] = x.shape;
  const xd = x.data();
  const y = new Float64Array(N * C * out[0] * out[1]);
  for (let pl = 0; pl < N * C; pl++) {
    for (let i = 0; i < out[0]; i++) {
      for (let j = 0; j < out[1]; j++) {
        const h0 = i * s[0] - p[0], w0 = j * s[1] - p[1];
        let m = -Infinity, sum = 0;
        for (let a = h0; a < h0 + k[0]; a++) {
          for (let b = w0; b < w0 + k[1]; b++) {
            if (a < 0 || b < 0 || a >= H || b >= W) continue;
            const v = xd[(pl * H + a) * W + b];
            m = Math.max(m, v);
            sum += v;
          }
        }
        const h1 = Math.min(h0 + k[0], H + p[0]),
          w1 = Math.min(w0 + k[1], W + p[1]);
        const n = countIncludePad
          ? (h1 - h0) * (w1 - w0)
          : (Math.min(h1, H) - Math.max(h0, 0)) *
            (Math.min(w1, W) - Math.max(w0, 0));
        y[(pl * out[0] + i) * out[1] + j] = kind === "max" ? m : sum / n;
      }
    }
  }
  return tensor(y, { dtype: "float64" }).reshape([N, C, ...out]);
}

Deno.test("maxPool2d and avgPool2d match direct loops, with and without ceilMode", () => {
  const x = r(2, 3, 7, 6);
  assertClose(
    maxPool2d(x, 2),
    naivePool(x, [2, 2], [2, 2], [0, 0], [3, 3], "max"),
  );
  assertClose(
    maxPool2d(x, [3, 2], { stride: [2, 1], padding: [1, 1] }),
    naivePool(x, [3, 2], [2, 1], [1, 1], [4, 7], "max"),
  );
  // ceilMode: (7 + 2 - 3) / 2 → 3 + 1 = 4 rows; (6 + 2 - 3) / 2 = 2.5 → 4 columns.
  const cm = maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true });
  assertClose(cm, naivePool(x, [3, 3], [2, 2], [1, 1], [4, 4], "max"));
  assertClose(
    avgPool2d(x, 2),
    naivePool(x, [2, 2], [2, 2], [0, 0], [3, 3], "avg"),
  );
  for (const countIncludePad of [true, false]) {
    assertClose(
      avgPool2d(x, 3, {
        stride: 2,
        padding: 1,
        ceilMode: true,
        countIncludePad,
      }),
      naivePool(x, [3, 3], [2, 2], [1, 1], [4, 4], "avg", countIncludePad),
      {},
      `countIncludePad ${countIncludePad}`,
    );
  }
  assertClose(
    avgPool2d(x, 2, { divisorOverride: 2 }),
    naivePool(x, [2, 2], [2, 2], [0, 0], [3, 3], "avg").mul(2),
  );
});

Deno.test("maxPool2d: the gradient goes to the first maximum of a window; NaN is the maximum", () => {
  const x = tensor([[[[1, 3, 3, 0], [3, 2, 1, 1]]]], { dtype: "float64" });
  // Window 0 has 3 at (0,1), (1,0): the first in row-major order wins.
  const g = grad((x: Tensor) => maxPool2d(x, 2).sum())(x);
  assertClose(
    g,
    tensor([[[[0, 1, 1, 0], [0, 0, 0, 0]]]], { dtype: "float64" }),
  );
  const n = tensor([[[[1, NaN], [5, 2]]]]);
  const y = maxPool2d(n, 2).data();
  if (!Number.isNaN(y[0])) throw new Error(`expected NaN, got ${y[0]}`);
});

Deno.test("conv and pooling under vmap, jit and grad agree with loops", () => {
  const w = r(4, 2, 3, 3);
  const xs = r(3, 2, 2, 5, 5);
  const f = (x: Tensor) =>
    maxPool2d(conv2d(x, w, { padding: 1 }).tanh(), 2).sum();
  const per = vmap(grad(f))(xs);
  for (let i = 0; i < 3; i++) {
    assertClose(per.select(0, i), grad(f)(xs.select(0, i)), {}, `sample ${i}`);
  }
  const jf = jit(grad(f));
  assertClose(jf(xs.select(0, 0)), grad(f)(xs.select(0, 0)));
  // Per-example weight gradients (vmap over both operands).
  const ws = r(3, 4, 2, 3, 3);
  const gw = vmap(grad((w: Tensor, x: Tensor) => conv2d(x, w).square().sum()))(
    ws,
    xs,
  );
  for (let i = 0; i < 3; i++) {
    const want = grad((w: Tensor) => conv2d(xs.select(0, i), w).square().sum())(
      ws.select(0, i),
    );
    assertClose(gw.select(0, i), want, {}, `weight gradient ${i}`);
  }
});

Deno.test("convolution and pooling errors name the argument and the shapes", () => {
  const x = r(1, 3, 5, 5);
  assertThrowsWith(
    () => conv2d(x, r(4, 2, 3, 3)),
    RangeError,
    "conv2d",
    "[1, 3, 5, 5]",
    "[4, 2, 3, 3]",
  );
  assertThrowsWith(
    () => conv2d(x, r(4, 3, 3, 3), { padding: "same", stride: 2 }),
    RangeError,
    'padding "same" needs stride 1',
  );
  assertThrowsWith(() => conv2d(x, r(4, 3, 3)), RangeError, "weight must be");
  assertThrowsWith(
    () => conv2d(x, r(4, 3, 7, 3)),
    RangeError,
    "spans 7",
  );
  assertThrowsWith(
    () => conv2d(x, r(4, 3, 3, 3), { stride: 0 }),
    RangeError,
    "stride",
  );
  assertThrowsWith(
    () => conv2d(x, r(4, 3, 3, 3), r(3)),
    RangeError,
    "bias must have shape [4]",
  );
  assertThrowsWith(
    () => convTranspose2d(x, r(3, 2, 3, 3), { stride: 2, outputPadding: 2 }),
    RangeError,
    "outputPadding 2",
  );
  assertThrowsWith(
    () => maxPool2d(x, 2, { padding: 2 }),
    RangeError,
    "at most half",
  );
  assertThrowsWith(() => maxPool2d(r(5, 5), 2), RangeError, "[N, C, H, W]");
  assertThrowsWith(
    () => conv2d(fromGen([1, 3, 5, 5], () => 1, "int32"), r(4, 3, 3, 3)),
    TypeError,
    "int32",
  );
});

/** Nonzero (row, column) entries of the dense Jacobian of f in all its arguments. */
function truePattern(f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): string[] {
  const argnums = xs.map((_, i) => i);
  const Js = jacfwd(f, { argnums })(...xs) as Tensor[];
  const m = Js[0].size / xs[0].size;
  const out: string[] = [];
  let off = 0;
  Js.forEach((J, b) => {
    const n = xs[b].size, d = J.data();
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        if (d[i * n + j] !== 0) out.push(`${i},${off + j}`);
      }
    }
    off += n;
  });
  return out;
}

Deno.test("sparsity detection of conv2d, convTranspose2d and the weight gradient is exact; maxPool2d's is its windows", () => {
  const cases: [string, (...xs: Tensor[]) => Tensor, Tensor[]][] = [
    [
      "conv2d in input and weight, stride, padding, groups",
      (x, w) => conv2d(x, w, { stride: [2, 1], padding: 1, groups: 2 }),
      [r(2, 4, 5, 4), r(4, 2, 3, 2)],
    ],
    [
      "conv1d dilated",
      (x, w) => conv1d(x, w, { dilation: 2, padding: 1 }),
      [r(1, 2, 7), r(3, 2, 3)],
    ],
    [
      "convTranspose2d",
      (x, w) =>
        convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1 }),
      [r(1, 2, 3, 3), r(2, 3, 3, 3)],
    ],
    [
      "the weight gradient of conv2d (convWeightGrad)",
      (x) => grad((w: Tensor) => conv2d(x, w).square().sum())(r(2, 3, 2, 2)),
      [r(1, 3, 4, 4)],
    ],
  ];
  for (const [name, f, xs] of cases) {
    const argnums = xs.map((_, i) => i);
    const p = jacobianSparsity(f, { argnums })(...xs);
    const want = truePattern(f, xs);
    const missing = want.filter((e) => {
      const [i, j] = e.split(",").map(Number);
      return !p.has(i, j);
    });
    if (missing.length > 0 || p.nnz !== want.length) {
      throw new Error(
        `${name}: ${p.nnz} detected vs ${want.length} true entries, missing ${
          missing.slice(0, 3)
        }`,
      );
    }
  }
  // Which tap of a window wins is data: the pattern is the whole window
  // (rows 2 or 3 valid taps, columns 2, 3 or 2, for a 2×3 output here).
  const x = r(1, 1, 4, 5);
  const p = jacobianSparsity((x: Tensor) =>
    maxPool2d(x, 3, { stride: 2, padding: 1 })
  )(x);
  const want = truePattern(
    (x: Tensor) => maxPool2d(x, 3, { stride: 2, padding: 1 }),
    [x],
  );
  if (
    want.some((e) => !p.has(...(e.split(",").map(Number) as [number, number])))
  ) {
    throw new Error("maxPool2d: the pattern misses a true entry");
  }
  if (p.nnz !== (2 + 3) * (2 + 3 + 2)) {
    throw new Error(`maxPool2d: ${p.nnz} entries`);
  }
});

Deno.test("the eager tape (requiresGrad / backward) through conv2d, maxPool2d and sort", () => {
  const x = r(1, 2, 5, 5), w = r(3, 2, 3, 3);
  const f = (x: Tensor, w: Tensor) =>
    sort(maxPool2d(conv2d(x, w, { padding: 1 }), 2).flatten(), {
      descending: true,
    })
      .values.narrow(0, 0, 4).sum();
  const xt = x.requiresGrad(), wt = w.requiresGrad();
  f(xt, wt).backward();
  const [gx, gw] = grad(f, { argnums: [0, 1] })(x, w) as Tensor[];
  assertClose(xt.grad!, gx);
  assertClose(wt.grad!, gw);
});
