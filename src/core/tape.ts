/**
 * The linearized program ("tape"): a flat list of primitive applications
 * over numbered variables, with constants (residuals from the forward pass)
 * inline. It is what linearize records, what transpose runs backwards, and
 * the IR that a future WebAssembly executor or `jit` consumes.
 * @module
 */
import { instantiate } from "../ops/broadcast.ts";
import { add } from "../ops/elementwise.ts";
import type { Tensor } from "./tensor.ts";
import type { LinearPrim, Prim, PrimParams } from "./primitives.ts";
import {
  LinearArg,
  type TArg,
  type TransposeRule,
  transposeRules,
} from "./rules/transpose.ts";
import { type Aval, bind } from "./trace.ts";

/** An operand: a variable of the program or a constant. */
export type Atom = { readonly var: number } | { readonly const: Tensor };

/** One primitive application writing variable `out`. */
export interface Eqn {
  readonly prim: Prim;
  readonly inputs: readonly Atom[];
  readonly params: unknown;
  readonly out: number;
  readonly aval: Aval;
}

/** A linear program from `inputs` to `outputs` (null outputs are zero). */
export interface Tape {
  readonly inputs: readonly number[];
  readonly inputAvals: readonly Aval[];
  readonly eqns: readonly Eqn[];
  readonly outputs: readonly (Atom | null)[];
  readonly outputAvals: readonly Aval[];
}

/** True for an operand that is a variable of the program (not a constant). */
export const isVar = (a: Atom): a is { readonly var: number } => "var" in a;

/** The constants (residuals) a program reads: what must outlive its recording. */
export function tapeConstants(tape: Tape): Tensor[] {
  const out: Tensor[] = [];
  for (const e of tape.eqns) {
    for (const a of e.inputs) if (!isVar(a)) out.push(a.const);
  }
  for (const o of tape.outputs) if (o !== null && !isVar(o)) out.push(o.const);
  return out;
}

/** Runs the program forwards (the JVP of `linearize`). */
export function runTape(tape: Tape, inputs: readonly Tensor[]): Tensor[] {
  const env = new Map<number, Tensor>();
  tape.inputs.forEach((id, i) => env.set(id, inputs[i]));
  const read = (a: Atom) => (isVar(a) ? env.get(a.var)! : a.const);
  for (const e of tape.eqns) {
    env.set(
      e.out,
      bind(e.prim, e.inputs.map(read), e.params as PrimParams[Prim]),
    );
  }
  return tape.outputs.map((
    o,
    i,
  ) => (o === null ? instantiate(null, tape.outputAvals[i]) : read(o)));
}

/**
 * Runs the program backwards: cotangents of the outputs to cotangents of
 * the inputs (null = zero). Equations whose output gets no cotangent are
 * skipped, so dead code costs nothing.
 */
export function transposeTape(
  tape: Tape,
  cts: readonly (Tensor | null)[],
): (Tensor | null)[] {
  const ct = new Map<number, Tensor>();
  const accum = (id: number, v: Tensor | null) => {
    if (v === null) return;
    const prev = ct.get(id);
    ct.set(id, prev === undefined ? v : add(prev, v));
  };
  tape.outputs.forEach((o, i) => {
    if (o !== null && isVar(o)) accum(o.var, cts[i]);
  });
  for (let j = tape.eqns.length - 1; j >= 0; j--) {
    const e = tape.eqns[j];
    const c = ct.get(e.out);
    if (c === undefined) continue;
    ct.delete(e.out);
    const args: TArg[] = e.inputs.map((
      a,
    ) => (isVar(a) ? new LinearArg(avalOf(tape, a.var)) : a.const));
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
  return tape.inputs.map((id) => ct.get(id) ?? null);
}

function avalOf(tape: Tape, id: number): Aval {
  return (tape as TapeWithAvals).avals.get(id)!;
}

/** A tape plus the aval of every variable (what transposition needs). */
export interface TapeWithAvals extends Tape {
  readonly avals: ReadonlyMap<number, Aval>;
}
