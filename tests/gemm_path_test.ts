// GEMM path selection in the real wasm32 build (32-bit usize), asserted
// instead of timed: a size test that wrapped once sent every shape whose
// m·n·k is a multiple of 2³² to the unpacked triple loop (80× slower), which
// a timing test on a shared machine could not tell from noise. And the two
// builds of the kernels (relaxed SIMD and its SIMD128 fallback) must agree.
import assert from "node:assert/strict";
import { wasm, wasmVariant } from "../src/backend/wasm.ts";
import { jit, matmul, type Tensor, tensor } from "../mod.ts";
import { assertSameBits } from "./_helpers.ts";

const PACKED = 4, UNPACKED = 3, GEMV = 2, THIN = 5, OUTER = 6;
/** The raw export takes the two flags as 0/1. */
const path = (m: number, n: number, k: number, ta: boolean, tb: boolean) =>
  wasm.matmul_path(m, n, k, +ta, +tb);

Deno.test("large and neighbouring GEMM sizes take the packed path in wasm32", () => {
  for (
    const [m, n, k] of [
      [1024, 2048, 2048],
      [2048, 2048, 1024],
      [4096, 1024, 1024],
      [2048, 2048, 2048],
      [4096, 4096, 4096],
    ]
  ) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        assert.equal(
          path(m, n, k, ta, tb),
          PACKED,
          `${m}x${n}x${k} transA=${ta} transB=${tb}`,
        );
      }
    }
  }
  for (let n = 500; n <= 520; n++) {
    assert.equal(path(n, n, n, false, true), PACKED, `n=${n}`);
  }
  for (const n of [64, 128, 256, 1023, 1024, 1025, 2047, 2048, 4096]) {
    assert.equal(path(n, n, n, false, false), PACKED, `n=${n}`);
  }
  // The other paths still exist for the shapes they are for.
  assert.equal(path(8, 8, 8, false, false), UNPACKED);
  assert.equal(path(1, 4096, 4096, false, true), GEMV);
  assert.equal(path(4096, 1, 4096, false, false), GEMV);
});

/** Runs `code` in a fresh Deno (its own wasm instance), returns stdout. */
async function run(code: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("outer products (k = 1) take the outer path, the wrapping size too", () => {
  // 65536·65536·1 is 2³²: with a 32-bit size test it wrapped to the tiny
  // triple loop. A per-sample weight gradient is 256×1 by 1×784.
  for (const [m, n] of [[65536, 65536], [256, 784], [128, 5], [3, 300]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        assert.equal(path(m, n, 1, ta, tb), OUTER, `${m}x${n}x1 ${ta} ${tb}`);
      }
    }
  }
  // Tiny ones stay in the plain loop, 2 to 4 columns in the thin path.
  assert.equal(path(8, 8, 1, false, false), UNPACKED);
  assert.equal(path(1024, 3, 1, false, false), THIN);
});

Deno.test("outer products: the bits of the broadcast product, batched, transposed, jitted", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const data = (n: number, s: number) =>
      Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s) + 0.01);
    const a = tensor(data(4 * 37, 1), { dtype }).reshape([4, 37, 1]);
    const b = tensor(data(4 * 101, 2), { dtype }).reshape([4, 1, 101]);
    const want = a.mul(b); // one rounding per element, as a·b from zero
    assertSameBits(matmul(a, b), want, `${dtype} batched`);
    // Stored transposed (the flags a vjp's products carry), and under jit.
    // (A size-1 dim: the transposed storage is the same data.)
    const at = a.reshape([4, 1, 37]), bt = b.reshape([4, 101, 1]);
    const f = (x: Tensor, y: Tensor) => matmul(x.transpose(), y.transpose());
    assertSameBits(f(at, bt), want, `${dtype} both transposed`);
    assertSameBits(jit(f)(at, bt), want, `${dtype} jit`);
  }
});

Deno.test("products with 2 to 4 columns take the thin path, whatever the flags", () => {
  // A PINN's gradients with respect to its two input coordinates: NR-wide
  // packed tiles would be three quarters padding.
  for (
    const [m, n, k] of [[1024, 2, 64], [64, 2, 1024], [9, 3, 300], [
      4096,
      4,
      4096,
    ]]
  ) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        assert.equal(path(m, n, k, ta, tb), THIN, `${m}x${n}x${k} ${ta} ${tb}`);
      }
    }
  }
  assert.equal(path(1024, 5, 64, false, false), PACKED);
  assert.equal(path(2, 2, 2, false, false), UNPACKED); // tiny
});

Deno.test("the SIMD128 fallback build and the relaxed-SIMD build agree", async () => {
  // Odd sizes: edge tiles, several KC panels, both transposes, and a
  // three-column product (the thin path).
  const code = (force: string) => `
    ${force}
    const { wasmVariant } = await import("./src/backend/wasm.ts");
    const { matmul, tensor } = await import("./mod.ts");
    const data = (n: number, s: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
    const a = tensor(data(67 * 301, 1)).reshape([67, 301]);
    const b = tensor(data(45 * 301, 2)).reshape([45, 301]);
    const c = tensor(data(301 * 45, 3)).reshape([301, 45]);
    const d = tensor(data(301 * 3, 4)).reshape([301, 3]);
    const y = [
      ...matmul(a, b, true).data(),
      ...matmul(a, c).data(),
      ...matmul(a, d).data(),
    ];
    // tanh and exp clamp with pseudo-min/max and mend NaN after: every
    // special value, in vector lanes and the tail, as text (JSON has no NaN).
    const special = tensor([NaN, -0, 0, Infinity, -Infinity, 8, -8, 1e-5,
      -1e-5, 89, -104, 200, -200, 0.5, -3, NaN, 7.905311, -7.905311, NaN]);
    const text = (t: any) => Array.from(t.data() as Float32Array, (v) =>
      Object.is(v, -0) ? "-0" : String(v));
    const fns = [...text(special.tanh()), ...text(special.exp()),
      ...text(special.sin()), ...text(special.cos())];
    console.log(JSON.stringify({ v: wasmVariant, y, fns }));
  `;
  const plain = JSON.parse(
    await run(code("(globalThis as any).jacobiRelaxedSimd = false;")),
  );
  const best = JSON.parse(await run(code("")));
  assert.equal(plain.v, "simd128");
  assert.equal(best.v, wasmVariant);
  // Reference in float64 from the same inputs.
  const data = (n: number, s: number) =>
    Float64Array.from(
      { length: n },
      (_, i) => Math.fround(Math.sin(i * 0.37 + s)),
    );
  const A = data(67 * 301, 1), B = data(45 * 301, 2), C = data(301 * 45, 3);
  const D = data(301 * 3, 4);
  const want: number[] = [];
  for (let i = 0; i < 67; i++) {
    for (let j = 0; j < 45; j++) {
      let s = 0;
      for (let p = 0; p < 301; p++) s += A[i * 301 + p] * B[j * 301 + p];
      want.push(s);
    }
  }
  for (let i = 0; i < 67; i++) {
    for (let j = 0; j < 45; j++) {
      let s = 0;
      for (let p = 0; p < 301; p++) s += A[i * 301 + p] * C[p * 45 + j];
      want.push(s);
    }
  }
  for (let i = 0; i < 67; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let p = 0; p < 301; p++) s += A[i * 301 + p] * D[p * 3 + j];
      want.push(s);
    }
  }
  // The elementwise kernels agree to the bit, NaN and -0 included.
  assert.deepEqual(plain.fns, best.fns);
  const specials = [NaN, -0, 0, Infinity, -Infinity, 8, -8, 1e-5, -1e-5];
  const tanhWant = ["NaN", "-0", "0", "1", "-1"];
  assert.deepEqual(plain.fns.slice(0, 5), tanhWant, "tanh specials");
  const expAt = 19; // exp's block starts after the 19 tanh values
  assert.deepEqual(
    plain.fns.slice(expAt, expAt + 5),
    ["NaN", "1", "1", "Infinity", "0"],
    `exp specials of ${specials.slice(0, 5)}`,
  );
  assert.equal(plain.fns[15], "NaN", "tanh of a NaN in a vector's last lane");
  assert.equal(plain.fns[18], "NaN", "tanh of a NaN in the tail");
  assert.equal(plain.fns[expAt + 18], "NaN", "exp of a NaN in the tail");
  // sin and cos truncate the quadrant with the relaxed build's conversion.
  for (const at of [2 * expAt, 3 * expAt]) {
    for (const i of [0, 15, 18]) assert.equal(plain.fns[at + i], "NaN");
    assert.equal(plain.fns[at + 3], "NaN", "sin/cos of infinity");
  }
  for (const got of [plain.y, best.y]) {
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])),
        `${i}: ${got[i]} vs ${want[i]}`,
      );
    }
  }
});
