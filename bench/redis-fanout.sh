#!/usr/bin/env bash
# Fan-out across wirebus nodes on one Redis (issue 15: "2 nodes deliver >= 1.6x one node's fan-out to
# WebSocket/SSE subscribers"), medians of RUNS:
#   bench/redis-fanout.sh                                  -> 1, 2, 3 nodes; SSE and WebSocket; 3 runs (~11 min)
#   PIN=1 bench/redis-fanout.sh                            -> processes pinned with taskset (below)
#   NODES="1 2" PROTOCOLS=ws RUNS=1 SUBSCRIBERS=200 RATES=500,1000,2000 WARMUP=2s bench/redis-fanout.sh
# Starts its own redis-server on a free port in a temp dir; per run and node count, N separate
# `wirebus serve --store redis://...` processes (this tree's wirebus-cli jar; broker on a Unix socket and
# TCP, gateway on 127.0.0.1, ports chosen by the nodes), then per protocol one subscriber process
# (dev.wirebus.bench.RedisFanout run: SSE or WebSocket subscribers split evenly over the nodes'
# gateways, and a paced publisher publishing through node 0) that steps the rate up until the nodes
# fall behind; then the table (RedisFanout summary). Everything it started is stopped on exit.
# Environment (defaults in brackets):
#   NODES ["1 2 3"]  PROTOCOLS ["sse ws"]  RUNS [3]  SUBSCRIBERS [1000, in all]  RATES [200,400,800,1600,3200]
#   REFINE [2, bisecting steps]  RETRIES [1, windows more at a rate that fell behind]  WARMUP [5s]  SETTLE [1s]  WINDOW [2s]  SIZE [100]  MAX_LAG [2000]
#   LATENCY_LIMIT [1s]  SUB_THREADS [1]  FSYNC [always|everysec: Redis' appendfsync, always]
#   HTTP_IO_THREADS [serve's default]  NODE_JVM_OPTS / DRIVER_JVM_OPTS
#   OUT [a file to keep the log in; the RESULT/STEP lines go to OUT.results, for
#        java -cp bench/target/wirebus-bench.jar dev.wirebus.bench.RedisFanout summary OUT.results]
#   PIN [0]; with PIN=1: NODE_CPUS ["1": a CPU list per node, space-separated, reused round robin],
#   DRIVER_CPUS ["0"], REDIS_CPUS ["0"] (taskset -c lists)
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
BENCH_JAR="$BENCH_DIR/target/wirebus-bench.jar"
CLI_JAR="$ROOT/wirebus-cli/target/wirebus.jar"

NODES="${NODES:-1 2 3}"
PROTOCOLS="${PROTOCOLS:-sse ws}"
RUNS="${RUNS:-3}"
SUBSCRIBERS="${SUBSCRIBERS:-1000}"
RATES="${RATES:-200,400,800,1600,3200}"
REFINE="${REFINE:-2}"
RETRIES="${RETRIES:-1}"
WARMUP="${WARMUP:-5s}"
SETTLE="${SETTLE:-1s}"
WINDOW="${WINDOW:-2s}"
SIZE="${SIZE:-100}"
MAX_LAG="${MAX_LAG:-2000}"
LATENCY_LIMIT="${LATENCY_LIMIT:-1s}"
SUB_THREADS="${SUB_THREADS:-1}"
FSYNC="${FSYNC:-always}"
HTTP_IO_THREADS="${HTTP_IO_THREADS:-}"
PIN="${PIN:-0}"
NODE_CPUS="${NODE_CPUS:-1}"
DRIVER_CPUS="${DRIVER_CPUS:-0}"
REDIS_CPUS="${REDIS_CPUS:-0}"
# as bench/http.sh: 1 GiB, pre-touched, G1, no hsperfdata, no leak detection
NODE_JVM_OPTS="${NODE_JVM_OPTS:-"-Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseG1GC -XX:+PerfDisableSharedMem -Dio.netty.leakDetection.level=disabled"}"
DRIVER_JVM_OPTS="${DRIVER_JVM_OPTS:-"-Xms1g -Xmx1g -XX:+UseG1GC -XX:+PerfDisableSharedMem -Dio.netty.leakDetection.level=disabled"}"

for b in redis-server redis-cli java; do
  command -v "$b" >/dev/null || { echo "redis-fanout.sh: $b is missing (apt-get install -y redis-server)" >&2; exit 2; }
done
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null || { echo "redis-fanout.sh: PIN=1 needs taskset (util-linux)" >&2; exit 2; }
fi

# both jars, rebuilt when a source or pom of a module they bundle is newer (offline first, as bench/run.sh)
stale() { # jar modules...
  local jar=$1; shift
  [ ! -f "$jar" ] || [ -n "$(find "$ROOT/pom.xml" "$@" -path '*/target' -prune -o \
      \( -name '*.java' -o -name '*.xml' -o -name '*.lua' -o -name '*.json' -o -name '*.html' -o -name '*.js' \) \
      -newer "$jar" -print 2>/dev/null | head -n 1)" ]
}
MODULES=("$ROOT"/wirebus-{protocol,client,server,gateway,store-redis,security})
if stale "$BENCH_JAR" "${MODULES[@]}" "$ROOT/bench" || stale "$CLI_JAR" "${MODULES[@]}" "$ROOT/wirebus-cli"; then
  echo "building $BENCH_JAR and $CLI_JAR ..." >&2
  (cd "$ROOT" && { ./mvnw -q -B -o -DskipTests -pl bench,wirebus-cli -am package \
    || ./mvnw -q -B -DskipTests -pl bench,wirebus-cli -am package; }) >&2
  touch "$BENCH_JAR" "$CLI_JAR"
fi

WORK="$(mktemp -d /tmp/wirebus-redis-fanout.XXXXXX)"
REDIS_PID=""
DRIVER_PID=""
NODE_PIDS=()
stop_pid() { # pid: TERM, up to 10 s, then KILL
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_nodes() {
  local pid
  for pid in "${NODE_PIDS[@]}"; do stop_pid "$pid"; done
  NODE_PIDS=()
}
cleanup() {
  [ -n "$DRIVER_PID" ] && stop_pid "$DRIVER_PID"
  stop_nodes
  [ -n "$REDIS_PID" ] && stop_pid "$REDIS_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pin() { # cpu-list -> a taskset prefix when PIN=1
  [ "$PIN" = 1 ] && echo "taskset -c $1"
  return 0
}

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# shellcheck disable=SC2046
$(pin "$REDIS_CPUS") redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes --appendfsync "$FSYNC" \
  --save '' --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$PORT" ping >/dev/null || { cat "$WORK/redis.log" >&2; echo "redis-fanout.sh: redis-server did not start" >&2; exit 1; }

GATEWAYS=""
BROKER=""
start_nodes() { # n: starts n nodes, fills NODE_PIDS, GATEWAYS (host:port,...) and BROKER (node 0's tcp://)
  local n=$1 i pid log cpus
  local -a cpu_sets
  read -r -a cpu_sets <<<"$NODE_CPUS"
  GATEWAYS="" BROKER=""
  for ((i = 0; i < n; i++)); do
    log="$WORK/node$i.log"
    cpus="${cpu_sets[$((i % ${#cpu_sets[@]}))]}"
    local -a args=(serve --store "redis://127.0.0.1:$PORT" --uds "$WORK/node$i.sock" --tcp 127.0.0.1:0
      --http 127.0.0.1:0 --http-demo off --http-rate-limit 100000000/s
      --http-max-connections $((SUBSCRIBERS + 64)) --http-max-connections-per-client $((SUBSCRIBERS + 64)))
    [ -n "$HTTP_IO_THREADS" ] && args+=(--http-io-threads "$HTTP_IO_THREADS")
    # shellcheck disable=SC2046,SC2086
    (cd "$WORK" && exec $(pin "$cpus") java $NODE_JVM_OPTS -jar "$CLI_JAR" "${args[@]}") >"$log" 2>&1 &
    NODE_PIDS+=($!)
  done
  for ((i = 0; i < n; i++)); do
    log="$WORK/node$i.log" pid="${NODE_PIDS[$i]}"
    for _ in $(seq 1 600); do
      grep -q '^ready' "$log" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    grep -q '^ready' "$log" || { cat "$log" >&2; echo "redis-fanout.sh: node $i did not get ready" >&2; exit 1; }
    GATEWAYS+="${GATEWAYS:+,}$(sed -n 's|^wirebus http on http://\([^/]*\)/.*|\1|p' "$log")"
    [ "$i" = 0 ] && BROKER="$(sed -n 's|^wirebus listening on \(tcp://.*\)$|\1|p' "$log")"
  done
  [ -n "$BROKER" ] || { cat "$WORK/node0.log" >&2; echo "redis-fanout.sh: no TCP address in node 0's log" >&2; exit 1; }
}

LOG="${OUT:-$WORK/steps.log}"
RESULTS="$LOG.results"
: >"$RESULTS"
: >"$LOG"
echo "# redis-fanout: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') (appendonly yes, appendfsync $FSYNC)," \
  "$(nproc) cpus, $(java -version 2>&1 | head -n 1); load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG"
echo "# nodes {$NODES} x protocols {$PROTOCOLS} x $RUNS run(s); $SUBSCRIBERS subscribers in all; rates $RATES (+$REFINE" \
  "bisecting); warm-up $WARMUP, settle $SETTLE, window $WINDOW per step; $SIZE-byte payloads;" \
  "$([ "$PIN" = 1 ] && echo "pinned: nodes {$NODE_CPUS}, subscribers+publisher $DRIVER_CPUS, redis $REDIS_CPUS" || echo "not pinned")" \
  | tee -a "$LOG"
CLK_TCK="$(getconf CLK_TCK)"
failed=0
for r in $(seq 1 "$RUNS"); do
  for n in $NODES; do
    redis-cli -p "$PORT" flushall >/dev/null
    start_nodes "$n"
    for proto in $PROTOCOLS; do
      echo "== run $r, $n node(s), $proto: gateways $GATEWAYS, publishing to $BROKER, load average $(cut -d' ' -f1-3 /proc/loadavg)" \
        | tee -a "$LOG"
      # in the background, so that a signal to this script is handled at once (the trap stops it too)
      # shellcheck disable=SC2046,SC2086
      $(pin "$DRIVER_CPUS") java $DRIVER_JVM_OPTS -cp "$BENCH_JAR" dev.wirebus.bench.RedisFanout run \
          --protocol "$proto" --gateways "$GATEWAYS" --broker "$BROKER" --node-pids "$(IFS=,; echo "${NODE_PIDS[*]}")" \
          --redis-pid "$REDIS_PID" --subscribers "$SUBSCRIBERS" --rates "$RATES" --refine "$REFINE" --retries "$RETRIES" --warmup "$WARMUP" \
          --settle "$SETTLE" --window "$WINDOW" --size "$SIZE" --max-lag "$MAX_LAG" --latency-limit "$LATENCY_LIMIT" \
          --subscriber-threads "$SUB_THREADS" --clk-tck "$CLK_TCK" --label "run=$r" --results "$RESULTS" \
          > >(tee -a "$LOG") 2>&1 &
      DRIVER_PID=$!
      if ! wait "$DRIVER_PID"; then
        echo "!! run $r, $n node(s), $proto FAILED" | tee -a "$LOG"
        failed=1
      fi
      DRIVER_PID=""
      for ((i = 0; i < n; i++)); do
        kill -0 "${NODE_PIDS[$i]}" 2>/dev/null || { cat "$WORK/node$i.log" >&2; echo "redis-fanout.sh: node $i died" >&2; exit 1; }
      done
    done
    stop_nodes
  done
done
java -cp "$BENCH_JAR" dev.wirebus.bench.RedisFanout summary "$RESULTS" | tee -a "$LOG"
exit "$failed"
