/**
 * Forward mode: a tracer carries a primal and a tangent (null = zero).
 * @module
 */
import { Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { type JvpRule, jvpRules } from "./rules/jvp.ts";
import { bind, Trace } from "./trace.ts";

export class JVPTracer extends Tensor {
  constructor(
    trace: JVPTrace,
    readonly primal: Tensor,
    readonly tangent: Tensor | null,
  ) {
    super(primal.shape, primal.dtype, null, trace);
  }
  override _concrete(what: string): Tensor {
    // A number read from a value that depends on the differentiated input
    // would be a constant to the transform: its derivative silently lost.
    if (this.tangent !== null) {
      throw new Error(
        `${what}: this value depends on the input being differentiated (inside ${
          this._trace!.main.name
        }), ` +
          `so it cannot be read as numbers: they would be constants and the derivative would be lost. ` +
          `Compute with the tensor instead, or read x.detach() if a constant is meant ` +
          `(comparisons such as x.gt(0) can be read as they are)`,
      );
    }
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
    const n = args.length;
    const primals = new Array<Tensor>(n);
    const tangents = new Array<Tensor | null>(n);
    let any = false;
    for (let i = 0; i < n; i++) {
      const a = args[i] as JVPTracer;
      primals[i] = a.primal;
      if ((tangents[i] = a.tangent) !== null) any = true;
    }
    // No tangent in, none out (every JVP rule is linear in the tangents):
    // the rule is skipped, so it never runs on int32 or bool values.
    if (!any) return new JVPTracer(this, bind(prim, primals, params), null);
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
