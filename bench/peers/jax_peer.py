"""JAX peer: CPU, one thread, each variant eager ("jax") and jitted
("jax+jit", timed after compilation: the first call's time is first_ms)."""

import os
import sys

# One thread, set before jax loads XLA.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false"
                           " intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import grad, hessian, jacfwd, jacrev, jit, jvp, vjp, vmap  # noqa: E402

from harness import Harness  # noqa: E402

h = Harness({"peer": "jax", "version": jax.__version__,
             "python": sys.version.split()[0]})


def predict(W, b, x):
    return jnp.tanh(W @ x + b)


def vjp_loop(W, b, x, I):
    _, vjp_fn = vjp(lambda x: predict(W, b, x), x)
    return jnp.stack([vjp_fn(I[i])[0] for i in range(I.shape[0])])


def vmap_vjp(W, b, x, I):
    _, vjp_fn = vjp(lambda x: predict(W, b, x), x)
    return vmap(vjp_fn)(I)[0]


def f6(x):
    return jnp.sum(jnp.sin(x))


def a(name):
    return jnp.asarray(h.get(name))


def layer(wl):
    return a(f"{wl}.W"), a(f"{wl}.b"), a(f"{wl}.x")


J = lambda: jacrev(predict, argnums=2)  # noqa: E731
F = lambda: jacfwd(predict, argnums=2)  # noqa: E731
# (workload, variant, function, its arguments); every function takes all of
# its inputs as arguments so that jit cannot fold them into constants.
CASES = [
    ("W1", "vjp-loop", vjp_loop, (*layer("W1"), jnp.eye(16))),
    ("W1", "vmap(vjp)", vmap_vjp, (*layer("W1"), jnp.eye(16))),
    ("W1", "jacrev", J(), layer("W1")),
    ("W1", "jacfwd", F(), layer("W1")),
    ("W2", "jacfwd", F(), layer("W2")),
    ("W2", "jacrev", J(), layer("W2")),
    ("W3", "jacfwd", F(), layer("W3")),
    ("W3", "jacrev", J(), layer("W3")),
    ("W4", "hessian", hessian(predict, argnums=2), layer("W4")),
    ("W4", "jacfwd(jacfwd)", jacfwd(F(), argnums=2), layer("W4")),
    ("W4", "jacrev(jacrev)", jacrev(J(), argnums=2), layer("W4")),
    ("W5", "vmap(jacrev)", vmap(J(), in_axes=(None, None, 0)), layer("W5")),
    ("W5", "vmap(hessian)",
     vmap(hessian(predict, argnums=2), in_axes=(None, None, 0)), layer("W5")),
    ("W6", "jvp(grad)", lambda x, v: jvp(grad(f6), (x,), (v,))[1],
     (a("W6.x"), a("W6.v"))),
    ("W6", "vjp(grad)", lambda x, v: vjp(grad(f6), x)[1](v)[0],
     (a("W6.x"), a("W6.v"))),
    ("W7", "jacrev(W,b)", jacrev(predict, argnums=(0, 1)), layer("W7")),
]


def read(r):
    leaves = [r] if isinstance(r, jax.Array) else list(r)
    return [np.asarray(x) for x in leaves]


for peer, wrap in (("jax", lambda f: f), ("jax+jit", jit)):
    for workload, variant, f, args in CASES:
        g = wrap(f)
        h.run(peer, workload, variant,
              lambda g=g, args=args: jax.block_until_ready(g(*args)), read)

h.serve()
