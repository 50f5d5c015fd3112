/**
 * Keyed random numbers: determinism, independence of derived keys, the
 * TypeScript Philox against the kernel, distributions (moments and
 * frequencies at tolerances several standard errors wide), and how keys
 * behave inside jit, vmap and grad.
 * @module
 */
import {
  arange,
  grad,
  jit,
  nn,
  random,
  softmax,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";
import { philox } from "./_philox.ts";
import { assertClose, assertThrowsWith } from "./_helpers.ts";

const values = (t: Tensor) => Array.from(t.data());
const same = (a: Tensor, b: Tensor) =>
  values(a).length === values(b).length &&
  values(a).every((v, i) => Object.is(v, values(b)[i]));
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const variance = (v: number[]) => {
  const m = mean(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
};
function near(got: number, want: number, tol: number, what: string): void {
  if (!(Math.abs(got - want) <= tol)) {
    throw new Error(`${what}: ${got}, expected ${want} ± ${tol}`);
  }
}

Deno.test("Philox in TypeScript matches the known answer and the kernel's uniforms", () => {
  const kat = philox([0, 0, 0, 0], 0, 0);
  if (kat.join() !== [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].join()) {
    throw new Error(`Philox(0, 0) = ${kat.map((w) => w.toString(16))}`);
  }
  // A key with words (k0, k1): the kernel's seed is its low 53 bits and the
  // counter starts at (k1 >>> 21) · 2^32; float64 uniforms take 53 bits.
  const [, k] = random.split(random.key(3)); // all 64 bits random
  const [k0, k1] = values(k).map((v) => v >>> 0);
  const u = values(random.uniform(k, [6], { dtype: "float64" }));
  const seed1 = k1 & 0x1fffff, ctrHi = k1 >>> 21;
  u.forEach((v, i) => {
    const w = philox([i, ctrHi, 0, 0], k0, seed1);
    const expected = Number(((BigInt(w[0]) << 32n) | BigInt(w[1])) >> 11n) /
      2 ** 53;
    if (v !== expected) throw new Error(`element ${i}: ${v} vs ${expected}`);
  });
});

Deno.test("keys: the same key gives the same numbers, whatever was drawn in between", () => {
  const k = random.key(7);
  const a = random.normal(k, [5]);
  random.uniform(random.key(8), [1000]);
  random.split(k, 10);
  const b = random.normal(random.key(7), [5]);
  if (!same(a, b)) throw new Error("normal(key(7)) changed");
  // A prefix of a longer draw is the shorter draw (element i uses counter i).
  if (!same(random.uniform(k, [3]), random.uniform(k, [7]).slice(0, 0, 3))) {
    throw new Error("uniform draws are not prefix-stable");
  }
});

Deno.test("split and foldIn derive distinct keys, unlike the parent, and split is prefix-stable", () => {
  const k = random.key(0);
  const kids = [...random.split(k, 6)];
  const folded = [0, 1, 2, 2 ** 40].map((d) => random.foldIn(k, d));
  const all = [k, ...kids, ...folded].map((t) => values(t).join(","));
  if (new Set(all).size !== all.length) {
    throw new Error(`repeated keys: ${all}`);
  }
  const again = [...random.split(k, 3)];
  again.forEach((t, i) => {
    if (!same(t, kids[i])) {
      throw new Error(`split(k, 3)[${i}] differs from split(k, 6)[${i}]`);
    }
  });
  if (!same(random.foldIn(k, 5), random.foldIn(random.key(0), 5))) {
    throw new Error("foldIn is not deterministic");
  }
  // Streams of sibling keys are uncorrelated.
  const [a, b] = kids.slice(0, 2).map((t) =>
    values(random.normal(t, [20000], { dtype: "float64" }))
  );
  const corr = mean(a.map((v, i) => v * b[i]));
  near(corr, 0, 0.03, "correlation of sibling streams");
  // Negative and large seeds are valid and distinct.
  if (same(random.key(-1), random.key(2 ** 53 - 1))) {
    throw new Error("seeds -1 and 2^53-1 collide");
  }
});

Deno.test("uniform and normal: ranges, dtypes and moments", () => {
  const k = random.key(1);
  const u = random.uniform(k, [40000]);
  if (u.dtype !== "float32") throw new Error("default dtype");
  const uv = values(u);
  if (!uv.every((v) => v >= 0 && v < 1)) {
    throw new Error("uniform outside [0, 1)");
  }
  near(mean(uv), 0.5, 0.005, "uniform mean");
  near(variance(uv), 1 / 12, 0.003, "uniform variance");
  const s = values(
    random.uniform(k, [20000], { minval: -3, maxval: 5, dtype: "float64" }),
  );
  if (!s.every((v) => v >= -3 && v < 5)) {
    throw new Error("scaled uniform outside [-3, 5)");
  }
  near(mean(s), 1, 0.05, "scaled uniform mean");
  const z = values(random.normal(random.key(2), [40000], { dtype: "float64" }));
  near(mean(z), 0, 0.015, "normal mean");
  near(variance(z), 1, 0.02, "normal variance");
  const third = mean(z.map((v) => v ** 3)), fourth = mean(z.map((v) => v ** 4));
  near(third, 0, 0.08, "normal skew"); // 4 standard errors (√(15/n))
  near(fourth, 3, 0.15, "normal kurtosis");
  if (random.normal(k).ndim !== 0) throw new Error("default shape is a scalar");
});

Deno.test("randint, bernoulli, categorical and permutation: supports and frequencies", () => {
  const r = values(random.randint(random.key(3), [30000], -2, 4));
  const counts = [-2, -1, 0, 1, 2, 3].map((v) =>
    r.filter((x) => x === v).length / r.length
  );
  if (r.some((v) => v < -2 || v > 3 || !Number.isInteger(v))) {
    throw new Error("randint range");
  }
  counts.forEach((c, i) =>
    near(c, 1 / 6, 0.015, `randint frequency of ${i - 2}`)
  );
  const b = values(random.bernoulli(random.key(4), 0.3, [20000]));
  near(mean(b), 0.3, 0.015, "bernoulli frequency");
  const p = tensor([0.1, 0.9]);
  const bt = random.bernoulli(random.key(5), p, [10000, 2]);
  const cols = [0, 1].map((j) => mean(values(bt.select(1, j))));
  near(cols[0], 0.1, 0.015, "bernoulli p[0]");
  near(cols[1], 0.9, 0.015, "bernoulli p[1]");
  const logits = tensor([0, 1, 2, -1]);
  const draws = values(
    random.categorical(random.key(6), logits, { shape: [40000] }),
  );
  const probs = values(softmax(logits));
  probs.forEach((q, c) =>
    near(
      draws.filter((d) => d === c).length / draws.length,
      q,
      0.012,
      `categorical class ${c}`,
    )
  );
  const batch = random.categorical(
    random.key(7),
    tensor([[0, 0, 30], [30, 0, 0]]),
    { axis: 1 },
  );
  assertClose(batch, tensor([2, 0], { dtype: "int32" }));
  const perm = values(random.permutation(random.key(8), 50));
  if ([...perm].sort((a, b) => a - b).join() !== values(arange(50)).join()) {
    throw new Error("not a permutation");
  }
  if (
    same(
      random.permutation(random.key(8), 50),
      random.permutation(random.key(9), 50),
    )
  ) {
    throw new Error("two keys gave the same permutation");
  }
  const rows = random.permutation(random.key(8), arange(10).reshape([5, 2]));
  const order = values(random.permutation(random.key(8), 5));
  assertClose(rows, order.flatMap((i) => [2 * i, 2 * i + 1]));
});

Deno.test("truncatedNormal: inside the bounds, with the truncated mean, also in a far tail", () => {
  const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
  const z = values(
    random.truncatedNormal(random.key(10), -2, 2, [20000], {
      dtype: "float64",
    }),
  );
  if (!z.every((v) => v >= -2 && v <= 2)) throw new Error("outside [-2, 2]");
  near(mean(z), 0, 0.02, "truncated mean on [-2, 2]");
  // Var of N(0,1) on [-a, a]: 1 - 2 a φ(a) / (2Φ(a) - 1); Φ(2) - Φ(-2) = 0.9544997361036416.
  near(
    variance(z),
    1 - (4 * phi(2)) / 0.9544997361036416,
    0.02,
    "truncated variance",
  );
  const t = values(
    random.truncatedNormal(random.key(11), 1, 3, [20000], { dtype: "float64" }),
  );
  // E = (φ(1) - φ(3)) / (Φ(3) - Φ(1)), Φ(3) - Φ(1) = 0.15730535589982697.
  near(
    mean(t),
    (phi(1) - phi(3)) / 0.15730535589982697,
    0.01,
    "truncated mean on [1, 3]",
  );
  const far = values(
    random.truncatedNormal(random.key(12), 8, 9, [2000], { dtype: "float64" }),
  );
  if (!far.every((v) => v >= 8 && v <= 9)) throw new Error("outside [8, 9]");
  // Conditioned on x > 8 the excess is about exponential with rate 8.
  near(mean(far) - 8, 1 / 8, 0.01, "mean excess in the tail beyond 8");
  const half = values(
    random.truncatedNormal(random.key(13), 0, Infinity, [20000], {
      dtype: "float64",
    }),
  );
  near(mean(half), Math.sqrt(2 / Math.PI), 0.015, "half-normal mean");
});

Deno.test("nn.init: bounds and variances follow the fans", () => {
  const k = random.key(14);
  const w = values(nn.init.glorotUniform(k, [200, 100]));
  const a = Math.sqrt(6 / 300);
  if (!w.every((v) => Math.abs(v) <= a)) {
    throw new Error("glorotUniform outside its bound");
  }
  near(variance(w), a * a / 3, 0.05 * a * a / 3, "glorotUniform variance");
  near(
    variance(values(nn.init.glorotNormal(k, [200, 100]))),
    2 / 300,
    0.05 * 2 / 300,
    "glorotNormal variance",
  );
  near(
    variance(values(nn.init.heNormal(k, [64, 32, 3, 3]))),
    2 / (32 * 9),
    0.06 * 2 / 288,
    "heNormal variance (conv fans)",
  );
  const hu = values(nn.init.heUniform(k, [300, 50], { mode: "fanOut" }));
  const b = Math.sqrt(2) * Math.sqrt(3 / 300);
  if (!hu.every((v) => Math.abs(v) <= b)) {
    throw new Error("heUniform outside its bound");
  }
  assertClose(nn.init.zeros(k, [2], { dtype: "float64" }), [0, 0]);
  assertClose(nn.init.ones(k, [2]), [1, 1]);
  assertThrowsWith(
    () => nn.init.heNormal(k, [5]),
    RangeError,
    "nn.init.heNormal",
    "at least 2 dims",
  );
});

Deno.test("keys inside transforms: closed over, traced by jit and vmap, beside grad", () => {
  const k = random.key(15);
  const noisy = (x: Tensor) => x.add(random.normal(k, [3]));
  const x = tensor([1, 2, 3]);
  const f = jit(noisy);
  assertClose(f(x), noisy(x));
  assertClose(f(x.mul(2)), noisy(x.mul(2)));
  // Traced parameters: categorical's logits, bernoulli's p.
  const pick = jit((l: Tensor) => random.categorical(k, l));
  assertClose(
    pick(tensor([[0, 0, 9], [9, 0, 0]])),
    tensor([2, 0], { dtype: "int32" }),
  );
  const keep = (p: Tensor) => random.bernoulli(k, p, [4]).mul(p).sum();
  assertClose(
    grad(keep)(tensor(0.5)),
    values(random.bernoulli(k, tensor(0.5), [4])).reduce((a, b) => a + b),
  );
  // A key passed to vmap unbatched, or beside differentiated arguments.
  const xs = tensor([[1, 2, 3], [4, 5, 6]]);
  const addNoise = (x: Tensor, key: Tensor) => x.add(random.normal(key, [3]));
  assertClose(
    vmap(addNoise, { inDims: [0, null] })(xs, k),
    xs.add(random.normal(k, [3])),
  );
  const scaleNoise = (x: Tensor, key: Tensor) =>
    x.mul(random.normal(key, [3])).sum();
  assertClose(grad(scaleNoise)(x, k), random.normal(k, [3]));
  // A traced key: a jit argument, a batch of keys under vmap.
  const jn = jit((key: Tensor) => random.normal(key, [2]));
  if (!same(jn(k), random.normal(k, [2]))) throw new Error("jit(normal)");
  const [k1, k2, k3] = random.split(k, 3);
  assertClose(
    vmap((key: Tensor) => random.uniform(key, [2]))(random.split(k, 3)),
    tensor([
      values(random.uniform(k1, [2])),
      values(random.uniform(k2, [2])),
      values(random.uniform(k3, [2])),
    ]),
    { rtol: 0, atol: 0 },
  );
  assertThrowsWith(
    () => random.normal(tensor([1, 2]), [2]),
    TypeError,
    "expected a key",
  );
  assertThrowsWith(
    () => random.normal(random.split(k, 3), [2]),
    TypeError,
    "a batch of keys",
  );
  assertThrowsWith(
    () => random.uniform(k, [2], { minval: 1, maxval: 1 }),
    RangeError,
    "minval < maxval",
  );
  assertThrowsWith(
    () => random.normal(k, [2], { dtype: "int32" }),
    TypeError,
    "dtype",
  );
  assertThrowsWith(
    () => random.randint(k, [2], 0, 2 ** 40),
    RangeError,
    "int32",
  );
  assertThrowsWith(() => random.key(1.5), TypeError, "seed");
  assertThrowsWith(
    () => random.foldIn(k, tensor([1, 2])),
    TypeError,
    "shape []",
  );
  assertThrowsWith(() => [...tensor(1)], TypeError, "0-d tensor");
});
