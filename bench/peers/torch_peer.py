"""PyTorch peer: torch.func (functorch on torch 1.13), OpenBLAS, one thread."""

import sys

import torch

from harness import Harness

try:  # torch >= 2.0
    from torch.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap
except ImportError:  # torch 1.13: the same API ships as functorch
    from functorch import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap

torch.set_num_threads(1)
PEER = "pytorch"
h = Harness({"peer": PEER, "version": torch.__version__,
             "python": sys.version.split()[0]})


def t(name):
    return torch.from_numpy(h.get(name))


def read(r):
    """A result (one tensor or a tuple of them) as a list for the check."""
    return [r.numpy()] if isinstance(r, torch.Tensor) else [a.numpy() for a in r]


def predict(W, b, x):
    return torch.tanh(torch.nn.functional.linear(x, W, b))


def run(workload, variant, fn):
    # In serve mode fn runs later: every lambda below binds its inputs as
    # defaults, since the module reuses the names W, b, x per workload.
    h.run(PEER, workload, variant, fn, read)


# W1: four ways to the same 16x16 Jacobian.
W, b, x = t("W1.W"), t("W1.b"), t("W1.x")
I = torch.eye(16)


def vjp_loop(W=W, b=b, x=x, I=I):
    _, vjp_fn = vjp(lambda x: predict(W, b, x), x)
    return torch.stack([vjp_fn(e)[0] for e in I])


def vmap_vjp(W=W, b=b, x=x, I=I):
    _, vjp_fn = vjp(lambda x: predict(W, b, x), x)
    return vmap(vjp_fn)(I)[0]


run("W1", "vjp-loop", vjp_loop)
run("W1", "vmap(vjp)", vmap_vjp)
run("W1", "jacrev", lambda W=W, b=b, x=x: jacrev(predict, argnums=2)(W, b, x))
run("W1", "jacfwd", lambda W=W, b=b, x=x: jacfwd(predict, argnums=2)(W, b, x))

# W2 tall and W3 wide: both modes.
for wl in ("W2", "W3"):
    W, b, x = t(f"{wl}.W"), t(f"{wl}.b"), t(f"{wl}.x")
    run(wl, "jacfwd", lambda W=W, b=b, x=x: jacfwd(predict, argnums=2)(W, b, x))
    run(wl, "jacrev", lambda W=W, b=b, x=x: jacrev(predict, argnums=2)(W, b, x))

# W4: Hessian wrt x, three compositions.
W, b, x = t("W4.W"), t("W4.b"), t("W4.x")
run("W4", "hessian", lambda W=W, b=b, x=x: hessian(predict, argnums=2)(W, b, x))
run("W4", "jacfwd(jacfwd)",
    lambda W=W, b=b, x=x: jacfwd(jacfwd(predict, argnums=2), argnums=2)(W, b, x))
run("W4", "jacrev(jacrev)",
    lambda W=W, b=b, x=x: jacrev(jacrev(predict, argnums=2), argnums=2)(W, b, x))

# W5: per-example Jacobians and Hessians over a batch of 64.
W, b, X = t("W5.W"), t("W5.b"), t("W5.x")
run("W5", "vmap(jacrev)",
    lambda W=W, b=b, X=X: vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))(W, b, X))
run("W5", "vmap(hessian)",
    lambda W=W, b=b, X=X: vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))(W, b, X))

# W6: Hessian-vector product of sum(sin(x)), forward-over-reverse and
# reverse-over-reverse.
x, v = t("W6.x"), t("W6.v")


def f6(x):
    return torch.sin(x).sum()


run("W6", "jvp(grad)", lambda x=x, v=v: jvp(grad(f6), (x,), (v,))[1])
run("W6", "vjp(grad)", lambda x=x, v=v: vjp(grad(f6), x)[1](v)[0])

# W7: Jacobian wrt the parameters (W, b).
W, b, x = t("W7.W"), t("W7.b"), t("W7.x")
run("W7", "jacrev(W,b)",
    lambda W=W, b=b, x=x: jacrev(predict, argnums=(0, 1))(W, b, x))

h.serve()
