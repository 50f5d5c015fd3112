/**
 * Every row of the primitive table (primitives_cases.ts) through the
 * transform checks of _op_checks.ts, in float64 (and jit also in float32).
 * @module
 */
import { CASES } from "./primitives_cases.ts";
import { registerChecks } from "./_op_checks.ts";

registerChecks(CASES, 1000);
