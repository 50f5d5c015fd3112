/**
 * Cumulative operations along one dim, composed from existing operations:
 * `cumsum` (blocked products with a triangular ones matrix), `cumprod` and
 * `logcumsumexp` (a log-depth doubling scan of `mul` / `logaddexp`).
 * Each is differentiated through those operations' rules.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { fromArray } from "../backend/storage.ts";
import { normAxis } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { add, mul, sub } from "./elementwise.ts";
import { movedim, narrow, reshape, unsqueeze } from "./layout.ts";
import { matmul } from "./linalg.ts";
import { logaddexp } from "./math.ts";
import { pad } from "./indexing.ts";
import { checkFloat } from "./activation.ts";
import { castTo } from "./scalar.ts";

/** Block length of the triangular products in `cumsum`. */
const BLOCK = 64;

/** The dim of `x` normalised, for the message of `what` (int32 allowed if `ints`). */
function dimOf(what: string, x: Tensor, dim: number, ints = false): number {
  if (!ints || x.dtype !== "int32") checkFloat(what, x);
  if (x.ndim === 0) {
    if (dim !== 0 && dim !== -1) normAxis(dim, 1, `${what}: dim`);
    return -1;
  }
  return normAxis(dim, x.ndim, `${what}: dim`);
}

/** Runs `scan` on `x` with `dim` moved last (a 0-dim tensor as one entry). */
function alongLast(
  x: Tensor,
  d: number,
  scan: (y: Tensor) => Tensor,
): Tensor {
  if (d < 0) return reshape(scan(reshape(x, [1])), []);
  if (x.shape[d] <= 1) return x._alias();
  return movedim(scan(movedim(x, d, -1)), -1, d);
}

/** Upper-triangular ones `U[j, i] = j <= i`, so `y @ U` is the running sum. */
function upperOnes(n: number, dtype: Tensor["dtype"]): Tensor {
  const u = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = j; i < n; i++) u[j * n + i] = 1;
  return Tensor._fromStorage(fromArray(dtype, u), [n, n], dtype);
}

/** Running sum along the last dim. */
function cumsumLast(y: Tensor): Tensor {
  const n = y.shape[y.ndim - 1];
  if (n <= BLOCK) return matmul(y, upperOnes(n, y.dtype));
  // Blocks of BLOCK: the running sum within each block, plus the running
  // sum of the block totals before it (computed the same way).
  const m = Math.ceil(n / BLOCK);
  const lead = y.shape.slice(0, -1);
  const padded = pad(y, [0, m * BLOCK - n]);
  const inner = matmul(
    reshape(padded, [...lead, m, BLOCK]),
    upperOnes(BLOCK, y.dtype),
  );
  const totals = reshape(narrow(inner, -1, BLOCK - 1, 1), [...lead, m]);
  const before = sub(cumsumLast(totals), totals);
  const all = add(inner, unsqueeze(before, -1));
  return narrow(reshape(all, [...lead, m * BLOCK]), -1, 0, n);
}

/**
 * Doubling scan along the last dim: after the step of shift s each entry
 * combines the 2s entries ending at it; `fill` is the identity of `op`.
 */
function doublingScan(
  y: Tensor,
  op: (a: Tensor, b: Tensor) => Tensor,
  fill: number,
): Tensor {
  const n = y.shape[y.ndim - 1];
  for (let s = 1; s < n; s *= 2) {
    y = op(y, pad(narrow(y, -1, 0, n - s), [s, 0], { value: fill }));
  }
  return y;
}

/**
 * Running sum along `dim`, as `torch.cumsum`. Computed as products with a
 * triangular ones matrix over blocks of 64 (and the block totals the same
 * way), so O(64·n) work per slice of length n, in the speed of `matmul`.
 *
 * @example
 * ```ts
 * import { cumsum, tensor } from "./mod.ts";
 * const y = cumsum(tensor([[1, 2, 3], [4, 5, 6]]), 1); // [[1, 3, 6], [4, 9, 15]]
 * const n = cumsum(tensor([true, false, true]), 0); // int32 counts [1, 1, 2]
 * ```
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  return eagerOp([x, dim], () => {
    // int32 (and bool, counted in int32) is exact on the integer kernels.
    if (x instanceof Tensor && x.dtype === "bool") x = castTo(x, "int32");
    return alongLast(x, dimOf("cumsum", x, dim, true), cumsumLast);
  });
}

/**
 * Running product along `dim`, as `torch.cumprod`. A doubling scan of
 * `mul` (⌈log₂ n⌉ steps, O(n log n) work), never through logarithms, so it
 * is exact at zeros and negative entries and so are its derivatives.
 *
 * @example
 * ```ts
 * import { cumprod, tensor } from "./mod.ts";
 * const y = cumprod(tensor([2, -3, 0, 5]), 0); // [2, -6, 0, 0]
 * ```
 */
export function cumprod(x: Tensor, dim: number): Tensor {
  return eagerOp([x, dim], () => {
    if (x instanceof Tensor && x.dtype === "bool") x = castTo(x, "int32");
    return alongLast(
      x,
      dimOf("cumprod", x, dim, true),
      (y) => doublingScan(y, mul, 1),
    );
  });
}

/**
 * `log(cumsum(exp(x), dim))`, stably, as `torch.logcumsumexp`: a doubling
 * scan of `logaddexp` (⌈log₂ n⌉ steps, O(n log n) work), so no entry
 * overflows or underflows to the wrong value (1e4 and -1e4 are fine) and
 * -inf entries contribute nothing.
 *
 * @example
 * ```ts
 * import { logcumsumexp, tensor } from "./mod.ts";
 * const y = logcumsumexp(tensor([-1000, 0, 1000]), 0); // [-1000, 0, 1000]
 * ```
 */
export function logcumsumexp(x: Tensor, dim: number): Tensor {
  return eagerOp([x, dim], () => {
    return alongLast(
      x,
      dimOf("logcumsumexp", x, dim),
      (y) => doublingScan(y, logaddexp, -Infinity),
    );
  });
}
