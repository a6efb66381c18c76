#!/usr/bin/env bash
# Side by side, in one run, on one >= 1 GB `simulate --fleet 10000` capture (page cache
# warm): bootscope analyze (every core, and one thread), the floor (map + walk + slice
# every frame with etherparse: examples/floor.rs), tcpdump and tshark when installed.
# Prints MB/s each and the ratios, and bootscope's peak heap (a counting allocator,
# BOOTSCOPE_HEAP_STATS=1: mapped file pages are not heap) for 1x and 2x the traffic.
#
#   bash benches/compare.sh            # BENCH_DIR=target/bench-compare by default
#   MIX=web bash benches/compare.sh    # every phone boots in the capture, PCs browsing
#   BEFORE=path/to/old/bootscope bash benches/compare.sh   # an older build in the same run
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-target/bench-compare}
mkdir -p "$dir"
cargo build -q --release --bin bootscope --example floor --example warm_memory
bin=target/release/bootscope
# MIX=web: the fleet's phones all boot inside the capture (full timelines for all
# 10 000) while the PCs browse (short HTTP and TLS connections) rather than copy files.
case ${MIX:-files} in
    files) mix=(); name=fleet ;;
    web) mix=(--bulk web --all-boot); name=fleet-web ;;
    *) echo "MIX is files or web" >&2; exit 2 ;;
esac
fleet=$dir/$name.pcap
fleet2=$dir/$name-2x-traffic.pcap
[ -s "$fleet" ] || $bin simulate --fleet 10000 --seed 7 --duration 600 --traffic-mbps 14 "${mix[@]}" -o "$fleet"
[ -s "$fleet2" ] || $bin simulate --fleet 10000 --seed 7 --duration 600 --traffic-mbps 28 "${mix[@]}" -o "$fleet2"
size=$(stat -c %s "$fleet")
cat "$fleet" "$fleet2" > /dev/null
# A virtual machine's host may back the guest's memory only when it is first written
# (2 to 3 ms per MiB on a fresh machine of this project's kind): written once here,
# WARM_MIB of it (0: none), so that no tool's rounds pay for it (examples/warm_memory.rs).
warm=${WARM_MIB:-4096}
[ "$warm" = 0 ] || target/release/examples/warm_memory "$warm"

# This machine's speed drifts from second to second, by a third at times: the fast
# tools run in turns, ROUNDS rounds (10 by default), so that the ratios compare runs
# made under the same conditions. Each keeps its best wall time, the figure the
# ratios use; the median is printed beside it.
rounds=${ROUNDS:-10}
run_tool() {
    case $1 in
        bootscope) "$bin" analyze --format json "$fleet" ;;
        bootscope_1_thread) "$bin" analyze --format json --threads 1 "$fleet" ;;
        floor) target/release/examples/floor "$fleet" ;;
        before) "$BEFORE" analyze --format json "$fleet" ;;
        tcpdump) tcpdump -n -r "$fleet" ;;
    esac
}
tools=(bootscope bootscope_1_thread floor)
if [ -n "${BEFORE:-}" ]; then
    tools+=(before)
fi
if command -v tcpdump > /dev/null; then
    tools+=(tcpdump)
fi
declare -A secs all
for _ in $(seq "$rounds"); do
    for k in "${tools[@]}"; do
        s=$(date +%s.%N)
        run_tool "$k" > /dev/null 2>&1 || true
        e=$(date +%s.%N)
        secs[$k]=$(echo "$s $e ${secs[$k]:-1e9}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
        all[$k]="${all[$k]:-} $(echo "$s $e" | awk '{print $2-$1}')"
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# TSHARK=none leaves it out (it takes minutes).
tshark=${TSHARK:-tshark}
if [ "$tshark" != none ] && command -v "$tshark" > /dev/null; then
    # One run: it takes minutes.
    s=$(date +%s.%N)
    "$tshark" -n -r "$fleet" -Y 'cdp||lldp||dhcp||tftp||skinny||sip' -T fields -e frame.number > /dev/null 2>&1 || true
    e=$(date +%s.%N)
    secs[tshark]=$(echo "$s $e" | awk '{print $2-$1}')
fi

echo
echo "capture: $fleet ($size bytes), $(nproc) cores"
echo "best of $rounds rounds in turns (tshark: one run); median seconds and % of the floor's median beside"
printf '%-20s %10s %10s %14s %12s %10s %12s\n' tool seconds MB/s "x tshark" "% of floor" median "% (medians)"
floor_median=$(echo "${all[floor]}" | median)
for k in bootscope bootscope_1_thread before floor tcpdump tshark; do
    [ -n "${secs[$k]:-}" ] || continue
    med=$(echo "${all[$k]:-${secs[$k]}}" | median)
    awk -v k="$k" -v s="${secs[$k]}" -v n="$size" -v t="${secs[tshark]:-}" -v f="${secs[floor]}" \
        -v m="$med" -v fm="$floor_median" 'BEGIN {
        mbs = n / s / 1e6
        xt = (t == "") ? "-" : sprintf("%.0f", t / s)
        # tshark runs once: % of the floor is one figure, printed with the digits it needs.
        pct = (k == "tshark") ? sprintf("%.2g%%", 100 * f / s) : sprintf("%.0f%%", 100 * f / s)
        pm = (k == "tshark") ? "-" : sprintf("%.0f%%", 100 * fm / m)
        med = (k == "tshark") ? "-" : sprintf("%.3f", m)
        printf "%-20s %10.3f %10.0f %14s %12s %10s %12s\n", k, s, mbs, xt, pct, med, pm
    }'
done

echo
for f in "$fleet" "$fleet2"; do
    heap=$(BOOTSCOPE_HEAP_STATS=1 $bin analyze --format json "$f" 2>&1 > /dev/null | awk '/peak heap/ {print $4}' || true)
    echo "peak heap $(basename "$f"): $((heap / 1048576)) MiB ($(stat -c %s "$f") bytes of capture)"
    if [ -n "${BEFORE:-}" ]; then
        heap=$(BOOTSCOPE_HEAP_STATS=1 "$BEFORE" analyze --format json "$f" 2>&1 > /dev/null | awk '/peak heap/ {print $4}' || true)
        echo "peak heap $(basename "$f"), before: $((heap / 1048576)) MiB"
    fi
done
