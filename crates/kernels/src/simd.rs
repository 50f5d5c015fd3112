//! Portable 128-bit vector types.
//!
//! On `wasm32` with `simd128` these wrap `core::arch::wasm32::v128`; on the
//! host (native `cargo test`) they are plain arrays with the same IEEE
//! semantics (mul and add are separate roundings, min/max propagate NaN), so
//! the unit tests exercise the exact algorithms (tails, packing, polynomials)
//! that run in WebAssembly.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    #[repr(transparent)]
    pub struct F32x4(pub v128);
    #[derive(Clone, Copy)]
    #[repr(transparent)]
    pub struct F64x2(pub v128);
    #[derive(Clone, Copy)]
    #[repr(transparent)]
    pub struct I32x4(pub v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self(f32x4_splat(x))
        }
        /// # Safety
        /// `p` must be valid for reading 4 elements (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(v128_load(p as *const v128))
        }
        /// # Safety
        /// `p` must be valid for writing 4 elements.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(f32x4_mul(self.0, o.0))
        }
        /// `self * b + c`: one fused `relaxed_madd` in the relaxed-SIMD build
        /// (rounded once or twice, as the engine chooses), else mul then add.
        #[inline(always)]
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            {
                Self(f32x4_relaxed_madd(self.0, b.0, c.0))
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            {
                Self(f32x4_add(f32x4_mul(self.0, b.0), c.0))
            }
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            Self(f32x4_min(self.0, o.0))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(f32x4_max(self.0, o.0))
        }
        /// Pseudo-minimum `o < self ? o : self`: one instruction on x64.
        /// With a NaN operand either one may come back (callers mend NaN).
        #[inline(always)]
        pub fn pmin(self, o: Self) -> Self {
            Self(f32x4_pmin(self.0, o.0))
        }
        /// Pseudo-maximum `self < o ? o : self`: one instruction on x64.
        /// With a NaN operand either one may come back (callers mend NaN).
        #[inline(always)]
        pub fn pmax(self, o: Self) -> Self {
            Self(f32x4_pmax(self.0, o.0))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            Self(f32x4_sqrt(self.0))
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            Self(f32x4_abs(self.0))
        }
        #[inline(always)]
        pub fn neg(self) -> Self {
            Self(f32x4_neg(self.0))
        }
        #[inline(always)]
        pub fn floor(self) -> Self {
            Self(f32x4_floor(self.0))
        }
        #[inline(always)]
        pub fn nearest(self) -> Self {
            Self(f32x4_nearest(self.0))
        }
        /// Lane mask (all ones where true).
        #[inline(always)]
        pub fn lt(self, o: Self) -> I32x4 {
            I32x4(f32x4_lt(self.0, o.0))
        }
        #[inline(always)]
        pub fn le(self, o: Self) -> I32x4 {
            I32x4(f32x4_le(self.0, o.0))
        }
        #[inline(always)]
        pub fn gt(self, o: Self) -> I32x4 {
            I32x4(f32x4_gt(self.0, o.0))
        }
        #[inline(always)]
        pub fn ge(self, o: Self) -> I32x4 {
            I32x4(f32x4_ge(self.0, o.0))
        }
        #[inline(always)]
        pub fn eq(self, o: Self) -> I32x4 {
            I32x4(f32x4_eq(self.0, o.0))
        }
        #[inline(always)]
        pub fn ne(self, o: Self) -> I32x4 {
            I32x4(f32x4_ne(self.0, o.0))
        }
        #[inline(always)]
        pub fn to_bits(self) -> I32x4 {
            I32x4(self.0)
        }
        #[inline(always)]
        pub fn from_bits(x: I32x4) -> Self {
            Self(x.0)
        }
        /// Truncating conversion (saturating; NaN gives 0).
        #[inline(always)]
        pub fn to_i32(self) -> I32x4 {
            I32x4(i32x4_trunc_sat_f32x4(self.0))
        }
        /// Truncating conversion of lanes the caller knows are in i32 range
        /// (a NaN or out-of-range lane gives some value): one instruction
        /// in the relaxed-SIMD build, where V8 spends about seven on the
        /// saturating one.
        #[inline(always)]
        pub fn to_i32_in_range(self) -> I32x4 {
            #[cfg(target_feature = "relaxed-simd")]
            {
                I32x4(i32x4_relaxed_trunc_f32x4(self.0))
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            {
                self.to_i32()
            }
        }
        #[inline(always)]
        pub fn from_i32(x: I32x4) -> Self {
            Self(f32x4_convert_i32x4(x.0))
        }
        /// `m ? a : b` lane-wise.
        #[inline(always)]
        pub fn select(m: I32x4, a: Self, b: Self) -> Self {
            Self(v128_bitselect(a.0, b.0, m.0))
        }
        #[inline(always)]
        pub fn any_mask(m: I32x4) -> bool {
            v128_any_true(m.0)
        }
        /// `c != 0 ? a : b` lane-wise (NaN counts as non-zero, -0 as zero).
        #[inline(always)]
        pub fn select_nonzero(c: Self, a: Self, b: Self) -> Self {
            Self(v128_bitselect(a.0, b.0, f32x4_ne(c.0, f32x4_splat(0.0))))
        }
    }

    impl I32x4 {
        #[inline(always)]
        pub fn splat(x: i32) -> Self {
            Self(i32x4_splat(x))
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(i32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(i32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn and(self, o: Self) -> Self {
            Self(v128_and(self.0, o.0))
        }
        #[inline(always)]
        pub fn or(self, o: Self) -> Self {
            Self(v128_or(self.0, o.0))
        }
        #[inline(always)]
        pub fn xor(self, o: Self) -> Self {
            Self(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        pub fn shl(self, n: u32) -> Self {
            Self(i32x4_shl(self.0, n))
        }
        /// Arithmetic shift right.
        #[inline(always)]
        pub fn shr(self, n: u32) -> Self {
            Self(i32x4_shr(self.0, n))
        }
        #[inline(always)]
        pub fn eq(self, o: Self) -> Self {
            Self(i32x4_eq(self.0, o.0))
        }
    }

    impl F64x2 {
        #[inline(always)]
        pub fn splat(x: f64) -> Self {
            Self(f64x2_splat(x))
        }
        /// # Safety
        /// `p` must be valid for reading 2 elements.
        #[inline(always)]
        pub unsafe fn load(p: *const f64) -> Self {
            Self(v128_load(p as *const v128))
        }
        /// # Safety
        /// `p` must be valid for writing 2 elements.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f64) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(f64x2_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(f64x2_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(f64x2_mul(self.0, o.0))
        }
        /// As [`F32x4::mul_add`].
        #[inline(always)]
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            {
                Self(f64x2_relaxed_madd(self.0, b.0, c.0))
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            {
                Self(f64x2_add(f64x2_mul(self.0, b.0), c.0))
            }
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(f64x2_div(self.0, o.0))
        }
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            Self(f64x2_min(self.0, o.0))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(f64x2_max(self.0, o.0))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            Self(f64x2_sqrt(self.0))
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            Self(f64x2_abs(self.0))
        }
        #[inline(always)]
        pub fn neg(self) -> Self {
            Self(f64x2_neg(self.0))
        }
        #[inline(always)]
        pub fn lt(self, o: Self) -> Self {
            Self(v128_and(f64x2_lt(self.0, o.0), f64x2_splat(1.0)))
        }
        #[inline(always)]
        pub fn le(self, o: Self) -> Self {
            Self(v128_and(f64x2_le(self.0, o.0), f64x2_splat(1.0)))
        }
        #[inline(always)]
        pub fn gt(self, o: Self) -> Self {
            Self(v128_and(f64x2_gt(self.0, o.0), f64x2_splat(1.0)))
        }
        #[inline(always)]
        pub fn ge(self, o: Self) -> Self {
            Self(v128_and(f64x2_ge(self.0, o.0), f64x2_splat(1.0)))
        }
        #[inline(always)]
        pub fn eq(self, o: Self) -> Self {
            Self(v128_and(f64x2_eq(self.0, o.0), f64x2_splat(1.0)))
        }
        #[inline(always)]
        pub fn ne(self, o: Self) -> Self {
            Self(v128_and(f64x2_ne(self.0, o.0), f64x2_splat(1.0)))
        }
        /// `c != 0 ? a : b` lane-wise (NaN counts as non-zero, -0 as zero).
        #[inline(always)]
        pub fn select_nonzero(c: Self, a: Self, b: Self) -> Self {
            Self(v128_bitselect(a.0, b.0, f64x2_ne(c.0, f64x2_splat(0.0))))
        }
    }

    /// Transposes a 4×4 block of 32-bit elements: row `r` of the source (4
    /// elements at `src + r*ss`) becomes column `r` of the destination
    /// (rows at `dst + c*ds`). Unpack shuffles (punpck{l,h}{dq,qdq} on x64).
    ///
    /// # Safety
    /// The 4 source rows must be readable and the 4 destination rows
    /// writable (4 elements each; no alignment needed).
    #[inline(always)]
    pub unsafe fn transpose4_u32(src: *const u32, ss: isize, dst: *mut u32, ds: isize) {
        let r0 = v128_load(src as *const v128);
        let r1 = v128_load(src.offset(ss) as *const v128);
        let r2 = v128_load(src.offset(2 * ss) as *const v128);
        let r3 = v128_load(src.offset(3 * ss) as *const v128);
        let t0 = i32x4_shuffle::<0, 4, 1, 5>(r0, r1);
        let t1 = i32x4_shuffle::<2, 6, 3, 7>(r0, r1);
        let t2 = i32x4_shuffle::<0, 4, 1, 5>(r2, r3);
        let t3 = i32x4_shuffle::<2, 6, 3, 7>(r2, r3);
        v128_store(dst as *mut v128, i64x2_shuffle::<0, 2>(t0, t2));
        v128_store(dst.offset(ds) as *mut v128, i64x2_shuffle::<1, 3>(t0, t2));
        v128_store(
            dst.offset(2 * ds) as *mut v128,
            i64x2_shuffle::<0, 2>(t1, t3),
        );
        v128_store(
            dst.offset(3 * ds) as *mut v128,
            i64x2_shuffle::<1, 3>(t1, t3),
        );
    }

    /// As [`transpose4_u32`] for a 2×2 block of 64-bit elements.
    ///
    /// # Safety
    /// As [`transpose4_u32`] (2 rows of 2 elements).
    #[inline(always)]
    pub unsafe fn transpose2_u64(src: *const u64, ss: isize, dst: *mut u64, ds: isize) {
        let r0 = v128_load(src as *const v128);
        let r1 = v128_load(src.offset(ss) as *const v128);
        v128_store(dst as *mut v128, i64x2_shuffle::<0, 2>(r0, r1));
        v128_store(dst.offset(ds) as *mut v128, i64x2_shuffle::<1, 3>(r0, r1));
    }

    #[inline(always)]
    unsafe fn fill_v(p: *mut u8, bytes: usize, v: v128) {
        let mut i = 0;
        while i + 64 <= bytes {
            v128_store(p.add(i) as *mut v128, v);
            v128_store(p.add(i + 16) as *mut v128, v);
            v128_store(p.add(i + 32) as *mut v128, v);
            v128_store(p.add(i + 48) as *mut v128, v);
            i += 64;
        }
        while i + 16 <= bytes {
            v128_store(p.add(i) as *mut v128, v);
            i += 16;
        }
    }

    /// `p[0..n] = v` with 128-bit stores.
    ///
    /// # Safety
    /// `p` must be valid for writing `n` elements.
    #[inline(always)]
    pub unsafe fn fill_u32(p: *mut u32, n: usize, v: u32) {
        fill_v(p as *mut u8, n * 4, u32x4_splat(v));
        for i in (n & !3)..n {
            *p.add(i) = v;
        }
    }

    /// `p[0..n] = v` with 128-bit stores.
    ///
    /// # Safety
    /// `p` must be valid for writing `n` elements.
    #[inline(always)]
    pub unsafe fn fill_u64(p: *mut u64, n: usize, v: u64) {
        fill_v(p as *mut u8, n * 8, u64x2_splat(v));
        if n & 1 == 1 {
            *p.add(n - 1) = v;
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    //! Host fallback: arrays with the same lane semantics as wasm simd128.

    #[derive(Clone, Copy)]
    pub struct F32x4(pub [f32; 4]);
    #[derive(Clone, Copy)]
    pub struct F64x2(pub [f64; 2]);
    #[derive(Clone, Copy)]
    pub struct I32x4(pub [i32; 4]);

    fn wmin<T: PartialOrd + Copy>(a: T, b: T, nan: fn(T) -> bool) -> T {
        if nan(a) {
            a
        } else if nan(b) {
            b
        } else if a < b {
            a
        } else {
            b
        }
    }
    fn wmax<T: PartialOrd + Copy>(a: T, b: T, nan: fn(T) -> bool) -> T {
        if nan(a) {
            a
        } else if nan(b) {
            b
        } else if a > b {
            a
        } else {
            b
        }
    }
    fn m(b: bool) -> i32 {
        if b {
            -1
        } else {
            0
        }
    }

    macro_rules! map1 {
        ($s:expr, $f:expr) => {{
            let f = $f;
            let mut r = $s.0;
            for v in r.iter_mut() {
                *v = f(*v);
            }
            Self(r)
        }};
    }
    macro_rules! map2 {
        ($s:expr, $o:expr, $f:expr) => {{
            let f = $f;
            let mut r = $s.0;
            for (i, v) in r.iter_mut().enumerate() {
                *v = f(*v, $o.0[i]);
            }
            Self(r)
        }};
    }
    macro_rules! cmp4 {
        ($s:expr, $o:expr, $f:expr) => {{
            let f = $f;
            let mut r = [0i32; 4];
            for (i, v) in r.iter_mut().enumerate() {
                *v = m(f($s.0[i], $o.0[i]));
            }
            I32x4(r)
        }};
    }

    impl F32x4 {
        pub fn splat(x: f32) -> Self {
            Self([x; 4])
        }
        /// # Safety
        /// `p` must be valid for reading 4 elements.
        pub unsafe fn load(p: *const f32) -> Self {
            Self(core::ptr::read_unaligned(p as *const [f32; 4]))
        }
        /// # Safety
        /// `p` must be valid for writing 4 elements.
        pub unsafe fn store(self, p: *mut f32) {
            core::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }
        pub fn add(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| a + b)
        }
        pub fn sub(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| a - b)
        }
        pub fn mul(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| a * b)
        }
        /// `self * b + c` with two roundings (the SIMD128 build's semantics).
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            self.mul(b).add(c)
        }
        pub fn div(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| a / b)
        }
        pub fn min(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| wmin(a, b, f32::is_nan))
        }
        pub fn max(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| wmax(a, b, f32::is_nan))
        }
        pub fn pmin(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| if b < a { b } else { a })
        }
        pub fn pmax(self, o: Self) -> Self {
            map2!(self, o, |a: f32, b: f32| if a < b { b } else { a })
        }
        pub fn sqrt(self) -> Self {
            map1!(self, f32::sqrt)
        }
        pub fn abs(self) -> Self {
            map1!(self, f32::abs)
        }
        pub fn neg(self) -> Self {
            map1!(self, |a: f32| -a)
        }
        pub fn floor(self) -> Self {
            map1!(self, f32::floor)
        }
        pub fn nearest(self) -> Self {
            map1!(self, f32::round_ties_even)
        }
        pub fn lt(self, o: Self) -> I32x4 {
            cmp4!(self, o, |a: f32, b: f32| a < b)
        }
        pub fn le(self, o: Self) -> I32x4 {
            cmp4!(self, o, |a: f32, b: f32| a <= b)
        }
        pub fn gt(self, o: Self) -> I32x4 {
            cmp4!(self, o, |a: f32, b: f32| a > b)
        }
        pub fn ge(self, o: Self) -> I32x4 {
            cmp4!(self, o, |a: f32, b: f32| a >= b)
        }
        pub fn eq(self, o: Self) -> I32x4 {
            cmp4!(self, o, |a: f32, b: f32| a == b)
        }
        pub fn ne(self, o: Self) -> I32x4 {
            cmp4!(self, o, |a: f32, b: f32| a != b)
        }
        pub fn to_bits(self) -> I32x4 {
            I32x4(self.0.map(|x| x.to_bits() as i32))
        }
        pub fn from_bits(x: I32x4) -> Self {
            Self(x.0.map(|x| f32::from_bits(x as u32)))
        }
        pub fn to_i32(self) -> I32x4 {
            I32x4(self.0.map(|x| x as i32))
        }
        pub fn to_i32_in_range(self) -> I32x4 {
            self.to_i32()
        }
        pub fn from_i32(x: I32x4) -> Self {
            Self(x.0.map(|x| x as f32))
        }
        pub fn select(mk: I32x4, a: Self, b: Self) -> Self {
            let ab = a.to_bits().0;
            let bb = b.to_bits().0;
            let mut r = [0i32; 4];
            for i in 0..4 {
                r[i] = (ab[i] & mk.0[i]) | (bb[i] & !mk.0[i]);
            }
            Self::from_bits(I32x4(r))
        }
        pub fn any_mask(mk: I32x4) -> bool {
            mk.0.iter().any(|&x| x != 0)
        }
        pub fn select_nonzero(c: Self, a: Self, b: Self) -> Self {
            Self(core::array::from_fn(|i| {
                if c.0[i] != 0.0 {
                    a.0[i]
                } else {
                    b.0[i]
                }
            }))
        }
    }

    impl I32x4 {
        pub fn splat(x: i32) -> Self {
            Self([x; 4])
        }
        pub fn add(self, o: Self) -> Self {
            map2!(self, o, |a: i32, b: i32| a.wrapping_add(b))
        }
        pub fn sub(self, o: Self) -> Self {
            map2!(self, o, |a: i32, b: i32| a.wrapping_sub(b))
        }
        pub fn and(self, o: Self) -> Self {
            map2!(self, o, |a: i32, b: i32| a & b)
        }
        pub fn or(self, o: Self) -> Self {
            map2!(self, o, |a: i32, b: i32| a | b)
        }
        pub fn xor(self, o: Self) -> Self {
            map2!(self, o, |a: i32, b: i32| a ^ b)
        }
        pub fn shl(self, n: u32) -> Self {
            map1!(self, |a: i32| a.wrapping_shl(n))
        }
        pub fn shr(self, n: u32) -> Self {
            map1!(self, |a: i32| a >> n)
        }
        pub fn eq(self, o: Self) -> Self {
            map2!(self, o, |a: i32, b: i32| m(a == b))
        }
    }

    fn one(b: bool) -> f64 {
        if b {
            1.0
        } else {
            0.0
        }
    }

    impl F64x2 {
        pub fn splat(x: f64) -> Self {
            Self([x; 2])
        }
        /// # Safety
        /// `p` must be valid for reading 2 elements.
        pub unsafe fn load(p: *const f64) -> Self {
            Self(core::ptr::read_unaligned(p as *const [f64; 2]))
        }
        /// # Safety
        /// `p` must be valid for writing 2 elements.
        pub unsafe fn store(self, p: *mut f64) {
            core::ptr::write_unaligned(p as *mut [f64; 2], self.0)
        }
        pub fn add(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| a + b)
        }
        pub fn sub(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| a - b)
        }
        pub fn mul(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| a * b)
        }
        /// `self * b + c` with two roundings (the SIMD128 build's semantics).
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            self.mul(b).add(c)
        }
        pub fn div(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| a / b)
        }
        pub fn min(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| wmin(a, b, f64::is_nan))
        }
        pub fn max(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| wmax(a, b, f64::is_nan))
        }
        pub fn sqrt(self) -> Self {
            map1!(self, f64::sqrt)
        }
        pub fn abs(self) -> Self {
            map1!(self, f64::abs)
        }
        pub fn neg(self) -> Self {
            map1!(self, |a: f64| -a)
        }
        pub fn lt(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| one(a < b))
        }
        pub fn le(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| one(a <= b))
        }
        pub fn gt(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| one(a > b))
        }
        pub fn ge(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| one(a >= b))
        }
        pub fn eq(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| one(a == b))
        }
        pub fn ne(self, o: Self) -> Self {
            map2!(self, o, |a: f64, b: f64| one(a != b))
        }
        pub fn select_nonzero(c: Self, a: Self, b: Self) -> Self {
            Self(core::array::from_fn(|i| {
                if c.0[i] != 0.0 {
                    a.0[i]
                } else {
                    b.0[i]
                }
            }))
        }
    }

    /// Transposes a 4×4 block of 32-bit elements (see the wasm version).
    ///
    /// # Safety
    /// The 4 source rows must be readable and the 4 destination rows
    /// writable (4 elements each).
    pub unsafe fn transpose4_u32(src: *const u32, ss: isize, dst: *mut u32, ds: isize) {
        let mut b = [[0u32; 4]; 4];
        for (r, row) in b.iter_mut().enumerate() {
            *row = core::ptr::read_unaligned(src.offset(r as isize * ss) as *const [u32; 4]);
        }
        for c in 0..4 {
            let col = [b[0][c], b[1][c], b[2][c], b[3][c]];
            core::ptr::write_unaligned(dst.offset(c as isize * ds) as *mut [u32; 4], col);
        }
    }

    /// As [`transpose4_u32`] for a 2×2 block of 64-bit elements.
    ///
    /// # Safety
    /// As [`transpose4_u32`] (2 rows of 2 elements).
    pub unsafe fn transpose2_u64(src: *const u64, ss: isize, dst: *mut u64, ds: isize) {
        let r0 = core::ptr::read_unaligned(src as *const [u64; 2]);
        let r1 = core::ptr::read_unaligned(src.offset(ss) as *const [u64; 2]);
        core::ptr::write_unaligned(dst as *mut [u64; 2], [r0[0], r1[0]]);
        core::ptr::write_unaligned(dst.offset(ds) as *mut [u64; 2], [r0[1], r1[1]]);
    }

    /// `p[0..n] = v`.
    ///
    /// # Safety
    /// `p` must be valid for writing `n` elements.
    pub unsafe fn fill_u32(p: *mut u32, n: usize, v: u32) {
        core::slice::from_raw_parts_mut(p, n).fill(v)
    }

    /// `p[0..n] = v`.
    ///
    /// # Safety
    /// `p` must be valid for writing `n` elements.
    pub unsafe fn fill_u64(p: *mut u64, n: usize, v: u64) {
        core::slice::from_raw_parts_mut(p, n).fill(v)
    }
}

pub use imp::{fill_u32, fill_u64, transpose2_u64, transpose4_u32, F32x4, F64x2, I32x4};

/// f32x4 comparison results as 1.0 / 0.0.
#[inline(always)]
pub fn mask_to_one_f32(m: I32x4) -> F32x4 {
    F32x4::from_bits(m.and(I32x4::splat(0x3f80_0000)))
}
