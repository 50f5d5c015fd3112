// Shared harness of the JavaScript peers (jax-js, TensorFlow.js under Node)
// and of bench/compare/jacobi.ts (under Deno): reads the shared data, times a
// variant (warm-up, then the median of adaptive samples), checks its first
// result against the closed forms in float64, and prints one JSON line per
// event on stdout for bench/compare/run.ts. harness.py is its Python twin.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** Largest error allowed, relative to the largest entry of the expected array. */
export const TOLERANCE = 1e-4;

const now = () => performance.now();
/** Process CPU time (ms): what a pinned peer spent, not what it waited. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

/**
 * Opens the data named by argv: `<manifest.json> [--skip=peer:W1/jacrev;...]
 * [--serve]`. The skip list lets a driver restart a peer after a crash past
 * the variants already done. With `--serve`, `run` and `na` only register
 * their variant, and `serve()` (which every peer calls last) then answers
 * requests on stdin, one JSON line each: `{"workload": "W1", "skip": [...]}`
 * runs that workload's registered variants (all columns, in registration
 * order) and ends with `{"event": "done"}`. run.ts uses it to interleave the
 * peers per workload; without `--serve`, `run` runs at once and `serve()`
 * returns.
 */
export function openHarness(peerMeta) {
  const args = process.argv.slice(2);
  const serving = args.includes("--serve");
  /** Registered variants in serve mode: { workload, key, go() }. */
  const registry = [];
  const manifestPath = args.find((a) => !a.startsWith("--"));
  if (!manifestPath) throw new Error("usage: <peer> manifest.json [--skip=..]");
  const skipArg = args.find((a) => a.startsWith("--skip="));
  const skip = new Set(skipArg ? skipArg.slice(7).split(";") : []);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const bytes = readFileSync(join(dirname(manifestPath), "data.bin"));
  const all = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  const get = (name) => {
    const entry = manifest.arrays[name];
    if (!entry) throw new Error(`no array ${name} in the data`);
    const n = entry.shape.reduce((a, b) => a * b, 1);
    return {
      shape: entry.shape,
      data: all.slice(entry.offset, entry.offset + n),
    };
  };
  emit({ event: "meta", ...peerMeta });
  const na = (peer, workload, variant, reason) => {
    if (skip.has(`${peer}:${workload}/${variant}`)) return;
    emit({
      event: "result",
      peer,
      workload,
      variant,
      status: "n/a",
      ok: false,
      error: `n/a: ${reason}`,
    });
  };
  const register = (workload, key, go) => {
    registry.push({ workload, key, go });
    return Promise.resolve();
  };
  return {
    get,
    timing: manifest.timing,
    serving,
    /** Whether `peer` should run `workload/variant` (false: skipped). */
    wants: (peer, workload, variant) =>
      !skip.has(`${peer}:${workload}/${variant}`),
    /** Records a variant the peer cannot express, with the reason. */
    na(peer, workload, variant, reason) {
      if (!serving) return na(peer, workload, variant, reason);
      register(
        workload,
        `${peer}:${workload}/${variant}`,
        () => na(peer, workload, variant, reason),
      );
    },
    run: (spec) =>
      serving
        ? register(
          spec.workload,
          `${spec.peer}:${spec.workload}/${spec.variant}`,
          () => runVariant(spec, manifest.timing, get, skip),
        )
        : runVariant(spec, manifest.timing, get, skip),
    /** Serve mode: answers workload requests until stdin closes. */
    async serve() {
      if (!serving) return;
      const { createInterface } = await import("node:readline");
      const input = createInterface({ input: process.stdin });
      for await (const line of input) {
        if (!line.trim()) continue;
        const req = JSON.parse(line);
        const skipNow = new Set(req.skip ?? []);
        for (const item of registry) {
          if (item.workload !== req.workload || skipNow.has(item.key)) continue;
          await item.go();
        }
        emit({ event: "done", workload: req.workload });
      }
      input.close();
    },
  };
}

/** The installed version of an npm package (its exports may hide package.json). */
export function packageVersion(name) {
  const dir = dirname(fileURLToPath(import.meta.url));
  const pkg = join(dir, "node_modules", name, "package.json");
  return JSON.parse(readFileSync(pkg, "utf8")).version;
}

async function call(fn) {
  const r = fn();
  return r instanceof Promise ? await r : r;
}

/**
 * Times one variant. spec: { peer, workload, variant, fn, read, dispose?,
 * note? }. `fn()` does the whole computation from the inputs and returns the
 * result, forced (sync or async); `read(result)` gives
 * `[{ shape, data }, ...]` for the check; `dispose(result)` frees it.
 */
async function runVariant(spec, timing, get, skip) {
  const { peer, workload, variant, fn, read } = spec;
  const dispose = spec.dispose ?? (() => {});
  if (skip.has(`${peer}:${workload}/${variant}`)) return;
  emit({ event: "start", peer, workload, variant });
  const base = { event: "result", peer, workload, variant, note: spec.note };
  try {
    let t = now();
    let firstCpu = cpuMs();
    const first = await call(fn);
    const firstMs = now() - t;
    firstCpu = cpuMs() - firstCpu;
    const check = checkResult(read(first), expected(get, workload, variant));
    dispose(first);

    // Warm up until the JIT tiers settle, then pick how many calls make one
    // sample (timer resolution) and how many samples fit the budget.
    let est = firstMs;
    const warmStart = now();
    for (let n = 0; est < 5000; n++) {
      if (now() - warmStart >= timing.warmupMs && n >= 1) break;
      if (timing.warmupMs === 0) break;
      t = now();
      dispose(await call(fn));
      est = now() - t;
    }
    const reps = Math.max(
      1,
      Math.ceil(timing.minSampleMs / Math.max(est, 1e-3)),
    );
    let samples = Math.floor(timing.budgetMs / (est * reps));
    samples = Math.min(timing.maxSamples, Math.max(timing.minSamples, samples));
    if (est * samples > timing.capMs) { // slow variants: fewer samples
      samples = Math.max(1, Math.floor(timing.capMs / est));
    }
    // --quick (no budget): the checked first call is the only sample.
    const times = timing.budgetMs === 0 ? [firstMs] : [];
    const cpuTimes = timing.budgetMs === 0 ? [firstCpu] : [];
    if (timing.budgetMs === 0) samples = 0;
    for (let s = 0; s < samples; s++) {
      t = now();
      const c = cpuMs();
      for (let r = 0; r < reps; r++) dispose(await call(fn));
      cpuTimes.push((cpuMs() - c) / reps);
      times.push((now() - t) / reps);
    }
    emit({
      ...base,
      status: check.ok ? "ok" : "wrong",
      ok: check.ok,
      median_ms: median(times),
      cpu_ms: median(cpuTimes),
      first_ms: firstMs,
      samples: times.length,
      reps,
      max_err: check.maxErr,
      error: check.ok ? undefined : check.message,
    });
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    emit({ ...base, status: "error", ok: false, error: message.slice(0, 400) });
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Compares the peer's arrays with the closed forms: shape, then values. */
function checkResult(got, want) {
  if (got.length !== want.length) {
    return {
      ok: false,
      message: `wrong result: ${got.length} arrays, expected ${want.length}`,
    };
  }
  let worst = 0;
  for (let a = 0; a < want.length; a++) {
    const g = got[a], w = want[a];
    if (g.shape.join(",") !== w.shape.join(",")) {
      const hint = outputAxesLast(g, w)
        ? " (the transpose: output axes last)"
        : "";
      return {
        ok: false,
        message:
          `wrong result: shape [${g.shape}], expected [${w.shape}]${hint}`,
      };
    }
    let scale = 0, err = 0;
    for (let i = 0; i < w.data.length; i++) {
      scale = Math.max(scale, Math.abs(w.data[i]));
      const d = Math.abs(g.data[i] - w.data[i]);
      err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    }
    worst = Math.max(worst, err / (scale || 1));
  }
  const ok = worst <= TOLERANCE;
  const hint = !ok && got.length === 1 && outputAxesLast(got[0], want[0])
    ? " (the transpose: output axes last)"
    : "";
  return {
    ok,
    maxErr: worst,
    message: ok
      ? undefined
      : `wrong result: max relative error ${
        worst.toExponential(2)
      } > ${TOLERANCE}${hint}`,
  };
}

/**
 * Diagnoses a common mistake: a Jacobian laid out [in..., out] instead of
 * [out, in...], i.e. `want` with its first axis moved last.
 */
function outputAxesLast(g, w) {
  const [out, ...rest] = w.shape;
  if (g.shape.join(",") !== [...rest, out].join(",") || g.data.length === 0) {
    return false;
  }
  const inner = w.data.length / out;
  let scale = 0, err = 0;
  for (let k = 0; k < out; k++) {
    for (let r = 0; r < inner; r++) {
      const v = w.data[k * inner + r];
      scale = Math.max(scale, Math.abs(v));
      err = Math.max(err, Math.abs(g.data[r * out + k] - v));
    }
  }
  return err / (scale || 1) <= TOLERANCE;
}

// ---- closed forms, in float64 from the float32 inputs -------------------

/** y = tanh(W x + b) for one x. */
function forward(W, b, x, xOffset = 0) {
  const [dout, din] = W.shape;
  const y = new Float64Array(dout);
  for (let k = 0; k < dout; k++) {
    let z = b.data[k];
    for (let i = 0; i < din; i++) {
      z += W.data[k * din + i] * x.data[xOffset + i];
    }
    y[k] = Math.tanh(z);
  }
  return y;
}

/** J[k,i] = (1 - y_k²) W[k,i], written at `out[offset..]`. */
function jacobian(W, y, out, offset) {
  const [dout, din] = W.shape;
  for (let k = 0; k < dout; k++) {
    for (let i = 0; i < din; i++) {
      out[offset + k * din + i] = (1 - y[k] * y[k]) * W.data[k * din + i];
    }
  }
}

/** H[k,i,j] = -2 y_k (1 - y_k²) W[k,i] W[k,j], written at `out[offset..]`. */
function hessian(W, y, out, offset) {
  const [dout, din] = W.shape;
  for (let k = 0; k < dout; k++) {
    const c = -2 * y[k] * (1 - y[k] * y[k]);
    for (let i = 0; i < din; i++) {
      const ci = c * W.data[k * din + i];
      const row = offset + (k * din + i) * din;
      for (let j = 0; j < din; j++) out[row + j] = ci * W.data[k * din + j];
    }
  }
}

/** The expected arrays of a workload/variant (see workloads.ts). */
export function expected(get, workload, variant) {
  if (workload === "W6") {
    const x = get("W6.x"), v = get("W6.v");
    const h = x.data.map((xi, i) => -Math.sin(xi) * v.data[i]);
    return [{ shape: x.shape, data: Float64Array.from(h) }];
  }
  const W = get(`${workload}.W`), b = get(`${workload}.b`);
  const x = get(`${workload}.x`);
  const [dout, din] = W.shape;
  if (workload === "W5") {
    const batch = x.shape[0];
    const hess = variant === "vmap(hessian)";
    const per = dout * din * (hess ? din : 1);
    const out = new Float64Array(batch * per);
    for (let n = 0; n < batch; n++) {
      const y = forward(W, b, x, n * din);
      (hess ? hessian : jacobian)(W, y, out, n * per);
    }
    const shape = hess ? [batch, dout, din, din] : [batch, dout, din];
    return [{ shape, data: out }];
  }
  const y = forward(W, b, x);
  if (workload === "W4") {
    const out = new Float64Array(dout * din * din);
    hessian(W, y, out, 0);
    return [{ shape: [dout, din, din], data: out }];
  }
  if (workload === "W7") {
    // dJ/dW[k,k',i] = δ_kk' (1 - y_k²) x_i and dJ/db = diag(1 - y²).
    const dW = new Float64Array(dout * dout * din);
    const db = new Float64Array(dout * dout);
    for (let k = 0; k < dout; k++) {
      const d = 1 - y[k] * y[k];
      db[k * dout + k] = d;
      for (let i = 0; i < din; i++) {
        dW[(k * dout + k) * din + i] = d * x.data[i];
      }
    }
    return [
      { shape: [dout, dout, din], data: dW },
      { shape: [dout, dout], data: db },
    ];
  }
  const out = new Float64Array(dout * din);
  jacobian(W, y, out, 0);
  return [{ shape: [dout, din], data: out }];
}
