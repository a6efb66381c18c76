//! `--events`: the report as one JSON object a line (NDJSON) for log pipelines — a
//! line per timeline entry (a boot event) and a line per finding, their fields named
//! as the Elastic Common Schema names them where one fits, the rest under
//! `bootscope.` (docs/events.md, field by field).
//!
//! The lines are made from verdicts (a [`Report`] or a live session's
//! [`PhoneReport`]s), never from frames: without `--events` the analysis does no
//! work for them. Wire strings reach them already escaped by the engine, and
//! serde_json escapes what JSON needs, so every line is one valid JSON object.
//!
//! [`EventQueue`] carries lines to a writer thread through a bounded queue, so a
//! reader that stops reading costs lines (counted), never capture.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rules::Severity;
use serde_json::{json, Map, Value};

use crate::report::{
    CaptureFinding, Finding, PhoneReport, Report, Seconds, SiteFinding, TimelineEntry,
};

/// `event.dataset` of a boot event.
pub const BOOT_DATASET: &str = "bootscope.boot";
/// `event.dataset` of a finding.
pub const FINDING_DATASET: &str = "bootscope.finding";

/// Microseconds since the epoch as RFC 3339 UTC with six decimals
/// (`2026-03-02T08:00:00.000123Z`).
pub fn rfc3339_micros(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = crate::report::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// A report time as whole microseconds.
fn micros(s: Seconds) -> i64 {
    match s {
        Seconds::Micros(m) => m,
        Seconds::Float(f) => (f * 1e6).round() as i64,
    }
}

/// ECS's MAC notation: upper case, hyphens (`00-1B-54-AA-00-01`).
fn ecs_mac(mac: &str) -> String {
    mac.replace(':', "-").to_ascii_uppercase()
}

/// `event.severity` (ECS: a number, higher is worse) and `log.level`.
fn severity_number(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Warning => 2,
        Severity::Error => 3,
    }
}

/// The protocol of a timeline entry, when its type or words say it.
fn protocol_of(phone: &PhoneReport, e: &TimelineEntry) -> Option<&'static str> {
    let by_type = [
        ("dhcp_", "dhcp"),
        ("dns_", "dns"),
        ("arp_", "arp"),
        ("eap", "eapol"),
        ("icmp", "icmp"),
    ];
    if let Some((_, p)) = by_type.iter().find(|(pre, _)| e.kind.starts_with(pre)) {
        return Some(p);
    }
    let by_words = [
        ("CDP", "cdp"),
        ("LLDP", "lldp"),
        ("TFTP", "tftp"),
        ("HTTP", "http"),
        ("TLS", "tls"),
    ];
    if let Some((_, p)) = by_words.iter().find(|(pre, _)| e.event.starts_with(pre)) {
        return Some(p);
    }
    match e.stage {
        rules::Stage::Registration => phone.protocol,
        _ => None,
    }
}

/// Where the lines are made: the capture's first frame (the origin of report times)
/// and, in a live session, the sensor.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The capture's first frame, microseconds since the epoch.
    pub start_micros: i64,
    /// `observer.name`: the sensor (live sessions).
    pub sensor: Option<String>,
}

impl Origin {
    /// The origin of `report`'s times.
    pub fn of(report: &Report, sensor: Option<String>) -> Self {
        Origin {
            start_micros: micros(report.capture.start),
            sensor,
        }
    }

    fn base(&self, at: Seconds, dataset: &str, kind: &str, message: String) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "@timestamp".into(),
            Value::String(rfc3339_micros(self.start_micros + micros(at))),
        );
        m.insert("message".into(), Value::String(message));
        m.insert("ecs".into(), json!({"version": "8.11.0"}));
        m.insert(
            "event".into(),
            json!({"kind": kind, "module": "bootscope", "dataset": dataset}),
        );
        if let Some(s) = &self.sensor {
            m.insert(
                "observer".into(),
                json!({"name": s, "type": "sensor", "product": "bootscope"}),
            );
        }
        m
    }

    /// The `host` and `network.vlan` fields of a phone, and its `bootscope.` part.
    fn phone_fields(&self, m: &mut Map<String, Value>, p: &PhoneReport) -> Map<String, Value> {
        let mut host = Map::new();
        if let Some(mac) = &p.mac {
            host.insert("mac".into(), json!([ecs_mac(mac)]));
        }
        if let Some(name) = &p.device_name {
            host.insert("name".into(), json!(name));
        }
        if let Some(ip) = &p.ip {
            host.insert("ip".into(), json!([ip]));
        }
        if let Some(model) = &p.model {
            host.insert("type".into(), json!(model));
        }
        if !host.is_empty() {
            m.insert("host".into(), Value::Object(host));
        }
        let mut network = Map::new();
        if let Some(vlan) = p.vlan {
            network.insert("vlan".into(), json!({"id": vlan.to_string()}));
        }
        m.insert("network".into(), Value::Object(network));
        let mut b = Map::new();
        b.insert("device_kind".into(), json!(p.kind));
        b.insert("status".into(), json!(p.status.as_str()));
        if let Some(s) = p.stalled_stage {
            b.insert("stalled_stage".into(), json!(s.as_str()));
        }
        b.insert("boots".into(), json!(p.boots));
        if let Some(mac) = &p.mac {
            b.insert("mac".into(), json!(mac));
        }
        b
    }

    /// One timeline entry of `p` as a boot event.
    pub fn boot_event(&self, p: &PhoneReport, e: &TimelineEntry) -> Value {
        let who = p.device_name.as_deref().or(p.mac.as_deref()).unwrap_or("?");
        let mut m = self.base(e.time, BOOT_DATASET, "event", format!("{who}: {}", e.event));
        let mut b = self.phone_fields(&mut m, p);
        if let Some(ev) = m.get_mut("event").and_then(Value::as_object_mut) {
            ev.insert("category".into(), json!(["network"]));
            ev.insert("type".into(), json!(["protocol"]));
            ev.insert("action".into(), json!(e.kind));
        }
        // The peer and the phone as source and destination, by the direction.
        let peer_ip = e.peer.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
        let phone_ip = p.ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
        let (src, dst) = match e.dir {
            Some("from_phone") => (phone_ip, peer_ip),
            Some("to_phone") => (peer_ip, phone_ip),
            _ => (None, None),
        };
        if let Some(ip) = src {
            m.insert("source".into(), json!({"ip": ip.to_string()}));
        }
        if let Some(ip) = dst {
            m.insert("destination".into(), json!({"ip": ip.to_string()}));
        }
        if let Some(Value::Object(n)) = m.get_mut("network") {
            if let Some(proto) = protocol_of(p, e) {
                n.insert("protocol".into(), json!(proto));
            }
            if let Some(dir) = e.dir {
                let d = if dir == "from_phone" {
                    "egress"
                } else {
                    "ingress"
                };
                n.insert("direction".into(), json!(d));
            }
        }
        b.insert("frame".into(), json!(e.frame));
        b.insert("stage".into(), json!(e.stage.as_str()));
        b.insert(
            "time".into(),
            serde_json::to_value(e.time).unwrap_or(Value::Null),
        );
        if let Some(r) = e.peer_role {
            b.insert("peer_role".into(), json!(r));
        }
        if let Some(peer) = &e.peer {
            b.insert("peer".into(), json!(peer));
        }
        if let Some(d) = e.dir {
            b.insert("dir".into(), json!(d));
        }
        m.insert("bootscope".into(), Value::Object(b));
        done(m)
    }

    /// One finding of `p` as an alert, at `at`.
    pub fn phone_finding(&self, p: &PhoneReport, f: &Finding, at: Seconds) -> Value {
        let who = p.device_name.as_deref().or(p.mac.as_deref()).unwrap_or("?");
        let mut m = self.base(
            at,
            FINDING_DATASET,
            "alert",
            format!("{who}: {}", f.message),
        );
        let mut b = self.phone_fields(&mut m, p);
        finding_fields(&mut m, &f.code, f.severity);
        b.insert("stage".into(), json!(f.stage.as_str()));
        b.insert("evidence".into(), json!(f.evidence));
        b.insert("checks".into(), json!(f.checks));
        m.insert("bootscope".into(), Value::Object(b));
        done(m)
    }

    fn site_finding(&self, f: &SiteFinding) -> Value {
        let mut m = self.base(f.start, FINDING_DATASET, "alert", f.message.clone());
        finding_fields(&mut m, &f.code, f.severity);
        if let Some(vlan) = f.vlan {
            m.insert("network".into(), json!({"vlan": {"id": vlan.to_string()}}));
        }
        let mut b = Map::new();
        b.insert("scope".into(), json!("site"));
        b.insert("stage".into(), json!(f.stage.as_str()));
        // Each kind's counts: a starvation's clients, a flood's messages.
        let counts = [
            ("clients", f.clients),
            ("requests", f.requests),
            ("forged_chaddr", f.forged_chaddr),
            ("messages", f.messages),
        ];
        for (name, n) in counts {
            if let Some(n) = n {
                b.insert(name.into(), json!(n));
            }
        }
        b.insert("peak_per_second".into(), json!(f.peak_per_second));
        if let Some(s) = &f.source {
            b.insert("source_mac".into(), json!(s));
        }
        b.insert("evidence".into(), json!(f.evidence));
        b.insert("checks".into(), json!(f.checks));
        m.insert("bootscope".into(), Value::Object(b));
        done(m)
    }

    fn capture_finding(&self, f: &CaptureFinding) -> Value {
        let mut m = self.base(
            Seconds::Micros(0),
            FINDING_DATASET,
            "alert",
            f.message.clone(),
        );
        finding_fields(&mut m, f.code, f.severity);
        m.insert(
            "bootscope".into(),
            json!({"scope": "capture", "checks": f.checks}),
        );
        Value::Object(m)
    }
}

/// The line, without an empty `network` object.
fn done(mut m: Map<String, Value>) -> Value {
    if m.get("network")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        m.remove("network");
    }
    Value::Object(m)
}

fn finding_fields(m: &mut Map<String, Value>, code: &str, severity: Severity) {
    if let Some(ev) = m.get_mut("event").and_then(Value::as_object_mut) {
        ev.insert("category".into(), json!(["network"]));
        let t = if severity == Severity::Error {
            "error"
        } else {
            "info"
        };
        ev.insert("type".into(), json!([t]));
        ev.insert("action".into(), json!(code));
        ev.insert("severity".into(), json!(severity_number(severity)));
    }
    m.insert("rule".into(), json!({"name": code, "ruleset": "bootscope"}));
    m.insert("log".into(), json!({"level": severity.as_str()}));
}

/// When a finding of `p` happened: its first evidence frame's time on the timeline,
/// else the last timeline entry's, else the start of the phone's last boot.
pub fn finding_time(p: &PhoneReport, f: &Finding) -> Seconds {
    f.evidence
        .iter()
        .find_map(|fr| p.timeline.iter().find(|e| e.frame == *fr).map(|e| e.time))
        .or_else(|| p.timeline.last().map(|e| e.time))
        .unwrap_or(p.boot_started)
}

/// Every line of `report`: each device's timeline entries then its findings
/// (phones, then the other devices), then the site's and the capture's findings.
pub fn lines<'a>(report: &'a Report, origin: &'a Origin) -> impl Iterator<Item = Value> + 'a {
    let devices = report.phones.iter().chain(&report.other_devices);
    let per_device = devices.flat_map(move |p| {
        let events = p.timeline.iter().map(move |e| origin.boot_event(p, e));
        let findings = p
            .findings
            .iter()
            .map(move |f| origin.phone_finding(p, f, finding_time(p, f)));
        events.chain(findings)
    });
    let site = report.site_findings.iter().map(|f| origin.site_finding(f));
    let capture = report
        .capture_findings
        .iter()
        .map(|f| origin.capture_finding(f));
    per_device.chain(site).chain(capture)
}

/// Write every line of `report` to `out`; the number written.
///
/// # Errors
/// Writing failed.
pub fn write(report: &Report, origin: &Origin, out: &mut dyn Write) -> io::Result<u64> {
    let mut n = 0;
    for v in lines(report, origin) {
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// What a live session has already written of a phone.
#[derive(Default)]
struct Written {
    last_frame: u64,
    alerted: std::collections::HashSet<(u32, String)>,
}

/// A live session's lines: each look at a phone's verdict writes its timeline
/// entries not written yet (by frame) and its findings not yet announced in this
/// boot (by code). A finding that later goes away (a step that did come after all)
/// was still announced once.
#[derive(Default)]
pub struct Feed {
    written: std::collections::HashMap<String, Written>,
}

impl Feed {
    /// Phones remembered; past it, new phones' lines are not written (the engine's
    /// device table is bounded as well).
    const MAX_PHONES: usize = 100_000;

    /// Queue the new lines of `p`.
    pub fn phone(&mut self, p: &PhoneReport, origin: &Origin, queue: &EventQueue) {
        let Some(key) = p.mac.as_ref().or(p.device_name.as_ref()) else {
            return;
        };
        if !self.written.contains_key(key) && self.written.len() >= Self::MAX_PHONES {
            return;
        }
        if !self.written.contains_key(key) {
            self.written.insert(key.clone(), Written::default());
        }
        let Some(w) = self.written.get_mut(key) else {
            return;
        };
        // A live timeline grows at its end, in frame order: only its tail is new.
        let new = p
            .timeline
            .iter()
            .rev()
            .take_while(|e| e.frame > w.last_frame)
            .count();
        let from = p.timeline.len() - new;
        for e in p.timeline.get(from..).unwrap_or_default() {
            queue.push(&origin.boot_event(p, e));
            w.last_frame = w.last_frame.max(e.frame);
        }
        for f in &p.findings {
            if w.alerted.insert((p.boots, f.code.clone())) {
                queue.push(&origin.phone_finding(p, f, finding_time(p, f)));
            }
        }
    }

    /// At the end of a session: the final report's phones, then the site's and the
    /// capture's findings.
    pub fn finish(&mut self, report: &Report, origin: &Origin, queue: &EventQueue) {
        for p in &report.phones {
            self.phone(p, origin, queue);
        }
        for f in &report.site_findings {
            queue.push(&origin.site_finding(f));
        }
        for f in &report.capture_findings {
            queue.push(&origin.capture_finding(f));
        }
    }
}

/// Where `--events` writes: a file (created, or truncated), or stdout for `-`.
///
/// # Errors
/// The file cannot be created.
pub fn open(path: &std::path::Path) -> io::Result<Box<dyn Write + Send>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(io::stdout()))
    } else {
        Ok(Box::new(std::fs::File::create(path)?))
    }
}

/// `analyze --events`: every line of `report` to `path` (`-`: stdout); the number
/// written. A closed pipe is the reader's choice, not a failure.
///
/// # Errors
/// The file cannot be created or written.
pub fn write_to(report: &Report, path: &std::path::Path) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 16, open(path)?);
    match write(report, &Origin::of(report, None), &mut out) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        r => r,
    }
}

/// Lines queued for a writer thread: at most `capacity` wait; past that a line is
/// dropped and counted, so a reader that stops reading never holds up the caller.
pub struct EventQueue {
    tx: Option<SyncSender<String>>,
    writer: Option<JoinHandle<()>>,
    counters: Arc<QueueCounters>,
}

/// What became of the queued lines (shared with the metrics).
#[derive(Debug, Default)]
pub struct QueueCounters {
    /// Lines handed to the queue.
    pub offered: AtomicU64,
    /// Lines the queue refused (full).
    pub dropped: AtomicU64,
    /// Lines written out.
    pub written: AtomicU64,
}

impl EventQueue {
    /// Start the writer thread on `out`, with room for `capacity` lines.
    pub fn start(out: Box<dyn Write + Send>, capacity: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel::<String>(capacity.max(1));
        let counters = Arc::new(QueueCounters::default());
        let c = Arc::clone(&counters);
        let writer = std::thread::Builder::new()
            .name("bootscope-events".into())
            .spawn(move || {
                let mut out = io::BufWriter::new(out);
                while let Ok(first) = rx.recv() {
                    // What waits goes out in one batch, flushed when the queue runs
                    // dry: lines leave as they come. Counted once flushed.
                    let mut batch = 0;
                    let mut next = Some(first);
                    while let Some(line) = next {
                        if out.write_all(line.as_bytes()).is_err() {
                            return;
                        }
                        batch += 1;
                        next = rx.try_recv().ok();
                    }
                    if out.flush().is_err() {
                        return;
                    }
                    c.written.fetch_add(batch, Ordering::Relaxed);
                }
                let _ = out.flush();
            })
            .ok();
        EventQueue {
            tx: Some(tx),
            writer,
            counters,
        }
    }

    /// The counters (for the metrics).
    pub fn counters(&self) -> Arc<QueueCounters> {
        Arc::clone(&self.counters)
    }

    /// Queue one JSON value as a line; dropped (and counted) when the queue is full.
    pub fn push(&self, v: &Value) {
        self.counters.offered.fetch_add(1, Ordering::Relaxed);
        let Some(tx) = &self.tx else { return };
        let mut line = v.to_string();
        line.push('\n');
        match tx.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Close the queue and give the writer up to `grace` to write what waits; the
    /// lines not written (refused, or still waiting when the grace ran out).
    pub fn finish(mut self, grace: Duration) -> u64 {
        drop(self.tx.take());
        let until = Instant::now() + grace;
        if let Some(w) = self.writer.take() {
            while !w.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if w.is_finished() {
                let _ = w.join();
            }
            // Else the writer is stuck on a reader that does not read: left behind,
            // it ends with the process.
        }
        let c = &self.counters;
        c.offered
            .load(Ordering::Relaxed)
            .saturating_sub(c.written.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        // `date -u -d @1772438400` and `date -u -d @0`.
        assert_eq!(
            rfc3339_micros(1_772_438_400_000_123),
            "2026-03-02T08:00:00.000123Z"
        );
        assert_eq!(rfc3339_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_micros(951_782_400_500_000),
            "2000-02-29T00:00:00.500000Z"
        );
        assert_eq!(rfc3339_micros(-1), "1969-12-31T23:59:59.999999Z");
    }

    /// A writer that never returns from a write until told: a reader that stopped.
    struct Stuck(Arc<AtomicU64>);
    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            while self.0.load(Ordering::Relaxed) == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_never_reads_costs_lines_not_time() {
        let release = Arc::new(AtomicU64::new(0));
        let q = EventQueue::start(Box::new(Stuck(Arc::clone(&release))), 4);
        let started = Instant::now();
        for i in 0..10_000 {
            q.push(&json!({"n": i}));
        }
        // Ten thousand pushes against a writer that never writes: no waiting.
        assert!(started.elapsed() < Duration::from_secs(2));
        let c = q.counters();
        let dropped = c.dropped.load(Ordering::Relaxed);
        // The queue holds four, the writer's buffer what it took before it stuck:
        // the rest are dropped.
        assert!(dropped >= 8_000, "{dropped}");
        let lost = q.finish(Duration::from_millis(100));
        assert_eq!(lost, 10_000, "nothing was written");
        release.store(1, Ordering::Relaxed);
    }

    #[test]
    fn a_reader_that_reads_gets_every_line_in_order() {
        let path = std::env::temp_dir().join(format!("bootscope-events-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let q = EventQueue::start(Box::new(file), 1 << 16);
        for i in 0..1000 {
            q.push(&json!({"n": i}));
        }
        assert_eq!(q.finish(Duration::from_secs(10)), 0);
        let text = std::fs::read_to_string(&path).unwrap();
        let ns: Vec<i64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["n"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ns, (0..1000).collect::<Vec<_>>());
        let _ = std::fs::remove_file(&path);
    }
}
