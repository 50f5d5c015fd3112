/**
 * `autograd.grad`, `backward`, `autograd.jacobian`, `autograd.hessian`:
 * PyTorch's eager API over graphs recorded by `requiresGrad()` tensors.
 * @module
 */
import { checkLike } from "../transforms/args.ts";
import { hessian as hessianT } from "../transforms/hessian.ts";
import { jacrev } from "../transforms/jacobian.ts";
import { add } from "../ops/elementwise.ts";
import { onesLike } from "../ops/creation.ts";
import { describe } from "../ops/scalar.ts";
import { fmtShape } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { withTemporaries } from "../core/scope.ts";
import { linearizeFlat } from "../core/ad.ts";
import { transposeProgram } from "../core/interpret.ts";
import { instantiate } from "../core/lax.ts";
import { FREED_MESSAGE, freeGraph, replay, topoOrder } from "./replay.ts";
import { isTracked, type Tracked } from "./tracked.ts";

/** Options of `autograd.grad` (as `torch.autograd.grad`). */
export interface AutogradOptions {
  /** Record the gradient computation so it can be differentiated again. */
  createGraph?: boolean;
  /** Keep the graph usable for another backward pass (default: createGraph). */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

const asList = (what: string, x: Tensor | readonly Tensor[]): Tensor[] => {
  const list = x instanceof Tensor ? [x] : Array.isArray(x) ? [...x] : null;
  if (list === null || list.length === 0) {
    throw new TypeError(
      `${what}: expected a tensor or a non-empty array of tensors`,
    );
  }
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) {
      throw new TypeError(`${what}[${i}] is ${describe(t)}, expected a Tensor`);
    }
  });
  return list;
};

function defaultGradOutputs(
  outputs: Tensor[],
  gradOutputs: Tensor | readonly (Tensor | null)[] | undefined,
): Tensor[] {
  const given = gradOutputs === undefined
    ? []
    : gradOutputs instanceof Tensor
    ? [gradOutputs]
    : [...gradOutputs];
  return outputs.map((o, i) => {
    const g = given[i];
    if (g === undefined || g === null) {
      if (o.size !== 1) {
        throw new TypeError(
          `autograd.grad: output ${i} has shape ${
            fmtShape(o.shape)
          }; gradOutputs is required for non-scalar outputs`,
        );
      }
      return onesLike(o);
    }
    return checkLike("autograd.grad", `gradOutputs[${i}]`, g, o);
  });
}

/**
 * Gradients of `outputs` with respect to `inputs` (as `torch.autograd.grad`),
 * for tensors recorded from `requiresGrad()` leaves.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const x = tensor([1, 2, 3]).requiresGrad();
 * const y = x.pow(3).sum();
 * const [g] = autograd.grad(y, x, undefined, { createGraph: true }); // 3x²
 * const [h] = autograd.grad(g.sum(), x);                             // 6x
 * ```
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  gradOutputs?: Tensor | readonly (Tensor | null)[],
  options: AutogradOptions = {},
): (Tensor | null)[] {
  const outs = asList("autograd.grad: outputs", outputs);
  const ins = asList("autograd.grad: inputs", inputs);
  const {
    createGraph = false,
    retainGraph = createGraph,
    allowUnused = false,
  } = options;
  ins.forEach((x, i) => {
    if (!isTracked(x)) {
      throw new TypeError(
        `autograd.grad: inputs[${i}] does not require grad (call requiresGrad() on it)`,
      );
    }
  });
  outs.forEach((o, i) => {
    if (!isTracked(o)) {
      throw new TypeError(
        `autograd.grad: outputs[${i}] does not require grad and has no graph (no input of it required grad)`,
      );
    }
  });
  const order = topoOrder(outs, new Set(ins));
  if (order.some((t) => t.node?.freed)) {
    throw new Error(`autograd.grad: ${FREED_MESSAGE}`);
  }
  const reachable = new Set<Tensor>(order);
  const used = ins.map((x) => reachable.has(x));
  used.forEach((u, i) => {
    if (!u && !allowUnused) {
      throw new Error(
        `autograd.grad: inputs[${i}] was not used to compute the outputs; pass { allowUnused: true } to get null`,
      );
    }
  });
  const usedIns = ins.filter((_, i) => used[i]);
  let grads: Tensor[] = [];
  if (usedIns.length > 0) {
    const start = usedIns.map((x) => (createGraph ? x : (x as Tracked).value));
    // Without createGraph everything but the gradients is freed on return:
    // the default output gradients (ones), the replayed forward pass and
    // the residuals of the vjp.
    grads = withTemporaries([start, gradOutputs], () => {
      const cts = defaultGradOutputs(outs, gradOutputs);
      // Straight through linearize and transpose (no vjp closure, whose
      // residuals would be held until the garbage collector runs).
      const r = linearizeFlat(
        "backward",
        (xs) => [replay(outs, usedIns, xs, createGraph), undefined],
        start,
      );
      return transposeProgram(r.program, cts).map((c, i) =>
        instantiate(c, start[i])
      );
    });
  }
  if (!retainGraph) freeGraph(outs, ins);
  let k = 0;
  return ins.map((_, i) => (used[i] ? grads[k++] : null));
}

/**
 * Accumulates d(output)/d(leaf) into `leaf.grad` for every leaf the output
 * depends on (as `tensor.backward()`).
 */
export function backward(
  output: Tensor,
  gradient?: Tensor,
  options: { retainGraph?: boolean; createGraph?: boolean } = {},
): void {
  if (!isTracked(output)) {
    throw new TypeError(
      "backward: the tensor does not require grad and has no graph",
    );
  }
  const order = topoOrder([output], new Set());
  if (order.some((t) => t.node?.freed)) {
    throw new Error(`backward: ${FREED_MESSAGE}`);
  }
  const leaves = order.filter((t) => t.isLeaf);
  const grads = grad(
    output,
    leaves,
    gradient === undefined ? undefined : [gradient],
    {
      retainGraph: options.retainGraph,
      createGraph: options.createGraph,
    },
  );
  // A leaf owns the buffer of its .grad, so that zeroGrad() and the next
  // accumulation can free it: a gradient that shares a buffer with a tensor
  // the caller holds (a view of `gradient`, or of a leaf) is copied first.
  const theirs = new Set<object | null>(
    [gradient, output, ...leaves].map((t) =>
      t === undefined ? null : (isTracked(t) ? t.value : t)._storage
    ),
  );
  theirs.delete(null);
  leaves.forEach((leaf, i) => {
    let g = grads[i]!;
    const plain = g._trace === null;
    if (plain && theirs.has(g._storage)) g = g.clone();
    const old = leaf.gradSlot;
    if (old === null) return leaf.setGrad(g, true);
    const sum = add(old, g);
    if (plain && old._trace === null) {
      // Both were backward's own buffers (or the caller's, kept).
      if (leaf.gradOwned) old.dispose();
      g.dispose();
    }
    leaf.setGrad(sum, true);
  });
}

/**
 * One tensor per input: a `Tensor` for one input, an array (or tuple) of
 * them for an array of inputs.
 *
 * @example
 * ```ts
 * import { autograd, type Tensor } from "./mod.ts";
 * type P = autograd.PerInput<readonly [Tensor, Tensor]>; // [Tensor, Tensor]
 * ```
 */
export type PerInput<I> = I extends Tensor ? Tensor
  : { -readonly [K in keyof I]: Tensor };

/**
 * What `autograd.jacobian(outputs, inputs)` returns: a `Tensor` for one
 * output and one input; an array over the outputs, then over the inputs,
 * where either is an array.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad(), y = tensor(3).requiresGrad();
 * const [[J0x, J0y], [J1x, J1y]] = autograd.jacobian([x.mul(y), x.sin()], [x, y]);
 * ```
 */
export type AutogradJacobianOf<O, I> = O extends Tensor ? PerInput<I>
  : { -readonly [K in keyof O]: PerInput<I> };

/**
 * What `autograd.hessian(output, inputs)` returns: a `Tensor` for one input;
 * blocks `[[H00, H01], [H10, H11]]` for an array of inputs.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad(), y = tensor(3).requiresGrad();
 * const [[Hxx, Hxy], [Hyx, Hyy]] = autograd.hessian(x.pow(2).mul(y).sum(), [x, y]);
 * ```
 */
export type AutogradHessianOf<I> = I extends Tensor ? Tensor
  : { -readonly [K in keyof I]: PerInput<I> };

/**
 * The Jacobian of already computed `outputs` with respect to `inputs`
 * (vectorised, equal to `jacrev`): shape out.shape ++ in.shape; an array
 * over outputs and then inputs when either is an array.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad();
 * const J = autograd.jacobian(x.sin(), x); // diag(cos x)
 * ```
 */
export function jacobian<
  const O extends Tensor | readonly Tensor[],
  const I extends Tensor | readonly Tensor[],
>(outputs: O, inputs: I): AutogradJacobianOf<O, I>;
export function jacobian(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
): unknown {
  const outs = asList("autograd.jacobian: outputs", outputs);
  const ins = asList("autograd.jacobian: inputs", inputs);
  const f = (...xs: Tensor[]) => {
    const r = replay(outs, ins, xs, false);
    return outputs instanceof Tensor ? r[0] : r;
  };
  const argnums = inputs instanceof Tensor ? 0 : ins.map((_, i) => i);
  return jacrev(f, { argnums })(
    ...ins.map((x) => (isTracked(x) ? x.value : x)),
  );
}

/**
 * The Hessian of an already computed scalar `output` with respect to `inputs`.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "./mod.ts";
 * const x = tensor([1, 2]).requiresGrad();
 * const H = autograd.hessian(x.pow(3).sum(), x); // diag(6x)
 * ```
 */
export function hessian<const I extends Tensor | readonly Tensor[]>(
  output: Tensor,
  inputs: I,
): AutogradHessianOf<I>;
export function hessian(
  output: Tensor,
  inputs: Tensor | readonly Tensor[],
): unknown {
  const ins = asList("autograd.hessian: inputs", inputs);
  if (!(output instanceof Tensor) || output.size !== 1) {
    throw new TypeError(
      `autograd.hessian: output must be a scalar tensor, got ${
        describe(output)
      }`,
    );
  }
  const f = (...xs: Tensor[]) =>
    replay([output], ins, xs, false)[0].reshape([]);
  const argnums = inputs instanceof Tensor ? 0 : ins.map((_, i) => i);
  return hessianT(f, { argnums })(
    ...ins.map((x) => (isTracked(x) ? x.value : x)),
  );
}
