/**
 * Flat vectorisation: runs `f` once on tracers that carry a batch dimension.
 * @module
 */
import { BatchTrace, BatchTracer } from "../core/batch_trace.ts";
import { type Dim, moveBatch } from "../core/rules/batch.ts";
import { withMain, withSharedEvaluations } from "../core/trace.ts";
import { cat, narrow } from "../ops/layout.ts";
import { type Basis, sliceBasis } from "../core/basis.ts";
import { releaseTemporaries } from "../backend/storage.ts";
import { flatten } from "../core/tree.ts";
import { Tensor } from "../core/tensor.ts";

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
  outDims: (j: number, rank: number) => number,
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
  const axes: number[] = [];
  for (let s = 0; s < size; s += chunkSize) {
    const n = Math.min(chunkSize, size - s);
    const chunk = xs.map((x, i) =>
      !(x instanceof Tensor)
        ? sliceBasis(x, s, n)
        : dims[i] === null
        ? x
        : narrow(x, dims[i]!, s, n)
    );
    // The chunk's temporaries are freed when it ends, so it shares
    // evaluations in a layer of its own.
    const run = () =>
      withSharedEvaluations(
        () =>
          runBatched(
            name,
            f,
            chunk,
            dims,
            n,
            (j, r) => (axes[j] = outDims(j, r)),
          ),
        true,
      );
    parts.push(releaseTemporaries(run, (outs) => {
      const [leaves] = flatten([outs, keepAlso()]);
      return leaves.every((t) => t._trace === null)
        ? new Set(leaves.map((t) => t._storage!))
        : null;
    }));
  }
  return parts[0].map((_, j) => cat(parts.map((p) => p[j]), axes[j]));
}

function runBatched(
  name: string,
  f: (xs: Tensor[]) => Tensor[],
  xs: VmapInput[],
  dims: Dim[],
  size: number,
  outDims: (j: number, rank: number) => number,
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
      if (o instanceof BatchTracer && o._trace === trace) {
        return moveBatch(o.val, o.bdim, to, size);
      }
      return moveBatch(o, null, to, size);
    });
  });
}
