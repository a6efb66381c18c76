//! The rules documentation and the promise it makes: every example in
//! `rules/README.md` loads (a whole file over the builtin ones, an excerpt as it stands
//! in the builtin file), and a voice engineer changes what bootscope knows — a step, a
//! vendor string, a gateway's, a file class, a finding — with data files alone.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use bootscope::analyze::{self, Options};
use bootscope::capture::{CaptureStats, Frame, Linktype};
use bootscope::link::MacAddr;
use bootscope::model::encode;
use bootscope::model::wire::{self, Endpoint, L2};
use bootscope::pipeline::Pipeline;
use bootscope::report::Report;

use crate::common::sample_path;

const README: &str = include_str!("../rules/README.md");

/// A fresh directory for one test's rule files.
fn rules_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bootscope-rules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// The README's `json` blocks: (what follows `json` on the fence line, the text).
fn json_blocks() -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in README.lines() {
        if let Some((info, mut text)) = open.take() {
            if line.starts_with("```") {
                blocks.push((info, text));
            } else {
                text.push_str(line);
                text.push('\n');
                open = Some((info, text));
            }
        } else if let Some(info) = line.strip_prefix("```json") {
            open = Some((info.trim().to_owned(), String::new()));
        }
    }
    assert!(open.is_none(), "an unclosed ```json block");
    blocks
}

/// The rules file a whole example is, by its top-level fields.
fn file_of(doc: &serde_json::Value) -> &'static str {
    let has = |k: &str| doc.get(k).is_some();
    if has("steps") {
        "boot_sequence.json"
    } else if has("rules") {
        "findings.json"
    } else if has("patterns") {
        "files.json"
    } else if has("dhcp_vendor_class_prefixes") {
        "phones.json"
    } else if has("switch_answer_ms") {
        "windows.json"
    } else {
        panic!("a json example that is no rules file: {doc}")
    }
}

#[test]
fn every_example_of_the_rules_documentation_loads() {
    let builtin = |file: &str| match file {
        "boot_sequence.json" => rules::BUILTIN_SEQUENCE,
        "findings.json" => rules::BUILTIN_FINDINGS,
        "phones.json" => rules::BUILTIN_PHONES,
        "files.json" => rules::BUILTIN_FILES,
        "windows.json" => rules::BUILTIN_WINDOWS,
        other => panic!("no builtin {other}"),
    };
    let (mut whole, mut excerpts) = (0, 0);
    for (i, (info, text)) in json_blocks().into_iter().enumerate() {
        if let Some(file) = info.strip_prefix("excerpt=") {
            assert!(
                builtin(file).contains(&text),
                "example {i} is not an excerpt of {file}:\n{text}"
            );
            excerpts += 1;
            continue;
        }
        assert!(info.is_empty(), "example {i}: unknown block info `{info}`");
        let doc: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("example {i} is not JSON: {e}\n{text}"));
        let file = file_of(&doc);
        let dir = rules_dir(&format!("doc{i}"), &[(file, &text)]);
        let set = analyze::load_rules(Some(&dir))
            .unwrap_or_else(|e| panic!("example {i} ({file}) does not load: {e}\n{text}"));
        assert!(set
            .sources
            .iter()
            .any(|s| s.ends_with(file) && !s.starts_with("<builtin>")));
        std::fs::remove_dir_all(&dir).unwrap();
        whole += 1;
    }
    // One whole file of each kind, and the excerpts of the sequence and findings.
    assert!(
        whole >= 5 && excerpts >= 3,
        "{whole} files, {excerpts} excerpts"
    );
}

/// The README's whole example of `file` (the first one).
fn example(file: &str) -> String {
    examples(file)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no example of {file}"))
}

/// The README's whole examples of `file`, in order.
fn examples(file: &str) -> Vec<String> {
    json_blocks()
        .into_iter()
        .filter(|(info, _)| info.is_empty())
        .map(|(_, text)| text)
        .filter(|text| file_of(&serde_json::from_str(text).unwrap()) == file)
        .collect()
}

fn analyze_with(capture: &Path, dir: Option<&Path>) -> Report {
    let opts = Options {
        rules: dir.map(Path::to_path_buf),
        ..Options::default()
    };
    analyze::run(capture, &opts).unwrap_or_else(|e| panic!("{}: {e}", capture.display()))
}

#[test]
fn a_step_added_in_data_is_where_a_phone_stalls() {
    // The phone asks for its configuration, which is not found, nor XMLDefault.
    let capture = sample_path("config-not-found");
    let after = |r: &Report| {
        let p = &r.phones[0];
        p.expected_next.as_ref().map(|e| e.after.clone())
    };
    let builtin = analyze_with(&capture, None);
    assert_ne!(
        after(&builtin).as_deref(),
        Some("the configuration asked for")
    );
    let dir = rules_dir(
        "step",
        &[("boot_sequence.json", &example("boot_sequence.json"))],
    );
    let custom = analyze_with(&capture, Some(&dir));
    assert_eq!(
        after(&custom).as_deref(),
        Some("the configuration asked for")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_range_edited_in_data_changes_the_printed_within() {
    // The DISCOVERs go unanswered: the model expects an OFFER within the OFFER step's
    // model_ms, with its margin (twice the longest, and a second).
    let capture = sample_path("dhcp-no-offer");
    let model = |r: &Report| {
        r.phones[0]
            .expected_next
            .as_ref()
            .and_then(|x| x.model.clone())
    };
    let within = |r: &Report| model(r).map(|m| m.within.as_secs());
    assert_eq!(within(&analyze_with(&capture, None)), Some(1.06));
    let (from, to) = (
        "\"timeout_ms\": 10000, \"model_ms\": [2, 30]",
        "\"timeout_ms\": 10000, \"model_ms\": [2, 2000]",
    );
    assert_eq!(rules::BUILTIN_SEQUENCE.matches(from).count(), 1);
    let edited = rules::BUILTIN_SEQUENCE.replace(from, to);
    let dir = rules_dir("model-ms", &[("boot_sequence.json", &edited)]);
    let custom = analyze_with(&capture, Some(&dir));
    assert_eq!(within(&custom), Some(5.0));
    let text = bootscope::report::phone::render(&custom.phones[0]);
    assert!(text.contains("within 5.0 s"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
    // A sequence without ranges (the README's): the model says nothing of when.
    let dir = rules_dir(
        "no-model-ms",
        &[("boot_sequence.json", &example("boot_sequence.json"))],
    );
    let bare = analyze_with(&capture, Some(&dir));
    assert!(bare.phones[0].expected_next.is_some());
    assert!(model(&bare).is_none(), "{:?}", model(&bare));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_finding_added_in_data_fires() {
    let capture = sample_path("config-xmldefault-fallback");
    let codes = |r: &Report| -> Vec<String> {
        r.phones
            .iter()
            .flat_map(|p| p.findings.iter().map(|f| f.code.clone()))
            .collect()
    };
    assert!(!codes(&analyze_with(&capture, None)).contains(&"auto-registered".to_owned()));
    let dir = rules_dir("finding", &[("findings.json", &example("findings.json"))]);
    let custom = analyze_with(&capture, Some(&dir));
    assert!(
        codes(&custom).contains(&"auto-registered".to_owned()),
        "{:?}",
        codes(&custom)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_vendor_string_added_in_data_makes_a_phone() {
    // mixed-site's PCs ask DHCP with option 60 "MSFT 5.0": as another vendor's phone
    // family would, with the same length (UDP checksums are not checked).
    let mut bytes = std::fs::read(sample_path("mixed-site")).unwrap();
    let (from, to) = (b"MSFT 5.0", b"Vocera 9");
    let mut replaced = 0;
    for at in 0..bytes.len().saturating_sub(from.len()) {
        if &bytes[at..at + from.len()] == from {
            bytes[at..at + to.len()].copy_from_slice(to);
            replaced += 1;
        }
    }
    assert!(replaced > 0);
    let dir = rules_dir("phones-capture", &[]);
    let capture = dir.join("capture.pcap");
    std::fs::write(&capture, bytes).unwrap();
    let builtin = analyze_with(&capture, None);
    let phones = |r: &Report| r.phones.len();
    let phones_json = rules::BUILTIN_PHONES.replace(
        "\"dhcp_vendor_class_prefixes\": [",
        "\"dhcp_vendor_class_prefixes\": [\"Vocera\", ",
    );
    let rules = rules_dir("phones", &[("phones.json", &phones_json)]);
    let custom = analyze_with(&capture, Some(&rules));
    assert_eq!(phones(&custom), phones(&builtin) + 2);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&rules).unwrap();
}

/// The finding codes of a phone at 10.1.1.20 asking 10.1.1.5 for `files`, none of them
/// there, with the rules of `dir` (the builtin ones for `None`).
fn codes_for_missing_files(files: &[&str], dir: Option<&Path>) -> Vec<String> {
    let mac = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);
    let server_mac = MacAddr([0x00, 0x0c, 0x29, 0, 0, 5]);
    let phone = Endpoint {
        ip: Ipv4Addr::new(10, 1, 1, 20),
        port: 50000,
    };
    let server = Endpoint {
        ip: Ipv4Addr::new(10, 1, 1, 5),
        port: 69,
    };
    let up = L2 {
        src: mac,
        dst: server_mac,
        vlan: Some(100),
    };
    let down = L2 {
        src: server_mac,
        dst: mac,
        vlan: Some(100),
    };
    let from_server = Endpoint {
        port: 50001,
        ..server
    };
    let mut frames = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let p = Endpoint {
            port: 50000 + 2 * i as u16,
            ..phone
        };
        frames.push(wire::udp_frame(
            up,
            p,
            server,
            &encode::tftp_rrq(file).unwrap(),
        ));
        let not_found = encode::tftp_error(1, "File not found").unwrap();
        frames.push(wire::udp_frame(down, from_server, p, &not_found));
    }
    let rules = analyze::load_rules(dir).unwrap();
    let mut p = Pipeline::new("test", &rules, Default::default(), Default::default());
    for (i, data) in frames.iter().enumerate() {
        let n = i as u64 + 1;
        p.frame(&Frame {
            number: n,
            ts_ns: 1_700_000_000_000_000_000 + n as i64 * 1_000_000,
            linktype: Linktype::ETHERNET,
            data,
            orig_len: data.len() as u32,
        });
    }
    let report = p.finish(None, &CaptureStats::default(), Vec::new());
    report.phones[0]
        .findings
        .iter()
        .map(|f| f.code.clone())
        .collect()
}

#[test]
fn a_signed_configuration_missing_is_a_configuration_not_found() {
    // A phone asks for its signed configuration and the signed XMLDefault; neither is
    // there. The builtin classes take `.cnf.xml.sgn` for a configuration, not a load's `.sgn`.
    let codes = codes_for_missing_files(
        &["SEP001B54AA0001.cnf.xml.sgn", "XMLDefault.cnf.xml.sgn"],
        None,
    );
    assert!(codes.contains(&"config-not-found".to_owned()), "{codes:?}");
    assert!(
        !codes.contains(&"firmware-not-found".to_owned()),
        "{codes:?}"
    );
}

#[test]
fn a_file_class_added_in_data_changes_the_verdict() {
    // A device named by its CTL request asks for ATA<MAC>.cnf.xml, then XMLDefault; neither
    // is there. The builtin classes know no ATA configuration; the README's file does.
    let files = [
        "CTLSEP001B54AA0001.tlv",
        "ATA001B54AA0001.cnf.xml",
        "XMLDefault.cnf.xml",
    ];
    let builtin = codes_for_missing_files(&files, None);
    assert!(
        !builtin.contains(&"config-not-found".to_owned()),
        "{builtin:?}"
    );
    let dir = rules_dir("files", &[("files.json", &example("files.json"))]);
    let custom = codes_for_missing_files(&files, Some(&dir));
    assert!(
        custom.contains(&"config-not-found".to_owned()),
        "{custom:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_gateway_marker_added_in_data_keeps_another_vendors_gateway_off_the_failures() {
    // An AudioCodes gateway registers a line; the registrar never answers.
    let gw = MacAddr([0x00, 0x90, 0x8f, 0x01, 0x02, 0x03]);
    let cm_mac = MacAddr([0x00, 0x50, 0x56, 0, 0, 0x48]);
    let (from, to) = (
        Endpoint {
            ip: Ipv4Addr::new(10, 1, 1, 70),
            port: 5060,
        },
        Endpoint {
            ip: Ipv4Addr::new(10, 1, 1, 48),
            port: 5060,
        },
    );
    let up = L2 {
        src: gw,
        dst: cm_mac,
        vlan: None,
    };
    let frames: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let register = format!(
                "REGISTER sip:10.1.1.48 SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.70:5060;branch=z9hG4bK{i}\r\n\
                 From: <sip:4001@10.1.1.48>;tag=a\r\nTo: <sip:4001@10.1.1.48>\r\n\
                 Call-ID: line-4001@10.1.1.70\r\nCSeq: {} REGISTER\r\n\
                 Contact: <sip:4001@10.1.1.70:5060>\r\nUser-Agent: AudioCodes-Sip-Gateway-Mediant 1000/v.7.20A\r\n\
                 Expires: 3600\r\nContent-Length: 0\r\n\r\n",
                i + 1
            );
            wire::udp_frame(up, from, to, register.as_bytes())
        })
        .collect();
    let report = |dir: Option<&Path>| -> Report {
        let rules = analyze::load_rules(dir).unwrap();
        let mut p = Pipeline::new("test", &rules, Default::default(), Default::default());
        for (i, data) in frames.iter().enumerate() {
            let n = i as u64 + 1;
            p.frame(&Frame {
                number: n,
                ts_ns: 1_700_000_000_000_000_000 + n as i64 * 10_000_000_000,
                linktype: Linktype::ETHERNET,
                data,
                orig_len: data.len() as u32,
            });
        }
        p.finish(None, &CaptureStats::default(), Vec::new())
    };
    let builtin = report(None);
    assert_eq!(builtin.other_devices[0].kind, "sip-agent");
    assert!(builtin.has_errors());
    let phones_json = examples("phones.json")
        .into_iter()
        .find(|e| e.contains("AudioCodes"))
        .unwrap();
    let dir = rules_dir("gateway", &[("phones.json", &phones_json)]);
    let custom = report(Some(&dir));
    let [gateway] = custom.other_devices.as_slice() else {
        panic!("{:?}", custom.other_devices)
    };
    assert_eq!(
        (gateway.kind, gateway.ip.as_deref()),
        ("voice-gateway", Some("10.1.1.70"))
    );
    assert!(gateway.findings.is_empty() && !custom.has_errors());
    std::fs::remove_dir_all(&dir).unwrap();
}
