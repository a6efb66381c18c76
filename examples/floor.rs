//! The floor bootscope is measured against: map a classic pcap file, walk its
//! records and slice every frame with etherparse, nothing more. Prints the frames,
//! the bytes and the seconds taken (`benches/compare.sh` runs it).

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: floor FILE.pcap");
    let file = std::fs::File::open(&path).expect("open");
    // SAFETY: read-only map of a file nobody truncates during the measurement.
    let map = unsafe { memmap2::Mmap::map(&file) }.expect("map");
    let started = Instant::now();
    let (mut at, mut frames, mut sliced) = (24usize, 0u64, 0u64);
    let nanos_or_micros_le = map.get(..4) == Some(&[0x4d, 0x3c, 0xb2, 0xa1])
        || map.get(..4) == Some(&[0xd4, 0xc3, 0xb2, 0xa1]);
    assert!(
        nanos_or_micros_le,
        "a little-endian classic pcap is expected"
    );
    while let Some(h) = map.get(at..at + 16) {
        let caplen = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        let Some(data) = map.get(at + 16..at + 16 + caplen) else {
            break;
        };
        if let Ok(p) = etherparse::SlicedPacket::from_ethernet(data) {
            sliced += u64::from(p.transport.is_some());
        }
        frames += 1;
        at += 16 + caplen;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{frames} frames, {at} bytes, {sliced} with a transport header, {secs:.3} s");
}
