/**
 * `jit`: trace a function once per input signature into a flat program of
 * primitives (the same Program IR that linearize records), optimise it (common subexpressions,
 * dead code, a memory plan) and replay it on later calls, skipping the
 * interpreters. Composes with every transform in both directions.
 * @module
 */
import { StagingTrace } from "../core/staging_trace.ts";
import { type Executable, execute, optimize } from "./execute.ts";
import { programConstants } from "../core/ir.ts";
import { withMain } from "../core/trace.ts";
import { flatten, type TreeDef, unflatten } from "../core/tree.ts";
import { flattenOutput, type Fn } from "../transforms/args.ts";
import { pin, withTemporaries } from "../core/scope.ts";
import { inUserCode } from "../core/tensor.ts";

interface Compiled {
  executable: Executable;
  outDef: TreeDef;
}

function compile(f: Fn, args: unknown[]): Compiled | null {
  const [leaves, def] = flatten(args);
  return withMain("jit", (main) => {
    const trace = new StagingTrace(main);
    const ins = leaves.map((l) => trace.newInput(l));
    const out = inUserCode(() => f(...unflatten<unknown[]>(def, ins)));
    const [outs, outDef] = flattenOutput("jit", out);
    const program = trace.finish(ins, outs, outs);
    // A closed-over tracer of an enclosing transform cannot be baked in.
    const closesOverTracer = programConstants(program).some((c) =>
      c._trace !== null
    );
    if (closesOverTracer) return null;
    // The program holds its constants for as long as it is cached: neither
    // an enclosing transform nor a dispose() of the closed-over tensor
    // frees them.
    const executable = optimize(program);
    pin(programConstants(executable.program));
    return { executable, outDef };
  });
}

/**
 * Compiles `f`: the first call with a given set of input shapes and dtypes
 * (and pytree structure, plain numbers included) traces it into a program
 * of primitives; later calls with the same signature replay that program
 * straight into the WebAssembly kernels. `f` must be a pure function of its
 * arguments (values it closes over are baked in at trace time) and must not
 * read values (`data()`, `item()`) of its arguments.
 *
 * @example
 * ```ts
 * import { grad, jit, tensor, type Tensor } from "../transforms/mod.ts";
 * const hvp = jit((x: Tensor, v: Tensor) => grad((x: Tensor) => grad((x: Tensor) => x.sin().sum())(x).mul(v).sum())(x));
 * const y = hvp(tensor([0, 1, 2]), tensor([1, 1, 1])); // -sin(x), traced once
 * ```
 */
export function jit<F extends Fn>(
  f: F,
): (...args: Parameters<F>) => ReturnType<F> {
  if (typeof f !== "function") {
    throw new TypeError(`jit: expected a function, got ${typeof f}`);
  }
  const cache = new Map<string, Compiled>();
  return ((...args: unknown[]) => {
    const [leaves, def] = flatten(args);
    const key = JSON.stringify(def) +
      leaves.map((l) => `${l.dtype}[${l.shape}]`).join(";");
    let c = cache.get(key);
    if (c === undefined) {
      const compiled = compile(f, args);
      if (compiled === null) return f(...args); // closes over a tracer: run it directly
      cache.set(key, c = compiled);
    }
    const { executable, outDef } = c;
    return withTemporaries(
      args,
      () => unflatten(outDef, execute(executable, leaves)),
    );
  }) as (...args: Parameters<F>) => ReturnType<F>;
}
