/**
 * Flat entry points of automatic differentiation over lists of tensors:
 * forward mode, linearize (forward mode recorded as a linear program) and
 * its transpose. The public transforms add pytrees, argnums and checks.
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { mapTree } from "./tree.ts";
import { JVPTrace, JVPTracer, primalTangent } from "./jvp_trace.ts";
import { StagingTrace } from "./staging_trace.ts";
import { isVar, type Program } from "./ir.ts";
import { withMain, withSharedEvaluations } from "./trace.ts";

/** A function over flat tensors that also returns extra data (aux, structure). */
export type FlatFn = (xs: Tensor[]) => [Tensor[], unknown];

export interface JvpResult {
  outs: Tensor[];
  tangents: (Tensor | null)[];
  extra: unknown;
}

/** Forward mode: outputs and their tangents (null = zero). */
export function jvpFlat(
  name: string,
  f: FlatFn,
  primals: Tensor[],
  tangents: (Tensor | null)[],
): JvpResult {
  return withMain(name, (main) => {
    const trace = new JVPTrace(main);
    const ins = new Array<Tensor>(primals.length);
    for (let i = 0; i < ins.length; i++) {
      ins[i] = new JVPTracer(trace, primals[i], tangents[i]);
    }
    const [outs, extra] = f(ins);
    const ps = new Array<Tensor>(outs.length);
    const ts = new Array<Tensor | null>(outs.length);
    for (let i = 0; i < outs.length; i++) {
      [ps[i], ts[i]] = primalTangent(trace, outs[i]);
    }
    // Auxiliary outputs are not differentiated: keep their primal values.
    const stripped = mapTree(extra, (t) => primalTangent(trace, t)[0]);
    return { outs: ps, tangents: ts, extra: stripped };
  });
}

export interface LinearizeResult {
  outs: Tensor[];
  program: Program;
  extra: unknown;
}

/** Forward mode with the tangent part recorded as a linear program. */
export function linearizeFlat(
  name: string,
  f: FlatFn,
  primals: Tensor[],
): LinearizeResult {
  return withSharedEvaluations(() =>
    withMain(`${name} (linearize)`, (main) => {
      const lin = new StagingTrace(main);
      const tins = primals.map((p) => lin.newInput(p));
      const r = jvpFlat(name, f, primals, tins);
      return {
        outs: r.outs,
        program: live(lin.finish(tins, r.tangents, r.outs)),
        extra: r.extra,
      };
    })
  );
}

/**
 * The program without the equations no output depends on: the tangents of
 * values `f` computed but did not return (the value of an inner `grad`, a
 * discarded intermediate). Transposing skips them anyway, but their
 * constants would be residuals: held by a vjp closure for as long as it
 * lives, where they are otherwise freed when the call returns.
 */
function live(p: Program): Program {
  const needed = new Set<number>();
  for (const o of p.outputs) if (o !== null && isVar(o)) needed.add(o.var);
  let dead = 0;
  for (let j = p.eqns.length - 1; j >= 0; j--) {
    const e = p.eqns[j];
    if (!needed.has(e.out)) {
      dead++;
      continue;
    }
    for (const a of e.inputs) if (isVar(a)) needed.add(a.var);
  }
  if (dead === 0) return p;
  return p.with(p.eqns.filter((e) => needed.has(e.out)), p.outputs);
}
