//! bootscope's `dissect --format json` against tshark's reading of the same bytes.
//! For every bundled capture: the frames reported per protocol are the frames
//! tshark reports for that protocol, and the key decoded values agree. tshark's
//! readings are stored in tests/fixtures/tshark (made by gen.sh there, TShark 4.0.17).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bootscope::dissect::{self, Format};
use serde_json::Value;

use crate::common::{all_captures, capture_path};

/// The captures tests/captures/CATALOG.md marks as deliberately malformed.
const MALFORMED_CAPTURES: [&str; 7] = [
    "nDPI/dhcp-fuzz.pcapng",
    "tcpdump/bootp_asan.pcap",
    "tcpdump/lldp-infinite-loop-1.pcap",
    "tcpdump/lldp_asan.pcap",
    "tcpdump/lldp_mgmt_addr_tlv_asan.pcap",
    "tcpdump/tftp-heapoverflow.pcap",
    "zeek/invalid-content-length.pcap",
];

const PROTOS: [&str; 7] = ["cdp", "lldp", "dhcp", "tftp", "sccp", "sip", "http"];

/// Every message `dissect --format json` prints for a capture.
pub fn dissect_json(path: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    dissect::run(path, Format::Json, &mut out).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tshark")
}

/// tshark's rows for one capture and protocol: frame number → the other columns.
pub fn tshark_rows(capture: &str, proto: &str) -> BTreeMap<u64, Vec<String>> {
    let slug = capture.replace('/', "__");
    let path = fixture_dir().join(format!("{slug}.{proto}.tsv"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return BTreeMap::new();
    };
    text.lines()
        .map(|l| {
            let mut cols = l.split('\t').map(str::to_owned);
            let frame = cols.next().unwrap().parse().unwrap();
            (frame, cols.collect())
        })
        .collect()
}

fn str_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => u8::from(*b).to_string(),
        Some(other) => other.to_string(),
    }
}

/// Our messages of one protocol, by frame.
fn ours_by_frame<'a>(msgs: &'a [Value], proto: &str) -> BTreeMap<u64, Vec<&'a Value>> {
    let mut by: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for m in msgs.iter().filter(|m| m["proto"] == proto) {
        by.entry(m["frame"].as_u64().unwrap()).or_default().push(m);
    }
    by
}

#[test]
fn every_bundled_capture_has_a_tshark_reading_or_none_of_our_protocols() {
    // The fixtures cover exactly the bundled captures.
    let captures = all_captures();
    assert_eq!(captures.len(), 55, "{captures:?}");
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        // registrations.tsv and calls.tsv cover every capture at once (tests/analyze.rs).
        if let Some(stem) = name
            .strip_suffix(".tsv")
            .filter(|_| name != "registrations.tsv" && name != "calls.tsv")
        {
            let (cap, _proto) = stem.rsplit_once('.').unwrap();
            assert!(
                captures.contains(&cap.replace("__", "/")),
                "fixture {name} names no bundled capture"
            );
        }
    }
}

#[test]
fn frames_per_protocol_are_the_frames_tshark_reports() {
    let mut failures = Vec::new();
    for cap in all_captures() {
        let msgs = dissect_json(&capture_path(&cap));
        for proto in PROTOS {
            let ours: BTreeSet<u64> = ours_by_frame(&msgs, proto).keys().copied().collect();
            let theirs: BTreeSet<u64> = tshark_rows(&cap, proto).keys().copied().collect();
            if ours != theirs {
                failures.push(format!(
                    "{cap} {proto}: only bootscope {:?}, only tshark {:?}",
                    ours.difference(&theirs).collect::<Vec<_>>(),
                    theirs.difference(&ours).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Compare one tshark column with one of our fields over every row of a capture.
/// `ours` maps the messages of a frame to the string tshark would print
/// (several values joined with '|', as the fixtures aggregate them).
fn check_column(
    cap: &str,
    proto: &str,
    column: usize,
    what: &str,
    ours: impl Fn(&[&Value]) -> String,
    failures: &mut Vec<String>,
) {
    let msgs = dissect_json(&capture_path(cap));
    let by_frame = ours_by_frame(&msgs, proto);
    for (frame, cols) in tshark_rows(cap, proto) {
        let expected = cols.get(column).cloned().unwrap_or_default();
        let Some(mine) = by_frame.get(&frame) else {
            failures.push(format!("{cap} frame {frame}: no {proto} message"));
            continue;
        };
        if mine
            .iter()
            .any(|m| m.get("malformed").is_some_and(Value::is_object))
        {
            // A message bootscope rejects as malformed carries no decoded fields; only
            // the captures catalogued as deliberately malformed may have one.
            if !MALFORMED_CAPTURES.contains(&cap) {
                failures.push(format!("{cap} frame {frame}: malformed {proto}: {mine:?}"));
            }
            continue;
        }
        let got = ours(mine);
        if got != expected {
            failures.push(format!(
                "{cap} frame {frame} {what}: bootscope {got:?}, tshark {expected:?}"
            ));
        }
    }
}

fn first(field: &'static str) -> impl Fn(&[&Value]) -> String {
    move |m: &[&Value]| str_of(m.first().and_then(|v| v.get(field)))
}

fn joined(field: &'static str) -> impl Fn(&[&Value]) -> String {
    move |m: &[&Value]| {
        m.iter()
            .map(|v| str_of(v.get(field)))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("|")
    }
}

fn captures_with(proto: &str) -> Vec<String> {
    all_captures()
        .into_iter()
        .filter(|c| !tshark_rows(c, proto).is_empty())
        .collect()
}

#[test]
fn cdp_device_ids_voice_vlans_and_platforms_match_tshark() {
    let mut f = Vec::new();
    for cap in captures_with("cdp") {
        check_column(&cap, "cdp", 0, "device id", first("device_id"), &mut f);
        // tshark's cdp.voice_vlan is the VLAN of a VoIP VLAN Reply or Query.
        let voice_vlan = |m: &[&Value]| match m.first() {
            Some(v) if v.get("voice_vlan").is_some() => str_of(v.get("voice_vlan")),
            Some(v) => str_of(v.pointer("/voice_vlan_query/vlan")),
            None => String::new(),
        };
        check_column(&cap, "cdp", 1, "voice vlan", voice_vlan, &mut f);
        check_column(&cap, "cdp", 2, "platform", first("platform"), &mut f);
        check_column(&cap, "cdp", 3, "port id", first("port_id"), &mut f);
        check_column(&cap, "cdp", 4, "native vlan", first("native_vlan"), &mut f);
    }
    assert!(f.is_empty(), "{}", f.join("\n"));
}

fn policies(field: &'static str) -> impl Fn(&[&Value]) -> String {
    move |m: &[&Value]| {
        m.iter()
            .flat_map(|v| {
                v["network_policies"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|p| str_of(p.get(field)))
            .collect::<Vec<_>>()
            .join("|")
    }
}

#[test]
fn lldp_names_and_med_policies_match_tshark() {
    let mut f = Vec::new();
    for cap in captures_with("lldp") {
        check_column(&cap, "lldp", 0, "system name", first("system_name"), &mut f);
        check_column(
            &cap,
            "lldp",
            1,
            "MED app type",
            policies("app_type"),
            &mut f,
        );
        check_column(&cap, "lldp", 2, "MED VLAN", policies("vlan"), &mut f);
        check_column(
            &cap,
            "lldp",
            3,
            "MED L2 priority",
            policies("priority"),
            &mut f,
        );
        check_column(&cap, "lldp", 4, "MED DSCP", policies("dscp"), &mut f);
        check_column(&cap, "lldp", 5, "MED tagged", policies("tagged"), &mut f);
    }
    assert!(f.is_empty(), "{}", f.join("\n"));
}

#[test]
fn dhcp_message_types_and_option_150_lists_match_tshark() {
    let mut f = Vec::new();
    for cap in captures_with("dhcp") {
        check_column(&cap, "dhcp", 0, "xid", first("xid_hex"), &mut f);
        check_column(
            &cap,
            "dhcp",
            1,
            "message type",
            first("message_type_code"),
            &mut f,
        );
        let tftp = |m: &[&Value]| {
            m.iter()
                .flat_map(|v| v["tftp_servers"].as_array().cloned().unwrap_or_default())
                .map(|a| str_of(Some(&a)))
                .collect::<Vec<_>>()
                .join("|")
        };
        check_column(&cap, "dhcp", 2, "option 150", tftp, &mut f);
        check_column(
            &cap,
            "dhcp",
            3,
            "option 66",
            first("tftp_server_name"),
            &mut f,
        );
    }
    assert!(f.is_empty(), "{}", f.join("\n"));
}

#[test]
fn tftp_opcodes_file_names_errors_and_blocks_match_tshark() {
    let mut f = Vec::new();
    for cap in captures_with("tftp") {
        check_column(&cap, "tftp", 0, "opcode", first("opcode_code"), &mut f);
        // tshark shows the transfer's file name on every packet of it; bootscope on the
        // request (the timeline links the rest).
        let msgs = dissect_json(&capture_path(&cap));
        let by_frame = ours_by_frame(&msgs, "tftp");
        for (frame, cols) in tshark_rows(&cap, "tftp") {
            let Some(ours) = by_frame.get(&frame).and_then(|m| m.first()) else {
                continue;
            };
            let column = match ours["opcode_code"].as_u64() {
                Some(1) => 1,
                Some(2) => 2,
                _ => continue,
            };
            if str_of(ours.get("file")) != cols[column] {
                f.push(format!(
                    "{cap} frame {frame} file: {ours} vs {:?}",
                    cols[column]
                ));
            }
        }
        check_column(&cap, "tftp", 3, "error code", first("error_code"), &mut f);
        check_column(&cap, "tftp", 4, "block", first("block"), &mut f);
    }
    assert!(f.is_empty(), "{}", f.join("\n"));
}

#[test]
fn sccp_message_ids_and_register_device_names_match_tshark() {
    let mut f = Vec::new();
    for cap in captures_with("sccp") {
        check_column(&cap, "sccp", 0, "message ids", joined("message_id"), &mut f);
        // Device names of RegisterReq (tshark also shows the one in ConfigStatRes).
        let register_names = |m: &[&Value]| {
            m.iter()
                .filter(|v| v["message_id"] == 1)
                .map(|v| str_of(v.get("device_name")))
                .collect::<Vec<_>>()
                .join("|")
        };
        let tshark_register_names = |cap: &str| -> BTreeMap<u64, String> {
            tshark_rows(cap, "sccp")
                .into_iter()
                .filter(|(_, c)| c[0].split('|').any(|id| id == "1"))
                .map(|(frame, c)| (frame, c[1].clone()))
                .collect()
        };
        let msgs = dissect_json(&capture_path(&cap));
        let by_frame = ours_by_frame(&msgs, "sccp");
        for (frame, expected) in tshark_register_names(&cap) {
            let got = by_frame
                .get(&frame)
                .map(|m| register_names(m))
                .unwrap_or_default();
            if got != expected {
                f.push(format!(
                    "{cap} frame {frame} device name: {got:?} vs {expected:?}"
                ));
            }
        }
    }
    assert!(f.is_empty(), "{}", f.join("\n"));
}

/// The `+u.sip!devicename.ccm.cisco.com` value in tshark's Contact text.
fn device_name_in_contact(contact: &str) -> String {
    let key = "+u.sip!devicename.ccm.cisco.com=\"";
    contact
        .split('|')
        .filter_map(|c| {
            let at = c.find(key)? + key.len();
            let rest = &c[at..];
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect::<Vec<_>>()
        .join("|")
}

#[test]
fn sip_methods_status_codes_and_contact_device_names_match_tshark() {
    let mut f = Vec::new();
    for cap in captures_with("sip") {
        check_column(&cap, "sip", 0, "method", first("method"), &mut f);
        check_column(&cap, "sip", 1, "status", first("status"), &mut f);
        check_column(&cap, "sip", 2, "CSeq method", first("cseq_method"), &mut f);
        check_column(&cap, "sip", 4, "User-Agent", first("user_agent"), &mut f);
        // Device names: compare with the value inside tshark's Contact header.
        let msgs = dissect_json(&capture_path(&cap));
        let by_frame = ours_by_frame(&msgs, "sip");
        for (frame, cols) in tshark_rows(&cap, "sip") {
            let expected = device_name_in_contact(cols.get(3).map_or("", String::as_str));
            let got = by_frame
                .get(&frame)
                .map(|m| str_of(m[0].get("device_name")))
                .unwrap_or_default();
            if got != expected {
                f.push(format!(
                    "{cap} frame {frame} device name: {got:?} vs {expected:?}"
                ));
            }
        }
    }
    assert!(f.is_empty(), "{}", f.join("\n"));
}

#[test]
fn the_catalogued_registrations_are_all_decoded() {
    // Counts from tests/captures/CATALOG.md (tshark -V), independent of the fixtures.
    let regs = |cap: &str| -> Vec<String> {
        dissect_json(&capture_path(cap))
            .into_iter()
            .filter(|m| m["message"] == "RegisterReq" || m["method"] == "REGISTER")
            .map(|m| str_of(m.get("device_name")))
            .collect()
    };
    assert_eq!(
        regs("Wireshark-Captures/sccp_fxs_register.pcapng"),
        ["ANC288093711081", "ANC288093711FFF"]
    );
    assert_eq!(
        regs("Wireshark-Captures/sccp_hw_mtp_register.pcapng"),
        ["NONSECURE_MTP"]
    );
    assert_eq!(
        regs("Wireshark-Captures/sccp_phone_register.pcapng"),
        ["SEP002155D548AC"]
    );
    assert_eq!(
        regs("Wireshark-Captures/sip_xmf_recording_cube.pcapng"),
        [
            "SEPF87B204EEEDE",
            "SEP0C75BD110CA4",
            "SEP2C31246A214B",
            "SEPE8EDF3AA1C0E"
        ]
    );
    assert_eq!(regs("zeek/wireshark.pcap").len(), 18);
    assert_eq!(
        regs("Wireshark-Captures/rtp_sip_g711ulaw_20ms.pcapng").len(),
        6
    );
}

/// TLS as `dissect` prints it, on the ports it reads TLS on (the signalling ones, 2443
/// and 5061): the same frames as tshark, and in each the records' content types and
/// versions, the handshake types and the suites offered or chosen, as tshark lists them
/// (`*.tls.tsv`: ports, content types, versions, handshake types, suites, ...).
#[test]
fn tls_on_the_signalling_ports_reads_as_tshark_reads_it() {
    let hex = |v: &Value| format!("0x{:04x}", v.as_u64().unwrap());
    let mut failures = Vec::new();
    let mut compared = 0;
    for cap in all_captures() {
        let theirs: BTreeMap<u64, Vec<String>> = tshark_rows(&cap, "tls")
            .into_iter()
            .filter(|(_, c)| c.iter().take(2).any(|p| p == "2443" || p == "5061"))
            .collect();
        let msgs = dissect_json(&capture_path(&cap));
        let ours = ours_by_frame(&msgs, "tls");
        let (a, b): (BTreeSet<u64>, BTreeSet<u64>) = (
            ours.keys().copied().collect(),
            theirs.keys().copied().collect(),
        );
        if a != b {
            failures.push(format!(
                "{cap}: only bootscope {:?}, only tshark {:?}",
                a.difference(&b).collect::<Vec<_>>(),
                b.difference(&a).collect::<Vec<_>>()
            ));
            continue;
        }
        for (frame, cols) in &theirs {
            let records = &ours[frame];
            let joined = |f: &dyn Fn(&Value) -> Vec<String>| {
                records
                    .iter()
                    .flat_map(|m| f(m))
                    .collect::<Vec<_>>()
                    .join("|")
            };
            let list = |key: &'static str, fmt: &'static dyn Fn(&Value) -> String| {
                move |m: &Value| {
                    m[key]
                        .as_array()
                        .map(|a| a.iter().map(fmt).collect())
                        .unwrap_or_default()
                }
            };
            let got = [
                joined(&|m| vec![m["content_type"].to_string()]),
                joined(&|m| vec![hex(&m["version"])]),
                joined(&list("handshake_types", &|v| v.to_string())),
                joined(&|m| {
                    let mut v: Vec<String> = list("cipher_suites", &|v| {
                        format!("0x{:04x}", v.as_u64().unwrap())
                    })(m);
                    if let Some(s) = m["cipher_suite"].as_u64() {
                        v.push(format!("0x{s:04x}"));
                    }
                    v
                }),
            ];
            for (i, g) in got.iter().enumerate() {
                let want = cols.get(i + 2).map_or("", String::as_str);
                if g != want {
                    failures.push(format!(
                        "{cap} frame {frame} column {}: {g:?} vs tshark {want:?}",
                        i + 2
                    ));
                }
            }
            compared += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // sccp_hw_gway_tls (handshakes, the NULL session's Finished) and srst_secure.
    assert!(compared > 150, "only {compared} TLS frames");
}
