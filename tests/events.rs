//! `analyze --events`: every line is one JSON object; a line per timeline entry and
//! per finding of the JSON report of the same run; each boot event's `@timestamp` is
//! its frame's time as tshark reads it; hostile wire strings come out escaped.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{capture_path, sample_path, scratch};
use crate::fuzz_regressions::fuzz_targets::assert_json_printable;

const BIN: &str = env!("CARGO_BIN_EXE_bootscope");

/// The JSON report and the event lines of one `analyze` run.
fn run(capture: &Path, name: &str) -> (Value, Vec<Value>, String) {
    let events = scratch(&format!("events-{name}.ndjson"));
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json", "--events"])
        .arg(&events)
        .arg(capture)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{name}: analyze failed"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&events).unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect();
    (report, lines, text)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` as microseconds since the epoch.
pub(crate) fn parse_rfc3339(s: &str) -> i64 {
    assert_eq!(s.len(), 27, "{s}");
    assert!(s.ends_with('Z'), "{s}");
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
    secs * 1_000_000 + n(20, 26)
}

/// Each frame's time as tshark reads it, in microseconds since the epoch.
fn tshark_times(capture: &Path) -> Option<HashMap<u64, i64>> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(capture)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_epoch",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let (n, t) = l.split_once('\t')?;
                let (s, frac) = t.split_once('.').unwrap_or((t, "0"));
                let frac = format!("{frac:0<9}");
                let ns = s.parse::<i64>().ok()? * 1_000_000_000 + frac[..9].parse::<i64>().ok()?;
                // The report rounds each time to the microsecond.
                Some((n.parse().ok()?, (ns + 500) / 1000))
            })
            .collect(),
    )
}

fn check(capture: &Path, name: &str) {
    let (report, lines, _) = run(capture, name);
    let devices: Vec<&Value> = ["phones", "other_devices"]
        .iter()
        .flat_map(|k| report[*k].as_array().unwrap())
        .collect();
    let findings: usize = devices
        .iter()
        .map(|p| p["findings"].as_array().unwrap().len())
        .sum::<usize>()
        + report["site_findings"].as_array().unwrap().len()
        + report["capture_findings"].as_array().unwrap().len();
    let entries: usize = devices
        .iter()
        .map(|p| p["timeline"].as_array().unwrap().len())
        .sum();
    let of = |kind: &str, dataset: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["event"]["kind"] == kind && l["event"]["dataset"] == dataset)
            .collect()
    };
    let alerts = of("alert", "bootscope.finding");
    let boot = of("event", "bootscope.boot");
    assert_eq!(alerts.len(), findings, "{name}: finding lines");
    assert_eq!(boot.len(), entries, "{name}: boot event lines");
    assert_eq!(lines.len(), findings + entries, "{name}: no other lines");
    assert!(entries > 0, "{name}: a capture with boots");

    // Every finding of the report is a line with its code, severity and phone.
    let mut want: Vec<(String, String, String)> = devices
        .iter()
        .flat_map(|p| {
            p["findings"].as_array().unwrap().iter().map(move |f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["severity"].as_str().unwrap().to_owned(),
                    p["device_name"].as_str().unwrap_or("").to_owned(),
                )
            })
        })
        .collect();
    let mut got: Vec<(String, String, String)> = alerts
        .iter()
        .filter(|a| a["bootscope"]["scope"].is_null())
        .map(|a| {
            (
                a["rule"]["name"].as_str().unwrap().to_owned(),
                a["log"]["level"].as_str().unwrap().to_owned(),
                a["host"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{name}: findings");

    // Each boot event at its frame's time, as tshark reads the capture.
    if let Some(times) = tshark_times(capture) {
        for e in &boot {
            let frame = e["bootscope"]["frame"].as_u64().unwrap();
            let ts = parse_rfc3339(e["@timestamp"].as_str().unwrap());
            assert_eq!(Some(&ts), times.get(&frame), "{name}: frame {frame}: {e}");
        }
    } else {
        eprintln!("{name}: tshark missing, timestamps not compared");
    }
    // And at the report's time: capture start plus the entry's offset.
    let start = (report["capture"]["start"].as_f64().unwrap() * 1e6).round() as i64;
    for e in &boot {
        let t = (e["bootscope"]["time"].as_f64().unwrap() * 1e6).round() as i64;
        assert_eq!(parse_rfc3339(e["@timestamp"].as_str().unwrap()), start + t);
    }
}

#[test]
fn event_lines_match_the_report_on_samples_and_a_real_capture() {
    for s in [
        "mixed-site",
        "dhcp-no-offer",
        "boot-loop",
        "dhcp-starvation",
        "firmware-upgrade-one-reboot",
        "cucm-rst",
    ] {
        check(&sample_path(s), s);
    }
    check(&capture_path("mercury/capture2-phones.pcap"), "mercury");
}

#[test]
fn hostile_wire_strings_come_out_as_escaped_json() {
    let capture = crate::escaping::hostile_capture();
    let (_, lines, text) = run(&capture, "hostile");
    assert!(!lines.is_empty());
    // One object a line, no raw control character anywhere in the file.
    for (i, b) in text.bytes().enumerate() {
        assert!(b >= 0x20 || b == b'\n', "raw control byte {b:#x} at {i}");
    }
    for (i, l) in lines.iter().enumerate() {
        assert!(l.is_object());
        assert_json_printable(l, &format!("line {i}"));
    }
    // The hostile strings are there, escaped: not a vacuous check.
    assert!(
        text.contains("\\\\x1b[2J"),
        "the escaped ESC is in the lines"
    );
    // The CDP device id, the DHCP option 66 name (ESC and CR), the name a SIP
    // phone registered with: each in its line, escaped.
    let has = |what: &str, pred: &dyn Fn(&Value) -> bool| {
        assert!(lines.iter().any(pred), "no escaped hostile {what}");
    };
    let text_of = |v: &Value| v.as_str().unwrap_or("").to_owned();
    has("CDP device id", &|l| {
        l["network"]["protocol"] == "cdp" && text_of(&l["host"]["name"]).contains("\\x1b")
    });
    has("DHCP option 66", &|l| {
        let m = text_of(&l["message"]);
        l["event"]["action"] == "dhcp_ack" && m.contains("\\x1b") && m.contains("\\r")
    });
    has("SIP name", &|l| {
        l["network"]["protocol"] == "sip" && text_of(&l["host"]["name"]).contains("\\x1b")
    });
}

#[test]
fn without_events_nothing_is_written() {
    let (report, _, _) = run(&sample_path("healthy-sccp"), "healthy");
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .arg(sample_path("healthy-sccp"))
        .output()
        .unwrap();
    let plain: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The report does not change with --events.
    assert_eq!(plain["phones"], report["phones"]);
}
