/**
 * conv2d (the `conv` primitive: im2col and GEMM in one kernel) against the
 * composition a user would write without it: zero-pad, one strided slice
 * per kernel tap, stacked into the unrolled [N, C·kH·kW, H·W] matrix, and a
 * batched matmul with the weight. Forward and gradient (in input and
 * weight), eager and under `jit`, float32, a small-CNN layer:
 * [8, 16, 32, 32] input, [32, 16, 3, 3] weight, padding 1. Each timed call
 * does the full computation from its inputs.
 *
 *   npx --yes deno@2 bench bench/conv_bench.ts
 *
 * Measured on a shared 2-core machine under load (so the minimum of 25
 * calls, in ms; medians roughly 1.5-2x): forward 4.4 (jacobi) vs 22.2
 * (plain), under jit 4.4 vs 5.2; gradient in x and w 12.8 vs 16.0, under
 * jit 7.8 vs 8.6. maxPool2d 2×2 of [8, 32, 32, 32]: 1.8 vs 2.3, gradient
 * 2.8 vs 2.2. The forward convolution is GEMM-bound (about 17 GFLOP/s).
 */
import {
  conv2d,
  grad,
  jit,
  maxPool2d,
  pad,
  random,
  stack,
  type Tensor,
} from "../mod.ts";

const [N, C, H, W, O, K] = [8, 16, 32, 32, 32, 3];
const [k1, k2, k3] = random.split(random.key(0), 3);
const x = random.normal(k1, [N, C, H, W]);
const w = random.normal(k2, [O, C, K, K]).mul(0.1);
const cot = random.normal(k3, [N, O, H, W]);

/** im2col by slices + matmul: the plain composition (stride 1, padding 1). */
function plainConv(x: Tensor, w: Tensor): Tensor {
  const xp = pad(x, [1, 1, 1, 1]);
  const taps: Tensor[] = [];
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < K; b++) {
      taps.push(xp.narrow(2, a, H).narrow(3, b, W)); // [N, C, H, W]
    }
  }
  // [N, C, K·K, H·W] → [N, C·K·K, H·W], ordered as w's [O, C, kH, kW].
  const cols = stack(taps, 2).reshape([N, C * K * K, H * W]);
  return w.reshape([O, C * K * K]).matmul(cols).reshape([N, O, H, W]);
}
const ours = (x: Tensor, w: Tensor) => conv2d(x, w, { padding: 1 });

const loss = (f: (x: Tensor, w: Tensor) => Tensor) => (x: Tensor, w: Tensor) =>
  f(x, w).mul(cot).sum();
const group =
  `conv2d [${N}, ${C}, ${H}, ${W}] * [${O}, ${C}, ${K}, ${K}] float32`;
const gOurs = grad(loss(ours), { argnums: [0, 1] });
const gPlain = grad(loss(plainConv), { argnums: [0, 1] });
const jOurs = jit(ours), jPlain = jit(plainConv);
const jgOurs = jit(gOurs), jgPlain = jit(gPlain);
Deno.bench(
  "plain composition",
  { group, baseline: true },
  () => void plainConv(x, w),
);
Deno.bench("jacobi", { group }, () => void ours(x, w));
Deno.bench("plain composition, jit", { group }, () => void jPlain(x, w));
Deno.bench("jacobi, jit", { group }, () => void jOurs(x, w));
Deno.bench(
  "grad (x, w): plain composition",
  { group },
  () => void gPlain(x, w),
);
Deno.bench("grad (x, w): jacobi", { group }, () => void gOurs(x, w));
Deno.bench(
  "grad (x, w): plain composition, jit",
  { group },
  () => void jgPlain(x, w),
);
Deno.bench("grad (x, w): jacobi, jit", { group }, () => void jgOurs(x, w));

{
  const group = `maxPool2d 2×2 of [${N}, ${O}, ${H}, ${W}] float32`;
  const y = random.normal(k3, [N, O, H, W]);
  // Plain: the maximum of the four strided slices.
  const plainPool = (y: Tensor) =>
    y.slice(2, 0, H, 2).slice(3, 0, W, 2).maximum(
      y.slice(2, 0, H, 2).slice(3, 1, W, 2),
    ).maximum(y.slice(2, 1, H, 2).slice(3, 0, W, 2)).maximum(
      y.slice(2, 1, H, 2).slice(3, 1, W, 2),
    );
  const gp = grad((y: Tensor) => plainPool(y).sum());
  const go = grad((y: Tensor) => maxPool2d(y, 2).sum());
  Deno.bench(
    "plain (max of 4 slices)",
    { group, baseline: true },
    () => void plainPool(y),
  );
  Deno.bench("jacobi", { group }, () => void maxPool2d(y, 2));
  Deno.bench("grad: plain (max of 4 slices)", { group }, () => void gp(y));
  Deno.bench("grad: jacobi", { group }, () => void go(y));
}
