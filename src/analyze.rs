//! `bootscope analyze`: one streaming pass over a capture file through the
//! [`Pipeline`], and the report at the end. A live session runs the same pipeline;
//! only the frame source differs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rules::{LoadError, RuleSet};

use crate::capture::mapped::{self, MappedPcap, Record, Walker};
use crate::capture::{self, CaptureError, CaptureStats, Frame};
use crate::dispatch::{self, Ahead, Message, Sorted};
use crate::engine::{facts, EngineLimits};
use crate::link::Packet;
use crate::pipeline::Pipeline;
use crate::prefetch;
use crate::pretouch::Pretouch;
use crate::reassembly::StreamLimits;
use crate::report::Report;
use parsers::DissectError;

/// Failures of an analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The rules could not be loaded.
    #[error("loading the rules")]
    Rules(#[from] LoadError),
}

/// Load the rules: the builtin set, or a user's directory (a file missing from it
/// falls back to the builtin one).
///
/// # Errors
/// A rule file cannot be read or has an error (named with its file and line).
pub fn load_rules(dir: Option<&Path>) -> Result<RuleSet, LoadError> {
    let vocab = facts::vocabulary();
    let events = facts::event_type_names();
    match dir {
        Some(d) => RuleSet::load_dir(d, &vocab, &events),
        None => RuleSet::builtin(&vocab, &events),
    }
}

/// Options of an analysis.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A rules directory instead of the builtin rules.
    pub rules: Option<PathBuf>,
    /// Engine bounds.
    pub limits: EngineLimits,
    /// TCP stream bounds.
    pub streams: StreamLimits,
    /// Threads: 1 does everything on one; 0 uses every core. The report is the same.
    pub threads: usize,
    /// Heap bytes faulted in ahead on an idle thread while mapped files are read (0:
    /// none); see [`crate::pretouch`].
    pub pretouch: usize,
}

/// Analyze the capture at `path` (`-` for stdin).
///
/// # Errors
/// The capture cannot be opened or read, or the rules cannot be loaded.
pub fn run(path: &Path, opts: &Options) -> Result<Report, AnalyzeError> {
    let rules = load_rules(opts.rules.as_deref())?;
    run_files(&[path.to_owned()], &rules, opts, &mut |_, _| {})
}

/// [`run`] with rules already loaded.
///
/// # Errors
/// The capture cannot be opened or read.
pub fn run_with(path: &Path, rules: &RuleSet, opts: &Options) -> Result<Report, AnalyzeError> {
    run_files(&[path.to_owned()], rules, opts, &mut |_, _| {})
}

/// The capture files named by `paths`: files as given, directories by their files
/// (rotated captures, `tcpdump -C` / `-G`), sorted by name.
///
/// # Errors
/// A directory cannot be listed.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, AnalyzeError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let io = |source| {
                AnalyzeError::Capture(CaptureError::Io {
                    file: p.clone(),
                    source,
                })
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(io)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Frames worth dissecting handed from the walking thread to the analysing one: a
/// batch (about 200 bytes a frame) stays in the cache the two threads share.
const BATCH: usize = 512;
/// Records one batch covers at most, so a stretch of bulk traffic still moves the
/// progress bar and the engine's clock.
const BATCH_RECORDS: usize = 16 * BATCH;

/// The times of frames sorted out as not worth dissecting: only the capture's
/// extent needs them (see [`Pipeline::skipped`]).
#[derive(Clone, Copy, Default)]
struct Skipped(Option<(i64, i64)>);

impl Skipped {
    fn add(&mut self, ts_ns: i64) {
        self.0 = Some(match self.0 {
            None => (ts_ns, ts_ns),
            Some((lo, hi)) => (lo.min(ts_ns), hi.max(ts_ns)),
        });
    }

    /// Hand the times over, and start again.
    fn apply(&mut self, pipeline: &mut Pipeline<'_>) {
        if let Some((lo, hi)) = self.0.take() {
            pipeline.skipped(lo, hi);
        }
    }
}

/// A frame worth dissecting, sliced on the walking thread (`None`: the link layer
/// could not slice it), with the times of the frames skipped just before it.
struct Desc<'m> {
    skipped_before: Skipped,
    frame: Frame<'m>,
    packet: Option<Packet<'m>>,
    /// Whether its stateless message, dissected on the walking thread too, is the
    /// next one in the batch's `ahead`.
    has_ahead: bool,
}

/// What one turn of the walker yields.
#[derive(Default)]
struct Batch<'m> {
    frames: Vec<Desc<'m>>,
    /// The messages dissected ahead, in frame order: kept apart, as most frames have
    /// none and a message takes more room than the rest of a frame's description.
    ahead: Vec<Result<Message<'m>, DissectError>>,
    /// Frames skipped after the last one in `frames`.
    skipped_after: Skipped,
    /// Bytes of the files behind the records delivered so far.
    done: u64,
}

/// Analyze several capture files as one capture, merged by time (`paths` as
/// [`expand`] gives them), calling `progress(bytes done, bytes in all)` now and then.
/// Frames are numbered along the merged stream, as `mergecap` would number them.
///
/// Classic pcap files are mapped and merged record by record; with more than one
/// thread, one walks and sorts the records (the bulk is dropped there) while the
/// other dissects and judges. Other inputs (pcapng, stdin) are read one after the
/// other, in the order given.
///
/// # Errors
/// A capture cannot be opened or read.
pub fn run_files(
    paths: &[PathBuf],
    rules: &RuleSet,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, AnalyzeError> {
    let source = match paths {
        [one] => one.display().to_string(),
        _ => format!("the {} files merged", paths.len()),
    };
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut pipeline = Pipeline::new(source, rules, opts.limits, opts.streams);
    let mapped: Option<Vec<MappedPcap>> = if paths.iter().any(|p| p.as_os_str() == "-") {
        None
    } else {
        paths.iter().map(|p| mapped::map(p)).collect()
    };
    let stats = match mapped {
        Some(files) => run_mapped(&files, &mut pipeline, opts, progress),
        None => {
            let mut all = CaptureStats::default();
            let mut number = 0u64;
            for p in paths {
                let file = capture::open(p)?;
                let st = file.for_each_frame(|frame| {
                    number += 1;
                    let f = Frame { number, ..*frame };
                    pipeline.frame(&f);
                    ControlFlow::Continue(())
                })?;
                merge_stats(&mut all, st);
            }
            all
        }
    };
    Ok(pipeline.finish(None, &stats, names))
}

fn merge_stats(all: &mut CaptureStats, st: CaptureStats) {
    all.frames += st.frames;
    all.bytes += st.bytes;
    all.suppressed_warnings += st.suppressed_warnings;
    all.warnings.extend(st.warnings);
}

/// The mapped files, merged by time.
fn run_mapped(
    files: &[MappedPcap],
    pipeline: &mut Pipeline<'_>,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> CaptureStats {
    let total: u64 = files.iter().map(|f| f.bytes().len() as u64).sum();
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    };
    let mut consume = |batch: &mut Batch<'_>| {
        // The batch was written on the walker's core: its descriptions and messages
        // are fetched ahead too, as are the frames' bytes.
        let mut ahead = batch.ahead.drain(..);
        for i in 0..batch.frames.len() {
            if let Some(later) = batch.frames.get(i + PREFETCH_DISTANCE) {
                prefetch::bytes(later.frame.data);
                if let Some(p) = &later.packet {
                    pipeline.prefetch(p);
                }
            }
            if let Some(later) = batch.frames.get(i + 2 * PREFETCH_DISTANCE) {
                prefetch::value(std::ptr::from_ref(later));
            }
            if let Some(later) = ahead.as_slice().get(PREFETCH_DISTANCE) {
                prefetch::value(std::ptr::from_ref(later));
            }
            let Some(d) = batch.frames.get_mut(i) else {
                break;
            };
            d.skipped_before.apply(pipeline);
            let message: Ahead<'_> = if d.has_ahead { ahead.next() } else { None };
            pipeline.sorted(&d.frame, d.packet.take(), message);
        }
        batch.skipped_after.apply(pipeline);
        progress(batch.done, total);
    };
    // Where this thread's blocks will come from, taken here: the pages are faulted
    // in once the walker runs (at once when this thread walks too).
    let pretouch = (opts.pretouch > 0).then(|| Pretouch::here(opts.pretouch));
    if threads <= 1 {
        if let Some(p) = pretouch {
            p.start();
        }
        let mut merge = Merge::new(files);
        let mut batch = Batch::default();
        while merge.fill(&mut batch) {
            consume(&mut batch);
        }
        return merge.finish();
    }
    // Two stages: the walker maps, merges, slices and sorts out the bulk; this thread
    // dissects and judges. Batches go round between them, so nothing is allocated per
    // record.
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch<'_>>(8);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch<'_>>();
    std::thread::scope(|s| {
        let walker = s.spawn(move || {
            if let Some(p) = pretouch {
                p.start();
            }
            let mut merge = Merge::new(files);
            loop {
                let mut batch = empty_rx.try_recv().unwrap_or_default();
                if !merge.fill(&mut batch) || full_tx.send(batch).is_err() {
                    break;
                }
            }
            merge.finish()
        });
        for mut batch in full_rx {
            consume(&mut batch);
            let _ = empty_tx.send(batch);
        }
        walker.join().unwrap_or_default()
    })
}

/// How many frames ahead of the one being judged the analysing thread asks for a
/// frame's bytes and its devices' state: about the time one frame takes to judge
/// covers a fetch from memory or from the other core's cache.
const PREFETCH_DISTANCE: usize = 4;

/// The k-way merge of mapped files by record time (ties: the earlier file first).
struct Merge<'m> {
    files: &'m [MappedPcap],
    walkers: Vec<Walker<'m>>,
    heads: Vec<Option<Record>>,
    number: u64,
}

impl<'m> Merge<'m> {
    fn new(files: &'m [MappedPcap]) -> Self {
        let mut walkers: Vec<Walker<'m>> = files.iter().map(MappedPcap::walk).collect();
        let heads = walkers.iter_mut().map(Walker::next_record).collect();
        Merge {
            files,
            walkers,
            heads,
            number: 0,
        }
    }

    /// Refill `batch` (cleared first) with the next frames worth dissecting, sliced;
    /// false when no record is left.
    fn fill<'b>(&mut self, batch: &mut Batch<'b>) -> bool
    where
        'm: 'b,
    {
        batch.frames.clear();
        batch.frames.reserve(BATCH);
        batch.ahead.clear();
        let mut skipped = Skipped::default();
        let mut records = 0;
        while batch.frames.len() < BATCH && records < BATCH_RECORDS {
            let i = if self.heads.len() == 1 {
                0
            } else {
                let next = self
                    .heads
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| h.map(|r| (r.ts_ns, i)))
                    .min();
                let Some((_, i)) = next else { break };
                i
            };
            let Some(mut record) = self.heads[i].take() else {
                break;
            };
            self.heads[i] = self.walkers[i].next_record();
            self.number += 1;
            records += 1;
            record.number = self.number;
            let frame = self.files[i].frame(&record);
            let packet = match dispatch::sort(&frame) {
                Sorted::Bulk => {
                    skipped.add(frame.ts_ns);
                    continue;
                }
                Sorted::Dissect(packet) => packet,
            };
            let ahead = packet.as_ref().and_then(dispatch::dissect_ahead);
            batch.frames.push(Desc {
                skipped_before: std::mem::take(&mut skipped),
                frame,
                packet,
                has_ahead: ahead.is_some(),
            });
            batch.ahead.extend(ahead);
        }
        batch.skipped_after = skipped;
        batch.done = self
            .heads
            .iter()
            .zip(self.files)
            .map(|(h, f)| h.map_or(f.bytes().len(), |r| r.offset) as u64)
            .sum();
        records > 0
    }

    fn finish(self) -> CaptureStats {
        let mut all = CaptureStats::default();
        for w in self.walkers {
            merge_stats(&mut all, w.stats);
        }
        all
    }
}
