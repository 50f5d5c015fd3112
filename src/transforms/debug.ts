/**
 * `debug.print` and `debug.callback`: see actual values from inside `grad`,
 * `vmap` and `jit` (a tensor printed inside a transform otherwise shows only
 * its shape and dtype).
 * @module
 */
import { debugCallbackFlat } from "../core/debug.ts";
import { formatTensor } from "../core/format.ts";
import type { Tensor } from "../core/tensor.ts";
import { flatten, unflatten } from "../core/tree.ts";
import { describe } from "../ops/scalar.ts";

/**
 * Calls `fn(...values)` with the actual values of `values` (tensors or
 * pytrees of them; other values are passed as they are), wherever it runs:
 * - under `grad`, `jvp`, `jacrev`, `jacfwd` and `hessian`: with the primal
 *   values (derivatives are not shown);
 * - under `vmap`: once per batch entry, in order, with that entry's values
 *   (never with the batched value);
 * - under `jit`: when the compiled function runs, on every call (never
 *   while it is traced), with that call's values.
 * Outside any transform it is called at once. `fn` returns nothing that
 * is used; it may keep the tensors it gets. With no tensor among
 * `values`, under `jit` it runs once per call of the compiled function.
 *
 * @example
 * ```ts
 * import { debug, grad, jit, tensor, type Tensor } from "./mod.ts";
 * const seen: number[][] = [];
 * const f = (x: Tensor) => {
 *   debug.callback((v: Tensor) => seen.push(Array.from(v.data())), x.sin());
 *   return x.sin().sum();
 * };
 * grad(f)(tensor([0, 1]));
 * jit(f)(tensor([0, 1])); // at run time: seen has two entries
 * ```
 */
export function callback(
  fn: (...values: never[]) => unknown,
  ...values: unknown[]
): void {
  if (typeof fn !== "function") {
    throw new TypeError(
      `debug.callback: fn must be a function, got ${describe(fn)}`,
    );
  }
  const [leaves, def] = flatten(values);
  debugCallbackFlat((xs) => {
    (fn as (...v: unknown[]) => unknown)(...unflatten<unknown[]>(def, xs));
  }, leaves);
}

/**
 * Prints `fmt` with each `{}` replaced by the next value (or `{0}`, `{1}`,
 * ... by that value), as `console.log` does, with the actual values from
 * inside `grad`, `vmap` (one line per batch entry) and `jit` (on every call,
 * when it runs): see {@link callback}.
 *
 * @example
 * ```ts
 * import { debug, jit, tensor, type Tensor, vmap } from "./mod.ts";
 * const f = (x: Tensor) => {
 *   debug.print("x = {}, sum = {}", x, x.sum());
 *   return x.mul(2);
 * };
 * jit(f)(tensor([1, 2])); // x = tensor([1., 2.]), sum = tensor(3.)
 * vmap(f)(tensor([[1, 2], [3, 4]])); // one line per row
 * ```
 */
export function print(fmt: string, ...values: unknown[]): void {
  if (typeof fmt !== "string") {
    throw new TypeError(
      `debug.print: fmt must be a string, got ${describe(fmt)}`,
    );
  }
  callback((...vs: unknown[]) => {
    console.log(formatDebug(fmt, vs));
  }, ...values);
}

function text(v: unknown): string {
  if (v !== null && typeof v === "object" && "shape" in v && "dtype" in v) {
    return formatTensor(v as Tensor);
  }
  if (Array.isArray(v)) return `[${v.map(text).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    return `{ ${
      Object.entries(v).map(([k, x]) => `${k}: ${text(x)}`).join(", ")
    } }`;
  }
  return String(v);
}

/** `fmt` with `{}` / `{i}` replaced by the values' text. */
export function formatDebug(fmt: string, values: readonly unknown[]): string {
  let next = 0;
  return fmt.replace(/\{(\d*)\}/g, (whole, i: string) => {
    const k = i === "" ? next++ : Number(i);
    return k < values.length ? text(values[k]) : whole;
  });
}
