/**
 * Shrinks a failing case to a smaller one that fails the same way: drops
 * transforms, simplifies their options, cuts the program down to what the
 * output needs, and removes steps. Greedy: the first candidate that still
 * fails is kept, until no candidate does or the budget is spent.
 * @module
 */
import { ones } from "../../mod.ts";
import {
  type AType,
  type Case,
  type Layer,
  type Node,
  type Program,
  type Ref,
  refsOf,
} from "./case.ts";
import { baseState, drawInputs, Rng, typeStack } from "./gen.ts";
import { buildProgram } from "./jacobi_eval.ts";

/** The program's output structure, found by running it eagerly (null if it throws). */
function outTypeOf(
  program: Program,
  inputShapes: number[][],
  captured: Case["captured"],
): AType | null {
  try {
    const f = buildProgram(
      { program, captured } as Case,
      captured.map((k) => ones(k.shape, { dtype: "float64" })),
    );
    const out = f(...inputShapes.map((s) => ones(s, { dtype: "float64" })));
    const t = (o: unknown): AType =>
      Array.isArray(o)
        ? o.map(t)
        : { shape: [...(o as { shape: number[] }).shape] };
    return t(out);
  } catch {
    return null;
  }
}

/** `n` with every reference passed through `m`. */
function remap(n: Node, m: (r: Ref) => Ref): Node {
  const o = (x: unknown) => (typeof x === "number" ? m(x) : x);
  const c = { ...n } as Record<string, unknown>;
  for (const k of ["x", "a", "b", "ca", "cb", "w"]) {
    if (k in c && c[k] !== null) c[k] = o(c[k]);
  }
  if ("xs" in c) c.xs = (c.xs as Ref[]).map(m);
  return c as unknown as Node;
}

/** Drops the steps and closed-over tensors that the output does not use. */
function deadCode(
  p: Program,
  captured: Case["captured"],
): [Program, Case["captured"]] {
  const outs = typeof p.out === "number" ? [p.out] : p.out;
  const used = new Set<Ref>(outs);
  for (let i = p.nodes.length - 1; i >= 0; i--) {
    if (used.has(p.nInputs + i)) refsOf(p.nodes[i]).forEach((r) => used.add(r));
  }
  const newRef = new Map<Ref, Ref>();
  for (let r = 0; r < p.nInputs; r++) newRef.set(r, r);
  const nodes: Node[] = [];
  const capIdx = new Map<number, number>();
  const caps: Case["captured"] = [];
  p.nodes.forEach((n, i) => {
    const r = p.nInputs + i;
    if (!used.has(r)) return;
    let m = remap(n, (x) => newRef.get(x)!);
    if (m.op === "captured") {
      if (!capIdx.has(m.k)) {
        capIdx.set(m.k, caps.length);
        caps.push(captured[m.k]);
      }
      m = { op: "captured", k: capIdx.get(m.k)! };
    }
    newRef.set(r, p.nInputs + nodes.length);
    nodes.push(m);
  });
  const out = typeof p.out === "number"
    ? newRef.get(p.out)!
    : p.out.map((r) => newRef.get(r)!);
  return [{ nInputs: p.nInputs, nodes, out }, caps];
}

let attempt = 0;

/** A case with this program and stack, typed and given fresh inputs; null if it does not type. */
export function rebuild(
  c: Case,
  program: Program,
  layers: Layer[],
  captured = c.captured,
): Case | null {
  [program, captured] = deadCode(program, captured);
  const out = outTypeOf(program, c.inputShapes, captured);
  if (out === null) return null;
  const st = typeStack(baseState(c, out), layers);
  if (st === null) return null;
  return {
    ...c,
    program,
    captured,
    layers,
    argShapes: st.args.map((a) => a.shape),
    outType: st.out,
    inputs: drawInputs(new Rng(c.seed, c.index ^ (++attempt << 20)), st.args),
  };
}

/** Smaller variants of `c`, biggest cuts first. */
function* candidates(c: Case): Generator<Case | null> {
  const p = c.program, L = c.layers;
  // Fewer transforms (a grad's scalarize adapter goes with it when it must).
  for (let i = L.length - 1; i >= 0; i--) {
    yield rebuild(c, p, L.filter((_, k) => k !== i));
    if (L[i].t === "grad" && i > 0 && L[i - 1].t === "scalarize") {
      yield rebuild(c, p, L.filter((_, k) => k !== i && k !== i - 1));
    }
  }
  // One output instead of several; an earlier value as the output.
  if (typeof p.out !== "number") {
    for (const r of p.out) yield rebuild(c, { ...p, out: r }, L);
  }
  const last = typeof p.out === "number" ? p.out : Math.max(...p.out);
  for (let r = last - 1; r >= 0; r--) yield rebuild(c, { ...p, out: r }, L);
  // A step replaced by one of its operands.
  for (let i = p.nodes.length - 1; i >= 0; i--) {
    const self = p.nInputs + i;
    for (const r of refsOf(p.nodes[i])) {
      const nodes = p.nodes.map((n, k) =>
        k <= i ? n : remap(n, (x) => (x === self ? r : x))
      );
      const m = (x: Ref) => (x === self ? r : x);
      const out = typeof p.out === "number" ? m(p.out) : p.out.map(m);
      yield rebuild(c, { ...p, nodes, out }, L);
    }
  }
  // Simpler options.
  for (let i = 0; i < L.length; i++) {
    const l = L[i];
    const set = (patch: Partial<Layer>) =>
      rebuild(
        c,
        p,
        L.map((x, k) => (k === i ? { ...x, ...patch } as Layer : x)),
      );
    if ("chunkSize" in l && l.chunkSize !== null) {
      yield set({ chunkSize: null });
    }
    if ("argnums" in l && typeof l.argnums !== "number") {
      for (const a of l.argnums) yield set({ argnums: a });
    }
    if (l.t === "grad" && l.value) yield set({ value: false });
    if (l.t === "grad" && l.hasAux && i > 0 && L[i - 1].t === "scalarize") {
      yield rebuild(
        c,
        p,
        L.map((x, k) =>
          k === i
            ? { ...l, hasAux: false }
            : k === i - 1
            ? { ...x, aux: false } as Layer
            : x
        ),
      );
    }
    if ((l.t === "vjp" || l.t === "linearize") && l.withValue) {
      yield set({ withValue: false });
    }
    if (l.t === "vmap") {
      if (l.outDims !== 0) yield set({ outDims: 0 });
      if (Array.isArray(l.inDims)) {
        for (let k = 0; k < l.inDims.length; k++) {
          if (l.inDims[k] !== null) {
            yield set({ inDims: l.inDims.map((d, j) => (j === k ? null : d)) });
          }
        }
      }
      if (l.batch > 1) yield set({ batch: 1 });
    }
  }
}

/**
 * The smallest variant of `c` for which `sameFailure` holds, trying at most
 * `budget` candidates.
 */
export async function shrink(
  c: Case,
  sameFailure: (c: Case) => Promise<boolean>,
  budget = 200,
): Promise<{ shrunk: Case; tried: number }> {
  let tried = 0;
  let best = c;
  outer: for (;;) {
    for (const cand of candidates(best)) {
      if (cand === null) continue;
      if (tried++ >= budget) break outer;
      if (await sameFailure(cand)) {
        best = cand;
        continue outer;
      }
    }
    break;
  }
  return { shrunk: best, tried };
}
