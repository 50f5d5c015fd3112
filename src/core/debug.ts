/**
 * Debug callbacks: a user function called with the actual values of
 * tensors inside any transform. Each trace hands it what it knows:
 * - JVP: the primal values (tangents are not shown);
 * - batch (vmap): one call per batch entry, with that entry's values;
 * - staging for jit: an effect of the program (src/jit/jit.ts makes its
 *   operands extra outputs and calls the function after every run);
 * - staging for linearize (tangent values, which have no numbers): none.
 * With concrete values the function is called at once.
 * @module
 */
import { inUserCode, type Tensor } from "./tensor.ts";
import type { Trace } from "./trace.ts";
import { JVPTrace, type JVPTracer } from "./jvp_trace.ts";
import { BatchTrace, type BatchTracer } from "./batch_trace.ts";
import { StagingTrace } from "./staging_trace.ts";
import { select } from "./lax.ts";

/** A callback over flat values. */
export type FlatCallback = (values: Tensor[]) => void;

/** A callback recorded by a staging trace, with its operands (values of that trace). */
export interface Effect {
  readonly fn: FlatCallback;
  readonly values: readonly Tensor[];
}

const effects = new WeakMap<StagingTrace, Effect[]>();

/** The staging traces of jit calls being traced, innermost last. */
const staging: StagingTrace[] = [];

/**
 * Runs `body` (the tracing of a jit call) with `trace` as the innermost
 * program: a callback given no tensor becomes its effect (it runs when the
 * program runs) instead of running at trace time.
 */
export function withStaging<T>(trace: StagingTrace, body: () => T): T {
  staging.push(trace);
  try {
    return body();
  } finally {
    staging.pop();
  }
}

function record(trace: StagingTrace, effect: Effect): void {
  trace.sawCustom = true;
  const list = effects.get(trace) ?? [];
  list.push(effect);
  effects.set(trace, list);
}

/** Takes the callbacks a staging trace recorded (in program order). */
export function takeEffects(trace: StagingTrace): Effect[] {
  const e = effects.get(trace) ?? [];
  effects.delete(trace);
  return e;
}

/** Calls `fn` with the values of `xs` as seen by the innermost transform (see the module documentation). */
export function debugCallbackFlat(fn: FlatCallback, xs: Tensor[]): void {
  let top: Trace | null = null;
  for (const x of xs) {
    const t = x._trace;
    if (t !== null && (top === null || t.main.level > top.main.level)) top = t;
  }
  if (top === null) {
    const inner = staging[staging.length - 1];
    if (xs.length === 0 && inner !== undefined && inner.main.alive) {
      record(inner, { fn, values: xs });
    } else inUserCode(() => fn(xs));
    return;
  }
  const mine = (x: Tensor) => x._trace === top;
  if (top instanceof JVPTrace) {
    debugCallbackFlat(
      fn,
      xs.map((x) => (mine(x) ? (x as JVPTracer).primal : x)),
    );
  } else if (top instanceof BatchTrace) {
    for (let i = 0; i < top.axisSize; i++) {
      debugCallbackFlat(
        fn,
        xs.map((x) => {
          if (!mine(x)) return x;
          const b = x as BatchTracer;
          return b.bdim === null ? b.val : select(b.val, b.bdim, i);
        }),
      );
    }
  } else if (top instanceof StagingTrace) {
    if (top.inlineCustom) record(top, { fn, values: xs });
  } else {
    // The eager tape: its tensors hold their values.
    inUserCode(() => fn(xs));
  }
}
