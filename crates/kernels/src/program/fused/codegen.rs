//! WebAssembly code for runs of a fused body's steps, so a block's values
//! stay in registers (wasm locals) from one step to the next instead of
//! going through a scratch row per step.
//!
//! The interpreter ([`super::step`]) runs each step as one kernel call over
//! a block: two loads and a store per element and step. A compiled run
//! loads each register it reads once per vector, keeps what it computes in
//! locals, and stores only what is read after it (outputs, the registers a
//! reduction reads, and what later steps read). Runs are made of float
//! arithmetic with the interpreter's own vector instruction (add, sub, mul,
//! div, neg, abs, sqrt, square as x·x, maximum, minimum, relu as max(x, 0)),
//! so their results are the interpreter's bit for bit (a block with a tail
//! shorter than a vector, where kernels take their own tail paths, is
//! interpreted); other steps (tanh, exp, compares, where, casts) stay
//! interpreted between them ([`segments`]).
//!
//! [`function_body`] writes a function body (locals and code, as in a
//! code section entry without its size) of type `(regs: i32, bytes: i32)`:
//! `regs` holds a flag word (0) and then every register's address for the
//! block as a u32, and `bytes` (a nonzero multiple of 16) is how many bytes
//! of each register to run. The host wraps it into a module that imports
//! the kernels' memory, compiles it and adds it to the kernels' function
//! table ([`compile`]): the table index is then a Rust function pointer of
//! type [`Compiled`]. Workers' instances get the same function at the same
//! index before they run a part; a worker that could not compile it has a
//! stand-in there that sets the flag word, and the caller then interprets.

use super::{Reg, Sink, BINARY, CAST, F32, F64, UNARY};
use crate::elementwise::{ABS, ADD, DIV, MAXIMUM, MINIMUM, MUL, NEG, RELU, SQRT, SQUARE, SUB};

/// A compiled body: `f(regs, bytes)`.
pub(super) type Compiled = unsafe extern "C" fn(usize, usize);

/// Bodies shorter than this many elements keep the interpreter: making and
/// looking up the code costs about what a few thousand elements take.
pub(super) const MIN_ELEMENTS: usize = 4096;

/// Registers a compiled body may have (their addresses go on the stack,
/// after the flag word).
pub(super) const MAX_REGS: usize = 64;

const I32: u8 = 0x7f;
const V128: u8 = 0x7b;

fn leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A SIMD instruction (prefix 0xfd, LEB opcode).
fn simd(out: &mut Vec<u8>, op: u32) {
    out.push(0xfd);
    leb(out, op);
}

/// The vector opcodes of one lane type.
struct Ops {
    add: u32,
    sub: u32,
    mul: u32,
    div: u32,
    neg: u32,
    abs: u32,
    sqrt: u32,
    min: u32,
    max: u32,
    /// `v128.load32_splat` or `v128.load64_splat`.
    splat: u32,
}

const F32X4: Ops = Ops {
    add: 0xe4,
    sub: 0xe5,
    mul: 0xe6,
    div: 0xe7,
    neg: 0xe1,
    abs: 0xe0,
    sqrt: 0xe3,
    min: 0xe8,
    max: 0xe9,
    splat: 9,
};
const F64X2: Ops = Ops {
    add: 0xf0,
    sub: 0xf1,
    mul: 0xf2,
    div: 0xf3,
    neg: 0xed,
    abs: 0xec,
    sqrt: 0xef,
    min: 0xf4,
    max: 0xf5,
    splat: 10,
};

/// A run of a body's steps, `steps[from..to]` (in steps of six words):
/// compiled (with the width of its values), or run by the interpreter.
#[derive(Clone, Copy)]
pub(super) struct Segment {
    pub from: usize,
    pub to: usize,
    pub code: Option<(Compiled, usize)>,
    /// Whether the code reads only inputs without broadcast copies and
    /// what it wrote itself, so it may run over many blocks at once.
    pub whole: bool,
}

/// The float dtype step `s` computes in when this module makes code for it.
fn compiled_dtype(s: &[i32], regs: &[Reg]) -> Option<i32> {
    let supported = match s[0] {
        UNARY => matches!(s[2] as u32, NEG | ABS | SQRT | SQUARE | RELU),
        BINARY => matches!(s[2] as u32, ADD | SUB | MUL | DIV | MAXIMUM | MINIMUM),
        _ => false,
    };
    let operands: &[i32] = if s[0] == UNARY { &s[3..5] } else { &s[3..6] };
    let same = operands.iter().all(|&r| regs[r as usize].dtype == s[1]);
    (supported && same && matches!(s[1], F32 | F64)).then_some(s[1])
}

/// The registers step `s` reads.
fn reads(s: &[i32]) -> &[i32] {
    match s[0] {
        UNARY | CAST => &s[4..5],
        BINARY => &s[4..6],
        // where: cond, x, y, and its destination (never read: at most an
        // extra store)
        _ => &s[2..6],
    }
}

/// The body's steps cut into runs: each longest run of at least two steps
/// this module makes code for (one dtype) is compiled, the steps between
/// run interpreted. Empty when nothing is compiled.
pub(super) fn segments(regs: &[Reg], steps: &[i32], sinks: &[Sink]) -> Vec<Segment> {
    let list: Vec<&[i32]> = steps.chunks_exact(6).collect();
    let mut out: Vec<Segment> = Vec::new();
    let mut push = |from: usize, to: usize, code: Option<(Compiled, usize)>, whole: bool| match out
        .last_mut()
    {
        Some(last) if last.code.is_none() && code.is_none() => last.to = to,
        _ => out.push(Segment {
            from,
            to,
            code,
            whole,
        }),
    };
    let mut a = 0;
    while a < list.len() {
        let Some(dtype) = compiled_dtype(list[a], regs) else {
            push(a, a + 1, None, false);
            a += 1;
            continue;
        };
        let mut b = a + 1;
        while b < list.len() && compiled_dtype(list[b], regs) == Some(dtype) {
            b += 1;
        }
        // Stored: outputs, what reductions read, and what later steps read.
        let keep = |r: usize| {
            regs[r].moves
                || sinks.iter().any(|k| k.reg == r)
                || list[b..].iter().any(|s| reads(s).contains(&(r as i32)))
        };
        let code = if b - a >= 2 {
            let width = if dtype == F64 { 8 } else { 4 };
            compile(&function_body(regs, &list[a..b], dtype, &keep)).map(|f| (f, width))
        } else {
            None
        };
        push(a, b, code, self_contained(regs, &list[a..b]));
        a = b;
    }
    if out.iter().all(|g| g.code.is_none()) {
        out.clear();
    }
    out
}

/// Whether `steps` read only inputs that are not broadcast copies, and
/// temporaries they wrote before.
fn self_contained(regs: &[Reg], steps: &[&[i32]]) -> bool {
    let mut written = vec![false; regs.len()];
    steps.iter().all(|s| {
        let ok = reads(s).iter().all(|&r| {
            let g = &regs[r as usize];
            written[r as usize] || g.row.is_none() && g.spread.is_none() && (g.moves || g.scalar)
        });
        written[s[3] as usize] = true;
        ok
    })
}

/// The function body for `steps` (each supported, of `dtype`) over `regs`,
/// storing the registers `keep` names.
fn function_body(
    regs: &[Reg],
    steps: &[&[i32]],
    dtype: i32,
    keep: &dyn Fn(usize) -> bool,
) -> Vec<u8> {
    let ops = if dtype == F64 { &F64X2 } else { &F32X4 };
    // Locals: 2 = byte offset i; then one i32 pointer and one v128 value
    // per register.
    let n = regs.len() as u32;
    let (ptr, val) = (|r: usize| 3 + r as u32, |r: usize| 3 + n + r as u32);
    let mut out = Vec::with_capacity(64 + steps.len() * 24);
    out.push(2);
    leb(&mut out, 1 + n);
    out.push(I32);
    leb(&mut out, n);
    out.push(V128);
    // Which registers the steps read and write; inputs load on first use
    // in each iteration.
    let mut used = vec![false; regs.len()];
    for s in steps {
        let k = if s[0] == UNARY { 5 } else { 6 };
        s[3..k].iter().for_each(|&r| used[r as usize] = true);
    }
    let local = |out: &mut Vec<u8>, op: u8, i: u32| {
        out.push(op);
        leb(out, i);
    };
    // memarg: alignment hint 1 byte, offset.
    let memarg = |out: &mut Vec<u8>, offset: u32| {
        out.push(0);
        leb(out, offset);
    };
    for (r, g) in regs.iter().enumerate().filter(|&(r, _)| used[r]) {
        local(&mut out, 0x20, 0);
        out.push(0x28); // i32.load
        out.push(2);
        leb(&mut out, 4 + 4 * r as u32);
        if g.scalar {
            simd(&mut out, ops.splat);
            memarg(&mut out, 0);
            local(&mut out, 0x21, val(r));
        } else {
            local(&mut out, 0x21, ptr(r));
        }
    }
    let address = |out: &mut Vec<u8>, r: usize| {
        local(out, 0x20, ptr(r));
        local(out, 0x20, 2);
        out.push(0x6a); // i32.add
    };
    out.extend_from_slice(&[0x03, 0x40]); // loop
    let mut loaded = vec![false; regs.len()];
    for s in steps {
        let operands = if s[0] == UNARY { &s[4..5] } else { &s[4..6] };
        let square = s[0] == UNARY && s[2] as u32 == SQUARE;
        for &r in operands.iter().chain(square.then_some(&s[4])) {
            let r = r as usize;
            // Scalars were splatted before the loop; any other register
            // not yet written in this iteration is read from memory.
            if regs[r].scalar || loaded[r] {
                local(&mut out, 0x20, val(r));
            } else {
                address(&mut out, r);
                simd(&mut out, 0); // v128.load
                memarg(&mut out, 0);
                local(&mut out, 0x22, val(r)); // local.tee
                loaded[r] = true;
            }
        }
        let op = match (s[0], s[2] as u32) {
            (UNARY, NEG) => ops.neg,
            (UNARY, ABS) => ops.abs,
            (UNARY, SQRT) => ops.sqrt,
            (UNARY, RELU) => {
                // max(x, 0), as the interpreter's relu.
                simd(&mut out, 12); // v128.const
                out.extend_from_slice(&[0; 16]);
                ops.max
            }
            (UNARY, _) => ops.mul,
            (_, ADD) => ops.add,
            (_, SUB) => ops.sub,
            (_, MUL) => ops.mul,
            (_, MAXIMUM) => ops.max,
            (_, MINIMUM) => ops.min,
            _ => ops.div,
        };
        simd(&mut out, op);
        let dst = s[3] as usize;
        local(&mut out, 0x21, val(dst));
        loaded[dst] = true;
        if keep(dst) {
            address(&mut out, dst);
            local(&mut out, 0x20, val(dst));
            simd(&mut out, 11); // v128.store
            memarg(&mut out, 0);
        }
    }
    // i += 16; continue while i < bytes.
    local(&mut out, 0x20, 2);
    out.extend_from_slice(&[0x41, 16, 0x6a]);
    local(&mut out, 0x22, 2);
    local(&mut out, 0x20, 1);
    out.extend_from_slice(&[0x49, 0x0d, 0, 0x0b, 0x0b]);
    out
}

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "jacobi_codegen")]
    extern "C" {
        /// Whether compiled code is to be made and used now (a switch for
        /// tests and comparisons).
        pub fn enabled() -> u32;
        /// Compiles the function body of `len` bytes at `body` and returns
        /// its index in the function table, or 0 when it cannot.
        pub fn compile(body: usize, len: usize) -> usize;
    }
}

/// Whether the host compiles bodies now ([`MIN_ELEMENTS`] keeps the cost
/// of asking off small bodies).
pub(super) fn enabled() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        unsafe { host::enabled() != 0 }
    }
    #[cfg(not(target_arch = "wasm32"))]
    false
}

/// The compiled function for `code` (made by [`function_body`]), compiling
/// it at the first request; `None` without a host compiler.
fn compile(code: &[u8]) -> Option<Compiled> {
    #[cfg(target_arch = "wasm32")]
    {
        use std::collections::HashMap;
        use std::sync::Mutex;
        /// Compiled bodies kept (each is a table slot and a small module).
        const MAX_COMPILED: usize = 4096;
        // Only the main thread runs `fused_body`, so the lock is never
        // contended; it is a Mutex so that the static is Sync.
        static CACHE: Mutex<Option<HashMap<Vec<u8>, usize>>> = Mutex::new(None);
        let mut cache = CACHE.lock().ok()?;
        let cache = cache.get_or_insert_with(HashMap::new);
        let index = match cache.get(code) {
            Some(&i) => i,
            None if cache.len() < MAX_COMPILED => {
                let i = unsafe { host::compile(code.as_ptr() as usize, code.len()) };
                // A refusal (0) is not kept: the host may be switched on later.
                if i != 0 {
                    cache.insert(code.to_vec(), i);
                }
                i
            }
            None => 0,
        };
        // SAFETY: the host put a function of type (i32, i32) -> () at
        // `index`; wasm32 function pointers are table indices.
        (index != 0).then(|| unsafe { core::mem::transmute::<usize, Compiled>(index) })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = code;
        None
    }
}
