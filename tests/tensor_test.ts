import assert from "node:assert/strict";
import {
  arange,
  eye,
  full,
  fullLike,
  linspace,
  manualSeed,
  ones,
  onesLike,
  rand,
  randn,
  tensor,
  zeros,
  zerosLike,
} from "../mod.ts";

Deno.test("tensor() infers shape and dtype; toArray/data/item round-trip", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(x.shape, [2, 3]);
  assert.equal(x.dtype, "float32");
  assert.equal(x.ndim, 2);
  assert.equal(x.size, 6);
  assert.deepEqual(x.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.ok(x.data() instanceof Float32Array);
  assert.equal(tensor(7, { dtype: "float64" }).item(), 7);
  assert.ok(tensor(new Float64Array([1, 2])).data() instanceof Float64Array);
  assert.throws(() => x.item(), /6 elements/);
});

Deno.test("creation functions fill the expected values", () => {
  assert.deepEqual(zeros([2]).toArray(), [0, 0]);
  assert.deepEqual(ones([2], { dtype: "float64" }).toArray(), [1, 1]);
  assert.deepEqual(full([2, 1], 3).toArray(), [[3], [3]]);
  assert.deepEqual(eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
  assert.deepEqual(arange(4).toArray(), [0, 1, 2, 3]);
  assert.deepEqual(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  const x = tensor([1, 2], { dtype: "float64" });
  assert.deepEqual(zerosLike(x).toArray(), [0, 0]);
  assert.equal(onesLike(x).dtype, "float64");
  assert.deepEqual(fullLike(x, 5).toArray(), [5, 5]);
});

Deno.test("manualSeed() makes randn/rand reproducible, finite and in range", () => {
  manualSeed(42);
  const a = Array.from(randn([1000]).data());
  const u = rand([1000]).data();
  manualSeed(42);
  assert.deepEqual(Array.from(randn([1000]).data()), a);
  assert.ok(a.every(Number.isFinite));
  assert.ok(u.every((v) => v >= 0 && v < 1));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
  assert.ok(
    Math.abs(mean) < 0.1 && Math.abs(variance - 1) < 0.15,
    `mean ${mean}, variance ${variance}`,
  );
});

Deno.test("printing reads like PyTorch", () => {
  assert.equal(
    String(tensor([[1, 2], [3, 4]])),
    "tensor([[1., 2.],\n        [3., 4.]])",
  );
  assert.equal(String(tensor([0.5, 1.25])), "tensor([0.5000, 1.2500])");
  assert.equal(
    String(tensor([1, 2], { dtype: "float64" })),
    "tensor([1., 2.], dtype=float64)",
  );
  assert.equal(String(tensor(3)), "tensor(3.)");
  const big = String(arange(2000));
  assert.ok(big.includes("..."), big);
  assert.ok(
    big.startsWith("tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.])"),
    big,
  );
  assert.equal(Deno.inspect(tensor([1])), "tensor([1.])");
});

Deno.test("clone() copies; dispose() releases; using releases at scope end", () => {
  const x = tensor([1, 2]);
  const y = x.clone();
  x.dispose();
  assert.deepEqual(y.toArray(), [1, 2]);
  assert.throws(() => x.data(), /disposed/);
  let escaped: ReturnType<typeof tensor>;
  {
    using z = tensor([3]);
    escaped = z;
  }
  assert.throws(() => escaped.data(), /disposed/);
});

Deno.test("to() converts dtypes and argmax returns int32 indices", () => {
  const x = tensor([1.5, -2, 3.25]);
  assert.equal(x.to("float64").dtype, "float64");
  assert.deepEqual(x.to("int32").toArray(), [1, -2, 3]);
  const i = x.argmax();
  assert.equal(i.dtype, "int32");
  assert.equal(i.item(), 2);
  assert.deepEqual(tensor([[1, 5], [7, 2]]).argmax(1).toArray(), [1, 0]);
});

Deno.test("arange, linspace and eye too large for one buffer fail at once; bool ones store 0 and 1", () => {
  // They filled a JavaScript array of the whole size (8 GB here, all of
  // it touched: resident) before the allocation error.
  for (
    const f of [
      () => linspace(0, 1, 1e9),
      () => arange(1e9),
      () => eye(40000),
    ]
  ) {
    const rss = Deno.memoryUsage().rss;
    assert.throws(f, /cannot allocate/);
    assert.ok(Deno.memoryUsage().rss - rss < 2 ** 29, "resident memory grew");
  }
  assert.deepEqual(Array.from(arange(0, 3, 1, { dtype: "bool" }).data()), [
    0,
    1,
    1,
  ]);
  assert.deepEqual(Array.from(linspace(-1, 1, 3, { dtype: "bool" }).data()), [
    1,
    0,
    1,
  ]);
  assert.deepEqual(Array.from(eye(2, 3, { dtype: "int32" }).data()), [
    1,
    0,
    0,
    0,
    1,
    0,
  ]);
});
