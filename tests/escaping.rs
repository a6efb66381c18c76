//! Output safety: a capture built by hand whose every packet string is
//! hostile — ESC sequences (CSI, OSC 8 hyperlinks, OSC 0 window titles), raw 8-bit
//! CSI (0x9b, alone and as U+009B), carriage returns, bidi overrides and isolates —
//! in CDP device ids, platforms and loads, the DHCP host name and option 66, TFTP
//! file names and error texts, HTTP file names, the SCCP RegisterReq, Alarm and
//! RegisterReject, SIP User-Agent, Contact, reason phrase and Reason header. No
//! terminal control may reach the fleet table, a `--phone` report, the JSON (its
//! decoded strings included: `jq -r` prints them raw), `dissect` or the warnings;
//! and the hostile text must be there, escaped, so the check is not vacuous.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use bootscope::link::MacAddr;
use bootscope::model::encode;
use bootscope::model::scenario::SipTransport;
use bootscope::model::wire::{self, Endpoint, PcapWriter, TcpFields, L2};
use parsers::cdp::{CdpCapabilities, CdpPacket, CdpTlv};

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
    let raw = CdpPacket {
        version: 2,
        ttl: 180,
        checksum: 0,
        checksum_valid: true,
        tlvs: vec![
            CdpTlv::DeviceId(b"SEP001B54AA0003\x9b2J\x1b[31m\xff"),
            CdpTlv::Platform(b"Cisco IP Phone 7945\x9b\x1b]0;t\x07"),
            CdpTlv::Capabilities(CdpCapabilities(CdpCapabilities::VOIP_PHONE.0)),
        ],
    }
    .to_vec()
    .unwrap();
    b.frame(&wire::cdp_frame(RAW_PHONE, None, &raw));

    let bytes = b.pcap.finish().unwrap();
    let path = scratch("hostile-strings.pcap");
    std::fs::write(&path, bytes).unwrap();
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
