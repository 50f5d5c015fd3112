// Random programs for differential tests: chains and DAGs of elementwise
// ops with broadcasting operands, products (transposed ones too),
// reductions over either axis, reshapes, softmax, cumulative sums and
// concatenation over five inputs of shapes [m,n], [m,n], [p,n], [n], [m,1].
// Each program is a function of the inputs that returns a scalar (`f`:
// the sum of squares of its last values) and its last value (`last`).
import { cat, cumsum, logSoftmax, matmul, type Tensor, where } from "../mod.ts";
import type { Rng } from "./_helpers.ts";

type Shape = readonly number[];

/** A random program over inputs of the shapes `inputs`. */
export interface RandomProgram {
  inputs: Shape[];
  /** The sum of squares of the last values: a scalar. */
  f: (...env: Tensor[]) => Tensor;
  /** The last value. */
  last: (...env: Tensor[]) => Tensor;
  /** The last values' expressions, for failure messages. */
  text: string;
}
/** One value of a random program: its shape and how to compute it. */
interface Val {
  shape: Shape;
  /** Its text, for failure messages. */
  text: string;
  run: (env: Tensor[]) => Tensor;
}

/** Ops whose derivative jumps (finite differences near a kink disagree). */
const KINKS = new Set(["maximum", "where>"]);

const UNARY: [string, (x: Tensor) => Tensor][] = [
  ["tanh", (x) => x.tanh()],
  ["neg", (x) => x.neg()],
  ["square", (x) => x.square()],
  ["sin", (x) => x.sin()],
  ["exp(-x²)", (x) => x.square().neg().exp()],
  ["mul2", (x) => x.mul(2)],
];
const BINARY: [string, (x: Tensor, y: Tensor) => Tensor][] = [
  ["add", (x, y) => x.add(y)],
  ["sub", (x, y) => x.sub(y)],
  ["mul", (x, y) => x.mul(y)],
  ["maximum", (x, y) => x.maximum(y)],
  ["div1+y²", (x, y) => x.div(y.square().add(1))],
  ["where>", (x, y) => where(x.gt(y), x, y.mul(0.5))],
];

/** Shapes that broadcast to `[m, n]`: itself, a row, a column, a vector, a scalar. */
function broadcastsTo(s: Shape, m: number, n: number): boolean {
  if (s.length === 0) return true;
  if (s.length === 1) return s[0] === n || s[0] === 1;
  return (s[0] === m || s[0] === 1) && (s[1] === n || s[1] === 1);
}

/** A random program; `smooth` leaves out the ops with kinks (maximum, where). */
export function randomProgram(
  rng: Rng,
  m: number,
  n: number,
  p: number,
  { smooth = false }: { smooth?: boolean } = {},
): RandomProgram {
  const pick = <T>(xs: readonly T[]): T =>
    xs[Math.floor(rng.uniform(0, xs.length))];
  // Inputs: a batch, a second batch, a weight, a bias row, a column.
  const inputs: Shape[] = [[m, n], [m, n], [p, n], [n], [m, 1]];
  const vals: Val[] = inputs.map((shape, i) => ({
    shape,
    text: `in${i}`,
    run: (env) => env[i],
  }));
  const steps = 4 + Math.floor(rng.uniform(0, 8));
  for (let s = 0; s < steps; s++) {
    const x = pick(vals);
    const kind = rng.uniform(0, 1);
    let v: Val | undefined;
    if (kind < 0.2) {
      const [name, f] = pick(UNARY);
      v = {
        shape: x.shape,
        text: `${name}(${x.text})`,
        run: (e) => f(x.run(e)),
      };
    } else if (kind < 0.5) {
      // A partner that broadcasts with x to x's shape (or x to its).
      const [name, f] = pick(
        smooth ? BINARY.filter(([k]) => !KINKS.has(k)) : BINARY,
      );
      const full = x.shape.length === 2 ? x.shape : undefined;
      // Not x − x: it is identically zero, and its gradient is two equal
      // terms cancelling, which two valid evaluation orders (a loop that
      // computes x twice, a program whose CSE computes it once) round
      // differently: a comparison would test rounding, not the compiler.
      const partners = vals.filter((y) =>
        (name !== "sub" || y !== x) &&
        (full !== undefined
          ? broadcastsTo(y.shape, full[0], full[1])
          : y.shape.length === 2 &&
            broadcastsTo(x.shape, y.shape[0], y.shape[1]))
      );
      if (partners.length === 0) continue;
      const y = pick(partners);
      const shape = full ?? y.shape;
      const [a, b] = rng.uniform(0, 1) < 0.5 ? [x, y] : [y, x];
      v = {
        shape,
        text: `${name}(${a.text}, ${b.text})`,
        run: (e) => f(a.run(e), b.run(e)),
      };
    } else if (kind < 0.7 && x.shape.length === 2) {
      // x · yᵀ over x's last axis, or x · y, or xᵀ · y.
      const [r, c] = x.shape;
      const opts: Val[] = [];
      for (const y of vals) {
        if (y.shape.length !== 2) continue;
        const [yr, yc] = y.shape;
        if (yc === c) {
          opts.push({
            shape: [r, yr],
            text: `(${x.text})·(${y.text})ᵀ`,
            run: (e) => matmul(x.run(e), y.run(e), true),
          });
        }
        if (yr === c) {
          opts.push({
            shape: [r, yc],
            text: `(${x.text})·(${y.text})`,
            run: (e) => matmul(x.run(e), y.run(e)),
          });
        }
        if (yr === r) {
          opts.push({
            shape: [c, yc],
            text: `(${x.text})ᵀ·(${y.text})`,
            run: (e) => matmul(x.run(e).T, y.run(e)),
          });
        }
      }
      if (opts.length === 0) continue;
      v = pick(opts);
    } else if (kind < 0.75) {
      // A scalar: broadcasts against anything later.
      v = { shape: [], text: `sum(${x.text})`, run: (e) => x.run(e).sum() };
    } else if (x.shape.length === 2) {
      const [r, c] = x.shape;
      const which = Math.floor(rng.uniform(0, 10));
      v = which === 0
        ? { shape: [c], text: `sum0(${x.text})`, run: (e) => x.run(e).sum(0) }
        : which === 1
        ? {
          shape: [r, 1],
          text: `sum1k(${x.text})`,
          run: (e) => x.run(e).sum(1, true),
        }
        : which === 2
        ? { shape: [c, r], text: `(${x.text})ᵀ`, run: (e) => x.run(e).T }
        : which === 3
        ? {
          shape: [r * c],
          text: `flat(${x.text})`,
          run: (e) => x.run(e).reshape([r * c]),
        }
        : which === 4
        ? {
          shape: [c, r],
          text: `reshape(${x.text})`,
          run: (e) => x.run(e).reshape([c, r]),
        }
        : which === 5
        ? {
          shape: [c],
          text: `row0(${x.text})`,
          run: (e) => x.run(e).select(0, 0),
        }
        : which === 6
        ? {
          shape: [r, c],
          text: `logSoftmax(${x.text})`,
          run: (e) => logSoftmax(x.run(e), -1),
        }
        : which === 7
        ? {
          shape: [r, c],
          text: `cumsum0(${x.text})`,
          run: (e) => cumsum(x.run(e), 0),
        }
        : which === 8
        ? {
          shape: [2 * r, c],
          text: `cat(${x.text}, -)`,
          run: (e) => cat([x.run(e), x.run(e).neg()], 0),
        }
        : {
          shape: [r, 1],
          text: `mean1k(${x.text})`,
          run: (e) => x.run(e).mean(1, true),
        };
    } else continue;
    vals.push(v);
  }
  // The output: the last values (squared, so products of them matter to
  // the gradient) summed to a scalar, plus the last value itself.
  const tail = vals.slice(-3);
  const text = tail.map((t) => t.text).join(" ; ");
  const f = (...env: Tensor[]) => {
    let total: Tensor | undefined;
    for (const t of tail) {
      const s = t.run(env).square().sum();
      total = total === undefined ? s : total.add(s);
    }
    return total!;
  };
  const last = (...env: Tensor[]) => tail[tail.length - 1].run(env);
  return { inputs, f, last, text };
}

/** Sizes [m, n, p] on both sides of the fusion and small-product thresholds. */
export const SIZES: [number, number, number][] = [
  [1, 5, 4],
  [3, 1, 4],
  [3, 5, 1],
  [16, 16, 4],
  [48, 40, 33],
  [40, 64, 16],
  [64, 32, 32],
  // Large enough for two threads to split elementwise work and products.
  [256, 128, 96],
];
