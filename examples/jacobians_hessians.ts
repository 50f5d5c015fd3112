/**
 * "Jacobians, Hessians, hvp, vhp, and more: composing function transforms"
 * (the PyTorch torch.func tutorial), in jacobi.
 *
 *   npx --yes deno@2 run examples/jacobians_hessians.ts [--quick]
 *
 * Every result is checked against the others and against closed forms; a
 * disagreement throws. Timings are means over up to 500 calls (fewer when a
 * time budget runs out; `--quick` or `CI` set shortens the budget).
 * @module
 */
import {
  autograd,
  eye,
  grad,
  hessian,
  hvp as hvpApi,
  jacfwd,
  jacrev,
  jvp,
  linear,
  manualSeed,
  randn,
  stack,
  type Tensor,
  vhp,
  vjp,
  vmap,
} from "../mod.ts";
import { check, getPerf, QUICK, size, tick, timeAll, timeit } from "./_util.ts";

manualSeed(0);
console.log(
  `jacobi: Jacobians, Hessians, hvp, vhp${QUICK ? " (quick timings)" : ""}`,
);

// A linear layer with a tanh activation.
const predict = (weight: Tensor, bias: Tensor, x: Tensor): Tensor =>
  linear(x, weight, bias).tanh();

// Closed forms, for checking: y = tanh(W x + b),
//   J[k, i] = (1 - y_k²) W[k, i],   H[k, i, j] = -2 y_k (1 - y_k²) W[k, i] W[k, j].
const closedJac = (w: Tensor, b: Tensor, x: Tensor): Tensor => {
  const y = predict(w, b, x);
  return y.square().neg().add(1).unsqueeze(-1).mul(w);
};
const closedHess = (w: Tensor, b: Tensor, x: Tensor): Tensor => {
  const y = predict(w, b, x); // [..., Dout]
  const c = y.mul(y.square().neg().add(1)).mul(-2).unsqueeze(-1).unsqueeze(-1); // [..., Dout, 1, 1]
  return c.mul(w.unsqueeze(-1)).mul(w.unsqueeze(-2)); // [..., Dout, Din, Din]
};

// float32 Hessian entries reach ~5 here; methods that sum in a different
// order differ by a few 1e-6, so compare with an absolute tolerance to match.
const hessTol = { rtol: 1e-5, atol: 2e-5 };

// ---------------------------------------------------------------------------
console.log("\n== Computing the Jacobian ==");
const D = 16;
let weight = randn([D, D]);
let bias = randn([D]);
let x = randn([D]); // feature vector

// The tutorial's baseline: one autograd.grad call per row of the Jacobian.
const unitVectors = eye(D);
const computeJac = (xp: Tensor): Tensor => {
  const rows: Tensor[] = [];
  for (let i = 0; i < D; i++) {
    rows.push(
      autograd.grad(
        predict(weight, bias, xp),
        xp,
        unitVectors.select(0, i),
      )[0]!,
    );
  }
  return stack(rows);
};

const xp = x.requiresGrad();
const jacobian = computeJac(xp);
console.log(`jacobian.shape = ${size(jacobian)}`);
console.log(`jacobian[0] = ${jacobian.select(0, 0)}`);
check(
  "autograd.grad loop == closed form (1 - y²)[:, None] * W",
  jacobian,
  closedJac(weight, bias, x),
);

// The same loop with the functional vjp (one vjp per row).
const loopOfVjps = (x: Tensor): Tensor => {
  const rows: Tensor[] = [];
  for (let i = 0; i < D; i++) {
    const [, vjpFn] = vjp((x: Tensor) => predict(weight, bias, x), x);
    rows.push(vjpFn(unitVectors.select(0, i))[0]);
  }
  return stack(rows);
};
check("loop of vjps == autograd.grad loop", loopOfVjps(x), jacobian);

// vmap over the vjp function: all rows in one pass.
const [, vjpFn] = vjp((x: Tensor) => predict(weight, bias, x), x);
const [ftJacobian] = vmap(vjpFn)(unitVectors);
check("vmap(vjpFn)(eye(16)) == loop", ftJacobian, jacobian);

// jacrev does exactly that.
const jacrevJacobian = jacrev(predict, { argnums: 2 })(weight, bias, x);
check("jacrev(predict, { argnums: 2 }) == loop", jacrevJacobian, jacobian);

console.log(
  "\nPerformance: a loop of autograd.grad rows vs jacrev (vmap of vjp)",
);
const [noVmap, loopVjp, withVmap] = await timeAll([
  ["computeJac(xp)", () => computeJac(xp)],
  ["loopOfVjps(x)", () => loopOfVjps(x)],
  [
    "jacrev(predict, { argnums: 2 })(weight, bias, x)",
    () => jacrev(predict, { argnums: 2 })(weight, bias, x),
  ],
]);
getPerf(noVmap, "without vmap", withVmap, "vmap");
getPerf(loopVjp, "a loop of vjps", withVmap, "vmap");

// Jacobians with respect to several arguments.
const [jacWeight, jacBias] = jacrev(predict, { argnums: [0, 1] })(
  weight,
  bias,
  x,
);
console.log(
  `\njacrev(predict, { argnums: [0, 1] }): ${size(jacWeight)} and ${
    size(jacBias)
  }`,
);
{
  // dy_k/dW[i, j] = (1 - y_k²) δ_ki x_j,  dy_k/db_i = (1 - y_k²) δ_ki
  const s = predict(weight, bias, x).square().neg().add(1);
  const diag = eye(D).mul(s.unsqueeze(-1));
  check(
    "d predict / d weight == (1 - y²) δ x",
    jacWeight,
    diag.unsqueeze(-1).mul(x),
  );
  check("d predict / d bias == diag(1 - y²)", jacBias, diag);
}
await tick();

// ---------------------------------------------------------------------------
console.log(
  "\n== Reverse-mode Jacobian (jacrev) vs forward-mode Jacobian (jacfwd) ==",
);
for (
  const [Din, Dout, shape] of [[32, 2048, "tall"], [2048, 32, "wide"]] as const
) {
  weight = randn([Dout, Din]);
  bias = randn([Dout]);
  x = randn([Din]);
  console.log(
    `\nweight.shape = ${
      size(weight)
    } (a ${shape} Jacobian: ${Dout} outputs, ${Din} inputs)`,
  );
  const jf = jacfwd(predict, { argnums: 2 })(weight, bias, x);
  const jr = jacrev(predict, { argnums: 2 })(weight, bias, x);
  check(`jacfwd == jacrev, shape ${size(jr)}`, jf, jr);
  check("jacrev == closed form", jr, closedJac(weight, bias, x));
  const [usingFwd, usingBwd] = await timeAll([
    [
      "jacfwd(predict, { argnums: 2 })(weight, bias, x)",
      () => jacfwd(predict, { argnums: 2 })(weight, bias, x),
    ],
    [
      "jacrev(predict, { argnums: 2 })(weight, bias, x)",
      () => jacrev(predict, { argnums: 2 })(weight, bias, x),
    ],
  ]);
  console.log(
    `jacfwd time: ${usingFwd.ms.toFixed(3)} ms, jacrev time: ${
      usingBwd.ms.toFixed(3)
    } ms`,
  );
  if (shape === "tall") getPerf(usingBwd, "jacrev", usingFwd, "jacfwd");
  else getPerf(usingFwd, "jacfwd", usingBwd, "jacrev");
  await tick();
}

// ---------------------------------------------------------------------------
console.log("\n== Hessian computation ==");
{
  // The tutorial's sizes; hessian is jacfwd(jacrev), and every other
  // composition of jacfwd and jacrev gives the same Hessian.
  const [Din, Dout] = [512, 32];
  weight = randn([Dout, Din]);
  bias = randn([Dout]);
  x = randn([Din]);
  const p2 = { argnums: 2 };
  const variants: [string, () => Tensor][] = [
    ["hessian", () => hessian(predict, p2)(weight, bias, x)],
    ["jacfwd(jacrev)", () => jacfwd(jacrev(predict, p2), p2)(weight, bias, x)],
    ["jacfwd(jacfwd)", () => jacfwd(jacfwd(predict, p2), p2)(weight, bias, x)],
    ["jacrev(jacrev)", () => jacrev(jacrev(predict, p2), p2)(weight, bias, x)],
    ["jacrev(jacfwd)", () => jacrev(jacfwd(predict, p2), p2)(weight, bias, x)],
  ];
  const hessApi = variants[0][1]();
  console.log(`Din = ${Din}, Dout = ${Dout}: hessian shape ${size(hessApi)}`);
  check(
    "hessian == closed form -2 y (1 - y²) W[k,i] W[k,j]",
    hessApi,
    closedHess(weight, bias, x),
    hessTol,
  );
  for (const [name, fn] of variants.slice(1)) {
    check(`${name} == hessian`, fn(), hessApi, hessTol);
    await tick();
  }
  await timeAll(
    variants.map(([name, fn]) => [`${name}(predict)(weight, bias, x)`, fn]),
  );
  await tick();
}

// ---------------------------------------------------------------------------
console.log("\n== Batch Jacobian and batch Hessian ==");
{
  const batchSize = 64, Din = 31, Dout = 33;
  weight = randn([Dout, Din]);
  console.log(`weight shape = ${size(weight)}`);
  bias = randn([Dout]);
  x = randn([batchSize, Din]);

  const computeBatchJacobian = vmap(jacrev(predict, { argnums: 2 }), {
    inDims: [null, null, 0],
  });
  const batchJacobian0 = computeBatchJacobian(weight, bias, x);
  console.log(`vmap(jacrev(predict)) shape: ${size(batchJacobian0)}`);

  // The sum trick: the samples are independent, so the Jacobian of the
  // batch-summed output holds every per-sample Jacobian.
  const predictWithOutputSummed = (weight: Tensor, bias: Tensor, x: Tensor) =>
    predict(weight, bias, x).sum(0);
  const batchJacobian1 = jacrev(predictWithOutputSummed, { argnums: 2 })(
    weight,
    bias,
    x,
  ).movedim(1, 0);
  console.log(
    `jacrev(predictWithOutputSummed).movedim(1, 0) shape: ${
      size(batchJacobian1)
    }`,
  );
  check("vmap(jacrev) == sum trick", batchJacobian0, batchJacobian1);
  check(
    "batch Jacobian == closed form",
    batchJacobian0,
    closedJac(weight, bias, x),
  );
  const [tVmap, tSum] = await timeAll([
    [
      "computeBatchJacobian(weight, bias, x)",
      () => computeBatchJacobian(weight, bias, x),
    ],
    [
      "jacrev(predictWithOutputSummed, { argnums: 2 })(weight, bias, x).movedim(1, 0)",
      () =>
        jacrev(predictWithOutputSummed, { argnums: 2 })(weight, bias, x)
          .movedim(1, 0),
    ],
  ]);
  getPerf(tVmap, "vmap(jacrev)", tSum, "the sum trick");

  const computeBatchHessian = vmap(hessian(predict, { argnums: 2 }), {
    inDims: [null, null, 0],
  });
  const batchHess = computeBatchHessian(weight, bias, x);
  console.log(`\nvmap(hessian(predict)) shape: ${size(batchHess)}`);
  check(
    "batch Hessian == closed form",
    batchHess,
    closedHess(weight, bias, x),
    hessTol,
  );
  check(
    "batch Hessian[5] == hessian at x[5]",
    batchHess.select(0, 5),
    hessian(predict, { argnums: 2 })(weight, bias, x.select(0, 5)),
    hessTol,
  );
  await timeit(
    "computeBatchHessian(weight, bias, x)",
    () => computeBatchHessian(weight, bias, x),
  );
  await tick();
}

// ---------------------------------------------------------------------------
console.log("\n== Hessian-vector products ==");
{
  const hvp = (
    f: (x: Tensor) => Tensor,
    primals: [Tensor],
    tangents: [Tensor],
  ): Tensor => jvp(grad(f), primals, tangents)[1];
  const hvpRevRev = (
    f: (x: Tensor) => Tensor,
    primals: [Tensor],
    tangents: [Tensor],
  ): Tensor[] => {
    const [, vjpFn] = vjp(grad(f), ...primals);
    return vjpFn(...tangents);
  };
  const f = (x: Tensor): Tensor => x.sin().sum();
  const x = randn([2048]);
  const tangent = randn([2048]);
  const result = hvp(f, [x], [tangent]);
  const resultRevRev = hvpRevRev(f, [x], [tangent]);
  console.log(`hvp shape: ${size(result)}`);
  check("jvp(grad(f)) == -sin(x) * v", result, x.sin().neg().mul(tangent));
  check("vjp(grad(f)) == jvp(grad(f))", resultRevRev[0], result);
  check("hvp() == jvp(grad(f))", hvpApi(f, [x], [tangent]), result);
  check("vhp() == jvp(grad(f))", vhp(f, [x], [tangent]), result);
  const [fwdRev, revRev] = await timeAll([
    ["hvp(f, [x], [tangent])  // jvp(grad(f))", () => hvp(f, [x], [tangent])],
    [
      "hvpRevRev(f, [x], [tangent])  // vjp(grad(f))",
      () => hvpRevRev(f, [x], [tangent]),
    ],
  ]);
  getPerf(revRev, "reverse-over-reverse", fwdRev, "forward-over-reverse");
}

console.log("\nAll results agree.");
