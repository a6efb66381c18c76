//! Damaged capture files through the whole analysis: a sample cut at every
//! record boundary and inside every record (pcap and pcapng), the catalogued
//! crash-regression captures, empty files and wrong magics, records and blocks
//! claiming gigabytes, pcapng with unknown blocks and lying lengths, timestamps
//! going backwards or off the scale. Each: no panic, a message naming the file and
//! the frame, and everything before the damage analyzed as if the file ended there.
//! (`capture_reader.rs` checks the reader's frames; `hostile.rs` the dissect view.)

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bootscope::capture::{self, WarningKind, MAX_RECORD};
use bootscope::report::Report;

use crate::common::{
    analyze, capture_path, ng, read_frames, sample_path, scratch, write_pcap, OwnedFrame,
    CRASH_REGRESSIONS,
};

/// What the analysis concluded about the devices, without what it says about the file.
fn verdicts(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "phones": r.phones,
        "other_devices": r.other_devices,
        "summary": r.summary,
    })
}

/// Byte ranges of the records of a little-endian classic pcap, read independently of
/// the reader under test: a 24-byte file header, then 16-byte record headers whose
/// third field is the captured length.
fn pcap_records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push((at, at + 16 + caplen));
        at += 16 + caplen;
    }
    assert_eq!(at, bytes.len(), "the sample is not a plain LE pcap");
    out
}

/// The devices whose first event is at or before `frame` in the whole capture's report.
fn devices_seen_by(full: &Report, frame: u64) -> Vec<String> {
    full.phones
        .iter()
        .chain(&full.other_devices)
        .filter(|d| d.timeline.first().is_some_and(|e| e.frame <= frame))
        .map(|d| d.mac.clone().or(d.device_name.clone()).unwrap())
        .collect()
}

fn reported(r: &Report, id: &str) -> bool {
    r.phones
        .iter()
        .chain(&r.other_devices)
        .any(|d| d.mac.as_deref() == Some(id) || d.device_name.as_deref() == Some(id))
}

/// Cut `bytes` (whose records span `records`) at every record boundary and at two
/// points inside every record; check each cut against the clean file of the records
/// before it.
fn check_every_cut(name: &str, bytes: &[u8], records: &[(usize, usize)], header: usize) {
    let full_path = scratch(&format!("{name}-full"));
    std::fs::write(&full_path, bytes).unwrap();
    let full = analyze(&full_path);
    assert!(!full.phones.is_empty(), "{name}: the sample has phones");
    let path = scratch(name);
    let mut phones_at_half = 0;
    for (k, &(start, end)) in records.iter().enumerate() {
        // A clean file of the first k records.
        std::fs::write(&path, &bytes[..start]).unwrap();
        let clean = analyze(&path);
        assert_eq!(
            clean.capture.frames, k as u64,
            "{name}: boundary before record {k}"
        );
        assert!(
            clean.capture.warnings.is_empty(),
            "{name}: {:?}",
            clean.capture.warnings
        );
        for id in devices_seen_by(&full, k as u64) {
            assert!(
                reported(&clean, &id),
                "{name}: {id} lost in the first {k} frames"
            );
        }
        if k == records.len() / 2 {
            phones_at_half = clean.phones.len();
        }
        // Inside the record header, and inside its data.
        for cut in [start + 5, start + (end - start) / 2 + 8] {
            if cut >= end || cut <= header {
                continue;
            }
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let damaged = analyze(&path);
            assert_eq!(damaged.capture.frames, k as u64, "{name}: cut at {cut}");
            assert_eq!(verdicts(&damaged), verdicts(&clean), "{name}: cut at {cut}");
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let frame = format!("frame {k} ");
            assert!(
                damaged
                    .capture
                    .warnings
                    .iter()
                    .any(|w| w.contains(&file) && w.contains(&frame) && w.contains("cut short")),
                "{name}: cut at {cut}: {:?}",
                damaged.capture.warnings
            );
        }
    }
    assert!(phones_at_half > 0, "{name}: no phone in the first half");
}

#[test]
fn a_pcap_cut_anywhere_reports_everything_before_the_cut() {
    let bytes = std::fs::read(sample_path("mixed-site")).unwrap();
    let records = pcap_records(&bytes);
    assert_eq!(records.len(), 164);
    check_every_cut("cut-mixed-site.pcap", &bytes, &records, 24);
}

#[test]
fn a_pcapng_cut_anywhere_reports_everything_before_the_cut() {
    let (frames, _) = read_frames(&sample_path("cucm-failover"));
    let mut bytes = ng::shb();
    bytes.extend(ng::idb(1, Some(9)));
    let header = bytes.len();
    let mut records = Vec::new();
    for f in &frames {
        let start = bytes.len();
        bytes.extend(ng::epb(0, f.ts_ns as u64, &f.data));
        records.push((start, bytes.len()));
    }
    check_every_cut("cut-cucm-failover.pcapng", &bytes, &records, header);
}

#[test]
fn crash_regression_captures_analyze_with_a_warning_naming_file_and_frame() {
    for (cap, frame) in CRASH_REGRESSIONS {
        let path = capture_path(cap);
        let out = Command::new(env!("CARGO_BIN_EXE_bootscope"))
            .args(["analyze", path.to_str().unwrap()])
            .output()
            .unwrap();
        // No phone in any of them, so no error finding: exit 0, with the warning.
        assert_eq!(out.status.code(), Some(0), "{cap}");
        let err = String::from_utf8_lossy(&out.stderr);
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let needle = format!("frame {frame}:");
        assert!(
            err.lines()
                .any(|l| l.starts_with("warning: ") && l.contains(&file) && l.contains(&needle)),
            "{cap}: {err}"
        );
    }
    // tcpdump looped on this one; it decodes cleanly here and analysis ends.
    let r = analyze(&capture_path("tcpdump/lldp-infinite-loop-1.pcap"));
    assert_eq!(r.capture.frames, 1);
}

fn cli(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn empty_files_and_wrong_magics_fail_clearly_in_both_commands() {
    let empty = scratch("zero-length.pcap");
    std::fs::write(&empty, b"").unwrap();
    // A pcapng SHB magic with its bytes swapped, a gzip header, an ELF header.
    let wrong: [(&str, &[u8], &str); 3] = [
        (
            "wrong-magic.pcapng",
            &[0x0d, 0x0a, 0x0a, 0x0d, 0, 0, 0, 28],
            "0d0a0a0d",
        ),
        (
            "gzipped.pcap",
            &[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3],
            "1f8b0800",
        ),
        (
            "elf.pcap",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
            "7f454c46",
        ),
    ];
    for cmd in ["analyze", "dissect"] {
        let (code, err) = cli(&[cmd, empty.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(
            err.contains("zero-length.pcap") && err.contains("empty"),
            "{err}"
        );
        for (name, bytes, magic) in wrong {
            let path = scratch(name);
            std::fs::write(&path, bytes).unwrap();
            let (code, err) = cli(&[cmd, path.to_str().unwrap()]);
            assert_eq!(code, Some(2), "{cmd} {name}: {err}");
            assert!(
                err.contains(name) && err.contains("not a pcap") && err.contains(magic),
                "{cmd} {name}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}

#[test]
fn a_file_header_cut_short_is_a_clear_message() {
    let bytes = std::fs::read(sample_path("healthy-sccp")).unwrap();
    for cut in [1, 4, 10, 23] {
        let path = scratch(&format!("header-cut-{cut}.pcap"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let (code, err) = cli(&["analyze", path.to_str().unwrap()]);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Either refused (exit 2) or read as a capture of no frame with a warning.
        match code {
            Some(2) => assert!(err.contains(&name), "cut {cut}: {err}"),
            Some(0) => assert!(
                err.lines()
                    .any(|l| l.starts_with("warning: ") && l.contains(&name)),
                "cut {cut}: {err}"
            ),
            other => panic!("cut {cut}: exit {other:?}: {err}"),
        }
    }
}

/// A byte source that counts what is read from it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Feed `head` then an endless stream of bytes; the reader must stop by itself with
/// a "too large" warning after the frames in `head`, having read a bounded amount.
fn refuses_endless_record(name: &str, head: Vec<u8>, frames_before: u64) {
    let read = Arc::new(AtomicU64::new(0));
    let src = Counting {
        inner: std::io::Cursor::new(head).chain(std::io::repeat(0xab)),
        read: Arc::clone(&read),
    };
    let file = capture::from_reader(Path::new(name), src).unwrap();
    let stats = file
        .for_each_frame(|_| std::ops::ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(stats.frames, frames_before, "{name}");
    let w = stats.warnings.last().unwrap();
    assert!(
        matches!(w.kind, WarningKind::RecordTooLarge { .. }),
        "{name}: {w:?}"
    );
    assert_eq!(w.after_frame, frames_before);
    let text = w.to_string();
    assert!(
        text.contains(name) && text.contains(&format!("frame {frames_before}")),
        "{text}"
    );
    // Never more than the largest record bootscope buffers (and the probe before it).
    let total = read.load(Ordering::Relaxed);
    assert!(total <= 2 * MAX_RECORD as u64, "{name}: read {total} bytes");
}

#[test]
fn records_and_blocks_claiming_gigabytes_are_never_read_or_allocated() {
    let (frames, _) = read_frames(&sample_path("healthy-sccp"));
    // pcap: a record header claiming 4 GB - 1 of captured data.
    let mut pcap = write_pcap(&frames[..3], 1, false, false);
    pcap.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    pcap.extend_from_slice(&u32::MAX.to_le_bytes());
    pcap.extend_from_slice(&u32::MAX.to_le_bytes());
    refuses_endless_record("endless.pcap", pcap, 3);

    // pcapng: an EPB whose block length claims 4 GB - 16, and an unknown block likewise.
    for kind in [6u32, 0x0000_0bad] {
        let mut ng_file = ng::shb();
        ng_file.extend(ng::idb(1, None));
        for f in &frames[..2] {
            ng_file.extend(ng::epb(0, f.ts_ns as u64 / 1000, &f.data));
        }
        ng_file.extend_from_slice(&kind.to_le_bytes());
        ng_file.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
        refuses_endless_record(&format!("endless-{kind:x}.pcapng"), ng_file, 2);
    }
}

fn ng_with_frames(frames: &[OwnedFrame]) -> Vec<u8> {
    let mut file = ng::shb();
    file.extend(ng::idb(1, Some(9)));
    for f in frames {
        file.extend(ng::epb(0, f.ts_ns as u64, &f.data));
    }
    file
}

#[test]
fn pcapng_unknown_blocks_and_lying_lengths() {
    let (frames, _) = read_frames(&sample_path("healthy-sccp"));
    let clean_path = scratch("ng-clean-prefix.pcapng");
    std::fs::write(&clean_path, ng_with_frames(&frames[..10])).unwrap();
    let clean = analyze(&clean_path);
    assert!(!clean.phones.is_empty());

    // Unknown, local-use and custom blocks (0x0bad / 0x40000bad: a 4-byte enterprise
    // number, then anything) between packets are skipped: every frame is read.
    let mut file = ng_with_frames(&frames[..10]);
    file.extend(ng::unknown(0x0000_0777, b"not a block anyone knows"));
    file.extend(ng::unknown(0x0000_0778, b""));
    file.extend(ng::unknown(0x8000_0001, b"local use"));
    file.extend(ng::unknown(0x0000_0bad, b"\0\0\x00\x09custom, not copied"));
    file.extend(ng::unknown(0x4000_0bad, b"\0\0\x00\x09custom, copyable"));
    let tail = ng_with_frames(&frames[10..]);
    let skip_headers = ng::shb().len() + ng::idb(1, Some(9)).len();
    file.extend_from_slice(&tail[skip_headers..]);
    let path = scratch("ng-unknown-blocks.pcapng");
    std::fs::write(&path, &file).unwrap();
    let r = analyze(&path);
    assert_eq!(r.capture.frames, frames.len() as u64);
    assert!(r.capture.warnings.is_empty(), "{:?}", r.capture.warnings);

    // Lies after 10 good frames: each stops the read there, with a warning naming the
    // file and frame 10, and the 10 frames analyzed as the clean file of them.
    let epb = ng::epb(0, frames[10].ts_ns as u64, &frames[10].data);
    // (what, the warning: a cut file or a corrupt block, and the block)
    let lies: Vec<(&str, &str, Vec<u8>)> = vec![
        ("length past the end of the file", "cut short", {
            let mut b = ng::unknown(0x0777, &[7; 40]);
            b[4..8].copy_from_slice(&4000u32.to_le_bytes());
            b
        }),
        ("length not a multiple of 4", "unreadable", {
            let mut b = epb.clone();
            let len = b.len() as u32 - 3;
            b[4..8].copy_from_slice(&len.to_le_bytes());
            b
        }),
        ("trailing length differs", "unreadable", {
            let mut b = epb.clone();
            let n = b.len();
            b[n - 4..].copy_from_slice(&8u32.to_le_bytes());
            b
        }),
        ("captured length past the block", "unreadable", {
            let mut b = epb.clone();
            b[20..24].copy_from_slice(&60_000u32.to_le_bytes());
            b
        }),
        ("length below the minimum", "unreadable", {
            let mut b = epb.clone();
            b[4..8].copy_from_slice(&4u32.to_le_bytes());
            b
        }),
    ];
    for (what, warning, block) in lies {
        let mut file = ng_with_frames(&frames[..10]);
        file.extend(block);
        // A good frame after the lie: once a length lies, nothing after it can be found.
        file.extend(ng::epb(0, frames[11].ts_ns as u64, &frames[11].data));
        let path = scratch("ng-lying.pcapng");
        std::fs::write(&path, &file).unwrap();
        let r = analyze(&path);
        assert_eq!(r.capture.frames, 10, "{what}");
        assert_eq!(verdicts(&r), verdicts(&clean), "{what}");
        let [w] = &r.capture.warnings[..] else {
            panic!("{what}: {:?}", r.capture.warnings)
        };
        assert!(
            w.contains("ng-lying.pcapng") && w.contains("frame 10 ") && w.contains(warning),
            "{what}: {w}"
        );
    }
}

#[test]
fn timestamps_going_backwards_or_off_the_scale_are_analyzed() {
    let (frames, _) = read_frames(&sample_path("healthy-sccp"));
    let whole = analyze(&sample_path("healthy-sccp"));
    let [phone] = &whole.phones[..] else {
        panic!("{:?}", whole.phones.len())
    };
    assert_eq!(phone.status.as_str(), "registered");

    // Every frame 1 s earlier than the one before it: the capture runs backwards.
    let mut backwards = frames.clone();
    let t0 = frames[0].ts_ns;
    for (i, f) in backwards.iter_mut().enumerate() {
        f.ts_ns = t0 - i as i64 * 1_000_000_000;
    }
    // One frame from 1970 and one at the pcapng maximum amid normal ones.
    let mut outliers = frames.clone();
    outliers[3].ts_ns = 0;
    let mut ng_file = ng::shb();
    ng_file.extend(ng::idb(1, Some(9)));
    for (i, f) in frames.iter().enumerate() {
        let units = if i == 5 { u64::MAX } else { f.ts_ns as u64 };
        ng_file.extend(ng::epb(0, units, &f.data));
    }
    // Two interfaces, the second with an if_tsoffset of -9e9 s (far before the epoch),
    // the first 7e9 s ahead (year 2270): the two times differ by more than an i64 holds.
    let mut offset_file = ng::shb();
    offset_file.extend(ng::idb(1, Some(9)));
    offset_file.extend(idb_with_offset(-9_000_000_000));
    for (i, f) in frames.iter().enumerate() {
        let ahead = if i % 2 == 0 {
            7_000_000_000_000_000_000
        } else {
            0
        };
        offset_file.extend(ng::epb((i % 2) as u32, f.ts_ns as u64 + ahead, &f.data));
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("negative-offset.pcapng", offset_file),
        ("backwards.pcap", write_pcap(&backwards, 1, false, true)),
        ("epoch-outlier.pcap", write_pcap(&outliers, 1, false, true)),
        ("max-timestamp.pcapng", ng_file),
    ];
    for (name, bytes) in cases {
        let path = scratch(name);
        std::fs::write(&path, &bytes).unwrap();
        let r = analyze(&path);
        assert_eq!(r.capture.frames, frames.len() as u64, "{name}");
        assert!(
            r.capture.duration.as_secs().is_finite() && r.capture.duration.as_secs() >= 0.0,
            "{name}"
        );
        // The same device is found, and its timeline is in time order.
        let p = r
            .phones
            .iter()
            .chain(&r.other_devices)
            .find(|p| p.mac == phone.mac)
            .unwrap_or_else(|| panic!("{name}: phone lost"));
        assert!(
            p.timeline.windows(2).all(|w| w[0].time <= w[1].time),
            "{name}: timeline out of order"
        );
        assert!(
            p.timeline.iter().all(|e| e.time.as_secs().is_finite()),
            "{name}"
        );
        assert!(
            p.boot_duration
                .is_none_or(|d| d.as_secs().is_finite() && d.as_secs() >= 0.0),
            "{name}"
        );
        // And every renderer copes.
        let _ = bootscope::report::table::render(&r, None);
        let _ = bootscope::report::phone::render(p);
    }
}

/// An Ethernet interface with nanosecond timestamps and an `if_tsoffset` (option 14).
fn idb_with_offset(offset_secs: i64) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&1u16.to_le_bytes()); // LINKTYPE_ETHERNET
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&262_144u32.to_le_bytes());
    body.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol: 10^-9
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&[9, 0, 0, 0]);
    body.extend_from_slice(&14u16.to_le_bytes()); // if_tsoffset
    body.extend_from_slice(&8u16.to_le_bytes());
    body.extend_from_slice(&offset_secs.to_le_bytes());
    body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    ng::unknown(1, &body)
}
