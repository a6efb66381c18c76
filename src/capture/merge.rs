//! Several capture files read as one capture (two taps on a segment, or a capture
//! rotated by `tcpdump -C` / `-G`): a k-way merge of [`Source`]s by frame time, as
//! `mergecap` merges them. The earliest head goes first, ties to the earlier file,
//! and frames are numbered along the merged stream. Any mix of sources merges (a
//! mapped pcap, a streamed pcap or pcapng, stdin); the merge is itself a [`Source`].

use std::path::Path;

use super::mapped::{self, MappedPcap, Walker};
use super::{CaptureError, CaptureFile, CaptureStats, Frame, Source};

/// The time-ordered merge of sources given in file order.
pub struct Merge<S> {
    sources: Vec<S>,
    /// The source whose head is the merge's head.
    current: Option<usize>,
    /// Per source, its own number of the last frame it gave the merge: a pcapng
    /// packet that was counted but not delivered (an unknown interface) keeps its
    /// number in the merged stream, as it does in its file.
    taken: Vec<u64>,
    /// The head's number in the merged stream.
    number: u64,
}

impl<S: Source> Merge<S> {
    /// Merge `sources`, given in file order (the order that breaks ties); the first
    /// frame of each is read.
    ///
    /// # Errors
    /// An I/O error while reading a source's first frame.
    pub fn new(mut sources: Vec<S>) -> Result<Self, CaptureError> {
        for s in &mut sources {
            s.advance()?;
        }
        Ok(Merge {
            taken: vec![0; sources.len()],
            sources,
            current: None,
            number: 0,
        })
    }

    /// The earliest head (ties: the earlier file): its time and own number, and
    /// its source.
    fn earliest(&self) -> Option<((i64, u64), usize)> {
        if let [one] = self.sources.as_slice() {
            return one.head_key().map(|k| (k, 0));
        }
        self.sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.head_key().map(|k| (k, i)))
            .min_by_key(|&((ts, _), i)| (ts, i))
    }
}

impl<S: Source> Source for Merge<S> {
    #[inline]
    fn advance(&mut self) -> Result<bool, CaptureError> {
        if let Some(s) = self.current.and_then(|i| self.sources.get_mut(i)) {
            s.advance()?;
        }
        let next = self.earliest();
        self.current = next.map(|(_, i)| i);
        let Some(((_, own), i)) = next else {
            return Ok(false);
        };
        if let Some(taken) = self.taken.get_mut(i) {
            self.number += own.saturating_sub(*taken).max(1);
            *taken = own;
        }
        Ok(true)
    }

    fn head(&self) -> Option<Frame<'_>> {
        let head = self.sources.get(self.current?)?.head()?;
        Some(Frame {
            number: self.number,
            ..head
        })
    }

    fn head_key(&self) -> Option<(i64, u64)> {
        let (ts, _) = self.sources.get(self.current?)?.head_key()?;
        Some((ts, self.number))
    }

    fn position(&self) -> u64 {
        self.sources.iter().map(Source::position).sum()
    }

    /// Every source's statistics, in file order.
    fn into_stats(self) -> CaptureStats {
        let mut all = CaptureStats::default();
        for s in self.sources {
            all.append(s.into_stats());
        }
        all
    }
}

impl<'m> Merge<Walker<'m>> {
    /// The head, borrowed from its file's map rather than from the merge (see
    /// [`Walker::head_frame`]).
    pub fn head_frame(&self) -> Option<Frame<'m>> {
        let head = self.sources.get(self.current?)?.head_frame()?;
        Some(Frame {
            number: self.number,
            ..head
        })
    }
}

/// A capture file as the merge reads it: mapped when it is a regular classic pcap
/// file (see [`mapped`]), streamed otherwise.
pub enum Input<'m> {
    /// A mapped classic pcap.
    Mapped(Walker<'m>),
    /// pcapng, stdin, or a pcap that could not be mapped.
    Streamed(CaptureFile),
}

impl Source for Input<'_> {
    fn advance(&mut self) -> Result<bool, CaptureError> {
        match self {
            Input::Mapped(w) => w.advance(),
            Input::Streamed(f) => f.advance(),
        }
    }

    fn head(&self) -> Option<Frame<'_>> {
        match self {
            Input::Mapped(w) => w.head(),
            Input::Streamed(f) => f.head(),
        }
    }

    fn head_key(&self) -> Option<(i64, u64)> {
        match self {
            Input::Mapped(w) => w.head_key(),
            Input::Streamed(f) => f.head_key(),
        }
    }

    fn position(&self) -> u64 {
        match self {
            Input::Mapped(w) => w.position(),
            Input::Streamed(f) => f.position(),
        }
    }

    fn into_stats(self) -> CaptureStats {
        match self {
            Input::Mapped(w) => w.into_stats(),
            Input::Streamed(f) => f.into_stats(),
        }
    }
}

/// Capture files opened for a merge, in file order: each one mapped when it is a
/// regular classic pcap file (see [`mapped`]), else opened for streaming.
pub struct Opened {
    /// The mapped files, in file order.
    pub maps: Vec<MappedPcap>,
    /// Per file, in file order: its stream, or `None` for the next of `maps`.
    pub streams: Vec<Option<CaptureFile>>,
}

impl Opened {
    /// Open `paths` ("-" is stdin) in order.
    ///
    /// # Errors
    /// A file that cannot be mapped cannot be opened either, or is not a capture: the
    /// first such file, by its name.
    pub fn open(paths: &[impl AsRef<Path>]) -> Result<Self, CaptureError> {
        let mut opened = Opened {
            maps: Vec::new(),
            streams: Vec::with_capacity(paths.len()),
        };
        for p in paths {
            let p = p.as_ref();
            let map = if p.as_os_str() == "-" {
                None
            } else {
                mapped::map(p)
            };
            match map {
                Some(m) => {
                    opened.maps.push(m);
                    opened.streams.push(None);
                }
                None => opened.streams.push(Some(super::open(p)?)),
            }
        }
        Ok(opened)
    }

    /// Whether every file is mapped.
    pub fn all_mapped(&self) -> bool {
        self.streams.iter().all(Option::is_none)
    }
}

/// The inputs of a merge, in file order: `streams` as [`Opened`] holds them, each
/// `None` the walk of the next of `maps`.
pub fn inputs(maps: &[MappedPcap], streams: Vec<Option<CaptureFile>>) -> Vec<Input<'_>> {
    let mut walks = maps.iter().map(MappedPcap::walk);
    streams
        .into_iter()
        .filter_map(|s| match s {
            Some(s) => Some(Input::Streamed(s)),
            None => walks.next().map(Input::Mapped),
        })
        .collect()
}
