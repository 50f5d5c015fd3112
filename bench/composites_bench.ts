/**
 * The composite softmax, logsumexp and crossEntropy against the plain
 * compositions a user would write without them (no maximum subtracted,
 * `exp(x) / sum(exp(x))`), eager and under `jit`, forward and gradient, on
 * [256, 1000] float32 logits (a batch of 256 over 1000 classes). The
 * stable forms cost a max reduction and a subtraction more; this measures
 * how much. Each timed call does the full computation from its inputs.
 *
 *   npx --yes deno@2 bench bench/composites_bench.ts
 */
import {
  crossEntropy,
  grad,
  jit,
  logsumexp,
  oneHot,
  random,
  softmax,
  type Tensor,
} from "../mod.ts";

const [N, C] = [256, 1000];
const [k1, k2] = random.split(random.key(0));
const x = random.normal(k1, [N, C]).mul(3);
const labels = random.randint(k2, [N], 0, C);
const targets = oneHot(labels, C);

const naiveSoftmax = (x: Tensor) => {
  const e = x.exp();
  return e.div(e.sum(-1, true));
};
const naiveLogsumexp = (x: Tensor) => x.exp().sum(-1).log();
const naiveCrossEntropy = (x: Tensor, q: Tensor) =>
  x.exp().sum(-1).log().sub(x.mul(q).sum(-1)).mean();
/** ⟨f(x), c⟩ for the gradient benches: every output entry matters. */
const weights = random.normal(k2, [N, C]);

const groups: [string, (x: Tensor) => Tensor, (x: Tensor) => Tensor][] = [
  ["softmax", (x) => softmax(x, -1), naiveSoftmax],
  ["logsumexp", (x) => logsumexp(x, -1), naiveLogsumexp],
  [
    "crossEntropy",
    (x) => crossEntropy(x, targets),
    (x) => naiveCrossEntropy(x, targets),
  ],
];

for (const [name, ours, plain] of groups) {
  const group = `${name} [${N}, ${C}] float32`;
  const scalar = (f: (x: Tensor) => Tensor) => (x: Tensor) => {
    const y = f(x);
    return y.ndim === 0
      ? y
      : y.mul(y.ndim === 2 ? weights : weights.select(1, 0)).sum();
  };
  const jOurs = jit(ours), jPlain = jit(plain);
  const gOurs = grad(scalar(ours)), gPlain = grad(scalar(plain));
  const jgOurs = jit(gOurs), jgPlain = jit(gPlain);
  Deno.bench(
    "plain composition",
    { group, baseline: true },
    () => void plain(x),
  );
  Deno.bench("jacobi", { group }, () => void ours(x));
  Deno.bench("plain composition, jit", { group }, () => void jPlain(x));
  Deno.bench("jacobi, jit", { group }, () => void jOurs(x));
  Deno.bench("grad: plain composition", { group }, () => void gPlain(x));
  Deno.bench("grad: jacobi", { group }, () => void gOurs(x));
  Deno.bench("grad: plain composition, jit", { group }, () => void jgPlain(x));
  Deno.bench("grad: jacobi, jit", { group }, () => void jgOurs(x));
}

{
  const group = `crossEntropy [${N}, ${C}]: target kinds`;
  // Targets as arguments: int32 ones keep the program out of the
  // WebAssembly executor (it runs float programs only).
  const ce = jit((x: Tensor, y: Tensor) => crossEntropy(x, y));
  Deno.bench(
    "probabilities (one-hot), jit",
    { group, baseline: true },
    () => void ce(x, targets),
  );
  Deno.bench("class indices (int32), jit", { group }, () => void ce(x, labels));
  Deno.bench(
    "class indices (int32), eager",
    { group },
    () => void crossEntropy(x, labels),
  );
}
