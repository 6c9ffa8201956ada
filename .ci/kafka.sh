#!/usr/bin/env bash
# Installs Apache Kafka, the broker the operator's topic tests run against, from Maven Central:
# kafka_2.13 and its runtime jars (resolved by tests/kafka/pom.xml) into
#   ${TODO_CACHE_DIR:-$HOME/.cache/todoplatform}/kafka-<version>/libs
# so the tests can start it with `java -cp '<dir>/libs/*' kafka.Kafka`. Needs java (17+) and mvn.
# Idempotent: when that directory exists nothing is downloaded. Prints the directory last.
set -euo pipefail
cd "$(dirname "$0")/.."

# The one pin; operator/tests/support/kafka.rs reads it from here to find the directory.
KAFKA_VERSION=4.1.1

cache="${TODO_CACHE_DIR:-$HOME/.cache/todoplatform}"
dir="$cache/kafka-$KAFKA_VERSION"

if [ ! -f "$dir/libs/kafka_2.13-$KAFKA_VERSION.jar" ]; then
  for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "kafka.sh: $tool not found (Kafka needs Java 17+ and Maven)" >&2; exit 1; }
  done
  echo "== installing Apache Kafka $KAFKA_VERSION -> $dir" >&2
  mkdir -p "$cache"
  # Resolve into a scratch directory and move it in place at the end, so an interrupted run
  # never leaves a half-filled libs/ that would pass for an installation.
  tmp=$(mktemp -d "$cache/.kafka-$KAFKA_VERSION.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mvn -q -B -Dstyle.color=never -f tests/kafka/pom.xml -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs" >&2
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir"
