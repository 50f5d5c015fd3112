/**
 * Bad input at the Tensor level: each throws a TypeError or
 * RangeError from TypeScript naming the argument and the shapes, never a
 * WebAssembly trap. Also checked under vmap and grad, where the shapes seen
 * are the per-example ones.
 * @module
 */
import {
  cat,
  grad,
  matmul,
  randn,
  stack,
  type Tensor,
  tensor,
  vmap,
  where,
} from "../mod.ts";
import { assertThrowsWith } from "./_helpers.ts";
import { bind } from "../src/core/trace.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const x = tensor([[1, 2, 3], [4, 5, 6]]);

Deno.test("add() of shapes that do not broadcast is a RangeError naming both shapes", () => {
  assertThrowsWith(
    () => tensor([1, 2, 3]).add(tensor([1, 2])),
    RangeError,
    "add: shapes [3] and [2] cannot be broadcast",
  );
  assertThrowsWith(
    () => x.mul(randn([3, 2])),
    RangeError,
    "mul: shapes [2, 3] and [3, 2]",
  );
  assertThrowsWith(
    () => where(x.gt(2), x, randn([4])),
    RangeError,
    "where: shapes [2, 3] and [2, 3] and [4]",
  );
  assertThrowsWith(
    () => x.expand([3, 3]),
    RangeError,
    "expand",
    "[2, 3] and [3, 3]",
  );
});

Deno.test("matmul() with differing inner dims is a RangeError naming the shapes and sizes", () => {
  assertThrowsWith(
    () => randn([2, 3]).matmul(randn([4, 5])),
    RangeError,
    "matmul: inner dimensions differ: [2, 3] @ [4, 5] (3 vs 4)",
  );
  assertThrowsWith(
    () => matmul(randn([3]), randn([4])),
    RangeError,
    "[3] @ [4]",
  );
  assertThrowsWith(
    () => matmul(randn([2, 2, 3]), randn([3, 3, 2])),
    RangeError,
    "matmul batch dims",
    "[2] and [3]",
  );
  assertThrowsWith(
    () => randn([3]).dot(randn([4])),
    RangeError,
    "dot: expected two 1-D tensors of equal length, got [3] and [4]",
  );
  assertThrowsWith(
    () => matmul(tensor(1), randn([2])),
    RangeError,
    "matmul: both operands need at least 1 dim",
  );
});

Deno.test("a dim out of range is a RangeError naming the dim and the rank", () => {
  assertThrowsWith(
    () => x.sum(2),
    RangeError,
    "dim 2 is out of range for a tensor of rank 2",
  );
  assertThrowsWith(() => x.mean(-3), RangeError, "dim -3");
  assertThrowsWith(() => x.max([0, 0]), RangeError, "repeated");
  assertThrowsWith(() => x.argmax(3), RangeError, "dim 3");
  assertThrowsWith(() => x.select(5, 0), RangeError, "dim 5");
  assertThrowsWith(() => x.transpose(0, 3), RangeError, "dim1 3");
  assertThrowsWith(
    () => x.unsqueeze(4),
    RangeError,
    "dim 4 is out of range for a tensor of rank 3",
  );
  assertThrowsWith(() => x.squeeze(3), RangeError, "dim 3");
  assertThrowsWith(() => x.movedim(0, 2), RangeError, "destination 2");
  assertThrowsWith(
    () => x.permute([0, 0]),
    RangeError,
    "permute: dims [0,0] is not a permutation",
  );
  assertThrowsWith(
    () => x.permute([0]),
    RangeError,
    "has 1 entries but the tensor has rank 2",
  );
  assertThrowsWith(
    () => x.flatten(1, 0),
    RangeError,
    "flatten: startDim 1 comes after endDim 0",
  );
  assertThrowsWith(() => cat([x, x], 2), RangeError, "dim 2");
});

Deno.test("mixed dtypes promote at the public ops; the primitives refuse them naming both dtypes, and float-only ones refuse int32", () => {
  const x64 = x.to("float64");
  // The public ops insert casts (tests/dtypes_test.ts has the whole table).
  if (x.add(x64).dtype !== "float64") throw new Error("add promotes");
  if (cat([x, x64]).dtype !== "float64") throw new Error("cat promotes");
  if (where(x.gt(2), x, x64).dtype !== "float64") throw new Error("where");
  assertThrowsWith(
    () => bind("add", [x, x64], null),
    TypeError,
    "add: mixed dtypes float32 and float64",
  );
  assertThrowsWith(
    () => bind("matmul", [x, x64.T], { transA: false, transB: false }),
    TypeError,
    "matmul: mixed dtypes",
  );
  assertThrowsWith(
    () => bind("cat", [x, x64], { axis: 0 }),
    TypeError,
    "cat: mixed dtypes",
  );
  assertThrowsWith(
    () => bind("where", [x.gt(2), x, x64], null),
    TypeError,
    "where: mixed dtypes",
  );
  assertThrowsWith(
    () => bind("sin", [x.to("int32")], null),
    TypeError,
    "sin: expected a float32 or float64 tensor, got int32",
  );
  assertThrowsWith(
    () => bind("add", [x.gt(2), x.gt(2)], null),
    TypeError,
    "add: expected a float32, float64 or int32 tensor, got bool",
  );
  assertThrowsWith(
    () => x.to("float16" as Any),
    TypeError,
    "to: unknown dtype",
  );
  assertThrowsWith(
    () => x.index(0, tensor([0])),
    TypeError,
    "indices must be an int32 tensor, got float32 [1]",
  );
});

Deno.test("tensor() of non-rectangular nested arrays names the offending element", () => {
  assertThrowsWith(
    () => tensor([[1, 2], [3]]),
    RangeError,
    "data[1] has length 1 but length 2 was expected",
    "not rectangular",
  );
  assertThrowsWith(
    () => tensor([[1, 2], 3] as Any),
    RangeError,
    "data[1] has number 3 but length 2",
  );
  assertThrowsWith(
    () => tensor([1, [2]] as Any),
    TypeError,
    "data[1] is an array of length 1, expected a number",
  );
  assertThrowsWith(
    () => tensor([[1], ["a"]] as Any),
    TypeError,
    "data[1][0] is string a",
  );
});

Deno.test("out-of-range slices, narrows, selects and indices are RangeErrors naming the dim and shape", () => {
  assertThrowsWith(
    () => x.narrow(1, 2, 5),
    RangeError,
    "narrow: start 2 and length 5 are out of range for dim 1 of size 3 (shape [2, 3])",
  );
  assertThrowsWith(() => x.narrow(0, -3, 1), RangeError, "narrow: start -3");
  assertThrowsWith(
    () => x.select(0, 5),
    RangeError,
    "select: index 5 is out of range for dim 0 of size 2 (shape [2, 3])",
  );
  assertThrowsWith(() => x.select(1, -4), RangeError, "select: index -4");
  assertThrowsWith(
    () => x.slice(1, 0, 3, 0),
    RangeError,
    "slice: step must be a nonzero integer, got 0",
  );
  assertThrowsWith(
    () => x.index(1, [3]),
    RangeError,
    "index: index 3 is out of range for dim 1 of size 3",
  );
  assertThrowsWith(
    () => x.index(0, tensor([7], { dtype: "int32" })),
    RangeError,
    "index 7",
    "size 2",
  );
  // Negative tensor indices count from the end, as array ones (x[i] in PyTorch).
  assertThrowsWith(
    () => x.index(0, tensor([-3], { dtype: "int32" })),
    RangeError,
    "index -3",
  );
  // Python-style slices clamp instead of failing, as in PyTorch.
  const s = x.slice(1, 1, 10);
  if (s.shape.join() !== "2,2") {
    throw new Error(`slice(1, 1, 10) has shape [${s.shape}], expected [2, 2]`);
  }
});

Deno.test("reshape(), stack() and cat() of incompatible shapes name the shapes", () => {
  assertThrowsWith(
    () => x.reshape([4, 2]),
    RangeError,
    "cannot reshape a tensor of shape [2, 3] (6 elements) into [4, 2]",
  );
  assertThrowsWith(
    () => x.reshape([-1, -1]),
    RangeError,
    "only one dimension can be -1",
  );
  assertThrowsWith(
    () => stack([x, x.T]),
    RangeError,
    "stack: tensor 1 has shape [3, 2] but tensor 0 has [2, 3]",
  );
  assertThrowsWith(
    () => cat([x, x.T]),
    RangeError,
    "cat: tensor 1 has shape [3, 2], which differs from [2, 3] outside dim 0",
  );
  assertThrowsWith(() => cat([]), TypeError, "cat: expected a non-empty array");
  assertThrowsWith(
    () => x.add("1" as Any),
    TypeError,
    "add: expected a Tensor or a number, got string 1",
  );
});

Deno.test("shape errors inside vmap and grad name the per-example shapes", () => {
  const a = randn([4, 3]), b = randn([4, 2]);
  assertThrowsWith(
    () => vmap((a: Tensor, b: Tensor) => a.add(b))(a, b),
    RangeError,
    "add: shapes [3] and [2]",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => a.matmul(randn([2, 2])))(a),
    RangeError,
    "inner dimensions differ",
    "(3 vs 2)",
  );
  assertThrowsWith(
    () => grad((a: Tensor) => a.sum(1).sum())(randn([3])),
    RangeError,
    "dim 1 is out of range for a tensor of rank 1",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => a.narrow(0, 2, 2))(a),
    RangeError,
    "narrow",
    "size 3 (shape [3])",
  );
});
