// The realistic workload group (R1–R6) beside the seed workloads W1–W7:
// training-shaped programs where dense products, nesting and long chains
// matter. Shapes live here; every peer builds the same float32 inputs from
// `inputValue` (a formula, so no data files are needed), in the order listed.

export interface Row {
  /** `R5/n=256`: the workload id and, for swept rows, the size. */
  key: string;
  id: string;
  title: string;
  n: number;
  /** Floating-point operations of one call (for GFLOP/s), when meaningful. */
  flops?: number;
}

/** Input `name` of a row, entry `i`: deterministic, same in every peer. */
export function inputValue(seed: number, i: number, scale: number): number {
  return Math.fround(scale * Math.sin(i * 0.7 + seed * 1.3 + 0.25));
}

// The step's matrix products: forward x·Wᵀ and weight gradients gᵀ·h for
// all three layers, input gradients g·W for the upper two (none for x).
const mlpFlops = (batch: number) =>
  2 * batch * (2 * (784 * 256 + 256 * 256 + 256 * 10) + 256 * 256 + 256 * 10);

export const HESSIAN_SIZES = [64, 128, 256, 512, 1024, 2047, 2048, 4096];
export const GEMM_SIZES = [
  ...Array.from({ length: 21 }, (_, i) => 500 + i),
  1023,
  1024,
  1025,
  2048,
];

export function rows(
  { hessian = HESSIAN_SIZES, gemm = GEMM_SIZES } = {},
): Row[] {
  return [
    {
      key: "R1",
      id: "R1",
      title:
        "MLP 784-256-256-10 tanh, batch 128, softmax CE, grad of all params",
      n: 128,
      flops: mlpFlops(128),
    },
    {
      key: "R2",
      id: "R2",
      title: "per-sample grads vmap(grad) of that loss, batch 64",
      n: 64,
      flops: mlpFlops(64),
    },
    {
      key: "R3",
      id: "R3",
      title:
        "PINN u(x,t) 2-64-64-1 tanh, residual u_t − 0.01·u_xx, 1,024 points, grad wrt params",
      n: 1024,
    },
    {
      key: "R4",
      id: "R4",
      title:
        "1,000-step Euler ODE x += 0.01·tanh(A x), 16 dims, grad of sum(x_T) wrt A",
      n: 16,
    },
    ...hessian.map((n) => ({
      key: `R5/n=${n}`,
      id: "R5",
      title: "hessian of sum(tanh(W x)) wrt x",
      n,
      // The useful work, Wᵀ·diag(s)·W: one n×n×n product (a library that
      // pushes an identity basis through W does twice this).
      flops: 2 * n ** 3,
    })),
    ...gemm.map((n) => ({
      key: `R6/n=${n}`,
      id: "R6",
      title: "GEMM A·B, n×n float32",
      n,
      flops: 2 * n ** 3,
    })),
  ];
}

/** The request a driver sends to a peer (one JSON line on stdin). */
export interface Request {
  row: string;
  id: string;
  n: number;
  variant: "eager" | "jit";
  /** Time budget for the samples, in milliseconds. */
  ms: number;
}

/** A peer's answer (one JSON line on stdout). */
export interface Answer {
  status: "ok" | "error" | "n/a";
  /** Median CPU time per call (process CPU time: robust to descheduling). */
  median_ms?: number;
  /** Median wall time per call. */
  wall_ms?: number;
  first_ms?: number;
  /** Σ outputs and Σ |outputs| over every output array (float64 sums). */
  sum?: number;
  sum_abs?: number;
  error?: string;
  /** The roof request's answer: best f32 multiply-add rate and what won. */
  gflops?: number;
  note?: string;
}
