import assert from "node:assert/strict";
import {
  autograd,
  eye,
  grad,
  jacrev,
  manualSeed,
  noGrad,
  randn,
  stack,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";

const f64 = { dtype: "float64" } as const;

function close(a: Tensor | null, b: Tensor, tol = 1e-10): void {
  assert.ok(a !== null, "expected a tensor, got null");
  assert.deepEqual(a.shape, b.shape);
  const x = a.data(), y = b.data();
  for (let i = 0; i < x.length; i++) {
    assert.ok(
      Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])),
      `entry ${i}: ${x[i]} vs ${y[i]}`,
    );
  }
}

Deno.test("backward() accumulates into .grad across calls and zeroGrad() clears it", () => {
  const x = tensor([0.5, -1, 2], f64).requiresGrad();
  const expected = x.cos().mul(x).add(x.sin()); // d/dx x sin x
  const y = x.sin().mul(x).sum();
  y.backward(undefined, { retainGraph: true });
  close(x.grad, expected);
  y.backward();
  close(x.grad, expected.mul(2));
  x.zeroGrad();
  assert.equal(x.grad, null);
  x.square().sum().backward();
  close(x.grad, x.detach().mul(2));
  x.grad = null;
  assert.equal(x.grad, null);
});

Deno.test("backward() through a freed graph is a clear error", () => {
  const x = tensor([1, 2], f64).requiresGrad();
  const y = x.exp().sum();
  y.backward();
  assert.throws(() => y.backward(), /second time.*retainGraph/);
  assert.throws(() => autograd.grad(y, x), /second time/);
});

Deno.test("backward() on a non-scalar needs a gradient", () => {
  const x = tensor([1, 2], f64).requiresGrad();
  const y = x.mul(3);
  assert.throws(
    () => y.backward(),
    (e: Error) =>
      e instanceof TypeError && /shape \[2\].*gradOutputs/.test(e.message),
  );
  y.backward(tensor([1, 10], f64));
  close(x.grad, tensor([3, 30], f64));
});

Deno.test("autograd.grad() with createGraph gives second derivatives (closed form)", () => {
  const x = tensor([1, 2, 3], f64).requiresGrad();
  const [g] = autograd.grad(x.pow(3).sum(), x, undefined, {
    createGraph: true,
  });
  close(g, tensor([3, 12, 27], f64));
  const [h] = autograd.grad(g!.sum(), x);
  close(h, tensor([6, 12, 18], f64));
});

Deno.test("autograd.grad() of an unused input throws unless allowUnused", () => {
  const x = tensor([1, 2], f64).requiresGrad();
  const z = tensor([3, 4], f64).requiresGrad();
  const y = x.square().sum();
  assert.throws(
    () => autograd.grad(y, [x, z], undefined, { retainGraph: true }),
    /inputs\[1\] was not used/,
  );
  const [gx, gz] = autograd.grad(y, [x, z], undefined, { allowUnused: true });
  close(gx, tensor([2, 4], f64));
  assert.equal(gz, null);
});

Deno.test("autograd.grad() errors name inputs that do not require grad", () => {
  const x = tensor([1, 2], f64);
  const y = tensor([1, 2], f64).requiresGrad().sum();
  assert.throws(() => autograd.grad(y, x), /inputs\[0\] does not require grad/);
});

Deno.test("the notebook's loop of VJPs equals jacrev and autograd.jacobian", () => {
  manualSeed(3);
  const W = randn([5, 4], f64), b = randn([5], f64);
  const x0 = randn([4], f64);
  const x = x0.requiresGrad();
  const out = x.matmul(W.T).add(b).tanh();
  const basis = eye(5, f64);
  const rows = Array.from(
    { length: 5 },
    (_, i) =>
      autograd.grad(out, x, basis.select(0, i), { retainGraph: true })[0]!,
  );
  const loopJ = stack(rows);
  const J = jacrev((x: Tensor) => x.matmul(W.T).add(b).tanh())(x0) as Tensor;
  const Ja = autograd.jacobian(out, x) as Tensor;
  const y = out.detach();
  const closed = y.square().neg().add(1).unsqueeze(1).mul(W);
  close(loopJ, closed);
  close(J, closed);
  close(Ja, closed);
});

Deno.test("autograd.hessian() equals the closed form", () => {
  const x = tensor([0.3, -0.7], f64).requiresGrad();
  const H = autograd.hessian(x.sin().sum(), x) as Tensor;
  close(H, eye(2, f64).mul(x.detach().sin().neg().unsqueeze(1)));
});

Deno.test("autograd.functional matches the transforms", () => {
  const f = (x: Tensor) => x.exp().mul(x);
  const x = tensor([0.1, 0.2, 0.3], f64);
  const Jr = autograd.functional.jacobian(f, x) as Tensor;
  const Jf = autograd.functional.jacobian(f, x, {
    strategy: "forward-mode",
  }) as Tensor;
  const d = x.exp().mul(x.add(1));
  close(Jr, eye(3, f64).mul(d.unsqueeze(1)));
  close(Jf, Jr);
  const s = (x: Tensor) => x.sin().sum();
  const v = tensor([1, 2, 3], f64);
  const [, hv] = autograd.functional.hvp(s, x, v);
  close(hv as Tensor, x.sin().neg().mul(v));
  const [, vh] = autograd.functional.vhp(s, x, v);
  close(vh as Tensor, x.sin().neg().mul(v));
  const [, jv] = autograd.functional.jvp(f, x, v);
  close(jv as Tensor, d.mul(v));
  const [, vj] = autograd.functional.vjp(f, x, v);
  close(vj as Tensor, d.mul(v));
  const H = autograd.functional.hessian(s, x) as Tensor;
  close(H, eye(3, f64).mul(x.sin().neg().unsqueeze(1)));
});

Deno.test("a requiresGrad tensor inside jacrev and vmap gives correct results and gradients", () => {
  const x = tensor([1, 2, 3], f64).requiresGrad();
  const J = jacrev((a: Tensor) => a.mul(a))(x) as Tensor;
  close(J.detach(), eye(3, f64).mul(x.detach().mul(2).unsqueeze(1)));
  J.sum().backward();
  close(x.grad, tensor([2, 2, 2], f64));
  const c = tensor([1, 2], f64).requiresGrad();
  const ys = vmap((row: Tensor) => row.mul(c).sum())(
    tensor([[1, 1], [2, 3]], f64),
  );
  close(ys.detach(), tensor([3, 8], f64));
  ys.sum().backward();
  close(c.grad, tensor([3, 4], f64));
});

Deno.test("noGrad() stops recording and transforms still work inside it", () => {
  const x = tensor([1, 2], f64).requiresGrad();
  const y = noGrad(() => x.mul(2));
  assert.throws(() => autograd.grad(y.sum(), x), /does not require grad/);
  const g = noGrad(() =>
    grad((a: Tensor) => a.square().sum())(tensor([1, 2], f64))
  );
  close(g, tensor([2, 4], f64));
});

Deno.test("detach() gives a constant", () => {
  const x = tensor([1, 2], f64).requiresGrad();
  const y = x.mul(x.detach()).sum();
  const [g] = autograd.grad(y, x);
  close(g, tensor([1, 2], f64));
});

Deno.test("detach() of a recorded tensor is plain: an update made from it becomes a new leaf", () => {
  const w = tensor([1, 2], f64).requiresGrad();
  w.square().sum().backward(); // grad 2w
  const d = w.detach();
  assert.equal(String(d), "tensor([1., 2.], dtype=float64)");
  const next = d.sub(w.grad!.mul(0.1)).requiresGrad(); // 0.8 w
  next.square().sum().backward();
  close(next.grad!, tensor([1.6, 3.2], f64));
});
