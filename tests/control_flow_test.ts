/**
 * Control flow (scan, cond, switchCase, whileLoop, forLoop): values against
 * plain loops and unrolled versions, derivatives against float64 central
 * differences and the unrolled loop, vmap against a loop over the batch,
 * jit (called twice), nested compositions, the program printer, and the
 * errors for mismatched carries and branches.
 */
import assert from "node:assert/strict";
import {
  cond,
  forLoop,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  makeProgram,
  memoryStats,
  scan,
  switchCase,
  type Tensor,
  tensor,
  vhp,
  vjp,
  vmap,
  whileLoop,
} from "../mod.ts";
import { checkProgram } from "../src/core/ir.ts";
import {
  assertClose,
  assertThrowsWith,
  centralDiff,
  innerAll,
  randnT,
  Rng,
  stackOf,
} from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;
const TOL = { rtol: 1e-6, atol: 1e-8 };

// A recurrence with a loop-invariant weight, a carry pytree and ys.
function stepFn(w: Tensor) {
  return (c: { h: Tensor; s: Tensor }, x: Tensor) => {
    const h = c.h.mul(w).add(x).tanh();
    return [{ h, s: c.s.add(h.sum()) }, h.mul(x)] as const;
  };
}
function scanRnn(w: Tensor, h0: Tensor, xs: Tensor): Tensor {
  const [c, ys] = scan(stepFn(w), { h: h0, s: h0.sum().mul(0) }, xs);
  return c.s.add(ys.square().sum()).add(c.h.sum());
}
function loopRnn(w: Tensor, h0: Tensor, xs: Tensor): Tensor {
  let c = { h: h0, s: h0.sum().mul(0) };
  const ys: Tensor[] = [];
  for (let i = 0; i < xs.shape[0]; i++) {
    const [n, y] = stepFn(w)(c, xs.select(0, i));
    c = n;
    ys.push(y);
  }
  return c.s.add(stackOf(ys.length, (i) => ys[i]).square().sum()).add(
    c.h.sum(),
  );
}

const rng = new Rng(7);
const W = randnT(rng, [3], "float64");
const H0 = randnT(rng, [3], "float64");
const XS = randnT(rng, [5, 3], "float64");

Deno.test("scan: cumulative sum, pytrees, reverse and length-only scans match plain loops", () => {
  const [total, sums] = scan(
    (c: Tensor, x: Tensor) => [c.add(x), c.add(x)],
    tensor(0),
    tensor([1, 2, 3, 4]),
  );
  assertClose(total, 10);
  assertClose(sums, [1, 3, 6, 10]);
  const [rt, rsums] = scan(
    (c: Tensor, x: Tensor) => [c.add(x), c.add(x)],
    tensor(0),
    tensor([1, 2, 3, 4]),
    { reverse: true },
  );
  assertClose(rt, 10);
  assertClose(rsums, [10, 9, 7, 4]);
  // xs and ys as pytrees; a carry that is an object.
  const [c, ys] = scan(
    (c: { a: Tensor }, x: { p: Tensor; q: Tensor }) =>
      [{ a: c.a.mul(x.p).add(x.q) }, [x.p.add(1), c.a]] as const,
    { a: tensor([1, 1]) },
    { p: tensor([[2, 3], [4, 5]]), q: tensor([[1, 0], [0, 1]]) },
  );
  assertClose(c.a, [12, 16]);
  assertClose(ys[0], tensor([[3, 4], [5, 6]]));
  assertClose(ys[1], tensor([[1, 1], [3, 3]]));
  // No xs: length gives the steps; y may be null.
  const [p, none] = scan(
    (c: Tensor) => [c.mul(2), null],
    tensor(1),
    undefined,
    { length: 10 },
  );
  assertClose(p, 1024);
  assert.equal(none, null);
  assertClose(scanRnn(W, H0, XS), loopRnn(W, H0, XS), TOL);
});

Deno.test("scan: jvp and vjp match float64 central differences and the unrolled loop", () => {
  const args: [Tensor, Tensor, Tensor] = [W, H0, XS];
  const ts = args.map((a) => randnT(rng, a.shape, "float64")) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  const [y, dy] = jvp(scanRnn, args, ts);
  assertClose(y, loopRnn(W, H0, XS), TOL);
  const [fd] = centralDiff(scanRnn, args, ts);
  assertClose(dy, fd, { rtol: 1e-6, atol: 1e-7 });
  const [, back] = vjp(scanRnn, ...args);
  const cts = back(tensor(1, f64));
  assertClose(innerAll(cts, ts), dy.item(), { rtol: 1e-9, atol: 1e-9 });
  const gl = grad(loopRnn, { argnums: [0, 1, 2] })(W, H0, XS);
  cts.forEach((c, i) => assertClose(c, gl[i], TOL));
});

Deno.test("scan: hessian, jacfwd and jacrev agree with the unrolled loop and with each other", () => {
  const f = (w: Tensor) => scanRnn(w, H0, XS);
  const g = (w: Tensor) => loopRnn(w, H0, XS);
  const H = hessian(f)(W);
  assertClose(H, hessian(g)(W), TOL);
  assertClose(jacrev(jacrev(f))(W), H, TOL);
  assertClose(jacfwd(jacfwd(f))(W), H, TOL);
  assertClose(jacfwd(f)(W), grad(g)(W), TOL);
  // Second order against finite differences of the gradient.
  const t = randnT(rng, [3], "float64");
  const [fd] = centralDiff((w) => grad(f)(w), [W], [t]);
  assertClose(H.matmul(t.reshape([3, 1])).reshape([3]), fd, {
    rtol: 1e-5,
    atol: 1e-6,
  });
});

Deno.test("scan: vmap matches a loop over the batch (batched consts, carries and xs)", () => {
  const Ws = randnT(rng, [4, 3], "float64");
  const Xs = randnT(rng, [5, 4, 3], "float64"); // batch on dim 1
  const v = vmap(scanRnn, { inDims: [0, null, 1] })(Ws, H0, Xs);
  for (let b = 0; b < 4; b++) {
    assertClose(
      v.select(0, b),
      loopRnn(Ws.select(0, b), H0, Xs.select(1, b)),
      TOL,
    );
  }
});

Deno.test("scan: grad of vmap of scan, jit(hessian(scan)) called twice, vmap(grad)", () => {
  const Ws = randnT(rng, [4, 3], "float64");
  const gv = grad((ws: Tensor) =>
    vmap((w: Tensor) => scanRnn(w, H0, XS))(ws).sum()
  )(Ws);
  const vg = vmap(grad((w: Tensor) => scanRnn(w, H0, XS)))(Ws);
  for (let b = 0; b < 4; b++) {
    const ref = grad((w: Tensor) => loopRnn(w, H0, XS))(Ws.select(0, b));
    assertClose(gv.select(0, b), ref, TOL);
    assertClose(vg.select(0, b), ref, TOL);
  }
  const jh = jit(hessian((w: Tensor) => scanRnn(w, H0, XS)));
  const ref = hessian((w: Tensor) => loopRnn(w, H0, XS))(W);
  assertClose(jh(W), ref, TOL);
  assertClose(jh(W), ref, TOL);
  const W2 = W.mul(0.5);
  assertClose(jh(W2), hessian((w: Tensor) => loopRnn(w, H0, XS))(W2), TOL);
});

Deno.test("scan: jit called twice, in float32 and float64, and nested scans", () => {
  const f = jit(scanRnn);
  for (let k = 0; k < 2; k++) {
    assertClose(f(W, H0, XS), loopRnn(W, H0, XS), TOL);
  }
  const w32 = W.to("float32"), h32 = H0.to("float32"), x32 = XS.to("float32");
  assertClose(f(w32, h32, x32), loopRnn(w32, h32, x32), {
    rtol: 1e-5,
    atol: 1e-5,
  });
  // A scan inside a scan: an outer recurrence over inner cumulative sums.
  const nested = (a: Tensor) =>
    scan(
      (c: Tensor, row: Tensor) => {
        const [s] = scan(
          (d: Tensor, x: Tensor) => [d.add(x.mul(a)).sin(), null],
          c,
          row,
        );
        return [s, s];
      },
      tensor(0.1, f64),
      XS,
    )[0];
  const nestedLoop = (a: Tensor) => {
    let c = tensor(0.1, f64);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 3; j++) {
        c = c.add(XS.select(0, i).select(0, j).mul(a)).sin();
      }
    }
    return c;
  };
  const a = tensor(0.7, f64);
  assertClose(nested(a), nestedLoop(a), TOL);
  assertClose(grad(nested)(a), grad(nestedLoop)(a), TOL);
  assertClose(jit(grad(nested))(a), grad(nestedLoop)(a), TOL);
  assertClose(hessian(nested)(a), hessian(nestedLoop)(a), TOL);
});

Deno.test("scan: the traced program holds one copy of the body, printed nested", () => {
  const f = (w: Tensor) =>
    scan(
      (c: Tensor) => {
        c.exp(); // dead code: dropped from the body
        return [c.mul(w).tanh(), null];
      },
      tensor([1, 1, 1], f64),
      null,
      { length: 1000 },
    )[0];
  const p = makeProgram(f)(W);
  const text = p.toString();
  assert.equal(text.match(/tanh/g)?.length, 1, text);
  assert.doesNotMatch(text, /exp/);
  assert.equal(text.match(/= scan\[/g)?.length, 1, text);
  assert.match(text, /length=1000/);
  assert.match(
    text,
    /\n {6}body=\{ lambda ; a:f64\[3\] b:f64\[3\] \. let\n {10}c:f64\[3\] = mul b a\n/,
    text,
  );
  checkProgram(p);
  // Reverse mode: one forward scan (residuals) and one reverse scan.
  const g = makeProgram(grad((w: Tensor) => f(w).sum()))(W);
  assert.equal(g.toString().match(/= scan\[/g)?.length, 2, g.toString());
  assert.ok(g.eqns.length < 30, g.toString());
  checkProgram(g);
  checkProgram(makeProgram(vmap(f))(randnT(rng, [2, 3], "float64")));
  checkProgram(makeProgram(hessian((w: Tensor) => f(w).sum()))(W));
});

Deno.test("cond: values, both branches under jit (called twice), derivatives against finite differences", () => {
  const g = (x: Tensor) =>
    cond(
      x.sum().gt(0),
      (v: Tensor) => v.sin().mul(v),
      (v: Tensor) => v.cos().mul(2),
      x,
    );
  const ref = (x: Tensor) =>
    x.detach().sum().item() > 0 ? x.sin().mul(x) : x.cos().mul(2);
  const xp = tensor([0.5, 1.5], f64), xn = tensor([-0.5, -1.5], f64);
  const jg = jit(g);
  for (const x of [xp, xn, xp, xn]) {
    assertClose(g(x), ref(x), TOL);
    assertClose(jg(x), ref(x), TOL);
    const t = randnT(rng, [2], "float64");
    const [, dy] = jvp(g, [x], [t]);
    assertClose(dy, centralDiff(g, [x], [t])[0], { rtol: 1e-6, atol: 1e-7 });
    assertClose(jacrev(g)(x), jacfwd(g)(x), TOL);
    assertClose(
      hessian((v: Tensor) => g(v).sum())(x),
      hessian((v: Tensor) => ref(v).sum())(x),
      TOL,
    );
  }
  assertClose(cond(true, () => tensor(1), () => tensor(2)), 1);
  assertClose(cond(tensor(0), () => tensor(1), () => tensor(2)), 2);
});

Deno.test("cond: a batched predicate under vmap selects per entry; grad through it", () => {
  const g = (x: Tensor) =>
    cond(
      x.sum().gt(0),
      (v: Tensor) => v.sin(),
      (v: Tensor) => v.cos().mul(2),
      x,
    );
  const xs = tensor([[1, 2], [-3, -4], [0.5, -0.1]], f64);
  const v = vmap(g)(xs);
  const gv = grad((x: Tensor) => vmap(g)(x).sum())(xs);
  for (let b = 0; b < 3; b++) {
    assertClose(v.select(0, b), g(xs.select(0, b)), TOL);
    assertClose(
      gv.select(0, b),
      grad((x: Tensor) => g(x).sum())(xs.select(0, b)),
      TOL,
    );
  }
  // An unbatched predicate with batched operands.
  const h = (x: Tensor, p: Tensor) =>
    cond(p, (v: Tensor) => v.exp(), (v: Tensor) => v.neg(), x);
  const u = vmap(h, { inDims: [0, null] })(xs, tensor(1));
  assertClose(u, xs.exp(), TOL);
});

Deno.test("switchCase: clamped index, jit, vmap over the index", () => {
  const fs = [
    (v: Tensor) => v.sin(),
    (v: Tensor) => v.cos(),
    (v: Tensor) => v.neg(),
  ];
  const x = tensor([1, 2], f64);
  assertClose(switchCase(1, fs, x), x.cos(), TOL);
  assertClose(switchCase(7, fs, x), x.neg(), TOL);
  assertClose(switchCase(-2, fs, x), x.sin(), TOL);
  const j = jit((i: Tensor, v: Tensor) => switchCase(i, fs, v));
  assertClose(j(tensor(2, { dtype: "int32" }), x), x.neg(), TOL);
  assertClose(j(tensor(0, { dtype: "int32" }), x), x.sin(), TOL);
  const idx = tensor([0, 1, 2, 1], { dtype: "float64" });
  const out = vmap((i: Tensor) => switchCase(i, fs, x))(idx);
  [0, 1, 2, 1].forEach((i, b) => assertClose(out.select(0, b), fs[i](x), TOL));
  assertClose(grad((v: Tensor) => switchCase(0, fs, v).sum())(x), x.cos(), TOL);
});

Deno.test("cond inside scan: values and gradient against the unrolled loop", () => {
  const body = (a: Tensor) => (c: Tensor, x: Tensor) => {
    const n = cond(
      c.gt(0),
      (v: Tensor) => v.mul(a).sub(x),
      (v: Tensor) => v.add(x.mul(a)).sin(),
      c,
    );
    return [n, n] as const;
  };
  const f = (a: Tensor) => {
    const [c, ys] = scan(body(a), tensor(0.3, f64), XS.select(1, 0));
    return c.add(ys.sum());
  };
  const u = (a: Tensor) => {
    let c = tensor(0.3, f64), s = tensor(0, f64);
    for (let i = 0; i < 5; i++) {
      const x = XS.select(1, 0).select(0, i);
      c = c.detach().item() > 0 ? c.mul(a).sub(x) : c.add(x.mul(a)).sin();
      s = s.add(c);
    }
    return c.add(s);
  };
  const a = tensor(0.8, f64);
  assertClose(f(a), u(a), TOL);
  assertClose(grad(f)(a), grad(u)(a), TOL);
  assertClose(jit(grad(f))(a), grad(u)(a), TOL);
  assertClose(jit(grad(f))(a), grad(u)(a), TOL);
});

Deno.test("whileLoop: values, jvp against finite differences, jit twice; reverse mode is a clear error", () => {
  const w = (x: Tensor) =>
    whileLoop((c: Tensor) => c.sum().lt(100), (c: Tensor) => c.mul(x), x);
  const x = tensor([2, 3], f64);
  assertClose(w(x), [32, 243]);
  const jw = jit(w);
  assertClose(jw(x), [32, 243]);
  assertClose(jw(tensor([5, 6], f64)), [125, 216]);
  const t = tensor([0.3, -0.2], f64);
  const [, dy] = jvp(w, [x], [t]);
  // The trip count is locally constant: y = x^5, dy = 5 x^4 t.
  assertClose(dy, centralDiff(w, [x], [t], 1e-7)[0], {
    rtol: 1e-6,
    atol: 1e-6,
  });
  assertClose(dy, [5 * 16 * 0.3, 5 * 81 * -0.2], TOL);
  assertClose(jacfwd(w)(x), tensor([[80, 0], [0, 405]], f64), TOL);
  assertThrowsWith(
    () => grad((v: Tensor) => w(v).sum())(x),
    Error,
    "whileLoop: reverse-mode differentiation",
    "Use scan",
  );
});

Deno.test("whileLoop: a batched predicate runs until every lane is done; finished lanes keep their value", () => {
  const f = (x: Tensor) =>
    whileLoop(
      (c: { v: Tensor; n: Tensor }) => c.v.lt(100),
      (c: { v: Tensor; n: Tensor }) => ({ v: c.v.mul(x), n: c.n.add(1) }),
      { v: x, n: tensor(0, f64) },
    );
  const xs = tensor([2, 3, 50, 200], f64);
  const out = vmap(f)(xs);
  assertClose(out.v, [128, 243, 2500, 200]);
  assertClose(out.n, [6, 4, 1, 0]);
  const jv = jit(vmap(f));
  assertClose(jv(xs).n, [6, 4, 1, 0]);
  assertClose(jv(xs).v, [128, 243, 2500, 200]);
  // Forward mode under vmap: d(x^k)/dx per lane.
  const d = vmap((x: Tensor) =>
    jvp((v: Tensor) => f(v).v, [x], [tensor(1, f64)])[1]
  )(xs);
  assertClose(d, [7 * 64, 5 * 81, 2 * 50, 1], TOL);
});

Deno.test("forLoop: number bounds are a scan (reverse mode works), tensor bounds a whileLoop", () => {
  const f = (x: Tensor) => forLoop(0, 5, (_i, c: Tensor) => c.square(), x);
  const x = tensor(1.1, f64);
  assertClose(f(x), 1.1 ** 32, TOL);
  assertClose(grad(f)(x), 32 * 1.1 ** 31, TOL);
  const idx = forLoop(
    2,
    6,
    (i, c: Tensor) => c.add(i.to("float64")),
    tensor(0, f64),
  );
  assertClose(idx, 2 + 3 + 4 + 5);
  assertClose(forLoop(3, 3, (_i, c: Tensor) => c.mul(2), x), 1.1, TOL);
  const g = jit((x: Tensor, n: Tensor) =>
    forLoop(tensor(0), n, (_i, c: Tensor) => c.mul(x), x)
  );
  assertClose(g(tensor(2, f64), tensor(3)), 16);
  assertClose(g(tensor(2, f64), tensor(5)), 64);
  const [, d] = jvp((v: Tensor) => g(v, tensor(3)), [x], [tensor(1, f64)]);
  assertClose(d, 4 * 1.1 ** 3, TOL);
});

Deno.test("control flow: clear errors for mismatched carries, branches and xs", () => {
  assertThrowsWith(
    () =>
      scan(
        (c: Tensor, x: Tensor) => [c.add(x).reshape([1]), null],
        tensor(0),
        tensor([1, 2]),
      ),
    TypeError,
    "scan: the carry f returns must match init",
    "float32[1]",
    "float32[]",
  );
  assertThrowsWith(
    () =>
      scan((c: Tensor) => [c.to("float64"), null], tensor(0), null, {
        length: 3,
      }),
    TypeError,
    "leaf 0 is float64[] but init has float32[]",
  );
  assertThrowsWith(
    () =>
      scan((c: Tensor) => [[c, c] as never, null], tensor(0), null, {
        length: 3,
      }),
    TypeError,
    "a different pytree structure",
  );
  assertThrowsWith(
    () => scan((c: Tensor) => c as never, tensor(0), null, { length: 3 }),
    TypeError,
    "f must return a pair [carry, y]",
  );
  assertThrowsWith(
    () =>
      scan((c: Tensor, x: Tensor[]) => [c, x], tensor(0), [
        tensor([1, 2]),
        tensor([1, 2, 3]),
      ]),
    TypeError,
    "xs leaf 1 has leading dim 3",
  );
  assertThrowsWith(
    () => scan((c: Tensor) => [c, null], tensor(0)),
    TypeError,
    "pass { length }",
  );
  assertThrowsWith(
    () =>
      cond(
        tensor(1),
        (v: Tensor) => v,
        (v: Tensor) => v.reshape([1, 2]),
        tensor([1, 2]),
      ),
    TypeError,
    "cond: what trueFn returns must match what falseFn returns",
    "float32[1, 2]",
  );
  assertThrowsWith(
    () => cond(tensor([1, 0]), (v: Tensor) => v, (v: Tensor) => v, tensor(1)),
    TypeError,
    "cond: pred must be a rank-0 tensor",
  );
  assertThrowsWith(
    () =>
      whileLoop(
        (c: Tensor) => c.lt(3),
        (c: Tensor) => c.to("float64"),
        tensor(0),
      ),
    TypeError,
    "whileLoop: what bodyFn returns must match init",
  );
  assertThrowsWith(
    () => whileLoop((c: Tensor) => c, (c: Tensor) => c, tensor([1, 2])),
    TypeError,
    "condFn must return a rank-0 tensor",
  );
  assertThrowsWith(
    () => switchCase(0, [], tensor(1)),
    TypeError,
    "switchCase: branches must be a nonempty array",
  );
});

Deno.test("scan: an int32 carry beside float ones, and a length-0 scan", () => {
  const f = (x: Tensor) =>
    scan(
      (c: { n: Tensor; v: Tensor }, i: Tensor) =>
        [{ n: i, v: c.v.mul(x).add(i.to("float64")) }, c.v] as const,
      { n: tensor(0, { dtype: "int32" }), v: tensor(1, f64) },
      tensor([1, 2, 3], { dtype: "int32" }),
    );
  const [c, ys] = f(tensor(2, f64));
  assert.equal(c.n.dtype, "int32");
  assertClose(c.n, 3);
  assertClose(c.v, 19); // ((x + 1) x + 2) x + 3 at x = 2
  assertClose(ys, [1, 3, 8]);
  const g = (x: Tensor) => f(x)[0].v;
  assertClose(grad(g)(tensor(2, f64)), 3 * 4 + 2 * 2 + 2, TOL);
  assertClose(jit(g)(tensor(2, f64)), 19);
  assertClose(vmap(g)(tensor([1, 2], f64)), [7, 19]);
  const empty = tensor([], f64).reshape([0]);
  const [z, zs] = scan(
    (c: Tensor, x: Tensor) => [c.add(x), c],
    tensor(5, f64),
    empty,
  );
  assertClose(z, 5);
  assert.deepEqual(zs.shape, [0]);
  assertClose(
    jit((a: Tensor) =>
      scan((c: Tensor, x: Tensor) => [c.add(x), c], a, empty)[0]
    )(tensor(5, f64)),
    5,
  );
});

Deno.test("scan, cond and whileLoop under jit free each step's buffers (memory stays flat)", () => {
  const step = jit((x: Tensor) => {
    const [c] = scan(
      (
        c: Tensor,
      ) => [
        cond(
          c.sum().gt(0),
          (v: Tensor) => v.mul(0.5),
          (v: Tensor) => v.add(1),
          c,
        ),
        null,
      ],
      x,
      null,
      { length: 2000 },
    );
    return whileLoop(
      (v: Tensor) => v.sum().lt(1e6),
      (v: Tensor) => v.mul(3).add(1),
      c,
    );
  });
  const x = randnT(rng, [4096], "float64");
  step(x).dispose();
  const before = memoryStats();
  for (let k = 0; k < 3; k++) step(x).dispose();
  const after = memoryStats();
  // 2,000 steps of 32 KB buffers would take 64 MB if a step leaked one.
  assert.ok(
    after.heapBytes - before.heapBytes < 4 * 2 ** 20,
    `wasm memory grew by ${after.heapBytes - before.heapBytes} bytes`,
  );
  assert.equal(after.liveStorages, before.liveStorages);
});

Deno.test("scan and cond under every transform (each called twice) equal the unrolled loop", () => {
  // A scalar function of x [3] with a scan over rows of XS and a cond in the step.
  const withScan = (x: Tensor) =>
    scan(
      (c: Tensor, r: Tensor) => {
        const n = cond(c.sum().gt(0), (v: Tensor) =>
          v.mul(r).sin(), (v: Tensor) =>
          v.add(r).tanh(), c);
        return [n.add(x.mul(0.1)), n.sum()] as const;
      },
      x,
      XS,
    ).reduce((a: Tensor, b: Tensor) =>
      a.sum().add(b.square().sum())
    );
  const unrolled = (x: Tensor) => {
    let c = x;
    const ys: Tensor[] = [];
    for (let i = 0; i < 5; i++) {
      const r = XS.select(0, i);
      const n = c.detach().sum().item() > 0 ? c.mul(r).sin() : c.add(r).tanh();
      c = n.add(x.mul(0.1));
      ys.push(n.sum());
    }
    return c.sum().add(stackOf(5, (i) => ys[i]).square().sum());
  };
  const x = randnT(rng, [3], "float64");
  const v = randnT(rng, [3], "float64");
  const xs = randnT(rng, [2, 3], "float64");
  type F = (x: Tensor) => Tensor;
  const rows = (g: (y: Tensor) => Tensor) =>
    stackOf(2, (i) => g(xs.select(0, i)));
  // [name, the view of f, the reference from the unrolled loop (default: the same view)]
  const views: [string, (f: F) => Tensor, ((u: F) => Tensor)?][] = [
    ["value", (f) => f(x)],
    ["grad", (f) => grad(f)(x)],
    ["jacrev", (f) => jacrev(f)(x)],
    ["jacfwd", (f) => jacfwd(f)(x)],
    ["hessian", (f) => hessian(f)(x)],
    ["jacfwd(jacrev)", (f) => jacfwd(jacrev(f))(x)],
    ["hvp", (f) => hvp(f, [x], [v]) as Tensor],
    ["vhp", (f) => vhp(f, [x], [v]) as Tensor],
    ["jvp", (f) => jvp(f, [x], [v])[1]],
    ["vjp", (f) => vjp(f, x)[1](tensor(1, f64))[0]],
    ["linearize", (f) => linearize(f, x)[1](v)],
    ["vmap", (f) => vmap(f)(xs), (u) => rows(u)],
    ["vmap(grad)", (f) => vmap(grad(f))(xs), (u) => rows(grad(u))],
    [
      "grad(vmap)",
      (f) => grad((y: Tensor) => vmap(f)(y).sum())(xs),
      (u) => rows(grad(u)),
    ],
    ["jit", (f) => jit(f)(x), (u) => u(x)],
    ["jit(grad)", (f) => jit(grad(f))(x), (u) => grad(u)(x)],
    ["jit(hessian)", (f) => jit(hessian(f))(x), (u) => hessian(u)(x)],
    ["grad(jit)", (f) => grad(jit(f))(x), (u) => grad(u)(x)],
    ["vmap(jit)", (f) => vmap(jit(f))(xs), (u) => rows(u)],
  ];
  for (const [name, view, refView] of views) {
    const ref = (refView ?? view)(unrolled);
    for (let k = 0; k < 2; k++) assertClose(view(withScan), ref, TOL, name);
  }
});
