/**
 * The transform checks every case table runs (as JAX's `check_grads` and
 * `_CheckBatching` and PyTorch's OpInfo tests), in float64:
 * - jvp against a central difference in a random direction;
 * - vjp through ⟨J t, c⟩ = ⟨t, Jᵀ c⟩;
 * - second order: jvp(grad), grad(grad) and vjp(grad) of ⟨f, c⟩ against
 *   central differences of its gradient;
 * - jacrev, jacfwd and hessian against each other and jvp;
 * - vmap against stacking f(x[i]), for several inDims (0, 1, -1, null),
 *   vmap(vmap(f)) against a double loop, and vmap of jvp, of vjpFn and of
 *   grad against stacking;
 * - jit (traced on the first call, run on the second) against eager
 *   evaluation, in float64 and float32: the same lowerings in one executor
 *   run give the same bits; and jit on new values (the compiled program
 *   replayed) and jit(grad) against eager.
 * primitives_numeric_test.ts runs the primitive table (primitives_cases.ts)
 * through them, composites_numeric_test.ts the composite table.
 * @module
 */
import assert from "node:assert/strict";
import {
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  type Tensor,
  vjp,
  vmap,
} from "../mod.ts";
import { executorStats } from "../src/core/executor.ts";
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
import type { OpCase } from "./primitives_cases.ts";

/**
 * One row of a case table: the primitive table's row without its list of
 * primitives (declared there, so that rows added to that table and the
 * checks cannot drift apart).
 */
export type CheckCase = Omit<OpCase, "prims">;

const B = 3;

/** Which arguments are differentiated. */
function diffIndices(c: CheckCase, args: Tensor[]): number[] {
  return args.map((_, i) => i).filter((i) =>
    args[i].dtype !== "int32" && !(c.constArgs ?? []).includes(i)
  );
}

/** `fn` as a function of the differentiated arguments only. */
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
  f: (...xs: Tensor[]) => Tensor;
  ref: (...xs: Tensor[]) => Tensor;
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
  const f = partial(c.fn, args, diff);
  const ref = c.fdRef ? partial(c.fdRef(args), args, diff) : f;
  const y = c.fn(...args);
  return {
    f,
    ref,
    xs,
    ts: xs.map((x) => randnT(rng, x.shape)),
    y,
    c: randnT(rng, y.shape),
    fdTol: c.tol?.fd ?? 1e-6,
    exactTol: c.tol?.exact ?? 1e-10,
    h: c.fdStep ?? FD_STEP,
  };
}

/** ⟨f(xs), c⟩ as a scalar function, and its gradient (all arguments, as an array). */
function scalarised(s: Setup, f: (...xs: Tensor[]) => Tensor) {
  const obj = (...xs: Tensor[]) => f(...xs).mul(s.c).sum();
  const g = grad(obj, { argnums: s.xs.map((_, i) => i) }) as (
    ...xs: Tensor[]
  ) => Tensor[];
  return g;
}

export function checkJvp(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const [y, t] = jvp(s.f, s.xs, s.ts) as [Tensor, Tensor];
  assertClose(y, s.y, {}, "jvp primal output");
  const [fd] = centralDiff(s.ref, s.xs, s.ts, s.h);
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
    throw new Error(
      `⟨J t, c⟩ = ${lhs} but ⟨t, Jᵀ c⟩ = ${rhs} (difference ${
        Math.abs(lhs - rhs)
      })`,
    );
  }
}

export function checkSecondOrder(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const g = scalarised(s, s.f);
  const gRef = scalarised(s, s.ref);
  const rng = new Rng(seed + 1);
  const us = s.xs.map((x) => randnT(rng, x.shape));
  const tol = { rtol: s.fdTol, atol: s.fdTol };
  // H t by forward-over-reverse.
  const [, ht] = jvp(g, s.xs, s.ts) as [Tensor[], Tensor[]];
  const fdT = centralDiff(gRef, s.xs, s.ts, s.h);
  ht.forEach((v, i) => assertClose(v, fdT[i], tol, `jvp(grad) argument ${i}`));
  // H u by reverse-over-reverse.
  const hu = grad((...xs: Tensor[]) => {
    const gs = g(...xs);
    return gs.map((v, i) => v.mul(us[i]).sum()).reduce((a, b) => a.add(b));
  }, { argnums: s.xs.map((_, i) => i) })(...s.xs) as Tensor[];
  const fdU = centralDiff(gRef, s.xs, us, s.h);
  hu.forEach((v, i) => assertClose(v, fdU[i], tol, `grad(grad) argument ${i}`));
  // uᵀH by reverse-over-reverse through vjp (H is symmetric).
  const [, vjpFn] = vjp(g, ...s.xs);
  const uh = vjpFn(us) as Tensor[];
  uh.forEach((v, i) => assertClose(v, fdU[i], tol, `vjp(grad) argument ${i}`));
}

type Dim = number | null;

/** Batch dims to try: all 0, all -1, all 1, each argument unbatched in turn, and each alone batched. */
function inDimsCombos(args: Tensor[]): Dim[][] {
  // Dim 1 of a batched rank-0 argument does not exist: use 0 there.
  const valid = (d: number, a: Tensor) => (d === 1 && a.ndim < 1 ? 0 : d);
  const combos: Dim[][] = [
    args.map(() => 0),
    args.map(() => -1),
    args.map((a) => valid(1, a)),
  ];
  if (args.length > 1) {
    const cycle = [1, -1, 0];
    args.forEach((_, k) => {
      combos.push(
        args.map((a, i) => (i === k ? null : valid(cycle[(i + k) % 3], a))),
      );
      // Only argument k batched (at dim 1 where it has one).
      combos.push(args.map((a, i) => (i === k ? valid(1, a) : null)));
    });
  }
  return combos;
}

/** B fresh samples of the arguments, stacked along their batch dims. */
function batchedArgs(
  c: CheckCase,
  rng: Rng,
  dims: Dim[],
): { samples: Tensor[][]; batched: Tensor[] } {
  const samples = Array.from({ length: B }, () => c.args(rng));
  const batched = dims.map((d, j) => {
    if (d === null) return samples[0][j];
    const rank = samples[0][j].ndim + 1;
    const axis = d < 0 ? d + rank : d;
    return stackOf(B, (i) => samples[i][j]).movedim(0, axis);
  });
  return { samples, batched };
}

export function checkVmap(c: CheckCase, seed: number): void {
  const rng = new Rng(seed);
  const probe = c.args(rng);
  for (const dims of inDimsCombos(probe)) {
    const { samples, batched } = batchedArgs(c, rng, dims);
    const entry = (i: number) =>
      samples[i].map((x, j) => (dims[j] === null ? samples[0][j] : x));
    const expected = stackOf(B, (i) => c.fn(...entry(i)));
    const label = `inDims [${dims.map(String).join(", ")}]`;
    const got = vmap(c.fn, { inDims: dims })(...batched);
    assertClose(got, expected, {}, `vmap ${label}`);
    if (expected.ndim >= 2) {
      const moved = vmap(c.fn, { inDims: dims, outDims: -1 })(...batched);
      assertClose(
        moved,
        expected.movedim(0, -1),
        {},
        `vmap ${label}, outDims -1`,
      );
    }
  }
}

/**
 * vmap(vmap(f)): an outer batch of 2 at dim 0 and an inner batch of 3 at
 * dim -1; with several arguments, also the first one batched only by the
 * outer vmap (inner inDims null).
 */
export function checkNestedVmap(c: CheckCase, seed: number): void {
  const rng = new Rng(seed + 3);
  const nargs = c.args(rng).length;
  const innerCombos: Dim[][] = [Array(nargs).fill(-1)];
  if (nargs > 1) innerCombos.push([null, ...Array(nargs - 1).fill(-1)]);
  for (const inner of innerCombos) {
    const samples = Array.from(
      { length: 2 },
      () => Array.from({ length: 3 }, () => c.args(rng)),
    );
    const args = samples[0][0].map((_, j) =>
      stackOf(
        2,
        (o) => (inner[j] === null
          ? samples[o][0][j]
          : stackOf(3, (i) =>
            samples[o][i][j]).movedim(0, -1)),
      )
    );
    const got = vmap(vmap(c.fn, { inDims: inner }), { inDims: 0 })(...args);
    const expected = stackOf(
      2,
      (o) =>
        stackOf(3, (i) =>
          c.fn(
            ...samples[o][i].map((
              x,
              j,
            ) => (inner[j] === null ? samples[o][0][j] : x)),
          )),
    );
    assertClose(
      got,
      expected,
      {},
      `vmap(vmap(f, inDims [${inner.map(String)}]))`,
    );
  }
}

/** Σ_i J_i · t_i: Jacobian blocks [out ++ in_i] contracted with inputs t_i. */
function contract(
  blocks: Tensor[],
  ts: Tensor[],
  outShape: readonly number[],
): Tensor {
  const n = outShape.reduce((a, b) => a * b, 1);
  return blocks
    .map((J, i) =>
      J.reshape([n, ts[i].size]).matmul(ts[i].reshape([ts[i].size]))
    )
    .reduce((a, b) => a.add(b))
    .reshape(outShape);
}

export function checkJacobians(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const all = { argnums: s.xs.map((_, i) => i) };
  const tol = { rtol: s.exactTol, atol: s.exactTol };
  const fwd = jacfwd(s.f, all)(...s.xs) as Tensor[];
  const rev = jacrev(s.f, all)(...s.xs) as Tensor[];
  s.xs.forEach((x, i) => {
    assertShape(fwd[i], [...s.y.shape, ...x.shape], `jacfwd block ${i}`);
    assertClose(rev[i], fwd[i], tol, `jacrev vs jacfwd block ${i}`);
  });
  const [, jt] = jvp(s.f, s.xs, s.ts) as [Tensor, Tensor];
  assertClose(contract(fwd, s.ts, s.y.shape), jt, tol, "jacfwd · t vs jvp");
  if (c.firstOrderOnly) return;
  // hessian of ⟨f, c⟩: row i of blocks, contracted with t, is (H t)_i = jvp(grad).
  const obj = (...xs: Tensor[]) => s.f(...xs).mul(s.c).sum();
  const H = hessian(obj, all)(...s.xs) as Tensor[][];
  const [, ht] = jvp(scalarised(s, s.f), s.xs, s.ts) as [Tensor[], Tensor[]];
  s.xs.forEach((x, i) => {
    assertClose(
      contract(H[i], s.ts, x.shape),
      ht[i],
      tol,
      `hessian row ${i} · t vs jvp(grad)`,
    );
    s.xs.forEach((_, j) => {
      assertClose(
        H[i][j],
        H[j][i].permute(permSwap(s.xs[j].ndim, x.ndim)),
        tol,
        `hessian block [${i}][${j}] symmetric`,
      );
    });
  });
}

/** Permutation taking a [b ++ a] block to [a ++ b] (ranks rb, ra). */
function permSwap(rb: number, ra: number): number[] {
  return [
    ...Array.from({ length: ra }, (_, k) => rb + k),
    ...Array.from({ length: rb }, (_, k) => k),
  ];
}

export function checkVmapOfDerivatives(c: CheckCase, seed: number): void {
  const s = setup(c, seed);
  const rng = new Rng(seed + 2);
  const n = s.xs.length;
  const tol = { rtol: 1e-10, atol: 1e-10 };
  // vmap∘jvp over a batch of tangents (at -1) and primals (at 0).
  const xb = s.xs.map((x) =>
    stackOf(B, (i) => (i === 0 ? x : x.add(randnT(rng, x.shape).mul(0.01))))
  );
  const tb = s.xs.map((x) =>
    stackOf(B, () => randnT(rng, x.shape)).movedim(0, -1)
  );
  const jvpT = (...xt: Tensor[]) =>
    (jvp(s.f, xt.slice(0, n), xt.slice(n)) as [Tensor, Tensor])[1];
  const gotJ = vmap(jvpT, {
    inDims: [...s.xs.map(() => 0), ...s.xs.map(() => -1)],
  })(...xb, ...tb);
  const expJ = stackOf(
    B,
    (i) =>
      jvpT(...xb.map((x) => x.select(0, i)), ...tb.map((t) => t.select(-1, i))),
  );
  assertClose(gotJ, expJ, tol, "vmap(jvp)");
  // vmap(vjpFn) over a batch of cotangents: the Jacobian by rows.
  const [, vjpFn] = vjp(s.f, ...s.xs);
  const cb = stackOf(B, () => randnT(rng, s.y.shape));
  const gotV = vmap((ct: Tensor) => vjpFn(ct) as Tensor[])(cb) as Tensor[];
  s.xs.forEach((_, k) => {
    const expV = stackOf(B, (i) => (vjpFn(cb.select(0, i)) as Tensor[])[k]);
    assertClose(gotV[k], expV, tol, `vmap(vjpFn) argument ${k}`);
  });
  // vmap(grad) over a batch of primals.
  const g = scalarised(s, s.f);
  const gotG = vmap(g)(...xb) as Tensor[];
  s.xs.forEach((_, k) => {
    const expG = stackOf(B, (i) => g(...xb.map((x) => x.select(0, i)))[k]);
    assertClose(gotG[k], expG, tol, `vmap(grad) argument ${k}`);
  });
}

export function checkJit(c: CheckCase, seed: number): void {
  for (const dtype of ["float64", "float32"] as const) {
    const args = c.args(new Rng(seed)).map((a) =>
      a.dtype === "int32" ? a : a.to(dtype)
    );
    const want = c.fn(...args);
    const jf = jit(c.fn);
    const first = jf(...args); // traces, compiles and runs
    const runs = executorStats.runs;
    const second = jf(...args);
    assert.equal(executorStats.runs, runs + 1, `${dtype}: one executor run`);
    const exact = { rtol: 0, atol: 0 };
    assertClose(first, want, exact, `${dtype}: first jit call vs eager`);
    assertClose(second, want, exact, `${dtype}: second jit call vs eager`);
  }
}

/** jit on new values (the compiled program replayed), and jit(grad), against eager. */
export function checkJitReplay(c: CheckCase, seed: number): void {
  const rng = new Rng(seed + 5);
  const jf = jit(c.fn);
  for (const round of [0, 1]) {
    const args = c.args(rng);
    assertClose(jf(...args), c.fn(...args), {}, `jit call ${round + 1}`);
  }
  if (c.noGrad) return;
  const s = setup(c, seed);
  const g = scalarised(s, s.f);
  const jg = jit(g);
  for (const round of [0, 1]) {
    const xs = s.xs.map((x) => randnT(rng, x.shape).mul(0.01).add(x));
    const got = jg(...xs), exp = g(...xs);
    got.forEach((v, i) =>
      assertClose(v, exp[i], {}, `jit(grad) call ${round + 1}, argument ${i}`)
    );
  }
}

/** Registers every check that applies to each case, seeded by its index. */
export function registerChecks(
  cases: readonly CheckCase[],
  base: number,
): void {
  cases.forEach((c, idx) => {
    const seed = base + 17 * idx;
    if (!c.noGrad) {
      Deno.test(`${c.name}: jvp matches central finite differences`, () =>
        checkJvp(c, seed));
      Deno.test(`${c.name}: vjp satisfies ⟨J t, c⟩ = ⟨t, Jᵀ c⟩`, () =>
        checkVjp(c, seed));
      if (!c.firstOrderOnly) {
        Deno.test(
          `${c.name}: jvp(grad), grad(grad) and vjp(grad) match differences of the gradient`,
          () => checkSecondOrder(c, seed),
        );
      }
      Deno.test(`${c.name}: jacrev, jacfwd and hessian agree with each other and with jvp`, () =>
        checkJacobians(c, seed));
      Deno.test(`${c.name}: vmap of jvp, vjpFn and grad matches stacking`, () =>
        checkVmapOfDerivatives(c, seed));
    }
    Deno.test(`${c.name}: jit equals eager in float64 and float32`, () =>
      checkJit(c, seed));
    Deno.test(`${c.name}: jit on new values and jit(grad) match eager`, () =>
      checkJitReplay(c, seed));
    Deno.test(`${c.name}: vmap(vmap(f)) matches a double loop`, () =>
      checkNestedVmap(c, seed));
    Deno.test(`${c.name}: vmap matches stacking f(x[i]) for inDims 0, 1, -1 and null`, () =>
      checkVmap(c, seed));
  });
}
