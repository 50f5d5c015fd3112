/**
 * Linear algebra with PyTorch's names (`torch.linalg`), batched over leading
 * dims, differentiable to every order and under `vmap` and `jit`: Cholesky,
 * triangular and general solves, inverse and determinants. Each rests on a
 * primitive with a Rust kernel (`cholesky`, `triangularSolve`, `solve`,
 * `slogdet`, `lu`, `eigh`, `qr`) whose derivative rules are written with those same primitives.
 *
 * Conventions at degenerate points: `cholesky` of a matrix that is not
 * positive definite and `solve`/`inv` of an exactly singular matrix throw
 * (naming the failing pivot and the batch element), eagerly and under
 * `jit`; a triangular solve with a zero on the diagonal gives inf/NaN, as
 * LAPACK; `slogdet` of a singular matrix is `{ sign: 0, logabsdet: -inf }`
 * and `det` is 0, where their derivatives (which solve with the matrix)
 * throw as `solve` does; `eigh` at exactly repeated eigenvalues takes the
 * coupling of the repeated pair as 0 in the eigenvector derivative
 * (finite, and exact for spectral functions; see {@link eigh}).
 * @module
 */
import {
  broadcastShapes,
  fmtShape,
  shapeEq,
  squareMatrixSize,
} from "../core/shape.ts";
import { matmul } from "../ops/linalg.ts";
import type { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import { arange, eye } from "../ops/creation.ts";
import { add, eq, exp, mul } from "../ops/elementwise.ts";
import { expand, narrow, reshape, select, transpose } from "../ops/layout.ts";
import { tril, triu } from "../ops/indexing.ts";
import { checkTensor } from "../ops/scalar.ts";

function checkSquare(what: string, a: Tensor, name = "A"): number {
  checkTensor(`${what} (${name})`, a);
  return squareMatrixSize(what, a.shape, name);
}

/** A and B with their batch dims broadcast to each other (when both have some). */
function broadcastBatch(what: string, a: Tensor, b: Tensor): [Tensor, Tensor] {
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  if (ba.length === 0 || bb.length === 0 || shapeEq(ba, bb)) return [a, b];
  const batch = broadcastShapes(`${what} batch dims`, ba, bb);
  return [
    expand(a, [...batch, ...a.shape.slice(-2)]),
    expand(b, [...batch, ...b.shape.slice(-2)]),
  ];
}

/** Checks B `[..., n, k]` against A's n, naming both shapes. */
function checkRhs(what: string, a: Tensor, b: Tensor, n: number): void {
  checkTensor(`${what} (B)`, b);
  if (b.ndim < 2 || b.shape[b.ndim - 2] !== n) {
    throw new RangeError(
      `${what}: B must have shape [..., ${n}, k] to match A ${
        fmtShape(a.shape)
      }, got ${fmtShape(b.shape)}`,
    );
  }
}

/** Options of {@link cholesky}. */
export interface CholeskyOptions {
  /** Return the upper factor U = Lᵀ (A = UᵀU) instead of L. */
  readonly upper?: boolean;
}

/**
 * The Cholesky factor of a symmetric positive definite matrix (or a batch
 * `[..., n, n]`): lower triangular L with A = L Lᵀ, as
 * `torch.linalg.cholesky`. It factors the symmetric part (A + Aᵀ)/2, as JAX
 * does, so its gradient is symmetric. A matrix that is not positive
 * definite throws, naming the failing pivot (PyTorch's behaviour; JAX
 * returns NaN).
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const A = tensor([[4, 2], [2, 3]], { dtype: "float64" });
 * const L = linalg.cholesky(A); // [[2, 0], [1, √2]]
 * ```
 */
export function cholesky(A: Tensor, options: CholeskyOptions = {}): Tensor {
  checkSquare("cholesky", A);
  // The kernel factors the symmetric part itself (no extra pass).
  const L = bind("cholesky", [A], null);
  return options.upper ? transpose(L, -2, -1) : L;
}

/** Options of {@link solveTriangular}. */
export interface SolveTriangularOptions {
  /** A is upper triangular (required, as in PyTorch). */
  readonly upper: boolean;
  /** Solve A X = B (true, the default) or X A = B. */
  readonly left?: boolean;
  /** A's diagonal is taken as ones (and not read). */
  readonly unitriangular?: boolean;
}

/**
 * Solves the triangular system A X = B (or X A = B with `left: false`), as
 * `torch.linalg.solve_triangular`. Only A's triangle is read (its strict
 * triangle with `unitriangular`); batch dims broadcast. A zero on the
 * diagonal gives inf/NaN, as LAPACK.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const L = tensor([[2, 0], [1, 1]]), b = tensor([[2], [3]]);
 * const x = linalg.solveTriangular(L, b, { upper: false }); // [[1], [2]]
 * ```
 */
export function solveTriangular(
  A: Tensor,
  B: Tensor,
  options: SolveTriangularOptions,
): Tensor {
  const what = "solveTriangular";
  const n = checkSquare(what, A);
  if (typeof options?.upper !== "boolean") {
    throw new TypeError(`${what}: options.upper must be given (true or false)`);
  }
  const left = options.left ?? true;
  const unitriangular = options.unitriangular ?? false;
  checkTensor(`${what} (B)`, B);
  if (left) {
    checkRhs(what, A, B, n);
    const [a, b] = broadcastBatch(what, A, B);
    return bind("triangularSolve", [a, b], {
      upper: options.upper,
      unitriangular,
    });
  }
  // X A = B  ⇔  Aᵀ Xᵀ = Bᵀ, with Aᵀ triangular the other way.
  if (B.ndim < 2 || B.shape[B.ndim - 1] !== n) {
    throw new RangeError(
      `${what}: with left: false, B must have shape [..., k, ${n}] to match A ${
        fmtShape(A.shape)
      }, got ${fmtShape(B.shape)}`,
    );
  }
  const [a, b] = broadcastBatch(what, A, B);
  const xt = bind("triangularSolve", [
    transpose(a, -2, -1),
    transpose(b, -2, -1),
  ], { upper: !options.upper, unitriangular });
  return transpose(xt, -2, -1);
}

/** Options of {@link choleskySolve}. */
export interface CholeskySolveOptions {
  /** `L` holds the upper factor U (A = UᵀU). */
  readonly upper?: boolean;
}

/**
 * Solves A X = B given the Cholesky factor L of A (A = L Lᵀ), as
 * `torch.cholesky_solve(B, L)`: two triangular solves.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const A = tensor([[4, 2], [2, 3]], { dtype: "float64" });
 * const x = linalg.choleskySolve(tensor([[1], [2]], { dtype: "float64" }), linalg.cholesky(A));
 * ```
 */
export function choleskySolve(
  B: Tensor,
  L: Tensor,
  options: CholeskySolveOptions = {},
): Tensor {
  const what = "choleskySolve";
  const n = checkSquare(what, L, "L");
  checkRhs(what, L, B, n);
  const [l, b] = broadcastBatch(what, L, B);
  const up = options.upper ?? false;
  // A = L Lᵀ: solve L Y = B, then Lᵀ X = Y (mirrored for U).
  const first = up ? transpose(l, -2, -1) : l;
  const y = bind("triangularSolve", [first, b], {
    upper: false,
    unitriangular: false,
  });
  return bind("triangularSolve", [transpose(first, -2, -1), y], {
    upper: true,
    unitriangular: false,
  });
}

/** Options of {@link solve}. */
export interface SolveOptions {
  /** Solve A X = B (true, the default) or X A = B. */
  readonly left?: boolean;
}

/**
 * Solves A X = B for square A (or a batch), by LU with partial pivoting,
 * as `torch.linalg.solve`. B is a batch of vectors `[..., n]` when it has
 * one dim fewer than A and matches A's leading shape, else `[..., n, k]`;
 * batch dims broadcast. An exactly singular A throws, naming the zero
 * pivot; differentiable in both A and B to any order.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const A = tensor([[3, 1], [1, 2]]), b = tensor([9, 8]);
 * const x = linalg.solve(A, b); // [2, 3]
 * ```
 */
export function solve(
  A: Tensor,
  B: Tensor,
  options: SolveOptions = {},
): Tensor {
  const what = "solve";
  const n = checkSquare(what, A);
  checkTensor(`${what} (B)`, B);
  const left = options.left ?? true;
  const vector = B.ndim === 1 ||
    (B.ndim === A.ndim - 1 && shapeEq(B.shape, A.shape.slice(0, -1)));
  if (vector) {
    if (B.shape[B.ndim - 1] !== n) {
      throw new RangeError(
        `${what}: B must have shape [..., ${n}] to match A ${
          fmtShape(A.shape)
        }, got ${fmtShape(B.shape)}`,
      );
    }
    // A vector solves the same way from either side, up to transposing A.
    const a = left ? A : transpose(A, -2, -1);
    const x = solve(a, reshape(B, [...B.shape, 1]));
    return reshape(x, x.shape.slice(0, -1));
  }
  if (!left) {
    if (B.ndim < 2 || B.shape[B.ndim - 1] !== n) {
      throw new RangeError(
        `${what}: with left: false, B must have shape [..., k, ${n}] to match A ${
          fmtShape(A.shape)
        }, got ${fmtShape(B.shape)}`,
      );
    }
    return transpose(
      solve(transpose(A, -2, -1), transpose(B, -2, -1)),
      -2,
      -1,
    );
  }
  checkRhs(what, A, B, n);
  const [a, b] = broadcastBatch(what, A, B);
  return bind("solve", [a, b], null);
}

/**
 * The inverse of a square matrix (or a batch), as `torch.linalg.inv`:
 * `solve(A, I)`. Prefer {@link solve} to multiplying by an inverse.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const Ainv = linalg.inv(tensor([[2, 0], [0, 4]])); // [[0.5, 0], [0, 0.25]]
 * ```
 */
export function inv(A: Tensor): Tensor {
  const n = checkSquare("inv", A);
  return bind("solve", [A, eye(n, { dtype: A.dtype })], null);
}

/** The result of {@link slogdet}. */
export interface SlogdetResult {
  /** The sign of the determinant: 1, -1, or 0 for a singular matrix. */
  readonly sign: Tensor;
  /** log |det A| (-inf for a singular matrix). */
  readonly logabsdet: Tensor;
}

/**
 * The sign and the log of the absolute determinant, as
 * `torch.linalg.slogdet` (from an LU factorization): stable where `det`
 * over- or underflows. The sign has zero derivative; d logabsdet =
 * tr(A⁻¹ dA).
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const { sign, logabsdet } = linalg.slogdet(tensor([[0, 2], [3, 1]]));
 * // sign -1, logabsdet log 6
 * ```
 */
export function slogdet(A: Tensor): SlogdetResult {
  checkSquare("slogdet", A);
  const both = bind("slogdet", [A], null);
  return { sign: select(both, -1, 0), logabsdet: select(both, -1, 1) };
}

/**
 * The determinant of a square matrix (or a batch), as `torch.linalg.det`:
 * sign · exp(logabsdet) from {@link slogdet}.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const d = linalg.det(tensor([[1, 2], [3, 4]])); // -2
 * ```
 */
export function det(A: Tensor): Tensor {
  checkSquare("det", A);
  const { sign, logabsdet } = slogdet(A);
  return mul(sign, exp(logabsdet));
}

/** The result of {@link eigh}. */
export interface EighResult {
  /** The eigenvalues `[..., n]`, in ascending order. */
  readonly eigenvalues: Tensor;
  /** The unit eigenvectors as columns `[..., n, n]`. */
  readonly eigenvectors: Tensor;
}

/**
 * Eigenvalues (ascending) and eigenvectors of a symmetric matrix (or a
 * batch), as `torch.linalg.eigh`, by Jacobi rotations: A = V diag(w) Vᵀ.
 * It decomposes the symmetric part (A + Aᵀ)/2, as JAX. Each eigenvector is
 * signed so that its entry of largest magnitude is positive. Derivatives:
 * where two eigenvalues are exactly equal the eigenvector derivative takes
 * their coupling as 0 (finite), which is exact for functions of the
 * eigenvalues and of whole eigenspaces, and basis-dependent otherwise.
 * Eigenvalues that are close but not equal give eigenvector derivatives
 * of size 1/gap: there the eigenvectors themselves are ill-conditioned.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const { eigenvalues, eigenvectors } = linalg.eigh(tensor([[2, 1], [1, 2]]));
 * // eigenvalues [1, 3]
 * ```
 */
export function eigh(A: Tensor): EighResult {
  const n = checkSquare("eigh", A);
  const both = bind("eigh", [A], null);
  return {
    eigenvalues: select(narrow(both, -2, 0, 1), -2, 0),
    eigenvectors: narrow(both, -2, 1, n),
  };
}

/**
 * The eigenvalues of a symmetric matrix (or a batch), ascending, as
 * `torch.linalg.eigvalsh` (see {@link eigh}).
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const w = linalg.eigvalsh(tensor([[2, 1], [1, 2]])); // [1, 3]
 * ```
 */
export function eigvalsh(A: Tensor): Tensor {
  return eigh(A).eigenvalues;
}

/** The result of {@link qr}. */
export interface QrResult {
  /** `[..., m, n]` with orthonormal columns. */
  readonly Q: Tensor;
  /** `[..., n, n]` upper triangular, with a nonnegative diagonal. */
  readonly R: Tensor;
}

/** Options of {@link qr}. */
export interface QrOptions {
  /** Only `"reduced"` (the default) is supported: Q is `[..., m, n]`. */
  readonly mode?: "reduced";
}

/**
 * The reduced QR decomposition A = QR of a tall or square matrix (or a
 * batch) `[..., m, n]`, m ≥ n, as `torch.linalg.qr`, by Householder
 * reflections. R's diagonal is made nonnegative, which makes the
 * factorization unique for full-rank A. The derivative needs full rank
 * (it solves with R): rank-deficient inputs give inf/NaN derivatives, as
 * in JAX. Wide matrices and the complete mode are not supported yet.
 *
 * @example
 * ```ts
 * import { linalg, randn } from "./mod.ts";
 * const { Q, R } = linalg.qr(randn([5, 3])); // Q [5, 3], R [3, 3]
 * ```
 */
export function qr(A: Tensor, options: QrOptions = {}): QrResult {
  checkTensor("qr (A)", A);
  const mode = options.mode ?? "reduced";
  if (mode !== "reduced") {
    throw new RangeError(
      `qr: mode ${JSON.stringify(mode)} is not supported (only "reduced")`,
    );
  }
  const both = bind("qr", [A], null);
  const m = A.shape[A.ndim - 2], n = A.shape[A.ndim - 1];
  return { Q: narrow(both, -2, 0, m), R: narrow(both, -2, m, n) };
}

/** The result of {@link luFactor}. */
export interface LuFactorResult {
  /** `[..., n, n]`: unit L strictly below the diagonal, U on and above. */
  readonly LU: Tensor;
  /**
   * int32 `[..., n]`: the row permutation, row i of L U being row
   * `perm[i]` of A (a permutation, not LAPACK's sequence of swaps).
   */
  readonly perm: Tensor;
}

/** Packed LU of square A (or a batch) with its permutation row split off. */
function luPacked(what: string, A: Tensor): [Tensor, Tensor] {
  const n = checkSquare(what, A);
  const both = bind("lu", [A], null);
  return [select(narrow(both, -2, 0, 1), -2, 0), narrow(both, -2, 1, n)];
}

/**
 * LU factorization with partial pivoting of a square matrix (or a batch),
 * packed as `torch.linalg.lu_factor`: A[perm] = L U. Differentiable in A
 * (the permutation is piecewise constant); a singular A factors with a
 * zero on U's diagonal, where the derivative (which solves with U) is
 * inf/NaN.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const { LU, perm } = linalg.luFactor(tensor([[1, 2], [3, 4]]));
 * const x = linalg.luSolve(LU, perm, tensor([[5], [6]])); // [[-4], [4.5]]
 * ```
 */
export function luFactor(A: Tensor): LuFactorResult {
  const [perm, LU] = luPacked("luFactor", A);
  return { LU, perm: perm.to("int32") };
}

/** The result of {@link lu}. */
export interface LuResult {
  /** The permutation matrix: A = P L U. */
  readonly P: Tensor;
  /** Unit lower triangular. */
  readonly L: Tensor;
  /** Upper triangular. */
  readonly U: Tensor;
}

/**
 * A = P L U with partial pivoting, as `torch.linalg.lu`, for a square
 * matrix (or a batch); see {@link luFactor} for the packed form.
 *
 * @example
 * ```ts
 * import { linalg, matmul, tensor } from "./mod.ts";
 * const { P, L, U } = linalg.lu(tensor([[1, 2], [3, 4]]));
 * const A = matmul(P, matmul(L, U)); // [[1, 2], [3, 4]]
 * ```
 */
export function lu(A: Tensor): LuResult {
  const [perm, LU] = luPacked("lu", A);
  const n = A.shape[A.ndim - 1];
  const rows = eq(
    perm.unsqueeze(-1),
    arange(n, undefined, 1, { dtype: A.dtype }),
  );
  return {
    P: transpose(rows, -2, -1).to(A.dtype),
    L: add(tril(LU, -1), eye(n, { dtype: A.dtype })),
    U: triu(LU),
  };
}

/**
 * Solves A X = B from {@link luFactor}'s `LU` and `perm`, as
 * `torch.linalg.lu_solve`: two triangular solves of the permuted B.
 * Differentiable in `LU` and `B`.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const { LU, perm } = linalg.luFactor(tensor([[3, 1], [1, 2]]));
 * const x = linalg.luSolve(LU, perm, tensor([[9], [8]])); // [[2], [3]]
 * ```
 */
export function luSolve(LU: Tensor, perm: Tensor, B: Tensor): Tensor {
  const what = "luSolve";
  const n = checkSquare(what, LU, "LU");
  checkTensor(`${what} (perm)`, perm);
  if (!shapeEq(perm.shape, LU.shape.slice(0, -1))) {
    throw new RangeError(
      `${what}: perm must have shape ${
        fmtShape(LU.shape.slice(0, -1))
      } to match LU ${fmtShape(LU.shape)}, got ${fmtShape(perm.shape)}`,
    );
  }
  checkRhs(what, LU, B, n);
  const iota = arange(n, undefined, 1, { dtype: B.dtype });
  const P = eq(perm.to(B.dtype).unsqueeze(-1), iota);
  const [l, b] = broadcastBatch(what, LU, B);
  const pb = matmul(P, b);
  const y = bind("triangularSolve", [l, pb], {
    upper: false,
    unitriangular: true,
  });
  return bind("triangularSolve", [l, y], {
    upper: true,
    unitriangular: false,
  });
}
