"""What the Python peers of the realistic group (bench/compare/realistic.ts)
share: the inputs (the formula of bench/compare/realistic_rows.ts
inputValue, as numpy float32 arrays), the parameter shapes of the MLP and
PINN rows, the timing of one request and the stdin/stdout protocol. Each
peer converts the arrays to its own tensors and supplies its functions."""

import json
import math
import sys
import time

import numpy as np


def inp_array(seed, shape, scale):
    """Input `seed` of `shape`: scale·sin(0.7 i + 1.3 seed + 0.25) in float64,
    then float32, as every peer computes it."""
    size = int(np.prod(shape))
    i = np.arange(size, dtype=np.float64)
    a = (scale * np.sin(i * 0.7 + seed * 1.3 + 0.25)).astype(np.float32)
    return a.reshape(shape)


def labels_array(batch, classes):
    """One-hot labels, example b of class 7b mod classes."""
    a = np.zeros((batch, classes), np.float32)
    a[np.arange(batch), (np.arange(batch) * 7) % classes] = 1
    return a


# (seed, shape, scale) of each parameter, in order.
MLP_PARAMS = [(1, (256, 784), 1 / math.sqrt(784)), (2, (256,), 0.1),
              (3, (256, 256), 1 / 16), (4, (256,), 0.1),
              (5, (10, 256), 1 / 16), (6, (10,), 0.1)]
PINN_PARAMS = [(1, (64, 2), 1), (2, (64,), 0.1), (3, (64, 64), 1 / 8),
               (4, (64,), 0.1), (5, (1, 64), 1 / 8), (6, (1,), 0.1)]


def measure(call, arrays, ms):
    """Times `call()` (which runs one request to completion and returns its
    result) for about `ms` milliseconds after a first call and a 0.3 s
    warm-up; `arrays(out)` gives the result's leaves as float64 numpy
    arrays, summed for the check. Medians of CPU and wall time per call."""
    t0 = time.perf_counter()
    out = call()
    first_ms = (time.perf_counter() - t0) * 1e3
    s = sa = 0.0
    for a in arrays(out):
        s += float(a.sum())
        sa += float(np.abs(a).sum())
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.3:
        call()
    cpu, wall = [], []
    t0 = time.perf_counter()
    while len(cpu) < 3 or ((time.perf_counter() - t0) * 1e3 < ms
                           and len(cpu) < 200):
        w, c = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - c) * 1e3)
        wall.append((time.perf_counter() - w) * 1e3)
    cpu.sort()
    wall.sort()
    return {"status": "ok", "median_ms": cpu[len(cpu) // 2],
            "wall_ms": wall[len(wall) // 2],
            "first_ms": first_ms, "sum": s, "sum_abs": sa}


def serve(answer):
    """One JSON request per stdin line, one JSON answer per stdout line."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            ans = answer(json.loads(line))
        except Exception as e:  # noqa: BLE001
            ans = {"status": "error", "error": str(e)[:300]}
        print(json.dumps(ans), flush=True)
