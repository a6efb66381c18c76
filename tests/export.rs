//! `analyze --phone … -w`: one phone's frames exported to a pcap. On samples and real
//! captures, the export opens in tshark, holds every frame of the phone's timeline and
//! findings byte for byte, gives the phone the same verdict, and is the very frame set
//! tshark selects from the original capture with the display filter the phone report
//! prints.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use bootscope::export::{self, Selection};
use bootscope::report::PhoneReport;

use crate::common::{analyze, capture_path, read_frames, sample_path, scratch};

/// (capture, phone MAC).
fn cases() -> Vec<(PathBuf, &'static str)> {
    vec![
        (sample_path("healthy-sccp"), "00:1b:54:aa:00:01"),
        (sample_path("dot1x-failed"), "00:1b:54:aa:50:01"),
        (sample_path("tftp-port-unreachable"), "00:1b:54:aa:21:01"),
        (sample_path("mixed-site"), ""),
        (sample_path("cm-by-name-dns"), ""),
        (sample_path("dhcp-nak"), ""),
        (sample_path("secure-sip-encrypted"), ""),
        (
            capture_path("Wireshark-Captures/sccp_phone_register.pcapng"),
            "00:21:55:d5:48:ac",
        ),
        (
            capture_path("Wireshark-Captures/sip_xmf_recording_cube.pcapng"),
            "0c:75:bd:11:0c:a4",
        ),
        (
            capture_path("mercury/capture2-phones.pcap"),
            "00:18:ba:14:b9:0f",
        ),
        (
            capture_path("ladvd/49.good.phone.pcap"),
            "00:1b:53:48:9e:e0",
        ),
    ]
}

fn phone<'a>(r: &'a bootscope::report::Report, mac: &str) -> &'a PhoneReport {
    if mac.is_empty() {
        return r.phones.first().expect("a phone");
    }
    r.phones
        .iter()
        .find(|p| p.mac.as_deref() == Some(mac))
        .unwrap_or_else(|| panic!("no phone {mac}"))
}

/// Status, stage and finding codes. A site finding (a DHCP starvation) is drawn from
/// the other clients' frames, which one phone's export leaves out by design: its code
/// is not compared.
fn verdict(p: &PhoneReport, site: &[String]) -> (String, Option<String>, BTreeSet<String>) {
    (
        p.status.as_str().to_owned(),
        p.stalled_stage.map(|s| s.as_str().to_owned()),
        p.findings
            .iter()
            .map(|f| f.code.clone())
            .filter(|c| !site.contains(c))
            .collect(),
    )
}

fn site_codes(r: &bootscope::report::Report) -> Vec<String> {
    r.site_findings.iter().map(|f| f.code.clone()).collect()
}

/// Frames as (time, bytes), in file order.
fn frames_of(path: &Path) -> Vec<(i64, Vec<u8>)> {
    read_frames(path)
        .0
        .into_iter()
        .map(|f| (f.ts_ns, f.data))
        .collect()
}

/// The frame numbers of `p`'s timeline and of its findings' evidence.
fn timeline_frames(p: &PhoneReport) -> BTreeSet<u64> {
    p.timeline
        .iter()
        .map(|e| e.frame)
        .chain(p.findings.iter().flat_map(|f| f.evidence.iter().copied()))
        .collect()
}

/// The frames of `p`'s timeline and findings in `capture` that `export` lacks
/// (compared by time and bytes).
fn unexported(capture: &Path, p: &PhoneReport, export: &Path) -> Vec<u64> {
    let exported: BTreeSet<(i64, Vec<u8>)> = frames_of(export).into_iter().collect();
    let wanted = timeline_frames(p);
    read_frames(capture)
        .0
        .into_iter()
        .filter(|f| wanted.contains(&f.number) && !exported.contains(&(f.ts_ns, f.data.clone())))
        .map(|f| f.number)
        .collect()
}

fn slug(path: &Path) -> String {
    path.to_string_lossy()
        .rsplit('/')
        .take(2)
        .collect::<Vec<_>>()
        .join("-")
}

/// The real captures that hold phones.
const REAL: [&str; 6] = [
    "Wireshark-Captures/rtp_sip_g711ulaw_20ms.pcapng",
    "Wireshark-Captures/sccp_phone_register.pcapng",
    "Wireshark-Captures/sip_mcast_paging.pcapng",
    "Wireshark-Captures/sip_xmf_recording_cube.pcapng",
    "ladvd/49.good.phone.pcap",
    "mercury/capture2-phones.pcap",
];

/// Every phone of the real captures: its timeline exported, its verdict kept, and
/// tshark's filter selecting the exported frames.
#[test]
fn every_phone_of_the_real_captures_exports_as_its_filter_selects() {
    let mut checked = 0;
    for rel in REAL {
        let capture = capture_path(rel);
        let report = analyze(&capture);
        assert!(!report.phones.is_empty(), "{rel}");
        let site = site_codes(&report);
        for (i, p) in report.phones.iter().enumerate() {
            let who = format!("{rel} {:?}", p.mac);
            let out = scratch(&format!("export-real-{}-{i}.pcap", slug(&capture)));
            export::write_file(&[&capture], &report, p, &out).unwrap();
            assert_eq!(unexported(&capture, p, &out), Vec::<u64>::new(), "{who}");
            let again = analyze(&out);
            let q = phone(&again, p.mac.as_deref().unwrap());
            assert_eq!(verdict(q, &site), verdict(p, &site), "{who}");

            let filter = Selection::of(&report, p).unwrap().display_filter();
            let by_tshark = scratch(&format!("export-real-tshark-{}-{i}.pcap", slug(&capture)));
            let Ok(status) = Command::new("tshark")
                .args(["-n", "-r"])
                .arg(&capture)
                .args(["-Y", &filter, "-F", "nsecpcap", "-w"])
                .arg(&by_tshark)
                .status()
            else {
                eprintln!("tshark is not installed: the display filter is not checked");
                continue;
            };
            assert!(status.success(), "{who}: tshark -Y {filter}");
            assert_eq!(frames_of(&by_tshark), frames_of(&out), "{who}: {filter}");
            checked += 1;
        }
    }
    assert!(checked > 30 || checked == 0, "{checked} phones");
}

/// Every phone of every sample: the export keeps its timeline and its verdict.
#[test]
fn every_sample_phone_exports_with_its_verdict() {
    let mut failed = Vec::new();
    for dir in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")).unwrap() {
        let capture = dir.unwrap().path().join("capture.pcap");
        if !capture.exists() {
            continue;
        }
        let report = analyze(&capture);
        for (i, p) in report.phones.iter().enumerate() {
            let out = scratch(&format!("export-all-{}-{i}.pcap", slug(&capture)));
            export::write_file(&[&capture], &report, p, &out).unwrap();
            let missing = unexported(&capture, p, &out);
            if !missing.is_empty() {
                failed.push(format!(
                    "{} {:?}: frames {missing:?} not exported",
                    capture.display(),
                    p.mac
                ));
            }
            let again = analyze(&out);
            let q = phone(&again, p.mac.as_deref().unwrap());
            let site = site_codes(&report);
            if verdict(q, &site) != verdict(p, &site) {
                failed.push(format!(
                    "{} {:?}: {:?} then {:?}",
                    capture.display(),
                    p.mac,
                    verdict(p, &site),
                    verdict(q, &site)
                ));
            }
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn the_export_holds_the_phone_s_frames_and_keeps_its_verdict() {
    for (capture, mac) in cases() {
        let report = analyze(&capture);
        let p = phone(&report, mac);
        let out = scratch(&format!("export-{}.pcap", slug(&capture)));
        let written = export::write_file(&[&capture], &report, p, &out).unwrap();
        let name = capture.display();

        // Every frame of its timeline and findings, byte for byte with its time.
        let original = read_frames(&capture).0;
        let exported: BTreeSet<(i64, Vec<u8>)> = frames_of(&out).into_iter().collect();
        assert_eq!(exported.len() as u64, written, "{name}");
        let wanted = timeline_frames(p);
        assert!(!wanted.is_empty(), "{name}");
        for f in original.iter().filter(|f| wanted.contains(&f.number)) {
            assert!(
                exported.contains(&(f.ts_ns, f.data.clone())),
                "{name}: frame {} of the phone's timeline is not exported",
                f.number
            );
        }
        if report.phones.len() > 1 && original.len() > 2 {
            assert!(
                written < original.len() as u64,
                "{name}: the other phones' frames exported"
            );
        }

        // The same verdict from the export alone.
        let again = analyze(&out);
        let q = phone(&again, p.mac.as_deref().unwrap());
        let site = site_codes(&report);
        assert_eq!(verdict(q, &site), verdict(p, &site), "{name}");
    }
}

/// tshark with the printed display filter on the original capture selects exactly
/// the exported frames (same times, same bytes, same order).
#[test]
fn tshark_s_filter_selects_the_exported_frames() {
    for (capture, mac) in cases() {
        let report = analyze(&capture);
        let p = phone(&report, mac);
        let sel = Selection::of(&report, p).unwrap();
        let filter = sel.display_filter();
        assert!(
            export::filter_section(&report, p).contains(&filter),
            "the phone report prints the filter"
        );
        let out = scratch(&format!("export-f-{}.pcap", slug(&capture)));
        let written = export::write_file(&[&capture], &report, p, &out).unwrap();

        let by_tshark = scratch(&format!("export-tshark-{}.pcap", slug(&capture)));
        let status = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&capture)
            .args(["-Y", &filter, "-F", "nsecpcap", "-w"])
            .arg(&by_tshark)
            .status();
        let Ok(status) = status else {
            eprintln!("tshark is not installed: the display filter is not checked");
            return;
        };
        assert!(
            status.success(),
            "{}: tshark -Y {filter}",
            capture.display()
        );
        assert_eq!(
            frames_of(&by_tshark),
            frames_of(&out),
            "{}: {filter}",
            capture.display()
        );

        // tshark opens the export and counts the frames written.
        let listed = Command::new("tshark").arg("-r").arg(&out).output().unwrap();
        assert!(listed.status.success());
        let lines = String::from_utf8_lossy(&listed.stdout).lines().count() as u64;
        assert_eq!(lines, written, "{}", capture.display());
    }
}
