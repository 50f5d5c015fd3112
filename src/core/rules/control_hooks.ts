/**
 * The rules of the control-flow primitives (`scan`, `cond`, `while`) are
 * written in src/core/control.ts, which needs the traces (JVP, staging,
 * batching) and the program interpreter; those import the rule tables, so
 * the tables cannot import control.ts without a cycle. Instead each table
 * forwards to the implementation registered here when control.ts loads
 * (the public control-flow functions import it, and no program holds a
 * control-flow equation before one of them ran).
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { JvpRule } from "./jvp.ts";
import type { BatchRule } from "./batch.ts";
import type { TransposeRule } from "./transpose.ts";
import type { PrimParams } from "../primitives.ts";

/** A control-flow primitive's name. */
export type ControlPrim = "scan" | "cond" | "while";

/** Everything a control-flow primitive needs beyond its shape rule. */
export interface ControlImpl<P extends ControlPrim> {
  jvp: JvpRule<PrimParams[P]>;
  batch: BatchRule<PrimParams[P]>;
  transpose: TransposeRule<PrimParams[P]>;
  /** Evaluation on concrete operands (the loop itself). */
  eager: (args: Tensor[], params: PrimParams[P]) => Tensor;
}

const impls: { [P in ControlPrim]?: ControlImpl<P> } = {};

/** Installs the rules of a control-flow primitive (src/core/control.ts). */
export function registerControl<P extends ControlPrim>(
  prim: P,
  impl: ControlImpl<P>,
): void {
  (impls as Record<P, ControlImpl<P>>)[prim] = impl;
}

/** The rules of a control-flow primitive. */
export function controlImpl<P extends ControlPrim>(prim: P): ControlImpl<P> {
  const impl = impls[prim] as ControlImpl<P> | undefined;
  if (impl === undefined) {
    throw new Error(`internal: the ${prim} primitive's rules are not loaded`);
  }
  return impl;
}

/** The eager evaluation of `prim` if it is a control-flow primitive. */
export function controlEager(
  prim: string,
): ((args: Tensor[], params: never) => Tensor) | undefined {
  return prim === "scan" || prim === "cond" || prim === "while"
    ? controlImpl(prim).eager as (args: Tensor[], params: never) => Tensor
    : undefined;
}
