/**
 * Categories of generated cases that fail because of known jacobi bugs. A
 * case is skipped (reported as "ignored", with the category in its name)
 * only when it matches a category AND jacobi shows the category's symptom
 * (an error, or NaN where every value of a generated case is finite);
 * cases of a category that pass are compared with JAX as usual, so a fix
 * needs no change here to be tested. Remove an entry when its bug is fixed;
 * JACOBI_DIFF_KNOWN=1 runs every case without skipping.
 * @module
 */
import type { Case } from "./case.ts";
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

/**
 * Empty: the four categories this test found where the differential branch
 * began (jit traced under another transform, a tensor created by f and kept
 * across calls, a chunked vmap or Jacobian under a differentiating transform,
 * the gradient of prod at an exact zero) were fixed on main before it was
 * merged. An entry looks like:
 *
 * ```ts ignore
 * {
 *   name: "jit traced under another transform",
 *   reason: "... with a minimal reproducer ...",
 *   matches: (c) => c.layers.some((L) => L.t === "jit"),
 *   symptom: (o) => !o.ok && /tensor was disposed/.test(o.error),
 * }
 * ```
 */
export const KNOWN_FAILURES: KnownFailure[] = [];
