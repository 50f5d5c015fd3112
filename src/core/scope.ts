/**
 * Prompt release of a transform's temporaries, following the lifetime
 * model of ARCHITECTURE.md ("Buffers and lifetimes"). The garbage collector frees WebAssembly
 * buffers only when the event loop turns, so a synchronous loop of `grad`
 * calls would otherwise grow memory until it yields. A top-level transform
 * call therefore frees, on return, the buffers the library allocated for
 * it that nothing holds: not its results (handed to the caller, who owns
 * them), not what user code made (user code may keep anything), not what a
 * returned closure or a jit program reads (those hold their buffers).
 * @module
 */
import { releaseTemporaries, type Storage } from "../backend/storage.ts";
import { currentLevel, withSharedEvaluations } from "./trace.ts";
import { inLibrary, isUserCode, Tensor } from "./tensor.ts";
import { everyLeaf, flatten, isPlainObject, mapTree } from "./tree.ts";

/** No storage (what a call whose results are all held keeps besides). */
const NOTHING: ReadonlySet<Storage> = new Set();

/** True when every tensor in `tree` is concrete (no tracer, no eager-tape tensor). */
function allConcrete(tree: unknown): boolean {
  return everyLeaf(tree, (t) => t._trace === null);
}

/**
 * Makes the buffers of the concrete tensors in `tree` held for as long as
 * they are reachable (by a jit program, a vjp or jvp closure): no arena
 * frees them and no user `dispose()` of a tensor sharing them does. The
 * garbage collector frees them with their last reference.
 */
export function pin(tree: unknown): void {
  everyLeaf(tree, (t) => {
    if (t._storage !== null) t._storage._refs++;
    return true;
  });
}

/**
 * Runs one call of a transform, of jit, or of a closure a transform
 * returned: `body` is library code; what it returns is handed to the caller
 * (each concrete tensor becomes one the caller owns and may dispose, never
 * the same object as an input or a cached constant). At the top level
 * (no transform active, concrete arguments) every buffer the call allocated
 * that nothing holds is freed when it returns. `holds` names what the
 * result's closures read (residuals): those are pinned.
 */
export function withTemporaries<T>(
  args: readonly unknown[],
  body: () => T,
  holds?: (result: T) => unknown,
): T {
  return inLibrary(() => {
    let concrete = true;
    const run = () => {
      const result = body();
      if (holds !== undefined) pin(holds(result));
      return mapTree<T>(result, (t) => {
        if (t._trace !== null) concrete = false;
        return t._handOut();
      });
    };
    if (currentLevel() !== 0 || !allConcrete(args)) return run();
    return releaseTemporaries(
      () => withSharedEvaluations(run, true),
      // Results are held now; a tracer (the eager tape) may reference anything.
      () => (concrete ? NOTHING : null),
    );
  });
}

/**
 * Runs one chunk of a chunked transform (vmap or a Jacobian with
 * `chunkSize`), freeing its temporaries when it ends so that memory is
 * bounded by a chunk: everything it allocated except what its result and
 * `keepAlso()` hold. Only when no transform encloses the chunk: an outer
 * trace may have captured any value the chunk computed (a residual of an
 * outer linearize, the primal of an outer JVP tracer), so nested chunks
 * leave their temporaries to the top-level call.
 */
export function withChunkTemporaries<T>(
  body: () => T,
  keepAlso: () => unknown,
): T {
  if (currentLevel() !== 0) return withSharedEvaluations(body, true);
  return releaseTemporaries(
    () => withSharedEvaluations(body, true),
    (result) => {
      const [leaves] = flatten([result, keepAlso()]);
      if (!leaves.every((t) => t._trace === null)) return null;
      return new Set<Storage>(leaves.map((t) => t._storage!));
    },
  );
}

/** What an operation's arguments or result are made of (see {@link eagerOp}). */
type Contents = "concrete" | "tape" | "opaque";

/**
 * "concrete" when `x` is made of concrete tensors, plain values, arrays and
 * plain objects only; "tape" when some tensor is a tracer (with no
 * transform active, one of the eager tape's); "opaque" when it holds a
 * function (user code the operation would call) or a class instance (whose
 * tensors a tree walk cannot see).
 */
function contents(x: unknown, depth: number): Contents {
  if (x instanceof Tensor) return x._trace === null ? "concrete" : "tape";
  if (typeof x === "function") return "opaque";
  if (x === null || typeof x !== "object") return "concrete";
  if (depth > 8) return "opaque";
  let parts: unknown[];
  if (Array.isArray(x)) parts = x;
  else if (isPlainObject(x)) parts = Object.values(x);
  else return "opaque";
  let tape = false;
  for (const part of parts) {
    const k = contents(part, depth + 1);
    if (k === "opaque") return "opaque";
    if (k === "tape") tape = true;
  }
  return tape ? "tape" : "concrete";
}

/**
 * The eager tape's side of {@link eagerOp} (registered by autograd/, which
 * this layer does not import): `deferEscapes` runs the body with views that
 * leave the graph (`detach()`) not yet marked as escaped, since inside the
 * operation they are temporaries; `keep` then marks the views the result
 * hands out and returns the buffers, among those allocated in the call,
 * that the result's graph reads (its values and the constants its nodes
 * take, such as the maximum a softmax subtracts).
 */
export interface TapeHooks {
  deferEscapes<T>(body: () => T): T;
  keep(result: unknown, allocated: ReadonlySet<Storage>): Set<Storage>;
}

let tape: TapeHooks | null = null;

/** @internal Registers the eager tape's hooks (see {@link TapeHooks}). */
export function setTapeHooks(hooks: TapeHooks): void {
  tape = hooks;
}

/**
 * Runs the body of a public operation built from several primitives (or
 * from other operations). Called eagerly from user code (no transform
 * active), the body runs as library code and every buffer it allocated
 * that its result does not use is freed when it returns: its intermediates
 * (the maximum a softmax subtracts, the sums of a variance) are otherwise
 * tensors nobody can dispose, which the garbage collector frees only when
 * the event loop turns, so a synchronous loop of such calls grew without
 * bound even when it disposed every result. The result is handed out as
 * the caller's. On the eager tape (a tracked tensor among the arguments)
 * what the result's graph reads stays, and `backward()` frees it with the
 * graph. Called from library code (another operation, a transform's rule)
 * or inside a transform it just runs `body`: the enclosing call owns the
 * temporaries.
 *
 * @example
 * ```ts ignore
 * export function softmax(x: Tensor, dim = -1): Tensor {
 *   return eagerOp([x, dim], () => div(exp(x), sum(exp(x), dim, true)));
 * }
 * ```
 */
export function eagerOp<T>(args: readonly unknown[], body: () => T): T {
  if (!isUserCode() || currentLevel() !== 0) return body();
  const given = contents(args, 0);
  if (given === "opaque") return body();
  if (given === "concrete") {
    return inLibrary(() =>
      releaseTemporaries(
        () => mapTree<T>(body(), (t) => t._handOut()),
        // A result the walk cannot see into may use anything: keep it all.
        (result) => (contents(result, 0) === "concrete" ? NOTHING : null),
      )
    );
  }
  const hooks = tape;
  if (hooks === null) return body();
  return inLibrary(() =>
    releaseTemporaries(
      () => mapTree<T>(hooks.deferEscapes(body), (t) => t._handOut()),
      (result, allocated) =>
        contents(result, 0) === "opaque"
          ? null
          : hooks.keep(result, allocated()),
    )
  );
}
