//! Large elementwise, cast, copy and reduce instructions split across
//! threads (parallel.rs): flat instructions by ranges of elements, strided
//! ones by ranges of their first dimension longer than 1 (each part a view
//! of the same layout with that dimension shorter), reductions by ranges of their
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

/// Runs `f(lo, hi)` over `[0, len)` in at most `parts` parts (from
/// [`parallel::parts_for_elements`]: callers check first that it is above
/// 1, and run a small instruction as it is, with no copy of its layout),
/// cut at multiples of `granule` entries, at least two granules each.
/// Returns the first nonzero status in part order (the one a single run,
/// which stops at the first failure, would meet first).
fn ranges(
    parts: usize,
    len: usize,
    granule: usize,
    f: &(dyn Fn(usize, usize) -> i32 + Sync),
) -> i32 {
    let granule = granule.max(1);
    let parts = parts.min(len / granule / 2);
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

/// The i32 layout words at `meta` (`words` of them) with `shape[d]`
/// replaced by `len`, on the caller's stack.
fn with_len(meta: usize, words: usize, d: usize, len: usize) -> [i32; 4 * MAX_RANK] {
    let mut m = [0i32; 4 * MAX_RANK];
    // SAFETY: `meta` holds the instruction's layout words (checked lengths).
    unsafe { core::ptr::copy_nonoverlapping(meta as *const i32, m.as_mut_ptr(), words) };
    m[d] = len as i32;
    m
}

/// The dim to split among the first `dims` of the layout at `meta`: the
/// first longer than 1 (the ones before it add nothing to any offset), or
/// `dims` if there is none.
fn lead(meta: usize, dims: usize) -> usize {
    (0..dims).find(|&d| word(meta, d) > 1).unwrap_or(dims)
}

/// Runs `run(ptrs, o, meta)` over ranges of dim `d` of the layout at `meta`
/// (rank `r`: the shape, then one stride per operand in `ptrs`, elements
/// of `w` bytes) with `d` shortened to each range, the operands advanced
/// along their strides and the contiguous output `o` (`n` elements of
/// `wout` bytes) by whole entries of `d`.
#[allow(clippy::too_many_arguments)]
fn rows_of<const N: usize>(
    parts: usize,
    meta: usize,
    r: usize,
    d: usize,
    n: usize,
    (ptrs, w): ([usize; N], usize),
    (o, wout): (usize, usize),
    run: &(dyn Fn([usize; N], usize, usize) -> i32 + Sync),
) -> i32 {
    let rows = word(meta, d) as usize;
    let inner = n / rows;
    let strides: [isize; N] = core::array::from_fn(|i| word(meta, (i + 1) * r + d));
    ranges(parts, rows, rows_granule(inner), &|lo, hi| {
        let m = with_len(meta, (N + 1) * r, d, hi - lo);
        let at = core::array::from_fn(|i| {
            (ptrs[i] as isize + lo as isize * strides[i] * w as isize) as usize
        });
        run(at, o + lo * inner * wout, m.as_ptr() as usize)
    })
}

/// The i32 word `i` of the layout at `meta`.
fn word(meta: usize, i: usize) -> isize {
    unsafe { *(meta as *const i32).add(i) as isize }
}

/// `OP_UNARY`'s kernel on `n` elements (`kd`, op `k`; `x` of `win` bytes per
/// element, `o` of `wout`).
#[allow(clippy::too_many_arguments)]
pub(super) fn unary(
    kd: Kind,
    k: u32,
    x: usize,
    o: usize,
    n: usize,
    win: usize,
    wout: usize,
) -> i32 {
    let test = k == ISNAN || k == ISFINITE;
    let run = |x: usize, o: usize, n: usize| {
        match kd {
            Kind::I32 => return unary_i32(k, x, o, n),
            _ if test => {
                int::float_test(k, kd == Kind::F64, x, o, n);
            }
            Kind::F64 => unary_f64(k, x, o, n),
            Kind::F32 => unary_f32(k, x, o, n),
        }
        0
    };
    let parts = parallel::parts_for_elements(n, unary_cost(k));
    if parts < 2 {
        return run(x, o, n);
    }
    ranges(parts, n, ALIGN, &|lo, hi| {
        run(x + lo * win, o + lo * wout, hi - lo)
    })
}

/// `OP_CAST`'s kernel on `n` elements.
pub(super) fn cast_split(x: usize, from: i32, o: usize, to: i32, n: usize) -> R<()> {
    let (wi, wo) = (width(from)?, width(to)?);
    let parts = parallel::parts_for_elements(n, 1);
    if parts < 2 {
        cast(x, from as u32, o, to as u32, n);
        return Ok(());
    }
    ranges(parts, n, ALIGN, &|lo, hi| {
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
    let parts = parallel::parts_for_elements(n, binary_cost(k));
    let d = if parts < 2 { r } else { lead(meta, r) };
    if d == r {
        return run(a, b, o, r, meta);
    }
    rows_of(
        parts,
        meta,
        r,
        d,
        n,
        ([a, b], w),
        (o, wout),
        &|[a, b], o, m| run(a, b, o, r, m),
    )
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
    let parts = parallel::parts_for_elements(n, 1);
    let d = if parts < 2 { r } else { lead(meta, r) };
    if d == r {
        g(c, a, b, o, r, meta);
        return;
    }
    rows_of(
        parts,
        meta,
        r,
        d,
        n,
        ([c, a, b], w),
        (o, w),
        &|[c, a, b], o, m| {
            g(c, a, b, o, r, m);
            0
        },
    );
}

/// `OP_COPY_STRIDED`'s kernel (source layout at `meta`, rank `r`) on `n`
/// elements of `w` bytes.
pub(super) fn copy_strided(src: usize, o: usize, r: usize, meta: usize, n: usize, w: usize) {
    let g = if w == 8 {
        copy_strided_8
    } else {
        copy_strided_4
    };
    let parts = parallel::parts_for_elements(n, 1);
    let d = if parts < 2 { r } else { lead(meta, r) };
    if d == r {
        g(src, o, r, meta);
        return;
    }
    rows_of(parts, meta, r, d, n, ([src], w), (o, w), &|[x], o, m| {
        g(x, o, r, m);
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
    // Fewer than two granules of outputs never split.
    let kept = r - nred;
    if kept == 0 || kd == Kind::I32 || nout < 2 * ALIGN {
        return run(x, o, meta);
    }
    let reduced: usize = (kept..r).map(|d| word(meta, d).max(0) as usize).product();
    let parts = parallel::parts_for_elements(nout.saturating_mul(reduced), 1);
    let columns = k == SUM && reduced > MAX_SPLIT_COLUMN_ROWS;
    let d = if parts < 2 || columns {
        kept
    } else {
        lead(meta, kept)
    };
    if d == kept {
        return run(x, o, meta);
    }
    let w = if kd == Kind::F64 { 8 } else { 4 };
    // The layout's shape includes the reduced dims: `nout` outputs (the
    // kept entries) are what the rows of `d` cut.
    rows_of(parts, meta, r, d, nout, ([x], w), (o, w), &|[x], o, m| {
        run(x, o, m)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::{ADD, EXP, MUL, TANH};
    use crate::parallel::{set_simulated_threads, simulated_splits};
    use crate::program::tests::{read, run};
    use crate::reduce::{MAX, MIN};

    /// Runs `code` on `inputs` (then empty output slots) with 1, 2 and 3
    /// simulated threads; the outputs' bytes (`bytes[s]` for slot `s`) must
    /// agree, and the runs with threads must have split a job. Returns the
    /// outputs of the single-threaded run (slot, bytes).
    fn same_bits(what: &str, code: &[i32], inputs: &[usize], bytes: &[usize]) -> Vec<Vec<u8>> {
        let mut first: Option<Vec<Vec<u8>>> = None;
        for threads in [1, 2, 3] {
            set_simulated_threads(threads);
            let before = simulated_splits();
            let mut slots = vec![0usize; bytes.len()];
            slots[..inputs.len()].copy_from_slice(inputs);
            let status = run(code, &mut slots);
            let splits = simulated_splits() - before;
            set_simulated_threads(1);
            assert_eq!(status, 0, "{what}: {threads} threads");
            if threads > 1 {
                assert!(splits > 0, "{what}: nothing split with {threads} threads");
            } else {
                assert_eq!(splits, 0, "{what}");
            }
            let out: Vec<Vec<u8>> = (inputs.len()..bytes.len())
                .map(|s| read::<u8>(slots[s], bytes[s]))
                .collect();
            for s in inputs.len()..bytes.len() {
                free(slots[s], bytes[s]);
            }
            match &first {
                None => first = Some(out),
                Some(one) => {
                    for (i, (u, v)) in one.iter().zip(&out).enumerate() {
                        let at = u.iter().zip(v).position(|(a, b)| a != b);
                        assert_eq!(at, None, "{what}: output {i}, {threads} threads");
                    }
                }
            }
        }
        first.unwrap()
    }

    fn f32s(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 - 1001.0) * 3.7e-3)
            .collect()
    }

    fn f64s(n: usize, seed: usize) -> Vec<f64> {
        f32s(n, seed)
            .iter()
            .map(|&v| v as f64 * 1.000_000_1)
            .collect()
    }

    fn as_f32(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn unary_cast_and_copy_split_by_ranges_bit_for_bit() {
        // Lengths that no part count divides, and not multiples of 16.
        let n = 70_001usize;
        let x = f32s(n, 1);
        let m = n as i32;
        let xp = x.as_ptr() as usize;
        let out = same_bits(
            "tanh f32",
            &[MAGIC, 2, OP_UNARY, 7, F32, TANH as i32, 1, 0, m],
            &[xp],
            &[0, 4 * n],
        );
        let t = as_f32(&out[0]);
        for i in (0..n).step_by(997) {
            assert!((t[i] - x[i].tanh()).abs() < 1e-6, "tanh at {i}");
        }
        let y = f64s(9_001, 2);
        let k = y.len();
        same_bits(
            "exp f64",
            &[MAGIC, 2, OP_UNARY, 7, F64, EXP as i32, 1, 0, k as i32],
            &[y.as_ptr() as usize],
            &[0, 8 * k],
        );
        let out = same_bits(
            "cast f64 to f32",
            &[MAGIC, 2, OP_CAST, 7, F64, F32, 1, 0, 70_001],
            &[f64s(70_001, 3).as_ptr() as usize],
            &[0, 4 * 70_001],
        );
        assert_eq!(out[0].len(), 4 * 70_001);
        // A transpose of [301, 259] (the copy reads the source as [259, 301]).
        let (r, c) = (301usize, 259usize);
        let a = f32s(r * c, 4);
        #[rustfmt::skip]
        let code = [
            MAGIC, 2,
            OP_COPY_STRIDED, 2 + 6 + 4, F32, 1, 0, 0, (r * c) as i32, 2,
            c as i32, r as i32, 1, c as i32,
        ];
        let out = same_bits("transpose", &code, &[a.as_ptr() as usize], &[0, 4 * r * c]);
        let t = as_f32(&out[0]);
        for (i, j) in [(0, 0), (300, 258), (17, 201), (150, 3)] {
            assert_eq!(t[j * r + i], a[i * c + j], "transpose at {i}, {j}");
        }
    }

    #[test]
    fn broadcast_binary_and_where_split_by_rows_bit_for_bit() {
        let (r, c) = (301usize, 257usize);
        let n = r * c;
        let a = f32s(n, 5);
        let b = f32s(c, 6);
        let (ri, ci, ni) = (r as i32, c as i32, n as i32);
        // a [r, c] + b [c] (broadcast along rows).
        #[rustfmt::skip]
        let code = [
            MAGIC, 3,
            OP_BINARY, 2 + 7 + 6, F32, ADD as i32, 2, 0, 1, ni, 2, ri, ci, ci, 1, 0, 1,
        ];
        let inputs = [a.as_ptr() as usize, b.as_ptr() as usize];
        let out = same_bits("add broadcast", &code, &inputs, &[0, 0, 4 * n]);
        let s = as_f32(&out[0]);
        for i in (0..n).step_by(1009) {
            assert_eq!(s[i], a[i] + b[i % c], "add at {i}");
        }
        // The same with a leading dim of 1 (split along the next one).
        #[rustfmt::skip]
        let code = [
            MAGIC, 3,
            OP_BINARY, 2 + 7 + 9, F32, ADD as i32, 2, 0, 1, ni, 3,
            1, ri, ci, 0, ci, 1, 0, 0, 1,
        ];
        let lead = same_bits("add, leading 1", &code, &inputs, &[0, 0, 4 * n]);
        assert_eq!(lead[0], out[0]);
        // A comparison (bool out) and where(a > b, a, b) in f64.
        let (x, y) = (f64s(n, 7), f64s(n, 8));
        let cmp = crate::elementwise::GT as i32;
        #[rustfmt::skip]
        let code = [
            MAGIC, 5,
            OP_BINARY, 2 + 7 + 6, F64, cmp, 2, 0, 1, ni, 2, ri, ci, ci, 1, ci, 1,
            OP_CAST, 7, BOOL, F64, 3, 2, ni,
            OP_WHERE, 2 + 7 + 8, F64, 4, 3, 0, 1, ni, 2, ri, ci, ci, 1, ci, 1, ci, 1,
        ];
        let inputs = [x.as_ptr() as usize, y.as_ptr() as usize];
        let out = same_bits("where f64", &code, &inputs, &[0, 0, 4 * n, 8 * n, 8 * n]);
        let w: Vec<f64> = out[2]
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        for i in (0..n).step_by(1013) {
            assert_eq!(w[i], x[i].max(y[i]), "where at {i}");
        }
    }

    #[test]
    fn an_integer_division_by_zero_fails_with_any_thread_count() {
        let n = 100_003usize;
        let a: Vec<i32> = (0..n as i32).collect();
        let mut b = vec![3i32; n];
        b[n - 5] = 0;
        let rem = crate::elementwise::REMAINDER as i32;
        let m = n as i32;
        let code = [MAGIC, 3, OP_BINARY, 12, I32, rem, 2, 0, 1, m, 1, m, 1, 1];
        for threads in [1, 2, 3] {
            set_simulated_threads(threads);
            let mut slots = [a.as_ptr() as usize, b.as_ptr() as usize, 0];
            let status = run(&code, &mut slots);
            set_simulated_threads(1);
            assert_eq!(status, ERR_DIV_BY_ZERO, "{threads} threads");
            if slots[2] != 0 {
                free(slots[2], 4 * n);
            }
        }
    }

    #[test]
    fn reductions_split_by_rows_and_by_columns_bit_for_bit() {
        let (r, c) = (257usize, 301usize);
        let x = f32s(r * c, 9);
        let (ri, ci) = (r as i32, c as i32);
        let xp = x.as_ptr() as usize;
        // Column sums (over the leading axis): kept [c] stride 1, reduced [r].
        #[rustfmt::skip]
        let cols = [MAGIC, 2, OP_REDUCE, 2 + 7 + 4, F32, SUM as i32, 1, 0, ci, 2, 1, ci, ri, 1, ci];
        let out = same_bits("column sums", &cols, &[xp], &[0, 4 * c]);
        let s = as_f32(&out[0]);
        for j in [0, 150, 300] {
            let want: f64 = (0..r).map(|i| x[i * c + j] as f64).sum();
            assert!((s[j] as f64 - want).abs() < 1e-4, "column {j}");
        }
        // Row sums, maxima and minima (over the trailing axis).
        for op in [SUM, MAX, MIN] {
            #[rustfmt::skip]
            let rows = [MAGIC, 2, OP_REDUCE, 2 + 7 + 4, F32, op as i32, 1, 0, ri, 2, 1, ri, ci, ci, 1];
            let out = same_bits("row reduction", &rows, &[xp], &[0, 4 * r]);
            let s = as_f32(&out[0]);
            let row = &x[100 * c..101 * c];
            let want = match op {
                SUM => row.iter().map(|&v| v as f64).sum::<f64>() as f32,
                MAX => row.iter().cloned().fold(f32::NEG_INFINITY, f32::max),
                _ => row.iter().cloned().fold(f32::INFINITY, f32::min),
            };
            assert!(
                (s[100] - want).abs() < 1e-4,
                "op {op}: {} vs {want}",
                s[100]
            );
        }
        // A 3-d sum over the middle axis: kept [7, 40] (outer, inner), f64.
        let y = f64s(7 * 300 * 40, 10);
        #[rustfmt::skip]
        let mid = [MAGIC, 2, OP_REDUCE, 2 + 7 + 6, F64, SUM as i32, 1, 0, 280, 3, 1,
            7, 40, 300, 12_000, 1, 40];
        same_bits(
            "middle axis f64",
            &mid,
            &[y.as_ptr() as usize],
            &[0, 8 * 280],
        );
    }

    /// A fused chain long enough to split, with a scratch and an output
    /// register, then the same chain reducing rows of odd length.
    #[test]
    fn fused_groups_and_fused_row_reductions_split_bit_for_bit() {
        let n = 3 * 13_330usize; // rows of 13,330 and of 10 below
        let x = f32s(n, 11);
        let g = f32s(n, 12);
        let m = n as i32;
        // Registers 0 x, 1 g; 2 t = tanh(x) (output), 3 t·g (output).
        #[rustfmt::skip]
        let code = [
            MAGIC, 4,
            OP_FUSED, 2 + 4 + 8 + 4 + 12, m, 2, 2, 2,
            0, F32, 0, 0, 1, F32, 0, 0,
            F32, 2, F32, 3,
            0, F32, TANH as i32, 2, 0, 0,
            1, F32, MUL as i32, 3, 2, 1,
        ];
        let inputs = [x.as_ptr() as usize, g.as_ptr() as usize];
        let out = same_bits("fused", &code, &inputs, &[0, 0, 4 * n, 4 * n]);
        let p = as_f32(&out[1]);
        for i in (0..n).step_by(777) {
            assert!((p[i] - x[i].tanh() * g[i]).abs() < 1e-6, "fused at {i}");
        }
        // Rows of 13,330 (3 rows) and of 10 (n / 10 rows), sum and max of t·g.
        for len in [13_330i32, 10] {
            let rows = m / len;
            #[rustfmt::skip]
            let red = [
                MAGIC, 4,
                OP_FUSED_REDUCE, 2 + 8 + 4 + 8 + 4 + 12, len, 2, 3, SUM as i32, 2, 3, MAX as i32, 3,
                m, 2, 2, 2,
                0, F32, 0, 0, 1, F32, 0, 0,
                F32, -1, F32, -1,
                0, F32, TANH as i32, 2, 0, 0,
                1, F32, MUL as i32, 3, 2, 1,
            ];
            let what = if len == 10 {
                "rows of 10"
            } else {
                "3 long rows"
            };
            let k = rows as usize;
            if len == 13_330 {
                // Three rows cannot be cut into two parts of two granules
                // each: the run stays whole and must still agree.
                set_simulated_threads(2);
                let mut slots = [x.as_ptr() as usize, g.as_ptr() as usize, 0, 0];
                assert_eq!(run(&red, &mut slots), 0);
                set_simulated_threads(1);
                let mut one = [x.as_ptr() as usize, g.as_ptr() as usize, 0, 0];
                assert_eq!(run(&red, &mut one), 0);
                for s in [2, 3] {
                    assert_eq!(read::<u32>(slots[s], k), read::<u32>(one[s], k), "{what}");
                    free(slots[s], 4 * k);
                    free(one[s], 4 * k);
                }
                continue;
            }
            let out = same_bits(what, &red, &inputs, &[0, 0, 4 * k, 4 * k]);
            let sums = as_f32(&out[0]);
            let want: f64 = (0..10).map(|i| (x[i].tanh() * g[i]) as f64).sum();
            assert!((sums[0] as f64 - want).abs() < 1e-5, "{what}");
        }
    }

    /// A fused group inside a loop body splits on every step.
    #[test]
    fn a_fused_group_in_a_loop_body_splits_each_step() {
        let n = 40_000usize;
        let steps = 3;
        let x = f32s(n * steps, 13);
        let m = n as i32;
        // For i in 0..3: r = loop_read(x, i); t = tanh(r) + r; loop_write(out, t).
        #[rustfmt::skip]
        let code = [
            MAGIC, 4,
            OP_ZEROS, 5, F32, 1, (n * steps) as i32,
            OP_LOOP, 5, steps as i32, 0, 6 + 26 + 6 + 4 + 4,
            OP_LOOP_READ, 6, F32, 2, 0, m,
            OP_FUSED, 2 + 4 + 4 + 4 + 12, m, 1, 2, 2,
            2, F32, 0, 0,
            F32, -1, F32, 3,
            0, F32, TANH as i32, 1, 0, 0,
            1, F32, ADD as i32, 2, 1, 0,
            OP_LOOP_WRITE, 6, F32, 1, 3, m,
            OP_FREE, 4, 2, 4 * m,
            OP_FREE, 4, 3, 4 * m,
        ];
        let out = same_bits(
            "loop",
            &code,
            &[x.as_ptr() as usize],
            &[0, 4 * n * steps, 0, 0],
        );
        let y = as_f32(&out[0]);
        for i in (0..n * steps).step_by(4999) {
            assert!((y[i] - (x[i].tanh() + x[i])).abs() < 1e-6, "loop at {i}");
        }
    }
}
