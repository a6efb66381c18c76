#!/usr/bin/env bash
# Fuzz TARGET until it has had CPU_SECONDS of CPU time (user + sys, the forked jobs
# included), in chunks, niced; for topping up a run that a busy machine starved.
#   fuzz/run-cpu.sh TARGET [CPU_SECONDS=600]
# Logs: fuzz/logs/TARGET.cpu-N.log; the total is printed at the end.
set -euo pipefail
cd "$(dirname "$0")"
t=$1
want=${2:-600}
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p logs "corpus/$t" "artifacts/$t"
total=0
n=0
while [ "$total" -lt "$want" ]; do
    n=$((n + 1))
    chunk=$(( (want - total) * 3 / 2 + 10 ))
    [ "$chunk" -gt 300 ] && chunk=300
    log="logs/$t.cpu-$n.log"
    /usr/bin/time -f "cpu user %U s sys %S s wall %e s maxrss %M KB" \
        nice -n 19 "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -rss_limit_mb=2048 -timeout=10 -max_total_time="$chunk" \
        -print_final_stats=1 >"$log" 2>&1 || true
    used=$(awk '/^cpu user/ {printf "%d", $3 + $6}' "$log")
    if [ -z "$used" ] || [ "$used" -eq 0 ]; then
        # A chunk that used no CPU did not fuzz (a full disk, a missing binary): stop.
        echo "$t chunk $n: no CPU used, stopping (see $log)" >&2
        exit 1
    fi
    total=$((total + used))
    echo "$t chunk $n: ${used} s CPU (total ${total} s)"
done
