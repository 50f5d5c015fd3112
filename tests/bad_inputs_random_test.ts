// Every public function called with random arguments, right and wrong:
// tensors of odd shapes (empty, scalar, mismatched) and dtypes, numbers out
// of range or not integers or NaN, bad shape lists, strings, null. Each call
// either returns something readable or throws an Error with a message; none
// traps inside WebAssembly, throws a non-Error, or corrupts memory (a fixed
// computation checked after every function still gives its exact values).
//
// A fixed seed and 40 calls per function by default; JACOBI_BAD_CALLS and
// JACOBI_BAD_SEED change them (`deno task test:long` runs 1,000).
import assert from "node:assert/strict";
import * as J from "../mod.ts";
import { env, Rng } from "./_helpers.ts";

const CALLS = Number(env("JACOBI_BAD_CALLS") ?? 40);
const SEED = Number(env("JACOBI_BAD_SEED") ?? 20261204);

// Left out: classes, state setters, file and network I/O, and loops whose
// random condition might never end.
const SKIP = new Set([
  "SparseMatrix",
  "SparsityPattern",
  "Tensor",
  "setNumThreads",
  "setDefaultDtype",
  "manualSeed",
  "resetPeakMemory",
  "save",
  "saveFile",
  "load",
  "loadFile",
  "readHeader",
  "whileLoop",
  "forLoop",
]);

type Fn = (...a: unknown[]) => unknown;

/** The public functions: top-level ones and those of the namespaces. */
function publicFunctions(): [string, Fn][] {
  const out: [string, Fn][] = [];
  for (const [k, v] of Object.entries(J)) {
    if (SKIP.has(k)) continue;
    if (typeof v === "function") out.push([k, v as Fn]);
    else if (typeof v === "object" && v !== null) {
      for (const [k2, v2] of Object.entries(v)) {
        if (typeof v2 === "function" && !/^[A-Z]/.test(k2)) {
          out.push([`${k}.${k2}`, v2 as Fn]);
        }
      }
    }
  }
  return out;
}

const SHAPES = [[], [3], [2, 3], [3, 3], [0], [2, 0, 3], [1, 1], [4, 1, 2], [
  2,
  2,
  2,
]];
const DTYPES = ["float32", "float64", "int32", "bool"] as const;
const NUMBERS = [0, 1, 2, -1, -7, 2.5, NaN, Infinity, 1e9, 3];
const LISTS = [[], [0], [1, 0], [2, 3], [-1], [3, 3, 3], [0.5], [1e9, 1e9]];
const OTHERS = [null, undefined, "float32", "bogus", {}, { dim: 1 }, true];

function randomArg(rng: Rng): unknown {
  const pick = <T>(xs: readonly T[]): T =>
    xs[Math.floor(rng.uniform(0, xs.length))];
  const k = rng.uniform(0, 1);
  if (k < 0.45) {
    const shape = pick(SHAPES);
    const n = shape.reduce((a, b) => a * b, 1);
    const dtype = pick(DTYPES);
    const v = Array.from({ length: n }, (_, i) => {
      const x = Math.sin(i + 1) * 2;
      return dtype === "bool"
        ? Number(x > 0)
        : dtype === "int32"
        ? Math.round(x)
        : x;
    });
    return J.tensor(v, { dtype }).reshape(shape);
  }
  if (k < 0.65) return pick(NUMBERS);
  if (k < 0.8) return pick(LISTS);
  if (k < 0.9) return pick(OTHERS);
  if (k < 0.95) return (x: J.Tensor) => x;
  return [J.tensor([1, 2]), J.tensor([3])];
}

/** Reads every tensor in `r` (a lazy bug shows when the data is read). */
function touch(r: unknown, depth = 0): void {
  if (depth > 4) return;
  if (r instanceof J.Tensor) {
    if (r._storage !== null && !r._storage.disposed) r.data();
  } else if (Array.isArray(r)) r.forEach((x) => touch(x, depth + 1));
}

/** A fixed computation whose exact result shows that memory is intact. */
function sane(): boolean {
  const a = J.tensor([[1, 2], [3, 4]]), b = J.tensor([[5, 6], [7, 8]]);
  const c = Array.from(J.matmul(a, b).data());
  const s = J.tensor(new Float32Array(4096).fill(0.5)).sum().item();
  return c.join() === "19,22,43,50" && s === 2048;
}

Deno.test(`bad inputs: ${CALLS} random calls of every public function (seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  const fns = publicFunctions();
  assert.ok(fns.length > 200, `${fns.length} functions`);
  const failures: string[] = [];
  for (const [name, f] of fns) {
    const t0 = performance.now();
    for (let c = 0; c < CALLS; c++) {
      const args = Array.from(
        { length: Math.floor(rng.uniform(0, 4)) },
        () => randomArg(rng),
      );
      let result: unknown;
      try {
        result = f(...args);
        touch(result);
      } catch (e) {
        const what = `${name}(${args.map(show).join(", ")})`;
        const bad = verdict(e);
        if (bad !== undefined) failures.push(`${what} ${bad}`);
      }
      if (result instanceof Promise) await result.catch(() => {});
    }
    const ms = performance.now() - t0;
    if (ms > 2000 && env("JACOBI_BAD_VERBOSE")) {
      console.log(`${name}: ${ms} ms`);
    }
    if (!sane()) failures.push(`memory corrupted after ${name}`);
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.deepEqual(failures, []);
});

Deno.test(`bad inputs: ${CALLS} random calls of every Tensor method (seed ${SEED})`, async () => {
  const rng = new Rng(SEED + 1);
  const skip = new Set(["constructor", "dispose", "backward", "requiresGrad"]);
  const names = Object.getOwnPropertyNames(J.Tensor.prototype).filter((k) => {
    const d = Object.getOwnPropertyDescriptor(J.Tensor.prototype, k)!;
    return typeof d.value === "function" && !skip.has(k) && !k.startsWith("_");
  });
  assert.ok(names.length > 100, `${names.length} methods`);
  const failures: string[] = [];
  for (const name of names) {
    for (let c = 0; c < CALLS; c++) {
      const self = randomArg(rng);
      if (!(self instanceof J.Tensor)) continue;
      const args = Array.from(
        { length: Math.floor(rng.uniform(0, 4)) },
        () => randomArg(rng),
      );
      try {
        touch((self as unknown as Record<string, Fn>)[name](...args));
      } catch (e) {
        const bad = verdict(e);
        if (bad !== undefined) {
          failures.push(
            `${show(self)}.${name}(${args.map(show).join(", ")}) ${bad}`,
          );
        }
      }
    }
    if (!sane()) failures.push(`memory corrupted after .${name}`);
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.deepEqual(failures, []);
});

/** What is wrong with an exception, or undefined when it is a clean error. */
function verdict(e: unknown): string | undefined {
  return !(e instanceof Error)
    ? `threw a non-Error: ${e}`
    : e instanceof WebAssembly.RuntimeError
    ? `trapped in WebAssembly: ${e.message}`
    : e.message.length === 0
    ? "threw an empty message"
    : /^internal/.test(e.message)
    ? `threw an internal error: ${e.message}`
    : undefined;
}

function show(a: unknown): string {
  if (a instanceof J.Tensor) return `${a.dtype}[${a.shape}]`;
  if (typeof a === "function") return "fn";
  return JSON.stringify(a) ?? String(a);
}
