/**
 * Conventions of the elementwise primitives that the case table's smooth
 * inputs do not reach: signs of fmod and remainder, rounding ties, atan2's
 * quadrants, isnan/isfinite/nanToNum on non-finite values and their
 * gradients, and values at the domain edges.
 * @module
 */
import {
  acosh,
  asin,
  atan2,
  atanh,
  ceil,
  expm1,
  floor,
  fmod,
  grad,
  isfinite,
  isnan,
  maximum,
  minimum,
  nanToNum,
  remainder,
  round,
  type Tensor,
  tensor,
  trunc,
} from "../mod.ts";
import { assertClose, assertThrowsWith } from "./_helpers.ts";

const f64 = (xs: number[]) => tensor(xs, { dtype: "float64" });
const same = (t: Tensor, want: number[], msg: string) => {
  const got = t.toArray() as number[];
  got.forEach((v, i) => {
    if (!Object.is(v, want[i])) {
      throw new Error(`${msg}[${i}]: ${v}, expected ${want[i]}`);
    }
  });
};

Deno.test("fmod keeps the dividend's sign, remainder the divisor's (exact, as C and Python)", () => {
  const a = f64([5, -5, 5, -5, 5.5, -0, 6, 1e17]);
  const b = f64([3, 3, -3, -3, 2, 3, -3, 3]);
  same(fmod(a, b), [2, -2, 2, -2, 1.5, -0, 0, 1e17 % 3], "fmod");
  same(remainder(a, b), [2, 1, -1, -2, 1.5, 0, -0, 1e17 % 3], "remainder");
  same(tensor([7.5, -7.5]).fmod(2), [1.5, -1.5], "fmod float32");
  same(tensor([7.5, -7.5]).remainder(2), [1.5, 0.5], "remainder float32");
  const r = fmod(f64([1, Infinity, 1]), f64([0, 2, Infinity])).toArray();
  same(f64([(r as number[])[2]]), [1], "fmod(1, inf)");
  if (!Number.isNaN((r as number[])[0]) || !Number.isNaN((r as number[])[1])) {
    throw new Error(`fmod by 0 and of inf are NaN: ${r}`);
  }
  // d/db fmod(a, b) = -trunc(a / b); d/db remainder = -floor(a / b).
  const [, gf] = grad((a: Tensor, b: Tensor) => fmod(a, b).sum(), {
    argnums: [0, 1],
  })(f64([-7]), f64([2]));
  const [, gr] = grad((a: Tensor, b: Tensor) => remainder(a, b).sum(), {
    argnums: [0, 1],
  })(f64([-7]), f64([2]));
  assertClose(gf, [3]);
  assertClose(gr, [4]);
});

Deno.test("round is half to even; floor, ceil, trunc; their gradient is zero", () => {
  same(round(f64([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999999999999996])), [
    0,
    2,
    2,
    -0,
    -2,
    -2,
    2,
  ], "round");
  same(round(tensor([0.5, 1.5, 2.5])), [0, 2, 2], "round float32");
  same(floor(f64([-1.5, -0, 2])), [-2, -0, 2], "floor");
  same(ceil(f64([-1.5, 0.2, 2])), [-1, 1, 2], "ceil");
  same(trunc(f64([-1.7, 1.7, -0.2])), [-1, 1, -0], "trunc");
  for (const f of [round, floor, ceil, trunc]) {
    assertClose(grad((x: Tensor) => f(x).sum())(f64([0.5, 1, 1.3])), [0, 0, 0]);
  }
});

Deno.test("atan2 quadrants and signed zeros, as Math.atan2; gradient", () => {
  const ys = [1, 1, -1, -1, 0, -0, 0, -0, 0];
  const xs = [1, -1, -1, 1, -1, -1, 1, 1, 0];
  same(
    atan2(f64(ys), f64(xs)),
    ys.map((y, i) => Math.atan2(y, xs[i])),
    "atan2",
  );
  const [ga, gb] = grad((a: Tensor, b: Tensor) => atan2(a, b).sum(), {
    argnums: [0, 1],
  })(f64([3]), f64([4]));
  assertClose(ga, [4 / 25], { rtol: 1e-15 });
  assertClose(gb, [-3 / 25], { rtol: 1e-15 });
});

Deno.test("isnan, isfinite and nanToNum on NaN and ±inf; gradients", () => {
  const x = f64([1, NaN, Infinity, -Infinity, -0]);
  same(isnan(x), [0, 1, 0, 0, 0], "isnan");
  same(isfinite(x), [1, 0, 0, 0, 1], "isfinite");
  same(x.isnan().to("float32").isnan(), [0, 0, 0, 0, 0], "isnan of 1/0");
  if (isnan(tensor([NaN])).dtype !== "bool") throw new Error("dtype");
  same(
    nanToNum(x),
    [1, 0, Number.MAX_VALUE, -Number.MAX_VALUE, -0],
    "defaults",
  );
  same(
    nanToNum(tensor([NaN, Infinity, -Infinity])),
    [0, 3.4028234663852886e38, -3.4028234663852886e38],
    "float32 defaults",
  );
  same(
    x.nanToNum({ nan: -1, posinf: 9, neginf: -9 }),
    [1, -1, 9, -9, -0],
    "opts",
  );
  const g = grad((t: Tensor) => nanToNum(t).sum())(x);
  same(g, [1, 0, 0, 0, 1], "gradient");
  assertThrowsWith(
    () => nanToNum(x, { nan: "0" as unknown as number }),
    TypeError,
    "nanToNum",
    "nan",
  );
  // int32 and bool are never NaN and always finite.
  const i = tensor([1, -2], { dtype: "int32" });
  same(isnan(i), [0, 0], "isnan of int32");
  same(isfinite(i.gt(0)), [1, 1], "isfinite of bool");
});

Deno.test("maximum and minimum: the winner takes the gradient, ties share it, NaN gives it to neither (as JAX)", () => {
  const a = f64([3, 1, 2, NaN, 1, NaN]);
  const b = f64([1, 3, 2, 1, NaN, NaN]);
  for (
    const [op, name] of [[maximum, "maximum"], [minimum, "minimum"]] as const
  ) {
    const [ga, gb] = grad((x: Tensor, y: Tensor) => op(x, y).sum(), {
      argnums: [0, 1],
    })(a, b) as Tensor[];
    const aWins = name === "maximum" ? [1, 0] : [0, 1];
    same(ga, [aWins[0], aWins[1], 0.5, 0, 0, 0], `${name} d/da`);
    same(gb, [aWins[1], aWins[0], 0.5, 0, 0, 0], `${name} d/db`);
  }
});

Deno.test("inverse functions at the edges of their domains; expm1 near 0", () => {
  same(asin(f64([1, -1])), [Math.PI / 2, -Math.PI / 2], "asin");
  same(atanh(f64([1, -1])), [Infinity, -Infinity], "atanh");
  same(acosh(f64([1])), [0], "acosh");
  if (!Number.isNaN(asin(f64([1.5])).item())) throw new Error("asin(1.5)");
  // As JAX: the derivative at the edge is infinite.
  same(grad((x: Tensor) => asin(x).sum())(f64([1])), [Infinity], "asin'");
  assertClose(expm1(f64([1e-10, -1e-300])), [1.00000000005e-10, -1e-300], {
    rtol: 1e-15,
    atol: 0,
  });
  assertClose(tensor([1e-6]).expm1(), [1.0000005e-6], { rtol: 1e-7, atol: 0 });
});

Deno.test("float32 tanh and exp: clamps, special values and a sweep, vector and tail lanes", () => {
  // The vector kernels clamp their input (tanh at ±7.905311, exp at −104 and
  // 89) with one-instruction pseudo-min/max: NaN must pass through the
  // clamp, −0 keep its sign, and values beyond the bounds saturate. 19
  // values: four vectors and a tail of three.
  const special = [
    NaN,
    -0,
    0,
    Infinity,
    -Infinity,
    7.905311,
    -7.905311,
    8,
    -8,
    1e-5,
    -1e-5,
    89,
    -104,
    88.5,
    -103.5,
    200,
    -200,
    0.5,
    -3,
  ];
  const x = tensor(special);
  const th = x.tanh().toArray() as number[];
  const ex = x.exp().toArray() as number[];
  special.forEach((v, i) => {
    const f = Math.fround;
    if (Number.isNaN(v)) {
      if (!Number.isNaN(th[i]) || !Number.isNaN(ex[i])) {
        throw new Error(`NaN in, ${th[i]} / ${ex[i]} out`);
      }
      return;
    }
    const wantTanh = f(Math.tanh(v)), wantExp = f(Math.exp(f(v)));
    if (Object.is(v, -0) && !Object.is(th[i], -0)) {
      throw new Error(`tanh(-0) = ${th[i]}`);
    }
    assertClose(th[i], wantTanh, { rtol: 1e-6, atol: 1e-30 }, `tanh(${v})`);
    if (wantExp === 0 || !Number.isFinite(wantExp)) {
      // exp clamps at −104 (a subnormal) and 89 (overflows to +inf).
      if (v <= -104) {
        assertClose(
          ex[i],
          f(Math.exp(-104)),
          { rtol: 1e-6, atol: 0 },
          `exp(${v})`,
        );
      } else if (v >= 89) same(tensor([ex[i]]), [Infinity], `exp(${v})`);
    } else {
      assertClose(ex[i], wantExp, { rtol: 1e-6, atol: 1e-44 }, `exp(${v})`);
    }
  });
  // A sweep through both clamps: tanh to 4e-7 relative, exp to 2e-7.
  const sweep = Array.from({ length: 4003 }, (_, i) => -110 + i * 0.05);
  const s = tensor(sweep);
  const st = s.tanh().toArray() as number[], se = s.exp().toArray() as number[];
  sweep.forEach((v, i) => {
    const fv = Math.fround(v);
    assertClose(
      st[i],
      Math.tanh(fv),
      { rtol: 5e-7, atol: 1e-30 },
      `tanh(${fv})`,
    );
    const e = Math.fround(Math.exp(Math.max(fv, -104)));
    if (e === Infinity) same(tensor([se[i]]), [Infinity], `exp(${fv})`);
    else if (e > 1e-37) {
      assertClose(se[i], e, { rtol: 3e-7, atol: 0 }, `exp(${fv})`);
    }
  });
});
