#!/usr/bin/env bash
# Regenerate every sample from its scenario: capture.pcap and expected.json.
# The test `samples_regenerate_byte_identical` checks the committed files match.
# With tshark installed, also check that tshark finds no malformed packet and no
# expert error in any sample (TFTP "File not found" and RSTs are warnings, and intended).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release
for d in samples/*/; do
  [ -f "$d/scenario.json" ] || continue
  ./target/release/bootscope simulate "$d/scenario.json" -o "$d/capture.pcap" --expected "$d/expected.json"
done
if command -v tshark >/dev/null; then
  bad=0
  for d in samples/*/; do
    n=$(tshark -r "$d/capture.pcap" -Y '_ws.malformed || _ws.expert.severity >= "Error"' 2>/dev/null | wc -l)
    echo "$(basename "$d"): $n malformed or expert-error frames"
    [ "$n" -eq 0 ] || bad=1
  done
  exit $bad
fi
