/**
 * Random keys under transforms: sampling and key derivation are primitives
 * taking the key as an operand, so a traced key (a `jit` argument, a batch
 * of keys under `vmap`) draws exactly what the same key draws eagerly, bit
 * for bit, whatever the nesting, chunking or call order.
 * @module
 */
import {
  grad,
  jit,
  jvp,
  makeProgram,
  random,
  stack,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";
import { philox } from "./_philox.ts";
import { assertThrowsWith } from "./_helpers.ts";

/** Throws unless `a` and `b` have the same shape, dtype and bits. */
function assertSameBits(a: Tensor, b: Tensor, what: string): void {
  if (a.shape.join() !== b.shape.join() || a.dtype !== b.dtype) {
    throw new Error(
      `${what}: ${a.dtype} [${a.shape}] vs ${b.dtype} [${b.shape}]`,
    );
  }
  const x = a.data(), y = b.data();
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) {
      throw new Error(`${what}: element ${i}: ${x[i]} vs ${y[i]}`);
    }
  }
}

/** Every sampler, as a function of a key alone. */
const SAMPLERS: [string, (k: Tensor) => Tensor][] = [
  ["uniform f32", (k) => random.uniform(k, [5])],
  [
    "uniform f64 [-2, 3)",
    (k) =>
      random.uniform(k, [2, 3], { minval: -2, maxval: 3, dtype: "float64" }),
  ],
  ["normal f32", (k) => random.normal(k, [4])],
  ["normal f64", (k) => random.normal(k, [2, 2], { dtype: "float64" })],
  ["randint", (k) => random.randint(k, [6], -5, 1000)],
  ["bernoulli", (k) => random.bernoulli(k, 0.3, [7])],
  [
    "bernoulli with tensor p",
    (k) => random.bernoulli(k, tensor([0.1, 0.5, 0.9])),
  ],
  [
    "categorical",
    (k) =>
      random.categorical(k, tensor([[0, 1, 2], [2, 1, 0]]), { shape: [3, 2] }),
  ],
  ["permutation of n", (k) => random.permutation(k, 9)],
  [
    "permutation of rows",
    (k) => random.permutation(k, tensor([[1, 2], [3, 4], [5, 6]])),
  ],
  ["truncatedNormal f32", (k) => random.truncatedNormal(k, -1, 2, [5])],
  [
    "truncatedNormal f64 in a far tail",
    (k) => random.truncatedNormal(k, 6, 7, [3], { dtype: "float64" }),
  ],
  ["split", (k) => random.split(k, 3)],
  ["foldIn", (k) => random.foldIn(k, 2 ** 40 + 7)],
  ["foldIn a negative number", (k) => random.foldIn(k, -3)],
  [
    "split, then normal of the second",
    (k) => random.normal([...random.split(k)][1], [3]),
  ],
];

const KEYS = [random.key(0), random.key(-7), random.foldIn(random.key(1), 9)];

Deno.test("jit with the key as an argument draws what eager draws, bit for bit, on every call", () => {
  for (const [name, f] of SAMPLERS) {
    const jf = jit(f);
    for (const k of KEYS) assertSameBits(jf(k), f(k), `jit(${name})`);
  }
});

Deno.test("jit traces the key: one program for every key, with randomSample on its input", () => {
  const p = makeProgram((k: Tensor) => random.normal(k, [3]))(random.key(0));
  const prims = p.eqns.map((e) => e.prim);
  if (prims.join() !== "randomSample") throw new Error(`${prims}`);
  const d = makeProgram((k: Tensor) => random.split(k, 4))(random.key(0));
  if (!d.eqns.some((e) => e.prim === "randomDerive")) {
    throw new Error(`split: ${d.eqns.map((e) => e.prim)}`);
  }
});

Deno.test("vmap over a batch of keys equals a loop over the keys, bit for bit", () => {
  const keys = random.split(random.key(42), 5);
  for (const [name, f] of SAMPLERS) {
    const want = stack([...keys].map(f));
    assertSameBits(vmap(f)(keys), want, `vmap(${name})`);
    // Keys batched along their last dim ([2, B]).
    assertSameBits(
      vmap(f, { inDims: 1 })(keys.T),
      want,
      `vmap(${name}) inDims 1`,
    );
    // Results do not depend on chunking.
    assertSameBits(
      vmap(f, { chunkSize: 2 })(keys),
      want,
      `vmap(${name}) chunkSize 2`,
    );
  }
});

Deno.test("the example from the docs: vmap of normal over split keys", () => {
  const key = random.key(0);
  const rows = vmap((k: Tensor) => random.normal(k, [3]))(
    random.split(key, 8),
  );
  if (rows.shape.join() !== "8,3") throw new Error(`${rows.shape}`);
  [...random.split(key, 8)].forEach((k, i) =>
    assertSameBits(rows.select(0, i), random.normal(k, [3]), `row ${i}`)
  );
});

Deno.test("nested vmap, vmap of jit and jit of vmap over keys equal loops", () => {
  const grid = stack(
    [...random.split(random.key(3), 4)].map((k) => random.split(k, 3)),
  ); // [4, 3, 2]
  for (const [name, f] of SAMPLERS) {
    const want = stack(
      [...grid].map((row) => stack([...row].map(f))),
    );
    assertSameBits(vmap(vmap(f))(grid), want, `vmap(vmap(${name}))`);
    const row = grid.select(0, 1);
    const loop = stack([...row].map(f));
    assertSameBits(vmap(jit(f))(row), loop, `vmap(jit(${name}))`);
    assertSameBits(jit(vmap(f))(row), loop, `jit(vmap(${name}))`);
  }
});

Deno.test("keys split and folded inside vmap and jit equal the eager derivations", () => {
  const keys = random.split(random.key(11), 4);
  // A per-lane split then a draw from each child.
  const f = (k: Tensor) => {
    const [a, b] = random.split(k);
    return random.normal(a, [2]).add(random.uniform(b, [2]));
  };
  assertSameBits(vmap(f)(keys), stack([...keys].map(f)), "vmap(split)");
  assertSameBits(jit(vmap(f))(keys), stack([...keys].map(f)), "jit(vmap)");
  // foldIn with a batch of data: vmap over steps, the key shared.
  const k = random.key(5);
  const steps = tensor([0, 1, 2, 1000, -4], { dtype: "int32" });
  const g = (s: Tensor) => random.foldIn(k, s);
  assertSameBits(
    vmap(g)(steps),
    stack([0, 1, 2, 1000, -4].map((s) => random.foldIn(k, s))),
    "vmap(foldIn) over data",
  );
  // A step counter passed to jit as a number is traced (no retrace) and
  // folds in as the same key.
  const perStep = jit((key: Tensor, step: number) =>
    random.normal(random.foldIn(key, step), [3])
  );
  for (const step of [0, 1, 77, 12345]) {
    assertSameBits(
      perStep(k, step),
      random.normal(random.foldIn(k, step), [3]),
      `foldIn(k, ${step}) under jit`,
    );
  }
  // random.key of a traced seed.
  const fromSeed = jit((seed: Tensor) => random.uniform(random.key(seed), [2]));
  for (const seed of [0, 5, -9]) {
    assertSameBits(
      fromSeed(tensor(seed, { dtype: "int32" })),
      random.uniform(random.key(seed), [2]),
      `key(${seed}) traced`,
    );
  }
});

Deno.test("the derivation primitive is the Philox hash of (data, domain) under the key", () => {
  const k = random.key(12345);
  const [k0, k1] = Array.from(k.data()).map((v) => v >>> 0);
  const kids = random.split(k, 3).data();
  for (let i = 0; i < 3; i++) {
    const w = philox([i, 0, 0x5117, 0], k0, k1);
    if ((kids[2 * i] >>> 0) !== w[0] || (kids[2 * i + 1] >>> 0) !== w[1]) {
      throw new Error(`split child ${i}`);
    }
  }
  const f = random.foldIn(k, 2 ** 33 + 5).data();
  const w = philox([5, 2, 0xf01d, 0], k0, k1);
  if ((f[0] >>> 0) !== w[0] || (f[1] >>> 0) !== w[1]) {
    throw new Error("foldIn words");
  }
});

Deno.test("samples have no derivative: grad and jvp through a traced key see constants", () => {
  const k = random.key(8);
  const x = tensor([1, 2, 3], { dtype: "float64" });
  const f = (x: Tensor, key: Tensor) =>
    x.mul(random.normal(key, [3], { dtype: "float64" })).sum();
  const want = random.normal(k, [3], { dtype: "float64" });
  assertSameBits(grad(f)(x, k), want, "grad beside a key");
  assertSameBits(jit(grad(f))(x, k), want, "jit(grad) with a key argument");
  // Per-example keys and inputs: vmap(grad) over both.
  const keys = random.split(k, 4);
  const xs = stack([x, x.mul(2), x.neg(), x.add(1)]);
  const g = vmap(grad(f))(xs, keys);
  [...keys].forEach((kk, i) =>
    assertSameBits(
      g.select(0, i),
      random.normal(kk, [3], { dtype: "float64" }),
      `vmap(grad) lane ${i}`,
    )
  );
  const [, t] = jvp((x: Tensor) => f(x, k), [x], [tensor([1, 0, 0], {
    dtype: "float64",
  })]) as [Tensor, Tensor];
  if (t.item() !== want.data()[0]) throw new Error("jvp tangent");
});

Deno.test("distributions drawn under vmap have the right moments in every lane", () => {
  const keys = random.split(random.key(2024), 4);
  const z = vmap((k: Tensor) =>
    random.normal(k, [20000], { dtype: "float64" })
  )(keys);
  const u = vmap((k: Tensor) =>
    random.uniform(k, [20000], { dtype: "float64" })
  )(
    keys,
  );
  for (let i = 0; i < 4; i++) {
    const zm = z.select(0, i).mean().item();
    const zv = z.select(0, i).var().item();
    const um = u.select(0, i).mean().item();
    // 4 standard errors: 1/√n = 0.007 for the normal mean.
    if (Math.abs(zm) > 0.03 || Math.abs(zv - 1) > 0.04) {
      throw new Error(`lane ${i}: normal mean ${zm}, variance ${zv}`);
    }
    if (Math.abs(um - 0.5) > 0.01) {
      throw new Error(`lane ${i}: uniform mean ${um}`);
    }
  }
  // Lanes are independent streams: correlation of two lanes near 0.
  const corr = z.select(0, 0).mul(z.select(0, 1)).mean().item();
  if (Math.abs(corr) > 0.03) throw new Error(`lane correlation ${corr}`);
});

Deno.test("results do not depend on call order or on what was drawn before", () => {
  const k = random.key(99);
  const jf = jit((key: Tensor) => random.normal(key, [4]));
  const first = jf(k);
  jf(random.key(100));
  random.uniform(random.key(5), [1000]);
  vmap((key: Tensor) => random.normal(key, [4]))(random.split(k, 3));
  assertSameBits(jf(k), first, "jit after other draws");
  assertSameBits(random.normal(k, [4]), first, "eager after other draws");
  // A prefix of a longer draw is the shorter draw, traced too.
  const long = jit((key: Tensor) => random.uniform(key, [10]))(k);
  assertSameBits(long.slice(0, 0, 4), random.uniform(k, [4]), "prefix");
});

Deno.test("bad keys name the argument and the shape", () => {
  assertThrowsWith(
    () => jit((k: Tensor) => random.normal(k, [2]))(tensor([1, 2])),
    TypeError,
    "random.normal",
    "expected a key",
  );
  assertThrowsWith(
    () =>
      vmap((k: Tensor) => random.uniform(k, [2]))(
        random.split(random.key(0), 3).T,
      ),
    TypeError,
    "random.uniform",
    "expected a key",
  );
});
