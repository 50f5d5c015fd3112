/**
 * Derivatives at the points where a naive rule divides by zero: prod with
 * zero entries (exact, to every order, as JAX) and pow with exponent 0 at
 * base 0 (0, as JAX and PyTorch). Expected values are closed forms built in
 * plain JavaScript: products of the other entries, never y/x.
 * @module
 */
import {
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";
import { assertClose } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;

/** Π of xs over the indices not in `skip`. */
function prodExcept(xs: readonly number[], ...skip: number[]): number {
  return xs.reduce((p, v, i) => (skip.includes(i) ? p : p * v), 1);
}

/** The k-th derivative tensor of Π xs at xs, as nested arrays (k ≤ 3). */
function prodDerivative(xs: readonly number[], k: number): unknown {
  const n = xs.length;
  const at = (idx: number[]): unknown =>
    idx.length === k
      ? new Set(idx).size === k ? prodExcept(xs, ...idx) : 0
      : Array.from({ length: n }, (_, i) => at([...idx, i]));
  return at([]);
}

const prod = (x: Tensor) => x.prod();

const points = [
  [0, 2, 3], // one zero: [6, 0, 0] (y/x gives NaN)
  [0, 0, 3], // two zeros: the gradient is 0, the Hessian is not
  [0, 0, 0, 5, -2], // odd length, several zeros
  [1.5, -2, 0.5, 3, 2, -1, 0.25], // no zero, odd length 7
  [4], // one element
];

Deno.test("grad(prod) is exact at zeros: [0, 2, 3] gives [6, 0, 0]", () => {
  assertClose(grad(prod)(tensor([0, 2, 3], f64)), [6, 0, 0]);
  for (const xs of points) {
    const x = tensor(xs, f64);
    const expected = tensor(prodDerivative(xs, 1) as number[], f64);
    assertClose(grad(prod)(x), expected, {}, `grad at [${xs}]`);
    assertClose(jacfwd(prod)(x), expected, {}, `jacfwd at [${xs}]`);
    const [, t] = jvp(prod, [x], [tensor(xs.map(() => 1), f64)]);
    assertClose(t as Tensor, expected.sum(), {}, `jvp at [${xs}]`);
  }
});

Deno.test("second and third derivatives of prod are exact at zeros, forward and reverse", () => {
  for (const xs of points) {
    const x = tensor(xs, f64);
    const H = tensor(prodDerivative(xs, 2) as number[][], f64);
    assertClose(hessian(prod)(x), H, {}, `hessian at [${xs}]`);
    assertClose(jacrev(jacrev(prod))(x), H, {}, `jacrev∘jacrev at [${xs}]`);
    assertClose(jacfwd(jacfwd(prod))(x), H, {}, `jacfwd∘jacfwd at [${xs}]`);
    const T = tensor(prodDerivative(xs, 3) as number[][][], f64);
    assertClose(jacfwd(hessian(prod))(x), T, {}, `third order at [${xs}]`);
  }
});

Deno.test("prod's gradient over some dims, batched and jitted, matches the product of the others", () => {
  // x: [3, 4, 5] with zeros; reduce dims 0 and 2, weight the 4 results.
  const shape = [3, 4, 5];
  const xs = Array.from(
    { length: 60 },
    (_, i) => (i % 7 === 0 ? 0 : 0.5 + ((i * 37) % 11) / 10),
  );
  const w = [1, -2, 0.5, 3];
  const f = (x: Tensor) => x.prod([0, 2]).mul(tensor(w, f64)).sum();
  const expected = xs.map((_, flat) => {
    const j = Math.floor(flat / 5) % 4;
    const group: number[] = [];
    let self = -1;
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 5; k++) {
        const idx = i * 20 + j * 5 + k;
        if (idx === flat) self = group.length;
        group.push(xs[idx]);
      }
    }
    return w[j] * prodExcept(group, self);
  });
  const x = tensor(xs, f64).reshape(shape);
  assertClose(grad(f)(x), tensor(expected, f64).reshape(shape));
  assertClose(jit(grad(f))(x), tensor(expected, f64).reshape(shape));
  // vmap over a batch of vectors, each with a zero somewhere.
  const rows = [[0, 2, 3, 4], [1, 0, 0, 2], [2, 3, 0.5, -1]];
  const g = vmap(grad(prod))(tensor(rows, f64));
  assertClose(
    g,
    tensor(rows.map((r) => prodDerivative(r, 1) as number[]), f64),
  );
  // keepdim and an empty reduction (prod of nothing is 1: gradient 0).
  assertClose(
    grad((x: Tensor) => x.prod(1, true).sum())(tensor([[0, 5], [2, 3]], f64)),
    tensor([[5, 0], [3, 2]], f64),
  );
  const empty = grad((x: Tensor) => x.prod(1).sum())(
    tensor([[], []] as number[][], f64),
  );
  assertClose(empty, tensor([[], []] as number[][], f64));
});

Deno.test("prod's gradient is exact at zeros in float32 too", () => {
  assertClose(grad(prod)(tensor([0, 2, 3])), tensor([6, 0, 0]));
  assertClose(hessian(prod)(tensor([0, 0, 3])), [0, 3, 0, 3, 0, 0, 0, 0, 0]);
});

// pow: a^b elementwise, differentiated in both operands.
const powSum = (a: Tensor, b: Tensor) => a.pow(b).sum();

Deno.test("pow' with exponent 0 at base 0 is 0, first and second order", () => {
  const zero = tensor([0, 0], f64);
  // d/da a^0 at a = 0 (NaN before: 0·0^-1), in every mode.
  assertClose(grad((a: Tensor) => a.pow(0).sum())(zero), [0, 0]);
  assertClose(grad((a: Tensor) => powSum(a, zero))(zero), [0, 0]);
  assertClose(
    jvp((a: Tensor) => a.pow(0), [zero], [tensor([1, 1], f64)])[1] as Tensor,
    [0, 0],
  );
  assertClose(hessian((a: Tensor) => powSum(a, zero))(zero), [0, 0, 0, 0]);
  assertClose(jacrev(jacrev((a: Tensor) => a.pow(0).sum()))(zero), [
    0,
    0,
    0,
    0,
  ]);
  // d/db a^b at a = 0, b = 0, and its second derivative.
  assertClose(grad((b: Tensor) => powSum(zero, b))(zero), [0, 0]);
  assertClose(hessian((b: Tensor) => powSum(zero, b))(zero), [0, 0, 0, 0]);
});

Deno.test("pow's derivatives in both operands match the closed forms around the special points", () => {
  // (a, b): 0^0, a^0 with a ≠ 0, 0^2, 0^3, and an ordinary point.
  const as = [0, 2, 0, 0, 0.5], bs = [0, 0, 2, 3, 3];
  const ln = Math.log;
  const da = as.map((a, i) => (bs[i] === 0 ? 0 : bs[i] * a ** (bs[i] - 1)));
  const db = as.map((a, i) => (a === 0 ? 0 : a ** bs[i] * ln(a)));
  const haa = as.map((a, i) => {
    const b = bs[i];
    return b === 0 || b === 1 ? 0 : b * (b - 1) * a ** (b - 2);
  });
  const hab = as.map((a, i) =>
    a === 0 ? 0 : a ** (bs[i] - 1) * (1 + bs[i] * ln(a))
  );
  const hbb = as.map((a, i) => (a === 0 ? 0 : a ** bs[i] * ln(a) ** 2));
  const a = tensor(as, f64), b = tensor(bs, f64);
  const [ga, gb] = grad(powSum, { argnums: [0, 1] })(a, b);
  assertClose(ga, da);
  assertClose(gb, db);
  const diag = (h: Tensor) => h.mul(tensor(as.map(() => 1), f64)).sum(1);
  const check = (H: Tensor[][], how: string) => {
    assertClose(diag(H[0][0]), haa, {}, `${how} aa`);
    assertClose(diag(H[0][1]), hab, {}, `${how} ab`);
    assertClose(diag(H[1][0]), hab, {}, `${how} ba`);
    assertClose(diag(H[1][1]), hbb, {}, `${how} bb`);
  };
  const both = { argnums: [0, 1] };
  check(hessian(powSum, both)(a, b), "hessian");
  check(jacrev(jacrev(powSum, both), both)(a, b), "jacrev∘jacrev");
  check(jacfwd(jacfwd(powSum, both), both)(a, b), "jacfwd∘jacfwd");
});
