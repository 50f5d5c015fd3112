/**
 * Builds a case's program and transform stack with jacobi and runs it on both
 * input sets. The two results are read only after both calls, so a call that
 * frees or overwrites the previous call's results shows up too, and the
 * inputs and closed-over tensors are read back at the end (a transform must
 * not free what it does not own).
 * @module
 */
import {
  add,
  cat,
  div,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linear,
  linearize,
  maximum,
  minimum,
  mul,
  pow,
  stack,
  sub,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  vmap,
  where,
} from "../../mod.ts";
import type { Case, Layer, Node, Operand } from "./case.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
type Fn = (...args: Any[]) => Any;

/** One output leaf as plain numbers. */
export interface Leaf {
  shape: number[];
  dtype: string;
  data: number[];
}

export type Outcome =
  | { ok: true; calls: [Leaf[], Leaf[]] }
  | { ok: false; error: string; stack?: string };

/** Row-major data and a shape as the nested arrays `tensor` takes. */
export function nest(data: readonly number[], shape: readonly number[]): Any {
  if (shape.length === 0) return data[0];
  const step = data.length / shape[0];
  return Array.from(
    { length: shape[0] },
    (_, i) => nest(data.slice(i * step, (i + 1) * step), shape.slice(1)),
  );
}

const f64 = (data: readonly number[], shape: readonly number[]) =>
  tensor(nest(data, shape), { dtype: "float64" });

const BIN = { add, sub, mul, div, pow, maximum, minimum };

function evalNode(
  n: Node,
  v: Tensor[],
  captured: Tensor[],
  store: Tensor[],
): Tensor {
  const op = (o: Operand): Tensor | number =>
    typeof o === "number" ? v[o] : o.num;
  switch (n.op) {
    case "unary":
      return (v[n.x] as Any)[n.fn]();
    case "binary":
      return BIN[n.fn](op(n.a), op(n.b));
    case "where": {
      const cb = op(n.cb);
      return where(v[n.ca][n.cmp](cb), op(n.a), op(n.b));
    }
    case "reduce":
      return v[n.x][n.fn](n.dim ?? undefined, n.keepdim);
    case "reshape":
      return v[n.x].reshape(n.shape);
    case "permute":
      return v[n.x].permute(n.dims);
    case "transpose":
      return v[n.x].transpose(n.dim0, n.dim1);
    case "movedim":
      return v[n.x].movedim(n.src, n.dst);
    case "expand":
      return v[n.x].expand(n.shape);
    case "squeeze":
      return v[n.x].squeeze(n.dim ?? undefined);
    case "unsqueeze":
      return v[n.x].unsqueeze(n.dim);
    case "flatten":
      return v[n.x].flatten(n.start, n.end);
    case "slice":
      return v[n.x].slice(
        n.dim,
        n.start ?? undefined,
        n.end ?? undefined,
        n.step,
      );
    case "narrow":
      return v[n.x].narrow(n.dim, n.start, n.length);
    case "select":
      return v[n.x].select(n.dim, n.index);
    case "cat":
      return cat(n.xs.map((r) => v[r]), n.dim);
    case "stack":
      return stack(n.xs.map((r) => v[r]), n.dim);
    case "matmul":
      return v[n.a].matmul(v[n.b]);
    case "dot":
      return v[n.a].dot(v[n.b]);
    case "outer":
      return v[n.a].outer(v[n.b]);
    case "linear":
      return linear(v[n.x], v[n.w], n.b === null ? undefined : v[n.b]);
    case "detach":
      return v[n.x].detach();
    case "const":
      return f64(n.data, n.shape);
    case "captured":
      return captured[n.k];
    case "lazy":
      return store[n.k] ??= f64(n.data, n.shape);
  }
}

/** The program as a function of its inputs; `captured` are closed over, lazy tensors kept across calls. */
export function buildProgram(c: Case, captured: Tensor[]): Fn {
  const p = c.program;
  const store: Tensor[] = [];
  return (...xs: Tensor[]) => {
    const v = [...xs];
    for (const n of p.nodes) v.push(evalNode(n, v, captured, store));
    return typeof p.out === "number" ? v[p.out] : p.out.map((r) => v[r]);
  };
}

export const treeLeaves = (o: unknown): unknown[] =>
  Array.isArray(o) ? o.flatMap(treeLeaves) : [o];

/** `leaves` rebuilt in the array structure of `like`. */
function unflattenLike(like: unknown, leaves: unknown[]): unknown {
  let k = 0;
  const go = (u: unknown): unknown =>
    Array.isArray(u) ? u.map(go) : leaves[k++];
  return go(like);
}

function scalarize(o: unknown, kind: string): Tensor {
  const parts = treeLeaves(o).map((l) => {
    const t = l as Tensor;
    return (kind === "sin" ? t.sin() : kind === "square" ? t.square() : t)
      .sum();
  });
  return parts.reduce((s, p) => s.add(p));
}

function applyLayer(L: Layer, f: Fn): Fn {
  switch (L.t) {
    case "scalarize":
      return (...a) => {
        const o = f(...a);
        const s = scalarize(o, L.kind);
        return L.aux ? [s, o] : s;
      };
    case "grad":
      return L.value
        ? valueAndGrad(f, { argnums: L.argnums, hasAux: L.hasAux })
        : grad(f, { argnums: L.argnums, hasAux: L.hasAux } as Any);
    case "jacrev":
    case "jacfwd":
    case "hessian": {
      // The three share one runtime signature; their precise static types differ.
      const T = { jacrev, jacfwd, hessian }[L.t] as (f: Fn, o: object) => Fn;
      return T(f, {
        argnums: L.argnums,
        ...(L.chunkSize === null ? {} : { chunkSize: L.chunkSize }),
      });
    }
    case "jvp":
      return (...a) => {
        const n = a.length / 2;
        return jvp(f, a.slice(0, n), a.slice(n));
      };
    case "linearize":
      return (...a) => {
        const n = a.length / 2;
        const [o, fn] = linearize(f, ...a.slice(0, n));
        const t = fn(...a.slice(n));
        return L.withValue ? [o, t] : t;
      };
    case "vjp":
      return (...a) => {
        const [o, fn] = vjp(f, ...a.slice(0, L.nPrimals));
        // The cotangent has the output's structure, built from the other arguments.
        const cts = fn(unflattenLike(o, a.slice(L.nPrimals)) as Any);
        return L.withValue ? [o, cts] : cts;
      };
    case "vmap":
      return vmap(f, {
        inDims: L.inDims as Any,
        outDims: L.outDims,
        ...(L.chunkSize === null ? {} : { chunkSize: L.chunkSize }),
      });
    case "jit":
      return jit(f);
  }
}

/** Builds the whole stack, innermost layer first. */
export function buildStack(c: Case, captured: Tensor[]): Fn {
  return c.layers.reduce(
    (f, L) => applyLayer(L, f),
    buildProgram(c, captured),
  );
}

function toLeaf(x: unknown, what: string): Leaf {
  const t = x as Tensor;
  if (t === null || typeof t !== "object" || typeof t.data !== "function") {
    throw new TypeError(`${what} is not a tensor: ${String(x)}`);
  }
  return { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.data()) };
}

/** Runs the case: two calls, then reads both results, the inputs and the captures. */
export function runJacobi(c: Case): Outcome {
  try {
    const captured = c.captured.map((k) => f64(k.data, k.shape));
    const g = buildStack(c, captured);
    const args = c.inputs.map((set) =>
      set.map((data, k) => f64(data, c.argShapes[k]))
    );
    const r1 = g(...args[0]);
    const r2 = g(...args[1]);
    const calls = [r1, r2].map((r, k) =>
      treeLeaves(r).map((l, j) => toLeaf(l, `call ${k + 1}, output leaf ${j}`))
    ) as [Leaf[], Leaf[]];
    args.flat().forEach((t, k) => toLeaf(t, `argument tensor ${k}`));
    captured.forEach((t, k) => toLeaf(t, `closed-over tensor c${k}`));
    return { ok: true, calls };
  } catch (e) {
    const err = e as Error;
    return {
      ok: false,
      error: `${err?.name ?? "Error"}: ${err?.message ?? String(e)}`,
      stack: err?.stack,
    };
  }
}
