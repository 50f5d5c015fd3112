/**
 * Sizes that cannot be allocated fail with a clear RangeError before they
 * reach the kernels, and the library stays usable afterwards.
 *
 * Before: a byte count at or above 2^32 wrapped to a small block
 * (`zeros([65536, 65536])` aliased other tensors' memory, `zeros([2 ** 30])`
 * overwrote live tensors), and a matmul whose packing buffers did not fit
 * trapped with `RuntimeError: unreachable`.
 * @module
 */
import assert from "node:assert/strict";
import {
  allocate,
  MAX_BUFFER_BYTES,
  memoryStats,
  type Storage,
} from "../src/backend/storage.ts";
import { jit, matmul, ones, type Tensor, tensor, zeros } from "../mod.ts";
import { assertThrowsWith } from "./_helpers.ts";

/** A small computation with known results, run after each failure. */
function stillWorks(): void {
  const a = tensor([[1, 2], [3, 4]]), b = tensor([[5, 6], [7, 8]]);
  const c = matmul(a, b);
  assert.deepEqual([...c.data()], [19, 22, 43, 50]);
  const big = ones([1000, 1000]);
  const s = big.sum();
  assert.equal(s.item(), 1e6);
  for (const t of [a, b, c, big, s]) t.dispose();
}

/**
 * Allocates blocks, largest first, until no block of `minBytes` fits any
 * more (linear memory then stands at its 4 GiB limit). Uninitialised, so
 * no page is touched.
 */
function exhaust(minBytes: number): Storage[] {
  const held: Storage[] = [];
  for (let bytes = 2 ** 30; bytes >= minBytes; bytes /= 4) {
    for (;;) {
      try {
        held.push(allocate("float32", bytes / 4));
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        break;
      }
    }
  }
  return held;
}

Deno.test("zeros([65536, 65536]) (2^32 elements) is a RangeError naming shape, dtype and bytes", () => {
  const live = tensor([1, 2, 3, 4]);
  assertThrowsWith(
    () => zeros([65536, 65536]),
    RangeError,
    "shape [65536, 65536]",
    "4294967296 elements",
    "float32",
    "17179869184 bytes",
  );
  assert.deepEqual([...live.data()], [1, 2, 3, 4]);
  live.dispose();
  stillWorks();
});

Deno.test("zeros([2 ** 30]) (4 GiB of float32) is a RangeError and leaves live tensors intact", () => {
  const live = tensor([5, 6, 7]);
  const before = memoryStats().liveBytes;
  assertThrowsWith(
    () => zeros([2 ** 30]),
    RangeError,
    "shape [1073741824]",
    "float32",
    "4294967296 bytes",
    "2 GiB",
  );
  assertThrowsWith(
    () => ones([2 ** 28, 2], { dtype: "float64" }),
    RangeError,
    "float64",
    "4294967296 bytes",
  );
  assert.equal(memoryStats().liveBytes, before);
  assert.deepEqual([...live.data()], [5, 6, 7]);
  live.dispose();
  stillWorks();
});

Deno.test("allocate: sizes are checked (integer, at most the largest buffer)", () => {
  assertThrowsWith(() => allocate("float32", 2.5), RangeError, "2.5");
  assertThrowsWith(() => allocate("float32", NaN), RangeError, "NaN");
  assertThrowsWith(() => allocate("int32", -1), RangeError, "-1");
  assertThrowsWith(
    () => allocate("float64", 2 ** 53),
    RangeError,
    "9007199254740992",
  );
  // One element past the largest buffer.
  const over = Math.floor(MAX_BUFFER_BYTES / 4) + 1;
  assertThrowsWith(
    () => allocate("float32", over),
    RangeError,
    `${over} elements`,
    `${over * 4} bytes`,
  );
});

Deno.test("out of memory: a RangeError with the live bytes and what to do, then normal operation", () => {
  const held = exhaust(1 << 20);
  let err: Error;
  try {
    assert.ok(memoryStats().heapBytes > 2 ** 32 - 2 ** 24);
    err = assertThrowsWith(
      () => zeros([1024, 1024]),
      RangeError,
      "out of WebAssembly memory",
      "shape [1024, 1024]",
      "4194304 bytes",
      `${memoryStats().liveBytes} bytes`,
      "dispose()",
      "using",
      "await",
    );
  } finally {
    for (const s of held) s.dispose();
  }
  assert.match(err.message, /4096\.0 MiB/);
  stillWorks();
});

Deno.test("out of memory inside matmul (packing buffers) is the same RangeError, not a trap", () => {
  // C = A @ B with n = 4096, k = 256: C is 128 KiB, B's packed panels
  // need ~4 MiB. Fill memory, then free one 1 MiB block: C fits, the
  // packing buffers cannot.
  const m = 8, k = 256, n = 4096;
  const av = Float32Array.from({ length: m * k }, (_, i) => (i % 7) - 3);
  const bv = Float32Array.from({ length: k * n }, (_, i) => (i % 5) - 2);
  const a = tensor(av).reshape([m, k]);
  const b = tensor(bv).reshape([k, n]);
  const held = exhaust(1 << 20);
  held.pop()!.dispose();
  try {
    assertThrowsWith(
      () => matmul(a, b),
      RangeError,
      "out of WebAssembly memory",
      "packing buffers of a matmul",
      "dispose()",
    );
    // The jit executor runs the same kernel: it must fail cleanly too.
    let jitErr: unknown;
    try {
      jit((x: Tensor, y: Tensor) => matmul(x, y).mul(2))(a, b);
    } catch (e) {
      jitErr = e;
    }
    assert.ok(jitErr instanceof Error, "jit matmul did not fail");
    assert.ok(!(jitErr instanceof WebAssembly.RuntimeError), String(jitErr));
    assert.match((jitErr as Error).message, /out of WebAssembly memory/);
  } finally {
    for (const s of held) s.dispose();
  }
  // Afterwards the same product is computed, and correctly.
  const c = matmul(a, b);
  const got = c.data();
  for (const [i, j] of [[0, 0], [3, 1000], [7, 4095]]) {
    let want = 0;
    for (let p = 0; p < k; p++) want += av[i * k + p] * bv[p * n + j];
    assert.equal(got[i * n + j], want, `C[${i}, ${j}]`);
  }
  for (const t of [a, b, c]) t.dispose();
  stillWorks();
});

Deno.test("a jit intermediate too large for one buffer is a RangeError naming its shape, not a wrapped size", () => {
  const N = 65600; // N² float32 = 17 GB: its element count does not fit an i32 field
  const f = jit((a: Tensor, b: Tensor) =>
    a.reshape([N, 1]).mul(b.reshape([1, N])).sum()
  );
  const a = ones([N]), b = ones([N]);
  assertThrowsWith(
    () => f(a, b),
    RangeError,
    "cannot allocate",
    "65600, 65600",
  );
  for (const t of [a, b]) t.dispose();
  stillWorks();
});
