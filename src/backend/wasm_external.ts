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
 *   `WebAssembly.Module`;
 * - otherwise `kernels.wasm` next to this module (`new URL("./kernels.wasm",
 *   import.meta.url)`): read from disk for `file:` URLs (Node, Deno),
 *   fetched otherwise. In a bundle, `import.meta.url` is the bundle's, so
 *   copy the package's `kernels.wasm` beside it (or set `jacobiWasm`).
 * @module
 */
import initWasm, { type InitOutput } from "./wasm/kernels.js";

/** What `globalThis.jacobiWasm` may hold. */
export type WasmSource =
  | URL
  | string
  | Response
  | Promise<Response>
  | BufferSource
  | WebAssembly.Module;

async function load(): Promise<InitOutput> {
  const given = (globalThis as { jacobiWasm?: WasmSource }).jacobiWasm;
  if (given !== undefined && given !== null) {
    return await initWasm({ module_or_path: await given });
  }
  const url = new URL("./kernels.wasm", import.meta.url);
  if (url.protocol === "file:") {
    // fetch() cannot read file: URLs in Node; a computed specifier keeps
    // bundlers from trying to resolve a Node built-in for the browser.
    const fsName = "node:fs/promises";
    const fs = await import(
      /* @vite-ignore */ /* webpackIgnore: true */ fsName
    );
    return await initWasm({
      module_or_path: new Uint8Array(await fs.readFile(url)),
    });
  }
  return await initWasm({ module_or_path: url });
}

/** The raw wasm exports (pointers and sizes are plain numbers). */
export const wasm: InitOutput = await load();

/** The kernels' linear memory (it only grows; views detach when it does). */
export const memory: WebAssembly.Memory = wasm.memory;
