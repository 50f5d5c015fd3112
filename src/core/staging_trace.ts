/**
 * Staging (partial evaluation): tracers of this level are unknown values;
 * every primitive applied to one is recorded as an equation of a
 * {@link Program} instead of computed. Known values stay at lower levels and
 * enter the program as constants. Two users:
 * - linearize: under a JVP trace one level up, the unknowns are tangents,
 *   so forward mode becomes a recorded linear program; reverse mode is its
 *   transpose (src/core/interpret.ts);
 * - jit and makeProgram: the unknowns are the function's inputs.
 * @module
 */
import { Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { abstractEval } from "./rules/abstract_eval.ts";
import { type Atom, type Aval, type Eqn, Program } from "./ir.ts";
import { Trace } from "./trace.ts";

export class StagedTracer extends Tensor {
  constructor(
    trace: StagingTrace,
    aval: Aval,
    readonly known: Tensor | null,
    readonly id: number,
  ) {
    super(aval.shape, aval.dtype, null, trace);
  }
  override _concrete(what: string): Tensor {
    if (this.known !== null) return this.known._concrete(what);
    throw new Error(
      `${what}: this value is being traced (a tangent inside grad/vjp, or an input inside jit or makeProgram), so it has no value to read yet; compute with it and return it instead`,
    );
  }
}

export class StagingTrace extends Trace {
  private nextId = 0;
  readonly eqns: Eqn[] = [];
  readonly avals = new Map<number, Aval>();
  /**
   * For jit and makeProgram: inline custom calls (customJvp, customVjp,
   * checkpoint) instead of recording them, and note that it happened
   * (`sawCustom`), so that jit calls the function itself under an
   * enclosing transform and the custom rules apply there. linearize
   * records them: their transpose rules run the user's backward pass.
   */
  inlineCustom = false;
  sawCustom = false;

  /** A new unknown input of the linear program. */
  newInput(aval: Aval): StagedTracer {
    const id = this.nextId++;
    this.avals.set(id, { shape: aval.shape, dtype: aval.dtype });
    return new StagedTracer(this, aval, null, id);
  }
  lift(x: Tensor): Tensor {
    return new StagedTracer(this, x, x, -1);
  }
  override lower(t: Tensor): Tensor {
    const l = t as StagedTracer;
    return l.known ?? t;
  }
  process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor {
    if (prim === "custom" && this.inlineCustom) {
      this.sawCustom = true;
      const { op, index } = params as PrimParams["custom"];
      return op.impl(args, index);
    }
    const aval = abstractEval(prim, args, params);
    const inputs = new Array<Atom>(args.length);
    for (let i = 0; i < args.length; i++) {
      const l = args[i] as StagedTracer;
      inputs[i] = l.known !== null ? { const: l.known } : { var: l.id };
    }
    const out = this.nextId++;
    this.avals.set(out, aval);
    this.eqns.push({ prim, inputs, params, out, aval });
    return new StagedTracer(this, aval, null, out);
  }

  /** The recorded program from `inputs` to `outputs` (values seen at this level). */
  finish(
    inputs: StagedTracer[],
    outputs: (Tensor | null)[],
    outAvals: readonly Aval[],
  ): Program {
    const outAtoms = outputs.map((o): Atom | null => {
      if (o === null) return null;
      if (o instanceof StagedTracer && o._trace === this) {
        return o.known !== null ? { const: o.known } : { var: o.id };
      }
      return { const: o };
    });
    return new Program(
      inputs.map((t) => t.id),
      this.eqns,
      outAtoms,
      outAvals.map((a) => ({ shape: a.shape, dtype: a.dtype })),
      this.avals,
    );
  }
}
