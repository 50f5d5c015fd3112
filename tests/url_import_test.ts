/**
 * Importing jacobi from a URL needs no permission but `--allow-import` for
 * the host: the repository is served over HTTP on 127.0.0.1 (an ephemeral
 * port), and a `deno run` subprocess with only `--allow-import=127.0.0.1:PORT`
 * imports `mod.ts` from there, computes `jacrev` and `hessian` of
 * `tanh(Wx + b)` and checks them against the closed forms. The WebAssembly is
 * inlined, so no read or net permission is asked for (`--no-prompt` turns any
 * such request into a failure).
 * @module
 */
import assert from "node:assert/strict";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

const MEDIA: Record<string, string> = {
  ".ts": "application/typescript",
  ".js": "application/javascript",
  ".json": "application/json",
};

/** The script the subprocess runs, served at /__url_import_check.ts. */
function checkScript(base: string): string {
  return `
import { hessian, jacrev, linear, manualSeed, randn } from "${base}/mod.ts";

manualSeed(7);
const n = 5, m = 4;
const W = randn([m, n], { dtype: "float64" });
const b = randn([m], { dtype: "float64" });
const x = randn([n], { dtype: "float64" });
const f = (x) => linear(x, W, b).tanh();
const y = f(x).data();
const w = W.data();
const J = jacrev(f)(x);
const H = hessian(f)(x);
if (JSON.stringify(J.shape) !== JSON.stringify([m, n])) throw new Error("J shape " + J.shape);
if (JSON.stringify(H.shape) !== JSON.stringify([m, n, n])) throw new Error("H shape " + H.shape);
const jd = J.data(), hd = H.data();
let errJ = 0, errH = 0;
for (let k = 0; k < m; k++) {
  const s = 1 - y[k] * y[k];
  for (let i = 0; i < n; i++) {
    errJ = Math.max(errJ, Math.abs(jd[k * n + i] - s * w[k * n + i]));
    for (let j = 0; j < n; j++) {
      const h = -2 * y[k] * s * w[k * n + i] * w[k * n + j];
      errH = Math.max(errH, Math.abs(hd[(k * n + i) * n + j] - h));
    }
  }
}
if (!(errJ < 1e-12) || !(errH < 1e-12)) throw new Error("max error J " + errJ + ", H " + errH);
console.log(JSON.stringify({ ok: true, errJ, errH, J: J.shape, H: H.shape }));
`;
}

Deno.test("url import: jacrev and hessian from http://127.0.0.1:PORT/mod.ts with only --allow-import", async () => {
  const ac = new AbortController();
  const requested: string[] = [];
  let script = "";
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
  }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requested.push(path);
    if (path === "/__url_import_check.ts") {
      return new Response(script, {
        headers: { "content-type": MEDIA[".ts"] },
      });
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      return new Response("forbidden", { status: 403 });
    }
    try {
      return new Response(await Deno.readFile(file), {
        headers: {
          "content-type": MEDIA[extname(file)] ?? "application/octet-stream",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const host = `127.0.0.1:${server.addr.port}`;
    script = checkScript(`http://${host}`);
    const out = await new Deno.Command(Deno.execPath(), {
      // --no-config: the repository's deno.json/lock file play no part;
      // --no-prompt: any permission request fails instead of asking.
      args: [
        "run",
        "--no-config",
        "--no-lock",
        "--no-prompt",
        // An ephemeral port can repeat across runs: without --reload, Deno
        // would take the modules from its cache for that URL instead.
        `--reload=http://${host}/`,
        `--allow-import=${host}`,
        `http://${host}/__url_import_check.ts`,
      ],
      cwd: Deno.env.get("TMPDIR") ?? "/tmp",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `exit ${out.code}\n${stdout}\n${stderr}`);
    const res = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.equal(res.ok, true);
    assert.deepEqual(res.J, [4, 5]);
    assert.deepEqual(res.H, [4, 5, 5]);
    // The library really came over HTTP (not from a local file).
    assert.ok(requested.includes("/mod.ts"), requested.join(", "));
    assert.ok(
      requested.includes("/src/backend/wasm/kernels_wasm.ts"),
      requested.join(", "),
    );
  } finally {
    ac.abort();
    await server.finished;
  }
});
