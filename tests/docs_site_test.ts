/**
 * `deno task docs` builds a site (here into a temporary folder): the front
 * page and one page per guide, and an API reference in which every export,
 * every member of the `autograd` namespaces, and parameters with defaults
 * (shown as optional) appear. Headless Chromium then renders the front page:
 * the screenshot must be a real PNG of some size, and the rendered DOM must
 * hold the page's text and the highlighting that its scripts add. The
 * Chromium part is ignored, saying why, when no Chromium is installed.
 */
import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as J from "../mod.ts";
import { run } from "./_run.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
const dir = `${tmp}/jacobi_docs_${crypto.randomUUID()}`;
const site = `${dir}/site`;
const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  },
);

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

/** A page's text with the tags removed and whitespace collapsed. */
const text = (path: string) =>
  Deno.readTextFileSync(path).replace(/<[^>]*>/g, " ").replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");

let built = false;
async function build() {
  if (built) return;
  const r = await run(Deno.execPath(), [
    "run",
    "--no-lock",
    "--allow-read",
    `--allow-write=${site}`,
    "--allow-run",
    "--allow-env",
    `${root}scripts/build_docs.ts`,
    "--out",
    site,
    "--quiet",
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  built = true;
}

Deno.test("deno task docs: the front page, every guide and the API reference are built", async () => {
  await build();
  assert.ok(exists(`${site}/index.html`));
  const guides = [...Deno.readDirSync(`${root}docs/guides`)]
    .filter((e) => e.name.endsWith(".md")).map((e) => e.name.slice(0, -3));
  assert.ok(guides.length >= 7, guides.join());
  const front = text(`${site}/index.html`);
  for (const g of guides) {
    assert.ok(exists(`${site}/guides/${g}.html`), g);
    const title = Deno.readTextFileSync(`${root}docs/guides/${g}.md`)
      .match(/^# (.+)$/m)![1].replace(/`/g, "");
    assert.ok(front.includes(title), `the front page lists "${title}"`);
  }
  assert.ok(exists(`${site}/api/index.html`));
});

Deno.test("deno task docs: the API reference has a page for every export and every namespace member", async () => {
  await build();
  const api = `${site}/api/~`;
  const missing: string[] = [];
  for (const name of Object.keys(J)) {
    if (!exists(`${api}/${name}.html`)) missing.push(name);
  }
  for (const name of Object.keys(J.autograd)) {
    if (!exists(`${api}/autograd.${name}.html`)) {
      missing.push(`autograd.${name}`);
    }
  }
  for (const name of Object.keys(J.autograd.functional)) {
    if (!exists(`${api}/autograd.functional.${name}.html`)) {
      missing.push(`autograd.functional.${name}`);
    }
  }
  assert.deepEqual(missing, []);
});

Deno.test("deno task docs: parameters with defaults are shown as optional", async () => {
  await build();
  const api = `${site}/api/~`;
  const cases: [string, RegExp][] = [
    ["tensor", /options \? : DTypeOptions/],
    ["transpose", /dim0 \? , dim1 \? \)/],
    ["sum", /keepdim \? : boolean/],
    ["jacrev", /options \? : JacobianOptions/],
    ["autograd.grad", /options \? : AutogradOptions/],
    ["save", /options \? : SaveOptions/],
    ["arange", /step \? : number/],
  ];
  for (const [page, re] of cases) {
    // The signature's tokens are separate elements: spaces between them.
    const t = Deno.readTextFileSync(`${api}/${page}.html`)
      .replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");
    assert.match(t, re, page);
  }
});

Deno.test({
  name: `deno task docs: headless Chromium renders the front page${
    chromium ? "" : " (skipped: chromium is not installed)"
  }`,
  ignore: chromium === undefined,
  fn: async () => {
    await build();
    const url = pathToFileURL(`${site}/index.html`).href;
    const flags = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--hide-scrollbars",
      "--no-first-run",
      "--disable-background-networking",
      "--window-size=1280,900",
      "--virtual-time-budget=5000",
    ];
    const shot = `${dir}/front.png`;
    const s = await run(chromium!, [
      ...flags,
      `--user-data-dir=${dir}/profile1`,
      `--screenshot=${shot}`,
      url,
    ]);
    assert.ok(exists(shot), `no screenshot (exit ${s.code}): ${s.stderr}`);
    const png = Deno.readFileSync(shot);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    // A blank 1280×900 page compresses to a few KiB; text, code and the
    // navigation make it far larger.
    assert.ok(png.length > 30_000, `screenshot is only ${png.length} bytes`);
    const d = await run(chromium!, [
      ...flags,
      `--user-data-dir=${dir}/profile2`,
      "--dump-dom",
      url,
    ]);
    const dom = d.stdout;
    assert.match(dom, /<h1[^>]*>jacobi<\/h1>/);
    assert.match(dom, /A first look/);
    assert.match(dom, /API reference/);
    // Prism ran: code is split into highlighted tokens.
    assert.match(dom, /class="token /);
  },
});

Deno.test("deno task docs: remove the temporary site", async () => {
  await run("rm", ["-rf", dir]);
});
