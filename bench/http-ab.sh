#!/usr/bin/env bash
# HTTP publish A/B: two builds of `wirebus serve` (or one build with two option sets) compared in
# alternating wrk runs, so that the machine's drift (20-40 % between minutes on this VM) cancels.
#   bench/http-ab.sh A.jar B.jar                    -> 3 rounds x 4 pairs, wrk -t1 -c64, 3 s per run
#   bench/http-ab.sh --rounds 5 --pairs 6 A.jar B.jar
#   bench/http-ab.sh --b-args "--http-io-threads 2" wirebus.jar wirebus.jar
#   bench/http-ab.sh --b-jvm "-Dio.netty.allocator.type=pooled" wirebus.jar wirebus.jar
# Each round starts a fresh server for A and one for B (a JVM instance alone varies by about 5 %:
# JIT decisions, memory layout), warms both (18 s of load each), then runs PAIRS pairs of 3 s wrk runs, A then B and
# B then A in turn, while the other server idles. Prints every pair's req/s, each round's median
# B/A and the median B/A over all pairs. Same server options as bench/http.sh (memory store, broker
# on UDS only, rate and in-flight limits raised).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rounds=3 pairs=4 a_args="" b_args="" a_jvm="" b_jvm="" connections=64
usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --connections|-c) connections=$2; shift 2 ;;
    --a-args) a_args=$2; shift 2 ;;
    --b-args) b_args=$2; shift 2 ;;
    --a-jvm) a_jvm=$2; shift 2 ;;
    --b-jvm) b_jvm=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "http-ab.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
A=$(realpath "$1") B=$(realpath "$2")
command -v wrk >/dev/null || { echo "http-ab.sh: wrk not found (Debian: apt-get install -y wrk)" >&2; exit 1; }
JVM_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseG1GC -XX:+PerfDisableSharedMem -Dio.netty.leakDetection.level=disabled"
WORK="$(mktemp -d /tmp/wirebus-http-ab.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

start() { # jar port dir extra-args extra-jvm
  mkdir -p "$3"
  # shellcheck disable=SC2086
  java $JVM_OPTS $5 -jar "$1" serve --store memory --uds "$3/wirebus.sock" --no-tcp --http "127.0.0.1:$2" \
    --http-rate-limit 100000000/s --http-max-in-flight 100000 $4 >"$3/serve.log" 2>&1 &
  PIDS+=($!)
}
ready() { for _ in $(seq 1 300); do grep -q '^ready' "$1/serve.log" 2>/dev/null && return 0; sleep 0.1; done
  cat "$1/serve.log" >&2; echo "http-ab.sh: a server did not get ready" >&2; exit 1; }
run() { # port duration -> req/s (fails on any non-2xx answer or socket error)
  local out
  out=$(WRK_STREAM=bench.http wrk -t1 -c"$connections" -d"$2" -s "$BENCH_DIR/wrk/publish.lua" "http://127.0.0.1:$1")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then echo "http-ab.sh: errors on port $1: $out" >&2; exit 1; fi
  awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out"
}
median() { sort -g | awk '{a[NR]=$1} END { if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2] + a[NR/2+1]) / 2 }'; }

echo "http A/B: A=$A ${a_args:+($a_args) }${a_jvm:+[$a_jvm]}"
echo "          B=$B ${b_args:+($b_args) }${b_jvm:+[$b_jvm]}"
echo "          $rounds round(s) of fresh servers x $pairs pairs of 3 s runs, wrk -t1 -c$connections; load now $(cut -d' ' -f1-3 /proc/loadavg)"
all=()
for r in $(seq 1 "$rounds"); do
  PIDS=()
  start "$A" 17581 "$WORK/a$r" "$a_args" "$a_jvm"
  start "$B" 17582 "$WORK/b$r" "$b_args" "$b_jvm"
  ready "$WORK/a$r"; ready "$WORK/b$r"
  # warm-up: 18 s of load each (the JIT is still compiling the request path after 10 s on 2 cores)
  for p in 17581 17582 17581 17582 17581 17582; do run "$p" 6s >/dev/null; done
  ratios=() line=""
  for i in $(seq 1 "$pairs"); do
    if [ $((i % 2)) = 1 ]; then a=$(run 17581 3s); b=$(run 17582 3s); else b=$(run 17582 3s); a=$(run 17581 3s); fi
    x=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
    ratios+=("$x") all+=("$x") line="$line $a/$b"
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "round $r  req/s A/B:$line  median B/A $(printf '%s\n' "${ratios[@]}" | median)"
done
echo "median B/A over $((rounds * pairs)) pairs: $(printf '%s\n' "${all[@]}" | median)"
