// A small physics-informed network for the optimizer tests: u(x, t) a
// 2-16-16-1 tanh network, the loss the mean square of the residual
// u_t − 0.01·u_xx over 32 points, u_xx by reverse mode over reverse mode
// (so du is traced twice: once for u_t, once inside the second grad).
import { grad, linear, type Tensor, vmap } from "../mod.ts";
import { randnT, type Rng } from "./_helpers.ts";

/** Parameters, points and the residual loss of a small PINN, from `rng`. */
export function smallPinn(rng: Rng): {
  p: Tensor[];
  pts: Tensor;
  loss: (p: Tensor[], pts: Tensor) => Tensor;
} {
  const p = [
    randnT(rng, [16, 2]),
    randnT(rng, [16]).mul(0.1),
    randnT(rng, [16, 16]).mul(0.25),
    randnT(rng, [16]).mul(0.1),
    randnT(rng, [1, 16]).mul(0.25),
    randnT(rng, [1]).mul(0.1),
  ];
  const u = (p: Tensor[], xt: Tensor) => {
    const h1 = linear(xt, p[0], p[1]).tanh();
    const h2 = linear(h1, p[2], p[3]).tanh();
    return linear(h2, p[4], p[5]).sum();
  };
  const loss = (p: Tensor[], pts: Tensor) => {
    const du = grad(u, { argnums: 1 });
    const residual = (xt: Tensor) => {
      const g = du(p, xt);
      const uxx = grad((z: Tensor) => du(p, z).select(0, 0))(xt).select(0, 0);
      return g.select(0, 1).sub(uxx.mul(0.01));
    };
    return vmap(residual)(pts).square().mean();
  };
  return { p, pts: randnT(rng, [32, 2]), loss };
}
