/**
 * `linearTranspose`: the transpose of a linear function, from its staged
 * program (no value of the primals is used, only shapes and dtypes).
 * @module
 */
import { StagingTrace } from "../core/staging_trace.ts";
import { withMain } from "../core/trace.ts";
import { transposeProgram } from "../core/interpret.ts";
import { programConstants } from "../core/ir.ts";
import { pin, withTemporaries } from "../core/scope.ts";
import { inUserCode, type Tensor } from "../core/tensor.ts";
import { flatten, unflatten } from "../core/tree.ts";
import { instantiate } from "../ops/broadcast.ts";
import { describe } from "../ops/scalar.ts";
import { flattenOutput, type Fn, matchTree } from "./args.ts";

/**
 * The transpose of the linear function `f` (JAX's `linear_transpose`):
 * `primals` give the shapes and dtypes of its arguments (their values are
 * not used); the result maps a cotangent of `f`'s output to one cotangent
 * per argument, `ct ↦ Aᵀ ct` where `f(x) = A x`. `f` is traced once; it
 * must be linear in its tensor arguments (an error names the operation
 * that is not).
 *
 * @example
 * ```ts
 * import { linearTranspose, tensor, type Tensor } from "./mod.ts";
 * const A = tensor([[1, 2, 3], [4, 5, 6]]);
 * const fT = linearTranspose((x: Tensor) => A.matmul(x), tensor([0, 0, 0]));
 * const [y] = fT(tensor([1, 1])); // Aᵀ [1, 1] = [5, 7, 9]
 * ```
 */
export function linearTranspose<F extends Fn>(
  f: F,
  ...primals: Parameters<F>
): (cotangent: ReturnType<F>) => Parameters<F> {
  const what = "linearTranspose";
  if (typeof f !== "function") {
    throw new TypeError(`${what}: expected a function, got ${describe(f)}`);
  }
  const [leaves, def] = flatten(primals);
  if (leaves.length === 0) {
    throw new TypeError(`${what}: the primals contain no tensor`);
  }
  const { program, outDef } = withMain(what, (main) => {
    const trace = new StagingTrace(main);
    const ins = leaves.map((l) => trace.newInput(l));
    const [outs, outDef] = flattenOutput(
      what,
      inUserCode(() => f(...unflatten<unknown[]>(def, ins))),
    );
    return { program: trace.finish(ins, outs, outs), outDef };
  });
  pin(programConstants(program));
  const like = program.outputAvals as unknown as Tensor[];
  return ((cotangent: unknown) =>
    withTemporaries([cotangent], () => {
      const cts = matchTree(
        what,
        "cotangent",
        "output",
        cotangent,
        outDef,
        like,
      );
      let back: (Tensor | null)[];
      try {
        back = transposeProgram(program, cts);
      } catch (e) {
        const m = (e as Error).message?.match(
          /internal: (\w+) (appeared in a linear program|is not linear)/,
        );
        if (m === null || m === undefined) throw e;
        throw new TypeError(
          `${what}: the function is not linear in its arguments: it applies ${
            m[1]
          } to them nonlinearly`,
        );
      }
      return unflatten(def, back.map((c, i) => instantiate(c, leaves[i])));
    })) as (cotangent: ReturnType<F>) => Parameters<F>;
}
