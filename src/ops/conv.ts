/**
 * Convolution and pooling, with PyTorch's argument conventions (NCHW
 * input, OIHW weight, `stride`, `padding`, `dilation`, `groups`). The
 * convolutions bind the `conv` / `convTranspose` primitives (im2col and
 * GEMM in the kernels; each is the transpose of the other, so every
 * derivative is again a convolution); `maxPool2d` binds `maxPool`, whose
 * derivative picks the tangent at each window's first maximum;
 * `avgPool2d` is a convolution with a constant kernel per plane.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { fromArray } from "../backend/storage.ts";
import { convOutSize } from "../core/rules/conv_shapes.ts";
import type { ConvParams } from "../core/primitives.ts";
import { fmtShape } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { bind } from "../core/trace.ts";
import { checkFloat } from "./activation.ts";
import { add, div } from "./elementwise.ts";
import { reshape } from "./layout.ts";
import { checkTensor, describe } from "./scalar.ts";

/** An int for every spatial dim, or one per dim. */
export type SizeArg = number | readonly number[];

/** Options of {@link conv1d} and {@link conv2d} (PyTorch's names and defaults). */
export interface ConvOptions {
  /** Added to each output channel: a tensor of shape `[outChannels]`. */
  bias?: Tensor | null;
  /** Step between windows (default 1). */
  stride?: SizeArg;
  /**
   * Zeros added on both sides of each spatial dim (default 0), or
   * `"valid"` (none) or `"same"` (output size = input size; stride 1; an
   * odd total goes one more on the right, as PyTorch).
   */
  padding?: SizeArg | "same" | "valid";
  /** Spacing between kernel taps (default 1). */
  dilation?: SizeArg;
  /** Channels split into this many independent groups (default 1). */
  groups?: number;
}

/** Options of {@link convTranspose2d} (PyTorch's names and defaults). */
export interface ConvTransposeOptions {
  /** Added to each output channel: a tensor of shape `[outChannels]`. */
  bias?: Tensor | null;
  /** The stride of the convolution this transposes (default 1). */
  stride?: SizeArg;
  /** The padding of the convolution this transposes (default 0). */
  padding?: SizeArg;
  /** Extra size added to one side of the output (default 0; below the stride or the dilation). */
  outputPadding?: SizeArg;
  /** Channel groups (default 1). */
  groups?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: SizeArg;
}

/** Options of {@link maxPool2d}. */
export interface MaxPoolOptions {
  /** Step between windows (default: the kernel size). */
  stride?: SizeArg;
  /** Implicit -∞ padding on both sides (default 0; at most half the kernel). */
  padding?: SizeArg;
  /** Spacing between window taps (default 1). */
  dilation?: SizeArg;
  /** Round the output size up rather than down (default false). */
  ceilMode?: boolean;
}

/** Options of {@link avgPool2d}. */
export interface AvgPoolOptions {
  /** Step between windows (default: the kernel size). */
  stride?: SizeArg;
  /** Implicit zero padding on both sides (default 0; at most half the kernel). */
  padding?: SizeArg;
  /** Round the output size up rather than down (default false). */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
  /** Divide every window by this instead. */
  divisorOverride?: number;
}

function sizes(
  what: string,
  name: string,
  v: unknown,
  nd: number,
  min: number,
): number[] {
  const list = typeof v === "number" ? new Array(nd).fill(v) : v;
  if (
    !Array.isArray(list) || list.length !== nd ||
    !list.every((x) => Number.isInteger(x) && x >= min)
  ) {
    throw new RangeError(
      `${what}: ${name} must be an integer >= ${min} or ${nd} of them, got ${
        describe(v)
      }${Array.isArray(v) ? ` [${v}]` : ""}`,
    );
  }
  return list;
}

/** Splits `(input, weight, bias?, options?)` and `(input, weight, options)`. */
function optionsOf<O extends { bias?: Tensor | null }>(
  what: string,
  biasOrOptions: Tensor | null | undefined | O,
  options: O | undefined,
): O {
  if (biasOrOptions instanceof Tensor || biasOrOptions === null) {
    return { ...(options ?? {} as O), bias: biasOrOptions };
  }
  if (biasOrOptions !== undefined && typeof biasOrOptions !== "object") {
    throw new TypeError(
      `${what}: the third argument must be a bias tensor or options, got ${
        describe(biasOrOptions)
      }`,
    );
  }
  return { ...(options ?? {} as O), ...(biasOrOptions ?? {}) };
}

/** Input with a batch dim (unbatched `[C, *spatial]` gets one), and how to undo it. */
function batched(
  what: string,
  x: Tensor,
  nd: number,
): [Tensor, (y: Tensor) => Tensor] {
  if (x.ndim === nd + 2) return [x, (y) => y];
  if (x.ndim === nd + 1) {
    return [reshape(x, [1, ...x.shape]), (y) => reshape(y, y.shape.slice(1))];
  }
  throw new RangeError(
    `${what}: input must be [N, C, ${
      nd === 1 ? "L" : "H, W"
    }] or unbatched [C, ${nd === 1 ? "L" : "H, W"}], got ${fmtShape(x.shape)}`,
  );
}

function addBias(what: string, y: Tensor, bias: Tensor | null | undefined) {
  if (bias === undefined || bias === null) return y;
  checkTensor(`${what} (bias)`, bias);
  if (bias.ndim !== 1 || bias.shape[0] !== y.shape[1]) {
    throw new RangeError(
      `${what}: bias must have shape [${
        y.shape[1]
      }] (one per output channel), got ${fmtShape(bias.shape)}`,
    );
  }
  return add(y, reshape(bias, [y.shape[1], ...y.shape.slice(2).map(() => 1)]));
}

function checkGroups(what: string, groups: unknown): number {
  if (!Number.isInteger(groups) || (groups as number) < 1) {
    throw new RangeError(
      `${what}: groups must be an integer >= 1, got ${describe(groups)}`,
    );
  }
  return groups as number;
}

function convNd(
  what: string,
  nd: number,
  input: Tensor,
  weight: Tensor,
  o: ConvOptions,
): Tensor {
  checkFloat(`${what} (input)`, input);
  checkFloat(`${what} (weight)`, weight);
  const [x, unbatch] = batched(what, input, nd);
  if (weight.ndim !== nd + 2) {
    throw new RangeError(
      `${what}: weight must be [outChannels, inChannels / groups, ${
        nd === 1 ? "kL" : "kH, kW"
      }], got ${fmtShape(weight.shape)}`,
    );
  }
  const groups = checkGroups(what, o.groups ?? 1);
  const stride = sizes(what, "stride", o.stride ?? 1, nd, 1);
  const dilation = sizes(what, "dilation", o.dilation ?? 1, nd, 1);
  const k = weight.shape.slice(2);
  let padLo: number[], padHi: number[];
  const padding = o.padding ?? 0;
  if (padding === "valid") {
    padLo = padHi = new Array(nd).fill(0);
  } else if (padding === "same") {
    if (stride.some((s) => s !== 1)) {
      throw new RangeError(
        `${what}: padding "same" needs stride 1, got [${stride}]`,
      );
    }
    const total = k.map((kk, d) => dilation[d] * (kk - 1));
    padLo = total.map((t) => Math.floor(t / 2));
    padHi = total.map((t, d) => t - padLo[d]);
  } else {
    padLo = padHi = sizes(what, "padding", padding, nd, 0);
  }
  const c = x.shape[1], cg = weight.shape[1];
  if (cg * groups !== c || weight.shape[0] % groups !== 0) {
    throw new RangeError(
      `${what}: input ${fmtShape(input.shape)} has ${c} channels but weight ${
        fmtShape(weight.shape)
      } with groups = ${groups} expects ${cg * groups} (and ${
        weight.shape[0]
      } output channels divisible by ${groups})`,
    );
  }
  const p: ConvParams = { stride, padLo, padHi, dilation, groups };
  convOutSize(what, x.shape.slice(2), k, p);
  const y = bind("conv", [x, weight], p);
  return unbatch(addBias(what, y, o.bias));
}

/**
 * 1-D convolution (cross-correlation) as `torch.nn.functional.conv1d`:
 * input `[N, C, L]` (or unbatched `[C, L]`), weight `[O, C / groups, kL]`,
 * output `[N, O, Lout]` with `Lout = ⌊(L + 2·padding - dilation·(kL-1) -
 * 1) / stride⌋ + 1`. The bias may come third or in the options.
 *
 * @example
 * ```ts
 * import { conv1d, tensor } from "./mod.ts";
 * const x = tensor([[[1, 2, 3, 4]]]); // [N=1, C=1, L=4]
 * const w = tensor([[[1, 0, -1]]]); // [O=1, C=1, k=3]
 * conv1d(x, w); // [[[-2, -2]]]
 * conv1d(x, w, { padding: 1 }); // [[[-2, -2, -2, 3]]]
 * ```
 */
export function conv1d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null | ConvOptions,
  options?: ConvOptions,
): Tensor {
  return eagerOp([input, weight, bias, options], () => {
    const o = optionsOf("conv1d", bias, options);
    return convNd("conv1d", 1, input, weight, o);
  });
}

/**
 * 2-D convolution (cross-correlation) as `torch.nn.functional.conv2d`:
 * input `[N, C, H, W]` (or unbatched `[C, H, W]`), weight
 * `[O, C / groups, kH, kW]`, output `[N, O, Hout, Wout]`, each
 * `⌊(in + 2·padding - dilation·(k-1) - 1) / stride⌋ + 1`. `stride`,
 * `padding` and `dilation` take one int or one per spatial dim; `padding`
 * also `"same"` or `"valid"`. The bias may come third or in the options.
 * Derivatives in the input are transposed convolutions and in the weight
 * correlations of input and cotangent, so every order and `vmap` (folded
 * into the batch or the groups) run as convolutions.
 *
 * @example
 * ```ts
 * import { conv2d, randn } from "./mod.ts";
 * const x = randn([8, 3, 32, 32]);
 * const w = randn([16, 3, 3, 3]), b = randn([16]);
 * const y = conv2d(x, w, b, { padding: 1 }); // [8, 16, 32, 32]
 * const z = conv2d(x, w, { stride: 2, padding: "valid" }); // [8, 16, 15, 15]
 * const d = conv2d(x, randn([3, 1, 3, 3]), { groups: 3, padding: "same" }); // depthwise: [8, 3, 32, 32]
 * ```
 */
export function conv2d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null | ConvOptions,
  options?: ConvOptions,
): Tensor {
  return eagerOp([input, weight, bias, options], () => {
    const o = optionsOf("conv2d", bias, options);
    return convNd("conv2d", 2, input, weight, o);
  });
}

/**
 * 2-D transposed convolution as `torch.nn.functional.conv_transpose2d`
 * (the gradient of {@link conv2d} with respect to its input): input
 * `[N, Cin, H, W]` (or unbatched), weight `[Cin, Cout / groups, kH, kW]`,
 * output `[N, Cout, Hout, Wout]` with `Hout = (H - 1)·stride -
 * 2·padding + dilation·(kH - 1) + outputPadding + 1`.
 *
 * @example
 * ```ts
 * import { convTranspose2d, randn } from "./mod.ts";
 * const x = randn([2, 16, 8, 8]);
 * const w = randn([16, 3, 4, 4]);
 * const y = convTranspose2d(x, w, { stride: 2, padding: 1 }); // [2, 3, 16, 16]
 * ```
 */
export function convTranspose2d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null | ConvTransposeOptions,
  options?: ConvTransposeOptions,
): Tensor {
  return eagerOp([input, weight, bias, options], () => {
    const what = "convTranspose2d";
    const o = optionsOf(what, bias, options);
    checkFloat(`${what} (input)`, input);
    checkFloat(`${what} (weight)`, weight);
    const [x, unbatch] = batched(what, input, 2);
    if (weight.ndim !== 4) {
      throw new RangeError(
        `${what}: weight must be [inChannels, outChannels / groups, kH, kW], got ${
          fmtShape(weight.shape)
        }`,
      );
    }
    const groups = checkGroups(what, o.groups ?? 1);
    const stride = sizes(what, "stride", o.stride ?? 1, 2, 1);
    const padding = sizes(what, "padding", o.padding ?? 0, 2, 0);
    const dilation = sizes(what, "dilation", o.dilation ?? 1, 2, 1);
    const outPad = sizes(what, "outputPadding", o.outputPadding ?? 0, 2, 0);
    outPad.forEach((op, d) => {
      if (op >= stride[d] && op >= dilation[d]) {
        throw new RangeError(
          `${what}: outputPadding ${op} must be smaller than the stride (${
            stride[d]
          }) or the dilation (${dilation[d]})`,
        );
      }
    });
    if (x.shape[1] !== weight.shape[0] || weight.shape[0] % groups !== 0) {
      throw new RangeError(
        `${what}: input ${fmtShape(input.shape)} has ${
          x.shape[1]
        } channels but weight ${fmtShape(weight.shape)} expects ${
          weight.shape[0]
        } (divisible by groups = ${groups})`,
      );
    }
    const k = weight.shape.slice(2);
    const size = x.shape.slice(2).map((n, d) =>
      (n - 1) * stride[d] - 2 * padding[d] + dilation[d] * (k[d] - 1) +
      outPad[d] + 1
    );
    if (size.some((s) => s < 1)) {
      throw new RangeError(
        `${what}: the output would have spatial shape ${fmtShape(size)}`,
      );
    }
    // The transposed convolution of a convolution from `size` whose high
    // padding gives back exactly the input's size.
    const y = bind("convTranspose", [x, weight], {
      stride,
      padLo: padding,
      padHi: padding.map((p, d) => p - outPad[d]),
      dilation,
      groups,
      size,
    });
    return unbatch(addBias(what, y, o.bias));
  });
}

/** Output sizes of a pooling window, as PyTorch (ceilMode: the last window must start inside the input or left padding). */
function poolGeometry(
  what: string,
  x: Tensor,
  kernelSize: SizeArg,
  o: {
    stride?: SizeArg;
    padding?: SizeArg;
    dilation?: SizeArg;
    ceilMode?: boolean;
  },
) {
  checkFloat(what, x);
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new RangeError(
      `${what}: input must be [N, C, H, W] or [C, H, W], got ${
        fmtShape(x.shape)
      }`,
    );
  }
  const kernel = sizes(what, "kernelSize", kernelSize, 2, 1);
  const stride = sizes(what, "stride", o.stride ?? kernel, 2, 1);
  const padding = sizes(what, "padding", o.padding ?? 0, 2, 0);
  const dilation = sizes(what, "dilation", o.dilation ?? 1, 2, 1);
  padding.forEach((p, d) => {
    if (2 * p > kernel[d]) {
      throw new RangeError(
        `${what}: padding ${p} must be at most half the kernel size ${
          kernel[d]
        }`,
      );
    }
  });
  const inp = x.shape.slice(-2);
  const out = inp.map((n, d) => {
    const span = dilation[d] * (kernel[d] - 1) + 1;
    const room = n + 2 * padding[d] - span;
    if (room < 0) {
      throw new RangeError(
        `${what}: the window (${span}) is larger than the padded input (${
          n + 2 * padding[d]
        }) in spatial dim ${d} of ${fmtShape(x.shape)}`,
      );
    }
    let m = (o.ceilMode
      ? Math.ceil(room / stride[d])
      : Math.floor(room / stride[d])) + 1;
    // A last window starting in the right padding is dropped (as PyTorch).
    if (o.ceilMode && (m - 1) * stride[d] >= n + padding[d]) {
      m--;
    }
    return m;
  });
  return { kernel, stride, padding, dilation, inp, out };
}

/**
 * 2-D max pooling as `torch.nn.functional.max_pool2d`: input
 * `[N, C, H, W]` or `[C, H, W]`; `stride` defaults to the kernel size;
 * padding is implicit -∞. The derivative goes to each window's maximum;
 * on ties, to the first maximum in row-major window order (as PyTorch;
 * JAX's reduce_window gradient also picks one); a NaN in a window is its
 * maximum.
 *
 * @example
 * ```ts
 * import { maxPool2d, tensor } from "./mod.ts";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8], [0, 0, 1, 1], [0, 9, 1, 2]]]]);
 * maxPool2d(x, 2); // [[[[4, 8], [9, 2]]]]
 * maxPool2d(x, 3, { stride: 1 }); // [[[[7, 8], [9, 9]]]]
 * ```
 */
export function maxPool2d(
  input: Tensor,
  kernelSize: SizeArg,
  options: MaxPoolOptions = {},
): Tensor {
  return eagerOp([input, kernelSize, options], () => {
    const g = poolGeometry("maxPool2d", input, kernelSize, options);
    return bind("maxPool", [input], {
      kernel: g.kernel,
      stride: g.stride,
      padLo: g.padding,
      dilation: g.dilation,
      out: g.out,
      indices: false,
    });
  });
}

/**
 * 2-D average pooling as `torch.nn.functional.avg_pool2d`: input
 * `[N, C, H, W]` or `[C, H, W]`; `stride` defaults to the kernel size;
 * padding counts as zeros, and in the divisor unless `countIncludePad` is
 * false (with `ceilMode`, windows are clipped to the padded input, as
 * PyTorch). A convolution of each plane with a constant kernel.
 *
 * @example
 * ```ts
 * import { avgPool2d, tensor } from "./mod.ts";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8]]]]);
 * avgPool2d(x, 2); // [[[[2.5, 6.5]]]]
 * avgPool2d(x, [1, 2], { stride: 1 }); // [[[[1.5, 3.5, 5.5], [3.5, 5.5, 7.5]]]]
 * ```
 */
export function avgPool2d(
  input: Tensor,
  kernelSize: SizeArg,
  options: AvgPoolOptions = {},
): Tensor {
  return eagerOp([input, kernelSize, options], () => {
    const what = "avgPool2d";
    const g = poolGeometry(what, input, kernelSize, options);
    const { countIncludePad = true, divisorOverride } = options;
    if (
      divisorOverride !== undefined &&
      !(typeof divisorOverride === "number" && divisorOverride !== 0)
    ) {
      throw new RangeError(
        `${what}: divisorOverride must be a nonzero number, got ${
          describe(divisorOverride)
        }`,
      );
    }
    const [H, W] = g.inp, [oh, ow] = g.out, [kh, kw] = g.kernel;
    const lead = input.shape.slice(0, -2);
    // Every plane on its own: [planes, 1, H, W] against a [1, 1, kh, kw] kernel.
    const planes = lead.reduce((a, b) => a * b, 1);
    const x = reshape(input, [planes, 1, H, W]);
    // Divisors per output position (PyTorch: the window clipped to the
    // padded input, or to the input without countIncludePad).
    const div_ = new Float64Array(oh * ow);
    let uniform = true;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const h0 = i * g.stride[0] - g.padding[0],
          w0 = j * g.stride[1] - g.padding[1];
        const h1 = Math.min(h0 + kh, H + g.padding[0]);
        const w1 = Math.min(w0 + kw, W + g.padding[1]);
        let n = (h1 - h0) * (w1 - w0);
        if (!countIncludePad) {
          n = (Math.min(h1, H) - Math.max(h0, 0)) *
            (Math.min(w1, W) - Math.max(w0, 0));
        }
        div_[i * ow + j] = divisorOverride ?? n;
        uniform &&= div_[i * ow + j] === div_[0];
      }
    }
    const dtype = input.dtype;
    const scale = uniform ? 1 / div_[0] : 1;
    const w = Tensor._fromStorage(
      fromArray(dtype, new Float64Array(kh * kw).fill(scale)),
      [1, 1, kh, kw],
      dtype,
    );
    // High padding so that the convolution has exactly the pooled size.
    const padHi = g.out.map((m, d) =>
      Math.max(
        g.padding[d],
        (m - 1) * g.stride[d] + g.kernel[d] - g.inp[d] - g.padding[d],
      )
    );
    let y = bind("conv", [x, w], {
      stride: g.stride,
      padLo: g.padding,
      padHi,
      dilation: [1, 1],
      groups: 1,
    });
    if (y.shape[2] !== oh || y.shape[3] !== ow) {
      throw new Error(
        `internal: ${what} size ${fmtShape(y.shape)} vs [${g.out}]`,
      );
    }
    if (!uniform) {
      y = div(y, Tensor._fromStorage(fromArray(dtype, div_), [oh, ow], dtype));
    }
    return reshape(y, [...lead, oh, ow]);
  });
}
