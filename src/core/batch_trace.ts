/**
 * Batching (vmap): a tracer carries a value with an extra batch dimension at
 * `bdim` (null when the value is the same for every batch entry).
 * @module
 */
import { Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { type BatchRule, batchRules, type Dim } from "./rules/batch.ts";
import { bind, type MainTrace, Trace } from "./trace.ts";
import { abstractEval } from "./rules/abstract_eval.ts";
import { type Basis, basisRule, materialize } from "./basis.ts";

export class BatchTracer extends Tensor {
  #val: Tensor | null;
  constructor(trace: BatchTrace, val: Tensor, bdim: Dim);
  constructor(trace: BatchTrace, val: null, bdim: 0, basis: Basis);
  constructor(
    trace: BatchTrace,
    val: Tensor | null,
    readonly bdim: Dim,
    readonly basis: Basis | null = null,
  ) {
    const shape = val === null
      ? basis!.scale.shape
      : bdim === null
      ? val.shape
      : val.shape.filter((_, i) => i !== bdim);
    super(shape, val === null ? basis!.scale.dtype : val.dtype, null, trace);
    this.#val = val;
  }
  /** The batched value (a symbolic basis is materialised on first use). */
  get val(): Tensor {
    if (this.#val === null) this.#val = materialize(this.basis!);
    return this.#val;
  }
  override _concrete(what: string): Tensor {
    throw new Error(
      `${what}: the values of a tensor inside vmap differ per batch entry and cannot be read; ` +
        `return the tensor from the vmapped function instead`,
    );
  }
}

export class BatchTrace extends Trace {
  constructor(main: MainTrace, readonly axisSize: number) {
    super(main);
  }
  lift(x: Tensor): Tensor {
    return new BatchTracer(this, x, null);
  }
  override lower(t: Tensor): Tensor {
    const b = t as BatchTracer;
    return b.bdim === null ? b.val : t;
  }
  process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor {
    try {
      return this.#process(prim, args, params);
    } catch (e) {
      // The rules see shapes with the batch dim; a user's shape error should
      // name the per-example shapes. Validating them throws that error (and
      // costs nothing when nothing failed).
      abstractEval(prim, args, params);
      throw e;
    }
  }

  #process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor {
    const tracers = args as BatchTracer[];
    if (tracers.some((t) => t.basis !== null)) {
      const symbolic = tracers.map((t) =>
        t.basis ?? (t.bdim === null ? t.val : null)
      );
      if (!symbolic.includes(null)) {
        const r = basisRule(prim, symbolic as (Tensor | Basis)[], params);
        if (r !== null) {
          return "basis" in r
            ? new BatchTracer(this, null, 0, r.basis)
            : new BatchTracer(this, r.dense, r.bdim);
        }
      }
    }
    const vals = args.map((a) => (a as BatchTracer).val);
    const dims = args.map((a) => (a as BatchTracer).bdim);
    if (dims.every((d) => d === null)) {
      return new BatchTracer(this, bind(prim, vals, params), null);
    }
    const [out, d] = (batchRules[prim] as BatchRule<PrimParams[P]>)(
      vals,
      dims,
      params,
      this.axisSize,
    );
    return new BatchTracer(this, out, d);
  }
}
