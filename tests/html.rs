//! `analyze --html`: the page's structure for a healthy and a failing sample (lanes,
//! arrows, retransmission groups, the stall marker, findings), the fleet summary,
//! escaping of hostile wire strings, a 10 000-phone fleet in bounded size, and the
//! page rendered by headless Chromium without script errors.
//!
//! Expected values come from the samples' scenario.json (servers, faults) and from
//! the protocols (a DHCP client backs off 4, 8, 16, 32, 64 s), not from our output.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bootscope::analyze::{self, Options};
use bootscope::report::{self, Report};
use serde_json::Value;

use crate::common::{analyze, sample_path, scratch};

fn render(r: &Report) -> String {
    let mut out = Vec::new();
    report::html::write(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

const DATA_OPEN: &str = "<script type=\"application/json\" id=\"bootscope-data\">";

/// The JSON the page's script draws from.
fn page_data(html: &str) -> Value {
    let start = html.find(DATA_OPEN).expect("data script") + DATA_OPEN.len();
    let len = html[start..].find("</script>").expect("end of data");
    serde_json::from_str(&html[start..start + len]).expect("page data is JSON")
}

fn data_page(html: &str) -> u64 {
    page_data(html)["page"].as_u64().unwrap()
}

/// The phone named `name` in the page data, with its index.
fn phone<'a>(data: &'a Value, name: &str) -> (usize, &'a Value) {
    data["phones"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find(|(_, p)| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// Lanes as `role address` strings.
fn lanes(p: &Value) -> Vec<String> {
    p["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| match l["addr"].as_str() {
            Some(a) => format!("{} {a}", l["role"].as_str().unwrap()),
            None => l["role"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// The rows as `(from lane role, to lane role, text)`.
fn arrows(p: &Value) -> Vec<(String, String, String)> {
    let lanes = lanes(p);
    p["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let lane = |i: &Value| lanes[i.as_u64().unwrap() as usize].clone();
            (lane(&r[2]), lane(&r[3]), r[6].as_str().unwrap().to_owned())
        })
        .collect()
}

fn arrow_of<'a>(
    arrows: &'a [(String, String, String)],
    text: &str,
) -> &'a (String, String, String) {
    arrows
        .iter()
        .find(|a| a.2.starts_with(text))
        .unwrap_or_else(|| panic!("no arrow {text}: {arrows:#?}"))
}

#[test]
fn a_dns_server_has_its_lane_and_an_icmp_error_comes_from_the_server_asked() {
    let r = analyze(&sample_path("cm-by-name-dns"));
    let data = page_data(&render(&r));
    let (_, p) = phone(&data, "SEP001B54AA2501");
    assert_eq!(
        lanes(p),
        [
            "phone 10.100.0.20",
            "switch",
            "dhcp_server 10.1.1.2",
            "dns_server 10.1.1.53",
            "file_server 10.1.1.5",
            "call_manager 10.1.1.10"
        ]
    );
    let a = arrows(p);
    let q = arrow_of(&a, "DNS query A cucm-sub1.voice.example.com");
    assert_eq!(
        (q.0.as_str(), q.1.as_str()),
        ("phone 10.100.0.20", "dns_server 10.1.1.53")
    );
    let r = analyze(&sample_path("tftp-port-unreachable"));
    let data = page_data(&render(&r));
    let (_, p) = phone(&data, "SEP001B54AA2101");
    let a = arrows(p);
    let icmp = arrow_of(&a, "ICMP port unreachable from 10.1.1.5");
    assert_eq!(
        (icmp.0.as_str(), icmp.1.as_str()),
        ("file_server 10.1.1.5", "phone 10.100.0.20")
    );
    // No DNS, no DNS lane.
    assert!(!lanes(p).iter().any(|l| l.starts_with("dns_server")));
}

#[test]
fn a_healthy_sample_has_its_lanes_and_arrows_and_no_stall() {
    // samples/healthy-sccp/scenario.json: DHCP server 10.1.1.2, option 150 =
    // [10.1.1.5, 10.1.1.6] (the phone asks the first), call managers 10.1.1.10 (up)
    // and 10.1.1.11.
    let r = analyze(&sample_path("healthy-sccp"));
    let html = render(&r);
    let data = page_data(&html);
    assert_eq!(data["inline"], true);
    let (i, p) = phone(&data, "SEP001B54AA0001");
    assert_eq!(
        lanes(p),
        [
            "phone 10.100.0.20",
            "switch",
            "dhcp_server 10.1.1.2",
            "file_server 10.1.1.5",
            "call_manager 10.1.1.10"
        ]
    );
    let a = arrows(p);
    let phone_lane = "phone 10.100.0.20";
    for (text, from, to) in [
        ("CDP from the phone", phone_lane, "switch"),
        ("switch CDP: voice VLAN 100", "switch", phone_lane),
        ("DHCP DISCOVER", phone_lane, "dhcp_server 10.1.1.2"),
        ("DHCP OFFER", "dhcp_server 10.1.1.2", phone_lane),
        ("DHCP ACK", "dhcp_server 10.1.1.2", phone_lane),
        (
            "TFTP read request CTLSEP001B54AA0001.tlv",
            phone_lane,
            "file_server 10.1.1.5",
        ),
        (
            "CTLSEP001B54AA0001.tlv: file not found",
            "file_server 10.1.1.5",
            phone_lane,
        ),
        (
            "received SEP001B54AA0001.cnf.xml",
            "file_server 10.1.1.5",
            phone_lane,
        ),
        (
            "TCP SYN to 10.1.1.10:2000",
            phone_lane,
            "call_manager 10.1.1.10",
        ),
        ("SCCP RegisterReq", phone_lane, "call_manager 10.1.1.10"),
        ("SCCP RegisterAck", "call_manager 10.1.1.10", phone_lane),
    ] {
        let got = arrow_of(&a, text);
        assert_eq!((got.0.as_str(), got.1.as_str()), (from, to), "{text}");
    }
    // One arrow per timeline entry: a clean boot retransmits nothing.
    assert_eq!(a.len(), r.phones[0].timeline.len());
    assert_eq!(p["groups"], serde_json::json!([]));
    assert!(p["stall"].is_null(), "{}", p["stall"]);
    assert_eq!(p["findings"], serde_json::json!([]));
    // The table row links to the phone; the summary counts it.
    assert!(html.contains(&format!("<a href=\"#p{i}\">SEP001B54AA0001</a>")));
    assert!(html.contains("data-status=\"registered\""));
    assert!(html.contains("<div class=\"tile s-registered\"><b>1</b>registered</div>"));
    assert!(html.contains("<div class=\"tile s-stalled\"><b>0</b>stalled</div>"));
    assert!(html.contains("No phone stalled."));
    assert!(html.contains("id=\"duration-chart\""));
    assert!(html.contains("1 phone(s): median"));
}

#[test]
fn a_failing_sample_marks_each_stall_with_the_predicted_message() {
    // samples/mixed-site/scenario.json: six phones; bb:00:03 gets no OFFER
    // (dhcp-silent), bb:00:05 is not provisioned; the other four register.
    let r = analyze(&sample_path("mixed-site"));
    let html = render(&r);
    let data = page_data(&html);

    // No OFFER: the DISCOVERs are one group, the stall follows it, and the model's
    // message (an OFFER from the DHCP server) is drawn from the DHCP lane to the phone.
    let (i3, p3) = phone(&data, "SEP001B54BB0003");
    let a = arrows(p3);
    let discover_rows: Vec<usize> = a
        .iter()
        .enumerate()
        .filter(|(_, x)| x.2.starts_with("DHCP DISCOVER"))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(discover_rows.len(), 1, "grouped into one row: {a:#?}");
    let row = discover_rows[0];
    let groups = p3["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0][0], row);
    // The phone starts at 9.1 s and its first DISCOVER comes about a second later;
    // backing off 4, 8, 16, 32 and 64 s it sends five more before the capture ends
    // at 139.3 s (the next would be at ~262 s).
    let repeats = groups[0][1].as_array().unwrap();
    assert_eq!(repeats.len(), 5, "{repeats:?}");
    let times: Vec<f64> = repeats.iter().map(|m| m[0].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[1] > w[0]));
    let stall = &p3["stall"];
    assert_eq!(stall["kind"], "stalled");
    assert_eq!(stall["after_row"], row);
    let lanes3 = lanes(p3);
    let lane = |k: &Value| lanes3[k.as_u64().unwrap() as usize].clone();
    assert!(lane(&stall["from"]).starts_with("dhcp_server"), "{stall}");
    assert!(lane(&stall["to"]).starts_with("phone"), "{stall}");
    let label = stall["label"].as_str().unwrap();
    assert!(label.contains("DHCP OFFER"), "{label}");
    assert!(label.contains("within 1.1 s"), "{label}");
    assert_eq!(stall["waited"], "nothing came in 129.0 s");
    let f = p3["findings"].as_array().unwrap();
    assert_eq!(f[0][0], "error");
    assert_eq!(f[0][1], "dhcp-no-offer");
    // Every evidence frame is drawn: on a row, or in its group.
    let mut drawn: Vec<u64> = p3["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_u64().unwrap())
        .collect();
    drawn.extend(repeats.iter().map(|m| m[1].as_u64().unwrap()));
    for ev in f[0][4].as_array().unwrap() {
        assert!(drawn.contains(&ev.as_u64().unwrap()), "{ev} not drawn");
    }
    // The DISCOVER row is flagged as evidence of an error.
    let flags = p3["rows"][row][7].as_u64().unwrap();
    assert_ne!(flags & data["flags"][1].as_u64().unwrap(), 0);

    // Not provisioned: after XMLDefault.cnf.xml is not found the model expects nothing
    // more, so the stall has no predicted arrow; it follows that last answer.
    let (_, p5) = phone(&data, "SEP001B54BB0005");
    let a5 = arrows(p5);
    let stall = &p5["stall"];
    assert_eq!(stall["kind"], "stalled");
    assert!(stall["from"].is_null() && stall["to"].is_null(), "{stall}");
    let last = stall["after_row"].as_u64().unwrap() as usize;
    assert_eq!(a5[last].2, "XMLDefault.cnf.xml: file not found");
    assert!(a5[last].0.starts_with("file_server 10.1.1.5"));
    let f5 = p5["findings"].as_array().unwrap();
    assert_eq!(f5[0][1], "config-not-found");
    assert!(!p5["checks"].as_array().unwrap().is_empty());
    assert!(p5["expected"][0]
        .as_str()
        .unwrap()
        .contains("device configuration"));

    // The four that register have no stall; the SIP ones end on a 200 OK from the
    // first call manager.
    for name in ["SEP001B54BB0002", "SEP001B54BB0004"] {
        let (_, p) = phone(&data, name);
        assert!(p["stall"].is_null());
        let ok = arrow_of(&arrows(p), "SIP 200 OK to REGISTER").clone();
        assert_eq!(ok.0, "call_manager 10.1.1.10", "{name}");
    }

    // The summary: counts, the stage bars, the reading with links to the phones.
    assert!(html.contains("<div class=\"tile s-registered\"><b>4</b>registered</div>"));
    assert!(html.contains("<div class=\"tile s-stalled\"><b>2</b>stalled</div>"));
    assert!(html.contains("<title>1 phone(s) stalled at dhcp</title>"));
    assert!(html.contains("<title>1 phone(s) stalled at config</title>"));
    assert!(html.contains("<title>0 phone(s) stalled at registration</title>"));
    assert_eq!(
        html.matches("<span class=\"badge local\">local</span>")
            .count(),
        2
    );
    assert!(html.contains(&format!("<a href=\"#p{i3}\">SEP001B54BB0003</a>")));
    assert!(html.contains("<code>dhcp-no-offer</code>"));
    // The table: six rows, filter values from the fleet.
    assert_eq!(html.matches("<tr id=\"r").count(), 6);
    assert!(html.contains("<option>CP-7942</option>"));
    assert!(html.contains("data-stage=\"dhcp\""));
    // The two PCs are listed apart.
    assert!(html.contains("Other devices (not phones): 2 dhcp-client"));
}

#[test]
fn the_json_timeline_names_each_message_peer_and_direction() {
    // samples/healthy-sccp/scenario.json: DHCP server 10.1.1.2, TFTP 10.1.1.5 first,
    // call manager 10.1.1.10. A file answer and the SCCP Alarm name no address on
    // the wire: they take the request's server and the connection's call manager.
    let r = analyze(&sample_path("healthy-sccp"));
    let json = serde_json::to_value(&r.phones[0]).unwrap();
    let tl = json["timeline"].as_array().unwrap();
    let by_type = |t: &str| tl.iter().find(|e| e["type"] == t).unwrap();
    let peer = |e: &Value| {
        (
            e["peer_role"].as_str().unwrap_or("-").to_owned(),
            e["peer"].as_str().unwrap_or("-").to_owned(),
            e["dir"].as_str().unwrap_or("-").to_owned(),
        )
    };
    let want = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        peer(by_type("phone_announce")),
        want("switch", "-", "from_phone")
    );
    assert_eq!(
        peer(by_type("dhcp_discover")),
        want("dhcp_server", "-", "from_phone")
    );
    assert_eq!(
        peer(by_type("dhcp_offer")),
        want("dhcp_server", "10.1.1.2", "to_phone")
    );
    assert_eq!(
        peer(by_type("file_not_found")),
        want("file_server", "10.1.1.5", "to_phone")
    );
    assert_eq!(
        peer(by_type("file_received")),
        want("file_server", "10.1.1.5", "to_phone")
    );
    assert_eq!(
        peer(by_type("alarm")),
        want("call_manager", "10.1.1.10", "from_phone")
    );
    assert_eq!(
        peer(by_type("register_ack")),
        want("call_manager", "10.1.1.10", "to_phone")
    );
}

#[test]
fn each_call_manager_has_its_lane_and_unanswered_syns_are_one_group() {
    // samples/cucm-failover: the first call manager (10.1.1.10) is silent, the
    // second (10.1.1.11) accepts. TCP retries a SYN after 1, 2 and 4 s, so the
    // phone sends four SYNs to the first before it moves on.
    let data = page_data(&render(&analyze(&sample_path("cucm-failover"))));
    let p = &data["phones"][0];
    let l = lanes(p);
    assert_eq!(
        l[l.len() - 2..],
        ["call_manager 10.1.1.10", "call_manager 10.1.1.11"]
    );
    let a = arrows(p);
    let syn = a
        .iter()
        .position(|x| x.2 == "TCP SYN to 10.1.1.10:2000")
        .unwrap();
    assert_eq!(a[syn].1, "call_manager 10.1.1.10");
    assert_eq!(
        a.iter()
            .filter(|x| x.2.starts_with("TCP SYN to 10.1.1.10"))
            .count(),
        1
    );
    let g = &p["groups"][0];
    assert_eq!(g[0], syn);
    assert_eq!(g[1].as_array().unwrap().len(), 3);
    assert_eq!(arrow_of(&a, "SCCP RegisterAck").0, "call_manager 10.1.1.11");
    // A warning, not a stall; its evidence is flagged.
    assert!(p["stall"].is_null());
    assert_eq!(p["findings"][0][0], "warning");
    assert_ne!(
        p["rows"][syn][7].as_u64().unwrap() & data["flags"][2].as_u64().unwrap(),
        0
    );
}

#[test]
fn a_flood_is_shown_above_the_fleet_with_the_bounds_it_reached() {
    // samples/dhcp-starvation: 2000 made-up clients on VLAN 100 (tshark's count, see
    // its README), three phones; 500 devices kept leaves 1503 evicted.
    let opts = Options {
        limits: bootscope::engine::EngineLimits {
            max_devices: 500,
            ..Default::default()
        },
        ..Options::default()
    };
    let r = analyze::run(&sample_path("dhcp-starvation"), &opts).unwrap();
    let html = render(&r);
    let site = html
        .find("<section id=\"site\">")
        .expect("the site section");
    let fleet = html.find("<section id=\"summary\">").expect("the fleet");
    assert!(site < fleet, "the site comes first");
    let section = &html[site..fleet];
    assert!(
        section.contains("<code>dhcp-starvation</code> at dhcp"),
        "{section}"
    );
    assert!(section.contains("2000 DHCP clients"), "{section}");
    assert!(section.contains("VLAN 100"), "{section}");
    assert_eq!(section.matches("<li>").count(), 3, "the checks: {section}");
    let caps = html.find("id=\"caps\"").expect("the bounds line");
    assert!(html[caps..].starts_with("id=\"caps\">state bounds reached: 1503 device(s) evicted"));
    // A capture without a flood has neither.
    let quiet = render(&analyze(&sample_path("healthy-sccp")));
    assert!(!quiet.contains("id=\"site\"") && !quiet.contains("id=\"caps\""));
}

#[test]
fn the_cli_writes_the_page_and_keeps_its_exit_code() {
    let out = scratch("mixed-site.html");
    let o = Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args([
            "analyze",
            sample_path("mixed-site").to_str().unwrap(),
            "--html",
        ])
        .arg(&out)
        .output()
        .unwrap();
    // Error findings: exit 1, as without --html; the table still goes to stdout.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("SEP001B54BB0003"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(page_data(&html)["phones"].as_array().unwrap().len(), 6);
    // Self-contained: nothing to fetch.
    for external in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
}

/// Wire strings that try to leave their context: an element, an attribute, the
/// data script.
const HOSTILE: &str =
    "x\"'><img src=y onerror=\"document.documentElement.setAttribute('data-pwned','img')\"></script><script>document.documentElement.setAttribute('data-pwned','script')</script><!--";

fn hostile_report() -> Report {
    let mut r = analyze(&sample_path("mixed-site"));
    let evil = |tag: &str| format!("{tag}{HOSTILE}");
    r.capture.files = vec![evil("file")];
    r.capture.warnings = vec![evil("warning")];
    for p in r.phones.iter_mut().chain(r.other_devices.iter_mut()) {
        p.device_name = Some(evil("SEP"));
        p.model = Some(evil("model"));
        p.ip = Some(evil("ip"));
        for e in &mut p.timeline {
            e.event = evil("event");
            e.peer = e.peer.as_ref().map(|_| evil("peer"));
        }
        for f in &mut p.findings {
            f.code = evil("code");
            f.message = evil("message");
            f.checks = vec![evil("check")];
        }
        if let Some(x) = &mut p.expected_next {
            x.expected = vec![evil("expected")];
            if let Some(m) = &mut x.model {
                m.expect = evil("model");
            }
        }
    }
    for d in &mut r.summary.diagnoses {
        d.server = Some(evil("server"));
        d.examples = vec![evil("SEP")];
        d.advice = evil("advice");
        d.code = evil("code");
    }
    r.summary.findings = [(evil("code"), 1)].into_iter().collect();
    r
}

/// The page's own `<script` and `</script>`: the data and the code, nothing else.
fn assert_no_injected_markup(html: &str) {
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("<img"));
    assert!(!html.contains("<!--"));
    assert!(!html.contains("onerror=\""));
    assert!(!html.contains("'><"));
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    let r = hostile_report();
    let html = render(&r);
    assert_no_injected_markup(&html);
    // Shown as text, escaped…
    assert!(html.contains("SEPx&quot;&#39;&gt;&lt;img src=y onerror="));
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;"));
    // …and intact in the data once parsed.
    let data = page_data(&html);
    let p = &data["phones"][0];
    assert_eq!(p["name"].as_str().unwrap(), format!("SEP{HOSTILE}"));
    assert_eq!(p["rows"][0][6].as_str().unwrap(), format!("event{HOSTILE}"));
    assert_eq!(
        p["lanes"][0]["label"].as_str().unwrap(),
        format!("SEP{HOSTILE}")
    );
}

#[test]
fn hostile_strings_from_the_wire_are_escaped() {
    // A phone whose CDP platform, requested file name and the server's error text
    // carry markup, built on the wire with the model's encoders.
    use bootscope::link::MacAddr;
    use bootscope::model::encode::{self, DhcpClientKind, DhcpServerKind};
    use bootscope::model::scenario::TftpOption;
    use bootscope::model::wire::{self, Endpoint, PcapWriter, L2};
    use std::net::Ipv4Addr;

    let mac = MacAddr([0x00, 0x1b, 0x54, 0xcc, 0x00, 0x09]);
    let name = "SEP001B54CC0009";
    let gw = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0xfe]);
    let ip = Ipv4Addr::new(10, 100, 0, 60);
    let (dhcp, tftp) = (Ipv4Addr::new(10, 1, 1, 2), Ipv4Addr::new(10, 1, 1, 5));
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
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut t = 1_700_000_000_000_000_000i64;
    let mut at = |ms: i64, frame: &[u8]| {
        t += ms * 1_000_000;
        w.record(t, frame).unwrap();
    };
    at(
        0,
        &wire::cdp_frame(
            mac,
            None,
            &encode::cdp_phone(name, HOSTILE, "load").unwrap(),
        ),
    );
    let client = |kind| encode::dhcp_client(mac, name, "8851", 9, kind, 0);
    let server = |kind| {
        encode::dhcp_server(
            mac,
            9,
            kind,
            ip,
            Ipv4Addr::new(10, 100, 0, 1),
            dhcp,
            &opt150,
        )
    };
    let (c68, all67, s67) = (
        ep(Ipv4Addr::UNSPECIFIED, 68),
        ep(Ipv4Addr::BROADCAST, 67),
        ep(Ipv4Addr::new(10, 100, 0, 1), 67),
    );
    at(
        900,
        &wire::udp_frame(bcast, c68, all67, &client(DhcpClientKind::Discover)),
    );
    at(
        10,
        &wire::udp_frame(down, s67, ep(ip, 68), &server(DhcpServerKind::Offer)),
    );
    let req = client(DhcpClientKind::Request {
        requested: ip,
        server: dhcp,
    });
    at(10, &wire::udp_frame(bcast, c68, all67, &req));
    at(
        10,
        &wire::udp_frame(down, s67, ep(ip, 68), &server(DhcpServerKind::Ack)),
    );
    let file = format!("CTL{HOSTILE}.tlv");
    at(
        300,
        &wire::udp_frame(
            up,
            ep(ip, 50001),
            ep(tftp, 69),
            &encode::tftp_rrq(&file).unwrap(),
        ),
    );
    at(
        5,
        &wire::udp_frame(
            down,
            ep(tftp, 40001),
            ep(ip, 50001),
            &encode::tftp_error(2, HOSTILE).unwrap(),
        ),
    );
    let path = scratch("hostile-wire.pcap");
    std::fs::write(&path, w.finish().unwrap()).unwrap();

    let r = analyze(&path);
    let p = r
        .phones
        .iter()
        .find(|p| p.device_name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{:#?}", r.phones));
    // The hostile strings did reach the report…
    assert!(
        p.model.as_deref().unwrap_or("").contains("<img"),
        "{:?}",
        p.model
    );
    assert!(
        p.timeline.iter().any(|e| e.event.contains("</script>")),
        "{:#?}",
        p.timeline
    );
    // …and not the page's markup.
    let html = render(&r);
    assert_no_injected_markup(&html);
    assert!(html.contains("Cisco IP Phone x&quot;&#39;&gt;&lt;img"));
}

#[test]
fn ten_thousand_phones_give_a_bounded_page() {
    // 10 000 phones built from the mixed site's six (healthy and failing boots),
    // each under its own name.
    let base = analyze(&sample_path("mixed-site"));
    let mut r = base.clone();
    r.phones = (0..10_000usize)
        .map(|i| {
            let mut p = base.phones[i % base.phones.len()].clone();
            let mac = format!(
                "00:1b:54:{:02x}:{:02x}:{:02x}",
                i >> 16,
                (i >> 8) & 0xff,
                i & 0xff
            );
            p.device_name = Some(format!("SEP{}", mac.replace(':', "").to_uppercase()));
            p.mac = Some(mac);
            p
        })
        .collect();
    r.summary.phones = r.phones.len();
    let entries: usize = r.phones.iter().map(|p| p.timeline.len()).sum();
    let html = render(&r);
    // One table row per phone, shown a page at a time; the ladders are data, drawn
    // when a phone is opened.
    assert_eq!(html.matches("<tr id=\"r").count(), 10_000);
    assert!(html.contains("<table id=\"phone-table\" class=\"paged\">"));
    assert_eq!(data_page(&html), report::html::TABLE_PAGE as u64);
    assert!(!html.contains("class=\"ladder\""));
    let data = page_data(&html);
    assert_eq!(data["inline"], false);
    assert_eq!(data["phones"].as_array().unwrap().len(), 10_000);
    // Linear in what is shown: well under 200 bytes per timeline entry plus 1 KB per
    // phone (an SVG row alone would take about 200 bytes).
    let bound = entries * 200 + 10_000 * 1_000;
    assert!(
        html.len() < bound,
        "{} bytes for {entries} entries (bound {bound})",
        html.len()
    );
}

// ---- headless Chromium ---------------------------------------------------------------

/// Chromium, if installed (or `BOOTSCOPE_CHROMIUM`); without it the test is skipped
/// with a note, unless `BOOTSCOPE_REQUIRE_CHROMIUM=1`.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BOOTSCOPE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("BOOTSCOPE_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "BOOTSCOPE_REQUIRE_CHROMIUM=1 but no chromium in PATH"
        );
        eprintln!("note: chromium not found; the headless rendering test is skipped");
    }
    found
}

/// The DOM after the page's script ran, and Chromium's log.
fn dump_dom(chromium: &Path, page: &Path, fragment: &str) -> (String, String) {
    let profile = scratch(&format!(
        "chromium-profile-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--window-size=1400,2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}{fragment}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run chromium");
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut so, &mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut se, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        out.join().unwrap().unwrap_or_default(),
        err.join().unwrap().unwrap_or_default(),
    )
}

fn assert_rendered_cleanly(dom: &str, log: &str, phones: usize) {
    // The script reports on the root element: done, or the error it met; injected
    // markup, had it run, would have marked it too.
    let start = dom.find("<html").expect("an html element");
    let root = &dom[start..start + dom[start..].find('>').unwrap()];
    assert!(
        root.contains(&format!("data-ready=\"{phones}\"")),
        "the script did not finish: {root}\n{log}"
    );
    assert!(!root.contains("data-js-error"), "script error: {root}");
    assert!(!root.contains("data-pwned"), "injected markup ran: {root}");
    for line in log.lines() {
        // The page writes nothing to the console: any message from it is a fault
        // (Chromium does not print the level: `INFO:CONSOLE:1] "…", source: file://…`).
        let from_page = line.contains("CONSOLE") && line.contains("source: file://");
        assert!(
            !line.contains("Uncaught") && !from_page,
            "console message: {line}"
        );
    }
}

#[test]
fn chromium_renders_the_page_without_console_errors() {
    let Some(chromium) = chromium() else {
        return;
    };
    // A small capture: every ladder drawn at load.
    let page = scratch("chromium-mixed.html");
    std::fs::write(&page, render(&analyze(&sample_path("mixed-site")))).unwrap();
    let (dom, log) = dump_dom(&chromium, &page, "");
    assert_rendered_cleanly(&dom, &log, 6);
    assert_eq!(dom.matches("<svg class=\"ladder\"").count(), 6);
    // Lanes, arrows, the grouped DISCOVERs, both stalls, one with a predicted arrow.
    assert!(dom.contains("data-role=\"call_manager\""));
    assert!(dom.contains("class=\"msg st-dhcp t-dhcp_discover ev-error\""));
    assert!(dom.contains("class=\"group-note\""));
    assert_eq!(dom.matches("class=\"stall stalled\"").count(), 2);
    assert_eq!(dom.matches("class=\"stall-arrow\"").count(), 1);
    assert!(dom.contains("data-code=\"config-not-found\""));

    // Hostile strings in every field: nothing they carry runs.
    let page = scratch("chromium-hostile.html");
    std::fs::write(&page, render(&hostile_report())).unwrap();
    let (dom, log) = dump_dom(&chromium, &page, "");
    assert_rendered_cleanly(&dom, &log, 6);

    // Past INLINE_PHONES ladders are drawn on demand: open one by its link.
    let base = analyze(&sample_path("mixed-site"));
    let mut big = base.clone();
    big.phones = (0..report::html::INLINE_PHONES + 10)
        .map(|i| base.phones[i % base.phones.len()].clone())
        .collect();
    let page = scratch("chromium-big.html");
    std::fs::write(&page, render(&big)).unwrap();
    let (dom, log) = dump_dom(&chromium, &page, "#p2-f58");
    assert_rendered_cleanly(&dom, &log, big.phones.len());
    assert_eq!(dom.matches("<svg class=\"ladder\"").count(), 1);
    assert!(dom.contains("<section id=\"p2\" class=\"phone st-stalled\">"));
    assert!(dom.contains("class=\"hl-bg\""), "frame 58 highlighted");
}
