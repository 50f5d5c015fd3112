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
import { type Atom, type Aval, type Eqn, EquationKeys, Program } from "./ir.ts";
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
  /**
   * Record each distinct equation once (same primitive, params and
   * operands) and hand back its tracer for every repeat. On by default
   * while a jit or makeProgram trace is running ({@link withMergedStaging}).
   * Reverse mode through nested derivatives traces the same primal values
   * more than once (the value of `grad(u)` and, inside `grad(grad(u))`,
   * again); their tangents then enter the linear program twice, and after
   * transposition no later pass could tell the two copies apart, as each
   * gets its own cotangent. Merged while tracing, the primal values are
   * one tracer, their tangents one equation, and the transpose sums the
   * cotangents before one product instead of running two.
   */
  merge = mergeDepth > 0;
  private readonly recorded = new Map<string, StagedTracer>();
  private readonly keys = new EquationKeys();

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
    const key = this.merge ? this.keys.of(prim, params, inputs) : undefined;
    if (key !== undefined) {
      const prev = this.recorded.get(key);
      if (prev !== undefined) return prev;
    }
    const out = this.nextId++;
    this.avals.set(out, aval);
    this.eqns.push({ prim, inputs, params, out, aval });
    const t = new StagedTracer(this, aval, null, out);
    if (key !== undefined) this.recorded.set(key, t);
    return t;
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

let mergeDepth = 0;

/** Switches merging of repeated equations while staging on or off (tests). */
export const stagingMergeOptions = { enabled: true };

/**
 * Runs `body` (a jit or makeProgram trace) with every staging trace made
 * meanwhile merging repeated equations: the trace itself, and the linear
 * programs of derivatives taken inside it. Outside, eager `grad` records
 * its linear program without the per-equation key.
 */
export function withMergedStaging<T>(body: () => T): T {
  if (!stagingMergeOptions.enabled) return body();
  mergeDepth++;
  try {
    return body();
  } finally {
    mergeDepth--;
  }
}
