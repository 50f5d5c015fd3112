//! A one-call executor for a recorded program (the `jit` tape).
//!
//! Why: replaying a small program from TypeScript costs ~1 µs of dispatch per
//! equation (argument checks, scratch writes, a `Storage` per result), which
//! dominates workloads of a few dozen tiny kernels. Here the TypeScript side
//! compiles the program once into an i32 instruction stream and then runs
//! it with one call: every kernel launch, allocation and free of an
//! intermediate happens inside WebAssembly.
//!
//! Buffers are named by *slots*, indices into a table of pointers (`usize`,
//! so u32 on wasm32) that the caller owns. The caller writes the inputs' and
//! constants' pointers, leaves every other slot 0, and after a successful
//! run owns the pointers left in the output slots (each allocated with
//! [`crate::alloc::alloc`] for exactly the bytes its instruction implies).
//! Aliases (reshape, stopGradient) never reach this stream: the compiler maps
//! them to the slot of their operand.
//!
//! Stream layout: `[MAGIC, nslots, instr...]`; each instruction is
//! `[opcode, len, fields...]` with `len` counting the whole instruction.
//! Shapes and strides sit inline in the same layout the kernel exports read
//! from their `meta` scratch area, so the executor passes a pointer into the
//! stream and calls those same exports (no kernel is duplicated here).
//!
//! Nothing traps on a malformed stream: a bad slot, an empty input slot, an
//! occupied output slot, a truncated instruction, an unknown opcode or an
//! allocation failure stop the run with a nonzero status. Pointers left in
//! slots (outputs and not-yet-freed intermediates) stay the caller's to free.
//! What cannot be checked is whether a pointer refers to a buffer large
//! enough for the sizes in the stream; that is the compiler's contract, as
//! for every kernel export.

use crate::alloc::{alloc, free};
use crate::elementwise::{binary_f32, binary_f64, unary_f32, unary_f64, where_f32, where_f64};
use crate::gemm::{matmul_f32, matmul_f64};
use crate::layout::{cast, copy_into_4, copy_into_8, copy_strided_4, copy_strided_8};
use crate::layout::{fill_f32, fill_f64, fill_i32};
use crate::nd::{read_i32s, MAX_RANK};
use crate::reduce::{reduce_f32, reduce_f64};
use wasm_bindgen::prelude::*;

/// First word of every stream ("JPRG"), so a stray pointer is rejected.
pub const MAGIC: i32 = 0x4a50_5247;

/// `[dtype, op, out, x, n]`
pub const OP_UNARY: i32 = 1;
/// `[dtype, op, out, a, b, n, rank, shape, a_strides, b_strides]`
pub const OP_BINARY: i32 = 2;
/// `[dtype, out, cond, a, b, n, rank, shape, c_strides, a_strides, b_strides]`
pub const OP_WHERE: i32 = 3;
/// `[dtype, op, out, x, nout, rank, nred, shape(kept, reduced), strides]`
pub const OP_REDUCE: i32 = 4;
/// `[dtype, out, x, offset, n, rank, shape, strides]` (offset in elements)
pub const OP_COPY_STRIDED: i32 = 5;
/// `[dtype, out, n]`: a new buffer of zeros.
pub const OP_ZEROS: i32 = 6;
/// `[dtype, dst, src, dst_offset, n, rank, shape, dst_strides]` (no allocation)
pub const OP_COPY_INTO: i32 = 7;
/// `[from, to, out, x, n]`
pub const OP_CAST: i32 = 8;
/// `[dtype, out, a, b, batch, m, n, k, trans_a, trans_b, a_stride, b_stride]`
pub const OP_MATMUL: i32 = 9;
/// `[slot, bytes]`: frees the slot's buffer and empties the slot.
pub const OP_FREE: i32 = 10;

/// Status codes (0 = success).
pub const ERR_HEADER: i32 = 1;
pub const ERR_TRUNCATED: i32 = 2;
pub const ERR_OPCODE: i32 = 3;
pub const ERR_SLOT: i32 = 4;
pub const ERR_EMPTY: i32 = 5;
pub const ERR_OCCUPIED: i32 = 6;
pub const ERR_FIELD: i32 = 7;
pub const ERR_OOM: i32 = 8;

const F32: i32 = 0;
const F64: i32 = 1;
const I32: i32 = 2;

struct Exec<'a> {
    code: &'a [i32],
    /// Byte address of `code[0]` (inline metadata is passed by address).
    base: usize,
    slots: *mut usize,
    nslots: usize,
}

type R<T> = Result<T, i32>;

fn count(v: i32) -> R<usize> {
    usize::try_from(v).map_err(|_| ERR_FIELD)
}

fn width(dtype: i32) -> R<usize> {
    match dtype {
        F32 | I32 => Ok(4),
        F64 => Ok(8),
        _ => Err(ERR_FIELD),
    }
}

fn float64(dtype: i32) -> R<bool> {
    match dtype {
        F32 => Ok(false),
        F64 => Ok(true),
        _ => Err(ERR_FIELD),
    }
}

fn rank(v: i32) -> R<usize> {
    let r = count(v)?;
    if r > MAX_RANK {
        return Err(ERR_FIELD);
    }
    Ok(r)
}

/// Checks that `f` holds exactly `fixed + per_dim * rank` fields.
fn expect(f: &[i32], fixed: usize, per_dim: usize, rank: usize) -> R<()> {
    if f.len() != fixed + per_dim * rank {
        return Err(ERR_TRUNCATED);
    }
    Ok(())
}

impl Exec<'_> {
    fn slot(&self, s: i32) -> R<*mut usize> {
        let i = count(s).map_err(|_| ERR_SLOT)?;
        if i >= self.nslots {
            return Err(ERR_SLOT);
        }
        Ok(unsafe { self.slots.add(i) })
    }

    /// The buffer in slot `s` (which must hold one).
    fn input(&self, s: i32) -> R<usize> {
        let p = unsafe { *self.slot(s)? };
        if p == 0 {
            return Err(ERR_EMPTY);
        }
        Ok(p)
    }

    /// Allocates `n` elements of `w` bytes into the empty slot `s`.
    fn output(&self, s: i32, n: usize, w: usize) -> R<usize> {
        let at = self.slot(s)?;
        if unsafe { *at } != 0 {
            return Err(ERR_OCCUPIED);
        }
        let bytes = n.checked_mul(w).ok_or(ERR_OOM)?;
        let p = alloc(bytes);
        if p == 0 {
            return Err(ERR_OOM);
        }
        unsafe { *at = p };
        Ok(p)
    }

    /// Address of the metadata starting at field `i` of the instruction at `pc`.
    fn meta(&self, pc: usize, i: usize) -> usize {
        self.base + (pc + 2 + i) * 4
    }

    fn run(&self) -> R<()> {
        let mut pc = 2;
        while pc < self.code.len() {
            if pc + 2 > self.code.len() {
                return Err(ERR_TRUNCATED);
            }
            let len = count(self.code[pc + 1]).map_err(|_| ERR_TRUNCATED)?;
            if len < 2 || len > self.code.len() - pc {
                return Err(ERR_TRUNCATED);
            }
            self.step(pc, self.code[pc], &self.code[pc + 2..pc + len])?;
            pc += len;
        }
        Ok(())
    }

    fn step(&self, pc: usize, op: i32, f: &[i32]) -> R<()> {
        let field = |i: usize| f.get(i).copied().ok_or(ERR_TRUNCATED);
        match op {
            OP_UNARY => {
                expect(f, 5, 0, 0)?;
                let (f64_, k, n) = (float64(f[0])?, f[1], count(f[4])?);
                if !(0..=13).contains(&k) {
                    return Err(ERR_FIELD);
                }
                let x = self.input(f[3])?;
                let o = self.output(f[2], n, if f64_ { 8 } else { 4 })?;
                if n > 0 {
                    (if f64_ { unary_f64 } else { unary_f32 })(k as u32, x, o, n);
                }
            }
            OP_BINARY => {
                let r = rank(field(6)?)?;
                expect(f, 7, 3, r)?;
                let (f64_, k, n) = (float64(f[0])?, f[1], count(f[5])?);
                if !(0..=12).contains(&k) {
                    return Err(ERR_FIELD);
                }
                let (a, b) = (self.input(f[3])?, self.input(f[4])?);
                let o = self.output(f[2], n, if f64_ { 8 } else { 4 })?;
                if n > 0 {
                    let g = if f64_ { binary_f64 } else { binary_f32 };
                    g(k as u32, a, b, o, r, self.meta(pc, 7));
                }
            }
            OP_WHERE => {
                let r = rank(field(6)?)?;
                expect(f, 7, 4, r)?;
                let (f64_, n) = (float64(f[0])?, count(f[5])?);
                let (c, a, b) = (self.input(f[2])?, self.input(f[3])?, self.input(f[4])?);
                let o = self.output(f[1], n, if f64_ { 8 } else { 4 })?;
                if n > 0 {
                    let g = if f64_ { where_f64 } else { where_f32 };
                    g(c, a, b, o, r, self.meta(pc, 7));
                }
            }
            OP_REDUCE => {
                let r = rank(field(5)?)?;
                expect(f, 7, 2, r)?;
                let (f64_, k, nout, nred) = (float64(f[0])?, f[1], count(f[4])?, count(f[6])?);
                if !(0..=3).contains(&k) || nred > r {
                    return Err(ERR_FIELD);
                }
                let x = self.input(f[3])?;
                let o = self.output(f[2], nout, if f64_ { 8 } else { 4 })?;
                if nout > 0 {
                    let g = if f64_ { reduce_f64 } else { reduce_f32 };
                    g(k as u32, x, o, r, nred, self.meta(pc, 7));
                }
            }
            OP_COPY_STRIDED => {
                let r = rank(field(5)?)?;
                expect(f, 6, 2, r)?;
                let (w, n) = (width(f[0])?, count(f[4])?);
                let x = self.input(f[2])?;
                let src = (x as isize + f[3] as isize * w as isize) as usize;
                let o = self.output(f[1], n, w)?;
                if n > 0 {
                    let g = if w == 8 {
                        copy_strided_8
                    } else {
                        copy_strided_4
                    };
                    g(src, o, r, self.meta(pc, 6));
                }
            }
            OP_ZEROS => {
                expect(f, 3, 0, 0)?;
                let n = count(f[2])?;
                let o = self.output(f[1], n, width(f[0])?)?;
                match f[0] {
                    F32 => fill_f32(o, n, 0.0),
                    F64 => fill_f64(o, n, 0.0),
                    _ => fill_i32(o, n, 0),
                }
            }
            OP_COPY_INTO => {
                let r = rank(field(5)?)?;
                expect(f, 6, 2, r)?;
                let (w, n) = (width(f[0])?, count(f[4])?);
                let (dst, src) = (self.input(f[1])?, self.input(f[2])?);
                let at = (dst as isize + f[3] as isize * w as isize) as usize;
                if n > 0 {
                    let g = if w == 8 { copy_into_8 } else { copy_into_4 };
                    g(src, at, r, self.meta(pc, 6));
                }
            }
            OP_CAST => {
                expect(f, 5, 0, 0)?;
                let (from, to, n) = (f[0], f[1], count(f[4])?);
                width(from)?;
                let x = self.input(f[3])?;
                let o = self.output(f[2], n, width(to)?)?;
                if n > 0 {
                    cast(x, from as u32, o, to as u32, n);
                }
            }
            OP_MATMUL => {
                expect(f, 12, 0, 0)?;
                let f64_ = float64(f[0])?;
                let (batch, m, n, k) = (count(f[4])?, count(f[5])?, count(f[6])?, count(f[7])?);
                let (sa, sb) = (count(f[10])?, count(f[11])?);
                let (a, b) = (self.input(f[2])?, self.input(f[3])?);
                let size = batch
                    .checked_mul(m)
                    .and_then(|v| v.checked_mul(n))
                    .ok_or(ERR_OOM)?;
                let o = self.output(f[1], size, if f64_ { 8 } else { 4 })?;
                if size > 0 {
                    let g = if f64_ { matmul_f64 } else { matmul_f32 };
                    if g(a, b, o, batch, m, n, k, f[8] != 0, f[9] != 0, sa, sb) != 0 {
                        return Err(ERR_OOM);
                    }
                }
            }
            OP_FREE => {
                expect(f, 2, 0, 0)?;
                let p = self.input(f[0])?;
                free(p, count(f[1])?);
                unsafe { *self.slot(f[0])? = 0 };
            }
            _ => return Err(ERR_OPCODE),
        }
        Ok(())
    }
}

/// Runs the instruction stream of `code_len` i32 at `code` over the slot
/// table at `slots` (see the module doc). Returns 0, or an `ERR_*` status
/// with the slots as they were when the run stopped.
#[wasm_bindgen]
pub fn run_program(code: usize, code_len: usize, slots: usize) -> i32 {
    if code == 0 || slots == 0 || code_len < 2 {
        return ERR_HEADER;
    }
    let words = unsafe { read_i32s(code, code_len) };
    if words[0] != MAGIC || words[1] < 0 {
        return ERR_HEADER;
    }
    let exec = Exec {
        code: words,
        base: code,
        slots: slots as *mut usize,
        nslots: words[1] as usize,
    };
    match exec.run() {
        Ok(()) => 0,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &[i32], slots: &mut [usize]) -> i32 {
        run_program(
            code.as_ptr() as usize,
            code.len(),
            slots.as_mut_ptr() as usize,
        )
    }

    fn read<T: Copy>(p: usize, n: usize) -> Vec<T> {
        unsafe { core::slice::from_raw_parts(p as *const T, n).to_vec() }
    }

    #[test]
    fn runs_a_chain_and_frees_intermediates() {
        // y = sum(sin(x) * x, axis 1) on x: [2, 3] f64; then y as f32.
        let x: Vec<f64> = (0..6).map(|i| i as f64 * 0.5).collect();
        let mut slots = vec![0usize; 5];
        slots[0] = x.as_ptr() as usize;
        #[rustfmt::skip]
        let code = [
            MAGIC, 5,
            OP_UNARY, 7, F64, 5 /* sin */, 1, 0, 6,
            OP_BINARY, 12, F64, 2 /* mul */, 2, 1, 0, 6, 1, 6, 1, 1,
            OP_FREE, 4, 1, 48,
            OP_REDUCE, 13, F64, 0 /* sum */, 3, 2, 2, 2, 1, 2, 3, 3, 1,
            OP_FREE, 4, 2, 48,
            OP_CAST, 7, F64, F32, 4, 3, 2,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!((slots[1], slots[2]), (0, 0));
        let y: Vec<f64> = read(slots[3], 2);
        for r in 0..2 {
            let want: f64 = (0..3).map(|c| x[r * 3 + c].sin() * x[r * 3 + c]).sum();
            assert!((y[r] - want).abs() < 1e-12);
        }
        let y32: Vec<f32> = read(slots[4], 2);
        assert_eq!(y32, vec![y[0] as f32, y[1] as f32]);
        free(slots[3], 16);
        free(slots[4], 8);
    }

    #[test]
    fn pads_transposes_and_multiplies() {
        // a: [2, 2] f32; pad to [2, 3] (column 0 zero), permute to [3, 2],
        // then a^T-free matmul [2,3]@[3,2].
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let mut slots = vec![0usize; 4];
        slots[0] = a.as_ptr() as usize;
        #[rustfmt::skip]
        let code = [
            MAGIC, 4,
            OP_ZEROS, 5, F32, 1, 6,
            OP_COPY_INTO, 12, F32, 1, 0, 1, 4, 2, 2, 2, 3, 1,
            OP_COPY_STRIDED, 12, F32, 2, 1, 0, 6, 2, 3, 2, 1, 3,
            OP_MATMUL, 14, F32, 3, 1, 2, 1, 2, 2, 3, 0, 0, 0, 0,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!(read::<f32>(slots[1], 6), vec![0.0, 1.0, 2.0, 0.0, 3.0, 4.0]);
        assert_eq!(read::<f32>(slots[2], 6), vec![0.0, 0.0, 1.0, 3.0, 2.0, 4.0]);
        // p @ p^T = [[5, 11], [11, 25]]
        assert_eq!(read::<f32>(slots[3], 4), vec![5.0, 11.0, 11.0, 25.0]);
        free(slots[1], 24);
        free(slots[2], 24);
        free(slots[3], 16);
    }

    #[test]
    fn malformed_streams_fail_with_a_status() {
        let x = [1.0f64, 2.0];
        let mut slots = vec![x.as_ptr() as usize, 0];
        let unary = |out: i32, src: i32| [MAGIC, 2, OP_UNARY, 7, F64, 0, out, src, 2];
        assert_eq!(run(&unary(1, 7), &mut slots), ERR_SLOT);
        assert_eq!(run(&unary(-1, 0), &mut slots), ERR_SLOT);
        assert_eq!(run(&unary(0, 1), &mut slots), ERR_EMPTY);
        assert_eq!(run(&unary(0, 0), &mut slots), ERR_OCCUPIED);
        assert_eq!(run(&[MAGIC, 2, 99, 2], &mut slots), ERR_OPCODE);
        assert_eq!(
            run(&[MAGIC, 2, OP_UNARY, 9, F64], &mut slots),
            ERR_TRUNCATED
        );
        assert_eq!(run(&[MAGIC, 2, OP_UNARY, 1], &mut slots), ERR_TRUNCATED);
        assert_eq!(
            run(
                &[MAGIC, 2, OP_BINARY, 9, F64, 0, 1, 0, 0, 2, 99],
                &mut slots
            ),
            ERR_FIELD
        );
        assert_eq!(run(&[MAGIC, 2, OP_FREE, 4, 1, 16], &mut slots), ERR_EMPTY);
        assert_eq!(run(&[7, 2], &mut slots), ERR_HEADER);
        assert_eq!(run_program(0, 2, slots.as_mut_ptr() as usize), ERR_HEADER);
        assert_eq!(slots, vec![x.as_ptr() as usize, 0]);
        // An empty program is fine.
        assert_eq!(run(&[MAGIC, 2], &mut slots), 0);
    }
}
