/**
 * Compiles a {@link Executable} into an instruction stream for the
 * WebAssembly executor (crates/kernels/src/program.rs) and runs it with one
 * call. Why: replaying equation by equation from TypeScript costs ~1 µs of
 * dispatch each, which dominates small programs; the executor launches the
 * same kernels, allocates results and frees dead intermediates by itself.
 *
 * All or nothing: a program with a primitive the executor lacks (argmax,
 * argmin, indexSelect, indexAdd), an int32 value anywhere, a rank above
 * {@link MAX_RANK} or a `where` whose condition has another dtype than its
 * branches is not compiled and keeps the TypeScript replay.
 *
 * Slots: one per input, per constant and per distinct buffer an equation
 * creates. Aliasing primitives (reshape, stopGradient, identity
 * permute/broadcast/cast, reduce over no axes, one-operand cat) emit
 * nothing and reuse their operand's slot; a slot is freed when the last
 * variable on it dies (the program's memory plan), and never if it belongs
 * to an input or constant, or holds an output.
 * @module
 */
import { BYTES_PER_ELEMENT, type DType, DTYPE_CODE } from "../backend/dtype.ts";
import { copyStrided, MAX_RANK } from "../backend/kernels.ts";
import {
  adopt,
  allocate,
  heapI32,
  type Storage,
  untracked,
} from "../backend/storage.ts";
import { wasm } from "../backend/wasm.ts";
import { shapeEq, sizeOf, stridesOf } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import {
  BINARY_PRIMS,
  type BinaryPrim,
  type PrimParams,
  REDUCE_PRIMS,
  type ReducePrim,
  UNARY_PRIMS,
  type UnaryPrim,
} from "../core/primitives.ts";
import type { Executable } from "./execute.ts";
import { type Atom, type Eqn, isVar } from "../core/ir.ts";
import type { Aval } from "../core/ir.ts";

// Must match crates/kernels/src/program.rs.
const MAGIC = 0x4a505247;
const OP = {
  unary: 1,
  binary: 2,
  where: 3,
  reduce: 4,
  copyStrided: 5,
  zeros: 6,
  copyInto: 7,
  cast: 8,
  matmul: 9,
  free: 10,
} as const;
const STATUS: Record<number, string> = {
  1: "bad stream header",
  2: "truncated instruction",
  3: "unknown opcode",
  4: "slot out of range",
  5: "read of an empty slot",
  6: "write to an occupied slot",
  7: "invalid field",
  8: "out of WebAssembly memory",
};

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
  /** Slots the executor allocates (freed here if a run fails). */
  readonly owned: readonly number[];
  readonly outputs: readonly OutputPlan[];
  readonly outputAvals: readonly Aval[];
}

/**
 * Counts executor runs, so tests can tell it was used; `enabled: false`
 * sends every program through the TypeScript replay (tests that count
 * kernel launches per primitive, comparisons of the two paths).
 */
export const executor = { wasmRuns: 0, enabled: true };

const isFloat = (d: DType) => d === "float32" || d === "float64";

class Unsupported extends Error {}

/** Strides of `shape` broadcast (right-aligned) to `out`; 0 on broadcast dims. */
function broadcastStrides(
  shape: readonly number[],
  out: readonly number[],
): number[] {
  const s = stridesOf(shape);
  const off = out.length - shape.length;
  return out.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]));
}

function checkRank(r: number): void {
  if (r > MAX_RANK) throw new Unsupported();
}

/** Builds the stream and the slot plan; throws Unsupported to fall back. */
function build(executable: Executable): Omit<WasmPlan, "code" | "table"> & {
  words: number[];
} {
  const { program: tape, frees } = executable;
  const words: number[] = [MAGIC, 0];
  const slotDtype: DType[] = [];
  const slotLength: number[] = [];
  const ownedSet = new Set<number>();
  const newSlot = (dtype: DType, length: number, owned: boolean) => {
    if (!isFloat(dtype)) throw new Unsupported();
    slotDtype.push(dtype);
    slotLength.push(length);
    if (owned) ownedSet.add(slotDtype.length - 1);
    return slotDtype.length - 1;
  };
  const varSlot = new Map<number, number>();
  const varShape = new Map<number, readonly number[]>();
  const inputSlots = tape.inputs.map((v, i) => {
    const a = tape.inputAvals[i];
    varShape.set(v, a.shape);
    const s = newSlot(a.dtype, sizeOf(a.shape), false);
    varSlot.set(v, s);
    return s;
  });
  const constSlot = new Map<Tensor, number>();
  const consts: { slot: number; tensor: Tensor }[] = [];
  const slotOf = (a: Atom): number => {
    if (isVar(a)) return varSlot.get(a.var)!;
    let s = constSlot.get(a.const);
    if (s === undefined) {
      if (a.const._trace !== null) throw new Unsupported();
      s = newSlot(a.const.dtype, sizeOf(a.const.shape), false);
      constSlot.set(a.const, s);
      consts.push({ slot: s, tensor: a.const });
    }
    return s;
  };
  const shapeOf = (
    a: Atom,
  ) => (isVar(a) ? varShape.get(a.var)! : a.const.shape);
  const emit = (op: number, fields: readonly number[]) =>
    words.push(op, fields.length + 2, ...fields);

  // Live variables per slot (aliases share one); owned slots not yet freed.
  const users = new Map<number, number>();
  const allocated = new Set<number>();

  tape.eqns.forEach((e, i) => {
    for (const a of e.inputs) slotOf(a);
    const out = lower(e);
    varSlot.set(e.out, out);
    varShape.set(e.out, e.aval.shape);
    users.set(out, (users.get(out) ?? 0) + 1);
    for (const v of frees[i]) {
      const s = varSlot.get(v)!;
      const n = users.get(s)! - 1;
      users.set(s, n);
      if (n === 0 && allocated.has(s)) {
        emit(OP.free, [s, slotLength[s] * BYTES_PER_ELEMENT[slotDtype[s]]]);
        allocated.delete(s);
      }
    }
  });

  /** Emits the instructions of one equation; returns the slot of its result. */
  function lower(e: Eqn): number {
    const { prim, aval } = e;
    if (!isFloat(aval.dtype)) throw new Unsupported();
    const ins = e.inputs.map(slotOf);
    const shapes = e.inputs.map(shapeOf);
    for (const s of ins) if (!isFloat(slotDtype[s])) throw new Unsupported();
    const dt = DTYPE_CODE[aval.dtype];
    const n = sizeOf(aval.shape);
    checkRank(aval.shape.length);
    for (const s of shapes) checkRank(s.length);
    const fresh = () => {
      const s = newSlot(aval.dtype, n, true);
      allocated.add(s);
      return s;
    };
    const params = e.params;
    if ((UNARY_PRIMS as readonly string[]).includes(prim)) {
      const o = fresh();
      emit(OP.unary, [
        dt,
        UNARY_PRIMS.indexOf(prim as UnaryPrim),
        o,
        ins[0],
        n,
      ]);
      return o;
    }
    if ((BINARY_PRIMS as readonly string[]).includes(prim)) {
      const o = fresh();
      const op = BINARY_PRIMS.indexOf(prim as BinaryPrim);
      const an = sizeOf(shapes[0]), bn = sizeOf(shapes[1]);
      const head = [dt, op, o, ins[0], ins[1], n];
      if ((an === n || an === 1) && (bn === n || bn === 1)) {
        // One flat row: same-shape or scalar operands.
        emit(OP.binary, [...head, 1, n, an === n ? 1 : 0, bn === n ? 1 : 0]);
      } else {
        emit(OP.binary, [
          ...head,
          aval.shape.length,
          ...aval.shape,
          ...broadcastStrides(shapes[0], aval.shape),
          ...broadcastStrides(shapes[1], aval.shape),
        ]);
      }
      return o;
    }
    if ((REDUCE_PRIMS as readonly string[]).includes(prim)) {
      const { axes } = params as PrimParams["sum"];
      if (axes.length === 0) return ins[0];
      const o = fresh();
      const shape = shapes[0], st = stridesOf(shape);
      const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
      const order = [...kept, ...axes];
      emit(OP.reduce, [
        dt,
        REDUCE_PRIMS.indexOf(prim as ReducePrim),
        o,
        ins[0],
        n,
        shape.length,
        axes.length,
        ...order.map((d) => shape[d]),
        ...order.map((d) => st[d]),
      ]);
      return o;
    }
    const copy = (offset: number, strides: readonly number[]) => {
      const o = fresh();
      emit(OP.copyStrided, [
        dt,
        o,
        ins[0],
        offset,
        n,
        aval.shape.length,
        ...aval.shape,
        ...strides,
      ]);
      return o;
    };
    const offsetOf = (start: readonly number[], st: readonly number[]) =>
      start.reduce((acc, v, i) => acc + v * st[i], 0);
    switch (prim) {
      case "reshape":
      case "stopGradient":
        return ins[0];
      case "permute": {
        const { perm } = params as PrimParams["permute"];
        if (perm.every((p, i) => p === i)) return ins[0];
        const s = stridesOf(shapes[0]);
        return copy(0, perm.map((p) => s[p]));
      }
      case "broadcastTo":
        return shapeEq(shapes[0], aval.shape)
          ? ins[0]
          : copy(0, broadcastStrides(shapes[0], aval.shape));
      case "slice": {
        const { start, step } = params as PrimParams["slice"];
        const s = stridesOf(shapes[0]);
        return copy(offsetOf(start, s), s.map((v, i) => v * step[i]));
      }
      case "pad": {
        const { start, step } = params as PrimParams["pad"];
        const o = fresh();
        emit(OP.zeros, [dt, o, n]);
        const s = stridesOf(aval.shape), xs = shapes[0];
        const xn = sizeOf(xs);
        emit(OP.copyInto, [
          dt,
          o,
          ins[0],
          offsetOf(start, s),
          xn,
          xs.length,
          ...xs,
          ...s.map((v, i) => v * step[i]),
        ]);
        return o;
      }
      case "cat": {
        if (ins.length === 1) return ins[0];
        const { axis } = params as PrimParams["cat"];
        const o = fresh();
        emit(OP.zeros, [dt, o, n]);
        const s = stridesOf(aval.shape);
        let at = 0;
        ins.forEach((slot, j) => {
          const xs = shapes[j];
          const xn = sizeOf(xs);
          if (xn > 0) {
            emit(OP.copyInto, [
              dt,
              o,
              slot,
              at * s[axis],
              xn,
              xs.length,
              ...xs,
              ...s,
            ]);
          }
          at += xs[axis];
        });
        return o;
      }
      case "cast": {
        const from = slotDtype[ins[0]];
        if (from === aval.dtype) return ins[0];
        const o = fresh();
        emit(OP.cast, [DTYPE_CODE[from], dt, o, ins[0], n]);
        return o;
      }
      case "where": {
        // The kernel reads the condition in the branches' dtype.
        if (slotDtype[ins[0]] !== aval.dtype) throw new Unsupported();
        const o = fresh();
        const r = aval.shape.length;
        emit(OP.where, [
          dt,
          o,
          ins[0],
          ins[1],
          ins[2],
          n,
          r,
          ...aval.shape,
          ...shapes.flatMap((s) => broadcastStrides(s, aval.shape)),
        ]);
        return o;
      }
      case "matmul": {
        const { transA, transB } = params as PrimParams["matmul"];
        const [as, bs] = shapes;
        const r = aval.shape.length;
        const m = aval.shape[r - 2], nn = aval.shape[r - 1];
        const k = transA ? as[as.length - 2] : as[as.length - 1];
        const batch = sizeOf(aval.shape.slice(0, -2));
        const o = fresh();
        emit(OP.matmul, [
          dt,
          o,
          ins[0],
          ins[1],
          batch,
          m,
          nn,
          k,
          transA ? 1 : 0,
          transB ? 1 : 0,
          as.length > 2 ? m * k : 0,
          bs.length > 2 ? k * nn : 0,
        ]);
        return o;
      }
      default:
        throw new Unsupported();
    }
  }

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
    const slot = varSlot.get(o.var)!;
    if (ownedSet.has(slot)) return { kind: "owned", slot };
    // An alias (reshape) of an input or a constant.
    if (slot < inputSlots.length) return { kind: "copy", of: { input: slot } };
    const tensor = consts.find((c) => c.slot === slot)!.tensor;
    return { kind: "copy", of: { const: tensor } };
  });
  // Whatever the plan did not free and no output holds (none after DCE).
  const held = new Set(outputs.map((o) => ("slot" in o ? o.slot : -1)));
  for (const s of allocated) {
    if (!held.has(s)) {
      emit(OP.free, [s, slotLength[s] * BYTES_PER_ELEMENT[slotDtype[s]]]);
    }
  }
  words[1] = slotDtype.length;
  return {
    words,
    codeLen: words.length,
    nslots: slotDtype.length,
    inputSlots,
    consts,
    slotDtype,
    slotLength,
    owned: [...ownedSet],
    outputs,
    outputAvals: tape.outputAvals,
  };
}

const plans = new WeakMap<Executable, WasmPlan | null>();

/**
 * The compiled form of `program`, built on first use and cached with it
 * (null when the program needs the TypeScript replay). The stream and slot
 * table are allocated outside any arena: they live as long as the plan.
 */
export function wasmPlan(executable: Executable): WasmPlan | null {
  if (!executor.enabled) return null;
  let plan = plans.get(executable);
  if (plan !== undefined) return plan;
  try {
    const b = build(executable);
    plan = untracked(() => {
      const code = allocate("int32", b.codeLen);
      heapI32().set(b.words, code.ptr >>> 2);
      const table = allocate("int32", Math.max(1, b.nslots));
      return { ...b, code, table };
    });
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    plan = null;
  }
  plans.set(executable, plan);
  return plan;
}

/** Runs a compiled plan on concrete `inputs` (one call into WebAssembly). */
export function runPlan(plan: WasmPlan, inputs: readonly Tensor[]): Tensor[] {
  let h = heapI32();
  const base = plan.table.ptr >>> 2;
  h.fill(0, base, base + plan.nslots);
  plan.inputSlots.forEach((s, i) => h[base + s] = inputs[i]._storage!.ptr);
  for (const { slot, tensor } of plan.consts) {
    h[base + slot] = tensor._storage!.ptr;
  }
  const status = wasm.run_program(plan.code.ptr, plan.codeLen, plan.table.ptr);
  h = heapI32(); // linear memory may have grown
  const ptrAt = (s: number) => h[base + s] >>> 0;
  if (status !== 0) {
    for (const s of plan.owned) {
      const p = ptrAt(s);
      if (p !== 0) {
        wasm.free(p, plan.slotLength[s] * BYTES_PER_ELEMENT[plan.slotDtype[s]]);
      }
    }
    throw new Error(
      `jit: the WebAssembly executor failed: ${
        STATUS[status] ?? "unknown error"
      } (status ${status})`,
    );
  }
  executor.wasmRuns++;
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
