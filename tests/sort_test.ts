/**
 * sort, argsort and topk against JavaScript's stable Array.prototype.sort
 * (ties, NaN, descending, long lanes that exercise the merges, every dim,
 * int32), their gradients (the cotangent scattered back through the
 * permutation), and their errors. The transforms run through the case
 * table (conv_cases.ts).
 * @module
 */
import {
  argsort,
  grad,
  jit,
  sort,
  type Tensor,
  tensor,
  topk,
  vmap,
} from "../mod.ts";
import {
  assertClose,
  assertShape,
  assertThrowsWith,
  fromGen,
  Rng,
} from "./_helpers.ts";

/** Stable reference order of one lane (NaN above every number). */
function refOrder(v: number[], descending: boolean): number[] {
  const key = (x: number) => (Number.isNaN(x) ? Infinity : x);
  const rank = (a: number, b: number) => {
    const na = Number.isNaN(v[a]), nb = Number.isNaN(v[b]);
    if (na || nb) return na === nb ? 0 : (na ? 1 : -1);
    return key(v[a]) - key(v[b]);
  };
  return v.map((_, i) => i).sort((a, b) =>
    descending ? rank(b, a) : rank(a, b)
  );
}

/** Lanes of x along `dim` as arrays, with a function writing them back. */
function lanes(x: Tensor, dim: number): number[][] {
  const moved = x.movedim(dim, -1);
  const n = x.shape[dim];
  const d = Array.from(moved.data());
  const out: number[][] = [];
  for (let i = 0; i < d.length; i += n) out.push(d.slice(i, i + n));
  return out;
}

Deno.test("argsort and sort match a stable reference on ties, NaN and long lanes", () => {
  const rng = new Rng(5);
  const shapes: [number[], number][] = [
    [[7], 0],
    [[3, 40], 1],
    [[50, 4], 0],
    [[2, 3, 1000], 2],
    [[4, 5, 6], 1],
  ];
  for (const [shape, dim] of shapes) {
    // Few distinct values, so that ties are common; some NaN.
    const x = fromGen(shape, () => {
      const u = rng.next();
      return u < 0.05 ? NaN : Math.round(rng.normal() * 3);
    });
    for (const descending of [false, true]) {
      const idx = argsort(x, { dim, descending });
      const { values, indices } = sort(x, { dim, descending });
      const want = lanes(x, dim).map((v) => refOrder(v, descending));
      const got = lanes(idx, dim);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(`argsort ${shape} dim ${dim} descending ${descending}`);
      }
      if (JSON.stringify(lanes(indices, dim)) !== JSON.stringify(want)) {
        throw new Error(`sort indices ${shape}`);
      }
      const wantV = lanes(x, dim).map((v, i) => want[i].map((j) => v[j]));
      const gotV = lanes(values, dim);
      if (JSON.stringify(gotV) !== JSON.stringify(wantV)) {
        throw new Error(`sort values ${shape} dim ${dim}`);
      }
    }
  }
});

Deno.test("sort of float32 and int32 inputs, scalars and the Tensor methods", () => {
  const x = tensor([5, -1, 3, -1, 2], { dtype: "int32" });
  const s = sort(x);
  assertClose(s.values, tensor([-1, -1, 2, 3, 5], { dtype: "int32" }));
  assertClose(s.indices, tensor([1, 3, 4, 2, 0], { dtype: "int32" }));
  const f = tensor([0.5, 0.25, 1]);
  assertClose(f.sort({ descending: true }).values, tensor([1, 0.5, 0.25]));
  assertClose(f.argsort(), tensor([1, 0, 2], { dtype: "int32" }));
  assertClose(f.topk(1).indices, tensor([2], { dtype: "int32" }));
  const z = sort(tensor(4));
  assertClose(z.values, tensor(4));
  assertClose(z.indices, tensor(0, { dtype: "int32" }));
});

Deno.test("topk: largest or smallest, earlier positions first among ties", () => {
  const x = tensor([[1, 5, 2, 5, 3], [0, 0, 9, -1, 0]]);
  const a = topk(x, 3);
  assertClose(a.values, tensor([[5, 5, 3], [9, 0, 0]]));
  assertClose(a.indices, tensor([[1, 3, 4], [2, 0, 1]], { dtype: "int32" }));
  const b = topk(x, 2, { dim: 1, largest: false });
  assertClose(b.values, tensor([[1, 2], [-1, 0]]));
  assertClose(b.indices, tensor([[0, 2], [3, 0]], { dtype: "int32" }));
  const c = topk(x, 1, 0);
  assertClose(c.values, tensor([[1, 5, 9, 5, 3]]));
  assertShape(topk(x, 0).values, [2, 0]);
});

Deno.test("gradients of sort and topk scatter the cotangent back through the permutation", () => {
  const x = tensor([0.3, -1.2, 2.5, 0.7], { dtype: "float64" });
  const c = tensor([1, 2, 3, 4], { dtype: "float64" });
  // sorted order: -1.2 (1), 0.3 (0), 0.7 (3), 2.5 (2)
  const g = grad((x: Tensor) => sort(x).values.mul(c).sum())(x);
  assertClose(g, tensor([2, 1, 4, 3], { dtype: "float64" }));
  const gt = grad((x: Tensor) =>
    topk(x, 2).values.mul(c.narrow(0, 0, 2)).sum()
  )(x);
  assertClose(gt, tensor([0, 0, 1, 2], { dtype: "float64" }));
  // Under vmap and jit: per-row gradients of a batch.
  const xs = tensor([[3, 1, 2], [0, 5, -4]], { dtype: "float64" });
  const w = tensor([1, 10, 100], { dtype: "float64" });
  const per = vmap(
    grad((r: Tensor) => sort(r, { descending: true }).values.mul(w).sum()),
  )(xs);
  assertClose(per, tensor([[1, 100, 10], [10, 1, 100]], { dtype: "float64" }));
  const js = jit((x: Tensor) => sort(x, 0).values);
  assertClose(js(xs), tensor([[0, 1, -4], [3, 5, 2]], { dtype: "float64" }));
});

Deno.test("sort, argsort and topk errors name the argument", () => {
  const x = tensor([[1, 2], [3, 4]]);
  assertThrowsWith(() => topk(x, 3), RangeError, "topk", "k must be", "[0, 2]");
  assertThrowsWith(() => sort(x, { dim: 2 }), RangeError, "dim");
  assertThrowsWith(
    () => sort(x, { descending: "yes" as unknown as boolean }),
    TypeError,
    "descending must be a boolean",
  );
  assertThrowsWith(
    () => argsort([1, 2] as unknown as Tensor),
    TypeError,
    "argsort",
  );
});
