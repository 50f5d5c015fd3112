/**
 * Compares jacobi's leaves with JAX's: same number of leaves, same shapes,
 * float64, and values within 1e-9 relative to the leaf's scale.
 * @module
 */
import { atLeaves, type AType } from "./case.ts";
import type { Leaf } from "./jacobi_eval.ts";

/** A JAX leaf as it arrives (non-finite numbers are strings in JSON). */
export interface RefLeaf {
  shape: number[];
  dtype: string;
  data: (number | string)[];
}

export const RTOL = 1e-9;

const num = (v: number | string): number =>
  typeof v === "number"
    ? v
    : v === "nan"
    ? NaN
    : v === "inf"
    ? Infinity
    : -Infinity;

const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * What differs, or null. |a - b| <= RTOL * (|b| + scale) with scale the
 * largest |b| of the leaf (at least 1): relative where values are large,
 * absolute near zero, so cancellation inside a sum is not a failure.
 */
export function compareCall(
  outType: AType,
  mine: Leaf[],
  ref: RefLeaf[],
  call: number,
): string | null {
  const want = atLeaves(outType);
  if (ref.length !== want.length) {
    return `call ${call}: JAX returned ${ref.length} leaves, the generator expected ${want.length} (a bug in the test)`;
  }
  if (mine.length !== ref.length) {
    return `call ${call}: jacobi returned ${mine.length} output tensors, JAX ${ref.length}`;
  }
  for (let j = 0; j < ref.length; j++) {
    const a = mine[j], b = ref[j];
    if (!same(b.shape, want[j])) {
      return `call ${call}, leaf ${j}: JAX shape [${b.shape}] but the generator expected [${
        want[j]
      }] (a bug in the test)`;
    }
    if (!same(a.shape, b.shape)) {
      return `call ${call}, leaf ${j}: jacobi shape [${a.shape}], JAX [${b.shape}]`;
    }
    if (a.dtype !== "float64") {
      return `call ${call}, leaf ${j}: jacobi dtype ${a.dtype}, expected float64`;
    }
    const bv = b.data.map(num);
    const scale = Math.max(1, ...bv.filter(Number.isFinite).map(Math.abs));
    let worst = -1, worstErr = 0;
    for (let i = 0; i < bv.length; i++) {
      const x = a.data[i], y = bv[i];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (!Number.isFinite(y) || !Number.isFinite(x)) {
        if (x !== y) {
          worst = i;
          worstErr = Infinity;
          break;
        }
        continue;
      }
      const err = Math.abs(x - y) / (RTOL * (Math.abs(y) + scale));
      if (err > 1 && err > worstErr) [worst, worstErr] = [i, err];
    }
    if (worst >= 0) {
      const show = (d: readonly number[]) =>
        d.length > 12
          ? `[${d.slice(0, 12).join(", ")}, …]`
          : `[${d.join(", ")}]`;
      return `call ${call}, leaf ${j} (shape [${b.shape}]): element ${worst} is ${
        a.data[worst]
      } in jacobi, ${
        bv[worst]
      } in JAX (${worstErr}× the tolerance)\n  jacobi: ${
        show(a.data)
      }\n  JAX:    ${show(bv)}`;
    }
  }
  return null;
}
