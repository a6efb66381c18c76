//! `bootscope analyze`: one streaming pass over a capture file through the
//! [`Pipeline`], and the report at the end. A live session runs the same pipeline;
//! only the frame source differs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rules::{LoadError, RuleSet};

use crate::capture::{self, CaptureError};
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
    let source = path.display().to_string();
    let mut pipeline = Pipeline::new(source.clone(), rules, opts.limits, opts.streams);
    let stats = file.for_each_frame(|frame| {
        pipeline.frame(frame);
        ControlFlow::Continue(())
    })?;
    Ok(pipeline.finish(None, &stats, vec![source]))
}
