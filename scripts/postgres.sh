#!/usr/bin/env bash
# Makes postgres://postgres@127.0.0.1:5432/postgres work on a Debian machine, as the tests and the benchmark
# expect: installs Debian's PostgreSQL when it is missing, lets the postgres role in from loopback without a
# password (a development and CI box only), starts the cluster and waits until it answers. Idempotent.
set -euo pipefail

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "== installing PostgreSQL (Debian package)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql postgresql-contrib >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
conf="/etc/postgresql/$version/main"

# First match wins in pg_hba.conf: put the loopback trust lines for the postgres role above Debian's defaults.
marker="# todoplatform: passwordless postgres on loopback (dev/CI)"
if ! $SUDO grep -qF "$marker" "$conf/pg_hba.conf"; then
  tmp=$(mktemp)
  {
    echo "$marker"
    echo "host all postgres 127.0.0.1/32 trust"
    echo "host all postgres ::1/128 trust"
    $SUDO cat "$conf/pg_hba.conf"
  } >"$tmp"
  $SUDO install -o postgres -g postgres -m 640 "$tmp" "$conf/pg_hba.conf"
  rm -f "$tmp"
  reload=1
fi

if pg_isready -q -h 127.0.0.1 -p 5432; then
  [ -n "${reload:-}" ] && $SUDO pg_ctlcluster "$version" main reload
else
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
psql "postgres://postgres@127.0.0.1:5432/postgres" -Atc "select 'PostgreSQL ready: ' || version()"
