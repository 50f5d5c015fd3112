/**
 * Compiles an {@link Executable} into one instruction stream for the
 * WebAssembly executor (crates/kernels/src/program.rs) and runs it with one
 * call. Why: replaying equation by equation costs ~1 µs of dispatch each,
 * which dominates small programs; the executor launches the kernels,
 * allocates results and frees dead intermediates by itself.
 *
 * Each equation is lowered by the same table as eager evaluation
 * (src/core/lowering.ts), so every program with concrete operands compiles.
 *
 * Slots: one per input, per constant and per distinct buffer an equation
 * creates. Aliasing primitives (reshape, stopGradient, identity
 * permute/broadcast/cast, reduce over no axes, one-operand cat) emit
 * nothing and reuse their operand's slot; a slot is freed when the last
 * variable on it dies (the program's memory plan), and never if it belongs
 * to an input or constant, or holds an output.
 *
 * Arena: the intermediates (slots neither returned nor moved) get offsets
 * in one block laid out by liveness (src/jit/arena.ts); the stream starts
 * with `OP_ARENA`, which places them there, so a run allocates only what it
 * returns. The block is the plan's from its second run on (a first run
 * borrows one, so a program run once keeps nothing) and is never shared by
 * two runs at once; results are always fresh buffers, so nothing a caller
 * holds is ever overwritten.
 * @module
 */
import { BYTES_PER_ELEMENT, type DType } from "../backend/dtype.ts";
import { copyStrided } from "../backend/kernels.ts";
import {
  adopt,
  allocate,
  checkedBytes,
  heapI32,
  MAX_BUFFER_BYTES,
  outOfMemoryError,
  type Storage,
  untracked,
} from "../backend/storage.ts";
import { wasm } from "../backend/wasm.ts";
import { dropArenaFrees, layoutArena } from "./arena.ts";
import { sizeOf } from "../core/shape.ts";
import { StagingTrace } from "../core/staging_trace.ts";
import { withMain } from "../core/trace.ts";
import { evalProgram } from "../core/interpret.ts";
import { Tensor } from "../core/tensor.ts";
import type { Executable } from "./execute.ts";
import {
  type Atom,
  type Aval,
  type Eqn,
  isVar,
  type Program,
} from "../core/ir.ts";
import { packDtype, scanOutAvals } from "../core/rules/control_shape.ts";
import { runStream, type Site, type SlotPlan } from "../core/executor.ts";
import { type Emitter, lower, type Operand } from "../core/lowering.ts";
import { DTYPES, MAGIC, OP } from "../backend/wasm/program_codes.ts";
import type { Prim, PrimParams } from "../core/primitives.ts";
import { emitFused, type FusionGroup, fusionGroups } from "./fusion.ts";
import { emitEpilogue, epilogueGroups } from "./epilogue.ts";

/** What an output of the program is, once the run is over. */
type OutputPlan =
  | { kind: "owned"; slot: number }
  | { kind: "input"; index: number }
  | { kind: "copy"; of: { input: number } | { const: Tensor } }
  | { kind: "const"; tensor: Tensor };

/** A compiled program: the stream and slot table live in wasm memory. */
export interface WasmPlan {
  readonly code: Storage;
  readonly codeLen: number;
  readonly table: Storage;
  readonly nslots: number;
  /** Slot of each program input, in order. */
  readonly inputSlots: readonly number[];
  readonly consts: readonly { slot: number; tensor: Tensor }[];
  /** Per slot: dtype and length of the buffer (for adopting or freeing). */
  readonly slotDtype: readonly DType[];
  readonly slotLength: readonly number[];
  /** Slots the executor allocates (freed here if a run fails), and sizes. */
  readonly slots: SlotPlan;
  /** Every slot the executor fills, in the arena or not. */
  readonly allOwned: readonly number[];
  /** The input slot that holds the arena's address (-1: no arena). */
  readonly arenaSlot: number;
  readonly arenaBytes: number;
  /**
   * The arena's address once the plan runs a second time (0 before: a
   * program that runs once, such as eager control flow, never keeps one),
   * the runs so far, and whether a run is in progress.
   */
  readonly state: { arena: number; runs: number; busy: boolean };
  readonly outputs: readonly OutputPlan[];
  readonly outputAvals: readonly Aval[];
  /** The equation each instruction lowers (for error messages). */
  readonly siteAt: (pc: number) => Site;
}

/**
 * The emitter of a whole program: the stream as it is written, the dtype
 * and length of every slot, the slots it allocates (owned) and those of
 * them not freed yet (live), and for each instruction the equation it
 * lowers (for error messages).
 */
class ProgramWriter implements Emitter {
  readonly words: number[] = [MAGIC, 0];
  readonly slotDtype: DType[] = [];
  readonly slotLength: number[] = [];
  readonly owned: number[] = [];
  readonly live: Set<number> = new Set();
  /** For the arena (src/jit/arena.ts): where slots are made, freed, moved. */
  readonly bornAt: Map<number, number> = new Map();
  readonly freedAt: Map<number, number[]> = new Map();
  readonly moved: Set<number> = new Set();
  starts: number[] = [];
  readonly eqnOf: Site[] = [];
  /** The equation being lowered (one of a loop body's, inside a scan). */
  eqn: Site = { prim: "add", params: null };

  /** A slot the caller fills (an input or a constant). */
  input(dtype: DType, length: number): number {
    this.slotDtype.push(dtype);
    this.slotLength.push(length);
    return this.slotDtype.length - 1;
  }

  fresh(dtype: DType, length: number): number {
    checkedBytes(dtype, length); // temporaries too (a float64 copy of int32)
    const s = this.input(dtype, length);
    this.owned.push(s);
    this.live.add(s);
    this.bornAt.set(s, this.words.length);
    return s;
  }

  emit(op: number, fields: readonly number[]): void {
    if (op === OP.free) {
      const l = this.freedAt.get(fields[0]);
      if (l === undefined) this.freedAt.set(fields[0], [this.words.length]);
      else l.push(this.words.length);
    } else if (op === OP.move) {
      this.moved.add(fields[0]);
      this.moved.add(fields[1]);
    }
    this.starts.push(this.words.length);
    this.eqnOf.push(this.eqn);
    // A loop, not push(...fields): a fused group of 30,000 steps has
    // 180,000 fields, more arguments than the call stack takes.
    this.words.push(op, fields.length + 2);
    for (const f of fields) this.words.push(f);
  }

  free(slot: number): void {
    this.emit(OP.free, [slot, this.bytes(slot)]);
    this.live.delete(slot);
  }

  bytes(slot: number): number {
    return this.slotLength[slot] * BYTES_PER_ELEMENT[this.slotDtype[slot]];
  }

  /** The equation of the instruction starting at word offset `pc`. */
  eqnAt(pc: number): Site {
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= pc) lo = mid;
      else hi = mid - 1;
    }
    return this.eqnOf[lo] ?? this.eqn;
  }
}

/** Per equation, the variables whose last use it is (not inputs or outputs). */
function lastUses(p: Program): number[][] {
  const pinned = new Set<number>(p.inputs);
  for (const o of p.outputs) if (o !== null && isVar(o)) pinned.add(o.var);
  const last = new Map<number, number>();
  p.eqns.forEach((e, i) =>
    e.inputs.forEach((a) => isVar(a) && last.set(a.var, i))
  );
  const frees: number[][] = p.eqns.map(() => []);
  for (const [v, i] of last) if (!pinned.has(v)) frees[i].push(v);
  return frees;
}

/**
 * @internal Whether plans built from now on keep their intermediates in an
 * arena (tests and benchmarks compare against plans without one).
 */
export const arenaOptions = { enabled: true };

/** Builds the stream and the slot plan. */
function build(executable: Executable): Omit<WasmPlan, "code" | "table"> & {
  words: readonly number[];
} {
  const { program: tape, frees } = executable;
  const fuse = executable.fuse !== false;
  const w = new ProgramWriter();
  const inputSlots = tape.inputs.map((_, i) => {
    const a = tape.inputAvals[i];
    return w.input(a.dtype, sizeOf(a.shape));
  });
  const constSlot = new Map<Tensor, number>();
  const consts: { slot: number; tensor: Tensor }[] = [];
  const constOperand = (c: Tensor): Operand => {
    let s = constSlot.get(c);
    if (s === undefined) {
      if (c._trace !== null) {
        throw new Error("internal: a compiled program closes over a tracer");
      }
      s = w.input(c.dtype, sizeOf(c.shape));
      constSlot.set(c, s);
      consts.push({ slot: s, tensor: c });
    }
    return { slot: s, shape: c.shape, dtype: c.dtype };
  };
  /** A fresh copy of `x`. */
  const copyOf = (x: Operand): number => {
    const n = sizeOf(x.shape);
    const o = w.fresh(x.dtype, n);
    w.emit(OP.copyStrided, [DTYPES[x.dtype], o, x.slot, 0, n, 1, n, 1]);
    return o;
  };

  /**
   * Lowers the equations of `prog` whose inputs are on `inputs`, freeing
   * each intermediate after its last use (never a slot of `keep`); returns
   * the operand of each output.
   */
  const lowerProgram = (
    prog: Program,
    fr: readonly (readonly number[])[],
    inputs: readonly number[],
    keep: ReadonlySet<number>,
  ): Operand[] => {
    const varSlot = new Map<number, number>();
    const varAval = new Map<number, Aval>();
    prog.inputs.forEach((v, i) => {
      varSlot.set(v, inputs[i]);
      varAval.set(v, prog.inputAvals[i]);
    });
    const operand = (a: Atom): Operand => {
      if (!isVar(a)) return constOperand(a.const);
      const { shape, dtype } = varAval.get(a.var)!;
      return { slot: varSlot.get(a.var)!, shape, dtype };
    };
    // Live variables per slot (aliases share one).
    const users = new Map<number, number>();
    // Fused groups run at their last member: a value a group reads is
    // freed only after the group ran, whichever equation used it last.
    const groupAt = new Map<number, FusionGroup>();
    const groupReads = new Map<FusionGroup, Set<number>>();
    if (fuse) {
      for (const g of epilogueGroups(prog, fusionGroups(prog))) {
        // A product joins its epilogue: the matmul runs at the group.
        const eqns = g.product === undefined
          ? g.eqns
          : [g.product, ...g.views ?? [], ...g.eqns];
        for (const j of eqns) groupAt.set(j, g);
        const reads = new Set<number>();
        for (const j of eqns) {
          for (const a of prog.eqns[j].inputs) if (isVar(a)) reads.add(a.var);
        }
        groupReads.set(g, reads);
      }
    }
    const pending = new Map<FusionGroup, number[]>(); // started, not run
    const release = (vs: readonly number[]) => {
      for (const v of vs) {
        const s = varSlot.get(v);
        if (s === undefined) continue; // a fused group's intermediate
        const waiting = [...pending].find(([g]) => groupReads.get(g)!.has(v));
        if (waiting !== undefined) {
          waiting[1].push(v);
          continue;
        }
        const n = users.get(s)! - 1;
        users.set(s, n);
        if (n === 0 && w.live.has(s) && !keep.has(s)) w.free(s);
      }
    };
    prog.eqns.forEach((e: Eqn, i) => {
      // Errors inside a loop body name the body's equation.
      w.eqn = e;
      const g = groupAt.get(i);
      if (g !== undefined) {
        if (!pending.has(g)) pending.set(g, []);
        release(fr[i]);
        if (i !== g.eqns[g.eqns.length - 1]) return;
        const emit = g.product === undefined ? emitFused : emitEpilogue;
        for (const [v, s] of emit(w, prog, g, operand)) {
          varSlot.set(v, s);
          varAval.set(v, prog.avals.get(v)!);
          users.set(s, 1);
        }
        const deferred = pending.get(g)!;
        pending.delete(g);
        release(deferred);
        return;
      }
      const ins = e.inputs.map(operand);
      const out = e.prim === "scan"
        ? lowerScan(e, ins)
        : e.prim === "cond"
        ? lowerCond(e, ins)
        : e.prim === "while"
        ? lowerWhile(e, ins)
        : lower(w, e.prim as Prim, ins, e.params as PrimParams[Prim], e.aval);
      varSlot.set(e.out, out);
      varAval.set(e.out, e.aval);
      users.set(out, (users.get(out) ?? 0) + 1);
      release(fr[i]);
    });
    return prog.outputs.map((o, i) => {
      if (o === null) {
        const a = prog.outputAvals[i];
        throw new Error(
          `internal: output ${i} (${a.dtype} [${a.shape}]) has no value`,
        );
      }
      return operand(o);
    });
  };

  /**
   * Moves the buffers of a block's outputs `outs` into the slots `targets`
   * (freeing what those held when `occupied`): a buffer the block made
   * (since owned slot `mark`) moves; anything else (an operand passed on,
   * a constant) is copied first, before any target is freed. Then frees
   * every other buffer the block made, so the block can run again.
   */
  const moveInto = (
    targets: readonly number[],
    outs: readonly Operand[],
    mark: number,
    occupied: boolean,
  ): void => {
    const mine = new Set(w.owned.slice(mark));
    const srcs = outs.map((o) => o.slot);
    const once = (s: number) => srcs.filter((x) => x === s).length === 1;
    const moves = srcs.map((s, k) => {
      if (occupied && s === targets[k] && once(s)) return null;
      return mine.has(s) && w.live.has(s) && once(s) && !targets.includes(s)
        ? s
        : copyOf(outs[k]);
    });
    moves.forEach((src, k) => {
      if (src === null) return;
      if (occupied) w.free(targets[k]);
      w.emit(OP.move, [targets[k], src]);
      w.live.delete(src);
      w.live.add(targets[k]);
    });
    for (const s of w.owned.slice(mark)) if (w.live.has(s)) w.free(s);
  };

  /** Packs `slots` (outputs of avals `avals`) into the result of `e`, like the primitive (src/core/control.ts). */
  const packSlots = (
    slots: readonly number[],
    avals: readonly Aval[],
    e: Eqn,
  ): number => {
    const dtype = packDtype(avals);
    const parts = slots.map((slot, k): Operand => {
      const shape = [sizeOf(avals[k].shape)];
      const op = { slot, shape, dtype: avals[k].dtype };
      return op.dtype === dtype ? op : {
        slot: lower(w, "cast", [op], { dtype }, { shape, dtype }),
        shape,
        dtype,
      };
    });
    let out: number;
    if (parts.length === 0) {
      out = w.fresh(dtype, 0);
      w.emit(OP.zeros, [DTYPES[dtype], out, 0]);
    } else out = lower(w, "cat", parts, { axis: 0 }, e.aval);
    for (const s of new Set([...slots, ...parts.map((q) => q.slot)])) {
      if (s !== out && w.live.has(s)) w.free(s);
    }
    return out;
  };

  /** Lowers a sub-program as a block whose inputs are on `slots`. */
  const block = (body: Program, slots: readonly number[]): Operand[] => {
    const prog = inlineCustomCalls(body);
    return lowerProgram(prog, lastUses(prog), slots, new Set(slots));
  };

  /**
   * A scan as a loop in the stream: the carries live in slots of their
   * own (copies of the initial values), each step reads its slice of the
   * xs, runs the body's instructions, writes its ys into their stacked
   * buffers and moves the new carries into the carry slots.
   */
  const lowerScan = (e: Eqn, ins: Operand[]): number => {
    const p = e.params as PrimParams["scan"];
    const { body, nConsts: nC, nCarry: nK, length: L } = p;
    const outAvals = scanOutAvals(p);
    const carry = ins.slice(nC, nC + nK).map(copyOf);
    const ys = outAvals.slice(nK).map((a) => {
      const n = sizeOf(a.shape);
      const s = w.fresh(a.dtype, n);
      w.emit(OP.zeros, [DTYPES[a.dtype], s, n]);
      return s;
    });
    if (L > 0) {
      const head = w.words.length;
      w.emit(OP.loop, [L, p.reverse ? 1 : 0, 0]);
      const start = w.words.length;
      const mark = w.owned.length;
      const slots = body.inputAvals.map((a, i) => {
        if (i < nC) return ins[i].slot;
        if (i < nC + nK) return carry[i - nC];
        const n = sizeOf(a.shape);
        const x = w.fresh(a.dtype, n);
        w.emit(OP.loopRead, [DTYPES[a.dtype], x, ins[i].slot, n]);
        return x;
      });
      const outs = block(body, slots);
      w.eqn = e;
      outs.slice(nK).forEach((o, j) =>
        w.emit(OP.loopWrite, [DTYPES[o.dtype], ys[j], o.slot, sizeOf(o.shape)])
      );
      moveInto(carry, outs.slice(0, nK), mark, true);
      w.words[head + 4] = w.words.length - start;
    }
    return packSlots([...carry, ...ys], outAvals, e);
  };

  /** A cond as one block per branch; the chosen one fills the result slots. */
  const lowerCond = (e: Eqn, ins: Operand[]): number => {
    const p = e.params as PrimParams["cond"];
    const [index, ...ops] = ins;
    const outAvals = p.branches[0].outputAvals;
    const res = outAvals.map((a) => w.fresh(a.dtype, sizeOf(a.shape)));
    const head = w.words.length;
    const n = p.branches.length;
    w.emit(OP.cond, [
      index.slot,
      DTYPES[index.dtype],
      n,
      ...p.branches.map(() => 0),
    ]);
    p.branches.forEach((b, j) => {
      const start = w.words.length;
      const mark = w.owned.length;
      const outs = block(b, ops.map((o) => o.slot));
      w.eqn = e;
      moveInto(res, outs, mark, false);
      w.words[head + 5 + j] = w.words.length - start;
    });
    return packSlots(res, outAvals, e);
  };

  /**
   * A while loop as two blocks: the predicate's, whose value lands in a
   * slot the executor reads and frees, and the body's, which moves the
   * new carries into the carry slots.
   */
  const lowerWhile = (e: Eqn, ins: Operand[]): number => {
    const p = e.params as PrimParams["while"];
    const { nCondConsts: nA, nBodyConsts: nB } = p;
    const carry = ins.slice(nA + nB).map(copyOf);
    const predAval = p.cond.outputAvals[0];
    const pred = w.fresh(predAval.dtype, 1);
    const head = w.words.length;
    w.emit(OP.while, [pred, DTYPES[predAval.dtype], 0, 0]);
    let start = w.words.length;
    let mark = w.owned.length;
    const [c] = block(p.cond, [
      ...ins.slice(0, nA).map((o) => o.slot),
      ...carry,
    ]);
    w.eqn = e;
    moveInto([pred], [c], mark, false);
    w.words[head + 4] = w.words.length - start;
    start = w.words.length;
    mark = w.owned.length;
    const outs = block(p.body, [
      ...ins.slice(nA, nA + nB).map((o) => o.slot),
      ...carry,
    ]);
    w.eqn = e;
    moveInto(carry, outs, mark, true);
    w.words[head + 5] = w.words.length - start;
    w.live.delete(pred); // the executor freed it
    return packSlots(carry, p.body.outputAvals, e);
  };

  const outOps = lowerProgram(tape, frees, inputSlots, new Set());
  const owned = new Set(w.owned);
  const outputs: OutputPlan[] = tape.outputs.map((o, i) => {
    if (o === null) {
      const a = tape.outputAvals[i];
      throw new Error(
        `internal: output ${i} (${a.dtype} [${a.shape}]) has no value`,
      );
    }
    if (!isVar(o)) return { kind: "const", tensor: o.const };
    const index = tape.inputs.indexOf(o.var);
    if (index >= 0) return { kind: "input", index };
    const slot = outOps[i].slot;
    if (owned.has(slot)) return { kind: "owned", slot };
    // An alias (reshape) of an input or a constant.
    if (slot < inputSlots.length) return { kind: "copy", of: { input: slot } };
    const tensor = consts.find((c) => c.slot === slot)!.tensor;
    return { kind: "copy", of: { const: tensor } };
  });
  // Whatever the plan did not free and no output holds (none after DCE).
  const held = new Set(outputs.map((o) => ("slot" in o ? o.slot : -1)));
  for (const s of [...w.live]) if (!held.has(s)) w.free(s);
  // Intermediates go to the arena; the stream starts by placing them.
  const layout = layoutArena(w.words, {
    owned: w.owned,
    bornAt: w.bornAt,
    freedAt: w.freedAt,
    moved: w.moved,
    held,
    bytes: (s) => w.bytes(s),
  });
  let words = w.words;
  let arenaSlot = -1;
  if (
    arenaOptions.enabled && layout.offsets.size > 0 &&
    layout.bytes <= MAX_BUFFER_BYTES
  ) {
    arenaSlot = w.input("float64", layout.bytes / 8);
    const nslots = w.slotDtype.length;
    const head = [OP.arena, nslots + 4, arenaSlot, layout.bytes];
    for (let s = 0; s < nslots; s++) head.push(layout.offsets.get(s) ?? -1);
    const kept = dropArenaFrees(w.words, layout.offsets);
    const sites = kept.from.map((pc) => w.eqnAt(pc));
    words = [MAGIC, 0, ...head, ...kept.words.slice(2)];
    // Kept instructions in stream order, after the arena's own.
    w.starts = [2];
    for (let pc = 2 + head.length; pc < words.length; pc += words[pc + 1]) {
      w.starts.push(pc);
    }
    w.eqnOf.splice(0, w.eqnOf.length, sites[0] ?? w.eqn, ...sites);
  }
  words[1] = w.slotDtype.length;
  // The executor checks every read of a slot against its size here.
  words.push(OP.sizes, words[1] + 2);
  for (let s = 0; s < words[1]; s++) words.push(w.bytes(s));
  const { slotDtype, slotLength } = w;
  const inArena = arenaSlot < 0 ? new Set<number>() : layout.offsets;
  const fresh = w.owned.filter((s) => !inArena.has(s));
  return {
    words,
    codeLen: words.length,
    nslots: slotDtype.length,
    inputSlots,
    consts,
    slotDtype,
    slotLength,
    // A failed run frees these; arena slots are the arena's.
    slots: { owned: () => fresh, bytes: (s) => w.bytes(s) },
    allOwned: w.owned,
    arenaSlot,
    arenaBytes: arenaSlot < 0 ? 0 : layout.bytes,
    state: { arena: 0, runs: 0, busy: false },
    outputs,
    outputAvals: tape.outputAvals,
    siteAt: (pc) => w.eqnAt(pc),
  };
}

const plans = new WeakMap<Executable, WasmPlan>();

/** Frees a plan's arena once the plan is unreachable. */
const arenas = new FinalizationRegistry<
  { state: WasmPlan["state"]; bytes: number }
>(({ state, bytes }) => {
  if (state.arena !== 0) wasm.free(state.arena, bytes);
  state.arena = 0;
});

/** A raw block of `bytes` (not a tensor: not in memoryStats' live bytes). */
function rawBlock(bytes: number, what: string): number {
  const p = wasm.alloc(bytes) >>> 0;
  if (p === 0) throw outOfMemoryError(`${what} (${bytes} bytes)`);
  return p;
}

/**
 * The compiled form of `program`, built on first use and cached with it.
 * The stream and slot table are allocated outside any arena: they live as
 * long as the plan.
 */
export function wasmPlan(executable: Executable): WasmPlan {
  let plan = plans.get(executable);
  if (plan !== undefined) return plan;
  const b = build(executable);
  plan = untracked(() => {
    const code = allocate("int32", b.codeLen);
    heapI32().set(b.words, code.ptr >>> 2);
    const table = allocate("int32", Math.max(1, b.nslots));
    return { ...b, code, table };
  });
  plans.set(executable, plan);
  if (plan.arenaSlot >= 0) {
    arenas.register(plan, { state: plan.state, bytes: plan.arenaBytes });
  }
  return plan;
}

/** Runs a compiled plan on concrete `inputs` (one call into WebAssembly). */
export function runPlan(plan: WasmPlan, inputs: readonly Tensor[]): Tensor[] {
  const st = plan.state;
  // A run of this plan in progress owns its table and arena: a nested run
  // (none can start inside the executor today, but a future host call
  // could) gets its own of each, freed after it.
  const nested = st.busy;
  let tmpTable = 0, tmpArena = 0, arena = 0;
  try {
    const table = nested
      ? tmpTable = rawBlock(4 * Math.max(1, plan.nslots), "a slot table")
      : plan.table.ptr;
    if (plan.arenaSlot >= 0) {
      const what = "the arena of a compiled program";
      if (nested || st.runs === 0) {
        // A first run borrows a block: a program run once keeps nothing.
        arena = tmpArena = rawBlock(plan.arenaBytes, what);
      } else {
        if (st.arena === 0) st.arena = rawBlock(plan.arenaBytes, what);
        arena = st.arena;
      }
    }
    st.busy = true;
    st.runs++;
    return runOn(plan, inputs, table, arena);
  } finally {
    st.busy = nested;
    if (tmpTable !== 0) wasm.free(tmpTable, 4 * Math.max(1, plan.nslots));
    if (tmpArena !== 0) wasm.free(tmpArena, plan.arenaBytes);
  }
}

/** One run of `plan` with the slot table at `table` and arena at `arena`. */
function runOn(
  plan: WasmPlan,
  inputs: readonly Tensor[],
  table: number,
  arena: number,
): Tensor[] {
  const h = heapI32();
  const base = table >>> 2;
  h.fill(0, base, base + plan.nslots);
  plan.inputSlots.forEach((s, i) => {
    const st = inputs[i]._storage!;
    // The stream states this size for the slot (OP_SIZES), and the
    // executor trusts it: a smaller buffer must not get in.
    if (st.length < plan.slotLength[s] || st.dtype !== plan.slotDtype[s]) {
      throw new Error(
        `internal: jit input ${i} holds ${st.length} ${st.dtype} elements, the program reads ${
          plan.slotLength[s]
        } ${plan.slotDtype[s]}`,
      );
    }
    h[base + s] = st.ptr;
  });
  for (const { slot, tensor } of plan.consts) {
    h[base + slot] = tensor._storage!.ptr;
  }
  if (plan.arenaSlot >= 0) h[base + plan.arenaSlot] = arena;
  runStream(plan.code.ptr, plan.codeLen, table, plan.slots, plan.siteAt);
  const after = heapI32(); // linear memory may have grown
  const ptrAt = (s: number) => after[base + s] >>> 0;
  const adopted = new Map<number, Storage>();
  return plan.outputs.map((o, i) => {
    const aval = plan.outputAvals[i];
    switch (o.kind) {
      case "input":
        return inputs[o.index];
      case "const":
        return o.tensor.clone();
      case "copy": {
        // An alias of an input or constant: the caller gets its own buffer.
        const src = "input" in o.of
          ? inputs[o.of.input]._storage!
          : o.of.const._storage!;
        const st = copyStrided(src, 0, [src.length], [1]);
        return Tensor._fromStorage(st, aval.shape, aval.dtype);
      }
      case "owned": {
        let st = adopted.get(o.slot);
        if (st === undefined) {
          st = adopt(
            ptrAt(o.slot),
            plan.slotDtype[o.slot],
            plan.slotLength[o.slot],
          );
          adopted.set(o.slot, st);
        }
        return Tensor._fromStorage(st, aval.shape, aval.dtype);
      }
    }
  });
}

/**
 * A control-flow body keeps its custom calls (customJvp, customVjp,
 * checkpoint) as equations, so that differentiating the loop applies the
 * user's rules; to run it, each call is replaced by the function it wraps,
 * by staging the body again with custom calls inlined (as jit stages).
 */
function inlineCustomCalls(body: Program): Program {
  if (!body.eqns.some((e) => e.prim === "custom")) return body;
  return withMain("inline custom calls", (main) => {
    const trace = new StagingTrace(main);
    trace.inlineCustom = true;
    const ins = body.inputAvals.map((a) => trace.newInput(a));
    const outs = evalProgram(body, ins);
    return trace.finish(ins, outs, body.outputAvals);
  });
}

/**
 * What a compiled plan does, for tests and benchmarks: the opcode of each
 * instruction in stream order (not the trailing `OP_SIZES`), the bytes of every buffer the executor
 * fills in one run (results and intermediates, however short-lived), the
 * size of its arena, and the bytes it allocates afresh on each run (what
 * is not in the arena: the results, loop carries and branch results).
 */
export function planStats(plan: WasmPlan): {
  opcodes: number[];
  allocatedBytes: number;
  arenaBytes: number;
  freshBytes: number;
} {
  const h = heapI32();
  const base = plan.code.ptr >>> 2;
  const opcodes: number[] = [];
  // The trailing OP_SIZES states slot sizes; it is not run.
  const end = plan.codeLen - (plan.nslots + 2);
  for (let pc = 2; pc < end; pc += h[base + pc + 1]) {
    opcodes.push(h[base + pc]);
  }
  let allocatedBytes = 0, freshBytes = 0;
  for (const s of plan.allOwned) allocatedBytes += plan.slots.bytes(s);
  for (const s of plan.slots.owned()) freshBytes += plan.slots.bytes(s);
  return { opcodes, allocatedBytes, arenaBytes: plan.arenaBytes, freshBytes };
}
