/**
 * jacobi: composable function transforms (`grad`, `vjp`, `jvp`, `vmap`,
 * `jacrev`, `jacfwd`, `hessian`, `hvp`) for TypeScript, on tensors whose
 * kernels are Rust compiled to WebAssembly.
 *
 * @example
 * ```ts
 * import { grad, hessian, jacrev, linear, manualSeed, randn, vmap } from "./mod.ts";
 * manualSeed(0);
 * const [W, b, x] = [randn([16, 16]), randn([16]), randn([16])];
 * const predict = (W, b, x) => linear(x, W, b).tanh();
 * const J = jacrev(predict, { argnums: 2 })(W, b, x);   // [16, 16]
 * const H = hessian(predict, { argnums: 2 })(W, b, x);  // [16, 16, 16]
 * const Jb = vmap(jacrev(predict, { argnums: 2 }), { inDims: [null, null, 0] })(W, b, randn([8, 16]));
 * ```
 * @module
 */
import "./src/methods.ts";
export { Tensor } from "./src/core/tensor.ts";
export type { NestedNumbers } from "./src/core/tensor.ts";
export type { DType } from "./src/backend/dtype.ts";
export {
  arange,
  eye,
  full,
  fullLike,
  linspace,
  manualSeed,
  ones,
  onesLike,
  rand,
  randLike,
  randn,
  randnLike,
  tensor,
  zeros,
  zerosLike,
} from "./src/ops/creation.ts";
export type { DTypeOptions, NestedArray } from "./src/ops/creation.ts";
export type { Shape } from "./src/core/shape.ts";
export type { TensorLike } from "./src/ops/scalar.ts";
export {
  abs,
  add,
  cos,
  detach,
  div,
  eq,
  exp,
  ge,
  gt,
  le,
  log,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  reciprocal,
  relu,
  sigmoid,
  sign,
  sin,
  sqrt,
  square,
  sub,
  tan,
  tanh,
  where,
} from "./src/ops/elementwise.ts";
export { argmax, argmin, max, mean, min, prod, sum } from "./src/ops/reduce.ts";
export type { Dims } from "./src/ops/reduce.ts";
export {
  cat,
  expand,
  flatten,
  movedim,
  narrow,
  permute,
  reshape,
  select,
  slice,
  squeeze,
  stack,
  transpose,
  unsqueeze,
} from "./src/ops/layout.ts";
export { dot, linear, matmul, outer } from "./src/ops/linalg.ts";
export { allclose, isclose } from "./src/ops/compare.ts";
export type { CloseOptions } from "./src/ops/compare.ts";
export { grad, valueAndGrad } from "./src/transforms/grad.ts";
export type { GradOf, GradOptions } from "./src/transforms/grad.ts";
export type { AnyArgs, Argnums, Fn } from "./src/transforms/args.ts";
export { jvp, linearize, vjp, vjpWithAux } from "./src/transforms/vjp.ts";
export { vmap } from "./src/transforms/vmap.ts";
export type { InDim, VmapOptions } from "./src/transforms/vmap.ts";
export { jacfwd, jacrev } from "./src/transforms/jacobian.ts";
export type { JacobianOptions } from "./src/transforms/jacobian.ts";
export { hessian, hvp, vhp } from "./src/transforms/hessian.ts";
export type { Tree } from "./src/core/tree.ts";
/**
 * The PyTorch-style eager tape: `autograd.grad`, `autograd.backward`,
 * `autograd.jacobian`, `autograd.hessian` and `autograd.functional.*`.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad();
 * const y = x.pow(3).sum();
 * const [g] = autograd.grad([y], [x], undefined, { createGraph: true }); // 3x²
 * const H = autograd.hessian(y, [x]);
 * ```
 */
export * as autograd from "./src/autograd/mod.ts";
export { noGrad } from "./src/autograd/tracked.ts";
export type { BackwardOptions } from "./src/core/tensor.ts";
export { memoryStats } from "./src/backend/storage.ts";
export { jit } from "./src/jit/jit.ts";
export { makeProgram } from "./src/jit/make_program.ts";
export type { Atom, Aval, Eqn, Program } from "./src/core/ir.ts";
export type { Prim, PrimParams } from "./src/core/primitives.ts";
export type { JitOptions } from "./src/jit/jit.ts";
