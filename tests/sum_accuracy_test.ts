/**
 * float32 sums of long inputs against a float64 reference of the same
 * float32 values. One running accumulator per SIMD lane lost accuracy
 * linearly in the length when rounding errors share a sign (6e-3 relative
 * for the sum of 1e7 tenths, 4e-2 along a stride-2 axis); the kernels sum in
 * blocks combined pairwise, on every path (full, last axis, leading axis,
 * strided), eagerly and under jit.
 * @module
 */
import assert from "node:assert/strict";
import { jit, type Tensor, tensor } from "../mod.ts";

const N = 10_000_000;

/** Values in [0, 1) from a 32-bit LCG, rounded to float32. */
function uniform(n: number): Float32Array {
  const out = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s / 4294967296;
  }
  return out;
}

/** Float64 sums of `x` viewed as `[rows, cols]`, over `axis`. */
function refSums(x: Float32Array, rows: number, cols: number, axis: 0 | 1) {
  const out = new Float64Array(axis === 0 ? cols : rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[axis === 0 ? c : r] += x[r * cols + c];
  }
  return out;
}

function worstRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs((got[i] - want[i]) / want[i]));
  }
  return worst;
}

const datasets: [string, Float32Array][] = [
  ["uniform", uniform(N)],
  ["tenths", new Float32Array(N).fill(0.1)],
];

for (const [name, data] of datasets) {
  Deno.test(`float32 sum of 1e7 ${name}: relative error < 1e-6`, () => {
    using x = tensor(data);
    let want = 0;
    for (let i = 0; i < N; i++) want += data[i];
    const sums: [string, Tensor][] = [
      ["sum", x.sum()],
      ["mean * n", x.mean().mul(N)],
      ["jit sum", jit((v: Tensor) => v.sum())(x)],
    ];
    for (const [what, t] of sums) {
      const err = Math.abs(t.item() - want) / want;
      t.dispose();
      assert(err < 1e-6, `${what}: relative error ${err}`);
    }
  });

  Deno.test(`float32 axis sums of 1e7 ${name}: relative error < 1e-6`, () => {
    using x = tensor(data);
    // [rows, cols] over axis: the last axis (contiguous runs), the leading
    // axis with a long kept run (column tiles) and with a kept run of 2
    // (a stride-2 stream), and a transposed view.
    const cases: [number, number, 0 | 1][] = [
      [2, N / 2, 1],
      [N / 16, 16, 0],
      [N / 2, 2, 0],
      [N / 2000, 2000, 0],
    ];
    for (const [rows, cols, axis] of cases) {
      // Views share x's buffer: only the results are disposed.
      const v = x.reshape([rows, cols]);
      using s = v.sum(axis);
      const err = worstRelErr(s.data(), refSums(data, rows, cols, axis));
      assert(err < 1e-6, `[${rows}, ${cols}] axis ${axis}: ${err}`);
      const t = v.transpose(0, 1);
      using st = jit((u: Tensor) => u.sum(1 - axis))(t);
      const errT = worstRelErr(st.data(), refSums(data, rows, cols, axis));
      assert(errT < 1e-6, `transposed [${rows}, ${cols}] jit: ${errT}`);
    }
  });
}
