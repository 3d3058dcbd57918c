#!/usr/bin/env bash
# Idempotent: installs what the tests need beyond the runtime (called by `scripts/setup.sh --test`).
#   - Debian's chromium (browser tests, PNG export), only if /usr/bin/chromium is missing
#   - the pinned pip packages of requirements/test.txt (playwright's driver, kaleido)
# No browser download: playwright and kaleido both use /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv

if [ ! -x /usr/bin/chromium ]; then
  echo "setup-test: installing Debian chromium"
  sudo_=""
  [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi

stamp=$(sha256sum requirements/test.txt | cut -c1-16)
if [ "$(cat "$VENV/.deps-test" 2>/dev/null)" != "$stamp" ]; then
  echo "setup-test: installing requirements/test.txt"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$VENV/bin/python" -m pip --disable-pip-version-check -q \
    install -r requirements/test.txt 2>&1 | { grep -v "is ignored" || true; }
  "$VENV/bin/python" -c "import playwright, kaleido" \
    || { echo "setup-test: test dependency install failed" >&2; exit 1; }
  echo "$stamp" > "$VENV/.deps-test"
fi
