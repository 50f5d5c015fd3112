/**
 * Tensor contractions composed from existing operations: `einsum` (diagonals,
 * sums, then one `matmul` per pair of operands), `tensordot` (one `matmul`)
 * and `kron` (a broadcast product). Each is differentiated through the rules
 * of the operations it is built from.
 * @module
 */
import { eagerOp } from "../core/scope.ts";
import { fmtShape } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { mul } from "./elementwise.ts";
import { permute, reshape } from "./layout.ts";
import { matmul } from "./linalg.ts";
import { sum } from "./reduce.ts";
import { diagonal } from "./indexing.ts";
import { checkTensor, describe } from "./scalar.ts";

/** A tensor and the label of each of its dims (letters, or `…k` for ellipsis dims). */
interface Labeled {
  t: Tensor;
  labels: string[];
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Splits one operand's subscripts into letters and at most one ellipsis. */
function parseTerm(term: string, where: string): (string | "...")[] {
  const out: (string | "...")[] = [];
  for (let i = 0; i < term.length; i++) {
    const c = term[i];
    if (c === ".") {
      if (term.slice(i, i + 3) !== "...") {
        throw new SyntaxError(
          `einsum: ${where} "${term}" has a "." that is not part of "..."`,
        );
      }
      if (out.includes("...")) {
        throw new SyntaxError(
          `einsum: ${where} "${term}" has more than one "..."`,
        );
      }
      out.push("...");
      i += 2;
    } else if (/^[a-zA-Z]$/.test(c)) out.push(c);
    else {
      throw new SyntaxError(
        `einsum: ${where} "${term}" has "${c}"; subscripts are letters a-z, A-Z and "..."`,
      );
    }
  }
  return out;
}

/** Sums `x` over the dims whose labels fail `keep`, dropping them. */
function sumOut(x: Labeled, keep: (l: string) => boolean): Labeled {
  const axes = x.labels.flatMap((l, i) => keep(l) ? [] : [i]);
  if (axes.length === 0) return x;
  return { t: sum(x.t, axes), labels: x.labels.filter(keep) };
}

/** Replaces each repeated label of one operand by its diagonal (as `torch.einsum`). */
function takeDiagonals(x: Labeled, where: string): Labeled {
  let { t, labels } = x;
  for (;;) {
    const i = labels.findIndex((l, k) => labels.indexOf(l) !== k);
    if (i < 0) return { t, labels };
    const j = labels.indexOf(labels[i]);
    if (t.shape[i] !== t.shape[j]) {
      throw new RangeError(
        `einsum: ${where} repeats "${labels[i]}" over dims of sizes ${
          t.shape[j]
        } and ${t.shape[i]} (shape ${fmtShape(t.shape)})`,
      );
    }
    // diagonal drops dims j and i and appends their diagonal last.
    const l = labels[i];
    t = diagonal(t, 0, j, i);
    labels = [...labels.filter((_, k) => k !== i && k !== j), l];
  }
}

/**
 * The product of two labelled operands summed over the labels not in `keep`,
 * as one batched `matmul`: [batch, aOnly, shared] × [batch, shared, bOnly].
 */
function contractPair(
  a: Labeled,
  b: Labeled,
  keep: ReadonlySet<string>,
): Labeled {
  // Labels only in one operand and not kept are summed there first.
  a = sumOut(a, (l) => keep.has(l) || b.labels.includes(l));
  b = sumOut(b, (l) => keep.has(l) || a.labels.includes(l));
  const inB = (l: string) => b.labels.includes(l);
  const batch = a.labels.filter((l) => inB(l) && keep.has(l));
  const shared = a.labels.filter((l) => inB(l) && !keep.has(l));
  // A summed label of size 1 in one operand and n in the other: sum the n side.
  for (const l of shared) {
    const na = a.t.shape[a.labels.indexOf(l)];
    const nb = b.t.shape[b.labels.indexOf(l)];
    if (na === 1 && nb !== 1) b = sumKeep(b, l);
    else if (nb === 1 && na !== 1) a = sumKeep(a, l);
  }
  const aOnly = a.labels.filter((l) => !inB(l));
  const bOnly = b.labels.filter((l) => !a.labels.includes(l));
  const size = (x: Labeled, ls: string[]) =>
    ls.map((l) => x.t.shape[x.labels.indexOf(l)]);
  const order = (x: Labeled, ls: string[]) =>
    permute(x.t, ls.map((l) => x.labels.indexOf(l)));
  const aBatch = size(a, batch), bBatch = size(b, batch);
  const m = size(a, aOnly), k = size(a, shared), n = size(b, bOnly);
  const A = reshape(order(a, [...batch, ...aOnly, ...shared]), [
    ...aBatch,
    prod(m),
    prod(k),
  ]);
  const B = reshape(order(b, [...batch, ...shared, ...bOnly]), [
    ...bBatch,
    prod(k),
    prod(n),
  ]);
  // matmul broadcasts batch dims of size 1 against n.
  const C = matmul(A, B);
  return {
    t: reshape(C, [...C.shape.slice(0, batch.length), ...m, ...n]),
    labels: [...batch, ...aOnly, ...bOnly],
  };
}

/** Sums over label `l` keeping it as a dim of size 1. */
function sumKeep(x: Labeled, l: string): Labeled {
  return { t: sum(x.t, x.labels.indexOf(l), true), labels: x.labels };
}

/**
 * Einstein summation, as `torch.einsum`. `subscripts` names each operand's
 * dims with letters (comma-separated); `->` is followed by the output's
 * letters, or, without `->`, the output is the letters appearing exactly
 * once, sorted (uppercase before lowercase). A letter repeated within one
 * operand takes that operand's diagonal; letters not in the output are
 * summed. `...` stands for the remaining dims of an operand, broadcast
 * across operands (aligned from the right); in the implicit form they lead
 * the output. Dims of size 1 broadcast against the same letter's size.
 *
 * Operands are combined left to right, each pair as one batched `matmul`
 * after summing out the letters no later operand or the output uses, so a
 * two-operand contraction costs what its `matmul` costs.
 *
 * @example
 * ```ts
 * import { einsum, randn } from "./mod.ts";
 * const A = randn([3, 4]), B = randn([4, 5]), x = randn([2, 3, 3]);
 * const C = einsum("ij,jk->ik", A, B); // matmul, shape [3, 5]
 * const t = einsum("ii", randn([3, 3])); // trace, shape []
 * const d = einsum("...ii->...i", x); // batched diagonals, shape [2, 3]
 * const o = einsum("i,j", randn([2]), randn([3])); // outer product, shape [2, 3]
 * ```
 */
export function einsum(subscripts: string, ...operands: Tensor[]): Tensor {
  return eagerOp([subscripts, operands], () => {
    if (typeof subscripts !== "string") {
      throw new TypeError(
        `einsum: subscripts must be a string, got ${describe(subscripts)}`,
      );
    }
    const spec = subscripts.replace(/\s+/g, "");
    const arrow = spec.indexOf("->");
    const lhs = arrow < 0 ? spec : spec.slice(0, arrow);
    const terms = lhs.split(",");
    if (terms.length !== operands.length) {
      throw new RangeError(
        `einsum: "${subscripts}" names ${terms.length} operand(s) but ${operands.length} were given`,
      );
    }
    operands.forEach((t, i) => checkTensor(`einsum operand ${i}`, t));
    const parsed = terms.map((t, i) => parseTerm(t, `operand ${i}`));
    // Ellipsis dims: each operand's count, all aligned to the longest.
    let nEllipsis = 0;
    const counts = parsed.map((p, i) => {
      const letters = p.filter((l) => l !== "...").length;
      const x = operands[i];
      const e = x.ndim - letters;
      if (e < 0 || (e > 0 && !p.includes("..."))) {
        throw new RangeError(
          `einsum: operand ${i} has shape ${
            fmtShape(x.shape)
          } but subscripts "${terms[i]}" name ${letters} dim(s)`,
        );
      }
      nEllipsis = Math.max(nEllipsis, e);
      return e;
    });
    const ell = Array.from({ length: nEllipsis }, (_, k) => `…${k}`);
    let ops: Labeled[] = parsed.map((p, i) => ({
      t: operands[i],
      labels: p.flatMap((l) =>
        l === "..." ? ell.slice(nEllipsis - counts[i]) : [l]
      ),
    }));
    // Every label's size must agree across operands, up to size-1 broadcasting.
    const sizes = new Map<string, number>();
    ops.forEach((o, i) =>
      o.labels.forEach((l, d) => {
        const s = o.t.shape[d], prev = sizes.get(l);
        if (prev === undefined || prev === 1) sizes.set(l, s);
        else if (s !== prev && s !== 1) {
          throw new RangeError(
            `einsum: "${
              l.startsWith("…") ? "..." : l
            }" has size ${prev} in one operand but ${s} in operand ${i} (shape ${
              fmtShape(o.t.shape)
            })`,
          );
        }
      })
    );
    let out: string[];
    if (arrow >= 0) {
      const p = parseTerm(spec.slice(arrow + 2), "output");
      out = p.flatMap((l) => l === "..." ? ell : [l]);
      for (const l of p) {
        if (l !== "..." && !sizes.has(l)) {
          throw new RangeError(
            `einsum: output "${l}" does not appear in any operand of "${subscripts}"`,
          );
        }
        if (l !== "..." && p.indexOf(l) !== p.lastIndexOf(l)) {
          throw new RangeError(
            `einsum: output "${l}" appears more than once in "${subscripts}"`,
          );
        }
      }
    } else {
      const all = ops.flatMap((o) =>
        o.labels.filter((l) => !l.startsWith("…"))
      );
      const once = [...new Set(all)].filter((l) =>
        all.indexOf(l) === all.lastIndexOf(l)
      );
      out = [...ell, ...once.sort()];
    }
    const outSet = new Set(out);
    ops = ops.map((o, i) => takeDiagonals(o, `operand ${i}`));
    // A label used by one operand only and not output is summed right away.
    ops = ops.map((o, i) =>
      sumOut(
        o,
        (l) =>
          outSet.has(l) || ops.some((p, j) => j !== i && p.labels.includes(l)),
      )
    );
    let acc = ops[0];
    for (let i = 1; i < ops.length; i++) {
      const keep = new Set([
        ...out,
        ...ops.slice(i + 1).flatMap((o) => o.labels),
      ]);
      acc = contractPair(acc, ops[i], keep);
    }
    acc = sumOut(acc, (l) => outSet.has(l));
    return permute(acc.t, out.map((l) => acc.labels.indexOf(l)));
  });
}

/**
 * Sum of products over dims of `a` and `b`, as `torch.tensordot`: `dims`
 * an integer n contracts the last n dims of `a` with the first n of `b`;
 * a pair of lists contracts `a`'s dims `dims[0][i]` with `b`'s dims
 * `dims[1][i]`. The result has `a`'s remaining dims, then `b`'s. One
 * `matmul`.
 *
 * @example
 * ```ts
 * import { randn, tensordot } from "./mod.ts";
 * const a = randn([3, 4, 5]), b = randn([4, 5, 6]);
 * const c = tensordot(a, b, 2); // shape [3, 6]
 * const d = tensordot(a, randn([5, 3]), [[0, 2], [1, 0]]); // shape [4]
 * ```
 */
export function tensordot(
  a: Tensor,
  b: Tensor,
  dims: number | readonly [readonly number[], readonly number[]] = 2,
): Tensor {
  return eagerOp([a, b, dims], () => {
    checkTensor("tensordot", a);
    checkTensor("tensordot", b);
    let da: number[], db: number[];
    if (typeof dims === "number") {
      if (
        !Number.isInteger(dims) || dims < 0 || dims > a.ndim || dims > b.ndim
      ) {
        throw new RangeError(
          `tensordot: dims must be an integer in [0, ${
            Math.min(a.ndim, b.ndim)
          }] for shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}, got ${
            describe(dims)
          }`,
        );
      }
      da = Array.from({ length: dims }, (_, i) => a.ndim - dims + i);
      db = Array.from({ length: dims }, (_, i) => i);
    } else {
      if (
        !Array.isArray(dims) || dims.length !== 2 || !Array.isArray(dims[0]) ||
        !Array.isArray(dims[1]) || dims[0].length !== dims[1].length
      ) {
        throw new TypeError(
          `tensordot: dims must be an integer or two lists of equal length, got ${
            describe(dims)
          }`,
        );
      }
      const norm = (ds: readonly number[], t: Tensor, which: string) => {
        const out = ds.map((d) => {
          if (!Number.isInteger(d) || d < -t.ndim || d >= t.ndim) {
            throw new RangeError(
              `tensordot: dim ${d} of ${which} is out of range for shape ${
                fmtShape(t.shape)
              }`,
            );
          }
          return d < 0 ? d + t.ndim : d;
        });
        if (new Set(out).size !== out.length) {
          throw new RangeError(`tensordot: dims of ${which} repeat: [${ds}]`);
        }
        return out;
      };
      da = norm(dims[0], a, "a");
      db = norm(dims[1], b, "b");
    }
    da.forEach((d, i) => {
      if (a.shape[d] !== b.shape[db[i]]) {
        throw new RangeError(
          `tensordot: dim ${d} of a (size ${a.shape[d]}, shape ${
            fmtShape(a.shape)
          }) does not match dim ${db[i]} of b (size ${b.shape[db[i]]}, shape ${
            fmtShape(b.shape)
          })`,
        );
      }
    });
    const freeA = a.shape.map((_, i) => i).filter((i) => !da.includes(i));
    const freeB = b.shape.map((_, i) => i).filter((i) => !db.includes(i));
    const m = freeA.map((i) => a.shape[i]), n = freeB.map((i) => b.shape[i]);
    const k = prod(da.map((i) => a.shape[i]));
    const A = reshape(permute(a, [...freeA, ...da]), [prod(m), k]);
    const B = reshape(permute(b, [...db, ...freeB]), [k, prod(n)]);
    return reshape(matmul(A, B), [...m, ...n]);
  });
}

/**
 * Kronecker product, as `torch.kron`: the operand with fewer dims gets
 * leading 1s, and entry `(i·q + j)` along each dim is `a[i] · b[j]`, so
 * the result's shape is the dimwise product of the shapes.
 *
 * @example
 * ```ts
 * import { eye, kron, tensor } from "./mod.ts";
 * const K = kron(eye(2), tensor([[1, 2], [3, 4]])); // block diagonal, shape [4, 4]
 * ```
 */
export function kron(a: Tensor, b: Tensor): Tensor {
  return eagerOp([a, b], () => {
    checkTensor("kron", a);
    checkTensor("kron", b);
    const r = Math.max(a.ndim, b.ndim);
    const sa = [...new Array(r - a.ndim).fill(1), ...a.shape];
    const sb = [...new Array(r - b.ndim).fill(1), ...b.shape];
    // a as [a0, 1, a1, 1, ...] times b as [1, b0, 1, b1, ...], then merge pairs.
    const A = reshape(a, sa.flatMap((s) => [s, 1]));
    const B = reshape(b, sb.flatMap((s) => [1, s]));
    return reshape(mul(A, B), sa.map((s, i) => s * sb[i]));
  });
}
