/**
 * The Hessian of the chained (extended) Rosenbrock function
 * f(x) = Σ 100 (x[i+1] - x[i]²)² + (1 - x[i])², which is tridiagonal: with
 * `hessian(f, { sparsity, format: "csr" })` a star colouring needs 3
 * Hessian-vector products at any n; the dense `hessian(f)` computes n of
 * them and an n × n result. Float64, eager and under `jit`.
 *
 *   npx --yes deno@2 bench bench/sparse_bench.ts          # deno bench rows
 *   npx --yes deno@2 run bench/sparse_bench.ts --table    # a table of medians
 *
 * The dense Hessian is measured at n ≤ 2,000 only: at n = 10,000 its result
 * alone is 800 MB (and the batched HVPs several times that).
 */
import {
  colorSparsity,
  hessian,
  hessianSparsity,
  jit,
  type SparseMatrix,
  type SparsityPattern,
  type Tensor,
  tensor,
} from "../mod.ts";

/** Chained Rosenbrock. */
export const rosenbrock = (x: Tensor): Tensor => {
  const a = x.slice(0, 0, -1), b = x.slice(0, 1);
  return b.sub(a.square()).square().mul(100).add(a.neg().add(1).square())
    .sum();
};

/** The classic start: -1.2, 1, -1.2, 1, ... */
export const start = (n: number): Tensor =>
  tensor(Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1.2)));

const sparseFns = new Map<number, [SparsityPattern, (x: Tensor) => Tensor]>();
function sparseFor(n: number) {
  let s = sparseFns.get(n);
  if (s === undefined) {
    const p = hessianSparsity(rosenbrock)(start(n));
    s = [
      p,
      jit((x: Tensor) =>
        (hessian(rosenbrock, { sparsity: p, format: "csr" })(x) as SparseMatrix)
          .values
      ),
    ];
    sparseFns.set(n, s);
  }
  return s;
}
const denseJit = jit((x: Tensor) => hessian(rosenbrock)(x));

const SPARSE_N = [1000, 10_000];
const DENSE_N = [250, 500, 1000, 2000];

if (!Deno.args.includes("--table")) {
  for (const n of SPARSE_N) {
    const x = start(n);
    const [p, jitted] = sparseFor(n);
    Deno.bench(
      `sparse hessian (csr, eager) n=${n}`,
      { group: `n=${n}` },
      () => {
        (hessian(rosenbrock, { sparsity: p, format: "csr" })(x) as SparseMatrix)
          .values.data();
      },
    );
    Deno.bench(`sparse hessian (csr, jit) n=${n}`, { group: `n=${n}` }, () => {
      jitted(x).data();
    });
  }
  for (const n of DENSE_N) {
    const x = start(n);
    Deno.bench(
      `dense hessian (eager) n=${n}`,
      { group: `dense n=${n}` },
      () => {
        hessian(rosenbrock)(x).data();
      },
    );
  }
}

function median(f: () => unknown, reps: number): number {
  f(); // warm: tracing, colouring, jit compilation
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

if (Deno.args.includes("--table")) {
  const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
  console.log(
    "n       | colours (HVPs) | detect ms | colour ms | sparse eager ms | sparse jit ms | dense eager ms | dense jit ms",
  );
  for (
    const n of [...new Set([...DENSE_N, ...SPARSE_N])].sort((a, b) => a - b)
  ) {
    const x = start(n);
    let t0 = performance.now();
    const p = hessianSparsity(rosenbrock)(x);
    const detect = performance.now() - t0;
    t0 = performance.now();
    const colours = colorSparsity(p, { kind: "star" }).numColors;
    const colour = performance.now() - t0;
    const [, jitted] = sparseFor(n);
    const eager = median(
      () =>
        (hessian(rosenbrock, { sparsity: p, format: "csr" })(x) as SparseMatrix)
          .values.data(),
      10,
    );
    const jitMs = median(() => jitted(x).data(), 20);
    const dense = DENSE_N.includes(n)
      ? median(() => hessian(rosenbrock)(x).data(), n > 1000 ? 3 : 5)
      : NaN;
    const denseJ = DENSE_N.includes(n)
      ? median(() => denseJit(x).data(), n > 1000 ? 3 : 5)
      : NaN;
    console.log(
      `${String(n).padEnd(7)} | ${String(colours).padEnd(14)} | ${
        ms(detect).padEnd(9)
      } | ${ms(colour).padEnd(9)} | ${ms(eager).padEnd(15)} | ${
        ms(jitMs).padEnd(13)
      } | ${(isNaN(dense) ? "-" : ms(dense)).padEnd(14)} | ${
        isNaN(denseJ) ? "-" : ms(denseJ)
      }`,
    );
  }
}
