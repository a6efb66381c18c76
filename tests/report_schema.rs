//! The report's documented format holds: every JSON report the bundled captures give
//! (each `samples/*/capture.pcap`, each capture under `tests/captures/`, pretty as
//! `analyze --format json` writes it and on one line as `live` does, and the phone
//! report of `--phone … --format json`) validates against
//! `schemas/report.schema.json`; a broken report does not; and the schema and
//! `docs/report.md` name every finding code, event type and the format version the
//! code has.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::common::{all_captures, analyze, capture_path, sample_path};

const SCHEMA: &str = include_str!("../schemas/report.schema.json");
const REPORT_DOC: &str = include_str!("../docs/report.md");

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("schemas/report.schema.json is JSON")
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(schema).expect("the schema compiles")
}

/// The schema of one of its definitions (`device`: one phone's report).
fn definition(name: &str) -> Value {
    let whole = schema();
    json!({
        "$schema": whole["$schema"],
        "$ref": format!("#/$defs/{name}"),
        "$defs": whole["$defs"],
    })
}

/// The schema's errors for `doc`, one line each.
fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Every bundled capture the report is made of: the samples and the third-party ones.
fn every_capture() -> Vec<PathBuf> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&samples)
        .unwrap()
        .map(|e| e.unwrap().path().join("capture.pcap"))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let samples_found = paths.len();
    assert!(samples_found >= 50, "{samples_found} samples");
    paths.extend(all_captures().iter().map(|c| capture_path(c)));
    assert!(paths.len() > samples_found + 20, "{} captures", paths.len());
    paths
}

/// The pretty document `analyze --format json` writes for `path`.
fn pretty_report(report: &bootscope::report::Report) -> Value {
    let mut out = Vec::new();
    bootscope::report::write_json(report, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn every_report_of_the_bundled_captures_follows_the_schema() {
    let whole = validator(&schema());
    let device = validator(&definition("device"));
    let (mut reports, mut devices) = (0, 0);
    for path in every_capture() {
        let report = analyze(&path);
        let pretty = pretty_report(&report);
        let found = errors(&whole, &pretty);
        assert!(
            found.is_empty(),
            "{}:\n{}",
            path.display(),
            found.join("\n")
        );
        // The one-line document (`live --format json`) is serde's own.
        let line = serde_json::to_value(&report).unwrap();
        assert_eq!(line, pretty, "{}", path.display());
        // One phone's report (`--phone … --format json`) is a device entry.
        for p in report.phones.iter().chain(&report.other_devices) {
            let doc = serde_json::to_value(p).unwrap();
            let found = errors(&device, &doc);
            assert!(
                found.is_empty(),
                "{}:\n{}",
                path.display(),
                found.join("\n")
            );
            devices += 1;
        }
        reports += 1;
    }
    assert!(
        reports > 70 && devices > 100,
        "{reports} reports, {devices} devices"
    );
}

#[test]
fn the_binarys_json_and_phone_report_follow_the_schema() {
    let sample = sample_path("mixed-site");
    let run = |extra: &[&str]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_bootscope"))
            .arg("analyze")
            .arg(&sample)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        // 0 or 1: whether the report has error findings.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{extra:?}: {out:?}"
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let doc = run(&[]);
    assert_eq!(doc["format_version"], bootscope::report::FORMAT_VERSION);
    assert!(errors(&validator(&schema()), &doc).is_empty());
    let name = doc["phones"][0]["device_name"].as_str().unwrap().to_owned();
    let phone = run(&["--phone", &name]);
    assert_eq!(phone["device_name"], name.as_str());
    let found = errors(&validator(&definition("device")), &phone);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// What a breakage is, and how it breaks a report.
type Breakage = (&'static str, fn(&mut Value));

#[test]
fn a_broken_report_fails_the_schema() {
    let good = pretty_report(&analyze(&sample_path("mixed-site")));
    let v = validator(&schema());
    assert!(v.is_valid(&good));
    let breakages: [Breakage; 9] = [
        ("no summary", |d| {
            d.as_object_mut().unwrap().remove("summary");
        }),
        ("no format version", |d| {
            d.as_object_mut().unwrap().remove("format_version");
        }),
        ("another format version", |d| {
            d["format_version"] = json!("2")
        }),
        ("an unknown top-level field", |d| d["extra"] = json!(1)),
        ("an unknown status", |d| {
            d["phones"][0]["status"] = json!("booting")
        }),
        ("an unknown stage", |d| {
            d["phones"][0]["timeline"][0]["stage"] = json!("power")
        }),
        ("an unknown finding code", |d| {
            let p = d["phones"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|p| !p["findings"].as_array().unwrap().is_empty())
                .unwrap();
            p["findings"][0]["code"] = json!("dhcp-no-offre");
        }),
        ("a frame number as text", |d| {
            d["phones"][0]["timeline"][0]["frame"] = json!("1")
        }),
        ("a phone field missing", |d| {
            d["phones"][0].as_object_mut().unwrap().remove("mac");
        }),
    ];
    for (what, break_it) in breakages {
        let mut doc = good.clone();
        break_it(&mut doc);
        assert!(!v.is_valid(&doc), "{what}: still valid");
    }
}

/// The strings of an `enum` of the schema's definitions.
fn schema_enum(def: &str) -> Vec<String> {
    let mut names: Vec<String> = schema()["$defs"][def]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum in $defs/{def}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The finding codes of the builtin rules, sorted, each once.
fn builtin_codes() -> Vec<String> {
    let findings: Value = serde_json::from_str(rules::BUILTIN_FINDINGS).unwrap();
    let mut codes: Vec<String> = findings["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn the_schema_knows_every_finding_code_and_event_type() {
    assert_eq!(
        schema_enum("finding_code"),
        builtin_codes(),
        "rules/findings.json and $defs/finding_code in schemas/report.schema.json differ"
    );
    let mut events: Vec<String> = bootscope::timeline::EventType::ALL
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    events.sort();
    assert_eq!(
        schema_enum("event_type"),
        events,
        "the event types and $defs/event_type in schemas/report.schema.json differ"
    );
    assert_eq!(
        schema()["properties"]["format_version"]["const"],
        bootscope::report::FORMAT_VERSION
    );
}

#[test]
fn the_report_documentation_names_every_finding_code_and_the_format_version() {
    let codes = builtin_codes();
    assert!(codes.len() >= 25, "{} codes", codes.len());
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !REPORT_DOC.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "finding codes missing from docs/report.md: {missing:?}"
    );
    // Each code has its row in the table of next checks.
    let (_, next_checks) = REPORT_DOC
        .split_once("\n## Next checks\n")
        .expect("docs/report.md has a section `## Next checks`");
    for c in &codes {
        assert!(
            next_checks
                .lines()
                .any(|l| l.starts_with(&format!("| `{c}` |")) && l.matches(" | ").count() >= 3),
            "no row for `{c}` in the next checks of docs/report.md"
        );
    }
    let version = format!(
        "`\"format_version\": \"{}\"`",
        bootscope::report::FORMAT_VERSION
    );
    assert!(
        REPORT_DOC.contains(&version),
        "docs/report.md does not say {version}"
    );
}

/// Every property name the schema declares.
fn property_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            m.values().for_each(|x| property_names(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| property_names(x, out)),
        _ => {}
    }
}

#[test]
fn the_report_documentation_names_every_field_of_the_schema() {
    let mut names = Vec::new();
    property_names(&schema(), &mut names);
    names.sort();
    names.dedup();
    assert!(names.len() > 80, "{} fields", names.len());
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !REPORT_DOC.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "fields missing from docs/report.md: {missing:?}"
    );
}

#[test]
fn a_live_sessions_report_follows_the_schema() {
    // `live` needs libpcap and root; its report is the pipeline's, with the capture's
    // `live` counters filled in as the session does, written on one line.
    let mut report = analyze(&sample_path("mixed-site"));
    report.capture.live = Some(bootscope::report::LiveInfo {
        interface: "eth1".to_owned(),
        filter: String::new(),
        received: 164,
        dropped_by_kernel: 0,
        dropped_by_interface: 0,
        written_to: None,
    });
    let line = serde_json::to_string(&report).unwrap();
    assert!(!line.contains('\n'));
    let doc: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(doc["capture"]["live"]["interface"], "eth1");
    let found = errors(&validator(&schema()), &doc);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_varied_simulated_fleets_report_follows_the_schema() {
    // Every phone family, secure registrations, signed and encrypted configurations,
    // SRST and the ports' faults: values the bundled captures may not all hold.
    let sc = bootscope::model::fleet::varied(300, 7, 420, 0.0);
    let (pcap, _) = bootscope::model::simulate(&sc, Vec::new()).unwrap();
    let path = crate::common::scratch("schema-varied-fleet.pcap");
    std::fs::write(&path, &pcap).unwrap();
    let report = analyze(&path);
    assert!(report.phones.len() >= 300, "{} phones", report.phones.len());
    let doc = pretty_report(&report);
    let found = errors(&validator(&schema()), &doc);
    assert!(found.is_empty(), "{}", found.join("\n"));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_flooded_sites_report_follows_the_schema() {
    // Every site finding: a DHCP starvation flood and the four floods told by rate.
    use bootscope::model::scenario::{Flood, FloodStyle, Storm, StormKind};
    let mut sc = bootscope::model::fleet::scenario(20, 9, 200);
    sc.site.dhcp_pool = Some(30);
    let storm = |kind, start_s: u64| Storm {
        kind,
        messages: 20_000,
        rate: 4000,
        start_ms: start_s * 1000,
        vlan: None,
        style: FloodStyle::RandomSource,
    };
    sc.flood = Some(Flood {
        start_ms: 20_000,
        macs: 2000,
        rate: 1000,
        style: FloodStyle::RandomSource,
        vlan: None,
        half_open: 0,
        syn_start_ms: 0,
        syn_rate: 1000,
        storms: vec![
            storm(StormKind::Arp, 40),
            storm(StormKind::Dns, 60),
            storm(StormKind::EapolStart, 80),
            storm(StormKind::IcmpUnreachable, 100),
        ],
    });
    sc.check().unwrap();
    let (pcap, _) = bootscope::model::simulate(&sc, Vec::new()).unwrap();
    let path = crate::common::scratch("schema-flooded-site.pcap");
    std::fs::write(&path, &pcap).unwrap();
    let report = analyze(&path);
    let mut codes: Vec<&str> = report
        .site_findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "arp-storm",
            "dhcp-starvation",
            "dns-flood",
            "eapol-start-flood",
            "icmp-error-flood"
        ]
    );
    let v = validator(&schema());
    let doc = pretty_report(&report);
    let found = errors(&v, &doc);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // A rate flood's counts are its messages, a starvation's its clients: not both.
    let mut mixed = doc.clone();
    mixed["site_findings"][0]["messages"] = serde_json::json!(5);
    mixed["site_findings"][1]["clients"] = serde_json::json!(5);
    assert!(!errors(&v, &mixed).is_empty());
    std::fs::remove_file(&path).unwrap();
}
