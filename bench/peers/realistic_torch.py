"""PyTorch peer of the realistic group (bench/compare/realistic.ts): eager
(torch.func, or functorch on torch 1.13, for grad/vmap/hessian), one thread; one JSON request per stdin
line, one JSON answer per line. Same inputs as every peer
(bench/compare/realistic_rows.ts inputValue)."""

import math
import os

import torch

try:  # torch >= 2.0
    from torch.func import grad, hessian, vmap
except ImportError:  # torch 1.13 (Debian bookworm): the same API as functorch
    from functorch import grad, hessian, vmap

from realistic_common import (MLP_PARAMS, PINN_PARAMS, inp_array,
                              labels_array, measure, serve)

# One thread; REALISTIC_THREADS=N for the N-thread table (realistic.ts
# --threads=N).
torch.set_num_threads(int(os.environ.get("REALISTIC_THREADS", "1")))


def inp(seed, shape, scale):
    return torch.from_numpy(inp_array(seed, shape, scale))


def labels(batch, classes):
    return torch.from_numpy(labels_array(batch, classes))


def mlp_params():
    return [inp(*a) for a in MLP_PARAMS]


def mlp_loss(p, x, y):
    F = torch.nn.functional
    h1 = torch.tanh(F.linear(x, p[0], p[1]))
    h2 = torch.tanh(F.linear(h1, p[2], p[3]))
    logits = F.linear(h2, p[4], p[5])
    return -(torch.log_softmax(logits, -1) * y).sum() / x.shape[0]


def pinn_params():
    return [inp(*a) for a in PINN_PARAMS]


def pinn_u(p, xt):
    h1 = torch.tanh(p[0] @ xt + p[1])
    h2 = torch.tanh(p[2] @ h1 + p[3])
    return (p[4] @ h2 + p[5]).sum()


def pinn_loss(p, pts):
    du = grad(pinn_u, argnums=1)

    def residual(xt):
        g = du(p, xt)
        uxx = grad(lambda z: du(p, z)[0])(xt)[0]
        return g[1] - 0.01 * uxx
    return (vmap(residual)(pts) ** 2).mean()


def ode_loss(A, x0):
    x = x0
    for _ in range(1000):
        x = x + 0.01 * torch.tanh(A @ x)
    return x.sum()


def build(req):
    rid, n = req["id"], req["n"]
    if rid == "R1":
        return grad(mlp_loss), (mlp_params(), inp(7, (128, 784), 1),
                                labels(128, 10))
    if rid == "R2":
        one = lambda p, x, y: mlp_loss(p, x[None], y[None])  # noqa: E731
        return vmap(grad(one), in_dims=(None, 0, 0)), (
            mlp_params(), inp(7, (64, 784), 1), labels(64, 10))
    if rid == "R3":
        return grad(pinn_loss), (pinn_params(), inp(8, (1024, 2), 1))
    if rid == "R4":
        return grad(ode_loss), (inp(1, (16, 16), 0.25), inp(2, (16,), 1))
    if rid == "R5":
        f = lambda x, W: torch.tanh(W @ x).sum()  # noqa: E731
        return hessian(f), (inp(2, (n,), 1), inp(1, (n, n), 1 / math.sqrt(n)))
    if rid == "R6":
        return (lambda a, b: a @ b), (inp(1, (n, n), 1), inp(2, (n, n), 1))
    raise ValueError(f"unknown row {rid}")


def leaves(out):
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out for t in leaves(o)]


def answer(req):
    if req["variant"] != "eager":
        return {"status": "n/a", "error": "eager only"}
    fn, args = build(req)
    return measure(lambda: fn(*args),
                   lambda out: [t.detach().double().numpy()
                                for t in leaves(out)],
                   req["ms"])


with torch.no_grad():
    serve(answer)
