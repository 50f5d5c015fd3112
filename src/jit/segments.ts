/**
 * Running an {@link Executable} that holds `cond` or `while` equations
 * (or a `scan` whose body does) on concrete inputs. Those have no
 * instructions: they run their sub-programs from TypeScript
 * (src/core/control.ts); other scans are loops in the stream. The equations between them
 * are grouped into segments, each compiled into one WebAssembly stream
 * like a whole program; a control-flow equation runs its loop, whose body
 * is itself a compiled program run once per step. Values passed between
 * segments are freed after their last use.
 * @module
 */
import type { Storage } from "../backend/storage.ts";
import {
  CONTROL_PRIMS,
  type Prim,
  type PrimParams,
} from "../core/primitives.ts";
import { type Atom, type Eqn, isVar, Program } from "../core/ir.ts";
import type { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import type { Executable } from "./execute.ts";
import { loopable, runPlan, wasmPlan } from "./wasm_plan.ts";

type Segment =
  | {
    kind: "plan";
    exe: Executable;
    ins: number[];
    outs: number[];
    dead: number[];
  }
  | { kind: "eqn"; eqn: Eqn; dead: number[] };

const CONTROL = new Set<Prim>(CONTROL_PRIMS);

const controlled = new WeakMap<Executable, boolean>();

/**
 * True when the program has an equation that runs from TypeScript: a
 * `cond` or `while`, or a `scan` whose body has one (other scans are loops
 * in the stream).
 */
export function hasControl(exe: Executable): boolean {
  let c = controlled.get(exe);
  if (c === undefined) controlled.set(exe, c = !loopable(exe.program));
  return c;
}

/** Equations run from TypeScript (those {@link hasControl} looks for). */
function runsApart(e: Eqn): boolean {
  return CONTROL.has(e.prim) &&
    !(e.prim === "scan" && loopable((e.params as PrimParams["scan"]).body));
}

const segmentsOf = new WeakMap<Executable, Segment[]>();

function plan(
  exe: Executable,
  optimize: (p: Program) => Executable,
): Segment[] {
  let segs = segmentsOf.get(exe);
  if (segs !== undefined) return segs;
  const p = exe.program;
  const eqns = p.eqns;
  const lastUse = new Map<number, number>();
  eqns.forEach((e, i) =>
    e.inputs.forEach((a) => isVar(a) && lastUse.set(a.var, i))
  );
  const pinned = new Set<number>(p.inputs);
  for (const o of p.outputs) if (o !== null && isVar(o)) pinned.add(o.var);
  // Variables that die in eqns [a, b): freed after the segment.
  const dying = (a: number, b: number) =>
    [...lastUse].filter(([v, i]) => i >= a && i < b && !pinned.has(v)).map((
      [v],
    ) => v);
  segs = [];
  let i = 0;
  while (i < eqns.length) {
    if (runsApart(eqns[i])) {
      segs.push({ kind: "eqn", eqn: eqns[i], dead: dying(i, i + 1) });
      i++;
      continue;
    }
    const a = i;
    while (i < eqns.length && !runsApart(eqns[i])) i++;
    const group = eqns.slice(a, i);
    const defined = new Set(group.map((e) => e.out));
    const ins: number[] = [];
    for (const e of group) {
      for (const x of e.inputs) {
        if (isVar(x) && !defined.has(x.var) && !ins.includes(x.var)) {
          ins.push(x.var);
        }
      }
    }
    const outs = group.map((e) => e.out).filter((v) =>
      pinned.has(v) || (lastUse.get(v) ?? -1) >= i
    );
    const sub = new Program(
      ins,
      group,
      outs.map((v): Atom => ({ var: v })),
      outs.map((v) => p.avals.get(v)!),
      p.avals,
    );
    segs.push({
      kind: "plan",
      exe: optimize(sub),
      ins,
      outs,
      dead: dying(a, i),
    });
  }
  segmentsOf.set(exe, segs);
  return segs;
}

/** Runs `exe` on concrete inputs, segment by segment. */
export function runSegmented(
  exe: Executable,
  inputs: readonly Tensor[],
  optimize: (p: Program) => Executable,
): Tensor[] {
  const p = exe.program;
  const env = new Map<number, Tensor>();
  p.inputs.forEach((v, i) => env.set(v, inputs[i]));
  const inputStorages = new Set(inputs.map((t) => t._storage));
  // Buffers can be shared by several variables (aliases): count them.
  const users = new Map<Storage, number>();
  const set = (v: number, t: Tensor) => {
    env.set(v, t);
    const s = t._storage;
    if (s !== null) users.set(s, (users.get(s) ?? 0) + 1);
  };
  const read = (a: Atom) => (isVar(a) ? env.get(a.var)! : a.const);
  for (const seg of plan(exe, optimize)) {
    if (seg.kind === "plan") {
      const outs = runPlan(wasmPlan(seg.exe), seg.ins.map((v) => env.get(v)!));
      seg.outs.forEach((v, i) => set(v, outs[i]));
    } else {
      const e = seg.eqn;
      set(
        e.out,
        bind(e.prim, e.inputs.map(read), e.params as PrimParams[Prim]),
      );
    }
    for (const v of seg.dead) {
      const t = env.get(v);
      env.delete(v);
      const s = t?._storage ?? null;
      if (s === null) continue;
      const n = (users.get(s) ?? 1) - 1;
      users.set(s, n);
      if (n <= 0 && s._refs === 0 && !inputStorages.has(s)) s.dispose();
    }
  }
  return p.outputs.map((o, i) => {
    if (o === null) {
      const a = p.outputAvals[i];
      throw new Error(
        `internal: output ${i} (${a.dtype} [${a.shape}]) has no value`,
      );
    }
    return isVar(o) ? read(o) : o.const.clone();
  });
}
