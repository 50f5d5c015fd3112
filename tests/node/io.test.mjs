// Saving and loading under Node with the installed npm package: saveFile
// writes a safetensors file through node:fs (imported only when called),
// loadFile reads it back, the bytes on disk are what save() returns, and
// JSON.stringify of a tensor is readable.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { importInstalled, installPacked } from "./_pkg.mjs";

describe("npm package: saveFile/loadFile and toJSON under Node", () => {
  let inst, J, dir;
  before(async () => {
    inst = installPacked("jacobi_io_");
    J = await importInstalled(inst.dir, inst.pkgName);
    dir = mkdtempSync(join(tmpdir(), "jacobi_io_files_"));
  });
  after(() => {
    inst?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("saveFile then loadFile round-trips a nested tree of every dtype", async () => {
    const tree = {
      layers: [
        {
          w: J.tensor([[1.5, -2], [3, 4]]),
          b: J.tensor([0.25, 1e-300], { dtype: "float64" }),
        },
      ],
      steps: J.tensor([7, -2147483648], { dtype: "int32" }),
    };
    const path = join(dir, "params.safetensors");
    await J.saveFile(path, tree, { metadata: { note: "node" } });
    const onDisk = new Uint8Array(readFileSync(path));
    assert.deepEqual(onDisk, J.save(tree, { metadata: { note: "node" } }));
    assert.deepEqual(J.readHeader(onDisk).metadata, { note: "node" });
    const back = await J.loadFile(path);
    assert.deepEqual(back.layers[0].w.toArray(), [[1.5, -2], [3, 4]]);
    assert.equal(back.layers[0].b.dtype, "float64");
    assert.deepEqual(Array.from(back.layers[0].b.data()), [0.25, 1e-300]);
    assert.equal(back.steps.dtype, "int32");
    assert.deepEqual(Array.from(back.steps.data()), [7, -2147483648]);
    // A URL works as a path too.
    const again = await J.loadFile(new URL(`file://${path}`));
    assert.deepEqual(again.steps.toArray(), [7, -2147483648]);
  });

  test("loadFile of a missing file rejects with Node's error", async () => {
    await assert.rejects(
      () => J.loadFile(join(dir, "missing.safetensors")),
      /ENOENT/,
    );
  });

  test("JSON.stringify of a tensor gives shape, dtype and values", () => {
    assert.equal(
      JSON.stringify({ w: J.tensor([[0.1, 2]]) }),
      '{"w":{"shape":[1,2],"dtype":"float32","data":[[0.1,2]]}}',
    );
  });
});
