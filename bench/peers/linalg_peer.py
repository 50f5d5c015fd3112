"""numpy and JAX timings for bench/linalg_compare.ts, one thread each.

argv: <sizes, comma-separated> <ops, comma-separated>. Prints one JSON line
per (library, op, dtype, n) with the best time in milliseconds of a few
adaptive samples after a warm-up. JAX runs jitted, with float64 enabled.
"""

import json
import os
import sys
import time

# One thread for OpenBLAS (numpy) and for XLA's CPU client (JAX); set
# before either is imported.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402


def best_ms(fn, budget=0.3):
    fn()  # warm-up (and compilation for jit)
    best = float("inf")
    spent = 0.0
    reps = 0
    while reps < 3 or (spent < budget and reps < 50):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        reps += 1
    return best * 1e3


def inputs(n, dtype, seed):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((n, n))
    spd = b @ b.T / n + np.eye(n)
    return spd.astype(dtype), rng.standard_normal((n, n)).astype(dtype)


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def main():
    sizes = [int(s) for s in sys.argv[1].split(",")]
    ops = sys.argv[2].split(",")
    try:
        import scipy.linalg as sla
    except ImportError:
        sla = None
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.linalg as jsl
    except ImportError:
        jax = None
    for dtype in ("float32", "float64"):
        for n in sizes:
            spd, gen = inputs(n, dtype, n)
            np_fns = {
                "matmul": lambda: gen @ gen,
                "cholesky": lambda: np.linalg.cholesky(spd),
                "qr": lambda: np.linalg.qr(gen),
                "eigh": lambda: np.linalg.eigh(spd),
                "svd": lambda: np.linalg.svd(gen, full_matrices=False),
            }
            if sla is not None:
                np_fns["lu"] = lambda: sla.lu_factor(gen, check_finite=False)
            for op in ["matmul", *ops]:
                if op in np_fns:
                    emit(lib="numpy", op=op, dtype=dtype, n=n,
                         ms=best_ms(np_fns[op]))
            if jax is None:
                continue
            js, jg = jnp.asarray(spd), jnp.asarray(gen)
            jfns = {
                "matmul": jax.jit(lambda a: a @ a),
                "cholesky": jax.jit(jnp.linalg.cholesky),
                "qr": jax.jit(jnp.linalg.qr),
                "eigh": jax.jit(jnp.linalg.eigh),
                "svd": jax.jit(lambda a: jnp.linalg.svd(a, full_matrices=False)),
                "lu": jax.jit(jsl.lu_factor),
            }
            for op in ["matmul", *ops]:
                if op not in jfns:
                    continue
                f, x = jfns[op], (js if op in ("cholesky", "eigh") else jg)
                emit(lib="jax", op=op, dtype=dtype, n=n,
                     ms=best_ms(lambda: jax.block_until_ready(f(x))))


if __name__ == "__main__":
    main()
