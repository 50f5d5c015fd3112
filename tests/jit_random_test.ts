// Random programs under jit against eager evaluation: chains and DAGs of
// elementwise ops with broadcasting operands, products (transposed ones too),
// reductions over either axis and reshapes, at sizes on both sides of the
// fusion and small-product thresholds, so that every rewrite of the
// optimizer (CSE, transpose fold, product sums, fusion, GEMM epilogues,
// OP_MATMUL_ADD) meets shapes it did not expect. Values and gradients are
// compared in float64, and float32 values to float32 rounding; some programs
// also run under vmap (against a loop over the batch) and as the body of a
// scan (against the unrolled loop, gradients included).
//
// A fixed seed and 600 programs by default (a few seconds);
// JACOBI_JIT_PROGRAMS and JACOBI_JIT_SEED change them (`deno task
// test:long` runs 20,000).
import {
  cat,
  cumsum,
  getNumThreads,
  grad,
  jit,
  logSoftmax,
  makeProgram,
  matmul,
  scan,
  setNumThreads,
  stack,
  type Tensor,
  vmap,
  where,
} from "../mod.ts";
import { assertClose, assertSameBits, randnT, Rng } from "./_helpers.ts";

const env = (name: string) => {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
};
const PROGRAMS = Number(env("JACOBI_JIT_PROGRAMS") ?? 600);
const SEED = Number(env("JACOBI_JIT_SEED") ?? 20261202);

type Shape = readonly number[];
/** One value of a random program: its shape and how to compute it. */
interface Val {
  shape: Shape;
  /** Its text, for failure messages. */
  text: string;
  run: (env: Tensor[]) => Tensor;
}

const UNARY: [string, (x: Tensor) => Tensor][] = [
  ["tanh", (x) => x.tanh()],
  ["neg", (x) => x.neg()],
  ["square", (x) => x.square()],
  ["sin", (x) => x.sin()],
  ["exp(-x²)", (x) => x.square().neg().exp()],
  ["mul2", (x) => x.mul(2)],
];
const BINARY: [string, (x: Tensor, y: Tensor) => Tensor][] = [
  ["add", (x, y) => x.add(y)],
  ["sub", (x, y) => x.sub(y)],
  ["mul", (x, y) => x.mul(y)],
  ["maximum", (x, y) => x.maximum(y)],
  ["div1+y²", (x, y) => x.div(y.square().add(1))],
  ["where>", (x, y) => where(x.gt(y), x, y.mul(0.5))],
];

/** Shapes that broadcast to `[m, n]`: itself, a row, a column, a vector, a scalar. */
function broadcastsTo(s: Shape, m: number, n: number): boolean {
  if (s.length === 0) return true;
  if (s.length === 1) return s[0] === n || s[0] === 1;
  return (s[0] === m || s[0] === 1) && (s[1] === n || s[1] === 1);
}

function randomProgram(rng: Rng, m: number, n: number, p: number) {
  const pick = <T>(xs: readonly T[]): T =>
    xs[Math.floor(rng.uniform(0, xs.length))];
  // Inputs: a batch, a second batch, a weight, a bias row, a column.
  const inputs: Shape[] = [[m, n], [m, n], [p, n], [n], [m, 1]];
  const vals: Val[] = inputs.map((shape, i) => ({
    shape,
    text: `in${i}`,
    run: (env) => env[i],
  }));
  const steps = 4 + Math.floor(rng.uniform(0, 8));
  for (let s = 0; s < steps; s++) {
    const x = pick(vals);
    const kind = rng.uniform(0, 1);
    let v: Val | undefined;
    if (kind < 0.2) {
      const [name, f] = pick(UNARY);
      v = {
        shape: x.shape,
        text: `${name}(${x.text})`,
        run: (e) => f(x.run(e)),
      };
    } else if (kind < 0.5) {
      // A partner that broadcasts with x to x's shape (or x to its).
      const [name, f] = pick(BINARY);
      const full = x.shape.length === 2 ? x.shape : undefined;
      const partners = vals.filter((y) =>
        full !== undefined
          ? broadcastsTo(y.shape, full[0], full[1])
          : y.shape.length === 2 &&
            broadcastsTo(x.shape, y.shape[0], y.shape[1])
      );
      if (partners.length === 0) continue;
      const y = pick(partners);
      const shape = full ?? y.shape;
      const [a, b] = rng.uniform(0, 1) < 0.5 ? [x, y] : [y, x];
      v = {
        shape,
        text: `${name}(${a.text}, ${b.text})`,
        run: (e) => f(a.run(e), b.run(e)),
      };
    } else if (kind < 0.7 && x.shape.length === 2) {
      // x · yᵀ over x's last axis, or x · y, or xᵀ · y.
      const [r, c] = x.shape;
      const opts: Val[] = [];
      for (const y of vals) {
        if (y.shape.length !== 2) continue;
        const [yr, yc] = y.shape;
        if (yc === c) {
          opts.push({
            shape: [r, yr],
            text: `(${x.text})·(${y.text})ᵀ`,
            run: (e) => matmul(x.run(e), y.run(e), true),
          });
        }
        if (yr === c) {
          opts.push({
            shape: [r, yc],
            text: `(${x.text})·(${y.text})`,
            run: (e) => matmul(x.run(e), y.run(e)),
          });
        }
        if (yr === r) {
          opts.push({
            shape: [c, yc],
            text: `(${x.text})ᵀ·(${y.text})`,
            run: (e) => matmul(x.run(e).T, y.run(e)),
          });
        }
      }
      if (opts.length === 0) continue;
      v = pick(opts);
    } else if (kind < 0.75) {
      // A scalar: broadcasts against anything later.
      v = { shape: [], text: `sum(${x.text})`, run: (e) => x.run(e).sum() };
    } else if (x.shape.length === 2) {
      const [r, c] = x.shape;
      const which = Math.floor(rng.uniform(0, 10));
      v = which === 0
        ? { shape: [c], text: `sum0(${x.text})`, run: (e) => x.run(e).sum(0) }
        : which === 1
        ? {
          shape: [r, 1],
          text: `sum1k(${x.text})`,
          run: (e) => x.run(e).sum(1, true),
        }
        : which === 2
        ? { shape: [c, r], text: `(${x.text})ᵀ`, run: (e) => x.run(e).T }
        : which === 3
        ? {
          shape: [r * c],
          text: `flat(${x.text})`,
          run: (e) => x.run(e).reshape([r * c]),
        }
        : which === 4
        ? {
          shape: [c, r],
          text: `reshape(${x.text})`,
          run: (e) => x.run(e).reshape([c, r]),
        }
        : which === 5
        ? {
          shape: [c],
          text: `row0(${x.text})`,
          run: (e) => x.run(e).select(0, 0),
        }
        : which === 6
        ? {
          shape: [r, c],
          text: `logSoftmax(${x.text})`,
          run: (e) => logSoftmax(x.run(e), -1),
        }
        : which === 7
        ? {
          shape: [r, c],
          text: `cumsum0(${x.text})`,
          run: (e) => cumsum(x.run(e), 0),
        }
        : which === 8
        ? {
          shape: [2 * r, c],
          text: `cat(${x.text}, -)`,
          run: (e) => cat([x.run(e), x.run(e).neg()], 0),
        }
        : {
          shape: [r, 1],
          text: `mean1k(${x.text})`,
          run: (e) => x.run(e).mean(1, true),
        };
    } else continue;
    vals.push(v);
  }
  // The output: the last values (squared, so products of them matter to
  // the gradient) summed to a scalar, plus the last value itself.
  const tail = vals.slice(-3);
  const text = tail.map((t) => t.text).join(" ; ");
  const f = (...env: Tensor[]) => {
    let total: Tensor | undefined;
    for (const t of tail) {
      const s = t.run(env).square().sum();
      total = total === undefined ? s : total.add(s);
    }
    return total!;
  };
  const last = (...env: Tensor[]) => tail[tail.length - 1].run(env);
  return { inputs, f, last, text };
}

const SIZES: [number, number, number][] = [
  [1, 5, 4],
  [3, 1, 4],
  [3, 5, 1],
  [16, 16, 4],
  [48, 40, 33],
  [40, 64, 16],
  [64, 32, 32],
  // Large enough for two threads to split elementwise work and products.
  [256, 128, 96],
];

Deno.test(`jit random programs: ${PROGRAMS} programs (seed ${SEED}), values and gradients match eager`, async () => {
  const rng = new Rng(SEED);
  // Two threads, so that large instructions are split (results must not
  // depend on it: split.rs and the GEMM cut work without changing sums).
  const threads = getNumThreads();
  setNumThreads(2);
  try {
    await run(rng);
  } finally {
    setNumThreads(threads);
  }
});

async function run(rng: Rng) {
  for (let i = 0; i < PROGRAMS; i++) {
    const [m, n, p] = SIZES[i % SIZES.length];
    const prog = randomProgram(rng, m, n, p);
    const args = prog.inputs.map((s) => randnT(rng, s).mul(0.5));
    const what = `program ${i} [${m},${n},${p}]: ${prog.text}`;
    check(prog, args, what, i);
    // Let finalizers free what the programs left (the test is one long
    // loop; storage.ts explains why a synchronous one never frees).
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 0));
  }
}

/** jit(f) against f, with f's optimized program in the message on failure. */
function agree(
  f: (...a: Tensor[]) => Tensor | Tensor[],
  args: Tensor[],
  tol: { rtol: number; atol: number },
  what: string,
) {
  try {
    const want = f(...args), got = jit(f)(...args);
    const [w, g] = [want, got].map((r) => Array.isArray(r) ? r : [r]);
    w.forEach((x, k) => assertClose(g[k], x, tol, `output ${k}`));
  } catch (e) {
    const program = makeProgram(f, { optimize: true })(...args);
    throw new Error(`${what}\n${(e as Error).stack}\n${program}`);
  }
}

function check(
  prog: ReturnType<typeof randomProgram>,
  args: Tensor[],
  what: string,
  i: number,
) {
  const tol64 = { rtol: 1e-9, atol: 1e-9 };
  agree(prog.last, args, tol64, what);
  agree(prog.f, args, tol64, what);
  agree(grad(prog.f, { argnums: [0, 2, 3] }), args, tol64, `${what}: grad`);
  if (i % 4 === 1) {
    // vmap over a stack of three first inputs, against a loop of f.
    const xs = stack([args[0], args[1], args[0].neg()]);
    const batched = (x: Tensor, ...rest: Tensor[]) =>
      vmap((xi: Tensor) => prog.last(xi, ...rest))(x);
    const want = stack(
      [0, 1, 2].map((b) => prog.last(xs.select(0, b), ...args.slice(1))),
    );
    try {
      assertClose(jit(batched)(xs, ...args.slice(1)), want, tol64);
    } catch (e) {
      throw new Error(`${what} (vmap)\n${(e as Error).stack}`);
    }
  }
  if (i % 4 === 3) {
    // Four steps of c ← 0.9·c + 0.1·tanh(last(c, ...)) as a scan (the
    // program is a loop body) and as a loop, values and the gradient wrt
    // the weight.
    const step = (c: Tensor, rest: Tensor[]) => {
      const y = prog.last(c, ...rest);
      const z = y.shape.length === 2 && y.shape[0] === c.shape[0] &&
          y.shape[1] === c.shape[1]
        ? y
        : y.sum();
      return c.mul(0.9).add(z.tanh().mul(0.1));
    };
    const scanned = (...[x, ...rest]: Tensor[]) =>
      scan((c: Tensor) => [step(c, rest), null], x, null, { length: 4 })[0]
        .square().sum();
    const looped = (...[x, ...rest]: Tensor[]) => {
      let c = x;
      for (let k = 0; k < 4; k++) c = step(c, rest);
      return c.square().sum();
    };
    try {
      assertClose(jit(scanned)(...args), looped(...args), tol64);
      const gs = jit(grad(scanned, { argnums: [0, 2] }))(...args);
      const gl = grad(looped, { argnums: [0, 2] })(...args);
      gl.forEach((g, k) => assertClose(gs[k], g, tol64, `grad ${k}`));
    } catch (e) {
      throw new Error(`${what} (scan)\n${(e as Error).stack}`);
    }
  }
  if (i % 5 === 2) {
    // Fusion (and the GEMM epilogues) keep every bit of the unfused program.
    const a32 = args.map((a) => a.to("float32"));
    const g = grad(prog.f, { argnums: [0, 2] });
    for (const [name, fn] of [["value", prog.last], ["grad", g]] as const) {
      const fused = [jit(fn)(...a32)].flat();
      const plain = [jit(fn, { fuse: false })(...a32)].flat();
      fused.forEach((t, k) =>
        assertSameBits(t, plain[k], `${what}: fused ${name} ${k} (float32)`)
      );
    }
  }
  if (i % 3 === 0) {
    const a32 = args.map((a) => a.to("float32"));
    const scale = prog.last(...a32).abs().max().item();
    const tol32 = { rtol: 2e-4, atol: 2e-4 * (1 + scale) };
    agree(prog.last, a32, tol32, `${what} (float32)`);
  }
}
