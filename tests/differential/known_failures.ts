/**
 * Categories of generated cases that fail because of known jacobi bugs. A
 * case is skipped (reported as "ignored", with the category in its name)
 * only when it matches a category AND jacobi shows the category's symptom
 * (an error, or NaN where every value of a generated case is finite); cases of a category that pass are compared with JAX as usual, so a
 * fix needs no change here to be tested. Remove an entry when its bug is
 * fixed; JACOBI_DIFF_KNOWN=1 runs every case without skipping.
 * @module
 */
import type { Case, Layer } from "./case.ts";
import type { Outcome } from "./jacobi_eval.ts";

export interface KnownFailure {
  /** Short name shown in the test name. */
  name: string;
  /** The bug, with a minimal reproducer. */
  reason: string;
  /** Whether a case belongs to this category, from its program and stack alone. */
  matches: (c: Case) => boolean;
  /** What jacobi does on the category's failing cases (decided without JAX). */
  symptom: (o: Outcome) => boolean;
}

const disposed = (o: Outcome) => !o.ok && /tensor was disposed/.test(o.error);
const returnsNaN = (o: Outcome) =>
  o.ok && o.calls.some((call) => call.some((l) => l.data.some(Number.isNaN)));

const DIFFERENTIATING = new Set<Layer["t"]>([
  "grad",
  "jacrev",
  "jacfwd",
  "hessian",
  "jvp",
  "vjp",
  "linearize",
]);

/** A layer of a kind in `outer` sits outside a layer for which `inner` holds. */
function nested(
  c: Case,
  inner: (L: Layer) => boolean,
  outer: (L: Layer) => boolean,
): boolean {
  const i = c.layers.findIndex(inner);
  return i >= 0 && c.layers.slice(i + 1).some(outer);
}

export const KNOWN_FAILURES: KnownFailure[] = [
  {
    name: "jit traced under another transform",
    reason:
      "jit traced inside another transform bakes tensors computed inside f " +
      "from constants into its cached program; the outer transform frees " +
      "them when its call returns, and the next call reads freed memory: " +
      "`const g = jacfwd(jit((x) => c.add(3))); g(x); g(x)` (c a tensor " +
      "made outside f) throws 'copyStrided: tensor was disposed' on the " +
      "second call; likewise `vjp(jit(x => tensor(0.5)), x)`, " +
      "`vmap(jit(x => tensor(-0.08).sub(x)))` and " +
      "`grad(jit((a, b) => b.mul(a.exp()).sum()), {argnums: 1})(a, b)` " +
      "(the last one on the first call).",
    matches: (c) =>
      nested(
        c,
        (L) => L.t === "jit",
        (L) => L.t !== "jit" && L.t !== "scalarize",
      ),
    symptom: disposed,
  },
  {
    name: "tensor created by f and kept across calls",
    reason:
      "A transform frees the tensors that the user's function creates and " +
      "stores outside itself (lazily built state): `const store = []; " +
      "const g = grad((w) => w.mul(store[0] ??= ones([4]).mul(0.5)).sum()); " +
      "g(w); g(w)` throws 'binary(mul): tensor was disposed' on the second call.",
    // Every step runs, the output's ancestors or not.
    matches: (c) =>
      c.program.nodes.some((n) => n.op === "lazy") &&
      c.layers.some((L) => L.t !== "jit" && L.t !== "scalarize"),
    symptom: disposed,
  },
  {
    name: "chunked vmap/Jacobian under a differentiating transform",
    reason:
      "A chunked vmap (chunkSize smaller than the batch) under linearize or " +
      "jacfwd frees values the outer transform still needs: " +
      "`linearize(vmap(jacfwd((a, b) => b.sin(), {argnums: 0}), " +
      "{inDims: [null, 0], chunkSize: 1}), a, b)[1](a, b)` throws " +
      "'binary(mul): tensor was disposed' (without chunkSize it passes).",
    matches: (c) =>
      nested(
        c,
        (L) => "chunkSize" in L && L.chunkSize !== null,
        (L) => DIFFERENTIATING.has(L.t),
      ),
    symptom: disposed,
  },
  {
    name: "gradient of prod at an exact zero",
    reason:
      "The derivative of prod is computed as y/x, NaN wherever a factor is " +
      "exactly zero (JAX and PyTorch give the product of the other factors): " +
      "`grad((x) => x.prod())(tensor([0, 2, 3]))` is [NaN, 0, 0], JAX " +
      "[6, 0, 0]; the generator meets it through exact zeros such as " +
      "`x.sub(x).prod(1)`.",
    matches: (c) =>
      c.program.nodes.some((n) => n.op === "reduce" && n.fn === "prod") &&
      c.layers.some((L) => DIFFERENTIATING.has(L.t)),
    symptom: returnsNaN,
  },
];
