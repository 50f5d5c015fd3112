#!/usr/bin/env bash
# Fails when src/backend/wasm/kernels_wasm.ts was not built from the current
# Rust sources (compare SOURCE_HASH with scripts/wasm-source-hash.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=src/backend/wasm/kernels_wasm.ts
want=$(bash scripts/wasm-source-hash.sh)
have=$(sed -n 's/^export const SOURCE_HASH = "\([0-9a-f]*\)";$/\1/p' "$gen" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "error: $gen is stale: SOURCE_HASH is '${have:-missing}' but the kernel sources hash to '$want'." >&2
  echo "       Rebuild it with 'deno task build:wasm' and commit src/backend/wasm/." >&2
  exit 1
fi
rel=src/backend/wasm/kernels_relaxed_wasm.ts
have=$(sed -n 's/^export const SOURCE_HASH = "\([0-9a-f]*\)";$/\1/p' "$rel" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "error: $rel is stale: SOURCE_HASH is '${have:-missing}' but the kernel sources hash to '$want'." >&2
  echo "       Rebuild it with 'deno task build:wasm' and commit src/backend/wasm/." >&2
  exit 1
fi
echo "wasm is fresh ($want)"
