/**
 * Prompt release of a transform's temporaries. The garbage collector frees
 * WebAssembly buffers only when the event loop turns, so a synchronous loop
 * of `grad` calls would otherwise grow memory until it yields. A top-level
 * transform that returns values (not closures) frees, on return, every
 * buffer it allocated that its result does not use. Values created inside
 * the transformed function are therefore released too: return what you need.
 * @module
 */
import { releaseTemporaries, type Storage } from "../backend/storage.ts";
import { currentLevel, withSharedEvaluations } from "./trace.ts";
import { flatten } from "./tree.ts";

/** True when every tensor in `tree` is concrete (no tracer, no eager-tape tensor). */
function allConcrete(tree: unknown): boolean {
  return flatten(tree)[0].every((t) => t._trace === null);
}

/**
 * Runs a top-level transform call, freeing what its result does not hold.
 * `holds` lists what the result references besides its own tensors (the
 * residuals of a linearized program that a returned closure will read).
 */
export function withTemporaries<T>(
  args: readonly unknown[],
  body: () => T,
  holds: (result: T) => unknown = (result) => result,
): T {
  if (currentLevel() !== 0 || !allConcrete(args)) return body();
  return releaseTemporaries(
    () => withSharedEvaluations(body, true),
    (result) => {
      const [leaves] = flatten(holds(result));
      if (!leaves.every((t) => t._trace === null)) return null;
      return new Set<Storage>(leaves.map((t) => t._storage!));
    },
  );
}

/**
 * Runs one chunk of a chunked transform (vmap or a Jacobian with
 * `chunkSize`), freeing its temporaries when it ends so that memory is
 * bounded by a chunk: everything it allocated except what its result and
 * `keepAlso()` hold. Nothing is freed when those are not all concrete.
 */
export function withChunkTemporaries<T>(
  body: () => T,
  keepAlso: () => unknown,
): T {
  return releaseTemporaries(
    () => withSharedEvaluations(body, true),
    (result) => {
      const [leaves] = flatten([result, keepAlso()]);
      if (!leaves.every((t) => t._trace === null)) return null;
      return new Set<Storage>(leaves.map((t) => t._storage!));
    },
  );
}
