/**
 * The one intermediate representation: a {@link Program} is a flat list of
 * primitive applications ({@link Eqn}) over numbered variables, with
 * constants inline and the shape and dtype ({@link Aval}) of every variable.
 *
 * The staging trace records it (src/core/staging_trace.ts); linearize's
 * tangent program, the transposed (reverse-mode) program, `jit`'s compiled
 * function and `makeProgram`'s output are all Programs. `printProgram` shows
 * one like a jaxpr and `checkProgram` re-derives every equation's aval from
 * the shape rules, so each pass can be checked in tests.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import type { Prim, PrimParams } from "./primitives.ts";
import { abstractEval } from "./rules/abstract_eval.ts";
import type { Tensor } from "./tensor.ts";

/** Shape and dtype: what a transform knows about a value it cannot see. */
export interface Aval {
  /** Size of each dimension. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
}

/** An operand: a variable of the program or a constant. */
export type Atom = { readonly var: number } | { readonly const: Tensor };

/** One primitive application writing variable `out`. */
export interface Eqn {
  /** The primitive applied. */
  readonly prim: Prim;
  /** Its operands, in order. */
  readonly inputs: readonly Atom[];
  /** Its static parameters (axes, shapes, flags), never tensors. */
  readonly params: unknown;
  /** The variable it defines. */
  readonly out: number;
  /** Shape and dtype of `out`. */
  readonly aval: Aval;
}

/**
 * An equation's params as a string that two equations share exactly when
 * their params are equal: what common-subexpression keys compare.
 * Sub-programs and custom ops write an id per object (their `toJSON`).
 * JSON writes -0 as `0` and NaN and ±Infinity all as `null`; here each
 * keeps its own spelling, so params that differ only there stay apart.
 */
export function paramsKey(params: unknown): string {
  return params === null ? "null" : JSON.stringify(params, exactNumbers) ?? "";
}

function exactNumbers(_key: string, v: unknown): unknown {
  return typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0))
    ? `\u0000${Object.is(v, -0) ? "-0" : v}`
    : v;
}

/** Constants of at most this many elements are merged by value. */
const SMALL_CONSTANT = 16;

/** A number's text that tells -0 from 0 and keeps NaN equal to itself. */
const bitsOf = (v: number) => Object.is(v, -0) ? "-0" : String(v);

/**
 * Keys of equations for common-subexpression elimination, the same for
 * jit's pass over a finished program and for merging while staging: two
 * equations share a key when they apply the same primitive with equal
 * params ({@link paramsKey}) to the same operands. Small concrete
 * constants count as the same operand when their values are (each trace of
 * a transform makes its own `1` seed, and keying those by object kept
 * repeated work apart); other constants by object.
 */
export class EquationKeys {
  private readonly ids = new Map<Tensor, number>();
  private readonly byValue = new Map<Tensor, string>(); // read once

  /** The key of applying `prim` with `params` to `inputs` (variables renamed by `alias`). */
  of(
    prim: string,
    params: unknown,
    inputs: readonly Atom[],
    alias?: ReadonlyMap<number, number>,
  ): string {
    let k = `${prim}|${paramsKey(params)}`;
    for (const a of inputs) {
      k += "var" in a
        ? `|v${alias?.get(a.var) ?? a.var}`
        : `|${this.constant(a.const)}`;
    }
    return k;
  }

  private constant(c: Tensor): string {
    if (
      c.size <= SMALL_CONSTANT && c._storage !== null && !c._storage.disposed
    ) {
      let key = this.byValue.get(c);
      if (key === undefined) {
        key = `k${c.dtype}[${c.shape}]=${
          Array.from(c.data(), bitsOf).join(",")
        }`;
        this.byValue.set(c, key);
      }
      return key;
    }
    let id = this.ids.get(c);
    if (id === undefined) this.ids.set(c, id = this.ids.size);
    return `c${id}`;
  }
}

/** True for an operand that is a variable of the program (not a constant). */
export const isVar = (a: Atom): a is { readonly var: number } => "var" in a;

/**
 * A program from `inputs` to `outputs` (a null output is a symbolic zero of
 * its `outputAvals` entry). `avals` holds the aval of every variable.
 *
 * @example
 * ```ts
 * import { makeProgram, tensor } from "./mod.ts";
 * const p = makeProgram((x) => x.sin().mul(2).sum())(tensor([1, 2, 3]));
 * console.log(p.toString());
 * // { lambda ; a:f32[3] . let
 * //     b:f32[3] = sin a
 * //     c:f32[3] = mul b 2.0:f32[]
 * //     d:f32[] = sum[axes=[0]] c
 * //   in (d) }
 * ```
 */
export class Program {
  /** @internal programs are made by tracing (makeProgram, jit, linearize). */
  constructor(
    /** The input variables, in argument order. */
    readonly inputs: readonly number[],
    /** The equations in execution order. */
    readonly eqns: readonly Eqn[],
    /** The outputs: variables, constants, or null for a symbolic zero. */
    readonly outputs: readonly (Atom | null)[],
    /** The aval of each output (also of null ones). */
    readonly outputAvals: readonly Aval[],
    /** The aval of every variable (inputs and equation results). */
    readonly avals: ReadonlyMap<number, Aval>,
  ) {}

  /** The avals of the inputs, in order. */
  get inputAvals(): Aval[] {
    return this.inputs.map((v) => this.avals.get(v)!);
  }

  /** The same program with other equations and outputs (for passes). */
  with(eqns: readonly Eqn[], outputs: readonly (Atom | null)[]): Program {
    return new Program(
      this.inputs,
      eqns,
      outputs,
      this.outputAvals,
      this.avals,
    );
  }

  /**
   * What `JSON.stringify` writes inside params (a control-flow equation
   * carries its sub-programs there): an id, one per program object, so that
   * common-subexpression keys compare sub-programs by identity.
   */
  toJSON(): string {
    let id = programIds.get(this);
    if (id === undefined) programIds.set(this, id = nextProgramId++);
    return `program#${id}`;
  }

  /** The text form, like a jaxpr (see {@link printProgram}). */
  toString(): string {
    return printProgram(this);
  }
  /** `console.log` in Deno prints the text form. */
  [Symbol.for("Deno.customInspect")](): string {
    return printProgram(this);
  }
  /** `console.log` in Node prints the text form. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return printProgram(this);
  }
}

const programIds = new WeakMap<Program, number>();

/** Notes printed after equations of a program (jit's fusion groups). */
const eqnNotes = new WeakMap<Program, ReadonlyMap<number, string>>();

/** Attaches `notes` (by equation index) to `p`'s text form; returns `p`. */
export function annotateProgram(
  p: Program,
  notes: ReadonlyMap<number, string>,
): Program {
  eqnNotes.set(p, notes);
  return p;
}
let nextProgramId = 0;

/**
 * The first variable number that no variable of `p` uses (inputs, equation
 * results, anything `avals` names): passes number new variables from it.
 * Loops, not `Math.max(...ids)`: a spread of 10⁵ ids overflows the stack.
 */
export function firstFreeVar(p: Program): number {
  let next = 0;
  for (const v of p.avals.keys()) next = Math.max(next, v + 1);
  for (const e of p.eqns) next = Math.max(next, e.out + 1);
  return next;
}

/**
 * How many times each variable is read by `eqns` and `outputs`, counting
 * only the equations the outputs need (a dead reader is no reader).
 */
export function liveReads(
  eqns: readonly Eqn[],
  outputs: readonly (Atom | null)[],
): Map<number, number> {
  const reads = new Map<number, number>();
  const use = (a: Atom | null) => {
    if (a !== null && isVar(a)) reads.set(a.var, (reads.get(a.var) ?? 0) + 1);
  };
  outputs.forEach(use);
  for (let i = eqns.length - 1; i >= 0; i--) {
    if (reads.has(eqns[i].out)) eqns[i].inputs.forEach(use);
  }
  return reads;
}

/** The sub-programs an equation carries in its params (control flow). */
export function subPrograms(params: unknown): Program[] {
  if (params === null || typeof params !== "object") return [];
  const out: Program[] = [];
  for (const v of Object.values(params as Record<string, unknown>)) {
    if (v instanceof Program) out.push(v);
    else if (Array.isArray(v)) {
      for (const x of v) if (x instanceof Program) out.push(x);
    }
  }
  return out;
}

/** The constants a program reads: what must outlive its recording. */
export function programConstants(p: Program): Tensor[] {
  const out: Tensor[] = [];
  for (const e of p.eqns) {
    for (const a of e.inputs) if (!isVar(a)) out.push(a.const);
  }
  for (const o of p.outputs) if (o !== null && !isVar(o)) out.push(o.const);
  return out;
}

const DTYPE_SHORT: Record<DType, string> = {
  float32: "f32",
  float64: "f64",
  int32: "i32",
  bool: "bool",
};

/** `f32[2,3]`: the aval as a jaxpr writes it. */
export function fmtAval(a: Aval): string {
  return `${DTYPE_SHORT[a.dtype]}[${a.shape.join(",")}]`;
}

/** Variable names a, b, ..., z, ba, bb, ... in order of first appearance. */
function namer(): (v: number) => string {
  const names = new Map<number, string>();
  return (v) => {
    let n = names.get(v);
    if (n === undefined) {
      let i = names.size;
      n = "";
      do {
        n = String.fromCharCode(97 + (i % 26)) + n;
        i = Math.floor(i / 26);
      } while (i > 0);
      names.set(v, n);
    }
    return n;
  };
}

function fmtParams(params: unknown, indent: string): string {
  if (params === null || params === undefined) return "";
  const inner = indent + "  ";
  const plain: string[] = [];
  const nested: string[] = [];
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    // A sub-program prints in full, indented under its equation.
    if (v instanceof Program) {
      nested.push(`${k}=${printProgram(v, inner)}`);
    } else if (Array.isArray(v) && v.length > 0 && v[0] instanceof Program) {
      v.forEach((b, i) => nested.push(`${k}[${i}]=${printProgram(b, inner)}`));
    } else if (v !== null) plain.push(`${k}=${JSON.stringify(v)}`);
  }
  if (!plain.length && !nested.length) return "";
  const head = plain.join(" ");
  if (!nested.length) return `[${head}]`;
  return `[${head}\n${inner}${nested.join(`\n${inner}`)}]`;
}

/**
 * The text form of a program, readable like a jaxpr: constants that are
 * not scalars are bound as `c0`, `c1`, ... before the `;`, inputs after it;
 * a scalar constant is printed inline as `value:dtype[]`.
 */
export function printProgram(p: Program, indent = ""): string {
  const name = namer();
  const consts = new Map<Tensor, string>();
  const atom = (a: Atom | null, i?: number): string => {
    if (a === null) return `0.0:${fmtAval(p.outputAvals[i ?? 0])}`;
    if (isVar(a)) return name(a.var);
    const c = a.const;
    if (c.size === 1 && c._storage !== null && !c._storage.disposed) {
      const v = c.data()[0];
      const text = c.dtype === "bool"
        ? String(v !== 0)
        : Number.isInteger(v) && c.dtype !== "int32"
        ? v.toFixed(1)
        : String(v);
      return `${text}:${fmtAval(c)}`;
    }
    let n = consts.get(c);
    if (n === undefined) consts.set(c, n = `c${consts.size}`);
    return n;
  };
  for (const v of p.inputs) name(v);
  const notes = eqnNotes.get(p);
  const lines = p.eqns.map((e, i) => {
    const args = e.inputs.map((a) => atom(a)).join(" ");
    const note = notes?.get(i);
    return `${indent}    ${name(e.out)}:${fmtAval(e.aval)} = ${e.prim}${
      fmtParams(e.params, indent + "    ")
    } ${args}${note === undefined ? "" : `  # ${note}`}`;
  });
  const outs = p.outputs.map((o, i) => atom(o, i)).join(" ");
  const ins = p.inputs.map((v) => `${name(v)}:${fmtAval(p.avals.get(v)!)}`);
  const cs = [...consts].map(([c, n]) => `${n}:${fmtAval(c)}`);
  return `{ lambda ${cs.join(" ")}${cs.length ? " " : ""}; ${
    ins.join(" ")
  } . let\n${lines.join("\n")}${
    lines.length ? "\n" : ""
  }${indent}  in (${outs}) }`;
}

/** Thrown by {@link checkProgram}: names the equation and what is wrong. */
export class ProgramError extends Error {
  override name = "ProgramError";
}

function sameAval(a: Aval, b: Aval): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * Checks that a program is well formed: every variable is defined once
 * before it is used, every equation's aval is what the primitive's shape
 * rule derives from its operands (types, shapes and dtypes re-derived), and
 * every output matches its declared aval. Throws a {@link ProgramError}.
 */
export function checkProgram(p: Program): void {
  const defined = new Map<number, Aval>();
  const fail = (what: string): never => {
    throw new ProgramError(`${what}\nin program:\n${printProgram(p)}`);
  };
  for (const v of p.inputs) {
    const a = p.avals.get(v);
    if (a === undefined) fail(`input variable ${v} has no aval`);
    if (defined.has(v)) fail(`input variable ${v} appears twice`);
    defined.set(v, a!);
  }
  const avalOf = (a: Atom, where: string): Aval => {
    if (!isVar(a)) return a.const;
    const d = defined.get(a.var);
    if (d === undefined) {
      fail(`${where}: variable ${a.var} is used before it is defined`);
    }
    return d!;
  };
  p.eqns.forEach((e, i) => {
    const where = `equation ${i} (${e.prim})`;
    const ins = e.inputs.map((a) => avalOf(a, where));
    let derived: Aval;
    try {
      derived = abstractEval(e.prim, ins, e.params as PrimParams[Prim]);
    } catch (err) {
      return fail(
        `${where}: the shape rule rejects its operands: ${
          (err as Error).message
        }`,
      );
    }
    if (!sameAval(derived, e.aval)) {
      fail(
        `${where}: recorded ${fmtAval(e.aval)} but the shape rule gives ${
          fmtAval(derived)
        }`,
      );
    }
    if (defined.has(e.out)) {
      fail(`${where}: variable ${e.out} is defined twice`);
    }
    const declared = p.avals.get(e.out);
    if (declared !== undefined && !sameAval(declared, e.aval)) {
      fail(
        `${where}: avals table says ${
          fmtAval(declared)
        } for its result, the equation ${fmtAval(e.aval)}`,
      );
    }
    defined.set(e.out, e.aval);
    // Sub-programs (control flow) are checked as programs of their own.
    for (const sub of subPrograms(e.params)) checkProgram(sub);
  });
  if (p.outputs.length !== p.outputAvals.length) {
    fail(
      `${p.outputs.length} outputs but ${p.outputAvals.length} output avals`,
    );
  }
  p.outputs.forEach((o, i) => {
    if (o === null) return;
    const a = avalOf(o, `output ${i}`);
    if (!sameAval(a, p.outputAvals[i])) {
      fail(
        `output ${i}: ${fmtAval(a)} but declared ${fmtAval(p.outputAvals[i])}`,
      );
    }
  });
}
