import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

Deno.test("backend: importing the loader and running a kernel needs no permission", async () => {
  const file = fileURLToPath(
    new URL("./fixtures/noperm_add.ts", import.meta.url),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "[2,4,6]");
});
