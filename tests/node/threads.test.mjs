// Threads under Node: the npm build starts its worker from
// node:worker_threads (unref'ed: this process still exits when the test
// ends), and a product split across it gives the single-threaded bits.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { npmDir } from "./_pkg.mjs";

test("node: a product split across a worker thread gives the same bits", async () => {
  const entry = join(npmDir, "esm/mod.js");
  assert.ok(existsSync(entry), "npm/ is not built: run `deno task npm` first");
  const J = await import(pathToFileURL(entry).href);
  const { poolStats } = await import(
    pathToFileURL(join(npmDir, "esm/src/backend/thread_pool.js")).href
  );
  const a = J.randn([300, 300]);
  J.setNumThreads(2);
  J.matmul(a, a).dispose();
  for (let i = 0; i < 400 && poolStats().ready < 1; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(poolStats().ready >= 1, "the worker did not start within 10 s");
  J.setNumThreads(1);
  const one = Array.from(J.matmul(a, a).data());
  J.setNumThreads(2);
  const before = poolStats().splitJobs;
  const two = Array.from(J.matmul(a, a).data());
  assert.ok(poolStats().splitJobs > before, "the product was not split");
  assert.equal(J.getNumThreads(), 2);
  assert.ok(one.every((v, i) => Object.is(v, two[i])));
});

test("node: elementwise work and column sums split across a worker give the same bits", async () => {
  const entry = join(npmDir, "esm/mod.js");
  assert.ok(existsSync(entry), "npm/ is not built: run `deno task npm` first");
  const J = await import(pathToFileURL(entry).href);
  const { poolStats } = await import(
    pathToFileURL(join(npmDir, "esm/src/backend/thread_pool.js")).href
  );
  const x = J.randn([301, 257]);
  J.setNumThreads(2);
  x.tanh().dispose();
  for (let i = 0; i < 400 && poolStats().ready < 1; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(poolStats().ready >= 1, "the worker did not start within 10 s");
  const f = J.jit((v) => {
    const t = v.tanh().mul(v);
    return [t, J.sum(t, 0), J.softmax(v, -1)];
  });
  const run = () => f(x).flatMap((t) => Array.from(t.data()));
  J.setNumThreads(1);
  const one = run();
  J.setNumThreads(2);
  const before = poolStats().splitJobs;
  const two = run();
  assert.ok(poolStats().splitJobs > before, "nothing was split");
  assert.equal(one.length, two.length);
  assert.ok(one.every((v, i) => Object.is(v, two[i])));
});
