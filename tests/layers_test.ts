import assert from "node:assert/strict";

Deno.test("the import graph has no cycle and no upward import (scripts/check_layers.ts)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../scripts/check_layers.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
  assert.match(text, /layers ok: \d+ modules/);
});
