#!/usr/bin/env bash
# Run every fuzz target in turn, niced, for SECONDS each (default 620), in libFuzzer's
# fork mode so a crash is saved and the run goes on. Build first:
#   RUSTC_BOOTSTRAP=1 cargo fuzz build -O
# Seeds: BOOTSCOPE_SEEDS=fuzz/corpus cargo test --test main make_fuzz_seeds -- --ignored
# Logs go to fuzz/logs/<target>.log, crashers to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${SECONDS_PER_TARGET:-620}
targets=${*:-pipeline capture link reassembly sccp sip http cdp lldp dhcp tftp tunnel eapol arp dns icmp cnfxml}
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p logs
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    /usr/bin/time -f "cpu user %U s sys %S s wall %e s maxrss %M KB" \
        nice -n 19 "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -rss_limit_mb=2048 -timeout=10 -max_total_time="$secs" \
        -print_final_stats=1 >"logs/$t.log" 2>&1 || echo "$t exited $?" >>"logs/$t.log"
done
