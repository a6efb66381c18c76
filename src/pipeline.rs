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

/// Warnings of one kind listed one by one; the rest of that kind are counted.
const LISTED_PER_KIND: u64 = 5;
/// Kinds of warning told apart (a kind is the protocol and what went wrong); beyond
/// them, warnings are only counted.
const MAX_KINDS: usize = 64;

/// Frames in, verdicts out.
pub struct Pipeline<'r> {
    dispatcher: Dispatcher,
    judge: Judge<'r>,
}

/// The pipeline's second half: what the dispatcher sees, judged by the engine, and the
/// warnings the report must give. [`Pipeline::split`] lets a dispatcher on another
/// thread feed it.
pub struct Judge<'r> {
    /// How the source is named in warnings (a file path, or `live:eth0`).
    source: String,
    engine: Analyzer<'r>,
    notes: Notes,
}

/// What the dissection met that the report must say: warnings summarised per kind
/// (a capture damaged throughout says so in a few lines, not thousands), and what
/// the capture's snap length cut away.
#[derive(Debug, Default)]
struct Notes {
    listed: Vec<String>,
    /// Per kind: how many, the first and the last frame.
    kinds: Vec<(String, u64, u64, u64)>,
    /// Warnings of kinds beyond [`MAX_KINDS`].
    uncounted_kinds: u64,
    cut: Cut,
}

/// Frames the capture's snap length cut short, and what that hid.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Frames worth dissecting that were cut.
    pub frames: u64,
    /// Frames worth dissecting.
    pub of: u64,
    /// The longest cut frame's captured length: the snap length in effect.
    pub at: u32,
    /// The first and the last frame cut.
    pub first: u64,
    /// See `first`.
    pub last: u64,
    /// Messages the cut made unreadable, per protocol.
    pub unreadable: std::collections::BTreeMap<parsers::Proto, u64>,
    /// Messages read in part (options, headers or body cut), per protocol.
    pub partial: std::collections::BTreeMap<parsers::Proto, u64>,
    /// TCP stream bytes the cut took away (holes where a message was).
    pub stream_holes: u64,
}

impl Notes {
    /// A warning of `kind` about `frame`, worded by `text` when it is listed.
    fn warn(&mut self, kind: &str, frame: u64, text: impl FnOnce() -> String) {
        let room = self.kinds.len() < MAX_KINDS;
        let at = self.kinds.iter_mut().find(|(k, ..)| k == kind);
        let n = match at {
            Some(k) => {
                k.1 += 1;
                k.3 = frame;
                k.1
            }
            None if room => {
                self.kinds.push((kind.to_owned(), 1, frame, frame));
                1
            }
            None => {
                self.uncounted_kinds += 1;
                return;
            }
        };
        if n <= LISTED_PER_KIND {
            self.listed.push(text());
        }
    }

    /// The warnings, each kind's unlisted rest in one line.
    fn into_lines(self, source: &str) -> (Vec<String>, Cut) {
        let mut lines = self.listed;
        for (kind, n, first, last) in self.kinds {
            if n > LISTED_PER_KIND {
                lines.push(format!(
                    "{source}: {} more {kind} (frames {first} to {last}; {n} in all)",
                    n - LISTED_PER_KIND
                ));
            }
        }
        if self.uncounted_kinds > 0 {
            lines.push(format!(
                "{source}: {} more stream gaps / malformed messages not listed",
                self.uncounted_kinds
            ));
        }
        (lines, self.cut)
    }
}

impl Cut {
    /// The capture finding, when frames were cut.
    pub fn finding(&self, snaplen: Option<u32>) -> Option<crate::report::CaptureFinding> {
        if self.frames == 0 {
            return None;
        }
        let hidden = |p: parsers::Proto| -> &'static str {
            use parsers::Proto::*;
            match p {
                Dhcp => "DHCP message types and options (150, 66, the voice VLAN's relay)",
                Sip => "SIP headers and bodies (REGISTER and its answers, device names)",
                Sccp => "SCCP messages (Register, its answer, device names)",
                Tftp => "TFTP file names and errors",
                Http => "HTTP requests and answers on TCP 6970 (file names, status)",
                Cdp => "CDP TLVs (voice VLAN, platform, power)",
                Lldp => "LLDP TLVs (network policy, power)",
                Gre | Erspan | Vxlan | Capwap | Ieee80211 => {
                    "tunnel headers (the frames inside them)"
                }
                Eapol => "802.1X exchanges (EAP codes and identities)",
                Arp => "ARP addresses",
                Dns => "DNS names and answers",
                Icmp => "ICMP errors (the flows they answer)",
                Tls => "TLS records (hellos, alerts, the suite chosen)",
                CnfXml => "the phones' configuration files",
            }
        };
        let mut what: Vec<String> = Vec::new();
        let mut protos: Vec<parsers::Proto> = self
            .unreadable
            .keys()
            .chain(self.partial.keys())
            .copied()
            .collect();
        protos.sort();
        protos.dedup();
        for p in protos {
            let (u, q) = (
                self.unreadable.get(&p).copied().unwrap_or(0),
                self.partial.get(&p).copied().unwrap_or(0),
            );
            what.push(format!("{} ({u} unreadable, {q} read in part)", hidden(p)));
        }
        if self.stream_holes > 0 {
            what.push(format!(
                "{} TCP stream hole(s) where SCCP, SIP or HTTP messages were",
                self.stream_holes
            ));
        }
        let limit = match snaplen {
            Some(s) if s <= self.at.max(1) * 2 => format!("a snap length of {s} bytes"),
            _ => format!("about {} bytes", self.at),
        };
        let hides = if what.is_empty() {
            "nothing bootscope reads".to_owned()
        } else {
            what.join("; ")
        };
        Some(crate::report::CaptureFinding {
            code: "capture-cut",
            severity: rules::Severity::Warning,
            message: format!(
                "{} of {} frame(s) worth reading were cut at {limit}: the cut hides {hides}. \
                 No verdict is drawn from bytes that were not captured: a phone whose \
                 messages after its last step were cut is not judged past that step",
                self.frames, self.of
            ),
            checks: vec![
                "capture whole frames: `tcpdump -s 0` (the default of current tcpdump and \
                 Wireshark), or raise the snap length of the SPAN appliance or probe"
                    .to_owned(),
                "cut bytes cannot be recovered from the file: capture again".to_owned(),
            ],
        })
    }
}

impl Judge<'_> {
    /// Take in the times of frames sorted out as not worth dissecting, the earliest
    /// and the latest: they count only for the capture's extent, which decides
    /// timeouts.
    pub fn skipped(&mut self, earliest_ns: i64, latest_ns: i64) {
        self.engine.tick(earliest_ns);
        self.engine.tick(latest_ns);
    }

    /// A frame worth dissecting arrives (before what the dispatcher saw in it).
    pub fn arrive(&mut self, frame: &Frame<'_>) {
        self.engine.tick(frame.ts_ns);
        let notes = &mut self.notes;
        notes.cut.of += 1;
        if frame.data.len() < frame.orig_len as usize {
            notes.cut.frames += 1;
            if notes.cut.first == 0 {
                notes.cut.first = frame.number;
            }
            notes.cut.last = frame.number;
            let len = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
            notes.cut.at = notes.cut.at.max(len);
        }
    }

    /// What the dispatcher saw in `frame`, sliced into `packet`: warned of when damaged,
    /// and judged.
    pub fn observe(&mut self, frame: &Frame<'_>, packet: &Packet<'_>, obs: &Observed<'_>) {
        let Judge {
            source,
            engine,
            notes,
        } = self;
        let n = frame.number;
        let cut = frame.data.len() < frame.orig_len as usize;
        // Warnings of a frame the snap length cut are a kind of their own, and what
        // the cut took away is counted for the capture's finding.
        let kind = |what: &str, proto: parsers::Proto| {
            if cut {
                format!("{proto} messages cut by the snap length")
            } else {
                format!("{what} {proto} messages")
            }
        };
        let note = if cut { " (the frame is cut short)" } else { "" };
        match obs {
            Observed::StreamGap { cut: true, .. } => notes.cut.stream_holes += 1,
            Observed::StreamGap { flow, missing, .. } => notes.warn("TCP stream gaps", n, || {
                dispatch::gap_warning(std::path::Path::new(source.as_str()), n, flow, *missing)
            }),
            Observed::Malformed(e) => {
                if cut {
                    *notes.cut.unreadable.entry(e.proto).or_default() += 1;
                }
                notes.warn(&kind("malformed", e.proto), n, || {
                    format!("{source}: frame {n}: malformed {e}{note}")
                });
            }
            // Damage inside a message that still decoded (a TLV of the wrong size,
            // options cut short): said as `dissect` says it, so no damage is silent.
            Observed::Message(m) => {
                if let Some(d) = m.damage() {
                    if cut {
                        *notes.cut.partial.entry(m.proto()).or_default() += 1;
                    }
                    notes.warn(&kind("damaged", m.proto()), n, || {
                        format!(
                            "{source}: frame {n}: damaged {} message: {d}{note}",
                            m.proto()
                        )
                    });
                }
            }
            _ => {}
        }
        engine.observe(frame, packet, obs);
    }
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
            dispatcher: Dispatcher::new(streams),
            judge: Judge {
                source: source.into(),
                engine: Analyzer::new(rules, limits),
                notes: Notes::default(),
            },
        }
    }

    /// Take in one frame.
    pub fn frame(&mut self, frame: &Frame<'_>) {
        match dispatch::sort(frame) {
            Sorted::Bulk => self.judge.engine.tick(frame.ts_ns),
            Sorted::Dissect(packet) => self.dissect(frame, packet),
        }
    }

    /// The two halves, to be fed apart (the dispatcher perhaps on another thread): the
    /// judge must then take every frame the dispatcher takes, in the same order
    /// ([`Judge::arrive`]), and what the dispatcher saw in it ([`Judge::observe`]).
    pub fn split(&mut self) -> (&mut Dispatcher, &mut Judge<'r>) {
        (&mut self.dispatcher, &mut self.judge)
    }

    /// Dissect a frame (`packet`: already sliced, else sliced here) and judge what it
    /// holds.
    fn dissect<'f>(&mut self, frame: &Frame<'f>, packet: Option<Packet<'f>>) {
        let Pipeline { dispatcher, judge } = self;
        judge.arrive(frame);
        let on_obs = |packet: &Packet<'f>, obs: Observed<'_>| judge.observe(frame, packet, &obs);
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
        &self.judge.engine
    }

    /// Messages decoded so far.
    pub fn messages(&self) -> u64 {
        self.dispatcher.stats.messages
    }

    /// The verdicts, judged at `end_ns` (`None`: the last frame's time), with the
    /// reader's statistics and warnings.
    pub fn finish(self, end_ns: Option<i64>, read: &CaptureStats, files: Vec<String>) -> Report {
        let unseen = self.dispatcher.unseen();
        let missed = read.dropped.unwrap_or(0).saturating_add(unseen.streams);
        let flood_notes = self.judge.engine.flood_notes();
        let mut report = self.judge.engine.finish(end_ns, missed);
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
        c.warnings.extend(flood_notes);
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
        c.dropped = read.dropped;
        c.tcp_bytes_unseen = unseen.bytes;
        if missed > 0 {
            let dropped = read.dropped.unwrap_or(0);
            report.capture_findings.push(crate::report::CaptureFinding {
                code: "capture-missed-frames",
                severity: rules::Severity::Warning,
                message: format!(
                    "the capture missed frames: {dropped} dropped by the capturing interface or \
                     host (its own counters), and {} TCP stream(s) whose receiver acknowledged \
                     {} byte(s) the capture never held. An answer the report calls missing may \
                     be one of them",
                    unseen.streams, unseen.bytes
                ),
                checks: vec![
                    "give the capture a larger buffer and a fast disk (`tcpdump -B 16384 -w`, \
                     `dumpcap -B 64`), and filter it to the boot's traffic"
                        .to_owned(),
                    "check the SPAN destination port is not oversubscribed (`show interfaces \
                     <destination> | include drops` on the switch)"
                        .to_owned(),
                ],
            });
        }
        let (lines, cut) = self.judge.notes.into_lines(&self.judge.source);
        c.warnings.extend(lines);
        c.snaplen = read.snaplen;
        c.frames_cut = cut.frames;
        if let Some(f) = cut.finding(read.snaplen) {
            c.warnings.push(format!(
                "{}: frame {}: the first of {} frame(s) cut short by the snap length, the \
                 last frame {} (capture-cut)",
                self.judge.source, cut.first, cut.frames, cut.last
            ));
            report.capture_findings.push(f);
        }
        report
    }
}
