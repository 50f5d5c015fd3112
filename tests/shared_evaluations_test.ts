import assert from "node:assert/strict";
import { grad, jvp, randn, type Tensor, tensor, vjp } from "../mod.ts";
import { lowerings } from "../src/core/lowering.ts";

/** Counts kernel launches of `prim` while `body` runs. */
function launches(prim: "sin" | "cos", body: () => void): number {
  const table = lowerings as unknown as Record<
    string,
    (...a: unknown[]) => unknown
  >;
  const original = table[prim];
  let n = 0;
  table[prim] = (...a: unknown[]) => {
    n++;
    return original(...a);
  };
  try {
    body();
  } finally {
    table[prim] = original;
  }
  return n;
}

const f = (x: Tensor) => x.sin().sum();

Deno.test("nested derivatives evaluate sin(x) and cos(x) once per call", () => {
  const x = randn([64], { dtype: "float64" }),
    v = randn([64], { dtype: "float64" });
  for (
    const run of [() => jvp(grad(f), [x], [v]), () => vjp(grad(f), x)[1](v)]
  ) {
    assert.equal(launches("sin", run), 1);
    assert.equal(launches("cos", run), 1);
  }
  const [, hv] = jvp(grad(f), [x], [v]);
  const expected = x.sin().neg().mul(v).data();
  (hv as Tensor).data().forEach((h, i) =>
    assert.ok(Math.abs(h - expected[i]) < 1e-12)
  );
});

Deno.test("a shared result that user code disposed is computed again", () => {
  const W = tensor([1, 2, 3], { dtype: "float64" });
  const g = grad((x: Tensor) => {
    {
      using c = W.sin();
      void c;
    }
    return x.mul(W.sin()).sum();
  })(tensor([1, 1, 1], { dtype: "float64" })) as Tensor;
  assert.deepEqual(g.toArray(), [Math.sin(1), Math.sin(2), Math.sin(3)]);
});
