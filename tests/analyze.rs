//! `bootscope analyze`: every sample gets exactly its expected outcome; every
//! bundled third-party capture analyzes, and the registrations in them land on the
//! device names tshark reads, with the verdicts tshark's reading implies; the CLI's
//! exit codes, the phone report, user rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bootscope::analyze::{self, Options};
use bootscope::model::truth::ExpectedReport;
use bootscope::report::{PhoneReport, Report, Status};

use crate::common::{all_captures, analyze, capture_path, outcome, sample_path, scratch};

fn sample_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn sample(name: &str) -> Report {
    analyze(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name)
            .join("capture.pcap"),
    )
}

#[test]
fn every_sample_gets_exactly_its_expected_outcome() {
    let dirs = sample_dirs();
    assert!(dirs.len() >= 27, "{}", dirs.len());
    let mut failures = Vec::new();
    for dir in dirs {
        let expected: ExpectedReport =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let report = analyze(&dir.join("capture.pcap"));
        let got: Vec<serde_json::Value> = report.phones.iter().map(outcome).collect();
        let want = serde_json::to_value(&expected.phones).unwrap();
        if serde_json::Value::Array(got.clone()) != want {
            failures.push(format!(
                "{}:\n  expected {want}\n  got      {}",
                dir.display(),
                serde_json::Value::Array(got)
            ));
        }
        // Findings about the site: code, VLAN, how many made-up clients or messages.
        type Site = (String, Option<u16>, u64, u64);
        let site: Vec<Site> = report
            .site_findings
            .iter()
            .map(|f| {
                let n = |c: Option<u64>| c.unwrap_or(0);
                (f.code.clone(), f.vlan, n(f.clients), n(f.messages))
            })
            .collect();
        let want_site: Vec<Site> = expected
            .site_findings
            .iter()
            .map(|f| (f.code.clone(), f.vlan, f.clients, f.messages))
            .collect();
        if site != want_site {
            failures.push(format!(
                "{}: site findings: expected {want_site:?}, got {site:?}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bundled_capture_analyzes_without_failure() {
    let captures = all_captures();
    assert_eq!(captures.len(), 55);
    for rel in captures {
        let r = analyze(&capture_path(&rel));
        assert!(r.capture.frames > 0, "{rel}");
        // PCs and switches never appear as failing phones.
        for p in &r.phones {
            assert_eq!(p.kind, "phone", "{rel}");
        }
    }
}

/// What tshark's reading of a capture's registrations implies, per device.
#[derive(Debug, Default)]
struct Implied {
    phone: bool,
    registered: bool,
    refused: bool,
    challenged: bool,
}

/// Read tests/fixtures/tshark/registrations.tsv (made by gen.sh from tshark 4.0.17)
/// and derive each device's registration verdict from it alone: SIP REGISTERs are
/// matched to answers by Call-ID and the requester's address; SCCP RegisterReqs to
/// RegisterAck / RegisterReject by TCP connection. A device is a phone when its name
/// is SEP<MAC> (SCCP device name, SIP Contact `devicename`).
fn tshark_registrations() -> BTreeMap<String, BTreeMap<String, Implied>> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tshark/registrations.tsv"),
    )
    .unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, Implied>> = BTreeMap::new();
    // (capture, call-id, requester ip) -> (device, expires 0)
    let mut sip_tx: BTreeMap<(String, String, String), (String, bool)> = BTreeMap::new();
    // (capture, phone ip, phone port) -> device
    let mut sccp_conn: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        let (cap, src, dst, sport, dport) = (get(0), get(2), get(3), get(4), get(5));
        let (method, status, call_id, from_user, from_host, contact, expires) =
            (get(6), get(7), get(8), get(9), get(10), get(11), get(12));
        // tshark prints skinny.messageId in decimal.
        let (skinny_id, skinny_name) = (get(13).parse::<u32>().ok(), get(14));
        let devices = out.entry(cap.to_owned()).or_default();
        if method == "REGISTER" {
            let sep = contact
                .split("devicename.ccm.cisco.com=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .filter(|n| n.starts_with("SEP"));
            let dev = match sep {
                Some(n) => n.to_owned(),
                None => format!("sip:{from_user}@{from_host} from {src}"),
            };
            devices.entry(dev.clone()).or_default().phone = sep.is_some();
            let zero = expires == "0" || contact.contains("expires=0");
            sip_tx.insert(
                (cap.to_owned(), call_id.to_owned(), src.to_owned()),
                (dev, zero),
            );
        } else if !status.is_empty() {
            let code: u16 = status.parse().unwrap();
            let Some((dev, zero)) =
                sip_tx.get(&(cap.to_owned(), call_id.to_owned(), dst.to_owned()))
            else {
                continue;
            };
            let d = devices.entry(dev.clone()).or_default();
            match code {
                200..=299 if !zero => {
                    d.registered = true;
                    d.challenged = false;
                }
                401 | 407 => d.challenged = true,
                300.. => d.refused = true,
                _ => {}
            }
        } else if skinny_id == Some(0x0001) {
            let dev = skinny_name.to_owned();
            devices.entry(dev.clone()).or_default().phone = dev.starts_with("SEP");
            sccp_conn.insert((cap.to_owned(), src.to_owned(), sport.to_owned()), dev);
        } else if skinny_id == Some(0x0081) || skinny_id == Some(0x009d) {
            let Some(dev) = sccp_conn.get(&(cap.to_owned(), dst.to_owned(), dport.to_owned()))
            else {
                continue;
            };
            let d = devices.entry(dev.clone()).or_default();
            if skinny_id == Some(0x0081) {
                d.registered = true;
            } else {
                d.refused = true;
            }
        }
    }
    // A call's messages (not REGISTER) whose Contact names a Cisco device: the call
    // manager serves that phone, so it is registered (tests/fixtures/tshark/calls.tsv).
    let calls = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tshark/calls.tsv"),
    )
    .unwrap();
    for line in calls.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (cap, contact) = (f[0], f.get(7).copied().unwrap_or(""));
        let Some(name) = contact
            .split("devicename.ccm.cisco.com=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .filter(|n| n.starts_with("SEP"))
        else {
            continue;
        };
        let d = out
            .entry(cap.to_owned())
            .or_default()
            .entry(name.to_owned())
            .or_default();
        d.phone = true;
        d.registered = true;
    }
    out
}

#[test]
fn registrations_land_on_the_names_tshark_reads_with_the_verdicts_it_implies() {
    let implied = tshark_registrations();
    // Every capture of the catalogue with a registration is in the fixture.
    assert_eq!(implied.len(), 8, "{:?}", implied.keys());
    let mut checked = 0;
    for (cap, devices) in implied {
        let report = analyze(&capture_path(&cap));
        for (name, want) in devices {
            let list = if want.phone {
                &report.phones
            } else {
                &report.other_devices
            };
            let got = list
                .iter()
                .find(|p| p.device_name.as_deref() == Some(&name))
                .unwrap_or_else(|| panic!("{cap}: {name} not reported ({want:?})"));
            let codes: Vec<&str> = got.findings.iter().map(|f| f.code.as_str()).collect();
            if want.registered {
                assert_eq!(got.status, Status::Registered, "{cap}: {name} {codes:?}");
            } else {
                assert_eq!(got.status, Status::Stalled, "{cap}: {name}");
                assert_eq!(
                    got.stalled_stage,
                    Some(rules::Stage::Registration),
                    "{cap}: {name}"
                );
                let code = if want.refused || want.challenged {
                    "register-rejected"
                } else {
                    "register-no-response"
                };
                assert!(codes.contains(&code), "{cap}: {name}: {codes:?}");
            }
            if want.phone {
                // Keyed by the MAC in its name, not the router's L2 address.
                let hex = name.trim_start_matches("SEP").to_ascii_lowercase();
                let mac = got.mac.as_deref().unwrap().replace(':', "");
                assert_eq!(mac, hex, "{cap}: {name}");
            }
            checked += 1;
        }
    }
    // 1 SCCP phone, 4 SIP phones (one of them in a call), 4 SCCP non-phones (one over
    // TLS with a NULL suite), csta, 2 MicroSIP legs, 3 Nero users; the phone in a call
    // in the other capture.
    assert_eq!(checked, 16);
}

#[test]
fn dhcp_clients_and_switches_are_never_failing_phones() {
    for rel in [
        "arkime/wireshark-dhcp.pcap",
        "tcpdump/dhcp-rfc5859.pcap",
        "assimilation-official/cdp_v2_voice.pcap",
        "tcpdump/LLDP_and_CDP.pcap",
        "assimilation-official/lldpmed_civicloc.pcap",
    ] {
        let r = analyze(&capture_path(rel));
        assert!(r.phones.is_empty(), "{rel}: {:?}", r.phones);
        assert!(!r.has_errors(), "{rel}");
    }
    let r = analyze(&capture_path("tcpdump/dhcp-rfc5859.pcap"));
    let [pc] = r.other_devices.as_slice() else {
        panic!("{:?}", r.other_devices)
    };
    assert_eq!(pc.mac.as_deref(), Some("00:0c:29:1f:74:06"));
    assert_eq!((pc.kind, pc.status), ("dhcp-client", Status::Seen));
}

#[test]
fn sccp_call_control_alone_is_not_a_registration() {
    let r = analyze(&capture_path(
        "Wireshark-Captures/sccp_outbound_call.pcapng",
    ));
    assert!(r
        .phones
        .iter()
        .chain(&r.other_devices)
        .all(|p| p.status != Status::Registered));
}

#[test]
fn a_phone_announcing_an_address_is_already_up_not_stalled() {
    // CDP from an 8851 that is already at 192.168.110.57 (it answers a CME's paging
    // REFER: `Server: Cisco-CP8851/12.0.1`). tshark: device id SEPB000B4BBF1F0,
    // capabilities 0x490 (Host, VoIP Phone, Two Port Mac Relay), the REFER's
    // User-Agent Cisco-SIPGateway/IOS-16.10.1a from 192.168.151.204.
    let r = analyze(&capture_path("Wireshark-Captures/sip_mcast_paging.pcapng"));
    let [p] = r.phones.as_slice() else {
        panic!("{:?}", r.phones)
    };
    assert_eq!(p.device_name.as_deref(), Some("SEPB000B4BBF1F0"));
    assert_eq!(p.name_source, Some("cdp_device_id"));
    assert_eq!(p.mac.as_deref(), Some("b0:00:b4:da:ee:ce"));
    assert_eq!(p.status, Status::Registered);
    assert!(p
        .findings
        .iter()
        .all(|f| f.severity == rules::Severity::Info));
    // The CME that pages it is a voice gateway, no phone.
    let [cme] = r.other_devices.as_slice() else {
        panic!("{:?}", r.other_devices)
    };
    assert_eq!(
        (cme.kind, cme.ip.as_deref()),
        ("voice-gateway", Some("192.168.151.204"))
    );
    assert!(cme.findings.is_empty());
}

/// The finding `code` of the sample's one phone, its evidence frames and the timeline's
/// event types at those frames.
fn finding_in(name: &str, code: &str) -> (bootscope::report::Finding, Vec<&'static str>) {
    let r = sample(name);
    let [p] = r.phones.as_slice() else { panic!() };
    let f = p
        .findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("{name}: {:?}", p.findings))
        .clone();
    let kinds = p
        .timeline
        .iter()
        .filter(|e| f.evidence.contains(&e.frame))
        .map(|e| e.kind)
        .collect();
    (f, kinds)
}

#[test]
fn address_and_icmp_findings_name_the_frames_that_show_them() {
    use rules::Severity;
    // Another MAC's ARP reply and the DECLINE; a warning, as the phone got another address.
    let (f, kinds) = finding_in("duplicate-ip", "duplicate-ip");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains("10.100.0.20") && f.message.contains("00:50:56:ee:00:00"));
    assert!(
        f.message.contains("went on with 10.100.0.21"),
        "{}",
        f.message
    );
    assert!(kinds.contains(&"address_in_use") && kinds.contains(&"dhcp_decline"));
    assert!(f
        .checks
        .iter()
        .any(|c| c.contains("show ip arp 10.100.0.20")));
    // The server's ICMP port unreachable is the TFTP finding's evidence, at once.
    let (f, kinds) = finding_in("tftp-port-unreachable", "tftp-no-response");
    assert!(kinds.contains(&"icmp_unreachable"), "{kinds:?}");
    assert!(f.message.contains("port unreachable"), "{}", f.message);
    let (f, kinds) = finding_in("cucm-port-unreachable-sip-udp", "cucm-unreachable");
    assert!(kinds.contains(&"icmp_unreachable"), "{kinds:?}");
    assert!(f.message.contains("ICMP unreachables"), "{}", f.message);
    // TCP 6970 refused, then TFTP silent.
    let (f, kinds) = finding_in("http-6970-refused", "tftp-no-response");
    assert!(kinds.contains(&"config_rst"), "{kinds:?}");
    assert!(f.message.contains("port 6970"), "{}", f.message);
    // The image, not the manifest, is named.
    let (f, _) = finding_in("firmware-image-missing", "firmware-not-found");
    assert!(
        f.message.starts_with("SCCP70.9-4-2SR3-1S.sbn"),
        "{}",
        f.message
    );
}

#[test]
fn a_phone_s_dns_lookup_and_its_answer_are_on_its_timeline() {
    let r = sample("cm-by-name-dns");
    let [p] = r.phones.as_slice() else { panic!() };
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    let dns: Vec<_> = p
        .timeline
        .iter()
        .filter(|e| e.peer_role == Some("dns_server"))
        .collect();
    assert_eq!(dns.len(), 2, "{:?}", p.timeline);
    assert_eq!(dns[0].kind, "dns_query");
    assert!(dns[0].event.contains("cucm-sub1.voice.example.com"));
    assert_eq!(dns[1].kind, "dns_answer");
    assert!(dns[1].event.ends_with("10.1.1.10"), "{}", dns[1].event);
    assert_eq!(dns[1].peer.as_deref(), Some("10.1.1.53"));
}

#[test]
fn the_timeline_carries_time_frame_stage_and_event() {
    let r = sample("healthy-sccp");
    let [p] = r.phones.as_slice() else { panic!() };
    let json = serde_json::to_value(p).unwrap();
    let tl = json["timeline"].as_array().unwrap();
    assert!(tl.len() >= 10, "{}", tl.len());
    for e in tl {
        for k in ["time", "frame", "stage", "event"] {
            assert!(!e[k].is_null(), "{k} in {e}");
        }
    }
    let stages: Vec<&str> = tl.iter().map(|e| e["stage"].as_str().unwrap()).collect();
    let first = |s: &str| stages.iter().position(|x| *x == s).unwrap();
    assert!(first("discovery") < first("dhcp"));
    assert!(first("dhcp") < first("config"));
    assert!(first("config") < first("registration"));
    // Sorted by time.
    let times: Vec<f64> = tl.iter().map(|e| e["time"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(p.boot_duration.unwrap().as_secs() > 0.0);
}

#[test]
fn benign_events_are_not_errors() {
    // CTL/ITL not found on a non-secure cluster, the SEP config not found with
    // XMLDefault received, one reboot after a firmware download, a digest
    // challenge answered.
    for name in [
        "healthy-sccp",
        "config-xmldefault-fallback",
        "firmware-upgrade-one-reboot",
        "healthy-http-6970-sip-digest",
        "already-registered",
    ] {
        let r = sample(name);
        assert!(!r.has_errors(), "{name}: {:?}", r.phones[0].findings);
        assert!(
            r.phones.iter().all(|p| p.status == Status::Registered),
            "{name}"
        );
    }
    let r = sample("firmware-upgrade-one-reboot");
    assert_eq!(r.phones[0].boots, 2);
}

#[test]
fn a_stalled_phone_report_says_what_the_model_expected_next() {
    let r = sample("tftp-no-response");
    let [p] = r.phones.as_slice() else { panic!() };
    let x = p.expected_next.as_ref().expect("expected next");
    assert_eq!(x.stage, rules::Stage::Config);
    let m = x.model.as_ref().expect("model prediction");
    // The last thing seen was a request to a TFTP server; the model expects that
    // server to answer, and the report names it.
    let asked = p
        .timeline
        .iter()
        .rev()
        .find(|e| e.kind == "file_request")
        .unwrap();
    let server = asked.event.rsplit(" from ").next().unwrap();
    assert!(m.expect.contains(server), "{} / {}", m.expect, asked.event);
    assert!(x.waited > m.within, "{} {}", x.waited, m.within);
    let f = &p.findings[0];
    assert_eq!(f.code, "tftp-no-response");
    assert!(f.evidence.contains(&asked.frame), "{:?}", f.evidence);
    assert!(!f.checks.is_empty());

    let text = bootscope::report::phone::render(p);
    for want in [
        "Timeline",
        "Expected next (config)",
        "the reference model predicts",
        "evidence: frame(s)",
        "Next checks",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
}

#[test]
fn the_expected_stage_is_that_of_the_steps_a_boot_cannot_skip() {
    // The configuration came (no new load); the call manager never answered. A firmware
    // download may follow a configuration but need not: the boot waits on registration.
    let r = sample("cucm-silent");
    let [p] = r.phones.as_slice() else { panic!() };
    let x = p.expected_next.as_ref().expect("expected next");
    assert!(
        x.expected.iter().any(|e| e.contains("firmware")),
        "{:?}",
        x.expected
    );
    assert_eq!(x.stage, rules::Stage::Registration);
    assert_eq!(p.stalled_stage, Some(x.stage));
    let m = x.model.as_ref().expect("model prediction");
    assert_eq!(m.stage, rules::Stage::Registration);
}

#[test]
fn the_fleet_summary_tells_systemic_from_local() {
    let r = sample("mixed-site");
    assert_eq!(r.summary.phones, 6);
    assert_eq!(r.summary.status.get("registered"), Some(&4));
    assert_eq!(r.summary.stalled_stage.get("dhcp"), Some(&1));
    assert!(r.summary.diagnoses.iter().all(|d| d.scope == "local"));
    assert!(r.other_devices.iter().all(|o| o.kind == "dhcp-client"));

    // The same failure on many phones is systemic.
    let sc = bootscope::model::fleet::scenario(40, 3, 300);
    let (pcap, truth) = bootscope::model::sim::Sim::new(&sc, Vec::new())
        .unwrap()
        .run()
        .unwrap();
    let path = scratch("fleet-40.pcap");
    std::fs::write(&path, pcap).unwrap();
    let r = analyze(&path);
    let by_mac: BTreeMap<&str, &PhoneReport> = r
        .phones
        .iter()
        .map(|p| (p.mac.as_deref().unwrap(), p))
        .collect();
    // The fleet's own truth, phone by phone.
    let mut mismatches = Vec::new();
    for e in &truth.phones {
        let got = by_mac.get(e.mac.as_str()).map(|p| outcome(p));
        let want = serde_json::to_value(e).unwrap();
        if got.as_ref() != Some(&want) {
            mismatches.push(format!("{want}\n    got {got:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let text = bootscope::report::table::render(&r, Some(160));
    assert!(text.contains("phone(s)"), "{text}");
}

fn bootscope_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bootscope"))
}

#[test]
fn exit_codes_are_0_clean_1_error_findings_2_failure() {
    let run = |args: &[&str]| bootscope_cmd().args(args).output().unwrap();
    let healthy = sample_path("healthy-sccp");
    let failing = sample_path("dhcp-nak");
    let o = run(&["analyze", healthy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("SEP001B54AA0001"));
    let o = run(&["analyze", failing.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["phones"][0]["findings"][0]["code"], "dhcp-nak");
    let o = run(&["analyze", "/nonexistent/capture.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/capture.pcap"));
    // --phone: that phone's report, and its own exit code.
    let o = run(&[
        "analyze",
        failing.to_str().unwrap(),
        "--phone",
        "001b.54aa.0501",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("SEP001B54AA0501") && text.contains("dhcp-nak"),
        "{text}"
    );
    let o = run(&[
        "analyze",
        failing.to_str().unwrap(),
        "--phone",
        "SEP00000000FFFF",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn users_rules_are_loaded_and_a_typo_names_file_and_line() {
    let dir = scratch("user-rules");
    std::fs::create_dir_all(&dir).unwrap();
    // A findings file of one's own: the builtin sequence stays.
    std::fs::write(
        dir.join("findings.json"),
        r#"{ "rules": [
  { "code": "slow-boot", "stage": "registration", "severity": "warning",
    "when": "registered && boots >= 1 && dhcp_ack >= 1",
    "message": "{name} registered with {registered_cm}", "stalls": false }
] }"#,
    )
    .unwrap();
    let opts = Options {
        rules: Some(dir.clone()),
        ..Options::default()
    };
    let r = analyze::run(&sample_path("healthy-sccp"), &opts).unwrap();
    let f = &r.phones[0].findings;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].code, "slow-boot");
    assert_eq!(f[0].message, "SEP001B54AA0001 registered with 10.1.1.10");
    assert!(r.capture.rules.iter().any(|s| s.contains("<builtin>")));

    std::fs::write(
        dir.join("findings.json"),
        "{ \"rules\": [\n  { \"code\": \"x\", \"stage\": \"dhcp\", \"severity\": \"error\",\n    \"when\": \"dhcp_discovr > 2\", \"message\": \"m\" }\n] }",
    )
    .unwrap();
    let o = bootscope_cmd()
        .args([
            "analyze",
            sample_path("healthy-sccp").to_str().unwrap(),
            "--rules",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("findings.json:3:"), "{err}");
    assert!(err.contains("dhcp_discovr"), "{err}");
}

#[test]
fn the_builtin_rules_load_and_cover_the_contract_codes() {
    let rules = analyze::load_rules(None).unwrap();
    for code in [
        "no-voice-vlan",
        "dhcp-no-offer",
        "dhcp-nak",
        "dhcp-no-tftp-option",
        "tftp-no-response",
        "config-not-found",
        "firmware-not-found",
        "cucm-unreachable",
        "register-rejected",
        "register-no-response",
        "boot-loop",
        "cucm-failover",
        "duplicate-ip",
    ] {
        assert!(rules.rules.iter().any(|r| r.code == code), "{code}");
    }
    // The sequence is a graph with alternatives and optional steps.
    let seq = &rules.sequence;
    let ack = seq.step_id("dhcp-ack").unwrap();
    let next: Vec<&str> = seq
        .expected_after(ack)
        .iter()
        .map(|&s| seq.step(s).id.as_str())
        .collect();
    assert_eq!(next, ["ctl", "itl", "config-tftp", "config-http"]);
}

/// A capture written frame by frame with the model's encoders.
struct Wire {
    w: bootscope::model::wire::PcapWriter<Vec<u8>>,
    t: i64,
}

impl Wire {
    fn new() -> Self {
        Wire {
            w: bootscope::model::wire::PcapWriter::new(Vec::new()).unwrap(),
            t: 1_700_000_000_000_000_000,
        }
    }
    fn at(&mut self, ms: i64, frame: &[u8]) {
        self.t += ms * 1_000_000;
        self.w.record(self.t, frame).unwrap();
    }
    fn finish(self, name: &str) -> PathBuf {
        let path = scratch(name);
        std::fs::write(&path, self.w.finish().unwrap()).unwrap();
        path
    }
}

#[test]
fn benign_events_on_the_wire_are_not_errors() {
    use bootscope::link::MacAddr;
    use bootscope::model::encode::{self, DhcpClientKind, DhcpServerKind};
    use bootscope::model::scenario::{SipTransport, TftpOption};
    use bootscope::model::wire::{self, Endpoint, L2};
    use std::net::Ipv4Addr;

    let mac = MacAddr([0x00, 0x1b, 0x54, 0xcc, 0x00, 0x01]);
    let name = "SEP001B54CC0001";
    let gw = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0xfe]);
    let ip = Ipv4Addr::new(10, 100, 0, 50);
    let (dhcp, tftp, cm1, cm2) = (
        Ipv4Addr::new(10, 1, 1, 2),
        Ipv4Addr::new(10, 1, 1, 5),
        Ipv4Addr::new(10, 1, 1, 10),
        Ipv4Addr::new(10, 1, 1, 11),
    );
    let up = L2 {
        src: mac,
        dst: gw,
        vlan: Some(100),
    };
    let down = L2 {
        src: gw,
        dst: mac,
        vlan: Some(100),
    };
    let bcast = L2 {
        src: mac,
        dst: wire::BROADCAST,
        vlan: Some(100),
    };
    let ep = |ip, port| Endpoint { ip, port };
    let opt150 = TftpOption::Option150(vec![tftp]);
    let mut w = Wire::new();
    let client = |kind| encode::dhcp_client(mac, name, "8851", 7, kind, 0);
    let server = |kind, yi| {
        encode::dhcp_server(
            mac,
            7,
            kind,
            yi,
            Ipv4Addr::new(10, 100, 0, 1),
            dhcp,
            &opt150,
        )
    };
    let c68 = ep(Ipv4Addr::UNSPECIFIED, 68);
    let all67 = ep(Ipv4Addr::BROADCAST, 67);
    let s67 = ep(Ipv4Addr::new(10, 100, 0, 1), 67);
    // A REQUEST for the old lease is NAKed; a new lease follows.
    let req = client(DhcpClientKind::Request {
        requested: Ipv4Addr::new(10, 100, 0, 9),
        server: dhcp,
    });
    w.at(0, &wire::udp_frame(bcast, c68, all67, &req));
    let nak = server(DhcpServerKind::Nak, Ipv4Addr::UNSPECIFIED);
    w.at(
        5,
        &wire::udp_frame(down, s67, ep(Ipv4Addr::BROADCAST, 68), &nak),
    );
    w.at(
        900,
        &wire::udp_frame(bcast, c68, all67, &client(DhcpClientKind::Discover)),
    );
    w.at(
        10,
        &wire::udp_frame(down, s67, ep(ip, 68), &server(DhcpServerKind::Offer, ip)),
    );
    let req = client(DhcpClientKind::Request {
        requested: ip,
        server: dhcp,
    });
    w.at(10, &wire::udp_frame(bcast, c68, all67, &req));
    w.at(
        10,
        &wire::udp_frame(down, s67, ep(ip, 68), &server(DhcpServerKind::Ack, ip)),
    );
    // CTL not found (non-secure cluster); a tsize probe the phone itself aborts.
    w.at(
        300,
        &wire::udp_frame(
            up,
            ep(ip, 50001),
            ep(tftp, 69),
            &encode::tftp_rrq(&format!("CTL{name}.tlv")).unwrap(),
        ),
    );
    w.at(
        5,
        &wire::udp_frame(
            down,
            ep(tftp, 40001),
            ep(ip, 50001),
            &encode::tftp_error(1, "File not found").unwrap(),
        ),
    );
    let probe = format!("{name}.cnf.xml\0octet\0tsize\x000\0");
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(probe.as_bytes());
    w.at(100, &wire::udp_frame(up, ep(ip, 50002), ep(tftp, 69), &rrq));
    w.at(
        5,
        &wire::udp_frame(
            down,
            ep(tftp, 40002),
            ep(ip, 50002),
            b"\x00\x06tsize\x001200\x00",
        ),
    );
    w.at(
        5,
        &wire::udp_frame(
            up,
            ep(ip, 50002),
            ep(tftp, 40002),
            &encode::tftp_error(8, "tsize probe").unwrap(),
        ),
    );
    // The configuration itself.
    w.at(
        50,
        &wire::udp_frame(
            up,
            ep(ip, 50003),
            ep(tftp, 69),
            &encode::tftp_rrq(&format!("{name}.cnf.xml")).unwrap(),
        ),
    );
    w.at(
        5,
        &wire::udp_frame(
            down,
            ep(tftp, 40003),
            ep(ip, 50003),
            &encode::tftp_data(1, &[b'x'; 300]).unwrap(),
        ),
    );
    w.at(
        5,
        &wire::udp_frame(
            up,
            ep(ip, 50003),
            ep(tftp, 40003),
            &encode::tftp_ack(1).unwrap(),
        ),
    );
    // SIP registration with the first call manager, then an un-register refused by the
    // backup.
    let reg = |cm, cseq| {
        encode::sip_register(
            name,
            mac,
            "8851",
            "sip88xx.14-2-1-0001-14",
            ip,
            5060,
            cm,
            SipTransport::Udp,
            cseq,
            false,
        )
        .unwrap()
    };
    let ok = encode::sip_response(200, name, mac, ip, 5060, SipTransport::Udp, 1).unwrap();
    w.at(
        500,
        &wire::udp_frame(up, ep(ip, 5060), ep(cm1, 5060), &reg(cm1, 1)),
    );
    w.at(10, &wire::udp_frame(down, ep(cm1, 5060), ep(ip, 5060), &ok));
    let unreg = String::from_utf8(reg(cm2, 2))
        .unwrap()
        .replace("Expires: 3600", "Expires: 0");
    let refused = encode::sip_response(404, name, mac, ip, 5060, SipTransport::Udp, 2).unwrap();
    w.at(
        100,
        &wire::udp_frame(up, ep(ip, 5060), ep(cm2, 5060), unreg.as_bytes()),
    );
    w.at(
        10,
        &wire::udp_frame(down, ep(cm2, 5060), ep(ip, 5060), &refused),
    );
    // Address and ICMP traffic of a healthy phone: the gateway's ARP reply for itself,
    // the phone's own announcement, another host asking for the phone's address; an
    // unreachable from a DNS server (no config or signalling port), a fragmentation
    // needed from the call manager's path, a late port unreachable for TFTP and one for
    // the backup call manager once registered; a lookup answered "no such name".
    let other = MacAddr([0x00, 0x50, 0x56, 0x01, 0x02, 0x03]);
    let zero = MacAddr::default();
    let gw_ip = Ipv4Addr::new(10, 100, 0, 1);
    let arp = |l2, op, s, t| wire::ether_frame(l2, 0x0806, &encode::arp(op, s, t).unwrap());
    w.at(20, &arp(down, 2, (gw, gw_ip), (mac, ip)));
    w.at(20, &arp(bcast, 1, (mac, ip), (zero, ip)));
    let asks = L2 {
        src: other,
        dst: wire::BROADCAST,
        vlan: Some(100),
    };
    w.at(
        20,
        &arp(asks, 1, (other, Ipv4Addr::new(10, 100, 0, 77)), (zero, ip)),
    );
    let dns = Ipv4Addr::new(10, 1, 1, 53);
    let icmp = |from, code, to: Ipv4Addr, port| {
        let bytes = encode::icmp_unreachable(code, (ip, 50010, to, port), 17, 40, 0).unwrap();
        wire::ipv4_frame(down, from, ip, 1, &bytes)
    };
    w.at(20, &icmp(dns, 3, dns, 53));
    w.at(20, &icmp(Ipv4Addr::new(10, 100, 0, 1), 4, cm1, 5060));
    w.at(20, &icmp(tftp, 3, tftp, 69));
    w.at(20, &icmp(cm2, 3, cm2, 5060));
    let q = encode::dns_a_query(0x77, "gone.example.com").unwrap();
    w.at(20, &wire::udp_frame(up, ep(ip, 50011), ep(dns, 53), &q));
    let nx = encode::dns_a_answer(0x77, "gone.example.com", &[]).unwrap();
    w.at(5, &wire::udp_frame(down, ep(dns, 53), ep(ip, 50011), &nx));
    // Optional files after registration: not there.
    w.at(
        200,
        &wire::udp_frame(
            up,
            ep(ip, 50004),
            ep(tftp, 69),
            &encode::tftp_rrq("RingList.xml").unwrap(),
        ),
    );
    w.at(
        5,
        &wire::udp_frame(
            down,
            ep(tftp, 40004),
            ep(ip, 50004),
            &encode::tftp_error(1, "File not found").unwrap(),
        ),
    );
    w.at(
        60_000,
        &wire::cdp_frame(
            mac,
            None,
            &encode::cdp_phone(name, "8851", "sip88xx").unwrap(),
        ),
    );
    let path = w.finish("benign.pcap");

    let r = analyze(&path);
    let [p] = r.phones.as_slice() else {
        panic!("{:?}", r.phones)
    };
    assert_eq!(p.status, Status::Registered, "{:#?}", p.findings);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(p.callmanager.as_deref(), Some("10.1.1.10"));
    // Everything is on the timeline, the NAK and the refused un-register included.
    let kinds: Vec<&str> = p.timeline.iter().map(|e| e.kind).collect();
    for k in [
        "dhcp_nak",
        "dhcp_ack",
        "file_not_found",
        "file_received",
        "register_ack",
        "register_reject",
        "icmp_unreachable",
        "dns_query",
        "dns_answer",
    ] {
        assert!(kinds.contains(&k), "{k}: {kinds:?}");
    }
    // Only the two for servers the boot asked, on their ports, are kept.
    assert_eq!(
        kinds.iter().filter(|k| **k == "icmp_unreachable").count(),
        2
    );
    assert!(!kinds.contains(&"address_in_use"), "{kinds:?}");
    assert!(!r.has_errors());
}

#[test]
fn an_address_taken_with_no_other_lease_stalls_the_phone_at_dhcp() {
    use bootscope::link::MacAddr;
    use bootscope::model::encode::{self, DhcpClientKind, DhcpServerKind};
    use bootscope::model::scenario::TftpOption;
    use bootscope::model::wire::{self, Endpoint, L2};
    use std::net::Ipv4Addr;

    let mac = MacAddr([0x00, 0x1b, 0x54, 0xcc, 0x00, 0x02]);
    let holder = MacAddr([0x00, 0x50, 0x56, 0x0a, 0x0b, 0x0c]);
    let ip = Ipv4Addr::new(10, 100, 0, 51);
    let dhcp = Ipv4Addr::new(10, 1, 1, 2);
    let relay = Ipv4Addr::new(10, 100, 0, 1);
    let l2 = |src, dst| L2 {
        src,
        dst,
        vlan: Some(100),
    };
    let gw = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0xfe]);
    let ep = |ip, port| Endpoint { ip, port };
    let opt150 = TftpOption::Option150(vec![Ipv4Addr::new(10, 1, 1, 5)]);
    let client = |kind| encode::dhcp_client(mac, "SEP001B54CC0002", "8851", 9, kind, 0);
    let server = |kind| encode::dhcp_server(mac, 9, kind, ip, relay, dhcp, &opt150);
    let (c68, all67, s67) = (
        ep(Ipv4Addr::UNSPECIFIED, 68),
        ep(Ipv4Addr::BROADCAST, 67),
        ep(relay, 67),
    );
    let up = l2(mac, wire::BROADCAST);
    let down = l2(gw, mac);
    let mut w = Wire::new();
    w.at(
        0,
        &wire::udp_frame(up, c68, all67, &client(DhcpClientKind::Discover)),
    );
    w.at(
        10,
        &wire::udp_frame(down, s67, ep(ip, 68), &server(DhcpServerKind::Offer)),
    );
    let requested = DhcpClientKind::Request {
        requested: ip,
        server: dhcp,
    };
    w.at(10, &wire::udp_frame(up, c68, all67, &client(requested)));
    w.at(
        10,
        &wire::udp_frame(down, s67, ep(ip, 68), &server(DhcpServerKind::Ack)),
    );
    let zero = Ipv4Addr::UNSPECIFIED;
    let probe = encode::arp(1, (mac, zero), (MacAddr::default(), ip)).unwrap();
    w.at(5, &wire::ether_frame(up, 0x0806, &probe));
    let reply = encode::arp(2, (holder, ip), (mac, zero)).unwrap();
    w.at(3, &wire::ether_frame(l2(holder, mac), 0x0806, &reply));
    let decline = DhcpClientKind::Decline {
        requested: ip,
        server: dhcp,
    };
    w.at(2, &wire::udp_frame(up, c68, all67, &client(decline)));
    // The scope has nothing else: the phone's DISCOVERs go unanswered.
    for gap in [10_000, 4_000, 8_000, 16_000, 32_000] {
        w.at(
            gap,
            &wire::udp_frame(up, c68, all67, &client(DhcpClientKind::Discover)),
        );
    }
    let path = w.finish("address-taken.pcap");
    let r = analyze(&path);
    let [p] = r.phones.as_slice() else {
        panic!("{:?}", r.phones)
    };
    assert_eq!(p.status, Status::Stalled);
    assert_eq!(p.stalled_stage, Some(rules::Stage::Dhcp));
    let f = p
        .findings
        .iter()
        .find(|f| f.code == "duplicate-ip")
        .unwrap();
    assert_eq!(f.severity, rules::Severity::Error, "{:#?}", p.findings);
    assert!(f.message.contains("00:50:56:0a:0b:0c"), "{}", f.message);
    // The DECLINE did not start a new boot: the DISCOVERs after it are the same boot's.
    assert_eq!(p.boots, 1);
}
