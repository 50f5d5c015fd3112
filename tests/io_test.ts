/**
 * Saving and loading (safetensors): round trips of every dtype and of
 * nested trees, the byte layout the format specifies (checked by reading
 * the bytes independently), files written by hand in every dtype the
 * format has, the errors, saveFile/loadFile with one permission each, and
 * what JSON.stringify writes for a tensor.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  jvp,
  load,
  randn,
  readHeader,
  save,
  type Tensor,
  tensor,
  type TensorTree,
  vmap,
  zeros,
} from "../mod.ts";
import { run } from "./_run.ts";

const f64 = { dtype: "float64" } as const;
const i32 = { dtype: "int32" } as const;

function assertSameTensor(a: Tensor, b: Tensor, what: string) {
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  assert.deepEqual([...a.shape], [...b.shape], `${what}: shape`);
  const x = a.data(), y = b.data();
  for (let i = 0; i < x.length; i++) {
    assert.ok(
      Object.is(x[i], y[i]),
      `${what}: element ${i}: ${x[i]} != ${y[i]}`,
    );
  }
}

/** The header as the format defines it, read without the library. */
function rawHeader(bytes: Uint8Array): [number, Record<string, unknown>] {
  const n = Number(
    new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true),
  );
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return [n, JSON.parse(text)];
}

/** Builds a file by hand: entries in order, each with its raw bytes. */
function build(
  entries: [string, string, number[], Uint8Array][],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, dtype, shape, data] of entries) {
    header[name] = { dtype, shape, data_offsets: [off, off + data.length] };
    off += data.length;
  }
  return buildRaw(JSON.stringify(header), entries.map((e) => e[3]));
}

function buildRaw(json: string, chunks: Uint8Array[]): Uint8Array {
  const h = new TextEncoder().encode(json);
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const out = new Uint8Array(8 + h.length + total);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let at = 8 + h.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function le(
  n: number,
  bytesPer: number,
  put: (v: DataView, i: number) => void,
): Uint8Array {
  const b = new Uint8Array(n * bytesPer);
  const v = new DataView(b.buffer);
  for (let i = 0; i < n; i++) put(v, i);
  return b;
}

Deno.test("save/load: float32, float64 and int32 round-trip bit for bit, every shape", () => {
  const cases: [string, Tensor][] = [
    ["f32", randn([3, 4, 5])],
    ["f64", randn([7], f64)],
    ["i32", tensor([[-2147483648, 2147483647, 0], [1, -1, 5]], i32)],
    ["scalar", tensor(3.25)],
    ["scalar64", tensor(-1e-300, f64)],
    ["empty", zeros([0, 3])],
    ["empty64", zeros([2, 0], f64)],
    ["special", tensor([NaN, Infinity, -Infinity, -0, 1e-45])],
    [
      "special64",
      tensor([NaN, Infinity, -0, 5e-324, 1.7976931348623157e308], f64),
    ],
  ];
  const tree = Object.fromEntries(cases);
  const back = load(save(tree)) as Record<string, Tensor>;
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tree).sort());
  for (const [k, t] of cases) assertSameTensor(back[k], t, k);
});

Deno.test("save/load: nested objects and arrays come back with the same structure", () => {
  const tree = {
    encoder: {
      layers: [
        { w: randn([2, 3]), b: zeros([2]) },
        { w: randn([3, 2]), b: zeros([3], f64) },
      ],
      scale: tensor(2),
    },
    head: [tensor([1, 2], i32), [tensor([3]), tensor([4])]],
  };
  const bytes = save(tree);
  const [, h] = rawHeader(bytes);
  assert.deepEqual(
    Object.keys(h).filter((k) => k !== "__metadata__").sort(),
    [
      "encoder.layers.0.b",
      "encoder.layers.0.w",
      "encoder.layers.1.b",
      "encoder.layers.1.w",
      "encoder.scale",
      "head.0",
      "head.1.0",
      "head.1.1",
    ],
  );
  // deno-lint-ignore no-explicit-any
  const back = load(bytes) as any;
  assert.ok(
    Array.isArray(back.encoder.layers) && back.encoder.layers.length === 2,
  );
  assert.ok(Array.isArray(back.head) && Array.isArray(back.head[1]));
  assertSameTensor(back.encoder.layers[0].w, tree.encoder.layers[0].w, "l0.w");
  assertSameTensor(back.encoder.layers[1].b, tree.encoder.layers[1].b, "l1.b");
  assertSameTensor(back.encoder.scale, tree.encoder.scale, "scale");
  assertSameTensor(back.head[0], tree.head[0] as Tensor, "head.0");
  assertSameTensor(back.head[1][1], tensor([4]), "head.1.1");
  // Objects whose keys only look like indices stay objects unless 0..n-1.
  const sparse = load(save({ m: { "0": tensor(1), "2": tensor(2) } })) as {
    m: Record<string, Tensor>;
  };
  assert.ok(!Array.isArray(sparse.m));
  assert.deepEqual(Object.keys(sparse.m), ["0", "2"]);
});

Deno.test("save: the bytes follow the format (u64 length, space-padded JSON, aligned, contiguous little-endian data)", () => {
  const w = tensor([[1.5, -2], [3, 4]]);
  const d = tensor([0.1, 0.2, 0.3], f64);
  const n = tensor([-7, 9], i32);
  const bytes = save({ w, d, n }, { metadata: { format: "pt" } });
  const [len, h] = rawHeader(bytes);
  assert.equal((8 + len) % 8, 0, "the data starts on an 8-byte boundary");
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + len));
  assert.ok(text.startsWith("{"));
  assert.match(text, /^\{.*\} *$/s, "padding is spaces only");
  assert.deepEqual(h.__metadata__, { format: "pt" });
  assert.deepEqual(h.d, { dtype: "F64", shape: [3], data_offsets: [0, 24] });
  assert.deepEqual(h.w, {
    dtype: "F32",
    shape: [2, 2],
    data_offsets: [24, 40],
  });
  assert.deepEqual(h.n, { dtype: "I32", shape: [2], data_offsets: [40, 48] });
  assert.equal(bytes.length, 8 + len + 48);
  const v = new DataView(bytes.buffer, 8 + len);
  assert.equal(v.getFloat64(8, true), 0.2);
  assert.equal(v.getFloat32(24 + 4, true), -2);
  assert.equal(v.getFloat32(24 + 12, true), 4);
  assert.equal(v.getInt32(40, true), -7);
  // Every offset is a multiple of its element size.
  for (const [k, e] of Object.entries(h)) {
    if (k === "__metadata__") continue;
    const { dtype, data_offsets } = e as {
      dtype: string;
      data_offsets: number[];
    };
    assert.equal(data_offsets[0] % (dtype === "F64" ? 8 : 4), 0, k);
  }
});

Deno.test("readHeader: dtypes, shapes, offsets and metadata without reading the data", () => {
  const bytes = save({ a: { b: zeros([2, 3], f64) } }, {
    metadata: { step: "10" },
  });
  const h = readHeader(bytes);
  assert.deepEqual(h.metadata, { step: "10" });
  assert.deepEqual(h.tensors["a.b"], {
    dtype: "F64",
    shape: [2, 3],
    dataOffsets: [0, 48],
  });
  assert.equal(h.dataStart % 8, 0);
});

Deno.test("load: every dtype of the format that jacobi can hold, from hand-written bytes", () => {
  const f16 = [0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x8000];
  const f16Want = [
    1,
    -2,
    0.333251953125,
    2 ** -24,
    Infinity,
    -Infinity,
    NaN,
    -0,
  ];
  const bf16Want = [1, -2, 0.333984375, 2 ** 100, -0];
  const bf16 = bf16Want.map((x) => {
    const v = new DataView(new ArrayBuffer(4));
    v.setFloat32(0, x);
    return v.getUint32(0) >>> 16;
  });
  const bytes = build([
    [
      "f16",
      "F16",
      [2, 4],
      le(8, 2, (v, i) => v.setUint16(i * 2, f16[i], true)),
    ],
    [
      "bf16",
      "BF16",
      [5],
      le(5, 2, (v, i) => v.setUint16(i * 2, bf16[i], true)),
    ],
    ["bool", "BOOL", [4], new Uint8Array([1, 0, 0, 1])],
    ["u8", "U8", [3], new Uint8Array([0, 128, 255])],
    ["i8", "I8", [3], new Uint8Array([0x80, 0xff, 0x7f])],
    [
      "i16",
      "I16",
      [2],
      le(2, 2, (v, i) => v.setInt16(i * 2, [-32768, 32767][i], true)),
    ],
    [
      "u16",
      "U16",
      [2],
      le(2, 2, (v, i) => v.setUint16(i * 2, [0, 65535][i], true)),
    ],
    [
      "u32",
      "U32",
      [2],
      le(2, 4, (v, i) => v.setUint32(i * 4, [0, 2147483647][i], true)),
    ],
    [
      "i64",
      "I64",
      [3],
      le(
        3,
        8,
        (v, i) =>
          v.setBigInt64(i * 8, [-2147483648n, 0n, 2147483647n][i], true),
      ),
    ],
    ["u64", "U64", [1], le(1, 8, (v) => v.setBigUint64(0, 12345n, true))],
    ["f32", "F32", [1], le(1, 4, (v) => v.setFloat32(0, 0.5, true))],
  ]);
  const t = load(bytes) as Record<string, Tensor>;
  const check = (k: string, dtype: string, shape: number[], want: number[]) => {
    assert.equal(t[k].dtype, dtype, k);
    assert.deepEqual([...t[k].shape], shape, k);
    const got = [...t[k].data()];
    want.forEach((w, i) =>
      assert.ok(Object.is(got[i], w), `${k}[${i}]: ${got[i]} != ${w}`)
    );
  };
  check("f16", "float32", [2, 4], f16Want);
  check("bf16", "float32", [5], bf16Want.map(Math.fround));
  check("bool", "bool", [4], [1, 0, 0, 1]);
  check("u8", "int32", [3], [0, 128, 255]);
  check("i8", "int32", [3], [-128, -1, 127]);
  check("i16", "int32", [2], [-32768, 32767]);
  check("u16", "int32", [2], [0, 65535]);
  check("u32", "int32", [2], [0, 2147483647]);
  check("i64", "int32", [3], [-2147483648, 0, 2147483647]);
  check("u64", "int32", [1], [12345]);
  check("f32", "float32", [1], [0.5]);
});

Deno.test("load: data that is not 8-byte aligned in the input array still loads", () => {
  const bytes = save({ d: tensor([1, 2, 3], f64) });
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const back = load(shifted.subarray(3)) as { d: Tensor };
  assert.deepEqual([...back.d.data()], [1, 2, 3]);
});

Deno.test("load: clear errors for wide integers out of range and dtypes jacobi cannot hold", () => {
  assert.throws(
    () =>
      load(
        build([[
          "big",
          "I64",
          [2],
          le(2, 8, (v, i) => v.setBigInt64(i * 8, [1n, 2n ** 40n][i], true)),
        ]]),
      ),
    /"big" \(I64\) holds 1099511627776 at flat index 1, outside int32's range/,
  );
  assert.throws(
    () =>
      load(
        build([[
          "u",
          "U32",
          [1],
          le(1, 4, (v) => v.setUint32(0, 2 ** 31, true)),
        ]]),
      ),
    /"u" \(U32\) holds 2147483648 at flat index 0/,
  );
  assert.throws(
    () => load(build([["q", "F8_E4M3", [2], new Uint8Array(2)]])),
    /"q" has dtype F8_E4M3, which jacobi cannot hold/,
  );
});

Deno.test("load: malformed files are rejected with the reason", () => {
  const ok = save({ a: tensor([1, 2]) });
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(4), /4 bytes, fewer than 8/],
    [ok.subarray(0, 20), /runs past the end/],
    [buildRaw("[1]", []), /not a JSON object/],
    [buildRaw("{nope", []), /not UTF-8 JSON/],
    [
      buildRaw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [
        new Uint8Array(8),
      ]),
      /"a" \(F32 \[2\]\) needs 8 bytes, its data_offsets span 4/,
    ],
    [
      buildRaw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', [
        new Uint8Array(8),
      ]),
      /"a" starts at byte 4 where 0 was expected/,
    ],
    [
      buildRaw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [
        new Uint8Array(8),
      ]),
      /the tensors cover 4 of the 8 data bytes/,
    ],
    [
      buildRaw('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', [
        new Uint8Array(4),
      ]),
      /"a" has shape \[-1\]/,
    ],
    [
      buildRaw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,40]}}', [
        new Uint8Array(4),
      ]),
      /"a" has data_offsets \[0,40\] \(the data is 4 bytes\)/,
    ],
    [
      buildRaw('{"__metadata__":{"k":1}}', []),
      /__metadata__.k is not a string/,
    ],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => load(bytes), (e: Error) => {
      assert.ok(e instanceof RangeError, e.message);
      assert.match(e.message, /^load: not a valid safetensors file: /);
      assert.match(e.message, re);
      return true;
    });
  }
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 200_000_000n, true);
  assert.throws(() => load(huge), /over 100 MB/);
  assert.throws(
    () => load("x" as unknown as Uint8Array),
    /expected a Uint8Array, got string x/,
  );
  assert.throws(
    () =>
      load(
        build([["a", "F32", [1], new Uint8Array(4)], [
          "a.b",
          "F32",
          [1],
          new Uint8Array(4),
        ]]),
      ),
    /"a" is both a tensor and a prefix of "a.b"/,
  );
});

Deno.test("save: clear errors for what safetensors cannot store", () => {
  const t = tensor([1]);
  const bad = (tree: unknown, re: RegExp, opts?: unknown) =>
    assert.throws(() => save(tree as TensorTree, opts as undefined), re);
  bad(
    t,
    /expected an object of tensors .* got a single tensor; save\(\{ name: t \}\)/,
  );
  bad({ a: 1 }, /"a" is number 1; every leaf must be a Tensor/);
  bad({ a: { b: "x" } }, /"a.b" is string x/);
  bad({ a: [] }, /"a" is an empty array; safetensors stores only tensors/);
  bad({ a: {} }, /"a" is an empty object/);
  bad({ "a.b": t }, /key "a.b" under the tree is empty or contains "."/);
  bad({ a: { "": t } }, /key "" under "a" is empty/);
  bad({ a: t }, /options.metadata.n is number 1; values must be strings/, {
    metadata: { n: 1 },
  });
  // An empty top-level object is a valid file with no tensors.
  assert.deepEqual(load(save({})), {});
});

Deno.test("save: a traced value inside a transform is an error naming the key", () => {
  assert.throws(
    () => vmap((x: Tensor) => (save({ x }), x))(randn([2, 3])),
    /save: "x" has no concrete value .*save outside of transforms/,
  );
});

Deno.test("save/load: a tensor recorded by the eager tape saves its value", () => {
  const x = tensor([1, 2, 3]).requiresGrad();
  const y = x.mul(2);
  const back = load(save({ y })) as { y: Tensor };
  assert.deepEqual([...back.y.data()], [2, 4, 6]);
});

const deno = (args: string[]) => run(Deno.execPath(), args);

Deno.test("saveFile/loadFile: each needs only its own file permission", async () => {
  const fixture = fileURLToPath(
    new URL("./fixtures/io_file.ts", import.meta.url),
  );
  const dir = Deno.env.get("TMPDIR") ?? "/tmp";
  const path = `${dir}/jacobi_io_${crypto.randomUUID()}.safetensors`;
  try {
    const denied = await deno(["run", "--no-prompt", fixture, "save", path]);
    assert.notEqual(denied.code, 0, "saveFile wrote without --allow-write");
    assert.match(denied.stderr, /write access|NotCapable|PermissionDenied/);
    const saved = await deno([
      "run",
      "--no-prompt",
      `--allow-write=${path}`,
      fixture,
      "save",
      path,
    ]);
    assert.equal(saved.code, 0, saved.stderr);
    const noRead = await deno(["run", "--no-prompt", fixture, "load", path]);
    assert.notEqual(noRead.code, 0, "loadFile read without --allow-read");
    const loaded = await deno([
      "run",
      "--no-prompt",
      `--allow-read=${path}`,
      fixture,
      "load",
      path,
    ]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.deepEqual(JSON.parse(loaded.stdout), {
      w: [[1, 2, 3], [4, 5, 6]],
      b: [0.5, -0.25],
      bDtype: "float64",
      n: [7, -8],
      nDtype: "int32",
    });
    // The file on disk is what save() makes.
    const h = readHeader(await Deno.readFile(path));
    assert.deepEqual(h.metadata, { who: "io_file" });
    assert.deepEqual(Object.keys(h.tensors).sort(), ["layers.0.b", "n", "w"]);
  } finally {
    await deno([
      "run",
      "--no-prompt",
      `--allow-write=${path}`,
      fixture,
      "rm",
      path,
    ]);
  }
});

Deno.test("toJSON: shape, dtype and values a person can read; a summary for large tensors", () => {
  assert.equal(
    JSON.stringify(tensor([[0.1, 2], [3, 4.5]])),
    '{"shape":[2,2],"dtype":"float32","data":[[0.1,2],[3,4.5]]}',
  );
  assert.equal(
    JSON.stringify(tensor(1 / 3, f64)),
    `{"shape":[],"dtype":"float64","data":${1 / 3}}`,
  );
  assert.equal(
    JSON.stringify({ n: tensor([1, -2], i32) }),
    '{"n":{"shape":[2],"dtype":"int32","data":[1,-2]}}',
  );
  assert.deepEqual(tensor([NaN, Infinity, -Infinity, 1]).toJSON().data, [
    "NaN",
    "Infinity",
    "-Infinity",
    1,
  ]);
  const big = tensor(Float64Array.from({ length: 2000 }, (_, i) => i), f64)
    .reshape([40, 50]);
  const j = big.toJSON();
  assert.deepEqual(j.shape, [40, 50]);
  assert.equal(
    j.data,
    "2000 values: min 0, max 1999, mean 999.5 (toArray() gives them all)",
  );
  const x = tensor([1, 2]).requiresGrad();
  assert.deepEqual(x.mul(3).toJSON(), {
    shape: [2],
    dtype: "float32",
    data: [3, 6],
    requiresGrad: true,
  });
  // Inside a transform: no values to show, and no throw.
  let inside: unknown;
  jvp(
    (v: Tensor) => {
      inside = v.toJSON();
      return v;
    },
    [tensor([1, 2])],
    [tensor([1, 1])],
  );
  assert.deepEqual(inside, {
    shape: [2],
    dtype: "float32",
    data: "<traced by jvp>",
  });
  const d = tensor([1]);
  d.dispose();
  assert.equal(d.toJSON().data, "<disposed>");
});
