//! The report as pretty JSON: byte for byte what `serde_json::to_writer_pretty` writes,
//! with the devices rendered on every core, a window at a time, so the document is
//! never held whole (a 10 000-phone report is about 70 MB of JSON). The device
//! entries are written by hand (serde's derive is kept for every other use, and the
//! tests hold the two to the same bytes); the rest of the document goes through serde.

use std::io::{self, Write};

use rayon::prelude::*;
use rules::Stage;
use serde_json::ser::{CompactFormatter, Formatter};

use super::{Expectation, Finding, ModelPrediction, PhoneReport, Report, TimelineEntry};

/// Devices rendered per window, across the cores; then written in order.
const WINDOW: usize = 1024;
/// Devices one task renders into one buffer.
const CHUNK: usize = 32;

/// Write `report` as pretty JSON (no trailing newline).
pub fn write_pretty(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // Everything but the two device lists, rendered by serde as usual. Listing the
    // fields here (no `..`) makes a new field of `Report` a compile error until it is
    // placed in the document.
    let shell = Report {
        site_findings: report.site_findings.clone(),
        phones: Vec::new(),
        other_devices: Vec::new(),
        summary: report.summary.clone(),
        capture: report.capture.clone(),
    };
    let head = serde_json::to_vec_pretty(&shell)?;
    let mut rest = head.as_slice();
    for (key, devices) in [
        (&b"\n  \"phones\": "[..], &report.phones),
        (&b"\n  \"other_devices\": "[..], &report.other_devices),
    ] {
        // Keys of nested objects are indented deeper, and strings escape their
        // quotes: this is the top-level key's one place.
        let at = find(rest, key)
            .and_then(|i| rest.get(i + key.len()..).map(|after| (i, after)))
            .filter(|(_, after)| after.starts_with(b"[]"));
        let Some((i, after)) = at else {
            return Err(io::Error::other("report shell without its device list"));
        };
        out.write_all(&rest[..i + key.len()])?;
        write_devices(devices, out)?;
        rest = &after[2..];
    }
    out.write_all(rest)
}

/// A top-level array of devices, as the pretty printer writes it at depth 1.
fn write_devices(devices: &[PhoneReport], out: &mut dyn Write) -> io::Result<()> {
    if devices.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    let mut first = true;
    for window in devices.chunks(WINDOW) {
        let rendered: Vec<Vec<u8>> = window
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.iter().map(estimated_len).sum());
                for dev in chunk {
                    buf.extend_from_slice(b",\n    ");
                    device(&mut buf, dev);
                }
                buf
            })
            .collect();
        for buf in rendered {
            // Every element was written with its leading comma; the first has none.
            let skip = if first { 1 } else { 0 };
            first = false;
            out.write_all(&buf[skip..])?;
        }
    }
    out.write_all(b"\n  ]")
}

/// A little over the bytes of a device's entry (short of escapes): a chunk's buffer
/// is sized once rather than grown, and copied, as it fills.
fn estimated_len(p: &PhoneReport) -> usize {
    // Keys, indentation, numbers and names: under 2 KiB a device, 320 bytes a
    // timeline entry and 400 a finding, besides their texts.
    let texts = |strings: &[String]| strings.iter().map(|s| 16 + s.len()).sum::<usize>();
    let entries: usize = p
        .timeline
        .iter()
        .map(|e| 320 + e.event.len() + e.peer.as_ref().map_or(0, String::len))
        .sum();
    let findings: usize = p
        .findings
        .iter()
        .map(|f| 400 + f.message.len() + texts(&f.checks) + 32 * f.evidence.len())
        .sum();
    let expected = p
        .expected_next
        .as_ref()
        .map_or(0, |x| 1024 + texts(&x.expected) + x.after.len());
    2048 + entries + findings + expected
}

// The device entries, written by hand straight into the buffer: byte for byte what
// serde_json's `PrettyFormatter` writes for the derived `Serialize` (same keys in the
// same order, the same skipped fields, its string escaping and its own number
// formatting), at a fraction of the cost: a 10 000-phone report has a quarter of a
// million timeline entries. The entries always sit at the same depth (inside the
// document and its device array), so every key, with its indentation, is one constant.

/// The pretty printer's indentation (two spaces a level) for the levels used here.
macro_rules! indent {
    (2) => {
        "    "
    };
    (3) => {
        "      "
    };
    (4) => {
        "        "
    };
    (5) => {
        "          "
    };
}

/// An object key as the pretty printer writes it: `,\n<indent>"name": ` (the first
/// key of an object has no comma). Keys are written unescaped: they are these literals.
macro_rules! key {
    ($out:expr, first, $level:tt, $name:literal) => {
        $out.extend_from_slice(concat!("\n", indent!($level), "\"", $name, "\": ").as_bytes())
    };
    ($out:expr, $level:tt, $name:literal) => {
        $out.extend_from_slice(concat!(",\n", indent!($level), "\"", $name, "\": ").as_bytes())
    };
}

/// The end of a non-empty object or array opened at `$level`.
macro_rules! close {
    ($out:expr, $level:tt, $bracket:literal) => {
        $out.extend_from_slice(concat!("\n", indent!($level), $bracket).as_bytes())
    };
}

/// One device entry at depth 2, exactly as `PrettyFormatter` writes it there.
fn device(out: &mut Vec<u8>, p: &PhoneReport) {
    // Every field named (no `..`): a new field is a compile error until written here.
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
    out.push(b'{');
    key!(out, first, 3, "mac");
    opt_string(out, mac.as_deref());
    key!(out, 3, "device_name");
    opt_string(out, device_name.as_deref());
    key!(out, 3, "status");
    string(out, status.as_str());
    key!(out, 3, "stalled_stage");
    opt_string(out, stalled_stage.map(Stage::as_str));
    key!(out, 3, "findings");
    array(out, findings, 3, finding);
    key!(out, 3, "timeline");
    timeline_array(out, timeline);
    key!(out, 3, "kind");
    string(out, kind);
    key!(out, 3, "identified_by");
    string(out, identified_by);
    key!(out, 3, "model");
    opt_string(out, model.as_deref());
    key!(out, 3, "vlan");
    match vlan {
        Some(v) => integer(out, (*v).into()),
        None => null(out),
    }
    key!(out, 3, "ip");
    opt_string(out, ip.as_deref());
    key!(out, 3, "protocol");
    opt_string(out, *protocol);
    key!(out, 3, "callmanager");
    opt_string(out, callmanager.as_deref());
    key!(out, 3, "boots");
    integer(out, (*boots).into());
    key!(out, 3, "boot_started");
    float(out, *boot_started);
    key!(out, 3, "boot_duration");
    match boot_duration {
        Some(d) => float(out, *d),
        None => null(out),
    }
    key!(out, 3, "expected_next");
    match expected_next {
        Some(x) => expectation(out, x),
        None => null(out),
    }
    key!(out, 3, "timeline_dropped");
    integer(out, *timeline_dropped);
    close!(out, 2, "}");
}

/// A finding, an element of `findings` (depth 4).
fn finding(out: &mut Vec<u8>, f: &Finding) {
    let Finding {
        code,
        severity,
        stage,
        message,
        evidence,
        checks,
    } = f;
    out.push(b'{');
    key!(out, first, 5, "code");
    string(out, code);
    key!(out, 5, "severity");
    string(out, severity.as_str());
    key!(out, 5, "stage");
    string(out, stage.as_str());
    key!(out, 5, "message");
    string(out, message);
    key!(out, 5, "evidence");
    array(out, evidence, 5, |out, frame| integer(out, *frame));
    key!(out, 5, "checks");
    array(out, checks, 5, |out, check| string(out, check));
    close!(out, 4, "}");
}

/// `timeline` (depth 3): what [`array`] writes, with each entry's opening (the
/// comma, indentation, brace and first key) and closing as single literals: a
/// 10 000-phone report has a quarter of a million entries.
fn timeline_array(out: &mut Vec<u8>, entries: &[TimelineEntry]) {
    let Some((first, rest)) = entries.split_first() else {
        out.extend_from_slice(b"[]");
        return;
    };
    out.extend_from_slice(concat!("[\n", indent!(4), "{\n", indent!(5), "\"time\": ").as_bytes());
    timeline_entry(out, first);
    for e in rest {
        out.extend_from_slice(
            concat!(
                "\n",
                indent!(4),
                "},\n",
                indent!(4),
                "{\n",
                indent!(5),
                "\"time\": "
            )
            .as_bytes(),
        );
        timeline_entry(out, e);
    }
    out.extend_from_slice(concat!("\n", indent!(4), "}\n", indent!(3), "]").as_bytes());
}

/// A timeline entry's fields (depth 5), from its time on: its braces and first
/// key are [`timeline_array`]'s.
fn timeline_entry(out: &mut Vec<u8>, e: &TimelineEntry) {
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
    float(out, *time);
    key!(out, 5, "frame");
    integer(out, *frame);
    stage_field(out, *stage);
    key!(out, 5, "event");
    string(out, event);
    key!(out, 5, "type");
    string(out, kind);
    exchange(out, *peer_role, peer.as_deref(), *dir);
}

/// `expected_next` (depth 3).
fn expectation(out: &mut Vec<u8>, x: &Expectation) {
    let Expectation {
        stage,
        expected,
        after_frame,
        after,
        waited,
        timeout,
        model,
    } = x;
    out.push(b'{');
    key!(out, first, 4, "stage");
    string(out, stage.as_str());
    key!(out, 4, "expected");
    array(out, expected, 4, |out, step| string(out, step));
    key!(out, 4, "after_frame");
    integer(out, *after_frame);
    key!(out, 4, "after");
    string(out, after);
    key!(out, 4, "waited");
    float(out, *waited);
    key!(out, 4, "timeout");
    float(out, *timeout);
    key!(out, 4, "model");
    match model {
        Some(m) => model_prediction(out, m),
        None => null(out),
    }
    close!(out, 3, "}");
}

/// `expected_next.model` (depth 4).
fn model_prediction(out: &mut Vec<u8>, m: &ModelPrediction) {
    let ModelPrediction {
        stage,
        expect,
        within,
        after_frame,
        peer_role,
        peer,
        dir,
    } = m;
    out.push(b'{');
    key!(out, first, 5, "stage");
    string(out, stage.as_str());
    key!(out, 5, "expect");
    string(out, expect);
    key!(out, 5, "within");
    float(out, *within);
    key!(out, 5, "after_frame");
    integer(out, *after_frame);
    exchange(out, *peer_role, peer.as_deref(), *dir);
    close!(out, 4, "}");
}

/// `peer_role`, `peer` and `dir` of a timeline entry or a model prediction (depth 5):
/// `skip_serializing_if = "Option::is_none"`, so absent, not null.
fn exchange(out: &mut Vec<u8>, peer_role: Option<&str>, peer: Option<&str>, dir: Option<&str>) {
    if let Some(role) = peer_role {
        key!(out, 5, "peer_role");
        if !role_name(out, role) {
            string(out, role);
        }
    }
    if let Some(peer) = peer {
        key!(out, 5, "peer");
        string(out, peer);
    }
    if let Some(dir) = dir {
        key!(out, 5, "dir");
        if !direction_name(out, dir) {
            string(out, dir);
        }
    }
}

/// Writes a name quoted, as one copy of a fixed size.
macro_rules! quoted {
    ($out:expr, $name:literal) => {
        $out.extend_from_slice(concat!("\"", $name, "\"").as_bytes())
    };
}

/// A peer role's name (`PeerRole::as_str`: nearly every timeline entry has one),
/// quoted, as one copy of a fixed size; `false` (nothing written) for any other
/// string. A test holds the list to the enum's names.
fn role_name(out: &mut Vec<u8>, name: &str) -> bool {
    match name {
        "dhcp_server" => quoted!(out, "dhcp_server"),
        "file_server" => quoted!(out, "file_server"),
        "call_manager" => quoted!(out, "call_manager"),
        "switch" => quoted!(out, "switch"),
        _ => return false,
    }
    true
}

/// A direction's name (`Direction::as_str`), as [`role_name`] writes a role's.
fn direction_name(out: &mut Vec<u8>, name: &str) -> bool {
    match name {
        "from_phone" => quoted!(out, "from_phone"),
        "to_phone" => quoted!(out, "to_phone"),
        _ => return false,
    }
    true
}

/// A newline and the indentation of `level` (up to 8 levels).
const NEWLINE_INDENT: &[u8] = b"\n                ";

/// An array whose brackets sit at `level` and elements one level deeper; `[]` when
/// empty.
fn array<T>(out: &mut Vec<u8>, items: &[T], level: usize, mut each: impl FnMut(&mut Vec<u8>, &T)) {
    if items.is_empty() {
        out.extend_from_slice(b"[]");
        return;
    }
    let inner = NEWLINE_INDENT
        .get(..3 + 2 * level)
        .unwrap_or(NEWLINE_INDENT);
    let outer = NEWLINE_INDENT
        .get(..1 + 2 * level)
        .unwrap_or(NEWLINE_INDENT);
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(inner);
        each(out, item);
    }
    out.extend_from_slice(outer);
    out.push(b']');
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"null");
}

/// An unsigned integer, through serde_json's own formatter.
fn integer(out: &mut Vec<u8>, n: u64) {
    // Writing to a Vec cannot fail.
    let _ = CompactFormatter.write_u64(out, n);
}

/// A timeline entry's `stage` key and value (depth 5) as one literal, a copy of a
/// fixed size (stage names need no escape; a test holds them to serde's).
fn stage_field(out: &mut Vec<u8>, stage: Stage) {
    macro_rules! field {
        ($name:literal) => {
            out.extend_from_slice(
                concat!(",\n", indent!(5), "\"stage\": \"", $name, "\"").as_bytes(),
            )
        };
    }
    match stage {
        Stage::Discovery => field!("discovery"),
        Stage::Dhcp => field!("dhcp"),
        Stage::Config => field!("config"),
        Stage::Firmware => field!("firmware"),
        Stage::Registration => field!("registration"),
    }
}

/// A float as serde_json writes it: its own shortest form, `null` when not finite.
#[inline]
fn float(out: &mut Vec<u8>, v: f64) {
    if let Some(micros) = whole_micros(v) {
        micros_text(out, micros);
    } else if v.is_finite() {
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_f64(out, v);
    } else {
        null(out);
    }
}

/// The whole number `k` of microseconds `v` stands for, when `v` is exactly the
/// float nearest to `k / 10^6` and `k` has 2 to 15 digits: what the report's times
/// and durations, rounded to the microsecond, nearly always are.
///
/// Then `k / 10^6` (trailing zeros dropped) is the shortest decimal that reads back
/// as `v`, which is what serde's formatter writes: it reads back as `v` (`v` is its
/// nearest float), and no other decimal of at most 15 significant digits does
/// (those lie at least 10^-15 of their size apart; a float's rounding interval
/// spans under 2.3·10^-16 of it). From 10 µs up, serde writes it without exponent.
fn whole_micros(v: f64) -> Option<i64> {
    const DIGITS_15: u64 = 1_000_000_000_000_000;
    // Near `k` (checked below: a rounding error here only loses the fast path).
    let k = (v * 1e6 + 0.5f64.copysign(v)) as i64;
    let magnitude = k.unsigned_abs();
    ((10..DIGITS_15).contains(&magnitude) && k as f64 / 1e6 == v).then_some(k)
}

/// `micros / 10^6` as serde's formatter writes it in fixed notation: a `-` when
/// negative, the whole seconds, the point, and the six digits of the fraction
/// without their trailing zeros (one kept: `12.0`). Written into a buffer, the
/// whole part leftward from the point, and appended as a copy of a fixed size.
fn micros_text(out: &mut Vec<u8>, micros: i64) {
    // The point's place: room before it for a sign and nine whole digits
    // (|micros| < 10^15), after it for the fixed copy of 24 bytes.
    const POINT: usize = 16;
    let m = micros.unsigned_abs();
    let mut whole = m / 1_000_000;
    let fraction = (m % 1_000_000) as usize;
    let mut buf = [0u8; POINT + 24];
    let mut start = POINT;
    let mut put = |at: usize, digits: &[u8]| {
        if let Some(slot) = buf.get_mut(at..at + digits.len()) {
            slot.copy_from_slice(digits);
        }
    };
    while whole >= 100 {
        start -= 2;
        put(start, &TWO_DIGITS[(whole % 100) as usize]);
        whole /= 100;
    }
    if whole >= 10 {
        start -= 2;
        put(start, &TWO_DIGITS[whole as usize]);
    } else {
        start -= 1;
        put(start, &[b'0' + whole as u8]);
    }
    if micros < 0 {
        start -= 1;
        put(start, b"-");
    }
    put(POINT, b".");
    put(POINT + 1, &TWO_DIGITS[fraction / 10_000]);
    put(POINT + 3, &TWO_DIGITS[fraction / 100 % 100]);
    put(POINT + 5, &TWO_DIGITS[fraction % 100]);
    let mut kept = 6;
    let mut rest = fraction;
    while kept > 1 && rest % 10 == 0 {
        rest /= 10;
        kept -= 1;
    }
    let len = POINT + 1 + kept - start;
    let at = out.len();
    if let Some(text) = buf
        .get(start..start + 24)
        .and_then(|t| <&[u8; 24]>::try_from(t).ok())
    {
        out.extend_from_slice(text);
        out.truncate(at + len);
    }
}

/// `00` to `99`.
const TWO_DIGITS: [[u8; 2]; 100] = {
    let mut table = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        table[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    table
};

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => null(out),
    }
}

/// A JSON string, escaped as serde_json escapes it: `"` and `\`, and the control
/// characters below U+0020 (`\b \t \n \f \r`, else `\u00XX`); nothing else.
#[inline(always)]
fn string(out: &mut Vec<u8>, s: &str) {
    if !short_string(out, s.as_bytes()) {
        long_string(out, s.as_bytes());
    }
}

/// The longest string [`short_string`] takes.
const SHORT: usize = 16;

/// A string of up to [`SHORT`] bytes with nothing to escape, written without a
/// call; `false` (nothing written) for any other. Most strings of the report are
/// such (stage, type, role and direction names, addresses, MACs): their bytes are
/// loaded as two overlapping words, checked a word at a time, stored with the
/// quotes into a fixed buffer, and the buffer is appended whole and cut to length,
/// so no copy has a length known only at run time.
#[inline(always)]
fn short_string(out: &mut Vec<u8>, b: &[u8]) -> bool {
    let n = b.len();
    let mut buf = [0u8; SHORT + 2];
    buf[0] = b'"';
    let stored = match n {
        0 => Some(()),
        1..=3 => {
            // The first, middle and last bytes cover them all.
            let (first, middle, last) = (b[0], b[n / 2], b[n - 1]);
            let escape = |x: u8| NEEDS_ESCAPE[usize::from(x)];
            (!(escape(first) | escape(middle) | escape(last))).then(|| {
                buf[1] = first;
                buf[1 + n / 2] = middle;
                buf[n] = last;
            })
        }
        4..=7 => {
            let (head, tail) = (word::<4>(b, 0), word::<4>(b, n - 4));
            let both =
                u64::from(u32::from_le_bytes(head)) | u64::from(u32::from_le_bytes(tail)) << 32;
            (!needs_escape(both)).then(|| {
                put(&mut buf, 1, head);
                put(&mut buf, n - 3, tail);
            })
        }
        8..=SHORT => {
            let (head, tail) = (word::<8>(b, 0), word::<8>(b, n - 8));
            let clean =
                !needs_escape(u64::from_le_bytes(head)) && !needs_escape(u64::from_le_bytes(tail));
            clean.then(|| {
                put(&mut buf, 1, head);
                put(&mut buf, n - 7, tail);
            })
        }
        _ => None,
    };
    if stored.is_none() {
        return false;
    }
    buf[n + 1] = b'"';
    let start = out.len();
    out.extend_from_slice(&buf);
    out.truncate(start + n + 2);
    true
}

/// The `N` bytes of `b` at `at` (zeros past its end, which callers never ask for).
#[inline]
fn word<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..at + N)
        .and_then(|w| w.try_into().ok())
        .unwrap_or([0; N])
}

/// Store `bytes` into `buf` at `at` (dropped past its end, which callers never do).
#[inline]
fn put<const N: usize>(buf: &mut [u8], at: usize, bytes: [u8; N]) {
    if let Some(slot) = buf.get_mut(at..at + N) {
        slot.copy_from_slice(&bytes);
    }
}

/// Any other string: checked a word at a time (no byte of it escaped), then copied
/// at once; one with a byte to escape goes byte by byte.
#[inline]
fn long_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if is_clean(bytes) {
        out.extend_from_slice(bytes);
    } else {
        escaped(out, bytes);
    }
    out.push(b'"');
}

/// Whether no byte of `bytes` needs escaping: eight bytes at a time, the last ones
/// as the word that ends the string (overlapping the one before).
fn is_clean(bytes: &[u8]) -> bool {
    let Some(last_at) = bytes.len().checked_sub(8) else {
        return !bytes.iter().any(|&b| NEEDS_ESCAPE[usize::from(b)]);
    };
    // No early exit: a straight loop over the few words of a text.
    let dirty = bytes
        .chunks_exact(8)
        .map(|w| escape_bits(u64::from_le_bytes(word::<8>(w, 0))))
        .fold(0, |acc, bits| acc | bits);
    dirty | escape_bits(u64::from_le_bytes(word::<8>(bytes, last_at))) == 0
}

/// Whether serde_json escapes the byte: `"`, `\` and the controls below 0x20.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether one of the eight bytes of `x` needs escaping.
#[inline]
fn needs_escape(x: u64) -> bool {
    escape_bits(x) != 0
}

/// Nonzero when one of the eight bytes of `x` needs escaping (SWAR): a byte below
/// 0x20, or equal to `"` or `\` (a zero byte once XORed with them). The test
/// `(x - 0x01..·n) & !x & 0x80..` tells whether some byte is below `n` (for `n` at
/// most 0x80); it is exact for the word as a whole, which is all that is asked.
#[inline]
fn escape_bits(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    (below(x, 0x20) | below(quote, 1) | below(backslash, 1)) & HIGHS
}

/// The byte's escape letter (`u` for `\u00XX`), when it needs one.
fn escape(b: u8) -> Option<u8> {
    match b {
        0x08 => Some(b'b'),
        b'\t' => Some(b't'),
        b'\n' => Some(b'n'),
        0x0c => Some(b'f'),
        b'\r' => Some(b'r'),
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        0x00..=0x1f => Some(b'u'),
        _ => None,
    }
}

fn escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let Some(letter) = escape(b) else { continue };
        out.extend_from_slice(bytes.get(run_start..i).unwrap_or_default());
        run_start = i + 1;
        if letter == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', letter]);
        }
    }
    out.extend_from_slice(bytes.get(run_start..).unwrap_or_default());
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;
    use rules::Severity;

    use super::*;
    use crate::report::{ModelPrediction, Status};

    fn same_as_serde(report: &Report) {
        let mut ours = Vec::new();
        write_pretty(report, &mut ours).unwrap();
        let theirs = serde_json::to_vec_pretty(report).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs).unwrap()
        );
    }

    fn with_phones(phones: Vec<PhoneReport>) -> Report {
        Report {
            site_findings: Vec::new(),
            phones,
            other_devices: Vec::new(),
            summary: Default::default(),
            capture: Default::default(),
        }
    }

    #[test]
    fn equals_serde_json_for_none_one_and_many_devices() {
        let sample = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/mixed-site/capture.pcap"
        );
        let opts = crate::analyze::Options::default();
        let full = crate::analyze::run(std::path::Path::new(sample), &opts).unwrap();
        assert!(full.phones.len() > 1 && !full.other_devices.is_empty());
        same_as_serde(&full);
        let mut report = full.clone();
        report.phones.clear();
        report.other_devices.clear();
        same_as_serde(&report);
        report.phones.push(full.phones[0].clone());
        same_as_serde(&report);
        // Across chunk and window boundaries, with a warning that quotes the key.
        report.capture.warnings = vec!["\n  \"phones\": []".into()];
        report.phones = full
            .phones
            .iter()
            .cycle()
            .take(WINDOW + CHUNK + 3)
            .cloned()
            .collect();
        same_as_serde(&report);
    }

    #[test]
    fn equals_serde_json_on_every_sample_and_bundled_capture() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let samples = crate::capture::files_under(&root.join("samples")).unwrap();
        assert!(samples.len() >= 28, "{} samples", samples.len());
        // The third-party captures carry what the wire put in names and texts.
        let captures = crate::capture::files_under(&root.join("tests/captures")).unwrap();
        let opts = crate::analyze::Options::default();
        let mut entries = 0;
        for path in samples.iter().chain(&captures) {
            // Some bundled captures are unreadable on purpose.
            let Ok(report) = crate::analyze::run(path, &opts) else {
                continue;
            };
            entries += report
                .phones
                .iter()
                .chain(&report.other_devices)
                .map(|p| p.timeline.len())
                .sum::<usize>();
            let mut ours = Vec::new();
            write_pretty(&report, &mut ours).unwrap();
            let theirs = serde_json::to_vec_pretty(&report).unwrap();
            assert!(ours == theirs, "{}", path.display());
        }
        assert!(entries > 1000, "{entries} timeline entries");
    }

    /// Strings that take every branch of serde_json's escaping, and some that it
    /// leaves alone (non-ASCII, U+2028, DEL, `/`).
    const AWKWARD: &[&str] = &[
        "",
        "plain",
        "\"quoted\"",
        "back\\slash\\",
        "\u{8}\t\n\u{c}\r",
        "\u{0}\u{1}\u{1f}x\u{1b}[2J",
        "caf\u{e9} \u{2028}\u{2029} \u{1f4de} \u{7f} a/b </script>",
        "\\u0041 \\\"",
    ];

    /// Floats whose text is easy to get wrong, and the ones JSON cannot hold.
    const ODD_FLOATS: &[f64] = &[
        0.0,
        -0.0,
        1.0,
        -1.5,
        0.1 + 0.2,
        1e-7,
        1e21,
        1e22,
        123_456_789.123_456,
        5e-324,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];

    fn entry(text: &str, time: f64, static_text: &'static str, peer: bool) -> TimelineEntry {
        TimelineEntry {
            time,
            frame: u64::MAX,
            stage: Stage::Config,
            event: text.into(),
            kind: static_text,
            peer_role: peer.then_some(static_text),
            peer: peer.then(|| text.into()),
            dir: peer.then_some(static_text),
        }
    }

    fn awkward_phone(i: usize) -> PhoneReport {
        let text = |k: usize| AWKWARD[(i + k) % AWKWARD.len()];
        let float = |k: usize| ODD_FLOATS[(i + k) % ODD_FLOATS.len()];
        PhoneReport {
            mac: (i % 2 == 0).then(|| text(0).into()),
            device_name: Some(text(1).into()),
            status: [
                Status::Registered,
                Status::Stalled,
                Status::InProgress,
                Status::Seen,
            ][i % 4],
            stalled_stage: (i % 3 != 0).then_some(Stage::Registration),
            findings: (0..i % 3)
                .map(|k| Finding {
                    code: text(k).into(),
                    severity: [Severity::Info, Severity::Warning, Severity::Error][k % 3],
                    stage: Stage::Dhcp,
                    message: text(k + 1).into(),
                    evidence: (0..k as u64).map(|f| f * 1_000_000_007).collect(),
                    checks: (0..k).map(|c| text(c + 2).to_owned()).collect(),
                })
                .collect(),
            timeline: (0..i % 4)
                .map(|k| entry(text(k), float(k), AWKWARD[k % 3 + 1], k % 2 == 1))
                .collect(),
            kind: text(2),
            identified_by: text(3),
            model: (i % 2 == 1).then(|| text(4).into()),
            vlan: Some(u16::MAX),
            ip: Some(text(5).into()),
            protocol: (i % 3 == 0).then_some(text(6)),
            callmanager: None,
            boots: u32::MAX,
            boot_started: float(1),
            boot_duration: (i % 2 == 0).then(|| float(2)),
            expected_next: (i % 3 != 1).then(|| Expectation {
                stage: Stage::Firmware,
                expected: (0..i % 3).map(|k| text(k).to_owned()).collect(),
                after_frame: 0,
                after: text(7).into(),
                waited: float(3),
                timeout: float(4),
                model: (i % 2 == 0).then(|| ModelPrediction {
                    stage: Stage::Discovery,
                    expect: text(1).into(),
                    within: float(5),
                    after_frame: 7,
                    peer_role: (i % 4 == 0).then_some(text(2)),
                    peer: (i % 4 != 2).then(|| text(3).into()),
                    dir: (i % 4 == 2).then_some(text(4)),
                }),
            }),
            timeline_dropped: i as u64,
        }
    }

    #[test]
    fn equals_serde_json_on_strings_to_escape_and_odd_floats() {
        let phones: Vec<PhoneReport> = (0..48).map(awkward_phone).collect();
        same_as_serde(&with_phones(phones.clone()));
        let mut report = with_phones(Vec::new());
        report.other_devices = phones;
        same_as_serde(&report);
        // Every string alone, and every float alone, as a timeline entry.
        for text in AWKWARD {
            let mut p = awkward_phone(0);
            p.timeline = vec![entry(text, 1.0, "x", true)];
            same_as_serde(&with_phones(vec![p]));
        }
        for &time in ODD_FLOATS {
            let mut p = awkward_phone(1);
            p.timeline = vec![entry("x", time, "x", false)];
            same_as_serde(&with_phones(vec![p]));
        }
    }

    #[test]
    fn enum_names_are_serdes() {
        let serde_name = |v: serde_json::Value| v.as_str().unwrap().to_owned();
        for stage in Stage::ALL {
            assert_eq!(
                stage.as_str(),
                serde_name(serde_json::to_value(stage).unwrap())
            );
        }
        for severity in [Severity::Info, Severity::Warning, Severity::Error] {
            let name = serde_name(serde_json::to_value(severity).unwrap());
            assert_eq!(severity.as_str(), name);
        }
        for status in [
            Status::Registered,
            Status::Stalled,
            Status::InProgress,
            Status::Seen,
        ] {
            assert_eq!(
                status.as_str(),
                serde_name(serde_json::to_value(status).unwrap())
            );
        }
    }

    /// Any string: mostly the characters that need care.
    fn any_text() -> impl Strategy<Value = String> {
        let character = prop_oneof![
            (0u8..0x20).prop_map(char::from),
            prop::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{2028}', '\u{fffd}']),
            any::<char>(),
        ];
        prop::collection::vec(character, 0..10).prop_map(|cs| cs.into_iter().collect())
    }

    fn any_static_text() -> impl Strategy<Value = &'static str> {
        prop::sample::select(AWKWARD)
    }

    fn any_float() -> impl Strategy<Value = f64> {
        prop_oneof![any::<f64>(), prop::sample::select(ODD_FLOATS), 0.0..1e6]
    }

    fn any_stage() -> impl Strategy<Value = Stage> {
        prop::sample::select(vec![
            Stage::Discovery,
            Stage::Dhcp,
            Stage::Config,
            Stage::Firmware,
            Stage::Registration,
        ])
    }

    fn any_entry() -> impl Strategy<Value = TimelineEntry> {
        (
            any_float(),
            any::<u64>(),
            any_stage(),
            any_text(),
            any_static_text(),
            prop::option::of(any_static_text()),
            prop::option::of(any_text()),
            prop::option::of(any_static_text()),
        )
            .prop_map(|(time, frame, stage, event, kind, peer_role, peer, dir)| {
                TimelineEntry {
                    time,
                    frame,
                    stage,
                    event,
                    kind,
                    peer_role,
                    peer,
                    dir,
                }
            })
    }

    fn any_finding() -> impl Strategy<Value = Finding> {
        (
            any_text(),
            prop::sample::select(vec![Severity::Info, Severity::Warning, Severity::Error]),
            any_stage(),
            any_text(),
            prop::collection::vec(any::<u64>(), 0..3),
            prop::collection::vec(any_text(), 0..3),
        )
            .prop_map(
                |(code, severity, stage, message, evidence, checks)| Finding {
                    code,
                    severity,
                    stage,
                    message,
                    evidence,
                    checks,
                },
            )
    }

    fn any_expectation() -> impl Strategy<Value = Expectation> {
        let model = (
            any_stage(),
            any_text(),
            any_float(),
            any::<u64>(),
            prop::option::of(any_static_text()),
            prop::option::of(any_text()),
            prop::option::of(any_static_text()),
        )
            .prop_map(
                |(stage, expect, within, after_frame, peer_role, peer, dir)| ModelPrediction {
                    stage,
                    expect,
                    within,
                    after_frame,
                    peer_role,
                    peer,
                    dir,
                },
            );
        (
            any_stage(),
            prop::collection::vec(any_text(), 0..3),
            any::<u64>(),
            any_text(),
            any_float(),
            any_float(),
            prop::option::of(model),
        )
            .prop_map(
                |(stage, expected, after_frame, after, waited, timeout, model)| Expectation {
                    stage,
                    expected,
                    after_frame,
                    after,
                    waited,
                    timeout,
                    model,
                },
            )
    }

    fn any_phone() -> impl Strategy<Value = PhoneReport> {
        let who = (
            prop::option::of(any_text()),
            prop::option::of(any_text()),
            prop::sample::select(vec![
                Status::Registered,
                Status::Stalled,
                Status::InProgress,
                Status::Seen,
            ]),
            prop::option::of(any_stage()),
            prop::collection::vec(any_finding(), 0..3),
            prop::collection::vec(any_entry(), 0..4),
            any_static_text(),
            any_static_text(),
            prop::option::of(any_text()),
        );
        let boot = (
            prop::option::of(any::<u16>()),
            prop::option::of(any_text()),
            prop::option::of(any_static_text()),
            prop::option::of(any_text()),
            any::<u32>(),
            any_float(),
            prop::option::of(any_float()),
            prop::option::of(any_expectation()),
            any::<u64>(),
        );
        (who, boot).prop_map(
            |(
                (
                    mac,
                    device_name,
                    status,
                    stalled_stage,
                    findings,
                    timeline,
                    kind,
                    identified_by,
                    model,
                ),
                (
                    vlan,
                    ip,
                    protocol,
                    callmanager,
                    boots,
                    boot_started,
                    boot_duration,
                    expected_next,
                    timeline_dropped,
                ),
            )| PhoneReport {
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
            },
        )
    }

    /// What serde_json writes for a string.
    fn serde_string(s: &str) -> Vec<u8> {
        serde_json::to_vec(s).unwrap()
    }

    fn ours(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        // Written after other bytes, as in a document: the fixed-size copies are cut
        // back to where the value ends, not to the buffer's start.
        let mut out = b"[".to_vec();
        write(&mut out);
        out.split_off(1)
    }

    /// Every string of 0 to 40 bytes built from a plain text with one awkward
    /// character at each place in turn: the short path (up to 16 bytes), the word
    /// checks of the long one and their overlapping last word all meet it.
    #[test]
    fn strings_of_every_length_with_an_escape_anywhere_equal_serde() {
        let awkward = [
            "\"",
            "\\",
            "\u{0}",
            "\u{8}",
            "\t",
            "\n",
            "\u{c}",
            "\r",
            "\u{1f}",
            "\u{7f}",
            "\u{e9}",
            "\u{2028}",
            "\u{1f4de}",
            "/",
            " ",
        ];
        let mut cases = 0;
        for len in 0..=40 {
            let plain: String = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF"
                .chars()
                .take(len)
                .collect();
            assert_eq!(
                ours(|o| string(o, &plain)),
                serde_string(&plain),
                "{plain:?}"
            );
            for at in 0..=len {
                for a in awkward {
                    let text = format!("{}{a}{}", &plain[..at], &plain[at..]);
                    assert_eq!(ours(|o| string(o, &text)), serde_string(&text), "{text:?}");
                    cases += 1;
                }
            }
        }
        assert!(cases > 10_000);
    }

    /// The names the writer has literals for are the enums' names, and write as
    /// serde writes them.
    #[test]
    fn role_direction_and_stage_literals_are_the_enums_names() {
        use crate::timeline::{Direction, PeerRole};
        for role in [
            PeerRole::Switch,
            PeerRole::DhcpServer,
            PeerRole::FileServer,
            PeerRole::CallManager,
        ] {
            let mut out = Vec::new();
            assert!(role_name(&mut out, role.as_str()), "{role:?}");
            assert_eq!(out, serde_string(role.as_str()));
        }
        for dir in [Direction::FromPhone, Direction::ToPhone] {
            let mut out = Vec::new();
            assert!(direction_name(&mut out, dir.as_str()), "{dir:?}");
            assert_eq!(out, serde_string(dir.as_str()));
        }
        assert!(!role_name(&mut Vec::new(), "switch "));
        assert!(!role_name(&mut Vec::new(), "to_phone"));
        assert!(!direction_name(&mut Vec::new(), "switch"));
        for stage in Stage::ALL {
            let mut out = Vec::new();
            stage_field(&mut out, stage);
            let mut want = b",\n          \"stage\": ".to_vec();
            want.extend(serde_json::to_vec(&stage).unwrap());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    fn assert_float_as_serde(v: f64) {
        let want = if v.is_finite() {
            serde_json::to_vec(&v).unwrap()
        } else {
            b"null".to_vec()
        };
        let got = ours(|o| float(o, v));
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap(),
            "{v:e}"
        );
    }

    /// Times in whole microseconds take the fast path: every count up to 0.2 s,
    /// the counts around each power of ten, and a spread of others up to 10^16,
    /// both signs; and times rounded to the microsecond from nanoseconds, as the
    /// verdicts make them.
    #[test]
    fn times_in_microseconds_are_written_as_serde_writes_them() {
        let mut micros: Vec<i64> = (0..200_000).collect();
        for p in 1..=16 {
            let power = 10i64.pow(p);
            micros.extend((power - 30..power + 30).filter(|k| *k >= 0));
            micros.extend([power / 2, power / 3, power / 7 * 3]);
        }
        // A fixed pseudo-random spread (an LCG: same cases every run).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let digits = (x >> 60) as u32 + 1; // 1 to 16 digits
            micros.push(((x >> 4) % 10u64.pow(digits)) as i64);
        }
        let mut fast = 0;
        for &k in &micros {
            for k in [k, -k] {
                let v = k as f64 / 1e6;
                fast += usize::from(whole_micros(v).is_some());
                assert_float_as_serde(v);
            }
        }
        assert!(fast > micros.len(), "{fast} of {}", 2 * micros.len());
        // Times as the verdicts make them: nanoseconds to rounded seconds.
        for _ in 0..100_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let ns = (x >> 20) as i64 - (1 << 43);
            assert_float_as_serde((ns as f64 / 1e9 * 1e6).round() / 1e6);
        }
    }

    proptest! {
        #[test]
        fn any_float_is_written_as_serde_writes_it(v in any::<f64>(), k in any::<i64>()) {
            assert_float_as_serde(v);
            assert_float_as_serde(k as f64 / 1e6);
        }

        #[test]
        fn any_string_is_escaped_as_serde_escapes_it(text in any_text(), long in ".{0,64}") {
            prop_assert_eq!(ours(|o| string(o, &text)), serde_string(&text));
            prop_assert_eq!(ours(|o| string(o, &long)), serde_string(&long));
        }

        #[test]
        fn equals_serde_json_on_generated_devices(
            phones in prop::collection::vec(any_phone(), 0..4),
            others in prop::collection::vec(any_phone(), 0..3),
        ) {
            let mut report = with_phones(phones);
            report.other_devices = others;
            let mut ours = Vec::new();
            write_pretty(&report, &mut ours).unwrap();
            let theirs = serde_json::to_vec_pretty(&report).unwrap();
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
        }
    }
}
