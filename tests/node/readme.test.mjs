// The npm README as a user meets it: every JavaScript block of the built
// npm/README.md is type-checked (tsc --checkJs --strict against the
// package's declarations) and run under Node in a project where the packed
// tarball is installed (noImplicitAny off: it is JavaScript), and each `console.log(...); // output` line must
// print what the README shows (scripts/snippets.mjs).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { installPacked, npmDir, sh, tscBin } from "./_pkg.mjs";
import {
  codeBlocks,
  compareOutput,
  instrument,
  stripMarkers,
} from "../../scripts/snippets.mjs";

const readme = readFileSync(join(npmDir, "README.md"), "utf8");
const blocks = codeBlocks(readme).filter((b) =>
  ["js", "javascript", "ts", "typescript"].includes(b.lang)
);

describe("npm README: every code block type-checks and runs against the packed package", () => {
  let inst;
  before(() => {
    inst = installPacked("jacobi_readme_");
  });
  after(() => inst?.cleanup());

  test("the README has code blocks, and none is TypeScript-only", () => {
    assert.ok(blocks.length > 0);
    assert.ok(blocks.every((b) => b.lang === "js" || b.lang === "javascript"));
  });

  test("tsc --checkJs --strict accepts every block", () => {
    const files = blocks.map((b, i) => {
      const name = `readme_check_${i}.mjs`;
      writeFileSync(join(inst.dir, name), b.code);
      return name;
    });
    writeFileSync(
      join(inst.dir, "tsconfig.readme.json"),
      JSON.stringify({
        compilerOptions: {
          allowJs: true,
          checkJs: true,
          strict: true,
          // Plain JavaScript has no annotations; everything else is strict,
          // and the results' types come from the arguments.
          noImplicitAny: false,
          noEmit: true,
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022", "ESNext.Disposable", "DOM"],
          types: [],
        },
        files,
      }),
    );
    sh("node", [tscBin, "-p", "tsconfig.readme.json"], inst.dir);
  });

  for (const [i, b] of blocks.entries()) {
    test(`block at line ${b.line} runs and prints what the README shows`, () => {
      const { code, expected } = instrument(b.code);
      const name = `readme_run_${i}.mjs`;
      writeFileSync(join(inst.dir, name), code);
      const stdout = sh("node", [name], inst.dir);
      const problems = compareOutput(stdout, expected);
      assert.deepEqual(
        problems,
        [],
        `${problems.join("\n")}\n--- output\n${stripMarkers(stdout)}`,
      );
      assert.ok(expected.length > 0, "the block shows no output to check");
    });
  }
});
