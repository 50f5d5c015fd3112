/**
 * customJvp, customVjp and checkpoint through every transform, nested, in
 * float64, against closed forms and central differences; each transformed
 * function is called twice (the second call reuses jit caches and memos).
 * @module
 */
import assert from "node:assert/strict";
import {
  checkpoint,
  customJvp,
  customVjp,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  makeProgram,
  type Tensor,
  tensor,
  vjp,
  vmap,
} from "../mod.ts";
import {
  assertClose,
  assertThrowsWith,
  centralDiff,
  randnT,
  Rng,
} from "./_helpers.ts";
import { linearizeFlat } from "../src/core/ad.ts";
import { checkProgram } from "../src/core/ir.ts";

const F64 = { dtype: "float64" } as const;
const EXACT = { rtol: 1e-10, atol: 1e-12 };
const FD = { rtol: 1e-6, atol: 1e-7 };

/** Calls `make` twice and checks both results agree; returns the first. */
function twice(make: () => Tensor, what: string): Tensor {
  const a = make(), b = make();
  assertClose(b, a, { rtol: 0, atol: 0 }, `${what}: second call`);
  return a;
}

// ---- stable softplus and logsumexp with custom JVP rules --------------------

let softplusRules = 0;
/** log(1 + eˣ) = relu(x) + log1p(e^-|x|): never overflows. */
const softplusRaw = (x: Tensor) => x.relu().add(x.abs().neg().exp().log1p());
const softplus: (x: Tensor) => Tensor = customJvp(
  softplusRaw,
  ([x], [t]) => {
    softplusRules++;
    return [softplus(x), t.mul(x.sigmoid())];
  },
);
const sigmoid = (x: Tensor) => x.sigmoid();
const dSigmoid = (x: Tensor) => x.sigmoid().mul(x.sigmoid().neg().add(1));

let lseRules = 0;
/** log Σ exp(x) over the last axis, shifted by the max. */
const lseRaw = (x: Tensor) => {
  const m = x.detach().max(-1, true);
  return x.sub(m).exp().sum(-1).log().add(m.squeeze(-1));
};
const logsumexp: (x: Tensor) => Tensor = customJvp(lseRaw, ([x], [t]) => {
  lseRules++;
  const y = logsumexp(x);
  const p = x.sub(y.unsqueeze(-1)).exp(); // softmax, from the custom value
  return [y, p.mul(t).sum(-1)];
});
const softmax = (x: Tensor) => x.sub(lseRaw(x).unsqueeze(-1)).exp();

Deno.test("customJvp softplus: value, grad, jvp, vjp, jacfwd and jacrev use the rule (closed form sigmoid)", () => {
  const x = tensor([-800, -3, -0.5, 0, 0.5, 3, 800], F64);
  const f = (x: Tensor) => softplus(x).sum();
  // The plain formula overflows at 800; the stable one does not.
  assertClose(softplus(x).select(0, 6), 800, EXACT);
  softplusRules = 0;
  assertClose(twice(() => grad(f)(x), "grad"), sigmoid(x), EXACT);
  assert.ok(softplusRules >= 2, "the rule ran");
  const t = tensor([1, 2, 3, 4, 5, 6, 7], F64);
  assertClose(
    twice(() => jvp(softplus, [x], [t])[1], "jvp"),
    sigmoid(x).mul(t),
    EXACT,
  );
  const [, back] = vjp(softplus, x);
  assertClose(twice(() => back(t)[0], "vjp"), sigmoid(x).mul(t), EXACT);
  const J = twice(() => jacfwd(softplus)(x), "jacfwd");
  assertClose(twice(() => jacrev(softplus)(x), "jacrev"), J, EXACT);
  assertClose(J.diagonal(), sigmoid(x), EXACT);
});

Deno.test("customJvp softplus: hessian, vmap(jacfwd), jit and nestings equal sigmoid' and finite differences", () => {
  const rng = new Rng(3);
  const x = randnT(rng, [5]).mul(3);
  const f = (x: Tensor) => softplus(x).sum();
  const H = twice(() => hessian(f)(x), "hessian");
  assertClose(H.diagonal(), dSigmoid(x), EXACT);
  assertClose(H.sum(), dSigmoid(x).sum(), EXACT);
  // Second derivative by central differences of the first (float64).
  const gFd = centralDiff((y) => grad(f)(y), [x], [
    tensor([1, 0, 0, 0, 0], F64),
  ]);
  assertClose(H.select(0, 0), gFd[0], FD);
  const xs = randnT(rng, [4, 5]);
  const batched = twice(() => vmap(jacfwd(softplus))(xs), "vmap(jacfwd)");
  for (let i = 0; i < 4; i++) {
    assertClose(
      batched.select(0, i).diagonal(),
      sigmoid(xs.select(0, i)),
      EXACT,
    );
  }
  const compositions: [string, () => Tensor, Tensor][] = [
    ["jit(grad)", () => jit(grad(f))(x), sigmoid(x)],
    ["grad(jit)", () => grad(jit(f))(x), sigmoid(x)],
    ["jit(hessian)", () => jit(hessian(f))(x).diagonal(), dSigmoid(x)],
    ["hessian(jit)", () => hessian(jit(f))(x).diagonal(), dSigmoid(x)],
    ["jacrev(jacrev)", () => jacrev(jacrev(f))(x).diagonal(), dSigmoid(x)],
    ["jacfwd(jacfwd)", () => jacfwd(jacfwd(f))(x).diagonal(), dSigmoid(x)],
    ["jacfwd(grad)", () => jacfwd(grad(f))(x).diagonal(), dSigmoid(x)],
    ["vmap(grad)", () => vmap(grad(softplus))(x), sigmoid(x)],
    [
      "grad(vmap)",
      () => grad((v: Tensor) => vmap(softplus)(v).sum())(x),
      sigmoid(x),
    ],
    ["vmap(jit(grad))", () => vmap(jit(grad(softplus)))(x), sigmoid(x)],
    ["jit(vmap(grad))", () => jit(vmap(grad(softplus)))(x), sigmoid(x)],
    [
      "grad(grad(grad))",
      () => vmap(grad(grad(grad(softplus))))(x),
      // σ'' = σ(1 − σ)(1 − 2σ)
      dSigmoid(x).mul(sigmoid(x).mul(-2).add(1)),
    ],
  ];
  for (const [name, make, want] of compositions) {
    assertClose(twice(make, name), want, EXACT, name);
  }
});

Deno.test("customJvp logsumexp: grad is softmax, hessian is diag(p) − p pᵀ, through vmap, jit and finite differences", () => {
  const rng = new Rng(5);
  const x = randnT(rng, [3, 4]).mul(2);
  lseRules = 0;
  const g = twice(() => grad((x: Tensor) => logsumexp(x).sum())(x), "grad");
  assertClose(g, softmax(x), EXACT);
  assert.ok(lseRules > 0);
  const H = twice(() => vmap(hessian(logsumexp))(x), "vmap(hessian)");
  for (let i = 0; i < 3; i++) {
    const p = softmax(x.select(0, i));
    const want = p.diag().sub(p.unsqueeze(1).mul(p.unsqueeze(0)));
    assertClose(H.select(0, i), want, EXACT, `row ${i}`);
  }
  const t = randnT(rng, [3, 4]);
  const [, tj] = jvp(logsumexp, [x], [t]);
  assertClose(tj, centralDiff(lseRaw, [x], [t])[0], FD);
  assertClose(
    twice(() => jit(vmap(jacfwd(logsumexp)))(x), "jit(vmap(jacfwd))"),
    softmax(x),
    EXACT,
  );
  // Huge inputs: the rule's softmax stays finite where exp overflows.
  const big = tensor([[1000, 1000, -1000]], F64);
  assertClose(
    grad((x: Tensor) => logsumexp(x).sum())(big),
    [0.5, 0.5, 0],
    EXACT,
  );
});

Deno.test("customJvp: the rule is used, not f's derivative (a deliberately different rule)", () => {
  // f = sin, rule says the derivative is 2: every transform must see 2.
  const weird: (x: Tensor) => Tensor = customJvp(
    (x: Tensor) => x.sin(),
    ([x], [t]) => [weird(x), t.mul(2)],
  );
  const x = tensor([0.3, 1.2], F64);
  const two = tensor([2, 2], F64);
  const f = (x: Tensor) => weird(x).sum();
  assertClose(twice(() => grad(f)(x), "grad"), two, EXACT);
  assertClose(twice(() => jit(grad(f))(x), "jit(grad)"), two, EXACT);
  assertClose(twice(() => grad(jit(f))(x), "grad(jit)"), two, EXACT);
  assertClose(twice(() => vmap(grad(weird))(x), "vmap(grad)"), two, EXACT);
  assertClose(twice(() => jacfwd(weird)(x).diagonal(), "jacfwd"), two, EXACT);
  assertClose(
    twice(() => jvp(vmap(weird), [x], [tensor([1, 1], F64)])[1], "jvp(vmap)"),
    two,
    EXACT,
  );
  // The values are f's.
  assertClose(jit(weird)(x), x.sin(), EXACT);
  // makeProgram inlines f (no rule is needed to compute values).
  assert.match(makeProgram(weird)(x).toString(), /sin/);
});

Deno.test("customJvp with pytree arguments, a number argument and two outputs", () => {
  let calls = 0;
  const polar = customJvp(
    (p: { r: Tensor; th: Tensor }, k: number) => [
      p.r.mul(p.th.cos()).mul(k),
      p.r.mul(p.th.sin()),
    ],
    ([p, k], [t]) => {
      calls++;
      const c = p.th.cos(), s = p.th.sin();
      return [
        [p.r.mul(c).mul(k), p.r.mul(s)],
        [
          t.r.mul(c).sub(t.th.mul(p.r).mul(s)).mul(k),
          t.r.mul(s).add(t.th.mul(p.r).mul(c)),
        ],
      ];
    },
  );
  const r = tensor([1.5, 2], F64), th = tensor([0.3, -0.7], F64);
  const loss = (r: Tensor, th: Tensor) => {
    const [x, y] = polar({ r, th }, 3);
    return x.mul(y).sum();
  };
  const plain = (r: Tensor, th: Tensor) =>
    r.mul(th.cos()).mul(3).mul(r.mul(th.sin())).sum();
  const [gr, gth] = grad(loss, { argnums: [0, 1] })(r, th) as Tensor[];
  const [wr, wth] = grad(plain, { argnums: [0, 1] })(r, th) as Tensor[];
  assertClose(gr, wr, EXACT);
  assertClose(gth, wth, EXACT);
  assert.ok(calls > 0);
  const H = hessian(loss)(r, th);
  assertClose(H, hessian(plain)(r, th), EXACT);
  const jf = jacfwd(loss, { argnums: 1 })(r, th);
  assertClose(jf, wth, EXACT);
});

Deno.test("customJvp errors name the function: wrong tangent shape, wrong return", () => {
  const bad = customJvp(
    function badRule(x: Tensor) {
      return x.sin();
    },
    ([x], [t]) => [x.sin(), t.sum()],
  );
  assertThrowsWith(
    () => grad((x: Tensor) => bad(x).sum())(tensor([1, 2])),
    TypeError,
    "customJvp(badRule)",
    "tangent",
    "shape [2]",
  );
  const notPair = customJvp(
    (x: Tensor) => x,
    // deno-lint-ignore no-explicit-any
    (([x]: Tensor[]) => x) as any,
  );
  assertThrowsWith(
    () => jvp(notPair, [tensor([1])], [tensor([1])]),
    TypeError,
    "must return [output, tangent]",
  );
  assertThrowsWith(
    // deno-lint-ignore no-explicit-any
    () => customJvp(1 as any, () => [] as any),
    TypeError,
    "customJvp: f must be a function",
  );
});

// ---- customVjp -------------------------------------------------------------

/** Straight-through estimator: round forwards, identity backwards. */
let steBwd = 0;
const roundSte = customVjp(
  (x: Tensor) => x.round(),
  (x: Tensor) => [x.round(), null],
  (_res, ct: Tensor) => {
    steBwd++;
    return [ct];
  },
);

Deno.test("customVjp straight-through estimator: reverse mode uses bwd under grad, vmap, jit, jacrev and nesting", () => {
  const x = tensor([0.4, 1.6, -2.3], F64);
  const f = (x: Tensor) => roundSte(x).mul(x).sum(); // d/dx = round(x) + x (STE)
  const want = x.round().add(x);
  steBwd = 0;
  for (
    const [name, make] of [
      ["grad", () => grad(f)(x)],
      ["jit(grad)", () => jit(grad(f))(x)],
      ["grad(jit)", () => grad(jit(f))(x)],
      [
        "grad(vmap)",
        () => grad((x: Tensor) => vmap(roundSte)(x).mul(x).sum())(x),
      ],
      ["vjp", () => vjp(f, x)[1](tensor(1, F64))[0]],
      ["jacrev", () => jacrev(f)(x)],
    ] as [string, () => Tensor][]
  ) assertClose(twice(make, name), want, EXACT, name);
  assert.ok(steBwd > 0);
  // Per example, vmap(grad): d/dx round(x)·x = round(x) + x.
  assertClose(
    twice(() => vmap(grad((v: Tensor) => roundSte(v).mul(v)))(x), "vmap(grad)"),
    want,
    EXACT,
  );
  // jacrev(roundSte) is the identity: bwd, batched over the basis.
  assertClose(
    twice(() => jacrev(roundSte)(x), "jacrev"),
    tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], F64),
    EXACT,
  );
  // hessian of round(x)·x with STE: d/dx (round(x) + x) where bwd's ct is
  // the identity: jacfwd(jacrev) differentiates bwd (constant) plus x: I.
  assertClose(
    twice(() => hessian(f)(x), "hessian"),
    tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], F64),
    EXACT,
  );
});

Deno.test("customVjp under forward mode differentiates f itself (documented fallback)", () => {
  // exp with a bwd that uses the saved output: bwd is used in reverse mode,
  // f's own derivative in forward mode; both are exp(x).
  let bwdCalls = 0;
  const myExp = customVjp(
    (x: Tensor) => x.exp(),
    (x: Tensor) => {
      const y = x.exp();
      return [y, y];
    },
    (y, ct: Tensor) => {
      bwdCalls++;
      return [ct.mul(y as Tensor)];
    },
  );
  const x = tensor([0.1, -0.5], F64), t = tensor([1, 3], F64);
  assertClose(
    twice(() => jvp(myExp, [x], [t])[1], "jvp"),
    x.exp().mul(t),
    EXACT,
  );
  assertClose(
    twice(() => jacfwd(myExp)(x).diagonal(), "jacfwd"),
    x.exp(),
    EXACT,
  );
  const [, jf] = linearize(myExp, x);
  assertClose(jf(t), x.exp().mul(t), EXACT);
  assert.equal(bwdCalls, 0, "forward mode never runs bwd");
  assertClose(grad((x: Tensor) => myExp(x).sum())(x), x.exp(), EXACT);
  assert.ok(bwdCalls > 0);
  // jacfwd(jacrev): the outer forward mode differentiates fwd and bwd.
  assertClose(
    hessian((x: Tensor) => myExp(x).sum())(x).diagonal(),
    x.exp(),
    EXACT,
  );
  // A function forward mode cannot differentiate: the error names it.
  const reads = customVjp(
    function readsValues(x: Tensor) {
      return x.mul(x.sum().item());
    },
    (x: Tensor) => [x.mul(x.sum().item()), x],
    (_x, ct: Tensor) => [ct],
  );
  assertThrowsWith(
    () => jvp(reads, [x], [t]),
    Error,
    "customVjp(readsValues)",
    "differentiates the function itself",
  );
  // ... while reverse mode runs fwd on concrete values.
  assertClose(grad((x: Tensor) => reads(x).sum())(x), [1, 1], EXACT);
});

Deno.test("customVjp with pytree arguments and residuals; bwd may return null for a zero cotangent", () => {
  const scaled = customVjp(
    (p: { w: Tensor; b: Tensor }, x: Tensor) => p.w.mul(x).add(p.b),
    (p: { w: Tensor; b: Tensor }, x: Tensor) =>
      [p.w.mul(x).add(p.b), { w: p.w, x }] as const,
    (res, ct: Tensor) => {
      const { x } = res as { x: Tensor };
      return [{ w: ct.mul(x), b: ct }, null];
    },
  );
  const p = { w: tensor([2, 3], F64), b: tensor([1, 1], F64) };
  const x = tensor([5, 7], F64);
  const g = grad((p: { w: Tensor; b: Tensor }) => scaled(p, x).sum())(p) as {
    w: Tensor;
    b: Tensor;
  };
  assertClose(g.w, x, EXACT);
  assertClose(g.b, [1, 1], EXACT);
  // x's cotangent was declared zero by bwd.
  assertClose(grad((x: Tensor) => scaled(p, x).sum())(x), [0, 0], EXACT);
  assertThrowsWith(
    () =>
      grad((x: Tensor) =>
        customVjp(
          function oneTooMany(x: Tensor) {
            return x;
          },
          (x: Tensor) => [x, null],
          (_r, ct: Tensor) => [ct, ct],
        )(x).sum()
      )(x),
    TypeError,
    "customVjp(oneTooMany)",
    "one cotangent per argument (1)",
  );
});

// ---- checkpoint --------------------------------------------------------------

const layer = (x: Tensor) => x.sin().mul(1.5).tanh();

Deno.test("checkpoint: same values and derivatives as the plain function under grad, hessian, vmap, jit, jvp and nesting", () => {
  const ck = checkpoint(layer);
  const plain = (x: Tensor) => layer(layer(layer(x))).sum();
  const f = (x: Tensor) => ck(ck(ck(x))).sum();
  const nested = checkpoint((x: Tensor) => ck(ck(x)));
  const g = (x: Tensor) => ck(nested(x)).sum();
  const rng = new Rng(9);
  const x = randnT(rng, [4]);
  const xs = randnT(rng, [3, 4]);
  const t = randnT(rng, [4]);
  const cases: [string, () => Tensor, () => Tensor][] = [
    ["grad", () => grad(f)(x), () => grad(plain)(x)],
    ["grad nested", () => grad(g)(x), () => grad(plain)(x)],
    ["hessian", () => hessian(f)(x), () => hessian(plain)(x)],
    ["hessian nested", () => hessian(g)(x), () => hessian(plain)(x)],
    ["jit(grad)", () => jit(grad(f))(x), () => grad(plain)(x)],
    ["grad(jit)", () => grad(jit(f))(x), () => grad(plain)(x)],
    ["vmap(grad)", () => vmap(grad(f))(xs), () => vmap(grad(plain))(xs)],
    [
      "grad(vmap)",
      () => grad((v: Tensor) => vmap(f)(v).sum())(xs),
      () => vmap(grad(plain))(xs),
    ],
    ["jvp", () => jvp(f, [x], [t])[1], () => jvp(plain, [x], [t])[1]],
    ["jacfwd(jacrev)", () => jacfwd(jacrev(f))(x), () => hessian(plain)(x)],
    [
      "jit(vmap(hessian))",
      () => jit(vmap(hessian(f)))(xs),
      () => vmap(hessian(plain))(xs),
    ],
  ];
  for (const [name, make, want] of cases) {
    assertClose(twice(make, name), want(), EXACT, name);
  }
  assertClose(f(x), plain(x), EXACT);
  const fd = centralDiff(plain, [x], [t])[0];
  assertClose(jvp(f, [x], [t])[1], fd, FD);
  // everythingSaveable is the plain function.
  assert.equal(checkpoint(layer, { policy: "everythingSaveable" }), layer);
  assertThrowsWith(
    // deno-lint-ignore no-explicit-any
    () => checkpoint(layer, { policy: "dots" as any }),
    TypeError,
    "policy must be",
  );
});

Deno.test("closing over a value an enclosing transform differentiates is an error that says to pass it as an argument", () => {
  const x = tensor([1, 2], F64), w = tensor([3, 4], F64);
  const viaJvp = (w: Tensor) =>
    customJvp(
      (x: Tensor) => x.mul(w),
      ([x], [t]) => [x.mul(w), t.mul(w)],
    )(x.mul(w)).sum();
  const viaVjp = (w: Tensor) =>
    customVjp(
      (x: Tensor) => x.mul(w),
      (x: Tensor) => [x.mul(w), null],
      (_r, ct: Tensor) => [ct],
    )(x.mul(w)).sum();
  const viaCheckpoint = (w: Tensor) =>
    checkpoint((x: Tensor) => x.mul(w))(x.mul(w)).sum();
  for (const f of [viaJvp, viaVjp, viaCheckpoint]) {
    assertThrowsWith(
      () => grad(f)(w),
      Error,
      "closed over",
      "pass it to the function as an argument",
    );
  }
  // Passed as an argument it works; closing over a value traced by a
  // transform outside the differentiation (vmap here) is fine.
  const ck = checkpoint((x: Tensor, w: Tensor) => x.mul(w));
  assertClose(
    grad((w: Tensor) => ck(x.mul(w), w).sum())(w),
    x.mul(w).mul(2),
    EXACT,
  );
  const ws = tensor([[1, 2], [3, 4]], F64);
  const outer = (w: Tensor) =>
    grad((x: Tensor) => checkpoint((x: Tensor) => x.mul(w).sin())(x).sum())(x);
  const plain = (w: Tensor) => grad((x: Tensor) => x.mul(w).sin().sum())(x);
  assertClose(vmap(outer)(ws), vmap(plain)(ws), EXACT);
});

Deno.test("customJvp, customVjp and checkpoint on the eager tape (requiresGrad, backward, autograd.grad)", () => {
  const weird: (x: Tensor) => Tensor = customJvp(
    (x: Tensor) => x.sin(),
    ([x], [t]) => [weird(x), t.mul(2)],
  );
  const x = tensor([0.3, 1.2], F64).requiresGrad();
  weird(x).sum().backward();
  assertClose(x.grad!, [2, 2], EXACT);
  const y = tensor([0.4, 1.6], F64).requiresGrad();
  roundSte(y).mul(y).sum().backward();
  assertClose(y.grad!, [0.4, 3.6], EXACT);
  const z = tensor([0.1, 0.2], F64).requiresGrad();
  checkpoint(layer)(z).sum().backward();
  assertClose(
    z.grad!,
    grad((v: Tensor) => layer(v).sum())(tensor([0.1, 0.2], F64)),
    EXACT,
  );
});

Deno.test("the linear program of a customVjp or checkpoint call holds one custom equation per output, well formed and printable", () => {
  const x = tensor([0.5, 1.5], F64);
  for (
    const [f, label] of [
      [roundSte, "customVjp(anonymous) (vjp)"],
      [checkpoint(layer), "checkpoint(layer) (linear)"],
    ] as const
  ) {
    const r = linearizeFlat("test", (xs) => [[f(xs[0])], undefined], [x]);
    checkProgram(r.program);
    const eqns = r.program.eqns.filter((e) => e.prim === "custom");
    assert.equal(eqns.length, 1);
    assert.match(
      r.program.toString(),
      new RegExp(
        `custom\\[op="${label.replace(/[()]/g, "\\$&")}#\\d+" index=0\\]`,
      ),
    );
    // Forwards (linearize's jvpFn) and backwards (vjp) agree with the plain function.
    const [, jf] = linearize(f, x);
    const t = tensor([1, -2], F64);
    const [, back] = vjp(f, x);
    const plain = f === roundSte ? t : jvp(layer, [x], [t])[1];
    if (f !== roundSte) assertClose(jf(t), plain, EXACT);
    assertClose(back(t)[0], f === roundSte ? t : vjp(layer, x)[1](t)[0], EXACT);
  }
});
