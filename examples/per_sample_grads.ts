/**
 * Differentially private SGD (DP-SGD, Abadi et al. 2016) in the style of
 * `torch.func`'s per-sample-gradients tutorial and Opacus: the gradient of
 * every example separately by `vmap(grad(loss))`, each clipped to norm C,
 * summed, plus Gaussian noise of standard deviation σC from `random`
 * keys, averaged over the batch. The per-example gradients are checked
 * against a loop of `grad` calls, the clipping and the noise against their
 * definitions, and a jitted DP-SGD step (minibatch indices and noise drawn
 * inside it from `random.foldIn(key, step)`, the step a traced argument)
 * against the same step run eagerly; then a small classifier trains with
 * it and its loss falls.
 *
 *   npx --yes deno@2 run examples/per_sample_grads.ts [--quick]
 *
 * `--quick` (or `CI` set) trains 150 steps, the default 600. It throws on
 * any disagreement, or unless the training loss falls at least 4×.
 * @module
 */
import {
  cat,
  crossEntropy,
  grad,
  jit,
  linear,
  nn,
  optim,
  random,
  stack,
  type Tensor,
  tree,
  vmap,
} from "../mod.ts";
import { check, QUICK } from "./_util.ts";

console.log(
  `jacobi: DP-SGD with per-example gradients${QUICK ? " (quick)" : ""}`,
);

// ------------------------------------------------------------------ data
// Three classes in 10 dimensions: the label is the argmax of a random
// linear map of x, so a small network can learn it.
const N = 512, D = 10, C = 3, H = 32, BATCH = 64;
const [kx, kTeacher, kInit1, kInit2, kTrain] = random.split(random.key(7), 5);
const X = random.normal(kx, [N, D]);
const Y = X.matmul(random.normal(kTeacher, [D, C])).argmax(1); // int32 [N]

type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };
const params0: Params = {
  w1: nn.init.heNormal(kInit1, [H, D]),
  b1: nn.init.zeros(kInit1, [H]),
  w2: nn.init.glorotUniform(kInit2, [C, H]),
  b2: nn.init.zeros(kInit2, [C]),
};
const logits = (p: Params, x: Tensor) =>
  linear(linear(x, p.w1, p.b1).tanh(), p.w2, p.b2);
/** The loss of one example (x [D], y an int32 scalar). */
const lossOne = (p: Params, x: Tensor, y: Tensor) =>
  crossEntropy(logits(p, x.reshape([1, D])), y.reshape([1]));
const lossAll = (p: Params) => crossEntropy(logits(p, X), Y).item();

// -------------------------------------------------- per-example gradients
const perExample = vmap(grad(lossOne), { inDims: [null, 0, 0] }) as (
  p: Params,
  x: Tensor,
  y: Tensor,
) => Params;

const xb = X.narrow(0, 0, BATCH), yb = Y.narrow(0, 0, BATCH);
let t0 = performance.now();
const gs = perExample(params0, xb, yb);
const tVmap = performance.now() - t0;
t0 = performance.now();
const loop = Array.from(
  { length: BATCH },
  (_, i) => grad(lossOne)(params0, xb.select(0, i), yb.select(0, i)) as Params,
);
const tLoop = performance.now() - t0;
console.log(
  `per-example gradients of ${BATCH} examples: w1 [${gs.w1.shape}], b1 [${gs.b1.shape}], w2 [${gs.w2.shape}], b2 [${gs.b2.shape}]`,
);
for (const k of ["w1", "b1", "w2", "b2"] as const) {
  check(
    `vmap(grad) == loop of grad (${k})`,
    gs[k],
    stack(loop.map((g) => g[k])),
  );
}
console.log(
  `vmap(grad): ${tVmap.toFixed(1)} ms, loop of grad: ${tLoop.toFixed(1)} ms`,
);

// ------------------------------------------------------------ privatize
const CLIP = 1.0, SIGMA = 1.0;

/** Each example's gradient (leading dim) scaled to norm at most `clip`. */
function clipPerExample(g: Params, clip: number): Params {
  const sq = tree.leaves(g).map((t) =>
    t.square().reshape([t.shape[0], -1]).sum(1)
  );
  const norms = sq.reduce((a, b) => a.add(b)).sqrt(); // [B]
  const scale = norms.add(1e-12).reciprocal().mul(clip).clamp(null, 1);
  return tree.map(
    (t) => t.mul(scale.reshape([-1, ...t.shape.slice(1).map(() => 1)])),
    g,
  ) as Params;
}

/** The DP-SGD gradient of a batch: clipped per-example gradients, summed, noised, averaged. */
function dpGrad(p: Params, x: Tensor, y: Tensor, key: Tensor, sigma: number) {
  const clipped = clipPerExample(perExample(p, x, y), CLIP);
  const leaves = tree.leaves(clipped);
  const keys = [...random.split(key, leaves.length)];
  const b = x.shape[0];
  const noisy = leaves.map((t, i) =>
    t.sum(0).add(random.normal(keys[i], t.shape.slice(1)).mul(sigma * CLIP))
      .div(b)
  );
  return tree.unflatten(tree.structure(p), noisy) as Params;
}

// Clipping: every per-example norm is at most C, and the ones below are unchanged.
const clipped = clipPerExample(gs, CLIP);
for (let i = 0; i < BATCH; i++) {
  const norm = (g: Params) =>
    Math.sqrt(
      tree.leaves(g).reduce((a, t) => a + t.square().sum().item(), 0),
    );
  const before = norm(loop[i]);
  const after = norm(tree.map((t) => t.select(0, i), clipped) as Params);
  const want = Math.min(before, CLIP);
  if (!(Math.abs(after - want) <= 1e-5 * Math.max(1, want))) {
    throw new Error(`example ${i}: norm ${before} clipped to ${after}`);
  }
}
console.log(
  `  ok: every clipped per-example gradient has norm min(‖g‖, ${CLIP})`,
);

// Without noise: the mean of the clipped loop gradients.
const key0 = random.key(1);
const noiseless = dpGrad(params0, xb, yb, key0, 0);
const mean = tree.map((t) => t.mean(0), clipped) as Params;
for (const k of ["w1", "b1", "w2", "b2"] as const) {
  check(`σ = 0 gives the mean clipped gradient (${k})`, noiseless[k], mean[k]);
}
// The noise: the difference is σC/B times standard normals.
const noisy = dpGrad(params0, xb, yb, key0, SIGMA);
const z = tree.leaves(noisy).map((t, i) =>
  t.sub(tree.leaves(noiseless)[i]).flatten()
);
const zs = cat(z);
const std = zs.std().item(), expected = SIGMA * CLIP / BATCH;
console.log(
  `noise std ${std.toExponential(3)}, σC/B = ${
    expected.toExponential(3)
  } (${zs.size} coordinates)`,
);
if (Math.abs(std / expected - 1) > 0.15) throw new Error("noise scale");
console.log("  ok: noise std within 15 % of σC/B");

// ------------------------------------------------------------- training
const STEPS = QUICK ? 150 : 600;
const opt = optim.sgd({ lr: 0.2, momentum: 0.9 });
type State = ReturnType<typeof opt.init>;
const dpStep = (p: Params, s: State, key: Tensor, i: number) => {
  // Minibatch and noise from a per-step key, drawn inside the step.
  const [kBatch, kNoise] = random.split(random.foldIn(key, i));
  const idx = random.randint(kBatch, [BATCH], 0, N);
  const g = dpGrad(p, X.index(0, idx), Y.index(0, idx), kNoise, SIGMA);
  const [updates, next] = opt.update(g, s, p);
  return { params: optim.applyUpdates(p, updates), state: next };
};
const step = jit(dpStep);
{
  const s = opt.init(params0);
  const a = step(params0, s, kTrain, 3), b = dpStep(params0, s, kTrain, 3);
  for (const k of ["w1", "b1", "w2", "b2"] as const) {
    check(`jit DP step == eager DP step (${k})`, a.params[k], b.params[k]);
  }
}

let params = params0, state = opt.init(params0);
const before = lossAll(params);
console.log(`step 0: loss ${before.toFixed(4)}`);
t0 = performance.now();
for (let i = 0; i < STEPS; i++) {
  ({ params, state } = step(params, state, kTrain, i));
  if ((i + 1) % (STEPS / 3) === 0) {
    console.log(`step ${i + 1}: loss ${lossAll(params).toFixed(4)}`);
  }
}
const ms = performance.now() - t0;
const after = lossAll(params);
const pred = logits(params, X).argmax(1).data(), truth = Y.data();
const acc = pred.filter((v, i) => v === truth[i]).length / N;
console.log(
  `${STEPS} jitted DP-SGD steps in ${ms.toFixed(0)} ms; loss ${
    before.toFixed(4)
  } -> ${after.toFixed(4)}, training accuracy ${(100 * acc).toFixed(1)} %`,
);
if (!(after < before / 4)) {
  throw new Error(`the loss fell only from ${before} to ${after}`);
}

console.log("\nAll results agree.");
