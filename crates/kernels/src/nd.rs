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

/// The collapsed form of a layout in which every operand is either
/// contiguous over the whole shape or one broadcast element: one row of
/// `n` elements and each operand's stride (1 or 0). Why: most elementwise
/// instructions are flat, and building a [`Layout`] zero-fills arrays of
/// [`MAX_RANK`] dims (a `memory.fill`, which costs more than a 16-element
/// kernel). `None` for anything else, including empty shapes.
#[inline(always)]
pub fn flat<const K: usize>(shape: &[i32], strides: [&[i32]; K]) -> Option<(usize, [isize; K])> {
    let mut n = 1usize;
    let mut dense = [true; K];
    let mut zero = [true; K];
    for d in (0..shape.len()).rev() {
        let s = shape[d];
        if s == 1 {
            continue;
        }
        if s <= 0 {
            return None;
        }
        for k in 0..K {
            let st = strides[k][d] as isize;
            dense[k] &= st == n as isize;
            zero[k] &= st == 0;
        }
        n = n.checked_mul(s as usize)?;
    }
    let mut out = [0isize; K];
    for k in 0..K {
        out[k] = if dense[k] {
            1
        } else if zero[k] {
            0
        } else {
            return None;
        };
    }
    Some((n, out))
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

#[cfg(test)]
mod tests {
    use super::flat;

    #[test]
    fn flat_takes_only_dense_or_scalar_operands() {
        // [2, 3]: dense a, scalar b.
        assert_eq!(flat::<2>(&[2, 3], [&[3, 1], &[0, 0]]), Some((6, [1, 0])));
        // Size-1 dims are ignored whatever their strides.
        assert_eq!(
            flat::<2>(&[2, 1, 3], [&[3, 7, 1], &[3, 0, 1]]),
            Some((6, [1, 1]))
        );
        // A row broadcast along the leading dim is not flat.
        assert_eq!(flat::<2>(&[2, 3], [&[3, 1], &[0, 1]]), None);
        // Nor is a transposed operand.
        assert_eq!(flat::<2>(&[2, 3], [&[3, 1], &[1, 2]]), None);
        // Rank 0: one element.
        assert_eq!(flat::<1>(&[], [&[]]), Some((1, [1])));
        // Empty shapes go to the general path.
        assert_eq!(flat::<1>(&[0, 3], [&[3, 1]]), None);
    }
}
