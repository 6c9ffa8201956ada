#!/usr/bin/env bash
# Installs what the web UI's browser test (api-server/tests/ui_e2e.rs) needs; idempotent, safe to re-run:
#   Chromium     Debian's package (/usr/bin/chromium); playwright-core drives it, no browser download
#   tests/ui     node_modules from package-lock.json (playwright-core only)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"

command -v node >/dev/null || { echo "node (18+) is required for the UI test" >&2; exit 1; }
echo "== npm ci --prefix tests/ui"
npm ci --prefix tests/ui --no-audit --no-fund --silent
echo "playwright-core: $(node -p "require('./tests/ui/node_modules/playwright-core/package.json').version")"
