/**
 * Categories of generated cases that fail because of known jacobi bugs, and
 * are therefore skipped (reported as "ignored") unless JACOBI_DIFF_KNOWN=1.
 * Each entry names the bug; remove it when the bug is fixed (run with
 * JACOBI_DIFF_KNOWN=1 to see whether its cases pass).
 * @module
 */
import type { Case } from "./case.ts";

export interface KnownFailure {
  /** Short name shown in the test name. */
  name: string;
  /** The bug, with a minimal reproducer. */
  reason: string;
  /** Whether a case belongs to this category (decided from the case alone, before running it). */
  matches: (c: Case) => boolean;
}

export const KNOWN_FAILURES: KnownFailure[] = [];
