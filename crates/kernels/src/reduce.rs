//! Reductions over any set of axes, and argmax/argmin along one axis.
//!
//! `reduce_*`: input is read through `meta` = `[shape[rank], strides[rank]]`
//! where the LAST `nred` dims are the reduced ones (the TS side orders the
//! kept dims first, then the reduced dims; a permutation of metadata only).
//! Output is contiguous over the kept dims. Empty reductions give the
//! identity (sum 0, prod 1, max -inf, min +inf); max/min propagate NaN.
//!
//! Sums are blocked and pairwise (see [`sum`]): float32 error stays within
//! a few ulps for any length, where one running accumulator per lane loses
//! accuracy linearly in the length when the rounding errors share a sign
//! (6e-3 relative for the sum of 1e7 tenths).
//!
//! `reduce_*` is hand-written SIMD rather than ndarray: ndarray's `sum`
//! reached about half of the 4×f32x4 loop in wasm, its `fold` (max/min) is
//! one scalar chain, and every `IxDyn` sub-view costs ~100 ns. ndarray
//! serves argmax/argmin along a strided axis (see [`argreduce_f32`]).

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
    pairwise: bool,
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
    if pairwise {
        run_sum::<T>(x, out, &ko, &rd);
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

/// Blocked pairwise summation.
///
/// Every element passes through a short sequential chain (16 adds per f32
/// lane in a contiguous leaf of [`BLOCK`], at most [`RUN`] or [`ROWS`] adds
/// on the other paths) and then a binary tree of partial sums, so the
/// rounding error grows with `log2(n)` instead of `n`. The tree costs one
/// add per block, which keeps the loops memory-bound: in wasm every sum
/// case of bench/kernels_bench.ts ran within 0.8-2x of the one-accumulator
/// kernel it replaced (small column sums of a few KiB slowest).
pub mod sum {
    use crate::nd::Layout;
    use crate::num::{Float, Vector};
    use core::mem::MaybeUninit;

    /// Elements per leaf of the contiguous pairwise tree (a multiple of
    /// 8 vectors; 16 adds per f32 lane, 32 per f64 lane).
    pub const BLOCK: usize = 512;
    /// Sequential adds into a block of [`Stream`] (strided elements, or
    /// sums of contiguous runs) before it joins the cascade.
    pub const RUN: usize = 32;
    /// Reduced rows added sequentially into a column tile before joining the
    /// cascade (the column mode of [`columns`]). 16 cost 15-25% of the
    /// column-sum speed in wasm; 64 doubled the worst error (6e-7 on 1e7
    /// tenths).
    pub const ROWS: usize = 32;
    /// Bytes of a column tile in [`columns`]: long enough that each reduced
    /// row is read in long runs (512-byte tiles measured clearly slower);
    /// the tile's cascade lives on the stack.
    const TILE_BYTES: usize = 8192;
    /// Column cascade depth: 2^24 blocks of [`ROWS`] rows of at least 8
    /// elements, more than wasm32 memory can hold. With the tile this is
    /// 192 KiB of the 1 MiB stack.
    const COL_LEVELS: usize = 24;
    /// Cascade depth: room for 2^34 partial sums, more elements than wasm32
    /// memory can hold.
    const LEVELS: usize = 34;

    /// Sum of a run of whole 4-vector groups (`n <= BLOCK`), as a vector:
    /// eight accumulators (two per group at the tail) keep the adds
    /// independent.
    #[inline(always)]
    unsafe fn leaf<T: Float>(p: *const T, n: usize) -> T::V {
        let l = T::V::LANES;
        let z = T::V::splat(T::ZERO);
        let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
        let (mut a4, mut a5, mut a6, mut a7) = (z, z, z, z);
        let mut i = 0;
        while i + 8 * l <= n {
            a0 = a0.add(T::V::load(p.add(i)));
            a1 = a1.add(T::V::load(p.add(i + l)));
            a2 = a2.add(T::V::load(p.add(i + 2 * l)));
            a3 = a3.add(T::V::load(p.add(i + 3 * l)));
            a4 = a4.add(T::V::load(p.add(i + 4 * l)));
            a5 = a5.add(T::V::load(p.add(i + 5 * l)));
            a6 = a6.add(T::V::load(p.add(i + 6 * l)));
            a7 = a7.add(T::V::load(p.add(i + 7 * l)));
            i += 8 * l;
        }
        if i < n {
            a0 = a0.add(T::V::load(p.add(i)));
            a1 = a1.add(T::V::load(p.add(i + l)));
            a2 = a2.add(T::V::load(p.add(i + 2 * l)));
            a3 = a3.add(T::V::load(p.add(i + 3 * l)));
        }
        (a0.add(a1).add(a2.add(a3))).add(a4.add(a5).add(a6.add(a7)))
    }

    /// Pairwise tree over `n` (a multiple of 4 vectors) elements: halves
    /// split on a [`BLOCK`] boundary.
    unsafe fn tree<T: Float>(p: *const T, n: usize) -> T::V {
        if n <= BLOCK {
            return leaf::<T>(p, n);
        }
        let h = (n / BLOCK).div_ceil(2) * BLOCK;
        tree::<T>(p, h).add(tree::<T>(p.add(h), n - h))
    }

    /// The lanes of `v`, added pairwise.
    #[inline(always)]
    fn lanes<T: Float>(v: T::V) -> T {
        let mut x = [T::ZERO; 4];
        unsafe { v.store(x.as_mut_ptr()) };
        if T::V::LANES == 4 {
            (x[0] + x[1]) + (x[2] + x[3])
        } else {
            x[0] + x[1]
        }
    }

    /// Sum of `n` contiguous elements.
    ///
    /// # Safety
    /// `p` must be valid for reading `n` elements.
    #[inline(always)]
    pub unsafe fn contiguous<T: Float>(p: *const T, n: usize) -> T {
        let g = 4 * T::V::LANES;
        let m = n - n % g;
        let mut s = T::ZERO;
        if m > BLOCK {
            s = lanes::<T>(tree::<T>(p, m));
        } else if m > 0 {
            s = lanes::<T>(leaf::<T>(p, m));
        }
        let mut t = T::ZERO;
        for i in m..n {
            t = t + *p.add(i);
        }
        s + t
    }

    /// Pairwise combination of a stream of partial sums: a binary counter
    /// whose level `k` holds the sum of `2^k` consecutive partials.
    /// Only levels whose bit is set in `count` are initialised (no memset
    /// per output).
    pub struct Cascade<T> {
        levels: [MaybeUninit<T>; LEVELS],
        count: u64,
    }

    impl<T: Float> Cascade<T> {
        #[inline(always)]
        pub fn new() -> Self {
            Cascade {
                levels: [MaybeUninit::uninit(); LEVELS],
                count: 0,
            }
        }

        #[inline(always)]
        pub fn push(&mut self, x: T) {
            let mut x = x;
            let c = self.count;
            let top = c.trailing_ones() as usize;
            for k in 0..top {
                x = unsafe { self.levels[k].assume_init() } + x;
            }
            self.levels[top] = MaybeUninit::new(x);
            self.count = c + 1;
        }

        pub fn finish(&self) -> T {
            let mut s = T::ZERO;
            let mut first = true;
            for k in 0..LEVELS {
                if self.count >> k & 1 == 1 {
                    let v = unsafe { self.levels[k].assume_init() };
                    s = if first { v } else { v + s };
                    first = false;
                }
            }
            s
        }
    }

    impl<T: Float> Default for Cascade<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    /// A streaming sum over runs of any stride: a block takes [`RUN`]
    /// sequential adds (strided elements, or the pairwise sums of whole
    /// contiguous runs), then joins a [`Cascade`].
    pub struct Stream<T> {
        block: T,
        /// Adds into `block` so far.
        filled: usize,
        cascade: Cascade<T>,
    }

    impl<T: Float> Stream<T> {
        #[inline(always)]
        pub fn new() -> Self {
            Stream {
                block: T::ZERO,
                filled: 0,
                cascade: Cascade::new(),
            }
        }

        /// Adds `n` elements at `p`, `stride` elements apart.
        ///
        /// # Safety
        /// Every `p + j * stride` (`j < n`) must be readable.
        #[inline(always)]
        pub unsafe fn run(&mut self, p: *const T, n: usize, stride: isize) {
            if stride == 1 {
                // One add per run: a push per short run would cost as much
                // as summing it.
                self.block = self.block + contiguous::<T>(p, n);
                self.filled += 1;
                if self.filled == RUN {
                    self.flush();
                }
                return;
            }
            let mut j = 0;
            while j < n {
                let take = (RUN - self.filled).min(n - j);
                let mut b = self.block;
                for i in j..j + take {
                    b = b + *p.offset(i as isize * stride);
                }
                self.block = b;
                self.filled += take;
                j += take;
                if self.filled == RUN {
                    self.flush();
                }
            }
        }

        #[inline(always)]
        fn flush(&mut self) {
            self.cascade.push(self.block);
            self.block = T::ZERO;
            self.filled = 0;
        }

        pub fn finish(mut self) -> T {
            if self.filled > 0 {
                self.flush();
            }
            self.cascade.finish()
        }
    }

    impl<T: Float> Default for Stream<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    /// `dst[i] = src[i]` for `i < n` (inline: `memory.copy` is a call in V8,
    /// costly for the short runs here).
    #[inline(always)]
    unsafe fn copy<T: Float>(dst: *mut T, src: *const T, n: usize) {
        let l = T::V::LANES;
        let mut i = 0;
        while i + l <= n {
            T::V::load(src.add(i)).store(dst.add(i));
            i += l;
        }
        while i < n {
            *dst.add(i) = *src.add(i);
            i += 1;
        }
    }

    /// `dst[i] += src[i]` for `i < n`.
    #[inline(always)]
    unsafe fn add_into<T: Float>(dst: *mut T, src: *const T, n: usize) {
        let l = T::V::LANES;
        let mut i = 0;
        while i + 4 * l <= n {
            let r0 = T::V::load(dst.add(i)).add(T::V::load(src.add(i)));
            let r1 = T::V::load(dst.add(i + l)).add(T::V::load(src.add(i + l)));
            let r2 = T::V::load(dst.add(i + 2 * l)).add(T::V::load(src.add(i + 2 * l)));
            let r3 = T::V::load(dst.add(i + 3 * l)).add(T::V::load(src.add(i + 3 * l)));
            r0.store(dst.add(i));
            r1.store(dst.add(i + l));
            r2.store(dst.add(i + 2 * l));
            r3.store(dst.add(i + 3 * l));
            i += 4 * l;
        }
        while i + l <= n {
            T::V::load(dst.add(i))
                .add(T::V::load(src.add(i)))
                .store(dst.add(i));
            i += l;
        }
        while i < n {
            *dst.add(i) = *dst.add(i) + *src.add(i);
            i += 1;
        }
    }

    /// One tile of columns in [`columns`]: blocks of [`ROWS`] rows are
    /// added sequentially, and the blocks are combined pairwise through a
    /// cascade of tiles (level `k` at `lv + k * stride` holds the sum of
    /// `2^k` blocks when bit `k` of `count` is set). Each block accumulates
    /// in place in the level it will land in, so joining costs no copies.
    struct Tile<T> {
        lv: *mut T,
        stride: usize,
        kt: usize,
        count: u64,
        rows: usize,
        dst: *mut T,
    }

    impl<T: Float> Tile<T> {
        /// Adds one reduced row (`kt` contiguous elements at `src`).
        #[inline(always)]
        unsafe fn row(&mut self, src: *const T) {
            if self.rows == 0 {
                // The block lands above the occupied low levels.
                self.dst = self
                    .lv
                    .add(self.count.trailing_ones() as usize * self.stride);
                copy(self.dst, src, self.kt);
            } else {
                add_into(self.dst, src, self.kt);
            }
            self.rows += 1;
            if self.rows == ROWS {
                for k in 0..self.count.trailing_ones() as usize {
                    add_into(self.dst, self.lv.add(k * self.stride), self.kt);
                }
                self.count += 1;
                self.rows = 0;
            }
        }

        /// Writes the total (occupied levels and an unfinished block) to `o`.
        #[inline(always)]
        unsafe fn finish(&self, o: *mut T) {
            let mut first = true;
            if self.rows > 0 {
                copy(o, self.dst, self.kt);
                first = false;
            }
            for k in 0..64 - self.count.leading_zeros() as usize {
                if self.count >> k & 1 == 1 {
                    let lk = self.lv.add(k * self.stride);
                    if first {
                        copy(o, lk, self.kt);
                    } else {
                        add_into(o, lk, self.kt);
                    }
                    first = false;
                }
            }
        }
    }

    /// A column sum fed one row at a time: `out[c] = Σ_r row_r[c]` for rows
    /// of `len`, for a fused producer that computes its rows block by block
    /// (program/fused.rs). The cascade is [`columns`]'s, over one tile as
    /// wide as the row (each column's adds do not depend on the tiling), so
    /// the sums are the same bits.
    pub struct Columns<T> {
        /// The cascade's levels (`tile.lv` points into it).
        _levels: Vec<T>,
        tile: Tile<T>,
    }

    impl<T: Float> Columns<T> {
        /// For `rows` rows of `len` elements; None when the levels cannot
        /// be allocated.
        pub fn new(len: usize, rows: usize) -> Option<Self> {
            // Level k holds 2^k blocks: a cascade of b blocks reaches level
            // floor(log2 b).
            let blocks = rows.div_ceil(ROWS).max(1);
            let n = (usize::BITS - blocks.leading_zeros()) as usize * len;
            let mut levels = Vec::new();
            levels.try_reserve_exact(n).ok()?;
            levels.resize(n, T::ZERO);
            let lv = levels.as_mut_ptr();
            let tile = Tile {
                lv,
                stride: len,
                kt: len,
                count: 0,
                rows: 0,
                dst: lv,
            };
            Some(Columns {
                _levels: levels,
                tile,
            })
        }

        /// Adds the next row (`len` elements at `src`).
        ///
        /// # Safety
        /// `src` readable for `len` elements; at most `rows` rows in all.
        pub unsafe fn row(&mut self, src: *const T) {
            self.tile.row(src)
        }

        /// Writes the `len` sums to `out`.
        ///
        /// # Safety
        /// `out` writable for `len` elements; at least one row was added.
        pub unsafe fn finish(&self, out: *mut T) {
            self.tile.finish(out)
        }
    }

    /// `out[c] = Σ_r x[koff + r + c]` for `c < klen`, over every reduced
    /// offset `r` of `rd`: SIMD across the contiguous kept run, in tiles of
    /// columns whose cascades live on the stack (see [`Tile`]).
    ///
    /// # Safety
    /// Every `x + koff + r + c` must be readable, `out` writable for `klen`.
    pub unsafe fn columns<T: Float>(
        x: *const T,
        koff: isize,
        klen: usize,
        rd: &Layout<1>,
        out: *mut T,
    ) {
        // Fewer levels when they suffice: the same sums on a smaller stack
        // (a worker's is 256 KiB, parallel.rs).
        if rd.size() <= SMALL_COLUMN_ROWS {
            columns_in::<T, SMALL_LEVELS>(x, koff, klen, rd, out)
        } else {
            columns_in::<T, COL_LEVELS>(x, koff, klen, rd, out)
        }
    }

    /// Levels of the smaller cascade of [`columns`].
    const SMALL_LEVELS: usize = 8;
    /// Reduced rows whose blocks of [`ROWS`] all fit [`SMALL_LEVELS`] levels
    /// (at most 2^8 − 1 blocks: 64 KiB of stack).
    pub const SMALL_COLUMN_ROWS: usize = ((1 << SMALL_LEVELS) - 1) * ROWS;

    /// [`columns`] with a cascade of `L` levels.
    unsafe fn columns_in<T: Float, const L: usize>(
        x: *const T,
        koff: isize,
        klen: usize,
        rd: &Layout<1>,
        out: *mut T,
    ) {
        let stride = TILE_BYTES / core::mem::size_of::<T>();
        let mut levels = MaybeUninit::<[[u64; TILE_BYTES / 8]; L]>::uninit();
        let lv = levels.as_mut_ptr() as *mut T;
        let mut c0 = 0;
        while c0 < klen {
            let mut t = Tile {
                lv,
                stride,
                kt: stride.min(klen - c0),
                count: 0,
                rows: 0,
                dst: lv,
            };
            let base = x.offset(koff).add(c0);
            // Plain loops for up to two reduced dims (a closure call per row
            // costs as much as a short row).
            let (sh, st) = (&rd.shape, &rd.strides[0]);
            match rd.rank {
                0 => t.row(base),
                1 => {
                    for j in 0..sh[0] as isize {
                        t.row(base.offset(j * st[0]));
                    }
                }
                2 => {
                    for i in 0..sh[0] as isize {
                        let b = base.offset(i * st[0]);
                        for j in 0..sh[1] as isize {
                            t.row(b.offset(j * st[1]));
                        }
                    }
                }
                _ => rd.for_each_row(|roff, rlen, rst| {
                    for j in 0..rlen as isize {
                        t.row(base.offset(roff[0] + j * rst[0]));
                    }
                }),
            }
            t.finish(out.add(c0));
            c0 += t.kt;
        }
    }

    /// Sum of the elements of `rd` at `base`.
    ///
    /// # Safety
    /// Every element of the view must be readable.
    #[inline(always)]
    pub unsafe fn view<T: Float>(base: *const T, rd: &Layout<1>) -> T {
        let (sh, st) = (&rd.shape, &rd.strides[0]);
        match rd.rank {
            0 => *base,
            1 if st[0] == 1 => contiguous::<T>(base, sh[0]),
            1 => {
                let mut s = Stream::new();
                s.run(base, sh[0], st[0]);
                s.finish()
            }
            2 if st[1] == 1 => {
                // Contiguous runs (the common case): Stream's logic on locals.
                let mut c = Cascade::new();
                let (mut block, mut adds) = (T::ZERO, 0);
                for i in 0..sh[0] as isize {
                    block = block + contiguous::<T>(base.offset(i * st[0]), sh[1]);
                    adds += 1;
                    if adds == RUN {
                        c.push(block);
                        (block, adds) = (T::ZERO, 0);
                    }
                }
                if adds > 0 {
                    c.push(block);
                }
                c.finish()
            }
            2 => {
                let mut s = Stream::new();
                for i in 0..sh[0] as isize {
                    s.run(base.offset(i * st[0]), sh[1], st[1]);
                }
                s.finish()
            }
            _ => {
                let mut s = Stream::new();
                rd.for_each_row(|roff, rlen, rst| s.run(base.offset(roff[0]), rlen, rst[0]));
                s.finish()
            }
        }
    }
}

/// Sum over the reduced dims `rd` for every kept index of `ko` (see
/// [`sum`]): column mode when the innermost kept dim is contiguous and long,
/// else one pairwise sum per output.
unsafe fn run_sum<T: Float>(x: *const T, out: *mut T, ko: &Layout<1>, rd: &Layout<1>) {
    let col_mode = ko.rank > 0 && ko.strides[0][ko.rank - 1] == 1 && ko.shape[ko.rank - 1] >= 8;
    let mut o = out;
    if col_mode {
        ko.for_each_row(|koff, klen, _| {
            sum::columns::<T>(x, koff[0], klen, rd, o);
            o = o.add(klen);
        });
        return;
    }
    ko.for_each_row(|koff, klen, kst| {
        for k in 0..klen as isize {
            *o = sum::view::<T>(x.offset(koff[0] + k * kst[0]), rd);
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
            true,
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
            false,
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
            false,
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
            false,
            |a, b| a.min(b),
            |a, b| a.nmin(b),
        ),
        _ => {}
    }
}

/// `out[r]` = op over the contiguous row `x[r * len..(r + 1) * len]`, for
/// `rows` rows of `len` ≥ 2 elements: what `reduce_*` computes for each
/// output of a last-axis reduction of `[rows, len]` (the same per-row
/// sum or fold, bit for bit), without parsing a layout per call. The fused
/// reductions of the program executor (program/fused.rs) call it per block.
///
/// # Safety
/// `x` readable for `rows * len` elements, `out` writable for `rows`.
pub unsafe fn rows<T: Float>(op: u32, x: *const T, out: *mut T, rows: usize, len: usize) {
    let init = identity::<T>(op);
    for r in 0..rows {
        let p = x.add(r * len);
        // As run_reduce: a pairwise sum, or one fold of the row into init.
        *out.add(r) = match op {
            SUM => sum::contiguous::<T>(p, len),
            PROD => {
                let (fv, fs) = (|a: T::V, b: T::V| a.mul(b), |a: T, b: T| a * b);
                fs(init, reduce_contig::<T>(p, len, init, &fv, &fs))
            }
            MAX => {
                let (fv, fs) = (|a: T::V, b: T::V| a.max(b), |a: T, b: T| a.nmax(b));
                fs(init, reduce_contig::<T>(p, len, init, &fv, &fs))
            }
            _ => {
                let (fv, fs) = (|a: T::V, b: T::V| a.min(b), |a: T, b: T| a.nmin(b));
                fs(init, reduce_contig::<T>(p, len, init, &fv, &fs))
            }
        };
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
/// Measured in wasm (f32, GB/s of input): [4096,256] along 1: this loop
/// 3.16, ndarray `Zip` over `lanes` 3.07 (so the loop stays); [1024,1024]
/// along 0: a strided-lane loop 0.96, the ndarray row sweep 3.37.
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
        return if outer == 0 || inner == 0 { 0 } else { 1 };
    }
    let (x, o) = (x as *const T, out as *mut i32);
    if inner != 1 {
        if !with_ndarray::argreduce_rows::<T, IS_MAX>(x, o, outer, len, inner) {
            return 2;
        }
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
/// Returns 0, 1 when `len == 0` with a non-empty output (no answer), or 2
/// when out of memory for the scratch row (`inner > 1` only).
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

/// The row-sweeping argmax/argmin, written with ndarray.
pub mod with_ndarray {
    use crate::num::Float;
    use ndarray::{ArrayView3, ArrayViewMut1, ArrayViewMut2, Zip};

    /// argmax/argmin of contiguous x `[outer, len, inner]` along `len`
    /// (`len > 0`), sweeping whole rows: per output the best value so far
    /// and its index, updated by a `Zip` over each contiguous row of
    /// `inner`. First occurrence wins; a NaN wins and then stays. Returns
    /// false, writing nothing, when the row of bests cannot be allocated.
    ///
    /// # Safety
    /// `x` must hold `outer * len * inner` values, `out` `outer * inner`.
    pub unsafe fn argreduce_rows<T: Float, const IS_MAX: bool>(
        x: *const T,
        out: *mut i32,
        outer: usize,
        len: usize,
        inner: usize,
    ) -> bool {
        let mut scratch: Vec<T> = Vec::new();
        // Fallible: an infallible allocation traps when memory is full.
        if scratch.try_reserve_exact(inner).is_err() {
            return false;
        }
        scratch.resize(inner, T::ZERO);
        let mut best = ArrayViewMut1::from(&mut scratch[..]);
        let v = ArrayView3::from_shape_ptr((outer, len, inner), x);
        let mut o = ArrayViewMut2::from_shape_ptr((outer, inner), out);
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
        true
    }
}
