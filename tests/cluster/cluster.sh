#!/usr/bin/env bash
# A real Kubernetes control plane on this machine, built from upstream sources, for the end-to-end suite and
# for trying the operator without Docker:
#   etcd, kube-apiserver (RBAC on), kube-controller-manager (garbage collection, Deployment, Job, ...
#   controllers), kube-scheduler, and kwok with fake nodes whose pods become Running/Ready/Succeeded without a
#   kubelet. Nothing runs in the pods: it is the control plane that is real.
#
#   cluster.sh build   build what is missing into $TODO_CACHE_DIR/cluster-<hash>/bin (hash of the pinned
#                      Go modules), print that directory
#   cluster.sh up      build, then start the cluster (or find it running); print the admin kubeconfig's path
#                      on the last line once /readyz answers
#   cluster.sh down    stop it and remove its state
#   cluster.sh bin     print the binaries' directory (empty and exit 1 when not built)
#
# Requests made by service accounts are written to $TODO_CLUSTER_DIR/audit.log (JSON lines, metadata only), so
# a test can compare what the operator really did with what its RBAC grants.
#
# Environment: TODO_CACHE_DIR (default ~/.cache/todoplatform), TODO_CLUSTER_DIR (state, default
# /tmp/todo-cluster), TODO_CLUSTER_NODES (fake nodes, default 3), TODO_CLUSTER_WATCH_PID (stop the cluster
# when that process exits: the test suite passes its own pid). Everything listens on 127.0.0.1 only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${TODO_CACHE_DIR:-$HOME/.cache/todoplatform}
k8s_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/kube/go.mod")
# Built outside Kubernetes' own build scripts, the binaries would report v0.0.0-master; helm and kubectl read
# the server's version, so stamp the real one.
version_flags=""
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  minor=${k8s_version#v1.}
  version_flags+=" -X $package.gitVersion=$k8s_version -X $package.gitMajor=1 -X $package.gitMinor=${minor%%.*}"
  version_flags+=" -X $package.gitTreeState=clean"
done
key=$(cd "$here" && { cat kube/go.mod kube/go.sum kube/etcd/main.go kube/kstatus/main.go kwok/go.mod kwok/go.sum
  echo "$version_flags"; } | sha256sum | cut -c1-16)
bin="$cache/cluster-$key/bin"
state=${TODO_CLUSTER_DIR:-/tmp/todo-cluster}
tools=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kstatus kwok)

log() { echo "cluster: $*" >&2; }

built() {
  local tool
  for tool in "${tools[@]}"; do [ -x "$bin/$tool" ] || return 1; done
}

build() {
  if built; then
    log "binaries cached in $bin"
    echo "$bin"
    return
  fi
  command -v go >/dev/null || { log "go is required to build the cluster binaries"; exit 1; }
  local started tmp
  started=$(date +%s)
  tmp="$cache/cluster-$key/bin.partial"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "building etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kstatus (Kubernetes $k8s_version)"
  (cd "$here/kube" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w $version_flags" -o "$tmp/" \
    ./etcd ./kstatus k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  log "building kwok"
  (cd "$here/kwok" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -ldflags='-s -w' -o "$tmp/" \
    sigs.k8s.io/kwok/cmd/kwok)
  rm -rf "$bin"
  mv "$tmp" "$bin"
  # Binaries of earlier pins are no longer used by this checkout.
  find "$cache" -maxdepth 1 -name 'cluster-*' ! -name "cluster-$key" -exec rm -rf {} +
  log "built in $(($(date +%s) - started)) s"
  echo "$bin"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A client certificate signed by the cluster CA and a kubeconfig using it.
client() {
  local name=$1 subject=$2
  openssl req -new -newkey rsa:2048 -nodes -keyout "$state/pki/$name.key" -subj "$subject" \
    -out "$state/pki/$name.csr" 2>/dev/null
  # Extensions make it an X.509 v3 certificate; rustls (kube-rs clients) refuses v1.
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' \
    >"$state/pki/client.ext"
  openssl x509 -req -in "$state/pki/$name.csr" -CA "$state/pki/ca.crt" -CAkey "$state/pki/ca.key" \
    -CAcreateserial -days 30 -extfile "$state/pki/client.ext" -out "$state/pki/$name.crt" 2>/dev/null
  cat >"$state/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: todo-test
  cluster:
    server: https://127.0.0.1:$(cat "$state/apiserver.port")
    certificate-authority: $state/pki/ca.crt
users:
- name: $name
  user:
    client-certificate: $state/pki/$name.crt
    client-key: $state/pki/$name.key
contexts:
- name: $name@todo-test
  context:
    cluster: todo-test
    user: $name
current-context: $name@todo-test
EOF
}

pki() {
  mkdir -p "$state/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$state/pki/ca.key" -out "$state/pki/ca.crt" -days 30 \
    -subj "/CN=todo-test-ca" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -keyout "$state/pki/apiserver.key" -subj "/CN=kube-apiserver" \
    -out "$state/pki/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' \
    >"$state/pki/apiserver.ext"
  openssl x509 -req -in "$state/pki/apiserver.csr" -CA "$state/pki/ca.crt" -CAkey "$state/pki/ca.key" \
    -CAcreateserial -days 30 -extfile "$state/pki/apiserver.ext" -out "$state/pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$state/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$state/pki/sa.key" -pubout -out "$state/pki/sa.pub" 2>/dev/null
  client admin "/O=system:masters/CN=kubernetes-admin"
  client controller-manager "/CN=system:kube-controller-manager"
  client scheduler "/CN=system:kube-scheduler"
}

start() {
  local name=$1
  shift
  setsid "$@" >"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$state/pids/$name"
}

running() {
  [ -f "$state/admin.kubeconfig" ] &&
    "$bin/kubectl" --kubeconfig "$state/admin.kubeconfig" get --raw /readyz >/dev/null 2>&1
}

wait_for() {
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq 1 "$((seconds * 4))"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  log "$what did not come up within ${seconds}s; logs in $state/logs"
  tail -n 30 "$state"/logs/*.log >&2 || true
  return 1
}

up() {
  build >/dev/null
  if running; then
    log "already running"
    echo "$state/admin.kubeconfig"
    return
  fi
  down >/dev/null 2>&1 || true
  local started
  started=$(date +%s)
  mkdir -p "$state/logs" "$state/pids" "$state/etcd"
  free_port >"$state/apiserver.port"
  local api_port etcd_port peer_port kwok_port
  api_port=$(cat "$state/apiserver.port")
  etcd_port=$(free_port)
  peer_port=$(free_port)
  kwok_port=$(free_port)
  pki

  start etcd "$bin/etcd" --name todo-test --data-dir "$state/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "todo-test=http://127.0.0.1:$peer_port" --listen-metrics-urls "" --log-level warn
  start kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$state/pki/apiserver.crt" --tls-private-key-file "$state/pki/apiserver.key" \
    --client-ca-file "$state/pki/ca.crt" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$state/pki/sa.pub" --service-account-signing-key-file "$state/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true --endpoint-reconciler-type none --v 1 \
    --audit-policy-file "$here/audit-policy.yaml" --audit-log-path "$state/audit.log" --audit-log-format json
  wait_for kube-apiserver 60 "$bin/kubectl" --kubeconfig "$state/admin.kubeconfig" get --raw /readyz
  # kwok renews the fake nodes' leases, so the node lifecycle controller sees them healthy and lifts the
  # not-ready taint new nodes start with.
  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$state/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$state/pki/sa.key" --root-ca-file "$state/pki/ca.crt" \
    --cluster-signing-cert-file "$state/pki/ca.crt" --cluster-signing-key-file "$state/pki/ca.key" \
    --concurrent-gc-syncs 5 --v 1
  start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$state/scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --v 1
  start kwok "$bin/kwok" --kubeconfig "$state/admin.kubeconfig" --config "$here/stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 --server-address "127.0.0.1:$kwok_port" --cidr 10.244.0.1/16 \
    --node-ip 10.0.0.1

  local nodes=${TODO_CLUSTER_NODES:-3} i
  {
    for i in $(seq 1 "$nodes"); do
      cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
---
EOF
    done
    cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kwok-volume
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kwok.x-k8s.io/volume
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
  } | "$bin/kubectl" --kubeconfig "$state/admin.kubeconfig" apply -f - >/dev/null
  wait_for "fake nodes" 60 "$bin/kubectl" --kubeconfig "$state/admin.kubeconfig" wait node --all \
    --for condition=Ready --timeout 1s
  wait_for "the default ServiceAccount" 60 "$bin/kubectl" --kubeconfig "$state/admin.kubeconfig" \
    get serviceaccount default -n default

  if [ -n "${TODO_CLUSTER_WATCH_PID:-}" ]; then
    # Stop the cluster when the process that asked for it exits, however it exits.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down' _ \
      "$TODO_CLUSTER_WATCH_PID" "$here/cluster.sh" >/dev/null 2>&1 </dev/null &
    echo $! >"$state/pids/watch"
  fi
  log "up in $(($(date +%s) - started)) s: kubectl --kubeconfig $state/admin.kubeconfig get nodes"
  echo "$state/admin.kubeconfig"
}

down() {
  local name pid
  for name in watch kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    [ -f "$state/pids/$name" ] || continue
    pid=$(cat "$state/pids/$name")
    [ "$pid" = "$$" ] || [ "$pid" = "$PPID" ] || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$state"
  log "stopped"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  bin) if built; then echo "$bin"; else exit 1; fi ;;
  *)
    echo "usage: $0 build|up|down|bin" >&2
    exit 2
    ;;
esac
