/**
 * Differential test of jacobi against JAX (float64): random programs under
 * random transform stacks, each transformed function called twice, every
 * output compared with JAX's. Run it with `deno task test:jax` (which creates
 * .venv-jax/ with JAX when it is missing); plain `deno task test` does not
 * include it (the file name does not match the test pattern on purpose).
 *
 * Environment:
 * - JACOBI_DIFF_CASES: number of cases (default 400, the CI run);
 * - JACOBI_DIFF_SEED: the seed (default 1);
 * - JACOBI_DIFF_ONLY: comma-separated case indices to run alone;
 * - JACOBI_DIFF_KNOWN=1: also run the cases of KNOWN_FAILURES;
 * - JACOBI_JAX_PYTHON: the Python with JAX (default .venv-jax/bin/python).
 *
 * JAX evaluates in one long-lived Python process, concurrently with jacobi:
 * all cases are written to its standard input at once and each test waits
 * only for its own answer.
 * @module
 */
import type { Case } from "./case.ts";
import { compareCall, type RefLeaf } from "./compare.ts";
import { genCase } from "./gen.ts";
import { runJacobi } from "./jacobi_eval.ts";
import { KNOWN_FAILURES } from "./known_failures.ts";
import { renderCase } from "./render.ts";

const env = (k: string) => Deno.env.get(k);
const SEED = Number(env("JACOBI_DIFF_SEED") ?? 1);
const COUNT = Number(env("JACOBI_DIFF_CASES") ?? 400);
const ONLY = env("JACOBI_DIFF_ONLY");
const RUN_KNOWN = env("JACOBI_DIFF_KNOWN") === "1";
const here = new URL(".", import.meta.url);
const root = new URL("../../", here);
const PYTHON = env("JACOBI_JAX_PYTHON") ??
  new URL(".venv-jax/bin/python", root).pathname;

type RefResult = {
  index: number;
  calls?: RefLeaf[][];
  error?: string;
  trace?: string[];
};

/** The Python process and a promise per case index. */
class JaxReference {
  #waiting = new Map<number, (r: RefResult) => void>();
  #results = new Map<number, Promise<RefResult>>();
  #stderr = "";
  #child: Deno.ChildProcess;
  done: Promise<Deno.CommandStatus>;

  constructor(cases: Case[]) {
    for (const c of cases) {
      this.#results.set(
        c.index,
        new Promise((resolve) => this.#waiting.set(c.index, resolve)),
      );
    }
    this.#child = new Deno.Command(PYTHON, {
      args: [new URL("jax_ref.py", here).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { JAX_PLATFORMS: "cpu", TF_CPP_MIN_LOG_LEVEL: "3" },
    }).spawn();
    this.done = Promise.all([
      this.#write(cases),
      this.#read(),
      this.#readErr(),
    ]).then(() => this.#child.status).finally(() => this.#failRest());
  }

  async #write(cases: Case[]) {
    const w = this.#child.stdin.getWriter();
    const enc = new TextEncoder();
    for (const c of cases) await w.write(enc.encode(JSON.stringify(c) + "\n"));
    await w.close();
  }

  async #read() {
    let buf = "";
    for await (
      const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const r = JSON.parse(buf.slice(0, nl)) as RefResult;
        buf = buf.slice(nl + 1);
        this.#waiting.get(r.index)?.(r);
        this.#waiting.delete(r.index);
      }
    }
  }

  async #readErr() {
    for await (
      const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())
    ) this.#stderr = (this.#stderr + chunk).slice(-4000);
  }

  /** Cases the process never answered (it died) get its stderr as the error. */
  #failRest() {
    for (const [index, resolve] of this.#waiting) {
      resolve({
        index,
        error:
          `the JAX process ended without answering; its stderr:\n${this.#stderr}`,
      });
    }
    this.#waiting.clear();
  }

  result(index: number): Promise<RefResult> {
    return this.#results.get(index)!;
  }
}

function describeStack(c: Case): string {
  return c.layers.map((L) => L.t).join("∘") || "none";
}

const indices = ONLY
  ? ONLY.split(",").map(Number)
  : Array.from({ length: COUNT }, (_, i) => i);

let venvOk = true;
try {
  Deno.statSync(PYTHON);
} catch {
  venvOk = false;
}

if (!venvOk) {
  Deno.test("differential test against JAX: the JAX environment exists", () => {
    throw new Error(
      `${PYTHON} is missing: run \`deno task test:jax\`, which creates .venv-jax/ with JAX from PyPI (or set JACOBI_JAX_PYTHON)`,
    );
  });
} else {
  const cases = indices.map((i) => genCase(SEED, i));
  const skipped = new Map<number, string>();
  for (const c of cases) {
    const known = KNOWN_FAILURES.find((k) => k.matches(c));
    if (known && !RUN_KNOWN) skipped.set(c.index, known.name);
  }
  const jax = new JaxReference(cases.filter((c) => !skipped.has(c.index)));
  const quiet = { sanitizeOps: false, sanitizeResources: false };
  for (const c of cases) {
    const known = skipped.get(c.index);
    Deno.test({
      name: `case ${c.index}: ${describeStack(c)}${
        known ? ` [known failure: ${known}]` : ""
      }`,
      ignore: known !== undefined,
      ...quiet,
      fn: async () => {
        const mine = runJacobi(c);
        const ref = await jax.result(c.index);
        let problem: string | null = null;
        if (ref.error !== undefined) {
          problem =
            `JAX could not evaluate the case (a bug in the test): ${ref.error}\n${
              (ref.trace ?? []).join("\n")
            }`;
        } else if (!mine.ok) {
          problem = `jacobi threw ${mine.error}\n${
            (mine.stack ?? "").split("\n").slice(1, 8).join("\n")
          }`;
        } else {
          for (const k of [0, 1]) {
            problem ??= compareCall(
              c.outType,
              mine.calls[k],
              ref.calls![k],
              k + 1,
            );
          }
        }
        if (problem !== null) {
          const expected = ref.calls?.map((call) => call.map((l) => l.data));
          throw new Error(
            `${problem}\n\nreproducer:\n${renderCase(c, expected)}\n`,
          );
        }
      },
    });
  }
  Deno.test({
    name: "the JAX process answered every case and exited cleanly",
    ...quiet,
    fn: async () => {
      const status = await jax.done;
      if (!status.success) {
        throw new Error(`the JAX process exited with code ${status.code}`);
      }
    },
  });
}
