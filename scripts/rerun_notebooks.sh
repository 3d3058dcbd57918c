#!/usr/bin/env bash
# Re-execute the course notebooks in full mode and re-save them with their pictures (a static PNG
# beside every figure and player; interactive outputs and widget state dropped, text kept), then
# check them the way CI does (nbval, smoke mode).
# Usage: scripts/rerun_notebooks.sh [notebooks/NN_name.ipynb ...]   (default: all of them)
# Loads SmolLM2 and runs for minutes: under the shared CPU lock.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PATH="$PWD/$BIN:$PATH" HF_HUB_OFFLINE=1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(notebooks/[0-9][0-9]_*.ipynb)
flock -s /tmp/trviz-cpu.lock "$BIN/python" -m tr_notebooks.resave "${targets[@]}"
flock -s /tmp/trviz-cpu.lock "$BIN/python" -m pytest -q -p no:cacheprovider "${targets[@]}" \
  tests/test_notebooks_course.py tests/test_resave.py
echo "rerun_notebooks: done; review 'git diff notebooks/' and commit"
