/**
 * Every TypeScript block of README.md, docs/*.md and the guides
 * (docs/guides/*.md) is type-checked (all blocks in one `deno check`) and
 * run (each in its own `deno run`, whose working directory is a scratch
 * folder and whose only permission is reading and writing there), and
 * what a `console.log(...); // output` line prints must match the text
 * (scripts/snippets.mjs). Blocks import "@jacobi/jacobi" (or "./mod.ts" in
 * README.md); both are pointed at this checkout's mod.ts. A block whose
 * info string says `ignore` is skipped. The npm README is run under Node
 * against the packed package (tests/node/readme.test.mjs).
 */
import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  codeBlocks,
  compareOutput,
  instrument,
  stripMarkers,
} from "../scripts/snippets.mjs";
import { run } from "./_run.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const modUrl = pathToFileURL(`${root}mod.ts`).href;
const TS = new Set(["ts", "typescript"]);

/** The markdown files whose blocks must run: README.md, docs/ and the guides. */
export function docFiles(): string[] {
  const files: string[] = [];
  for (const dir of ["docs", "docs/guides"]) {
    try {
      for (const e of Deno.readDirSync(`${root}${dir}`)) {
        if (e.isFile && e.name.endsWith(".md")) files.push(`${dir}/${e.name}`);
      }
    } catch {
      // no such folder
    }
  }
  return ["README.md", ...files.sort()];
}

interface Snippet {
  doc: string;
  line: number;
  /** The block as a module: instrumented, imports pointed at mod.ts. */
  path: string;
  /** Its scratch working directory. */
  cwd: string;
  expected: { line: number; text: string }[];
}

const only = Deno.env.get("JACOBI_DOCS_ONLY"); // a substring, while writing
const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
const dir = `${tmp}/jacobi_snippets_${crypto.randomUUID()}`;
const snippets: Snippet[] = [];
const files: Record<string, string> = {};
for (const doc of docFiles().filter((f) => !only || f.includes(only))) {
  const text = Deno.readTextFileSync(`${root}${doc}`);
  for (const b of codeBlocks(text)) {
    if (!TS.has(b.lang) || /\bignore\b/.test(b.info)) continue;
    const n = snippets.length;
    const { code, expected } = instrument(b.code);
    // Same length lines: the line numbers of errors are the block's.
    const module = code.replace(
      /(from\s*|import\s*\(\s*)(["'])(@jacobi\/jacobi|\.\/mod\.ts)\2/g,
      `$1$2${modUrl}$2`,
    );
    const s: Snippet = {
      doc,
      line: b.line,
      path: `${dir}/snippet_${n}.ts`,
      cwd: `${dir}/work_${n}`,
      expected,
    };
    files[s.path] = module;
    files[`${s.cwd}/.keep`] = "";
    snippets.push(s);
  }
}

/** Where a block's line is in its document. */
const where = (s: Snippet, line = 1) => `${s.doc}:${s.line + line - 1}`;

let written = false;
async function writeAll() {
  if (written) return;
  const r = await run(Deno.execPath(), [
    "run",
    "--no-prompt",
    `--allow-write=${dir}`,
    `${root}tests/fixtures/write_files.ts`,
  ], { stdin: JSON.stringify(files) });
  assert.equal(r.code, 0, r.stderr);
  written = true;
}

Deno.test({
  name:
    "docs: every TypeScript block of README.md, docs/ and the guides type-checks",
  ignore: snippets.length === 0,
  fn: async () => {
    await writeAll();
    const r = await run(Deno.execPath(), [
      "check",
      ...snippets.map((s) => s.path),
    ]);
    // Point each error at its document and line.
    const text = (r.stdout + r.stderr).replace(
      /file:\/\/\S*\/snippet_(\d+)\.ts:(\d+):(\d+)/g,
      (_, n, line, col) => `${where(snippets[+n], +line)}:${col}`,
    );
    assert.equal(r.code, 0, text);
  },
});

for (const doc of new Set(snippets.map((s) => s.doc))) {
  const mine = snippets.filter((s) => s.doc === doc);
  Deno.test(`${doc}: every TypeScript block runs and prints what the text shows`, async (t) => {
    await writeAll();
    for (const s of mine) {
      await t.step(`block at line ${s.line}`, async () => {
        const r = await run(Deno.execPath(), [
          "run",
          "--no-check",
          "--no-prompt",
          `--allow-read=${s.cwd}`,
          `--allow-write=${s.cwd}`,
          s.path,
        ], { cwd: s.cwd });
        const problems = r.code !== 0
          ? [
            `exited ${r.code}\n--- stdout\n${
              stripMarkers(r.stdout)
            }\n--- stderr\n${r.stderr}`,
          ]
          : compareOutput(r.stdout, s.expected).map((p: string) =>
            p.replace(/^line (\d+)/, (_, l) => where(s, +l))
          );
        assert.deepEqual(problems, [], `${where(s)}:\n${problems.join("\n")}`);
      });
    }
  });
}

Deno.test({
  name: "docs: remove the snippets' scratch folder",
  ignore: snippets.length === 0,
  fn: async () => {
    await run("rm", ["-rf", dir]);
  },
});

Deno.test("snippets: output comparison and instrumentation can fail", () => {
  const { code, expected } = instrument(
    'const a = 1;\nconsole.log([1, 2]); // [ 1, 2 ]\nconsole.log(\n  "abc def",\n  ")",\n); // abc...\nconsole.log(a);\n',
  );
  assert.equal(code.split("\n").length, 8, "line count is kept");
  assert.deepEqual(expected.map((e) => e.line), [2, 6]);
  assert.match(
    code.split("\n")[2],
    /^console\.log\("@@jacobi-snippet-output 1"\); console\.log\($/,
  );
  assert.match(
    code.split("\n")[5],
    /^\); console\.log\("@@jacobi-snippet-output end 1"\);$/,
  );
  assert.equal(code.split("\n")[6], "console.log(a);");
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
  const multi = instrument(
    "console.log(p); // prints:\n// { a\n//   b }\nx;\n",
  );
  assert.deepEqual(multi.expected, [{ line: 1, text: "{ a\n  b }" }]);
  assert.deepEqual(compareOutput(mark(0, "{ a\n    b }"), multi.expected), []);
  const blocks = codeBlocks("# t\n\n```ts ignore\nx\n```\n\n```sh\nls\n```\n");
  assert.deepEqual(blocks.map((b) => [b.lang, b.info, b.code, b.line]), [
    ["ts", "ts ignore", "x\n", 4],
    ["sh", "sh", "ls\n", 8],
  ]);
});

Deno.test("docs/guides/from-pytorch-jax.md: every jacobi name in the mapping tables exists", async () => {
  const J = await import("../mod.ts");
  const known = new Set<string>([
    ...Object.keys(J),
    ...Object.getOwnPropertyNames(J.Tensor.prototype),
    ...Object.keys(J.autograd),
    ...Object.keys(J.autograd.functional),
    // Tensor fields and option keys the table names.
    "shape",
    "ndim",
    "size",
    "dtype",
    "grad",
    "argnums",
    "hasAux",
    "chunkSize",
    "inDims",
    "outDims",
    "createGraph",
    "staticArgnums",
    "donateArgnums",
    "undefined",
  ]);
  const text = Deno.readTextFileSync(`${root}docs/guides/from-pytorch-jax.md`);
  const missing: string[] = [];
  let checked = 0;
  for (const row of text.split("\n").filter((l) => l.startsWith("| `"))) {
    const cells = row.split(" | ");
    const jacobi = cells[cells.length - 1];
    for (const code of jacobi.matchAll(/`([^`]+)`/g)) {
      // Each call or member named in the cell: `x.sum(1, true)`, `zeros([2])`,
      // `autograd.grad(...)`, or a bare name such as `sigmoid`.
      const names = [
        ...code[1].matchAll(/(?:^|[.\s(,])([a-zA-Z_]\w*)(?=\(|$|[,\s)])/g),
      ]
        .map((m) => m[1])
        .filter((n) =>
          ![
            "x",
            "y",
            "a",
            "b",
            "c",
            "f",
            "g",
            "v",
            "p",
            "idx",
            "path",
            "params",
            "dim",
            "n",
            "true",
            "false",
            "out",
            "vjpFn",
            "jvpFn",
            "tangentOut",
            "using",
            "W",
            "Uint8Array",
            "data",
          ].includes(n)
        );
      for (const n of names) {
        checked++;
        if (!known.has(n)) missing.push(`${n} (in ${code[0]})`);
      }
    }
  }
  assert.ok(checked > 100, `only ${checked} names found: is the table parsed?`);
  assert.deepEqual(missing, []);
});
