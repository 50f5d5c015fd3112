/**
 * L-BFGS in the style of optax's `lbfgs`: the inverse Hessian applied to
 * the gradient by the two-loop recursion over the last `memorySize`
 * steps and gradient changes, then a step along that direction chosen by
 * a line search that meets the strong Wolfe conditions (as optax's
 * `scale_by_zoom_linesearch`; Nocedal & Wright, Algorithms 3.5 and 3.6,
 * with cubic interpolation, which is exact on quadratics).
 *
 * The memory, the previous parameters and gradients live in the state as
 * float64 tensors over all parameters flattened into one vector. With
 * `linesearch: "none"` the step is `lr` times the direction, every
 * quantity is a tensor, and a step can be `jit`ted; the zoom line search
 * reads function values and so runs eagerly (its directional derivatives
 * come from forward mode along the search direction).
 * @module
 */
import { jvpFlat } from "../core/ad.ts";
import { Tensor } from "../core/tensor.ts";
import { flatten, mapTree } from "../core/tree.ts";
import { add, div, gt, lt, mul, neg, sub, where } from "../ops/elementwise.ts";
import { full, zeros } from "../ops/creation.ts";
import { cast, cat, narrow, reshape, select } from "../ops/layout.ts";
import { sum } from "../ops/reduce.ts";
import { describe } from "../ops/scalar.ts";
import type { Optimizer } from "./mod.ts";

/**
 * Options of {@link lbfgs}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt = optim.lbfgs({ memorySize: 5, linesearch: "zoom" });
 * ```
 */
export interface LbfgsOptions {
  /** How many past steps the inverse-Hessian estimate uses (default 10). */
  memorySize?: number;
  /**
   * `"zoom"` (default): a strong-Wolfe line search, which needs `value` and
   * `valueFn` in `update` and runs eagerly. `"none"`: a fixed step `lr`
   * (jit-friendly).
   */
  linesearch?: "zoom" | "none";
  /** The step size with `linesearch: "none"` (default 1). */
  lr?: number;
  /** Sufficient-decrease constant of the Wolfe conditions (default 1e-4). */
  c1?: number;
  /** Curvature constant of the strong Wolfe conditions (default 0.9; smaller is a more exact search). */
  c2?: number;
  /** Most function evaluations per line search (default 30). */
  maxLinesearchSteps?: number;
}

/**
 * State of {@link lbfgs}: float64 tensors over the flattened parameters
 * (n of them), newest memory entry last.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "./mod.ts";
 * const state: optim.LbfgsState = optim.lbfgs().init({ x: tensor([1, 2]) });
 * console.log(state.s.shape); // [ 10, 2 ]
 * ```
 */
export interface LbfgsState {
  /** Steps taken (float64 scalar). */
  count: Tensor;
  /** Past parameter steps s_i = x_{i+1} - x_i, `[memorySize, n]`. */
  s: Tensor;
  /** Past gradient changes y_i = g_{i+1} - g_i, `[memorySize, n]`. */
  y: Tensor;
  /** 1 / (s_i · y_i), or 0 for an empty or skipped entry, `[memorySize]`. */
  rho: Tensor;
  /** The parameters and gradients of the previous update, `[n]` each. */
  prevParams: Tensor;
  prevGrads: Tensor;
}

/**
 * What the zoom line search needs beside the gradients: the loss at the
 * current parameters (recomputed from `valueFn` when absent) and the loss
 * as a function of the parameters.
 *
 * @example
 * ```ts
 * import { optim, type Tensor } from "./mod.ts";
 * const extra: optim.LbfgsExtra<{ x: Tensor }> = {
 *   valueFn: (p) => p.x.square().sum(),
 * };
 * ```
 */
export interface LbfgsExtra<T> {
  /** The loss at `params` (a scalar tensor or a number). */
  value?: Tensor | number;
  /** The loss of a tree of parameters like `params`. */
  valueFn?: (params: T) => Tensor;
}

/**
 * An L-BFGS optimizer: {@link Optimizer}'s `update` with the line search's
 * needs as a fourth argument.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const opt: optim.Lbfgs = optim.lbfgs();
 * ```
 */
export interface Lbfgs extends Optimizer<LbfgsState> {
  /** `[updates, newState]`; the zoom line search needs `params` and `extra.valueFn`. */
  update<T>(
    grads: T,
    state: LbfgsState,
    params?: T,
    extra?: LbfgsExtra<T>,
  ): [T, LbfgsState];
}

/** All leaves of a tree flattened into one float64 vector. */
function flat(tree: unknown): Tensor {
  const leaves = flatten(tree)[0];
  const parts = leaves.map((l) => cast(reshape(l, [-1]), "float64"));
  return parts.length === 1 ? parts[0] : cat(parts);
}

/** A tree like `like` from the float64 vector `v` (each leaf in its dtype). */
function unflat<T>(v: Tensor, like: T): T {
  let at = 0;
  return mapTree<T>(like, (leaf) => {
    const part = narrow(v, 0, at, leaf.size);
    at += leaf.size;
    return cast(reshape(part, leaf.shape), leaf.dtype);
  });
}

const dot = (a: Tensor, b: Tensor) => sum(mul(a, b));

function positiveInt(what: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new RangeError(
      `${what}: ${name} must be a positive integer, got ${describe(v)}`,
    );
  }
  return v as number;
}

/**
 * L-BFGS (optax's `lbfgs`): `init(params)`, then
 * `update(grads, state, params, { value, valueFn })` gives the step to add
 * with {@link applyUpdates}: `η d`, d the two-loop L-BFGS direction (the
 * negative gradient while the memory is empty, or when it is not a
 * descent direction) and η from a strong-Wolfe zoom line search on
 * `valueFn` (first trial 1, or `min(1, 1/‖g‖)` on the first step). With
 * `linesearch: "none"`, η is `lr` and a step can be jitted.
 *
 * @example
 * ```ts
 * import { grad, optim, tensor, type Tensor } from "./mod.ts";
 * type P = { x: Tensor };
 * const f = (p: P) => p.x.sub(tensor([1, 2], { dtype: "float64" })).square().sum();
 * const opt = optim.lbfgs();
 * let params: P = { x: tensor([0, 0], { dtype: "float64" }) };
 * let state = opt.init(params);
 * for (let i = 0; i < 5; i++) {
 *   const [updates, next] = opt.update(grad(f)(params), state, params, { valueFn: f });
 *   [params, state] = [optim.applyUpdates(params, updates), next];
 * } // params.x ≈ [1, 2]
 * ```
 */
export function lbfgs(options: LbfgsOptions = {}): Lbfgs {
  const what = "optim.lbfgs";
  const m = positiveInt(what, "memorySize", options.memorySize ?? 10);
  const search = options.linesearch ?? "zoom";
  if (search !== "zoom" && search !== "none") {
    throw new TypeError(
      `${what}: linesearch must be "zoom" or "none", got ${describe(search)}`,
    );
  }
  const lr = options.lr ?? 1;
  const c1 = options.c1 ?? 1e-4, c2 = options.c2 ?? 0.9;
  if (typeof lr !== "number" || !(lr > 0)) {
    throw new RangeError(`${what}: lr must be a positive number, got ${lr}`);
  }
  if (!(c1 > 0 && c1 < c2 && c2 < 1)) {
    throw new RangeError(
      `${what}: need 0 < c1 < c2 < 1, got c1 = ${c1}, c2 = ${c2}`,
    );
  }
  const maxEvals = positiveInt(
    what,
    "maxLinesearchSteps",
    options.maxLinesearchSteps ?? 30,
  );
  return {
    init(params: unknown): LbfgsState {
      const n = flat(params).size;
      const f64 = { dtype: "float64" as const };
      return {
        count: full([], 0, f64),
        s: zeros([m, n], f64),
        y: zeros([m, n], f64),
        rho: zeros([m], f64),
        prevParams: zeros([n], f64),
        prevGrads: zeros([n], f64),
      };
    },
    update<T>(
      grads: T,
      state: LbfgsState,
      params?: T,
      extra: LbfgsExtra<T> = {},
    ): [T, LbfgsState] {
      if (params === undefined) {
        throw new TypeError(`${what}: update needs the parameters`);
      }
      const g = flat(grads), x = flat(params);
      if (state?.s?.shape?.[1] !== g.size || g.size !== x.size) {
        throw new TypeError(
          `${what}: state, gradients and parameters disagree (${
            state?.s?.shape?.[1]
          }, ${g.size} and ${x.size} numbers); is the state from this optimizer's init on these parameters?`,
        );
      }
      // The newest pair, accepted when there was a previous step and the
      // curvature s·y is positive (otherwise the memory is unchanged).
      const sNew = sub(x, state.prevParams), yNew = sub(g, state.prevGrads);
      const sy = dot(sNew, yNew);
      const hadStep = gt(state.count, 0), curved = gt(sy, 1e-300);
      const keep = (mem: Tensor, row: Tensor) =>
        where(
          hadStep,
          where(curved, cat([narrow(mem, 0, 1, m - 1), row]), mem),
          mem,
        );
      const s = keep(state.s, reshape(sNew, [1, -1]));
      const y = keep(state.y, reshape(yNew, [1, -1]));
      const rho = keep(state.rho, reshape(div(1, sy), [1]));
      // Two-loop recursion, newest entry last; empty entries have rho 0.
      let q = g;
      const alphas: Tensor[] = [];
      for (let i = m - 1; i >= 0; i--) {
        const a = mul(select(rho, 0, i), dot(select(s, 0, i), q));
        alphas[i] = a;
        q = sub(q, mul(a, select(y, 0, i)));
      }
      const sl = select(s, 0, m - 1), yl = select(y, 0, m - 1);
      const gamma = where(
        gt(select(rho, 0, m - 1), 0),
        div(dot(sl, yl), dot(yl, yl)),
        1,
      );
      let r = mul(q, gamma);
      for (let i = 0; i < m; i++) {
        const b = mul(select(rho, 0, i), dot(select(y, 0, i), r));
        r = add(r, mul(sub(alphas[i], b), select(s, 0, i)));
      }
      // Not a descent direction (rounding, or a skipped pair): -g instead.
      let d = where(lt(dot(r, g), 0), neg(g), neg(r));
      const next: LbfgsState = {
        count: add(state.count, 1),
        s,
        y,
        rho,
        prevParams: x,
        prevGrads: g,
      };
      if (search === "none") return [unflat(mul(d, lr), params), next];

      // The zoom line search: eager values only.
      const { valueFn } = extra;
      if (typeof valueFn !== "function") {
        throw new TypeError(
          `${what}: the zoom line search needs { valueFn } as update's fourth argument (or use linesearch: "none")`,
        );
      }
      const traced = [x, g, ...flatten(grads)[0]].some((t) => t._trace);
      if (traced || (extra.value instanceof Tensor && extra.value._trace)) {
        throw new TypeError(
          `${what}: the zoom line search reads values, so it cannot run under jit or another transform; use linesearch: "none" there`,
        );
      }
      const leaves = flatten(params)[0];
      /** φ(η) = f(x + η d) and φ'(η), by forward mode along d. */
      const dLeaves = flatten(unflat(d, params))[0];
      const phi = (eta: number): [number, number] => {
        const at = leaves.map((l, i) => add(l, mul(dLeaves[i], eta)));
        const r = jvpFlat(
          what,
          (ins) => {
            let k = 0;
            const tree = mapTree<T>(params, () => ins[k++]);
            return [[valueFn(tree)], null];
          },
          at,
          dLeaves,
        );
        const t = r.tangents[0];
        return [r.outs[0].item(), t === null ? 0 : t.item()];
      };
      const f0 = extra.value === undefined
        ? valueFn(params).item()
        : extra.value instanceof Tensor
        ? extra.value.item()
        : extra.value;
      const df0 = dot(g, d).item();
      if (!(df0 < 0)) return [unflat(mul(d, 0), params), next]; // at a stationary point
      const first = state.count.item() === 0;
      const eta0 = first ? Math.min(1, 1 / Math.sqrt(dot(g, g).item())) : 1;
      const eta = zoomSearch(phi, f0, df0, eta0, c1, c2, maxEvals);
      d = mul(d, eta);
      return [unflat(d, params), next];
    },
  };
}

/**
 * A step η meeting the strong Wolfe conditions for φ with φ(0) = f0,
 * φ'(0) = df0 < 0 (Nocedal & Wright, Algorithms 3.5 and 3.6); if the
 * evaluations run out, the best step with sufficient decrease seen (0 if
 * none).
 */
function zoomSearch(
  phi: (eta: number) => [number, number],
  f0: number,
  df0: number,
  eta0: number,
  c1: number,
  c2: number,
  maxEvals: number,
): number {
  let evals = 0;
  let best = 0, bestF = f0;
  const sufficient = (eta: number, f: number) => f <= f0 + c1 * eta * df0;
  const strongCurvature = (df: number) => Math.abs(df) <= -c2 * df0;
  const evaluate = (eta: number): [number, number] => {
    evals++;
    const [f, df] = phi(eta);
    if (Number.isFinite(f) && sufficient(eta, f) && f < bestF) {
      best = eta;
      bestF = f;
    }
    return [f, df];
  };
  const zoom = (
    lo: [number, number, number],
    hi: [number, number, number],
  ): number => {
    while (evals < maxEvals) {
      const eta = cubicMin(lo, hi);
      const [f, df] = evaluate(eta);
      if (!sufficient(eta, f) || f >= lo[1]) hi = [eta, f, df];
      else {
        if (strongCurvature(df)) return eta;
        if (df * (hi[0] - lo[0]) >= 0) hi = lo;
        lo = [eta, f, df];
      }
      if (Math.abs(hi[0] - lo[0]) <= 1e-16 * Math.max(1, lo[0])) break;
    }
    return best;
  };
  let prev: [number, number, number] = [0, f0, df0];
  let eta = eta0;
  while (evals < maxEvals) {
    const [f, df] = evaluate(eta);
    if (!Number.isFinite(f)) {
      // Overshot into overflow: shrink towards the last good point.
      eta = prev[0] + (eta - prev[0]) / 10;
      continue;
    }
    const cur: [number, number, number] = [eta, f, df];
    if (!sufficient(eta, f) || (evals > 1 && f >= prev[1])) {
      return zoom(prev, cur);
    }
    if (strongCurvature(df)) return eta;
    if (df >= 0) return zoom(cur, prev);
    prev = cur;
    eta *= 2;
  }
  return best;
}

/**
 * The minimiser of the cubic through (η, φ, φ') at both ends, kept within
 * the middle 80 % of the interval (bisection when it is not defined).
 */
function cubicMin(
  [a, fa, da]: [number, number, number],
  [b, fb, db]: [number, number, number],
): number {
  const lo = Math.min(a, b), hi = Math.max(a, b), w = hi - lo;
  const d1 = da + db - 3 * (fa - fb) / (a - b);
  const disc = d1 * d1 - da * db;
  let eta = (a + b) / 2;
  if (disc >= 0) {
    const d2 = Math.sign(b - a) * Math.sqrt(disc);
    const t = b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
    if (Number.isFinite(t)) eta = t;
  }
  return Math.min(Math.max(eta, lo + 0.1 * w), hi - 0.1 * w);
}
