/**
 * Operations built from several primitives, called eagerly from user code,
 * free their intermediates when they return: a synchronous loop that
 * disposes every result it gets keeps a constant number of live buffers.
 * (Before, the maximum a softmax subtracts, the sums of a variance, the
 * steps of a cross-entropy were tensors nobody could dispose, freed only
 * when the event loop turned: 4 to 34 buffers per call.)
 * @module
 */
import assert from "node:assert/strict";
import * as J from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { eagerOp } from "../src/core/scope.ts";

const leaves = J.tree.leaves;

/** Live buffers left behind per call of `f` whose results are all disposed. */
function leftPerCall(f: () => unknown, calls = 8): number {
  for (const t of leaves(f())) t.dispose(); // caches (scalars) warm
  const before = J.memoryStats().liveStorages;
  for (let i = 0; i < calls; i++) for (const t of leaves(f())) t.dispose();
  return (J.memoryStats().liveStorages - before) / calls;
}

const x = J.randn([6, 5], { dtype: "float64" });
const y = J.randn([6, 5], { dtype: "float64" });
const v = J.randn([5], { dtype: "float64" });
const sq = J.randn([4, 4], { dtype: "float64" });
const spd = J.add(J.matmul(sq, sq.T), J.eye(4, { dtype: "float64" }));
const labels = J.tensor([0, 2, 1, 4, 3, 0], { dtype: "int32" });
const probs = J.softmax(y, 1);
const mask = J.gt(x, 0);
const ints = J.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" });
const index = J.tensor([[0, 1], [2, 0], [1, 1]], { dtype: "int32" });
const img = J.randn([2, 3, 6, 6]);
const kernel = J.randn([4, 3, 3, 3]);
const key = J.random.key(7);
const w35 = J.randn([3, 5], { dtype: "float64" });
const b3 = J.randn([3], { dtype: "float64" });
const b4 = J.randn([4], { dtype: "float64" });
const ones32 = J.ones([5]);
const small = J.mul(sq, 0.3);
const rows = J.tensor([[0, 4], [1, 1], [2, 0], [3, 3], [4, 2], [0, 0]], {
  dtype: "int32",
});

const CASES: [string, () => unknown][] = [
  ["softmax", () => J.softmax(x, 1)],
  ["logSoftmax", () => J.logSoftmax(x, 0)],
  ["logsumexp keepdim", () => J.logsumexp(x, [1], { keepdim: true })],
  ["softplus beta", () => J.softplus(x, { beta: 2 })],
  ["gelu tanh", () => J.gelu(x, { approximate: "tanh" })],
  ["elu", () => J.elu(x, 0.7)],
  ["clamp", () => J.clamp(x, -0.5, 0.5)],
  ["logaddexp", () => J.logaddexp(x, y)],
  ["hypot", () => J.hypot(x, y)],
  ["nanToNum", () => J.nanToNum(x)],
  ["mean", () => J.mean(x)],
  ["sum keepdim", () => J.sum(x, 1, true)],
  ["sum of bool", () => J.sum(mask)],
  ["variance", () => J.variance(x, 1)],
  ["std", () => J.std(x)],
  ["norm 3", () => J.norm(x, 3, -1)],
  ["crossEntropy indices", () => J.crossEntropy(x, labels)],
  [
    "crossEntropy weights, labelSmoothing",
    () =>
      J.crossEntropy(x, labels, {
        weight: v,
        labelSmoothing: 0.1,
        reduction: "sum",
      }),
  ],
  ["crossEntropy probabilities", () => J.crossEntropy(x, probs)],
  ["mseLoss", () => J.mseLoss(x, y)],
  [
    "binaryCrossEntropyWithLogits",
    () => J.binaryCrossEntropyWithLogits(x, probs),
  ],
  ["oneHot", () => J.oneHot(labels, 5)],
  ["int32 + float", () => J.add(ints, 0.5)],
  ["sin of int32", () => J.sin(ints)],
  ["float32 × float64", () => J.mul(ones32, v)],
  ["matmul vector · vector", () => J.matmul(v, v)],
  ["matmul matrix · vector", () => J.matmul(x, v)],
  ["linear", () => J.linear(x, w35, b3)],
  ["outer", () => J.outer(v, v)],
  ["einsum", () => J.einsum("ij,kj->ik", x, y)],
  ["tensordot", () => J.tensordot(x, y, [[0], [0]])],
  ["kron", () => J.kron(sq, sq)],
  ["split", () => J.split(x, 2, 1)],
  ["tril", () => J.tril(sq, -1)],
  ["diag", () => J.diag(v, 1)],
  ["trace", () => J.trace(sq)],
  ["tile", () => J.tile(x, [2, 1])],
  ["repeatInterleave", () => J.repeatInterleave(x, 2, 1)],
  ["roll", () => J.roll(x, [1, -2], [0, 1])],
  ["flip", () => J.flip(x, [0, 1])],
  ["pad reflect", () => J.pad(x, [2, 1, 1, 2], { mode: "reflect" })],
  ["gather", () => J.gather(x, 1, index)],
  ["takeAlongDim", () => J.takeAlongDim(x, rows, 1)],
  ["scatter", () => J.scatter(x, 1, index, 2)],
  ["scatterAdd", () => J.scatterAdd(x, 1, index, y)],
  ["maskedFill", () => J.maskedFill(x, mask, 0)],
  ["where", () => J.where(mask, x, 1)],
  ["cumsum", () => J.cumsum(x, 0)],
  ["cumprod", () => J.cumprod(x, 1)],
  ["logcumsumexp", () => J.logcumsumexp(x, 1)],
  ["sort", () => J.sort(x, { dim: 1, descending: true })],
  ["topk", () => J.topk(x, 2)],
  ["allclose", () => J.allclose(x, y)],
  ["conv2d", () => J.conv2d(img, kernel, undefined, { padding: 1 })],
  ["avgPool2d", () => J.avgPool2d(img, 3, { stride: 2, padding: 1 })],
  ["linalg.cholesky", () => J.linalg.cholesky(spd)],
  ["linalg.solve", () => J.linalg.solve(spd, b4)],
  ["linalg.det", () => J.linalg.det(spd)],
  ["linalg.slogdet", () => J.linalg.slogdet(spd)],
  ["linalg.eigh", () => J.linalg.eigh(spd)],
  ["linalg.qr", () => J.linalg.qr(x)],
  ["linalg.svd", () => J.linalg.svd(x)],
  ["linalg.pinv", () => J.linalg.pinv(x)],
  ["linalg.lstsq", () => J.linalg.lstsq(x, y)],
  ["linalg.matrixExp", () => J.linalg.matrixExp(small)],
  ["linalg.matrixNorm nuc", () => J.linalg.matrixNorm(x, "nuc")],
  ["linalg.luFactor", () => J.linalg.luFactor(sq)],
  ["random.normal", () => J.random.normal(key, [3, 4])],
  ["random.permutation", () => J.random.permutation(key, 6)],
  ["random.categorical", () => J.random.categorical(key, x)],
];

for (const [name, f] of CASES) {
  Deno.test(`eager ${name} frees its intermediates`, () => {
    assert.equal(leftPerCall(f), 0);
  });
}

Deno.test("a synchronous loop of eager composites stays flat", () => {
  const logits = J.randn([64, 10]);
  const target = J.tensor(
    Array.from({ length: 64 }, (_, i) => i % 10),
    { dtype: "int32" },
  );
  const step = () => {
    const loss = J.crossEntropy(logits, target);
    const p = J.softmax(logits, 1);
    const h = J.mean(J.mul(p, J.logSoftmax(logits, 1)));
    const r = loss.item() + h.item();
    loss.dispose();
    p.dispose();
    h.dispose();
    return r;
  };
  step();
  const before = J.memoryStats().liveBytes;
  let total = 0;
  for (let i = 0; i < 2000; i++) total += step();
  assert.ok(Number.isFinite(total));
  // Only the product mul(p, ·) and the logSoftmax are the loop's own
  // temporaries (user code made them): 2 buffers per step are allowed to
  // wait for the collector; the three composites leave none.
  const grown = J.memoryStats().liveBytes - before;
  assert.ok(
    grown <= 2000 * 2 * 64 * 10 * 4,
    `live bytes grew by ${grown} over 2,000 steps`,
  );
});

Deno.test("results stay the caller's: disposing one frees no input", () => {
  const a = J.randn([3, 4]);
  const s = J.softmax(a, 1);
  const flat = J.flatten(a);
  s.dispose();
  flat.dispose();
  assert.equal(a.shape.length, 2);
  assert.ok(Number.isFinite(J.sum(a).item()));
  // A composite that returns its input unchanged hands out a new holder.
  const same = J.tile(a, [1, 1]);
  same.dispose();
  assert.ok(Number.isFinite(J.sum(a).item()));
});

Deno.test("inside a transform or on the eager tape the scope stands aside", () => {
  // Under grad the enclosing call owns temporaries; the value is unchanged.
  const f = (t: Tensor) => J.sum(J.softmax(t, 0).mul(J.arange(5)));
  const g = J.grad(f)(v);
  const h = 1e-6;
  for (let i = 0; i < 5; i++) {
    const e = J.oneHot(J.tensor([i], { dtype: "int32" }), 5)
      .reshape([5]).to("float64");
    const fd = (f(v.add(e.mul(h))).item() - f(v.sub(e.mul(h))).item()) /
      (2 * h);
    assert.ok(Math.abs((g.toArray() as number[])[i] - fd) < 1e-7);
  }
  // On the tape: intermediates stay until backward() frees them.
  const w = J.randn([5], { dtype: "float64" }).requiresGrad();
  const loss = J.logsumexp(w, [0]);
  loss.backward();
  const sm = J.softmax(w.detach(), 0).toArray() as number[];
  const gw = w.grad!.toArray() as number[];
  sm.forEach((p, i) => assert.ok(Math.abs(gw[i] - p) < 1e-12));
  // A result with no tensor in it comes back as it is.
  assert.equal(eagerOp([v], () => 42), 42);
});

Deno.test("an eager optimizer loop that disposes what it replaces stays flat", () => {
  const disposeAll = (tree: unknown) =>
    leaves(tree).forEach((t) => t.dispose());
  const optimizers: J.optim.Optimizer[] = [
    J.optim.adam({
      lr: J.optim.schedules.cosine({ initValue: 0.1, decaySteps: 50 }),
    }),
    J.optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true }),
    J.optim.chain(J.optim.clipByGlobalNorm(1), J.optim.rmsprop({ lr: 0.01 })),
  ] as J.optim.Optimizer[];
  for (const opt of optimizers) {
    let params: unknown = { w: J.randn([8, 4]), b: J.zeros([4]) };
    let state = opt.init(params);
    const grads = { w: J.randn([8, 4]), b: J.randn([4]) };
    let counts: number[] = [];
    for (let i = 0; i < 30; i++) {
      const [updates, next] = opt.update(grads, state, params);
      const moved = J.optim.applyUpdates(params, updates);
      disposeAll([updates, state, params]);
      [params, state] = [moved, next];
      counts.push(J.memoryStats().liveStorages);
    }
    counts = counts.slice(2);
    assert.equal(Math.max(...counts), Math.min(...counts), `${counts}`);
    disposeAll([params, state, grads]);
  }
});

Deno.test("an eager-tape training loop with composites stays flat and exact", () => {
  const x = J.randn([16, 5], { dtype: "float64" });
  const y = J.tensor(Array.from({ length: 16 }, (_, i) => i % 4), {
    dtype: "int32",
  });
  const w0 = J.randn([4, 5], { dtype: "float64" });
  const lossOf = (w: Tensor) => {
    const logits = J.linear(x, w);
    return J.crossEntropy(logits, y).add(
      J.logsumexp(logits, [1]).mean().mul(0.1),
    ).add(J.softmax(logits, 1).square().mean());
  };
  const expected = J.grad(lossOf)(w0).toArray() as number[][];
  const w = w0.requiresGrad();
  const counts: number[] = [];
  for (let i = 0; i < 20; i++) {
    const logits = J.linear(x, w);
    const seen = J.detach(logits); // a view the caller keeps past backward
    const loss = J.crossEntropy(logits, y).add(
      J.logsumexp(logits, [1]).mean().mul(0.1),
    ).add(J.softmax(logits, 1).square().mean());
    loss.backward();
    const g = w.grad!.toArray() as number[][];
    g.forEach((row, r) =>
      row.forEach((v, c) => assert.ok(Math.abs(v - expected[r][c]) < 1e-12))
    );
    // still readable after backward
    assert.ok((seen.toArray() as number[][]).flat().every(Number.isFinite));
    seen.dispose();
    w.zeroGrad();
    loss.dispose();
    counts.push(J.memoryStats().liveStorages);
  }
  // The loop's own tensors (logits, the adds, mean, mul) are graph values
  // that backward frees; the composites' constants go with the graph.
  counts.splice(0, 2);
  assert.equal(Math.max(...counts), Math.min(...counts), `${counts}`);
});
