// The loader behind the npm package's `/external` entry
// (src/backend/wasm_external.ts), in a process of its own (the wasm-bindgen
// glue initialises once per process): given the bytes through
// `globalThis.jacobiWasm`, it instantiates a module with the inlined
// loader's exports whose kernels run.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { wasm as inlined } from "../src/backend/wasm.ts";

Deno.test("wasm_external: loads the module from globalThis.jacobiWasm; same exports as the inlined loader; kernels run", async () => {
  const file = fileURLToPath(
    new URL("./fixtures/wasm_external_load.ts", import.meta.url),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(r.exports, Object.keys(inlined).sort());
  assert.deepEqual(r.filled, [2.5, 2.5, 2.5, 2.5]);
});
