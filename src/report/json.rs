//! The report's JSON, all of it through serde: borrowed views of the report types, in
//! which times travel as whole microseconds ([`Seconds`]), define the document; the
//! report types serialise as their views. [`write_pretty`] writes the pretty document
//! with serde_json's `PrettyFormatter`, the device arrays a window at a time on every
//! core, so the document is never held whole (a 10 000-phone report is about 70 MB).

use std::io::{self, Write};

use rayon::prelude::*;
use rules::Stage;
use serde::{Serialize, Serializer};
use serde_json::ser::{Formatter, PrettyFormatter};

use super::{
    CaptureInfo, Expectation, Finding, LimitsInfo, LiveInfo, ModelPrediction, PhoneReport, Report,
    SiteFinding, Status, TimelineEntry,
};

/// Devices rendered per window, across the cores; then written in order.
const WINDOW: usize = 1024;
/// Devices one task renders into one buffer.
const CHUNK: usize = 32;

/// A time or duration of the report in seconds, held as whole microseconds (the
/// engine rounds every time to the microsecond), written as the seconds they make:
/// `micros as f64 / 1e6` through serde, its shortest decimal (`0.035947`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seconds {
    /// Whole microseconds.
    Micros(i64),
    /// A time that no count of microseconds writes as (`-0.0`, not rounded to the
    /// microsecond): kept as it came, so the document says what the report holds.
    Float(f64),
}

impl Seconds {
    /// The microseconds `secs` was rounded to, when `micros / 10^6` gives back that
    /// very float; else `secs` as it is.
    pub fn from_secs(secs: f64) -> Self {
        // The nearest count (the cast saturates; NaN gives 0) stands only if it gives
        // back `secs` to the bit, so a wrong guess costs nothing but the float kept.
        // Bits, not `==`: -0.0 must stay -0.0. No `f64::round`: a library call on
        // some targets, and a quarter of a million times in a large fleet's report.
        let micros = (secs * 1e6 + 0.5f64.copysign(secs)) as i64;
        if (micros as f64 / 1e6).to_bits() == secs.to_bits() {
            Seconds::Micros(micros)
        } else {
            Seconds::Float(secs)
        }
    }

    /// The time in seconds.
    pub fn as_secs(self) -> f64 {
        match self {
            Seconds::Micros(micros) => micros as f64 / 1e6,
            Seconds::Float(secs) => secs,
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a float that is not finite as null.
        s.serialize_f64(self.as_secs())
    }
}

// The views: the document's keys in order, the fields skipped when absent, and every
// time as `Seconds`. Each is made from its report type with every field named (no
// `..`), so a new field is a compile error until it is placed in the document.

/// A device entry (`phones` and `other_devices`).
#[derive(Serialize)]
struct DeviceView<'a> {
    mac: Option<&'a str>,
    device_name: Option<&'a str>,
    status: Status,
    stalled_stage: Option<Stage>,
    findings: &'a [Finding],
    timeline: &'a [TimelineEntry],
    kind: &'a str,
    identified_by: &'a str,
    model: Option<&'a str>,
    vlan: Option<u16>,
    ip: Option<&'a str>,
    protocol: Option<&'a str>,
    callmanager: Option<&'a str>,
    boots: u32,
    boot_started: Seconds,
    boot_duration: Option<Seconds>,
    expected_next: Option<&'a Expectation>,
    timeline_dropped: u64,
}

impl<'a> From<&'a PhoneReport> for DeviceView<'a> {
    fn from(p: &'a PhoneReport) -> Self {
        let PhoneReport {
            mac,
            device_name,
            status,
            stalled_stage,
            findings,
            timeline,
            kind,
            identified_by,
            model,
            vlan,
            ip,
            protocol,
            callmanager,
            boots,
            boot_started,
            boot_duration,
            expected_next,
            timeline_dropped,
        } = p;
        DeviceView {
            mac: mac.as_deref(),
            device_name: device_name.as_deref(),
            status: *status,
            stalled_stage: *stalled_stage,
            findings,
            timeline,
            kind,
            identified_by,
            model: model.as_deref(),
            vlan: *vlan,
            ip: ip.as_deref(),
            protocol: *protocol,
            callmanager: callmanager.as_deref(),
            boots: *boots,
            boot_started: Seconds::from_secs(*boot_started),
            boot_duration: boot_duration.map(Seconds::from_secs),
            expected_next: expected_next.as_ref(),
            timeline_dropped: *timeline_dropped,
        }
    }
}

/// A timeline entry.
#[derive(Serialize)]
struct TimelineView<'a> {
    time: Seconds,
    frame: u64,
    stage: Stage,
    event: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<&'a str>,
}

impl<'a> From<&'a TimelineEntry> for TimelineView<'a> {
    fn from(e: &'a TimelineEntry) -> Self {
        let TimelineEntry {
            time,
            frame,
            stage,
            event,
            kind,
            peer_role,
            peer,
            dir,
        } = e;
        TimelineView {
            time: Seconds::from_secs(*time),
            frame: *frame,
            stage: *stage,
            event,
            kind,
            peer_role: *peer_role,
            peer: peer.as_deref(),
            dir: *dir,
        }
    }
}

/// `expected_next`.
#[derive(Serialize)]
struct ExpectationView<'a> {
    stage: Stage,
    expected: &'a [String],
    after_frame: u64,
    after: &'a str,
    waited: Seconds,
    timeout: Seconds,
    model: Option<&'a ModelPrediction>,
}

impl<'a> From<&'a Expectation> for ExpectationView<'a> {
    fn from(x: &'a Expectation) -> Self {
        let Expectation {
            stage,
            expected,
            after_frame,
            after,
            waited,
            timeout,
            model,
        } = x;
        ExpectationView {
            stage: *stage,
            expected,
            after_frame: *after_frame,
            after,
            waited: Seconds::from_secs(*waited),
            timeout: Seconds::from_secs(*timeout),
            model: model.as_ref(),
        }
    }
}

/// `expected_next.model`.
#[derive(Serialize)]
struct ModelPredictionView<'a> {
    stage: Stage,
    expect: &'a str,
    within: Seconds,
    after_frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<&'a str>,
}

impl<'a> From<&'a ModelPrediction> for ModelPredictionView<'a> {
    fn from(m: &'a ModelPrediction) -> Self {
        let ModelPrediction {
            stage,
            expect,
            within,
            after_frame,
            peer_role,
            peer,
            dir,
        } = m;
        ModelPredictionView {
            stage: *stage,
            expect,
            within: Seconds::from_secs(*within),
            after_frame: *after_frame,
            peer_role: *peer_role,
            peer: peer.as_deref(),
            dir: *dir,
        }
    }
}

/// A site finding.
#[derive(Serialize)]
struct SiteFindingView<'a> {
    code: &'a str,
    severity: rules::Severity,
    stage: Stage,
    message: &'a str,
    vlan: Option<u16>,
    clients: u64,
    requests: u64,
    forged_chaddr: u64,
    source: Option<&'a str>,
    start: Seconds,
    end: Seconds,
    peak_per_second: u64,
    first_frame: u64,
    last_frame: u64,
    evidence: &'a [u64],
    checks: &'a [String],
}

impl<'a> From<&'a SiteFinding> for SiteFindingView<'a> {
    fn from(f: &'a SiteFinding) -> Self {
        let SiteFinding {
            code,
            severity,
            stage,
            message,
            vlan,
            clients,
            requests,
            forged_chaddr,
            source,
            start,
            end,
            peak_per_second,
            first_frame,
            last_frame,
            evidence,
            checks,
        } = f;
        SiteFindingView {
            code,
            severity: *severity,
            stage: *stage,
            message,
            vlan: *vlan,
            clients: *clients,
            requests: *requests,
            forged_chaddr: *forged_chaddr,
            source: source.as_deref(),
            start: Seconds::from_secs(*start),
            end: Seconds::from_secs(*end),
            peak_per_second: *peak_per_second,
            first_frame: *first_frame,
            last_frame: *last_frame,
            evidence,
            checks,
        }
    }
}

/// `capture`.
#[derive(Serialize)]
struct CaptureView<'a> {
    files: &'a [String],
    frames: u64,
    bytes: u64,
    start: Seconds,
    duration: Seconds,
    messages: u64,
    malformed: u64,
    unattributed: u64,
    stream_gaps: u64,
    devices_refused: u64,
    devices_evicted: u64,
    devices_frozen: u64,
    events_dropped: u64,
    transactions_evicted: u64,
    streams_evicted: u64,
    streams_untracked: u64,
    tftp_evicted: u64,
    bindings_refused: u64,
    limits: LimitsInfo,
    warnings: &'a [String],
    rules: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<&'a LiveInfo>,
}

impl<'a> From<&'a CaptureInfo> for CaptureView<'a> {
    fn from(c: &'a CaptureInfo) -> Self {
        let CaptureInfo {
            files,
            frames,
            bytes,
            start,
            duration,
            messages,
            malformed,
            unattributed,
            stream_gaps,
            devices_refused,
            devices_evicted,
            devices_frozen,
            events_dropped,
            transactions_evicted,
            streams_evicted,
            streams_untracked,
            tftp_evicted,
            bindings_refused,
            limits,
            warnings,
            rules,
            live,
        } = c;
        CaptureView {
            files,
            frames: *frames,
            bytes: *bytes,
            start: Seconds::from_secs(*start),
            duration: Seconds::from_secs(*duration),
            messages: *messages,
            malformed: *malformed,
            unattributed: *unattributed,
            stream_gaps: *stream_gaps,
            devices_refused: *devices_refused,
            devices_evicted: *devices_evicted,
            devices_frozen: *devices_frozen,
            events_dropped: *events_dropped,
            transactions_evicted: *transactions_evicted,
            streams_evicted: *streams_evicted,
            streams_untracked: *streams_untracked,
            tftp_evicted: *tftp_evicted,
            bindings_refused: *bindings_refused,
            limits: *limits,
            warnings,
            rules,
            live: live.as_ref(),
        }
    }
}

/// The report types serialise as their views.
macro_rules! serialize_as_view {
    ($($report:ty => $view:ident),* $(,)?) => {$(
        impl Serialize for $report {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $view::from(self).serialize(s)
            }
        }
    )*};
}

serialize_as_view! {
    PhoneReport => DeviceView,
    TimelineEntry => TimelineView,
    Expectation => ExpectationView,
    ModelPrediction => ModelPredictionView,
    SiteFinding => SiteFindingView,
    CaptureInfo => CaptureView,
}

/// Write `report` as pretty JSON (no trailing newline): what
/// `serde_json::to_writer_pretty` writes, the device arrays rendered on every core.
pub fn write_pretty(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // Every field named: a new field of `Report` is a compile error until it is
    // placed here, in the order its derive writes them.
    let Report {
        site_findings,
        phones,
        other_devices,
        summary,
        capture,
    } = report;
    // The document's object is opened, keyed and closed by serde_json's own pretty
    // formatter; each value is serialised with a copy of it at the value's depth.
    let mut doc = PrettyFormatter::new();
    doc.begin_object(out)?;
    field(out, &mut doc, true, "site_findings", |out, f| {
        value(out, f, site_findings)
    })?;
    field(out, &mut doc, false, "phones", |out, f| {
        devices(out, f, phones)
    })?;
    field(out, &mut doc, false, "other_devices", |out, f| {
        devices(out, f, other_devices)
    })?;
    field(out, &mut doc, false, "summary", |out, f| {
        value(out, f, summary)
    })?;
    field(out, &mut doc, false, "capture", |out, f| {
        value(out, f, capture)
    })?;
    doc.end_object(out)
}

/// One key and its value of the object `doc` is writing.
fn field(
    out: &mut dyn Write,
    doc: &mut PrettyFormatter<'static>,
    first: bool,
    key: &str,
    write_value: impl FnOnce(&mut dyn Write, &PrettyFormatter<'static>) -> io::Result<()>,
) -> io::Result<()> {
    doc.begin_object_key(out, first)?;
    value(out, doc, key)?;
    doc.end_object_key(out)?;
    doc.begin_object_value(out)?;
    write_value(out, doc)?;
    doc.end_object_value(out)
}

/// `v` serialised by serde_json at the depth of `formatter`.
fn value<W: Write + ?Sized>(
    out: &mut W,
    formatter: &PrettyFormatter<'static>,
    v: &(impl Serialize + ?Sized),
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, formatter.clone());
    v.serialize(&mut ser).map_err(io::Error::from)
}

/// A device array at the depth of `formatter`, as serde writes a sequence: the
/// entries are rendered a window at a time, each chunk into its own buffer on some
/// core, and written in order.
fn devices(
    out: &mut dyn Write,
    formatter: &PrettyFormatter<'static>,
    devices: &[PhoneReport],
) -> io::Result<()> {
    let mut array = formatter.clone();
    array.begin_array(out)?;
    // The chunks' buffers serve every window: grown in the first, refilled in place
    // after (no copy of a growing buffer, no fresh pages for each window).
    let mut buffers: Vec<Pieces> = Vec::new();
    for (w, window) in devices.chunks(WINDOW).enumerate() {
        buffers.resize_with(window.len().div_ceil(CHUNK), Pieces::default);
        window
            .par_chunks(CHUNK)
            .zip(buffers.par_iter_mut())
            .enumerate()
            .try_for_each(|(c, (chunk, buf))| -> io::Result<()> {
                buf.0.clear();
                for (i, device) in chunk.iter().enumerate() {
                    // Only the array's very first entry opens without a comma.
                    let first = w == 0 && c == 0 && i == 0;
                    array.clone().begin_array_value(&mut *buf, first)?;
                    value(&mut *buf, &array, device)?;
                }
                Ok(())
            })?;
        for buf in &buffers {
            out.write_all(&buf.0)?;
        }
    }
    if !devices.is_empty() {
        // What closes the array on a line of its own.
        array.end_array_value(out)?;
    }
    array.end_array(out)
}

/// A buffer for serde_json's writes, most of which are a byte or two (quotes,
/// punctuation, each level of indentation): those are pushed in place rather than
/// each made a call to copy.
#[derive(Default)]
struct Pieces(Vec<u8>);

impl Write for Pieces {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match *bytes {
            [a] => self.0.push(a),
            [a, b] => self.0.extend_from_slice(&[a, b]),
            _ => self.0.extend_from_slice(bytes),
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times as the engine rounds them: nanoseconds to seconds at the microsecond.
    fn engine_secs(ns: i64) -> f64 {
        (ns as f64 / 1e9 * 1e6).round() / 1e6
    }

    #[test]
    fn times_are_held_in_microseconds_and_give_back_the_same_float() {
        // A fixed pseudo-random spread (the same cases every run), of every size up to
        // a century.
        let mut rng = crate::rng::Rng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..100_000 {
            let x = rng.next_u64();
            let ns = ((x >> 12) % 3_200_000_000_000_000_000) as i64 >> ((x >> 4) % 60);
            for ns in [ns, -ns] {
                let secs = engine_secs(ns);
                let t = Seconds::from_secs(secs);
                // A time just before the start rounds to -0.0, which no count makes.
                let negative_zero = secs == 0.0 && secs.is_sign_negative();
                assert!(matches!(t, Seconds::Micros(_)) != negative_zero, "{ns} ns");
                assert_eq!(t.as_secs().to_bits(), secs.to_bits(), "{ns} ns");
            }
        }
        assert_eq!(Seconds::from_secs(0.035947), Seconds::Micros(35_947));
        assert_eq!(Seconds::from_secs(30.0), Seconds::Micros(30_000_000));
    }

    #[test]
    fn a_time_no_microseconds_make_is_written_as_it_came() {
        for secs in [
            -0.0,
            1e-7,
            0.1 + 0.2,
            1e300,
            1_700_000_000.123_456_7,
            f64::NAN,
        ] {
            let t = Seconds::from_secs(secs);
            assert!(matches!(t, Seconds::Float(_)), "{secs:e}");
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                serde_json::to_string(&secs).unwrap()
            );
        }
        assert_eq!(
            serde_json::to_string(&Seconds::Micros(35_947)).unwrap(),
            "0.035947"
        );
        assert_eq!(
            serde_json::to_string(&Seconds::Micros(-1)).unwrap(),
            "-1e-6"
        );
        assert_eq!(
            serde_json::to_string(&Seconds::Micros(12_000_000)).unwrap(),
            "12.0"
        );
    }

    /// The windows and chunks of the device arrays make the document serde writes
    /// for the whole report at once.
    #[test]
    fn the_document_written_by_windows_is_serdes_own() {
        let sample = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/mixed-site/capture.pcap"
        );
        let opts = crate::analyze::Options::default();
        let full = crate::analyze::run(std::path::Path::new(sample), &opts).unwrap();
        assert!(full.phones.len() > 1 && !full.other_devices.is_empty());
        let same_as_serde = |report: &Report| {
            let mut ours = Vec::new();
            write_pretty(report, &mut ours).unwrap();
            let theirs = serde_json::to_vec_pretty(report).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        };
        same_as_serde(&full);
        let mut report = full.clone();
        report.phones.clear();
        report.other_devices.clear();
        same_as_serde(&report);
        report.phones.push(full.phones[0].clone());
        same_as_serde(&report);
        // Across chunk and window boundaries.
        report.phones = full
            .phones
            .iter()
            .cycle()
            .take(WINDOW + CHUNK + 3)
            .cloned()
            .collect();
        report.other_devices = full.other_devices.clone();
        same_as_serde(&report);
    }
}
