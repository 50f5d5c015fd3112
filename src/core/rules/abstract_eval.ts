/**
 * Shape rules: the output shape and dtype of each primitive from its inputs'
 * shapes and dtypes. They run before every kernel and while tracing, so every
 * shape error is raised here, in TypeScript, with the shapes named — never as
 * a trap inside WebAssembly.
 * @module
 */
import { type DType, isFloatDtype } from "../../backend/dtype.ts";
import {
  broadcastShapes,
  fmtShape,
  type Shape,
  shapeEq,
  sizeOf,
  squareMatrixSize,
} from "../shape.ts";
import type { Aval } from "../ir.ts";
import { family } from "./family.ts";
import { controlShapeRules } from "./control_shape.ts";
import { convShapeRules } from "./conv_shapes.ts";
import {
  BINARY_PRIMS,
  type BinaryPrim,
  COMPARE_PRIMS,
  type Prim,
  type PrimParams,
  REDUCE_PRIMS,
  UNARY_PRIMS,
} from "../primitives.ts";

type ShapeRule<Q> = (args: Aval[], params: Q) => Aval;
type ShapeRules = { [P in Prim]: ShapeRule<PrimParams[P]> };

function floatOnly(what: string, a: Aval): void {
  if (!isFloatDtype(a.dtype)) {
    throw new TypeError(
      `${what}: expected a float32 or float64 tensor, got ${a.dtype} (convert with .to("float32"))`,
    );
  }
}

/** Floats and int32 (the dtypes with arithmetic kernels); bool too if `bool`. */
function numeric(what: string, a: Aval, bool = false): void {
  if (a.dtype === "bool" && !bool) {
    throw new TypeError(
      `${what}: expected a float32, float64 or int32 tensor, got bool (convert with .to("int32"))`,
    );
  }
}

/** Unary primitives with int32 kernels. */
const INT_UNARY = new Set<string>([
  "neg",
  "abs",
  "sign",
  "square",
  "relu",
  "floor",
  "ceil",
  "round",
  "trunc",
]);
/** Binary primitives with int32 kernels (those in ANY_BINARY take bool too). */
const INT_BINARY = new Set<string>(["add", "sub", "mul", "fmod", "remainder"]);
const ANY_BINARY = new Set<string>(["maximum", "minimum"]);

function sameDtype(what: string, args: Aval[]): DType {
  const d = args[0].dtype;
  for (const a of args) {
    if (a.dtype !== d) {
      throw new TypeError(
        `${what}: mixed dtypes ${
          args.map((x) => x.dtype).join(" and ")
        }; convert one with .to(dtype)`,
      );
    }
  }
  return d;
}

function unaryRule(name: string): ShapeRule<PrimParams["neg"]> {
  // isnan and isfinite take every dtype and give bool.
  if (name === "isnan" || name === "isfinite") {
    return ([x]) => ({ shape: x.shape, dtype: "bool" });
  }
  return ([x]) => {
    if (INT_UNARY.has(name)) numeric(name, x);
    else floatOnly(name, x);
    return x;
  };
}

function binaryRule(name: BinaryPrim): ShapeRule<PrimParams["add"]> {
  const compare = COMPARE_PRIMS.has(name);
  return ([a, b]) => {
    const dtype = a.dtype === b.dtype ? a.dtype : sameDtype(name, [a, b]);
    if (INT_BINARY.has(name)) numeric(name, a);
    else if (!compare && !ANY_BINARY.has(name)) floatOnly(name, a);
    // (Shapes are never mutated: equal operands share theirs.)
    const shape = shapeEq(a.shape, b.shape)
      ? a.shape
      : broadcastShapes(name, a.shape, b.shape);
    return { shape, dtype: compare ? "bool" : dtype };
  };
}

/** The first of `axes` of size 0 in `shape` (a helper: see reduceRule). */
function emptyAxis(
  shape: readonly number[],
  axes: readonly number[],
): number | undefined {
  return axes.find((a) => shape[a] === 0);
}

// (No closure in the rule itself: one capturing `x` would make every call
// allocate a context, reductions of every kind.)
function reduceRule(name: string): ShapeRule<PrimParams["sum"]> {
  return ([x], { axes }) => {
    numeric(name, x, name === "max" || name === "min");
    // max and min have no identity (sum and prod do: 0 and 1), as in JAX
    // and PyTorch, which raise rather than return -inf or inf.
    if (name === "max" || name === "min") {
      const empty = emptyAxis(x.shape, axes);
      if (empty !== undefined) {
        throw new RangeError(
          `${name}: cannot reduce over the empty dimension ${empty} of shape ${
            fmtShape(x.shape)
          } (${name} of no elements is undefined)`,
        );
      }
    }
    const shape: number[] = [];
    for (let i = 0; i < x.shape.length; i++) {
      if (!axes.includes(i)) shape.push(x.shape[i]);
    }
    return { shape, dtype: x.dtype };
  };
}

function argRule(name: string): ShapeRule<PrimParams["argmax"]> {
  return ([x], { axis }) => {
    if (x.shape[axis] === 0) {
      throw new RangeError(
        `${name}: cannot reduce over an empty dimension ${axis} of shape ${
          fmtShape(x.shape)
        }`,
      );
    }
    return { shape: x.shape.filter((_, i) => i !== axis), dtype: "int32" };
  };
}

/**
 * Every numeric parameter of every primitive is a count, an axis, an
 * offset or a stride: a non-integer or NaN one would reach the kernels as
 * a misaligned offset or a shape like [NaN], so it is refused here, where
 * every path (public ops, rules, jit) passes.
 */
function checkIntegerParams(prim: Prim, params: unknown): void {
  if (params === null || typeof params !== "object") return;
  // A plain loop: this runs on every bind, at every level.
  const p = params as Record<string, unknown>;
  for (const name in p) {
    const v = p[name];
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) badParam(prim, name, v);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const n = v[i];
        if (typeof n === "number" && !Number.isSafeInteger(n)) {
          badParam(prim, name, v);
        }
      }
    }
  }
}

function badParam(prim: Prim, name: string, v: unknown): never {
  throw new RangeError(
    `${prim}: ${name} must be ${
      Array.isArray(v)
        ? `integers, got [${v.join(", ")}]`
        : `an integer, got ${v}`
    }`,
  );
}

function sliceCheck(x: Shape, p: PrimParams["slice"], what: string): void {
  if (
    p.start.length !== x.length || p.step.length !== x.length ||
    p.shape.length !== x.length
  ) {
    throw new RangeError(`${what}: parameters do not match rank ${x.length}`);
  }
  for (let i = 0; i < x.length; i++) {
    const last = p.start[i] + (p.shape[i] - 1) * p.step[i];
    if (p.shape[i] > 0 && (p.start[i] < 0 || last >= x[i] || p.step[i] < 1)) {
      throw new RangeError(
        `${what}: range start ${p.start[i]}, step ${p.step[i]}, length ${
          p.shape[i]
        } is out of bounds for dimension ${i} of size ${x[i]} (shape ${
          fmtShape(x)
        })`,
      );
    }
  }
}

function matmulShape(a: Aval, b: Aval, p: PrimParams["matmul"]): number[] {
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new RangeError(
      `matmul: operands need rank >= 2, got ${fmtShape(a.shape)} and ${
        fmtShape(b.shape)
      }`,
    );
  }
  const ra = a.shape.length, rb = b.shape.length;
  const m = p.transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const ka = p.transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = p.transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = p.transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (ka !== kb) {
    throw new RangeError(
      `matmul: inner dimensions differ: ${fmtShape(a.shape)}${
        p.transA ? "ᵀ" : ""
      } @ ${fmtShape(b.shape)}${p.transB ? "ᵀ" : ""} (${ka} vs ${kb})`,
    );
  }
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  if (ba.length > 0 && bb.length > 0 && !shapeEq(ba, bb)) {
    throw new RangeError(
      `matmul: batch dimensions differ: ${fmtShape(a.shape)} and ${
        fmtShape(b.shape)
      }`,
    );
  }
  return [...(ba.length > 0 ? ba : bb), m, n];
}

/** `[..., n, n]` with n: the operand of a square-matrix primitive. */
function squareMatrix(what: string, a: Aval, name = "A"): number {
  floatOnly(what, a);
  return squareMatrixSize(what, a.shape, name);
}

/** `A⁻¹ B`: A `[..., n, n]`, B `[..., n, k]`, batch dims equal or one absent. */
function solveRule(what: string): ShapeRule<unknown> {
  return ([a, b]) => {
    const n = squareMatrix(what, a);
    const dtype = sameDtype(what, [a, b]);
    const rb = b.shape.length;
    if (rb < 2 || b.shape[rb - 2] !== n) {
      throw new RangeError(
        `${what}: B must have shape [..., ${n}, k] to match A ${
          fmtShape(a.shape)
        }, got ${fmtShape(b.shape)}`,
      );
    }
    const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
    if (ba.length > 0 && bb.length > 0 && !shapeEq(ba, bb)) {
      throw new RangeError(
        `${what}: batch dimensions differ: A ${fmtShape(a.shape)} and B ${
          fmtShape(b.shape)
        }`,
      );
    }
    return { shape: [...(bb.length > 0 ? bb : ba), n, b.shape[rb - 1]], dtype };
  };
}

/** The complete shape-rule table. */
export const shapeRules: ShapeRules = {
  ...family(UNARY_PRIMS, unaryRule),
  ...family(BINARY_PRIMS, binaryRule),
  ...family(REDUCE_PRIMS, reduceRule),
  where: ([c, a, b]) => {
    const dtype = sameDtype("where", [a, b]);
    return {
      shape: broadcastShapes("where", c.shape, a.shape, b.shape),
      dtype,
    };
  },
  argmax: argRule("argmax"),
  argmin: argRule("argmin"),
  reshape: ([x], { shape }) => {
    if (sizeOf(shape) !== sizeOf(x.shape)) {
      throw new RangeError(
        `reshape: cannot reshape ${fmtShape(x.shape)} into ${fmtShape(shape)}`,
      );
    }
    return { shape, dtype: x.dtype };
  },
  permute: ([x], { perm }) => ({
    shape: perm.map((p) => x.shape[p]),
    dtype: x.dtype,
  }),
  broadcastTo: ([x], { shape }) => {
    const out = broadcastShapes("expand", x.shape, shape);
    if (!shapeEq(out, shape)) {
      throw new RangeError(
        `expand: cannot expand shape ${fmtShape(x.shape)} to ${
          fmtShape(shape)
        }`,
      );
    }
    return { shape, dtype: x.dtype };
  },
  slice: ([x], p) => {
    sliceCheck(x.shape, p, "slice");
    return { shape: p.shape, dtype: x.dtype };
  },
  pad: ([x], p) => {
    const fits = p.shape.map((d, i) =>
      x.shape[i] === 0 ||
      (p.start[i] >= 0 && p.start[i] + (x.shape[i] - 1) * p.step[i] < d)
    );
    if (x.shape.length !== p.shape.length || !fits.every(Boolean)) {
      throw new RangeError(
        `pad: ${fmtShape(x.shape)} does not fit into ${fmtShape(p.shape)}`,
      );
    }
    return { shape: p.shape, dtype: x.dtype };
  },
  cat: (args, { axis }) => {
    const dtype = sameDtype("cat", args);
    const first = args[0].shape;
    let total = 0;
    for (const [i, a] of args.entries()) {
      const ok = a.shape.length === first.length &&
        a.shape.every((d, j) => j === axis || d === first[j]);
      if (!ok) {
        throw new RangeError(
          `cat: tensor ${i} has shape ${
            fmtShape(a.shape)
          }, which differs from ${fmtShape(first)} outside dim ${axis}`,
        );
      }
      total += a.shape[axis];
    }
    const shape = [...first];
    shape[axis] = total;
    return { shape, dtype };
  },
  indexSelect: ([x, index], { axis }) => {
    if (index.dtype !== "int32" || index.shape.length !== 1) {
      throw new TypeError(
        `index: indices must be a 1-D int32 tensor, got ${index.dtype} ${
          fmtShape(index.shape)
        }`,
      );
    }
    const shape = [...x.shape];
    shape[axis] = index.shape[0];
    return { shape, dtype: x.dtype };
  },
  indexAdd: ([src, index], { axis, size }) => {
    if (
      index.dtype !== "int32" || index.shape.length !== 1 ||
      index.shape[0] !== src.shape[axis]
    ) {
      throw new TypeError(
        `indexAdd: indices must be a 1-D int32 tensor of length ${
          src.shape[axis]
        }, got ${index.dtype} ${fmtShape(index.shape)}`,
      );
    }
    const shape = [...src.shape];
    shape[axis] = size;
    return { shape, dtype: src.dtype };
  },
  cast: ([x], { dtype }) => ({ shape: x.shape, dtype }),
  matmul: ([a, b], p) => {
    const dtype = sameDtype("matmul", [a, b]);
    numeric("matmul", a);
    return { shape: matmulShape(a, b, p), dtype };
  },
  stopGradient: ([x]) => x,
  cholesky: ([a]) => {
    squareMatrix("cholesky", a);
    return a;
  },
  triangularSolve: solveRule("solveTriangular"),
  solve: solveRule("solve"),
  slogdet: ([a]) => {
    squareMatrix("slogdet", a);
    return { shape: [...a.shape.slice(0, -2), 2], dtype: a.dtype };
  },
  qr: ([a]) => {
    floatOnly("qr", a);
    const r = a.shape.length;
    if (r < 2 || a.shape[r - 2] < a.shape[r - 1]) {
      throw new RangeError(
        `qr: A must be a matrix or a batch of them [..., m, n] with m >= n (wide matrices are not supported), got shape ${
          fmtShape(a.shape)
        }`,
      );
    }
    const [m, n] = a.shape.slice(-2);
    return { shape: [...a.shape.slice(0, -2), m + n, n], dtype: a.dtype };
  },
  lu: ([a]) => {
    const n = squareMatrix("lu", a);
    return { shape: [...a.shape.slice(0, -2), n + 1, n], dtype: a.dtype };
  },
  eigh: ([a]) => {
    const n = squareMatrix("eigh", a);
    return { shape: [...a.shape.slice(0, -2), n + 1, n], dtype: a.dtype };
  },
  randomSample: ([k], { dist, shape, dtype }) => {
    keysAval("randomSample", "keys", k);
    const want = dist === "permutation" ? ["int32"] : ["float32", "float64"];
    if (
      !want.includes(dtype) || (dist === "permutation" && shape.length !== 1)
    ) {
      throw new TypeError(
        `randomSample: ${dist} draws ${want.join(" or ")} ${
          dist === "permutation" ? "of shape [n]" : ""
        }, got ${dtype} ${fmtShape(shape)}`,
      );
    }
    if (shape.some((d) => d < 0)) {
      throw new RangeError(
        `randomSample: shape must be non-negative, got ${fmtShape(shape)}`,
      );
    }
    return { shape: [...k.shape.slice(0, -1), ...shape], dtype };
  },
  randomDerive: ([k, data]) => {
    keysAval("randomDerive", "keys", k);
    keysAval("randomDerive", "data", data);
    if (!shapeEq(k.shape, data.shape)) {
      throw new RangeError(
        `randomDerive: keys ${fmtShape(k.shape)} and data ${
          fmtShape(data.shape)
        } must have the same shape`,
      );
    }
    return k;
  },
  custom: (args, { op, index }) => op.outAvals(args)[index],
  ...controlShapeRules,
  ...convShapeRules,
  svd: ([a]) => {
    floatOnly("svd", a);
    const r = a.shape.length;
    if (r < 2 || a.shape[r - 2] < a.shape[r - 1]) {
      throw new RangeError(
        `svd: the primitive takes a matrix or a batch of them [..., m, n] with m >= n, got shape ${
          fmtShape(a.shape)
        }`,
      );
    }
    const [m, n] = a.shape.slice(-2);
    return { shape: [...a.shape.slice(0, -2), m + 1 + n, n], dtype: a.dtype };
  },
};

/** Keys (and key-derivation data) are int32 word pairs `[..., 2]`. */
function keysAval(what: string, name: string, k: Aval): void {
  if (k.dtype !== "int32" || k.shape[k.shape.length - 1] !== 2) {
    throw new TypeError(
      `${what}: ${name} must be int32 word pairs [..., 2], got ${k.dtype} ${
        fmtShape(k.shape)
      }`,
    );
  }
}

/** Output aval of `prim` applied to `args`, validating them. */
export function abstractEval<P extends Prim>(
  prim: P,
  args: Aval[],
  params: PrimParams[P],
): Aval {
  checkIntegerParams(prim, params);
  return (shapeRules[prim] as ShapeRule<PrimParams[P]>)(args, params);
}
