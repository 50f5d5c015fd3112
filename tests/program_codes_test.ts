// The executor's numbers are written once, in Rust: the TypeScript module
// src/backend/wasm/program_codes.ts is generated from them and must be
// fresh, and its op tables must name exactly the primitive families.
import assert from "node:assert/strict";
import { generate, OUTPUT } from "../scripts/gen_program_codes.ts";
import { DTYPE_CODE } from "../src/backend/dtype.ts";
import {
  BINARY_OPS,
  DTYPES,
  OP,
  REDUCE_OPS,
  STATUS_MESSAGE,
  UNARY_OPS,
} from "../src/backend/wasm/program_codes.ts";
import {
  BINARY_PRIMS,
  REDUCE_PRIMS,
  UNARY_PRIMS,
} from "../src/core/primitives.ts";

const root = new URL("../", import.meta.url);
const read = (p: string) => Deno.readTextFileSync(new URL(p, root));

Deno.test("program_codes.ts is what scripts/gen_program_codes.ts makes from the current Rust", () => {
  assert.equal(
    read(OUTPUT),
    generate(read),
    `${OUTPUT} is stale: run deno run --allow-read --allow-write scripts/gen_program_codes.ts`,
  );
});

Deno.test("the kernel op tables name exactly the unary, binary and reduce primitives", () => {
  const sorted = (xs: Iterable<string>) => [...xs].sort();
  assert.deepEqual(sorted(Object.keys(UNARY_OPS)), sorted(UNARY_PRIMS));
  assert.deepEqual(sorted(Object.keys(BINARY_OPS)), sorted(BINARY_PRIMS));
  assert.deepEqual(sorted(Object.keys(REDUCE_OPS)), sorted(REDUCE_PRIMS));
  assert.deepEqual(DTYPES, DTYPE_CODE);
  const codes = Object.values(OP);
  assert.equal(new Set(codes).size, codes.length, "opcodes are distinct");
});

Deno.test("the generator follows the Rust: a renumbered opcode, op code or message shows", () => {
  const program = read("crates/kernels/src/program.rs");
  const elementwise = read("crates/kernels/src/elementwise.rs");
  const edited = (path: string) =>
    path.endsWith("program.rs")
      ? program
        .replace(
          "pub const OP_MATMUL: i32 = 9;",
          "pub const OP_MATMUL: i32 = 90;",
        )
        .replace("/// index out of range", "/// an index is out of range")
      : path.endsWith("elementwise.rs")
      ? elementwise.replace(
        "pub const TANH: u32 = 8;",
        "pub const TANH: u32 = 80;",
      )
      : read(path);
  const text = generate(edited);
  assert.match(text, /^ {2}matmul: 90,$/m);
  assert.match(text, /^ {2}tanh: 80,$/m);
  assert.match(text, /^ {2}9: "an index is out of range",$/m);
  assert.equal(STATUS_MESSAGE[9], "index out of range");
  assert.throws(
    () =>
      generate((p) =>
        p.endsWith("program.rs")
          ? program.replace("/// invalid field\n", "")
          : read(p)
      ),
    /doc comment/,
  );
});
