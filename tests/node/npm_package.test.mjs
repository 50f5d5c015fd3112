// The npm package under Node's own test runner, as a user gets it: npm/
// (built by `deno task npm`) is packed, the tarball installed into a fresh
// temporary folder, and the package imported there by name (through its
// `exports`). The seed tutorial's main steps run against the closed forms
// for y = tanh(Wx + b):
//   J = (1 - y²)[:, None] * W,   H[k, i, j] = -2 y_k (1 - y_k²) W[k,i] W[k,j],
// and for f(x) = Σ_k y_k the Hessian-vector product
//   Hv = Wᵀ (-2 y (1 - y²) ⊙ (W v)).
// A typed consumer (consumer.ts) is checked with `tsc --noEmit` against the
// emitted declarations.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { importInstalled, installPacked, maxErr, sh, tscBin } from "./_pkg.mjs";

const n = 6, m = 5, batch = 4;
const TOL = 1e-12;

describe("npm package (packed, installed into a temp folder, ESM)", () => {
  let inst, J;
  let W, b, x, w, y;
  before(async () => {
    inst = installPacked("jacobi_node_");
    J = await importInstalled(inst.dir, inst.pkgName);
    J.manualSeed(3);
    W = J.randn([m, n], { dtype: "float64" });
    b = J.randn([m], { dtype: "float64" });
    x = J.randn([n], { dtype: "float64" });
    w = Array.from(W.data());
    y = Array.from(J.linear(x, W, b).tanh().data());
  });
  after(() => inst?.cleanup());

  const predict = (W, b, x) => J.linear(x, W, b).tanh();
  const jacClosed = (y) =>
    Array.from(
      { length: m * n },
      (_, ki) => (1 - y[Math.floor(ki / n)] ** 2) * w[ki],
    );

  test("resolves to the installed tarball, not the repository", () => {
    assert.match(J.resolved, /node_modules\/@jacobi\/jacobi\/esm\/mod\.js$/);
    assert.ok(J.resolved.includes(inst.dir.replace(/\\/g, "/")), J.resolved);
  });

  test("jacrev(predict, { argnums: 2 }) = (1 - y²)[:, None] * W", () => {
    const Jr = J.jacrev(predict, { argnums: 2 })(W, b, x);
    assert.deepEqual(Jr.shape, [m, n]);
    assert.equal(Jr.dtype, "float64");
    assert.ok(maxErr(Jr.data(), jacClosed(y)) < TOL);
  });

  test("jacfwd(predict, { argnums: 2 }) = closed form and jacrev", () => {
    const Jf = J.jacfwd(predict, { argnums: 2 })(W, b, x);
    assert.deepEqual(Jf.shape, [m, n]);
    assert.ok(maxErr(Jf.data(), jacClosed(y)) < TOL);
    const Jr = J.jacrev(predict, { argnums: 2 })(W, b, x);
    assert.ok(J.allclose(Jf, Jr));
  });

  test("hessian(predict, { argnums: 2 }) = -2 y_k (1 - y_k²) W[k,i] W[k,j]", () => {
    const H = J.hessian(predict, { argnums: 2 })(W, b, x);
    assert.deepEqual(H.shape, [m, n, n]);
    const want = [];
    for (let k = 0; k < m; k++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          want.push(-2 * y[k] * (1 - y[k] ** 2) * w[k * n + i] * w[k * n + j]);
        }
      }
    }
    assert.ok(maxErr(H.data(), want) < TOL);
  });

  test("vmap(jacrev(predict), { inDims: [null, null, 0] }) = per-row closed forms", () => {
    const xs = J.randn([batch, n], { dtype: "float64" });
    const Jb = J.vmap(J.jacrev(predict, { argnums: 2 }), {
      inDims: [null, null, 0],
    })(W, b, xs);
    assert.deepEqual(Jb.shape, [batch, m, n]);
    const ys = Array.from(J.linear(xs, W, b).tanh().data());
    const want = [];
    for (let r = 0; r < batch; r++) {
      want.push(...jacClosed(ys.slice(r * m, (r + 1) * m)));
    }
    assert.ok(maxErr(Jb.data(), want) < TOL);
  });

  test("hvp(Σ tanh(Wx + b)) = Wᵀ (-2 y (1 - y²) ⊙ W v), and = jvp(grad(f))", () => {
    const f = (x) => predict(W, b, x).sum();
    const v = J.randn([n], { dtype: "float64" });
    const hv = J.hvp(f, [x], [v]);
    assert.deepEqual(hv.shape, [n]);
    const vd = Array.from(v.data());
    const want = new Array(n).fill(0);
    for (let k = 0; k < m; k++) {
      let wv = 0;
      for (let j = 0; j < n; j++) wv += w[k * n + j] * vd[j];
      const d = -2 * y[k] * (1 - y[k] ** 2) * wv;
      for (let i = 0; i < n; i++) want[i] += w[k * n + i] * d;
    }
    assert.ok(maxErr(hv.data(), want) < TOL);
    const [, viaJvp] = J.jvp(J.grad(f), [x], [v]);
    assert.ok(maxErr(viaJvp.data(), want) < TOL);
  });

  test("float32 by default; printing reads like PyTorch under node:util", async () => {
    const { inspect } = await import("node:util");
    const t = J.tensor([1, 2.5]);
    assert.equal(t.dtype, "float32");
    assert.match(inspect(t), /^tensor\(\[1\.0*, 2\.50*\]\)$/);
  });

  test("tsc --noEmit: a typed consumer against the emitted declarations", () => {
    assert.ok(
      existsSync(tscBin),
      `no TypeScript at ${tscBin} (deno task npm installs it)`,
    );
    const here = fileURLToPath(new URL(".", import.meta.url));
    copyFileSync(join(here, "consumer.ts"), join(inst.dir, "consumer.ts"));
    writeFileSync(
      join(inst.dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022", "ESNext.Disposable"],
          types: [],
          skipLibCheck: false,
        },
        files: ["consumer.ts"],
      }),
    );
    sh("node", [tscBin, "-p", "tsconfig.json"], inst.dir);
  });
});
