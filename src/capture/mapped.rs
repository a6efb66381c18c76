//! Classic pcap files, memory-mapped: records are walked in place (a 16-byte header
//! and the captured bytes), so no byte is copied before the link layer looks at it.
//! This is the fast path for big files; pcapng, stdin and pipes go through the
//! streaming reader ([`super::file`]). Both are a [`Source`] and deliver the same
//! frames and warnings for the same bytes (a test compares them on every bundled and
//! damaged capture). A walk's frames borrow the map, not the walk, so they may
//! outlive the walk's next step ([`Walker::head_frame`]).
//!
//! Like every reader of mapped files (ripgrep's among them), it assumes the file is
//! not truncated by another process while it is read.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::file::MAX_RECORD;
use super::{CaptureError, CaptureStats, Frame, Linktype, Source, WarningKind};

/// Bytes of the classic pcap file header.
const FILE_HEADER: usize = 24;
/// Bytes of a record header.
const RECORD_HEADER: usize = 16;

/// A mapped classic pcap file.
pub struct MappedPcap {
    path: PathBuf,
    map: Mmap,
    big_endian: bool,
    nanos: bool,
    linktype: Linktype,
}

/// Map `path` when it is a regular, non-empty classic pcap file; `None` otherwise
/// (the caller then reads it as a stream, which also gives the errors).
pub fn map(path: &Path) -> Option<MappedPcap> {
    let file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; see the module docs
    // for the assumption that the file is not truncated meanwhile.
    let map = unsafe { Mmap::map(&file) }.ok()?;
    let head = map.get(..FILE_HEADER)?;
    let (big_endian, nanos) = match head.first_chunk::<4>()? {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => return None,
    };
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    let network = u32_at(head, 20, big_endian);
    Some(MappedPcap {
        path: path.to_owned(),
        // The upper bits of the field carry FCS flags (pcap spec, LINKTYPE_ field).
        linktype: Linktype(network & 0xffff),
        map,
        big_endian,
        nanos,
    })
}

/// The 32-bit word at `at` (0 past the end: callers pass headers whose length
/// they checked, so that never happens).
fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let Some(&w) = b.get(at..).and_then(<[u8]>::first_chunk::<4>) else {
        return 0;
    };
    if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

/// One record's place in the map, found by [`Walker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Frame number (from 1).
    pub number: u64,
    /// Capture time, ns since the epoch.
    pub ts_ns: i64,
    /// Offset of the captured bytes in the file.
    pub offset: usize,
    /// Captured length.
    pub caplen: u32,
    /// Length on the wire.
    pub orig_len: u32,
}

/// Walks the records of a mapped file, in order; damage ends the walk with a warning.
pub struct Walker<'m> {
    file: &'m MappedPcap,
    /// The record read last (see [`Source::head`]).
    head: Option<Record>,
    at: usize,
    /// Bytes of the file asked for so far ([`crate::prefetch::file_ahead`]).
    asked: usize,
    number: u64,
    /// What the walk met.
    pub stats: CaptureStats,
}

impl MappedPcap {
    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The frame a record describes.
    pub fn frame(&self, r: &Record) -> Frame<'_> {
        let end = r.offset + r.caplen as usize;
        Frame {
            number: r.number,
            ts_ns: r.ts_ns,
            linktype: self.linktype,
            data: self.map.get(r.offset..end).unwrap_or_default(),
            orig_len: r.orig_len,
        }
    }

    /// A walk from the first record.
    pub fn walk(&self) -> Walker<'_> {
        let mut stats = CaptureStats::default();
        stats.declare_snaplen(u32_at(
            self.map.get(..FILE_HEADER).unwrap_or_default(),
            16,
            self.big_endian,
        ));
        if self.linktype.name().is_none() {
            let kind = WarningKind::UnsupportedLinktype(self.linktype);
            stats.warn(&self.path, 0, kind);
        }
        Walker {
            file: self,
            head: None,
            at: FILE_HEADER,
            asked: FILE_HEADER,
            number: 0,
            stats,
        }
    }

    /// Every frame, in order, to `on_frame` (the same contract as the streaming reader).
    pub fn for_each_frame<F>(&self, mut on_frame: F) -> CaptureStats
    where
        F: FnMut(&Frame<'_>) -> std::ops::ControlFlow<()>,
    {
        let mut w = self.walk();
        while let Some(r) = w.next_record() {
            if on_frame(&self.frame(&r)).is_break() {
                break;
            }
        }
        w.stats
    }
}

impl<'m> Walker<'m> {
    /// The head frame, borrowed from the map rather than from the walk: a batch of
    /// them may be handed to another thread while the walk goes on.
    pub fn head_frame(&self) -> Option<Frame<'m>> {
        self.head.map(|r| self.file.frame(&r))
    }

    fn warn(&mut self, kind: WarningKind) {
        self.stats.warn(&self.file.path, self.at as u64, kind);
    }

    /// The next record, or `None` at the end of the file or at damage (warned).
    fn next_record(&mut self) -> Option<Record> {
        let bytes = self.file.bytes();
        let rest = bytes.len().saturating_sub(self.at);
        if rest == 0 {
            return None;
        }
        crate::prefetch::file_ahead(bytes, &mut self.asked, self.at);
        let Some(h) = bytes.get(self.at..self.at + RECORD_HEADER) else {
            self.warn(WarningKind::TruncatedRecord);
            self.at = bytes.len();
            return None;
        };
        let be = self.file.big_endian;
        let (sec, frac) = (u32_at(h, 0, be), u32_at(h, 4, be));
        let (caplen, orig_len) = (u32_at(h, 8, be), u32_at(h, 12, be));
        // As the streaming reader words it: a record cut by the end of the file is
        // truncated, unless the file still held more than any record may take (then,
        // as a record that could never fit its largest buffer, it is too large).
        let data_at = self.at + RECORD_HEADER;
        let end = data_at.saturating_add(caplen as usize);
        let too_large = RECORD_HEADER + caplen as usize > MAX_RECORD;
        if end > bytes.len() || too_large {
            let kind = if too_large && rest >= MAX_RECORD {
                WarningKind::RecordTooLarge { limit: MAX_RECORD }
            } else if end > bytes.len() {
                WarningKind::TruncatedRecord
            } else {
                WarningKind::RecordTooLarge { limit: MAX_RECORD }
            };
            self.warn(kind);
            self.at = bytes.len();
            return None;
        }
        self.at = end;
        self.number += 1;
        self.stats.frames += 1;
        self.stats.bytes += u64::from(caplen);
        let frac_ns = i64::from(frac) * if self.file.nanos { 1 } else { 1000 };
        Some(Record {
            number: self.number,
            ts_ns: i64::from(sec) * 1_000_000_000 + frac_ns,
            offset: data_at,
            caplen,
            orig_len,
        })
    }
}

impl Source for Walker<'_> {
    #[inline]
    fn advance(&mut self) -> Result<bool, CaptureError> {
        self.head = self.next_record();
        Ok(self.head.is_some())
    }

    fn head(&self) -> Option<Frame<'_>> {
        self.head_frame()
    }

    #[inline]
    fn head_key(&self) -> Option<(i64, u64)> {
        self.head.map(|r| (r.ts_ns, r.number))
    }

    fn position(&self) -> u64 {
        self.head.map_or(self.at, |r| r.offset) as u64
    }

    fn into_stats(self) -> CaptureStats {
        self.stats
    }
}
