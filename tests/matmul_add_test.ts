// `x + a·b` in compiled programs: a small product whose one reader is an
// add of a value of its exact shape runs as one OP_MATMUL_ADD instruction
// (one pass for the small paths) with the bits of the product then the
// add; larger ones keep the block epilogue; broadcasting adds stay apart.
import assert from "node:assert/strict";
import { grad, jit, matmul, scan, type Tensor, tensor } from "../mod.ts";
import { assertSameBits } from "./_helpers.ts";
import { optimize } from "../src/jit/execute.ts";
import { stage } from "../src/jit/make_program.ts";
import { planStats, runPlan, wasmPlan } from "../src/jit/wasm_plan.ts";
import { OP } from "../src/backend/wasm/program_codes.ts";

type F = (...xs: Tensor[]) => Tensor;

/** Deterministic entries of `shape` (no random state). */
function randn(
  shape: number[],
  { dtype = "float32", seed = 0 }: {
    dtype?: "float32" | "float64";
    seed?: number;
  } = {},
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + seed * 0.9));
  return tensor(v, { dtype }).reshape(shape);
}

function plan(f: F, args: Tensor[], fuse = true) {
  const { program } = stage("test", f, args);
  return wasmPlan(optimize(program, fuse));
}

const count = (ops: number[], op: number) => ops.filter((o) => o === op).length;

for (const dtype of ["float32", "float64"] as const) {
  const r = (shape: number[], seed: number) =>
    randn(shape, { dtype, seed }).mul(0.5);
  const cases: [string, F, Tensor[]][] = [
    ["outer product", (x, h, d) => x.add(matmul(h, d, true)), [
      r([16, 16], 1),
      r([16, 1], 2),
      r([16, 1], 3),
    ]],
    ["matrix-vector, addend first", (x, A, v) => matmul(A, v).add(x), [
      r([7], 1),
      r([7, 5], 2),
      r([5], 3),
    ]],
    ["small product, transposed", (x, a, b) => x.add(matmul(a.T, b)), [
      r([3, 9], 1),
      r([4, 3], 2),
      r([4, 9], 3),
    ]],
    ["batched", (x, a, b) => x.add(matmul(a, b)), [
      r([2, 5, 6], 1),
      r([2, 5, 3], 2),
      r([2, 3, 6], 3),
    ]],
  ];
  for (const [name, f, args] of cases) {
    Deno.test(`matmul add (${dtype}): ${name} is one instruction with the bits of product then add`, () => {
      const fused = plan(f, args), plain = plan(f, args, false);
      const ops = planStats(fused).opcodes;
      assert.equal(count(ops, OP.matmulAdd), 1, "one OP_MATMUL_ADD");
      assert.equal(count(ops, OP.matmul), 0, "no plain matmul");
      assert.equal(count(ops, OP.binary), 0, "no separate add");
      for (let call = 0; call < 2; call++) {
        assertSameBits(runPlan(fused, args)[0], runPlan(plain, args)[0], name);
      }
      assertSameBits(runPlan(fused, args)[0], f(...args), `${name} vs eager`);
    });
  }
}

Deno.test("matmul add: a broadcasting add, a product read twice and a large product are not turned into it", () => {
  const a = randn([6, 4], { seed: 1 }), b = randn([4, 5], { seed: 2 });
  const row = randn([5], { seed: 3 }), x = randn([6, 5], { seed: 4 });
  const ops = (f: F, args: Tensor[]) => planStats(plan(f, args)).opcodes;
  assert.equal(
    count(ops((a, b, r) => matmul(a, b).add(r), [a, b, row]), OP.matmulAdd),
    0,
    "the addend broadcasts",
  );
  // The product broadcast by an addend of the result's shape: [1,5] + [6,5]
  // (a product writing 30 elements into its 5 would corrupt memory).
  const one = randn([1, 4], { seed: 5 });
  for (
    const f of [
      (o: Tensor, b: Tensor, x: Tensor) => matmul(o, b).add(x),
      (o: Tensor, b: Tensor, x: Tensor) => x.add(matmul(o, b)),
    ]
  ) {
    assert.equal(count(ops(f, [one, b, x]), OP.matmulAdd), 0, "[1,5] + [6,5]");
    assertSameBits(jit(f)(one, b, x), f(one, b, x), "broadcast product");
  }
  const twice = (a: Tensor, b: Tensor, x: Tensor) => {
    const p = matmul(a, b);
    return p.add(x).mul(p);
  };
  assert.equal(count(ops(twice, [a, b, x]), OP.matmulAdd), 0, "read twice");
  const big = [randn([64, 32]), randn([32, 64]), randn([64, 64])];
  const o = ops((a, b, x) => x.add(matmul(a, b)), big);
  assert.equal(count(o, OP.matmulAdd), 0, "large: the block epilogue");
  assert.equal(count(o, OP.matmulFused), 1);
});

Deno.test("matmul add: the gradient of a scan accumulates its weights' cotangent in one instruction per step", () => {
  const f = (A: Tensor, x0: Tensor) =>
    scan(
      (x: Tensor) => [x.add(matmul(A, x).tanh().mul(0.01)), null] as const,
      x0,
      null,
      { length: 30 },
    )[0].sum();
  const g = grad(f) as F;
  const A = randn([16, 16], { seed: 5 }).mul(0.25),
    x0 = randn([16], { seed: 6 });
  const p = plan(g, [A, x0]);
  assert.ok(count(planStats(p).opcodes, OP.matmulAdd) >= 1);
  assertSameBits(
    runPlan(p, [A, x0])[0],
    runPlan(plan(g, [A, x0], false), [A, x0])[0],
    "grad",
  );
  // Against a float64 loop of the same recurrence, by hand.
  const a = Array.from(A.data()), x = Array.from(x0.data());
  const xs: number[][] = [x];
  for (let t = 0; t < 30; t++) {
    const c = xs[t];
    xs.push(c.map((v, i) => {
      let s = 0;
      for (let j = 0; j < 16; j++) s += a[i * 16 + j] * c[j];
      return v + 0.01 * Math.tanh(s);
    }));
  }
  let ct = new Array(16).fill(1);
  const gA = new Array(256).fill(0);
  for (let t = 29; t >= 0; t--) {
    const c = xs[t];
    const s = c.map((_, i) => {
      let z = 0;
      for (let j = 0; j < 16; j++) z += a[i * 16 + j] * c[j];
      return z;
    });
    const h = s.map((z, i) => ct[i] * 0.01 * (1 - Math.tanh(z) ** 2));
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) gA[i * 16 + j] += h[i] * c[j];
    }
    ct = ct.map((v, j) => {
      let z = v;
      for (let i = 0; i < 16; i++) z += a[i * 16 + j] * h[i];
      return z;
    });
  }
  const got = runPlan(p, [A, x0])[0].data();
  gA.forEach((v, i) =>
    assert.ok(Math.abs(got[i] - v) < 1e-4 * (1 + Math.abs(v)), `dA[${i}]`)
  );
});
