/**
 * A traced {@link Program} prepared for repeated execution (an
 * {@link Executable}): common subexpressions merged, dead equations dropped,
 * and a memory plan that frees each intermediate right after its last use.
 * With concrete operands the whole program runs in one call into the
 * WebAssembly executor (src/jit/wasm_plan.ts); inside another transform each
 * equation is bound, so that transform's rules apply.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import type { Prim, PrimParams } from "../core/primitives.ts";
import { runPlan, wasmPlan } from "./wasm_plan.ts";
import {
  type Atom,
  type Eqn,
  EquationKeys,
  isVar,
  type Program,
  programConstants,
} from "../core/ir.ts";
import { bind } from "../core/trace.ts";
import { setProgramRunner } from "../core/control.ts";
import { pin } from "../core/scope.ts";
import { foldTransposes, transposeFoldOptions } from "./transpose_fold.ts";
import { factorProductSums, productSumOptions } from "./product_sums.ts";
import { foldNegations, negationOptions } from "./negations.ts";
import {
  hoistScanAccumulators,
  scanAccumulatorOptions,
} from "./scan_accumulators.ts";

/** A program ready to run: equations plus, per equation, the variables that die after it. */
export interface Executable {
  readonly program: Program;
  /** `frees[i]`: variables whose last use is equation i (never inputs, outputs or constants). */
  readonly frees: readonly (readonly number[])[];
  /** Fuse elementwise chains into one instruction (src/jit/fusion.ts); default true. */
  readonly fuse?: boolean;
}

/**
 * Merges repeated equations (same primitive, operands and params), folds
 * negations into the sums and products around them
 * (src/jit/negations.ts), folds matrix transposes into matmul flags and
 * products by constant ones away (src/jit/transpose_fold.ts), factors
 * products that share an operand out of sums (src/jit/product_sums.ts),
 * hoists a scan's per-step products into a carry out of the loop
 * (src/jit/scan_accumulators.ts), and drops unused equations.
 */
export function optimize(program: Program, fuse = true): Executable {
  // Common subexpressions: identical equations over identical operands.
  const alias = new Map<number, number>();
  const keys = new EquationKeys();
  const seen = new Map<string, number>();
  const rename = (
    a: Atom,
  ): Atom => (isVar(a) && alias.has(a.var) ? { var: alias.get(a.var)! } : a);
  const merged: Eqn[] = [];
  for (const e of program.eqns) {
    const key = keys.of(e.prim, e.params, e.inputs, alias);
    const prev = seen.get(key);
    if (prev !== undefined) {
      alias.set(e.out, prev);
      continue;
    }
    seen.set(key, e.out);
    merged.push({ ...e, inputs: e.inputs.map(rename) });
  }
  program = program.with(
    merged,
    program.outputs.map((o) => (o === null ? null : rename(o))),
  );

  // A scan's per-step products into a carry: one product after the loop.
  if (scanAccumulatorOptions.enabled) program = hoistScanAccumulators(program);
  // Negations folded into the sums and products around them (exact).
  if (negationOptions.enabled) program = foldNegations(program);
  // Transposes read through matmul flags instead of copied, products by
  // ones dropped (before dead code, which removes what they replace).
  if (transposeFoldOptions.enabled) program = foldTransposes(program);
  // Products sharing an operand inside a sum: one product of the sum.
  if (productSumOptions.enabled) program = factorProductSums(program);
  const { eqns, outputs } = program;

  // Dead code: keep only equations the outputs depend on.
  const live = new Set<number>();
  for (const o of outputs) if (o !== null && isVar(o)) live.add(o.var);
  const kept: Eqn[] = [];
  for (let i = eqns.length - 1; i >= 0; i--) {
    const e = eqns[i];
    if (!live.has(e.out)) continue;
    kept.push(e);
    for (const a of e.inputs) if (isVar(a)) live.add(a.var);
  }
  kept.reverse();

  // Memory plan: after its last use, an intermediate can go.
  const pinned = new Set<number>(program.inputs);
  for (const o of outputs) if (o !== null && isVar(o)) pinned.add(o.var);
  const lastUse = new Map<number, number>();
  kept.forEach((e, i) =>
    e.inputs.forEach((a) => isVar(a) && lastUse.set(a.var, i))
  );
  const frees: number[][] = kept.map(() => []);
  for (const [v, i] of lastUse) if (!pinned.has(v)) frees[i].push(v);
  return { program: program.with(kept, outputs), frees, fuse };
}

/**
 * Runs a program on `inputs`: with concrete operands in one call into the
 * WebAssembly executor; inside another transform (some input is a tracer)
 * by binding each equation.
 */
export function execute(
  executable: Executable,
  inputs: readonly Tensor[],
): Tensor[] {
  if (inputs.every((x) => x._trace === null)) {
    return runPlan(wasmPlan(executable), inputs);
  }
  const { program } = executable;
  // No memory plan here: with a tracer among the inputs, an enclosing
  // transform may keep any intermediate (a residual of its linearization),
  // so the top-level call's scope frees them instead.
  const env = new Map<number, Tensor>();
  program.inputs.forEach((id, i) => env.set(id, inputs[i]));
  const read = (a: Atom) => (isVar(a) ? env.get(a.var)! : a.const);
  for (const e of program.eqns) {
    const args = e.inputs.map(read);
    env.set(e.out, bind(e.prim, args, e.params as PrimParams[Prim]));
  }
  return program.outputs.map((o, i) => {
    // A constant output is copied: the caller may dispose what it gets.
    if (o !== null) return isVar(o) ? read(o) : o.const.clone();
    const a = program.outputAvals[i];
    throw new Error(
      `internal: output ${i} (${a.dtype} [${a.shape}]) has no value`,
    );
  });
}

// Control flow on concrete values runs as a compiled program (the loop or
// branch inside the stream): one call into WebAssembly.
setProgramRunner((p) => {
  const exe = optimize(p);
  pin(programConstants(exe.program));
  return (ins) => execute(exe, ins);
});
