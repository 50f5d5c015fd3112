/**
 * The transforms' return types follow the arguments and outputs. Checked
 * when this file is type-checked (`deno check tests`, and `deno test`
 * before it runs): `expectType<Equal<A, B>>()` fails to compile unless the
 * types are identical (so `any` or `unknown` fails), and each
 * `@ts-expect-error` line fails to compile if the error it expects goes
 * away, as it would if a result became `any`. The tests then run the same
 * calls and check that the values have the structure the types promise.
 */
import assert from "node:assert/strict";
import {
  autograd,
  grad,
  hessian,
  hvp,
  jacfwd,
  type JacobianOptions,
  jacrev,
  Tensor,
  tensor,
  valueAndGrad,
  vhp,
} from "../mod.ts";

/** True when X and Y are the same type (any and unknown only equal themselves). */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends
  (<T>() => T extends Y ? 1 : 2) ? true : false;
/** Compiles only when T is `true`. */
function expectType<T extends true>(): T | void {}

const f64 = { dtype: "float64" } as const;
const x = tensor([0.5, -1, 2], f64);
const y = tensor([1.5, 0.25, -0.5], f64);

// Functions with typed arguments, as users write them.
const unary = (x: Tensor) => x.sin().mul(x);
const scalar = (x: Tensor) => x.pow(3).sum();
const binary = (a: Tensor, b: Tensor) => a.mul(b).sin();
const binaryScalar = (a: Tensor, b: Tensor) => a.mul(b).sin().sum();
const tupleOut = (a: Tensor, b: Tensor) => [a.mul(b), a.add(b).sum()] as const;
const objectOut = (a: Tensor) => ({ s: a.sin(), c: { k: a.cos() } });
type Params = { w: Tensor; b: Tensor };
const treeArg = (p: Params, v: Tensor) => p.w.mul(v).add(p.b).tanh().sum();
const withAux = (a: Tensor) => [a.exp(), { n: 3, label: "aux" }] as const;

/** Is t a tensor of this shape? */
function isTensor(t: unknown, shape: number[]): boolean {
  return t instanceof Tensor && t.shape.join() === shape.join();
}

Deno.test("types: jacrev and jacfwd follow argnums and the output's structure", () => {
  const both: (typeof jacrev)[] = [jacrev, jacfwd]; // the same signature
  for (const jac of both) {
    const J = jac(unary)(x);
    expectType<Equal<typeof J, Tensor>>();
    assert.ok(isTensor(J, [3, 3]));

    const J1 = jac(binary, { argnums: 1 })(x, y);
    expectType<Equal<typeof J1, Tensor>>();
    assert.ok(isTensor(J1, [3, 3]));

    const Jab = jac(binary, { argnums: [0, 1] })(x, y);
    expectType<Equal<typeof Jab, [Tensor, Tensor]>>();
    assert.ok(Array.isArray(Jab) && Jab.length === 2);
    assert.ok(isTensor(Jab[0], [3, 3]) && isTensor(Jab[1], [3, 3]));
    // @ts-expect-error: a pair has no third entry
    Jab[2];

    const Jt = jac(tupleOut, { argnums: [0, 1] })(x, y);
    expectType<Equal<typeof Jt, [[Tensor, Tensor], [Tensor, Tensor]]>>();
    assert.ok(isTensor(Jt[0][1], [3, 3]) && isTensor(Jt[1][0], [3]));

    const Jo = jac(objectOut)(x);
    expectType<Equal<typeof Jo, { s: Tensor; c: { k: Tensor } }>>();
    assert.ok(isTensor(Jo.s, [3, 3]) && isTensor(Jo.c.k, [3, 3]));
    // @ts-expect-error: the output has no `t`
    Jo.t;

    const Jp = jac(treeArg)({ w: x, b: y }, y);
    expectType<Equal<typeof Jp, Params>>();
    assert.ok(isTensor(Jp.w, [3]) && isTensor(Jp.b, [3]));

    const [Ja, aux] = jac(withAux, { hasAux: true })(x);
    expectType<Equal<typeof Ja, Tensor>>();
    expectType<Equal<typeof aux, { readonly n: 3; readonly label: "aux" }>>();
    assert.ok(isTensor(Ja, [3, 3]));
    assert.deepEqual(aux, { n: 3, label: "aux" });

    // An options object typed JacobianOptions (argnums: number): the
    // arguments' type, here Tensor.
    const opts: JacobianOptions = { argnums: 1 };
    const Jn = jac(binary, opts)(x, y);
    expectType<Equal<typeof Jn, Tensor>>();

    // @ts-expect-error: a Tensor is not a string (passes if the result were any)
    const s: string = jac(unary)(x);
    void s;
  }
});

Deno.test("types: untyped functions get their types from the call's arguments", () => {
  // `(v) => v.sin()` returns any: it counts as a tensor output.
  const J = jacrev((v) => v.sin())(x);
  expectType<Equal<typeof J, Tensor>>();
  assert.ok(isTensor(J, [3, 3]));
  const [Ja, Jb] = jacfwd((a, b) => a.mul(b), { argnums: [0, 1] })(x, y);
  expectType<Equal<typeof Ja | typeof Jb, Tensor>>();
  const Hp = hessian((p) => p.w.mul(p.b).sum())({ w: x, b: y });
  expectType<
    Equal<
      typeof Hp,
      { w: { w: Tensor; b: Tensor }; b: { w: Tensor; b: Tensor } }
    >
  >();
  assert.ok(isTensor(Hp.w.b, [3, 3]));
  // @ts-expect-error: a Tensor has no `allclose` method (the npm README once called it)
  J.allclose;
});

Deno.test("types: hessian nests the arguments' structure twice", () => {
  const H = hessian(scalar)(x);
  expectType<Equal<typeof H, Tensor>>();
  assert.ok(isTensor(H, [3, 3]));

  const Hab = hessian(binaryScalar, { argnums: [0, 1] })(x, y);
  expectType<Equal<typeof Hab, [[Tensor, Tensor], [Tensor, Tensor]]>>();
  assert.ok(isTensor(Hab[0][1], [3, 3]) && isTensor(Hab[1][0], [3, 3]));

  const Hv = hessian(binary, { argnums: 1 })(x, y); // tensor output
  expectType<Equal<typeof Hv, Tensor>>();
  assert.ok(isTensor(Hv, [3, 3, 3]));

  const Hp = hessian(treeArg)({ w: x, b: y }, y);
  expectType<Equal<typeof Hp, { w: Params; b: Params }>>();
  assert.ok(isTensor(Hp.w.b, [3, 3]) && isTensor(Hp.b.w, [3, 3]));

  const [Ha, aux] = hessian(
    (a: Tensor) => [a.exp().sum(), a.shape] as const,
    { hasAux: true },
  )(x);
  expectType<Equal<typeof Ha, Tensor>>();
  expectType<Equal<typeof aux, readonly number[]>>();
  assert.ok(isTensor(Ha, [3, 3]));

  // @ts-expect-error: a Tensor has no `map` (passes if the result were any)
  hessian(scalar)(x).map;
});

Deno.test("types: hvp and vhp have the primals' structure", () => {
  const hv = hvp(scalar, [x], [y]);
  expectType<Equal<typeof hv, Tensor>>();
  assert.ok(isTensor(hv, [3]));
  const vh = vhp(scalar, [x], [y]);
  expectType<Equal<typeof vh, Tensor>>();
  assert.ok(isTensor(vh, [3]));

  const pair = hvp(binaryScalar, [x, y], [y, x]);
  expectType<Equal<typeof pair, [Tensor, Tensor]>>();
  assert.ok(Array.isArray(pair) && isTensor(pair[1], [3]));
  const pair2 = vhp(binaryScalar, [x, y], [y, x]);
  expectType<Equal<typeof pair2, [Tensor, Tensor]>>();
  assert.ok(Array.isArray(pair2) && isTensor(pair2[0], [3]));

  // @ts-expect-error: a pair has no third entry
  pair[2];
});

Deno.test("types: grad and valueAndGrad take argnums arrays as tuples and type the aux", () => {
  const gs = grad(binaryScalar, { argnums: [0, 1] })(x, y);
  expectType<Equal<typeof gs, [Tensor, Tensor]>>();
  const [v, [gp, gv]] = valueAndGrad(treeArg, { argnums: [0, 1] })(
    { w: x, b: y },
    y,
  );
  expectType<Equal<typeof v, Tensor>>();
  expectType<Equal<typeof gp, Params>>();
  expectType<Equal<typeof gv, Tensor>>();
  assert.ok(isTensor(gp.w, [3]) && isTensor(gv, [3]));
  const [g, aux] = grad((a: Tensor) => [a.exp().sum(), { n: 3 }] as const, {
    hasAux: true,
  })(x);
  expectType<Equal<typeof g, Tensor>>();
  expectType<Equal<typeof aux, { readonly n: 3 }>>();
  assert.equal(aux.n, 3);
});

Deno.test("types: autograd.jacobian and autograd.hessian follow outputs and inputs", () => {
  const a = tensor([0.5, -1, 2], f64).requiresGrad();
  const b = tensor(1.5, f64).requiresGrad();
  const y1 = a.mul(b).sin(), y2 = a.square().sum();

  const J = autograd.jacobian(y1, a);
  expectType<Equal<typeof J, Tensor>>();
  assert.ok(isTensor(J, [3, 3]));
  const Jin = autograd.jacobian(y1, [a, b]);
  expectType<Equal<typeof Jin, [Tensor, Tensor]>>();
  assert.ok(isTensor(Jin[1], [3]));
  const Jout = autograd.jacobian([y1, y2], a);
  expectType<Equal<typeof Jout, [Tensor, Tensor]>>();
  assert.ok(isTensor(Jout[1], [3]));
  const Jboth = autograd.jacobian([y1, y2], [a, b]);
  expectType<Equal<typeof Jboth, [[Tensor, Tensor], [Tensor, Tensor]]>>();
  assert.ok(isTensor(Jboth[1][0], [3]) && isTensor(Jboth[0][1], [3]));
  const list: Tensor[] = [a, b];
  const Jlist = autograd.jacobian(y1, list);
  expectType<Equal<typeof Jlist, Tensor[]>>();

  const H = autograd.hessian(y2, a);
  expectType<Equal<typeof H, Tensor>>();
  assert.ok(isTensor(H, [3, 3]));
  const Hab = autograd.hessian(a.mul(b).sin().sum(), [a, b]);
  expectType<Equal<typeof Hab, [[Tensor, Tensor], [Tensor, Tensor]]>>();
  assert.ok(isTensor(Hab[0][1], [3]) && isTensor(Hab[1][1], []));

  // @ts-expect-error: a Tensor is not a number (passes if the result were any)
  const n: number = autograd.hessian(y2, a);
  void n;
  // @ts-expect-error: unknown or any would not be a Tensor; this must fail as a string
  const s: string = autograd.jacobian(y1, a);
  void s;
});

Deno.test("types: autograd.functional follows PyTorch's nesting", () => {
  const F = autograd.functional;
  const J = F.jacobian((v: Tensor) => v.sin(), x);
  expectType<Equal<typeof J, Tensor>>();
  assert.ok(isTensor(J, [3, 3]));
  const J2 = F.jacobian(binary, [x, y]);
  expectType<Equal<typeof J2, [Tensor, Tensor]>>();
  assert.ok(isTensor(J2[1], [3, 3]));
  const H = F.hessian(binaryScalar, [x, y]);
  expectType<Equal<typeof H, [[Tensor, Tensor], [Tensor, Tensor]]>>();
  assert.ok(isTensor(H[0][1], [3, 3]));
  const [out, g] = F.vjp(unary, x, y);
  expectType<Equal<typeof out, Tensor>>();
  expectType<Equal<typeof g, Tensor>>();
  const [, hv] = F.hvp(binaryScalar, [x, y], [y, x]);
  expectType<Equal<typeof hv, [Tensor, Tensor]>>();
  assert.ok(Array.isArray(hv) && isTensor(hv[0], [3]));
  const [, t] = F.jvp(unary, x, y);
  expectType<Equal<typeof t, Tensor>>();
});
