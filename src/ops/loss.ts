/**
 * `oneHot` and the losses (`crossEntropy`, `mseLoss`,
 * `binaryCrossEntropyWithLogits`), as `torch.nn.functional`, composed from
 * primitives in numerically stable forms.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { fmtShape, shapeEq } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import type { DType } from "../backend/dtype.ts";
import {
  add,
  div,
  eq,
  mul,
  ne,
  neg,
  square,
  sub,
  where,
} from "./elementwise.ts";
import {
  cast,
  flatten,
  indexSelect,
  reshape,
  squeeze,
  unsqueeze,
} from "./layout.ts";
import { gather } from "./indexing.ts";
import { mean, sum } from "./reduce.ts";
import { arange } from "./creation.ts";
import { checkTensor, describe, type TensorLike } from "./scalar.ts";
import { checkFloat } from "./activation.ts";
import { softplusParts } from "./math.ts";
import { logsumexp } from "./stats.ts";

/**
 * Options of {@link oneHot}.
 *
 * @example
 * ```ts
 * import { oneHot, tensor } from "./mod.ts";
 * const y = oneHot(tensor([0, 2], { dtype: "int32" }), 3, { dtype: "float64" });
 * ```
 */
export interface OneHotOptions {
  /** Element type of the result: float32 (default) or float64. */
  dtype?: DType;
}

/** True when `x` holds its values (not a tracer of a transform). */
const isConcrete = (x: Tensor) => x._storage !== null;

/**
 * Range check of concrete class indices (traced ones cannot be checked);
 * `ignore` is also allowed. Returns whether `ignore` occurs (true when
 * the target is traced: it may).
 */
function checkClasses(target: Tensor, C: number, ignore?: number): boolean {
  if (!isConcrete(target)) return true;
  const v = target.data();
  let ignored = false;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === ignore) {
      ignored = true;
      continue;
    }
    if (v[i] < 0 || v[i] >= C) {
      throw new RangeError(
        `crossEntropy: target class ${
          v[i]
        } (at flat position ${i}) is out of range for ${C} classes${
          ignore === undefined ? "" : ` (ignoreIndex is ${ignore})`
        }`,
      );
    }
  }
  return ignored;
}

/**
 * One-hot encoding: int32 class indices of any shape to a float tensor
 * with a new last dim of size `numClasses`, 1 at each index and 0
 * elsewhere (float32 unless `dtype` says otherwise; a bool dtype does not
 * exist yet). `numClasses` may be omitted for concrete indices (then it is
 * `max + 1`, as PyTorch). Concrete indices out of range are an error; inside
 * a transform they cannot be checked and give a row of zeros.
 *
 * @example
 * ```ts
 * import { oneHot, tensor } from "./mod.ts";
 * const y = oneHot(tensor([0, 2, 1], { dtype: "int32" }), 3);
 * // [[1, 0, 0], [0, 0, 1], [0, 1, 0]] (float32)
 * ```
 */
export function oneHot(
  indices: Tensor,
  numClasses?: number,
  options: OneHotOptions = {},
): Tensor {
  return eagerOp([indices, numClasses, options], () => {
    checkTensor("oneHot (indices)", indices);
    if (indices.dtype !== "int32") {
      throw new TypeError(
        `oneHot: indices must be an int32 tensor, got ${indices.dtype} (convert with .to("int32"))`,
      );
    }
    const { dtype = "float32" } = options;
    if (dtype !== "float32" && dtype !== "float64") {
      throw new TypeError(
        `oneHot: dtype must be "float32" or "float64", got ${describe(dtype)}`,
      );
    }
    const concrete = isConcrete(indices);
    if (numClasses === undefined) {
      if (!concrete) {
        throw new TypeError(
          "oneHot: numClasses must be given inside a transform (the indices' values are not known there)",
        );
      }
      numClasses = indices.size === 0 ? 0 : Math.max(...indices.data()) + 1;
    }
    if (!Number.isInteger(numClasses) || numClasses < 0) {
      throw new RangeError(
        `oneHot: numClasses must be a non-negative integer, got ${
          describe(numClasses)
        }`,
      );
    }
    if (concrete && indices.size > 0) {
      const v = indices.data();
      for (let i = 0; i < v.length; i++) {
        if (v[i] < 0 || v[i] >= numClasses) {
          throw new RangeError(
            `oneHot: index ${v[i]} (at flat position ${i} of shape ${
              fmtShape(indices.shape)
            }) is out of range for numClasses ${numClasses}`,
          );
        }
      }
    }
    const classes = arange(numClasses, undefined, 1, { dtype: "int32" });
    return cast(eq(unsqueeze(indices, -1), classes), dtype);
  });
}

/**
 * How a loss combines its per-element values: their mean (default), their
 * sum, or none (the unreduced losses).
 *
 * @example
 * ```ts
 * import { mseLoss, type Reduction, tensor } from "./mod.ts";
 * const r: Reduction = "sum";
 * mseLoss(tensor([1, 2]), tensor([0, 0]), { reduction: r }); // tensor(5.)
 * ```
 */
export type Reduction = "mean" | "sum" | "none";

/**
 * Options of {@link mseLoss}.
 *
 * @example
 * ```ts
 * import { mseLoss, tensor } from "./mod.ts";
 * const l = mseLoss(tensor([1, 2]), tensor([1, 4]), { reduction: "none" }); // [0, 4]
 * ```
 */
export interface LossOptions {
  /** `"mean"` (default), `"sum"` or `"none"`. */
  reduction?: Reduction;
}

function reduce(what: string, loss: Tensor, reduction: unknown): Tensor {
  if (reduction === "mean") return mean(loss);
  if (reduction === "sum") return sum(loss);
  if (reduction === "none") return loss;
  throw new TypeError(
    `${what}: reduction must be "mean", "sum" or "none", got ${
      describe(reduction)
    }`,
  );
}

function sameShape(what: string, input: Tensor, target: Tensor): void {
  if (!shapeEq(input.shape, target.shape)) {
    throw new RangeError(
      `${what}: target shape ${
        fmtShape(target.shape)
      } differs from input shape ${fmtShape(input.shape)}`,
    );
  }
}

/**
 * Options of {@link crossEntropy}.
 *
 * @example
 * ```ts
 * import { crossEntropy, tensor } from "./mod.ts";
 * const logits = tensor([[2, 0, 0]]), y = tensor([0], { dtype: "int32" });
 * const l = crossEntropy(logits, y, { reduction: "sum", labelSmoothing: 0.1 });
 * ```
 */
export interface CrossEntropyOptions extends LossOptions {
  /** ε in [0, 1]: the target becomes (1 - ε) target + ε / C (default 0). */
  labelSmoothing?: number;
  /**
   * A weight per class, shape `[C]`: each element's loss is scaled by its
   * class's weight (class indices), or each class's term by its weight
   * (probabilities). With class indices the mean divides by the sum of the
   * weights of the targets, as PyTorch.
   */
  weight?: Tensor | null;
  /**
   * Class-index targets equal to this contribute nothing, and the mean is
   * over the others (default -100, as PyTorch).
   */
  ignoreIndex?: number;
}

/**
 * Cross entropy between `logits` and a target, as
 * `torch.nn.functional.cross_entropy`: `logits` is `[C]`, `[N, C]` or
 * `[N, C, d1, ...]` (classes along dim 1, or 0 for a single vector), and
 * `target` is either int32 class indices of the logits' shape without the
 * class dim, or class probabilities of the logits' shape. Per element it is
 * `logsumexp(logits) - Σ_c q_c logits_c` (times Σ q for unnormalised
 * probabilities), with the maximum subtracted, so large logits neither
 * overflow nor lose the gradient `softmax - q`. Class `weight`s and
 * `ignoreIndex` (class-index targets only) follow PyTorch, including how
 * the mean is normalised.
 *
 * @example
 * ```ts
 * import { crossEntropy, tensor } from "./mod.ts";
 * const logits = tensor([[2, 1, 0.1], [0.5, 2.5, 0.3]]);
 * const l = crossEntropy(logits, tensor([0, 1], { dtype: "int32" })); // tensor(0.3185)
 * const p = crossEntropy(logits, tensor([[1, 0, 0], [0, 1, 0]])); // the same
 * const w = crossEntropy(logits, tensor([0, -100], { dtype: "int32" }), {
 *   weight: tensor([2, 1, 1]),
 * }); // only the first row counts: 0.4170
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  return eagerOp([logits, target, options], () => {
    checkFloat("crossEntropy (logits)", logits);
    checkTensor("crossEntropy (target)", target);
    const { reduction = "mean", labelSmoothing = 0, ignoreIndex = -100 } =
      options;
    const weight = options.weight ?? null;
    if (
      typeof labelSmoothing !== "number" || !(labelSmoothing >= 0) ||
      labelSmoothing > 1
    ) {
      throw new RangeError(
        `crossEntropy: labelSmoothing must be in [0, 1], got ${
          describe(labelSmoothing)
        }`,
      );
    }
    if (!Number.isInteger(ignoreIndex)) {
      throw new TypeError(
        `crossEntropy: ignoreIndex must be an integer, got ${
          describe(ignoreIndex)
        }`,
      );
    }
    if (logits.ndim === 0) {
      throw new RangeError(
        "crossEntropy: logits must have a class dim (shape [C], [N, C] or [N, C, ...]), got a scalar",
      );
    }
    const cd = logits.ndim === 1 ? 0 : 1;
    const C = logits.shape[cd];
    if (weight !== null) {
      checkTensor("crossEntropy (weight)", weight);
      if (weight.ndim !== 1 || weight.shape[0] !== C) {
        throw new RangeError(
          `crossEntropy: weight must have shape [${C}] (one per class), got ${
            fmtShape(weight.shape)
          }`,
        );
      }
      if (weight.dtype !== logits.dtype) {
        throw new TypeError(
          `crossEntropy: weight is ${weight.dtype} but logits are ${logits.dtype}`,
        );
      }
    }
    // The weights along the class dim, broadcasting against the logits.
    const wClass = weight === null
      ? null
      : reshape(weight, logits.shape.map((d, i) => (i === cd ? d : 1)));
    const lse = logsumexp(logits, cd);
    let loss: Tensor;
    if (target.dtype === "int32") {
      const expected = logits.shape.filter((_, i) => i !== cd);
      if (!shapeEq(target.shape, expected)) {
        throw new RangeError(
          `crossEntropy: class-index target must have shape ${
            fmtShape(expected)
          } (logits ${fmtShape(logits.shape)} without dim ${cd}), got ${
            fmtShape(target.shape)
          }`,
        );
      }
      const mayIgnore = checkClasses(target, C, ignoreIndex);
      if (!mayIgnore && weight === null) {
        // The target's logit by a gather (O(N), its gradient a scatter-add)
        // rather than a product with a one-hot matrix (O(N·C)).
        let picked = squeeze(gather(logits, cd, unsqueeze(target, cd)), cd);
        if (labelSmoothing > 0) {
          picked = add(
            mul(picked, 1 - labelSmoothing),
            mul(mean(logits, cd), labelSmoothing),
          );
        }
        return reduce("crossEntropy", sub(lse, picked), reduction);
      }
      // Ignored elements: a 0/1 mask, their class replaced by 0 for the gather.
      const valid = ne(cast(target, logits.dtype), ignoreIndex);
      const safe = where(valid, target, 0);
      let picked = squeeze(gather(logits, cd, unsqueeze(safe, cd)), cd);
      let wy = valid;
      if (weight === null) {
        // The same arithmetic as the unmasked path, times the mask: with
        // nothing ignored, the same bits (a traced target takes this path).
        if (labelSmoothing > 0) {
          picked = add(
            mul(picked, 1 - labelSmoothing),
            mul(mean(logits, cd), labelSmoothing),
          );
        }
        loss = mul(sub(lse, picked), valid);
      } else {
        // Per-element weight w[y] (0 where ignored): what the mean divides by.
        wy = mul(
          reshape(indexSelect(weight, 0, flatten(safe)), safe.shape),
          valid,
        );
        loss = mul(wy, sub(lse, picked));
        if (labelSmoothing > 0) {
          // PyTorch: (1 - ε)·w[y]·nll + ε/C · Σ_c w_c (lse - x_c).
          const smooth = sub(
            mul(lse, sum(weight)),
            sum(mul(wClass!, logits), cd),
          );
          loss = add(
            mul(loss, 1 - labelSmoothing),
            mul(mul(smooth, valid), labelSmoothing / C),
          );
        }
      }
      if (reduction === "mean") return div(sum(loss), sum(wy));
    } else {
      sameShape("crossEntropy (probabilities)", logits, target);
      if (target.dtype !== logits.dtype) {
        throw new TypeError(
          `crossEntropy: target probabilities are ${target.dtype} but logits are ${logits.dtype}`,
        );
      }
      let q = labelSmoothing > 0
        ? add(mul(target, 1 - labelSmoothing), labelSmoothing / C)
        : target;
      if (wClass !== null) q = mul(q, wClass);
      // -Σ q log softmax = lse · Σ q - Σ q x (probabilities need not sum to 1).
      loss = sub(mul(lse, sum(q, cd)), sum(mul(q, logits), cd));
    }
    return reduce("crossEntropy", loss, reduction);
  });
}

/**
 * Mean squared error `(input - target)²`, reduced by `reduction` (default
 * the mean), as `torch.nn.functional.mse_loss`. The shapes must be equal
 * (PyTorch would broadcast with a warning; here it is an error).
 *
 * @example
 * ```ts
 * import { mseLoss, tensor } from "./mod.ts";
 * const l = mseLoss(tensor([1, 2, 3]), tensor([1, 2, 5])); // tensor(1.3333)
 * ```
 */
export function mseLoss(
  input: Tensor,
  target: Tensor,
  options: LossOptions = {},
): Tensor {
  return eagerOp([input, target, options], () => {
    checkFloat("mseLoss (input)", input);
    checkFloat("mseLoss (target)", target);
    sameShape("mseLoss", input, target);
    return reduce(
      "mseLoss",
      square(sub(input, target)),
      options.reduction ?? "mean",
    );
  });
}

/**
 * Options of {@link binaryCrossEntropyWithLogits}.
 *
 * @example
 * ```ts
 * import { binaryCrossEntropyWithLogits, tensor } from "./mod.ts";
 * const l = binaryCrossEntropyWithLogits(tensor([0.3]), tensor([1]), { posWeight: 3 });
 * ```
 */
export interface BceOptions extends LossOptions {
  /** Weight of the positive term, broadcast against the input (default 1). */
  posWeight?: TensorLike;
}

/**
 * Binary cross entropy of `sigmoid(input)` against targets in [0, 1], as
 * `torch.nn.functional.binary_cross_entropy_with_logits`, in the stable form
 * `(1 - y) x + w · softplus(-x)` with `w = 1 + (posWeight - 1) y`: no
 * overflow for large |x|, and the gradient `sigmoid(x) - y` (for
 * posWeight 1) is exact.
 *
 * @example
 * ```ts
 * import { binaryCrossEntropyWithLogits, tensor } from "./mod.ts";
 * const l = binaryCrossEntropyWithLogits(tensor([100, -100, 0]), tensor([1, 0, 1])); // tensor(0.2310)
 * ```
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: BceOptions = {},
): Tensor {
  return eagerOp([input, target, options], () => {
    const what = "binaryCrossEntropyWithLogits";
    checkFloat(`${what} (input)`, input);
    checkFloat(`${what} (target)`, target);
    sameShape(what, input, target);
    const { reduction = "mean", posWeight } = options;
    // softplus(-x) in two terms: the linear one cancels (1 - y) x exactly
    // where they are large, before the small log1p term is added.
    const [lin, smooth] = softplusParts(neg(input));
    const w = posWeight === undefined ? null : add(
      mul(
        target,
        typeof posWeight === "number" ? posWeight - 1 : sub(posWeight, 1),
      ),
      1,
    );
    const weighted = (t: Tensor) => (w === null ? t : mul(w, t));
    const loss = add(
      add(mul(sub(1, target), input), weighted(lin)),
      weighted(smooth),
    );
    return reduce(what, loss, reduction);
  });
}
