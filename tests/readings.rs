//! Every bundled third-party capture against its written reading
//! (tests/captures/READINGS.json): what a voice engineer reading it in Wireshark
//! concludes, from tshark's fields, about each phone and each device that speaks the
//! phones' protocols. The phones bootscope lists are exactly the phones read, each with
//! the verdict read; the other devices read are listed as what they are.

use std::collections::BTreeMap;

use bootscope::report::PhoneReport;
use serde::Deserialize;

use crate::common::{all_captures, analyze, capture_path};

#[derive(Deserialize)]
struct Readings {
    captures: BTreeMap<String, Reading>,
}

#[derive(Deserialize)]
struct Reading {
    #[allow(dead_code)]
    tshark: String,
    #[allow(dead_code)]
    reading: String,
    phones: BTreeMap<String, Verdict>,
    others: Vec<Other>,
}

#[derive(Deserialize, Debug, PartialEq, Eq)]
struct Verdict {
    status: String,
    stalled_stage: Option<String>,
    findings: Vec<String>,
}

#[derive(Deserialize)]
struct Other {
    id: String,
    kind: String,
}

fn readings() -> Readings {
    let path = capture_path("READINGS.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn verdict(p: &PhoneReport) -> Verdict {
    let mut findings: Vec<String> = p
        .findings
        .iter()
        .filter(|f| f.severity != rules::Severity::Info)
        .map(|f| f.code.clone())
        .collect();
    findings.sort();
    Verdict {
        status: p.status.as_str().to_owned(),
        stalled_stage: p.stalled_stage.map(|s| s.to_string()),
        findings,
    }
}

fn named(p: &PhoneReport, id: &str) -> bool {
    [&p.device_name, &p.mac, &p.ip]
        .iter()
        .any(|v| v.as_deref() == Some(id))
}

#[test]
fn every_bundled_capture_has_a_reading() {
    let r = readings();
    let files: Vec<String> = all_captures()
        .into_iter()
        .filter(|f| f.ends_with(".pcap") || f.ends_with(".pcapng"))
        .collect();
    let read: Vec<&String> = r.captures.keys().collect();
    assert_eq!(read, files.iter().collect::<Vec<_>>());
}

#[test]
fn bootscope_reads_every_bundled_capture_as_its_reading_says() {
    let mut wrong = Vec::new();
    for (file, reading) in readings().captures {
        let report = analyze(&capture_path(&file));
        let got: BTreeMap<String, Verdict> = report
            .phones
            .iter()
            .map(|p| {
                let name = p.device_name.clone().or(p.mac.clone()).unwrap_or_default();
                (name, verdict(p))
            })
            .collect();
        if got != reading.phones {
            wrong.push(format!(
                "{file}: phones\n  read {:?}\n  got  {got:?}",
                reading.phones
            ));
        }
        for other in &reading.others {
            let found = report.other_devices.iter().find(|o| named(o, &other.id));
            match found {
                Some(o) if o.kind == other.kind => {}
                Some(o) => wrong.push(format!(
                    "{file}: {} is a {}, read {}",
                    other.id, o.kind, other.kind
                )),
                None => wrong.push(format!("{file}: {} ({}) not listed", other.id, other.kind)),
            }
            if report.phones.iter().any(|p| named(p, &other.id)) {
                wrong.push(format!("{file}: {} listed as a phone", other.id));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
