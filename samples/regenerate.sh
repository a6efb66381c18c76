#!/usr/bin/env bash
# Regenerate every sample from its scenario: capture.pcap and expected.json.
# The test `samples_regenerate_byte_identical` checks the committed files match.
# With tshark installed, also check that tshark finds no malformed packet and no
# expert error in any sample (TFTP "File not found" and RSTs are warnings, and intended).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release
bin="${CARGO_TARGET_DIR:-target}/release/bootscope"
for d in samples/*/; do
  [ -f "$d/scenario.json" ] || continue
  "$bin" simulate "$d/scenario.json" -o "$d/capture.pcap" --expected "$d/expected.json"
done
if command -v tshark >/dev/null; then
  # tshark's reading of the flood, which the flood test checks the site finding against:
  # every DHCP DISCOVER (frame, Ethernet source, client address, VLAN, option 60) and
  # every SYN without ACK (frame, source, destination port).
  d=samples/dhcp-starvation
  tshark -n -r "$d/capture.pcap" -Y 'dhcp.option.dhcp == 1' -T fields -E separator=/t \
    -e frame.number -e eth.src -e dhcp.hw.mac_addr -e vlan.id -e dhcp.option.vendor_class_id \
    2>/dev/null > "$d/tshark-discovers.tsv"
  tshark -n -r "$d/capture.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields \
    -E separator=/t -e frame.number -e ip.src -e tcp.dstport 2>/dev/null > "$d/tshark-syns.tsv"
  tshark --version | head -1 > "$d/tshark-version.txt"
  bad=0
  for d in samples/*/; do
    n=$(tshark -r "$d/capture.pcap" -Y '_ws.malformed || _ws.expert.severity >= "Error"' 2>/dev/null | wc -l)
    echo "$(basename "$d"): $n malformed or expert-error frames"
    [ "$n" -eq 0 ] || bad=1
  done
  exit $bad
fi
