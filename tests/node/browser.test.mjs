// The npm build in a browser: npm/esm (built by `deno task npm`) and a small
// page are served on 127.0.0.1 as plain ES modules; headless Chromium
// (Debian's `chromium`) opens the page, which imports the package, computes
// the Hessian of tanh(Wx + b) and writes it into the DOM; `--dump-dom` reads
// it back and the test checks it against the closed form
//   H[k, i, j] = -2 y_k (1 - y_k²) W[k,i] W[k,j].
// Skipped (with the reason) only when no Chromium is installed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { test } from "node:test";
import { maxErr, npmDir } from "./_pkg.mjs";

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
  .find((p) => existsSync(p));

const W = [[0.5, -1.2, 0.3], [0.8, 0.1, -0.7]];
const b = [0.1, -0.2];
const x = [0.4, 0.9, -1.1];

const PAGE = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>jacobi in the browser</title></head>
<body>
<h1>hessian of tanh(Wx + b)</h1>
<pre id="result">pending</pre>
<script type="module">
import { hessian, linear, tensor } from "./esm/mod.js";
const out = document.getElementById("result");
try {
  const opts = { dtype: "float64" };
  const W = tensor(${JSON.stringify(W)}, opts);
  const b = tensor(${JSON.stringify(b)}, opts);
  const x = tensor(${JSON.stringify(x)}, opts);
  const H = hessian((x) => linear(x, W, b).tanh())(x);
  out.textContent = JSON.stringify({ shape: H.shape, data: Array.from(H.data()) });
  document.title = "done";
} catch (e) {
  out.textContent = "ERROR " + (e && e.stack || e);
}
</script>
</body>
</html>
`;

const TYPES = {
  ".js": "text/javascript",
  ".html": "text/html",
  ".json": "application/json",
};

function closedForm() {
  const y = W.map((row, k) =>
    Math.tanh(row.reduce((s, w, i) => s + w * x[i], b[k]))
  );
  const H = [];
  for (let k = 0; k < W.length; k++) {
    for (let i = 0; i < x.length; i++) {
      for (let j = 0; j < x.length; j++) {
        H.push(-2 * y[k] * (1 - y[k] ** 2) * W[k][i] * W[k][j]);
      }
    }
  }
  return H;
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

test(
  "browser: headless Chromium imports the npm build and shows a Hessian",
  {
    skip: chromium
      ? false
      : "chromium is not installed (apt-get install -y chromium)",
  },
  async () => {
    assert.ok(
      existsSync(join(npmDir, "esm/mod.js")),
      "npm/ is not built: run `deno task npm` first",
    );
    const requested = [];
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      requested.push(path);
      if (path === "/" || path === "/index.html") {
        res.writeHead(200, { "content-type": TYPES[".html"] });
        return res.end(PAGE);
      }
      const file = normalize(join(npmDir, path));
      if (!file.startsWith(join(npmDir, "esm")) || !existsSync(file)) {
        res.writeHead(404);
        return res.end("not found");
      }
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      });
      res.end(readFileSync(file));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const profile = mkdtempSync(join(tmpdir(), "jacobi_chromium_"));
    try {
      const url = `http://127.0.0.1:${server.address().port}/`;
      const { code, stdout, stderr } = await run(chromium, [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
      ], 90_000);
      const m = stdout.match(/<pre id="result">([\s\S]*?)<\/pre>/);
      assert.ok(
        m,
        `no result in the dumped DOM (exit ${code}):\n${stdout}\n${
          stderr.slice(-2000)
        }`,
      );
      const text = m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
      assert.ok(!text.startsWith("ERROR") && text !== "pending", text);
      const res = JSON.parse(text);
      assert.deepEqual(res.shape, [2, 3, 3]);
      const err = maxErr(res.data, closedForm());
      assert.ok(err < 1e-12, `max error ${err}`);
      assert.match(stdout, /<title>done<\/title>/);
      assert.ok(
        requested.includes("/esm/src/backend/wasm/kernels_wasm.js"),
        requested.join(", "),
      );
    } finally {
      server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  },
);
