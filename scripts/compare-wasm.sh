#!/usr/bin/env bash
# Fails unless the generated files in DIR (a rebuild: build-wasm.sh --out DIR)
# are byte-identical to the committed src/backend/wasm/ that users import.
# Usage: bash scripts/compare-wasm.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?"usage: bash scripts/compare-wasm.sh DIR"}
bad=0
for f in kernels_wasm.ts kernels_relaxed_wasm.ts kernels.d.ts; do
  committed=src/backend/wasm/$f
  if [ ! -f "$dir/$f" ]; then
    echo "error: the rebuild produced no $f in $dir" >&2
    bad=1
  elif ! cmp -s "$committed" "$dir/$f"; then
    echo "error: $committed differs from its rebuild:" >&2
    echo "       committed $(sha256sum <"$committed" | cut -d' ' -f1) ($(wc -c <"$committed") bytes)" >&2
    echo "       rebuilt   $(sha256sum <"$dir/$f" | cut -d' ' -f1) ($(wc -c <"$dir/$f") bytes)" >&2
    cmp "$committed" "$dir/$f" >&2 || true
    bad=1
  else
    echo "identical: $committed ($(sha256sum <"$committed" | cut -d' ' -f1))"
  fi
done
if [ "$bad" != 0 ]; then
  echo "The committed WebAssembly is not what the pinned toolchain builds from these sources." >&2
  echo "Rebuild it with 'bash scripts/build-wasm.sh' and commit src/backend/wasm/." >&2
  exit 1
fi
