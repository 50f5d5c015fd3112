/**
 * Folds matrix transposes into the products that read or write them, so a
 * compiled program does not copy a matrix only to transpose it:
 *
 * - `matmul(permute(t), b)` where the permute (seen through reshapes, size-1
 *   axes ignored) swaps the last two axes of a matrix, or of a batch of
 *   matrices with the batch axes left in order, becomes
 *   `matmul(reshape(t), b)` with the operand's `trans` flag flipped, when
 *   every reader of the permute is such a product (the backward pass of
 *   `matmul(a.T, b)` reads `a.T` twice), so that the copy is gone;
 * - `permute(matmul(a, b))` swapping the product's two matrix axes becomes
 *   `matmul(b, a)` with both flags flipped ((A·B)ᵀ = Bᵀ·Aᵀ), when nothing
 *   else reads the product;
 * - `mul(x, ones)` by a constant of exactly all ones that broadcasts
 *   nothing (the result has x's shape) is x (a cotangent or basis seed
 *   of ones, for one).
 *
 * Results stay bit-identical. The packed GEMM reads operands through
 * strides (the packing copies values, whatever the layout), and each
 * element of the product is summed over k in the same order, from the same
 * products (`a·b` and `b·a` are the same float), whichever operand comes
 * first and whatever the flags; the plain loop for tiny products does too.
 * Only the matrix-vector loops depend on the layout (a dot product with
 * several accumulators for contiguous rows, a scaled-column sum for
 * transposed ones), so a product with a single row or column is left as it
 * is. Integer products are exact anyway.
 * @module
 */
import {
  type Atom,
  type Aval,
  type Eqn,
  firstFreeVar,
  isVar,
  liveReads,
  Program,
} from "../core/ir.ts";
import type { PrimParams } from "../core/primitives.ts";
import { shapeEq } from "../core/shape.ts";

/**
 * @internal Whether `optimize` runs the pass (tests and benchmarks compare
 * programs with and without it).
 */
export const transposeFoldOptions = { enabled: true };

/** The positions of the axes of `shape` that are not 1. */
const bigAxes = (shape: readonly number[]): number[] =>
  shape.flatMap((d, i) => (d === 1 ? [] : [i]));

/**
 * For `permute[perm]` of a value of shape `shape`: the sizes `[x, y]` of
 * the two axes it swaps when, on the axes that are not 1, it swaps the
 * last two and keeps the others in order; otherwise undefined.
 */
function trailingSwap(
  shape: readonly number[],
  perm: readonly number[],
): [number, number] | undefined {
  const big = bigAxes(shape);
  if (big.length < 2) return undefined;
  const rank = new Map(big.map((a, r) => [a, r]));
  // The input axes (by rank among the big ones) in output order.
  const order = perm.filter((a) => shape[a] !== 1).map((a) => rank.get(a)!);
  const nb = big.length - 2;
  for (let r = 0; r < nb; r++) if (order[r] !== r) return undefined;
  if (order[nb] !== nb + 1 || order[nb + 1] !== nb) return undefined;
  return [shape[big[nb]], shape[big[nb + 1]]];
}

/** True for a concrete constant whose every element is exactly 1. */
function allOnes(a: Atom): boolean {
  if (isVar(a)) return false;
  const c = a.const;
  if (c._trace !== null || c._storage === null || c._storage.disposed) {
    return false;
  }
  const v = c.data();
  for (let i = 0; i < v.length; i++) if (v[i] !== 1) return false;
  return true;
}

/**
 * `p` with products by all-ones constants dropped and transposes folded
 * into matmul flags. The equations it makes unused stay (for dead-code
 * elimination to drop); new variables get avals.
 */
export function foldTransposes(p: Program): Program {
  const avalOf = (a: Atom): Aval => isVar(a) ? p.avals.get(a.var)! : a.const;

  // 1. x · 1 = x, bit for bit (in every dtype, NaN and −0 included).
  const alias = new Map<number, Atom>();
  const rename = (a: Atom): Atom =>
    isVar(a) && alias.has(a.var) ? alias.get(a.var)! : a;
  const eqns: Eqn[] = p.eqns.map((e) => {
    const inputs = e.inputs.map(rename);
    if (e.prim === "mul") {
      for (const k of [0, 1]) {
        const x = inputs[1 - k];
        // x a variable: a product of two constants is left as it is.
        if (
          isVar(x) && shapeEq(avalOf(x).shape, e.aval.shape) &&
          allOnes(inputs[k])
        ) {
          alias.set(e.out, x);
          break;
        }
      }
    }
    return { ...e, inputs };
  });
  const outputs = p.outputs.map((o) => (o === null ? null : rename(o)));

  // 2. Transposes. Reader counts, over the equations the outputs need, are
  // kept exact as equations die, so that "read only here" sees the program
  // as it will be after dead-code elimination (which then drops the dead
  // equations).
  const def = new Map<number, Eqn>();
  for (const e of eqns) def.set(e.out, e);
  const reads = liveReads(eqns, outputs);
  const use = (a: Atom | null) => {
    if (a !== null && isVar(a)) reads.set(a.var, (reads.get(a.var) ?? 0) + 1);
  };
  const live = (e: Eqn) => (reads.get(e.out) ?? 0) > 0;
  const drop = (a: Atom) => {
    if (!isVar(a)) return;
    const n = reads.get(a.var)! - 1;
    reads.set(a.var, n);
    if (n === 0) def.get(a.var)?.inputs.forEach(drop);
  };
  const defOf = (a: Atom) => (isVar(a) ? def.get(a.var) : undefined);
  /** `a`, or the value `a` is a (chain of) reshape(s) of. */
  const reshapeRoot = (a: Atom): Atom => {
    for (let e = defOf(a); e?.prim === "reshape"; e = defOf(a)) {
      a = e.inputs[0];
    }
    return a;
  };
  /**
   * The equation defining `a`, looked at through reshapes, when nothing
   * else reads `a` or the reshapes.
   */
  const throughReshapes = (a: Atom): Eqn | undefined => {
    for (;;) {
      if (!isVar(a) || reads.get(a.var) !== 1) return undefined;
      const e = def.get(a.var);
      if (e?.prim !== "reshape") return e;
      a = e.inputs[0];
    }
  };

  /**
   * For operand `k` of matmul `e`, a (view of) `permute` whose input t is
   * `[..., x, y]` (size-1 axes aside): `[x, y]` when the operand is tᵀ,
   * so that the product can read t through its flag instead.
   */
  const operandSwap = (e: Eqn, k: number, perm: Eqn) => {
    const r = e.aval.shape.length;
    // A product with one row or column takes the matrix-vector loops,
    // whose summation order depends on the layout: left alone.
    if (e.aval.shape[r - 2] === 1 || e.aval.shape[r - 1] === 1) return;
    const t = avalOf(perm.inputs[0]).shape;
    const swap = trailingSwap(t, (perm.params as PrimParams["permute"]).perm);
    const v = avalOf(e.inputs[k]).shape;
    const q = v.length;
    return swap !== undefined && v[q - 2] === swap[1] && v[q - 1] === swap[0]
      ? swap
      : undefined;
  };
  // The permutes every reader of which (through reshapes) is a matmul that
  // can read the permute's input through a flag instead: once they all
  // do, the copy is gone. (One other reader would keep the copy, and the
  // fold would then save nothing.)
  const readersOf = new Map<number, [Eqn, number][]>();
  for (const e of eqns) {
    if (!live(e)) continue;
    e.inputs.forEach((a, k) => {
      if (!isVar(a)) return;
      let rs = readersOf.get(a.var);
      if (rs === undefined) readersOf.set(a.var, rs = []);
      rs.push([e, k]);
    });
  }
  const returned = new Set<number>();
  for (const o of outputs) if (o !== null && isVar(o)) returned.add(o.var);
  const foldable = new Set<number>();
  for (const perm of eqns) {
    if (perm.prim !== "permute" || !live(perm)) continue;
    const views = [perm.out];
    let ok = true;
    for (let j = 0; ok && j < views.length; j++) {
      if (returned.has(views[j])) ok = false;
      for (const [e, k] of readersOf.get(views[j]) ?? []) {
        if (e.prim === "reshape") views.push(e.out);
        else if (e.prim !== "matmul" || !operandSwap(e, k, perm)) ok = false;
      }
    }
    if (ok) foldable.add(perm.out);
  }

  let next = firstFreeVar(p);
  const avals = new Map(p.avals);
  /** Appends `e` (for a new variable of aval `aval`) to `out`. */
  const add = (
    out: Eqn[],
    prim: "reshape" | "matmul",
    inputs: Atom[],
    params: unknown,
    aval: Aval,
    v = next++,
  ): Atom => {
    const e = { prim, inputs, params, out: v, aval };
    avals.set(v, aval);
    def.set(v, e);
    inputs.forEach(use);
    out.push(e);
    return { var: v };
  };
  /** A reshape of `x` to `shape` (x's root itself when it has that shape). */
  const reshaped = (x: Atom, shape: number[], out: Eqn[]): Atom => {
    const root = reshapeRoot(x);
    const { dtype, shape: s } = avalOf(root);
    if (shapeEq(s, shape)) {
      use(root);
      return root;
    }
    return add(out, "reshape", [root], { shape }, { shape, dtype });
  };

  const result: Eqn[] = [];
  for (const e of eqns) {
    if (!live(e)) {
      result.push(e); // dead-code elimination drops it
      continue;
    }
    if (e.prim === "matmul") result.push(foldOperands(e));
    else if (e.prim === "permute") foldProduct(e);
    else result.push(e);
  }

  /** `e` with transposed operands read through its flags. */
  function foldOperands(e: Eqn): Eqn {
    const params = { ...(e.params as PrimParams["matmul"]) };
    const inputs = [...e.inputs];
    for (const k of [0, 1]) {
      let perm = defOf(inputs[k]);
      while (perm?.prim === "reshape") perm = defOf(perm.inputs[0]);
      if (perm?.prim !== "permute" || !foldable.has(perm.out)) continue;
      const swap = operandSwap(e, k, perm)!;
      const v = avalOf(inputs[k]).shape;
      // Read t (as [...batch, x, y]) transposed.
      const src = reshaped(
        perm.inputs[0],
        [...v.slice(0, -2), ...swap],
        result,
      );
      drop(inputs[k]);
      inputs[k] = src;
      if (k === 0) params.transA = !params.transA;
      else params.transB = !params.transB;
    }
    if (inputs.every((a, k) => a === e.inputs[k])) return e;
    const folded = { ...e, inputs, params };
    def.set(e.out, folded);
    return folded;
  }

  /**
   * Appends `e` (a permute), or, when it transposes a product nothing else
   * reads, the product of the swapped operands in its place.
   */
  function foldProduct(e: Eqn): void {
    const prod = throughReshapes(e.inputs[0]);
    const perm = (e.params as PrimParams["permute"]).perm;
    const swap = trailingSwap(avalOf(e.inputs[0]).shape, perm);
    const ps = prod?.aval.shape ?? [];
    const [m, n] = ps.slice(-2);
    if (
      prod?.prim !== "matmul" || swap === undefined || swap[0] !== m ||
      swap[1] !== n
    ) {
      result.push(e);
      return;
    }
    // (A·B)ᵀ = Bᵀ·Aᵀ: the same products, summed in the same order.
    const { transA, transB } = prod.params as PrimParams["matmul"];
    const shape = [...ps.slice(0, -2), n, m];
    const aval = { shape, dtype: prod.aval.dtype };
    const inputs = [prod.inputs[1], prod.inputs[0]];
    const params = { transA: !transB, transB: !transA };
    if (shapeEq(shape, e.aval.shape)) {
      add(result, "matmul", inputs, params, aval, e.out);
    } else {
      const t = add(result, "matmul", inputs, params, aval);
      add(result, "reshape", [t], { shape: e.aval.shape }, e.aval, e.out);
    }
    drop(e.inputs[0]);
  }

  return new Program(p.inputs, result, outputs, p.outputAvals, avals);
}
