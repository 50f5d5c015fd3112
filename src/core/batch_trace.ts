/**
 * Batching (vmap): a tracer carries a value with an extra batch dimension at
 * `bdim` (null when the value is the same for every batch entry). Also the
 * flat entry point {@link vmapFlat} that vmap and the Jacobians call.
 * @module
 */
import { Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import {
  type BatchRule,
  batchRules,
  type Dim,
  moveBatch,
} from "./rules/batch.ts";
import { bind, type MainTrace, Trace, withMain } from "./trace.ts";
import { narrow } from "./lax.ts";
import { withChunkTemporaries } from "./scope.ts";
import { abstractEval } from "./rules/abstract_eval.ts";
import { type Basis, basisRule, materialize, sliceBasis } from "./basis.ts";

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

/** An input that is a symbolic one-hot basis (see core/basis.ts), batched at dim 0. */
export type VmapInput = Tensor | Basis;

/**
 * Maps `f` over `size` entries of the inputs along `dims`, putting the batch
 * of each output at `outDims(j, rank)`. With `chunkSize`, runs chunks in
 * sequence and concatenates: each chunk's temporaries are freed before the
 * next starts (when its outputs are concrete), so memory is bounded by a
 * chunk. `keepAlso` names values a chunk computes that the caller reads
 * afterwards (they are not freed).
 */
export function vmapFlat(
  name: string,
  f: (xs: Tensor[]) => Tensor[],
  xs: VmapInput[],
  dims: Dim[],
  size: number,
  outDims: (j: number, rank: number) => number | null,
  chunkSize?: number,
  keepAlso: () => unknown = () => null,
): Tensor[] {
  if (chunkSize === undefined || chunkSize >= size) {
    return runBatched(name, f, xs, dims, size, outDims);
  }
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(
      `${name}: chunkSize must be a positive integer, got ${chunkSize}`,
    );
  }
  const parts: Tensor[][] = [];
  const axes: (number | null)[] = [];
  for (let s = 0; s < size; s += chunkSize) {
    const n = Math.min(chunkSize, size - s);
    const chunk = xs.map((x, i) =>
      !(x instanceof Tensor)
        ? sliceBasis(x, s, n)
        : dims[i] === null
        ? x
        : narrow(x, dims[i]!, s, n)
    );
    // The chunk's temporaries are freed when it ends (it shares
    // evaluations in a layer of its own).
    parts.push(withChunkTemporaries(
      () =>
        runBatched(
          name,
          f,
          chunk,
          dims,
          n,
          (j, r) => (axes[j] = outDims(j, r)),
        ),
      keepAlso,
    ));
  }
  return parts[0].map((_, j) =>
    parts.length === 1 || axes[j] === null
      ? parts[0][j]
      : bind("cat", parts.map((p) => p[j]), { axis: axes[j]! })
  );
}

function runBatched(
  name: string,
  f: (xs: Tensor[]) => Tensor[],
  xs: VmapInput[],
  dims: Dim[],
  size: number,
  outDims: (j: number, rank: number) => number | null,
): Tensor[] {
  return withMain(name, (main) => {
    const trace = new BatchTrace(main, size);
    const ins = xs.map((x, i) =>
      !(x instanceof Tensor)
        ? new BatchTracer(trace, null, 0, x)
        : dims[i] === null
        ? x
        : new BatchTracer(trace, x, dims[i])
    );
    const outs = f(ins);
    return outs.map((o, j) => {
      const to = outDims(j, o.ndim);
      const mine = o instanceof BatchTracer && o._trace === trace;
      if (to === null) {
        // An unbatched output (outDims null): the same for every entry.
        if (mine && o.bdim !== null) {
          throw new Error(
            `${name}: outDims is null for output ${j}, but it differs per batch entry (it depends on a batched input); give it a batch dim`,
          );
        }
        return mine ? o.val : o;
      }
      if (o instanceof BatchTracer && o._trace === trace) {
        return moveBatch(o.val, o.bdim, to, size);
      }
      return moveBatch(o, null, to, size);
    });
  });
}
