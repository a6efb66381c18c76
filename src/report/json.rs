//! The report as pretty JSON: byte for byte what `serde_json::to_writer_pretty` writes,
//! with the devices rendered on every core, a window at a time, so the document is
//! never held whole (a 10 000-phone report is about 70 MB of JSON).

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter, Serializer};

use super::{PhoneReport, Report};

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
        let rendered: Vec<io::Result<Vec<u8>>> = window
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 8192);
                for dev in chunk {
                    buf.extend_from_slice(b",\n    ");
                    render_at_depth_2(dev, &mut buf)?;
                }
                Ok(buf)
            })
            .collect();
        for buf in rendered {
            let buf = buf?;
            // Every element was written with its leading comma; the first has none.
            let skip = if first { 1 } else { 0 };
            first = false;
            out.write_all(&buf[skip..])?;
        }
    }
    out.write_all(b"\n  ]")
}

/// One value pretty-printed as if two levels deep (inside the document and its array).
fn render_at_depth_2<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut fmt = PrettyFormatter::new();
    // The formatter keeps its depth private; opening two arrays on a sink sets it.
    let mut sink = io::sink();
    fmt.begin_array(&mut sink)?;
    fmt.begin_array(&mut sink)?;
    let mut ser = Serializer::with_formatter(buf, fmt);
    value.serialize(&mut ser).map_err(io::Error::from)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_serde(report: &Report) {
        let mut ours = Vec::new();
        write_pretty(report, &mut ours).unwrap();
        let theirs = serde_json::to_vec_pretty(report).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs).unwrap()
        );
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
}
