/**
 * Learning-rate schedules as in optax: functions of the step count, which
 * may be a number or a tensor (the optimizers pass their float64 step
 * tensor, so a schedule inside `jit` is part of the compiled program).
 * @module
 */
import { Tensor } from "../core/tensor.ts";
import {
  add,
  cos,
  div,
  lt,
  maximum,
  minimum,
  mul,
  pow,
  sub,
  where,
} from "../ops/elementwise.ts";
import { cast } from "../ops/layout.ts";
import { tensor } from "../ops/creation.ts";
import { describe } from "../ops/scalar.ts";

/**
 * A learning-rate schedule: the value at a step (a number for a number, a
 * tensor for a tensor).
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const lr: optim.Schedule = optim.schedules.exponential({ initValue: 0.1, transitionSteps: 100, decayRate: 0.5 });
 * lr(100); // 0.05
 * ```
 */
export type Schedule = {
  (step: number): number;
  (step: Tensor): Tensor;
  (step: number | Tensor): number | Tensor;
};

/** Makes a schedule from its tensor form (numbers go through float64 scalars). */
function schedule(f: (step: Tensor) => Tensor): Schedule {
  return ((step: number | Tensor) => {
    if (step instanceof Tensor) {
      return f(step.dtype === "int32" ? cast(step, "float64") : step);
    }
    if (typeof step !== "number") {
      throw new TypeError(
        `schedule: step must be a number or a tensor, got ${describe(step)}`,
      );
    }
    return f(tensor(step, { dtype: "float64" })).item();
  }) as Schedule;
}

function positive(what: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(
      `${what}: ${name} must be a positive number, got ${describe(v)}`,
    );
  }
  return v;
}

function finite(what: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RangeError(
      `${what}: ${name} must be a finite number, got ${describe(v)}`,
    );
  }
  return v;
}

/** (1 + cos(π t)) / 2: from 1 at t = 0 down to 0 at t = 1. */
function cosineFactor(t: Tensor): Tensor {
  return mul(add(cos(mul(t, Math.PI)), 1), 0.5);
}

/**
 * Options of {@link cosine}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const lr = optim.schedules.cosine({ initValue: 1e-3, decaySteps: 1000, alpha: 0.1 });
 * ```
 */
export interface CosineOptions {
  /** The value at step 0. */
  initValue: number;
  /** Steps to decay over; constant afterwards. */
  decaySteps: number;
  /** The final value as a fraction of initValue (default 0). */
  alpha?: number;
}

/**
 * Cosine decay (optax's `cosine_decay_schedule`):
 * `init · ((1 - alpha) · (1 + cos(π · min(step, decaySteps) / decaySteps)) / 2 + alpha)`.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const lr = optim.schedules.cosine({ initValue: 1, decaySteps: 100 });
 * lr(0); // 1
 * lr(50); // 0.5
 * lr(200); // 0
 * ```
 */
export function cosine(options: CosineOptions): Schedule {
  const what = "schedules.cosine";
  const init = finite(what, "initValue", options?.initValue);
  const steps = positive(what, "decaySteps", options.decaySteps);
  const alpha = finite(what, "alpha", options.alpha ?? 0);
  return schedule((step) => {
    const t = div(minimum(step, steps), steps);
    return mul(add(mul(cosineFactor(t), 1 - alpha), alpha), init);
  });
}

/**
 * Options of {@link warmupCosine}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const lr = optim.schedules.warmupCosine({ initValue: 0, peakValue: 1e-3, warmupSteps: 100, decaySteps: 1000 });
 * ```
 */
export interface WarmupCosineOptions {
  /** The value at step 0. */
  initValue: number;
  /** The value reached at the end of the warmup. */
  peakValue: number;
  /** Steps of linear warmup from initValue to peakValue. */
  warmupSteps: number;
  /** Total steps, warmup included; constant (endValue) afterwards. */
  decaySteps: number;
  /** The value at decaySteps and after (default 0). */
  endValue?: number;
}

/**
 * Linear warmup then cosine decay (optax's `warmup_cosine_decay_schedule`):
 * from initValue to peakValue over warmupSteps, then a cosine from
 * peakValue to endValue until decaySteps (which includes the warmup).
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const lr = optim.schedules.warmupCosine({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 110 });
 * lr(5); // 0.5
 * lr(10); // 1
 * lr(60); // 0.5
 * ```
 */
export function warmupCosine(options: WarmupCosineOptions): Schedule {
  const what = "schedules.warmupCosine";
  const init = finite(what, "initValue", options?.initValue);
  const peak = finite(what, "peakValue", options.peakValue);
  const end = finite(what, "endValue", options.endValue ?? 0);
  const warm = finite(what, "warmupSteps", options.warmupSteps);
  const total = finite(what, "decaySteps", options.decaySteps);
  if (warm < 0 || total <= warm) {
    throw new RangeError(
      `${what}: need 0 <= warmupSteps < decaySteps, got ${warm} and ${total}`,
    );
  }
  return schedule((step) => {
    const ramp = warm === 0
      ? null
      : add(mul(div(minimum(step, warm), warm), peak - init), init);
    const t = div(
      minimum(maximum(sub(step, warm), 0), total - warm),
      total - warm,
    );
    const decay = add(mul(cosineFactor(t), peak - end), end);
    return ramp === null ? decay : where(lt(step, warm), ramp, decay);
  });
}

/**
 * Options of {@link exponential}.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const lr = optim.schedules.exponential({ initValue: 1e-2, transitionSteps: 1000, decayRate: 0.1, staircase: true });
 * ```
 */
export interface ExponentialOptions {
  /** The value at step 0 (and until transitionBegin). */
  initValue: number;
  /** Steps over which the value is multiplied by decayRate. */
  transitionSteps: number;
  /** The factor per transitionSteps (positive; below 1 decays). */
  decayRate: number;
  /** Steps before the decay starts (default 0). */
  transitionBegin?: number;
  /** Decay in whole steps of transitionSteps (default false: continuously). */
  staircase?: boolean;
  /** A bound the value does not pass (a floor when decaying, a ceiling when growing). */
  endValue?: number;
}

/**
 * Exponential decay (optax's `exponential_decay`):
 * `init · decayRate^((step - transitionBegin) / transitionSteps)`, the
 * exponent floored with `staircase`, bounded by `endValue`.
 *
 * @example
 * ```ts
 * import { optim } from "./mod.ts";
 * const lr = optim.schedules.exponential({ initValue: 1, transitionSteps: 10, decayRate: 0.5 });
 * lr(10); // 0.5
 * lr(15); // 0.3536
 * ```
 */
export function exponential(options: ExponentialOptions): Schedule {
  const what = "schedules.exponential";
  const init = finite(what, "initValue", options?.initValue);
  const steps = positive(what, "transitionSteps", options.transitionSteps);
  const rate = positive(what, "decayRate", options.decayRate);
  const begin = finite(what, "transitionBegin", options.transitionBegin ?? 0);
  const end = options.endValue === undefined
    ? null
    : finite(what, "endValue", options.endValue);
  const staircase = options.staircase ?? false;
  return schedule((step) => {
    let p = div(maximum(sub(step, begin), 0), steps);
    // floor of a non-negative number: truncation by an int32 round trip.
    if (staircase) p = cast(cast(p, "int32"), p.dtype);
    const v = mul(pow(rate, p), init);
    if (end === null) return v;
    return rate < 1 ? maximum(v, end) : minimum(v, end);
  });
}
