/**
 * `vmap`: vectorising map over a batch dimension.
 * @module
 */
import type { Fn } from "./args.ts";
import { withTemporaries } from "../core/scope.ts";
import type { Dim } from "../core/rules/batch.ts";
import { fmtShape } from "../core/shape.ts";
import { inUserCode, type Tensor } from "../core/tensor.ts";
import {
  flatten,
  isPlainObject,
  leafCount,
  type TreeDef,
  unflatten,
} from "../core/tree.ts";
import { describe } from "../ops/scalar.ts";
import { flattenOutput } from "./args.ts";
import { vmapFlat } from "../core/batch_trace.ts";

/**
 * Where the batch dimension is: a dim, null (not batched), or a tree matching the argument.
 *
 * @example
 * ```ts
 * import { randn, type Tensor, vmap } from "./mod.ts";
 * const f = (p: { w: Tensor }, x: Tensor) => p.w.mul(x).sum();
 * const ws = { w: randn([8, 3]) }; // batched along dim 0 of w
 * const y = vmap(f, { inDims: [{ w: 0 }, null] })(ws, randn([3])); // shape [8]
 * ```
 */
export type InDim = number | null | readonly InDim[] | {
  readonly [key: string]: InDim;
};

/**
 * Options of `vmap`.
 *
 * @example
 * ```ts
 * import { randn, type Tensor, vmap } from "./mod.ts";
 * const f = (x: Tensor) => x.sum();
 * const y = vmap(f, { inDims: 1, chunkSize: 16 })(randn([3, 100])); // shape [100]
 * const z = vmap((x: Tensor) => x.mul(2), { outDims: 1 })(randn([4, 3])); // shape [3, 4]
 * ```
 */
export interface VmapOptions {
  /** Batch dim of each argument (one value for all, or one per argument); default 0. */
  inDims?: InDim | readonly InDim[];
  /**
   * Where to put the batch dim of the outputs: one value for all, or a
   * pytree prefix of the output (an array for an array output, an object
   * with its keys for an object output, nested as deep as needed); null
   * for an output that is the same for every batch entry (returned
   * without a batch dim; an error if it depends on a batched input).
   * An array of numbers with one entry per output tensor (in flattened
   * order) is accepted too. Default 0.
   */
  outDims?: InDim;
  /** Process at most this many batch entries at a time (bounded memory). */
  chunkSize?: number;
}

/** A batch dim normalised against `rank`, or an error naming `what` (the option and the tensor). */
function batchAxis(d: number, rank: number, what: string): number {
  if (!Number.isInteger(d)) {
    throw new TypeError(`vmap: ${what} is not an integer`);
  }
  if (d < -rank || d >= rank) {
    throw new RangeError(
      `vmap: ${what} is out of range (expected ${-rank} <= dim < ${rank})`,
    );
  }
  return d < 0 ? d + rank : d;
}

/** Pairs each tensor leaf of `arg` with its batch dim from `spec`. */
function collectDims(
  arg: unknown,
  spec: InDim,
  path: string,
  out: [Tensor, Dim, string][],
): void {
  if (spec === null || typeof spec === "number") {
    for (const leaf of flatten(arg)[0]) out.push([leaf, spec, path]);
    return;
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(arg) || arg.length !== spec.length) {
      throw new TypeError(
        `vmap: inDims for ${path} is an array of ${spec.length} but the argument is ${
          describe(arg)
        }`,
      );
    }
    spec.forEach((s, i) => collectDims(arg[i], s, `${path}[${i}]`, out));
    return;
  }
  if (isPlainObject(spec) && isPlainObject(arg)) {
    const o = arg as Record<string, unknown>;
    const s = spec as Record<string, InDim>;
    // Keys are matched by name; a mistyped one must not leave an entry unbatched.
    const keys = Object.keys(o);
    const quote = (ks: string[]) => ks.map((k) => JSON.stringify(k)).join(", ");
    const unknown = Object.keys(s).filter((k) => !Object.hasOwn(o, k));
    if (unknown.length > 0) {
      throw new TypeError(
        `vmap: inDims for ${path} has key ${
          quote(unknown)
        }, which ${path} does not have (its keys: ${quote(keys)})`,
      );
    }
    const missing = keys.filter((k) => !Object.hasOwn(s, k));
    if (missing.length > 0) {
      throw new TypeError(
        `vmap: inDims for ${path} lacks key ${
          quote(missing)
        } of ${path}; give null for an entry that is not batched`,
      );
    }
    for (const k of keys) collectDims(o[k], s[k], `${path}.${k}`, out);
    return;
  }
  throw new TypeError(
    `vmap: inDims for ${path} is ${
      describe(spec)
    }, which does not match the argument ${describe(arg)}`,
  );
}

/**
 * The batch dim of every output leaf from `spec`, a pytree prefix of the
 * output's structure (a number or null applies to a whole subtree).
 */
function outDimsOf(spec: InDim, def: TreeDef): (number | null)[] {
  // Also accepted: one dim per output tensor, in flattened order, for a
  // nested output (an array of numbers that is not a prefix of it).
  if (
    Array.isArray(spec) &&
    spec.every((d) => d === null || typeof d === "number") &&
    def.kind === "array" && spec.length !== def.children.length &&
    spec.length === leafCount(def)
  ) {
    return spec as (number | null)[];
  }
  const out: (number | null)[] = [];
  const walk = (s: InDim, d: TreeDef, path: string): void => {
    if (s === null || typeof s === "number") {
      for (let i = leafCount(d); i > 0; i--) out.push(s);
      return;
    }
    if (Array.isArray(s)) {
      // A one-entry array for a single tensor output (an output list of one).
      if (d.kind === "leaf" && s.length === 1 && path === "") {
        return walk(s[0], d, path);
      }
      if (d.kind !== "array") {
        throw new TypeError(
          `vmap: outDims${path} is an array, but the output${path} is not`,
        );
      }
      if (s.length < d.children.length) {
        throw new RangeError(
          path === ""
            ? `vmap: outDims has no entry for output ${s.length}`
            : `vmap: outDims${path} has no entry for output${path}[${s.length}]`,
        );
      }
      if (s.length > d.children.length) {
        throw new RangeError(
          `vmap: outDims${path} has ${s.length} entries but the output${path} has ${d.children.length}`,
        );
      }
      d.children.forEach((c, i) => walk(s[i], c, `${path}[${i}]`));
      return;
    }
    if (isPlainObject(s) && d.kind === "object") {
      const spec = s as Record<string, InDim>;
      const bad = Object.keys(spec).filter((k) => !d.keys.includes(k));
      const missing = d.keys.filter((k) => !Object.hasOwn(spec, k));
      if (bad.length > 0 || missing.length > 0) {
        throw new TypeError(
          `vmap: outDims${path} has keys ${
            JSON.stringify(Object.keys(spec))
          } but the output${path} has keys ${JSON.stringify(d.keys)}`,
        );
      }
      d.keys.forEach((k, i) => walk(spec[k], d.children[i], `${path}.${k}`));
      return;
    }
    throw new TypeError(
      `vmap: outDims${path} is ${
        describe(s)
      }, which does not match the output${path}`,
    );
  };
  walk(spec, def, "");
  return out;
}

/**
 * Vectorises `f` over a batch dimension of its arguments: `vmap(f)(xs)`
 * equals stacking `f(xs[i])`, computed in one pass. Composes with every
 * other transform (`vmap(grad(f))`, `vmap(vjpFn)(eye(n))`, `vmap(vmap(f))`).
 *
 * @example
 * ```ts
 * import { randn, vmap } from "./mod.ts";
 * const dot = (a, b) => a.mul(b).sum();
 * const batched = vmap(dot, { inDims: [0, null] });
 * const y = batched(randn([8, 3]), randn([3])); // shape [8]
 * ```
 */
export function vmap<F extends Fn>(
  f: F,
  options: VmapOptions = {},
): (...args: Parameters<F>) => ReturnType<F> {
  if (typeof f !== "function") {
    throw new TypeError(`vmap: expected a function, got ${typeof f}`);
  }
  const { inDims = 0, outDims = 0, chunkSize } = options;
  return ((...args: unknown[]) =>
    withTemporaries(args, () => {
      const specs: readonly InDim[] = Array.isArray(inDims)
        ? inDims
        : args.map(() => inDims as InDim);
      if (specs.length !== args.length) {
        throw new TypeError(
          `vmap: inDims has ${specs.length} entries but the function was called with ${args.length} arguments`,
        );
      }
      const pairs: [Tensor, Dim, string][] = [];
      args.forEach((a, i) => collectDims(a, specs[i], `argument ${i}`, pairs));
      let size = -1, sizeFrom = "";
      const dims = pairs.map(([t, d, path]) => {
        if (d === null) return null;
        const axis = batchAxis(
          d,
          t.ndim,
          `inDims ${d} for ${path} of shape ${fmtShape(t.shape)}`,
        );
        const n = t.shape[axis];
        if (size < 0) {
          [size, sizeFrom] = [n, `${path} has size ${n} along dim ${d}`];
        } else if (n !== size) {
          throw new RangeError(
            `vmap: inDims disagree on the batch size: ${sizeFrom} but ${path} has size ${n} along dim ${d}`,
          );
        }
        return axis;
      });
      if (size < 0) {
        throw new TypeError(
          "vmap: no argument is batched (every inDims entry is null or names no tensor)",
        );
      }
      let outDef: TreeDef | null = null;
      let perLeaf: (number | null)[] | null = null;
      const leaves = pairs.map((p) => p[0]);
      // collectDims visits the leaves in flatten's order.
      const argsDef = flatten(args)[1];
      const outs = vmapFlat(
        "vmap",
        (xs) => {
          const rebuilt = unflatten<unknown[]>(argsDef, xs);
          const [o, def] = flattenOutput(
            "vmap",
            inUserCode(() =>
              (f as unknown as (...a: unknown[]) => unknown)(...rebuilt)
            ),
          );
          outDef = def;
          return o;
        },
        leaves,
        dims,
        size,
        (j, rank) => {
          perLeaf ??= outDimsOf(outDims, outDef!);
          const d = perLeaf[j];
          if (d === null) return null;
          return batchAxis(
            d,
            rank + 1,
            `outDims ${d} for output ${j} (a result of rank ${rank + 1})`,
          );
        },
        chunkSize,
      );
      return unflatten(outDef!, outs);
    })) as (...args: Parameters<F>) => ReturnType<F>;
}
