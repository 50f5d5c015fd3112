// jacobi peer: the seed workloads written with the public API exactly as a
// user would, timed and checked by the same
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
  // Every peer here runs one thread (pinned to one core).
  (jc as { setNumThreads?: (n: number) => void }).setNumThreads?.(1);
} catch (e) {
  const why = `mod.ts does not load: ${e instanceof Error ? e.message : e}`;
  for (const w of WORKLOADS) {
    for (const v of w.variants) h.na(PEER, w.id, v, why.slice(0, 300));
  }
  await h.serve();
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
type Variant = [string, string, Tensor[], (...xs: Tensor[]) => Result];

// Every input is an argument (so jit traces the computation, not a result).
const [W1, b1, x1] = layer("W1");
const I16 = jc.eye(16);
const [W4, b4, x4] = layer("W4");
const [W5, b5, X5] = layer("W5");
const [x6, v6] = [t("W6.x"), t("W6.v")];
const wrtX = { argnums: 2 } as const;
const inDims = [null, null, 0];
const f6 = (x: Tensor) => sum(sin(x));
const g6 = (x: Tensor) => grad(f6)(x) as Tensor;

const variants: Variant[] = [
  // W1: the 16x16 Jacobian four ways; the unit rows are inputs, as in PyTorch.
  ["W1", "vjp-loop", [W1, b1, x1, I16], (W, b, x, I) => {
    const [, vjpFn] = vjp((x: Tensor) => predict(W, b, x), x);
    return stack(
      Array.from({ length: 16 }, (_, i) => vjpFn(I.select(0, i))[0]),
    );
  }],
  ["W1", "vmap(vjp)", [W1, b1, x1, I16], (W, b, x, I) => {
    const [, vjpFn] = vjp((x: Tensor) => predict(W, b, x), x);
    return vmap(vjpFn)(I)[0];
  }],
  ["W1", "jacrev", [W1, b1, x1], (W, b, x) => jacrev(predict, wrtX)(W, b, x)],
  ["W1", "jacfwd", [W1, b1, x1], (W, b, x) => jacfwd(predict, wrtX)(W, b, x)],
  // W2 tall, W3 wide: both modes.
  ...["W2", "W3"].flatMap((wl): Variant[] => {
    const inputs = layer(wl);
    return [
      [wl, "jacfwd", inputs, (W, b, x) => jacfwd(predict, wrtX)(W, b, x)],
      [wl, "jacrev", inputs, (W, b, x) => jacrev(predict, wrtX)(W, b, x)],
    ];
  }),
  // W4: Hessian wrt x, three compositions.
  ["W4", "hessian", [W4, b4, x4], (W, b, x) => hessian(predict, wrtX)(W, b, x)],
  [
    "W4",
    "jacfwd(jacfwd)",
    [W4, b4, x4],
    (W, b, x) => jacfwd(jacfwd(predict, wrtX), wrtX)(W, b, x),
  ],
  [
    "W4",
    "jacrev(jacrev)",
    [W4, b4, x4],
    (W, b, x) => jacrev(jacrev(predict, wrtX), wrtX)(W, b, x),
  ],
  // W5: per-example Jacobians and Hessians over a batch of 64.
  [
    "W5",
    "vmap(jacrev)",
    [W5, b5, X5],
    (W, b, X) => vmap(jacrev(predict, wrtX), { inDims })(W, b, X),
  ],
  [
    "W5",
    "vmap(hessian)",
    [W5, b5, X5],
    (W, b, X) => vmap(hessian(predict, wrtX), { inDims })(W, b, X),
  ],
  // W6: hvp of sum(sin(x)), forward-over-reverse and reverse-over-reverse.
  ["W6", "jvp(grad)", [x6, v6], (x, v) => jvp(g6, [x], [v])[1]],
  ["W6", "vjp(grad)", [x6, v6], (x, v) => vjp(g6, x)[1](v)[0]],
  // W7: Jacobian wrt the parameters (W, b).
  [
    "W7",
    "jacrev(W,b)",
    layer("W7"),
    (W, b, x) => jacrev(predict, { argnums: [0, 1] })(W, b, x) as Tensor[],
  ],
];

// Eager, then jitted (timed after the tracing first call, as for JAX).
for (
  const [peer, wrap] of [[PEER, (f: Variant[3]) => f], [
    `${PEER}+jit`,
    jc.jit,
  ]] as const
) {
  for (const [workload, variant, inputs, fn] of variants) {
    const compiled = wrap(fn) as Variant[3];
    await h.run({
      peer,
      workload,
      variant,
      // Eager: every op has run when fn returns, so nothing is left to force.
      fn: () => compiled(...inputs),
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
  }
}

// With --serve (run.ts), answer per-workload requests now.
await h.serve();
