//! Shape/stride helpers shared by the strided kernels.
//!
//! Shapes and strides arrive through a small i32 scratch area in linear
//! memory that the TypeScript side writes (`meta` pointer), never as copies
//! of tensors. Strides are in elements and may be 0 (broadcast) or negative.

/// Maximum rank the strided kernels accept (the TS layer checks).
pub const MAX_RANK: usize = 32;

/// Read `n` i32 values at `ptr`.
///
/// # Safety
/// `ptr` must point to `n` readable i32 values (or `n == 0`).
pub unsafe fn read_i32s(ptr: usize, n: usize) -> &'static [i32] {
    if n == 0 {
        return &[];
    }
    core::slice::from_raw_parts(ptr as *const i32, n)
}

/// A shape with K stride vectors, collapsed: size-1 dims dropped and
/// adjacent dims merged where every operand is contiguous across them.
pub struct Layout<const K: usize> {
    pub rank: usize,
    pub shape: [usize; MAX_RANK],
    pub strides: [[isize; MAX_RANK]; K],
}

impl<const K: usize> Layout<K> {
    /// Build from raw shape and K stride slices.
    pub fn new(shape: &[i32], strides: [&[i32]; K]) -> Self {
        let mut l = Layout {
            rank: 0,
            shape: [0; MAX_RANK],
            strides: [[0; MAX_RANK]; K],
        };
        for d in 0..shape.len() {
            let n = shape[d] as usize;
            if n == 1 {
                continue;
            }
            if l.rank > 0 {
                let p = l.rank - 1;
                let mergeable =
                    (0..K).all(|k| l.strides[k][p] == strides[k][d] as isize * n as isize);
                if mergeable {
                    l.shape[p] *= n;
                    for k in 0..K {
                        l.strides[k][p] = strides[k][d] as isize;
                    }
                    continue;
                }
            }
            l.shape[l.rank] = n;
            for k in 0..K {
                l.strides[k][l.rank] = strides[k][d] as isize;
            }
            l.rank += 1;
        }
        l
    }

    pub fn size(&self) -> usize {
        self.shape[..self.rank].iter().product()
    }

    /// Call `f(offsets, inner_len, inner_strides)` for every row (all dims
    /// but the innermost), in row-major order. A rank-0 layout is one row of
    /// length 1.
    #[inline(always)]
    pub fn for_each_row(&self, mut f: impl FnMut([isize; K], usize, [isize; K])) {
        if self.size() == 0 && self.rank > 0 {
            return;
        }
        if self.rank == 0 {
            f([0; K], 1, [0; K]);
            return;
        }
        let r = self.rank - 1;
        let inner = self.shape[r];
        let mut istr = [0isize; K];
        for k in 0..K {
            istr[k] = self.strides[k][r];
        }
        let mut idx = [0usize; MAX_RANK];
        let mut off = [0isize; K];
        loop {
            f(off, inner, istr);
            // odometer over dims 0..r
            let mut d = r;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                idx[d] += 1;
                for k in 0..K {
                    off[k] += self.strides[k][d];
                }
                if idx[d] < self.shape[d] {
                    break;
                }
                for k in 0..K {
                    off[k] -= self.strides[k][d] * self.shape[d] as isize;
                }
                idx[d] = 0;
            }
        }
    }
}

/// Row-major contiguous strides of a shape.
pub fn contiguous_strides(shape: &[i32]) -> Vec<i32> {
    let mut s = vec![0i32; shape.len()];
    let mut acc = 1i32;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc = acc.wrapping_mul(shape[d]);
    }
    s
}
