/**
 * Negative-step slicing against Python's slice semantics, integer-tensor
 * indexing of one dim (any index shape, negative indices), and the public
 * indexAdd, with their errors. The transforms run through the composite
 * case table.
 * @module
 */
import {
  arange,
  grad,
  indexAdd,
  indexSelect,
  ones,
  slice,
  type Tensor,
  tensor,
  zeros,
} from "../mod.ts";
import { assertClose, assertShape, assertThrowsWith } from "./_helpers.ts";

/** Python's range of x[start:end:step] for a negative step (PySlice_AdjustIndices). */
function pyBackwards(
  n: number,
  start: number | undefined,
  end: number | undefined,
  step: number,
): number[] {
  const adj = (v: number) => (v < 0 ? Math.max(v + n, -1) : Math.min(v, n - 1));
  const s = start === undefined ? n - 1 : adj(start);
  const e = end === undefined ? -1 : adj(end);
  const out: number[] = [];
  for (let i = s; i > e; i += step) out.push(i);
  return out;
}

Deno.test("slice with a negative step walks backwards as Python's x[start:end:step]", () => {
  const x = arange(10);
  // Hand-checked against Python: list(range(10))[7:2:-2] == [7, 5, 3].
  assertClose(slice(x, 0, 7, 2, -2), tensor([7, 5, 3]));
  assertClose(
    slice(x, 0, undefined, undefined, -1),
    tensor([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
  );
  assertClose(slice(x, 0, -1, -4, -1), tensor([9, 8, 7]));
  assertShape(slice(x, 0, 2, 7, -1), [0]);
  const cases: [number | undefined, number | undefined, number][] = [
    [undefined, undefined, -3],
    [20, -20, -3],
    [0, undefined, -1],
    [undefined, 0, -2],
    [-20, undefined, -1],
    [5, -7, -1],
  ];
  for (const [s, e, k] of cases) {
    assertClose(
      slice(x, 0, s, e, k),
      tensor(pyBackwards(10, s, e, k)).reshape([-1]),
      {},
      `[${s}:${e}:${k}]`,
    );
  }
  // Along an inner dim, and its gradient (each picked entry once).
  const m = arange(12).reshape([3, 4]);
  assertClose(
    m.slice(1, undefined, undefined, -2),
    tensor([[3, 1], [7, 5], [11, 9]]),
  );
  const g = grad((m: Tensor) => m.slice(1, undefined, undefined, -2).sum())(m);
  assertClose(g, tensor([[0, 1, 0, 1], [0, 1, 0, 1], [0, 1, 0, 1]]));
  assertThrowsWith(
    () => slice(x, 0, 0, 5, 0),
    RangeError,
    "step must be a nonzero integer",
  );
});

Deno.test("integer-tensor indexing of one dim: any index shape, negative indices", () => {
  const x = arange(12).reshape([3, 4]);
  const i = tensor([[0, 2], [-1, 1]], { dtype: "int32" });
  const y = x.index(0, i);
  assertShape(y, [2, 2, 4]);
  assertClose(y.select(1, 0), tensor([[0, 1, 2, 3], [8, 9, 10, 11]]));
  assertClose(y.select(1, 1), tensor([[8, 9, 10, 11], [4, 5, 6, 7]]));
  assertClose(
    indexSelect(x, 1, tensor([[3], [-4]], { dtype: "int32" })).reshape([3, 2]),
    tensor([[3, 0], [7, 4], [11, 8]]),
  );
  assertShape(indexSelect(x, 1, tensor(2, { dtype: "int32" })), [3]);
  assertThrowsWith(
    () => indexSelect(x, 1, tensor([4], { dtype: "int32" })),
    RangeError,
    "index 4",
    "size 4",
  );
  assertThrowsWith(() => indexSelect(x, 1, tensor([1.5])), TypeError, "int32");
});

Deno.test("indexAdd adds source slices at the indices (repeats accumulate, alpha scales)", () => {
  const y = indexAdd(
    ones([3, 2]),
    0,
    [2, 0, 2],
    tensor([[1, 2], [3, 4], [5, 6]]),
  );
  assertClose(y, tensor([[4, 5], [1, 1], [7, 9]]));
  const z = indexAdd(
    zeros([2, 3]),
    -1,
    tensor([-1, 0], { dtype: "int32" }),
    ones([2, 2]),
    { alpha: 3 },
  );
  assertClose(z, tensor([[3, 0, 3], [3, 0, 3]]));
  assertClose(
    zeros([2, 3]).indexAdd(1, [2], ones([2, 1])),
    tensor([[0, 0, 1], [0, 0, 1]]),
  );
  assertThrowsWith(
    () => indexAdd(zeros([2, 3]), 1, [0], ones([3, 1])),
    RangeError,
    "source [3, 1]",
    "x [2, 3]",
  );
  assertThrowsWith(
    () => indexAdd(zeros([2, 3]), 1, [5], ones([2, 1])),
    RangeError,
    "index 5",
  );
});
