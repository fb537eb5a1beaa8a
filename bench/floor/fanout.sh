#!/usr/bin/env bash
# The machine's physical floor for fanning one paced stream of small messages out to many TCP
# loopback connections, in plain C with epoll (fanout.c: one writer thread, one reader thread).
#   bench/floor/fanout.sh                        -> 1000 connections at 100, 200, 500, 1000, 2000 msg/s, 5 s each
#   bench/floor/fanout.sh 1000 1000              -> one case: <connections> <rate> [seconds] [payload_bytes]
# Prints one line per run: delivered msg/s, publish->delivery latency (p50/p99/p99.9/max, us, of the
# messages due after the 1 s warm-up) and each thread's CPU in cores over the measuring window.
set -euo pipefail
FLOOR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -pthread -o "$tmp/fanout" "$FLOOR_DIR/fanout.c"

if [ $# -gt 0 ]; then
  "$tmp/fanout" "$@"
else
  for rate in 100 200 500 1000 2000; do
    "$tmp/fanout" 1000 "$rate" 5 150
  done
fi
