/**
 * The interpreter stack. Each active transform pushes a `MainTrace` with a
 * level; `bind` sends a primitive to the trace of the highest level among its
 * arguments, lifting lower-level values into it. Levels are what make nested
 * transforms correct (no perturbation confusion): a tracer only ever meets
 * the trace that created it.
 * @module
 */
import { inLibrary, isUserCode, Tensor } from "./tensor.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { abstractEval } from "./rules/abstract_eval.ts";
import { runEager } from "./executor.ts";
import { dueOwner, settleShadows } from "../backend/storage.ts";
import { controlEager } from "./rules/control_hooks.ts";

/** One active transform: its level and per-transform data. */
export class MainTrace {
  alive = true;
  constructor(
    readonly level: number,
    readonly name: string,
  ) {}
}

/** An interpreter for one level. */
export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Wraps a value from a lower level (or a concrete tensor) as a tracer of this level. */
  abstract lift(x: Tensor): Tensor;
  /** Applies a primitive to tracers of this level. */
  abstract process<P extends Prim>(
    prim: P,
    args: Tensor[],
    params: PrimParams[P],
  ): Tensor;
  /** Returns a lower-level value when the tracer carries nothing of this level. */
  lower(t: Tensor): Tensor {
    return t;
  }
}

const stack: MainTrace[] = [];

/** Current nesting depth (0 when no transform is active). */
export function currentLevel(): number {
  return stack.length;
}

/**
 * Frames an error keeps while a transform runs. An error raised by a
 * shape rule under nested traces sits below dozens of interpreter frames;
 * V8 keeps only 10 by default, which would cut off the user's own function
 * and the line that called the transform.
 */
const STACK_FRAMES = 200;

/** Runs `body` with a new main trace pushed; always pops it. */
export function withMain<T>(name: string, body: (main: MainTrace) => T): T {
  const main = new MainTrace(stack.length + 1, name);
  const errors = Error as { stackTraceLimit?: number };
  // (Read only at the top: a nested transform runs under the deeper limit.)
  const limit = stack.length === 0 ? errors.stackTraceLimit : undefined;
  // (A limit of 0, stack traces switched off, is left alone.)
  const deepen = typeof limit === "number" && limit > 0 &&
    limit < STACK_FRAMES;
  if (deepen) errors.stackTraceLimit = STACK_FRAMES;
  stack.push(main);
  try {
    return body(main);
  } finally {
    stack.pop();
    main.alive = false;
    if (deepen) errors.stackTraceLimit = limit;
  }
}

/** Binds a primitive: the one entry point every operation goes through. */
export function bind<P extends Prim>(
  prim: P,
  args: Tensor[],
  params: PrimParams[P],
): Tensor {
  let top: Trace | null = null;
  for (let i = 0; i < args.length; i++) {
    const t = args[i]._trace;
    if (t !== null && (top === null || t.main.level > top.main.level)) top = t;
  }
  if (top === null) {
    // An eager operation from user code starts a top-level call.
    if (dueOwner !== null && isUserCode()) settleShadows();
    return evalPrim(prim, args, params);
  }
  // A tracer kept past its transform's end (stored in a closure or outer
  // variable) must not be silently processed by a finished trace.
  if (!top.main.alive) escaped(top.main);
  // (Most operands are already of this level: then `args` serves as is.)
  let raised = args;
  for (let i = 0; i < args.length; i++) {
    const r = raise(top, args[i]);
    if (r !== args[i]) {
      if (raised === args) raised = args.slice();
      raised[i] = r;
    }
  }
  // The rules are library code: what they compute is a temporary. (The
  // eager tape, level 0.5, computes on behalf of the caller.)
  const user = isUserCode();
  const out = user && top.main.level >= 1
    ? processInLibrary(top, prim, raised, params)
    : top.process(prim, raised, params);
  const low = out._trace !== null ? out._trace.lower(out) : out;
  if (!user) return low;
  // User code owns what it computes: a fresh result becomes a holder of its
  // buffer (once), and a result that is one of the arguments themselves is
  // handed out as a new holder, so disposing it never frees the argument.
  return args.includes(low) || raised.includes(low)
    ? low._handOut()
    : low._hold();
}

// (Its own function: a closure in bind would make every bind allocate a
// context for the variables it captures.)
function processInLibrary<P extends Prim>(
  t: Trace,
  prim: P,
  args: Tensor[],
  params: PrimParams[P],
): Tensor {
  return inLibrary(() => t.process(prim, args, params));
}

function raise(top: Trace, a: Tensor): Tensor {
  const t = a._trace;
  if (t === null) return top.lift(a);
  if (t.main === top.main) return a;
  if (!t.main.alive) escaped(t.main);
  if (t.main.level < top.main.level) return top.lift(a);
  return escaped(t.main);
}

/** Thrown when a tracer is used after its transform returned. */
export function escaped(main: MainTrace): never {
  throw new Error(
    `a tensor traced by ${main.name} (level ${main.level}) was used outside that transform; ` +
      `return it from the transformed function instead of storing it`,
  );
}

/**
 * Eager evaluation on concrete tensors: the shape rule (validates), then the
 * primitive's lowering, run at once on the WebAssembly executor.
 */
export function evalPrim<P extends Prim>(
  prim: P,
  args: Tensor[],
  params: PrimParams[P],
): Tensor {
  // Only library code shares evaluations: a tensor user code made is the
  // user's to dispose, so the library never reuses it (nor gives it out twice).
  const memo = shared !== null && args.length === 1 && params === null &&
    !isUserCode();
  if (memo) {
    for (let l: Layer | null = shared; l !== null; l = l.parent) {
      const hit = l.map.get(args[0])?.get(prim);
      // (A result disposed meanwhile is computed again.)
      if (hit !== undefined && !hit._storage!.disposed) return hit;
    }
  }
  if (prim === "custom") {
    const { op, index } = params as PrimParams["custom"];
    return op.impl(args, index);
  }
  const aval = abstractEval(prim, args, params);
  // Control flow runs its sub-programs (a loop, not one kernel).
  const control = controlEager(prim);
  if (control !== undefined) return control(args, params as never);
  const storage = runEager(prim, args, params, aval);
  const out = Tensor._fromStorage(storage, aval.shape, aval.dtype);
  if (memo) {
    let m = shared!.map.get(args[0]);
    if (m === undefined) shared!.map.set(args[0], m = new Map());
    m.set(prim, out);
  }
  return out;
}

/**
 * Unary evaluations shared within one top-level transform call: nested
 * derivatives recompute the same `sin(x)` and `cos(x)` of the same tensor
 * (the primal, the JVP coefficient, the coefficient's own derivative), and
 * tensors are immutable, so each is computed once (eager common
 * subexpression elimination). Nothing is kept across calls. Layers let a
 * chunk whose temporaries are freed at its end keep its entries to itself.
 */
interface Layer {
  readonly map: Map<Tensor, Map<Prim, Tensor>>;
  readonly parent: Layer | null;
}
let shared: Layer | null = null;

/**
 * Runs `body` with unary evaluations shared (see {@link Layer}); inside an
 * enclosing call it shares that call's entries, and with `ownLayer` records
 * its own entries in a layer dropped when it returns.
 */
export function withSharedEvaluations<T>(body: () => T, ownLayer = false): T {
  if (shared !== null && !ownLayer) return body();
  const prev = shared;
  shared = { map: new Map(), parent: prev };
  try {
    return body();
  } finally {
    shared = prev;
  }
}
