//! `bootscope analyze`: one streaming pass over a capture — frames through the
//! dispatcher into the engine — and the report at the end. The same [`Analyzer`]
//! serves a live session; only the frame source differs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rules::{LoadError, RuleSet};

use crate::capture::{self, CaptureError};
use crate::dispatch::{Dispatcher, Observed};
use crate::engine::{facts, Analyzer, EngineLimits};
use crate::reassembly::StreamLimits;
use crate::report::Report;

/// Warnings kept in the report at most; the rest are counted.
const MAX_WARNINGS: usize = 100;

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
}

/// Analyze the capture at `path` (`-` for stdin).
///
/// # Errors
/// The capture cannot be opened or read, or the rules cannot be loaded.
pub fn run(path: &Path, opts: &Options) -> Result<Report, AnalyzeError> {
    let rules = load_rules(opts.rules.as_deref())?;
    run_with(path, &rules, opts)
}

/// [`run`] with rules already loaded.
///
/// # Errors
/// The capture cannot be opened or read.
pub fn run_with(path: &Path, rules: &RuleSet, opts: &Options) -> Result<Report, AnalyzeError> {
    let file = capture::open(path)?;
    let mut dispatcher = Dispatcher::new(opts.streams);
    let mut engine = Analyzer::new(rules, opts.limits);
    let mut warnings: Vec<String> = Vec::new();
    let mut gaps = 0usize;
    let mut damaged = 0usize;
    let stats = file.for_each_frame(|frame| {
        engine.tick(frame.ts_ns);
        let _ = dispatcher.frame(frame, |packet, obs| {
            match &obs {
                Observed::StreamGap { flow, missing } => {
                    gaps += 1;
                    if warnings.len() < MAX_WARNINGS {
                        warnings.push(crate::dispatch::gap_warning(
                            path,
                            frame.number,
                            flow,
                            *missing,
                        ));
                    }
                }
                // Damage inside a message that still decoded (a TLV of the wrong size,
                // options cut short): said as `dissect` says it, so no damage is silent.
                Observed::Message(m) => {
                    if let Some(d) = m.damage() {
                        damaged += 1;
                        if warnings.len() < MAX_WARNINGS {
                            warnings.push(format!(
                                "{}: frame {}: damaged {} message: {d}",
                                path.display(),
                                frame.number,
                                m.proto()
                            ));
                        }
                    }
                }
                Observed::Malformed(e) => {
                    damaged += 1;
                    if warnings.len() < MAX_WARNINGS {
                        warnings.push(format!(
                            "{}: frame {}: malformed {e}",
                            path.display(),
                            frame.number
                        ));
                    }
                }
                _ => {}
            }
            engine.observe(frame, packet, &obs);
        });
        ControlFlow::Continue(())
    })?;
    let end = engine.span().map(|(_, e)| e);
    let mut report = engine.finish(end);
    let c = &mut report.capture;
    c.files = vec![path.display().to_string()];
    c.frames = stats.frames;
    c.bytes = stats.bytes;
    c.messages = dispatcher.stats.messages;
    c.malformed = dispatcher.stats.malformed;
    c.warnings = stats.warnings.iter().map(ToString::to_string).collect();
    if stats.suppressed_warnings > 0 {
        c.warnings.push(format!(
            "{} more capture warnings not listed",
            stats.suppressed_warnings
        ));
    }
    c.warnings.extend(warnings);
    let listed = gaps + damaged;
    if listed > MAX_WARNINGS {
        c.warnings.push(format!(
            "{}: {} more stream gaps / malformed messages not listed",
            path.display(),
            listed - MAX_WARNINGS
        ));
    }
    Ok(report)
}
