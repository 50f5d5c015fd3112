/**
 * Pytree utilities (`tree.map`, `tree.leaves`, `tree.flatten`,
 * `tree.unflatten`, `tree.structure`) with the same rules as the transforms:
 * tensors are the leaves; arrays and plain objects are nodes (object keys in
 * insertion order); anything else (numbers, strings, null, undefined,
 * instances of other classes) is a constant of the structure, kept as is.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import {
  flatten as flattenTree,
  leafCount,
  sameStructure,
  type TreeDef,
  unflatten as unflattenTree,
} from "../core/tree.ts";
import { describe } from "../ops/scalar.ts";

export type { TreeDef };

/**
 * The tensor leaves of a tree, depth first (arrays in order, objects in key
 * order).
 *
 * @example
 * ```ts
 * import { tensor, tree } from "./mod.ts";
 * const xs = tree.leaves({ w: tensor([1, 2]), layers: [tensor(3), "relu"] }); // 2 tensors
 * ```
 */
export function leaves(tree: unknown): Tensor[] {
  return flattenTree(tree)[0];
}

/**
 * The leaves of a tree and its structure (a {@link TreeDef}), from which
 * {@link unflatten} rebuilds it.
 *
 * @example
 * ```ts
 * import { tensor, tree } from "./mod.ts";
 * const [xs, def] = tree.flatten({ a: tensor(1), b: [tensor(2), tensor(3)] });
 * const doubled = tree.unflatten(def, xs.map((x) => x.mul(2)));
 * ```
 */
export function flatten(tree: unknown): [Tensor[], TreeDef] {
  return flattenTree(tree);
}

/**
 * The structure of a tree without its tensors (compare two with
 * `JSON.stringify`, or rebuild with {@link unflatten}).
 *
 * @example
 * ```ts
 * import { tensor, tree } from "./mod.ts";
 * const s = tree.structure([tensor(1), { b: tensor(2) }]);
 * console.log(JSON.stringify(s) === JSON.stringify(tree.structure([tensor(5), { b: tensor(6) }]))); // true
 * ```
 */
export function structure(tree: unknown): TreeDef {
  return flattenTree(tree)[1];
}

/**
 * Rebuilds a tree of structure `def` from `leaves` (as many as the
 * structure has; any values, not only tensors).
 *
 * @example
 * ```ts
 * import { tensor, tree } from "./mod.ts";
 * const def = tree.structure({ w: tensor([1, 2]), b: tensor(0) });
 * const zeros = tree.unflatten(def, [tensor([0, 0]), tensor(0)]); // { w, b }
 * ```
 */
export function unflatten<T = unknown>(
  def: TreeDef,
  leaves: readonly unknown[],
): T {
  if (!Array.isArray(leaves)) {
    throw new TypeError(
      `tree.unflatten: leaves must be an array, got ${describe(leaves)}`,
    );
  }
  const n = leafCount(def);
  if (leaves.length !== n) {
    throw new RangeError(
      `tree.unflatten: the structure has ${n} leaves but ${leaves.length} were given`,
    );
  }
  return unflattenTree<T>(def, leaves);
}

/**
 * Applies `f` to every tensor leaf of `tree` (and the leaves at the same
 * places of `rest`, which must have the same structure), keeping the
 * structure and its constants (those of `tree`).
 *
 * @example
 * ```ts
 * import { tensor, tree } from "./mod.ts";
 * const params = { w: tensor([1, 2]), b: tensor(0.5) };
 * const grads = { w: tensor([0.1, 0.1]), b: tensor(1) };
 * const next = tree.map((p, g) => p.sub(g.mul(0.1)), params, grads); // { w, b }
 * ```
 */
export function map<T = unknown>(
  f: (leaf: Tensor, ...rest: Tensor[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): T {
  if (typeof f !== "function") {
    throw new TypeError(`tree.map: expected a function, got ${describe(f)}`);
  }
  const [xs, def] = flattenTree(tree);
  const others = rest.map((r, i) => {
    const [ys, d] = flattenTree(r);
    if (!sameStructure(def, d)) {
      throw new TypeError(
        `tree.map: tree ${i + 1} has another structure than tree 0: ${
          JSON.stringify(d)
        } vs ${JSON.stringify(def)}`,
      );
    }
    return ys;
  });
  return unflattenTree<T>(
    def,
    xs.map((x, j) => f(x, ...others.map((ys) => ys[j]))),
  );
}
