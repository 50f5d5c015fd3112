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
import type { Aval } from "../ir.ts";
import { fmtShape, sizeOf } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import type { ConvParams, PrimParams } from "../primitives.ts";
import { bind } from "../trace.ts";

type Dim = number | null;
type ConvPrim = "conv" | "convTranspose" | "convWeightGrad";
type SizedParams = ConvParams & { size: readonly number[] };

function floatArgs(what: string, args: Aval[]): void {
  for (const a of args) {
    if (a.dtype === "int32") {
      throw new TypeError(
        `${what}: expected float32 or float64 tensors, got int32 (convert with .to("float32"))`,
      );
    }
    if (a.dtype !== args[0].dtype) {
      throw new TypeError(
        `${what}: mixed dtypes ${
          args.map((x) => x.dtype).join(" and ")
        }; convert one with .to(dtype)`,
      );
    }
  }
}

/** The geometry alone (drops `size`): a `conv`'s parameters. */
const geometry = (p: ConvParams): ConvParams => ({
  stride: p.stride,
  padLo: p.padLo,
  padHi: p.padHi,
  dilation: p.dilation,
  groups: p.groups,
});

const spatial = (s: readonly number[]) => s.slice(2);

/**
 * Output sizes of a convolution window geometry:
 * `⌊(in + lo + hi - dilation·(k-1) - 1) / stride⌋ + 1` per dim; each must
 * be at least 1.
 */
export function convOutSize(
  what: string,
  inp: readonly number[],
  k: readonly number[],
  p: Pick<ConvParams, "stride" | "padLo" | "padHi" | "dilation">,
): number[] {
  return inp.map((n, d) => {
    const span = p.dilation[d] * (k[d] - 1) + 1;
    const o = Math.floor((n + p.padLo[d] + p.padHi[d] - span) / p.stride[d]) +
      1;
    if (!(o >= 1)) {
      throw new RangeError(
        `${what}: the kernel (size ${k[d]}, dilation ${
          p.dilation[d]
        }) spans ${span} but spatial dim ${d} is ${n} with padding (${
          p.padLo[d]
        }, ${p.padHi[d]}): no output position`,
      );
    }
    return o;
  });
}

function checkGeometry(what: string, p: ConvParams): number {
  const nd = p.stride.length;
  if (nd < 1 || nd > 3) {
    throw new RangeError(`${what}: 1 to 3 spatial dims, got ${nd}`);
  }
  for (
    const [name, v] of Object.entries({
      padLo: p.padLo,
      padHi: p.padHi,
      dilation: p.dilation,
    })
  ) {
    if (v.length !== nd) {
      throw new RangeError(
        `${what}: ${name} has ${v.length} entries for ${nd} spatial dims`,
      );
    }
  }
  if (p.stride.some((s) => s < 1) || p.dilation.some((s) => s < 1)) {
    throw new RangeError(
      `${what}: stride and dilation must be >= 1, got [${p.stride}] and [${p.dilation}]`,
    );
  }
  if (p.groups < 1) {
    throw new RangeError(`${what}: groups must be >= 1, got ${p.groups}`);
  }
  return nd;
}

function rankCheck(what: string, name: string, a: Aval, nd: number): void {
  if (a.shape.length !== nd + 2) {
    throw new RangeError(
      `${what}: ${name} must have rank ${nd + 2} ([N, C, ${
        nd === 1 ? "L" : nd === 2 ? "H, W" : "D, H, W"
      }]), got shape ${fmtShape(a.shape)}`,
    );
  }
}

/** Channels C (of the input-like side) and O, checked against the weight. */
function channels(
  what: string,
  c: number,
  o: number,
  wShape: readonly number[] | null,
  groups: number,
  cg: number,
): void {
  if (c % groups !== 0 || o % groups !== 0) {
    throw new RangeError(
      `${what}: ${c} input and ${o} output channels must both be divisible by groups = ${groups}`,
    );
  }
  if (cg * groups !== c) {
    throw new RangeError(
      `${what}: the weight ${
        wShape ? fmtShape(wShape) : ""
      } has ${cg} input channels per group, so the input must have ${
        cg * groups
      } channels (groups = ${groups}), got ${c}`,
    );
  }
}

function sameSizes(
  what: string,
  got: readonly number[],
  want: number[],
  name: string,
) {
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
    throw new RangeError(
      `${what}: ${name} has spatial shape ${
        fmtShape(got)
      } but the geometry gives ${fmtShape(want)}`,
    );
  }
}

export const convShapeRules = {
  conv: ([x, w]: Aval[], p: ConvParams): Aval => {
    const nd = checkGeometry("conv", p);
    floatArgs("conv", [x, w]);
    rankCheck("conv", "input", x, nd);
    rankCheck("conv", "weight", w, nd);
    channels("conv", x.shape[1], w.shape[0], w.shape, p.groups, w.shape[1]);
    const out = convOutSize("conv", spatial(x.shape), spatial(w.shape), p);
    return { shape: [x.shape[0], w.shape[0], ...out], dtype: x.dtype };
  },
  convTranspose: ([g, w]: Aval[], p: SizedParams): Aval => {
    const nd = checkGeometry("convTranspose", p);
    floatArgs("convTranspose", [g, w]);
    rankCheck("convTranspose", "input", g, nd);
    rankCheck("convTranspose", "weight", w, nd);
    if (g.shape[1] !== w.shape[0] || w.shape[0] % p.groups !== 0) {
      throw new RangeError(
        `convTranspose: the input has ${g.shape[1]} channels but the weight ${
          fmtShape(w.shape)
        } expects ${w.shape[0]} (divisible by groups = ${p.groups})`,
      );
    }
    const out = convOutSize("convTranspose", p.size, spatial(w.shape), p);
    sameSizes("convTranspose", spatial(g.shape), out, "the input");
    return {
      shape: [g.shape[0], w.shape[1] * p.groups, ...p.size],
      dtype: g.dtype,
    };
  },
  convWeightGrad: ([x, g]: Aval[], p: SizedParams): Aval => {
    const nd = checkGeometry("convWeightGrad", p);
    floatArgs("convWeightGrad", [x, g]);
    rankCheck("convWeightGrad", "input", x, nd);
    rankCheck("convWeightGrad", "output gradient", g, nd);
    const [c, o] = [x.shape[1], g.shape[1]];
    channels("convWeightGrad", c, o, null, p.groups, c / p.groups);
    if (x.shape[0] !== g.shape[0]) {
      throw new RangeError(
        `convWeightGrad: batch sizes differ: ${fmtShape(x.shape)} and ${
          fmtShape(g.shape)
        }`,
      );
    }
    const out = convOutSize("convWeightGrad", spatial(x.shape), p.size, p);
    sameSizes("convWeightGrad", spatial(g.shape), out, "the output gradient");
    return { shape: [o, c / p.groups, ...p.size], dtype: x.dtype };
  },
  maxPool: ([x]: Aval[], p: PrimParams["maxPool"]): Aval => {
    const nd = p.kernel.length;
    if (x.dtype === "int32") {
      throw new TypeError(`maxPool: expected a float tensor, got int32`);
    }
    if (nd < 1 || nd > 3 || x.shape.length < nd) {
      throw new RangeError(
        `maxPool: ${nd} pooled dims of shape ${
          fmtShape(x.shape)
        } (1 to 3, at most its rank)`,
      );
    }
    const inp = x.shape.slice(x.shape.length - nd);
    for (let d = 0; d < nd; d++) {
      if (p.stride[d] < 1 || p.dilation[d] < 1 || p.kernel[d] < 1) {
        throw new RangeError(
          `maxPool: kernel, stride and dilation must be >= 1`,
        );
      }
      // Every window must hold at least one input position.
      for (let o = 0; o < p.out[d]; o++) {
        let hit = false;
        for (let j = 0; j < p.kernel[d] && !hit; j++) {
          const i = o * p.stride[d] - p.padLo[d] + j * p.dilation[d];
          hit = i >= 0 && i < inp[d];
        }
        if (!hit) {
          throw new RangeError(
            `maxPool: window ${o} of spatial dim ${d} (size ${
              inp[d]
            }) lies entirely in the padding`,
          );
        }
      }
    }
    return {
      shape: [...x.shape.slice(0, x.shape.length - nd), ...p.out],
      dtype: p.indices ? "int32" : x.dtype,
    };
  },
  argsort: ([x]: Aval[], p: PrimParams["argsort"]): Aval => {
    if (p.axis < 0 || p.axis >= x.shape.length) {
      throw new RangeError(
        `argsort: axis ${p.axis} is out of range for shape ${
          fmtShape(x.shape)
        }`,
      );
    }
    return { shape: x.shape, dtype: "int32" };
  },
};

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
 * `t` read at the int32 positions `idx` within each plane of its last
 * `nd` dims (planes are the leading dims, shared by both).
 */
function takeInPlanes(t: Tensor, idx: Tensor, nd: number): Tensor {
  const lead = t.shape.slice(0, t.ndim - nd);
  const planes = sizeOf(lead), sin = sizeOf(t.shape.slice(t.ndim - nd));
  const sout = sizeOf(idx.shape.slice(idx.ndim - nd));
  if (planes * sout === 0) return E.full(idx.shape, 0, t.dtype);
  const base = reshape(E.mul(iota(planes, "float64"), sin), [planes, 1]);
  const flat = bind("cast", [
    E.add(
      bind("cast", [reshape(idx, [planes, sout])], { dtype: "float64" }),
      base,
    ),
  ], { dtype: "int32" });
  const picked = bind("indexSelect", [reshape(t, [-1]), reshape(flat, [-1])], {
    axis: 0,
  });
  return reshape(picked, idx.shape);
}

export const convJvpRules = {
  conv: bilinearJvp("conv"),
  convTranspose: bilinearJvp("convTranspose"),
  convWeightGrad: bilinearJvp("convWeightGrad"),
  // The tangent of each maximum is the tangent at its (first) argmax.
  maxPool: ([x]: Tensor[], [t]: T[], p: PrimParams["maxPool"]): [Tensor, T] => {
    const y = bind("maxPool", [x], p);
    if (t === null || p.indices) return [y, null];
    const idx = bind("maxPool", [x], { ...p, indices: true });
    return [y, takeInPlanes(t, idx, p.kernel.length)];
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
