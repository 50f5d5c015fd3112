// The arena of a compiled program (src/jit/arena.ts): intermediates live in
// one block per compiled program, so a call allocates only its results;
// values equal those of eager evaluation and of plans without an arena, on
// every call; results a caller holds are never overwritten; memory stays
// bounded in a synchronous loop; nested and recursive runs stay correct.
import assert from "node:assert/strict";
import {
  cond,
  debug,
  grad,
  hessian,
  jit,
  linalg,
  memoryStats,
  scan,
  switchCase,
  type Tensor,
  tensor,
  whileLoop,
} from "../mod.ts";
import { optimize } from "../src/jit/execute.ts";
import { stage } from "../src/jit/make_program.ts";
import {
  arenaOptions,
  planStats,
  runPlan,
  wasmPlan,
} from "../src/jit/wasm_plan.ts";
import { OP } from "../src/backend/wasm/program_codes.ts";
import { dropArenaFrees, layoutArena, streamBlocks } from "../src/jit/arena.ts";

type F = (...xs: Tensor[]) => Tensor | Tensor[];
const list = (r: Tensor | Tensor[]) => (Array.isArray(r) ? r : [r]);

/** Bit-exact equality. */
function same(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, what);
  assert.equal(a.dtype, b.dtype, what);
  assert.deepEqual(Array.from(a.data()), Array.from(b.data()), what);
}

function close(a: Tensor, b: Tensor, what: string, tol: number): void {
  assert.deepEqual(a.shape, b.shape, what);
  const x = a.data(), y = b.data();
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    assert.ok(
      d <= tol * (1 + Math.abs(y[i])),
      `${what}[${i}]: ${x[i]} vs ${y[i]}`,
    );
  }
}

/** A plan built with or without the arena. */
function plan(f: F, args: Tensor[], arena = true, fuse = true) {
  const was = arenaOptions.enabled;
  arenaOptions.enabled = arena;
  try {
    const { program } = stage("test", f, args);
    return wasmPlan(optimize(program, fuse));
  } finally {
    arenaOptions.enabled = was;
  }
}

/** jit with or without the arena (plans are built on the first call). */
function jitWith(f: F, arena: boolean, fuse = true): F {
  const g = jit(f, { fuse });
  return (...xs) => {
    const was = arenaOptions.enabled;
    arenaOptions.enabled = arena;
    try {
      return g(...xs);
    } finally {
      arenaOptions.enabled = was;
    }
  };
}

const data = (n: number, s: number) =>
  Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + s) * 0.5);
const T = (shape: number[], s: number, dtype: "float32" | "float64") =>
  tensor(data(shape.reduce((a, b) => a * b, 1), s), { dtype }).reshape(shape);

// A two-layer tanh MLP's loss and the gradient of all its parameters.
function loss(w1: Tensor, b1: Tensor, w2: Tensor, x: Tensor, y: Tensor) {
  const h = x.matmul(w1.transpose(0, 1)).add(b1).tanh();
  return h.matmul(w2.transpose(0, 1)).sub(y).square().mean();
}
const mlpStep = (...a: Tensor[]) =>
  grad(loss as (...xs: Tensor[]) => Tensor, { argnums: [0, 1, 2] })(
    ...a,
  ) as Tensor[];
const mlpArgs = (dtype: "float32" | "float64", s = 0) => [
  T([32, 16], 1 + s, dtype),
  T([32], 2 + s, dtype),
  T([4, 32], 3 + s, dtype),
  T([128, 16], 4 + s, dtype),
  T([128, 4], 5 + s, dtype),
];

for (const dtype of ["float32", "float64"] as const) {
  const tol = dtype === "float32" ? 1e-5 : 1e-12;

  Deno.test(`arena: an MLP step (${dtype}) matches eager and a plan without an arena, call after call`, () => {
    const withArena = jitWith(mlpStep, true);
    const without = jitWith(mlpStep, false);
    for (let call = 0; call < 3; call++) {
      const args = mlpArgs(dtype, call);
      const want = mlpStep(...args);
      const got = list(withArena(...args));
      const plain = list(without(...args));
      want.forEach((w, i) => {
        close(got[i], w, `call ${call} output ${i} vs eager`, tol);
        same(got[i], plain[i], `call ${call} output ${i} vs no arena`);
      });
    }
  });

  Deno.test(`arena: a hessian (${dtype}) matches eager, fused and unfused, on every call`, () => {
    const f = (x: Tensor, w: Tensor) =>
      hessian((x: Tensor) => w.matmul(x).tanh().sum())(x) as Tensor;
    const fused = jit(f);
    const plain = jit(f, { fuse: false });
    for (let call = 0; call < 3; call++) {
      const x = T([16], call, dtype), w = T([16, 16], 7 + call, dtype);
      const want = f(x, w);
      close(fused(x, w), want, `call ${call} fused`, tol);
      same(fused(x, w), plain(x, w), `call ${call} fused vs unfused`);
    }
  });
}

Deno.test("arena: a call allocates only its results; intermediates share the arena", () => {
  const args = mlpArgs("float32");
  const p = plan(mlpStep, args);
  const s = planStats(p);
  const results = [32 * 16, 32, 4 * 32].reduce((a, n) => a + 4 * n, 0);
  assert.equal(s.freshBytes, results);
  assert.ok(s.arenaBytes > 0);
  // Liveness packing: the arena is smaller than all intermediates at once.
  assert.ok(s.arenaBytes < s.allocatedBytes - results, `${s.arenaBytes}`);
  assert.equal(s.opcodes[0], OP.arena);
  const none = planStats(plan(mlpStep, args, false));
  assert.equal(none.arenaBytes, 0);
  assert.equal(none.freshBytes, s.allocatedBytes);
  assert.ok(!none.opcodes.includes(OP.arena));
});

Deno.test("arena: results a caller holds are never overwritten by later calls", () => {
  const f = jit((x: Tensor) => x.exp().add(1).log().mul(x.sin()).add(x));
  const a = tensor([0.1, 0.2, 0.3, 0.4]);
  const first = f(a) as Tensor;
  const kept = Array.from(first.data());
  for (let i = 0; i < 5; i++) f(tensor([i, -i, 2 * i, 3]));
  assert.deepEqual(Array.from(first.data()), kept);
  same(first, f(a) as Tensor, "same input, same result");
});

Deno.test("arena: the block is kept from the second call, once per compiled program", () => {
  const f = (x: Tensor) => x.matmul(x.transpose(0, 1)).tanh().matmul(x).sum(1);
  const args = [T([8, 8], 1, "float64")];
  const p = plan(f, args);
  assert.ok(p.arenaSlot >= 0);
  const g = jit(f);
  g(args[0]);
  const before = memoryStats().heapBytes;
  for (let i = 0; i < 50; i++) g(args[0]).dispose();
  assert.equal(memoryStats().heapBytes, before);
});

Deno.test("arena: 10,000 synchronous calls stay bounded", () => {
  const step = jit((w: Tensor, x: Tensor) => {
    const h = x.matmul(w).tanh();
    return w.sub(x.transpose(0, 1).matmul(h.mul(h).neg().add(1)).mul(1e-3));
  }, { donateArgnums: [0] });
  let w = T([64, 64], 1, "float32");
  const x = T([32, 64], 2, "float32");
  w = step(w, x); // compiles and borrows; the next call keeps the arena
  w = step(w, x);
  const live = memoryStats().liveBytes;
  const heap = memoryStats().heapBytes;
  for (let i = 0; i < 10_000; i++) w = step(w, x);
  assert.equal(memoryStats().liveBytes, live);
  assert.ok(memoryStats().heapBytes - heap <= 2 ** 20, "heap grew");
  assert.ok(w.data().every(Number.isFinite));
});

Deno.test("arena: loop bodies and branches run in the arena and match eager", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const f = (x: Tensor, k: Tensor) => {
      const [c, ys] = scan(
        (c: Tensor, xi: Tensor) => {
          const t = c.mul(xi).sin().add(c.square().mul(0.5)).tanh();
          return [t, t.exp().sum()] as const;
        },
        x,
        x.reshape([1, -1]).expand([6, x.shape[0]]).mul(k),
      );
      const w = whileLoop(
        (v: Tensor) => v.sum().lt(40),
        (v: Tensor) => v.add(v.abs().add(1).log()).mul(1.5),
        c.abs().add(0.1),
      );
      const b = cond(
        k.sum().gt(0),
        (v: Tensor) => v.exp().mul(2),
        (v: Tensor) => v.neg(),
        w,
      );
      return [b, ys];
    };
    const x = T([40], 3, dtype), k = tensor(0.7, { dtype });
    const p = plan(f, [x, k]);
    assert.ok(p.arenaSlot >= 0, "an arena");
    const g = jit(f);
    const tol = dtype === "float32" ? 1e-5 : 1e-12;
    for (let call = 0; call < 3; call++) {
      const want = f(x, k) as Tensor[];
      const got = g(x, k) as Tensor[];
      want.forEach((w, i) =>
        close(got[i], w, `${dtype} call ${call} output ${i}`, tol)
      );
    }
  }
});

Deno.test("arena: a jitted function called from another's debug callback, and recursively, stays correct", () => {
  const inner = jit((x: Tensor) => x.sin().mul(x.cos()).add(x.square()).exp());
  const seen: number[][] = [];
  let depth = 0;
  const outer = jit((x: Tensor) => {
    const y = x.mul(2).tanh().add(x.exp());
    debug.callback((v: Tensor) => {
      // The same program and another one run while this call's values are
      // held: neither may touch them.
      seen.push(Array.from((inner(v) as Tensor).data()));
      if (depth++ < 1) {
        seen.push(Array.from((outer(v.mul(0.5)) as Tensor).data()));
      }
      depth--;
    }, y);
    return y.log().mul(y);
  });
  const x = tensor([0.1, 0.5, -0.3]);
  const eagerOuter = (v: Tensor) => {
    const y = v.mul(2).tanh().add(v.exp());
    return y.log().mul(y);
  };
  for (let call = 0; call < 2; call++) {
    seen.length = 0;
    const r = outer(x) as Tensor;
    close(r, eagerOuter(x), `call ${call}`, 1e-6);
    const y = x.mul(2).tanh().add(x.exp());
    const innerWant = y.sin().mul(y.cos()).add(y.square()).exp();
    close(
      tensor(seen[0]),
      innerWant,
      `call ${call}: inner from the callback`,
      1e-6,
    );
    // The nested call's own callback ran first (seen[1]), then it returned.
    const y1 = y.mul(0.5).mul(2).tanh().add(y.mul(0.5).exp());
    close(
      tensor(seen[1]),
      y1.sin().mul(y1.cos()).add(y1.square()).exp(),
      `call ${call}: inner, nested`,
      1e-6,
    );
    close(
      tensor(seen[2]),
      eagerOuter(y.mul(0.5)),
      `call ${call}: nested outer`,
      1e-6,
    );
    assert.equal(seen.length, 3);
  }
});

Deno.test("arena: a failed run frees its results and the next call succeeds", () => {
  const f = jit((a: Tensor) => linalg.cholesky(a.sub(0.5)).exp().sum(0));
  const good = tensor([[2, 0.6], [0.6, 2]], { dtype: "float64" });
  const bad = tensor([[-1, 0], [0, 1]], { dtype: "float64" });
  const want = f(good) as Tensor;
  close(want, linalg.cholesky(good.sub(0.5)).exp().sum(0), "vs eager", 1e-12);
  const live = memoryStats().liveBytes;
  for (let i = 0; i < 3; i++) {
    assert.throws(() => f(bad), /positive definite/);
    same(f(good) as Tensor, want, `after failure ${i}`);
  }
  assert.ok(memoryStats().liveBytes <= live + 64);
});

Deno.test("arena: a run while the plan is busy gets its own table and arena", () => {
  const f = (x: Tensor) => x.matmul(x.transpose(0, 1)).tanh().matmul(x).sum(1);
  const x = T([6, 6], 2, "float64");
  const p = plan(f, [x]);
  const want = f(x);
  same(runPlan(p, [x])[0], want, "first run (borrowed arena)");
  same(runPlan(p, [x])[0], want, "second run (own arena)");
  const own = p.state.arena;
  assert.ok(own !== 0);
  // As if a run of this plan were in progress: its table and arena are
  // left alone, and the nested run still computes the right values.
  p.state.busy = true;
  same(runPlan(p, [x])[0], want, "nested run");
  assert.equal(p.state.busy, true, "still the outer run's");
  assert.equal(p.state.arena, own);
  p.state.busy = false;
  same(runPlan(p, [x])[0], want, "after");
});

Deno.test("arena: nested loops with branches and reductions inside match eager, call after call", () => {
  for (const dtype of ["float32", "float64"] as const) {
    // An outer scan whose body runs an inner scan and a three-way switch,
    // with intermediates (some fused, some reduced) at every level.
    const f = (x: Tensor, m: Tensor) => {
      const [c, ys] = scan(
        (c: Tensor, row: Tensor) => {
          const [inner] = scan(
            (d: Tensor, v: Tensor) =>
              [d.mul(v.tanh()).add(v.square().mul(0.1)).sin(), null] as const,
            c,
            m,
          );
          const k = inner.abs().sum().mul(10).floor().remainder(3);
          const s = switchCase(k, [
            (a: Tensor) => a.exp().sum(-1).reshape([1]).expand(a.shape),
            (a: Tensor) => a.mul(row).tanh(),
            (a: Tensor) => a.neg().add(row.max()),
          ], inner);
          return [s.mul(0.5).add(c.mul(0.25)), s.square().sum()] as const;
        },
        x,
        m,
      );
      return [c, ys];
    };
    const x = T([24], 1, dtype), m = T([5, 24], 2, dtype);
    const p = plan(f as F, [x, m]);
    assert.ok(p.arenaSlot >= 0);
    const g = jit(f as F);
    const tol = dtype === "float32" ? 1e-5 : 1e-12;
    for (let call = 0; call < 3; call++) {
      const want = f(x, m) as Tensor[];
      const got = g(x, m) as Tensor[];
      want.forEach((w, i) =>
        close(got[i], w, `${dtype} call ${call} output ${i}`, tol)
      );
      same(
        got[0],
        (jitWith(f as F, false)(x, m) as Tensor[])[0],
        "vs no arena",
      );
    }
  }
});

Deno.test("arena layout: live ranges share bytes only when disjoint, never across a loop boundary", () => {
  // [MAGIC, nslots, instr...]: four 4-word instructions, a loop whose body
  // holds two more, then two after it. Positions are word offsets.
  const nop = [OP.zeros, 5, 0, 0, 0];
  const words = [0, 0, ...nop, ...nop, OP.loop, 5, 3, 0, 10, ...nop, ...nop];
  words.push(...nop, ...nop);
  const at = (k: number) => 2 + 5 * k; // before the loop: k = 0, 1
  const body = 2 + 10 + 5; // first body instruction
  const ev = {
    // 1: before, freed before the loop; 2: in the body; 3: across the
    // loop; 4: born before the loop, freed inside it (not placed); 5: after.
    owned: [1, 2, 3, 4, 5],
    bornAt: new Map([[1, at(0)], [2, body], [3, at(0)], [4, at(1)], [5, 27]]),
    freedAt: new Map([[1, [at(1)]], [2, [body + 5]], [3, [27]], [4, [body]], [
      5,
      [32],
    ]]),
    moved: new Set<number>(),
    held: new Set<number>(),
    bytes: () => 64,
  };
  assert.deepEqual(streamBlocks(words), [[body, body + 10]]);
  const { offsets, bytes } = layoutArena(words, ev);
  assert.ok(!offsets.has(4), "freed in a loop it was not born in");
  const live = (s: number) => [ev.bornAt.get(s)!, ev.freedAt.get(s)![0]];
  for (const a of offsets.keys()) {
    for (const b of offsets.keys()) {
      if (a >= b) continue;
      const [fa, ta] = live(a), [fb, tb] = live(b);
      if (ta < fb || tb < fa) continue; // never live together
      const [oa, ob] = [offsets.get(a)!, offsets.get(b)!];
      assert.ok(oa + 64 <= ob || ob + 64 <= oa, `slots ${a} and ${b}`);
    }
  }
  // 1 and 2 share (1 dies before the loop); 3 spans it; 5 reuses 1's.
  assert.equal(offsets.get(2), offsets.get(1));
  assert.equal(bytes, 128);
  // Moved or returned slots, and slots freed twice, are never placed.
  const none = layoutArena(words, {
    ...ev,
    moved: new Set([1]),
    held: new Set([2]),
    freedAt: new Map([...ev.freedAt, [3, [20, 27]]]),
  });
  assert.deepEqual([...none.offsets.keys()].sort(), [5]);
});

Deno.test("arena: frees of arena slots are left out of the stream, block lengths rewritten", () => {
  // A loop whose body frees arena slot 7 and fresh slot 8, a cond with a
  // free of 7 in its second branch, a while whose body frees 7.
  const free = (s: number) => [OP.free, 4, s, 64];
  const nop = [OP.zeros, 5, 0, 0, 0];
  const body = [...nop, ...free(7), ...free(8)];
  const words = [0, 9, OP.loop, 5, 3, 0, body.length, ...body];
  const b1 = [...nop], b2 = [...nop, ...free(7)];
  words.push(OP.cond, 7, 1, 0, 2, b1.length, b2.length, ...b1, ...b2);
  const wc = [...nop], wb = [...free(7), ...nop];
  words.push(OP.while, 6, 2, 0, wc.length, wb.length, ...wc, ...wb);
  words.push(...free(7), ...nop);
  const { words: out, from } = dropArenaFrees(words, new Map([[7, 0]]));
  const loopBody = [...nop, ...free(8)];
  const want = [0, 9, OP.loop, 5, 3, 0, loopBody.length, ...loopBody];
  want.push(OP.cond, 7, 1, 0, 2, nop.length, nop.length, ...nop, ...nop);
  want.push(OP.while, 6, 2, 0, nop.length, nop.length, ...nop, ...nop);
  want.push(...nop);
  assert.deepEqual(out, want);
  // Each kept instruction's old position, in stream order.
  const starts: number[] = [];
  for (let pc = 2; pc < words.length; pc += words[pc + 1]) {
    if (!(words[pc] === OP.free && words[pc + 2] === 7)) starts.push(pc);
  }
  assert.deepEqual(from, starts);
  assert.deepEqual(streamBlocks(out).length, 5);
});

Deno.test("arena: a scan body runs without frees of its arena slots and matches the plan without an arena", () => {
  const f = (A: Tensor, x0: Tensor) => {
    const [xT] = scan(
      (x: Tensor) => [x.add(A.matmul(x).tanh().mul(0.01)), null] as const,
      x0,
      null,
      { length: 50 },
    );
    return xT.sum();
  };
  const g = grad(f);
  const A = T([16, 16], 1, "float32").mul(0.2), x0 = T([16], 2, "float32");
  const p = plan(g, [A, x0]);
  const q = plan(g, [A, x0], false);
  const frees = (ops: number[]) => ops.filter((o) => o === OP.free).length;
  assert.ok(
    frees(planStats(p).opcodes) < frees(planStats(q).opcodes) / 2,
    `frees with an arena ${frees(planStats(p).opcodes)}, without ${
      frees(planStats(q).opcodes)
    }`,
  );
  for (let call = 0; call < 3; call++) {
    const [a] = runPlan(p, [A, x0]), [b] = runPlan(q, [A, x0]);
    same(a, b, `call ${call}`);
  }
});
