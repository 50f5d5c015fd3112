/**
 * A case as a TypeScript program a developer can paste into a file at the
 * repository root and run with `deno run`: the program, the transform stack,
 * both calls, and the JAX values to compare with.
 * @module
 */
import type { Case, Layer, Node, Operand } from "./case.ts";
import { nest } from "./jacobi_eval.ts";

const lit = (data: readonly number[], shape: readonly number[]) =>
  `tensor(${JSON.stringify(nest(data, shape))}, { dtype: "float64" })`;

function nodeText(n: Node, name: (r: number) => string): string {
  const op = (o: Operand) => (typeof o === "number" ? name(o) : `${o.num}`);
  const x = "x" in n ? name(n.x) : "";
  switch (n.op) {
    case "unary":
      return `${x}.${n.fn}()`;
    case "binary":
      return typeof n.a === "number"
        ? `${name(n.a)}.${n.fn}(${op(n.b)})`
        : `${n.fn}(${op(n.a)}, ${op(n.b)})`;
    case "where":
      return `where(${name(n.ca)}.${n.cmp}(${op(n.cb)}), ${op(n.a)}, ${
        op(n.b)
      })`;
    case "reduce": {
      const args = n.keepdim
        ? [JSON.stringify(n.dim ?? undefined) ?? "undefined", "true"]
        : n.dim === null
        ? []
        : [JSON.stringify(n.dim)];
      return `${x}.${n.fn}(${args.join(", ")})`;
    }
    case "reshape":
      return `${x}.reshape(${JSON.stringify(n.shape)})`;
    case "permute":
      return `${x}.permute(${JSON.stringify(n.dims)})`;
    case "transpose":
      return `${x}.transpose(${n.dim0}, ${n.dim1})`;
    case "movedim":
      return `${x}.movedim(${n.src}, ${n.dst})`;
    case "expand":
      return `${x}.expand(${JSON.stringify(n.shape)})`;
    case "squeeze":
      return `${x}.squeeze(${n.dim === null ? "" : JSON.stringify(n.dim)})`;
    case "unsqueeze":
      return `${x}.unsqueeze(${n.dim})`;
    case "flatten":
      return `${x}.flatten(${n.start}, ${n.end})`;
    case "slice":
      return `${x}.slice(${n.dim}, ${n.start ?? "undefined"}, ${
        n.end ?? "undefined"
      }, ${n.step})`;
    case "narrow":
      return `${x}.narrow(${n.dim}, ${n.start}, ${n.length})`;
    case "select":
      return `${x}.select(${n.dim}, ${n.index})`;
    case "cat":
    case "stack":
      return `${n.op}([${n.xs.map(name).join(", ")}], ${n.dim})`;
    case "matmul":
    case "dot":
    case "outer":
      return `${name(n.a)}.${n.op}(${name(n.b)})`;
    case "linear":
      return `linear(${x}, ${name(n.w)}${
        n.b === null ? "" : `, ${name(n.b)}`
      })`;
    case "detach":
      return `${x}.detach()`;
    case "const":
      return lit(n.data, n.shape);
    case "captured":
      return `c${n.k}`;
    case "lazy":
      return `(store[${n.k}] ??= ${lit(n.data, n.shape)})`;
  }
}

const opts = (o: Record<string, unknown>) => {
  const parts = Object.entries(o).filter(([, v]) =>
    v !== null && v !== undefined && v !== false
  ).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return parts.length === 0 ? "" : `, { ${parts.join(", ")} }`;
};

/** `a[from]`, ..., `a[to - 1]`: explicit arguments type-check where a spread of an array does not. */
const argList = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `a[${from + i}]`).join(", ");

/** Layer `L` around the function named `f`, which takes `arity` arguments. */
function layerText(L: Layer, f: string, arity: number): string {
  const n = arity;
  switch (L.t) {
    case "scalarize": {
      const leaf = L.kind === "sum" ? "t" : `t.${L.kind}()`;
      return `(...a: Any[]) => { const o = ${f}(${
        argList(0, n)
      }); const s = leaves(o).map((t) => ${leaf}.sum()).reduce((p, q) => p.add(q)); return ${
        L.aux ? "[s, o]" : "s"
      }; }`;
    }
    case "grad":
      return `${L.value ? "valueAndGrad" : "grad"}(${f}${
        opts({ argnums: L.argnums, hasAux: L.hasAux })
      })`;
    case "jacrev":
    case "jacfwd":
    case "hessian":
      return `${L.t}(${f}${
        opts({ argnums: L.argnums, chunkSize: L.chunkSize })
      })`;
    case "jvp":
      return `(...a: Any[]) => jvp(${f}, [${argList(0, n)}], [${
        argList(n, 2 * n)
      }])`;
    case "linearize":
      return `(...a: Any[]) => { const [o, fn] = linearize(${f}, ${
        argList(0, n)
      }); const t = fn(${argList(n, 2 * n)}); return ${
        L.withValue ? "[o, t]" : "t"
      }; }`;
    case "vjp":
      return `(...a: Any[]) => { const [o, fn] = vjp(${f}, ${
        argList(0, n)
      }); const cts = fn(like(o, a.slice(${n}))); return ${
        L.withValue ? "[o, cts]" : "cts"
      }; }`;
    case "vmap":
      return `vmap(${f}${
        opts({
          inDims: L.inDims,
          outDims: L.outDims,
          chunkSize: L.chunkSize,
        })
      })`;
    case "jit":
      return `jit(${f})`;
  }
}

/** The number of arguments each layer's inner function takes, from the outermost arity inwards. */
function innerArities(c: Case): number[] {
  const out: number[] = [];
  let n = c.argShapes.length;
  for (let i = c.layers.length - 1; i >= 0; i--) {
    const L = c.layers[i];
    n = L.t === "jvp" || L.t === "linearize"
      ? n / 2
      : L.t === "vjp"
      ? L.nPrimals
      : n;
    out[i] = n;
  }
  return out;
}

/** The case as a runnable TypeScript program (imports from ./mod.ts). */
export function renderCase(c: Case, expected?: unknown): string {
  const p = c.program;
  const name = (r: number) => (r < p.nInputs ? `x${r}` : `v${r}`);
  const lines: string[] = [];
  lines.push(
    `// differential case ${c.index} of seed ${c.seed} (JACOBI_DIFF_SEED=${c.seed} JACOBI_DIFF_ONLY=${c.index} deno task test:jax)`,
    `import { cat, grad, hessian, jacfwd, jacrev, jit, jvp, linear, linearize, stack, type Tensor, tensor, valueAndGrad, vjp, vmap, where, add, sub, mul, div, pow, maximum, minimum } from "./mod.ts";`,
    `// deno-lint-ignore no-explicit-any`,
    `type Any = any;`,
    `const leaves = (o: Any): Tensor[] => Array.isArray(o) ? o.flatMap(leaves) : [o];`,
    `const like = (o: Any, xs: Tensor[]): Any => { let k = 0; const go = (u: Any): Any => Array.isArray(u) ? u.map(go) : xs[k++]; return go(o); };`,
  );
  c.captured.forEach((k, i) =>
    lines.push(`const c${i} = ${lit(k.data, k.shape)};`)
  );
  if (p.nodes.some((n) => n.op === "lazy")) {
    lines.push(`const store: Tensor[] = []; // filled by the first call`);
  }
  const params = Array.from({ length: p.nInputs }, (_, i) => `x${i}: Tensor`);
  lines.push(`const f0 = (${params.join(", ")}): Any => {`);
  p.nodes.forEach((n, i) =>
    lines.push(`  const ${name(p.nInputs + i)} = ${nodeText(n, name)};`)
  );
  const out = typeof p.out === "number"
    ? name(p.out)
    : `[${p.out.map(name).join(", ")}]`;
  lines.push(`  return ${out};`, `};`);
  const arities = innerArities(c);
  c.layers.forEach((L, i) =>
    lines.push(`const f${i + 1}: Any = ${layerText(L, `f${i}`, arities[i])};`)
  );
  const g = `f${c.layers.length}`;
  c.inputs.forEach((set, k) =>
    lines.push(
      `const args${k + 1} = [${
        set.map((d, i) => lit(d, c.argShapes[i])).join(", ")
      }];`,
    )
  );
  lines.push(
    `const r1 = ${g}(...args1);`,
    `const r2 = ${g}(...args2);`,
    `console.log(leaves(r1).map((t) => t.toArray()), leaves(r2).map((t) => t.toArray()));`,
  );
  if (expected !== undefined) {
    lines.push(`// JAX (float64): ${JSON.stringify(expected)}`);
  }
  return lines.join("\n");
}
