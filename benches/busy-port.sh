#!/usr/bin/env bash
# `bootscope live` on a busy port, beside tcpdump in the same run. A veth pair inside
# a network namespace; a fleet capture (phones booting, RTP and file copies around
# them) sent into one end as fast as this machine sends (`bootscope replay --speed 0`);
# on the other end `bootscope live` (its default boot filter) and `tcpdump -w` (no
# filter: every frame to a file, as an engineer captures) both listening. For each
# kernel buffer size it prints the frames sent and the send rate, then for each
# capturer what it received, what the kernel dropped, and its CPU time.
#
#   sudo bash benches/busy-port.sh                        # the default fleet, 32 128 512 MiB
#   sudo CAPTURE=fleet.pcap bash benches/busy-port.sh 8 32
#   sudo SPEEDS="0 100 200" bash benches/busy-port.sh 32   # at 100 and 200 times the
#                                                           # recorded pace too (0: flat out)
#
# Needs root (namespaces), libpcap (`--features live`) and tcpdump. The fleet comes
# from `benches/compare.sh`'s directory (written there when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --features live --bin bootscope
bin=$PWD/target/release/bootscope
dir=${BENCH_DIR:-target/bench-compare}
mkdir -p "$dir"
capture=${CAPTURE:-$dir/fleet.pcap}
[ -s "$capture" ] || "$bin" simulate --fleet 10000 --seed 7 --duration 600 --traffic-mbps 14 -o "$capture"
buffers=("$@")
[ ${#buffers[@]} -gt 0 ] || buffers=(32 128 512)
frames=$("$bin" analyze --format json "$capture" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["capture"]["frames"])') || true
ns=bscope-busy-$$
work=$(mktemp -d)
chmod 755 "$work"
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add va type veth peer name vb
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
for d in va vb; do ip -n "$ns" link set "$d" mtu 9000 up; done

# CPU seconds (user + system) a process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }

echo "capture: $capture ($frames frames)"
speeds=(${SPEEDS:-0})
for speed in "${speeds[@]}"; do
for mib in "${buffers[@]}"; do
    ip netns exec "$ns" "$bin" live -i va -B "$mib" --format json > "$work/live.json" 2> "$work/live.err" &
    live=$!
    ip netns exec "$ns" tcpdump -i va -n -s 0 -B $((mib * 1024)) -w "$work/tcpdump.pcap" 2> "$work/tcpdump.err" &
    dump=$!
    for _ in $(seq 100); do
        grep -q "listening on va" "$work/live.err" 2>/dev/null && grep -q "listening on va" "$work/tcpdump.err" 2>/dev/null && break
        sleep 0.1
    done
    start=$(date +%s.%N)
    ip netns exec "$ns" "$bin" replay -i vb --speed "$speed" "$capture" > /dev/null 2> "$work/replay.err"
    end=$(date +%s.%N)
    sleep 2
    live_cpu=$(cpu "$live"); dump_cpu=$(cpu "$dump")
    kill -TERM "$live"; kill -INT "$dump"
    wait "$live" || true; wait "$dump" || true
    secs=$(echo "$start $end" | awk '{printf "%.2f", $2 - $1}')
    echo "speed $speed, buffer $mib MiB: sent $frames frames in $secs s ($(echo "$frames $secs" | awk '{printf "%d", $1 / $2}') frames/s)"
    tail -1 "$work/live.json" | LIVE_CPU=$live_cpu python3 -c '
import json, os, sys
r = json.load(sys.stdin)["capture"]
l = r["live"]
print("  bootscope live: received %d, dropped by the kernel %d, by the interface %d, analysed %d frames, CPU %s s"
      % (l["received"], l["dropped_by_kernel"], l["dropped_by_interface"], r["frames"], os.environ["LIVE_CPU"]))'
    awk -v cpu="$dump_cpu" '/packets captured/ {c=$1} /received by filter/ {r=$1} /dropped by kernel/ {d=$1}
        END {printf "  tcpdump -w:     received %s, dropped by the kernel %s, written %s frames, CPU %s s\n", r, d, c, cpu}' "$work/tcpdump.err"
done
done
