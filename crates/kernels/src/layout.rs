//! Layout kernels: strided copy (materialises transpose/permute/expand/
//! slice/flip views), strided scatter-copy (cat/pad), fill, dtype casts,
//! index_select and index_add.
//!
//! Element width, not dtype, matters for copies: `*_4` moves 4-byte
//! elements (f32 and i32), `*_8` 8-byte ones (f64). `meta` =
//! `[shape[rank], strides[rank]]` (i32, strides in elements, may be 0 or
//! negative); the pointer passed already includes the element offset.

use crate::nd::{read_i32s, Layout, MAX_RANK};
use crate::simd;
use wasm_bindgen::prelude::*;

/// The element widths the copies move, with their 128-bit helpers.
trait Elem: Copy {
    /// Elements per 128-bit vector (the transpose block is `L × L`).
    const L: usize;
    /// `L × L` transpose: source rows at `src + r*ss` → destination columns.
    unsafe fn transpose(src: *const Self, ss: isize, dst: *mut Self, ds: isize);
    /// `p[0..n] = v`.
    unsafe fn fill(p: *mut Self, n: usize, v: Self);
}

impl Elem for u32 {
    const L: usize = 4;
    #[inline(always)]
    unsafe fn transpose(src: *const u32, ss: isize, dst: *mut u32, ds: isize) {
        simd::transpose4_u32(src, ss, dst, ds)
    }
    #[inline(always)]
    unsafe fn fill(p: *mut u32, n: usize, v: u32) {
        simd::fill_u32(p, n, v)
    }
}

impl Elem for u64 {
    const L: usize = 2;
    #[inline(always)]
    unsafe fn transpose(src: *const u64, ss: isize, dst: *mut u64, ds: isize) {
        simd::transpose2_u64(src, ss, dst, ds)
    }
    #[inline(always)]
    unsafe fn fill(p: *mut u64, n: usize, v: u64) {
        simd::fill_u64(p, n, v)
    }
}

/// One strip of `H` consecutive `i`: `o[i*os + j] = x[i + j*is]` for
/// `i < H` (a multiple of `T::L`), all `j < n`. The source side reads `H`
/// contiguous elements per `j` (half or whole cache lines), the destination
/// side writes `H` rows sequentially, so neither side thrashes L1 when
/// `is`/`os` are large powers of two (the old 32×32 tiles read 32 lines
/// mapping to one cache set).
#[inline(always)]
unsafe fn transpose_strip<T: Elem, const H: usize>(
    x: *const T,
    is: isize,
    o: *mut T,
    os: usize,
    n: usize,
) {
    let l = T::L;
    let mut j = 0;
    while j + l <= n {
        let xs = x.offset(j as isize * is);
        let od = o.add(j);
        let mut b = 0;
        while b < H {
            T::transpose(xs.add(b), is, od.add(b * os), os as isize);
            b += l;
        }
        j += l;
    }
    for jj in j..n {
        let xs = x.offset(jj as isize * is);
        for b in 0..H {
            // volatile: LLVM's wasm backend cannot select the vectorised
            // form of this loop ("Cannot select setcc v16i8" for u64).
            *o.add(b * os + jj) = core::ptr::read_volatile(xs.add(b));
        }
    }
}

/// 2-D transpose: `o[i*os + j] = x[i + j*is]` for `i < m`, `j < n`.
#[inline(always)]
unsafe fn transpose_2d<T: Elem>(x: *const T, is: isize, o: *mut T, os: usize, m: usize, n: usize) {
    let l = T::L;
    // Strips of 8 rows of 4-byte elements, 16 of 8-byte ones (measured
    // against 16 and 32 rows, 1,000 to 2,049 square and 4096×256 shapes).
    // Eight destination streams fit the 8 ways of an L1 set even when the
    // row stride is a multiple of 4 KiB (every stream in one set): with 16
    // streams, f32 ran 1.3-1.7× slower per element at n = 1,023, 1,024,
    // 1,536 and 2,047 than at n = 1,028, and 2.2× at 4096×256. For f64,
    // 16 rows read whole 128-byte column pairs and were faster on the
    // memory-bound sizes (≥ 1,028), so 8-byte elements keep them.
    let mut i = 0;
    if l == 4 {
        while i + 8 <= m {
            transpose_strip::<T, 8>(x.add(i), is, o.add(i * os), os, n);
            i += 8;
        }
    } else {
        while i + 16 <= m {
            transpose_strip::<T, 16>(x.add(i), is, o.add(i * os), os, n);
            i += 16;
        }
    }
    while i + l <= m {
        if l == 4 {
            transpose_strip::<T, 4>(x.add(i), is, o.add(i * os), os, n);
        } else {
            transpose_strip::<T, 2>(x.add(i), is, o.add(i * os), os, n);
        }
        i += l;
    }
    for ii in i..m {
        let od = o.add(ii * os);
        let xs = x.add(ii);
        for j in 0..n {
            *od.add(j) = *xs.offset(j as isize * is);
        }
    }
}

/// Permute-like copy where the source's unit-stride dim `k` is not the
/// output's innermost dim: the pair (k, innermost) is a 2-D transpose, the
/// other dims an odometer of such transposes.
unsafe fn copy_transposing<T: Elem>(x: *const T, o: *mut T, l: &Layout<1>, k: usize) {
    let r = l.rank;
    let inner = r - 1;
    let mut ostr = [0usize; MAX_RANK];
    let mut acc = 1usize;
    for d in (0..r).rev() {
        ostr[d] = acc;
        acc *= l.shape[d];
    }
    let (m, n) = (l.shape[k], l.shape[inner]);
    let (is, os) = (l.strides[0][inner], ostr[k]);
    let mut dims = [0usize; MAX_RANK];
    let mut nd = 0;
    for d in 0..inner {
        if d != k {
            dims[nd] = d;
            nd += 1;
        }
    }
    let mut idx = [0usize; MAX_RANK];
    let (mut xo, mut oo) = (0isize, 0usize);
    loop {
        transpose_2d::<T>(x.offset(xo), is, o.add(oo), os, m, n);
        let mut t = nd;
        loop {
            if t == 0 {
                return;
            }
            t -= 1;
            let d = dims[t];
            idx[d] += 1;
            xo += l.strides[0][d];
            oo += ostr[d];
            if idx[d] < l.shape[d] {
                break;
            }
            xo -= l.strides[0][d] * l.shape[d] as isize;
            oo -= ostr[d] * l.shape[d];
            idx[d] = 0;
        }
    }
}

unsafe fn copy_strided<T: Elem>(x: usize, out: usize, rank: usize, meta: usize) {
    if rank > MAX_RANK {
        return;
    }
    let m = read_i32s(meta, 2 * rank);
    let l = Layout::<1>::new(&m[..rank], [&m[rank..]]);
    let x = x as *const T;
    let mut o = out as *mut T;
    if l.rank >= 2 && l.size() > 0 {
        let inner = l.rank - 1;
        let s = l.strides[0][inner];
        if s != 1 && s != 0 && l.shape[inner] >= T::L {
            // The source's unit-stride dim (the last one if several).
            if let Some(k) = (0..inner).rev().find(|&d| l.strides[0][d] == 1) {
                if l.shape[k] >= T::L {
                    copy_transposing::<T>(x, o, &l, k);
                    return;
                }
            }
        }
    }
    l.for_each_row(|off, n, st| {
        let p = x.offset(off[0]);
        match st[0] {
            1 => core::ptr::copy_nonoverlapping(p, o, n),
            0 => T::fill(o, n, *p),
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

/// Convert `n` elements; dtype codes 0 f32, 1 f64, 2 i32, 3 bool. Float →
/// int truncates toward zero (saturating; NaN → 0).
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
            // bool (3) is stored as i32 0/1: from bool is from int32, and
            // to bool is `!= 0` (NaN is true, as in PyTorch and NumPy).
            (3, 3) | (3, 2) => core::ptr::copy(x as *const u32, out as *mut u32, n),
            (3, 0) => cast_loop(x, out, n, |v: i32| v as f32),
            (3, 1) => cast_loop(x, out, n, |v: i32| v as f64),
            (0, 3) => cast_loop(x, out, n, |v: f32| (v != 0.0) as i32),
            (1, 3) => cast_loop(x, out, n, |v: f64| (v != 0.0) as i32),
            (2, 3) => cast_loop(x, out, n, |v: i32| (v != 0) as i32),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn contiguous(shape: &[usize]) -> Vec<i32> {
        let mut s = vec![0i32; shape.len()];
        let mut acc = 1;
        for d in (0..shape.len()).rev() {
            s[d] = acc as i32;
            acc *= shape[d];
        }
        s
    }

    /// Every permutation-like view (perm, flips, expands) of several shapes,
    /// both widths, against a naive gather: exercises the transposing path
    /// with strips, 4-/2-blocks, scalar tails and the odometer.
    #[test]
    fn copy_strided_permutes_match_naive() {
        let shapes: [&[usize]; 7] = [
            &[17, 35],
            &[64, 5],
            &[3, 4, 5],
            &[5, 31, 6, 9],
            &[33, 2, 18],
            &[4, 4],
            &[2, 19, 3, 16],
        ];
        for shape in shapes {
            let n: usize = shape.iter().product();
            let x32: Vec<u32> = (0..n as u32).collect();
            let x64: Vec<u64> = (0..n as u64).map(|v| v * 3 + (1 << 40)).collect();
            let st = contiguous(shape);
            let r = shape.len();
            // all permutations (r ≤ 4)
            let mut perms: Vec<Vec<usize>> = vec![vec![]];
            for _ in 0..r {
                perms = perms
                    .into_iter()
                    .flat_map(|p| {
                        (0..r)
                            .filter(|d| !p.contains(d))
                            .map(|d| {
                                let mut q = p.clone();
                                q.push(d);
                                q
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect();
            }
            for perm in &perms {
                let oshape: Vec<i32> = perm.iter().map(|&d| shape[d] as i32).collect();
                let ost: Vec<i32> = perm.iter().map(|&d| st[d]).collect();
                let mut meta = oshape.clone();
                meta.extend(&ost);
                let mut o32 = vec![0u32; n];
                let mut o64 = vec![0u64; n];
                copy_strided_4(
                    x32.as_ptr() as usize,
                    o32.as_mut_ptr() as usize,
                    r,
                    meta.as_ptr() as usize,
                );
                copy_strided_8(
                    x64.as_ptr() as usize,
                    o64.as_mut_ptr() as usize,
                    r,
                    meta.as_ptr() as usize,
                );
                let ocs = contiguous(&oshape.iter().map(|&v| v as usize).collect::<Vec<_>>());
                for i in 0..n {
                    let mut src = 0i64;
                    for d in 0..r {
                        src += ((i as i64 / ocs[d] as i64) % oshape[d] as i64) * ost[d] as i64;
                    }
                    assert_eq!(o32[i], x32[src as usize], "{shape:?} {perm:?} {i}");
                    assert_eq!(o64[i], x64[src as usize], "{shape:?} {perm:?} {i}");
                }
            }
        }
        // Broadcast rows (stride 0) of odd lengths.
        for len in [1usize, 3, 4, 7, 16, 37] {
            let x = [5u32, 6, 7];
            let meta = [3, len as i32, 1, 0];
            let mut o = vec![0u32; 3 * len];
            copy_strided_4(
                x.as_ptr() as usize,
                o.as_mut_ptr() as usize,
                2,
                meta.as_ptr() as usize,
            );
            for i in 0..3 * len {
                assert_eq!(o[i], x[i / len]);
            }
            let x = [5u64, 6, 7];
            let mut o = vec![0u64; 3 * len];
            copy_strided_8(
                x.as_ptr() as usize,
                o.as_mut_ptr() as usize,
                2,
                meta.as_ptr() as usize,
            );
            for i in 0..3 * len {
                assert_eq!(o[i], x[i / len]);
            }
        }
    }
}
