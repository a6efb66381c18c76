//! Frames that reach the sensor in a tunnel (GRE, ERSPAN, VXLAN, CAPWAP):
//! - every frame of each bundled tunnel capture reads, tunnel by tunnel, as tshark
//!   reads it: the innermost MACs, VLAN tags, addresses and ports bootscope sees are
//!   tshark's for the same layer (`tests/fixtures/tshark/*.layers.tsv`, made by
//!   `gen.sh` there with TShark 4.0.17: `tshark -n -r CAPTURE -T fields
//!   -E separator=/t -E occurrence=a -E aggregator='|' -e frame.number
//!   -e frame.protocols -e eth.src -e eth.dst -e wlan.sa -e wlan.da -e vlan.id -e ip.src
//!   -e ip.dst -e ipv6.src -e ipv6.dst -e udp.srcport -e udp.dstport -e tcp.srcport
//!   -e tcp.dstport`);
//! - the boot messages inside them are found, with their tunnel;
//! - the bundled samples wrapped in each kind of tunnel get the verdicts they get
//!   natively (and, where tshark is installed, tshark reads the wrapped copies as it
//!   reads the samples).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bootscope::capture::{Frame, Linktype};
use bootscope::link::{self, Net, Packet, Transport, TunnelKind, MAX_TUNNELS};
use parsers::capwap::{self, CapwapBinding, CapwapPacket};
use parsers::gre::{ErspanHeader, ErspanII, ErspanIII, ErspanPacket, GrePacket, GreProtocol};
use parsers::ieee80211::{self, Dot11Data, FcOrder};
use parsers::vxlan::{self, VxlanPacket};
use serde_json::Value;

use crate::common::{capture_path, json, read_frames, scratch, write_pcap, OwnedFrame};
use crate::tshark_compare::dissect_json;

/// The bundled captures with a tunnel: those gen.sh wrote a layers fixture for.
const TUNNEL_CAPTURES: [&str; 9] = [
    "nDPI/capwap.pcap",
    "nDPI/capwap_data.pcapng",
    "suricata-verify/decode-erspan-typeII-01/input.pcap",
    "tcpdump/erspan-type-i-4.pcap",
    "tcpdump/erspan-type-iii-ft-0.pcap",
    "tcpdump/various_gre.pcap",
    "tcpdump/vxlan.pcap",
    "zeek/gre-erspan3-dot1q.pcap",
    "zeek/vxlan-triple-v2.pcap",
];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tshark")
}

/// One frame as the link layer sees it: the tunnels entered and the innermost frame's
/// link, network and transport addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct View {
    /// The outermost tunnel ("gre", "erspan", "vxlan", "capwap") and its addresses.
    tunnel: Option<(&'static str, String, String)>,
    depth: u8,
    macs: Option<(String, String)>,
    vlans: Vec<String>,
    ips: Option<(String, String)>,
    ports: Option<(String, String)>,
}

fn family(kind: TunnelKind) -> &'static str {
    match kind {
        TunnelKind::Gre => "gre",
        TunnelKind::ErspanI | TunnelKind::ErspanII | TunnelKind::ErspanIII => "erspan",
        TunnelKind::Vxlan => "vxlan",
        TunnelKind::Capwap => "capwap",
    }
}

fn ours(p: &Packet<'_>, frame: &Frame<'_>) -> View {
    let ends = link::tunnel_endpoints(frame);
    let mut v = View {
        tunnel: p
            .tunnel
            .zip(ends)
            .map(|(t, (src, dst))| (family(t.kind), src.to_string(), dst.to_string())),
        depth: p.tunnel.map_or(0, |t| t.depth),
        macs: p
            .src_mac
            .zip(p.dst_mac)
            .map(|(s, d)| (s.to_string(), d.to_string())),
        vlans: p.vlans.ids().map(|id| id.to_string()).collect(),
        ..View::default()
    };
    if let Net::Ip(ip) = p.net {
        v.ips = Some((ip.src.to_string(), ip.dst.to_string()));
        v.ports = match ip.transport {
            Transport::Udp {
                src_port, dst_port, ..
            } => Some((src_port.to_string(), dst_port.to_string())),
            Transport::Tcp(seg) => Some((seg.src_port.to_string(), seg.dst_port.to_string())),
            _ => None,
        };
    }
    v
}

/// tshark's reading of one frame, cut where bootscope stops: the protocol path is
/// split at each tunnel whose payload tshark reads as a frame (an Ethernet frame, an
/// IP packet, CDP, Cisco MetaData, an 802.11 data frame's LLC), at most
/// [`MAX_TUNNELS`] of them; the innermost part's first link header, tags, IP header
/// and the transport right after it are bootscope's to match.
fn theirs(cols: &[&str]) -> View {
    let col = |i: usize| -> Vec<&str> {
        cols.get(i)
            .filter(|c| !c.is_empty())
            .map(|c| c.split('|').collect())
            .unwrap_or_default()
    };
    let tokens: Vec<&str> = cols[1].split(':').collect();
    let entered = |i: usize| -> Option<(&'static str, usize)> {
        let (name, mut j) = match tokens[i] {
            "gre" if tokens.get(i + 1) == Some(&"erspan") => ("erspan", i + 2),
            "gre" => ("gre", i + 1),
            "vxlan" => ("vxlan", i + 1),
            "capwap.data" => ("capwap", i + 1),
            _ => return None,
        };
        let frame = match tokens.get(j) {
            Some(&("eth" | "ip" | "ipv6" | "cdp" | "cmd")) => true,
            Some(&"wlan") => tokens.get(j + 1) == Some(&"llc"),
            _ => false,
        };
        if tokens.get(j) == Some(&"cmd") {
            j += 1;
        }
        frame.then_some((name, j))
    };
    let tunnels: Vec<(usize, &'static str, usize)> = (0..tokens.len())
        .filter_map(|i| entered(i).map(|(name, start)| (i, name, start)))
        .take(usize::from(MAX_TUNNELS) + 1)
        .collect();
    let depth = tunnels.len().min(usize::from(MAX_TUNNELS));
    // Occurrences of a layer before token `i`: the index of its fields' value there.
    let nth = |name: &str, i: usize| tokens[..i].iter().filter(|&&t| t == name).count();
    let (start, end) = match depth {
        0 => (0, tokens.len()),
        d => (
            tunnels[d - 1].2,
            tunnels.get(d).map_or(tokens.len(), |t| t.0),
        ),
    };
    let mut v = View {
        depth: depth as u8,
        ..View::default()
    };
    if let Some(&(at, name, _)) = tunnels.first() {
        let ip = (0..at)
            .rev()
            .find(|&i| matches!(tokens[i], "ip" | "ipv6"))
            .unwrap();
        let (s, d) = if tokens[ip] == "ip" { (7, 8) } else { (9, 10) };
        let n = nth(tokens[ip], ip);
        v.tunnel = Some((name, col(s)[n].to_owned(), col(d)[n].to_owned()));
    }
    let seg = start..end;
    let first = |names: &[&str]| seg.clone().find(|&i| names.contains(&tokens[i]));
    let ip = first(&["ip", "ipv6"]);
    // The link header: the first of the part, before its IP header.
    if let Some(l) = first(&["eth", "wlan"]).filter(|&l| ip.is_none_or(|ip| l < ip)) {
        let (s, d) = if tokens[l] == "eth" { (2, 3) } else { (4, 5) };
        let n = nth(tokens[l], l);
        v.macs = Some((col(s)[n].to_owned(), col(d)[n].to_owned()));
    }
    let vlan_end = ip.unwrap_or(end);
    v.vlans = (start..vlan_end)
        .filter(|&i| tokens[i] == "vlan")
        .map(|i| col(6)[nth("vlan", i)].to_owned())
        .collect();
    if let Some(ip) = ip {
        let (s, d) = if tokens[ip] == "ip" { (7, 8) } else { (9, 10) };
        let n = nth(tokens[ip], ip);
        v.ips = Some((col(s)[n].to_owned(), col(d)[n].to_owned()));
        let transport = (ip + 1..end).find(|&i| !tokens[i].starts_with("ipv6."));
        if let Some(t) = transport.filter(|&t| matches!(tokens[t], "udp" | "tcp")) {
            let (s, d) = if tokens[t] == "udp" {
                (11, 12)
            } else {
                (13, 14)
            };
            let n = nth(tokens[t], t);
            v.ports = Some((col(s)[n].to_owned(), col(d)[n].to_owned()));
        }
    }
    v
}

fn frame_of(f: &OwnedFrame) -> Frame<'_> {
    Frame {
        number: f.number,
        ts_ns: f.ts_ns,
        linktype: Linktype(f.linktype),
        data: &f.data,
        orig_len: f.orig_len,
    }
}

#[test]
fn every_frame_of_the_tunnel_captures_reads_as_tshark_reads_it() {
    let mut fixtures: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            Some(name.strip_suffix(".layers.tsv")?.replace("__", "/"))
        })
        .collect();
    fixtures.sort();
    assert_eq!(fixtures, TUNNEL_CAPTURES);
    let mut failures = Vec::new();
    let (mut frames, mut tunnelled, mut deepest) = (0, 0, 0);
    for cap in TUNNEL_CAPTURES {
        let slug = cap.replace('/', "__");
        let text =
            std::fs::read_to_string(fixture_dir().join(format!("{slug}.layers.tsv"))).unwrap();
        let (read, _) = read_frames(&capture_path(cap));
        let by_number: BTreeMap<u64, &OwnedFrame> = read.iter().map(|f| (f.number, f)).collect();
        assert_eq!(text.lines().count(), read.len(), "{cap}");
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let number: u64 = cols[0].parse().unwrap();
            let want = theirs(&cols);
            let frame = frame_of(by_number[&number]);
            let got = match link::decode(&frame) {
                Ok(p) => ours(&p, &frame),
                Err(e) => {
                    failures.push(format!("{cap} frame {number}: {e}"));
                    continue;
                }
            };
            frames += 1;
            tunnelled += usize::from(got.depth > 0);
            deepest = deepest.max(got.depth);
            if got != want {
                failures.push(format!(
                    "{cap} frame {number} ({}):\n  bootscope {got:?}\n  tshark    {want:?}",
                    cols[1]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!((frames, tunnelled, deepest), (683, 176, MAX_TUNNELS));
}

/// `dissect --format json`'s messages of one protocol in a capture: frame, the
/// tunnel's kind and addresses (or none), and one decoded field.
fn messages(cap: &str, proto: &str, field: &str) -> Vec<(u64, Option<String>, String)> {
    dissect_json(&capture_path(cap))
        .into_iter()
        .filter(|m| m["proto"] == proto)
        .map(|m| {
            let tunnel = m.get("tunnel").map(|t| {
                let s = |k: &str| t[k].as_str().unwrap().to_owned();
                format!("{} {} → {} {}", s("kind"), s("src"), s("dst"), t["depth"])
            });
            let value = m[field].as_str().unwrap_or_default().to_owned();
            (m["frame"].as_u64().unwrap(), tunnel, value)
        })
        .collect()
}

#[test]
fn the_boot_messages_inside_tunnels_are_found_with_their_tunnel() {
    let t = |s: &str| Some(s.to_owned());
    let erspan = t("ERSPAN II 2.2.2.2 → 1.1.1.1 1");
    assert_eq!(
        messages(
            "suricata-verify/decode-erspan-typeII-01/input.pcap",
            "cdp",
            "device_id"
        ),
        [
            (1, erspan.clone(), "CSR3".to_owned()),
            (2, erspan, "CSR2".to_owned())
        ]
    );
    assert_eq!(
        messages("tcpdump/various_gre.pcap", "cdp", "device_id"),
        [
            (49, t("GRE 10.172.64.6 → 10.172.64.7 1"), "R1".to_owned()),
            (63, t("GRE 10.172.64.7 → 10.172.64.6 1"), "R2".to_owned()),
            (86, None, "SW1".to_owned()),
        ]
    );
    let capwap = messages("nDPI/capwap.pcap", "dhcp", "src_mac");
    assert_eq!(
        capwap.iter().map(|m| m.0).collect::<Vec<_>>(),
        [280, 329, 337, 347, 379]
    );
    for (_, tunnel, src) in &capwap {
        assert_eq!(
            tunnel.as_deref(),
            Some("CAPWAP 192.168.10.10 → 192.168.10.9 1")
        );
        assert_eq!(src, "1c:ab:a7:f2:13:9d");
    }
    // The access point's own CDP is native.
    let cdp = messages("nDPI/capwap.pcap", "cdp", "device_id");
    assert!(
        cdp.len() == 9
            && cdp
                .iter()
                .all(|m| m.1.is_none() && m.2 == "APb838.61f3.05ac")
    );
    // The report lists the tunnel with the frames of the boot protocols it brought: the
    // five DHCP messages and the client's ARP probe (frame 312, tshark: "Who has
    // 169.254.87.121? (ARP Probe)" inside CAPWAP data).
    let report: Value =
        serde_json::from_str(&json(&[capture_path("nDPI/capwap.pcap")], 1)).unwrap();
    assert_eq!(
        report["capture"]["tunnels"],
        serde_json::json!([{"kind": "CAPWAP", "src": "192.168.10.10", "dst": "192.168.10.9", "frames": 6}])
    );
}

// Samples in tunnels.

const SENSOR: [u8; 4] = [192, 0, 2, 9];
const SWITCH: [u8; 4] = [192, 0, 2, 1];

fn ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let sum = !h
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .fold(0u32, |a, w| {
            let s = a + w;
            (s & 0xffff) + (s >> 16)
        }) as u16;
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// An IPv4 packet in an Ethernet frame from the outer network's router to the sensor.
fn outer(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x09, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

fn gre(protocol: GreProtocol, sequence: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let g = GrePacket {
        protocol,
        checksum: None,
        key: None,
        sequence,
        payload,
    };
    outer(&ipv4(47, SWITCH, SENSOR, &g.to_vec().unwrap()))
}

/// How a sample's frames are wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrap {
    ErspanII,
    ErspanIII,
    GreEthernet,
    Vxlan,
    /// CAPWAP with the frame as it is (T clear: an 802.3 frame).
    Capwap8023,
    /// CAPWAP with an 802.11 data frame (Cisco's byte order), made from the frame
    /// without its VLAN tags.
    Capwap80211,
    /// Vxlan inside ERSPAN II.
    ErspanVxlan,
}

const WRAPS: [Wrap; 7] = [
    Wrap::ErspanII,
    Wrap::ErspanIII,
    Wrap::GreEthernet,
    Wrap::Vxlan,
    Wrap::Capwap8023,
    Wrap::Capwap80211,
    Wrap::ErspanVxlan,
];

impl Wrap {
    fn kind(self) -> &'static str {
        match self {
            Wrap::ErspanII | Wrap::ErspanVxlan => "ERSPAN II",
            Wrap::ErspanIII => "ERSPAN III",
            Wrap::GreEthernet => "GRE",
            Wrap::Vxlan => "VXLAN",
            Wrap::Capwap8023 | Wrap::Capwap80211 => "CAPWAP",
        }
    }

    fn apply(self, n: u64, frame: &[u8]) -> Vec<u8> {
        let seq = Some(u32::try_from(n).unwrap());
        match self {
            Wrap::ErspanII => {
                let e = ErspanPacket {
                    header: ErspanHeader::TypeII(ErspanII {
                        vlan: 100,
                        session: 1,
                        index: 7,
                        ..ErspanII::default()
                    }),
                    frame,
                };
                gre(GreProtocol::ERSPAN, seq, &e.to_vec().unwrap())
            }
            Wrap::ErspanIII => {
                let e = ErspanPacket {
                    header: ErspanHeader::TypeIII(ErspanIII {
                        vlan: 100,
                        session: 1,
                        timestamp: u32::try_from(n).unwrap(),
                        platform: Some(0x0c00_0000_0000_0003),
                        ..ErspanIII::default()
                    }),
                    frame,
                };
                gre(GreProtocol::ERSPAN_III, seq, &e.to_vec().unwrap())
            }
            Wrap::GreEthernet => gre(GreProtocol::TRANSPARENT_ETHERNET, None, frame),
            Wrap::Vxlan => {
                let v = VxlanPacket { vni: 5010, frame };
                let dgram = udp(49_152, vxlan::PORT, &v.to_vec().unwrap());
                outer(&ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &dgram))
            }
            Wrap::ErspanVxlan => Wrap::ErspanII.apply(n, &Wrap::Vxlan.apply(n, frame)),
            Wrap::Capwap8023 => capwap(false, frame),
            Wrap::Capwap80211 => capwap(true, &dot11(&untagged(frame))),
        }
    }
}

fn capwap(native: bool, payload: &[u8]) -> Vec<u8> {
    let c = CapwapPacket {
        radio_id: 1,
        binding: CapwapBinding::IEEE_802_11,
        native,
        fragment: false,
        last_fragment: false,
        has_wireless_info: false,
        has_radio_mac: false,
        keep_alive: false,
        fragment_id: 0,
        fragment_offset: 0,
        optional: &[],
        payload,
    };
    let dgram = udp(5_248, capwap::DATA_PORT, &c.to_vec().unwrap());
    outer(&ipv4(17, [10, 9, 0, 5], [10, 9, 0, 1], &dgram))
}

/// An Ethernet frame without its 802.1Q tags.
fn untagged(frame: &[u8]) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    let mut rest = &frame[12..];
    while rest.starts_with(&[0x81, 0x00]) {
        rest = &rest[4..];
    }
    f.extend_from_slice(rest);
    f
}

/// An untagged Ethernet frame as an 802.11 QoS data frame to the distribution
/// system, its ether type behind an RFC 1042 SNAP header (an 802.3 frame's LLC as
/// it is).
fn dot11(frame: &[u8]) -> Vec<u8> {
    let mac = |b: &[u8]| -> [u8; 6] { b.try_into().unwrap() };
    let kind = u16::from_be_bytes([frame[12], frame[13]]);
    let body = if kind <= 1500 {
        frame[14..14 + usize::from(kind)].to_vec()
    } else {
        [&[0xaa, 0xaa, 0x03, 0, 0, 0][..], &frame[12..]].concat()
    };
    Dot11Data {
        order: FcOrder::Swapped,
        subtype: 8,
        flags: ieee80211::flags::TO_DS,
        duration: 0,
        addr1: [0x02, 0, 0, 0, 0xa0, 0x01],
        addr2: mac(&frame[6..12]),
        addr3: mac(&frame[..6]),
        sequence: 0,
        addr4: None,
        qos: Some(6),
        ht_control: None,
        body: &body,
    }
    .to_vec()
    .unwrap()
}

fn sample_captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path().join("capture.pcap"))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// `frames` changed by `f` (frame number, data), written to a scratch pcap.
fn rewritten(frames: &[OwnedFrame], name: &str, f: impl Fn(u64, &[u8]) -> Vec<u8>) -> PathBuf {
    let out: Vec<OwnedFrame> = frames
        .iter()
        .map(|fr| {
            let data = f(fr.number, &fr.data);
            OwnedFrame {
                orig_len: u32::try_from(data.len()).unwrap(),
                data,
                ..fr.clone()
            }
        })
        .collect();
    let path = scratch(name);
    std::fs::write(&path, write_pcap(&out, 1, false, false)).unwrap();
    path
}

/// A JSON report without what differs by construction between a capture and its
/// tunnelled copy: the files, the bytes, the tunnels.
fn verdicts(path: &Path) -> (Value, Value) {
    let mut v: Value = serde_json::from_str(&json(&[path.to_path_buf()], 1)).unwrap();
    let c = v["capture"].as_object_mut().unwrap();
    c.remove("files");
    c.remove("bytes");
    let tunnels = c.remove("tunnels").unwrap_or(Value::Null);
    (v, tunnels)
}

#[test]
fn every_sample_in_every_tunnel_gets_its_native_verdicts() {
    let mut failures = Vec::new();
    for sample in sample_captures() {
        let name = sample
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let (frames, _) = read_frames(&sample);
        let (native, none) = verdicts(&sample);
        assert_eq!(none, Value::Null, "{name}");
        // An 802.11 frame has no VLAN tag: its native twin is the sample untagged.
        let untagged_copy = rewritten(&frames, &format!("tunnel-{name}-untagged.pcap"), |_, d| {
            untagged(d)
        });
        let (native_untagged, _) = verdicts(&untagged_copy);
        for wrap in WRAPS {
            let path = rewritten(&frames, &format!("tunnel-{name}-{wrap:?}.pcap"), |n, d| {
                wrap.apply(n, d)
            });
            let (got, tunnels) = verdicts(&path);
            let want = if wrap == Wrap::Capwap80211 {
                &native_untagged
            } else {
                &native
            };
            if &got != want {
                failures.push(format!("{name} in {wrap:?}: the verdicts differ"));
            }
            let kinds: Vec<&str> = tunnels
                .as_array()
                .map(|a| a.iter().filter_map(|t| t["kind"].as_str()).collect())
                .unwrap_or_default();
            if kinds != [wrap.kind()] {
                failures.push(format!("{name} in {wrap:?}: tunnels {tunnels}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// tshark's reading of a capture: per frame, the innermost protocol and addresses
/// and the boot protocols' key fields (the last occurrence of each field: the
/// innermost layer's).
fn tshark_reading(path: &Path) -> Option<Vec<String>> {
    let fields = [
        "frame.number",
        "_ws.col.Protocol",
        "ip.src",
        "ip.dst",
        "udp.srcport",
        "tcp.srcport",
        "cdp.deviceid",
        "lldp.tlv.system.name",
        "dhcp.option.dhcp",
        "tftp.opcode",
        "tftp.source_file",
        "skinny.messageId",
        "sip.Method",
        "sip.Status-Code",
        "http.request.uri",
    ];
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"])
        .arg(path)
        .args(["-T", "fields", "-E", "occurrence=l"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn tshark_reads_the_tunnelled_samples_as_it_reads_the_samples() {
    let sample = sample_captures()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("healthy-sccp"))
        .unwrap();
    let Some(native) = tshark_reading(&sample) else {
        eprintln!("tshark is not installed: the tunnelled samples are not checked against it");
        return;
    };
    let (frames, _) = read_frames(&sample);
    let untagged_copy = rewritten(&frames, "tshark-untagged.pcap", |_, d| untagged(d));
    let native_untagged = tshark_reading(&untagged_copy).unwrap();
    assert!(native.len() > 20);
    for wrap in WRAPS {
        let path = rewritten(&frames, &format!("tshark-{wrap:?}.pcap"), |n, d| {
            wrap.apply(n, d)
        });
        let want = if wrap == Wrap::Capwap80211 {
            &native_untagged
        } else {
            &native
        };
        let got = tshark_reading(&path).unwrap();
        assert_eq!(got.len(), want.len(), "{wrap:?}");
        for (got, want) in got.iter().zip(want) {
            // A frame with no IP header or UDP port of its own (CDP, ARP) shows the
            // tunnel's.
            let mut got: Vec<&str> = got.split('\t').collect();
            let want: Vec<&str> = want.split('\t').collect();
            for i in 2..=5 {
                if want[i].is_empty() {
                    got[i] = "";
                }
            }
            assert_eq!(got, want, "{wrap:?}");
        }
    }
}

#[test]
fn the_tunnel_fuzz_target_holds_on_real_headers_and_their_mutants() {
    // The fuzz target's checks (fuzz/src/lib.rs) over the parsers' fixtures, each read
    // as every view, and seeded byte flips and cuts of them.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers/testdata/tunnel");
    let mut headers: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(headers.len(), 8);
    // The CAPWAP fixture's 802.11 frame on its own.
    let capwap = headers
        .iter()
        .find(|h| h.starts_with(&[0x00, 0x20, 0x43]))
        .unwrap();
    headers.push(capwap[16..].to_vec());
    let mut rng = crate::common::Rng::new(0x07e1_1e15);
    let mut cases = 0;
    for h in &headers {
        for pick in 0..5u8 {
            for round in 0..40 {
                let mut input = vec![pick];
                input.extend_from_slice(h);
                if round > 0 {
                    for _ in 0..1 + rng.index(4) {
                        let at = 1 + rng.index(input.len() - 1);
                        input[at] ^= 1 << rng.index(8);
                    }
                    if round % 4 == 0 {
                        input.truncate(1 + rng.index(input.len()));
                    }
                }
                crate::fuzz_regressions::fuzz_targets::tunnel(&input);
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 9 * 5 * 40);
}
