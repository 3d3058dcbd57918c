#!/usr/bin/env bash
# Re-execute the course notebooks in smoke mode and re-save them with clean outputs (text kept,
# figures, widgets and widget state dropped), then check them the way CI does.
# Usage: scripts/rerun_notebooks.sh [notebooks/NN_name.ipynb ...]   (default: all of them)
# Loads SmolLM2: runs under the shared heavy-run lock.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PATH="$PWD/$BIN:$PATH" HF_HUB_OFFLINE=1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(notebooks/[0-9][0-9]_*.ipynb)
flock /tmp/trviz-heavy.lock "$BIN/python" -m tr_notebooks.resave "${targets[@]}"
flock /tmp/trviz-heavy.lock "$BIN/python" -m pytest -q -p no:cacheprovider "${targets[@]}" \
  tests/test_notebooks_course.py
echo "rerun_notebooks: done; review 'git diff notebooks/' and commit"
