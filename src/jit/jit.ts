/**
 * `jit`: trace a function once per input signature into a flat program of
 * primitives (the same Program IR that linearize records), optimise it (common subexpressions,
 * dead code, a memory plan) and replay it on later calls, skipping the
 * interpreters. Composes with every transform in both directions.
 * @module
 */
import { type DType, isFloatDtype } from "../backend/dtype.ts";
import { getDefaultDtype } from "../core/dtypes.ts";
import { fromArray } from "../backend/storage.ts";
import { type Executable, execute, optimize } from "./execute.ts";
import { programConstants } from "../core/ir.ts";
import { currentLevel } from "../core/trace.ts";
import { flatten, type TreeDef, unflatten } from "../core/tree.ts";
import type { Fn } from "../transforms/args.ts";
import { closesOverTracer, type Staged, stageFlat } from "./make_program.ts";
import { debugCallbackFlat } from "../core/debug.ts";
import { pin, withTemporaries } from "../core/scope.ts";
import { inUserCode, Tensor } from "../core/tensor.ts";
import { describe } from "../ops/scalar.ts";

/**
 * Options of `jit`.
 *
 * @example
 * ```ts
 * import { jit, type Tensor, tensor } from "./mod.ts";
 * // `n` decides a shape, so it is static: one trace per value of n.
 * const tile = jit((x: Tensor, n: number) => x.reshape([1, -1]).expand([n, x.size]), {
 *   staticArgnums: [1],
 * });
 * tile(tensor([1, 2]), 3); // shape [3, 2]
 * // `w` is replaced by the result: its buffer is freed by the call.
 * const step = jit((w: Tensor, lr: number) => w.sub(w.mul(lr)), { donateArgnums: [0] });
 * let w = tensor([1, 2]);
 * w = step(w, 0.1); // the old w can no longer be used
 * ```
 */
export interface JitOptions {
  /**
   * Arguments that are static (JAX's `static_argnums`): their values are
   * part of the cache key (numbers compared with `Object.is`, strings and
   * booleans by value, functions and other objects by identity, arrays and
   * plain objects entry by entry) and reach `f` as they are, so `f` may use
   * them as shapes, axes or loop bounds. A new value traces `f` again. They
   * must not contain tensors. Every other plain number is traced: `f` gets
   * it as a rank-0 tensor, and a new value reuses the compiled program.
   */
  staticArgnums?: number | readonly number[];
  /**
   * Arguments whose tensors the call may consume (JAX's `donate_argnums`):
   * after the call their buffers are freed (unless something else still
   * holds them, such as a result equal to the argument), and any later use
   * of those tensor objects is an error. For a loop that replaces its state
   * (`w = step(w)`): each step frees the previous parameters at once, so a
   * synchronous loop stays bounded without `dispose()`. Ignored inside
   * another transform (the arguments are tracers there).
   */
  donateArgnums?: number | readonly number[];
  /**
   * Fuse chains of elementwise operations into one pass over memory
   * (default true), with a sum, prod, max or min over their trailing axes
   * computed in the same pass: their intermediates never get buffers of
   * their own, and the results are bit-identical either way. `false` compiles one
   * instruction per operation (for comparisons). `makeProgram(f,
   * { optimize: true })` prints the groups.
   */
  fuse?: boolean;
}

interface Compiled {
  executable: Executable;
  outDef: TreeDef;
  /** Made custom calls or debug callbacks (see {@link Staged}). */
  opaque: boolean;
  /** Debug callbacks, called after every run with the extra outputs. */
  effects: Staged["effects"];
}

// ---- the call signature -----------------------------------------------------
//
// A call's arguments flatten into leaves that become program inputs (tensors,
// and plain numbers outside static arguments, traced as rank-0 tensors) and
// a structure with everything else, which is the cache key. The key is
// exact: numbers by Object.is (so Infinity, -Infinity, NaN, 0, -0 and null
// all differ), strings by value, functions and other objects by identity.

const objectIds = new WeakMap<object, number>();
const symbolIds = new Map<symbol, number>();
let nextId = 0;

function idOf(x: object | symbol): number {
  if (typeof x === "symbol") {
    let id = symbolIds.get(x);
    if (id === undefined) symbolIds.set(x, id = nextId++);
    return id;
  }
  let id = objectIds.get(x);
  if (id === undefined) objectIds.set(x, id = nextId++);
  return id;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** The exact key of a value that is not a traced leaf. */
function constKey(x: unknown): string {
  switch (typeof x) {
    case "number":
      return Object.is(x, -0) ? "n-0" : `n${x}`;
    case "string":
      return `s${JSON.stringify(x)}`;
    case "boolean":
      return x ? "T" : "F";
    case "undefined":
      return "u";
    case "bigint":
      return `b${x}`;
    case "symbol":
      return `y${idOf(x)}`;
    default:
      return x === null ? "z" : `o${idOf(x as object)}`;
  }
}

/** A traced leaf: a tensor, or a plain number (traced as a rank-0 tensor). */
type Leaf = Tensor | number;

interface Signature {
  key: string;
  leaves: Leaf[];
  /** Rebuilds the argument list with each leaf replaced. */
  rebuild(values: readonly Tensor[]): unknown[];
}

/** Flattens a static argument into its key; tensors are rejected. */
function staticKey(x: unknown, where: string): string {
  if (x instanceof Tensor) {
    throw new TypeError(
      `jit: ${where} is static (staticArgnums) but holds ${
        describe(x)
      }; static arguments are plain values (numbers, strings, objects), and tensors are always traced`,
    );
  }
  if (Array.isArray(x)) {
    return `[${x.map((v, i) => staticKey(v, `${where}[${i}]`)).join(",")}]`;
  }
  if (isPlainObject(x)) {
    return `{${
      Object.keys(x).map((k) =>
        `${JSON.stringify(k)}:${staticKey(x[k], `${where}.${k}`)}`
      ).join(",")
    }}`;
  }
  return constKey(x);
}

function signature(
  args: readonly unknown[],
  statics: ReadonlySet<number>,
): Signature {
  const leaves: Leaf[] = [];
  const parts: string[] = [];
  const walk = (x: unknown): string => {
    if (x instanceof Tensor) {
      leaves.push(x);
      return `t${x.dtype}[${x.shape}]`;
    }
    if (typeof x === "number") {
      leaves.push(x);
      return "#";
    }
    if (Array.isArray(x)) return `[${x.map(walk).join(",")}]`;
    if (isPlainObject(x)) {
      return `{${
        Object.keys(x).map((k) => `${JSON.stringify(k)}:${walk(x[k])}`).join(
          ",",
        )
      }}`;
    }
    return constKey(x);
  };
  args.forEach((a, i) => {
    parts.push(
      statics.has(i) ? `!${staticKey(a, `argument ${i}`)}` : walk(a),
    );
  });
  const rebuild = (values: readonly Tensor[]): unknown[] => {
    let k = 0;
    const build = (x: unknown): unknown => {
      if (x instanceof Tensor || typeof x === "number") return values[k++];
      if (Array.isArray(x)) return x.map(build);
      if (isPlainObject(x)) {
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(x)) out[key] = build(x[key]);
        return out;
      }
      return x;
    };
    return args.map((a, i) => (statics.has(i) ? a : build(a)));
  };
  return { key: `${args.length}(${parts.join(";")})`, leaves, rebuild };
}

/**
 * The dtype a traced plain number gets: that of the call's first float
 * tensor (as a number next to a tensor takes the tensor's dtype), float32
 * when there is none.
 */
function numberDtype(leaves: readonly Leaf[]): DType {
  for (const l of leaves) {
    if (l instanceof Tensor && isFloatDtype(l.dtype)) return l.dtype;
  }
  return getDefaultDtype();
}

/** Validated, normalised argnums of a jit option against a call. */
function argnumSet(
  name: string,
  spec: number | readonly number[] | undefined,
  nargs: number,
): Set<number> {
  if (spec === undefined) return new Set();
  const list = typeof spec === "number" ? [spec] : spec;
  if (!Array.isArray(list) && typeof spec !== "number") {
    throw new TypeError(
      `jit: ${name} must be a number or an array of numbers, got ${
        describe(spec)
      }`,
    );
  }
  const out = new Set<number>();
  for (const a of list) {
    if (!Number.isInteger(a)) {
      throw new TypeError(
        `jit: ${name} entries must be integer argument positions, got ${
          describe(a)
        }`,
      );
    }
    if (a < -nargs || a >= nargs) {
      throw new RangeError(
        `jit: ${name} ${a} is out of range: the function was called with ${nargs} argument${
          nargs === 1 ? "" : "s"
        }`,
      );
    }
    out.add(a < 0 ? a + nargs : a);
  }
  return out;
}

/** Adds to an error raised while tracing a note on the traced numbers. */
function withNumberHint(e: unknown, traced: number[], dtype: DType): unknown {
  if (!(e instanceof Error) || traced.length === 0) return e;
  // Only errors that a traced value caused: a tracer where a number was
  // expected, a read of its value, JS arithmetic on it.
  if (!/Tracer\(shape=\[\]|being traced|as a JS number/.test(e.message)) {
    return e;
  }
  const which = traced.length === 1
    ? `argument ${traced[0]} holds a plain number`
    : `arguments ${traced.join(", ")} hold plain numbers`;
  const hint =
    ` (while jit traced the function; ${which}, traced as ${dtype} rank-0 tensors: ` +
    `if the function needs a number's value, as a shape, an axis, a loop bound or a JS number, list its argument in staticArgnums)`;
  const old = e.message;
  e.message = old + hint;
  if (typeof e.stack === "string") e.stack = e.stack.replace(old, e.message);
  return e;
}

function compile(
  f: Fn,
  sig: Signature,
  dtype: DType,
  fuse: boolean,
): Compiled | null {
  const { program, outDef, opaque, effects } = stageFlat(
    "jit",
    sig.leaves.map((l) => l instanceof Tensor ? l : { shape: [], dtype }),
    (ins) => inUserCode(() => f(...sig.rebuild(ins))),
    true,
  );
  // A closed-over tracer of an enclosing transform cannot be baked in.
  if (closesOverTracer(program)) return null;
  // The program holds its constants for as long as it is cached: neither
  // an enclosing transform nor a dispose() of the closed-over tensor
  // frees them.
  const executable = optimize(program, fuse);
  pin(programConstants(executable.program));
  return { executable, outDef, opaque, effects };
}

/**
 * Compiles `f`: the first call with a given signature traces it into a
 * program of primitives; later calls with the same signature replay that
 * program straight into the WebAssembly kernels. The signature is the
 * arguments' pytree structure, the shapes and dtypes of their tensors, and
 * the exact values of everything that is neither a tensor nor a number
 * (strings, booleans, functions and objects by identity) and of the
 * arguments listed in `staticArgnums`. Plain numbers elsewhere are traced
 * as rank-0 tensors (of the dtype of the call's first float tensor), so a
 * step counter or a learning rate does not retrace. `f` must be a pure
 * function of its arguments (values it closes over are baked in at trace
 * time) and must not read values (`data()`, `item()`) of its arguments.
 * From its second call on, a compiled program keeps its intermediates in
 * one block of WebAssembly memory laid out by liveness (released with the
 * jitted function), so a call allocates only the tensors it returns.
 *
 * @example
 * ```ts
 * import { grad, jit, tensor, type Tensor } from "./mod.ts";
 * const hvp = jit((x: Tensor, v: Tensor) => grad((x: Tensor) => grad((x: Tensor) => x.sin().sum())(x).mul(v).sum())(x));
 * const y = hvp(tensor([0, 1, 2]), tensor([1, 1, 1])); // -sin(x), traced once
 * const scale = jit((x: Tensor, s: number) => x.mul(s));
 * scale(y, 2); scale(y, 3); // s is traced: one program for both
 * ```
 */
export function jit<F extends Fn>(
  f: F,
  options: JitOptions = {},
): (...args: Parameters<F>) => ReturnType<F> {
  if (typeof f !== "function") {
    throw new TypeError(`jit: expected a function, got ${typeof f}`);
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `jit: options must be an object, got ${describe(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (k !== "staticArgnums" && k !== "donateArgnums" && k !== "fuse") {
      throw new TypeError(
        `jit: unknown option ${
          JSON.stringify(k)
        } (expected staticArgnums, donateArgnums or fuse)`,
      );
    }
  }
  const { staticArgnums, donateArgnums, fuse = true } = options;
  if (typeof fuse !== "boolean") {
    throw new TypeError(`jit: fuse must be a boolean, got ${describe(fuse)}`);
  }
  const cache = new Map<string, Compiled>();
  return ((...args: unknown[]) => {
    const statics = argnumSet("staticArgnums", staticArgnums, args.length);
    const donated = argnumSet("donateArgnums", donateArgnums, args.length);
    for (const i of donated) {
      if (statics.has(i)) {
        throw new TypeError(
          `jit: argument ${i} is both static and donated; a static argument holds no tensor to donate`,
        );
      }
      if (flatten(args[i])[0].length === 0) {
        throw new TypeError(
          `jit: donateArgnums names argument ${i}, which is ${
            describe(args[i])
          } and holds no tensor to donate`,
        );
      }
    }
    const sig = signature(args, statics);
    const dtype = numberDtype(sig.leaves);
    let c = cache.get(sig.key);
    if (c === undefined) {
      let compiled: Compiled | null;
      try {
        compiled = compile(f, sig, dtype, fuse);
      } catch (e) {
        const traced: number[] = [];
        args.forEach((a, i) => {
          if (!statics.has(i) && hasNumber(a)) traced.push(i);
        });
        throw withNumberHint(e, traced, dtype);
      }
      // Closes over a tracer of an enclosing transform: run it directly.
      if (compiled === null) return f(...args);
      cache.set(sig.key, c = compiled);
    }
    // Custom rules (customJvp, customVjp, checkpoint) were inlined into the
    // program; an enclosing transform must meet the calls themselves.
    if (
      c.opaque &&
      sig.leaves.some((l) => l instanceof Tensor && l._trace !== null)
    ) {
      return f(...args);
    }
    const { executable, outDef, effects } = c;
    const result = withTemporaries(args, () => {
      const inputs = sig.leaves.map((l) =>
        l instanceof Tensor
          ? l
          : Tensor._fromStorage(fromArray(dtype, [l]), [], dtype)
      );
      const outs = execute(executable, inputs);
      // Debug callbacks run on every call, with this run's values (handed
      // out: the callback may keep them).
      let k = outs.length - effects.reduce((n, e) => n + e.count, 0);
      const own = outs.slice(0, k);
      for (const e of effects) {
        const values = outs.slice(k, k += e.count).map((t) => t._handOut());
        debugCallbackFlat(e.fn, values);
      }
      return unflatten(outDef, own);
    });
    if (donated.size > 0 && currentLevel() === 0) {
      for (const i of donated) {
        for (const t of flatten(args[i])[0]) t._donate();
      }
    }
    return result;
  }) as (...args: Parameters<F>) => ReturnType<F>;
}

/** True when the pytree `x` has a plain number leaf (traced by jit). */
function hasNumber(x: unknown): boolean {
  if (typeof x === "number") return true;
  if (Array.isArray(x)) return x.some(hasNumber);
  if (isPlainObject(x)) return Object.values(x).some(hasNumber);
  return false;
}
