//! Elementwise kernels: unary maps and broadcasting binary ops, `where`.
//!
//! Buffer layout: every input is read through (pointer, shape, strides);
//! outputs are contiguous row-major. `meta` is the i32 scratch area:
//! binary: `[shape[rank], a_strides[rank], b_strides[rank]]`;
//! where: `[shape[rank], c_strides[rank], a_strides[rank], b_strides[rank]]`.
//! Op codes match `src/backend/kernels.ts`.

use crate::mathf;
use crate::nd::{read_i32s, Layout};
use crate::num::{Float, Vector};
use crate::simd::F32x4;
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
    while i + 2 * l <= n {
        let a = fv(T::V::load(x.add(i)));
        let b = fv(T::V::load(x.add(i + l)));
        a.store(o.add(i));
        b.store(o.add(i + l));
        i += 2 * l;
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

#[inline(always)]
fn b2f<T: Float>(b: bool) -> T {
    if b {
        T::ONE
    } else {
        T::ZERO
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
    let l = T::V::LANES;
    let mut i = 0usize;
    if vec && sa == 1 && sb == 1 {
        while i + 2 * l <= n {
            let x = fv(T::V::load(a.add(i)), T::V::load(b.add(i)));
            let y = fv(T::V::load(a.add(i + l)), T::V::load(b.add(i + l)));
            x.store(o.add(i));
            y.store(o.add(i + l));
            i += 2 * l;
        }
        while i + l <= n {
            fv(T::V::load(a.add(i)), T::V::load(b.add(i))).store(o.add(i));
            i += l;
        }
        while i < n {
            *o.add(i) = fs(*a.add(i), *b.add(i));
            i += 1;
        }
    } else if vec && sa == 1 && sb == 0 {
        let bs = *b;
        let bv = T::V::splat(bs);
        while i + l <= n {
            fv(T::V::load(a.add(i)), bv).store(o.add(i));
            i += l;
        }
        while i < n {
            *o.add(i) = fs(*a.add(i), bs);
            i += 1;
        }
    } else if vec && sa == 0 && sb == 1 {
        let as_ = *a;
        let av = T::V::splat(as_);
        while i + l <= n {
            fv(av, T::V::load(b.add(i))).store(o.add(i));
            i += l;
        }
        while i < n {
            *o.add(i) = fs(as_, *b.add(i));
            i += 1;
        }
    } else {
        for i in 0..n {
            *o.add(i) = fs(*a.offset(i as isize * sa), *b.offset(i as isize * sb));
        }
    }
}

#[inline(always)]
unsafe fn run_binary<T: Float>(
    l: &Layout<2>,
    a: *const T,
    b: *const T,
    o: *mut T,
    vec: bool,
    fv: impl Fn(T::V, T::V) -> T::V,
    fs: impl Fn(T, T) -> T,
) {
    let mut out = o;
    l.for_each_row(|off, n, st| {
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
    let l = Layout::<2>::new(&m[..rank], [&m[rank..2 * rank], &m[2 * rank..]]);
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

unsafe fn where_generic<T: Float>(
    c: usize,
    a: usize,
    b: usize,
    out: usize,
    rank: usize,
    meta: usize,
) {
    let m = read_i32s(meta, 4 * rank);
    let l = Layout::<3>::new(
        &m[..rank],
        [&m[rank..2 * rank], &m[2 * rank..3 * rank], &m[3 * rank..]],
    );
    let (c, a, b) = (c as *const T, a as *const T, b as *const T);
    let mut o = out as *mut T;
    l.for_each_row(|off, n, st| {
        let (cp, ap, bp) = (c.offset(off[0]), a.offset(off[1]), b.offset(off[2]));
        for i in 0..n as isize {
            let cv = *cp.offset(i * st[0]);
            *o = if cv != T::ZERO {
                *ap.offset(i * st[1])
            } else {
                *bp.offset(i * st[2])
            };
            o = o.add(1);
        }
    });
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
