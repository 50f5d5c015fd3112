// jacobi peer: the seed workloads written with the public API exactly as a
// user would (DESIGN.md, "The user's view"), timed and checked by the same
// harness as the JavaScript peers. mod.ts is loaded dynamically so that a
// library that does not load yet still yields one "n/a: <why>" per variant.

import type { Tensor } from "../../mod.ts";
import { openHarness } from "../peers/harness.mjs";
import { WORKLOADS } from "./workloads.ts";

const PEER = "jacobi";
const h = openHarness({ peer: PEER, deno: Deno.version.deno });

let jc: typeof import("../../mod.ts");
try {
  jc = await import("../../mod.ts");
} catch (e) {
  const why = `mod.ts does not load: ${e instanceof Error ? e.message : e}`;
  for (const w of WORKLOADS) {
    for (const v of w.variants) h.na(PEER, w.id, v, why.slice(0, 300));
  }
  Deno.exit(0);
}
const {
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  linear,
  sin,
  stack,
  sum,
  tensor,
  vjp,
  vmap,
} = jc;

const t = (name: string): Tensor => {
  const { shape, data } = h.get(name);
  return tensor(data, { dtype: "float32" }).reshape(shape);
};
const layer = (wl: string) => [t(`${wl}.W`), t(`${wl}.b`), t(`${wl}.x`)];

const predict = (w: Tensor, b: Tensor, x: Tensor) => linear(x, w, b).tanh();

type Result = Tensor | Tensor[];
const run = (workload: string, variant: string, fn: () => Result) =>
  h.run({
    peer: PEER,
    workload,
    variant,
    // Eager: every op has run when fn returns, so nothing is left to force.
    fn,
    // As the TensorFlow.js peer does: free each result at once (`using` in
    // user code) instead of leaving it to the garbage collector.
    dispose: (r: Result) =>
      (Array.isArray(r) ? r : [r]).forEach((a) => a.dispose()),
    read: (r: Result) =>
      (Array.isArray(r) ? r : [r]).map((a) => ({
        shape: a.shape,
        data: a.data(),
      })),
  });

// W1: the 16x16 Jacobian four ways; the unit rows are inputs, as in PyTorch.
{
  const [W, b, x] = layer("W1");
  const I = jc.eye(16);
  const rows = Array.from({ length: 16 }, (_, i) => I.select(0, i));
  const f = (x: Tensor) => predict(W, b, x);
  await run("W1", "vjp-loop", () => {
    const [, vjpFn] = vjp(f, x);
    return stack(rows.map((e) => vjpFn(e)[0]));
  });
  await run("W1", "vmap(vjp)", () => {
    const [, vjpFn] = vjp(f, x);
    return vmap(vjpFn)(I)[0];
  });
  await run("W1", "jacrev", () => jacrev(predict, { argnums: 2 })(W, b, x));
  await run("W1", "jacfwd", () => jacfwd(predict, { argnums: 2 })(W, b, x));
}

// W2 tall, W3 wide: both modes.
for (const wl of ["W2", "W3"]) {
  const [W, b, x] = layer(wl);
  await run(wl, "jacfwd", () => jacfwd(predict, { argnums: 2 })(W, b, x));
  await run(wl, "jacrev", () => jacrev(predict, { argnums: 2 })(W, b, x));
}

// W4: Hessian wrt x, three compositions.
{
  const [W, b, x] = layer("W4");
  const fwd = jacfwd(predict, { argnums: 2 });
  const rev = jacrev(predict, { argnums: 2 });
  await run("W4", "hessian", () => hessian(predict, { argnums: 2 })(W, b, x));
  await run("W4", "jacfwd(jacfwd)", () => jacfwd(fwd, { argnums: 2 })(W, b, x));
  await run("W4", "jacrev(jacrev)", () => jacrev(rev, { argnums: 2 })(W, b, x));
}

// W5: per-example Jacobians and Hessians over a batch of 64.
{
  const [W, b, X] = layer("W5");
  const inDims = [null, null, 0];
  await run(
    "W5",
    "vmap(jacrev)",
    () => vmap(jacrev(predict, { argnums: 2 }), { inDims })(W, b, X),
  );
  await run(
    "W5",
    "vmap(hessian)",
    () => vmap(hessian(predict, { argnums: 2 }), { inDims })(W, b, X),
  );
}

// W6: hvp of sum(sin(x)), forward-over-reverse and reverse-over-reverse.
{
  const [x, v] = [t("W6.x"), t("W6.v")];
  const f = (x: Tensor) => sum(sin(x));
  // The cast works around grad's overloads, which infer a function of `never`.
  const g = (x: Tensor) => grad(f)(x) as Tensor;
  await run("W6", "jvp(grad)", () => jvp(g, [x], [v])[1]);
  await run("W6", "vjp(grad)", () => vjp(g, x)[1](v)[0]);
}

// W7: Jacobian wrt the parameters (W, b).
{
  const [W, b, x] = layer("W7");
  await run(
    "W7",
    "jacrev(W,b)",
    () => jacrev(predict, { argnums: [0, 1] })(W, b, x) as Tensor[],
  );
}
