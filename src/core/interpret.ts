/**
 * Interpreting a {@link Program} through `bind`: forwards (so that any
 * enclosing transform sees each equation: the JVP of `linearize`, a program
 * run inside `vmap`) and backwards (the transpose of a linear program:
 * reverse mode). The jit executor runs programs on concrete values instead
 * (src/jit/execute.ts).
 * @module
 */
import {
  add,
  broadcastTo,
  instantiate,
  mul,
  reshape,
  sumToShape,
} from "./lax.ts";
import { shapeEq } from "./shape.ts";
import { readElement } from "../backend/storage.ts";
import type { Tensor } from "./tensor.ts";
import type { LinearPrim, Prim, PrimParams } from "./primitives.ts";
import {
  LinearArg,
  type TArg,
  type TransposeRule,
  transposeRules,
} from "./rules/transpose.ts";
import { type Atom, isVar, type Program } from "./ir.ts";
import { bind } from "./trace.ts";

/** Runs the program forwards (the JVP of `linearize`). */
export function evalProgram(
  program: Program,
  inputs: readonly Tensor[],
): Tensor[] {
  const env = new Map<number, Tensor>();
  program.inputs.forEach((id, i) => env.set(id, inputs[i]));
  const read = (a: Atom) => (isVar(a) ? env.get(a.var)! : a.const);
  for (const e of program.eqns) {
    env.set(
      e.out,
      bind(e.prim, e.inputs.map(read), e.params as PrimParams[Prim]),
    );
  }
  return program.outputs.map((
    o,
    i,
  ) => (o === null ? instantiate(null, program.outputAvals[i]) : read(o)));
}

/**
 * A cotangent that is `src` broadcast to `shape`, not yet computed: the
 * transpose of a `sum`. Its main reader, the transpose of an elementwise
 * `mul` by a constant of the full shape, multiplies by `src` directly (the
 * multiply broadcasts it, to the same values), or, when `src` is the one
 * element 1 (grad's seed), is the constant itself (x * 1 is x exactly), so
 * `grad` of `sum(f(x) * c)` neither fills a buffer of ones nor keeps one as
 * a residual. Any other reader gets it broadcast, as the `sum` rule would
 * have made it.
 */
interface Spread {
  readonly src: Tensor;
  readonly shape: readonly number[];
  readonly one: boolean;
}

/** A concrete one-element tensor holding exactly 1. */
const isOne = (t: Tensor): boolean =>
  t._storage !== null && t._storage.length === 1 && !t._storage.disposed &&
  readElement(t._storage, 0) === 1;

const spreadOut = (s: Spread): Tensor => broadcastTo(s.src, s.shape);

/**
 * Runs the program backwards: cotangents of the outputs to cotangents of
 * the inputs (null = zero). Equations whose output gets no cotangent are
 * skipped, so dead code costs nothing.
 */
export function transposeProgram(
  program: Program,
  cts: readonly (Tensor | null)[],
): (Tensor | null)[] {
  const ct = new Map<number, Tensor>();
  const spread = new Map<number, Spread>();
  const accum = (id: number, v: Tensor | null) => {
    if (v === null) return;
    const s = spread.get(id);
    if (s !== undefined) {
      spread.delete(id);
      ct.set(id, spreadOut(s));
    }
    const prev = ct.get(id);
    ct.set(id, prev === undefined ? v : add(prev, v));
  };
  program.outputs.forEach((o, i) => {
    if (o !== null && isVar(o)) accum(o.var, cts[i]);
  });
  for (let j = program.eqns.length - 1; j >= 0; j--) {
    const e = program.eqns[j];
    let c = ct.get(e.out);
    if (c === undefined) {
      const s = spread.get(e.out);
      if (s === undefined) continue;
      spread.delete(e.out);
      const direct = e.prim === "mul"
        ? mulBySpread(program, e.inputs, s)
        : null;
      if (direct !== null) {
        accum(direct[0], direct[1]);
        continue;
      }
      c = spreadOut(s);
    }
    ct.delete(e.out);
    const x = e.inputs[0];
    if (
      e.prim === "sum" && isVar(x) && !ct.has(x.var) && !spread.has(x.var)
    ) {
      const { shape } = program.avals.get(x.var)!;
      const { axes } = e.params as PrimParams["sum"];
      spread.set(x.var, {
        src: reshape(c, shape.map((d, i) => (axes.includes(i) ? 1 : d))),
        shape,
        one: isOne(c),
      });
      continue;
    }
    const args: TArg[] = e.inputs.map((
      a,
    ) => (isVar(a) ? new LinearArg(program.avals.get(a.var)!) : a.const));
    const rule = transposeRules[e.prim as LinearPrim] as
      | TransposeRule<PrimParams[LinearPrim]>
      | undefined;
    if (rule === undefined) {
      throw new Error(`internal: ${e.prim} appeared in a linear program`);
    }
    const ins = rule(c, args, e.params as PrimParams[LinearPrim]);
    e.inputs.forEach((a, i) => {
      if (isVar(a)) accum(a.var, ins[i]);
    });
  }
  return program.inputs.map((id) => {
    const s = spread.get(id);
    return s !== undefined ? spreadOut(s) : ct.get(id) ?? null;
  });
}

/**
 * The transpose of `mul` (one linear operand, one constant) for a spread
 * cotangent, when the constant has the full shape: `[var, ct]` with the
 * cotangent computed from the spread's source, operands in the rule's
 * order; null when the rule must see the broadcast value.
 */
function mulBySpread(
  program: Program,
  [a, b]: readonly Atom[],
  s: Spread,
): [number, Tensor] | null {
  const linA = isVar(a);
  if (linA === isVar(b)) return null;
  const k = linA
    ? (b as { const: Tensor }).const
    : (a as { const: Tensor }).const;
  const v = linA ? (a as { var: number }).var : (b as { var: number }).var;
  if (k.dtype !== s.src.dtype || !shapeEq(k.shape, s.shape)) return null;
  const { shape } = program.avals.get(v)!;
  if (s.one) return [v, sumToShape(k, shape)];
  return [v, sumToShape(linA ? mul(s.src, k) : mul(k, s.src), shape)];
}
