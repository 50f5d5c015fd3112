/**
 * optim.lbfgs: the Rosenbrock function to 1e-8 in far fewer iterations
 * than adam, a quadratic solved in n steps with a tight line search, the
 * two-loop direction against the explicit BFGS inverse-Hessian update, the
 * jit-friendly fixed-step mode, and errors.
 * @module
 */
import {
  grad,
  jit,
  linalg,
  optim,
  type Tensor,
  tensor,
  valueAndGrad,
} from "../mod.ts";
import { assertClose, assertThrowsWith } from "./_helpers.ts";

const f64 = { dtype: "float64" as const };

/** n-D Rosenbrock: Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)². */
function rosenbrock(p: { x: Tensor }): Tensor {
  const n = p.x.shape[0];
  const a = p.x.narrow(0, 0, n - 1), b = p.x.narrow(0, 1, n - 1);
  return b.sub(a.square()).square().mul(100).add(a.neg().add(1).square())
    .sum();
}

/** Runs `opt` on `f` from `x0` until ‖x - want‖∞ < tol; the iterations taken (or max). */
function minimise(
  opt: optim.Lbfgs,
  f: (p: { x: Tensor }) => Tensor,
  x0: Tensor,
  want: Tensor,
  tol: number,
  max: number,
): [number, Tensor] {
  let params = { x: x0 }, state = opt.init(params);
  for (let i = 0; i < max; i++) {
    if (params.x.sub(want).abs().max().item() < tol) return [i, params.x];
    const [value, g] = valueAndGrad(f)(params);
    const [updates, next] = opt.update(g, state, params, {
      value,
      valueFn: f,
    });
    [params, state] = [optim.applyUpdates(params, updates), next];
  }
  return [max, params.x];
}

Deno.test("lbfgs minimises the Rosenbrock function to 1e-8, where adam is far off after 10x the steps", () => {
  for (const n of [2, 10]) {
    const x0 = tensor(
      Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1)),
      f64,
    );
    const ones = tensor(new Array(n).fill(1), f64);
    const [iters] = minimise(optim.lbfgs(), rosenbrock, x0, ones, 1e-8, 200);
    if (!(iters <= 80)) {
      throw new Error(`n = ${n}: lbfgs needed ${iters} iterations`);
    }
    // Adam, well tuned, for ten times as many steps.
    const adam = optim.adam({ lr: 0.02 });
    let p = { x: x0 }, s = adam.init(p);
    for (let i = 0; i < 10 * iters; i++) {
      const [u, next] = adam.update(grad(rosenbrock)(p), s, p);
      [p, s] = [optim.applyUpdates(p, u), next];
    }
    const adamErr = p.x.sub(ones).abs().max().item();
    if (!(adamErr > 1e-4)) {
      throw new Error(`n = ${n}: adam reached ${adamErr} in ${10 * iters}`);
    }
    console.log(
      `Rosenbrock n = ${n}: lbfgs ${iters} iterations to 1e-8; adam after ${
        10 * iters
      }: error ${adamErr.toExponential(1)}`,
    );
  }
});

Deno.test("lbfgs solves an n-dimensional quadratic in n steps with a tight line search", () => {
  const n = 6;
  // A = Q diag(1..32) Qᵀ with a fixed orthogonal Q (Householder).
  const v = tensor([1, -2, 0.5, 3, -1, 2], f64);
  const Q = tensor(
    Array.from(
      { length: n },
      (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
    ),
    f64,
  ).sub(v.outer(v).mul(2 / v.dot(v).item()));
  const D = tensor([1, 2, 4, 8, 16, 32], f64);
  const A = Q.mul(D).matmul(Q.T);
  const b = tensor([1, 0, -1, 2, 0.5, -3], f64);
  const f = (p: { x: Tensor }) =>
    p.x.matmul(A).dot(p.x).mul(0.5).sub(b.dot(p.x));
  const xStar = linalg.solve(A, b.reshape([n, 1])).reshape([n]);
  const opt = optim.lbfgs({ memorySize: n, c1: 1e-8, c2: 1e-6 });
  const [iters, x] = minimise(
    opt,
    f,
    tensor(new Array(n).fill(0), f64),
    xStar,
    1e-9,
    50,
  );
  assertClose(x, xStar, { rtol: 1e-9, atol: 1e-9 });
  if (!(iters <= n)) throw new Error(`quadratic took ${iters} > ${n} steps`);
  console.log(`quadratic n = ${n}: ${iters} steps`);
});

Deno.test("the two-loop direction equals -H g for the BFGS inverse Hessian of the same pairs", () => {
  // Fixed steps (no line search) on a 3-D function; after 3 steps the
  // direction must be -H g with H from the explicit BFGS update of γI.
  const f = (p: { x: Tensor }) =>
    p.x.square().mul(tensor([1, 3, 5], f64)).sum().add(p.x.pow(4).sum());
  const opt = optim.lbfgs({ linesearch: "none", lr: 0.05, memorySize: 5 });
  let params = { x: tensor([1, -0.5, 0.8], f64) }, state = opt.init(params);
  const xs: Tensor[] = [], gs: Tensor[] = [];
  let last: Tensor | null = null;
  for (let i = 0; i < 4; i++) {
    const g = grad(f)(params);
    xs.push(params.x);
    gs.push(g.x);
    const [u, next] = opt.update(g, state, params);
    last = u.x;
    [params, state] = [optim.applyUpdates(params, u), next];
  }
  const S = [1, 2, 3].map((k) => xs[k].sub(xs[k - 1]));
  const Y = [1, 2, 3].map((k) => gs[k].sub(gs[k - 1]));
  const sy = S[2].dot(Y[2]).item(), yy = Y[2].dot(Y[2]).item();
  let H = tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], f64).mul(sy / yy);
  const I = tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], f64);
  for (let k = 0; k < 3; k++) {
    const rho = 1 / S[k].dot(Y[k]).item();
    const V = I.sub(Y[k].outer(S[k]).mul(rho));
    H = V.T.matmul(H).matmul(V).add(S[k].outer(S[k]).mul(rho));
  }
  assertClose(last!, H.matmul(gs[3]).mul(-0.05), { rtol: 1e-10, atol: 1e-12 });
});

Deno.test("lbfgs with a fixed step runs under jit and equals the eager step", () => {
  const opt = optim.lbfgs({ linesearch: "none", lr: 0.1, memorySize: 3 });
  type S = optim.LbfgsState;
  const step = (p: { x: Tensor }, s: S) => {
    const [u, next] = opt.update(grad(rosenbrock)(p), s, p);
    return { p: optim.applyUpdates(p, u), s: next };
  };
  const jstep = jit(step);
  let a = {
    p: { x: tensor([-0.5, 0.5, 0.2], f64) },
    s: opt.init({ x: tensor([0, 0, 0], f64) }),
  };
  let b = a;
  for (let i = 0; i < 5; i++) {
    a = jstep(a.p, a.s);
    b = step(b.p, b.s);
    assertClose(a.p.x, b.p.x, { rtol: 1e-12, atol: 1e-14 });
  }
});

Deno.test("lbfgs errors name the problem", () => {
  const opt = optim.lbfgs();
  const params = { x: tensor([1, 2], f64) };
  const state = opt.init(params);
  assertThrowsWith(
    () => opt.update({ x: tensor([1, 1], f64) }, state, params),
    TypeError,
    "optim.lbfgs",
    "valueFn",
  );
  assertThrowsWith(
    () => opt.update({ x: tensor([1, 1, 1], f64) }, state, params),
    TypeError,
    "disagree",
  );
  assertThrowsWith(
    () => optim.lbfgs({ memorySize: 0 }),
    RangeError,
    "memorySize",
  );
  assertThrowsWith(
    () => optim.lbfgs({ c1: 0.5, c2: 0.1 }),
    RangeError,
    "c1 < c2",
  );
  const f = (p: { x: Tensor }) => p.x.square().sum();
  assertThrowsWith(
    () =>
      jit((p: { x: Tensor }, s: optim.LbfgsState) =>
        opt.update(grad(f)(p), s, p, { valueFn: f })[0]
      )(params, state),
    TypeError,
    "cannot run under jit",
  );
});
