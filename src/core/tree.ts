/**
 * Pytrees: arrays and plain objects whose leaves are tensors. Anything else
 * (numbers, strings, null) is kept as a constant of the structure, which is
 * how plain numbers in arguments are treated as constants.
 * @module
 */
import { Tensor } from "./tensor.ts";

/**
 * A tensor, or arrays / plain objects of them (other values are constants).
 *
 * @example
 * ```ts
 * import { grad, type Tensor, tensor } from "./mod.ts";
 * const params = { w: tensor([1, 2]), b: tensor(0.5) };
 * const loss = (p: { w: Tensor; b: Tensor }) => p.w.square().sum().add(p.b);
 * const g = grad(loss)(params); // { w: tensor([2., 4.]), b: tensor(1.) }
 * ```
 */
export type Tree =
  | Tensor
  | readonly Tree[]
  | { readonly [key: string]: Tree }
  | number
  | string
  | boolean
  | null
  | undefined;

/** The shape of a pytree without its tensors. */
export type TreeDef =
  | { readonly kind: "leaf" }
  | { readonly kind: "const"; readonly value: unknown }
  | { readonly kind: "array"; readonly children: readonly TreeDef[] }
  | {
    readonly kind: "object";
    readonly keys: readonly string[];
    readonly children: readonly TreeDef[];
  };

/** True for `{...}` objects (the pytree nodes), not arrays, tensors or class instances. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** The structure of every tensor leaf (one object: structures are never changed). */
const LEAF: TreeDef = Object.freeze({ kind: "leaf" });

function walk(x: unknown, leaves: Tensor[]): TreeDef {
  if (x instanceof Tensor) {
    leaves.push(x);
    return LEAF;
  }
  if (Array.isArray(x)) {
    const children = new Array<TreeDef>(x.length);
    for (let i = 0; i < x.length; i++) children[i] = walk(x[i], leaves);
    return { kind: "array", children };
  }
  if (isPlainObject(x)) {
    const keys = Object.keys(x);
    const children = new Array<TreeDef>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      children[i] = walk(x[keys[i]], leaves);
    }
    return { kind: "object", keys, children };
  }
  return { kind: "const", value: x };
}

/** Leaves (tensors, depth first) and the structure to rebuild the tree. */
export function flatten(tree: unknown): [Tensor[], TreeDef] {
  const leaves: Tensor[] = [];
  const def = walk(tree, leaves);
  return [leaves, def];
}

function build(
  d: TreeDef,
  leaves: readonly unknown[],
  at: { i: number },
): unknown {
  switch (d.kind) {
    case "leaf":
      return leaves[at.i++];
    case "const":
      return d.value;
    case "array": {
      const out = new Array<unknown>(d.children.length);
      for (let j = 0; j < out.length; j++) {
        out[j] = build(d.children[j], leaves, at);
      }
      return out;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      for (let j = 0; j < d.keys.length; j++) {
        out[d.keys[j]] = build(d.children[j], leaves, at);
      }
      return out;
    }
  }
}

/** Rebuilds a tree of the structure `def` from `leaves`. */
export function unflatten<T = unknown>(
  def: TreeDef,
  leaves: readonly unknown[],
): T {
  if (def.kind === "leaf") return leaves[0] as T;
  return build(def, leaves, { i: 0 }) as T;
}

/** Number of tensor leaves of a structure. */
export function leafCount(def: TreeDef): number {
  switch (def.kind) {
    case "leaf":
      return 1;
    case "const":
      return 0;
    default:
      return def.children.reduce((n, c) => n + leafCount(c), 0);
  }
}

/** Same structure (keys, lengths, constants ignored)? */
export function sameStructure(a: TreeDef, b: TreeDef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "array" && b.kind === "array") {
    return a.children.length === b.children.length &&
      a.children.every((c, i) => sameStructure(c, b.children[i]));
  }
  if (a.kind === "object" && b.kind === "object") {
    return a.keys.length === b.keys.length && a.keys.every((k, i) =>
      k === b.keys[i]
    ) &&
      a.children.every((c, i) => sameStructure(c, b.children[i]));
  }
  return true;
}

/**
 * True when `test` holds for every tensor of the tree (depth first; stops
 * at the first that fails), without building its structure.
 */
export function everyLeaf(
  tree: unknown,
  test: (t: Tensor) => boolean,
): boolean {
  if (tree instanceof Tensor) return test(tree);
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) {
      if (!everyLeaf(tree[i], test)) return false;
    }
    return true;
  }
  if (isPlainObject(tree)) {
    for (const k of Object.keys(tree)) {
      if (!everyLeaf(tree[k], test)) return false;
    }
  }
  return true;
}

/** Maps the tensors of a tree. */
export function mapTree<T = unknown>(
  tree: unknown,
  f: (t: Tensor, i: number) => unknown,
): T {
  // (A lone tensor, the common case, needs no structure; a value that
  // cannot hold one is itself.)
  if (tree instanceof Tensor) return f(tree, 0) as T;
  if (tree === null || typeof tree !== "object") return tree as T;
  return mapLeaves(tree, f, { i: 0 }) as T;
}

/** {@link mapTree} in one pass: the leaves in flatten's order, no structure built. */
function mapLeaves(
  x: unknown,
  f: (t: Tensor, i: number) => unknown,
  at: { i: number },
): unknown {
  if (x instanceof Tensor) return f(x, at.i++);
  if (Array.isArray(x)) {
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) out[i] = mapLeaves(x[i], f, at);
    return out;
  }
  if (isPlainObject(x)) {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(x);
    for (let i = 0; i < keys.length; i++) {
      out[keys[i]] = mapLeaves(x[keys[i]], f, at);
    }
    return out;
  }
  return x;
}
