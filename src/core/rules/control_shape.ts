/**
 * Shape rules of the control-flow primitives, and the layout of their one
 * packed result: a control-flow primitive has several outputs (carries,
 * stacked ys, branch outputs) but an equation has one, so the outputs are
 * flattened, cast to one dtype and concatenated (see ARCHITECTURE.md,
 * "Control flow").
 * @module
 */
import type { DType } from "../../backend/dtype.ts";
import { fmtShape, sizeOf } from "../shape.ts";
import type { Aval, Program } from "../ir.ts";
import type { PrimParams } from "../primitives.ts";

/** The dtype outputs are packed in: theirs if they share one, else float64 (exact for all). */
export function packDtype(avals: readonly Aval[]): DType {
  if (avals.length === 0) return "float32";
  const d = avals[0].dtype;
  return avals.every((a) => a.dtype === d) ? d : "float64";
}

/** The aval of the packed result of outputs `avals`. */
export function packedAval(avals: readonly Aval[]): Aval {
  let n = 0;
  for (const a of avals) n += sizeOf(a.shape);
  return { shape: [n], dtype: packDtype(avals) };
}

export function sameAval(a: Aval, b: Aval): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]);
}

const fmt = (a: Aval) => `${a.dtype} ${fmtShape(a.shape)}`;

/** `a` with a leading dim `n`. */
export const stacked = (a: Aval, n: number): Aval => ({
  shape: [n, ...a.shape],
  dtype: a.dtype,
});

/** The outputs of a scan, unpacked: final carries, then stacked ys. */
export function scanOutAvals(p: PrimParams["scan"]): Aval[] {
  const outs = p.body.outputAvals;
  return outs.map((a, i) => (i < p.nCarry ? a : stacked(a, p.length)));
}

function expectInputs(
  what: string,
  prog: Program,
  args: readonly Aval[],
  offset: number,
  names: (i: number) => string,
): void {
  const ins = prog.inputAvals;
  if (args.length !== ins.length) {
    throw new TypeError(
      `${what}: ${args.length} operands for a program of ${ins.length} inputs`,
    );
  }
  ins.forEach((a, i) => {
    if (i < offset) return;
    if (!sameAval(a, args[i])) {
      throw new TypeError(
        `${what}: ${names(i)} is ${fmt(args[i])} but the program takes ${
          fmt(a)
        }`,
      );
    }
  });
}

function scanRule(args: Aval[], p: PrimParams["scan"]): Aval {
  const { body, nConsts: nC, nCarry: nK, length } = p;
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(
      `scan: length must be a nonnegative integer, got ${length}`,
    );
  }
  const ins = body.inputAvals;
  if (args.length !== ins.length) {
    throw new TypeError(
      `scan: ${args.length} operands for a body of ${ins.length} inputs`,
    );
  }
  args.forEach((a, i) => {
    const want = i < nC + nK ? ins[i] : stacked(ins[i], length);
    if (!sameAval(a, want)) {
      const what = i < nC
        ? `loop-invariant operand ${i}`
        : i < nC + nK
        ? `carry ${i - nC}`
        : `xs ${i - nC - nK} (stacked over ${length} steps)`;
      throw new TypeError(
        `scan: ${what} is ${fmt(a)} but the body takes ${fmt(want)}`,
      );
    }
  });
  const outs = body.outputAvals;
  if (outs.length < nK) {
    throw new TypeError(
      `scan: the body returns ${outs.length} values, fewer than its ${nK} carries`,
    );
  }
  for (let k = 0; k < nK; k++) {
    if (!sameAval(outs[k], ins[nC + k])) {
      throw new TypeError(
        `scan: the body returns carry ${k} as ${fmt(outs[k])} but takes it as ${
          fmt(ins[nC + k])
        }`,
      );
    }
  }
  return packedAval(scanOutAvals(p));
}

function condRule(args: Aval[], p: PrimParams["cond"]): Aval {
  const [index, ...ops] = args;
  if (index === undefined || index.shape.length !== 0) {
    throw new TypeError(
      `cond: the branch index must be a rank-0 tensor, got ${
        index === undefined ? "nothing" : fmt(index)
      }`,
    );
  }
  if (p.branches.length === 0) throw new TypeError("cond: no branches");
  const outs = p.branches[0].outputAvals;
  p.branches.forEach((b, j) => {
    expectInputs(`cond: branch ${j}`, b, ops, 0, (i) => `operand ${i}`);
    const o = b.outputAvals;
    if (
      o.length !== outs.length || o.some((a, i) => !sameAval(a, outs[i]))
    ) {
      throw new TypeError(
        `cond: branch ${j} returns (${
          o.map(fmt).join(", ")
        }) but branch 0 returns (${outs.map(fmt).join(", ")})`,
      );
    }
  });
  return packedAval(outs);
}

function whileRule(args: Aval[], p: PrimParams["while"]): Aval {
  const { cond, body, nCondConsts: nA, nBodyConsts: nB } = p;
  const carry = args.slice(nA + nB);
  expectInputs(
    "whileLoop: cond",
    cond,
    [...args.slice(0, nA), ...carry],
    0,
    (i) => (i < nA ? `constant ${i}` : `carry ${i - nA}`),
  );
  expectInputs(
    "whileLoop: body",
    body,
    [...args.slice(nA, nA + nB), ...carry],
    0,
    (i) => (i < nB ? `constant ${i}` : `carry ${i - nB}`),
  );
  const c = cond.outputAvals;
  if (c.length !== 1 || c[0].shape.length !== 0) {
    throw new TypeError(
      `whileLoop: cond must return one rank-0 tensor, got (${
        c.map(fmt).join(", ")
      })`,
    );
  }
  const o = body.outputAvals;
  if (o.length !== carry.length || o.some((a, i) => !sameAval(a, carry[i]))) {
    throw new TypeError(
      `whileLoop: the body returns (${
        o.map(fmt).join(", ")
      }) but the carry is (${carry.map(fmt).join(", ")})`,
    );
  }
  return packedAval(carry);
}

/** The shape rules of `scan`, `cond` and `while`. */
export const controlShapeRules = {
  scan: scanRule,
  cond: condRule,
  while: whileRule,
};
