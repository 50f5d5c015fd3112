#!/usr/bin/env bash
# Prints the sha256 that identifies the WebAssembly kernels' sources: every
# file under crates/kernels/src, Cargo.toml, Cargo.lock, the build script and
# the pinned wasm-bindgen CLI's manifest, lock file and main.
# Recorded in src/backend/wasm/kernels_wasm.ts as SOURCE_HASH.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  find crates/kernels/src -type f | LC_ALL=C sort
  echo crates/kernels/Cargo.toml
  echo crates/kernels/Cargo.lock
  echo scripts/build-wasm.sh
  echo tools/wasm-bindgen-cli/Cargo.toml
  echo tools/wasm-bindgen-cli/Cargo.lock
  echo tools/wasm-bindgen-cli/src/main.rs
} | while read -r f; do
  printf '%s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$f"
done | sha256sum | cut -d' ' -f1
