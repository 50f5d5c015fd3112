// Test helpers for the optimizer passes of jit (src/jit/*.ts), each of
// which has an options object whose `enabled` turns it on or off.
import type { Tensor } from "../mod.ts";
import { checkProgram, type Program } from "../src/core/ir.ts";
import { optimize } from "../src/jit/execute.ts";
import { stage } from "../src/jit/make_program.ts";

/** A pass's switch (`transposeFoldOptions`, `productSumOptions`, ...). */
export interface PassSwitch {
  enabled: boolean;
}

/** Runs `body` with `pass` on or off, and turns it back on after. */
export function withPass<T>(pass: PassSwitch, on: boolean, body: () => T): T {
  pass.enabled = on;
  try {
    return body();
  } finally {
    pass.enabled = true;
  }
}

/** The program jit runs for `f` with `pass` on or off (checked). */
export function optimizedWith(
  pass: PassSwitch,
  on: boolean,
  f: (...a: Tensor[]) => unknown,
  args: readonly unknown[],
): Program {
  const p = withPass(pass, on, () => optimize(stage("test", f, args).program))
    .program;
  checkProgram(p);
  return p;
}
