#!/usr/bin/env bash
# Every abuse of issue 11 at once against a `wirebus serve` process, while a checker publishes and reads.
#   bench/soak.sh                  -> 3 minutes
#   bench/soak.sh --duration 30s
#   bench/soak.sh --help
# Builds the CLI jar (the broker) and the bench jar (the soak) from this tree first, offline first.
# Reports the broker's peak RSS and open fds, the checker's publish latency percentiles, gaps and
# errors, and the broker's and gateway's limit counters. Exit status 1 when the checker lost a message
# or a publish failed.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
echo "building wirebus-cli/target/wirebus.jar and bench/target/wirebus-bench.jar ..." >&2
(cd "$ROOT" && { ./mvnw -q -B -o -DskipTests -pl wirebus-cli,bench -am package \
    || ./mvnw -q -B -DskipTests -pl wirebus-cli,bench -am package; }) >&2
exec java -Xmx512m -cp "$BENCH_DIR/target/wirebus-bench.jar" dev.wirebus.bench.Soak \
    --jar "$ROOT/wirebus-cli/target/wirebus.jar" "$@"
