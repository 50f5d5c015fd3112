/**
 * Checks of the differential test's own parts that need no Python (part of
 * plain `deno task test`): the generator is deterministic and types its
 * stacks as jacobi evaluates them, the comparison has the stated tolerance,
 * shrinking keeps a failure, and, as a cheap random lifetime test, jacobi
 * fails no generated case except in the categories of KNOWN_FAILURES.
 * @module
 */
import assert from "node:assert/strict";
import type { Case } from "./case.ts";
import { atLeaves } from "./case.ts";
import { compareCall } from "./compare.ts";
import { genCase } from "./gen.ts";
import { runJacobi } from "./jacobi_eval.ts";
import { KNOWN_FAILURES } from "./known_failures.ts";
import { renderCase } from "./render.ts";
import { shrink } from "./shrink.ts";

Deno.test("differential generator: a case depends only on its seed and index", () => {
  for (let i = 0; i < 40; i++) {
    assert.deepEqual(
      JSON.stringify(genCase(7, i)),
      JSON.stringify(genCase(7, i)),
    );
  }
  assert.ok(JSON.stringify(genCase(7, 3)) !== JSON.stringify(genCase(8, 3)));
});

Deno.test("differential generator: jacobi returns the shapes the generator typed, and fails only as known", () => {
  const unexplained: string[] = [];
  let ran = 0;
  for (let i = 0; i < 300; i++) {
    const c = genCase(11, i);
    const r = runJacobi(c);
    const known = KNOWN_FAILURES.some((k) => k.matches(c) && k.symptom(r));
    if (!r.ok) {
      if (!known) unexplained.push(`case ${i}: ${r.error}\n${renderCase(c)}`);
      continue;
    }
    ran++;
    const want = atLeaves(c.outType);
    for (const call of r.calls) {
      assert.deepEqual(call.map((l) => l.shape), want, `case ${i}`);
      assert.ok(call.every((l) => l.dtype === "float64"), `case ${i}`);
    }
  }
  assert.deepEqual(unexplained, [], unexplained.join("\n\n"));
  assert.ok(ran > 200, `only ${ran} of 300 cases ran`);
});

Deno.test("differential comparison: 1e-9 relative to the leaf's scale", () => {
  const leaf = (data: number[]) => ({
    shape: [data.length],
    dtype: "float64",
    data,
  });
  const t = { shape: [3] };
  const ref = [{ shape: [3], dtype: "float64", data: [1000, 1, "nan"] }];
  assert.deepEqual(
    compareCall(t, [leaf([1000 + 1e-7, 1 + 1e-7, NaN])], ref, 1),
    null,
  );
  assert.ok(compareCall(t, [leaf([1000 + 1e-5, 1, NaN])], ref, 1) !== null);
  assert.ok(compareCall(t, [leaf([1000, 1, 0])], ref, 1) !== null);
  assert.ok(
    compareCall(t, [{ ...leaf([1000, 1, NaN]), shape: [1, 3] }], ref, 1) !==
      null,
  );
});

Deno.test("differential shrinker: keeps the failure and makes the case smaller", async () => {
  // A stand-in failure that does not depend on any jacobi bug: "a vmap over
  // a program with a unary op, which jacobi evaluates".
  const fails = (c: Case) =>
    c.layers.some((L) => L.t === "vmap") &&
    c.program.nodes.some((n) => n.op === "unary") && runJacobi(c).ok;
  const size = (c: Case) => c.program.nodes.length + c.layers.length;
  let shrunkOne = false;
  for (let i = 0; i < 300 && !shrunkOne; i++) {
    const c = genCase(3, i);
    if (size(c) < 7 || !fails(c)) continue;
    const { shrunk } = await shrink(c, (cand) => Promise.resolve(fails(cand)));
    assert.ok(fails(shrunk), `case ${i}`);
    assert.ok(size(shrunk) < size(c), `case ${i}: ${size(shrunk)} steps`);
    assert.deepEqual(shrunk.layers.map((L) => L.t), ["vmap"]);
    shrunkOne = true;
  }
  assert.ok(shrunkOne, "no case of seed 3 to shrink");
});
