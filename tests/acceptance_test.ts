/**
 * Mistakes that used to be accepted silently (a wrong answer, or a crash
 * later and elsewhere) and are now clear errors that name the problem, the
 * argument and the shapes, as JAX's are.
 * @module
 */
import assert from "node:assert/strict";
import {
  autograd,
  full,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  ones,
  type Tensor,
  tensor,
  valueAndGrad,
  vhp,
  vjp,
  vjpWithAux,
  vmap,
  where,
  zeros,
} from "../mod.ts";
import { assertClose, assertThrowsWith } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const f64 = { dtype: "float64" } as const;
const x = tensor([1, 2], f64);

// ---------------------------------------------------------- tree structure

Deno.test("vjp matches an object cotangent to the output by key, not by order", () => {
  const [, vjpFn] = vjp(
    (v: Tensor) => ({ a: v.mul(2), b: v.mul(3) }),
    x,
  );
  // {b, a} for an output {a, b}: a = 1, b = 0 gives 2 (3 when matched by order).
  const [g] = vjpFn({ b: zeros([2], f64), a: ones([2], f64) } as Any);
  assertClose(g as Tensor, [2, 2]);
  const [g2] = vjpFn({ b: ones([2], f64), a: zeros([2], f64) } as Any);
  assertClose(g2 as Tensor, [3, 3]);
});

Deno.test("vjp rejects a cotangent whose structure, shapes or dtypes differ from the output", () => {
  const [, vjpFn] = vjp(
    (v: Tensor) => ({ a: v.mul(2), b: [v.sum(), v] }),
    x,
  );
  const a = ones([2], f64), s = tensor(1, f64);
  const cases: [unknown, string[]][] = [
    [{ a, b: [s, a], c: a }, ['cotangent has unknown key "c"', '"a", "b"']],
    [{ a }, ['cotangent lacks key "b"']],
    [{ aa: a, b: [s, a] }, ['unknown key "aa"', 'lacks key "a"']],
    [{ a, b: [s] }, ["cotangent.b is an array of length 1", "length 2"]],
    [{ a, b: [s, ones([3], f64)] }, [
      "cotangent.b[1] has shape [3] and dtype float64",
      "the output has shape [2] and dtype float64",
    ]],
    [{ a: ones([2]), b: [s, a] }, [
      "cotangent.a has shape [2] and dtype float32",
      "dtype float64",
    ]],
    [{ a, b: { 0: s, 1: a } }, [
      "cotangent.b is an object",
      "array of length 2",
    ]],
    [[a, [s, a]], ["cotangent is an array of length 2", 'keys "a", "b"']],
    [a, ["cotangent is a float64 tensor of shape [2]", "an object"]],
  ];
  for (const [ct, parts] of cases) {
    assertThrowsWith(() => vjpFn(ct as Any), TypeError, "vjp: ", ...parts);
  }
});

Deno.test("jvp and linearize match tangents to the primals by key and check them", () => {
  const f = (p: { w: Tensor; b: Tensor }) => p.w.mul(2).add(p.b.mul(10));
  const p = { w: x, b: tensor([0, 0], f64) };
  // Keys in another order than the primal's: matched by name.
  const [, t] = jvp(f, [p], [{ b: ones([2], f64), w: zeros([2], f64) }]);
  assertClose(t as Tensor, [10, 10]);
  const [, jvpFn] = linearize(f, p);
  assertClose(jvpFn({ b: zeros([2], f64), w: ones([2], f64) }), [2, 2]);
  assertThrowsWith(
    () => jvp(f, [p], [{ w: x, bias: x } as Any]),
    TypeError,
    'jvp: tangents[0] has unknown key "bias" and lacks key "b"',
  );
  assertThrowsWith(
    () => jvpFn({ w: x } as Any),
    TypeError,
    'linearize: tangents[0] lacks key "b"',
  );
  assertThrowsWith(
    () => jvp(f, [p], [{ w: x, b: ones([3], f64) }]),
    TypeError,
    "jvp: tangents[0].b has shape [3]",
    "the primal has shape [2]",
  );
  // A number in a primal is a constant: its tangent may be any non-tensor.
  const g = (q: { v: Tensor; k: number }) => q.v.mul(q.k);
  const [, tk] = jvp(g, [{ v: x, k: 3 }], [{ v: ones([2], f64), k: 0 }]);
  assertClose(tk as Tensor, [3, 3]);
  assertThrowsWith(
    () => jvp(g, [{ v: x, k: 3 }], [{ v: x, k: x as Any }]),
    TypeError,
    "jvp: tangents[0].k is a float64 tensor of shape [2], but the primal there is number 3",
  );
});

Deno.test("vmap matches object inDims by key and names a mistyped or missing key", () => {
  const f = (p: { w: Tensor; b: Tensor }) => p.w.add(p.b);
  const args = { w: tensor([[1, 2], [3, 4]], f64), b: tensor([10, 20], f64) };
  // {b: null, w: 0} in another order: w batched, b shared.
  const y = vmap(f, { inDims: [{ b: null, w: 0 }] })(args);
  assertClose(y, tensor([[11, 22], [13, 24]], f64));
  assertThrowsWith(
    () => vmap(f, { inDims: [{ w: 0, bb: 0 } as Any] })(args),
    TypeError,
    'vmap: inDims for argument 0 has key "bb", which argument 0 does not have',
    'its keys: "w", "b"',
  );
  assertThrowsWith(
    () => vmap(f, { inDims: [{ w: 0 } as Any] })(args),
    TypeError,
    'vmap: inDims for argument 0 lacks key "b" of argument 0',
    "give null",
  );
  assertThrowsWith(
    () => vmap((a: Tensor[]) => a[0], { inDims: [{ 0: 0 } as Any] })([x]),
    TypeError,
    "inDims for argument 0 is an object",
  );
});

// ------------------------------------------------------------- concretization

Deno.test("reading values of a differentiated tracer is a clear error in every transform", () => {
  const reads: [string, (v: Tensor) => unknown][] = [
    ["item()", (v) => v.sum().item()],
    ["data()", (v) => v.data()],
    ["toArray()", (v) => v.toArray()],
    ["data()", (v) => tensor(v.data() as Float64Array)],
  ];
  for (const [what, read] of reads) {
    const f = (v: Tensor) => {
      read(v);
      return v.sum();
    };
    const runs: [string, () => unknown][] = [
      ["grad", () => grad(f)(x)],
      ["valueAndGrad", () => valueAndGrad(f)(x)],
      ["vjp", () => vjp(f, x)],
      ["jvp", () => jvp(f, [x], [x])],
      ["linearize", () => linearize(f, x)],
      ["jacrev", () => jacrev(f)(x)],
      ["jacfwd", () => jacfwd(f)(x)],
      ["hessian", () => hessian(f)(x)],
    ];
    for (const [name, run] of runs) {
      try {
        assertThrowsWith(
          run,
          Error,
          `${what}: this value depends on the input being differentiated (inside ${name})`,
          "derivative would be lost",
          "x.detach()",
        );
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  }
});

Deno.test("values that carry no derivative can be read inside grad: detach() and comparisons", () => {
  // |v| by control flow on the sign, and a scale read as a constant.
  const f = (v: Tensor) => {
    const positive = v.sum().gt(0).item() === 1;
    const scale = v.detach().square().sum().item();
    return (positive ? v : v.neg()).sum().mul(scale);
  };
  assertClose(grad(f)(x), [5, 5]);
  assertClose(grad(f)(x.neg()), [-5, -5]);
  // The eager tape reads values as PyTorch does (loss.item()).
  const w = x.requiresGrad();
  assert.equal(w.square().sum().item(), 5);
});

// ------------------------------------------------------------ async functions

Deno.test("every transform rejects an async function (or one returning a promise) with a clear error", async () => {
  let later = 0;
  const asyncF = async (v: Tensor) => {
    await null;
    later++; // runs after the transform ended: its tracer is dead
    return v.sum();
  };
  const thenable = (v: Tensor) => ({ then: (k: (t: Tensor) => void) => k(v) });
  for (const f of [asyncF, thenable] as Any[]) {
    const runs: [string, () => unknown][] = [
      ["grad", () => grad(f)(x)],
      ["valueAndGrad", () => valueAndGrad(f)(x)],
      ["vjp", () => vjp(f, x)],
      ["vjp", () => vjpWithAux(f, x)],
      ["jvp", () => jvp(f, [x], [x])],
      ["linearize", () => linearize(f, x)],
      ["vmap", () => vmap(f)(x)],
      ["jacrev", () => jacrev(f)(x)],
      ["jacfwd", () => jacfwd(f)(x)],
      ["hessian", () => hessian(f)(x)],
      ["grad", () => hvp(f, [x], [x])],
      ["grad", () => vhp(f, [x], [x])],
      ["jit", () => jit(f)(x)],
      ["jacrev", () => autograd.functional.jacobian(f, x)],
    ];
    for (const [name, run] of runs) {
      assertThrowsWith(
        run,
        TypeError,
        `${name}: the function returned a promise (is it async?)`,
      );
    }
  }
  // The abandoned continuations ran and failed without an unhandled
  // rejection (which would fail this test).
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(later > 0);
});

// ------------------------------------------------------ integers and empties

Deno.test("differentiating an integer-valued output is a clear error", () => {
  const argmax = (v: Tensor) => v.argmax();
  assertThrowsWith(
    () => grad(argmax)(x),
    TypeError,
    "grad: the output is an int32 tensor of shape []",
    "needs float outputs",
  );
  assertThrowsWith(
    () => valueAndGrad((v: Tensor) => v.sum().to("int32"))(x),
    TypeError,
    "valueAndGrad: the output is an int32 tensor",
  );
  assertThrowsWith(
    () => jacrev((v: Tensor) => [v.sin(), v.argmax(0, true)])(x),
    TypeError,
    "jacrev: output 1 is an int32 tensor of shape [1]",
  );
  assertThrowsWith(
    () => hessian(argmax)(x),
    TypeError,
    "hessian: output 0 is an int32 tensor",
  );
});

Deno.test("max and min over an empty dimension are errors; other reductions of empties are defined", () => {
  for (const op of ["max", "min"] as const) {
    assertThrowsWith(
      () => zeros([0])[op](),
      RangeError,
      `${op}: cannot reduce over the empty dimension 0 of shape [0]`,
    );
    assertThrowsWith(
      () => zeros([2, 0])[op](1),
      RangeError,
      "empty dimension 1 of shape [2, 0]",
    );
    // Reducing a non-empty dim of an empty tensor gives an empty result.
    assert.deepEqual(zeros([0, 3])[op](1).shape, [0]);
    // Inside a transform too (the shape rule runs at trace time).
    assertThrowsWith(
      () => jit((v: Tensor) => v[op]())(zeros([0])),
      RangeError,
      "empty dimension 0",
    );
  }
  assert.equal(zeros([0]).sum().item(), 0);
  assert.equal(zeros([0]).prod().item(), 1);
});

Deno.test("int32 tensors reject values that are not int32 instead of wrapping or truncating", () => {
  const i32 = { dtype: "int32" } as const;
  assertThrowsWith(
    () => tensor([3e9], i32),
    RangeError,
    "tensor: data[0] = 3000000000 is not an int32",
    "-2147483648 to 2147483647",
  );
  assertThrowsWith(
    () => tensor([[1, 2], [3, 2.5]], i32),
    RangeError,
    "data[1][1] = 2.5 is not an int32",
  );
  assertThrowsWith(
    () => tensor(new Float64Array([1, NaN]), i32),
    RangeError,
    "data[1] = NaN",
  );
  assertThrowsWith(
    () => full([2], 2 ** 31, i32),
    RangeError,
    "full: value 2147483648",
  );
  const k = tensor([1, 2], i32), yes = tensor([1, 0], i32);
  // A fractional number next to int32 promotes to the default float
  // dtype, as in PyTorch; an integer too large for int32 is refused.
  assert.deepEqual(where(yes, k, 1.5).toArray(), [1, 1.5]);
  assert.equal(where(yes, k, 1.5).dtype, "float32");
  assertThrowsWith(
    () => where(yes, k, 2 ** 40),
    RangeError,
    "where: the number 1099511627776 next to an int32 tensor is not an int32",
  );
  assert.deepEqual(Array.from(where(yes, k, -7).data()), [1, -7]);
  assert.deepEqual(
    Array.from(tensor([2147483647, -2147483648], i32).data()),
    [2147483647, -2147483648],
  );
});

// ------------------------------------------------------------- stack traces

Deno.test("an error deep inside nested transforms keeps the user's function and call site in its stack", () => {
  function lossWithAShapeBug(v: Tensor): Tensor {
    return v.exp().add(tensor([1, 2, 3], f64)).sum();
  }
  const X = tensor([[1, 2], [3, 4]], f64);
  const limit = Error.stackTraceLimit;
  const runs: [string, () => unknown][] = [
    ["grad", () => grad(lossWithAShapeBug)(x)],
    ["vmap(grad)", () => vmap(grad(lossWithAShapeBug))(X)],
    ["jacfwd(vmap(grad))", () => jacfwd(vmap(grad(lossWithAShapeBug)))(X)],
    ["jit(hessian)", () => jit(hessian(lossWithAShapeBug))(x)],
    [
      "vmap(jacrev(jacfwd(grad)))",
      () => vmap(jacrev(jacfwd(grad(lossWithAShapeBug))))(X),
    ],
  ];
  for (const [name, run] of runs) {
    (function theCallSite() {
      try {
        run();
        assert.fail(`${name}: expected a shape error`);
      } catch (e) {
        const stack = (e as Error).stack ?? "";
        assert.match((e as Error).message, /add: .*\[2\].*\[3\]/, name);
        assert.ok(stack.includes("lossWithAShapeBug"), `${name}: ${stack}`);
        assert.ok(stack.includes("theCallSite"), `${name}: ${stack}`);
      }
    })();
  }
  assert.equal(Error.stackTraceLimit, limit, "the limit is restored");
});
