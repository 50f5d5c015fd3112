//! Batched GEMM: `C[b] = op(A[b]) @ op(B[b])`, C contiguous `[batch, m, n]`.
//!
//! GotoBLAS structure: B is packed into KC×NR micro-panels (each padded by
//! `PAD` elements: power-of-two panel strides thrash L1), A into MR×KC
//! micro-panels, and a register-blocked SIMD micro-kernel computes an MR×NR
//! tile with all accumulators in registers (f32: 6×8 = 12 f32x4
//! accumulators; f64: 6×4 = 12 f64x2). Edge tiles run the same kernel into a
//! scratch tile. Transposes are just strides in the packing routines.
//! A[bi] starts at `a + bi*a_batch_stride` (elements; 0 broadcasts).

use crate::num::{Float, Vector};
use crate::simd::{F32x4, F64x2};
use wasm_bindgen::prelude::*;

const KC: usize = 256;
const MC: usize = 96;
const NC: usize = 4096;
const PAD: usize = 16;

macro_rules! ukernel {
    ($name:ident, $t:ty, $v:ty, $l:expr) => {
        /// MR(6) × NR(2 vectors) tile: `c[i*rsc + j] (+)= Σ_p a[p*6+i] b[p*NR+j]`.
        #[inline(always)]
        unsafe fn $name(kc: usize, a: *const $t, b: *const $t, c: *mut $t, rsc: usize, acc: bool) {
            let z = <$v>::splat(0.0);
            let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21) = (z, z, z, z, z, z);
            let (mut c30, mut c31, mut c40, mut c41, mut c50, mut c51) = (z, z, z, z, z, z);
            let mut ap = a;
            let mut bp = b;
            for _ in 0..kc {
                let b0 = <$v>::load(bp);
                let b1 = <$v>::load(bp.add($l));
                let a0 = <$v>::splat(*ap);
                c00 = c00.add(a0.mul(b0));
                c01 = c01.add(a0.mul(b1));
                let a1 = <$v>::splat(*ap.add(1));
                c10 = c10.add(a1.mul(b0));
                c11 = c11.add(a1.mul(b1));
                let a2 = <$v>::splat(*ap.add(2));
                c20 = c20.add(a2.mul(b0));
                c21 = c21.add(a2.mul(b1));
                let a3 = <$v>::splat(*ap.add(3));
                c30 = c30.add(a3.mul(b0));
                c31 = c31.add(a3.mul(b1));
                let a4 = <$v>::splat(*ap.add(4));
                c40 = c40.add(a4.mul(b0));
                c41 = c41.add(a4.mul(b1));
                let a5 = <$v>::splat(*ap.add(5));
                c50 = c50.add(a5.mul(b0));
                c51 = c51.add(a5.mul(b1));
                ap = ap.add(6);
                bp = bp.add(2 * $l);
            }
            let rows = [
                (c00, c01),
                (c10, c11),
                (c20, c21),
                (c30, c31),
                (c40, c41),
                (c50, c51),
            ];
            for (i, (x0, x1)) in rows.into_iter().enumerate() {
                let p = c.add(i * rsc);
                if acc {
                    <$v>::load(p).add(x0).store(p);
                    <$v>::load(p.add($l)).add(x1).store(p.add($l));
                } else {
                    x0.store(p);
                    x1.store(p.add($l));
                }
            }
        }
    };
}
ukernel!(ukernel_f32, f32, F32x4, 4);
ukernel!(ukernel_f64, f64, F64x2, 2);

const MR: usize = 6;

struct Operand<T> {
    p: *const T,
    rs: isize,
    cs: isize,
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
        if mr == MR && a.cs == 1 {
            let base = a.p.offset((ic + ir) as isize * a.rs + pc as isize);
            for p in 0..kc {
                for i in 0..MR {
                    *d.add(i) = *base.offset(i as isize * a.rs + p as isize);
                }
                d = d.add(MR);
            }
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
    if m == 1 && a.cs == 1 && b.rs == 1 {
        // c[j] = a · B[:, j]: B stored transposed, its columns contiguous.
        for j in 0..n {
            *c.add(j) = dot(a.p, b.p.offset(j as isize * b.cs), k);
        }
        return true;
    }
    if m == 1 && b.cs == 1 {
        // c = Σ_p a[p]·B[p, :]: rows of B contiguous.
        core::slice::from_raw_parts_mut(c, n).fill(T::ZERO);
        for p in 0..k {
            axpy(a.at(0, p), b.p.offset(p as isize * b.rs), c, n);
        }
        return true;
    }
    if n == 1 && a.cs == 1 && b.rs == 1 {
        // c[i] = A[i, :] · b: rows of A contiguous.
        for i in 0..m {
            *c.add(i) = dot(a.p.offset(i as isize * a.rs), b.p, k);
        }
        return true;
    }
    if n == 1 && a.rs == 1 {
        // c = Σ_p b[p]·A[:, p]: A stored transposed, its columns contiguous.
        core::slice::from_raw_parts_mut(c, m).fill(T::ZERO);
        for p in 0..k {
            axpy(b.at(p, 0), a.p.offset(p as isize * a.cs), c, m);
        }
        return true;
    }
    false
}

type Ukernel<T> = unsafe fn(usize, *const T, *const T, *mut T, usize, bool);

/// True when a product is small enough that packing costs more than it
/// saves. Computed in u64: `usize` is 32 bits on wasm32, where `m * n * k`
/// wraps for large shapes (1024×2048×2048 is exactly 2³²), which once sent
/// them to the unpacked triple loop at a few hundred MFLOP/s.
#[inline]
fn is_tiny(m: usize, n: usize, k: usize) -> bool {
    (m as u64) * (n as u64) * (k as u64) <= 512
}

/// Grows a packing buffer to at least `n` elements without aborting when
/// memory is exhausted (`resize` would trap): false if it cannot.
fn grow<T: Float>(v: &mut Vec<T>, n: usize) -> bool {
    if v.len() < n {
        if v.try_reserve_exact(n - v.len()).is_err() {
            return false;
        }
        v.resize(n, T::ZERO);
    }
    true
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
) -> bool {
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        core::slice::from_raw_parts_mut(c, m * n).fill(T::ZERO);
        return true;
    }
    // Matrix-vector shapes: dot products or axpys over contiguous runs.
    if (m == 1 || n == 1) && gemv(m, n, k, a, b, c) {
        return true;
    }
    // Tiny problems: packing costs more than it saves.
    if is_tiny(m, n, k) || n == 1 || m == 1 {
        for i in 0..m {
            for j in 0..n {
                let mut s = T::ZERO;
                for p in 0..k {
                    s = s + a.at(i, p) * b.at(p, j);
                }
                *c.add(i * n + j) = s;
            }
        }
        return true;
    }
    let mut tile = [T::ZERO; 6 * 8];
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let need_b = nc.div_ceil(NR) * (kc * NR + PAD);
            if !grow(bpack, need_b) {
                return false;
            }
            pack_b::<T, NR>(b, pc, jc, kc, nc, bpack.as_mut_ptr());
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                let need_a = mc.div_ceil(MR) * MR * kc;
                if !grow(apack, need_a) {
                    return false;
                }
                pack_a(a, ic, pc, mc, kc, apack.as_mut_ptr());
                for (q, jr) in (0..nc).step_by(NR).enumerate() {
                    let nr = NR.min(nc - jr);
                    let bp = bpack.as_ptr().add(q * (kc * NR + PAD));
                    for ir in (0..mc).step_by(MR) {
                        let mr = MR.min(mc - ir);
                        let ap = apack.as_ptr().add(ir * kc);
                        let cp = c.add((ic + ir) * n + jc + jr);
                        if mr == MR && nr == NR {
                            uk(kc, ap, bp, cp, n, pc > 0);
                        } else {
                            uk(kc, ap, bp, tile.as_mut_ptr(), NR, false);
                            for i in 0..mr {
                                for j in 0..nr {
                                    let d = cp.add(i * n + j);
                                    let v = tile[i * NR + j];
                                    *d = if pc > 0 { *d + v } else { v };
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    true
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
) -> i32 {
    let mut apack = Vec::new();
    let mut bpack = Vec::new();
    for bi in 0..batch {
        let ap = (a as *const T).add(bi * sa);
        let bp = (b as *const T).add(bi * sb);
        // A is m×k (row-major) or, transposed, stored k×m.
        let ao = if trans_a {
            Operand {
                p: ap,
                rs: 1,
                cs: m as isize,
            }
        } else {
            Operand {
                p: ap,
                rs: k as isize,
                cs: 1,
            }
        };
        let bo = if trans_b {
            Operand {
                p: bp,
                rs: 1,
                cs: k as isize,
            }
        } else {
            Operand {
                p: bp,
                rs: n as isize,
                cs: 1,
            }
        };
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
                let ao = Operand {
                    p: a.0,
                    rs: a.1,
                    cs: a.2,
                };
                let bo = Operand {
                    p: b.0,
                    rs: b.1,
                    cs: b.2,
                };
                gemm_one::<$t, $nr>(m, n, k, &ao, &bo, c, $uk, apack, bpack)
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
        )
    }
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
                    let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
                    let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
                    let mut c32 = vec![f32::NAN; batch * m * n];
                    let mut c64 = vec![f64::NAN; batch * m * n];
                    let s32 = matmul_f32(
                        a32.as_ptr() as usize,
                        b32.as_ptr() as usize,
                        c32.as_mut_ptr() as usize,
                        batch,
                        m,
                        n,
                        k,
                        ta,
                        tb,
                        m * k,
                        0,
                    );
                    let s64 = matmul_f64(
                        a.as_ptr() as usize,
                        b.as_ptr() as usize,
                        c64.as_mut_ptr() as usize,
                        batch,
                        m,
                        n,
                        k,
                        ta,
                        tb,
                        m * k,
                        0,
                    );
                    assert_eq!((s32, s64), (0, 0));
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

    #[test]
    fn packing_buffers_report_exhaustion() {
        // A size no allocator can satisfy: false, not an abort.
        let mut v: Vec<f32> = Vec::new();
        assert!(!grow(&mut v, usize::MAX / 2));
        assert!(v.is_empty());
        assert!(grow(&mut v, 10) && v.len() == 10);
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
}
