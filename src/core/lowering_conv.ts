/**
 * Lowerings of the convolution, pooling and sorting primitives (the
 * instructions `OP_CONV`, `OP_MAX_POOL` and `OP_ARGSORT` of
 * crates/kernels/src/program.rs), spread into the lowering table.
 * @module
 */
import { DTYPES, OP } from "../backend/wasm/program_codes.ts";
import type { Lowering, Operand } from "./lowering.ts";
import type { ConvParams, PrimParams } from "./primitives.ts";
import { sizeOf } from "./shape.ts";

type Sized = ConvParams & { size: readonly number[] };

/** Which operand plays x, w and y for each of the three maps (mode codes as program.rs). */
function convLowering<Q extends ConvParams>(
  mode: 0 | 1 | 2,
): Lowering<Q> {
  return (em, [a, b], p, out) => {
    const sp = (s: readonly number[]) => s.slice(2);
    // [n, c, o, in, k, out] of the forward convolution this map belongs to.
    let geo: [
      number,
      number,
      number,
      readonly number[],
      readonly number[],
      readonly number[],
    ];
    if (mode === 0) {
      geo = [
        a.shape[0],
        a.shape[1],
        b.shape[0],
        sp(a.shape),
        sp(b.shape),
        sp(out.shape),
      ];
    } else if (mode === 1) {
      geo = [
        a.shape[0],
        out.shape[1],
        a.shape[1],
        sp(out.shape),
        sp(b.shape),
        sp(a.shape),
      ];
    } else {
      geo = [
        a.shape[0],
        a.shape[1],
        b.shape[1],
        sp(a.shape),
        (p as unknown as Sized).size,
        sp(b.shape),
      ];
    }
    const [n, c, o, inp, k, os] = geo;
    const slot = em.fresh(out.dtype, sizeOf(out.shape));
    em.emit(OP.conv, [
      DTYPES[out.dtype],
      mode,
      slot,
      a.slot,
      b.slot,
      n,
      c,
      o,
      p.groups,
      inp.length,
      ...inp,
      ...k,
      ...os,
      ...p.stride,
      ...p.padLo,
      ...p.dilation,
    ]);
    return slot;
  };
}

const maxPool: Lowering<PrimParams["maxPool"]> = (em, [x], p, out) => {
  const nd = p.kernel.length;
  const lead = x.shape.slice(0, x.shape.length - nd);
  const slot = em.fresh(out.dtype, sizeOf(out.shape));
  em.emit(OP.maxPool, [
    DTYPES[x.dtype],
    p.indices ? 1 : 0,
    slot,
    x.slot,
    sizeOf(lead),
    nd,
    ...x.shape.slice(x.shape.length - nd),
    ...p.kernel,
    ...p.out,
    ...p.stride,
    ...p.padLo,
    ...p.dilation,
  ]);
  return slot;
};

const argsort: Lowering<PrimParams["argsort"]> = (em, [x], p, out) => {
  let src: Operand = x;
  if (x.dtype === "int32") {
    // int32 values sort exactly as float64.
    const n = sizeOf(x.shape);
    const s = em.fresh("float64", n);
    em.emit(OP.cast, [DTYPES.int32, DTYPES.float64, s, x.slot, n]);
    src = { slot: s, shape: x.shape, dtype: "float64" };
  }
  let outer = 1, inner = 1;
  for (let d = 0; d < p.axis; d++) outer *= x.shape[d];
  for (let d = p.axis + 1; d < x.shape.length; d++) inner *= x.shape[d];
  const slot = em.fresh("int32", sizeOf(out.shape));
  em.emit(OP.argsort, [
    DTYPES[src.dtype],
    p.descending ? 1 : 0,
    slot,
    src.slot,
    outer,
    x.shape[p.axis],
    inner,
  ]);
  if (src !== x) em.free(src.slot);
  return slot;
};

export const convLowerings = {
  conv: convLowering<ConvParams>(0),
  convTranspose: convLowering<Sized>(1),
  convWeightGrad: convLowering<Sized>(2),
  maxPool,
  argsort,
};
