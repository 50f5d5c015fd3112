"""Shared harness of the Python peers (PyTorch, JAX): the twin of harness.mjs.

Reads the shared data, times a variant (warm-up, then the median of adaptive
samples), checks its first result against the closed forms in float64 and
prints one JSON line per event on stdout for bench/compare/run.ts.
"""

import json
import math
import os
import sys
import time

import numpy as np

# Largest error allowed, relative to the largest entry of the expected array.
TOLERANCE = 1e-4


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Harness:
    """argv: <manifest.json> [--skip=peer:W1/jacrev;...] [--serve] (a driver
    restarts a crashed peer past the variants already done). With --serve,
    run() and na() only register their variant and serve(), which every
    peer calls last, answers workload requests on stdin as harness.mjs
    does."""

    def __init__(self, meta):
        args = sys.argv[1:]
        path = next(a for a in args if not a.startswith("--"))
        skip = next((a[7:] for a in args if a.startswith("--skip=")), "")
        self.skip = set(s for s in skip.split(";") if s)
        self.serving = "--serve" in args
        self.registry = []  # (workload, key, thunk) in serve mode
        with open(path) as f:
            self.manifest = json.load(f)
        self.timing = self.manifest["timing"]
        self.all = np.fromfile(
            os.path.join(os.path.dirname(path), "data.bin"), dtype="<f4")
        emit({"event": "meta", **meta})

    def get(self, name):
        """The named input as a float32 numpy array."""
        entry = self.manifest["arrays"][name]
        n = math.prod(entry["shape"])
        o = entry["offset"]
        return self.all[o:o + n].reshape(entry["shape"]).copy()

    def wants(self, peer, workload, variant):
        return f"{peer}:{workload}/{variant}" not in self.skip

    def serve(self):
        """Serve mode: one request per stdin line, {"workload": "W1", "skip":
        [...]}: runs that workload's registered variants, then prints
        {"event": "done"}. Returns at once without --serve."""
        if not self.serving:
            return
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            skip = set(req.get("skip", []))
            for workload, key, thunk in self.registry:
                if workload == req["workload"] and key not in skip:
                    thunk()
            emit({"event": "done", "workload": req["workload"]})

    def na(self, peer, workload, variant, reason):
        if self.serving:
            key = f"{peer}:{workload}/{variant}"
            self.registry.append((workload, key, lambda: self._na_now(
                peer, workload, variant, reason)))
            return
        self._na_now(peer, workload, variant, reason)

    def _na_now(self, peer, workload, variant, reason):
        if not self.wants(peer, workload, variant):
            return
        emit({"event": "result", "peer": peer, "workload": workload,
              "variant": variant, "status": "n/a", "ok": False,
              "error": f"n/a: {reason}"})

    def run(self, peer, workload, variant, fn, read, note=None):
        """Times `fn()` (the whole computation from the inputs, result forced);
        `read(result)` gives a list of numpy arrays for the check."""
        if self.serving:
            key = f"{peer}:{workload}/{variant}"
            self.registry.append((workload, key, lambda: self._run_now(
                peer, workload, variant, fn, read, note)))
            return
        self._run_now(peer, workload, variant, fn, read, note)

    def _run_now(self, peer, workload, variant, fn, read, note=None):
        if not self.wants(peer, workload, variant):
            return
        emit({"event": "start", "peer": peer, "workload": workload,
              "variant": variant})
        base = {"event": "result", "peer": peer, "workload": workload,
                "variant": variant}
        if note:
            base["note"] = note
        try:
            timing = self.timing
            t, c = time.perf_counter(), time.process_time()
            first = fn()
            first_ms = (time.perf_counter() - t) * 1e3
            first_cpu = (time.process_time() - c) * 1e3
            ok, max_err, message = check(read(first),
                                         expected(self.get, workload, variant))
            del first

            # Warm up, then pick calls per sample and samples per budget.
            est = first_ms
            warm_start = time.perf_counter()
            n = 0
            while timing["warmupMs"] > 0 and est < 5000:
                if (time.perf_counter() - warm_start) * 1e3 >= timing[
                        "warmupMs"] and n >= 1:
                    break
                t = time.perf_counter()
                fn()
                est = (time.perf_counter() - t) * 1e3
                n += 1
            reps = max(1, math.ceil(timing["minSampleMs"] / max(est, 1e-3)))
            samples = int(timing["budgetMs"] // (est * reps))
            samples = min(timing["maxSamples"],
                          max(timing["minSamples"], samples))
            if est * samples > timing["capMs"]:  # slow variants: fewer samples
                samples = max(1, int(timing["capMs"] // est))
            # --quick (no budget): the checked first call is the only sample.
            times = [first_ms] if timing["budgetMs"] == 0 else []
            cpu = [first_cpu] if timing["budgetMs"] == 0 else []
            if timing["budgetMs"] == 0:
                samples = 0
            for _ in range(samples):
                t, c = time.perf_counter(), time.process_time()
                for _ in range(reps):
                    fn()
                cpu.append((time.process_time() - c) * 1e3 / reps)
                times.append((time.perf_counter() - t) * 1e3 / reps)
            emit({**base, "status": "ok" if ok else "wrong", "ok": ok,
                  "median_ms": float(np.median(times)),
                  "cpu_ms": float(np.median(cpu)), "first_ms": first_ms,
                  "samples": len(times), "reps": reps, "max_err": max_err,
                  **({} if ok else {"error": message})})
        except Exception as e:  # a peer's failure is a result, not a crash
            emit({**base, "status": "error", "ok": False,
                  "error": f"{type(e).__name__}: {e}"[:400]})


def check(got, want):
    if len(got) != len(want):
        return False, None, f"wrong result: {len(got)} arrays, expected {len(want)}"
    worst = 0.0
    for g, w in zip(got, want):
        g = np.asarray(g, dtype=np.float64)
        if g.shape != w.shape:
            return False, None, (f"wrong result: shape {list(g.shape)}, "
                                 f"expected {list(w.shape)}")
        scale = float(np.max(np.abs(w))) or 1.0
        err = float(np.max(np.abs(g - w))) if g.size else 0.0
        worst = max(worst, err / scale if math.isfinite(err) else math.inf)
    ok = worst <= TOLERANCE
    return ok, worst, None if ok else (
        f"wrong result: max relative error {worst:.2e} > {TOLERANCE}")


# ---- closed forms, in float64 from the float32 inputs ----------------------

def expected(get, workload, variant):
    if workload == "W6":
        x, v = get("W6.x").astype(np.float64), get("W6.v").astype(np.float64)
        return [-np.sin(x) * v]
    W, b, x = (get(f"{workload}.{n}").astype(np.float64) for n in "Wbx")
    y = np.tanh(x @ W.T + b)  # [Dout] or [B, Dout]
    d = 1 - y * y
    if workload == "W4" or variant == "vmap(hessian)":
        # H[k,i,j] = -2 y_k (1 - y_k²) W[k,i] W[k,j]
        c = -2 * y * d
        return [c[..., :, None, None] * W[:, :, None] * W[:, None, :]]
    if workload == "W7":
        dout, din = W.shape
        eye = np.eye(dout)
        dW = eye[:, :, None] * d[:, None, None] * x[None, None, :]
        return [dW.reshape(dout, dout, din), np.diag(d)]
    return [d[..., :, None] * W]
