/**
 * Rows of the primitive table for convolution, pooling and sorting: each
 * public op in its main variants (strides, padding, dilation, groups,
 * bias, ceil mode), and the weight-gradient primitive bound directly. Max
 * pooling gets inputs without ties (distinct values), so its derivative
 * is smooth at the sample points.
 * @module
 */
import {
  argsort,
  avgPool2d,
  conv1d,
  conv2d,
  convTranspose2d,
  maxPool2d,
  sort,
  type Tensor,
  topk,
} from "../mod.ts";
import { bind } from "../src/core/trace.ts";
import { fromGen, randnT, type Rng } from "./_helpers.ts";
import type { OpCase } from "./primitives_cases.ts";

const f64 = (...shapes: number[][]) => (r: Rng) =>
  shapes.map((s) => randnT(r, s));

/** Distinct values (a shuffled ramp in [-1, 1]): no ties in any window. */
export const distinct = (shape: number[]) => (r: Rng): Tensor[] => {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => -1 + (2 * i) / n);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(0, i);
    [v[i], v[j]] = [v[j], v[i]];
  }
  let k = 0;
  return [fromGen(shape, () => v[k++])];
};

export const convCases: OpCase[] = [
  {
    name: "conv2d() [2, 3, 5, 5] * [4, 3, 3, 3] with bias",
    prims: ["conv", "add", "reshape"],
    fn: (x, w, b) => conv2d(x, w, b),
    args: f64([2, 3, 5, 5], [4, 3, 3, 3], [4]),
  },
  {
    name: "conv2d() stride [2, 1], padding [1, 0], dilation [1, 2]",
    prims: ["conv"],
    fn: (x, w) =>
      conv2d(x, w, { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }),
    args: f64([1, 2, 6, 5], [2, 2, 2, 3]),
  },
  {
    name: 'conv2d() groups 2, padding "same" with an even kernel',
    prims: ["conv"],
    fn: (x, w) => conv2d(x, w, { groups: 2, padding: "same" }),
    args: f64([2, 4, 4, 3], [4, 2, 2, 3]),
  },
  {
    name: "conv2d() unbatched [3, 4, 4], stride 2, padding 1",
    prims: ["conv", "reshape"],
    fn: (x, w) => conv2d(x, w, { stride: 2, padding: 1 }),
    args: f64([3, 4, 4], [2, 3, 3, 3]),
  },
  {
    name: "conv1d() [2, 3, 7] * [2, 3, 3], stride 2, bias",
    prims: ["conv", "add"],
    fn: (x, w, b) => conv1d(x, w, b, { stride: 2 }),
    args: f64([2, 3, 7], [2, 3, 3], [2]),
  },
  {
    name: "conv1d() depthwise (groups 3), dilation 2, padding 2",
    prims: ["conv"],
    fn: (x, w) => conv1d(x, w, { groups: 3, dilation: 2, padding: 2 }),
    args: f64([2, 3, 6], [3, 1, 3]),
  },
  {
    name: "convTranspose2d() stride 2, padding 1, outputPadding 1",
    prims: ["convTranspose"],
    fn: (x, w) =>
      convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1 }),
    args: f64([2, 3, 3, 3], [3, 2, 3, 3]),
  },
  {
    name: "convTranspose2d() groups 2, dilation 2, bias",
    prims: ["convTranspose", "add"],
    fn: (x, w, b) => convTranspose2d(x, w, b, { groups: 2, dilation: 2 }),
    args: f64([1, 4, 3, 2], [4, 1, 2, 2], [2]),
  },
  {
    name:
      "convWeightGrad (primitive) x [2, 4, 5, 4], gy [2, 2, 3, 3], groups 2",
    prims: ["convWeightGrad"],
    fn: (x, g) =>
      bind("convWeightGrad", [x, g], {
        stride: [2, 1],
        padLo: [1, 0],
        padHi: [0, 1],
        dilation: [1, 1],
        groups: 2,
        size: [2, 3],
      }),
    args: f64([2, 4, 5, 4], [2, 2, 3, 3]),
  },
  {
    name: "maxPool2d() 2×2 of [2, 3, 4, 5]",
    prims: ["maxPool"],
    fn: (x) => maxPool2d(x, 2),
    args: distinct([2, 3, 4, 5]),
  },
  {
    name: "maxPool2d() 3×3, stride 2, padding 1, ceilMode, unbatched [2, 5, 6]",
    prims: ["maxPool"],
    fn: (x) => maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
    args: distinct([2, 5, 6]),
  },
  {
    name: "maxPool2d() [2, 3] window, dilation 2, stride 1",
    prims: ["maxPool"],
    fn: (x) => maxPool2d(x, [2, 3], { stride: 1, dilation: 2 }),
    args: distinct([1, 2, 5, 6]),
  },
  {
    name: "avgPool2d() 2×2 of [2, 3, 4, 5]",
    prims: ["conv", "reshape"],
    fn: (x) => avgPool2d(x, 2),
    args: f64([2, 3, 4, 5]),
  },
  {
    name:
      "avgPool2d() 3×3, stride 2, padding 1, ceilMode, countIncludePad false",
    prims: ["conv", "div"],
    fn: (x) =>
      avgPool2d(x, 3, {
        stride: 2,
        padding: 1,
        ceilMode: true,
        countIncludePad: false,
      }),
    args: f64([1, 2, 6, 5]),
  },
  {
    name: "sort() values along dim 1 of [3, 5], descending",
    prims: ["argsort", "indexSelect"],
    fn: (x) => sort(x, { dim: 1, descending: true }).values,
    args: distinct([3, 5]),
  },
  {
    name: "sort() values along dim 0 of [4, 2, 3]",
    prims: ["argsort", "indexSelect"],
    fn: (x) => sort(x, 0).values,
    args: distinct([4, 2, 3]),
  },
  {
    name: "topk() 2 largest along the last dim of [3, 6]",
    prims: ["argsort", "indexSelect", "slice"],
    fn: (x) => topk(x, 2).values,
    args: distinct([3, 6]),
  },
  {
    name: "topk() 3 smallest along dim 0 of [5, 2]",
    prims: ["argsort", "indexSelect", "slice"],
    fn: (x) => topk(x, 3, { dim: 0, largest: false }).values,
    args: distinct([5, 2]),
  },
  {
    name: "argsort() along dim 1 with ties (stable)",
    prims: ["argsort"],
    fn: (x) => argsort(x.round(), 1),
    args: f64([3, 6]),
    noGrad: true,
  },
  {
    name: "maxPool (primitive) indices of [2, 5, 4]",
    prims: ["maxPool"],
    fn: (x) =>
      bind("maxPool", [x], {
        kernel: [2, 2],
        stride: [2, 1],
        padLo: [1, 0],
        dilation: [1, 1],
        out: [3, 3],
        indices: true,
      }),
    args: f64([2, 5, 4]),
    noGrad: true,
  },
];
