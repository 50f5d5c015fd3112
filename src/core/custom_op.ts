/**
 * Calls the library sees only through rules the caller supplies: the one
 * `custom` primitive carries a {@link CustomOp}, whose methods are its shape
 * rule, eager evaluation, JVP, batching and transpose rules. Each user-facing
 * mechanism is a subclass that keeps the user's functions as closures:
 *
 * - {@link CustomJvpOp} (`customJvp`): the JVP trace applies the user's rule;
 *   reverse mode transposes what the rule recorded (it must be linear in the
 *   tangents, as in JAX).
 * - {@link CustomVjpOp} (`customVjp`): the JVP trace runs `fwd` and emits a
 *   {@link CustomVjpLinOp} on the tangents, whose transpose runs `bwd`;
 *   applied forwards (forward mode) it differentiates `f` itself.
 * - {@link CheckpointOp} (`checkpoint`): the tangent is a
 *   {@link RematLinOp} that keeps only the inputs of `f`; its transpose
 *   linearizes `f` again (recomputing the residuals) and transposes that.
 *
 * Other traces never look inside: the batch trace batches the closures and
 * binds a new op one level down (so a JVP trace below vmap still sees the
 * custom rule), eager evaluation runs the function, and a staging trace for
 * jit or makeProgram inlines it (jit then calls the function itself under
 * an enclosing transform: src/jit/jit.ts).
 *
 * A primitive has one result, so a call with several outputs is one
 * equation per output; a one-entry memo per op computes them once.
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { releaseTemporaries } from "../backend/storage.ts";
import type { Aval } from "./ir.ts";
import { moveBatch } from "./rules/batch.ts";
import { LinearArg, type TArg } from "./rules/transpose.ts";
import { jvpFlat, linearizeFlat } from "./ad.ts";
import { vmapFlat } from "./batch_trace.ts";
import { StagedTracer, StagingTrace } from "./staging_trace.ts";
import { bind, withMain, withSharedEvaluations } from "./trace.ts";
import { transposeProgram } from "./interpret.ts";
import { instantiate, sum, zerosOf } from "./lax.ts";
import { withChunkTemporaries } from "./scope.ts";
import { fmtShape } from "./shape.ts";

let nextId = 0;

/** Binds every output of `op` on `args` (one `custom` equation per output). */
export function bindCustom(op: CustomOp, args: Tensor[]): Tensor[] {
  const first = bind("custom", args, { op, index: 0 });
  const n = op.nOut;
  if (n === null) throw new Error(`internal: ${op.label} has no output count`);
  const outs = [first];
  for (let j = 1; j < n; j++) outs.push(bind("custom", args, { op, index: j }));
  return outs;
}

interface Memo {
  keys: readonly unknown[];
  value: unknown;
}

const sameKeys = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

const live = (v: unknown): boolean =>
  !Array.isArray(v)
    ? !((v as Tensor | null)?._storage?.disposed ?? false)
    : v.every(live);

/**
 * The rules of one custom call (see the module documentation): what the
 * `custom` primitive's equations carry in their params (`{ op, index }`).
 * Made by `customJvp`, `customVjp` and `checkpoint`; not constructed by users.
 *
 * @example
 * ```ts
 * import { checkpoint, type CustomOp, linearize, makeProgram, tensor, type Tensor } from "./mod.ts";
 * const f = checkpoint((x: Tensor) => x.sin());
 * // The tangent program of a checkpointed call is one `custom` equation.
 * const [, jvpFn] = linearize(f, tensor([1, 2]));
 * const p = makeProgram((t: Tensor) => jvpFn(t))(tensor([1, 1]));
 * const label = (e: { params: unknown }) => (e.params as { op?: CustomOp }).op?.label;
 * ```
 */
export abstract class CustomOp {
  /** A number unique to this call (in printed programs and jit's keys). */
  readonly id = nextId++;
  /** Number of outputs, once known (set by whichever rule ran first). */
  nOut: number | null = null;
  #avals: Aval[] | null = null;
  #memo = new Map<string, Memo>();

  /** `label` names the call in errors and printed programs. */
  constructor(readonly label: string) {}

  /** All outputs from the operands, through ordinary operations. */
  abstract run(args: Tensor[]): Tensor[];

  /** Records the output count (and checks it against an earlier one). */
  protected setOut(n: number): void {
    if (this.nOut !== null && this.nOut !== n) {
      throw new TypeError(
        `${this.label}: the function returned ${this.nOut} tensors but its rule ${n}; they must return the same structure`,
      );
    }
    this.nOut = n;
  }

  /** Computes all outputs once for the equations of one call. */
  protected memo<V>(kind: string, given: unknown[], compute: () => V): V {
    // A staging trace lifts a lower-level operand into a new tracer at
    // each bind: the operand itself is the key.
    const keys = given.map((k) =>
      k instanceof StagedTracer && k.known !== null ? k.known : k
    );
    const m = this.#memo.get(kind);
    if (m !== undefined && sameKeys(m.keys, keys) && live(m.value)) {
      return m.value as V;
    }
    const value = compute();
    this.#memo.set(kind, { keys, value });
    return value;
  }

  /** Output `index`, evaluated by running the op's function (eager). */
  impl(args: Tensor[], index: number): Tensor {
    return this.memo("impl", args, () => this.run(args))[index];
  }

  /** The JVP rule for output `index`. */
  jvp(
    primals: Tensor[],
    tangents: (Tensor | null)[],
    index: number,
  ): [Tensor, Tensor | null] {
    const [o, t] = this.memo(
      "jvp",
      [...primals, ...tangents],
      () => this.jvpAll(primals, tangents),
    );
    this.setOut(o.length);
    return [o[index], t[index]];
  }

  /** Default JVP: differentiate the op's function. */
  protected jvpAll(
    primals: Tensor[],
    tangents: (Tensor | null)[],
  ): [Tensor[], (Tensor | null)[]] {
    const r = jvpFlat(
      this.label,
      (xs) => [this.run(xs), undefined],
      primals,
      tangents,
    );
    return [r.outs, r.tangents];
  }

  /** The batching rule for output `index`: every output is batched at 0. */
  batch(
    vals: Tensor[],
    dims: (number | null)[],
    size: number,
    index: number,
  ): [Tensor, number | null] {
    const outs = this.memo(
      "batch",
      [...vals, ...dims, size],
      () => this.batchAll(vals, dims, size),
    );
    this.setOut(outs.length);
    return [outs[index], 0];
  }

  /** Default batching: vmap the op's function. */
  protected batchAll(
    vals: Tensor[],
    dims: (number | null)[],
    size: number,
  ): Tensor[] {
    return vmapFlat(
      this.label,
      (xs) => this.run(xs),
      vals,
      dims,
      size,
      () => 0,
    );
  }

  // deno-doc-ignore private-type-ref
  /**
   * The transpose rule for output `index`. The default holds for a function
   * linear in its unknown operands: its transpose is its vjp at any point
   * (zeros for the unknown ones).
   */
  transpose(ct: Tensor, args: TArg[], index: number): (Tensor | null)[] {
    const lin = args.map((a) => a instanceof LinearArg);
    const point = args.map((a) => a instanceof LinearArg ? zerosOf(a.aval) : a);
    const xs = point.filter((_, i) => lin[i]);
    const r = linearizeFlat(this.label, (ys) => {
      let k = 0;
      const full = point.map((p, i) => (lin[i] ? ys[k++] : p));
      return [[this.run(full)[index]], undefined];
    }, xs);
    const cts = transposeProgram(r.program, [ct]);
    let k = 0;
    return args.map((_, i) => (lin[i] ? cts[k++] : null));
  }

  /** The avals of the outputs (the shape rule), by staging the function once. */
  outAvals(args: Aval[]): Aval[] {
    if (this.#avals === null) {
      this.#avals = withMain(`${this.label} (shapes)`, (main) => {
        const trace = new StagingTrace(main);
        const outs = this.run(args.map((a) => trace.newInput(a)));
        return outs.map((o) => ({ shape: o.shape, dtype: o.dtype }));
      });
    }
    return this.#avals;
  }

  /** Sets the output avals when they are known without staging. */
  protected knownAvals(avals: Aval[]): void {
    this.#avals = avals;
    this.nOut = avals.length;
  }

  /** How an equation's params print and compare (jit's CSE keys by JSON). */
  toJSON(): string {
    return `${this.label}#${this.id}`;
  }
}

const levelOf = (t: Tensor | null) =>
  t === null || t._trace === null ? 0 : t._trace.main.level;

/**
 * A rule's results must come from its operands: a value of a higher level
 * than all of them is a tracer the user's function closed over (a value an
 * enclosing transform differentiates), which the rule cannot account for.
 * JAX converts such closures into arguments; JavaScript closures cannot be
 * inspected, so this is an error that says what to do.
 */
function checkNoClosure(
  label: string,
  ins: readonly (Tensor | null)[],
  outs: readonly (Tensor | null)[],
): void {
  const top = Math.max(0, ...ins.map(levelOf));
  const bad = outs.find((o) => levelOf(o) > top);
  if (bad !== undefined) {
    throw new Error(
      `${label}: the function or its rules use a value that an enclosing transform (${
        bad!._trace!.main.name
      }) traces but that is not an argument of the call (it is closed over); pass it to the function as an argument`,
    );
  }
}

/** Checks a rule's tangent against its primal output. */
function checkTangent(label: string, what: string, t: Tensor, p: Tensor): void {
  if (
    t.dtype !== p.dtype || t.shape.length !== p.shape.length ||
    t.shape.some((d, i) => d !== p.shape[i])
  ) {
    throw new TypeError(
      `${label}: ${what} has shape ${
        fmtShape(t.shape)
      } and dtype ${t.dtype}, but the output has shape ${
        fmtShape(p.shape)
      } and dtype ${p.dtype}`,
    );
  }
}

/** Moves a batched cotangent (batch at 0) to where the operand's batch is, or sums it away. */
function unbatchCt(ct: Tensor, d: number | null, size: number): Tensor {
  return d === null ? sum(ct, [0]) : moveBatch(ct, 0, d, size);
}

/** Flat function of a custom call. */
export type FlatFn = (xs: Tensor[]) => Tensor[];
/** Flat JVP rule: all tangents given (zeros instantiated). */
export type FlatJvpRule = (ps: Tensor[], ts: Tensor[]) => [Tensor[], Tensor[]];

/** `customJvp`: a function with a user JVP rule. */
/**
 * An op that wraps the user's function `fn` (customJvp, customVjp,
 * checkpoint): it runs `fn`, and a call with no tangent stays a custom
 * call for the traces below.
 */
abstract class FunctionOp extends CustomOp {
  constructor(label: string, readonly fn: FlatFn) {
    super(label);
  }
  run(args: Tensor[]): Tensor[] {
    const outs = this.fn(args);
    this.setOut(outs.length);
    return outs;
  }
  /** The JVP of a call none of whose operands has a tangent. */
  protected withoutTangents(
    primals: Tensor[],
    outs = bindCustom(this, primals),
  ): [Tensor[], null[]] {
    return [outs, primals.map(() => null)];
  }
}

export class CustomJvpOp extends FunctionOp {
  constructor(label: string, fn: FlatFn, readonly rule: FlatJvpRule) {
    super(label, fn);
  }
  protected override jvpAll(
    primals: Tensor[],
    tangents: (Tensor | null)[],
  ): [Tensor[], (Tensor | null)[]] {
    if (tangents.every((t) => t === null)) return this.withoutTangents(primals);
    const ts = tangents.map((t, i) => instantiate(t, primals[i]));
    const [outs, touts] = this.rule(primals, ts);
    checkNoClosure(this.label, [...primals, ...tangents], [...outs, ...touts]);
    this.setOut(outs.length);
    if (touts.length !== outs.length) {
      throw new TypeError(
        `${this.label}: the JVP rule returned ${outs.length} outputs but ${touts.length} tangents`,
      );
    }
    touts.forEach((t, j) =>
      checkTangent(this.label, `the JVP rule's tangent ${j}`, t, outs[j])
    );
    return [outs, touts];
  }
  protected override batchAll(
    vals: Tensor[],
    dims: (number | null)[],
    size: number,
  ): Tensor[] {
    // The same call, batched, one level down: a JVP trace below still
    // applies the (batched) rule.
    const n = vals.length;
    const fn: FlatFn = (ws) =>
      vmapFlat(this.label, (xs) => this.run(xs), ws, dims, size, () => 0);
    const rule: FlatJvpRule = (ps, ts) => {
      let m = 0;
      const all = vmapFlat(
        this.label,
        (xs) => {
          const [o, t] = this.rule(xs.slice(0, n), xs.slice(n));
          m = o.length;
          return [...o, ...t];
        },
        [...ps, ...ts],
        [...dims, ...dims],
        size,
        () => 0,
      );
      return [all.slice(0, m), all.slice(m)];
    };
    return bindCustom(new CustomJvpOp(this.label, fn, rule), vals);
  }
}

/** Flat forward pass of customVjp: outputs and residuals. */
export type FlatFwd = (xs: Tensor[]) => [Tensor[], Tensor[]];
/** Flat backward pass: a cotangent for every input (zeros instantiated). */
export type FlatBwd = (res: Tensor[], cts: Tensor[]) => Tensor[];

/** `customVjp`: a function with user forward and backward passes. */
export class CustomVjpOp extends FunctionOp {
  constructor(
    label: string,
    fn: FlatFn,
    readonly fwd: FlatFwd,
    readonly bwd: FlatBwd,
  ) {
    super(label, fn);
  }
  protected override jvpAll(
    primals: Tensor[],
    tangents: (Tensor | null)[],
  ): [Tensor[], (Tensor | null)[]] {
    if (tangents.every((t) => t === null)) return this.withoutTangents(primals);
    const [outs, res] = this.fwd(primals);
    checkNoClosure(this.label, [...primals, ...tangents], [...outs, ...res]);
    this.setOut(outs.length);
    const ts = tangents.map((t, i) => instantiate(t, primals[i]));
    const lin = new CustomVjpLinOp(this, primals.length, res.length, outs);
    return [outs, bindCustom(lin, [...ts, ...res, ...primals])];
  }
  protected override batchAll(
    vals: Tensor[],
    dims: (number | null)[],
    size: number,
  ): Tensor[] {
    const n = vals.length;
    const zero = () => 0;
    const fn: FlatFn = (ws) =>
      vmapFlat(this.label, (xs) => this.run(xs), ws, dims, size, zero);
    const fwd: FlatFwd = (ws) => {
      let m = 0;
      const all = vmapFlat(
        this.label,
        (xs) => {
          const [o, r] = this.fwd(xs);
          m = o.length;
          return [...o, ...r];
        },
        ws,
        dims,
        size,
        zero,
      );
      return [all.slice(0, m), all.slice(m)];
    };
    // Residuals and output cotangents are batched at 0; each input's
    // cotangent goes back to its input's batch dim (summed if unbatched).
    const bwd: FlatBwd = (res, cts) => {
      const r = res.length;
      const all = vmapFlat(
        this.label,
        (xs) => this.bwd(xs.slice(0, r), xs.slice(r)),
        [...res, ...cts],
        [...res, ...cts].map(zero),
        size,
        zero,
      );
      return all.slice(0, n).map((c, i) => unbatchCt(c, dims[i], size));
    };
    return bindCustom(new CustomVjpOp(this.label, fn, fwd, bwd), vals);
  }
}

/**
 * The tangent map of a customVjp call: operands are the input tangents
 * (linear), the residuals and the primal inputs. Transposed, it runs
 * `bwd`; applied forwards (forward mode), it differentiates `f` itself.
 */
export class CustomVjpLinOp extends CustomOp {
  constructor(
    readonly parent: CustomVjpOp,
    readonly nIn: number,
    readonly nRes: number,
    outs: Aval[],
  ) {
    super(`${parent.label} (vjp)`);
    this.knownAvals(outs.map((o) => ({ shape: o.shape, dtype: o.dtype })));
  }
  run(args: Tensor[]): Tensor[] {
    const ts = args.slice(0, this.nIn);
    const ps = args.slice(this.nIn + this.nRes);
    try {
      const r = jvpFlat(
        this.parent.label,
        (xs) => [this.parent.run(xs), undefined],
        ps,
        ts,
      );
      return r.tangents.map((t, i) => instantiate(t, r.outs[i]));
    } catch (e) {
      if (e instanceof Error) {
        e.message =
          `${this.parent.label}: forward-mode differentiation of a customVjp function differentiates the function itself, which failed: ${e.message}`;
      }
      throw e;
    }
  }
  override transpose(
    ct: Tensor,
    args: TArg[],
    index: number,
  ): (Tensor | null)[] {
    const avals = this.outAvals([]);
    const cts = avals.map((a, j) => (j === index ? ct : zerosOf(a)));
    const res = args.slice(this.nIn, this.nIn + this.nRes);
    if (res.some((r) => r instanceof LinearArg)) {
      throw new Error(`internal: ${this.label}: a residual is linear`);
    }
    const back = this.parent.bwd(res as Tensor[], cts);
    return args.map((_, i) => (i < this.nIn ? back[i] : null));
  }
}

/**
 * Inside a jit program, the recomputation must not be merged with the
 * forward pass by common-subexpression elimination (that would keep the
 * residuals alive again): it starts from `stopGradient` of the inputs, a
 * free alias (its lowering returns the operand's buffer). Safe there: jit
 * stages only on concrete inputs, so no derivative below is lost. Under
 * any other trace the inputs are used as they are.
 */
function barrier(p: Tensor): Tensor {
  const t = p._trace;
  return t instanceof StagingTrace && t.inlineCustom
    ? bind("stopGradient", [p], null)
    : p;
}

/** `checkpoint`: a function whose residuals are recomputed in the backward pass. */
export class CheckpointOp extends FunctionOp {
  override impl(args: Tensor[], index: number): Tensor {
    // Concrete operands: the function's intermediates are needed by nothing
    // but its outputs (no trace saw them), so they are freed now.
    return this.memo("impl", args, () =>
      releaseTemporaries(
        () => withSharedEvaluations(() => this.run(args), true),
        (outs) =>
          outs.every((o) => o._trace === null)
            ? new Set(outs.map((o) => o._storage!))
            : null,
      ))[index];
  }
  protected override jvpAll(
    primals: Tensor[],
    tangents: (Tensor | null)[],
  ): [Tensor[], (Tensor | null)[]] {
    const outs = bindCustom(this, primals);
    checkNoClosure(this.label, [...primals, ...tangents], outs);
    if (tangents.every((t) => t === null)) {
      return this.withoutTangents(primals, outs);
    }
    const ts = tangents.map((t, i) => instantiate(t, primals[i]));
    const lin = new RematLinOp(this, primals.length, outs);
    return [outs, bindCustom(lin, [...ts, ...primals])];
  }
  protected override batchAll(
    vals: Tensor[],
    dims: (number | null)[],
    size: number,
  ): Tensor[] {
    const fn: FlatFn = (ws) =>
      vmapFlat(this.label, (xs) => this.run(xs), ws, dims, size, () => 0);
    return bindCustom(new CheckpointOp(this.label, fn), vals);
  }
}

/**
 * The tangent map of a checkpointed call: operands are the input tangents
 * (linear) and the primal inputs, its only residuals. Its transpose
 * linearizes the function again and transposes that.
 */
export class RematLinOp extends CustomOp {
  constructor(
    readonly parent: CheckpointOp,
    readonly nIn: number,
    outs: Aval[],
  ) {
    super(`${parent.label} (linear)`);
    this.knownAvals(outs.map((o) => ({ shape: o.shape, dtype: o.dtype })));
  }
  run(args: Tensor[]): Tensor[] {
    const ts = args.slice(0, this.nIn);
    const ps = args.slice(this.nIn);
    const r = jvpFlat(
      this.parent.label,
      (xs) => [this.parent.run(xs), undefined],
      ps,
      ts,
    );
    return r.tangents.map((t, i) => instantiate(t, r.outs[i]));
  }
  override transpose(
    ct: Tensor,
    args: TArg[],
    index: number,
  ): (Tensor | null)[] {
    const avals = this.outAvals([]);
    const ps = args.slice(this.nIn);
    if (ps.some((p) => p instanceof LinearArg)) {
      throw new Error(`internal: ${this.label}: a primal is linear`);
    }
    let back: (Tensor | null)[] = [];
    // At the top level the recomputed residuals are freed as soon as this
    // segment's cotangents exist: that is the memory checkpointing saves.
    withChunkTemporaries(() => {
      const r = linearizeFlat(
        this.parent.label,
        (xs) => [this.parent.run(xs), undefined],
        (ps as Tensor[]).map(barrier),
      );
      const cts = avals.map((a, j) => (j === index ? ct : zerosOf(a)));
      back = transposeProgram(r.program, cts);
      return back.filter((b) => b !== null) as Tensor[];
    }, () => null);
    return args.map((_, i) => (i < this.nIn ? back[i] : null));
  }
}
