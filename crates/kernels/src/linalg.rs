//! Dense linear algebra over batches of row-major matrices: Cholesky,
//! triangular solve, LU with partial pivoting (solve, sign and log of the
//! absolute determinant), Jacobi eigh, Householder QR and SVD (QR, then
//! one-sided Jacobi). Matrix `b` of a batch starts at `b * stride`
//! elements (a stride of 0 broadcasts one matrix over the batch).
//!
//! Every loop runs along rows, so the inner work is a dot product or an
//! axpy over contiguous memory, in 128-bit SIMD; from moderate orders on
//! (`BLOCKED_FROM`, `QR_BLOCKED_FROM`, `CHOL_BLOCKED_FROM`), LU,
//! triangular solves, QR and Cholesky work in panels whose updates are
//! GEMMs (gemm.rs), QR and Cholesky in place through its accumulating
//! entry. Kernels that can fail on
//! the data (a non-positive pivot, a zero pivot) return where, and leave
//! the reporting to the executor (program.rs).

use crate::num::{Float, Vector};

/// `Σ a[i] b[i]`, with two vector accumulators.
#[inline(always)]
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let l = T::V::LANES;
    let mut i = 0;
    let mut s = T::ZERO;
    if n >= 2 * l {
        let (mut v0, mut v1) = (T::V::splat(T::ZERO), T::V::splat(T::ZERO));
        while i + 2 * l <= n {
            // SAFETY: i + 2l <= n, the length of both slices.
            unsafe {
                let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
                v0 = v0.add(T::V::load(pa).mul(T::V::load(pb)));
                v1 = v1.add(T::V::load(pa.add(l)).mul(T::V::load(pb.add(l))));
            }
            i += 2 * l;
        }
        let mut lanes = [T::ZERO; 4];
        // SAFETY: `lanes` holds 4 >= LANES elements.
        unsafe { v0.add(v1).store(lanes.as_mut_ptr()) };
        for &x in &lanes[..l] {
            s = s + x;
        }
    }
    while i < n {
        s = s + a[i] * b[i];
        i += 1;
    }
    s
}

/// Four dot products against one shared vector `b` (rows `r[0..4]`, each
/// at least as long as `b`): `b` is loaded once for all four.
#[inline(always)]
fn dot4<T: Float>(r: [&[T]; 4], b: &[T]) -> [T; 4] {
    let n = b.len();
    let l = T::V::LANES;
    let z = T::V::splat(T::ZERO);
    let mut acc = [z; 4];
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + l <= n <= the length of every row.
        unsafe {
            let vb = T::V::load(b.as_ptr().add(i));
            for q in 0..4 {
                acc[q] = acc[q].add(T::V::load(r[q].as_ptr().add(i)).mul(vb));
            }
        }
        i += l;
    }
    let mut out = [T::ZERO; 4];
    let mut lanes = [T::ZERO; 4];
    for q in 0..4 {
        // SAFETY: `lanes` holds 4 >= LANES elements.
        unsafe { acc[q].store(lanes.as_mut_ptr()) };
        let mut s = T::ZERO;
        for &x in &lanes[..l] {
            s = s + x;
        }
        for k in i..n {
            s = s + r[q][k] * b[k];
        }
        out[q] = s;
    }
    out
}

/// `y[i] -= alpha * x[i]`.
#[inline(always)]
fn axpy_sub<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
    let n = x.len().min(y.len());
    let l = T::V::LANES;
    let a = T::V::splat(alpha);
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + l <= n, the length of both slices.
        unsafe {
            let py = y.as_mut_ptr().add(i);
            T::V::load(py)
                .sub(a.mul(T::V::load(x.as_ptr().add(i))))
                .store(py);
        }
        i += l;
    }
    while i < n {
        y[i] = y[i] - alpha * x[i];
        i += 1;
    }
}

/// Slices over raw kernel buffers.
///
/// # Safety
/// `p` must be valid for `n` elements of `T` (for the lifetime used).
unsafe fn view<'a, T>(p: usize, n: usize) -> &'a [T] {
    core::slice::from_raw_parts(p as *const T, n)
}
unsafe fn view_mut<'a, T>(p: usize, n: usize) -> &'a mut [T] {
    core::slice::from_raw_parts_mut(p as *mut T, n)
}

/// Lower Cholesky factor of one `n × n` matrix: of its symmetric part
/// (A + Aᵀ)/2, writing all of `l` (zeros above the diagonal). Returns the
/// failing pivot: the first `j` whose leading minor of order `j + 1` is not
/// positive (or is NaN).
///
/// Row-oriented (Cholesky–Banachiewicz): entry (i, j) is a dot product of
/// the finished prefixes of rows i and j, both contiguous; four rows i at
/// a time share the loads of row j.
fn cholesky_one<T: Float>(a: &[T], l: &mut [T], n: usize) -> Option<usize> {
    let half = T::from_f64(0.5);
    for j in 0..n {
        // Row j's prefix is complete once column j is reached.
        let rj = &l[j * n..j * n + j];
        let s = a[j * n + j] - dot(rj, rj);
        if s.partial_cmp(&T::ZERO) != Some(core::cmp::Ordering::Greater) {
            return Some(j);
        }
        let d = s.sqrt();
        l[j * n + j] = d;
        for v in &mut l[j * n + j + 1..(j + 1) * n] {
            *v = T::ZERO;
        }
        let (head, tail) = l.split_at_mut((j + 1) * n);
        let rj = &head[j * n..j * n + j];
        let sym = |i: usize| (a[i * n + j] + a[j * n + i]) * half;
        let mut i = j + 1;
        while i + 4 <= n {
            let at = (i - j - 1) * n;
            let rows = &tail[at..at + 4 * n];
            let r = [
                &rows[..j],
                &rows[n..n + j],
                &rows[2 * n..2 * n + j],
                &rows[3 * n..3 * n + j],
            ];
            let dots = dot4(r, rj);
            for q in 0..4 {
                tail[at + q * n + j] = (sym(i + q) - dots[q]) / d;
            }
            i += 4;
        }
        while i < n {
            let ri = &mut tail[(i - j - 1) * n..(i - j) * n];
            ri[j] = (sym(i) - dot(&ri[..j], rj)) / d;
            i += 1;
        }
    }
    None
}

/// `C += P Lᵀ` on the lower triangle (and the diagonal blocks of up to
/// `CHOL_LEAF`, whole) of rows and columns `r0..r1` of the `n × n` `l`,
/// where P (row `r` at `(r − base) · ps`, its `jb` columns `pc` apart) is
/// the negated panel and L its rows `r0..r1` at columns `j0..j0 + jb` of
/// `l`: recursive halving, so that nearly all of it is rectangular GEMMs.
#[allow(clippy::too_many_arguments)]
fn syrk_lower<T: Float>(
    l: &mut [T],
    n: usize,
    p: (&[T], usize, usize),
    base: usize,
    j0: usize,
    jb: usize,
    r0: usize,
    r1: usize,
    pk: &mut Packs<T>,
) -> bool {
    let mid = if r1 - r0 <= CHOL_LEAF {
        r1
    } else {
        r0 + (r1 - r0) / 2
    };
    let ni = n as isize;
    let (p, ps, pc) = p;
    let lp = l.as_mut_ptr();
    // Rows mid..r1 (or r0..r1 at a leaf), columns r0..mid.
    let rows = if mid == r1 { r0 } else { mid };
    // SAFETY: the block lies in the n × n `l`, right of column j0 + jb
    // (r0 ≥ j0 + jb), so it does not overlap the operand columns.
    let ok = unsafe {
        gemm_add(
            r1 - rows,
            mid - r0,
            jb,
            (p[(rows - base) * ps..].as_ptr(), ps as isize, pc as isize),
            (lp.add(r0 * n + j0), 1, ni),
            lp.add(rows * n + r0),
            n,
            pk,
        )
    };
    ok && (mid == r1
        || (syrk_lower(l, n, (p, ps, pc), base, j0, jb, r0, mid, pk)
            && syrk_lower(l, n, (p, ps, pc), base, j0, jb, mid, r1, pk)))
}

/// Blocked right-looking [`cholesky_one`] (same results up to rounding,
/// same failing pivot): each diagonal block of `CHOL_PANEL` columns is
/// factored by the row-oriented loop of [`cholesky_one`], the panel below
/// it solved column by column on its transpose (long axpys), and its
/// outer product subtracted from the trailing lower triangle by GEMMs
/// ([`syrk_lower`]). `None` if GEMM's buffers
/// cannot be allocated.
fn cholesky_blocked<T: Float>(
    a: &[T],
    l: &mut [T],
    n: usize,
    pk: &mut Packs<T>,
) -> Option<Option<usize>> {
    let half = T::from_f64(0.5);
    for i in 0..n {
        for j in 0..=i {
            l[i * n + j] = (a[i * n + j] + a[j * n + i]) * half;
        }
    }
    let mut ct = Vec::new();
    let mut j0 = 0;
    while j0 < n {
        let j1 = (j0 + CHOL_PANEL).min(n);
        // The diagonal block, row-oriented as in `cholesky_one`.
        for j in j0..j1 {
            let rj = &l[j * n + j0..j * n + j];
            let s = l[j * n + j] - dot(rj, rj);
            if s.partial_cmp(&T::ZERO) != Some(core::cmp::Ordering::Greater) {
                return Some(Some(j));
            }
            let d = s.sqrt();
            l[j * n + j] = d;
            let (head, tail) = l.split_at_mut((j + 1) * n);
            let rj = &head[j * n + j0..j * n + j];
            for i in j + 1..j1 {
                let ri = &mut tail[(i - j - 1) * n..(i - j) * n];
                ri[j] = (ri[j] - dot(&ri[j0..j], rj)) / d;
            }
        }
        if j1 == n {
            break;
        }
        // The panel below, L21 = C21 L11⁻ᵀ, solved transposed (`ct`, jb × r)
        // so that each step is an axpy along all r rows at once.
        let (jb, r) = (j1 - j0, n - j1);
        ct.clear();
        ct.resize(jb * r, T::ZERO);
        for i in 0..r {
            for q in 0..jb {
                ct[q * r + i] = l[(j1 + i) * n + j0 + q];
            }
        }
        for q in 0..jb {
            let (done, rest) = ct.split_at_mut(q * r);
            let row = &mut rest[..r];
            let lq = &l[(j0 + q) * n + j0..(j0 + q) * n + j0 + q];
            for (p, &m) in lq.iter().enumerate() {
                axpy_sub(m, &done[p * r..(p + 1) * r], row);
            }
            let inv = T::ONE / l[(j0 + q) * n + j0 + q];
            for x in row.iter_mut() {
                *x = *x * inv;
            }
        }
        for i in 0..r {
            for q in 0..jb {
                l[(j1 + i) * n + j0 + q] = ct[q * r + i];
            }
        }
        // Negated, so that the GEMMs of the trailing update add.
        for x in ct.iter_mut() {
            *x = -*x;
        }
        if !syrk_lower(l, n, (&ct, 1, r), j1, j0, jb, j1, n, pk) {
            return None;
        }
        j0 = j1;
    }
    // Above the diagonal: zeros (the leaves also wrote some there).
    for i in 0..n {
        l[i * n + i + 1..(i + 1) * n].fill(T::ZERO);
    }
    Some(None)
}

/// Batched Cholesky: `out[b] = chol(a[b])` (see [`cholesky_one`]). Returns
/// `(batch index, pivot)` of the first matrix that is not positive definite.
///
/// # Safety
/// `a` and `out` must hold `batch * n * n` elements of `T`.
pub unsafe fn cholesky<T: Float>(
    a: usize,
    out: usize,
    batch: usize,
    n: usize,
) -> Option<(usize, usize)> {
    let nn = n * n;
    let (a, o) = (view::<T>(a, batch * nn), view_mut::<T>(out, batch * nn));
    let mut pk = Packs::new();
    for b in 0..batch {
        let (ab, ob) = (&a[b * nn..(b + 1) * nn], &mut o[b * nn..(b + 1) * nn]);
        let blocked = if n >= CHOL_BLOCKED_FROM {
            cholesky_blocked(ab, ob, n, &mut pk)
        } else {
            None
        };
        if let Some(j) = blocked.unwrap_or_else(|| cholesky_one(ab, ob, n)) {
            return Some((b, j));
        }
    }
    None
}

/// Solves `A X = B` in place in `x` (`n × k`, holding B) for triangular `A`
/// (`n × n`; only its `upper` or lower triangle is read, and with `unit`
/// not its diagonal either, taken as ones). A zero diagonal gives inf/NaN,
/// as LAPACK's trsm. Large systems go by blocks of rows, the coupling to
/// the rows already solved as one GEMM per block.
fn trsm_one<T: Float>(a: &[T], x: &mut [T], n: usize, k: usize, upper: bool, unit: bool) {
    if n < BLOCKED_FROM || k < TRSM_MIN_RHS {
        trsm_block(a, x, n, k, upper, unit, 0, n);
        return;
    }
    let blocks: Vec<(usize, usize)> = (0..n)
        .step_by(TRSM_BLOCK)
        .map(|lo| (lo, (lo + TRSM_BLOCK).min(n)))
        .collect();
    let (mut ablock, mut prod) = (Vec::new(), Vec::new());
    for i in 0..blocks.len() {
        let (lo, hi) = blocks[if upper { blocks.len() - 1 - i } else { i }];
        // The rows solved already: above the block (lower) or below it.
        let (c0, c1) = if upper { (hi, n) } else { (0, lo) };
        if c1 > c0 {
            let (rows, cols) = (hi - lo, c1 - c0);
            ablock.clear();
            for r in lo..hi {
                ablock.extend_from_slice(&a[r * n + c0..r * n + c1]);
            }
            prod.clear();
            prod.resize(rows * k, T::ZERO);
            let done = &x[c0 * k..c1 * k];
            if !gemm(&ablock, done, &mut prod, rows, k, cols) {
                prod.fill(T::ZERO);
                for r in 0..rows {
                    for c in 0..cols {
                        let m = -ablock[r * cols + c];
                        axpy_sub(m, &done[c * k..(c + 1) * k], &mut prod[r * k..(r + 1) * k]);
                    }
                }
            }
            for (v, &p) in x[lo * k..hi * k].iter_mut().zip(&prod) {
                *v = *v - p;
            }
        }
        trsm_block(a, x, n, k, upper, unit, lo, hi);
    }
}

/// Rows `lo..hi` of [`trsm_one`]'s solve, with only the columns `lo..hi`
/// of A (the rest of each row's sum is already subtracted).
#[allow(clippy::too_many_arguments)]
fn trsm_block<T: Float>(
    a: &[T],
    x: &mut [T],
    n: usize,
    k: usize,
    upper: bool,
    unit: bool,
    lo: usize,
    hi: usize,
) {
    let solve_row = |i: usize, x: &mut [T]| {
        let (before, rest) = x.split_at_mut(i * k);
        let (xi, after) = rest.split_at_mut(k);
        let js: &mut dyn Iterator<Item = usize> = if upper {
            &mut (i + 1..hi)
        } else {
            &mut (lo..i)
        };
        for j in js {
            let aij = a[i * n + j];
            if aij != T::ZERO {
                let xj = if j < i {
                    &before[j * k..(j + 1) * k]
                } else {
                    &after[(j - i - 1) * k..(j - i) * k]
                };
                axpy_sub(aij, xj, xi);
            }
        }
        if !unit {
            let d = a[i * n + i];
            for v in xi.iter_mut() {
                *v = *v / d;
            }
        }
    };
    if upper {
        for i in (lo..hi).rev() {
            solve_row(i, x);
        }
    } else {
        for i in lo..hi {
            solve_row(i, x);
        }
    }
}

/// Batched triangular solve: `out[b] = A[b]⁻¹ B[b]` with A `n × n` at
/// stride `sa`, B `n × k` at stride `sb` (0 broadcasts).
///
/// # Safety
/// Buffers must hold what the strides and sizes imply; `out` holds
/// `batch * n * k` elements.
pub unsafe fn triangular_solve<T: Float>(
    a: usize,
    b: usize,
    out: usize,
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    unit: bool,
    sa: usize,
    sb: usize,
) {
    let nk = n * k;
    let o = view_mut::<T>(out, batch * nk);
    for bi in 0..batch {
        let am = view::<T>(a + bi * sa * core::mem::size_of::<T>(), n * n);
        let bm = view::<T>(b + bi * sb * core::mem::size_of::<T>(), nk);
        let x = &mut o[bi * nk..(bi + 1) * nk];
        x.copy_from_slice(bm);
        trsm_one(am, x, n, k, upper, unit);
    }
}

/// In-place LU with partial pivoting of `lu` (`n × n`): unit lower L below
/// the diagonal, U on and above it; each row swap is also applied to `rhs`
/// (rows of length `k`). Returns the number of swaps and the first zero
/// pivot, if any (elimination continues past it, skipping that column).
fn lu_in_place<T: Float>(
    lu: &mut [T],
    n: usize,
    rhs: &mut [T],
    k: usize,
) -> (usize, Option<usize>) {
    if n >= BLOCKED_FROM {
        return lu_blocked(lu, n, rhs, k);
    }
    let mut swaps = 0;
    let mut zero = None;
    for j in 0..n {
        let mut p = j;
        let mut best = lu[j * n + j].abs();
        for i in j + 1..n {
            let v = lu[i * n + j].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        if p != j {
            swaps += 1;
            for c in 0..n {
                lu.swap(j * n + c, p * n + c);
            }
            for c in 0..k {
                rhs.swap(j * k + c, p * k + c);
            }
        }
        let d = lu[j * n + j];
        if best.partial_cmp(&T::ZERO) != Some(core::cmp::Ordering::Greater) {
            // NaN or an exactly zero column below the diagonal.
            zero.get_or_insert(j);
            continue;
        }
        let (head, tail) = lu.split_at_mut((j + 1) * n);
        let rj = &head[j * n + j + 1..(j + 1) * n];
        for i in j + 1..n {
            let ri = &mut tail[(i - j - 1) * n..(i - j) * n];
            let m = ri[j] / d;
            ri[j] = m;
            if m != T::ZERO {
                axpy_sub(m, rj, &mut ri[j + 1..]);
            }
        }
    }
    (swaps, zero)
}

/// Order from which [`lu_in_place`] and [`trsm_one`] work in blocks (below
/// it the updates are too small for GEMM to pay).
const BLOCKED_FROM: usize = 160;
/// Row block of the blocked triangular solve, and the fewest right-hand
/// sides for which it is used.
const TRSM_BLOCK: usize = 64;
const TRSM_MIN_RHS: usize = 8;
/// Panel width of the blocked Householder QR, the order from which it is
/// used, and the width below which its panels are factored column by
/// column.
const QR_PANEL: usize = 32;
const QR_BLOCKED_FROM: usize = 64;
const QR_LEAF: usize = 8;
/// Column block of the blocked Cholesky, the order of the diagonal blocks
/// its trailing update computes whole, and the order from which it is
/// used.
const CHOL_PANEL: usize = 32;
const CHOL_LEAF: usize = 32;
const CHOL_BLOCKED_FROM: usize = 256;
/// Panel width of the blocked LU.
const LU_PANEL: usize = 32;

/// `c = a b` for contiguous row-major `a` (`m × k`), `b` (`k × n`) through
/// the packed GEMM of gemm.rs. False when its buffers cannot be allocated.
fn gemm<T: Float>(a: &[T], b: &[T], c: &mut [T], m: usize, n: usize, k: usize) -> bool {
    gemm_t(a, b, c, m, n, k, false)
}

/// [`gemm`] with `b` given transposed (`n × k`) when `trans_b`.
fn gemm_t<T: Float>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    m: usize,
    n: usize,
    k: usize,
    trans_b: bool,
) -> bool {
    let (pa, pb, pc) = (
        a.as_ptr() as usize,
        b.as_ptr() as usize,
        c.as_mut_ptr() as usize,
    );
    let status = if core::mem::size_of::<T>() == 8 {
        crate::gemm::matmul_f64(pa, pb, pc, 1, m, n, k, false, trans_b, 0, 0)
    } else {
        crate::gemm::matmul_f32(pa, pb, pc, 1, m, n, k, false, trans_b, 0, 0)
    };
    status == 0
}

/// A strided matrix operand: pointer, row stride, column stride (elements).
type Mat<T> = (*const T, isize, isize);

/// Packing buffers of gemm.rs's GEMM, reused across a factorization.
struct Packs<T> {
    a: Vec<T>,
    b: Vec<T>,
}

impl<T> Packs<T> {
    fn new() -> Self {
        Packs {
            a: Vec::new(),
            b: Vec::new(),
        }
    }
}

/// `C += A B` in place (C `m × n` at row stride `ldc`, A `m × k`, B
/// `k × n` strided) through the packed GEMM. False when its buffers cannot
/// be allocated.
///
/// # Safety
/// The operands must be valid for their shapes and strides, and C must not
/// overlap A or B.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_add<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<T>,
    b: Mat<T>,
    c: *mut T,
    ldc: usize,
    pk: &mut Packs<T>,
) -> bool {
    use crate::gemm::Gemm;
    // T is f32 or f64 (the only Floats); the casts are identities.
    if core::mem::size_of::<T>() == 8 {
        let f = |x: Mat<T>| (x.0 as *const f64, x.1, x.2);
        f64::gemm_acc(
            m,
            n,
            k,
            f(a),
            f(b),
            c as *mut f64,
            ldc,
            &mut *(&mut pk.a as *mut Vec<T> as *mut Vec<f64>),
            &mut *(&mut pk.b as *mut Vec<T> as *mut Vec<f64>),
        )
    } else {
        let f = |x: Mat<T>| (x.0 as *const f32, x.1, x.2);
        f32::gemm_acc(
            m,
            n,
            k,
            f(a),
            f(b),
            c as *mut f32,
            ldc,
            &mut *(&mut pk.a as *mut Vec<T> as *mut Vec<f32>),
            &mut *(&mut pk.b as *mut Vec<T> as *mut Vec<f32>),
        )
    }
}

/// Scratch of the blocked QR: the packing buffers, the triangular factor
/// `t` and the two `rows × p` products of [`apply_block_reflector`].
struct QrWork<T> {
    pk: Packs<T>,
    t: Vec<T>,
    y: Vec<T>,
    z: Vec<T>,
}

/// T of the compact WY form I − V T Vᵀ = H₍k0₎ ⋯ H₍k1−1₎ of the unit
/// reflectors in rows `k0..k1` of `vs` (LAPACK's forward form, T upper
/// triangular with T_ii = 2 for `I − 2vvᵀ`) into `t` (`p × p`), negated:
/// the Gram matrix VᵀV is one GEMM, then T[..i, i] = −2 T[..i, ..i]
/// (VᵀV)[..i, i] column by column.
fn block_t<T: Float>(vs: &[T], k0: usize, k1: usize, m: usize, ws: &mut QrWork<T>) -> bool {
    let (p, w) = (k1 - k0, m - k0);
    let two = T::from_f64(2.0);
    let mut g = core::mem::take(&mut ws.y);
    g.clear();
    g.resize(p * p, T::ZERO);
    let v = vs[k0 * m + k0..].as_ptr();
    // SAFETY: rows k0..k1 of `vs` hold w entries from column k0.
    let ok = unsafe {
        gemm_add(
            p,
            p,
            w,
            (v, m as isize, 1),
            (v, 1, m as isize),
            g.as_mut_ptr(),
            p,
            &mut ws.pk,
        )
    };
    let t = &mut ws.t;
    t.clear();
    t.resize(p * p, T::ZERO);
    if ok {
        for i in 0..p {
            for row in 0..i {
                let mut acc = T::ZERO;
                for j in row..i {
                    acc = acc + t[row * p + j] * g[j * p + i];
                }
                t[row * p + i] = -two * acc;
            }
            t[i * p + i] = two;
        }
        // Stored negated: the update adds (−Y T) Vᵀ.
        for x in t.iter_mut() {
            *x = -*x;
        }
    }
    ws.y = g;
    ok
}

/// Applies the product of the Householder reflections `I − 2vvᵀ` in rows
/// `k0..k1` of `vs` (unit vectors, zero before their own index) at once
/// to rows `lo..hi` of `x` (each of length `m`, seen from entry `k0`),
/// with `ws.t` the negated T of [`block_t`]: each row r becomes
/// r − r V T Vᵀ, which applies H₍k1−1₎ ⋯ H₍k0₎ to it as a column, or, with
/// `transposed`, r − r V Tᵀ Vᵀ (H₍k0₎ ⋯ H₍k1−1₎). Three in-place GEMMs,
/// Y = X V, Z = −Y T, X += Z Vᵀ, on the strided rows of `x` and `vs`
/// (no copies). False if GEMM's buffers cannot be allocated.
#[allow(clippy::too_many_arguments)]
fn apply_block_reflector<T: Float>(
    x: &mut [T],
    lo: usize,
    hi: usize,
    vs: &[T],
    k0: usize,
    k1: usize,
    m: usize,
    transposed: bool,
    ws: &mut QrWork<T>,
) -> bool {
    let (w, p, r) = (m - k0, k1 - k0, hi - lo);
    if r == 0 || p == 0 {
        return true;
    }
    ws.y.clear();
    ws.y.resize(r * p, T::ZERO);
    ws.z.clear();
    ws.z.resize(r * p, T::ZERO);
    let v = vs[k0 * m + k0..].as_ptr();
    let xb = x[lo * m + k0..].as_mut_ptr();
    let (mi, pi) = (m as isize, p as isize);
    let t = if transposed {
        (ws.t.as_ptr(), 1, pi)
    } else {
        (ws.t.as_ptr(), pi, 1)
    };
    // SAFETY: rows lo..hi of `x` and k0..k1 of `vs` hold w entries from
    // column k0; y, z are r × p and t p × p; `x` and `vs` are distinct.
    unsafe {
        gemm_add(
            r,
            p,
            w,
            (xb, mi, 1),
            (v, 1, mi),
            ws.y.as_mut_ptr(),
            p,
            &mut ws.pk,
        ) && gemm_add(
            r,
            p,
            p,
            (ws.y.as_ptr(), pi, 1),
            t,
            ws.z.as_mut_ptr(),
            p,
            &mut ws.pk,
        ) && gemm_add(
            r,
            w,
            p,
            (ws.z.as_ptr(), pi, 1),
            (v, mi, 1),
            xb,
            m,
            &mut ws.pk,
        )
    }
}

/// Right-looking blocked LU with partial pivoting (the same pivots and
/// results as the unblocked loop, up to rounding): each panel of
/// `LU_PANEL` columns is factored with row swaps applied to whole rows,
/// the block row to its right is solved with the panel's unit L, and the
/// trailing matrix gets one GEMM update, where most of the n³ work runs at
/// GEMM speed. Falls back to the unblocked updates if GEMM's buffers
/// cannot be allocated.
fn lu_blocked<T: Float>(lu: &mut [T], n: usize, rhs: &mut [T], k: usize) -> (usize, Option<usize>) {
    let mut swaps = 0;
    let mut zero = None;
    let (mut l21, mut u12, mut prod) = (Vec::new(), Vec::new(), Vec::new());
    let mut j0 = 0;
    while j0 < n {
        let jb = LU_PANEL.min(n - j0);
        let end = j0 + jb;
        // The panel: columns j0..end, every row below j0.
        for j in j0..end {
            let mut p = j;
            let mut best = lu[j * n + j].abs();
            for i in j + 1..n {
                let v = lu[i * n + j].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            if p != j {
                swaps += 1;
                let (rj, rp) = two_rows(lu, n, j, p);
                rj.swap_with_slice(rp);
                for c in 0..k {
                    rhs.swap(j * k + c, p * k + c);
                }
            }
            let d = lu[j * n + j];
            if best.partial_cmp(&T::ZERO) != Some(core::cmp::Ordering::Greater) {
                zero.get_or_insert(j);
                continue;
            }
            let (head, tail) = lu.split_at_mut((j + 1) * n);
            let rj = &head[j * n + j + 1..j * n + end];
            for i in j + 1..n {
                let ri = &mut tail[(i - j - 1) * n..(i - j) * n];
                let m = ri[j] / d;
                ri[j] = m;
                if m != T::ZERO {
                    axpy_sub(m, rj, &mut ri[j + 1..end]);
                }
            }
        }
        if end == n {
            break;
        }
        // U12 = L11⁻¹ A12 (unit lower, row by row).
        for r in j0 + 1..end {
            let (head, tail) = lu.split_at_mut(r * n);
            for q in j0..r {
                let m = tail[q];
                if m != T::ZERO {
                    axpy_sub(m, &head[q * n + end..(q + 1) * n], &mut tail[end..n]);
                }
            }
        }
        // A22 −= L21 U12 through GEMM.
        let (mr, nr) = (n - end, n - end);
        l21.clear();
        u12.clear();
        for i in end..n {
            l21.extend_from_slice(&lu[i * n + j0..i * n + end]);
        }
        for r in j0..end {
            u12.extend_from_slice(&lu[r * n + end..(r + 1) * n]);
        }
        prod.resize(mr * nr, T::ZERO);
        if gemm(&l21, &u12, &mut prod, mr, nr, jb) {
            for i in 0..mr {
                let row = &mut lu[(end + i) * n + end..(end + i + 1) * n];
                let p = &prod[i * nr..(i + 1) * nr];
                for (x, &y) in row.iter_mut().zip(p) {
                    *x = *x - y;
                }
            }
        } else {
            for i in 0..mr {
                for q in 0..jb {
                    let m = l21[i * jb + q];
                    let row = &mut lu[(end + i) * n + end..(end + i + 1) * n];
                    axpy_sub(m, &u12[q * nr..(q + 1) * nr], row);
                }
            }
        }
        j0 = end;
    }
    (swaps, zero)
}

/// Batched general solve `out[b] = A[b]⁻¹ B[b]` by LU with partial
/// pivoting (A `n × n` at stride `sa`, B `n × k` at stride `sb`). Returns
/// `(batch index, pivot)` of the first singular matrix.
///
/// # Safety
/// As [`triangular_solve`].
pub unsafe fn solve<T: Float>(
    a: usize,
    b: usize,
    out: usize,
    batch: usize,
    n: usize,
    k: usize,
    sa: usize,
    sb: usize,
) -> Option<(usize, usize)> {
    let nk = n * k;
    let o = view_mut::<T>(out, batch * nk);
    let mut lu = vec![T::ZERO; n * n];
    for bi in 0..batch {
        lu.copy_from_slice(view::<T>(a + bi * sa * core::mem::size_of::<T>(), n * n));
        let x = &mut o[bi * nk..(bi + 1) * nk];
        x.copy_from_slice(view::<T>(b + bi * sb * core::mem::size_of::<T>(), nk));
        if let (_, Some(j)) = lu_in_place(&mut lu, n, x, k) {
            return Some((bi, j));
        }
        trsm_one(&lu, x, n, k, false, true);
        trsm_one(&lu, x, n, k, true, false);
    }
    None
}

/// Batched LU factorization with partial pivoting: `out[b]` is
/// `(n + 1) × n`, row 0 the row permutation `perm` (as values: row i of
/// P A is row `perm[i]` of A), rows 1..=n the packed factors of P A = L U
/// (unit L strictly below the diagonal, U on and above it). A singular
/// matrix factors too, with a zero on U's diagonal (as LAPACK's getrf).
///
/// # Safety
/// `a` holds `batch * n * n` elements, `out` `batch * (n + 1) * n`.
pub unsafe fn lu<T: Float>(a: usize, out: usize, batch: usize, n: usize) {
    let nn = n * n;
    let (a, o) = (
        view::<T>(a, batch * nn),
        view_mut::<T>(out, batch * (nn + n)),
    );
    for b in 0..batch {
        let (perm, lu) = o[b * (nn + n)..(b + 1) * (nn + n)].split_at_mut(n);
        for (i, p) in perm.iter_mut().enumerate() {
            *p = T::from_f64(i as f64);
        }
        lu.copy_from_slice(&a[b * nn..(b + 1) * nn]);
        // The permutation rides along as a right-hand side of width 1.
        lu_in_place(lu, n, perm, 1);
    }
}

/// Batched sign and log of the absolute determinant: `out[b] = [sign,
/// log|det|]` of `a[b]` (`[0, -inf]` for a singular matrix).
///
/// # Safety
/// `a` holds `batch * n * n` elements, `out` `batch * 2`.
pub unsafe fn slogdet<T: Float>(a: usize, out: usize, batch: usize, n: usize) {
    let nn = n * n;
    let (a, o) = (view::<T>(a, batch * nn), view_mut::<T>(out, batch * 2));
    let mut lu = vec![T::ZERO; nn];
    for b in 0..batch {
        lu.copy_from_slice(&a[b * nn..(b + 1) * nn]);
        let (swaps, zero) = lu_in_place(&mut lu, n, &mut [], 0);
        let (mut sign, mut logabs) = (if swaps % 2 == 0 { T::ONE } else { -T::ONE }, T::ZERO);
        if zero.is_some() {
            (sign, logabs) = (T::ZERO, T::NEG_INFINITY);
        } else {
            for j in 0..n {
                let d = lu[j * n + j];
                if d < T::ZERO {
                    sign = -sign;
                }
                logabs = logabs + d.abs().ln();
            }
        }
        o[2 * b] = sign;
        o[2 * b + 1] = logabs;
    }
}

/// Eigen-decomposition of the symmetric part of one `n × n` matrix by
/// cyclic Jacobi rotations (accurate to working precision in the relative
/// sense that Jacobi gives; O(n³) per sweep). `w` is `n × n` scratch, `v`
/// receives the eigenvectors as rows; returns the eigenvalues, unsorted.
fn jacobi_eigh<T: Float>(a: &[T], w: &mut [T], v: &mut [T], n: usize) -> Vec<T> {
    let half = T::from_f64(0.5);
    for i in 0..n {
        for j in 0..n {
            w[i * n + j] = (a[i * n + j] + a[j * n + i]) * half;
            v[i * n + j] = if i == j { T::ONE } else { T::ZERO };
        }
    }
    let eps = T::from_f64(if core::mem::size_of::<T>() == 8 {
        1.1e-16
    } else {
        6e-8
    });
    for _sweep in 0..60 {
        let (mut off, mut total) = (T::ZERO, T::ZERO);
        for i in 0..n {
            for j in 0..n {
                let x = w[i * n + j] * w[i * n + j];
                total = total + x;
                if i != j {
                    off = off + x;
                }
            }
        }
        if off <= eps * eps * total || off == T::ZERO || off.is_nan() {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = w[p * n + q];
                if apq == T::ZERO {
                    continue;
                }
                // The rotation that zeroes (p, q): t = tan of its angle, the
                // smaller root of t² + 2θt − 1 = 0.
                let theta = (w[q * n + q] - w[p * n + p]) / (apq + apq);
                let root = (theta * theta + T::ONE).sqrt();
                let t = if theta >= T::ZERO {
                    T::ONE / (theta + root)
                } else {
                    -T::ONE / (-theta + root)
                };
                let c = T::ONE / (t * t + T::ONE).sqrt();
                let s = t * c;
                // W ← Jᵀ W J and V ← V J with J = [[c, s], [−s, c]] on (p, q).
                // W stays exactly symmetric, so the update of columns p, q
                // is the transpose of that of rows p, q: rotate the two
                // (contiguous) rows, copy them into the columns, and finish
                // the 2×2 block. V is kept transposed: its columns are rows.
                let (wp, wq) = two_rows(w, n, p, q);
                rotate(c, s, wp, wq);
                let (pp, pq) = (wp[p], wp[q]);
                let (qp, qq) = (wq[p], wq[q]);
                wp[p] = c * pp - s * pq;
                wq[q] = s * qp + c * qq;
                wp[q] = T::ZERO;
                wq[p] = T::ZERO;
                for k in 0..n {
                    if k != p && k != q {
                        w[k * n + p] = w[p * n + k];
                        w[k * n + q] = w[q * n + k];
                    }
                }
                let (vp, vq) = two_rows(v, n, p, q);
                rotate(c, s, vp, vq);
            }
        }
    }
    (0..n).map(|i| w[i * n + i]).collect()
}

/// Below this order eigh uses Jacobi (accurate and quick for small
/// matrices); from it, tridiagonal reduction and implicit QR, O(n³) with a
/// small constant instead of Jacobi's several sweeps of O(n³) each.
const EIGH_TRIDIAGONAL_FROM: usize = 32;

/// Eigen-decomposition of the symmetric part of one `n × n` matrix by
/// Householder reduction to tridiagonal form and implicit symmetric QR steps
/// with Wilkinson shifts. `w` is `n × n` scratch, `v` receives the
/// eigenvectors as rows; returns the eigenvalues, unsorted.
///
/// A = Q T Qᵀ with Q = H₀ H₁ ⋯ H_{n−2}; each QR step replaces T by R T Rᵀ
/// for plane rotations R, applied to the rows of V (= Qᵀ at the start) so
/// that A = Vᵀ T V holds throughout and T ends diagonal.
fn tridiagonal_eigh<T: Float>(a: &[T], w: &mut [T], v: &mut [T], n: usize) -> Vec<T> {
    let half = T::from_f64(0.5);
    for i in 0..n {
        for j in 0..n {
            w[i * n + j] = (a[i * n + j] + a[j * n + i]) * half;
        }
    }
    let mut d = vec![T::ZERO; n];
    let mut e = vec![T::ZERO; n];
    // Reflector k acts on indices k+1..n: v_k (v_k[0] = 1) at
    // refl[k * n + k + 1..], with coefficient tau[k].
    let mut refl = vec![T::ZERO; n * n];
    let mut tau = vec![T::ZERO; n];
    let (mut p, mut wv) = (vec![T::ZERO; n], vec![T::ZERO; n]);
    for k in 0..n.saturating_sub(1) {
        let m = n - k - 1;
        d[k] = w[k * n + k];
        // x = column k below the diagonal = row k right of it (symmetry).
        let x0 = w[k * n + k + 1];
        let tail = &w[k * n + k + 2..(k + 1) * n];
        let sigma = dot(tail, tail);
        if sigma == T::ZERO {
            e[k] = x0;
            continue;
        }
        // H x = ‖x‖ e₁ with H = I − τ v vᵀ, v[0] = 1 (the cancellation-free
        // choice of v[0] when x0 > 0).
        let mu = (x0 * x0 + sigma).sqrt();
        let beta = if x0 <= T::ZERO {
            x0 - mu
        } else {
            -sigma / (x0 + mu)
        };
        let t = (beta * beta + beta * beta) / (sigma + beta * beta);
        tau[k] = t;
        e[k] = mu;
        let vk = &mut refl[k * n + k + 1..(k + 1) * n];
        vk[0] = T::ONE;
        for (j, x) in tail.iter().enumerate() {
            vk[j + 1] = *x / beta;
        }
        let vk = &refl[k * n + k + 1..(k + 1) * n];
        // A₂₂ ← H A₂₂ H = A₂₂ − v wᵀ − w vᵀ, p = τ A₂₂ v,
        // w = p − (τ pᵀv / 2) v.
        let base = (k + 1) * n + k + 1;
        for i in 0..m {
            p[i] = t * dot(&w[base + i * n..base + i * n + m], vk);
        }
        let kk = t * dot(&p[..m], vk) * half;
        for i in 0..m {
            wv[i] = p[i] - kk * vk[i];
        }
        for i in 0..m {
            let row = &mut w[base + i * n..base + i * n + m];
            axpy_sub(vk[i], &wv[..m], row);
            axpy_sub(wv[i], vk, row);
        }
    }
    if n > 0 {
        d[n - 1] = w[(n - 1) * n + n - 1];
    }
    // Q = H₀ (H₁ (⋯ H_{n−2})), built backwards so each product touches
    // only the trailing block where it differs from the identity; then
    // V = Qᵀ. `w` is free now and holds Q.
    for i in 0..n {
        for j in 0..n {
            w[i * n + j] = if i == j { T::ONE } else { T::ZERO };
        }
    }
    let mut u = vec![T::ZERO; n];
    for k in (0..n.saturating_sub(1)).rev() {
        let t = tau[k];
        if t == T::ZERO {
            continue;
        }
        let (lo, m) = (k + 1, n - k - 1);
        let vk = &refl[k * n + lo..(k + 1) * n];
        // u = vᵀ Q[lo.., lo..], then Q[lo.., lo..] −= τ v u.
        u[..m].iter_mut().for_each(|x| *x = T::ZERO);
        for i in 0..m {
            axpy_sub(-vk[i], &w[(lo + i) * n + lo..(lo + i + 1) * n], &mut u[..m]);
        }
        for i in 0..m {
            axpy_sub(
                t * vk[i],
                &u[..m],
                &mut w[(lo + i) * n + lo..(lo + i + 1) * n],
            );
        }
    }
    for i in 0..n {
        for j in 0..n {
            v[i * n + j] = w[j * n + i];
        }
    }
    tridiagonal_qr(&mut d, &mut e, v, n);
    d
}

/// Implicit symmetric QR with Wilkinson shifts on the tridiagonal matrix
/// with diagonal `d` and off-diagonal `e` (`e[i]` couples i and i + 1),
/// applying every rotation to the rows of `v` (`n × n`). Ends with the
/// eigenvalues in `d`.
fn tridiagonal_qr<T: Float>(d: &mut [T], e: &mut [T], v: &mut [T], n: usize) {
    if n < 2 {
        return;
    }
    let eps = T::from_f64(if core::mem::size_of::<T>() == 8 {
        1.1e-16
    } else {
        6e-8
    });
    let mut budget = 60 * n;
    let mut hi = n - 1;
    while hi > 0 {
        // Deflate negligible couplings, then find the last unreduced block.
        for i in 0..hi {
            if e[i].abs() <= eps * (d[i].abs() + d[i + 1].abs()) || e[i].is_nan() {
                e[i] = T::ZERO;
            }
        }
        while hi > 0 && e[hi - 1] == T::ZERO {
            hi -= 1;
        }
        if hi == 0 || budget == 0 {
            break;
        }
        budget -= 1;
        let mut lo = hi - 1;
        while lo > 0 && e[lo - 1] != T::ZERO {
            lo -= 1;
        }
        // Wilkinson shift: the eigenvalue of the trailing 2 × 2 block
        // nearer its last diagonal entry.
        let f = e[hi - 1];
        let dd = (d[hi - 1] - d[hi]) * T::from_f64(0.5);
        let r = (dd * dd + f * f).sqrt();
        let mu = d[hi] - f * f / (dd + if dd >= T::ZERO { r } else { -r });
        let (mut x, mut z) = (d[lo] - mu, e[lo]);
        for k in lo..hi {
            let r = (x * x + z * z).sqrt();
            let (c, s) = if r == T::ZERO {
                (T::ONE, T::ZERO)
            } else {
                (x / r, z / r)
            };
            if k > lo {
                e[k - 1] = r;
            }
            // T ← R T Rᵀ on the plane (k, k + 1), R = [[c, s], [−s, c]].
            let (a, b, g) = (d[k], e[k], d[k + 1]);
            let (cc, ss, cs) = (c * c, s * s, c * s);
            d[k] = cc * a + (cs + cs) * b + ss * g;
            d[k + 1] = ss * a - (cs + cs) * b + cc * g;
            e[k] = cs * (g - a) + (cc - ss) * b;
            if k + 1 < hi {
                // The bulge at (k, k + 2) that the next rotation chases.
                let h = e[k + 1];
                z = s * h;
                e[k + 1] = c * h;
                x = e[k];
            }
            let (vk, vk1) = two_rows(v, n, k, k + 1);
            rotate(c, -s, vk, vk1);
        }
    }
}

/// Batched symmetric eigen-decomposition of (A + Aᵀ)/2: `out[b]` is
/// `(n + 1) × n`, row 0 the eigenvalues in ascending order, rows 1..=n the
/// matrix whose columns are the matching unit eigenvectors, each signed so
/// that its entry of largest magnitude (the first among equals) is positive.
///
/// # Safety
/// `a` holds `batch * n * n` elements, `out` `batch * (n + 1) * n`.
pub unsafe fn eigh<T: Float>(a: usize, out: usize, batch: usize, n: usize) {
    let nn = n * n;
    let (a, o) = (
        view::<T>(a, batch * nn),
        view_mut::<T>(out, batch * (nn + n)),
    );
    let (mut w, mut v) = (vec![T::ZERO; nn], vec![T::ZERO; nn]);
    for b in 0..batch {
        let ab = &a[b * nn..(b + 1) * nn];
        let lam = if n >= EIGH_TRIDIAGONAL_FROM {
            tridiagonal_eigh(ab, &mut w, &mut v, n)
        } else {
            jacobi_eigh(ab, &mut w, &mut v, n)
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| {
            lam[i]
                .partial_cmp(&lam[j])
                .unwrap_or(core::cmp::Ordering::Equal)
        });
        let ob = &mut o[b * (nn + n)..(b + 1) * (nn + n)];
        for (col, &src) in order.iter().enumerate() {
            ob[col] = lam[src];
            // Row src of v is the eigenvector (v holds V transposed).
            let vec = &v[src * n..(src + 1) * n];
            let mut big = 0;
            for k in 1..n {
                if vec[k].abs() > vec[big].abs() {
                    big = k;
                }
            }
            let flip = vec[big] < T::ZERO;
            for k in 0..n {
                let x = vec[k];
                ob[(k + 1) * n + col] = if flip { -x } else { x };
            }
        }
    }
}

/// Reduced QR of one `m × n` matrix (m ≥ n) by Householder reflections:
/// writes `out` as `(m + n) × n`, rows 0..m the orthonormal Q and rows
/// m..m+n the upper triangular R, signed so that R's diagonal is ≥ 0 (the
/// unique factorization when A has full rank). It works on Aᵀ (`wt`,
/// `n × m`), so that every column operation of the algorithm is a dot
/// product or an axpy along a contiguous row; `vs` (`n × m`) holds the
/// reflectors and `qt` (`n × m`) builds Qᵀ.
fn qr_one<T: Float>(
    a: &[T],
    wt: &mut [T],
    vs: &mut [T],
    qt: &mut [T],
    out: &mut [T],
    m: usize,
    n: usize,
) {
    let load = |wt: &mut [T]| transpose_tiled(a, n, wt, m, m, n);
    load(wt);
    let blocked = n >= QR_BLOCKED_FROM && {
        let ok = qr_blocked(wt, vs, qt, m, n);
        if !ok {
            load(wt); // out of memory midway: again from A
        }
        ok
    };
    if !blocked {
        qr_unblocked(wt, vs, qt, m, n);
    }
    let (q, r) = out.split_at_mut(m * n);
    let flip: Vec<bool> = (0..n).map(|i| wt[i * m + i] < T::ZERO).collect();
    transpose_tiled(qt, m, q, n, n, m);
    for row in q.chunks_exact_mut(n) {
        for (x, &f) in row.iter_mut().zip(&flip) {
            if f {
                *x = -*x;
            }
        }
    }
    transpose_tiled(wt, m, r, n, n, n);
    for (i, row) in r.chunks_exact_mut(n).enumerate() {
        row[..i].fill(T::ZERO);
        if flip[i] {
            for x in &mut row[i..] {
                *x = -*x;
            }
        }
    }
}

/// `dst[j·ds + i] = src[i·ss + j]` for `i < rows`, `j < cols`, in square
/// tiles (a plain loop strides through memory at a power-of-two pitch
/// for the common sizes, where the cache maps every access to few sets).
fn transpose_tiled<T: Copy>(
    src: &[T],
    ss: usize,
    dst: &mut [T],
    ds: usize,
    rows: usize,
    cols: usize,
) {
    const TILE: usize = 16;
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (0..cols).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for j in j0..(j0 + TILE).min(cols) {
                    dst[j * ds + i] = src[i * ss + j];
                }
            }
        }
    }
}

/// Sets rows 0..n of `qt` (`n × m`) to the first n rows of the identity.
fn eye_rows<T: Float>(qt: &mut [T], m: usize, n: usize) {
    for j in 0..n {
        let row = &mut qt[j * m..(j + 1) * m];
        row.fill(T::ZERO);
        row[j] = T::ONE;
    }
}

/// One reflector (row k of `vs`) applied to rows `lo..hi` of `x` (from
/// entry k).
fn reflect<T: Float>(x: &mut [T], vs: &[T], k: usize, lo: usize, hi: usize, m: usize) {
    let two = T::from_f64(2.0);
    let v = &vs[k * m + k..(k + 1) * m];
    for j in lo..hi {
        let row = &mut x[j * m + k..(j + 1) * m];
        let d = dot(v, row);
        axpy_sub(d * two, v, row);
    }
}

/// Householder QR of `wt` (Aᵀ, `n × m`) one reflector at a time, and Qᵀ
/// into `qt`, for small orders (and the fallback of [`qr_blocked`]).
fn qr_unblocked<T: Float>(wt: &mut [T], vs: &mut [T], qt: &mut [T], m: usize, n: usize) {
    let two = T::from_f64(2.0);
    for k in 0..n {
        factor_column(wt, vs, k, n, m, two);
    }
    // Qᵀ's rows are Q's columns: Q = H₀ H₁ … Hₙ₋₁ I[:, :n].
    eye_rows(qt, m, n);
    for k in (0..n).rev() {
        // Rows j < k are still e_j, zero from k on: untouched.
        reflect(qt, vs, k, k, n, m);
    }
}

/// Factors the panel of columns `k0..k1` (rows k0..k1 of `wt`)
/// recursively: the left half, its block reflector applied to the right
/// half through GEMM, then the right half, so that little of the panel's
/// work runs one reflector at a time.
fn qr_panel<T: Float>(
    wt: &mut [T],
    vs: &mut [T],
    k0: usize,
    k1: usize,
    m: usize,
    ws: &mut QrWork<T>,
) -> bool {
    if k1 - k0 <= QR_LEAF {
        let two = T::from_f64(2.0);
        for k in k0..k1 {
            factor_column(wt, vs, k, k1, m, two);
        }
        return true;
    }
    let mid = k0 + (k1 - k0) / 2;
    qr_panel(wt, vs, k0, mid, m, ws)
        && block_t(vs, k0, mid, m, ws)
        && apply_block_reflector(wt, mid, k1, vs, k0, mid, m, false, ws)
        && qr_panel(wt, vs, mid, k1, m, ws)
}

/// Blocked Householder QR (compact WY): panels of `QR_PANEL` columns, each
/// factored by [`qr_panel`], then applied to the trailing columns by
/// three GEMMs; Q is formed backwards panel by panel the same way. False
/// (with `wt` partly transformed, so the caller starts over from A) if
/// GEMM's buffers cannot be allocated.
fn qr_blocked<T: Float>(wt: &mut [T], vs: &mut [T], qt: &mut [T], m: usize, n: usize) -> bool {
    let mut ws = QrWork {
        pk: Packs::new(),
        t: Vec::new(),
        y: Vec::new(),
        z: Vec::new(),
    };
    let mut ts = Vec::new();
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + QR_PANEL).min(n);
        if !qr_panel(wt, vs, k0, k1, m, &mut ws) || !block_t(vs, k0, k1, m, &mut ws) {
            return false;
        }
        if k1 < n && !apply_block_reflector(wt, k1, n, vs, k0, k1, m, false, &mut ws) {
            return false;
        }
        ts.push((k0, k1, ws.t.clone()));
        k0 = k1;
    }
    eye_rows(qt, m, n);
    for (k0, k1, t) in ts.into_iter().rev() {
        // Rows j < k0 are still e_j, zero from k0 on: untouched.
        ws.t = t;
        if !apply_block_reflector(qt, k0, n, vs, k0, k1, m, true, &mut ws) {
            return false;
        }
    }
    true
}

/// Column k of the Householder QR in [`qr_one`]'s layout: the unit
/// reflector of Aᵀ's row k (from entry k) into row k of `vs` (zero for a
/// zero column), applied to the rows k..`end` of `wt` (the panel).
fn factor_column<T: Float>(wt: &mut [T], vs: &mut [T], k: usize, end: usize, m: usize, two: T) {
    {
        // v = x − α e₁ with α = −sign(x₀)‖x‖ (no cancellation), then unit.
        let v = &mut vs[k * m..(k + 1) * m];
        v.fill(T::ZERO);
        let x = &wt[k * m + k..(k + 1) * m];
        let norm2 = dot(x, x);
        if norm2 == T::ZERO {
            return; // a zero column: no reflection
        }
        let alpha = if x[0] >= T::ZERO {
            -norm2.sqrt()
        } else {
            norm2.sqrt()
        };
        let v = &mut v[k..];
        v.copy_from_slice(x);
        v[0] = v[0] - alpha;
        let vnorm2 = dot(v, v);
        if vnorm2 == T::ZERO {
            v.fill(T::ZERO);
            return;
        }
        let scale = T::ONE / vnorm2.sqrt();
        for e in v.iter_mut() {
            *e = *e * scale;
        }
    }
    // Columns k..end of A (rows of Aᵀ) ← (I − 2vvᵀ) column.
    let v = &vs[k * m + k..(k + 1) * m];
    for j in k..end {
        let row = &mut wt[j * m + k..(j + 1) * m];
        let d = dot(v, row);
        axpy_sub(d * two, v, row);
    }
}

/// Batched reduced QR (see [`qr_one`]): `out[b]` is `(m + n) × n`.
///
/// # Safety
/// `a` holds `batch * m * n` elements, `out` `batch * (m + n) * n`; m ≥ n.
pub unsafe fn qr<T: Float>(a: usize, out: usize, batch: usize, m: usize, n: usize) {
    let (mn, on) = (m * n, (m + n) * n);
    let (a, o) = (view::<T>(a, batch * mn), view_mut::<T>(out, batch * on));
    let (mut wt, mut vs, mut qt) = (vec![T::ZERO; mn], vec![T::ZERO; mn], vec![T::ZERO; mn]);
    for b in 0..batch {
        let ob = &mut o[b * on..(b + 1) * on];
        qr_one(
            &a[b * mn..(b + 1) * mn],
            &mut wt,
            &mut vs,
            &mut qt,
            ob,
            m,
            n,
        );
    }
}

/// `(a·a, b·b, a·b)` in one pass over two equally long rows.
#[inline(always)]
fn dot3<T: Float>(a: &[T], b: &[T]) -> (T, T, T) {
    let n = a.len().min(b.len());
    let l = T::V::LANES;
    let z = T::V::splat(T::ZERO);
    let (mut aa, mut bb, mut ab) = (z, z, z);
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + l <= n, the length of both slices.
        unsafe {
            let va = T::V::load(a.as_ptr().add(i));
            let vb = T::V::load(b.as_ptr().add(i));
            aa = aa.add(va.mul(va));
            bb = bb.add(vb.mul(vb));
            ab = ab.add(va.mul(vb));
        }
        i += l;
    }
    let mut lanes = [[T::ZERO; 4]; 3];
    // SAFETY: each `lanes` row holds 4 >= LANES elements.
    unsafe {
        aa.store(lanes[0].as_mut_ptr());
        bb.store(lanes[1].as_mut_ptr());
        ab.store(lanes[2].as_mut_ptr());
    }
    let (mut x, mut y, mut w) = (T::ZERO, T::ZERO, T::ZERO);
    for k in 0..l {
        x = x + lanes[0][k];
        y = y + lanes[1][k];
        w = w + lanes[2][k];
    }
    while i < n {
        x = x + a[i] * a[i];
        y = y + b[i] * b[i];
        w = w + a[i] * b[i];
        i += 1;
    }
    (x, y, w)
}

/// The plane rotation `(a, b) ← (c a − s b, s a + c b)` of two rows.
#[inline(always)]
fn rotate<T: Float>(c: T, s: T, a: &mut [T], b: &mut [T]) {
    let n = a.len().min(b.len());
    let l = T::V::LANES;
    let (vc, vs) = (T::V::splat(c), T::V::splat(s));
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + l <= n, the length of both slices.
        unsafe {
            let (pa, pb) = (a.as_mut_ptr().add(i), b.as_mut_ptr().add(i));
            let (va, vb) = (T::V::load(pa), T::V::load(pb));
            va.mul(vc).sub(vb.mul(vs)).store(pa);
            va.mul(vs).add(vb.mul(vc)).store(pb);
        }
        i += l;
    }
    while i < n {
        let (x, y) = (a[i], b[i]);
        a[i] = c * x - s * y;
        b[i] = s * x + c * y;
        i += 1;
    }
}

/// Two distinct rows `p < q` of a row-major matrix with `w` columns.
fn two_rows<T>(x: &mut [T], w: usize, p: usize, q: usize) -> (&mut [T], &mut [T]) {
    let (head, tail) = x.split_at_mut(q * w);
    (&mut head[p * w..(p + 1) * w], &mut tail[..w])
}

/// One-sided (Hestenes) Jacobi on the `n` rows of `g` (each `len` long):
/// plane rotations of pairs of rows until every pair is orthogonal to
/// working precision, accumulated into the rows of `v` (`n × n`, set to
/// the identity first). Only dot products of the rows are formed, never
/// their Gram matrix, so small singular values keep their relative
/// accuracy (Demmel and Veselić).
fn jacobi_rows<T: Float>(g: &mut [T], v: &mut [T], n: usize, len: usize) {
    for i in 0..n {
        for j in 0..n {
            v[i * n + j] = if i == j { T::ONE } else { T::ZERO };
        }
    }
    let eps = if core::mem::size_of::<T>() == 8 {
        f64::EPSILON
    } else {
        f32::EPSILON as f64
    };
    let tol = T::from_f64(eps * (len.max(1) as f64).sqrt());
    let half = T::from_f64(0.5);
    // Squared row norms, kept up to date through the rotations, for de
    // Rijk's ordering: each sweep takes the rows in the order of
    // decreasing norm (the largest remaining row is swapped to p), which
    // converges in fewer sweeps than the plain cyclic order.
    let mut norms: Vec<T> = (0..n)
        .map(|k| {
            let r = &g[k * len..(k + 1) * len];
            dot(r, r)
        })
        .collect();
    for _sweep in 0..80 {
        let mut rotated = false;
        for p in 0..n {
            let mut big = p;
            for k in p + 1..n {
                if norms[k] > norms[big] {
                    big = k;
                }
            }
            if big != p {
                let (gp, gb) = two_rows(g, len, p, big);
                gp.swap_with_slice(gb);
                let (vp, vb) = two_rows(v, n, p, big);
                vp.swap_with_slice(vb);
                norms.swap(p, big);
            }
            for q in p + 1..n {
                let (gp, gq) = two_rows(g, len, p, q);
                let (alpha, beta, gamma) = dot3(gp, gq);
                norms[p] = alpha;
                norms[q] = beta;
                // Orthogonal enough (or NaN): no rotation.
                let bound = tol * (alpha * beta).sqrt();
                if gamma.abs().partial_cmp(&bound) != Some(core::cmp::Ordering::Greater) {
                    continue;
                }
                rotated = true;
                // tan of the angle that makes the pair orthogonal: the
                // smaller root of t² + 2ζt − 1 = 0.
                let zeta = (beta - alpha) * half / gamma;
                let root = (zeta * zeta + T::ONE).sqrt();
                let t = if zeta >= T::ZERO {
                    T::ONE / (zeta + root)
                } else {
                    -T::ONE / (-zeta + root)
                };
                let c = T::ONE / (t * t + T::ONE).sqrt();
                let s = c * t;
                norms[p] = alpha - t * gamma;
                norms[q] = beta + t * gamma;
                rotate(c, s, gp, gq);
                let (vp, vq) = two_rows(v, n, p, q);
                rotate(c, s, vp, vq);
            }
        }
        if !rotated {
            break;
        }
    }
}

/// Scratch of [`svd_one`] for an `m × n` matrix.
struct SvdScratch<T> {
    wt: Vec<T>,
    vs: Vec<T>,
    qt: Vec<T>,
    qr: Vec<T>,
    g: Vec<T>,
    v: Vec<T>,
}

impl<T: Float> SvdScratch<T> {
    fn new(m: usize, n: usize) -> Self {
        let mn = m * n;
        SvdScratch {
            wt: vec![T::ZERO; mn],
            vs: vec![T::ZERO; mn],
            qt: vec![T::ZERO; mn],
            qr: vec![T::ZERO; mn + n * n],
            g: vec![T::ZERO; n * n],
            v: vec![T::ZERO; n * n],
        }
    }
}

/// Reduced SVD of one `m × n` matrix (m ≥ n): Householder QR first, A =
/// QR, then one-sided Jacobi on the columns of Rᵀ (the rows of R), which
/// converges in fewer sweeps than on A itself (Drmač and Veselić):
/// Rᵀ V' = U' S gives A = (Q V') S U'ᵀ.
///
/// `out` is `(m + 1 + n) × n`: rows 0..m U, row m the singular values in
/// descending order, rows m+1.. Vᵀ. Each pair is signed so that the entry
/// of largest magnitude of V's column (the first among equals) is
/// positive; rows of Vᵀ for zero singular values are completed to an
/// orthonormal set (U = Q V' is orthonormal whatever the rank).
fn svd_one<T: Float>(a: &[T], w: &mut SvdScratch<T>, out: &mut [T], m: usize, n: usize) {
    qr_one(a, &mut w.wt, &mut w.vs, &mut w.qt, &mut w.qr, m, n);
    let (q, r) = w.qr.split_at(m * n);
    w.g.copy_from_slice(r);
    jacobi_rows(&mut w.g, &mut w.v, n, n);
    let (g, v) = (&w.g, &w.v);
    let sv: Vec<T> = (0..n)
        .map(|j| dot(&g[j * n..(j + 1) * n], &g[j * n..(j + 1) * n]).sqrt())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| {
        sv[j]
            .partial_cmp(&sv[i])
            .unwrap_or(core::cmp::Ordering::Equal)
    });
    let (u, rest) = out.split_at_mut(m * n);
    let (srow, vt) = rest.split_at_mut(n);
    let mut missing = Vec::new();
    // Rows of V′ in the output order and sign: U = Q V′ᵀ, one GEMM.
    let mut vp = vec![T::ZERO; n * n];
    for (col, &src) in order.iter().enumerate() {
        let grow = &g[src * n..(src + 1) * n];
        let s = sv[src];
        srow[col] = s;
        let vrow = &mut vt[col * n..(col + 1) * n];
        let mut sign = T::ONE;
        if s > T::ZERO && (T::ONE / s) < T::INFINITY {
            let mut big = 0;
            for k in 1..n {
                if grow[k].abs() > grow[big].abs() {
                    big = k;
                }
            }
            if grow[big] < T::ZERO {
                sign = -T::ONE;
            }
            let scale = sign / s;
            for k in 0..n {
                vrow[k] = grow[k] * scale;
            }
        } else {
            vrow.fill(T::ZERO);
            if !s.is_nan() {
                missing.push(col);
            }
        }
        for (d, &x) in vp[col * n..(col + 1) * n]
            .iter_mut()
            .zip(&v[src * n..(src + 1) * n])
        {
            *d = sign * x;
        }
    }
    if !gemm_t(q, &vp, u, m, n, n, true) {
        for i in 0..m {
            for col in 0..n {
                u[i * n + col] = dot(&q[i * n..(i + 1) * n], &vp[col * n..(col + 1) * n]);
            }
        }
    }
    complete_rows(vt, n, n, &missing);
}

/// Fills rows `missing` of `x` (`rows × len`, the others orthonormal or
/// zero) with unit vectors orthogonal to every other row: the first
/// standard basis vectors that keep enough length after two rounds of
/// Gram–Schmidt.
fn complete_rows<T: Float>(x: &mut [T], rows: usize, len: usize, missing: &[usize]) {
    let mut w = vec![T::ZERO; len];
    let mut next = 0;
    for &row in missing {
        while next < len {
            w.fill(T::ZERO);
            w[next] = T::ONE;
            next += 1;
            for _ in 0..2 {
                for j in 0..rows {
                    if j != row {
                        let other = &x[j * len..(j + 1) * len];
                        let d = dot(other, &w);
                        axpy_sub(d, other, &mut w);
                    }
                }
            }
            let norm = dot(&w, &w).sqrt();
            if norm > T::from_f64(0.5) {
                for (k, e) in x[row * len..(row + 1) * len].iter_mut().enumerate() {
                    *e = w[k] / norm;
                }
                break;
            }
        }
    }
}

/// Batched reduced SVD (see [`svd_one`]): `out[b]` is `(m + 1 + n) × n`.
///
/// # Safety
/// `a` holds `batch * m * n` elements, `out` `batch * (m + 1 + n) * n`; m ≥ n.
pub unsafe fn svd<T: Float>(a: usize, out: usize, batch: usize, m: usize, n: usize) {
    let (mn, on) = (m * n, (m + 1 + n) * n);
    let (a, o) = (view::<T>(a, batch * mn), view_mut::<T>(out, batch * on));
    let mut scratch = SvdScratch::new(m, n);
    for b in 0..batch {
        let ob = &mut o[b * on..(b + 1) * on];
        svd_one(&a[b * mn..(b + 1) * mn], &mut scratch, ob, m, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric positive definite n×n matrix: M Mᵀ + n I.
    fn spd(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let m: Vec<f64> = (0..n * n).map(|_| rnd()).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|p| m[i * n + p] * m[j * n + p]).sum::<f64>();
            }
            a[i * n + i] += n as f64;
        }
        a
    }

    fn matmul(a: &[f64], b: &[f64], n: usize, k: usize, bt: bool) -> Vec<f64> {
        let mut c = vec![0.0; n * k];
        for i in 0..n {
            for j in 0..k {
                c[i * k + j] = (0..n)
                    .map(|p| a[i * n + p] * if bt { b[j * n + p] } else { b[p * k + j] })
                    .sum();
            }
        }
        c
    }

    #[test]
    fn cholesky_reconstructs_and_reports_the_failing_pivot() {
        for n in [1, 2, 5, 17] {
            let a = spd(n, n as u64);
            // The factor is of the symmetric part: skew junk changes nothing.
            let mut skewed = a.clone();
            for i in 0..n {
                for j in 0..i {
                    skewed[i * n + j] += 0.25;
                    skewed[j * n + i] -= 0.25;
                }
            }
            let mut l = vec![f64::NAN; n * n];
            assert_eq!(
                unsafe { cholesky::<f64>(a.as_ptr() as usize, l.as_mut_ptr() as usize, 1, n) },
                None
            );
            let llt = matmul(&l, &l, n, n, true);
            for (x, y) in llt.iter().zip(&a) {
                assert!((x - y).abs() < 1e-10 * n as f64, "{n}: {x} vs {y}");
            }
            for i in 0..n {
                for j in i + 1..n {
                    assert_eq!(l[i * n + j], 0.0);
                }
            }
        }
        // diag(1, -1, 1) in the second matrix of a batch fails at pivot 1.
        let a = [
            4.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0,
            0.0, 1.0,
        ];
        let mut l = [0.0f32; 18];
        let r = unsafe { cholesky::<f32>(a.as_ptr() as usize, l.as_mut_ptr() as usize, 2, 3) };
        assert_eq!(r, Some((1, 1)));
        assert_eq!(l[0], 2.0);
    }

    #[test]
    fn solves_agree_with_products() {
        let (n, k) = (7, 3);
        let a = spd(n, 3);
        let b: Vec<f64> = (0..n * k).map(|i| (i as f64 * 0.37).sin()).collect();
        for (upper, unit) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut t = a.clone();
            for i in 0..n {
                for j in 0..n {
                    let outside = if upper { j < i } else { j > i };
                    if outside {
                        t[i * n + j] = 0.0;
                    }
                }
                if unit {
                    t[i * n + i] = 1.0;
                }
            }
            let mut x = vec![0.0; n * k];
            // A with junk in the unread triangle: the result must not change.
            let mut junk = t.clone();
            for i in 0..n {
                for j in 0..n {
                    if (if upper { j < i } else { j > i }) || (unit && i == j) {
                        junk[i * n + j] = 1e3;
                    }
                }
            }
            let (pa, pb) = (junk.as_ptr() as usize, b.as_ptr() as usize);
            unsafe {
                triangular_solve::<f64>(pa, pb, x.as_mut_ptr() as usize, 1, n, k, upper, unit, 0, 0)
            };
            let back = matmul(&t, &x, n, k, false);
            for (u, v) in back.iter().zip(&b) {
                assert!((u - v).abs() < 1e-12, "{upper} {unit}");
            }
        }
        // General solve: a permutation-needing matrix, two batches sharing B.
        let mut g = a.clone();
        g[0] = 0.0;
        let both: Vec<f64> = g.iter().chain(a.iter()).copied().collect();
        let mut x = vec![0.0; 2 * n * k];
        let r = unsafe {
            solve::<f64>(
                both.as_ptr() as usize,
                b.as_ptr() as usize,
                x.as_mut_ptr() as usize,
                2,
                n,
                k,
                n * n,
                0,
            )
        };
        assert_eq!(r, None);
        for (bi, m) in [&g, &a].iter().enumerate() {
            let back = matmul(m, &x[bi * n * k..(bi + 1) * n * k], n, k, false);
            for (u, v) in back.iter().zip(&b) {
                assert!((u - v).abs() < 1e-12);
            }
        }
        let singular = [1.0f64, 2.0, 2.0, 4.0];
        let mut x = [0.0f64; 2];
        let r = unsafe {
            solve::<f64>(
                singular.as_ptr() as usize,
                b.as_ptr() as usize,
                x.as_mut_ptr() as usize,
                1,
                2,
                1,
                0,
                0,
            )
        };
        assert_eq!(r, Some((0, 1)));
    }

    #[test]
    fn eigh_reconstructs_with_orthonormal_vectors_in_ascending_order() {
        for n in [1, 2, 6, 13] {
            let mut a = spd(n, 40 + n as u64);
            for i in 0..n {
                a[i * n + i] -= n as f64 + 0.3; // indefinite: negative eigenvalues too
            }
            let mut o = vec![0.0; (n + 1) * n];
            unsafe { eigh::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, n) };
            let (lam, v) = o.split_at(n);
            assert!(lam.windows(2).all(|p| p[0] <= p[1]), "{lam:?}");
            for i in 0..n {
                for j in 0..n {
                    let vvt: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((vvt - want).abs() < 1e-13, "VᵀV {n}");
                    let rec: f64 = (0..n).map(|k| v[i * n + k] * lam[k] * v[j * n + k]).sum();
                    assert!((rec - a[i * n + j]).abs() < 1e-12, "V Λ Vᵀ {n}");
                }
            }
        }
        // Closed form: [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let a = [2.0f32, 1.0, 1.0, 2.0];
        let mut o = [0.0f32; 6];
        unsafe { eigh::<f32>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, 2) };
        assert!((o[0] - 1.0).abs() < 1e-6 && (o[1] - 3.0).abs() < 1e-6);
    }

    /// Checks eigh's output for `a` (`n × n`, f64): ascending eigenvalues,
    /// VᵀV = I and V Λ Vᵀ = A to `tol` relative to A's largest entry.
    fn check_eigh(a: &[f64], n: usize, tol: f64) -> Vec<f64> {
        let mut o = vec![0.0; (n + 1) * n];
        unsafe { eigh::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, n) };
        let (lam, v) = o.split_at(n);
        assert!(lam.windows(2).all(|p| p[0] <= p[1]), "ascending {n}");
        let scale = a.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        for i in 0..n {
            for j in 0..n {
                let vvt: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((vvt - want).abs() < tol, "VᵀV {n} ({i}, {j}): {vvt}");
                let rec: f64 = (0..n).map(|k| v[i * n + k] * lam[k] * v[j * n + k]).sum();
                assert!((rec - a[i * n + j]).abs() < tol * scale, "V Λ Vᵀ {n}");
            }
        }
        lam.to_vec()
    }

    #[test]
    fn eigh_by_tridiagonal_reduction_matches_jacobi_and_handles_repeats() {
        for n in [EIGH_TRIDIAGONAL_FROM, 47, 96] {
            let mut a = spd(n, 7 + n as u64);
            for i in 0..n {
                a[i * n + i] -= n as f64; // indefinite
            }
            let lam = check_eigh(&a, n, 1e-12);
            // The same eigenvalues as Jacobi's.
            let (mut w, mut v) = (vec![0.0; n * n], vec![0.0; n * n]);
            let mut jac = jacobi_eigh(&a, &mut w, &mut v, n);
            jac.sort_by(|x, y| x.partial_cmp(y).unwrap());
            for (x, y) in lam.iter().zip(&jac) {
                assert!((x - y).abs() < 1e-11 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
        // All ones: eigenvalues 0 (n − 1 times) and n.
        let n = 40;
        let lam = check_eigh(&vec![1.0; n * n], n, 1e-12);
        assert!(
            lam[..n - 1].iter().all(|x| x.abs() < 1e-12) && (lam[n - 1] - n as f64).abs() < 1e-11
        );
        // Already diagonal (every reflector trivial), with repeats.
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = (i % 3) as f64;
        }
        let lam = check_eigh(&a, n, 1e-14);
        assert_eq!(lam.iter().filter(|&&x| x == 2.0).count(), 13);
        // Tridiagonal with a zero coupling in the middle (two blocks).
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 2.0;
            if i + 1 < n && i != n / 2 {
                a[i * n + i + 1] = -1.0;
                a[(i + 1) * n + i] = -1.0;
            }
        }
        check_eigh(&a, n, 1e-13);
        // f32 takes the same path.
        let a32: Vec<f32> = spd(n, 3).iter().map(|&x| x as f32).collect();
        let mut o = vec![0.0f32; (n + 1) * n];
        unsafe { eigh::<f32>(a32.as_ptr() as usize, o.as_mut_ptr() as usize, 1, n) };
        let (lam, v) = o.split_at(n);
        let scale = a32.iter().fold(1.0f32, |m, x| m.max(x.abs()));
        for i in 0..n {
            let rec: f32 = (0..n).map(|k| v[i * n + k] * lam[k] * v[i * n + k]).sum();
            assert!((rec - a32[i * n + i]).abs() < 1e-4 * scale);
        }
    }

    #[test]
    fn qr_reconstructs_with_orthonormal_q_and_positive_diagonal() {
        for (m, n) in [(1, 1), (3, 3), (7, 4), (12, 5)] {
            let full = spd(m.max(n), (m * 31 + n) as u64);
            // A's first column negated, and an m × n block of it.
            let a: Vec<f64> = (0..m * n)
                .map(|e| full[(e / n) * m.max(n) + e % n] * if e % n == 0 { -1.0 } else { 1.0 })
                .collect();
            let mut o = vec![0.0; (m + n) * n];
            unsafe { qr::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, m, n) };
            let (q, r) = o.split_at(m * n);
            for i in 0..m {
                for j in 0..n {
                    let qr_ij: f64 = (0..n).map(|k| q[i * n + k] * r[k * n + j]).sum();
                    assert!((qr_ij - a[i * n + j]).abs() < 1e-12, "QR {m}×{n}");
                }
            }
            for i in 0..n {
                assert!(r[i * n + i] >= 0.0);
                for j in 0..n {
                    let qtq: f64 = (0..m).map(|k| q[k * n + i] * q[k * n + j]).sum();
                    assert!((qtq - if i == j { 1.0 } else { 0.0 }).abs() < 1e-13);
                    if j < i {
                        assert_eq!(r[i * n + j], 0.0);
                    }
                }
            }
        }
    }

    #[test]
    fn blocked_lu_reconstructs_pivots_and_solves() {
        // Above BLOCKED_FROM, with a ragged last panel and row block.
        let n = 2 * LU_PANEL + BLOCKED_FROM + 7;
        let mut st = 99u64;
        let a: Vec<f64> = (0..n * n)
            .map(|_| {
                st = st
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((st >> 11) as f64 / (1u64 << 53) as f64) - 0.5
            })
            .collect();
        let mut o = vec![0.0; (n + 1) * n];
        unsafe { lu::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, n) };
        let (perm, f) = o.split_at(n);
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..=i.min(j))
                    .map(|p| if p == i { 1.0 } else { f[i * n + p] } * f[p * n + j])
                    .sum();
                let want = a[perm[i] as usize * n + j];
                assert!((s - want).abs() < 1e-12, "PA = LU at ({i}, {j})");
            }
            // Partial pivoting: multipliers at most 1.
            for p in 0..i {
                assert!(f[i * n + p].abs() <= 1.0 + 1e-15);
            }
        }
        // solve: A x = A·1 gives 1; a zero column is singular (exactly, in
        // any order of the updates).
        let ones: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j]).sum()).collect();
        let mut x = vec![0.0; n];
        let r = unsafe {
            solve::<f64>(
                a.as_ptr() as usize,
                ones.as_ptr() as usize,
                x.as_mut_ptr() as usize,
                1,
                n,
                1,
                0,
                0,
            )
        };
        assert_eq!(r, None);
        assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-10));
        let mut sing = a.clone();
        for i in 0..n {
            sing[i * n + 40] = 0.0;
        }
        let r = unsafe {
            solve::<f64>(
                sing.as_ptr() as usize,
                ones.as_ptr() as usize,
                x.as_mut_ptr() as usize,
                1,
                n,
                1,
                0,
                0,
            )
        };
        assert_eq!(r, Some((0, 40)));
    }

    #[test]
    fn blocked_triangular_solves_match_products() {
        let (n, k) = (BLOCKED_FROM + 37, TRSM_MIN_RHS + 3);
        let mut st = 7u64;
        let mut rnd = || {
            st = st
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((st >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let mut a: Vec<f64> = (0..n * n).map(|_| rnd()).collect();
        for i in 0..n {
            a[i * n + i] += 4.0;
        }
        let xs: Vec<f64> = (0..n * k).map(|_| rnd()).collect();
        for (upper, unit) in [(false, false), (true, false), (false, true), (true, true)] {
            // B = T X with T the triangle that the solve reads.
            let t = |i: usize, j: usize| {
                if i == j {
                    if unit {
                        1.0
                    } else {
                        a[i * n + i]
                    }
                } else if (j > i) == upper {
                    a[i * n + j]
                } else {
                    0.0
                }
            };
            let b: Vec<f64> = (0..n * k)
                .map(|e| (0..n).map(|p| t(e / k, p) * xs[p * k + e % k]).sum())
                .collect();
            let mut x = b.clone();
            trsm_one(&a, &mut x, n, k, upper, unit);
            for (got, want) in x.iter().zip(&xs) {
                assert!((got - want).abs() < 1e-12, "upper {upper} unit {unit}");
            }
        }
    }

    /// Uniform(−0.5, 0.5) entries from a fixed LCG.
    fn lcg(len: usize, seed: u64) -> Vec<f64> {
        let mut st = seed;
        (0..len)
            .map(|_| {
                st = st
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((st >> 11) as f64 / (1u64 << 53) as f64) - 0.5
            })
            .collect()
    }

    #[test]
    fn blocked_cholesky_matches_unblocked() {
        // Across the block width, ragged last blocks; then a failing pivot
        // in a later block.
        for &n in &[1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 160, 200] {
            let g = lcg(n * n, n as u64 + 3);
            // A = G Gᵀ / n + I, made slightly nonsymmetric (its symmetric
            // part is what is factored).
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    let s: f64 = (0..n).map(|k| g[i * n + k] * g[j * n + k]).sum();
                    a[i * n + j] = s / n as f64 + if i == j { 1.0 } else { 0.0 };
                }
                a[i * n + (i + 1) % n] += 1e-3;
            }
            let (mut l0, mut l1) = (vec![7.0; n * n], vec![7.0; n * n]);
            assert_eq!(cholesky_one(&a, &mut l0, n), None);
            assert_eq!(
                cholesky_blocked(&a, &mut l1, n, &mut Packs::new()),
                Some(None)
            );
            for (i, (u, v)) in l0.iter().zip(&l1).enumerate() {
                assert!((u - v).abs() < 1e-12, "n = {n} at {i}: {u} vs {v}");
            }
            if n > 40 {
                let bad = n - 7;
                a[bad * n + bad] = -5.0;
                assert_eq!(cholesky_one(&a, &mut l0, n), Some(bad));
                let got = cholesky_blocked(&a, &mut l1, n, &mut Packs::new());
                assert_eq!(got, Some(Some(bad)));
            }
        }
    }

    #[test]
    fn blocked_qr_matches_unblocked() {
        // Across the panel width, the recursion leaf and the threshold,
        // square and tall, one zero column where there is room.
        for &n in &[1, 7, 8, 9, 31, 32, 33, 47, 48, 49, 64, 97, 160, 200] {
            for &extra in &[0, 13] {
                let m = n + extra;
                let mut a = lcg(m * n, (n * 31 + m) as u64);
                if n > 20 {
                    for i in 0..m {
                        a[i * n + 20] = 0.0;
                    }
                }
                let mut runs = Vec::new();
                for blocked in [false, true] {
                    let (mut wt, mut vs, mut qt) =
                        (vec![0.0; m * n], vec![0.0; m * n], vec![0.0; m * n]);
                    for i in 0..m {
                        for j in 0..n {
                            wt[j * m + i] = a[i * n + j];
                        }
                    }
                    if blocked {
                        assert!(qr_blocked(&mut wt, &mut vs, &mut qt, m, n));
                    } else {
                        qr_unblocked(&mut wt, &mut vs, &mut qt, m, n);
                    }
                    runs.push((wt, qt));
                }
                // R (below its diagonal, rounding residue in both) and Qᵀ.
                for (x, y) in [(&runs[0].0, &runs[1].0), (&runs[0].1, &runs[1].1)] {
                    for (i, (u, v)) in x.iter().zip(y.iter()).enumerate() {
                        assert!((u - v).abs() < 1e-12, "{m}x{n} at {i}: {u} vs {v}");
                    }
                }
            }
        }
    }

    #[test]
    fn blocked_qr_reconstructs_with_orthonormal_q() {
        // Past BLOCKED_FROM, ragged last panel, one zero column.
        let (m, n) = (BLOCKED_FROM + 90, BLOCKED_FROM + 13);
        let mut st = 5u64;
        let mut a: Vec<f64> = (0..m * n)
            .map(|_| {
                st = st
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((st >> 11) as f64 / (1u64 << 53) as f64) - 0.5
            })
            .collect();
        for i in 0..m {
            a[i * n + 50] = 0.0;
        }
        let mut o = vec![0.0; (m + n) * n];
        unsafe { qr::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, m, n) };
        let (q, r) = o.split_at(m * n);
        for i in 0..m {
            for j in 0..n {
                let qr_ij: f64 = (0..=j).map(|k| q[i * n + k] * r[k * n + j]).sum();
                assert!((qr_ij - a[i * n + j]).abs() < 1e-12, "QR at ({i}, {j})");
            }
        }
        for i in 0..n {
            assert!(r[i * n + i] >= 0.0);
            for j in 0..i {
                assert_eq!(r[i * n + j], 0.0);
            }
            for j in 0..n {
                let qtq: f64 = (0..m).map(|k| q[k * n + i] * q[k * n + j]).sum();
                let id = if i == j { 1.0 } else { 0.0 };
                // Column 50 of Q is the reflectors' column there, still unit.
                assert!((qtq - id).abs() < 1e-12, "QᵀQ at ({i}, {j})");
            }
        }
    }

    #[test]
    fn lu_factors_a_row_permutation() {
        let n = 6;
        let mut a = spd(n, 77);
        a[0] = 0.0; // forces a pivot
        let mut o = vec![0.0; (n + 1) * n];
        unsafe { lu::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, n) };
        let (perm, lu) = o.split_at(n);
        for i in 0..n {
            for j in 0..n {
                let prod: f64 = (0..n)
                    .map(|k| {
                        let l = if k < i {
                            lu[i * n + k]
                        } else if k == i {
                            1.0
                        } else {
                            0.0
                        };
                        let u = if k <= j { lu[k * n + j] } else { 0.0 };
                        l * u
                    })
                    .sum();
                let row = perm[i] as usize;
                assert!((prod - a[row * n + j]).abs() < 1e-12, "({i}, {j})");
            }
        }
        assert!(perm[0] != 0.0);
    }

    #[test]
    fn slogdet_matches_closed_forms() {
        // det [[0, 2], [3, 1]] = -6; det [[1, 2], [2, 4]] = 0.
        let a = [0.0f64, 2.0, 3.0, 1.0, 1.0, 2.0, 2.0, 4.0];
        let mut o = [0.0f64; 4];
        unsafe { slogdet::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 2, 2) };
        assert_eq!(o[0], -1.0);
        assert!((o[1] - 6f64.ln()).abs() < 1e-15);
        assert_eq!((o[2], o[3]), (0.0, f64::NEG_INFINITY));
    }
    /// Checks U diag(S) Vᵀ = A, UᵀU = I, VᵀV = I and descending S.
    fn check_svd(a: &[f64], m: usize, n: usize, tol: f64) -> Vec<f64> {
        let mut o = vec![f64::NAN; (m + 1 + n) * n];
        unsafe { svd::<f64>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, m, n) };
        let (u, rest) = o.split_at(m * n);
        let (s, vt) = rest.split_at(n);
        let scale = a.iter().fold(0.0f64, |x, y| x.max(y.abs())).max(1e-300);
        for i in 0..m {
            for j in 0..n {
                let usv: f64 = (0..n).map(|k| u[i * n + k] * s[k] * vt[k * n + j]).sum();
                assert!((usv - a[i * n + j]).abs() < tol * scale, "USVᵀ {m}×{n}");
            }
        }
        for i in 0..n {
            if i > 0 {
                assert!(s[i] <= s[i - 1]);
            }
            for j in 0..n {
                let utu: f64 = (0..m).map(|k| u[k * n + i] * u[k * n + j]).sum();
                let vvt: f64 = (0..n).map(|k| vt[i * n + k] * vt[j * n + k]).sum();
                let id = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (utu - id).abs() < tol && (vvt - id).abs() < tol,
                    "orthonormal {m}×{n}"
                );
            }
        }
        s.to_vec()
    }

    #[test]
    fn svd_reconstructs_with_orthonormal_factors_and_descending_values() {
        for (m, n) in [(1, 1), (2, 2), (3, 3), (7, 4), (12, 5), (20, 20)] {
            let full = spd(m.max(n), (m * 7 + n) as u64);
            let a: Vec<f64> = (0..m * n)
                .map(|e| {
                    full[(e / n) * m.max(n) + e % n] * if (e * 5) % 3 == 0 { -1.0 } else { 0.5 }
                })
                .collect();
            check_svd(&a, m, n, 1e-12);
        }
        // Closed form: diag(3, -4) has singular values 4, 3.
        let s = check_svd(&[3.0, 0.0, 0.0, -4.0], 2, 2, 1e-15);
        assert_eq!(s, vec![4.0, 3.0]);
        // Rank one and zero: U is completed to orthonormal columns.
        let s = check_svd(&[1.0, 2.0, 2.0, 4.0, 3.0, 6.0], 3, 2, 1e-13);
        assert!((s[0] - 70f64.sqrt()).abs() < 1e-13 && s[1].abs() < 1e-14);
        let s = check_svd(&[0.0; 12], 4, 3, 1e-15);
        assert_eq!(s, vec![0.0; 3]);
        // Graded columns: tiny singular values keep their relative accuracy.
        let g = [1.0, 1e-9, 1.0, -1e-9];
        let s = check_svd(&g, 2, 2, 1e-15);
        assert!(
            (s[0] - 2f64.sqrt()).abs() < 1e-15 && (s[1] / (2f64.sqrt() * 1e-9) - 1.0).abs() < 1e-14
        );
        // f32.
        let a = [3.0f32, 0.0, 4.0, 5.0];
        let mut o = [0.0f32; 10];
        unsafe { svd::<f32>(a.as_ptr() as usize, o.as_mut_ptr() as usize, 1, 2, 2) };
        assert!((o[4] - 45f32.sqrt()).abs() < 1e-5 && (o[5] - 5f32.sqrt()).abs() < 1e-5);
    }
}
