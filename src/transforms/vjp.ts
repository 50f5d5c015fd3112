/**
 * Reverse mode: `vjp` and `linearize`.
 * @module
 */
import { withTemporaries } from "../core/scope.ts";
import { jvpFlat, linearizeFlat } from "../core/ad.ts";
import { evalProgram, transposeProgram } from "../core/interpret.ts";
import { programConstants } from "../core/ir.ts";
import { instantiate } from "../ops/broadcast.ts";
import type { Tensor } from "../core/tensor.ts";
import {
  flatten,
  isPlainObject,
  type Tree,
  type TreeDef,
  unflatten,
} from "../core/tree.ts";
import { diffArgs, flatOutput, matchTree } from "./args.ts";

/**
 * The argument list in the public signatures' constraints. `never[]` would
 * be the sound choice, but when `grad(f)` is written inline, as in
 * `jvp(grad(f), [x], [t])`, TypeScript then infers `grad`'s type from the
 * constraint and the call fails to type-check (`Tensor` is not assignable
 * to `never`); `any[]` keeps the inner function's own parameter types.
 */
// deno-lint-ignore no-explicit-any
type AnyArgs = any[];

/** Computes `cotangent ↦ one cotangent per primal` (pytrees like the primals). */
export type VjpFn = (cotangent: Tree) => Tree[];

function vjpImpl(
  what: string,
  f: (...args: never[]) => unknown,
  primals: unknown[],
  hasAux: boolean,
) {
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${typeof f}`);
  }
  const nums = primals.map((_, i) => i);
  const d = diffArgs(what, primals, nums);
  const p = flatOutput(what, d, f, hasAux);
  // Temporaries of the forward pass are freed at once; the outputs and aux
  // go to the caller, and the residuals the returned vjpFn reads are held
  // by it (ARCHITECTURE.md ("Buffers and lifetimes")).
  const r = withTemporaries(
    primals,
    () => linearizeFlat(what, p.flat, d.leaves),
    (r) => programConstants(r.program),
  );
  const outDef = p.outDef();
  const outs = r.outs;
  const vjpFn: VjpFn = (cotangent: Tree) =>
    withTemporaries([cotangent], () => {
      // Matched to the output by structure: object keys by name.
      const cts = matchTree(
        what,
        "cotangent",
        "output",
        cotangent,
        outDef,
        outs,
      );
      const res = transposeProgram(r.program, cts).map((c, i) =>
        instantiate(c, d.leaves[i])
      );
      return d.rebuild(res) as Tree[];
    });
  return { out: unflatten<Tree>(outDef, outs), vjpFn, aux: r.extra as Tree };
}

// deno-doc-ignore private-type-ref
/**
 * Evaluates `f` at `primals` and returns its output with a function that
 * pulls a cotangent of the output back to one cotangent per primal.
 *
 * @example
 * ```ts
 * import { eye, tensor, vjp, vmap } from "./mod.ts";
 * const x = tensor([1, 2, 3]);
 * const [y, vjpFn] = vjp((x) => x.sin(), x);
 * const [g] = vjpFn(tensor([1, 1, 1]));        // cos(x)
 * const [J] = vmap(vjpFn)(eye(3)); // the full Jacobian, by rows
 * ```
 */
export function vjp<F extends (...args: AnyArgs) => unknown>(
  f: F,
  ...primals: Parameters<F>
): [ReturnType<F>, (cotangent: ReturnType<F>) => Parameters<F>] {
  const r = vjpImpl("vjp", f, primals, false);
  return [
    r.out as ReturnType<F>,
    r.vjpFn as unknown as (ct: ReturnType<F>) => Parameters<F>,
  ];
}

// deno-doc-ignore private-type-ref
/**
 * `vjp` for a function returning `[output, aux]`: returns `[output, vjpFn, aux]`;
 * `aux` is passed through undifferentiated.
 *
 * @example
 * ```ts
 * import { tensor, vjpWithAux } from "./mod.ts";
 * const [y, vjpFn, aux] = vjpWithAux((x) => [x.exp(), x.sum()], tensor([0, 1]));
 * ```
 */
export function vjpWithAux<
  F extends (...args: AnyArgs) => readonly [unknown, unknown],
>(
  f: F,
  ...primals: Parameters<F>
): [
  ReturnType<F>[0],
  (cotangent: ReturnType<F>[0]) => Parameters<F>,
  ReturnType<F>[1],
] {
  const r = vjpImpl("vjp", f, primals, true);
  return [
    r.out,
    r.vjpFn as unknown as (ct: ReturnType<F>[0]) => Parameters<F>,
    r.aux,
  ];
}

// deno-doc-ignore private-type-ref
/**
 * Forward-mode Jacobian-vector product: `[f(primals), J·tangents]`.
 * `primals` and `tangents` are arrays with one entry per argument.
 *
 * @example
 * ```ts
 * import { jvp, tensor } from "./mod.ts";
 * const [y, t] = jvp((x) => x.sin(), [tensor([0, 1])], [tensor([1, 1])]); // t = cos(x)
 * ```
 */
export function jvp<F extends (...args: AnyArgs) => unknown>(
  f: F,
  primals: Parameters<F>,
  tangents: Parameters<F>,
): [ReturnType<F>, ReturnType<F>];
/**
 * `jvp` of a function returning `[output, aux]`: the result is `[output, tangent, aux]`.
 */
export function jvp<
  F extends (...args: AnyArgs) => readonly [unknown, unknown],
>(
  f: F,
  primals: Parameters<F>,
  tangents: Parameters<F>,
  options: { hasAux: true },
): [ReturnType<F>[0], ReturnType<F>[0], ReturnType<F>[1]];
export function jvp(
  f: (...args: never[]) => unknown,
  primals: readonly unknown[],
  tangents: readonly unknown[],
  options: { hasAux?: boolean } = {},
): [unknown, unknown] | [unknown, unknown, unknown] {
  return withTemporaries(
    [primals, tangents],
    () => jvpImpl(f, primals, tangents, options),
  );
}

/** Tangents matched to the primals by structure (object keys by name). */
function matchTangents(
  what: string,
  tangents: unknown,
  primalDef: TreeDef,
  leaves: Tensor[],
): Tensor[] {
  return matchTree(what, "tangents", "primal", tangents, primalDef, leaves);
}

function jvpImpl(
  f: (...args: never[]) => unknown,
  primals: readonly unknown[],
  tangents: readonly unknown[],
  options: { hasAux?: boolean },
): [unknown, unknown] | [unknown, unknown, unknown] {
  const what = "jvp";
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${typeof f}`);
  }
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TypeError(
      `${what}: primals and tangents must be arrays with one entry per argument`,
    );
  }
  if (primals.length !== tangents.length) {
    throw new TypeError(
      `${what}: got ${primals.length} primals but ${tangents.length} tangents`,
    );
  }
  const d = diffArgs(what, primals as unknown[], primals.map((_, i) => i));
  const primalDef = flatten(primals)[1];
  const tl = matchTangents(what, tangents, primalDef, d.leaves);
  const p = flatOutput(what, d, f, options.hasAux ?? false);
  const r = jvpFlat(what, p.flat, d.leaves, tl);
  const outDef = p.outDef();
  const out = unflatten<Tree>(outDef, r.outs);
  const tout = unflatten<Tree>(
    outDef,
    r.tangents.map((t, i) => instantiate(t, r.outs[i])),
  );
  return options.hasAux ? [out, tout, r.extra as Tree] : [out, tout];
}

// deno-doc-ignore private-type-ref
/**
 * Evaluates `f` once and returns its output with a function computing
 * J·t by replaying the recorded linear program (no re-evaluation of `f`).
 * With a last argument `{ hasAux: true }` (after the primals), `f` returns
 * `[output, aux]` and the result is `[output, jvpFn, aux]`, `aux`
 * undifferentiated (as {@link linearizeWithAux}).
 *
 * @example
 * ```ts
 * import { linearize, tensor, type Tensor } from "./mod.ts";
 * const [y, jvpFn] = linearize((x) => x.exp(), tensor([0, 1]));
 * const t = jvpFn(tensor([1, 1]));
 * const [z, jf, aux] = linearize(
 *   (x: Tensor) => [x.exp(), x.sum()] as const,
 *   tensor([0, 1]),
 *   { hasAux: true },
 * );
 * ```
 */
export function linearize<
  F extends (...args: AnyArgs) => readonly [unknown, unknown],
>(
  f: F,
  ...primalsAndOptions: [...Parameters<F>, { hasAux: true }]
): [
  ReturnType<F>[0],
  (...tangents: Parameters<F>) => ReturnType<F>[0],
  ReturnType<F>[1],
];
/** `linearize(f, ...primals)`: `[output, jvpFn]`. */
export function linearize<F extends (...args: AnyArgs) => unknown>(
  f: F,
  ...primals: Parameters<F>
): [ReturnType<F>, (...tangents: Parameters<F>) => ReturnType<F>];
export function linearize(
  f: (...args: never[]) => unknown,
  ...args: unknown[]
): unknown[] {
  // A last argument { hasAux } is the options: a primal always holds a
  // tensor, so it cannot be mistaken for one.
  const last = args[args.length - 1];
  const isOptions = args.length > 1 && isPlainObject(last) &&
    Object.keys(last).length === 1 && typeof last.hasAux === "boolean";
  const primals = isOptions ? args.slice(0, -1) : args;
  const hasAux = isOptions && (last as { hasAux: boolean }).hasAux;
  const r = linearizeImpl("linearize", f, primals, hasAux);
  return hasAux ? [r.out, r.jvpFn, r.aux] : [r.out, r.jvpFn];
}

// deno-doc-ignore private-type-ref
/**
 * `linearize` with `hasAux` (as {@link vjpWithAux} is `vjp` with it): for a
 * function returning `[output, aux]`, returns `[output, jvpFn, aux]`; `aux`
 * is passed through undifferentiated and jvpFn maps tangents to the
 * output's tangent.
 *
 * @example
 * ```ts
 * import { linearizeWithAux, tensor } from "./mod.ts";
 * const [y, jvpFn, aux] = linearizeWithAux((x) => [x.exp(), x.sum()], tensor([0, 1]));
 * const t = jvpFn(tensor([1, 1])); // exp(x)
 * ```
 */
export function linearizeWithAux<
  F extends (...args: AnyArgs) => readonly [unknown, unknown],
>(
  f: F,
  ...primals: Parameters<F>
): [
  ReturnType<F>[0],
  (...tangents: Parameters<F>) => ReturnType<F>[0],
  ReturnType<F>[1],
] {
  const r = linearizeImpl("linearize", f, primals, true);
  return [
    r.out,
    r.jvpFn as unknown as (...t: Parameters<F>) => ReturnType<F>[0],
    r.aux,
  ];
}

function linearizeImpl(
  what: string,
  f: (...args: never[]) => unknown,
  primals: unknown[],
  hasAux: boolean,
) {
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${typeof f}`);
  }
  const d = diffArgs(what, primals, primals.map((_, i) => i));
  const p = flatOutput(what, d, f, hasAux);
  const r = withTemporaries(
    primals,
    () => linearizeFlat(what, p.flat, d.leaves),
    (r) => programConstants(r.program),
  );
  const outDef = p.outDef();
  const primalDef = flatten(primals)[1];
  const jvpFn = (...tangents: unknown[]) =>
    withTemporaries(tangents, () => {
      const tl = matchTangents(what, tangents, primalDef, d.leaves);
      return unflatten<Tree>(outDef, evalProgram(r.program, tl as Tensor[]));
    });
  return { out: unflatten<Tree>(outDef, r.outs), jvpFn, aux: r.extra as Tree };
}
