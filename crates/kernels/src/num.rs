//! The f32/f64 abstraction: a scalar trait [`Float`] with its 128-bit vector
//! type [`Vector`], so each kernel is written once and monomorphised twice.

use crate::simd::{mask_to_one_f32, F32x4, F64x2};
use core::ops::{Add, Div, Mul, Neg, Sub};

/// A 128-bit vector of `T` (4 × f32 or 2 × f64).
pub trait Vector<T>: Copy {
    const LANES: usize;
    fn splat(x: T) -> Self;
    /// # Safety
    /// `p` must be valid for reading `LANES` elements.
    unsafe fn load(p: *const T) -> Self;
    /// # Safety
    /// `p` must be valid for writing `LANES` elements.
    unsafe fn store(self, p: *mut T);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `self * b + c`: fused (relaxed SIMD) where the build enables it.
    fn mul_add(self, b: Self, c: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// NaN-propagating minimum.
    fn min(self, o: Self) -> Self;
    /// NaN-propagating maximum.
    fn max(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn neg(self) -> Self;
    /// Comparisons give 1.0 / 0.0.
    fn lt(self, o: Self) -> Self;
    fn le(self, o: Self) -> Self;
    fn gt(self, o: Self) -> Self;
    fn ge(self, o: Self) -> Self;
    fn eq(self, o: Self) -> Self;
    fn ne(self, o: Self) -> Self;
}

macro_rules! vec_f32 {
    ($($name:ident),*) => { $( #[inline(always)] fn $name(self, o: Self) -> Self { F32x4::$name(self, o) } )* };
}
macro_rules! cmp_f32 {
    ($($name:ident),*) => { $( #[inline(always)] fn $name(self, o: Self) -> Self { mask_to_one_f32(F32x4::$name(self, o)) } )* };
}
macro_rules! vec_f64 {
    ($($name:ident),*) => { $( #[inline(always)] fn $name(self, o: Self) -> Self { F64x2::$name(self, o) } )* };
}

impl Vector<f32> for F32x4 {
    const LANES: usize = 4;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        F32x4::splat(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        F32x4::load(p)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        F32x4::store(self, p)
    }
    vec_f32!(add, sub, mul, div, min, max);
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        F32x4::mul_add(self, b, c)
    }
    cmp_f32!(lt, le, gt, ge, eq, ne);
    #[inline(always)]
    fn sqrt(self) -> Self {
        F32x4::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F32x4::abs(self)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        F32x4::neg(self)
    }
}

impl Vector<f64> for F64x2 {
    const LANES: usize = 2;
    #[inline(always)]
    fn splat(x: f64) -> Self {
        F64x2::splat(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        F64x2::load(p)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        F64x2::store(self, p)
    }
    vec_f64!(add, sub, mul, div, min, max, lt, le, gt, ge, eq, ne);
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        F64x2::mul_add(self, b, c)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        F64x2::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F64x2::abs(self)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        F64x2::neg(self)
    }
}

/// A floating-point element type with its vector type.
pub trait Float:
    Copy
    + PartialOrd
    + Default
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    type V: Vector<Self>;
    const ZERO: Self;
    const ONE: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    const NAN: Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn is_nan(self) -> bool;
    fn powf(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn tanh(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round_ties_even(self) -> Self;
    fn trunc(self) -> Self;
    /// NaN-propagating maximum (torch.maximum).
    #[inline(always)]
    fn nmax(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            Self::NAN
        } else if self > o {
            self
        } else {
            o
        }
    }
    /// NaN-propagating minimum (torch.minimum).
    #[inline(always)]
    fn nmin(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            Self::NAN
        } else if self < o {
            self
        } else {
            o
        }
    }
}

macro_rules! impl_float {
    ($t:ty, $v:ty) => {
        impl Float for $t {
            type V = $v;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = <$t>::INFINITY;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const NAN: Self = <$t>::NAN;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn powf(self, o: Self) -> Self {
                <$t>::powf(self, o)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            #[inline(always)]
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            #[inline(always)]
            fn round_ties_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            #[inline(always)]
            fn trunc(self) -> Self {
                <$t>::trunc(self)
            }
        }
    };
}
impl_float!(f32, F32x4);
impl_float!(f64, F64x2);
