//! TCP stream following, one direction at a time, bounded. Each segment is placed
//! against the bytes already seen: retransmitted bytes are dropped, in-order bytes
//! are appended to what an application parser left unconsumed (a PDU split over
//! segments), and a gap ends the stream's alignment so the next segment is checked
//! for a plausible PDU start before it is trusted. Streams idle for longer than
//! [`StreamLimits::idle_ns`] are forgotten; their count is capped.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::link::{TcpFlags, TcpSegment};

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// Sender address.
    pub src: IpAddr,
    /// Receiver address.
    pub dst: IpAddr,
    /// Sender port.
    pub src_port: u16,
    /// Receiver port.
    pub dst_port: u16,
}

/// Bounds on the state kept for streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams followed at once; past it, new streams are read segment by segment.
    pub max_streams: usize,
    /// Unconsumed bytes kept per stream (a PDU split over segments); past it the
    /// stream loses alignment and resynchronises.
    pub max_pending: usize,
    /// A stream silent for this long (capture time) is forgotten.
    pub idle_ns: i64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_streams: 65_536,
            max_pending: 256 * 1024,
            idle_ns: 300 * 1_000_000_000,
        }
    }
}

/// How a segment's payload relates to the stream so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The next bytes of an aligned stream: parse `pending + payload` from a PDU boundary.
    InOrder,
    /// A stream seen for the first time mid-connection, or after a gap: the payload may
    /// start inside a PDU, so only a plausible PDU start may be trusted.
    Unaligned,
    /// Nothing new: every byte was seen before.
    Retransmission,
}

/// Per-direction state.
#[derive(Debug, Default)]
pub struct Stream {
    next_seq: u32,
    last_ns: i64,
    /// Bytes an application parser left for the next segment.
    pub pending: Vec<u8>,
    /// Body bytes still to skip (e.g. an HTTP body nobody parses).
    pub skip: u64,
    /// Whether the stream is aligned on a PDU boundary.
    aligned: bool,
}

impl Stream {
    /// Mark the stream as no longer aligned on a PDU boundary (a parser lost the framing).
    pub fn lose_alignment(&mut self) {
        self.aligned = false;
        self.pending.clear();
        self.skip = 0;
    }
}

/// Counters for the report and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Segments whose bytes had all been seen.
    pub retransmissions: u64,
    /// Holes in a stream (bytes never captured).
    pub gaps: u64,
    /// Streams forgotten because they were idle or the table was full.
    pub evicted: u64,
    /// Segments read without stream state because the table was full.
    pub untracked: u64,
}

/// All streams followed.
#[derive(Debug, Default)]
pub struct Streams {
    map: HashMap<FlowKey, Stream>,
    limits: StreamLimits,
    /// What happened so far.
    pub stats: StreamStats,
}

/// The result of placing one segment: the new payload bytes and the stream, when followed.
pub struct Placed<'s, 'a> {
    /// How the bytes relate to the stream.
    pub placement: Placement,
    /// The payload bytes not seen before.
    pub fresh: &'a [u8],
    /// The stream's state, unless the table was full.
    pub stream: Option<&'s mut Stream>,
}

impl Streams {
    /// Streams with the given bounds.
    pub fn new(limits: StreamLimits) -> Self {
        Streams {
            map: HashMap::new(),
            limits,
            stats: StreamStats::default(),
        }
    }

    /// The bounds in force.
    pub fn limits(&self) -> StreamLimits {
        self.limits
    }

    /// Streams currently followed.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no stream is followed.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Place a segment in its stream.
    pub fn place<'s, 'a>(
        &'s mut self,
        key: FlowKey,
        seg: &TcpSegment<'a>,
        ts_ns: i64,
    ) -> Placed<'s, 'a> {
        let syn = seg.flags.has(TcpFlags::SYN);
        let ends = seg.flags.has(TcpFlags::FIN) || seg.flags.has(TcpFlags::RST);
        let len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
        // The sequence number of the first payload byte (a SYN occupies one).
        let start = seg.seq.wrapping_add(u32::from(syn));

        if !self.map.contains_key(&key) {
            if seg.payload.is_empty() && !syn {
                // A bare ACK / FIN / RST of an unknown stream: nothing to follow.
                return Placed {
                    placement: Placement::Unaligned,
                    fresh: seg.payload,
                    stream: None,
                };
            }
            if self.map.len() >= self.limits.max_streams {
                self.expire(ts_ns);
            }
            if self.map.len() >= self.limits.max_streams {
                self.stats.untracked += 1;
                return Placed {
                    placement: Placement::Unaligned,
                    fresh: seg.payload,
                    stream: None,
                };
            }
        }
        let stream = self.map.entry(key).or_insert_with(|| Stream {
            next_seq: start,
            last_ns: ts_ns,
            aligned: syn,
            ..Stream::default()
        });
        stream.last_ns = ts_ns;
        if syn {
            // A (new) connection on this 4-tuple: start over, aligned.
            stream.next_seq = start;
            stream.aligned = true;
            stream.pending.clear();
            stream.skip = 0;
        }

        // Signed distance from the expected sequence number, modulo 2^32.
        let ahead = start.wrapping_sub(stream.next_seq) as i32;
        let (placement, fresh) = if ahead == 0 {
            let p = if stream.aligned {
                Placement::InOrder
            } else {
                Placement::Unaligned
            };
            (p, seg.payload)
        } else if ahead < 0 {
            let seen = ahead.unsigned_abs() as usize;
            match seg.payload.get(seen..) {
                Some(rest) if !rest.is_empty() => {
                    let p = if stream.aligned {
                        Placement::InOrder
                    } else {
                        Placement::Unaligned
                    };
                    (p, rest)
                }
                _ => {
                    if !seg.payload.is_empty() {
                        self.stats.retransmissions += 1;
                    }
                    (Placement::Retransmission, &seg.payload[..0])
                }
            }
        } else {
            // Bytes are missing: whatever was pending can never complete.
            self.stats.gaps += 1;
            stream.lose_alignment();
            (Placement::Unaligned, seg.payload)
        };
        if placement != Placement::Retransmission {
            let fresh_len = u32::try_from(fresh.len()).unwrap_or(u32::MAX);
            let fresh_start = start.wrapping_add(len.wrapping_sub(fresh_len));
            stream.next_seq = fresh_start.wrapping_add(fresh_len);
        }
        if ends {
            // The connection ends: keep the state only for this last segment's bytes.
            stream.aligned = false;
        }
        Placed {
            placement,
            fresh,
            stream: Some(stream),
        }
    }

    /// Forget a stream (after FIN/RST once its last bytes are parsed).
    pub fn close(&mut self, key: &FlowKey) {
        self.map.remove(key);
    }

    /// Forget the streams idle for longer than the limit.
    fn expire(&mut self, now_ns: i64) {
        let idle = self.limits.idle_ns;
        let before = self.map.len();
        self.map
            .retain(|_, s| now_ns.saturating_sub(s.last_ns) <= idle);
        self.stats.evicted += (before - self.map.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key() -> FlowKey {
        FlowKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            src_port: 50000,
            dst_port: 2000,
        }
    }

    fn seg(seq: u32, flags: u8, payload: &[u8]) -> TcpSegment<'_> {
        TcpSegment {
            src_port: 50000,
            dst_port: 2000,
            seq,
            ack: 0,
            flags: TcpFlags(flags),
            payload,
        }
    }

    #[test]
    fn retransmitted_bytes_are_dropped_and_overlaps_trimmed() {
        let mut s = Streams::default();
        let p = s.place(key(), &seg(99, TcpFlags::SYN, b""), 0);
        assert_eq!(p.placement, Placement::InOrder);
        let p = s.place(key(), &seg(100, TcpFlags::ACK, b"abcd"), 1);
        assert_eq!((p.placement, p.fresh), (Placement::InOrder, &b"abcd"[..]));
        let p = s.place(key(), &seg(100, TcpFlags::ACK, b"abcd"), 2);
        assert_eq!(p.placement, Placement::Retransmission);
        let p = s.place(key(), &seg(102, TcpFlags::ACK, b"cdef"), 3);
        assert_eq!((p.placement, p.fresh), (Placement::InOrder, &b"ef"[..]));
        assert_eq!(s.stats.retransmissions, 1);
    }

    #[test]
    fn a_gap_loses_alignment_and_drops_pending_bytes() {
        let mut s = Streams::default();
        s.place(key(), &seg(0, TcpFlags::SYN, b""), 0);
        let p = s.place(key(), &seg(1, TcpFlags::ACK, b"ab"), 0);
        p.stream.unwrap().pending.extend_from_slice(b"ab");
        let p = s.place(key(), &seg(10, TcpFlags::ACK, b"zz"), 0);
        assert_eq!(p.placement, Placement::Unaligned);
        assert!(p.stream.unwrap().pending.is_empty());
        assert_eq!(s.stats.gaps, 1);
    }

    #[test]
    fn mid_connection_start_is_unaligned_and_sequence_wraps() {
        let mut s = Streams::default();
        let p = s.place(key(), &seg(u32::MAX - 1, TcpFlags::ACK, b"abcd"), 0);
        assert_eq!(p.placement, Placement::Unaligned);
        let p = s.place(key(), &seg(2, TcpFlags::ACK, b"ef"), 0);
        assert_eq!(p.placement, Placement::Unaligned);
        assert_eq!(p.fresh, b"ef");
        let p = s.place(key(), &seg(2, TcpFlags::ACK, b"ef"), 0);
        assert_eq!(p.placement, Placement::Retransmission);
    }

    #[test]
    fn the_stream_table_is_bounded() {
        let mut s = Streams::new(StreamLimits {
            max_streams: 2,
            max_pending: 16,
            idle_ns: 10,
        });
        for port in 0..5u16 {
            let mut k = key();
            k.src_port = port;
            s.place(k, &seg(0, TcpFlags::ACK, b"x"), 0);
        }
        assert_eq!(s.len(), 2);
        assert_eq!(s.stats.untracked, 3);
        let mut k = key();
        k.src_port = 9;
        s.place(k, &seg(0, TcpFlags::ACK, b"x"), 100);
        assert_eq!(s.len(), 1);
        assert_eq!(s.stats.evicted, 2);
    }
}
