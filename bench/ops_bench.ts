/**
 * einsum against the plain compositions a user would write without it
 * (matmul with permutes and reshapes, or a product and a sum), eager and
 * under `jit`, forward and gradient, float32: a batched matrix product, an
 * attention-score contraction with a transposed operand, and a row-wise
 * dot product. (softmax, logsumexp and crossEntropy are in
 * composites_bench.ts, conv2d and maxPool2d in conv_bench.ts.)
 *
 *   npx --yes deno@2 bench bench/ops_bench.ts
 */
import { einsum, grad, jit, random, type Tensor } from "../mod.ts";

const keys = [...random.split(random.key(0), 6)];
const cases: {
  name: string;
  eq: string;
  shapes: number[][];
  plain: (a: Tensor, b: Tensor) => Tensor;
}[] = [
  {
    name: "batched matmul bij,bjk->bik [32, 64, 64]",
    eq: "bij,bjk->bik",
    shapes: [[32, 64, 64], [32, 64, 64]],
    plain: (a, b) => a.matmul(b),
  },
  {
    name: "attention scores bhqd,bhkd->bhqk [4, 8, 64, 32]",
    eq: "bhqd,bhkd->bhqk",
    shapes: [[4, 8, 64, 32], [4, 8, 64, 32]],
    plain: (q, k) => q.matmul(k.transpose(-2, -1)),
  },
  {
    name: "row-wise dot ij,ij->i [1024, 256]",
    eq: "ij,ij->i",
    shapes: [[1024, 256], [1024, 256]],
    plain: (a, b) => a.mul(b).sum(-1),
  },
];

cases.forEach(({ name, eq, shapes, plain }, i) => {
  const group = `einsum ${name} float32`;
  const [a, b] = shapes.map((s, j) => random.normal(keys[(2 * i + j) % 6], s));
  const ours = (a: Tensor, b: Tensor) => einsum(eq, a, b);
  const scalar = (f: (a: Tensor, b: Tensor) => Tensor) =>
    grad((a: Tensor, b: Tensor) => f(a, b).square().sum(), { argnums: [0, 1] });
  const jOurs = jit(ours), jPlain = jit(plain);
  const gOurs = scalar(ours), gPlain = scalar(plain);
  const jgOurs = jit(gOurs), jgPlain = jit(gPlain);
  Deno.bench(
    "plain composition",
    { group, baseline: true },
    () => void plain(a, b),
  );
  Deno.bench("einsum", { group }, () => void ours(a, b));
  Deno.bench("plain composition, jit", { group }, () => void jPlain(a, b));
  Deno.bench("einsum, jit", { group }, () => void jOurs(a, b));
  Deno.bench(
    "grad: plain composition, jit",
    { group },
    () => void jgPlain(a, b),
  );
  Deno.bench("grad: einsum, jit", { group }, () => void jgOurs(a, b));
  Deno.bench("grad: plain composition", { group }, () => void gPlain(a, b));
  Deno.bench("grad: einsum", { group }, () => void gOurs(a, b));
});
