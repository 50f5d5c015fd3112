/**
 * Eager per-operation cost, this checkout against another one (A/B): tiny
 * operations measure the dispatch around one kernel launch, a [256, 256]
 * matmul shows it next to real work. Both run in one process, interleaved;
 * each figure is the best of `rounds` samples of CPU time (user + system),
 * which a loaded machine disturbs far less than wall time.
 *
 *   git archive <rev> | tar -x -C /tmp/before
 *   deno run -A bench/eager_ab.ts /tmp/before [rounds]
 * @module
 */
import process from "node:process";

const other = Deno.args[0];
if (other === undefined) {
  console.error(
    "usage: deno run -A bench/eager_ab.ts <other checkout> [rounds]",
  );
  Deno.exit(2);
}
const rounds = Number(Deno.args[1] ?? 30);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

type Jacobi = typeof import("../mod.ts");
const checkouts: [string, Jacobi][] = [
  ["other", await import(new URL("mod.ts", `file://${other}/`).href)],
  ["this", await import("../mod.ts")],
];

/** name, operation, calls per sample */
function cases(J: Jacobi): [string, () => { dispose(): void }, number][] {
  const o = { dtype: "float32" } as const;
  const a4 = J.randn([4], o), b4 = J.randn([4], o);
  const m34 = J.randn([3, 4], o), r4 = J.randn([4], o);
  const m16 = J.randn([16, 16], o), v16 = J.randn([16], o);
  const w16 = J.randn([16], o), c16 = v16.gt(0);
  const a256 = J.randn([256, 256], o), b256 = J.randn([256, 256], o);
  return [
    ["sin [4]", () => a4.sin(), 5000],
    ["add [4] + [4]", () => a4.add(b4), 5000],
    ["add [3, 4] + [4]", () => m34.add(r4), 5000],
    ["sum [4]", () => a4.sum(), 5000],
    ["sum(1) [3, 4]", () => m34.sum(1), 5000],
    ["permute [3, 4]", () => m34.permute([1, 0]), 5000],
    ["slice [3, 4]", () => m34.slice(1, 1, 3), 5000],
    ["cat 2 x [3, 4]", () => J.cat([m34, m34], 1), 5000],
    ["where [16]", () => J.where(c16, v16, w16), 5000],
    ["to(float64) [16]", () => v16.to("float64"), 5000],
    ["matmul [16, 16] @ [16]", () => J.matmul(m16, v16), 5000],
    ["matmul [256, 256]²", () => J.matmul(a256, b256), 20],
  ];
}

const table = checkouts.map(([name, J]) => [name, cases(J)] as const);
const best = new Map<string, number>();
for (let r = 0; r < rounds; r++) {
  for (const [who, cs] of table) {
    for (const [name, f, n] of cs) {
      const t0 = cpuMs();
      for (let i = 0; i < n; i++) f().dispose();
      const us = (cpuMs() - t0) * 1000 / n;
      const key = `${who}|${name}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, us));
    }
  }
}
console.log(
  `${"operation".padEnd(24)} ${"other µs".padStart(10)} ${
    "this µs".padStart(10)
  }`,
);
for (const [name] of table[0][1]) {
  const a = best.get(`other|${name}`)!, b = best.get(`this|${name}`)!;
  console.log(
    `${name.padEnd(24)} ${a.toFixed(3).padStart(10)} ${
      b.toFixed(3).padStart(10)
    }`,
  );
}
