// Reductions fused with their producers (src/jit/fusion.ts, OP_FUSED_REDUCE
// in crates/kernels/src/program/fused.rs): a sum, prod, max or min over the
// trailing axes of an elementwise chain runs in the chain's pass, gives
// exactly the unfused and eager values (f32 and f64, on every call, under
// grad and vmap), and shows as `# fused#k reduce` in makeProgram.
import assert from "node:assert/strict";
import {
  grad,
  jit,
  logsumexp,
  makeProgram,
  randn,
  type Tensor,
  vmap,
} from "../mod.ts";
import { assertSameBits } from "./_helpers.ts";
import { optimize } from "../src/jit/execute.ts";
import {
  fusionGroups,
  MAX_REDUCE_BLOCK,
  reduceBlock,
} from "../src/jit/fusion.ts";
import { stage } from "../src/jit/make_program.ts";
import { planStats, wasmPlan } from "../src/jit/wasm_plan.ts";
import { OP } from "../src/backend/wasm/program_codes.ts";

type F = (...xs: Tensor[]) => Tensor | Tensor[];
const list = (r: Tensor | Tensor[]) => (Array.isArray(r) ? r : [r]);

function stats(f: F, args: Tensor[], fuse = true) {
  const { program } = stage("test", f, args);
  return planStats(wasmPlan(optimize(program, fuse)));
}

/**
 * f jitted fused, jitted unfused and eager agree bit for bit, on two
 * calls; returns how many fused reductions the program has.
 */
function check(f: F, args: Tensor[], what: string): number {
  const fused = jit(f), plain = jit(f, { fuse: false });
  for (let call = 0; call < 2; call++) {
    const want = list(f(...args));
    const a = list(fused(...args)), b = list(plain(...args));
    want.forEach((w, i) => {
      assertSameBits(
        a[i],
        w,
        `${what}: call ${call} output ${i}, fused vs eager`,
      );
      assertSameBits(
        b[i],
        w,
        `${what}: call ${call} output ${i}, unfused vs eager`,
      );
    });
  }
  const { program } = stage("test", f, args);
  const groups = fusionGroups(optimize(program).program);
  const n = groups.reduce((k, g) => k + g.reduces.size, 0);
  const ops = stats(f, args).opcodes;
  assert.equal(
    ops.filter((o) => o === OP.fusedReduce).length,
    groups.filter((g) => g.reduces.size > 0).length,
    `${what}: one OP_FUSED_REDUCE per group with reductions`,
  );
  return n;
}

for (const dtype of ["float32", "float64"] as const) {
  const opts = { dtype };

  Deno.test("fused reduce: a reader of one reduction closes the group before the next", () => {
    // j = Σ(f + c)² and l = Σ(f + c) reduce one group's value, and k reads j
    // between them: the group (which runs at its last member) stopped at j,
    // or k would read j before it was computed.
    const f = (d: Tensor, c: Tensor) => {
      const s = d.sum();
      const h = s.add(c);
      const k = s.square().add(h.square().sum());
      return k.add(h.sum().square());
    };
    for (const dtype of ["float32", "float64"] as const) {
      const args = [randn([40], { dtype }), randn([33, 40], { dtype })];
      check(f, args, dtype);
      check(grad(f, { argnums: [0, 1] }) as F, args, `grad ${dtype}`);
    }
  });

  Deno.test(`fused reduce (${dtype}): sum, max, min, prod over the last axis of a chain`, () => {
    // 37 rows of 300: blocks of whole rows that are not powers of two.
    const x = randn([37, 300], opts);
    const chain = (x: Tensor) => x.mul(1.5).tanh().square();
    assert.equal(check((x) => chain(x).sum(1), [x], "sum"), 1);
    assert.equal(check((x) => chain(x).max(-1), [x], "max"), 1);
    assert.equal(check((x) => chain(x).neg().min(1), [x], "min"), 1);
    assert.equal(
      check((x) => chain(x).mul(0.01).add(1).prod(1), [x], "prod"),
      1,
    );
  });

  Deno.test(`fused reduce (${dtype}): over all axes, the last two, and mean`, () => {
    const x = randn([3, 5, 140], opts), y = randn([3, 5, 140], opts);
    const dot = (x: Tensor, y: Tensor) => x.exp().mul(y).sub(x);
    assert.equal(check((x, y) => dot(x, y).sum(), [x, y], "all"), 1);
    assert.equal(check((x, y) => dot(x, y).sum([1, 2]), [x, y], "last two"), 1);
    assert.equal(check((x, y) => dot(x, y).mean(), [x, y], "mean"), 1);
    // Two reductions of one chain share its pass.
    assert.equal(
      check(
        (x, y) => {
          const t = dot(x, y);
          return [t.sum(-1), t.max(-1)];
        },
        [x, y],
        "two",
      ),
      2,
    );
  });

  Deno.test(`fused reduce (${dtype}): logsumexp, and a chain value also returned`, () => {
    const x = randn([64, 100], opts);
    assert.equal(check((x) => logsumexp(x, 1), [x], "logsumexp"), 1);
    // The tanh is returned too: written out and reduced in the same pass.
    const both = (x: Tensor) => {
      const t = x.tanh().mul(x);
      return [t, t.sum(1)];
    };
    assert.equal(check(both, [x], "returned"), 1);
    const { program } = stage("test", both, [x]);
    const [g] = fusionGroups(optimize(program).program);
    assert.equal(g.outputs.size, 1);
  });

  Deno.test(`fused reduce (${dtype}): under grad and vmap`, () => {
    // A per-row scale: its gradient sums over the last axis, in the pass
    // of the backward chain.
    const x = randn([48, 80], opts), w = randn([48, 1], opts);
    const loss = (x: Tensor, w: Tensor) =>
      x.mul(w).tanh().square().sum(1).mean();
    const g = (x: Tensor, w: Tensor) =>
      grad(loss, { argnums: [0, 1] })(x, w) as Tensor[];
    assert.equal(check(g, [x, w], "grad"), 1);
    const rows = (x: Tensor) => x.sin().mul(x).sum(-1);
    const batched = vmap(rows);
    assert.ok(check(batched, [x], "vmap") >= 1);
    // vmap against a loop over rows.
    const got = jit(batched)(x).data();
    for (let i = 0; i < 48; i++) {
      const row = x.select(0, i);
      assertSameBits(rows(row), jit(rows)(row), `row ${i}`);
      assert.equal(got[i], rows(row).item(), `vmap row ${i}`);
    }
    // jit inside grad: the program's equations are bound, the result is
    // the same.
    assertSameBits(
      grad((x: Tensor) => jit((x: Tensor) => x.exp().mul(x).sum())(x))(x),
      grad((x: Tensor) => x.exp().mul(x).sum())(x),
      "grad of jit",
    );
  });

  Deno.test(`fused reduce (${dtype}): no intermediate buffer of the chain`, () => {
    const x = randn([256, 512], opts);
    const f = (x: Tensor) => x.mul(1.5).tanh().square().sum(1);
    const on = stats(f, [x]), off = stats(f, [x], false);
    const w = dtype === "float32" ? 4 : 8;
    assert.deepEqual(on.opcodes, [OP.fusedReduce]);
    assert.equal(on.allocatedBytes, 256 * w); // the result only
    assert.equal(off.allocatedBytes, 256 * w + 3 * 256 * 512 * w);
  });
}

Deno.test("fused reduce: sums over leading axes (column sums) in the chain's pass, same bits", () => {
  // A bias gradient's shape: the rows of [1024, 64] summed column by column
  // (blocks of 16 rows, a cascade of 64 of them), f32 and f64.
  for (const dtype of ["float32", "float64"] as const) {
    const x = randn([1024, 64], { dtype }), g = randn([64], { dtype });
    const f = (x: Tensor, g: Tensor) => x.tanh().mul(g).sum(0);
    assert.equal(check(f, [x, g], `[1024, 64] ${dtype}`), 1);
    // Beside a row sum of the same group, and over two leading axes.
    const both = (x: Tensor) => {
      const t = x.exp().mul(x);
      return [t.sum(0), t.sum(1)];
    };
    assert.equal(check(both, [x], `rows and columns ${dtype}`), 2);
    const y = randn([6, 50, 24], { dtype });
    assert.equal(check((y) => y.sin().mul(y).sum([0, 1]), [y], "axes 0, 1"), 1);
    assert.equal(check((y) => y.sin().mul(y).sum(0), [y], "axis 0 of 3"), 1);
  }
  // Large enough to split across threads: the steps split, the column sum
  // stays in order (the same bits on every thread count; threads_test.ts
  // runs the suite's programs on two).
  const big = randn([4096, 96]);
  assert.equal(check((x) => x.square().mul(x).sum(0), [big], "4096 rows"), 1);
});

Deno.test("fused reduce: not taken over a short leading row, other leading reductions, long rows, or integers; still correct", () => {
  // The unfused sum runs rows narrower than 8 as one sum per output, in
  // another order; a max over rows folds them in turn.
  const x = randn([40, 6]);
  assert.equal(check((x) => x.exp().mul(x).sum(0), [x], "axis 0, 6 wide"), 0);
  const w = randn([40, 60]);
  assert.equal(check((x) => x.exp().mul(x).max(0), [w], "max axis 0"), 0);
  assert.equal(
    check((x) => x.exp().mul(x).sum(1), [randn([40, 6, 9])], "middle"),
    0,
  );
  const long = randn([2, MAX_REDUCE_BLOCK + 16]);
  assert.equal(check((x) => x.exp().mul(x).sum(1), [long], "long rows"), 0);
  // Odd rows: a block of whole rows and a multiple of 16 elements is long.
  assert.equal(reduceBlock(3 * 4095, 4095), 3 * 4095);
  assert.equal(reduceBlock(5 * 4095, 4095), 5 * 4095);
  assert.equal(reduceBlock(40 * 10, 10), 400);
  assert.equal(reduceBlock(400 * 10, 10), 960);
  const odd = randn([5, 4095]);
  assert.equal(check((x) => x.exp().mul(x).sum(1), [odd], "odd rows"), 0);
  assert.equal(
    check((x) => x.exp().mul(x).sum(1), [odd.slice(0, 0, 4)], "4"),
    1,
  );
  const ints = randn([4, 512]).mul(10).to("int32");
  assert.equal(check((x) => x.mul(3).add(1).sum(1), [ints], "int32"), 0);
});

Deno.test("fused reduce: makeProgram marks the reduction", () => {
  const f = (x: Tensor) => x.mul(1.5).tanh().square().sum(1);
  const text = makeProgram(f, { optimize: true })(randn([256, 512])).toString();
  assert.match(text, /tanh b {2}# fused#0\n/);
  assert.match(text, /sum\[axes=\[1\]\] d {2}# fused#0 reduce\n/);
  const plain = makeProgram(f, { optimize: true, fuse: false })(
    randn([256, 512]),
  ).toString();
  assert.doesNotMatch(plain, /fused/);
});
