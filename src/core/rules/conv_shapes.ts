/**
 * Shape rules of the convolution primitives, `maxPool` and `argsort` (see
 * rules/conv.ts for the rest of their rules), spread into the shape-rule
 * table. Kept apart from those rules because the shape rules run inside
 * `bind` and must not import it.
 * @module
 */
import type { Aval } from "../ir.ts";
import { fmtShape } from "../shape.ts";
import type { ConvParams, PrimParams } from "../primitives.ts";

type SizedParams = ConvParams & { size: readonly number[] };

const spatial = (s: readonly number[]) => s.slice(2);

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
