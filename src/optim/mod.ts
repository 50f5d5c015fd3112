/**
 * Optimizers as pure functions over pytrees, in the style of optax: an
 * optimizer is `{ init, update }`; `init(params)` makes its state (a pytree
 * of tensors, the step count a float64 scalar tensor), and
 * `update(grads, state, params)` returns `[updates, newState]`, where the
 * updates are added to the parameters by `applyUpdates` (they already carry
 * the minus sign and the learning rate). Nothing is mutated and every
 * quantity is a tensor, so a whole training step can be `jit`ted: the
 * state goes in and out as arguments, and a schedule sees the step tensor.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { Tensor } from "../core/tensor.ts";
import { flatten, mapTree } from "../core/tree.ts";
import {
  add,
  div,
  maximum,
  mul,
  pow,
  sqrt,
  square,
  sub,
} from "../ops/elementwise.ts";
import { cast } from "../ops/layout.ts";
import { full, zerosLike } from "../ops/creation.ts";
import { sum } from "../ops/reduce.ts";
import { describe } from "../ops/scalar.ts";
import type { Schedule } from "./schedules.ts";

export * as schedules from "./schedules.ts";
export {
  type Lbfgs,
  lbfgs,
  type LbfgsExtra,
  type LbfgsOptions,
  type LbfgsState,
} from "./lbfgs.ts";
export type {
  CosineOptions,
  ExponentialOptions,
  Schedule,
  WarmupCosineOptions,
} from "./schedules.ts";

/**
 * An optimizer (optax's `GradientTransformation`): `init` makes the state
 * from the parameters, `update` turns gradients into updates and the next
 * state. Parameters, gradients and updates are pytrees of the same
 * structure.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "./mod.ts";
 * const opt: optim.Optimizer = optim.sgd({ lr: 0.1 });
 * const params = { w: tensor([1, 2]) };
 * let state = opt.init(params);
 * const [updates, next] = opt.update({ w: tensor([1, 1]) }, state, params);
 * ```
 */
export interface Optimizer<S = unknown> {
  /** The initial state for these parameters. */
  init(params: unknown): S;
  /** `[updates, newState]` from the gradients (and the parameters, which `adamw` needs). */
  update<T>(grads: T, state: S, params?: T): [T, S];
}

/**
 * A learning rate: a number, or a schedule of the step count.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const fixed: optim.LearningRate = 1e-3;
 * const decayed: optim.LearningRate = optim.schedules.cosine({ initValue: 1e-3, decaySteps: 1000 });
 * ```
 */
export type LearningRate = number | Schedule;

/** The step count: a float64 scalar, so that it can be a jit argument and feed schedules. */
const newCount = () => full([], 0, { dtype: "float64" });

function checkLr(what: string, lr: unknown): LearningRate {
  if (typeof lr === "function") return lr as Schedule;
  if (typeof lr !== "number" || !Number.isFinite(lr)) {
    throw new TypeError(
      `${what}: lr must be a number or a schedule function, got ${
        describe(lr)
      }`,
    );
  }
  return lr;
}

function checkRange(
  what: string,
  name: string,
  v: number,
  lo: number,
  hi: number,
): number {
  if (typeof v !== "number" || !(v >= lo && v < hi)) {
    throw new RangeError(
      `${what}: ${name} must be in [${lo}, ${hi}), got ${describe(v)}`,
    );
  }
  return v;
}

/** `x · s`, with a tensor scalar `s` cast to x's dtype. */
function scaleBy(x: Tensor, s: number | Tensor): Tensor {
  return mul(x, s instanceof Tensor ? cast(s, x.dtype) : s);
}

/** The learning rate at `count` (number or float64 tensor). */
function lrAt(lr: LearningRate, count: Tensor): number | Tensor {
  return typeof lr === "number" ? lr : lr(count);
}

function checkTrees(what: string, grads: unknown, state: unknown): void {
  if (state === null || typeof state !== "object") {
    throw new TypeError(
      `${what}: state must be the object made by init(), got ${
        describe(state)
      }`,
    );
  }
  const n = flatten(grads)[0].length;
  if (n === 0) {
    throw new TypeError(`${what}: the gradients hold no tensors`);
  }
}

/** A tree of zeros like `params`: the initial averages and buffers. */
const zerosTree = (params: unknown) => mapTree(params, (p) => zerosLike(p));

/** An exponential moving average's step: `avg · decay + x · (1 - decay)`. */
const ema = (avg: Tensor, x: Tensor, decay: number) =>
  add(mul(avg, decay), mul(x, 1 - decay));

/** A momentum buffer's step: `buf · momentum + x`. */
const accumulate = (buf: Tensor, x: Tensor, momentum: number) =>
  add(mul(buf, momentum), x);

/** Maps over the leaves of several same-shaped trees (structure of the first). */
function zipMap<T>(
  trees: readonly unknown[],
  f: (...leaves: Tensor[]) => Tensor,
  what: string,
): T {
  const flats = trees.map((t) => flatten(t)[0]);
  const n = flats[0].length;
  flats.forEach((l, i) => {
    if (l.length !== n) {
      throw new TypeError(
        `${what}: tree ${i} has ${l.length} tensors but the gradients have ${n} (is the state from this optimizer's init on these parameters?)`,
      );
    }
  });
  return mapTree<T>(trees[0], (_, j) => f(...flats.map((l) => l[j])));
}

/**
 * Options of {@link sgd}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt = optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true });
 * ```
 */
export interface SgdOptions {
  /** Learning rate (a number or a schedule). */
  lr: LearningRate;
  /** Momentum factor in [0, 1) (default 0: plain gradient descent). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

/** State of {@link sgd}. */
export interface SgdState {
  /** Steps taken (float64 scalar). */
  count: Tensor;
  /** The momentum buffers (a tree like the parameters), or null without momentum. */
  momentum: unknown;
}

/**
 * Stochastic gradient descent, with optional (Nesterov) momentum as
 * PyTorch's `SGD` (dampening 0): `b = momentum · b + g`, update
 * `-lr · b` (or `-lr · (g + momentum · b)` with Nesterov).
 *
 * @example
 * ```ts
 * import { grad, optim, tensor, type Tensor } from "./mod.ts";
 * const loss = (p: { x: Tensor }) => p.x.sub(3).square().sum();
 * const opt = optim.sgd({ lr: 0.1, momentum: 0.9 });
 * let params = { x: tensor([0]) }, state = opt.init(params);
 * for (let i = 0; i < 100; i++) {
 *   const [updates, next] = opt.update(grad(loss)(params), state, params);
 *   [params, state] = [optim.applyUpdates(params, updates), next];
 * } // params.x ≈ 3
 * ```
 */
export function sgd(options: SgdOptions): Optimizer<SgdState> {
  const what = "optim.sgd";
  const lr = checkLr(what, options?.lr);
  const momentum = checkRange(what, "momentum", options.momentum ?? 0, 0, 1);
  const nesterov = options.nesterov ?? false;
  if (nesterov && momentum === 0) {
    throw new RangeError(`${what}: nesterov needs a momentum > 0`);
  }
  return {
    init: (params) => ({
      count: newCount(),
      momentum: momentum === 0 ? null : zerosTree(params),
    }),
    update<T>(grads: T, state: SgdState): [T, SgdState] {
      return eagerOp([grads, state], () => {
        checkTrees(what, grads, state);
        const rate = lrAt(lr, state.count);
        const count = add(state.count, 1);
        if (momentum === 0) {
          return [mapTree<T>(grads, (g) => scaleBy(g, neg(rate))), {
            count,
            momentum: null,
          }];
        }
        const buf = zipMap<T>(
          [grads, state.momentum],
          (g, b) => accumulate(b, g, momentum),
          what,
        );
        const dir = nesterov
          ? zipMap<T>([grads, buf], (g, b) => add(g, mul(b, momentum)), what)
          : buf;
        return [mapTree<T>(dir, (d) => scaleBy(d, neg(rate))), {
          count,
          momentum: buf,
        }];
      });
    },
  };
}

const neg = (v: number | Tensor): number | Tensor =>
  v instanceof Tensor ? mul(v, -1) : -v;

/**
 * Options of {@link adam} and {@link adamw}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt = optim.adam({ lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8 });
 * ```
 */
export interface AdamOptions {
  /** Learning rate (a number or a schedule). */
  lr: LearningRate;
  /** Decay of the first-moment average (default 0.9). */
  b1?: number;
  /** Decay of the second-moment average (default 0.999). */
  b2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
  /** Added inside the root (default 0), as optax's `eps_root`. */
  epsRoot?: number;
}

/**
 * Options of {@link adamw}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt = optim.adamw({ lr: 1e-3, weightDecay: 1e-2 });
 * ```
 */
export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay (default 1e-4, as optax; PyTorch's default is 1e-2). */
  weightDecay?: number;
}

/** State of {@link adam} and {@link adamw}. */
export interface AdamState {
  /** Steps taken (float64 scalar). */
  count: Tensor;
  /** First-moment averages (a tree like the parameters). */
  mu: unknown;
  /** Second-moment averages (a tree like the parameters). */
  nu: unknown;
}

function adamLike(
  what: string,
  options: AdamWOptions,
  decoupled: boolean,
): Optimizer<AdamState> {
  const lr = checkLr(what, options?.lr);
  const b1 = checkRange(what, "b1", options.b1 ?? 0.9, 0, 1);
  const b2 = checkRange(what, "b2", options.b2 ?? 0.999, 0, 1);
  const eps = checkRange(what, "eps", options.eps ?? 1e-8, 0, Infinity);
  const epsRoot = checkRange(
    what,
    "epsRoot",
    options.epsRoot ?? 0,
    0,
    Infinity,
  );
  const wd = decoupled
    ? checkRange(what, "weightDecay", options.weightDecay ?? 1e-4, 0, Infinity)
    : 0;
  return {
    init: (params) => ({
      count: newCount(),
      mu: zerosTree(params),
      nu: zerosTree(params),
    }),
    update<T>(grads: T, state: AdamState, params?: T): [T, AdamState] {
      return eagerOp([grads, state, params], () => {
        checkTrees(what, grads, state);
        if (decoupled && wd !== 0 && params === undefined) {
          throw new TypeError(
            `${what}: update needs the parameters (the third argument) for weight decay`,
          );
        }
        const count = add(state.count, 1);
        const rate = neg(lrAt(lr, state.count));
        // Bias corrections 1 - β^t in float64, cast to each leaf's dtype.
        const c1 = sub(1, pow(b1, count)), c2 = sub(1, pow(b2, count));
        const mu = zipMap<T>(
          [grads, state.mu],
          (g, m) => ema(m, g, b1),
          what,
        );
        const nu = zipMap<T>(
          [grads, state.nu],
          (g, v) => ema(v, square(g), b2),
          what,
        );
        const direction = (m: Tensor, v: Tensor) => {
          const mHat = div(m, cast(c1, m.dtype));
          const vHat = div(v, cast(c2, v.dtype));
          const root = sqrt(epsRoot === 0 ? vHat : add(vHat, epsRoot));
          return div(mHat, add(root, eps));
        };
        const updates = decoupled && wd !== 0
          ? zipMap<T>(
            [mu, nu, params],
            (m, v, p) => scaleBy(add(direction(m, v), mul(p, wd)), rate),
            what,
          )
          : zipMap<T>([mu, nu], (m, v) => scaleBy(direction(m, v), rate), what);
        return [updates, { count, mu, nu }];
      });
    },
  };
}

/**
 * Adam (Kingma & Ba), as `optax.adam`: `m = b1 m + (1 - b1) g`,
 * `v = b2 v + (1 - b2) g²`, update
 * `-lr · m̂ / (sqrt(v̂ + epsRoot) + eps)` with the bias-corrected
 * `m̂ = m / (1 - b1^t)`, `v̂ = v / (1 - b2^t)`.
 *
 * @example
 * ```ts
 * import { grad, optim, tensor, type Tensor } from "./mod.ts";
 * const loss = (p: Tensor[]) => p[0].sub(1).square().sum().add(p[1].square().sum());
 * const opt = optim.adam({ lr: 0.05 });
 * let params = [tensor([0, 0]), tensor(2)], state = opt.init(params);
 * for (let i = 0; i < 200; i++) {
 *   const [updates, next] = opt.update(grad(loss)(params), state);
 *   params = optim.applyUpdates(params, updates);
 *   state = next;
 * }
 * ```
 */
export function adam(options: AdamOptions): Optimizer<AdamState> {
  return adamLike("optim.adam", options, false);
}

/**
 * AdamW (Loshchilov & Hutter), as `optax.adamw`: Adam with the decay
 * decoupled from the gradient statistics, update
 * `-lr · (m̂ / (sqrt(v̂ + epsRoot) + eps) + weightDecay · params)`;
 * `update` needs the parameters.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "./mod.ts";
 * const opt = optim.adamw({ lr: 1e-3, weightDecay: 1e-2 });
 * const params = { w: tensor([1, -1]) };
 * const [updates] = opt.update({ w: tensor([0, 0]) }, opt.init(params), params); // pure decay
 * ```
 */
export function adamw(options: AdamWOptions): Optimizer<AdamState> {
  return adamLike("optim.adamw", options, true);
}

/**
 * Options of {@link rmsprop}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt = optim.rmsprop({ lr: 1e-3, decay: 0.99, centered: true });
 * ```
 */
export interface RmspropOptions {
  /** Learning rate (a number or a schedule). */
  lr: LearningRate;
  /** Decay of the squared-gradient average (default 0.9, as optax; PyTorch's alpha defaults to 0.99). */
  decay?: number;
  /** Added to the root (default 1e-8). */
  eps?: number;
  /** Momentum factor in [0, 1) (default 0). */
  momentum?: number;
  /** Divide by the root of the variance instead of the second moment (default false). */
  centered?: boolean;
}

/** State of {@link rmsprop}. */
export interface RmspropState {
  /** Steps taken (float64 scalar). */
  count: Tensor;
  /** Squared-gradient averages. */
  nu: unknown;
  /** Gradient averages (centered only), else null. */
  mu: unknown;
  /** Momentum buffers, else null. */
  momentum: unknown;
}

/**
 * RMSprop as PyTorch's `RMSprop`: `v = decay · v + (1 - decay) g²`
 * (centered: also `m = decay · m + (1 - decay) g` and `v - m²` below),
 * direction `g / (sqrt(v) + eps)`, with optional momentum on the direction;
 * update `-lr` times that.
 *
 * @example
 * ```ts
 * import { grad, optim, tensor, type Tensor } from "./mod.ts";
 * const f = (p: { x: Tensor }) => p.x.sub(2).square().sum();
 * const opt = optim.rmsprop({ lr: 0.01 });
 * let params = { x: tensor([0]) }, state = opt.init(params);
 * for (let i = 0; i < 300; i++) {
 *   const [u, s] = opt.update(grad(f)(params), state);
 *   [params, state] = [optim.applyUpdates(params, u), s];
 * }
 * ```
 */
export function rmsprop(options: RmspropOptions): Optimizer<RmspropState> {
  const what = "optim.rmsprop";
  const lr = checkLr(what, options?.lr);
  const decay = checkRange(what, "decay", options.decay ?? 0.9, 0, 1);
  const eps = checkRange(what, "eps", options.eps ?? 1e-8, 0, Infinity);
  const momentum = checkRange(what, "momentum", options.momentum ?? 0, 0, 1);
  const centered = options.centered ?? false;
  return {
    init: (params) => ({
      count: newCount(),
      nu: zerosTree(params),
      mu: centered ? zerosTree(params) : null,
      momentum: momentum > 0 ? zerosTree(params) : null,
    }),
    update<T>(grads: T, state: RmspropState): [T, RmspropState] {
      return eagerOp([grads, state], () => {
        checkTrees(what, grads, state);
        const rate = neg(lrAt(lr, state.count));
        const count = add(state.count, 1);
        const nu = zipMap<T>(
          [grads, state.nu],
          (g, v) => ema(v, square(g), decay),
          what,
        );
        const mu = centered
          ? zipMap<T>(
            [grads, state.mu],
            (g, m) => ema(m, g, decay),
            what,
          )
          : null;
        const dir = centered
          ? zipMap<T>(
            [grads, nu, mu],
            (g, v, m) => div(g, add(sqrt(sub(v, square(m))), eps)),
            what,
          )
          : zipMap<T>([grads, nu], (g, v) => div(g, add(sqrt(v), eps)), what);
        const buf = momentum > 0
          ? zipMap<T>(
            [dir, state.momentum],
            (d, b) => accumulate(b, d, momentum),
            what,
          )
          : null;
        const updates = mapTree<T>(buf ?? dir, (d) => scaleBy(d, rate));
        return [updates, { count, nu, mu, momentum: buf }];
      });
    },
  };
}

/**
 * `params + updates`, leaf by leaf (the updates from an optimizer's
 * `update`).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "./mod.ts";
 * const p = optim.applyUpdates({ w: tensor([1, 2]) }, { w: tensor([-0.5, 0.5]) }); // { w: [0.5, 2.5] }
 * ```
 */
export function applyUpdates<T>(params: T, updates: T): T {
  return eagerOp([params, updates], () => {
    return zipMap<T>(
      [params, updates],
      (p, u) => add(p, u),
      "optim.applyUpdates",
    );
  });
}

/**
 * The 2-norm of all the tensors of a tree together (float64 scalar).
 *
 * @example
 * ```ts
 * import { optim, tensor } from "./mod.ts";
 * const n = optim.globalNorm({ a: tensor([3]), b: tensor([4]) }); // tensor(5.)
 * ```
 */
export function globalNorm(tree: unknown): Tensor {
  return eagerOp([tree], () => {
    const [leaves] = flatten(tree);
    let s: Tensor = full([], 0, { dtype: "float64" });
    for (const l of leaves) s = add(s, cast(sum(square(l)), "float64"));
    return sqrt(s);
  });
}

/**
 * An optimizer stage that scales the gradients by `min(1, maxNorm / ‖g‖)`,
 * ‖g‖ the {@link globalNorm} of all of them (optax's
 * `clip_by_global_norm`); combine with {@link chain}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 1e-3 }));
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): Optimizer<object> {
  const what = "optim.clipByGlobalNorm";
  if (typeof maxNorm !== "number" || !(maxNorm > 0)) {
    throw new RangeError(
      `${what}: maxNorm must be a positive number, got ${describe(maxNorm)}`,
    );
  }
  return {
    init: () => ({}),
    update<T>(grads: T, state: object): [T, object] {
      return eagerOp([grads, state], () => {
        checkTrees(what, grads, state);
        // maxNorm / max(norm, maxNorm): 1 below the bound, never 0/0.
        const factor = div(maxNorm, maximum(globalNorm(grads), maxNorm));
        return [mapTree<T>(grads, (g) => scaleBy(g, factor)), state];
      });
    },
  };
}

/**
 * Optimizer stages applied in order (optax's `chain`): each one's updates
 * are the next one's gradients; the state is the array of their states.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd({ lr: 0.1 }));
 * ```
 */
export function chain(...stages: Optimizer[]): Optimizer<unknown[]> {
  stages.forEach((s, i) => {
    if (
      s === null || typeof s !== "object" || typeof s.init !== "function" ||
      typeof s.update !== "function"
    ) {
      throw new TypeError(
        `optim.chain: stage ${i} is not an optimizer ({ init, update }), got ${
          describe(s)
        }`,
      );
    }
  });
  return {
    init: (params) => stages.map((s) => s.init(params)),
    update<T>(grads: T, state: unknown[], params?: T): [T, unknown[]] {
      return eagerOp([grads, state, params], () => {
        if (!Array.isArray(state) || state.length !== stages.length) {
          throw new TypeError(
            `optim.chain: state must be the array of ${stages.length} states made by init()`,
          );
        }
        let u = grads;
        const next = stages.map((s, i) => {
          const [v, st] = s.update(u, state[i], params);
          u = v;
          return st;
        });
        return [u, next];
      });
    },
  };
}
