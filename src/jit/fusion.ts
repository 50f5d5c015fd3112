/**
 * Elementwise fusion for compiled programs: groups chains and DAGs of
 * elementwise equations (unary and binary primitives, `where`, casts) into
 * one `OP_FUSED` instruction that the executor runs block by block
 * (crates/kernels/src/program/fused.rs), so the group's intermediates live
 * in a small scratch area and never get buffers of their own, and memory is
 * read and written once instead of once per equation. Each step calls the
 * same kernel as its unfused instruction, so results are bit-identical.
 *
 * A group is kept only when some member's value stays in registers, and
 * either it has at least {@link MIN_FUSED_LENGTH} elements or six values
 * stay in registers (below that, set-up costs more than it saves). A group's members all have `n` elements; every operand of a member has
 * `n` elements, or one (read at every position), or is broadcast along
 * leading dims only (a bias: position i reads i mod m) or trailing dims
 * only (a per-row value: i reads i / m); other broadcasts stay unfused. A member's value is written out only when something outside
 * the group reads it, or it is an output of the program.
 *
 * Reductions fuse with their producers: a `sum`, `prod`, `max` or `min`
 * of a float member over its trailing axes (in order: the last axis, the
 * last few, or all) joins the group as its last equation, and the group
 * becomes one `OP_FUSED_REDUCE` that reduces each block's rows right after
 * computing them, so a member read only by the reduction is never written
 * out. So does a `sum` over leading axes (a bias gradient: the rows are
 * then summed across, column by column, in the unfused kernel's order). Further reductions of the group's members over rows of the same
 * length may join; nothing elementwise joins after a reduction (it might
 * read the reduction's result). Each block must hold whole rows (for the
 * same summation order as the unfused kernel): rows whose blocks would
 * exceed {@link MAX_REDUCE_BLOCK} elements stay unfused.
 * @module
 */
import { DTYPES } from "../backend/wasm/program_codes.ts";
import type { DType } from "../backend/dtype.ts";
import { type Atom, type Aval, isVar, type Program } from "../core/ir.ts";
import {
  BINARY_OPS,
  COLUMN_SUM,
  OP,
  REDUCE_OPS,
  UNARY_OPS,
} from "../backend/wasm/program_codes.ts";
import { sizeOf } from "../core/shape.ts";
import type { Emitter, Operand } from "../core/lowering.ts";

/** A group of equations of a program that runs as one fused instruction. */
export interface FusionGroup {
  /** Indices of the member equations, ascending (at least two). */
  readonly eqns: readonly number[];
  /** Elements of every member's result. */
  readonly n: number;
  /** Members' results read after the group or returned by the program. */
  readonly outputs: ReadonlySet<number>;
  /** Members that are reductions (see the module doc); empty if none. */
  readonly reduces: ReadonlySet<number>;
  /** Elements per reduced row (0 without reductions). */
  readonly rowLength: number;
  /**
   * A matmul equation whose product only this group reads: the group runs
   * as its GEMM epilogue, one instruction (src/jit/epilogue.ts).
   */
  readonly product?: number;
  /** Reshapes of the product between it and the group (aliases). */
  readonly views?: readonly number[];
  /**
   * With `product`: the group is one `add` of the product and this value
   * of the same shape, run as `OP_MATMUL_ADD` (src/jit/epilogue.ts).
   */
  readonly addend?: Atom;
}

/**
 * The most elements in a block of a fused reduction, whose blocks hold
 * whole rows (each scratch register holds a block: 128 KiB of f64).
 */
export const MAX_REDUCE_BLOCK = 16384;

/**
 * Which equations read each variable of `p` (by index), and which variables
 * `p` returns: what decides whether a member's value must be written out.
 */
export function readersOf(
  p: Program,
): { readers: Map<number, Set<number>>; returned: Set<number> } {
  const readers = new Map<number, Set<number>>();
  p.eqns.forEach((e, i) =>
    e.inputs.forEach((a) => {
      if (!isVar(a)) return;
      let s = readers.get(a.var);
      if (s === undefined) readers.set(a.var, s = new Set());
      s.add(i);
    })
  );
  const returned = new Set<number>();
  for (const o of p.outputs) if (o !== null && isVar(o)) returned.add(o.var);
  return { readers, returned };
}

/**
 * Elements per block of `OP_FUSED_REDUCE` over `n` elements in rows of
 * `len`: a multiple of both `len` and 16 near 1,024, or all n (as
 * `block_len` in crates/kernels/src/program/fused.rs).
 */
export function reduceBlock(n: number, len: number): number {
  let a = len, b = 16;
  while (b !== 0) [a, b] = [b, a % b];
  const g = (len / a) * 16;
  return Math.min(n, g * Math.max(1, Math.floor(1024 / g)));
}

const REDUCIBLE = new Set(Object.keys(REDUCE_OPS));

/**
 * @internal Whether groups built from now on take reductions (benchmarks
 * compare against groups without them).
 */
export const fusionOptions = { reduce: true };

/** Elements from which any group with an intermediate is worth fusing. */
export const MIN_FUSED_LENGTH = 1024;

const UNARY = new Set(Object.keys(UNARY_OPS));
const BINARY = new Set(Object.keys(BINARY_OPS));

// Step kinds of OP_FUSED (crates/kernels/src/program/fused.rs).
const STEP_UNARY = 0, STEP_BINARY = 1, STEP_WHERE = 2, STEP_CAST = 3;

/** The float type `where`'s kernel reads its condition in. */
const whereKind = (out: DType): DType =>
  out === "float64" ? "float64" : "float32";

function atomAval(p: Program, a: Atom): Aval {
  return isVar(a) ? p.avals.get(a.var)! : a.const;
}

/**
 * How an operand of shape `x` is read at the positions of a result of
 * shape `out`: [mode, m] as OP_FUSED's inputs (0 whole, 1 one element,
 * 2 cycling with period m, 3 each element m times), or null.
 */
export function readMode(
  x: readonly number[],
  out: readonly number[],
): [number, number] | null {
  const n = sizeOf(out), size = sizeOf(x);
  if (size === n) return [0, 0];
  if (size === 1) return [n > 1 ? 1 : 0, 0];
  if (x.length > out.length) return null;
  const s = [...out.map(() => 1).slice(x.length), ...x]; // right-aligned
  // Leading dims broadcast, then equal: a period of the trailing size.
  let k = 0;
  while (k < s.length && s[k] === 1 && out[k] !== 1) k++;
  if (s.slice(k).every((d, i) => d === out[k + i])) return [2, size];
  // Equal, then trailing dims broadcast: each value repeated.
  k = 0;
  while (k < s.length && s[k] === out[k]) k++;
  if (s.slice(k).every((d) => d === 1)) return [3, n / size];
  return null;
}

/** Whether equation `i` can be a member of a group (see the module doc). */
export function fusible(p: Program, i: number): boolean {
  const e = p.eqns[i];
  const n = sizeOf(e.aval.shape);
  if (n === 0) return false;
  const avals = e.inputs.map((a) => atomAval(p, a));
  if (!avals.every((a) => readMode(a.shape, e.aval.shape) !== null)) {
    return false;
  }
  if (UNARY.has(e.prim)) return sizeOf(avals[0].shape) === n;
  if (BINARY.has(e.prim)) return avals[0].dtype === avals[1].dtype;
  if (e.prim === "cast") {
    return avals[0].dtype !== e.aval.dtype && sizeOf(avals[0].shape) === n;
  }
  if (e.prim === "where") {
    const [c, a, b] = avals;
    if (a.dtype !== b.dtype || a.dtype !== e.aval.dtype) return false;
    const kd = whereKind(e.aval.dtype);
    const ok = c.dtype === kd || (c.dtype === "bool" && kd === "float32");
    // A condition in another type is cast first, which needs all n.
    return ok || sizeOf(c.shape) === n;
  }
  return false;
}

/**
 * The row length of reduction `i` if it can join its operand's group: a
 * float sum/prod/max/min over trailing axes in ascending order, or a float
 * sum over leading axes whose innermost kept dim has at least 8 elements
 * (a column sum, as the unfused kernel's column mode sums it: see
 * {@link isColumnSum}); rows of at least 2 elements, blocks of at most
 * {@link MAX_REDUCE_BLOCK}; else 0.
 */
function reduceRow(p: Program, i: number): number {
  const e = p.eqns[i];
  if (!fusionOptions.reduce || !REDUCIBLE.has(e.prim)) return 0;
  const x = atomAval(p, e.inputs[0]);
  if (x.dtype !== "float32" && x.dtype !== "float64") return 0;
  const { axes } = e.params as { axes: readonly number[] };
  const r = x.shape.length;
  let len: number;
  if (isColumnSum(p, i)) len = sizeOf(x.shape.slice(axes.length));
  else if (
    axes.length > 0 && axes.every((a, k) => a === r - axes.length + k)
  ) len = sizeOf(x.shape.slice(r - axes.length));
  else return 0;
  const n = sizeOf(x.shape);
  return len >= 2 && n > 0 && reduceBlock(n, len) <= MAX_REDUCE_BLOCK ? len : 0;
}

/**
 * Whether reduction `i` is a sum over leading axes (0, 1, ... in order,
 * not all) whose innermost kept dim has at least 8 elements: what the
 * unfused sum runs in column mode (crates/kernels/src/reduce.rs), and a
 * fused group sums across its rows in the same order (`COLUMN_SUM`).
 */
export function isColumnSum(p: Program, i: number): boolean {
  const e = p.eqns[i];
  if (e.prim !== "sum") return false;
  const x = atomAval(p, e.inputs[0]);
  const { axes } = e.params as { axes: readonly number[] };
  const r = x.shape.length;
  return axes.length > 0 && axes.length < r && axes.every((a, k) => a === k) &&
    x.shape[r - 1] >= 8;
}

/**
 * The fusion groups of `p`: maximal sets of fusible equations connected
 * through their values, each placed at its last member, so that nothing
 * outside a group reads a member's value before that point.
 */
export function fusionGroups(p: Program): FusionGroup[] {
  interface Draft {
    eqns: number[];
    n: number;
    open: boolean;
    /** Reductions joined: only more of them (rows of `row`) may follow. */
    reduces: number[];
    row: number;
  }
  const groupOf = new Map<number, Draft>(); // variable -> its group
  // A reduction's result -> its group: any reader closes the group, which
  // runs at its last member (`k = add g j` between `j = sum h` and
  // `l = sum h` would read j before the group ran).
  const reducedIn = new Map<number, Draft>();
  const close = (a: Atom) => {
    if (!isVar(a)) return;
    const g = groupOf.get(a.var) ?? reducedIn.get(a.var);
    if (g !== undefined) g.open = false;
  };
  const drafts: Draft[] = [];
  p.eqns.forEach((e, i) => {
    const row = reduceRow(p, i);
    const src = e.inputs[0];
    const into = row > 0 && isVar(src) ? groupOf.get(src.var) : undefined;
    if (
      into !== undefined && into.open && (into.row === 0 || into.row === row)
    ) {
      into.eqns.push(i);
      into.reduces.push(i);
      into.row = row;
      reducedIn.set(e.out, into);
      return;
    }
    if (!fusible(p, i)) {
      e.inputs.forEach(close);
      return;
    }
    const n = sizeOf(e.aval.shape);
    const joins: Draft[] = [];
    for (const a of e.inputs) {
      if (!isVar(a)) continue;
      const r = reducedIn.get(a.var);
      if (r !== undefined) r.open = false;
      const g = groupOf.get(a.var);
      if (g === undefined || !g.open) continue;
      if (g.n === n && g.reduces.length === 0) {
        if (!joins.includes(g)) joins.push(g);
      } else g.open = false;
    }
    let g: Draft;
    if (joins.length === 0) {
      g = { eqns: [], n, open: true, reduces: [], row: 0 };
      drafts.push(g);
    } else {
      // The smaller groups merge into the largest (a long chain is one
      // group that every step joins).
      g = joins.reduce((a, b) => (b.eqns.length > a.eqns.length ? b : a));
      for (const h of joins) {
        if (h === g) continue;
        // Merge h into g: both still open, so nothing outside read them.
        for (const j of h.eqns) {
          g.eqns.push(j);
          groupOf.set(p.eqns[j].out, g);
        }
        h.eqns = [];
      }
    }
    g.eqns.push(i);
    groupOf.set(e.out, g);
  });
  // Members in program order, sorted once: sorting at every merge made a
  // chain of n adds cost n² (30,000 took 7 s).
  for (const g of drafts) g.eqns.sort((x, y) => x - y);
  const { readers, returned } = readersOf(p);
  return drafts.filter((g) => g.eqns.length >= 2).map((g) => {
    const members = new Set(g.eqns);
    const reduces = new Set(g.reduces);
    const outputs = new Set<number>();
    for (const j of g.eqns) {
      if (reduces.has(j)) continue; // always written: n / row elements
      const v = p.eqns[j].out;
      const rs = readers.get(v) ?? new Set();
      if (returned.has(v) || [...rs].some((r) => !members.has(r))) {
        outputs.add(v);
      }
    }
    return { eqns: g.eqns, n: g.n, outputs, reduces, rowLength: g.row };
  }).filter((g) => {
    // One fused instruction costs about as much to set up as four plain
    // ones (a scan body on 16 elements: a 3-step group ran 54 ns slower
    // fused, a 7-step one even, a 17-step one 240 ns faster). Small
    // groups pay off only when their arrays are large enough for memory
    // traffic to dominate; a group that writes every member out saves
    // no traffic at all.
    const internal = g.eqns.length - g.reduces.size - g.outputs.size;
    return internal >= 1 && (g.n >= MIN_FUSED_LENGTH || internal >= 6);
  });
}

/**
 * Emits group `g` of `p` as one `OP_FUSED` instruction. `operand` gives an
 * outside value's slot; returns the slot of each output variable (fresh
 * slots the instruction allocates).
 */
export function emitFused(
  em: Emitter,
  p: Program,
  g: FusionGroup,
  operand: (a: Atom) => Operand,
  head: { op: number; fields: readonly number[] } = {
    op: OP.fused,
    fields: [],
  },
): Map<number, number> {
  const inputs: number[] = []; // [slot, dtype, mode, m] each
  const inputReg = new Map<string, number>(); // slot and mode -> register
  const temps: { dtype: DType; slot: number }[] = [];
  const steps: number[] = [];
  const varReg = new Map<number, number>(); // member variable -> temp index
  const outSlots = new Map<number, number>();
  const members = new Set(g.eqns.map((j) => p.eqns[j].out));
  // Last step reading each member's value, for reusing scratch registers
  // (a reduction reads after every step: its operand is never reused).
  const lastRead = new Map<number, number>();
  g.eqns.forEach((j, k) =>
    p.eqns[j].inputs.forEach((a) => {
      if (!isVar(a) || !members.has(a.var)) return;
      lastRead.set(a.var, g.reduces.has(j) ? Infinity : k);
    })
  );
  const spare = new Map<DType, number[]>(); // free scratch temps by dtype
  const scratch = (dtype: DType): number => {
    const t = spare.get(dtype)?.pop();
    if (t !== undefined) return t;
    temps.push({ dtype, slot: -1 });
    return temps.length - 1;
  };
  const release = (dtype: DType, t: number) => {
    let l = spare.get(dtype);
    if (l === undefined) spare.set(dtype, l = []);
    l.push(t);
  };
  // Register numbers: inputs first, then temps; temps are numbered
  // before the inputs are all known, so they are offset at the end.
  const TEMP = 1 << 20;
  const reg = (a: Atom, out: readonly number[]): number => {
    if (isVar(a) && members.has(a.var)) return TEMP + varReg.get(a.var)!;
    const o = operand(a);
    const [mode, m] = readMode(o.shape, out)!;
    const key = `${o.slot}:${mode}:${m}`;
    let r = inputReg.get(key);
    if (r === undefined) {
      r = inputReg.size;
      inputReg.set(key, r);
      inputs.push(o.slot, DTYPES[o.dtype], mode, m);
    }
    return r;
  };
  const sinks: number[] = []; // [reg, op, slot] per reduction
  g.eqns.forEach((j, k) => {
    const e = p.eqns[j];
    if (g.reduces.has(j)) {
      // Reduced after the steps: its register is never released (the
      // reductions come last), and the result is a fresh buffer.
      const columns = isColumnSum(p, j);
      const slot = em.fresh(
        e.aval.dtype,
        columns ? g.rowLength : g.n / g.rowLength,
      );
      outSlots.set(e.out, slot);
      const src = e.inputs[0] as { var: number };
      const op = columns
        ? COLUMN_SUM
        : REDUCE_OPS[e.prim as keyof typeof REDUCE_OPS];
      sinks.push(TEMP + varReg.get(src.var)!, op, slot);
      return;
    }
    const avals = e.inputs.map((a) => atomAval(p, a));
    const ins = e.inputs.map((a) => reg(a, e.aval.shape));
    const dtype = e.aval.dtype;
    let extra: number | undefined; // a cast condition's scratch
    let dst: number;
    if (g.outputs.has(e.out)) {
      const slot = em.fresh(dtype, g.n);
      outSlots.set(e.out, slot);
      temps.push({ dtype, slot });
      dst = temps.length - 1;
    } else dst = scratch(dtype);
    const D = TEMP + dst;
    if (UNARY.has(e.prim)) {
      const code = UNARY_OPS[e.prim as keyof typeof UNARY_OPS];
      steps.push(STEP_UNARY, DTYPES[avals[0].dtype], code, D, ins[0], 0);
    } else if (BINARY.has(e.prim)) {
      const code = BINARY_OPS[e.prim as keyof typeof BINARY_OPS];
      const dt = DTYPES[avals[0].dtype];
      steps.push(STEP_BINARY, dt, code, D, ins[0], ins[1]);
    } else if (e.prim === "cast") {
      const from = DTYPES[avals[0].dtype];
      steps.push(STEP_CAST, from, DTYPES[dtype], D, ins[0], 0);
    } else {
      const kd = whereKind(dtype);
      const c = avals[0].dtype;
      let cond = ins[0];
      if (!(c === kd || (c === "bool" && kd === "float32"))) {
        extra = scratch(kd);
        steps.push(STEP_CAST, DTYPES[c], DTYPES[kd], TEMP + extra, cond, 0);
        cond = TEMP + extra;
      }
      steps.push(STEP_WHERE, DTYPES[dtype], cond, D, ins[1], ins[2]);
    }
    // Scratch registers whose value is no longer read can be reused, each
    // once (`mul c c` reads c twice: released twice, its register would be
    // handed to two later values at the same time).
    if (extra !== undefined) release(whereKind(dtype), extra);
    const read = new Set<number>();
    for (const a of e.inputs) if (isVar(a)) read.add(a.var);
    for (const v of read) {
      if (!members.has(v) || g.outputs.has(v)) continue;
      if (lastRead.get(v) === k) {
        const t = varReg.get(v)!;
        release(temps[t].dtype, t);
      }
    }
    varReg.set(e.out, dst);
    // A value nothing reads (an unread output) frees nothing.
  });
  const nin = inputReg.size;
  const fix = (r: number) => (r >= TEMP ? r - TEMP + nin : r);
  for (let s = 0; s < steps.length; s += 6) {
    const kind = steps[s];
    // Register fields: dst and operands; where's condition too.
    steps[s + 3] = fix(steps[s + 3]);
    steps[s + 4] = fix(steps[s + 4]);
    if (kind === STEP_BINARY || kind === STEP_WHERE) {
      steps[s + 5] = fix(steps[s + 5]);
    }
    if (kind === STEP_WHERE) steps[s + 2] = fix(steps[s + 2]);
  }
  const f = [g.n, nin, temps.length, steps.length / 6, ...inputs];
  for (const t of temps) f.push(DTYPES[t.dtype], t.slot);
  if (sinks.length === 0) em.emit(head.op, [...head.fields, ...f, ...steps]);
  else {
    // A GEMM epilogue never has reductions (epilogueGroups skips them).
    if (head.op !== OP.fused) {
      throw new Error("internal: a fused reduction cannot be an epilogue");
    }
    for (let s = 0; s < sinks.length; s += 3) sinks[s] = fix(sinks[s]);
    const red = [g.rowLength, sinks.length / 3, ...sinks];
    em.emit(OP.fusedReduce, [...red, ...f, ...steps]);
  }
  return outSlots;
}

/**
 * Text marks for printing: per equation index, ` [fused#k]` for a member
 * of group k whose value stays in registers, ` [fused#k out]` for one
 * that is written out, ` [fused#k reduce]` for a reduction computed in
 * the group's pass, ` [fused#k matmul]` for the product whose GEMM
 * epilogue the group is (` [fused#k view]` for a reshape of it).
 */
export function fusionMarks(
  p: Program,
  groups: readonly FusionGroup[],
): Map<number, string> {
  const marks = new Map<number, string>();
  groups.forEach((g, k) => {
    if (g.product !== undefined) marks.set(g.product, `fused#${k} matmul`);
    for (const j of g.views ?? []) marks.set(j, `fused#${k} view`);
    for (const j of g.eqns) {
      const out = g.reduces.has(j)
        ? " reduce"
        : g.outputs.has(p.eqns[j].out)
        ? " out"
        : "";
      marks.set(j, `fused#${k}${out}`);
    }
  });
  return marks;
}
