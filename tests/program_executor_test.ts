// The WebAssembly program executor behind jit (crates/kernels/src/program.rs,
// src/jit/wasm_plan.ts): same values as the unjitted functions, one call per
// run for every primitive and dtype, bounded memory, clear errors.
import assert from "node:assert/strict";
import {
  cat,
  type DType,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  linear,
  memoryStats,
  randn,
  type Tensor,
  tensor,
  vmap,
  where,
} from "../mod.ts";
import { allocate, heapI32 } from "../src/backend/storage.ts";
import { OP } from "../src/backend/wasm/program_codes.ts";
import { indexSelect } from "../src/ops/layout.ts";
import { optimize } from "../src/jit/execute.ts";
import { Program } from "../src/core/ir.ts";
import { arenaOptions, runPlan, wasmPlan } from "../src/jit/wasm_plan.ts";
import { executorStats } from "../src/core/executor.ts";
import { lowerings } from "../src/core/lowering.ts";
import { bind } from "../src/core/trace.ts";

function close(a: Tensor, b: Tensor, tol: number): void {
  assert.deepEqual(a.shape, b.shape);
  assert.equal(a.dtype, b.dtype);
  const x = a.data(), y = b.data();
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    assert.ok(d <= tol * (1 + Math.abs(y[i])), `[${i}] ${x[i]} vs ${y[i]}`);
  }
}

/** Mixes where, max, cat, slice, permute, cast (and pad, in its gradient). */
function mixed(other: DType) {
  return (x: Tensor) => {
    const y = where(x.gt(0), x, x.mul(0.1));
    const t = y.permute([1, 0]).slice(0, 3, 6).transpose(); // [4, 3]
    const z = cat([y.slice(1, 0, 3), t], 1); // [4, 6]
    const m = z.max(1).to(other).square().to(x.dtype);
    return m.sum().add(z.tanh().sum());
  };
}

/** [name, function, arguments] for one dtype. */
function cases(dtype: "float32" | "float64") {
  const o = { dtype };
  const W = randn([5, 3], o), b = randn([5], o);
  const x = randn([3], o), v = randn([3], o), xs = randn([4, 3], o);
  const m = randn([4, 6], o);
  const f = (x: Tensor) => linear(x, W, b).tanh();
  const other = dtype === "float32" ? "float64" : "float32";
  return [
    [
      "hvp of sum(sin x)",
      (x: Tensor, v: Tensor) =>
        grad((x: Tensor) => grad((x: Tensor) => x.sin().sum())(x).mul(v).sum())(
          x,
        ),
      [x, v],
    ],
    ["jacrev of tanh(Wx+b)", jacrev(f), [x]],
    ["jacfwd of tanh(Wx+b)", jacfwd(f), [x]],
    ["hessian of sum tanh(Wx+b)", hessian((x: Tensor) => f(x).sum()), [x]],
    ["vmap(jacrev)", vmap(jacrev(f)), [xs]],
    ["where/max/cat/slice/permute/cast", mixed(other), [m]],
    ["its gradient (pad)", grad(mixed(other)), [m]],
  ] as [string, (...a: Tensor[]) => Tensor, Tensor[]][];
}

for (const [dtype, tol] of [["float64", 1e-12], ["float32", 1e-6]] as const) {
  Deno.test(`jit on the wasm executor equals the unjitted functions (${dtype})`, () => {
    for (const [name, f, args] of cases(dtype)) {
      const want = f(...args);
      const jf = jit(f);
      jf(...args); // trace
      const before = executorStats.runs;
      const got = jf(...args);
      assert.equal(
        executorStats.runs,
        before + 1,
        `${name}: not one executor run`,
      );
      close(got, want, tol);
    }
  });
}

Deno.test("a compiled program lowers nothing again: one executor run per call", () => {
  const g = jit(grad((x: Tensor) => x.sin().mul(x).sum()));
  const x = randn([64]);
  g(x); // trace and compile
  const table = lowerings as unknown as Record<
    string,
    (...a: unknown[]) => unknown
  >;
  const saved = { ...table };
  let calls = 0;
  for (const k of Object.keys(saved)) {
    table[k] = (...a: unknown[]) => (calls++, saved[k](...a));
  }
  const before = executorStats.runs;
  try {
    g(x);
  } finally {
    Object.assign(table, saved);
  }
  assert.equal(calls, 0);
  assert.equal(executorStats.runs, before + 1);
});

Deno.test("gathers, scatters, argmax, int32 values and a where on an int32 mask run in the one call", () => {
  const idx = tensor([2, 0, 2], { dtype: "int32" });
  const f = (x: Tensor) => {
    const g = indexSelect(x, 0, idx).sin().mul(x.sum()); // [3]
    const k = x.argmax(0).to("float64"); // int32 → float64
    const mask = x.gt(0).to("int32");
    const w = where(mask, x, x.neg()); // |x| through an int32 condition
    const i32 = x.mul(10).to("int32").reshape([2, 2]).permute([1, 0]); // int32 layout
    return cat([g, k.reshape([1]), w, i32.reshape([4]).to("float64")], 0);
  };
  const x = tensor([0.5, -1.5, 2.25, -0.125], { dtype: "float64" });
  for (const h of [f, grad((x: Tensor) => f(x).sum())]) {
    const jh = jit(h);
    jh(x);
    const before = executorStats.runs;
    const got = jh(x);
    assert.equal(executorStats.runs, before + 1);
    close(got, h(x), 1e-12);
  }
  // indexAdd on int32 data, as a program output.
  const scatter = jit((src: Tensor) =>
    bind("indexAdd", [src, idx], { axis: 0, size: 4 })
  );
  const src = tensor([1, 2, 3], { dtype: "int32" });
  scatter(src);
  assert.deepEqual(Array.from(scatter(src).data()), [2, 0, 4, 0]);
});

Deno.test("an index out of range in a jitted program is a RangeError naming it; nothing leaks", () => {
  const f = jit((x: Tensor, i: Tensor) => indexSelect(x.sin(), 0, i).exp());
  const x = randn([3], { dtype: "float64" });
  f(x, tensor([0, 2], { dtype: "int32" }));
  const bad = tensor([1, 3], { dtype: "int32" });
  const live = memoryStats().liveBytes;
  assert.throws(
    () => f(x, bad),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "indexSelect: index 3 (at position 1) is out of range for dimension 0 with size 3",
  );
  assert.equal(memoryStats().liveBytes, live);
});

Deno.test("outputs aliasing an input or a constant never free it when disposed", () => {
  const c = randn([2, 3]);
  const jf = jit((x: Tensor) => [x.reshape([3, 2]), c.reshape([6]), x]);
  const x = randn([6]);
  jf(x);
  const [r, k, same] = jf(x) as Tensor[];
  r.dispose();
  k.dispose();
  // The identity output is another tensor over the input's buffer.
  assert.notEqual(same, x);
  assert.deepEqual(same.data(), x.data());
  same.dispose();
  assert.deepEqual(Array.from(x.data()).length, 6); // x still alive
  assert.deepEqual(Array.from(c.data()).length, 6); // c still alive
});

Deno.test("a synchronous loop of executor runs keeps memory flat", () => {
  const hvp = jit((x: Tensor, v: Tensor) =>
    grad((x: Tensor) => grad((x: Tensor) => x.sin().sum())(x).mul(v).sum())(x)
  );
  const x = randn([4096]), v = randn([4096]);
  for (let i = 0; i < 10; i++) hvp(x, v).dispose();
  const before = memoryStats();
  for (let i = 0; i < 2000; i++) hvp(x, v).dispose();
  const after = memoryStats();
  assert.equal(after.liveBytes, before.liveBytes);
  assert.equal(after.liveStorages, before.liveStorages);
  assert.equal(after.heapBytes, before.heapBytes); // intermediates freed in wasm
});

Deno.test("a malformed stream is a clear Error, not a trap", () => {
  const aval = { shape: [3], dtype: "float64" } as const;
  const program = optimize(
    new Program(
      [0],
      [{ prim: "sin", inputs: [{ var: 0 }], params: null, out: 1, aval }],
      [{ var: 1 }],
      [aval],
      new Map([[0, aval], [1, aval]]),
    ),
  );
  const plan = wasmPlan(program);
  const x = tensor([1, 2, 3], { dtype: "float64" });
  close(runPlan(plan, [x])[0], x.sin(), 0);
  // [MAGIC, nslots, UNARY, 7, dtype, op, out, x, n]: point x at slot 99.
  const words = heapI32().slice(
    plan.code.ptr >>> 2,
    (plan.code.ptr >>> 2) + plan.codeLen,
  );
  assert.equal(words[7], 0);
  words[7] = 99;
  const code = allocate("int32", words.length);
  heapI32().set(words, code.ptr >>> 2);
  const live = memoryStats().liveBytes;
  assert.throws(() => runPlan({ ...plan, code }, [x]), /slot out of range/);
  words[7] = 0;
  words[2] = 77; // opcode
  heapI32().set(words, code.ptr >>> 2);
  assert.throws(() => runPlan({ ...plan, code }, [x]), /unknown opcode/);
  assert.equal(memoryStats().liveBytes, live);
  code.dispose();
});

Deno.test("a stream that reads or frees past a buffer is refused before any kernel runs", () => {
  // exp(sin(x)) on 3 float64: [MAGIC, nslots, UNARY(sin) 7 words,
  // UNARY(exp) 7 words, FREE, SIZES]; a unary's n is its word 6.
  const aval = { shape: [3], dtype: "float64" } as const;
  const program = optimize(
    new Program(
      [0],
      [
        { prim: "sin", inputs: [{ var: 0 }], params: null, out: 1, aval },
        { prim: "exp", inputs: [{ var: 1 }], params: null, out: 2, aval },
      ],
      [{ var: 2 }],
      [aval],
      new Map([[0, aval], [1, aval], [2, aval]]),
    ),
    false,
  );
  // Without an arena, so that the sin's result is allocated and freed.
  const was = arenaOptions.enabled;
  arenaOptions.enabled = false;
  const plan = wasmPlan(program);
  arenaOptions.enabled = was;
  const x = tensor([1, 2, 3], { dtype: "float64" });
  close(runPlan(plan, [x])[0], x.sin().exp(), 0);
  const base = plan.code.ptr >>> 2;
  const words = heapI32().slice(base, base + plan.codeLen);
  const at = (op: number) => {
    for (let pc = 2; pc < words.length; pc += words[pc + 1]) {
      if (words[pc] === op) return pc;
    }
    throw new Error(`no opcode ${op}`);
  };
  const sin = at(OP.unary);
  assert.equal(words[sin + 6], 3);
  const live = memoryStats().liveBytes;
  const refused = (edit: (w: Int32Array) => void) => {
    const w = words.slice();
    edit(w);
    const code = allocate("int32", w.length);
    heapI32().set(w, code.ptr >>> 2);
    assert.throws(
      () => runPlan({ ...plan, code }, [x]),
      /reaches past the end of a buffer/,
    );
    code.dispose();
    assert.equal(memoryStats().liveBytes, live); // what it made is freed
  };
  // The sin reads 4 of x's 3 elements.
  refused((w) => w[sin + 6] = 4);
  // The exp reads 4 elements of the sin's result, which holds 3.
  refused((w) => w[sin + 7 + 6] = 4);
  // The sin's result is freed as 32 bytes; it has 24.
  refused((w) => w[at(OP.free) + 3] = 32);
  // The stream says x holds 16 bytes.
  refused((w) => w[plan.codeLen - plan.nslots + plan.inputSlots[0]] = 16);
});

Deno.test("eager operations run on the executor too: one run each, long streams, clear errors, nothing leaked", () => {
  const before = executorStats.runs;
  const x = tensor([1, 2, 3], { dtype: "float64" });
  const y = x.sin();
  assert.equal(executorStats.runs, before + 1);
  close(y, tensor([1, 2, 3].map(Math.sin), { dtype: "float64" }), 0);
  // A reshape is the operand's own buffer: no run.
  x.reshape([3, 1]);
  assert.equal(executorStats.runs, before + 1);
  // 300 operands: a stream and a slot table longer than their first buffers.
  const parts = Array.from({ length: 300 }, (_, i) => tensor([i, -i]));
  const c = cat(parts, 0);
  assert.deepEqual(
    Array.from(c.data()),
    parts.flatMap((_, i) => [i, -i]),
  );
  const live = memoryStats().liveBytes;
  // The primitive itself (the public op range-checks concrete indices
  // before any kernel runs): the executor's error, nothing leaked.
  assert.throws(
    () =>
      bind("indexSelect", [x, tensor([0, 5], { dtype: "int32" })], { axis: 0 }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "indexSelect: index 5 (at position 1) is out of range for dimension 0 with size 3",
  );
  assert.equal(memoryStats().liveBytes, live + 8); // the index tensor only
  const deep = tensor([1]).reshape(Array(33).fill(1));
  assert.throws(
    () => deep.expand([...Array(32).fill(1), 2]),
    /broadcastTo: rank 33 exceeds the maximum of 32/,
  );
});
