//! SIMD f32 transcendentals (Cephes-style range reduction + minimax
//! polynomials, Eigen's rational tanh). Max errors are measured against f64
//! `std` in the unit tests below (see `max_rel_err_*`). Edge cases follow IEEE:
//! NaN in → NaN out; exp(±inf) = inf/0; log(0) = -inf, log(x<0) = NaN.

use crate::simd::{F32x4, I32x4};

#[inline(always)]
fn s(x: f32) -> F32x4 {
    F32x4::splat(x)
}

/// 2^n for integer lanes n in [-254, 254] (two-step scaling keeps denormals).
#[inline(always)]
fn pow2i_mul(y: F32x4, n: I32x4) -> F32x4 {
    let n1 = n.shr(1);
    let n2 = n.sub(n1);
    let b = I32x4::splat(127);
    let p1 = F32x4::from_bits(n1.add(b).shl(23));
    let p2 = F32x4::from_bits(n2.add(b).shl(23));
    y.mul(p1).mul(p2)
}

/// e^x, max relative error ≈ 2e-7 (normal range); subnormal results keep
/// absolute accuracy.
#[inline(always)]
pub fn exp(x: F32x4) -> F32x4 {
    // Clamp keeps the integer part in range. Pseudo-min/max: one
    // instruction each on x64, where V8 spends about eight on min/max's
    // NaN and signed-zero rules (exp and tanh ran a third slower with
    // them). Against nonzero bounds they agree with min/max except on NaN,
    // which the last line puts back.
    let xc = x.pmax(s(-104.0)).pmin(s(89.0));
    let fx = xc.mul(s(core::f32::consts::LOG2_E)).nearest();
    let n = fx.to_i32_in_range(); // |fx| ≤ 151 (NaN lanes are mended)
                                  // Cody–Waite: r = x - n ln2 in two parts.
    let r = xc
        .sub(fx.mul(s(0.693_359_4)))
        .sub(fx.mul(s(-2.121_944_4e-4)));
    let r2 = r.mul(r);
    let mut p = s(1.987_569_1e-4);
    p = p.mul(r).add(s(1.398_199_9e-3));
    p = p.mul(r).add(s(8.333_452e-3));
    p = p.mul(r).add(s(4.166_579_6e-2));
    p = p.mul(r).add(s(1.666_666_5e-1));
    p = p.mul(r).add(s(5.000_000_1e-1));
    let y = p.mul(r2).add(r).add(s(1.0));
    F32x4::select(x.eq(x), pow2i_mul(y, n), x)
}

/// Natural logarithm, max relative error ≈ 1.5e-7 away from x = 1 (absolute
/// error ≈ 1e-7 near 1).
#[inline(always)]
pub fn log(x: F32x4) -> F32x4 {
    // Scale subnormals up by 2^23.
    let sub = x.lt(s(1.175_494_4e-38));
    let xs = F32x4::select(sub, x.mul(s(8_388_608.0)), x);
    let bits = xs.to_bits();
    let mut e = bits.shr(23).and(I32x4::splat(0xff)).sub(I32x4::splat(126));
    e = e.sub(sub.and(I32x4::splat(23)));
    // mantissa in [0.5, 1)
    let m = F32x4::from_bits(
        bits.and(I32x4::splat(0x007f_ffff))
            .or(I32x4::splat(0x3f00_0000)),
    );
    let small = m.lt(s(core::f32::consts::FRAC_1_SQRT_2));
    // if m < sqrt(1/2): e -= 1, m = 2m - 1 else m = m - 1
    let e = e.add(small); // mask is -1 where true
    let m = F32x4::select(small, m.add(m), m).sub(s(1.0));
    let ef = F32x4::from_i32(e);
    let z = m.mul(m);
    let mut p = s(7.037_683_6e-2);
    p = p.mul(m).add(s(-1.151_461e-1));
    p = p.mul(m).add(s(1.167_699_9e-1));
    p = p.mul(m).add(s(-1.242_014_1e-1));
    p = p.mul(m).add(s(1.424_932_3e-1));
    p = p.mul(m).add(s(-1.666_805_8e-1));
    p = p.mul(m).add(s(2.000_071_5e-1));
    p = p.mul(m).add(s(-2.499_999_4e-1));
    p = p.mul(m).add(s(3.333_333e-1));
    let mut y = p.mul(m).mul(z);
    y = y.add(ef.mul(s(-2.121_944_4e-4)));
    y = y.sub(z.mul(s(0.5)));
    let mut r = m.add(y).add(ef.mul(s(0.693_359_4)));
    // Specials: x == 0 → -inf; x < 0 or NaN → NaN; x == inf → inf.
    r = F32x4::select(x.eq(s(0.0)), s(f32::NEG_INFINITY), r);
    r = F32x4::select(x.lt(s(0.0)), s(f32::NAN), r);
    r = F32x4::select(x.eq(s(f32::INFINITY)), s(f32::INFINITY), r);
    F32x4::select(x.ne(x), x, r)
}

/// Range reduction for sin/cos/tan: returns (reduced r, quadrant j∈{0,2,4,6}
/// as int lanes, sign of x as mask). Accurate for |x| ≤ 8192; callers fall
/// back to scalar f64 beyond.
#[inline(always)]
fn trig_reduce(x: F32x4) -> (F32x4, I32x4) {
    let ax = x.abs();
    let j = ax.mul(s(1.273_239_5)).to_i32_in_range(); // 4/pi; |x| ≤ 8192
    let j = j.add(I32x4::splat(1)).and(I32x4::splat(!1));
    let y = F32x4::from_i32(j);
    let r = ax
        .sub(y.mul(s(0.785_156_25)))
        .sub(y.mul(s(2.418_756_5e-4)))
        .sub(y.mul(s(3.774_895e-8)));
    (r, j.and(I32x4::splat(7)))
}

#[inline(always)]
fn sin_poly(r: F32x4, z: F32x4) -> F32x4 {
    let mut p = s(-1.951_529_6e-4);
    p = p.mul(z).add(s(8.332_161e-3));
    p = p.mul(z).add(s(-1.666_665_5e-1));
    p.mul(z).mul(r).add(r)
}

#[inline(always)]
fn cos_poly(z: F32x4) -> F32x4 {
    let mut p = s(2.443_315_7e-5);
    p = p.mul(z).add(s(-1.388_731_6e-3));
    p = p.mul(z).add(s(4.166_664_6e-2));
    p.mul(z).mul(z).sub(z.mul(s(0.5))).add(s(1.0))
}

const TRIG_LIMIT: f32 = 8192.0;

#[inline(always)]
fn big(x: F32x4) -> bool {
    F32x4::any_mask(x.abs().gt(s(TRIG_LIMIT)))
}

#[inline(always)]
fn scalar_map(x: F32x4, f: fn(f64) -> f64) -> F32x4 {
    let mut a = [0f32; 4];
    unsafe { x.store(a.as_mut_ptr()) };
    for v in a.iter_mut() {
        *v = f(*v as f64) as f32;
    }
    unsafe { F32x4::load(a.as_ptr()) }
}

/// sin(x), max absolute error ≈ 1e-7 for |x| ≤ 8192 (scalar f64 beyond).
#[inline(always)]
pub fn sin(x: F32x4) -> F32x4 {
    if big(x) {
        return scalar_map(x, f64::sin);
    }
    let (r, j) = trig_reduce(x);
    let z = r.mul(r);
    let use_cos = j.and(I32x4::splat(2)).eq(I32x4::splat(2));
    let v = F32x4::select(use_cos, cos_poly(z), sin_poly(r, z));
    // negate when j&4, xor sign of x
    let neg = j.and(I32x4::splat(4)).shl(29);
    let sign = x.to_bits().and(I32x4::splat(i32::MIN));
    F32x4::from_bits(v.to_bits().xor(neg).xor(sign))
}

/// cos(x), max absolute error ≈ 1e-7 for |x| ≤ 8192 (scalar f64 beyond).
#[inline(always)]
pub fn cos(x: F32x4) -> F32x4 {
    if big(x) {
        return scalar_map(x, f64::cos);
    }
    let (r, j) = trig_reduce(x);
    let z = r.mul(r);
    let use_sin = j.and(I32x4::splat(2)).eq(I32x4::splat(2));
    let v = F32x4::select(use_sin, sin_poly(r, z), cos_poly(z));
    let neg = j.add(I32x4::splat(2)).and(I32x4::splat(4)).shl(29);
    F32x4::from_bits(v.to_bits().xor(neg))
}

/// tan(x) = sin/cos sharing one reduction; relative error ≈ 3e-7.
#[inline(always)]
pub fn tan(x: F32x4) -> F32x4 {
    if big(x) {
        return scalar_map(x, f64::tan);
    }
    let (r, j) = trig_reduce(x);
    let z = r.mul(r);
    let sp = sin_poly(r, z);
    let cp = cos_poly(z);
    let swap = j.and(I32x4::splat(2)).eq(I32x4::splat(2));
    // quadrant 2/6: tan = -cos/sin; 0/4: tan = sin/cos
    let num = F32x4::select(swap, cp.neg(), sp);
    let den = F32x4::select(swap, sp, cp);
    let t = num.div(den);
    let sign = x.to_bits().and(I32x4::splat(i32::MIN));
    F32x4::from_bits(t.to_bits().xor(sign))
}

/// tanh(x): Eigen's 13/6 rational approximation, max relative error ≈ 4e-7.
#[inline(always)]
pub fn tanh(x: F32x4) -> F32x4 {
    // Pseudo-min/max clamp, as in exp. NaN is not `normal`: like a tiny x
    // it is its own result.
    let xc = x.pmax(s(-7.905_311)).pmin(s(7.905_311));
    let normal = x.abs().ge(s(0.0004));
    let x2 = xc.mul(xc);
    let mut p = s(-2.760_768_5e-16);
    p = p.mul(x2).add(s(2.000_187_9e-13));
    p = p.mul(x2).add(s(-8.604_671_5e-11));
    p = p.mul(x2).add(s(5.122_297e-8));
    p = p.mul(x2).add(s(1.485_722_4e-5));
    p = p.mul(x2).add(s(6.372_619_3e-4));
    p = p.mul(x2).add(s(4.893_524_6e-3));
    p = p.mul(xc);
    let mut q = s(1.198_258_4e-6);
    q = q.mul(x2).add(s(1.185_347_1e-4));
    q = q.mul(x2).add(s(2.268_434_6e-3));
    q = q.mul(x2).add(s(4.893_525e-3));
    F32x4::select(normal, p.div(q), x)
}

/// sigmoid(x) = 1 / (1 + e^-x); relative error ≈ 3e-7 everywhere (no
/// cancellation for large negative x).
#[inline(always)]
pub fn sigmoid(x: F32x4) -> F32x4 {
    s(1.0).div(s(1.0).add(exp(x.neg())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(F32x4) -> F32x4, x: f32) -> f32 {
        let v = f(F32x4::splat(x));
        let mut a = [0f32; 4];
        unsafe { v.store(a.as_mut_ptr()) };
        a[0]
    }

    /// Max error over a sweep; relative where |ref| ≥ floor, absolute below.
    fn max_err(f: fn(F32x4) -> F32x4, r: fn(f64) -> f64, lo: f32, hi: f32, floor: f64) -> f64 {
        let n = 200_000;
        let mut worst = 0f64;
        for i in 0..=n {
            let x = lo + (hi - lo) * (i as f32 / n as f32);
            let want = r(x as f64);
            let got = run(f, x) as f64;
            let err = (got - want).abs() / want.abs().max(floor);
            if err > worst {
                worst = err;
            }
        }
        worst
    }

    #[test]
    fn max_rel_err_exp() {
        let e = max_err(exp, f64::exp, -87.0, 88.0, 0.0);
        println!("exp max rel err {e:e}");
        assert!(e < 3e-7, "{e}");
    }
    #[test]
    fn max_rel_err_log() {
        let e = max_err(log, f64::ln, 1e-30, 10.0, 1.0);
        let e2 = max_err(log, f64::ln, 10.0, 1e30, 1.0);
        println!("log max err {e:e} {e2:e}");
        assert!(e < 3e-7 && e2 < 3e-7, "{e} {e2}");
        assert!(run(log, 1e-40) as f64 - (1e-40f32 as f64).ln() < 1e-5);
    }
    #[test]
    fn max_rel_err_trig() {
        for (f, r, name) in [
            (sin as fn(F32x4) -> F32x4, f64::sin as fn(f64) -> f64, "sin"),
            (cos, f64::cos, "cos"),
        ] {
            let e = max_err(f, r, -100.0, 100.0, 1.0);
            println!("{name} max abs err {e:e}");
            assert!(e < 5e-7, "{name} {e}");
            let e = max_err(f, r, -8000.0, 8000.0, 1.0);
            assert!(e < 2e-6, "{name} wide {e}");
        }
        let e = max_err(tan, f64::tan, -1.5, 1.5, 1e-3);
        println!("tan max rel err {e:e}");
        assert!(e < 1e-6, "tan {e}");
        assert!((run(sin, 1e5) as f64 - (1e5f64).sin()).abs() < 1e-6);
    }
    #[test]
    fn max_rel_err_tanh_sigmoid() {
        let e = max_err(tanh, f64::tanh, -12.0, 12.0, 0.0);
        println!("tanh max rel err {e:e}");
        assert!(e < 1e-6, "{e}");
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let e = max_err(sigmoid, sig, -80.0, 80.0, 0.0);
        println!("sigmoid max rel err {e:e}");
        assert!(e < 1e-6, "{e}");
    }
    #[test]
    fn specials() {
        assert!(run(exp, f32::NAN).is_nan());
        assert_eq!(run(exp, f32::INFINITY), f32::INFINITY);
        assert_eq!(run(exp, f32::NEG_INFINITY), 0.0);
        assert_eq!(run(exp, 0.0), 1.0);
        assert!(run(log, f32::NAN).is_nan());
        assert!(run(log, -1.0).is_nan());
        assert_eq!(run(log, 0.0), f32::NEG_INFINITY);
        assert_eq!(run(log, f32::INFINITY), f32::INFINITY);
        assert_eq!(run(log, 1.0), 0.0);
        assert!(run(tanh, f32::NAN).is_nan());
        assert_eq!(run(tanh, f32::INFINITY), 1.0);
        assert_eq!(run(tanh, f32::NEG_INFINITY), -1.0);
        assert_eq!(run(sigmoid, f32::NEG_INFINITY), 0.0);
        assert_eq!(run(sigmoid, f32::INFINITY), 1.0);
        assert!(run(sin, f32::NAN).is_nan());
    }
}
