// Random programs (tests/_random_programs.ts, without kinks) under the
// transforms, in float64: the gradient against central finite differences,
// forward mode against reverse mode, Hessian-vector products three ways
// (forward over reverse, reverse over reverse, finite differences of the
// gradient), vmap against a loop, jacfwd against jacrev, and the Hessian
// against its products. Every rule of every primitive in the mix meets
// broadcasting, transposed products and reductions at several depths.
//
// A fixed seed and 150 programs by default; JACOBI_TRANSFORMS_PROGRAMS and
// JACOBI_TRANSFORMS_SEED change them (`deno task test:long` runs 3,000).
import {
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  stack,
  type Tensor,
  vjp,
  vmap,
} from "../mod.ts";
import {
  assertClose,
  env,
  inner,
  largestIntermediate,
  randnT,
  Rng,
} from "./_helpers.ts";
import { randomProgram, SIZES } from "./_random_programs.ts";

const PROGRAMS = Number(env("JACOBI_TRANSFORMS_PROGRAMS") ?? 150);
const SEED = Number(env("JACOBI_TRANSFORMS_SEED") ?? 20261203);

/**
 * Exact identities between modes: only rounding apart, at the scale of the
 * largest value `f` computes on `args` (a result that cancels terms of 10⁸,
 * such as the Hessian of logSoftmax under a large shift, keeps their
 * rounding, which the two modes order differently).
 */
function tight(
  f: (...a: Tensor[]) => Tensor | Tensor[],
  args: Tensor[],
): { rtol: number; atol: number } {
  return { rtol: 1e-8, atol: 1e-10 + 1e-12 * largestIntermediate(f, args) };
}

Deno.test(`transforms on random programs: ${PROGRAMS} programs (seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  // The largest sizes cost seconds per Hessian: the first six suffice.
  const sizes = SIZES.slice(0, 6);
  for (let i = 0; i < PROGRAMS; i++) {
    const [m, n, p] = sizes[i % sizes.length];
    const prog = randomProgram(rng, m, n, p, { smooth: true });
    const args = prog.inputs.map((s) => randnT(rng, s).mul(0.5));
    const [x0, ...rest] = args;
    const F = (x: Tensor) => prog.f(x, ...rest);
    const v = randnT(rng, x0.shape);
    const what = `program ${i} [${m},${n},${p}]: ${prog.text}`;
    try {
      checkProgram(F, (x) => prog.last(x, ...rest), x0, v);
    } catch (e) {
      throw new Error(`${what}\n${(e as Error).stack}`);
    }
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 0));
  }
});

function checkProgram(
  F: (x: Tensor) => Tensor,
  last: (x: Tensor) => Tensor,
  x: Tensor,
  v: Tensor,
) {
  const g = grad(F)(x);
  const gv = inner(g, v);
  // Central differences with a step for float64, extrapolated (Richardson:
  // (4·D(h/2) − D(h))/3 cancels the h² term, which on programs like
  // sin(s·x/(1 + x²)) with large s reaches 10⁻⁴ of the value at h = 10⁻⁵),
  // against a loose tolerance.
  const h = 1e-5;
  const central = (k: number) =>
    (F(x.add(v.mul(k))).item() - F(x.sub(v.mul(k))).item()) / (2 * k);
  const fd = (4 * central(h / 2) - central(h)) / 3;
  const scale = 1 + Math.abs(gv) + Math.abs(F(x).item());
  assertClose(
    fd,
    gv,
    { rtol: 1e-5, atol: 1e-6 * scale },
    "grad vs finite differences",
  );

  // Forward mode: the same directional derivative.
  const [, tangent] = jvp(F, [x], [v]);
  assertClose((tangent as Tensor).item(), gv, {
    rtol: 1e-8,
    atol: 1e-10 * scale,
  }, "jvp vs grad");

  // Hessian-vector products: forward over reverse, reverse over reverse.
  const G = (y: Tensor) => grad(F)(y);
  const [, fwd] = jvp(G, [x], [v]);
  const [, back] = vjp(G, x);
  const hvpTol = tight((y: Tensor) => vjp(G, y)[1](v)[0] as Tensor, [x]);
  assertClose(fwd as Tensor, back(v)[0], hvpTol, "hvp: jvp(grad) vs vjp(grad)");
  const centralG = (k: number) =>
    G(x.add(v.mul(k))).sub(G(x.sub(v.mul(k)))).div(2 * k);
  const fdg = centralG(h / 2).mul(4).sub(centralG(h)).div(3);
  const hs = 1 + (fwd as Tensor).abs().max().item();
  assertClose(
    fwd as Tensor,
    fdg,
    { rtol: 1e-4, atol: 1e-5 * hs },
    "hvp vs finite differences",
  );

  // vmap of the gradient over three points, against a loop.
  const xs = stack([x, x.add(v.mul(0.1)), x.sub(v.mul(0.2))]);
  const looped = stack([0, 1, 2].map((b) => G(xs.select(0, b))));
  assertClose(vmap(G)(xs), looped, tight(G, [x]), "vmap(grad) vs loop");

  // Jacobians of the last value both ways, and the Hessian, when small.
  const out = last(x);
  if (out.size * x.size <= 4096) {
    assertClose(
      jacfwd(last)(x),
      jacrev(last)(x),
      tight(jacrev(last), [x]),
      "jacfwd vs jacrev",
    );
  }
  if (x.size <= 40) {
    const H = hessian(F)(x).reshape([x.size, x.size]);
    const Hv = H.matmul(v.reshape([x.size, 1])).reshape(x.shape);
    assertClose(Hv, fwd as Tensor, hvpTol, "hessian · v vs hvp");
  }
}
