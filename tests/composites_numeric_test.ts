/**
 * Every row of the composite case table through the transform checks of
 * _op_checks.ts (the same ones as the primitive table), in float64.
 * @module
 */
import { COMPOSITE_CASES, COVERED } from "./composites_cases.ts";
import { registerChecks } from "./_op_checks.ts";

Deno.test("the composite case table covers every composite", () => {
  const missing = COVERED.filter((name) =>
    !COMPOSITE_CASES.some((c) => c.name.startsWith(`${name}(`))
  );
  if (missing.length > 0) {
    throw new Error(`no case for: ${missing.join(", ")}`);
  }
});

registerChecks(COMPOSITE_CASES, 7000);
