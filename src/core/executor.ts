/**
 * Runs lowered primitives on the WebAssembly executor
 * (crates/kernels/src/program.rs). {@link runEager} is eager evaluation:
 * one equation lowered (src/core/lowering.ts) straight into a stream in
 * linear memory, run in one call, its result adopted as a Storage.
 * {@link runStream} runs any finished stream and turns a failure into a
 * clear error, freeing what the run allocated; jit (src/jit/wasm_plan.ts)
 * lowers a whole program into one stream and runs it with it.
 * @module
 */
import { BYTES_PER_ELEMENT, type DType } from "../backend/dtype.ts";
import {
  adopt,
  checkedBytes,
  heapI32,
  outOfMemoryError,
  type Storage,
} from "../backend/storage.ts";
import { wasm } from "../backend/wasm.ts";
import {
  ERR,
  MAGIC,
  OP,
  STATUS_MESSAGE,
} from "../backend/wasm/program_codes.ts";
import type { Aval } from "./ir.ts";
import { type Emitter, lower } from "./lowering.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import type { Tensor } from "./tensor.ts";

/** Counts executor runs (tests check that a jitted call is one run). */
export const executorStats = { runs: 0 };

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

// An i32 view of linear memory, fresh after growth (storage.ts).
const heap = heapI32;

function failure(status: number, site: Site, details: number[]): Error {
  const { prim, params } = site;
  if (status === ERR.index) {
    const [pos, value, dim] = details;
    const { axis } = params as { axis: number };
    return new RangeError(
      `${prim}: index ${value} (at position ${pos}) is out of range for dimension ${axis} with size ${dim}`,
    );
  }
  if (status === ERR.notPositiveDefinite || status === ERR.singular) {
    const [b, j, n] = details;
    const which = b > 0 ? ` (matrix ${b} of the batch)` : "";
    return new RangeError(
      status === ERR.singular
        ? `${prim}: the matrix is singular${which}: pivot ${j} of its LU factorization is zero (order ${n})`
        : `${prim}: the matrix is not positive definite${which}: the leading minor of order ${
          j + 1
        } is not positive (pivot ${j} of ${n})`,
    );
  }
  if (status === ERR.oom) {
    // The result or a kernel's scratch (matmul's packing buffers, the
    // running bests of a strided argmax) did not fit.
    const what = prim === "matmul"
      ? "the result or the packing buffers of a matmul"
      : `the result or scratch buffers of ${prim}`;
    return outOfMemoryError(what);
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
        throw outOfMemoryError("the executor's instruction stream");
      }
      this.ptr = ptr;
      this.capacity = capacity;
    }
    return this.ptr;
  }
}

/**
 * The emitter of eager evaluation: one equation's instructions, written
 * straight into a stream buffer in linear memory. Slots below the operand
 * count are the operands; every later one is fresh (owned).
 */
class EagerWriter implements Emitter, SlotPlan {
  nargs = 0;
  nslots = 0;
  nwords = 2;
  ninstr = 0;
  nlive = 0;
  readonly live: number[] = [];
  readonly dtype: DType[] = [];
  readonly length: number[] = [];
  readonly code = new Words();
  /** Where the stream starts, as an index into `h`. */
  at = this.code.reserve(256) >>> 2;
  h: Int32Array = heap();

  start(nargs: number): void {
    this.nargs = this.nslots = nargs;
    this.nwords = 2;
    this.ninstr = this.nlive = 0;
    // A view serves below its length: growing a shared memory leaves its
    // old buffers aliasing the same bytes, and detaches a plain memory's
    // (length 0). So the view is read again only when it cannot reach.
    if (this.h.length < this.at + this.code.capacity) this.h = heap();
  }

  fresh(dtype: DType, length: number): number {
    checkedBytes(dtype, length); // temporaries too (a float64 copy of int32)
    const s = this.nslots++;
    this.dtype[s] = dtype;
    this.length[s] = length;
    this.live[s] = 1;
    this.nlive++;
    return s;
  }

  /** Makes room for `len` more words. */
  private room(len: number): void {
    const n = this.nwords;
    if (n + len > this.code.capacity) {
      // Grow the buffer, keeping what is written (nothing allocates in
      // wasm while a lowering runs, so the view stays valid otherwise).
      const old = this.h.slice(this.at, this.at + n);
      this.at = this.code.reserve(n + len) >>> 2;
      this.h = heap();
      this.h.set(old, this.at);
    }
  }

  emit(op: number, fields: readonly number[]): void {
    let n = this.nwords;
    const len = fields.length + 2;
    this.room(len);
    const h = this.h, at = this.at;
    h[at + n++] = op;
    h[at + n++] = len;
    for (let i = 0; i < fields.length; i++) h[at + n++] = fields[i];
    this.nwords = n;
    this.ninstr++;
  }

  free(slot: number): void {
    this.emit(OP.free, [slot, this.bytes(slot)]);
    this.live[slot] = 0;
    this.nlive--;
  }

  bytes(slot: number): number {
    return this.length[slot] * BYTES_PER_ELEMENT[this.dtype[slot]];
  }

  owned(): number[] {
    const out: number[] = [];
    for (let s = this.nargs; s < this.nslots; s++) out.push(s);
    return out;
  }

  /**
   * Ends the stream with its `OP_SIZES`: each operand's storage size (what
   * its buffer really holds; the executor checks every read against it),
   * then 0 for the slots the run fills (the executor sizes those itself).
   */
  endWithSizes(args: readonly Tensor[]): void {
    const len = this.nslots + 2;
    this.room(len);
    const h = this.h;
    let n = this.at + this.nwords;
    h[n++] = OP.sizes;
    h[n++] = len;
    for (let i = 0; i < this.nargs; i++) {
      const s = args[i]._storage!;
      h[n++] = s.length * BYTES_PER_ELEMENT[s.dtype];
    }
    for (let i = this.nargs; i < this.nslots; i++) h[n++] = 0;
    this.nwords += len;
  }
}

const eager = new EagerWriter();
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
  const nargs = args.length;
  w.start(nargs);
  const ins = operands(nargs);
  for (let i = 0; i < nargs; i++) {
    const a = args[i], o = ins[i];
    o.slot = i;
    o.shape = a.shape;
    o.dtype = a.dtype;
  }
  const r = lower(w, prim, ins, params, out);
  const aliased = r < nargs;
  if (w.nlive !== (aliased ? 0 : 1) || (!aliased && w.live[r] !== 1)) {
    throw new Error(`internal: the lowering of ${prim} leaves temporaries`);
  }
  if (aliased && w.ninstr === 0) return args[r]._storage!;
  const table = eagerTable.reserve(w.nslots);
  const tb = table >>> 2;
  // (A view serves below its length: see EagerWriter.start.)
  let h = w.h;
  if (h.length < tb + w.nslots) h = w.h = heap();
  for (let i = 0; i < nargs; i++) {
    const s = args[i]._storage!;
    if (s.disposed) {
      throw new Error(`${prim}: ${s._deadMessage ?? "tensor was disposed"}`);
    }
    h[tb + i] = s.ptr;
  }
  for (let i = tb + nargs; i < tb + w.nslots; i++) h[i] = 0;
  w.endWithSizes(args);
  h = w.h;
  h[w.at] = MAGIC;
  h[w.at + 1] = w.nslots;
  executorStats.runs++;
  const status = wasm.run_program(w.at << 2, w.nwords, table, INFO);
  if (status !== 0) failEager(status, table, prim, params);
  if (aliased) return args[r]._storage!;
  // The run allocated the result, which may have grown memory.
  if (h.length <= tb + r) h = w.h = heap();
  return adopt(h[tb + r] >>> 0, w.dtype[r], w.length[r]);
}

// (Its own function, for the same reason as bind's processInLibrary: a
// closure in runEager would allocate a context on every call.)
function failEager<P extends Prim>(
  status: number,
  table: number,
  prim: P,
  params: PrimParams[P],
): never {
  fail(status, table, eager, () => ({ prim, params }));
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
