/**
 * Linear algebra with PyTorch's names (`torch.linalg`), batched over leading
 * dims, differentiable to every order and under `vmap` and `jit`: Cholesky,
 * triangular and general solves, inverse and determinants, eigh, QR, LU,
 * SVD and what is built on them (pseudo-inverse, least squares, norms,
 * matrix powers and exponential). Each rests on a primitive with a Rust
 * kernel (`cholesky`, `triangularSolve`, `solve`, `slogdet`, `lu`, `eigh`,
 * `qr`, `svd`) whose derivative rules are written with those same
 * primitives, or is a composition of them.
 *
 * Conventions at degenerate points: `cholesky` of a matrix that is not
 * positive definite and `solve`/`inv` of an exactly singular matrix throw
 * (naming the failing pivot and the batch element), eagerly and under
 * `jit`; a triangular solve with a zero on the diagonal gives inf/NaN, as
 * LAPACK; `slogdet` of a singular matrix is `{ sign: 0, logabsdet: -inf }`
 * and `det` is 0, where their derivatives (which solve with the matrix)
 * throw as `solve` does; `eigh` at exactly repeated eigenvalues takes the
 * coupling of the repeated pair as 0 in the eigenvector derivative
 * (finite, and exact for spectral functions; see {@link eigh}); `svd` at
 * exactly repeated singular values likewise (see {@link svd}).
 * @module
 */
import { eagerOp } from "../core/scope.ts";
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
import {
  abs,
  add,
  ceil,
  detach,
  div,
  eq,
  exp,
  exp2,
  gt,
  log2,
  maximum,
  mul,
  pow,
  reciprocal,
  relu,
  sub,
  where,
} from "../ops/elementwise.ts";
import {
  cat,
  expand,
  movedim,
  narrow,
  reshape,
  select,
  squeeze,
  transpose,
  unsqueeze,
} from "../ops/layout.ts";
import { tril, triu } from "../ops/indexing.ts";
import { max, min, sum } from "../ops/reduce.ts";
import { norm } from "../ops/stats.ts";
import { checkTensor, describe } from "../ops/scalar.ts";

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
  return eagerOp([A, options], () => {
    checkSquare("cholesky", A);
    // The kernel factors the symmetric part itself (no extra pass).
    const L = bind("cholesky", [A], null);
    return options.upper ? transpose(L, -2, -1) : L;
  });
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
  return eagerOp([A, B, options], () => {
    const what = "solveTriangular";
    const n = checkSquare(what, A);
    if (typeof options?.upper !== "boolean") {
      throw new TypeError(
        `${what}: options.upper must be given (true or false)`,
      );
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
  });
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
  return eagerOp([B, L, options], () => {
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
  return eagerOp([A, B, options], () => {
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
  });
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
  return eagerOp([A], () => {
    const n = checkSquare("inv", A);
    return bind("solve", [A, eye(n, { dtype: A.dtype })], null);
  });
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
  return eagerOp([A], () => {
    checkSquare("slogdet", A);
    const both = bind("slogdet", [A], null);
    return { sign: select(both, -1, 0), logabsdet: select(both, -1, 1) };
  });
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
  return eagerOp([A], () => {
    checkSquare("det", A);
    const { sign, logabsdet } = slogdet(A);
    return mul(sign, exp(logabsdet));
  });
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
  return eagerOp([A], () => {
    const n = checkSquare("eigh", A);
    const both = bind("eigh", [A], null);
    return {
      eigenvalues: select(narrow(both, -2, 0, 1), -2, 0),
      eigenvectors: narrow(both, -2, 1, n),
    };
  });
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
  return eagerOp([A], () => eigh(A).eigenvalues);
}

/** The result of {@link qr}. */
export interface QrResult {
  /**
   * Orthonormal columns: `[..., m, k]` (k = min(m, n)) in the reduced
   * mode, `[..., m, m]` in the complete mode.
   */
  readonly Q: Tensor;
  /**
   * Upper triangular (trapezoidal when wide): `[..., k, n]` in the
   * reduced mode, `[..., m, n]` in the complete mode.
   */
  readonly R: Tensor;
}

/** Options of {@link qr}. */
export interface QrOptions {
  /** `"reduced"` (the default) or `"complete"` (Q square), as PyTorch. */
  readonly mode?: "reduced" | "complete";
}

/**
 * The QR decomposition A = QR of a matrix (or a batch) `[..., m, n]`, as
 * `torch.linalg.qr`, by Householder reflections. The first min(m, n)
 * diagonal entries of R are made nonnegative, which makes the
 * factorization unique for full-rank A. A wide matrix (m < n) is
 * factored through its leading m × m block: A = Q [R₁ | QᵀA₂]. With
 * `mode: "complete"` a tall A gets the m − n further columns of Q that
 * complete it to an orthogonal matrix (R gets zero rows).
 *
 * Derivatives need full rank (they solve with R, or R₁ when wide):
 * rank-deficient inputs give inf/NaN derivatives, as in JAX. The extra
 * columns of a complete Q are not unique; their derivative is the one
 * that keeps them orthogonal to the first n with the least change (−Q₁
 * Q̇₁ᵀ Q₂), exact to first order (PyTorch raises there instead).
 *
 * @example
 * ```ts
 * import { linalg, randn } from "./mod.ts";
 * const { Q, R } = linalg.qr(randn([5, 3])); // Q [5, 3], R [3, 3]
 * const full = linalg.qr(randn([5, 3]), { mode: "complete" }); // Q [5, 5], R [5, 3]
 * const wide = linalg.qr(randn([2, 4])); // Q [2, 2], R [2, 4]
 * ```
 */
export function qr(A: Tensor, options: QrOptions = {}): QrResult {
  return eagerOp([A, options], () => {
    const [m, n] = checkMatrix("qr", A);
    const mode = options.mode ?? "reduced";
    if (mode !== "reduced" && mode !== "complete") {
      throw new RangeError(
        `qr: mode must be "reduced" or "complete", got ${JSON.stringify(mode)}`,
      );
    }
    if (m < n) {
      const head = qr(narrow(A, -1, 0, m));
      const rest = matmul(transpose(head.Q, -2, -1), narrow(A, -1, m, n - m));
      return { Q: head.Q, R: cat([head.R, rest], -1) };
    }
    const both = bind("qr", [A], null);
    const Q = narrow(both, -2, 0, m), R = narrow(both, -2, m, n);
    if (mode === "reduced" || m === n) return { Q, R };
    // Complete: Householder QR of [A | 0] reflects the same way for A's
    // columns and leaves the last m − n columns of its Q free: they
    // complete Q. Their derivative is kept orthogonal to Q's through the
    // projection, whose value at this point changes nothing.
    const fixed = detach(A);
    const zeros = mul(
      expand(narrow(fixed, -1, 0, 1), [...A.shape.slice(0, -1), m - n]),
      0,
    );
    const padded = bind("qr", [cat([fixed, zeros], -1)], null);
    const Q2 = narrow(narrow(padded, -2, 0, m), -1, n, m - n);
    const Q2p = sub(Q2, matmul(Q, matmul(transpose(Q, -2, -1), Q2)));
    const zeroRows = mul(
      expand(narrow(R, -2, 0, 1), [...R.shape.slice(0, -2), m - n, n]),
      0,
    );
    return { Q: cat([Q, Q2p], -1), R: cat([R, zeroRows], -2) };
  });
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
  return eagerOp([A], () => {
    const [perm, LU] = luPacked("luFactor", A);
    return { LU, perm: perm.to("int32") };
  });
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
  return eagerOp([A], () => {
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
  });
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
  return eagerOp([LU, perm, B], () => {
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
  });
}

// ------------------------------------------------------------------ SVD family

/** Checks a float matrix (or batch) `[..., m, n]`, returning m and n. */
function checkMatrix(what: string, a: Tensor, name = "A"): [number, number] {
  checkTensor(`${what} (${name})`, a);
  if (a.ndim < 2) {
    throw new RangeError(
      `${what}: ${name} must be a matrix or a batch of them [..., m, n], got shape ${
        fmtShape(a.shape)
      }`,
    );
  }
  if (a.dtype !== "float32" && a.dtype !== "float64") {
    throw new TypeError(
      `${what}: expected a float32 or float64 tensor for ${name}, got ${a.dtype}`,
    );
  }
  return [a.shape[a.ndim - 2], a.shape[a.ndim - 1]];
}

/** The result of {@link svd}. */
export interface SvdResult {
  /** `[..., m, k]` with orthonormal columns (k = min(m, n)). */
  readonly U: Tensor;
  /** `[..., k]`: the singular values, in descending order. */
  readonly S: Tensor;
  /** `[..., k, n]` with orthonormal rows: Vᵀ. */
  readonly Vh: Tensor;
}

/** Options of {@link svd}. */
export interface SvdOptions {
  /**
   * Only `false` is supported (the reduced SVD, U `[..., m, k]` and Vh
   * `[..., k, n]`); unlike PyTorch it is the default.
   */
  readonly fullMatrices?: false;
}

/**
 * The reduced singular value decomposition A = U diag(S) Vh of a matrix
 * (or a batch) `[..., m, n]`, as `torch.linalg.svd(A, full_matrices=False)`:
 * k = min(m, n), S descending and nonnegative. Computed by Householder
 * QR, then one-sided (Hestenes) Jacobi rotations on the rows of R, which
 * never form AᵀA (small singular values are not lost to squaring, unlike
 * an eigen-decomposition of the Gram matrix); a wide matrix is decomposed
 * through its transpose. Jacobi does several times the work of LAPACK's
 * bidiagonal SVD: expect it to be slower than numpy beyond n ≈ 100. Each pair of singular vectors is
 * signed so that the entry of largest magnitude of the column of V (of U
 * for a wide A) is positive; columns of U for zero singular values are
 * completed to an orthonormal set.
 *
 * Derivatives (to any order): exact where the singular values are
 * distinct and nonzero. At exactly repeated singular values the coupling
 * that is not determined there (the symmetric part of Uᵀ dA V between
 * the repeated pair) is taken as 0, so results stay finite (not JAX's
 * inf/NaN) and are exact for functions of the singular values (norms,
 * sums of logs), of whole singular subspaces and of U Vh; other
 * functions of U or V alone are basis-dependent there. Where a singular
 * value is 0 the derivative of the matching column of U outside the
 * range of A is taken as 0. Close but distinct singular values give
 * derivatives of size 1/gap: there the vectors themselves are
 * ill-conditioned.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const { U, S, Vh } = linalg.svd(tensor([[3, 0], [4, 5]], { dtype: "float64" }));
 * // S = [√45, √5]; U.mul(S.unsqueeze(0)).matmul(Vh) is A again
 * ```
 */
export function svd(A: Tensor, options: SvdOptions = {}): SvdResult {
  return eagerOp([A, options], () => {
    const [m, n] = checkMatrix("svd", A);
    if (options.fullMatrices) {
      throw new RangeError(
        "svd: fullMatrices: true is not supported (only the reduced SVD)",
      );
    }
    if (m < n) {
      // Aᵀ = U' S Vh'  ⇒  A = Vh'ᵀ S U'ᵀ.
      const t = svd(transpose(A, -2, -1));
      return {
        U: transpose(t.Vh, -2, -1),
        S: t.S,
        Vh: transpose(t.U, -2, -1),
      };
    }
    const y = bind("svd", [A], null);
    return {
      U: narrow(y, -2, 0, m),
      S: select(narrow(y, -2, m, 1), -2, 0),
      Vh: narrow(y, -2, m + 1, n),
    };
  });
}

/**
 * The singular values of a matrix (or a batch) `[..., m, n]`, descending,
 * as `torch.linalg.svdvals` (see {@link svd}). Their derivatives are
 * exact wherever they are distinct, and finite (a subgradient) where two
 * are equal.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const s = linalg.svdvals(tensor([[0, 2], [-3, 0]])); // [3, 2]
 * ```
 */
export function svdvals(A: Tensor): Tensor {
  return eagerOp([A], () => svd(A).S);
}

/** The default relative cutoff of tiny singular values: eps · max(m, n). */
function defaultRtol(dtype: string, m: number, n: number): number {
  return (dtype === "float64" ? 2 ** -52 : 2 ** -23) * Math.max(m, n);
}

/** Options of {@link pinv}. */
export interface PinvOptions {
  /** Absolute cutoff: singular values ≤ atol are treated as 0 (default 0). */
  readonly atol?: number;
  /**
   * Relative cutoff, times the largest singular value (default
   * eps · max(m, n) when `atol` is not given, else 0), as PyTorch.
   */
  readonly rtol?: number;
}

/**
 * The Moore–Penrose pseudo-inverse `[..., n, m]` of a matrix (or a batch)
 * `[..., m, n]`, as `torch.linalg.pinv`, from the {@link svd}: V
 * diag(1/s) Uᵀ over the singular values above max(atol, rtol · s_max),
 * the others dropped. Differentiable where the rank is locally constant
 * and the kept singular values are distinct (see {@link svd}).
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const P = linalg.pinv(tensor([[1, 2], [2, 4]], { dtype: "float64" })); // [[1, 2], [2, 4]] / 25
 * ```
 */
export function pinv(A: Tensor, options: PinvOptions = {}): Tensor {
  return eagerOp([A, options], () => {
    const [m, n] = checkMatrix("pinv", A);
    for (const key of ["atol", "rtol"] as const) {
      const v = options[key];
      if (v !== undefined && !(typeof v === "number" && v >= 0)) {
        throw new RangeError(
          `pinv: options.${key} must be a number >= 0, got ${describe(v)}`,
        );
      }
    }
    const atol = options.atol ?? 0;
    const rtol = options.rtol ??
      (options.atol === undefined ? defaultRtol(A.dtype, m, n) : 0);
    const { U, S, Vh } = svd(A);
    const k = Math.min(m, n);
    if (k === 0) return transpose(A, -2, -1);
    const smax = narrow(S, -1, 0, 1);
    const cutoff = maximum(mul(detach(smax), rtol), atol);
    const keep = gt(S, cutoff);
    const sinv = where(keep, reciprocal(where(keep, S, 1)), 0);
    // V diag(1/s) Uᵀ.
    return matmul(
      mul(transpose(Vh, -2, -1), unsqueeze(sinv, -2)),
      transpose(U, -2, -1),
    );
  });
}

/** Options of {@link lstsq}. */
export interface LstsqOptions {
  /**
   * `"gels"` (the default): QR, for A of full rank: the least-squares
   * solution of a tall or square A, the minimum-norm solution of a wide
   * one. `"gelsd"`: from the SVD, the minimum-norm least-squares solution
   * for any A, singular values below `rcond` · s_max taken as 0.
   */
  readonly driver?: "gels" | "gelsd";
  /** Relative cutoff of the `"gelsd"` driver (default eps · max(m, n)). */
  readonly rcond?: number;
}

/**
 * Solves min ‖A X − B‖ for A `[..., m, n]` and B `[..., m, k]` (or a
 * vector `[m]`), as `torch.linalg.lstsq(A, B).solution`: returns the
 * solution X `[..., n, k]` (PyTorch also returns residuals, rank and
 * singular values; use {@link svdvals} for those). The default `"gels"`
 * driver factors A = QR (tall or square, X = R⁻¹ QᵀB) or Aᵀ = QR (wide,
 * the minimum-norm X = Q R⁻ᵀ B) and needs A of full rank: a
 * rank-deficient A gives inf/NaN or meaningless values, as LAPACK's gels.
 * Use `{ driver: "gelsd" }` (the pseudo-inverse, from the SVD) for
 * rank-deficient A. Differentiable in A and B.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const A = tensor([[1, 0], [1, 1], [1, 2]], { dtype: "float64" });
 * const x = linalg.lstsq(A, tensor([1, 2, 4], { dtype: "float64" })); // [0.833…, 1.5]
 * ```
 */
export function lstsq(
  A: Tensor,
  B: Tensor,
  options: LstsqOptions = {},
): Tensor {
  return eagerOp([A, B, options], () => {
    const what = "lstsq";
    const [m, n] = checkMatrix(what, A);
    checkTensor(`${what} (B)`, B);
    const driver = options.driver ?? "gels";
    if (driver !== "gels" && driver !== "gelsd") {
      throw new RangeError(
        `${what}: options.driver must be "gels" or "gelsd", got ${
          describe(driver)
        }`,
      );
    }
    if (B.ndim === 1) {
      if (B.shape[0] !== m) {
        throw new RangeError(
          `${what}: B must have shape [${m}] or [..., ${m}, k] to match A ${
            fmtShape(A.shape)
          }, got ${fmtShape(B.shape)}`,
        );
      }
      const x = lstsq(A, reshape(B, [m, 1]), options);
      return reshape(x, x.shape.slice(0, -1));
    }
    if (B.shape[B.ndim - 2] !== m) {
      throw new RangeError(
        `${what}: B must have shape [${m}] or [..., ${m}, k] to match A ${
          fmtShape(A.shape)
        }, got ${fmtShape(B.shape)}`,
      );
    }
    const [a, b] = broadcastBatch(what, A, B);
    if (driver === "gelsd") {
      const rcond = options.rcond ?? defaultRtol(A.dtype, m, n);
      return matmul(pinv(a, { rtol: rcond }), b);
    }
    const upper = { upper: true, unitriangular: false } as const;
    const lower = { upper: false, unitriangular: false } as const;
    if (m >= n) {
      const { Q, R } = qr(a);
      const qtb = matmul(transpose(Q, -2, -1), b);
      return bind("triangularSolve", [R, qtb], upper);
    }
    // Wide: Aᵀ = QR, A = Rᵀ Qᵀ; X = Q R⁻ᵀ B has the least norm.
    const { Q, R } = qr(transpose(a, -2, -1));
    const y = bind("triangularSolve", [transpose(R, -2, -1), b], lower);
    return matmul(Q, y);
  });
}

// ------------------------------------------------------------------ norms

/** Two distinct dims of an `ndim`-dim tensor, made nonnegative. */
function matrixDims(
  what: string,
  ndim: number,
  dim: readonly [number, number],
): [number, number] {
  const norm = dim.map((d) => (Number.isInteger(d) && d < 0 ? d + ndim : d));
  if (
    dim.length !== 2 ||
    !norm.every((d) => Number.isInteger(d) && d >= 0 && d < ndim) ||
    norm[0] === norm[1]
  ) {
    throw new RangeError(
      `${what}: dim must be two distinct dims of a tensor with ${ndim} dims, got ${
        JSON.stringify(dim)
      }`,
    );
  }
  return [norm[0], norm[1]];
}

/** The orders {@link matrixNorm} accepts. */
export type MatrixNormOrder = "fro" | "nuc" | 1 | -1 | 2 | -2 | number;

/** Options of {@link matrixNorm}. */
export interface MatrixNormOptions {
  /** The two dims that hold the matrices (default `[-2, -1]`). */
  readonly dim?: readonly [number, number];
  /** Keep the two reduced dims with size 1. */
  readonly keepdim?: boolean;
}

/**
 * A matrix norm of each matrix of `A` (over `dim`, default the last two),
 * as `torch.linalg.matrix_norm`: `"fro"` (the default; √Σ a²), `"nuc"`
 * (Σ s, the singular values), `2` / `-2` (the largest / smallest singular
 * value), `1` / `-1` (the largest / smallest column sum of |a|),
 * `Infinity` / `-Infinity` (the largest / smallest row sum of |a|).
 * Derivatives: ties of the max/min share the gradient (as `max`); the
 * singular-value norms follow {@link svd} and are exact even at repeated
 * singular values for `"nuc"`.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const A = tensor([[1, -2], [3, 4]], { dtype: "float64" });
 * linalg.matrixNorm(A, 1); // 6: the column sums of |A| are 4, 6
 * linalg.matrixNorm(A, Infinity); // 7
 * ```
 */
export function matrixNorm(
  A: Tensor,
  ord: MatrixNormOrder = "fro",
  options: MatrixNormOptions = {},
): Tensor {
  return eagerOp([A, ord, options], () => {
    const what = "matrixNorm";
    checkMatrix(what, A);
    const [d0, d1] = matrixDims(what, A.ndim, options.dim ?? [-2, -1]);
    const keepdim = options.keepdim ?? false;
    const restore = (r: Tensor) =>
      keepdim ? unsqueeze(unsqueeze(r, Math.min(d0, d1)), Math.max(d0, d1)) : r;
    if (ord === "fro") return norm(A, "fro", [d0, d1], keepdim);
    if (ord === "nuc" || ord === 2 || ord === -2) {
      const s = svdvals(movedim(A, [d0, d1], [-2, -1]));
      const k = s.shape[s.ndim - 1];
      const r = ord === "nuc"
        ? sum(s, -1)
        : select(s, -1, ord === 2 ? 0 : k - 1);
      return restore(r);
    }
    if (ord === 1 || ord === -1 || ord === Infinity || ord === -Infinity) {
      // Column sums (reduce rows first) for ±1, row sums for ±inf.
      const [first, second] = Math.abs(ord) === 1 ? [d0, d1] : [d1, d0];
      const sums = sum(abs(A), first, true);
      const r = ord > 0 ? max(sums, second, true) : min(sums, second, true);
      return keepdim ? r : squeeze(r, [d0, d1]);
    }
    throw new RangeError(
      `${what}: ord must be "fro", "nuc", 1, -1, 2, -2, Infinity or -Infinity, got ${
        describe(ord)
      }`,
    );
  });
}

/** Options of {@link vectorNorm}. */
export interface VectorNormOptions {
  /** The dims to reduce (default: all, the tensor as one vector). */
  readonly dim?: number | readonly number[];
  /** Keep the reduced dims with size 1. */
  readonly keepdim?: boolean;
}

/**
 * The vector norm (Σ |x|^ord)^(1/ord) over `dim` (default: all
 * elements), as `torch.linalg.vector_norm`: `ord` any number, with `0` the
 * count of nonzeros, `Infinity` max |x|, `-Infinity` min |x|. The
 * gradient at 0 is 0 (a subgradient) for ord > 0.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const x = tensor([[3, -4], [0, 12]]);
 * linalg.vectorNorm(x); // 13
 * linalg.vectorNorm(x, 1, { dim: 1 }); // [7, 12]
 * ```
 */
export function vectorNorm(
  x: Tensor,
  ord: number = 2,
  options: VectorNormOptions = {},
): Tensor {
  return eagerOp([x, ord, options], () => {
    const what = "vectorNorm";
    checkTensor(`${what} (x)`, x);
    if (x.dtype !== "float32" && x.dtype !== "float64") {
      throw new TypeError(
        `${what}: expected a float32 or float64 tensor, got ${x.dtype}`,
      );
    }
    if (typeof ord !== "number" || Number.isNaN(ord)) {
      throw new RangeError(
        `${what}: ord must be a number (or ±Infinity), got ${describe(ord)}`,
      );
    }
    const dim = options.dim, keepdim = options.keepdim ?? false;
    if (ord >= 0 || ord === -Infinity) return norm(x, ord, dim, keepdim);
    // Negative orders: (Σ |x|^ord)^(1/ord), 0 when an element is 0.
    return pow(sum(pow(abs(x), ord), dim, keepdim), 1 / ord);
  });
}

// ------------------------------------------------------------------ matrix functions

/**
 * The integer power Aⁿ of a square matrix (or a batch), as
 * `torch.linalg.matrix_power`: repeated squaring (about 2 log₂|n|
 * products); n = 0 gives the identity, a negative n the power of
 * {@link inv}(A) (which throws for an exactly singular A).
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const A = tensor([[1, 1], [0, 1]]);
 * linalg.matrixPower(A, 5); // [[1, 5], [0, 1]]
 * linalg.matrixPower(A, -2); // [[1, -2], [0, 1]]
 * ```
 */
export function matrixPower(A: Tensor, n: number): Tensor {
  return eagerOp([A, n], () => {
    const size = checkSquare("matrixPower", A);
    if (!Number.isInteger(n)) {
      throw new RangeError(
        `matrixPower: n must be an integer, got ${describe(n)}`,
      );
    }
    if (n === 0) return expand(eye(size, { dtype: A.dtype }), A.shape);
    let base = n < 0 ? inv(A) : A;
    let k = Math.abs(n), acc: Tensor | null = null;
    for (;;) {
      if (k & 1) acc = acc === null ? base : matmul(acc, base);
      k = Math.floor(k / 2);
      if (k === 0) return acc!;
      base = matmul(base, base);
    }
  });
}

/** Padé [13/13] coefficients of exp (Higham 2005), b₀ … b₁₃. */
const PADE13 = [
  64764752532480000,
  32382376266240000,
  7771770303897600,
  1187353796428800,
  129060195264000,
  10559470521600,
  670442572800,
  33522128640,
  1323241920,
  40840800,
  960960,
  16380,
  182,
  1,
];
/** The largest 1-norm for which Padé [13/13] is accurate in float64. */
const THETA13 = 5.371920351148152;
/** Squarings done when the norm cannot be read (inside jit or vmap). */
const MAX_SQUARINGS = 24;

/**
 * The matrix exponential of a square matrix (or a batch), as
 * `torch.linalg.matrix_exp`, by scaling and squaring with the Padé
 * [13/13] approximant (Higham 2005): A is scaled by 2⁻ˢ with s chosen
 * from ‖A‖₁ for each matrix, then the approximant is squared s times.
 * Written with differentiable operations (products, one `solve`), so its
 * derivatives of every order are those of the approximant, accurate to
 * working precision. Eagerly and under grad the number of squarings is
 * read from the data; inside `jit` or `vmap` (where it cannot be read)
 * up to 24 squarings are masked per matrix, enough for ‖A‖₁ up to about
 * 9e7 (beyond that the result is NaN there rather than inaccurate).
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const R = linalg.matrixExp(tensor([[0, -1], [1, 0]], { dtype: "float64" }));
 * // [[cos 1, -sin 1], [sin 1, cos 1]]
 * ```
 */
export function matrixExp(A: Tensor): Tensor {
  return eagerOp([A], () => {
    const n = checkSquare("matrixExp", A);
    if (A.dtype !== "float32" && A.dtype !== "float64") {
      throw new TypeError(
        `matrixExp: expected a float32 or float64 tensor, got ${A.dtype}`,
      );
    }
    if (n === 0 || A.size === 0) return A;
    // s = max(0, ⌈log₂(‖A‖₁ / θ₁₃)⌉) per matrix: piecewise constant, so no
    // derivative flows through it.
    const norm1 = max(sum(abs(detach(A)), -2, true), -1, true);
    const s = relu(ceil(log2(div(norm1, THETA13))));
    let squarings = MAX_SQUARINGS, traced = true;
    try {
      squarings = Math.max(0, ...Array.from(s.data()));
      traced = false;
    } catch {
      // A traced value (jit, vmap): mask a fixed number of squarings.
    }
    const X = div(A, exp2(s));
    const I = eye(n, { dtype: A.dtype });
    const b = PADE13;
    const X2 = matmul(X, X), X4 = matmul(X2, X2), X6 = matmul(X4, X2);
    const lin = (...terms: [Tensor, number][]) =>
      terms.reduce((acc, [t, c]) => add(acc, mul(t, c)), mul(I, 0));
    const u = matmul(
      X,
      add(
        matmul(X6, lin([X6, b[13]], [X4, b[11]], [X2, b[9]])),
        lin([X6, b[7]], [X4, b[5]], [X2, b[3]], [I, b[1]]),
      ),
    );
    const v = add(
      matmul(X6, lin([X6, b[12]], [X4, b[10]], [X2, b[8]])),
      lin([X6, b[6]], [X4, b[4]], [X2, b[2]], [I, b[0]]),
    );
    let R = solve(sub(v, u), add(v, u));
    for (let k = 0; k < squarings; k++) {
      R = where(gt(s, k), matmul(R, R), R);
    }
    return traced ? where(gt(s, squarings), NaN, R) : R;
  });
}

/**
 * The cross product of 3-vectors along `dim` (default -1), as
 * `torch.linalg.cross`; the shapes broadcast (dim counts in the broadcast
 * shape), and both must have size 3 there. Linear in each operand.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "./mod.ts";
 * const z = linalg.cross(tensor([1, 0, 0]), tensor([0, 1, 0])); // [0, 0, 1]
 * ```
 */
export function cross(a: Tensor, b: Tensor, dim = -1): Tensor {
  return eagerOp([a, b, dim], () => {
    const what = "cross";
    checkTensor(`${what} (a)`, a);
    checkTensor(`${what} (b)`, b);
    const shape = broadcastShapes(`${what} shapes`, a.shape, b.shape);
    const r = shape.length;
    const d = Number.isInteger(dim) && dim < 0 ? dim + r : dim;
    if (!Number.isInteger(d) || d < 0 || d >= r) {
      throw new RangeError(
        `${what}: dim ${describe(dim)} is out of range for shapes ${
          fmtShape(a.shape)
        } and ${fmtShape(b.shape)}`,
      );
    }
    // Sizes along dim, with each shape aligned to the broadcast one.
    const along = (t: Tensor) => t.shape[d - (r - t.ndim)];
    if (along(a) !== 3 || along(b) !== 3) {
      throw new RangeError(
        `${what}: a and b must have size 3 along dim ${dim}, got ${
          fmtShape(a.shape)
        } and ${fmtShape(b.shape)}`,
      );
    }
    const [x, y] = [expand(a, shape), expand(b, shape)];
    const at = (t: Tensor, i: number) => narrow(t, d, i, 1);
    const part = (i: number, j: number) =>
      sub(mul(at(x, i), at(y, j)), mul(at(x, j), at(y, i)));
    return cat([part(1, 2), part(2, 0), part(0, 1)], d);
  });
}

/**
 * The product of a chain of matrices, as `torch.linalg.multi_dot`, in the
 * order of fewest scalar multiplications (the classic dynamic program
 * over the chain's dims). The first operand may be a vector (a row), the
 * last a vector (a column); the others are matrices.
 *
 * @example
 * ```ts
 * import { linalg, randn } from "./mod.ts";
 * const y = linalg.multiDot([randn([10, 100]), randn([100, 5]), randn([5, 50])]);
 * // computed as (A B) C: shape [10, 50]
 * ```
 */
export function multiDot(tensors: readonly Tensor[]): Tensor {
  return eagerOp([tensors], () => {
    const what = "multiDot";
    if (!Array.isArray(tensors) || tensors.length < 2) {
      throw new RangeError(`${what}: expected an array of at least 2 tensors`);
    }
    const k = tensors.length;
    const mats = tensors.map((t, i) => {
      checkTensor(`${what} (tensors[${i}])`, t);
      const end = i === 0 || i === k - 1;
      if (!(t.ndim === 2 || (end && t.ndim === 1))) {
        throw new RangeError(
          `${what}: tensors[${i}] must be ${
            end ? "1-D or 2-D" : "2-D"
          }, got shape ${fmtShape(t.shape)}`,
        );
      }
      if (t.ndim === 2) return t;
      return i === 0 ? unsqueeze(t, 0) : unsqueeze(t, 1);
    });
    for (let i = 1; i < k; i++) {
      if (mats[i - 1].shape[1] !== mats[i].shape[0]) {
        throw new RangeError(
          `${what}: tensors[${i - 1}] ${
            fmtShape(tensors[i - 1].shape)
          } and tensors[${i}] ${
            fmtShape(tensors[i].shape)
          } cannot be multiplied`,
        );
      }
    }
    // p[i] × p[i+1] is the shape of matrix i; cost[i][j] the fewest
    // multiplications for i..j and split[i][j] where to split it.
    const p = [...mats.map((t) => t.shape[0]), mats[k - 1].shape[1]];
    const cost = mats.map(() => new Array<number>(k).fill(0));
    const split = mats.map(() => new Array<number>(k).fill(0));
    for (let len = 1; len < k; len++) {
      for (let i = 0; i + len < k; i++) {
        const j = i + len;
        cost[i][j] = Infinity;
        for (let s = i; s < j; s++) {
          const c = cost[i][s] + cost[s + 1][j] + p[i] * p[s + 1] * p[j + 1];
          if (c < cost[i][j]) [cost[i][j], split[i][j]] = [c, s];
        }
      }
    }
    const chain = (i: number, j: number): Tensor =>
      i === j
        ? mats[i]
        : matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j));
    let y = chain(0, k - 1);
    if (tensors[k - 1].ndim === 1) y = squeeze(y, 1);
    if (tensors[0].ndim === 1) y = squeeze(y, 0);
    return y;
  });
}
