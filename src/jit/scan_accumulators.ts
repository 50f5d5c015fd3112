/**
 * Hoists matrix-product accumulators out of scans: a carry that each step
 * only grows by a product, `c ← c + op(Pₜ)·op(Qₜ)`, becomes one product
 * after the loop, `c₀ + [op(P₀) … op(P_{L−1})]·[op(Q₀); …; op(Q_{L−1})]`,
 * whose factors are the steps' `Pₜ` and `Qₜ` stacked as ys of the scan (or
 * read from its xs, which are stacked already).
 *
 * Reverse mode makes such carries: the gradient of a scan with respect to a
 * weight it closes over is summed over the steps, one small product per step
 * (an ODE's `Σₜ gₜ·xₜᵀ`, an RNN's `Σₜ hₜᵀ·gₜ`). Each of those products pays
 * an instruction's fixed costs for a few hundred multiply-adds; the hoisted
 * product has `L` times the inner dimension and runs at the kernel's full
 * rate. Like any reassociation this changes rounding: the steps' terms are
 * summed in another order.
 *
 * Scans are rewritten at any depth (inside loop bodies and branches too).
 * When every reader of the scan's packed result takes a slice of one
 * output (all of a hoisted one, as `unpack` does), the readers take the
 * new values; otherwise, as when a loop runs eagerly and its packed result
 * is the program's output, the packed result is put together again (one
 * copy of the outputs, against a product per step).
 * @module
 */
import {
  type Atom,
  type Aval,
  type Eqn,
  firstFreeVar,
  isVar,
  liveReads,
  Program,
} from "../core/ir.ts";
import type { Prim, PrimParams } from "../core/primitives.ts";
import { shapeEq, sizeOf } from "../core/shape.ts";
import { isFloatDtype } from "../backend/dtype.ts";
import {
  packDtype,
  packedAval,
  scanOutAvals,
} from "../core/rules/control_shape.ts";

type ScanP = PrimParams["scan"];

/**
 * @internal Whether `optimize` runs the pass (tests and benchmarks compare
 * programs with and without it).
 */
export const scanAccumulatorOptions = { enabled: true };

/** A carry to hoist: its index and the body's product and add that grow it. */
interface Hoist {
  k: number;
  product: Eqn;
  add: Eqn;
}

/** Where a stacked factor comes from: an xs operand, or a ys output. */
type Stacked = { outer: Atom } | { ys: number };

/**
 * `p` with the product accumulators of its scans hoisted out of the loops,
 * at every depth (the bodies of loops and branches first). New variables
 * get avals; readers of a rewritten scan keep their variables.
 */
export function hoistScanAccumulators(p: Program): Program {
  p = withinBodies(p);
  const readers = new Map<number, Eqn[]>();
  for (const e of p.eqns) {
    for (const a of e.inputs) {
      if (!isVar(a)) continue;
      const list = readers.get(a.var);
      if (list === undefined) readers.set(a.var, [e]);
      else if (!list.includes(e)) list.push(e);
    }
  }
  const outputVars = new Set<number>();
  for (const o of p.outputs) if (o !== null && isVar(o)) outputVars.add(o.var);

  const avals = new Map(p.avals);
  let next = firstFreeVar(p);
  const instead = new Map<Eqn, Eqn[]>(); // rewritten equations
  for (const e of p.eqns) {
    if (e.prim !== "scan") continue;
    const returned = outputVars.has(e.out);
    const made = rewriteScan(
      e,
      readers.get(e.out) ?? [],
      returned,
      avals,
      next,
    );
    if (made === null) continue;
    next = made.next;
    for (const [old, eqns] of made.instead) instead.set(old, eqns);
  }
  if (instead.size === 0) return p;
  const eqns: Eqn[] = [];
  for (const e of p.eqns) {
    const r = instead.get(e);
    if (r === undefined) eqns.push(e);
    else eqns.push(...r);
  }
  return new Program(p.inputs, eqns, p.outputs, p.outputAvals, avals);
}

/** `p` with the pass run on the sub-programs of its control flow. */
function withinBodies(p: Program): Program {
  let changed = false;
  const eqns = p.eqns.map((e) => {
    let params: unknown = e.params;
    if (e.prim === "scan") {
      const sp = e.params as ScanP;
      const body = hoistScanAccumulators(sp.body);
      if (body !== sp.body) params = { ...sp, body };
    } else if (e.prim === "cond") {
      const cp = e.params as PrimParams["cond"];
      const branches = cp.branches.map(hoistScanAccumulators);
      if (branches.some((b, i) => b !== cp.branches[i])) {
        params = { ...cp, branches };
      }
    } else if (e.prim === "while") {
      const wp = e.params as PrimParams["while"];
      const [cond, body] = [wp.cond, wp.body].map(hoistScanAccumulators);
      if (cond !== wp.cond || body !== wp.body) params = { ...wp, cond, body };
    }
    if (params === e.params) return e;
    changed = true;
    return { ...e, params };
  });
  return changed ? p.with(eqns, p.outputs) : p;
}

/** The carries of scan `e` that grow only by a product of per-step values. */
function findHoists(e: Eqn): Hoist[] {
  const { body, nConsts: nC, nCarry: nK } = e.params as ScanP;
  const def = new Map<number, Eqn>();
  for (const b of body.eqns) def.set(b.out, b);
  const reads = liveReads(body.eqns, body.outputs);
  const inputIndex = new Map<number, number>();
  body.inputs.forEach((v, i) => inputIndex.set(v, i));
  const rankOf = (a: Atom) =>
    body.avals.get((a as { var: number }).var)!.shape.length;
  // A factor must change from step to step: not a loop constant.
  const perStep = (a: Atom) =>
    isVar(a) && (inputIndex.get(a.var) ?? nC) >= nC && rankOf(a) === 2;
  const hoists: Hoist[] = [];
  for (let k = 0; k < nK; k++) {
    const carry = body.inputs[nC + k];
    const o = body.outputs[k];
    if (o === null || !isVar(o) || reads.get(carry) !== 1) continue;
    const add = def.get(o.var);
    if (add?.prim !== "add" || !isFloatDtype(add.aval.dtype)) continue;
    if (reads.get(o.var) !== 1) continue; // also a ys, or read in the step
    const side = add.inputs.findIndex((a) => isVar(a) && a.var === carry);
    if (side < 0) continue;
    const u = add.inputs[1 - side];
    if (!isVar(u) || reads.get(u.var) !== 1) continue;
    const product = def.get(u.var);
    if (product?.prim !== "matmul") continue;
    if (
      product.aval.dtype !== add.aval.dtype ||
      !shapeEq(product.aval.shape, add.aval.shape) ||
      !product.inputs.every(perStep)
    ) continue;
    hoists.push({ k, product, add });
  }
  return hoists;
}

/**
 * The equations that replace scan `e` and its readers, or null when the
 * scan has nothing to hoist. Readers that slice one output each (all of a
 * hoisted one) read the new values; otherwise (`returned`: the packed
 * result is the program's output, as when a loop runs eagerly) the old
 * packed result is put together again, one copy of it.
 */
function rewriteScan(
  e: Eqn,
  readers: readonly Eqn[],
  returned: boolean,
  avals: Map<number, Aval>,
  next: number,
): { instead: Map<Eqn, Eqn[]>; next: number } | null {
  const sp = e.params as ScanP;
  const { body, nConsts: nC, nCarry: nK, length: L } = sp;
  if (L === 0) return null;
  // The old result's layout, and which output each reader slices.
  const oldOuts = scanOutAvals(sp);
  // A hoisted carry's readers get its final value as it is: only carries
  // of the packed dtype (no cast after the slice).
  const hoists = findHoists(e).filter((h) =>
    h.add.aval.dtype === packDtype(oldOuts)
  );
  if (hoists.length === 0) return null;
  const hoisted = new Set(hoists.map((h) => h.k));
  const oldOff = offsets(oldOuts);
  const segmentOf = (r: Eqn): number => {
    if (r.prim !== "slice" || r.inputs.length !== 1) return -1;
    const s = r.params as PrimParams["slice"];
    if (s.start.length !== 1 || s.step[0] !== 1) return -1;
    const i = oldOff.findLastIndex((o) => o <= s.start[0]);
    const end = oldOff[i] + sizeOf(oldOuts[i].shape);
    return s.start[0] + s.shape[0] <= end ? i : -1;
  };
  // Readers that slice one output, all of a hoisted one (as unpack does).
  const sliced = !returned && readers.every((r) => {
    const i = segmentOf(r);
    const all = (r.params as PrimParams["slice"]).shape[0] ===
      sizeOf(oldOuts[i]?.shape ?? []);
    return i >= 0 && (!hoisted.has(i) || all);
  });
  const used = sliced
    ? new Set(readers.map(segmentOf))
    : new Set(oldOuts.map((_, i) => i));

  // The new body: hoisted carries, their adds and products gone; factors
  // that are neither xs nor ys already become ys.
  const gone = new Set<Eqn>(hoists.flatMap((h) => [h.add, h.product]));
  const inputIndex = new Map<number, number>();
  body.inputs.forEach((v, i) => inputIndex.set(v, i));
  const keptCarries = body.outputs.slice(0, nK).filter((_, k) =>
    !hoisted.has(k)
  );
  const ys = body.outputs.slice(nK);
  const ysAvals = body.outputAvals.slice(nK);
  const factor = (a: Atom): Stacked => {
    const v = (a as { var: number }).var;
    const i = inputIndex.get(v);
    if (i !== undefined && i >= nC + nK) return { outer: e.inputs[i] };
    let j = ys.findIndex((y) => y !== null && isVar(y) && y.var === v);
    if (j < 0) {
      j = ys.length;
      ys.push(a);
      ysAvals.push(body.avals.get(v)!);
    }
    return { ys: j };
  };
  const factors = hoists.map((h) =>
    used.has(h.k) ? h.product.inputs.map(factor) : null
  );
  const keep = (_: unknown, i: number) =>
    i < nC || i >= nC + nK || !hoisted.has(i - nC);
  const newBody = new Program(
    body.inputs.filter(keep),
    body.eqns.filter((b) => !gone.has(b)),
    [...keptCarries, ...ys],
    [
      ...body.outputAvals.slice(0, nK).filter((_, k) => !hoisted.has(k)),
      ...ysAvals,
    ],
    body.avals,
  );
  const params: ScanP = {
    ...sp,
    body: newBody,
    nCarry: nK - hoisted.size,
    linear: sp.linear === null ? null : sp.linear.filter(keep),
  };
  const newOuts = scanOutAvals(params);
  if (packDtype(newOuts) !== packDtype(oldOuts)) return null;

  const out: Eqn[] = [];
  const emit = (prim: Prim, inputs: Atom[], p: unknown, aval: Aval): Atom => {
    const v = next++;
    avals.set(v, aval);
    out.push({ prim, inputs, params: p, out: v, aval });
    return { var: v };
  };
  const packed = emit(
    "scan",
    e.inputs.filter(keep),
    params,
    packedAval(newOuts),
  );
  const newOff = offsets(newOuts);
  const dtype = packDtype(newOuts);
  /** Stacked ys `j` of the new scan, in its own shape. */
  const ysValue = (j: number): Atom => {
    const i = params.nCarry + j;
    const a = newOuts[i];
    const n = sizeOf(a.shape);
    const flat = emit("slice", [packed], {
      start: [newOff[i]],
      step: [1],
      shape: [n],
    }, { shape: [n], dtype });
    return emit("reshape", [flat], { shape: a.shape }, a);
  };
  const reshape = (x: Atom, shape: number[], aval: Aval): Atom =>
    emit("reshape", [x], { shape }, { shape, dtype: aval.dtype });
  const permute = (x: Atom, a: Aval): Atom =>
    emit("permute", [x], { perm: [1, 0, 2] }, {
      shape: [a.shape[1], a.shape[0], a.shape[2]],
      dtype: a.dtype,
    });

  // Each hoisted carry: c₀ + one product over the stacked factors.
  const finals = new Map<number, Atom>(); // by old output index
  hoists.forEach((h, n) => {
    const fs = factors[n];
    if (fs === null) return;
    const { transA, transB } = h.product.params as PrimParams["matmul"];
    const [P, Q] = fs.map((f) => ("outer" in f ? f.outer : ysValue(f.ys)));
    const pa = stackedAval(P, avals);
    const qa = stackedAval(Q, avals);
    const [m, n2] = h.product.aval.shape;
    const k = transA ? pa.shape[1] : pa.shape[2];
    // op(A′) = [op(P₀) … op(P_{L−1})], m × L·k.
    let A: Atom, tA: boolean;
    if (transA) [A, tA] = [reshape(P, [L * k, m], pa), true];
    else if (k === 1) [A, tA] = [reshape(P, [L, m], pa), true];
    else [A, tA] = [reshape(permute(P, pa), [m, L * k], pa), false];
    // op(B′) = [op(Q₀); …; op(Q_{L−1})], L·k × n.
    let B: Atom, tB: boolean;
    if (!transB) [B, tB] = [reshape(Q, [L * k, n2], qa), false];
    else if (k === 1) [B, tB] = [reshape(Q, [L, n2], qa), false];
    else [B, tB] = [reshape(permute(Q, qa), [n2, L * k], qa), true];
    const sum = emit("matmul", [A, B], { transA: tA, transB: tB }, h.add.aval);
    const init = e.inputs[nC + h.k];
    finals.set(
      h.k,
      isZero(init) ? sum : emit("add", [init, sum], null, h.add.aval),
    );
  });

  // Readers keep their variables: a slice of the new result, or of a
  // hoisted carry's final value.
  const newIndex = new Map<number, number>();
  let kept = 0;
  for (let i = 0; i < oldOuts.length; i++) {
    if (i < nK && hoisted.has(i)) continue;
    newIndex.set(i, kept++);
  }
  const instead = new Map<Eqn, Eqn[]>([[e, out]]);
  if (!sliced) {
    // The old packed result again, under its variable.
    const pieces = oldOuts.flatMap((a, i): Atom[] => {
      const n = sizeOf(a.shape);
      const flat = { shape: [n], dtype };
      const final = finals.get(i);
      if (n === 0) return [];
      if (final !== undefined) {
        return [emit("reshape", [final], { shape: [n] }, flat)];
      }
      const start = [newOff[newIndex.get(i)!]];
      return [emit("slice", [packed], { start, step: [1], shape: [n] }, flat)];
    });
    out.push({
      prim: "cat",
      inputs: pieces,
      params: { axis: 0 },
      out: e.out,
      aval: e.aval,
    });
    return { instead, next };
  }
  for (const r of readers) {
    const s = r.params as PrimParams["slice"];
    const i = segmentOf(r);
    const local = s.start[0] - oldOff[i];
    const final = finals.get(i);
    if (final === undefined) {
      const start = [newOff[newIndex.get(i)!] + local];
      instead.set(r, [{ ...r, inputs: [packed], params: { ...s, start } }]);
    } else {
      const reshaped = { shape: s.shape };
      instead.set(r, [{
        ...r,
        prim: "reshape",
        inputs: [final],
        params: reshaped,
      }]);
    }
  }
  return { instead, next };
}

/** Where each of `avals` starts in their packed result. */
function offsets(avals: readonly Aval[]): number[] {
  const starts: number[] = [];
  let off = 0;
  for (const a of avals) {
    starts.push(off);
    off += sizeOf(a.shape);
  }
  return starts;
}

function stackedAval(a: Atom, avals: ReadonlyMap<number, Aval>): Aval {
  return isVar(a) ? avals.get(a.var)! : a.const;
}

/** A constant whose every element is zero (a gradient accumulator's start). */
function isZero(a: Atom): boolean {
  if (isVar(a)) return false;
  const c = a.const;
  if (c._storage === null || c._storage.disposed) return false;
  for (const v of c.data() as Iterable<number>) if (v !== 0) return false;
  return true;
}
