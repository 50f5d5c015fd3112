/**
 * The kernels' WebAssembly loaded from a separate `kernels.wasm` file, for
 * the npm package's `@jacobi/jacobi/external` entry. It has the exports of
 * `./wasm.ts` (which it replaces there) but leaves the ~350 KiB module out
 * of the JavaScript, so a bundle that uses it is mostly the code it imports.
 *
 * Loading is asynchronous (top-level await), so importing the entry waits
 * for it. The source is, first found:
 *
 * - `globalThis.jacobiWasm`, set before the import: a URL (or string),
 *   a `Response` (or a promise of one), the bytes, or a compiled
 *   `WebAssembly.Module` (which runs on one thread: threads need the bytes);
 * - otherwise `kernels.wasm` next to this module (`new URL("./kernels.wasm",
 *   import.meta.url)`): read from disk for `file:` URLs (Node, Deno),
 *   fetched otherwise. In a bundle, `import.meta.url` is the bundle's, so
 *   copy the package's `kernels.wasm` beside it (or set `jacobiWasm`).
 * @module
 */
import type { InitOutput } from "./wasm/kernels.d.ts";
import {
  instantiateKernels,
  instantiateKernelsModule,
} from "./wasm_instance.ts";

/** What `globalThis.jacobiWasm` may hold. */
export type WasmSource =
  | URL
  | string
  | Response
  | Promise<Response>
  | BufferSource
  | WebAssembly.Module;

/** The module's bytes (or a compiled module, which then runs on one thread). */
async function bytesOf(
  source: Exclude<WasmSource, Promise<Response>>,
): Promise<Uint8Array | WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  }
  const response = source instanceof Response ? source : await fetch(source);
  if (!response.ok) {
    throw new Error(
      `failed to fetch the kernels' WebAssembly: ${response.status} ${response.statusText} (${response.url})`,
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function load(): Promise<InitOutput> {
  const given = (globalThis as { jacobiWasm?: WasmSource }).jacobiWasm;
  let source: Uint8Array | WebAssembly.Module;
  if (given !== undefined && given !== null) {
    source = await bytesOf(await given);
  } else {
    const url = new URL("./kernels.wasm", import.meta.url);
    if (url.protocol === "file:") {
      // fetch() cannot read file: URLs in Node; a computed specifier keeps
      // bundlers from trying to resolve a Node built-in for the browser.
      const fsName = "node:fs/promises";
      const fs = await import(
        /* @vite-ignore */ /* webpackIgnore: true */ fsName
      );
      source = new Uint8Array(await fs.readFile(url));
    } else {
      source = await bytesOf(url);
    }
  }
  return source instanceof WebAssembly.Module
    ? instantiateKernelsModule(source)
    : instantiateKernels(source);
}

/** The raw wasm exports (pointers and sizes are plain numbers). */
export const wasm: InitOutput = await load();

/** The kernels' linear memory (it only grows; views detach when it does). */
export const memory: WebAssembly.Memory = wasm.memory;
