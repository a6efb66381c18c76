//! The bodies of the fuzz targets, one function per target. The libFuzzer binaries in
//! `fuzz_targets/` are one-line wrappers around them, and `tests/fuzz_regressions.rs`
//! includes this file to run every saved crasher through the same code, so CI checks
//! the regressions without the fuzzer or a nightly toolchain.
//!
//! Besides "no panic, no hang", each target checks what can be checked cheaply:
//! stream parsers always make progress, the reassembler delivers exactly the bytes
//! that were sent (or declares a gap), and nothing that reaches a terminal or a
//! JSON value holds a control character or a bidi override.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bootscope::capture::{self, Frame, Linktype, MAX_RECORD};
use bootscope::dispatch::{Dispatcher, Message};
use bootscope::link::{TcpFlags, TcpSegment};
use bootscope::reassembly::{Delivery, FlowKey, StreamLimits, Streams};
use bootscope::{analyze, describe, dissect, link, report};
use parsers::DissectError;

/// Render a dissected message the way `bootscope dissect` does (summary line, JSON
/// fields, damage note) and check the output is safe to print.
fn render(msg: Result<Message<'_>, DissectError>) {
    let mut line = String::new();
    dissect::summary(&msg, &mut line);
    assert_printable(&line, "summary");
    let mut fields = serde_json::Map::new();
    if let Ok(m) = &msg {
        match m {
            Message::Cdp(p) => describe::cdp::fields(p, &mut fields),
            Message::Lldp(p) => describe::lldp::fields(p, &mut fields),
            Message::Dhcp(p) => describe::dhcp::fields(p, &mut fields),
            Message::Tftp(p) => describe::tftp::fields(p, &mut fields),
            Message::Sccp(p) => describe::sccp::fields(p, &mut fields),
            Message::Sip(p) => describe::sip::fields(p, &mut fields),
            Message::Http(p) => describe::http::fields(p, &mut fields),
            Message::Eapol(p) => describe::eapol::fields(p, &mut fields),
            Message::Arp(p) => describe::arp::fields(p, &mut fields),
            Message::Dns(p) => describe::dns::fields(p, &mut fields),
            Message::Icmp(p) => describe::icmp::fields(p, &mut fields),
            Message::Tls(p) => describe::tls::fields(p, &mut fields),
        }
        if let Some(d) = m.damage() {
            assert_printable(&d, "damage");
        }
    }
    assert_json_printable(&serde_json::Value::Object(fields), "fields");
}

/// CDP: one PDU.
pub fn cdp(data: &[u8]) {
    render(parsers::cdp::parse(data).map(Message::Cdp));
}

/// LLDP: one PDU.
pub fn lldp(data: &[u8]) {
    render(parsers::lldp::parse(data).map(Message::Lldp));
}

/// EAPOL: one PDU, rendered as `dissect` renders it.
pub fn eapol(data: &[u8]) {
    render(parsers::eapol::parse(data).map(Message::Eapol));
}

/// DHCP: one message.
pub fn dhcp(data: &[u8]) {
    render(parsers::dhcp::parse(data).map(Message::Dhcp));
}

/// ARP: one packet, rendered as `dissect` shows it.
pub fn arp(data: &[u8]) {
    render(parsers::arp::parse(data).map(Message::Arp));
}

/// DNS: one UDP payload, rendered as `dissect` shows it.
pub fn dns(data: &[u8]) {
    render(parsers::dns::parse(data).map(Message::Dns));
}

/// ICMP: the bytes as ICMP and as ICMPv6, rendered as `dissect` shows them.
pub fn icmp(data: &[u8]) {
    render(parsers::icmp::parse_v4(data).map(Message::Icmp));
    render(parsers::icmp::parse_v6(data).map(Message::Icmp));
}

/// TFTP: one packet.
pub fn tftp(data: &[u8]) {
    render(parsers::tftp::parse(data).map(Message::Tftp));
}

/// TLS: every record of a stream buffer, as the stream follower cuts them; each
/// writes back to the bytes it was read from.
pub fn tls(data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        match parsers::tls::parse(rest) {
            Ok((r, after)) => {
                assert!(after.len() < rest.len(), "TLS made no progress");
                let used = &rest[..rest.len() - after.len()];
                assert_eq!(r.to_vec().expect("a parsed record writes back"), used);
                rest = after;
                render(Ok(Message::Tls(r)));
            }
            Err(e) => {
                render(Err(e));
                break;
            }
        }
    }
}

/// SCCP: every PDU of a stream buffer, as the stream follower cuts them.
pub fn sccp(data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        match parsers::sccp::parse(rest) {
            Ok((m, after)) => {
                assert!(after.len() < rest.len(), "SCCP made no progress");
                rest = after;
                render(Ok(Message::Sccp(m)));
            }
            Err(e) => {
                render(Err(e));
                break;
            }
        }
    }
    // The iterator the dispatcher uses must agree and stop.
    let mut pdus = parsers::sccp::pdus(data);
    let mut n = 0usize;
    for _ in pdus.by_ref() {
        n += 1;
        assert!(n <= data.len(), "SCCP iterator does not stop");
    }
}

/// SIP: the datagram parser, then the stream parser over the same bytes.
pub fn sip(data: &[u8]) {
    render(parsers::sip::parse(data).map(Message::Sip));
    let mut rest = data;
    while !rest.is_empty() {
        match parsers::sip::parse_stream(rest) {
            Ok((m, after)) => {
                assert!(after.len() < rest.len(), "SIP made no progress");
                rest = after;
                render(Ok(Message::Sip(m)));
            }
            Err(e) => {
                render(Err(e));
                break;
            }
        }
    }
}

/// HTTP (TCP 6970): whole messages, then heads only, over the same bytes.
pub fn http(data: &[u8]) {
    for whole in [true, false] {
        let mut rest = data;
        while !rest.is_empty() {
            let parsed = if whole {
                parsers::http::parse(rest)
            } else {
                parsers::http::parse_head(rest)
            };
            match parsed {
                Ok((m, after)) => {
                    assert!(after.len() < rest.len(), "HTTP made no progress");
                    rest = after;
                    render(Ok(Message::Http(m)));
                }
                Err(e) => {
                    render(Err(e));
                    break;
                }
            }
        }
    }
}

/// Link types the link layer is fed, the first byte choosing one (147 is not decoded).
const LINKTYPES: [u32; 11] = [0, 1, 12, 14, 101, 104, 113, 228, 229, 276, 147];

/// The link layer, then the dispatcher, over one frame; the first byte picks the link
/// type. Four frames are cut from the input so stream and TFTP state carries over.
pub fn link(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let linktype = Linktype(LINKTYPES[usize::from(pick) % LINKTYPES.len()]);
    let mut dispatcher = Dispatcher::default();
    // Frames are separated by the 4-byte marker "FRM|" so one input holds a conversation.
    let mut frames: Vec<&[u8]> = Vec::new();
    let mut tail = rest;
    while let Some(at) = tail.windows(4).position(|w| w == b"FRM|") {
        frames.push(&tail[..at]);
        tail = &tail[at + 4..];
    }
    frames.push(tail);
    for (i, bytes) in frames.into_iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            ts_ns: i as i64 * 1_000_000,
            linktype,
            data: bytes,
            orig_len: bytes.len() as u32,
        };
        if let Ok(p) = link::decode(&frame) {
            // Debug output of a packet view must not panic either.
            let _ = format!("{p:?}");
        }
        let _ = dispatcher.frame(&frame, |_, obs| {
            if let bootscope::dispatch::Observed::Message(m) = obs {
                render(Ok(m));
            }
        });
    }
}

/// The tunnel header views, the first byte picking one (GRE and the ERSPAN header in
/// it, VXLAN, CAPWAP, an 802.11 data frame in either frame control order): a header
/// and what follows it cover the input, and what parses writes back to bytes that
/// parse the same.
pub fn tunnel(data: &[u8]) {
    use parsers::{capwap, gre, ieee80211, vxlan};
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 5 {
        0 => {
            let Ok(g) = gre::parse(rest) else { return };
            assert_eq!(g.header_len() + g.payload.len(), rest.len(), "GRE lengths");
            let bytes = g.to_vec().expect("a parsed GRE packet writes back");
            assert_eq!(gre::parse(&bytes), Ok(g), "GRE round trip");
            let Ok(e) = g.erspan() else { return };
            assert_eq!(
                e.header.len() + e.frame.len(),
                g.payload.len(),
                "ERSPAN lengths"
            );
            let bytes = e.to_vec().expect("a parsed ERSPAN header writes back");
            let (protocol, sequenced) = (e.header.gre_protocol(), e.header.gre_sequenced());
            assert_eq!(
                gre::parse_erspan(protocol, sequenced, &bytes),
                Ok(e),
                "ERSPAN round trip"
            );
            let _ = e.ethernet();
        }
        1 => {
            let Ok(v) = vxlan::parse(rest) else { return };
            assert_eq!(
                vxlan::HEADER_LEN + v.frame.len(),
                rest.len(),
                "VXLAN lengths"
            );
            let bytes = v.to_vec().expect("a parsed VXLAN header writes back");
            assert_eq!(vxlan::parse(&bytes), Ok(v), "VXLAN round trip");
        }
        2 => {
            let Ok(c) = capwap::parse(rest) else { return };
            assert_eq!(
                8 + c.optional.len() + c.payload.len(),
                rest.len(),
                "CAPWAP lengths"
            );
            let _ = (c.radio_mac(), c.wireless_info());
            let bytes = c.to_vec().expect("a parsed CAPWAP header writes back");
            assert_eq!(capwap::parse(&bytes), Ok(c), "CAPWAP round trip");
        }
        n => {
            let order = if n == 3 {
                ieee80211::FcOrder::Standard
            } else {
                ieee80211::FcOrder::Swapped
            };
            let Ok(d) = ieee80211::parse(rest, order) else {
                return;
            };
            assert_eq!(d.header_len() + d.body.len(), rest.len(), "802.11 lengths");
            let _ = (d.source(), d.destination(), d.amsdu(), d.protected());
            let bytes = d.to_vec().expect("a parsed 802.11 frame writes back");
            assert_eq!(ieee80211::parse(&bytes, order), Ok(d), "802.11 round trip");
        }
    }
}

/// The tunnel header of an Ethernet frame carrying IPv4 (any VLAN tags), as the
/// `tunnel` target's input: GRE's IP payload, a VXLAN or CAPWAP datagram's payload
/// (and the 802.11 frame of a CAPWAP one).
fn tunnel_seeds(frame: &[u8]) -> Vec<Vec<u8>> {
    let mut at = 12;
    while matches!(
        frame.get(at..at + 2),
        Some([0x81 | 0x88 | 0x91, 0x00 | 0xa8])
    ) {
        at += 4;
    }
    if frame.get(at..at + 2) != Some(&[0x08, 0x00]) {
        return Vec::new();
    }
    let ip = &frame[at + 2..];
    let Some(&v_ihl) = ip.first() else {
        return Vec::new();
    };
    let ihl = usize::from(v_ihl & 0x0f) * 4;
    let (Some(&protocol), Some(payload)) = (ip.get(9), ip.get(ihl..)) else {
        return Vec::new();
    };
    let seed = |pick: u8, b: &[u8]| [&[pick][..], b].concat();
    let port = |i: usize| {
        payload
            .get(i..i + 2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
    };
    let udp = payload.get(8..).unwrap_or_default();
    match (protocol, port(0), port(2)) {
        (47, ..) => vec![seed(0, payload)],
        (17, _, Some(4789)) => vec![seed(1, udp)],
        (17, Some(5247), _) | (17, _, Some(5247)) => {
            let mut out = vec![seed(2, udp)];
            if let Ok(c) = parsers::capwap::parse(udp) {
                out.push(seed(3, c.payload));
                out.push(seed(4, c.payload));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The capture reader over a byte buffer: frames numbered upwards from 1 (a packet
/// of an undescribed pcapng interface is numbered, as tshark numbers it, but not
/// delivered), never larger than the reader's bound, times in range, and the
/// warnings readable.
pub fn capture(data: &[u8]) {
    let Ok(file) =
        capture::from_reader(Path::new("fuzz.pcap"), std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let mut last = 0u64;
    let stats = file
        .for_each_frame(|f| {
            assert!(f.number > last, "frame {} after frame {last}", f.number);
            last = f.number;
            assert!(f.data.len() <= MAX_RECORD, "frame above the bound");
            assert!(
                (0..=capture::MAX_TS_NS).contains(&f.ts_ns),
                "time {}",
                f.ts_ns
            );
            ControlFlow::Continue(())
        })
        .expect("reading from memory cannot fail");
    assert!(stats.frames >= last);
    for w in &stats.warnings {
        assert_printable(&w.to_string(), "capture warning");
    }
}

/// The byte every stream position carries in [`reassembly`]: any segment at any
/// sequence number carries the same bytes for the same positions, so what the
/// reassembler delivers can be checked against it.
fn stream_byte(pos: u32) -> u8 {
    (pos.wrapping_mul(2_654_435_761) >> 24) as u8
}

/// The TCP reassembler: the input is a list of segments of one flow (and a few of
/// three others, with random bytes, to fill the small table). Each segment op is 8
/// bytes: flags, flow, sequence offset (u32), length (u8), time step (u8). The checked
/// flow's delivered bytes must be exactly the sender's bytes at the stream position,
/// gaps skipping positions forward; held bytes stay within the bounds; and when the
/// full table forgets the checked flow for another, it was idle or half-open.
pub fn reassembly(data: &[u8]) {
    let limits = StreamLimits {
        max_streams: 3,
        max_pending: 4096,
        max_pending_total: 8192,
        idle_ns: 10_000_000_000,
        max_ooo_segments: 8,
        max_ooo_bytes: 2048,
        ooo_wait_ns: 2_000_000_000,
    };
    let mut streams = Streams::new(limits);
    let key = |n: u8| FlowKey {
        src: std::net::IpAddr::from([10, 0, 0, n]),
        dst: std::net::IpAddr::from([10, 0, 0, 100]),
        src_port: 40000 + u16::from(n),
        dst_port: 2000,
    };
    const ISN: u32 = 0xffff_ff00; // wraps early, on purpose
                                  // The checked flow as the reassembler's documented rules make it: whether it is
                                  // followed, the stream position of its next byte (when known), and the time of
                                  // its last segment (for idle eviction).
    let mut exists = false;
    let mut pos: Option<u32> = None;
    let mut last_seen = 0i64;
    // Opened by a bare SYN, no byte since: the table may forget it for a new stream.
    let mut half_open = false;
    let mut ts = 0i64;
    let mut buf = Vec::new();
    for op in data.chunks_exact(8) {
        let [flags, flow, o0, o1, o2, o3, len, dt] = *op else {
            unreachable!()
        };
        let flags = flags & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST | TcpFlags::ACK);
        let (syn, ends) = (
            flags & TcpFlags::SYN != 0,
            flags & (TcpFlags::FIN | TcpFlags::RST) != 0,
        );
        let offset = u32::from_le_bytes([o0, o1, o2, o3]) % 8192;
        ts += i64::from(dt) * 50_000_000;
        let checked = flow % 4 == 0;
        buf.clear();
        let seq;
        if checked {
            // Positions count from the first byte after the SYN.
            seq = ISN.wrapping_add(1).wrapping_add(offset);
            buf.extend((0..u32::from(len)).map(|i| stream_byte(offset.wrapping_add(i))));
            if exists && syn {
                // A SYN at or past the next byte restarts the stream there; one just
                // behind it is a late copy and changes nothing.
                pos = match pos {
                    Some(p) if (-(1 << 20)..0).contains(&(offset.wrapping_sub(p) as i32)) => {
                        Some(p)
                    }
                    Some(_) => Some(offset),
                    None => None,
                };
            }
        } else {
            seq = offset.wrapping_mul(7);
            buf.extend((0..len).map(|i| i.wrapping_mul(flow)));
        }
        // A SYN's sequence number is the one before its first byte.
        let seq = if syn { seq.wrapping_sub(1) } else { seq };
        let seg = TcpSegment {
            src_port: 0,
            dst_port: 0,
            seq,
            ack: 0,
            flags: TcpFlags(flags),
            payload: &buf,
        };
        let mut created = false;
        streams.segment(key(flow % 4), &seg, ts, |d| {
            if !checked {
                return;
            }
            match d {
                Delivery::Gap { missing } => {
                    assert!(missing < 1 << 31, "a gap backwards");
                    pos = pos.map(|p| p.wrapping_add(missing));
                }
                // Untracked (table full): read alone, no stream position.
                Delivery::Bytes(placed) if placed.stream.is_none() => {}
                Delivery::Bytes(placed) => {
                    if !exists && !created {
                        // The stream was created by this segment, at its start.
                        created = true;
                        pos = Some(offset);
                    }
                    if let Some(p) = pos {
                        for (i, &b) in placed.fresh.iter().enumerate() {
                            let at = p.wrapping_add(i as u32);
                            assert_eq!(b, stream_byte(at), "wrong byte at stream position {at}");
                        }
                        pos = Some(p.wrapping_add(placed.fresh.len() as u32));
                    }
                }
            }
        });
        let followed = streams.contains(&key(0));
        if checked {
            if !exists && !created && followed {
                // Created without bytes to deliver (a bare SYN).
                created = true;
                pos = Some(offset);
            }
            if created {
                half_open = syn && buf.is_empty();
            } else if exists && !buf.is_empty() {
                half_open = false;
            }
            exists |= created;
            last_seen = ts;
            if ends {
                // Closed: a later segment starts a new stream wherever it lands.
                exists = false;
                pos = None;
            }
        } else if exists && !followed {
            // Forgotten to make room for this flow: only an idle stream, or a
            // half-open one, may be.
            assert!(
                half_open || ts - last_seen > limits.idle_ns,
                "a live stream that carried bytes was forgotten for another"
            );
            exists = false;
            pos = None;
        }
        assert!(
            streams.pending_total() <= limits.max_pending_total,
            "held bytes past the total bound"
        );
        assert!(
            streams.len() <= limits.max_streams,
            "streams past the table bound"
        );
    }
}

/// The whole pipeline over the bytes of a capture, written to a file in `dir`:
/// `analyze` with every renderer (fleet table, every device's report, JSON) and
/// `dissect` in both formats. Nothing printed may hold a terminal control.
pub fn pipeline(data: &[u8], dir: &Path, rules: &rules::RuleSet) {
    let path = scratch_file(dir);
    std::fs::write(&path, data).expect("writing the scratch capture");
    analyze_and_render(&path, rules);
    dissect_both_formats(&path);
    let _ = std::fs::remove_file(&path);
}

/// The `analyze` half of [`pipeline`], for a capture already on disk.
pub fn analyze_and_render(path: &Path, rules: &rules::RuleSet) {
    if let Ok(report) = analyze::run_with(path, rules, &analyze::Options::default()) {
        assert_printable(&report::table::render(&report, None), "table");
        assert_printable(&report::table::render(&report, Some(60)), "narrow table");
        for p in report.phones.iter().chain(&report.other_devices) {
            assert_printable(&report::phone::render(p), "phone report");
        }
        for w in &report.capture.warnings {
            assert_printable(w, "analyze warning");
        }
        let json = serde_json::to_value(&report).expect("the report serialises");
        assert_json_printable(&json, "report");
        let mut out = Vec::new();
        report::write_json(&report, &mut out).expect("writing to memory");
    }
}

/// The `dissect` half of [`pipeline`].
pub fn dissect_both_formats(path: &Path) {
    for format in [dissect::Format::Text, dissect::Format::Json] {
        let mut out = Vec::new();
        if let Ok(summary) = dissect::run(path, format, &mut out) {
            let text = String::from_utf8(out).expect("dissect writes UTF-8");
            for line in text.lines() {
                assert_printable(line, "dissect line");
                if matches!(format, dissect::Format::Json) {
                    let v: serde_json::Value =
                        serde_json::from_str(line).expect("dissect JSON lines parse");
                    assert_json_printable(&v, "dissect JSON");
                }
            }
            for w in &summary.warnings {
                assert_printable(w, "dissect warning");
            }
        }
    }
}

/// One scratch file per process and thread (libFuzzer may run several workers, the
/// tests several threads).
fn scratch_file(dir: &Path) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    dir.join(format!(
        "bootscope-fuzz-{}-{thread}.pcap",
        std::process::id()
    ))
}

/// Whether a character can steer a terminal: C0 and C1 controls (line feed aside,
/// which the renderers put between lines), DEL, and the bidi embeddings, overrides
/// and isolates.
pub fn is_terminal_control(c: char) -> bool {
    (c < ' ' && c != '\n')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Panic when rendered text holds a terminal control.
pub fn assert_printable(text: &str, what: &str) {
    if let Some(c) = text.chars().find(|&c| is_terminal_control(c)) {
        panic!("{what} holds U+{:04X}: {text:?}", c as u32);
    }
}

/// Panic when a JSON value holds a string (key or value) with a terminal control or a
/// line feed: `jq -r` would print it raw.
pub fn assert_json_printable(v: &serde_json::Value, what: &str) {
    match v {
        serde_json::Value::String(s) => {
            assert_printable(s, what);
            assert!(!s.contains('\n'), "{what} holds a line feed: {s:?}");
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| assert_json_printable(x, what)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                assert_printable(k, what);
                assert_json_printable(x, what);
            }
        }
        _ => {}
    }
}

/// Write seed corpora for every target into `out/<target>/`, cut from `captures`: the
/// whole files (capture, pipeline; at most 64 KiB each), each frame (link), each
/// dissector's payloads (datagrams; TCP payloads of a direction concatenated for the
/// stream protocols; ARP and EAPOL, tunnelled or not, DNS on port 53, ICMP and ICMPv6
/// included), and a few segment scripts for the reassembler.
pub fn write_seeds(captures: &[PathBuf], out: &Path) -> std::io::Result<usize> {
    use std::collections::hash_map::DefaultHasher;
    use std::collections::BTreeMap;
    use std::hash::{Hash, Hasher};

    let mut written = 0usize;
    let mut put = |target: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let path = dir.join(format!("{:016x}", h.finish()));
        if !path.exists() {
            std::fs::write(path, bytes)?;
            written += 1;
        }
        Ok(())
    };
    for cap in captures {
        let bytes = std::fs::read(cap)?;
        put("capture", &bytes[..bytes.len().min(64 << 10)])?;
        put("pipeline", &bytes[..bytes.len().min(64 << 10)])?;
        let Ok(file) = capture::open(cap) else {
            continue;
        };
        let mut seeds: Vec<(&'static str, Vec<u8>)> = Vec::new();
        let mut tcp: BTreeMap<(FlowKey, &'static str), Vec<u8>> = BTreeMap::new();
        let _ = file.for_each_frame(|f| {
            if let Some(i) = LINKTYPES.iter().position(|&l| l == f.linktype.0) {
                let mut s = vec![i as u8];
                s.extend_from_slice(f.data);
                seeds.push(("link", s));
            }
            if f.linktype == Linktype::ETHERNET {
                seeds.extend(tunnel_seeds(f.data).into_iter().map(|s| ("tunnel", s)));
            }
            let Ok(p) = link::decode(f) else {
                return ControlFlow::Continue(());
            };
            match p.net {
                link::Net::Cdp(b) => seeds.push(("cdp", b.to_vec())),
                link::Net::Lldp(b) => seeds.push(("lldp", b.to_vec())),
                link::Net::Arp(b) => seeds.push(("arp", b.to_vec())),
                link::Net::Eapol(b) => seeds.push(("eapol", b.to_vec())),
                link::Net::Ip(ip) => match ip.transport {
                    link::Transport::Udp {
                        src_port,
                        dst_port,
                        payload,
                    } => {
                        let ports = [src_port, dst_port];
                        let target = if ports.contains(&67) || ports.contains(&68) {
                            "dhcp"
                        } else if ports.contains(&53) {
                            "dns"
                        } else if ports.contains(&5060) {
                            "sip"
                        } else {
                            "tftp"
                        };
                        seeds.push((target, payload.to_vec()));
                    }
                    link::Transport::Tcp(seg) if !seg.payload.is_empty() => {
                        let ports = [seg.src_port, seg.dst_port];
                        let target = if ports.contains(&2000) {
                            "sccp"
                        } else if ports.contains(&2443)
                            || ports.contains(&5061)
                            || ports.contains(&443)
                        {
                            "tls"
                        } else if ports.contains(&5060) {
                            "sip"
                        } else if ports.contains(&6970) {
                            "http"
                        } else if ports.contains(&53) {
                            "dns"
                        } else {
                            return ControlFlow::Continue(());
                        };
                        let key = FlowKey {
                            src: ip.src,
                            dst: ip.dst,
                            src_port: seg.src_port,
                            dst_port: seg.dst_port,
                        };
                        let buf = tcp.entry((key, target)).or_default();
                        if buf.len() < 16 << 10 {
                            buf.extend_from_slice(seg.payload);
                        }
                    }
                    link::Transport::Other {
                        protocol: 1 | 58,
                        payload,
                    } => seeds.push(("icmp", payload.to_vec())),
                    _ => {}
                },
                _ => {}
            }
            ControlFlow::Continue(())
        });
        seeds.extend(tcp.into_iter().map(|((_, t), b)| (t, b)));
        for (target, s) in seeds {
            put(target, &s)?;
        }
    }
    // Reassembler scripts: in order, reordered, retransmitted, with a hole, a FIN.
    let op = |flags: u8, flow: u8, offset: u32, len: u8, dt: u8| {
        let mut v = vec![flags, flow];
        v.extend_from_slice(&offset.to_le_bytes());
        v.extend_from_slice(&[len, dt]);
        v
    };
    let (syn, fin, ack) = (TcpFlags::SYN, TcpFlags::FIN, TcpFlags::ACK);
    // (flags, flow, offset, length, time step)
    type Op = (u8, u8, u32, u8, u8);
    let scripts: [&[Op]; 4] = [
        &[
            (syn, 0, 0, 0, 0),
            (ack, 0, 0, 100, 1),
            (ack, 0, 100, 100, 1),
            (fin | ack, 0, 200, 10, 1),
        ],
        &[
            (syn, 0, 0, 0, 0),
            (ack, 0, 100, 50, 1),
            (ack, 0, 0, 100, 1),
            (ack, 0, 50, 100, 1),
        ],
        &[
            (ack, 0, 300, 20, 0),
            (ack, 1, 0, 30, 1),
            (ack, 0, 400, 20, 1),
            (ack, 2, 9, 9, 30),
            (ack, 3, 5, 5, 250),
            (ack, 0, 320, 80, 1),
        ],
        &[
            (syn, 0, 0, 0, 0),
            (ack, 0, 4000, 200, 1),
            (ack, 0, 0, 255, 50),
            (ack, 0, 255, 1, 0),
        ],
    ];
    for s in scripts {
        let bytes: Vec<u8> = s
            .iter()
            .flat_map(|&(f, fl, o, l, d)| op(f, fl, o, l, d))
            .collect();
        put("reassembly", &bytes)?;
    }
    Ok(written)
}
