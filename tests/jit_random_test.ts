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
  getNumThreads,
  grad,
  jit,
  makeProgram,
  scan,
  setNumThreads,
  stack,
  type Tensor,
  vmap,
} from "../mod.ts";
import {
  assertClose,
  assertSameBits,
  env,
  largestIntermediate,
  randnT,
  Rng,
} from "./_helpers.ts";
import {
  type RandomProgram,
  randomProgram,
  SIZES,
} from "./_random_programs.ts";

const PROGRAMS = Number(env("JACOBI_JIT_PROGRAMS") ?? 600);
const SEED = Number(env("JACOBI_JIT_SEED") ?? 20261202);

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

/**
 * jit(f) against f, with f's optimized program in the message on failure;
 * `tol`'s absolute part is scaled by each output's magnitude ({@link scaled}).
 */
function agree(
  f: (...a: Tensor[]) => Tensor | Tensor[],
  args: Tensor[],
  tol: { rtol: number; atol: number },
  what: string,
) {
  try {
    const want = [f(...args)].flat();
    const inner = largestIntermediate(f, args);
    // Twice: the second call reuses the compiled plan and its arena.
    const jf = jit(f);
    for (const call of [1, 2]) {
      const got = [jf(...args)].flat();
      want.forEach((x, k) =>
        assertClose(
          got[k],
          x,
          scaled(tol, x, inner),
          `call ${call}, output ${k}`,
        )
      );
    }
  } catch (e) {
    const program = makeProgram(f, { optimize: true })(...args);
    throw new Error(`${what}\n${(e as Error).stack}\n${program}`);
  }
}

/**
 * `tol` with its absolute part relative to the largest magnitude of
 * `want`, and (a hundredth of it) to that of the largest intermediate
 * value: jit reassociates sums (products, CSE, a gradient's contributions
 * in another order), and an entry that cancels terms of 10⁹ down to 3 keeps
 * their rounding (10⁻⁷ in float64), which an entry-wise relative tolerance
 * would flag although both orders are right.
 */
function scaled(
  tol: { rtol: number; atol: number },
  want: Tensor,
  inner = 0,
): { rtol: number; atol: number } {
  const scale = want.abs().max().item();
  return { rtol: tol.rtol, atol: tol.atol * (1 + scale + inner / 100) };
}

function check(
  prog: RandomProgram,
  args: Tensor[],
  what: string,
  i: number,
) {
  const tol64 = { rtol: 1e-9, atol: 1e-9 };
  agree(prog.last, args, tol64, what);
  agree(prog.f, args, tol64, what);
  agree(grad(prog.f, { argnums: [0, 2, 3] }), args, tol64, `${what}: grad`);
  if (i % 6 === 4) {
    // A compiled function inside grad and vmap: its program is bound
    // equation by equation under the outer transform.
    const g = grad((...a: Tensor[]) => jit(prog.f)(...a), { argnums: [0, 2] });
    const want = grad(prog.f, { argnums: [0, 2] })(...args);
    const got = g(...args);
    want.forEach((w, k) =>
      assertClose(got[k], w, scaled(tol64, w), `${what}: grad(jit) ${k}`)
    );
    const xs = stack([args[0], args[1]]);
    const vj = vmap((x: Tensor) => jit(prog.last)(x, ...args.slice(1)))(xs);
    const vl = stack(
      [0, 1].map((b) => prog.last(xs.select(0, b), ...args.slice(1))),
    );
    assertClose(vj, vl, scaled(tol64, vl), `${what}: vmap(jit)`);
  }
  if (i % 4 === 1) {
    // vmap over a stack of three first inputs, against a loop of f.
    const xs = stack([args[0], args[1], args[0].neg()]);
    const batched = (x: Tensor, ...rest: Tensor[]) =>
      vmap((xi: Tensor) => prog.last(xi, ...rest))(x);
    const want = stack(
      [0, 1, 2].map((b) => prog.last(xs.select(0, b), ...args.slice(1))),
    );
    try {
      assertClose(
        jit(batched)(xs, ...args.slice(1)),
        want,
        scaled(tol64, want),
      );
    } catch (e) {
      throw new Error(`${what} (vmap)\n${(e as Error).stack}`);
    }
  }
  if (i % 4 === 3) {
    // Four steps of c ← 0.9·c + 0.1·tanh(s·last(c, ...)) as a scan (the
    // program is a loop body) and as a loop, values and the gradient wrt
    // the weight. The constant s keeps tanh's argument near [-1, 1]: a
    // saturated tanh, or the sum of cat(v, -v), turns the rounding of
    // terms of 10⁴ into differences of 10⁻⁸ between equally right orders.
    const y0 = prog.last(...args);
    const sameShape = y0.shape.length === 2 &&
      y0.shape[0] === args[0].shape[0] && y0.shape[1] === args[0].shape[1];
    const s = 1 / (1 + (sameShape ? y0.abs().max() : y0.abs().sum()).item());
    const step = (c: Tensor, rest: Tensor[]) => {
      const y = prog.last(c, ...rest);
      const z = sameShape ? y : y.sum();
      return c.mul(0.9).add(z.mul(s).tanh().mul(0.1));
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
      const loopedValue = looped(...args);
      assertClose(
        jit(scanned)(...args),
        loopedValue,
        scaled(tol64, loopedValue),
      );
      const gs = jit(grad(scanned, { argnums: [0, 2] }))(...args);
      const gl = grad(looped, { argnums: [0, 2] })(...args);
      gl.forEach((g, k) =>
        assertClose(gs[k], g, scaled(tol64, g), `grad ${k}`)
      );
    } catch (e) {
      throw new Error(`${what} (scan)\n${(e as Error).stack}`);
    }
  }
  if (i % 5 === 2) {
    // Fusion (the GEMM epilogues, and the fused runs compiled to
    // WebAssembly at the largest size) keeps every bit of the unfused
    // program, in both float types.
    const g = grad(prog.f, { argnums: [0, 2] });
    for (const dtype of ["float32", "float64"] as const) {
      const a = args.map((x) => x.to(dtype));
      for (const [name, fn] of [["value", prog.last], ["grad", g]] as const) {
        const fused = [jit(fn)(...a)].flat();
        const plain = [jit(fn, { fuse: false })(...a)].flat();
        fused.forEach((t, k) =>
          assertSameBits(t, plain[k], `${what}: fused ${name} ${k} (${dtype})`)
        );
      }
    }
  }
  if (i % 3 === 0) {
    // agree scales the absolute tolerance by each output's magnitude.
    const a32 = args.map((a) => a.to("float32"));
    agree(prog.last, a32, { rtol: 2e-4, atol: 2e-4 }, `${what} (float32)`);
  }
}
