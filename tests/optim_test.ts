/**
 * Optimizers against step-by-step references computed in plain JS float64,
 * convergence on an ill-conditioned quadratic, whole training steps under
 * jit (the step count and the schedule traced, one trace for all steps),
 * schedules, clipping and chaining; and the `tree` helpers.
 * @module
 */
import { grad, jit, optim, type Tensor, tensor, tree } from "../mod.ts";
import { assertClose, assertThrowsWith, assertTreeClose } from "./_helpers.ts";

const f64 = (v: number | number[]) => tensor(v, { dtype: "float64" });
const C = [1, 3, 0.5];

/** L(a, b) = Σ c_i a_i² + sin(b): grad a = 2 c a, grad b = cos b. */
const loss = (p: { a: Tensor; b: Tensor }) =>
  p.a.square().mul(f64(C)).sum().add(p.b.sin());
const jsGrad = (a: number[], b: number): [number[], number] => [
  a.map((v, i) => 2 * C[i] * v),
  Math.cos(b),
];
const start = () => ({ a: f64([1, -2, 0.5]), b: f64(0.3) });

type Params = { a: Tensor; b: Tensor };

function run(opt: optim.Optimizer, steps: number, params: Params = start()) {
  let state = opt.init(params);
  for (let i = 0; i < steps; i++) {
    const [u, s] = opt.update(grad(loss)(params), state, params);
    params = optim.applyUpdates(params, u);
    state = s;
  }
  return params;
}

/** Runs a per-element update rule in JS on the flattened parameters [a..., b]. */
function reference(
  steps: number,
  rule: (t: number, g: number, p: number, slot: number[]) => number,
  slots: number,
): number[] {
  let a = [1, -2, 0.5], b = 0.3;
  const state = Array.from({ length: 4 }, () => new Array(slots).fill(0));
  for (let t = 1; t <= steps; t++) {
    const [ga, gb] = jsGrad(a, b);
    const ps = [...a, b], gs = [...ga, gb];
    const next = ps.map((p, i) => p + rule(t, gs[i], p, state[i]));
    a = next.slice(0, 3);
    b = next[3];
  }
  return [...a, b];
}
const flat = (p: Params) => f64([...Array.from(p.a.data()), p.b.item()]);

Deno.test("adam matches a float64 reference for 3 steps", () => {
  const [lr, b1, b2, eps] = [0.1, 0.9, 0.999, 1e-8];
  const ref = reference(3, (t, g, _p, s) => {
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = b2 * s[1] + (1 - b2) * g * g;
    const mHat = s[0] / (1 - b1 ** t), vHat = s[1] / (1 - b2 ** t);
    return -lr * mHat / (Math.sqrt(vHat) + eps);
  }, 2);
  assertClose(flat(run(optim.adam({ lr }), 3)), ref, {
    rtol: 1e-14,
    atol: 1e-15,
  });
});

Deno.test("adamw, sgd (momentum, nesterov) and rmsprop (centered, momentum) match references", () => {
  const lr = 0.05, wd = 0.1;
  const adamw = reference(3, (t, g, p, s) => {
    s[0] = 0.9 * s[0] + 0.1 * g;
    s[1] = 0.999 * s[1] + 0.001 * g * g;
    const dir = (s[0] / (1 - 0.9 ** t)) /
      (Math.sqrt(s[1] / (1 - 0.999 ** t)) + 1e-8);
    return -lr * (dir + wd * p);
  }, 2);
  assertClose(flat(run(optim.adamw({ lr, weightDecay: wd }), 3)), adamw, {
    rtol: 1e-14,
    atol: 1e-15,
  });
  for (const nesterov of [false, true]) {
    const ref = reference(3, (_t, g, _p, s) => {
      s[0] = 0.9 * s[0] + g;
      return -lr * (nesterov ? g + 0.9 * s[0] : s[0]);
    }, 1);
    assertClose(flat(run(optim.sgd({ lr, momentum: 0.9, nesterov }), 3)), ref, {
      rtol: 1e-14,
    });
  }
  assertClose(
    flat(run(optim.sgd({ lr }), 1)),
    reference(1, (_t, g) => -lr * g, 0),
    { rtol: 1e-15 },
  );
  const rms = reference(3, (_t, g, _p, s) => {
    s[0] = 0.9 * s[0] + 0.1 * g * g;
    s[1] = 0.9 * s[1] + 0.1 * g;
    const d = g / (Math.sqrt(s[0] - s[1] * s[1]) + 1e-8);
    s[2] = 0.5 * s[2] + d;
    return -lr * s[2];
  }, 3);
  assertClose(
    flat(run(optim.rmsprop({ lr, centered: true, momentum: 0.5 }), 3)),
    rms,
    { rtol: 1e-13 },
  );
});

Deno.test("every optimizer converges on an ill-conditioned quadratic", () => {
  // f(x) = ½ xᵀ diag(1, 30) x - [1, 1]·x, minimum at [1, 1/30].
  const f = (p: { x: Tensor }) =>
    p.x.square().mul(f64([0.5, 15])).sum().sub(p.x.sum());
  const cases: [string, optim.Optimizer, number][] = [
    ["sgd", optim.sgd({ lr: 0.03 }), 600],
    ["sgd momentum", optim.sgd({ lr: 0.02, momentum: 0.9 }), 300],
    [
      "sgd nesterov",
      optim.sgd({ lr: 0.02, momentum: 0.9, nesterov: true }),
      300,
    ],
    ["adam", optim.adam({ lr: 0.05 }), 600],
    ["adamw", optim.adamw({ lr: 0.05, weightDecay: 0 }), 600],
    ["rmsprop", optim.rmsprop({ lr: 0.003 }), 1500],
    [
      "chain(clip, adam)",
      optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 0.05 })),
      600,
    ],
  ];
  for (const [name, opt, steps] of cases) {
    let params = { x: f64([-2, 3]) }, state = opt.init(params);
    for (let i = 0; i < steps; i++) {
      const [u, s] = opt.update(grad(f)(params), state, params);
      [params, state] = [optim.applyUpdates(params, u), s];
    }
    assertClose(params.x, [1, 1 / 30], { atol: 3e-3, rtol: 0 }, name);
  }
});

Deno.test("a jitted training step traces once and matches eager steps, schedule and count included", () => {
  const lr = optim.schedules.warmupCosine({
    initValue: 0,
    peakValue: 0.2,
    warmupSteps: 2,
    decaySteps: 6,
  });
  const opt = optim.chain(optim.clipByGlobalNorm(5), optim.adam({ lr }));
  let traces = 0;
  const step = (params: Params, state: unknown) => {
    traces++;
    const [u, s] = opt.update(grad(loss)(params), state as unknown[], params);
    return [optim.applyUpdates(params, u), s] as const;
  };
  const jstep = jit(step);
  let [pe, se]: [Params, unknown] = [start(), opt.init(start())];
  let [pj, sj]: [Params, unknown] = [start(), opt.init(start())];
  for (let i = 0; i < 6; i++) {
    [pe, se] = step(pe, se);
    [pj, sj] = jstep(pj, sj);
    assertTreeClose(
      pj,
      pe,
      { rtol: 1e-14, atol: 1e-15 },
      `step ${i + 1} params`,
    );
  }
  assertTreeClose(sj, se, { rtol: 1e-14, atol: 1e-15 }, "optimizer state");
  // 6 eager calls and one trace by jit.
  if (traces !== 7) throw new Error(`step was traced ${traces - 6} times`);
  const [, adamState] = sj as [object, optim.AdamState];
  assertClose(adamState.count, 6);
});

Deno.test("schedules: values at numbers and at tensors", () => {
  const cos = optim.schedules.cosine({
    initValue: 2,
    decaySteps: 10,
    alpha: 0.25,
  });
  assertClose(cos(0), 2);
  assertClose(cos(5), 2 * (0.75 * 0.5 + 0.25), { rtol: 1e-15 });
  assertClose(cos(20), 0.5);
  assertClose(cos(f64([0, 5, 10])), [2, 1.25, 0.5], { rtol: 1e-15 });
  const wc = optim.schedules.warmupCosine({
    initValue: 0.1,
    peakValue: 1,
    warmupSteps: 4,
    decaySteps: 14,
    endValue: 0.2,
  });
  assertClose(
    f64([0, 2, 4, 9, 14, 30].map((s) => wc(s))),
    [
      0.1,
      0.55,
      1,
      0.6,
      0.2,
      0.2,
    ],
    { rtol: 1e-14 },
  );
  const ex = optim.schedules.exponential({
    initValue: 1,
    transitionSteps: 10,
    decayRate: 0.5,
  });
  assertClose(
    f64([0, 10, 15].map((s) => ex(s))),
    [1, 0.5, 0.5 ** 1.5],
    {
      rtol: 1e-15,
    },
  );
  const stairs = optim.schedules.exponential({
    initValue: 1,
    transitionSteps: 10,
    decayRate: 0.5,
    staircase: true,
    transitionBegin: 5,
    endValue: 0.2,
  });
  assertClose(
    f64([0, 14, 15, 29, 100].map((s) => stairs(s))),
    [
      1,
      1,
      0.5,
      0.25,
      0.2,
    ],
  );
  assertClose(stairs(tensor([14, 15, 25], { dtype: "int32" })), [1, 0.5, 0.25]);
  assertThrowsWith(
    () => optim.schedules.cosine({ initValue: 1, decaySteps: 0 }),
    RangeError,
    "decaySteps",
  );
});

Deno.test("clipByGlobalNorm, globalNorm and applyUpdates", () => {
  const g = { a: f64([3, 0]), b: [tensor([4])] };
  assertClose(optim.globalNorm(g), 5);
  const clip = optim.clipByGlobalNorm(1);
  const [u] = clip.update(g, clip.init(g));
  assertTreeClose(u, { a: f64([0.6, 0]), b: [tensor([0.8])] }, { rtol: 1e-6 });
  const [v] = optim.clipByGlobalNorm(10).update(g, {});
  assertTreeClose(v, g);
  assertTreeClose(optim.applyUpdates({ w: f64([1, 2]) }, { w: f64([-1, 1]) }), {
    w: f64([0, 3]),
  });
});

Deno.test("optimizers name the problem in their errors", () => {
  assertThrowsWith(
    () => optim.adam({ lr: "fast" as never }),
    TypeError,
    "optim.adam",
    "lr",
  );
  assertThrowsWith(
    () => optim.sgd({ lr: 0.1, momentum: 1 }),
    RangeError,
    "momentum",
    "[0, 1)",
  );
  assertThrowsWith(
    () => optim.sgd({ lr: 0.1, nesterov: true }),
    RangeError,
    "nesterov",
  );
  const opt = optim.adamw({ lr: 0.1 });
  const p = { w: f64([1]) };
  assertThrowsWith(
    () => opt.update(p, opt.init(p)),
    TypeError,
    "optim.adamw",
    "parameters",
  );
  const adam = optim.adam({ lr: 0.1 });
  assertThrowsWith(
    () => adam.update({ w: f64([1]), v: f64([2]) }, adam.init(p)),
    TypeError,
    "tree 1 has 1 tensors but the gradients have 2",
  );
  assertThrowsWith(() => optim.clipByGlobalNorm(0), RangeError, "maxNorm");
  assertThrowsWith(() => optim.chain({} as never), TypeError, "stage 0");
});

// --------------------------------------------------------------------- tree

Deno.test("tree: leaves, flatten/unflatten round trip with constants, structure, map over several trees", () => {
  const t = {
    w: tensor([1, 2]),
    layers: [tensor(3), "relu", { b: tensor(4) }],
    n: 7,
  };
  const leaves = tree.leaves(t);
  assertClose(leaves[0], [1, 2]);
  assertClose(leaves[2], 4);
  if (leaves.length !== 3) throw new Error("three leaves");
  const [xs, def] = tree.flatten(t);
  const back = tree.unflatten<typeof t>(def, xs);
  if (back.layers[1] !== "relu" || back.n !== 7) {
    throw new Error("constants lost");
  }
  assertTreeClose(back, t);
  const same = JSON.stringify(tree.structure(t)) ===
    JSON.stringify(tree.structure({ ...t, w: tensor(0) }));
  if (!same) throw new Error("structure depends on values");
  const sum = tree.map((a, b, c) => a.add(b).add(c), t, t, t);
  assertTreeClose(tree.leaves(sum), xs.map((x) => x.mul(3)));
  assertThrowsWith(
    () => tree.map((a) => a, t, { w: tensor(1) }),
    TypeError,
    "tree 1 has another structure",
  );
  assertThrowsWith(
    () => tree.unflatten(def, [tensor(1)]),
    RangeError,
    "3 leaves but 1",
  );
  assertThrowsWith(
    () => tree.map(3 as never, t),
    TypeError,
    "expected a function",
  );
});
