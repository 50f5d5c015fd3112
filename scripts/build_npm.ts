/**
 * `deno task npm`: builds the npm package in `npm/` (gitignored).
 *
 * dnt and JSR are out of reach here, so this is our own build:
 *
 * - JavaScript and declarations come from TypeScript's own compiler (npm
 *   `typescript`, pinned in scripts/npm/package.json) with
 *   `rewriteRelativeImportExtensions`, which turns `./x.ts` imports into
 *   `./x.js`. We chose tsc over `deno bundle` (+ tsc for declarations): one
 *   tool gives both the JavaScript and `.d.ts` files with the same module
 *   layout (so a declaration sits beside its module and the JSDoc carries
 *   over), type-checks the sources with a compiler Deno does not ship, and
 *   leaves bundling to the user's bundler (each module stays tree-shakable).
 *   Two passes: JavaScript without comments (smaller), then declarations
 *   with their JSDoc (editor help).
 * - The wasm-bindgen declarations (`kernels.d.ts`) are copied as is;
 *   the WebAssembly stays inlined (base64) in `kernels_wasm.js`, so importing
 *   the package reads no file and fetches nothing, in Node and in browsers.
 * - `@jacobi/jacobi/external`: a copy of the JavaScript whose wasm loader
 *   reads or fetches the shipped `kernels.wasm` instead (smaller bundles).
 * - `package.json` (name, version from deno.json, `exports`, `types`,
 *   `engines`, `sideEffects`, license), README.md and LICENSE.
 * - Checks: no Deno globals, `import.meta.main`, `npm:`/`jsr:` specifiers or
 *   `.ts` imports left in the output; `npm pack --dry-run` lists only
 *   package.json, README.md, LICENSE and `esm/**.{js,d.ts}`, and every
 *   module the package needs.
 * - Prints a size report (raw and gzip, per part and the packed tarball).
 *
 * Usage: deno task npm [--quiet]
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const tools = join(root, "scripts/npm");
const out = join(root, "npm");
const esm = join(out, "esm");
const quiet = Deno.args.includes("--quiet");
const NAME = "@jacobi/jacobi";

function log(msg: string): void {
  if (!quiet) console.log(msg);
}

async function run(
  cmd: string,
  args: string[],
  cwd = root,
): Promise<string> {
  const res = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(res.stdout);
  if (res.code !== 0) {
    const stderr = new TextDecoder().decode(res.stderr);
    throw new Error(
      `build_npm: ${cmd} ${
        args.join(" ")
      } exited ${res.code}\n${stdout}${stderr}`,
    );
  }
  return stdout;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1).padStart(8)} KiB`;
}

// ------------------------------------------------------------------ tools
const tsc = join(tools, "node_modules/typescript/bin/tsc");
if (!(await exists(tsc))) {
  log("build_npm: installing TypeScript (scripts/npm, npm ci)");
  await run("npm", ["ci", "--no-audit", "--no-fund"], tools);
}

// ------------------------------------------------------------------ compile
const denoJson = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
const version: string = denoJson.version;
await Deno.remove(out, { recursive: true }).catch(() => {});
await Deno.mkdir(esm, { recursive: true });

const tmp = await Deno.makeTempDir({ prefix: "jacobi_npm_" });
try {
  const base = {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "Bundler",
    lib: ["ES2023", "ESNext.Disposable", "DOM"],
    types: [],
    strict: true,
    skipLibCheck: true,
    noEmitOnError: true,
    rewriteRelativeImportExtensions: true,
    rootDir: root,
    outDir: esm,
    newLine: "lf",
  };
  const passes = [
    { name: "js", options: { ...base, removeComments: true } },
    {
      name: "dts",
      options: { ...base, declaration: true, emitDeclarationOnly: true },
    },
  ];
  for (const pass of passes) {
    const config = join(tmp, `tsconfig.${pass.name}.json`);
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        compilerOptions: pass.options,
        files: [
          join(root, "mod.ts"),
          join(root, "src/backend/wasm_external.ts"),
        ],
      }),
    );
    await run("node", [tsc, "-p", config]);
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}

// tsc rewrites `.ts` specifiers in JavaScript only, not in declarations
// (TypeScript 5.9): rewrite them there, and point the JSDoc examples'
// `./mod.ts` at the package name.
for await (const f of walk(esm)) {
  if (!f.endsWith(".d.ts")) continue;
  const text = await Deno.readTextFile(f);
  const fixed = text.split("\n").map((line) =>
    // A string const declares its literal type: the inlined wasm would be
    // copied into kernels_wasm.d.ts (300 KiB) for nothing.
    /^export declare const \w+ = "[^"]{100,}";$/.test(line)
      ? line.replace(/ = "[^"]*";$/, ": string;")
      : /^\s*\*/.test(line)
      ? line.replace(/(["'])\.\/mod\.ts\1/g, `$1${NAME}$1`)
      : line.replace(
        /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g,
        "$1$2.js$3",
      )
  ).join("\n");
  if (fixed !== text) await Deno.writeTextFile(f, fixed);
}

// The declarations of the raw kernels (the types of src/backend/wasm.ts).
for (const f of ["kernels.d.ts"]) {
  await Deno.copyFile(
    join(root, "src/backend/wasm", f),
    join(esm, "src/backend/wasm", f),
  );
}

// ------------------------------------------------------------------ external
// `@jacobi/jacobi/external`: the same modules, but src/backend/wasm.js loads
// a separate kernels.wasm (top-level await) instead of the inlined base64.
// ES modules share one graph per file, so the entry is a copy of the
// JavaScript under esm/external/ with that one module swapped; its
// declarations are the main entry's (same API), and kernels_wasm.js (the
// inlined module) is left out of the copy.
const extDir = join(esm, "external");
const wasmExternal = join(esm, "src/backend/wasm_external");
const esmFiles: string[] = [];
for await (const f of walk(esm)) esmFiles.push(f);
for (const f of esmFiles) {
  if (!f.endsWith(".js")) continue;
  const rel = relative(esm, f);
  if (
    rel === "src/backend/wasm/kernels_wasm.js" ||
    rel === "src/backend/wasm_external.js"
  ) continue;
  const to = join(extDir, rel);
  await Deno.mkdir(dirname(to), { recursive: true });
  await Deno.copyFile(
    rel === "src/backend/wasm.js" ? `${wasmExternal}.js` : f,
    to,
  );
}
await Deno.remove(`${wasmExternal}.js`);
await Deno.remove(`${wasmExternal}.d.ts`);
{
  const { WASM_BASE64, WASM_SHA256 } = await import(
    "../src/backend/wasm/kernels_wasm.ts"
  );
  const bin = atob(WASM_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const digest = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  if (digest !== WASM_SHA256) {
    throw new Error(`build_npm: kernels.wasm sha256 ${digest} != WASM_SHA256`);
  }
  await Deno.writeFile(join(extDir, "src/backend/kernels.wasm"), bytes);
}

// ------------------------------------------------------------------ package
const pkg = {
  name: NAME,
  version,
  description:
    "Composable function transforms (grad, vjp, jvp, vmap, jacrev, jacfwd, hessian, hvp) on tensors with Rust→WebAssembly kernels.",
  license: "MIT",
  type: "module",
  main: "./esm/mod.js",
  module: "./esm/mod.js",
  types: "./esm/mod.d.ts",
  exports: {
    ".": {
      types: "./esm/mod.d.ts",
      import: "./esm/mod.js",
      default: "./esm/mod.js",
    },
    // The WebAssembly loaded from a separate file (see esm/external above).
    "./external": {
      types: "./esm/mod.d.ts",
      import: "./esm/external/mod.js",
      default: "./esm/external/mod.js",
    },
    "./kernels.wasm": "./esm/external/src/backend/kernels.wasm",
    "./package.json": "./package.json",
  },
  files: [
    "esm/**/*.js",
    "esm/**/*.d.ts",
    "esm/external/src/backend/kernels.wasm",
  ],
  // Importing instantiates the inlined WebAssembly (src/backend/wasm.js) and
  // attaches Tensor's methods (src/methods.js); every other module only
  // defines things. Bundlers may drop the rest (tests/node/bundle.test.mjs).
  sideEffects: [
    "./esm/src/backend/wasm.js",
    "./esm/src/methods.js",
    "./esm/external/src/backend/wasm.js",
    "./esm/external/src/methods.js",
  ],
  engines: { node: ">=20" },
  keywords: [
    "autodiff",
    "automatic-differentiation",
    "jacobian",
    "hessian",
    "vmap",
    "grad",
    "tensor",
    "webassembly",
  ],
};
await Deno.writeTextFile(
  join(out, "package.json"),
  JSON.stringify(pkg, null, 2) + "\n",
);
const readme = (await Deno.readTextFile(join(tools, "README.md")))
  .replaceAll("{{version}}", version);
await Deno.writeTextFile(join(out, "README.md"), readme);
await Deno.copyFile(join(root, "LICENSE"), join(out, "LICENSE"));

// ------------------------------------------------------------------ checks
const problems: string[] = [];
const files: string[] = [];
for await (const f of walk(out)) files.push(f);
files.sort();
const forbidden: [RegExp, string][] = [
  // `Deno` as a value (a global), not inside a string such as
  // Symbol.for("Deno.customInspect").
  [/(?<![\w$."'`])Deno\s*[.[]/, "Deno global"],
  [/globalThis\s*\.\s*Deno\b/, "globalThis.Deno"],
  [/import\.meta\.main/, "import.meta.main"],
  [/from\s*["'](npm|jsr|node):/, "npm:/jsr:/node: specifier"],
  [/(from|import)\s*\(?\s*["'][^"']+\.ts["']/, ".ts import"],
];
for (const f of files) {
  if (!/\.(js|d\.ts)$/.test(f)) continue;
  const text = await Deno.readTextFile(f);
  text.split("\n").forEach((line, i) => {
    for (const [re, what] of forbidden) {
      if (re.test(line)) {
        problems.push(`${relative(out, f)}:${i + 1}: ${what}: ${line.trim()}`);
      }
    }
  });
}
for (const need of ["esm/mod.js", "esm/mod.d.ts"]) {
  if (!files.includes(join(out, need))) problems.push(`missing ${need}`);
}

// Every relative import in the JavaScript resolves to a shipped file.
const shipped = new Set(files.map((f) => relative(out, f)));
for (const f of files.filter((f) => f.endsWith(".js"))) {
  const text = await Deno.readTextFile(f);
  for (
    const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.[^"']+)["']/g)
  ) {
    const target = relative(out, join(dirname(f), m[1]));
    if (!shipped.has(target)) {
      problems.push(`${relative(out, f)} imports missing ${m[1]}`);
    }
  }
}

// npm pack --dry-run: only what should ship.
const packJson = JSON.parse(
  await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], out),
);
const packed: { path: string; size: number }[] = packJson[0].files;
const allowed =
  /^(package\.json|README\.md|LICENSE|esm\/.+\.(js|d\.ts)|esm\/external\/src\/backend\/kernels\.wasm)$/;
for (const p of packed) {
  if (!allowed.test(p.path)) problems.push(`npm pack would ship ${p.path}`);
}
for (const f of shipped) {
  if (!packed.some((p) => p.path === f)) {
    problems.push(`npm pack leaves out ${f}`);
  }
}

if (problems.length > 0) {
  console.error(`build_npm: ${problems.length} problem(s):`);
  for (const p of problems) console.error(`  ${p}`);
  Deno.exit(1);
}

// ------------------------------------------------------------------ report
type Part = { files: number; raw: number; gz: number };
const parts = new Map<string, Part>();
for (const f of files) {
  const rel = relative(out, f);
  const part = rel.endsWith("kernels_wasm.js")
    ? "wasm (inlined base64 module)"
    : rel.endsWith(".wasm")
    ? "wasm (kernels.wasm, for /external)"
    : rel.startsWith("esm/external/")
    ? "JavaScript of /external (a copy)"
    : rel.endsWith(".d.ts")
    ? "declarations (.d.ts)"
    : rel.endsWith(".js")
    ? "JavaScript (.js, without the wasm)"
    : "package.json, README, LICENSE";
  const bytes = await Deno.readFile(f);
  const p = parts.get(part) ?? { files: 0, raw: 0, gz: 0 };
  p.files++;
  p.raw += bytes.byteLength;
  p.gz += await gzipSize(bytes);
  parts.set(part, p);
}
const total = [...parts.values()].reduce(
  (a, p) => ({ files: a.files + p.files, raw: a.raw + p.raw, gz: a.gz + p.gz }),
  { files: 0, raw: 0, gz: 0 },
);
console.log(`npm/: ${pkg.name}@${version}`);
console.log(
  `  ${"part".padEnd(36)} ${"files".padStart(5)} ${"raw".padStart(12)} ${
    "gzip".padStart(12)
  }`,
);
for (const [name, p] of [...parts, ["total", total] as const]) {
  console.log(
    `  ${name.padEnd(36)} ${String(p.files).padStart(5)} ${kib(p.raw)} ${
      kib(p.gz)
    }`,
  );
}
console.log(
  `  npm pack: ${packJson[0].filename}, ${packed.length} files, ` +
    `tarball ${kib(packJson[0].size).trim()}, unpacked ${
      kib(packJson[0].unpackedSize).trim()
    }`,
);
console.log(
  "  checks: no Deno globals / import.meta.main / npm:, jsr:, node: or .ts " +
    "imports; relative imports resolve; npm pack ships only package.json, " +
    "README.md, LICENSE, esm/**.{js,d.ts} and the external entry's kernels.wasm",
);
