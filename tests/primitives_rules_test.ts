/**
 * Rule tables are complete at run time (the compiler checks their types too),
 * and the primitive table of primitives_cases.ts covers every primitive:
 * the coverage map, with the expected failures in one place.
 * @module
 */
import {
  ALL_PRIMS,
  type LinearPrim,
  type Prim,
} from "../src/core/primitives.ts";
import { shapeRules } from "../src/core/rules/abstract_eval.ts";
import { lowerings } from "../src/core/lowering.ts";
import { jvpRules } from "../src/core/rules/jvp.ts";
import { batchRules } from "../src/core/rules/batch.ts";
import { LinearArg, transposeRules } from "../src/core/rules/transpose.ts";
import { linearizeFlat } from "../src/core/ad.ts";
import { CASES, EXPECTED_FAILURES, type OpCase } from "./primitives_cases.ts";
import {
  assertClose,
  assertShape,
  inner,
  primsOf,
  randnT,
  Rng,
} from "./_helpers.ts";
import { grad, type Tensor } from "../mod.ts";

/** Every linear primitive, spelled out: the compiler rejects a missing or unknown key. */
const LINEAR: Record<LinearPrim, true> = {
  neg: true,
  add: true,
  sub: true,
  mul: true,
  div: true,
  where: true,
  sum: true,
  reshape: true,
  permute: true,
  broadcastTo: true,
  slice: true,
  pad: true,
  cat: true,
  indexSelect: true,
  indexAdd: true,
  cast: true,
  matmul: true,
  triangularSolve: true,
  solve: true,
  custom: true,
  scan: true,
  cond: true,
  while: true,
  conv: true,
  convTranspose: true,
  convWeightGrad: true,
};
/**
 * `custom` carries user rules (customJvp, customVjp, checkpoint), not an
 * operation of its own: tests/custom_test.ts checks it through every
 * transform instead of the primitive table.
 */
const TESTED_ELSEWHERE: readonly Prim[] = ["custom"];
const LINEAR_PRIMS = Object.keys(LINEAR) as LinearPrim[];

const sorted = (xs: Iterable<string>) => [...xs].sort().join(", ");

function assertComplete(
  what: string,
  table: Record<string, unknown>,
  names: readonly string[],
): void {
  const missing = names.filter((p) => typeof table[p] !== "function");
  const extra = Object.keys(table).filter((k) => !names.includes(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `${what}: missing rules for [${missing}], rules for unknown primitives [${extra}]`,
    );
  }
}

Deno.test("ALL_PRIMS lists each primitive once", () => {
  const seen = new Set<string>();
  const dups = ALL_PRIMS.filter((p) => seen.has(p) || !seen.add(p));
  if (dups.length > 0) throw new Error(`repeated primitives: ${dups}`);
  if (ALL_PRIMS.length < 40) {
    throw new Error(`only ${ALL_PRIMS.length} primitives`);
  }
});

Deno.test("every primitive has a shape rule, a lowering, a JVP rule and a batching rule", () => {
  assertComplete("shapeRules", shapeRules, ALL_PRIMS);
  assertComplete("lowerings", lowerings, ALL_PRIMS);
  assertComplete("jvpRules", jvpRules, ALL_PRIMS);
  assertComplete("batchRules", batchRules, ALL_PRIMS);
});

Deno.test("every LinearPrim has a transpose rule, and only primitives do", () => {
  assertComplete("transposeRules", transposeRules, LINEAR_PRIMS);
  const unknown = LINEAR_PRIMS.filter((p) => !ALL_PRIMS.includes(p));
  if (unknown.length > 0) {
    throw new Error(`LinearPrim names unknown primitives: ${unknown}`);
  }
});

/**
 * The primitives of a case's linear programs (first order, and of the
 * gradient of ⟨f, 1⟩ for second order): what the transposes in the vjp and
 * grad(grad) checks run.
 */
function linearPrimsOf(c: OpCase, seed: number): Set<Prim> {
  const args = c.args(new Rng(seed));
  const diff = args.map((_, i) => i).filter((i) =>
    args[i].dtype !== "int32" && !(c.constArgs ?? []).includes(i)
  );
  const f = (xs: Tensor[]) => {
    const all = [...args];
    diff.forEach((d, k) => (all[d] = xs[k]));
    return c.fn(...all);
  };
  const xs = diff.map((d) => args[d]);
  const first = linearizeFlat("test", (ys) => [[f(ys)], undefined], xs);
  const g = grad((...ys: Tensor[]) => f(ys).sum(), {
    argnums: xs.map((_, i) => i),
  });
  const second = linearizeFlat(
    "test",
    (ys) => [g(...ys) as Tensor[], undefined],
    xs,
  );
  return new Set(
    [...first.program.eqns, ...second.program.eqns].map((e) => e.prim),
  );
}

/** Primitive → names of the cases whose forward pass binds it (declared and recorded). */
function coverageMap(): Map<Prim, string[]> {
  const map = new Map<Prim, string[]>(ALL_PRIMS.map((p) => [p, []]));
  for (const c of CASES) for (const p of c.prims) map.get(p)!.push(c.name);
  return map;
}

Deno.test("each primitive table case binds the primitives it declares", () => {
  const wrong: string[] = [];
  CASES.forEach((c, i) => {
    const seen = primsOf(c.fn, c.args(new Rng(i)));
    const missing = c.prims.filter((p) => !seen.has(p));
    if (missing.length > 0) {
      wrong.push(
        `${c.name}: declares [${missing}] but binds only [${sorted(seen)}]`,
      );
    }
  });
  if (wrong.length > 0) throw new Error(wrong.join("\n"));
});

Deno.test("the primitive table covers every primitive except the expected failures", () => {
  const map = coverageMap();
  const uncovered = ALL_PRIMS.filter((p) =>
    map.get(p)!.length === 0 && !(p in EXPECTED_FAILURES) &&
    !TESTED_ELSEWHERE.includes(p)
  );
  if (uncovered.length > 0) {
    throw new Error(`no numeric test exercises: ${uncovered}`);
  }
  for (const [p, why] of Object.entries(EXPECTED_FAILURES)) {
    if (!ALL_PRIMS.includes(p as Prim)) {
      throw new Error(`expected failure for unknown primitive ${p}`);
    }
    if (!why) throw new Error(`expected failure for ${p} gives no reason`);
  }
  // Differentiable primitives are covered by a case with derivative checks.
  const differentiated = new Set(
    CASES.filter((c) => !c.noGrad).flatMap((c) => c.prims),
  );
  const integerOnly = ALL_PRIMS.filter((p) =>
    !differentiated.has(p) && !TESTED_ELSEWHERE.includes(p) &&
    !(p in EXPECTED_FAILURES)
  );
  if (sorted(integerOnly) !== sorted(["argmax", "argmin"])) {
    throw new Error(`primitives without derivative checks: ${integerOnly}`);
  }
});

Deno.test("every linear primitive's transpose rule is run by a vjp check", () => {
  const inTapes = new Map<Prim, string[]>();
  CASES.forEach((c, i) => {
    if (c.noGrad) return;
    for (const p of linearPrimsOf(c, i)) {
      if (!(p in transposeRules)) {
        throw new Error(
          `${c.name}: ${p} appears in a linear program but has no transpose rule`,
        );
      }
      inTapes.set(p, [...(inTapes.get(p) ?? []), c.name]);
    }
  });
  // No JVP rule records `sub` on tangents (sub's own JVP is neg + add); its
  // transpose rule is checked directly by the test below.
  const direct: Prim[] = ["sub", ...TESTED_ELSEWHERE];
  const unexercised = LINEAR_PRIMS.filter((p) =>
    !inTapes.has(p) && !direct.includes(p) && !(p in EXPECTED_FAILURES)
  );
  if (unexercised.length > 0) {
    throw new Error(`transpose rules never exercised: ${unexercised}`);
  }
});

// Prints the coverage map with `deno test tests/primitives_rules_test.ts -- --coverage-map`.
if (Deno.args.includes("--coverage-map")) {
  Deno.test("coverage map", () => {
    for (const [p, names] of coverageMap()) {
      console.log(
        `${p.padEnd(12)} ${names.length} case(s): ${names.join("; ")}`,
      );
    }
  });
}

Deno.test("transposeRules.sub satisfies ⟨L t, c⟩ = ⟨t, Lᵀ c⟩ with broadcasting", () => {
  const rng = new Rng(7);
  const a = randnT(rng, [2, 1, 3]), b = randnT(rng, [4, 1]);
  const c = randnT(rng, [2, 4, 3]);
  const [ca, cb] = transposeRules.sub(c, [
    new LinearArg({ shape: a.shape, dtype: "float64" }),
    new LinearArg({ shape: b.shape, dtype: "float64" }),
  ], null);
  assertShape(ca!, a.shape, "cotangent of a");
  assertShape(cb!, b.shape, "cotangent of b");
  const lhs = inner(a.sub(b), c), rhs = inner(a, ca!) + inner(b, cb!);
  assertClose(lhs, rhs, { rtol: 1e-12, atol: 1e-12 }, "⟨a - b, c⟩");
  // With one operand a constant, only the linear one gets a cotangent.
  const [, only] = transposeRules.sub(c, [
    a,
    new LinearArg({ shape: b.shape, dtype: "float64" }),
  ], null);
  assertClose(
    only!,
    c.sum([0, 2]).reshape([4, 1]).neg(),
    {},
    "cotangent of b alone",
  );
});
