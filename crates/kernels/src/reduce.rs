//! Reductions over any set of axes, and argmax/argmin along one axis.
//!
//! `reduce_*`: input is read through `meta` = `[shape[rank], strides[rank]]`
//! where the LAST `nred` dims are the reduced ones (the TS side orders the
//! kept dims first, then the reduced dims; a permutation of metadata only).
//! Output is contiguous over the kept dims. Empty reductions give the
//! identity (sum 0, prod 1, max -inf, min +inf); max/min propagate NaN.

use crate::nd::{read_i32s, Layout, MAX_RANK};
use crate::num::{Float, Vector};
use wasm_bindgen::prelude::*;

pub const SUM: u32 = 0;
pub const PROD: u32 = 1;
pub const MAX: u32 = 2;
pub const MIN: u32 = 3;

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

unsafe fn arg_generic<T: Float>(
    is_max: bool,
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
    for a in 0..outer {
        for c in 0..inner {
            let p = x.add(a * len * inner + c);
            let mut best = *p;
            let mut bi = 0usize;
            if !best.is_nan() {
                for j in 1..len {
                    let v = *p.add(j * inner);
                    if v.is_nan() {
                        bi = j;
                        break;
                    }
                    if (is_max && v > best) || (!is_max && v < best) {
                        best = v;
                        bi = j;
                    }
                }
            }
            *o.add(a * inner + c) = bi as i32;
        }
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
