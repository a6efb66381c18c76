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
    /// Unconsumed bytes kept over all streams together.
    pub max_pending_total: usize,
    /// A stream silent for this long (capture time) is forgotten.
    pub idle_ns: i64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_streams: 65_536,
            // The largest message a stream parser accepts: a SIP head plus body.
            max_pending: parsers::sip::MAX_HEAD_LEN + parsers::sip::MAX_BODY_LEN,
            max_pending_total: 64 << 20,
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
    /// `pending` must reach this length before a parser can make progress (the
    /// parser's last `NeedMore`), so a PDU sent byte by byte is not re-parsed each time.
    pub need: usize,
    /// Whether the stream is aligned on a PDU boundary.
    aligned: bool,
}

impl Stream {
    /// Mark the stream as no longer aligned on a PDU boundary (a parser lost the framing).
    pub fn lose_alignment(&mut self) {
        self.aligned = false;
        self.pending = Vec::new();
        self.skip = 0;
        self.need = 0;
    }

    /// Mark the stream aligned: a parser found a message boundary in it.
    pub fn realign(&mut self) {
        self.aligned = true;
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
    /// Times a stream dropped its pending bytes because a bound was reached.
    pub over_budget: u64,
}

/// All streams followed.
#[derive(Debug, Default)]
pub struct Streams {
    map: HashMap<FlowKey, Stream>,
    limits: StreamLimits,
    /// Pending bytes over all streams.
    pending_total: usize,
    /// No idle sweep before this capture time: a full table is swept at most once a
    /// second, not once per segment.
    next_sweep_ns: i64,
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
    /// Pending bytes over all streams, for the caller to keep up to date.
    pub pending_total: &'s mut usize,
    /// Counters, for the caller to record budget overruns.
    pub stats: &'s mut StreamStats,
}

impl Streams {
    /// Streams with the given bounds.
    pub fn new(limits: StreamLimits) -> Self {
        Streams {
            map: HashMap::new(),
            limits,
            pending_total: 0,
            next_sweep_ns: i64::MIN,
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
        let len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
        // The sequence number of the first payload byte (a SYN occupies one).
        let start = seg.seq.wrapping_add(u32::from(syn));

        let known = self.map.contains_key(&key);
        if !known {
            let untracked = if seg.payload.is_empty() && !syn {
                // A bare ACK / FIN / RST of an unknown stream: nothing to follow.
                true
            } else {
                if self.map.len() >= self.limits.max_streams && ts_ns >= self.next_sweep_ns {
                    self.expire(ts_ns);
                    self.next_sweep_ns = ts_ns.saturating_add(1_000_000_000);
                }
                self.map.len() >= self.limits.max_streams
            };
            if untracked {
                if !seg.payload.is_empty() {
                    self.stats.untracked += 1;
                }
                return Placed {
                    placement: Placement::Unaligned,
                    fresh: seg.payload,
                    stream: None,
                    pending_total: &mut self.pending_total,
                    stats: &mut self.stats,
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
        // A SYN starts the stream over, aligned, unless it is a late copy of the one
        // already seen (it falls just behind the bytes received since).
        let late_copy = (-(1 << 20)..0).contains(&(start.wrapping_sub(stream.next_seq) as i32));
        if syn && known && !late_copy {
            self.pending_total = self.pending_total.saturating_sub(stream.pending.len());
            stream.lose_alignment();
            stream.next_seq = start;
            stream.aligned = true;
        }

        // Signed distance from the expected sequence number, modulo 2^32.
        let ahead = start.wrapping_sub(stream.next_seq) as i32;
        let continuing = if stream.aligned {
            Placement::InOrder
        } else {
            Placement::Unaligned
        };
        let (placement, fresh) = if ahead == 0 {
            (continuing, seg.payload)
        } else if ahead < 0 {
            let seen = ahead.unsigned_abs() as usize;
            match seg.payload.get(seen..) {
                Some(rest) if !rest.is_empty() => (continuing, rest),
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
            self.pending_total = self.pending_total.saturating_sub(stream.pending.len());
            stream.lose_alignment();
            (Placement::Unaligned, seg.payload)
        };
        if placement != Placement::Retransmission {
            let fresh_len = u32::try_from(fresh.len()).unwrap_or(u32::MAX);
            let fresh_start = start.wrapping_add(len.wrapping_sub(fresh_len));
            stream.next_seq = fresh_start.wrapping_add(fresh_len);
        }
        Placed {
            placement,
            fresh,
            stream: Some(stream),
            pending_total: &mut self.pending_total,
            stats: &mut self.stats,
        }
    }

    /// Forget a stream (after FIN/RST once its last bytes are parsed).
    pub fn close(&mut self, key: &FlowKey) {
        if let Some(s) = self.map.remove(key) {
            self.pending_total = self.pending_total.saturating_sub(s.pending.len());
        }
    }

    /// Pending bytes over all streams.
    pub fn pending_total(&self) -> usize {
        self.pending_total
    }

    /// Forget the streams idle for longer than the limit.
    fn expire(&mut self, now_ns: i64) {
        let idle = self.limits.idle_ns;
        let before = self.map.len();
        let mut freed = 0;
        self.map.retain(|_, s| {
            let keep = now_ns.saturating_sub(s.last_ns) <= idle;
            if !keep {
                freed += s.pending.len();
            }
            keep
        });
        self.pending_total = self.pending_total.saturating_sub(freed);
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
        *p.pending_total += 2;
        let p = s.place(key(), &seg(10, TcpFlags::ACK, b"zz"), 0);
        assert_eq!(p.placement, Placement::Unaligned);
        assert!(p.stream.unwrap().pending.is_empty());
        assert_eq!(s.stats.gaps, 1);
        assert_eq!(s.pending_total(), 0);
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
            max_pending_total: 32,
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
        // Idle sweeps run at most once a second of capture time.
        s.place(k, &seg(0, TcpFlags::ACK, b"x"), 100);
        assert_eq!(s.len(), 2);
        s.place(k, &seg(0, TcpFlags::ACK, b"x"), 2_000_000_000);
        assert_eq!(s.len(), 1);
        assert_eq!(s.stats.evicted, 2);
    }
}
