/**
 * scatter and scatterAdd against loops written from PyTorch's definitions,
 * gather's gradient as a scatterAdd, the mean convention for repeated
 * positions in scatter, int32 inputs, and the errors. The transforms run
 * through the composite case table.
 * @module
 */
import {
  gather,
  grad,
  scatter,
  scatterAdd,
  type Tensor,
  tensor,
  vmap,
  zeros,
} from "../mod.ts";
import {
  assertClose,
  assertThrowsWith,
  fromGen,
  randnT,
  Rng,
} from "./_helpers.ts";

const rng = new Rng(11);

/** out = x; out[..., index[p], ...] (op)= src[p] over index's positions p (3-D). */
function naive(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  add: boolean,
): Tensor {
  const out = Array.from(x.data());
  const [A, B, C] = index.shape, xs = x.shape, ss = src.shape;
  const iv = index.data(), sv = src.data();
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        const k = iv[(a * B + b) * C + c];
        const pos = [a, b, c];
        pos[dim] = k;
        const at = (pos[0] * xs[1] + pos[1]) * xs[2] + pos[2];
        const v = sv[(a * ss[1] + b) * ss[2] + c];
        out[at] = add ? out[at] + v : v;
      }
    }
  }
  return tensor(out, { dtype: "float64" }).reshape(xs);
}

Deno.test("scatterAdd and scatter (distinct positions) match loops on every dim", () => {
  for (const dim of [0, 1, 2]) {
    const x = randnT(rng, [3, 4, 5]);
    const ishape = [2, 3, 4];
    const src = randnT(rng, [3, 4, 4]); // larger than index in dims 0 and 1
    const idx = fromGen(ishape, () => rng.int(0, x.shape[dim] - 1), "int32");
    assertClose(
      scatterAdd(x, dim, idx, src),
      naive(x, dim, idx, src, true),
      {},
      `dim ${dim}`,
    );
    // Distinct positions along dim: a permutation prefix per lane.
    const n = x.shape[dim], m = ishape[dim];
    const perm = Array.from({ length: n }, (_, i) => i).sort(() =>
      rng.next() - 0.5
    );
    const vals = new Array(ishape.reduce((a, b) => a * b, 1)).fill(0);
    const st = [ishape[1] * ishape[2], ishape[2], 1];
    vals.forEach((_, f) => {
      const p = Math.floor(f / st[dim]) % m;
      vals[f] = perm[p];
    });
    const di = tensor(vals, { dtype: "int32" }).reshape(ishape);
    assertClose(
      scatter(x, dim, di, src),
      naive(x, dim, di, src, false),
      {},
      `scatter dim ${dim}`,
    );
  }
});

Deno.test("scatter: a repeated position gets the mean of its values; a number src fills", () => {
  const x = zeros([4], { dtype: "float64" });
  const i = tensor([1, 1, 3], { dtype: "int32" });
  assertClose(
    scatter(x, 0, i, tensor([2, 4, 7], { dtype: "float64" })),
    tensor([0, 3, 0, 7], { dtype: "float64" }),
  );
  assertClose(
    scatter(x, 0, i, -1),
    tensor([0, -1, 0, -1], { dtype: "float64" }),
  );
  const xi = tensor([[1, 2], [3, 4]], { dtype: "int32" });
  const j = tensor([[1], [0]], { dtype: "int32" });
  assertClose(
    scatter(xi, 1, j, 9),
    tensor([[1, 9], [9, 4]], { dtype: "int32" }),
  );
  assertClose(
    scatterAdd(xi, 1, j, tensor([[10], [20]], { dtype: "int32" })),
    tensor([[1, 12], [23, 4]], { dtype: "int32" }),
  );
  assertClose(
    xi.scatterAdd(1, j, 1),
    tensor([[1, 3], [4, 4]], { dtype: "int32" }),
  );
});

Deno.test("the gradient of gather is a scatterAdd of the cotangent, also under vmap", () => {
  const x = randnT(rng, [3, 5]);
  const idx = fromGen([3, 4], () => rng.int(0, 4), "int32");
  const c = randnT(rng, [3, 4]);
  const g = grad((x: Tensor) => gather(x, 1, idx).mul(c).sum())(x);
  assertClose(g, scatterAdd(zeros([3, 5], { dtype: "float64" }), 1, idx, c));
  // Per-example indices: vmap over the index batches the indexAdd/indexSelect.
  const idxs = fromGen([6, 3, 4], () => rng.int(0, 4), "int32");
  const got = vmap((i: Tensor) => scatterAdd(x, 1, i, c))(idxs);
  for (let b = 0; b < 6; b++) {
    assertClose(got.select(0, b), scatterAdd(x, 1, idxs.select(0, b), c));
  }
});

Deno.test("scatter and scatterAdd errors name the argument and the shapes", () => {
  const x = zeros([2, 3]);
  const i = tensor([[0, 1]], { dtype: "int32" });
  assertThrowsWith(
    () => scatterAdd(x, 1, i.to("float32"), x),
    TypeError,
    "index must be an int32",
  );
  assertThrowsWith(
    () => scatterAdd(x, 1, tensor([0], { dtype: "int32" }), x),
    RangeError,
    "rank",
  );
  assertThrowsWith(
    () => scatterAdd(x, 1, i, zeros([1, 1])),
    RangeError,
    "src [1, 1]",
  );
  assertThrowsWith(
    () => scatter(x, 1, tensor([[0, 3]], { dtype: "int32" }), x),
    RangeError,
    "index 3",
    "size 3",
  );
  assertThrowsWith(
    () => scatter(x, 1, i, "a" as unknown as number),
    TypeError,
    "src must be",
  );
  assertThrowsWith(
    () => scatterAdd(x, 1, i, zeros([2, 3], { dtype: "float64" })),
    TypeError,
    "float64",
  );
});
