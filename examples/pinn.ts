/**
 * A physics-informed neural network (PINN) for the 1-D heat equation
 *
 *   u_t = α u_xx  on x ∈ [0, 1], t ∈ [0, 1],  u(x, 0) = sin(πx),  u(0, t) = u(1, t) = 0,
 *
 * whose solution is u = exp(-α π² t) sin(πx). The network N(x, t) enters
 * u(x, t) = sin(πx) + t x (1 - x) N(x, t), which meets the initial and
 * boundary conditions exactly, so the loss is the mean squared PDE
 * residual u_t - α u_xx at collocation points. Per point, u_t comes from
 * `jacfwd` of the network and u_xx from its `hessian`; `vmap` maps both
 * over the points, `valueAndGrad` differentiates the residual with respect
 * to the weights (third derivatives of the network), and `optim.adam`
 * steps them inside one `jit`ted function. Fresh collocation points are
 * drawn every step inside the compiled step, from `random.foldIn(key,
 * step)` with the step number a traced argument.
 *
 *   npx --yes deno@2 run examples/pinn.ts [--quick]
 *
 * `--quick` (or `CI` set) trains 400 steps, the default 2000. It throws
 * unless the residual on fixed validation points falls by at least 100×
 * (1000× in the long run), the solution is within 1 % of the closed form
 * (0.1 % in the long run), and vmap and jit agree with a loop and eager.
 * @module
 */
import {
  hessian,
  jacfwd,
  jit,
  linear,
  nn,
  optim,
  random,
  stack,
  type Tensor,
  tensor,
  valueAndGrad,
  vmap,
} from "../mod.ts";
import { check, QUICK } from "./_util.ts";

const ALPHA = 0.1;
const STEPS = QUICK ? 400 : 2000;
const POINTS = 64;
console.log(
  `jacobi: a PINN for u_t = ${ALPHA} u_xx${QUICK ? " (quick)" : ""}`,
);

// ----------------------------------------------------------------- model
type Params = {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  w3: Tensor;
  b3: Tensor;
};
const H = 16;
const [k1, k2, k3, kData] = random.split(random.key(0), 4);
const f64 = { dtype: "float64" as const };
let params: Params = {
  w1: nn.init.glorotNormal(k1, [H, 2], f64),
  b1: nn.init.zeros(k1, [H], f64),
  w2: nn.init.glorotNormal(k2, [H, H], f64),
  b2: nn.init.zeros(k2, [H], f64),
  w3: nn.init.glorotNormal(k3, [1, H], f64),
  b3: nn.init.zeros(k3, [1], f64),
};

/** u at one point z = [x, t] (a scalar). */
function u(p: Params, z: Tensor): Tensor {
  const h1 = linear(z, p.w1, p.b1).tanh();
  const h2 = linear(h1, p.w2, p.b2).tanh();
  const n = linear(h2, p.w3, p.b3).reshape([]);
  const x = z.select(0, 0), t = z.select(0, 1);
  const bubble = t.mul(x).mul(x.neg().add(1));
  return x.mul(Math.PI).sin().add(bubble.mul(n));
}

/** The PDE residual u_t - α u_xx at one point. */
function residual(p: Params, z: Tensor): Tensor {
  const du = jacfwd((z: Tensor) => u(p, z))(z); // [u_x, u_t]
  const d2u = hessian((z: Tensor) => u(p, z))(z); // [[u_xx, u_xt], [u_tx, u_tt]]
  return du.select(0, 1).sub(d2u.select(0, 0).select(0, 0).mul(ALPHA));
}

/** Mean squared residual over points `zs` [n, 2]. */
const loss = (p: Params, zs: Tensor) =>
  vmap((z: Tensor) => residual(p, z))(zs).square().mean();

// ----------------------------------------------------------- validation
// A fixed grid, and the same residual computed point by point.
const grid = stack(
  Array.from({ length: 11 * 6 }, (_, i) => {
    const x = (i % 11) / 10, t = Math.floor(i / 11) / 5;
    return tensor([x, t], f64);
  }),
);
const zs0 = random.uniform(kData, [4, 2], f64);
const byLoop = stack(
  Array.from({ length: 4 }, (_, i) => residual(params, zs0.select(0, i))),
).square().mean();
check(
  "vmap(jacfwd, hessian) residual == a loop over points",
  loss(params, zs0),
  byLoop,
);
const jitLoss = jit(loss);
check(
  "jit residual == eager residual",
  jitLoss(params, grid),
  loss(params, grid),
  {
    rtol: 1e-12,
    atol: 1e-14,
  },
);

// -------------------------------------------------------------- training
const opt = optim.adam({
  lr: optim.schedules.exponential({
    initValue: 1e-2,
    transitionSteps: 2000, // the long run's length: --quick is its start
    decayRate: 0.1,
  }),
});
type State = ReturnType<typeof opt.init>;
const step = jit((p: Params, s: State, key: Tensor, i: number) => {
  // Fresh collocation points each step, drawn inside the compiled step.
  const zs = random.uniform(random.foldIn(key, i), [POINTS, 2], f64);
  const [value, g] = valueAndGrad(loss)(p, zs);
  const [updates, next] = opt.update(g, s, p);
  return { params: optim.applyUpdates(p, updates), state: next, value };
}, { donateArgnums: [0, 1] });

let state = opt.init(params);
const first = jitLoss(params, grid).item();
console.log(`step 0: validation residual ${first.toExponential(3)}`);
const t0 = performance.now();
let last = first;
for (let i = 0; i < STEPS; i++) {
  const out = step(params, state, kData, i);
  ({ params, state } = out);
  out.value.dispose();
  if ((i + 1) % (STEPS / 5) === 0) {
    last = jitLoss(params, grid).item();
    console.log(
      `step ${i + 1}: validation residual ${last.toExponential(3)}`,
    );
  }
}
const ms = performance.now() - t0;
console.log(`${STEPS} jitted steps in ${ms.toFixed(0)} ms`);

const factor = first / last;
console.log(`residual fell by a factor of ${factor.toFixed(0)}`);
const want = QUICK ? 100 : 1000;
if (!(factor >= want)) {
  throw new Error(`the residual fell only ${factor}×, expected ≥ ${want}×`);
}
// Against the closed form exp(-α π² t) sin(πx) on the grid.
const exact = stack(
  [...grid].map((z) => {
    const [x, t] = z.data();
    return tensor(
      Math.exp(-ALPHA * Math.PI ** 2 * t) * Math.sin(Math.PI * x),
      f64,
    );
  }),
);
const pred = vmap((z: Tensor) => u(params, z))(grid);
const err = pred.sub(exact).norm().item() / exact.norm().item();
console.log(
  `relative L2 error against the exact solution: ${err.toExponential(2)}`,
);
if (!(err < (QUICK ? 0.01 : 0.001))) throw new Error(`error ${err} too large`);

console.log("\nAll results agree.");
