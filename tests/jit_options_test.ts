/**
 * jit's cache key (exact), staticArgnums, traced plain numbers and
 * donateArgnums.
 */
import assert from "node:assert/strict";
import {
  grad,
  jit,
  memoryStats,
  randn,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";
import { assertClose, assertThrowsWith } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;

Deno.test("jit: plain numbers are traced, so values that JSON conflates stay apart", () => {
  let traces = 0;
  const h = jit((x: Tensor, s: number) => {
    traces++;
    return x.mul(s);
  });
  const x = tensor([1, -1], f64);
  assert.deepEqual([...(h(x, Infinity) as Tensor).data()], [
    Infinity,
    -Infinity,
  ]);
  assert.deepEqual([...(h(x, -Infinity) as Tensor).data()], [
    -Infinity,
    Infinity,
  ]);
  assert.ok((h(x, NaN) as Tensor).data().every(Number.isNaN));
  assert.ok(Object.is((h(x, -0) as Tensor).data()[0], -0));
  assert.ok(Object.is((h(x, 0) as Tensor).data()[0], 0));
  // One trace for every value: a step counter or learning rate does not retrace.
  for (let step = 0; step < 20; step++) {
    assertClose(h(x, step) as Tensor, [step, -step]);
  }
  assert.equal(traces, 1);
});

Deno.test("jit: a traced number takes the dtype of the call's tensors", () => {
  const h = jit((x: Tensor, s: number) => x.mul(s).add(s));
  const y32 = h(tensor([1, 2]), 0.1) as Tensor;
  assert.equal(y32.dtype, "float32");
  assertClose(y32, tensor([1, 2]).mul(0.1).add(0.1));
  const y64 = h(tensor([1, 2], f64), 0.1) as Tensor;
  assert.equal(y64.dtype, "float64");
  assertClose(y64, [0.2, 0.30000000000000004]);
  // Nested in a pytree, and under grad and vmap.
  const p = jit((q: { w: Tensor; lr: number }) => q.w.sub(q.w.mul(q.lr)));
  assertClose(p({ w: tensor([2, 4], f64), lr: 0.25 }) as Tensor, [1.5, 3]);
  const g = grad((x: Tensor) => (h(x, 3) as Tensor).sum());
  assertClose(g(tensor([1, 2], f64)) as Tensor, [3, 3]);
  assertClose(
    vmap((x: Tensor) => h(x, 2) as Tensor)(tensor([[1], [2]], f64)) as Tensor,
    [4, 6],
  );
});

Deno.test("jit: staticArgnums keys exactly (Object.is numbers, identity for functions and objects)", () => {
  let traces = 0;
  const k = jit((x: Tensor, s: unknown) => {
    traces++;
    return typeof s === "function" ? x.mul((s as () => number)()) : x.mul(2);
  }, { staticArgnums: [1] });
  const x = tensor([1]);
  const values = [null, undefined, NaN, 0, -0, Infinity, -Infinity, "0", false];
  for (const v of values) k(x, v);
  assert.equal(traces, values.length);
  for (const v of values) k(x, v); // all cached now
  assert.equal(traces, values.length);
  const one = () => 1, two = () => 2;
  assert.equal((k(x, one) as Tensor).item(), 1);
  assert.equal((k(x, two) as Tensor).item(), 2); // not confused with `one`
  assert.equal(traces, values.length + 2);
  // Arrays and plain objects compare entry by entry.
  k(x, [1, { a: -0 }]);
  k(x, [1, { a: -0 }]);
  k(x, [1, { a: 0 }]);
  assert.equal(traces, values.length + 4);
});

Deno.test("jit: a static number can decide shapes; a traced one says to make it static", () => {
  const tile = jit(
    (x: Tensor, n: number) => x.reshape([1, -1]).expand([n, x.size]),
    { staticArgnums: -1 },
  );
  assert.deepEqual((tile(tensor([1, 2]), 3) as Tensor).shape, [3, 2]);
  assert.deepEqual((tile(tensor([1, 2]), 2) as Tensor).shape, [2, 2]);
  const bad = jit((x: Tensor, n: number) => x.reshape([n]));
  assertThrowsWith(() => bad(tensor([1, 2]), 2), RangeError, "staticArgnums");
  // An error the number did not cause gets no such note.
  const other = jit((x: Tensor, s: number) => x.add(tensor([1, 2, 3])).mul(s));
  const e = assertThrowsWith(() => other(tensor([1, 2]), 2), RangeError);
  assert.ok(!e.message.includes("staticArgnums"), e.message);
  // JS arithmetic on a traced value would silently be NaN: it throws.
  const arith = jit((x: Tensor, s: number) => x.mul(s * 2));
  assertThrowsWith(
    () => arith(tensor([1]), 2),
    TypeError,
    "cannot be used as a JS number",
    "argument 1 holds a plain number",
  );
  assert.throws(
    () =>
      grad((x: Tensor) => tensor(Math.exp(x as unknown as number)))(tensor(1)),
    /cannot be used as a JS number/,
  );
});

Deno.test("jit: static arguments and options are validated", () => {
  const f = (x: Tensor, y: unknown) => x.add(1).mul(y === null ? 1 : 2);
  assertThrowsWith(
    () => jit(f, { staticArgnums: [1] })(tensor([1]), tensor([2])),
    TypeError,
    "argument 1 is static",
    "tensors are always traced",
  );
  assertThrowsWith(
    () => jit(f, { staticArgnums: [2] })(tensor([1]), null),
    RangeError,
    "staticArgnums 2 is out of range",
  );
  assertThrowsWith(
    () => jit(f, { staticArgnums: [1], donateArgnums: [1] })(tensor([1]), null),
    TypeError,
    "both static and donated",
  );
  assertThrowsWith(
    () => jit(f, { donateArgnums: 1 })(tensor([1]), 3),
    TypeError,
    "holds no tensor to donate",
  );
  assertThrowsWith(
    () => jit(f, { staticArgnums: [0.5] })(tensor([1]), null),
    TypeError,
    "staticArgnums entries must be integer",
  );
  assertThrowsWith(
    () => jit(f, { staticArgnum: 1 } as never),
    TypeError,
    'unknown option "staticArgnum"',
  );
});

Deno.test("jit: donateArgnums frees the donated buffers and forbids their later use", () => {
  const step = jit(
    (w: Tensor, g: Tensor, lr: number) => w.sub(g.mul(lr)),
    { donateArgnums: [0] },
  );
  const g = tensor([1, 1], f64);
  let w = tensor([1, 2], f64);
  const first = w;
  w = step(w, g, 0.5) as Tensor;
  assertClose(w, [0.5, 1.5]);
  assertThrowsWith(() => first.sum(), Error, "donated to a jit call");
  assertThrowsWith(() => first.data(), Error, "donated");
  assertThrowsWith(() => step(first, g, 0.5), Error, "donated");
  assertClose(g, [1, 1]); // not donated
  // A synchronous loop that replaces its state stays flat without dispose().
  const big = jit((w: Tensor) => w.add(1), { donateArgnums: 0 });
  let v = randn([1 << 14], f64);
  v = big(v) as Tensor;
  const live0 = memoryStats().liveBytes;
  for (let i = 0; i < 1000; i++) v = big(v) as Tensor;
  assert.equal(memoryStats().liveBytes, live0);
});

Deno.test("jit: a donated argument that the result aliases stays valid through the result", () => {
  const id = jit((v: Tensor) => v, { donateArgnums: [0] });
  const x = tensor([1, 2, 3], f64);
  const y = id(x) as Tensor;
  assertClose(y, [1, 2, 3]);
  assert.throws(() => x.data(), /donated/);
  const before = memoryStats().liveBytes;
  y.dispose();
  assert.equal(memoryStats().liveBytes, before - 24);
});
