//! `bootscope analyze`: one streaming pass over a capture file through the
//! [`Pipeline`], and the report at the end. A live session runs the same pipeline;
//! only the frame source differs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rules::{LoadError, RuleSet};

use crate::capture::mapped::{self, MappedPcap, Record, Walker};
use crate::capture::{self, CaptureError, CaptureStats, Frame};
use crate::dispatch;
use crate::engine::{facts, EngineLimits};
use crate::pipeline::Pipeline;
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

/// Record descriptors handed from the walking thread to the analysing one.
const BATCH: usize = 4096;

/// One record of the merged stream: which file, where, and whether it is worth
/// dissecting (worked out ahead).
#[derive(Clone, Copy)]
struct Desc {
    file: usize,
    record: Record,
    worth: bool,
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
    let mut consume = |batch: &[Desc], done: u64| {
        for d in batch {
            let f = files[d.file].frame(&d.record);
            pipeline.frame_sorted(&f, d.worth);
        }
        progress(done, total);
    };
    if threads <= 1 {
        let mut merge = Merge::new(files);
        let mut batch = Vec::with_capacity(BATCH);
        while merge.fill(&mut batch) {
            consume(&batch, merge.done);
        }
        return merge.finish();
    }
    // Two stages: this thread dissects and judges; the walker maps, merges and sorts
    // out the bulk. Batches go round between them, so nothing is allocated per record.
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Vec<Desc>, u64)>(8);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<Desc>>();
    std::thread::scope(|s| {
        let walker = s.spawn(move || {
            let mut merge = Merge::new(files);
            loop {
                let mut batch = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                if !merge.fill(&mut batch) || full_tx.send((batch, merge.done)).is_err() {
                    break;
                }
            }
            merge.finish()
        });
        for (batch, done) in full_rx {
            consume(&batch, done);
            let _ = empty_tx.send(batch);
        }
        walker.join().unwrap_or_default()
    })
}

/// The k-way merge of mapped files by record time (ties: the earlier file first).
struct Merge<'m> {
    files: &'m [MappedPcap],
    walkers: Vec<Walker<'m>>,
    heads: Vec<Option<Record>>,
    number: u64,
    /// Bytes of the files behind the records delivered so far.
    done: u64,
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
            done: 0,
        }
    }

    /// Refill `batch` (cleared first) with the next records; false when none is left.
    fn fill(&mut self, batch: &mut Vec<Desc>) -> bool {
        batch.clear();
        while batch.len() < BATCH {
            let next = self
                .heads
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.map(|r| (r.ts_ns, i)))
                .min();
            let Some((_, i)) = next else { break };
            let Some(mut record) = self.heads[i].take() else {
                break;
            };
            self.heads[i] = self.walkers[i].next_record();
            self.number += 1;
            record.number = self.number;
            let worth = dispatch::worth_dissecting(&self.files[i].frame(&record));
            batch.push(Desc {
                file: i,
                record,
                worth,
            });
        }
        self.done = self
            .heads
            .iter()
            .zip(self.files)
            .map(|(h, f)| h.map_or(f.bytes().len(), |r| r.offset) as u64)
            .sum();
        !batch.is_empty()
    }

    fn finish(self) -> CaptureStats {
        let mut all = CaptureStats::default();
        for w in self.walkers {
            merge_stats(&mut all, w.stats);
        }
        all
    }
}
