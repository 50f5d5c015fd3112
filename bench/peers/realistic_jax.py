"""JAX peer of the realistic group (bench/compare/realistic.ts): CPU, one
thread; one JSON request per stdin line, one JSON answer per line. "eager"
runs the transforms op by op, "jit" times jax.jit of the same function after
its compilation (first_ms includes it). Same inputs as every peer
(bench/compare/realistic_rows.ts inputValue)."""

import math
import os

# One thread; REALISTIC_THREADS=N (realistic.ts --threads=N) keeps XLA's
# multi-threaded Eigen pool instead, sized by the cores taskset leaves it.
if os.environ.get("REALISTIC_THREADS", "1") == "1":
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import grad, hessian, jit, vmap  # noqa: E402

from realistic_common import (MLP_PARAMS, PINN_PARAMS, inp_array,  # noqa: E402
                              labels_array, measure, serve)


def inp(seed, shape, scale):
    return jnp.asarray(inp_array(seed, shape, scale))


def labels(batch, classes):
    return jnp.asarray(labels_array(batch, classes))


def mlp_params():
    return [inp(*a) for a in MLP_PARAMS]


def mlp_loss(p, x, y):
    h1 = jnp.tanh(x @ p[0].T + p[1])
    h2 = jnp.tanh(h1 @ p[2].T + p[3])
    logits = h2 @ p[4].T + p[5]
    return -jnp.sum(jax.nn.log_softmax(logits, -1) * y) / x.shape[0]


def pinn_params():
    return [inp(*a) for a in PINN_PARAMS]


def pinn_u(p, xt):
    h1 = jnp.tanh(p[0] @ xt + p[1])
    h2 = jnp.tanh(p[2] @ h1 + p[3])
    return jnp.sum(p[4] @ h2 + p[5])


def pinn_loss(p, pts):
    du = grad(pinn_u, argnums=1)

    def residual(xt):
        g = du(p, xt)
        uxx = grad(lambda z: du(p, z)[0])(xt)[0]
        return g[1] - 0.01 * uxx
    return jnp.mean(vmap(residual)(pts) ** 2)


def ode_loss(A, x0):
    x = x0
    for _ in range(1000):
        x = x + 0.01 * jnp.tanh(A @ x)
    return jnp.sum(x)


def ode_loss_scan(A, x0):
    # Under jit a Python loop of 1,000 steps unrolls (minutes to compile);
    # lax.scan is how JAX users write it.
    def step(x, _):
        return x + 0.01 * jnp.tanh(A @ x), None
    x, _ = jax.lax.scan(step, x0, None, length=1000)
    return jnp.sum(x)


def build(req):
    rid, n, is_jit = req["id"], req["n"], req["variant"] == "jit"
    w = jit if is_jit else (lambda f: f)
    if rid == "R1":
        return w(grad(mlp_loss)), (mlp_params(), inp(7, (128, 784), 1),
                                   labels(128, 10))
    if rid == "R2":
        one = lambda p, x, y: mlp_loss(p, x[None], y[None])  # noqa: E731
        return w(vmap(grad(one), in_axes=(None, 0, 0))), (
            mlp_params(), inp(7, (64, 784), 1), labels(64, 10))
    if rid == "R3":
        return w(grad(pinn_loss)), (pinn_params(), inp(8, (1024, 2), 1))
    if rid == "R4":
        f = ode_loss_scan if is_jit else ode_loss
        return w(grad(f)), (inp(1, (16, 16), 0.25), inp(2, (16,), 1))
    if rid == "R5":
        f = lambda x, W: jnp.sum(jnp.tanh(W @ x))  # noqa: E731
        return w(hessian(f)), (inp(2, (n,), 1),
                               inp(1, (n, n), 1 / math.sqrt(n)))
    if rid == "R6":
        return w(lambda a, b: a @ b), (inp(1, (n, n), 1), inp(2, (n, n), 1))
    raise ValueError(f"unknown row {rid}")


def answer(req):
    fn, args = build(req)
    return measure(lambda: jax.block_until_ready(fn(*args)),
                   lambda out: [np.asarray(leaf, np.float64)
                                for leaf in jax.tree_util.tree_leaves(out)],
                   req["ms"])


serve(answer)
