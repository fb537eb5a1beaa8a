#!/usr/bin/env bash
# The Redis store's figures (issue 15), medians of 3, beside raw pipelined XADD on the same Redis and
# the embedded disk store:
#   bench/redis.sh                      -> 1, 2, 3 brokers on one redis-server (AOF, appendfsync always)
#   MESSAGES=50000 FSYNC=everysec bench/redis.sh
# Starts its own redis-server on a free port in a temp dir (needs redis-server, redis-cli and
# redis-benchmark: apt-get install -y redis-server), stops it at the end.
# Environment: MESSAGES (default 100000), SIZE (payload bytes, 100), WINDOW (acks in flight per
# publisher, 256), RUNS (3), FSYNC (always|everysec, always), NODES ("1 2 3").
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
JAR="$BENCH_DIR/target/wirebus-bench.jar"
MESSAGES="${MESSAGES:-100000}"
SIZE="${SIZE:-100}"
WINDOW="${WINDOW:-256}"
RUNS="${RUNS:-3}"
FSYNC="${FSYNC:-always}"
NODES="${NODES:-1 2 3}"

for b in redis-server redis-cli redis-benchmark; do
  command -v "$b" >/dev/null || { echo "$b is missing: apt-get install -y redis-server" >&2; exit 2; }
done
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/bench" "$ROOT/wirebus-store-redis" "$ROOT/wirebus-server" "$ROOT/wirebus-client" \
    -path '*/target' -prune -o \( -name '*.java' -o -name '*.xml' -o -name '*.lua' \) -newer "$JAR" -print | head -n 1)" ]; then
  echo "building $JAR ..." >&2
  (cd "$ROOT" && { ./mvnw -q -B -o -DskipTests -pl bench -am package || ./mvnw -q -B -DskipTests -pl bench -am package; }) >&2
fi

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes --appendfsync "$FSYNC" --save '' \
  --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null; wait $REDIS_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
PAYLOAD="$(head -c "$SIZE" /dev/zero | tr '\0' 'x')"

echo "# redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), appendonly yes, appendfsync $FSYNC;" \
  "$MESSAGES messages of $SIZE bytes, $WINDOW in flight per publisher; medians of $RUNS"
raw=()
for r in $(seq 1 "$RUNS"); do
  redis-cli -p "$PORT" flushall >/dev/null
  raw+=("$(redis-benchmark -p "$PORT" -P 16 -n "$MESSAGES" -q XADD raw '*' f "$PAYLOAD" | tr '\r' '\n' \
    | grep -o '[0-9.]* requests per second' | tail -n 1 | awk '{print $1}')")
done
echo "raw XADD pipelined (redis-benchmark -P 16): $(printf '%s\n' "${raw[@]}" | median) msgs/s"

run_config() { # label store nodes
  local label="$1" store="$2" nodes="$3" pub=() bat=() del=() p50=() p99=()
  for r in $(seq 1 "$RUNS"); do
    redis-cli -p "$PORT" flushall >/dev/null
    local line
    line="$(java -Xms1g -Xmx1g -cp "$JAR" dev.wirebus.bench.RedisStoreBench "$store" "$nodes" "$MESSAGES" "$SIZE" "$WINDOW" \
      2>"$WORK/bench.err" | grep '^RESULT')" || { cat "$WORK/bench.err" >&2; exit 1; }
    pub+=("$(sed 's/.*publish_msgs_per_s=\([0-9]*\).*/\1/' <<<"$line")")
    bat+=("$(sed 's/.*batched_msgs_per_s=\([0-9]*\).*/\1/' <<<"$line")")
    del+=("$(sed 's/.*delivered_msgs_per_s=\([0-9]*\).*/\1/' <<<"$line")")
    p50+=("$(sed 's/.*latency_p50_us=\([0-9]*\).*/\1/' <<<"$line")")
    p99+=("$(sed 's/.*latency_p99_us=\([0-9]*\).*/\1/' <<<"$line")")
  done
  printf '%-22s publish %8s msgs/s  batched %8s msgs/s  delivered %8s msgs/s  publish->delivery p50 %6s us  p99 %6s us\n' "$label" \
    "$(printf '%s\n' "${pub[@]}" | median)" "$(printf '%s\n' "${bat[@]}" | median)" "$(printf '%s\n' "${del[@]}" | median)" \
    "$(printf '%s\n' "${p50[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)"
}

for n in $NODES; do
  run_config "redis, $n broker(s)" "redis://127.0.0.1:$PORT?timeout=10s" "$n"
done
run_config "disk store, 1 broker" "disk:$WORK/disk" 1
