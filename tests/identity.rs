//! Who is a phone, and what it is called, over captures built frame by frame with the
//! model's encoders and the parsers' emitters. The values expected come from the
//! protocol documents, and each kind of frame was read with tshark 4.0.17 to the same
//! effect: CDP capabilities 0x01 Router, 0x08 Switch, 0x80 VoIP Phone; LLDP-MED device
//! type Endpoint Class I (TIA-1057 10.2.2.2) without a Network Policy TLV; SCCP
//! RegisterReq deviceType 83 SoftwareMtpDixieLand; SIP User-Agent / Server
//! `Cisco-SIPGateway/IOS-…`, a Contact `devicename` parameter; RFC 3261 10.2.2, a
//! Contact `expires=0` or `Expires: 0` removes the binding; RFC 2131 4.4.1, a client
//! that takes an OFFER answers it with a REQUEST.
//!
//! Routers, gateways, media resources and PCs are other devices, never phones and never
//! judged; names are the wire's; a running phone, a phone in a call and identical
//! phones get the verdict their behaviour implies, wherever it falls in the capture.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use bootscope::link::MacAddr;
use bootscope::model::encode::{self, DhcpClientKind, DhcpServerKind};
use bootscope::model::scenario::TftpOption;
use bootscope::model::wire::{self, Endpoint, PcapWriter, TcpFields, L2};
use bootscope::report::{PhoneReport, Report, Status};
use parsers::cdp::{CdpCapabilities, CdpTlv};
use parsers::lldp::{
    LldpCapabilities, LldpChassisIdSubtype, LldpPdu, LldpPortIdSubtype, LldpTlv, MedCapabilities,
    MedDeviceClass, MedSubtype,
};
use parsers::sccp::{
    SccpBody, SccpDeviceType, SccpHeaderVersion, SccpMessage, SccpMessageId, SccpRegisterReq,
};

use crate::common::{analyze, scratch};

const SWITCH: MacAddr = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0x01]);
const CUCM_MAC: MacAddr = MacAddr([0x00, 0x50, 0x56, 0x00, 0x00, 0x48]);
const CUCM: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 48);
const ROUTER: MacAddr = MacAddr([0x00, 0x1e, 0x4a, 0x20, 0x00, 0x58]);
const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 58);
const DHCP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 2);
const RELAY: Ipv4Addr = Ipv4Addr::new(10, 100, 0, 1);
const RELAY_MAC: MacAddr = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0xfe]);

fn phone_mac(i: u8) -> MacAddr {
    MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x30, i])
}

/// A capture built in time order (each frame at its second from the start).
struct Cap {
    pcap: PcapWriter<Vec<u8>>,
    frames: Vec<(i64, Vec<u8>)>,
    /// Per TCP direction (client port, server port, upward): the next sequence number.
    seqs: Vec<((u16, u16, bool), u32)>,
}

const START_NS: i64 = 1_700_000_000_000_000_000;

impl Cap {
    fn new() -> Self {
        Cap {
            pcap: PcapWriter::new(Vec::new()).unwrap(),
            frames: Vec::new(),
            seqs: Vec::new(),
        }
    }

    fn at(&mut self, secs: f64, frame: Vec<u8>) {
        self.frames
            .push((START_NS + (secs * 1e9).round() as i64, frame));
    }

    /// One TCP data segment of a connection already open (a capture that joins it
    /// late, as the keepalives of a device registered before it began).
    fn tcp(&mut self, secs: f64, l2: L2, src: Endpoint, dst: Endpoint, payload: &[u8]) {
        let dir = (
            src.port.min(dst.port),
            src.port.max(dst.port),
            src.port < dst.port,
        );
        let back = (dir.0, dir.1, !dir.2);
        let ack_no = self.seq(back);
        let seq = self.seq(dir);
        self.set_seq(dir, seq + payload.len() as u32);
        let t = TcpFields {
            seq,
            ack_no,
            ack: true,
            psh: true,
            ..TcpFields::default()
        };
        self.at(secs, wire::tcp_frame(l2, src, dst, t, payload));
    }

    fn seq(&self, dir: (u16, u16, bool)) -> u32 {
        self.seqs
            .iter()
            .find(|(d, _)| *d == dir)
            .map_or(if dir.2 { 1000 } else { 9000 }, |(_, s)| *s)
    }

    fn set_seq(&mut self, dir: (u16, u16, bool), seq: u32) {
        match self.seqs.iter_mut().find(|(d, _)| *d == dir) {
            Some(e) => e.1 = seq,
            None => self.seqs.push((dir, seq)),
        }
    }

    fn write(mut self, name: &str) -> PathBuf {
        self.frames.sort_by_key(|(t, _)| *t);
        for (t, f) in &self.frames {
            self.pcap.record(*t, f).unwrap();
        }
        let path = scratch(name);
        std::fs::write(&path, self.pcap.finish().unwrap()).unwrap();
        path
    }
}

fn l2(src: MacAddr, dst: MacAddr) -> L2 {
    L2 {
        src,
        dst,
        vlan: None,
    }
}

fn ep(ip: Ipv4Addr, port: u16) -> Endpoint {
    Endpoint { ip, port }
}

/// The access switch's CDP (Switch, IGMP; voice VLAN 100): marks the capture's span.
fn switch_cdp() -> Vec<u8> {
    let cdp = encode::cdp_switch("access-sw1", "GigabitEthernet1/0/1", 10, Some(100)).unwrap();
    wire::cdp_frame(SWITCH, None, &cdp)
}

/// The names of the devices taken for phones, and of the others with their kind.
fn who(r: &Report) -> (Vec<String>, Vec<(String, &'static str)>) {
    let name = |p: &PhoneReport| {
        p.device_name
            .clone()
            .or(p.mac.clone())
            .or(p.ip.clone())
            .unwrap_or_default()
    };
    (
        r.phones.iter().map(name).collect(),
        r.other_devices.iter().map(|p| (name(p), p.kind)).collect(),
    )
}

fn sccp_register(name: &str, device_type: SccpDeviceType, mac: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
    SccpMessage::new(
        SccpHeaderVersion(0),
        SccpMessageId::REGISTER_REQ,
        SccpBody::RegisterReq(SccpRegisterReq {
            device_name: name.as_bytes(),
            reserved: 0,
            instance: 1,
            station_ip: ip,
            device_type,
            max_streams: 200,
            active_streams: Some(0),
            protocol_version: Some(18),
            unknown: Some(0),
            phone_features: Some(0),
            max_conferences: Some(0),
            active_conferences: Some(0),
            mac: Some(mac.0),
            ipv4_scope: Some(0),
            max_lines: Some(0),
            station_ipv6: Some(std::net::Ipv6Addr::UNSPECIFIED),
            ipv6_scope: Some(0),
            firmware: Some(b""),
            config_version_stamp: None,
        }),
    )
    .to_vec()
    .unwrap()
}

/// A router's SCCP keepalive on one of its sessions with the call manager, answered.
fn keepalive(c: &mut Cap, secs: f64, port: u16) {
    let (up, down) = (l2(ROUTER, CUCM_MAC), l2(CUCM_MAC, ROUTER));
    let (r, cm) = (ep(ROUTER_IP, port), ep(CUCM, 2000));
    c.tcp(secs, up, r, cm, &encode::sccp_keepalive().unwrap());
    c.tcp(
        secs + 0.01,
        down,
        cm,
        r,
        &encode::sccp_keepalive_ack().unwrap(),
    );
}

#[test]
fn a_routers_dsp_farm_is_a_media_resource_whichever_comes_first() {
    // The router keeps one DSP farm profile registered from before the capture
    // (keepalives on port 51001) and registers another, NONSECURE_MTP (port 51002).
    for keepalives_first in [true, false] {
        let mut c = Cap::new();
        c.at(0.0, switch_cdp());
        let reg = sccp_register(
            "NONSECURE_MTP",
            SccpDeviceType::SOFTWARE_MTP_DIXIELAND,
            ROUTER,
            ROUTER_IP,
        );
        let t_reg = if keepalives_first { 40.0 } else { 1.0 };
        let (up, down) = (l2(ROUTER, CUCM_MAC), l2(CUCM_MAC, ROUTER));
        let (r, cm) = (ep(ROUTER_IP, 51002), ep(CUCM, 2000));
        c.tcp(t_reg, up, r, cm, &reg);
        c.tcp(
            t_reg + 0.02,
            down,
            cm,
            r,
            &encode::sccp_register_ack().unwrap(),
        );
        for i in 0..4 {
            keepalive(&mut c, 5.0 + 30.0 * f64::from(i), 51001);
        }
        c.at(120.0, switch_cdp());
        let r = analyze(&c.write(&format!("dsp-farm-{keepalives_first}.pcap")));
        let (phones, others) = who(&r);
        assert!(phones.is_empty(), "{keepalives_first}: {phones:?}");
        assert!(
            others.contains(&("NONSECURE_MTP".into(), "media-resource")),
            "{keepalives_first}: {others:?}"
        );
        assert!(
            others.iter().all(|(_, k)| *k == "media-resource"),
            "{keepalives_first}: {others:?}"
        );
        let mtp = r
            .other_devices
            .iter()
            .find(|o| o.device_name.as_deref() == Some("NONSECURE_MTP"))
            .unwrap();
        assert_eq!(
            (mtp.status, mtp.name_source, mtp.model.as_deref()),
            (
                Status::Registered,
                Some("registration"),
                Some("SoftwareMtpDixieLand")
            )
        );
        assert!(!r.has_errors(), "{keepalives_first}");
        assert!(r.other_devices.iter().all(|o| o.findings.is_empty()));
    }
}

/// A SIP INVITE from the gateway to the call manager, and its 100 Trying.
fn gateway_invite(c: &mut Cap, secs: f64) {
    let invite = format!(
        "INVITE sip:1001@{CUCM}:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {ROUTER_IP}:5060;branch=z9hG4bK1\r\n\
         From: <sip:5551234@{ROUTER_IP}>;tag=g1\r\nTo: <sip:1001@{CUCM}>\r\n\
         Call-ID: gw-call@{ROUTER_IP}\r\nCSeq: 101 INVITE\r\nContact: <sip:5551234@{ROUTER_IP}:5060>\r\n\
         User-Agent: Cisco-SIPGateway/IOS-16.9.1\r\nContent-Length: 0\r\n\r\n"
    );
    let trying = format!(
        "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP {ROUTER_IP}:5060;branch=z9hG4bK1\r\n\
         From: <sip:5551234@{ROUTER_IP}>;tag=g1\r\nTo: <sip:1001@{CUCM}>\r\n\
         Call-ID: gw-call@{ROUTER_IP}\r\nCSeq: 101 INVITE\r\nServer: Cisco-CUCM14.0\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let (g, cm) = (ep(ROUTER_IP, 5060), ep(CUCM, 5060));
    c.at(
        secs,
        wire::udp_frame(l2(ROUTER, CUCM_MAC), g, cm, invite.as_bytes()),
    );
    c.at(
        secs + 0.01,
        wire::udp_frame(l2(CUCM_MAC, ROUTER), cm, g, trying.as_bytes()),
    );
}

#[test]
fn an_ios_gateway_keeping_sccp_sessions_is_a_voice_gateway_whichever_comes_first() {
    for sip_first in [true, false] {
        let mut c = Cap::new();
        c.at(0.0, switch_cdp());
        gateway_invite(&mut c, if sip_first { 1.0 } else { 70.0 });
        for i in 0..3 {
            keepalive(&mut c, 5.0 + 30.0 * f64::from(i), 51001);
        }
        c.at(120.0, switch_cdp());
        let r = analyze(&c.write(&format!("ios-gateway-{sip_first}.pcap")));
        let (phones, others) = who(&r);
        assert!(phones.is_empty(), "{sip_first}: {phones:?}");
        let [gw] = r.other_devices.as_slice() else {
            panic!("{sip_first}: {others:?}")
        };
        assert_eq!(
            (gw.kind, gw.mac.as_deref(), gw.ip.as_deref()),
            (
                "voice-gateway",
                Some("00:1e:4a:20:00:58"),
                Some("10.1.1.58")
            ),
            "{sip_first}"
        );
        // No name is on the wire: none is made up.
        assert_eq!((gw.device_name.as_deref(), gw.name_source), (None, None));
        assert!(gw.findings.is_empty() && !r.has_errors(), "{sip_first}");
    }
}

/// An LLDP-MED endpoint of class I: station only, no telephone capability, no
/// network policy (a laptop, or its docking station, with an LLDP agent).
fn pc_lldp(mac: MacAddr, name: &str, model: &str) -> Vec<u8> {
    let pdu = LldpPdu {
        tlvs: vec![
            LldpTlv::ChassisId {
                subtype: LldpChassisIdSubtype::MAC_ADDRESS,
                id: &mac.0,
            },
            LldpTlv::PortId {
                subtype: LldpPortIdSubtype::MAC_ADDRESS,
                id: &mac.0,
            },
            LldpTlv::Ttl(120),
            LldpTlv::SystemName(name.as_bytes()),
            LldpTlv::Capabilities {
                system: LldpCapabilities(LldpCapabilities::STATION_ONLY.0),
                enabled: LldpCapabilities(LldpCapabilities::STATION_ONLY.0),
            },
            LldpTlv::MedCapabilities {
                capabilities: MedCapabilities(
                    MedCapabilities::CAPABILITIES.0 | MedCapabilities::INVENTORY.0,
                ),
                class: MedDeviceClass::ENDPOINT_CLASS_1,
            },
            LldpTlv::MedInventory {
                subtype: MedSubtype::MODEL,
                value: model.as_bytes(),
            },
        ],
        truncated: false,
    };
    let bytes = pdu.to_vec().unwrap();
    wire::ether_frame(l2(mac, wire::LLDP_MULTICAST), 0x88cc, &bytes)
}

#[test]
fn a_laptop_and_its_dock_announcing_lldp_med_class_i_are_pcs() {
    let laptop = MacAddr([0x3c, 0x18, 0xa0, 0x01, 0x02, 0x03]);
    let dock = MacAddr([0x3c, 0x18, 0xa0, 0x0d, 0x0c, 0x0c]);
    let mut c = Cap::new();
    c.at(0.0, switch_cdp());
    for i in 0..4 {
        let t = 2.0 + 30.0 * f64::from(i);
        c.at(t, pc_lldp(laptop, "LAPTOP-7", "Latitude 7440"));
        c.at(t + 0.5, pc_lldp(dock, "WD19TBS", "WD19TBS"));
    }
    c.at(150.0, switch_cdp());
    let r = analyze(&c.write("lldp-class-i-pcs.pcap"));
    let (phones, others) = who(&r);
    assert!(phones.is_empty(), "{phones:?}");
    assert_eq!(
        others,
        [("LAPTOP-7".to_owned(), "pc"), ("WD19TBS".to_owned(), "pc")]
    );
    for pc in &r.other_devices {
        assert_eq!(pc.status, Status::Seen);
        assert_eq!(pc.name_source, Some("lldp_system_name"));
        assert!(pc.findings.is_empty() && pc.stalled_stage.is_none());
    }
    assert!(!r.has_errors());
    assert_eq!(r.summary.other_devices.get("pc"), Some(&2));
}

fn cdp_phone(name: &str, platform: &str, address: Option<Ipv4Addr>) -> Vec<u8> {
    let addr = address.map(|a| a.octets());
    let mut tlvs = vec![
        CdpTlv::DeviceId(name.as_bytes()),
        CdpTlv::PortId(b"Port 1"),
        CdpTlv::Capabilities(CdpCapabilities(
            CdpCapabilities::HOST.0 | CdpCapabilities::VOIP_PHONE.0,
        )),
        CdpTlv::Platform(platform.as_bytes()),
    ];
    if let Some(a) = &addr {
        tlvs.push(CdpTlv::Addresses(vec![parsers::cdp::CdpAddress {
            protocol_type: 1,
            protocol: &[0xcc],
            address: a,
        }]));
    }
    crate::common::cdp_pdu(tlvs)
}

#[test]
fn names_are_the_wires_and_a_made_up_one_says_so() {
    let spa = phone_mac(1);
    let other = phone_mac(2);
    let quiet = phone_mac(3);
    let mut c = Cap::new();
    c.at(0.0, switch_cdp());
    // A Linksys / SPA phone names itself SIP<MAC> in CDP.
    let cdp = cdp_phone("SIP001B54AA3001", "Cisco SPA504G", None);
    c.at(1.0, wire::cdp_frame(spa, None, &cdp));
    // Another vendor's phone: LLDP-MED class III, named by its LLDP system name.
    let lldp = encode::lldp_phone(other, "T46S-3002", "T46S", "66.86.0.15").unwrap();
    c.at(
        2.0,
        wire::ether_frame(l2(other, wire::LLDP_MULTICAST), 0x88cc, &lldp),
    );
    // A phone whose only frames are SCCP keepalives: no name on the wire.
    let q = ep(Ipv4Addr::new(10, 100, 0, 33), 50033);
    let cm = ep(CUCM, 2000);
    c.tcp(
        3.0,
        l2(quiet, CUCM_MAC),
        q,
        cm,
        &encode::sccp_keepalive().unwrap(),
    );
    c.tcp(
        3.01,
        l2(CUCM_MAC, quiet),
        cm,
        q,
        &encode::sccp_keepalive_ack().unwrap(),
    );
    c.at(8.0, switch_cdp());
    let r = analyze(&c.write("wire-names.pcap"));
    let names: Vec<(Option<&str>, Option<&str>, &str)> = r
        .phones
        .iter()
        .map(|p| (p.device_name.as_deref(), p.name_source, p.identified_by))
        .collect();
    assert_eq!(
        names,
        [
            (
                Some("SIP001B54AA3001"),
                Some("cdp_device_id"),
                "CDP: VoIP phone"
            ),
            (
                Some("T46S-3002"),
                Some("lldp_system_name"),
                "LLDP-MED endpoint"
            ),
            (
                Some("SEP001B54AA3003"),
                Some("made_up_from_mac"),
                "SCCP keepalives with a call manager"
            ),
        ]
    );
}

#[test]
fn a_running_phones_announcement_makes_it_registered_wherever_it_falls() {
    let mac = phone_mac(0x10);
    let addr = Ipv4Addr::new(10, 100, 0, 40);
    // An LLDP-MED phone that advertises no Management Address, its address as the
    // Chassis ID (network address subtype; tshark: "Chassis Subtype = Network
    // address, Id: 10.100.0.40"), as Avaya 1200 and Cisco SPA phones do.
    let chassis = [1, 10, 100, 0, 40];
    let lldp = LldpPdu {
        tlvs: vec![
            LldpTlv::ChassisId {
                subtype: LldpChassisIdSubtype::NETWORK_ADDRESS,
                id: &chassis,
            },
            LldpTlv::PortId {
                subtype: LldpPortIdSubtype::MAC_ADDRESS,
                id: &mac.0,
            },
            LldpTlv::Ttl(180),
            LldpTlv::Capabilities {
                system: LldpCapabilities(
                    LldpCapabilities::BRIDGE.0 | LldpCapabilities::TELEPHONE.0,
                ),
                enabled: LldpCapabilities(
                    LldpCapabilities::BRIDGE.0 | LldpCapabilities::TELEPHONE.0,
                ),
            },
            LldpTlv::MedCapabilities {
                capabilities: MedCapabilities(MedCapabilities::CAPABILITIES.0),
                class: MedDeviceClass::ENDPOINT_CLASS_3,
            },
        ],
        truncated: false,
    }
    .to_vec()
    .unwrap();
    let cdp = cdp_phone("SEP001B54AA3010", "Cisco IP Phone 8851", Some(addr));
    let mut verdicts = Vec::new();
    for (how, at) in [1.0, 100.0, 199.0, 299.5]
        .into_iter()
        .flat_map(|at| [("cdp", at), ("lldp", at)])
    {
        let mut c = Cap::new();
        c.at(0.0, switch_cdp());
        let frame = match how {
            "cdp" => wire::cdp_frame(mac, None, &cdp),
            _ => wire::ether_frame(l2(mac, wire::LLDP_MULTICAST), 0x88cc, &lldp),
        };
        c.at(at, frame);
        c.at(300.0, switch_cdp());
        let r = analyze(&c.write(&format!("running-{how}-{at}.pcap")));
        let [p] = r.phones.as_slice() else {
            panic!("{how} {at}: {:?}", r.phones)
        };
        assert_eq!(p.ip.as_deref(), Some("10.100.0.40"), "{how} {at}");
        assert!(p.expected_next.is_none(), "{how} {at}");
        let codes: Vec<(String, rules::Severity)> = p
            .findings
            .iter()
            .map(|f| (f.code.clone(), f.severity))
            .collect();
        verdicts.push((p.status, p.stalled_stage, codes));
    }
    let first = verdicts[0].clone();
    assert_eq!(
        first,
        (
            Status::Registered,
            None,
            vec![("already-up".to_owned(), rules::Severity::Info)]
        )
    );
    assert!(verdicts.iter().all(|v| *v == first), "{verdicts:?}");
}

#[test]
fn identical_phones_refusing_offers_get_identical_verdicts_whenever_they_start() {
    // Thirty phones, each ignoring every OFFER (option 150 typed as text) and sending
    // its DISCOVER again 4 s later, the first DISCOVERs spread over a 300 s capture.
    let tftp = TftpOption::Option150Ascii("10.1.1.5".into());
    let mut c = Cap::new();
    c.at(0.0, switch_cdp());
    let mut offers_then_discovers = Vec::new();
    for i in 0..30u8 {
        let mac = phone_mac(0x40 + i);
        let name = format!("SEP{}", mac.to_sep_hex());
        let xid = 0x1000 + u32::from(i);
        let start = 1.0 + 9.6 * f64::from(i);
        let mut t = start;
        while t < 299.0 {
            let discover =
                encode::dhcp_client(mac, &name, "8841", xid, DhcpClientKind::Discover, 0);
            let lease = Ipv4Addr::new(10, 100, 1, 10 + i);
            let offer = encode::dhcp_server(
                mac,
                xid,
                DhcpServerKind::Offer,
                lease,
                RELAY,
                DHCP_SERVER,
                &tftp,
            );
            let (client, server) = (ep(Ipv4Addr::UNSPECIFIED, 68), ep(RELAY, 67));
            let bcast = Endpoint {
                ip: Ipv4Addr::BROADCAST,
                port: 67,
            };
            c.at(
                t,
                wire::udp_frame(l2(mac, wire::BROADCAST), client, bcast, &discover),
            );
            let to_phone = Endpoint {
                ip: Ipv4Addr::BROADCAST,
                port: 68,
            };
            c.at(
                t + 0.01,
                wire::udp_frame(l2(RELAY_MAC, wire::BROADCAST), server, to_phone, &offer),
            );
            t += 4.0;
        }
        offers_then_discovers.push((mac.to_string(), start));
    }
    c.at(300.0, switch_cdp());
    let path = c.write("offers-ignored.pcap");
    let r = analyze(&path);
    assert_eq!(r.phones.len(), 30);
    let mut verdicts = Vec::new();
    for p in &r.phones {
        let mut codes: Vec<String> = p.findings.iter().map(|f| f.code.clone()).collect();
        codes.sort_unstable();
        verdicts.push((p.status, p.stalled_stage, codes));
        let refused = p
            .findings
            .iter()
            .find(|f| f.code == "dhcp-offer-ignored")
            .unwrap_or_else(|| panic!("{:?}", p.findings));
        // Its evidence: the first OFFER and the DISCOVER after it, among the others.
        let offer = p.timeline.iter().find(|e| e.kind == "dhcp_offer").unwrap();
        let again = p
            .timeline
            .iter()
            .find(|e| e.kind == "dhcp_discover" && e.frame > offer.frame)
            .unwrap();
        assert!(
            refused.evidence.contains(&offer.frame) && refused.evidence.contains(&again.frame),
            "{:?}",
            refused.evidence
        );
        // Option 150 as text, said though no ACK ever came: the OFFER carried it.
        let ascii = p
            .findings
            .iter()
            .find(|f| f.code == "dhcp-option150-ascii")
            .unwrap();
        assert!(ascii.message.contains("\"10.1.1.5\""), "{}", ascii.message);
        assert!(ascii.evidence.contains(&offer.frame));
    }
    let first = verdicts[0].clone();
    assert_eq!(
        first,
        (
            Status::Stalled,
            Some(rules::Stage::Dhcp),
            vec![
                "dhcp-offer-ignored".to_owned(),
                "dhcp-option150-ascii".to_owned()
            ]
        )
    );
    assert!(verdicts.iter().all(|v| *v == first), "{verdicts:?}");
    assert!(r
        .summary
        .diagnoses
        .iter()
        .any(|d| d.code == "dhcp-offer-ignored" && d.scope == "systemic" && d.phones == 30));
}

/// A SIP message between the phone (10.100.0.50:5060) and the call manager.
fn sip_udp(c: &mut Cap, secs: f64, mac: MacAddr, up: bool, text: &str) {
    let (phone, cm) = (ep(Ipv4Addr::new(10, 100, 0, 50), 5060), ep(CUCM, 5060));
    let frame = if up {
        wire::udp_frame(l2(mac, CUCM_MAC), phone, cm, text.as_bytes())
    } else {
        wire::udp_frame(l2(CUCM_MAC, mac), cm, phone, text.as_bytes())
    };
    c.at(secs, frame);
}

fn register(cseq: u32, contact_params: &str, expires: &str) -> String {
    format!(
        "REGISTER sip:{CUCM} SIP/2.0\r\nVia: SIP/2.0/UDP 10.100.0.50:5060;branch=z9hG4bK{cseq}\r\n\
         From: <sip:1001@{CUCM}>;tag=p1\r\nTo: <sip:1001@{CUCM}>\r\n\
         Call-ID: 00000000-0001@10.100.0.50\r\nCSeq: {cseq} REGISTER\r\n\
         Contact: <sip:1001@10.100.0.50:5060;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-001b54aa3050>\";+u.sip!devicename.ccm.cisco.com=\"SEP001B54AA3050\"{contact_params}\r\n\
         User-Agent: Cisco-CP8841/14.2.1\r\n{expires}Content-Length: 0\r\n\r\n"
    )
}

fn register_ok(cseq: u32) -> String {
    format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.100.0.50:5060;branch=z9hG4bK{cseq}\r\n\
         From: <sip:1001@{CUCM}>;tag=p1\r\nTo: <sip:1001@{CUCM}>;tag=c1\r\n\
         Call-ID: 00000000-0001@10.100.0.50\r\nCSeq: {cseq} REGISTER\r\nServer: Cisco-CUCM14.0\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn a_de_registration_the_call_manager_confirms_leaves_the_phone_unregistered() {
    let mac = phone_mac(0x50);
    for (how, params, header) in [
        ("contact", ";expires=0", ""),
        ("header", "", "Expires: 0\r\n"),
    ] {
        let mut c = Cap::new();
        sip_udp(
            &mut c,
            1.0,
            mac,
            true,
            &register(101, "", "Expires: 3600\r\n"),
        );
        sip_udp(&mut c, 1.01, mac, false, &register_ok(101));
        sip_udp(&mut c, 60.0, mac, true, &register(102, params, header));
        sip_udp(&mut c, 60.01, mac, false, &register_ok(102));
        c.at(200.0, switch_cdp());
        let r = analyze(&c.write(&format!("deregistered-{how}.pcap")));
        let [p] = r.phones.as_slice() else {
            panic!("{how}: {:?}", r.phones)
        };
        assert_ne!(p.status, Status::Registered, "{how}");
        assert_eq!(p.status, Status::InProgress, "{how}");
        let codes: Vec<&str> = p.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["deregistered"], "{how}");
        assert!(p.timeline.iter().any(|e| e.kind == "unregistered"), "{how}");
        assert!(!r.has_errors(), "{how}");
    }
}

#[test]
fn a_phone_seen_only_in_a_call_with_the_call_manager_is_registered() {
    // CUCM calls a CP-8841; the phone's answers carry its Server and, in their Contact,
    // the plain `devicename` parameter.
    let mac = phone_mac(0x60);
    let dialog = |first: &str, cseq: &str, contact: &str, agent: &str| {
        format!(
            "{first}\r\nVia: SIP/2.0/UDP {CUCM}:5060;branch=z9hG4bKc1\r\n\
             From: <sip:2000@{CUCM}>;tag=cm1\r\nTo: <sip:1001@10.100.0.50>;tag=ph1\r\n\
             Call-ID: call-1@{CUCM}\r\nCSeq: {cseq}\r\n{contact}{agent}Content-Length: 0\r\n\r\n"
        )
    };
    let phone_contact = "Contact: <sip:1001@10.100.0.50:5060>;devicename=\"SEP001B54AA3060\"\r\n";
    let server = "Server: Cisco-CP8841/14.2.1\r\n";
    let mut c = Cap::new();
    c.at(0.0, switch_cdp());
    let invite = dialog(
        "INVITE sip:1001@10.100.0.50:5060 SIP/2.0",
        "101 INVITE",
        &format!("Contact: <sip:2000@{CUCM}:5060>\r\n"),
        "User-Agent: Cisco-CUCM14.0\r\n",
    );
    sip_udp(&mut c, 10.0, mac, false, &invite);
    for (t, line) in [(10.01, "SIP/2.0 180 Ringing"), (12.0, "SIP/2.0 200 OK")] {
        sip_udp(
            &mut c,
            t,
            mac,
            true,
            &dialog(line, "101 INVITE", phone_contact, server),
        );
    }
    let bye = dialog(
        "BYE sip:1001@10.100.0.50:5060 SIP/2.0",
        "102 BYE",
        "",
        "User-Agent: Cisco-CUCM14.0\r\n",
    );
    sip_udp(&mut c, 40.0, mac, false, &bye);
    sip_udp(
        &mut c,
        40.01,
        mac,
        true,
        &dialog("SIP/2.0 200 OK", "102 BYE", "", server),
    );
    c.at(100.0, switch_cdp());
    let r = analyze(&c.write("phone-in-a-call.pcap"));
    let [p] = r.phones.as_slice() else {
        panic!("{:?} / {:?}", r.phones, r.other_devices)
    };
    assert_eq!(p.mac.as_deref(), Some("00:1b:54:aa:30:60"));
    assert_eq!(
        (p.device_name.as_deref(), p.name_source),
        (Some("SEP001B54AA3060"), Some("registration"))
    );
    assert_eq!(p.status, Status::Registered);
    assert_eq!(p.model.as_deref(), Some("Cisco-CP8841/14.2.1"));
    assert_eq!(p.callmanager.as_deref(), Some("10.1.1.48"));
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    assert!(r.other_devices.is_empty(), "{:?}", r.other_devices);
}

#[test]
fn a_router_announcing_itself_by_cdp_is_a_router() {
    let cdp = crate::common::cdp_pdu(vec![
        CdpTlv::DeviceId(b"wan-rtr1.example.com"),
        CdpTlv::PortId(b"GigabitEthernet0/0/1"),
        CdpTlv::Capabilities(CdpCapabilities(
            CdpCapabilities::ROUTER.0 | CdpCapabilities::IGMP.0,
        )),
        CdpTlv::Platform(b"cisco ISR4331/K9"),
    ]);
    let mut c = Cap::new();
    c.at(0.0, wire::cdp_frame(ROUTER, None, &cdp));
    c.at(60.0, wire::cdp_frame(ROUTER, None, &cdp));
    let r = analyze(&c.write("cdp-router.pcap"));
    let (phones, others) = who(&r);
    assert!(phones.is_empty());
    assert_eq!(others, [("wan-rtr1.example.com".to_owned(), "router")]);
    assert_eq!(
        r.other_devices[0].model.as_deref(),
        Some("cisco ISR4331/K9")
    );
    assert!(!r.has_errors());
}

#[test]
fn the_bundled_captures_keep_their_gateways_and_media_resources_apart() {
    // tshark: frame 28 INVITE and the 503s to REGISTER carry User-Agent / Server
    // Cisco-SIPGateway/IOS-16.9.1 from 10.180.110.58; CUCM's 180 / 200 (Server
    // Cisco-CUCM12.0) name SEP2C31246A214B in their Contact.
    let r = analyze(&crate::common::capture_path(
        "Wireshark-Captures/sip_xmf_recording_cube.pcapng",
    ));
    let (phones, others) = who(&r);
    assert_eq!(
        phones,
        [
            "SEP0C75BD110CA4",
            "SEP2C31246A214B",
            "SEPE8EDF3AA1C0E",
            "SEPF87B204EEEDE"
        ]
    );
    let cube = r
        .other_devices
        .iter()
        .find(|o| o.kind == "voice-gateway")
        .unwrap_or_else(|| panic!("{others:?}"));
    assert_eq!(cube.ip.as_deref(), Some("10.180.110.58"));
    let in_call = r
        .phones
        .iter()
        .find(|p| p.device_name.as_deref() == Some("SEP2C31246A214B"))
        .unwrap();
    assert_eq!(in_call.status, Status::Registered);
    assert!(in_call.timeline.iter().any(|e| e.kind == "sip_call"));
    // tshark: RegisterReq device name NONSECURE_MTP, deviceType 0x53.
    let r = analyze(&crate::common::capture_path(
        "Wireshark-Captures/sccp_hw_mtp_register.pcapng",
    ));
    let (phones, others) = who(&r);
    assert!(phones.is_empty());
    assert_eq!(others, [("NONSECURE_MTP".to_owned(), "media-resource")]);
}
