/**
 * Partial evaluation for linearize: tracers of this level are the unknown
 * (tangent) values; every primitive applied to one is recorded on the tape
 * instead of computed. Known values stay at lower levels and enter the tape
 * as constants. Under a JVP trace one level up, this turns forward mode into
 * a recorded linear program: reverse mode is its transpose.
 * @module
 */
import { Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { abstractEval } from "./rules/abstract_eval.ts";
import type { Atom, Eqn, TapeWithAvals } from "./tape.ts";
import { type Aval, Trace } from "./trace.ts";

export class LinTracer extends Tensor {
  constructor(
    trace: LinearizeTrace,
    aval: Aval,
    readonly known: Tensor | null,
    readonly id: number,
  ) {
    super(aval.shape, aval.dtype, null, trace);
  }
  override _concrete(what: string): Tensor {
    if (this.known !== null) return this.known._concrete(what);
    throw new Error(
      `${what}: this value is being traced (a tangent inside grad/vjp, or an input inside jit), so it has no value to read yet; compute with it and return it instead`,
    );
  }
}

export class LinearizeTrace extends Trace {
  private nextId = 0;
  readonly eqns: Eqn[] = [];
  readonly avals = new Map<number, Aval>();

  /** A new unknown input of the linear program. */
  newInput(aval: Aval): LinTracer {
    const id = this.nextId++;
    this.avals.set(id, { shape: aval.shape, dtype: aval.dtype });
    return new LinTracer(this, aval, null, id);
  }
  lift(x: Tensor): Tensor {
    return new LinTracer(this, x, x, -1);
  }
  override lower(t: Tensor): Tensor {
    const l = t as LinTracer;
    return l.known ?? t;
  }
  process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor {
    const aval = abstractEval(prim, args, params);
    const inputs: Atom[] = args.map((a) => {
      const l = a as LinTracer;
      return l.known !== null ? { const: l.known } : { var: l.id };
    });
    const out = this.nextId++;
    this.avals.set(out, aval);
    this.eqns.push({ prim, inputs, params, out, aval });
    return new LinTracer(this, aval, null, out);
  }

  /** The recorded program from `inputs` to `outputs` (values seen at this level). */
  finish(
    inputs: LinTracer[],
    outputs: (Tensor | null)[],
    outAvals: Aval[],
  ): TapeWithAvals {
    const outAtoms = outputs.map((o): Atom | null => {
      if (o === null) return null;
      if (o instanceof LinTracer && o._trace === this) {
        return o.known !== null ? { const: o.known } : { var: o.id };
      }
      return { const: o };
    });
    return {
      inputs: inputs.map((t) => t.id),
      inputAvals: inputs.map((t) => ({ shape: t.shape, dtype: t.dtype })),
      eqns: this.eqns,
      outputs: outAtoms,
      outputAvals: outAvals,
      avals: this.avals,
    };
  }
}
