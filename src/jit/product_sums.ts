/**
 * Factors products out of sums: `A·X + A·Y` becomes `A·(X + Y)` (and
 * `X·B + Y·B` becomes `(X + Y)·B`), one product instead of two.
 *
 * Reverse mode makes such sums. A weight read by several products on the
 * forward pass gets one gradient term per product, `Σᵢ gᵢᵀ·hᵢ`, and when
 * two of the forward products read the same activation too (a second-order
 * derivative such as a PINN's residual reads `h` in its value and in its
 * tangents) two of those terms share a factor. The pass looks at each sum
 * tree (adds of one shape whose inner nodes nothing else reads), groups its
 * product terms that read the same operand on the same side with the same
 * flags, and replaces each group by one product of the summed other
 * operands. Adding the others costs one pass over them; the product it
 * saves costs at least two flops per element of them.
 *
 * Unlike the transpose fold this changes rounding, as any reassociation
 * does: the sums are formed in another order. Only float products are
 * factored.
 * @module
 */
import {
  type Atom,
  type Aval,
  type Eqn,
  firstFreeVar,
  isVar,
  liveReads,
  Program,
} from "../core/ir.ts";
import type { PrimParams } from "../core/primitives.ts";
import { shapeEq } from "../core/shape.ts";
import { isFloatDtype } from "../backend/dtype.ts";

/**
 * @internal Whether `optimize` runs the pass (tests and benchmarks compare
 * programs with and without it).
 */
export const productSumOptions = { enabled: true };

/**
 * `p` with products that share an operand inside a sum factored out. The
 * equations it replaces are left out; new variables get avals.
 */
export function factorProductSums(p: Program): Program {
  const eqns = p.eqns;
  const def = new Map<number, Eqn>();
  for (const e of eqns) def.set(e.out, e);
  // Readers over the equations the outputs need (dead ones do not count).
  const reads = liveReads(eqns, p.outputs);
  const avals = new Map(p.avals);
  const avalOf = (a: Atom): Aval => isVar(a) ? avals.get(a.var)! : a.const;
  const onlyReader = (a: Atom) => isVar(a) && reads.get(a.var) === 1;

  /** An add of two values of its own shape (no broadcast): a sum node. */
  const isSumNode = (e: Eqn | undefined): e is Eqn =>
    e !== undefined && e.prim === "add" && isFloatDtype(e.aval.dtype) &&
    e.inputs.every((a) => shapeEq(avalOf(a).shape, e.aval.shape));

  // Roots: sum nodes whose value is not an inner node of a larger sum.
  const inner = new Set<number>();
  for (const e of eqns) {
    if (!isSumNode(e) || !reads.has(e.out)) continue;
    for (const a of e.inputs) {
      if (onlyReader(a) && isSumNode(def.get((a as { var: number }).var))) {
        inner.add((a as { var: number }).var);
      }
    }
  }

  let next = firstFreeVar(p);

  const dropped = new Set<number>(); // equations replaced (by out var)
  const before = new Map<number, Eqn[]>(); // new equations, by root var
  let changed = false;

  for (const root of eqns) {
    if (!isSumNode(root) || !reads.has(root.out) || inner.has(root.out)) {
      continue;
    }
    // The tree's terms, left to right, and its inner adds.
    const terms: Atom[] = [];
    const adds: number[] = [];
    // A stack, not recursion: an unrolled loop's sum can be 10⁵ deep.
    const stack: Atom[] = [root.inputs[1], root.inputs[0]];
    adds.push(root.out);
    while (stack.length > 0) {
      const a = stack.pop()!;
      const d = isVar(a) && inner.has(a.var) ? def.get(a.var) : undefined;
      if (d === undefined) terms.push(a);
      else {
        adds.push(d.out);
        stack.push(d.inputs[1], d.inputs[0]);
      }
    }
    if (terms.length < 2) continue;

    // Product terms nothing else reads, grouped by shared operand.
    const groups = new Map<string, { side: number; members: number[] }>();
    const productOf = (a: Atom) => {
      const d = isVar(a) && onlyReader(a) ? def.get(a.var) : undefined;
      return d?.prim === "matmul" && isFloatDtype(d.aval.dtype) ? d : undefined;
    };
    const keyOf = (e: Eqn, side: number) => {
      const { transA, transB } = e.params as PrimParams["matmul"];
      const shared = e.inputs[side];
      const other = avalOf(e.inputs[1 - side]);
      const id = isVar(shared) ? `v${shared.var}` : undefined;
      if (id === undefined) return undefined; // constants: left alone
      return `${side}|${id}|${transA}|${transB}|${other.shape}|${other.dtype}`;
    };
    terms.forEach((t, i) => {
      const e = productOf(t);
      if (e === undefined) return;
      for (const side of [0, 1]) {
        const k = keyOf(e, side);
        if (k === undefined) continue;
        let g = groups.get(k);
        if (g === undefined) groups.set(k, g = { side, members: [] });
        g.members.push(i);
      }
    });
    // Largest groups first; a term joins one group.
    const taken = new Set<number>();
    const chosen: [number, number[]][] = [];
    const bySize = [...groups.values()].sort((x, y) =>
      y.members.length - x.members.length
    );
    for (const { side, members } of bySize) {
      const free = members.filter((i) => !taken.has(i));
      if (free.length < 2) continue;
      free.forEach((i) => taken.add(i));
      chosen.push([side, free]);
    }
    if (chosen.length === 0) continue;
    changed = true;

    const out: Eqn[] = [];
    const push = (
      prim: "add" | "matmul",
      inputs: Atom[],
      params: unknown,
      aval: Aval,
    ): Atom => {
      const v = next++;
      avals.set(v, aval);
      out.push({ prim, inputs, params, out: v, aval });
      return { var: v };
    };
    // Each group's product stands where its first term stood.
    const replaced = new Map<number, Atom>();
    for (const [side, g] of chosen) {
      const first = def.get((terms[g[0]] as { var: number }).var)!;
      let sum = first.inputs[1 - side];
      for (const i of g.slice(1)) {
        const e = def.get((terms[i] as { var: number }).var)!;
        sum = push("add", [sum, e.inputs[1 - side]], null, avalOf(sum));
      }
      const inputs = [...first.inputs];
      inputs[1 - side] = sum;
      replaced.set(g[0], push("matmul", inputs, first.params, first.aval));
      for (const i of g) dropped.add((terms[i] as { var: number }).var);
    }
    const kept: Atom[] = [];
    terms.forEach((t, i) => {
      if (!taken.has(i)) kept.push(t);
      else if (replaced.has(i)) kept.push(replaced.get(i)!);
    });
    // The sum of what is left, in term order; the root keeps its variable.
    let acc = kept[0];
    for (let i = 1; i < kept.length - 1; i++) {
      acc = push("add", [acc, kept[i]], null, root.aval);
    }
    for (const v of adds) dropped.add(v);
    if (kept.length === 1) {
      // One product left: it writes the root's variable itself.
      const e = out.pop()!;
      out.push({ ...e, out: root.out });
    } else {
      out.push({ ...root, inputs: [acc, kept[kept.length - 1]] });
    }
    before.set(root.out, out);
  }
  if (!changed) return p;

  const result: Eqn[] = [];
  for (const e of eqns) {
    const add = before.get(e.out);
    if (add !== undefined) { for (const a of add) result.push(a); }
    else if (!dropped.has(e.out)) result.push(e);
  }
  return new Program(p.inputs, result, p.outputs, p.outputAvals, avals);
}
