/**
 * Dependency rules of the three convolution primitives (see
 * rules/sparsity.ts): each is bilinear in its two operands, so an element
 * of the result depends on the elements of both operands that meet in one
 * of its products. One enumeration of the (input, weight, output) index
 * triples of the forward convolution serves all three maps.
 * @module
 */
import type { Aval } from "../ir.ts";
import type { ConvParams } from "../primitives.ts";
import { sizeOf, stridesOf } from "../shape.ts";
import type { DepContext, DepOperand, DepRule, DepSet } from "./sparsity.ts";

/**
 * Calls `visit(xi, wi, yi)` for every product x[xi]·w[wi] that adds into
 * y[yi] in the forward convolution of x `[N, C, *in]` and w `[O, C/G, *k]`.
 */
function triples(
  x: readonly number[],
  w: readonly number[],
  y: readonly number[],
  p: ConvParams,
  visit: (xi: number, wi: number, yi: number) => void,
): void {
  const nd = x.length - 2;
  const [N, C] = x, O = w[0], G = p.groups, cg = C / G, og = O / G;
  const inp = x.slice(2), k = w.slice(2), out = y.slice(2);
  const sin = sizeOf(inp), sk = sizeOf(k), sout = sizeOf(out);
  const ist = stridesOf(inp), kst = stridesOf(k), ost = stridesOf(out);
  // For each (output position, tap): the input position, or -1 (padding).
  const at = new Int32Array(sout * sk);
  for (let o = 0; o < sout; o++) {
    for (let t = 0; t < sk; t++) {
      let pos = 0;
      for (let d = 0; d < nd; d++) {
        const od = Math.floor(o / ost[d]) % out[d];
        const td = Math.floor(t / kst[d]) % k[d];
        const i = od * p.stride[d] - p.padLo[d] + td * p.dilation[d];
        if (i < 0 || i >= inp[d]) {
          pos = -1;
          break;
        }
        pos += i * ist[d];
      }
      at[o * sk + t] = pos;
    }
  }
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / og);
      for (let c = 0; c < cg; c++) {
        const xBase = (n * C + g * cg + c) * sin;
        const wBase = (oc * cg + c) * sk;
        for (let o = 0; o < sout; o++) {
          const yi = (n * O + oc) * sout + o;
          for (let t = 0; t < sk; t++) {
            const i = at[o * sk + t];
            if (i >= 0) visit(xBase + i, wBase + t, yi);
          }
        }
      }
    }
  }
}

/** Unions, per result element, the sets the visits collect. */
function collect(
  n: number,
  ctx: DepContext,
  fill: (add: (r: number, s: DepSet) => void) => void,
): DepSet[] {
  const parts: DepSet[][] = Array.from({ length: n }, () => []);
  fill((r, s) => {
    if (s.length > 0) parts[r].push(s);
  });
  return parts.map((ps) => ctx.unionMany(ps));
}

type Sized = ConvParams & { size: readonly number[] };

export const convDependencyRules: {
  conv: DepRule<ConvParams>;
  convTranspose: DepRule<Sized>;
  convWeightGrad: DepRule<Sized>;
} = {
  conv: ([x, w]: readonly DepOperand[], p, out: Aval, ctx) =>
    collect(
      sizeOf(out.shape),
      ctx,
      (add) =>
        triples(x.shape, w.shape, out.shape, p, (xi, wi, yi) => {
          add(yi, x.deps[xi]);
          add(yi, w.deps[wi]);
        }),
    ),
  // (gy, w) → x: x[xi] gathers gy[yi]·w[wi].
  convTranspose: ([g, w], p, out, ctx) =>
    collect(
      sizeOf(out.shape),
      ctx,
      (add) =>
        triples(out.shape, w.shape, g.shape, p, (xi, wi, yi) => {
          add(xi, g.deps[yi]);
          add(xi, w.deps[wi]);
        }),
    ),
  // (x, gy) → w: w[wi] gathers x[xi]·gy[yi].
  convWeightGrad: ([x, g], p, out, ctx) =>
    collect(
      sizeOf(out.shape),
      ctx,
      (add) =>
        triples(x.shape, out.shape, g.shape, p, (xi, wi, yi) => {
          add(wi, x.deps[xi]);
          add(wi, g.deps[yi]);
        }),
    ),
};
