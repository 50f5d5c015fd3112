/**
 * Categories of generated cases that fail because of known jacobi bugs. A
 * case is skipped (reported as "ignored", with the category in its name)
 * only when it matches a category AND jacobi fails it with the category's
 * error; cases of a category that pass are compared with JAX as usual, so a
 * fix needs no change here to be tested. Remove an entry when its bug is
 * fixed; JACOBI_DIFF_KNOWN=1 runs every case without skipping.
 * @module
 */
import type { Case } from "./case.ts";

export interface KnownFailure {
  /** Short name shown in the test name. */
  name: string;
  /** The bug, with a minimal reproducer. */
  reason: string;
  /** Whether a case belongs to this category, from its program and stack alone. */
  matches: (c: Case) => boolean;
  /** The error jacobi throws on the category's failing cases. */
  error: RegExp;
}

export const KNOWN_FAILURES: KnownFailure[] = [];
