/**
 * A 1,000-step explicit Euler integration of a 16-dimensional ODE,
 * x ← x + dt·tanh(A x), written with `scan`: the traced program holds one
 * copy of the step, so `jit` compiles one step instead of 1,000. Its
 * gradient with respect to A (reverse mode through the loop: residuals
 * stored per step, the transposed step run backwards) is checked against
 * the unrolled loop, and both versions are timed under `jit`: first call
 * (trace + compile + run) and later calls.
 *
 *   npx --yes deno@2 run examples/ode_scan.ts [--quick]
 *
 * Every result is checked; a disagreement throws.
 * @module
 */
import {
  allclose,
  grad,
  jit,
  makeProgram,
  random,
  scan,
  type Tensor,
} from "../mod.ts";
import { fmtMs, QUICK, timeAll } from "./_util.ts";

const N = 16, STEPS = 1000, DT = 0.01;
const key = random.key(0);
const [ka, kx] = random.split(key, 2);
const A0 = random.normal(ka, [N, N]).mul(1 / Math.sqrt(N));
const x0 = random.normal(kx, [N]);

/** One Euler step. */
const step = (A: Tensor, x: Tensor) =>
  x.add(A.matmul(x.reshape([N, 1])).reshape([N]).tanh().mul(DT));

/** The final state's squared norm, integrated with scan. */
function withScan(A: Tensor, x: Tensor): Tensor {
  const [xT] = scan((c: Tensor) => [step(A, c), null], x, null, {
    length: STEPS,
  });
  return xT.square().sum();
}

/** The same with a JavaScript loop: 1,000 copies of the step when traced. */
function unrolled(A: Tensor, x: Tensor): Tensor {
  let c = x;
  for (let i = 0; i < STEPS; i++) c = step(A, c);
  return c.square().sum();
}

function check(what: string, a: Tensor, b: Tensor, rtol = 1e-4): void {
  if (!allclose(a, b, { rtol, atol: 1e-5 })) {
    throw new Error(`${what}: scan and the unrolled loop disagree`);
  }
  console.log(`ok: ${what}: scan == unrolled`);
}

const scanEqns = makeProgram(withScan)(A0, x0).eqns.length;
const unrolledEqns = makeProgram(unrolled)(A0, x0).eqns.length;
console.log(
  `traced equations: scan ${scanEqns}, unrolled ${unrolledEqns}`,
);
if (scanEqns > 20) throw new Error("the scan program should hold one step");

const now = () => performance.now();
const firstCall = <F extends (A: Tensor, x: Tensor) => Tensor>(f: F) => {
  const t0 = now();
  const y = f(A0, x0);
  y.data();
  return { y, ms: now() - t0 };
};

const jScan = jit(withScan), jUnrolled = jit(unrolled);
const gScan = jit(grad(withScan)), gUnrolled = jit(grad(unrolled));
const fs = firstCall(jScan), fu = firstCall(jUnrolled);
const gs = firstCall(gScan), gu = firstCall(gUnrolled);
check("final |x|²", fs.y, fu.y);
check("gradient w.r.t. A", gs.y, gu.y);
check("eager gradient w.r.t. A", grad(withScan)(A0, x0), gu.y);
console.log(
  `first call (trace + compile + run): jit(scan) ${
    fmtMs(fs.ms)
  }, jit(unrolled) ${fmtMs(fu.ms)}`,
);
console.log(
  `first call of the gradient: jit(grad(scan)) ${
    fmtMs(gs.ms)
  }, jit(grad(unrolled)) ${fmtMs(gu.ms)}`,
);
await timeAll([
  ["jit(scan)(A, x0)", () => jScan(A0, x0)],
  ["jit(unrolled)(A, x0)", () => jUnrolled(A0, x0)],
  ["jit(grad(scan))(A, x0)", () => gScan(A0, x0)],
  ["jit(grad(unrolled))(A, x0)", () => gUnrolled(A0, x0)],
], QUICK ? 5 : 50);
console.log("All results agree.");
