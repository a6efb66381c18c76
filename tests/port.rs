//! The switch port: 802.1X, PoE and the voice VLANs. The samples of each finding are
//! judged as the model played them, with the port named and the DHCP server not
//! blamed; a PC doing 802.1X stays a PC; real phones' power requests raise nothing; and
//! a phone at the edge of the capture (only announcing itself, or up and quiet) is
//! listed without a false error.

use std::net::Ipv4Addr;

use bootscope::link::MacAddr;
use bootscope::model::encode::{self, Eapol};
use bootscope::model::scenario::PortSpec;
use bootscope::model::wire::{self, Endpoint, PcapWriter, L2};
use bootscope::model::Scenario;
use bootscope::report::{PhoneReport, Report, Status};
use parsers::cdp::{CdpAddress, CdpCapabilities, CdpPower, CdpTlv};
use rules::Stage;

use crate::common::{analyze, capture_path, read_frames, sample_path, scratch, write_pcap};

const SWITCH: MacAddr = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0x01]);
const PAE: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);

fn phone<'r>(r: &'r Report, name: &str) -> &'r PhoneReport {
    r.phones
        .iter()
        .find(|p| p.device_name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in the report"))
}

fn codes(p: &PhoneReport) -> Vec<&str> {
    p.findings.iter().map(|f| f.code.as_str()).collect()
}

fn errors_and_warnings(p: &PhoneReport) -> Vec<&str> {
    p.findings
        .iter()
        .filter(|f| f.severity != rules::Severity::Info)
        .map(|f| f.code.as_str())
        .collect()
}

#[test]
fn an_eap_failure_is_the_ports_fault_not_the_dhcp_servers() {
    let r = analyze(&sample_path("dot1x-failed"));
    let p = phone(&r, "SEP001B54AA5001");
    assert_eq!(p.status, Status::Stalled);
    // The port never opened: the phone stalls at discovery though it went on to DHCP.
    assert_eq!(p.stalled_stage, Some(Stage::Discovery));
    assert_eq!(errors_and_warnings(p), ["dot1x-failed"], "{:?}", p.findings);
    let f = &p.findings[0];
    assert!(
        f.message.contains("CP-8851-SEP001B54AA5001"),
        "{}",
        f.message
    );
    assert!(f.message.contains("TLS"), "{}", f.message);
    assert!(
        f.checks
            .iter()
            .any(|c| c.contains("show authentication sessions interface GigabitEthernet1/0/1")),
        "{:?}",
        f.checks
    );
    // The evidence holds the failure (tshark: frame 10, "EAP Failure").
    assert!(f.evidence.contains(&10), "{:?}", f.evidence);
    let types: Vec<&str> = p.timeline.iter().map(|e| e.kind).collect();
    for t in [
        "eapol_start",
        "eap_identity_request",
        "eap_identity",
        "eap_method",
    ] {
        assert!(types.contains(&t), "{t}: {types:?}");
    }
    // The authenticator has its lane, apart from the switch's CDP.
    assert!(p
        .timeline
        .iter()
        .any(|e| e.kind == "eap_failure" && e.peer_role == Some("authenticator")));
    // The model's prediction starts from the refusal, not from the DISCOVERs after it.
    let model = p
        .expected_next
        .as_ref()
        .and_then(|x| x.model.as_ref())
        .expect("a prediction");
    assert!(model.expect.contains("quiet period"), "{}", model.expect);
    // The other phone on an 802.1X port authenticated and registered.
    let ok = phone(&r, "SEP001B54AA5002");
    assert_eq!(ok.status, Status::Registered);
    assert!(errors_and_warnings(ok).is_empty(), "{:?}", ok.findings);
}

#[test]
fn a_port_that_holds_dhcp_back_is_slow_whether_by_mab_or_by_retries() {
    let r = analyze(&sample_path("dot1x-slow-mab"));
    for name in ["SEP001B54AA5101", "SEP001B54AA5102"] {
        let p = phone(&r, name);
        assert_eq!(p.status, Status::Registered, "{name}");
        assert_eq!(errors_and_warnings(p), ["dot1x-slow"], "{name}");
        assert!(!codes(p).contains(&"dhcp-no-offer"), "{name}");
    }
    // MAB: three identity requests to the group address, none answered.
    let mab = phone(&r, "SEP001B54AA5101");
    let asked = mab
        .timeline
        .iter()
        .filter(|e| e.kind == "eap_identity_request")
        .count();
    assert_eq!(asked, 3);
    assert!(!mab.timeline.iter().any(|e| e.kind == "eap_identity"));
}

#[test]
fn the_models_slow_port_is_the_rules() {
    let findings = include_str!("../rules/findings.json");
    let when = format!("dot1x_held_ms >= {}", bootscope::model::sim::DOT1X_SLOW_MS);
    assert!(findings.contains(&when), "{when}");
}

#[test]
fn power_short_of_the_request_warns_and_enough_power_does_not() {
    let r = analyze(&sample_path("poe-power-denied"));
    let short = phone(&r, "SEP001B54AA5201");
    assert_eq!(errors_and_warnings(short), ["poe-power-denied"]);
    let f = &short.findings[0];
    assert!(
        f.message.contains("12900 mW") && f.message.contains("7000 mW"),
        "{}",
        f.message
    );
    let enough = phone(&r, "SEP001B54AA5202");
    assert!(
        errors_and_warnings(enough).is_empty(),
        "{:?}",
        enough.findings
    );
    assert!(enough
        .timeline
        .iter()
        .any(|e| e.kind == "poe_grant" && e.event.contains("15400 mW")));
}

#[test]
fn voice_vlans_that_disagree_warn() {
    let r = analyze(&sample_path("voice-vlan-conflict"));
    let lldp = phone(&r, "SEP001B54AA5301");
    assert_eq!(errors_and_warnings(lldp), ["voice-vlan-conflict"]);
    assert!(lldp.findings[0]
        .message
        .contains("CDP gave VLAN 100, LLDP-MED VLAN 200"));
    let agreed = phone(&r, "SEP001B54AA5302");
    assert!(
        errors_and_warnings(agreed).is_empty(),
        "{:?}",
        agreed.findings
    );
    // The other samples' switches speak both protocols with one VLAN: no conflict.
    let both = analyze(&sample_path("healthy-lldp-sip-udp"));
    assert!(both
        .phones
        .iter()
        .all(|p| !codes(p).contains(&"voice-vlan-conflict")));
}

#[test]
fn dhcp_on_another_vlan_than_the_voice_vlan_warns_where_tags_are_kept() {
    // The sample's second phone DHCPs on VLAN 300, which it was not given; a capture
    // that keeps tags shows it (one that strips them cannot: see the metamorphic tests).
    let dir = sample_path("voice-vlan-conflict");
    let mut sc = Scenario::load(&dir.parent().unwrap().join("scenario.json")).unwrap();
    sc.phones[1].port = Some(PortSpec {
        dhcp_vlan: Some(300),
        ..PortSpec::default()
    });
    let (pcap, truth) = bootscope::model::simulate(&sc, Vec::new()).unwrap();
    let path = scratch("dhcp-vlan-300.pcap");
    std::fs::write(&path, pcap).unwrap();
    let r = analyze(&path);
    let p = phone(&r, "SEP001B54AA5302");
    assert_eq!(p.vlan, Some(300));
    assert_eq!(errors_and_warnings(p), ["voice-vlan-conflict"]);
    assert_eq!(truth.phones[1].findings, ["voice-vlan-conflict"]);
}

/// A capture written from frames at their seconds.
fn write(name: &str, frames: &mut [(f64, Vec<u8>)]) -> std::path::PathBuf {
    frames.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for (t, f) in frames.iter() {
        w.record(1_700_000_000_000_000_000 + (t * 1e9) as i64, f)
            .unwrap();
    }
    let path = scratch(name);
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    path
}

#[test]
fn a_pc_doing_8021x_stays_a_pc_whatever_its_port_says() {
    let pc = MacAddr([0x00, 0x50, 0x56, 0x0a, 0x0b, 0x0c]);
    let eap = |pdu, id| encode::eapol(pdu, id).unwrap();
    let frame = |src, dst, pdu: Vec<u8>| {
        wire::ether_frame(
            L2 {
                src,
                dst,
                vlan: None,
            },
            0x888e,
            &pdu,
        )
    };
    let mut frames = vec![
        (0.0, frame(pc, PAE, eap(Eapol::Start, 0))),
        (0.1, frame(SWITCH, pc, eap(Eapol::RequestIdentity, 1))),
        (
            0.2,
            frame(
                pc,
                SWITCH,
                eap(Eapol::ResponseIdentity("alice@corp.example"), 1),
            ),
        ),
        (0.3, frame(SWITCH, pc, eap(Eapol::Failure, 1))),
    ];
    // Its DISCOVERs go nowhere, as a phone's would on that port.
    for (k, t) in [1.0, 5.0, 13.0, 29.0].into_iter().enumerate() {
        let d = dhcproto_discover(pc, k as u16);
        frames.push((t, d));
    }
    let r = analyze(&write("dot1x-pc.pcap", &mut frames));
    assert!(r.phones.is_empty(), "{:?}", r.phones);
    let [p] = r.other_devices.as_slice() else {
        panic!("{:?}", r.other_devices)
    };
    assert_eq!(p.kind, "pc", "{p:?}");
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    assert_ne!(p.status, Status::Stalled);
}

/// A PC's DHCP DISCOVER (no option 60 of a phone, no SEP host name).
fn dhcproto_discover(mac: MacAddr, secs: u16) -> Vec<u8> {
    let mut m = dhcproto::v4::Message::default();
    m.set_opcode(dhcproto::v4::Opcode::BootRequest)
        .set_xid(0x1234_5678)
        .set_secs(secs)
        .set_flags(dhcproto::v4::Flags::default().set_broadcast())
        .set_chaddr(&mac.0);
    m.opts_mut().insert(dhcproto::v4::DhcpOption::MessageType(
        dhcproto::v4::MessageType::Discover,
    ));
    let payload = dhcproto::Encodable::to_vec(&m).unwrap();
    wire::dhcp_client_broadcast(mac, None, &payload)
}

#[test]
fn a_phone_cut_off_while_it_announces_itself_is_in_progress_without_a_finding() {
    for (sample, keep, name) in [
        // The phone's CDP and the switch's answer.
        ("healthy-sccp", 2, "SEP001B54AA0001"),
        // Its CDP, the switch's first identity request, the switch's CDP.
        ("dot1x-slow-mab", 3, "SEP001B54AA5101"),
        // The phone's LLDP-MED alone.
        ("healthy-lldp-sip-udp", 1, "SEP001B54AA0201"),
    ] {
        let (frames, _) = read_frames(&sample_path(sample));
        let cut = write_pcap(&frames[..keep], 1, false, false);
        let path = scratch(&format!("edge-{sample}.pcap"));
        std::fs::write(&path, cut).unwrap();
        let r = analyze(&path);
        let p = phone(&r, name);
        assert_eq!(p.status, Status::InProgress, "{sample}");
        assert!(p.findings.is_empty(), "{sample}: {:?}", p.findings);
        assert!(p.expected_next.is_some(), "{sample}");
    }
}

/// A running phone's CDP: its address, and the power it asks for (10 250 mW, or
/// 6 300 mW without its expansion module), as a 7970 sends it (tshark: "Power
/// Request: 10250 mW, 6300 mW").
fn running_phone_cdp(name: &str, addr: Ipv4Addr) -> Vec<u8> {
    let levels: Vec<u8> = [10_250u32, 6_300]
        .iter()
        .flat_map(|l| l.to_be_bytes())
        .collect();
    crate::common::cdp_pdu(vec![
        CdpTlv::DeviceId(name.as_bytes()),
        CdpTlv::Addresses(vec![CdpAddress {
            protocol_type: 1,
            protocol: &[0xcc],
            address: &addr.octets(),
        }]),
        CdpTlv::PortId(b"Port 1"),
        CdpTlv::Capabilities(CdpCapabilities(
            CdpCapabilities::HOST.0 | CdpCapabilities::VOIP_PHONE.0,
        )),
        CdpTlv::Platform(b"Cisco IP Phone 7970"),
        CdpTlv::PowerRequested(CdpPower {
            request_id: 0,
            management_id: 0,
            levels: &levels,
        }),
        CdpTlv::PowerConsumption(6_300),
    ])
}

#[test]
fn a_phone_up_and_quiet_is_listed_with_what_is_known_and_no_error() {
    let mac = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x60, 0x01]);
    let cdp = running_phone_cdp("SEP001B54AA6001", Ipv4Addr::new(10, 100, 0, 61));
    let switch = encode::cdp_switch("access-sw1", "GigabitEthernet1/0/7", 10, Some(100)).unwrap();
    let mut frames = Vec::new();
    // Ten minutes of periodic CDP, both ways, and nothing else.
    for minute in 0..10 {
        let t = f64::from(minute) * 60.0;
        frames.push((t, wire::cdp_frame(mac, None, &cdp)));
        frames.push((t + 20.0, wire::cdp_frame(SWITCH, None, &switch)));
    }
    let r = analyze(&write("up-and-quiet.pcap", &mut frames));
    let p = phone(&r, "SEP001B54AA6001");
    assert_eq!(p.status, Status::Registered);
    assert_eq!(p.ip.as_deref(), Some("10.100.0.61"));
    assert_eq!(p.model.as_deref(), Some("Cisco IP Phone 7970"));
    assert_eq!(codes(p), ["already-up"], "{:?}", p.findings);
    // Its power request is on its timeline once, the largest level, in mW.
    let asks: Vec<&str> = p
        .timeline
        .iter()
        .filter(|e| e.kind == "poe_request")
        .map(|e| e.event.as_str())
        .collect();
    assert_eq!(asks, ["CDP: the phone asks for 10250 mW of PoE"]);
}

#[test]
fn real_phones_power_requests_raise_nothing() {
    // Two phones' CDP (ladvd's test capture): a 7912 with Power Consumption 6300 mW, a
    // 7970 with Power Request 10250 mW, 6300 mW (tshark's reading).
    let r = analyze(&capture_path("ladvd/49.good.phone.pcap"));
    assert_eq!(r.phones.len(), 2);
    for p in &r.phones {
        assert!(
            !codes(p).iter().any(|c| c.starts_with("poe")),
            "{:?}",
            p.findings
        );
    }
    let asked = |name: &str| -> Vec<String> {
        phone(&r, name)
            .timeline
            .iter()
            .filter(|e| e.kind == "poe_request")
            .map(|e| e.event.clone())
            .collect()
    };
    assert_eq!(
        asked("SEP001B53489EE0"),
        ["CDP: the phone asks for 6300 mW of PoE"]
    );
    assert_eq!(
        asked("SEP0012DADBD34E"),
        ["CDP: the phone asks for 10250 mW of PoE"]
    );
}

#[test]
fn a_phone_restarting_over_denied_power_is_an_error_and_a_granted_one_no_finding() {
    use bootscope::model::encode::{DhcpClientKind, DhcpServerKind};
    use bootscope::model::scenario::TftpOption;
    let mac = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x61, 0x01]);
    let name = "SEP001B54AA6101";
    let (lease, relay, server) = (
        Ipv4Addr::new(10, 100, 0, 30),
        Ipv4Addr::new(10, 100, 0, 1),
        Ipv4Addr::new(10, 1, 1, 2),
    );
    let tftp = TftpOption::Option150(vec![Ipv4Addr::new(10, 1, 1, 5)]);
    let up = |payload: Vec<u8>| wire::dhcp_client_broadcast(mac, Some(100), &payload);
    let down = |payload: Vec<u8>| {
        wire::udp_frame(
            L2 {
                src: SWITCH,
                dst: mac,
                vlan: Some(100),
            },
            Endpoint {
                ip: relay,
                port: 67,
            },
            Endpoint {
                ip: lease,
                port: 68,
            },
            &payload,
        )
    };
    // Each boot: the phone asks 12.9 W, the switch offers `offered`, the phone gets its
    // lease; with too little power the port is cut and the phone boots again.
    let capture = |file: &str, offered: u32| {
        let mut frames = Vec::new();
        for (boot, at) in [0.0, 30.0, 60.0].into_iter().enumerate() {
            let xid = 0x100 + boot as u32;
            let cdp = encode::cdp_phone_power(
                name,
                "Cisco IP Phone 8851",
                "sip88xx.14-2-1-0001-14",
                12_900,
            )
            .unwrap();
            let sw =
                encode::cdp_switch_power("access-sw1", "Gi1/0/9", 10, Some(100), offered).unwrap();
            frames.push((at, wire::cdp_frame(mac, None, &cdp)));
            frames.push((at + 0.05, wire::cdp_frame(SWITCH, None, &sw)));
            let client = |kind| encode::dhcp_client(mac, name, "8851", xid, kind, 0);
            let request = DhcpClientKind::Request {
                requested: lease,
                server,
            };
            let reply = |kind| encode::dhcp_server(mac, xid, kind, lease, relay, server, &tftp);
            frames.push((at + 1.0, up(client(DhcpClientKind::Discover))));
            frames.push((at + 1.01, down(reply(DhcpServerKind::Offer))));
            frames.push((at + 1.02, up(client(request))));
            frames.push((at + 1.03, down(reply(DhcpServerKind::Ack))));
        }
        analyze(&write(file, &mut frames))
    };
    let r = capture("poe-restarts.pcap", 7_000);
    let p = phone(&r, name);
    let poe = p
        .findings
        .iter()
        .find(|f| f.code == "poe-power-denied")
        .unwrap_or_else(|| panic!("{:?}", p.findings));
    assert_eq!(poe.severity, rules::Severity::Error);
    assert!(
        poe.message.contains("(3 boots; short of power in 3 of"),
        "{}",
        poe.message
    );
    assert!(codes(p).contains(&"boot-loop"), "{:?}", p.findings);
    let r = capture("poe-granted.pcap", 15_400);
    let p = phone(&r, name);
    assert!(!codes(p).contains(&"poe-power-denied"), "{:?}", p.findings);
}

#[test]
fn a_phone_without_a_supplicant_that_mab_never_lets_in_is_the_ports_fault() {
    // The MAB sample cut before MAB lets the phone in (at 90 s): three identity requests
    // unanswered and DISCOVERs that go nowhere for over a minute.
    let (frames, _) = read_frames(&sample_path("dot1x-slow-mab"));
    let first = frames[0].ts_ns;
    let kept: Vec<_> = frames
        .iter()
        .filter(|f| f.ts_ns - first < 85_000_000_000)
        .cloned()
        .collect();
    let path = scratch("mab-never.pcap");
    std::fs::write(&path, write_pcap(&kept, 1, false, false)).unwrap();
    let r = analyze(&path);
    let p = phone(&r, "SEP001B54AA5101");
    assert_eq!(p.status, Status::Stalled);
    assert_eq!(errors_and_warnings(p), ["dot1x-failed"], "{:?}", p.findings);
    assert!(
        p.findings[0].message.contains("never answered"),
        "{}",
        p.findings[0].message
    );
}
