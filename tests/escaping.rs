//! Output safety: a capture built by hand whose every packet string is
//! hostile — ESC sequences (CSI, OSC 8 hyperlinks, OSC 0 window titles), raw 8-bit
//! CSI (0x9b, alone and as U+009B), carriage returns, bidi overrides and isolates —
//! in CDP device ids, platforms and loads, the DHCP host name and option 66, TFTP
//! file names and error texts, HTTP file names, the SCCP RegisterReq, Alarm and
//! RegisterReject, SIP User-Agent, Contact, reason phrase and Reason header. No
//! terminal control may reach the fleet table, a `--phone` report, the JSON (its
//! decoded strings included: `jq -r` prints them raw), `dissect` or the warnings;
//! and the hostile text must be there, escaped, so the check is not vacuous.
//! A second capture, one attacking phone (a formula, SGR, BEL, CR LF, JSON, HTML and
//! Prometheus breakouts, NUL, 0xff in its CDP device id, DHCP host name, EAP identity,
//! SIP User-Agent and Warning, TFTP file name), goes through every output: the table,
//! `--phone` and its display filter, JSON, HTML, `--events`, `dissect`, the inventory
//! (table, CSV, JSON), the live event lines, screen and Prometheus page.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use bootscope::link::MacAddr;
use bootscope::model::encode;
use bootscope::model::scenario::SipTransport;
use bootscope::model::wire::{self, Endpoint, PcapWriter, TcpFields, L2};
use parsers::cdp::{CdpCapabilities, CdpTlv};

use crate::common::scratch;
use crate::fuzz_regressions::fuzz_targets::{assert_json_printable, assert_printable};

const SWITCH: MacAddr = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0x01]);
const GATEWAY: MacAddr = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0xfe]);
const SCCP_PHONE: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);
const SIP_PHONE: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x02]);
const RAW_PHONE: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x03]);
const VOICE_VLAN: u16 = 100;
const TFTP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 5);
const CM: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 10);
const DHCP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 2);
const RELAY: Ipv4Addr = Ipv4Addr::new(10, 100, 0, 1);

/// A clear-screen CSI, an OSC 0 title and an OSC 8 hyperlink, a carriage return,
/// U+009B (C1 CSI), and the bidi override / isolate marks.
const HOSTILE: &str =
    "\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil.example/\x07\r\u{9b}31m\u{202e}\u{2066}";

/// For SCCP's fixed-size text fields: a CSI and a bidi override.
const SHORT: &str = "\x1b[2J\u{202e}";
/// For SIP header values, where a carriage return would end the line.
const NO_CR: &str = "\x1b[2J\x1b]0;owned\x07\u{9b}31m\u{202e}\u{2066}";
/// For a SIP reason phrase and an HTTP target, where the parsers refuse C0 controls
/// outright: the C1 CSI and the bidi marks still have to be escaped.
const NO_C0: &str = "\u{9b}31m\u{202e}\u{2067}";

struct Builder {
    pcap: PcapWriter<Vec<u8>>,
    ts_ns: i64,
}

impl Builder {
    fn frame(&mut self, bytes: &[u8]) {
        self.ts_ns += 50_000_000;
        self.pcap.record(self.ts_ns, bytes).unwrap();
    }
}

fn l2(src: MacAddr, dst: MacAddr) -> L2 {
    L2 {
        src,
        dst,
        vlan: Some(VOICE_VLAN),
    }
}

fn ep(ip: Ipv4Addr, port: u16) -> Endpoint {
    Endpoint { ip, port }
}

/// A TCP connection's handshake, one data segment each way, and the FIN, client first.
#[allow(clippy::too_many_arguments)]
fn tcp_exchange(
    b: &mut Builder,
    mac: MacAddr,
    client: Endpoint,
    server: Endpoint,
    request: &[u8],
    answer: &[u8],
) {
    let (c, s) = (1000u32, 5000u32);
    let up = l2(mac, GATEWAY);
    let down = l2(GATEWAY, mac);
    let t = |seq, ack_no, syn, fin| TcpFields {
        seq,
        ack_no,
        syn,
        ack: ack_no != 0,
        fin,
        psh: !syn && !fin,
        rst: false,
    };
    b.frame(&wire::tcp_frame(
        up,
        client,
        server,
        t(c, 0, true, false),
        b"",
    ));
    b.frame(&wire::tcp_frame(
        down,
        server,
        client,
        t(s, c + 1, true, false),
        b"",
    ));
    b.frame(&wire::tcp_frame(
        up,
        client,
        server,
        t(c + 1, s + 1, false, false),
        request,
    ));
    let c_end = c + 1 + request.len() as u32;
    b.frame(&wire::tcp_frame(
        down,
        server,
        client,
        t(s + 1, c_end, false, false),
        answer,
    ));
    let s_end = s + 1 + answer.len() as u32;
    b.frame(&wire::tcp_frame(
        up,
        client,
        server,
        t(c_end, s_end, false, true),
        b"",
    ));
}

/// The phone's DHCP exchange, its CDP with the switch's reply.
fn boot_start(b: &mut Builder, mac: MacAddr, ip: Ipv4Addr, xid: u32) {
    let name = format!("SEP{}", mac.to_sep_hex());
    b.frame(&wire::cdp_frame(
        mac,
        None,
        &encode::cdp_phone(
            &name,
            &format!("7970{HOSTILE}"),
            &format!("SCCP70{HOSTILE}"),
        )
        .unwrap(),
    ));
    b.frame(&wire::cdp_frame(
        SWITCH,
        None,
        &encode::cdp_switch(
            &format!("sw{HOSTILE}"),
            &format!("Gi1/0/1{HOSTILE}"),
            10,
            Some(100),
        )
        .unwrap(),
    ));
    let bc = wire::BROADCAST;
    let (zero, bcast) = (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST);
    let host = format!("{name}{HOSTILE}");
    let model = format!("7970{HOSTILE}");
    let option66 = encode_tftp_option(&format!("tftp{HOSTILE}.example"));
    use encode::{DhcpClientKind as C, DhcpServerKind as S};
    let client = |kind| encode::dhcp_client(mac, &host, &model, xid, kind, 0);
    let server = |kind| encode::dhcp_server(mac, xid, kind, ip, RELAY, DHCP_SERVER, &option66);
    b.frame(&wire::udp_frame(
        l2(mac, bc),
        ep(zero, 68),
        ep(bcast, 67),
        &client(C::Discover),
    ));
    b.frame(&wire::udp_frame(
        l2(GATEWAY, mac),
        ep(RELAY, 67),
        ep(ip, 68),
        &server(S::Offer),
    ));
    let request = C::Request {
        requested: ip,
        server: DHCP_SERVER,
    };
    b.frame(&wire::udp_frame(
        l2(mac, bc),
        ep(zero, 68),
        ep(bcast, 67),
        &client(request),
    ));
    b.frame(&wire::udp_frame(
        l2(GATEWAY, mac),
        ep(RELAY, 67),
        ep(ip, 68),
        &server(S::Ack),
    ));
}

fn encode_tftp_option(name: &str) -> bootscope::model::scenario::TftpOption {
    bootscope::model::scenario::TftpOption::Option66(name.to_owned())
}

pub(crate) fn hostile_capture() -> PathBuf {
    let mut b = Builder {
        pcap: PcapWriter::new(Vec::new()).unwrap(),
        ts_ns: 1_700_000_000_000_000_000,
    };

    // The SCCP phone: TFTP file names and errors, an HTTP file name, then
    // RegisterReq, Alarm and RegisterReject, all hostile.
    let ip1 = Ipv4Addr::new(10, 100, 0, 21);
    boot_start(&mut b, SCCP_PHONE, ip1, 0x1111);
    let name1 = format!("SEP{}", SCCP_PHONE.to_sep_hex());
    let up = l2(SCCP_PHONE, GATEWAY);
    let down = l2(GATEWAY, SCCP_PHONE);
    let file = format!("{name1}.cnf.xml{HOSTILE}");
    b.frame(&wire::udp_frame(
        up,
        ep(ip1, 50001),
        ep(TFTP_SERVER, 69),
        &encode::tftp_rrq(&file).unwrap(),
    ));
    let error = encode::tftp_error(1, &format!("File not found{HOSTILE}")).unwrap();
    b.frame(&wire::udp_frame(
        down,
        ep(TFTP_SERVER, 40001),
        ep(ip1, 50001),
        &error,
    ));
    tcp_exchange(
        &mut b,
        SCCP_PHONE,
        ep(ip1, 50002),
        ep(TFTP_SERVER, 6970),
        &encode::http_get(&format!("{name1}.tlv{NO_C0}"), &format!("h{NO_C0}")).unwrap(),
        &encode::http_response(None).unwrap(),
    );
    let load = format!("SCCP70.9-4{SHORT}");
    let mut register = encode::sccp_register(&name1, ip1, SCCP_PHONE, "7970", &load).unwrap();
    register.extend(encode::sccp_alarm(&name1, &load, &format!("TCP-timeout{SHORT}")).unwrap());
    let reject = encode::sccp_register_reject(&format!("DBConfig{SHORT}")).unwrap();
    assert!(
        !register.is_empty() && !reject.is_empty(),
        "SCCP fields too long"
    );
    tcp_exchange(
        &mut b,
        SCCP_PHONE,
        ep(ip1, 50003),
        ep(CM, 2000),
        &register,
        &reject,
    );

    // The SIP phone: hostile model and load (User-Agent, Contact), and a 403 whose
    // reason phrase, Server and Reason headers are hostile, with a raw 0x9b byte.
    let ip2 = Ipv4Addr::new(10, 100, 0, 22);
    boot_start(&mut b, SIP_PHONE, ip2, 0x2222);
    let name2 = format!("SEP{}", SIP_PHONE.to_sep_hex());
    let udp = SipTransport::Udp;
    let reg = encode::sip_register(
        &name2,
        SIP_PHONE,
        &format!("8841{HOSTILE}"),
        &format!("sip88xx{HOSTILE}"),
        ip2,
        5060,
        CM,
        udp,
        101,
        false,
    )
    .unwrap();
    let (up, down) = (l2(SIP_PHONE, GATEWAY), l2(GATEWAY, SIP_PHONE));
    b.frame(&wire::udp_frame(up, ep(ip2, 5060), ep(CM, 5060), &reg));
    let ok = encode::sip_response(403, &name2, SIP_PHONE, ip2, 5060, udp, 101).unwrap();
    let text = String::from_utf8(ok).unwrap();
    let mut bad = text
        .replacen("403 Forbidden", &format!("403 Forbidden{NO_C0}"), 1)
        .replacen(
            "Server: Cisco-CUCM14.0",
            &format!("Server: CUCM{NO_CR}\r\nReason: Q.850;cause=21;text=\"rejected{NO_CR}\""),
            1,
        )
        .into_bytes();
    // A raw 8-bit CSI (not UTF-8) in the Server header (a start line must be UTF-8).
    let at = bad.windows(6).position(|w| w == b"CUCM\x1b[").unwrap() + 4;
    bad.splice(at..at, *b"\x9b2J");
    b.frame(&wire::udp_frame(down, ep(CM, 5060), ep(ip2, 5060), &bad));

    // A SIP phone that registers under a hostile device name (Contact devicename),
    // refused with a 404: a finding with next checks.
    let mac4 = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x04]);
    let ip4 = Ipv4Addr::new(10, 100, 0, 24);
    let name4 = format!("SEP001B54AA0004{NO_CR}");
    let reg = encode::sip_register(
        &name4,
        mac4,
        "8841",
        "sip88xx.14",
        ip4,
        5060,
        CM,
        udp,
        7,
        false,
    )
    .unwrap();
    let (up, down) = (l2(mac4, GATEWAY), l2(GATEWAY, mac4));
    b.frame(&wire::udp_frame(up, ep(ip4, 5060), ep(CM, 5060), &reg));
    let nf = encode::sip_response(404, &name4, mac4, ip4, 5060, udp, 7).unwrap();
    b.frame(&wire::udp_frame(down, ep(CM, 5060), ep(ip4, 5060), &nf));

    // A third phone whose CDP device id and platform hold raw bytes that are not UTF-8.
    let raw = crate::common::cdp_pdu(vec![
        CdpTlv::DeviceId(b"SEP001B54AA0003\x9b2J\x1b[31m\xff"),
        CdpTlv::Platform(b"Cisco IP Phone 7945\x9b\x1b]0;t\x07"),
        CdpTlv::Capabilities(CdpCapabilities(CdpCapabilities::VOIP_PHONE.0)),
    ]);
    b.frame(&wire::cdp_frame(RAW_PHONE, None, &raw));

    let bytes = b.pcap.finish().unwrap();
    let path = scratch("hostile-strings.pcap");
    write_whole(&path, &bytes);
    path
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

#[test]
fn no_terminal_control_from_a_packet_reaches_any_output() {
    let path = hostile_capture();
    let cap = path.to_str().unwrap();
    let mut everything = String::new();
    let mut outputs: Vec<(String, String, String)> = Vec::new();
    let mut commands: Vec<Vec<String>> = vec![
        vec!["analyze".into(), cap.into()],
        vec![
            "analyze".into(),
            cap.into(),
            "--format".into(),
            "json".into(),
        ],
        vec!["dissect".into(), cap.into()],
        vec![
            "dissect".into(),
            cap.into(),
            "--format".into(),
            "json".into(),
        ],
    ];
    for phone in [
        "SEP001B54AA0001",
        "SEP001B54AA0002",
        "00:1b:54:aa:00:03",
        "00:1b:54:aa:00:04",
    ] {
        commands.push(vec![
            "analyze".into(),
            cap.into(),
            "--phone".into(),
            phone.into(),
        ]);
        commands.push(vec![
            "analyze".into(),
            cap.into(),
            "--phone".into(),
            phone.into(),
            "--format".into(),
            "json".into(),
        ]);
    }
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&args);
        let what = args.join(" ");
        assert!(matches!(code, Some(0 | 1)), "{what}: exit {code:?}: {err}");
        assert_printable(&out, &format!("{what}: stdout"));
        assert_printable(&err, &format!("{what}: stderr"));
        if args.contains(&"json") {
            // One document, or one document per line (dissect).
            let docs: Vec<serde_json::Value> = if args[0] == "dissect" {
                out.lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect()
            } else {
                vec![serde_json::from_str(&out).unwrap()]
            };
            for d in &docs {
                assert_json_printable(d, &what);
            }
        }
        everything.push_str(&out);
        everything.push_str(&err);
        outputs.push((what, out, err));
    }

    // The hostile text is there, escaped: the devices were analyzed, not dropped.
    let escaped_csi = "\\x1b[2J";
    let expect_in = |cmd: &str, needles: &[&str]| {
        let (_, out, _) = outputs.iter().find(|(w, _, _)| w.ends_with(cmd)).unwrap();
        for n in needles {
            assert!(out.contains(n), "`{cmd}` lacks {n:?}:\n{out}");
        }
    };
    let sccp = format!("{cap} --phone SEP001B54AA0001");
    let sip = format!("{cap} --phone SEP001B54AA0002");
    let raw = format!("{cap} --phone 00:1b:54:aa:00:03");
    expect_in(
        &sccp,
        &[
            "SEP001B54AA0001",
            escaped_csi,
            "DBConfig\\x1b[2J",
            "TCP-timeout\\x1b[2J",
        ],
    );
    expect_in(&sip, &["SEP001B54AA0002", "403", escaped_csi]);
    expect_in(&raw, &["7945\\x9b\\x1b]0;t\\x07"]);
    let named = format!("{cap} --phone 00:1b:54:aa:00:04");
    // Its hostile Contact name is its name, as the wire gives it: escaped.
    expect_in(
        &named,
        &["SEP001B54AA0004\\x1b[2J", " exists", "Next checks"],
    );
    let (_, json, _) = outputs
        .iter()
        .find(|(w, _, _)| w.contains("dissect") && w.ends_with("json"))
        .unwrap();
    assert!(
        json.contains("SEP001B54AA0004\\\\x1b[2J"),
        "the Contact name is escaped in dissect"
    );
    for needle in ["\\u{202e}", "\\u{2066}", "\\u{9b}", "\\r", "\\x07"] {
        assert!(everything.contains(needle), "{needle} never shown");
    }
}

#[test]
fn the_library_renderers_are_safe_too() {
    // The same capture through the library's renderers, at a narrow width where
    // comfy-table wraps cells (a cut must not split an escape into a raw control).
    let path = hostile_capture();
    let report = bootscope::analyze::run(&path, &Default::default()).unwrap();
    assert!(report.phones.len() >= 2, "{}", report.phones.len());
    for width in [None, Some(40), Some(80), Some(200)] {
        assert_printable(&bootscope::report::table::render(&report, width), "table");
    }
    for p in report.phones.iter().chain(&report.other_devices) {
        assert_printable(&bootscope::report::phone::render(p), "phone report");
    }
    assert_json_printable(&serde_json::to_value(&report).unwrap(), "report");
}

/// What an attacker puts in every string of one phone: a spreadsheet formula first (a
/// cell that starts with it), an SGR colour, BEL, CR LF, a JSON breakout, an HTML
/// breakout, a Prometheus label breakout, NUL, and (added byte-wise by [`with_ff`]) a
/// lone 0xff.
const ATTACK: &str =
    "=cmd|' /C calc'!A0\x1b[31m\x07\r\n\"},{\"x\":1</script><script>\\\" label=\\\"x\0~";
/// The same for a SIP header (a CR LF would end it; the parser refuses a header line
/// with a NUL or a byte that is not UTF-8, so one never reaches an output) and a TFTP file name (a NUL
/// ends it).
const ATTACK_SIP: &str =
    "=cmd|' /C calc'!A0\x1b[31m\x07\"},{\"x\":1</script><script>\\\" label=\\\"x";
const ATTACK_TFTP: &str =
    "=cmd|' /C calc'!A0\x1b[31m\x07\r\n\"},{\"x\":1</script><script>\\\" label=\\\"x~";
const ATTACKER: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x05]);

/// The `~` that ends an attack string becomes a lone 0xff byte (not UTF-8).
fn with_ff(mut bytes: Vec<u8>) -> Vec<u8> {
    let marks: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"\"x\0~" || (w[1..] == *b"\"x~"))
        .map(|(i, _)| i + 3)
        .collect();
    assert!(!marks.is_empty(), "no attack string in the payload");
    for i in marks {
        bytes[i] = 0xff;
    }
    bytes
}

/// One phone whose CDP device id, DHCP host name (option 12), EAP identity, SIP
/// User-Agent, From display name and Warning, and TFTP file name carry [`ATTACK`].
/// Written to `name` (each test its own file: they run at once).
pub(crate) fn attacker_capture(file_name: &str) -> PathBuf {
    let mut b = Builder {
        pcap: PcapWriter::new(Vec::new()).unwrap(),
        ts_ns: 1_700_000_000_000_000_000,
    };
    let mac = ATTACKER;
    let ip = Ipv4Addr::new(10, 100, 0, 25);
    let mut device_id = b"SEP001B54AA0005".to_vec();
    device_id.extend(with_ff(ATTACK.as_bytes().to_vec()));
    // The switch's name starts with the formula: the inventory's `switch` cell.
    let switch_id = with_ff(ATTACK.as_bytes().to_vec());
    let cdp = crate::common::cdp_pdu(vec![
        CdpTlv::DeviceId(&device_id),
        CdpTlv::Platform(b"Cisco IP Phone 8841"),
        CdpTlv::Capabilities(CdpCapabilities(CdpCapabilities::VOIP_PHONE.0)),
    ]);
    b.frame(&wire::cdp_frame(mac, None, &cdp));
    let cdp = crate::common::cdp_pdu(vec![
        CdpTlv::DeviceId(&switch_id),
        CdpTlv::PortId(b"Gi1/0/5"),
        CdpTlv::Capabilities(CdpCapabilities(CdpCapabilities::SWITCH.0)),
    ]);
    b.frame(&wire::cdp_frame(SWITCH, None, &cdp));
    // 802.1X: the identity.
    let identity = with_ff(
        encode::eapol(
            encode::Eapol::ResponseIdentity(&format!("CP-8841-SEP001B54AA0005{ATTACK}")),
            1,
        )
        .unwrap(),
    );
    b.frame(&wire::ether_frame(
        L2 {
            src: mac,
            dst: MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x03]),
            vlan: None,
        },
        0x888e,
        &identity,
    ));
    // DHCP: the host name.
    let bc = wire::BROADCAST;
    let (zero, bcast) = (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST);
    let host = ATTACK.to_owned();
    use encode::{DhcpClientKind as C, DhcpServerKind as S};
    let option66 = encode_tftp_option("tftp.example");
    let client = |kind| with_ff(encode::dhcp_client(mac, &host, "8841", 0x5555, kind, 0));
    let server = |kind| encode::dhcp_server(mac, 0x5555, kind, ip, RELAY, DHCP_SERVER, &option66);
    let request = C::Request {
        requested: ip,
        server: DHCP_SERVER,
    };
    for (up, payload) in [
        (true, client(C::Discover)),
        (false, server(S::Offer)),
        (true, client(request)),
        (false, server(S::Ack)),
    ] {
        let frame = if up {
            wire::udp_frame(l2(mac, bc), ep(zero, 68), ep(bcast, 67), &payload)
        } else {
            wire::udp_frame(l2(GATEWAY, mac), ep(RELAY, 67), ep(ip, 68), &payload)
        };
        b.frame(&frame);
    }
    // TFTP: the file name, and the server's "File not found".
    let (up, down) = (l2(mac, GATEWAY), l2(GATEWAY, mac));
    let rrq = with_ff(encode::tftp_rrq(&format!("SEP001B54AA0005.cnf.xml{ATTACK_TFTP}")).unwrap());
    b.frame(&wire::udp_frame(
        up,
        ep(ip, 50001),
        ep(TFTP_SERVER, 69),
        &rrq,
    ));
    let error = encode::tftp_error(1, "File not found").unwrap();
    b.frame(&wire::udp_frame(
        down,
        ep(TFTP_SERVER, 40001),
        ep(ip, 50001),
        &error,
    ));
    // SIP: a REGISTER whose User-Agent and From display name attack, refused with a 403
    // whose Warning does.
    let name = "SEP001B54AA0005";
    let udp = SipTransport::Udp;
    let reg = encode::sip_register(
        name,
        mac,
        "8841",
        &format!("sip88xx{ATTACK_SIP}"),
        ip,
        5060,
        CM,
        udp,
        9,
        false,
    )
    .unwrap();
    let reg = String::from_utf8(reg).unwrap();
    let reg = reg.replacen("From: ", &format!("From: \"{ATTACK_SIP}\" "), 1);
    b.frame(&wire::udp_frame(
        up,
        ep(ip, 5060),
        ep(CM, 5060),
        reg.as_bytes(),
    ));
    let refused = encode::sip_response(403, name, mac, ip, 5060, udp, 9).unwrap();
    let refused = String::from_utf8(refused).unwrap().replacen(
        "\r\n",
        &format!("\r\nWarning: 399 cucm \"{ATTACK_SIP}\"\r\n"),
        1,
    );
    b.frame(&wire::udp_frame(
        down,
        ep(CM, 5060),
        ep(ip, 5060),
        refused.as_bytes(),
    ));
    let path = scratch(file_name);
    write_whole(&path, &b.pcap.finish().unwrap());
    path
}

/// Write a capture under a temporary name and rename it: tests running at once that
/// write the same capture never read it half written.
fn write_whole(path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension(format!("{:?}.tmp", std::thread::current().id()));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn run_raw(args: &[&str]) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), out.stdout, out.stderr)
}

#[test]
fn one_attacking_phone_through_every_output() {
    let cap = attacker_capture("attacker-cli.pcap");
    let c = cap.to_str().unwrap();
    let dir = scratch("attacker-out");
    std::fs::create_dir_all(&dir).unwrap();
    let f = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    let (html, events, export) = (f("r.html"), f("events.ndjson"), f("phone.pcap"));
    let mac = "00:1b:54:aa:00:05";
    let text_runs: Vec<Vec<&str>> = vec![
        vec!["analyze", c, "--html", &html, "--events", &events],
        vec!["analyze", c, "--phone", mac, "-w", &export],
        vec!["dissect", c],
        vec!["inventory", c],
    ];
    let json_runs: Vec<Vec<&str>> = vec![
        vec!["analyze", c, "--format", "json"],
        vec!["analyze", c, "--phone", mac, "--format", "json"],
        vec!["dissect", c, "--format", "json"],
        vec!["inventory", c, "--format", "json"],
    ];
    let mut seen = String::new();
    for args in text_runs.iter().chain(&json_runs) {
        let what = args.join(" ");
        let (code, out, err) = run_raw(args);
        assert!(matches!(code, Some(0 | 1)), "{what}: exit {code:?}");
        let out = String::from_utf8(out).unwrap_or_else(|_| panic!("{what}: not UTF-8"));
        let err = String::from_utf8(err).unwrap_or_else(|_| panic!("{what}: not UTF-8"));
        assert_printable(&out, &what);
        assert_printable(&err, &what);
        if args.contains(&"json") {
            let docs: Vec<serde_json::Value> = out
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .or_else(|_| serde_json::from_str(&out).map(|v| vec![v]))
                .unwrap_or_else(|e| panic!("{what}: invalid JSON ({e})"));
            for d in &docs {
                assert_json_printable(d, &what);
                // The JSON breakout stays inside its string: no key `x` anywhere.
                assert!(!has_key(d, "x"), "{what}: a key x was injected");
            }
        }
        seen.push_str(&out);
    }
    // Every string is there, escaped: the phone was analyzed, not dropped.
    for needle in [
        "SEP001B54AA0005=cmd|",
        "CP-8841-SEP001B54AA0005=cmd|",
        "host \"=cmd|",
        "sip88xx=cmd|",
        "Warning: 399 cucm \"=cmd|",
        "cnf.xml=cmd|",
        "\\x1b[31m\\x07",
        "calc'!A0",
        "</script><script>",
        "\\x00",
        "\\xff",
    ] {
        assert!(seen.contains(needle), "{needle} never shown:\n{seen}");
    }
    // The phone report names its capture filter; it is for Wireshark, not a shell, and
    // holds only the phone's addresses and frame numbers.
    let (_, phone, _) = run_raw(&["analyze", c, "--phone", mac, "-w", &export]);
    let phone = String::from_utf8(phone).unwrap();
    let filter_line = phone
        .lines()
        .find(|l| l.contains("frame.number") || l.contains("eth.addr"))
        .unwrap_or_else(|| panic!("no filter in:\n{phone}"));
    assert!(!filter_line.contains("calc"), "{filter_line}");

    // CSV: a cell never starts a formula, and stays one cell.
    let (_, csv, _) = run_raw(&["inventory", c, "--format", "csv"]);
    let csv = String::from_utf8(csv).unwrap();
    assert_printable(&csv.replace("\r\n", "\n"), "inventory csv");
    let rows = parse_csv(&csv);
    assert!(rows.len() >= 2, "{csv}");
    for row in &rows {
        assert_eq!(
            row.len(),
            rows[0].len(),
            "a cell broke out of its row: {row:?}"
        );
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
        }
    }
    assert!(
        csv.contains("'=cmd|"),
        "the formula cell is defused, not dropped: {csv}"
    );

    // HTML: the attack is text, never markup.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("</script><script>"), "HTML injection");
    assert!(!page.contains("<script>\\"), "HTML injection");
    assert!(
        page.contains("calc'!A0") || page.contains("calc&#39;!A0"),
        "the attack is not shown"
    );
    assert_printable(&page, "html");

    // --events: each line one valid, printable JSON object.
    let lines = std::fs::read_to_string(&events).unwrap();
    assert!(lines.lines().count() > 0);
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("an events line is JSON");
        assert_json_printable(&v, "events");
        assert!(!has_key(&v, "x"), "a key x was injected in an event");
    }
    assert!(
        lines.contains("calc'!A0"),
        "the events do not name the phone's strings"
    );
}

fn has_key(v: &serde_json::Value, key: &str) -> bool {
    match v {
        serde_json::Value::Object(o) => o.contains_key(key) || o.values().any(|x| has_key(x, key)),
        serde_json::Value::Array(a) => a.iter().any(|x| has_key(x, key)),
        _ => false,
    }
}

/// RFC 4180 fields, rows ending in CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[test]
fn one_attacking_phone_through_the_live_renderers_and_metrics() {
    use bootscope::engine::EngineLimits;
    use bootscope::live::{metrics, render, watch::Watcher};
    use bootscope::pipeline::Pipeline;
    use bootscope::reassembly::StreamLimits;
    use std::ops::ControlFlow;

    let cap = attacker_capture("attacker-live.pcap");
    let rules = bootscope::analyze::load_rules(None).unwrap();
    let mut p = Pipeline::new(
        "t",
        &rules,
        EngineLimits::default(),
        StreamLimits::default(),
    );
    let mut w = Watcher::keeping_timelines();
    let mut lines = Vec::new();
    let mut last = 0;
    bootscope::capture::open(&cap)
        .unwrap()
        .for_each_frame(|f| {
            p.frame(f);
            last = f.ts_ns;
            for e in w.poll(p.engine(), f.ts_ns) {
                lines.push((render::text_line(e), render::json_line(e)));
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    for e in w.poll(p.engine(), last + 600_000_000_000) {
        lines.push((render::text_line(e), render::json_line(e)));
    }
    assert!(!lines.is_empty());
    for (text, json) in &lines {
        assert_printable(text, "live line");
        assert!(!text.contains('\n'), "{text:?}");
        let v: serde_json::Value = serde_json::from_str(json).expect("live JSON line");
        assert_json_printable(&v, "live json line");
        assert!(!has_key(&v, "x"), "{json}");
    }
    assert!(
        lines.iter().any(|(t, _)| t.contains("calc'!A0")),
        "the live lines never name the phone's strings"
    );
    let phones = w.phones();
    let recent = lines.iter().map(|(t, _)| t.clone()).collect();
    let screen = render::screen("header", &phones, &recent, Some(80));
    // The screen's own cursor-home and clear, then nothing a packet put there.
    let body = screen.strip_prefix("\x1b[H\x1b[2J").unwrap();
    assert_printable(body, "live screen");

    // Prometheus: every sample line is `name{label="value",...} number`, the labels
    // only the page's own, whatever the phone's strings (and a hostile sensor name).
    let mut m = metrics::Metrics::new("sensor\" label=\"x\n");
    let page = m.update(&phones, metrics::Counters::default());
    assert_printable(&page.replace('\n', " "), "metrics");
    let mut labelled = 0;
    for line in page
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let names = prometheus_labels(line).unwrap_or_else(|| panic!("bad sample: {line:?}"));
        assert!(!names.iter().any(|n| n == "label" || n == "x"), "{line}");
        labelled += usize::from(names.len() > 1);
    }
    assert!(labelled > 0, "{page}");
}

/// The label names of one exposition-format sample line, or `None` when it does not
/// parse (an unescaped quote or a line break broke it).
fn prometheus_labels(line: &str) -> Option<Vec<String>> {
    let (head, value) = line.rsplit_once(' ')?;
    value.parse::<f64>().ok()?;
    let Some(open) = head.find('{') else {
        return Some(Vec::new());
    };
    let body = head[open + 1..].strip_suffix('}')?;
    let mut names = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let eq = rest.find("=\"")?;
        let name = &rest[..eq];
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        names.push(name.to_owned());
        let mut chars = rest[eq + 2..].char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => {
                    chars.next()?;
                }
                (i, '"') => break eq + 2 + i + 1,
                _ => {}
            }
        };
        rest = rest[end..].strip_prefix(',').unwrap_or(&rest[end..]);
    }
    Some(names)
}
