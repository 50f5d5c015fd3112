/**
 * What `JSON.stringify(tensor)` writes: the shape, the dtype and, for up to
 * 1000 elements, the values as nested arrays (float32 values in their
 * shortest exact decimal form); larger tensors get a one-line summary.
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { sizeOf } from "./shape.ts";

/** Tensors with more elements than this are summarised, as when printed. */
const MAX_VALUES = 1000;

/**
 * `{ shape, dtype, data }`, as `Tensor.toJSON` returns it.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * console.log(JSON.stringify(tensor([[1, 2], [3, 4]])));
 * // {"shape":[2,2],"dtype":"float32","data":[[1,2],[3,4]]}
 * ```
 */
export interface TensorJSON {
  /** Size of each dimension. */
  shape: number[];
  /** Element type. */
  dtype: string;
  /** Nested arrays of values (non-finite ones as "NaN", "Infinity", "-Infinity"), or a summary string. */
  data: unknown;
  /** Present (true) on a tensor recorded by the eager tape. */
  requiresGrad?: boolean;
}

/** The shortest decimal that reads back as the same float32. */
function shortF32(v: number): number {
  for (let p = 1; p < 9; p++) {
    const r = Number(v.toPrecision(p));
    if (Math.fround(r) === v) return r;
  }
  return v;
}

const show = (v: number): number | string => Number.isFinite(v) ? v : String(v);

export function tensorToJSON(t: Tensor): TensorJSON {
  const head = { shape: [...t.shape], dtype: t.dtype as string };
  const tape = t._trace !== null && t._trace.main.name === "requiresGrad";
  if (t._trace !== null && !tape) {
    return { ...head, data: `<traced by ${t._trace.main.name}>` };
  }
  const c = t._concrete("toJSON");
  if (c._storage === null || c._storage.disposed) {
    return { ...head, data: "<disposed>" };
  }
  const flat = c.data();
  const extra = tape ? { requiresGrad: true } : {};
  if (flat.length > MAX_VALUES) {
    let min = Infinity, max = -Infinity, sum = 0, nonFinite = 0;
    for (const v of flat) {
      if (!Number.isFinite(v)) {
        nonFinite++;
        continue;
      }
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    const n = flat.length - nonFinite;
    const fmt = (v: number) => Number(v.toPrecision(6));
    const stats = n > 0
      ? `min ${fmt(min)}, max ${fmt(max)}, mean ${fmt(sum / n)}`
      : "no finite values";
    const nf = nonFinite > 0 ? `, ${nonFinite} non-finite` : "";
    return {
      ...head,
      data: `${flat.length} values: ${stats}${nf} (toArray() gives them all)`,
      ...extra,
    };
  }
  const value = t.dtype === "float32" ? (v: number) => show(shortF32(v)) : show;
  const build = (dim: number, off: number): unknown => {
    if (dim === t.shape.length) return value(flat[off]);
    const stride = sizeOf(t.shape.slice(dim + 1));
    return Array.from(
      { length: t.shape[dim] },
      (_, i) => build(dim + 1, off + i * stride),
    );
  };
  return { ...head, data: build(0, 0), ...extra };
}
