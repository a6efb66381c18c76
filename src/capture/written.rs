//! The captures bootscope writes (a live session's `-w`, a phone's export): classic
//! pcap with nanosecond times (magic `a1b23c4d`), little-endian, one link type. The
//! headers are made here; the writers decide when the bytes go out.

use super::Linktype;

/// The file header.
pub fn file_header(snaplen: u32, linktype: Linktype) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // Time zone and accuracy (8..16): zero.
    h[16..20].copy_from_slice(&snaplen.to_le_bytes());
    h[20..24].copy_from_slice(&linktype.0.to_le_bytes());
    h
}

/// The header of a record of `caplen` bytes captured at `ts_ns` (nanoseconds since the
/// epoch; a pcap second field ends in 2106) of a packet of `orig_len` bytes.
pub fn record_header(ts_ns: i64, caplen: usize, orig_len: u32) -> [u8; 16] {
    let secs = u32::try_from(ts_ns.div_euclid(1_000_000_000)).unwrap_or(u32::MAX);
    let nanos = u32::try_from(ts_ns.rem_euclid(1_000_000_000)).unwrap_or(0);
    let caplen = u32::try_from(caplen).unwrap_or(u32::MAX);
    let mut h = [0u8; 16];
    let fields = [secs, nanos, caplen, orig_len.max(caplen)];
    for (slot, field) in h.chunks_exact_mut(4).zip(fields) {
        slot.copy_from_slice(&field.to_le_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_read_back() {
        let frame = [0xaau8; 60];
        let mut bytes = file_header(65_535, Linktype::ETHERNET).to_vec();
        bytes.extend_from_slice(&record_header(1_700_000_000_123_456_789, 60, 1514));
        bytes.extend_from_slice(&frame);
        let name = std::path::Path::new("written.pcap");
        let file = super::super::from_reader(name, std::io::Cursor::new(bytes)).unwrap();
        let mut seen = Vec::new();
        file.for_each_frame(|f| {
            seen.push((f.ts_ns, f.data.to_vec(), f.orig_len, f.linktype));
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [(
                1_700_000_000_123_456_789,
                frame.to_vec(),
                1514,
                Linktype::ETHERNET
            )]
        );
    }
}
