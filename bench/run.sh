#!/usr/bin/env bash
# Runs the wirebus end-to-end benchmarks, with the machine's floor measured first in the same sitting.
#   bench/run.sh                         -> floor, then 'all' (both transports, summary table)
#   bench/run.sh publish-latency --transport uds --duration 5s
#   bench/run.sh all --broker-process    -> broker in its own JVM
#   bench/run.sh durable                 -> disk store under always / batch / never, memory beside
#   bench/run.sh --help
# Usable from any directory. Builds bench/target/wirebus-bench.jar when it is missing or older than
# a source or pom of the modules it bundles.
# Environment: WIREBUS_BENCH_JVM_OPTS replaces the JVM options below; WIREBUS_SKIP_FLOOR=1 skips the floor.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
JAR="$BENCH_DIR/target/wirebus-bench.jar"

stale() {
  [ ! -f "$JAR" ] && return 0
  [ -n "$(find "$ROOT/pom.xml" "$ROOT/bench" "$ROOT/wirebus-protocol" "$ROOT/wirebus-client" "$ROOT/wirebus-server" "$ROOT/wirebus-gateway" \
      -path '*/target' -prune -o \( -name '*.java' -o -name '*.xml' \) -newer "$JAR" -print 2>/dev/null | head -n 1)" ]
}
if stale; then
  echo "building $JAR ..." >&2
  # offline first (the usual case here); online if a dependency is missing from the local repository
  (cd "$ROOT" && { ./mvnw -q -B -o -DskipTests -pl bench -am package || ./mvnw -q -B -DskipTests -pl bench -am package; }) >&2
fi

[ $# -eq 0 ] && set -- all
help=0
for a in "$@"; do case "$a" in -h|--help|help|-V|--version) help=1 ;; esac; done

# JVM options, and why:
#  -Xms = -Xmx, AlwaysPreTouch: the heap is sized and its pages faulted in before the first run,
#     not during one. 3 GiB holds the embedded broker's retention (1M messages per stream, 100-200 MB)
#     with a young generation large enough that collections are rare.
#  G1 (the JDK default for a server-class machine, what a broker runs in production): the broker keeps
#     messages for their retention and drops the oldest, so old-generation garbage is made all the time;
#     ParallelGC would stop everything for a full compaction of the old generation now and then (hundreds
#     of ms on 2 cores), which would rule p99.9/max. ParallelGC gives a few percent more throughput; try
#     it with WIREBUS_BENCH_JVM_OPTS when throughput alone matters.
#  PerfDisableSharedMem: no hsperfdata file in /tmp for the JVM to write to at safepoints, a known source
#     of multi-ms stalls when the disk is busy (it is: the machine is shared).
#  leakDetection=disabled: Netty's default samples 1 in 128 buffers for leak tracking; the tests run it
#     paranoid, a benchmark should not pay for it.
# --broker-process gives the broker JVM the same -X/-D options but AlwaysPreTouch (override with --broker-jvm-opts).
JVM_OPTS=${WIREBUS_BENCH_JVM_OPTS:-"-Xms3g -Xmx3g -XX:+AlwaysPreTouch -XX:+UseG1GC -XX:+PerfDisableSharedMem -Dio.netty.leakDetection.level=disabled"}

FLOOR="$(cd "$ROOT/.." && pwd)/shared/floor/run.sh"
FLOOR_OUT=""
if [ "$help" = 0 ] && [ "${WIREBUS_SKIP_FLOOR:-0}" != 1 ] && [ -x "$FLOOR" ]; then
  FLOOR_OUT="$(mktemp)"
  trap 'rm -f "$FLOOR_OUT"' EXIT
  echo "== floor ($FLOOR), same sitting"
  if "$FLOOR" | tee "$FLOOR_OUT"; then
    export WIREBUS_FLOOR_FILE="$FLOOR_OUT"
  else
    echo "(floor run failed; no ratios to it)"
  fi
  echo
elif [ "$help" = 0 ] && [ ! -x "$FLOOR" ]; then
  echo "(no floor at $FLOOR; results without ratios to it)"
fi

# shellcheck disable=SC2086
java $JVM_OPTS -jar "$JAR" "$@"
