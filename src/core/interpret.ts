/**
 * Interpreting a {@link Program} through `bind`: forwards (so that any
 * enclosing transform sees each equation: the JVP of `linearize`, a program
 * run inside `vmap`) and backwards (the transpose of a linear program:
 * reverse mode). The jit executor runs programs on concrete values instead
 * (src/jit/execute.ts).
 * @module
 */
import { add, instantiate } from "./lax.ts";
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
 * Runs the program backwards: cotangents of the outputs to cotangents of
 * the inputs (null = zero). Equations whose output gets no cotangent are
 * skipped, so dead code costs nothing.
 */
export function transposeProgram(
  program: Program,
  cts: readonly (Tensor | null)[],
): (Tensor | null)[] {
  const ct = new Map<number, Tensor>();
  const accum = (id: number, v: Tensor | null) => {
    if (v === null) return;
    const prev = ct.get(id);
    ct.set(id, prev === undefined ? v : add(prev, v));
  };
  program.outputs.forEach((o, i) => {
    if (o !== null && isVar(o)) accum(o.var, cts[i]);
  });
  for (let j = program.eqns.length - 1; j >= 0; j--) {
    const e = program.eqns[j];
    const c = ct.get(e.out);
    if (c === undefined) continue;
    ct.delete(e.out);
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
  return program.inputs.map((id) => ct.get(id) ?? null);
}
