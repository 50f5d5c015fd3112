/**
 * Turns a recorded graph into a pure function of chosen tensors: walking
 * back from the outputs, the chosen tensors become the function's inputs,
 * every other leaf or recorded value a constant. The transform core then
 * differentiates that function.
 * @module
 */
import type { Prim, PrimParams } from "../core/primitives.ts";
import { bind } from "../core/trace.ts";
import type { Tensor } from "../core/tensor.ts";
import { escaped, isTracked, type Tracked } from "./tracked.ts";

/** Tracked tensors reachable from `outputs`, inputs before users (iterative: graphs can be deep). */
export function topoOrder(
  outputs: readonly Tensor[],
  stopAt: ReadonlySet<Tensor>,
): Tracked[] {
  const order: Tracked[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tracked, boolean][] = [];
  for (const o of outputs) if (isTracked(o)) stack.push([o, false]);
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    if (t.node !== null && !stopAt.has(t)) {
      for (const a of t.node.inputs) {
        if (isTracked(a) && !seen.has(a)) stack.push([a, false]);
      }
    }
  }
  return order;
}

export const FREED_MESSAGE =
  "backward through the graph a second time: its saved values were freed by the first " +
  "backward; pass { retainGraph: true } to the first call if you need to backward twice";

/**
 * Recomputes `outputs` from `inputs`. With `keepTracked`, untouched tracked
 * values are used as they are (so the result is recorded again, for
 * `createGraph`); otherwise their plain values are used.
 */
export function replay(
  outputs: readonly Tensor[],
  inputs: readonly Tensor[],
  values: readonly Tensor[],
  keepTracked: boolean,
): Tensor[] {
  const env = new Map<Tensor, Tensor>();
  inputs.forEach((x, i) => env.set(x, values[i]));
  const order = topoOrder(outputs, new Set(inputs));
  const read = (a: Tensor): Tensor =>
    env.get(a) ?? (isTracked(a) && !keepTracked ? a.value : a);
  for (const t of order) {
    if (env.has(t)) continue;
    const n = t.node;
    if (n === null) continue;
    if (n.freed) throw new Error(FREED_MESSAGE);
    env.set(t, bind(n.prim, n.inputs.map(read), n.params as PrimParams[Prim]));
  }
  return outputs.map(read);
}

/** The buffer behind a tensor (a tracked tensor's value's), if concrete. */
function bufferOf(t: Tensor): object | null {
  return (isTracked(t) ? t.value : t)._storage;
}

/**
 * Marks the graph behind `outputs` as used (`retainGraph: false`), drops
 * its references to its inputs, and frees the buffers its intermediate
 * results own (a synchronous loop gets no finalizer, so this is what keeps
 * it bounded). Kept: `outputs`, `keep`, every leaf, and buffers that
 * escaped the graph as views.
 */
export function freeGraph(
  outputs: readonly Tensor[],
  keep: readonly Tensor[] = [],
): void {
  const order = topoOrder(outputs, new Set());
  const kept = new Set<object | null>();
  for (const t of [...outputs, ...keep]) kept.add(bufferOf(t));
  for (const t of order) if (t.node === null) kept.add(bufferOf(t));
  for (const t of order) {
    const n = t.node;
    if (n === null) continue;
    n.freed = true;
    // Constants nobody holds were made for the graph by an operation (the
    // maximum a softmax subtracts, see eagerOp): they go with it.
    for (const c of n.inputs) {
      const cs = isTracked(c) ? null : c._storage;
      if (cs !== null && cs._refs === 0 && !kept.has(cs) && !escaped.has(cs)) {
        cs.dispose();
      }
    }
    n.inputs = []; // release what the graph kept alive
    const s = t.value._storage;
    if (n.owns && s !== null && !kept.has(s) && !escaped.has(s)) s.dispose();
  }
}
