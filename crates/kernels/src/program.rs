//! The executor behind every kernel launch: eager operations and whole
//! `jit` programs alike are lowered (src/core/lowering.ts) into an i32
//! instruction stream that this module runs in one call.
//!
//! Why: replaying a small program from TypeScript costs ~1 µs of dispatch per
//! equation (argument checks, scratch writes, a `Storage` per result), which
//! dominates workloads of a few dozen tiny kernels. Here the TypeScript side
//! compiles the program once into an i32 instruction stream and then runs
//! it with one call: every kernel launch, allocation and free of an
//! intermediate happens inside WebAssembly. An eager operation is a stream
//! of one equation (a few instructions), so both paths share one lowering.
//!
//! Buffers are named by *slots*, indices into a table of pointers (`usize`,
//! so u32 on wasm32) that the caller owns. The caller writes the inputs' and
//! constants' pointers, leaves every other slot 0, and after a successful
//! run owns the pointers left in the output slots (each allocated with
//! [`crate::alloc::alloc`] for exactly the bytes its instruction implies).
//! Aliases (reshape, stopGradient) never reach this stream: the compiler maps
//! them to the slot of their operand.
//!
//! Stream layout: `[MAGIC, nslots, instr..., sizes]`; each instruction is
//! `[opcode, len, fields...]` with `len` counting the whole instruction,
//! and the last one is always `OP_SIZES`.
//! Shapes and strides sit inline in the same layout the kernel exports read
//! from their `meta` scratch area, so the executor passes a pointer into the
//! stream and calls those same exports (no kernel is duplicated here).
//!
//! Nothing traps on a malformed stream: a bad slot, an empty input slot, an
//! occupied output slot, a truncated instruction, an unknown opcode or an
//! allocation failure stop the run with a nonzero status. Pointers left in
//! slots (outputs and not-yet-freed intermediates) stay the caller's to free.
//! Every slot has a size: the one `OP_SIZES` states for a buffer the caller
//! puts in the table (it guarantees that many bytes), the one an
//! instruction allocates for a buffer the executor makes. Before each
//! instruction runs, program/bounds.rs computes from its fields how many
//! bytes it reads of each buffer and writes of each new one, and a stream
//! whose fields disagree with a slot's size stops with `ERR_BOUNDS`: a
//! compiler bug becomes an error, not a corrupted heap.
//!
//! The TypeScript constants (src/backend/wasm/program_codes.ts) are generated
//! by scripts/gen_program_codes.ts from this file (the `OP_*` and `ERR_*`
//! constants, an error's doc line being its message, and [`DTYPES`]) and from
//! the op tables beside the kernels' op codes, which name the primitive each
//! code implements: [`UNARY_OPS`] and [`BINARY_OPS`] (elementwise.rs),
//! [`REDUCE_OPS`] (reduce.rs).

use crate::alloc::{alloc, free};
use crate::conv::{self, Geom, Mode};
use crate::elementwise::{binary_f32, binary_f64, unary_f32, unary_f64, BINARY_OPS, UNARY_OPS};
use crate::elementwise::{where_f32, where_f64, ISFINITE, ISNAN};
use crate::gemm::{matmul_add, matmul_f32, matmul_f64};
use crate::int::{self, binary_i32, matmul_i32, reduce_i32, unary_i32};
use crate::layout::{cast, copy_into_4, copy_into_8, copy_strided_4, copy_strided_8};
use crate::layout::{fill_f32, fill_f64, fill_i32};
use crate::layout::{index_add_f32, index_add_f64, index_add_i32, index_select_4, index_select_8};
use crate::linalg;
use crate::mem;
use crate::nd::{read_i32s, MAX_RANK};
use crate::random::{self, RANDOM_DISTS, RANDOM_DOMAINS};
use crate::reduce::{argreduce_f32, argreduce_f64, reduce_f32, reduce_f64, REDUCE_OPS};
use wasm_bindgen::prelude::*;

/// First word of every stream ("JPRG"), so a stray pointer is rejected.
pub const MAGIC: i32 = 0x4a50_5247;

/// `[dtype, op, out, x, n]` (op: a code of [`UNARY_OPS`]); `isnan` and
/// `isfinite` write bool, every other op the operand's dtype.
pub const OP_UNARY: i32 = 1;
/// `[dtype, op, out, a, b, n, rank, shape, a_strides, b_strides]` (op:
/// [`BINARY_OPS`]; dtype: the operands'); comparisons write bool, every
/// other op the operands' dtype. Fails with `ERR_DIV_BY_ZERO` for an int32
/// fmod or remainder by 0.
pub const OP_BINARY: i32 = 2;
/// `[dtype, out, cond, a, b, n, rank, shape, c_strides, a_strides, b_strides]`;
/// any dtype; `cond` is f64 for F64 branches, else f32 or bool (i32 0/1,
/// whose 1 reads as a nonzero f32 subnormal); i32 values only move.
pub const OP_WHERE: i32 = 3;
/// `[dtype, op, out, x, nout, rank, nred, shape(kept, reduced), strides]` (op: [`REDUCE_OPS`])
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
/// `[dtype, is_max, out, x, outer, len, inner]`: argmax/argmin of x viewed as
/// `[outer, len, inner]` along `len`; out is i32 `[outer, inner]`.
pub const OP_ARG_REDUCE: i32 = 11;
/// `[dtype, out, x, index, outer, dim, inner, nidx]`: `out[a, j, c] =
/// x[a, index[j], c]` with x `[outer, dim, inner]`; index is i32 `[nidx]`.
pub const OP_INDEX_SELECT: i32 = 12;
/// `[dtype, out, src, index, outer, dim, inner, nidx]`: `out = zeros([outer,
/// dim, inner]); out[a, index[j], c] += src[a, j, c]`.
pub const OP_INDEX_ADD: i32 = 13;
/// `[dtype, out, a, batch, n]`: lower Cholesky factors of the symmetric
/// parts (A + Aᵀ)/2 of `a`; fails with `ERR_NOT_POSITIVE_DEFINITE`.
pub const OP_CHOLESKY: i32 = 14;
/// `[dtype, out, a, b, batch, n, k, upper, unit, a_stride, b_stride]`:
/// `out = A⁻¹ B` for triangular A `[n, n]`, B `[n, k]` (strides: matmul's).
pub const OP_TRIANGULAR_SOLVE: i32 = 15;
/// `[dtype, out, a, b, batch, n, k, a_stride, b_stride]`: `out = A⁻¹ B` by
/// LU with partial pivoting; fails with `ERR_SINGULAR`.
pub const OP_SOLVE: i32 = 16;
/// `[dtype, out, a, batch, n]`: `out [batch, 2]` = sign and log|det| of a.
pub const OP_SLOGDET: i32 = 17;
/// `[dtype, out, a, batch, n]`: `out [batch, n + 1, n]`: eigenvalues of the
/// symmetric parts of `a` (row 0, ascending) above their eigenvectors (columns).
pub const OP_EIGH: i32 = 18;
/// `[dtype, out, a, batch, m, n]` (m ≥ n): `out [batch, m + n, n]`: the
/// reduced Q (rows 0..m) above R (rows m..m+n), R's diagonal ≥ 0.
pub const OP_QR: i32 = 19;
/// `[dtype, out, a, batch, n]`: `out [batch, n + 1, n]`: the row permutation
/// (row 0) above the packed LU factors of the permuted matrix.
pub const OP_LU: i32 = 20;
/// `[dtype, dist, out, keys, nkeys, n]`: `n` samples of each of `nkeys`
/// keys (i32 word pairs), `out [nkeys, n]`; dist: a code of [`RANDOM_DISTS`]
/// (a permutation's dtype is i32).
pub const OP_RANDOM: i32 = 21;
/// `[domain, out, keys, data, n]`: `n` new keys (i32 word pairs) hashed
/// from `n` keys and `n` data word pairs; domain: [`RANDOM_DOMAINS`].
pub const OP_RANDOM_DERIVE: i32 = 22;
/// `[count, reverse, body_len]`: runs the `body_len` words of instructions
/// that follow `count` times (a scan's loop), with step index 0..count
/// (count-1..0 when `reverse` is 1) for `OP_LOOP_READ`/`OP_LOOP_WRITE`.
pub const OP_LOOP: i32 = 23;
/// `[dtype, out, x, n]`: `out` = elements `[i n, (i + 1) n)` of `x`, where i
/// is the step index of the innermost running loop.
pub const OP_LOOP_READ: i32 = 24;
/// `[dtype, dst, x, n]`: elements `[i n, (i + 1) n)` of `dst` = `x` (i as
/// for `OP_LOOP_READ`).
pub const OP_LOOP_WRITE: i32 = 25;
/// `[dst, src]`: moves the buffer of slot `src` into the empty slot `dst`.
pub const OP_MOVE: i32 = 26;
/// `[index, dtype, count, len_0, .., len_{count-1}]`: runs one of the
/// `count` instruction blocks that follow (`len_j` words each): block i for
/// the rank-0 value i of `dtype` in slot `index`, truncated toward zero and
/// clamped to the blocks (NaN picks block 0).
pub const OP_COND: i32 = 27;
/// `[pred, dtype, cond_len, body_len]`: runs the `cond_len` words that
/// follow, which leave a rank-0 value of `dtype` in slot `pred`, reads and
/// frees it, and unless it is 0 runs the `body_len` words after them and
/// repeats.
pub const OP_WHILE: i32 = 28;
/// `[dtype, mode, out, a, b, n, c, o, groups, nd, in, k, out, stride, lo,
/// dilation]` (the last six `nd` each, nd ≤ 3): a convolution
/// (crates/kernels/src/conv.rs), mode 0 `(x, w) → y`, 1 `(gy, w) → x`,
/// 2 `(x, gy) → w`, with x `[n, c, *in]`, w `[o, c/groups, *k]`, y `[n, o, *out]`.
pub const OP_CONV: i32 = 29;
/// `[dtype, indices, out, x, planes, nd, in, k, out, stride, lo, dilation]`:
/// max pooling of `[planes, *in]`: the maxima, or (indices 1) their i32 flat
/// positions within the plane.
pub const OP_MAX_POOL: i32 = 30;
/// `[dtype, descending, out, x, outer, len, inner]`: stable argsort of x
/// viewed as `[outer, len, inner]` along `len`; out is i32 of the same shape.
pub const OP_ARGSORT: i32 = 31;
/// `[dtype, out, a, batch, m, n]` (m ≥ n): `out [batch, m + 1 + n, n]`: the
/// reduced U (rows 0..m), the singular values (row m, descending) and Vᵀ.
pub const OP_SVD: i32 = 32;
/// `[n, nin, ntmp, nsteps, ...]`: a group of elementwise steps over `n`
/// elements run block by block (layout: program/fused.rs).
pub const OP_FUSED: i32 = 33;
/// `[dtype, a, b, batch, m, n, k, trans_a, trans_b, a_stride, b_stride,
/// fused...]`: a float matmul (fields as `OP_MATMUL`'s, less `out`) whose
/// product is read only by the `OP_FUSED` instruction `fused...` (with
/// `n` = batch·m·n, the product as its inputs of slot −1): the steps run
/// on each block of the product as the GEMM finishes it, and the product
/// itself is never an output (layout: program/epilogue.rs).
pub const OP_MATMUL_FUSED: i32 = 34;
/// `[slot, bytes, offset × nslots]`: each slot with an offset ≥ 0 (a
/// multiple of 16, at most `bytes`) lives at that byte offset of the block
/// of `bytes` in input slot `slot` (a compiled program's arena, laid out by
/// liveness) instead of being allocated: an instruction writing it places
/// its result there, and `OP_FREE` only empties it; −1 leaves a slot as
/// usual. At most once per run, before any placed slot is written.
pub const OP_ARENA: i32 = 35;
/// `[len, nred, (reg, op, out) × nred, fused...]`: an `OP_FUSED` group
/// (its fields follow) whose registers `reg` are also reduced over rows of
/// `len` elements in the same pass (op: [`REDUCE_OPS`]), into new buffers
/// `out` of n / len elements, or summed across the rows into `len`
/// elements when op is [`COLUMN_SUM`] (layout: program/fused.rs).
pub const OP_FUSED_REDUCE: i32 = 36;
/// The op of an `OP_FUSED_REDUCE` reduction that sums its register across
/// the rows (column by column: a sum over leading axes, such as a bias
/// gradient) instead of within each row.
pub const COLUMN_SUM: i32 = 16;
/// `[dtype, out, a, b, batch, m, n, k, trans_a, trans_b, a_stride,
/// b_stride, x]`: a float `OP_MATMUL` plus `x` (a buffer of the product's
/// shape and dtype): `out = x + a·b`, the same bits as the product then an
/// `add`, in one instruction (small products in one pass).
pub const OP_MATMUL_ADD: i32 = 37;
/// `[bytes × nslots]`: the last instruction of every stream, which never
/// runs: the size of the buffer the caller puts in each slot (an input, a
/// constant, an arena), which reads of it are checked against. The sizes of
/// slots the executor fills are what it allocates (any value here).
pub const OP_SIZES: i32 = 38;

mod bounds;
mod epilogue;
mod fused;
mod split;

// Status codes (0 = success). The doc line of each is its message.
/// bad stream header
pub const ERR_HEADER: i32 = 1;
/// truncated instruction
pub const ERR_TRUNCATED: i32 = 2;
/// unknown opcode
pub const ERR_OPCODE: i32 = 3;
/// slot out of range
pub const ERR_SLOT: i32 = 4;
/// read of an empty slot
pub const ERR_EMPTY: i32 = 5;
/// write to an occupied slot
pub const ERR_OCCUPIED: i32 = 6;
/// invalid field
pub const ERR_FIELD: i32 = 7;
/// out of WebAssembly memory
pub const ERR_OOM: i32 = 8;
/// index out of range
pub const ERR_INDEX: i32 = 9;
/// matrix is not positive definite
pub const ERR_NOT_POSITIVE_DEFINITE: i32 = 10;
/// matrix is singular
pub const ERR_SINGULAR: i32 = 11;
/// integer division by zero
pub const ERR_DIV_BY_ZERO: i32 = 12;
/// an instruction reaches past the end of a buffer
pub const ERR_BOUNDS: i32 = 13;

const F32: i32 = 0;
const F64: i32 = 1;
const I32: i32 = 2;
/// Stored as i32 0/1: every instruction but a cast moves it as int32.
const BOOL: i32 = 3;

/// Dtype codes by TypeScript dtype name (the `cast` export's codes too).
pub const DTYPES: &[(&str, i32)] = &[
    ("float32", F32),
    ("float64", F64),
    ("int32", I32),
    ("bool", BOOL),
];

/// The op code `k` if `table` has it.
fn op_in(table: &[(&str, u32)], k: i32) -> R<u32> {
    let k = u32::try_from(k).map_err(|_| ERR_FIELD)?;
    if table.iter().any(|&(_, c)| c == k) {
        Ok(k)
    } else {
        Err(ERR_FIELD)
    }
}

struct Exec<'a> {
    code: &'a [i32],
    /// Byte address of `code[0]` (inline metadata is passed by address).
    base: usize,
    slots: *mut usize,
    nslots: usize,
    /// Bytes of the buffer in each slot (0 while empty).
    sizes: &'a [core::cell::Cell<usize>],
    /// Whether instructions are checked against `sizes` and `sizes` kept
    /// (off for the later steps of a loop whose first step showed that
    /// every step sees the same sizes: see `OP_LOOP` in `run_range`).
    checking: core::cell::Cell<bool>,
    /// The step index of the innermost running loop.
    index: core::cell::Cell<Option<usize>>,
    /// That loop's last step index (the bounds of its stacked reads and
    /// writes are checked for it, which covers every step).
    last: core::cell::Cell<usize>,
    /// From `OP_ARENA`: the arena's address and bytes, and the index in
    /// `code` of its per-slot offsets.
    arena: core::cell::OnceCell<(usize, usize, usize)>,
}

type R<T> = Result<T, i32>;

/// A failed instruction's status and details (for `ERR_INDEX`: the position
/// in the index, the value there, and the size of the indexed dimension;
/// for `ERR_NOT_POSITIVE_DEFINITE` and `ERR_SINGULAR`: the matrix's index in
/// the batch, the failing pivot and the order n).
struct Fail(i32, [i32; 3]);

impl From<i32> for Fail {
    fn from(status: i32) -> Self {
        Fail(status, [0; 3])
    }
}

fn count(v: i32) -> R<usize> {
    usize::try_from(v).map_err(|_| ERR_FIELD)
}

fn width(dtype: i32) -> R<usize> {
    match dtype {
        F32 | I32 | BOOL => Ok(4),
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

/// The kernel family of a dtype: f32, f64 or i32 (bool computes as i32).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    F32,
    F64,
    I32,
}

fn kind(dtype: i32) -> R<Kind> {
    match dtype {
        F32 => Ok(Kind::F32),
        F64 => Ok(Kind::F64),
        I32 | BOOL => Ok(Kind::I32),
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
    fn index(&self, s: i32) -> R<usize> {
        let i = count(s).map_err(|_| ERR_SLOT)?;
        if i >= self.nslots {
            return Err(ERR_SLOT);
        }
        Ok(i)
    }

    fn slot(&self, s: i32) -> R<*mut usize> {
        Ok(unsafe { self.slots.add(self.index(s)?) })
    }

    /// The buffer in slot `s` (which must hold one).
    fn input(&self, s: i32) -> R<usize> {
        let p = unsafe { *self.slot(s)? };
        if p == 0 {
            return Err(ERR_EMPTY);
        }
        Ok(p)
    }

    /// The rank-0 value of `dtype` in slot `s`, as f64.
    fn scalar(&self, s: i32, dtype: i32) -> R<f64> {
        let p = self.input(s)?;
        Ok(unsafe {
            match dtype {
                F32 => *(p as *const f32) as f64,
                F64 => *(p as *const f64),
                I32 | BOOL => *(p as *const i32) as f64,
                _ => return Err(ERR_FIELD),
            }
        })
    }

    /// The arena address of slot `s` and the bytes from there to the
    /// arena's end, if `OP_ARENA` placed it.
    fn home(&self, s: i32) -> R<Option<(usize, usize)>> {
        let Some(&(base, bytes, at)) = self.arena.get() else {
            return Ok(None);
        };
        let i = count(s).map_err(|_| ERR_SLOT)?;
        let off = *self.code.get(at + i).ok_or(ERR_SLOT)?;
        if off < 0 {
            return Ok(None);
        }
        let off = off as usize;
        if off > bytes || !off.is_multiple_of(16) {
            return Err(ERR_FIELD);
        }
        Ok(Some((base + off, bytes - off)))
    }

    /// Allocates `n` elements of `w` bytes into the empty slot `s` (or
    /// places them at its arena offset).
    fn output(&self, s: i32, n: usize, w: usize) -> R<usize> {
        let at = self.slot(s)?;
        let held = unsafe { *at };
        let bytes = n.checked_mul(w).ok_or(ERR_OOM)?;
        if let Some((p, room)) = self.home(s)? {
            // An arena slot may still hold its own address: the compiler
            // leaves out frees that would only empty it.
            if held != 0 && held != p {
                return Err(ERR_OCCUPIED);
            }
            if bytes > room {
                return Err(ERR_FIELD);
            }
            unsafe { *at = p };
            return Ok(p);
        }
        if held != 0 {
            return Err(ERR_OCCUPIED);
        }
        let p = alloc(bytes);
        if p == 0 {
            return Err(ERR_OOM);
        }
        unsafe { *at = p };
        Ok(p)
    }

    /// Frees the buffer of slot `s` (`bytes` long) and empties the slot; an
    /// arena slot is only emptied.
    fn release(&self, s: i32, bytes: usize) -> R<()> {
        let p = self.input(s)?;
        if self.home(s)?.is_none() {
            free(p, bytes);
        }
        unsafe { *self.slot(s)? = 0 };
        Ok(())
    }

    /// Takes the placements of the `OP_ARENA` instruction at `pc` (its
    /// offsets stay in the stream and are checked when used).
    fn place(&self, pc: usize, f: &[i32]) -> R<()> {
        expect(f, 2 + self.nslots, 0, 0)?;
        let (base, bytes) = (self.input(f[0])?, count(f[1])?);
        self.arena.set((base, bytes, pc + 4)).map_err(|_| ERR_FIELD)
    }

    /// Address of the metadata starting at field `i` of the instruction at `pc`.
    fn meta(&self, pc: usize, i: usize) -> usize {
        self.base + (pc + 2 + i) * 4
    }

    /// Runs every instruction; on failure, the word offset of the one that
    /// failed and why.
    fn run(&self) -> Result<(), (usize, Fail)> {
        self.run_range(2, self.code.len())
    }

    /// Runs the instructions in words `[start, end)`.
    fn run_range(&self, start: usize, end: usize) -> Result<(), (usize, Fail)> {
        let mut pc = start;
        while pc < end {
            let at = |e: i32| (pc, Fail::from(e));
            if pc + 2 > end {
                return Err(at(ERR_TRUNCATED));
            }
            let len = count(self.code[pc + 1]).map_err(|_| at(ERR_TRUNCATED))?;
            if len < 2 || len > end - pc {
                return Err(at(ERR_TRUNCATED));
            }
            if self.code[pc] == OP_COND || self.code[pc] == OP_WHILE {
                let f = &self.code[pc + 2..pc + len];
                let from = pc + len;
                let fixed = if self.code[pc] == OP_COND { 3 } else { 2 };
                if f.len() < fixed {
                    return Err(at(ERR_TRUNCATED));
                }
                let lens = &f[fixed..];
                if self.code[pc] == OP_COND && lens.len() != count(f[2]).map_err(at)? {
                    return Err(at(ERR_TRUNCATED));
                }
                if self.code[pc] == OP_WHILE && lens.len() != 2 {
                    return Err(at(ERR_TRUNCATED));
                }
                let mut starts = [from; 2];
                let mut total = 0usize;
                for &l in lens {
                    total = total
                        .checked_add(count(l).map_err(at)?)
                        .ok_or(at(ERR_TRUNCATED))?;
                }
                if total > end - from || lens.is_empty() {
                    return Err(at(ERR_TRUNCATED));
                }
                if self.code[pc] == OP_COND {
                    self.check_scalar(f[0], f[1]).map_err(at)?;
                    let v = self.scalar(f[0], f[1]).map_err(at)?;
                    let last = (lens.len() - 1) as f64;
                    let i = if v.is_nan() {
                        0.0
                    } else {
                        v.trunc().clamp(0.0, last)
                    } as usize;
                    let skip: usize = lens[..i].iter().map(|&l| l as usize).sum();
                    starts[0] = from + skip;
                    self.run_range(starts[0], starts[0] + lens[i] as usize)?;
                } else {
                    let (cl, bl) = (lens[0] as usize, lens[1] as usize);
                    starts[1] = from + cl;
                    loop {
                        self.run_range(from, starts[1])?;
                        self.check_scalar(f[0], f[1]).map_err(at)?;
                        let v = self.scalar(f[0], f[1]).map_err(at)?;
                        let w = width(f[1]).map_err(at)?;
                        self.check_free(f[0], w).map_err(at)?;
                        self.release(f[0], w).map_err(at)?;
                        if v == 0.0 {
                            break;
                        }
                        self.run_range(starts[1], starts[1] + bl)?;
                    }
                }
                pc = from + total;
                continue;
            }
            if self.code[pc] == OP_LOOP {
                pc = self.run_loop(pc, len, end)?;
                continue;
            }
            let (op, f) = (self.code[pc], &self.code[pc + 2..pc + len]);
            if self.checking.get() {
                self.check(op, f).map_err(|e| (pc, Fail::from(e)))?;
            }
            self.step(pc, op, f).map_err(|f| (pc, f))?;
            pc += len;
        }
        Ok(())
    }

    /// Runs the `OP_LOOP` of `len` words at `pc` (its body follows it,
    /// within `end`) and returns where the code after the body starts. Out
    /// of `run_range`, which each step calls: that stays small.
    #[inline(never)]
    fn run_loop(&self, pc: usize, len: usize, end: usize) -> Result<usize, (usize, Fail)> {
        let at = |e: i32| (pc, Fail::from(e));
        // The body follows the instruction; it runs once per step.
        let f = &self.code[pc + 2..pc + len];
        if f.len() != 3 {
            return Err(at(ERR_TRUNCATED));
        }
        let n = count(f[0]).map_err(at)?;
        let reverse = f[1] != 0;
        let body = count(f[2]).map_err(at)?;
        let from = pc + len;
        if body > end - from {
            return Err(at(ERR_TRUNCATED));
        }
        // A straight-line body whose first step leaves every buffer it
        // found with the size it had sees the same sizes in every step (its
        // instructions allocate what their fields say, and its reads and
        // writes of stacked xs and ys were checked for the last step): the
        // later steps keep no sizes and check nothing. They end with the
        // sizes the first step left.
        let before: Option<Vec<usize>> =
            (n > 1 && self.checking.get() && self.straight(from, from + body))
                .then(|| self.sizes.iter().map(core::cell::Cell::get).collect());
        let outer = (self.index.get(), self.last.replace(n.saturating_sub(1)));
        let mut result = Ok(());
        for k in 0..n {
            self.index.set(Some(if reverse { n - 1 - k } else { k }));
            result = self.run_range(from, from + body);
            if result.is_err() {
                break;
            }
            // A buffer the step found must keep its size (a slot it filled
            // was empty when step 0 began, so no read precedes its filling;
            // an emptied one reads as empty).
            if let (0, Some(b)) = (k, &before) {
                let changed = |(s, &b): (&core::cell::Cell<usize>, &usize)| {
                    b != 0 && s.get() != 0 && s.get() != b
                };
                if self.sizes.iter().zip(b).any(changed) {
                    result = Err(at(ERR_BOUNDS));
                    break;
                }
                self.checking.set(false);
            }
        }
        if before.is_some() {
            self.checking.set(true);
        }
        self.index.set(outer.0);
        self.last.set(outer.1);
        result?;
        Ok(from + body)
    }

    fn step(&self, pc: usize, op: i32, f: &[i32]) -> Result<(), Fail> {
        let field = |i: usize| f.get(i).copied().ok_or(ERR_TRUNCATED);
        match op {
            OP_UNARY => {
                expect(f, 5, 0, 0)?;
                let (kd, k, n) = (kind(f[0])?, op_in(UNARY_OPS, f[1])?, count(f[4])?);
                let x = self.input(f[3])?;
                let test = k == ISNAN || k == ISFINITE;
                let wide = kd == Kind::F64 && !test;
                let wout = if wide { 8 } else { 4 };
                let o = self.output(f[2], n, wout)?;
                let win = if kd == Kind::F64 { 8 } else { 4 };
                if n > 0 && split::unary(kd, k, x, o, n, win, wout) != 0 {
                    return Err(ERR_FIELD.into());
                }
            }
            OP_BINARY => {
                let r = rank(field(6)?)?;
                expect(f, 7, 3, r)?;
                let (kd, k, n) = (kind(f[0])?, op_in(BINARY_OPS, f[1])?, count(f[5])?);
                let (a, b) = (self.input(f[3])?, self.input(f[4])?);
                let cmp = int::is_compare(k);
                let wide = kd == Kind::F64 && !cmp;
                let wout = if wide { 8 } else { 4 };
                let o = self.output(f[2], n, wout)?;
                if n > 0 {
                    let w = if kd == Kind::F64 { 8 } else { 4 };
                    let meta = self.meta(pc, 7);
                    let status = split::binary(kd, k, (a, b, o), r, meta, n, w, wout);
                    match status {
                        0 => {}
                        int::DIV_BY_ZERO => return Err(ERR_DIV_BY_ZERO.into()),
                        _ => return Err(ERR_FIELD.into()),
                    }
                }
            }
            OP_WHERE => {
                let r = rank(field(6)?)?;
                expect(f, 7, 4, r)?;
                // i32 values only move, bit-exactly, through the f32 kernel.
                let (w, n) = (width(f[0])?, count(f[5])?);
                let (c, a, b) = (self.input(f[2])?, self.input(f[3])?, self.input(f[4])?);
                let o = self.output(f[1], n, w)?;
                if n > 0 {
                    split::where_split((c, a, b, o), r, self.meta(pc, 7), n, w);
                }
            }
            OP_REDUCE => {
                let r = rank(field(5)?)?;
                expect(f, 7, 2, r)?;
                let (kd, k) = (kind(f[0])?, op_in(REDUCE_OPS, f[1])?);
                let (nout, nred) = (count(f[4])?, count(f[6])?);
                if nred > r {
                    return Err(ERR_FIELD.into());
                }
                let x = self.input(f[3])?;
                let o = self.output(f[2], nout, if kd == Kind::F64 { 8 } else { 4 })?;
                if nout > 0
                    && split::reduce_split(kd, k, x, o, r, nred, self.meta(pc, 7), nout) != 0
                {
                    return Err(ERR_FIELD.into());
                }
            }
            OP_ARG_REDUCE => {
                expect(f, 7, 0, 0)?;
                let f64_ = float64(f[0])?;
                let (outer, len, inner) = (count(f[4])?, count(f[5])?, count(f[6])?);
                let x = self.input(f[3])?;
                let o = self.output(f[2], product(&[outer, inner])?, 4)?;
                let g = if f64_ { argreduce_f64 } else { argreduce_f32 };
                match g(f[1] != 0, x, o, outer, len, inner) {
                    0 => {}
                    2 => return Err(ERR_OOM.into()), // no room for the scratch row
                    _ => return Err(ERR_FIELD.into()), // an empty axis has no answer
                }
            }
            OP_INDEX_SELECT | OP_INDEX_ADD => {
                expect(f, 8, 0, 0)?;
                let w = width(f[0])?;
                let (outer, dim, inner) = (count(f[4])?, count(f[5])?, count(f[6])?);
                let nidx = count(f[7])?;
                let (x, idx) = (self.input(f[2])?, self.input(f[3])?);
                let bad = if op == OP_INDEX_SELECT {
                    let o = self.output(f[1], product(&[outer, nidx, inner])?, w)?;
                    let g = if w == 8 {
                        index_select_8
                    } else {
                        index_select_4
                    };
                    g(x, o, outer, dim, inner, idx, nidx)
                } else {
                    let o = self.output(f[1], product(&[outer, dim, inner])?, w)?;
                    let g = match f[0] {
                        F32 => index_add_f32,
                        F64 => index_add_f64,
                        _ => index_add_i32,
                    };
                    g(x, o, outer, dim, inner, idx, nidx)
                };
                if bad >= 0 {
                    let value = unsafe { *(idx as *const i32).add(bad as usize) };
                    return Err(Fail(ERR_INDEX, [bad, value, f[5]]));
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
                    split::copy_strided(src, o, r, self.meta(pc, 6), n, w);
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
                    split::cast_split(x, from, o, to, n)?;
                }
            }
            OP_MATMUL => {
                expect(f, 12, 0, 0)?;
                let kd = kind(f[0])?;
                let f64_ = kd == Kind::F64;
                let (batch, m, n, k) = (count(f[4])?, count(f[5])?, count(f[6])?, count(f[7])?);
                let (sa, sb) = (count(f[10])?, count(f[11])?);
                let (a, b) = (self.input(f[2])?, self.input(f[3])?);
                let size = product(&[batch, m, n])?;
                let o = self.output(f[1], size, if f64_ { 8 } else { 4 })?;
                if size > 0 && kd == Kind::I32 {
                    matmul_i32(a, b, o, batch, m, n, k, f[8] != 0, f[9] != 0, sa, sb);
                } else if size > 0 {
                    let g = if f64_ { matmul_f64 } else { matmul_f32 };
                    if g(a, b, o, batch, m, n, k, f[8] != 0, f[9] != 0, sa, sb) != 0 {
                        return Err(ERR_OOM.into());
                    }
                }
            }
            OP_LU | OP_EIGH => {
                // Both write [..., n + 1, n]: a row of pivots or eigenvalues
                // on top of the n × n factor or eigenvectors.
                expect(f, 5, 0, 0)?;
                let f64_ = float64(f[0])?;
                let (batch, n) = (count(f[3])?, count(f[4])?);
                let a = self.input(f[2])?;
                let o =
                    self.output(f[1], product(&[batch, n + 1, n])?, if f64_ { 8 } else { 4 })?;
                // SAFETY: sizes as the instruction states (the compiler's contract).
                unsafe {
                    match (op == OP_LU, f64_) {
                        (true, true) => linalg::lu::<f64>(a, o, batch, n),
                        (true, false) => linalg::lu::<f32>(a, o, batch, n),
                        (false, true) => linalg::eigh::<f64>(a, o, batch, n),
                        (false, false) => linalg::eigh::<f32>(a, o, batch, n),
                    }
                }
            }
            OP_QR | OP_SVD => {
                // Both take a tall [m, n] and write factors stacked by rows:
                // Q above R (m + n rows), or U, S, Vᵀ (m + 1 + n rows).
                expect(f, 6, 0, 0)?;
                let f64_ = float64(f[0])?;
                let (batch, m, n) = (count(f[3])?, count(f[4])?, count(f[5])?);
                if m < n {
                    return Err(ERR_FIELD.into());
                }
                let a = self.input(f[2])?;
                let rows = if op == OP_QR { m + n } else { m + 1 + n };
                let size = product(&[batch, rows, n])?;
                let o = self.output(f[1], size, if f64_ { 8 } else { 4 })?;
                // An empty matrix (n = 0, so m × 0 or 0 × 0) has empty factors.
                if size == 0 {
                    return Ok(());
                }
                // SAFETY: sizes as the instruction states (the compiler's contract).
                unsafe {
                    match (op == OP_QR, f64_) {
                        (true, true) => linalg::qr::<f64>(a, o, batch, m, n),
                        (true, false) => linalg::qr::<f32>(a, o, batch, m, n),
                        (false, true) => linalg::svd::<f64>(a, o, batch, m, n),
                        (false, false) => linalg::svd::<f32>(a, o, batch, m, n),
                    }
                }
            }
            OP_CHOLESKY | OP_SLOGDET => {
                expect(f, 5, 0, 0)?;
                let f64_ = float64(f[0])?;
                let (batch, n) = (count(f[3])?, count(f[4])?);
                let a = self.input(f[2])?;
                let w = if f64_ { 8 } else { 4 };
                if op == OP_SLOGDET {
                    let o = self.output(f[1], product(&[batch, 2])?, w)?;
                    // SAFETY: sizes as the instruction states (the compiler's contract).
                    unsafe {
                        if f64_ {
                            linalg::slogdet::<f64>(a, o, batch, n)
                        } else {
                            linalg::slogdet::<f32>(a, o, batch, n)
                        }
                    }
                } else {
                    let o = self.output(f[1], product(&[batch, n, n])?, w)?;
                    let bad = unsafe {
                        if f64_ {
                            linalg::cholesky::<f64>(a, o, batch, n)
                        } else {
                            linalg::cholesky::<f32>(a, o, batch, n)
                        }
                    };
                    if let Some((b, j)) = bad {
                        return Err(Fail(ERR_NOT_POSITIVE_DEFINITE, [b as i32, j as i32, f[4]]));
                    }
                }
            }
            OP_TRIANGULAR_SOLVE | OP_SOLVE => {
                let (tri, [batch, n, k, sa, sb]) = solve_fields(op, f)?;
                let f64_ = float64(f[0])?;
                let (a, b) = (self.input(f[2])?, self.input(f[3])?);
                let size = product(&[batch, n, k])?;
                let o = self.output(f[1], size, if f64_ { 8 } else { 4 })?;
                if size == 0 {
                    return Ok(());
                }
                // SAFETY: sizes as the instruction states (the compiler's contract).
                let bad = unsafe {
                    match (tri, f64_) {
                        (true, d) => {
                            let (upper, unit) = (f[7] != 0, f[8] != 0);
                            if d {
                                linalg::triangular_solve::<f64>(
                                    a, b, o, batch, n, k, upper, unit, sa, sb,
                                )
                            } else {
                                linalg::triangular_solve::<f32>(
                                    a, b, o, batch, n, k, upper, unit, sa, sb,
                                )
                            }
                            None
                        }
                        (false, true) => linalg::solve::<f64>(a, b, o, batch, n, k, sa, sb),
                        (false, false) => linalg::solve::<f32>(a, b, o, batch, n, k, sa, sb),
                    }
                };
                if let Some((bi, j)) = bad {
                    return Err(Fail(ERR_SINGULAR, [bi as i32, j as i32, f[5]]));
                }
            }
            OP_RANDOM => {
                expect(f, 6, 0, 0)?;
                let dist = op_in(RANDOM_DISTS, f[1])?;
                let perm = dist == random::DIST_PERMUTATION;
                let f64_ = if perm {
                    (f[0] == I32).then_some(false).ok_or(ERR_FIELD)?
                } else {
                    float64(f[0])?
                };
                let (nkeys, n) = (count(f[4])?, count(f[5])?);
                let keys = self.input(f[3])?;
                let size = product(&[nkeys, n])?;
                let o = self.output(f[2], size, if f64_ { 8 } else { 4 })?;
                if size > 0 {
                    // SAFETY: sizes as the instruction states (the compiler's contract).
                    unsafe { random::sample(dist, f64_, keys, o, nkeys, n) };
                }
            }
            OP_RANDOM_DERIVE => {
                expect(f, 5, 0, 0)?;
                let domain = op_in(RANDOM_DOMAINS, f[0])?;
                let n = count(f[4])?;
                let (keys, data) = (self.input(f[2])?, self.input(f[3])?);
                let o = self.output(f[1], product(&[n, 2])?, 4)?;
                // SAFETY: sizes as the instruction states (the compiler's contract).
                unsafe { random::derive(domain, keys, data, o, n) };
            }
            OP_LOOP_READ | OP_LOOP_WRITE => {
                expect(f, 4, 0, 0)?;
                let (w, n) = (width(f[0])?, count(f[3])?);
                let i = self.index.get().ok_or(ERR_FIELD)?;
                let bytes = n.checked_mul(w).ok_or(ERR_OOM)?;
                let at = i.checked_mul(bytes).ok_or(ERR_OOM)?;
                let x = self.input(f[2])?;
                if op == OP_LOOP_READ {
                    let o = self.output(f[1], n, w)?;
                    unsafe { mem::copy((x + at) as *const u8, o as *mut u8, bytes) };
                } else {
                    let dst = self.input(f[1])?;
                    unsafe { mem::copy(x as *const u8, (dst + at) as *mut u8, bytes) };
                }
            }
            OP_MOVE => {
                expect(f, 2, 0, 0)?;
                let p = self.input(f[1])?;
                let dst = self.slot(f[0])?;
                if unsafe { *dst } != 0 {
                    return Err(ERR_OCCUPIED.into());
                }
                unsafe {
                    *dst = p;
                    *self.slot(f[1])? = 0;
                }
            }
            OP_CONV => {
                let g = window(f, 9)?;
                let f64_ = float64(f[0])?;
                let mode = match f[1] {
                    0 => Mode::Forward,
                    1 => Mode::Input,
                    2 => Mode::Weight,
                    _ => return Err(ERR_FIELD.into()),
                };
                let (n, c, o, groups) = conv_dims(f)?;
                let (a, b) = (self.input(f[3])?, self.input(f[4])?);
                let size = match mode {
                    Mode::Forward => product(&[n, o, g.sout()])?,
                    Mode::Input => product(&[n, c, g.sin()])?,
                    Mode::Weight => product(&[o, c / groups, g.sk()])?,
                };
                let out = self.output(f[2], size, if f64_ { 8 } else { 4 })?;
                if size > 0 {
                    // SAFETY: sizes as the instruction states (the compiler's contract).
                    let ok = unsafe {
                        if f64_ {
                            conv::conv::<f64>(mode, a, b, out, n, c, o, groups, &g)
                        } else {
                            conv::conv::<f32>(mode, a, b, out, n, c, o, groups, &g)
                        }
                    };
                    if !ok {
                        return Err(ERR_OOM.into());
                    }
                }
            }
            OP_MAX_POOL => {
                let g = window(f, 5)?;
                let f64_ = float64(f[0])?;
                let indices = f[1] != 0;
                let planes = count(f[4])?;
                let x = self.input(f[3])?;
                let size = product(&[planes, g.sout()])?;
                let w = if indices || !f64_ { 4 } else { 8 };
                let out = self.output(f[2], size, w)?;
                // SAFETY: sizes as the instruction states (the compiler's contract).
                unsafe {
                    if f64_ {
                        conv::max_pool::<f64>(x, out, planes, &g, indices)
                    } else {
                        conv::max_pool::<f32>(x, out, planes, &g, indices)
                    }
                }
            }
            OP_ARGSORT => {
                expect(f, 7, 0, 0)?;
                let f64_ = float64(f[0])?;
                let (outer, len, inner) = (count(f[4])?, count(f[5])?, count(f[6])?);
                let x = self.input(f[3])?;
                let size = product(&[outer, len, inner])?;
                let out = self.output(f[2], size, 4)?;
                if size > 0 {
                    // SAFETY: sizes as the instruction states (the compiler's contract).
                    let ok = unsafe {
                        if f64_ {
                            conv::argsort::<f64>(x, out, outer, len, inner, f[1] != 0)
                        } else {
                            conv::argsort::<f32>(x, out, outer, len, inner, f[1] != 0)
                        }
                    };
                    if !ok {
                        return Err(ERR_OOM.into());
                    }
                }
            }
            OP_FUSED => self.fused(f, &[])?,
            OP_FUSED_REDUCE => {
                let nred = count(field(1)?)?;
                let at = nred.checked_mul(3).and_then(|k| k.checked_add(2));
                let at = at.filter(|&k| k <= f.len()).ok_or(ERR_TRUNCATED)?;
                if nred == 0 {
                    return Err(ERR_FIELD.into());
                }
                self.fused(&f[at..], &f[..at])?
            }
            OP_MATMUL_FUSED => self.matmul_fused(f)?,
            OP_MATMUL_ADD => {
                expect(f, 13, 0, 0)?;
                let f64_ = float64(f[0])?;
                let (batch, m, n, k) = (count(f[4])?, count(f[5])?, count(f[6])?, count(f[7])?);
                let (sa, sb) = (count(f[10])?, count(f[11])?);
                let (a, b, x) = (self.input(f[2])?, self.input(f[3])?, self.input(f[12])?);
                let size = product(&[batch, m, n])?;
                let o = self.output(f[1], size, if f64_ { 8 } else { 4 })?;
                let (ta, tb) = (f[8] != 0, f[9] != 0);
                let status = unsafe {
                    if f64_ {
                        matmul_add::<f64>(a, b, o, batch, m, n, k, (ta, tb), (sa, sb), x)
                    } else {
                        matmul_add::<f32>(a, b, o, batch, m, n, k, (ta, tb), (sa, sb), x)
                    }
                };
                if status != 0 {
                    return Err(ERR_OOM.into());
                }
            }
            OP_FREE => {
                expect(f, 2, 0, 0)?;
                self.release(f[0], count(f[1])?)?;
            }
            OP_ARENA => self.place(pc, f)?,
            _ => return Err(ERR_OPCODE.into()),
        }
        Ok(())
    }
}

/// `OP_TRIANGULAR_SOLVE`'s or `OP_SOLVE`'s fields: whether it is the
/// triangular one, then batch, n, k and the batch strides of A and B.
fn solve_fields(op: i32, f: &[i32]) -> R<(bool, [usize; 5])> {
    let tri = op == OP_TRIANGULAR_SOLVE;
    expect(f, if tri { 11 } else { 9 }, 0, 0)?;
    let s = if tri { 9 } else { 7 };
    let at = [4, 5, 6, s, s + 1];
    let mut v = [0; 5];
    for (x, i) in v.iter_mut().zip(at) {
        *x = count(f[i])?;
    }
    Ok((tri, v))
}

/// The window geometry of a convolution (`at` = 9) or pooling (`at` = 5)
/// instruction: `nd` (1 to 3) at field `at`, then its six lists, which must
/// end the instruction.
fn window(f: &[i32], at: usize) -> R<Geom> {
    let nd = count(*f.get(at).ok_or(ERR_TRUNCATED)?)?;
    if nd == 0 || nd > 3 {
        return Err(ERR_FIELD);
    }
    expect(f, at + 1, 6, nd)?;
    geom(&f[at + 1..], nd)
}

/// A convolution's batch, input and output channels and groups (which
/// divide both channel counts).
fn conv_dims(f: &[i32]) -> R<(usize, usize, usize, usize)> {
    let (n, c, o, groups) = (count(f[5])?, count(f[6])?, count(f[7])?, count(f[8])?);
    if groups == 0 || c % groups != 0 || o % groups != 0 {
        return Err(ERR_FIELD);
    }
    Ok((n, c, o, groups))
}

/// A window geometry from six lists of `nd` fields: input, kernel and
/// output sizes, strides, low paddings (may be negative) and dilations.
fn geom(f: &[i32], nd: usize) -> R<Geom> {
    let list =
        |i: usize| -> R<Vec<usize>> { f[i * nd..(i + 1) * nd].iter().map(|&v| count(v)).collect() };
    let (inp, k, out, stride, dil) = (list(0)?, list(1)?, list(2)?, list(3)?, list(5)?);
    if stride.contains(&0) || dil.contains(&0) {
        return Err(ERR_FIELD);
    }
    let lo: Vec<isize> = f[4 * nd..5 * nd].iter().map(|&v| v as isize).collect();
    Ok(Geom::new(&inp, &k, &out, &stride, &lo, &dil))
}

/// The product of element counts, or `ERR_OOM` when it overflows.
fn product(xs: &[usize]) -> R<usize> {
    xs.iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or(ERR_OOM)
}

/// Runs the instruction stream of `code_len` i32 at `code` over the slot
/// table at `slots` (see the module doc). Returns 0, or an `ERR_*` status
/// with the slots as they were when the run stopped; then, if `info` is not
/// 0, it receives 4 i32: the word offset of the failing instruction and the
/// failure's details (see `ERR_INDEX`).
#[wasm_bindgen]
pub fn run_program(code: usize, code_len: usize, slots: usize, info: usize) -> i32 {
    if code == 0 || slots == 0 || code_len < 2 {
        return ERR_HEADER;
    }
    let words = unsafe { read_i32s(code, code_len) };
    if words[0] != MAGIC || words[1] < 0 {
        return ERR_HEADER;
    }
    let nslots = words[1] as usize;
    // The trailing OP_SIZES: `[OP_SIZES, nslots + 2, bytes × nslots]`.
    let Some(end) = code_len.checked_sub(nslots + 2).filter(|&e| e >= 2) else {
        return ERR_HEADER;
    };
    if words[end] != OP_SIZES || words[end + 1] as usize != nslots + 2 {
        return ERR_HEADER;
    }
    let table = unsafe { core::slice::from_raw_parts(slots as *const usize, nslots) };
    // A caller's buffer has its stated size; the rest get theirs when the
    // executor fills them. Small tables live on the stack: an eager call
    // is a run of a few slots.
    let mut small = [0usize; 16];
    let mut large = Vec::new();
    let sizes: &mut [usize] = if nslots <= small.len() {
        &mut small[..nslots]
    } else {
        large.resize(nslots, 0);
        &mut large
    };
    for (i, size) in sizes.iter_mut().enumerate() {
        if table[i] != 0 {
            *size = words[end + 2 + i] as u32 as usize;
        }
    }
    let exec = Exec {
        code: &words[..end],
        base: code,
        slots: slots as *mut usize,
        nslots,
        sizes: core::cell::Cell::from_mut(sizes).as_slice_of_cells(),
        checking: core::cell::Cell::new(true),
        index: core::cell::Cell::new(None),
        last: core::cell::Cell::new(0),
        arena: core::cell::OnceCell::new(),
    };
    match exec.run() {
        Ok(()) => 0,
        Err((pc, Fail(status, details))) => {
            if info != 0 {
                let out = unsafe { core::slice::from_raw_parts_mut(info as *mut i32, 4) };
                out[0] = pc as i32;
                out[1..].copy_from_slice(&details);
            }
            status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `code` (without its `OP_SIZES`) with `slots` (no failure
    /// details); shared with the executor's submodules' tests. Each filled
    /// slot is taken to hold any number of bytes: [`run_sized`] states them.
    pub(crate) fn run(code: &[i32], slots: &mut [usize]) -> i32 {
        run_sized(code, slots, &vec![u32::MAX; slots.len()])
    }

    /// Runs `code` with `slots` whose filled ones hold `sizes` bytes.
    pub(crate) fn run_sized(code: &[i32], slots: &mut [usize], sizes: &[u32]) -> i32 {
        run_info(code, slots, sizes, 0)
    }

    /// [`run_sized`] with the failure details written at `info`.
    fn run_info(code: &[i32], slots: &mut [usize], sizes: &[u32], info: usize) -> i32 {
        let mut words = code.to_vec();
        words.extend([OP_SIZES, sizes.len() as i32 + 2]);
        words.extend(sizes.iter().map(|&b| b as i32));
        run_program(
            words.as_ptr() as usize,
            words.len(),
            slots.as_mut_ptr() as usize,
            info,
        )
    }

    /// `n` elements at address `p`.
    pub(crate) fn read<T: Copy>(p: usize, n: usize) -> Vec<T> {
        unsafe { core::slice::from_raw_parts(p as *const T, n).to_vec() }
    }

    /// Every read of a buffer is checked against its slot's size: the one
    /// `OP_SIZES` states for the caller's buffers, the allocated one for
    /// the run's own (carried along by a move). A stream whose fields reach
    /// further stops with `ERR_BOUNDS` before its kernel runs, allocating
    /// nothing; the same stream with sizes that fit runs.
    #[test]
    fn reads_past_a_buffer_are_refused() {
        use crate::elementwise::{ADD, NEG};
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let (neg, add) = (NEG as i32, ADD as i32);
        struct Case {
            code: Vec<i32>,
            /// Slots holding x; sizes stated for them that fit (none: no
            /// size does) and that do not.
            inputs: usize,
            fits: Vec<u32>,
            short: Vec<u32>,
            /// A buffer the run made before it stopped: (slot, bytes).
            made: Option<(usize, usize)>,
            /// The result of a run that fits: (slot, bytes).
            out: Option<(usize, usize)>,
        }
        let case = |code: Vec<i32>, inputs, fits: &[u32], short: &[u32], made, out| Case {
            code,
            inputs,
            fits: fits.to_vec(),
            short: short.to_vec(),
            made,
            out,
        };
        #[rustfmt::skip]
        let cases = [
            // unary over 3 elements of x
            case(vec![MAGIC, 2, OP_UNARY, 7, F32, neg, 1, 0, 3], 1, &[12, 0], &[8, 0], None, Some((1, 12))),
            // x + y over [2]: y read with stride 1, then broadcast (stride 0)
            case(vec![MAGIC, 3, OP_BINARY, 12, F32, add, 2, 0, 1, 2, 1, 2, 1, 1], 2, &[8, 8, 0], &[8, 4, 0], None, Some((2, 8))),
            case(vec![MAGIC, 3, OP_BINARY, 12, F32, add, 2, 0, 1, 2, 1, 2, 1, 0], 2, &[8, 4, 0], &[8, 0, 0], None, Some((2, 8))),
            // [2, 2] @ [2, 1]
            case(vec![MAGIC, 3, OP_MATMUL, 14, F32, 2, 0, 1, 1, 2, 1, 2, 0, 0, 0, 0], 2, &[16, 8, 0], &[12, 8, 0], None, Some((2, 8))),
            // x[1], x[0] (offset 1, stride -1); from offset 0 it starts before x
            case(vec![MAGIC, 2, OP_COPY_STRIDED, 10, F32, 1, 0, 1, 2, 1, 2, -1], 1, &[8, 0], &[4, 0], None, Some((1, 8))),
            case(vec![MAGIC, 2, OP_COPY_STRIDED, 10, F32, 1, 0, 0, 2, 1, 2, -1], 1, &[], &[16, 0], None, None),
            // the run's own buffer of 2 read as 3 (a compiler's mismatch)...
            case(vec![MAGIC, 3, OP_UNARY, 7, F32, neg, 1, 0, 2, OP_UNARY, 7, F32, neg, 2, 1, 3], 1, &[], &[16, 0, 0], Some((1, 8)), None),
            // ... also after a move, which carries the size along
            case(vec![MAGIC, 4, OP_UNARY, 7, F32, neg, 1, 0, 2, OP_MOVE, 4, 2, 1, OP_UNARY, 7, F32, neg, 3, 2, 3], 1, &[], &[16, 0, 0, 0], Some((2, 8)), None),
            // a free states the size allocated
            case(vec![MAGIC, 2, OP_UNARY, 7, F32, neg, 1, 0, 2, OP_FREE, 4, 1, 12], 1, &[], &[16, 0], Some((1, 8)), None),
            // a loop reading one element per step for 3 steps
            case(vec![MAGIC, 2, OP_LOOP, 5, 3, 0, 10, OP_LOOP_READ, 6, F32, 1, 0, 1, OP_FREE, 4, 1, 4], 1, &[12, 0], &[8, 0], None, None),
            // a fused group (one negation) over 4 elements
            case(vec![MAGIC, 2, OP_FUSED, 18, 4, 1, 1, 1, 0, F32, 0, 0, F32, 1, 0, F32, neg, 1, 0, 0], 1, &[16, 0], &[12, 0], None, Some((1, 16))),
        ];
        for c in &cases {
            let mut slots = vec![0usize; c.code[1] as usize];
            for s in &mut slots[..c.inputs] {
                *s = x.as_ptr() as usize;
            }
            let before = slots.clone();
            assert_eq!(
                run_sized(&c.code, &mut slots, &c.short),
                ERR_BOUNDS,
                "{:?}",
                c.code
            );
            if let Some((s, bytes)) = c.made {
                assert_ne!(slots[s], 0);
                free(slots[s], bytes);
                slots[s] = 0;
            }
            assert_eq!(slots, before, "{:?}", c.code);
            if !c.fits.is_empty() {
                assert_eq!(run_sized(&c.code, &mut slots, &c.fits), 0, "{:?}", c.code);
                if let Some((s, bytes)) = c.out {
                    free(slots[s], bytes);
                }
            }
        }
        // A loop's later steps run unchecked only when its first step left
        // every size as it found it: a body that shrinks its carry (4
        // elements in, 2 out) stops after that step.
        for (keep, status) in [(4, 0), (2, ERR_BOUNDS)] {
            let mut slots = vec![x.as_ptr() as usize, 0, 0];
            #[rustfmt::skip]
            let code = [
                MAGIC, 3,
                OP_UNARY, 7, F32, neg, 1, 0, 4,
                OP_LOOP, 5, 3, 0, 18,
                OP_COPY_STRIDED, 10, F32, 2, 1, 0, keep, 1, keep, 1,
                OP_FREE, 4, 1, 16,
                OP_MOVE, 4, 1, 2,
            ];
            assert_eq!(run_sized(&code, &mut slots, &[16, 0, 0]), status);
            free(slots[1], 4 * keep as usize);
        }
        // A stream without its sizes, or with the wrong count, is refused.
        let mut slots = vec![x.as_ptr() as usize, 0];
        let code = [MAGIC, 2, OP_UNARY, 7, F32, neg, 1, 0, 3];
        let bare = run_program(
            code.as_ptr() as usize,
            code.len(),
            slots.as_mut_ptr() as usize,
            0,
        );
        assert_eq!(bare, ERR_HEADER);
        assert_eq!(run_sized(&code, &mut slots, &[12]), ERR_HEADER);
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
    fn places_intermediates_in_an_arena_and_frees_only_the_rest() {
        // sum(sin(x) * x, axis 1) as above, with sin(x) and the product in
        // an arena (slot 5) at offsets 0 and 48: only the result allocates.
        let x: Vec<f64> = (0..6).map(|i| i as f64 * 0.5).collect();
        let arena = [0u64; 12];
        let mut slots = vec![0usize; 6];
        slots[0] = x.as_ptr() as usize;
        slots[5] = arena.as_ptr() as usize;
        #[rustfmt::skip]
        let code = [
            MAGIC, 6,
            OP_ARENA, 10, 5, 96, -1, 0, 48, -1, -1, -1,
            OP_UNARY, 7, F64, 5 /* sin */, 1, 0, 6,
            OP_BINARY, 12, F64, 2 /* mul */, 2, 1, 0, 6, 1, 6, 1, 1,
            OP_FREE, 4, 1, 48,
            OP_REDUCE, 13, F64, 0 /* sum */, 3, 2, 2, 2, 1, 2, 3, 3, 1,
            OP_FREE, 4, 2, 48,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!((slots[1], slots[2]), (0, 0));
        let prod: Vec<f64> = read(arena.as_ptr() as usize + 48, 6);
        for i in 0..6 {
            assert_eq!(prod[i], x[i].sin() * x[i]);
        }
        let y: Vec<f64> = read(slots[3], 2);
        assert_eq!(y[0], prod[0] + prod[1] + prod[2]);
        free(slots[3], 16);
        // Twice, a misaligned offset, a truncated list, a placement past
        // the arena's end: refused.
        let with = |head: &[i32]| {
            let mut c = vec![MAGIC, 6];
            c.extend_from_slice(head);
            c.extend_from_slice(&[OP_UNARY, 7, F64, 5, 1, 0, 6]);
            c
        };
        let mut slots = vec![x.as_ptr() as usize, 0, 0, 0, 0, arena.as_ptr() as usize];
        let place = |off: i32| [OP_ARENA, 10, 5, 96, -1, off, -1, -1, -1, -1];
        let twice = [place(0), place(0)].concat();
        assert_eq!(run(&with(&twice), &mut slots), ERR_FIELD);
        assert_eq!(run(&with(&place(8)), &mut slots), ERR_FIELD);
        assert_eq!(run(&with(&place(80)), &mut slots), ERR_FIELD);
        let short = [OP_ARENA, 9, 5, 96, -1, 0, -1, -1, -1];
        assert_eq!(run(&with(&short), &mut slots), ERR_TRUNCATED);
        assert_eq!(slots[1], 0);
    }

    #[test]
    fn loops_over_steps_reading_xs_writing_ys_and_moving_the_carry() {
        // Cumulative sum of xs [4] f32, backwards: carry in slot 1, ys in 2.
        let xs = [1.0f32, 2.0, 3.0, 4.0];
        let mut slots = vec![0usize; 5];
        slots[0] = xs.as_ptr() as usize;
        let add = crate::elementwise::ADD as i32;
        #[rustfmt::skip]
        let code = [
            MAGIC, 5,
            OP_ZEROS, 5, F32, 1, 1,
            OP_ZEROS, 5, F32, 2, 4,
            OP_LOOP, 5, 4, 1, 36,
            OP_LOOP_READ, 6, F32, 3, 0, 1,
            OP_BINARY, 12, F32, add, 4, 1, 3, 1, 1, 1, 1, 1,
            OP_LOOP_WRITE, 6, F32, 2, 4, 1,
            OP_FREE, 4, 1, 4,
            OP_MOVE, 4, 1, 4,
            OP_FREE, 4, 3, 4,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!((slots[3], slots[4]), (0, 0));
        assert_eq!(read::<f32>(slots[1], 1), vec![10.0]);
        assert_eq!(read::<f32>(slots[2], 4), vec![10.0, 9.0, 7.0, 4.0]);
        free(slots[1], 4);
        free(slots[2], 16);
        // Outside a loop there is no step index; a truncated body is refused.
        let mut slots = vec![0usize; 2];
        slots[0] = xs.as_ptr() as usize;
        assert_eq!(
            run(&[MAGIC, 2, OP_LOOP_READ, 6, F32, 1, 0, 1], &mut slots),
            ERR_FIELD
        );
        assert_eq!(
            run(&[MAGIC, 2, OP_LOOP, 5, 2, 0, 9], &mut slots),
            ERR_TRUNCATED
        );
    }

    #[test]
    fn branches_on_a_value_and_loops_while_a_predicate_holds() {
        use crate::elementwise::{LT, NEG, SQUARE};
        let (neg, sq, lt) = (NEG as i32, SQUARE as i32, LT as i32);
        let x = [3.0f64];
        let idx = [1.7f32];
        let mut slots = vec![0usize; 3];
        slots[0] = x.as_ptr() as usize;
        slots[1] = idx.as_ptr() as usize;
        // Block 1 (1.7 truncated) squares; block 0 would negate.
        #[rustfmt::skip]
        let code = [
            MAGIC, 3,
            OP_COND, 7, 1, F32, 2, 7, 7,
            OP_UNARY, 7, F64, neg, 2, 0, 1,
            OP_UNARY, 7, F64, sq, 2, 0, 1,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!(read::<f64>(slots[2], 1), vec![9.0]);
        free(slots[2], 8);
        // c = x; while (c < 100) c = c²: 3, 9, 81, 6561.
        let hundred = [100.0f64];
        let mut slots = vec![0usize; 5];
        slots[0] = x.as_ptr() as usize;
        slots[1] = hundred.as_ptr() as usize;
        #[rustfmt::skip]
        let code = [
            MAGIC, 5,
            OP_COPY_STRIDED, 10, F64, 2, 0, 0, 1, 1, 1, 1,
            OP_WHILE, 6, 3, BOOL, 12, 15,
            OP_BINARY, 12, F64, lt, 3, 2, 1, 1, 1, 1, 1, 1,
            OP_UNARY, 7, F64, sq, 4, 2, 1,
            OP_FREE, 4, 2, 8,
            OP_MOVE, 4, 2, 4,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!((slots[3], slots[4]), (0, 0));
        assert_eq!(read::<f64>(slots[2], 1), vec![6561.0]);
        free(slots[2], 8);
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
        assert_eq!(
            run_program(0, 2, slots.as_mut_ptr() as usize, 0),
            ERR_HEADER
        );
        assert_eq!(slots, vec![x.as_ptr() as usize, 0]);
        // An empty program is fine.
        assert_eq!(run(&[MAGIC, 2], &mut slots), 0);
    }

    #[test]
    fn arg_reduces_gathers_and_scatters() {
        // x: [2, 3] f64; argmax along 1, argmin along 0; gather columns
        // [2, 0, 2]; scatter-add rows of an i32 src into 3 rows.
        let x = [1.0f64, 5.0, 5.0, -2.0, 0.0, -2.0];
        let idx = [2i32, 0, 2];
        let src = [1i32, 2, 3, 4, 5, 6];
        let mut slots = vec![0usize; 7];
        slots[0] = x.as_ptr() as usize;
        slots[1] = idx.as_ptr() as usize;
        slots[2] = src.as_ptr() as usize;
        #[rustfmt::skip]
        let code = [
            MAGIC, 7,
            OP_ARG_REDUCE, 9, F64, 1, 3, 0, 2, 3, 1,
            OP_ARG_REDUCE, 9, F64, 0, 4, 0, 1, 2, 3,
            OP_INDEX_SELECT, 10, F64, 5, 0, 1, 2, 3, 1, 3,
            // src [3, 2] rows added at rows idx of a [3, 2] result
            OP_INDEX_ADD, 10, I32, 6, 2, 1, 1, 3, 2, 3,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!(read::<i32>(slots[3], 2), vec![1, 1]);
        assert_eq!(read::<i32>(slots[4], 3), vec![1, 1, 1]);
        assert_eq!(
            read::<f64>(slots[5], 6),
            vec![5.0, 1.0, 5.0, -2.0, -2.0, -2.0]
        );
        assert_eq!(read::<i32>(slots[6], 6), vec![3, 4, 0, 0, 6, 8]);
        free(slots[3], 8);
        free(slots[4], 12);
        free(slots[5], 48);
        free(slots[6], 24);
    }

    #[test]
    fn where_moves_i32_values_through_the_f32_kernel() {
        let cond = [1.0f32, 0.0, 2.0];
        let (a, b) = ([i32::MAX, 7, -3], [i32::MIN, 9, 0]);
        let mut slots = vec![
            cond.as_ptr() as usize,
            a.as_ptr() as usize,
            b.as_ptr() as usize,
            0,
        ];
        #[rustfmt::skip]
        let code = [MAGIC, 4, OP_WHERE, 13, I32, 3, 0, 1, 2, 3, 1, 3, 1, 1, 1];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!(read::<i32>(slots[3], 3), vec![i32::MAX, 9, -3]);
        free(slots[3], 12);
    }

    #[test]
    fn an_index_out_of_range_reports_where_and_what() {
        let x = [1.0f32, 2.0, 3.0];
        let idx = [0i32, 3];
        let mut slots = vec![x.as_ptr() as usize, idx.as_ptr() as usize, 0];
        let mut info = [0i32; 4];
        #[rustfmt::skip]
        let code = [MAGIC, 3, OP_INDEX_SELECT, 10, F32, 2, 0, 1, 1, 3, 1, 2];
        let sizes = vec![u32::MAX; slots.len()];
        let status = run_info(&code, &mut slots, &sizes, info.as_mut_ptr() as usize);
        assert_eq!(status, ERR_INDEX);
        assert_eq!(info, [2, 1, 3, 3]); // at word 2: position 1 holds 3, dim 3
        free(slots[2], 8); // the caller frees what the run allocated
                           // An unknown unary op code is an invalid field, not a silent no-op.
        let mut slots = vec![x.as_ptr() as usize, 0];
        let bad = [MAGIC, 2, OP_UNARY, 7, F32, 99, 1, 0, 3];
        assert_eq!(run(&bad, &mut slots), ERR_FIELD);
        assert_eq!(slots[1], 0);
    }

    #[test]
    fn linear_algebra_instructions_and_their_failures() {
        // A = [[4, 2], [2, 3]] then a batch of two: A, and diag(1, -1).
        let a = [4.0f64, 2.0, 2.0, 3.0, 1.0, 0.0, 0.0, -1.0];
        let b = [2.0f64, 1.0];
        let mut slots = vec![a.as_ptr() as usize, b.as_ptr() as usize, 0, 0, 0, 0, 0];
        #[rustfmt::skip]
        let code = [
            MAGIC, 7,
            OP_CHOLESKY, 7, F64, 2, 0, 1, 2,
            OP_TRIANGULAR_SOLVE, 13, F64, 3, 2, 1, 1, 2, 1, 0, 0, 0, 0,
            OP_SOLVE, 11, F64, 4, 0, 1, 1, 2, 1, 0, 0,
            OP_SLOGDET, 7, F64, 5, 0, 2, 2,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        let l: Vec<f64> = read(slots[2], 4);
        assert_eq!(l[..3], [2.0, 0.0, 1.0]);
        assert!((l[3] - 2f64.sqrt()).abs() < 1e-15);
        // L y = b: y = [1, 0]; A x = b: x = [0.5, 0].
        assert_eq!(read::<f64>(slots[3], 2), vec![1.0, 0.0]);
        assert_eq!(read::<f64>(slots[4], 2), vec![0.5, 0.0]);
        let d: Vec<f64> = read(slots[5], 4);
        assert_eq!((d[0], d[2]), (1.0, -1.0));
        assert!((d[1] - 8f64.ln()).abs() < 1e-15 && d[3] == 0.0);
        for (s, bytes) in [(2, 32), (3, 16), (4, 16), (5, 32)] {
            free(slots[s], bytes);
        }
        // The second matrix of the batch fails at pivot 1 of 2.
        let mut slots = vec![a.as_ptr() as usize, 0];
        let mut info = [0i32; 4];
        let code = [MAGIC, 2, OP_CHOLESKY, 7, F64, 1, 0, 2, 2];
        let info_at = info.as_mut_ptr() as usize;
        let status = run_info(&code, &mut slots, &[u32::MAX; 2], info_at);
        assert_eq!(status, ERR_NOT_POSITIVE_DEFINITE);
        assert_eq!(info, [2, 1, 1, 2]);
        free(slots[1], 64);
        // A singular matrix: [[1, 2], [2, 4]] fails at pivot 1.
        let s = [1.0f32, 2.0, 2.0, 4.0];
        let rhs = [1.0f32, 1.0];
        let mut slots = vec![s.as_ptr() as usize, rhs.as_ptr() as usize, 0];
        let code = [MAGIC, 3, OP_SOLVE, 11, F32, 2, 0, 1, 1, 2, 1, 0, 0];
        let status = run_info(&code, &mut slots, &[u32::MAX; 3], info_at);
        assert_eq!(status, ERR_SINGULAR);
        assert_eq!(info, [2, 0, 1, 2]);
        free(slots[2], 8);
    }

    #[test]
    fn convolution_pooling_and_argsort_instructions_and_bad_fields() {
        // x [1, 1, 3, 3] * w [1, 1, 2, 2] (all ones), stride 1, no padding:
        // each output is the sum of a 2×2 window.
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let w = [1.0f32; 4];
        let mut slots = vec![x.as_ptr() as usize, w.as_ptr() as usize, 0, 0, 0];
        #[rustfmt::skip]
        let code = [
            MAGIC, 5,
            OP_CONV, 24, F32, 0, 2, 0, 1, 1, 1, 1, 1, 2, 3, 3, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1,
            OP_MAX_POOL, 20, F32, 1, 3, 0, 1, 2, 3, 3, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1,
            OP_ARGSORT, 9, F32, 1, 4, 0, 1, 9, 1,
        ];
        assert_eq!(run(&code, &mut slots), 0);
        assert_eq!(read::<f32>(slots[2], 4), vec![12.0, 16.0, 24.0, 28.0]);
        assert_eq!(read::<i32>(slots[3], 4), vec![4, 5, 7, 8]);
        assert_eq!(read::<i32>(slots[4], 9), vec![8, 7, 6, 5, 4, 3, 2, 1, 0]);
        free(slots[2], 16);
        free(slots[3], 16);
        free(slots[4], 36);
        // Four spatial dims, groups 0, a zero stride: invalid fields.
        let mut slots = vec![x.as_ptr() as usize, w.as_ptr() as usize, 0];
        let conv = |nd: i32, groups: i32, stride: i32| {
            let mut c = vec![MAGIC, 3, OP_CONV, 0, F32, 0, 2, 0, 1, 1, 1, 1, groups, nd];
            for list in [3, 2, 2, stride, 0, 1] {
                c.extend(std::iter::repeat_n(list, nd.max(0) as usize));
            }
            c[3] = c.len() as i32 - 2;
            c
        };
        assert_eq!(run(&conv(2, 1, 1), &mut slots), 0);
        free(slots[2], 16);
        slots[2] = 0;
        assert_eq!(run(&conv(4, 1, 1), &mut slots), ERR_FIELD);
        assert_eq!(run(&conv(2, 0, 1), &mut slots), ERR_FIELD);
        assert_eq!(run(&conv(2, 1, 0), &mut slots), ERR_FIELD);
        assert_eq!(slots[2], 0);
    }

    #[test]
    fn op_tables_name_distinct_codes_that_every_kernel_computes() {
        for table in [UNARY_OPS, BINARY_OPS, REDUCE_OPS] {
            for (i, &(name, code)) in table.iter().enumerate() {
                for &(other, c) in &table[..i] {
                    assert!(name != other && code != c, "{name} vs {other}");
                }
            }
        }
        // A code in a table whose kernel arm is missing would leave its
        // output unwritten: fill outputs with a NaN no op produces here.
        let sentinel = f64::from_bits(0x7ff8_dead_beef_0001);
        let x = [0.5f64, 0.25, 0.75, 2.0, 3.0];
        let meta = [5i32, 1, 1]; // binary: one flat row of 5
        let reduce_meta = [5i32, 1]; // reduce all of [5]
        for f64_ in [false, true] {
            let run = |name: &str, f: &dyn Fn(usize, usize)| {
                let mut o = [sentinel; 5];
                let xs = x.map(|v| v as f32);
                let mut o32 = [sentinel as f32; 5];
                if f64_ {
                    f(x.as_ptr() as usize, o.as_mut_ptr() as usize);
                    assert!(o[0].to_bits() != sentinel.to_bits(), "{name} f64");
                } else {
                    f(xs.as_ptr() as usize, o32.as_mut_ptr() as usize);
                    assert!(
                        o32[0].to_bits() != (sentinel as f32).to_bits(),
                        "{name} f32"
                    );
                }
            };
            for &(name, k) in UNARY_OPS {
                run(name, &|x, o| {
                    (if f64_ { unary_f64 } else { unary_f32 })(k, x, o, 5);
                });
            }
            for &(name, k) in BINARY_OPS {
                run(name, &|x, o| {
                    let g = if f64_ { binary_f64 } else { binary_f32 };
                    g(k, x, x, o, 1, meta.as_ptr() as usize);
                });
            }
            for &(name, k) in REDUCE_OPS {
                run(name, &|x, o| {
                    let g = if f64_ { reduce_f64 } else { reduce_f32 };
                    g(k, x, o, 1, 1, reduce_meta.as_ptr() as usize);
                });
            }
        }
    }
}
