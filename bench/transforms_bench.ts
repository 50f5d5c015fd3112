/**
 * The seed comparisons as `deno bench` groups (W1–W7 of the seed table): each group
 * has a baseline so the report prints "× faster than". Every timed call does
 * the full computation from its inputs. Side-by-side numbers with PyTorch,
 * JAX, jax-js and TensorFlow.js come from `deno task bench:compare`.
 *
 *   npx --yes deno@2 bench bench/transforms_bench.ts
 */
import {
  eye,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  linear,
  manualSeed,
  randn,
  stack,
  type Tensor,
  vjp,
  vmap,
} from "../mod.ts";

manualSeed(0);
const predict = (W: Tensor, b: Tensor, x: Tensor) => linear(x, W, b).tanh();
const problem = (din: number, dout: number) =>
  [randn([dout, din]), randn([dout]), randn([din])] as const;
const wrtX = { argnums: 2 } as const;

{
  const [W, b, x] = problem(16, 16);
  const group = "W1 Jacobian 16x16";
  Deno.bench("loop of 16 vjps", { group, baseline: true }, () => {
    const [, vjpFn] = vjp((x: Tensor) => predict(W, b, x), x);
    const I = eye(16);
    stack(Array.from({ length: 16 }, (_, i) => vjpFn(I.select(0, i))[0]));
  });
  Deno.bench("vmap(vjp)", { group }, () => {
    const [, vjpFn] = vjp((x: Tensor) => predict(W, b, x), x);
    vmap(vjpFn)(eye(16));
  });
  Deno.bench("jacrev", { group }, () => void jacrev(predict, wrtX)(W, b, x));
  Deno.bench("jacfwd", { group }, () => void jacfwd(predict, wrtX)(W, b, x));
}

for (
  const [name, din, dout] of [["W2 tall 32->2048", 32, 2048], [
    "W3 wide 2048->32",
    2048,
    32,
  ]] as const
) {
  const [W, b, x] = problem(din, dout);
  Deno.bench(
    "jacrev",
    { group: name, baseline: true },
    () => void jacrev(predict, wrtX)(W, b, x),
  );
  Deno.bench(
    "jacfwd",
    { group: name },
    () => void jacfwd(predict, wrtX)(W, b, x),
  );
}

{
  const [W, b, x] = problem(512, 32);
  const group = "W4 Hessian 512->32";
  Deno.bench(
    "hessian (jacfwd(jacrev))",
    { group, baseline: true },
    () => void hessian(predict, wrtX)(W, b, x),
  );
  Deno.bench(
    "jacfwd(jacfwd)",
    { group },
    () => void jacfwd(jacfwd(predict, wrtX), wrtX)(W, b, x),
  );
  Deno.bench(
    "jacrev(jacrev)",
    { group },
    () => void jacrev(jacrev(predict, wrtX), wrtX)(W, b, x),
  );
}

{
  const [W, b] = problem(31, 33);
  const xs = randn([64, 31]);
  const group = "W5 batched B=64 31->33";
  const batched = { inDims: [null, null, 0] } as const;
  Deno.bench(
    "vmap(jacrev)",
    { group, baseline: true },
    () => void vmap(jacrev(predict, wrtX), batched)(W, b, xs),
  );
  Deno.bench(
    "jacrev of the batch sum, movedim",
    { group },
    () => {
      (jacrev((x: Tensor) => predict(W, b, x).sum(0))(xs) as Tensor).movedim(
        1,
        0,
      );
    },
  );
  Deno.bench(
    "vmap(hessian)",
    { group },
    () => void vmap(hessian(predict, wrtX), batched)(W, b, xs),
  );
}

{
  const x = randn([2048]), v = randn([2048]);
  const f = (x: Tensor) => x.sin().sum();
  const group = "W6 hvp of sum(sin(x)), n=2048";
  Deno.bench(
    "jvp(grad)",
    { group, baseline: true },
    () => {
      jvp(grad(f), [x], [v]);
    },
  );
  Deno.bench("vjp(grad)", { group }, () => {
    const [, vjpFn] = vjp(grad(f), x);
    vjpFn(v);
  });
}

{
  const [W, b, x] = problem(16, 16);
  const group = "W7 jacrev wrt (W, b), D=16";
  Deno.bench(
    "jacrev argnums [0, 1]",
    { group, baseline: true },
    () => void jacrev(predict, { argnums: [0, 1] })(W, b, x),
  );
  Deno.bench(
    "jacfwd argnums [0, 1]",
    { group },
    () => void jacfwd(predict, { argnums: [0, 1] })(W, b, x),
  );
}
