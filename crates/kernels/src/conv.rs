//! Convolution (im2col + the GEMM of [`crate::gemm`]), max pooling and a
//! stable argsort.
//!
//! Convolution is cross-correlation over 1 to 3 spatial dims, in PyTorch's
//! layout: input `[N, C, *in]`, weight `[O, C/G, *k]`, output `[N, O, *out]`
//! with `G` groups; output position `o` reads input position
//! `o*stride - lo + j*dilation` for kernel position `j` (outside the input
//! reads zero). The three bilinear maps between input, weight and output
//! are one kernel each ([`Mode`]): the forward convolution, its transpose
//! with respect to the input (a transposed convolution) and with respect to
//! the weight. Each is the transpose of the others, which is what makes
//! derivatives of every order closed over this one instruction.
//!
//! Per sample and group: im2col unrolls the input block `[C/G, *in]` into
//! `cols [C/G·K, L]` (K kernel positions, L output positions), then
//! forward `y = W_g @ cols`, input gradient `cols = W_gᵀ @ g` scattered back
//! (col2im), weight gradient `dW_g += g @ colsᵀ`. A 1×1 kernel with unit
//! stride and no padding skips the unrolling (cols is the input itself).

use crate::gemm::Gemm;
use crate::num::Float;

/// Which of the three bilinear maps a convolution instruction computes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `(x, w) → y`.
    Forward,
    /// `(gy, w) → x`: the transpose with respect to the input.
    Input,
    /// `(x, gy) → w`: the transpose with respect to the weight.
    Weight,
}

/// The geometry of a convolution or pooling window, padded to 3 spatial
/// dims with leading unit dims.
#[derive(Clone, Copy)]
pub struct Geom {
    pub inp: [usize; 3],
    pub k: [usize; 3],
    pub out: [usize; 3],
    pub stride: [usize; 3],
    pub lo: [isize; 3],
    pub dil: [usize; 3],
}

impl Geom {
    /// From per-dim lists of equal length `nd` ≤ 3 (checked by the caller).
    pub fn new(
        inp: &[usize],
        k: &[usize],
        out: &[usize],
        stride: &[usize],
        lo: &[isize],
        dil: &[usize],
    ) -> Geom {
        let mut g = Geom {
            inp: [1; 3],
            k: [1; 3],
            out: [1; 3],
            stride: [1; 3],
            lo: [0; 3],
            dil: [1; 3],
        };
        let off = 3 - inp.len();
        g.inp[off..].copy_from_slice(inp);
        g.k[off..].copy_from_slice(k);
        g.out[off..].copy_from_slice(out);
        g.stride[off..].copy_from_slice(stride);
        g.lo[off..].copy_from_slice(lo);
        g.dil[off..].copy_from_slice(dil);
        g
    }
    pub fn sin(&self) -> usize {
        self.inp.iter().product()
    }
    pub fn sk(&self) -> usize {
        self.k.iter().product()
    }
    pub fn sout(&self) -> usize {
        self.out.iter().product()
    }
    /// True when im2col is the identity (1×1 kernel, unit stride, no padding).
    fn trivial(&self) -> bool {
        self.sk() == 1 && self.stride == [1; 3] && self.lo == [0; 3] && self.inp == self.out
    }
    /// Input position along dim `d` for output `o` and kernel position `j`.
    #[inline(always)]
    fn pos(&self, d: usize, o: usize, j: usize) -> isize {
        (o * self.stride[d]) as isize - self.lo[d] + (j * self.dil[d]) as isize
    }
    /// The output positions `[from, to)` along the last dim whose input
    /// position for kernel position `j` lies inside the input.
    #[inline(always)]
    fn valid_last(&self, j: usize) -> (usize, usize) {
        let (s, n) = (self.stride[2] as isize, self.inp[2] as isize);
        let off = -self.lo[2] + (j * self.dil[2]) as isize;
        let from = if off >= 0 { 0 } else { (-off + s - 1) / s };
        let to = if n - off <= 0 {
            0
        } else {
            (n - 1 - off) / s + 1
        };
        let out = self.out[2] as isize;
        let to = to.min(out).max(0);
        (from.min(to) as usize, to as usize)
    }
}

/// Unrolls (`scatter` false: `cols[(c, j), l] = x[c, pos]`, zero outside) or
/// folds back (`scatter` true: `x[c, pos] += cols[(c, j), l]`) one block of
/// `channels` input channels.
unsafe fn unroll<T: Float>(g: &Geom, channels: usize, x: *mut T, cols: *mut T, scatter: bool) {
    let (sin, l) = (g.sin(), g.sout());
    let mut row = cols;
    for c in 0..channels {
        let xc = x.add(c * sin);
        for j0 in 0..g.k[0] {
            for j1 in 0..g.k[1] {
                for j2 in 0..g.k[2] {
                    let (from, to) = g.valid_last(j2);
                    let off2 = g.pos(2, 0, j2);
                    let mut r = row;
                    for o0 in 0..g.out[0] {
                        let i0 = g.pos(0, o0, j0);
                        let in0 = i0 >= 0 && (i0 as usize) < g.inp[0];
                        for o1 in 0..g.out[1] {
                            let i1 = g.pos(1, o1, j1);
                            let n2 = g.out[2];
                            if !(in0 && i1 >= 0 && (i1 as usize) < g.inp[1]) {
                                if !scatter {
                                    core::slice::from_raw_parts_mut(r, n2).fill(T::ZERO);
                                }
                                r = r.add(n2);
                                continue;
                            }
                            let base = xc.add((i0 as usize * g.inp[1] + i1 as usize) * g.inp[2]);
                            let s = g.stride[2];
                            if scatter {
                                for o2 in from..to {
                                    let p = base.offset(off2 + (o2 * s) as isize);
                                    *p = *p + *r.add(o2);
                                }
                            } else {
                                for o2 in 0..from {
                                    *r.add(o2) = T::ZERO;
                                }
                                for o2 in from..to {
                                    *r.add(o2) = *base.offset(off2 + (o2 * s) as isize);
                                }
                                for o2 in to..n2 {
                                    *r.add(o2) = T::ZERO;
                                }
                            }
                            r = r.add(n2);
                        }
                    }
                    row = row.add(l);
                }
            }
        }
    }
}

/// Grows a scratch buffer without trapping when memory runs out.
fn grow<T: Float>(v: &mut Vec<T>, n: usize) -> bool {
    if v.len() < n {
        if v.try_reserve_exact(n - v.len()).is_err() {
            return false;
        }
        v.resize(n, T::ZERO);
    }
    true
}

/// Runs one convolution instruction (see [`Mode`] for the operands `a`,
/// `b` and the result `out`). Returns false when scratch memory runs out.
///
/// # Safety
/// Buffers hold the sizes the geometry implies (the compiler's contract).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv<T: Float + Gemm>(
    mode: Mode,
    a: usize,
    b: usize,
    out: usize,
    n: usize,
    c: usize,
    o: usize,
    groups: usize,
    g: &Geom,
) -> bool {
    let (cg, og) = (c / groups, o / groups);
    let (sin, sk, l) = (g.sin(), g.sk(), g.sout());
    let ck = cg * sk;
    let trivial = g.trivial();
    let (mut apack, mut bpack) = (Vec::new(), Vec::new());
    let mut cols: Vec<T> = Vec::new();
    if !trivial && !grow(&mut cols, ck * l) {
        return false;
    }
    let mut tmp: Vec<T> = Vec::new();
    match mode {
        Mode::Forward => {
            let (x, w, y) = (a as *mut T, b as *const T, out as *mut T);
            for ni in 0..n {
                for gi in 0..groups {
                    let xb = x.add((ni * c + gi * cg) * sin);
                    let src = if trivial {
                        xb as *const T
                    } else {
                        unroll(g, cg, xb, cols.as_mut_ptr(), false);
                        cols.as_ptr()
                    };
                    let wg = w.add(gi * og * ck);
                    let yb = y.add((ni * o + gi * og) * l);
                    let (ap, bp) = (&mut apack, &mut bpack);
                    let (ck_, l_) = (ck as isize, l as isize);
                    if !T::gemm(og, l, ck, (wg, ck_, 1), (src, l_, 1), yb, ap, bp) {
                        return false;
                    }
                }
            }
        }
        Mode::Input => {
            let (gy, w, x) = (a as *const T, b as *const T, out as *mut T);
            if !trivial {
                core::slice::from_raw_parts_mut(x, n * c * sin).fill(T::ZERO);
            }
            for ni in 0..n {
                for gi in 0..groups {
                    let xb = x.add((ni * c + gi * cg) * sin);
                    let dst = if trivial { xb } else { cols.as_mut_ptr() };
                    let wg = w.add(gi * og * ck);
                    let gb = gy.add((ni * o + gi * og) * l);
                    let (ap, bp) = (&mut apack, &mut bpack);
                    let (ck_, l_) = (ck as isize, l as isize);
                    // cols = W_gᵀ @ gy: W_g is [og, ck], read transposed.
                    if !T::gemm(ck, l, og, (wg, 1, ck_), (gb, l_, 1), dst, ap, bp) {
                        return false;
                    }
                    if !trivial {
                        unroll(g, cg, xb, cols.as_mut_ptr(), true);
                    }
                }
            }
        }
        Mode::Weight => {
            let (x, gy, w) = (a as *mut T, b as *const T, out as *mut T);
            core::slice::from_raw_parts_mut(w, o * ck).fill(T::ZERO);
            if !grow(&mut tmp, og * ck) {
                return false;
            }
            for ni in 0..n {
                for gi in 0..groups {
                    let xb = x.add((ni * c + gi * cg) * sin);
                    let src = if trivial {
                        xb as *const T
                    } else {
                        unroll(g, cg, xb, cols.as_mut_ptr(), false);
                        cols.as_ptr()
                    };
                    let gb = gy.add((ni * o + gi * og) * l);
                    let (ap, bp) = (&mut apack, &mut bpack);
                    let l_ = l as isize;
                    // gy [og, L] @ colsᵀ [L, ck].
                    let t = tmp.as_mut_ptr();
                    if !T::gemm(og, ck, l, (gb, l_, 1), (src, 1, l_), t, ap, bp) {
                        return false;
                    }
                    let wg = w.add(gi * og * ck);
                    for i in 0..og * ck {
                        *wg.add(i) = *wg.add(i) + tmp[i];
                    }
                }
            }
        }
    }
    true
}

/// Max pooling of `planes` planes `[planes, *in]` over windows of the
/// geometry `g` (padding reads nothing): the maxima (`T`) or, with
/// `indices`, their flat positions within the plane (i32). The first
/// maximum in row-major window order wins ties; a NaN wins over numbers
/// (the first NaN). Windows hold at least one input position (the
/// compiler checks).
///
/// # Safety
/// Buffers hold the sizes the geometry implies (the compiler's contract).
pub unsafe fn max_pool<T: Float>(x: usize, out: usize, planes: usize, g: &Geom, indices: bool) {
    let (x, sin) = (x as *const T, g.sin());
    let (vo, io) = (out as *mut T, out as *mut i32);
    // Per dim and output position: the input offset of the first valid tap
    // and the range of valid taps (so the inner loops test nothing).
    let spans: [Vec<(isize, usize, usize)>; 3] = core::array::from_fn(|d| {
        (0..g.out[d])
            .map(|o| {
                let start = g.pos(d, o, 0);
                let (dil, n) = (g.dil[d] as isize, g.inp[d] as isize);
                let lo = if start >= 0 {
                    0
                } else {
                    ((-start + dil - 1) / dil) as usize
                };
                let hi = if start >= n {
                    0
                } else {
                    ((n - 1 - start) / dil + 1) as usize
                };
                (start, lo.min(g.k[d]), hi.min(g.k[d]))
            })
            .collect()
    });
    let (s1, s0) = (g.inp[2], g.inp[1] * g.inp[2]);
    let (d0, d1, d2) = (g.dil[0] * s0, g.dil[1] * s1, g.dil[2]);
    let mut at = 0;
    for p in 0..planes {
        let xp = x.add(p * sin);
        for &(b0, l0, h0) in &spans[0] {
            for &(b1, l1, h1) in &spans[1] {
                for &(b2, l2, h2) in &spans[2] {
                    // The window's first valid tap starts the search.
                    // (may be negative: a window starting in the padding)
                    let origin = b0 * s0 as isize + b1 * s1 as isize + b2;
                    let mut bi = origin + (l0 * d0 + l1 * d1 + l2 * d2) as isize;
                    let mut best = *xp.offset(bi);
                    let (l0, l1) = if best.is_nan() { (h0, h1) } else { (l0, l1) };
                    'scan: for j0 in l0..h0 {
                        for j1 in l1..h1 {
                            let row = origin + (j0 * d0 + j1 * d1) as isize;
                            for j2 in l2..h2 {
                                let f = row + (j2 * d2) as isize;
                                let v = *xp.offset(f);
                                if v > best {
                                    best = v;
                                    bi = f;
                                } else if v.is_nan() {
                                    // NaN is the maximum: the first one wins.
                                    best = v;
                                    bi = f;
                                    break 'scan;
                                }
                            }
                        }
                    }
                    if indices {
                        *io.add(at) = bi as i32;
                    } else {
                        *vo.add(at) = best;
                    }
                    at += 1;
                }
            }
        }
    }
}

/// Stable argsort along the middle of `[outer, len, inner]`: `out` (i32,
/// same shape) holds, for each lane, the positions of its values in
/// ascending (or `descending`) order; equal values keep their order, NaN
/// sorts above every number (last ascending, first descending). Returns
/// false when scratch memory runs out.
///
/// # Safety
/// `x` holds `outer·len·inner` values and `out` as many i32.
pub unsafe fn argsort<T: Float>(
    x: usize,
    out: usize,
    outer: usize,
    len: usize,
    inner: usize,
    descending: bool,
) -> bool {
    let (x, o) = (x as *const T, out as *mut i32);
    let mut vals: Vec<T> = Vec::new();
    let mut idx: Vec<u32> = Vec::new();
    let mut tmp: Vec<u32> = Vec::new();
    if vals.try_reserve_exact(len).is_err()
        || idx.try_reserve_exact(len).is_err()
        || tmp.try_reserve_exact(len).is_err()
    {
        return false;
    }
    vals.resize(len, T::ZERO);
    idx.resize(len, 0);
    tmp.resize(len, 0);
    // `before(a, b)`: a strictly precedes b in the order (ties: neither).
    let less = |a: T, b: T| !a.is_nan() && (b.is_nan() || a < b);
    let before = |a: T, b: T| if descending { less(b, a) } else { less(a, b) };
    for a in 0..outer {
        for c in 0..inner {
            let base = a * len * inner + c;
            for i in 0..len {
                vals[i] = *x.add(base + i * inner);
                idx[i] = i as u32;
            }
            merge_sort(&mut idx, &mut tmp, &vals, &before);
            for i in 0..len {
                *o.add(base + i * inner) = idx[i] as i32;
            }
        }
    }
    true
}

/// Bottom-up stable merge sort of `idx` by `vals` (insertion-sorted runs
/// of 16 first).
fn merge_sort<T: Copy>(
    idx: &mut [u32],
    tmp: &mut [u32],
    vals: &[T],
    before: &dyn Fn(T, T) -> bool,
) {
    const RUN: usize = 16;
    let n = idx.len();
    let key = |i: u32| vals[i as usize];
    for start in (0..n).step_by(RUN) {
        let end = (start + RUN).min(n);
        for i in start + 1..end {
            let v = idx[i];
            let mut j = i;
            while j > start && before(key(v), key(idx[j - 1])) {
                idx[j] = idx[j - 1];
                j -= 1;
            }
            idx[j] = v;
        }
    }
    let mut width = RUN;
    let (mut src, mut dst) = (idx, tmp);
    let mut swapped = false;
    while width < n {
        for lo in (0..n).step_by(2 * width) {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j) = (lo, mid);
            for k in lo..hi {
                // Take from the right run only when it strictly precedes:
                // equal keys keep their order (stability).
                if j < hi && (i >= mid || before(key(src[j]), key(src[i]))) {
                    dst[k] = src[j];
                    j += 1;
                } else {
                    dst[k] = src[i];
                    i += 1;
                }
            }
        }
        core::mem::swap(&mut src, &mut dst);
        swapped = !swapped;
        width *= 2;
    }
    if swapped {
        // The sorted indices are in the scratch buffer: copy them back.
        dst.copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) % 2001) as f64 / 500.0 - 2.0
            })
            .collect()
    }

    /// Direct 2-d convolution.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[f64],
        w: &[f64],
        n: usize,
        c: usize,
        o: usize,
        groups: usize,
        g: &Geom,
    ) -> Vec<f64> {
        let (cg, og) = (c / groups, o / groups);
        let (h, wd) = (g.inp[1], g.inp[2]);
        let (kh, kw) = (g.k[1], g.k[2]);
        let (oh, ow) = (g.out[1], g.out[2]);
        let mut y = vec![0.0; n * o * oh * ow];
        for ni in 0..n {
            for oc in 0..o {
                let gi = oc / og;
                for p in 0..oh {
                    for q in 0..ow {
                        let mut s = 0.0;
                        for ci in 0..cg {
                            for a in 0..kh {
                                for b in 0..kw {
                                    let i = g.pos(1, p, a);
                                    let j = g.pos(2, q, b);
                                    if i < 0 || j < 0 || i as usize >= h || j as usize >= wd {
                                        continue;
                                    }
                                    let xv = x[((ni * c + gi * cg + ci) * h + i as usize) * wd
                                        + j as usize];
                                    s += xv * w[((oc * cg + ci) * kh + a) * kw + b];
                                }
                            }
                        }
                        y[((ni * o + oc) * oh + p) * ow + q] = s;
                    }
                }
            }
        }
        y
    }

    fn inner(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn forward_matches_direct_and_the_transposes_are_adjoint() {
        // (n, c, o, groups, in, k, out, stride, lo, dil)
        let cases: [(
            usize,
            usize,
            usize,
            usize,
            [usize; 2],
            [usize; 2],
            [usize; 2],
            [usize; 2],
            [isize; 2],
            [usize; 2],
        ); 5] = [
            (2, 3, 4, 1, [5, 6], [3, 2], [3, 5], [1, 1], [0, 0], [1, 1]),
            (1, 4, 6, 2, [7, 7], [3, 3], [4, 4], [2, 2], [1, 1], [1, 1]),
            (2, 2, 2, 2, [6, 5], [2, 2], [4, 3], [1, 1], [0, 1], [2, 2]),
            (1, 3, 2, 1, [4, 4], [1, 1], [4, 4], [1, 1], [0, 0], [1, 1]),
            (1, 1, 1, 1, [5, 5], [3, 3], [2, 3], [3, 2], [1, -1], [1, 1]),
        ];
        for (ci, &(n, c, o, groups, inp, k, out, s, lo, d)) in cases.iter().enumerate() {
            let g = Geom::new(&inp, &k, &out, &s, &lo, &d);
            let x = data(n * c * g.sin(), 1 + ci as u64);
            let w = data(o * (c / groups) * g.sk(), 2 + ci as u64);
            let gy = data(n * o * g.sout(), 3 + ci as u64);
            let mut y = vec![0.0; n * o * g.sout()];
            let mut dx = vec![0.0; x.len()];
            let mut dw = vec![0.0; w.len()];
            let (xp, wp, gp) = (
                x.as_ptr() as usize,
                w.as_ptr() as usize,
                gy.as_ptr() as usize,
            );
            unsafe {
                assert!(conv::<f64>(
                    Mode::Forward,
                    xp,
                    wp,
                    y.as_mut_ptr() as usize,
                    n,
                    c,
                    o,
                    groups,
                    &g
                ));
                assert!(conv::<f64>(
                    Mode::Input,
                    gp,
                    wp,
                    dx.as_mut_ptr() as usize,
                    n,
                    c,
                    o,
                    groups,
                    &g
                ));
                assert!(conv::<f64>(
                    Mode::Weight,
                    xp,
                    gp,
                    dw.as_mut_ptr() as usize,
                    n,
                    c,
                    o,
                    groups,
                    &g
                ));
            }
            let want = naive(&x, &w, n, c, o, groups, &g);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "case {ci}: {a} vs {b}");
            }
            // ⟨gy, conv(x, w)⟩ = ⟨dx, x⟩ = ⟨dw, w⟩.
            let (e, ex, ew) = (inner(&gy, &y), inner(&dx, &x), inner(&dw, &w));
            assert!(
                (e - ex).abs() < 1e-10 && (e - ew).abs() < 1e-10,
                "case {ci}"
            );
        }
    }

    #[test]
    fn max_pool_takes_the_first_maximum_and_skips_padding() {
        // One 3×3 plane, 2×2 windows, stride 1, padding 1 on top/left.
        let x = [1.0f32, 5.0, 5.0, -1.0, 0.0, 2.0, 7.0, 7.0, 7.0];
        let g = Geom::new(&[3, 3], &[2, 2], &[2, 2], &[2, 2], &[1, 1], &[1, 1]);
        let mut v = [0.0f32; 4];
        let mut i = [0i32; 4];
        unsafe {
            max_pool::<f32>(x.as_ptr() as usize, v.as_mut_ptr() as usize, 1, &g, false);
            max_pool::<f32>(x.as_ptr() as usize, i.as_mut_ptr() as usize, 1, &g, true);
        }
        assert_eq!(v, [1.0, 5.0, 7.0, 7.0]);
        assert_eq!(i, [0, 1, 6, 7]);
        // NaN is the maximum; the first NaN of a window wins.
        let x = [f64::NAN, 1.0, 2.0, 3.0, f64::NAN, 5.0, 6.0, 7.0, 8.0];
        let g = Geom::new(&[3, 3], &[2, 2], &[2, 2], &[1, 1], &[0, 0], &[1, 1]);
        let mut i = [0i32; 4];
        unsafe { max_pool::<f64>(x.as_ptr() as usize, i.as_mut_ptr() as usize, 1, &g, true) };
        assert_eq!(i, [0, 4, 4, 4]);
    }

    #[test]
    fn argsort_is_stable_and_puts_nan_above_numbers() {
        let x = [3.0f64, f64::NAN, 1.0, 3.0, -2.0, 1.0];
        let mut o = [0i32; 6];
        unsafe {
            assert!(argsort::<f64>(
                x.as_ptr() as usize,
                o.as_mut_ptr() as usize,
                1,
                6,
                1,
                false
            ));
        }
        assert_eq!(o, [4, 2, 5, 0, 3, 1]);
        unsafe {
            assert!(argsort::<f64>(
                x.as_ptr() as usize,
                o.as_mut_ptr() as usize,
                1,
                6,
                1,
                true
            ));
        }
        assert_eq!(o, [1, 0, 3, 2, 5, 4]);
        // A long lane (merges) along the middle of [2, 100, 3].
        let (outer, len, inner) = (2, 100, 3);
        let v: Vec<f64> = data(outer * len * inner, 9)
            .iter()
            .map(|x| (x * 3.0).round())
            .collect();
        let mut o = vec![0i32; v.len()];
        unsafe {
            assert!(argsort::<f64>(
                v.as_ptr() as usize,
                o.as_mut_ptr() as usize,
                outer,
                len,
                inner,
                false
            ));
        }
        for a in 0..outer {
            for c in 0..inner {
                let at = |i: usize| a * len * inner + i * inner + c;
                let mut want: Vec<usize> = (0..len).collect();
                want.sort_by(|&p, &q| v[at(p)].partial_cmp(&v[at(q)]).unwrap());
                let got: Vec<usize> = (0..len).map(|i| o[at(i)] as usize).collect();
                assert_eq!(got, want);
            }
        }
    }
}
