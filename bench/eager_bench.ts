/**
 * Per-operation eager overhead: one primitive on concrete tensors, the path
 * every un-jitted call takes (shape rule, lowering, one kernel launch, a
 * Storage for the result). Tiny operands measure the dispatch cost alone;
 * the [256, 256] matmul shows it is negligible next to real work.
 *
 *   deno bench bench/eager_bench.ts
 */
import { matmul, randn, type Tensor } from "../mod.ts";

const f32 = { dtype: "float32" } as const;
const a4 = randn([4], f32), b4 = randn([4], f32);
const a256 = randn([256, 256], f32), b256 = randn([256, 256], f32);
const m34 = randn([3, 4], f32), r4 = randn([4], f32);

const once = (f: () => Tensor) => () => f().dispose();

Deno.bench("add [4] + [4]", { group: "tiny" }, once(() => a4.add(b4)));
Deno.bench("sin [4]", { group: "tiny" }, once(() => a4.sin()));
Deno.bench("sum [4]", { group: "tiny" }, once(() => a4.sum()));
Deno.bench(
  "add [3, 4] + [4] (broadcast)",
  { group: "tiny" },
  once(() => m34.add(r4)),
);
Deno.bench(
  "permute [3, 4]",
  { group: "tiny" },
  once(() => m34.permute([1, 0])),
);
Deno.bench("matmul [256, 256] @ [256, 256]", once(() => matmul(a256, b256)));
