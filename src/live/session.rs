//! The live session loop and the replayer (both need libpcap).
//!
//! One thread: read what packets are ready (waiting on the capture's descriptor
//! between them), put them through the pipeline, and every `poll` interval of the
//! wall clock let the watcher judge what changed — so a phone that goes quiet is declared stalled while the
//! capture runs. The loop ends on the stop flag (Ctrl-C, SIGTERM), `--duration`, or
//! a capture failure; the report is judged at that moment.

use std::collections::VecDeque;
use std::io::{IsTerminal as _, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rules::RuleSet;

use super::metrics::{self, Counters, Metrics, Page};
use super::privilege::{self, Dropped, RunAs};
use super::render::{self, RECENT_LINES};
use super::watch::Watcher;
use crate::analyze;
use crate::capture::live::{Injector, LiveConfig, LiveError, LiveSource};
use crate::capture::{self, CaptureError, CaptureStats, Linktype};
use crate::events::{self, EventQueue, Feed, Origin};
use crate::pipeline::Pipeline;
use crate::report::{LiveInfo, Report};

/// How long the interface may be down before the session ends.
const LINK_DOWN_GRACE: Duration = Duration::from_secs(2);

/// How the session shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One plain line per event.
    Lines,
    /// One JSON object per event line; the final report as one JSON line.
    Json,
    /// A status table redrawn in place (a terminal), the latest events under it.
    Screen,
}

impl Output {
    /// The default for a text format: the table on a terminal, lines otherwise.
    pub fn for_stdout() -> Self {
        if std::io::stdout().is_terminal() {
            Output::Screen
        } else {
            Output::Lines
        }
    }
}

/// What a live session is asked to do.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The interface and how to open it.
    pub source: LiveConfig,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Rules and bounds, as for `analyze`.
    pub analysis: analyze::Options,
    /// How to show progress.
    pub output: Output,
    /// How often the watcher looks (and the screen is redrawn).
    pub poll: Duration,
    /// `--metrics`: serve Prometheus metrics on this address.
    pub metrics: Option<std::net::SocketAddr>,
    /// `--events`: one JSON line per boot event and finding to this file (`-`: stdout).
    pub events: Option<std::path::PathBuf>,
    /// The sensor's name: the metrics' `sensor` label, the events' `observer.name`.
    pub sensor: String,
    /// Who to run as once the handle is open (`-Z`).
    pub run_as: RunAs,
}

/// Lines waiting for the `--events` writer at most: past it lines are dropped
/// (counted) rather than capture held up by a reader that does not read.
pub const EVENT_QUEUE_LINES: usize = 4096;

/// The outcome of a session.
pub struct Session {
    /// The report, judged when the session stopped.
    pub report: Report,
    /// `--events` lines not written (the reader did not keep up).
    pub events_dropped: u64,
    /// Why capture stopped, if it was not asked to (the interface went away).
    pub lost: Option<LiveError>,
    /// The `-w` file could not be written (a full disk): the analysis went on, the file
    /// holds the whole records written before.
    pub write_failed: Option<LiveError>,
}

/// A flag raised by SIGINT, SIGTERM or SIGHUP. A second Ctrl-C while the report is
/// being made ends the process at once.
///
/// # Errors
/// The handlers could not be installed.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&flag))?;
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Run a live session until `stop` is raised, the duration passes or capture fails.
/// `ready` is called once the interface is open (before any packet).
///
/// # Errors
/// The interface cannot be opened (see [`LiveError`]).
pub fn run(
    opts: &LiveOptions,
    rules: &RuleSet,
    stop: &AtomicBool,
    out: &mut dyn Write,
    ready: impl FnOnce(&LiveSource, &Dropped),
) -> Result<Session, LiveError> {
    // Everything that needs the privileges the process started with: the handle, the
    // `-w` file, the events file, the metrics socket. Then they go, before any thread
    // starts.
    let mut src = LiveSource::open(&opts.source)?;
    let opened = Opened::create(opts)?;
    let dropped = privilege::give_up(&opts.run_as).map_err(|e| LiveError::Output {
        what: "give up privileges".to_owned(),
        detail: e.to_string(),
    })?;
    let extras = Extras::start(opts, opened)?;
    ready(&src, &dropped);
    let iface = opts.source.interface.clone();
    let label = format!("live:{iface}");
    let a = &opts.analysis;
    let mut pipeline = Pipeline::new(label.clone(), rules, a.limits, a.streams);
    let started = Instant::now();
    let mut view = View {
        output: opts.output,
        iface: iface.clone(),
        started,
        watcher: if extras.queue.is_some() {
            Watcher::keeping_timelines()
        } else {
            Watcher::new()
        },
        recent: VecDeque::with_capacity(RECENT_LINES),
        out,
        extras,
        counters: Counters::default(),
    };
    let deadline = opts.duration.map(|d| started + d);
    let mut next_poll = started;
    let mut lost = None;
    let mut down_since: Option<Instant> = None;
    let mut write_failed: Option<LiveError> = None;
    let tick = Duration::from_millis(u64::from(opts.source.read_timeout_ms.max(10)));
    loop {
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            // What the kernel already holds was on the wire before the stop: take it
            // (for a second at most, should the wire keep it full), the block still
            // filling included (handed over after the read timeout).
            let until = Instant::now() + Duration::from_secs(1);
            let mut waited = false;
            while Instant::now() < until {
                match src.next(|frame| pipeline.frame(frame)) {
                    Ok(true) => waited = false,
                    Ok(false) if !waited => {
                        src.wait(2 * tick);
                        waited = true;
                    }
                    _ => break,
                }
            }
            break;
        }
        match src.next(|frame| pipeline.frame(frame)) {
            Ok(true) => {}
            Ok(false) => src.wait(tick),
            Err(e) => {
                lost = Some(e);
                break;
            }
        }
        let now = Instant::now();
        if now >= next_poll {
            next_poll = now + opts.poll;
            view.count(&mut src);
            view.show(&src, &pipeline);
            // A full disk is said at once; the analysis goes on without the file.
            if let (Some(path), None) = (&opts.source.write, &write_failed) {
                if let Err(e) = src.flush(path) {
                    eprintln!("bootscope: {e}; the analysis goes on");
                    write_failed = Some(e);
                }
            }
            // An interface down (or gone) for a while ends the session with what was
            // seen; a blip of the link does not.
            match src.link_up() {
                Some(true) => down_since = None,
                state => {
                    let since = *down_since.get_or_insert(now);
                    if now.duration_since(since) >= LINK_DOWN_GRACE {
                        let (frames, _) = src.delivered();
                        lost = Some(LiveError::Lost {
                            name: iface.clone(),
                            frames,
                            detail: match state {
                                None => "the interface disappeared".to_owned(),
                                Some(_) => format!(
                                    "the interface has been down (no link, or \
                                     administratively) for {} s",
                                    LINK_DOWN_GRACE.as_secs()
                                ),
                            },
                        });
                        break;
                    }
                }
            }
        }
    }
    view.count(&mut src);
    view.show(&src, &pipeline);
    if let (Some(path), None) = (&opts.source.write, &write_failed) {
        if let Err(e) = src.flush(path) {
            write_failed = Some(e);
        }
    }
    let counters = src.counters();
    let (frames, bytes) = src.delivered();
    let read = CaptureStats {
        frames,
        bytes,
        dropped: Some(counters.dropped_by_kernel + counters.dropped_by_interface),
        ..CaptureStats::default()
    };
    // Judged now: a phone silent since its last packet has really waited this long.
    let mut report = pipeline.finish(Some(now_ns()), &read, vec![label]);
    if src.linktype() != Linktype::ETHERNET {
        report.capture.warnings.push(format!(
            "live:{iface}: link type {} (bootscope reads Ethernet best)",
            src.linktype()
        ));
    }
    report.capture.live = Some(LiveInfo {
        interface: iface,
        filter: opts.source.filter.clone(),
        received: counters.received,
        dropped_by_kernel: counters.dropped_by_kernel,
        dropped_by_interface: counters.dropped_by_interface,
        written_to: opts.source.write.as_ref().map(|p| p.display().to_string()),
    });
    let mut extras = view.extras;
    let mut events_dropped = 0;
    if let Some(queue) = extras.queue.take() {
        let origin = Origin::of(&report, extras.origin.sensor.clone());
        extras.feed.finish(&report, &origin, &queue);
        events_dropped = queue.finish(Duration::from_secs(2));
    }
    // The last page stays up until the process ends: the final counts for one more
    // scrape.
    if let Some((m, page)) = &mut extras.metrics {
        let c = Counters {
            events_dropped,
            ..view.counters
        };
        let text = m.update(&report.phones.iter().collect::<Vec<_>>(), c);
        if let Ok(mut p) = page.lock() {
            *p = text;
        }
    }
    Ok(Session {
        report,
        events_dropped,
        lost,
        write_failed,
    })
}

/// The session's outputs besides its own lines: the metrics page and the event
/// lines.
struct Extras {
    metrics: Option<(Metrics, Page)>,
    queue: Option<EventQueue>,
    feed: Feed,
    /// The events' origin (its start set once the first frame is seen).
    origin: Origin,
}

/// What the session writes to and serves on, created while it still holds its
/// privileges.
struct Opened {
    metrics: Option<std::net::TcpListener>,
    events: Option<Box<dyn Write + Send>>,
}

impl Opened {
    fn create(opts: &LiveOptions) -> Result<Self, LiveError> {
        let metrics = match opts.metrics {
            Some(addr) => {
                Some(
                    std::net::TcpListener::bind(addr).map_err(|e| LiveError::Output {
                        what: format!("serve metrics on {addr}"),
                        detail: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        let events = match &opts.events {
            Some(path) => Some(events::open(path).map_err(|e| LiveError::Output {
                what: format!("write events to {}", path.display()),
                detail: e.to_string(),
            })?),
            None => None,
        };
        Ok(Opened { metrics, events })
    }
}

impl Extras {
    /// The threads that serve the metrics and write the events.
    fn start(opts: &LiveOptions, opened: Opened) -> Result<Self, LiveError> {
        let metrics = match opened.metrics {
            Some(listener) => {
                let page: Page = Arc::default();
                metrics::serve_on(listener, Arc::clone(&page)).map_err(|e| LiveError::Output {
                    what: "serve metrics".to_owned(),
                    detail: e.to_string(),
                })?;
                Some((Metrics::new(&opts.sensor), page))
            }
            None => None,
        };
        let queue = opened
            .events
            .map(|out| EventQueue::start(out, EVENT_QUEUE_LINES));
        Ok(Extras {
            metrics,
            queue,
            feed: Feed::default(),
            origin: Origin {
                start_micros: 0,
                sensor: Some(opts.sensor.clone()),
            },
        })
    }
}

/// What the session shows while it runs: the watcher and the screen's state.
struct View<'o> {
    output: Output,
    iface: String,
    started: Instant,
    watcher: Watcher,
    recent: VecDeque<String>,
    out: &'o mut dyn Write,
    extras: Extras,
    counters: Counters,
}

impl View<'_> {
    /// Read the capture counters (for the metrics).
    fn count(&mut self, src: &mut LiveSource) {
        if self.extras.metrics.is_some() {
            let c = src.counters();
            self.counters.received = c.received;
            self.counters.dropped = c.dropped_by_kernel + c.dropped_by_interface;
        }
    }

    /// Let the watcher look, and show what it found.
    fn show(&mut self, src: &LiveSource, pipeline: &Pipeline<'_>) {
        let events = self.watcher.poll(pipeline.engine(), now_ns());
        // Output errors (a closed pipe) do not stop the capture: the report still matters.
        match self.output {
            Output::Lines => {
                for e in events {
                    let _ = writeln!(self.out, "{}", render::text_line(e));
                }
            }
            Output::Json => {
                for e in events {
                    let _ = writeln!(self.out, "{}", render::json_line(e));
                }
            }
            Output::Screen => {
                for e in events {
                    if self.recent.len() == RECENT_LINES {
                        self.recent.pop_front();
                    }
                    self.recent.push_back(render::text_line(e));
                }
                let header = format!(
                    "bootscope live on {}: {} packet(s), {} boot message(s), {:.0} s — \
                     Ctrl-C for the report",
                    self.iface,
                    src.delivered().0,
                    pipeline.messages(),
                    self.started.elapsed().as_secs_f64()
                );
                let phones = self.watcher.phones();
                let screen = render::screen(&header, &phones, &self.recent, None);
                let _ = self.out.write_all(screen.as_bytes());
            }
        }
        let _ = self.out.flush();
        self.feed(pipeline);
    }

    /// The metrics and the event lines, from the verdicts the table shows.
    fn feed(&mut self, pipeline: &Pipeline<'_>) {
        let x = &mut self.extras;
        if x.metrics.is_some() || x.queue.is_some() {
            let phones = self.watcher.phones();
            if let Some(queue) = &x.queue {
                if let Some((first, _)) = pipeline.engine().span() {
                    x.origin.start_micros =
                        (crate::report::Seconds::from_secs(first as f64 / 1e9).as_secs() * 1e6)
                            .round() as i64;
                }
                for p in &phones {
                    x.feed.phone(p, &x.origin, queue);
                }
                self.counters.events_dropped = queue
                    .counters()
                    .dropped
                    .load(std::sync::atomic::Ordering::Relaxed);
            }
            if let Some((m, page)) = &mut x.metrics {
                let text = m.update(&phones, self.counters);
                if let Ok(mut p) = page.lock() {
                    *p = text;
                }
            }
        }
    }
}

/// What the replayer did.
#[derive(Debug, Clone, Default)]
pub struct ReplayStats {
    /// Frames sent.
    pub sent: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Frames not sent: not Ethernet.
    pub skipped: u64,
    /// Frames the interface refused (too long for its MTU, or down).
    pub failed: u64,
    /// The first refusal, in words.
    pub first_failure: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
    /// What the reader met.
    pub read: CaptureStats,
}

/// Failures of the replayer.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The interface could not be opened.
    #[error(transparent)]
    Live(#[from] LiveError),
}

/// Send the Ethernet frames of the capture at `path` out of `interface` at their
/// recorded pace divided by `speed` (`0`: as fast as possible).
///
/// # Errors
/// The capture cannot be read or the interface cannot be opened.
pub fn replay(path: &Path, interface: &str, speed: f64) -> Result<ReplayStats, ReplayError> {
    let file = capture::open(path)?;
    let mut inj = Injector::open(interface)?;
    let mut stats = ReplayStats::default();
    let started = Instant::now();
    let mut first_ts: Option<i64> = None;
    let read = file.for_each_frame(|frame| {
        if frame.linktype != Linktype::ETHERNET {
            stats.skipped += 1;
            return ControlFlow::Continue(());
        }
        let t0 = *first_ts.get_or_insert(frame.ts_ns);
        if speed > 0.0 {
            let offset_ns = (frame.ts_ns - t0).max(0) as f64 / speed;
            let due = started + Duration::from_nanos(offset_ns as u64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        match inj.send(frame.data) {
            Ok(()) => {
                stats.sent += 1;
                stats.bytes += frame.data.len() as u64;
            }
            Err(e) => {
                stats.failed += 1;
                stats.first_failure.get_or_insert_with(|| e.to_string());
            }
        }
        ControlFlow::Continue(())
    })?;
    stats.read = read;
    stats.elapsed = started.elapsed();
    Ok(stats)
}
