/**
 * Runs a command for the tests that drive other processes (deno, chromium,
 * rm): its exit code and its output as text, with colours off.
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root, where commands run unless told otherwise. */
const root = fileURLToPath(new URL("../", import.meta.url));

/** The result of {@link run}. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd` with `args` to completion; `stdin`, when given, is written to
 * its standard input, and `cwd` defaults to the repository root.
 */
export async function run(
  cmd: string,
  args: string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? root,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
