/**
 * Every TypeScript block of README.md and of the guides (docs/guides/*.md)
 * is type-checked and run, each in its own `deno run --check` process with
 * only a scratch folder to read and write (its working directory), and
 * what a `console.log(...); // output` line prints must match the text.
 * A block whose info string says `ignore` is skipped (none should need it).
 * The npm README is run under Node against the packed package
 * (tests/node/readme.test.mjs).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  codeBlocks,
  compareOutput,
  instrument,
  stripMarkers,
} from "../scripts/snippets.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const TS = new Set(["ts", "typescript"]);

/** The markdown files whose blocks must run: README.md and the guides. */
export function docFiles(): string[] {
  const files = ["README.md"];
  try {
    for (const e of Deno.readDirSync(`${root}docs/guides`)) {
      if (e.isFile && e.name.endsWith(".md")) {
        files.push(`docs/guides/${e.name}`);
      }
    }
  } catch {
    // no guides yet
  }
  return files.sort((a, b) => (a === "README.md" ? -1 : a < b ? -1 : 1));
}

async function run(cmd: string, args: string[], stdin?: string) {
  const child = new Deno.Command(cmd, {
    args,
    cwd: root,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Type-checks and runs one block; returns the problems found. */
async function runBlock(code: string): Promise<string[]> {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const scratch = `${tmp}/jacobi_snippet_${crypto.randomUUID()}`;
  const { code: instrumented, expected } = instrument(code);
  // On the first line, so line numbers in errors stay those of the block.
  const prelude = `Deno.mkdirSync(${JSON.stringify(scratch)}); Deno.chdir(${
    JSON.stringify(scratch)
  }); `;
  try {
    const r = await run(Deno.execPath(), [
      "run",
      "--check",
      "--no-prompt",
      `--allow-read=${scratch}`,
      `--allow-write=${scratch}`,
      "-",
    ], prelude + instrumented);
    if (r.code !== 0) {
      return [
        `exited ${r.code}\n--- stdout\n${
          stripMarkers(r.stdout)
        }\n--- stderr\n${r.stderr}`,
      ];
    }
    return compareOutput(r.stdout, expected);
  } finally {
    await run("rm", ["-rf", scratch]);
  }
}

for (const file of docFiles()) {
  const text = Deno.readTextFileSync(`${root}${file}`);
  const blocks = codeBlocks(text).filter((b) =>
    TS.has(b.lang) && !/\bignore\b/.test(b.info)
  );
  Deno.test(`${file}: every TypeScript block type-checks, runs and prints what the text shows`, async (t) => {
    assert.ok(blocks.length > 0, `${file} has no TypeScript blocks`);
    const failures: string[] = [];
    for (const b of blocks) {
      await t.step(`block at line ${b.line}`, async () => {
        const problems = await runBlock(b.code);
        if (problems.length > 0) {
          failures.push(`${file}:${b.line}: ${problems.join("\n")}`);
        }
        assert.deepEqual(
          problems,
          [],
          `${file}:${b.line}:\n${problems.join("\n")}`,
        );
      });
    }
  });
}

Deno.test("snippets: output comparison and instrumentation can fail", () => {
  const { code, expected } = instrument(
    'const a = 1;\nconsole.log([1, 2]); // [ 1, 2 ]\nconsole.log("abc def"); // abc...\n',
  );
  assert.equal(code.split("\n").length, 4, "line count is kept");
  assert.deepEqual(expected.map((e) => e.line), [2, 3]);
  const mark = (n: number, s: string) =>
    `@@jacobi-snippet-output ${n}\n${s}\n@@jacobi-snippet-output end ${n}\n`;
  assert.deepEqual(
    compareOutput(mark(0, "[ 1,\n  2 ]") + mark(1, "abc def ghi"), expected),
    [],
  );
  assert.equal(
    compareOutput(mark(0, "[ 1, 3 ]") + mark(1, "abc"), expected).length,
    1,
  );
  assert.equal(
    compareOutput(mark(0, "[ 1, 2 ]") + mark(1, "xbc"), expected).length,
    1,
  );
  assert.match(compareOutput("", expected)[0], /did not run/);
  const blocks = codeBlocks("# t\n\n```ts ignore\nx\n```\n\n```sh\nls\n```\n");
  assert.deepEqual(blocks.map((b) => [b.lang, b.info, b.code, b.line]), [
    ["ts", "ts ignore", "x\n", 4],
    ["sh", "sh", "ls\n", 8],
  ]);
});
