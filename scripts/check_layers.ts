/**
 * Fails when the import graph of mod.ts has a cycle or an upward import.
 *
 * The layers, bottom to top (a module may import its own layer and the
 * layers below it, never one above; type-only imports count too):
 *
 *   backend/     WebAssembly, storage, kernels
 *   core/        Tensor, primitives, the Program IR, traces, rules, lax
 *   ops/         the public, argument-checked operations
 *   tree/        pytree utilities (public)
 *   random/      keyed random numbers
 *   nn/          initialisers
 *   optim/       optimizers and schedules
 *   transforms/  grad, vjp, jvp, vmap, jacrev, jacfwd, hessian, ...
 *   jit/         jit, makeProgram, the program executor
 *   autograd/    the PyTorch-style eager tape
 *   io/          saving and loading (safetensors)
 *   methods.ts, mod.ts
 *
 * Cycles are checked on runtime (code) imports among the project's own
 * files, within and across layers. Usage: deno run -A scripts/check_layers.ts
 * @module
 */

const LAYERS = [
  "src/backend/",
  "src/core/",
  "src/ops/",
  "src/linalg/",
  "src/tree/",
  "src/random/",
  "src/nn/",
  "src/optim/",
  "src/transforms/",
  "src/jit/",
  "src/autograd/",
  "src/io/",
  "src/methods.ts",
  "mod.ts",
];

interface Dep {
  code?: { specifier: string };
  type?: { specifier: string };
}
interface Info {
  modules: {
    specifier: string;
    dependencies?: (Dep & { specifier: string })[];
  }[];
}

const root = new URL("../", import.meta.url).href;
const rel = (s: string) => s.startsWith(root) ? s.slice(root.length) : null;
const layerOf = (path: string) =>
  LAYERS.findIndex((l) => l.endsWith("/") ? path.startsWith(l) : path === l);

const out = await new Deno.Command(Deno.execPath(), {
  args: ["info", "--json", "mod.ts"],
  cwd: new URL(root),
  stdout: "piped",
}).output();
if (!out.success) throw new Error("deno info failed");
const info = JSON.parse(new TextDecoder().decode(out.stdout)) as Info;

const problems: string[] = [];
const code = new Map<string, string[]>();
for (const m of info.modules) {
  const from = rel(m.specifier);
  if (from === null) continue;
  const lf = layerOf(from);
  if (lf < 0) problems.push(`${from} is in no layer (add it to LAYERS)`);
  const edges: string[] = [];
  for (const d of m.dependencies ?? []) {
    for (const kind of ["code", "type"] as const) {
      const to = d[kind] && rel(d[kind]!.specifier);
      if (!to) continue;
      if (kind === "code") edges.push(to);
      const lt = layerOf(to);
      if (lf >= 0 && lt > lf) {
        problems.push(
          `upward ${kind} import: ${from} (${LAYERS[lf]}) imports ${to} (${
            LAYERS[lt]
          })`,
        );
      }
    }
  }
  code.set(from, [...new Set(edges)]);
}

// Cycles among runtime imports (depth-first search with a path stack).
const state = new Map<string, "open" | "done">();
const path: string[] = [];
function visit(f: string): void {
  state.set(f, "open");
  path.push(f);
  for (const g of code.get(f) ?? []) {
    if (state.get(g) === "open") {
      problems.push(
        `import cycle: ${[...path.slice(path.indexOf(g)), g].join(" -> ")}`,
      );
    } else if (!state.has(g)) visit(g);
  }
  path.pop();
  state.set(f, "done");
}
for (const f of code.keys()) if (!state.has(f)) visit(f);

if (problems.length > 0) {
  console.error([...new Set(problems)].join("\n"));
  console.error(`${problems.length} layering problem(s)`);
  Deno.exit(1);
}
console.log(
  `layers ok: ${code.size} modules, no import cycle, no upward import`,
);
