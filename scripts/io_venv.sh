#!/usr/bin/env bash
# Creates .venv-io (gitignored) with the Python `safetensors` package and
# numpy, pinned, for the cross test tests/io_python_test.ts (`deno task
# test:io`). Does nothing when the venv already has both at these versions.
set -euo pipefail
cd "$(dirname "$0")/.."
SAFETENSORS=0.8.0
NUMPY=2.3.5
V=.venv-io
want="$SAFETENSORS $NUMPY"
have=$("$V/bin/python" -c 'import safetensors, numpy; print(safetensors.__version__, numpy.__version__)' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  echo "io_venv: creating $V (safetensors==$SAFETENSORS, numpy==$NUMPY from PyPI)"
  python3 -m venv "$V"
  "$V/bin/pip" install --quiet --disable-pip-version-check "safetensors==$SAFETENSORS" "numpy==$NUMPY"
fi
"$V/bin/python" -c 'import safetensors, numpy; print("io_venv: safetensors", safetensors.__version__, "numpy", numpy.__version__)'
