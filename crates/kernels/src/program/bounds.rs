//! The bounds check every instruction passes before it runs: from its
//! fields alone, how many bytes it reads of each buffer it is given (checked
//! against the slot's size) and how many it allocates for each one it makes
//! (recorded as that slot's size), so that no kernel reads past a buffer or
//! writes past what was allocated for it, whatever the stream says.
//!
//! Slot sizes start as `OP_SIZES` states them for the caller's buffers (0
//! for empty slots) and follow the run: an allocation sets one, a free
//! (which must state the size allocated) clears it, a move carries it.
//! [`Exec::check`] mirrors the field layouts of [`Exec::step`] and refuses
//! an opcode it has no arm for (`ERR_OPCODE`, as `step` does an unknown
//! one), so a new instruction cannot run unchecked. Fields that `step` would
//! refuse may be refused here first, with the same status.

use super::*;

/// Bytes from a buffer's start that a strided layout reaches: elements
/// `offset + Σ i_d·strides[d]` for `i_d < shape[d]` (strides may be
/// negative, or 0 to broadcast), `w` bytes each; `ERR_BOUNDS` if one lies
/// before the start. 0 for an empty shape.
#[inline(always)]
fn span(offset: isize, shape: &[i32], strides: &[i32], w: usize) -> R<usize> {
    // What most instructions read: a flat row, or one value at every position.
    if let ([n], [st @ (0 | 1)], 0) = (shape, strides, offset) {
        let n = if *st == 0 {
            usize::from(*n > 0)
        } else {
            count(*n)?
        };
        return bytes(n, w);
    }
    span_strided(offset, shape, strides, w)
}

/// [`span`] of any layout.
fn span_strided(offset: isize, shape: &[i32], strides: &[i32], w: usize) -> R<usize> {
    if shape.contains(&0) {
        return Ok(0);
    }
    let (mut lo, mut hi) = (offset as i64, offset as i64);
    for (&n, &st) in shape.iter().zip(strides) {
        let reach = i64::from(n.max(1) - 1) * i64::from(st);
        if reach < 0 {
            lo = lo.checked_add(reach).ok_or(ERR_BOUNDS)?;
        } else {
            hi = hi.checked_add(reach).ok_or(ERR_BOUNDS)?;
        }
    }
    if lo < 0 {
        return Err(ERR_BOUNDS);
    }
    let end = usize::try_from(hi + 1).map_err(|_| ERR_BOUNDS)?;
    end.checked_mul(w).ok_or(ERR_BOUNDS)
}

/// Bytes a kernel reads of `batch` matrices of `elems` elements, `stride`
/// elements apart (0: one matrix for the whole batch), `w` bytes each.
fn batched(batch: usize, stride: usize, elems: usize, w: usize) -> R<usize> {
    if batch == 0 || elems == 0 {
        return Ok(0);
    }
    (batch - 1)
        .checked_mul(stride)
        .and_then(|x| x.checked_add(elems))
        .and_then(|x| x.checked_mul(w))
        .ok_or(ERR_BOUNDS)
}

/// Checks that a layout's `shape` (stream fields) holds exactly the `n`
/// elements its instruction allocates and writes.
fn holds(shape: &[i32], n: usize) -> R<()> {
    let mut total = 1usize;
    for &d in shape {
        total = total.checked_mul(count(d)?).ok_or(ERR_FIELD)?;
    }
    if total == n {
        Ok(())
    } else {
        Err(ERR_FIELD)
    }
}

/// `n` elements of `w` bytes, as bytes.
fn bytes(n: usize, w: usize) -> R<usize> {
    n.checked_mul(w).ok_or(ERR_BOUNDS)
}

/// Element width of a float instruction's dtype field.
fn float_width(dtype: i32) -> R<usize> {
    Ok(if float64(dtype)? { 8 } else { 4 })
}

impl Exec<'_> {
    /// Slot `s` holds a buffer of at least `bytes`.
    fn reads(&self, s: i32, bytes: usize) -> R<()> {
        let i = self.index(s)?;
        if unsafe { *self.slots.add(i) } == 0 {
            return Err(ERR_EMPTY);
        }
        if bytes > self.sizes[i].get() {
            return Err(ERR_BOUNDS);
        }
        Ok(())
    }

    /// Slot `s` will hold the `n` elements of `w` bytes the instruction
    /// allocates.
    fn makes(&self, s: i32, n: usize, w: usize) -> R<()> {
        let i = self.index(s)?;
        self.sizes[i].set(n.checked_mul(w).ok_or(ERR_OOM)?);
        Ok(())
    }

    /// Slot `s` is freed, stating its size `bytes`.
    pub(super) fn check_free(&self, s: i32, bytes: usize) -> R<()> {
        self.reads(s, bytes)?;
        let i = self.index(s)?;
        if bytes != self.sizes[i].get() {
            return Err(ERR_BOUNDS);
        }
        self.sizes[i].set(0);
        Ok(())
    }

    /// Slot `s` holds a value of `dtype` (a branch index or predicate).
    pub(super) fn check_scalar(&self, s: i32, dtype: i32) -> R<()> {
        self.reads(s, width(dtype)?)
    }

    /// `OP_LOOP_READ` (`read`) or `OP_LOOP_WRITE`: the slice of the stacked
    /// buffer that the loop's last step reads or writes lies within it (so
    /// every step's does). A read copies slice i of the stacked f[2] into a
    /// new f[1]; a write copies f[2] into slice i of f[1].
    fn check_stacked(&self, read: bool, f: &[i32]) -> R<()> {
        expect(f, 4, 0, 0)?;
        let (w, n) = (width(f[0])?, count(f[3])?);
        self.index.get().ok_or(ERR_FIELD)?;
        let steps = self.last.get() + 1;
        let end = steps.checked_mul(bytes(n, w)?).ok_or(ERR_BOUNDS)?;
        self.reads(if read { f[2] } else { f[1] }, end)
    }

    /// Whether the instructions in words `[from, to)` are straight-line
    /// (no loop or branch: each runs once per pass, in order).
    pub(super) fn straight(&self, from: usize, to: usize) -> bool {
        let mut pc = from;
        while pc + 1 < to {
            if matches!(self.code[pc], OP_LOOP | OP_COND | OP_WHILE) {
                return false;
            }
            match usize::try_from(self.code[pc + 1]) {
                Ok(len) if len >= 2 => pc += len,
                _ => return false,
            }
        }
        true
    }

    /// The bounds check of instruction `op` with fields `f` (see the
    /// module doc), recording the sizes of the buffers it makes or frees.
    pub(super) fn check(&self, op: i32, f: &[i32]) -> R<()> {
        let field = |i: usize| f.get(i).copied().ok_or(ERR_TRUNCATED);
        match op {
            OP_UNARY => {
                expect(f, 5, 0, 0)?;
                // (step checks the op code)
                let (kd, k, n) = (kind(f[0])?, f[1] as u32, count(f[4])?);
                let test = k == ISNAN || k == ISFINITE;
                self.reads(f[3], bytes(n, if kd == Kind::F64 { 8 } else { 4 })?)?;
                self.makes(f[2], n, if kd == Kind::F64 && !test { 8 } else { 4 })
            }
            OP_BINARY => {
                let r = rank(field(6)?)?;
                expect(f, 7, 3, r)?;
                let (kd, k, n) = (kind(f[0])?, f[1] as u32, count(f[5])?);
                let w = if kd == Kind::F64 { 8 } else { 4 };
                let shape = &f[7..7 + r];
                holds(shape, n)?;
                self.reads(f[3], span(0, shape, &f[7 + r..7 + 2 * r], w)?)?;
                self.reads(f[4], span(0, shape, &f[7 + 2 * r..], w)?)?;
                let wide = kd == Kind::F64 && !int::is_compare(k);
                self.makes(f[2], n, if wide { 8 } else { 4 })
            }
            OP_WHERE => {
                let r = rank(field(6)?)?;
                expect(f, 7, 4, r)?;
                let (w, n) = (width(f[0])?, count(f[5])?);
                let shape = &f[7..7 + r];
                holds(shape, n)?;
                for (k, &s) in f[2..5].iter().enumerate() {
                    let strides = &f[7 + (k + 1) * r..7 + (k + 2) * r];
                    self.reads(s, span(0, shape, strides, w)?)?;
                }
                self.makes(f[1], n, w)
            }
            OP_REDUCE => {
                let r = rank(field(5)?)?;
                expect(f, 7, 2, r)?;
                let (kd, nout, nred) = (kind(f[0])?, count(f[4])?, count(f[6])?);
                if nred > r {
                    return Err(ERR_FIELD);
                }
                let w = if kd == Kind::F64 { 8 } else { 4 };
                let shape = &f[7..7 + r];
                holds(&shape[..r - nred], nout)?;
                self.reads(f[3], span(0, shape, &f[7 + r..], w)?)?;
                self.makes(f[2], nout, w)
            }
            OP_ARG_REDUCE => {
                expect(f, 7, 0, 0)?;
                let w = float_width(f[0])?;
                let (outer, len, inner) = (count(f[4])?, count(f[5])?, count(f[6])?);
                self.reads(f[3], bytes(product(&[outer, len, inner])?, w)?)?;
                self.makes(f[2], product(&[outer, inner])?, 4)
            }
            OP_INDEX_SELECT | OP_INDEX_ADD => {
                expect(f, 8, 0, 0)?;
                let w = width(f[0])?;
                let (outer, dim, inner, nidx) =
                    (count(f[4])?, count(f[5])?, count(f[6])?, count(f[7])?);
                // A gather reads x whole and writes nidx rows; a scatter-add
                // reads nidx rows and writes dim.
                let (read, write) = if op == OP_INDEX_SELECT {
                    (dim, nidx)
                } else {
                    (nidx, dim)
                };
                self.reads(f[2], bytes(product(&[outer, read, inner])?, w)?)?;
                self.reads(f[3], bytes(nidx, 4)?)?;
                self.makes(f[1], product(&[outer, write, inner])?, w)
            }
            OP_COPY_STRIDED | OP_COPY_INTO => {
                let r = rank(field(5)?)?;
                expect(f, 6, 2, r)?;
                let (w, n) = (width(f[0])?, count(f[4])?);
                let shape = &f[6..6 + r];
                holds(shape, n)?;
                let strided = span(f[3] as isize, shape, &f[6 + r..], w)?;
                if op == OP_COPY_STRIDED {
                    self.reads(f[2], strided)?;
                    self.makes(f[1], n, w)
                } else {
                    // Into the existing buffer f[1], from a contiguous f[2].
                    self.reads(f[1], strided)?;
                    self.reads(f[2], bytes(n, w)?)
                }
            }
            OP_ZEROS => {
                expect(f, 3, 0, 0)?;
                self.makes(f[1], count(f[2])?, width(f[0])?)
            }
            OP_CAST => {
                expect(f, 5, 0, 0)?;
                let n = count(f[4])?;
                self.reads(f[3], bytes(n, width(f[0])?)?)?;
                self.makes(f[2], n, width(f[1])?)
            }
            OP_MATMUL | OP_MATMUL_ADD => {
                expect(f, if op == OP_MATMUL { 12 } else { 13 }, 0, 0)?;
                let w = if kind(f[0])? == Kind::F64 { 8 } else { 4 };
                self.check_product(&f[1..12], w)?;
                let size = product(&[count(f[4])?, count(f[5])?, count(f[6])?])?;
                if op == OP_MATMUL_ADD {
                    float64(f[0])?;
                    self.reads(f[12], bytes(size, w)?)?;
                }
                self.makes(f[1], size, w)
            }
            OP_MATMUL_FUSED => {
                let w = float_width(*f.first().ok_or(ERR_TRUNCATED)?)?;
                if f.len() < 12 {
                    return Err(ERR_TRUNCATED);
                }
                // The product's fields less its result slot.
                let mut head = [0i32; 11];
                head[1..].copy_from_slice(&f[1..11]);
                self.check_product(&head, w)?;
                self.check_fused(&f[11..], &[], true)
            }
            OP_LU | OP_EIGH | OP_CHOLESKY | OP_SLOGDET => {
                expect(f, 5, 0, 0)?;
                let w = float_width(f[0])?;
                let (batch, n) = (count(f[3])?, count(f[4])?);
                self.reads(f[2], bytes(product(&[batch, n, n])?, w)?)?;
                let out = match op {
                    // Pivots or eigenvalues on top of the n × n factor.
                    OP_LU | OP_EIGH => product(&[batch, n + 1, n])?,
                    OP_CHOLESKY => product(&[batch, n, n])?,
                    _ => product(&[batch, 2])?,
                };
                self.makes(f[1], out, w)
            }
            OP_QR | OP_SVD => {
                expect(f, 6, 0, 0)?;
                let w = float_width(f[0])?;
                let (batch, m, n) = (count(f[3])?, count(f[4])?, count(f[5])?);
                if m < n {
                    return Err(ERR_FIELD);
                }
                self.reads(f[2], bytes(product(&[batch, m, n])?, w)?)?;
                let rows = if op == OP_QR { m + n } else { m + 1 + n };
                self.makes(f[1], product(&[batch, rows, n])?, w)
            }
            OP_TRIANGULAR_SOLVE | OP_SOLVE => {
                let (_, [batch, n, k, sa, sb]) = solve_fields(op, f)?;
                let w = float_width(f[0])?;
                self.reads(f[2], batched(batch, sa, product(&[n, n])?, w)?)?;
                self.reads(f[3], batched(batch, sb, product(&[n, k])?, w)?)?;
                self.makes(f[1], product(&[batch, n, k])?, w)
            }
            OP_RANDOM => {
                expect(f, 6, 0, 0)?;
                let w = if op_in(RANDOM_DISTS, f[1])? == random::DIST_PERMUTATION {
                    (f[0] == I32).then_some(4).ok_or(ERR_FIELD)?
                } else {
                    float_width(f[0])?
                };
                let (nkeys, n) = (count(f[4])?, count(f[5])?);
                // A key is two u32.
                self.reads(f[3], bytes(nkeys, 8)?)?;
                self.makes(f[2], product(&[nkeys, n])?, w)
            }
            OP_RANDOM_DERIVE => {
                expect(f, 5, 0, 0)?;
                op_in(RANDOM_DOMAINS, f[0])?;
                let n = count(f[4])?;
                self.reads(f[2], bytes(n, 8)?)?;
                self.reads(f[3], bytes(n, 8)?)?;
                self.makes(f[1], product(&[n, 2])?, 4)
            }
            OP_LOOP_READ => {
                self.check_stacked(true, f)?;
                self.makes(f[1], count(f[3])?, width(f[0])?)
            }
            OP_LOOP_WRITE => {
                self.check_stacked(false, f)?;
                self.reads(f[2], bytes(count(f[3])?, width(f[0])?)?)
            }
            OP_MOVE => {
                expect(f, 2, 0, 0)?;
                let (to, from) = (self.index(f[0])?, self.index(f[1])?);
                self.sizes[to].set(self.sizes[from].replace(0));
                Ok(())
            }
            OP_CONV => {
                let g = window(f, 9)?;
                let w = float_width(f[0])?;
                let (n, c, o, groups) = conv_dims(f)?;
                let x = product(&[n, c, g.sin()])?;
                let wt = product(&[o, c / groups, g.sk()])?;
                let gy = product(&[n, o, g.sout()])?;
                // Forward (x, w → y), Input (gy, w → x), Weight (x, gy → w).
                let (a, b, out) = match f[1] {
                    0 => (x, wt, gy),
                    1 => (gy, wt, x),
                    2 => (x, gy, wt),
                    _ => return Err(ERR_FIELD),
                };
                self.reads(f[3], bytes(a, w)?)?;
                self.reads(f[4], bytes(b, w)?)?;
                self.makes(f[2], out, w)
            }
            OP_MAX_POOL => {
                let g = window(f, 5)?;
                let w = float_width(f[0])?;
                let planes = count(f[4])?;
                self.reads(f[3], bytes(product(&[planes, g.sin()])?, w)?)?;
                let wout = if f[1] != 0 { 4 } else { w };
                self.makes(f[2], product(&[planes, g.sout()])?, wout)
            }
            OP_ARGSORT => {
                expect(f, 7, 0, 0)?;
                let w = float_width(f[0])?;
                let size = product(&[count(f[4])?, count(f[5])?, count(f[6])?])?;
                self.reads(f[3], bytes(size, w)?)?;
                self.makes(f[2], size, 4)
            }
            OP_FUSED => self.check_fused(f, &[], false),
            OP_FUSED_REDUCE => {
                let nred = count(field(1)?)?;
                let at = nred.checked_mul(3).and_then(|k| k.checked_add(2));
                let at = at.filter(|&k| k <= f.len()).ok_or(ERR_TRUNCATED)?;
                self.check_fused(&f[at..], &f[..at], false)
            }
            OP_FREE => {
                expect(f, 2, 0, 0)?;
                self.check_free(f[0], count(f[1])?)
            }
            OP_ARENA => {
                expect(f, 2 + self.nslots, 0, 0)?;
                self.reads(f[0], count(f[1])?)
            }
            // Fail closed: an instruction with no arm here would run
            // unchecked (run_range handles OP_LOOP, OP_COND and OP_WHILE).
            _ => Err(ERR_OPCODE),
        }
    }

    /// A product's operands, from `OP_MATMUL`'s fields `[_, a, b, batch, m,
    /// n, k, trans_a, trans_b, a_stride, b_stride]`.
    fn check_product(&self, f: &[i32], w: usize) -> R<()> {
        let (batch, m, n, k) = (count(f[3])?, count(f[4])?, count(f[5])?, count(f[6])?);
        let (sa, sb) = (count(f[9])?, count(f[10])?);
        self.reads(f[1], batched(batch, sa, product(&[m, k])?, w)?)?;
        self.reads(f[2], batched(batch, sb, product(&[k, n])?, w)?)
    }

    /// An `OP_FUSED` group's inputs and outputs (program/fused.rs has the
    /// layout), with `OP_FUSED_REDUCE`'s prefix `red`; with `product`,
    /// inputs of slot −1 are the product of an `OP_MATMUL_FUSED`.
    fn check_fused(&self, f: &[i32], red: &[i32], product: bool) -> R<()> {
        let field = |i: usize| f.get(i).copied().ok_or(ERR_TRUNCATED);
        let (n, nin, ntmp) = (count(field(0)?)?, count(field(1)?)?, count(field(2)?)?);
        let temps_at = 4 + 4 * nin;
        let steps_at = temps_at + 2 * ntmp;
        if f.len() < steps_at {
            return Err(ERR_TRUNCATED);
        }
        for g in f[4..temps_at].chunks_exact(4) {
            if product && g[0] == -1 {
                continue;
            }
            let m = count(g[3])?;
            // Every position, one value, a row of m repeated, or each of
            // n / m repeated m times.
            let len = match g[2] {
                0 => n,
                1 => 1,
                2 if m > 0 => m,
                3 if m > 0 => n / m,
                _ => return Err(ERR_FIELD),
            };
            self.reads(g[0], bytes(len, width(g[1])?)?)?;
        }
        for t in f[temps_at..steps_at].chunks_exact(2) {
            if t[1] >= 0 {
                self.makes(t[1], n, width(t[0])?)?;
            }
        }
        // Each reduction (reg, op, out) writes n / len values of reg's
        // dtype, or len for a sum across the rows.
        if let [len, _, outs @ ..] = red {
            let len = count(*len)?;
            if len == 0 {
                return Err(ERR_FIELD);
            }
            for r in outs.chunks_exact(3) {
                let reg = count(r[0])?;
                let dtype = if reg < nin {
                    f[4 + 4 * reg + 1]
                } else if reg < nin + ntmp {
                    f[temps_at + 2 * (reg - nin)]
                } else {
                    return Err(ERR_FIELD);
                };
                let values = if r[1] == COLUMN_SUM { len } else { n / len };
                self.makes(r[2], values, width(dtype)?)?;
            }
        }
        Ok(())
    }
}
