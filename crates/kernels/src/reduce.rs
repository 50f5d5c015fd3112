//! Reductions over any set of axes, and argmax/argmin along one axis.
//!
//! `reduce_*`: input is read through `meta` = `[shape[rank], strides[rank]]`
//! where the LAST `nred` dims are the reduced ones (the TS side orders the
//! kept dims first, then the reduced dims; a permutation of metadata only).
//! Output is contiguous over the kept dims. Empty reductions give the
//! identity (sum 0, prod 1, max -inf, min +inf); max/min propagate NaN.
//!
//! # Why `reduce_*` is hand-written SIMD and not ndarray
//!
//! [`with_ndarray::reduce`] does every case with ndarray (`ArrayViewD` from
//! the pointer, `sum`/`product`/`fold` per reduced sub-view, or
//! `zip_mut_with` accumulation of sub-views when the kept run is
//! contiguous). Measured in wasm against this file's kernels, f32, GB/s of
//! input, best of 25 interleaved 25 ms samples on a shared 2-core machine
//! (`deno run bench/reduce_ab.ts 25`, kernel calls only):
//!
//! | case                        | hand | ndarray |
//! |-----------------------------|-----:|--------:|
//! | sum, 1M, full               | 42.7 |    22.4 |
//! | sum [1024,1024] axis 0      | 27.0 |    15.3 |
//! | sum [1024,1024] axis 1      | 41.5 |    16.4 |
//! | sum [64,128,64] axes [0,2]  | 23.0 |     6.0 |
//! | max [4096,256] axis 1       |  9.3 |     1.7 |
//! | max [1024,1024] axis 0      | 16.0 |    10.7 |
//! | sum [16] (µs per call)      | 0.16 |    0.25 |
//! | sum [64,16] axis 0 (µs)     | 0.45 |    6.57 |
//!
//! ndarray's `sum` (8 scalar accumulators) reaches half of the 4×f32x4
//! loop; `fold` (max/min) is one scalar chain; and every `IxDyn` sub-view
//! costs ~100 ns, which small kept extents pay per reduced index. The hand
//! kernel is faster in every case, so it stays; ndarray serves argmax/argmin
//! along a strided axis (see [`argreduce_f32`]).

use crate::nd::{read_i32s, Layout, MAX_RANK};
use crate::num::{Float, Vector};
use wasm_bindgen::prelude::*;

pub const SUM: u32 = 0;
pub const PROD: u32 = 1;
pub const MAX: u32 = 2;
pub const MIN: u32 = 3;

/// The reduce op codes by the name of the primitive each implements (the
/// program executor accepts these; TypeScript's are generated from here).
pub const REDUCE_OPS: &[(&str, u32)] = &[("sum", SUM), ("prod", PROD), ("max", MAX), ("min", MIN)];

#[inline(always)]
fn identity<T: Float>(op: u32) -> T {
    match op {
        SUM => T::ZERO,
        PROD => T::ONE,
        MAX => T::NEG_INFINITY,
        _ => T::INFINITY,
    }
}

/// Reduce a contiguous run with SIMD (4 independent vector accumulators).
#[inline(always)]
unsafe fn reduce_contig<T: Float>(
    p: *const T,
    n: usize,
    init: T,
    fv: &impl Fn(T::V, T::V) -> T::V,
    fs: &impl Fn(T, T) -> T,
) -> T {
    let l = T::V::LANES;
    let mut acc = init;
    let mut i = 0;
    if n >= 4 * l {
        let iv = T::V::splat(init);
        let (mut a0, mut a1, mut a2, mut a3) = (iv, iv, iv, iv);
        while i + 4 * l <= n {
            a0 = fv(a0, T::V::load(p.add(i)));
            a1 = fv(a1, T::V::load(p.add(i + l)));
            a2 = fv(a2, T::V::load(p.add(i + 2 * l)));
            a3 = fv(a3, T::V::load(p.add(i + 3 * l)));
            i += 4 * l;
        }
        let v = fv(fv(a0, a1), fv(a2, a3));
        let mut lanes = [T::ZERO; 4];
        v.store(lanes.as_mut_ptr());
        for &x in lanes.iter().take(l) {
            acc = fs(acc, x);
        }
    }
    while i < n {
        acc = fs(acc, *p.add(i));
        i += 1;
    }
    acc
}

#[inline(always)]
unsafe fn run_reduce<T: Float>(
    x: *const T,
    out: *mut T,
    shape: &[i32],
    strides: &[i32],
    nred: usize,
    init: T,
    fv: impl Fn(T::V, T::V) -> T::V,
    fs: impl Fn(T, T) -> T,
) {
    let rank = shape.len();
    let kept = rank - nred;
    let ko = Layout::<1>::new(&shape[..kept], [&strides[..kept]]);
    let rd = Layout::<1>::new(&shape[kept..], [&strides[kept..]]);
    let nout = ko.size();
    if nout == 0 {
        return;
    }
    let nr = rd.size();
    for i in 0..nout {
        *out.add(i) = init;
    }
    if nr == 0 {
        return;
    }
    // Column mode: the innermost kept dim is contiguous and long, so
    // accumulate whole rows into the output (SIMD over the kept dim).
    let row_mode = ko.rank > 0 && ko.strides[0][ko.rank - 1] == 1 && ko.shape[ko.rank - 1] >= 8;
    let rank_r = rd.rank;
    if row_mode {
        let mut o = out;
        ko.for_each_row(|koff, klen, _| {
            rd.for_each_row(|roff, rlen, rst| {
                for j in 0..rlen as isize {
                    let src = x.offset(koff[0] + roff[0] + j * rst[0]);
                    let l = T::V::LANES;
                    let mut i = 0;
                    while i + 4 * l <= klen {
                        let (o0, o1, o2, o3) =
                            (o.add(i), o.add(i + l), o.add(i + 2 * l), o.add(i + 3 * l));
                        let (s0, s1, s2, s3) = (
                            src.add(i),
                            src.add(i + l),
                            src.add(i + 2 * l),
                            src.add(i + 3 * l),
                        );
                        let r0 = fv(T::V::load(o0), T::V::load(s0));
                        let r1 = fv(T::V::load(o1), T::V::load(s1));
                        let r2 = fv(T::V::load(o2), T::V::load(s2));
                        let r3 = fv(T::V::load(o3), T::V::load(s3));
                        r0.store(o0);
                        r1.store(o1);
                        r2.store(o2);
                        r3.store(o3);
                        i += 4 * l;
                    }
                    while i + l <= klen {
                        fv(T::V::load(o.add(i)), T::V::load(src.add(i))).store(o.add(i));
                        i += l;
                    }
                    while i < klen {
                        *o.add(i) = fs(*o.add(i), *src.add(i));
                        i += 1;
                    }
                }
            });
            o = o.add(klen);
        });
        return;
    }
    let mut o = out;
    ko.for_each_row(|koff, klen, kst| {
        for k in 0..klen as isize {
            let base = x.offset(koff[0] + k * kst[0]);
            let mut acc = init;
            rd.for_each_row(|roff, rlen, rst| {
                let p = base.offset(roff[0]);
                if rst[0] == 1 || rank_r == 0 {
                    acc = fs(acc, reduce_contig::<T>(p, rlen, init, &fv, &fs));
                } else {
                    for j in 0..rlen as isize {
                        acc = fs(acc, *p.offset(j * rst[0]));
                    }
                }
            });
            *o = acc;
            o = o.add(1);
        }
    });
}

unsafe fn reduce_generic<T: Float>(
    op: u32,
    x: usize,
    out: usize,
    rank: usize,
    nred: usize,
    meta: usize,
) {
    if rank > MAX_RANK || nred > rank {
        return;
    }
    let m = read_i32s(meta, 2 * rank);
    let (shape, strides) = (&m[..rank], &m[rank..]);
    let (x, o) = (x as *const T, out as *mut T);
    let init = identity::<T>(op);
    match op {
        SUM => run_reduce::<T>(
            x,
            o,
            shape,
            strides,
            nred,
            init,
            |a, b| a.add(b),
            |a, b| a + b,
        ),
        PROD => run_reduce::<T>(
            x,
            o,
            shape,
            strides,
            nred,
            init,
            |a, b| a.mul(b),
            |a, b| a * b,
        ),
        MAX => run_reduce::<T>(
            x,
            o,
            shape,
            strides,
            nred,
            init,
            |a, b| a.max(b),
            |a, b| a.nmax(b),
        ),
        MIN => run_reduce::<T>(
            x,
            o,
            shape,
            strides,
            nred,
            init,
            |a, b| a.min(b),
            |a, b| a.nmin(b),
        ),
        _ => {}
    }
}

/// Reduce f32 (op: 0 sum, 1 prod, 2 max, 3 min). `meta` = `[shape, strides]`,
/// last `nred` dims reduced; `out` holds the kept dims, contiguous.
#[wasm_bindgen]
pub fn reduce_f32(op: u32, x: usize, out: usize, rank: usize, nred: usize, meta: usize) {
    unsafe { reduce_generic::<f32>(op, x, out, rank, nred, meta) }
}

/// As [`reduce_f32`] for f64.
#[wasm_bindgen]
pub fn reduce_f64(op: u32, x: usize, out: usize, rank: usize, nred: usize, meta: usize) {
    unsafe { reduce_generic::<f64>(op, x, out, rank, nred, meta) }
}

/// argmax/argmin. Along a contiguous lane (`inner == 1`) a scalar loop per
/// lane; otherwise ndarray sweeps whole rows ([`with_ndarray::argreduce_rows`]).
///
/// Measured in wasm (f32, GB/s of input, best of 25 interleaved 25 ms
/// samples, `deno run bench/reduce_ab.ts`): [4096,256] along 1: this loop
/// 3.16, ndarray `Zip` over `lanes` 3.07 (consistently ~3% slower, so the
/// loop stays); [1024,1024] along 0: the former strided-lane loop 0.96,
/// ndarray row sweep 3.37 (adopted).
unsafe fn arg_generic<T: Float>(
    is_max: bool,
    x: usize,
    out: usize,
    outer: usize,
    len: usize,
    inner: usize,
) -> i32 {
    // Monomorphise on max/min so the inner loops have no run-time choice.
    if is_max {
        arg_impl::<T, true>(x, out, outer, len, inner)
    } else {
        arg_impl::<T, false>(x, out, outer, len, inner)
    }
}

#[inline(always)]
unsafe fn arg_impl<T: Float, const IS_MAX: bool>(
    x: usize,
    out: usize,
    outer: usize,
    len: usize,
    inner: usize,
) -> i32 {
    if len == 0 {
        return if outer * inner == 0 { 0 } else { 1 };
    }
    let (x, o) = (x as *const T, out as *mut i32);
    if inner != 1 {
        with_ndarray::argreduce_rows::<T, IS_MAX>(x, o, outer, len, inner);
        return 0;
    }
    for a in 0..outer {
        let p = x.add(a * len);
        let mut best = *p;
        let mut bi = 0usize;
        if !best.is_nan() {
            for j in 1..len {
                let v = *p.add(j);
                if v.is_nan() {
                    bi = j;
                    break;
                }
                if (IS_MAX && v > best) || (!IS_MAX && v < best) {
                    best = v;
                    bi = j;
                }
            }
        }
        *o.add(a) = bi as i32;
    }
    0
}

/// argmax (`is_max`) / argmin of contiguous x viewed as `[outer, len, inner]`
/// along `len`; int32 out `[outer, inner]`; first occurrence; a NaN wins.
/// Returns 0, or 1 when `len == 0` with a non-empty output (no answer).
#[wasm_bindgen]
pub fn argreduce_f32(
    is_max: bool,
    x: usize,
    out: usize,
    outer: usize,
    len: usize,
    inner: usize,
) -> i32 {
    unsafe { arg_generic::<f32>(is_max, x, out, outer, len, inner) }
}

/// As [`argreduce_f32`] for f64.
#[wasm_bindgen]
pub fn argreduce_f64(
    is_max: bool,
    x: usize,
    out: usize,
    outer: usize,
    len: usize,
    inner: usize,
) -> i32 {
    unsafe { arg_generic::<f64>(is_max, x, out, outer, len, inner) }
}

/// The ndarray kernels: the row-sweeping argmax/argmin (used), and an
/// ndarray version of every `reduce_*` case (measured, not used: see the
/// module docs; exported as [`ndarray_reduce_f32`] and tested natively).
pub mod with_ndarray {
    use super::{identity, MAX, MIN, PROD, SUM};
    use crate::nd::MAX_RANK;
    use crate::num::Float;
    use ndarray::{Array1, ArrayView3, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis, IxDyn};
    use ndarray::{LinalgScalar, ShapeBuilder, Zip};

    /// Reduce as `reduce_*` does (same meta layout). Returns false, doing
    /// nothing, when a stride is negative (ndarray views need non-negative
    /// strides); the TS side only passes contiguous tensors.
    ///
    /// # Safety
    /// `x` must cover the described view and `out` the kept extent.
    pub unsafe fn reduce<T: Float + LinalgScalar>(
        op: u32,
        x: *const T,
        out: *mut T,
        shape: &[i32],
        strides: &[i32],
        nred: usize,
    ) -> bool {
        if strides.iter().any(|&s| s < 0) {
            return false;
        }
        let kept = shape.len() - nred;
        // Size-1 dims carry nothing: drop them (kept ones first, then reduced).
        let (mut dims, mut st, mut k, mut r) = ([0usize; MAX_RANK], [0usize; MAX_RANK], 0, 0);
        for d in 0..shape.len() {
            if shape[d] != 1 {
                dims[r] = shape[d] as usize;
                st[r] = strides[d] as usize;
                r += 1;
                k += (d < kept) as usize;
            }
        }
        let (dims, st) = (&dims[..r], &st[..r]);
        let nout: usize = dims[..k].iter().product();
        if nout == 0 {
            return true;
        }
        let init = identity::<T>(op);
        let mut o = ArrayViewMutD::from_shape_ptr(IxDyn(&dims[..k]), out);
        if dims[k..].iter().product::<usize>() == 0 {
            o.fill(init);
            return true;
        }
        let v = ArrayViewD::from_shape_ptr(IxDyn(dims).strides(IxDyn(st)), x);
        match op {
            SUM => run(o, v, init, |a, b| a + b, |s| s.sum()),
            PROD => run(o, v, init, |a, b| a * b, |s| s.product()),
            MAX => run(o, v, init, T::nmax, |s| s.fold(init, |a, &b| a.nmax(b))),
            MIN => run(o, v, init, T::nmin, |s| s.fold(init, |a, &b| a.nmin(b))),
            _ => {}
        }
        true
    }

    #[inline(always)]
    fn run<T: Float>(
        mut o: ArrayViewMutD<T>,
        v: ArrayViewD<T>,
        init: T,
        f: impl Fn(T, T) -> T + Copy,
        whole: impl Fn(ArrayViewD<T>) -> T + Copy,
    ) {
        let k = o.ndim();
        if k == v.ndim() {
            Zip::from(&mut o).and(&v).for_each(|a, &b| *a = f(init, b));
        } else if k > 0 && v.strides()[k - 1] == 1 && o.shape()[k - 1] >= 8 {
            // The innermost kept dim is contiguous: accumulate whole
            // sub-arrays into the output (vectorises over the kept dim).
            o.fill(init);
            accumulate(&mut o, v, f);
        } else {
            lanes(o, v, whole);
        }
    }

    fn accumulate<T: Float>(
        o: &mut ArrayViewMutD<T>,
        v: ArrayViewD<T>,
        f: impl Fn(T, T) -> T + Copy,
    ) {
        if v.ndim() == o.ndim() {
            o.zip_mut_with(&v, |a, &b| *a = f(*a, b));
            return;
        }
        for sub in v.axis_iter(Axis(o.ndim())) {
            accumulate(o, sub, f);
        }
    }

    fn lanes<T: Float>(
        mut o: ArrayViewMutD<T>,
        v: ArrayViewD<T>,
        whole: impl Fn(ArrayViewD<T>) -> T + Copy,
    ) {
        if o.ndim() == 0 {
            if let Some(p) = o.first_mut() {
                *p = whole(v);
            }
            return;
        }
        if o.ndim() + 1 == v.ndim() {
            let ax = Axis(o.ndim());
            Zip::from(&mut o)
                .and(v.lanes(ax))
                .for_each(|a, l| *a = whole(l.into_dyn()));
            return;
        }
        for (oo, vv) in o.outer_iter_mut().zip(v.outer_iter()) {
            lanes(oo, vv, whole);
        }
    }

    /// argmax/argmin of contiguous x `[outer, len, inner]` along `len`
    /// (`len > 0`), sweeping whole rows: per output the best value so far
    /// and its index, updated by a `Zip` over each contiguous row of
    /// `inner`. First occurrence wins; a NaN wins and then stays.
    ///
    /// # Safety
    /// `x` must hold `outer * len * inner` values, `out` `outer * inner`.
    pub unsafe fn argreduce_rows<T: Float, const IS_MAX: bool>(
        x: *const T,
        out: *mut i32,
        outer: usize,
        len: usize,
        inner: usize,
    ) {
        let v = ArrayView3::from_shape_ptr((outer, len, inner), x);
        let mut o = ArrayViewMut2::from_shape_ptr((outer, inner), out);
        let mut best = Array1::<T>::from_elem(inner, T::ZERO);
        for (xa, mut oa) in v.outer_iter().zip(o.outer_iter_mut()) {
            best.assign(&xa.row(0));
            oa.fill(0);
            for (j, row) in xa.outer_iter().enumerate().skip(1) {
                let j = j as i32;
                Zip::from(&mut best)
                    .and(&mut oa)
                    .and(&row)
                    .for_each(|b, i, &v| {
                        let better = if IS_MAX { v > *b } else { v < *b };
                        // Branch-free select, so the row loop can vectorise.
                        let take = !b.is_nan() & (v.is_nan() | better);
                        *b = if take { v } else { *b };
                        *i = if take { j } else { *i };
                    });
            }
        }
    }
}

/// ndarray's version of [`reduce_f32`] (same arguments), kept only to
/// measure it against the hand-written kernel (see the module docs).
#[wasm_bindgen]
pub fn ndarray_reduce_f32(op: u32, x: usize, out: usize, rank: usize, nred: usize, meta: usize) {
    if rank > MAX_RANK || nred > rank {
        return;
    }
    unsafe {
        let m = read_i32s(meta, 2 * rank);
        with_ndarray::reduce::<f32>(
            op,
            x as *const f32,
            out as *mut f32,
            &m[..rank],
            &m[rank..],
            nred,
        );
    }
}
