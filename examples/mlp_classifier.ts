/**
 * A two-layer classifier on the two-moons data set, end to end: data from
 * `random` keys, weights from `nn.init`, `crossEntropy`, `optim.adam` with a
 * cosine schedule, and a `jit`ted training step whose parameters and
 * optimizer state (step count included) go in and out as arguments and are
 * donated (each call frees the previous ones), in a synchronous loop whose
 * memory stays flat.
 *
 *   npx --yes deno@2 run examples/mlp_classifier.ts [--quick]
 *
 * It throws unless the training accuracy reaches 97 % and the jitted step
 * agrees with the same step run eagerly.
 * @module
 */
import {
  argmax,
  cat,
  crossEntropy,
  full,
  grad,
  jit,
  linear,
  memoryStats,
  nn,
  oneHot,
  optim,
  random,
  stack,
  type Tensor,
  tree,
  valueAndGrad,
} from "../mod.ts";
import { check, QUICK } from "./_util.ts";

console.log(`jacobi: an MLP classifier on two moons${QUICK ? " (quick)" : ""}`);

// ------------------------------------------------------------------ data
/** n points per moon: the upper moon and a shifted lower one, with noise. */
function twoMoons(key: random.Key, n: number, noise: number): [Tensor, Tensor] {
  const [kAngle, kNoise] = random.split(key);
  const t = random.uniform(kAngle, [2, n], { maxval: Math.PI });
  const upper = stack([t.select(0, 0).cos(), t.select(0, 0).sin()], 1);
  const lower = stack([
    t.select(0, 1).cos().neg().add(1),
    t.select(0, 1).sin().neg().add(0.5),
  ], 1);
  const x = cat([upper, lower]).add(
    random.normal(kNoise, [2 * n, 2]).mul(noise),
  );
  const labels = cat([
    full([n], 0, { dtype: "int32" }),
    full([n], 1, { dtype: "int32" }),
  ]);
  return [x, labels];
}

const root = random.key(0);
const [kData, kInit] = random.split(root);
const N = 256;
const [x, labels] = twoMoons(kData, N / 2, 0.1);
// Class indices would do (crossEntropy accepts int32 targets), but float
// targets keep the jitted program free of int32, so it runs in the
// WebAssembly program executor.
const targets = oneHot(labels, 2);
console.log(
  `data: x [${x.shape.join(", ")}], ${N / 2} points per class, noise 0.1`,
);

// ----------------------------------------------------------------- model
const H = 32;
const [k1, k2, k3] = random.split(kInit, 3);
type Params = {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  w3: Tensor;
  b3: Tensor;
};
let params: Params = {
  w1: nn.init.glorotUniform(k1, [H, 2]),
  b1: nn.init.zeros(k1, [H]),
  w2: nn.init.glorotUniform(k2, [H, H]),
  b2: nn.init.zeros(k2, [H]),
  w3: nn.init.glorotUniform(k3, [2, H]),
  b3: nn.init.zeros(k3, [2]),
};
const logits = (p: Params, x: Tensor) => {
  const h1 = linear(x, p.w1, p.b1).tanh();
  const h2 = linear(h1, p.w2, p.b2).tanh();
  return linear(h2, p.w3, p.b3);
};
const lossFn = (p: Params, x: Tensor, y: Tensor) =>
  crossEntropy(logits(p, x), y);
const accuracy = (p: Params) => {
  const pred = Array.from(argmax(logits(p, x), 1).data());
  const truth = labels.data();
  return pred.filter((v, i) => v === truth[i]).length / N;
};

// --------------------------------------------------------------- training
const STEPS = 400;
const opt = optim.adam({
  lr: optim.schedules.cosine({
    initValue: 0.03,
    decaySteps: STEPS,
    alpha: 0.1,
  }),
});
type State = ReturnType<typeof opt.init>;
const step = (p: Params, s: State, x: Tensor, y: Tensor) => {
  const [loss, g] = valueAndGrad(lossFn)(p, x, y);
  const [updates, next] = opt.update(g, s, p);
  return { params: optim.applyUpdates(p, updates), state: next, loss };
};
// Parameters and state are replaced every step: donate them.
const trainStep = jit(step, { donateArgnums: [0, 1] });

// The jitted step equals the eager one (here on the first step; on copies,
// since the jitted step frees what it is given).
let state = opt.init(params);
const copy = <T>(t: T): T => tree.map((x) => x.clone(), t);
const eager = step(params, state, x, targets);
const compiled = trainStep(copy(params), copy(state), x, targets);
tree.leaves(compiled.params).forEach((t, i) =>
  check(`jit step == eager step (leaf ${i})`, t, tree.leaves(eager.params)[i], {
    rtol: 1e-5,
    atol: 1e-6,
  })
);
console.log(
  `initial loss ${eager.loss.item().toFixed(4)}, accuracy ${
    (100 * accuracy(params)).toFixed(1)
  } %`,
);

const t0 = performance.now();
let live = 0, loss = NaN;
for (let i = 0; i < STEPS; i++) {
  const out = trainStep(params, state, x, targets); // frees params and state
  ({ params, state } = out);
  loss = out.loss.item();
  out.loss.dispose();
  if (i === 49) live = memoryStats().liveStorages;
  if ((i + 1) % 100 === 0) {
    console.log(`step ${i + 1}: loss ${loss.toFixed(4)}`);
  }
}
const ms = performance.now() - t0;
const liveEnd = memoryStats().liveStorages;
console.log(
  `${STEPS} jitted steps in ${ms.toFixed(0)} ms (${
    (ms / STEPS).toFixed(2)
  } ms per step)`,
);
console.log(
  `live buffers after step 50: ${live}, after step ${STEPS}: ${liveEnd}`,
);
if (liveEnd > live) {
  throw new Error(`memory grew: ${live} -> ${liveEnd} live buffers`);
}

const acc = accuracy(params);
console.log(`training accuracy ${(100 * acc).toFixed(1)} %`);
if (!(acc >= 0.97)) throw new Error(`accuracy ${acc} is below 97 %`);
// The loss the step reports is the loss of the parameters it was given.
const g = grad(lossFn)(params, x, targets);
console.log(
  `final loss ${loss.toFixed(4)}, gradient norm ${
    optim.globalNorm(g).item().toExponential(2)
  }`,
);

console.log("\nAll results agree.");
