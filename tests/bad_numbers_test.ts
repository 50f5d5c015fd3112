/**
 * Non-integer and NaN offsets, sizes and dims never reach the kernels: the
 * public ops name the argument, and the shape rules refuse any primitive
 * parameter that is not an integer (so rules, jit and direct binds are
 * covered too), before a misaligned read or a shape like [NaN] can happen.
 * @module
 */
import assert from "node:assert/strict";
import { arange, jit, ones, type Tensor, tensor, zeros } from "../mod.ts";
import { bind } from "../src/core/trace.ts";

const cases: [string, () => unknown, RegExp][] = [
  [
    "slice(0, 0.5, 3)",
    () => tensor([1, 2, 3, 4]).slice(0, 0.5, 3),
    /slice: start must be an integer, got 0\.5/,
  ],
  [
    "slice end 2.5",
    () => zeros([2, 4]).slice(1, 0, 2.5),
    /slice: end must be an integer, got 2\.5/,
  ],
  [
    "expand([2.5, 3])",
    () => ones([1, 3]).expand([2.5, 3]),
    /expand: target \[2\.5, 3\] must be non-negative integers/,
  ],
  [
    "expand([NaN, 3])",
    () => ones([1, 3]).expand([NaN, 3]),
    /expand: target \[NaN, 3\]/,
  ],
  ["arange(NaN)", () => arange(NaN), /arange: start and end must be finite/],
  [
    "arange(0, Infinity)",
    () => arange(0, Infinity),
    /arange: start and end must be finite/,
  ],
  ["zeros([NaN])", () => zeros([NaN]), /invalid size NaN/],
  [
    "reshape([2.5, 2])",
    () => zeros([5]).reshape([2.5, 2]),
    /invalid size 2\.5/,
  ],
  [
    "narrow(0, 0.5, 2)",
    () => zeros([4]).narrow(0, 0.5, 2),
    /narrow: start 0\.5/,
  ],
  ["sum(0.5)", () => zeros([4, 2]).sum(0.5), /must be an integer, got 0\.5/],
  [
    "a slice primitive with start 0.5",
    () => bind("slice", [zeros([4])], { start: [0.5], step: [1], shape: [2] }),
    /slice: start must be integers, got \[0\.5\]/,
  ],
  [
    "a pad primitive with shape [NaN]",
    () => bind("pad", [zeros([2])], { start: [0], step: [1], shape: [NaN] }),
    /pad: shape must be integers, got \[NaN\]/,
  ],
  [
    "a reshape primitive with shape [1.5, 2]",
    () => bind("reshape", [zeros([3])], { shape: [1.5, 2] }),
    /reshape: shape must be integers/,
  ],
  [
    "a sum primitive with axes [0.5]",
    () => bind("sum", [zeros([3])], { axes: [0.5] }),
    /sum: axes must be integers/,
  ],
  [
    "under jit",
    () =>
      jit((x: Tensor) =>
        bind("slice", [x], { start: [1.5], step: [1], shape: [1] })
      )(zeros([4])),
    /slice: start must be integers/,
  ],
];

for (const [name, f, re] of cases) {
  Deno.test(`non-integer or NaN argument is a clear error: ${name}`, () => {
    assert.throws(
      f,
      (e) =>
        (e instanceof RangeError || e instanceof TypeError) &&
        re.test(e.message),
    );
  });
}

Deno.test("integer arguments still work after the checks", () => {
  assert.deepEqual(tensor([1, 2, 3, 4]).slice(0, 1, 3).toArray(), [2, 3]);
  assert.deepEqual(ones([1, 2]).expand([2, -1]).shape, [2, 2]);
  assert.deepEqual(arange(3).toArray(), [0, 1, 2]);
});
