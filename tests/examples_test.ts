/**
 * Runs each example in examples/ as a subprocess (no permissions, `--quick`
 * timings) and checks that it exits 0 and prints what the tutorial prints.
 * The examples throw on any disagreement between methods, so exit code 0
 * means every check in them passed.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

async function runExample(name: string): Promise<string> {
  const file = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", file, "--quick"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(
    out.code,
    0,
    `${name} exited with ${out.code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
  );
  assert.match(
    stdout,
    /All results agree\.\n*$/,
    `${name} did not finish:\n${stdout}`,
  );
  return stdout;
}

function expectLines(name: string, stdout: string, lines: (string | RegExp)[]) {
  for (const l of lines) {
    const found = typeof l === "string" ? stdout.includes(l) : l.test(stdout);
    assert.ok(found, `${name}: expected ${l} in the output:\n${stdout}`);
  }
}

Deno.test("examples/jacobians_hessians.ts runs the torch.func tutorial and its checks pass", async () => {
  const name = "jacobians_hessians.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    "jacobian.shape = [16, 16]",
    "ok: vmap(vjpFn)(eye(16)) == loop",
    "ok: jacrev(predict, { argnums: 2 }) == loop",
    "jacrev(predict, { argnums: [0, 1] }): [16, 16, 16] and [16, 16]",
    "weight.shape = [2048, 32]",
    "weight.shape = [32, 2048]",
    /jacfwd time: [\d.]+ ms, jacrev time: [\d.]+ ms/,
    "hessian shape [32, 512, 512]",
    "ok: jacrev(jacrev) == hessian",
    "ok: jacrev(jacfwd) == hessian",
    "vmap(jacrev(predict)) shape: [64, 33, 31]",
    "ok: vmap(jacrev) == sum trick",
    "vmap(hessian(predict)) shape: [64, 33, 31, 31]",
    "ok: vjp(grad(f)) == jvp(grad(f))",
    /Performance delta: /,
    /per call \(mean of \d+ runs\)/,
  ]);
});

Deno.test("examples/batched_hessian.ts computes per-sample Hessians four ways and the hasAux critic", async () => {
  const name = "batched_hessian.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    "batched Hessian shape: [64, 8, 8]",
    "ok: vmap(hessian(f)) == loop of autograd.grad rows",
    "ok: loop of jacfwd(jacrev(f)) == vmap(hessian(f))",
    "dq1/da [2], dq2/da [2], aux.features [32]",
    "vmap(hessian(q1, { hasAux: true })): [32, 2, 2]",
    "grad(tdLoss, { hasAux: true }): grads w1 [32, 8], b1 [32], wq [2, 32], bq [2]; aux.tdErr [32]",
    "ok: grads.w1 == mean(2 td ∇q) over per-sample gradients",
    /improvement with vmap\(hessian\)|slower than/,
  ]);
});

Deno.test("examples/mindspore_style.ts matches closed forms with argnums and inDims", async () => {
  const name = "mindspore_style.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    "jacrev(f, { argnums: [0, 1, 2] }): [5, 5], [5, 5], [5, 5]",
    "hessian(g, { argnums: [0, 1] }): [[[5, 5], [5, 5]], [[5, 5], [5, 5]]]",
    "ok: hessian == -2 y (1 - y²) W[k, i] W[k, j]",
    "vmap(jacrev, in_axes=(None, None, 0)): [8, 16, 16]",
    "vmap(jacrev, in_axes=(None, None, 1), out_axes=-1): [16, 16, 8]",
    "vmap(hessian, in_axes=(None, None, 0)): [8, 16, 16, 16]",
    /Performance delta: /,
  ]);
});

Deno.test("examples/mlp_classifier.ts trains a jitted MLP on two moons to >= 97 % with flat memory", async () => {
  const name = "mlp_classifier.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    "data: x [256, 2], 128 points per class, noise 0.1",
    "ok: jit step == eager step (leaf 5)",
    /step 400: loss [\d.]+/,
    /400 jitted steps in \d+ ms/,
    /live buffers after step 50: \d+, after step 400: \d+/,
    /training accuracy (9[7-9]|100)\.\d %/,
  ]);
});

// README.md's blocks (and the guides') are run by tests/docs_test.ts, which
// also compares what they print with the text.

Deno.test("examples/newton.ts converges with hessian and a damped Cholesky step", async () => {
  const name = "newton.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    /n = 100: Newton converged \(\|g\| < 1e-10\) in \d+ iterations/,
    /from \(0, 1, \.\.\.\): converged in \d+ iterations, [1-9]\d* of them damped/,
    "ok: the minimiser is all ones",
  ]);
});

Deno.test("examples/gaussian_process.ts fits GP hyperparameters by Newton and checks the Laplace Hessian", async () => {
  const name = "gaussian_process.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    /Newton: \d+ iterations, \|∇\| = [0-9.]+e-\d+; ℓ = [0-9.]+, σf² = [0-9.]+, σn = 0\.1\d\d|σn = 0\.0[5-9]\d/,
    /Laplace sd of \[log ℓ, log σf², log σn²\]: \[[0-9.]+, [0-9.]+, [0-9.]+\]/,
    "ok: Hessian equals differences of the gradient, and is positive definite",
  ]);
});

Deno.test("examples/sparse_hessian.ts runs Newton at n = 10,000 with a 3-colour sparse Hessian", async () => {
  const name = "sparse_hessian.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    /Hessian pattern: \[10000,10000\], 29998 entries .*star colouring: 3 colours, so 3 Hessian-vector products/,
    "ok: the pattern is tridiagonal",
    "ok: sparse Hessian (csr, 598 entries) == dense hessian at n = 200",
    /n = 10000: Newton converged \(‖g‖∞ = [0-9.]+e-\d+ < 1e-10\) in \d+ iterations/,
    "ok: the minimiser is all ones",
    /jit: sparse [\d.]+ ms at n = 10000; at n = \d+ sparse [\d.]+ ms vs dense [\d.]+ ms/,
  ]);
});

Deno.test("examples/pinn.ts trains a heat-equation PINN whose residual falls by ≥ 100×", async () => {
  const name = "pinn.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    "ok: vmap(jacfwd, hessian) residual == a loop over points",
    "ok: jit residual == eager residual",
    /step 0: validation residual [\d.]+e-\d/,
    /step 400: validation residual [\d.]+e-\d/,
  ]);
  const first = Number(out.match(/step 0: validation residual (\S+)/)![1]);
  const last = Number(out.match(/step 400: validation residual (\S+)/)![1]);
  assert.ok(first / last >= 100, `residual ${first} -> ${last}`);
});

Deno.test("examples/per_sample_grads.ts checks DP-SGD per-example gradients, clipping and noise, and trains", async () => {
  const name = "per_sample_grads.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    "ok: vmap(grad) == loop of grad (w1)",
    "ok: every clipped per-example gradient has norm min(‖g‖, 1)",
    "ok: σ = 0 gives the mean clipped gradient (w2)",
    "ok: noise std within 15 % of σC/B",
    "ok: jit DP step == eager DP step (b2)",
    /150 jitted DP-SGD steps in \d+ ms; loss [\d.]+ -> [\d.]+/,
  ]);
  const [, a, b] = out.match(/loss ([\d.]+) -> ([\d.]+)/)!;
  assert.ok(Number(b) < Number(a) / 4, `loss ${a} -> ${b}`);
});

Deno.test("examples/implicit_fixed_point.ts differentiates a fixed point by the implicit function theorem (customVjp)", async () => {
  const name = "implicit_fixed_point.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    "ok: x* = g(x*, θ)",
    "ok: grad(loss) == central differences",
    "ok: jacrev(fixedPoint) [8, 8] == (I − ∂g/∂x)⁻¹ ∂g/∂θ",
    "ok: implicit == unrolled",
    "ok: vmap(grad) [5, 8], jit(grad), grad(jit) and hessian [8, 8] agree",
  ]);
});

Deno.test("examples/ode_scan.ts integrates 1,000 Euler steps with one traced step and matches the unrolled gradient", async () => {
  const name = "ode_scan.ts";
  const out = await runExample(name);
  expectLines(name, out, [
    /traced equations: scan \d+, unrolled 6002/,
    "ok: final |x|²: scan == unrolled",
    "ok: gradient w.r.t. A: scan == unrolled",
    "ok: eager gradient w.r.t. A: scan == unrolled",
    /first call \(trace \+ compile \+ run\): jit\(scan\) [\d.]+ [mµ]s, jit\(unrolled\) [\d.]+ [mµ]s/,
    /jit\(scan\)\(A, x0\)\n +[\d.]+ [mµ]s per call/,
  ]);
});
