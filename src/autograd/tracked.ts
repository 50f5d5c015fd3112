/**
 * The eager tape, PyTorch style: a tensor made with `requiresGrad()` is a
 * tracer of one permanent trace that sits below every transform (level 0.5),
 * so each operation on it runs at once and also records a graph node
 * (primitive, inputs, params). Gradients replay that graph as a pure
 * function under the transform core (`vjp`, `jacrev`, `hessian`), so the
 * eager tape and the functional transforms share one set of rules, and
 * nesting either way is correct. Nodes reference their inputs, so an
 * unreachable graph is collected with its tensors.
 *
 * Ownership (what makes a synchronous training loop bounded, since
 * finalizers cannot run inside one): a recorded result owns its buffer
 * unless it is a view of an input's (reshape and the like). A backward pass
 * without `retainGraph` frees the buffers its graph's intermediate results
 * own, keeping the leaves, the outputs and the inputs it was asked about,
 * and any buffer that escaped the graph as a view (`detach()`, or a
 * reshape under `noGrad`). A leaf owns the `.grad` that backward stored.
 * @module
 */
import type { Prim, PrimParams } from "../core/primitives.ts";
import { bind, MainTrace, Trace } from "../core/trace.ts";
import { Tensor } from "../core/tensor.ts";
import { isFloatDtype } from "../backend/dtype.ts";
import type { Storage } from "../backend/storage.ts";
import { setTapeHooks } from "../core/scope.ts";
import { flatten } from "../core/tree.ts";

/** How a tracked tensor was computed; absent for leaves. */
export interface Node {
  readonly prim: Prim;
  inputs: readonly Tensor[];
  readonly params: unknown;
  /** Set by a backward pass without `retainGraph`. */
  freed: boolean;
  /** The value's buffer is its own, not a view of an input's buffer. */
  readonly owns: boolean;
}

/**
 * Buffers shared with a tensor outside the graph (a view made by
 * `detach()` or under `noGrad`): backward must not free them.
 */
export const escaped: WeakSet<object> = new WeakSet();

/** The error for reading a result whose buffer a backward pass freed. */
export function freedValueError(what: string): Error {
  return new Error(
    `${what}: this tensor is an intermediate result of a graph that backward() (or autograd.grad) ` +
      `already ran through, which freed its buffer to keep memory bounded; read it before the ` +
      `backward pass, keep a copy with detach() before it, or pass { retainGraph: true }`,
  );
}

/** A tensor that records the operations applied to it. */
export class Tracked extends Tensor {
  /** Accumulated gradient of a leaf (PyTorch's `.grad`). */
  gradSlot: Tensor | null = null;
  /** The slot's buffer was made by backward (so zeroGrad may free it). */
  gradOwned = false;
  constructor(
    trace: EagerTrace,
    readonly value: Tensor,
    readonly node: Node | null,
  ) {
    super(value.shape, value.dtype, null, trace);
  }
  override _concrete(what: string): Tensor {
    if (what !== "print" && this.isFreed) throw freedValueError(what);
    return this.value._concrete(what);
  }
  /** True once a backward pass freed this intermediate result's buffer. */
  get isFreed(): boolean {
    return this.node !== null && this.node.freed &&
      this.value._storage !== null && this.value._storage.disposed;
  }
  /** Frees the value's buffer now (a view shares it, as for plain tensors). */
  override dispose(): void {
    this.value.dispose();
  }
  /** Replaces `.grad` by one the caller owns (made by backward) or not. */
  setGrad(g: Tensor | null, owned: boolean): void {
    this.gradSlot = g;
    this.gradOwned = owned && g !== null;
  }
  /** Clears `.grad`, freeing the buffer that backward made for it. */
  clearGrad(): void {
    const g = this.gradSlot;
    if (this.gradOwned && g !== null && g._trace === null) g.dispose();
    this.setGrad(null, false);
  }
  /** True for tensors made by `requiresGrad()` (not computed from others). */
  get isLeaf(): boolean {
    return this.node === null;
  }
}

let gradEnabled = true;
/** Eager operations running (their escaping views are marked at the end). */
let deferred = 0;

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
    const values = args.map((a) => {
      if (!(a instanceof Tracked && a._trace === this)) return a;
      if (a.isFreed) throw freedValueError(prim);
      return a.value;
    });
    const value = bind(prim, values, params);
    const s = value._storage;
    const view = s !== null && values.some((v) => v._storage === s);
    // detach() leaves the tape, as PyTorch's does: its result records
    // nothing, so `w.detach().sub(...).requiresGrad()` is a new leaf.
    const recorded = gradEnabled && isFloatDtype(value.dtype) &&
      prim !== "stopGradient";
    // A view leaving the graph (unrecorded, or detach()) keeps its buffer
    // (inside an eager operation, only if the operation returns it).
    if (view && !recorded && deferred === 0) escaped.add(s!);
    if (!recorded) return value;
    return new Tracked(this, value, {
      prim,
      // (A copy: bind may pass its caller's array.)
      inputs: args.slice(),
      params,
      freed: false,
      owns: !view,
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
  if (!isFloatDtype(x.dtype)) {
    throw new TypeError(
      `requiresGrad: only float tensors can require gradients, got ${x.dtype}`,
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

// An eager operation on tracked tensors frees what it allocated except what
// the graph of its result reads (core/scope.ts, eagerOp): the values of the
// nodes it recorded and the constants they take (the maximum a softmax
// subtracts). The walk stops at values made before the call. Views leaving
// the graph inside the operation are its temporaries; only those it returns
// are marked as escaped.
setTapeHooks({
  deferEscapes<T>(body: () => T): T {
    deferred++;
    try {
      return body();
    } finally {
      deferred--;
    }
  },
  keep(result, allocated) {
    const keep = new Set<Storage>();
    const seen = new Set<Tensor>();
    const stack: Tensor[] = [...flatten(result)[0]];
    for (const t of stack) {
      if (!(t instanceof Tracked) && t._storage !== null) {
        escaped.add(t._storage);
      }
    }
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      const s = (t instanceof Tracked ? t.value : t)._storage;
      if (s !== null) keep.add(s);
      if (
        t instanceof Tracked && t.node !== null && s !== null &&
        allocated.has(s)
      ) {
        for (const a of t.node.inputs) stack.push(a);
      }
    }
    return keep;
  },
});
