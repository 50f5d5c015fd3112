"""JAX reference for the differential test (tests/differential/jax_diff.ts).

Reads one case per line (JSON, as tests/differential/case.ts describes it) on
standard input, rebuilds the same program and transform stack with JAX in
float64, evaluates it on the case's two input sets and writes one JSON line
per case: {"index", "calls": [[leaf, ...], [leaf, ...]]} or {"index", "error"}.
A leaf is {"shape", "dtype", "data"}; non-finite numbers are the strings
"nan", "inf" and "-inf" (JSON has no literal for them).

The whole stack is wrapped in one jax.jit: one compilation per case instead of
one per primitive, which is what makes a few hundred cases take seconds.
"""

import json
import math
import os
import sys
import traceback

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

UNARY = {
    "neg": jnp.negative,
    "abs": jnp.abs,
    "exp": jnp.exp,
    "log": jnp.log,
    "sqrt": jnp.sqrt,
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tan": jnp.tan,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu,
    "square": jnp.square,
    "reciprocal": jnp.reciprocal,
    "sign": jnp.sign,
}
BINARY = {
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "div": jnp.divide,
    "pow": jnp.power,
    "maximum": jnp.maximum,
    "minimum": jnp.minimum,
}
CMP = {"lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater, "ge": jnp.greater_equal}
REDUCE = {"sum": jnp.sum, "mean": jnp.mean, "prod": jnp.prod, "max": jnp.max, "min": jnp.min}


def f64(data, shape):
    return jnp.asarray(np.asarray(data, dtype=np.float64).reshape(shape))


def norm(d, r):
    return d + r if d < 0 else d


def axis_slice(x, d, s):
    return x[(slice(None),) * d + (s,)]


def eval_node(n, v, captured):
    def op(o):
        return v[o] if isinstance(o, int) else float(o["num"])

    k = n["op"]
    if k == "unary":
        return UNARY[n["fn"]](v[n["x"]])
    if k == "binary":
        a, b = op(n["a"]), op(n["b"])
        return BINARY[n["fn"]](a, b)
    if k == "where":
        return jnp.where(CMP[n["cmp"]](v[n["ca"]], op(n["cb"])), op(n["a"]), op(n["b"]))
    x = v[n["x"]] if "x" in n else None
    if k == "reduce":
        dim = n["dim"]
        axis = None if dim is None else (tuple(dim) if isinstance(dim, list) else dim)
        if x.ndim == 0:
            axis = None
        return REDUCE[n["fn"]](x, axis=axis, keepdims=n["keepdim"])
    if k == "reshape":
        return jnp.reshape(x, n["shape"])
    if k == "permute":
        return jnp.transpose(x, [norm(d, x.ndim) for d in n["dims"]])
    if k == "transpose":
        return jnp.swapaxes(x, n["dim0"], n["dim1"])
    if k == "movedim":
        return jnp.moveaxis(x, n["src"], n["dst"])
    if k == "expand":
        off = len(n["shape"]) - x.ndim
        shape = [x.shape[i - off] if d == -1 else d for i, d in enumerate(n["shape"])]
        return jnp.broadcast_to(x, shape)
    if k == "squeeze":
        # PyTorch semantics: dims that are not of size 1 are left alone.
        dim = n["dim"]
        dims = range(x.ndim) if dim is None else ([dim] if isinstance(dim, int) else dim)
        axes = tuple(sorted({norm(d, x.ndim) for d in dims if x.shape[norm(d, x.ndim)] == 1}))
        return jnp.squeeze(x, axes) if axes else x
    if k == "unsqueeze":
        return jnp.expand_dims(x, n["dim"])
    if k == "flatten":
        if x.ndim == 0:
            return jnp.reshape(x, (1,))
        s, e = norm(n["start"], x.ndim), norm(n["end"], x.ndim)
        sh = x.shape
        return jnp.reshape(x, sh[:s] + (math.prod(sh[s : e + 1]),) + sh[e + 1 :])
    if k == "slice":
        d = norm(n["dim"], x.ndim)
        return axis_slice(x, d, slice(n["start"], n["end"], n["step"]))
    if k == "narrow":
        d = norm(n["dim"], x.ndim)
        s = norm(n["start"], x.shape[d])
        return axis_slice(x, d, slice(s, s + n["length"]))
    if k == "select":
        d = norm(n["dim"], x.ndim)
        return axis_slice(x, d, norm(n["index"], x.shape[d]))
    if k == "cat":
        return jnp.concatenate([v[r] for r in n["xs"]], axis=n["dim"])
    if k == "stack":
        return jnp.stack([v[r] for r in n["xs"]], axis=n["dim"])
    if k in ("matmul", "dot"):
        return jnp.matmul(v[n["a"]], v[n["b"]])
    if k == "outer":
        return jnp.outer(v[n["a"]], v[n["b"]])
    if k == "linear":
        y = jnp.matmul(x, v[n["w"]].T)
        return y if n["b"] is None else y + v[n["b"]]
    if k == "detach":
        return jax.lax.stop_gradient(x)
    if k in ("const", "lazy"):
        # A tensor kept from the first call is a constant all the same.
        return f64(n["data"], n["shape"])
    if k == "captured":
        return captured[n["k"]]
    raise ValueError(f"unknown op {k}")


def build_program(case, captured):
    p = case["program"]

    def f(*xs):
        v = list(xs)
        for n in p["nodes"]:
            v.append(eval_node(n, v, captured))
        out = p["out"]
        return v[out] if isinstance(out, int) else [v[r] for r in out]

    return f


def scalarize(o, kind):
    total = None
    for leaf in jax.tree_util.tree_leaves(o):
        t = jnp.sin(leaf) if kind == "sin" else jnp.square(leaf) if kind == "square" else leaf
        s = jnp.sum(t)
        total = s if total is None else total + s
    return total


def argnums_of(a):
    return a if isinstance(a, int) else tuple(a)


def apply_layer(L, f):
    t = L["t"]
    if t == "scalarize":

        def g(*a):
            o = f(*a)
            s = scalarize(o, L["kind"])
            return (s, o) if L["aux"] else s

        return g
    if t == "grad":
        an = argnums_of(L["argnums"])
        if L["value"]:
            return jax.value_and_grad(f, argnums=an, has_aux=L["hasAux"])
        return jax.grad(f, argnums=an, has_aux=L["hasAux"])
    if t in ("jacrev", "jacfwd", "hessian"):
        # chunkSize only bounds jacobi's memory; JAX computes the same values at once.
        return getattr(jax, t)(f, argnums=argnums_of(L["argnums"]))
    if t == "jvp":

        def g(*a):
            n = len(a) // 2
            return jax.jvp(f, tuple(a[:n]), tuple(a[n:]))

        return g
    if t == "linearize":

        def g(*a):
            n = len(a) // 2
            o, fn = jax.linearize(f, *a[:n])
            tout = fn(*a[n:])
            return (o, tout) if L["withValue"] else tout

        return g
    if t == "vjp":
        n = L["nPrimals"]

        def g(*a):
            o, fn = jax.vjp(f, *a[:n])
            ct = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(o), list(a[n:]))
            cts = fn(ct)
            return (o, cts) if L["withValue"] else cts

        return g
    if t == "vmap":
        in_dims = L["inDims"]
        in_axes = in_dims if isinstance(in_dims, int) else tuple(in_dims)
        out_dims = L["outDims"]

        def g(*a):
            if isinstance(out_dims, int):
                out_axes = out_dims
            else:
                # One entry per output leaf, in the output's own tree structure.
                ins = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(a)
                unbatched = [
                    jax.ShapeDtypeStruct(
                        x.shape if d is None else x.shape[: norm(d, x.ndim)] + x.shape[norm(d, x.ndim) + 1 :],
                        x.dtype,
                    )
                    for x, d in zip(a, ins)
                ]
                structure = jax.tree_util.tree_structure(jax.eval_shape(f, *unbatched))
                out_axes = jax.tree_util.tree_unflatten(structure, out_dims)
            return jax.vmap(f, in_axes=in_axes, out_axes=out_axes)(*a)

        return g
    if t == "jit":
        return jax.jit(f)
    raise ValueError(f"unknown layer {t}")


def encode(x):
    a = np.asarray(x)
    data = [v if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")) for v in a.reshape(-1).tolist()]
    return {"shape": list(a.shape), "dtype": str(a.dtype), "data": data}


def run_case(case):
    captured = [f64(c["data"], c["shape"]) for c in case["captured"]]
    f = build_program(case, captured)
    for L in case["layers"]:
        f = apply_layer(L, f)
    top = jax.jit(f)
    calls = []
    for inputs in case["inputs"]:
        args = [f64(d, s) for d, s in zip(inputs, case["argShapes"])]
        calls.append([encode(leaf) for leaf in jax.tree_util.tree_leaves(top(*args))])
    return calls


def main():
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            res = {"index": case["index"], "calls": run_case(case)}
        except Exception as e:  # reported per case; the TypeScript side shows it
            tb = traceback.format_exc().strip().splitlines()[-6:]
            res = {"index": case["index"], "error": f"{type(e).__name__}: {e}", "trace": tb}
        out.write(json.dumps(res, allow_nan=False) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
