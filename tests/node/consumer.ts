// A typed consumer of the npm package: `tsc --noEmit` checks it against the
// emitted declarations (tests/node/npm_package.test.mjs copies it next to
// the installed package). The @ts-expect-error lines check that the types
// are real (a mistake is rejected), not `any`.
import {
  type DType,
  hessian,
  hvp,
  jacfwd,
  type JacobianOptions,
  jacrev,
  linear,
  manualSeed,
  randn,
  type Tensor,
  tensor,
  vmap,
  type VmapOptions,
} from "@jacobi/jacobi";

manualSeed(0);
const dtype: DType = "float64";
const W: Tensor = randn([4, 3], { dtype });
const b: Tensor = randn([4], { dtype });
const x: Tensor = randn([3], { dtype });
const predict = (W: Tensor, b: Tensor, x: Tensor): Tensor =>
  linear(x, W, b).tanh();

const opts: JacobianOptions = { argnums: 2 };
const J: Tensor = jacrev(predict, opts)(W, b, x);
const J2: Tensor = jacfwd(predict, { argnums: 2, chunkSize: 2 })(W, b, x);
const H: Tensor = hessian(predict, { argnums: 2 })(W, b, x);
const vopts: VmapOptions = { inDims: [null, null, 0] };
const Jb: Tensor = vmap(jacrev(predict, opts), vopts)(W, b, randn([5, 3]));
const f = (x: Tensor): Tensor => x.tanh().sum();
const Hv: Tensor = hvp(f, [x], [tensor([1, 0, 0], { dtype })]);

// Results follow argnums and the output's structure: no casts needed.
const [Jw, Jbias]: [Tensor, Tensor] = jacrev(predict, { argnums: [0, 1] })(
  W,
  b,
  x,
);
const [[Hww]] = hessian((W: Tensor, b: Tensor) => predict(W, b, x).sum(), {
  argnums: [0, 1],
})(W, b);
const Jo: { y: Tensor } = jacfwd((x: Tensor) => ({ y: x.sin() }))(x);

const shapes: readonly number[][] = [J, J2, H, Jb, Hv, Jw, Jbias, Hww, Jo.y]
  .map((t) => [...t.shape]);
const data: Float32Array | Float64Array | Int32Array = H.data();
export { data, shapes };

// @ts-expect-error: randn takes a shape, not a string
randn("3");
// @ts-expect-error: vmap's options have no `axis`
vmap(predict, { axis: 0 });
// @ts-expect-error: jacrev's argnums is a number or an array of numbers
jacrev(predict, { argnums: "x" });
// @ts-expect-error: predict takes tensors
jacrev(predict)(1, 2);
// @ts-expect-error: a Jacobian is a Tensor, not a string (passes if it were any)
export const notString: string = jacrev(predict, { argnums: 2 })(W, b, x);
