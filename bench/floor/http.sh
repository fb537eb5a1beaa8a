#!/usr/bin/env bash
# The machine's physical floor for keep-alive HTTP/1.1 request/response over TCP loopback with wrk
# on the same cores: http.c answers every request with one fixed 200 and does nothing else.
#   bench/floor/http.sh                  -> server threads 2; wrk -t1 -c64 and -c256, 10 s each
#   bench/floor/http.sh 1 64,256 10s     -> [server_threads] [connections,...] [duration]
# Each connection count gets a 3 s warm-up run, then the measured run, which prints one line:
# req/s, latency p50/p99 (wrk --latency) and the server's CPU in cores over the run.
# Environment: HTTP_FLOOR_PORT (default 17590, the next free one is taken when busy).
set -euo pipefail
FLOOR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LUA="$(dirname "$FLOOR_DIR")/wrk/publish.lua"

threads=${1:-2}
IFS=, read -r -a conns <<<"${2:-64,256}"
duration=${3:-10s}
port=${HTTP_FLOOR_PORT:-17590}
command -v wrk >/dev/null || { echo "http.sh: wrk not found (Debian: apt-get install -y wrk)" >&2; exit 1; }

tmp="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
gcc -O2 -Wall -pthread -o "$tmp/http" "$FLOOR_DIR/http.c"

accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# SO_REUSEPORT would let the server share a port another process of ours listens on: skip busy ones
while accepts "$port"; do port=$((port + 1)); done

"$tmp/http" "$port" "$threads" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  accepts "$port" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "http.sh: the server exited" >&2; exit 1; }
  sleep 0.05
done
accepts "$port" || { echo "http.sh: the server does not accept on $port" >&2; exit 1; }

# utime + stime of the server, in clock ticks (fields 14 and 15, counted after the ") " of comm)
cpu_ticks() { local s; s=$(<"/proc/$SERVER_PID/stat"); s=${s##*) }; awk '{print $12 + $13}' <<<"$s"; }
now_ns() { date +%s%N; }
hz=$(getconf CLK_TCK)
url="http://127.0.0.1:$port/"

for c in "${conns[@]}"; do
  wrk -t1 -c"$c" -d3s -s "$LUA" "$url" >/dev/null
  t0=$(now_ns); k0=$(cpu_ticks)
  wrk -t1 -c"$c" -d"$duration" --latency -s "$LUA" "$url" >"$tmp/wrk.out"
  t1=$(now_ns); k1=$(cpu_ticks)
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$tmp/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.out")
  cpu=$(awk -v k="$((k1 - k0))" -v hz="$hz" -v ns="$((t1 - t0))" 'BEGIN {printf "%.2f", k / hz / (ns / 1e9)}')
  # the server only ever answers 200: anything else in wrk's output means a broken run
  bad=$(grep -E 'Non-2xx|Socket errors' "$tmp/wrk.out" | tr -s ' ' | paste -sd';' || true)
  echo "threads=$threads connections=$c duration=$duration req_per_s=$rps p50=$p50 p99=$p99 server_cpu_cores=$cpu${bad:+ FAILED: $bad}"
done
