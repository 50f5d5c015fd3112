/**
 * Batching (vmap): a tracer carries a value with an extra batch dimension at
 * `bdim` (null when the value is the same for every batch entry).
 * @module
 */
import { Tensor } from "../tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { type BatchRule, batchRules, type Dim } from "./rules/batch.ts";
import { bind, type MainTrace, Trace } from "./trace.ts";

export class BatchTracer extends Tensor {
  constructor(trace: BatchTrace, readonly val: Tensor, readonly bdim: Dim) {
    super(
      bdim === null ? val.shape : val.shape.filter((_, i) => i !== bdim),
      val.dtype,
      null,
      trace,
    );
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
