/**
 * Loads the kernels' WebAssembly once, synchronously, at import time.
 *
 * The module bytes are inlined (base64) in the generated
 * `wasm/kernels_wasm.ts`, so importing needs no read or net permission.
 * @module
 */
import { type InitOutput, initSync } from "./wasm/kernels.js";
import { WASM_BASE64 } from "./wasm/kernels_wasm.ts";

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The raw wasm exports (pointers and sizes are plain numbers). */
export const wasm: InitOutput = initSync({
  module: decodeBase64(WASM_BASE64) as Uint8Array<ArrayBuffer>,
});

/** The kernels' linear memory (it only grows; views detach when it does). */
export const memory: WebAssembly.Memory = wasm.memory;
