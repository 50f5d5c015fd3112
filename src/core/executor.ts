/**
 * Runs lowered primitives on the WebAssembly executor
 * (crates/kernels/src/program.rs). A {@link StreamWriter} is the
 * {@link Emitter} every lowering writes into; {@link runStream} runs a
 * finished stream in one call and turns a failure into a clear error;
 * {@link runEager} is eager evaluation: one equation lowered, run, and its
 * result adopted as a Storage. jit (src/jit/wasm_plan.ts) writes a whole
 * program into one StreamWriter and runs it the same way.
 * @module
 */
import { BYTES_PER_ELEMENT, type DType } from "../backend/dtype.ts";
import { adopt, type Storage } from "../backend/storage.ts";
import { wasm } from "../backend/wasm.ts";
import {
  ERR,
  MAGIC,
  OP,
  STATUS_MESSAGE,
} from "../backend/wasm/program_codes.ts";
import type { Aval } from "./ir.ts";
import { type Emitter, lower, type Operand } from "./lowering.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import type { Tensor } from "./tensor.ts";

/** Counts executor runs (tests check that a jitted call is one run). */
export const executorStats = { runs: 0 };

/**
 * An instruction stream being written, with its slot table's plan: the
 * dtype and length of every slot, which slots the stream allocates, and
 * which of those are not freed yet. Reused by eager evaluation for every
 * operation, so it resets by counters rather than by new arrays.
 */
export class StreamWriter implements Emitter {
  #words: number[] = [MAGIC, 0];
  #nwords = 2;
  #dtype: DType[] = [];
  #length: number[] = [];
  #nslots = 0;
  /** Per slot: 1 if the stream allocates it and has not freed it yet. */
  #live: number[] = [];
  #nlive = 0;
  #owned: number[] = [];
  #nowned = 0;
  #starts: number[] = [];
  #tags: number[] = [];
  #ninstr = 0;
  /** Tag recorded with the instructions emitted next (jit: the equation's index). */
  tag = 0;

  /** A slot the caller fills with an existing buffer (an input or a constant). */
  input(dtype: DType, length: number): number {
    const s = this.#nslots++;
    this.#dtype[s] = dtype;
    this.#length[s] = length;
    this.#live[s] = 0;
    return s;
  }

  fresh(dtype: DType, length: number): number {
    const s = this.input(dtype, length);
    this.#live[s] = 1;
    this.#nlive++;
    this.#owned[this.#nowned++] = s;
    return s;
  }

  emit(op: number, fields: readonly number[]): void {
    const w = this.#words;
    let n = this.#nwords;
    this.#starts[this.#ninstr] = n;
    this.#tags[this.#ninstr++] = this.tag;
    w[n++] = op;
    w[n++] = fields.length + 2;
    for (let i = 0; i < fields.length; i++) w[n++] = fields[i];
    this.#nwords = n;
  }

  free(slot: number): void {
    this.emit(OP.free, [slot, this.bytes(slot)]);
    this.#live[slot] = 0;
    this.#nlive--;
  }

  /** Byte size of the buffer in `slot`. */
  bytes(slot: number): number {
    return this.#length[slot] * BYTES_PER_ELEMENT[this.#dtype[slot]];
  }

  get nslots(): number {
    return this.#nslots;
  }
  get nwords(): number {
    return this.#nwords;
  }
  get ninstructions(): number {
    return this.#ninstr;
  }
  /** Number of slots allocated by the stream and not freed yet. */
  get nlive(): number {
    return this.#nlive;
  }
  isLive(slot: number): boolean {
    return this.#live[slot] === 1;
  }
  /** The live slots, in order. */
  liveSlots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.#nslots; s++) if (this.#live[s] === 1) out.push(s);
    return out;
  }
  /** The slots the stream allocates. */
  owned(): number[] {
    return this.#owned.slice(0, this.#nowned);
  }
  slotDtype(slot: number): DType {
    return this.#dtype[slot];
  }
  slotLength(slot: number): number {
    return this.#length[slot];
  }

  /** Copies the stream, header filled in, to `h` at index `at`. */
  writeTo(h: Int32Array, at: number): void {
    const w = this.#words;
    w[1] = this.#nslots;
    for (let i = 0; i < this.#nwords; i++) h[at + i] = w[i];
  }

  /** The stream's words, header filled in. */
  finish(): number[] {
    this.#words[1] = this.#nslots;
    return this.#words.slice(0, this.#nwords);
  }

  /** Empties the writer for the next stream. */
  reset(): void {
    this.#nwords = 2;
    this.#nslots = 0;
    this.#nlive = 0;
    this.#nowned = 0;
    this.#ninstr = 0;
    this.tag = 0;
  }

  /** The tag of the instruction starting at word offset `pc`. */
  tagAt(pc: number): number {
    let lo = 0, hi = this.#ninstr - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= pc) lo = mid;
      else hi = mid - 1;
    }
    return this.#tags[lo] ?? 0;
  }
}

/** Which slots a stream allocates, and their sizes. */
export interface SlotPlan {
  owned(): readonly number[];
  bytes(slot: number): number;
}

/** The primitive application an instruction belongs to (for error messages). */
export interface Site {
  readonly prim: Prim;
  readonly params: unknown;
}

// Four i32 the executor fills when a run fails: [pc, details...].
const INFO = wasm.alloc(16) >>> 0;

// An i32 view of linear memory. Growth detaches the old buffer, which
// empties views over it: cheaper to test than reading `memory.buffer`.
let view = new Int32Array(wasm.memory.buffer);
function heap(): Int32Array {
  if (view.length === 0) view = new Int32Array(wasm.memory.buffer);
  return view;
}

function failure(status: number, site: Site, details: number[]): Error {
  const { prim, params } = site;
  if (status === ERR.index) {
    const [pos, value, dim] = details;
    const { axis } = params as { axis: number };
    return new RangeError(
      `${prim}: index ${value} (at position ${pos}) is out of range for dimension ${axis} with size ${dim}`,
    );
  }
  if (status === ERR.oom) {
    return new RangeError(`${prim}: out of WebAssembly memory`);
  }
  return new Error(
    `${prim}: the WebAssembly executor failed: ${
      STATUS_MESSAGE[status] ?? "unknown error"
    } (status ${status})`,
  );
}

/**
 * Runs the stream of `codeLen` words at `code` over the slot table at
 * `table` (inputs filled in, every other slot 0). If it fails, frees what it
 * allocated (the owned slots still holding a buffer) and throws the
 * failure, attributed by `siteAt` (given the failing instruction's offset).
 */
export function runStream(
  code: number,
  codeLen: number,
  table: number,
  slots: SlotPlan,
  siteAt: (pc: number) => Site,
): void {
  executorStats.runs++;
  const status = wasm.run_program(code, codeLen, table, INFO);
  if (status !== 0) fail(status, table, slots, siteAt);
}

/** After a failed run: frees what it allocated, throws what went wrong. */
function fail(
  status: number,
  table: number,
  slots: SlotPlan,
  siteAt: (pc: number) => Site,
): never {
  const h = heap();
  const base = table >>> 2;
  for (const s of slots.owned()) {
    const p = h[base + s] >>> 0;
    if (p !== 0) {
      wasm.free(p, slots.bytes(s));
      h[base + s] = 0;
    }
  }
  const i = INFO >>> 2;
  throw failure(status, siteAt(h[i]), [h[i + 1], h[i + 2], h[i + 3]]);
}

/** A block of i32 words in wasm memory, grown on demand (never shrinks). */
class Words {
  ptr = 0;
  capacity = 0;
  reserve(n: number): number {
    if (n > this.capacity) {
      if (this.ptr !== 0) wasm.free(this.ptr, 4 * this.capacity);
      const capacity = Math.max(n, 2 * this.capacity, 256);
      const ptr = wasm.alloc(4 * capacity) >>> 0;
      if (ptr === 0) {
        this.ptr = this.capacity = 0;
        throw new RangeError("out of WebAssembly memory (executor stream)");
      }
      this.ptr = ptr;
      this.capacity = capacity;
    }
    return this.ptr;
  }
}

const eager = new StreamWriter();
const eagerCode = new Words();
const eagerTable = new Words();

/**
 * Eager evaluation of one primitive on concrete tensors: lowers it, runs
 * the instructions in one call into WebAssembly and returns the result's
 * storage (an operand's own storage when the lowering aliases it). `out`
 * is the result's aval from the shape rule, which validated the operands.
 */
export function runEager<P extends Prim>(
  prim: P,
  args: readonly Tensor[],
  params: PrimParams[P],
  out: Aval,
): Storage {
  const w = eager;
  w.reset();
  const nargs = args.length;
  const ins = operands(nargs);
  for (let i = 0; i < nargs; i++) {
    const a = args[i], o = ins[i];
    o.slot = w.input(a.dtype, 0);
    o.shape = a.shape;
    o.dtype = a.dtype;
  }
  const r = lower(w, prim, ins, params, out);
  const aliased = r < nargs;
  if (w.nlive !== (aliased ? 0 : 1) || (!aliased && !w.isLive(r))) {
    throw new Error(`internal: the lowering of ${prim} leaves temporaries`);
  }
  if (aliased && w.ninstructions === 0) return args[r]._storage!;
  const code = eagerCode.reserve(w.nwords);
  const table = eagerTable.reserve(w.nslots);
  // Read every operand's pointer first: a disposed one throws here.
  const h = heap();
  const tb = table >>> 2;
  for (let i = 0; i < nargs; i++) h[tb + i] = args[i]._storage!.ptr;
  for (let i = tb + nargs; i < tb + w.nslots; i++) h[i] = 0;
  w.writeTo(h, code >>> 2);
  executorStats.runs++;
  const status = wasm.run_program(code, w.nwords, table, INFO);
  if (status !== 0) {
    fail(status, table, w, () => ({ prim, params }));
  }
  if (aliased) return args[r]._storage!;
  return adopt(heap()[tb + r] >>> 0, w.slotDtype(r), w.slotLength(r));
}

/** Mutable operands reused by every eager call (lowerings never keep them). */
interface EagerOperand {
  slot: number;
  shape: readonly number[];
  dtype: DType;
}
const operandLists: EagerOperand[][] = [];
function operands(n: number): EagerOperand[] {
  let list = operandLists[n];
  if (list === undefined) {
    list = operandLists[n] = Array.from(
      { length: n },
      () => ({ slot: 0, shape: [], dtype: "float32" }),
    );
  }
  return list;
}
