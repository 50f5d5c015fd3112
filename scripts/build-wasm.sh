#!/usr/bin/env bash
# Builds crates/kernels to WebAssembly and writes the generated loader module
# src/backend/wasm/{kernels.d.ts,kernels_wasm.ts,kernels_relaxed_wasm.ts}, and the
# executor's opcodes src/backend/wasm/program_codes.ts (from program.rs).
#
# Toolchain, pinned exactly so that a rebuild reproduces the committed bytes:
# rustup's Rust has no wasm32 std and cannot fetch one here, so we use
# Debian's rustc-web/cargo-web and rebuild std from rust-web-src with
# -Zbuild-std; lld-19 links; wabt checks SIMD. wasm-bindgen's CLI is built
# from tools/wasm-bindgen-cli (its committed Cargo.lock, --locked) and run
# directly; JACOBI_WASM_PACK=1 runs the same build through wasm-pack instead.
#
# Usage: bash scripts/build-wasm.sh [--check | --out DIR | --verify]
#   --check    only verify that the committed module is fresh (SOURCE_HASH)
#   --out DIR  write the three generated files to DIR instead
#   --verify   rebuild into a temporary folder and fail unless every file is
#              byte-identical to the committed src/backend/wasm/ (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=src/backend/wasm
case "${1:-}" in
--check) exec bash scripts/check-wasm-fresh.sh ;;
--verify)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  bash scripts/build-wasm.sh --out "$tmp"
  bash scripts/compare-wasm.sh "$tmp"
  exit
  ;;
--out)
  OUT=${2:?"--out needs a folder"}
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
  ;;
"") ;;
*)
  echo "usage: bash scripts/build-wasm.sh [--check | --out DIR | --verify]" >&2
  exit 2
  ;;
esac

# --- pinned toolchain ------------------------------------------------------
RUSTC_VERSION="rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)"
DEB_RUST=1.96.0+dfsg1-1~deb12u2 # rustc-web, cargo-web, rust-web-src
DEB_LLD=1:19.1.7-3~deb12u1      # lld-19
WB_VERSION=0.2.130              # = the wasm-bindgen pin in crates/kernels/Cargo.toml

deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
need_apt=0
for p in rustc-web cargo-web rust-web-src; do
  [ "$(deb_version "$p")" = "$DEB_RUST" ] || need_apt=1
done
[ "$(deb_version lld-19)" = "$DEB_LLD" ] || need_apt=1
command -v wasm-objdump >/dev/null || need_apt=1
if [ "$need_apt" = 1 ] && command -v apt-get >/dev/null; then
  echo "build-wasm: installing the pinned Debian toolchain (rustc-web $DEB_RUST, lld-19 $DEB_LLD, wabt)" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends --allow-downgrades \
    "rustc-web=$DEB_RUST" "cargo-web=$DEB_RUST" "rust-web-src=$DEB_RUST" "lld-19=$DEB_LLD" wabt; then
    echo "error: could not install the pinned toolchain (rustc-web/cargo-web/rust-web-src $DEB_RUST, lld-19 $DEB_LLD)." >&2
    echo "       A different version would build different bytes; update the pins in scripts/build-wasm.sh" >&2
    echo "       together with a rebuilt src/backend/wasm/ if the pinned versions are gone." >&2
    exit 1
  fi
fi
have=$(/usr/bin/rustc --version 2>/dev/null || echo "(no /usr/bin/rustc)")
if [ "$have" != "$RUSTC_VERSION" ]; then
  echo "error: /usr/bin/rustc is not the pinned compiler, so the build would not reproduce the committed module." >&2
  echo "       expected: $RUSTC_VERSION" >&2
  echo "       found:    $have" >&2
  exit 1
fi
if command -v dpkg-query >/dev/null; then
  for p in rust-web-src:$DEB_RUST lld-19:$DEB_LLD; do
    name=${p%%:*} want=${p#*:}
    got=$(deb_version "$name")
    if [ "$got" != "$want" ]; then
      echo "error: $name is '${got:-not installed}', expected exactly $want." >&2
      exit 1
    fi
  done
fi
SRC=$(readlink -f "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust")
if [ ! -d "$SRC/library" ]; then
  echo "error: no Rust std sources at $SRC/library (Debian package rust-web-src $DEB_RUST)." >&2
  exit 1
fi

# wasm-bindgen CLI from the committed lock file (a no-op when up to date).
WB_DIR="$ROOT/tools/wasm-bindgen-cli"
# Built outside the checkout so that a fresh clone on the same machine (CI)
# reuses it: building the CLI from scratch takes several minutes.
WB_TARGET="${JACOBI_WASM_BINDGEN_TARGET:-$HOME/.cache/jacobi/wasm-bindgen-cli-$WB_VERSION}"
echo "build-wasm: building wasm-bindgen $WB_VERSION from tools/wasm-bindgen-cli/Cargo.lock" >&2
env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS RUSTC=/usr/bin/rustc CARGO_TARGET_DIR="$WB_TARGET" \
  /usr/bin/cargo build --locked --release --quiet --manifest-path "$WB_DIR/Cargo.toml"
WASM_BINDGEN="$WB_TARGET/release/wasm-bindgen"
if [ "$("$WASM_BINDGEN" --version)" != "wasm-bindgen $WB_VERSION" ]; then
  echo "error: $WASM_BINDGEN is '$("$WASM_BINDGEN" --version)', expected wasm-bindgen $WB_VERSION." >&2
  exit 1
fi

# --- build -----------------------------------------------------------------
CRATE="$ROOT/crates/kernels"
# Two modules from the same sources: SIMD128 (every engine with SIMD) and
# SIMD128 + relaxed SIMD (fused multiply-add in the GEMM micro-kernel), which
# src/backend/wasm.ts picks at load time when the engine validates it.
# `-pre-RA-sched=source` keeps LLVM from hoisting the micro-kernel's loads
# ahead of their uses: V8 has 15 allocatable vector registers, and the
# hoisted schedule spilled the tile's accumulators (GEMM 512: 37 -> 44
# GFLOP/s relaxed, 26 -> 33 plain).
flags() {
  printf '%s' "-Ctarget-feature=$1"$'\x1f'"-Cllvm-args=-pre-RA-sched=source"$'\x1f'"--remap-path-prefix=$CRATE=/crate"$'\x1f'"--remap-path-prefix=$SRC=/rustc-src"$'\x1f'"--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
}
BUILD_ENV=(env -u RUSTFLAGS RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  CARGO_ENCODED_RUSTFLAGS="$(flags +simd128)"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-19/bin/wasm-ld)
RELAXED_ENV=(env -u RUSTFLAGS RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  CARGO_ENCODED_RUSTFLAGS="$(flags +simd128,+relaxed-simd)"
  CARGO_TARGET_DIR="$CRATE/target/relaxed"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-19/bin/wasm-ld)
mkdir -p "$OUT"
if [ "${JACOBI_WASM_PACK:-0}" = 1 ]; then
  # The same build through wasm-pack (opt-in; README "Building the
  # WebAssembly" has the measurements). `--mode force`, not `no-install`:
  # no-install stops at its check for a prebuilt wasm32 std in rustc's
  # sysroot, which Debian's rustc-web lacks (we build std with -Zbuild-std).
  # force skips that check; it may download tools, but finds the pinned
  # wasm-bindgen first on PATH, and --no-opt skips wasm-opt (binaryen, which
  # it would download from GitHub). Same bytes as the direct build.
  WP_VERSION=0.15.1
  WP_ROOT="${JACOBI_WASM_PACK_ROOT:-$HOME/.cache/jacobi/wasm-pack-$WP_VERSION}"
  if [ "$("$WP_ROOT/bin/wasm-pack" --version 2>/dev/null || true)" != "wasm-pack $WP_VERSION" ]; then
    echo "build-wasm: installing wasm-pack $WP_VERSION from crates.io (cargo install --locked, several minutes)" >&2
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS RUSTC=/usr/bin/rustc \
      /usr/bin/cargo install --locked --quiet --version "=$WP_VERSION" --root "$WP_ROOT" wasm-pack
  fi
  wp_tmp=$(mktemp -d)
  trap 'rm -rf "$wp_tmp"' EXIT
  mkdir "$wp_tmp/bin" "$wp_tmp/pkg"
  ln -s "$WASM_BINDGEN" "$wp_tmp/bin/wasm-bindgen"
  # /usr/bin first: wasm-pack runs `cargo` and `rustc` from PATH.
  (cd "$CRATE" && "${BUILD_ENV[@]}" PATH="$wp_tmp/bin:/usr/bin:$PATH" \
    "$WP_ROOT/bin/wasm-pack" build --mode force --no-opt --no-pack --no-gitignore \
    --target web --out-dir "$wp_tmp/pkg" --out-name kernels \
    -- --locked -Zbuild-std=std,panic_abort)
  cp "$wp_tmp/pkg/kernels.js" "$wp_tmp/pkg/kernels.d.ts" "$wp_tmp/pkg/kernels_bg.wasm" "$OUT/"
else
  (cd "$CRATE" && "${BUILD_ENV[@]}" \
    /usr/bin/cargo build --locked --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort)
  WASM="$CRATE/target/wasm32-unknown-unknown/release/jacobi_kernels.wasm"
  "$WASM_BINDGEN" --target web --out-dir "$OUT" --out-name kernels "$WASM"
fi
(cd "$CRATE" && "${RELAXED_ENV[@]}" \
  /usr/bin/cargo build --locked --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort)
rtmp=$(mktemp -d)
"$WASM_BINDGEN" --target web --out-dir "$rtmp" --out-name kernels \
  "$CRATE/target/relaxed/wasm32-unknown-unknown/release/jacobi_kernels.wasm"
# One JavaScript glue serves both modules: their exports must be identical.
for f in kernels.js kernels.d.ts; do
  if ! cmp -s "$OUT/$f" "$rtmp/$f"; then
    echo "error: the relaxed-SIMD build's $f differs from the SIMD128 build's" >&2
    exit 1
  fi
done
# grep -c, not -q: -q exits at the first match and pipefail then sees
# wasm-objdump's SIGPIPE.
if [ "$(wasm-objdump -d "$rtmp/kernels_bg.wasm" | grep -c 'relaxed_madd' || true)" -lt 10 ]; then
  echo "error: the relaxed-SIMD module has no relaxed_madd; was +relaxed-simd lost?" >&2
  exit 1
fi

# --- SIMD check ----------------------------------------------------------------
simd=$(wasm-objdump -d "$OUT/kernels_bg.wasm" | grep -c 'f32x4' || true)
echo "build-wasm: $simd f32x4 instructions in the module"
if [ "$simd" -lt 100 ]; then
  echo "error: the module has almost no SIMD ($simd f32x4 instructions); was +simd128 lost?" >&2
  exit 1
fi

# --- inline as base64 (importing then needs no read/net permission) ---------
HASH=$(bash scripts/wasm-source-hash.sh)
{
  echo "// Generated by scripts/build-wasm.sh from crates/kernels. Do not edit."
  echo "// SOURCE_HASH: sha256 over the kernel sources (scripts/wasm-source-hash.sh)."
  echo "export const SOURCE_HASH = \"$HASH\";"
  echo "export const WASM_SHA256 = \"$(sha256sum "$OUT/kernels_bg.wasm" | cut -d' ' -f1)\";"
  printf 'export const WASM_BASE64 =\n  "%s";\n' "$(base64 -w0 "$OUT/kernels_bg.wasm")"
} >"$OUT/kernels_wasm.ts"
{
  echo "// Generated by scripts/build-wasm.sh from crates/kernels. Do not edit."
  echo "// The same kernels built with relaxed SIMD (fused multiply-add); loaded"
  echo "// instead of kernels_wasm.ts where the engine validates relaxed SIMD."
  echo "export const SOURCE_HASH = \"$HASH\";"
  echo "export const WASM_RELAXED_SHA256 = \"$(sha256sum "$rtmp/kernels_bg.wasm" | cut -d' ' -f1)\";"
  printf 'export const WASM_RELAXED_BASE64 =\n  "%s";\n' "$(base64 -w0 "$rtmp/kernels_bg.wasm")"
} >"$OUT/kernels_relaxed_wasm.ts"
rm -rf "$rtmp"
# wasm-bindgen's JavaScript glue is not shipped: src/backend/wasm_instance.ts
# instantiates the module itself (the kernels import the thread pool's
# functions, and with threads their memory), and only the types in
# kernels.d.ts are used.
rm -f "$OUT/kernels_bg.wasm" "$OUT/kernels_bg.wasm.d.ts" "$OUT/kernels.js"
echo "build-wasm: wrote $OUT/kernels_wasm.ts ($(wc -c <"$OUT/kernels_wasm.ts") bytes), SOURCE_HASH $HASH"

# --- the executor's opcodes for TypeScript, from program.rs --------------------
if command -v deno >/dev/null 2>&1; then DENO=(deno); else DENO=(npx --yes deno@2); fi
"${DENO[@]}" run --allow-read --allow-write scripts/gen_program_codes.ts
