/**
 * Transpose rules for the primitives that are linear in some inputs: given
 * the cotangent of the output, the cotangents of the linear inputs. Inputs
 * that are linear arrive as `LinearArg` (shape only); the others are the
 * constants (residuals) recorded on the tape. Together with the JVP rules
 * these give reverse mode.
 * @module
 */
import * as E from "../lax.ts";
import { reshape, sumToShape } from "../lax.ts";
import { invertPerm } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import type { LinearPrim, PrimParams } from "../primitives.ts";
import type { Aval } from "../ir.ts";
import { bind } from "../trace.ts";
import { controlImpl } from "./control_hooks.ts";
import { convTransposeRules } from "./conv.ts";

/** Marks an input that the linear program computes (unknown, only its shape). */
export class LinearArg {
  constructor(readonly aval: Aval) {}
  get shape(): readonly number[] {
    return this.aval.shape;
  }
}

export type TArg = Tensor | LinearArg;
type Ct = Tensor | null;
export type TransposeRule<Q> = (
  ct: Tensor,
  args: TArg[],
  params: Q,
) => Ct[];
type TransposeTable = { [P in LinearPrim]: TransposeRule<PrimParams[P]> };

const lin = (a: TArg): a is LinearArg => a instanceof LinearArg;

function nonlinear(prim: string): never {
  throw new Error(`internal: ${prim} is not linear in both operands`);
}

/** Transpose of op(A) @ op(B) w.r.t. A, for a cotangent `ct` of the product. */
function matmulCtA(
  ct: Tensor,
  b: Tensor,
  a: LinearArg,
  p: PrimParams["matmul"],
): Tensor {
  const g = p.transA
    ? bind("matmul", [b, ct], { transA: p.transB, transB: true })
    : bind("matmul", [ct, b], { transA: false, transB: !p.transB });
  return sumToShape(g, a.shape);
}

function matmulCtB(
  ct: Tensor,
  a: Tensor,
  b: LinearArg,
  p: PrimParams["matmul"],
): Tensor {
  const g = p.transB
    ? bind("matmul", [ct, a], { transA: true, transB: p.transA })
    : bind("matmul", [a, ct], { transA: !p.transA, transB: false });
  return sumToShape(g, b.shape);
}

/**
 * The transpose of B ↦ A⁻¹ B (A a constant) is C ↦ A⁻ᵀ C: the same solve
 * with the transposed matrix, summed to B's shape when B was broadcast.
 */
function solveCt(
  prim: "solve" | "triangularSolve",
  ct: Tensor,
  [a, b]: TArg[],
  p: PrimParams["triangularSolve"] | null,
): Ct[] {
  if (lin(a)) nonlinear(prim);
  const at = E.mT(a as Tensor);
  const g = prim === "solve"
    ? bind("solve", [at, ct], null)
    : bind("triangularSolve", [at, ct], {
      upper: !p!.upper,
      unitriangular: p!.unitriangular,
    });
  return [null, sumToShape(g, b.shape)];
}

export const transposeRules: TransposeTable = {
  neg: (ct) => [E.neg(ct)],
  add: (ct, [a, b]) => [
    lin(a) ? sumToShape(ct, a.shape) : null,
    lin(b) ? sumToShape(ct, b.shape) : null,
  ],
  sub: (ct, [a, b]) => [
    lin(a) ? sumToShape(ct, a.shape) : null,
    lin(b) ? sumToShape(E.neg(ct), b.shape) : null,
  ],
  mul: (ct, [a, b]) => {
    if (lin(a) && lin(b)) nonlinear("mul");
    return lin(a)
      ? [sumToShape(E.mul(ct, b as Tensor), a.shape), null]
      : [null, sumToShape(E.mul(a, ct), b.shape)];
  },
  div: (ct, [a, b]) => {
    if (lin(b)) nonlinear("div");
    return [sumToShape(E.div(ct, b), a.shape), null];
  },
  where: (ct, [c, a, b]) => [
    null,
    lin(a) ? sumToShape(E.where(c as Tensor, ct, 0), a.shape) : null,
    lin(b) ? sumToShape(E.where(c as Tensor, 0, ct), b.shape) : null,
  ],
  sum: (ct, [x], { axes }) => {
    const kept = reshape(ct, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    return [bind("broadcastTo", [kept], { shape: x.shape })];
  },
  reshape: (ct, [x]) => [reshape(ct, x.shape)],
  permute: (
    ct,
    _,
    { perm },
  ) => [bind("permute", [ct], { perm: invertPerm(perm) })],
  broadcastTo: (ct, [x]) => [sumToShape(ct, x.shape)],
  slice: (
    ct,
    [x],
    { start, step },
  ) => [bind("pad", [ct], { start, step, shape: x.shape })],
  pad: (
    ct,
    [x],
    { start, step },
  ) => [bind("slice", [ct], { start, step, shape: x.shape })],
  cat: (ct, args, { axis }) => {
    let at = 0;
    return args.map((a) => {
      const n = a.shape[axis];
      const start = ct.shape.map((_, i) => (i === axis ? at : 0));
      at += n;
      if (!lin(a)) return null;
      return bind("slice", [ct], {
        start,
        step: ct.shape.map(() => 1),
        shape: a.shape,
      });
    });
  },
  indexSelect: (ct, [x, index], { axis }) => [
    bind("indexAdd", [ct, index as Tensor], { axis, size: x.shape[axis] }),
    null,
  ],
  indexAdd: (
    ct,
    [_src, index],
    { axis },
  ) => [bind("indexSelect", [ct, index as Tensor], { axis }), null],
  cast: (
    ct,
    [x],
  ) => [bind("cast", [ct], { dtype: (x as LinearArg).aval.dtype })],
  matmul: (ct, [a, b], p) => {
    if (lin(a) && lin(b)) nonlinear("matmul");
    return lin(a)
      ? [matmulCtA(ct, b as Tensor, a, p), null]
      : [null, matmulCtB(ct, a, b as LinearArg, p)];
  },
  triangularSolve: (ct, args, p) => solveCt("triangularSolve", ct, args, p),
  solve: (ct, args) => solveCt("solve", ct, args, null),
  custom: (ct, args, { op, index }) => op.transpose(ct, args, index),
  scan: (ct, args, p) => controlImpl("scan").transpose(ct, args, p),
  cond: (ct, args, p) => controlImpl("cond").transpose(ct, args, p),
  while: (ct, args, p) => controlImpl("while").transpose(ct, args, p),
  ...convTransposeRules,
};
