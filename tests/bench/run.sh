#!/usr/bin/env bash
# The API benchmark (BENCHMARKS.md): 1,000 users × 1,000 tasks in PostgreSQL, then search, filtered+sorted
# listing and task creation under 32 connections (wrk), the server's peak RSS, and pgbench ceilings of the
# same SQL. Usage: tests/bench/run.sh [seconds-per-scenario]   (env: BENCH_PG admin URL, BENCH_USERS, BENCH_PER_USER)
# To compare builds (BENCHMARKS.md, sessions 8 and 9): BENCH_BIN and BENCH_SIDECAR_BIN name prebuilt release
# binaries (nothing is built then), BENCH_DB the database (default todo_bench), BENCH_SEED the seed script and
# BENCH_PGBENCH the directory of the pgbench_*.sql scripts of that build's SQL (default tests/bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-30}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
DB="${BENCH_DB:-todo_bench}"
BIN="${BENCH_BIN:-./target/release/todo-api}"
SIDECAR_BIN="${BENCH_SIDECAR_BIN:-./target/release/examples/bench_sidecar}"
SEED="${BENCH_SEED:-tests/bench/seed.sql}"
PGBENCH_DIR="${BENCH_PGBENCH:-tests/bench}"
USERS="${BENCH_USERS:-1000}"
PER_USER="${BENCH_PER_USER:-1000}"
PORT=18090
# Database connections of the server (and pgbench clients): on 2 cores shared with wrk, a pool of 8 keeps
# PostgreSQL busy without 32 backends contending (measured: 32 → 8 lifts list from ~930 to ~1,200 req/s).
POOL="${BENCH_POOL:-8}"
SIDECAR=18091
export BENCH_DIR="$PWD/tests/bench"
export BENCH_TOKENS="$(mktemp)"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }

if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release -q -p todo-api
  cargo build --release -q -p todo-worker --example bench_sidecar
fi
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $(psql "$PG/postgres" -Atc 'show server_version')"
echo "== $(date -u +%FT%TZ) $BIN on $DB; load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${BENCH_RESEED:-1}" = 1 ]; then
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  DATABASE_URL="$PG/$DB" "$BIN" migrate
  echo "== seeding $USERS users × $PER_USER tasks"
  time psql "$PG/$DB" -q -v users="$USERS" -v per_user="$PER_USER" -f "$SEED"
fi
# Events left unpublished by an earlier run would be relayed during this one. An earlier run's tasks are
# vacuumed as autovacuum would have (it may be off on a dev box's PostgreSQL): otherwise the pages they
# filled are not all-visible and the listing's index-only scans read the heap. The seed's (or an earlier
# run's) dirty pages would be written out by a checkpoint in the middle of a scenario.
psql "$PG/$DB" -qc "TRUNCATE outbox" -c "VACUUM (ANALYZE)" -c "CHECKPOINT"
python3 tests/bench/tokens.py bench-secret "$USERS" > "$BENCH_TOKENS"

"$SIDECAR_BIN" $SIDECAR & sidecar_pid=$!
DATABASE_URL="$PG/$DB" TODO_HTTP_ADDR=127.0.0.1:$PORT TODO_JWT_SECRET=bench-secret TODO_MIGRATE=false \
  DAPR_HTTP_PORT=$SIDECAR TODO_EMBEDDED_WORKERS=false TODO_DB_MAX_CONNECTIONS=$POOL RUST_LOG=warn \
  "$BIN" serve & api_pid=$!
trap 'kill $api_pid $sidecar_pid 2>/dev/null || true; rm -f "$BENCH_TOKENS"' EXIT
until curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.2; done

for scenario in search list create; do
  wrk -t2 -c32 -d3s -s tests/bench/$scenario.lua "http://127.0.0.1:$PORT" >/dev/null  # warm-up
  printf '%-7s ' "$scenario"
  wrk -t2 -c32 -d"${DURATION}s" -s tests/bench/$scenario.lua "http://127.0.0.1:$PORT" | grep RESULT
done
echo "server peak RSS: $(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$api_pid/status)"
echo "events published through the relay: $(curl -s http://127.0.0.1:$SIDECAR/)"
# The server stops first (its relay would otherwise publish pgbench's outbox rows during the ceilings),
# then the sidecar, so the relay's last publishes do not fail.
kill $api_pid; wait $api_pid 2>/dev/null || true
kill $sidecar_pid; wait $sidecar_pid 2>/dev/null || true

echo "== pgbench ceilings of the same SQL ($POOL clients, prepared statements, the server's session settings, ${DURATION}s)"
for script in search list create; do
  printf '%-7s ' "$script"
  PGOPTIONS="-c jit=off -c max_parallel_workers_per_gather=0" \
    pgbench -n -M prepared -c"$POOL" -j2 -T"$DURATION" -f "$PGBENCH_DIR/pgbench_$script.sql" "$PG/$DB" 2>/dev/null \
    | grep -E "^tps" | sed 's/ (without initial connection time)//'
done
echo "== $(date -u +%FT%TZ) done; load average $(cut -d' ' -f1-3 /proc/loadavg)"
