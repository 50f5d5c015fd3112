/**
 * Custom derivative rules and rematerialisation: `customJvp`, `customVjp`
 * and `checkpoint`. The rules themselves live in src/core/custom_op.ts;
 * this module adds pytrees, argument checks and error messages.
 * @module
 */
import {
  bindCustom,
  CheckpointOp,
  CustomJvpOp,
  CustomVjpOp,
  type FlatBwd,
  type FlatFn,
  type FlatFwd,
  type FlatJvpRule,
} from "../core/custom_op.ts";
import { zerosOf } from "../core/lax.ts";
import { inUserCode, type Tensor } from "../core/tensor.ts";
import {
  flatten,
  sameStructure,
  type TreeDef,
  unflatten,
} from "../core/tree.ts";
import { describe } from "../ops/scalar.ts";
import {
  type AnyArgs,
  checkSync,
  flattenOutput,
  type Fn,
  matchTree,
} from "./args.ts";

function checkFn(what: string, name: string, f: unknown): void {
  if (typeof f !== "function") {
    throw new TypeError(
      `${what}: ${name} must be a function, got ${describe(f)}`,
    );
  }
}

const labelOf = (what: string, f: Fn) => `${what}(${f.name || "anonymous"})`;

/** The output structure of one call, shared by the function and its rules. */
class OutStructure {
  def: TreeDef | null = null;
  constructor(readonly label: string) {}
  set(def: TreeDef, who: string): void {
    if (this.def === null) this.def = def;
    else if (!sameStructure(this.def, def)) {
      throw new TypeError(
        `${this.label}: ${who} returned an output of another structure than the function's`,
      );
    }
  }
}

/** True when some tensor of the call is traced by a transform. */
const traced = (leaves: readonly Tensor[]) =>
  leaves.some((t) => t._trace !== null);

/**
 * The JVP rule of {@link customJvp}: given the primal arguments and one
 * tangent per argument (same structure; tensors only, zeros where a tangent
 * is zero; non-tensor arguments are passed unchanged in both lists), returns
 * `[output, outputTangent]`.
 *
 * @example
 * ```ts
 * import { customJvp, type JvpRule, type Tensor } from "./mod.ts";
 * const rule: JvpRule<(x: Tensor) => Tensor> = ([x], [t]) => [x.sin(), t.mul(x.cos())];
 * const sin = customJvp((x: Tensor) => x.sin(), rule);
 * ```
 */
export type JvpRule<F extends Fn> = (
  primals: Parameters<F>,
  tangents: Parameters<F>,
) => readonly [ReturnType<F>, ReturnType<F>];

/**
 * `f` with a custom derivative (JAX's `custom_jvp`): every transform that
 * differentiates it (`jvp`, `jacfwd`, `grad`, `vjp`, `jacrev`, `hessian`,
 * at any depth, under `vmap` and `jit`) uses `jvpRule` instead of
 * differentiating `f`'s operations. Reverse mode transposes the rule, so the
 * rule must be linear in the tangents (compute with the tangents only through
 * additions, multiplications by values of the primals, sums, reshapes...).
 * Higher derivatives differentiate the rule itself: call the custom function
 * inside its rule to keep its derivative custom at every order. Without any
 * transform, calling it simply runs `f`. Pass every value an enclosing
 * transform traces as an argument: a function or rule that closes over one
 * (JAX would convert the closure; JavaScript's cannot be inspected) is an
 * error that says so. The same holds for `customVjp` and `checkpoint`.
 *
 * @example
 * ```ts
 * import { customJvp, grad, hessian, type Tensor, tensor } from "./mod.ts";
 * // log(1 + eˣ) without overflow, with the derivative sigmoid(x).
 * const softplus = customJvp(
 *   (x: Tensor) => x.relu().add(x.abs().neg().exp().log1p()),
 *   ([x], [t]) => [softplus(x), t.mul(x.sigmoid())],
 * );
 * const x = tensor([-100, 0, 100]);
 * console.log(grad((x: Tensor) => softplus(x).sum())(x)); // tensor([0.0000, 0.5000, 1.0000])
 * const h = hessian((x: Tensor) => softplus(x).sum())(x); // diag(σ(x)(1 − σ(x)))
 * ```
 */
export function customJvp<F extends Fn>(f: F, jvpRule: JvpRule<F>): F {
  checkFn("customJvp", "f", f);
  checkFn("customJvp", "jvpRule", jvpRule);
  const label = labelOf("customJvp", f);
  return ((...args: unknown[]) => {
    const [leaves, argDef] = flatten(args);
    if (!traced(leaves)) return f(...args);
    const out = new OutStructure(label);
    const fn: FlatFn = (xs) => {
      const [o, d] = flattenOutput(
        label,
        inUserCode(() => f(...unflatten<unknown[]>(argDef, xs))),
      );
      out.set(d, "f");
      return o;
    };
    const rule: FlatJvpRule = (ps, ts) => {
      const r = checkSync(
        label,
        inUserCode(() =>
          jvpRule(
            unflatten<Parameters<F>>(argDef, ps),
            unflatten<Parameters<F>>(argDef, ts),
          )
        ),
      );
      if (!Array.isArray(r) || r.length !== 2) {
        throw new TypeError(
          `${label}: the JVP rule must return [output, tangent], got ${
            describe(r)
          }`,
        );
      }
      const [o, d] = flattenOutput(label, r[0]);
      out.set(d, "the JVP rule");
      const t = matchTree(
        label,
        "the JVP rule's tangent",
        "output",
        r[1],
        d,
        o,
      );
      return [o, t];
    };
    const outs = bindCustom(new CustomJvpOp(label, fn, rule), leaves);
    return unflatten(out.def!, outs);
  }) as F;
}

/**
 * The forward pass of {@link customVjp}: called with `f`'s arguments, it
 * returns `[output, residuals]` (residuals: any pytree of tensors, for
 * `bwd`).
 *
 * @example
 * ```ts
 * import { type Tensor, type VjpFwd } from "./mod.ts";
 * const fwd: VjpFwd<(x: Tensor) => Tensor> = (x) => {
 *   const y = x.exp();
 *   return [y, y];
 * };
 * ```
 */
export type VjpFwd<F extends Fn> = (
  ...args: Parameters<F>
) => readonly [ReturnType<F>, unknown];

/**
 * The backward pass of {@link customVjp}: from the residuals and the
 * output's cotangent, an array with one cotangent per argument (a pytree
 * like the argument; `null` for a zero one or a non-tensor argument).
 *
 * @example
 * ```ts
 * import { type Tensor, type VjpBwd } from "./mod.ts";
 * const bwd: VjpBwd<(x: Tensor) => Tensor> = (y, ct) => [ct.mul(y as Tensor)];
 * ```
 */
export type VjpBwd<F extends Fn> = (
  residuals: unknown,
  cotangent: ReturnType<F>,
) => readonly unknown[];

/**
 * `f` with a custom reverse-mode derivative (JAX's `custom_vjp`): `grad`,
 * `vjp`, `jacrev` and `hessian` run `fwd` on the way forward (keeping its
 * residuals) and `bwd` on the way back, at any depth, under `vmap` and
 * `jit`; derivatives of higher order differentiate `fwd` and `bwd`.
 *
 * Forward mode (`jvp`, `jacfwd`, `linearize`'s jvpFn) cannot use `bwd`:
 * unlike JAX, which raises an error there, jacobi then differentiates `f`
 * itself, so forward mode works whenever `f` is differentiable (an error
 * naming the function says when it is not, e.g. when `f` reads values).
 *
 * @example
 * ```ts
 * import { customVjp, grad, type Tensor, tensor } from "./mod.ts";
 * // Straight-through estimator: round forwards, identity backwards.
 * const roundSte = customVjp(
 *   (x: Tensor) => x.round(),
 *   (x: Tensor) => [x.round(), null],
 *   (_res, ct: Tensor) => [ct],
 * );
 * console.log(grad((x: Tensor) => roundSte(x).mul(x).sum())(tensor([0.4, 1.6]))); // x + round(x)
 * ```
 */
export function customVjp<F extends Fn>(
  f: F,
  fwd: VjpFwd<F>,
  bwd: VjpBwd<F>,
): F {
  checkFn("customVjp", "f", f);
  checkFn("customVjp", "fwd", fwd);
  checkFn("customVjp", "bwd", bwd);
  const label = labelOf("customVjp", f);
  return ((...args: AnyArgs) => {
    const [leaves, argDef] = flatten(args);
    if (!traced(leaves)) return f(...args);
    const out = new OutStructure(label);
    let resDef: TreeDef | null = null;
    const fn: FlatFn = (xs) => {
      const [o, d] = flattenOutput(
        label,
        inUserCode(() => f(...unflatten<unknown[]>(argDef, xs))),
      );
      out.set(d, "f");
      return o;
    };
    const flatFwd: FlatFwd = (xs) => {
      const r = checkSync(
        label,
        inUserCode(() => fwd(...unflatten<Parameters<F>>(argDef, xs))),
      );
      if (!Array.isArray(r) || r.length !== 2) {
        throw new TypeError(
          `${label}: fwd must return [output, residuals], got ${describe(r)}`,
        );
      }
      const [o, d] = flattenOutput(label, r[0]);
      out.set(d, "fwd");
      const [res, rd] = flatten(r[1]);
      resDef = rd;
      return [o, res];
    };
    const argLeaves = args.map((a) => flatten(a));
    const flatBwd: FlatBwd = (res, cts) => {
      const r = checkSync(
        label,
        inUserCode(() =>
          bwd(unflatten(resDef!, res), unflatten<ReturnType<F>>(out.def!, cts))
        ),
      );
      if (!Array.isArray(r) || r.length !== args.length) {
        throw new TypeError(
          `${label}: bwd must return an array with one cotangent per argument (${args.length}), got ${
            describe(r)
          }`,
        );
      }
      return argLeaves.flatMap(([ls, d], i) =>
        ls.length === 0
          ? []
          : r[i] === null || r[i] === undefined
          ? ls.map((l) => zerosOf(l))
          : matchTree(label, `bwd's cotangent ${i}`, "argument", r[i], d, ls)
      );
    };
    const op = new CustomVjpOp(label, fn, flatFwd, flatBwd);
    const outs = bindCustom(op, leaves);
    return unflatten(out.def!, outs);
  }) as F;
}

/**
 * What {@link checkpoint} keeps for the backward pass:
 * `"nothingSaveable"` (the default) keeps only the function's inputs and
 * recomputes everything else; `"everythingSaveable"` keeps every
 * intermediate (as if the function were not checkpointed).
 *
 * @example
 * ```ts
 * import { checkpoint, type CheckpointPolicy, type Tensor } from "./mod.ts";
 * const policy: CheckpointPolicy = "nothingSaveable";
 * const layer = checkpoint((x: Tensor) => x.sin().tanh(), { policy });
 * ```
 */
export type CheckpointPolicy = "nothingSaveable" | "everythingSaveable";

/**
 * Options of {@link checkpoint}.
 *
 * @example
 * ```ts
 * import { checkpoint, type CheckpointOptions, type Tensor } from "./mod.ts";
 * const options: CheckpointOptions = { policy: "nothingSaveable" };
 * const layer = checkpoint((x: Tensor) => x.sin(), options);
 * ```
 */
export interface CheckpointOptions {
  /** What to keep for the backward pass (default `"nothingSaveable"`). */
  policy?: CheckpointPolicy;
}

/**
 * `f` rematerialised (JAX's `checkpoint`/`remat`): reverse mode keeps only
 * `f`'s inputs, and the backward pass recomputes `f`'s intermediates (it
 * linearizes `f` again) when it reaches it. Values are unchanged; memory
 * trades for one more forward pass of `f`. Checkpointing every √N layers of
 * an N-layer chain keeps about √N layers' worth of values instead of N.
 * Works under `grad`, `vjp`, `jacrev`, `hessian`, forward mode, `vmap` and
 * `jit`. At the top level (a `grad` or `vjp` call on concrete values) the
 * intermediates of `f` are freed as soon as they are not needed; inside
 * `jit`, the compiled program recomputes them in the backward pass and its
 * memory plan frees them after their last use.
 *
 * Inside transforms `f` runs as library code: tensors it makes are
 * temporaries, freed when no longer needed, so `f` must not store them
 * outside itself.
 *
 * @example
 * ```ts
 * import { checkpoint, grad, type Tensor, tensor } from "./mod.ts";
 * const block = checkpoint((x: Tensor) => x.sin().mul(2).tanh());
 * const g = grad((x: Tensor) => block(block(x)).sum())(tensor([0.1, 0.2]));
 * ```
 */
export function checkpoint<F extends Fn>(
  f: F,
  options: CheckpointOptions = {},
): F {
  checkFn("checkpoint", "f", f);
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `checkpoint: options must be an object, got ${describe(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (k !== "policy") {
      throw new TypeError(
        `checkpoint: unknown option ${JSON.stringify(k)} (expected policy)`,
      );
    }
  }
  const { policy = "nothingSaveable" } = options;
  if (policy !== "nothingSaveable" && policy !== "everythingSaveable") {
    throw new TypeError(
      `checkpoint: policy must be "nothingSaveable" or "everythingSaveable", got ${
        describe(policy)
      }`,
    );
  }
  if (policy === "everythingSaveable") return f;
  const label = labelOf("checkpoint", f);
  return ((...args: unknown[]) => {
    const [leaves, argDef] = flatten(args);
    if (!traced(leaves)) return f(...args);
    let outDef: TreeDef | null = null;
    const fn: FlatFn = (xs) => {
      const [o, d] = flattenOutput(
        label,
        f(...unflatten<unknown[]>(argDef, xs)),
      );
      outDef ??= d;
      return o;
    };
    const outs = bindCustom(new CheckpointOp(label, fn), leaves);
    return unflatten(outDef!, outs);
  }) as F;
}
