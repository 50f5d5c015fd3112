/**
 * The Program IR: the printer (a jaxpr-like text), the checker (every
 * equation's aval re-derived from the shape rules) run on the output of
 * every pass over every row of the primitive table (staging, linearize,
 * transpose, CSE/DCE/memory plan, batching), and makeProgram's contract.
 * @module
 */
import assert from "node:assert/strict";
import {
  grad,
  jvp,
  linearize,
  makeProgram,
  type Tensor,
  tensor,
  vjp,
  vmap,
  zeros,
} from "../mod.ts";
import { checkProgram, Program, ProgramError } from "../src/core/ir.ts";
import { execute, optimize } from "../src/jit/execute.ts";
import { CASES, type OpCase } from "./primitives_cases.ts";
import { assertClose, Rng } from "./_helpers.ts";

Deno.test("printProgram reads like a jaxpr: inputs, equations with params and avals, outputs", () => {
  const f = (x: Tensor, y: Tensor) => x.sin().mul(y).sum(0).add(1);
  const p = makeProgram(f)(zeros([2, 3]), zeros([3]));
  assert.equal(
    p.toString(),
    [
      "{ lambda ; a:f32[2,3] b:f32[3] . let",
      "    c:f32[2,3] = sin a",
      "    d:f32[2,3] = mul c b",
      "    e:f32[3] = sum[axes=[0]] d",
      "    f:f32[3] = add e 1.0:f32[]",
      "  in (f) }",
    ].join("\n"),
  );
  // A non-scalar constant is bound before the ';'.
  const c = tensor([1, 2, 3], { dtype: "float64" });
  const q = makeProgram((x: Tensor) => x.mul(c))(
    zeros([3], { dtype: "float64" }),
  );
  assert.match(
    q.toString(),
    /^\{ lambda c0:f64\[3\] ; a:f64\[3\] \. let\n {4}b:f64\[3\] = mul a c0\n {2}in \(b\) \}$/,
  );
});

Deno.test("makeProgram: pytrees in and out, transforms applied while tracing, no values computed", () => {
  const p = makeProgram((
    d: { w: Tensor; b: Tensor },
  ) => [d.w.exp(), { s: d.b.sum() }])(
    { w: zeros([2]), b: zeros([4]) },
  );
  assert.equal(p.inputs.length, 2);
  assert.equal(p.outputs.length, 2);
  assert.deepEqual(p.inputAvals.map((a) => a.shape).sort(), [[2], [4]]);
  assert.deepEqual(p.eqns.map((e) => e.prim).sort(), ["exp", "sum"]);
  const g = makeProgram(grad((x: Tensor) => x.square().sum()))(zeros([3]));
  checkProgram(g);
  assert.ok(g.eqns.some((e) => e.prim === "mul"), g.toString());
  const v = makeProgram(vmap((x: Tensor) => x.sum()))(zeros([5, 3]));
  assert.deepEqual(v.outputAvals[0].shape, [5]);
  assert.throws(
    () => makeProgram(42 as never),
    /makeProgram: expected a function/,
  );
  assert.throws(
    () => makeProgram((x: Tensor) => x.item() as unknown as Tensor)(zeros([1])),
    /has no value to read/,
  );
});

Deno.test("checkProgram rejects a wrong aval, a use before definition and a double definition", () => {
  const p = makeProgram((x: Tensor) => x.exp().sum())(zeros([3]));
  checkProgram(p);
  const [e0, e1] = p.eqns;
  const badAval = p.with([e0, {
    ...e1,
    aval: { shape: [3], dtype: "float32" },
  }], p.outputs);
  assert.throws(
    () => checkProgram(badAval),
    (e) =>
      e instanceof ProgramError &&
      /equation 1 \(sum\): recorded f32\[3\] but the shape rule gives f32\[\]/
        .test(e.message),
  );
  const swapped = p.with([e1, e0], p.outputs);
  assert.throws(() => checkProgram(swapped), /used before it is defined/);
  const twice = p.with([e0, { ...e1, out: e0.out }], p.outputs);
  assert.throws(() => checkProgram(twice), /defined twice/);
  const wrongDtype = p.with([
    { ...e0, aval: { shape: [3], dtype: "float64" } },
    e1,
  ], p.outputs);
  assert.throws(
    () => checkProgram(wrongDtype),
    /f64\[3\] but the shape rule gives f32\[3\]/,
  );
  const badOut = new Program(p.inputs, p.eqns, p.outputs, [{
    shape: [1],
    dtype: "float32",
  }], p.avals);
  assert.throws(
    () => checkProgram(badOut),
    /output 0: f32\[\] but declared f32\[1\]/,
  );
});

/** The case's function of its differentiated arguments (the rest fixed). */
function differentiable(
  c: OpCase,
  args: Tensor[],
): [(...xs: Tensor[]) => Tensor, Tensor[]] {
  const diff = args.map((_, i) => i).filter((i) =>
    args[i].dtype !== "int32" && !(c.constArgs ?? []).includes(i)
  );
  const f = (...xs: Tensor[]) => {
    const all = [...args];
    diff.forEach((d, k) => (all[d] = xs[k]));
    return c.fn(...all);
  };
  return [f, diff.map((d) => args[d])];
}

for (const c of CASES) {
  Deno.test(`every pass gives a well-formed program: ${c.name}`, () => {
    const args = c.args(new Rng(7));
    // Staging, and the CSE/DCE/memory-plan pass, and the plan still computes f.
    const staged = makeProgram(c.fn)(...args);
    checkProgram(staged);
    const opt = optimize(staged);
    checkProgram(opt.program);
    // The staged program is the function: running its optimised form agrees.
    assertClose(execute(opt, args)[0], c.fn(...args), {
      rtol: 1e-12,
      atol: 1e-12,
    });
    // Batching: the staged program of vmap(f).
    const batched = args.map((a) =>
      a.reshape([1, ...a.shape]).expand([2, ...a.shape])
    );
    checkProgram(makeProgram(vmap(c.fn))(...batched));
    if (c.noGrad) return;
    const [f, xs] = differentiable(c, args);
    if (xs.length === 0) return;
    // Linearize: the tangent program, as the JVP evaluates it.
    checkProgram(makeProgram((...ts: Tensor[]) => jvp(f, xs, ts)[1])(...xs));
    const [, lin] = linearize(f, ...xs);
    checkProgram(makeProgram((...ts: Tensor[]) => lin(...ts))(...xs));
    // Transpose: the reverse-mode program of the cotangent.
    const [y, back] = vjp(f, ...xs);
    const transposed = makeProgram((ct: Tensor) => back(ct))(y);
    checkProgram(transposed);
    checkProgram(optimize(transposed).program);
  });
}
