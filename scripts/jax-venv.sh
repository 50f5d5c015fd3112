#!/usr/bin/env bash
# Creates .venv-jax/ with the pinned JAX (CPU wheels from PyPI) that the
# differential test (deno task test:jax) compares jacobi with. Does nothing
# when the venv already holds the pinned versions; about 20 s otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-jax
req=tests/differential/requirements.txt
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/requirements.txt" &&
  "$venv/bin/python" -c "import jax" 2>/dev/null; then
  exit 0
fi
py=$(command -v python3 || true)
[ -n "$py" ] || py=/usr/bin/python3
start=$(date +%s)
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c "import jax; print('jax', jax.__version__)"
# Reinstall when the pins change.
cp "$req" "$venv/requirements.txt"
echo "installed JAX into $venv in $(($(date +%s) - start)) s"
