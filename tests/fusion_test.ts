// Elementwise fusion in compiled programs: fused groups give exactly the
// unfused (and eager) results, allocate fewer intermediate bytes, run as
// fewer instructions, and are shown by makeProgram(f, { optimize: true }).
import assert from "node:assert/strict";
import {
  grad,
  jit,
  makeProgram,
  randn,
  scan,
  type Tensor,
  tensor,
  where,
} from "../mod.ts";
import { assertSameBits } from "./_helpers.ts";
import { optimize } from "../src/jit/execute.ts";
import { fusionGroups, readMode } from "../src/jit/fusion.ts";
import { stage } from "../src/jit/make_program.ts";
import { planStats, wasmPlan } from "../src/jit/wasm_plan.ts";
import { OP } from "../src/backend/wasm/program_codes.ts";

type F = (...xs: Tensor[]) => Tensor | Tensor[];

const list = (r: Tensor | Tensor[]) => (Array.isArray(r) ? r : [r]);

/** f fused, unfused and eager agree bit for bit; returns the fused groups. */
function checkFused(f: F, args: Tensor[], minGroups = 1) {
  const want = list(f(...args));
  const fused = list(jit(f)(...args));
  const plain = list(jit(f, { fuse: false })(...args));
  want.forEach((w, i) => {
    assertSameBits(fused[i], w, `output ${i}: fused vs eager`);
    assertSameBits(plain[i], w, `output ${i}: unfused vs eager`);
  });
  const { program } = stage("test", f, args);
  const groups = fusionGroups(optimize(program).program);
  assert.ok(groups.length >= minGroups, `${groups.length} fused groups`);
  return groups;
}

function stats(f: F, args: Tensor[], fuse: boolean) {
  const { program } = stage("test", f, args);
  return planStats(wasmPlan(optimize(program, fuse)));
}

// (1 − tanh(x)²)·g: tanh's derivative times a cotangent.
const dtanh = (x: Tensor, g: Tensor) => x.tanh().square().neg().add(1).mul(g);

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`fusion: the tanh-derivative chain in ${dtype} is one instruction, bit for bit`, () => {
    // Two full blocks and a ragged tail.
    const x = randn([2085], { dtype }), g = randn([2085], { dtype });
    const [grp] = checkFused(dtanh, [x, g]);
    // −t² + 1 is 1 − t² once negations fold (src/jit/negations.ts).
    assert.equal(grp.eqns.length, 4);
    assert.equal(grp.outputs.size, 1);
    const on = stats(dtanh, [x, g], true), off = stats(dtanh, [x, g], false);
    // Unfused: 4 kernels and 3 frees (after placing the 3 intermediates
    // in the arena); fused: one instruction.
    assert.deepEqual(on.opcodes, [OP.fused]);
    assert.equal(off.opcodes[0], OP.arena);
    const kernels = off.opcodes.filter((o) => o !== OP.free && o !== OP.arena);
    assert.equal(kernels.length, 4);
    assert.equal(off.freshBytes, 2085 * (dtype === "float32" ? 4 : 8));
    const w = dtype === "float32" ? 4 : 8;
    assert.equal(on.allocatedBytes, 2085 * w);
    assert.equal(off.allocatedBytes, 4 * 2085 * w);
  });
}

Deno.test("fusion: a DAG with a shared intermediate that is also an output", () => {
  const f = (x: Tensor) => {
    const t = x.sin();
    return [t.mul(t).add(t.mul(t.exp())), t];
  };
  for (const dtype of ["float32", "float64"] as const) {
    const [g] = checkFused(f, [randn([1500], { dtype })]);
    assert.equal(g.eqns.length, 5);
    assert.equal(g.outputs.size, 2); // t and the sum
  }
});

Deno.test("fusion: a value read twice by its last reader frees its register once", () => {
  // c·c is c's last read: its register was put back twice and then handed
  // to exp(d) and sin(d) at once, so the sum was 2·sin(d). And a cast then
  // a product took one register as both operand and destination, which
  // the executor refused.
  const twice = (a: Tensor, b: Tensor) => {
    const c = a.add(b);
    const d = c.mul(c);
    return d.exp().add(d.sin());
  };
  const compare = (a: Tensor, b: Tensor) => {
    const c = a.add(b);
    const j = c.gt(c).to("float64").add(c.eq(c).to("float64").mul(0.5));
    return j.mul(c.maximum(c));
  };
  for (const dtype of ["float32", "float64"] as const) {
    const args = [
      randn([2048], { dtype }),
      randn([2048], { dtype }),
    ];
    checkFused(twice, args);
    checkFused(compare, args.map((x) => x.to("float64")));
  }
});

Deno.test("fusion: a member read outside the group is written out, the rest stays in registers", () => {
  const f = (x: Tensor) => {
    const e = x.exp();
    // (A sum of e itself would join the group as a fused reduction.)
    return [e.mul(2).add(1).tanh(), e.reshape([1, -1]).sum(0)];
  };
  const [g] = checkFused(f, [randn([1777], { dtype: "float64" })]);
  assert.equal(g.eqns.length, 4);
  assert.equal(g.outputs.size, 2); // exp (read by the reshape) and the tanh
  const on = stats(f, [randn([1777], { dtype: "float64" })], true);
  const off = stats(f, [randn([1777], { dtype: "float64" })], false);
  assert.ok(on.allocatedBytes < off.allocatedBytes);
});

Deno.test("fusion: int32 and bool values, comparisons, where and casts in a group", () => {
  const f = (a: Tensor, x: Tensor) => {
    const b = a.mul(a).add(3); // int32
    const c = b.gt(10); // bool
    const y = where(c, x.mul(2), x.neg()); // float
    return [y.add(b.to(x.dtype)), b, c];
  };
  for (const dtype of ["float32", "float64"] as const) {
    const a = tensor(Array.from({ length: 1100 }, (_, i) => (i % 9) - 4), {
      dtype: "int32",
    });
    checkFused(f, [a, randn([1100], { dtype })]);
  }
  // A condition in another type than where reads is cast inside the group.
  const h = (x: Tensor, y: Tensor) => where(x.gt(0), x.exp(), y.sin()).abs();
  checkFused(h, [
    randn([1600], { dtype: "float64" }),
    randn([1600], { dtype: "float64" }),
  ]);
});

Deno.test("fusion: rank-0 operands and rank-0 programs", () => {
  const f = (x: Tensor, s: Tensor) => x.mul(s).add(s.exp()).sqrt().add(1);
  const [g] = checkFused(f, [randn([1513]).abs(), tensor(0.5)]);
  // exp of the scalar has one element, not 1513: it stays outside.
  assert.equal(g.n, 1513);
  // A one-element group is fused when enough values stay in registers.
  const h = (a: Tensor, b: Tensor) =>
    a.mul(b).sin().add(a).exp().mul(b).cos().sub(a).tanh();
  const [k] = checkFused(h, [tensor(0.3), tensor(-1.25)]);
  assert.equal(k.n, 1);
  assert.equal(k.eqns.length, 8);
  // Fewer than six stay in registers on few elements: not worth fusing.
  assert.equal(
    checkFused((a: Tensor) => a.sin().add(1).exp(), [randn([64])], 0).length,
    0,
  );
});

Deno.test("fusion: jit(grad) of tanh networks and loop bodies match the unfused program", () => {
  const W = randn([64, 32], { dtype: "float64" }),
    x = randn([32, 100], { dtype: "float64" });
  const loss = (W: Tensor, x: Tensor) => W.matmul(x).tanh().square().sum();
  checkFused(grad(loss) as F, [W, x]);
  const body = (c: Tensor, xs: Tensor): [Tensor, Tensor] => {
    const n = c.mul(0.9).add(xs.tanh().mul(0.1)).sin();
    return [n, n.square()];
  };
  const run = (c: Tensor, xs: Tensor) =>
    scan(body, c, xs) as unknown as Tensor[];
  checkFused(run as F, [
    randn([300], { dtype: "float64" }),
    randn([5, 300], { dtype: "float64" }),
  ], 0);
  const a = list(jit(run as F)(tensor([1, 2, 3]), randn([4, 3])));
  const b = list(
    jit(run as F, { fuse: false })(tensor([1, 2, 3]), randn([4, 3])),
  );
  assert.equal(a.length, b.length);
});

Deno.test("fusion: makeProgram(f, { optimize: true }) marks the fused groups", () => {
  const p = makeProgram(dtanh, { optimize: true })(
    randn([1024]),
    randn([1024]),
  );
  const text = p.toString();
  assert.equal(text.match(/# fused#0 out/g)?.length, 1, text);
  assert.equal(text.match(/# fused#0\n/g)?.length, 3, text);
  const plain = makeProgram(dtanh, { optimize: true, fuse: false })(
    randn([1024]),
    randn([1024]),
  );
  assert.ok(!plain.toString().includes("fused"));
  assert.ok(
    !makeProgram(dtanh)(randn([1024]), randn([1024])).toString().includes("#"),
  );
});

Deno.test("fusion: an integer division by zero inside a group fails as unfused", () => {
  const f = (a: Tensor, b: Tensor) => a.add(1).remainder(b).mul(2);
  const a = tensor([1, 2, 3], { dtype: "int32" });
  const b = tensor([1, 0, 2], { dtype: "int32" });
  assert.throws(() => jit(f)(a, b), /division by zero/);
  assert.throws(() => jit(f, { fuse: false })(a, b), /division by zero/);
  assert.throws(
    () => jit(f, { fuse: 1 as unknown as boolean }),
    /fuse must be a boolean/,
  );
});

Deno.test("fusion: a bias broadcast along leading dims and a per-row value along trailing dims", () => {
  // [700, 3] + [3] (i mod 3), times [700, 1] (i / 3), across blocks.
  const f = (x: Tensor, b: Tensor, c: Tensor) => x.add(b).tanh().mul(c).sub(b);
  for (const dtype of ["float32", "float64"] as const) {
    const [g] = checkFused(f, [
      randn([700, 3], { dtype }),
      randn([3], { dtype }),
      randn([700, 1], { dtype }),
    ]);
    assert.equal(g.eqns.length, 4);
  }
  // [2, 1, 4] over [2, 3, 4] broadcasts a middle dim: not fused.
  const h = (x: Tensor, y: Tensor) => x.add(y).exp();
  const groups = checkFused(h, [randn([2, 3, 4]), randn([2, 1, 4])], 0);
  assert.equal(groups.length, 0);
});

Deno.test("fusion: read modes of broadcast operands", () => {
  assert.deepEqual(readMode([3], [700, 3]), [2, 3]);
  assert.deepEqual(readMode([1, 4], [2, 3, 4]), [2, 4]);
  assert.deepEqual(readMode([700, 1], [700, 3]), [3, 3]);
  assert.deepEqual(readMode([2, 1, 1], [2, 3, 4]), [3, 12]);
  assert.deepEqual(readMode([], [5]), [1, 0]);
  assert.deepEqual(readMode([1, 1], [1]), [0, 0]);
  assert.equal(readMode([2, 1, 4], [2, 3, 4]), null);
});

Deno.test("fusion: every unary and binary primitive inside a chain matches unfused bit for bit", async () => {
  const { UNARY_PRIMS, BINARY_PRIMS } = await import(
    "../src/core/primitives.ts"
  );
  const { bind } = await import("../src/core/trace.ts");
  const n = 2085; // two blocks and a ragged tail
  for (const dtype of ["float32", "float64"] as const) {
    const x = randn([n], { dtype }), y = randn([n], { dtype });
    for (const prim of UNARY_PRIMS) {
      // A producer before and a consumer after, so the op is a member.
      const f = (a: Tensor) =>
        bind(prim, [a.mul(0.7).add(0.2)], null as never).add(a);
      checkFused(f, [x]);
    }
    for (const prim of BINARY_PRIMS) {
      const f = (a: Tensor, b: Tensor) =>
        bind(prim, [a.mul(1.5), b.abs().add(0.5)], null as never).add(1);
      checkFused(f, [x, y]);
    }
  }
  const a = tensor(Array.from({ length: 1700 }, (_, i) => (i % 23) - 11), {
    dtype: "int32",
  });
  for (const prim of ["add", "sub", "mul", "maximum", "minimum", "eq", "lt"]) {
    const f = (u: Tensor) =>
      bind(prim as "add", [u.mul(3), u.add(2)], null as never).add(1);
    checkFused(f, [a]);
  }
});
