// A scan's carry that each step grows by a product becomes one product
// after the loop (src/jit/scan_accumulators.ts): programs that check,
// products gone from the step, and the values of the loop written out.
import assert from "node:assert/strict";
import {
  grad,
  jacfwd,
  jit,
  matmul,
  scan,
  type Tensor,
  vmap,
  zeros,
} from "../mod.ts";
import { type Aval, checkProgram, Program } from "../src/core/ir.ts";
import { execute, optimize } from "../src/jit/execute.ts";
import { stage } from "../src/jit/make_program.ts";
import { bind } from "../src/core/trace.ts";
import type { PrimParams } from "../src/core/primitives.ts";
import { scanAccumulatorOptions } from "../src/jit/scan_accumulators.ts";
import { assertClose, randnT, Rng } from "./_helpers.ts";
import { optimizedWith, withPass } from "./_passes.ts";

const rng = new Rng(20261203);
const tight = { rtol: 1e-11, atol: 1e-12 };

/** Products inside scan bodies, and at the top level. */
function products(p: Program): { inLoops: number; outside: number } {
  let inLoops = 0, outside = 0;
  for (const e of p.eqns) {
    if (e.prim === "matmul") outside++;
    if (e.prim === "scan") {
      const body = (e.params as PrimParams["scan"]).body;
      inLoops += body.eqns.filter((b) => b.prim === "matmul").length;
    }
  }
  return { inLoops, outside };
}

const STEPS = 50;

/** x ← x + 0.1·tanh(A·x) for STEPS steps; the loss is sum(x_T). */
function odeScan(A: Tensor, x0: Tensor): Tensor {
  const step = (x: Tensor) => x.add(matmul(A, x).tanh().mul(0.1));
  return scan((x: Tensor) => [step(x), null], x0, null, { length: STEPS })[0]
    .sum();
}
function odeLoop(A: Tensor, x0: Tensor): Tensor {
  let x = x0;
  for (let i = 0; i < STEPS; i++) x = x.add(matmul(A, x).tanh().mul(0.1));
  return x.sum();
}

Deno.test("scan accumulators: an ODE's gradient wrt A is one product after the loop", () => {
  const A = randnT(rng, [6, 6]).mul(0.4), x0 = randnT(rng, [6]);
  const g = grad(odeScan);
  const off = optimizedWith(scanAccumulatorOptions, false, g, [A, x0]);
  const on = optimizedWith(scanAccumulatorOptions, true, g, [A, x0]);
  // Off: the forward step's A·x, and the reverse step's Aᵀ·g and g·xᵀ.
  assert.deepEqual(products(off), { inLoops: 3, outside: 0 });
  assert.deepEqual(products(on), { inLoops: 2, outside: 1 });
  const hoisted = on.eqns.find((e) => e.prim === "matmul")!;
  assert.deepEqual(hoisted.aval.shape, [6, 6]);
  // The product's inner dimension is the steps': Gᵀ·X, both [STEPS, 6].
  const inner = hoisted.inputs.map((a) =>
    "var" in a ? on.avals.get(a.var)!.shape : a.const.shape
  );
  assert.deepEqual(inner, [[STEPS, 6], [STEPS, 6]]);

  const expected = grad(odeLoop)(A, x0) as Tensor;
  assertClose(jit(g)(A, x0) as Tensor, expected, tight);
  const unhoisted = withPass(
    scanAccumulatorOptions,
    false,
    () => jit(g)(A, x0) as Tensor,
  );
  assertClose(unhoisted, expected, tight);
});

/**
 * A scan whose carry `acc` grows by op(P)·op(Q) each step, with P made in
 * the step from xs and Q from xs or from a second carry; and the same
 * computed by a loop of eager products.
 */
function accumulator(
  transA: boolean,
  transB: boolean,
  k: number,
  qFrom: "xs" | "carry",
  reverse: boolean,
  init: "zeros" | "input",
) {
  const [m, n, L] = [4, 5, 7];
  const pShape = transA ? [k, m] : [m, k];
  const qShape = transB ? [n, k] : [k, n];
  const product = (p: Tensor, q: Tensor) =>
    bind("matmul", [p, q], { transA, transB }) as Tensor;
  const stepQ = (q: Tensor, x: Tensor) => q.mul(0.9).add(x.sin());
  const f = (xsP: Tensor, xsQ: Tensor, q0: Tensor, acc0: Tensor) => {
    const start = init === "zeros" ? zeros([m, n], { dtype: "float64" }) : acc0;
    const [[acc]] = scan(
      ([acc, q]: Tensor[], [xp, xq]: Tensor[]) => {
        const p = xp.tanh();
        const factor = qFrom === "xs" ? xq : q;
        return [[acc.add(product(p, factor)), stepQ(q, xq)], null];
      },
      [start, q0],
      [xsP, xsQ],
      { reverse },
    );
    return acc as Tensor;
  };
  const loop = (xsP: Tensor, xsQ: Tensor, q0: Tensor, acc0: Tensor) => {
    let acc = init === "zeros" ? zeros([m, n], { dtype: "float64" }) : acc0;
    let q = q0;
    const order = [...Array(L).keys()];
    if (reverse) order.reverse();
    for (const t of order) {
      const xq = xsQ.select(0, t);
      const factor = qFrom === "xs" ? xq : q;
      acc = acc.add(product(xsP.select(0, t).tanh(), factor));
      q = stepQ(q, xq);
    }
    return acc;
  };
  const args: [Tensor, Tensor, Tensor, Tensor] = [
    randnT(rng, [L, ...pShape]),
    randnT(rng, [L, ...qShape]),
    randnT(rng, qShape),
    randnT(rng, [m, n]),
  ];
  return { f, loop, args };
}

Deno.test("scan accumulators: every transpose flag, inner dims 1 and 3, factors from xs and from a carry, both directions", () => {
  let cases = 0;
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const k of [1, 3]) {
        for (const qFrom of ["xs", "carry"] as const) {
          for (const reverse of [false, true]) {
            const init = cases % 2 === 0 ? "zeros" : "input";
            const what =
              `transA=${transA} transB=${transB} k=${k} q from ${qFrom} reverse=${reverse} init ${init}`;
            const { f, loop, args } = accumulator(
              transA,
              transB,
              k,
              qFrom,
              reverse,
              init,
            );
            const p = optimizedWith(scanAccumulatorOptions, true, f, args);
            assert.deepEqual(products(p), { inLoops: 0, outside: 1 }, what);
            assertClose(jit(f)(...args), loop(...args), tight, what);
            cases++;
          }
        }
      }
    }
  }
  assert.equal(cases, 32);
});

Deno.test("scan accumulators: a carry the step also reads stays in the loop", () => {
  const L = 6;
  const f = (xs: Tensor, w: Tensor) =>
    scan(
      (acc: Tensor, x: Tensor) => {
        const col = x.reshape([3, 1]);
        // acc is read twice: by the add and by the step's own product.
        const next = acc.add(matmul(col, col, true)).add(acc.mul(0.01));
        return [next, matmul(w, acc).sum()];
      },
      zeros([3, 3], { dtype: "float64" }),
      xs,
    );
  const xs = randnT(rng, [L, 3]), w = randnT(rng, [2, 3]);
  const p = optimizedWith(scanAccumulatorOptions, true, f, [xs, w]);
  assert.equal(products(p).inLoops, 2);
  const [acc, ys] = jit(f)(xs, w) as [Tensor, Tensor];
  let a = zeros([3, 3], { dtype: "float64" });
  const expectedYs: number[] = [];
  for (let t = 0; t < L; t++) {
    const col = xs.select(0, t).reshape([3, 1]);
    expectedYs.push(matmul(w, a).sum().item()); // y reads the carry before
    a = a.add(matmul(col, col, true)).add(a.mul(0.01));
  }
  assertClose(acc, a, tight);
  assertClose(ys, expectedYs, tight);
});

Deno.test("scan accumulators: the rewritten scan differentiates again and batches", () => {
  const A = randnT(rng, [5, 5]).mul(0.4), x0 = randnT(rng, [5]);
  // Second order through the jitted gradient (its program runs on tracers).
  const viaJit = jacfwd(jit(grad(odeScan)), { argnums: 1 })(A, x0) as Tensor;
  const direct = jacfwd(grad(odeLoop), { argnums: 1 })(A, x0) as Tensor;
  assertClose(viaJit, direct, tight);
  // A batch of initial states, against a loop over them.
  const x0s = randnT(rng, [3, 5]);
  const batched = vmap(jit(grad(odeScan)), { inDims: [null, 0] })(A, x0s);
  for (let b = 0; b < 3; b++) {
    assertClose(
      (batched as Tensor).select(0, b),
      grad(odeLoop)(A, x0s.select(0, b)) as Tensor,
      tight,
    );
  }
});

Deno.test("scan accumulators: float32 ODE gradient matches float64 to float32 rounding", () => {
  const A = randnT(rng, [16, 16]).mul(0.25), x0 = randnT(rng, [16]);
  const g32 = jit(grad(odeScan))(A.to("float32"), x0.to("float32"));
  const g64 = grad(odeLoop)(A, x0) as Tensor;
  assertClose((g32 as Tensor).to("float64"), g64, { rtol: 1e-4, atol: 1e-5 });
});

/** Products in the bodies of scans nested `depth` deep (1: top-level scans). */
function productsAtDepth(p: Program, depth: number): number {
  let n = 0;
  for (const e of p.eqns) {
    if (e.prim !== "scan") continue;
    const body = (e.params as PrimParams["scan"]).body;
    n += depth === 1
      ? body.eqns.filter((b) => b.prim === "matmul").length
      : productsAtDepth(body, depth - 1);
  }
  return n;
}

Deno.test("scan accumulators: a scan inside a scan's body is rewritten too", () => {
  // Three outer steps, each a five-step inner ODE: the gradient's inner
  // reverse scan accumulates g·xᵀ into a carry inside the outer one.
  const inner = (A: Tensor, x: Tensor) =>
    scan(
      (x: Tensor) => [x.add(matmul(A, x).tanh().mul(0.1)), null],
      x,
      null,
      { length: 5 },
    )[0] as Tensor;
  const nested = (A: Tensor, x0: Tensor) =>
    (scan((x: Tensor) => [inner(A, x).sin(), null], x0, null, {
      length: 3,
    })[0] as Tensor).sum();
  const looped = (A: Tensor, x0: Tensor) => {
    let x = x0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 5; j++) x = x.add(matmul(A, x).tanh().mul(0.1));
      x = x.sin();
    }
    return x.sum();
  };
  const A = randnT(rng, [4, 4]).mul(0.5), x0 = randnT(rng, [4]);
  const g = grad(nested);
  const off = optimizedWith(scanAccumulatorOptions, false, g, [A, x0]);
  const on = optimizedWith(scanAccumulatorOptions, true, g, [A, x0]);
  // Inner bodies: the forward A·x twice (primal and residual scans may
  // differ), the reverse Aᵀ·g, and g·xᵀ only without the pass.
  assert.equal(productsAtDepth(on, 2), productsAtDepth(off, 2) - 1);
  assertClose(jit(g)(A, x0) as Tensor, grad(looped)(A, x0) as Tensor, tight);
});

Deno.test("scan accumulators: a scan whose packed result is the program's output (an eager loop) is put together again", () => {
  // evalControl runs an eager scan as a program of that one equation,
  // returning its packed result: the rewrite rebuilds the packed value.
  const A = randnT(rng, [6, 6]).mul(0.4), x0 = randnT(rng, [6]);
  const staged = stage("test", grad(odeScan), [A, x0]).program;
  const reverse = staged.eqns.find((e) =>
    e.prim === "scan" && (e.params as PrimParams["scan"]).reverse
  )!;
  const n = reverse.inputs.length;
  const avals = new Map<number, Aval>();
  reverse.inputs.forEach((a, i) =>
    avals.set(i, "var" in a ? staged.avals.get(a.var)! : a.const)
  );
  avals.set(n, reverse.aval);
  const alone = new Program(
    [...Array(n).keys()],
    [{
      ...reverse,
      inputs: [...Array(n).keys()].map((v) => ({ var: v })),
      out: n,
    }],
    [{ var: n }],
    [reverse.aval],
    avals,
  );
  const on = optimize(alone);
  const off = withPass(scanAccumulatorOptions, false, () => optimize(alone));
  checkProgram(on.program);
  assert.deepEqual(products(off.program), { inLoops: 2, outside: 0 });
  assert.deepEqual(products(on.program), { inLoops: 1, outside: 1 });
  assert.equal(on.program.eqns.at(-1)!.prim, "cat");
  // The same packed values, from operands computed by the forward pass.
  const env = new Map<number, Tensor>();
  staged.inputs.forEach((v, i) => env.set(v, [A, x0][i]));
  for (const e of staged.eqns) {
    if (e === reverse) break;
    const args = e.inputs.map((a) => "var" in a ? env.get(a.var)! : a.const);
    env.set(e.out, bind(e.prim, args, e.params as never) as Tensor);
  }
  const ins = reverse.inputs.map((a) => "var" in a ? env.get(a.var)! : a.const);
  assertClose(execute(on, ins)[0], execute(off, ins)[0], tight);
  // And the eager gradient, which runs this path, against the loop.
  assertClose(
    grad(odeScan)(A, x0) as Tensor,
    grad(odeLoop)(A, x0) as Tensor,
    tight,
  );
});
