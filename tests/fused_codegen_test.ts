// Fused elementwise bodies compiled to WebAssembly at run time
// (crates/kernels/src/program/fused/codegen.rs, src/backend/codegen.ts):
// the compiled code keeps a block's values in registers, and must give the
// interpreter's bits for every layout the executor hands it (scalars,
// broadcasts, outputs, row and column reductions, tails shorter than a
// vector, products' epilogues, parts on other threads), and the values of a
// float64 reference.
import assert from "node:assert/strict";
import {
  grad,
  jit,
  linear,
  maximum,
  minimum,
  setNumThreads,
  sum,
  type Tensor,
  tensor,
  where,
} from "../mod.ts";
import { codegenOptions } from "../src/backend/codegen.ts";
import { poolStats, shareCompiled } from "../src/backend/thread_pool.ts";
import { assertClose, assertSameBits, randnT, Rng } from "./_helpers.ts";
import { withPass } from "./_passes.ts";
import { smallPinn } from "./_pinn.ts";

const rng = new Rng(20261202);

type Fn = (...args: Tensor[]) => Tensor | Tensor[];

function list(out: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(out) ? out : [out];
}

/**
 * `jit(f)` with compiled code and without: the same bits. Returns the
 * compiled run's results and how many functions it compiled.
 */
function sameBits(
  what: string,
  f: Fn,
  args: Tensor[],
): { out: Tensor[]; compiled: number } {
  const plain = list(withPass(codegenOptions, false, () => jit(f)(...args)));
  const before = codegenOptions.compiled;
  const out = list(jit(f)(...args));
  const compiled = codegenOptions.compiled - before;
  assert.equal(out.length, plain.length);
  out.forEach((t, i) => assertSameBits(t, plain[i], `${what}, result ${i}`));
  return { out, compiled };
}

/** A chain of every compiled step kind, with scalars and two outputs. */
const chain: Fn = (a, b, c) => {
  const t = a.mul(2).add(b.mul(c)).sub(a.div(c.abs().add(0.5)));
  const u = t.neg().square().sqrt().mul(b);
  return [t.mul(c), u];
};

/** The chain in float64 JavaScript, elementwise. */
function chainRef(a: number, b: number, c: number): [number, number] {
  const t = a * 2 + b * c - a / (Math.abs(c) + 0.5);
  return [t * c, Math.sqrt(t * t) * b];
}

Deno.test("a compiled chain matches the interpreter and a float64 loop", () => {
  // A structure no other test compiles first, so it is compiled here.
  const once: Fn = (a, b) => a.div(b).sub(b.sqrt().abs()).mul(a).neg();
  const x = randnT(rng, [64, 97], "float32");
  const y = randnT(rng, [64, 97], "float32").abs().add(1);
  assert.equal(sameBits("once", once, [x, y]).compiled, 1);
  for (const dtype of ["float32", "float64"] as const) {
    const [a, b, c] = [0, 1, 2].map(() => randnT(rng, [1024, 9], dtype));
    const { out } = sameBits(`chain ${dtype}`, chain, [a, b, c]);
    const [av, bv, cv] = [a, b, c].map((t) => t.data() as Float64Array);
    const want = [0, 1].map((k) =>
      Array.from(av, (v, i) => chainRef(v, bv[i], cv[i])[k])
    );
    const tol = dtype === "float32" ? 1e-4 : 1e-12;
    out.forEach((t, k) => assertClose(t, want[k], { rtol: tol, atol: tol }));
  }
});

Deno.test("compiled code leaves tails shorter than a vector to the interpreter", () => {
  // Lengths around the block (1,024) and the vector widths (4 and 2).
  for (const n of [4096, 4097, 4099, 5 * 1024 + 3, 9001]) {
    for (const dtype of ["float32", "float64"] as const) {
      const args = [0, 1, 2].map(() => randnT(rng, [n], dtype));
      sameBits(`n = ${n} ${dtype}`, chain, args);
    }
  }
});

Deno.test("compiled code reads broadcast operands and feeds reductions", () => {
  const x = randnT(rng, [700, 33], "float32");
  const row = randnT(rng, [33], "float32");
  const col = randnT(rng, [700, 1], "float32");
  const f: Fn = (x, row, col) => {
    const t = x.mul(row).sub(col.mul(3)).div(row.abs().add(1));
    return [sum(t, -1), sum(t.square(), 0), t.neg()];
  };
  assert.ok(sameBits("broadcasts and reductions", f, [x, row, col]).compiled);
  const g: Fn = (x, row) => sum(x.add(row).mul(x), 0);
  sameBits("column sum only", g, [x, row]);
});

Deno.test("maximum, minimum and relu compile with the interpreter's bits", () => {
  const specials = [NaN, 0, -0, 1, -1, Infinity, -Infinity, 2.5];
  let compiled = 0;
  for (const dtype of ["float32", "float64"] as const) {
    for (const n of [4096, 4096 + 3, 3 * 1024 + 2]) {
      const mix = (k: number) =>
        tensor(
          Array.from(
            { length: n },
            (_, i) => i % 5 === 0 ? specials[(i * k) % 8] : rng.normal(),
          ),
          { dtype },
        );
      const f: Fn = (a, b) => {
        const r = a.relu().mul(b);
        return [maximum(a, b).sub(r), minimum(a.neg(), b).mul(a).relu()];
      };
      compiled += sameBits(`relu/max/min ${dtype} n = ${n}`, f, [
        mix(1),
        mix(3),
      ]).compiled;
    }
  }
  assert.ok(compiled >= 2, "compiled for both dtypes");
});

Deno.test("compiled code keeps IEEE special values", () => {
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-45, 3.4e38];
  const n = 4096 + 5;
  const pick = (k: number) =>
    tensor(
      new Float32Array(n).map((_, i) => specials[(i * k + (i >> 3)) % 8]),
    );
  const f: Fn = (a, b) => [a.div(b), a.sub(b).sqrt(), a.mul(b).neg().abs()];
  assert.ok(sameBits("specials", f, [pick(1), pick(3)]).compiled);
});

Deno.test("workers run compiled code too, or interpret without it", () => {
  const bigChain: Fn = (a, b, c) => list(chain(a, b, c)).map((t) => t.add(a));
  try {
    for (const threads of [2, 3]) {
      setNumThreads(threads);
      const args = [0, 1, 2].map(() => randnT(rng, [1 << 17], "float32"));
      const before = poolStats();
      const { out } = sameBits(`${threads} threads`, bigChain, args);
      const after = poolStats();
      assert.ok(after.splitJobs > before.splitJobs, "split across threads");
      if (after.ready > 0) {
        assert.ok(after.sharedCode > 0, "shared with workers");
      }
      setNumThreads(1);
      const one = list(
        withPass(codegenOptions, false, () => bigChain(...args)),
      );
      out.forEach((t, i) => assertSameBits(t, one[i], `vs eager, ${i}`));
    }
    // A worker that cannot compile a shared module puts a stand-in at its
    // index, and the executor interprets the blocks it would have run.
    setNumThreads(2);
    const odd: Fn = (a, b) => a.sub(b).mul(a).div(b.abs().add(2)).neg();
    const args = [0, 1].map(() => randnT(rng, [1 << 17], "float32"));
    const first = sameBits("before", odd, args);
    assert.equal(first.compiled, 1);
    const want = first.out;
    if (poolStats().ready > 0) {
      assert.ok(
        shareCompiled(new Uint8Array([0, 1, 2]), codegenOptions.lastIndex),
      );
    }
    const got = list(jit(odd)(...args));
    got.forEach((t, i) => assertSameBits(t, want[i], `stand-in, ${i}`));
  } finally {
    setNumThreads(1);
  }
});

Deno.test("a product's epilogue runs compiled, split or not", () => {
  const x = randnT(rng, [300, 64], "float32");
  const w = randnT(rng, [96, 64], "float32");
  const b = randnT(rng, [96], "float32");
  const f: Fn = (x, w, b, y) => {
    const h = linear(x, w, b);
    return h.mul(y).sub(h.square().mul(0.5));
  };
  const y = randnT(rng, [300, 96], "float32");
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      sameBits(`epilogue, ${threads} threads`, f, [x, w, b, y]);
    }
  } finally {
    setNumThreads(1);
  }
});

Deno.test("other steps run interpreted between compiled runs", () => {
  const x = randnT(rng, [4096 + 1], "float32");
  const y = randnT(rng, [4096 + 1], "float32");
  // tanh | mul, add, mul (compiled; x·t and the sum read later) | exp |
  // sub, mul (compiled) | where on a compare.
  const f: Fn = (x, y) => {
    const t = x.tanh();
    const u = t.mul(x).add(y).mul(t);
    const v = u.exp().sub(t).mul(y);
    return [u, where(v.gt(0), v, t)];
  };
  assert.ok(sameBits("mixed", f, [x, y]).compiled >= 2);
  // Single arithmetic steps between others: nothing to compile.
  const g: Fn = (x) => x.tanh().mul(x).exp().add(1).sin();
  assert.equal(sameBits("single steps", g, [x]).compiled, 0);
  // The PINN's first layer: an epilogue with tanh and its derivative.
  const w = randnT(rng, [64, 2], "float32");
  const b = randnT(rng, [64], "float32");
  const pts = randnT(rng, [1024, 2], "float32");
  const layer: Fn = (pts, w, b) => {
    const h = linear(pts, w, b).tanh();
    return [h, h.square().neg().add(1), h.mul(2)];
  };
  sameBits("tanh layer", layer, [pts, w, b]);
});

Deno.test("a PINN gradient is the same with compiled code", () => {
  const { p, loss } = smallPinn(rng);
  const pts = randnT(rng, [512, 2]);
  const g = (...a: Tensor[]) => grad(loss)(a.slice(0, 6), a[6]);
  sameBits("pinn grad", g, [...p, pts]);
});
