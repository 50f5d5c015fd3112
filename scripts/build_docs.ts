/**
 * `deno task docs`: builds the documentation site into build/docs/
 * (gitignored), or the folder given with `--out DIR`.
 *
 * - `api/`: the API reference, `deno doc --html` of mod.ts (every export,
 *   the `autograd` namespace's members included, with signatures and
 *   examples).
 * - `index.html` and `guides/*.html`: docs/index.md and docs/guides/*.md
 *   rendered from markdown (npm `marked`, pinned), with a navigation bar,
 *   links between the pages rewritten from `.md` to `.html`, and code
 *   highlighted by the Prism build that `deno doc` ships in `api/`.
 * - Checks: every page has a title, and every relative link of every
 *   rendered page points at a file of the site.
 *
 * The code blocks of the pages are run by tests/docs_test.ts; the rendered
 * front page is opened in headless Chromium by tests/docs_site_test.ts.
 *
 * Usage: deno task docs [--out DIR] [--quiet]
 * @module
 */
// A build-time tool, pinned here rather than in the package's import map.
// deno-lint-ignore no-import-prefix
import { Marked } from "npm:marked@15.0.12";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const args = [...Deno.args];
const outFlag = args.indexOf("--out");
const out = outFlag >= 0 ? args[outFlag + 1] : join(root, "build/docs");
const quiet = args.includes("--quiet");
const log = (msg: string) => {
  if (!quiet) console.log(msg);
};

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

interface Page {
  /** Source markdown, relative to docs/. */
  source: string;
  /** Output HTML, relative to the site. */
  target: string;
  title: string;
  html: string;
}

// ------------------------------------------------------------------ API
await Deno.remove(out, { recursive: true }).catch(() => {});
await Deno.mkdir(join(out, "guides"), { recursive: true });
const doc = await new Deno.Command(Deno.execPath(), {
  args: [
    "doc",
    "--html",
    "--name=jacobi",
    `--output=${join(out, "api")}`,
    join(root, "mod.ts"),
  ],
  stdout: "piped",
  stderr: "piped",
}).output();
if (!doc.success) {
  console.error(new TextDecoder().decode(doc.stderr));
  throw new Error("build_docs: deno doc --html failed");
}

// ------------------------------------------------------------------ pages
const sources = ["index.md"];
for (const e of Deno.readDirSync(join(root, "docs/guides"))) {
  if (e.isFile && e.name.endsWith(".md")) sources.push(`guides/${e.name}`);
}
// Guides in the order the front page lists them, then any others by name.
const listed = [
  ...(await Deno.readTextFile(join(root, "docs/index.md")))
    .matchAll(/\]\((guides\/[^)#]+\.md)\)/g),
].map((m) => m[1]);
const rank = (s: string) =>
  s === "index.md"
    ? -1
    : listed.includes(s)
    ? listed.indexOf(s)
    : listed.length;
sources.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));

const marked = new Marked({ gfm: true });
const pages: Page[] = [];
for (const source of sources) {
  const md = await Deno.readTextFile(join(root, "docs", source));
  const title = md.match(/^# (.+)$/m)?.[1];
  if (!title) throw new Error(`build_docs: docs/${source} has no "# title"`);
  let html = await marked.parse(md);
  // Links between pages: x.md -> x.html.
  html = html.replace(
    /href="((?!https?:|#)[^"]*?)\.md(#[^"]*)?"/g,
    (_, path, hash = "") => `href="${path}.html${hash}"`,
  );
  pages.push({
    source,
    target: source.replace(/\.md$/, ".html"),
    title: title.replace(/`/g, ""),
    html,
  });
}

const guides = pages.filter((p) => p.source.startsWith("guides/"));
function layout(page: Page): string {
  const up = page.target.includes("/") ? "../" : "";
  const nav = [
    `<a href="${up}index.html"${
      page.target === "index.html" ? ' aria-current="page"' : ""
    }>jacobi</a>`,
    ...guides.map((g) =>
      `<a href="${up}${g.target}"${g === page ? ' aria-current="page"' : ""}>${
        escapeHtml(g.title)
      }</a>`
    ),
    `<a href="${up}api/index.html">API reference</a>`,
  ].join("\n      ");
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(page.title)}${
    page.target === "index.html" ? "" : " · jacobi"
  }</title>
  <link rel="stylesheet" href="${up}style.css">
  <link rel="stylesheet" href="${up}api/prism.css">
  <script src="${up}api/prism.js" defer></script>
</head>
<body>
  <nav>
      ${nav}
  </nav>
  <main id="content">
${page.html}
  </main>
  <footer>Every code block on this site runs in jacobi's test suite.</footer>
</body>
</html>
`;
}

const STYLE =
  `:root { color-scheme: light; --fg: #1d1d1f; --muted: #5f6368; --line: #e3e3e6; --accent: #0b57d0; --code: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); display: grid; grid-template-columns: 17rem minmax(0, 1fr); min-height: 100vh; }
nav { border-right: 1px solid var(--line); padding: 1.5rem 1rem; display: flex; flex-direction: column; gap: .35rem; position: sticky; top: 0; height: 100vh; overflow: auto; font-size: .92rem; }
nav a { color: var(--fg); text-decoration: none; padding: .25rem .5rem; border-radius: .4rem; }
nav a:first-child { font-weight: 700; font-size: 1.15rem; margin-bottom: .5rem; }
nav a[aria-current="page"], nav a:hover { background: #eef3fd; color: var(--accent); }
main { padding: 2rem 3rem 4rem; max-width: 60rem; }
footer { grid-column: 2; padding: 1rem 3rem 2rem; color: var(--muted); font-size: .85rem; }
h1 { font-size: 2.1rem; margin: 0 0 1rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
a { color: var(--accent); }
code { font: .88em/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--code); padding: .1em .3em; border-radius: .3em; }
pre { background: var(--code); padding: 1rem; border-radius: .5rem; overflow: auto; border: 1px solid var(--line); }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; display: block; overflow: auto; font-size: .9rem; margin: 1rem 0; }
th, td { border: 1px solid var(--line); padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: var(--code); }
@media (max-width: 50rem) { body { display: block; } nav { position: static; height: auto; border-right: none; border-bottom: 1px solid var(--line); } main, footer { padding: 1.5rem; } }
`;

await Deno.writeTextFile(join(out, "style.css"), STYLE);
for (const page of pages) {
  await Deno.mkdir(dirname(join(out, page.target)), { recursive: true });
  await Deno.writeTextFile(join(out, page.target), layout(page));
}

// ------------------------------------------------------------------ checks
const problems: string[] = [];
async function exists(path: string) {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
for (const page of pages) {
  const html = await Deno.readTextFile(join(out, page.target));
  for (const m of html.matchAll(/(?:href|src)="([^"#?]+)[^"]*"/g)) {
    const link = m[1];
    if (/^(https?:|mailto:)/.test(link)) continue;
    const target = join(out, dirname(page.target), link);
    if (!(await exists(target))) {
      problems.push(`${page.target}: broken link ${link}`);
    }
  }
}
// The namespaces' members have their own pages (deno doc lists a
// namespace's members only through star re-exports).
for (
  const name of [
    "autograd.grad",
    "autograd.jacobian",
    "autograd.hessian",
    "autograd.backward",
    "autograd.functional.jacobian",
  ]
) {
  if (!(await exists(join(out, "api/~", `${name}.html`)))) {
    problems.push(`api: no page for ${name}`);
  }
}
if (problems.length > 0) {
  console.error(`build_docs: ${problems.length} problem(s):`);
  for (const p of problems) console.error(`  ${p}`);
  Deno.exit(1);
}

let files = 0;
async function count(dir: string) {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) await count(join(dir, e.name));
    else files++;
  }
}
await count(out);
log(
  `docs: ${
    relative(Deno.cwd(), out) || "."
  }/index.html, ${guides.length} guides, API reference in api/ (${files} files)`,
);
