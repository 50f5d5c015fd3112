"""PyTorch peer of the realistic group (bench/compare/realistic.ts): eager
(torch.func for grad/vmap/hessian), one thread; one JSON request per stdin
line, one JSON answer per line. Same inputs as every peer
(bench/compare/realistic_rows.ts inputValue)."""

import json
import math
import sys
import time

import numpy as np
import torch
from torch.func import grad, hessian, vmap

torch.set_num_threads(1)


def inp(seed, shape, scale):
    size = int(np.prod(shape))
    i = np.arange(size, dtype=np.float64)
    a = (scale * np.sin(i * 0.7 + seed * 1.3 + 0.25)).astype(np.float32)
    return torch.from_numpy(a.reshape(shape))


def labels(batch, classes):
    a = np.zeros((batch, classes), np.float32)
    a[np.arange(batch), (np.arange(batch) * 7) % classes] = 1
    return torch.from_numpy(a)


def mlp_params():
    return [inp(1, (256, 784), 1 / math.sqrt(784)), inp(2, (256,), 0.1),
            inp(3, (256, 256), 1 / 16), inp(4, (256,), 0.1),
            inp(5, (10, 256), 1 / 16), inp(6, (10,), 0.1)]


def mlp_loss(p, x, y):
    F = torch.nn.functional
    h1 = torch.tanh(F.linear(x, p[0], p[1]))
    h2 = torch.tanh(F.linear(h1, p[2], p[3]))
    logits = F.linear(h2, p[4], p[5])
    return -(torch.log_softmax(logits, -1) * y).sum() / x.shape[0]


def pinn_params():
    return [inp(1, (64, 2), 1), inp(2, (64,), 0.1), inp(3, (64, 64), 1 / 8),
            inp(4, (64,), 0.1), inp(5, (1, 64), 1 / 8), inp(6, (1,), 0.1)]


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


def measure(req):
    if req["variant"] != "eager":
        return {"status": "n/a", "error": "eager only"}
    fn, args = build(req)
    t0 = time.perf_counter()
    out = fn(*args)
    first_ms = (time.perf_counter() - t0) * 1e3
    s = sa = 0.0
    for leaf in leaves(out):
        a = leaf.detach().double().numpy()
        s += float(a.sum())
        sa += float(np.abs(a).sum())
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.3:
        fn(*args)
    cpu, wall = [], []
    t0 = time.perf_counter()
    while len(cpu) < 3 or ((time.perf_counter() - t0) * 1e3 < req["ms"]
                           and len(cpu) < 200):
        w, c = time.perf_counter(), time.process_time()
        fn(*args)
        cpu.append((time.process_time() - c) * 1e3)
        wall.append((time.perf_counter() - w) * 1e3)
    cpu.sort()
    wall.sort()
    return {"status": "ok", "median_ms": cpu[len(cpu) // 2],
            "wall_ms": wall[len(wall) // 2],
            "first_ms": first_ms, "sum": s, "sum_abs": sa}


with torch.no_grad():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            ans = measure(json.loads(line))
        except Exception as e:  # noqa: BLE001
            ans = {"status": "error", "error": str(e)[:300]}
        print(json.dumps(ans), flush=True)
