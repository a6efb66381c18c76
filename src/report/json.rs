//! The report's JSON, all of it through serde: the report types' derives define the
//! document (times travel as whole microseconds, [`super::Seconds`]).
//! [`write_pretty`] writes the pretty document with serde_json's `PrettyFormatter`,
//! the device arrays a window at a time on every core, so the document is never held
//! whole (a 10 000-phone report is about 70 MB).

use std::io::{self, Write};

use rayon::prelude::*;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

use super::{PhoneReport, Report};

/// Devices rendered per window, across the cores; then written in order.
const WINDOW: usize = 1024;
/// Devices one task renders into one buffer.
const CHUNK: usize = 32;

/// Write `report` as pretty JSON (no trailing newline): what
/// `serde_json::to_writer_pretty` writes, the device arrays rendered on every core.
pub fn write_pretty(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // Every field named: a new field of `Report` is a compile error until it is
    // placed here, in the order its derive writes them.
    let Report {
        capture_findings,
        site_findings,
        phones,
        other_devices,
        summary,
        capture,
        srst,
    } = report;
    // The document's object is opened, keyed and closed by serde_json's own pretty
    // formatter; each value is serialised with a copy of it at the value's depth.
    let mut doc = PrettyFormatter::new();
    doc.begin_object(out)?;
    field(out, &mut doc, true, "format_version", |out, f| {
        value(out, f, super::FORMAT_VERSION)
    })?;
    field(out, &mut doc, false, "capture_findings", |out, f| {
        value(out, f, capture_findings)
    })?;
    field(out, &mut doc, false, "site_findings", |out, f| {
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
    if !srst.is_empty() {
        field(out, &mut doc, false, "srst", |out, f| value(out, f, srst))?;
    }
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
