// Repeated equations merged while a jit or makeProgram trace records them
// (src/core/staging_trace.ts): one tracer for each distinct value, so the
// tangents of values traced twice by nested derivatives are one linear
// equation, and the transposed program sums their cotangents before one
// product instead of running two.
import assert from "node:assert/strict";
import { grad, jit, makeProgram, type Tensor, tensor } from "../mod.ts";
import { paramsKey, type Program } from "../src/core/ir.ts";
import { stagingMergeOptions } from "../src/core/staging_trace.ts";
import { optimize } from "../src/jit/execute.ts";
import { stage } from "../src/jit/make_program.ts";
import { assertClose, centralDiff, randnT, Rng } from "./_helpers.ts";
import { withPass } from "./_passes.ts";
import { smallPinn } from "./_pinn.ts";

const rng = new Rng(20261203);
const count = (p: Program, prim: string, shape?: string) =>
  p.eqns.filter((e) =>
    e.prim === prim && (shape === undefined || `${e.aval.shape}` === shape)
  ).length;

/** Matrix products of `p` with result `rows`×`cols` over an inner dimension of `k`. */
function products(p: Program, rows: number, cols: number, k: number): number {
  return p.eqns.filter((e) => {
    if (e.prim !== "matmul" || `${e.aval.shape}` !== `${rows},${cols}`) {
      return false;
    }
    const a = e.inputs[0];
    const shape = "var" in a ? p.avals.get(a.var)!.shape : a.const.shape;
    const { transA } = e.params as { transA: boolean };
    return shape[transA ? 0 : 1] === k;
  }).length;
}

/** The program jit runs, staged with merging on or off. */
const compiled = (
  on: boolean,
  f: (...a: Tensor[]) => unknown,
  args: unknown[],
) =>
  withPass(
    stagingMergeOptions,
    on,
    () => optimize(stage("test", f as never, args).program).program,
  );

Deno.test("staging merge: a PINN gradient runs the 12 products its math needs, not 14", () => {
  const { p, pts, loss } = smallPinn(rng);
  const g = grad(loss) as unknown as (...a: Tensor[]) => Tensor[];
  const off = compiled(false, g, [p, pts]), on = compiled(true, g, [p, pts]);
  // Per point: the second layer forward and backward, and the same two in
  // the second derivative's direction; the parameter gradient transposes
  // each of the four (8 products over the points) and takes each one's
  // weight term (4 products of 16×16). Without merging, the gradient of
  // u_t and of u_xx each transpose their own copy of du's backward pass.
  assert.equal(products(on, 32, 16, 16), 8);
  assert.equal(products(on, 16, 16, 32), 4);
  assert.equal(products(off, 32, 16, 16), 10);
  assert.ok(on.eqns.length < off.eqns.length);
  // Same values as eager evaluation (float64) and as the unmerged program.
  const eager = grad(loss)(p, pts);
  const merged = jit(grad(loss))(p, pts);
  const unmerged = withPass(
    stagingMergeOptions,
    false,
    () => jit(grad(loss))(p, pts),
  );
  const tight = { rtol: 1e-12, atol: 1e-14 };
  eager.forEach((e, i) => {
    assertClose(merged[i], e, tight, `param ${i}`);
    assertClose(unmerged[i], e, tight, `param ${i} unmerged`);
  });
  // And against finite differences of the loss in a random direction.
  const dir = p.map((q) => randnT(rng, q.shape));
  const [fd] = centralDiff((...q: Tensor[]) => loss(q, pts), p, dir);
  const along = merged.reduce(
    (s, gi, i) => s + gi.mul(dir[i]).sum().item(),
    0,
  );
  assertClose(along, fd.item(), { rtol: 1e-6, atol: 1e-9 }, "directional");
});

Deno.test("staging merge: makeProgram records a repeated equation once", () => {
  const x = tensor([0.5, -1, 2]);
  const f = (x: Tensor) => x.sin().add(x.sin()).mul(x.sum(0).add(x.sum(0)));
  const merged = makeProgram(f)(x);
  assert.equal(count(merged, "sin"), 1);
  assert.equal(count(merged, "sum"), 1);
  const plain = withPass(stagingMergeOptions, false, () => makeProgram(f)(x));
  assert.equal(count(plain, "sin"), 2);
  assert.equal(count(plain, "sum"), 2);
  assertClose(jit(f)(x), f(x), { rtol: 0, atol: 0 }, "value");
});

Deno.test("staging merge: small constants merge by value, others stay apart", () => {
  const x = tensor([1, 2, 3, 4], { dtype: "float64" });
  // Two separate `2`s: one product.
  const twice = makeProgram((x: Tensor) =>
    x.mul(tensor(2, { dtype: "float64" })).add(
      x.mul(tensor(2, { dtype: "float64" })),
    )
  )(x);
  assert.equal(count(twice, "mul"), 1);
  // A `2` and a `-2`, -0 and 0: different constants, different products.
  const apart = makeProgram((x: Tensor) =>
    x.mul(tensor(2, { dtype: "float64" })).add(
      x.mul(tensor(-2, { dtype: "float64" })),
    ).add(x.mul(tensor(0, { dtype: "float64" }))).add(
      x.mul(tensor(-0, { dtype: "float64" })),
    )
  )(x);
  assert.equal(count(apart, "mul"), 4);
  // Different params: sums over different axes stay two.
  const m = tensor([1, 2, 3, 4], { dtype: "float64" }).reshape([2, 2]);
  const axes = makeProgram((m: Tensor) => m.sum(0).add(m.sum(1)).add(m.sum(0)))(
    m,
  );
  assert.equal(count(axes, "sum"), 2);
  assertClose(
    jit((m: Tensor) => m.sum(0).add(m.sum(1)).add(m.sum(0)))(m),
    tensor([11, 19], { dtype: "float64" }),
    { rtol: 0, atol: 0 },
    "sums",
  );
});

Deno.test("staging merge: params keys keep -0, NaN and the infinities apart", () => {
  const keys = [0, -0, NaN, Infinity, -Infinity, 1].map((v) =>
    paramsKey({ value: v, axes: [v] })
  );
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(paramsKey({ value: -0 }), paramsKey({ value: -0 }));
  assert.equal(paramsKey({ value: NaN }), paramsKey({ value: NaN }));
  assert.equal(paramsKey(null), "null");
});
