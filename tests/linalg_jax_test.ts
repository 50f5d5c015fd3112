/**
 * linalg against JAX (float64): svdvals, pinv, lstsq, matrixExp,
 * matrixPower, matrix and vector norms, cross, multiDot and gradients
 * through svd, pinv, matrixExp and lstsq, on the same inputs. Needs
 * `.venv-jax` (gitignored), which `bash scripts/jax-venv.sh` creates (and
 * `deno task test:jax`); without it the test is ignored with a message,
 * so `deno task test` needs no Python.
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { grad, linalg, type Tensor } from "../mod.ts";
import { assertClose, randnT, Rng } from "./_helpers.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const python = `${root}.venv-jax/bin/python`;
const haveVenv = (() => {
  try {
    return Deno.statSync(python).isFile;
  } catch {
    return false;
  }
})();
const SKIP =
  "skipped: .venv-jax is missing; bash scripts/jax-venv.sh creates it";
if (!haveVenv) console.warn(`linalg_jax_test.ts: ${SKIP}`);

Deno.test({
  name: "linalg agrees with jax.numpy.linalg on values and gradients (float64)",
  ignore: !haveVenv,
  fn: async () => {
    const rng = new Rng(41);
    const ins: Record<string, Tensor> = {
      A: randnT(rng, [5, 3]),
      W: randnT(rng, [3, 5]),
      S: randnT(rng, [4, 4]).mul(0.8),
      B: randnT(rng, [5, 2]),
      C: randnT(rng, [5, 3]),
      u: randnT(rng, [3]),
      v: randnT(rng, [3]),
    };
    const child = new Deno.Command(python, {
      args: [`${root}tests/fixtures/linalg_jax.py`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { JAX_PLATFORMS: "cpu" },
    }).spawn();
    const w = child.stdin.getWriter();
    const json = Object.fromEntries(
      Object.entries(ins).map(([k, t]) => [k, t.toArray()]),
    );
    await w.write(new TextEncoder().encode(JSON.stringify(json)));
    await w.close();
    const out = await child.output();
    assert.equal(
      out.code,
      0,
      `linalg_jax.py failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
    const want: Record<string, unknown> = JSON.parse(
      new TextDecoder().decode(out.stdout),
    );
    const { A, W, S, B, C, u, v } = ins;
    const flat = (x: unknown): number[] =>
      Array.isArray(x) ? x.flatMap(flat) : [x as number];
    const check = (key: string, got: Tensor, tol = 1e-10) =>
      assertClose(got, flat(want[key]), { rtol: tol, atol: tol }, key);
    check("svdvals_A", linalg.svdvals(A));
    check("svdvals_W", linalg.svdvals(W));
    check("pinv_A", linalg.pinv(A));
    check("pinv_W", linalg.pinv(W));
    check("lstsq_A", linalg.lstsq(A, B));
    check("lstsq_W", linalg.lstsq(W, B.narrow(0, 0, 3)));
    check("expm_S", linalg.matrixExp(S));
    check("expm_3S", linalg.matrixExp(S.mul(3)), 1e-9);
    check("power_S_5", linalg.matrixPower(S, 5));
    check("power_S_m3", linalg.matrixPower(S, -3), 1e-8);
    check("cross", linalg.cross(u, v));
    check("multi_dot", linalg.multiDot([u, A.T, B]));
    check("vector_norm_3", linalg.vectorNorm(A, 3));
    const ords = ["fro", "nuc", 2, -2, 1, -1, Infinity, -Infinity] as const;
    for (const ord of ords) {
      const key = `matrix_norm_${
        ord === Infinity ? "inf" : ord === -Infinity ? "-inf" : ord
      }`;
      check(key, linalg.matrixNorm(S, ord));
    }
    check("grad_nuc", grad((a: Tensor) => linalg.svdvals(a).sum())(A));
    check(
      "grad_pinv",
      grad((a: Tensor) => linalg.pinv(a).mul(C.T).sum())(A),
      1e-9,
    );
    check(
      "grad_expm",
      grad((s: Tensor) => linalg.matrixExp(s).mul(S.T).sum())(S),
      1e-9,
    );
    check(
      "grad_lstsq",
      grad((a: Tensor) => linalg.lstsq(a, B).square().sum())(A),
      1e-9,
    );
  },
});
