//! TCP through the dispatcher: captures built in memory with the model's frame
//! builders and pcap writer, read back through the capture reader, and run through
//! `Dispatcher::frame`. Reordered, split, merged and retransmitted SCCP segments,
//! real holes, connection control on the call-manager ports, TLS payload, and the
//! bounds of the out-of-order queue.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bootscope::capture;
use bootscope::dispatch::{Dispatcher, FlowKey, Message, Observed, TcpControl, TcpControlKind};
use bootscope::dissect::{self, Format};
use bootscope::link::MacAddr;
use bootscope::model::encode;
use bootscope::model::wire::{self, Endpoint, PcapWriter, TcpFields, L2};
use bootscope::reassembly::{StreamLimits, StreamStats};

use crate::common::scratch;

const PHONE_MAC: MacAddr = MacAddr([0x00, 0x21, 0x55, 0x00, 0x00, 0x01]);
const GATEWAY_MAC: MacAddr = MacAddr([0x00, 0x0b, 0x45, 0x00, 0x00, 0xfe]);
const PHONE_IP: Ipv4Addr = Ipv4Addr::new(10, 10, 224, 5);
const CM_IP: Ipv4Addr = Ipv4Addr::new(10, 10, 223, 10);
/// Initial sequence numbers: the phone's and the server's.
const PHONE_ISN: u32 = 1_000;
const CM_ISN: u32 = 7_000;

fn phone(port: u16) -> Endpoint {
    Endpoint { ip: PHONE_IP, port }
}

fn cm(port: u16) -> Endpoint {
    Endpoint { ip: CM_IP, port }
}

/// sender → receiver, as the dispatcher reports it.
fn flow(src: Endpoint, dst: Endpoint) -> FlowKey {
    FlowKey {
        src: IpAddr::V4(src.ip),
        dst: IpAddr::V4(dst.ip),
        src_port: src.port,
        dst_port: dst.port,
    }
}

fn flags(syn: bool, ack: bool, fin: bool, rst: bool) -> TcpFields {
    TcpFields {
        syn,
        ack,
        fin,
        rst,
        psh: !syn && !fin && !rst,
        ..TcpFields::default()
    }
}

const SYN: (bool, bool, bool, bool) = (true, false, false, false);
const SYN_ACK: (bool, bool, bool, bool) = (true, true, false, false);
const ACK: (bool, bool, bool, bool) = (false, true, false, false);
const FIN: (bool, bool, bool, bool) = (false, true, true, false);
const RST: (bool, bool, bool, bool) = (false, true, false, true);

/// A capture under construction: frame n is stamped n milliseconds unless told.
struct Pcap {
    w: PcapWriter<Vec<u8>>,
    ts_ns: i64,
}

impl Pcap {
    fn new() -> Self {
        Pcap {
            w: PcapWriter::new(Vec::new()).unwrap(),
            ts_ns: 1_700_000_000_000_000_000,
        }
    }

    /// Frames written so far (the number of the last one, as tshark counts).
    fn frames(&self) -> u64 {
        self.w.frames
    }

    /// Let capture time pass before the next frame.
    fn wait_ms(&mut self, ms: i64) {
        self.ts_ns += ms * 1_000_000;
    }

    /// One segment; returns its frame number.
    fn seg(
        &mut self,
        src: Endpoint,
        dst: Endpoint,
        seq: u32,
        ack_no: u32,
        (syn, ack, fin, rst): (bool, bool, bool, bool),
        payload: &[u8],
    ) -> u64 {
        let l2 = if src.ip == PHONE_IP {
            L2 {
                src: PHONE_MAC,
                dst: GATEWAY_MAC,
                vlan: Some(100),
            }
        } else {
            L2 {
                src: GATEWAY_MAC,
                dst: PHONE_MAC,
                vlan: Some(100),
            }
        };
        let t = TcpFields {
            seq,
            ack_no,
            ..flags(syn, ack, fin, rst)
        };
        self.ts_ns += 1_000_000;
        let frame = wire::tcp_frame(l2, src, dst, t, payload);
        self.w.record(self.ts_ns, &frame).unwrap();
        self.frames()
    }

    /// The three-way handshake from the phone's `port` to the server's `server_port`.
    fn handshake(&mut self, port: u16, server_port: u16) {
        let (p, c) = (phone(port), cm(server_port));
        self.seg(p, c, PHONE_ISN, 0, SYN, &[]);
        self.seg(c, p, CM_ISN, PHONE_ISN + 1, SYN_ACK, &[]);
        self.seg(p, c, PHONE_ISN + 1, CM_ISN + 1, ACK, &[]);
    }

    fn write(self, name: &str) -> PathBuf {
        let path = scratch(name);
        std::fs::write(&path, self.w.finish().unwrap()).unwrap();
        path
    }
}

/// What the dispatcher reported, owned: SCCP messages by name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Obs {
    Sccp(&'static str),
    OtherMessage,
    Malformed,
    Tcp(TcpControl),
    Encrypted(FlowKey, usize),
    Gap(FlowKey, u32),
}

/// Run a capture through a dispatcher with the given limits: every observation with
/// its frame number, and the stream counters.
fn observe(path: &Path, limits: StreamLimits) -> (Vec<(u64, Obs)>, StreamStats) {
    let mut d = Dispatcher::new(limits);
    let mut got = Vec::new();
    capture::open(path)
        .unwrap()
        .for_each_frame(|frame| {
            d.frame(frame, |_, o| {
                let o = match o {
                    Observed::Message(Message::Sccp(m)) => Obs::Sccp(m.name().unwrap_or("?")),
                    Observed::Message(_) => Obs::OtherMessage,
                    Observed::Malformed(_) => Obs::Malformed,
                    Observed::Tcp(c) => Obs::Tcp(c),
                    Observed::Encrypted { flow, len } => Obs::Encrypted(flow, len),
                    Observed::StreamGap { flow, missing, .. } => Obs::Gap(flow, missing),
                    Observed::HttpBody { .. } => return,
                };
                got.push((frame.number, o));
            })
            .unwrap();
            ControlFlow::Continue(())
        })
        .unwrap();
    (got, d.stream_stats())
}

/// Only the messages, gaps and malformed reports (connection control dropped).
fn stream_events(got: &[(u64, Obs)]) -> Vec<(u64, Obs)> {
    got.iter()
        .filter(|(_, o)| !matches!(o, Obs::Tcp(_)))
        .cloned()
        .collect()
}

fn register_req() -> Vec<u8> {
    encode::sccp_register(
        "SEP002155000001",
        PHONE_IP,
        PHONE_MAC,
        "7962",
        "SCCP42.9-4-2SR3-1S",
    )
    .unwrap()
}

fn len32(b: &[u8]) -> u32 {
    u32::try_from(b.len()).unwrap()
}

#[test]
fn a_register_req_in_three_segments_delivered_1_3_2_is_reported_once_at_segment_2() {
    let reg = register_req();
    assert!(reg.len() > 90, "long enough to split in three");
    let (a, rest) = reg.split_at(30);
    let (b, c) = rest.split_at(30);
    let (p, m) = (phone(51_373), cm(2000));
    let mut pcap = Pcap::new();
    pcap.handshake(51_373, 2000);
    let s = PHONE_ISN + 1;
    pcap.seg(p, m, s, CM_ISN + 1, ACK, a);
    pcap.seg(p, m, s + len32(a) + len32(b), CM_ISN + 1, ACK, c);
    let second = pcap.seg(p, m, s + len32(a), CM_ISN + 1, ACK, b);
    let (got, stats) = observe(&pcap.write("tcp-1-3-2.pcap"), StreamLimits::default());
    assert_eq!(
        stream_events(&got),
        [(second, Obs::Sccp("RegisterReq"))],
        "{got:?}"
    );
    assert_eq!((stats.reordered, stats.gaps), (1, 0));
}

#[test]
fn merged_split_and_retransmitted_pdus_are_each_reported_once() {
    let ka = encode::sccp_keepalive().unwrap();
    let alarm = encode::sccp_alarm("SEP002155000001", "SCCP42.9-4-2SR3-1S", "TCP-timeout").unwrap();
    let reg = register_req();
    let (p, m) = (phone(51_373), cm(2000));
    let mut pcap = Pcap::new();
    pcap.handshake(51_373, 2000);
    let mut seq = PHONE_ISN + 1;
    // Two PDUs in one segment.
    let both = [ka.clone(), alarm.clone()].concat();
    let merged = pcap.seg(p, m, seq, CM_ISN + 1, ACK, &both);
    seq += len32(&both);
    // One PDU over four segments, then the last one again, then all of it again.
    let mut last = 0;
    for piece in reg.chunks(reg.len().div_ceil(4)) {
        last = pcap.seg(p, m, seq, CM_ISN + 1, ACK, piece);
        seq += len32(piece);
    }
    let tail = reg.chunks(reg.len().div_ceil(4)).last().unwrap();
    pcap.seg(p, m, seq - len32(tail), CM_ISN + 1, ACK, tail);
    pcap.seg(p, m, seq - len32(&reg), CM_ISN + 1, ACK, &reg);
    // A retransmission that overlaps the next PDU: only its new bytes count.
    let overlap = [&reg[reg.len() - 5..], &ka[..]].concat();
    let next = pcap.seg(p, m, seq - 5, CM_ISN + 1, ACK, &overlap);
    let (got, stats) = observe(&pcap.write("tcp-merged.pcap"), StreamLimits::default());
    assert_eq!(
        stream_events(&got),
        [
            (merged, Obs::Sccp("KeepAliveReq")),
            (merged, Obs::Sccp("Alarm")),
            (last, Obs::Sccp("RegisterReq")),
            (next, Obs::Sccp("KeepAliveReq")),
        ],
        "{got:?}"
    );
    assert_eq!(stats.retransmissions, 2);
    assert_eq!(stats.gaps, 0);
}

#[test]
fn a_real_hole_is_one_gap_and_the_next_pdu_after_it_is_still_dissected() {
    let ka = encode::sccp_keepalive().unwrap();
    let reg = register_req();
    let (p, m) = (phone(51_373), cm(2000));
    let mut pcap = Pcap::new();
    pcap.handshake(51_373, 2000);
    let mut seq = PHONE_ISN + 1;
    let first = pcap.seg(p, m, seq, CM_ISN + 1, ACK, &ka);
    seq += len32(&ka);
    // The RegisterReq's first 41 bytes are never captured. (Not 40: from there its
    // device type, stream count and active streams read like a 404-byte KeepAliveReq
    // header, and a stream that resynchronises on it waits for those 404 bytes.)
    let (lost, kept) = reg.split_at(41);
    seq += len32(lost);
    pcap.seg(p, m, seq, CM_ISN + 1, ACK, kept);
    seq += len32(kept);
    pcap.seg(p, m, seq, CM_ISN + 1, ACK, &ka);
    seq += len32(&ka);
    // The next keepalive, 30 s later, finds the hole still open: it is a gap.
    pcap.wait_ms(30_000);
    let late = pcap.seg(p, m, seq, CM_ISN + 1, ACK, &ka);
    let path = pcap.write("tcp-hole.pcap");
    let (got, stats) = observe(&path, StreamLimits::default());
    assert_eq!(
        stream_events(&got),
        [
            (first, Obs::Sccp("KeepAliveReq")),
            (late, Obs::Gap(flow(p, m), 41)),
            (late, Obs::Sccp("KeepAliveReq")),
            (late, Obs::Sccp("KeepAliveReq")),
        ],
        "{got:?}"
    );
    assert_eq!((stats.gaps, stats.reordered), (1, 0));

    // `dissect` names the file, frame and flow of the gap, and lists the messages.
    let mut out = Vec::new();
    let summary = dissect::run(&path, Format::Text, &mut out).unwrap();
    assert_eq!(summary.streams.gaps, 1);
    let warning = format!(
        "tcp-hole.pcap: frame {late}: TCP 10.10.224.5:51373 → 10.10.223.10:2000: \
         41 byte(s) never captured; the stream resumes at the next message"
    );
    assert!(
        summary.warnings.iter().any(|w| w.ends_with(&warning)),
        "{:?}",
        summary.warnings
    );
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("KeepAliveReq").count(), 3, "{text}");
}

#[test]
fn a_fin_declares_the_hole_and_closes_after_the_held_bytes() {
    let ka = encode::sccp_keepalive().unwrap();
    let (p, m) = (phone(51_373), cm(2000));
    let mut pcap = Pcap::new();
    pcap.handshake(51_373, 2000);
    let seq = PHONE_ISN + 1 + 100;
    pcap.seg(p, m, seq, CM_ISN + 1, ACK, &ka);
    let fin = pcap.seg(p, m, seq + len32(&ka), CM_ISN + 1, FIN, &[]);
    let (got, _) = observe(&pcap.write("tcp-fin-hole.pcap"), StreamLimits::default());
    let c = TcpControl {
        flow: flow(p, m),
        kind: TcpControlKind::Fin,
        seq: seq + len32(&ka),
        ack: CM_ISN + 1,
    };
    assert_eq!(
        got.iter()
            .filter(|(f, _)| *f == fin)
            .cloned()
            .collect::<Vec<_>>(),
        [
            (fin, Obs::Gap(flow(p, m), 100)),
            (fin, Obs::Sccp("KeepAliveReq")),
            (fin, Obs::Tcp(c)),
        ]
    );
}

#[test]
fn syn_syn_ack_rst_and_fin_on_2000_and_5060_are_reported_with_kinds_and_flows() {
    for port in [2000, 5060] {
        let (p, m) = (phone(49_152), cm(port));
        let mut pcap = Pcap::new();
        let syn = pcap.seg(p, m, PHONE_ISN, 0, SYN, &[]);
        let retry = pcap.seg(p, m, PHONE_ISN, 0, SYN, &[]);
        let synack = pcap.seg(m, p, CM_ISN, PHONE_ISN + 1, SYN_ACK, &[]);
        pcap.seg(p, m, PHONE_ISN + 1, CM_ISN + 1, ACK, &[]);
        let fin = pcap.seg(p, m, PHONE_ISN + 1, CM_ISN + 1, FIN, &[]);
        let rst = pcap.seg(m, p, CM_ISN + 1, PHONE_ISN + 2, RST, &[]);
        // RST wins over FIN.
        let both = pcap.seg(
            m,
            p,
            CM_ISN + 1,
            PHONE_ISN + 2,
            (false, true, true, true),
            &[],
        );
        // Nothing for a SYN on port 80.
        pcap.seg(p, cm(80), PHONE_ISN, 0, SYN, &[]);
        pcap.seg(cm(80), p, CM_ISN, PHONE_ISN + 1, RST, &[]);
        let (got, stats) = observe(
            &pcap.write(&format!("tcp-control-{port}.pcap")),
            StreamLimits::default(),
        );
        let ctl = |frame, src, dst, kind, seq, ack| {
            (
                frame,
                Obs::Tcp(TcpControl {
                    flow: flow(src, dst),
                    kind,
                    seq,
                    ack,
                }),
            )
        };
        use TcpControlKind::{Fin, Rst, Syn, SynAck};
        assert_eq!(
            got,
            [
                ctl(syn, p, m, Syn, PHONE_ISN, 0),
                ctl(retry, p, m, Syn, PHONE_ISN, 0),
                ctl(synack, m, p, SynAck, CM_ISN, PHONE_ISN + 1),
                ctl(fin, p, m, Fin, PHONE_ISN + 1, CM_ISN + 1),
                ctl(rst, m, p, Rst, CM_ISN + 1, PHONE_ISN + 2),
                ctl(both, m, p, Rst, CM_ISN + 1, PHONE_ISN + 2),
            ],
            "port {port}"
        );
        assert_eq!(stats.gaps, 0, "port {port}");
    }
}

#[test]
fn payload_on_the_https_config_port_is_reported_encrypted_and_the_signalling_ports_dissected() {
    for port in [2443, 5061, 6971] {
        let (p, m) = (phone(50_000), cm(port));
        let mut pcap = Pcap::new();
        pcap.handshake(50_000, port);
        let hello = [0x16u8; 517];
        let up = pcap.seg(p, m, PHONE_ISN + 1, CM_ISN + 1, ACK, &hello);
        let down = pcap.seg(m, p, CM_ISN + 1, PHONE_ISN + 518, ACK, &hello[..90]);
        pcap.seg(p, m, PHONE_ISN + 518, CM_ISN + 91, ACK, &[]);
        let (got, _) = observe(
            &pcap.write(&format!("tcp-tls-{port}.pcap")),
            StreamLimits::default(),
        );
        // SCCP and SIP over TLS are dissected as TLS: these bytes start no record
        // (version 0x1616). HTTPS config is only reported.
        let want = if port == 6971 {
            vec![
                (up, Obs::Encrypted(flow(p, m), 517)),
                (down, Obs::Encrypted(flow(m, p), 90)),
            ]
        } else {
            vec![(up, Obs::Malformed), (down, Obs::Malformed)]
        };
        assert_eq!(stream_events(&got), want, "port {port}");
        // The handshake is connection control on a TLS port too.
        assert_eq!(
            got.iter().filter(|(_, o)| matches!(o, Obs::Tcp(_))).count(),
            2
        );
    }
}

/// `count` segments of `size` bytes from the phone to 2000, each after a hole of
/// `hole` bytes that is never filled; the stream ends with a FIN.
fn holes(count: u32, size: usize, hole: u32, name: &str) -> PathBuf {
    let (p, m) = (phone(51_373), cm(2000));
    let mut pcap = Pcap::new();
    pcap.handshake(51_373, 2000);
    // Not a plausible SCCP start (data length 0): delivered bytes are dropped unread.
    let data = vec![0u8; size];
    let mut seq = PHONE_ISN + 1;
    for _ in 0..count {
        pcap.seg(p, m, seq + hole, CM_ISN + 1, ACK, &data);
        seq += hole + len32(&data);
    }
    pcap.seg(p, m, seq, CM_ISN + 1, FIN, &[]);
    pcap.write(name)
}

#[test]
fn ten_thousand_segments_never_delivered_stay_under_the_queue_caps() {
    let limits = StreamLimits::default();
    let (got, stats) = observe(&holes(10_000, 100, 100, "tcp-10k-holes.pcap"), limits);
    assert!(
        stats.queue_peak_segments <= limits.max_ooo_segments as u64,
        "{stats:?}"
    );
    assert_eq!(stats.queue_peak_segments, limits.max_ooo_segments as u64);
    assert!(
        stats.queue_peak_bytes <= limits.max_ooo_bytes as u64,
        "{stats:?}"
    );
    // Every hole is declared, once; nothing is delivered as a message.
    assert_eq!(stats.gaps, 10_000);
    assert_eq!(
        got.iter()
            .filter(|(_, o)| matches!(o, Obs::Gap(..)))
            .count(),
        10_000
    );
    assert!(!got
        .iter()
        .any(|(_, o)| matches!(o, Obs::Sccp(_) | Obs::OtherMessage)));

    // Big segments reach the byte bound first.
    let (_, stats) = observe(&holes(300, 8_000, 100, "tcp-big-segments.pcap"), limits);
    assert!(
        stats.queue_peak_bytes <= limits.max_ooo_bytes as u64,
        "{stats:?}"
    );
    assert!(
        stats.queue_peak_bytes > limits.max_ooo_bytes as u64 - 8_000,
        "{stats:?}"
    );
    assert!(stats.queue_peak_segments < limits.max_ooo_segments as u64);
    assert_eq!(stats.gaps, 300);

    // And the bounds are the caller's.
    let small = StreamLimits {
        max_ooo_segments: 3,
        max_ooo_bytes: 1_000,
        ..limits
    };
    let (_, stats) = observe(&holes(1_000, 100, 100, "tcp-small-holes.pcap"), small);
    assert_eq!(stats.queue_peak_segments, 3);
    assert_eq!(stats.gaps, 1_000);

    // A segment further past the hole than the byte bound is not waited for: big
    // holes are declared before the queue fills.
    let (_, stats) = observe(&holes(300, 8_000, 8_000, "tcp-big-holes.pcap"), limits);
    assert_eq!(stats.queue_peak_segments, 16, "{stats:?}");
    assert_eq!(stats.gaps, 300);
}
