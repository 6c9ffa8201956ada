#!/usr/bin/env bash
# daprd, Dapr's sidecar, built from upstream sources at the release pinned in go.mod, with exactly the
# components TodoPlatform uses (components/components.go), for the end-to-end tests of the event pipeline.
#
#   daprd.sh build   build it if missing into $TODO_CACHE_DIR/daprd-<hash>/bin (hash of go.mod, go.sum and
#                    the component list), print that directory
#   daprd.sh bin     print the directory (empty and exit 1 when not built)
#
# Upstream's cmd/daprd/components registers components behind the build tags allcomponents/stablecomponents
# (every cloud SDK) and without them compiles only zz_notag.go, which panics. The module cache is read-only
# and `go build -overlay` refuses files in it, so the build copies the pinned github.com/dapr/dapr module
# next to the binary, puts our components.go in place of zz_notag.go, and builds upstream's cmd/daprd
# against that copy with a replace directive. Nothing else of Dapr is changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${TODO_CACHE_DIR:-$HOME/.cache/todoplatform}
dapr_version=$(awk '$1 == "github.com/dapr/dapr" { print $2; exit }' "$here/go.mod")
key=$(cd "$here" && cat go.mod go.sum components/components.go | sha256sum | cut -c1-16)
root="$cache/daprd-$key"
bin="$root/bin"

log() { echo "daprd: $*" >&2; }

build() {
  if [ -x "$bin/daprd" ]; then
    log "cached in $bin"
    echo "$bin"
    return
  fi
  command -v go >/dev/null || { log "go is required to build daprd"; exit 1; }
  local started src work
  started=$(date +%s)
  rm -rf "$root"
  work="$root/build"
  mkdir -p "$work"
  log "building daprd $dapr_version with pubsub.kafka, state.postgresql, bindings.cron, secretstores.{kubernetes,local.file,local.env}, nameresolution.sqlite"
  src=$(cd "$here" && GOTOOLCHAIN=local go mod download -json "github.com/dapr/dapr@$dapr_version" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  cp -r "$src" "$work/dapr"
  chmod -R u+w "$work/dapr"
  cp "$here/components/components.go" "$work/dapr/cmd/daprd/components/zz_notag.go"
  cp "$here/go.mod" "$here/go.sum" "$work/"
  echo "replace github.com/dapr/dapr => ./dapr" >>"$work/go.mod"
  (cd "$work" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${dapr_version#v}" \
    -o "$root/bin.partial/" github.com/dapr/dapr/cmd/daprd)
  mv "$root/bin.partial" "$bin"
  rm -rf "$work"
  # Builds of earlier pins are no longer used by this checkout.
  find "$cache" -maxdepth 1 -name 'daprd-*' ! -name "daprd-$key" -exec rm -rf {} +
  log "built in $(($(date +%s) - started)) s"
  echo "$bin"
}

case "${1:-}" in
  build) build ;;
  bin)
    if [ -x "$bin/daprd" ]; then echo "$bin"; else exit 1; fi
    ;;
  *)
    echo "usage: $0 build|bin" >&2
    exit 2
    ;;
esac
