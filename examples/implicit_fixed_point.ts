/**
 * Differentiating through a solver by the implicit function theorem, with
 * `customVjp`. The fixed point x*(θ) = g(x*, θ) of g(x, θ) = tanh(W x + θ)
 * is found by iterating g; its derivative is not obtained by
 * differentiating the iterations but from g at the solution alone:
 *
 *   ∂x*(θ)/∂θ = (I − ∂g/∂x)⁻¹ ∂g/∂θ,
 *
 * so the backward pass solves the adjoint fixed point u = v + (∂g/∂x)ᵀ u
 * (by iteration, with `vjp` of g) and returns (∂g/∂θ)ᵀ u. The results are
 * checked against central differences of the solved fixed point (float64),
 * against the closed form with `linalg.solve` and `jacfwd`, under `vmap`,
 * `jit` and `hessian`, and against differentiating the unrolled iterations.
 *
 *   npx --yes deno@2 run examples/implicit_fixed_point.ts [--quick]
 *
 * Every result is checked; a disagreement throws.
 * @module
 */
import {
  customVjp,
  eye,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  linalg,
  manualSeed,
  randn,
  stack,
  type Tensor,
  tensor,
  vjp,
  vmap,
} from "../mod.ts";
import { check, size } from "./_util.ts";

manualSeed(0);
const n = 8;
const F64 = { dtype: "float64" } as const;
// ‖W‖₂ ≤ ‖W‖_F = 1/2: g is a contraction in x, so iterating it converges.
const W0 = randn([n, n], F64);
const W = W0.mul(0.5 / W0.square().sum().sqrt().item());

const g = (x: Tensor, theta: Tensor) => W.matmul(x).add(theta).tanh();

/** Fixed-point iteration: 60 steps shrink the error by 2⁻⁶⁰ (no value is read, so it traces under vmap and jit). */
function iterate(step: (u: Tensor) => Tensor, start: Tensor): Tensor {
  let u = start;
  for (let k = 0; k < 60; k++) u = step(u);
  return u;
}

/** x*(θ) with the implicit-function derivative. */
const fixedPoint = customVjp(
  function fixedPoint(theta: Tensor) {
    return iterate((x) => g(x, theta), theta.mul(0));
  },
  (theta: Tensor) => {
    const x = iterate((x) => g(x, theta), theta.mul(0));
    return [x, { x, theta }];
  },
  (res, v: Tensor) => {
    const { x, theta } = res as { x: Tensor; theta: Tensor };
    // (∂g/∂x)ᵀ u and (∂g/∂θ)ᵀ u at the solution, from one vjp of g.
    const [, back] = vjp(g, x, theta);
    const u = iterate((u) => v.add(back(u)[0]), v);
    return [back(u)[1]];
  },
);

const loss = (theta: Tensor) => fixedPoint(theta).square().sum();
const theta = randn([n], F64);
const xStar = fixedPoint(theta);
check("x* = g(x*, θ)", xStar, g(xStar, theta), { rtol: 0, atol: 1e-14 });
console.log(
  `fixed point: x* ${size(xStar)}, residual ${
    g(xStar, theta).sub(xStar).abs().max().item().toExponential(1)
  }`,
);

// 1. The gradient against central differences of the solved fixed point.
const gradImplicit = grad(loss)(theta);
const h = 1e-6;
const I = eye(n, F64);
const basis = Array.from({ length: n }, (_, i) => I.select(0, i));
const fd = basis.map((e) =>
  (loss(theta.add(e.mul(h))).item() - loss(theta.sub(e.mul(h))).item()) /
  (2 * h)
);
check("grad(loss) == central differences", gradImplicit, tensor(fd, F64), {
  rtol: 1e-6,
  atol: 1e-8,
});

// 2. The Jacobian against (I − ∂g/∂x)⁻¹ ∂g/∂θ.
const Jx = jacfwd(g, { argnums: 0 })(xStar, theta);
const Jt = jacfwd(g, { argnums: 1 })(xStar, theta);
const closed = linalg.solve(eye(n, F64).sub(Jx), Jt);
const J = jacrev(fixedPoint)(theta);
check("jacrev(x*) == (I − ∂g/∂x)⁻¹ ∂g/∂θ", J, closed, {
  rtol: 1e-10,
  atol: 1e-12,
});
console.log(`ok: jacrev(fixedPoint) ${size(J)} == (I − ∂g/∂x)⁻¹ ∂g/∂θ`);

// 3. Differentiating the 60 unrolled iterations agrees (to the solver's
//    accuracy), but records every iteration; the implicit backward pass
//    needs only the solution.
const unrolled = grad((t: Tensor) =>
  iterate((x) => g(x, t), t.mul(0)).square().sum()
)(theta);
check("implicit == unrolled", gradImplicit, unrolled, {
  rtol: 1e-10,
  atol: 1e-12,
});

// 4. Under vmap and jit, and second order (jacfwd over the custom vjp
//    differentiates fwd and bwd).
const thetas = randn([5, n], F64);
const batched = vmap(grad(loss))(thetas);
for (let i = 0; i < 5; i++) {
  check(
    `vmap(grad) row ${i}`,
    batched.select(0, i),
    grad(loss)(thetas.select(0, i)),
    { rtol: 1e-10, atol: 1e-12 },
  );
}
check("jit(grad)", jit(grad(loss))(theta), gradImplicit, {
  rtol: 1e-10,
  atol: 1e-12,
});
check("grad(jit)", grad(jit(loss))(theta), gradImplicit, {
  rtol: 1e-10,
  atol: 1e-12,
});
const H = hessian(loss)(theta);
const Hfd = basis.map((e) =>
  grad(loss)(theta.add(e.mul(h))).sub(grad(loss)(theta.sub(e.mul(h)))).div(
    2 * h,
  )
);
check("hessian(loss) == differences of grad", H, stack(Hfd), {
  rtol: 1e-5,
  atol: 1e-7,
});
console.log(
  `ok: vmap(grad) ${size(batched)}, jit(grad), grad(jit) and hessian ${
    size(H)
  } agree`,
);
console.log("All results agree.");
