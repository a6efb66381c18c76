//! Capture sources: they turn a pcap / pcapng file (or stdin) into [`Frame`]s,
//! the first step of the pipeline. Files are read in pure Rust (pcap-parser over
//! a bounded buffer, or a mapped classic pcap), so no libpcap is needed. Every file
//! reader is a [`Source`], pulled a frame at a time, and [`merge::Merge`] merges any
//! mix of them by time. A frame only lives until its source moves on: everything
//! after this layer borrows it and must finish with it before the next frame is
//! read. Live interfaces ([`live`], with `--features live`) go through libpcap and
//! deliver the same frames.

mod file;
#[cfg(feature = "live")]
pub mod live;
pub mod mapped;
pub mod merge;
pub mod written;

pub use file::{files_under, from_reader, open, CaptureFile, MAX_RECORD};
pub use merge::{Input, Merge, Opened};

/// A capture read one frame at a time, pulled by its consumer: the mapped pcap
/// walker ([`mapped::Walker`]) and the streaming pcap / pcapng / stdin reader
/// ([`CaptureFile`]) are both one. The frame read last stays readable as the
/// source's head until it is asked for the next, so a merge can compare the heads
/// of several sources before it takes one.
pub trait Source {
    /// Read the next frame, which [`Source::head`] then gives; false at the end of
    /// the capture, or at damage (a warning in the stats, every frame before it
    /// delivered).
    ///
    /// # Errors
    /// Only an I/O error while reading.
    fn advance(&mut self) -> Result<bool, CaptureError>;

    /// The frame read last, numbered in its own file; `None` before the first
    /// [`Source::advance`] and after the last frame.
    fn head(&self) -> Option<Frame<'_>>;

    /// The head's capture time and its number in its own file, without its bytes:
    /// what a merge compares.
    fn head_key(&self) -> Option<(i64, u64)> {
        self.head().map(|f| (f.ts_ns, f.number))
    }

    /// Bytes of the input before the head (all of it once the source is done).
    fn position(&self) -> u64;

    /// What the reader met, once it is done (or stopped early).
    fn into_stats(self) -> CaptureStats;

    /// Read the next frame and give it: [`Source::advance`], then [`Source::head`].
    ///
    /// # Errors
    /// Only an I/O error while reading.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        Ok(if self.advance()? { self.head() } else { None })
    }
}

use std::fmt;
use std::path::PathBuf;

/// A link-layer type as numbered by tcpdump.org's LINKTYPE_ registry.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Linktype(pub u32);

impl Linktype {
    /// BSD loopback (4-byte address family in host order).
    pub const NULL: Self = Self(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: Self = Self(1);
    /// Raw IP on some BSDs (DLT_RAW = 12).
    pub const RAW_BSD: Self = Self(12);
    /// Raw IP on OpenBSD (DLT_RAW = 14).
    pub const RAW_OPENBSD: Self = Self(14);
    /// Raw IP, version from the first nibble.
    pub const RAW: Self = Self(101);
    /// Cisco HDLC (serial links; CDP travels there too).
    pub const C_HDLC: Self = Self(104);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: Self = Self(113);
    /// Raw IPv4.
    pub const IPV4: Self = Self(228);
    /// Raw IPv6.
    pub const IPV6: Self = Self(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: Self = Self(276);

    /// The registry name, for the link types bootscope decodes.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::NULL => "NULL",
            Self::ETHERNET => "ETHERNET",
            Self::RAW_BSD | Self::RAW_OPENBSD | Self::RAW => "RAW",
            Self::C_HDLC => "C_HDLC",
            Self::LINUX_SLL => "LINUX_SLL",
            Self::IPV4 => "IPV4",
            Self::IPV6 => "IPV6",
            Self::LINUX_SLL2 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl fmt::Debug for Linktype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "Linktype({})", self.0),
        }
    }
}

impl fmt::Display for Linktype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The latest capture time a reader delivers (2^62 ns, in 2116; a pcap timestamp
/// ends in 2106). A forged pcapng timestamp or offset beyond it, or before 1970, is
/// clamped, so no arithmetic on frame times can overflow.
pub const MAX_TS_NS: i64 = 1 << 62;

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Frame number, counted from 1 over the packet records of the file (as tshark counts);
    /// from a [`Merge`], along the merged stream (as `mergecap` numbers it).
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch (0 when the record has none),
    /// within `0..=`[`MAX_TS_NS`], so the difference of any two frames' times fits an
    /// `i64`.
    pub ts_ns: i64,
    /// Link type of the interface the packet was captured on.
    pub linktype: Linktype,
    /// The captured bytes (possibly cut at the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

/// A problem the reader met that does not stop it (or stopped it after everything
/// before the damage was delivered). Each one names the file and the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureWarning {
    /// The capture file ("-" for stdin).
    pub file: PathBuf,
    /// The last frame delivered before the problem (0: none yet).
    pub after_frame: u64,
    /// Byte offset in the file where the problem is.
    pub offset: u64,
    /// What happened.
    pub kind: WarningKind,
}

/// What a [`CaptureWarning`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// A link type bootscope does not decode: its frames are counted but not dissected.
    /// Reported once per link type.
    UnsupportedLinktype(Linktype),
    /// The file ends inside a record: the capture was cut short. Reading stopped there.
    TruncatedRecord,
    /// A record or block claims more bytes than bootscope will ever buffer. Reading stopped there.
    RecordTooLarge {
        /// The largest record accepted, in bytes.
        limit: usize,
    },
    /// A block or record that cannot be parsed. Reading stopped there.
    Corrupt(String),
    /// A pcapng packet names an interface no Interface Description Block described; it is skipped.
    UnknownInterface(u32),
    /// More interfaces than bootscope keeps; the extra ones are ignored.
    TooManyInterfaces(usize),
}

impl fmt::Display for CaptureWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let (after, offset) = (self.after_frame, self.offset);
        match &self.kind {
            WarningKind::UnsupportedLinktype(lt) => write!(
                f,
                "{file}: link type {lt} (from byte {offset}) is not decoded; its frames are \
                 counted but not dissected"
            ),
            WarningKind::TruncatedRecord => write!(
                f,
                "{file}: the file ends inside the record after frame {after} (byte {offset}): \
                 the capture was cut short; frames 1-{after} were read"
            ),
            WarningKind::RecordTooLarge { limit } => write!(
                f,
                "{file}: the record after frame {after} (byte {offset}) claims more than {limit} \
                 bytes: the file is damaged; frames 1-{after} were read"
            ),
            WarningKind::Corrupt(what) => write!(
                f,
                "{file}: unreadable data after frame {after} (byte {offset}): {what}; \
                 frames 1-{after} were read"
            ),
            WarningKind::UnknownInterface(id) => write!(
                f,
                "{file}: frame {}: refers to interface {id}, which no Interface Description \
                 Block describes; skipped",
                after
            ),
            WarningKind::TooManyInterfaces(n) => write!(
                f,
                "{file}: more than {n} interfaces described; the extra ones are ignored"
            ),
        }
    }
}

/// A failure that prevents reading a capture at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The capture file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file holds no bytes at all.
    #[error("{}: empty file, not a capture", file.display())]
    Empty {
        /// The capture file.
        file: PathBuf,
    },
    /// The first bytes are neither a pcap nor a pcapng header.
    #[error("{}: not a pcap or pcapng capture (first bytes {magic})", file.display())]
    NotACapture {
        /// The capture file.
        file: PathBuf,
        /// The first bytes, in hex.
        magic: String,
    },
}

/// What the reader saw, once it is done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packet records delivered as frames.
    pub frames: u64,
    /// Bytes of packet data delivered.
    pub bytes: u64,
    /// Problems met, each naming the file and frame (the first 100).
    pub warnings: Vec<CaptureWarning>,
    /// Warnings beyond those kept.
    pub suppressed_warnings: u64,
    /// Packets the capturing interface or OS dropped, as the file's own statistics
    /// say (pcapng `isb_ifdrop`, `isb_osdrop`, `epb_dropcount`; a live capture's
    /// kernel counters); `None` when nothing says.
    pub dropped: Option<u64>,
    /// The snap length the file's headers declare (the pcap header, each pcapng
    /// interface; the smallest when several do), or the one a live capture asked for.
    pub snaplen: Option<u32>,
}

/// Capture warnings kept; the rest are counted. A forged file could otherwise raise
/// one warning per block.
pub const MAX_WARNINGS: usize = 100;

impl CaptureStats {
    /// Keep a warning about `file`, after the frames read so far, at byte `offset`
    /// (counted instead past [`MAX_WARNINGS`]).
    pub fn warn(&mut self, file: &std::path::Path, offset: u64, kind: WarningKind) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.suppressed_warnings += 1;
            return;
        }
        self.warnings.push(CaptureWarning {
            file: file.to_owned(),
            after_frame: self.frames,
            offset,
            kind,
        });
    }

    /// Add the statistics of another file read into the same analysis (its warnings
    /// after these, each still naming its own file and frame).
    pub fn append(&mut self, other: CaptureStats) {
        if let Some(s) = other.snaplen {
            self.declare_snaplen(s);
        }
        if let Some(d) = other.dropped {
            self.dropped = Some(self.dropped.unwrap_or(0).saturating_add(d));
        }
        self.frames += other.frames;
        self.bytes += other.bytes;
        self.suppressed_warnings += other.suppressed_warnings;
        self.warnings.extend(other.warnings);
    }

    /// Note a snap length a header declares (0, "no limit" in some writers, is none).
    pub fn declare_snaplen(&mut self, snaplen: u32) {
        if snaplen > 0 {
            self.snaplen = Some(self.snaplen.map_or(snaplen, |s| s.min(snaplen)));
        }
    }

    /// True when reading stopped at damage before the end of the file.
    pub fn damaged(&self) -> bool {
        self.warnings.iter().any(|w| {
            matches!(
                w.kind,
                WarningKind::TruncatedRecord
                    | WarningKind::RecordTooLarge { .. }
                    | WarningKind::Corrupt(_)
            )
        })
    }
}
