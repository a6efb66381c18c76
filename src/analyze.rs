//! `bootscope analyze`: one streaming pass over capture files, merged by time
//! ([`Merge`]), through the [`Pipeline`], and the report at the end. A live
//! session runs the same pipeline; only the frame source differs.

use std::ops::Range;
use std::path::{Path, PathBuf};

use rules::{LoadError, RuleSet};

use crate::capture::mapped::{MappedPcap, Walker};
use crate::capture::merge;
use crate::capture::{CaptureError, CaptureStats, Frame, Input, Merge, Opened, Source};
use crate::dispatch::{self, Again, Dispatcher, Observed, Observer, Reread, Sorted};
use crate::engine::{facts, EngineLimits};
use crate::link::Packet;
use crate::pipeline::{Judge, Pipeline};
use crate::prefetch;
use crate::reassembly::StreamLimits;
use crate::report::Report;

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
/// extent needs them (see [`Judge::skipped`]).
#[derive(Clone, Copy, Default)]
struct Skipped(Option<(i64, i64)>);

impl Skipped {
    fn add(&mut self, ts_ns: i64) {
        self.0 = Some(match self.0 {
            None => (ts_ns, ts_ns),
            Some((lo, hi)) => (lo.min(ts_ns), hi.max(ts_ns)),
        });
    }

    /// Hand the times to the judge.
    fn judge(&self, judge: &mut Judge<'_>) {
        if let Some((lo, hi)) = self.0 {
            judge.skipped(lo, hi);
        }
    }
}

/// A frame worth dissecting, sliced and dissected on the walking thread (`None`: the
/// link layer could not slice it), with the times of the frames skipped just before it
/// and how many of the batch's [`Handed`] are its.
struct Desc<'m> {
    skipped_before: Skipped,
    frame: Frame<'m>,
    packet: Option<Packet<'m>>,
    seen: usize,
}

/// What one turn of the walker yields.
#[derive(Default)]
struct Batch<'m> {
    frames: Vec<Desc<'m>>,
    /// What the walker's dispatcher saw in the frames, in order.
    seen: Vec<Handed<'m>>,
    /// The bytes of what it read from its streams' buffers (see [`Handed`]).
    held: Vec<u8>,
    /// Frames skipped after the last one in `frames`.
    skipped_after: Skipped,
    /// Bytes of the files behind the records delivered so far.
    done: u64,
}

/// One observation of the walker's dispatcher, for the judging thread. What it read
/// from a frame borrows the mapped file as it is; what it read from a stream's buffer
/// (a message split over segments) is copied into the batch and read again there.
enum Handed<'m> {
    Seen(Observed<'m>),
    Message { how: Reread, at: Range<usize> },
    HttpBody { at: Range<usize>, left: u64 },
}

impl<'m> Observer<'m> for Batch<'m> {
    fn framed(&mut self, _: &Packet<'m>, obs: Observed<'m>) {
        self.seen.push(Handed::Seen(obs));
    }

    fn held(&mut self, _: &Packet<'m>, obs: Observed<'_>, again: Option<Again<'_>>) {
        let held = &mut self.held;
        let mut copy = |bytes: &[u8]| {
            let from = held.len();
            held.extend_from_slice(bytes);
            from..held.len()
        };
        let handed = match obs {
            Observed::Message(_) => match again {
                Some(a) => Handed::Message {
                    how: a.how,
                    at: copy(a.bytes),
                },
                None => {
                    debug_assert!(false, "a held message without its bytes");
                    return;
                }
            },
            Observed::HttpBody { bytes, left } => Handed::HttpBody {
                at: copy(bytes),
                left,
            },
            Observed::Malformed(e) => Handed::Seen(Observed::Malformed(e)),
            Observed::Tcp(c) => Handed::Seen(Observed::Tcp(c)),
            Observed::Encrypted { flow, len } => Handed::Seen(Observed::Encrypted { flow, len }),
            Observed::StreamGap { flow, missing, cut } => {
                Handed::Seen(Observed::StreamGap { flow, missing, cut })
            }
        };
        self.seen.push(handed);
    }
}

/// Analyze several capture files as one capture, merged by time (`paths` as
/// [`expand`] gives them), calling `progress(bytes done, bytes in all)` now and then.
/// Frames are numbered along the merged stream, as `mergecap` would number them.
///
/// Every file goes through the one merge ([`Merge`]), whatever it is read
/// by. When every file is a classic pcap, all of them mapped, the frames borrow the
/// maps; then, with more than one thread, one walks, sorts (the bulk is dropped
/// there) and dissects the records while the other judges. A streamed frame (pcapng,
/// stdin) borrows its reader's buffer, which the next read reuses: a merge with one
/// is consumed frame by frame on this thread (batches would need the frames copied,
/// for inputs that are small or come no faster than a pipe).
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
    let opened = Opened::open(paths)?;
    let stats = if opened.all_mapped() {
        run_mapped(&opened.maps, &mut pipeline, opts, progress)?
    } else {
        let total = paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let inputs = merge::inputs(&opened.maps, opened.streams);
        run_streamed(inputs, &mut pipeline, total, progress)?
    };
    Ok(pipeline.finish(None, &stats, names))
}

/// Any mix of files, merged by time, frame by frame on this thread.
fn run_streamed(
    inputs: Vec<Input<'_>>,
    pipeline: &mut Pipeline<'_>,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CaptureStats, CaptureError> {
    let mut merge = Merge::new(inputs)?;
    let mut records = 0;
    while let Some(frame) = merge.next_frame()? {
        pipeline.frame(&frame);
        records += 1;
        if records % BATCH_RECORDS == 0 {
            progress(merge.position(), total);
        }
    }
    progress(merge.position(), total);
    Ok(merge.into_stats())
}

/// The mapped files, merged by time.
fn run_mapped(
    files: &[MappedPcap],
    pipeline: &mut Pipeline<'_>,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CaptureStats, CaptureError> {
    let total: u64 = files.iter().map(|f| f.bytes().len() as u64).sum();
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    };
    let start = || -> Result<Merge<Walker<'_>>, CaptureError> {
        let mut merge = Merge::new(files.iter().map(MappedPcap::walk).collect())?;
        merge.advance()?;
        Ok(merge)
    };
    let (dispatcher, judge) = pipeline.split();
    if threads <= 1 {
        let mut merge = start()?;
        let mut batch = Batch::default();
        while fill(&mut merge, &mut batch, dispatcher)? {
            judge_batch(&batch, judge);
            progress(batch.done, total);
        }
        return Ok(merge.into_stats());
    }
    // Two stages: the walker maps, merges, slices, sorts out the bulk and dissects;
    // this thread judges. Batches go round between them, so nothing is allocated per
    // record.
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch<'_>>(8);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch<'_>>();
    std::thread::scope(|s| {
        let walker = s.spawn(move || {
            let mut merge = start()?;
            loop {
                let mut batch = empty_rx.try_recv().unwrap_or_default();
                if !fill(&mut merge, &mut batch, dispatcher)? || full_tx.send(batch).is_err() {
                    break;
                }
            }
            Ok(merge.into_stats())
        });
        for batch in full_rx {
            judge_batch(&batch, judge);
            progress(batch.done, total);
            let _ = empty_tx.send(batch);
        }
        walker
            .join()
            .unwrap_or_else(|_| Ok(CaptureStats::default()))
    })
}

/// Judge a batch the walker dissected.
fn judge_batch(batch: &Batch<'_>, judge: &mut Judge<'_>) {
    let mut seen = batch.seen.iter();
    let held = |at: &Range<usize>| batch.held.get(at.clone()).unwrap_or_default();
    for (i, d) in batch.frames.iter().enumerate() {
        prefetch::frames_ahead(&batch.frames, i, |d| d.frame.data);
        d.skipped_before.judge(judge);
        judge.arrive(&d.frame);
        let Some(packet) = &d.packet else {
            continue;
        };
        for handed in seen.by_ref().take(d.seen) {
            match handed {
                Handed::Seen(obs) => judge.observe(&d.frame, packet, obs),
                Handed::Message { how, at } => {
                    let obs = dispatch::reread(*how, held(at)).into();
                    judge.observe(&d.frame, packet, &obs);
                }
                Handed::HttpBody { at, left } => {
                    let bytes = held(at);
                    let obs = Observed::HttpBody { bytes, left: *left };
                    judge.observe(&d.frame, packet, &obs);
                }
            }
        }
    }
    batch.skipped_after.judge(judge);
}

/// Refill `batch` (cleared first) with the next frames of the merge worth
/// dissecting, sliced, and what `dispatcher` saw in them; false when no record is left. The merge's head is the next
/// frame to take, and the merge moves on as soon as it is taken, so `done` counts
/// the bytes of every record taken.
fn fill<'m>(
    merge: &mut Merge<Walker<'m>>,
    batch: &mut Batch<'m>,
    dispatcher: &mut Dispatcher,
) -> Result<bool, CaptureError> {
    batch.frames.clear();
    batch.seen.clear();
    batch.held.clear();
    batch.frames.reserve(BATCH);
    let mut skipped = Skipped::default();
    let mut records = 0;
    while batch.frames.len() < BATCH && records < BATCH_RECORDS {
        let Some(frame) = merge.head_frame() else {
            break;
        };
        merge.advance()?;
        records += 1;
        let packet = match dispatch::sort(&frame) {
            Sorted::Bulk => {
                skipped.add(frame.ts_ns);
                continue;
            }
            Sorted::Dissect(packet) => packet,
        };
        let before = batch.seen.len();
        match packet {
            Some(p) => dispatcher.observe(&frame, p, batch),
            // Counted there.
            None => {
                let _ = dispatcher.frame(&frame, |_, _| {});
            }
        }
        let seen = batch.seen.len() - before;
        batch.frames.push(Desc {
            skipped_before: std::mem::take(&mut skipped),
            frame,
            packet,
            seen,
        });
    }
    batch.skipped_after = skipped;
    batch.done = merge.position();
    Ok(records > 0)
}
