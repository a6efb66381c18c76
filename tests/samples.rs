//! The sample library and the reference model: every sample regenerates byte for
//! byte from its scenario, every frame the model writes dissects cleanly (the
//! emitters and the dissectors agree), and the model is deterministic per seed and
//! streams a fleet with flat state.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bootscope::dissect::{self, Format};
use bootscope::model::{self, fleet, Scenario};

fn sample_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("scenario.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_sample_regenerates_byte_identical() {
    let dirs = sample_dirs();
    assert!(dirs.len() >= 27, "{dirs:?}");
    for d in dirs {
        let sc = Scenario::load(&d.join("scenario.json")).unwrap();
        let (pcap, report) = model::simulate(&sc, Vec::new()).unwrap();
        let committed = std::fs::read(d.join("capture.pcap")).unwrap();
        assert!(
            pcap == committed,
            "{}: capture.pcap differs: run samples/regenerate.sh",
            d.display()
        );
        let expected = serde_json::to_string_pretty(&report).unwrap() + "\n";
        let committed = std::fs::read_to_string(d.join("expected.json")).unwrap();
        assert_eq!(
            expected,
            committed,
            "{}: expected.json differs",
            d.display()
        );
        // A flood is thousands of frames by nature; the others are a few boots.
        let limit = if sc.flood.is_some() { 1024 } else { 400 } * 1024;
        assert!(
            pcap.len() < limit,
            "{}: {} bytes is not small",
            d.display(),
            pcap.len()
        );
    }
}

/// The fault → outcome pairs of the report's finding codes, each with its sample.
#[test]
fn every_fault_has_a_sample_with_its_outcome() {
    let outcome = |name: &str| -> Vec<(String, Option<String>, Vec<String>)> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name)
            .join("expected.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["phones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["status"].as_str().unwrap().to_owned(),
                    p["stalled_stage"].as_str().map(str::to_owned),
                    p["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f.as_str().unwrap().to_owned())
                        .collect(),
                )
            })
            .collect()
    };
    let one = |name: &str, status: &str, stage: Option<&str>, code: Option<&str>| {
        let got = outcome(name);
        assert_eq!(got.len(), 1, "{name}");
        let (s, st, f) = &got[0];
        assert_eq!((s.as_str(), st.as_deref()), (status, stage), "{name}");
        if let Some(c) = code {
            assert!(f.iter().any(|x| x == c), "{name}: {f:?}");
        }
    };
    one("healthy-sccp", "registered", None, None);
    one("no-voice-vlan", "registered", None, Some("no-voice-vlan"));
    one(
        "dhcp-no-offer",
        "stalled",
        Some("dhcp"),
        Some("dhcp-no-offer"),
    );
    one("dhcp-nak", "stalled", Some("dhcp"), Some("dhcp-nak"));
    one(
        "dhcp-ack-without-tftp-option",
        "stalled",
        Some("config"),
        Some("dhcp-no-tftp-option"),
    );
    one(
        "dhcp-option150-ascii",
        "stalled",
        Some("config"),
        Some("tftp-no-response"),
    );
    one(
        "tftp-no-response",
        "stalled",
        Some("config"),
        Some("tftp-no-response"),
    );
    one("config-xmldefault-fallback", "registered", None, None);
    one(
        "config-not-found",
        "stalled",
        Some("config"),
        Some("config-not-found"),
    );
    one("firmware-upgrade-one-reboot", "registered", None, None);
    one(
        "firmware-not-found",
        "stalled",
        Some("firmware"),
        Some("firmware-not-found"),
    );
    one(
        "cucm-silent",
        "stalled",
        Some("registration"),
        Some("cucm-unreachable"),
    );
    one(
        "cucm-rst",
        "stalled",
        Some("registration"),
        Some("cucm-unreachable"),
    );
    one("cucm-failover", "registered", None, Some("cucm-failover"));
    one(
        "register-rejected",
        "stalled",
        Some("registration"),
        Some("register-rejected"),
    );
    one(
        "sip-register-rejected",
        "stalled",
        Some("registration"),
        Some("register-rejected"),
    );
    one(
        "register-no-response",
        "stalled",
        Some("registration"),
        Some("register-no-response"),
    );
    one(
        "sip-udp-register-no-response",
        "stalled",
        Some("registration"),
        Some("register-no-response"),
    );
    one(
        "boot-loop",
        "stalled",
        Some("registration"),
        Some("boot-loop"),
    );
    one("capture-ends-mid-boot", "in_progress", None, None);
    one("healthy-http-6970-sip-digest", "registered", None, None);
    one("http-6970-fallback-to-tftp", "registered", None, None);
    one("healthy-option66", "registered", None, None);
    one("duplicate-ip", "registered", None, Some("duplicate-ip"));
    one(
        "tftp-port-unreachable",
        "stalled",
        Some("config"),
        Some("tftp-no-response"),
    );
    one(
        "http-6970-refused",
        "stalled",
        Some("config"),
        Some("tftp-no-response"),
    );
    one(
        "cucm-port-unreachable-sip-udp",
        "stalled",
        Some("registration"),
        Some("cucm-unreachable"),
    );
    one(
        "firmware-image-missing",
        "stalled",
        Some("firmware"),
        Some("firmware-not-found"),
    );
    one("cm-by-name-dns", "registered", None, None);
    for family in [
        "sip-7960-legacy-files",
        "wireless-8821",
        "http-6970-9971",
        "conference-7937",
    ] {
        one(family, "registered", None, None);
    }
    // The switch port's samples: two phones each, one with the fault.
    let port = |name: &str, status: &str, stage: Option<&str>, code: &str| {
        let got = outcome(name);
        assert_eq!(got.len(), 2, "{name}");
        let (s, st, f) = &got[0];
        assert_eq!((s.as_str(), st.as_deref()), (status, stage), "{name}");
        assert_eq!(f, &[code.to_owned()], "{name}");
    };
    port("dot1x-failed", "stalled", Some("discovery"), "dot1x-failed");
    port("dot1x-slow-mab", "registered", None, "dot1x-slow");
    port("poe-power-denied", "registered", None, "poe-power-denied");
    let cut = outcome("poe-cut-off");
    assert_eq!(cut.len(), 2);
    let (s, st, f) = &cut[0];
    assert_eq!((s.as_str(), st.as_deref()), ("stalled", Some("discovery")));
    assert_eq!(f, &["boot-loop".to_owned(), "poe-power-denied".to_owned()]);
    port(
        "voice-vlan-conflict",
        "registered",
        None,
        "voice-vlan-conflict",
    );
    assert!(outcome("already-registered")
        .iter()
        .all(|(s, _, _)| s == "registered"));
    let mixed = outcome("mixed-site");
    assert_eq!(mixed.len(), 6);
    assert_eq!(
        mixed.iter().filter(|(s, _, _)| s == "registered").count(),
        4
    );
}

#[test]
fn every_sample_dissects_without_a_damaged_message() {
    // parse(emit(x)) at scale: whatever the model wrote, the dissectors read cleanly.
    for d in sample_dirs() {
        let mut out = Vec::new();
        let summary = dissect::run(&d.join("capture.pcap"), Format::Json, &mut out).unwrap();
        assert!(
            summary.warnings.is_empty(),
            "{}: {:?}",
            d.display(),
            summary.warnings
        );
        assert!(summary.capture.warnings.is_empty(), "{}", d.display());
        assert_eq!(summary.dispatch.malformed, 0, "{}", d.display());
        assert_eq!(summary.dispatch.link_errors, 0, "{}", d.display());
    }
}

#[test]
fn the_healthy_sample_carries_the_whole_boot_in_order() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/healthy-sccp/capture.pcap");
    let mut out = Vec::new();
    dissect::run(&d, Format::Json, &mut out).unwrap();
    let msgs: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<String> = msgs
        .iter()
        .map(|m| match m["proto"].as_str().unwrap() {
            "cdp" => format!("cdp:{}", m["voice_vlan"]),
            "dhcp" => format!("dhcp:{}", m["message_type"].as_str().unwrap()),
            "tftp" => format!("tftp:{}", m["opcode_code"]),
            "sccp" => format!("sccp:{}", m["message"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect();
    let first: Vec<&str> = steps.iter().map(String::as_str).take(8).collect();
    assert_eq!(
        first,
        [
            "cdp:null",
            "cdp:100",
            "dhcp:Discover",
            "dhcp:Offer",
            "dhcp:Request",
            "dhcp:ACK",
            // The phone announces the address it was given.
            "arp",
            "tftp:1"
        ]
    );
    let files: Vec<&str> = msgs.iter().filter_map(|m| m["file"].as_str()).collect();
    assert_eq!(
        files,
        [
            "CTLSEP001B54AA0001.tlv",
            "ITLSEP001B54AA0001.tlv",
            "SEP001B54AA0001.cnf.xml"
        ]
    );
    let reg = msgs.iter().find(|m| m["message"] == "RegisterReq").unwrap();
    assert_eq!(reg["device_name"], "SEP001B54AA0001");
    assert_eq!(reg["vlans"], serde_json::json!([100]));
    assert!(steps.iter().any(|s| s == "sccp:RegisterAck"));
    let dhcp_ack = msgs.iter().find(|m| m["message_type"] == "ACK").unwrap();
    assert_eq!(
        dhcp_ack["tftp_servers"],
        serde_json::json!(["10.1.1.5", "10.1.1.6"])
    );
}

#[test]
fn newer_phones_fetch_over_http_6970_and_answer_a_digest_challenge() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/healthy-http-6970-sip-digest/capture.pcap");
    let mut out = Vec::new();
    dissect::run(&d, Format::Json, &mut out).unwrap();
    let msgs: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let gets: Vec<&str> = msgs
        .iter()
        .filter_map(|m| m["uri"].as_str())
        .filter(|u| u.starts_with('/'))
        .collect();
    assert_eq!(
        gets,
        [
            "/CTLSEP001B54AA1701.tlv",
            "/ITLSEP001B54AA1701.tlv",
            "/SEP001B54AA1701.cnf.xml"
        ]
    );
    let statuses: Vec<u64> = msgs
        .iter()
        .filter(|m| m["proto"] == "http")
        .filter_map(|m| m["status"].as_u64())
        .collect();
    assert_eq!(statuses, [404, 404, 200]);
    assert!(msgs.iter().all(|m| m["proto"] != "tftp"));
    let sip: Vec<String> = msgs
        .iter()
        .filter(|m| m["proto"] == "sip")
        .map(|m| {
            m["method"]
                .as_str()
                .map_or_else(|| m["status"].to_string(), str::to_owned)
        })
        .collect();
    assert_eq!(&sip[..4], ["REGISTER", "401", "REGISTER", "200"]);
}

/// What the dissector reads in a sample, one JSON object per message.
fn messages(sample: &str) -> Vec<serde_json::Value> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(sample)
        .join("capture.pcap");
    let mut out = Vec::new();
    dissect::run(&d, Format::Json, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The files asked for, in order: TFTP read requests and HTTP GETs.
fn requested(msgs: &[serde_json::Value]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m["opcode_code"] == 1 || m["method"] == "GET")
        .filter_map(|m| {
            m["file"]
                .as_str()
                .or_else(|| m["uri"].as_str().map(|u| u.trim_start_matches('/')))
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn the_7960_sip_load_asks_for_its_dual_boot_default_and_own_files() {
    let msgs = messages("sip-7960-legacy-files");
    assert_eq!(
        requested(&msgs),
        ["OS79XX.TXT", "SIPDefault.cnf", "SIP001B54AA1901.cnf"]
    );
    let cdp: Vec<_> = msgs.iter().filter(|m| m["proto"] == "cdp").collect();
    assert_eq!(cdp[0]["platform"], "Cisco IP Phone 7960");
    assert!(msgs.iter().all(|m| m["proto"] != "lldp"));
    let reg = msgs.iter().find(|m| m["method"] == "REGISTER").unwrap();
    assert_eq!(reg["user_agent"], "Cisco-CP7960G/8.0");
    assert_eq!(reg["instance_mac"], "00:1b:54:aa:19:01");
    assert_eq!(reg["model"], "7");
}

#[test]
fn a_wireless_phone_has_no_switch_exchange_and_no_tag() {
    let msgs = messages("wireless-8821");
    assert!(msgs
        .iter()
        .all(|m| m["proto"] != "cdp" && m["proto"] != "lldp"));
    assert_eq!(msgs[0]["message_type"], "Discover");
    assert!(msgs
        .iter()
        .all(|m| m["vlans"].as_array().is_none_or(Vec::is_empty)));
}

#[test]
fn each_family_asks_for_its_files_as_documented() {
    assert_eq!(
        requested(&messages("http-6970-9971")),
        [
            "CTLSEP001B54AA1B01.tlv",
            "ITLSEP001B54AA1B01.tlv",
            "SEP001B54AA1B01.cnf.xml"
        ]
    );
    assert!(messages("http-6970-9971")
        .iter()
        .all(|m| m["proto"] != "tftp"));
    let msgs = messages("conference-7937");
    let cdp = msgs.iter().find(|m| m["proto"] == "cdp").unwrap();
    assert_eq!(cdp["platform"], "Cisco IP Conference Station 7937");
    let reg = msgs.iter().find(|m| m["message"] == "RegisterReq").unwrap();
    assert_eq!(reg["device_type"], 431);
    let files = requested(&messages("signed-encrypted-config"));
    assert!(
        files.contains(&"SEP001B54AA1D01.cnf.xml.sgn".to_owned()),
        "{files:?}"
    );
    assert!(
        files.contains(&"SEP001B54AA1D02.cnf.xml.enc.sgn".to_owned()),
        "{files:?}"
    );
}

#[test]
fn a_fleet_of_every_family_is_analyzed_as_the_model_played_it() {
    // Every family, trust lists in every order the model plays, signed and encrypted
    // configurations and drawn TFTP timeouts, with the usual faults and the ports' (802.1X,
    // power, VLANs): the analyzer's verdict on each phone is the model's.
    let sc = fleet::varied(400, 21, 420, 0.0);
    let (pcap, expected) = model::simulate(&sc, Vec::new()).unwrap();
    let (again, _) = model::simulate(&sc, Vec::new()).unwrap();
    assert!(pcap == again);
    let path = crate::common::scratch("varied-fleet.pcap");
    std::fs::write(&path, &pcap).unwrap();
    let report = crate::common::analyze(&path);
    let want: BTreeSet<String> = expected
        .phones
        .iter()
        .map(|p| serde_json::to_value(p).unwrap().to_string())
        .collect();
    let got: BTreeSet<String> = report
        .phones
        .iter()
        .map(|p| crate::common::outcome(p).to_string())
        .collect();
    let differ: Vec<_> = want.symmetric_difference(&got).collect();
    assert!(differ.is_empty(), "{differ:#?}");
    assert_eq!(want.len(), 400);
    // The port's faults are among them, on ports that authenticate.
    for code in ["dot1x-failed", "poe-power-denied", "voice-vlan-conflict"] {
        assert!(want.iter().any(|w| w.contains(code)), "{code}");
    }
    // A port that cuts the power it could not grant: the phone boots again and again.
    assert!(want
        .iter()
        .any(|w| w.contains("poe-power-denied") && w.contains("boot-loop")));
}

#[test]
fn the_model_is_deterministic_per_seed() {
    let sc = fleet::scenario(40, 3, 120);
    let (a, ra) = model::simulate(&sc, Vec::new()).unwrap();
    let (b, rb) = model::simulate(&sc, Vec::new()).unwrap();
    assert!(a == b && ra == rb);
    let other = fleet::scenario(40, 4, 120);
    let (c, _) = model::simulate(&other, Vec::new()).unwrap();
    assert!(a != c);
}

#[test]
fn a_fleet_is_written_in_time_order_with_every_phone_accounted_for() {
    let sc = fleet::scenario(200, 9, 400);
    let (pcap, report) = model::simulate(&sc, Vec::new()).unwrap();
    assert_eq!(report.phones.len(), 200);
    let macs: BTreeSet<_> = report.phones.iter().map(|p| p.mac.clone()).collect();
    assert_eq!(macs.len(), 200);
    // Timestamps never go backwards.
    let path = std::env::temp_dir().join("bootscope-fleet-200.pcap");
    std::fs::write(&path, &pcap).unwrap();
    let file = bootscope::capture::open(&path).unwrap();
    let mut last = i64::MIN;
    let stats = file
        .for_each_frame(|f| {
            assert!(f.ts_ns >= last, "frame {} goes back in time", f.number);
            last = f.ts_ns;
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert!(stats.frames > 200 * 10, "{}", stats.frames);
    // Most phones boot cleanly; the faulty ones stall where their fault is.
    let registered = report
        .phones
        .iter()
        .filter(|p| p.status == model::truth::Status::Registered)
        .count();
    assert!(registered > 150 && registered < 200, "{registered}");
}

/// A registration lost after it was accepted: the model's outcome for each sample, and
/// what the analyzer says of it (the phone's own reason, how often a flapping phone was
/// lost).
#[test]
fn registrations_lost_after_they_were_accepted_have_their_outcome() {
    use crate::common::{analyze, sample_path};
    let expected = |name: &str| -> serde_json::Value {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name)
            .join("expected.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    for (name, status, stage, severity, says) in [
        (
            "registration-lost-keepalive",
            "stalled",
            Some("registration"),
            rules::Severity::Error,
            "3 keepalive(s) in a row unanswered",
        ),
        (
            "registration-lost-and-back",
            "registered",
            None,
            rules::Severity::Warning,
            "the phone says Last=KeepaliveTO) and registered again with 10.1.1.11",
        ),
        (
            "registration-flapping",
            "registered",
            None,
            rules::Severity::Warning,
            "lost 3 times, back 3",
        ),
        (
            "sip-refresh-rejected",
            "registered",
            None,
            rules::Severity::Warning,
            "a REGISTER refresh was refused (503)",
        ),
        (
            "sip-refresh-unanswered",
            "registered",
            None,
            rules::Severity::Warning,
            "a REGISTER refresh got no answer within Timer F; the phone says Last=KeepaliveTO",
        ),
    ] {
        let e = &expected(name)["phones"][0];
        assert_eq!(
            (e["status"].as_str(), e["stalled_stage"].as_str()),
            (Some(status), stage),
            "{name}"
        );
        assert_eq!(
            e["findings"],
            serde_json::json!(["registration-lost"]),
            "{name}"
        );
        let report = analyze(&sample_path(name));
        let phone = &report.phones[0];
        let lost: Vec<_> = phone
            .findings
            .iter()
            .filter(|f| f.code == "registration-lost")
            .collect();
        assert_eq!(lost.len(), 1, "{name}: {:?}", phone.findings);
        assert_eq!(lost[0].severity, severity, "{name}");
        assert!(
            lost[0].message.contains(says),
            "{name}: {}",
            lost[0].message
        );
    }
}

/// A SIP registrar's refinements: credentials refused after the challenge is a
/// rejection that says so; a 423 retried with the `Min-Expires` asked for is no fault.
#[test]
fn sip_credentials_refused_and_a_423_retried_have_their_outcome() {
    use crate::common::{analyze, sample_path};
    let report = analyze(&sample_path("sip-credentials-rejected"));
    let phone = &report.phones[0];
    let rejected = phone
        .findings
        .iter()
        .find(|f| f.code == "register-rejected")
        .expect("register-rejected");
    assert!(
        rejected.message.contains("credentials"),
        "{}",
        rejected.message
    );
    let report = analyze(&sample_path("sip-423-min-expires"));
    let phone = &report.phones[0];
    assert_eq!(phone.status, bootscope::report::Status::Registered);
    assert!(
        phone
            .findings
            .iter()
            .all(|f| f.severity == rules::Severity::Info),
        "{:?}",
        phone.findings
    );
    let text: Vec<&str> = phone.timeline.iter().map(|e| e.event.as_str()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("423") && t.contains("Min-Expires: 7200")),
        "{text:?}"
    );
}

/// The keepalive-loss sample cut before the phone gives up: two keepalives already
/// unanswered, the third's answer window still open (or past the capture's end). No
/// loss is seen, and none is said: the phone is registered.
#[test]
fn a_capture_ending_before_the_phone_gives_up_shows_no_loss() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/registration-lost-keepalive");
    let mut sc = Scenario::load(&d.join("scenario.json")).unwrap();
    // The misses come at about 124 s and 154 s, the phone gives up at about 184 s.
    for duration in [170, 183] {
        sc.duration_s = duration;
        let (pcap, truth) = model::simulate(&sc, Vec::new()).unwrap();
        assert_eq!(truth.phones[0].findings, Vec::<String>::new(), "{duration}");
        let path = crate::common::scratch(&format!("keepalive-cut-{duration}.pcap"));
        std::fs::write(&path, pcap).unwrap();
        let report = crate::common::analyze(&path);
        let phone = &report.phones[0];
        assert_eq!(
            phone.status,
            bootscope::report::Status::Registered,
            "{duration}: {:?}",
            phone.findings
        );
        assert!(
            phone.findings.is_empty(),
            "{duration}: {:?}",
            phone.findings
        );
        let missed = phone
            .timeline
            .iter()
            .filter(|e| e.kind == "keepalive_missed")
            .count();
        assert_eq!(missed, 2, "{duration}");
    }
}

/// The phone's side alone of a registration lost and back: no keepalive is a miss (no
/// answer could be in the capture); the phone closing its connection is a loss, and its
/// keepalives to the second call manager show it back, its RegisterAck unseen.
#[test]
fn the_phone_s_side_alone_of_a_loss_and_return_makes_no_miss() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/registration-lost-and-back");
    let one_way = crate::common::scratch("registration-lost-and-back-phone-side.pcap");
    let status = std::process::Command::new("tshark")
        .args(["-r"])
        .arg(d.join("capture.pcap"))
        .args(["-Y", "eth.src == 00:1b:54:aa:00:01", "-F", "pcap", "-w"])
        .arg(&one_way)
        .status();
    let Ok(status) = status else {
        eprintln!("tshark not found: skipped");
        return;
    };
    assert!(status.success());
    let report = crate::common::analyze(&one_way);
    let phone = report
        .phones
        .iter()
        .find(|p| p.mac.as_deref() == Some("00:1b:54:aa:00:01"))
        .unwrap();
    assert!(
        phone.timeline.iter().all(|e| e.kind != "keepalive_missed"),
        "{:?}",
        phone.timeline
    );
    assert_eq!(phone.status, bootscope::report::Status::Registered);
    let lost = phone
        .findings
        .iter()
        .find(|f| f.code == "registration-lost")
        .expect("the close is seen");
    assert_eq!(lost.severity, rules::Severity::Warning);
    assert!(lost.message.contains("10.1.1.11"), "{}", lost.message);
}

#[test]
fn secure_registrations_are_judged_inside_a_null_suite_and_inferred_when_encrypted() {
    use crate::common::{analyze, sample_path};
    let types = |p: &bootscope::report::PhoneReport| -> Vec<&'static str> {
        p.timeline.iter().map(|e| e.kind).collect()
    };
    // NULL suite: the SCCP inside is read, so the RegisterAck itself registers it.
    let r = analyze(&sample_path("secure-sccp-null-cipher"));
    let p = &r.phones[0];
    assert_eq!(p.status, bootscope::report::Status::Registered);
    let t = types(p);
    for want in [
        "tls_client_hello",
        "tls_server_hello",
        "tls_handshake_done",
        "register",
        "register_ack",
    ] {
        assert!(t.contains(&want), "{want}: {t:?}");
    }
    assert!(!t.contains(&"tls_session_up"), "{t:?}");
    assert!(p
        .timeline
        .iter()
        .any(|e| e.event.contains("TLS_RSA_WITH_NULL_SHA (no encryption")));
    // Encrypted: nothing of the registration is readable; the session up is the sign.
    let r = analyze(&sample_path("secure-sip-encrypted"));
    let p = &r.phones[0];
    assert_eq!(p.status, bootscope::report::Status::Registered);
    let t = types(p);
    assert!(
        t.contains(&"tls_session_up") && !t.contains(&"register"),
        "{t:?}"
    );
    assert!(p.timeline.iter().any(|e| e
        .event
        .contains("registration inferred from an encrypted session")));
    // The failures: an alert, a reset, no ServerHello; one finding each, nothing else.
    let r = analyze(&sample_path("secure-register-failed"));
    assert_eq!(r.phones.len(), 3);
    for (p, how) in r.phones.iter().zip([
        "fatal alert Bad Certificate (42)",
        "reset during the handshake",
        "no ServerHello answered the ClientHello",
    ]) {
        let codes: Vec<&str> = p.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["secure-register-failed"], "{:?}", p.device_name);
        let f = &p.findings[0];
        assert!(f.message.contains(how), "{}", f.message);
        assert!(!f.evidence.is_empty() && !f.checks.is_empty());
    }
    // On the plain port, refused over a security mismatch: the same finding, no reject.
    let r = analyze(&sample_path("sip-security-mismatch"));
    let codes: Vec<&str> = r.phones[0]
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    assert_eq!(codes, ["secure-register-failed"]);
    assert!(r.phones[0].findings[0]
        .message
        .contains("403 Forbidden (Warning: 399 cucm-sub1 \"Device security mismatch\")"));
}

/// What the configuration says, read from the samples that depend on it. The values
/// are the scenarios' (the call managers, the SRST router, the DNS answer), which tshark
/// reads the same (`dns.flags.rcode == 3` for each lookup of cm-name-unresolved; the
/// RegisterAck and 200 OK of srst-fallback from 10.100.0.1; the repeated `tftp.opcode ==
/// 1` of trust-list-mismatch).
#[test]
fn the_configuration_s_samples_are_read_for_what_it_says() {
    use crate::common::{analyze, sample_path};
    let phone = |r: &bootscope::report::Report, i: usize| r.phones[i].clone();

    let r = analyze(&sample_path("cm-name-unresolved"));
    let p = phone(&r, 0);
    let c = p.config.as_ref().expect("the configuration is read");
    let hosts: Vec<&str> = c.call_managers.iter().map(|m| m.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["cucm-sub1.voice.example.com", "cucm-sub2.voice.example.com"]
    );
    assert_eq!(c.call_managers[0].sccp_port, Some(2000));
    let f = p
        .findings
        .iter()
        .find(|f| f.code == "cm-name-unresolved")
        .unwrap();
    assert!(
        f.message.contains("NXDOMAIN") && f.message.contains("10.1.1.53"),
        "{}",
        f.message
    );
    assert!(f.checks[0].starts_with("`nslookup cucm-sub1.voice.example.com 10.1.1.53`"));
    assert!(r.srst.is_empty());

    // A TFTP server named by option 66 that DNS does not know: the phones stop before
    // any file (tshark: `dhcp.option.tftp_server_name`, then `dns.flags.rcode == 3`).
    let r = analyze(&sample_path("tftp-name-unresolved"));
    for p in &r.phones {
        assert_eq!(p.stalled_stage, Some(rules::Stage::Config));
        let f = &p.findings[0];
        assert_eq!(f.code, "cm-name-unresolved");
        assert!(
            f.message.contains("option 66 tftp.voice.example.com")
                && f.message.contains("NXDOMAIN"),
            "{}",
            f.message
        );
        assert!(p.config.is_none());
    }

    let r = analyze(&sample_path("srst-fallback"));
    for p in &r.phones {
        assert_eq!(p.config.as_ref().unwrap().srst, ["10.100.0.1"]);
        assert_eq!(p.callmanager.as_deref(), Some("10.100.0.1"));
        let codes: Vec<&str> = p.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            ["srst-fallback"],
            "{}",
            p.device_name.as_deref().unwrap()
        );
        assert!(!p.findings[0].evidence.is_empty());
    }
    assert_eq!(r.srst.phones, 2);
    assert_eq!(r.srst.routers.get("10.100.0.1"), Some(&2));
    let table = bootscope::report::table::render(&r, None);
    assert!(table.contains("on SRST: 2 phone(s)"), "{table}");

    let r = analyze(&sample_path("trust-list-mismatch"));
    let p = phone(&r, 0);
    assert_eq!(p.config.as_ref().unwrap().envelope, "signed");
    let f = p
        .findings
        .iter()
        .find(|f| f.code == "trust-list-mismatch")
        .unwrap();
    assert!(
        f.message.contains("likely no longer matches"),
        "{}",
        f.message
    ); // The TVS's reset is on the timeline (frames 61 and 62 as tshark numbers them,
       // `tcp.port == 2445`).
    let tvs: Vec<u64> = p
        .timeline
        .iter()
        .filter(|e| e.event.contains(":2445"))
        .map(|e| e.frame)
        .collect();
    assert_eq!(tvs, [61, 62]);
}

/// bootscope's reading of a configuration against tshark's: the XML dissector on the
/// HTTP 6970 response of healthy-http-6970-sip-digest (`tests/fixtures/tshark/gen.sh`
/// writes each element with text, in document order).
#[test]
fn the_configuration_reads_as_tshark_reads_it() {
    use crate::common::{analyze, sample_path};
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tshark/samples__healthy-http-6970-sip-digest.cnfxml.txt");
    let text = std::fs::read_to_string(fixture).unwrap();
    let rows: Vec<(&str, &str)> = text.lines().map(|l| l.split_once('\t').unwrap()).collect();
    let all = |tag: &str| -> Vec<&str> {
        rows.iter()
            .filter(|(t, _)| *t == tag)
            .map(|(_, v)| *v)
            .collect()
    };
    let r = analyze(&sample_path("healthy-http-6970-sip-digest"));
    let c = r.phones[0]
        .config
        .as_ref()
        .expect("read from the HTTP body");
    let hosts: Vec<&str> = c.call_managers.iter().map(|m| m.host.as_str()).collect();
    assert_eq!(hosts, all("processNodeName"));
    let port = |p: Option<u16>| p.map(|p| p.to_string()).unwrap_or_default();
    let ports = |f: fn(&bootscope::report::ConfigCmView) -> Option<u16>| -> Vec<String> {
        c.call_managers.iter().map(|m| port(f(m))).collect()
    };
    assert_eq!(ports(|m| m.sccp_port), all("ethernetPhonePort"));
    assert_eq!(ports(|m| m.sip_port), all("sipPort"));
    assert_eq!(ports(|m| m.secured_sip_port), all("securedSipPort"));
    assert_eq!(c.load.as_deref(), all("loadInformation").first().copied());
    assert!(c.complete);
}
