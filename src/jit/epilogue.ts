/**
 * GEMM epilogues for compiled programs: a float `matmul` whose product is
 * read only by elementwise equations (a bias add, an activation, the
 * activation's derivative that the backward pass keeps, a cotangent times
 * that derivative) runs together with them as one `OP_MATMUL_FUSED`
 * instruction (crates/kernels/src/program/epilogue.rs): the GEMM hands each
 * block of the product to the fused steps as soon as its last K panel is
 * accumulated, while it is in cache, and the product itself never becomes
 * a buffer of the program. An MLP layer `tanh(x Wᵀ + b)` (and `1 − tanh²`
 * for its gradient) is then one pass over its output; in the backward pass
 * `(g W) · tanh'` is one pass too.
 *
 * The elementwise part is an ordinary fusion group (src/jit/fusion.ts)
 * without reductions: the group that reads the product, or, when the
 * product's one reader is in no group, that reader alone if the product
 * has at least {@link MIN_FUSED_LENGTH} elements (below that the
 * instruction's set-up costs more than the pass it saves). A group with
 * fused reductions gives them up to be an epilogue (the GEMM hands over
 * blocks of columns, not whole rows): they run after it as plain
 * reductions of the values it then writes out, unless that would leave
 * nothing in registers on fewer elements than that, when the group stays
 * one `OP_FUSED_REDUCE` after a plain matmul.
 * @module
 */
import { OP } from "../backend/wasm/program_codes.ts";
import { type Atom, type Aval, isVar, type Program } from "../core/ir.ts";
import { type Emitter, matmulFields, type Operand } from "../core/lowering.ts";
import type { PrimParams } from "../core/primitives.ts";
import { sizeOf } from "../core/shape.ts";
import { sameAval } from "../core/rules/control_shape.ts";
import {
  emitFused,
  fusible,
  type FusionGroup,
  MIN_FUSED_LENGTH,
  readersOf,
} from "./fusion.ts";

/**
 * `groups` (the fusion groups of `p`) with each matmul whose product only
 * one group reads attached to it as `product`, plus a group of one for
 * each large enough product whose single reader is fusible but in no group.
 */
export function epilogueGroups(
  p: Program,
  groups: readonly FusionGroup[],
): FusionGroup[] {
  const { readers, returned } = readersOf(p);
  const out: FusionGroup[] = [...groups];
  const groupOf = new Map<number, number>(); // equation -> index in out
  out.forEach((g, k) => g.eqns.forEach((j) => groupOf.set(j, k)));
  p.eqns.forEach((e, i) => {
    if (e.prim !== "matmul") return;
    const { dtype, shape } = e.aval;
    const n = sizeOf(shape);
    if (dtype !== "float32" && dtype !== "float64") return;
    // The product and its reshapes (aliases: `vmap` of a layer reshapes
    // the stacked rows back): all must be read only elementwise.
    const views: number[] = [];
    const vars = [e.out];
    const rs: number[] = [];
    for (let q = 0; q < vars.length; q++) {
      if (returned.has(vars[q])) return;
      for (const r of readers.get(vars[q]) ?? []) {
        if (p.eqns[r].prim === "reshape") {
          views.push(r);
          vars.push(p.eqns[r].out);
        } else rs.push(r);
      }
    }
    if (n === 0 || rs.length === 0) return;
    const ks = new Set(rs.map((r) => groupOf.get(r)));
    if (ks.size !== 1) return;
    const [k] = ks;
    views.sort((x, y) => x - y);
    if (k !== undefined) {
      const g = out[k];
      if (g.n !== n || g.product !== undefined) return;
      // The epilogue runs blocks of columns, not whole rows: a group with
      // reductions gives them up (they run after it, unfused) when what
      // is left still keeps something in registers or is large enough.
      const h = g.reduces.size === 0 ? g : withoutReductions(p, g);
      if (h !== undefined) out[k] = { ...h, product: i, views };
      return;
    }
    const r = rs[0];
    const re = p.eqns[r];
    // The sum must not broadcast the product ([1, n] + [m, n]).
    const addend = rs.length === 1 && sizeOf(re.aval.shape) === n
      ? addendOf(p, r, new Set(vars))
      : undefined;
    if (addend !== undefined && n < MIN_FUSED_LENGTH) {
      // Small: one OP_MATMUL_ADD (an epilogue's set-up costs more here).
      out.push({
        eqns: [r],
        n,
        outputs: new Set([re.out]),
        reduces: new Set(),
        rowLength: 0,
        product: i,
        views,
        addend,
      });
      groupOf.set(r, out.length - 1);
      return;
    }
    if (
      rs.length === 1 && n >= MIN_FUSED_LENGTH && fusible(p, r) &&
      sizeOf(re.aval.shape) === n
    ) {
      const outputs = new Set([re.out]);
      out.push({
        eqns: [r],
        n,
        outputs,
        reduces: new Set(),
        rowLength: 0,
        product: i,
        views,
      });
      groupOf.set(r, out.length - 1);
    }
  });
  return out;
}

/**
 * The other operand of equation `r` when it is an `add` of the product
 * (one of `product`, its variable and views) and a value of the result's
 * exact shape and dtype (no broadcasting), else undefined. The caller
 * checks that the product has as many elements as the result.
 */
function addendOf(
  p: Program,
  r: number,
  product: ReadonlySet<number>,
): Atom | undefined {
  const e = p.eqns[r];
  if (e.prim !== "add" || e.inputs.length !== 2) return undefined;
  const [x, y] = e.inputs;
  const isProduct = (a: Atom) => isVar(a) && product.has(a.var);
  if (isProduct(x) === isProduct(y)) return undefined;
  const other = isProduct(x) ? y : x;
  const aval = isVar(other) ? p.avals.get(other.var)! : other.const;
  return sameAval(aval, e.aval) ? other : undefined;
}

/**
 * Group `g` without its reductions, which then read what it writes out;
 * undefined when that group would keep nothing in registers on fewer than
 * {@link MIN_FUSED_LENGTH} elements (as for a group of one).
 */
function withoutReductions(
  p: Program,
  g: FusionGroup,
): FusionGroup | undefined {
  const eqns = g.eqns.filter((j) => !g.reduces.has(j));
  const outputs = new Set(g.outputs);
  for (const j of g.reduces) {
    const a = p.eqns[j].inputs[0];
    if (isVar(a)) outputs.add(a.var);
  }
  const internal = eqns.length - outputs.size;
  if (internal < 1 && g.n < MIN_FUSED_LENGTH) return undefined;
  return { eqns, n: g.n, outputs, reduces: new Set(), rowLength: 0 };
}

/**
 * Emits group `g` (which has a `product`) as one `OP_MATMUL_FUSED`
 * instruction; returns the slots of its outputs, as `emitFused`.
 */
export function emitEpilogue(
  em: Emitter,
  p: Program,
  g: FusionGroup,
  operand: (a: Atom) => Operand,
): Map<number, number> {
  const e = p.eqns[g.product!];
  const [a, b] = e.inputs.map(operand);
  const { transA, transB } = e.params as PrimParams["matmul"];
  // The fields of OP_MATMUL without the result.
  const out = e.aval;
  const fields = matmulFields(a, b, transA, transB, out);
  if (g.addend !== undefined) {
    const r = p.eqns[g.eqns[0]];
    const slot = em.fresh(r.aval.dtype, sizeOf(r.aval.shape));
    const x = operand(g.addend).slot;
    em.emit(OP.matmulAdd, [fields[0], slot, ...fields.slice(1), x]);
    return new Map([[r.out, slot]]);
  }
  // The product (and any reshape of it) has no slot: the steps read it as
  // input −1.
  const views = new Map<number, Aval>([[e.out, out]]);
  for (const j of g.views ?? []) views.set(p.eqns[j].out, p.eqns[j].aval);
  const withProduct = (x: Atom): Operand => {
    const v = isVar(x) ? views.get(x.var) : undefined;
    return v === undefined
      ? operand(x)
      : { slot: -1, shape: v.shape, dtype: v.dtype };
  };
  return emitFused(em, p, g, withProduct, { op: OP.matmulFused, fields });
}
