//! `OP_FUSED`: a chain (or DAG) of elementwise steps run block by block, so
//! that intermediates live in a small scratch area instead of buffers of
//! the full length, and memory is read and written once.
//!
//! Fields: `[n, nin, ntmp, nsteps, inputs, temps, steps]`:
//! - each input `[slot, dtype, mode, m]`: mode 0 a buffer of `n` elements,
//!   1 one element read at every position, 2 a buffer of `m` elements
//!   repeated (position i reads i mod m: broadcast along leading dims),
//!   3 a buffer of n / m elements each read m times (i reads i / m:
//!   broadcast along trailing dims); modes 2 and 3 are copied into a
//!   scratch block per block, so every step reads a flat row;
//! - each temporary `[dtype, slot]`: a register of one block of values;
//!   `slot` ≥ 0 makes it an output of the instruction (allocated here, for
//!   `n` elements of `dtype`), −1 keeps it in scratch;
//! - each step six words `[kind, a, b, dst, x, y]` over registers (inputs
//!   first, then temporaries; `dst` is a temporary):
//!   unary `[0, dtype, op, dst, x, 0]`, binary `[1, dtype, op, dst, x, y]`,
//!   where `[2, dtype, cond, dst, x, y]` (cond of the float type of
//!   `dtype`, or bool for a 4-byte dtype), cast `[3, from, to, dst, x, 0]`.
//!
//! Every step calls the same kernel export as its unfused instruction, on
//! a block of `BLOCK` elements (a multiple of every vector width, so each
//! element takes the same vector or scalar path as in one whole-length
//! call): the results are bit-identical to the unfused program.
//!
//! `OP_FUSED_REDUCE` prefixes these fields with `[len, nred, (reg, op,
//! out) × nred]`: after each block's steps, float register `reg` is reduced
//! over its rows of `len` ≥ 2 elements into `out` (n / len elements, allocated
//! here), so the register never needs a buffer of all n. Blocks then hold
//! whole rows (a multiple of both `len` and [`ALIGN`] elements, or all n),
//! and each block's rows go through the same reduce export as the unfused
//! `OP_REDUCE` (which sums or folds every row on its own): bit-identical
//! again. With op [`COLUMN_SUM`] the register's rows are summed into `out`
//! (`len` elements) instead, fed one by one to the cascade the unfused
//! column sum uses ([`reduce::sum::Columns`]): the same bits, on one thread
//! (parts of the rows summed apart would round differently).

use super::split;
use super::*;
use crate::{parallel, reduce};
use core::sync::atomic::{AtomicI32, Ordering};

mod codegen;

/// Elements per block: 8 KiB of f64 per register, so a dozen registers
/// stay in L1 beside the operands.
pub(super) const BLOCK: usize = 1024;

/// Elements every block but the last is a multiple of (of every vector
/// width times the unrolling of the elementwise loops).
const ALIGN: usize = 16;

/// Elements per block for rows of `len` (0: no reduction) over `n`.
fn block_len(n: usize, len: usize) -> R<usize> {
    if len == 0 {
        return Ok(BLOCK);
    }
    let (mut a, mut b) = (len, ALIGN);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let g = (len / a).checked_mul(ALIGN).ok_or(ERR_OOM)?;
    Ok(if g >= n { n } else { g * (BLOCK / g).max(1) })
}

const UNARY: i32 = 0;
const BINARY: i32 = 1;
const WHERE: i32 = 2;
const CAST: i32 = 3;

/// Registers kept on the stack (more go to the heap): small programs in
/// loop bodies run this instruction thousands of times per call.
const STACK_REGS: usize = 16;
/// Scratch bytes kept on the stack (16-byte aligned as u64 pairs suffice
/// for the kernels, which load unaligned).
const STACK_SCRATCH: usize = 2048;

/// One register: its dtype and, per block, where its values are.
#[derive(Clone, Copy, Default)]
struct Reg {
    dtype: i32,
    width: usize,
    /// Base address of an input's or output's buffer.
    base: usize,
    /// Whether the address advances with the position (false: scalar input).
    moves: bool,
    scalar: bool,
    /// The scratch row that holds this register's block instead (a
    /// temporary that is not an output, or a broadcast input).
    row: Option<usize>,
    /// Broadcast input (modes 2 and 3): its buffer, mode and m.
    spread: Option<(usize, i32, usize)>,
}

/// One reduction of `OP_FUSED_REDUCE`: register `reg` (of `width` bytes)
/// reduced by `op` over each row into the buffer at `out`.
#[derive(Clone, Copy, Default)]
struct Sink {
    reg: usize,
    op: u32,
    out: usize,
    width: usize,
    /// Summed across the rows ([`COLUMN_SUM`]), not within each.
    columns: bool,
}

/// A [`COLUMN_SUM`] reduction's running sums, in its register's type.
enum ColumnState {
    F32(reduce::sum::Columns<f32>),
    F64(reduce::sum::Columns<f64>),
}

impl ColumnState {
    /// Sums for `rows` rows of `len` elements of `width` bytes.
    fn new(width: usize, len: usize, rows: usize) -> Result<Self, Fail> {
        let state = if width == 8 {
            reduce::sum::Columns::new(len, rows).map(Self::F64)
        } else {
            reduce::sum::Columns::new(len, rows).map(Self::F32)
        };
        state.ok_or(ERR_OOM.into())
    }

    /// Adds the next `rows` rows, contiguous at `x` (`len` elements each).
    ///
    /// # Safety
    /// `x` readable for `rows · len` elements of the state's type.
    unsafe fn add_rows(&mut self, x: usize, rows: usize, len: usize) {
        match self {
            Self::F32(c) => (0..rows).for_each(|r| c.row((x as *const f32).add(r * len))),
            Self::F64(c) => (0..rows).for_each(|r| c.row((x as *const f64).add(r * len))),
        }
    }

    /// Writes the sums to `out`.
    ///
    /// # Safety
    /// `out` writable for `len` elements; at least one row was added.
    unsafe fn finish(&self, out: usize) {
        match self {
            Self::F32(c) => c.finish(out as _),
            Self::F64(c) => c.finish(out as _),
        }
    }
}

/// Reductions kept on the stack (more go to the heap).
const STACK_SINKS: usize = 4;

/// A checked instruction with its output buffers: what runs over any range
/// of positions, given scratch of its own (so an epilogue can run it on
/// blocks of a product in any order).
pub(super) struct Body<'a> {
    regs: &'a [Reg],
    nin: usize,
    steps: &'a [i32],
    /// Scratch rows (each holds one block of 8-byte elements).
    pub(super) rows: usize,
    /// Elements per block: BLOCK, or n when that is shorter; with
    /// reductions, whole rows ([`block_len`]).
    block: usize,
    /// `OP_FUSED_REDUCE`'s reductions (none for `OP_FUSED`) and their row
    /// length: ranges and blocks then start and end on row boundaries.
    sinks: &'a [Sink],
    row_len: usize,
    /// The steps in runs, some compiled to WebAssembly ([`codegen`]);
    /// empty when none is compiled.
    segments: &'a [codegen::Segment],
}

impl Body<'_> {
    /// Runs the steps on positions `[from, to)` in blocks of at most
    /// `block` elements (the kernels give the same values whatever the
    /// block), with `scratch` holding `self.rows` rows of `block · 8` bytes.
    /// With reductions, `from`, `to` and `block` are whole rows.
    pub(super) fn run_with(
        &self,
        scratch: usize,
        block: usize,
        from: usize,
        to: usize,
    ) -> Result<(), Fail> {
        let whole = |i: usize| self.sinks.is_empty() || i.is_multiple_of(self.row_len);
        if !(whole(from) && whole(to) && whole(block)) {
            return Err(ERR_FIELD.into());
        }
        let row_bytes = block * 8;
        // Column sums run over all rows in order, so only on one thread
        // (run_all does not split them) and from the first row.
        let mut columns = Vec::new();
        for k in self.sinks.iter().filter(|k| k.columns) {
            if from != 0 {
                return Err(ERR_FIELD.into());
            }
            columns.push(ColumnState::new(k.width, self.row_len, to / self.row_len)?);
        }
        // The flag word and each register's address for the block, as the
        // compiled code reads them (uninitialised: loop bodies run small
        // bodies thousands of times, and only compiled ones fill it).
        let mut ptrs = core::mem::MaybeUninit::<[u32; codegen::MAX_REGS + 1]>::uninit();
        let ptrs = ptrs.as_mut_ptr() as *mut u32;
        // Register r's address for a block starting at position `pos`.
        let address = |r: i32, pos: usize| {
            let g = &self.regs[r as usize];
            match g.row {
                Some(k) => scratch + k * row_bytes,
                None if g.moves => g.base + pos * g.width,
                None => g.base,
            }
        };
        let mut start = from;
        // A body compiled whole, with no broadcast copies or reductions
        // between blocks, runs all its whole blocks in one call.
        if let [codegen::Segment {
            code: Some((f, width)),
            whole: true,
            ..
        }] = self.segments
        {
            let blocks = (to - from) / block * block;
            if self.sinks.is_empty() && blocks > 0 {
                // (A whole body reads no scratch row.)
                let at = |r: i32| address(r, from);
                if unsafe { self.call(*f, *width, &at, ptrs, blocks) } {
                    start += blocks;
                }
            }
        }
        while start < to {
            let len = block.min(to - start);
            for g in &self.regs[..self.nin] {
                if let (Some((x, mode, m)), Some(k)) = (g.spread, g.row) {
                    spread(x, mode, m, g.width, start, len, scratch + k * row_bytes);
                }
            }
            let at = |r: i32| address(r, start);
            let stride = |r: i32| i32::from(!self.regs[r as usize].scalar);
            if self.segments.is_empty() {
                for s in self.steps.chunks_exact(6) {
                    step(s, len, &at, &stride)?;
                }
            }
            for g in self.segments {
                // A block with a tail shorter than a vector (the last one)
                // is interpreted whole: the kernels' tail paths are theirs.
                let ran = match g.code {
                    Some((f, width)) if len.is_multiple_of(16 / width) => unsafe {
                        self.call(f, width, &at, ptrs, len)
                    },
                    _ => false,
                };
                if !ran {
                    for s in self.steps[6 * g.from..6 * g.to].chunks_exact(6) {
                        step(s, len, &at, &stride)?;
                    }
                }
            }
            let mut state = columns.iter_mut();
            for k in self.sinks {
                let (x, rows) = (at(k.reg as i32), len / self.row_len);
                if k.columns {
                    // Each row into the running column sums.
                    let c = state.next().ok_or(ERR_FIELD)?;
                    unsafe { c.add_rows(x, rows, self.row_len) };
                    continue;
                }
                // The block's whole rows, each as OP_REDUCE reduces it.
                let o = k.out + start / self.row_len * k.width;
                unsafe {
                    if k.width == 8 {
                        reduce::rows::<f64>(k.op, x as _, o as _, rows, self.row_len);
                    } else {
                        reduce::rows::<f32>(k.op, x as _, o as _, rows, self.row_len);
                    }
                }
            }
            start += len;
        }
        for (k, state) in self.sinks.iter().filter(|k| k.columns).zip(&columns) {
            unsafe { state.finish(k.out) };
        }
        Ok(())
    }

    /// Runs compiled code `f` over `len` elements (a multiple of the vector
    /// width) of registers at `at`, passing their addresses in `ptrs`
    /// after a flag word. False when a worker's stand-in ran instead (it
    /// sets the flag) and the caller must interpret.
    ///
    /// # Safety
    /// `f` is the compiled code of a run of this body's steps; `ptrs` has
    /// room for `MAX_REGS + 1` words (fused_body compiles no larger body).
    unsafe fn call(
        &self,
        f: codegen::Compiled,
        width: usize,
        at: &dyn Fn(i32) -> usize,
        ptrs: *mut u32,
        len: usize,
    ) -> bool {
        ptrs.write(0);
        for r in 0..self.regs.len() {
            ptrs.add(1 + r).write(at(r as i32) as u32);
        }
        f(ptrs as usize, len * width);
        ptrs.read_volatile() == 0
    }

    /// Work per position, in adds (see [`split::unary_cost`]).
    pub(super) fn cost(&self) -> usize {
        let step = |s: &[i32]| match s[0] {
            UNARY => split::unary_cost(s[2] as u32),
            BINARY => split::binary_cost(s[2] as u32),
            _ => 1,
        };
        self.steps.chunks_exact(6).map(step).sum::<usize>() + self.sinks.len()
    }

    /// Runs the steps on all `n` positions, split into ranges across
    /// threads when the work is large enough. Ranges start at multiples of
    /// [`ALIGN`] (and of whole rows with reductions), so every block of every
    /// part takes the vector paths it takes on one thread: the same bits.
    pub(super) fn run_all(&self, n: usize) -> Result<(), Fail> {
        let parts = parallel::parts_for_elements(n, self.cost());
        if parts >= 2 && self.sinks.iter().any(|k| k.columns) {
            return self.run_split_columns(n);
        }
        if parts < 2 {
            return self.run(0, n);
        }
        let granule = if self.sinks.is_empty() {
            ALIGN
        } else {
            let g = block_len(n, self.row_len)?;
            if g >= n {
                return self.run(0, n);
            }
            // block_len's whole-row granule (blocks are multiples of it).
            let (mut a, mut b) = (self.row_len, ALIGN);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            self.row_len / a * ALIGN
        };
        let parts = parts.min(n.div_ceil(granule));
        if parts < 2 {
            return self.run(0, n);
        }
        // Each part's scratch, allocated here: workers must not allocate.
        let bytes = (self.rows * 8).checked_mul(self.block).ok_or(ERR_OOM)?;
        let total = bytes.checked_mul(parts).ok_or(ERR_OOM)?;
        let scratch = if total > 0 { alloc(total) } else { 0 };
        if total > 0 && scratch == 0 {
            return self.run(0, n);
        }
        let status = [const { AtomicI32::new(0) }; parallel::MAX_PARTS];
        parallel::split_range(parts, n, granule, &|p, lo, hi| {
            if let Err(Fail(e, _)) = self.run_with(scratch + p * bytes, self.block, lo, hi) {
                status[p].store(e, Ordering::Relaxed);
            }
        });
        if total > 0 {
            free(scratch, total);
        }
        // The first failing part holds the first failing block.
        match status
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .find(|&e| e != 0)
        {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// [`Body::run_all`] across threads with column sums: the steps and row
    /// reductions split as usual, each column-summed register written to a
    /// buffer (its own, when it is not an output), then summed here over
    /// all rows in order, the same bits as on one thread.
    fn run_split_columns(&self, n: usize) -> Result<(), Fail> {
        let mut regs = self.regs.to_vec();
        let mut bufs = Vec::new();
        let mut result = Ok(());
        for k in self.sinks.iter().filter(|k| k.columns) {
            let g = &mut regs[k.reg];
            if g.row.is_none() {
                continue; // an output: written anyway
            }
            let bytes = n.checked_mul(g.width).ok_or(ERR_OOM)?;
            let p = alloc(bytes);
            if p == 0 {
                result = Err(ERR_OOM.into());
                break;
            }
            bufs.push((p, bytes));
            (g.base, g.moves, g.row) = (p, true, None);
        }
        if result.is_ok() {
            let rest: Vec<Sink> = self.sinks.iter().filter(|k| !k.columns).copied().collect();
            let body = Body {
                regs: &regs,
                sinks: &rest,
                ..*self
            };
            result = body.run_all(n).and_then(|()| {
                let rows = n / self.row_len;
                for k in self.sinks.iter().filter(|k| k.columns) {
                    let mut c = ColumnState::new(k.width, self.row_len, rows)?;
                    unsafe {
                        c.add_rows(regs[k.reg].base, rows, self.row_len);
                        c.finish(k.out);
                    }
                }
                Ok(())
            });
        }
        for (p, bytes) in bufs {
            free(p, bytes);
        }
        result
    }

    /// Runs the steps on positions `[from, to)`.
    pub(super) fn run(&self, from: usize, to: usize) -> Result<(), Fail> {
        // Small scratch on the stack: no allocation per run in loop bodies.
        let bytes = (self.rows * 8).checked_mul(self.block).ok_or(ERR_OOM)?;
        let mut local = core::mem::MaybeUninit::<[u64; STACK_SCRATCH / 8]>::uninit();
        let scratch = if bytes <= STACK_SCRATCH {
            local.as_mut_ptr() as usize
        } else {
            alloc(bytes)
        };
        if scratch == 0 {
            return Err(ERR_OOM.into());
        }
        let result = self.run_with(scratch, self.block, from, to);
        if bytes > STACK_SCRATCH {
            free(scratch, bytes);
        }
        result
    }
}

/// Fills `len` elements of `w` bytes at `o` with the values a broadcast
/// input (`mode` 2 or 3, parameter `m`) has at positions `start..`.
fn spread(x: usize, mode: i32, m: usize, w: usize, start: usize, len: usize, o: usize) {
    let (mut i, mut done) = (start, 0);
    while done < len {
        let (src, run) = if mode == 2 {
            let k = i % m;
            ((k, false), (m - k).min(len - done))
        } else {
            ((i / m, true), (m - i % m).min(len - done))
        };
        unsafe {
            let d = (o + done * w) as *mut u8;
            let p = (x + src.0 * w) as *const u8;
            if src.1 {
                // One value, `run` times: a typed fill for the 4- and
                // 8-byte dtypes (a copy of runtime size per element is a
                // memcpy call each, which dominated per-row broadcasts).
                match w {
                    4 => fill(p as *const u32, d as *mut u32, run),
                    8 => fill(p as *const u64, d as *mut u64, run),
                    _ => {
                        for j in 0..run {
                            core::ptr::copy_nonoverlapping(p, d.add(j * w), w);
                        }
                    }
                }
            } else {
                core::ptr::copy_nonoverlapping(p, d, run * w);
            }
        }
        i += run;
        done += run;
    }
}

/// Writes the value at `p` to `run` consecutive elements from `d`.
///
/// # Safety
/// `p` readable and `d` writable for `run` elements (alignment not needed).
#[inline(always)]
unsafe fn fill<T: Copy>(p: *const T, d: *mut T, run: usize) {
    let v = p.read_unaligned();
    for j in 0..run {
        d.add(j).write_unaligned(v);
    }
}

impl Exec<'_> {
    /// Runs an `OP_FUSED` group, `red` being `OP_FUSED_REDUCE`'s prefix
    /// (empty for a plain group).
    #[inline(never)]
    pub(super) fn fused(&self, f: &[i32], red: &[i32]) -> Result<(), Fail> {
        self.fused_body(f, red, None, &mut |body, n| body.run_all(n))
    }

    /// Checks the `OP_FUSED` fields `f` (and `OP_FUSED_REDUCE`'s prefix
    /// `red`, empty for none), allocates its outputs and calls `then` with
    /// the runnable body and `n`. With `product` (a buffer and its dtype),
    /// an input of slot −1 reads that buffer (whole, mode 0).
    pub(super) fn fused_body(
        &self,
        f: &[i32],
        red: &[i32],
        product: Option<(usize, i32)>,
        then: &mut dyn FnMut(&Body, usize) -> Result<(), Fail>,
    ) -> Result<(), Fail> {
        let field = |i: usize| f.get(i).copied().ok_or(ERR_TRUNCATED);
        let (n, nin, ntmp, nsteps) = (
            count(field(0)?)?,
            count(field(1)?)?,
            count(field(2)?)?,
            count(field(3)?)?,
        );
        let steps_at = 4 + 4 * nin + 2 * ntmp;
        if f.len() != steps_at + 6 * nsteps {
            return Err(ERR_TRUNCATED.into());
        }
        // Every register is written below before any is read; the stack
        // array is left uninitialised (zeroing it costs more than the
        // small steps of a loop body).
        let mut stack = [const { core::mem::MaybeUninit::<Reg>::uninit() }; STACK_REGS];
        let mut heap = Vec::new();
        let regs: &mut [Reg] = if nin + ntmp <= STACK_REGS {
            for r in &mut stack[..nin + ntmp] {
                r.write(Reg::default());
            }
            unsafe { core::slice::from_raw_parts_mut(stack.as_mut_ptr() as *mut Reg, nin + ntmp) }
        } else {
            heap.resize(nin + ntmp, Reg::default());
            &mut heap
        };
        let mut rows = 0;
        for i in 0..nin {
            let g = &f[4 + 4 * i..8 + 4 * i];
            let base = match product {
                Some((p, dtype)) if g[0] == -1 => {
                    if g[1] != dtype || g[2] != 0 {
                        return Err(ERR_FIELD.into());
                    }
                    p
                }
                _ => self.input(g[0])?,
            };
            let m = count(g[3])?;
            let spread = match g[2] {
                0 | 1 => None,
                2 | 3 if m > 0 && (g[2] == 2 || n % m == 0) => Some((base, g[2], m)),
                _ => return Err(ERR_FIELD.into()),
            };
            regs[i] = Reg {
                dtype: g[1],
                width: width(g[1])?,
                base,
                moves: g[2] == 0,
                scalar: g[2] == 1,
                row: spread.map(|_| {
                    rows += 1;
                    rows - 1
                }),
                spread,
            };
        }
        // Registers first with no buffers, so a malformed program is
        // refused before anything is allocated.
        let temps = &f[4 + 4 * nin..steps_at];
        for (i, t) in temps.chunks(2).enumerate() {
            regs[nin + i] = Reg {
                dtype: t[0],
                width: width(t[0])?,
                base: 0,
                moves: t[1] >= 0,
                scalar: false,
                row: (t[1] < 0).then(|| {
                    rows += 1;
                    rows - 1
                }),
                spread: None,
            };
        }
        let steps = &f[steps_at..];
        check_steps(steps.chunks_exact(6), regs, nin)?;
        // Reductions: a float temporary, an op, rows that tile n.
        let row_len = if red.is_empty() { 0 } else { count(red[0])? };
        if !red.is_empty() && (row_len < 2 || n % row_len != 0) {
            return Err(ERR_FIELD.into());
        }
        let reds = red.get(2..).unwrap_or(&[]).chunks_exact(3);
        for r in reds.clone() {
            let reg = count(r[0])?;
            if reg < nin || reg >= regs.len() || !matches!(regs[reg].dtype, F32 | F64) {
                return Err(ERR_FIELD.into());
            }
            if r[1] != COLUMN_SUM {
                op_in(REDUCE_OPS, r[1])?;
            }
        }
        let block = block_len(n, row_len)?.min(n);
        for (i, t) in temps.chunks(2).enumerate() {
            if t[1] >= 0 {
                let g = &mut regs[nin + i];
                g.base = self.output(t[1], n, g.width)?;
            }
        }
        let mut few = [Sink::default(); STACK_SINKS];
        let mut many = Vec::new();
        let sinks: &mut [Sink] = if reds.len() <= STACK_SINKS {
            &mut few[..reds.len()]
        } else {
            many.resize(reds.len(), Sink::default());
            &mut many
        };
        for (k, r) in reds.enumerate() {
            let (reg, width) = (r[0] as usize, regs[r[0] as usize].width);
            let columns = r[1] == COLUMN_SUM;
            let out = self.output(r[2], if columns { row_len } else { n / row_len }, width)?;
            sinks[k] = Sink {
                reg,
                op: if columns { reduce::SUM } else { r[1] as u32 },
                out,
                width,
                columns,
            };
        }
        let segments = if n >= codegen::MIN_ELEMENTS
            && regs.len() <= codegen::MAX_REGS
            && codegen::enabled()
        {
            codegen::segments(regs, steps, sinks)
        } else {
            Vec::new()
        };
        let body = Body {
            regs,
            nin,
            steps,
            rows,
            block,
            sinks,
            row_len,
            segments: &segments,
        };
        then(&body, n)
    }
}

/// The width a step writes, after checking the widths it reads.
fn check_steps(
    steps: core::slice::ChunksExact<'_, i32>,
    regs: &[Reg],
    nin: usize,
) -> Result<(), Fail> {
    let reg = |r: i32| -> R<&Reg> {
        let i = count(r)?;
        regs.get(i).ok_or(ERR_FIELD)
    };
    for s in steps {
        let dst = count(s[3])?;
        if dst < nin || dst >= regs.len() || reg(s[3])?.scalar {
            return Err(ERR_FIELD.into());
        }
        // Kernels may redo a vector tail that overlaps the body, so a step
        // never writes a register it reads.
        let reads_dst = match s[0] {
            UNARY | CAST => s[4] == s[3],
            BINARY => s[4] == s[3] || s[5] == s[3],
            _ => s[2] == s[3] || s[4] == s[3] || s[5] == s[3],
        };
        if reads_dst {
            return Err(ERR_FIELD.into());
        }
        let reads = |r: i32, w: usize| -> R<()> {
            if reg(r)?.width == w {
                Ok(())
            } else {
                Err(ERR_FIELD)
            }
        };
        let wrote = match s[0] {
            UNARY => {
                let (kd, k) = (kind(s[1])?, op_in(UNARY_OPS, s[2])?);
                reads(s[4], width(s[1])?)?;
                // A unary op keeps the length: a scalar operand only in a
                // one-element program, where it is not marked scalar.
                if reg(s[4])?.scalar {
                    return Err(ERR_FIELD.into());
                }
                if kd == Kind::F64 && k != ISNAN && k != ISFINITE {
                    8
                } else {
                    4
                }
            }
            BINARY => {
                let (kd, k) = (kind(s[1])?, op_in(BINARY_OPS, s[2])?);
                reads(s[4], width(s[1])?)?;
                reads(s[5], width(s[1])?)?;
                if kd == Kind::F64 && !int::is_compare(k) {
                    8
                } else {
                    4
                }
            }
            WHERE => {
                let w = width(s[1])?;
                reads(s[2], w)?;
                let c = reg(s[2])?;
                if !(c.dtype == F64 && w == 8 || (c.dtype == F32 || c.dtype == BOOL) && w == 4) {
                    return Err(ERR_FIELD.into());
                }
                reads(s[4], w)?;
                reads(s[5], w)?;
                w
            }
            CAST => {
                reads(s[4], width(s[1])?)?;
                if reg(s[4])?.scalar {
                    return Err(ERR_FIELD.into());
                }
                width(s[2])?
            }
            _ => return Err(ERR_FIELD.into()),
        };
        if reg(s[3])?.width != wrote {
            return Err(ERR_FIELD.into());
        }
    }
    Ok(())
}

/// Runs step `s` on one block of `len` elements; `at` gives a register's
/// address for this block, `stride` its stride (0 for a scalar input).
fn step(
    s: &[i32],
    len: usize,
    at: &dyn Fn(i32) -> usize,
    stride: &dyn Fn(i32) -> i32,
) -> Result<(), Fail> {
    let (o, x) = (at(s[3]), at(s[4]));
    match s[0] {
        UNARY => {
            let (kd, k) = (kind(s[1])?, s[2] as u32);
            match kd {
                Kind::I32 => {
                    if unary_i32(k, x, o, len) != 0 {
                        return Err(ERR_FIELD.into());
                    }
                }
                _ if k == ISNAN || k == ISFINITE => {
                    int::float_test(k, kd == Kind::F64, x, o, len);
                }
                Kind::F64 => unary_f64(k, x, o, len),
                Kind::F32 => unary_f32(k, x, o, len),
            }
        }
        BINARY => {
            let (kd, k, y) = (kind(s[1])?, s[2] as u32, at(s[5]));
            // A rank-1 layout, as OP_BINARY's flat row: [len, sx, sy].
            let meta = [len as i32, stride(s[4]), stride(s[5])];
            let m = meta.as_ptr() as usize;
            let status = match (kd, int::is_compare(k)) {
                (Kind::I32, _) => binary_i32(k, x, y, o, 1, m),
                (Kind::F32, true) => int::compare_f32(k, x, y, o, 1, m),
                (Kind::F64, true) => int::compare_f64(k, x, y, o, 1, m),
                (Kind::F32, false) => {
                    binary_f32(k, x, y, o, 1, m);
                    0
                }
                (Kind::F64, false) => {
                    binary_f64(k, x, y, o, 1, m);
                    0
                }
            };
            match status {
                0 => {}
                int::DIV_BY_ZERO => return Err(ERR_DIV_BY_ZERO.into()),
                _ => return Err(ERR_FIELD.into()),
            }
        }
        WHERE => {
            let (c, y) = (at(s[2]), at(s[5]));
            let meta = [len as i32, stride(s[2]), stride(s[4]), stride(s[5])];
            let m = meta.as_ptr() as usize;
            if width(s[1])? == 8 {
                where_f64(c, x, y, o, 1, m);
            } else {
                where_f32(c, x, y, o, 1, m);
            }
        }
        CAST => cast(x, s[1] as u32, o, s[2] as u32, len),
        _ => return Err(ERR_FIELD.into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::{GT, MUL, SQUARE, SUB, TANH};

    use crate::program::tests::{read, run};

    /// (1 − tanh(x)²)·g fused over several blocks equals the unfused chain
    /// bit for bit; the tanh is an output too, the rest stays in scratch.
    #[test]
    fn fuses_a_chain_bit_for_bit() {
        let n = 2 * BLOCK + 37;
        let x: Vec<f32> = (0..n).map(|i| (i as f32 - 900.0) * 0.003).collect();
        let g: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 1e-3).collect();
        let one = [1.0f32];
        // Unfused: slots 0 x, 1 g, 2 one; 3 t, 4 t², 5 1 − t², 6 out.
        let mut a = vec![0usize; 7];
        a[..3].copy_from_slice(&[
            x.as_ptr() as usize,
            g.as_ptr() as usize,
            one.as_ptr() as usize,
        ]);
        let m = n as i32;
        #[rustfmt::skip]
        let code = [
            MAGIC, 7,
            OP_UNARY, 7, F32, TANH as i32, 3, 0, m,
            OP_UNARY, 7, F32, SQUARE as i32, 4, 3, m,
            OP_BINARY, 12, F32, SUB as i32, 5, 2, 4, m, 1, m, 0, 1,
            OP_BINARY, 12, F32, MUL as i32, 6, 5, 1, m, 1, m, 1, 1,
        ];
        assert_eq!(run(&code, &mut a), 0);
        // Fused: slots 0 x, 1 g, 2 one; 3 t, 4 out. Registers: 0 x, 1 g,
        // 2 one; 3 t (out), 4 and 5 scratch f32, 6 out.
        let mut b = vec![0usize; 5];
        b[..3].copy_from_slice(&a[..3]);
        #[rustfmt::skip]
        let fused = [
            MAGIC, 5,
            OP_FUSED, 2 + 4 + 12 + 8 + 24, m, 3, 4, 4,
            0, F32, 0, 0, 1, F32, 0, 0, 2, F32, 1, 0,
            F32, 3, F32, -1, F32, -1, F32, 4,
            0, F32, TANH as i32, 3, 0, 0,
            0, F32, SQUARE as i32, 4, 3, 0,
            1, F32, SUB as i32, 5, 2, 4,
            1, F32, MUL as i32, 6, 5, 1,
        ];
        assert_eq!(run(&fused, &mut b), 0);
        let same = |p: usize, q: usize| {
            let (u, v) = (read::<u32>(p, n), read::<u32>(q, n));
            u.iter().zip(&v).position(|(x, y)| x != y)
        };
        assert_eq!(same(a[3], b[3]), None);
        assert_eq!(same(a[6], b[4]), None);
        for (s, bytes) in [(3, 4 * n), (4, 4 * n), (5, 4 * n), (6, 4 * n)] {
            free(a[s], bytes);
        }
        free(b[3], 4 * n);
        free(b[4], 4 * n);
    }

    /// A comparison writes bool; `where` picks between f64 values.
    #[test]
    fn where_over_a_comparison_and_rejects_bad_widths() {
        let x: Vec<f64> = vec![-1.0, 2.0, -3.0, 4.0, 0.5];
        let z = [0.0f64];
        let mut s = vec![0usize; 3];
        s[0] = x.as_ptr() as usize;
        s[1] = z.as_ptr() as usize;
        // Registers: 0 x, 1 zero; 2 c (f64 scratch: gt writes bool, cast to
        // f64 in 3), 4 out = where(c, x, 0).
        #[rustfmt::skip]
        let code = [
            MAGIC, 3,
            OP_FUSED, 2 + 4 + 8 + 6 + 18, 5, 2, 3, 3,
            0, F64, 0, 0, 1, F64, 1, 0,
            BOOL, -1, F64, -1, F64, 2,
            1, F64, GT as i32, 2, 0, 1,
            3, BOOL, F64, 3, 2, 0,
            2, F64, 3, 4, 0, 1,
        ];
        assert_eq!(run(&code, &mut s), 0);
        assert_eq!(read::<f64>(s[2], 5), vec![0.0, 2.0, 0.0, 4.0, 0.5]);
        free(s[2], 40);
        // A step writing f64 into a 4-byte register is refused.
        let mut s = vec![0usize; 3];
        s[0] = x.as_ptr() as usize;
        #[rustfmt::skip]
        let bad = [
            MAGIC, 3,
            OP_FUSED, 2 + 4 + 4 + 2 + 6, 5, 1, 1, 1,
            0, F64, 0, 0,
            F32, 2,
            0, F64, TANH as i32, 1, 0, 0,
        ];
        assert_eq!(run(&bad, &mut s), ERR_FIELD);
        assert_eq!(s[2], 0, "nothing was allocated");
        // So is a step that writes a register it reads.
        #[rustfmt::skip]
        let in_place = [
            MAGIC, 3,
            OP_FUSED, 2 + 4 + 4 + 2 + 12, 5, 1, 1, 2,
            0, F64, 0, 0,
            F64, 2,
            0, F64, TANH as i32, 1, 0, 0,
            1, F64, MUL as i32, 1, 1, 0,
        ];
        assert_eq!(run(&in_place, &mut s), ERR_FIELD);
        assert_eq!(s[2], 0);
    }

    /// Inputs broadcast along leading dims (a bias) and trailing dims (a
    /// per-row value) across block boundaries: (x + b)·c on [700, 3].
    #[test]
    fn broadcast_inputs_repeat_and_cycle() {
        let (rows, cols) = (700usize, 3usize);
        let n = rows * cols;
        let x: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
        let b: Vec<f64> = vec![1.0, -2.0, 0.5];
        let c: Vec<f64> = (0..rows).map(|r| r as f64 - 3.0).collect();
        let mut s = vec![0usize; 4];
        s[..3].copy_from_slice(&[
            x.as_ptr() as usize,
            b.as_ptr() as usize,
            c.as_ptr() as usize,
        ]);
        let (m, k) = (n as i32, cols as i32);
        #[rustfmt::skip]
        let code = [
            MAGIC, 4,
            OP_FUSED, 2 + 4 + 12 + 4 + 12, m, 3, 2, 2,
            0, F64, 0, 0, 1, F64, 2, k, 2, F64, 3, k,
            F64, -1, F64, 3,
            1, F64, crate::elementwise::ADD as i32, 3, 0, 1,
            1, F64, MUL as i32, 4, 3, 2,
        ];
        assert_eq!(run(&code, &mut s), 0);
        let y: Vec<f64> = read(s[3], n);
        for i in 0..n {
            assert_eq!(y[i], (x[i] + b[i % cols]) * c[i / cols], "at {i}");
        }
        free(s[3], 8 * n);
        // A repeat count that does not divide n is refused.
        let mut s = vec![0usize; 4];
        s[..3].copy_from_slice(&[
            x.as_ptr() as usize,
            b.as_ptr() as usize,
            c.as_ptr() as usize,
        ]);
        let mut bad = code;
        bad[8 + 4 * 2 + 3] = 11; // input 2's m: 2,100 is not a multiple of 11
        assert_eq!(run(&bad, &mut s), ERR_FIELD);
    }

    /// One reduction of [`two_reductions`]: the fused op, and the unfused
    /// OP_REDUCE's op and whether it sums over the rows (axis 0).
    #[derive(Clone, Copy)]
    struct Red {
        fused: i32,
        op: i32,
        columns: bool,
    }

    /// Two reductions of tanh(x)·g (x, g of `n` elements in rows of
    /// `len`), the product never written: the fused group against the
    /// unfused chain and OP_REDUCE, bit for bit, also split across
    /// (simulated) threads.
    fn two_reductions<T: Copy + PartialEq + core::fmt::Debug>(
        dt: i32,
        n: usize,
        len: usize,
        reds: [Red; 2],
        v: fn(f64) -> T,
    ) {
        let w = core::mem::size_of::<T>();
        let x: Vec<T> = (0..n).map(|i| v((i as f64 - 900.0) * 0.0031)).collect();
        let g: Vec<T> = (0..n).map(|i| v(1.0 + (i % 97) as f64 * 1e-2)).collect();
        let (m, l, rows) = (n as i32, len as i32, (n / len) as i32);
        let size = |r: Red| if r.columns { len } else { n / len };
        // OP_REDUCE's layout: kept dims first, then the reduced ones.
        let reduce = |r: Red, out: i32| {
            let (kept, red, ks, rs) = if r.columns {
                (l, rows, 1, l)
            } else {
                (rows, l, l, 1)
            };
            [
                OP_REDUCE, 13, dt, r.op, out, 3, kept, 2, 1, kept, red, ks, rs,
            ]
        };
        // Unfused: slots 0 x, 1 g; 2 t, 3 t·g, 4 and 5 the reductions.
        let mut a = vec![x.as_ptr() as usize, g.as_ptr() as usize, 0, 0, 0, 0];
        #[rustfmt::skip]
        let mut code = vec![
            MAGIC, 6,
            OP_UNARY, 7, dt, TANH as i32, 2, 0, m,
            OP_BINARY, 12, dt, MUL as i32, 3, 2, 1, m, 1, m, 1, 1,
        ];
        code.extend(reduce(reds[0], 4));
        code.extend(reduce(reds[1], 5));
        assert_eq!(run(&code, &mut a), 0);
        // Fused: registers 0 x, 1 g, 2 t, 3 t·g (both scratch); slots 0 x,
        // 1 g, 2 and 3 the reductions.
        #[rustfmt::skip]
        let fused = [
            MAGIC, 4,
            OP_FUSED_REDUCE, 2 + 8 + 4 + 8 + 4 + 12, l, 2, 3, reds[0].fused, 2, 3, reds[1].fused, 3,
            m, 2, 2, 2,
            0, dt, 0, 0, 1, dt, 0, 0,
            dt, -1, dt, -1,
            0, dt, TANH as i32, 2, 0, 0,
            1, dt, MUL as i32, 3, 2, 1,
        ];
        for threads in [1, 3] {
            let mut b = vec![x.as_ptr() as usize, g.as_ptr() as usize, 0, 0];
            crate::parallel::set_simulated_threads(threads);
            let splits = crate::parallel::simulated_splits();
            let status = run(&fused, &mut b);
            let split = crate::parallel::simulated_splits() > splits;
            crate::parallel::set_simulated_threads(1);
            assert_eq!(status, 0, "n {n} len {len}");
            assert!(threads == 1 || split || n < 100_000, "n {n}: not split");
            for (i, r) in reds.iter().enumerate() {
                let what = format!("reduction {i}, n {n} len {len}, {threads} threads");
                assert_eq!(
                    read::<T>(a[4 + i], size(*r)),
                    read::<T>(b[2 + i], size(*r)),
                    "{what}"
                );
                free(b[2 + i], w * size(*r));
            }
        }
        for s in [2, 3] {
            free(a[s], w * n);
        }
        for (i, r) in reds.iter().enumerate() {
            free(a[4 + i], w * size(*r));
        }
    }

    /// The sum over axis 0 of tanh(x)·g beside its row sums: for one
    /// block, many, a deep cascade (5,000 rows in blocks of 32), a row as
    /// long as a block, odd widths, f32 and f64.
    #[test]
    fn sums_columns_in_the_same_pass_bit_for_bit() {
        use crate::reduce::SUM;
        let columns = Red {
            fused: COLUMN_SUM,
            op: SUM as i32,
            columns: true,
        };
        let rows = Red {
            fused: SUM as i32,
            op: SUM as i32,
            columns: false,
        };
        for (n, len) in [
            (4130, 10),
            (6144, 64),
            (64 * 5000, 64),
            (4096 * 3, 4096),
            (8 * 333, 8),
            (2085, 2085),
        ] {
            two_reductions::<f32>(F32, n, len, [columns, rows], |v| v as f32);
            two_reductions::<f64>(F64, n, len, [columns, rows], |v| v);
        }
    }

    /// sum and max over rows of tanh(x)·g: for rows shorter and longer
    /// than a block, all n as one row, f32 and f64; and malformed groups.
    #[test]
    fn reduces_rows_in_the_same_pass_bit_for_bit() {
        use crate::reduce::{MAX, SUM};
        let row = |op: u32| Red {
            fused: op as i32,
            op: op as i32,
            columns: false,
        };
        for (n, len) in [
            (4130, 10),
            (4500, 1500),
            (6144, 2048),
            (2085, 2085),
            (130, 13),
        ] {
            two_reductions::<f32>(F32, n, len, [row(SUM), row(MAX)], |v| v as f32);
            two_reductions::<f64>(F64, n, len, [row(SUM), row(MAX)], |v| v);
        }
        // Rows that do not tile n, an integer register: refused, nothing allocated.
        let x = [1i32; 6];
        let mut s = vec![x.as_ptr() as usize, 0];
        #[rustfmt::skip]
        let bad = |len: i32, dt: i32| [
            MAGIC, 2,
            OP_FUSED_REDUCE, 2 + 5 + 4 + 4 + 4 + 6, len, 1, 2, SUM as i32, 1,
            6, 1, 2, 1,
            0, dt, 0, 0,
            dt, -1, dt, -1,
            0, dt, crate::elementwise::NEG as i32, 1, 0, 0,
        ];
        assert_eq!(run(&bad(4, F32), &mut s), ERR_FIELD);
        assert_eq!(run(&bad(3, I32), &mut s), ERR_FIELD);
        assert_eq!(s[1], 0);
    }
}
