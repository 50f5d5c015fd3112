/**
 * einsum, tensordot, kron, the logical operations, maskedFill and the
 * cumulative scans against plain-JS loops and closed forms in float64, their
 * stability at extreme inputs and their error messages. The transform checks
 * are in composites_numeric_test.ts (rows of composites_cases.ts).
 * @module
 */
import {
  all,
  any,
  cumprod,
  cumsum,
  einsum,
  grad,
  kron,
  logcumsumexp,
  logicalAnd,
  logicalNot,
  logicalOr,
  logicalXor,
  maskedFill,
  type Tensor,
  tensor,
  tensordot,
} from "../mod.ts";
import {
  assertClose,
  assertShape,
  assertThrowsWith,
  randnT,
  Rng,
} from "./_helpers.ts";

const stridesOf = (s: readonly number[]) => {
  const st = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1] * s[i + 1];
  return st;
};

/**
 * einsum by brute force over every assignment of the labels (no ellipsis):
 * the definition, independent of the implementation.
 */
function einsumLoop(spec: string, ...xs: Tensor[]): number[] {
  const [lhs, rhs] = spec.split("->");
  const terms = lhs.split(",");
  const sizes = new Map<string, number>();
  terms.forEach((t, i) =>
    [...t].forEach((l, d) => sizes.set(l, xs[i].shape[d]))
  );
  const out = rhs ??
    [...sizes.keys()].filter((l) => lhs.split(l).length === 2).sort().join("");
  const labels = [...sizes.keys()];
  const data = xs.map((x) => x.data());
  const outSizes = [...out].map((l) => sizes.get(l)!);
  const res = new Array<number>(outSizes.reduce((a, b) => a * b, 1)).fill(0);
  const outStr = stridesOf(outSizes);
  const idx = new Map<string, number>();
  const loop = (k: number) => {
    if (k === labels.length) {
      let p = 1;
      terms.forEach((t, i) => {
        const st = stridesOf(xs[i].shape);
        let off = 0;
        [...t].forEach((l, d) => (off += idx.get(l)! * st[d]));
        p *= data[i][off];
      });
      let o = 0;
      [...out].forEach((l, d) => (o += idx.get(l)! * outStr[d]));
      res[o] += p;
      return;
    }
    for (let i = 0; i < sizes.get(labels[k])!; i++) {
      idx.set(labels[k], i);
      loop(k + 1);
    }
  };
  loop(0);
  return res;
}

Deno.test("einsum matches the brute-force sum over labels", () => {
  const r = new Rng(11);
  const cases: [string, number[][]][] = [
    ["ij,jk->ik", [[3, 4], [4, 5]]],
    ["ij,jk", [[3, 4], [4, 2]]],
    ["bij,bjk->bik", [[2, 3, 4], [2, 4, 3]]],
    ["ij,kj->ik", [[3, 4], [2, 4]]],
    ["ii->i", [[4, 4]]],
    ["ii", [[4, 4]]],
    ["iij->j", [[3, 3, 2]]],
    ["iii->i", [[3, 3, 3]]],
    ["ij->", [[3, 4]]],
    ["ij->ji", [[3, 4]]],
    ["ij", [[3, 4]]],
    ["ba", [[3, 4]]],
    ["i,i->", [[5], [5]]],
    ["i,j->ij", [[2], [3]]],
    ["i,j->ji", [[2], [3]]],
    ["ijk,jkl->il", [[2, 3, 4], [3, 4, 2]]],
    ["ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]]],
    ["ab,bc,ca->", [[2, 3], [3, 4], [4, 2]]],
    ["ij,ij->i", [[3, 4], [3, 4]]],
    ["ij,i->j", [[3, 4], [3]]],
    ["bi,bj,bk->bijk", [[2, 2], [2, 3], [2, 2]]],
    ["ii,ij->j", [[3, 3], [3, 2]]],
    ["iAj,jB->BAi", [[2, 3, 4], [4, 2]]],
    ["aBc", [[2, 3, 2]]],
    ["ijk,ik->j", [[2, 3, 4], [2, 4]]],
  ];
  for (const [spec, shapes] of cases) {
    const xs = shapes.map((s) => randnT(r, s));
    const y = einsum(spec, ...xs);
    const want = einsumLoop(spec, ...xs);
    assertClose(y, want, { rtol: 1e-12, atol: 1e-12 }, spec);
    assertClose(y.data().length, want.length, {}, `${spec} size`);
  }
});

Deno.test("einsum: implicit output sorts uppercase first, drops repeated", () => {
  const r = new Rng(2);
  const x = randnT(r, [2, 3, 4]);
  assertShape(einsum("bAa", x), [3, 4, 2], "bAa");
  assertShape(einsum("ij,jk", randnT(r, [2, 3]), randnT(r, [3, 5])), [2, 5]);
  assertShape(
    einsum("i j , j k -> k i", randnT(r, [2, 3]), randnT(r, [3, 5])),
    [
      5,
      2,
    ],
  );
});

Deno.test("einsum: ellipsis broadcasts and leads the implicit output", () => {
  const r = new Rng(3);
  const a = randnT(r, [2, 1, 3, 4]), b = randnT(r, [5, 4, 2]);
  const y = einsum("...ij,...jk->...ik", a, b);
  assertShape(y, [2, 5, 3, 2], "batched matmul");
  assertClose(y, a.matmul(b), { rtol: 1e-12, atol: 1e-12 });
  const x = randnT(r, [2, 3, 3]);
  assertShape(einsum("...ii->...i", x), [2, 3]);
  assertClose(
    einsum("...ii->...i", x),
    [0, 1].flatMap((n) => [0, 1, 2].map((i) => x.data()[n * 9 + i * 4])),
  );
  // Implicit: ellipsis dims first, then the letters.
  assertShape(einsum("i...j", randnT(r, [2, 3, 4, 5])), [3, 4, 2, 5]);
  // Ellipsis not in an explicit output is summed.
  assertClose(einsum("...i->i", x.reshape([6, 3])), x.reshape([6, 3]).sum(0));
  // An empty ellipsis and a scalar operand.
  assertClose(
    einsum("...,...->...", tensor(2, { dtype: "float64" }), x),
    x.mul(2),
  );
});

Deno.test("einsum: size-1 dims broadcast against the same letter", () => {
  const r = new Rng(4);
  const a = randnT(r, [3, 1]), b = randnT(r, [4, 5]);
  // j is 1 in a and 4 in b: a[i, 0] * sum_j b[j, k].
  assertClose(einsum("ij,jk->ik", a, b), a.mul(b.sum(0, true)), {
    rtol: 1e-12,
  });
  const c = randnT(r, [1, 3, 2]), d = randnT(r, [4, 2, 2]);
  assertClose(einsum("bij,bjk->bik", c, d), c.matmul(d), { rtol: 1e-12 });
});

Deno.test("einsum: gradients are the closed forms", () => {
  const r = new Rng(5);
  const A = randnT(r, [3, 4]), B = randnT(r, [4, 2]);
  // d/dA sum(A @ B) = ones @ B^T.
  const g = grad((a: Tensor) => einsum("ij,jk->", a, B))(A);
  assertClose(g, B.sum(1).reshape([1, 4]).expand([3, 4]), { rtol: 1e-12 });
  // d/dM trace(M) = I.
  const M = randnT(r, [3, 3]);
  const gt = grad((m: Tensor) => einsum("ii", m))(M);
  assertClose(gt, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

Deno.test("einsum: errors name the subscripts and shapes", () => {
  const r = new Rng(6);
  const a = randnT(r, [2, 3]), b = randnT(r, [4, 5]);
  assertThrowsWith(() => einsum("ij,jk->ik", a), RangeError, "2 operand(s)");
  assertThrowsWith(() => einsum("ij,jk->ik", a, b), RangeError, '"j"', "3");
  assertThrowsWith(() => einsum("ijk", a), RangeError, "[2, 3]", "3 dim");
  assertThrowsWith(() => einsum("i", a), RangeError, "[2, 3]");
  assertThrowsWith(() => einsum("ij->ix", a), RangeError, '"x"');
  assertThrowsWith(() => einsum("ij->ii", a), RangeError, "more than once");
  assertThrowsWith(() => einsum("i1", a), SyntaxError, '"1"');
  assertThrowsWith(() => einsum("..i..", a), SyntaxError, '"."');
  assertThrowsWith(() => einsum("ii", a), RangeError, '"i" has size 2', "3");
});

Deno.test("tensordot matches the loop for an integer and for dim lists", () => {
  const r = new Rng(7);
  const a = randnT(r, [3, 4, 5]), b = randnT(r, [4, 5, 2]);
  assertClose(tensordot(a, b, 2), einsumLoop("ijk,jkl->il", a, b), {
    rtol: 1e-12,
    atol: 1e-12,
  });
  assertShape(tensordot(a, b, 2), [3, 2]);
  const c = randnT(r, [5, 3]);
  const y = tensordot(a, c, [[0, 2], [1, 0]]);
  assertClose(y, einsumLoop("ijk,ki->j", a, c), { rtol: 1e-12, atol: 1e-12 });
  assertShape(tensordot(a, c, [[-1], [0]]), [3, 4, 3]);
  // dims 0 is the outer product.
  const u = randnT(r, [2]), v = randnT(r, [3]);
  assertClose(tensordot(u, v, 0), einsumLoop("i,j->ij", u, v));
  assertThrowsWith(() => tensordot(a, b, 4), RangeError, "[0, 3]");
  assertThrowsWith(() => tensordot(a, b, 3), RangeError, "size 3", "size 4");
  assertThrowsWith(
    () => tensordot(a, c, [[0], [0]]),
    RangeError,
    "size 3",
    "size 5",
  );
  assertThrowsWith(() => tensordot(a, c, [[0, 1], [0]]), TypeError, "equal");
  assertThrowsWith(
    () => tensordot(a, c, [[0, 0], [0, 1]]),
    RangeError,
    "repeat",
  );
});

Deno.test("kron matches the block definition, padding ranks", () => {
  const r = new Rng(8);
  const a = randnT(r, [2, 3]), b = randnT(r, [4, 2]);
  const k = kron(a, b);
  assertShape(k, [8, 6]);
  const ad = a.data(), bd = b.data(), kd = k.data();
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      for (let p = 0; p < 4; p++) {
        for (let q = 0; q < 2; q++) {
          const want = ad[i * 3 + j] * bd[p * 2 + q];
          const got = kd[(i * 4 + p) * 6 + j * 2 + q];
          if (got !== want) throw new Error(`kron at ${[i, j, p, q]}`);
        }
      }
    }
  }
  // A vector against a matrix: the vector is [1, n].
  const v = tensor([1, 2], { dtype: "float64" });
  const m = tensor([[1, 0], [0, 1]], { dtype: "float64" });
  assertClose(kron(v, m), [1, 0, 2, 0, 0, 1, 0, 2]);
  assertShape(kron(v, m), [2, 4]);
  assertShape(a.kron(randnT(r, [2, 1, 1])), [2, 2, 3]);
});

Deno.test("logical operations: nonzero (and NaN) is true, the result is bool", () => {
  const a = tensor([0, 1, 2, NaN, 0, -3], { dtype: "float64" });
  const b = tensor([0, 0, 5, 1, 1, -1], { dtype: "float64" });
  assertClose(logicalAnd(a, b), [0, 0, 1, 1, 0, 1]);
  assertClose(logicalOr(a, b), [0, 1, 1, 1, 1, 1]);
  assertClose(logicalXor(a, b), [0, 1, 0, 0, 1, 0]);
  assertClose(logicalNot(a), [1, 0, 0, 0, 1, 0]);
  if (logicalAnd(a, b).dtype !== "bool") throw new Error("dtype");
  if (logicalNot(tensor([0, 1])).dtype !== "bool") throw new Error("dtype");
  // Broadcasting and numbers.
  assertShape(logicalOr(a.reshape([6, 1]), b), [6, 6]);
  assertClose(a.logicalAnd(1), [0, 1, 1, 1, 0, 1]);
  assertClose(a.logicalXor(b).logicalNot(), [1, 0, 1, 1, 0, 1]);
});

Deno.test("any and all over dims, keepdim, and empty reductions", () => {
  const x = tensor([[0, 0, 0], [0, 2, 0], [1, -1, NaN]], { dtype: "float64" });
  assertClose(any(x), 1);
  assertClose(all(x), 0);
  assertClose(any(x, 1), [0, 1, 1]);
  assertClose(all(x, 1), [0, 0, 1]);
  assertClose(all(x, 0), [0, 0, 0]);
  assertShape(x.any(0, true), [1, 3]);
  assertClose(x.any(0, true), [1, 1, 1]);
  assertClose(x.all([0, 1]), 0);
  const empty = tensor([], { dtype: "float64" });
  assertClose(any(empty), 0);
  assertClose(all(empty), 1);
  for (const y of [any(x), all(x, 1), x.any(0, true), any(empty)]) {
    if (y.dtype !== "bool") throw new Error(`dtype ${y.dtype}`);
  }
});

Deno.test("maskedFill: values, broadcasting masks, gradients, errors", () => {
  const r = new Rng(9);
  const x = randnT(r, [3, 4]);
  const mask = tensor([[1], [0], [1]], { dtype: "float64" });
  const y = maskedFill(x, mask, -Infinity);
  const xd = x.data(), yd = y.data();
  for (let i = 0; i < 12; i++) {
    const want = Math.floor(i / 4) !== 1 ? -Infinity : xd[i];
    if (yd[i] !== want) throw new Error(`maskedFill at ${i}`);
  }
  const g = grad((t: Tensor) => maskedFill(t, mask, 2).sum())(x);
  assertClose(g, [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
  const gv = grad((v: Tensor) => x.maskedFill(mask, v).sum())(
    tensor(0.5, { dtype: "float64" }),
  );
  assertClose(gv, 8);
  assertThrowsWith(
    () => maskedFill(x, randnT(r, [2, 3, 4]), 0),
    RangeError,
    "[2, 3, 4]",
    "[3, 4]",
  );
  assertThrowsWith(
    () => maskedFill(x, mask, randnT(r, [2])),
    RangeError,
    "0-dim",
  );
});

const runningLoop = (
  x: Tensor,
  f: (acc: number, v: number) => number,
): number[] => {
  // Along the last dim of a [rows, n] tensor.
  const [rows, n] = x.shape, d = x.data(), out: number[] = [];
  for (let i = 0; i < rows; i++) {
    let acc = d[i * n];
    out.push(acc);
    for (let j = 1; j < n; j++) out.push(acc = f(acc, d[i * n + j]));
  }
  return out;
};

Deno.test("cumsum matches the loop, across block sizes and dims", () => {
  const r = new Rng(10);
  for (const n of [1, 2, 7, 64, 65, 200, 4097]) {
    const x = randnT(r, [2, n]);
    assertClose(cumsum(x, 1), runningLoop(x, (a, v) => a + v), {
      rtol: 1e-11,
      atol: 1e-11,
    }, `n=${n}`);
  }
  const x = randnT(r, [5, 3]);
  const want = runningLoop(x.transpose(), (a, v) => a + v);
  assertClose(cumsum(x, 0).transpose(), want, { rtol: 1e-12, atol: 1e-12 });
  assertClose(x.cumsum(-2), cumsum(x, 0));
  assertClose(cumsum(tensor(3, { dtype: "float64" }), 0), 3);
  assertShape(cumsum(randnT(r, [2, 0, 3]), 1), [2, 0, 3]);
  assertThrowsWith(() => cumsum(x, 2), RangeError, "dim");
  // int32 (and bool, counted in int32) is exact, wrapping like add.
  const big = tensor([2 ** 30, 2 ** 30 - 1, 5, -7], { dtype: "int32" });
  const sums = cumsum(big, 0);
  if (sums.dtype !== "int32") throw new Error(`dtype ${sums.dtype}`);
  assertClose(sums, [2 ** 30, 2 ** 31 - 1, -(2 ** 31) + 4, 2 ** 31 - 3], {
    rtol: 0,
    atol: 0,
  });
  assertClose(cumsum(big.gt(0), 0), [1, 2, 3, 3], { rtol: 0, atol: 0 });
  assertThrowsWith(() => logcumsumexp(big, 0), TypeError, "int32");
});

Deno.test("cumprod is exact at zeros and matches the loop", () => {
  const r = new Rng(12);
  for (const n of [1, 3, 8, 33]) {
    const x = randnT(r, [2, n]);
    assertClose(cumprod(x, 1), runningLoop(x, (a, v) => a * v), {
      rtol: 1e-12,
      atol: 1e-300,
    });
  }
  const z = tensor([2, -3, 0, 5, 4], { dtype: "float64" });
  assertClose(cumprod(z, 0), [2, -6, 0, 0, 0]);
  // Gradient at a zero: d/dx_k sum_i prod_{j<=i} x_j, by the product rule.
  const g = grad((t: Tensor) => cumprod(t, 0).sum())(z);
  const zd = [2, -3, 0, 5, 4];
  const want = zd.map((_, k) => {
    let s = 0;
    for (let i = k; i < 5; i++) {
      let p = 1;
      for (let j = 0; j <= i; j++) if (j !== k) p *= zd[j];
      s += p;
    }
    return s;
  });
  assertClose(g, want);
});

Deno.test("logcumsumexp is stable and matches the loop", () => {
  const r = new Rng(13);
  const lae = (a: number, b: number) => {
    const m = Math.max(a, b);
    return m === -Infinity
      ? m
      : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
  };
  for (const n of [1, 5, 16, 37]) {
    const x = randnT(r, [3, n]);
    assertClose(logcumsumexp(x, 1), runningLoop(x, lae), {
      rtol: 1e-12,
      atol: 1e-12,
    });
  }
  const big = tensor([-1000, 0, 1000, 1000, -Infinity], { dtype: "float64" });
  assertClose(logcumsumexp(big, 0), [
    -1000,
    0,
    1000,
    1000 + Math.LN2,
    1000 + Math.LN2,
  ]);
  const allInf = tensor([-Infinity, -Infinity], { dtype: "float64" });
  assertClose(logcumsumexp(allInf, 0), [-Infinity, -Infinity]);
  // Gradient of the last entry is the softmax, finite at 1e4 scale.
  const x = tensor([1e4, 1e4, -1e4], { dtype: "float64" });
  const g = grad((t: Tensor) => t.logcumsumexp(0).select(0, 2))(x);
  assertClose(g, [0.5, 0.5, 0]);
});
