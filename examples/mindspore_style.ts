/**
 * MindSpore's tutorial "Computing Jacobian and Hessian Matrices Using
 * Functional Transformations", in jacobi. MindSpore's names map to jacobi's:
 *
 *   jacrev(fn, grad_position=2)        → jacrev(fn, { argnums: 2 })
 *   jacfwd(fn, grad_position=(0, 1))   → jacfwd(fn, { argnums: [0, 1] })
 *   vmap(fn, in_axes=(None, None, 0))  → vmap(fn, { inDims: [null, null, 0] })
 *   vmap(fn, out_axes=1)               → vmap(fn, { outDims: 1 })
 *   has_aux=True                       → { hasAux: true }
 *
 *   npx --yes deno@2 run examples/mindspore_style.ts [--quick]
 *
 * Computed in float64 and checked against closed forms; a mismatch throws.
 * @module
 */
import {
  eye,
  hessian,
  jacfwd,
  jacrev,
  linear,
  manualSeed,
  randn,
  type Tensor,
  vjp,
  vmap,
  zeros,
} from "../mod.ts";
import { check, getPerf, QUICK, size, timeAll } from "./_util.ts";

manualSeed(1);
const f64 = { dtype: "float64" } as const;
const tight = { rtol: 1e-10, atol: 1e-12 };
console.log(
  `jacobi: MindSpore-style Jacobians and Hessians${
    QUICK ? " (quick timings)" : ""
  }`,
);

// ---------------------------------------------------------------------------
console.log("\n== Jacobians of a function of several inputs ==");
// f(x, y, z) = x * sin(y) + z², elementwise: every Jacobian is diagonal.
const f = (x: Tensor, y: Tensor, z: Tensor): Tensor =>
  x.mul(y.sin()).add(z.square());
const n = 5;
const [x, y, z] = [randn([n], f64), randn([n], f64), randn([n], f64)];
const diag = (v: Tensor): Tensor => eye(n, f64).mul(v);

const jx = jacrev(f)(x, y, z); // grad_position defaults to 0
console.log(`jacrev(f)(x, y, z): ${size(jx)}`);
check("df/dx == diag(sin y)", jx, diag(y.sin()), tight);

const [jrx, jry, jrz] = jacrev(f, { argnums: [0, 1, 2] })(x, y, z);
const [jfx, jfy, jfz] = jacfwd(f, { argnums: [0, 1, 2] })(x, y, z);
console.log(
  `jacrev(f, { argnums: [0, 1, 2] }): ${size(jrx)}, ${size(jry)}, ${size(jrz)}`,
);
check("jacrev df/dy == diag(x cos y)", jry, diag(x.mul(y.cos())), tight);
check("jacrev df/dz == diag(2 z)", jrz, diag(z.mul(2)), tight);
check("jacfwd df/dx == jacrev df/dx", jfx, jrx, tight);
check("jacfwd df/dy == jacrev df/dy", jfy, jry, tight);
check("jacfwd df/dz == jacrev df/dz", jfz, jrz, tight);

// ---------------------------------------------------------------------------
console.log("\n== Hessians with respect to several inputs ==");
// g(x, y) = sum(x² y):  ∂²g/∂x² = diag(2y), ∂²g/∂x∂y = diag(2x), ∂²g/∂y² = 0.
const g = (x: Tensor, y: Tensor): Tensor => x.square().mul(y).sum();
const [[hxx, hxy], [hyx, hyy]] = hessian(g, { argnums: [0, 1] })(x, y);
console.log(
  `hessian(g, { argnums: [0, 1] }): [[${size(hxx)}, ${size(hxy)}], [${
    size(hyx)
  }, ${size(hyy)}]]`,
);
check("d²g/dx² == diag(2 y)", hxx, diag(y.mul(2)), tight);
check("d²g/dx dy == diag(2 x)", hxy, diag(x.mul(2)), tight);
check("d²g/dy dx == diag(2 x)", hyx, diag(x.mul(2)), tight);
check("d²g/dy² == 0", hyy, zeros([n, n], f64), tight);
const hRevRev = jacrev(jacrev(g, { argnums: [0, 1] }), { argnums: [0, 1] })(
  x,
  y,
);
check("jacrev(jacrev) d²g/dx dy == hessian", hRevRev[0][1], hxy, tight);

// ---------------------------------------------------------------------------
console.log("\n== The forecast network (MindSpore's running example) ==");
// forecast(weight, bias, x) = tanh(dense(x, weight, bias))
const forecast = (weight: Tensor, bias: Tensor, x: Tensor): Tensor =>
  linear(x, weight, bias).tanh();
const D = 16;
const [weight, bias, feat] = [
  randn([D, D], f64),
  randn([D], f64),
  randn([D], f64),
];
const yOut = forecast(weight, bias, feat);
const s = yOut.square().neg().add(1); // 1 - y²
const jacClosed = s.unsqueeze(-1).mul(weight); // J[k, i] = (1 - y_k²) W[k, i]
const diag16 = (v: Tensor): Tensor => eye(D, f64).mul(v.unsqueeze(-1));

// vjp + vmap over the rows of the identity (MindSpore's first method).
const [, vjpFn] = vjp((x: Tensor) => forecast(weight, bias, x), feat);
const [jVjp] = vmap(vjpFn)(eye(D, f64));
check("vmap(vjpFn)(eye) == (1 - y²)[:, None] * W", jVjp, jacClosed, tight);
const jRev = jacrev(forecast, { argnums: 2 })(weight, bias, feat);
const jFwd = jacfwd(forecast, { argnums: 2 })(weight, bias, feat);
console.log(`jacrev(forecast, { argnums: 2 }): ${size(jRev)}`);
check("jacrev (grad_position=2) == closed form", jRev, jacClosed, tight);
check("jacfwd (grad_position=2) == closed form", jFwd, jacClosed, tight);

const [jW, jB] = jacrev(forecast, { argnums: [0, 1] })(weight, bias, feat);
console.log(
  `jacrev(forecast, { argnums: [0, 1] }): ${size(jW)}, ${size(jB)}`,
);
check("d forecast / d bias == diag(1 - y²)", jB, diag16(s), tight);
check(
  "d forecast / d weight == (1 - y²)_k δ_ki x_j",
  jW,
  diag16(s).unsqueeze(-1).mul(feat),
  tight,
);

const hRev = hessian(forecast, { argnums: 2 })(weight, bias, feat);
const hClosed = yOut.mul(s).mul(-2).unsqueeze(-1).unsqueeze(-1)
  .mul(weight.unsqueeze(-1)).mul(weight.unsqueeze(-2));
console.log(`hessian(forecast, { argnums: 2 }): ${size(hRev)}`);
check(
  "hessian == -2 y (1 - y²) W[k, i] W[k, j]",
  hRev,
  hClosed,
  tight,
);

// ---------------------------------------------------------------------------
console.log("\n== vmap with in_axes (inDims) and out_axes (outDims) ==");
const B = 8;
const xsRows = randn([B, D], f64); // batch along dim 0
const batchJac = vmap(jacrev(forecast, { argnums: 2 }), {
  inDims: [null, null, 0],
});
const bj = batchJac(weight, bias, xsRows);
console.log(`vmap(jacrev, in_axes=(None, None, 0)): ${size(bj)}`);
const ys = forecast(weight, bias, xsRows); // [B, D]
const bjClosed = ys.square().neg().add(1).unsqueeze(-1).mul(weight);
check("batched Jacobians == closed form", bj, bjClosed, tight);

// The batch along dim 1 of x, and the batch dim of the result placed last.
const xsCols = xsRows.transpose(0, 1); // [D, B]
const bjCols = vmap(jacrev(forecast, { argnums: 2 }), {
  inDims: [null, null, 1],
  outDims: -1,
})(weight, bias, xsCols);
console.log(
  `vmap(jacrev, in_axes=(None, None, 1), out_axes=-1): ${size(bjCols)}`,
);
check(
  "in_axes=1, out_axes=-1 == movedim of the in_axes=0 result",
  bjCols,
  bj.movedim(0, -1),
  tight,
);

// Weights batched too: an ensemble of B networks, one input each.
const ws = randn([B, D, D], f64);
const ensembleJac = vmap(jacrev(forecast, { argnums: 2 }), {
  inDims: [0, null, 0],
})(ws, bias, xsRows);
const yEns = vmap(forecast, { inDims: [0, null, 0] })(ws, bias, xsRows);
check(
  "vmap(jacrev, in_axes=(0, None, 0)) == closed form per network",
  ensembleJac,
  yEns.square().neg().add(1).unsqueeze(-1).mul(ws),
  tight,
);

const bh = vmap(hessian(forecast, { argnums: 2 }), { inDims: [null, null, 0] })(
  weight,
  bias,
  xsRows,
);
console.log(`vmap(hessian, in_axes=(None, None, 0)): ${size(bh)}`);
const bhClosed = ys.mul(ys.square().neg().add(1)).mul(-2).unsqueeze(-1)
  .unsqueeze(-1).mul(weight.unsqueeze(-1)).mul(weight.unsqueeze(-2));
check("batched Hessians == closed form", bh, bhClosed, tight);

// ---------------------------------------------------------------------------
console.log("\n== jacfwd vs jacrev ==");
for (const [Din, Dout] of [[32, 1024], [1024, 32]]) {
  const w = randn([Dout, Din], f64), b = randn([Dout], f64);
  const v = randn([Din], f64);
  check(
    `jacfwd == jacrev for a ${Dout}x${Din} Jacobian`,
    jacfwd(forecast, { argnums: 2 })(w, b, v),
    jacrev(forecast, { argnums: 2 })(w, b, v),
    tight,
  );
  const [tf, tr] = await timeAll([
    [
      `jacfwd(forecast, { argnums: 2 }) (Din=${Din}, Dout=${Dout})`,
      () => jacfwd(forecast, { argnums: 2 })(w, b, v),
    ],
    [
      `jacrev(forecast, { argnums: 2 }) (Din=${Din}, Dout=${Dout})`,
      () => jacrev(forecast, { argnums: 2 })(w, b, v),
    ],
  ]);
  getPerf(tf, "jacfwd", tr, "jacrev");
}

console.log("\nAll results agree.");
