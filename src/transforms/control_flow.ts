/**
 * Control flow that transforms and `jit` see as one primitive each
 * (JAX's `lax.scan`, `lax.cond`, `lax.switch`, `lax.while_loop`,
 * `lax.fori_loop`): the body is traced once into a sub-program, so a
 * 1,000-step loop under `jit` compiles one step, not 1,000. Carries,
 * operands and stacked inputs are pytrees of tensors.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import { fromArray } from "../backend/storage.ts";
import { fmtShape } from "../core/shape.ts";
import type { Aval } from "../core/ir.ts";
import { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import {
  flatten,
  sameStructure,
  type TreeDef,
  unflatten,
} from "../core/tree.ts";
import { withTemporaries } from "../core/scope.ts";
import { stageBranches, stageClosed, unpack } from "../core/control.ts";
import { sameAval, scanOutAvals } from "../core/rules/control_shape.ts";
import type { PrimParams } from "../core/primitives.ts";
import { describe } from "../ops/scalar.ts";
import type { Fn } from "./args.ts";

const fmt = (a: Aval) => `${a.dtype}${fmtShape(a.shape)}`;
const avalOf = (t: Aval): Aval => ({ shape: t.shape, dtype: t.dtype });

/** Checks that `got` (a body's result) matches `want` in structure, shapes and dtypes. */
function checkSame(
  name: string,
  what: string,
  wantDef: TreeDef,
  want: readonly Aval[],
  gotDef: TreeDef,
  got: readonly Aval[],
  wantWhat: string,
): void {
  const same = sameStructure(wantDef, gotDef) && got.length === want.length &&
    got.every((a, i) => sameAval(a, want[i]));
  if (same) return;
  const list = (xs: readonly Aval[]) => `(${xs.map(fmt).join(", ")})`;
  const bad = got.findIndex((a, i) => i < want.length && !sameAval(a, want[i]));
  const detail = !sameStructure(wantDef, gotDef) || got.length !== want.length
    ? `a different pytree structure (${got.length} tensor leaves ${
      list(got)
    } vs ${want.length} ${
      list(want)
    }; plain numbers are not leaves, pass tensors)`
    : `leaf ${bad} is ${fmt(got[bad])} but ${wantWhat} has ${fmt(want[bad])}`;
  throw new TypeError(
    `${name}: ${what} must match ${wantWhat} in structure, shapes and dtypes: ${detail}`,
  );
}

/** A rank-0 index operand from a tensor or a number. */
function indexOperand(name: string, what: string, x: unknown): Tensor {
  if (typeof x === "number" || typeof x === "boolean") {
    return Tensor._fromStorage(
      fromArray("float32", [Number(x)]),
      [],
      "float32",
    );
  }
  if (!(x instanceof Tensor) || x.ndim !== 0) {
    throw new TypeError(
      `${name}: ${what} must be a rank-0 tensor, a number or a boolean, got ${
        describe(x)
      }`,
    );
  }
  return x;
}

function checkFn(name: string, what: string, f: unknown): void {
  if (typeof f !== "function") {
    throw new TypeError(
      `${name}: ${what} must be a function, got ${describe(f)}`,
    );
  }
}

/**
 * Options of {@link scan}.
 *
 * @example
 * ```ts
 * import { scan, type Tensor, tensor } from "./mod.ts";
 * // Counts down: xs are visited last to first (a running sum from the end).
 * const [, ys] = scan((c: Tensor, x: Tensor) => [c.add(x), c.add(x)], tensor(0), tensor([1, 2, 3]), {
 *   reverse: true,
 * }); // ys: [6, 5, 3]
 * ```
 */
export interface ScanOptions {
  /** The number of steps; required when `xs` has no tensor, else it must equal their leading dim. */
  length?: number;
  /** Visit the steps last to first (the ys are still stacked in index order). */
  reverse?: boolean;
  /**
   * Steps per iteration of the compiled loop (JAX's `unroll`), a positive
   * integer. Accepted for compatibility and recorded in the program; the
   * executor does not unroll (its loop costs one jump per step, with
   * nothing per step for unrolling to amortise), so it changes neither
   * results nor speed. Default 1.
   */
  unroll?: number;
}

/**
 * Loops `f` over the leading axis of `xs`, threading a carry (JAX's
 * `lax.scan`): `[carry, y] = f(carry, x)` for each step, returning the
 * final carry and the `y`s stacked along a new leading axis. `init`, `xs`
 * and what `f` returns are pytrees of tensors; the carry `f` returns must
 * match `init` in structure, shapes and dtypes. `f` is traced once into a
 * sub-program: under `jit` the loop compiles one step whatever its length,
 * and `grad`, `jvp`, `vmap`, `hessian` and `jit` apply to the whole loop
 * (reverse mode stores each step's residuals and runs the transposed step
 * backwards).
 *
 * @example
 * ```ts
 * import { grad, scan, tensor, type Tensor } from "./mod.ts";
 * // Cumulative sum: the carry is the running total, each y the total so far.
 * const [total, sums] = scan((c: Tensor, x: Tensor) => [c.add(x), c.add(x)], tensor(0), tensor([1, 2, 3]));
 * // total: 6, sums: [1, 3, 6]
 * // A 100-step recurrence, differentiated through the loop.
 * const g = grad((a: Tensor) => scan((c: Tensor) => [c.mul(a).add(1), null], tensor(0), null, { length: 100 })[0])(tensor(0.5));
 * ```
 */
export function scan<C, X, Y>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs?: X,
  options: ScanOptions = {},
): [C, Y] {
  checkFn("scan", "f", f);
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `scan: options must be an object, got ${describe(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (k !== "length" && k !== "reverse" && k !== "unroll") {
      throw new TypeError(
        `scan: unknown option ${
          JSON.stringify(k)
        } (expected length, reverse or unroll)`,
      );
    }
  }
  const { reverse = false, unroll = 1 } = options;
  if (typeof reverse !== "boolean") {
    throw new TypeError(
      `scan: reverse must be a boolean, got ${describe(reverse)}`,
    );
  }
  if (!Number.isInteger(unroll) || unroll < 1) {
    throw new RangeError(
      `scan: unroll must be a positive integer, got ${describe(unroll)}`,
    );
  }
  const [initLeaves, initDef] = flatten(init);
  const [xLeaves, xDef] = flatten(xs);
  let length = options.length;
  if (length !== undefined && (!Number.isInteger(length) || length < 0)) {
    throw new RangeError(
      `scan: length must be a nonnegative integer, got ${describe(length)}`,
    );
  }
  xLeaves.forEach((x, i) => {
    if (x.ndim === 0) {
      throw new TypeError(
        `scan: xs leaf ${i} is a rank-0 tensor; xs are stacked along their leading axis, so each needs one`,
      );
    }
    if (length === undefined) length = x.shape[0];
    else if (x.shape[0] !== length) {
      throw new TypeError(
        `scan: xs leaf ${i} has leading dim ${x.shape[0]} (shape ${
          fmtShape(x.shape)
        }) but ${
          options.length === undefined ? "xs leaf 0 has" : "length is"
        } ${length}; every xs leaf is stacked along its leading axis over the same steps`,
      );
    }
  });
  if (length === undefined) {
    throw new TypeError(
      "scan: the number of steps is unknown: xs has no tensor, so pass { length }",
    );
  }
  const L = length;
  const nK = initLeaves.length;
  const carryAvals = initLeaves.map(avalOf);
  const xAvals = xLeaves.map((x) => ({
    shape: x.shape.slice(1),
    dtype: x.dtype,
  }));
  let yDef: TreeDef | undefined;
  return withTemporaries([init, xs], () => {
    const body = stageClosed("scan", [...carryAvals, ...xAvals], (ins) => {
      const out = f(
        unflatten<C>(initDef, ins.slice(0, nK)),
        unflatten<X>(xDef, ins.slice(nK)),
      );
      if (!Array.isArray(out) || out.length !== 2) {
        throw new TypeError(
          `scan: f must return a pair [carry, y], got ${describe(out)}`,
        );
      }
      const [cl, cd] = flatten(out[0]);
      const [yl, yd] = flatten(out[1]);
      checkSame(
        "scan",
        "the carry f returns",
        initDef,
        carryAvals,
        cd,
        cl.map(avalOf),
        "init",
      );
      yDef = yd;
      return [...cl, ...yl];
    }, true);
    const params: PrimParams["scan"] = {
      body: body.program,
      nConsts: body.consts.length,
      nCarry: nK,
      length: L,
      reverse,
      unroll,
      linear: null,
    };
    const outs = unpack(
      bind("scan", [...body.consts, ...initLeaves, ...xLeaves], params),
      scanOutAvals(params),
    );
    return [
      unflatten<C>(initDef, outs.slice(0, nK)),
      unflatten<Y>(yDef!, outs.slice(nK)),
    ] as [C, Y];
  });
}

function switchImpl<R>(
  name: string,
  index: Tensor,
  fns: readonly Fn[],
  labels: readonly string[],
  operands: readonly unknown[],
): R {
  const [leaves, def] = flatten(operands);
  const defs: TreeDef[] = [];
  return withTemporaries([index, operands], () => {
    const staged = stageBranches(
      name,
      leaves.map(avalOf),
      fns.map((fn, j) => (ins) => {
        const [l, d] = flatten(
          fn(...unflatten<unknown[]>(def, ins)),
        );
        defs[j] = d;
        return l;
      }),
      true,
    );
    const outs0 = staged.programs[0].outputAvals;
    staged.programs.forEach((p, j) => {
      if (j === 0) return;
      checkSame(
        name,
        `what ${labels[j]} returns`,
        defs[0],
        outs0,
        defs[j],
        p.outputAvals,
        `what ${labels[0]} returns`,
      );
    });
    const outs = unpack(
      bind("cond", [index, ...staged.consts, ...leaves], {
        branches: staged.programs,
        linear: null,
      }),
      outs0,
    );
    return unflatten<R>(defs[0], outs);
  });
}

/**
 * Calls `trueFn(...operands)` if `pred` is true (nonzero), else
 * `falseFn(...operands)` (JAX's `lax.cond`), as one primitive: under
 * `jit` and other transforms both branches are traced and the choice is
 * made when the program runs. Both must return the same pytree structure,
 * shapes and dtypes. Under `vmap` with a batched `pred`, both branches run
 * and each batch entry selects its result. Differentiable in both modes.
 *
 * @example
 * ```ts
 * import { cond, jit, tensor, type Tensor } from "./mod.ts";
 * const relu1 = jit((x: Tensor) => cond(x.gt(0), (v: Tensor) => v, (v: Tensor) => v.mul(0.1), x));
 * relu1(tensor(2)); // 2
 * relu1(tensor(-2)); // -0.2
 * ```
 */
export function cond<A extends unknown[], R>(
  pred: Tensor | boolean | number,
  trueFn: (...operands: A) => R,
  falseFn: (...operands: A) => R,
  ...operands: A
): R {
  checkFn("cond", "trueFn", trueFn);
  checkFn("cond", "falseFn", falseFn);
  let index = indexOperand("cond", "pred", pred);
  if (index.dtype === "int32") {
    index = bind("cast", [index], { dtype: "float32" });
  }
  // Branch 1 (true) where pred is nonzero.
  index = bind("ne", [index, zeroLike(index.dtype)], null);
  return switchImpl(
    "cond",
    index,
    [falseFn as Fn, trueFn as Fn],
    ["falseFn", "trueFn"],
    operands,
  );
}

function zeroLike(dtype: DType): Tensor {
  return Tensor._fromStorage(fromArray(dtype, [0]), [], dtype);
}

/**
 * Calls `branches[index](...operands)` (JAX's `lax.switch`), as one
 * primitive; `index` is clamped to the branches (a fractional index is
 * truncated). Every branch must return the same pytree structure, shapes
 * and dtypes. Under `vmap` with a batched index, every branch runs and each
 * batch entry selects its result.
 *
 * @example
 * ```ts
 * import { switchCase, tensor, type Tensor } from "./mod.ts";
 * const f = (i: number, x: Tensor) =>
 *   switchCase(i, [(v: Tensor) => v.sin(), (v: Tensor) => v.cos(), (v: Tensor) => v.neg()], x);
 * f(2, tensor([1, 2])); // [-1, -2]
 * ```
 */
export function switchCase<A extends unknown[], R>(
  index: Tensor | number,
  branches: readonly ((...operands: A) => R)[],
  ...operands: A
): R {
  if (!Array.isArray(branches) || branches.length === 0) {
    throw new TypeError(
      `switchCase: branches must be a nonempty array of functions, got ${
        describe(branches)
      }`,
    );
  }
  branches.forEach((b, j) => checkFn("switchCase", `branches[${j}]`, b));
  const i = indexOperand("switchCase", "index", index);
  return switchImpl(
    "switchCase",
    i,
    branches as readonly Fn[],
    branches.map((_, j) => `branches[${j}]`),
    operands,
  );
}

/**
 * Repeats `carry = bodyFn(carry)` while `condFn(carry)` is true (nonzero)
 * (JAX's `lax.while_loop`), as one primitive whose body is traced once.
 * `init` is a pytree of tensors; `bodyFn` must return the same structure,
 * shapes and dtypes, and `condFn` a rank-0 tensor. Forward mode (`jvp`,
 * `jacfwd`) works; reverse mode throws, as in JAX (the number of steps is
 * unknown before the loop runs): use {@link scan} or {@link forLoop} with
 * number bounds instead. Under `vmap` with a batched predicate the loop
 * runs until every batch entry is done, and finished entries keep their
 * value.
 *
 * @example
 * ```ts
 * import { tensor, type Tensor, whileLoop } from "./mod.ts";
 * // Doubles x until it exceeds 100.
 * const y = whileLoop((x: Tensor) => x.le(100), (x: Tensor) => x.mul(2), tensor(3)); // 192
 * ```
 */
export function whileLoop<C>(
  condFn: (carry: C) => Tensor,
  bodyFn: (carry: C) => C,
  init: C,
): C {
  checkFn("whileLoop", "condFn", condFn);
  checkFn("whileLoop", "bodyFn", bodyFn);
  const [leaves, def] = flatten(init);
  const avals = leaves.map(avalOf);
  return withTemporaries([init], () => {
    const c = stageClosed("whileLoop (cond)", avals, (ins) => {
      const r = condFn(unflatten<C>(def, ins));
      if (!(r instanceof Tensor) || r.ndim !== 0) {
        throw new TypeError(
          `whileLoop: condFn must return a rank-0 tensor, got ${describe(r)}`,
        );
      }
      return [r];
    }, true);
    const b = stageClosed("whileLoop (body)", avals, (ins) => {
      const [l, d] = flatten(bodyFn(unflatten<C>(def, ins)));
      checkSame(
        "whileLoop",
        "what bodyFn returns",
        def,
        avals,
        d,
        l.map(avalOf),
        "init",
      );
      return l;
    }, true);
    const out = bind("while", [...c.consts, ...b.consts, ...leaves], {
      cond: c.program,
      body: b.program,
      nCondConsts: c.consts.length,
      nBodyConsts: b.consts.length,
    });
    return unflatten<C>(def, unpack(out, avals));
  });
}

/**
 * `for (i = lower; i < upper; i++) carry = bodyFn(i, carry)` (JAX's
 * `lax.fori_loop`), with `i` an int32 rank-0 tensor (convert with
 * `i.to("float32")` for arithmetic). With numbers as bounds it is a
 * {@link scan} (differentiable in both modes); with tensor bounds a
 * {@link whileLoop} (forward mode only).
 *
 * @example
 * ```ts
 * import { forLoop, grad, tensor, type Tensor } from "./mod.ts";
 * // x^(2^5) by five squarings, and its derivative.
 * const f = (x: Tensor) => forLoop(0, 5, (_i: Tensor, c: Tensor) => c.square(), x);
 * f(tensor(1.1)); // 1.1^32
 * grad(f)(tensor(1.1)); // 32 * 1.1^31
 * ```
 */
export function forLoop<C>(
  lower: number | Tensor,
  upper: number | Tensor,
  bodyFn: (i: Tensor, carry: C) => C,
  init: C,
): C {
  checkFn("forLoop", "bodyFn", bodyFn);
  if (typeof lower === "number" && typeof upper === "number") {
    if (!Number.isInteger(lower) || !Number.isInteger(upper)) {
      throw new RangeError(
        `forLoop: number bounds must be integers, got ${lower} and ${upper}`,
      );
    }
    const n = Math.max(0, upper - lower);
    const idx = new Int32Array(n);
    for (let k = 0; k < n; k++) idx[k] = lower + k;
    const is = Tensor._fromStorage(fromArray("int32", idx), [n], "int32");
    return scan((c: C, i: Tensor) => [bodyFn(i, c), null], init, is)[0];
  }
  const bound = (x: unknown, what: string): Tensor => {
    const t = indexOperand("forLoop", what, x);
    return t.dtype === "float64" ? t : bind("cast", [t], { dtype: "float64" });
  };
  const lo = bound(lower, "lower"), hi = bound(upper, "upper");
  const [, out] = whileLoop(
    ([i]: [Tensor, C]) => bind("lt", [i, hi], null),
    ([i, c]: [Tensor, C]) =>
      [
        bind("add", [i, one()], null),
        bodyFn(bind("cast", [i], { dtype: "int32" }), c),
      ] as [Tensor, C],
    [lo, init] as [Tensor, C],
  );
  return out;
}

function one(): Tensor {
  return Tensor._fromStorage(fromArray("float64", [1]), [], "float64");
}
