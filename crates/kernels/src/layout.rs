//! Layout kernels: strided copy (materialises transpose/permute/expand/
//! slice/flip views), strided scatter-copy (cat/pad), fill, dtype casts,
//! index_select and index_add.
//!
//! Element width, not dtype, matters for copies: `*_4` moves 4-byte
//! elements (f32 and i32), `*_8` 8-byte ones (f64). `meta` =
//! `[shape[rank], strides[rank]]` (i32, strides in elements, may be 0 or
//! negative); the pointer passed already includes the element offset.

use crate::nd::{read_i32s, Layout, MAX_RANK};
use wasm_bindgen::prelude::*;

unsafe fn copy_strided<T: Copy>(x: usize, out: usize, rank: usize, meta: usize) {
    if rank > MAX_RANK {
        return;
    }
    let m = read_i32s(meta, 2 * rank);
    let l = Layout::<1>::new(&m[..rank], [&m[rank..]]);
    let x = x as *const T;
    let mut o = out as *mut T;
    // 2-D transpose-like case: tile to keep both sides in cache.
    if l.rank == 2
        && l.strides[0][1] != 1
        && l.strides[0][0] == 1
        && l.shape[0] >= 16
        && l.shape[1] >= 16
    {
        let (r, c) = (l.shape[0], l.shape[1]);
        let s1 = l.strides[0][1];
        const B: usize = 32;
        for i0 in (0..r).step_by(B) {
            for j0 in (0..c).step_by(B) {
                for i in i0..(i0 + B).min(r) {
                    for j in j0..(j0 + B).min(c) {
                        *o.add(i * c + j) = *x.offset(i as isize + j as isize * s1);
                    }
                }
            }
        }
        return;
    }
    l.for_each_row(|off, n, st| {
        let p = x.offset(off[0]);
        match st[0] {
            1 => core::ptr::copy_nonoverlapping(p, o, n),
            0 => {
                let v = *p;
                for i in 0..n {
                    *o.add(i) = v;
                }
            }
            s => {
                for i in 0..n {
                    *o.add(i) = *p.offset(i as isize * s);
                }
            }
        }
        o = o.add(n);
    });
}

/// `out[i] = x[Σ i_d * strides_d]` for 4-byte elements (`x` already offset).
#[wasm_bindgen]
pub fn copy_strided_4(x: usize, out: usize, rank: usize, meta: usize) {
    unsafe { copy_strided::<u32>(x, out, rank, meta) }
}

/// As [`copy_strided_4`] for 8-byte elements.
#[wasm_bindgen]
pub fn copy_strided_8(x: usize, out: usize, rank: usize, meta: usize) {
    unsafe { copy_strided::<u64>(x, out, rank, meta) }
}

unsafe fn copy_into<T: Copy>(src: usize, dst: usize, rank: usize, meta: usize) {
    if rank > MAX_RANK {
        return;
    }
    let m = read_i32s(meta, 2 * rank);
    let l = Layout::<1>::new(&m[..rank], [&m[rank..]]);
    let mut s = src as *const T;
    let d = dst as *mut T;
    l.for_each_row(|off, n, st| {
        let p = d.offset(off[0]);
        if st[0] == 1 {
            core::ptr::copy(s, p, n);
        } else {
            for i in 0..n {
                *p.offset(i as isize * st[0]) = *s.add(i);
            }
        }
        s = s.add(n);
    });
}

/// `dst[Σ i_d * strides_d] = src[i]` (src contiguous; `dst` already offset),
/// 4-byte elements.
#[wasm_bindgen]
pub fn copy_into_4(src: usize, dst: usize, rank: usize, meta: usize) {
    unsafe { copy_into::<u32>(src, dst, rank, meta) }
}

/// As [`copy_into_4`] for 8-byte elements.
#[wasm_bindgen]
pub fn copy_into_8(src: usize, dst: usize, rank: usize, meta: usize) {
    unsafe { copy_into::<u64>(src, dst, rank, meta) }
}

/// Fill `n` f32 with `v`.
#[wasm_bindgen]
pub fn fill_f32(out: usize, n: usize, v: f32) {
    unsafe { core::slice::from_raw_parts_mut(out as *mut f32, n).fill(v) }
}

/// Fill `n` f64 with `v`.
#[wasm_bindgen]
pub fn fill_f64(out: usize, n: usize, v: f64) {
    unsafe { core::slice::from_raw_parts_mut(out as *mut f64, n).fill(v) }
}

/// Fill `n` i32 with `v`.
#[wasm_bindgen]
pub fn fill_i32(out: usize, n: usize, v: i32) {
    unsafe { core::slice::from_raw_parts_mut(out as *mut i32, n).fill(v) }
}

unsafe fn cast_loop<S: Copy, D: Copy>(x: usize, out: usize, n: usize, f: impl Fn(S) -> D) {
    let (x, o) = (x as *const S, out as *mut D);
    for i in 0..n {
        *o.add(i) = f(*x.add(i));
    }
}

/// Convert `n` elements; dtype codes 0 f32, 1 f64, 2 i32. Float → int
/// truncates toward zero (saturating; NaN → 0).
#[wasm_bindgen]
pub fn cast(x: usize, from: u32, out: usize, to: u32, n: usize) {
    unsafe {
        match (from, to) {
            (0, 0) | (2, 2) => core::ptr::copy(x as *const u32, out as *mut u32, n),
            (1, 1) => core::ptr::copy(x as *const u64, out as *mut u64, n),
            (0, 1) => cast_loop(x, out, n, |v: f32| v as f64),
            (0, 2) => cast_loop(x, out, n, |v: f32| v as i32),
            (1, 0) => cast_loop(x, out, n, |v: f64| v as f32),
            (1, 2) => cast_loop(x, out, n, |v: f64| v as i32),
            (2, 0) => cast_loop(x, out, n, |v: i32| v as f32),
            (2, 1) => cast_loop(x, out, n, |v: i32| v as f64),
            _ => {}
        }
    }
}

/// First position j with `idx[j]` outside `[0, size)`, or -1.
unsafe fn check_index(idx: usize, nidx: usize, size: usize) -> i32 {
    let ix = idx as *const i32;
    for j in 0..nidx {
        let v = *ix.add(j);
        if v < 0 || v as usize >= size {
            return j as i32;
        }
    }
    -1
}

unsafe fn index_select<T: Copy>(
    x: usize,
    out: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    idx: usize,
    nidx: usize,
) -> i32 {
    let bad = check_index(idx, nidx, dim);
    if bad >= 0 {
        return bad;
    }
    let (x, o, ix) = (x as *const T, out as *mut T, idx as *const i32);
    for a in 0..outer {
        for j in 0..nidx {
            let k = *ix.add(j) as usize;
            core::ptr::copy_nonoverlapping(
                x.add((a * dim + k) * inner),
                o.add((a * nidx + j) * inner),
                inner,
            );
        }
    }
    -1
}

/// `out[a, j, c] = x[a, idx[j], c]` with x `[outer, dim, inner]` contiguous,
/// 4-byte elements. Returns -1 on success, else the position of the first
/// out-of-range index (nothing written).
#[wasm_bindgen]
pub fn index_select_4(
    x: usize,
    out: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    idx: usize,
    nidx: usize,
) -> i32 {
    unsafe { index_select::<u32>(x, out, outer, dim, inner, idx, nidx) }
}

/// As [`index_select_4`] for 8-byte elements.
#[wasm_bindgen]
pub fn index_select_8(
    x: usize,
    out: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    idx: usize,
    nidx: usize,
) -> i32 {
    unsafe { index_select::<u64>(x, out, outer, dim, inner, idx, nidx) }
}

unsafe fn index_add<T: Copy + Default + core::ops::Add<Output = T>>(
    src: usize,
    out: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    idx: usize,
    nidx: usize,
) -> i32 {
    let bad = check_index(idx, nidx, dim);
    if bad >= 0 {
        return bad;
    }
    let (s, o, ix) = (src as *const T, out as *mut T, idx as *const i32);
    core::slice::from_raw_parts_mut(o, outer * dim * inner).fill(T::default());
    for a in 0..outer {
        for j in 0..nidx {
            let k = *ix.add(j) as usize;
            let dp = o.add((a * dim + k) * inner);
            let sp = s.add((a * nidx + j) * inner);
            for c in 0..inner {
                *dp.add(c) = *dp.add(c) + *sp.add(c);
            }
        }
    }
    -1
}

/// `out = zeros([outer, dim, inner]); out[a, idx[j], c] += src[a, j, c]`,
/// f32. Returns -1 or the position of the first out-of-range index.
#[wasm_bindgen]
pub fn index_add_f32(
    src: usize,
    out: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    idx: usize,
    nidx: usize,
) -> i32 {
    unsafe { index_add::<f32>(src, out, outer, dim, inner, idx, nidx) }
}

/// As [`index_add_f32`] for f64.
#[wasm_bindgen]
pub fn index_add_f64(
    src: usize,
    out: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    idx: usize,
    nidx: usize,
) -> i32 {
    unsafe { index_add::<f64>(src, out, outer, dim, inner, idx, nidx) }
}

/// As [`index_add_f32`] for i32 (wrapping add).
#[wasm_bindgen]
pub fn index_add_i32(
    src: usize,
    out: usize,
    outer: usize,
    dim: usize,
    inner: usize,
    idx: usize,
    nidx: usize,
) -> i32 {
    unsafe { index_add::<core::num::Wrapping<i32>>(src, out, outer, dim, inner, idx, nidx) }
}
