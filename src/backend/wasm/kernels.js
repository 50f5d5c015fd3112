/* @ts-self-types="./kernels.d.ts" */

/**
 * Allocate `bytes` (uninitialised, 16-byte aligned). Returns 0 when out of
 * memory (the caller throws a RangeError; no trap).
 * @param {number} bytes
 * @returns {number}
 */
export function alloc(bytes) {
    const ret = wasm.alloc(bytes);
    return ret >>> 0;
}

/**
 * argmax (`is_max`) / argmin of contiguous x viewed as `[outer, len, inner]`
 * along `len`; int32 out `[outer, inner]`; first occurrence; a NaN wins.
 * Returns 0, 1 when `len == 0` with a non-empty output (no answer), or 2
 * when out of memory for the scratch row (`inner > 1` only).
 * @param {boolean} is_max
 * @param {number} x
 * @param {number} out
 * @param {number} outer
 * @param {number} len
 * @param {number} inner
 * @returns {number}
 */
export function argreduce_f32(is_max, x, out, outer, len, inner) {
    const ret = wasm.argreduce_f32(is_max, x, out, outer, len, inner);
    return ret;
}

/**
 * As [`argreduce_f32`] for f64.
 * @param {boolean} is_max
 * @param {number} x
 * @param {number} out
 * @param {number} outer
 * @param {number} len
 * @param {number} inner
 * @returns {number}
 */
export function argreduce_f64(is_max, x, out, outer, len, inner) {
    const ret = wasm.argreduce_f64(is_max, x, out, outer, len, inner);
    return ret;
}

/**
 * Broadcasting binary op on f32. `meta` = `[shape, a_strides, b_strides]`
 * (i32 × rank each; stride 0 broadcasts); `out` is contiguous.
 * @param {number} op
 * @param {number} a
 * @param {number} b
 * @param {number} out
 * @param {number} rank
 * @param {number} meta
 */
export function binary_f32(op, a, b, out, rank, meta) {
    wasm.binary_f32(op, a, b, out, rank, meta);
}

/**
 * Broadcasting binary op on f64 (layout as [`binary_f32`]).
 * @param {number} op
 * @param {number} a
 * @param {number} b
 * @param {number} out
 * @param {number} rank
 * @param {number} meta
 */
export function binary_f64(op, a, b, out, rank, meta) {
    wasm.binary_f64(op, a, b, out, rank, meta);
}

/**
 * Convert `n` elements; dtype codes 0 f32, 1 f64, 2 i32, 3 bool. Float →
 * int truncates toward zero (saturating; NaN → 0).
 * @param {number} x
 * @param {number} from
 * @param {number} out
 * @param {number} to
 * @param {number} n
 */
export function cast(x, from, out, to, n) {
    wasm.cast(x, from, out, to, n);
}

/**
 * `dst[Σ i_d * strides_d] = src[i]` (src contiguous; `dst` already offset),
 * 4-byte elements.
 * @param {number} src
 * @param {number} dst
 * @param {number} rank
 * @param {number} meta
 */
export function copy_into_4(src, dst, rank, meta) {
    wasm.copy_into_4(src, dst, rank, meta);
}

/**
 * As [`copy_into_4`] for 8-byte elements.
 * @param {number} src
 * @param {number} dst
 * @param {number} rank
 * @param {number} meta
 */
export function copy_into_8(src, dst, rank, meta) {
    wasm.copy_into_8(src, dst, rank, meta);
}

/**
 * `out[i] = x[Σ i_d * strides_d]` for 4-byte elements (`x` already offset).
 * @param {number} x
 * @param {number} out
 * @param {number} rank
 * @param {number} meta
 */
export function copy_strided_4(x, out, rank, meta) {
    wasm.copy_strided_4(x, out, rank, meta);
}

/**
 * As [`copy_strided_4`] for 8-byte elements.
 * @param {number} x
 * @param {number} out
 * @param {number} rank
 * @param {number} meta
 */
export function copy_strided_8(x, out, rank, meta) {
    wasm.copy_strided_8(x, out, rank, meta);
}

/**
 * Fill `n` f32 with `v`.
 * @param {number} out
 * @param {number} n
 * @param {number} v
 */
export function fill_f32(out, n, v) {
    wasm.fill_f32(out, n, v);
}

/**
 * Fill `n` f64 with `v`.
 * @param {number} out
 * @param {number} n
 * @param {number} v
 */
export function fill_f64(out, n, v) {
    wasm.fill_f64(out, n, v);
}

/**
 * Fill `n` i32 with `v`.
 * @param {number} out
 * @param {number} n
 * @param {number} v
 */
export function fill_i32(out, n, v) {
    wasm.fill_i32(out, n, v);
}

/**
 * Free a block from [`alloc`] (same `bytes`). `ptr == 0` is ignored.
 * @param {number} ptr
 * @param {number} bytes
 */
export function free(ptr, bytes) {
    wasm.free(ptr, bytes);
}

/**
 * `out = zeros([outer, dim, inner]); out[a, idx[j], c] += src[a, j, c]`,
 * f32. Returns -1 or the position of the first out-of-range index.
 * @param {number} src
 * @param {number} out
 * @param {number} outer
 * @param {number} dim
 * @param {number} inner
 * @param {number} idx
 * @param {number} nidx
 * @returns {number}
 */
export function index_add_f32(src, out, outer, dim, inner, idx, nidx) {
    const ret = wasm.index_add_f32(src, out, outer, dim, inner, idx, nidx);
    return ret;
}

/**
 * As [`index_add_f32`] for f64.
 * @param {number} src
 * @param {number} out
 * @param {number} outer
 * @param {number} dim
 * @param {number} inner
 * @param {number} idx
 * @param {number} nidx
 * @returns {number}
 */
export function index_add_f64(src, out, outer, dim, inner, idx, nidx) {
    const ret = wasm.index_add_f64(src, out, outer, dim, inner, idx, nidx);
    return ret;
}

/**
 * As [`index_add_f32`] for i32 (wrapping add).
 * @param {number} src
 * @param {number} out
 * @param {number} outer
 * @param {number} dim
 * @param {number} inner
 * @param {number} idx
 * @param {number} nidx
 * @returns {number}
 */
export function index_add_i32(src, out, outer, dim, inner, idx, nidx) {
    const ret = wasm.index_add_i32(src, out, outer, dim, inner, idx, nidx);
    return ret;
}

/**
 * `out[a, j, c] = x[a, idx[j], c]` with x `[outer, dim, inner]` contiguous,
 * 4-byte elements. Returns -1 on success, else the position of the first
 * out-of-range index (nothing written).
 * @param {number} x
 * @param {number} out
 * @param {number} outer
 * @param {number} dim
 * @param {number} inner
 * @param {number} idx
 * @param {number} nidx
 * @returns {number}
 */
export function index_select_4(x, out, outer, dim, inner, idx, nidx) {
    const ret = wasm.index_select_4(x, out, outer, dim, inner, idx, nidx);
    return ret;
}

/**
 * As [`index_select_4`] for 8-byte elements.
 * @param {number} x
 * @param {number} out
 * @param {number} outer
 * @param {number} dim
 * @param {number} inner
 * @param {number} idx
 * @param {number} nidx
 * @returns {number}
 */
export function index_select_8(x, out, outer, dim, inner, idx, nidx) {
    const ret = wasm.index_select_8(x, out, outer, dim, inner, idx, nidx);
    return ret;
}

/**
 * Batched f32 matmul; see the module doc for the layout. Returns 0, or
 * [`OUT_OF_MEMORY`].
 * @param {number} a
 * @param {number} b
 * @param {number} c
 * @param {number} batch
 * @param {number} m
 * @param {number} n
 * @param {number} k
 * @param {boolean} trans_a
 * @param {boolean} trans_b
 * @param {number} a_batch_stride
 * @param {number} b_batch_stride
 * @returns {number}
 */
export function matmul_f32(a, b, c, batch, m, n, k, trans_a, trans_b, a_batch_stride, b_batch_stride) {
    const ret = wasm.matmul_f32(a, b, c, batch, m, n, k, trans_a, trans_b, a_batch_stride, b_batch_stride);
    return ret;
}

/**
 * As [`matmul_f32`] for f64.
 * @param {number} a
 * @param {number} b
 * @param {number} c
 * @param {number} batch
 * @param {number} m
 * @param {number} n
 * @param {number} k
 * @param {boolean} trans_a
 * @param {boolean} trans_b
 * @param {number} a_batch_stride
 * @param {number} b_batch_stride
 * @returns {number}
 */
export function matmul_f64(a, b, c, batch, m, n, k, trans_a, trans_b, a_batch_stride, b_batch_stride) {
    const ret = wasm.matmul_f64(a, b, c, batch, m, n, k, trans_a, trans_b, a_batch_stride, b_batch_stride);
    return ret;
}

/**
 * The [`Path`] (as its number) that [`matmul_f32`]/[`matmul_f64`] take for
 * one matrix of this shape and layout; for tests.
 * @param {number} m
 * @param {number} n
 * @param {number} k
 * @param {boolean} trans_a
 * @param {boolean} trans_b
 * @returns {number}
 */
export function matmul_path(m, n, k, trans_a, trans_b) {
    const ret = wasm.matmul_path(m, n, k, trans_a, trans_b);
    return ret >>> 0;
}

/**
 * `n` standard-normal f32 (Box–Muller in f64, then rounded).
 * @param {number} out
 * @param {number} n
 * @param {number} seed_lo
 * @param {number} seed_hi
 * @param {number} ctr_lo
 * @param {number} ctr_hi
 */
export function random_normal_f32(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi) {
    wasm.random_normal_f32(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi);
}

/**
 * `n` standard-normal f64.
 * @param {number} out
 * @param {number} n
 * @param {number} seed_lo
 * @param {number} seed_hi
 * @param {number} ctr_lo
 * @param {number} ctr_hi
 */
export function random_normal_f64(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi) {
    wasm.random_normal_f64(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi);
}

/**
 * `n` uniform f32 in [0, 1); element i uses counter `ctr + i`.
 * @param {number} out
 * @param {number} n
 * @param {number} seed_lo
 * @param {number} seed_hi
 * @param {number} ctr_lo
 * @param {number} ctr_hi
 */
export function random_uniform_f32(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi) {
    wasm.random_uniform_f32(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi);
}

/**
 * `n` uniform f64 in [0, 1).
 * @param {number} out
 * @param {number} n
 * @param {number} seed_lo
 * @param {number} seed_hi
 * @param {number} ctr_lo
 * @param {number} ctr_hi
 */
export function random_uniform_f64(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi) {
    wasm.random_uniform_f64(out, n, seed_lo, seed_hi, ctr_lo, ctr_hi);
}

/**
 * Reduce f32 (op: 0 sum, 1 prod, 2 max, 3 min). `meta` = `[shape, strides]`,
 * last `nred` dims reduced; `out` holds the kept dims, contiguous.
 * @param {number} op
 * @param {number} x
 * @param {number} out
 * @param {number} rank
 * @param {number} nred
 * @param {number} meta
 */
export function reduce_f32(op, x, out, rank, nred, meta) {
    wasm.reduce_f32(op, x, out, rank, nred, meta);
}

/**
 * As [`reduce_f32`] for f64.
 * @param {number} op
 * @param {number} x
 * @param {number} out
 * @param {number} rank
 * @param {number} nred
 * @param {number} meta
 */
export function reduce_f64(op, x, out, rank, nred, meta) {
    wasm.reduce_f64(op, x, out, rank, nred, meta);
}

/**
 * Runs the instruction stream of `code_len` i32 at `code` over the slot
 * table at `slots` (see the module doc). Returns 0, or an `ERR_*` status
 * with the slots as they were when the run stopped; then, if `info` is not
 * 0, it receives 4 i32: the word offset of the failing instruction and the
 * failure's details (see `ERR_INDEX`).
 * @param {number} code
 * @param {number} code_len
 * @param {number} slots
 * @param {number} info
 * @returns {number}
 */
export function run_program(code, code_len, slots, info) {
    const ret = wasm.run_program(code, code_len, slots, info);
    return ret;
}

/**
 * `out[i] = op(x[i])` for `n` contiguous f32. Transcendentals are SIMD
 * approximations (see `mathf`).
 * @param {number} op
 * @param {number} x
 * @param {number} out
 * @param {number} n
 */
export function unary_f32(op, x, out, n) {
    wasm.unary_f32(op, x, out, n);
}

/**
 * `out[i] = op(x[i])` for `n` contiguous f64 (transcendentals: Rust `std`,
 * < 1 ulp).
 * @param {number} op
 * @param {number} x
 * @param {number} out
 * @param {number} n
 */
export function unary_f64(op, x, out, n) {
    wasm.unary_f64(op, x, out, n);
}

/**
 * `out = cond != 0 ? a : b` with broadcasting, f32 (cond is f32 too).
 * `meta` = `[shape, c_strides, a_strides, b_strides]`.
 * @param {number} cond
 * @param {number} a
 * @param {number} b
 * @param {number} out
 * @param {number} rank
 * @param {number} meta
 */
export function where_f32(cond, a, b, out, rank, meta) {
    wasm.where_f32(cond, a, b, out, rank, meta);
}

/**
 * As [`where_f32`] for f64.
 * @param {number} cond
 * @param {number} a
 * @param {number} b
 * @param {number} out
 * @param {number} rank
 * @param {number} meta
 */
export function where_f64(cond, a, b, out, rank, meta) {
    wasm.where_f64(cond, a, b, out, rank, meta);
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
            table.set(0, undefined);
            table.set(1024, undefined);
            table.set(1025, null);
            table.set(1026, true);
            table.set(1027, false);
        },
    };
    return {
        __proto__: null,
        "./kernels_bg.js": import0,
    };
}

let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module) {
    wasmInstance = instance;
    wasm = instance.exports;
    wasmModule = module;
    wasm.__wbindgen_start();
    return wasm;
}

async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        if (!module.ok) {
            throw new Error(`failed to fetch Wasm: ${module.status} ${module.statusText} fetching '${module.url}'`);
        }

        if (typeof WebAssembly.instantiateStreaming === 'function') {
            try {
                return await WebAssembly.instantiateStreaming(module, imports);
            } catch (e) {
                const validResponse = expectedResponseType(module.type);

                if (validResponse && module.headers.get('Content-Type') !== 'application/wasm') {
                    console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\n", e);

                } else { throw e; }
            }
        }

        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    } else {
        const instance = await WebAssembly.instantiate(module, imports);

        if (instance instanceof WebAssembly.Instance) {
            return { instance, module };
        } else {
            return instance;
        }
    }

    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module) {
    if (wasm !== undefined) return wasm;


    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module} = module)
        } else {
            console.warn('using deprecated parameters for `initSync()`; pass a single object instead')
        }
    }

    const imports = __wbg_get_imports();
    if (!(module instanceof WebAssembly.Module)) {
        module = new WebAssembly.Module(module);
    }
    const instance = new WebAssembly.Instance(module, imports);
    return __wbg_finalize_init(instance, module);
}

let __wbg_init_promise;
async function __wbg_init(module_or_path) {
    if (wasm !== undefined) return wasm;
    if (__wbg_init_promise === undefined) {
        __wbg_init_promise = __wbg_init_once(module_or_path);
        __wbg_init_promise.catch(() => { __wbg_init_promise = undefined; });
    }
    return __wbg_init_promise;
}

async function __wbg_init_once(module_or_path) {

    if (module_or_path !== undefined) {
        if (Object.getPrototypeOf(module_or_path) === Object.prototype) {
            ({module_or_path} = module_or_path)
        } else {
            console.warn('using deprecated parameters for the initialization function; pass a single object instead')
        }
    }

    if (module_or_path === undefined) {
        module_or_path = new URL('kernels_bg.wasm', import.meta.url);
    }
    const imports = __wbg_get_imports();

    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {
        module_or_path = fetch(module_or_path);
    }

    const { instance, module } = await __wbg_load(await module_or_path, imports);

    return __wbg_finalize_init(instance, module);
}

export { initSync, __wbg_init as default };
