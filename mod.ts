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
  getDefaultDtype,
  promoteTypes,
  setDefaultDtype,
} from "./src/core/dtypes.ts";
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
  acos,
  acosh,
  add,
  asin,
  asinh,
  atan,
  atan2,
  atanh,
  ceil,
  cos,
  cosh,
  detach,
  digamma,
  div,
  eq,
  erf,
  erfc,
  erfinv,
  exp,
  exp2,
  expm1,
  floor,
  floorDivide,
  fmod,
  ge,
  gt,
  isfinite,
  isnan,
  le,
  lgamma,
  log,
  log10,
  log1p,
  log2,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  polygamma,
  pow,
  reciprocal,
  relu,
  remainder,
  round,
  sigmoid,
  sign,
  sin,
  sinh,
  sqrt,
  square,
  sub,
  tan,
  tanh,
  trunc,
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
export {
  jvp,
  linearize,
  linearizeWithAux,
  vjp,
  vjpWithAux,
} from "./src/transforms/vjp.ts";
export { linearTranspose } from "./src/transforms/linear_transpose.ts";
export { vmap } from "./src/transforms/vmap.ts";
export type { InDim, VmapOptions } from "./src/transforms/vmap.ts";
export { jacfwd, jacrev } from "./src/transforms/jacobian.ts";
export type {
  ArgsAt,
  AuxOf,
  JacobianOf,
  JacobianOptions,
  MapTensors,
  OutputOf,
} from "./src/transforms/jacobian.ts";
export { hessian, hvp, vhp } from "./src/transforms/hessian.ts";
export type { HessianOf, ProductOf } from "./src/transforms/hessian.ts";
export {
  cond,
  forLoop,
  scan,
  switchCase,
  whileLoop,
} from "./src/transforms/control_flow.ts";
export type { ScanOptions } from "./src/transforms/control_flow.ts";
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
export { memoryStats, resetPeakMemory } from "./src/backend/storage.ts";
export { getNumThreads, setNumThreads } from "./src/backend/threads.ts";
export { jit } from "./src/jit/jit.ts";
export { evalShape, makeProgram } from "./src/jit/make_program.ts";
export type {
  MakeProgramOptions,
  ShapeArgs,
  ShapeDtype,
} from "./src/jit/make_program.ts";
export type { Atom, Aval, Eqn, Program } from "./src/core/ir.ts";
export type { ConvParams, Prim, PrimParams } from "./src/core/primitives.ts";
export type { CustomOp } from "./src/core/custom_op.ts";
export type { JitOptions } from "./src/jit/jit.ts";
export type { TensorJSON } from "./src/core/to_json.ts";
export { load, readHeader, save } from "./src/io/safetensors.ts";
export type {
  SafetensorsHeader,
  SaveOptions,
  TensorInfo,
  TensorTree,
} from "./src/io/safetensors.ts";
export { loadFile, saveFile } from "./src/io/file.ts";
export type { FilePath } from "./src/io/file.ts";

// Compositions of the primitives: activations, losses, reductions, layout.
export {
  elu,
  gelu,
  leakyRelu,
  logSoftmax,
  silu,
  softmax,
  softplus,
} from "./src/ops/activation.ts";
export type { GeluOptions, SoftplusOptions } from "./src/ops/activation.ts";
export {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  mseLoss,
  oneHot,
} from "./src/ops/loss.ts";
export type {
  BceOptions,
  CrossEntropyOptions,
  LossOptions,
  OneHotOptions,
  Reduction,
} from "./src/ops/loss.ts";
export { logsumexp, norm, std, variance } from "./src/ops/stats.ts";
export type { KeepdimOption, NormOrder, VarOptions } from "./src/ops/stats.ts";
export { clamp, hypot, logaddexp, nanToNum } from "./src/ops/math.ts";
export type { NanToNumOptions } from "./src/ops/math.ts";
export {
  chunk,
  diag,
  diagonal,
  flip,
  gather,
  pad,
  repeatInterleave,
  roll,
  split,
  takeAlongDim,
  tile,
  trace,
  tril,
  triu,
} from "./src/ops/indexing.ts";
export type { PadMode, PadOptions } from "./src/ops/indexing.ts";
/**
 * Pytree utilities with the transforms' rules: `tree.map`, `tree.leaves`,
 * `tree.flatten`, `tree.unflatten`, `tree.structure`.
 *
 * @example
 * ```ts
 * import { tensor, tree } from "./mod.ts";
 * const params = { w: tensor([1, 2]), b: tensor(0) };
 * const halved = tree.map((x) => x.mul(0.5), params);
 * ```
 */
export * as tree from "./src/tree/mod.ts";
/**
 * Linear algebra as `torch.linalg`, batched and differentiable to every
 * order: `linalg.cholesky`, `linalg.solveTriangular`, `linalg.choleskySolve`,
 * `linalg.solve`, `linalg.inv`, `linalg.det`, `linalg.slogdet`, `linalg.eigh`,
 * `linalg.eigvalsh`, `linalg.qr`, `linalg.lu`, `linalg.luFactor`, `linalg.luSolve`,
 * `linalg.svd`, `linalg.svdvals`, `linalg.pinv`, `linalg.lstsq`, `linalg.matrixNorm`,
 * `linalg.vectorNorm`, `linalg.matrixPower`, `linalg.matrixExp`, `linalg.cross`,
 * `linalg.multiDot`.
 *
 * @example
 * ```ts
 * import { grad, linalg, tensor } from "./mod.ts";
 * const A = tensor([[4, 1], [1, 3]], { dtype: "float64" });
 * const x = linalg.solve(A, tensor([1, 2], { dtype: "float64" }));
 * const dlogdet = grad((a) => linalg.slogdet(a).logabsdet)(A); // A⁻ᵀ
 * ```
 */
export * as linalg from "./src/linalg/mod.ts";
/**
 * Random numbers from explicit keys, as `jax.random`: `random.key`,
 * `random.split`, `random.foldIn`, `random.uniform`, `random.normal`,
 * `random.randint`, `random.bernoulli`, `random.categorical`,
 * `random.permutation`, `random.truncatedNormal`. Keys may be traced: a
 * key passed to `jit` or a batch of keys under `vmap` draws exactly what
 * it draws eagerly.
 *
 * @example
 * ```ts
 * import { jit, random, type Tensor, vmap } from "./mod.ts";
 * const [k1, k2] = random.split(random.key(0));
 * const x = random.normal(k1, [3, 2]);
 * const rows = vmap((k: Tensor) => random.normal(k, [3]))(random.split(k2, 8)); // [8, 3]
 * const noise = jit((k: Tensor) => random.uniform(k, [4]))(k2); // = random.uniform(k2, [4])
 * ```
 */
export * as random from "./src/random/mod.ts";
/**
 * Neural-network helpers: `nn.init` initialisers taking a random key.
 *
 * @example
 * ```ts
 * import { nn, random } from "./mod.ts";
 * const W = nn.init.glorotUniform(random.key(0), [16, 8]);
 * ```
 */
export * as nn from "./src/nn/mod.ts";
/**
 * Optimizers as pure functions over pytrees (optax style): `optim.sgd`,
 * `optim.adam`, `optim.adamw`, `optim.rmsprop`, `optim.chain`,
 * `optim.clipByGlobalNorm`, `optim.applyUpdates`,
 * `optim.schedules.{cosine, warmupCosine, exponential}`, and `optim.lbfgs`
 * (with a strong-Wolfe line search on a loss function).
 *
 * @example
 * ```ts
 * import { grad, optim, tensor, type Tensor } from "./mod.ts";
 * const loss = (p: { w: Tensor }) => p.w.square().sum();
 * const opt = optim.adam({ lr: 0.1 });
 * let params = { w: tensor([1, -2]) }, state = opt.init(params);
 * const [updates, next] = opt.update(grad(loss)(params), state);
 * params = optim.applyUpdates(params, updates);
 * ```
 */
export * as optim from "./src/optim/mod.ts";
// Contractions, logical operations and cumulative scans (compositions).
export { einsum, kron, tensordot } from "./src/ops/contract.ts";
export {
  all,
  any,
  logicalAnd,
  logicalNot,
  logicalOr,
  logicalXor,
  maskedFill,
} from "./src/ops/logical.ts";
export { cumprod, cumsum, logcumsumexp } from "./src/ops/scan.ts";
// Sparse Jacobians and Hessians: sparsity detection, colouring, sparse results.
export { colorSparsity, jacobianSparsity } from "./src/transforms/sparse.ts";
export type {
  ColorOptions,
  SparsityOption,
  SparsityOptions,
} from "./src/transforms/sparse.ts";
export { hessianSparsity } from "./src/transforms/hessian.ts";
export type { SparseHessianOf } from "./src/transforms/hessian.ts";
export type { SparseJacobianOf } from "./src/transforms/jacobian.ts";
export { SparsityPattern } from "./src/core/sparsity.ts";
export type {
  Coloring,
  ColoringKind,
  ColoringOrder,
} from "./src/core/sparsity.ts";
export { SparseMatrix } from "./src/transforms/sparse_matrix.ts";
export type { SparseFormat } from "./src/transforms/sparse_matrix.ts";
export { checkpoint, customJvp, customVjp } from "./src/transforms/custom.ts";
export type {
  CheckpointOptions,
  CheckpointPolicy,
  JvpRule,
  VjpBwd,
  VjpFwd,
} from "./src/transforms/custom.ts";
/**
 * Debugging inside transforms: `debug.print(fmt, ...values)` and
 * `debug.callback(fn, ...values)` see actual values under `grad`, `vmap`
 * (per batch entry) and `jit` (at run time, on every call).
 *
 * @example
 * ```ts
 * import { debug, grad, tensor, type Tensor } from "./mod.ts";
 * grad((x: Tensor) => {
 *   debug.print("x = {}", x); // x = tensor([1., 2.])
 *   return x.square().sum();
 * })(tensor([1, 2]));
 * ```
 */
export * as debug from "./src/transforms/debug.ts";
// Convolution and pooling (PyTorch conventions: NCHW input, OIHW weight).
export {
  avgPool2d,
  conv1d,
  conv2d,
  convTranspose2d,
  maxPool2d,
} from "./src/ops/conv.ts";
export type {
  AvgPoolOptions,
  ConvOptions,
  ConvTransposeOptions,
  MaxPoolOptions,
  SizeArg,
} from "./src/ops/conv.ts";
// Sorting (stable; values differentiable through the permutation).
export { argsort, sort, topk } from "./src/ops/sort.ts";
export type {
  SortOptions,
  TopkOptions,
  ValuesIndices,
} from "./src/ops/sort.ts";
// scatter / scatterAdd (the inverses of gather).
export { indexAdd, scatter, scatterAdd } from "./src/ops/scatter.ts";
export { indexSelect } from "./src/ops/layout.ts";
