//! The one analysis pipeline, whatever the frame source: frames go through the
//! [`Dispatcher`] (link layer, TCP streams, dissectors) into the engine's
//! [`Analyzer`]; stream gaps and malformed messages become warnings naming the
//! source and the frame. `analyze` feeds it from a file, `live` from an interface;
//! nothing after the frame source differs.

use rules::RuleSet;

use crate::capture::{CaptureStats, Frame};
use crate::dispatch::{self, Dispatcher, Observed, Sorted};
use crate::engine::{Analyzer, EngineLimits};
use crate::link::Packet;
use crate::reassembly::StreamLimits;
use crate::report::Report;

/// Warnings kept in the report at most; the rest are counted.
const MAX_WARNINGS: usize = 100;

/// Frames in, verdicts out.
pub struct Pipeline<'r> {
    /// How the source is named in warnings (a file path, or `live:eth0`).
    source: String,
    dispatcher: Dispatcher,
    engine: Analyzer<'r>,
    warnings: Vec<String>,
    unlisted: usize,
}

impl<'r> Pipeline<'r> {
    /// A pipeline applying `rules` to frames from `source`.
    pub fn new(
        source: impl Into<String>,
        rules: &'r RuleSet,
        limits: EngineLimits,
        streams: StreamLimits,
    ) -> Self {
        Pipeline {
            source: source.into(),
            dispatcher: Dispatcher::new(streams),
            engine: Analyzer::new(rules, limits),
            warnings: Vec::new(),
            unlisted: 0,
        }
    }

    /// Take in one frame.
    pub fn frame(&mut self, frame: &Frame<'_>) {
        match dispatch::sort(frame) {
            Sorted::Bulk => self.engine.tick(frame.ts_ns),
            Sorted::Dissect(packet) => self.dissect(frame, packet),
        }
    }

    /// Take in one frame already sliced (`None`: the link layer could not) and found
    /// worth dissecting, perhaps on another thread.
    pub fn sorted<'f>(&mut self, frame: &Frame<'f>, packet: Option<Packet<'f>>) {
        self.dissect(frame, packet);
    }

    /// Take in the times of frames sorted out as not worth dissecting, the earliest
    /// and the latest: they count only for the capture's extent, which decides
    /// timeouts.
    pub fn skipped(&mut self, earliest_ns: i64, latest_ns: i64) {
        self.engine.tick(earliest_ns);
        self.engine.tick(latest_ns);
    }

    /// Dissect a frame (`packet`: already sliced, else sliced here) and judge what it
    /// holds.
    fn dissect<'f>(&mut self, frame: &Frame<'f>, packet: Option<Packet<'f>>) {
        let Pipeline {
            source,
            dispatcher,
            engine,
            warnings,
            unlisted,
        } = self;
        engine.tick(frame.ts_ns);
        let on_obs = |packet: &Packet<'f>, obs: Observed<'_>| {
            let warning = match &obs {
                Observed::StreamGap { flow, missing } => Some(dispatch::gap_warning(
                    std::path::Path::new(source.as_str()),
                    frame.number,
                    flow,
                    *missing,
                )),
                Observed::Malformed(e) => {
                    Some(format!("{source}: frame {}: malformed {e}", frame.number))
                }
                // Damage inside a message that still decoded (a TLV of the wrong size,
                // options cut short): said as `dissect` says it, so no damage is silent.
                Observed::Message(m) => m.damage().map(|d| {
                    format!(
                        "{source}: frame {}: damaged {} message: {d}",
                        frame.number,
                        m.proto()
                    )
                }),
                _ => None,
            };
            if let Some(w) = warning {
                if warnings.len() < MAX_WARNINGS {
                    warnings.push(w);
                } else {
                    *unlisted += 1;
                }
            }
            engine.observe(frame, packet, &obs);
        };
        match packet {
            Some(p) => dispatcher.packet(frame, p, on_obs),
            // A frame the link layer cannot slice is counted by the dispatcher.
            None => {
                let _ = dispatcher.frame(frame, on_obs);
            }
        }
    }

    /// The engine, for a look at the devices while frames still come (live).
    pub fn engine(&self) -> &Analyzer<'r> {
        &self.engine
    }

    /// Messages decoded so far.
    pub fn messages(&self) -> u64 {
        self.dispatcher.stats.messages
    }

    /// The verdicts, judged at `end_ns` (`None`: the last frame's time), with the
    /// reader's statistics and warnings.
    pub fn finish(self, end_ns: Option<i64>, read: &CaptureStats, files: Vec<String>) -> Report {
        let mut report = self.engine.finish(end_ns);
        let c = &mut report.capture;
        c.files = files;
        c.frames = read.frames;
        c.bytes = read.bytes;
        c.messages = self.dispatcher.stats.messages;
        c.malformed = self.dispatcher.stats.malformed;
        let streams = self.dispatcher.stream_stats();
        c.streams_evicted = streams.evicted;
        c.streams_untracked = streams.untracked;
        c.tftp_evicted = self.dispatcher.stats.tftp_evicted;
        c.limits.max_streams = self.dispatcher.stream_limits().max_streams;
        let tunnels = &self.dispatcher.tunnels;
        c.tunnels = tunnels
            .iter()
            .map(|(kind, src, dst, frames)| crate::report::TunnelInfo {
                kind: kind.name(),
                src: src.to_string(),
                dst: dst.to_string(),
                frames,
            })
            .collect();
        c.warnings = read.warnings.iter().map(ToString::to_string).collect();
        if tunnels.unlisted_frames > 0 {
            c.warnings.push(format!(
                "{} frame(s) came in tunnels beyond the first {} listed",
                tunnels.unlisted_frames,
                crate::dispatch::MAX_TUNNELS_LISTED
            ));
        }
        if read.suppressed_warnings > 0 {
            c.warnings.push(format!(
                "{} more capture warnings not listed",
                read.suppressed_warnings
            ));
        }
        c.warnings.extend(self.warnings);
        if self.unlisted > 0 {
            c.warnings.push(format!(
                "{}: {} more stream gaps / malformed messages not listed",
                self.source, self.unlisted
            ));
        }
        report
    }
}
