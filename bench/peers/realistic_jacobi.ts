// jacobi peer of the realistic group (bench/compare/realistic.ts): reads one
// JSON request per line, answers one JSON line. Public API only. With
// `--reference`, runs each row once in float64 and prints its sums instead.
import * as J from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { bestF32, cpuMs, measureRoof } from "../roof.ts";
import {
  type Answer,
  inputValue,
  type Request,
} from "../compare/realistic_rows.ts";

type DT = "float32" | "float64";
let dtype: DT = "float32";

function input(seed: number, shape: number[], scale: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const a = dtype === "float64"
    ? new Float64Array(size)
    : new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = inputValue(seed, i, scale);
  return J.tensor(a).reshape(shape);
}

/** One-hot labels `(i * 7) % classes`, as float. */
function labels(batch: number, classes: number): Tensor {
  const a = dtype === "float64"
    ? new Float64Array(batch * classes)
    : new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) a[i * classes + ((i * 7) % classes)] = 1;
  return J.tensor(a).reshape([batch, classes]);
}

function mlpParams(): Tensor[] {
  return [
    input(1, [256, 784], 1 / Math.sqrt(784)),
    input(2, [256], 0.1),
    input(3, [256, 256], 1 / Math.sqrt(256)),
    input(4, [256], 0.1),
    input(5, [10, 256], 1 / Math.sqrt(256)),
    input(6, [10], 0.1),
  ];
}

function mlpLoss(p: Tensor[], x: Tensor, y: Tensor): Tensor {
  const h1 = J.linear(x, p[0], p[1]).tanh();
  const h2 = J.linear(h1, p[2], p[3]).tanh();
  const logits = J.linear(h2, p[4], p[5]);
  return J.logSoftmax(logits, -1).mul(y).sum().neg().div(x.shape[0]);
}

function pinnParams(): Tensor[] {
  return [
    input(1, [64, 2], 1),
    input(2, [64], 0.1),
    input(3, [64, 64], 1 / 8),
    input(4, [64], 0.1),
    input(5, [1, 64], 1 / 8),
    input(6, [1], 0.1),
  ];
}

/** u(x, t) for one point `xt` of shape [2]: a scalar. */
function pinnU(p: Tensor[], xt: Tensor): Tensor {
  const h1 = J.linear(xt, p[0], p[1]).tanh();
  const h2 = J.linear(h1, p[2], p[3]).tanh();
  return J.linear(h2, p[4], p[5]).sum();
}

function pinnLoss(p: Tensor[], pts: Tensor): Tensor {
  const du = J.grad(pinnU, { argnums: 1 });
  const residual = (xt: Tensor) => {
    const g = du(p, xt);
    const uxx = J.grad((z: Tensor) => du(p, z).select(0, 0))(xt).select(0, 0);
    return g.select(0, 1).sub(uxx.mul(0.01));
  };
  const r = J.vmap(residual)(pts);
  return r.square().mean();
}

function odeLoss(A: Tensor, x0: Tensor): Tensor {
  let x = x0;
  for (let i = 0; i < 1000; i++) x = x.add(J.matmul(A, x).tanh().mul(0.01));
  return x.sum();
}

/** The same with `scan` (one traced step), as JAX + jit runs it. */
function odeLossScan(A: Tensor, x0: Tensor): Tensor {
  const [xT] = J.scan(
    (x: Tensor) => [x.add(J.matmul(A, x).tanh().mul(0.01)), null],
    x0,
    null,
    { length: 1000 },
  );
  return xT.sum();
}

type Built = { fn: (...a: unknown[]) => unknown; args: unknown[] };

function build(req: Request): Built {
  const jit = req.variant === "jit";
  const wrap = <F extends (...a: never[]) => unknown>(f: F) =>
    (jit ? J.jit(f as never) : f) as unknown as (...a: unknown[]) => unknown;
  switch (req.id) {
    case "R1":
      return {
        fn: wrap(J.grad(mlpLoss)),
        args: [mlpParams(), input(7, [128, 784], 1), labels(128, 10)],
      };
    case "R2": {
      const one = (p: Tensor[], x: Tensor, y: Tensor) =>
        mlpLoss(p, x.unsqueeze(0), y.unsqueeze(0));
      return {
        fn: wrap(J.vmap(J.grad(one), { inDims: [null, 0, 0] })),
        args: [mlpParams(), input(7, [64, 784], 1), labels(64, 10)],
      };
    }
    case "R3":
      return {
        fn: wrap(J.grad(pinnLoss)),
        args: [pinnParams(), input(8, [1024, 2], 1)],
      };
    case "R4":
      return {
        // jit runs scan, as JAX + jit runs lax.scan; eager runs the loop.
        fn: wrap(J.grad(jit ? odeLossScan : odeLoss)),
        args: [input(1, [16, 16], 0.25), input(2, [16], 1)],
      };
    case "R5": {
      const f = (x: Tensor, W: Tensor) => J.matmul(W, x).tanh().sum();
      return {
        fn: wrap(J.hessian(f)),
        args: [
          input(2, [req.n], 1),
          input(1, [req.n, req.n], 1 / Math.sqrt(req.n)),
        ],
      };
    }
    case "R6":
      return {
        fn: wrap((a: Tensor, b: Tensor) => J.matmul(a, b)),
        args: [input(1, [req.n, req.n], 1), input(2, [req.n, req.n], 1)],
      };
  }
  throw new Error(`unknown row ${req.id}`);
}

function leaves(x: unknown, out: Tensor[] = []): Tensor[] {
  if (x instanceof J.Tensor) out.push(x);
  else if (Array.isArray(x)) { for (const v of x) leaves(v, out); }
  return out;
}

function sums(out: unknown): { sum: number; sum_abs: number } {
  let sum = 0, sum_abs = 0;
  for (const t of leaves(out)) {
    for (const v of t.data()) {
      sum += v;
      sum_abs += Math.abs(v);
    }
  }
  return { sum, sum_abs };
}

const dispose = (out: unknown) => leaves(out).forEach((t) => t.dispose());

function measure(req: Request): Answer {
  const { fn, args } = build(req);
  try {
    let t0 = performance.now();
    const first = fn(...args);
    const first_ms = performance.now() - t0;
    const s = sums(first);
    dispose(first);
    // Warm-up: at least one more call and 300 ms (V8 tiers wasm up lazily).
    t0 = performance.now();
    do dispose(fn(...args)); while (performance.now() - t0 < 300);
    // CPU time per call (the ratios use it: on a shared machine wall time
    // counts the stretches when the process is descheduled), wall beside it.
    const cpu: number[] = [], wall: number[] = [];
    t0 = performance.now();
    while (
      cpu.length < 3 ||
      (performance.now() - t0 < req.ms && cpu.length < 200)
    ) {
      const [w, c] = [performance.now(), cpuMs()];
      dispose(fn(...args));
      cpu.push(cpuMs() - c);
      wall.push(performance.now() - w);
    }
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
    return {
      status: "ok",
      median_ms: med(cpu),
      wall_ms: med(wall),
      first_ms,
      ...s,
    };
  } finally {
    dispose(args);
  }
}

const reference = Deno.args.includes("--reference");
if (reference) dtype = "float64";

// --threads=N: jacobi's setNumThreads (multi-threaded GEMM on WebAssembly
// threads) where mod.ts has it, looked up on the namespace so that this
// file runs before and after it exists; INFO requests report what happened.
const threads = Number(
  Deno.args.find((a) => a.startsWith("--threads="))?.split("=")[1] ?? 1,
);
const api = J as unknown as Record<string, unknown>;
const { setNumThreads, getNumThreads } = api;
let threadNote: string;
if (typeof setNumThreads === "function") {
  await setNumThreads(threads);
  threadNote = `setNumThreads(${threads})` +
    (typeof getNumThreads === "function"
      ? `, getNumThreads() = ${getNumThreads()}`
      : "");
} else {
  threadNote = threads > 1
    ? `mod.ts has no setNumThreads: ran with one thread, not ${threads}`
    : "one thread (mod.ts has no setNumThreads)";
}
const decoder = new TextDecoderStream();
let buf = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(decoder)) {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (!line.trim()) continue;
    const req = JSON.parse(line) as Request;
    let ans: Answer;
    try {
      if (req.id === "INFO") {
        ans = { status: "ok", note: threadNote };
      } else if (req.id === "ROOF") {
        const b = bestF32(measureRoof({ rounds: 3 }));
        ans = {
          status: "ok",
          gflops: b.gflops,
          note: `${b.kind}, ${b.chains} chains`,
        };
      } else if (reference) {
        const { fn, args } = build({ ...req, variant: "eager" });
        const out = fn(...args);
        ans = { status: "ok", ...sums(out) };
        dispose(out);
        dispose(args);
      } else {
        ans = measure(req);
      }
    } catch (e) {
      ans = {
        status: "error",
        error: String((e as Error)?.message ?? e).slice(0, 300),
      };
    }
    console.log(JSON.stringify(ans));
  }
}
