//! TCP stream following, one direction at a time, bounded. Each segment is placed
//! against the bytes already delivered: retransmitted bytes are dropped, in-order
//! bytes go to the application parser (after what it left unconsumed, for a PDU split
//! over segments), and a segment that arrives ahead of a hole is held in a small
//! per-direction queue until the hole fills, since SPAN ports reorder. A hole that
//! stays open too long, a queue past its bounds, or FIN/RST declares a gap: the stream
//! loses alignment, and the next bytes must look like a PDU start before they are
//! trusted. Streams idle for longer than [`StreamLimits::idle_ns`] are forgotten.

use crate::FastMap;
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
    /// Unconsumed and out-of-order bytes kept over all streams together.
    pub max_pending_total: usize,
    /// A stream silent for this long (capture time) is forgotten.
    pub idle_ns: i64,
    /// Segments one direction holds ahead of a hole; one more declares the hole a gap.
    pub max_ooo_segments: usize,
    /// Bytes one direction holds ahead of a hole; more declares the hole a gap. A
    /// segment starting further than this past the hole is not waited for either.
    pub max_ooo_bytes: usize,
    /// Capture time a segment is held waiting for a hole to fill; checked when the
    /// next segment of that direction arrives.
    pub ooo_wait_ns: i64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_streams: 65_536,
            // The largest message a stream parser accepts: a SIP head plus body.
            max_pending: parsers::sip::MAX_HEAD_LEN + parsers::sip::MAX_BODY_LEN,
            max_pending_total: 64 << 20,
            idle_ns: 300 * 1_000_000_000,
            max_ooo_segments: 64,
            max_ooo_bytes: 256 << 10,
            ooo_wait_ns: 2_000_000_000,
        }
    }
}

/// How delivered bytes relate to the stream so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The next bytes of an aligned stream: parse `pending + bytes` from a PDU boundary.
    InOrder,
    /// A stream seen for the first time mid-connection, or after a gap: the bytes may
    /// start inside a PDU, so only a plausible PDU start may be trusted.
    Unaligned,
}

/// A segment that arrived ahead of the stream's next expected byte.
#[derive(Debug)]
struct Held {
    /// Sequence number of the first byte.
    seq: u32,
    data: Vec<u8>,
    /// Capture time it arrived (the oldest, when it replaced held segments).
    ts_ns: i64,
}

impl Held {
    fn len(&self) -> u32 {
        u32::try_from(self.data.len()).unwrap_or(u32::MAX)
    }
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
    /// Segments ahead of `next_seq`, sorted by sequence number, never overlapping,
    /// each strictly after `next_seq`. Empty (and unallocated) while segments arrive
    /// in order.
    held: Vec<Held>,
    /// Payload bytes in `held`.
    held_bytes: usize,
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

    /// Position of `seq` relative to the next expected byte (signed, modulo 2^32).
    fn offset(&self, seq: u32) -> i64 {
        i64::from(seq.wrapping_sub(self.next_seq) as i32)
    }
}

/// Counters for the report and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Segments whose bytes had all been seen (delivered or already held).
    pub retransmissions: u64,
    /// Holes in a stream (bytes never captured).
    pub gaps: u64,
    /// Segments that arrived ahead of a hole and were delivered in order once it filled.
    pub reordered: u64,
    /// Streams forgotten because they were idle or the table was full.
    pub evicted: u64,
    /// Segments read without stream state because the table was full.
    pub untracked: u64,
    /// Times a stream dropped its pending bytes because a bound was reached.
    pub over_budget: u64,
    /// Most segments one direction held out of order at once.
    pub queue_peak_segments: u64,
    /// Most bytes one direction held out of order at once.
    pub queue_peak_bytes: u64,
}

/// All streams followed.
#[derive(Debug, Default)]
pub struct Streams {
    map: FastMap<FlowKey, Stream>,
    limits: StreamLimits,
    /// Pending and held bytes over all streams.
    pending_total: usize,
    /// No idle sweep before this capture time: a full table is swept at most once a
    /// second, not once per segment.
    next_sweep_ns: i64,
    /// What happened so far.
    pub stats: StreamStats,
}

/// Bytes for the application parser, and the stream they belong to.
pub struct Placed<'d> {
    /// How the bytes relate to the stream.
    pub placement: Placement,
    /// Stream bytes not delivered before, in order.
    pub fresh: &'d [u8],
    /// The stream's state, unless the table was full.
    pub stream: Option<&'d mut Stream>,
    /// Pending bytes over all streams, for the caller to keep up to date.
    pub pending_total: &'d mut usize,
    /// Counters, for the caller to record budget overruns.
    pub stats: &'d mut StreamStats,
}

/// What [`Streams::segment`] hands the application layer, in stream order.
pub enum Delivery<'d> {
    /// Bytes to parse.
    Bytes(Placed<'d>),
    /// A hole: `missing` bytes were never captured (0 when unknown). The stream's
    /// pending bytes are gone and it is no longer aligned.
    Gap {
        /// Size of the hole in bytes.
        missing: u32,
    },
}

impl Streams {
    /// Streams with the given bounds.
    pub fn new(limits: StreamLimits) -> Self {
        Streams {
            map: FastMap::default(),
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

    /// Place a segment in its stream and hand `deliver` what it makes deliverable, in
    /// stream order: its own new bytes, the held segments it makes contiguous, and the
    /// gaps declared on the way. A FIN or RST closes the stream afterwards.
    pub fn segment<F>(&mut self, key: FlowKey, seg: &TcpSegment<'_>, ts_ns: i64, mut deliver: F)
    where
        F: FnMut(Delivery<'_>),
    {
        let syn = seg.flags.has(TcpFlags::SYN);
        let fin = seg.flags.has(TcpFlags::FIN);
        let ends = fin || seg.flags.has(TcpFlags::RST);
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
                    deliver(Delivery::Bytes(Placed {
                        placement: Placement::Unaligned,
                        fresh: seg.payload,
                        stream: None,
                        pending_total: &mut self.pending_total,
                        stats: &mut self.stats,
                    }));
                }
                return;
            }
        }
        let Streams {
            map,
            limits,
            pending_total,
            stats,
            ..
        } = self;
        let stream = map.entry(key).or_insert_with(|| Stream {
            next_seq: start,
            last_ns: ts_ns,
            aligned: syn,
            ..Stream::default()
        });
        stream.last_ns = ts_ns;
        // A SYN starts the stream over, aligned, unless it is a late copy of the one
        // already seen (it falls just behind the bytes received since).
        let late_copy = (-(1 << 20)..0).contains(&stream.offset(start));
        if syn && known && !late_copy {
            *pending_total = pending_total.saturating_sub(stream.pending.len() + stream.held_bytes);
            stream.lose_alignment();
            stream.held = Vec::new();
            stream.held_bytes = 0;
            stream.next_seq = start;
            stream.aligned = true;
        }

        let mut cur = Cursor {
            stream,
            pending_total,
            stats,
            limits: *limits,
            deliver: &mut deliver,
        };
        cur.place(start, seg.payload, ts_ns);
        if ends || cur.waited_too_long(ts_ns) {
            // Nothing more is coming (FIN/RST), or it comes too late to wait for.
            cur.flush();
        }
        if fin {
            // A FIN past everything delivered: the bytes before it were never captured.
            // (A RST's sequence number is only loosely checked by receivers, RFC 5961
            // §3, so it proves nothing about missing bytes.)
            let end = start.wrapping_add(len);
            if cur.stream.offset(end) > 0 {
                cur.gap(end);
            }
        }
        if ends {
            self.close(&key);
        }
    }

    /// Forget a stream (after FIN/RST once its last bytes are parsed).
    pub fn close(&mut self, key: &FlowKey) {
        if let Some(s) = self.map.remove(key) {
            self.pending_total = self
                .pending_total
                .saturating_sub(s.pending.len() + s.held_bytes);
        }
    }

    /// Pending and held bytes over all streams.
    pub fn pending_total(&self) -> usize {
        self.pending_total
    }

    /// Segments and bytes a stream holds out of order.
    #[cfg(test)]
    pub(crate) fn held(&self, key: &FlowKey) -> Option<(usize, usize)> {
        self.map.get(key).map(|s| (s.held.len(), s.held_bytes))
    }

    /// Forget the streams idle for longer than the limit.
    fn expire(&mut self, now_ns: i64) {
        let idle = self.limits.idle_ns;
        let before = self.map.len();
        let mut freed = 0;
        self.map.retain(|_, s| {
            let keep = now_ns.saturating_sub(s.last_ns) <= idle;
            if !keep {
                freed += s.pending.len() + s.held_bytes;
            }
            keep
        });
        self.pending_total = self.pending_total.saturating_sub(freed);
        self.stats.evicted += (before - self.map.len()) as u64;
    }
}

/// One stream while a segment is placed in it: moves `next_seq` and hands bytes and
/// gaps to the caller in stream order.
struct Cursor<'x, F> {
    stream: &'x mut Stream,
    pending_total: &'x mut usize,
    stats: &'x mut StreamStats,
    limits: StreamLimits,
    deliver: &'x mut F,
}

impl<F> Cursor<'_, F>
where
    F: FnMut(Delivery<'_>),
{
    /// Place a segment's payload starting at `start`.
    fn place(&mut self, start: u32, payload: &[u8], ts_ns: i64) {
        if payload.is_empty() {
            // A bare ACK (or FIN/RST, handled by the caller) carries nothing to place;
            // one ahead of a hole does not prove the hole is lost either.
            return;
        }
        if self.stream.offset(start) > 0 {
            if self.hold(start, payload, ts_ns) {
                return;
            }
            // It cannot wait: the hole before it (and any before those held) is a gap.
            self.flush();
            if self.stream.offset(start) > 0 && !self.hold(start, payload, ts_ns) {
                self.gap(start);
            }
            if self.stream.offset(start) > 0 {
                return;
            }
        }
        let seen = usize::try_from(-self.stream.offset(start)).unwrap_or(usize::MAX);
        match payload.get(seen..) {
            Some(rest) if !rest.is_empty() => {
                self.bytes(rest);
                self.drain();
            }
            _ => self.stats.retransmissions += 1,
        }
    }

    /// Hand the next bytes of the stream to the caller.
    fn bytes(&mut self, data: &[u8]) {
        let placement = if self.stream.aligned {
            Placement::InOrder
        } else {
            Placement::Unaligned
        };
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.stream.next_seq = self.stream.next_seq.wrapping_add(len);
        (self.deliver)(Delivery::Bytes(Placed {
            placement,
            fresh: data,
            stream: Some(&mut *self.stream),
            pending_total: &mut *self.pending_total,
            stats: &mut *self.stats,
        }));
    }

    /// Declare the bytes up to `resume` never captured: whatever was pending can never
    /// complete, and the stream goes on unaligned from `resume`.
    fn gap(&mut self, resume: u32) {
        let missing = resume.wrapping_sub(self.stream.next_seq);
        self.stats.gaps += 1;
        *self.pending_total = self.pending_total.saturating_sub(self.stream.pending.len());
        self.stream.lose_alignment();
        self.stream.next_seq = resume;
        (self.deliver)(Delivery::Gap { missing });
    }

    /// Deliver the held segments the stream has now reached.
    fn drain(&mut self) {
        while let Some(first) = self.stream.held.first() {
            let offset = self.stream.offset(first.seq);
            if offset > 0 {
                break;
            }
            let h = self.stream.held.remove(0);
            self.unhold(&h);
            // The bytes that filled the hole may have run into this segment.
            let seen = usize::try_from(-offset).unwrap_or(usize::MAX);
            if let Some(rest) = h.data.get(seen..).filter(|r| !r.is_empty()) {
                self.stats.reordered += 1;
                self.bytes(rest);
            }
        }
        if self.stream.held.is_empty() {
            // Give the queue's memory back: reordering is rare, streams are many.
            self.stream.held = Vec::new();
        }
    }

    /// Declare the hole before the held segments a gap and deliver them all, each hole
    /// between them a gap too.
    fn flush(&mut self) {
        let held = std::mem::take(&mut self.stream.held);
        for h in &held {
            self.unhold(h);
        }
        for h in held {
            let offset = self.stream.offset(h.seq);
            if offset > 0 {
                self.gap(h.seq);
            }
            let seen = usize::try_from(-self.stream.offset(h.seq)).unwrap_or(usize::MAX);
            if let Some(rest) = h.data.get(seen..).filter(|r| !r.is_empty()) {
                self.bytes(rest);
            }
        }
    }

    fn unhold(&mut self, h: &Held) {
        self.stream.held_bytes = self.stream.held_bytes.saturating_sub(h.data.len());
        *self.pending_total = self.pending_total.saturating_sub(h.data.len());
    }

    /// Whether a held segment has waited longer than the limit.
    fn waited_too_long(&self, now_ns: i64) -> bool {
        let wait = self.limits.ooo_wait_ns;
        self.stream
            .held
            .iter()
            .any(|h| now_ns.saturating_sub(h.ts_ns) > wait)
    }

    /// Hold a segment that starts ahead of `next_seq`, without the bytes already held.
    /// False when it would take the queue past a bound (nothing changed then).
    fn hold(&mut self, start: u32, payload: &[u8], ts_ns: i64) -> bool {
        let limits = self.limits;
        let held = &self.stream.held;
        // Offsets from `next_seq`: every held segment lies in (0, 2^31).
        let rel = |seq: u32| i64::from(seq.wrapping_sub(self.stream.next_seq));
        let s0 = rel(start);
        let len = i64::try_from(payload.len()).unwrap_or(i64::MAX);
        if s0 > i64::try_from(limits.max_ooo_bytes).unwrap_or(i64::MAX) {
            // Far beyond the hole: not reordering but bytes lost in bulk.
            return false;
        }
        let (mut s, mut e) = (s0, s0.saturating_add(len));
        // Trim the bytes already held (held segments are sorted and disjoint, so one
        // pass each way settles both ends).
        for h in held {
            let hs = rel(h.seq);
            let he = hs + i64::from(h.len());
            if hs <= s && s < he {
                s = he;
            }
        }
        for h in held.iter().rev() {
            let hs = rel(h.seq);
            let he = hs + i64::from(h.len());
            if hs < e && e <= he {
                e = hs;
            }
        }
        if s >= e {
            // Every byte is held already.
            self.stats.retransmissions += 1;
            return true;
        }
        // Held segments inside [s, e) are replaced by this one.
        let first = held.partition_point(|h| rel(h.seq) < s);
        let last = first + held[first..].partition_point(|h| rel(h.seq) < e);
        let replaced = held.get(first..last).unwrap_or_default();
        let replaced_bytes: usize = replaced.iter().map(|h| h.data.len()).sum();
        let oldest = replaced.iter().map(|h| h.ts_ns).fold(ts_ns, i64::min);
        let new_len = usize::try_from(e - s).unwrap_or(usize::MAX);
        let segments = held.len() - replaced.len() + 1;
        let bytes = self.stream.held_bytes.saturating_sub(replaced_bytes) + new_len;
        let total = self.pending_total.saturating_sub(replaced_bytes) + new_len;
        if segments > limits.max_ooo_segments
            || bytes > limits.max_ooo_bytes
            || total > limits.max_pending_total
        {
            return false;
        }
        let from = usize::try_from(s - s0).unwrap_or(0);
        let data = payload
            .get(from..from + new_len)
            .unwrap_or_default()
            .to_vec();
        let seq = start.wrapping_add(u32::try_from(s - s0).unwrap_or(0));
        self.stream.held.splice(
            first..last,
            std::iter::once(Held {
                seq,
                data,
                ts_ns: oldest,
            }),
        );
        self.stream.held_bytes = bytes;
        *self.pending_total = total;
        let peak = &mut self.stats;
        peak.queue_peak_segments = peak.queue_peak_segments.max(segments as u64);
        peak.queue_peak_bytes = peak.queue_peak_bytes.max(bytes as u64);
        true
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

    /// What a segment delivered, owned.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Got {
        In(Vec<u8>),
        Un(Vec<u8>),
        Gap(u32),
    }

    /// Place a segment; record what it delivers, keeping nothing pending.
    fn put(s: &mut Streams, seq: u32, flags: u8, payload: &[u8], ts_ns: i64) -> Vec<Got> {
        let mut got = Vec::new();
        s.segment(key(), &seg(seq, flags, payload), ts_ns, |d| match d {
            Delivery::Bytes(p) => got.push(match p.placement {
                Placement::InOrder => Got::In(p.fresh.to_vec()),
                Placement::Unaligned => Got::Un(p.fresh.to_vec()),
            }),
            Delivery::Gap { missing } => got.push(Got::Gap(missing)),
        });
        got
    }

    fn ins(b: &[u8]) -> Got {
        Got::In(b.to_vec())
    }

    fn opened(limits: StreamLimits) -> Streams {
        let mut s = Streams::new(limits);
        put(&mut s, 99, TcpFlags::SYN, b"", 0);
        s
    }

    #[test]
    fn retransmitted_bytes_are_dropped_and_overlaps_trimmed() {
        let mut s = opened(StreamLimits::default());
        assert_eq!(put(&mut s, 100, TcpFlags::ACK, b"abcd", 1), [ins(b"abcd")]);
        assert_eq!(put(&mut s, 100, TcpFlags::ACK, b"abcd", 2), []);
        assert_eq!(put(&mut s, 102, TcpFlags::ACK, b"cdef", 3), [ins(b"ef")]);
        assert_eq!(s.stats.retransmissions, 1);
        assert_eq!(s.stats.gaps, 0);
    }

    #[test]
    fn segments_out_of_order_are_delivered_in_order_when_the_hole_fills() {
        let mut s = opened(StreamLimits::default());
        assert_eq!(put(&mut s, 100, TcpFlags::ACK, b"aa", 1), [ins(b"aa")]);
        // 3 before 2: held, nothing delivered yet.
        assert_eq!(put(&mut s, 104, TcpFlags::ACK, b"cc", 2), []);
        assert_eq!(s.held(&key()), Some((1, 2)));
        assert_eq!(s.pending_total(), 2);
        // 2 fills the hole: 2 then 3, in the same call.
        assert_eq!(
            put(&mut s, 102, TcpFlags::ACK, b"bb", 3),
            [ins(b"bb"), ins(b"cc")]
        );
        assert_eq!(s.held(&key()), Some((0, 0)));
        assert_eq!(s.pending_total(), 0);
        assert_eq!((s.stats.reordered, s.stats.gaps), (1, 0));
        // The late segment's bytes are delivered once only.
        assert_eq!(put(&mut s, 104, TcpFlags::ACK, b"cc", 4), []);
        assert_eq!(put(&mut s, 106, TcpFlags::ACK, b"dd", 5), [ins(b"dd")]);
    }

    #[test]
    fn a_segment_overlapping_held_bytes_is_trimmed_not_delivered_twice() {
        let mut s = opened(StreamLimits::default());
        assert_eq!(put(&mut s, 110, TcpFlags::ACK, b"KLMNO", 1), []);
        // Inside the held segment: a retransmission of queued bytes.
        assert_eq!(put(&mut s, 111, TcpFlags::ACK, b"LM", 1), []);
        assert_eq!(s.stats.retransmissions, 1);
        // Overlapping its end: only the new tail is held.
        assert_eq!(put(&mut s, 113, TcpFlags::ACK, b"NOPQ", 1), []);
        assert_eq!(s.held(&key()), Some((2, 7)));
        // The filler runs into the held bytes: each byte is delivered once, in order.
        assert_eq!(
            put(&mut s, 100, TcpFlags::ACK, b"abcdefghijKL", 2),
            [ins(b"abcdefghijKL"), ins(b"MNO"), ins(b"PQ")]
        );
        assert_eq!(s.stats.reordered, 2);
        assert_eq!(s.pending_total(), 0);
    }

    #[test]
    fn a_longer_copy_replaces_the_held_segments_it_covers() {
        let mut s = opened(StreamLimits::default());
        put(&mut s, 104, TcpFlags::ACK, b"ef", 1);
        put(&mut s, 108, TcpFlags::ACK, b"ij", 1);
        assert_eq!(s.held(&key()), Some((2, 4)));
        put(&mut s, 102, TcpFlags::ACK, b"cdefghijkl", 1);
        assert_eq!(s.held(&key()), Some((1, 10)));
        assert_eq!(
            put(&mut s, 100, TcpFlags::ACK, b"ab", 2),
            [ins(b"ab"), ins(b"cdefghijkl")]
        );
    }

    #[test]
    fn fin_declares_the_hole_a_gap_and_delivers_the_held_bytes_unaligned() {
        let mut s = opened(StreamLimits::default());
        put(&mut s, 100, TcpFlags::ACK, b"ab", 1);
        put(&mut s, 110, TcpFlags::ACK, b"kl", 2);
        put(&mut s, 112, TcpFlags::ACK, b"mn", 2);
        put(&mut s, 120, TcpFlags::ACK, b"uv", 2);
        assert_eq!(
            put(&mut s, 122, TcpFlags::ACK | TcpFlags::FIN, b"", 3),
            [
                Got::Gap(8),
                Got::Un(b"kl".to_vec()),
                Got::Un(b"mn".to_vec()),
                Got::Gap(6),
                Got::Un(b"uv".to_vec()),
            ]
        );
        assert_eq!(s.stats.gaps, 2);
        assert_eq!(s.stats.reordered, 0);
        assert!(s.is_empty(), "the FIN closed the stream");
        assert_eq!(s.pending_total(), 0);
    }

    #[test]
    fn a_fin_past_the_delivered_bytes_is_a_gap() {
        let mut s = opened(StreamLimits::default());
        put(&mut s, 100, TcpFlags::ACK, b"ab", 1);
        assert_eq!(put(&mut s, 105, TcpFlags::FIN, b"", 2), [Got::Gap(3)]);
        let mut s = opened(StreamLimits::default());
        put(&mut s, 100, TcpFlags::ACK, b"ab", 1);
        // A RST's sequence number proves nothing.
        assert_eq!(put(&mut s, 105, TcpFlags::RST, b"", 2), []);
        assert!(s.is_empty());
    }

    #[test]
    fn a_hole_open_too_long_is_a_gap_when_the_next_segment_arrives() {
        let mut s = opened(StreamLimits::default());
        put(&mut s, 100, TcpFlags::ACK, b"ab", 0);
        let p = put(&mut s, 110, TcpFlags::ACK, b"kl", 1_000_000_000);
        assert_eq!(p, []);
        // 2 s later: still waiting (the bound is "longer than").
        assert_eq!(put(&mut s, 100, TcpFlags::ACK, b"", 3_000_000_000), []);
        let p = put(&mut s, 112, TcpFlags::ACK, b"mn", 3_000_000_001);
        assert_eq!(
            p,
            [
                Got::Gap(8),
                Got::Un(b"kl".to_vec()),
                Got::Un(b"mn".to_vec())
            ]
        );
        assert_eq!(s.held(&key()), Some((0, 0)));
        // The late filler is a retransmission now.
        assert_eq!(put(&mut s, 102, TcpFlags::ACK, b"cdefghij", 4), []);
    }

    #[test]
    fn a_late_filler_is_still_taken_when_it_arrives_after_the_wait() {
        // The wait is checked after the arriving segment is placed: if it fills the
        // hole, nothing was lost.
        let mut s = opened(StreamLimits::default());
        put(&mut s, 104, TcpFlags::ACK, b"ef", 0);
        assert_eq!(
            put(&mut s, 100, TcpFlags::ACK, b"abcd", 5_000_000_000),
            [ins(b"abcd"), ins(b"ef")]
        );
        assert_eq!(s.stats.gaps, 0);
    }

    #[test]
    fn the_queue_is_bounded_in_segments() {
        let limits = StreamLimits {
            max_ooo_segments: 4,
            ..StreamLimits::default()
        };
        let mut s = opened(limits);
        put(&mut s, 100, TcpFlags::ACK, b"ab", 0);
        // Segments 2, 4, 6, 8 are held; 10 would make five: the holes become gaps.
        for i in 1..=4u32 {
            assert_eq!(put(&mut s, 100 + 4 * i, TcpFlags::ACK, b"xx", 0), []);
        }
        assert_eq!(s.held(&key()), Some((4, 8)));
        let p = put(&mut s, 120, TcpFlags::ACK, b"yy", 0);
        assert_eq!(p.iter().filter(|g| matches!(g, Got::Gap(2))).count(), 4);
        assert_eq!(p.last(), Some(&Got::Un(b"xx".to_vec())));
        // The segment that found the queue full waits in a queue of its own.
        assert_eq!(s.held(&key()), Some((1, 2)));
        assert_eq!(s.stats.queue_peak_segments, 4);
        assert_eq!(
            put(&mut s, 118, TcpFlags::ACK, b"zz", 0),
            [Got::Un(b"zz".to_vec()), Got::Un(b"yy".to_vec())]
        );
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_and_by_the_global_budget() {
        let limits = StreamLimits {
            max_ooo_bytes: 10,
            ..StreamLimits::default()
        };
        let mut s = opened(limits);
        assert_eq!(put(&mut s, 102, TcpFlags::ACK, b"0123456", 0), []);
        // 7 + 6 bytes would pass the bound: the hole is a gap, the newcomer waits alone.
        let p = put(&mut s, 110, TcpFlags::ACK, b"abcdef", 0);
        assert_eq!(p, [Got::Gap(2), Got::Un(b"0123456".to_vec())]);
        assert_eq!(s.held(&key()), Some((1, 6)));
        assert_eq!(s.stats.queue_peak_bytes, 7);
        // Starting further ahead than the byte bound: not waited for at all.
        let p = put(&mut s, 1000, TcpFlags::ACK, b"far", 0);
        assert_eq!(
            p,
            [
                Got::Gap(1),
                Got::Un(b"abcdef".to_vec()),
                Got::Gap(884),
                Got::Un(b"far".to_vec())
            ]
        );

        let limits = StreamLimits {
            max_pending_total: 5,
            ..StreamLimits::default()
        };
        let mut s = opened(limits);
        assert_eq!(put(&mut s, 110, TcpFlags::ACK, b"abcde", 0), []);
        assert_eq!(s.pending_total(), 5);
        let p = put(&mut s, 120, TcpFlags::ACK, b"k", 0);
        assert_eq!(p, [Got::Gap(10), Got::Un(b"abcde".to_vec())]);
        assert_eq!(s.pending_total(), 1);
    }

    #[test]
    fn in_order_segments_never_allocate_a_queue() {
        let mut s = opened(StreamLimits::default());
        for i in 0..100u32 {
            put(&mut s, 100 + 2 * i, TcpFlags::ACK, b"ok", i.into());
        }
        assert_eq!(s.map[&key()].held.capacity(), 0);
        put(&mut s, 302, TcpFlags::ACK, b"ok", 0);
        assert!(s.map[&key()].held.capacity() > 0);
        put(&mut s, 300, TcpFlags::ACK, b"ok", 0);
        assert_eq!(s.map[&key()].held.capacity(), 0, "released once drained");
    }

    #[test]
    fn closing_or_forgetting_a_stream_releases_its_held_bytes() {
        let limits = StreamLimits {
            max_streams: 1,
            idle_ns: 10,
            ..StreamLimits::default()
        };
        let mut s = opened(limits);
        put(&mut s, 110, TcpFlags::ACK, b"abc", 0);
        assert_eq!(s.pending_total(), 3);
        s.close(&key());
        assert_eq!(s.pending_total(), 0);
        let mut s = opened(limits);
        put(&mut s, 110, TcpFlags::ACK, b"abc", 0);
        let mut other = key();
        other.src_port = 1;
        s.segment(other, &seg(0, TcpFlags::ACK, b"x"), 2_000_000_000, |_| {});
        assert_eq!(s.stats.evicted, 1);
        assert_eq!(s.pending_total(), 0);
    }

    #[test]
    fn a_new_syn_drops_the_held_bytes() {
        let mut s = opened(StreamLimits::default());
        put(&mut s, 110, TcpFlags::ACK, b"abc", 0);
        put(&mut s, 5000, TcpFlags::SYN, b"", 1);
        assert_eq!(s.held(&key()), Some((0, 0)));
        assert_eq!(s.pending_total(), 0);
        assert_eq!(put(&mut s, 5001, TcpFlags::ACK, b"x", 2), [ins(b"x")]);
    }

    #[test]
    fn a_declared_gap_drops_pending_bytes() {
        let mut s = opened(StreamLimits::default());
        s.segment(key(), &seg(100, TcpFlags::ACK, b"ab"), 0, |d| {
            if let Delivery::Bytes(p) = d {
                p.stream.unwrap().pending.extend_from_slice(b"ab");
                *p.pending_total += 2;
            }
        });
        assert_eq!(s.pending_total(), 2);
        put(&mut s, 110, TcpFlags::ACK, b"zz", 0);
        assert_eq!(s.pending_total(), 4);
        let p = put(&mut s, 112, TcpFlags::ACK | TcpFlags::RST, b"", 0);
        assert_eq!(p, [Got::Gap(8), Got::Un(b"zz".to_vec())]);
        assert_eq!(s.stats.gaps, 1);
        assert_eq!(s.pending_total(), 0);
    }

    #[test]
    fn mid_connection_start_is_unaligned_and_sequence_wraps() {
        let mut s = Streams::default();
        let p = put(&mut s, u32::MAX - 1, TcpFlags::ACK, b"abcd", 0);
        assert_eq!(p, [Got::Un(b"abcd".to_vec())]);
        // Held across the wrap, delivered across it.
        assert_eq!(put(&mut s, 4, TcpFlags::ACK, b"gh", 0), []);
        let p = put(&mut s, 2, TcpFlags::ACK, b"ef", 0);
        assert_eq!(p, [Got::Un(b"ef".to_vec()), Got::Un(b"gh".to_vec())]);
        assert_eq!(put(&mut s, 2, TcpFlags::ACK, b"ef", 0), []);
    }

    #[test]
    fn the_stream_table_is_bounded() {
        let mut s = Streams::new(StreamLimits {
            max_streams: 2,
            max_pending: 16,
            max_pending_total: 32,
            idle_ns: 10,
            ..StreamLimits::default()
        });
        for port in 0..5u16 {
            let mut k = key();
            k.src_port = port;
            s.segment(k, &seg(0, TcpFlags::ACK, b"x"), 0, |_| {});
        }
        assert_eq!(s.len(), 2);
        assert_eq!(s.stats.untracked, 3);
        let mut k = key();
        k.src_port = 9;
        // Idle sweeps run at most once a second of capture time.
        s.segment(k, &seg(0, TcpFlags::ACK, b"x"), 100, |_| {});
        assert_eq!(s.len(), 2);
        s.segment(k, &seg(0, TcpFlags::ACK, b"x"), 2_000_000_000, |_| {});
        assert_eq!(s.len(), 1);
        assert_eq!(s.stats.evicted, 2);
    }
}
