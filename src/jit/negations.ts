/**
 * Folds negations into the adds, subtractions and products around them,
 * by rewrites that keep every bit of every non-NaN result:
 *
 * - `x + (−y)` → `x − y` and `(−y) + x` → `x − y` (IEEE subtraction is
 *   the addition of the negated operand);
 * - `x − (−y)` → `x + y`;
 * - `−(−x)` → `x`;
 * - `(−a)·b` → `−(a·b)`, `a·(−b)` → `−(a·b)`, `(−a)/b` → `−(a/b)`,
 *   `a/(−b)` → `−(a/b)` (rounding to nearest is symmetric, and the sign of
 *   a zero or infinite result is the XOR of the operands' signs either
 *   way), and `(−a)·(−b)` → `a·b`. A negation moved this way is then folded
 *   into its readers by the rules above, or stays where it was in effect.
 *
 * Reverse mode makes many of these: the derivative of tanh is `1 − y²`,
 * its second derivative `−2y(1 − y²)`, and cotangents flow through
 * `neg`. In the PINN gradient (R3), 6 of the 10 negations of 1,024×64
 * arrays go, each a pass over the array in its fused group. A NaN result
 * may come out with the other sign bit (WebAssembly leaves it unspecified).
 * @module
 */
import {
  type Atom,
  type Aval,
  type Eqn,
  firstFreeVar,
  isVar,
  Program,
} from "../core/ir.ts";
import { sameAval } from "../core/rules/control_shape.ts";
import { sizeOf } from "../core/shape.ts";
import { isFloatDtype } from "../backend/dtype.ts";

/**
 * @internal Whether `optimize` runs the pass (tests and benchmarks compare
 * programs with and without it).
 */
export const negationOptions = { enabled: true };

/** `p` with negations folded; equations made unused are left for DCE. */
export function foldNegations(p: Program): Program {
  // The value each negated variable negates (`neg` equations, and
  // products rewritten as the negation of another product).
  const negOf = new Map<number, Atom>();
  const alias = new Map<number, Atom>();
  const rename = (a: Atom): Atom =>
    isVar(a) && alias.has(a.var) ? alias.get(a.var)! : a;
  // Readers over all equations and outputs, for "only this one reads it".
  const reads = new Map<number, number>();
  const use = (a: Atom | null) => {
    if (a !== null && isVar(a)) reads.set(a.var, (reads.get(a.var) ?? 0) + 1);
  };
  p.eqns.forEach((e) => e.inputs.forEach(use));
  p.outputs.forEach(use);

  let next = firstFreeVar(p);
  const avals = new Map(p.avals);
  const avalOf = (a: Atom): Aval => isVar(a) ? avals.get(a.var)! : a.const;
  const negated = (a: Atom) => (isVar(a) ? negOf.get(a.var) : undefined);

  let changed = false;
  const out: Eqn[] = [];
  for (const e0 of p.eqns) {
    const e: Eqn = { ...e0, inputs: e0.inputs.map(rename) };
    if (!isFloatDtype(e.aval.dtype)) {
      out.push(e);
      continue;
    }
    const [x, y] = e.inputs;
    if (e.prim === "neg") {
      const inner = negated(x);
      if (inner !== undefined && sameAval(avalOf(inner), e.aval)) {
        alias.set(e.out, inner); // −(−x) = x
        changed = true;
        continue;
      }
      negOf.set(e.out, x);
      out.push(e);
      continue;
    }
    if (e.prim === "add" || e.prim === "sub") {
      const ny = negated(y), nx = negated(x);
      if (ny !== undefined) {
        // x + (−y) = x − y; x − (−y) = x + y.
        out.push({
          ...e,
          prim: e.prim === "add" ? "sub" : "add",
          inputs: [x, ny],
        });
        changed = true;
        continue;
      }
      if (e.prim === "add" && nx !== undefined) {
        out.push({ ...e, prim: "sub", inputs: [y, nx] }); // (−y) + x = x − y
        changed = true;
        continue;
      }
      out.push(e);
      continue;
    }
    if (e.prim === "mul" || e.prim === "div") {
      // A negation moves past the product only when it was the operand's
      // only reader and covered the whole result (a broadcast operand's
      // negation would otherwise grow to the result's size).
      const movable = (a: Atom) => {
        const inner = negated(a);
        return inner !== undefined &&
            reads.get((a as { var: number }).var) === 1 &&
            sizeOf(avalOf(a).shape) === sizeOf(e.aval.shape)
          ? inner
          : undefined;
      };
      const nx = negated(x), ny = negated(y);
      if (nx !== undefined && ny !== undefined) {
        out.push({ ...e, inputs: [nx, ny] }); // (−a)·(−b) = a·b
        changed = true;
        continue;
      }
      const mx = movable(x), my = movable(y);
      if (mx !== undefined || my !== undefined) {
        const v = next++;
        avals.set(v, e.aval);
        const inputs = [mx ?? x, my ?? y];
        out.push({ ...e, inputs, out: v });
        out.push({
          prim: "neg",
          inputs: [{ var: v }],
          params: null,
          out: e.out,
          aval: e.aval,
        });
        negOf.set(e.out, { var: v });
        changed = true;
        continue;
      }
    }
    out.push(e);
  }
  if (!changed) return p;
  const outputs = p.outputs.map((o) => (o === null ? null : rename(o)));
  return new Program(p.inputs, out, outputs, p.outputAvals, avals);
}
