//! The dissectors of the `parsers` crate the engine is being wired to (EAPOL, ARP, DNS,
//! ICMP / ICMPv6, TLS) and the power TLVs of CDP and LLDP, held to tshark field by field
//! on every bundled capture (tests/captures/CATALOG.md). TLS records span segments, so
//! its reader joins each direction's payload first.
//!
//! For each protocol: the frames tshark decodes as it (tests/fixtures/tshark/
//! `*.{eapol,arp,dns,icmp,cdppower,lldppower}.tsv`, made by gen.sh there with TShark
//! 4.0.17) are exactly the frames its dissector parses, and every column of tshark's
//! reading is what the dissector read, printed as tshark prints it. A column tshark
//! fills from something the dissector does not read is projected out where it is
//! compared, with the reason.
//!
//! The frames are sliced here (Ethernet and 802.1Q tags for ARP and EAPOL,
//! `link::decode` for IP, CDP and LLDP), not through `dispatch`: the comparison holds
//! the dissectors alone, whatever the engine makes of them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bootscope::capture::{Frame, Linktype};
use bootscope::link::{self, Net, Transport};
use parsers::{arp, cdp, dns, eapol, icmp, lldp};

use crate::common::{all_captures, capture_path, read_frames};
use crate::tshark_compare::tshark_rows;

/// One frame as a dissector read it: a column per tshark field (`None`: not compared
/// for this frame, the reason where it is made), or the dissector's error.
type Reading = Result<Vec<Option<String>>, String>;

/// The frames a dissector is not held to (protocol, capture, frame), with the reason.
const NOT_READ: &[(&str, &str, u64, &str)] = &[(
    "dns",
    "zeek/vxlan-triple-v2.pcap",
    1,
    "three VXLAN tunnels deep: bootscope reads two (CATALOG.md note 5)",
)];

/// Compare one protocol over every bundled capture; returns how many frames were
/// compared. `read` is `None` for a frame that is not the protocol's.
fn compare(
    proto: &str,
    columns: &[&str],
    read: impl Fn(&Frame<'_>) -> Option<Reading>,
    project: impl Fn(&[String]) -> Vec<String>,
    failures: &mut Vec<String>,
) -> usize {
    let mut compared = 0;
    for cap in all_captures() {
        let theirs = tshark_rows(&cap, proto);
        let (frames, _) = read_frames(&capture_path(&cap));
        let mut ours: BTreeMap<u64, Reading> = BTreeMap::new();
        for f in &frames {
            let frame = Frame {
                number: f.number,
                ts_ns: f.ts_ns,
                linktype: Linktype(f.linktype),
                data: &f.data,
                orig_len: f.orig_len,
            };
            if let Some(r) = read(&frame) {
                ours.insert(f.number, r);
            }
        }
        let excused = |frame: u64| {
            NOT_READ
                .iter()
                .any(|&(p, c, n, _)| p == proto && c == cap && n == frame)
        };
        for frame in ours.keys() {
            if !theirs.contains_key(frame) && !excused(*frame) {
                failures.push(format!("{cap} frame {frame}: {proto} for bootscope only"));
            }
        }
        for (frame, cols) in &theirs {
            if excused(*frame) {
                continue;
            }
            let Some(reading) = ours.get(frame) else {
                failures.push(format!("{cap} frame {frame}: {proto} for tshark only"));
                continue;
            };
            let mine = match reading {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!("{cap} frame {frame}: {proto} rejected: {e}"));
                    continue;
                }
            };
            compared += 1;
            let cols = project(cols);
            assert_eq!(mine.len(), columns.len(), "{proto} reader columns");
            for (i, name) in columns.iter().enumerate() {
                let expected = cols.get(i).map_or("", String::as_str);
                if let Some(got) = &mine[i] {
                    if got != expected {
                        failures.push(format!(
                            "{cap} frame {frame} {name}: bootscope {got:?}, tshark {expected:?}"
                        ));
                    }
                }
            }
        }
    }
    compared
}

/// The payload of a frame of ether type `ethertype` (ARP, EAPOL) as the link layer
/// reads it: natively, behind 802.1Q tags, on Linux cooked capture, or inside a tunnel
/// (802.11 data inside CAPWAP included).
fn payload_of_ethertype<'a>(f: &Frame<'a>, ethertype: u16) -> Option<&'a [u8]> {
    match (link::decode(f).ok()?.net, ethertype) {
        (Net::Arp(b), 0x0806) => Some(b),
        (Net::Eapol(b), parsers::eapol::ETHER_TYPE) => Some(b),
        _ => None,
    }
}

/// tshark's row as it is.
fn as_is(cols: &[String]) -> Vec<String> {
    cols.to_vec()
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn flag(b: bool) -> Option<String> {
    Some(if b { "1".into() } else { String::new() })
}

fn joined<T: ToString>(it: impl IntoIterator<Item = T>) -> Option<String> {
    Some(
        it.into_iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("|"),
    )
}

const EAPOL_COLUMNS: [&str; 10] = [
    "eapol.version",
    "eapol.type",
    "eapol.len",
    "eap.code",
    "eap.id",
    "eap.len",
    "eap.type",
    "eap.identity",
    "eap.tls.flags",
    "eap.tls.len",
];

fn read_eapol(f: &Frame<'_>) -> Option<Reading> {
    let payload = payload_of_ethertype(f, eapol::ETHER_TYPE)?;
    Some(eapol::parse(payload).map_err(|e| e.to_string()).map(|p| {
        let mut cols = vec![
            s(p.version),
            s(p.packet_type.0),
            s(p.body_len()),
            s(""),
            s(""),
            s(""),
            s(""),
            s(""),
            s(""),
            s(""),
        ];
        if let Some(e) = p.eap() {
            cols[3] = s(e.code.0);
            cols[4] = s(e.identifier);
            cols[5] = s(e.buffer_len());
            if let Some(t) = e.eap_type() {
                cols[6] = s(t.0);
                cols[7] = if t == eapol::EapType::IDENTITY {
                    s(e.identity().unwrap_or_default())
                } else {
                    // tshark also shows EAP-SIM's and AKA's AT_IDENTITY attribute
                    // (RFC 4186 §10.5) as eap.identity; the dissector keeps those
                    // methods' data raw (a phone uses neither).
                    None
                };
            }
            if let eapol::EapBody::Typed(eapol::EapMessage {
                data: eapol::EapData::Tls(t),
                ..
            }) = e.body
            {
                cols[8] = s(format!("0x{:02x}", t.flags.0));
                cols[9] = s(t.message_length.map(|l| l.to_string()).unwrap_or_default());
            }
        }
        cols
    }))
}

#[test]
fn eapol_and_eap_fields_match_tshark() {
    let mut f = Vec::new();
    let n = compare("eapol", &EAPOL_COLUMNS, read_eapol, as_is, &mut f);
    assert!(f.is_empty(), "{}", f.join("\n"));
    // tcpdump/eapon1.pcap: 41 EAPOL frames.
    assert_eq!(n, 41);
}

const ARP_COLUMNS: [&str; 10] = [
    "arp.hw.type",
    "arp.proto.type",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
    "arp.isgratuitous",
    "arp.isprobe",
    "arp.isannouncement",
];

fn read_arp(f: &Frame<'_>) -> Option<Reading> {
    let payload = payload_of_ethertype(f, 0x0806)?;
    Some(arp::parse(payload).map_err(|e| e.to_string()).map(|p| {
        vec![
            s(p.hardware.0),
            s(format!("0x{:04x}", p.protocol.0)),
            s(p.opcode.0),
            s(mac(p.sender_mac)),
            s(p.sender_ip),
            s(mac(p.target_mac)),
            s(p.target_ip),
            flag(p.is_gratuitous()),
            flag(p.is_probe()),
            flag(p.is_announcement()),
        ]
    }))
}

#[test]
fn arp_fields_match_tshark() {
    let mut f = Vec::new();
    let n = compare("arp", &ARP_COLUMNS, read_arp, as_is, &mut f);
    assert!(f.is_empty(), "{}", f.join("\n"));
    assert_eq!(n, 26);
}

const DNS_COLUMNS: [&str; 18] = [
    "dns.id",
    "dns.flags.response",
    "dns.flags.opcode",
    "dns.flags.rcode",
    "dns.count.queries",
    "dns.count.answers",
    "dns.count.auth_rr",
    "dns.count.add_rr",
    "dns.qry.name",
    "dns.qry.type",
    "dns.resp.ttl",
    "dns.a",
    "dns.aaaa",
    "dns.cname",
    "dns.srv.priority",
    "dns.srv.weight",
    "dns.srv.port",
    "dns.srv.target",
];

/// A name as tshark prints it.
fn dns_name(n: &dns::DnsName<'_>) -> String {
    if n.is_root() {
        "<Root>".into()
    } else {
        n.to_dotted()
    }
}

fn dns_reading(m: &dns::DnsMessage<'_>) -> Vec<Option<String>> {
    let h = &m.header;
    // OPT pseudo-records (type 41) have no TTL for tshark (their TTL field holds the
    // extended rcode and flags).
    let records = || m.records().filter(|r| r.rtype.0 != 41);
    let srv = |pick: fn(u16, u16, u16, &dns::DnsName<'_>) -> String| {
        joined(records().filter_map(|r| match &r.rdata {
            dns::DnsRdata::Srv {
                priority,
                weight,
                port,
                target,
            } => Some(pick(*priority, *weight, *port, target)),
            _ => None,
        }))
    };
    vec![
        s(format!("0x{:04x}", h.id)),
        s(u8::from(h.response)),
        s(h.opcode.0),
        // tshark shows the reply code of responses only.
        s(if h.response {
            h.rcode.0.to_string()
        } else {
            String::new()
        }),
        s(m.questions.len()),
        s(m.answers.len()),
        s(m.authority.len()),
        s(m.additional.len()),
        joined(m.questions.iter().map(|q| dns_name(&q.name))),
        joined(m.questions.iter().map(|q| q.qtype.0)),
        joined(records().map(|r| r.ttl)),
        joined(records().filter_map(|r| match r.rdata {
            dns::DnsRdata::A(a) => Some(a.to_string()),
            _ => None,
        })),
        joined(records().filter_map(|r| match r.rdata {
            dns::DnsRdata::Aaaa(a) => Some(a.to_string()),
            _ => None,
        })),
        joined(records().filter_map(|r| match &r.rdata {
            dns::DnsRdata::Cname(n) => Some(dns_name(n)),
            _ => None,
        })),
        srv(|p, _, _, _| p.to_string()),
        srv(|_, w, _, _| w.to_string()),
        srv(|_, _, p, _| p.to_string()),
        srv(|_, _, _, t| dns_name(t)),
    ]
}

fn read_dns(f: &Frame<'_>) -> Option<Reading> {
    let Ok(pkt) = link::decode(f) else {
        return None;
    };
    let Net::Ip(ip) = pkt.net else {
        return None;
    };
    match ip.transport {
        Transport::Udp {
            src_port,
            dst_port,
            payload,
        } if src_port == 53 || dst_port == 53 => Some(
            dns::parse(payload)
                .map(|m| dns_reading(&m))
                .map_err(|e| e.to_string()),
        ),
        Transport::Tcp(seg)
            if (seg.src_port == 53 || seg.dst_port == 53) && !seg.payload.is_empty() =>
        {
            Some(
                dns::parse_tcp(seg.payload)
                    .map(|(m, _)| dns_reading(&m))
                    .map_err(|e| e.to_string()),
            )
        }
        _ => None,
    }
}

#[test]
fn dns_fields_match_tshark() {
    let mut f = Vec::new();
    let n = compare("dns", &DNS_COLUMNS, read_dns, as_is, &mut f);
    assert!(f.is_empty(), "{}", f.join("\n"));
    assert_eq!(n, 20);
}

const ICMP_COLUMNS: [&str; 22] = [
    "icmp.type",
    "icmp.code",
    "icmp.checksum",
    "icmpv6.type",
    "icmpv6.code",
    "icmpv6.checksum",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.nxt",
    "udp.srcport",
    "udp.dstport",
    "tcp.srcport",
    "tcp.dstport",
    "icmp.ident",
    "icmp.seq",
    "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number",
    "icmp.mtu",
    "icmpv6.mtu",
];

fn read_icmp(f: &Frame<'_>) -> Option<Reading> {
    let Ok(pkt) = link::decode(f) else {
        return None;
    };
    let Net::Ip(ip) = pkt.net else {
        return None;
    };
    let Transport::Other { protocol, payload } = ip.transport else {
        return None;
    };
    let parsed = match protocol {
        1 => icmp::parse_v4(payload),
        58 => icmp::parse_v6(payload),
        _ => return None,
    };
    Some(parsed.map_err(|e| e.to_string()).map(|m| icmp_reading(&m)))
}

/// Our reading in tshark's columns. tshark lists every occurrence of a field in the
/// frame: the ICMP header's are the first ones, the quoted datagram's IP and
/// transport fields the last ones (those of a tunnel come before); the test
/// projects tshark's row the same way (`project_icmp`).
fn icmp_reading(m: &icmp::IcmpMessage<'_>) -> Vec<Option<String>> {
    let v4 = m.version == icmp::IcmpVersion::V4;
    let mut cols = vec![s(""); ICMP_COLUMNS.len()];
    let (t, c, k) = if v4 { (0, 1, 2) } else { (3, 4, 5) };
    cols[t] = s(m.icmp_type);
    cols[c] = s(m.code);
    cols[k] = s(format!("0x{:04x}", m.checksum));
    if let Some(q) = m.quoted() {
        let (src, dst, proto) = match q.src {
            IpAddr::V4(_) => (6, 7, 8),
            IpAddr::V6(_) => (9, 10, 11),
        };
        cols[src] = s(q.src);
        cols[dst] = s(q.dst);
        // ip.proto / ipv6.nxt is the quoted header's own field: for IPv6, the first
        // extension header's type when there is one (`protocol` is past them).
        cols[proto] = match q.src {
            IpAddr::V4(_) => s(q.protocol),
            IpAddr::V6(_) => q.raw.get(6).map(ToString::to_string),
        };
        if let Some((sp, dp)) = q.ports() {
            let (a, b) = if q.protocol == 6 { (14, 15) } else { (12, 13) };
            cols[a] = s(sp);
            cols[b] = s(dp);
        }
    }
    match m.kind() {
        icmp::IcmpKind::EchoRequest { id, seq } | icmp::IcmpKind::EchoReply { id, seq } => {
            let (i, q) = if v4 { (16, 17) } else { (18, 19) };
            // tshark prints ICMP's identifier in decimal, ICMPv6's in hex.
            cols[i] = s(if v4 {
                id.to_string()
            } else {
                format!("0x{id:04x}")
            });
            cols[q] = s(seq);
        }
        icmp::IcmpKind::Unreachable(icmp::Unreachable::FragmentationNeeded { mtu }) => {
            cols[20] = s(mtu);
        }
        icmp::IcmpKind::PacketTooBig { mtu } => cols[21] = s(mtu),
        _ => {}
    }
    cols
}

/// tshark's ICMP row in the dissector's terms: the ICMP header's fields are their
/// first occurrence (a quoted ICMP message's come after); for an error, the quoted
/// datagram's IP and transport fields are their last occurrence (a tunnel's come
/// before), for any other message they are not the ICMP dissector's (blank); the
/// echo identifier and sequence are an echo's own (an error quoting an echo shows the
/// quoted one's: blank).
fn project_icmp(cols: &[String]) -> Vec<String> {
    let first = |i: usize| {
        cols.get(i)
            .and_then(|c| c.split('|').next())
            .unwrap_or_default()
            .to_owned()
    };
    let last = |i: usize| {
        cols.get(i)
            .and_then(|c| c.rsplit('|').next())
            .unwrap_or_default()
            .to_owned()
    };
    let (v4_type, v6_type) = (first(0), first(3));
    let v4 = !v4_type.is_empty();
    let error = if v4 {
        matches!(v4_type.as_str(), "3" | "4" | "5" | "11" | "12")
    } else {
        matches!(v6_type.as_str(), "1" | "2" | "3" | "4")
    };
    let echo = matches!(
        (v4, if v4 { &v4_type } else { &v6_type }.as_str()),
        (true, "0" | "8") | (false, "128" | "129")
    );
    (0..ICMP_COLUMNS.len())
        .map(|i| match i {
            0..=5 | 20 | 21 => first(i),
            6..=8 if error && v4 => last(i),
            9..=11 if error && !v4 => last(i),
            12..=15 if error => last(i),
            16..=19 if echo => first(i),
            _ => String::new(),
        })
        .collect()
}

#[test]
fn icmp_and_icmpv6_fields_match_tshark() {
    let mut f = Vec::new();
    let n = compare("icmp", &ICMP_COLUMNS, read_icmp, project_icmp, &mut f);
    assert!(f.is_empty(), "{}", f.join("\n"));
    assert_eq!(n, 166);
}

const CDP_POWER_COLUMNS: [&str; 5] = [
    "cdp.power_consumption",
    "cdp.request_id",
    "cdp.management_id",
    "cdp.power_requested",
    "cdp.power_available",
];

fn read_cdp_power(f: &Frame<'_>) -> Option<Reading> {
    let Ok(pkt) = link::decode(f) else {
        return None;
    };
    let Net::Cdp(bytes) = pkt.net else {
        return None;
    };
    Some(cdp::parse(bytes).map_err(|e| e.to_string()).map(|p| {
        // Request and management ids are one tshark field each for both TLVs, in
        // TLV order.
        let (mut ids, mut mgmt, mut req, mut avail) = (vec![], vec![], vec![], vec![]);
        let mut consumption = vec![];
        for t in &p.tlvs {
            match t {
                cdp::CdpTlv::PowerConsumption(mw) => consumption.push(*mw),
                cdp::CdpTlv::PowerRequested(x) | cdp::CdpTlv::PowerAvailable(x) => {
                    ids.push(x.request_id);
                    mgmt.push(x.management_id);
                    let to = if matches!(t, cdp::CdpTlv::PowerRequested(_)) {
                        &mut req
                    } else {
                        &mut avail
                    };
                    to.extend(x.levels_mw());
                }
                _ => {}
            }
        }
        vec![
            joined(consumption),
            joined(ids),
            joined(mgmt),
            joined(req),
            joined(avail),
        ]
    }))
}

#[test]
fn cdp_power_tlvs_match_tshark() {
    let mut f = Vec::new();
    let n = compare(
        "cdppower",
        &CDP_POWER_COLUMNS,
        read_cdp_power,
        as_is,
        &mut f,
    );
    assert!(f.is_empty(), "{}", f.join("\n"));
    assert_eq!(n, 36);
}

const LLDP_POWER_COLUMNS: [&str; 21] = [
    "lldp.ieee.802_3.mdi_power_support",
    "lldp.ieee.802_3.mdi_pse_pair",
    "lldp.ieee.802_3.mdi_power_class",
    "lldp.ieee.802_3.mdi_power_type",
    "lldp.ieee.802_3.mdi_power_source",
    "lldp.ieee.802_3.mdi_power_priority",
    "lldp.ieee.802_3.mdi_pde_requested",
    "lldp.ieee.802_3.mdi_pse_allocated",
    "lldp.ieee.802_3.bt_ds_pd_requested_power_value_mode_a",
    "lldp.ieee.802_3.bt_ds_pd_requested_power_value_mode_b",
    "lldp.ieee.802_3.bt_ds_pse_allocated_power_value_alt_a",
    "lldp.ieee.802_3.bt_ds_pse_allocated_power_value_alt_b",
    "lldp.ieee.802_3.bt_power_status",
    "lldp.ieee.802_3.bt_system_setup",
    "lldp.ieee.802_3.bt_pse_maximum_available_power_value",
    "lldp.ieee.802_3.bt_autoclass",
    "lldp.ieee.802_3.bt_power_down",
    "lldp.media.power.type",
    "lldp.media.power.source",
    "lldp.media.power.prio",
    "lldp.media.power.value",
];

fn read_lldp_power(f: &Frame<'_>) -> Option<Reading> {
    let Ok(pkt) = link::decode(f) else {
        return None;
    };
    let Net::Lldp(bytes) = pkt.net else {
        return None;
    };
    Some(lldp::parse(bytes).map_err(|e| e.to_string()).map(|p| {
        let mut cols = vec![s(""); LLDP_POWER_COLUMNS.len()];
        if let Some(m) = p.mdi_power() {
            cols[0] = s(format!("0x{:02x}", m.support));
            cols[1] = s(m.pair);
            cols[2] = s(m.class);
            if let Some(x) = m.extension {
                cols[3] = s(x.power_type);
                cols[4] = s(x.source);
                cols[5] = s(x.priority);
                cols[6] = s(x.requested_dw);
                cols[7] = s(x.allocated_dw);
                if let Some(bt) = x.bt {
                    cols[8] = s(bt.pd_requested_a_dw);
                    cols[9] = s(bt.pd_requested_b_dw);
                    cols[10] = s(bt.pse_allocated_a_dw);
                    cols[11] = s(bt.pse_allocated_b_dw);
                    cols[12] = s(format!("0x{:04x}", bt.power_status));
                    cols[13] = s(format!("0x{:02x}", bt.system_setup));
                    cols[14] = s(bt.pse_max_available_dw);
                    cols[15] = s(format!("0x{:02x}", bt.autoclass));
                    cols[16] = s(format!("0x{:06x}", bt.power_down));
                }
            }
        }
        if let Some(e) = p.extended_power() {
            cols[17] = s(e.power_type);
            cols[18] = s(e.source);
            cols[19] = s(e.priority.0);
            cols[20] = s(e.power_dw);
        }
        cols
    }))
}

#[test]
fn lldp_power_tlvs_match_tshark() {
    let mut f = Vec::new();
    let n = compare(
        "lldppower",
        &LLDP_POWER_COLUMNS,
        read_lldp_power,
        as_is,
        &mut f,
    );
    assert!(f.is_empty(), "{}", f.join("\n"));
    assert_eq!(n, 21);
}

const TLS_COLUMNS: [&str; 9] = [
    "tcp.srcport",
    "tcp.dstport",
    "tls.record.content_type",
    "tls.record.version",
    "tls.handshake.type",
    "tls.handshake.ciphersuite",
    "tls.handshake.extensions_server_name",
    "tls.alert_message.level",
    "tls.alert_message.desc",
];

/// The TLS records of every frame of a capture, each in the frame its last byte came
/// in (as tshark places a record reassembled over segments): the TCP payloads of each
/// direction joined in sequence order (retransmitted bytes dropped), cut into records
/// by `tls::parse`. Under a NULL suite (the ServerHello of the other direction said
/// so) a handshake record after ChangeCipherSpec is read without its MAC, as tshark
/// reads it.
fn tls_readings(frames: &[crate::common::OwnedFrame]) -> BTreeMap<u64, Reading> {
    use parsers::tls;
    type Flow = (IpAddr, u16, IpAddr, u16);
    struct Dir {
        next: u32,
        buf: Vec<u8>,
    }
    let mut dirs: BTreeMap<Flow, Dir> = BTreeMap::new();
    let mut null_mac: BTreeMap<(Flow, Flow), usize> = BTreeMap::new();
    let mut out: BTreeMap<u64, Reading> = BTreeMap::new();
    for f in frames {
        let frame = Frame {
            number: f.number,
            ts_ns: f.ts_ns,
            linktype: Linktype(f.linktype),
            data: &f.data,
            orig_len: f.orig_len,
        };
        let Ok(p) = link::decode(&frame) else {
            continue;
        };
        let Net::Ip(ip) = p.net else { continue };
        let Transport::Tcp(seg) = ip.transport else {
            continue;
        };
        if ![443, 2443, 5061]
            .iter()
            .any(|p| [seg.src_port, seg.dst_port].contains(p))
        {
            continue;
        }
        let flow = (ip.src, seg.src_port, ip.dst, seg.dst_port);
        let back = (ip.dst, seg.dst_port, ip.src, seg.src_port);
        let conn = if flow < back {
            (flow, back)
        } else {
            (back, flow)
        };
        let syn = u32::from(seg.flags.has(link::TcpFlags::SYN));
        let d = dirs.entry(flow).or_insert(Dir {
            next: seg.seq.wrapping_add(syn),
            buf: Vec::new(),
        });
        let start = seg.seq.wrapping_add(syn);
        let skip = d.next.wrapping_sub(start) as usize;
        if (d.next.wrapping_sub(start) as i32) < 0 || skip >= seg.payload.len() {
            continue; // a retransmission (or a hole: none in these captures)
        }
        d.buf.extend_from_slice(&seg.payload[skip..]);
        d.next = start.wrapping_add(seg.payload.len() as u32);
        let mut cols: Vec<Vec<String>> = vec![Vec::new(); 7];
        let mut used = 0;
        let mut error = None;
        while used < d.buf.len() {
            match tls::parse(&d.buf[used..]) {
                Ok((r, rest)) => {
                    used = d.buf.len() - rest.len();
                    cols[0].push(r.content_type.0.to_string());
                    cols[1].push(format!("0x{:04x}", r.version.0));
                    let mac = null_mac.get(&conn).copied();
                    let body = match (&r.body, mac) {
                        (tls::TlsBody::Opaque(o), Some(mac))
                            if r.content_type == tls::TlsContentType::HANDSHAKE =>
                        {
                            o.len()
                                .checked_sub(mac)
                                .and_then(|n| tls::handshake_messages(&o[..n]))
                                .map_or(r.body.clone(), tls::TlsBody::Handshake)
                        }
                        _ => r.body.clone(),
                    };
                    if let tls::TlsBody::Handshake(ms) = &body {
                        for m in ms {
                            cols[2].push(m.kind().0.to_string());
                            match m {
                                tls::TlsHandshake::ClientHello(h) => {
                                    cols[3].extend(
                                        h.cipher_suites.iter().map(|s| format!("0x{:04x}", s.0)),
                                    );
                                    if let Some(n) = h.server_name() {
                                        cols[4].push(String::from_utf8_lossy(n).into_owned());
                                    }
                                }
                                tls::TlsHandshake::ServerHello(h) => {
                                    cols[3].push(format!("0x{:04x}", h.cipher_suite.0));
                                    match h.cipher_suite.null_mac_len() {
                                        Some(n) => null_mac.insert(conn, n),
                                        None => null_mac.remove(&conn),
                                    };
                                }
                                _ => {}
                            }
                        }
                    }
                    if let tls::TlsBody::Alert { level, description } = body {
                        cols[5].push(level.0.to_string());
                        cols[6].push(description.0.to_string());
                    }
                }
                Err(e) if matches!(e.kind, parsers::ErrorKind::NeedMore(_)) => break,
                Err(e) => {
                    error = Some(e.to_string());
                    used = d.buf.len();
                }
            }
        }
        d.buf.drain(..used);
        if let Some(e) = error {
            out.insert(f.number, Err(e));
        } else if !cols[0].is_empty() {
            let mut row = vec![s(seg.src_port), s(seg.dst_port)];
            row.extend(cols.iter().map(|c| Some(c.join("|"))));
            out.insert(f.number, Ok(row));
        }
    }
    out
}

/// TLS frames tshark reads and this test's stream reader does not, with the reason.
const TLS_NOT_READ: &[(&str, u64, &str)] = &[
    (
        "mercury/capture2-phones.pcap",
        13,
        "a retransmission of frame 12 (the server answered two SYNs with two ISNs): tshark dissects it again",
    ),
    (
        "mercury/capture2-phones.pcap",
        19,
        "a retransmission of frame 18, as above",
    ),
];

#[test]
fn tls_records_and_handshakes_match_tshark() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for cap in all_captures() {
        let theirs = tshark_rows(&cap, "tls");
        let (frames, _) = read_frames(&capture_path(&cap));
        let ours = tls_readings(&frames);
        for frame in ours.keys().filter(|f| !theirs.contains_key(f)) {
            failures.push(format!("{cap} frame {frame}: tls for bootscope only"));
        }
        for (frame, cols) in &theirs {
            if TLS_NOT_READ
                .iter()
                .any(|&(c, n, _)| c == cap && n == *frame)
            {
                continue;
            }
            let Some(reading) = ours.get(frame) else {
                failures.push(format!("{cap} frame {frame}: tls for tshark only"));
                continue;
            };
            let mine = match reading {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!("{cap} frame {frame}: tls rejected: {e}"));
                    continue;
                }
            };
            compared += 1;
            for (i, name) in TLS_COLUMNS.iter().enumerate() {
                let expected = cols.get(i).map_or("", String::as_str);
                let got = mine[i].as_deref().unwrap_or_default();
                if got != expected {
                    failures.push(format!(
                        "{cap} frame {frame} {name}: bootscope {got:?}, tshark {expected:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared > 200, "only {compared} TLS frames compared");
}
