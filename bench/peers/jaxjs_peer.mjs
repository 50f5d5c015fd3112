// jax-js peer (Node, wasm device; single-threaded because Node has no global
// Worker, which jax-js needs for its thread pool). Each variant eager
// ("jax-js") and jitted ("jax-js+jit", timed after the compiling first call).
// jax-js arrays are reference-counted: passing an array consumes it, `.ref`
// keeps it, so every call passes `.ref` copies of the inputs.

import {
  blockUntilReady,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  numpy as np,
  vjp,
  vmap,
} from "@jax-js/jax";
import process from "node:process";
import { openHarness, packageVersion } from "./harness.mjs";

const h = openHarness({
  peer: "jax-js",
  version: packageVersion("@jax-js/jax"),
  node: process.version,
});

const arr = (name) => {
  const { shape, data } = h.get(name);
  return np.array(data).reshape(shape);
};
const layer = (wl) => [arr(`${wl}.W`), arr(`${wl}.b`), arr(`${wl}.x`)];

const predict = (W, b, x) => np.tanh(np.matmul(W, x).add(b));

// A variant takes its inputs as owned arrays: it reads W and b through `.ref`
// in closures (the transforms may trace them more than once) and disposes
// them at the end.
function withLayer(body) {
  return (W, b, x) => {
    const out = body((x) => predict(W.ref, b.ref, x), x, W, b);
    W.dispose();
    b.dispose();
    return out;
  };
}

function vjpLoop(W, b, x, rows) {
  const [y, vjpFn] = vjp((x) => predict(W.ref, b.ref, x), [x]);
  y.dispose();
  const out = np.stack(rows.map((e) => vjpFn(e)[0]));
  vjpFn.dispose();
  W.dispose();
  b.dispose();
  return out;
}

function vmapVjp(W, b, x, I) {
  const [y, vjpFn] = vjp((x) => predict(W.ref, b.ref, x), [x]);
  y.dispose();
  const [out] = vmap(vjpFn)(I);
  vjpFn.dispose();
  W.dispose();
  b.dispose();
  return out;
}

const f6 = (x) => np.sum(np.sin(x));

function hvpFwdRev(x, v) {
  const [g, hv] = jvp(grad(f6), [x], [v]);
  g.dispose();
  return hv;
}

function hvpRevRev(x, v) {
  const [g, vjpFn] = vjp(grad(f6), [x]);
  g.dispose();
  const [hv] = vjpFn(v);
  vjpFn.dispose();
  return hv;
}

// jacrev takes one 1-D array, so (W, b) go in as a list, the pytree way.
const jacWb = (W, b, x) => {
  const out = jacrev((p) => predict(p[0], p[1], x.ref))([W, b]);
  x.dispose();
  return out;
};

const W1 = layer("W1");
const eye16 = np.eye(16);
const rows16 = Array.from({ length: 16 }, (_, i) => {
  const e = new Float32Array(16);
  e[i] = 1;
  return np.array(e);
});

/** [workload, variant, function, inputs]; inputs are passed as `.ref`. */
const CASES = [
  ["W1", "vjp-loop", vjpLoop, [...W1, rows16]],
  ["W1", "vmap(vjp)", vmapVjp, [...W1, eye16]],
  ["W1", "jacrev", withLayer((f, x) => jacrev(f)(x)), W1],
  ["W1", "jacfwd", withLayer((f, x) => jacfwd(f)(x)), W1],
];
for (const wl of ["W2", "W3"]) {
  const L = layer(wl);
  CASES.push([wl, "jacfwd", withLayer((f, x) => jacfwd(f)(x)), L]);
  CASES.push([wl, "jacrev", withLayer((f, x) => jacrev(f)(x)), L]);
}
const W4 = layer("W4");
CASES.push(
  ["W4", "hessian", withLayer((f, x) => hessian(f)(x)), W4],
  ["W4", "jacfwd(jacfwd)", withLayer((f, x) => jacfwd(jacfwd(f))(x)), W4],
  ["W4", "jacrev(jacrev)", withLayer((f, x) => jacrev(jacrev(f))(x)), W4],
);
const W5 = layer("W5");
CASES.push(
  ["W5", "vmap(jacrev)", withLayer((f, X) => vmap(jacrev(f))(X)), W5],
  ["W5", "vmap(hessian)", withLayer((f, X) => vmap(hessian(f))(X)), W5],
);
const W6 = [arr("W6.x"), arr("W6.v")];
CASES.push(
  ["W6", "jvp(grad)", hvpFwdRev, W6],
  ["W6", "vjp(grad)", hvpRevRev, W6],
  ["W7", "jacrev(W,b)", jacWb, layer("W7")],
);

const refs = (inputs) =>
  inputs.map((a) => Array.isArray(a) ? a.map((e) => e.ref) : a.ref);
const leaves = (r) => Array.isArray(r) ? r : [r];

for (const [peer, wrap] of [["jax-js", (f) => f], ["jax-js+jit", jit]]) {
  for (const [workload, variant, f, inputs] of CASES) {
    const g = wrap(f);
    await h.run({
      peer,
      workload,
      variant,
      fn: async () => {
        const r = g(...refs(inputs));
        await blockUntilReady(r);
        return r;
      },
      // dataSync() consumes its array: read through `.ref`.
      read: (r) =>
        leaves(r).map((a) => ({ shape: a.shape, data: a.ref.dataSync() })),
      dispose: (r) => leaves(r).forEach((a) => a.dispose()),
    });
    // Served variants run later: their jitted functions must stay alive.
    if (g.dispose && !h.serving) g.dispose();
  }
}

await h.serve();
