/**
 * Forward mode: a tracer carries a primal and a tangent (null = zero).
 * @module
 */
import { Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { type JvpRule, jvpRules } from "./rules/jvp.ts";
import { Trace } from "./trace.ts";

export class JVPTracer extends Tensor {
  constructor(
    trace: JVPTrace,
    readonly primal: Tensor,
    readonly tangent: Tensor | null,
  ) {
    super(primal.shape, primal.dtype, null, trace);
  }
  override _concrete(what: string): Tensor {
    return this.primal._concrete(what);
  }
}

export class JVPTrace extends Trace {
  lift(x: Tensor): Tensor {
    return new JVPTracer(this, x, null);
  }
  process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor {
    const primals = args.map((a) => (a as JVPTracer).primal);
    const tangents = args.map((a) => (a as JVPTracer).tangent);
    const [p, t] = (jvpRules[prim] as JvpRule<PrimParams[P]>)(
      primals,
      tangents,
      params,
    );
    return new JVPTracer(this, p, t);
  }
}

/** Splits a value seen at the JVP level into primal and tangent. */
export function primalTangent(
  trace: JVPTrace,
  x: Tensor,
): [Tensor, Tensor | null] {
  if (x instanceof JVPTracer && x._trace === trace) {
    return [x.primal, x.tangent];
  }
  return [x, null];
}
