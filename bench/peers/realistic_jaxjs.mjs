// jax-js peer of the realistic group (bench/compare/realistic.ts): Node,
// wasm device, one thread (Node has no global Worker, which jax-js needs for
// its thread pool); "eager" runs the transforms op by op, "jit" times
// jit(...) after its compiling first call. jax-js arrays are
// reference-counted: passing an array consumes it and `.ref` keeps it, so an
// array used twice is passed as `.ref` first, and every call passes `.ref`
// copies of the inputs. Same inputs as every peer (realistic_common.mjs).

import {
  blockUntilReady,
  grad,
  hessian,
  jit,
  nn,
  numpy as np,
  vmap,
} from "@jax-js/jax";
import {
  inputArray,
  labelsArray,
  measure,
  MLP_PARAMS,
  PINN_PARAMS,
  serve,
} from "./realistic_common.mjs";

const inp = (seed, shape, scale) =>
  np.array(inputArray(seed, shape, scale)).reshape(shape);
const labels = (b, c) => np.array(labelsArray(b, c)).reshape([b, c]);

/** x [B, in] · Wᵀ + b. */
const linear = (x, W, b) => np.matmul(x, W.transpose()).add(b);

function mlpLoss(p, x, y) {
  const batch = x.shape[0];
  const h1 = np.tanh(linear(x, p[0], p[1]));
  const h2 = np.tanh(linear(h1, p[2], p[3]));
  const logits = linear(h2, p[4], p[5]);
  return np.sum(nn.logSoftmax(logits, -1).mul(y)).mul(-1 / batch);
}

/** u(x, t) of one point xt [2]: a scalar. */
function pinnU(p, xt) {
  const h1 = np.tanh(np.matmul(p[0], xt).add(p[1]));
  const h2 = np.tanh(np.matmul(p[2], h1).add(p[3]));
  return np.sum(np.matmul(p[4], h2).add(p[5]));
}

function pinnLoss(p, pts) {
  const refs = () => p.map((a) => a.ref);
  const du = grad(pinnU, { argnums: 1 });
  const residual = (xt) => {
    const g = du(refs(), xt.ref);
    const uxx = grad((z) => du(refs(), z).slice(0))(xt).slice(0);
    return g.slice(1).sub(uxx.mul(0.01));
  };
  const r = vmap(residual)(pts);
  p.forEach((a) => a.dispose());
  return np.mean(np.square(r));
}

function odeLoss(A, x0) {
  let x = x0;
  for (let i = 0; i < 1000; i++) {
    x = x.ref.add(np.tanh(np.matmul(A.ref, x)).mul(0.01));
  }
  A.dispose();
  return np.sum(x);
}

const NO_SCAN =
  "jax-js has no lax.scan, and jit of 1,000 unrolled steps is not a fair stand-in";

function build(req) {
  const { id, n, variant } = req;
  const w = variant === "jit" ? jit : (f) => f;
  switch (id) {
    case "R1":
      return [
        w(grad(mlpLoss)),
        [
          MLP_PARAMS.map((a) => inp(...a)),
          inp(7, [128, 784], 1),
          labels(128, 10),
        ],
      ];
    case "R2": {
      const one = (p, x, y) =>
        mlpLoss(p, x.reshape([1, 784]), y.reshape([1, 10]));
      return [
        w(vmap(grad(one), [null, 0, 0])),
        [
          MLP_PARAMS.map((a) => inp(...a)),
          inp(7, [64, 784], 1),
          labels(64, 10),
        ],
      ];
    }
    case "R3":
      return [
        w(grad(pinnLoss)),
        [PINN_PARAMS.map((a) => inp(...a)), inp(8, [1024, 2], 1)],
      ];
    case "R4":
      if (variant === "jit") return NO_SCAN;
      return [grad(odeLoss), [inp(1, [16, 16], 0.25), inp(2, [16], 1)]];
    case "R5": {
      // hessian(f)(x, W) fails in jax-js when f has an argument it does not
      // differentiate ("matmul: x and y must be at least 1D"): the Hessian
      // wrt x is taken of a closure over W, inside a function of both (so jit
      // still takes W as an argument).
      const f = (x, W) => {
        const H = hessian((z) => np.sum(np.tanh(np.matmul(W.ref, z))))(x);
        W.dispose();
        return H;
      };
      return [
        w(f),
        [inp(2, [n], 1), inp(1, [n, n], 1 / Math.sqrt(n))],
      ];
    }
    case "R6":
      return [
        w((a, b) => np.matmul(a, b)),
        [inp(1, [n, n], 1), inp(2, [n, n], 1)],
      ];
  }
  throw new Error(`unknown row ${id}`);
}

const leaves = (x) =>
  Array.isArray(x) ? x.flatMap(leaves) : x && x.ref ? [x] : [];
const refs = (args) =>
  args.map((a) => Array.isArray(a) ? a.map((e) => e.ref) : a.ref);

serve(async (req) => {
  const built = build(req);
  if (typeof built === "string") return { status: "n/a", error: built };
  const [fn, args] = built;
  try {
    return await measure(
      async () => {
        const out = fn(...refs(args));
        await blockUntilReady(out);
        return out;
      },
      // dataSync() consumes its array: read through `.ref`.
      (out) => leaves(out).map((a) => a.ref.dataSync()),
      (out) => leaves(out).forEach((a) => a.dispose()),
      req.ms,
    );
  } finally {
    leaves(args).forEach((a) => a.dispose());
    if (fn.dispose) fn.dispose();
  }
});
