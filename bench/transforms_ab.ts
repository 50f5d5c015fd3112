/**
 * Eager (un-jitted) transform calls, this checkout against another one (A/B):
 * the seed workloads W1–W7 of `bench/compare/jacobi.ts` at their sizes, plus
 * one 16-element add (the bare dispatch). Both checkouts run in one process,
 * interleaved; each figure is the best of `rounds` samples of CPU time (user +
 * system) per call, which a loaded machine disturbs far less than wall time.
 *
 * A sample is a synchronous loop, as in the comparison harness: only the
 * value the workload returns is disposed, so whatever else a call leaves to
 * the garbage collector (an undisposed primal output, a vjp closure's
 * residuals) stays allocated until the loop ends. Between samples the loop
 * yields to the event loop so finalizers free it, and the next sample reuses
 * that memory.
 *
 *   git worktree add /tmp/before main    (or: git archive main | tar -x -C /tmp/before)
 *   deno run -A bench/transforms_ab.ts /tmp/before [rounds] [filter]
 * @module
 */
import process from "node:process";

const other = Deno.args[0];
if (other === undefined) {
  console.error(
    "usage: deno run -A bench/transforms_ab.ts <other checkout> [rounds] [filter]",
  );
  Deno.exit(2);
}
const rounds = Number(Deno.args[1] ?? 15);
const filter = Deno.args[2] ?? "";
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

type Jacobi = typeof import("../mod.ts");
type T = InstanceType<Jacobi["Tensor"]>;
const checkouts: [string, Jacobi][] = [
  ["other", await import(new URL("mod.ts", `file://${other}/`).href)],
  ["this", await import("../mod.ts")],
];

/** name, one call returning what the harness disposes, calls per sample */
function cases(J: Jacobi): [string, () => T | T[], number][] {
  J.setNumThreads(1);
  J.manualSeed(0);
  const o = { dtype: "float32" } as const;
  const layer = (din: number, dout: number, batch?: number) =>
    [
      J.randn([dout, din], o),
      J.randn([dout], o),
      J.randn(batch === undefined ? [din] : [batch, din], o),
    ] as const;
  const predict = (W: T, b: T, x: T) => J.linear(x, W, b).tanh();
  const wrtX = { argnums: 2 } as const;
  const [W1, b1, x1] = layer(16, 16);
  const I16 = J.eye(16);
  const [W2, b2, x2] = layer(32, 2048);
  const [W3, b3, x3] = layer(2048, 32);
  const [W4, b4, x4] = layer(512, 32);
  const [W5, b5, X5] = layer(31, 33, 64);
  const x6 = J.randn([2048], o), v6 = J.randn([2048], o);
  const f6 = (x: T) => J.sum(J.sin(x));
  const g6 = (x: T) => J.grad(f6)(x) as T;
  const a16 = J.randn([16], o), b16 = J.randn([16], o);
  return [
    ["add [16] + [16]", () => a16.add(b16), 5000],
    ["W1 vjp-loop", () => {
      const [, vjpFn] = J.vjp((x: T) => predict(W1, b1, x), x1);
      return J.stack(
        Array.from({ length: 16 }, (_, i) => vjpFn(I16.select(0, i))[0] as T),
      );
    }, 100],
    ["W1 vmap(vjp)", () => {
      const [, vjpFn] = J.vjp((x: T) => predict(W1, b1, x), x1);
      return J.vmap(vjpFn)(I16)[0] as T;
    }, 300],
    ["W1 jacrev", () => J.jacrev(predict, wrtX)(W1, b1, x1) as T, 300],
    ["W1 jacfwd", () => J.jacfwd(predict, wrtX)(W1, b1, x1) as T, 300],
    ["W2 jacrev", () => J.jacrev(predict, wrtX)(W2, b2, x2) as T, 30],
    ["W2 jacfwd", () => J.jacfwd(predict, wrtX)(W2, b2, x2) as T, 30],
    ["W3 jacrev", () => J.jacrev(predict, wrtX)(W3, b3, x3) as T, 30],
    ["W3 jacfwd", () => J.jacfwd(predict, wrtX)(W3, b3, x3) as T, 30],
    ["W4 hessian", () => J.hessian(predict, wrtX)(W4, b4, x4) as T, 6],
    [
      "W5 vmap(jacrev)",
      () =>
        J.vmap(J.jacrev(predict, wrtX), { inDims: [null, null, 0] })(
          W5,
          b5,
          X5,
        ) as T,
      30,
    ],
    ["W6 jvp(grad)", () => J.jvp(g6, [x6], [v6])[1] as T, 500],
    ["W6 vjp(grad)", () => J.vjp(g6, x6)[1](v6)[0] as T, 500],
    [
      "W7 jacrev(W,b)",
      () => J.jacrev(predict, { argnums: [0, 1] })(W1, b1, x1) as T[],
      300,
    ],
  ];
}

const dispose = (r: T | T[]) =>
  (Array.isArray(r) ? r : [r]).forEach((t) => t.dispose());
const table = checkouts.map(([name, J]) =>
  [name, cases(J).filter(([n]) => n.includes(filter))] as const
);
const best = new Map<string, number>();
const tick = () => new Promise((r) => setTimeout(r, 0));
for (let r = 0; r < rounds; r++) {
  // Alternate which checkout goes first, so neither always follows a GC.
  for (const [who, cs] of r % 2 === 0 ? table : [...table].reverse()) {
    for (const [name, f, n] of cs) {
      await tick();
      const t0 = cpuMs();
      for (let i = 0; i < n; i++) dispose(f());
      const us = (cpuMs() - t0) * 1000 / n;
      const key = `${who}|${name}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, us));
    }
  }
}
const [load] = Deno.loadavg();
console.log(`load ${load.toFixed(2)}, best of ${rounds} rounds, µs per call`);
console.log(
  `${"case".padEnd(20)} ${"other".padStart(10)} ${"this".padStart(10)} ${
    "other/this".padStart(10)
  }`,
);
for (const [name] of table[0][1]) {
  const a = best.get(`other|${name}`)!, b = best.get(`this|${name}`)!;
  console.log(
    `${name.padEnd(20)} ${a.toFixed(2).padStart(10)} ${
      b.toFixed(2).padStart(10)
    } ${(a / b).toFixed(2).padStart(10)}`,
  );
}
