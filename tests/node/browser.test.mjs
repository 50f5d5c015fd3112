// The npm build in a browser: npm/esm (built by `deno task npm`) and a small
// page are served on 127.0.0.1 as plain ES modules; headless Chromium
// (Debian's `chromium`) opens the page, which imports the package, computes
// the Hessian of tanh(Wx + b) and writes it into the DOM; `--dump-dom` reads
// it back and the test checks it against the closed form
//   H[k, i, j] = -2 y_k (1 - y_k²) W[k,i] W[k,j].
// Skipped (with the reason) only when no Chromium is installed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { elementText, noChromium, openPage, serve } from "./_chromium.mjs";
import { maxErr, npmDir } from "./_pkg.mjs";

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

test(
  "browser: headless Chromium imports the npm build and shows a Hessian",
  {
    skip: noChromium,
  },
  async () => {
    assert.ok(
      existsSync(join(npmDir, "esm/mod.js")),
      "npm/ is not built: run `deno task npm` first",
    );
    const server = await serve({ pages: { "/index.html": PAGE }, dir: npmDir });
    try {
      const { code, stdout, stderr } = await openPage(server.url);
      const text = elementText(stdout, "result");
      assert.ok(
        text !== null,
        `no result in the dumped DOM (exit ${code}):\n${stdout}\n${
          stderr.slice(-2000)
        }`,
      );
      assert.ok(!text.startsWith("ERROR") && text !== "pending", text);
      const res = JSON.parse(text);
      assert.deepEqual(res.shape, [2, 3, 3]);
      const err = maxErr(res.data, closedForm());
      assert.ok(err < 1e-12, `max error ${err}`);
      assert.match(stdout, /<title>done<\/title>/);
      assert.ok(
        server.requested.includes("/esm/src/backend/wasm/kernels_wasm.js"),
        server.requested.join(", "),
      );
    } finally {
      await server.close();
    }
  },
);

// Threads in a browser: a cross-origin-isolated page has shared memory, so
// the kernels start Blob-URL workers; a product split across them must give
// the single-threaded bits. The page without isolation (above) runs on one
// thread. The page does real work while it waits for the worker, so that
// real time passes under Chromium's virtual time.
const THREAD_PAGE = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>jacobi threads</title></head>
<body>
<pre id="result">pending</pre>
<script type="module">
import { getNumThreads, matmul, randn, setNumThreads } from "./esm/mod.js";
import { poolStats } from "./esm/src/backend/thread_pool.js";
const out = document.getElementById("result");
try {
  const a = randn([300, 300]);
  setNumThreads(2);
  for (let i = 0; i < 5000 && poolStats().ready < 1; i++) {
    matmul(a, a).dispose();
    await new Promise((r) => setTimeout(r, 1));
  }
  setNumThreads(1);
  const one = Array.from(matmul(a, a).data());
  setNumThreads(2);
  const before = poolStats().splitJobs;
  const two = Array.from(matmul(a, a).data());
  const same = one.length === two.length && one.every((v, i) => Object.is(v, two[i]));
  out.textContent = JSON.stringify({
    isolated: globalThis.crossOriginIsolated,
    threads: getNumThreads(),
    ready: poolStats().ready,
    split: poolStats().splitJobs - before,
    same,
  });
} catch (e) {
  out.textContent = "ERROR " + (e && e.stack || e);
}
</script>
</body>
</html>
`;

test(
  "browser: a cross-origin-isolated page splits a product across a worker, same bits",
  { skip: noChromium },
  async () => {
    const server = await serve({
      pages: { "/index.html": THREAD_PAGE },
      dir: npmDir,
      isolated: true,
    });
    try {
      const { code, stdout, stderr } = await openPage(server.url);
      const text = elementText(stdout, "result");
      assert.ok(
        text !== null && text !== "pending" && !text.startsWith("ERROR"),
        `${text} (exit ${code}):\n${stderr.slice(-2000)}`,
      );
      const res = JSON.parse(text);
      assert.equal(res.isolated, true);
      assert.ok(res.ready >= 1, `no worker became ready: ${text}`);
      assert.ok(res.split >= 1, `the product was not split: ${text}`);
      assert.equal(res.same, true, text);
    } finally {
      await server.close();
    }
  },
);
