#!/usr/bin/env bash
# promtool, Prometheus's rule checker and rule unit-test runner, built from upstream sources at the
# release pinned in go.mod, for the tests that check the alerting rules we ship.
#
#   promtool.sh build   build it if missing into $TODO_CACHE_DIR/promtool-<hash>/bin (hash of go.mod and
#                       go.sum), print that directory
#   promtool.sh bin     print the directory (empty and exit 1 when not built)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${TODO_CACHE_DIR:-$HOME/.cache/todoplatform}
# Prometheus 3.x publishes its Go module as v0.3xx.y for Prometheus 3.xx.y.
module_version=$(awk '$1 == "github.com/prometheus/prometheus" { print $2; exit }' "$here/go.mod")
key=$(cd "$here" && cat go.mod go.sum | sha256sum | cut -c1-16)
root="$cache/promtool-$key"
bin="$root/bin"

log() { echo "promtool: $*" >&2; }

build() {
  if [ -x "$bin/promtool" ]; then
    log "cached in $bin"
    echo "$bin"
    return
  fi
  command -v go >/dev/null || { log "go is required to build promtool"; exit 1; }
  local started
  started=$(date +%s)
  rm -rf "$root"
  mkdir -p "$root"
  log "building promtool from github.com/prometheus/prometheus $module_version"
  (cd "$here" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" \
    -o "$root/bin.partial/" github.com/prometheus/prometheus/cmd/promtool)
  mv "$root/bin.partial" "$bin"
  # Builds of earlier pins are no longer used by this checkout.
  find "$cache" -maxdepth 1 -name 'promtool-*' ! -name "promtool-$key" -exec rm -rf {} +
  log "built in $(($(date +%s) - started)) s"
  echo "$bin"
}

case "${1:-}" in
  build) build ;;
  bin)
    if [ -x "$bin/promtool" ]; then echo "$bin"; else exit 1; fi
    ;;
  *)
    echo "usage: $0 build|bin" >&2
    exit 2
    ;;
esac
