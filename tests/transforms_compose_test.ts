/**
 * Transform pairs against closed forms and against each other, in float64:
 * for predict(W, b, x) = tanh(W x + b), J = (1 - y²)[:, None] * W and
 * H[k, i, j] = -2 y_k (1 - y_k²) W[k, i] W[k, j]. Also the PyTorch
 * tutorial's batch Jacobian and Hessian, the "sum trick", hvp, nesting,
 * chunkSize, perturbation confusion, hasAux, pytrees and plain numbers.
 * @module
 */
import assert from "node:assert/strict";
import {
  checkpoint,
  customJvp,
  customVjp,
  debug,
  evalShape,
  eye,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linear,
  linearize,
  linearizeWithAux,
  linearTranspose,
  matmul,
  type Tensor,
  tensor,
  valueAndGrad,
  vhp,
  vjp,
  vjpWithAux,
  vmap,
} from "../mod.ts";
import {
  assertClose,
  assertShape,
  assertTreeClose,
  centralDiff,
  randnT,
  Rng,
  stackOf,
} from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const EXACT = { rtol: 1e-10, atol: 1e-12 };

const predict = (W: Tensor, b: Tensor, x: Tensor) => linear(x, W, b).tanh();

function problem(seed: number, out = 5, inp = 4) {
  const rng = new Rng(seed);
  const W = randnT(rng, [out, inp]).mul(0.5);
  const b = randnT(rng, [out]);
  const x = randnT(rng, [inp]);
  const y = predict(W, b, x);
  const dy = y.square().neg().add(1); // 1 - y²
  return { rng, W, b, x, y, dy };
}

/** J = (1 - y²)[:, None] * W. */
const closedJ = (W: Tensor, dy: Tensor) => dy.unsqueeze(-1).mul(W);

/** H[k, i, j] = -2 y_k (1 - y_k²) W[k, i] W[k, j] (with any leading batch dims on y). */
function closedH(W: Tensor, y: Tensor): Tensor {
  const s = y.mul(y.square().neg().add(1)).mul(-2).unsqueeze(-1).unsqueeze(-1);
  return s.mul(W.unsqueeze(-1).mul(W.unsqueeze(-2)));
}

Deno.test("jacrev() and jacfwd() of tanh(Wx + b) equal (1 - y²)[:, None] * W", () => {
  const { W, b, x, dy } = problem(1);
  const J = closedJ(W, dy);
  assertClose(jacrev(predict, { argnums: 2 })(W, b, x), J, EXACT, "jacrev");
  assertClose(jacfwd(predict, { argnums: 2 })(W, b, x), J, EXACT, "jacfwd");
  assertClose(
    jacrev((x: Tensor) => predict(W, b, x))(x),
    J,
    EXACT,
    "jacrev, closure",
  );
});

Deno.test("vmap(vjpFn)(eye) gives the Jacobian by rows and vmap(linearize jvpFn)(eye) by columns", () => {
  const { W, b, x, dy } = problem(2);
  const J = closedJ(W, dy);
  const [, vjpFn] = vjp((x: Tensor) => predict(W, b, x), x);
  const [rows] = vmap(vjpFn)(eye(5, { dtype: "float64" })) as Tensor[];
  assertClose(rows, J, EXACT, "vmap(vjpFn)");
  const [, jvpFn] = linearize((x: Tensor) => predict(W, b, x), x);
  const cols = vmap(jvpFn)(eye(4, { dtype: "float64" })) as Tensor;
  assertClose(cols, J.T, EXACT, "vmap(jvpFn)");
  const fwd = vmap((t: Tensor) =>
    jvp((x: Tensor) => predict(W, b, x), [x], [t])[1]
  )(
    eye(4, { dtype: "float64" }),
  );
  assertClose(fwd as Tensor, J.T, EXACT, "vmap(jvp)");
});

Deno.test("hessian() and all four Hessian compositions equal -2 y_k (1 - y_k²) W[k, i] W[k, j]", () => {
  const { W, b, x, y } = problem(3);
  const H = closedH(W, y);
  const opts = { argnums: 2 };
  const cases: [string, Any][] = [
    ["hessian", hessian(predict, opts)],
    ["jacfwd(jacrev)", jacfwd(jacrev(predict, opts), opts)],
    ["jacfwd(jacfwd)", jacfwd(jacfwd(predict, opts), opts)],
    ["jacrev(jacrev)", jacrev(jacrev(predict, opts), opts)],
    ["jacrev(jacfwd)", jacrev(jacfwd(predict, opts), opts)],
  ];
  for (const [name, h] of cases) {
    const got = h(W, b, x) as Tensor;
    assertShape(got, [5, 4, 4], name);
    assertClose(got, H, EXACT, name);
  }
});

Deno.test("jacrev() and jacfwd() with argnums [0, 1] give dy/dW and dy/db in closed form", () => {
  const { W, b, x, dy } = problem(4);
  // dy_k/dW[i, j] = (1 - y_k²) δ_ki x_j; dy/db = diag(1 - y²).
  const I = eye(5, { dtype: "float64" });
  const dW = dy.unsqueeze(-1).unsqueeze(-1).mul(I.unsqueeze(-1)).mul(x);
  const db = I.mul(dy.unsqueeze(-1));
  for (const jac of [jacrev, jacfwd]) {
    const [jW, jb] = jac(predict, { argnums: [0, 1] })(W, b, x) as Tensor[];
    assertShape(jW, [5, 5, 4], `${jac.name} dW`);
    assertClose(jW, dW, EXACT, `${jac.name} dW`);
    assertClose(jb, db, EXACT, `${jac.name} db`);
  }
  // Negative argnums count from the end.
  assertClose(
    jacrev(predict, { argnums: -1 })(W, b, x),
    closedJ(W, dy),
    EXACT,
    "argnums -1",
  );
});

Deno.test("jacrev() and jacfwd() give out.shape ++ in.shape for pytree inputs and outputs", () => {
  const { W, b, x, y, dy } = problem(5);
  const f = (p: { W: Tensor; b: Tensor }, xs: Tensor[]) => {
    const out = predict(p.W, p.b, xs[0]);
    return { y: out, n: [out.square().sum(), xs[1].mul(2)] };
  };
  const z = randnT(new Rng(55), [2, 3]);
  const I = eye(5, { dtype: "float64" });
  // n = Σ y²: dn/dW[i, j] = 2 y_i (1 - y_i²) x_j, dn/db = 2 y (1 - y²).
  const g = y.mul(dy).mul(2);
  const expected = {
    y: {
      W: dy.unsqueeze(-1).unsqueeze(-1).mul(I.unsqueeze(-1)).mul(x),
      b: I.mul(dy.unsqueeze(-1)),
    },
    n: [{ W: g.unsqueeze(-1).mul(x), b: g }, {
      W: tensor(0).to("float64").expand([2, 3, 5, 4]),
      b: tensor(0).to("float64").expand([2, 3, 5]),
    }],
  };
  for (const jac of [jacrev, jacfwd]) {
    const got = jac(f)({ W, b }, [x, z]) as Any;
    assertShape(got.y.W, [5, 5, 4], `${jac.name} y.W`);
    assertShape(got.n[0].W, [5, 4], `${jac.name} n[0].W`);
    assertShape(got.n[1].b, [2, 3, 5], `${jac.name} n[1].b`);
    assertTreeClose(got, expected, EXACT, jac.name);
    // An array argument differentiates every leaf: [d/dx, d/dz].
    const [, dz] = (jac(f, { argnums: 1 })({ W, b }, [x, z]) as Any).n[1];
    assertShape(dz, [2, 3, 2, 3], `${jac.name} d(2z)/dz`);
    assertClose(
      dz,
      eye(6, { dtype: "float64" }).mul(2).reshape([2, 3, 2, 3]),
      EXACT,
      `${jac.name} d(2z)/dz`,
    );
  }
});

Deno.test("vmap(jacrev) and vmap(hessian) give the tutorial's batch Jacobian [64, 33, 31] and Hessian [64, 33, 31, 31]", () => {
  const rng = new Rng(6);
  const W = randnT(rng, [33, 31]).mul(0.2),
    b = randnT(rng, [33]),
    X = randnT(rng, [64, 31]);
  const Y = predict(W, b, X);
  const batchJ = vmap(jacrev(predict, { argnums: 2 }), {
    inDims: [null, null, 0],
  })(W, b, X) as Tensor;
  assertShape(batchJ, [64, 33, 31], "batch Jacobian");
  assertClose(
    batchJ,
    Y.square().neg().add(1).unsqueeze(-1).mul(W),
    EXACT,
    "batch Jacobian",
  );
  const batchH = vmap(hessian(predict, { argnums: 2 }), {
    inDims: [null, null, 0],
  })(W, b, X) as Tensor;
  assertShape(batchH, [64, 33, 31, 31], "batch Hessian");
  assertClose(batchH, closedH(W, Y), EXACT, "batch Hessian");
});

Deno.test("jacrev() of the batch-summed output, movedim(1, 0), equals vmap(jacrev) (the sum trick)", () => {
  const rng = new Rng(7);
  const W = randnT(rng, [6, 5]).mul(0.5),
    b = randnT(rng, [6]),
    X = randnT(rng, [8, 5]);
  const summed = jacrev((X: Tensor) => predict(W, b, X).sum(0))(X) as Tensor;
  assertShape(summed, [6, 8, 5], "jacrev of the sum");
  const viaVmap = vmap(jacrev(predict, { argnums: 2 }), {
    inDims: [null, null, 0],
  })(W, b, X) as Tensor;
  assertClose(summed.movedim(1, 0), viaVmap, EXACT, "sum trick");
});

Deno.test("hvp of sum(sin(x)) is -sin(x) * v via jvp(grad), vjp(grad), hvp() and vhp()", () => {
  const rng = new Rng(8);
  const x = randnT(rng, [7]), v = randnT(rng, [7]);
  const f = (x: Tensor) => x.sin().sum();
  const expected = x.sin().neg().mul(v);
  assertClose(
    jvp(grad(f), [x], [v])[1] as Tensor,
    expected,
    EXACT,
    "jvp(grad)",
  );
  const [, vjpFn] = vjp(grad(f), x);
  assertClose(vjpFn(v)[0] as Tensor, expected, EXACT, "vjp(grad)");
  assertClose(hvp(f, [x], [v]), expected, EXACT, "hvp");
  assertClose(vhp(f, [x], [v]), expected, EXACT, "vhp");
  // Two arguments: f(x, y) = Σ sin(x) y: H = [[-diag(sin x · y), diag(cos x)], [diag(cos x), 0]].
  const y = randnT(rng, [7]), w = randnT(rng, [7]);
  const f2 = (x: Tensor, y: Tensor) => x.sin().mul(y).sum();
  const hx = x.sin().mul(y).neg().mul(v).add(x.cos().mul(w));
  const hy = x.cos().mul(v);
  const [ax, ay] = hvp(f2, [x, y], [v, w]) as Tensor[];
  assertClose(ax, hx, EXACT, "hvp of two arguments, x");
  assertClose(ay, hy, EXACT, "hvp of two arguments, y");
  const [bx, by] = vhp(f2, [x, y], [v, w]) as Tensor[];
  assertClose(bx, hx, EXACT, "vhp of two arguments, x");
  assertClose(by, hy, EXACT, "vhp of two arguments, y");
});

Deno.test("grad(grad) and grad of jacrev give higher derivatives of x³", () => {
  const x = randnT(new Rng(9), [4]);
  const f = (x: Tensor) => x.pow(3).sum();
  const gg = grad((x: Tensor) => grad(f)(x).sum())(x) as Tensor;
  assertClose(gg, x.mul(6), EXACT, "grad(grad)");
  const ggg = grad((x: Tensor) =>
    grad((x: Tensor) => grad(f)(x).sum())(x).sum()
  )(x) as Tensor;
  assertClose(ggg, x.mul(0).add(6), EXACT, "grad(grad(grad))");
  const H = jacrev(grad(f))(x) as Tensor;
  assertClose(
    H,
    eye(4, { dtype: "float64" }).mul(x.mul(6)),
    EXACT,
    "jacrev(grad)",
  );
});

Deno.test("jacrev(vmap(f)) is block diagonal with the per-example Jacobians", () => {
  const { W, b } = problem(10);
  const X = randnT(new Rng(10), [3, 4]);
  const Y = predict(W, b, X);
  const J = jacrev(vmap((x: Tensor) => predict(W, b, x)))(X) as Tensor;
  assertShape(J, [3, 5, 3, 4], "jacrev(vmap)");
  const blocks = Y.square().neg().add(1).unsqueeze(-1).mul(W); // [3, 5, 4]
  const I = eye(3, { dtype: "float64" });
  const expected = blocks.unsqueeze(2).mul(I.unsqueeze(1).unsqueeze(-1)); // [3, 5, 3, 4]
  assertClose(J, expected, EXACT, "jacrev(vmap)");
  const Jf = jacfwd(vmap((x: Tensor) => predict(W, b, x)))(X) as Tensor;
  assertClose(Jf, expected, EXACT, "jacfwd(vmap)");
});

Deno.test("vmap(vmap(f)) with inDims [0, null] inside [null, 0] gives all pairs", () => {
  const rng = new Rng(11);
  const A = randnT(rng, [3, 4]), Bm = randnT(rng, [5, 4]);
  const dot = (a: Tensor, b: Tensor) => a.mul(b).sum();
  const pairs = vmap(vmap(dot, { inDims: [0, null] }), { inDims: [null, 0] })(
    A,
    Bm,
  ) as Tensor;
  assertShape(pairs, [5, 3], "pairs");
  assertClose(pairs, matmul(Bm, A.T), EXACT, "vmap(vmap(dot))");
  // Both levels over the same argument's two dims, the inner one at -1.
  const M = randnT(rng, [3, 5]);
  const sq = vmap(vmap((x: Tensor) => x.square(), { inDims: -1 }), {
    inDims: 1,
    outDims: 1,
  })(M) as Tensor;
  assertClose(sq, M.square().T.T, EXACT, "vmap(vmap) over both dims");
});

Deno.test("vmap(hessian) and vmap(jacfwd) with argnums match stacking per example", () => {
  const rng = new Rng(12);
  const f = (x: Tensor, y: Tensor) => x.sin().mul(y.exp()).sum();
  const X = randnT(rng, [4, 3]), Y = randnT(rng, [4, 3]);
  const hs = vmap(hessian(f, { argnums: [0, 1] }))(X, Y) as Any;
  const js = vmap(jacfwd(f, { argnums: [0, 1] }))(X, Y) as Tensor[];
  for (let i = 0; i < 4; i++) {
    const h = hessian(f, { argnums: [0, 1] })(
      X.select(0, i),
      Y.select(0, i),
    ) as Any;
    for (const r of [0, 1]) {
      for (const c of [0, 1]) {
        assertClose(
          hs[r][c].select(0, i),
          h[r][c],
          EXACT,
          `vmap(hessian) [${r}][${c}] entry ${i}`,
        );
      }
    }
    const j = jacfwd(f, { argnums: [0, 1] })(
      X.select(0, i),
      Y.select(0, i),
    ) as Tensor[];
    assertClose(js[0].select(0, i), j[0], EXACT, `vmap(jacfwd) x entry ${i}`);
    assertClose(js[1].select(0, i), j[1], EXACT, `vmap(jacfwd) y entry ${i}`);
  }
  // And the mixed block against its closed form: d²f/dx dy = diag(cos x · e^y).
  assertClose(
    hs[0][1].select(0, 2),
    eye(3, { dtype: "float64" }).mul(
      X.select(0, 2).cos().mul(Y.select(0, 2).exp()),
    ),
    EXACT,
    "d²f/dxdy",
  );
});

Deno.test("chunkSize on vmap, jacrev, jacfwd and hessian gives the same results", () => {
  const rng = new Rng(13);
  const W = randnT(rng, [9, 7]).mul(0.4),
    b = randnT(rng, [9]),
    X = randnT(rng, [10, 7]);
  const full = vmap(jacrev(predict, { argnums: 2 }), {
    inDims: [null, null, 0],
  })(W, b, X) as Tensor;
  for (const chunkSize of [1, 3, 10, 64]) {
    const v = vmap(jacrev(predict, { argnums: 2 }), {
      inDims: [null, null, 0],
      chunkSize,
    })(W, b, X);
    assertClose(v as Tensor, full, EXACT, `vmap chunkSize ${chunkSize}`);
    const r = jacrev(predict, { argnums: 2, chunkSize })(W, b, X.select(0, 0));
    assertClose(r, full.select(0, 0), EXACT, `jacrev chunkSize ${chunkSize}`);
    const f = jacfwd(predict, { argnums: 2, chunkSize })(W, b, X.select(0, 1));
    assertClose(f, full.select(0, 1), EXACT, `jacfwd chunkSize ${chunkSize}`);
    const h = hessian(predict, { argnums: 2, chunkSize })(W, b, X.select(0, 2));
    assertClose(
      h,
      closedH(W, predict(W, b, X.select(0, 2))),
      EXACT,
      `hessian chunkSize ${chunkSize}`,
    );
  }
  // outDims with chunks: the chunks are concatenated along the output's batch dim.
  const moved = vmap(
    (x: Tensor) => x.unsqueeze(0).mul(W.select(1, 0).unsqueeze(1)),
    { chunkSize: 4, outDims: 2 },
  )(X);
  assertShape(moved as Tensor, [9, 7, 10], "outDims 2 with chunkSize");
  assertClose(
    moved as Tensor,
    W.select(1, 0).unsqueeze(-1).unsqueeze(-1).mul(X.T.unsqueeze(0)),
    EXACT,
    "outDims 2 with chunkSize",
  );
});

Deno.test("no perturbation confusion: d/dx [x * d/dy (x + y)] = 1", () => {
  const x0 = tensor(1.5, { dtype: "float64" }),
    one = tensor(1, { dtype: "float64" });
  // Inner derivative taken at a constant y, and at y = x (a tracer of the outer transform).
  const atConst = grad((x: Tensor) =>
    x.mul(grad((y: Tensor) => x.add(y))(one))
  )(x0) as Tensor;
  assertClose(atConst, 1, EXACT, "grad of grad, y constant");
  const atX = grad((x: Tensor) => x.mul(grad((y: Tensor) => x.add(y))(x)))(
    x0,
  ) as Tensor;
  assertClose(atX, 1, EXACT, "grad of grad, y = x");
  const fwd = jvp(
    (x: Tensor) =>
      x.mul(jvp((y: Tensor) => x.add(y), [one], [one])[1] as Tensor),
    [x0],
    [one],
  )[1] as Tensor;
  assertClose(fwd, 1, EXACT, "jvp of jvp");
  const mixed = jacfwd((x: Tensor) =>
    x.mul(jacrev((y: Tensor) => x.add(y))(x))
  )(x0) as Tensor;
  assertClose(mixed, 1, EXACT, "jacfwd of jacrev");
  // The cross derivative d/dx d/dy (x y) = 1, with the inner closure over x.
  const cross = grad((x: Tensor) => grad((y: Tensor) => x.mul(y))(x0.mul(3)))(
    x0,
  ) as Tensor;
  assertClose(cross, 1, EXACT, "d/dx d/dy (x y)");
  // vmap inside grad closing over the differentiated value.
  const xs = randnT(new Rng(14), [3]);
  const g = grad((s: Tensor) => vmap((x: Tensor) => x.mul(s).sin())(xs).sum())(
    x0,
  ) as Tensor;
  assertClose(
    g,
    xs.mul(x0).cos().mul(xs).sum(),
    EXACT,
    "grad of vmap closing over s",
  );
});

Deno.test("hasAux on grad, valueAndGrad, jvp, vjpWithAux, jacrev, jacfwd and hessian returns the aux undifferentiated", () => {
  const x = randnT(new Rng(15), [3]);
  const f = (
    x: Tensor,
  ): [Tensor, Any] => [x.sin().sum(), { sq: x.square(), tag: "t", k: 2 }];
  const expectAux = (aux: Any, what: string) => {
    assertClose(aux.sq, x.square(), EXACT, `${what} aux.sq`);
    if (aux.tag !== "t" || aux.k !== 2) {
      throw new Error(`${what}: constants in aux lost: ${JSON.stringify(aux)}`);
    }
  };
  const [g, aux] = grad(f, { hasAux: true })(x) as [Tensor, Any];
  assertClose(g, x.cos(), EXACT, "grad");
  expectAux(aux, "grad");
  const [[v, aux2], g2] = valueAndGrad(f, { hasAux: true })(x) as Any;
  assertClose(v, x.sin().sum(), EXACT, "valueAndGrad value");
  assertClose(g2, x.cos(), EXACT, "valueAndGrad grad");
  expectAux(aux2, "valueAndGrad");
  const t = randnT(new Rng(16), [3]);
  const [y, ty, aux3] = jvp(f, [x], [t], { hasAux: true }) as Any;
  assertClose(y, x.sin().sum(), EXACT, "jvp out");
  assertClose(ty, x.cos().mul(t).sum(), EXACT, "jvp tangent");
  expectAux(aux3, "jvp");
  const [y4, vjpFn, aux4] = vjpWithAux(f, x);
  assertClose(y4 as Tensor, x.sin().sum(), EXACT, "vjpWithAux out");
  assertClose(
    vjpFn(tensor(2, { dtype: "float64" }))[0] as Tensor,
    x.cos().mul(2),
    EXACT,
    "vjpWithAux cotangent",
  );
  expectAux(aux4, "vjpWithAux");
  const fv = (
    x: Tensor,
  ): [Tensor, Any] => [x.sin(), { sq: x.square(), tag: "t", k: 2 }];
  const [jr, aux5] = jacrev(fv, { hasAux: true })(x) as Any;
  assertClose(jr, eye(3, { dtype: "float64" }).mul(x.cos()), EXACT, "jacrev");
  expectAux(aux5, "jacrev");
  const [jf, aux6] = jacfwd(fv, { hasAux: true })(x) as Any;
  assertClose(jf, eye(3, { dtype: "float64" }).mul(x.cos()), EXACT, "jacfwd");
  expectAux(aux6, "jacfwd");
  const [h, aux7] = hessian(f, { hasAux: true })(x) as Any;
  assertClose(
    h,
    eye(3, { dtype: "float64" }).mul(x.sin().neg()),
    EXACT,
    "hessian",
  );
  expectAux(aux7, "hessian");
  // The aux tensors are concrete values, readable outside the transform.
  if (!(aux7.sq.data() instanceof Float64Array)) {
    throw new Error("hessian aux is not a concrete float64 tensor");
  }
});

Deno.test("plain numbers in arguments are constants to grad, jacrev, jvp and vmap", () => {
  const x = randnT(new Rng(17), [3]);
  const f = (x: Tensor, k: number) => x.mul(k).sin().sum();
  assertClose(
    grad(f)(x, 2.5) as Tensor,
    x.mul(2.5).cos().mul(2.5),
    EXACT,
    "grad with a number argument",
  );
  const g = (p: { w: Tensor; scale: number }) => p.w.mul(p.scale).sum();
  const gp = grad(g)({ w: x, scale: 3 }) as Any;
  assertClose(
    gp.w,
    x.mul(0).add(3),
    EXACT,
    "grad of a pytree holding a number",
  );
  if (gp.scale !== 3) {
    throw new Error(
      `the number leaf of the gradient pytree is ${gp.scale}, expected 3 kept as is`,
    );
  }
  assertClose(
    jacrev((x: Tensor, k: number) => x.mul(k), { argnums: 0 })(x, 4) as Tensor,
    eye(3, { dtype: "float64" }).mul(4),
    EXACT,
    "jacrev with a number argument",
  );
  const [, t] = jvp((x: Tensor) => x.mul(2).add(1), [x], [x.mul(0).add(1)]);
  assertClose(t as Tensor, x.mul(0).add(2), EXACT, "jvp with number operands");
  const X = randnT(new Rng(18), [4, 3]);
  const vm = vmap((x: Tensor, k: number) => x.mul(k), { inDims: [0, null] })(
    X,
    5,
  ) as Tensor;
  assertClose(vm, X.mul(5), EXACT, "vmap with a number argument");
});

Deno.test("vmap() takes inDims as pytrees and negative dims, and outDims per output", () => {
  const rng = new Rng(19);
  const p = { a: randnT(rng, [3, 4]), b: randnT(rng, [4, 3]) };
  const list = [randnT(rng, [2, 3]), randnT(rng, [4])];
  const f = (
    p: { a: Tensor; b: Tensor },
    l: Tensor[],
  ) => [p.a.add(p.b).mul(l[0].sum()), l[1].sum()];
  // p.a batched at dim 0, p.b at -1, l[0] at 1, l[1] unbatched.
  const out = vmap(f, {
    inDims: [{ a: 0, b: -1 }, [1, null]],
    outDims: [1, 0],
  })(p, list) as Tensor[];
  const expected0 = stackOf(
    3,
    (i) =>
      p.a.select(0, i).add(p.b.select(-1, i)).mul(list[0].select(1, i).sum()),
  );
  assertClose(out[0], expected0.movedim(0, 1), EXACT, "output 0 at outDims 1");
  assertClose(
    out[1],
    list[1].sum().expand([3]),
    EXACT,
    "unbatched output 1 broadcast at outDims 0",
  );
});

Deno.test("vmap of grad, jvp and vjp of a two-argument function match per-example derivatives", () => {
  const rng = new Rng(20);
  const f = (w: Tensor, x: Tensor) => w.matmul(x).tanh().sum();
  const Wb = randnT(rng, [4, 3, 2]), Xb = randnT(rng, [2, 4]);
  const g = vmap(grad(f, { argnums: [0, 1] }), { inDims: [0, 1] })(
    Wb,
    Xb,
  ) as Tensor[];
  for (let i = 0; i < 4; i++) {
    const [gw, gx] = grad(f, { argnums: [0, 1] })(
      Wb.select(0, i),
      Xb.select(1, i),
    ) as Tensor[];
    assertClose(g[0].select(0, i), gw, EXACT, `vmap(grad) w entry ${i}`);
    assertClose(g[1].select(0, i), gx, EXACT, `vmap(grad) x entry ${i}`);
    // And against central differences of f itself.
    const [fdw] = centralDiff((w: Tensor) => f(w, Xb.select(1, i)), [
      Wb.select(0, i),
    ], [eye(3, 2, { dtype: "float64" })]);
    assertClose(gw.mul(eye(3, 2, { dtype: "float64" })).sum(), fdw, {
      rtol: 1e-6,
      atol: 1e-6,
    }, `grad vs difference, entry ${i}`);
  }
});

Deno.test("jacrev, jacfwd, grad, hessian and vmap give zeros of the right shape for outputs independent of the input", () => {
  const rng = new Rng(21);
  const x = randnT(rng, [3]), c = randnT(rng, [2]);
  const zeros = (shape: number[]) => tensor(0).to("float64").expand(shape);
  assertClose(
    jacrev((_x: Tensor) => c.sin())(x),
    zeros([2, 3]),
    EXACT,
    "jacrev",
  );
  assertClose(
    jacfwd((_x: Tensor) => c.sin())(x),
    zeros([2, 3]),
    EXACT,
    "jacfwd",
  );
  assertClose(
    grad((_x: Tensor) => c.sum())(x) as Tensor,
    zeros([3]),
    EXACT,
    "grad",
  );
  assertClose(
    grad((x: Tensor) => x.detach().sum())(x) as Tensor,
    zeros([3]),
    EXACT,
    "grad through detach",
  );
  assertClose(
    hessian((x: Tensor) => x.mul(2).sum())(x),
    zeros([3, 3]),
    EXACT,
    "hessian of a linear function",
  );
  const X = randnT(rng, [4, 3]);
  assertClose(
    vmap(jacrev((_x: Tensor) => c.sin()))(X) as Tensor,
    zeros([4, 2, 3]),
    EXACT,
    "vmap(jacrev)",
  );
  assertClose(
    jacrev(vmap((_x: Tensor) => c.sum()))(X),
    zeros([4, 4, 3]),
    EXACT,
    "jacrev(vmap)",
  );
  assertClose(
    vmap((_x: Tensor) => c)(X) as Tensor,
    c.expand([4, 2]),
    EXACT,
    "vmap of an unbatched output",
  );
});

Deno.test("jacrev, jacfwd and hessian of rank-0 inputs and outputs have rank-0 shapes", () => {
  const s = tensor(0.7, { dtype: "float64" }), v = randnT(new Rng(22), [3]);
  assertClose(
    jacrev((s: Tensor) => s.sin())(s),
    s.cos(),
    EXACT,
    "jacrev scalar → scalar",
  );
  assertClose(
    jacfwd((s: Tensor) => s.sin().mul(v))(s),
    s.cos().mul(v),
    EXACT,
    "jacfwd scalar → [3]",
  );
  assertClose(
    jacrev((v: Tensor) => v.square().sum())(v),
    v.mul(2),
    EXACT,
    "jacrev [3] → scalar",
  );
  assertClose(
    hessian((s: Tensor) => s.sin())(s),
    s.sin().neg(),
    EXACT,
    "hessian scalar",
  );
  // A size-1 output of rank 2 is a scalar for grad.
  assertClose(
    grad((v: Tensor) => v.sum().reshape([1, 1]))(v) as Tensor,
    v.mul(0).add(1),
    EXACT,
    "grad of a [1, 1] output",
  );
});

Deno.test("jacrev and vmap handle empty tensors", () => {
  const e = randnT(new Rng(23), [0]);
  assertShape(jacrev((x: Tensor) => x.sin())(e), [0, 0], "jacrev of [0]");
  assertShape(
    vmap((x: Tensor) => x.sin())(randnT(new Rng(23), [0, 3])) as Tensor,
    [0, 3],
    "vmap over a batch of 0",
  );
});

Deno.test("jacrev with several outputs and jacfwd with several inputs give the same blocks with and without chunkSize", () => {
  const rng = new Rng(24);
  const x = randnT(rng, [5]), y = randnT(rng, [5]);
  const f = (
    x: Tensor,
    y: Tensor,
  ) =>
    [x.sin().mul(y), x.mul(y).sum(), { z: y.exp().reshape([5, 1]) }] as const;
  const ref = jacrev(f, { argnums: [0, 1] })(x, y);
  for (const chunkSize of [1, 2, 4]) {
    assertTreeClose(
      jacrev(f, { argnums: [0, 1], chunkSize })(x, y),
      ref,
      EXACT,
      `jacrev chunkSize ${chunkSize}`,
    );
    assertTreeClose(
      jacfwd(f, { argnums: [0, 1], chunkSize })(x, y),
      ref,
      EXACT,
      `jacfwd chunkSize ${chunkSize}`,
    );
  }
  // The blocks themselves: d(sin x · y)/dx = diag(cos x · y), d(e^y)/dy = diag(e^y) as [5, 1, 5].
  const I = eye(5, { dtype: "float64" });
  assertClose(ref[0][0], I.mul(x.cos().mul(y)), EXACT, "d(sin x · y)/dx");
  assertClose(
    ref[2].z[1],
    I.mul(y.exp()).reshape([5, 1, 5]),
    EXACT,
    "d(e^y)/dy",
  );
});

Deno.test("vmap(hvp) and vmap(vhp) over the identity give the Hessian of sum(sin(x))", () => {
  const x = randnT(new Rng(25), [4]);
  const f = (x: Tensor) => x.sin().sum();
  const H = eye(4, { dtype: "float64" }).mul(x.sin().neg());
  assertClose(
    vmap((v: Tensor) => hvp(f, [x], [v]))(
      eye(4, { dtype: "float64" }),
    ) as Tensor,
    H,
    EXACT,
    "vmap(hvp)",
  );
  assertClose(
    vmap((v: Tensor) => vhp(f, [x], [v]))(
      eye(4, { dtype: "float64" }),
    ) as Tensor,
    H,
    EXACT,
    "vmap(vhp)",
  );
});

Deno.test("vjp of a pytree output takes a cotangent of the same structure", () => {
  const rng = new Rng(26);
  const x = randnT(rng, [3]),
    ca = randnT(rng, [3]),
    cb = tensor(0.5, { dtype: "float64" });
  const [out, vjpFn] = vjp((x: Tensor) => ({ a: x.sin(), b: [x.sum()] }), x);
  assertClose((out as Any).a, x.sin(), EXACT, "output a");
  const [g] = vjpFn({ a: ca, b: [cb] } as Any) as Tensor[];
  assertClose(g, x.cos().mul(ca).add(0.5), EXACT, "cotangent");
});

Deno.test("hasAux composes: with chunkSize, under vmap, and differentiated by an outer grad", () => {
  const x = randnT(new Rng(27), [3]);
  const I = eye(3, { dtype: "float64" });
  const [j, a] = jacfwd((x: Tensor) => [x.sin(), x.square()], {
    hasAux: true,
    chunkSize: 2,
  })(x) as Tensor[];
  assertClose(j, I.mul(x.cos()), EXACT, "jacfwd chunkSize 2, jacobian");
  assertClose(a, x.square(), EXACT, "jacfwd chunkSize 2, aux");
  const [h, a2] = hessian((x: Tensor) => [x.sin().sum(), x.square()], {
    hasAux: true,
    chunkSize: 2,
  })(x) as Tensor[];
  assertClose(h, I.mul(x.sin().neg()), EXACT, "hessian chunkSize 2");
  assertClose(a2, x.square(), EXACT, "hessian chunkSize 2, aux");
  const X = randnT(new Rng(28), [2, 3]);
  const [g, a3] = vmap(
    grad((x: Tensor) => [x.sin().sum(), x.square()], { hasAux: true }),
  )(X) as Tensor[];
  assertClose(g, X.cos(), EXACT, "vmap(grad hasAux) gradient");
  assertClose(a3, X.square(), EXACT, "vmap(grad hasAux) aux, stacked");
  // The aux of an inner transform is an ordinary value to an outer one: d/dx Σ(cos x + cos x).
  const outer = grad((x: Tensor) => {
    const [jj, aux] = jacrev((x: Tensor) => [x.sin(), x.cos()], {
      hasAux: true,
    })(x) as Tensor[];
    return jj.sum().add(aux.sum());
  })(x) as Tensor;
  assertClose(outer, x.sin().mul(-2), EXACT, "grad through jacrev's aux");
});

// ---- customJvp, customVjp, checkpoint, debug and the smaller transforms,
// nested under and over every existing transform, each called twice.

const cSin: (x: Tensor) => Tensor = customJvp(
  (x: Tensor) => x.sin(),
  ([x], [t]) => [cSin(x), t.mul(x.cos())],
);
const vSin = customVjp(
  (x: Tensor) => x.sin(),
  (x: Tensor) => [x.sin(), x],
  (x, ct: Tensor) => [ct.mul((x as Tensor).cos())],
);
const kSin = checkpoint((x: Tensor) => x.sin());
const dSin = (x: Tensor) => {
  debug.callback(() => {}, x);
  return x.sin();
};

Deno.test("customJvp, customVjp, checkpoint and debug.callback under every transform and nesting equal the plain function", () => {
  const rng = new Rng(41);
  const x = randnT(rng, [3]), t = randnT(rng, [3]), xs = randnT(rng, [2, 3]);
  const plain = (x: Tensor) => x.sin().mul(x).sum();
  // Outer transforms of a scalar function of one vector.
  const outer: [string, (f: (x: Tensor) => Tensor) => () => Tensor][] = [
    ["grad", (f) => () => grad(f)(x)],
    ["jvp", (f) => () => jvp(f, [x], [t])[1]],
    ["vjp", (f) => () => vjp(f, x)[1](tensor(2, { dtype: "float64" }))[0]],
    ["linearize", (f) => () => linearize(f, x)[1](t)],
    ["jacrev", (f) => () => jacrev(f)(x)],
    ["jacfwd", (f) => () => jacfwd(f)(x)],
    ["hessian", (f) => () => hessian(f)(x)],
    ["jit", (f) => () => jit(f)(x)],
    ["vmap", (f) => () => vmap(f)(xs)],
    ["jit(grad)", (f) => () => jit(grad(f))(x)],
    ["grad(jit)", (f) => () => grad(jit(f))(x)],
    ["vmap(grad)", (f) => () => vmap(grad(f))(xs)],
    ["grad(vmap)", (f) => () => grad((v: Tensor) => vmap(f)(v).sum())(xs)],
    ["vmap(hessian)", (f) => () => vmap(hessian(f))(xs)],
    ["jacfwd(jacrev)", (f) => () => jacfwd(jacrev(f))(x)],
    ["jacrev(jacfwd)", (f) => () => jacrev(jacfwd(f))(x)],
    ["jit(hessian)", (f) => () => jit(hessian(f))(x)],
    ["hessian(jit)", (f) => () => hessian(jit(f))(x)],
    ["vmap(jit(grad))", (f) => () => vmap(jit(grad(f)))(xs)],
    ["jvp(grad)", (f) => () => jvp(grad(f), [x], [t])[1]],
    ["vjp(grad)", (f) => () => vjp(grad(f), x)[1](t)[0]],
  ];
  const inner: [string, (x: Tensor) => Tensor][] = [
    ["customJvp", cSin],
    ["customVjp", vSin],
    ["checkpoint", kSin],
    ["debug.callback", dSin],
  ];
  for (const [iname, g] of inner) {
    const f = (x: Tensor) => g(x).mul(x).sum();
    for (const [oname, make] of outer) {
      const run = make(f);
      const want = make(plain)();
      const what = `${oname} of ${iname}`;
      assertClose(run(), want, EXACT, what);
      assertClose(run(), want, EXACT, `${what} (second call)`);
    }
  }
});

Deno.test("customJvp, customVjp and checkpoint over functions that use grad, vmap and jit inside", () => {
  const rng = new Rng(42);
  const x = randnT(rng, [3]), xs = randnT(rng, [2, 3]);
  const inner = (x: Tensor) => grad((y: Tensor) => y.sin().sum())(x); // cos
  const wrapped = [
    customJvp(inner, ([x], [t]) => [inner(x), t.mul(x.sin()).neg()]),
    customVjp(inner, (x: Tensor) => [inner(x), x], (x, ct: Tensor) => [
      ct.mul((x as Tensor).sin()).neg(),
    ]),
    checkpoint(inner),
    checkpoint((x: Tensor) => vmap((v: Tensor) => v.cos())(x)),
    checkpoint(jit((x: Tensor) => x.cos())),
  ];
  for (const [i, w] of wrapped.entries()) {
    for (let call = 0; call < 2; call++) {
      assertClose(
        grad((x: Tensor) => w(x).sum())(x),
        x.sin().neg(),
        EXACT,
        `grad of wrapper ${i}`,
      );
      assertClose(
        vmap(grad((x: Tensor) => w(x).sum()))(xs),
        xs.sin().neg(),
        EXACT,
        `vmap(grad) of wrapper ${i}`,
      );
      assertClose(
        jacfwd(w)(x),
        x.sin().neg().diag(),
        EXACT,
        `jacfwd of wrapper ${i}`,
      );
    }
  }
});

Deno.test("evalShape, linearizeWithAux, linearTranspose and vmap outDims null nested with grad, vmap, jit and hessian", () => {
  const rng = new Rng(43);
  const x = randnT(rng, [3]), xs = randnT(rng, [2, 3]);
  const f = (x: Tensor) => x.sin().mul(x).sum();
  for (let call = 0; call < 2; call++) {
    assert.deepEqual(evalShape(vmap(hessian(f)))(xs), {
      shape: [2, 3, 3],
      dtype: "float64",
    });
    assert.deepEqual(evalShape(jit(grad(f)))(x), {
      shape: [3],
      dtype: "float64",
    });
    // linearizeWithAux of grad: the jvpFn is the Hessian-vector product.
    const [g, hvpFn, aux] = linearizeWithAux(
      (x: Tensor) => [grad(f)(x), f(x)] as const,
      x,
    );
    assertClose(g, grad(f)(x), EXACT);
    assertClose(aux, f(x), EXACT);
    assertClose(
      hvpFn(xs.select(0, 0)),
      hessian(f)(x).matmul(xs.select(0, 0)),
      EXACT,
    );
    // linearTranspose of a linear map built from jvp: its transpose is the vjp.
    const lin = (t: Tensor) => jvp(f, [x], [t])[1];
    const linT = linearTranspose(lin, x);
    assertClose(linT(tensor(1, { dtype: "float64" }))[0], grad(f)(x), EXACT);
    assertClose(
      vmap((c: Tensor) => linT(c)[0])(tensor([1, 2], { dtype: "float64" })),
      grad(f)(x).unsqueeze(0).mul(tensor([[1], [2]], { dtype: "float64" })),
      EXACT,
    );
    // outDims null inside grad and jit: the unbatched output's derivative.
    const h = (w: Tensor) =>
      (vmap((v: Tensor) => [v.mul(w).sum(), w.sin().sum()], {
        outDims: [0, null],
      })(xs) as Tensor[])[1];
    assertClose(grad(h)(x), x.cos(), EXACT);
    assertClose(jit(grad(h))(x), x.cos(), EXACT);
    assertClose(hessian(h)(x), x.sin().neg().diag(), EXACT);
  }
});
