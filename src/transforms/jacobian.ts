/**
 * `jacrev` and `jacfwd`: full Jacobians as `vmap` of `vjp` over the output
 * basis, or of `jvp` over the input basis. Jacobian shape is
 * `out.shape ++ in.shape`, for every (output leaf, input leaf) pair.
 * @module
 */
import type { Fn } from "./args.ts";
import { withTemporaries } from "../core/scope.ts";
import { jvpFlat, linearizeFlat } from "../core/ad.ts";
import { transposeProgram } from "../core/interpret.ts";
import { instantiate } from "../ops/broadcast.ts";
import { type Basis, identityBasis } from "../core/basis.ts";
import { narrow, reshape } from "../ops/layout.ts";
import { sizeOf } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { type TreeDef, unflatten } from "../core/tree.ts";
import {
  type Argnums,
  checkRealOutput,
  type DiffArgs,
  diffArgs,
  flattenOutput,
  normArgnums,
  splitAux,
} from "./args.ts";
import { vmapFlat } from "../core/batch_trace.ts";

/**
 * Options of `jacrev`, `jacfwd` and `hessian`.
 *
 * @example
 * ```ts
 * import { jacfwd, jacrev, randn, type Tensor } from "./mod.ts";
 * const f = (x: Tensor) => x.tanh();
 * const J = jacrev(f, { chunkSize: 8 })(randn([64])); // [64, 64], 8 rows at a time
 * const [Jf, aux] = jacfwd((x: Tensor) => [f(x), "aux"], { hasAux: true })(randn([3]));
 * ```
 */
export interface JacobianOptions {
  /** Which argument(s) to differentiate; an array gives an array of Jacobians. Default 0. */
  argnums?: Argnums;
  /** `f` returns `[output, aux]`; the result is then `[jacobian, aux]`. */
  hasAux?: boolean;
  /** Compute at most this many basis vectors at a time (bounded memory). */
  chunkSize?: number;
}

// deno-lint-ignore no-explicit-any
type Any = any;

/**
 * The identity basis over all leaves, split per leaf: leaf i gets batch rows
 * offs[i]..offs[i]+size(leaf) as symbolic one-hot vectors (never a dense eye).
 */
function bases(leaves: Tensor[]): [Basis[], number[], number] {
  const offs: number[] = [];
  let total = 0;
  for (const l of leaves) {
    offs.push(total);
    total += sizeOf(l.shape);
  }
  return [leaves.map((l, i) => identityBasis(l, offs[i], total)), offs, total];
}

/** Assembles the nested result: output structure, then argnums, then input structure. */
function assemble(
  outDef: TreeDef,
  nOut: number,
  d: DiffArgs,
  single: boolean,
  block: (j: number, i: number) => Tensor,
): unknown {
  const perOut = Array.from({ length: nOut }, (_, j) => {
    const perArg = d.rebuild(d.leaves.map((_, i) => block(j, i)));
    return single ? perArg[0] : perArg;
  });
  return unflatten(outDef, perOut);
}

function prepare(
  what: string,
  f: Fn,
  options: JacobianOptions,
  args: unknown[],
) {
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${typeof f}`);
  }
  const argnums = options.argnums ?? 0;
  const d = diffArgs(what, args, normArgnums(what, argnums, args.length));
  let outDef: TreeDef | null = null;
  const flat = (xs: Tensor[]): [Tensor[], unknown] => {
    const [out, aux] = splitAux(what, d.call(f, xs), options.hasAux ?? false);
    const [leaves, def] = flattenOutput(what, out);
    outDef = def;
    return [leaves, aux];
  };
  return {
    d,
    flat,
    single: typeof argnums === "number",
    outDef: () => outDef!,
  };
}

// deno-doc-ignore private-type-ref
/**
 * Jacobian by reverse mode: one VJP per output element, vectorised with
 * `vmap`. Best when outputs are fewer than inputs.
 *
 * @example
 * ```ts
 * import { jacrev, linear, randn } from "./mod.ts";
 * const [W, b, x] = [randn([4, 3]), randn([4]), randn([3])];
 * const J = jacrev((x) => linear(x, W, b).tanh())(x);   // [4, 3]
 * const [Jw, Jb] = jacrev((W, b) => linear(x, W, b).tanh(), { argnums: [0, 1] })(W, b);
 * ```
 */
export function jacrev<F extends Fn>(
  f: F,
  options: JacobianOptions = {},
): (...args: Parameters<F>) => Any {
  return jacrevNamed("jacrev", f, options);
}

/** @internal `jacrev` whose errors name `what` (hessian is built from it). */
export function jacrevNamed(
  what: string,
  f: Fn,
  options: JacobianOptions,
): (...args: unknown[]) => Any {
  return ((...args: unknown[]) =>
    withTemporaries(args, () => {
      const p = prepare(what, f, options, args);
      const r = linearizeFlat(what, (xs) => {
        const res = p.flat(xs);
        res[0].forEach((o, j) => checkRealOutput(what, o, `output ${j}`));
        return res;
      }, p.d.leaves);
      const [basis, offs] = bases(r.outs);
      const cts = vmapFlat(
        what,
        (b) => {
          return transposeProgram(r.program, b).map((c, i) =>
            instantiate(c, p.d.leaves[i])
          );
        },
        basis,
        basis.map(() => 0),
        basis[0].size,
        () => 0,
        options.chunkSize,
      );
      const jac = assemble(p.outDef(), r.outs.length, p.d, p.single, (j, i) => {
        const o = r.outs[j];
        return reshape(narrow(cts[i], 0, offs[j], sizeOf(o.shape)), [
          ...o.shape,
          ...p.d.leaves[i].shape,
        ]);
      });
      return options.hasAux ? [jac, r.extra] : jac;
    }));
}

// deno-doc-ignore private-type-ref
/**
 * Jacobian by forward mode: one JVP per input element, vectorised with
 * `vmap`. Best when inputs are fewer than outputs.
 *
 * @example
 * ```ts
 * import { jacfwd, randn } from "./mod.ts";
 * const W = randn([5, 2]);
 * const J = jacfwd((x) => W.matmul(x).sin())(randn([2])); // [5, 2]
 * ```
 */
export function jacfwd<F extends Fn>(
  f: F,
  options: JacobianOptions = {},
): (...args: Parameters<F>) => Any {
  return jacfwdNamed("jacfwd", f, options);
}

/** @internal `jacfwd` whose errors name `what`. */
export function jacfwdNamed(
  what: string,
  f: Fn,
  options: JacobianOptions,
): (...args: unknown[]) => Any {
  return ((...args: unknown[]) =>
    withTemporaries(args, () => {
      const p = prepare(what, f, options, args);
      const [basis, offs] = bases(p.d.leaves);
      let outs: Tensor[] = [], extra: unknown;
      const touts = vmapFlat(
        what,
        (ts) => {
          const r = jvpFlat(what, p.flat, p.d.leaves, ts);
          outs = r.outs;
          extra = r.extra;
          return r.tangents.map((t, j) => instantiate(t, r.outs[j]));
        },
        basis,
        basis.map(() => 0),
        basis[0].size,
        // Basis dim last: the Jacobian's layout is out.shape ++ in.shape.
        (_, rank) => rank,
        options.chunkSize,
        () => [outs, extra], // primal outputs and aux are read after the chunks
      );
      const jac = assemble(p.outDef(), outs.length, p.d, p.single, (j, i) => {
        const leaf = p.d.leaves[i], o = outs[j];
        const cols = narrow(touts[j], o.ndim, offs[i], sizeOf(leaf.shape));
        return reshape(cols, [...o.shape, ...leaf.shape]);
      });
      return options.hasAux ? [jac, extra] : jac;
    }));
}
