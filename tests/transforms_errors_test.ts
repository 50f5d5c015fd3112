/**
 * Bad input to the transforms gets a TypeError or RangeError whose message
 * names the argument, the option and the shapes.
 * @module
 */
import {
  checkpoint,
  customJvp,
  customVjp,
  debug,
  evalShape,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jvp,
  linearize,
  linearizeWithAux,
  linearTranspose,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  vjpWithAux,
  vmap,
} from "../mod.ts";
import { assertThrowsWith, randnT, Rng } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const rng = new Rng(99);
const x = randnT(rng, [3]), y = randnT(rng, [3]);
const f2 = (a: Tensor, b: Tensor) => a.mul(b).sum();

Deno.test("grad, jacrev, jacfwd, hessian and valueAndGrad reject argnums out of range, naming it and the argument count", () => {
  for (
    const [name, t] of [
      ["grad", grad],
      ["jacrev", jacrev],
      ["jacfwd", jacfwd],
      ["hessian", hessian],
      ["valueAndGrad", valueAndGrad],
    ] as const
  ) {
    assertThrowsWith(
      () => (t as Any)(f2, { argnums: 2 })(x, y),
      RangeError,
      `${name}: argnums 2 is out of range`,
      "2 arguments",
    );
    assertThrowsWith(
      () => (t as Any)(f2, { argnums: -3 })(x, y),
      RangeError,
      "argnums -3",
    );
    assertThrowsWith(
      () => (t as Any)(f2, { argnums: [0, 5] })(x, y),
      RangeError,
      "argnums 5",
    );
  }
});

Deno.test("grad and jacrev reject repeated argnums, also when one is negative", () => {
  assertThrowsWith(
    () => grad(f2, { argnums: [0, 0] })(x, y),
    RangeError,
    "argnums [0,0] repeats an argument",
  );
  assertThrowsWith(
    () => jacrev(f2, { argnums: [1, -1] })(x, y),
    RangeError,
    "jacrev: argnums [1,-1] repeats",
  );
  assertThrowsWith(
    () => grad(f2, { argnums: [] })(x, y),
    RangeError,
    "argnums must not be empty",
  );
});

Deno.test("vmap rejects inDims whose batch sizes disagree, naming both arguments and sizes", () => {
  const a = randnT(rng, [3, 4]), b = randnT(rng, [5, 4]);
  const err = assertThrowsWith(
    () => vmap((a: Tensor, b: Tensor) => a.add(b))(a, b),
    RangeError,
    "vmap: inDims disagree on the batch size",
    "argument 0 has size 3 along dim 0",
    "argument 1 has size 5 along dim 0",
  );
  void err;
  // Inside a pytree argument, the path names the leaf.
  assertThrowsWith(
    () =>
      vmap((p: Any) => p.u.add(p.v), { inDims: [{ u: 0, v: 1 }] })({
        u: a,
        v: b,
      }),
    RangeError,
    "argument 0.u has size 3",
    "argument 0.v has size 4 along dim 1",
  );
});

Deno.test("vmap rejects inDims and outDims past a tensor's rank, naming the argument and its shape", () => {
  const a = randnT(rng, [3, 4]);
  assertThrowsWith(
    () => vmap((a: Tensor) => a, { inDims: 2 })(a),
    RangeError,
    "vmap: inDims 2 for argument 0 of shape [3, 4] is out of range",
    "-2 <= dim < 2",
  );
  assertThrowsWith(
    () => vmap((a: Tensor, b: Tensor) => a.add(b), { inDims: [0, -3] })(a, a),
    RangeError,
    "inDims -3 for argument 1 of shape [3, 4]",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => a, { inDims: 0.5 })(a),
    TypeError,
    "inDims 0.5",
    "not an integer",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => a.sum(0), { outDims: 2 })(a),
    RangeError,
    "outDims 2 for output 0",
    "rank 1",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => [a, a], { outDims: [0] })(a),
    RangeError,
    "outDims has no entry for output 1",
  );
});

Deno.test("vmap rejects inDims that do not match the arguments", () => {
  const a = randnT(rng, [3, 4]);
  assertThrowsWith(
    () => vmap((a: Tensor, b: Tensor) => a.add(b), { inDims: [0] })(a, a),
    TypeError,
    "inDims has 1 entries",
    "2 arguments",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => a, { inDims: null })(a),
    TypeError,
    "no argument is batched",
  );
  assertThrowsWith(
    () => vmap((p: Any) => p.x, { inDims: [[0]] })({ x: a }),
    TypeError,
    "inDims for argument 0 is an array of 1",
    "an object",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => a, { chunkSize: 0 })(a),
    RangeError,
    "chunkSize must be a positive integer, got 0",
  );
});

Deno.test("vmap, jacrev and vjp reject functions returning a non-tensor, naming what was returned", () => {
  const a = randnT(rng, [3, 4]);
  assertThrowsWith(
    () => vmap((() => 3) as Any)(a),
    TypeError,
    "vmap: the function must return a tensor",
    "got number 3",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => [a, "label"])(a),
    TypeError,
    "vmap: the function must return a tensor",
    "got string label",
  );
  assertThrowsWith(
    () => vmap((() => undefined) as Any)(a),
    TypeError,
    "got undefined",
  );
  assertThrowsWith(
    () => jacrev((() => ({ y: 1 })) as Any)(x),
    TypeError,
    "jacrev: the function must return a tensor",
    "got number 1",
  );
  assertThrowsWith(
    () => jacfwd((() => null) as Any)(x),
    TypeError,
    "jacfwd: the function must return a tensor",
    "got null",
  );
  assertThrowsWith(
    () => vjp((() => "y") as Any, x),
    TypeError,
    "vjp: the function must return a tensor",
    "got string y",
  );
});

Deno.test("grad and valueAndGrad reject non-scalar outputs, naming the shape", () => {
  assertThrowsWith(
    () => grad((x: Tensor) => x.sin())(x),
    TypeError,
    "grad: the function must return a scalar tensor",
    "shape [3]",
    "use vjp or jacrev",
  );
  assertThrowsWith(
    () => valueAndGrad((x: Tensor) => x.reshape([1, 3]))(x),
    TypeError,
    "valueAndGrad:",
    "shape [1, 3]",
  );
  assertThrowsWith(
    () => grad((() => 2) as Any)(x),
    TypeError,
    "must return a scalar tensor, got number",
  );
  assertThrowsWith(
    () => hvp((x: Tensor) => x.square(), [x], [x]),
    TypeError,
    "grad: the function must return a scalar tensor",
    "shape [3]",
  );
});

Deno.test("jvp, linearize, vjpFn and hvp reject tangents whose shapes or dtypes differ from the primals", () => {
  const x32 = tensor([1, 2, 3]);
  assertThrowsWith(
    () => jvp((a: Tensor) => a.sin(), [x], [randnT(rng, [4])]),
    TypeError,
    "jvp: tangents[0] has shape [4] and dtype float64",
    "the primal has shape [3] and dtype float64",
  );
  assertThrowsWith(
    () => jvp((a: Tensor) => a.sin(), [x], [x32]),
    TypeError,
    "tangents[0]",
    "dtype float32",
    "primal has shape [3] and dtype float64",
  );
  assertThrowsWith(
    () => jvp(f2, [x, y], [x, randnT(rng, [2, 3])]),
    TypeError,
    "tangents[1] has shape [2, 3]",
  );
  assertThrowsWith(
    () => jvp(f2, [x, y], [x] as Any),
    TypeError,
    "jvp: got 2 primals but 1 tangents",
  );
  assertThrowsWith(
    () => jvp(f2, [x, y], [x, 3 as Any]),
    TypeError,
    "tangents[1] must be a Tensor, got number 3",
  );
  assertThrowsWith(
    () => jvp((a: Tensor) => a, x as Any, x as Any),
    TypeError,
    "primals and tangents must be arrays",
  );
  const [, jvpFn] = linearize((a: Tensor) => a.exp(), x);
  assertThrowsWith(
    () => jvpFn(randnT(rng, [3, 1])),
    TypeError,
    "linearize: tangents[0] has shape [3, 1]",
    "primal has shape [3]",
  );
  const [, vjpFn] = vjp((a: Tensor) => a.exp().sum(0), randnT(rng, [2, 3]));
  assertThrowsWith(
    () => vjpFn(randnT(rng, [2])),
    TypeError,
    "vjp: cotangent has shape [2]",
    "the output has shape [3]",
  );
  assertThrowsWith(
    () => vjpFn([x, x] as Any),
    TypeError,
    "vjp: cotangent must be a Tensor, got an array of length 2",
  );
  assertThrowsWith(
    () => hvp((a: Tensor) => a.sin().sum(), [x], [x32]),
    TypeError,
    "tangents[0]",
    "float32",
  );
});

Deno.test("hasAux with a function not returning a pair is a TypeError on every transform", () => {
  const noPair = (a: Tensor) => a.sum();
  const cases: [string, () => unknown][] = [
    ["grad", () => grad(noPair, { hasAux: true })(x)],
    ["valueAndGrad", () => valueAndGrad(noPair, { hasAux: true })(x)],
    ["jvp", () => jvp(noPair as Any, [x], [x], { hasAux: true })],
    ["vjp", () => vjpWithAux(noPair as Any, x)],
    ["jacrev", () => jacrev((a: Tensor) => [a], { hasAux: true })(x)],
    ["jacfwd", () => jacfwd((a: Tensor) => [a, a, a], { hasAux: true })(x)],
    ["hessian", () => hessian(noPair, { hasAux: true })(x)],
  ];
  for (const [name, run] of cases) {
    assertThrowsWith(
      run,
      TypeError,
      `${name}: with hasAux the function must return a pair [output, aux]`,
    );
  }
  assertThrowsWith(
    () => grad(noPair, { hasAux: true })(x),
    TypeError,
    "got a float64 tensor of shape []",
  );
  assertThrowsWith(
    () => jacrev((a: Tensor) => [a], { hasAux: true })(x),
    TypeError,
    "got an array of length 1",
  );
});

Deno.test("transforms reject non-functions, int32 and tensor-free differentiated arguments", () => {
  assertThrowsWith(
    () => grad(3 as Any)(x),
    TypeError,
    "grad: expected a function, got number",
  );
  assertThrowsWith(
    () => vmap("f" as Any),
    TypeError,
    "vmap: expected a function",
  );
  assertThrowsWith(
    () => jacrev(null as Any)(x),
    TypeError,
    "jacrev: expected a function",
  );
  assertThrowsWith(
    () => hessian(null as Any),
    TypeError,
    "hessian: expected a function",
  );
  assertThrowsWith(
    () => grad((a: Tensor) => a.sum())(tensor([1, 2], { dtype: "int32" })),
    TypeError,
    "argument 0 is an int32 tensor",
  );
  assertThrowsWith(
    () => grad((_a: Tensor, k: number) => x.mul(k).sum(), { argnums: 1 })(x, 2),
    TypeError,
    "argument 1 is number 2",
    "no tensor to differentiate",
  );
});

Deno.test("a tracer used after its transform returned raises an error naming the transform", () => {
  let leaked: Tensor | null = null;
  grad((a: Tensor) => {
    leaked = a;
    return a.sum();
  })(x);
  assertThrowsWith(
    () => leaked!.sin(),
    Error,
    "traced by grad",
    "used outside that transform",
  );
  let leakedB: Tensor | null = null;
  vmap((a: Tensor) => {
    leakedB = a;
    return a;
  })(randnT(rng, [2, 3]));
  assertThrowsWith(
    () => leakedB!.add(x),
    Error,
    "traced by vmap",
    "used outside that transform",
  );
});

Deno.test("customJvp, customVjp, checkpoint, evalShape, linearTranspose, linearizeWithAux and debug reject bad input, naming the function or option", () => {
  assertThrowsWith(
    () => customJvp(1 as Any, () => [] as Any),
    TypeError,
    "customJvp: f must be a function",
  );
  assertThrowsWith(
    () => customJvp((x: Tensor) => x, 2 as Any),
    TypeError,
    "customJvp: jvpRule must be a function",
  );
  assertThrowsWith(
    () => customVjp((x: Tensor) => x, (x: Tensor) => [x, null], null as Any),
    TypeError,
    "customVjp: bwd must be a function",
  );
  const noPair = customVjp(
    function noPair(x: Tensor) {
      return x;
    },
    ((x: Tensor) => x) as Any,
    (_r, ct: Tensor) => [ct],
  );
  assertThrowsWith(
    () => grad((x: Tensor) => noPair(x).sum())(x),
    TypeError,
    "customVjp(noPair): fwd must return [output, residuals]",
  );
  const badShape = customVjp(
    function badShape(x: Tensor) {
      return x;
    },
    (x: Tensor) => [x, null],
    (_r, ct: Tensor) => [ct.sum()],
  );
  assertThrowsWith(
    () => grad((x: Tensor) => badShape(x).sum())(x),
    TypeError,
    "customVjp(badShape)",
    "bwd's cotangent 0",
    "shape [3]",
  );
  assertThrowsWith(
    () => checkpoint((x: Tensor) => x, { polcy: "x" } as Any),
    TypeError,
    'checkpoint: unknown option "polcy"',
  );
  assertThrowsWith(
    () => evalShape(3 as Any),
    TypeError,
    "evalShape: expected a function",
  );
  assertThrowsWith(
    () => linearTranspose((x: Tensor) => x.exp(), x)(x),
    TypeError,
    "linearTranspose",
    "not linear",
    "exp",
  );
  assertThrowsWith(
    () => linearTranspose((x: Tensor) => x.mul(2), x)(tensor([1, 2])),
    TypeError,
    "linearTranspose: cotangent has shape [2]",
  );
  assertThrowsWith(
    () => linearizeWithAux((x: Tensor) => x as Any, x),
    TypeError,
    "linearize: with hasAux the function must return a pair",
  );
  assertThrowsWith(
    () => debug.print(3 as Any),
    TypeError,
    "debug.print: fmt must be a string",
  );
  assertThrowsWith(
    () => vmap((a: Tensor) => [a, a], { outDims: [0, 1, 2] })(x),
    RangeError,
    "outDims has 3 entries but the output has 2",
  );
});
