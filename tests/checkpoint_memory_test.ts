/**
 * What checkpointing saves, in bytes: the peak of live tensor buffers
 * (`memoryStats().peakLiveBytes`) during `grad` of a 1,000-layer chain, with
 * and without √N checkpointing. Deterministic: no buffer is freed by the
 * garbage collector inside one synchronous call.
 * @module
 */
import assert from "node:assert/strict";
import {
  checkpoint,
  grad,
  jit,
  makeProgram,
  memoryStats,
  resetPeakMemory,
  type Tensor,
  vjp,
} from "../mod.ts";
import { assertClose, randnT, Rng } from "./_helpers.ts";
import { optimize } from "../src/jit/execute.ts";

const N = 1000, n = 256;
const VECTOR = n * 8; // bytes of one float64 activation
const layer = (x: Tensor) => x.add(x.sin().mul(0.01));
const chain = (x: Tensor) => {
  for (let i = 0; i < N; i++) x = layer(x);
  return x.sum();
};
const SEG = Math.ceil(Math.sqrt(N)); // 32 layers per segment, 32 segments
const segment = checkpoint((x: Tensor, len: number) => {
  for (let i = 0; i < len; i++) x = layer(x);
  return x;
});
const chainCk = (x: Tensor) => {
  for (let s = 0; s < N; s += SEG) x = segment(x, Math.min(SEG, N - s));
  return x.sum();
};

/** Peak bytes above what was live before, and the result. */
function peakOf(body: () => Tensor): [number, Tensor] {
  resetPeakMemory();
  const before = memoryStats().liveBytes;
  const out = body();
  return [memoryStats().peakLiveBytes - before, out];
}

Deno.test("checkpoint: grad of a 1,000-layer chain with √N checkpointing peaks at a small fraction of the plain one's live bytes", () => {
  const x = randnT(new Rng(4), [n]);
  const [plain, g] = peakOf(() => grad(chain)(x));
  const [ck, gCk] = peakOf(() => grad(chainCk)(x));
  assertClose(gCk, g, { rtol: 1e-12, atol: 1e-14 });
  // Measured: plain 14,338,072 bytes (7,001 activations: everything the
  // forward pass computed is live until the backward pass ends),
  // checkpointed 589,832 bytes (288 activations: 32 segment inputs, one
  // recomputed segment and the cotangents), 24.3 times less (√N ≈ 31.6).
  console.log(
    `peak live bytes, grad of ${N} layers: plain ${plain} (${
      (plain / VECTOR).toFixed(0)
    } activations), √N checkpoints ${ck} (${(ck / VECTOR).toFixed(0)}), ${
      (plain / ck).toFixed(1)
    }x less`,
  );
  assert.ok(plain >= 4 * N * VECTOR, `plain peak ${plain}`);
  assert.ok(ck <= 10 * SEG * VECTOR, `checkpointed peak ${ck}`);
  assert.ok(plain / ck >= 15, `reduction ${plain / ck}`);
  // A second call measures the same (nothing depends on earlier calls).
  assert.equal(peakOf(() => grad(chainCk)(x))[0], ck);
});

Deno.test("checkpoint: a vjp closure holds only the segment inputs until it is called", () => {
  const x = randnT(new Rng(5), [n]);
  const one = x.sum().mul(0).add(1);
  const before = memoryStats().liveBytes;
  const [, backPlain] = vjp(chain, x);
  const heldPlain = memoryStats().liveBytes - before;
  const mid = memoryStats().liveBytes;
  const [, backCk] = vjp(chainCk, x);
  const heldCk = memoryStats().liveBytes - mid;
  assertClose(backCk(one)[0], backPlain(one)[0], { rtol: 1e-12, atol: 1e-14 });
  // The plain closure holds every layer's residuals, the checkpointed one
  // the 32 segment inputs (and the output).
  assert.ok(heldPlain >= N * VECTOR, `plain holds ${heldPlain}`);
  assert.ok(heldCk <= 2 * SEG * VECTOR, `checkpointed holds ${heldCk}`);
});

/** Peak bytes of a jit Executable's memory plan: each intermediate freed after its last use. */
function plannedPeak(f: (x: Tensor) => Tensor, x: Tensor): number {
  const { program, frees } = optimize(makeProgram(grad(f))(x));
  const bytes = (v: number) => {
    const a = program.avals.get(v)!;
    return a.shape.reduce((p, d) => p * d, 1) * 8;
  };
  let live = 0, peak = 0;
  program.eqns.forEach((e, i) => {
    live += bytes(e.out);
    peak = Math.max(peak, live);
    for (const v of frees[i]) live -= bytes(v);
  });
  return peak;
}

Deno.test("checkpoint under jit: the compiled gradient's memory plan keeps the recomputation (no CSE with the forward pass)", () => {
  const x = randnT(new Rng(6), [n]);
  const plain = plannedPeak(chain, x), ck = plannedPeak(chainCk, x);
  // Measured: plain 2,052,096 bytes (1,002 activations: the residuals),
  // checkpointed 131,072 bytes (64), 15.7 times less. Without the
  // stopGradient barrier the optimiser merged the recomputation with the
  // forward pass and the plan peaked at 2,050,048 bytes.
  console.log(
    `planned peak bytes, jit(grad) of ${N} layers: plain ${plain}, √N checkpoints ${ck}, ${
      (plain / ck).toFixed(1)
    }x less`,
  );
  assert.ok(plain / ck >= 10, `reduction ${plain / ck}`);
  const jg = jit(grad(chainCk));
  for (let call = 0; call < 2; call++) {
    assertClose(jg(x), grad(chain)(x), { rtol: 1e-12, atol: 1e-14 });
  }
});
