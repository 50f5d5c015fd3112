/**
 * Loads the kernels' WebAssembly once, synchronously, at import time.
 *
 * The module bytes are inlined (base64) in the generated
 * `wasm/kernels_wasm.ts`, so importing needs no read or net permission.
 * @module
 */
import type { InitOutput } from "./wasm/kernels.d.ts";
import { instantiateKernels } from "./wasm_instance.ts";
import { WASM_BASE64 } from "./wasm/kernels_wasm.ts";
import { WASM_RELAXED_BASE64 } from "./wasm/kernels_relaxed_wasm.ts";

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A module whose one function is `f32x4.relaxed_madd` of three zero
 * vectors: an engine that validates it runs the relaxed-SIMD kernels.
 */
const V128_ZERO = [253, 12, ...new Array(16).fill(0)]; // v128.const 0
const RELAXED_PROBE = new Uint8Array([
  ...[0, 97, 115, 109, 1, 0, 0, 0], // "\0asm", version 1
  ...[1, 5, 1, 96, 0, 1, 123], // type: () -> v128
  ...[3, 2, 1, 0], // one function of that type
  ...[10, 61, 1, 59, 0, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO],
  ...[253, 133, 2, 11], // f32x4.relaxed_madd; end
]);

/**
 * Which build of the kernels this engine runs: `"relaxed-simd"` (fused
 * multiply-add in GEMM; rounding of a fused product may differ from an
 * unfused one in the last bit, as the engine chooses) or `"simd128"`.
 * `globalThis.jacobiRelaxedSimd = false` before the first import forces the
 * SIMD128 build.
 */
export const wasmVariant: "relaxed-simd" | "simd128" =
  (globalThis as { jacobiRelaxedSimd?: boolean }).jacobiRelaxedSimd !==
      false && WebAssembly.validate(RELAXED_PROBE)
    ? "relaxed-simd"
    : "simd128";

/** The raw wasm exports (pointers and sizes are plain numbers). */
export const wasm: InitOutput = instantiateKernels(
  decodeBase64(
    wasmVariant === "relaxed-simd" ? WASM_RELAXED_BASE64 : WASM_BASE64,
  ),
);

/**
 * The kernels' linear memory. It only grows; views over a plain memory
 * detach when it does, views over a shared one keep their old length, so
 * compare `memory.buffer` with the view's buffer (storage.ts).
 */
export const memory: WebAssembly.Memory = wasm.memory;
