// Headless Chromium for the node tests: serve a folder (or a map of paths to
// contents) on 127.0.0.1, open a page, and read back its DOM after the
// scripts ran (`--dump-dom`) or a screenshot. Tests skip, saying why, when
// Debian's `chromium` is not installed.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";

export const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
  .find((p) => existsSync(p));

export const noChromium = chromium
  ? false
  : "chromium is not installed (apt-get install -y chromium)";

const TYPES = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".html": "text/html; charset=utf-8",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
};

/**
 * Serves `pages` (a map from URL path to content) and the files under
 * `dir` (if given) on 127.0.0.1. Returns { url, requested, close }. With
 * `isolated`, every response carries the COOP/COEP headers that make the
 * page cross-origin isolated (SharedArrayBuffer, hence threads).
 */
export async function serve({ pages = {}, dir, isolated = false } = {}) {
  const isolation = isolated
    ? {
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    }
    : {};
  const requested = [];
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    requested.push(path);
    if (path.endsWith("/")) path += "index.html";
    if (path in pages) {
      res.writeHead(200, {
        "content-type": TYPES[extname(path)] ?? "text/plain",
        ...isolation,
      });
      return res.end(pages[path]);
    }
    const file = dir && normalize(join(dir, path));
    if (!file || !file.startsWith(normalize(dir)) || !existsSync(file)) {
      res.writeHead(404);
      return res.end("not found");
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      ...isolation,
    });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    requested,
    close: () => new Promise((r) => server.close(r)),
  };
}

function run(cmd, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Opens `url` in headless Chromium. `mode` is "dump-dom" (stdout is the DOM
 * after the page's scripts ran) or "screenshot" (writes `screenshot`).
 */
export async function openPage(
  url,
  { mode = "dump-dom", screenshot, size = "1280,900" } = {},
) {
  const profile = mkdtempSync(join(tmpdir(), "jacobi_chromium_"));
  try {
    return await run(chromium, [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      "--virtual-time-budget=20000",
      `--window-size=${size}`,
      ...(mode === "screenshot"
        ? [`--screenshot=${screenshot}`]
        : ["--dump-dom"]),
      url,
    ], 120_000);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The text of the element with this id in a dumped DOM (entities decoded). */
export function elementText(dom, id) {
  const m = dom.match(new RegExp(`<[a-z]+ id="${id}"[^>]*>([\\s\\S]*?)</`));
  if (!m) return null;
  return m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(
    /&gt;/g,
    ">",
  )
    .replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}
