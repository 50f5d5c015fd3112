/**
 * `makeProgram`: the program a function stages to, for reading (JAX's
 * `make_jaxpr`). It is the same {@link Program} IR that `jit` optimises and
 * runs and that linearize records, so printing one shows exactly what
 * every transform does to a function.
 * @module
 */
import {
  annotateProgram,
  type Aval,
  type Program,
  programConstants,
} from "../core/ir.ts";
import { optimize } from "./execute.ts";
import { fusionGroups, fusionMarks } from "./fusion.ts";
import { epilogueGroups } from "./epilogue.ts";
import { StagingTrace, withMergedStaging } from "../core/staging_trace.ts";
import { Tensor } from "../core/tensor.ts";
import { withMain } from "../core/trace.ts";
import { type FlatCallback, takeEffects, withStaging } from "../core/debug.ts";
import {
  flatten,
  isPlainObject,
  type TreeDef,
  unflatten,
} from "../core/tree.ts";

/** Marks where an argument tensor (or `{ shape, dtype }`) was, for evalShape. */
const LEAF = Symbol("leaf");
import { flattenOutput, type Fn } from "../transforms/args.ts";

/** A staged function: its program and the pytree structure of its output. */
export interface Staged {
  readonly program: Program;
  readonly outDef: TreeDef;
  /**
   * The function made custom calls (customJvp, customVjp, checkpoint) or
   * debug callbacks, inlined into the program: under an enclosing
   * transform, jit calls the function itself so that they apply.
   */
  readonly opaque: boolean;
  /**
   * Debug callbacks (with `effects`): each one's operands are extra
   * outputs of the program after the function's own, in this order.
   */
  readonly effects: readonly { fn: FlatCallback; count: number }[];
}

/**
 * Traces `f` on abstract versions of `args` (their tensors become the
 * program's inputs, in flattened pytree order; everything else is fixed).
 * Values `f` closes over become constants. `name` labels errors.
 */
export function stage(name: string, f: Fn, args: readonly unknown[]): Staged {
  const [leaves, def] = flatten(args);
  return stageFlat(name, leaves, (ins) => f(...unflatten<unknown[]>(def, ins)));
}

/**
 * Traces `call` on one abstract input per aval (shape and dtype) and
 * returns the program from those inputs to its flattened output. `jit`
 * stages through this with its own leaves (plain numbers become rank-0
 * inputs); {@link stage} with the tensors of a pytree of arguments.
 */
export function stageFlat(
  name: string,
  avals: readonly Aval[],
  call: (ins: Tensor[]) => unknown,
  withEffects = false,
): Staged {
  return withMergedStaging(() =>
    withMain(name, (main) => {
      const trace = new StagingTrace(main);
      trace.inlineCustom = true;
      const ins = avals.map((a) => trace.newInput(a));
      const [outs, outDef] = flattenOutput(
        name,
        withEffects ? withStaging(trace, () => call(ins)) : call(ins),
      );
      const effects = withEffects ? takeEffects(trace) : [];
      const all = [...outs, ...effects.flatMap((e) => e.values)];
      return {
        program: trace.finish(ins, all, all),
        outDef,
        opaque: trace.sawCustom,
        effects: effects.map((e) => ({ fn: e.fn, count: e.values.length })),
      };
    })
  );
}

/** True when `program` bakes in a tracer of an enclosing transform as a constant. */
export function closesOverTracer(program: Program): boolean {
  return programConstants(program).some((c) => c._trace !== null);
}

/**
 * Returns a function that, given example arguments, traces `f` on their
 * shapes and dtypes and returns the {@link Program} it stages to: a flat
 * list of primitive applications over numbered variables, printable like a
 * jaxpr with `toString()` or `console.log`. Transforms inside `f` are
 * applied while tracing, so `makeProgram(grad(f))` shows the gradient
 * program and `makeProgram(vmap(f))` the batched one. Nothing is computed
 * on the arguments' values.
 *
 * @example
 * ```ts
 * import { grad, makeProgram, randn, tensor, type Tensor } from "./mod.ts";
 * const f = (x: Tensor) => x.sin().mul(x).sum();
 * console.log(makeProgram(f)(tensor([1, 2, 3])).toString());
 * // { lambda ; a:f32[3] . let
 * //     b:f32[3] = sin a
 * //     c:f32[3] = mul b a
 * //     d:f32[] = sum[axes=[0]] c
 * //   in (d) }
 * const g = makeProgram(grad(f))(tensor([1, 2, 3])); // x·cos x + sin x
 * console.log(g.eqns.length, g.inputs.length, g.outputs.length);
 * // What jit runs: merged, pruned, elementwise chains fused.
 * const h = (x: Tensor) => x.tanh().square().neg().add(1).mul(x);
 * console.log(makeProgram(h, { optimize: true })(randn([1024])).toString());
 * // { lambda ; a:f32[1024] . let
 * //     b:f32[1024] = tanh a  # fused#0
 * //     ...
 * //     f:f32[1024] = mul e a  # fused#0 out
 * //   in (f) }
 * // A reduction over the last axis joins the chain's pass.
 * const r = (x: Tensor) => x.mul(1.5).tanh().square().sum(1);
 * console.log(makeProgram(r, { optimize: true })(randn([256, 512])).toString());
 * // { lambda ; a:f32[256,512] . let
 * //     b:f32[256,512] = mul a 1.5:f32[]  # fused#0
 * //     c:f32[256,512] = tanh b  # fused#0
 * //     d:f32[256,512] = square c  # fused#0
 * //     e:f32[256] = sum[axes=[1]] d  # fused#0 reduce
 * //   in (e) }
 * ```
 */
export function makeProgram<F extends Fn>(
  f: F,
  options: MakeProgramOptions = {},
): (...args: Parameters<F>) => Program {
  if (typeof f !== "function") {
    throw new TypeError(`makeProgram: expected a function, got ${typeof f}`);
  }
  const { optimize: opt = false, fuse = true } = options;
  return ((...args: unknown[]) => {
    const { program } = stage("makeProgram", f, args);
    if (closesOverTracer(program)) {
      throw new Error(
        "makeProgram: the function closes over a value traced by an enclosing transform; call makeProgram outside other transforms",
      );
    }
    if (!opt) return program;
    const p = optimize(program, fuse).program;
    if (!fuse) return p;
    const groups = epilogueGroups(p, fusionGroups(p));
    return annotateProgram(p, fusionMarks(p, groups));
  }) as (...args: Parameters<F>) => Program;
}

/**
 * Options of {@link makeProgram}.
 *
 * @example
 * ```ts
 * import { makeProgram, type MakeProgramOptions, tensor } from "./mod.ts";
 * const opts: MakeProgramOptions = { optimize: true };
 * console.log(makeProgram((x) => x.exp().mul(2), opts)(tensor([1])).toString());
 * ```
 */
export interface MakeProgramOptions {
  /**
   * Return the program as `jit` runs it: repeated equations merged,
   * unused ones dropped, and each equation of a fused elementwise group
   * marked `# fused#k` (`# fused#k out` when its value is written out,
   * `# fused#k reduce` for a reduction computed in the group's pass;
   * the others stay in the executor's registers), and a matmul whose
   * product only such a group reads marked `# fused#k matmul` (the group
   * runs as its GEMM epilogue, see src/jit/epilogue.ts). Small groups on
   * few elements are not fused (see src/jit/fusion.ts). Default false: the
   * program as traced.
   */
  optimize?: boolean;
  /** With `optimize`, whether to fuse (as jit's `fuse` option). Default true. */
  fuse?: boolean;
}

/**
 * A shape and dtype: what {@link evalShape} returns for each output tensor.
 *
 * @example
 * ```ts
 * import { evalShape, type ShapeDtype, tensor } from "./mod.ts";
 * const s = evalShape((x) => x.sum(0))(tensor([[1, 2], [3, 4]])) as ShapeDtype;
 * console.log(s.shape, s.dtype); // [ 2 ] float32
 * ```
 */
export interface ShapeDtype {
  /** Size of each dimension. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: Aval["dtype"];
}

/**
 * An argument type with each tensor optionally replaced by its
 * {@link ShapeDtype} (what {@link evalShape}'s function accepts).
 *
 * @example
 * ```ts
 * import type { ShapeArgs, Tensor } from "./mod.ts";
 * const args: ShapeArgs<[Tensor, { w: Tensor }]> = [
 *   { shape: [2], dtype: "float32" },
 *   { w: { shape: [2, 2], dtype: "float32" } },
 * ];
 * ```
 */
export type ShapeArgs<T> = T extends Tensor ? Tensor | ShapeDtype
  : T extends readonly unknown[] ? { [K in keyof T]: ShapeArgs<T[K]> }
  : T extends Record<string, unknown> ? { [K in keyof T]: ShapeArgs<T[K]> }
  : T;

/**
 * Returns a function that gives the shapes and dtypes of `f`'s outputs for
 * the given arguments without computing them (JAX's `eval_shape`): `f` is
 * traced on the arguments' shapes and dtypes, as `jit` does, and the
 * result is the output's pytree with a {@link ShapeDtype} at each tensor.
 * Any argument tensor may be given as a `{ shape, dtype }` object instead
 * (as JAX's `ShapeDtypeStruct`), so no input needs to exist either.
 * Transforms inside `f` are traced too (`evalShape(hessian(f))`).
 *
 * @example
 * ```ts
 * import { evalShape, hessian, tensor, type Tensor } from "./mod.ts";
 * const f = (x: Tensor) => ({ y: x.matmul(x.T), n: x.sum() });
 * console.log(evalShape(f)(tensor([[1, 2, 3], [4, 5, 6]])));
 * // { y: { shape: [ 2, 2 ], dtype: "float32" }, n: { shape: [], dtype: "float32" } }
 * const h = evalShape(hessian((x: Tensor) => x.sin().sum()))(tensor([1, 2, 3]));
 * const m = evalShape(f)({ shape: [1000, 4], dtype: "float64" }); // m.y: [1000, 1000]
 * ```
 */
export function evalShape<F extends Fn>(
  f: F,
): (...args: ShapeArgs<Parameters<F>>) => unknown {
  if (typeof f !== "function") {
    throw new TypeError(`evalShape: expected a function, got ${typeof f}`);
  }
  return ((...args: unknown[]) => {
    // `{ shape, dtype }` objects stand for tensors: they become inputs too.
    const avals: Aval[] = [];
    const isSpec = (x: unknown): x is Aval =>
      isPlainObject(x) && Object.keys(x).length === 2 &&
      Array.isArray(x.shape) &&
      x.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      (x.dtype === "float32" || x.dtype === "float64" || x.dtype === "int32");
    const walk = (x: unknown): unknown => {
      if (isSpec(x) || x instanceof Tensor) {
        avals.push({ shape: [...x.shape], dtype: x.dtype });
        return LEAF;
      }
      if (Array.isArray(x)) return x.map(walk);
      if (isPlainObject(x)) {
        return Object.fromEntries(
          Object.entries(x).map(([k, v]) => [k, walk(v)]),
        );
      }
      return x;
    };
    const shaped = walk(args);
    const { program, outDef } = stageFlat("evalShape", avals, (ins) => {
      let k = 0;
      const put = (x: unknown): unknown =>
        x === LEAF
          ? ins[k++]
          : Array.isArray(x)
          ? x.map(put)
          : isPlainObject(x)
          ? Object.fromEntries(
            Object.entries(x).map(([key, v]) => [key, put(v)]),
          )
          : x;
      return f(...(put(shaped) as unknown[]));
    });
    return unflatten(
      outDef,
      program.outputAvals.map((a): ShapeDtype => ({
        shape: [...a.shape],
        dtype: a.dtype,
      })),
    );
  }) as (...args: ShapeArgs<Parameters<F>>) => unknown;
}
