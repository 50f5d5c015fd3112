/* tslint:disable */
/* eslint-disable */

/**
 * Allocate `bytes` (uninitialised, 16-byte aligned). Returns 0 when out of
 * memory (the caller throws a RangeError; no trap).
 */
export function alloc(bytes: number): number;

/**
 * argmax (`is_max`) / argmin of contiguous x viewed as `[outer, len, inner]`
 * along `len`; int32 out `[outer, inner]`; first occurrence; a NaN wins.
 * Returns 0, 1 when `len == 0` with a non-empty output (no answer), or 2
 * when out of memory for the scratch row (`inner > 1` only).
 */
export function argreduce_f32(is_max: boolean, x: number, out: number, outer: number, len: number, inner: number): number;

/**
 * As [`argreduce_f32`] for f64.
 */
export function argreduce_f64(is_max: boolean, x: number, out: number, outer: number, len: number, inner: number): number;

/**
 * Broadcasting binary op on f32. `meta` = `[shape, a_strides, b_strides]`
 * (i32 × rank each; stride 0 broadcasts); `out` is contiguous.
 */
export function binary_f32(op: number, a: number, b: number, out: number, rank: number, meta: number): void;

/**
 * Broadcasting binary op on f64 (layout as [`binary_f32`]).
 */
export function binary_f64(op: number, a: number, b: number, out: number, rank: number, meta: number): void;

/**
 * Convert `n` elements; dtype codes 0 f32, 1 f64, 2 i32, 3 bool. Float →
 * int truncates toward zero (saturating; NaN → 0).
 */
export function cast(x: number, from: number, out: number, to: number, n: number): void;

/**
 * `dst[Σ i_d * strides_d] = src[i]` (src contiguous; `dst` already offset),
 * 4-byte elements.
 */
export function copy_into_4(src: number, dst: number, rank: number, meta: number): void;

/**
 * As [`copy_into_4`] for 8-byte elements.
 */
export function copy_into_8(src: number, dst: number, rank: number, meta: number): void;

/**
 * `out[i] = x[Σ i_d * strides_d]` for 4-byte elements (`x` already offset).
 */
export function copy_strided_4(x: number, out: number, rank: number, meta: number): void;

/**
 * As [`copy_strided_4`] for 8-byte elements.
 */
export function copy_strided_8(x: number, out: number, rank: number, meta: number): void;

/**
 * Fill `n` f32 with `v`.
 */
export function fill_f32(out: number, n: number, v: number): void;

/**
 * Fill `n` f64 with `v`.
 */
export function fill_f64(out: number, n: number, v: number): void;

/**
 * Fill `n` i32 with `v`.
 */
export function fill_i32(out: number, n: number, v: number): void;

/**
 * Free a block from [`alloc`] (same `bytes`). `ptr == 0` is ignored.
 */
export function free(ptr: number, bytes: number): void;

/**
 * `out = zeros([outer, dim, inner]); out[a, idx[j], c] += src[a, j, c]`,
 * f32. Returns -1 or the position of the first out-of-range index.
 */
export function index_add_f32(src: number, out: number, outer: number, dim: number, inner: number, idx: number, nidx: number): number;

/**
 * As [`index_add_f32`] for f64.
 */
export function index_add_f64(src: number, out: number, outer: number, dim: number, inner: number, idx: number, nidx: number): number;

/**
 * As [`index_add_f32`] for i32 (wrapping add).
 */
export function index_add_i32(src: number, out: number, outer: number, dim: number, inner: number, idx: number, nidx: number): number;

/**
 * `out[a, j, c] = x[a, idx[j], c]` with x `[outer, dim, inner]` contiguous,
 * 4-byte elements. Returns -1 on success, else the position of the first
 * out-of-range index (nothing written).
 */
export function index_select_4(x: number, out: number, outer: number, dim: number, inner: number, idx: number, nidx: number): number;

/**
 * As [`index_select_4`] for 8-byte elements.
 */
export function index_select_8(x: number, out: number, outer: number, dim: number, inner: number, idx: number, nidx: number): number;

/**
 * Batched f32 matmul; see the module doc for the layout. Returns 0, or
 * [`OUT_OF_MEMORY`].
 */
export function matmul_f32(a: number, b: number, c: number, batch: number, m: number, n: number, k: number, trans_a: boolean, trans_b: boolean, a_batch_stride: number, b_batch_stride: number): number;

/**
 * As [`matmul_f32`] for f64.
 */
export function matmul_f64(a: number, b: number, c: number, batch: number, m: number, n: number, k: number, trans_a: boolean, trans_b: boolean, a_batch_stride: number, b_batch_stride: number): number;

/**
 * The [`Path`] (as its number) that [`matmul_f32`]/[`matmul_f64`] take for
 * one matrix of this shape and layout; for tests.
 */
export function matmul_path(m: number, n: number, k: number, trans_a: boolean, trans_b: boolean): number;

/**
 * `n` standard-normal f32 (Box–Muller in f64, then rounded).
 */
export function random_normal_f32(out: number, n: number, seed_lo: number, seed_hi: number, ctr_lo: number, ctr_hi: number): void;

/**
 * `n` standard-normal f64.
 */
export function random_normal_f64(out: number, n: number, seed_lo: number, seed_hi: number, ctr_lo: number, ctr_hi: number): void;

/**
 * `n` uniform f32 in [0, 1); element i uses counter `ctr + i`.
 */
export function random_uniform_f32(out: number, n: number, seed_lo: number, seed_hi: number, ctr_lo: number, ctr_hi: number): void;

/**
 * `n` uniform f64 in [0, 1).
 */
export function random_uniform_f64(out: number, n: number, seed_lo: number, seed_hi: number, ctr_lo: number, ctr_hi: number): void;

/**
 * Reduce f32 (op: 0 sum, 1 prod, 2 max, 3 min). `meta` = `[shape, strides]`,
 * last `nred` dims reduced; `out` holds the kept dims, contiguous.
 */
export function reduce_f32(op: number, x: number, out: number, rank: number, nred: number, meta: number): void;

/**
 * As [`reduce_f32`] for f64.
 */
export function reduce_f64(op: number, x: number, out: number, rank: number, nred: number, meta: number): void;

/**
 * A worker's entry: runs part `part` of the job at `job`, whose first word
 * says which kernel it is.
 */
export function run_part(job: number, part: number): void;

/**
 * Runs the instruction stream of `code_len` i32 at `code` over the slot
 * table at `slots` (see the module doc). Returns 0, or an `ERR_*` status
 * with the slots as they were when the run stopped; then, if `info` is not
 * 0, it receives 4 i32: the word offset of the failing instruction and the
 * failure's details (see `ERR_INDEX`).
 */
export function run_program(code: number, code_len: number, slots: number, info: number): number;

/**
 * `out[i] = op(x[i])` for `n` contiguous f32. Transcendentals are SIMD
 * approximations (see `mathf`).
 */
export function unary_f32(op: number, x: number, out: number, n: number): void;

/**
 * `out[i] = op(x[i])` for `n` contiguous f64 (transcendentals: Rust `std`,
 * < 1 ulp).
 */
export function unary_f64(op: number, x: number, out: number, n: number): void;

/**
 * `out = cond != 0 ? a : b` with broadcasting, f32 (cond is f32 too).
 * `meta` = `[shape, c_strides, a_strides, b_strides]`.
 */
export function where_f32(cond: number, a: number, b: number, out: number, rank: number, meta: number): void;

/**
 * As [`where_f32`] for f64.
 */
export function where_f64(cond: number, a: number, b: number, out: number, rank: number, meta: number): void;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly alloc: (a: number) => number;
    readonly argreduce_f32: (a: number, b: number, c: number, d: number, e: number, f: number) => number;
    readonly argreduce_f64: (a: number, b: number, c: number, d: number, e: number, f: number) => number;
    readonly binary_f32: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly binary_f64: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly cast: (a: number, b: number, c: number, d: number, e: number) => void;
    readonly copy_into_4: (a: number, b: number, c: number, d: number) => void;
    readonly copy_into_8: (a: number, b: number, c: number, d: number) => void;
    readonly copy_strided_4: (a: number, b: number, c: number, d: number) => void;
    readonly copy_strided_8: (a: number, b: number, c: number, d: number) => void;
    readonly fill_f32: (a: number, b: number, c: number) => void;
    readonly fill_f64: (a: number, b: number, c: number) => void;
    readonly fill_i32: (a: number, b: number, c: number) => void;
    readonly free: (a: number, b: number) => void;
    readonly index_add_f32: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => number;
    readonly index_add_f64: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => number;
    readonly index_add_i32: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => number;
    readonly index_select_4: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => number;
    readonly index_select_8: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => number;
    readonly matmul_f32: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number) => number;
    readonly matmul_f64: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number) => number;
    readonly matmul_path: (a: number, b: number, c: number, d: number, e: number) => number;
    readonly random_normal_f32: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly random_normal_f64: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly random_uniform_f32: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly random_uniform_f64: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly reduce_f32: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly reduce_f64: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly run_part: (a: number, b: number) => void;
    readonly run_program: (a: number, b: number, c: number, d: number) => number;
    readonly unary_f32: (a: number, b: number, c: number, d: number) => void;
    readonly unary_f64: (a: number, b: number, c: number, d: number) => void;
    readonly where_f32: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly where_f64: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
