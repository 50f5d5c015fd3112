/**
 * crossEntropy's class weights and ignoreIndex against PyTorch's formulas
 * written out in JavaScript (nll_loss with weights normalised by the
 * targets' weights; label smoothing's weighted uniform term normalised the
 * same way; probability targets weighted per class and averaged over the
 * batch), and the errors.
 * @module
 */
import { crossEntropy, type Tensor, tensor } from "../mod.ts";
import { assertClose, assertThrowsWith, randnT, Rng } from "./_helpers.ts";

const rng = new Rng(3);

/** log softmax of each row of a [N, C] array. */
function logSoftmax(x: number[][]): number[][] {
  return x.map((r) => {
    const m = Math.max(...r);
    const l = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
    return r.map((v) => v - l);
  });
}

function rows(t: Tensor): number[][] {
  const [n, c] = t.shape, d = t.data();
  return Array.from(
    { length: n },
    (_, i) => Array.from(d.slice(i * c, (i + 1) * c)),
  );
}

Deno.test("crossEntropy with class weights, ignoreIndex and label smoothing follows PyTorch's formulas", () => {
  const x = randnT(rng, [6, 4]);
  const wv = [0.5, 2, 1, 3];
  const w = tensor(wv, { dtype: "float64" });
  const y = [1, -100, 3, 0, 3, -100];
  const yt = tensor(y, { dtype: "int32" });
  const lp = logSoftmax(rows(x));
  for (const eps of [0, 0.2]) {
    let nll = 0, norm = 0, smooth = 0;
    const none: number[] = [];
    y.forEach((c, n) => {
      if (c === -100) return none.push(0);
      const a = -wv[c] * lp[n][c];
      const b = -lp[n].reduce((s, v, k) => s + wv[k] * v, 0);
      nll += a;
      norm += wv[c];
      smooth += b;
      none.push((1 - eps) * a + (eps / 4) * b);
    });
    const mean = (1 - eps) * nll / norm + (eps / 4) * smooth / norm;
    const opts = { weight: w, labelSmoothing: eps };
    assertClose(crossEntropy(x, yt, opts), mean, {}, `mean, ε ${eps}`);
    assertClose(
      crossEntropy(x, yt, { ...opts, reduction: "sum" }),
      none.reduce((a, b) => a + b),
      {},
      `sum, ε ${eps}`,
    );
    assertClose(
      crossEntropy(x, yt, { ...opts, reduction: "none" }),
      none,
      {},
      `none, ε ${eps}`,
    );
  }
  // Without weights the mean is over the elements not ignored.
  let s = 0, k = 0;
  y.forEach((c, n) => {
    if (c !== -100) (s -= lp[n][c], k++);
  });
  assertClose(crossEntropy(x, yt), s / k);
  // A custom ignoreIndex, and a class index equal to it is ignored.
  const y2 = tensor([1, 2, 3, 0, 3, 2], { dtype: "int32" });
  let s2 = 0, k2 = 0;
  [1, 2, 3, 0, 3, 2].forEach((c, n) => {
    if (c !== 2) (s2 -= lp[n][c], k2++);
  });
  assertClose(crossEntropy(x, y2, { ignoreIndex: 2 }), s2 / k2);
});

Deno.test("crossEntropy with probability targets weights each class and averages over the batch", () => {
  const x = randnT(rng, [3, 4]);
  const q = tensor([[0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0], [
    0.25,
    0.25,
    0.25,
    0.25,
  ]], { dtype: "float64" });
  const wv = [1, 0.5, 2, 1.5];
  const lp = logSoftmax(rows(x)), qr = rows(q);
  const per = lp.map((r, n) =>
    -r.reduce((s, v, c) => s + wv[c] * qr[n][c] * v, 0)
  );
  assertClose(
    crossEntropy(x, q, { weight: tensor(wv, { dtype: "float64" }) }),
    per.reduce((a, b) => a + b) / 3,
  );
});

Deno.test("crossEntropy weight and ignoreIndex errors", () => {
  const x = randnT(rng, [2, 3]);
  const y = tensor([0, 5], { dtype: "int32" });
  assertThrowsWith(
    () => crossEntropy(x, y),
    RangeError,
    "class 5",
    "ignoreIndex is -100",
  );
  assertThrowsWith(
    () =>
      crossEntropy(x, tensor([0, 1], { dtype: "int32" }), {
        weight: tensor([1, 2], { dtype: "float64" }),
      }),
    RangeError,
    "weight must have shape [3]",
  );
  assertThrowsWith(
    () =>
      crossEntropy(x, tensor([0, 1], { dtype: "int32" }), {
        weight: tensor([1, 2, 3]),
      }),
    TypeError,
    "weight is float32",
  );
  assertThrowsWith(
    () =>
      crossEntropy(x, tensor([0, 1], { dtype: "int32" }), { ignoreIndex: 0.5 }),
    TypeError,
    "ignoreIndex must be an integer",
  );
});
