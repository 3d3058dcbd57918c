#!/usr/bin/env bash
# Regenerate every picture that ships: the README's staged step (docs/step.png, an animated PNG
# made from the committed trace tests/data/trace-small.json: step 24 accepts two drafts whose
# matrix entries rejected nodes wrote earlier) and the course notebooks' pictures
# (scripts/rerun_notebooks.sh: full-mode re-execution, PNGs kept).
# Usage: scripts/make_pictures.sh            (needs chromium + kaleido: scripts/setup-test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
flock -s /tmp/trviz-cpu.lock "$BIN/trviz" replay tests/data/trace-small.json --step 24 \
  --apng docs/step.png > /dev/null
echo "make_pictures: wrote docs/step.png"
scripts/rerun_notebooks.sh
