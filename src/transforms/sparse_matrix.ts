/**
 * `SparseMatrix`: a sparse Jacobian or Hessian block as index arrays and a
 * tensor of values, what `jacfwd`, `jacrev` and `hessian` return with
 * `{ format: "coo" | "csr" }`.
 * @module
 */
import { fromArray } from "../backend/storage.ts";
import { fmtShape } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import { checkTensor } from "../ops/scalar.ts";
import { reshape } from "../ops/layout.ts";

/** The sparse layouts a sparse Jacobian can be returned in. */
export type SparseFormat = "coo" | "csr";

const int32 = (a: Int32Array) =>
  Tensor._fromStorage(fromArray("int32", a), [a.length], "int32");

/**
 * An `m × n` sparse matrix: `values[k]` sits at row `rowIndices[k]`,
 * column `colIndices[k]`; entries are in row-major order without
 * duplicates. In `"csr"` format `rowPtr` (length m + 1) gives row `i`'s
 * entries as `rowPtr[i] .. rowPtr[i + 1]`; in `"coo"` it is null. `values`
 * is an ordinary tensor (differentiable, and a tracer inside `jit` or
 * `vmap`); the indices are plain arrays fixed by the sparsity pattern, and
 * results computed with the same pattern share them: treat them as
 * read-only.
 *
 * For a Jacobian block the rows are the output's elements and the columns
 * the input's, both flattened row-major.
 *
 * @example
 * ```ts
 * import { hessian, tensor, type Tensor } from "./mod.ts";
 * const f = (x: Tensor) => x.slice(0, 1).sub(x.slice(0, 0, -1).square()).square().sum();
 * const H = hessian(f, { sparsity: "auto", format: "csr" })(tensor([1, 2, 3], { dtype: "float64" }));
 * console.log(H.shape, H.nnz, H.rowPtr); // [3, 3] 7 Int32Array(4) [ 0, 2, 5, 7 ]
 * console.log(H.toDense().shape); // [3, 3]
 * const y = H.matvec(tensor([1, 0, 0], { dtype: "float64" })); // first column of H
 * ```
 */
export class SparseMatrix {
  /** @internal made by the sparse Jacobian transforms. */
  constructor(
    /** `"coo"` or `"csr"`. */
    readonly format: SparseFormat,
    /** `[rows, columns]`. */
    readonly shape: readonly [number, number],
    /** Row of each entry. */
    readonly rowIndices: Int32Array,
    /** Column of each entry. */
    readonly colIndices: Int32Array,
    /** The entries' values, shape `[nnz]`. */
    readonly values: Tensor,
    /** CSR row offsets (length rows + 1), or null in COO format. */
    readonly rowPtr: Int32Array | null,
  ) {}

  /** The number of stored entries. */
  get nnz(): number {
    return this.rowIndices.length;
  }

  /** The dtype of the values. */
  get dtype(): Tensor["dtype"] {
    return this.values.dtype;
  }

  /** The dense `[rows, columns]` tensor (zeros outside the entries). */
  toDense(): Tensor {
    const [m, n] = this.shape;
    const at = new Int32Array(this.nnz);
    for (let k = 0; k < at.length; k++) {
      at[k] = this.rowIndices[k] * n + this.colIndices[k];
    }
    const flat = bind("indexAdd", [this.values, int32(at)], {
      axis: 0,
      size: m * n,
    });
    return reshape(flat, [m, n]);
  }

  /** The product `A v` for a vector `v` of length `columns`. */
  matvec(v: Tensor): Tensor {
    checkTensor("SparseMatrix.matvec (v)", v);
    const [m, n] = this.shape;
    if (v.ndim !== 1 || v.shape[0] !== n) {
      throw new RangeError(
        `SparseMatrix.matvec: v must have shape [${n}] for a matrix of shape [${m}, ${n}], got ${
          fmtShape(v.shape)
        }`,
      );
    }
    if (v.dtype !== this.values.dtype) {
      throw new TypeError(
        `SparseMatrix.matvec: v is ${v.dtype} but the matrix is ${this.values.dtype}`,
      );
    }
    const picked = bind("indexSelect", [v, int32(this.colIndices)], {
      axis: 0,
    });
    const terms = bind("mul", [this.values, picked], null);
    return bind("indexAdd", [terms, int32(this.rowIndices)], {
      axis: 0,
      size: m,
    });
  }

  /** The same entries in the other format. */
  to(format: SparseFormat): SparseMatrix {
    if (format !== "coo" && format !== "csr") {
      throw new TypeError(
        `SparseMatrix.to: format must be "coo" or "csr", got ${
          JSON.stringify(format)
        }`,
      );
    }
    return new SparseMatrix(
      format,
      this.shape,
      this.rowIndices,
      this.colIndices,
      this.values,
      format === "csr" ? rowPointers(this.shape[0], this.rowIndices) : null,
    );
  }

  /** `SparseMatrix(csr, [m, n], nnz=k, float64)`. */
  toString(): string {
    return `SparseMatrix(${this.format}, [${
      this.shape.join(", ")
    }], nnz=${this.nnz}, ${this.dtype})`;
  }
}

/** CSR offsets from sorted row indices. */
export function rowPointers(m: number, rows: Int32Array): Int32Array {
  const ptr = new Int32Array(m + 1);
  for (const r of rows) ptr[r + 1]++;
  for (let i = 0; i < m; i++) ptr[i + 1] += ptr[i];
  return ptr;
}
