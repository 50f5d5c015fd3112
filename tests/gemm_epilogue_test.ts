// GEMM epilogues in compiled programs: a matmul whose product only
// elementwise equations read (bias, activation, derivative, cotangent ·
// derivative) runs as one OP_MATMUL_FUSED instruction, and gives the
// unfused and eager values, under grad and vmap, on ragged shapes.
import assert from "node:assert/strict";
import {
  crossEntropy,
  gelu,
  getNumThreads,
  grad,
  jit,
  linear,
  makeProgram,
  matmul,
  oneHot,
  randn,
  relu,
  scan,
  setNumThreads,
  sigmoid,
  stack,
  type Tensor,
  tensor,
  vmap,
  zeros,
} from "../mod.ts";
import { optimize } from "../src/jit/execute.ts";
import { stage } from "../src/jit/make_program.ts";
import { planStats, wasmPlan } from "../src/jit/wasm_plan.ts";
import { OP } from "../src/backend/wasm/program_codes.ts";
import { poolStats } from "../src/backend/thread_pool.ts";

type F = (...xs: Tensor[]) => Tensor | Tensor[];
const list = (r: unknown): Tensor[] =>
  Array.isArray(r) ? r.flatMap(list) : [r as Tensor];

function close(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, what);
  assert.equal(a.dtype, b.dtype, what);
  const tol = a.dtype === "float32" ? 2e-5 : 1e-12;
  const x = a.data() as Float32Array, y = b.data() as Float32Array;
  for (let i = 0; i < x.length; i++) {
    const err = Math.abs(x[i] - y[i]);
    if (!(err <= tol * (1 + Math.abs(y[i])))) {
      assert.fail(`${what}: at ${i}, ${x[i]} vs ${y[i]}`);
    }
  }
}

/**
 * Bit-exact equality: the epilogue computes the same product and calls the
 * same kernels on the same values (the unary kernels' scalar tails go
 * through their vector code), only in other blocks.
 */
function same(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, what);
  const bits = (t: Tensor) => {
    const v = t.data() as Float32Array | Float64Array;
    return v instanceof Float32Array
      ? new Uint32Array(v.buffer, v.byteOffset, v.length)
      : new BigUint64Array(v.buffer, v.byteOffset, v.length);
  };
  const x = bits(a), y = bits(b);
  const i = x.findIndex((v, i) => v !== y[i]);
  if (i >= 0) assert.fail(`${what}: at ${i}, ${a.data()[i]} vs ${b.data()[i]}`);
}

/** Opcodes of the plan jit runs for `f` (fused or not). */
function opcodes(f: F, args: Tensor[], fuse = true): number[] {
  const { program } = stage("test", f, args);
  return planStats(wasmPlan(optimize(program, fuse))).opcodes;
}
const count = (ops: number[], op: number) => ops.filter((o) => o === op).length;

/** jit(f) twice equals jit(f, {fuse: false}) and is close to eager. */
function agree(f: F, args: Tensor[], what: string): void {
  const want = list(f(...args));
  const fused = jit(f);
  const plain = list(jit(f, { fuse: false })(...args));
  for (let call = 0; call < 2; call++) {
    const got = list(fused(...args));
    want.forEach((w, i) => {
      close(got[i], w, `${what}: output ${i}, call ${call}, fused vs eager`);
      same(got[i], plain[i], `${what}: output ${i}, fused vs unfused`);
    });
  }
}

const acts: [string, (x: Tensor) => Tensor][] = [
  ["tanh", (x) => x.tanh()],
  ["relu", relu],
  ["sigmoid", sigmoid],
  ["gelu", (x) => gelu(x)],
  ["gelu tanh", (x) => gelu(x, { approximate: "tanh" })],
];

for (const dtype of ["float32", "float64"] as const) {
  // m and n not multiples of any tile (MR 5 or 6, NR 4 or 8), k over two
  // K panels (256) for one shape.
  for (const [m, n, k] of [[37, 45, 29], [131, 53, 300]]) {
    for (const [name, act] of acts) {
      Deno.test(`epilogue: ${name}(x Wᵀ + b) in ${dtype}, ${m}×${n}×${k}, is one instruction`, () => {
        const x = randn([m, k], { dtype }), w = randn([n, k], { dtype });
        const b = randn([n], { dtype });
        const layer = (x: Tensor, w: Tensor, b: Tensor) => act(linear(x, w, b));
        agree(layer, [x, w, b], name);
        const ops = opcodes(layer, [x, w, b]);
        assert.deepEqual(ops, [OP.matmulFused], `${name}: ${ops}`);
        assert.equal(count(opcodes(layer, [x, w, b], false), OP.matmul), 1);
      });
    }
  }
}

Deno.test("epilogue: bias alone, activation alone, and a product that is also an output", () => {
  const x = randn([40, 30]), w = randn([50, 30]), b = randn([50]);
  const bias = (x: Tensor, w: Tensor, b: Tensor) => linear(x, w, b);
  agree(bias, [x, w, b], "bias");
  assert.deepEqual(opcodes(bias, [x, w, b]), [OP.matmulFused]);
  const act = (x: Tensor, w: Tensor) => linear(x, w).tanh();
  agree(act, [x, w], "tanh");
  assert.deepEqual(opcodes(act, [x, w]), [OP.matmulFused]);
  // The product is returned too: it needs a buffer, so no epilogue.
  const both = (x: Tensor, w: Tensor) => {
    const p = linear(x, w);
    return [p, p.tanh()];
  };
  agree(both, [x, w], "product returned");
  assert.equal(count(opcodes(both, [x, w]), OP.matmulFused), 0);
  // Read by a reduction as well: not only elementwise readers.
  const twice = (x: Tensor, w: Tensor) => {
    const p = linear(x, w);
    return p.tanh().add(p.sum());
  };
  agree(twice, [x, w], "product also summed");
  assert.equal(count(opcodes(twice, [x, w]), OP.matmulFused), 0);
  // A small product with one reader is left alone (set-up would cost more).
  const small = (x: Tensor, w: Tensor) => linear(x, w).tanh();
  const xs = randn([10, 30]), ws = randn([20, 30]);
  assert.equal(count(opcodes(small, [xs, ws]), OP.matmulFused), 0);
});

Deno.test("epilogue: vector-shaped, empty-k and batched products", () => {
  for (const dtype of ["float32", "float64"] as const) {
    // One row (gemv) and one column.
    const row = (x: Tensor, w: Tensor, b: Tensor) => linear(x, w, b).tanh();
    const args = [
      randn([1, 33], { dtype }),
      randn([1500, 33], { dtype }),
      randn([1500], { dtype }),
    ];
    agree(row, args, "one row");
    assert.deepEqual(opcodes(row, args), [OP.matmulFused]);
    const col = (a: Tensor, v: Tensor) => a.matmul(v).sigmoid();
    const cargs = [randn([1300, 17], { dtype }), randn([17, 1], { dtype })];
    agree(col, cargs, "one column");
    assert.deepEqual(opcodes(col, cargs), [OP.matmulFused]);
    // k = 0: the product is zero, the epilogue still runs (tanh(b)).
    const e = [
      zeros([40, 0], { dtype }),
      zeros([30, 0], { dtype }),
      randn([30], { dtype }),
    ];
    agree(row, e, "k = 0");
    close(
      row(e[0], e[1], e[2]) as Tensor,
      e[2].tanh().reshape([1, 30]).expand([40, 30]),
      "k = 0 value",
    );
    // A batch of products with a shared bias, both operands batched.
    const bat = (a: Tensor, b: Tensor, c: Tensor) => a.matmul(b).add(c).relu();
    const bargs = [
      randn([3, 21, 19], { dtype }),
      randn([3, 19, 23], { dtype }),
      randn([23], { dtype }),
    ];
    agree(bat, bargs, "batched");
    assert.deepEqual(opcodes(bat, bargs), [OP.matmulFused]);
  }
});

// The MLP of bench/mlp_step_bench.ts, smaller and ragged.
function mlpLoss(p: Tensor[], x: Tensor, y: Tensor): Tensor {
  const h1 = linear(x, p[0], p[1]).tanh();
  const h2 = linear(h1, p[2], p[3]).tanh();
  return crossEntropy(linear(h2, p[4], p[5]), y);
}
function mlp(dtype: "float32" | "float64", batch: number, dims: number[]) {
  const p: Tensor[] = [];
  for (let l = 0; l < 3; l++) {
    p.push(
      randn([dims[l + 1], dims[l]], { dtype }).mul(0.3),
      randn([dims[l + 1]], { dtype }),
    );
  }
  const labels = tensor(
    Int32Array.from({ length: batch }, (_, i) => (i * 7) % dims[3]),
  );
  return {
    p,
    x: randn([batch, dims[0]], { dtype }),
    y: oneHot(labels, dims[3]).to(dtype),
  };
}

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`epilogue: the MLP training step in ${dtype} (forward layers and backward g·W · tanh')`, () => {
    const { p, x, y } = mlp(dtype, 67, [61, 43, 37, 19]);
    const step = (...a: Tensor[]) => grad(mlpLoss)(a.slice(0, 6), a[6], a[7]);
    const args = [...p, x, y];
    agree(step as F, args, "grad");
    const ops = opcodes(step as F, args);
    // Forward: three products with bias (+ tanh and 1 − tanh²) epilogues;
    // backward: the two g·W products times tanh'. The three weight
    // gradients gᵀ·h are read by nothing elementwise.
    assert.equal(count(ops, OP.matmulFused), 5, `${ops}`);
    assert.equal(count(ops, OP.matmul), 3);
  });
}

Deno.test("epilogue: vmap of a layer (shared and batched weights) and vmap(grad)", () => {
  const layer = (x: Tensor, w: Tensor, b: Tensor) => linear(x, w, b).tanh();
  const xs = randn([4, 23, 31]), w = randn([47, 31]), b = randn([47]);
  const shared = vmap(layer, { inDims: [0, null, null] });
  agree(shared as F, [xs, w, b], "vmap shared W");
  const loop = stack([0, 1, 2, 3].map((i) => layer(xs.select(0, i), w, b)));
  close(jit(shared)(xs, w, b) as Tensor, loop, "vmap vs loop");
  assert.equal(count(opcodes(shared as F, [xs, w, b]), OP.matmulFused), 1);
  const ws = randn([4, 47, 31]), bs = randn([4, 47]);
  const each = vmap(layer);
  agree(each as F, [xs, ws, bs], "vmap batched W and b");
  const loop2 = stack(
    [0, 1, 2, 3].map((i) =>
      layer(xs.select(0, i), ws.select(0, i), bs.select(0, i))
    ),
  );
  close(jit(each)(xs, ws, bs) as Tensor, loop2, "vmap batched vs loop");
  // Per-example gradients of the MLP.
  const { p, x, y } = mlp("float64", 6, [29, 41, 33, 7]);
  const per = vmap((x: Tensor, y: Tensor) =>
    grad(mlpLoss)(p, x.reshape([1, 29]), y.reshape([1, 7]))
  );
  agree(per as unknown as F, [x, y], "vmap(grad)");
});

Deno.test("epilogue: makeProgram(f, { optimize: true }) marks the matmul and its epilogue", () => {
  const layer = (x: Tensor, w: Tensor, b: Tensor) => linear(x, w, b).tanh();
  const text = makeProgram(layer, { optimize: true })(
    randn([64, 32]),
    randn([48, 32]),
    randn([48]),
  ).toString();
  assert.match(text, /= matmul\[[^\n]*# fused#0 matmul/);
  assert.match(text, /= add [^\n]*# fused#0\n/);
  assert.match(text, /= tanh [^\n]*# fused#0 out/);
  const off = makeProgram(layer, { optimize: true, fuse: false })(
    randn([64, 32]),
    randn([48, 32]),
    randn([48]),
  ).toString();
  assert.doesNotMatch(off, /fused/);
});

Deno.test("epilogue: a product in a scan body, and jit(grad) through it", () => {
  const W = randn([30, 30], { dtype: "float64" }).mul(0.3);
  const run = (h: Tensor, xs: Tensor, w: Tensor) =>
    scan(
      (c: Tensor, x: Tensor): [Tensor, Tensor] => {
        const n = c.matmul(w).add(x).tanh();
        return [n, n.sum()];
      },
      h,
      xs,
    ) as unknown as Tensor[];
  const h = randn([40, 30], { dtype: "float64" });
  const xs = randn([5, 40, 30], { dtype: "float64" });
  agree(run as F, [h, xs, W], "scan");
  assert.ok(count(opcodes(run as F, [h, xs, W]), OP.matmulFused) >= 1);
  const loss = (w: Tensor) => {
    const [c, ys] = run(h, xs, w);
    return c.square().sum().add(ys.sum());
  };
  agree(grad(loss) as F, [W], "grad through scan");
});

Deno.test({
  name:
    "epilogue: a product split across worker threads runs its epilogue in each part, same bits as one thread",
  // Workers are started once and parked for the life of the process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const before = getNumThreads();
    setNumThreads(2);
    const warm = randn([128, 128]);
    matmul(warm, warm).dispose();
    for (let i = 0; i < 200 && poolStats().ready < 1; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    warm.dispose();
    assert.ok(poolStats().ready >= 1, "the worker pool did not start");
    // Split by columns (m ≤ n) and by rows (m > n); ragged both ways.
    for (const [m, n, k] of [[67, 301, 211], [403, 45, 300]]) {
      for (const dtype of ["float32", "float64"] as const) {
        const x = randn([m, k], { dtype }), w = randn([n, k], { dtype });
        const b = randn([n], { dtype });
        const layer = (x: Tensor, w: Tensor, b: Tensor) => {
          const t = linear(x, w, b).tanh();
          return [t, t.square().neg().add(1)];
        };
        assert.deepEqual(opcodes(layer, [x, w, b]), [OP.matmulFused]);
        const f = jit(layer);
        setNumThreads(1);
        const one = list(f(x, w, b));
        setNumThreads(2);
        const splits = poolStats().splitJobs;
        const two = list(f(x, w, b));
        assert.ok(poolStats().splitJobs > splits, "not split");
        one.forEach((t, i) =>
          same(two[i], t, `${m}×${n} ${dtype} output ${i}`)
        );
        const plain = list(jit(layer, { fuse: false })(x, w, b));
        one.forEach((t, i) => same(t, plain[i], `${m}×${n} ${dtype} unfused`));
      }
    }
    setNumThreads(before);
  },
});

Deno.test("epilogue: a group with fused reductions gives them up to be an epilogue, unless nothing would stay in registers", () => {
  // tanh(x Wᵀ + b)² summed per row: the add and tanh stay in registers
  // without the sum, so the group becomes the epilogue and the sum runs
  // after it on the square it writes out.
  const x = randn([37, 29], { dtype: "float64" });
  const w = randn([45, 29], { dtype: "float64" });
  const b = randn([45], { dtype: "float64" });
  const rows = (x: Tensor, w: Tensor, b: Tensor) => {
    const t = linear(x, w, b).tanh();
    return t.mul(t).sum(1);
  };
  agree(rows, [x, w, b], "epilogue, then a sum");
  const ops = opcodes(rows, [x, w, b]);
  assert.equal(count(ops, OP.matmulFused), 1, `${ops}`);
  assert.equal(count(ops, OP.reduce), 1, `${ops}`);
  assert.equal(count(ops, OP.fusedReduce), 0, `${ops}`);
  // Six members each summed, on 30 elements: without the sums every member
  // would be written out, so the group keeps them after a plain matmul.
  const six = (x: Tensor, w: Tensor) => {
    const a = x.matmul(w).sin(), c = a.cos(), e = c.exp();
    const t = e.tanh(), g = t.neg(), s = g.square();
    return [a, c, e, t, g, s].map((v) => v.sum(1));
  };
  const args = [
    randn([5, 7], { dtype: "float64" }),
    randn([7, 6], { dtype: "float64" }),
  ];
  agree(six, args, "a fused reduction after a plain matmul");
  const small = opcodes(six, args);
  assert.equal(count(small, OP.matmulFused), 0, `${small}`);
  assert.equal(count(small, OP.matmul), 1, `${small}`);
  assert.equal(count(small, OP.fusedReduce), 1, `${small}`);
});
