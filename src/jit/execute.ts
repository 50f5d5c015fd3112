/**
 * A traced {@link Program} prepared for repeated execution (an
 * {@link Executable}): common subexpressions merged, dead equations dropped,
 * and a memory plan that frees each intermediate right after its last use.
 * With concrete operands the whole program runs in one call into the
 * WebAssembly executor (src/jit/wasm_plan.ts); otherwise it is replayed
 * from TypeScript, straight into the kernels when every operand is concrete.
 * @module
 */
import type { Storage } from "../backend/storage.ts";
import { Tensor } from "../core/tensor.ts";
import type { Prim, PrimParams } from "../core/primitives.ts";
import { runPlan, wasmPlan } from "./wasm_plan.ts";
import { evalImpl } from "../core/rules/impl.ts";
import { type Atom, type Eqn, isVar, type Program } from "../core/ir.ts";
import { bind } from "../core/trace.ts";

/** A program ready to run: equations plus, per equation, the variables that die after it. */
export interface Executable {
  readonly program: Program;
  /** `frees[i]`: variables whose last use is equation i (never inputs, outputs or constants). */
  readonly frees: readonly (readonly number[])[];
}

/** Merges repeated equations (same primitive, operands and params) and drops unused ones. */
export function optimize(program: Program): Executable {
  // Common subexpressions: identical equations over identical operands.
  const alias = new Map<number, number>();
  const constIds = new Map<Tensor, number>();
  const atomKey = (a: Atom) => {
    if (isVar(a)) return `v${alias.get(a.var) ?? a.var}`;
    let id = constIds.get(a.const);
    if (id === undefined) constIds.set(a.const, id = constIds.size);
    return `c${id}`;
  };
  const seen = new Map<string, number>();
  const rename = (
    a: Atom,
  ): Atom => (isVar(a) && alias.has(a.var) ? { var: alias.get(a.var)! } : a);
  const merged: Eqn[] = [];
  for (const e of program.eqns) {
    const key = `${e.prim}|${JSON.stringify(e.params)}|${
      e.inputs.map(atomKey).join(",")
    }`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      alias.set(e.out, prev);
      continue;
    }
    seen.set(key, e.out);
    merged.push({ ...e, inputs: e.inputs.map(rename) });
  }
  const outputs = program.outputs.map((o) => (o === null ? null : rename(o)));

  // Dead code: keep only equations the outputs depend on.
  const live = new Set<number>();
  for (const o of outputs) if (o !== null && isVar(o)) live.add(o.var);
  const kept: Eqn[] = [];
  for (let i = merged.length - 1; i >= 0; i--) {
    const e = merged[i];
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
  return { program: program.with(kept, outputs), frees };
}

/**
 * Runs a program on `inputs`. With concrete operands the program runs in
 * one call into the WebAssembly executor when it compiles to it, else each
 * equation goes straight to its kernel (shapes were checked when it was
 * traced) and intermediates are freed by the memory plan; inside another
 * transform each equation is bound as usual.
 */
export function execute(
  executable: Executable,
  inputs: readonly Tensor[],
): Tensor[] {
  if (inputs.every((x) => x._trace === null)) {
    const plan = wasmPlan(executable);
    if (plan !== null) return runPlan(plan, inputs);
  }
  const { program } = executable;
  // The memory plan frees intermediates only when nothing else can see
  // them: with a tracer among the inputs, an enclosing transform may keep
  // any intermediate (a residual of its linearization), so the top-level
  // call's scope frees them instead.
  const concrete = inputs.every((x) => x._trace === null);
  const frees = concrete ? executable.frees : [];
  const env = new Map<number, Tensor>();
  program.inputs.forEach((id, i) => env.set(id, inputs[i]));
  const read = (a: Atom) => (isVar(a) ? env.get(a.var)! : a.const);
  // Buffers can be shared (reshape): count the live variables on each.
  const users = new Map<Storage, number>();
  // Inputs and constants (and whatever shares their buffers) are never freed.
  const protectedStorages = new Set<Storage>();
  for (const x of inputs) {
    if (x._storage !== null) protectedStorages.add(x._storage);
  }
  for (const e of program.eqns) {
    for (const a of e.inputs) {
      if (!isVar(a) && a.const._storage !== null) {
        protectedStorages.add(a.const._storage);
      }
    }
  }
  program.eqns.forEach((e, i) => {
    const args = e.inputs.map(read);
    let out: Tensor;
    if (args.every((t) => t._trace === null)) {
      const storage = evalImpl(
        e.prim,
        args,
        e.params as PrimParams[Prim],
        e.aval,
      );
      out = Tensor._fromStorage(storage, e.aval.shape, e.aval.dtype);
      users.set(storage, (users.get(storage) ?? 0) + 1);
    } else {
      out = bind(e.prim, args, e.params as PrimParams[Prim]);
    }
    env.set(e.out, out);
    for (const v of frees[i] ?? []) {
      const s = env.get(v)!._storage;
      env.delete(v);
      if (s === null || protectedStorages.has(s) || !users.has(s)) continue;
      const n = users.get(s)! - 1;
      users.set(s, n);
      if (n === 0) s.dispose();
    }
  });
  return program.outputs.map((o, i) => {
    // A constant output is copied: the caller may dispose what it gets.
    if (o !== null) return isVar(o) ? read(o) : o.const.clone();
    const a = program.outputAvals[i];
    throw new Error(
      `internal: output ${i} (${a.dtype} [${a.shape}]) has no value`,
    );
  });
}
