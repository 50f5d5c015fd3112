/**
 * Control flow as primitives: `scan`, `cond` (also `switchCase`) and
 * `while` carry their bodies as sub-programs ({@link Program}) in their
 * params, so a traced loop holds one copy of its body, whatever its length.
 * This module stages user functions into closed sub-programs, packs the
 * several outputs of a control-flow primitive into its one result, and
 * implements the primitives' rules (JVP, transpose, batching, evaluation),
 * registered into the rule tables through src/core/rules/control_hooks.ts.
 *
 * Reverse mode of `scan` follows the usual split: the JVP rule partially
 * evaluates the body into a primal part that also returns the residuals the
 * tangent needs (stacked over the steps by the primal scan) and a tangent
 * part linear in the tangents, run as a second scan over the stacked
 * residuals; transposing that scan runs the transposed body backwards.
 * `cond` splits each branch the same way. `while` has a JVP (the tangent
 * loop runs with the primal loop) but no transpose: its trip count is not
 * known before it runs.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import { inUserCode, type Tensor } from "./tensor.ts";
import { abstractEval } from "./rules/abstract_eval.ts";
import {
  type Aval,
  firstFreeVar,
  isVar,
  Program,
  programConstants,
} from "./ir.ts";
import type { Atom, Eqn } from "./ir.ts";
import { StagingTrace } from "./staging_trace.ts";
import { bind, withMain } from "./trace.ts";
import { evalProgram, transposeProgram } from "./interpret.ts";
import { jvpFlat } from "./ad.ts";
import { vmapFlat } from "./batch_trace.ts";
import { type Dim, moveBatch } from "./rules/batch.ts";
import { LinearArg, type TArg } from "./rules/transpose.ts";
import { full, narrow, reshape, where, zerosOf } from "./lax.ts";
import { sizeOf } from "./shape.ts";
import { pin } from "./scope.ts";
import { registerControl } from "./rules/control_hooks.ts";
import { packDtype, scanOutAvals, stacked } from "./rules/control_shape.ts";
import type { PrimParams } from "./primitives.ts";

type ScanP = PrimParams["scan"];
type CondP = PrimParams["cond"];
type WhileP = PrimParams["while"];
type T = Tensor | null;

const avalOf = (t: Aval): Aval => ({ shape: t.shape, dtype: t.dtype });
const levelOf = (t: Tensor): number => t._trace?.main.level ?? 0;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function castTo(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind("cast", [x], { dtype });
}

// ---- packing: several outputs in one result --------------------------------

/** Flattens `xs` (of avals `avals`) into one vector of their common dtype. */
export function pack(xs: readonly Tensor[], avals: readonly Aval[]): Tensor {
  const dtype = packDtype(avals);
  const flat = xs.map((x) => castTo(reshape(x, [sizeOf(x.shape)]), dtype));
  if (flat.length === 0) return full([0], 0, dtype);
  return flat.length === 1 ? flat[0] : bind("cat", flat, { axis: 0 });
}

/** The outputs of avals `avals` packed in `p` by {@link pack}. */
export function unpack(p: Tensor, avals: readonly Aval[]): Tensor[] {
  let off = 0;
  return avals.map((a) => {
    const n = sizeOf(a.shape);
    const part = narrow(p, 0, off, n);
    off += n;
    return castTo(reshape(part, a.shape), a.dtype);
  });
}

/** {@link pack} per batch entry: `xs[k]` is `[size, ...avals[k].shape]`. */
function packLanes(
  xs: readonly Tensor[],
  avals: readonly Aval[],
  size: number,
): Tensor {
  const dtype = packDtype(avals);
  const parts = xs.map((x, k) =>
    castTo(reshape(x, [size, sizeOf(avals[k].shape)]), dtype)
  );
  if (parts.length === 0) return full([size, 0], 0, dtype);
  return parts.length === 1 ? parts[0] : bind("cat", parts, { axis: 1 });
}

// ---- sub-programs ------------------------------------------------------------

/** A staged sub-program and the tracers it closed over (its leading inputs). */
export interface Closed {
  readonly program: Program;
  readonly consts: Tensor[];
}

/** `p` with the constants `ts` turned into new leading inputs. */
function hoist(p: Program, ts: readonly Tensor[]): Program {
  if (ts.length === 0) return p;
  let next = firstFreeVar(p);
  const avals = new Map(p.avals);
  const ids = new Map<Tensor, number>();
  for (const t of ts) {
    ids.set(t, next);
    avals.set(next++, avalOf(t));
  }
  const sub = (a: Atom): Atom =>
    !isVar(a) && ids.has(a.const) ? { var: ids.get(a.const)! } : a;
  return new Program(
    [...ts.map((t) => ids.get(t)!), ...p.inputs],
    p.eqns.map((e) => ({ ...e, inputs: e.inputs.map(sub) })),
    p.outputs.map((o) => (o === null ? null : sub(o))),
    p.outputAvals,
    avals,
  );
}

/** `p` with the inputs at the positions of `subs` replaced by those constants. */
function substitute(p: Program, subs: ReadonlyMap<number, Tensor>): Program {
  const byVar = new Map<number, Tensor>();
  for (const [i, t] of subs) byVar.set(p.inputs[i], t);
  const sub = (a: Atom): Atom =>
    isVar(a) && byVar.has(a.var) ? { const: byVar.get(a.var)! } : a;
  return new Program(
    p.inputs.filter((_, i) => !subs.has(i)),
    p.eqns.map((e) => ({ ...e, inputs: e.inputs.map(sub) })),
    p.outputs.map((o) => (o === null ? null : sub(o))),
    p.outputAvals,
    p.avals,
  );
}

/** `p` taking its inputs in the order `order` (indices of its inputs). */
function reorder(p: Program, order: readonly number[]): Program {
  return new Program(
    order.map((i) => p.inputs[i]),
    p.eqns,
    p.outputs,
    p.outputAvals,
    p.avals,
  );
}

/**
 * Closure conversion: constants of `p` that are tracers of enclosing
 * transforms become leading inputs (the transform must see them as
 * operands of the primitive); concrete constants stay and are pinned (a
 * cached program may run after the call that staged it).
 */
function close(staged: Program): Closed {
  // Dead equations (values the body computed but did not return) would
  // run at every step.
  const live = new Set<number>();
  for (const o of staged.outputs) if (o !== null && isVar(o)) live.add(o.var);
  const kept: Eqn[] = [];
  for (let i = staged.eqns.length - 1; i >= 0; i--) {
    const e = staged.eqns[i];
    if (!live.has(e.out)) continue;
    kept.push(e);
    for (const a of e.inputs) if (isVar(a)) live.add(a.var);
  }
  kept.reverse();
  const p = kept.length === staged.eqns.length
    ? staged
    : staged.with(kept, staged.outputs);
  const all = programConstants(p);
  const consts: Tensor[] = [];
  for (const c of all) {
    if (c._trace !== null && !consts.includes(c)) consts.push(c);
  }
  pin(all.filter((c) => c._trace === null));
  return { program: hoist(p, consts), consts };
}

/**
 * Stages `fn` on abstract inputs `avals` into a closed sub-program. With
 * `user`, `fn` is the user's function (it runs as user code).
 */
export function stageClosed(
  name: string,
  avals: readonly Aval[],
  fn: (ins: Tensor[]) => Tensor[],
  user = false,
): Closed {
  return withMain(name, (main) => {
    const trace = new StagingTrace(main);
    const ins = avals.map((a) => trace.newInput(a));
    const outs = user ? inUserCode(() => fn(ins)) : fn(ins);
    return close(trace.finish(ins, outs, outs.map(avalOf)));
  });
}

/**
 * Stages several branches on the same inputs; they close over different
 * tracers, so each program takes all of them (`consts`) first.
 */
export function stageBranches(
  name: string,
  avals: readonly Aval[],
  fns: readonly ((ins: Tensor[]) => Tensor[])[],
  user = false,
): { programs: Program[]; consts: Tensor[] } {
  const staged = fns.map((f, j) =>
    stageClosed(`${name} (branch ${j})`, avals, f, user)
  );
  const consts: Tensor[] = [];
  for (const s of staged) {
    for (const c of s.consts) if (!consts.includes(c)) consts.push(c);
  }
  const programs = staged.map(({ program: p, consts: own }) => {
    if (own.length === consts.length && own.every((c, i) => c === consts[i])) {
      return p;
    }
    let next = firstFreeVar(p);
    const avals = new Map(p.avals);
    const lead = consts.map((c) => {
      const i = own.indexOf(c);
      if (i >= 0) return p.inputs[i];
      avals.set(next, avalOf(c));
      return next++;
    });
    return new Program(
      [...lead, ...p.inputs.slice(own.length)],
      p.eqns,
      p.outputs,
      p.outputAvals,
      avals,
    );
  });
  return { programs, consts };
}

// ---- running on concrete values ---------------------------------------------

type Run = (ins: Tensor[]) => Tensor[];
let compile: ((p: Program) => Run) | null = null;
const compiledEqns = new WeakMap<object, Run>();

/**
 * Installs the program compiler that runs control flow on concrete values
 * (jit's executor: the loop or branch runs inside the WebAssembly
 * stream). Core cannot import jit, a layer above; jit calls this when it
 * loads.
 */
export function setProgramRunner(make: (p: Program) => Run): void {
  compile = make;
}

/**
 * Eager evaluation of a control-flow equation: the one equation compiled
 * as a program (cached with its params, which hold the sub-programs).
 */
function evalControl(
  prim: "scan" | "cond" | "while",
  args: Tensor[],
  params: ScanP | CondP | WhileP,
): Tensor {
  let run = compiledEqns.get(params);
  if (run === undefined) {
    if (compile === null) {
      throw new Error(
        `internal: ${prim} needs the program executor (src/jit/execute.ts) loaded`,
      );
    }
    const n = args.length;
    const avals = new Map<number, Aval>(args.map((a, i) => [i, avalOf(a)]));
    const aval = abstractEval(prim, args, params as never);
    avals.set(n, aval);
    const inputs = range(n).map((v) => ({ var: v }));
    run = compile(
      new Program(
        range(n),
        [{ prim, inputs, params, out: n, aval }],
        [{ var: n }],
        [aval],
        avals,
      ),
    );
    compiledEqns.set(params, run);
  }
  return run(args)[0];
}

// ---- partial evaluation: primal part and linear part of a program -----------

interface Split {
  /** The program's inputs to its outputs, then the computed residuals. */
  primal: Program;
  /** Direct residuals, computed residuals, then the nonzero tangents, to the tangents of `outNZ`. */
  tangent: Program;
  /** Inputs of the program the tangent part reads as they are (sorted). */
  direct: number[];
  /** Avals of the computed residuals. */
  resAvals: Aval[];
  /** Outputs that have a tangent (the tangent program's outputs). */
  outNZ: boolean[];
}

/**
 * Linearizes `program` symbolically with tangents for the inputs in
 * `inNZ`: the JVP runs with primals staged one level below the tangents,
 * so the primal computation and the linear tangent computation come out
 * as two programs, and the values the tangent part reads from the primal
 * part are the residuals. `force` asks for a tangent output even if it is
 * zero; `direct(i)` says whether input `i` may be read by the tangent part
 * directly (a loop-invariant or a per-step input) instead of as a residual.
 */
function split(
  name: string,
  program: Program,
  inNZ: readonly boolean[],
  force: readonly boolean[],
  direct: (i: number) => boolean,
): Split {
  return withMain(`${name} (partial evaluation)`, (outerMain) => {
    const outer = new StagingTrace(outerMain);
    const ins = program.inputAvals.map((a) => outer.newInput(a));
    const r = withMain(`${name} (linearize)`, (linMain) => {
      const lin = new StagingTrace(linMain);
      const tins = ins.map((x, i) => (inNZ[i] ? lin.newInput(x) : null));
      const j = jvpFlat(
        name,
        (xs) => [evalProgram(program, xs), null],
        ins,
        tins,
      );
      const avals = program.outputAvals;
      const outNZ = j.tangents.map((t, k) =>
        (t !== null || force[k]) && avals[k].dtype !== "int32"
      );
      const touts = j.tangents.flatMap((t, k) =>
        outNZ[k] ? [t ?? zerosOf(avals[k])] : []
      );
      const linProg = lin.finish(
        tins.filter((t) => t !== null),
        touts,
        avals.filter((_, k) => outNZ[k]),
      );
      return { outs: j.outs, linProg, outNZ };
    });
    const directIdx: number[] = [];
    const computed: Tensor[] = [];
    const seen = new Set<Tensor>();
    for (const c of programConstants(r.linProg)) {
      if (c._trace !== outer || seen.has(c)) continue;
      seen.add(c);
      const i = ins.indexOf(c as (typeof ins)[number]);
      if (i >= 0 && direct(i)) directIdx.push(i);
      else computed.push(c);
    }
    directIdx.sort((a, b) => a - b);
    const tangent = close(
      hoist(r.linProg, [...directIdx.map((i) => ins[i]), ...computed]),
    ).program;
    const primal = close(
      outer.finish(ins, [...r.outs, ...computed], [
        ...program.outputAvals,
        ...computed.map(avalOf),
      ]),
    ).program;
    return {
      primal,
      tangent,
      direct: directIdx,
      resAvals: computed.map(avalOf),
      outNZ: r.outNZ,
    };
  });
}

// ---- scan --------------------------------------------------------------------

function scanJvp(primals: Tensor[], tangents: T[], p: ScanP): [Tensor, T] {
  const { nConsts: nC, nCarry: nK } = p;
  const isCarry = (i: number) => i >= nC && i < nC + nK;
  const inNZ = tangents.map((t, i) =>
    t !== null && primals[i].dtype !== "int32"
  );
  if (!inNZ.some(Boolean)) return [bind("scan", primals, p), null];
  const nOut = p.body.outputs.length;
  // A carry whose tangent the body makes nonzero needs one from the start.
  let s: Split;
  for (;;) {
    const force = range(nOut).map((k) => k < nK && inNZ[nC + k]);
    s = split("scan", p.body, inNZ, force, (i) => !isCarry(i));
    let grew = false;
    for (let k = 0; k < nK; k++) {
      if (s.outNZ[k] && !inNZ[nC + k]) inNZ[nC + k] = grew = true;
    }
    if (!grew) break;
  }
  const outAvals = scanOutAvals(p);
  const resAvals = s.resAvals.map((a) => stacked(a, p.length));
  const all = unpack(
    bind("scan", primals, { ...p, body: s.primal, linear: null }),
    [...outAvals, ...resAvals],
  );
  const primalOut = pack(all.slice(0, nOut), outAvals);
  const res = all.slice(nOut);

  // The tangent scan: consts (invariant residuals, tangents of consts),
  // carry (carry tangents), xs (stacked residuals, per-step residuals that
  // are the xs themselves, tangents of xs).
  const nz = range(primals.length).filter((i) => inNZ[i]);
  const nD = s.direct.length, nR = s.resAvals.length;
  const tanPos = (i: number) => nD + nR + nz.indexOf(i);
  const dC = s.direct.filter((i) => i < nC);
  const dX = s.direct.filter((i) => i >= nC + nK);
  const zC = nz.filter((i) => i < nC);
  const zK = nz.filter(isCarry);
  const zX = nz.filter((i) => i >= nC + nK);
  const order = [
    ...dC.map((i) => s.direct.indexOf(i)),
    ...zC.map(tanPos),
    ...zK.map(tanPos),
    ...range(nR).map((r) => nD + r),
    ...dX.map((i) => s.direct.indexOf(i)),
    ...zX.map(tanPos),
  ];
  const operands = [
    ...dC.map((i) => primals[i]),
    ...zC.map((i) => tangents[i]!),
    ...zK.map((i) => tangents[i] ?? zerosOf(primals[i])),
    ...res,
    ...dX.map((i) => primals[i]),
    ...zX.map((i) => tangents[i]!),
  ];
  const linear = [
    ...dC.map(() => false),
    ...zC.map(() => true),
    ...zK.map(() => true),
    ...res.map(() => false),
    ...dX.map(() => false),
    ...zX.map(() => true),
  ];
  const tp: ScanP = {
    body: reorder(s.tangent, order),
    nConsts: dC.length + zC.length,
    nCarry: zK.length,
    length: p.length,
    reverse: p.reverse,
    unroll: p.unroll,
    linear,
  };
  const tOut = unpack(bind("scan", operands, tp), scanOutAvals(tp));
  let q = 0;
  const touts = outAvals.map((a, k) => (s.outNZ[k] ? tOut[q++] : zerosOf(a)));
  return [primalOut, pack(touts, outAvals)];
}

function scanTranspose(ct: Tensor, args: TArg[], p: ScanP): T[] {
  const { nConsts: nC, nCarry: nK, length: L } = p;
  const isLin = (i: number) => p.linear?.[i] ?? false;
  args.forEach((a, i) => {
    if (a instanceof LinearArg && !isLin(i)) {
      throw new Error(
        `internal: scan transposed in operand ${i}, in which its body is not known to be linear`,
      );
    }
  });
  for (let k = 0; k < nK; k++) {
    if (!isLin(nC + k)) {
      throw new Error("internal: scan transposed with a nonlinear carry");
    }
  }
  const resC = range(nC).filter((i) => !isLin(i));
  const linC = range(nC).filter(isLin);
  const carry = range(nK).map((k) => nC + k);
  const xsIdx = range(args.length - nC - nK).map((j) => nC + nK + j);
  const resX = xsIdx.filter((i) => !isLin(i));
  const linX = xsIdx.filter(isLin);
  const ins = p.body.inputAvals;
  const outAvals = scanOutAvals(p);
  const cts = unpack(ct, outAvals);
  const bt = stageClosed(
    "scan (transpose)",
    [
      ...resC.map((i) => ins[i]),
      ...linC.map((i) => ins[i]),
      ...carry.map((i) => ins[i]),
      ...resX.map((i) => ins[i]),
      ...p.body.outputAvals.slice(nK),
    ],
    (v) => {
      let o = 0;
      const take = (n: number) => v.slice(o, o += n);
      const rc = take(resC.length), acc = take(linC.length);
      const ck = take(nK), rx = take(resX.length), cy = v.slice(o);
      const subs = new Map<number, Tensor>();
      resC.forEach((i, j) => subs.set(i, rc[j]));
      resX.forEach((i, j) => subs.set(i, rx[j]));
      const g = transposeProgram(substitute(p.body, subs), [...ck, ...cy]);
      const gC = linC.map((_, j) => {
        const t = g[j];
        return t === null ? acc[j] : bind("add", [acc[j], t], null);
      });
      const gK = carry.map((i, k) => g[linC.length + k] ?? zerosOf(ins[i]));
      const gX = linX.map((i, j) => g[linC.length + nK + j] ?? zerosOf(ins[i]));
      return [...gC, ...gK, ...gX];
    },
  );
  const tp: ScanP = {
    body: bt.program,
    nConsts: bt.consts.length + resC.length,
    nCarry: linC.length + nK,
    length: L,
    reverse: !p.reverse,
    unroll: p.unroll,
    linear: null,
  };
  const outs = unpack(
    bind("scan", [
      ...bt.consts,
      ...resC.map((i) => args[i] as Tensor),
      ...linC.map((i) => zerosOf(ins[i])),
      ...cts.slice(0, nK),
      ...resX.map((i) => args[i] as Tensor),
      ...cts.slice(nK),
    ], tp),
    scanOutAvals(tp),
  );
  const result: T[] = args.map(() => null);
  const give = (i: number, t: Tensor) => {
    if (args[i] instanceof LinearArg) result[i] = t;
  };
  linC.forEach((i, j) => give(i, outs[j]));
  carry.forEach((i, k) => give(i, outs[linC.length + k]));
  linX.forEach((i, j) => give(i, outs[linC.length + nK + j]));
  return result;
}

/** Stages `program` batched over inputs with `dims` (0 or null), every output batched at 0. */
function batchedProgram(
  name: string,
  program: Program,
  dims: readonly Dim[],
  size: number,
): Closed {
  const avals = program.inputAvals.map((a, i) =>
    dims[i] === null ? a : stacked(a, size)
  );
  return stageClosed(
    `${name} (vmap)`,
    avals,
    (xs) =>
      vmapFlat(
        name,
        (v) => evalProgram(program, v),
        xs,
        [...dims],
        size,
        () => 0,
      ),
  );
}

function scanBatch(
  vals: Tensor[],
  dims: Dim[],
  p: ScanP,
  size: number,
): [Tensor, Dim] {
  const { nConsts: nC, nCarry: nK } = p;
  const isCarry = (i: number) => i >= nC && i < nC + nK;
  // Carries are all batched (a carry the body batches must start batched);
  // xs get their batch dim after the step dim.
  const moved = vals.map((v, i) =>
    isCarry(i)
      ? moveBatch(v, dims[i], 0, size)
      : dims[i] === null
      ? v
      : moveBatch(v, dims[i], i < nC ? 0 : 1, size)
  );
  const bodyDims = vals.map((_, i) =>
    isCarry(i) || dims[i] !== null ? 0 : null
  );
  const bb = batchedProgram("scan", p.body, bodyDims, size);
  const tp: ScanP = {
    ...p,
    body: bb.program,
    nConsts: bb.consts.length + nC,
    linear: p.linear === null ? null : [
      ...bb.consts.map(() => false),
      ...p.linear,
    ],
  };
  const outs = unpack(
    bind("scan", [...bb.consts, ...moved], tp),
    scanOutAvals(tp),
  );
  const lanes = outs.map((o, k) => (k < nK ? o : moveBatch(o, 1, 0, size)));
  return [packLanes(lanes, scanOutAvals(p), size), 0];
}

// ---- cond ----------------------------------------------------------------------

function condJvp(primals: Tensor[], tangents: T[], p: CondP): [Tensor, T] {
  const [index, ...ops] = primals;
  const tops = tangents.slice(1);
  const inNZ = tops.map((t, i) => t !== null && ops[i].dtype !== "int32");
  if (!inNZ.some(Boolean)) return [bind("cond", primals, p), null];
  const outAvals = p.branches[0].outputAvals;
  const none = outAvals.map(() => false);
  let splits = p.branches.map((b) => split("cond", b, inNZ, none, () => true));
  // Every branch gives a tangent for every output some branch gives one for.
  const outNZ = outAvals.map((_, k) => splits.some((s) => s.outNZ[k]));
  splits = splits.map((s, j) =>
    s.outNZ.every((z, k) => z === outNZ[k])
      ? s
      : split("cond", p.branches[j], inNZ, outNZ, () => true)
  );
  // Residual slots: each branch fills its own, zeros in the others'.
  const direct = [...new Set(splits.flatMap((s) => s.direct))].sort((a, b) =>
    a - b
  );
  const slots = splits.flatMap((s) => s.resAvals);
  const offset = splits.map((_, j) =>
    splits.slice(0, j).reduce((n, s) => n + s.resAvals.length, 0)
  );
  const primalBranches = stageBranches(
    "cond (primal)",
    p.branches[0].inputAvals,
    splits.map((s, j) => (v) => {
      const outs = evalProgram(s.primal, v);
      const res = slots.map((a, r) => {
        const own = r - offset[j];
        return own >= 0 && own < s.resAvals.length
          ? outs[outAvals.length + own]
          : zerosOf(a);
      });
      return [...outs.slice(0, outAvals.length), ...res];
    }),
  );
  const all = unpack(
    bind("cond", [index, ...primalBranches.consts, ...ops], {
      branches: primalBranches.programs,
      linear: null,
    }),
    [...outAvals, ...slots],
  );
  const primalOut = pack(all.slice(0, outAvals.length), outAvals);
  const res = all.slice(outAvals.length);
  const nz = range(ops.length).filter((i) => inNZ[i]);
  const tanAvals = [
    ...direct.map((i) => ops[i] as Aval),
    ...slots,
    ...nz.map((i) => ops[i] as Aval),
  ];
  const tanBranches = stageBranches(
    "cond (tangent)",
    tanAvals.map(avalOf),
    splits.map((s, j) => (v) => {
      const d = s.direct.map((i) => v[direct.indexOf(i)]);
      const r = s.resAvals.map((_, q) => v[direct.length + offset[j] + q]);
      const t = v.slice(direct.length + slots.length);
      return evalProgram(s.tangent, [...d, ...r, ...t]);
    }),
  );
  const nLead = tanBranches.consts.length + direct.length + slots.length;
  const tOut = unpack(
    bind("cond", [
      index,
      ...tanBranches.consts,
      ...direct.map((i) => ops[i]),
      ...res,
      ...nz.map((i) => tops[i]!),
    ], {
      branches: tanBranches.programs,
      linear: [...range(nLead).map(() => false), ...nz.map(() => true)],
    }),
    outAvals.filter((_, k) => outNZ[k]),
  );
  let q = 0;
  const touts = outAvals.map((a, k) => (outNZ[k] ? tOut[q++] : zerosOf(a)));
  return [primalOut, pack(touts, outAvals)];
}

function condTranspose(ct: Tensor, args: TArg[], p: CondP): T[] {
  const [index, ...ops] = args;
  if (index instanceof LinearArg) {
    throw new Error("internal: cond transposed in its branch index");
  }
  const isLin = (i: number) => p.linear?.[i] ?? false;
  ops.forEach((a, i) => {
    if (a instanceof LinearArg && !isLin(i)) {
      throw new Error(
        `internal: cond transposed in operand ${i}, in which its branches are not known to be linear`,
      );
    }
  });
  const res = range(ops.length).filter((i) => !isLin(i));
  const lin = range(ops.length).filter(isLin);
  const ins = p.branches[0].inputAvals;
  const outAvals = p.branches[0].outputAvals;
  const cts = unpack(ct, outAvals);
  const bt = stageBranches(
    "cond (transpose)",
    [...res.map((i) => ins[i]), ...outAvals],
    p.branches.map((b) => (v) => {
      const subs = new Map<number, Tensor>();
      res.forEach((i, j) => subs.set(i, v[j]));
      const g = transposeProgram(substitute(b, subs), v.slice(res.length));
      return lin.map((i, j) => g[j] ?? zerosOf(ins[i]));
    }),
  );
  const outs = unpack(
    bind("cond", [
      index,
      ...bt.consts,
      ...res.map((i) => ops[i] as Tensor),
      ...cts,
    ], { branches: bt.programs, linear: null }),
    lin.map((i) => ins[i]),
  );
  const result: T[] = args.map(() => null);
  lin.forEach((i, j) => {
    if (ops[i] instanceof LinearArg) result[i + 1] = outs[j];
  });
  return result;
}

function condBatch(
  vals: Tensor[],
  dims: Dim[],
  p: CondP,
  size: number,
): [Tensor, Dim] {
  const [index, ...ops] = vals;
  const opDims = dims.slice(1);
  const outAvals = p.branches[0].outputAvals;
  if (dims[0] !== null) {
    // A batched predicate: every branch runs, and each lane selects.
    const idx = moveBatch(castTo(index, "float64"), dims[0], 0, size);
    const outs = p.branches.map((b) =>
      vmapFlat("cond", (v) => evalProgram(b, v), ops, opDims, size, () => 0)
    );
    const lanes = outAvals.map((a, k) => {
      const mask = (j: number) =>
        reshape(
          bind("ge", [idx, full([], j, "float64")], null),
          [size, ...a.shape.map(() => 1)],
        );
      let acc = outs[0][k];
      for (let j = 1; j < outs.length; j++) {
        acc = where(mask(j), outs[j][k], acc);
      }
      return acc;
    });
    return [packLanes(lanes, outAvals, size), 0];
  }
  const moved = ops.map((
    v,
    i,
  ) => (opDims[i] === null ? v : moveBatch(v, opDims[i], 0, size)));
  const bDims = opDims.map((d) => (d === null ? null : 0));
  const staged = stageBranches(
    "cond (vmap)",
    p.branches[0].inputAvals.map((a, i) =>
      bDims[i] === null ? a : stacked(a, size)
    ),
    p.branches.map((b) => (xs) =>
      vmapFlat("cond", (v) => evalProgram(b, v), xs, bDims, size, () => 0)
    ),
  );
  const nLead = staged.consts.length;
  const out = bind("cond", [index, ...staged.consts, ...moved], {
    branches: staged.programs,
    linear: p.linear === null
      ? null
      : [...range(nLead).map(() => false), ...p.linear],
  });
  const lanes = unpack(out, outAvals.map((a) => stacked(a, size)));
  return [packLanes(lanes, outAvals, size), 0];
}

// ---- while ---------------------------------------------------------------------

function whileJvp(primals: Tensor[], tangents: T[], p: WhileP): [Tensor, T] {
  const { nCondConsts: nA, nBodyConsts: nB } = p;
  const n = primals.length;
  const nK = n - nA - nB;
  const inNZ = tangents.map((t, i) =>
    i >= nA && t !== null && primals[i].dtype !== "int32"
  );
  if (!inNZ.some(Boolean)) return [bind("while", primals, p), null];
  const cc = primals.slice(0, nA), bc = primals.slice(nA, nA + nB);
  const carry = primals.slice(nA + nB);
  const carryAvals = p.body.outputAvals;
  // The body with tangents: (bc, dbc, carry, dcarry) -> (carry, dcarry).
  let joint: Closed;
  let zB: number[], zK: number[];
  for (;;) {
    zB = range(nB).filter((j) => inNZ[nA + j]);
    zK = range(nK).filter((k) => inNZ[nA + nB + k]);
    let grew = false;
    const zb = zB, zk = zK;
    joint = stageClosed(
      "whileLoop (jvp)",
      [
        ...bc,
        ...zb.map((j) => bc[j]),
        ...carry,
        ...zk.map((k) => carry[k]),
      ].map(avalOf),
      (v) => {
        let o = 0;
        const take = (m: number) => v.slice(o, o += m);
        const b = take(nB), db = take(zb.length), c = take(nK), dc = v.slice(o);
        const ts = [
          ...range(nB).map((j) => (zb.includes(j) ? db[zb.indexOf(j)] : null)),
          ...range(nK).map((k) => (zk.includes(k) ? dc[zk.indexOf(k)] : null)),
        ];
        const r = jvpFlat(
          "whileLoop",
          (xs) => [evalProgram(p.body, xs), null],
          [...b, ...c],
          ts,
        );
        r.tangents.forEach((t, k) => {
          if (
            t !== null && !zk.includes(k) && carryAvals[k].dtype !== "int32"
          ) {
            inNZ[nA + nB + k] = grew = true;
          }
        });
        return [
          ...r.outs,
          ...zk.map((k) => r.tangents[k] ?? zerosOf(carryAvals[k])),
        ];
      },
    );
    if (!grew) break;
  }
  const nzK = zK;
  const cond = stageClosed(
    "whileLoop (jvp cond)",
    [...cc, ...carry, ...nzK.map((k) => carry[k])].map(avalOf),
    (v) => evalProgram(p.cond, v.slice(0, nA + nK)),
  );
  const out = unpack(
    bind("while", [
      ...cond.consts,
      ...cc,
      ...joint.consts,
      ...bc,
      ...zB.map((j) => tangents[nA + j]!),
      ...carry,
      ...nzK.map((k) => tangents[nA + nB + k] ?? zerosOf(carry[k])),
    ], {
      cond: cond.program,
      body: joint.program,
      nCondConsts: cond.consts.length + nA,
      nBodyConsts: joint.consts.length + nB + zB.length,
    }),
    [...carryAvals, ...nzK.map((k) => carryAvals[k])],
  );
  // The joint loop's carries are the primal result unless the tangents
  // live at a higher level than the primals (then compute them apart).
  const top = Math.max(0, ...primals.map(levelOf));
  const primalOut = out.slice(0, nK).every((t) => levelOf(t) <= top)
    ? pack(out.slice(0, nK), carryAvals)
    : bind("while", primals, p);
  let q = 0;
  const touts = carryAvals.map((a, k) =>
    nzK.includes(k) ? out[nK + q++] : zerosOf(a)
  );
  return [primalOut, pack(touts, carryAvals)];
}

function whileTranspose(): never {
  throw new Error(
    "whileLoop: reverse-mode differentiation (grad, vjp, jacrev, hessian) of a whileLoop is not supported: " +
      "its number of steps is not known before it runs, so the values of each step cannot be kept for the backward pass. " +
      "Use scan, or forLoop with numbers as bounds (a scan), for reverse mode; jvp and jacfwd of whileLoop work.",
  );
}

function whileBatch(
  vals: Tensor[],
  dims: Dim[],
  p: WhileP,
  size: number,
): [Tensor, Dim] {
  const { nCondConsts: nA, nBodyConsts: nB } = p;
  const nK = vals.length - nA - nB;
  const carryAvals = p.body.outputAvals;
  const moved = vals.map((v, i) =>
    i >= nA + nB
      ? moveBatch(v, dims[i], 0, size)
      : dims[i] === null
      ? v
      : moveBatch(v, dims[i], 0, size)
  );
  const bdims = vals.map((
    _,
    i,
  ) => (i >= nA + nB || dims[i] !== null ? 0 : null));
  const cDims = [...bdims.slice(0, nA), ...bdims.slice(nA + nB)];
  const bDims = bdims.slice(nA);
  const cb = batchedProgram("whileLoop", p.cond, cDims, size);
  const bb = batchedProgram("whileLoop", p.body, bDims, size);
  const cc = moved.slice(0, nA), bc = moved.slice(nA, nA + nB);
  const carry = moved.slice(nA + nB);
  const cAvals = [...cb.consts, ...cc].map(avalOf);
  const bAvals = [...bb.consts, ...bc].map(avalOf);
  const kAvals = carry.map(avalOf);
  const lanesOn = (pred: Tensor) =>
    bind("ne", [castTo(pred, "float64"), full([], 0, "float64")], null);
  // Runs while some lane's predicate holds ...
  const anyCond = stageClosed(
    "whileLoop (vmap cond)",
    [...cAvals, ...kAvals],
    (v) => {
      const [pred] = evalProgram(cb.program, v);
      return [bind("max", [lanesOn(pred)], { axes: [0] })];
    },
  );
  // ... and a finished lane keeps its value.
  const body = stageClosed(
    "whileLoop (vmap body)",
    [...cAvals, ...bAvals, ...kAvals],
    (v) => {
      const c = v.slice(0, cAvals.length);
      const b = v.slice(cAvals.length, cAvals.length + bAvals.length);
      const k = v.slice(cAvals.length + bAvals.length);
      const [pred] = evalProgram(cb.program, [...c, ...k]);
      const on = lanesOn(pred);
      const next = evalProgram(bb.program, [...b, ...k]);
      return next.map((x, j) =>
        where(reshape(on, [size, ...carryAvals[j].shape.map(() => 1)]), x, k[j])
      );
    },
  );
  const out = bind("while", [
    ...anyCond.consts,
    ...cb.consts,
    ...cc,
    ...body.consts,
    ...cb.consts,
    ...cc,
    ...bb.consts,
    ...bc,
    ...carry,
  ], {
    cond: anyCond.program,
    body: body.program,
    nCondConsts: anyCond.consts.length + cAvals.length,
    nBodyConsts: body.consts.length + cAvals.length + bAvals.length,
  });
  const lanes = unpack(out, kAvals);
  void nK;
  return [packLanes(lanes, carryAvals, size), 0];
}

registerControl("scan", {
  eager: (args, p) => evalControl("scan", args, p),
  jvp: scanJvp,
  transpose: scanTranspose,
  batch: scanBatch,
});
registerControl("cond", {
  eager: (args, p) => evalControl("cond", args, p),
  jvp: condJvp,
  transpose: condTranspose,
  batch: condBatch,
});
registerControl("while", {
  eager: (args, p) => evalControl("while", args, p),
  jvp: whileJvp,
  transpose: whileTranspose,
  batch: whileBatch,
});
