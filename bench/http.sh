#!/usr/bin/env bash
# HTTP publish requests/s through the gateway, with keep-alive, measured by wrk.
#   bench/http.sh                              -> memory store, wrk -t1 -c64, a 30 s warm-up + 3 runs of 10 s, medians
#   bench/http.sh --connections 16,64,256      -> one series per connection count
#   bench/http.sh --store disk --durability batch
#   bench/http.sh --runs 5 --duration 20s --warmup 10s --port 17480
# Starts `wirebus serve` (this tree's wirebus-cli jar) in a temporary directory: the broker on a Unix
# socket only (--no-tcp), the gateway on 127.0.0.1:PORT with the per-IP rate limit and the in-flight
# limit raised (wrk is one client IP: the default 2000 req/s per IP would otherwise answer 429 to all
# but 2000 requests a second). Then wrk POSTs 100-byte bodies to /v1/streams/bench.http/messages
# (bench/wrk/publish.lua) on kept-alive connections, prints each run (req/s, latency p50/p99 from
# wrk --latency, the server's CPU in cores, the load average) and the medians, and stops the server.
# Every run must answer 200 only: a run with non-2xx answers or socket errors is reported as FAILED.
# Environment: WIREBUS_BENCH_JVM_OPTS replaces the server's JVM options; WIREBUS_SKIP_FLOOR=1 skips the
# floor (shared/floor/run.sh beside the repository, run first as bench/run.sh does).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
JAR="$ROOT/wirebus-cli/target/wirebus.jar"

# 30 s of warm-up: on 2 cores the JIT is still compiling the request path after 10 s (runs after a
# 10 s warm-up climbed run by run, 47k -> 56k req/s; after 30 s they agree within 1-2 %)
store=memory durability=batch connections=64 threads=1 duration=10s warmup=30s runs=3 port=17480
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --store) store=$2; shift 2 ;;
    --durability) durability=$2; shift 2 ;;
    --connections|-c) connections=$2; shift 2 ;;
    --threads|-t) threads=$2; shift 2 ;;
    --duration|-d) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "http.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$store" in memory|disk) ;; *) echo "http.sh: --store memory|disk" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "http.sh: wrk not found (Debian: apt-get install -y wrk)" >&2; exit 1; }

# the CLI jar, rebuilt when a source or pom of a module it bundles is newer (the gateway included)
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/pom.xml" "$ROOT"/wirebus-{protocol,client,server,gateway,cli} \
    -path '*/target' -prune -o \( -name '*.java' -o -name '*.xml' -o -name '*.json' -o -name '*.html' -o -name '*.js' \) \
    -newer "$JAR" -print 2>/dev/null | head -n 1)" ]; then
  echo "building $JAR ..." >&2
  (cd "$ROOT" && { ./mvnw -q -B -o -DskipTests -pl wirebus-cli -am package || ./mvnw -q -B -DskipTests -pl wirebus-cli -am package; }) >&2
  touch "$JAR"
fi

FLOOR="$(cd "$ROOT/.." && pwd)/shared/floor/run.sh"
if [ "${WIREBUS_SKIP_FLOOR:-0}" != 1 ] && [ -x "$FLOOR" ]; then
  echo "== floor ($FLOOR), same sitting"
  "$FLOOR" || echo "(floor run failed)"
  echo
fi

# as bench/run.sh, but 1 GiB: the gateway's publish path holds little (retention 1M x 100 B in memory)
JVM_OPTS=${WIREBUS_BENCH_JVM_OPTS:-"-Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseG1GC -XX:+PerfDisableSharedMem -Dio.netty.leakDetection.level=disabled"}
WORK="$(mktemp -d /tmp/wirebus-http-bench.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

serve_args=(serve --store "$store" --uds "$WORK/wirebus.sock" --no-tcp --http "127.0.0.1:$port"
  --http-rate-limit 100000000/s --http-max-in-flight 100000)
if [ "$store" = disk ]; then
  serve_args+=(--data "$WORK/data" --durability "$durability")
fi
# shellcheck disable=SC2086
(cd "$WORK" && exec java $JVM_OPTS -jar "$JAR" "${serve_args[@]}") >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  grep -q '^ready' "$WORK/serve.log" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; echo "http.sh: the server exited" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$WORK/serve.log" || { cat "$WORK/serve.log" >&2; echo "http.sh: the server did not get ready" >&2; exit 1; }
URL="http://127.0.0.1:$port"
curl -sf -X POST --data-binary probe "$URL/v1/streams/bench.http/messages" >/dev/null \
  || { echo "http.sh: a probe publish failed" >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
clk=$(getconf CLK_TCK)
# "1.69ms" / "850.00us" / "1.20s" -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) ; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }
median() { sort -g | awk '{a[NR]=$1} END { if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2] + a[NR/2+1]) / 2 }'; }
wrk_run() { # connections duration -> prints "reqs p50_ms p99_ms cores errors"
  local c=$1 d=$2 t0 t1 s0 s1 out
  t0=$(ticks); s0=$(date +%s.%N)
  out=$(WRK_STREAM=bench.http wrk -t"$threads" -c"$c" -d"$d" --latency -s "$BENCH_DIR/wrk/publish.lua" "$URL")
  t1=$(ticks); s1=$(date +%s.%N)
  local reqs p50 p99 errs cores
  reqs=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  errs=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
  cores=$(awk -v a="$t0" -v b="$t1" -v s="$s0" -v e="$s1" -v hz="$clk" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')
  echo "$reqs $p50 $p99 $cores ${errs:-ok}"
}

echo "wirebus http bench: $(java -version 2>&1 | head -1), $(nproc) cpus, wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
echo "  server: wirebus serve --store $store$([ "$store" = disk ] && echo " --durability $durability"), broker on UDS only, gateway $URL"
echo "  limits raised for the benchmark: --http-rate-limit 100000000/s (default 2000/s per client IP) --http-max-in-flight 100000 (default 1024)"
echo "  jvm: $JVM_OPTS"
echo "  wrk -t$threads -c{$connections} -d$duration --latency -s bench/wrk/publish.lua (POST 100 B to /v1/streams/bench.http/messages)"
echo "  warm-up $warmup per series, then $runs run(s); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
failed=0
summary=()
IFS=',' read -r -a conns <<<"$connections"
for c in "${conns[@]}"; do
  echo
  echo "== -c$c"
  read -r reqs p50 p99 cores errs <<<"$(wrk_run "$c" "$warmup")"
  printf '   warmup   req/s=%-10s p50_ms=%-8s p99_ms=%-8s [server cpu %s cores, load %s] %s\n' \
    "$reqs" "$p50" "$p99" "$cores" "$(cut -d' ' -f1 /proc/loadavg)" "$errs"
  rs=() p50s=() p99s=()
  for i in $(seq 1 "$runs"); do
    read -r reqs p50 p99 cores errs <<<"$(wrk_run "$c" "$duration")"
    if [ "$errs" != ok ]; then
      failed=1
      errs="FAILED: $errs"
    fi
    printf '   run %d/%d  req/s=%-10s p50_ms=%-8s p99_ms=%-8s [server cpu %s cores, load %s] %s\n' \
      "$i" "$runs" "$reqs" "$p50" "$p99" "$cores" "$(cut -d' ' -f1 /proc/loadavg)" "$errs"
    rs+=("$reqs") p50s+=("$p50") p99s+=("$p99")
  done
  m_r=$(printf '%s\n' "${rs[@]}" | median)
  m_50=$(printf '%s\n' "${p50s[@]}" | median)
  m_99=$(printf '%s\n' "${p99s[@]}" | median)
  verdict=$(awk -v r="$m_r" 'BEGIN { print (r >= 50000 ? "MET" : "MISSED") }')
  printf '   MEDIAN   req/s=%-10s p50_ms=%-8s p99_ms=%-8s target >= 50000 req/s: %s\n' "$m_r" "$m_50" "$m_99" "$verdict"
  summary+=("$(printf '   -c%-4s %10.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %s' "$c" "$m_r" "$m_50" "$m_99" "$verdict")")
done
echo
echo "== summary: store $store$([ "$store" = disk ] && echo "/$durability"), medians of $runs run(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${summary[@]}"
exit "$failed"
