//! Large elementwise, cast, copy and reduce instructions split across
//! threads (parallel.rs): flat instructions by ranges of elements, strided
//! ones by ranges of their leading dimension (each part a view of the same
//! layout with a shorter first dimension), reductions by ranges of their
//! first kept dimension, so that each output is reduced whole, in one part.
//!
//! Results are bit-identical for every thread count: the kernels compute
//! each element (or each output of a reduction) on its own, and parts
//! start at multiples of 16 elements and hold at least two granules, so
//! every part runs the same vector paths (and a reduction the same column
//! or row mode) that the whole instruction does on one thread.

use super::*;
use crate::elementwise::{ABS, CEIL, FLOOR, ISFINITE, ISNAN, NEG, RECIPROCAL, RELU, ROUND};
use crate::elementwise::{ATAN2, FMOD, POLYGAMMA, POW, REMAINDER};
use crate::elementwise::{SIGN, SQRT, SQUARE, TRUNC};
use crate::parallel::{self, MAX_PARTS};
use crate::reduce::SUM;
use core::sync::atomic::{AtomicI32, Ordering};

/// Elements every part but the last starts and ends on a multiple of (every
/// vector width times the unrolling of the elementwise loops).
const ALIGN: usize = 16;

/// Relative cost per element of a transcendental (or through-f64) unary or
/// binary op, against an add: tanh in wasm takes ~8x an add.
const HEAVY: usize = 8;

/// Cost per element of unary op `k` (in adds).
pub(super) fn unary_cost(k: u32) -> usize {
    match k {
        NEG | ABS | SQRT | RELU | SQUARE | RECIPROCAL | SIGN | FLOOR | CEIL | ROUND | TRUNC
        | ISNAN | ISFINITE => 1,
        _ => HEAVY,
    }
}

/// Cost per element of binary op `k` (in adds).
pub(super) fn binary_cost(k: u32) -> usize {
    match k {
        POW | POLYGAMMA | ATAN2 | FMOD | REMAINDER => HEAVY,
        _ => 1,
    }
}

/// Runs `f(lo, hi)` over `[0, len)` (a dimension whose entries hold
/// `elements / len` elements each, at `cost` per element): on this thread,
/// or when the work is large enough in parts cut at multiples of `granule`
/// entries, at least two granules each. Returns the first nonzero status
/// in part order (the one a single run, which stops at the first failure,
/// would meet first).
fn ranges(
    len: usize,
    elements: usize,
    cost: usize,
    granule: usize,
    f: &(dyn Fn(usize, usize) -> i32 + Sync),
) -> i32 {
    let granule = granule.max(1);
    let parts = parallel::parts_for_elements(elements, cost).min(len / granule / 2);
    if parts < 2 {
        return f(0, len);
    }
    let status = [const { AtomicI32::new(0) }; MAX_PARTS];
    parallel::split_range(parts, len, granule, &|p, lo, hi| {
        if hi > lo {
            status[p].store(f(lo, hi), Ordering::Relaxed);
        }
    });
    status
        .iter()
        .map(|s| s.load(Ordering::Relaxed))
        .find(|&s| s != 0)
        .unwrap_or(0)
}

/// Entries of a dimension whose entries hold `inner` elements that make at
/// least [`ALIGN`] elements, rounded up to keep parts aligned.
fn rows_granule(inner: usize) -> usize {
    if inner == 0 {
        1
    } else {
        ALIGN.div_ceil(inner)
    }
}

/// The i32 layout words at `meta` (`words` of them) with `shape[0]`
/// replaced by `len`, on the caller's stack.
fn with_first(meta: usize, words: usize, len: usize) -> [i32; 4 * MAX_RANK] {
    let mut m = [0i32; 4 * MAX_RANK];
    // SAFETY: `meta` holds the instruction's layout words (checked lengths).
    unsafe { core::ptr::copy_nonoverlapping(meta as *const i32, m.as_mut_ptr(), words) };
    m[0] = len as i32;
    m
}

/// The i32 word `i` of the layout at `meta`.
fn word(meta: usize, i: usize) -> isize {
    unsafe { *(meta as *const i32).add(i) as isize }
}

/// `OP_UNARY`'s kernel on `n` elements (`kd`, op `k`; `x` of `win` bytes per
/// element, `o` of `wout`).
#[allow(clippy::too_many_arguments)]
pub(super) fn unary(kd: Kind, k: u32, x: usize, o: usize, n: usize, win: usize, wout: usize) -> i32 {
    let test = k == ISNAN || k == ISFINITE;
    ranges(n, n, unary_cost(k), ALIGN, &|lo, hi| {
        let (x, o, n) = (x + lo * win, o + lo * wout, hi - lo);
        match kd {
            Kind::I32 => return unary_i32(k, x, o, n),
            _ if test => {
                int::float_test(k, kd == Kind::F64, x, o, n);
            }
            Kind::F64 => unary_f64(k, x, o, n),
            Kind::F32 => unary_f32(k, x, o, n),
        }
        0
    })
}

/// `OP_CAST`'s kernel on `n` elements.
pub(super) fn cast_split(x: usize, from: i32, o: usize, to: i32, n: usize) -> R<()> {
    let (wi, wo) = (width(from)?, width(to)?);
    ranges(n, n, 1, ALIGN, &|lo, hi| {
        cast(x + lo * wi, from as u32, o + lo * wo, to as u32, hi - lo);
        0
    });
    Ok(())
}

/// `OP_BINARY`'s kernel (layout at `meta`, rank `r` ≥ 1) on `n` elements
/// of `w` bytes, writing `wout`-byte results; the kernel's status.
#[allow(clippy::too_many_arguments)]
pub(super) fn binary(
    kd: Kind,
    k: u32,
    (a, b, o): (usize, usize, usize),
    r: usize,
    meta: usize,
    n: usize,
    w: usize,
    wout: usize,
) -> i32 {
    let run = |a: usize, b: usize, o: usize, r: usize, meta: usize| match (kd, int::is_compare(k)) {
        (Kind::I32, _) => binary_i32(k, a, b, o, r, meta),
        (Kind::F32, true) => int::compare_f32(k, a, b, o, r, meta),
        (Kind::F64, true) => int::compare_f64(k, a, b, o, r, meta),
        (Kind::F32, false) => {
            binary_f32(k, a, b, o, r, meta);
            0
        }
        (Kind::F64, false) => {
            binary_f64(k, a, b, o, r, meta);
            0
        }
    };
    let rows = word(meta, 0) as usize;
    if r == 0 || rows == 0 {
        return run(a, b, o, r, meta);
    }
    let inner = n / rows;
    let (sa, sb) = (word(meta, r), word(meta, 2 * r));
    ranges(rows, n, binary_cost(k), rows_granule(inner), &|lo, hi| {
        let m = with_first(meta, 3 * r, hi - lo);
        let at = |p: usize, s: isize| (p as isize + lo as isize * s * w as isize) as usize;
        run(
            at(a, sa),
            at(b, sb),
            o + lo * inner * wout,
            r,
            m.as_ptr() as usize,
        )
    })
}

/// `OP_WHERE`'s kernel (layout at `meta`, rank `r`) on `n` elements of `w`
/// bytes (the condition's width too).
pub(super) fn where_split(
    (c, a, b, o): (usize, usize, usize, usize),
    r: usize,
    meta: usize,
    n: usize,
    w: usize,
) {
    let g = if w == 8 { where_f64 } else { where_f32 };
    let rows = if r == 0 { 0 } else { word(meta, 0) as usize };
    if rows == 0 {
        g(c, a, b, o, r, meta);
        return;
    }
    let inner = n / rows;
    let s = [word(meta, r), word(meta, 2 * r), word(meta, 3 * r)];
    ranges(rows, n, 1, rows_granule(inner), &|lo, hi| {
        let m = with_first(meta, 4 * r, hi - lo);
        let at = |p: usize, s: isize| (p as isize + lo as isize * s * w as isize) as usize;
        let o = o + lo * inner * w;
        g(at(c, s[0]), at(a, s[1]), at(b, s[2]), o, r, m.as_ptr() as usize);
        0
    });
}

/// `OP_COPY_STRIDED`'s kernel (source layout at `meta`, rank `r`) on `n`
/// elements of `w` bytes.
pub(super) fn copy_strided(src: usize, o: usize, r: usize, meta: usize, n: usize, w: usize) {
    let g = if w == 8 {
        copy_strided_8
    } else {
        copy_strided_4
    };
    let rows = if r == 0 { 0 } else { word(meta, 0) as usize };
    if rows == 0 {
        g(src, o, r, meta);
        return;
    }
    let inner = n / rows;
    let s = word(meta, r);
    ranges(rows, n, 1, rows_granule(inner), &|lo, hi| {
        let m = with_first(meta, 2 * r, hi - lo);
        let x = (src as isize + lo as isize * s * w as isize) as usize;
        g(x, o + lo * inner * w, r, m.as_ptr() as usize);
        0
    });
}

/// Reduced rows (offsets) a column sum may have and still split: its
/// cascade then fits the small stack of a worker (reduce.rs, `columns`).
const MAX_SPLIT_COLUMN_ROWS: usize = crate::reduce::sum::SMALL_COLUMN_ROWS;

/// `OP_REDUCE`'s float kernel (layout at `meta`: rank `r`, the last `nred`
/// dims reduced) into `nout` outputs of `w` bytes, by ranges of the first
/// kept dim (each output is reduced in one part, as on one thread).
#[allow(clippy::too_many_arguments)]
pub(super) fn reduce_split(
    kd: Kind,
    k: u32,
    x: usize,
    o: usize,
    r: usize,
    nred: usize,
    meta: usize,
    nout: usize,
) -> i32 {
    let run = |x: usize, o: usize, meta: usize| match kd {
        Kind::F64 => {
            reduce_f64(k, x, o, r, nred, meta);
            0
        }
        Kind::F32 => {
            reduce_f32(k, x, o, r, nred, meta);
            0
        }
        Kind::I32 => reduce_i32(k, x, o, r, nred, meta),
    };
    let kept = r - nred;
    let reduced: usize = (kept..r).map(|d| word(meta, d).max(0) as usize).product();
    let rows = if kept == 0 { 0 } else { word(meta, 0) as usize };
    let columns = k == SUM && reduced > MAX_SPLIT_COLUMN_ROWS;
    if rows == 0 || kd == Kind::I32 || columns {
        return run(x, o, meta);
    }
    let w = if kd == Kind::F64 { 8 } else { 4 };
    let inner = nout / rows;
    let s = word(meta, r);
    let elements = nout.saturating_mul(reduced);
    ranges(rows, elements, 1, rows_granule(inner), &|lo, hi| {
        let m = with_first(meta, 2 * r, hi - lo);
        let x = (x as isize + lo as isize * s * w as isize) as usize;
        run(x, o + lo * inner * w, m.as_ptr() as usize)
    })
}
