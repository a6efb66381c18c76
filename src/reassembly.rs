//! TCP stream following, one direction at a time, bounded. Each segment is placed
//! against the bytes already delivered: retransmitted bytes are dropped, in-order
//! bytes go to the application parser (after what it left unconsumed, for a PDU split
//! over segments), and a segment that arrives ahead of a hole is held in a small
//! per-direction queue until the hole fills, since SPAN ports reorder. A hole that
//! stays open too long, a queue past its bounds, or FIN/RST declares a gap: the stream
//! loses alignment, and the next bytes must look like a PDU start before they are
//! trusted. Streams idle for longer than [`StreamLimits::idle_ns`] are forgotten;
//! when the table is full, the oldest *half-open* stream (opened by a SYN, no byte
//! since: a SYN flood's) goes first, so a flood of SYNs never shuts out a
//! connection that carries data.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::net::IpAddr;

use hashbrown::HashTable;

use crate::link::{TcpFlags, TcpSegment};

/// Spare bytes a stream's pending buffer may keep beyond twice its contents.
pub const PENDING_SLACK: usize = 64;

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
            // A sixteenth of the default --max-memory (crate::limits).
            max_pending_total: 32 << 20,
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
    /// Opened by a bare SYN, no byte since: the first to go when the table is full.
    half_open: bool,
    /// Which stream this is among all created (for the half-open queue).
    serial: u64,
    /// The furthest byte of the reverse direction this one acknowledged (the ACK
    /// number of its segments), when seen.
    acks: Option<u32>,
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

    /// Drop the first `n` pending bytes (a parser used them), and give back the
    /// buffer's spare room, so a stream that once held a big PDU does not keep its
    /// buffer: capacity stays within twice the bytes pending and [`PENDING_SLACK`].
    pub fn consume_pending(&mut self, n: usize) {
        self.pending.drain(..n.min(self.pending.len()));
        if self.pending.is_empty() {
            self.pending = Vec::new();
        } else if self.pending.capacity() > 2 * self.pending.len() + PENDING_SLACK {
            self.pending.shrink_to(2 * self.pending.len());
        }
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
    /// Of those, half-open streams forgotten to make room for a new one.
    pub half_open_evicted: u64,
    /// Segments read without stream state because the table was full.
    pub untracked: u64,
    /// Times a stream dropped its pending bytes because a bound was reached.
    pub over_budget: u64,
    /// Most segments one direction held out of order at once.
    pub queue_peak_segments: u64,
    /// Most bytes one direction held out of order at once.
    pub queue_peak_bytes: u64,
}

/// Bytes the receivers acknowledged that the capture never held: segments sent and
/// lost to the capture (dropped by the capturing host, or missed by the SPAN).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unseen {
    /// Stream directions with such bytes.
    pub streams: u64,
    /// The bytes.
    pub bytes: u64,
}

/// All streams followed.
#[derive(Debug, Default)]
pub struct Streams {
    // A table of its own hashing: a segment's stream is looked up by a hash computed
    // once, for the lookup, the known-stream test and the half-open eviction.
    map: HashTable<(FlowKey, Stream)>,
    hasher: foldhash::fast::RandomState,
    limits: StreamLimits,
    /// Pending and held bytes over all streams.
    pending_total: usize,
    /// No idle sweep before this capture time: a full table is swept at most once a
    /// second, not once per segment.
    next_sweep_ns: i64,
    /// Half-open streams, oldest first, with their serials (stale entries, for
    /// streams since given bytes or gone, are skipped or compacted away).
    half_open: VecDeque<(FlowKey, u64)>,
    serials: u64,
    /// Segments held out of order over all streams (each costs a [`Held`] besides
    /// its bytes, so their number is bounded too: [`Streams::max_held_segments`]).
    held_segments: usize,
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
            map: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            limits,
            pending_total: 0,
            next_sweep_ns: i64::MIN,
            half_open: VecDeque::new(),
            serials: 0,
            held_segments: 0,
            stats: StreamStats::default(),
        }
    }

    /// Segments held out of order over all streams at most: one per KiB of the
    /// pending budget (real reordering holds full-size segments, so the byte budget
    /// binds first), and at least one stream's worth.
    pub fn max_held_segments(limits: &StreamLimits) -> usize {
        (limits.max_pending_total / 1024).max(limits.max_ooo_segments)
    }

    /// The heap the streams can take at most with `limits` (a full table, the
    /// half-open queue at its bound, every budget spent, buffers at twice their
    /// contents), as requested from the allocator.
    pub fn max_heap_bytes(limits: &StreamLimits) -> usize {
        use std::mem::size_of;
        let buckets = (limits.max_streams * 8 / 7).next_power_of_two();
        buckets * (size_of::<(FlowKey, Stream)>() + 1)
            + 4 * limits.max_streams * size_of::<(FlowKey, u64)>()
            + 2 * limits.max_pending_total
            + limits.max_streams * (PENDING_SLACK + 4 * size_of::<Held>())
            + 2 * Self::max_held_segments(limits) * size_of::<Held>()
    }

    fn hash(&self, key: &FlowKey) -> u64 {
        self.hasher.hash_one(key)
    }

    fn get(&self, key: &FlowKey) -> Option<&Stream> {
        Self::find(&self.map, self.hash(key), key)
    }

    /// The stream `key` in `map`, by its `hash` (for callers that hold the hash, or
    /// only the table while `self` is borrowed apart).
    fn find<'m>(
        map: &'m HashTable<(FlowKey, Stream)>,
        hash: u64,
        key: &FlowKey,
    ) -> Option<&'m Stream> {
        map.find(hash, |(k, _)| k == key).map(|(_, s)| s)
    }

    /// The segment of `key` whose last captured byte came just before `end` was cut
    /// short by the snap length: `missing` more bytes were sent and never captured.
    /// When the stream stands at `end` with nothing held beyond, the hole is taken at
    /// once (the message it cut is dropped, the stream resumes at the next PDU start)
    /// and this returns true; otherwise the hole shows when later bytes come.
    pub fn cut_short(&mut self, key: &FlowKey, end: u32, missing: u32) -> bool {
        let hash = self.hash(key);
        let Some((_, stream)) = self.map.find_mut(hash, |(k, _)| k == key) else {
            return false;
        };
        if stream.next_seq != end || !stream.held.is_empty() || missing == 0 {
            return false;
        }
        self.pending_total = self.pending_total.saturating_sub(stream.pending.len());
        stream.lose_alignment();
        stream.next_seq = end.wrapping_add(missing);
        true
    }

    /// The bytes acknowledged beyond what each stream delivered or holds, over the
    /// streams still followed (asked at the end, when every segment that came is in:
    /// each stream's reverse is looked up once here, not at every segment).
    pub fn unseen(&self) -> Unseen {
        let mut u = Unseen::default();
        for (key, s) in self.map.iter() {
            let reverse = FlowKey {
                src: key.dst,
                dst: key.src,
                src_port: key.dst_port,
                dst_port: key.src_port,
            };
            let acked = Self::find(&self.map, self.hash(&reverse), &reverse).and_then(|r| r.acks);
            let Some(acked) = acked else { continue };
            // Within a window's reach: an ACK far ahead is a stream joined mid-way or
            // a sequence space the stream never learnt, not bytes lost.
            let ahead = s.offset(acked) - s.held_bytes as i64;
            if (2..=1 << 20).contains(&ahead) {
                u.streams += 1;
                u.bytes += ahead as u64;
            }
        }
        u
    }

    /// Forget the oldest half-open stream; false when there is none.
    fn evict_half_open(&mut self) -> bool {
        while let Some((key, serial)) = self.half_open.pop_front() {
            if self
                .get(&key)
                .is_some_and(|s| s.serial == serial && s.half_open)
            {
                self.close(&key);
                self.stats.evicted += 1;
                self.stats.half_open_evicted += 1;
                return true;
            }
        }
        false
    }

    /// The bounds in force.
    pub fn limits(&self) -> StreamLimits {
        self.limits
    }

    /// Streams currently followed.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the stream `key` is followed.
    pub fn contains(&self, key: &FlowKey) -> bool {
        self.get(key).is_some()
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

        let hash = self.hash(&key);
        let known = Self::find(&self.map, hash, &key).is_some();
        if !known {
            let untracked = if seg.payload.is_empty() && !syn {
                // A bare ACK / FIN / RST of an unknown stream: nothing to follow.
                true
            } else {
                if self.map.len() >= self.limits.max_streams && ts_ns >= self.next_sweep_ns {
                    self.expire(ts_ns);
                    self.next_sweep_ns = ts_ns.saturating_add(1_000_000_000);
                }
                self.map.len() >= self.limits.max_streams && !self.evict_half_open()
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
        if !known && syn && seg.payload.is_empty() {
            self.serials += 1;
            self.half_open.push_back((key, self.serials));
            if self.half_open.len() > 2 * self.limits.max_streams {
                // Mostly stale (streams since given bytes, closed or swept): keep the
                // live ones, so the queue stays within twice the table.
                let Streams {
                    half_open,
                    map,
                    hasher,
                    ..
                } = self;
                half_open.retain(|(k, n)| {
                    Self::find(map, hasher.hash_one(k), k)
                        .is_some_and(|s| s.serial == *n && s.half_open)
                });
            }
        }
        let Streams {
            map,
            hasher,
            limits,
            pending_total,
            held_segments,
            stats,
            serials,
            ..
        } = self;
        let (_, stream) = map
            .entry(hash, |(k, _)| *k == key, |(k, _)| hasher.hash_one(k))
            .or_insert_with(|| {
                let stream = Stream {
                    next_seq: start,
                    last_ns: ts_ns,
                    aligned: syn,
                    half_open: syn && seg.payload.is_empty(),
                    serial: *serials,
                    ..Stream::default()
                };
                (key, stream)
            })
            .into_mut();
        stream.last_ns = ts_ns;
        if seg.flags.has(TcpFlags::ACK) {
            let further = stream
                .acks
                .is_none_or(|a| seg.ack.wrapping_sub(a) as i32 > 0);
            if further {
                stream.acks = Some(seg.ack);
            }
        }
        if !seg.payload.is_empty() {
            stream.half_open = false;
        }
        // A SYN starts the stream over, aligned, unless it is a late copy of the one
        // already seen (it falls just behind the bytes received since).
        let late_copy = (-(1 << 20)..0).contains(&stream.offset(start));
        if syn && known && !late_copy {
            *pending_total = pending_total.saturating_sub(stream.pending.len() + stream.held_bytes);
            *held_segments = held_segments.saturating_sub(stream.held.len());
            stream.lose_alignment();
            stream.held = Vec::new();
            stream.held_bytes = 0;
            stream.next_seq = start;
            stream.aligned = true;
        }

        let mut cur = Cursor {
            stream,
            pending_total,
            held_segments,
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
        let hash = self.hash(key);
        if let Ok(entry) = self.map.find_entry(hash, |(k, _)| k == key) {
            let ((_, s), _) = entry.remove();
            self.pending_total = self
                .pending_total
                .saturating_sub(s.pending.len() + s.held_bytes);
            self.held_segments = self.held_segments.saturating_sub(s.held.len());
        }
    }

    /// Pending and held bytes over all streams.
    pub fn pending_total(&self) -> usize {
        self.pending_total
    }

    /// Segments and bytes a stream holds out of order.
    #[cfg(test)]
    pub(crate) fn held(&self, key: &FlowKey) -> Option<(usize, usize)> {
        self.get(key).map(|s| (s.held.len(), s.held_bytes))
    }

    /// Forget the streams idle for longer than the limit.
    fn expire(&mut self, now_ns: i64) {
        let idle = self.limits.idle_ns;
        let before = self.map.len();
        let (mut freed, mut segments) = (0, 0);
        self.map.retain(|(_, s)| {
            let keep = now_ns.saturating_sub(s.last_ns) <= idle;
            if !keep {
                freed += s.pending.len() + s.held_bytes;
                segments += s.held.len();
            }
            keep
        });
        self.pending_total = self.pending_total.saturating_sub(freed);
        self.held_segments = self.held_segments.saturating_sub(segments);
        self.stats.evicted += (before - self.map.len()) as u64;
    }
}

/// One stream while a segment is placed in it: moves `next_seq` and hands bytes and
/// gaps to the caller in stream order.
struct Cursor<'x, F> {
    stream: &'x mut Stream,
    pending_total: &'x mut usize,
    held_segments: &'x mut usize,
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
        } else if self.stream.held.capacity() > 2 * self.stream.held.len() + 4 {
            // Nor keep room for many while holding few (held segments are counted
            // over all streams, their buffers must follow).
            let len = self.stream.held.len();
            self.stream.held.shrink_to(2 * len);
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
        *self.held_segments = self.held_segments.saturating_sub(1);
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
        let rest = held.get(first..).unwrap_or_default();
        let last = first + rest.partition_point(|h| rel(h.seq) < e);
        let replaced = held.get(first..last).unwrap_or_default();
        let replaced_bytes: usize = replaced.iter().map(|h| h.data.len()).sum();
        let oldest = replaced.iter().map(|h| h.ts_ns).fold(ts_ns, i64::min);
        let new_len = usize::try_from(e - s).unwrap_or(usize::MAX);
        let segments = held.len() - replaced.len() + 1;
        let bytes = self.stream.held_bytes.saturating_sub(replaced_bytes) + new_len;
        let total = self.pending_total.saturating_sub(replaced_bytes) + new_len;
        let all_segments = self.held_segments.saturating_sub(replaced.len()) + 1;
        if segments > limits.max_ooo_segments
            || bytes > limits.max_ooo_bytes
            || total > limits.max_pending_total
            || all_segments > Streams::max_held_segments(&limits)
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
        *self.held_segments = all_segments;
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
        assert_eq!(s.get(&key()).unwrap().held.capacity(), 0);
        put(&mut s, 302, TcpFlags::ACK, b"ok", 0);
        assert!(s.get(&key()).unwrap().held.capacity() > 0);
        put(&mut s, 300, TcpFlags::ACK, b"ok", 0);
        assert_eq!(
            s.get(&key()).unwrap().held.capacity(),
            0,
            "released once drained"
        );
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

    fn flow(port: u16) -> FlowKey {
        FlowKey {
            src_port: port,
            ..key()
        }
    }

    #[test]
    fn a_full_table_forgets_the_oldest_half_open_stream_never_one_with_bytes() {
        let mut s = Streams::new(StreamLimits {
            max_streams: 3,
            ..StreamLimits::default()
        });
        let syn = |s: &mut Streams, port, ts| {
            s.segment(flow(port), &seg(0, TcpFlags::SYN, b""), ts, |_| {});
        };
        // A stream carrying bytes, then two half-open ones.
        s.segment(flow(1), &seg(0, TcpFlags::SYN, b""), 0, |_| {});
        s.segment(flow(1), &seg(1, TcpFlags::ACK, b"data"), 1, |_| {});
        syn(&mut s, 2, 2);
        syn(&mut s, 3, 3);
        // Each new SYN pushes out the oldest half-open one, in order.
        syn(&mut s, 4, 4);
        assert!(s.contains(&flow(1)) && !s.contains(&flow(2)) && s.contains(&flow(3)));
        syn(&mut s, 5, 5);
        assert!(s.contains(&flow(1)) && !s.contains(&flow(3)) && s.contains(&flow(4)));
        assert_eq!((s.stats.evicted, s.stats.half_open_evicted), (2, 2));
        // A half-open stream that got its first bytes is safe from then on.
        s.segment(flow(4), &seg(1, TcpFlags::ACK, b"x"), 6, |_| {});
        syn(&mut s, 6, 7);
        assert!(s.contains(&flow(4)) && !s.contains(&flow(5)) && s.contains(&flow(6)));
        // Only streams with bytes and one half-open: it goes; then nothing can, and a
        // new stream's bytes are read without state.
        syn(&mut s, 7, 8);
        assert!(!s.contains(&flow(6)) && s.contains(&flow(7)));
        s.segment(flow(7), &seg(1, TcpFlags::ACK, b"y"), 9, |_| {});
        syn(&mut s, 8, 10);
        assert!(!s.contains(&flow(8)));
        let mut got = 0;
        s.segment(flow(9), &seg(5, TcpFlags::ACK, b"z"), 11, |_| got += 1);
        assert_eq!((got, s.stats.untracked), (1, 1));
        assert_eq!(s.len(), 3);
        assert_eq!(s.stats.half_open_evicted, 4);
    }

    #[test]
    fn the_half_open_queue_stays_within_twice_the_table() {
        let mut s = Streams::new(StreamLimits {
            max_streams: 8,
            ..StreamLimits::default()
        });
        // SYN then RST, a thousand times: each stream is gone at once; the queue of
        // their stale entries is compacted.
        for port in 0..1000u16 {
            s.segment(flow(port), &seg(0, TcpFlags::SYN, b""), 0, |_| {});
            s.segment(flow(port), &seg(1, TcpFlags::RST, b""), 0, |_| {});
            assert!(s.half_open.len() <= 2 * 8 + 1, "{}", s.half_open.len());
        }
        assert!(s.is_empty());
    }

    #[test]
    fn held_segments_are_bounded_over_all_streams() {
        let limits = StreamLimits {
            max_pending_total: 8 * 1024,
            max_ooo_segments: 4,
            ..StreamLimits::default()
        };
        assert_eq!(Streams::max_held_segments(&limits), 8);
        let mut s = Streams::new(limits);
        for port in 0..4u16 {
            s.segment(flow(port), &seg(0, TcpFlags::SYN, b""), 0, |_| {});
            // Three one-byte segments each beyond a hole: 12 wanted, 8 held at most.
            for k in 0..3u32 {
                s.segment(flow(port), &seg(10 + 2 * k, TcpFlags::ACK, b"x"), 1, |_| {});
            }
        }
        assert_eq!(s.held_segments, 8);
        let held: usize = (0..4)
            .filter_map(|p| s.get(&flow(p)))
            .map(|x| x.held.len())
            .sum();
        assert_eq!(held, 8);
        // Closing a stream gives its share back.
        s.close(&flow(0));
        assert_eq!(s.held_segments, 5);
    }

    #[test]
    fn a_stream_gives_back_its_buffer_once_the_pdu_is_parsed() {
        let mut st = Stream::default();
        st.pending.extend_from_slice(&[0u8; 60_000]);
        st.consume_pending(59_000);
        assert!(st.pending.capacity() <= 2 * 1000 + PENDING_SLACK);
        st.consume_pending(1000);
        assert_eq!(st.pending.capacity(), 0);
    }
}
