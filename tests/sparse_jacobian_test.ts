/**
 * Sparse Jacobians and Hessians: the dependency rules (complete, and
 * conservative on every row of the primitive and composite tables), the
 * colourings (valid, and the expected number of colours on banded, arrow
 * and block-diagonal structures), and jacfwd/jacrev/hessian with
 * `sparsity` against their dense versions in float64, in every format,
 * with pytrees, hasAux, vmap and jit.
 * @module
 */
import {
  cat,
  colorSparsity,
  grad,
  hessian,
  hessianSparsity,
  jacfwd,
  jacobianSparsity,
  jacrev,
  jit,
  linalg,
  logsumexp,
  memoryStats,
  softmax,
  SparseMatrix,
  SparsityPattern,
  type Tensor,
  tensor,
  vmap,
  where,
} from "../mod.ts";
import { ALL_PRIMS } from "../src/core/primitives.ts";
import { dependencyRules } from "../src/core/rules/sparsity.ts";
import { CASES } from "./primitives_cases.ts";
import { COMPOSITE_CASES } from "./composites_cases.ts";
import type { CheckCase } from "./_op_checks.ts";
import { assertClose, assertThrowsWith, randnT, Rng } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const f64 = (v: number[]) => tensor(v, { dtype: "float64" });

/** The dense Jacobian of `f` at `xs` (all arguments), as an `[m, n]` array of rows. */
function denseJacobian(
  f: (...xs: Tensor[]) => Tensor,
  xs: Tensor[],
): number[][] {
  const argnums = xs.map((_, i) => i);
  const Js = jacfwd(f, { argnums })(...xs) as Tensor[];
  const m = Js[0].size / xs[0].size;
  const blocks = Js.map((J, i) => J.reshape([m, xs[i].size]));
  const J = blocks.length === 1 ? blocks[0] : cat(blocks, 1);
  const d = J.data(), n = J.shape[1];
  return Array.from(
    { length: m },
    (_, i) => Array.from(d.subarray(i * n, (i + 1) * n)),
  );
}

/** Entries of `dense` that are nonzero but missing from `p`. */
function missing(p: SparsityPattern, dense: number[][]): string[] {
  const out: string[] = [];
  dense.forEach((row, i) =>
    row.forEach((v, j) => {
      if (v !== 0 && !p.has(i, j)) out.push(`(${i}, ${j}) = ${v}`);
    })
  );
  return out;
}

// ------------------------------------------------------------- the rule table

Deno.test("dependency rules: every primitive has a rule or is listed as dense", () => {
  const dense = ALL_PRIMS.filter((p) => dependencyRules[p] === "dense");
  const missingRule = ALL_PRIMS.filter((p) =>
    dependencyRules[p] !== "dense" && typeof dependencyRules[p] !== "function"
  );
  if (missingRule.length > 0) throw new Error(`no rule: ${missingRule}`);
  // The conservative ones, on purpose: factorizations, solves and opaque
  // user-defined calls.
  const expected = [
    "custom",
    "svd",
    "scan",
    "cond",
    "while",
    "cholesky",
    "triangularSolve",
    "solve",
    "slogdet",
    "eigh",
    "qr",
    "lu",
  ];
  if (JSON.stringify(dense.sort()) !== JSON.stringify(expected.sort())) {
    throw new Error(`dense primitives changed: ${dense}`);
  }
  const extra = Object.keys(dependencyRules).filter((k) =>
    !(ALL_PRIMS as readonly string[]).includes(k)
  );
  if (extra.length > 0) {
    throw new Error(`rules for unknown primitives: ${extra}`);
  }
});

/** The case as a function of its differentiated arguments, and those arguments. */
function partialCase(c: CheckCase, rng: Rng) {
  const args = c.args(rng);
  const diff = args.map((_, i) => i).filter((i) =>
    args[i].dtype !== "int32" && !(c.constArgs ?? []).includes(i)
  );
  const f = (...xs: Tensor[]) => {
    const all = [...args];
    diff.forEach((d, k) => (all[d] = xs[k]));
    return c.fn(...all);
  };
  return { f, xs: diff.map((d) => args[d]) };
}

const ALL_CASES = [...CASES, ...COMPOSITE_CASES].filter((c) => !c.noGrad);

Deno.test("jacobianSparsity contains the true pattern on every primitive and composite case (random inputs)", () => {
  const failures: string[] = [];
  for (const c of ALL_CASES) {
    for (const seed of [1, 2]) {
      const { f, xs } = partialCase(c, new Rng(seed * 7919));
      if (xs.length === 0) continue;
      const argnums = xs.map((_, i) => i);
      const p = jacobianSparsity(f, { argnums })(...xs);
      const dense = denseJacobian(f, xs);
      if (
        p.shape[0] !== dense.length ||
        p.shape[1] !== (dense[0]?.length ?? p.shape[1])
      ) {
        failures.push(
          `${c.name}: shape [${p.shape}] vs ${dense.length}x${
            dense[0]?.length
          }`,
        );
        continue;
      }
      const miss = missing(p, dense);
      if (miss.length > 0) {
        failures.push(`${c.name}: misses ${miss.slice(0, 3)}`);
      }
    }
  }
  if (failures.length > 0) throw new Error(failures.join("\n"));
});

Deno.test("sparse jacfwd and jacrev equal the dense Jacobian on every primitive and composite case", () => {
  const failures: string[] = [];
  for (const c of ALL_CASES) {
    const { f, xs } = partialCase(c, new Rng(31));
    if (xs.length === 0) continue;
    const argnums = xs.map((_, i) => i);
    for (
      const [name, jac] of [["jacfwd", jacfwd], ["jacrev", jacrev]] as const
    ) {
      try {
        const dense = (jac as Any)(f, { argnums })(...xs) as Tensor[];
        const sparse = (jac as Any)(f, { argnums, sparsity: "auto" })(
          ...xs,
        ) as Tensor[];
        dense.forEach((d, i) =>
          assertClose(
            sparse[i],
            d,
            { rtol: 1e-9, atol: 1e-9 },
            `${name} block ${i}`,
          )
        );
      } catch (e) {
        failures.push(`${c.name}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }
  if (failures.length > 0) throw new Error(failures.join("\n"));
});

// ------------------------------------------------------------------ structures

/** A tridiagonal map: y_i = x_{i-1} x_i + sin(x_{i+1}) (with zero ends). */
const tridiag = (x: Tensor) => {
  const n = x.shape[0];
  const left = cat([tensor([0], { dtype: x.dtype }), x.slice(0, 0, n - 1)]);
  const right = cat([x.slice(0, 1), tensor([0], { dtype: x.dtype })]);
  return left.mul(x).add(right.sin());
};

/** Chained Rosenbrock: tridiagonal Hessian. */
const rosen = (x: Tensor) => {
  const a = x.slice(0, 0, -1), b = x.slice(0, 1);
  return b.sub(a.square()).square().mul(100).add(a.neg().add(1).square()).sum();
};

Deno.test("tridiagonal Jacobian: pattern, 3 colours for rows and columns, sparse equals dense", () => {
  const rng = new Rng(5);
  const x = randnT(rng, [40]);
  const p = jacobianSparsity(tridiag)(x);
  const bands = Array.from(
    { length: 40 },
    (_, i) =>
      Array.from({ length: 40 }, (_, j) => Math.abs(i - j) <= 1 ? 1 : 0),
  );
  if (!p.equals(SparsityPattern.fromDense(bands))) {
    throw new Error(`not tridiagonal:\n${p}`);
  }
  for (const order of ["natural", "largest-first", "smallest-last"] as const) {
    for (const kind of ["column", "row", "star"] as const) {
      const c = colorSparsity(p, { kind, order });
      if (c.numColors !== 3) {
        throw new Error(`${kind}/${order}: ${c.numColors} colours`);
      }
    }
  }
  const J = jacfwd(tridiag)(x);
  assertClose(jacfwd(tridiag, { sparsity: "auto" })(x), J);
  assertClose(jacrev(tridiag, { sparsity: "auto" })(x), J);
  assertClose(jacrev(tridiag, { sparsity: p })(x), J);
});

Deno.test("banded Jacobian of half-bandwidth k needs 2k + 1 colours", () => {
  const rng = new Rng(6);
  for (const k of [2, 3]) {
    const n = 30;
    const x = randnT(rng, [n]);
    // y_i = Σ_{|d| ≤ k} x_{i+d}² (zero padded)
    const f = (x: Tensor) => {
      const z = tensor(new Float64Array(k), { dtype: "float64" });
      const padded = cat([z, x, z]);
      let acc = padded.slice(0, 0, n).square();
      for (let d = 1; d <= 2 * k; d++) {
        acc = acc.add(padded.slice(0, d, d + n).square());
      }
      return acc;
    };
    const p = jacobianSparsity(f)(x);
    if (p.nnz !== n * (2 * k + 1) - k * (k + 1)) {
      throw new Error(`nnz ${p.nnz}`);
    }
    const c = colorSparsity(p);
    if (c.numColors !== 2 * k + 1) {
      throw new Error(`k=${k}: ${c.numColors} colours`);
    }
    assertClose(jacfwd(f, { sparsity: "auto" })(x), jacfwd(f)(x));
  }
});

Deno.test("tridiagonal Hessian (chained Rosenbrock): 3 HVPs by star colouring, equals the dense Hessian", () => {
  const rng = new Rng(7);
  const x = randnT(rng, [50]);
  const p = hessianSparsity(rosen)(x);
  if (p.nnz !== 3 * 50 - 2) throw new Error(`nnz ${p.nnz}\n${p}`);
  const c = colorSparsity(p, { kind: "star" });
  if (c.numColors !== 3) throw new Error(`${c.numColors} colours`);
  const H = hessian(rosen)(x);
  assertClose(hessian(rosen, { sparsity: "auto" })(x), H, {
    rtol: 1e-12,
    atol: 1e-9,
  });
  assertClose(hessian(rosen, { sparsity: p })(x), H, {
    rtol: 1e-12,
    atol: 1e-9,
  });
  const Hc = hessian(rosen, { sparsity: p, format: "csr" })(x);
  if (!(Hc instanceof SparseMatrix) || Hc.nnz !== p.nnz) throw new Error("csr");
  assertClose(Hc.toDense(), H, { rtol: 1e-12, atol: 1e-9 });
});

Deno.test("arrow structure: the Hessian takes 2 colours (star), the Jacobian all n (one dense row)", () => {
  const rng = new Rng(8);
  const n = 12;
  const x = randnT(rng, [n]);
  // Hessian: diagonal plus row and column 0.
  const g = (x: Tensor) =>
    x.slice(0, 0, 1).mul(x.slice(0, 1).square().sum()).sum().add(x.sin().sum());
  const hp = hessianSparsity(g)(x);
  const arrow = Array.from(
    { length: n },
    (_, i) =>
      Array.from(
        { length: n },
        (_, j) => (i === j || i === 0 || j === 0 ? 1 : 0),
      ),
  );
  if (!hp.equals(SparsityPattern.fromDense(arrow))) {
    throw new Error(`not an arrow:\n${hp}`);
  }
  const sc = colorSparsity(hp, { kind: "star" });
  if (sc.numColors !== 2) throw new Error(`star: ${sc.numColors} colours`);
  assertClose(hessian(g, { sparsity: "auto" })(x), hessian(g)(x), {
    rtol: 1e-12,
    atol: 1e-12,
  });
  // Jacobian: y_0 = Σ x, y_i = x_i x_0 for i > 0.
  const f = (x: Tensor) =>
    cat([x.sum().reshape([1]), x.slice(0, 1).mul(x.slice(0, 0, 1))]);
  const jp = jacobianSparsity(f)(x);
  if (!jp.equals(SparsityPattern.fromDense(arrow))) {
    throw new Error(`not an arrow:\n${jp}`);
  }
  if (colorSparsity(jp).numColors !== n) throw new Error("column colours");
  if (colorSparsity(jp, { kind: "row" }).numColors !== n) {
    throw new Error("row colours");
  }
  assertClose(jacfwd(f, { sparsity: "auto" })(x), jacfwd(f)(x));
  assertClose(jacrev(f, { sparsity: "auto" })(x), jacfwd(f)(x));
});

Deno.test("block-diagonal structure: softmax per block (Jacobian) and logsumexp per block (Hessian) take one colour per block column", () => {
  const rng = new Rng(9);
  const blocks = 6, b = 4;
  const x = randnT(rng, [blocks * b]);
  const f = (x: Tensor) =>
    softmax(x.reshape([blocks, b]), 1).reshape([blocks * b]);
  const p = jacobianSparsity(f)(x);
  if (p.nnz !== blocks * b * b) throw new Error(`nnz ${p.nnz}`);
  if (colorSparsity(p).numColors !== b) throw new Error("column colours");
  if (colorSparsity(p, { kind: "row" }).numColors !== b) {
    throw new Error("row colours");
  }
  assertClose(jacfwd(f, { sparsity: "auto" })(x), jacfwd(f)(x));
  assertClose(jacrev(f, { sparsity: "auto" })(x), jacfwd(f)(x));
  const g = (x: Tensor) => logsumexp(x.reshape([blocks, b]), 1).sum();
  const hp = hessianSparsity(g)(x);
  if (hp.nnz !== blocks * b * b) throw new Error(`hessian nnz ${hp.nnz}`);
  if (colorSparsity(hp, { kind: "star" }).numColors !== b) {
    throw new Error("star colours");
  }
  assertClose(hessian(g, { sparsity: "auto" })(x), hessian(g)(x), {
    rtol: 1e-12,
    atol: 1e-12,
  });
});

// ---------------------------------------------------------- exact patterns

Deno.test("constants are read: a banded constant matrix, a constant mask and constant indices give exact patterns", () => {
  const n = 8;
  const A = Array.from(
    { length: n },
    (_, i) =>
      Array.from(
        { length: n },
        (_, j) => (j === i || j === (i + 3) % n ? i + j + 1 : 0),
      ),
  );
  const At = tensor(A, { dtype: "float64" });
  const x = randnT(new Rng(10), [n]);
  const p = jacobianSparsity((x: Tensor) =>
    At.matmul(x.reshape([n, 1])).reshape([n])
  )(x);
  if (!p.equals(SparsityPattern.fromDense(A))) throw new Error(`matmul:\n${p}`);
  const mask = tensor([1, 0, 1, 0, 1, 0, 1, 0], { dtype: "float64" });
  const pm = jacobianSparsity((x: Tensor) => x.sin().mul(mask))(x);
  if (pm.nnz !== 4) throw new Error(`mul mask:\n${pm}`);
  const pw = jacobianSparsity((x: Tensor) => where(mask.gt(0), x.exp(), 2))(x);
  if (pw.nnz !== 4) throw new Error(`where:\n${pw}`);
  const px = jacobianSparsity((x: Tensor) => x.index(0, [7, 0, 0]))(x);
  if (px.toString() !== ".......x\nx.......\nx.......") {
    throw new Error(`index:\n${px}`);
  }
  // A solve is conservative: every output on every input.
  const M = tensor(A, { dtype: "float64" }).add(
    tensor(
      Array.from(
        { length: n },
        (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 10 : 0)),
      ),
      { dtype: "float64" },
    ),
  );
  const ps = jacobianSparsity((x: Tensor) =>
    linalg.solve(M, x.reshape([n, 1])).reshape([n])
  )(x);
  if (ps.nnz !== n * n) throw new Error("solve is dense");
});

// ------------------------------------------------------------------ colouring

function randomPattern(
  rng: Rng,
  m: number,
  n: number,
  density: number,
): SparsityPattern {
  const rows: number[] = [], cols: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      if (rng.next() < density) {
        rows.push(i);
        cols.push(j);
      }
    }
  }
  return SparsityPattern.fromEntries([m, n], rows, cols);
}

/** Checks a star colouring by brute force: distance-1, and no two-coloured path on 4 vertices. */
function checkStar(p: SparsityPattern, colors: Int32Array): void {
  const n = p.shape[0];
  const adj = Array.from(
    { length: n },
    (_, i) =>
      Array.from(
        { length: n },
        (_, j) => i !== j && (p.has(i, j) || p.has(j, i)),
      ),
  );
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (!adj[a][b]) continue;
      if (colors[a] === colors[b]) {
        throw new Error(`edge ${a}-${b} has one colour`);
      }
      for (let c = 0; c < n; c++) {
        if (c === a || !adj[b][c] || colors[c] !== colors[a]) continue;
        for (let d = 0; d < n; d++) {
          if (d !== b && d !== a && adj[c][d] && colors[d] === colors[b]) {
            throw new Error(`two-coloured path ${a}-${b}-${c}-${d}`);
          }
        }
      }
    }
  }
}

Deno.test("colourings are valid on random patterns (columns share no row, rows no column, star has no two-coloured P4)", () => {
  const rng = new Rng(11);
  for (let t = 0; t < 30; t++) {
    const m = rng.int(1, 25), n = rng.int(1, 25);
    const p = randomPattern(rng, m, n, rng.uniform(0.02, 0.3));
    for (
      const order of ["natural", "largest-first", "smallest-last"] as const
    ) {
      const col = colorSparsity(p, { order }).colors;
      const row = colorSparsity(p, { kind: "row", order }).colors;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          for (let k = j + 1; k < n; k++) {
            if (p.has(i, j) && p.has(i, k) && col[j] === col[k]) {
              throw new Error(`columns ${j}, ${k} share row ${i}`);
            }
          }
        }
      }
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < m; i++) {
          for (let k = i + 1; k < m; k++) {
            if (p.has(i, j) && p.has(k, j) && row[i] === row[k]) {
              throw new Error(`rows ${i}, ${k} share column ${j}`);
            }
          }
        }
      }
      const sq = randomPattern(rng, n, n, rng.uniform(0.02, 0.3)).symmetrize();
      checkStar(sq, colorSparsity(sq, { kind: "star", order }).colors);
    }
  }
});

Deno.test("sparse Hessians of random sparse quadratics ½xᵀAx + Σ sin x equal the dense ones (star recovery)", () => {
  const rng = new Rng(12);
  for (let t = 0; t < 12; t++) {
    const n = rng.int(2, 30);
    const p = randomPattern(rng, n, n, rng.uniform(0.03, 0.25)).symmetrize();
    const A = p.toArray().map((r) => r.map((v) => v * rng.normal()));
    const At = tensor(A, { dtype: "float64" });
    const f = (x: Tensor) =>
      x.mul(At.matmul(x.reshape([n, 1])).reshape([n])).sum().mul(0.5).add(
        x.sin().sum(),
      );
    const x = randnT(rng, [n]);
    const hp = hessianSparsity(f)(x);
    const want = SparsityPattern.fromEntries(
      [n, n],
      [...p.rowIndices(), ...Array.from({ length: n }, (_, i) => i)],
      [...p.colIndices, ...Array.from({ length: n }, (_, i) => i)],
    );
    if (!hp.equals(want)) throw new Error(`pattern:\n${hp}\nwanted\n${want}`);
    assertClose(hessian(f, { sparsity: "auto" })(x), hessian(f)(x), {
      rtol: 1e-12,
      atol: 1e-12,
    });
  }
});

// ---------------------------------------------------------- formats and API

Deno.test("coo and csr results: indices follow the pattern, toDense and matvec match the dense Jacobian", () => {
  const x = randnT(new Rng(13), [10]);
  const J = jacfwd(tridiag)(x);
  const p = jacobianSparsity(tridiag)(x);
  for (
    const [jac, format] of [[jacfwd, "coo"], [jacrev, "csr"], [
      jacfwd,
      "csr",
    ]] as const
  ) {
    const S = (jac as Any)(tridiag, { format })(x) as SparseMatrix;
    if (S.format !== format || S.nnz !== p.nnz || S.shape.join() !== "10,10") {
      throw new Error(String(S));
    }
    if (format === "csr" && S.rowPtr!.join() !== p.rowPtr.join()) {
      throw new Error("rowPtr");
    }
    if (format === "coo" && S.rowPtr !== null) {
      throw new Error("coo has no rowPtr");
    }
    if (S.colIndices.join() !== p.colIndices.join()) {
      throw new Error("colIndices");
    }
    if (S.rowIndices.join() !== p.rowIndices().join()) {
      throw new Error("rowIndices");
    }
    const d = J.data();
    const vals = S.values.data();
    S.rowIndices.forEach((r, k) => {
      if (vals[k] !== d[r * 10 + S.colIndices[k]]) {
        throw new Error(`entry ${k}`);
      }
    });
    assertClose(S.toDense(), J);
    const v = randnT(new Rng(14), [10]);
    assertClose(S.matvec(v), J.matmul(v.reshape([10, 1])).reshape([10]), {
      atol: 1e-12,
    });
    assertClose(S.to(format === "coo" ? "csr" : "coo").toDense(), J);
  }
});

Deno.test("pytrees, several argnums and hasAux: same structure as the dense Jacobian", () => {
  const rng = new Rng(15);
  const a = randnT(rng, [5]), b = randnT(rng, [2, 3]);
  const f = (p: { a: Tensor }, b: Tensor) => ({
    s: p.a.sin(),
    t: [b.mul(2).exp(), p.a.slice(0, 0, 3).mul(b.sum(0))],
  });
  for (const jac of [jacfwd, jacrev]) {
    const dense = (jac as Any)(f, { argnums: [0, 1] })({ a }, b);
    const sparse = (jac as Any)(f, { argnums: [0, 1], sparsity: "auto" })(
      { a },
      b,
    );
    assertClose(sparse.s[0].a, dense.s[0].a);
    assertClose(sparse.s[1], dense.s[1]);
    assertClose(sparse.t[0][1], dense.t[0][1]);
    assertClose(sparse.t[1][0].a, dense.t[1][0].a);
    assertClose(sparse.t[1][1], dense.t[1][1]);
    const coo = (jac as Any)(f, { argnums: [0, 1], format: "coo" })({ a }, b);
    assertClose(coo.t[1][1].toDense(), dense.t[1][1].reshape([3, 6]));
    if (coo.s[1].nnz !== 0) throw new Error("an empty block has no entries");
    const [J, aux] = (jac as Any)((x: Tensor) => [x.exp(), "aux"], {
      hasAux: true,
      sparsity: "auto",
    })(a);
    if (aux !== "aux") throw new Error("aux");
    assertClose(J, (jac as Any)((x: Tensor) => x.exp())(a));
  }
  // Hessian over two arguments: [[Haa, Hab], [Hba, Hbb]].
  const g = (a: Tensor, b: Tensor) =>
    a.mul(b).sin().sum().add(a.square().sum());
  const a2 = randnT(rng, [4]), b2 = randnT(rng, [4]);
  const Hd = hessian(g, { argnums: [0, 1] })(a2, b2) as Any;
  const Hs = hessian(g, { argnums: [0, 1], sparsity: "auto" })(a2, b2) as Any;
  for (const i of [0, 1]) {
    for (const j of [0, 1]) assertClose(Hs[i][j], Hd[i][j]);
  }
  const Hcsr = hessian(g, { argnums: [0, 1], format: "csr" })(a2, b2) as Any;
  assertClose(Hcsr[0][1].toDense(), Hd[0][1]);
});

Deno.test("under jit (called twice) and vmap: sparse equals dense", () => {
  const rng = new Rng(16);
  const jh = jit((x: Tensor) => hessian(rosen, { sparsity: "auto" })(x));
  const jc = jit((x: Tensor) =>
    (hessian(rosen, { format: "csr" })(x) as SparseMatrix).values
  );
  for (let call = 0; call < 2; call++) {
    const x = randnT(rng, [20]);
    const H = hessian(rosen)(x);
    assertClose(jh(x), H, { rtol: 1e-12, atol: 1e-9 });
    const vals = jc(x).data(), p = hessianSparsity(rosen)(x), d = H.data();
    p.rowIndices().forEach((r, k) => {
      if (
        Math.abs(vals[k] - d[r * 20 + p.colIndices[k]]) >
          1e-9 * (1 + Math.abs(vals[k]))
      ) {
        throw new Error(`jit csr entry ${k}`);
      }
    });
    const jj = jit((x: Tensor) => jacrev(tridiag, { sparsity: "auto" })(x));
    assertClose(jj(x.slice(0, 0, 8)), jacfwd(tridiag)(x.slice(0, 0, 8)));
  }
  const xs = randnT(rng, [3, 9]);
  const batched = vmap(jacfwd(tridiag, { sparsity: "auto" }))(xs);
  for (let i = 0; i < 3; i++) {
    assertClose(batched.select(0, i), jacfwd(tridiag)(xs.select(0, i)));
  }
  const bh = vmap(hessian(rosen, { sparsity: "auto", chunkSize: 2 }))(xs);
  for (let i = 0; i < 3; i++) {
    assertClose(bh.select(0, i), hessian(rosen)(xs.select(0, i)), {
      rtol: 1e-12,
      atol: 1e-9,
    });
  }
});

Deno.test("errors name the function, the option and the shapes", () => {
  const x = f64([1, 2, 3]);
  const wrong = SparsityPattern.fromEntries([3, 4], [0], [0]);
  assertThrowsWith(
    () => jacfwd((x: Tensor) => x.sin(), { sparsity: wrong })(x),
    RangeError,
    "jacfwd",
    "[3, 4]",
    "[3, 3]",
  );
  const tall = SparsityPattern.fromEntries([2, 3], [0], [0]);
  assertThrowsWith(
    () => jacrev((x: Tensor) => x.sin(), { sparsity: tall })(x),
    RangeError,
    "jacrev",
    "[2, 3]",
    "[3, 3]",
  );
  assertThrowsWith(
    () => jacfwd((x: Tensor) => x, { format: "csc" as Any })(x),
    TypeError,
    "jacfwd",
    "format",
  );
  assertThrowsWith(
    () => hessian((x: Tensor) => x.sum(), { sparsity: 3 as Any })(x),
    TypeError,
    "hessian",
    "sparsity",
  );
  assertThrowsWith(
    () => colorSparsity(wrong, { kind: "star" }),
    RangeError,
    "square",
  );
  assertThrowsWith(
    () => colorSparsity(wrong, { kind: "diagonal" as Any }),
    TypeError,
    "kind",
  );
  assertThrowsWith(
    () => SparsityPattern.fromEntries([2, 2], [0, 2], [0, 0]),
    RangeError,
    "row index 2",
  );
  assertThrowsWith(
    () =>
      jacfwd((x: Tensor) => (x.sum().item() > 0 ? x.sin() : x), {
        sparsity: "auto",
      })(x),
    Error,
    "jacfwd: the sparsity pattern is found by tracing",
    "where()",
  );
  assertThrowsWith(
    () => jacobianSparsity(3 as Any),
    TypeError,
    "jacobianSparsity",
  );
});

Deno.test("a pattern passed as a 0/1 matrix, a constant function (no entries), and a user pattern reused across calls", () => {
  const x = f64([0.5, -1, 2]);
  const eyeP = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  assertClose(
    jacfwd((x: Tensor) => x.exp(), { sparsity: eyeP })(x),
    jacfwd((x: Tensor) => x.exp())(x),
  );
  const zero = jacfwd((x: Tensor) => x.mul(0).add(1).detach(), {
    sparsity: "auto",
  })(x);
  assertClose(zero, new Array(9).fill(0));
  const p = hessianSparsity(rosen)(x);
  for (let i = 0; i < 3; i++) {
    const y = x.mul(i + 1);
    assertClose(hessian(rosen, { sparsity: p })(y), hessian(rosen)(y), {
      rtol: 1e-12,
      atol: 1e-9,
    });
  }
});

Deno.test("sparse Jacobians compose: grad, jacfwd and jacrev over them, each called twice, equal the dense compositions", () => {
  const rng = new Rng(17);
  for (let call = 0; call < 2; call++) {
    const x = randnT(rng, [7]);
    const gs = grad((x: Tensor) =>
      hessian(rosen, { sparsity: "auto" })(x).sin().sum()
    )(x);
    const gd = grad((x: Tensor) => hessian(rosen)(x).sin().sum())(x);
    assertClose(gs, gd, { rtol: 1e-10, atol: 1e-8 });
    const gv = grad((x: Tensor) =>
      (hessian(rosen, { format: "csr" })(x) as SparseMatrix).values.square()
        .sum()
    )(x);
    assertClose(gv, grad((x: Tensor) => hessian(rosen)(x).square().sum())(x), {
      rtol: 1e-10,
      atol: 1e-6,
    });
    const third = jacfwd(jacrev(tridiag, { sparsity: "auto" }))(x);
    assertClose(third, jacfwd(jacrev(tridiag))(x));
    const inner = jacrev(jacfwd(tridiag, { sparsity: "auto" }), {
      sparsity: "auto",
    })(x);
    assertClose(inner, jacrev(jacfwd(tridiag))(x));
  }
});

Deno.test("types: sparse formats give SparseMatrix, dense gives Tensor", () => {
  const x = f64([1, 2, 3]);
  const S: SparseMatrix = jacfwd((x: Tensor) => x.sin(), { format: "csr" })(x);
  const T: Tensor = jacrev((x: Tensor) => x.sin(), { sparsity: "auto" })(x);
  const [S2, aux]: [SparseMatrix, string] = jacrev(
    (x: Tensor) => [x.sin(), "a"] as [Tensor, string],
    { format: "coo", hasAux: true },
  )(x);
  const H: SparseMatrix = hessian((x: Tensor) => x.pow(3).sum(), {
    format: "csr",
  })(x);
  const g = (a: Tensor, b: Tensor) => a.mul(b).sum();
  const HH: SparseMatrix[][] = hessian(g, { argnums: [0, 1], format: "csr" })(
    x,
    x,
  );
  const Hd: Tensor = hessian(g, { sparsity: "auto" })(x, x);
  if (S.nnz !== 3 || T.shape.join() !== "3,3" || S2.nnz !== 3 || aux !== "a") {
    throw new Error("jac");
  }
  if (
    H.nnz !== 3 || HH[0][1].nnz !== 3 || HH[0][0].nnz !== 0 || Hd.size !== 9
  ) throw new Error("hessian");
  assertClose(H.toDense(), hessian((x: Tensor) => x.pow(3).sum())(x));
});

Deno.test("a synchronous loop of sparse Hessians and Jacobians frees its temporaries", () => {
  const x = randnT(new Rng(18), [300]);
  const p = hessianSparsity(rosen)(x);
  const step = () => {
    const H = hessian(rosen, { sparsity: p, format: "csr" })(x) as SparseMatrix;
    H.values.dispose();
    // (tridiag makes tensors itself, which are the caller's to free.)
    const f = (x: Tensor) => x.slice(0, 1).mul(x.slice(0, 0, -1)).sin();
    jacrev(f, { sparsity: "auto" })(x).dispose();
  };
  step();
  const before = memoryStats().liveStorages;
  for (let i = 0; i < 50; i++) step();
  const after = memoryStats().liveStorages;
  if (after > before) {
    throw new Error(`live storages grew from ${before} to ${after}`);
  }
});
