/**
 * The lowering table: how each primitive becomes kernel launches, written
 * once for both ways of running it. A lowering emits instructions for the
 * WebAssembly executor (crates/kernels/src/program.rs) through an
 * {@link Emitter}; eager evaluation runs the few instructions of one
 * equation at once (src/core/executor.ts), and `jit` appends the lowering of
 * every equation of a program to one stream that runs in a single call
 * (src/jit/wasm_plan.ts).
 *
 * Buffers are slots. A lowering gets its operands' slots, shapes and dtypes,
 * the params and the result's aval (shapes were checked by the shape rule),
 * and returns the slot of the result: a fresh one, or an operand's own slot
 * when the result is that buffer unchanged (reshape, stopGradient, identity
 * permute/broadcast/cast, a reduction over no axes, a one-operand cat).
 * Temporaries it makes (a cast for a kernel of another dtype) it frees.
 *
 * Op codes and opcodes come from src/backend/wasm/program_codes.ts, which
 * is generated from program.rs: a unary, binary or reduce primitive without
 * a kernel op code of its name fails to compile here.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import {
  BINARY_OPS,
  DTYPES,
  MAX_RANK,
  OP,
  RANDOM_DISTS,
  RANDOM_DOMAINS,
  REDUCE_OPS,
  UNARY_OPS,
} from "../backend/wasm/program_codes.ts";
import { checkedBytes } from "../backend/storage.ts";
import type { Aval } from "./ir.ts";
import {
  BINARY_PRIMS,
  type BinaryPrim,
  type Prim,
  type PrimParams,
  REDUCE_PRIMS,
  type ReducePrim,
  UNARY_PRIMS,
  type UnaryPrim,
} from "./primitives.ts";
import { family } from "./rules/family.ts";
import { shapeEq, sizeOf, stridesOf } from "./shape.ts";
import { convLowerings } from "./lowering_conv.ts";

/** An operand as a lowering sees it. */
export interface Operand {
  readonly slot: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Where a lowering writes its instructions. */
export interface Emitter {
  /**
   * A new, empty slot for `length` elements of `dtype`; the instruction
   * that first writes it allocates the buffer.
   */
  fresh(dtype: DType, length: number): number;
  /** Appends instruction `op` with its fields (layouts: program.rs). */
  emit(op: number, fields: readonly number[]): void;
  /** Frees a slot from {@link Emitter.fresh} after its last use. */
  free(slot: number): void;
}

/**
 * Emits the instructions of one primitive application and returns the slot
 * of its result (see the module doc).
 */
export type Lowering<Q> = (
  em: Emitter,
  ins: readonly Operand[],
  params: Q,
  out: Aval,
) => number;

type LoweringTable = { [P in Prim]: Lowering<PrimParams[P]> };

// Completeness by type: every primitive of a family has a kernel op code.
const UNARY_CODE: Readonly<Record<UnaryPrim, number>> = UNARY_OPS;
const BINARY_CODE: Readonly<Record<BinaryPrim, number>> = BINARY_OPS;
const REDUCE_CODE: Readonly<Record<ReducePrim, number>> = REDUCE_OPS;

/** Appends `xs` to the fields `f` (no spread: this runs for every eager op). */
function push(f: number[], xs: readonly number[]): number[] {
  for (let i = 0; i < xs.length; i++) f.push(xs[i]);
  return f;
}

/**
 * Appends the strides of contiguous `shape` broadcast (right-aligned) to
 * `out`: 0 on the dims it is broadcast along.
 */
function pushBroadcastStrides(
  f: number[],
  shape: readonly number[],
  out: readonly number[],
): number[] {
  const r = out.length, off = r - shape.length, at = f.length;
  for (let d = 0; d < r; d++) f.push(0);
  let acc = 1;
  for (let d = r - 1; d >= off; d--) {
    const n = shape[d - off];
    if (n !== 1) f[at + d] = acc;
    acc *= n;
  }
  return f;
}

/** The strides of contiguous `shape` broadcast to `out` (see pushBroadcastStrides). */
const broadcastStrides = (shape: readonly number[], out: readonly number[]) =>
  pushBroadcastStrides([], shape, out);

/** Shapes and strides travel inline, at most MAX_RANK of them. */
function checkRank(what: string, shape: readonly number[]): number {
  if (shape.length > MAX_RANK) {
    throw new RangeError(
      `${what}: rank ${shape.length} exceeds the maximum of ${MAX_RANK}`,
    );
  }
  return shape.length;
}

const offsetOf = (start: readonly number[], strides: readonly number[]) =>
  start.reduce((acc, v, i) => acc + v * strides[i], 0);

/** [outer, length, inner] of `shape` around `axis` (rank 0: [1, 1, 1]). */
function splitAxis(
  shape: readonly number[],
  axis: number,
): [number, number, number] {
  let outer = 1, inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return [outer, shape.length === 0 ? 1 : shape[axis], inner];
}

/** A fresh slot holding `x` converted to `dtype`. */
function castTo(em: Emitter, x: Operand, dtype: DType): Operand {
  const n = sizeOf(x.shape);
  const o = em.fresh(dtype, n);
  em.emit(OP.cast, [DTYPES[x.dtype], DTYPES[dtype], o, x.slot, n]);
  return { slot: o, shape: x.shape, dtype };
}

/** A fresh copy of `x` read at `offset` with `strides`, in the shape of `out`. */
function copyStrided(
  what: Prim,
  em: Emitter,
  x: Operand,
  out: Aval,
  offset: number,
  strides: readonly number[],
): number {
  const r = checkRank(what, out.shape);
  const n = sizeOf(out.shape);
  const o = em.fresh(out.dtype, n);
  const f = [DTYPES[out.dtype], o, x.slot, offset, n, r];
  em.emit(OP.copyStrided, push(push(f, out.shape), strides));
  return o;
}

/** Writes contiguous `x` into slot `dst` at `offset` with `strides`. */
function copyInto(
  what: Prim,
  em: Emitter,
  dst: number,
  x: Operand,
  offset: number,
  strides: readonly number[],
): void {
  const n = sizeOf(x.shape);
  if (n === 0) return;
  const r = checkRank(what, x.shape);
  const f = [DTYPES[x.dtype], dst, x.slot, offset, n, r];
  em.emit(OP.copyInto, push(push(f, x.shape), strides));
}

/** A gather or scatter-add along the middle of `[outer, dim, inner]`. */
function indexed(
  em: Emitter,
  op: number,
  x: Operand,
  index: Operand,
  [outer, dim, inner]: [number, number, number],
  out: Aval,
): number {
  const o = em.fresh(out.dtype, sizeOf(out.shape));
  const nidx = index.shape[0];
  em.emit(op, [
    DTYPES[out.dtype],
    o,
    x.slot,
    index.slot,
    outer,
    dim,
    inner,
    nidx,
  ]);
  return o;
}

function zeros(em: Emitter, out: Aval): number {
  const n = sizeOf(out.shape);
  const o = em.fresh(out.dtype, n);
  em.emit(OP.zeros, [DTYPES[out.dtype], o, n]);
  return o;
}

// The kernels of unary, binary, reduce and matmul instructions take the
// operands' dtype (int32 and bool run int32 kernels); a comparison,
// isnan or isfinite writes bool whatever its operands.
const unary = (prim: UnaryPrim): Lowering<null> => (em, [x], _, out) => {
  const n = sizeOf(out.shape);
  const o = em.fresh(out.dtype, n);
  em.emit(OP.unary, [DTYPES[x.dtype], UNARY_CODE[prim], o, x.slot, n]);
  return o;
};

const binary = (prim: BinaryPrim): Lowering<null> => (em, [a, b], _, out) => {
  const n = sizeOf(out.shape);
  const dt = DTYPES[a.dtype], op = BINARY_CODE[prim];
  const o = em.fresh(out.dtype, n);
  const an = sizeOf(a.shape), bn = sizeOf(b.shape);
  if ((an === n || an === 1) && (bn === n || bn === 1)) {
    // One flat row: same-shape or one-element operands.
    const sa = an === n ? 1 : 0, sb = bn === n ? 1 : 0;
    em.emit(OP.binary, [dt, op, o, a.slot, b.slot, n, 1, n, sa, sb]);
  } else {
    const f = [dt, op, o, a.slot, b.slot, n, checkRank(prim, out.shape)];
    push(f, out.shape);
    pushBroadcastStrides(f, a.shape, out.shape);
    em.emit(OP.binary, pushBroadcastStrides(f, b.shape, out.shape));
  }
  return o;
};

const reduce = (prim: ReducePrim): Lowering<PrimParams["sum"]> =>
(
  em,
  [x],
  { axes },
  out,
) => {
  if (axes.length === 0) return x.slot;
  const r = checkRank(prim, x.shape);
  const n = sizeOf(out.shape);
  const o = em.fresh(out.dtype, n);
  const st = stridesOf(x.shape);
  // The kernel reduces the trailing dims: kept dims first, then reduced
  // (shapes, then strides, in that order).
  const f = [
    DTYPES[out.dtype],
    REDUCE_CODE[prim],
    o,
    x.slot,
    n,
    r,
    axes.length,
  ];
  for (const part of [x.shape, st]) {
    for (let d = 0; d < r; d++) if (!axes.includes(d)) f.push(part[d]);
    for (const d of axes) f.push(part[d]);
  }
  em.emit(OP.reduce, f);
  return o;
};

const argReduce =
  (isMax: boolean): Lowering<PrimParams["argmax"]> =>
  (em, [x], { axis }, out) => {
    // int32 and bool through float64, which holds every int32 exactly.
    const xf = x.dtype === "int32" || x.dtype === "bool"
      ? castTo(em, x, "float64")
      : x;
    const [outer, len, inner] = splitAxis(x.shape, axis);
    const o = em.fresh(out.dtype, outer * inner);
    em.emit(OP.argReduce, [
      DTYPES[xf.dtype],
      isMax ? 1 : 0,
      o,
      xf.slot,
      outer,
      len,
      inner,
    ]);
    if (xf !== x) em.free(xf.slot);
    return o;
  };

/** `[batch, n]` of a `[..., n, n]` operand. */
/**
 * The fields of `OP_MATMUL` without its result slot: `[dtype, a, b, batch,
 * m, n, k, transA, transB, a batch stride, b batch stride]` (also the head
 * of `OP_MATMUL_FUSED`, src/jit/epilogue.ts).
 */
export function matmulFields(
  a: Operand,
  b: Operand,
  transA: boolean,
  transB: boolean,
  out: Aval,
): number[] {
  const r = out.shape.length;
  const m = out.shape[r - 2], n = out.shape[r - 1];
  const k = transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  return [
    DTYPES[out.dtype],
    a.slot,
    b.slot,
    sizeOf(out.shape.slice(0, -2)),
    m,
    n,
    k,
    transA ? 1 : 0,
    transB ? 1 : 0,
    // A batch stride of 0 broadcasts a matrix over the other's batch.
    a.shape.length > 2 ? m * k : 0,
    b.shape.length > 2 ? k * n : 0,
  ];
}

function batchAndOrder(x: Operand): [number, number] {
  const n = x.shape[x.shape.length - 1];
  return [sizeOf(x.shape.slice(0, -2)), n];
}

/** A⁻¹ B: the fields shared by the solve instructions. */
function solveFields(
  a: Operand,
  b: Operand,
  out: Aval,
): [number, number, number, number, number] {
  const r = out.shape.length;
  const n = out.shape[r - 2], k = out.shape[r - 1];
  const batch = sizeOf(out.shape.slice(0, -2));
  // A batch stride of 0 broadcasts a matrix over the other's batch.
  const sa = a.shape.length > 2 ? n * n : 0;
  const sb = b.shape.length > 2 ? n * k : 0;
  return [batch, n, k, sa, sb];
}

/** The lowering of every primitive (a missing entry does not compile). */
export const lowerings: LoweringTable = {
  ...family(UNARY_PRIMS, unary),
  ...family(BINARY_PRIMS, binary),
  ...family(REDUCE_PRIMS, reduce),
  where: (em, [c, a, b], _, out) => {
    // The kernel reads the condition in its float type (f32 for int32
    // and bool branches, whose values it only moves). A bool condition
    // needs no cast for f32: its int32 1 read as f32 is a nonzero
    // subnormal, its 0 is +0 (wasm never flushes subnormals).
    const kd = out.dtype === "float64" ? "float64" : "float32";
    const ok = c.dtype === kd || (c.dtype === "bool" && kd === "float32");
    const cond = ok ? c : castTo(em, c, kd);
    const n = sizeOf(out.shape);
    const o = em.fresh(out.dtype, n);
    const f = [DTYPES[out.dtype], o, cond.slot, a.slot, b.slot, n];
    f.push(checkRank("where", out.shape));
    push(f, out.shape);
    for (const x of [c, a, b]) pushBroadcastStrides(f, x.shape, out.shape);
    em.emit(OP.where, f);
    if (cond !== c) em.free(cond.slot);
    return o;
  },
  argmax: argReduce(true),
  argmin: argReduce(false),
  reshape: (_, [x]) => x.slot,
  stopGradient: (_, [x]) => x.slot,
  permute: (em, [x], { perm }, out) => {
    let identity = true;
    for (let i = 0; i < perm.length; i++) identity &&= perm[i] === i;
    if (identity) return x.slot;
    const s = stridesOf(x.shape), strides: number[] = [];
    for (let i = 0; i < perm.length; i++) strides.push(s[perm[i]]);
    return copyStrided("permute", em, x, out, 0, strides);
  },
  broadcastTo: (em, [x], _, out) =>
    shapeEq(x.shape, out.shape) ? x.slot : copyStrided(
      "broadcastTo",
      em,
      x,
      out,
      0,
      broadcastStrides(x.shape, out.shape),
    ),
  slice: (em, [x], { start, step }, out) => {
    const s = stridesOf(x.shape), strides: number[] = [];
    let offset = 0;
    for (let i = 0; i < s.length; i++) {
      offset += start[i] * s[i];
      strides.push(s[i] * step[i]);
    }
    return copyStrided("slice", em, x, out, offset, strides);
  },
  pad: (em, [x], { start, step }, out) => {
    const o = zeros(em, out);
    const s = stridesOf(out.shape);
    copyInto("pad", em, o, x, offsetOf(start, s), s.map((v, i) => v * step[i]));
    return o;
  },
  cat: (em, ins, { axis }, out) => {
    if (ins.length === 1) return ins[0].slot;
    const o = zeros(em, out);
    const s = stridesOf(out.shape);
    let at = 0;
    for (const x of ins) {
      copyInto("cat", em, o, x, at * s[axis], s);
      at += x.shape[axis];
    }
    return o;
  },
  // The indexed dim is x's for a gather, the result's for a scatter-add.
  indexSelect: (em, [x, index], { axis }, out) =>
    indexed(em, OP.indexSelect, x, index, splitAxis(x.shape, axis), out),
  indexAdd: (em, [src, index], { axis }, out) =>
    indexed(em, OP.indexAdd, src, index, splitAxis(out.shape, axis), out),
  cast: (em, [x], { dtype }) =>
    x.dtype === dtype ? x.slot : castTo(em, x, dtype).slot,
  matmul: (em, [a, b], { transA, transB }, out) => {
    const [dtype, ...rest] = matmulFields(a, b, transA, transB, out);
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.matmul, [dtype, o, ...rest]);
    return o;
  },
  cholesky: (em, [a], _, out) => {
    const [batch, n] = batchAndOrder(a);
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.cholesky, [DTYPES[out.dtype], o, a.slot, batch, n]);
    return o;
  },
  slogdet: (em, [a], _, out) => {
    const [batch, n] = batchAndOrder(a);
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.slogdet, [DTYPES[out.dtype], o, a.slot, batch, n]);
    return o;
  },
  qr: (em, [a], _, out) => {
    const r = a.shape.length;
    const [m, n] = [a.shape[r - 2], a.shape[r - 1]];
    const batch = sizeOf(a.shape.slice(0, -2));
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.qr, [DTYPES[out.dtype], o, a.slot, batch, m, n]);
    return o;
  },
  lu: (em, [a], _, out) => {
    const [batch, n] = batchAndOrder(a);
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.lu, [DTYPES[out.dtype], o, a.slot, batch, n]);
    return o;
  },
  svd: (em, [a], _, out) => {
    const r = a.shape.length;
    const [m, n] = [a.shape[r - 2], a.shape[r - 1]];
    const batch = sizeOf(a.shape.slice(0, -2));
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.svd, [DTYPES[out.dtype], o, a.slot, batch, m, n]);
    return o;
  },
  eigh: (em, [a], _, out) => {
    const [batch, n] = batchAndOrder(a);
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.eigh, [DTYPES[out.dtype], o, a.slot, batch, n]);
    return o;
  },
  triangularSolve: (em, [a, b], { upper, unitriangular }, out) => {
    const [batch, n, k, sa, sb] = solveFields(a, b, out);
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.triangularSolve, [
      DTYPES[out.dtype],
      o,
      a.slot,
      b.slot,
      batch,
      n,
      k,
      upper ? 1 : 0,
      unitriangular ? 1 : 0,
      sa,
      sb,
    ]);
    return o;
  },
  randomSample: (em, [k], { dist, shape }, out) => {
    const nkeys = sizeOf(k.shape) / 2, n = sizeOf(shape);
    const o = em.fresh(out.dtype, nkeys * n);
    em.emit(OP.random, [
      DTYPES[out.dtype],
      RANDOM_DISTS[dist],
      o,
      k.slot,
      nkeys,
      n,
    ]);
    return o;
  },
  randomDerive: (em, [k, data], { domain }, out) => {
    const n = sizeOf(out.shape) / 2;
    const o = em.fresh("int32", 2 * n);
    em.emit(OP.randomDerive, [RANDOM_DOMAINS[domain], o, k.slot, data.slot, n]);
    return o;
  },
  solve: (em, [a, b], _, out) => {
    const [batch, n, k, sa, sb] = solveFields(a, b, out);
    const o = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.solve, [
      DTYPES[out.dtype],
      o,
      a.slot,
      b.slot,
      batch,
      n,
      k,
      sa,
      sb,
    ]);
    return o;
  },
  // jit inlines custom calls before lowering (src/jit/jit.ts), and eager
  // evaluation runs the op's own function (evalPrim).
  custom: (_em, _ins, { op }) => {
    throw new Error(`internal: custom call ${op.label} reached the lowering`);
  },
  // Control flow lowers in src/jit/wasm_plan.ts (a loop or branch around
  // its body's instructions); eager evaluation compiles it there too.
  scan: () => noKernel("scan"),
  cond: () => noKernel("cond"),
  while: () => noKernel("while"),
  ...convLowerings,
};

function noKernel(prim: string): never {
  throw new Error(`internal: ${prim} has no kernel lowering`);
}

/** Lowers one application of `prim` (see {@link Lowering}). */
export function lower<P extends Prim>(
  em: Emitter,
  prim: P,
  ins: readonly Operand[],
  params: PrimParams[P],
  out: Aval,
): number {
  // Sizes go into i32 fields of the stream: a result too large for one
  // buffer is a clear RangeError here, never a wrapped size in wasm.
  checkedBytes(out.dtype, sizeOf(out.shape), out.shape);
  return (lowerings[prim] as Lowering<PrimParams[P]>)(em, ins, params, out);
}
