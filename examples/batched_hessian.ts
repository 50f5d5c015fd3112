/**
 * Efficient batched Hessians (after functorch's "Efficient Batched Hessian
 * Calculation" notebook), and a critic network with tuple outputs and
 * auxiliary data (`hasAux`), in jacobi.
 *
 *   npx --yes deno@2 run examples/batched_hessian.ts [--quick]
 *
 * Every result is checked against the others; a disagreement throws.
 * @module
 */
import {
  autograd,
  cat,
  detach,
  eye,
  grad,
  hessian,
  jacfwd,
  jacrev,
  linear,
  manualSeed,
  minimum,
  randn,
  stack,
  type Tensor,
  vjp,
  vmap,
} from "../mod.ts";
import { check, getPerf, QUICK, size, tick, timeAll } from "./_util.ts";

manualSeed(0);
console.log(
  `jacobi: batched Hessians and hasAux${QUICK ? " (quick timings)" : ""}`,
);

// ---------------------------------------------------------------------------
console.log("\n== Per-sample Hessians of a small MLP ==");

// f: R^D -> R, two tanh layers and a linear read-out.
const D = 8, H = 64, N = 64;
const mlp = {
  w1: randn([H, D]).mul(1 / Math.sqrt(D)),
  b1: randn([H]).mul(0.1),
  w2: randn([H, H]).mul(1 / Math.sqrt(H)),
  b2: randn([H]).mul(0.1),
  w3: randn([1, H]).mul(1 / Math.sqrt(H)),
};
const f = (x: Tensor): Tensor => {
  const h1 = linear(x, mlp.w1, mlp.b1).tanh();
  const h2 = linear(h1, mlp.w2, mlp.b2).tanh();
  return linear(h2, mlp.w3).sum(-1); // scalar per sample
};
const xs = randn([N, D]);
console.log(`inputs ${size(xs)}, f: R^${D} -> R, hidden ${H}`);

// (a) The autograd way: for each sample, a gradient with createGraph, then
// one more gradient per row of the Hessian.
const unit = eye(D);
const hessianRowsAutograd = (x: Tensor): Tensor => {
  const xp = x.requiresGrad();
  const [g] = autograd.grad(f(xp), xp, undefined, { createGraph: true });
  const rows: Tensor[] = [];
  for (let i = 0; i < D; i++) {
    rows.push(
      autograd.grad(g!, xp, unit.select(0, i), { retainGraph: true })[0]!,
    );
  }
  return stack(rows);
};
const loopAutograd = (xs: Tensor): Tensor => {
  const hs: Tensor[] = [];
  for (let n = 0; n < N; n++) hs.push(hessianRowsAutograd(xs.select(0, n)));
  return stack(hs);
};

// (a') The same loop with functional transforms: one vjp of grad(f) per
// sample, pulled back along each unit vector.
const loopVjp = (xs: Tensor): Tensor => {
  const hs: Tensor[] = [];
  for (let n = 0; n < N; n++) {
    const [, vjpFn] = vjp(grad(f), xs.select(0, n));
    const rows: Tensor[] = [];
    for (let i = 0; i < D; i++) rows.push(vjpFn(unit.select(0, i))[0]);
    hs.push(stack(rows));
  }
  return stack(hs);
};

// (b) vmap(hessian): every sample and every row in one vectorised pass.
const batchedHessian = vmap(hessian(f));

// (c) forward-over-reverse per sample, in a loop.
const loopFwdRev = (xs: Tensor): Tensor => {
  const hs: Tensor[] = [];
  for (let n = 0; n < N; n++) hs.push(jacfwd(jacrev(f))(xs.select(0, n)));
  return stack(hs);
};

// float32: methods that sum in a different order differ in the last bits.
const tol = { rtol: 1e-5, atol: 1e-5 };
const hA = loopAutograd(xs);
const hA2 = loopVjp(xs);
const hB = batchedHessian(xs);
const hC = loopFwdRev(xs);
console.log(`batched Hessian shape: ${size(hB)}`);
check("vmap(hessian(f)) == loop of autograd.grad rows", hB, hA, tol);
check("loop of vjp(grad(f)) rows == loop of autograd.grad rows", hA2, hA, tol);
check("loop of jacfwd(jacrev(f)) == vmap(hessian(f))", hC, hB, tol);
check("Hessians are symmetric", hB, hB.transpose(-1, -2), tol);
await tick();

const [tA, tA2, tB, tC] = await timeAll([
  ["loop over samples and rows: autograd.grad", () => loopAutograd(xs)],
  ["loop over samples and rows: vjp(grad(f))", () => loopVjp(xs)],
  ["vmap(hessian(f))(xs)", () => batchedHessian(xs)],
  ["loop over samples: jacfwd(jacrev(f))", () => loopFwdRev(xs)],
], 100);
getPerf(tA, "the autograd.grad loop", tB, "vmap(hessian)");
getPerf(tA2, "the vjp loop", tB, "vmap(hessian)");
getPerf(tC, "a loop of jacfwd(jacrev)", tB, "vmap(hessian)");
await tick();

// ---------------------------------------------------------------------------
console.log("\n== A critic with tuple outputs and auxiliary data ==");

// Twin Q-heads over a shared tanh layer: critic(params, obs, action) returns
// the pair [q1, q2]. Parameters are a plain object (a pytree).
const OBS = 6, ACT = 2, HID = 32, B = 32;
type Params = { w1: Tensor; b1: Tensor; wq: Tensor; bq: Tensor };
const params: Params = {
  w1: randn([HID, OBS + ACT]).mul(1 / Math.sqrt(OBS + ACT)),
  b1: randn([HID]).mul(0.1),
  wq: randn([2, HID]).mul(1 / Math.sqrt(HID)),
  bq: randn([2]).mul(0.1),
};
const features = (p: Params, obs: Tensor, action: Tensor): Tensor =>
  linear(cat([obs, action], -1), p.w1, p.b1).tanh();
const critic = (p: Params, obs: Tensor, action: Tensor): [Tensor, Tensor] => {
  const q = linear(features(p, obs, action), p.wq, p.bq);
  return [q.select(-1, 0), q.select(-1, 1)];
};
// The same with the hidden features as auxiliary data.
const criticWithAux = (
  p: Params,
  obs: Tensor,
  action: Tensor,
): [[Tensor, Tensor], { features: Tensor }] => [critic(p, obs, action), {
  features: features(p, obs, action),
}];

const obs = randn([B, OBS]), action = randn([B, ACT]);
const reward = randn([B]), nextObs = randn([B, OBS]);
const nextAction = randn([B, ACT]), gamma = 0.99;

// dQ/daction for one transition: jacrev over a tuple output with hasAux
// gives [[dq1/da, dq2/da], aux].
{
  const [o, a] = [obs.select(0, 0), action.select(0, 0)];
  const [[j1, j2], aux] = jacrev(criticWithAux, { argnums: 2, hasAux: true })(
    params,
    o,
    a,
  ) as [[Tensor, Tensor], { features: Tensor }];
  console.log(
    `jacrev(criticWithAux, { argnums: 2, hasAux: true }): dq1/da ${
      size(j1)
    }, dq2/da ${size(j2)}, aux.features ${size(aux.features)}`,
  );
  // Closed form: dq_k/da = (wq[k] * (1 - h²)) @ w1[:, OBS:]
  const h = features(params, o, a);
  const wa = params.w1.narrow(1, OBS, ACT);
  const closed = params.wq.mul(h.square().neg().add(1)).matmul(wa); // [2, ACT]
  check("dq1/da == closed form", j1, closed.select(0, 0));
  check("dq2/da == closed form", j2, closed.select(0, 1));
  check("aux.features == features(obs, action)", aux.features, h);
  const [[f1, f2]] = jacfwd(criticWithAux, { argnums: 2, hasAux: true })(
    params,
    o,
    a,
  );
  check("jacfwd (hasAux) == jacrev (hasAux)", stack([f1, f2]), stack([j1, j2]));

  // Batched over transitions: vmap of the same, params and nothing else shared.
  const batchedJac = vmap(
    (o: Tensor, a: Tensor) =>
      jacrev(criticWithAux, { argnums: 2, hasAux: true })(params, o, a)[0],
  );
  const [bj1, bj2] = batchedJac(obs, action) as [Tensor, Tensor];
  console.log(`vmap over ${B} transitions: dq1/da ${size(bj1)}`);
  check("vmap(jacrev)[0] == jacrev at transition 0", bj1.select(0, 0), j1);
  check(
    "vmap(jacrev) q2 head at transition 7",
    bj2.select(0, 7),
    jacrev(
      (a: Tensor) => critic(params, obs.select(0, 7), a)[1],
    )(action.select(0, 7)),
  );

  // Curvature of q1 in the action: hessian with hasAux, batched.
  const q1WithAux = (p: Params, o: Tensor, a: Tensor) => {
    const [[q1], aux] = criticWithAux(p, o, a);
    return [q1, aux] as const;
  };
  const batchedHess = vmap(
    (o: Tensor, a: Tensor) =>
      hessian(q1WithAux, { argnums: 2, hasAux: true })(params, o, a)[0],
  );
  const hq = batchedHess(obs, action) as Tensor;
  console.log(`vmap(hessian(q1, { hasAux: true })): ${size(hq)}`);
  check(
    "batched d²q1/da² == jacrev(jacrev) at transition 3",
    hq.select(0, 3),
    jacrev(jacrev((a: Tensor) => critic(params, obs.select(0, 3), a)[0]))(
      action.select(0, 3),
    ),
  );
}

// The TD loss returns [loss, aux]: grad with hasAux gives [grads, aux].
const tdLoss = (p: Params): [Tensor, { tdErr: Tensor; q: Tensor }] => {
  const [q1, q2] = critic(p, obs, action);
  const [n1, n2] = critic(p, nextObs, nextAction);
  const target = detach(reward.add(minimum(n1, n2).mul(gamma)));
  const tdErr = q1.sub(target);
  const loss = tdErr.square().mean().add(q2.sub(target).square().mean());
  return [loss, { tdErr, q: q1 }];
};
const [grads, aux] = grad(tdLoss, { hasAux: true })(params) as [
  Params,
  { tdErr: Tensor; q: Tensor },
];
console.log(
  `\ngrad(tdLoss, { hasAux: true }): grads ${
    Object.entries(grads).map(([k, v]) => `${k} ${size(v)}`).join(", ")
  }; aux.tdErr ${size(aux.tdErr)}`,
);
// Check: the gradient of mean(td²) is mean(2 td ∇q) (the target is
// detached), with per-sample gradients ∇q from vmap(grad).
{
  const [, , target] = (() => {
    const [n1, n2] = critic(params, nextObs, nextAction);
    return [n1, n2, reward.add(minimum(n1, n2).mul(gamma))];
  })();
  const [q1, q2] = critic(params, obs, action);
  const td1 = q1.sub(target), td2 = q2.sub(target);
  check("aux.tdErr == q1 - target", aux.tdErr, td1);
  const perSample = (head: 0 | 1) =>
    vmap(
      grad((p: Params, o: Tensor, a: Tensor) => critic(p, o, a)[head]),
      { inDims: [null, 0, 0] },
    )(params, obs, action) as Params;
  const g1 = perSample(0), g2 = perSample(1);
  console.log(`per-sample gradients (vmap(grad)): w1 ${size(g1.w1)}`);
  for (const k of Object.keys(grads) as (keyof Params)[]) {
    const w = (td: Tensor, g: Tensor) =>
      g.mul(td.reshape([B, ...Array(g.ndim - 1).fill(1)])).sum(0).mul(2 / B);
    check(
      `grads.${k} == mean(2 td ∇q) over per-sample gradients`,
      grads[k],
      w(td1, g1[k]).add(w(td2, g2[k])),
    );
  }
}
await tick();

await timeAll([
  [
    "grad(tdLoss, { hasAux: true })(params)",
    () => grad(tdLoss, { hasAux: true })(params),
  ],
  [
    "vmap(jacrev(criticWithAux, { argnums: 2, hasAux: true }))",
    () =>
      vmap((o: Tensor, a: Tensor) =>
        jacrev(criticWithAux, { argnums: 2, hasAux: true })(params, o, a)[0]
      )(obs, action),
  ],
  [
    "per-sample gradients: vmap(grad(q1))",
    () =>
      vmap(grad((p: Params, o: Tensor, a: Tensor) => critic(p, o, a)[0]), {
        inDims: [null, 0, 0],
      })(params, obs, action),
  ],
]);

console.log("\nAll results agree.");
