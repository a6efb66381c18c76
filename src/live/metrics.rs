//! `live --metrics ADDR`: Prometheus metrics in the text exposition format (0.0.4) on
//! `GET /metrics`.
//!
//! [`Metrics`] is fed the verdicts the live table shows (the watcher's, once per look:
//! no second analysis) and the capture counters, and renders the page then; the
//! [`serve`] thread only hands out the last page. std::net alone: one GET on one path
//! needs no HTTP crate, and a server written here has exactly the bounds it states.
//! The server takes one connection at a time, reads at most [`MAX_REQUEST`] bytes
//! within [`IO_TIMEOUT`] and answers with `Connection: close`: a hostile scraper can
//! hold up other scrapers for seconds at worst, never the capture (its own thread,
//! and the page behind a lock held only to swap or copy a string).
//!
//! Labels: `sensor` (the operator's), and values of a fixed vocabulary — status,
//! stage, severity, a finding code of the rules (`[a-z0-9-]`, else `other`), a VLAN
//! number. No string read from the wire becomes a label, so their count is bounded
//! and nothing a packet says can forge a series.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rules::{Severity, Stage};

use crate::report::{PhoneReport, Seconds, Status};

/// The most a request may hold (request line and headers).
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long one connection may take, reading and writing together.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// Upper bounds of the boot duration histogram, in seconds.
pub const DURATION_BUCKETS: [f64; 10] = [
    5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
];
/// Phones remembered for the boot counter and the histogram; past it new phones are
/// not counted (the engine's device table is bounded as well).
const MAX_TRACKED: usize = 100_000;

/// Every metric name the page holds (deploy files are checked against it).
pub const METRIC_NAMES: [&str; 9] = [
    "bootscope_phones",
    "bootscope_phones_stalled",
    "bootscope_findings",
    "bootscope_boots_total",
    "bootscope_boot_duration_seconds",
    "bootscope_capture_packets_received_total",
    "bootscope_capture_packets_dropped_total",
    "bootscope_events_dropped_total",
    "bootscope_info",
];

/// Capture counters as libpcap gives them, and the events dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Packets the filter passed.
    pub received: u64,
    /// Packets dropped (kernel buffer full, or the interface).
    pub dropped: u64,
    /// Event lines dropped (`--events` reader too slow).
    pub events_dropped: u64,
}

/// What a phone contributed so far: its boots, and the boot whose duration was observed.
#[derive(Default)]
struct Tracked {
    boots: u32,
    observed_boot: u32,
}

/// The state behind the page.
pub struct Metrics {
    sensor: String,
    tracked: HashMap<String, Tracked>,
    boots_total: u64,
    buckets: [u64; DURATION_BUCKETS.len()],
    duration_count: u64,
    duration_sum: f64,
}

/// A label value escaped as the exposition format asks: backslash, double quote and
/// line feed.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A finding code as a label: the rules' vocabulary (`[a-z0-9-]`, 1 to 64), else
/// `other`.
pub fn code_label(code: &str) -> &str {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        code
    } else {
        "other"
    }
}

/// This host's name (the default sensor name), or `bootscope` when none is set.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bootscope".to_owned())
}

fn secs(s: Seconds) -> f64 {
    s.as_secs()
}

impl Metrics {
    /// Metrics of a sensor (the `sensor` label of every series).
    pub fn new(sensor: &str) -> Self {
        Metrics {
            sensor: escape_label(sensor),
            tracked: HashMap::new(),
            boots_total: 0,
            buckets: [0; DURATION_BUCKETS.len()],
            duration_count: 0,
            duration_sum: 0.0,
        }
    }

    /// Take in the latest verdicts (the counters and the histogram grow), and render
    /// the page.
    pub fn update(&mut self, phones: &[&PhoneReport], counters: Counters) -> String {
        for p in phones {
            self.observe(p);
        }
        self.render(phones, counters)
    }

    fn observe(&mut self, p: &PhoneReport) {
        let Some(key) = p.mac.as_ref().or(p.device_name.as_ref()) else {
            return;
        };
        if !self.tracked.contains_key(key) && self.tracked.len() >= MAX_TRACKED {
            return;
        }
        if !self.tracked.contains_key(key) {
            self.tracked.insert(key.clone(), Tracked::default());
        }
        let Some(t) = self.tracked.get_mut(key) else {
            return;
        };
        if p.boots > t.boots {
            self.boots_total += u64::from(p.boots - t.boots);
            t.boots = p.boots;
        }
        if let Some(d) = p.boot_duration {
            if p.status == Status::Registered && t.observed_boot < p.boots.max(1) {
                t.observed_boot = p.boots.max(1);
                let d = secs(d);
                for (i, le) in DURATION_BUCKETS.iter().enumerate() {
                    if d <= *le {
                        if let Some(b) = self.buckets.get_mut(i) {
                            *b += 1;
                        }
                    }
                }
                self.duration_count += 1;
                self.duration_sum += d;
            }
        }
    }

    fn render(&self, phones: &[&PhoneReport], c: Counters) -> String {
        let s = &self.sensor;
        let mut out = String::with_capacity(4096);
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            &mut out,
            "bootscope_info",
            "gauge",
            "The bootscope version of this sensor.",
        );
        let _ = writeln!(
            out,
            "bootscope_info{{sensor=\"{s}\",version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );

        let mut status: BTreeMap<&str, u64> = [
            Status::Registered,
            Status::Stalled,
            Status::InProgress,
            Status::Seen,
        ]
        .iter()
        .map(|st| (st.as_str(), 0))
        .collect();
        let mut stalled: BTreeMap<(Stage, Option<u16>), u64> = BTreeMap::new();
        let mut findings: BTreeMap<(&str, Severity), u64> = BTreeMap::new();
        for p in phones {
            *status.entry(p.status.as_str()).or_default() += 1;
            if p.status == Status::Stalled {
                if let Some(stage) = p.stalled_stage {
                    *stalled.entry((stage, p.vlan)).or_default() += 1;
                }
            }
            for f in &p.findings {
                *findings
                    .entry((code_label(&f.code), f.severity))
                    .or_default() += 1;
            }
        }
        head(
            &mut out,
            "bootscope_phones",
            "gauge",
            "Phones followed, by status (as the live table shows them).",
        );
        for (st, n) in &status {
            let _ = writeln!(
                out,
                "bootscope_phones{{sensor=\"{s}\",status=\"{st}\"}} {n}"
            );
        }
        head(
            &mut out,
            "bootscope_phones_stalled",
            "gauge",
            "Stalled phones, by the stage they stalled at and their VLAN (none: not known).",
        );
        for ((stage, vlan), n) in &stalled {
            let vlan = vlan.map_or_else(|| "none".to_owned(), |v| v.to_string());
            let _ = writeln!(
                out,
                "bootscope_phones_stalled{{sensor=\"{s}\",stage=\"{}\",vlan=\"{vlan}\"}} {n}",
                stage.as_str()
            );
        }
        head(
            &mut out,
            "bootscope_findings",
            "gauge",
            "Findings on the phones' current verdicts, by code and severity.",
        );
        for ((code, sev), n) in &findings {
            let _ = writeln!(
                out,
                "bootscope_findings{{sensor=\"{s}\",code=\"{code}\",severity=\"{}\"}} {n}",
                sev.as_str()
            );
        }
        head(
            &mut out,
            "bootscope_boots_total",
            "counter",
            "Phone boots seen since the session started.",
        );
        let _ = writeln!(
            out,
            "bootscope_boots_total{{sensor=\"{s}\"}} {}",
            self.boots_total
        );
        head(
            &mut out,
            "bootscope_boot_duration_seconds",
            "histogram",
            "Seconds from a boot's first frame to its registration.",
        );
        for (le, n) in DURATION_BUCKETS.iter().zip(self.buckets) {
            let _ = writeln!(
                out,
                "bootscope_boot_duration_seconds_bucket{{sensor=\"{s}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "bootscope_boot_duration_seconds_bucket{{sensor=\"{s}\",le=\"+Inf\"}} {}\n\
             bootscope_boot_duration_seconds_sum{{sensor=\"{s}\"}} {}\n\
             bootscope_boot_duration_seconds_count{{sensor=\"{s}\"}} {}",
            self.duration_count, self.duration_sum, self.duration_count
        );
        for (name, help, v) in [
            (
                "bootscope_capture_packets_received_total",
                "Packets the capture filter passed (libpcap).",
                c.received,
            ),
            (
                "bootscope_capture_packets_dropped_total",
                "Packets dropped by the kernel buffer or the interface (libpcap).",
                c.dropped,
            ),
            (
                "bootscope_events_dropped_total",
                "Event lines dropped because the --events reader did not keep up.",
                c.events_dropped,
            ),
        ] {
            head(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name}{{sensor=\"{s}\"}} {v}");
        }
        out
    }
}

/// The page the server hands out, replaced at each look.
pub type Page = Arc<Mutex<String>>;

/// Listen on `addr` and serve `page` from a thread of its own.
///
/// # Errors
/// The address cannot be bound.
pub fn serve(addr: SocketAddr, page: Page) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_on(TcpListener::bind(addr)?, page)
}

/// [`serve`] on a socket already bound (before the session gave up its privileges).
///
/// # Errors
/// The thread cannot be started.
pub fn serve_on(listener: TcpListener, page: Page) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let local = listener.local_addr()?;
    let handle = std::thread::Builder::new()
        .name("bootscope-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                // One connection at a time; its failures are its own.
                match conn {
                    Ok(stream) => {
                        let _ = answer(stream, &page);
                    }
                    // Out of descriptors, say: wait rather than spin.
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        })?;
    Ok((local, handle))
}

/// Read one request (bounded in size and time) and answer it.
fn answer(mut stream: TcpStream, page: &Page) -> io::Result<()> {
    let deadline = Instant::now() + IO_TIMEOUT;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let complete = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) => break false,
            Ok(n) => {
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n")
                {
                    break true;
                }
                if buf.len() > MAX_REQUEST {
                    return respond(&mut stream, "431 Request Header Fields Too Large", "");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break false,
        }
    };
    if !complete {
        return Ok(());
    }
    let line = buf.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let body = page.lock().map(|p| p.clone()).unwrap_or_default();
            let body = if method == "HEAD" {
                String::new()
            } else {
                body
            };
            respond(&mut stream, "200 OK", &body)
        }
        ("GET" | "HEAD", _) => respond(&mut stream, "404 Not Found", "see /metrics\n"),
        _ => respond(&mut stream, "405 Method Not Allowed", ""),
    }
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}
