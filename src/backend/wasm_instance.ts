/**
 * Instantiates the kernels' WebAssembly (for wasm.ts and wasm_external.ts),
 * on shared memory with a worker pool where the engine allows it.
 *
 * We instantiate the module ourselves rather than through wasm-bindgen's
 * generated JavaScript: the kernels import the pool's `jacobi_threads`
 * functions (crates/kernels/src/parallel.rs), and with threads the memory
 * becomes an import too (wasm_binary.ts). The one import wasm-bindgen's
 * own code needs is the start-up initialisation of its externref table.
 * @module
 */
import type { InitOutput } from "./wasm/kernels.d.ts";
import {
  growableTable,
  memoryPages,
  sharedMemoryVariant,
} from "./wasm_binary.ts";
import { codegenImports, FALLBACK_BODY, fusedModule } from "./codegen.ts";
import { attachPool, shareCompiled, threadImports } from "./thread_pool.ts";

/** wasm32's 4 GiB, in 64 KiB pages (a shared memory needs a maximum). */
const MAX_PAGES = 65536;

/** wasm-bindgen's externref table starts with these reserved slots. */
function initExternrefTable(exports: InitOutput): void {
  const table = exports.__wbindgen_externrefs as unknown as {
    set(i: number, v: unknown): void;
  };
  table.set(0, undefined);
  table.set(1024, undefined);
  table.set(1025, null);
  table.set(1026, true);
  table.set(1027, false);
}

/**
 * Browsers without cross-origin isolation have no SharedArrayBuffer (and
 * refuse shared memories): those run on one thread. (Deno reports
 * `crossOriginIsolated` false, yet has shared memory: it is not consulted.)
 */
function wantsThreads(): boolean {
  const g = globalThis as { jacobiThreads?: boolean };
  return g.jacobiThreads !== false && typeof SharedArrayBuffer === "function";
}

function instantiate(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory | undefined,
): InitOutput {
  // The table is the instance's: the import runs in __wbindgen_start.
  const made: { exports?: InitOutput } = {};
  const imports: WebAssembly.Imports = {
    "./kernels_bg.js": {
      __wbindgen_init_externref_table: () => initExternrefTable(made.exports!),
    },
    jacobi_threads: threadImports,
    jacobi_codegen: codegenImports(
      () => made.exports as unknown as Record<string, unknown>,
      memory ? shareCompiled : undefined,
    ),
  };
  if (memory) imports.env = { memory };
  const exports = new WebAssembly.Instance(module, imports)
    .exports as unknown as InitOutput;
  made.exports = exports;
  exports.__wbindgen_start();
  return exports;
}

/**
 * The kernels from their module bytes: on a shared memory with workers
 * when the engine has shared memory (and `globalThis.jacobiThreads` is not
 * `false`), otherwise single-threaded from the bytes as built.
 */
export function instantiateKernels(bytes: Uint8Array): InitOutput {
  // Both variants export a growable function table for compiled code
  // (without one, fused bodies are interpreted: codegen.ts).
  let main = bytes;
  try {
    main = growableTable(bytes);
  } catch {
    // A module without a function table: nothing to add code to.
  }
  if (wantsThreads()) {
    try {
      const memory = new WebAssembly.Memory({
        initial: memoryPages(bytes),
        maximum: MAX_PAGES,
        shared: true,
      });
      const exports = instantiate(
        new WebAssembly.Module(
          sharedMemoryVariant(main, {
            maxPages: MAX_PAGES,
            worker: false,
          }) as Uint8Array<ArrayBuffer>,
        ),
        memory,
      );
      let workerModule: WebAssembly.Module | undefined;
      attachPool({
        memory,
        alloc: exports.alloc,
        runPart: exports.run_part,
        workerModule: () =>
          workerModule ??= new WebAssembly.Module(
            sharedMemoryVariant(main, {
              maxPages: MAX_PAGES,
              worker: true,
            }) as Uint8Array<ArrayBuffer>,
          ),
        fallbackModule: fusedModule(FALLBACK_BODY, true),
      });
      return exports;
    } catch {
      // No shared memory after all (or not this large): one thread.
    }
  }
  return instantiate(
    new WebAssembly.Module(main as Uint8Array<ArrayBuffer>),
    undefined,
  );
}

/** The kernels from a compiled module as built (always one thread). */
export function instantiateKernelsModule(
  module: WebAssembly.Module,
): InitOutput {
  return instantiate(module, undefined);
}
