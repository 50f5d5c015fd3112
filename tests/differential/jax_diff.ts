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
 * - JACOBI_DIFF_KNOWN=1: also run the cases of KNOWN_FAILURES (see there);
 * - JACOBI_DIFF_SHRINK: how many failures to shrink to a small reproducer (default 10);
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
import { type Outcome, runJacobi } from "./jacobi_eval.ts";
import { shrink } from "./shrink.ts";
import { KNOWN_FAILURES } from "./known_failures.ts";
import { renderCase } from "./render.ts";

const env = (k: string) => Deno.env.get(k);
const SEED = Number(env("JACOBI_DIFF_SEED") ?? 1);
const COUNT = Number(env("JACOBI_DIFF_CASES") ?? 400);
const ONLY = env("JACOBI_DIFF_ONLY");
const RUN_KNOWN = env("JACOBI_DIFF_KNOWN") === "1";
const SHRINK = Number(env("JACOBI_DIFF_SHRINK") ?? 10);
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
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #writes: Promise<void> = Promise.resolve();
  #nextId = 1e9;
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
    this.#writer = this.#child.stdin.getWriter();
    for (const c of cases) this.#send(c);
    this.done = Promise.all([this.#read(), this.#readErr()])
      .then(() => this.#child.status).finally(() => this.#failRest());
  }

  #send(c: Case) {
    const line = new TextEncoder().encode(JSON.stringify(c) + "\n");
    this.#writes = this.#writes.then(() => this.#writer.write(line));
  }

  /** Evaluates one more case (a shrink candidate) under a fresh id. */
  query(c: Case): Promise<RefResult> {
    const index = this.#nextId++;
    const p = new Promise<RefResult>((r) => this.#waiting.set(index, r));
    this.#send({ ...c, index });
    return p;
  }

  /** No more cases: the process exits when it has answered the rest. */
  async close(): Promise<Deno.CommandStatus> {
    this.#writes = this.#writes.then(() => this.#writer.close());
    await this.#writes;
    return this.done;
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

/** The stack as nested calls, outermost first: `grad(sum(vmap(f)))`. */
function describeStack(c: Case): string {
  return c.layers.reduce((f, L) => {
    const name = L.t === "scalarize"
      ? L.kind
      : L.t === "grad" && L.value
      ? "valueAndGrad"
      : L.t;
    return `${name}(${f})`;
  }, "f");
}

interface Problem {
  /** "test": JAX rejected the case (a bug in the generator); "error": jacobi threw; "mismatch": values differ. */
  kind: "test" | "error" | "mismatch";
  /** The part of jacobi's error message that identifies the failure. */
  key: string;
  text: string;
}

function problemOf(c: Case, mine: Outcome, ref: RefResult): Problem | null {
  if (ref.error !== undefined) {
    return {
      kind: "test",
      key: "",
      text:
        `JAX could not evaluate the case (a bug in the test): ${ref.error}\n${
          (ref.trace ?? []).join("\n")
        }`,
    };
  }
  if (!mine.ok) {
    const frames = (mine.stack ?? "").split("\n").filter((l) =>
      l.includes("/src/")
    ).slice(0, 6);
    return {
      kind: "error",
      key: mine.error.slice(mine.error.lastIndexOf(": ") + 2),
      text: `jacobi threw ${mine.error}\n${frames.join("\n")}`,
    };
  }
  for (const k of [0, 1]) {
    const d = compareCall(c.outType, mine.calls[k], ref.calls![k], k + 1);
    if (d !== null) return { kind: "mismatch", key: "", text: d };
  }
  return null;
}

const expectedOf = (ref: RefResult) =>
  ref.calls?.map((call) => call.map((l) => l.data));

/** Whether `cand` fails as `p` did: the same error, or a mismatch with JAX. */
async function sameFailure(
  jax: JaxReference,
  p: Problem,
  cand: Case,
): Promise<boolean> {
  const mine = runJacobi(cand);
  // A candidate that makes jacobi throw the same error needs no JAX round
  // trip (JAX checks the final one); an invalid program throws another error.
  if (p.kind === "error") return !mine.ok && mine.error.endsWith(p.key);
  if (!mine.ok) return false;
  const q = problemOf(cand, mine, await jax.query(cand));
  return q !== null && q.kind === p.kind && q.key === p.key;
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
  // A case is skipped only when it is in a known category and jacobi shows
  // that category's symptom; the rest of a category is tested.
  const skipped = new Map<number, string>();
  for (const c of RUN_KNOWN ? [] : cases) {
    const ks = KNOWN_FAILURES.filter((k) => k.matches(c));
    if (ks.length === 0) continue;
    const r = runJacobi(c);
    const k = ks.find((k) => k.symptom(r));
    if (k) skipped.set(c.index, k.name);
  }
  const jax = new JaxReference(cases.filter((c) => !skipped.has(c.index)));
  const quiet = { sanitizeOps: false, sanitizeResources: false };
  let shrinksLeft = SHRINK;
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
        const problem = problemOf(c, mine, ref);
        if (problem === null) return;
        let text = `${problem.text}\n\nreproducer:\n${
          renderCase(c, expectedOf(ref))
        }\n`;
        if (problem.kind !== "test" && shrinksLeft-- > 0) {
          const { shrunk, tried } = await shrink(
            c,
            (cand) => sameFailure(jax, problem, cand),
          );
          const r2 = shrunk === c ? null : await jax.query(shrunk);
          const p2 = r2 && problemOf(shrunk, runJacobi(shrunk), r2);
          if (r2 !== null && p2 !== null && p2.kind === problem.kind) {
            text =
              `${problem.text}\n\nshrunk reproducer (${tried} candidates tried; ${
                p2?.text.split("\n")[0]
              }):\n${renderCase(shrunk, expectedOf(r2))}\n\n(original case: ${
                describeStack(c)
              }, ${c.program.nodes.length} steps; JACOBI_DIFF_ONLY=${c.index} shows it)\n`;
          }
        }
        throw new Error(text);
      },
    });
  }
  Deno.test({
    name: "the JAX process answered every case and exited cleanly",
    ...quiet,
    fn: async () => {
      const byName = new Map<string, number>();
      for (const n of skipped.values()) byName.set(n, (byName.get(n) ?? 0) + 1);
      console.log(
        `${cases.length} cases of seed ${SEED}; ${skipped.size} skipped as known failures${
          [...byName].map(([n, k]) => `\n  ${k} × ${n}`).join("")
        }`,
      );
      const status = await jax.close();
      if (!status.success) {
        throw new Error(`the JAX process exited with code ${status.code}`);
      }
    },
  });
}
