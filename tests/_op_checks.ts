/**
 * The transform checks of primitives_numeric_test.ts as reusable functions
 * over a table row, plus jit: every check runs in float64.
 * - jvp against a central difference in a random direction;
 * - vjp through ⟨J t, c⟩ = ⟨t, Jᵀ c⟩;
 * - second order: jvp(grad), grad(grad) and vjp(grad) of ⟨f, c⟩ against
 *   central differences of its gradient;
 * - vmap against stacking f(x[i]), for several inDims (0, 1, -1, null), and
 *   vmap(grad) against stacking grad;
 * - jit against eager, called twice (the second call replays the compiled
 *   program on new values), and jit(grad) against grad.
 * @module
 */
import { grad, jit, jvp, type Tensor, vjp, vmap } from "../mod.ts";
import {
  assertClose,
  assertShape,
  centralDiff,
  FD_STEP,
  innerAll,
  randnT,
  Rng,
  stackOf,
} from "./_helpers.ts";

/** One row of a case table (as OpCase in primitives_cases.ts, without the primitive list). */
export interface CheckCase {
  readonly name: string;
  readonly fn: (...xs: Tensor[]) => Tensor;
  /** Fresh arguments: the same shapes on every call, new values. */
  readonly args: (rng: Rng) => Tensor[];
  /** Arguments that are data, not differentiated; int32 ones always are. */
  readonly constArgs?: readonly number[];
  /** Integer or piecewise-constant output: only vmap and jit apply. */
  readonly noGrad?: boolean;
  /** Finite-difference step (default 1e-6) and tolerances (fd: 1e-6, exact: 1e-10). */
  readonly fdStep?: number;
  readonly tol?: { readonly fd?: number; readonly exact?: number };
  /** No second-order difference check (a kink the step could straddle). */
  readonly firstOrderOnly?: boolean;
}

const B = 3;

function diffIndices(c: CheckCase, args: Tensor[]): number[] {
  return args.map((_, i) => i).filter((i) =>
    args[i].dtype !== "int32" && !(c.constArgs ?? []).includes(i)
  );
}

function partial(
  fn: (...xs: Tensor[]) => Tensor,
  args: Tensor[],
  diff: number[],
): (...xs: Tensor[]) => Tensor {
  return (...xs: Tensor[]) => {
    const all = [...args];
    diff.forEach((d, k) => (all[d] = xs[k]));
    return fn(...all);
  };
}

interface Setup {
  args: Tensor[];
  f: (...xs: Tensor[]) => Tensor;
  xs: Tensor[];
  ts: Tensor[];
  y: Tensor;
  c: Tensor;
  fdTol: number;
  exactTol: number;
  h: number;
}

function setup(c: CheckCase, seed: number): Setup {
  const rng = new Rng(seed);
  const args = c.args(rng);
  const diff = diffIndices(c, args);
  const xs = diff.map((d) => args[d]);
  const y = c.fn(...args);
  return {
    args,
    f: partial(c.fn, args, diff),
    xs,
    ts: xs.map((x) => randnT(rng, x.shape)),
    y,
    c: randnT(rng, y.shape),
    fdTol: c.tol?.fd ?? 1e-6,
    exactTol: c.tol?.exact ?? 1e-10,
    h: c.fdStep ?? FD_STEP,
  };
}

function gradOfInner(s: Setup) {
  const obj = (...xs: Tensor[]) => s.f(...xs).mul(s.c).sum();
  return grad(obj, { argnums: s.xs.map((_, i) => i) }) as (
    ...xs: Tensor[]
  ) => Tensor[];
}

export function checkJvp(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const [y, t] = jvp(s.f, s.xs, s.ts) as [Tensor, Tensor];
  assertClose(y, s.y, {}, "jvp primal output");
  const [fd] = centralDiff(s.f, s.xs, s.ts, s.h);
  assertShape(t, s.y.shape, "tangent");
  assertClose(
    t,
    fd,
    { rtol: s.fdTol, atol: s.fdTol },
    "J·t vs central difference",
  );
}

export function checkVjp(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const [, jt] = jvp(s.f, s.xs, s.ts) as [Tensor, Tensor];
  const [y, vjpFn] = vjp(s.f, ...s.xs);
  assertClose(y, s.y, {}, "vjp primal output");
  const cts = vjpFn(s.c) as Tensor[];
  cts.forEach((ct, i) => assertShape(ct, s.xs[i].shape, `cotangent ${i}`));
  const lhs = innerAll([jt], [s.c]), rhs = innerAll(s.ts, cts);
  const scale = 1 + Math.abs(lhs) + Math.abs(rhs);
  if (!(Math.abs(lhs - rhs) <= s.exactTol * scale)) {
    throw new Error(`⟨J t, c⟩ = ${lhs} but ⟨t, Jᵀ c⟩ = ${rhs}`);
  }
}

export function checkSecondOrder(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const g = gradOfInner(s);
  const rng = new Rng(seed + 1);
  const us = s.xs.map((x) => randnT(rng, x.shape));
  const tol = { rtol: s.fdTol, atol: s.fdTol };
  const [, ht] = jvp(g, s.xs, s.ts) as [Tensor[], Tensor[]];
  const fdT = centralDiff(g, s.xs, s.ts, s.h);
  ht.forEach((v, i) => assertClose(v, fdT[i], tol, `jvp(grad) argument ${i}`));
  const hu = grad((...xs: Tensor[]) => {
    const gs = g(...xs);
    return gs.map((v, i) => v.mul(us[i]).sum()).reduce((a, b) => a.add(b));
  }, { argnums: s.xs.map((_, i) => i) })(...s.xs) as Tensor[];
  const fdU = centralDiff(g, s.xs, us, s.h);
  hu.forEach((v, i) => assertClose(v, fdU[i], tol, `grad(grad) argument ${i}`));
  const [, vjpFn] = vjp(g, ...s.xs);
  const uh = vjpFn(us) as Tensor[];
  uh.forEach((v, i) => assertClose(v, fdU[i], tol, `vjp(grad) argument ${i}`));
}

type Dim = number | null;

function inDimsCombos(args: Tensor[]): Dim[][] {
  const valid = (d: number, a: Tensor) => (d === 1 && a.ndim < 1 ? 0 : d);
  const combos: Dim[][] = [
    args.map(() => 0),
    args.map(() => -1),
    args.map((a) => valid(1, a)),
  ];
  if (args.length > 1) {
    args.forEach((_, k) => {
      combos.push(args.map((a, i) => (i === k ? null : valid(1, a))));
      combos.push(args.map((a, i) => (i === k ? valid(1, a) : null)));
    });
  }
  return combos;
}

export function checkVmap(c: CheckCase, seed: number): void {
  const rng = new Rng(seed);
  const probe = c.args(rng);
  for (const dims of inDimsCombos(probe)) {
    const samples = Array.from({ length: B }, () => c.args(rng));
    const batched = dims.map((d, j) => {
      if (d === null) return samples[0][j];
      const rank = samples[0][j].ndim + 1;
      return stackOf(B, (i) => samples[i][j]).movedim(0, d < 0 ? d + rank : d);
    });
    const entry = (i: number) =>
      samples[i].map((x, j) => (dims[j] === null ? samples[0][j] : x));
    const expected = stackOf(B, (i) => c.fn(...entry(i)));
    const got = vmap(c.fn, { inDims: dims })(...batched);
    assertClose(got, expected, {}, `vmap inDims [${dims.map(String)}]`);
  }
}

export function checkVmapOfGrad(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const rng = new Rng(seed + 2);
  const g = gradOfInner(s);
  const xb = s.xs.map((x) =>
    stackOf(B, (i) => (i === 0 ? x : x.add(randnT(rng, x.shape).mul(0.01))))
  );
  const got = vmap(g)(...xb) as Tensor[];
  s.xs.forEach((_, k) => {
    const exp = stackOf(B, (i) => g(...xb.map((x) => x.select(0, i)))[k]);
    assertClose(got[k], exp, {}, `vmap(grad) argument ${k}`);
  });
}

export function checkJit(c: CheckCase, seed: number): void {
  const rng = new Rng(seed + 5);
  const jf = jit(c.fn);
  for (const round of [0, 1]) {
    const args = c.args(rng);
    assertClose(jf(...args), c.fn(...args), {}, `jit call ${round + 1}`);
  }
  if (c.noGrad) return;
  const s = setup(c, seed);
  const g = gradOfInner(s);
  const jg = jit(g);
  for (const round of [0, 1]) {
    const xs = s.xs.map((x) => randnT(rng, x.shape).mul(0.01).add(x));
    const got = jg(...xs), exp = g(...xs);
    got.forEach((v, i) =>
      assertClose(v, exp[i], {}, `jit(grad) call ${round + 1}, argument ${i}`)
    );
  }
}

/** Registers every check that applies to each case. */
export function registerChecks(cases: readonly CheckCase[], base = 7000): void {
  cases.forEach((c, idx) => {
    const seed = base + 17 * idx;
    if (!c.noGrad) {
      Deno.test(`${c.name}: jvp matches central differences`, () =>
        checkJvp(c, seed));
      Deno.test(`${c.name}: vjp satisfies ⟨J t, c⟩ = ⟨t, Jᵀ c⟩`, () =>
        checkVjp(c, seed));
      if (!c.firstOrderOnly) {
        Deno.test(`${c.name}: second order matches differences of the gradient`, () =>
          checkSecondOrder(c, seed));
      }
      Deno.test(`${c.name}: vmap(grad) matches stacking`, () =>
        checkVmapOfGrad(c, seed));
    }
    Deno.test(`${c.name}: vmap matches a loop for inDims 0, 1, -1, null`, () =>
      checkVmap(c, seed));
    Deno.test(`${c.name}: jit matches eager on two calls (and jit(grad))`, () =>
      checkJit(c, seed));
  });
}
