/**
 * The eager tape, PyTorch style: a tensor made with `requiresGrad()` is a
 * tracer of one permanent trace that sits below every transform (level 0.5),
 * so each operation on it runs at once and also records a graph node
 * (primitive, inputs, params). Gradients replay that graph as a pure
 * function under the transform core (`vjp`, `jacrev`, `hessian`), so the
 * eager tape and the functional transforms share one set of rules, and
 * nesting either way is correct. Nodes reference their inputs, so an
 * unreachable graph is collected with its tensors.
 * @module
 */
import type { Prim, PrimParams } from "../core/primitives.ts";
import { bind, MainTrace, Trace } from "../core/trace.ts";
import { Tensor } from "../core/tensor.ts";

/** How a tracked tensor was computed; absent for leaves. */
export interface Node {
  readonly prim: Prim;
  inputs: readonly Tensor[];
  readonly params: unknown;
  /** Set by a backward pass without `retainGraph`. */
  freed: boolean;
}

/** A tensor that records the operations applied to it. */
export class Tracked extends Tensor {
  /** Accumulated gradient of a leaf (PyTorch's `.grad`). */
  gradSlot: Tensor | null = null;
  constructor(
    trace: EagerTrace,
    readonly value: Tensor,
    readonly node: Node | null,
  ) {
    super(value.shape, value.dtype, null, trace);
  }
  override _concrete(what: string): Tensor {
    return this.value._concrete(what);
  }
  /** True for tensors made by `requiresGrad()` (not computed from others). */
  get isLeaf(): boolean {
    return this.node === null;
  }
}

let gradEnabled = true;

/** The one eager trace. Its level is between eager evaluation and any transform. */
export class EagerTrace extends Trace {
  lift(x: Tensor): Tensor {
    return x; // constants stay plain tensors; only tracked ones are recorded
  }
  override lower(t: Tensor): Tensor {
    return t;
  }
  process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor {
    const values = args.map((
      a,
    ) => (a instanceof Tracked && a._trace === this ? a.value : a));
    const value = bind(prim, values, params);
    // detach() leaves the tape (as PyTorch's): its result records nothing,
    // so `w.detach().sub(...).requiresGrad()` is a new leaf.
    if (!gradEnabled || value.dtype === "int32" || prim === "stopGradient") {
      return value;
    }
    return new Tracked(this, value, {
      prim,
      inputs: args,
      params,
      freed: false,
    });
  }
}

export const eagerTrace = new EagerTrace(new MainTrace(0.5, "requiresGrad"));

/** True for a tensor that records operations (made by `requiresGrad()` or computed from one). */
export function isTracked(x: unknown): x is Tracked {
  return x instanceof Tracked && x._trace === eagerTrace;
}

/** A leaf tensor that records the operations applied to it. */
export function requiresGrad(x: Tensor): Tracked {
  if (x.dtype === "int32") {
    throw new TypeError(
      "requiresGrad: only float tensors can require gradients",
    );
  }
  if (isTracked(x)) return x;
  if (x._trace !== null) {
    throw new TypeError(
      "requiresGrad: call it on a concrete tensor, outside grad/vmap/jacrev",
    );
  }
  return new Tracked(eagerTrace, x, null);
}

/**
 * Runs `fn` without recording: results are plain tensors (as `torch.no_grad`).
 *
 * @example
 * ```ts
 * import { noGrad, tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad();
 * const y = noGrad(() => x.mul(2)); // not recorded
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}
