//! Native tests of the elementwise, reduce and layout kernels against naive
//! references (gemm, mathf, random and alloc test themselves).

use crate::elementwise::*;
use crate::layout::*;
use crate::nd::contiguous_strides;
use crate::reduce::*;

fn p<T>(v: &[T]) -> usize {
    v.as_ptr() as usize
}
fn pm<T>(v: &mut [T]) -> usize {
    v.as_mut_ptr() as usize
}

fn data(n: usize, seed: u32) -> Vec<f64> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(7);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2001) as f64 / 500.0 - 2.0
        })
        .collect()
}

/// Broadcast strides of `shape` against `out` (right-aligned).
fn bstrides(shape: &[i32], out: &[i32]) -> Vec<i32> {
    let off = out.len() - shape.len();
    let cs = contiguous_strides(shape);
    (0..out.len())
        .map(|d| {
            if d < off || shape[d - off] == 1 {
                0
            } else {
                cs[d - off]
            }
        })
        .collect()
}

fn unravel(mut i: usize, shape: &[i32]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d] as usize;
        i /= shape[d] as usize;
    }
    idx
}

fn dot(idx: &[usize], st: &[i32]) -> isize {
    idx.iter()
        .zip(st)
        .map(|(&i, &s)| i as isize * s as isize)
        .sum()
}

fn bin_ref(op: u32, a: f64, b: f64) -> f64 {
    let t = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        ADD => a + b,
        SUB => a - b,
        MUL => a * b,
        DIV => a / b,
        POW => a.powf(b),
        MAXIMUM => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.max(b)
            }
        }
        MINIMUM => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.min(b)
            }
        }
        EQ => t(a == b),
        NE => t(a != b),
        LT => t(a < b),
        LE => t(a <= b),
        GT => t(a > b),
        _ => t(a >= b),
    }
}

fn close(g: f64, w: f64, tol: f64) -> bool {
    (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= tol * (1.0 + w.abs())
}

#[test]
fn binary_broadcasting_all_ops() {
    let cases: &[(&[i32], &[i32], &[i32])] = &[
        (&[7], &[7], &[7]),
        (&[2, 3, 5], &[5], &[2, 3, 5]),
        (&[2, 1, 5], &[3, 1], &[2, 3, 5]),
        (&[1], &[4, 9], &[4, 9]),
        (&[], &[], &[]),
        (&[3, 0], &[1], &[3, 0]),
        (&[13, 1], &[1, 17], &[13, 17]),
    ];
    for &(sa, sb, so) in cases {
        let na: usize = sa.iter().product::<i32>() as usize;
        let nb: usize = sb.iter().product::<i32>() as usize;
        let no: usize = so.iter().product::<i32>() as usize;
        let mut a = data(na, 1);
        let b = data(nb, 2);
        if na > 2 {
            a[1] = f64::NAN;
        }
        let mut meta: Vec<i32> = so.to_vec();
        meta.extend(bstrides(sa, so));
        meta.extend(bstrides(sb, so));
        for op in 0..13 {
            let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            let mut o32 = vec![0f32; no];
            let mut o64 = vec![0f64; no];
            binary_f32(op, p(&a32), p(&b32), pm(&mut o32), so.len(), p(&meta));
            binary_f64(op, p(&a), p(&b), pm(&mut o64), so.len(), p(&meta));
            for i in 0..no {
                let idx = unravel(i, so);
                let ia = dot(&idx, &meta[so.len()..2 * so.len()]) as usize;
                let ib = dot(&idx, &meta[2 * so.len()..]) as usize;
                let w = bin_ref(op, a[ia], b[ib]);
                assert!(
                    close(o64[i], w, 1e-15),
                    "f64 op {op} {sa:?} {sb:?} i={i}: {} vs {w}",
                    o64[i]
                );
                let w32 = bin_ref(op, a32[ia] as f64, b32[ib] as f64);
                assert!(
                    close(o32[i] as f64, w32, 1e-6),
                    "f32 op {op} {sa:?} {sb:?} i={i}: {} vs {w32}",
                    o32[i]
                );
            }
        }
    }
}

#[test]
fn unary_all_ops() {
    let n = 37;
    let mut x = data(n, 3);
    x[0] = 0.0;
    x[1] = -0.0;
    x[2] = f64::NAN;
    let fns: [fn(f64) -> f64; 14] = [
        |v| -v,
        f64::abs,
        f64::exp,
        f64::ln,
        f64::sqrt,
        f64::sin,
        f64::cos,
        f64::tan,
        f64::tanh,
        |v| 1.0 / (1.0 + (-v).exp()),
        |v| if v.is_nan() { v } else { v.max(0.0) },
        |v| v * v,
        |v| 1.0 / v,
        |v| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
    ];
    for (op, f) in fns.iter().enumerate() {
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut o32 = vec![0f32; n];
        let mut o64 = vec![0f64; n];
        unary_f32(op as u32, p(&x32), pm(&mut o32), n);
        unary_f64(op as u32, p(&x), pm(&mut o64), n);
        for i in 0..n {
            let w = f(x[i]);
            assert!(
                close(o64[i], w, 1e-15),
                "f64 op {op} x={} {} vs {w}",
                x[i],
                o64[i]
            );
            let w32 = f(x32[i] as f64);
            assert!(
                close(o32[i] as f64, w32, 2e-6),
                "f32 op {op} x={} {} vs {w32}",
                x32[i],
                o32[i]
            );
        }
    }
}

#[test]
fn where_broadcasts() {
    let so = [3, 4];
    let c = vec![1.0f64, 0.0, 0.0, 2.0];
    let a = data(12, 4);
    let b = vec![9.0f64];
    let mut meta: Vec<i32> = so.to_vec();
    meta.extend(bstrides(&[4], &so));
    meta.extend(bstrides(&[3, 4], &so));
    meta.extend(bstrides(&[], &so));
    let mut o = vec![0f64; 12];
    where_f64(p(&c), p(&a), p(&b), pm(&mut o), 2, p(&meta));
    for i in 0..12 {
        assert_eq!(o[i], if c[i % 4] != 0.0 { a[i] } else { 9.0 });
    }
}

fn reduce_ref(op: u32, x: &[f64], shape: &[i32], axes: &[usize]) -> Vec<f64> {
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let oshape: Vec<i32> = kept.iter().map(|&d| shape[d]).collect();
    let no: usize = oshape.iter().product::<i32>() as usize;
    let init = match op {
        SUM => 0.0,
        PROD => 1.0,
        MAX => f64::NEG_INFINITY,
        _ => f64::INFINITY,
    };
    let mut out = vec![init; no];
    let n: usize = shape.iter().product::<i32>() as usize;
    for (i, &v) in x.iter().enumerate().take(n) {
        let idx = unravel(i, shape);
        let mut o = 0usize;
        for &d in &kept {
            o = o * shape[d] as usize + idx[d];
        }
        out[o] = match op {
            SUM => out[o] + v,
            PROD => out[o] * v,
            MAX => {
                if v.is_nan() || out[o].is_nan() {
                    f64::NAN
                } else {
                    out[o].max(v)
                }
            }
            _ => {
                if v.is_nan() || out[o].is_nan() {
                    f64::NAN
                } else {
                    out[o].min(v)
                }
            }
        };
    }
    out
}

/// Runs a reduce export into a fresh output (NaN-filled, so an unwritten
/// element shows).
fn reduce_run<T: crate::num::Float>(
    op: u32,
    x: &[T],
    out_len: usize,
    rank: usize,
    nred: usize,
    meta: &[i32],
    kernel: fn(u32, usize, usize, usize, usize, usize),
) -> Vec<T> {
    let mut o = vec![T::NAN; out_len];
    kernel(op, p(x), pm(&mut o), rank, nred, p(meta));
    o
}

/// meta = [shape, strides] of contiguous `shape`, kept dims first.
fn reduce_meta(shape: &[i32], axes: &[usize]) -> Vec<i32> {
    let st = contiguous_strides(shape);
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let order: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let mut meta: Vec<i32> = order.iter().map(|&d| shape[d]).collect();
    meta.extend(order.iter().map(|&d| st[d]));
    meta
}

#[test]
fn reduce_any_axes() {
    let cases: &[(&[i32], &[usize])] = &[
        (&[100], &[0]),
        (&[5, 40], &[0]),
        (&[5, 40], &[1]),
        (&[3, 4, 20], &[0, 2]),
        (&[3, 4, 20], &[1]),
        (&[3, 4, 20], &[0, 1, 2]),
        (&[3, 4, 20], &[]),
        (&[], &[]),
        (&[4, 0, 3], &[1]),
        (&[4, 0, 3], &[0]),
        (&[0, 5], &[1]),
        (&[0], &[0]),
        (&[2, 3], &[0, 1]),
        (&[6, 1, 9], &[0, 1]),
        (&[6, 1, 9], &[1]),
        (&[1, 1], &[0]),
        (&[7, 3, 37], &[0]),
        (&[7, 3, 37], &[0, 1]),
        (&[7, 3, 37], &[2]),
        (&[5, 6, 7, 8], &[1, 3]),
        (&[2, 3, 4, 5, 6], &[0, 2, 4]),
        (&[40, 16], &[0]),
        (&[3, 130], &[1]),
        (&[130], &[0]),
    ];
    for &(shape, axes) in cases {
        let n: usize = shape.iter().product::<i32>() as usize;
        let x: Vec<f64> = data(n, 5).iter().map(|v| v * 0.5 + 1.0).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let meta = reduce_meta(shape, axes);
        let (r, nr) = (shape.len(), axes.len());
        for op in 0..4 {
            let want = reduce_ref(op, &x, shape, axes);
            let o = reduce_run::<f64>(op, &x, want.len(), r, nr, &meta, reduce_f64);
            let o32 = reduce_run::<f32>(op, &x32, want.len(), r, nr, &meta, reduce_f32);
            for i in 0..want.len() {
                assert!(
                    close(o[i], want[i], 1e-12),
                    "op {op} {shape:?} {axes:?}: {} vs {}",
                    o[i],
                    want[i]
                );
                assert!(
                    close(o32[i] as f64, want[i], 1e-4),
                    "f32 op {op} {shape:?} {axes:?}: {} vs {}",
                    o32[i],
                    want[i]
                );
            }
        }
    }
}

#[test]
fn reduce_max_min_propagate_nan() {
    // A NaN anywhere in a reduced set gives NaN (contiguous-run and
    // row-accumulating modes, at every position).
    let cases: &[(&[i32], &[usize])] = &[
        (&[17], &[0]),
        (&[3, 17], &[1]),
        (&[9, 12], &[0]),
        (&[4, 5, 6], &[0, 2]),
        (&[4, 5, 16], &[0, 1]),
    ];
    for &(shape, axes) in cases {
        let n: usize = shape.iter().product::<i32>() as usize;
        let meta = reduce_meta(shape, axes);
        for at in [0, n / 2, n - 1] {
            let mut x: Vec<f64> = data(n, 9);
            x[at] = f64::NAN;
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            for op in [MAX, MIN] {
                let want = reduce_ref(op, &x, shape, axes);
                let (r, nr) = (shape.len(), axes.len());
                let o = reduce_run::<f64>(op, &x, want.len(), r, nr, &meta, reduce_f64);
                let o32 = reduce_run::<f32>(op, &x32, want.len(), r, nr, &meta, reduce_f32);
                for i in 0..want.len() {
                    assert_eq!(o[i].is_nan(), want[i].is_nan(), "{shape:?} {axes:?} @{at}");
                    assert!(want[i].is_nan() || o[i] == want[i]);
                    assert_eq!(
                        o32[i].is_nan(),
                        want[i].is_nan(),
                        "{shape:?} {axes:?} @{at}"
                    );
                }
                assert!(want.iter().any(|v| v.is_nan()));
            }
        }
    }
}

#[test]
fn reduce_takes_negative_strides() {
    let x = [1.0f32, 2.0, 3.0];
    let mut o = [0f32];
    let meta = [3i32, -1];
    for op in [SUM, PROD, MAX] {
        reduce_f32(op, p(&x) + 8, pm(&mut o), 1, 1, p(&meta));
        assert_eq!(o[0], [6.0, 6.0, 3.0][op as usize]);
    }
}

/// meta of a strided view: dims `perm` of contiguous `shape` (kept dims
/// first, the last `nred` reduced), i.e. a transposed input.
fn permuted_meta(shape: &[i32], perm: &[usize]) -> Vec<i32> {
    let st = contiguous_strides(shape);
    let mut meta: Vec<i32> = perm.iter().map(|&d| shape[d]).collect();
    meta.extend(perm.iter().map(|&d| st[d]));
    meta
}

/// Sums in f64 of what a kernel with `meta` (last `nred` dims reduced)
/// computes, by walking the view directly.
fn sum_ref(x: &[f64], meta: &[i32], nred: usize) -> Vec<f64> {
    let r = meta.len() / 2;
    let (shape, st) = (&meta[..r], &meta[r..]);
    let kept = r - nred;
    let nout: usize = shape[..kept].iter().map(|&d| d as usize).product();
    let nr: usize = shape[kept..].iter().map(|&d| d as usize).product();
    let offset = |dims: &[i32], strides: &[i32], mut i: usize| -> isize {
        let mut off = 0isize;
        for d in (0..dims.len()).rev() {
            let n = dims[d] as usize;
            off += (i % n) as isize * strides[d] as isize;
            i /= n;
        }
        off
    };
    (0..nout)
        .map(|o| {
            let ko = offset(&shape[..kept], &st[..kept], o);
            (0..nr)
                .map(|j| x[(ko + offset(&shape[kept..], &st[kept..], j)) as usize])
                .sum()
        })
        .collect()
}

#[test]
fn sum_paths_on_strided_views() {
    // Every summation path (one contiguous run, pairwise tree past one
    // block, the strided stream, the column tiles past one tile and past
    // one row block) on transposed and contiguous views.
    let cases: &[(&[i32], &[usize], usize)] = &[
        (&[1000, 3], &[1, 0], 1),       // stream, stride 3
        (&[3, 1000], &[1, 0], 1),       // columns: 3 rows
        (&[300, 200], &[1, 0], 1),      // kept contiguous: column tiles
        (&[300, 200], &[0, 1], 1),      // contiguous rows
        (&[37, 50, 41], &[1, 0, 2], 2), // runs of 41, stream
        (&[37, 50, 41], &[2, 0, 1], 2), // kept 41 contiguous: columns
        (&[5, 7, 300], &[2, 1, 0], 2),  // kept contiguous, strided rows
        (&[4099], &[0], 1),             // tree with a tail
        (&[17, 260], &[0, 1], 2),       // full sum over two dims
        (&[70, 9], &[1, 0], 1),         // kept 9 (column mode)
        (&[40, 2600], &[1, 0], 1),      // columns: 3 (f32) or 6 (f64) tiles
        (&[2, 3, 5], &[0, 1, 2], 0),    // nothing reduced
    ];
    for &(shape, perm, nred) in cases {
        let n: usize = shape.iter().product::<i32>() as usize;
        let x: Vec<f64> = data(n, 21);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let xr32: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        let meta = permuted_meta(shape, perm);
        let r = shape.len();
        let want = sum_ref(&x, &meta, nred);
        let want32 = sum_ref(&xr32, &meta, nred);
        let o = reduce_run::<f64>(SUM, &x, want.len(), r, nred, &meta, reduce_f64);
        let o32 = reduce_run::<f32>(SUM, &x32, want.len(), r, nred, &meta, reduce_f32);
        let scale: f64 = x.iter().map(|v| v.abs()).sum::<f64>() / want.len() as f64;
        for i in 0..want.len() {
            assert!(
                (o[i] - want[i]).abs() <= 1e-13 * scale,
                "f64 {shape:?} {perm:?}: {} vs {}",
                o[i],
                want[i]
            );
            assert!(
                (o32[i] as f64 - want32[i]).abs() <= 1e-6 * scale,
                "f32 {shape:?} {perm:?}: {} vs {}",
                o32[i],
                want32[i]
            );
        }
    }
}

#[test]
fn sum_of_ten_million_f32_is_accurate() {
    // One running sum per lane loses accuracy linearly in n when the
    // rounding errors share a sign (constant-like data: 6e-3 relative for
    // the sum of 1e7 tenths, 4e-2 along a stride-2 axis) and like sqrt(n)
    // otherwise; blocked pairwise summation stays within a few ulps of the
    // f64 sum of the same f32 values, on every path.
    let n = 10_000_000usize;
    let mut s = 12345u32;
    let uniform: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(1103515245).wrapping_add(12345);
            (s as f64 / 4294967296.0) as f32
        })
        .collect();
    let tenths = vec![0.1f32; n];
    let thirds = vec![0.3f32; n];
    let ninths = vec![1.0f32 / 9.0; n];
    let n = n as i32;
    let cases: &[(&[i32], &[usize], usize)] = &[
        (&[n], &[0], 1),                 // one contiguous run
        (&[2, n / 2], &[0, 1], 1),       // along the last axis
        (&[n / 16, 16], &[1, 0], 1),     // columns: kept run of 16
        (&[n / 2, 2], &[1, 0], 1),       // strided stream (stride 2)
        (&[n / 2000, 2000], &[1, 0], 1), // columns, two tiles
        (&[1000, n / 1000], &[0, 1], 1),
    ];
    for x in [&uniform, &tenths, &thirds, &ninths] {
        let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        for &(shape, perm, nred) in cases {
            let meta = permuted_meta(shape, perm);
            let want = sum_ref(&xd, &meta, nred);
            let got = reduce_run::<f32>(SUM, x, want.len(), shape.len(), nred, &meta, reduce_f32);
            let worst = (0..want.len())
                .map(|i| ((got[i] as f64 - want[i]) / want[i]).abs())
                .fold(0.0, f64::max);
            println!("{} {shape:?} {perm:?}: relative error {worst:e}", x[0]);
            assert!(worst < 1e-6, "{shape:?} {perm:?}: relative error {worst:e}");
        }
    }
}

fn argreduce_ref(is_max: bool, x: &[f64], outer: usize, len: usize, inner: usize) -> Vec<i32> {
    let mut out = vec![0; outer * inner];
    for a in 0..outer {
        for c in 0..inner {
            let lane: Vec<f64> = (0..len).map(|j| x[(a * len + j) * inner + c]).collect();
            out[a * inner + c] = match lane.iter().position(|v| v.is_nan()) {
                Some(j) => j as i32,
                None => {
                    let mut bi = 0;
                    for j in 1..len {
                        if (is_max && lane[j] > lane[bi]) || (!is_max && lane[j] < lane[bi]) {
                            bi = j;
                        }
                    }
                    bi as i32
                }
            };
        }
    }
    out
}

#[test]
fn argreduce_matches_reference() {
    // Lane loop (inner == 1) and ndarray row sweep (inner > 1); data with
    // many ties (values on a coarse grid) and NaNs at chosen places.
    for &(outer, len, inner) in &[
        (1, 1, 1),
        (3, 7, 1),
        (1, 5, 4),
        (4, 6, 9),
        (2, 33, 3),
        (5, 1, 6),
        (0, 3, 4),
        (3, 4, 0),
    ] {
        let n = outer * len * inner;
        let base: Vec<f64> = data(n, 13).iter().map(|v| (v * 2.0).round()).collect();
        let mut variants = vec![base.clone()];
        if n > 0 {
            for at in [0, n / 3, n - 1] {
                let mut v = base.clone();
                v[at] = f64::NAN;
                if n > 2 {
                    v[(at + 2) % n] = f64::NAN;
                }
                variants.push(v);
            }
        }
        for x in &variants {
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            for is_max in [true, false] {
                let want = argreduce_ref(is_max, x, outer, len, inner);
                let mut o = vec![-1i32; want.len()];
                assert_eq!(
                    argreduce_f64(is_max, p(x), pm(&mut o), outer, len, inner),
                    0
                );
                assert_eq!(o, want, "f64 {is_max} [{outer},{len},{inner}] {x:?}");
                let mut o = vec![-1i32; want.len()];
                assert_eq!(
                    argreduce_f32(is_max, p(&x32), pm(&mut o), outer, len, inner),
                    0
                );
                assert_eq!(o, want, "f32 {is_max} [{outer},{len},{inner}]");
            }
        }
    }
    // len == 0 with a non-empty output has no answer; with an empty one, fine.
    let mut o = [0i32; 4];
    assert_eq!(argreduce_f32(true, 8, pm(&mut o), 2, 0, 2), 1);
    assert_eq!(argreduce_f32(true, 8, pm(&mut o), 0, 0, 2), 0);
}

#[test]
fn argreduce_first_occurrence() {
    let x = [1.0f64, 5.0, 5.0, -2.0, 0.0, -2.0];
    let mut o = [0i32; 2];
    assert_eq!(argreduce_f64(true, p(&x), pm(&mut o), 2, 3, 1), 0);
    assert_eq!(o, [1, 1]);
    assert_eq!(argreduce_f64(false, p(&x), pm(&mut o), 2, 3, 1), 0);
    assert_eq!(o, [0, 0]);
    // along axis 0 of [2,3]: inner = 3
    let mut o3 = [0i32; 3];
    argreduce_f64(true, p(&x), pm(&mut o3), 1, 2, 3);
    assert_eq!(o3, [0, 0, 0]);
    let xn = [1.0f32, f32::NAN, 7.0];
    let mut o1 = [9i32];
    argreduce_f32(true, p(&xn), pm(&mut o1), 1, 3, 1);
    assert_eq!(o1, [1]);
    assert_eq!(argreduce_f32(true, p(&xn), pm(&mut o1), 1, 0, 1), 1);
}

#[test]
fn strided_copy_and_copy_into() {
    // transpose of 20x33, flip, expand, offset.
    let x: Vec<f32> = (0..20 * 33).map(|v| v as f32).collect();
    let cases: Vec<(isize, Vec<i32>, Vec<i32>)> = vec![
        (0, vec![33, 20], vec![1, 33]),
        (20 * 33 - 1, vec![20, 33], vec![-33, -1]),
        (5, vec![4, 3, 7], vec![0, 33, 1]),
        (0, vec![], vec![]),
        (2, vec![3, 0], vec![1, 1]),
        (0, vec![2, 2, 2, 2], vec![66, 1, 33, 2]),
    ];
    for (off, shape, st) in cases {
        let n: usize = shape.iter().product::<i32>() as usize;
        let mut meta = shape.clone();
        meta.extend(&st);
        let mut o = vec![-1f32; n];
        copy_strided_4(
            unsafe { x.as_ptr().offset(off) } as usize,
            pm(&mut o),
            shape.len(),
            p(&meta),
        );
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut o64 = vec![-1f64; n];
        copy_strided_8(
            unsafe { x64.as_ptr().offset(off) } as usize,
            pm(&mut o64),
            shape.len(),
            p(&meta),
        );
        for i in 0..n {
            let w = x[(off + dot(&unravel(i, &shape), &st)) as usize];
            assert_eq!(o[i], w, "{shape:?} {st:?} {i}");
            assert_eq!(o64[i], w as f64);
        }
    }
    // copy_into: write a 2x3 block into a 4x5 buffer at (1,2).
    let src: Vec<f64> = (0..6).map(|v| v as f64).collect();
    let mut dst = vec![0f64; 20];
    let meta = [2, 3, 5, 1];
    copy_into_8(
        p(&src),
        unsafe { dst.as_mut_ptr().add(7) } as usize,
        2,
        p(&meta),
    );
    for i in 0..2 {
        for j in 0..3 {
            assert_eq!(dst[(1 + i) * 5 + 2 + j], (i * 3 + j) as f64);
        }
    }
    assert_eq!(dst.iter().sum::<f64>(), 15.0);
}

#[test]
fn fill_cast_index() {
    let mut f = vec![0f32; 5];
    fill_f32(pm(&mut f), 5, 2.5);
    assert_eq!(f, [2.5; 5]);
    let mut g = vec![0i32; 3];
    fill_i32(pm(&mut g), 3, -4);
    assert_eq!(g, [-4; 3]);
    let x = [1.7f64, -1.7, f64::NAN, 3e10];
    let mut i = [0i32; 4];
    cast(p(&x), 1, pm(&mut i), 2, 4);
    assert_eq!(i, [1, -1, 0, i32::MAX]);
    let mut y = [0f32; 4];
    cast(p(&i), 2, pm(&mut y), 0, 4);
    assert_eq!(y, [1.0, -1.0, 0.0, i32::MAX as f32]);
    let mut z = [0f64; 4];
    cast(p(&y), 0, pm(&mut z), 1, 4);
    assert_eq!(z[1], -1.0);

    // index_select on [2, 3, 2] along axis 1 with [2, 0, 2, 1]
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let idx = [2i32, 0, 2, 1];
    let mut o = vec![0f32; 16];
    assert_eq!(index_select_4(p(&x), pm(&mut o), 2, 3, 2, p(&idx), 4), -1);
    for a in 0..2 {
        for j in 0..4 {
            for c in 0..2 {
                assert_eq!(o[(a * 4 + j) * 2 + c], x[(a * 3 + idx[j] as usize) * 2 + c]);
            }
        }
    }
    let bad = [0i32, 3];
    assert_eq!(index_select_4(p(&x), pm(&mut o), 2, 3, 2, p(&bad), 2), 1);
    let neg = [-1i32];
    assert_eq!(index_select_8(p(&x), pm(&mut o), 1, 3, 1, p(&neg), 1), 0);

    // index_add: out[3] from src[4] with idx [2,0,2,1]
    let src = [1.0f64, 2.0, 3.0, 4.0];
    let mut out = [9f64; 3];
    assert_eq!(
        index_add_f64(p(&src), pm(&mut out), 1, 3, 1, p(&idx), 4),
        -1
    );
    assert_eq!(out, [2.0, 4.0, 4.0]);
    let s32 = [1.0f32, 2.0, 3.0, 4.0];
    let mut o32 = [9f32; 3];
    assert_eq!(index_add_f32(p(&s32), pm(&mut o32), 1, 3, 1, p(&bad), 2), 1);
    let si = [1i32, 2, 3, 4];
    let mut oi = [0i32; 3];
    assert_eq!(index_add_i32(p(&si), pm(&mut oi), 1, 3, 1, p(&idx), 4), -1);
    assert_eq!(oi, [2, 4, 4]);
}

#[test]
fn rows_match_a_last_axis_reduce_bit_for_bit() {
    // Rows long and short, with a NaN and signed zeros in some rows.
    for (nrows, len) in [(7usize, 2usize), (5, 13), (3, 600), (2, 4099)] {
        let mut x = data(nrows * len, len as u32);
        x[len + 1] = f64::NAN;
        x[0] = -0.0;
        x[1] = -0.0;
        let meta = [nrows as i32, len as i32, len as i32, 1];
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for op in [SUM, PROD, MAX, MIN] {
            let (mut want, mut got) = (vec![0f64; nrows], vec![1f64; nrows]);
            reduce_f64(op, p(&x), pm(&mut want), 2, 1, p(&meta));
            unsafe { rows::<f64>(op, x.as_ptr(), got.as_mut_ptr(), nrows, len) };
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "f64 op {op} len {len}");
            let (mut want, mut got) = (vec![0f32; nrows], vec![1f32; nrows]);
            reduce_f32(op, p(&x32), pm(&mut want), 2, 1, p(&meta));
            unsafe { rows::<f32>(op, x32.as_ptr(), got.as_mut_ptr(), nrows, len) };
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "f32 op {op} len {len}");
        }
    }
}
