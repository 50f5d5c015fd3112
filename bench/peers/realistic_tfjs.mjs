// TensorFlow.js peer of the realistic group (bench/compare/realistic.ts):
// the umbrella package with the wasm backend (SIMD, threads off) under Node,
// eager only (tf.grad/tf.grads; TensorFlow.js has no jit of a whole
// function). Rows it cannot express answer "n/a" with the reason. Same
// inputs as every peer (realistic_common.mjs).

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import {
  inputArray,
  labelsArray,
  measure,
  MLP_PARAMS,
  serve,
} from "./realistic_common.mjs";

tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // one thread, like all
await tf.setBackend("wasm");
await tf.ready();

const inp = (seed, shape, scale) =>
  tf.tensor(inputArray(seed, shape, scale), shape, "float32");
const labels = (b, c) => tf.tensor(labelsArray(b, c), [b, c], "float32");

/** x [B, in] · Wᵀ + b. */
const linear = (x, W, b) => tf.add(tf.matMul(x, W, false, true), b);

function mlpLoss(p, x, y) {
  const h1 = tf.tanh(linear(x, p[0], p[1]));
  const h2 = tf.tanh(linear(h1, p[2], p[3]));
  const logits = linear(h2, p[4], p[5]);
  return tf.mul(tf.sum(tf.mul(tf.logSoftmax(logits, -1), y)), -1 / x.shape[0]);
}

// tf.grad(tf.grad(f)) fails for tanh: its gradient reads the saved output,
// which the outer tape does not connect to x.
const NO_SECOND =
  "second derivatives through tanh: nested tf.grad cannot differentiate tanh's gradient";
const NO_VMAP =
  "TensorFlow.js has no vmap (a loop of 64 single-example gradients is another computation)";

function build(req) {
  const { id, n, variant } = req;
  if (variant === "jit") return "TensorFlow.js has no jit of a whole function";
  switch (id) {
    case "R1": {
      const p = MLP_PARAMS.map((a) => inp(...a));
      const x = inp(7, [128, 784], 1), y = labels(128, 10);
      const g = tf.grads((...q) => mlpLoss(q, x, y));
      return [() => g(p), [...p, x, y]];
    }
    case "R2":
      return NO_VMAP;
    case "R3":
    case "R5":
      return NO_SECOND;
    case "R4": {
      const A = inp(1, [16, 16], 0.25), x0 = inp(2, [16, 1], 1);
      const g = tf.grad((A) => {
        let x = x0;
        for (let i = 0; i < 1000; i++) {
          x = tf.add(x, tf.mul(tf.tanh(tf.matMul(A, x)), 0.01));
        }
        return tf.sum(x);
      });
      return [() => g(A), [A, x0]];
    }
    case "R6": {
      const a = inp(1, [n, n], 1), b = inp(2, [n, n], 1);
      return [() => tf.matMul(a, b), [a, b]];
    }
  }
  throw new Error(`unknown row ${id}`);
}

const leaves = (r) => Array.isArray(r) ? r : [r];

serve(async (req) => {
  const built = build(req);
  if (typeof built === "string") return { status: "n/a", error: built };
  const [fn, inputs] = built;
  try {
    return await measure(
      () => {
        const out = tf.tidy(fn);
        // Force the result (the wasm backend runs synchronously).
        leaves(out).forEach((t) => t.dataSync());
        return out;
      },
      (out) => leaves(out).map((t) => t.dataSync()),
      (out) => tf.dispose(out),
      req.ms,
    );
  } finally {
    tf.dispose(inputs);
  }
});
