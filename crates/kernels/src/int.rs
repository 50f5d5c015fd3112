//! int32 and bool kernels, and the comparisons of every dtype.
//!
//! int32 arithmetic wraps on overflow (two's complement), as PyTorch and
//! JAX do; integer division by zero is an error status, never a trap.
//! Comparisons and `isnan`/`isfinite` write bool: one i32 per element, 0 or
//! 1 (bool tensors are stored as int32 buffers of 0/1). Operand layouts are
//! those of the float kernels in `elementwise.rs` and `reduce.rs` (`meta`:
//! shape, then one stride vector per operand), so the executor passes the
//! same fields.

use crate::elementwise::{
    ABS, ADD, CEIL, EQ, FLOOR, FMOD, GE, GT, ISFINITE, ISNAN, LE, LT, MAXIMUM, MINIMUM, MUL, NE,
    NEG, RELU, REMAINDER, ROUND, SIGN, SQUARE, SUB, TRUNC,
};
use crate::nd::{flat, read_i32s, Layout};
use crate::reduce::{MAX, MIN, PROD, SUM};

/// Status of [`binary_i32`] when a divisor is 0.
pub const DIV_BY_ZERO: i32 = 1;
/// Status of a kernel asked for an op it does not implement.
pub const UNSUPPORTED: i32 = 2;

/// `o[i] = f(a[.], b[.])` over the broadcast layout in `meta`. Rows whose
/// operands are contiguous or broadcast scalars run as plain slice loops,
/// which the compiler vectorises (simd128).
#[inline(always)]
unsafe fn each2<A: Copy, B: Copy, O>(
    a: *const A,
    b: *const B,
    o: *mut O,
    rank: usize,
    meta: usize,
    f: impl Fn(A, B) -> O,
) {
    let m = read_i32s(meta, 3 * rank);
    let (shape, strides) = (&m[..rank], [&m[rank..2 * rank], &m[2 * rank..]]);
    let mut out = o;
    let mut one_row = |off: [isize; 2], n: usize, st: [isize; 2]| {
        let (pa, pb) = (a.offset(off[0]), b.offset(off[1]));
        let so = core::slice::from_raw_parts_mut(out, n);
        match (st[0], st[1]) {
            (1, 1) => {
                let (sa, sb) = (
                    core::slice::from_raw_parts(pa, n),
                    core::slice::from_raw_parts(pb, n),
                );
                for i in 0..n {
                    so[i] = f(sa[i], sb[i]);
                }
            }
            (1, 0) => {
                let (sa, y) = (core::slice::from_raw_parts(pa, n), *pb);
                for i in 0..n {
                    so[i] = f(sa[i], y);
                }
            }
            (0, 1) => {
                let (x, sb) = (*pa, core::slice::from_raw_parts(pb, n));
                for i in 0..n {
                    so[i] = f(x, sb[i]);
                }
            }
            _ => {
                for (i, v) in so.iter_mut().enumerate() {
                    let i = i as isize;
                    *v = f(*pa.offset(i * st[0]), *pb.offset(i * st[1]));
                }
            }
        }
        out = out.add(n);
    };
    match flat(shape, strides) {
        Some((n, st)) => one_row([0; 2], n, st),
        None => Layout::<2>::new(shape, strides).for_each_row(one_row),
    }
}

#[inline(always)]
fn b2i(b: bool) -> i32 {
    b as i32
}

/// Comparison `op` (`EQ`..`GE` of `elementwise.rs`) of two operands of one
/// type, written as bool (i32 0/1). NaN compares false except under `NE`.
unsafe fn compare<T: Copy + PartialOrd>(
    op: u32,
    a: usize,
    b: usize,
    out: usize,
    rank: usize,
    meta: usize,
) -> i32 {
    let (a, b, o) = (a as *const T, b as *const T, out as *mut i32);
    match op {
        EQ => each2(a, b, o, rank, meta, |x, y| b2i(x == y)),
        NE => each2(a, b, o, rank, meta, |x, y| b2i(x != y)),
        LT => each2(a, b, o, rank, meta, |x, y| b2i(x < y)),
        LE => each2(a, b, o, rank, meta, |x, y| b2i(x <= y)),
        GT => each2(a, b, o, rank, meta, |x, y| b2i(x > y)),
        GE => each2(a, b, o, rank, meta, |x, y| b2i(x >= y)),
        _ => return UNSUPPORTED,
    }
    0
}

/// Whether `op` is a comparison (its result is bool whatever the operands).
pub fn is_compare(op: u32) -> bool {
    matches!(op, EQ | NE | LT | LE | GT | GE)
}

/// Comparison of f32 operands into bool (layout as `binary_f32`).
pub fn compare_f32(op: u32, a: usize, b: usize, out: usize, rank: usize, meta: usize) -> i32 {
    unsafe { compare::<f32>(op, a, b, out, rank, meta) }
}

/// Comparison of f64 operands into bool.
pub fn compare_f64(op: u32, a: usize, b: usize, out: usize, rank: usize, meta: usize) -> i32 {
    unsafe { compare::<f64>(op, a, b, out, rank, meta) }
}

/// Comparison of int32 (or bool) operands into bool.
pub fn compare_i32(op: u32, a: usize, b: usize, out: usize, rank: usize, meta: usize) -> i32 {
    unsafe { compare::<i32>(op, a, b, out, rank, meta) }
}

/// Python's `a % b` on integers: the sign of the divisor (`b != 0`).
#[inline(always)]
fn rem_floor(a: i32, b: i32) -> i32 {
    let r = a.wrapping_rem(b);
    if r != 0 && ((r < 0) != (b < 0)) {
        r.wrapping_add(b)
    } else {
        r
    }
}

/// Broadcasting binary op on int32 (layout as `binary_f32`): add, sub, mul
/// (wrapping), maximum, minimum, fmod (sign of the dividend) and remainder
/// (sign of the divisor). Returns 0, [`DIV_BY_ZERO`] when fmod or remainder
/// meets a zero divisor (the output is then incomplete), or
/// [`UNSUPPORTED`].
pub fn binary_i32(op: u32, a: usize, b: usize, out: usize, rank: usize, meta: usize) -> i32 {
    let (a, b, o) = (a as *const i32, b as *const i32, out as *mut i32);
    unsafe {
        match op {
            ADD => each2(a, b, o, rank, meta, i32::wrapping_add),
            SUB => each2(a, b, o, rank, meta, i32::wrapping_sub),
            MUL => each2(a, b, o, rank, meta, i32::wrapping_mul),
            MAXIMUM => each2(a, b, o, rank, meta, i32::max),
            MINIMUM => each2(a, b, o, rank, meta, i32::min),
            FMOD | REMAINDER => {
                let zero = core::cell::Cell::new(false);
                let floor = op == REMAINDER;
                each2(a, b, o, rank, meta, |x, y| {
                    if y == 0 {
                        zero.set(true);
                        0
                    } else if floor {
                        rem_floor(x, y)
                    } else {
                        x.wrapping_rem(y)
                    }
                });
                if zero.get() {
                    return DIV_BY_ZERO;
                }
            }
            _ => return compare::<i32>(op, a as usize, b as usize, out, rank, meta),
        }
    }
    0
}

/// `out[i] = op(x[i])` for `n` int32: neg, abs, square (wrapping), sign,
/// relu, the roundings (identity), and isnan/isfinite (bool: never NaN,
/// always finite). Returns 0 or [`UNSUPPORTED`].
pub fn unary_i32(op: u32, x: usize, out: usize, n: usize) -> i32 {
    let (x, o) = (x as *const i32, out as *mut i32);
    let map = |f: &dyn Fn(i32) -> i32| unsafe {
        for i in 0..n {
            *o.add(i) = f(*x.add(i));
        }
    };
    match op {
        NEG => map(&i32::wrapping_neg),
        ABS => map(&i32::wrapping_abs),
        SQUARE => map(&|v| v.wrapping_mul(v)),
        SIGN => map(&i32::signum),
        RELU => map(&|v| v.max(0)),
        FLOOR | CEIL | ROUND | TRUNC => map(&|v| v),
        ISNAN => map(&|_| 0),
        ISFINITE => map(&|_| 1),
        _ => return UNSUPPORTED,
    }
    0
}

/// f32/f64 `isnan`/`isfinite` into bool; false for any other op.
pub fn float_test(op: u32, f64_: bool, x: usize, out: usize, n: usize) -> bool {
    let o = out as *mut i32;
    let test = |nan: bool, finite: bool| if op == ISNAN { nan } else { finite };
    if op != ISNAN && op != ISFINITE {
        return false;
    }
    unsafe {
        for i in 0..n {
            *o.add(i) = b2i(if f64_ {
                let v = *(x as *const f64).add(i);
                test(v.is_nan(), v.is_finite())
            } else {
                let v = *(x as *const f32).add(i);
                test(v.is_nan(), v.is_finite())
            });
        }
    }
    true
}

/// Reduce int32 (sum and prod wrap; max, min). Layout as `reduce_f32`:
/// `meta` = `[shape(kept, reduced), strides]`, the last `nred` dims reduced.
/// Returns 0 or [`UNSUPPORTED`].
pub fn reduce_i32(op: u32, x: usize, out: usize, rank: usize, nred: usize, meta: usize) -> i32 {
    let f: fn(i32, i32) -> i32 = match op {
        SUM => i32::wrapping_add,
        PROD => i32::wrapping_mul,
        MAX => i32::max,
        MIN => i32::min,
        _ => return UNSUPPORTED,
    };
    let init = match op {
        SUM => 0,
        PROD => 1,
        MAX => i32::MIN,
        _ => i32::MAX,
    };
    let m = unsafe { read_i32s(meta, 2 * rank) };
    let kept = rank - nred;
    let (shape, strides) = (&m[..rank], &m[rank..]);
    let ko = Layout::<1>::new(&shape[..kept], [&strides[..kept]]);
    let rd = Layout::<1>::new(&shape[kept..], [&strides[kept..]]);
    let (x, mut o) = (x as *const i32, out as *mut i32);
    unsafe {
        ko.for_each_row(|koff, klen, kst| {
            for k in 0..klen as isize {
                let base = x.offset(koff[0] + k * kst[0]);
                let mut acc = init;
                rd.for_each_row(|roff, rlen, rst| {
                    for j in 0..rlen as isize {
                        acc = f(acc, *base.offset(roff[0] + j * rst[0]));
                    }
                });
                *o = acc;
                o = o.add(1);
            }
        });
    }
    0
}

/// int32 matmul (wrapping), with matmul_f32's arguments: `c[b] =
/// op(a[b]) @ op(b[b])` for `batch` products of `[m, k] @ [k, n]`.
pub fn matmul_i32(
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
) {
    let (a, b, c) = (a as *const i32, b as *const i32, c as *mut i32);
    // Element (i, p) of op(A) and (p, j) of op(B).
    let (ai, ap) = if trans_a { (1, m) } else { (k, 1) };
    let (bp, bj) = if trans_b { (1, k) } else { (n, 1) };
    unsafe {
        for t in 0..batch {
            let (pa, pb) = (a.add(t * a_batch_stride), b.add(t * b_batch_stride));
            let pc = c.add(t * m * n);
            for i in 0..m {
                for j in 0..n {
                    let mut acc = 0i32;
                    for p in 0..k {
                        let x = *pa.add(i * ai + p * ap);
                        let y = *pb.add(p * bp + j * bj);
                        acc = acc.wrapping_add(x.wrapping_mul(y));
                    }
                    *pc.add(i * n + j) = acc;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remainder_and_fmod_signs() {
        let a = [7, -7, 7, -7, i32::MIN, 5];
        let b = [3, 3, -3, -3, -1, 0];
        let meta = [6i32, 1, 1];
        let mut o = [0i32; 6];
        let s = binary_i32(
            REMAINDER,
            a.as_ptr() as usize,
            b.as_ptr() as usize,
            o.as_mut_ptr() as usize,
            1,
            meta.as_ptr() as usize,
        );
        assert_eq!(s, DIV_BY_ZERO);
        assert_eq!(&o[..5], &[1, 2, -2, -1, 0]);
        binary_i32(
            FMOD,
            a.as_ptr() as usize,
            b.as_ptr() as usize,
            o.as_mut_ptr() as usize,
            1,
            meta.as_ptr() as usize,
        );
        assert_eq!(&o[..5], &[1, -1, 1, -1, 0]);
    }

    #[test]
    fn wrapping_arithmetic_and_sum() {
        let a = [1 << 30, i32::MAX, 46341];
        let b = [1 << 30, 1, 46341];
        let meta = [3i32, 1, 1];
        let mut o = [0i32; 3];
        let (pa, pb, po) = (
            a.as_ptr() as usize,
            b.as_ptr() as usize,
            o.as_mut_ptr() as usize,
        );
        binary_i32(ADD, pa, pb, po, 1, meta.as_ptr() as usize);
        assert_eq!(o, [i32::MIN, i32::MIN, 92682]);
        binary_i32(MUL, pa, pb, po, 1, meta.as_ptr() as usize);
        assert_eq!(o, [0, i32::MAX, 46341i32.wrapping_mul(46341)]);
        let mut s = [0i32; 1];
        let rmeta = [3i32, 1];
        reduce_i32(
            SUM,
            pa,
            s.as_mut_ptr() as usize,
            1,
            1,
            rmeta.as_ptr() as usize,
        );
        assert_eq!(
            s[0],
            (1i32 << 30).wrapping_add(i32::MAX).wrapping_add(46341)
        );
    }
}
