/**
 * Compiles the WebAssembly that the kernels write for a fused elementwise
 * body (crates/kernels/src/program/fused/codegen.rs) and adds it to their
 * function table, where the executor calls it through a function pointer.
 *
 * The kernels write only a function body (locals and code) of type
 * `(regs: i32, bytes: i32) -> ()`; this file wraps it into a module that
 * imports the kernels' memory, so the function reads and writes the same
 * buffers. Any failure (no table to grow, an engine that refuses a
 * synchronous compile) answers 0 and the executor interprets the body, with
 * the same results. With threads, each module is shared with the workers
 * (thread_pool.ts `shareCompiled`), which put it in their own instances'
 * tables at the same index.
 * @module
 */
import {
  assemble,
  FUNCTION_TABLE,
  name,
  type Section,
  u32 as leb,
} from "./wasm_binary.ts";

/**
 * Run-time compilation of fused bodies: `enabled` switches it (tests and
 * benchmarks compare both ways), `compiled` counts the functions made and
 * `lastIndex` is the last one's function table index (for tests).
 */
export const codegenOptions: {
  enabled: boolean;
  compiled: number;
  lastIndex: number;
} = { enabled: true, compiled: 0, lastIndex: 0 };

/** The module around `body`: `run` over the memory imported as env.memory. */
export function fusedModule(body: Uint8Array, shared: boolean): Uint8Array {
  // A shared memory's import needs a maximum; wasm32's 4 GiB admits any.
  const limits = shared ? [0x03, 0, ...leb(65536)] : [0x00, 0];
  const section = (id: number, bytes: number[]): Section => ({
    id,
    body: Uint8Array.from(bytes),
  });
  return assemble(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0), [
    section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]), // (i32, i32) -> ()
    section(2, [1, ...name("env"), ...name("memory"), 2, ...limits]),
    section(3, [1, 0]),
    section(7, [1, ...name("run"), 0, 0]),
    section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/**
 * A function of the same type for workers that could not compile one:
 * it writes 1 to the flag word before the register addresses, and the
 * executor then interprets the block.
 */
export const FALLBACK_BODY: Uint8Array = new Uint8Array([
  0, // no locals
  ...[0x20, 0], // local.get 0
  ...[0x41, 1], // i32.const 1
  ...[0x36, 2, 0], // i32.store align=4 offset=0
  0x0b, // end
]);

type Table = {
  grow(delta: number, value?: unknown): number;
};

/**
 * The kernels' `jacobi_codegen` imports for an instance whose exports
 * `exports()` returns once instantiated: `enabled()` says whether to make
 * and use compiled code, `compile(body, len)` answers the new function's
 * table index, or 0.
 */
export function codegenImports(
  exports: () => Record<string, unknown>,
  share?: (module: Uint8Array, index: number) => boolean,
): {
  enabled(): number;
  compile(body: number, len: number): number;
} {
  let unshared = false;
  return { enabled: () => codegenOptions.enabled ? 1 : 0, compile };
  function compile(body: number, len: number): number {
    const ex = exports();
    const table = ex[FUNCTION_TABLE] as Table | undefined;
    const memory = ex.memory as WebAssembly.Memory;
    if (!table || unshared) return 0;
    try {
      const code = new Uint8Array(memory.buffer, body >>> 0, len).slice();
      const shared = typeof SharedArrayBuffer === "function" &&
        memory.buffer instanceof SharedArrayBuffer;
      const bytes = fusedModule(code, shared);
      const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
      const run = new WebAssembly.Instance(module, { env: { memory } })
        .exports.run;
      const index = table.grow(1, run);
      // Workers run parts of the same bodies: they need it at this index.
      if (share && !share(bytes, index)) {
        unshared = true;
        return 0;
      }
      codegenOptions.compiled++;
      codegenOptions.lastIndex = index;
      return index;
    } catch {
      return 0;
    }
  }
}
