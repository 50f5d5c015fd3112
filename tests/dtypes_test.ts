/**
 * Dtypes: the promotion table through every kind of op, int32 arithmetic
 * exact at large values, the bool dtype, transforms over promoted ops,
 * integer and bool inputs refused by the derivative transforms, and
 * setDefaultDtype.
 */
import assert from "node:assert/strict";
import {
  all,
  any,
  arange,
  cat,
  type DType,
  eq,
  eye,
  floorDivide,
  full,
  getDefaultDtype,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linspace,
  load,
  logicalAnd,
  logicalNot,
  logicalOr,
  logicalXor,
  lt,
  maskedFill,
  matmul,
  ones,
  promoteTypes,
  rand,
  randn,
  save,
  setDefaultDtype,
  type Tensor,
  tensor,
  vjp,
  vmap,
  where,
  zeros,
} from "../mod.ts";
import { assertClose, assertThrowsWith } from "./_helpers.ts";

const DTYPES: DType[] = ["bool", "int32", "float32", "float64"];
const ORDER: Record<DType, number> = {
  bool: 0,
  int32: 1,
  float32: 2,
  float64: 3,
};
const larger = (a: DType, b: DType) => (ORDER[a] >= ORDER[b] ? a : b);
/** Arithmetic computes bool in int32. */
const arith = (a: DType, b: DType) => {
  const d = larger(a, b);
  return d === "bool" ? "int32" : d;
};

/** Values every dtype holds exactly (bool: their truth). */
const A = [0, 1, 3, -2], B = [2, 0, 3, 5];
const make = (v: number[], dtype: DType) => tensor(v, { dtype });
const truth = (v: number[], d: DType) =>
  d === "bool" ? v.map((x) => x !== 0 ? 1 : 0) : v;

Deno.test("promotion table: every pair of dtypes through add, mul, where, matmul and the comparisons", () => {
  for (const da of DTYPES) {
    for (const db of DTYPES) {
      const a = make(A, da), b = make(B, db);
      const av = truth(A, da), bv = truth(B, db);
      const tag = `${da} × ${db}`;
      assert.deepEqual(promoteTypes(da, db), larger(da, db), tag);
      const sum = a.add(b), prod = a.mul(b);
      assert.deepEqual(sum.dtype, arith(da, db), `add ${tag}`);
      assert.deepEqual(prod.dtype, arith(da, db), `mul ${tag}`);
      assert.deepEqual(
        sum.toArray(),
        av.map((x, i) => x + bv[i]),
        `add ${tag}`,
      );
      assert.deepEqual(
        prod.toArray(),
        av.map((x, i) => x * bv[i]),
        `mul ${tag}`,
      );
      // where: the branches meet at the larger dtype; the mask is bool.
      const mask = make([1, 0, 1, 0], "bool");
      const w = where(mask, a, b);
      assert.deepEqual(w.dtype, larger(da, db), `where ${tag}`);
      assert.deepEqual(
        w.toArray(),
        [av[0], bv[1], av[2], bv[3]],
        `where ${tag}`,
      );
      // matmul: [1, 4] @ [4, 1].
      const m = matmul(a.reshape([1, 4]), b.reshape([4, 1]));
      assert.deepEqual(m.dtype, arith(da, db), `matmul ${tag}`);
      assert.deepEqual(
        m.item(),
        av.reduce((s, x, i) => s + x * bv[i], 0),
        `matmul ${tag}`,
      );
      // Comparisons give bool whatever the operands.
      for (
        const [name, f, ref] of [
          ["eq", eq, (x: number, y: number) => x === y],
          ["lt", lt, (x: number, y: number) => x < y],
        ] as const
      ) {
        const c = f(a, b);
        assert.deepEqual(c.dtype, "bool", `${name} ${tag}`);
        assert.deepEqual(
          c.toArray(),
          av.map((x, i) => (ref(x, bv[i]) ? 1 : 0)),
          `${name} ${tag}`,
        );
      }
      assert.deepEqual(cat([a, b]).dtype, larger(da, db), `cat ${tag}`);
    }
  }
});

Deno.test("plain numbers are weak: they take the tensor's dtype unless they do not fit its kind", () => {
  const cases: [DType, number, DType][] = [
    ["float32", 2, "float32"],
    ["float32", 2.5, "float32"],
    ["float64", 2, "float64"],
    ["int32", 2, "int32"],
    ["int32", 2.5, "float32"], // the default float dtype
    ["bool", 1, "int32"], // arithmetic on bool computes in int32
    ["bool", 0.5, "float32"],
  ];
  for (const [d, v, want] of cases) {
    const y = make([1, 0], d).add(v);
    assert.deepEqual(y.dtype, want, `${d} + ${v}`);
    assertClose(y.to("float64"), truth([1, 0], d).map((x) => x + v));
  }
  // Comparisons with numbers keep the tensor's dtype for the comparison.
  const big = tensor([2 ** 30 + 1], { dtype: "int32" });
  assert.deepEqual(big.gt(2 ** 30).toArray(), [1]); // float32 would say equal
  assert.deepEqual(tensor([1, 0], { dtype: "bool" }).eq(1).toArray(), [1, 0]);
  // Two numbers: the default float dtype.
  assert.deepEqual(
    where(tensor([1], { dtype: "bool" }), 1, 0).dtype,
    "float32",
  );
  // An integer too large for int32 next to an int32 tensor is refused.
  assertThrowsWith(
    () => big.add(2 ** 31),
    RangeError,
    "add: the number 2147483648 next to an int32 tensor is not an int32",
  );
});

Deno.test("float-only ops compute int32 and bool in the default float dtype", () => {
  const i = tensor([1, 2, 4], { dtype: "int32" });
  assert.deepEqual(i.div(2).dtype, "float32");
  assertClose(i.div(2), [0.5, 1, 2]);
  assert.deepEqual(i.exp().dtype, "float32");
  assert.deepEqual(i.sqrt().toArray(), [1, Math.SQRT2, 2].map(Math.fround));
  assert.deepEqual(i.mean().dtype, "float32");
  assertClose(i.mean(), 7 / 3, { rtol: 1e-7 });
  assert.deepEqual(i.pow(2).dtype, "float32");
  assert.deepEqual(i.to("float64").div(i).dtype, "float64");
  // neg, abs, sign and the roundings keep int32 (bool computes in int32).
  for (const y of [i.neg(), i.abs(), i.sign(), i.floor(), i.square()]) {
    assert.deepEqual(y.dtype, "int32");
  }
  assert.deepEqual(i.gt(1).neg().toArray(), [0, -1, -1]);
});

Deno.test("int32 arithmetic is exact at 2^30 and wraps on overflow, as PyTorch", () => {
  const big = 2 ** 30;
  const x = tensor([big, big + 1, -big, 3], { dtype: "int32" });
  const y = tensor([big - 1, 7, -big, -2], { dtype: "int32" });
  // float32 cannot hold 2^30 + 1; float64 through a saturating cast would
  // clamp the overflow instead of wrapping.
  assert.deepEqual(x.add(y).toArray(), [2 ** 31 - 1, big + 8, -(2 ** 31), 1]);
  assert.deepEqual(x.sub(y).toArray(), [1, big - 6, 0, 5]);
  assert.deepEqual(x.mul(y).toArray(), [
    Number(BigInt.asIntN(32, BigInt(big) * BigInt(big - 1))),
    Number(BigInt.asIntN(32, BigInt(big + 1) * 7n)),
    0, // 2^60 wraps to 0
    -6,
  ]);
  assert.deepEqual(
    tensor([46340], { dtype: "int32" }).square().item(),
    46340 ** 2,
  );
  assert.deepEqual(x.neg().toArray(), [-big, -big - 1, big, -3]);
  assert.deepEqual(x.abs().toArray(), [big, big + 1, big, 3]);
  assert.deepEqual(x.maximum(y).toArray(), [big, big + 1, -big, 3]);
  assert.deepEqual(x.minimum(y).toArray(), [big - 1, 7, -big, -2]);
  // Reductions: exact where float32 would round (2^30 + 1 + 2^30 - 1).
  // 2^31 wraps to -2^31, as the elementwise add does.
  assert.deepEqual(
    tensor([big + 1, big - 1], { dtype: "int32" }).sum().item(),
    -(2 ** 31),
  );
  assert.deepEqual(
    tensor([big + 1, -big, 5], { dtype: "int32" }).sum().item(),
    6,
  );
  assert.deepEqual(x.max().item(), big + 1);
  assert.deepEqual(x.min().item(), -big);
  assert.deepEqual(x.argmax().item(), 1); // big + 1 beats big
  assert.deepEqual(x.argmin().item(), 2);
  assert.deepEqual(tensor([3, -5, 7], { dtype: "int32" }).prod().item(), -105);
  assert.deepEqual(x.sum(0, true).dtype, "int32");
  // Comparisons at 2^30: exact.
  assert.deepEqual(x.gt(tensor(big, { dtype: "int32" })).toArray(), [
    0,
    1,
    0,
    0,
  ]);
  assert.deepEqual(x.eq(y.add(1)).toArray(), [1, 0, 0, 0]);
  // int32 matmul wraps like the elementwise product.
  const m = matmul(
    tensor([[big, 1]], { dtype: "int32" }),
    tensor([[3], [big]], { dtype: "int32" }),
  );
  assert.deepEqual(m.item(), Number(BigInt.asIntN(32, BigInt(big) * 4n)));
});

Deno.test("int32 floor division and remainder follow PyTorch (floor, the divisor's sign); division by zero throws", () => {
  const a = tensor([7, -7, 7, -7, 2 ** 31 - 1, -(2 ** 31)], { dtype: "int32" });
  const b = tensor([2, 2, -2, -2, 3, 7], { dtype: "int32" });
  const q = floorDivide(a, b), r = a.remainder(b);
  assert.deepEqual(q.dtype, "int32");
  const av = a.toArray() as number[], bv = b.toArray() as number[];
  assert.deepEqual(q.toArray(), av.map((x, i) => Math.floor(x / bv[i])));
  assert.deepEqual(r.toArray(), [1, 1, -1, -1, 1, 5]);
  // a = b·q + r exactly.
  assert.deepEqual(
    b.to("float64").mul(q.to("float64")).add(r.to("float64")).toArray(),
    av,
  );
  assert.deepEqual(a.fmod(b).toArray(), [1, -1, 1, -1, 1, -2]);
  // True division of ints is a float.
  assert.deepEqual(a.div(b).dtype, "float32");
  for (const run of [() => a.remainder(0), () => floorDivide(a, 0)]) {
    assertThrowsWith(run, Error, "integer division by zero");
  }
  // Floats: floor(a / b).
  assertClose(floorDivide(tensor([7.5, -7.5]), 2), [3, -4]);
  // Under jit, the same integer kernels.
  assert.deepEqual(
    jit((u: Tensor, v: Tensor) => floorDivide(u, v))(a, b).toArray(),
    q.toArray(),
  );
});

Deno.test("bool: what comparisons, isnan/isfinite, logical ops and any/all return; masks; counts", () => {
  const x = tensor([1, NaN, -2, Infinity]);
  for (
    const m of [x.gt(0), x.isnan(), x.isfinite(), logicalNot(x), any(x), all(x)]
  ) {
    assert.deepEqual(m.dtype, "bool");
  }
  assert.deepEqual(x.gt(0).toArray(), [1, 0, 0, 1]); // toArray gives 1 and 0
  assert.deepEqual(x.isnan().toArray(), [0, 1, 0, 0]);
  assert.deepEqual(x.isfinite().toArray(), [1, 0, 1, 0]);
  assert.deepEqual(
    String(x.gt(0)),
    "tensor([ true, false, false,  true], dtype=bool)",
  );
  assert(x.gt(0).data() instanceof Int32Array);
  const p = tensor([true, false, true, false]),
    q = tensor([true, true, false, false]);
  assert.deepEqual(p.dtype, "bool");
  assert.deepEqual(logicalAnd(p, q).toArray(), [1, 0, 0, 0]);
  assert.deepEqual(logicalOr(p, q).toArray(), [1, 1, 1, 0]);
  assert.deepEqual(logicalXor(p, q).toArray(), [0, 1, 1, 0]);
  assert.deepEqual(logicalNot(p).toArray(), [0, 1, 0, 1]);
  assert.deepEqual(any(p).item(), 1);
  assert.deepEqual(all(p).item(), 0);
  // to("bool") is != 0 (NaN is true); bool to numbers is 1/0.
  assert.deepEqual(x.to("bool").toArray(), [1, 1, 1, 1]);
  assert.deepEqual(tensor([0, -0, 2]).to("bool").toArray(), [0, 0, 1]);
  assert.deepEqual(p.to("float64").toArray(), [1, 0, 1, 0]);
  // sum of bool is an int32 count; mean is a float fraction.
  const c = x.gt(0).sum();
  assert.deepEqual(c.dtype, "int32");
  assert.deepEqual(c.item(), 2);
  assert.deepEqual(p.sum(0, true).toArray(), [2]);
  assertClose(p.mean(), 0.5);
  assert.deepEqual(p.max().dtype, "bool");
  // where and maskedFill take bool masks; maskedFill keeps x's dtype.
  const y = tensor([[1, 2], [3, 4]], { dtype: "float64" });
  const w = where(y.gt(2), y, 0);
  assert.deepEqual(w.dtype, "float64");
  assert.deepEqual(w.toArray(), [[0, 0], [3, 4]]);
  const f = maskedFill(y, tensor([true, false]), -1);
  assert.deepEqual(f.toArray(), [[-1, 2], [-1, 4]]);
  assert.deepEqual(
    maskedFill(y, tensor([true, false]), tensor(7)).dtype,
    "float64",
  );
  // A float mask still works (nonzero is true).
  assert.deepEqual(where(tensor([0, 2]), 1, 5).toArray(), [5, 1]);
  // Saved as safetensors BOOL (one byte each) and loaded back as bool.
  const back = load(save({ m: p })) as { m: Tensor };
  assert.deepEqual(back.m.dtype, "bool");
  assert.deepEqual(back.m.toArray(), [1, 0, 1, 0]);
  assert.deepEqual(zeros([2], { dtype: "bool" }).toArray(), [0, 0]);
  assert.deepEqual(full([2], 5, { dtype: "bool" }).toArray(), [1, 1]);
});

Deno.test("transforms over promoted ops: vjp gives each input's dtype, jvp, vmap, jit twice", () => {
  const x = tensor([0.5, -1, 2]),
    y = tensor([1.5, 2, -0.25], { dtype: "float64" });
  const k = tensor([2, -3, 5], { dtype: "int32" });
  const f = (a: Tensor, b: Tensor) => a.mul(b).add(a.sin()).mul(k).sum();
  const [out, back] = vjp(f, x, y);
  assert.deepEqual(out.dtype, "float64");
  const [gx, gy] = back(tensor(1, { dtype: "float64" }));
  assert.deepEqual([gx.dtype, gy.dtype], ["float32", "float64"]);
  const xv = x.to("float64");
  // d/da = k (b + cos a), d/db = k a.
  assertClose(gx.to("float64"), k.mul(y.add(xv.cos())), { rtol: 1e-6 });
  assertClose(gy, k.mul(xv), { rtol: 1e-12 });
  const [ga, gb] = grad(f, { argnums: [0, 1] })(x, y);
  assert.deepEqual([ga.dtype, gb.dtype], ["float32", "float64"]);
  // jvp: tangents in each input's dtype, the output tangent in float64.
  const [, t] = jvp(f, [x, y], [ones([3]), ones([3], { dtype: "float64" })]);
  assert.deepEqual(t.dtype, "float64");
  assertClose(t, gx.to("float64").sum().add(gy.sum()), { rtol: 1e-6 });
  // vmap of a promoted op against a loop.
  const X = tensor([[1, 2, 3], [4, 5, 6]]);
  const g = (r: Tensor) => r.mul(y).add(k).gt(3).to("float64").mul(r);
  const V = vmap(g)(X);
  assert.deepEqual(V.dtype, "float64");
  assertClose(V, cat([g(X.select(0, 0)), g(X.select(0, 1))]).reshape([2, 3]));
  // jit, called twice (the second time with new values), equals eager.
  const jf = jit(f);
  for (const s of [1, -2]) {
    const xs = x.mul(s);
    assertClose(jf(xs, y), f(xs, y), { rtol: 1e-12 });
  }
  // jit of int32 work stays exact.
  const ji = jit((u: Tensor) => u.mul(u).add(u).sum());
  const big = tensor([2 ** 15, 2 ** 14 + 1], { dtype: "int32" });
  const want = 2 ** 30 + (2 ** 14 + 1) ** 2 + 2 ** 15 + 2 ** 14 + 1; // < 2^31
  for (let r = 0; r < 2; r++) assert.deepEqual(ji(big).item(), want);
  // A Hessian through float64 work: in x's dtype (the gradient's, as JAX).
  const H = hessian((a: Tensor) => a.mul(y).square().sum())(x);
  assert.deepEqual(H.dtype, "float32");
  assertClose(
    H.to("float64"),
    eye(3, { dtype: "float64" }).mul(y.square().mul(2)),
    {
      rtol: 1e-6,
    },
  );
  // The transpose of a cast is a cast back: grad through .to("float64").
  const gc = grad((a: Tensor) => a.to("float64").mul(y).sum())(x);
  assert.deepEqual(gc.dtype, "float32");
  assertClose(gc, y.to("float32"));
});

Deno.test("derivatives with respect to int32 or bool inputs are a TypeError naming the argument", () => {
  const x = tensor([1, 2]);
  const i = tensor([1, 2], { dtype: "int32" }), b = i.gt(1);
  const id = (a: Tensor) => a.sum();
  const runs: [string, () => unknown, string][] = [
    ["grad", () => grad(id)(i), "argument 0 is an int32 tensor of shape [2]"],
    ["grad", () => grad(id)(b), "argument 0 is a bool tensor of shape [2]"],
    ["jacrev", () => jacrev(id)(i), "argument 0 is an int32"],
    ["jacfwd", () => jacfwd(id)(b), "argument 0 is a bool"],
    ["vjp", () => vjp(id, i), "argument 0 is an int32"],
    ["jvp", () => jvp(id, [i], [i]), "argument 0 is an int32"],
    ["hessian", () => hessian(id)(i), "argument 0 is an int32"],
    [
      "grad",
      () =>
        grad((a: Tensor, c: Tensor) => a.mul(c).sum(), { argnums: 1 })(x, i),
      "argument 1 is an int32",
    ],
    [
      "grad",
      () => grad((t: Tensor[]) => t[0].sum())([x, i]),
      "argument 0 (leaf 1 of its tree) is an int32",
    ],
  ];
  for (const [what, run, msg] of runs) {
    assertThrowsWith(
      run,
      TypeError,
      `${what}: ${msg}`,
      "cannot be differentiated",
    );
  }
  // Integer arguments that are not differentiated are fine.
  const g = grad((a: Tensor, c: Tensor) => a.mul(c).sum())(x, i);
  assert.deepEqual(g.toArray(), [1, 2]);
  // So are integer and bool values inside: their derivative is zero.
  const h = grad((a: Tensor) => where(a.gt(1.5), a.square(), a).sum())(x);
  assert.deepEqual(h.toArray(), [1, 4]);
  // A bool or int32 output has no reverse-mode derivative.
  assertThrowsWith(
    () => jacrev((a: Tensor) => a.gt(1))(x),
    TypeError,
    "jacrev: output 0 is a bool tensor",
  );
});

Deno.test("setDefaultDtype: tensors from numbers, creation functions, number-only ops and int promotion", () => {
  assert.deepEqual(getDefaultDtype(), "float32");
  setDefaultDtype("float64");
  try {
    assert.deepEqual(getDefaultDtype(), "float64");
    const made = [
      tensor([1, 2]),
      tensor(3),
      zeros([2]),
      ones([2]),
      full([2], 0.1),
      eye(2),
      arange(0, 1, 0.25),
      arange(3),
      linspace(0, 1, 3),
      randn([2]),
      rand([2]),
      where(tensor([true]), 1, 0),
      tensor([1, 2], { dtype: "int32" }).div(2),
      tensor([1, 2], { dtype: "int32" }).exp(),
    ];
    for (const t of made) assert.deepEqual(t.dtype, "float64");
    assert.deepEqual(full([1], 0.1).item(), 0.1); // not rounded to float32
    // An explicit dtype still wins, and float32 tensors stay float32.
    assert.deepEqual(zeros([2], { dtype: "float32" }).dtype, "float32");
    assert.deepEqual(
      zeros([2], { dtype: "float32" }).add(1.5).dtype,
      "float32",
    );
  } finally {
    setDefaultDtype("float32");
  }
  assert.deepEqual(tensor([1]).dtype, "float32");
  assertThrowsWith(
    () => setDefaultDtype("int32" as "float32"),
    TypeError,
    'setDefaultDtype: dtype must be "float32" or "float64", got "int32"',
  );
});
