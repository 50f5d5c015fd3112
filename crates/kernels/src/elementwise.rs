//! Elementwise kernels: unary maps and broadcasting binary ops, `where`.
//!
//! Buffer layout: every input is read through (pointer, shape, strides);
//! outputs are contiguous row-major. `meta` is the i32 scratch area:
//! binary: `[shape[rank], a_strides[rank], b_strides[rank]]`;
//! where: `[shape[rank], c_strides[rank], a_strides[rank], b_strides[rank]]`.
//! Op codes are named for TypeScript by [`UNARY_OPS`] and [`BINARY_OPS`].

use crate::mathf;
use crate::nd::{flat, read_i32s, Layout};
use crate::num::{Float, Vector};
use crate::simd::{F32x4, F64x2};
use crate::special;
use wasm_bindgen::prelude::*;

// ---------- unary ----------

pub const NEG: u32 = 0;
pub const ABS: u32 = 1;
pub const EXP: u32 = 2;
pub const LOG: u32 = 3;
pub const SQRT: u32 = 4;
pub const SIN: u32 = 5;
pub const COS: u32 = 6;
pub const TAN: u32 = 7;
pub const TANH: u32 = 8;
pub const SIGMOID: u32 = 9;
pub const RELU: u32 = 10;
pub const SQUARE: u32 = 11;
pub const RECIPROCAL: u32 = 12;
pub const SIGN: u32 = 13;
pub const LOG1P: u32 = 14;
pub const EXPM1: u32 = 15;
pub const LOG2: u32 = 16;
pub const LOG10: u32 = 17;
pub const EXP2: u32 = 18;
pub const ASIN: u32 = 19;
pub const ACOS: u32 = 20;
pub const ATAN: u32 = 21;
pub const SINH: u32 = 22;
pub const COSH: u32 = 23;
pub const ASINH: u32 = 24;
pub const ACOSH: u32 = 25;
pub const ATANH: u32 = 26;
pub const FLOOR: u32 = 27;
pub const CEIL: u32 = 28;
pub const ROUND: u32 = 29;
pub const TRUNC: u32 = 30;
pub const ERF: u32 = 31;
pub const ERFC: u32 = 32;
pub const ERFINV: u32 = 33;
pub const LGAMMA: u32 = 34;
pub const DIGAMMA: u32 = 35;
pub const ISNAN: u32 = 36;
pub const ISFINITE: u32 = 37;

/// The unary op codes by the name of the primitive each implements (the
/// program executor accepts these; TypeScript's are generated from here).
pub const UNARY_OPS: &[(&str, u32)] = &[
    ("neg", NEG),
    ("abs", ABS),
    ("exp", EXP),
    ("log", LOG),
    ("sqrt", SQRT),
    ("sin", SIN),
    ("cos", COS),
    ("tan", TAN),
    ("tanh", TANH),
    ("sigmoid", SIGMOID),
    ("relu", RELU),
    ("square", SQUARE),
    ("reciprocal", RECIPROCAL),
    ("sign", SIGN),
    ("log1p", LOG1P),
    ("expm1", EXPM1),
    ("log2", LOG2),
    ("log10", LOG10),
    ("exp2", EXP2),
    ("asin", ASIN),
    ("acos", ACOS),
    ("atan", ATAN),
    ("sinh", SINH),
    ("cosh", COSH),
    ("asinh", ASINH),
    ("acosh", ACOSH),
    ("atanh", ATANH),
    ("floor", FLOOR),
    ("ceil", CEIL),
    ("round", ROUND),
    ("trunc", TRUNC),
    ("erf", ERF),
    ("erfc", ERFC),
    ("erfinv", ERFINV),
    ("lgamma", LGAMMA),
    ("digamma", DIGAMMA),
    ("isnan", ISNAN),
    ("isfinite", ISFINITE),
];

#[inline(always)]
unsafe fn map_vec<T: Float>(
    x: *const T,
    o: *mut T,
    n: usize,
    fv: impl Fn(T::V) -> T::V,
    fs: impl Fn(T) -> T,
) {
    let l = T::V::LANES;
    let mut i = 0;
    while i + 4 * l <= n {
        let a = fv(T::V::load(x.add(i)));
        let b = fv(T::V::load(x.add(i + l)));
        let c = fv(T::V::load(x.add(i + 2 * l)));
        let d = fv(T::V::load(x.add(i + 3 * l)));
        a.store(o.add(i));
        b.store(o.add(i + l));
        c.store(o.add(i + 2 * l));
        d.store(o.add(i + 3 * l));
        i += 4 * l;
    }
    while i + l <= n {
        fv(T::V::load(x.add(i))).store(o.add(i));
        i += l;
    }
    while i < n {
        *o.add(i) = fs(*x.add(i));
        i += 1;
    }
}

#[inline(always)]
unsafe fn map_scalar<T: Float>(x: *const T, o: *mut T, n: usize, fs: impl Fn(T) -> T) {
    for i in 0..n {
        *o.add(i) = fs(*x.add(i));
    }
}

/// `f` on each f32 through f64, rounded once at the end.
#[inline(always)]
unsafe fn via_f64(x: *const f32, o: *mut f32, n: usize, f: impl Fn(f64) -> f64) {
    map_scalar(x, o, n, |v: f32| f(v as f64) as f32)
}

#[inline(always)]
fn sign<T: Float>(v: T) -> T {
    if v > T::ZERO {
        T::ONE
    } else if v < T::ZERO {
        -T::ONE
    } else {
        v // 0, -0, NaN
    }
}

/// Shared simple unary ops (vectorised for both types). Returns false if
/// `op` is a transcendental the caller must handle.
#[inline(always)]
unsafe fn unary_simple<T: Float>(op: u32, x: *const T, o: *mut T, n: usize) -> bool {
    let z = T::V::splat(T::ZERO);
    let one = T::V::splat(T::ONE);
    match op {
        NEG => map_vec::<T>(x, o, n, |v| v.neg(), |v| -v),
        ABS => map_vec::<T>(x, o, n, |v| v.abs(), |v| v.abs()),
        SQRT => map_vec::<T>(x, o, n, |v| v.sqrt(), |v| v.sqrt()),
        RELU => map_vec::<T>(x, o, n, |v| v.max(z), |v| v.nmax(T::ZERO)),
        SQUARE => map_vec::<T>(x, o, n, |v| v.mul(v), |v| v * v),
        RECIPROCAL => map_vec::<T>(x, o, n, |v| one.div(v), |v| T::ONE / v),
        SIGN => map_scalar::<T>(x, o, n, sign),
        FLOOR => map_scalar::<T>(x, o, n, T::floor),
        CEIL => map_scalar::<T>(x, o, n, T::ceil),
        // Ties to even, as PyTorch and JAX (not half away from zero).
        ROUND => map_scalar::<T>(x, o, n, T::round_ties_even),
        TRUNC => map_scalar::<T>(x, o, n, T::trunc),
        // 1/0 in the input's type, like the comparisons (NaN < inf is false).
        ISNAN => map_scalar::<T>(x, o, n, |v| b2f(v.is_nan())),
        ISFINITE => map_scalar::<T>(x, o, n, |v| b2f(v.abs() < T::INFINITY)),
        _ => return false,
    }
    true
}

/// `out[i] = op(x[i])` for `n` contiguous f32. Transcendentals are SIMD
/// approximations (see `mathf`).
#[wasm_bindgen]
pub fn unary_f32(op: u32, x: usize, out: usize, n: usize) {
    let (x, o) = (x as *const f32, out as *mut f32);
    unsafe {
        if unary_simple::<f32>(op, x, o, n) {
            return;
        }
        let one = |f: fn(F32x4) -> F32x4| {
            move |v: f32| {
                let mut a = [v; 4];
                f(F32x4::load(a.as_ptr())).store(a.as_mut_ptr());
                a[0]
            }
        };
        match op {
            EXP => map_vec::<f32>(x, o, n, mathf::exp, one(mathf::exp)),
            LOG => map_vec::<f32>(x, o, n, mathf::log, one(mathf::log)),
            SIN => map_vec::<f32>(x, o, n, mathf::sin, one(mathf::sin)),
            COS => map_vec::<f32>(x, o, n, mathf::cos, one(mathf::cos)),
            TAN => map_vec::<f32>(x, o, n, mathf::tan, one(mathf::tan)),
            TANH => map_vec::<f32>(x, o, n, mathf::tanh, one(mathf::tanh)),
            SIGMOID => map_vec::<f32>(x, o, n, mathf::sigmoid, one(mathf::sigmoid)),
            // Through f64: exact to f32 rounding near 0, where log(1 + x) is not.
            LOG1P => map_scalar(x, o, n, |v: f32| (v as f64).ln_1p() as f32),
            // Through f64 (one rounding to f32 at the end): these are not
            // worth a SIMD approximation of their own.
            EXPM1 => via_f64(x, o, n, f64::exp_m1),
            LOG2 => via_f64(x, o, n, f64::log2),
            LOG10 => via_f64(x, o, n, f64::log10),
            EXP2 => via_f64(x, o, n, f64::exp2),
            ASIN => via_f64(x, o, n, f64::asin),
            ACOS => via_f64(x, o, n, f64::acos),
            ATAN => via_f64(x, o, n, f64::atan),
            SINH => via_f64(x, o, n, f64::sinh),
            COSH => via_f64(x, o, n, f64::cosh),
            ASINH => via_f64(x, o, n, f64::asinh),
            ACOSH => via_f64(x, o, n, f64::acosh),
            ATANH => via_f64(x, o, n, f64::atanh),
            ERF => via_f64(x, o, n, special::erf),
            ERFC => via_f64(x, o, n, special::erfc),
            ERFINV => via_f64(x, o, n, special::erfinv),
            LGAMMA => via_f64(x, o, n, special::lgamma),
            DIGAMMA => via_f64(x, o, n, special::digamma),
            _ => {}
        }
    }
}

/// `out[i] = op(x[i])` for `n` contiguous f64 (transcendentals: Rust `std`,
/// < 1 ulp).
#[wasm_bindgen]
pub fn unary_f64(op: u32, x: usize, out: usize, n: usize) {
    let (x, o) = (x as *const f64, out as *mut f64);
    unsafe {
        if unary_simple::<f64>(op, x, o, n) {
            return;
        }
        match op {
            EXP => map_scalar(x, o, n, f64::exp),
            LOG => map_scalar(x, o, n, f64::ln),
            SIN => map_scalar(x, o, n, f64::sin),
            COS => map_scalar(x, o, n, f64::cos),
            TAN => map_scalar(x, o, n, f64::tan),
            TANH => map_scalar(x, o, n, f64::tanh),
            SIGMOID => map_scalar(x, o, n, |v: f64| 1.0 / (1.0 + (-v).exp())),
            LOG1P => map_scalar(x, o, n, f64::ln_1p),
            EXPM1 => map_scalar(x, o, n, f64::exp_m1),
            LOG2 => map_scalar(x, o, n, f64::log2),
            LOG10 => map_scalar(x, o, n, f64::log10),
            EXP2 => map_scalar(x, o, n, f64::exp2),
            ASIN => map_scalar(x, o, n, f64::asin),
            ACOS => map_scalar(x, o, n, f64::acos),
            ATAN => map_scalar(x, o, n, f64::atan),
            SINH => map_scalar(x, o, n, f64::sinh),
            COSH => map_scalar(x, o, n, f64::cosh),
            ASINH => map_scalar(x, o, n, f64::asinh),
            ACOSH => map_scalar(x, o, n, f64::acosh),
            ATANH => map_scalar(x, o, n, f64::atanh),
            ERF => map_scalar(x, o, n, special::erf),
            ERFC => map_scalar(x, o, n, special::erfc),
            ERFINV => map_scalar(x, o, n, special::erfinv),
            LGAMMA => map_scalar(x, o, n, special::lgamma),
            DIGAMMA => map_scalar(x, o, n, special::digamma),
            _ => {}
        }
    }
}

// ---------- binary ----------

pub const ADD: u32 = 0;
pub const SUB: u32 = 1;
pub const MUL: u32 = 2;
pub const DIV: u32 = 3;
pub const POW: u32 = 4;
pub const MAXIMUM: u32 = 5;
pub const MINIMUM: u32 = 6;
pub const EQ: u32 = 7;
pub const NE: u32 = 8;
pub const LT: u32 = 9;
pub const LE: u32 = 10;
pub const GT: u32 = 11;
pub const GE: u32 = 12;
pub const POLYGAMMA: u32 = 13;
pub const ATAN2: u32 = 14;
pub const FMOD: u32 = 15;
pub const REMAINDER: u32 = 16;
pub const HYPOT: u32 = 17;

/// The binary op codes by the name of the primitive each implements.
pub const BINARY_OPS: &[(&str, u32)] = &[
    ("add", ADD),
    ("sub", SUB),
    ("mul", MUL),
    ("div", DIV),
    ("pow", POW),
    ("maximum", MAXIMUM),
    ("minimum", MINIMUM),
    ("eq", EQ),
    ("ne", NE),
    ("lt", LT),
    ("le", LE),
    ("gt", GT),
    ("ge", GE),
    ("polygamma", POLYGAMMA),
    ("atan2", ATAN2),
    ("fmod", FMOD),
    ("remainder", REMAINDER),
    ("hypot", HYPOT),
];

#[inline(always)]
fn b2f<T: Float>(b: bool) -> T {
    if b {
        T::ONE
    } else {
        T::ZERO
    }
}

/// Load lanes `i..i+L` of an operand whose inner stride is `S` (1: a
/// contiguous run; 0: the broadcast value `s`, already splatted).
#[inline(always)]
unsafe fn ld<T: Float, const S: bool>(p: *const T, i: usize, s: T::V) -> T::V {
    if S {
        T::V::load(p.add(i))
    } else {
        s
    }
}

/// One SIMD row (`n ≥ L`): operands with inner stride 1 (`SA`/`SB` true)
/// or 0. The last partial vector is recomputed at `n - L`, overlapping
/// lanes already written with the same values (outputs never alias
/// inputs), so short rows need no scalar tail.
#[inline(always)]
unsafe fn row_v<T: Float, const SA: bool, const SB: bool>(
    a: *const T,
    b: *const T,
    o: *mut T,
    n: usize,
    fv: &impl Fn(T::V, T::V) -> T::V,
) {
    let l = T::V::LANES;
    let (av, bv) = (T::V::splat(*a), T::V::splat(*b));
    let mut i = 0usize;
    while i + 4 * l <= n {
        let x = fv(ld::<T, SA>(a, i, av), ld::<T, SB>(b, i, bv));
        let y = fv(ld::<T, SA>(a, i + l, av), ld::<T, SB>(b, i + l, bv));
        let z = fv(ld::<T, SA>(a, i + 2 * l, av), ld::<T, SB>(b, i + 2 * l, bv));
        let w = fv(ld::<T, SA>(a, i + 3 * l, av), ld::<T, SB>(b, i + 3 * l, bv));
        x.store(o.add(i));
        y.store(o.add(i + l));
        z.store(o.add(i + 2 * l));
        w.store(o.add(i + 3 * l));
        i += 4 * l;
    }
    while i + l <= n {
        fv(ld::<T, SA>(a, i, av), ld::<T, SB>(b, i, bv)).store(o.add(i));
        i += l;
    }
    if i < n {
        let i = n - l;
        fv(ld::<T, SA>(a, i, av), ld::<T, SB>(b, i, bv)).store(o.add(i));
    }
}

/// One row: `o[i] = f(a[i*sa], b[i*sb])`, vectorised when strides are 1/0.
#[inline(always)]
unsafe fn row<T: Float>(
    a: *const T,
    sa: isize,
    b: *const T,
    sb: isize,
    o: *mut T,
    n: usize,
    vec: bool,
    fv: &impl Fn(T::V, T::V) -> T::V,
    fs: &impl Fn(T, T) -> T,
) {
    if vec && n >= T::V::LANES {
        match (sa, sb) {
            (1, 1) => return row_v::<T, true, true>(a, b, o, n, fv),
            (1, 0) => return row_v::<T, true, false>(a, b, o, n, fv),
            (0, 1) => return row_v::<T, false, true>(a, b, o, n, fv),
            (0, 0) => return row_v::<T, false, false>(a, b, o, n, fv),
            _ => {}
        }
    }
    for i in 0..n {
        *o.add(i) = fs(*a.offset(i as isize * sa), *b.offset(i as isize * sb));
    }
}

/// Python's `a % b`: the remainder with the sign of the divisor (a zero
/// takes the divisor's sign too), from the exact fmod.
#[inline(always)]
fn remainder(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r == 0.0 {
        0f64.copysign(b)
    } else if (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

/// A binary instruction's shape and operand strides, as the caller wrote them.
struct Shape2<'a>(&'a [i32], [&'a [i32]; 2]);

#[inline(always)]
unsafe fn run_binary<T: Float>(
    l: &Shape2,
    a: *const T,
    b: *const T,
    o: *mut T,
    vec: bool,
    fv: impl Fn(T::V, T::V) -> T::V,
    fs: impl Fn(T, T) -> T,
) {
    if let Some((n, st)) = flat(l.0, l.1) {
        row::<T>(a, st[0], b, st[1], o, n, vec, &fv, &fs);
        return;
    }
    let mut out = o;
    Layout::<2>::new(l.0, l.1).for_each_row(|off, n, st| {
        row::<T>(
            a.offset(off[0]),
            st[0],
            b.offset(off[1]),
            st[1],
            out,
            n,
            vec,
            &fv,
            &fs,
        );
        out = out.add(n);
    });
}

unsafe fn binary_generic<T: Float>(
    op: u32,
    a: usize,
    b: usize,
    out: usize,
    rank: usize,
    meta: usize,
) {
    let m = read_i32s(meta, 3 * rank);
    let l = Shape2(&m[..rank], [&m[rank..2 * rank], &m[2 * rank..]]);
    let (a, b, o) = (a as *const T, b as *const T, out as *mut T);
    match op {
        ADD => run_binary::<T>(&l, a, b, o, true, |x, y| x.add(y), |x, y| x + y),
        SUB => run_binary::<T>(&l, a, b, o, true, |x, y| x.sub(y), |x, y| x - y),
        MUL => run_binary::<T>(&l, a, b, o, true, |x, y| x.mul(y), |x, y| x * y),
        DIV => run_binary::<T>(&l, a, b, o, true, |x, y| x.div(y), |x, y| x / y),
        POW => run_binary::<T>(&l, a, b, o, false, |x, _| x, |x, y| x.powf(y)),
        MAXIMUM => run_binary::<T>(&l, a, b, o, true, |x, y| x.max(y), |x, y| x.nmax(y)),
        MINIMUM => run_binary::<T>(&l, a, b, o, true, |x, y| x.min(y), |x, y| x.nmin(y)),
        EQ => run_binary::<T>(&l, a, b, o, true, |x, y| x.eq(y), |x, y| b2f(x == y)),
        NE => run_binary::<T>(&l, a, b, o, true, |x, y| x.ne(y), |x, y| b2f(x != y)),
        LT => run_binary::<T>(&l, a, b, o, true, |x, y| x.lt(y), |x, y| b2f(x < y)),
        LE => run_binary::<T>(&l, a, b, o, true, |x, y| x.le(y), |x, y| b2f(x <= y)),
        GT => run_binary::<T>(&l, a, b, o, true, |x, y| x.gt(y), |x, y| b2f(x > y)),
        GE => run_binary::<T>(&l, a, b, o, true, |x, y| x.ge(y), |x, y| b2f(x >= y)),
        // Through f64 for both types (f32 rounds once at the end).
        POLYGAMMA => run_binary::<T>(
            &l,
            a,
            b,
            o,
            false,
            |x, _| x,
            |n, x| T::from_f64(special::polygamma(n.to_f64(), x.to_f64())),
        ),
        ATAN2 => run_binary::<T>(
            &l,
            a,
            b,
            o,
            false,
            |x, _| x,
            |y, x| T::from_f64(y.to_f64().atan2(x.to_f64())),
        ),
        // fmod is exact, so f32 through f64 is exact too.
        FMOD => run_binary::<T>(
            &l,
            a,
            b,
            o,
            false,
            |x, _| x,
            |x, y| T::from_f64(x.to_f64() % y.to_f64()),
        ),
        REMAINDER => run_binary::<T>(
            &l,
            a,
            b,
            o,
            false,
            |x, _| x,
            |x, y| T::from_f64(remainder(x.to_f64(), y.to_f64())),
        ),
        HYPOT => run_binary::<T>(
            &l,
            a,
            b,
            o,
            false,
            |x, _| x,
            |x, y| T::from_f64(x.to_f64().hypot(y.to_f64())),
        ),
        _ => {}
    }
}

/// Broadcasting binary op on f32. `meta` = `[shape, a_strides, b_strides]`
/// (i32 × rank each; stride 0 broadcasts); `out` is contiguous.
#[wasm_bindgen]
pub fn binary_f32(op: u32, a: usize, b: usize, out: usize, rank: usize, meta: usize) {
    unsafe { binary_generic::<f32>(op, a, b, out, rank, meta) }
}

/// Broadcasting binary op on f64 (layout as [`binary_f32`]).
#[wasm_bindgen]
pub fn binary_f64(op: u32, a: usize, b: usize, out: usize, rank: usize, meta: usize) {
    unsafe { binary_generic::<f64>(op, a, b, out, rank, meta) }
}

/// Lane-wise `c != 0 ? a : b` on a type's vectors.
trait Pick: Float {
    fn pick(c: Self::V, a: Self::V, b: Self::V) -> Self::V;
}
impl Pick for f32 {
    #[inline(always)]
    fn pick(c: F32x4, a: F32x4, b: F32x4) -> F32x4 {
        F32x4::select_nonzero(c, a, b)
    }
}
impl Pick for f64 {
    #[inline(always)]
    fn pick(c: F64x2, a: F64x2, b: F64x2) -> F64x2 {
        F64x2::select_nonzero(c, a, b)
    }
}

/// One SIMD `where` row (`n ≥ L`, inner strides 1 or 0 as `SC/SA/SB`);
/// tail handled by an overlapping last vector as in [`row_v`]. Selection is
/// bitwise, so int32 payloads pass through the f32 kernel unchanged.
#[inline(always)]
unsafe fn where_row_v<T: Pick, const SC: bool, const SA: bool, const SB: bool>(
    c: *const T,
    a: *const T,
    b: *const T,
    o: *mut T,
    n: usize,
) {
    let l = T::V::LANES;
    let (cv, av, bv) = (T::V::splat(*c), T::V::splat(*a), T::V::splat(*b));
    let step = |i: usize| {
        T::pick(
            ld::<T, SC>(c, i, cv),
            ld::<T, SA>(a, i, av),
            ld::<T, SB>(b, i, bv),
        )
        .store(o.add(i))
    };
    let mut i = 0usize;
    while i + 2 * l <= n {
        step(i);
        step(i + l);
        i += 2 * l;
    }
    if i + l <= n {
        step(i);
        i += l;
    }
    if i < n {
        step(n - l);
    }
}

unsafe fn where_generic<T: Pick>(
    c: usize,
    a: usize,
    b: usize,
    out: usize,
    rank: usize,
    meta: usize,
) {
    let m = read_i32s(meta, 4 * rank);
    let shape = &m[..rank];
    let strides = [&m[rank..2 * rank], &m[2 * rank..3 * rank], &m[3 * rank..]];
    let (c, a, b) = (c as *const T, a as *const T, b as *const T);
    let mut o = out as *mut T;
    let mut one_row = |off: [isize; 3], n: usize, st: [isize; 3]| {
        let (cp, ap, bp) = (c.offset(off[0]), a.offset(off[1]), b.offset(off[2]));
        let simd = n >= T::V::LANES && st.iter().all(|&s| s == 0 || s == 1);
        if simd {
            match (st[0] == 1, st[1] == 1, st[2] == 1) {
                (true, true, true) => where_row_v::<T, true, true, true>(cp, ap, bp, o, n),
                (true, true, false) => where_row_v::<T, true, true, false>(cp, ap, bp, o, n),
                (true, false, true) => where_row_v::<T, true, false, true>(cp, ap, bp, o, n),
                (true, false, false) => where_row_v::<T, true, false, false>(cp, ap, bp, o, n),
                (false, true, true) => where_row_v::<T, false, true, true>(cp, ap, bp, o, n),
                (false, true, false) => where_row_v::<T, false, true, false>(cp, ap, bp, o, n),
                (false, false, true) => where_row_v::<T, false, false, true>(cp, ap, bp, o, n),
                (false, false, false) => where_row_v::<T, false, false, false>(cp, ap, bp, o, n),
            }
        } else {
            for i in 0..n as isize {
                let cv = *cp.offset(i * st[0]);
                *o.offset(i) = if cv != T::ZERO {
                    *ap.offset(i * st[1])
                } else {
                    *bp.offset(i * st[2])
                };
            }
        }
        o = o.add(n);
    };
    match flat(shape, strides) {
        Some((n, st)) => one_row([0; 3], n, st),
        None => Layout::<3>::new(shape, strides).for_each_row(one_row),
    }
}

/// `out = cond != 0 ? a : b` with broadcasting, f32 (cond is f32 too).
/// `meta` = `[shape, c_strides, a_strides, b_strides]`.
#[wasm_bindgen]
pub fn where_f32(cond: usize, a: usize, b: usize, out: usize, rank: usize, meta: usize) {
    unsafe { where_generic::<f32>(cond, a, b, out, rank, meta) }
}

/// As [`where_f32`] for f64.
#[wasm_bindgen]
pub fn where_f64(cond: usize, a: usize, b: usize, out: usize, rank: usize, meta: usize) {
    unsafe { where_generic::<f64>(cond, a, b, out, rank, meta) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every inner-stride combination (1 or 0 per operand) and row lengths
    /// around the vector width, against the scalar definition; cond has
    /// NaN (true) and -0 (false).
    #[test]
    fn where_rows_all_stride_combos() {
        for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 17] {
            for mask in 0..8 {
                let st = |bit: i32| -> [i32; 2] {
                    if mask & (1 << bit) != 0 {
                        [0, 1]
                    } else {
                        [1, 0]
                    }
                };
                // shape [3, n]; a stride-1 operand is [3, n], stride-0 [3, 1].
                let (sc, sa, sb) = (st(0), st(1), st(2));
                let meta: Vec<i32> = [3, n as i32]
                    .into_iter()
                    .chain([sc[0] * n as i32 + sc[1], sc[1]])
                    .chain([sa[0] * n as i32 + sa[1], sa[1]])
                    .chain([sb[0] * n as i32 + sb[1], sb[1]])
                    .collect();
                let cvals = [1.0, 0.0, f64::NAN, -0.0, 2.0];
                let c: Vec<f64> = (0..3 * n).map(|i| cvals[(i * 7 + 3) % 5]).collect();
                let a: Vec<f64> = (0..3 * n).map(|i| i as f64 + 0.5).collect();
                let b: Vec<f64> = (0..3 * n).map(|i| -(i as f64) - 100.0).collect();
                let mut o = vec![0f64; 3 * n];
                where_f64(
                    c.as_ptr() as usize,
                    a.as_ptr() as usize,
                    b.as_ptr() as usize,
                    o.as_mut_ptr() as usize,
                    2,
                    meta.as_ptr() as usize,
                );
                let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
                let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
                let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                let mut o32 = vec![0f32; 3 * n];
                where_f32(
                    c32.as_ptr() as usize,
                    a32.as_ptr() as usize,
                    b32.as_ptr() as usize,
                    o32.as_mut_ptr() as usize,
                    2,
                    meta.as_ptr() as usize,
                );
                for i in 0..3 * n {
                    let (r, j) = ((i / n) as i32, (i % n) as i32);
                    let at = |s: &[i32]| (r * s[0] + j * s[1]) as usize;
                    let (ic, ia, ib) = (at(&meta[2..4]), at(&meta[4..6]), at(&meta[6..8]));
                    let w = if c[ic] != 0.0 { a[ia] } else { b[ib] };
                    assert_eq!(o[i], w, "n={n} mask={mask} i={i}");
                    assert_eq!(o32[i], w as f32, "f32 n={n} mask={mask} i={i}");
                }
            }
        }
    }
}
