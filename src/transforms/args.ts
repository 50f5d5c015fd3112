/**
 * Argument handling shared by the transforms: `argnums`, pytree leaves of
 * the differentiated arguments, and the checks that give clear errors.
 * @module
 */
import { isFloatDtype } from "../backend/dtype.ts";
import { fmtShape } from "../core/shape.ts";
import { inUserCode, Tensor } from "../core/tensor.ts";
import {
  flatten,
  isPlainObject,
  type TreeDef,
  unflatten,
} from "../core/tree.ts";
import { describe } from "../ops/scalar.ts";

/**
 * The argument list in the public signatures' constraints. `never[]` would
 * be the sound choice, but then an inline untyped lambda (`grad((x) =>
 * x.sin().sum())`) gets `x: never`, and an inline `grad(f)` passed to `jvp`
 * is inferred from the constraint (`Tensor` is not assignable to `never`);
 * `any[]` keeps each function's own parameter types.
 *
 * @example
 * ```ts
 * import { type AnyArgs, grad } from "./mod.ts";
 * const call = (...args: AnyArgs) => args.length;
 * ```
 */
// deno-lint-ignore no-explicit-any
export type AnyArgs = any[];

/**
 * Any function a transform accepts.
 *
 * @example
 * ```ts
 * import { type Fn, grad, type Tensor } from "./mod.ts";
 * const f: Fn = (x: Tensor) => x.square().sum();
 * const g = grad(f);
 * ```
 */
export type Fn = (...args: AnyArgs) => unknown;

/**
 * Which positional arguments to differentiate: one index or several.
 *
 * @example
 * ```ts
 * import { jacrev, type Tensor, tensor } from "./mod.ts";
 * const f = (a: Tensor, b: Tensor) => a.mul(b);
 * const [Ja, Jb] = jacrev(f, { argnums: [0, 1] })(tensor([1, 2]), tensor([3, 4]));
 * ```
 */
export type Argnums = number | readonly number[];

/** Validates argnums against the call's argument count. */
export function normArgnums(
  what: string,
  argnums: Argnums,
  nargs: number,
): number[] {
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  if (list.length === 0) {
    throw new RangeError(`${what}: argnums must not be empty`);
  }
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -nargs || a >= nargs) {
      throw new RangeError(
        `${what}: argnums ${a} is out of range: the function was called with ${nargs} argument${
          nargs === 1 ? "" : "s"
        }`,
      );
    }
    return a < 0 ? a + nargs : a;
  });
  if (out.length > 1 && new Set(out).size !== out.length) {
    throw new RangeError(`${what}: argnums [${list}] repeats an argument`);
  }
  return out;
}

/** The differentiated arguments, flattened, and how to rebuild the call. */
export interface DiffArgs {
  leaves: Tensor[];
  defs: TreeDef[];
  counts: number[];
  /** Calls `f` with the leaves replaced by `xs`. */
  call(f: (...args: never[]) => unknown, xs: Tensor[]): unknown;
  /** Per-argnum trees from flat per-leaf values. */
  rebuild(values: unknown[]): unknown[];
}

export function diffArgs(
  what: string,
  args: unknown[],
  nums: number[],
): DiffArgs {
  const leaves: Tensor[] = [], defs: TreeDef[] = [], counts: number[] = [];
  for (const i of nums) {
    const [ls, def] = flatten(args[i]);
    if (ls.length === 0) {
      throw new TypeError(
        `${what}: argument ${i} is ${
          describe(args[i])
        }, which contains no tensor to differentiate (check argnums)`,
      );
    }
    for (let j = 0; j < ls.length; j++) {
      const l = ls[j];
      if (!isFloatDtype(l.dtype)) {
        const leaf = ls.length > 1 ? ` (leaf ${j} of its tree)` : "";
        throw new TypeError(
          `${what}: argument ${i}${leaf} is ${
            l.dtype === "int32" ? "an int32" : "a bool"
          } tensor of shape ${
            fmtShape(l.shape)
          } and cannot be differentiated: only float32 and float64 inputs have derivatives (leave it out of argnums, or convert it with .to("float32"))`,
        );
      }
    }
    for (let j = 0; j < ls.length; j++) leaves.push(ls[j]);
    defs.push(def);
    counts.push(ls.length);
  }
  return new Diff(what, args, nums, leaves, defs, counts);
}

// A class, not an object of closures: its methods allocate nothing per call.
class Diff implements DiffArgs {
  constructor(
    readonly what: string,
    readonly args: unknown[],
    readonly nums: number[],
    readonly leaves: Tensor[],
    readonly defs: TreeDef[],
    readonly counts: number[],
  ) {}

  call(f: (...args: never[]) => unknown, xs: Tensor[]): unknown {
    const { nums, defs, counts } = this;
    const a = this.args.slice();
    let k = 0;
    for (let j = 0; j < nums.length; j++) {
      a[nums[j]] = part(defs[j], xs, k, counts[j]);
      k += counts[j];
    }
    return checkSync(this.what, callUser(f, a));
  }

  rebuild(values: unknown[]): unknown[] {
    const { defs, counts } = this;
    const out = new Array<unknown>(defs.length);
    let k = 0;
    for (let j = 0; j < defs.length; j++) {
      out[j] = part(defs[j], values, k, counts[j]);
      k += counts[j];
    }
    return out;
  }
}

/** `f(...a)` as user code. */
function callUser(f: (...args: never[]) => unknown, a: unknown[]): unknown {
  return inUserCode(() => (f as (...x: unknown[]) => unknown)(...a));
}

/** The tree `def` of the `count` leaves of `values` from `k`. */
function part(def: TreeDef, values: unknown[], k: number, count: number) {
  // (A lone tensor, the common argument, needs no copy of its leaf.)
  if (def.kind === "leaf") return values[k];
  return unflatten(def, values.slice(k, k + count));
}

/**
 * Rejects a function result that is a promise (an async function): a
 * transform traces one synchronous call, so the code after an `await`
 * would run after the transform ended, on tracers that are no longer
 * valid. The promise's eventual rejection is marked handled, since this
 * error already reports the mistake.
 */
export function checkSync<T>(what: string, result: T): T {
  const then = (result as { then?: unknown } | null)?.then;
  if (
    typeof result === "object" && result !== null && typeof then === "function"
  ) {
    Promise.resolve(result).catch(() => {});
    throw new TypeError(
      `${what}: the function returned a promise (is it async?); transforms need a synchronous ` +
        `function: await what you need before calling the transformed function and pass it in`,
    );
  }
  return result;
}

/**
 * Reverse-mode Jacobians need float outputs (as JAX: "grad requires
 * real-valued outputs"): an integer output (argmax, a cast to int32) has no
 * derivative, and a silent zero gradient would hide the mistake.
 */
export function checkRealOutput(
  what: string,
  out: Tensor,
  label: string,
): void {
  if (!isFloatDtype(out.dtype)) {
    throw new TypeError(
      `${what}: ${label} is ${
        out.dtype === "int32" ? "an int32" : "a bool"
      } tensor of shape ${
        fmtShape(out.shape)
      }; ${what} needs float outputs (integer and bool values, such as argmax's or a comparison's, have no derivative)`,
    );
  }
}

/** Splits `[out, aux]` when hasAux, with a clear error otherwise. */
export function splitAux(
  what: string,
  result: unknown,
  hasAux: boolean,
): [unknown, unknown] {
  checkSync(what, result);
  if (!hasAux) return [result, undefined];
  if (!Array.isArray(result) || result.length !== 2) {
    throw new TypeError(
      `${what}: with hasAux the function must return a pair [output, aux], got ${
        describe(result)
      }`,
    );
  }
  return [result[0], result[1]];
}

/**
 * `f` as the flat function the AD cores take: called on the differentiated
 * leaves (through `d`), it returns its output leaves and aux (undefined
 * without hasAux). `outDef()` is the output's structure, known once `flat`
 * has run.
 */
export function flatOutput(
  what: string,
  d: DiffArgs,
  f: (...args: never[]) => unknown,
  hasAux: boolean,
): { flat: (xs: Tensor[]) => [Tensor[], unknown]; outDef: () => TreeDef } {
  let outDef: TreeDef | null = null;
  const flat = (xs: Tensor[]): [Tensor[], unknown] => {
    const [out, aux] = splitAux(what, d.call(f, xs), hasAux);
    const [leaves, def] = flattenOutput(what, out);
    outDef = def;
    return [leaves, aux];
  };
  return { flat, outDef: () => outDef! };
}

/** Flattens a function output, requiring tensor leaves only. */
export function flattenOutput(what: string, out: unknown): [Tensor[], TreeDef] {
  const [leaves, def] = flatten(checkSync(what, out));
  const bad = findConst(def);
  if (leaves.length === 0 || bad !== null) {
    throw new TypeError(
      `${what}: the function must return a tensor or arrays/objects of tensors, got ${
        describe(bad !== null ? bad.value : out)
      }`,
    );
  }
  return [leaves, def];
}

/** The first non-tensor leaf (boxed, since it may be undefined itself), or null. */
function findConst(def: TreeDef): { value: unknown } | null {
  if (def.kind === "const") return { value: def.value };
  if (def.kind === "leaf") return null;
  for (const c of def.children) {
    const v = findConst(c);
    if (v !== null) return v;
  }
  return null;
}

/**
 * Checks a tangent or cotangent against its primal (`noun` names what it
 * must match: "primal" or "output").
 */
export function checkLike(
  what: string,
  label: string,
  t: unknown,
  like: Tensor,
  noun = "primal",
): Tensor {
  if (!(t instanceof Tensor)) {
    throw new TypeError(
      `${what}: ${label} must be a Tensor, got ${describe(t)}`,
    );
  }
  if (
    t.dtype !== like.dtype || t.shape.length !== like.shape.length ||
    t.shape.some((d, i) => d !== like.shape[i])
  ) {
    throw new TypeError(
      `${what}: ${label} has shape ${
        fmtShape(t.shape)
      } and dtype ${t.dtype}, but the ${noun} has shape ${
        fmtShape(like.shape)
      } and dtype ${like.dtype}`,
    );
  }
  return t;
}

const keyList = (keys: readonly string[]) =>
  keys.map((k) => JSON.stringify(k)).join(", ");

/**
 * The tensors of `given`, in the order of `like` (the leaves of `def`),
 * after checking that `given` has the structure of `def`: arrays of the
 * same length, objects with the same keys (matched by name, never by
 * order), and tensors of the same shape and dtype. Where `def` holds a
 * constant (a number argument), any non-tensor is accepted. `label` names
 * `given` in errors (paths extend it: `cotangent.a[0]`); `noun` names what
 * it must match ("primal" or "output").
 */
export function matchTree(
  what: string,
  label: string,
  noun: string,
  given: unknown,
  def: TreeDef,
  like: readonly Tensor[],
): Tensor[] {
  const out: Tensor[] = [];
  const mismatch = (path: string, g: unknown, expected: string): never => {
    throw new TypeError(
      `${what}: ${path} is ${
        describe(g)
      }, but the ${noun} there is ${expected} (the structures must match)`,
    );
  };
  const walk = (g: unknown, d: TreeDef, path: string): void => {
    switch (d.kind) {
      case "leaf":
        out.push(checkLike(what, path, g, like[out.length], noun));
        return;
      case "const":
        if (g instanceof Tensor) mismatch(path, g, describe(d.value));
        return;
      case "array":
        if (!Array.isArray(g) || g.length !== d.children.length) {
          mismatch(path, g, `an array of length ${d.children.length}`);
        }
        d.children.forEach((c, i) =>
          walk((g as unknown[])[i], c, `${path}[${i}]`)
        );
        return;
      case "object": {
        if (!isPlainObject(g)) {
          mismatch(path, g, `an object with keys ${keyList(d.keys)}`);
        }
        const o = g as Record<string, unknown>;
        const unknown = Object.keys(o).filter((k) => !d.keys.includes(k));
        const missing = d.keys.filter((k) => !Object.hasOwn(o, k));
        if (unknown.length > 0 || missing.length > 0) {
          const parts = [
            unknown.length > 0 ? `has unknown key ${keyList(unknown)}` : "",
            missing.length > 0 ? `lacks key ${keyList(missing)}` : "",
          ].filter((x) => x !== "");
          throw new TypeError(
            `${what}: ${path} ${
              parts.join(" and ")
            }; the ${noun} there has keys ${keyList(d.keys)}`,
          );
        }
        d.keys.forEach((k, i) => walk(o[k], d.children[i], `${path}.${k}`));
      }
    }
  };
  walk(given, def, label);
  return out;
}
