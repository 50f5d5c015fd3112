//! Batched GEMM: `C[b] = op(A[b]) @ op(B[b])`, C contiguous `[batch, m, n]`.
//!
//! GotoBLAS structure: B is packed into KC×NR micro-panels (each padded by
//! `PAD` elements: power-of-two panel strides thrash L1), A into MR×KC
//! micro-panels, and a register-blocked SIMD micro-kernel computes an MR×NR
//! tile with all accumulators in registers (f32: 5×8 = 10 f32x4
//! accumulators; f64: 5×4 = 10 f64x2). Edge tiles run the same kernel into a
//! scratch tile. Transposes are just strides in the packing routines.
//! A[bi] starts at `a + bi*a_batch_stride` (elements; 0 broadcasts).

use crate::num::{Float, Vector};
use crate::parallel;
use crate::simd::{F32x4, F64x2};
use wasm_bindgen::prelude::*;

const KC: usize = 256;
const MC: usize = MR * 20;
const NC: usize = 4096;
const PAD: usize = 16;

/// A vector with every lane set to lane `i` of `self` (a lane shuffle, not
/// a memory access).
trait Lane: Sized {
    fn lane(self, i: usize) -> Self;
    /// Transposes the LANES × LANES block whose rows are `r[0..LANES]`.
    fn transpose(r: &mut [Self]);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Lane for F32x4 {
    #[inline(always)]
    fn lane(self, i: usize) -> Self {
        use core::arch::wasm32::i32x4_shuffle as s;
        let v = self.0;
        F32x4(match i {
            0 => s::<0, 0, 0, 0>(v, v),
            1 => s::<1, 1, 1, 1>(v, v),
            2 => s::<2, 2, 2, 2>(v, v),
            _ => s::<3, 3, 3, 3>(v, v),
        })
    }
    #[inline(always)]
    fn transpose(r: &mut [Self]) {
        use core::arch::wasm32::{i32x4_shuffle as s, i64x2_shuffle as d};
        let t0 = s::<0, 4, 1, 5>(r[0].0, r[1].0);
        let t1 = s::<2, 6, 3, 7>(r[0].0, r[1].0);
        let t2 = s::<0, 4, 1, 5>(r[2].0, r[3].0);
        let t3 = s::<2, 6, 3, 7>(r[2].0, r[3].0);
        r[0] = F32x4(d::<0, 2>(t0, t2));
        r[1] = F32x4(d::<1, 3>(t0, t2));
        r[2] = F32x4(d::<0, 2>(t1, t3));
        r[3] = F32x4(d::<1, 3>(t1, t3));
    }
}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Lane for F64x2 {
    #[inline(always)]
    fn lane(self, i: usize) -> Self {
        use core::arch::wasm32::i64x2_shuffle as s;
        let v = self.0;
        F64x2(if i == 0 {
            s::<0, 0>(v, v)
        } else {
            s::<1, 1>(v, v)
        })
    }
    #[inline(always)]
    fn transpose(r: &mut [Self]) {
        use core::arch::wasm32::i64x2_shuffle as s;
        let (a, b) = (r[0].0, r[1].0);
        r[0] = F64x2(s::<0, 2>(a, b));
        r[1] = F64x2(s::<1, 3>(a, b));
    }
}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Lane for F32x4 {
    #[inline(always)]
    fn lane(self, i: usize) -> Self {
        F32x4([self.0[i]; 4])
    }
    fn transpose(r: &mut [Self]) {
        let m: [[f32; 4]; 4] = core::array::from_fn(|i| r[i].0);
        for (i, v) in r.iter_mut().enumerate().take(4) {
            *v = F32x4(core::array::from_fn(|j| m[j][i]));
        }
    }
}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Lane for F64x2 {
    #[inline(always)]
    fn lane(self, i: usize) -> Self {
        F64x2([self.0[i]; 2])
    }
    fn transpose(r: &mut [Self]) {
        let m: [[f64; 2]; 2] = core::array::from_fn(|i| r[i].0);
        for (i, v) in r.iter_mut().enumerate().take(2) {
            *v = F64x2(core::array::from_fn(|j| m[j][i]));
        }
    }
}

/// MR × NR tile (NR = two vectors): `c[i*rsc + j] (+)= Σ_p a[p*MR+i] b[p*NR+j]`.
///
/// The cost model is V8's code on x64, where the engine (Deno's, at least)
/// checks every load against the memory size: a load is three instructions
/// (index, compare-and-branch, load), and the kernel is bound by how many
/// instructions issue per cycle, not by the multiply-adds. So the first
/// LANES values of A in a step come from one vector load and lane shuffles
/// (one instruction each), and only the rest are broadcast loads. On this
/// machine's Zen 4 that took GEMM 512 (relaxed SIMD, one thread) from about
/// 74 % to 85 % of the multiply-add roof, with the loop below.
///
/// Registers: V8 on x64 allocates 15 of the 16 xmm registers (one is its
/// scratch). The 2·MR accumulators stay in registers with the two B
/// vectors, the A vector, the broadcast value and (without fused
/// multiply-add) the product: MR = 5 uses 14 or 15; MR = 6 would spill.
#[inline(always)]
unsafe fn ukernel<T: Float, const MR: usize>(
    kc: usize,
    a: *const T,
    b: *const T,
    c: *mut T,
    rsc: usize,
    acc: bool,
) where
    T::V: Lane,
{
    let l = <T::V as Vector<T>>::LANES;
    let z = T::V::splat(T::ZERO);
    let mut c0 = [z; MR];
    let mut c1 = [z; MR];
    let mut ap = a;
    let mut bp = b;
    // One step: each broadcast A value is used at once for both B vectors,
    // so only one is live (the tile has no register to spare).
    let step = |ap: *const T, bp: *const T, c0: &mut [T::V; MR], c1: &mut [T::V; MR]| {
        let b0 = T::V::load(bp);
        let b1 = T::V::load(bp.add(l));
        let av = T::V::load(ap);
        for i in 0..MR {
            let ai = if i < l {
                av.lane(i)
            } else {
                T::V::splat(*ap.add(i))
            };
            c0[i] = ai.mul_add(b0, c0[i]);
            c1[i] = ai.mul_add(b1, c1[i]);
        }
    };
    // Four steps per pointer bump and loop back-edge, each step followed by
    // its own exit test: the loop's bookkeeping (stack check, induction
    // variables) is paid once per four steps. The exits keep each step in
    // its own basic block: in one block, LLVM's register stackifier nests
    // the four steps' multiply-adds of an accumulator into one expression
    // and hoists all four steps' loads to the first, which spills. The
    // order of the sums is unchanged.
    let end = a.add(kc * MR);
    if kc > 0 {
        loop {
            step(ap, bp, &mut c0, &mut c1);
            if ap.add(MR) == end {
                break;
            }
            step(ap.add(MR), bp.add(2 * l), &mut c0, &mut c1);
            if ap.add(2 * MR) == end {
                break;
            }
            step(ap.add(2 * MR), bp.add(4 * l), &mut c0, &mut c1);
            if ap.add(3 * MR) == end {
                break;
            }
            step(ap.add(3 * MR), bp.add(6 * l), &mut c0, &mut c1);
            ap = ap.add(4 * MR);
            bp = bp.add(8 * l);
            if ap == end {
                break;
            }
        }
    }
    for i in 0..MR {
        let p = c.add(i * rsc);
        if acc {
            T::V::load(p).add(c0[i]).store(p);
            T::V::load(p.add(l)).add(c1[i]).store(p.add(l));
        } else {
            c0[i].store(p);
            c1[i].store(p.add(l));
        }
    }
}

unsafe fn ukernel_f32(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, acc: bool) {
    ukernel::<f32, MR>(kc, a, b, c, rsc, acc)
}
unsafe fn ukernel_f64(kc: usize, a: *const f64, b: *const f64, c: *mut f64, rsc: usize, acc: bool) {
    ukernel::<f64, MR>(kc, a, b, c, rsc, acc)
}

const MR: usize = 5;

struct Operand<T> {
    p: *const T,
    rs: isize,
    cs: isize,
}

impl<T> From<(*const T, isize, isize)> for Operand<T> {
    /// A `(pointer, row stride, column stride)` triple.
    #[inline(always)]
    fn from((p, rs, cs): (*const T, isize, isize)) -> Self {
        Operand { p, rs, cs }
    }
}

impl<T: Copy> Operand<T> {
    #[inline(always)]
    unsafe fn at(&self, i: usize, j: usize) -> T {
        *self.p.offset(i as isize * self.rs + j as isize * self.cs)
    }
}

/// Pack A[ic.., pc..] (mc×kc) into MR-row micro-panels, zero-padded.
unsafe fn pack_a<T: Float>(
    a: &Operand<T>,
    ic: usize,
    pc: usize,
    mc: usize,
    kc: usize,
    dst: *mut T,
) {
    let mut d = dst;
    for ir in (0..mc).step_by(MR) {
        let mr = MR.min(mc - ir);
        if mr == MR && a.rs == 1 {
            // Aᵀ stored: the MR rows of a column are contiguous.
            for p in 0..kc {
                let s = a.p.offset((pc + p) as isize * a.cs + (ic + ir) as isize);
                core::ptr::copy_nonoverlapping(s, d, MR);
                d = d.add(MR);
            }
        } else if mr == MR && a.cs == 1 {
            // A stored by rows (the packing is bit-exact, so the f32 or
            // f64 instance of the same routine can stand in for T).
            let base = a.p.offset((ic + ir) as isize * a.rs + pc as isize);
            if core::mem::size_of::<T>() == 4 {
                pack_rows::<f32, F32x4, MR>(base as *const f32, a.rs, kc, d as *mut f32);
            } else {
                pack_rows::<f64, F64x2, MR>(base as *const f64, a.rs, kc, d as *mut f64);
            }
            d = d.add(kc * MR);
        } else {
            for p in 0..kc {
                for i in 0..MR {
                    *d.add(i) = if i < mr {
                        a.at(ic + ir + i, pc + p)
                    } else {
                        T::ZERO
                    };
                }
                d = d.add(MR);
            }
        }
    }
}

/// `W` rows of row-major A (rows `rs` apart, `kc` columns) into `d` by
/// columns, `W` apart (`d[p·W + i] = A[i, p]`): an MR-row micro-panel of
/// [`packed`], or a chunk of [`thin`]. Each group of LANES rows is LANES
/// vector loads and a transpose per LANES columns; rows past the last whole
/// group are copied one by one (V8 checks every access, so a scalar gather
/// costs several instructions per element).
#[inline(always)]
unsafe fn pack_rows<T: Float, V: Vector<T> + Lane, const W: usize>(
    base: *const T,
    rs: isize,
    kc: usize,
    d: *mut T,
) {
    let l = V::LANES;
    let groups = W / l * l;
    let mut v = [V::splat(T::ZERO); 4];
    let mut p = 0;
    while p + l <= kc {
        for g in (0..groups).step_by(l) {
            let rows = base.offset(g as isize * rs + p as isize);
            for (i, x) in v.iter_mut().enumerate().take(l) {
                *x = V::load(rows.offset(i as isize * rs));
            }
            V::transpose(&mut v[..l]);
            for (q, x) in v.iter().enumerate().take(l) {
                x.store(d.add((p + q) * W + g));
            }
        }
        for q in 0..l {
            for i in groups..W {
                *d.add((p + q) * W + i) = *base.offset(i as isize * rs + (p + q) as isize);
            }
        }
        p += l;
    }
    while p < kc {
        for i in 0..W {
            *d.add(p * W + i) = *base.offset(i as isize * rs + p as isize);
        }
        p += 1;
    }
}

/// One NR-column micro-panel of column-major B (columns `cs` apart, `kc`
/// rows) into `d`, by LANES × LANES transposes (NR is a multiple of LANES).
#[inline(always)]
unsafe fn pack_cols<T: Float, V: Vector<T> + Lane, const NR: usize>(
    base: *const T,
    cs: isize,
    kc: usize,
    mut d: *mut T,
) {
    let l = V::LANES;
    let mut p = 0;
    let mut v = [V::splat(T::ZERO); 4];
    while p + l <= kc {
        for g in (0..NR).step_by(l) {
            for (i, r) in v.iter_mut().enumerate().take(l) {
                *r = V::load(base.offset((g + i) as isize * cs + p as isize));
            }
            V::transpose(&mut v[..l]);
            for (q, r) in v.iter().enumerate().take(l) {
                r.store(d.add(q * NR + g));
            }
        }
        d = d.add(l * NR);
        p += l;
    }
    while p < kc {
        for j in 0..NR {
            *d.add(j) = *base.offset(j as isize * cs + p as isize);
        }
        d = d.add(NR);
        p += 1;
    }
}

/// Pack B[pc.., jc..] (kc×nc) into NR-column micro-panels of stride
/// `kc*NR + PAD`, zero-padded.
unsafe fn pack_b<T: Float, const NR: usize>(
    b: &Operand<T>,
    pc: usize,
    jc: usize,
    kc: usize,
    nc: usize,
    dst: *mut T,
) {
    let ps = kc * NR + PAD;
    for (q, jr) in (0..nc).step_by(NR).enumerate() {
        let nr = NR.min(nc - jr);
        let mut d = dst.add(q * ps);
        if nr == NR && b.cs == 1 {
            for p in 0..kc {
                let s = b.p.offset((pc + p) as isize * b.rs + (jc + jr) as isize);
                core::ptr::copy_nonoverlapping(s, d, NR);
                d = d.add(NR);
            }
        } else if nr == NR && b.rs == 1 {
            // Bᵀ stored (what `linear` produces): each of the NR columns is a
            // contiguous run of the stored matrix; transpose LANES × LANES
            // blocks of them (as for A, the f32 or f64 instance stands in).
            let base = b.p.offset((jc + jr) as isize * b.cs + pc as isize);
            if core::mem::size_of::<T>() == 4 {
                pack_cols::<f32, F32x4, NR>(base as *const f32, b.cs, kc, d as *mut f32);
            } else {
                pack_cols::<f64, F64x2, NR>(base as *const f64, b.cs, kc, d as *mut f64);
            }
        } else {
            for p in 0..kc {
                for j in 0..NR {
                    *d.add(j) = if j < nr {
                        b.at(pc + p, jc + jr + j)
                    } else {
                        T::ZERO
                    };
                }
                d = d.add(NR);
            }
        }
    }
}

/// `Σ x[i]·y[i]` over two contiguous runs of `k`, with four vector accumulators.
#[inline(always)]
unsafe fn dot<T: Float>(x: *const T, y: *const T, k: usize) -> T {
    let l = <T::V as Vector<T>>::LANES;
    let z = T::V::splat(T::ZERO);
    let (mut s0, mut s1, mut s2, mut s3) = (z, z, z, z);
    let mut p = 0;
    while p + 4 * l <= k {
        s0 = s0.add(T::V::load(x.add(p)).mul(T::V::load(y.add(p))));
        s1 = s1.add(T::V::load(x.add(p + l)).mul(T::V::load(y.add(p + l))));
        s2 = s2.add(T::V::load(x.add(p + 2 * l)).mul(T::V::load(y.add(p + 2 * l))));
        s3 = s3.add(T::V::load(x.add(p + 3 * l)).mul(T::V::load(y.add(p + 3 * l))));
        p += 4 * l;
    }
    while p + l <= k {
        s0 = s0.add(T::V::load(x.add(p)).mul(T::V::load(y.add(p))));
        p += l;
    }
    let mut lanes = [T::ZERO; 8];
    s0.add(s1).add(s2.add(s3)).store(lanes.as_mut_ptr());
    let mut acc = T::ZERO;
    for v in lanes.iter().take(l) {
        acc = acc + *v;
    }
    while p < k {
        acc = acc + *x.add(p) * *y.add(p);
        p += 1;
    }
    acc
}

/// `y[0..n] = 0 + s·x[0..n]`: the first term of a sum that [`axpy`]
/// continues, with the bits of zero-filling `y` and adding (a product of
/// −0 becomes +0) but without the fill, a `memory.fill` call per row.
#[inline(always)]
unsafe fn axpy_first<T: Float>(s: T, x: *const T, y: *mut T, n: usize) {
    let l = <T::V as Vector<T>>::LANES;
    let (sv, z) = (T::V::splat(s), T::V::splat(T::ZERO));
    let mut j = 0;
    while j + l <= n {
        z.add(sv.mul(T::V::load(x.add(j)))).store(y.add(j));
        j += l;
    }
    while j < n {
        *y.add(j) = T::ZERO + s * *x.add(j);
        j += 1;
    }
}

/// `y[0..n] += s·x[0..n]` over contiguous runs.
#[inline(always)]
unsafe fn axpy<T: Float>(s: T, x: *const T, y: *mut T, n: usize) {
    let l = <T::V as Vector<T>>::LANES;
    let sv = T::V::splat(s);
    let mut j = 0;
    while j + l <= n {
        T::V::load(y.add(j))
            .add(sv.mul(T::V::load(x.add(j))))
            .store(y.add(j));
        j += l;
    }
    while j < n {
        *y.add(j) = *y.add(j) + s * *x.add(j);
        j += 1;
    }
}

/// Which of [`gemv`]'s four loops fits a matrix-vector shape and layout.
fn gemv_case<T>(m: usize, n: usize, a: &Operand<T>, b: &Operand<T>) -> Option<u8> {
    if m == 1 && a.cs == 1 && b.rs == 1 {
        Some(0)
    } else if m == 1 && b.cs == 1 {
        Some(1)
    } else if n == 1 && a.cs == 1 && b.rs == 1 {
        Some(2)
    } else if n == 1 && a.rs == 1 {
        Some(3)
    } else {
        None
    }
}

/// The algorithm [`gemm_one`] takes; [`matmul_path`] reports it so a test
/// can assert, in the wasm32 build where `usize` is 32 bits, that large
/// shapes take the packed path (a size test that wrapped once sent
/// 1024×2048×2048 to the unpacked loop, 80× slower) without timing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Path {
    /// m or n is 0: nothing to write.
    Empty = 0,
    /// k is 0: C is zero.
    ZeroK = 1,
    /// m or n is 1 and the layout gives contiguous runs.
    Gemv = 2,
    /// The strided triple loop (tiny products only).
    Unpacked = 3,
    /// Packed panels and the register-tiled micro-kernel.
    Packed = 4,
    /// Two to [`THIN_MAX_N`] columns: chunks of rows against broadcast B.
    Thin = 5,
    /// k is 1: an outer product, each row of C a scaled row of B.
    Outer = 6,
}

fn plan<T>(m: usize, n: usize, k: usize, a: &Operand<T>, b: &Operand<T>) -> Path {
    if m == 0 || n == 0 {
        Path::Empty
    } else if k == 0 {
        Path::ZeroK
    } else if (m == 1 || n == 1) && gemv_case(m, n, a, b).is_some() {
        Path::Gemv
    } else if m > 1 && (2..=THIN_MAX_N).contains(&n) && !is_tiny(m, n, k) {
        Path::Thin
    } else if is_tiny(m, n, k) || n == 1 || m == 1 {
        Path::Unpacked
    } else if k == 1 {
        Path::Outer
    } else {
        Path::Packed
    }
}

/// Matrix-vector products (m or n is 1) when the operand layout gives
/// contiguous runs; returns false to fall back to the general path.
unsafe fn gemv<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
) -> bool {
    match gemv_case(m, n, a, b) {
        Some(0) => {
            // c[j] = a · B[:, j]: B stored transposed, its columns contiguous.
            for j in 0..n {
                *c.add(j) = dot(a.p, b.p.offset(j as isize * b.cs), k);
            }
        }
        Some(1) => {
            // c = Σ_p a[p]·B[p, :]: rows of B contiguous.
            axpy_first(a.at(0, 0), b.p, c, n);
            for p in 1..k {
                axpy(a.at(0, p), b.p.offset(p as isize * b.rs), c, n);
            }
        }
        Some(2) => {
            // c[i] = A[i, :] · b: rows of A contiguous.
            for i in 0..m {
                *c.add(i) = dot(a.p.offset(i as isize * a.rs), b.p, k);
            }
        }
        Some(_) => {
            // c = Σ_p b[p]·A[:, p]: A stored transposed, its columns contiguous.
            axpy_first(b.at(0, 0), a.p, c, m);
            for p in 1..k {
                axpy(b.at(p, 0), a.p.offset(p as isize * a.cs), c, m);
            }
        }
        None => return false,
    }
    true
}

type Ukernel<T> = unsafe fn(usize, *const T, *const T, *mut T, usize, bool);

/// Work done on each finished block of C while it is still in cache (a
/// bias, an activation, ...): [`packed`] calls it once per MC×NC block right
/// after the block's last K panel, the other paths once on the whole
/// product. `row` and `col` are the block's top-left position in the
/// product the caller asked for, `c` its first element, `ldc` C's row
/// stride. A caller that runs a sub-range of a product wraps its epilogue
/// in [`At`] so that positions stay absolute. When a product is split
/// across threads, `apply` runs on several at once (on disjoint blocks),
/// in workers too: like all code a worker runs, it must not allocate or
/// touch mutable statics (parallel.rs).
pub(crate) trait Epilogue<T> {
    /// # Safety
    /// `c` is valid for `rows × cols` elements at row stride `ldc`.
    unsafe fn apply(&self, row: usize, col: usize, c: *mut T, ldc: usize, rows: usize, cols: usize);

    /// Its work per element of C, in multiply-adds, for the decision to
    /// split a product across threads.
    fn cost(&self) -> u64 {
        0
    }

    /// For an epilogue that only adds a matrix X of the product's shape
    /// ([`AddTo`]), X's element (`row`, `col`): the small paths then add it
    /// in the same pass as the product.
    fn addend_at(&self, _row: usize, _col: usize) -> Option<*const T> {
        None
    }
}

/// `C = X + A·B` for X row-major at row stride `ld` (the product's shape):
/// each finished block gets X added, elementwise as an `add` after the
/// product would (the same bits).
pub(crate) struct AddTo<T> {
    pub x: *const T,
    pub ld: usize,
}

impl<T: Float> Epilogue<T> for AddTo<T> {
    unsafe fn apply(
        &self,
        row: usize,
        col: usize,
        c: *mut T,
        ldc: usize,
        rows: usize,
        cols: usize,
    ) {
        let l = <T::V as Vector<T>>::LANES;
        for i in 0..rows {
            let (x, ci) = (self.x.add((row + i) * self.ld + col), c.add(i * ldc));
            let mut j = 0;
            while j + l <= cols {
                T::V::load(x.add(j))
                    .add(T::V::load(ci.add(j)))
                    .store(ci.add(j));
                j += l;
            }
            while j < cols {
                *ci.add(j) = *x.add(j) + *ci.add(j);
                j += 1;
            }
        }
    }

    fn addend_at(&self, row: usize, col: usize) -> Option<*const T> {
        Some(self.x.wrapping_add(row * self.ld + col))
    }
}

/// An epilogue seen from a sub-range of the product starting at (`row`,
/// `col`) (one matrix of a batch, or a block of rows or columns).
pub(crate) struct At<'a, T> {
    pub ep: &'a dyn Epilogue<T>,
    pub row: usize,
    pub col: usize,
}

impl<T> Epilogue<T> for At<'_, T> {
    unsafe fn apply(
        &self,
        row: usize,
        col: usize,
        c: *mut T,
        ldc: usize,
        rows: usize,
        cols: usize,
    ) {
        self.ep
            .apply(self.row + row, self.col + col, c, ldc, rows, cols)
    }

    fn cost(&self) -> u64 {
        self.ep.cost()
    }

    fn addend_at(&self, row: usize, col: usize) -> Option<*const T> {
        self.ep.addend_at(self.row + row, self.col + col)
    }
}

/// True when a product is small enough that packing costs more than it
/// saves. Computed in u64: `usize` is 32 bits on wasm32, where `m * n * k`
/// wraps for large shapes (1024×2048×2048 is exactly 2³²), which once sent
/// them to the unpacked triple loop at a few hundred MFLOP/s.
#[inline]
fn is_tiny(m: usize, n: usize, k: usize) -> bool {
    (m as u64) * (n as u64) * (k as u64) <= 512
}

/// Grows a packing buffer (typed, or the untyped words of the per-part
/// buffers) to at least `n` zeroed elements without aborting when memory is
/// exhausted (`resize` would trap): false if it cannot.
fn grow<T: Copy + Default>(v: &mut Vec<T>, n: usize) -> bool {
    if v.len() < n {
        if v.try_reserve_exact(n - v.len()).is_err() {
            return false;
        }
        v.resize(n, T::default());
    }
    true
}

/// The plain triple loop for products too small to pack: `C = A·B`, or
/// `C += A·B` with `acc`, C's rows `ldc` apart.
#[allow(clippy::too_many_arguments)]
unsafe fn unpacked<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    ldc: usize,
    acc: bool,
) {
    if !acc && row_vectorised(k, b, n) {
        // Rows of B contiguous (an outer product, a small row-major
        // product): C's rows as sums of scaled B rows, vectorised along n.
        // Each element is summed in the same order as below (from zero,
        // over p), so the results are the same bits.
        for i in 0..m {
            let ci = c.add(i * ldc);
            axpy_first(a.at(i, 0), b.p, ci, n);
            for p in 1..k {
                axpy(a.at(i, p), b.p.offset(p as isize * b.rs), ci, n);
            }
        }
        return;
    }
    for i in 0..m {
        for j in 0..n {
            let mut s = T::ZERO;
            for p in 0..k {
                s = s + a.at(i, p) * b.at(p, j);
            }
            let d = c.add(i * ldc + j);
            *d = if acc { *d + s } else { s };
        }
    }
}

/// Whether [`unpacked`] takes its row-vectorised loop (rows of B
/// contiguous, at least a vector wide).
fn row_vectorised<T: Float>(k: usize, b: &Operand<T>, n: usize) -> bool {
    k > 0 && b.cs == 1 && n >= <T::V as Vector<T>>::LANES
}

/// `C = X + A·B` (all `m × n` contiguous) for the products [`unpacked`]
/// runs row-vectorised: each element summed in the same order (from zero,
/// over p), then X added, in one pass instead of a product and an add.
unsafe fn unpacked_add<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    x: *const T,
) {
    let l = <T::V as Vector<T>>::LANES;
    let z = T::V::splat(T::ZERO);
    for i in 0..m {
        let (ci, xi) = (c.add(i * n), x.add(i * n));
        let mut j = 0;
        while j + l <= n {
            let mut s = z.add(T::V::splat(a.at(i, 0)).mul(T::V::load(b.p.add(j))));
            for p in 1..k {
                let bp = b.p.offset(p as isize * b.rs).add(j);
                s = s.add(T::V::splat(a.at(i, p)).mul(T::V::load(bp)));
            }
            T::V::load(xi.add(j)).add(s).store(ci.add(j));
            j += l;
        }
        while j < n {
            let mut s = T::ZERO + a.at(i, 0) * *b.p.add(j);
            for p in 1..k {
                s = s + a.at(i, p) * *b.p.offset(p as isize * b.rs).add(j);
            }
            *ci.add(j) = *xi.add(j) + s;
            j += 1;
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn gemm_one<T: Float, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    uk: Ukernel<T>,
    apack: &mut Vec<T>,
    bpack: &mut Vec<T>,
    ep: Option<&dyn Epilogue<T>>,
) -> bool {
    match plan(m, n, k, a, b) {
        Path::Empty => return true,
        Path::ZeroK => core::slice::from_raw_parts_mut(c, m * n).fill(T::ZERO),
        Path::Gemv => {
            if !gemv(m, n, k, a, b, c) {
                return false;
            }
        }
        Path::Unpacked => {
            let x = ep.and_then(|e| e.addend_at(0, 0));
            if let Some(x) = x.filter(|_| row_vectorised(k, b, n)) {
                unpacked_add(m, n, k, a, b, c, x);
                return true;
            }
            unpacked(m, n, k, a, b, c, n, false)
        }
        Path::Packed => {
            return packed_any::<T, NR>(m, n, k, a, b, c, n, false, uk, apack, bpack, ep)
        }
        Path::Thin => {
            if !thin(m, n, k, a, b, c, apack, bpack) {
                return false;
            }
        }
        Path::Outer => {
            if !outer(m, n, a, b, c, bpack) {
                return false;
            }
        }
    }
    // Small or vector-shaped products: the epilogue runs once on all of C.
    if let Some(e) = ep {
        e.apply(0, 0, c, n, m, n);
    }
    true
}

/// `C = A B` for k = 1 (C contiguous `m × n`): an outer product, as a
/// per-sample weight gradient is (`vmap(grad)` of a layer: 64 products of
/// 256×1 by 1×784). Packed tiles would run one multiply-add step each after
/// copying both operands, four times slower than this loop, which is bound
/// by the stores: each row of C is `0 + a_i·b`, B's row scaled, with the
/// bits of the packed path's sum from zero. Rows split across threads when
/// C is large (each row on its own, so the bits do not depend on the thread
/// count). False when the buffer for a strided B cannot grow.
unsafe fn outer<T: Float>(
    m: usize,
    n: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    bpack: &mut Vec<T>,
) -> bool {
    let row = if b.cs == 1 {
        b.p
    } else {
        if !grow(bpack, n) {
            return false;
        }
        let d = bpack.as_mut_ptr();
        for j in 0..n {
            *d.add(j) = b.at(0, j);
        }
        d as *const T
    };
    // Addresses as integers: the closure runs on worker threads.
    let (ap, ars, rp, cp) = (a.p as usize, a.rs, row as usize, c as usize);
    let rows = |lo: usize, hi: usize| {
        for i in lo..hi {
            let ai = *(ap as *const T).offset(i as isize * ars);
            axpy_first(ai, rp as *const T, (cp as *mut T).add(i * n), n);
        }
    };
    let parts = parallel::parts_for_elements(m.saturating_mul(n), 1);
    if parts < 2 {
        rows(0, m);
    } else {
        parallel::split_range(parts, m, 1, &|_, lo, hi| rows(lo, hi));
    }
    true
}

/// The most columns a [`Path::Thin`] product has.
const THIN_MAX_N: usize = 4;

/// `C = A B` for 2 to [`THIN_MAX_N`] columns (C contiguous `m × n`): the
/// gradient with respect to a network's two or three input coordinates, a
/// layer with a few outputs. [`packed`]'s tiles are NR columns wide, so
/// there such a product computes mostly padding and copies every tile
/// through scratch (a 1,024×2×64 product ran at a tenth of the 64-column
/// product's rate). Here rows go in chunks of two vectors: each step over k
/// multiplies the chunk's column of A by B's row, broadcast, into 2·n
/// accumulators. Every element is summed from zero over k in order with the
/// same multiply-add whatever the layout, so transpose flags (which the
/// jit's transpose fold changes) never change the bits. False when the
/// buffers cannot grow.
#[allow(clippy::too_many_arguments)]
unsafe fn thin<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    apack: &mut Vec<T>,
    bpack: &mut Vec<T>,
) -> bool {
    match n {
        2 => thin_n::<T, 2>(m, k, a, b, c, apack, bpack),
        3 => thin_n::<T, 3>(m, k, a, b, c, apack, bpack),
        _ => thin_n::<T, THIN_MAX_N>(m, k, a, b, c, apack, bpack),
    }
}

/// [`thin`] for `N` columns.
unsafe fn thin_n<T: Float, const N: usize>(
    m: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    apack: &mut Vec<T>,
    bpack: &mut Vec<T>,
) -> bool {
    let l = <T::V as Vector<T>>::LANES;
    let r = 2 * l; // rows per chunk
    if !grow(bpack, k * N) || !grow(apack, k * r) {
        return false;
    }
    // B by rows, contiguous: each step broadcasts its N values.
    let bp = bpack.as_mut_ptr();
    for p in 0..k {
        for j in 0..N {
            *bp.add(p * N + j) = b.at(p, j);
        }
    }
    let ap = apack.as_mut_ptr();
    let z = T::V::splat(T::ZERO);
    let mut tile = [T::ZERO; 8 * THIN_MAX_N];
    let t = tile.as_mut_ptr();
    for i0 in (0..m).step_by(r) {
        let rows = r.min(m - i0);
        // Column p of the chunk: r values at `col + p·stride`.
        let (col, stride) = if a.rs == 1 && rows == r {
            (a.p.add(i0), a.cs) // Aᵀ stored: read in place
        } else {
            pack_chunk(a, i0, rows, k, r, ap);
            (ap as *const T, r as isize)
        };
        let mut acc0 = [z; N];
        let mut acc1 = [z; N];
        for p in 0..k {
            let x = col.offset(p as isize * stride);
            let (a0, a1) = (T::V::load(x), T::V::load(x.add(l)));
            for j in 0..N {
                let bj = T::V::splat(*bp.add(p * N + j));
                acc0[j] = a0.mul_add(bj, acc0[j]);
                acc1[j] = a1.mul_add(bj, acc1[j]);
            }
        }
        for j in 0..N {
            acc0[j].store(t.add(j * r));
            acc1[j].store(t.add(j * r + l));
        }
        for q in 0..rows {
            for j in 0..N {
                *c.add((i0 + q) * N + j) = *t.add(j * r + q);
            }
        }
    }
    true
}

/// Rows `i0..i0 + rows` of A into `d` by columns (`d[p·r + q] = A[i0 + q,
/// p]`), zero past `rows`; row-major A through [`pack_rows`] (the f32 or
/// f64 instance stands in for T, the copy being exact; `r` is two vectors
/// of either).
unsafe fn pack_chunk<T: Float>(
    a: &Operand<T>,
    i0: usize,
    rows: usize,
    k: usize,
    r: usize,
    d: *mut T,
) {
    if rows == r && a.cs == 1 {
        let base = a.p.offset(i0 as isize * a.rs);
        if core::mem::size_of::<T>() == 4 {
            pack_rows::<f32, F32x4, 8>(base as *const f32, a.rs, k, d as *mut f32);
        } else {
            pack_rows::<f64, F64x2, 4>(base as *const f64, a.rs, k, d as *mut f64);
        }
        return;
    }
    for p in 0..k {
        for q in 0..r {
            *d.add(p * r + q) = if q < rows { a.at(i0 + q, p) } else { T::ZERO };
        }
    }
}

/// The packed loops of [`gemm_one`]: `C = A B`, or `C += A B` with `acc`,
/// C at row stride `ldc` (so that it can be a block of a larger matrix);
/// `ep` runs on each MC×NC block of C once its last K panel is in.
#[allow(clippy::too_many_arguments)]
unsafe fn packed<T: Float, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    ldc: usize,
    acc: bool,
    uk: Ukernel<T>,
    apack: *mut T,
    bpack: *mut T,
    ep: Option<&dyn Epilogue<T>>,
) {
    let mut tile = [T::ZERO; MR * 8];
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let add = acc || pc > 0;
            pack_b::<T, NR>(b, pc, jc, kc, nc, bpack);
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                pack_a(a, ic, pc, mc, kc, apack);
                for (q, jr) in (0..nc).step_by(NR).enumerate() {
                    let nr = NR.min(nc - jr);
                    let bp = bpack.add(q * (kc * NR + PAD));
                    for ir in (0..mc).step_by(MR) {
                        let mr = MR.min(mc - ir);
                        let ap = apack.add(ir * kc);
                        let cp = c.add((ic + ir) * ldc + jc + jr);
                        if mr == MR && nr == NR {
                            uk(kc, ap, bp, cp, ldc, add);
                        } else {
                            uk(kc, ap, bp, tile.as_mut_ptr(), NR, false);
                            for i in 0..mr {
                                for j in 0..nr {
                                    let d = cp.add(i * ldc + j);
                                    let v = tile[i * NR + j];
                                    *d = if add { *d + v } else { v };
                                }
                            }
                        }
                    }
                }
                if let (Some(e), true) = (ep, pc + kc == k) {
                    e.apply(ic, jc, c.add(ic * ldc + jc), ldc, mc, nc);
                }
            }
        }
    }
}

/// Elements of the A and B packing buffers that [`packed`] needs for an
/// `m × n × k` product (its largest blocks).
fn pack_sizes<const NR: usize>(m: usize, n: usize, k: usize) -> (usize, usize) {
    let kc = KC.min(k);
    (
        MC.min(m).div_ceil(MR) * MR * kc,
        NC.min(n).div_ceil(NR) * (kc * NR + PAD),
    )
}

/// [`packed`] on buffers grown to size, split across threads when the
/// product is large enough and a pool is running (see parallel.rs). False
/// when the packing buffers cannot grow.
#[allow(clippy::too_many_arguments)]
unsafe fn packed_any<T: Float, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    ldc: usize,
    acc: bool,
    uk: Ukernel<T>,
    apack: &mut Vec<T>,
    bpack: &mut Vec<T>,
    ep: Option<&dyn Epilogue<T>>,
) -> bool {
    let steps = ep.map_or(0, |e| e.cost());
    let parts = parallel::parts_for(m as u64 * n as u64 * (k as u64 + steps));
    if parts > 1 && packed_parallel::<T, NR>(parts, m, n, k, a, b, c, ldc, acc, apack, bpack, ep) {
        return true;
    }
    let (na, nb) = pack_sizes::<NR>(m, n, k);
    if !grow(apack, na) || !grow(bpack, nb) {
        return false;
    }
    packed::<T, NR>(
        m,
        n,
        k,
        a,
        b,
        c,
        ldc,
        acc,
        uk,
        apack.as_mut_ptr(),
        bpack.as_mut_ptr(),
        ep,
    );
    true
}

/// One multi-threaded [`packed`] product, as the workers read it: C is cut
/// into column blocks (multiples of NR) or row blocks (multiples of MR),
/// one per part, each with its own packing buffers. Every element is summed
/// in the same order as on one thread, so results do not depend on the
/// thread count.
#[repr(C)]
struct GemmJob {
    /// [`parallel::JOB_GEMM`].
    kind: u32,
    f64_: u32,
    split_cols: u32,
    acc: u32,
    parts: usize,
    m: usize,
    n: usize,
    k: usize,
    a: (usize, isize, isize),
    b: (usize, isize, isize),
    c: usize,
    ldc: usize,
    packs: [(usize, usize); parallel::MAX_PARTS],
    /// Address of an `Option<&dyn Epilogue<T>>` on the caller's stack.
    ep: usize,
}

thread_local! {
    /// Packing buffers of parts 1.. (part 0 uses the caller's), kept across
    /// calls; only the main instance touches them, before it spawns.
    static PART_PACKS: core::cell::RefCell<Vec<(Vec<u64>, Vec<u64>)>> =
        const { core::cell::RefCell::new(Vec::new()) };
}

/// Splits a product across `parts` threads; false (nothing written) when
/// its shape has too few tiles to split or buffers cannot be allocated.
#[allow(clippy::too_many_arguments)]
unsafe fn packed_parallel<T: Float, const NR: usize>(
    parts: usize,
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    ldc: usize,
    acc: bool,
    apack: &mut Vec<T>,
    bpack: &mut Vec<T>,
    ep: Option<&dyn Epilogue<T>>,
) -> bool {
    // Splitting columns repeats the packing of A in every part, splitting
    // rows that of B: repeat the smaller one.
    let (gm, gn) = (m.div_ceil(MR), n.div_ceil(NR));
    let split_cols = (m <= n && gn >= 2) || gm < 2;
    let parts = parts.min(if split_cols { gn } else { gm });
    if parts < 2 {
        return false;
    }
    let (pm, pn) = if split_cols {
        (m, gn.div_ceil(parts) * NR)
    } else {
        (gm.div_ceil(parts) * MR, n)
    };
    let (na, nb) = pack_sizes::<NR>(pm, pn, k);
    if !grow(apack, na) || !grow(bpack, nb) {
        return false;
    }
    let words = |elems: usize| (elems * core::mem::size_of::<T>()).div_ceil(8);
    let mut packs = [(0usize, 0usize); parallel::MAX_PARTS];
    packs[0] = (apack.as_mut_ptr() as usize, bpack.as_mut_ptr() as usize);
    let ok = PART_PACKS.with(|pool| {
        let mut pool = pool.borrow_mut();
        while pool.len() < parts - 1 {
            pool.push((Vec::new(), Vec::new()));
        }
        for (p, (pa, pb)) in pool.iter_mut().take(parts - 1).enumerate() {
            if !grow(pa, words(na)) || !grow(pb, words(nb)) {
                return false;
            }
            packs[p + 1] = (pa.as_mut_ptr() as usize, pb.as_mut_ptr() as usize);
        }
        true
    });
    if !ok {
        return false;
    }
    let job = GemmJob {
        kind: parallel::JOB_GEMM,
        f64_: (core::mem::size_of::<T>() == 8) as u32,
        split_cols: split_cols as u32,
        acc: acc as u32,
        parts,
        m,
        n,
        k,
        a: (a.p as usize, a.rs, a.cs),
        b: (b.p as usize, b.rs, b.cs),
        c: c as usize,
        ldc,
        packs,
        ep: &ep as *const Option<&dyn Epilogue<T>> as usize,
    };
    let at = &job as *const GemmJob as usize;
    parallel::fork_join(at, parts, || run_gemm_part(at, 0));
    true
}

/// Runs part `part` of the [`GemmJob`] at `job` (the main instance's part 0,
/// or a worker's). Allocates nothing.
///
/// # Safety
/// `job` must point at a live [`GemmJob`] whose buffers are sized for it.
pub(crate) unsafe fn run_gemm_part(job: usize, part: usize) {
    let j = &*(job as *const GemmJob);
    if j.f64_ != 0 {
        gemm_part::<f64, 4>(j, part, ukernel_f64);
    } else {
        gemm_part::<f32, 8>(j, part, ukernel_f32);
    }
}

unsafe fn gemm_part<T: Float, const NR: usize>(j: &GemmJob, p: usize, uk: Ukernel<T>) {
    let op = |(ptr, rs, cs): (usize, isize, isize)| Operand {
        p: ptr as *const T,
        rs,
        cs,
    };
    let (mut a, mut b) = (op(j.a), op(j.b));
    let mut c = j.c as *mut T;
    let (mut m, mut n) = (j.m, j.n);
    let (mut row, mut col) = (0, 0);
    if j.split_cols != 0 {
        let (lo, hi) = parallel::part_range(n, NR, j.parts, p);
        b.p = b.p.offset(lo as isize * b.cs);
        c = c.add(lo);
        n = hi - lo;
        col = lo;
    } else {
        let (lo, hi) = parallel::part_range(m, MR, j.parts, p);
        a.p = a.p.offset(lo as isize * a.rs);
        c = c.add(lo * j.ldc);
        m = hi - lo;
        row = lo;
    }
    if m == 0 || n == 0 {
        return;
    }
    let (ap, bp) = j.packs[p];
    // The epilogue sees this part's blocks at their positions in the product.
    let ep = (*(j.ep as *const Option<&dyn Epilogue<T>>)).map(|ep| At { ep, row, col });
    packed::<T, NR>(
        m,
        n,
        j.k,
        &a,
        &b,
        c,
        j.ldc,
        j.acc != 0,
        uk,
        ap as *mut T,
        bp as *mut T,
        ep.as_ref().map(|e| e as &dyn Epilogue<T>),
    );
}

/// `C += A B` with C an `m × n` block at row stride `ldc` and A, B given
/// by pointer and element strides, for the blocked factorizations
/// (linalg.rs), whose trailing updates land in place. Small or
/// vector-shaped products take a plain loop. False when the packing
/// buffers cannot grow (C is then partly updated).
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_acc<T: Float, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: &Operand<T>,
    b: &Operand<T>,
    c: *mut T,
    ldc: usize,
    uk: Ukernel<T>,
    apack: &mut Vec<T>,
    bpack: &mut Vec<T>,
) -> bool {
    if m == 0 || n == 0 || k == 0 {
        return true;
    }
    if m < 2 || n < 2 || is_tiny(m, n, k) {
        unpacked(m, n, k, a, b, c, ldc, true);
        return true;
    }
    packed_any::<T, NR>(m, n, k, a, b, c, ldc, true, uk, apack, bpack, None)
}

/// A is m×k (row-major) or, transposed, stored k×m; B is k×n or stored n×k.
fn operands<T>(
    ap: *const T,
    bp: *const T,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
) -> (Operand<T>, Operand<T>) {
    let (ars, acs) = if trans_a { (1, m) } else { (k, 1) };
    let (brs, bcs) = if trans_b { (1, k) } else { (n, 1) };
    let op = |p, rs: usize, cs: usize| Operand {
        p,
        rs: rs as isize,
        cs: cs as isize,
    };
    (op(ap, ars, acs), op(bp, brs, bcs))
}

/// The [`Path`] (as its number) that [`matmul_f32`]/[`matmul_f64`] take for
/// one matrix of this shape and layout; for tests.
#[wasm_bindgen]
pub fn matmul_path(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool) -> u32 {
    let (a, b) = operands::<f32>(
        core::ptr::null(),
        core::ptr::null(),
        m,
        n,
        k,
        trans_a,
        trans_b,
    );
    plan(m, n, k, &a, &b) as u32
}

#[allow(clippy::too_many_arguments)]
unsafe fn matmul_generic<T: Float, const NR: usize>(
    a: usize,
    b: usize,
    c: usize,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    sa: usize,
    sb: usize,
    uk: Ukernel<T>,
    ep: Option<&dyn Epilogue<T>>,
) -> i32 {
    let mut apack = Vec::new();
    let mut bpack = Vec::new();
    for bi in 0..batch {
        let ap = (a as *const T).add(bi * sa);
        let bp = (b as *const T).add(bi * sb);
        let (ao, bo) = operands(ap, bp, m, n, k, trans_a, trans_b);
        // Matrix bi's rows are rows bi·m.. of the stacked product.
        let at = ep.map(|ep| At {
            ep,
            row: bi * m,
            col: 0,
        });
        let ok = gemm_one::<T, NR>(
            m,
            n,
            k,
            &ao,
            &bo,
            (c as *mut T).add(bi * m * n),
            uk,
            &mut apack,
            &mut bpack,
            at.as_ref().map(|e| e as &dyn Epilogue<T>),
        );
        if !ok {
            return OUT_OF_MEMORY;
        }
    }
    0
}

/// One GEMM `C = A @ B` (C contiguous `m × n`) on operands given by a
/// pointer and element strides, for kernels built on GEMM (convolution);
/// the packing buffers are the caller's, reused across calls. False when
/// they cannot grow.
pub(crate) trait Gemm: Float {
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        c: *mut Self,
        apack: &mut Vec<Self>,
        bpack: &mut Vec<Self>,
    ) -> bool;
    /// `C += A B`, C at row stride `ldc`; see [`gemm_acc`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_acc(
        m: usize,
        n: usize,
        k: usize,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        c: *mut Self,
        ldc: usize,
        apack: &mut Vec<Self>,
        bpack: &mut Vec<Self>,
    ) -> bool;
    /// Batched matmul as [`matmul_f32`], `ep` applied to every finished
    /// block of the `[batch·m, n]` product (rows of all matrices numbered
    /// on).
    #[allow(clippy::too_many_arguments)]
    unsafe fn matmul_epilogue(
        a: usize,
        b: usize,
        c: usize,
        batch: usize,
        m: usize,
        n: usize,
        k: usize,
        trans: (bool, bool),
        strides: (usize, usize),
        ep: &dyn Epilogue<Self>,
    ) -> i32;
}

macro_rules! gemm_impl {
    ($t:ty, $nr:expr, $uk:ident) => {
        impl Gemm for $t {
            unsafe fn gemm(
                m: usize,
                n: usize,
                k: usize,
                a: (*const $t, isize, isize),
                b: (*const $t, isize, isize),
                c: *mut $t,
                apack: &mut Vec<$t>,
                bpack: &mut Vec<$t>,
            ) -> bool {
                gemm_one::<$t, $nr>(m, n, k, &a.into(), &b.into(), c, $uk, apack, bpack, None)
            }
            unsafe fn gemm_acc(
                m: usize,
                n: usize,
                k: usize,
                a: (*const $t, isize, isize),
                b: (*const $t, isize, isize),
                c: *mut $t,
                ldc: usize,
                apack: &mut Vec<$t>,
                bpack: &mut Vec<$t>,
            ) -> bool {
                gemm_acc::<$t, $nr>(m, n, k, &a.into(), &b.into(), c, ldc, $uk, apack, bpack)
            }
            unsafe fn matmul_epilogue(
                a: usize,
                b: usize,
                c: usize,
                batch: usize,
                m: usize,
                n: usize,
                k: usize,
                (ta, tb): (bool, bool),
                (sa, sb): (usize, usize),
                ep: &dyn Epilogue<$t>,
            ) -> i32 {
                matmul_generic::<$t, $nr>(a, b, c, batch, m, n, k, ta, tb, sa, sb, $uk, Some(ep))
            }
        }
    };
}
gemm_impl!(f32, 8, ukernel_f32);
gemm_impl!(f64, 4, ukernel_f64);

/// Status of [`matmul_f32`]/[`matmul_f64`] when the packing buffers (up to
/// ~8.5 MB) cannot be allocated; C is then incomplete.
pub const OUT_OF_MEMORY: i32 = 1;

/// Batched f32 matmul; see the module doc for the layout. Returns 0, or
/// [`OUT_OF_MEMORY`].
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn matmul_f32(
    a: usize,
    b: usize,
    c: usize,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    a_batch_stride: usize,
    b_batch_stride: usize,
) -> i32 {
    unsafe {
        matmul_generic::<f32, 8>(
            a,
            b,
            c,
            batch,
            m,
            n,
            k,
            trans_a,
            trans_b,
            a_batch_stride,
            b_batch_stride,
            ukernel_f32,
            None,
        )
    }
}

/// `C = X + A·B`, X (at `x`) of C's shape: fields as [`matmul_f32`]; the
/// same bits as the product followed by an elementwise add, in one
/// instruction (and, for small products, one pass).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn matmul_add<T: Gemm>(
    a: usize,
    b: usize,
    c: usize,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    trans: (bool, bool),
    strides: (usize, usize),
    x: usize,
) -> i32 {
    let ep = AddTo {
        x: x as *const T,
        ld: n,
    };
    T::matmul_epilogue(a, b, c, batch, m, n, k, trans, strides, &ep)
}

/// As [`matmul_f32`] for f64.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn matmul_f64(
    a: usize,
    b: usize,
    c: usize,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    a_batch_stride: usize,
    b_batch_stride: usize,
) -> i32 {
    unsafe {
        matmul_generic::<f64, 4>(
            a,
            b,
            c,
            batch,
            m,
            n,
            k,
            trans_a,
            trans_b,
            a_batch_stride,
            b_batch_stride,
            ukernel_f64,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, n: usize, k: usize, ta: bool, tb: bool) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av * bv;
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    fn data(n: usize, seed: u32) -> Vec<f64> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2001) as f64 / 1000.0 - 1.0
            })
            .collect()
    }

    /// `x` (r × c, row-major) transposed.
    fn transposed(x: &[f64], r: usize, c: usize) -> Vec<f64> {
        (0..r * c).map(|t| x[(t % r) * c + t / r]).collect()
    }

    /// `matmul_f64` on `a`, `b` and `matmul_f32` on their f32 roundings:
    /// both statuses and both results.
    #[allow(clippy::too_many_arguments)]
    fn both(
        a: &[f64],
        b: &[f64],
        (batch, m, n, k): (usize, usize, usize, usize),
        ta: bool,
        tb: bool,
        sa: usize,
        sb: usize,
    ) -> ((i32, i32), Vec<f64>, Vec<f32>) {
        let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
        let mut c64 = vec![f64::NAN; batch * m * n];
        let mut c32 = vec![f32::NAN; batch * m * n];
        let (ap, bp, cp) = (
            a.as_ptr() as usize,
            b.as_ptr() as usize,
            c64.as_mut_ptr() as usize,
        );
        let s64 = matmul_f64(ap, bp, cp, batch, m, n, k, ta, tb, sa, sb);
        let (ap, bp, cp) = (
            a32.as_ptr() as usize,
            b32.as_ptr() as usize,
            c32.as_mut_ptr() as usize,
        );
        let s32 = matmul_f32(ap, bp, cp, batch, m, n, k, ta, tb, sa, sb);
        ((s64, s32), c64, c32)
    }

    #[test]
    fn outer_products_have_the_bits_of_a_sum_from_zero() {
        // k = 1 with more than THIN_MAX_N columns: every element is
        // `0 + a_i·b_j` in the element type, whatever the flags, batched.
        for m in [2, 5, 9, 64, 300] {
            for n in [5, 8, 13, 784] {
                if is_tiny(m, n, 1) {
                    continue;
                }
                let batch = 3;
                let mut a = data(batch * m, 5);
                let b = data(batch * n, 6);
                a[1] = -0.0; // a signed zero: the sum from zero gives +0
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    assert_eq!(matmul_path(m, n, 1, ta, tb), Path::Outer as u32);
                    let (status, c64, c32) = both(&a, &b, (batch, m, n, 1), ta, tb, m, n);
                    assert_eq!(status, (0, 0));
                    for q in 0..batch {
                        for i in 0..m {
                            for j in 0..n {
                                let (x, y) = (a[q * m + i], b[q * n + j]);
                                let at = (q * m + i) * n + j;
                                let w32 = 0f32 + (x as f32) * (y as f32);
                                assert_eq!(c32[at].to_bits(), w32.to_bits(), "{m}x{n} {ta} {tb}");
                                assert_eq!(c64[at].to_bits(), (0.0 + x * y).to_bits());
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn thin_products_match_naive_and_keep_bits_across_flags() {
        for n in 2..=THIN_MAX_N {
            for m in [2, 5, 8, 9, 31, 64, 1024] {
                for k in [1, 3, 4, 7, 64, 300] {
                    if is_tiny(m, n, k) {
                        continue;
                    }
                    let a = data(m * k, 3); // logical A, m × k
                    let b = data(k * n, 4); // logical B, k × n
                    let want = naive(&a, &b, m, n, k, false, false);
                    let mut bits32: Option<Vec<u32>> = None;
                    let mut bits64: Option<Vec<u64>> = None;
                    for ta in [false, true] {
                        for tb in [false, true] {
                            assert_eq!(matmul_path(m, n, k, ta, tb), Path::Thin as u32);
                            let sa = if ta { transposed(&a, m, k) } else { a.clone() };
                            let sb = if tb { transposed(&b, k, n) } else { b.clone() };
                            let (status, c64, c32) = both(&sa, &sb, (1, m, n, k), ta, tb, 0, 0);
                            assert_eq!(status, (0, 0));
                            for i in 0..m * n {
                                let what = format!("{m}x{n}x{k} {ta} {tb} at {i}");
                                assert!(
                                    (c64[i] - want[i]).abs() < 1e-12 * (1.0 + k as f64),
                                    "f64 {what}"
                                );
                                assert!(
                                    (c32[i] as f64 - want[i]).abs() < 1e-5 * (1.0 + k as f64),
                                    "f32 {what}"
                                );
                            }
                            let b32: Vec<u32> = c32.iter().map(|x| x.to_bits()).collect();
                            let b64: Vec<u64> = c64.iter().map(|x| x.to_bits()).collect();
                            assert_eq!(
                                bits32.get_or_insert_with(|| b32.clone()),
                                &b32,
                                "{m}x{n}x{k}"
                            );
                            assert_eq!(
                                bits64.get_or_insert_with(|| b64.clone()),
                                &b64,
                                "{m}x{n}x{k}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matmul_matches_naive() {
        let sizes = [
            (1, 1, 1),
            (3, 5, 7),
            (7, 9, 300),
            (13, 17, 1),
            (64, 64, 64),
            (100, 33, 270),
            (6, 8, 4),
            (1, 20, 5),
            (20, 1, 5),
            (1, 37, 301),
            (301, 1, 37),
            (1, 1, 33),
            (1, 19, 3),
            (0, 3, 2),
            (3, 4, 0),
        ];
        for &(m, n, k) in &sizes {
            for ta in [false, true] {
                for tb in [false, true] {
                    let batch = 2;
                    let a = data(batch * m * k, 1);
                    let b = data(k * n, 2); // broadcast B
                    let (status, c64, c32) = both(&a, &b, (batch, m, n, k), ta, tb, m * k, 0);
                    assert_eq!(status, (0, 0));
                    for bi in 0..batch {
                        let want = naive(&a[bi * m * k..(bi + 1) * m * k], &b, m, n, k, ta, tb);
                        for i in 0..m * n {
                            let w = want[i];
                            let g64 = c64[bi * m * n + i];
                            let g32 = c32[bi * m * n + i] as f64;
                            assert!(
                                (g64 - w).abs() < 1e-12 * (1.0 + k as f64),
                                "f64 {m}x{n}x{k} {ta} {tb} {g64} {w}"
                            );
                            assert!(
                                (g32 - w).abs() < 1e-5 * (1.0 + k as f64),
                                "f32 {m}x{n}x{k} {ta} {tb} {g32} {w}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Adds `1000·row + col` (absolute) to each element and counts visits.
    struct Mark {
        n: usize,
        seen: core::cell::RefCell<Vec<u32>>,
    }

    impl Epilogue<f64> for Mark {
        unsafe fn apply(
            &self,
            row: usize,
            col: usize,
            c: *mut f64,
            ldc: usize,
            rows: usize,
            cols: usize,
        ) {
            for i in 0..rows {
                for j in 0..cols {
                    let p = c.add(i * ldc + j);
                    *p += (1000 * (row + i) + col + j) as f64;
                    self.seen.borrow_mut()[(row + i) * self.n + col + j] += 1;
                }
            }
        }
    }

    #[test]
    fn epilogue_sees_each_finished_element_once_at_its_absolute_position() {
        // Unpacked, gemv, zero k, and packed with two row blocks (MC) and
        // three K panels (the epilogue must follow the last), batch 2.
        for &(m, n, k) in &[
            (3, 5, 7),
            (1, 37, 301),
            (5, 5, 0),
            (MC + 13, 45, 2 * KC + 88),
        ] {
            for (ta, tb, threads) in [(false, false, 1), (true, true, 1), (false, true, 3)] {
                let batch = 2;
                let a = data(batch * m * k, 3);
                let b = data(batch * k * n, 4);
                let mut c = vec![f64::NAN; batch * m * n];
                let ep = Mark {
                    n,
                    seen: core::cell::RefCell::new(vec![0; batch * m * n]),
                };
                // Split across (simulated) threads, parts see absolute positions.
                crate::parallel::set_simulated_threads(threads);
                let status = unsafe {
                    f64::matmul_epilogue(
                        a.as_ptr() as usize,
                        b.as_ptr() as usize,
                        c.as_mut_ptr() as usize,
                        batch,
                        m,
                        n,
                        k,
                        (ta, tb),
                        (m * k, k * n),
                        &ep,
                    )
                };
                crate::parallel::set_simulated_threads(1);
                assert_eq!(status, 0);
                assert!(ep.seen.borrow().iter().all(|&v| v == 1), "{m}x{n}x{k}");
                for bi in 0..batch {
                    let want = naive(
                        &a[bi * m * k..(bi + 1) * m * k],
                        &b[bi * k * n..(bi + 1) * k * n],
                        m,
                        n,
                        k,
                        ta,
                        tb,
                    );
                    for i in 0..m {
                        for j in 0..n {
                            let w = want[i * n + j] + (1000 * (bi * m + i) + j) as f64;
                            let g = c[(bi * m + i) * n + j];
                            assert!(
                                (g - w).abs() < 1e-9,
                                "{m}x{n}x{k} at {bi},{i},{j}: {g} vs {w}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn packing_buffers_report_exhaustion() {
        // A size no allocator can satisfy: false, not an abort.
        let mut v: Vec<f32> = Vec::new();
        assert!(!grow(&mut v, usize::MAX / 2));
        assert!(v.is_empty());
        assert!(grow(&mut v, 10) && v.len() == 10);
    }

    /// Tiny products with contiguous B rows (outer products, the steps of
    /// an ODE on a few states) take a row-vectorised loop; it must give the
    /// triple loop's bits.
    #[test]
    fn tiny_row_path_matches_the_triple_loop() {
        for &(m, n, k) in &[
            (16usize, 16usize, 1usize),
            (5, 9, 3),
            (3, 4, 7),
            (2, 31, 2),
            (8, 8, 8),
        ] {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a: Vec<f32> = data(m * k, 5).iter().map(|&x| x as f32).collect();
                let b: Vec<f32> = data(k * n, 6).iter().map(|&x| x as f32).collect();
                let mut c = vec![f32::NAN; m * n];
                matmul_f32(
                    a.as_ptr() as usize,
                    b.as_ptr() as usize,
                    c.as_mut_ptr() as usize,
                    1,
                    m,
                    n,
                    k,
                    ta,
                    tb,
                    0,
                    0,
                );
                for i in 0..m {
                    for j in 0..n {
                        let mut s = 0f32;
                        for p in 0..k {
                            let av = if ta { a[p * m + i] } else { a[i * k + p] };
                            let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                            s += av * bv;
                        }
                        assert_eq!(
                            c[i * n + j].to_bits(),
                            s.to_bits(),
                            "{m}x{n}x{k} {ta} {tb} ({i},{j})"
                        );
                    }
                }
            }
        }
    }

    /// Split across (simulated) threads, every shape and layout gives the
    /// single-thread bits: parts only choose which tiles a thread computes.
    #[test]
    fn threads_do_not_change_results() {
        let shapes = [
            (130usize, 70usize, 90usize),
            (64, 200, 33),
            (300, 17, 40),
            (9, 9, 7000),
            (97, 131, 300),
        ];
        for &(m, n, k) in &shapes {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a = data(m * k, 3);
                let b = data(k * n, 4);
                let run = |threads: u32| {
                    crate::parallel::set_simulated_threads(threads);
                    let (status, c64, c32) = both(&a, &b, (1, m, n, k), ta, tb, 0, 0);
                    crate::parallel::set_simulated_threads(1);
                    assert_eq!(status, (0, 0));
                    (c64, c32)
                };
                let (one64, one32) = run(1);
                for t in [2, 3, 5] {
                    let (c64, c32) = run(t);
                    assert!(
                        c64.iter()
                            .zip(&one64)
                            .all(|(x, y)| x.to_bits() == y.to_bits()),
                        "f64 {m}x{n}x{k} {ta} {tb} t={t}"
                    );
                    assert!(
                        c32.iter()
                            .zip(&one32)
                            .all(|(x, y)| x.to_bits() == y.to_bits()),
                        "f32 {m}x{n}x{k} {ta} {tb} t={t}"
                    );
                }
                let want = naive(&a, &b, m, n, k, ta, tb);
                let err = one64
                    .iter()
                    .zip(&want)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-9 * k as f64, "{m}x{n}x{k}: {err}");
            }
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::is_tiny;

    #[test]
    fn tiny_test_does_not_wrap_on_32_bit_products() {
        assert!(is_tiny(8, 8, 8));
        assert!(!is_tiny(9, 8, 8));
        // Products that are multiples of 2^32 wrapped to 0 in 32-bit usize.
        assert!(!is_tiny(1024, 2048, 2048));
        assert!(!is_tiny(2048, 2048, 1024));
        assert!(!is_tiny(4096, 1024, 1024));
        assert!(!is_tiny(65536, 65536, 1));
    }

    #[test]
    fn large_and_odd_shapes_take_the_packed_path() {
        use super::{matmul_path, Path};
        let packed = Path::Packed as u32;
        for (m, n, k) in [
            (1024, 2048, 2048),
            (2048, 2048, 1024),
            (4096, 1024, 1024),
            (2048, 2048, 2048),
        ] {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                assert_eq!(
                    matmul_path(m, n, k, ta, tb),
                    packed,
                    "{m}x{n}x{k} {ta} {tb}"
                );
            }
        }
        for n in (500..=520).chain([1023, 1024, 1025, 2048]) {
            assert_eq!(matmul_path(n, n, n, false, false), packed, "{n}");
        }
        assert_eq!(matmul_path(8, 8, 8, false, false), Path::Unpacked as u32);
        assert_eq!(matmul_path(1, 4096, 4096, false, true), Path::Gemv as u32);
        assert_eq!(matmul_path(1024, 2, 64, false, false), Path::Thin as u32);
        assert_eq!(matmul_path(64, 4, 1024, true, true), Path::Thin as u32);
        assert_eq!(matmul_path(1024, 5, 64, false, false), packed);
        assert_eq!(matmul_path(256, 784, 1, true, false), Path::Outer as u32);
        assert_eq!(
            matmul_path(65536, 65536, 1, false, false),
            Path::Outer as u32
        );
        assert_eq!(matmul_path(4096, 1, 4096, true, false), Path::Gemv as u32);
        assert_eq!(matmul_path(0, 5, 5, false, false), Path::Empty as u32);
        assert_eq!(matmul_path(5, 5, 0, false, false), Path::ZeroK as u32);
    }
}

#[cfg(test)]
mod add_tests {
    use super::{matmul_add, Gemm};
    use crate::num::Float;

    fn vals<T: Float>(n: usize, seed: f64) -> Vec<T> {
        let v = |i: usize| ((i as f64 * 0.37 + seed).sin() * 3.0).round() / 4.0 + 1e-3 * i as f64;
        (0..n).map(|i| T::from_f64(v(i))).collect()
    }

    /// `x + a·b` of one type against the plain product then the add.
    fn check<T: Gemm>(shape: (usize, usize, usize), batch: usize, trans: (bool, bool)) {
        let (m, n, k) = shape;
        let (a, b, x) = (
            vals::<T>(batch * m * k, 0.1),
            vals::<T>(batch * k * n, 0.7),
            vals::<T>(batch * m * n, 2.0),
        );
        let (pa, pb, strides) = (a.as_ptr() as usize, b.as_ptr() as usize, (m * k, k * n));
        let mut p = vec![T::ZERO; batch * m * n];
        let mut q = p.clone();
        unsafe {
            let plain = T::matmul_epilogue(
                pa,
                pb,
                p.as_mut_ptr() as usize,
                batch,
                m,
                n,
                k,
                trans,
                strides,
                &Nothing,
            );
            assert_eq!(plain, 0);
            let fused = matmul_add::<T>(
                pa,
                pb,
                q.as_mut_ptr() as usize,
                batch,
                m,
                n,
                k,
                trans,
                strides,
                x.as_ptr() as usize,
            );
            assert_eq!(fused, 0);
        }
        for i in 0..p.len() {
            let want = (x[i] + p[i]).to_f64().to_bits();
            assert_eq!(
                want,
                q[i].to_f64().to_bits(),
                "{m}x{n}x{k} batch {batch} {trans:?} [{i}]"
            );
        }
    }

    /// An epilogue that leaves the product as it is.
    struct Nothing;
    impl<T> super::Epilogue<T> for Nothing {
        unsafe fn apply(&self, _: usize, _: usize, _: *mut T, _: usize, _: usize, _: usize) {}
    }

    /// `x + a·b` in one instruction has the bits of the product then an add,
    /// on every path: outer products, row-vectorised and strided small
    /// products, matrix-vector, packed, batched, transposed, both types.
    #[test]
    fn matmul_add_is_the_product_then_an_add() {
        let shapes = [
            (16, 16, 1),
            (16, 1, 16),
            (1, 16, 16),
            (5, 7, 3),
            (3, 9, 4),
            (40, 33, 70),
            (130, 70, 300),
        ];
        for shape in shapes {
            for batch in [1usize, 3] {
                for trans in [(false, false), (true, false), (false, true), (true, true)] {
                    check::<f32>(shape, batch, trans);
                    check::<f64>(shape, batch, trans);
                }
            }
        }
    }
}
