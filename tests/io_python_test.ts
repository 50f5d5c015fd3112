/**
 * Cross test against Python's `safetensors` package (the reference
 * implementation, with numpy): a file Python writes loads in jacobi with the
 * same values, and a file jacobi writes opens in Python with the same
 * values, and Python writes back the very same bytes.
 *
 * Needs `.venv-io` (gitignored), which `deno task test:io` creates
 * (scripts/io_venv.sh, from PyPI) before running this file; without it the
 * tests are ignored with a message, so `deno task test` needs no Python.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { decodeBase64, encodeBase64 } from "./_base64.ts";
import { load, readHeader, save, type Tensor, tensor, zeros } from "../mod.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const python = `${root}.venv-io/bin/python`;
const script = `${root}tests/fixtures/io_cross.py`;
const haveVenv = (() => {
  try {
    return Deno.statSync(python).isFile;
  } catch {
    return false;
  }
})();
const SKIP =
  "skipped: .venv-io is missing; `deno task test:io` creates it and runs this file";
if (!haveVenv) console.warn(`io_python_test.ts: ${SKIP}`);

interface Described {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}

async function py(mode: string, stdin = ""): Promise<Record<string, unknown>> {
  const child = new Deno.Command(python, {
    args: [script, mode],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `io_cross.py ${mode} failed:\n${err}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const num = (v: number | string): number =>
  typeof v === "number" ? v : v === "-0" ? -0 : Number(v);

/** The jacobi dtype each numpy dtype loads as. */
const LOADS_AS: Record<string, string> = {
  float32: "float32",
  float16: "float32",
  float64: "float64",
  int32: "int32",
  bool: "bool",
  int8: "int32",
  uint8: "int32",
  int16: "int32",
  uint16: "int32",
  uint32: "int32",
  int64: "int32",
  uint64: "int32",
};

function assertMatches(t: Tensor, d: Described, name: string) {
  assert.deepEqual([...t.shape], d.shape, `${name}: shape`);
  assert.equal(t.dtype, LOADS_AS[d.dtype], `${name}: ${d.dtype} loads as`);
  const got = [...t.data()];
  const want = d.values.map(num);
  assert.equal(got.length, want.length, `${name}: length`);
  got.forEach((g, i) => {
    // float32 values must agree bit for bit; Python's float16 values are
    // exact doubles, so the same holds.
    const w = t.dtype === "float32" ? Math.fround(want[i]) : want[i];
    assert.ok(Object.is(g, w), `${name}[${i}]: jacobi ${g}, python ${w}`);
  });
}

Deno.test({
  name:
    `safetensors (Python) → jacobi: every numpy dtype loads with the same values${
      haveVenv ? "" : ` (${SKIP})`
    }`,
  ignore: !haveVenv,
  fn: async () => {
    const r = await py("write") as {
      bytes: string;
      metadata: Record<string, string>;
      tensors: Record<string, Described>;
    };
    const bytes = decodeBase64(r.bytes);
    assert.deepEqual(readHeader(bytes).metadata, r.metadata);
    // deno-lint-ignore no-explicit-any
    const tree = load(bytes) as any;
    const at = (name: string): Tensor =>
      name.split(".").reduce((node, k) => node[k], tree);
    for (const [name, d] of Object.entries(r.tensors)) {
      assertMatches(at(name), d, name);
    }
    // Dotted names with indices became nested objects and arrays.
    assert.ok(Array.isArray(tree.model.layers));
    assert.equal(tree.model.layers.length, 2);
  },
});

Deno.test({
  name:
    `jacobi → safetensors (Python): safe_open reads the same values, and Python writes the same bytes${
      haveVenv ? "" : ` (${SKIP})`
    }`,
  ignore: !haveVenv,
  fn: async () => {
    const f64 = { dtype: "float64" } as const;
    const tree = {
      encoder: {
        layers: [
          { w: tensor([[0.1, -2.5], [3e-8, 4]]), b: tensor([1, 2], f64) },
          { w: tensor([[NaN, Infinity], [-Infinity, -0]]), b: zeros([2], f64) },
        ],
        steps: tensor([[-2147483648, 2147483647, 5]], { dtype: "int32" }),
      },
      scalar: tensor(1 / 3, f64),
      empty: zeros([0, 2]),
    };
    const bytes = save(tree, { metadata: { format: "jacobi" } });
    const r = await py("read", encodeBase64(bytes)) as {
      metadata: Record<string, string>;
      tensors: Record<string, Described>;
      resaved: string;
    };
    assert.deepEqual(r.metadata, { format: "jacobi" });
    const leaves: Record<string, Tensor> = {
      "encoder.layers.0.w": tree.encoder.layers[0].w,
      "encoder.layers.0.b": tree.encoder.layers[0].b,
      "encoder.layers.1.w": tree.encoder.layers[1].w,
      "encoder.layers.1.b": tree.encoder.layers[1].b,
      "encoder.steps": tree.encoder.steps,
      "scalar": tree.scalar,
      "empty": tree.empty,
    };
    assert.deepEqual(
      Object.keys(r.tensors).sort(),
      Object.keys(leaves).sort(),
    );
    for (const [name, t] of Object.entries(leaves)) {
      assertMatches(t, r.tensors[name], name);
    }
    assert.deepEqual(
      decodeBase64(r.resaved),
      bytes,
      "Python's save of the same tensors gives different bytes",
    );
  },
});
