// TensorFlow.js peer: tfjs-core with the wasm backend (SIMD, threads off) under
// Node. tfjs has reverse mode only (tf.grad/tf.grads, nestable) and no vmap:
// Jacobians are hand-batched VJPs (the input tiled once per output row, one
// tf.grad call with one-hot cotangents), Hessians are reverse-over-reverse
// that way, and whatever needs forward mode is "n/a".

// The umbrella package, not tfjs-core alone: under Node only its bundle
// registers the gradients and chained ops (tfjs-core's ESM files do not load
// in Node: extensionless imports). Its cpu/webgl backends stay unused.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import process from "node:process";
import { openHarness, packageVersion } from "./harness.mjs";

tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // one thread, like all
await tf.setBackend("wasm");
await tf.ready();

const PEER = "tfjs-wasm";
const h = openHarness({
  peer: PEER,
  version: packageVersion("@tensorflow/tfjs-core"),
  backend: `${tf.getBackend()} simd=${
    tf.env().getBool("WASM_HAS_SIMD_SUPPORT")
  }`,
  node: process.version,
});
const NO_FWD = "TensorFlow.js has no forward mode";
const BATCHED = "hand-batched VJPs: TensorFlow.js has no vmap";
// tf.grad(tf.grad(f)) fails for tanh (and exp, sigmoid): their gradients read
// the saved output, which the outer tape does not connect to x.
const REV_REV =
  "reverse-over-reverse, hand-batched (no forward mode, no vmap);" +
  " nested tf.grad cannot differentiate tanh's gradient";

const t = (name) => {
  const { shape, data } = h.get(name);
  return tf.tensor(data, shape, "float32");
};
const layer = (wl) => [t(`${wl}.W`), t(`${wl}.b`), t(`${wl}.x`)];

/** tanh(X Wᵀ + b) for a batch X [n, Din] → [n, Dout]. */
const predictRows = (W, b, X) =>
  tf.tanh(tf.add(tf.matMul(X, W, false, true), b));
const predict = (W, b, x) =>
  predictRows(W, b, x.reshape([1, -1])).reshape([W.shape[0]]);

// The wasm backend's mod/floorDiv return float32 even on int32 inputs.
const oneHot = (i, n) => tf.oneHot(tf.cast(i, "int32"), n).asType("float32");

/** Batched Jacobians [B, Dout, Din] of X [B, Din]: one VJP per (n, k) row. */
function jacRows(W, b, X) {
  const [B, din] = X.shape, dout = W.shape[0];
  const Xr = tf.tile(X.reshape([B, 1, din]), [1, dout, 1]).reshape([
    B * dout,
    din,
  ]);
  const k = tf.mod(tf.range(0, B * dout, 1, "int32"), dout);
  const dy = oneHot(k, dout);
  return tf.grad((Z) => predictRows(W, b, Z))(Xr, dy).reshape([B, dout, din]);
}

/** Batched Hessians [B, Dout, Din, Din]: grad of each J[k, i] row by row. */
function hessRows(W, b, X) {
  const [B, din] = X.shape, dout = W.shape[0];
  const R = B * dout * din;
  const Xr = tf.tile(X.reshape([B, 1, din]), [1, dout * din, 1]).reshape([
    R,
    din,
  ]);
  const r = tf.range(0, R, 1, "int32");
  const ck = oneHot(tf.mod(tf.floorDiv(r, din), dout), dout);
  const ci = oneHot(tf.mod(r, din), din);
  const jRow = tf.grad((Z) => tf.sum(tf.mul(predictRows(W, b, Z), ck)));
  const H = tf.grad((Z) => tf.sum(tf.mul(jRow(Z), ci)))(Xr);
  return H.reshape([B, dout, din, din]);
}

const run = (workload, variant, fn, note) =>
  h.run({
    peer: PEER,
    workload,
    variant,
    note,
    fn: () => tf.tidy(fn),
    read: (r) =>
      (Array.isArray(r) ? r : [r]).map((a) => ({
        shape: a.shape,
        data: a.dataSync(),
      })),
    dispose: (r) => tf.dispose(r),
  });

// W1
{
  const [W, b, x] = layer("W1");
  const I = tf.eye(16);
  const rows = tf.unstack(I);
  await run("W1", "vjp-loop", () => {
    const vjpRow = tf.grad((x) => predict(W, b, x));
    return tf.stack(rows.map((e) => vjpRow(x, e)));
  }, "tf.grad(f)(x, e_k) reruns f per row: no reusable VJP function");
  await run("W1", "vmap(vjp)", () => {
    const X = tf.tile(x.reshape([1, 16]), [16, 1]);
    return tf.grad((Z) => predictRows(W, b, Z))(X, I);
  }, BATCHED);
  await run(
    "W1",
    "jacrev",
    () => jacRows(W, b, x.reshape([1, -1])).reshape([16, 16]),
    BATCHED,
  );
  h.na(PEER, "W1", "jacfwd", NO_FWD);
}

// W2 tall, W3 wide
for (const wl of ["W2", "W3"]) {
  const [W, b, x] = layer(wl);
  const [dout, din] = W.shape;
  h.na(PEER, wl, "jacfwd", NO_FWD);
  await run(
    wl,
    "jacrev",
    () => jacRows(W, b, x.reshape([1, din])).reshape([dout, din]),
    BATCHED,
  );
}

// W4 Hessian
{
  const [W, b, x] = layer("W4");
  const [dout, din] = W.shape;
  const H = () => hessRows(W, b, x.reshape([1, din])).reshape([dout, din, din]);
  await run("W4", "hessian", H, REV_REV);
  h.na(PEER, "W4", "jacfwd(jacfwd)", NO_FWD);
  await run("W4", "jacrev(jacrev)", H, REV_REV);
}

// W5 batched
{
  const [W, b, X] = layer("W5");
  await run("W5", "vmap(jacrev)", () => jacRows(W, b, X), BATCHED);
  await run("W5", "vmap(hessian)", () => hessRows(W, b, X), REV_REV);
}

// W6 hvp of sum(sin(x)): reverse-over-reverse only.
{
  const [x, v] = [t("W6.x"), t("W6.v")];
  h.na(PEER, "W6", "jvp(grad)", NO_FWD);
  await run("W6", "vjp(grad)", () => {
    const g = tf.grad((x) => tf.sum(tf.sin(x)));
    return tf.grad(g)(x, v);
  });
}

// W7 Jacobian wrt (W, b): one copy of (W, b) per output row, one tf.grads.
{
  const [W, b, x] = layer("W7");
  const [dout, din] = W.shape;
  await run("W7", "jacrev(W,b)", () => {
    const Wr = tf.tile(W.reshape([1, dout, din]), [dout, 1, 1]);
    const br = tf.tile(b.reshape([1, dout]), [dout, 1]);
    const f = (Wr, br) => tf.tanh(tf.add(tf.sum(tf.mul(Wr, x), 2), br));
    return tf.grads(f)([Wr, br], tf.eye(dout));
  }, BATCHED);
}

await h.serve();
