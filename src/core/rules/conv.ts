/**
 * Every rule of the convolution primitives (`conv`, `convTranspose`,
 * `convWeightGrad`), `maxPool` and `argsort`, kept together and spread
 * into the rule tables.
 *
 * The three convolution primitives are the three bilinear maps between an
 * input x, a weight w and an output y that share one geometry:
 * `conv(x, w) = y`, `convTranspose(gy, w) = x`, `convWeightGrad(x, gy) = w`.
 * ⟨gy, conv(x, w)⟩ = ⟨convTranspose(gy, w), x⟩ = ⟨convWeightGrad(x, gy), w⟩,
 * so the transpose of each in either operand is one of the others, and
 * derivatives of every order stay within the three.
 *
 * Batching folds the vmapped dim into the sample dim N when only the
 * input-like operand is batched, and into the groups when both are (B
 * independent convolutions are one convolution with B times the groups).
 * @module
 */
import * as E from "../lax.ts";
import { iota, reshape } from "../lax.ts";
import { sizeOf } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import type { ConvParams, PrimParams } from "../primitives.ts";
import { bind } from "../trace.ts";

type Dim = number | null;
type ConvPrim = "conv" | "convTranspose" | "convWeightGrad";
type SizedParams = ConvParams & { size: readonly number[] };

/** The geometry alone (drops `size`): a `conv`'s parameters. */
const geometry = (p: ConvParams): ConvParams => ({
  stride: p.stride,
  padLo: p.padLo,
  padHi: p.padHi,
  dilation: p.dilation,
  groups: p.groups,
});

const spatial = (s: readonly number[]) => s.slice(2);

// --- JVP ---------------------------------------------------------------

type T = Tensor | null;

/** Bilinear: d(a ∘ b) = da ∘ b + a ∘ db. */
const bilinearJvp =
  <P extends ConvPrim>(prim: P) =>
  ([a, b]: Tensor[], [ta, tb]: T[], p: PrimParams[P]): [Tensor, T] => {
    const y = bind(prim, [a, b], p);
    const t1 = ta && bind(prim, [ta, b], p);
    const t2 = tb && bind(prim, [a, tb], p);
    return [y, t1 && t2 ? E.add(t1, t2) : (t1 ?? t2)];
  };

/**
 * The flat positions in a tensor of `shape` of the int32 positions `idx`
 * within each plane of its last `nd` dims (planes are the leading dims,
 * shared by both): a 1-D int32 tensor, or null when there is nothing to read.
 */
function planeFlat(
  shape: readonly number[],
  idx: Tensor,
  nd: number,
): Tensor | null {
  const planes = sizeOf(shape.slice(0, shape.length - nd));
  const sin = sizeOf(shape.slice(shape.length - nd));
  const sout = sizeOf(idx.shape.slice(idx.ndim - nd));
  if (planes * sout === 0) return null;
  const base = reshape(E.mul(iota(planes, "float64"), sin), [planes, 1]);
  const wide = bind("cast", [reshape(idx, [planes, sout])], {
    dtype: "float64",
  });
  const flat = bind("cast", [E.add(wide, base)], { dtype: "int32" });
  return reshape(flat, [-1]);
}

/** `t` at the flat positions `flat`, in the shape of `idx`. */
function take(t: Tensor, flat: Tensor | null, like: Tensor): Tensor {
  if (flat === null) return E.full(like.shape, 0, t.dtype);
  const picked = bind("indexSelect", [reshape(t, [-1]), flat], { axis: 0 });
  return reshape(picked, like.shape);
}

export const convJvpRules = {
  conv: bilinearJvp("conv"),
  convTranspose: bilinearJvp("convTranspose"),
  convWeightGrad: bilinearJvp("convWeightGrad"),
  // The tangent of each maximum is the tangent at its (first) argmax.
  maxPool: ([x]: Tensor[], [t]: T[], p: PrimParams["maxPool"]): [Tensor, T] => {
    if (t === null || p.indices) return [bind("maxPool", [x], p), null];
    // One window scan for the positions; the maxima and their tangents are
    // both read there (the same values as the maxima the kernel returns).
    const idx = bind("maxPool", [x], { ...p, indices: true });
    const flat = planeFlat(x.shape, idx, p.kernel.length);
    return [take(x, flat, idx), take(t, flat, idx)];
  },
  argsort: (
    [x]: Tensor[],
    _t: T[],
    p: PrimParams["argsort"],
  ): [Tensor, T] => [bind("argsort", [x], p), null],
};

// --- transpose -----------------------------------------------------------

type Arg = Tensor | { readonly shape: readonly number[] };
/** Operands the linear program computes are not tensors (only shapes). */
const lin = (a: Arg) => !(a instanceof Tensor);

function bothLinear(prim: string): never {
  throw new Error(`internal: ${prim} is not linear in both operands`);
}

export const convTransposeRules = {
  conv: (ct: Tensor, [x, w]: Arg[], p: ConvParams): (Tensor | null)[] => {
    if (lin(x) && lin(w)) bothLinear("conv");
    return lin(x)
      ? [
        bind("convTranspose", [ct, w as Tensor], {
          ...geometry(p),
          size: spatial(x.shape),
        }),
        null,
      ]
      : [
        null,
        bind("convWeightGrad", [x as Tensor, ct], {
          ...geometry(p),
          size: spatial(w.shape),
        }),
      ];
  },
  convTranspose: (
    ct: Tensor,
    [g, w]: Arg[],
    p: SizedParams,
  ): (Tensor | null)[] => {
    if (lin(g) && lin(w)) bothLinear("convTranspose");
    return lin(g) ? [bind("conv", [ct, w as Tensor], geometry(p)), null] : [
      null,
      bind("convWeightGrad", [ct, g as Tensor], {
        ...geometry(p),
        size: spatial(w.shape),
      }),
    ];
  },
  convWeightGrad: (
    ct: Tensor,
    [x, g]: Arg[],
    p: SizedParams,
  ): (Tensor | null)[] => {
    if (lin(x) && lin(g)) bothLinear("convWeightGrad");
    return lin(x)
      ? [
        bind("convTranspose", [g as Tensor, ct], {
          ...geometry(p),
          size: spatial(x.shape),
        }),
        null,
      ]
      : [null, bind("conv", [x as Tensor, ct], geometry(p))];
  },
};

// --- batching ------------------------------------------------------------

/** `x` with its batch dim moved to `to` (broadcast to `size` if unbatched). */
function moveTo(x: Tensor, d: Dim, to: number, size: number): Tensor {
  if (d === null) {
    const ones = [...x.shape], shape = [...x.shape];
    ones.splice(to, 0, 1);
    shape.splice(to, 0, size);
    return bind("broadcastTo", [reshape(x, ones)], { shape });
  }
  if (d === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== d);
  perm.splice(to, 0, d);
  return bind("permute", [x], { perm });
}

/** Merges dims `at` and `at + 1`. */
function merge(x: Tensor, at: number): Tensor {
  const s = [...x.shape];
  s.splice(at, 2, s[at] * s[at + 1]);
  return reshape(x, s);
}

/** Splits dim `at` into `[a, rest]`. */
function split(x: Tensor, at: number, a: number): Tensor {
  const s = [...x.shape];
  s.splice(at, 1, a, s[at] / a);
  return reshape(x, s);
}

/**
 * `[..., B, G·K, ...]` (the batch at `at`, channels after it) to
 * `[..., G·B·K, ...]`: each group's block holds the B copies of its K
 * channels, so that G groups stay G groups.
 */
function batchInsideGroups(x: Tensor, at: number, groups: number): Tensor {
  if (groups === 1) return merge(x, at);
  const s = split(x, at + 1, groups); // [..., B, G, K, ...]
  const perm = s.shape.map((_, i) => i);
  [perm[at], perm[at + 1]] = [at + 1, at];
  const shape = [...x.shape];
  shape.splice(at, 2, x.shape[at] * x.shape[at + 1]);
  return reshape(bind("permute", [s], { perm }), shape);
}

/** The inverse along dim `at`: `[..., G·B·K, ...]` → `[..., B, G·K, ...]`. */
function batchOutOfGroups(
  y: Tensor,
  at: number,
  groups: number,
  b: number,
): Tensor {
  if (groups === 1) return split(y, at, b);
  const k = y.shape[at] / (groups * b);
  const s = [...y.shape];
  s.splice(at, 1, groups, b, k);
  const r = reshape(y, s);
  const perm = r.shape.map((_, i) => i);
  [perm[at], perm[at + 1]] = [at + 1, at];
  const t = bind("permute", [r], { perm });
  const out = [...y.shape];
  out.splice(at, 1, b, groups * k);
  return reshape(t, out);
}

type Batched = [Tensor, Dim];

export const convBatchRules = {
  conv: (
    [x, w]: Tensor[],
    [dx, dw]: Dim[],
    p: ConvParams,
    b: number,
  ): Batched => {
    if (dw === null) {
      const y = bind("conv", [merge(moveTo(x, dx, 0, b), 0), w], p);
      return [split(y, 0, b), 0];
    }
    if (dx === null) {
      const W = batchInsideGroups(moveTo(w, dw, 0, b), 0, p.groups);
      const y = bind("conv", [x, W], p);
      return [batchOutOfGroups(y, 1, p.groups, b), 1];
    }
    const X = merge(moveTo(x, dx, 1, b), 1);
    const W = merge(moveTo(w, dw, 0, b), 0);
    const y = bind("conv", [X, W], { ...p, groups: p.groups * b });
    return [split(y, 1, b), 1];
  },
  convTranspose: (
    [g, w]: Tensor[],
    [dg, dw]: Dim[],
    p: SizedParams,
    b: number,
  ): Batched => {
    if (dw === null) {
      const x = bind("convTranspose", [merge(moveTo(g, dg, 0, b), 0), w], p);
      return [split(x, 0, b), 0];
    }
    const G = merge(moveTo(g, dg, 1, b), 1);
    const W = merge(moveTo(w, dw, 0, b), 0);
    const x = bind("convTranspose", [G, W], { ...p, groups: p.groups * b });
    return [split(x, 1, b), 1];
  },
  convWeightGrad: (
    [x, g]: Tensor[],
    [dx, dg]: Dim[],
    p: SizedParams,
    b: number,
  ): Batched => {
    if (dx === null) {
      // Only the output gradient batched: B more output channels per group.
      const G = batchInsideGroups(moveTo(g, dg, 1, b), 1, p.groups);
      const w = bind("convWeightGrad", [x, G], p);
      return [batchOutOfGroups(w, 0, p.groups, b), 0];
    }
    const X = merge(moveTo(x, dx, 1, b), 1);
    const G = merge(moveTo(g, dg, 1, b), 1);
    const w = bind("convWeightGrad", [X, G], { ...p, groups: p.groups * b });
    return [split(w, 0, b), 0];
  },
  maxPool: (
    [x]: Tensor[],
    [d]: Dim[],
    p: PrimParams["maxPool"],
    b: number,
  ): Batched => {
    // Leading dims are planes: a batch dim among them stays where it is.
    if (d! < x.ndim - p.kernel.length) return [bind("maxPool", [x], p), d];
    return [bind("maxPool", [moveTo(x, d, 0, b)], p), 0];
  },
  argsort: ([x]: Tensor[], [d]: Dim[], p: PrimParams["argsort"]): Batched => {
    const axis = p.axis < d! ? p.axis : p.axis + 1;
    return [bind("argsort", [x], { ...p, axis }), d];
  },
};
