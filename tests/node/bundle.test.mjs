// The npm package through a bundler that honours `sideEffects`, as a web
// app would ship it: the packed tarball and esbuild are installed into a
// temporary project, a consumer that imports only `tensor` (and uses the
// methods and the eager tape on it) is bundled with tree shaking, and the
// bundle runs under Node. The modules that must run on import (the inlined
// WebAssembly, src/methods.js attaching Tensor's methods) are the ones
// package.json declares; if one were missing, esbuild would drop it and
// `tensor(...).requiresGrad()` or `.square()` would not exist.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { installPacked, sh } from "./_pkg.mjs";

const ESBUILD = "esbuild@0.25";

describe("npm package bundled with esbuild (tree shaking, sideEffects honoured)", () => {
  let inst;
  before(() => {
    inst = installPacked("jacobi_bundle_");
    sh("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      ESBUILD,
    ], inst.dir);
  });
  after(() => inst?.cleanup());

  /** Bundles `source` (an ES module importing the package) and runs it. */
  function bundleAndRun(source) {
    writeFileSync(join(inst.dir, "entry.mjs"), source);
    sh(join(inst.dir, "node_modules/.bin/esbuild"), [
      "entry.mjs",
      "--bundle",
      "--format=esm",
      "--platform=neutral",
      "--main-fields=module,main",
      "--tree-shaking=true",
      "--outfile=bundle.mjs",
    ], inst.dir);
    return JSON.parse(sh("node", ["bundle.mjs"], inst.dir));
  }

  test("importing only `tensor`: methods and the eager tape work in the bundle", () => {
    const out = bundleAndRun(`
      import { tensor } from ${JSON.stringify(inst.pkgName)};
      const x = tensor([1, 2, 3], { dtype: "float64" }).requiresGrad();
      x.square().mul(0.5).sum().backward();     // d/dx Σ x²/2 = x
      const y = tensor([[1, 2], [3, 4]]).matmul(tensor([1, 1])).exp().sum();
      console.log(JSON.stringify({ grad: Array.from(x.grad.data()), y: y.item() }));
    `);
    assert.deepEqual(out.grad, [1, 2, 3]);
    assert.ok(Math.abs(out.y - (Math.exp(3) + Math.exp(7))) < 1e-3, out.y);
  });

  test("a transform-only consumer: grad and jacrev in the bundle", () => {
    const out = bundleAndRun(`
      import { grad, jacrev, tensor } from ${JSON.stringify(inst.pkgName)};
      const x = tensor([0.5, -1], { dtype: "float64" });
      const g = grad((v) => v.sin().sum())(x);       // cos x
      const J = jacrev((v) => v.mul(v))(x);          // diag(2x)
      console.log(JSON.stringify({ g: Array.from(g.data()), J: Array.from(J.data()) }));
    `);
    assert.ok(Math.abs(out.g[0] - Math.cos(0.5)) < 1e-12);
    assert.ok(Math.abs(out.g[1] - Math.cos(-1)) < 1e-12);
    assert.deepEqual(out.J, [1, 0, 0, -2]);
  });
});
