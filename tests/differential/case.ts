/**
 * The data model of a differential case: a random program over the ops that
 * jacobi and JAX share, a stack of transforms around it, and two sets of
 * inputs. Everything is plain JSON so that the Python side (jax_ref.py)
 * rebuilds exactly the same computation.
 * @module
 */

/** Index of an earlier value: the inputs are 0..nInputs-1, node i is value nInputs+i. */
export type Ref = number;
/** An operand that may be a plain number (a weak scalar in both libraries). */
export type Operand = Ref | { num: number };

export const UNARY = [
  "neg",
  "abs",
  "exp",
  "log",
  "sqrt",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sigmoid",
  "relu",
  "square",
  "reciprocal",
  "sign",
] as const;
export type UnaryFn = typeof UNARY[number];
export const BINARY = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "maximum",
  "minimum",
] as const;
export type BinaryFn = typeof BINARY[number];
export type CmpFn = "lt" | "le" | "gt" | "ge";
export type ReduceFn = "sum" | "mean" | "prod" | "max" | "min";

/** One step of a program. Shapes may hold -1 where the op accepts it. */
export type Node =
  | { op: "unary"; fn: UnaryFn; x: Ref }
  | { op: "binary"; fn: BinaryFn; a: Operand; b: Operand }
  | {
    op: "where";
    cmp: CmpFn;
    ca: Ref;
    cb: Operand;
    a: Operand;
    b: Operand;
  }
  | {
    op: "reduce";
    fn: ReduceFn;
    x: Ref;
    dim: number | number[] | null;
    keepdim: boolean;
  }
  | { op: "reshape"; x: Ref; shape: number[] }
  | { op: "permute"; x: Ref; dims: number[] }
  | { op: "transpose"; x: Ref; dim0: number; dim1: number }
  | { op: "movedim"; x: Ref; src: number; dst: number }
  | { op: "expand"; x: Ref; shape: number[] }
  | { op: "squeeze"; x: Ref; dim: number | number[] | null }
  | { op: "unsqueeze"; x: Ref; dim: number }
  | { op: "flatten"; x: Ref; start: number; end: number }
  | {
    op: "slice";
    x: Ref;
    dim: number;
    start: number | null;
    end: number | null;
    step: number;
  }
  | { op: "narrow"; x: Ref; dim: number; start: number; length: number }
  | { op: "select"; x: Ref; dim: number; index: number }
  | { op: "cat"; xs: Ref[]; dim: number }
  | { op: "stack"; xs: Ref[]; dim: number }
  | { op: "matmul"; a: Ref; b: Ref }
  | { op: "dot"; a: Ref; b: Ref }
  | { op: "outer"; a: Ref; b: Ref }
  | { op: "linear"; x: Ref; w: Ref; b: Ref | null }
  | { op: "detach"; x: Ref }
  /** A tensor literal created inside the function on every call. */
  | { op: "const"; shape: number[]; data: number[] }
  /** A tensor created once outside the function (closed over). */
  | { op: "captured"; k: number }
  /**
   * A tensor the function creates on its first call and keeps outside for
   * later calls (`store[k] ??= tensor(...)`, as lazily built module state).
   */
  | { op: "lazy"; k: number; shape: number[]; data: number[] };

export interface Program {
  nInputs: number;
  nodes: Node[];
  /** One value, or several (the function returns an array). */
  out: Ref | Ref[];
}

/** How a non-scalar output is turned into the scalar that `grad` needs. */
export type ScalarizeKind = "sum" | "sin" | "square";
export type Argnums = number | number[];

/** One transform, applied to the function built so far (innermost first). */
export type Layer =
  | { t: "grad"; argnums: Argnums; value: boolean; hasAux: boolean }
  | {
    t: "jacrev" | "jacfwd" | "hessian";
    argnums: Argnums;
    chunkSize: number | null;
  }
  /** g(...p, ...t) = jvp(f, p, t): [out, tangent out]. */
  | { t: "jvp" }
  /** g(...p, ...ct) = vjpFn(ct) (with the value: [out, vjpFn(ct)]); ct's leaves follow the nPrimals primals. */
  | { t: "vjp"; withValue: boolean; nPrimals: number }
  /** g(...p, ...t) = jvpFn(...t) of linearize (with the value: [out, jvpFn(...t)]). */
  | { t: "linearize"; withValue: boolean }
  | {
    t: "vmap";
    /** One entry per argument, or one number for all of them. */
    inDims: (number | null)[] | number;
    outDims: number | number[];
    chunkSize: number | null;
    /** The batch size (for typing the stack; the arguments carry it). */
    batch: number;
  }
  | { t: "jit" }
  /** Adapter: a scalar from the output leaves; with aux, [scalar, output]. */
  | { t: "scalarize"; kind: ScalarizeKind; aux: boolean };

/** An abstract value: a tensor of `shape`, or an array of abstract values. */
export type AType = { shape: number[] } | AType[];

export interface Case {
  seed: number;
  index: number;
  program: Program;
  /** Shapes of the program's inputs. */
  inputShapes: number[][];
  /** The interval each input's values are drawn from. */
  inputRanges: [number, number][];
  captured: { shape: number[]; data: number[] }[];
  layers: Layer[];
  /** Shapes of the outermost function's arguments. */
  argShapes: number[][];
  /** The outermost function's output structure (what both sides must return). */
  outType: AType;
  /** Two argument sets (flat row-major data) for the two calls. */
  inputs: [number[][], number[][]];
}

/** Leaves of an abstract type, in flatten order (arrays in order). */
export function atLeaves(t: AType): number[][] {
  return Array.isArray(t) ? t.flatMap(atLeaves) : [t.shape];
}

export const sizeOf = (s: readonly number[]): number =>
  s.reduce((a, b) => a * b, 1);

/** The values a step reads. */
export const refsOf = (n: Node): Ref[] => {
  const r = (o: unknown) => (typeof o === "number" ? [o] : []);
  switch (n.op) {
    case "binary":
      return [...r(n.a), ...r(n.b)];
    case "where":
      return [n.ca, ...r(n.cb), ...r(n.a), ...r(n.b)];
    case "cat":
    case "stack":
      return n.xs;
    case "matmul":
    case "dot":
    case "outer":
      return [n.a, n.b];
    case "linear":
      return n.b === null ? [n.x, n.w] : [n.x, n.w, n.b];
    case "const":
    case "captured":
    case "lazy":
      return [];
    default:
      return [n.x];
  }
};
