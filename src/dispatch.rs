//! From a sliced packet to dissected messages: picks the dissector by ether type,
//! port and (for SIP on odd ports) the first line, follows TFTP transfers onto the
//! server's new port (TID) and TCP streams across segments (reordered ones
//! included, see [`crate::reassembly`]), and hands every message, or the dissector's
//! error, to the caller while the frame is still borrowed, together with what the
//! engine needs of TCP itself: connection control (SYN, RST, FIN) on the call-manager
//! and config ports, payload on the HTTPS config port, and holes in followed streams.
//! TLS on the secure signalling ports (and on a signalling connection that starts with
//! a handshake) is read record by record; under a NULL suite the SCCP or SIP inside is
//! handed on too, its MAC stripped. Owns the only per-flow state of the dissection;
//! all of it is bounded. What it sees goes to an [`Observer`], told by what it borrows:
//! the frame, or a stream's buffer (then with the bytes to read it again elsewhere), so
//! that `analyze` can dissect on one thread and judge on another.

use crate::FastMap;
use std::net::IpAddr;

use parsers::{
    arp, cdp, dhcp, dns, eapol, http, icmp, lldp, sccp, sip, tftp, tls, DissectError, ErrorKind,
    Proto,
};

use crate::capture::Frame;
use crate::link::{self, LinkError, Net, Packet, TcpFlags, TcpSegment, Transport, TunnelKind};
pub use crate::reassembly::FlowKey;
use crate::reassembly::{Delivery, Placement, Stream, StreamLimits, Streams};

/// One dissected message, borrowing the frame or a stream buffer.
#[derive(Debug)]
pub enum Message<'a> {
    /// A CDP PDU.
    Cdp(cdp::CdpPacket<'a>),
    /// An LLDP PDU.
    Lldp(lldp::LldpPdu<'a>),
    /// A DHCP (BOOTP) message.
    Dhcp(dhcp::DhcpMessage<'a>),
    /// A TFTP packet.
    Tftp(tftp::TftpPacket<'a>),
    /// One SCCP PDU.
    Sccp(sccp::SccpMessage<'a>),
    /// One SIP message.
    Sip(sip::SipMessage<'a>),
    /// The head of one HTTP message on TCP 6970.
    Http(http::HttpMessage<'a>),
    /// An EAPOL PDU (802.1X port authentication, with its EAP).
    Eapol(eapol::EapolPdu<'a>),
    /// An ARP packet (Ethernet / IPv4).
    Arp(arp::ArpPacket),
    /// A DNS message on UDP 53, or one of a TCP 53 stream.
    Dns(dns::DnsMessage<'a>),
    /// An ICMP or ICMPv6 error (unreachable, time exceeded) and the datagram it quotes.
    Icmp(icmp::IcmpMessage<'a>),
    /// One TLS record on a call manager's secure port (or a signalling connection
    /// that starts with a TLS handshake).
    Tls(tls::TlsRecord<'a>),
}

impl Message<'_> {
    /// Damage inside a message the dissector still decoded (a bad TLV, options cut
    /// short, an unreadable header line): what a tshark user would see as an expert
    /// warning. `None` for a sound message.
    pub fn damage(&self) -> Option<String> {
        match self {
            Message::Cdp(m) if m.has_malformed() => Some("a TLV of the wrong size".into()),
            Message::Lldp(m) if m.truncated => Some("the PDU is cut short".into()),
            Message::Lldp(m) if m.malformed() => {
                Some("mandatory TLVs missing or out of order, or a malformed TLV".into())
            }
            Message::Dhcp(m) => m
                .options_error()
                .map(|e| format!("options unreadable from byte {}: {}", e.offset, e.kind)),
            Message::Sccp(m) if m.is_malformed() => Some(format!(
                "{} body shorter than its layout",
                m.name().unwrap_or("message")
            )),
            Message::Sip(m) if m.content_length_invalid => Some("invalid Content-Length".into()),
            Message::Sip(m) if !m.head_complete => {
                Some("the headers end before their blank line (cut short)".into())
            }
            Message::Sip(m) if !m.malformed_headers.is_empty() || m.dropped_headers > 0 => {
                Some(format!(
                    "{} unreadable and {} dropped header line(s)",
                    m.malformed_headers.len(),
                    m.dropped_headers
                ))
            }
            _ => None,
        }
    }

    /// The protocol of the message.
    pub fn proto(&self) -> Proto {
        match self {
            Message::Cdp(_) => Proto::Cdp,
            Message::Lldp(_) => Proto::Lldp,
            Message::Dhcp(_) => Proto::Dhcp,
            Message::Tftp(_) => Proto::Tftp,
            Message::Sccp(_) => Proto::Sccp,
            Message::Sip(_) => Proto::Sip,
            Message::Http(_) => Proto::Http,
            Message::Eapol(_) => Proto::Eapol,
            Message::Arp(_) => Proto::Arp,
            Message::Dns(_) => Proto::Dns,
            Message::Icmp(_) => Proto::Icmp,
            Message::Tls(_) => Proto::Tls,
        }
    }
}

/// What the dispatcher observed in a frame.
#[derive(Debug)]
pub enum Observed<'m> {
    /// A dissected message.
    Message(Message<'m>),
    /// A message a dissector rejected.
    Malformed(DissectError),
    /// A TCP segment with SYN, RST or FIN on a call-manager / config / TVS port (any of
    /// 2000, 2443, 2445, 5060, 5061, 6970, 6971, either direction), one per such segment.
    /// Retransmitted SYNs are reported each time (the engine counts retries), and so is a
    /// followed stream's segment whose bytes were all delivered before
    /// ([`TcpControlKind::Retransmission`]).
    Tcp(TcpControl),
    /// Payload on the HTTPS config port 6971: not dissected, but the engine must know a
    /// TLS session carried data. At most one per segment; no allocation. (TLS on the
    /// signalling ports 2443 / 5061 is dissected: [`Message::Tls`].)
    Encrypted {
        /// Sender → receiver.
        flow: FlowKey,
        /// Payload bytes in the segment (retransmitted ones included).
        len: usize,
    },
    /// Bytes of an HTTP body that came after its head (in this segment or later ones),
    /// in stream order, and how many of the body are still to come (0: this ends it).
    HttpBody {
        /// The bytes.
        bytes: &'m [u8],
        /// Body bytes after these.
        left: u64,
    },
    /// Bytes of a followed stream were never captured: the stream resumes at the next PDU
    /// start. `missing` is the size of the hole in bytes when known (0 when unknown).
    StreamGap {
        /// Sender → receiver.
        flow: FlowKey,
        /// Size of the hole in bytes (0: unknown).
        missing: u32,
        /// The hole is where the capture's snap length cut a segment of this stream
        /// short (not a segment lost).
        cut: bool,
    },
}

impl<'m> From<Result<Message<'m>, DissectError>> for Observed<'m> {
    fn from(r: Result<Message<'m>, DissectError>) -> Self {
        match r {
            Ok(m) => Observed::Message(m),
            Err(e) => Observed::Malformed(e),
        }
    }
}

/// Where [`Dispatcher::observe`] sends what it sees in a frame. What is read from the
/// frame's own bytes borrows the frame (`'f`) and goes to [`Self::framed`]; what is read
/// from bytes the dispatcher holds (a TCP stream's buffer, which the next segment
/// changes) borrows them for the call only and goes to [`Self::held`], a message with
/// the bytes it was read from and how ([`Again`]). So a dispatcher on one thread can
/// hand all it sees to an engine on another: the frames outlive the hand-over, held
/// bytes are copied and read again ([`reread`]).
pub trait Observer<'f> {
    /// An observation borrowing the frame.
    fn framed(&mut self, packet: &Packet<'f>, obs: Observed<'f>);
    /// An observation borrowing the dispatcher's buffers; `again` comes with every
    /// [`Observed::Message`].
    fn held(&mut self, packet: &Packet<'f>, obs: Observed<'_>, again: Option<Again<'_>>);
}

/// A message's bytes, held by the dispatcher, and how they were read: [`reread`]
/// gives the same message from a copy of them.
#[derive(Debug, Clone, Copy)]
pub struct Again<'d> {
    /// The bytes the message was read from, all of them and no more.
    pub bytes: &'d [u8],
    /// How.
    pub how: Reread,
}

/// How a stream message was read (see [`reread`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reread(ReadAs);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadAs {
    /// One message of a stream of the protocol.
    Stream(StreamProto),
    /// One TLS record, its body read as under a NULL suite with that MAC length.
    Tls { null_mac: Option<usize> },
}

/// The message that `how` read from `bytes` ([`Again`]), read again from the same
/// bytes (a copy of them): equal to the first reading, field for field.
///
/// # Errors
/// Only where the first reading failed too (never for an [`Again`] of a message).
pub fn reread(how: Reread, bytes: &[u8]) -> Result<Message<'_>, DissectError> {
    match how.0 {
        ReadAs::Stream(proto) => read_stream_message(proto, bytes).map(|read| read.message),
        ReadAs::Tls { null_mac } => {
            tls::parse(bytes).map(|(record, _)| Message::Tls(null_view(record, null_mac)))
        }
    }
}

/// A closure as an [`Observer`]: everything goes to it alike.
struct EachObserved<F>(F);

impl<'f, F: FnMut(&Packet<'f>, Observed<'_>)> Observer<'f> for EachObserved<F> {
    fn framed(&mut self, packet: &Packet<'f>, obs: Observed<'f>) {
        (self.0)(packet, obs);
    }

    fn held(&mut self, packet: &Packet<'f>, obs: Observed<'_>, _: Option<Again<'_>>) {
        (self.0)(packet, obs);
    }
}

/// The observer of one frame, and its packet, for the dissectors to send to.
struct Out<'o, 'f, O> {
    observer: &'o mut O,
    packet: Packet<'f>,
}

impl<'f, O: Observer<'f>> Out<'_, 'f, O> {
    fn framed(&mut self, stats: &mut DispatchStats, obs: Observed<'f>) {
        stats.count(&obs);
        self.observer.framed(&self.packet, obs);
    }

    fn held(&mut self, stats: &mut DispatchStats, obs: Observed<'_>, again: Option<Again<'_>>) {
        stats.count(&obs);
        self.observer.held(&self.packet, obs, again);
    }
}

/// `inner` as a part of `outer`, with `outer`'s lifetime, when its bytes are there.
fn part_of<'f>(outer: &'f [u8], inner: &[u8]) -> Option<&'f [u8]> {
    let at = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    outer
        .get(at..at.checked_add(inner.len())?)
        .filter(|part| std::ptr::eq(part.as_ptr(), inner.as_ptr()))
}

/// A TCP segment that opens, refuses or closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpControl {
    /// Sender → receiver.
    pub flow: FlowKey,
    /// What the segment does.
    pub kind: TcpControlKind,
    /// Its sequence number.
    pub seq: u32,
    /// Its acknowledgement number (as captured, even without the ACK flag).
    pub ack: u32,
}

/// The control flags of a segment, one kind per segment: RST wins over everything,
/// then SYN (SYN+ACK is [`TcpControlKind::SynAck`]), then FIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpControlKind {
    /// SYN without ACK: a connection attempt.
    Syn,
    /// SYN+ACK: the server accepts.
    SynAck,
    /// RST: refused or aborted.
    Rst,
    /// FIN: an orderly close of one direction.
    Fin,
    /// Not a flag: a segment whose bytes were all delivered before, resent because
    /// the sender got no acknowledgement (reported on the ports above, once per
    /// segment, when it carries none of the flags).
    Retransmission,
}

impl TcpControlKind {
    /// The kind a segment's flags give, if any.
    pub fn of(flags: TcpFlags) -> Option<Self> {
        if flags.has(TcpFlags::RST) {
            Some(TcpControlKind::Rst)
        } else if flags.has(TcpFlags::SYN | TcpFlags::ACK) {
            Some(TcpControlKind::SynAck)
        } else if flags.has(TcpFlags::SYN) {
            Some(TcpControlKind::Syn)
        } else if flags.has(TcpFlags::FIN) {
            Some(TcpControlKind::Fin)
        } else {
            None
        }
    }
}

/// Well-known ports (the engine uses the call-manager and config ones too).
const DHCP_SERVER: u16 = 67;
const DHCP_CLIENT: u16 = 68;
const TFTP: u16 = 69;
/// DNS.
pub const DNS: u16 = 53;
/// The IP protocol numbers of ICMP and ICMPv6.
const IP_ICMP: u8 = 1;
const IP_ICMPV6: u8 = 58;
/// SCCP.
pub const SCCP: u16 = 2000;
/// SCCP over TLS.
pub const SCCP_TLS: u16 = 2443;
/// SIP.
pub const SIP: u16 = 5060;
/// SIP over TLS.
pub const SIP_TLS: u16 = 5061;
/// HTTP configuration service of a call manager.
pub const HTTP_TFTP: u16 = 6970;
/// HTTPS configuration service.
pub const HTTPS_TFTP: u16 = 6971;
/// The Trust Verification Service of a call manager (a phone asks it to vouch for a
/// certificate its ITL does not hold).
pub const TVS: u16 = 2445;

/// The warning for a TCP stream hole, as `dissect` and `analyze` print it.
pub fn gap_warning(file: &std::path::Path, frame: u64, flow: &FlowKey, missing: u32) -> String {
    let lost = match missing {
        0 => "bytes".to_string(),
        n => format!("{n} byte(s)"),
    };
    format!(
        "{}: frame {frame}: TCP {}:{} → {}:{}: {lost} never captured; \
         the stream resumes at the next message",
        file.display(),
        flow.src,
        flow.src_port,
        flow.dst,
        flow.dst_port
    )
}

/// Ports whose connection control the engine follows (call manager and config server).
fn is_control_port(port: u16) -> bool {
    matches!(
        port,
        SCCP | SCCP_TLS | SIP | SIP_TLS | HTTP_TFTP | HTTPS_TFTP | TVS
    )
}

/// Ports whose payload is TLS: dissected on the signalling ports, only reported on
/// the HTTPS config port.
fn is_tls_port(port: u16) -> bool {
    matches!(port, SCCP_TLS | SIP_TLS | HTTPS_TFTP)
}

/// Connections followed at most in [`NullSessions`].
pub const MAX_NULL_SESSIONS: usize = 4096;

/// The TLS connections whose ServerHello chose a suite without encryption, with the
/// size of the MAC after each record's plaintext: their records after
/// ChangeCipherSpec are read in clear, and their application data as the SCCP or
/// SIP it carries. Keyed by the connection (both directions), bounded: when full,
/// the connection heard from least recently goes.
#[derive(Debug, Default)]
struct NullSessions {
    map: FastMap<Connection, (usize, i64)>,
}

/// A TCP connection, its two ends in a fixed order.
type Connection = ((IpAddr, u16), (IpAddr, u16));

fn connection(flow: &FlowKey) -> Connection {
    let (a, b) = ((flow.src, flow.src_port), (flow.dst, flow.dst_port));
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl NullSessions {
    /// The MAC size of a NULL-suite connection, marking it heard from.
    fn mac_len(&mut self, flow: &FlowKey, ts_ns: i64) -> Option<usize> {
        let e = self.map.get_mut(&connection(flow))?;
        e.1 = ts_ns;
        Some(e.0)
    }

    /// A ServerHello chose `suite` on the connection.
    fn chose(&mut self, flow: &FlowKey, suite: tls::TlsCipherSuite, ts_ns: i64) {
        let conn = connection(flow);
        let Some(mac) = suite.null_mac_len() else {
            self.map.remove(&conn);
            return;
        };
        if self.map.len() >= MAX_NULL_SESSIONS && !self.map.contains_key(&conn) {
            if let Some(oldest) = self.map.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k) {
                self.map.remove(&oldest);
            }
        }
        self.map.insert(conn, (mac, ts_ns));
    }

    fn max_heap_bytes() -> usize {
        let buckets = (MAX_NULL_SESSIONS * 8 / 7).next_power_of_two();
        buckets * (std::mem::size_of::<(Connection, (usize, i64))>() + 1)
    }
}

/// How the stateless sort ([`sort`]) sees a frame.
pub enum Sorted<'f> {
    /// Not worth dissecting: only its time counts.
    Bulk,
    /// Worth dissecting, sliced (`None`: the link layer cannot slice it, and the
    /// dispatcher counts it).
    Dissect(Option<Packet<'f>>),
}

/// Sort a frame by [`packet_worth_dissecting`]: the bulk (IPv4 on ports of no
/// interest) is told at a glance ([`link::glance`]); the rest is sliced once, for the
/// sort and the dispatcher alike.
#[inline]
pub fn sort<'f>(frame: &Frame<'f>) -> Sorted<'f> {
    if link::glance(frame).is_some_and(|t| !transport_worth_dissecting(&t)) {
        return Sorted::Bulk;
    }
    match link::decode(frame) {
        Ok(p) if !packet_worth_dissecting(&p) => Sorted::Bulk,
        Ok(p) => Sorted::Dissect(Some(p)),
        Err(_) => Sorted::Dissect(None),
    }
}

/// Whether a frame could matter to the dispatcher, decided from the frame alone (no
/// state), so it can run ahead on another thread and the bulk of a capture (RTP, file
/// copies, web) never reaches the dissectors. Everything the dispatcher reads passes:
/// CDP, LLDP, EAPOL, frames the link layer cannot slice (counted there), DHCP, TFTP, SIP and
/// the TCP ports of SCCP, SIP and HTTP config, ARP, DNS on UDP and TCP 53, and ICMP errors
/// only (v4 destination unreachable 3 or time exceeded 11, v6 1 or 3, told from the
/// first byte: echoes and neighbour discovery stay bulk). A TFTP transfer moves to ports
/// both ends choose, so a datagram on other ports passes when it starts with a TFTP
/// opcode (0x0001-0x0006); one that does not is not TFTP, even between a transfer's ends.
/// Takes the frame as the link layer sliced it; one it cannot slice always passes.
pub fn packet_worth_dissecting(packet: &Packet<'_>) -> bool {
    match packet.net {
        Net::Cdp(_) | Net::Lldp(_) | Net::Eapol(_) | Net::Arp(_) => true,
        Net::Ip(ip) => transport_worth_dissecting(&ip.transport),
        Net::OtherEthertype(_) | Net::OtherLlc => false,
    }
}

/// [`packet_worth_dissecting`] for an IP packet's transport (as [`link::glance`]
/// gives it before the frame is sliced).
#[inline]
pub fn transport_worth_dissecting(transport: &Transport<'_>) -> bool {
    match *transport {
        Transport::Udp {
            src_port,
            dst_port,
            payload,
        } => {
            let port = |p| src_port == p || dst_port == p;
            port(DHCP_SERVER)
                || port(DHCP_CLIENT)
                || port(TFTP)
                || port(SIP)
                || port(DNS)
                || matches!(payload, [0, 1..=6, ..])
                || looks_like_sip(payload)
        }
        Transport::Tcp(seg) => [seg.src_port, seg.dst_port]
            .iter()
            .any(|&p| is_control_port(p) || is_tls_port(p) || p == DNS),
        Transport::Other { protocol, payload } => is_icmp_error(protocol, payload),
        Transport::Fragment { .. } => false,
    }
}

/// Whether an IP payload of protocol `protocol` is an ICMP error worth reading, from
/// its type byte: ICMP destination unreachable (3) or time exceeded (11), ICMPv6
/// destination unreachable (1) or time exceeded (3).
#[inline]
fn is_icmp_error(protocol: u8, payload: &[u8]) -> bool {
    matches!(
        (protocol, payload.first()),
        (IP_ICMP, Some(3 | 11)) | (IP_ICMPV6, Some(1 | 3))
    )
}

/// A UDP datagram's addresses, ports and payload.
#[derive(Clone, Copy)]
struct Datagram<'a> {
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// The datagram of a UDP packet.
    fn of(ip: &link::Ip<'a>) -> Option<Self> {
        match ip.transport {
            Transport::Udp {
                src_port,
                dst_port,
                payload,
            } => Some(Datagram {
                src: ip.src,
                dst: ip.dst,
                sport: src_port,
                dport: dst_port,
                payload,
            }),
            _ => None,
        }
    }

    /// Either port, as tshark decides: relays and odd clients use other source ports.
    fn is_dhcp(&self) -> bool {
        matches!(self.sport, DHCP_SERVER | DHCP_CLIENT)
            || matches!(self.dport, DHCP_SERVER | DHCP_CLIENT)
    }

    fn is_sip(&self) -> bool {
        self.sport == SIP || self.dport == SIP || looks_like_sip(self.payload)
    }
}

/// Bounds on the TFTP transfers followed at once.
pub const MAX_TFTP_TRANSFERS: usize = 65_536;
/// A transfer silent this long (capture time) is forgotten.
const TFTP_IDLE_NS: i64 = 120 * 1_000_000_000;

/// A TFTP transfer: the client's endpoint (which keeps its port) and the server's address.
#[derive(Debug, Clone, Copy)]
struct TftpTransfer {
    server: IpAddr,
    last_ns: i64,
}

/// Counters for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchStats {
    /// Frames the link layer could not slice.
    pub link_errors: u64,
    /// Messages decoded.
    pub messages: u64,
    /// Messages a dissector rejected (reported as malformed).
    pub malformed: u64,
    /// TFTP transfers forgotten (idle while the table was full) or not followed
    /// (the table full of live ones).
    pub tftp_evicted: u64,
}

impl DispatchStats {
    fn count(&mut self, obs: &Observed<'_>) {
        match obs {
            Observed::Message(_) => self.messages += 1,
            Observed::Malformed(_) => self.malformed += 1,
            Observed::Tcp(_)
            | Observed::Encrypted { .. }
            | Observed::StreamGap { .. }
            | Observed::HttpBody { .. } => {}
        }
    }
}

/// Tunnels listed at most in [`TunnelTally`]: a capture has a few (one per mirroring
/// switch, a pair per access point); the frames of others are counted together.
pub const MAX_TUNNELS_LISTED: usize = 64;

/// The tunnels the dispatched frames came in, by kind and outer addresses (in the
/// order first seen), with the frames each brought.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TunnelTally {
    listed: Vec<((TunnelKind, IpAddr, IpAddr), u64)>,
    /// Frames that came in tunnels beyond the first [`MAX_TUNNELS_LISTED`].
    pub unlisted_frames: u64,
}

impl TunnelTally {
    fn count(&mut self, kind: TunnelKind, src: IpAddr, dst: IpAddr) {
        let key = (kind, src, dst);
        if let Some((_, n)) = self.listed.iter_mut().find(|(k, _)| *k == key) {
            *n += 1;
        } else if self.listed.len() < MAX_TUNNELS_LISTED {
            self.listed.push((key, 1));
        } else {
            self.unlisted_frames += 1;
        }
    }

    /// Each tunnel (kind, outer source, outer destination) and its frames.
    pub fn iter(&self) -> impl Iterator<Item = (TunnelKind, IpAddr, IpAddr, u64)> + '_ {
        self.listed.iter().map(|&((k, s, d), n)| (k, s, d, n))
    }
}

/// The dissection state of one capture (or one live session).
#[derive(Debug, Default)]
pub struct Dispatcher {
    streams: Streams,
    null_sessions: NullSessions,
    tftp: FastMap<(IpAddr, u16), TftpTransfer>,
    /// No sweep of a full TFTP table before this capture time.
    next_tftp_sweep_ns: Option<i64>,
    /// Counters.
    pub stats: DispatchStats,
    /// The tunnels frames came in.
    pub tunnels: TunnelTally,
}

/// Which stream protocol a TCP port selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamProto {
    Sccp,
    Sip,
    Http,
    Dns,
    Tls,
}

/// The direction of a TCP connection a segment travels.
fn flow_of(ip: &link::Ip<'_>, seg: &TcpSegment<'_>) -> FlowKey {
    FlowKey {
        src: ip.src,
        dst: ip.dst,
        src_port: seg.src_port,
        dst_port: seg.dst_port,
    }
}

/// The protocol of a followed TCP stream, by its ports (SCCP, SIP, HTTP config, DNS).
pub fn stream_proto(flow: &FlowKey) -> Option<Proto> {
    Some(match StreamProto::of_ports(flow.src_port, flow.dst_port)? {
        StreamProto::Sccp => Proto::Sccp,
        StreamProto::Sip => Proto::Sip,
        StreamProto::Http => Proto::Http,
        StreamProto::Dns => Proto::Dns,
        StreamProto::Tls => Proto::Tls,
    })
}

impl StreamProto {
    /// The protocol a segment's ports select, if any: the cleartext port decides
    /// first (an ephemeral port may be anything).
    fn of_ports(src_port: u16, dst_port: u16) -> Option<Self> {
        match (src_port, dst_port) {
            (SCCP, _) | (_, SCCP) => Some(StreamProto::Sccp),
            (SIP, _) | (_, SIP) => Some(StreamProto::Sip),
            (HTTP_TFTP, _) | (_, HTTP_TFTP) => Some(StreamProto::Http),
            (DNS, _) | (_, DNS) => Some(StreamProto::Dns),
            (SCCP_TLS | SIP_TLS, _) | (_, SCCP_TLS | SIP_TLS) => Some(StreamProto::Tls),
            _ => None,
        }
    }
}

impl Dispatcher {
    /// A dispatcher with the given TCP stream bounds.
    pub fn new(limits: StreamLimits) -> Self {
        Dispatcher {
            streams: Streams::new(limits),
            ..Dispatcher::default()
        }
    }

    /// The most heap the dispatcher's tables can take: the TFTP transfers (a full
    /// table) and the TCP streams with `limits`.
    pub fn max_heap_bytes(limits: &StreamLimits) -> usize {
        let buckets = (MAX_TFTP_TRANSFERS * 8 / 7).next_power_of_two();
        buckets * (std::mem::size_of::<((IpAddr, u16), TftpTransfer)>() + 1)
            + Streams::max_heap_bytes(limits)
            + NullSessions::max_heap_bytes()
    }

    /// The TCP stream bounds in force.
    pub fn stream_limits(&self) -> StreamLimits {
        self.streams.limits()
    }

    /// TCP stream counters (retransmissions, gaps, evictions).
    pub fn stream_stats(&self) -> crate::reassembly::StreamStats {
        self.streams.stats
    }

    /// Bytes the followed streams' receivers acknowledged that the capture never held.
    pub fn unseen(&self) -> crate::reassembly::Unseen {
        self.streams.unseen()
    }

    /// Dissect one frame: `on_obs` gets the packet view and everything observed in
    /// it, in order. For a TCP segment: a SYN or SYN+ACK first, then the stream's
    /// messages and gaps (or its TLS payload), then a FIN or RST.
    ///
    /// # Errors
    /// The link or IP layer cannot be sliced; the frame carries nothing further.
    pub fn frame<'f, F>(&mut self, frame: &Frame<'f>, on_obs: F) -> Result<(), LinkError>
    where
        F: FnMut(&Packet<'f>, Observed<'_>),
    {
        let packet = link::decode(frame).inspect_err(|_| self.stats.link_errors += 1)?;
        self.packet(frame, packet, on_obs);
        Ok(())
    }

    /// [`Self::frame`] for a frame the link layer has already sliced into `packet`
    /// (perhaps on another thread).
    pub fn packet<'f, F>(&mut self, frame: &Frame<'f>, packet: Packet<'f>, on_obs: F)
    where
        F: FnMut(&Packet<'f>, Observed<'_>),
    {
        self.observe(frame, packet, &mut EachObserved(on_obs));
    }

    /// [`Self::packet`], what is seen sent to `observer` told by what it borrows.
    pub fn observe<'f, O: Observer<'f>>(
        &mut self,
        frame: &Frame<'f>,
        packet: Packet<'f>,
        observer: &mut O,
    ) {
        if let Some(t) = &packet.tunnel {
            if let Some((src, dst)) = link::tunnel_endpoints(frame) {
                self.tunnels.count(t.kind, src, dst);
            }
        }
        let mut out = Out { observer, packet };
        let stats = &mut self.stats;
        match packet.net {
            Net::Cdp(b) => out.framed(stats, cdp::parse(b).map(Message::Cdp).into()),
            Net::Lldp(b) => out.framed(stats, lldp::parse(b).map(Message::Lldp).into()),
            Net::Eapol(b) => out.framed(stats, eapol::parse(b).map(Message::Eapol).into()),
            Net::Arp(b) => out.framed(stats, arp::parse(b).map(Message::Arp).into()),
            Net::Ip(ip) => match ip.transport {
                Transport::Udp { .. } => {
                    let datagram = Datagram::of(&ip);
                    if let Some(m) = datagram.and_then(|d| self.udp(&d, frame.ts_ns)) {
                        out.framed(&mut self.stats, m.into());
                    }
                }
                Transport::Tcp(seg) => {
                    let flow = flow_of(&ip, &seg);
                    let control = (is_control_port(seg.src_port) || is_control_port(seg.dst_port))
                        .then(|| TcpControlKind::of(seg.flags))
                        .flatten()
                        .map(|kind| TcpControl {
                            flow,
                            kind,
                            seq: seg.seq,
                            ack: seg.ack,
                        });
                    let opens = |c: &TcpControl| {
                        matches!(c.kind, TcpControlKind::Syn | TcpControlKind::SynAck)
                    };
                    if let Some(c) = control.filter(opens) {
                        out.framed(stats, Observed::Tcp(c));
                    }
                    if let Some(proto) = StreamProto::of_ports(seg.src_port, seg.dst_port) {
                        let resent_before = self.streams.stats.retransmissions;
                        let tls = &mut self.null_sessions;
                        let stream = (proto, flow, &seg, frame.ts_ns);
                        tcp_stream(&mut self.streams, tls, stream, stats, &mut out);
                        let resent = self.streams.stats.retransmissions > resent_before;
                        let on_control_port =
                            is_control_port(seg.src_port) || is_control_port(seg.dst_port);
                        if resent && on_control_port && control.is_none() {
                            let kind = TcpControlKind::Retransmission;
                            let (seq, ack) = (seg.seq, seg.ack);
                            let c = TcpControl {
                                flow,
                                kind,
                                seq,
                                ack,
                            };
                            out.framed(stats, Observed::Tcp(c));
                        }
                        // A segment the snap length cut: its hole is known now, not
                        // when (or if) later bytes of the stream come.
                        let missing = frame.orig_len.saturating_sub(frame.data.len() as u32);
                        if missing > 0 && !seg.payload.is_empty() {
                            let syn = u32::from(seg.flags.has(TcpFlags::SYN));
                            let end = seg
                                .seq
                                .wrapping_add(syn)
                                .wrapping_add(seg.payload.len() as u32);
                            if self.streams.cut_short(&flow, end, missing) {
                                let cut = true;
                                let gap = Observed::StreamGap { flow, missing, cut };
                                out.framed(stats, gap);
                            }
                        }
                    } else if (is_tls_port(seg.src_port) || is_tls_port(seg.dst_port))
                        && !seg.payload.is_empty()
                    {
                        let len = seg.payload.len();
                        out.framed(stats, Observed::Encrypted { flow, len });
                    }
                    if let Some(c) = control.filter(|c| !opens(c)) {
                        out.framed(stats, Observed::Tcp(c));
                    }
                }
                Transport::Other { protocol, payload } if is_icmp_error(protocol, payload) => {
                    let m = if protocol == IP_ICMP {
                        icmp::parse_v4(payload)
                    } else {
                        icmp::parse_v6(payload)
                    };
                    out.framed(stats, m.map(Message::Icmp).into());
                }
                Transport::Fragment { .. } | Transport::Other { .. } => {}
            },
            Net::OtherEthertype(_) | Net::OtherLlc => {}
        }
    }

    fn udp<'a>(
        &mut self,
        d: &Datagram<'a>,
        ts_ns: i64,
    ) -> Option<Result<Message<'a>, DissectError>> {
        let Datagram {
            src,
            dst,
            sport,
            dport,
            payload,
        } = *d;
        // The order decides (it is tshark's): DHCP ports, TFTP's port, a followed TFTP
        // transfer, SIP.
        if d.is_dhcp() {
            return Some(dhcp::parse(payload).map(Message::Dhcp));
        }
        if dport == TFTP || sport == TFTP {
            let m = tftp::parse(payload);
            if dport == TFTP {
                if let Ok(tftp::TftpPacket::ReadRequest(_) | tftp::TftpPacket::WriteRequest(_)) = &m
                {
                    self.follow_tftp(src, sport, dst, ts_ns);
                }
            }
            return Some(m.map(Message::Tftp));
        }
        if self.is_tftp_transfer(src, sport, dst, dport, ts_ns) {
            return Some(tftp::parse(payload).map(Message::Tftp));
        }
        if sport == DNS || dport == DNS {
            return Some(dns::parse(payload).map(Message::Dns));
        }
        if d.is_sip() {
            return Some(sip::parse(payload).map(Message::Sip));
        }
        None
    }

    fn follow_tftp(&mut self, client: IpAddr, client_port: u16, server: IpAddr, ts_ns: i64) {
        if self.tftp.len() >= MAX_TFTP_TRANSFERS && !self.tftp.contains_key(&(client, client_port))
        {
            // Swept at most once a second of capture time: a flood of read requests
            // must not cost a pass over the whole table each.
            if self.next_tftp_sweep_ns.is_none_or(|next| ts_ns >= next) {
                self.next_tftp_sweep_ns = Some(ts_ns.saturating_add(1_000_000_000));
                let before = self.tftp.len();
                self.tftp
                    .retain(|_, t| ts_ns.saturating_sub(t.last_ns) <= TFTP_IDLE_NS);
                self.stats.tftp_evicted += (before - self.tftp.len()) as u64;
            }
            if self.tftp.len() >= MAX_TFTP_TRANSFERS {
                self.stats.tftp_evicted += 1;
                return;
            }
        }
        self.tftp.insert(
            (client, client_port),
            TftpTransfer {
                server,
                last_ns: ts_ns,
            },
        );
    }

    /// Whether a datagram belongs to a followed transfer: between the client's endpoint
    /// and the server's address, whatever port the server picked.
    fn is_tftp_transfer(
        &mut self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        ts_ns: i64,
    ) -> bool {
        for (client, server) in [((dst, dport), src), ((src, sport), dst)] {
            if let Some(t) = self.tftp.get_mut(&client) {
                if t.server == server {
                    t.last_ns = ts_ns;
                    return true;
                }
            }
        }
        false
    }
}

/// SIP on a port other than 5060: the first line must be a SIP request or status line.
fn looks_like_sip(payload: &[u8]) -> bool {
    // A status line ("SIP/2.0 …") and a method both start with an upper-case letter;
    // RTP (0x80…) and most of the bulk stop here.
    if !payload.first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    if payload.starts_with(b"SIP/2.0 ") {
        return true;
    }
    // "METHOD uri SIP/2.0\r\n": look only at the first line, and only so far. The
    // method first: bulk that starts with a capital fails there within a byte or two.
    // (Read up to the first space of the head rather than of the line: a line with
    // no space fails the version test below anyway.)
    let head = payload.get(..payload.len().min(512)).unwrap_or_default();
    let method_ok = head
        .iter()
        .take_while(|&&b| b != b' ')
        .all(u8::is_ascii_uppercase);
    if !method_ok {
        return false;
    }
    let Some(eol) = memchr::memchr2(b'\r', b'\n', head) else {
        return false;
    };
    head.get(..eol).unwrap_or_default().ends_with(b" SIP/2.0")
}

/// Whether unaligned stream bytes start like a PDU of `proto`, so that a mid-PDU
/// segment (after a gap, or at a capture's start) is not read as garbage.
/// Bytes of an SCCP header: data length, header version, message id (u32 each).
const SCCP_HEADER: usize = 12;

/// Whether `data`, shorter than an SCCP header, may be the start of one (its length
/// and version fields plausible as far as they go): kept for the next segment of a
/// stream joined mid-way, rather than dropped.
fn sccp_header_prefix(data: &[u8]) -> bool {
    let word = |at: usize| {
        data.get(at..at + 4)
            .and_then(|w| w.try_into().ok())
            .map(u32::from_le_bytes)
    };
    data.len() < SCCP_HEADER
        && word(0).is_none_or(|len| (sccp::MIN_DATA_LENGTH..=sccp::MAX_DATA_LENGTH).contains(&len))
        && word(4).is_none_or(|v| v <= sccp::MAX_HEADER_VERSION)
}

fn plausible_start(proto: StreamProto, data: &[u8]) -> bool {
    match proto {
        StreamProto::Sccp => {
            // data length u32, header version u32, message id u32 (little-endian)
            let Some(&[l0, l1, l2, l3, v0, v1, v2, v3, m0, m1, m2, m3]) = data.get(..SCCP_HEADER)
            else {
                return false;
            };
            let len = u32::from_le_bytes([l0, l1, l2, l3]);
            let version = u32::from_le_bytes([v0, v1, v2, v3]);
            let id = sccp::SccpMessageId(u32::from_le_bytes([m0, m1, m2, m3]));
            (sccp::MIN_DATA_LENGTH..=sccp::MAX_DATA_LENGTH).contains(&len)
                && version <= sccp::MAX_HEADER_VERSION
                && id.name().is_some()
        }
        StreamProto::Sip => {
            let d = trim_crlf(data);
            looks_like_sip(d)
        }
        // A 2-byte length of at least a header, then (when there) a header whose opcode
        // is a known one and whose Z bit is clear.
        StreamProto::Dns => match data {
            [hi, lo, rest @ ..] => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                len >= dns::HEADER_LEN
                    && rest.get(2).is_none_or(|f| (f >> 3) & 0xf <= 5)
                    && rest.get(3).is_none_or(|f| f & 0x40 == 0)
            }
            _ => false,
        },
        StreamProto::Tls => tls::looks_like_record(data),
        StreamProto::Http => {
            let d = data.get(..data.len().min(16)).unwrap_or_default();
            d.starts_with(b"HTTP/")
                || [&b"GET "[..], b"HEAD ", b"POST ", b"PUT "]
                    .iter()
                    .any(|m| d.starts_with(m))
        }
    }
}

/// Whether bytes at a message boundary of an SCCP or SIP connection are a TLS
/// record: a content type of 20-24, version 3.1-3.4. An SCCP header cannot look so
/// (its length's third byte would make it above 64 KiB), nor can SIP (its first
/// byte is a capital letter).
fn tls_on_plain_port(proto: StreamProto, data: &[u8]) -> bool {
    matches!(proto, StreamProto::Sccp | StreamProto::Sip) && matches!(data, [20..=24, 3, 1..=4, ..])
}

/// What the TLS reading of a stream needs beyond its bytes: the NULL-suite
/// connections, and which connection and when.
struct TlsContext<'s> {
    sessions: &'s mut NullSessions,
    flow: FlowKey,
    ts_ns: i64,
}

impl TlsContext<'_> {
    /// Hand on a record (read from `raw`); under a NULL suite, read what it protects:
    /// the handshake and alerts after ChangeCipherSpec, and the SCCP or SIP of
    /// application data.
    fn record<'d, F>(&mut self, record: tls::TlsRecord<'d>, raw: &'d [u8], emit: &mut F)
    where
        F: FnMut(Observed<'d>, Option<Again<'d>>),
    {
        for h in record.handshakes() {
            if let tls::TlsHandshake::ServerHello(sh) = h {
                self.sessions.chose(&self.flow, sh.cipher_suite, self.ts_ns);
            }
        }
        let null_mac = self.sessions.mac_len(&self.flow, self.ts_ns);
        let record = null_view(record, null_mac);
        let plaintext = match (&record.body, null_mac) {
            (&tls::TlsBody::ApplicationData(d), Some(mac)) => null_plaintext(d, mac),
            _ => None,
        };
        let how = Reread(ReadAs::Tls { null_mac });
        emit(
            Observed::Message(Message::Tls(record)),
            Some(Again { bytes: raw, how }),
        );
        if let Some(p) = plaintext {
            self.inner(p, emit);
        }
    }

    /// The SCCP or SIP messages of one record's plaintext (a message cut at the
    /// record's end is not read: phones send whole messages per record).
    fn inner<'d, F>(&self, mut p: &'d [u8], emit: &mut F)
    where
        F: FnMut(Observed<'d>, Option<Again<'d>>),
    {
        let ports = [self.flow.src_port, self.flow.dst_port];
        let sccp = ports.contains(&SCCP_TLS) || ports.contains(&SCCP);
        let proto = if sccp {
            StreamProto::Sccp
        } else {
            StreamProto::Sip
        };
        while !p.is_empty() {
            let at = if sccp { p } else { trim_crlf(p) };
            match read_stream_message(proto, at) {
                Ok(read) => {
                    let raw = at.get(..read.bytes).unwrap_or(at);
                    let how = Reread(ReadAs::Stream(proto));
                    emit(
                        Observed::Message(read.message),
                        Some(Again { bytes: raw, how }),
                    );
                    p = read.after;
                }
                Err(DissectError {
                    kind: ErrorKind::NeedMore(_),
                    ..
                }) => return,
                Err(e) => {
                    emit(Observed::Malformed(e), None);
                    return;
                }
            }
            if !sccp {
                p = trim_crlf(p);
            }
        }
    }
}

/// A record as read under a NULL suite whose MAC is `null_mac` bytes long (`None`:
/// not under one): a handshake or an alert after ChangeCipherSpec read through.
fn null_view(record: tls::TlsRecord<'_>, null_mac: Option<usize>) -> tls::TlsRecord<'_> {
    let (Some(mac), &tls::TlsBody::Opaque(d)) = (null_mac, &record.body) else {
        return record;
    };
    let body = match (record.content_type, null_plaintext(d, mac)) {
        (tls::TlsContentType::HANDSHAKE, Some(p)) => {
            tls::handshake_messages(p).map(tls::TlsBody::Handshake)
        }
        (tls::TlsContentType::ALERT, Some(&[level, description])) => Some(tls::TlsBody::Alert {
            level: tls::TlsAlertLevel(level),
            description: tls::TlsAlertDescription(description),
        }),
        _ => None,
    };
    tls::TlsRecord {
        body: body.unwrap_or(tls::TlsBody::Opaque(d)),
        ..record
    }
}

/// A NULL-suite record's body without its MAC.
fn null_plaintext(d: &[u8], mac: usize) -> Option<&[u8]> {
    d.len().checked_sub(mac).and_then(|n| d.get(..n))
}

fn trim_crlf(mut d: &[u8]) -> &[u8] {
    while let Some((b'\r' | b'\n', rest)) = d.split_first() {
        d = rest;
    }
    d
}

/// What one pass of an application parser over stream bytes did.
#[derive(Debug, Clone, Copy)]
struct Consumed {
    /// Bytes fully used (messages, skipped body, dropped junk).
    used: usize,
    /// Whether the stream is still aligned on a message boundary afterwards.
    aligned: bool,
    /// More bytes the parser needs for the message left unfinished (0: none).
    need: usize,
}

/// Place a segment in its stream and dissect what it completes, held segments it
/// makes contiguous included; report the holes declared on the way. What is read
/// from the segment's own bytes goes out framed, what from the stream's buffer held.
fn tcp_stream<'f, O: Observer<'f>>(
    streams: &mut Streams,
    null_sessions: &mut NullSessions,
    (proto, key, seg, ts_ns): (StreamProto, FlowKey, &TcpSegment<'f>, i64),
    stats: &mut DispatchStats,
    out: &mut Out<'_, 'f, O>,
) {
    let limits = streams.limits();
    let mut tls = TlsContext {
        sessions: null_sessions,
        flow: key,
        ts_ns,
    };
    streams.segment(key, seg, ts_ns, |d| match d {
        Delivery::Gap { missing } => out.framed(
            stats,
            Observed::StreamGap {
                flow: key,
                missing,
                cut: false,
            },
        ),
        Delivery::Bytes(placed) => {
            let fresh = placed.fresh;
            let aligned = placed.placement == Placement::InOrder;
            // Bytes of this segment, rather than of one held from before.
            let framed = part_of(seg.payload, fresh);
            match placed.stream {
                None => {
                    // No state (table full): read the segment on its own.
                    let mut skip = 0;
                    let stream_bytes = (proto, aligned, &mut skip);
                    match framed {
                        Some(f) => parse_framed(stream_bytes, f, &mut tls, stats, out),
                        None => parse_held(stream_bytes, fresh, &mut tls, stats, out),
                    };
                }
                Some(stream) => {
                    let before = stream.pending.len();
                    let budget = limits.max_pending.min(
                        (limits.max_pending_total + before).saturating_sub(*placed.pending_total),
                    );
                    let fresh = (fresh, framed);
                    if feed(stream, proto, fresh, aligned, budget, &mut tls, stats, out) {
                        placed.stats.over_budget += 1;
                    }
                    *placed.pending_total =
                        placed.pending_total.saturating_sub(before) + stream.pending.len();
                }
            }
        }
    });
}

/// [`parse_stream_bytes`] over bytes of the frame.
fn parse_framed<'f, O: Observer<'f>>(
    (proto, aligned, skip): (StreamProto, bool, &mut u64),
    data: &'f [u8],
    tls: &mut TlsContext<'_>,
    stats: &mut DispatchStats,
    out: &mut Out<'_, 'f, O>,
) -> Consumed {
    parse_stream_bytes(proto, data, aligned, skip, tls, &mut |o, _| {
        out.framed(stats, o);
    })
}

/// [`parse_stream_bytes`] over bytes the stream holds.
fn parse_held<'f, O: Observer<'f>>(
    (proto, aligned, skip): (StreamProto, bool, &mut u64),
    data: &[u8],
    tls: &mut TlsContext<'_>,
    stats: &mut DispatchStats,
    out: &mut Out<'_, 'f, O>,
) -> Consumed {
    parse_stream_bytes(proto, data, aligned, skip, tls, &mut |o, again| {
        out.held(stats, o, again);
    })
}

/// Parse what `fresh` completes in `stream`; keep an unfinished message's bytes (at
/// most `budget`). Returns true when the budget forced the stream to drop them.
/// `fresh` comes with its place in the frame, when it is there.
#[allow(clippy::too_many_arguments)]
fn feed<'f, O: Observer<'f>>(
    stream: &mut Stream,
    proto: StreamProto,
    (fresh, framed): (&[u8], Option<&'f [u8]>),
    aligned: bool,
    budget: usize,
    tls: &mut TlsContext<'_>,
    stats: &mut DispatchStats,
    out: &mut Out<'_, 'f, O>,
) -> bool {
    let pending = stream.pending.len();
    if pending > 0 && pending + fresh.len() < stream.need {
        // The parser said how much it needs: no use parsing before that.
        if pending + fresh.len() > budget {
            stream.lose_alignment();
            return true;
        }
        stream.pending.extend_from_slice(fresh);
        return false;
    }
    let mut skip = stream.skip;
    let (c, rest_len) = if pending == 0 {
        // The common case: parse straight from the frame, copy only a split PDU's head.
        let c = match framed {
            Some(f) => parse_framed((proto, aligned, &mut skip), f, tls, stats, out),
            None => parse_held((proto, aligned, &mut skip), fresh, tls, stats, out),
        };
        (c, fresh.len() - c.used)
    } else {
        stream.pending.extend_from_slice(fresh);
        let held = (proto, true, &mut skip);
        let c = parse_held(held, &stream.pending, tls, stats, out);
        let rest = stream.pending.len() - c.used;
        (c, rest)
    };
    stream.skip = skip;
    if !c.aligned {
        stream.lose_alignment();
        return false;
    }
    if rest_len > budget {
        stream.lose_alignment();
        return true;
    }
    stream.realign();
    if pending == 0 {
        stream
            .pending
            .extend_from_slice(fresh.get(c.used..).unwrap_or_default());
    } else {
        stream.consume_pending(c.used);
    }
    stream.need = if rest_len == 0 { 0 } else { rest_len + c.need };
    false
}

/// Dissect every complete message in `data`; stop at a message that continues past it.
/// Each message goes to `emit` with the bytes it was read from ([`Again`]).
fn parse_stream_bytes<'d, F>(
    proto: StreamProto,
    data: &'d [u8],
    mut aligned: bool,
    skip: &mut u64,
    tls: &mut TlsContext<'_>,
    emit: &mut F,
) -> Consumed
where
    F: FnMut(Observed<'d>, Option<Again<'d>>),
{
    let mut rest = data;
    loop {
        if *skip > 0 {
            let n = usize::try_from(*skip).unwrap_or(usize::MAX).min(rest.len());
            let (body, after) = rest.split_at_checked(n).unwrap_or((rest, &[]));
            rest = after;
            *skip -= n as u64;
            if proto == StreamProto::Http && !body.is_empty() {
                let left = *skip;
                emit(Observed::HttpBody { bytes: body, left }, None);
            }
            if *skip > 0 {
                // Inside a body whose length is known: still aligned after it.
                return Consumed {
                    used: data.len(),
                    aligned: true,
                    need: 0,
                };
            }
        }
        if proto == StreamProto::Sip {
            // RFC 5626 keep-alives: bare CRLFs between messages.
            rest = trim_crlf(rest);
        }
        if rest.is_empty() {
            break;
        }
        // A signalling connection that speaks TLS on the plain port.
        let proto = if tls_on_plain_port(proto, rest) {
            StreamProto::Tls
        } else {
            proto
        };
        if !aligned {
            if proto == StreamProto::Sccp && sccp_header_prefix(rest) {
                // Too short to tell: wait for the rest of the header, still unsure.
                return Consumed {
                    used: data.len() - rest.len(),
                    aligned: true,
                    need: SCCP_HEADER - rest.len(),
                };
            }
            if !plausible_start(proto, rest) {
                // Mid-PDU bytes: drop the segment, look for a start in the next one.
                return Consumed {
                    used: data.len(),
                    aligned: false,
                    need: 0,
                };
            }
            aligned = true;
        }
        match read_stream_message(proto, rest) {
            Ok(read) => {
                let raw = rest.get(..read.bytes).unwrap_or(rest);
                match read.message {
                    // Its connection's suite decides how it reads.
                    Message::Tls(record) => tls.record(record, raw, emit),
                    message => {
                        let how = Reread(ReadAs::Stream(proto));
                        let again = Again { bytes: raw, how };
                        emit(Observed::Message(message), Some(again));
                    }
                }
                rest = read.after;
                match read.body {
                    Some(n) => {
                        aligned = true;
                        *skip = n;
                    }
                    // A chunked body: the next message start is found by its first line.
                    None => aligned = false,
                }
            }
            Err(DissectError {
                kind: ErrorKind::NeedMore(_),
                ..
            }) => break,
            Err(e) => {
                emit(Observed::Malformed(e), None);
                return Consumed {
                    used: data.len(),
                    aligned: false,
                    need: 0,
                };
            }
        }
    }
    Consumed {
        used: data.len() - rest.len(),
        aligned,
        need: 0,
    }
}

/// One message read at the start of a stream's bytes.
struct StreamMessage<'d> {
    message: Message<'d>,
    /// Bytes it was read from: an HTTP head's with its body when the body is there.
    bytes: usize,
    /// The bytes after it (after an HTTP head: its body).
    after: &'d [u8],
    /// Body bytes to skip after it (`None`: unknown, the next message is found by
    /// its first line).
    body: Option<u64>,
}

/// The message of a stream of `proto` at the start of `data` (TLS: one record, read
/// as it is; [`TlsContext`] reads its NULL suites).
fn read_stream_message(proto: StreamProto, data: &[u8]) -> Result<StreamMessage<'_>, DissectError> {
    fn whole<'d>(data: &'d [u8], (message, after): (Message<'d>, &'d [u8])) -> StreamMessage<'d> {
        StreamMessage {
            bytes: data.len() - after.len(),
            message,
            after,
            body: Some(0),
        }
    }
    Ok(match proto {
        StreamProto::Sccp => whole(data, sccp::parse(data).map(|(m, r)| (Message::Sccp(m), r))?),
        StreamProto::Sip => whole(
            data,
            sip::parse_stream(data).map(|(m, r)| (Message::Sip(m), r))?,
        ),
        StreamProto::Dns => whole(
            data,
            dns::parse_tcp(data).map(|(m, r)| (Message::Dns(m), r))?,
        ),
        StreamProto::Tls => whole(data, tls::parse(data).map(|(m, r)| (Message::Tls(m), r))?),
        StreamProto::Http => {
            let (mut m, after) = http::parse_head(data)?;
            let body = http_body_len(&m);
            // A body already whole in the buffer goes with its head (the engine reads
            // a configuration's); a longer one is skipped as it comes.
            if let Some(n) = body.filter(|&n| n != u64::MAX) {
                m.body = usize::try_from(n).ok().and_then(|n| after.get(..n));
            }
            let with_body = m.body.map_or(0, <[u8]>::len);
            StreamMessage {
                bytes: data.len() - after.len() + with_body,
                message: Message::Http(m),
                after,
                body,
            }
        }
    })
}

/// How many body bytes follow an HTTP head; `None` when its framing is unknown
/// (chunked, or an unreadable Content-Length): the next message is then found by
/// its first line.
fn http_body_len(m: &http::HttpMessage<'_>) -> Option<u64> {
    match m.body_framing() {
        http::HttpBodyFraming::Length(n) => Some(n),
        http::HttpBodyFraming::UntilClose => Some(u64::MAX),
        http::HttpBodyFraming::Chunked | http::HttpBodyFraming::Invalid => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Linktype;
    use crate::link::MacAddr;
    use crate::model::{encode, wire};
    use std::net::Ipv4Addr;

    const PHONE: wire::Endpoint = wire::Endpoint {
        ip: Ipv4Addr::new(10, 1, 1, 10),
        port: 51_000,
    };
    const L2: wire::L2 = wire::L2 {
        src: MacAddr([0, 0x21, 0x55, 0, 0, 1]),
        dst: MacAddr([0, 0x0b, 0x45, 0, 0, 2]),
        vlan: None,
    };

    fn server(port: u16) -> wire::Endpoint {
        wire::Endpoint {
            ip: Ipv4Addr::new(10, 1, 1, 1),
            port,
        }
    }

    #[test]
    fn sip_is_recognised_off_its_port_by_its_first_line_alone() {
        // The plain reading of the rule: the first line (within 512 bytes) is
        // "SIP/2.0 ..." or "METHOD ... SIP/2.0", METHOD in capitals.
        fn by_the_first_line(payload: &[u8]) -> bool {
            let head = &payload[..payload.len().min(512)];
            let Some(eol) = head.iter().position(|&b| b == b'\r' || b == b'\n') else {
                return payload.starts_with(b"SIP/2.0 ");
            };
            let line = &head[..eol];
            let method = line.split(|&b| b == b' ').next().unwrap_or_default();
            payload.starts_with(b"SIP/2.0 ")
                || (!method.is_empty()
                    && method.iter().all(u8::is_ascii_uppercase)
                    && line.ends_with(b" SIP/2.0"))
        }
        let mut rng = crate::rng::Rng::new(0x1234_5678_9abc_def1_u64);
        let mut next = |n: u64| rng.below(n);
        let pieces: [&[u8]; 9] = [
            b"INVITE",
            b"REGISTER",
            b" ",
            b"sip:a@b",
            b" SIP/2.0",
            b"SIP/2.0 ",
            b"\r\n",
            b"\n",
            b"x",
        ];
        let mut yes = 0;
        for _ in 0..100_000 {
            let mut p = Vec::new();
            for _ in 0..next(7) {
                p.extend_from_slice(pieces[next(9) as usize]);
            }
            if next(50) == 0 {
                p.splice(0..0, std::iter::repeat_n(b'A', 505 + next(10) as usize));
            }
            if let Some(b) = p.get_mut(next(12) as usize).filter(|_| next(3) == 0) {
                *b = next(256) as u8;
            }
            let want = by_the_first_line(&p);
            yes += usize::from(want);
            assert_eq!(
                looks_like_sip(&p),
                want,
                "{:?}",
                String::from_utf8_lossy(&p)
            );
        }
        assert!(yes > 1_000, "only {yes} SIP first lines");
    }

    /// What one frame gave, owned: "msg NAME", "malformed", "tcp KIND", "tls LEN",
    /// "gap MISSING".
    fn run(d: &mut Dispatcher, number: u64, data: &[u8]) -> Vec<String> {
        let frame = Frame {
            number,
            ts_ns: i64::try_from(number).unwrap() * 1_000_000,
            linktype: Linktype::ETHERNET,
            data,
            orig_len: u32::try_from(data.len()).unwrap(),
        };
        let mut got = Vec::new();
        d.frame(&frame, |_, o| {
            got.push(match o {
                Observed::Message(Message::Sccp(m)) => format!("msg {}", m.name().unwrap()),
                Observed::Message(m) => format!("msg {:?}", m.proto()),
                Observed::Malformed(_) => "malformed".into(),
                Observed::Tcp(c) => format!("tcp {:?}", c.kind),
                Observed::Encrypted { len, .. } => format!("tls {len}"),
                Observed::StreamGap { missing, .. } => format!("gap {missing}"),
                Observed::HttpBody { bytes, left } => format!("body {} +{left}", bytes.len()),
            })
        })
        .unwrap();
        got
    }

    fn tcp(port: u16, seq: u32, flags: wire::TcpFields, payload: &[u8]) -> Vec<u8> {
        let t = wire::TcpFields { seq, ..flags };
        wire::tcp_frame(L2, PHONE, server(port), t, payload)
    }

    const ACK: wire::TcpFields = wire::TcpFields {
        seq: 0,
        ack_no: 1,
        syn: false,
        ack: true,
        rst: false,
        fin: false,
        psh: false,
    };

    #[test]
    fn eapol_passes_the_sort_and_is_dissected_tagged_or_not() {
        let pdu = [0x02, 0x01, 0x00, 0x00]; // EAPOL-Start
        for vlan in [None, Some(100)] {
            let mut data = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x03];
            data.extend_from_slice(&[0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);
            if let Some(v) = vlan {
                data.extend_from_slice(&[0x81, 0x00]);
                data.extend_from_slice(&u16::to_be_bytes(v));
            }
            data.extend_from_slice(&[0x88, 0x8e]);
            data.extend_from_slice(&pdu);
            data.resize(60, 0);
            let frame = Frame {
                number: 1,
                ts_ns: 0,
                data: &data,
                orig_len: 60,
                linktype: Linktype::ETHERNET,
            };
            let packet = match sort(&frame) {
                Sorted::Dissect(Some(p)) => p,
                _ => panic!("{vlan:?}: sorted as bulk"),
            };
            assert!(packet_worth_dissecting(&packet));
            let mut d = Dispatcher::new(StreamLimits::default());
            let mut seen = Vec::new();
            d.packet(&frame, packet, |_, o| {
                if let Observed::Message(Message::Eapol(p)) = o {
                    seen.push(p.packet_type);
                }
            });
            assert_eq!(seen, [parsers::eapol::EapolType::START], "{vlan:?}");
        }
    }

    #[test]
    fn arp_dns_and_only_icmp_errors_pass_the_sort_and_are_dissected() {
        let sorted = |data: &[u8]| {
            let frame = Frame {
                number: 1,
                ts_ns: 0,
                linktype: Linktype::ETHERNET,
                data,
                orig_len: u32::try_from(data.len()).unwrap(),
            };
            matches!(sort(&frame), Sorted::Dissect(_))
        };
        let to = Ipv4Addr::new(10, 1, 1, 1);
        let arp = encode::arp(1, (L2.src, PHONE.ip), (MacAddr::default(), to)).unwrap();
        let arp = wire::ether_frame(L2, 0x0806, &arp);
        let dns = encode::dns_a_query(1, "cucm.example.com").unwrap();
        let dns = wire::udp_frame(L2, PHONE, server(53), &dns);
        let quote = (PHONE.ip, PHONE.port, to, 69);
        let unreachable = encode::icmp_unreachable(3, quote, 17, 30, 0).unwrap();
        let unreachable = wire::ipv4_frame(L2, to, PHONE.ip, 1, &unreachable);
        // An echo request: type 8, no quote.
        let echo = wire::ipv4_frame(L2, to, PHONE.ip, 1, &[8, 0, 0xf7, 0xff, 0, 0, 0, 0]);
        // ICMPv6 is told by its own type numbers, on the slow path.
        let v6 = |icmp_type: u8| {
            let mut ip6 = vec![0x60, 0, 0, 0, 0, 8, 58, 64];
            ip6.extend_from_slice(&[0xfe, 0x80].repeat(8));
            ip6.extend_from_slice(&[0xfe, 0x80].repeat(8));
            ip6.extend_from_slice(&[icmp_type, 0, 0, 0, 0, 0, 0, 0]);
            wire::ether_frame(L2, 0x86dd, &ip6)
        };
        for (frame, pass) in [
            (&arp, true),
            (&dns, true),
            (&unreachable, true),
            (&echo, false),
            (&v6(1), true),
            (&v6(3), true),
            (&v6(128), false),
            (&v6(135), false),
        ] {
            assert_eq!(sorted(frame), pass, "{frame:02x?}");
        }
        // DNS over TCP 53: a query split across two segments, behind its length.
        let q = parsers::dns::parse(&encode::dns_a_query(2, "cucm.example.com").unwrap())
            .unwrap()
            .to_vec_tcp()
            .unwrap();
        let (a, b) = q.split_at(9);
        let first = tcp(53, 1, ACK, a);
        assert!(sorted(&first));
        let mut d = Dispatcher::default();
        assert!(run(&mut d, 10, &first).is_empty());
        let second = tcp(53, 1 + a.len() as u32, ACK, b);
        assert_eq!(run(&mut d, 11, &second), ["msg Dns"]);
        assert_eq!(run(&mut d, 1, &arp), ["msg Arp"]);
        assert_eq!(run(&mut d, 2, &dns), ["msg Dns"]);
        assert_eq!(run(&mut d, 3, &unreachable), ["msg Icmp"]);
        assert!(run(&mut d, 4, &echo).is_empty());
        // A v6 unreachable with no quoted header is the dissector's error, said once.
        assert_eq!(run(&mut d, 5, &v6(1)), ["malformed"]);
    }

    #[test]
    fn control_kind_rst_wins_then_syn_then_fin() {
        let kind = |f| TcpControlKind::of(TcpFlags(f));
        assert_eq!(
            kind(TcpFlags::RST | TcpFlags::FIN),
            Some(TcpControlKind::Rst)
        );
        assert_eq!(
            kind(TcpFlags::RST | TcpFlags::SYN),
            Some(TcpControlKind::Rst)
        );
        assert_eq!(
            kind(TcpFlags::SYN | TcpFlags::ACK),
            Some(TcpControlKind::SynAck)
        );
        assert_eq!(kind(TcpFlags::SYN), Some(TcpControlKind::Syn));
        assert_eq!(
            kind(TcpFlags::FIN | TcpFlags::ACK),
            Some(TcpControlKind::Fin)
        );
        assert_eq!(kind(TcpFlags::ACK | TcpFlags::PSH), None);
    }

    #[test]
    fn a_syn_comes_before_the_stream_and_a_fin_after_its_last_message() {
        let mut d = Dispatcher::default();
        let syn = wire::TcpFields {
            syn: true,
            ack: false,
            ..ACK
        };
        assert_eq!(run(&mut d, 1, &tcp(SCCP, 99, syn, &[])), ["tcp Syn"]);
        let fin = wire::TcpFields { fin: true, ..ACK };
        let ka = encode::sccp_keepalive().unwrap();
        assert_eq!(
            run(&mut d, 2, &tcp(SCCP, 100, fin, &ka)),
            ["msg KeepAliveReq", "tcp Fin"]
        );
        assert_eq!(d.stats.messages, 1);
        assert!(d.streams.is_empty(), "the FIN closed the stream");
    }

    #[test]
    fn an_http_body_comes_with_its_head_when_whole_and_in_order_after_it() {
        let mut d = Dispatcher::default();
        let body = vec![b'x'; 300];
        let answer = encode::http_response(Some(&body)).unwrap();
        let head = answer.len() - body.len();
        // Head and 100 bytes of the body, then the other 200.
        let (a, b) = answer.split_at(head + 100);
        assert_eq!(
            run(&mut d, 1, &tcp(HTTP_TFTP, 100, ACK, a)),
            ["msg Http", "body 100 +200"]
        );
        let at = 100 + u32::try_from(a.len()).unwrap();
        assert_eq!(run(&mut d, 2, &tcp(HTTP_TFTP, at, ACK, b)), ["body 200 +0"]);
        // Whole in one segment: the message carries it (and its bytes follow as well).
        let mut d = Dispatcher::default();
        let mut got = None;
        let frame = tcp(HTTP_TFTP, 100, ACK, &answer);
        let f = Frame {
            number: 1,
            ts_ns: 0,
            linktype: Linktype::ETHERNET,
            data: &frame,
            orig_len: u32::try_from(frame.len()).unwrap(),
        };
        d.frame(&f, |_, o| {
            if let Observed::Message(Message::Http(m)) = o {
                got = m.body.map(<[u8]>::len);
            }
        })
        .unwrap();
        assert_eq!(got, Some(300));
    }

    #[test]
    fn a_segment_sent_again_on_a_signalling_port_is_reported_once_as_such() {
        let mut d = Dispatcher::default();
        let ka = encode::sccp_keepalive().unwrap();
        assert_eq!(
            run(&mut d, 1, &tcp(SCCP, 100, ACK, &ka)),
            ["msg KeepAliveReq"]
        );
        // The same bytes again: not a second keepalive, a retransmission.
        for n in 2..4 {
            assert_eq!(
                run(&mut d, n, &tcp(SCCP, 100, ACK, &ka)),
                ["tcp Retransmission"]
            );
        }
        // Elsewhere (DNS over TCP) the bytes are dropped and nothing is said.
        let mut d = Dispatcher::default();
        let query = encode::dns_a_query(7, "cucm1.example.com").unwrap();
        let mut data = u16::try_from(query.len()).unwrap().to_be_bytes().to_vec();
        data.extend_from_slice(&query);
        assert_eq!(run(&mut d, 1, &tcp(DNS, 100, ACK, &data)), ["msg Dns"]);
        assert!(run(&mut d, 2, &tcp(DNS, 100, ACK, &data)).is_empty());
    }

    #[test]
    fn a_pdu_held_behind_a_hole_is_reported_when_the_hole_fills() {
        let mut d = Dispatcher::default();
        let ka = encode::sccp_keepalive().unwrap();
        let alarm = encode::sccp_alarm("SEP002155000001", "SCCP70.9-4-2S", "TCP-timeout").unwrap();
        let (a, b) = alarm.split_at(10);
        assert_eq!(
            run(&mut d, 1, &tcp(SCCP, 100, ACK, &ka)),
            ["msg KeepAliveReq"]
        );
        let at = 100 + u32::try_from(ka.len()).unwrap();
        assert!(run(&mut d, 2, &tcp(SCCP, at + 10, ACK, b)).is_empty());
        assert_eq!(run(&mut d, 3, &tcp(SCCP, at, ACK, a)), ["msg Alarm"]);
        assert_eq!(d.stream_stats().reordered, 1);
        assert_eq!(d.stream_stats().gaps, 0);
    }

    #[test]
    fn tls_ports_report_payload_only_and_cleartext_ports_decide_first() {
        let mut d = Dispatcher::default();
        assert_eq!(
            run(&mut d, 1, &tcp(HTTPS_TFTP, 1, ACK, &[0x16; 300])),
            ["tls 300"]
        );
        assert!(run(&mut d, 2, &tcp(HTTPS_TFTP, 301, ACK, &[])).is_empty());
        // The signalling ports' TLS is dissected: bytes joined mid-stream that start no
        // record are dropped until one starts.
        for port in [SCCP_TLS, SIP_TLS] {
            assert!(run(&mut d, 1, &tcp(port, 1, ACK, &[0x16; 300])).is_empty());
        }
        // 2000 on one side, 5061 on the other: read as SCCP.
        let frame = wire::tcp_frame(
            L2,
            wire::Endpoint {
                ip: PHONE.ip,
                port: SIP_TLS,
            },
            server(SCCP),
            ACK,
            &encode::sccp_keepalive().unwrap(),
        );
        assert_eq!(run(&mut d, 3, &frame), ["msg KeepAliveReq"]);
        assert!(run(&mut d, 4, &tcp(443, 1, ACK, &[0x16; 300])).is_empty());
    }

    /// The bundled SCCP-over-TLS fixtures (an IOS media resource's registration).
    const NULL_HELLO: &[u8] = include_bytes!("../parsers/testdata/tls/client-hello-null-sha.bin");
    const NULL_SERVER: &[u8] =
        include_bytes!("../parsers/testdata/tls/server-hello-certificate.bin");
    const NULL_FINISHED: &[u8] =
        include_bytes!("../parsers/testdata/tls/ccs-encrypted-finished.bin");
    const NULL_REGISTER: &[u8] = include_bytes!("../parsers/testdata/tls/app-data-null-sccp.bin");

    fn from_server(port: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let t = wire::TcpFields { seq, ..ACK };
        wire::tcp_frame(L2, server(port), PHONE, t, payload)
    }

    #[test]
    fn a_null_suite_session_hands_on_its_sccp_and_reads_its_finished() {
        let mut d = Dispatcher::default();
        assert_eq!(
            run(&mut d, 1, &tcp(SCCP_TLS, 1, ACK, NULL_HELLO)),
            ["msg Tls"]
        );
        assert_eq!(
            run(&mut d, 2, &from_server(SCCP_TLS, 1, NULL_SERVER)),
            ["msg Tls"; 3]
        );
        let mut finished = Vec::new();
        d.frame(
            &Frame {
                number: 3,
                ts_ns: 3,
                linktype: Linktype::ETHERNET,
                data: &from_server(SCCP_TLS, 1 + NULL_SERVER.len() as u32, NULL_FINISHED),
                orig_len: 0,
            },
            |_, o| {
                if let Observed::Message(Message::Tls(r)) = o {
                    finished.push(
                        r.handshakes()
                            .iter()
                            .map(|h| h.kind().0)
                            .collect::<Vec<_>>(),
                    );
                }
            },
        )
        .unwrap();
        // The Finished after ChangeCipherSpec, its MAC stripped (tshark reads 20 too).
        assert_eq!(finished, [vec![], vec![20]]);
        // Application data split over two segments: one record, then the SCCP inside.
        let seq = 1 + NULL_HELLO.len() as u32;
        let (a, b) = NULL_REGISTER.split_at(40);
        assert!(run(&mut d, 4, &tcp(SCCP_TLS, seq, ACK, a)).is_empty());
        assert_eq!(
            run(&mut d, 5, &tcp(SCCP_TLS, seq + 40, ACK, b)),
            ["msg Tls", "msg RegisterReq"]
        );
        // Another connection with the same bytes, never given a NULL suite: opaque.
        let mut other = Dispatcher::default();
        assert_eq!(
            run(&mut other, 1, &tcp(SCCP_TLS, 1, ACK, NULL_REGISTER)),
            ["msg Tls"]
        );
    }

    /// Counts what went out framed and held, and reads every held message again from
    /// a copy of its bytes: it must be the same message.
    #[derive(Default)]
    struct ReadAgain {
        framed: usize,
        held: usize,
    }

    impl<'f> Observer<'f> for ReadAgain {
        fn framed(&mut self, _: &Packet<'f>, obs: Observed<'f>) {
            self.framed += usize::from(matches!(obs, Observed::Message(_)));
        }

        fn held(&mut self, _: &Packet<'f>, obs: Observed<'_>, again: Option<Again<'_>>) {
            if let Observed::Message(m) = obs {
                let again = again.expect("a held message comes with its bytes");
                let copy = again.bytes.to_vec();
                let read = reread(again.how, &copy).expect("read again");
                assert_eq!(format!("{read:?}"), format!("{m:?}"));
                self.held += 1;
            }
        }
    }

    /// Send `payload` on `port` from `seq` in segments of `size` bytes (every second
    /// pair swapped when `swap`), after a SYN (the stream's start is known), to `d`
    /// through `obs`.
    fn send_in_pieces(
        d: &mut Dispatcher,
        obs: &mut ReadAgain,
        (port, to_phone): (u16, bool),
        seq: u32,
        payload: &[u8],
        (size, swap): (usize, bool),
    ) {
        let mut pieces: Vec<(u32, &[u8])> = vec![(seq - 1, &[])];
        let mut at = seq;
        for chunk in payload.chunks(size) {
            pieces.push((at, chunk));
            at += u32::try_from(chunk.len()).unwrap();
        }
        if swap {
            for pair in pieces.chunks_mut(4) {
                if pair.len() > 2 {
                    pair.swap(1, 2);
                }
            }
        }
        for (seq, bytes) in pieces {
            let flags = wire::TcpFields {
                seq,
                syn: bytes.is_empty(),
                ..ACK
            };
            let data = if to_phone {
                wire::tcp_frame(L2, server(port), PHONE, flags, bytes)
            } else {
                wire::tcp_frame(L2, PHONE, server(port), flags, bytes)
            };
            let frame = Frame {
                number: 1,
                ts_ns: 1,
                linktype: Linktype::ETHERNET,
                data: &data,
                orig_len: u32::try_from(data.len()).unwrap(),
            };
            let packet = link::decode(&frame).unwrap();
            d.observe(&frame, packet, obs);
        }
    }

    #[test]
    fn messages_whole_in_a_segment_borrow_it_and_split_ones_read_again_the_same() {
        let mac = link::MacAddr([0, 0x21, 0x55, 0, 0, 1]);
        let sccp: Vec<u8> = [
            encode::sccp_keepalive().unwrap(),
            encode::sccp_register("SEP002155000001", PHONE.ip, mac, "7975", "SCCP75.9-4-2S")
                .unwrap(),
            encode::sccp_alarm("SEP002155000001", "SCCP75.9-4-2S", "TCP-timeout").unwrap(),
            encode::sccp_keepalive_ack().unwrap(),
        ]
        .concat();
        let sip = [
            encode::sip_register(
                "SEP002155000001",
                mac,
                "CP-8845",
                "sip88xx.14-1-1",
                PHONE.ip,
                PHONE.port,
                server(SIP).ip,
                crate::model::scenario::SipTransport::Tcp,
                1,
                false,
            )
            .unwrap(),
            b"\r\n\r\n".to_vec(),
        ]
        .concat();
        let http = encode::http_response(Some(&[b'x'; 700])).unwrap();
        let query = encode::dns_a_query(7, "cucm1.example.com").unwrap();
        let dns = [
            &u16::try_from(query.len()).unwrap().to_be_bytes()[..],
            &query,
        ]
        .concat();
        let streams: [((u16, bool), &[u8], usize); 5] = [
            ((SCCP, false), &sccp, 4),
            ((SIP, false), &sip, 1),
            ((HTTP_TFTP, true), &http, 1),
            ((DNS, false), &dns, 1),
            ((SCCP_TLS, false), NULL_HELLO, 1),
        ];
        for (port, payload, messages) in streams {
            // Whole: every message borrows the frame.
            let (mut d, mut obs) = (Dispatcher::default(), ReadAgain::default());
            send_in_pieces(&mut d, &mut obs, port, 100, payload, (payload.len(), false));
            assert_eq!((obs.framed, obs.held), (messages, 0), "{port:?} whole");
            // In pieces, in order and reordered: the same messages, some of them held.
            for size in [1, 7, 13, 40] {
                for swap in [false, true] {
                    let (mut d, mut obs) = (Dispatcher::default(), ReadAgain::default());
                    send_in_pieces(&mut d, &mut obs, port, 100, payload, (size, swap));
                    let what = format!("{port:?} in pieces of {size}, swapped {swap}");
                    assert_eq!(obs.framed + obs.held, messages, "{what}");
                    if size < payload.len() {
                        assert!(obs.held > 0, "{what}");
                    }
                }
            }
        }
        // A NULL suite's record and the SCCP inside, split over segments: read again
        // under the session's MAC.
        for size in [1, 40] {
            let (mut d, mut obs) = (Dispatcher::default(), ReadAgain::default());
            let mut seq = 1;
            for (to_phone, bytes) in [(false, NULL_HELLO), (true, NULL_SERVER)] {
                let at = if to_phone { 1 } else { seq };
                let whole = (bytes.len(), false);
                send_in_pieces(&mut d, &mut obs, (SCCP_TLS, to_phone), at, bytes, whole);
                if !to_phone {
                    seq += u32::try_from(bytes.len()).unwrap();
                }
            }
            assert_eq!((obs.framed, obs.held), (4, 0));
            let port = (SCCP_TLS, false);
            send_in_pieces(&mut d, &mut obs, port, seq, NULL_REGISTER, (size, false));
            // The record and the RegisterReq inside it, both held.
            assert_eq!((obs.framed, obs.held), (4, 2), "pieces of {size}");
        }
    }

    #[test]
    fn a_plain_signalling_port_that_starts_with_a_handshake_is_read_as_tls() {
        let mut d = Dispatcher::default();
        for port in [SCCP, SIP] {
            assert_eq!(run(&mut d, 1, &tcp(port, 1, ACK, NULL_HELLO)), ["msg Tls"]);
        }
    }

    #[test]
    fn tunnels_are_tallied_by_outer_addresses_within_a_bound() {
        let mut tally = TunnelTally::default();
        let src = |n: u32| IpAddr::from(Ipv4Addr::from(n));
        let sensor = IpAddr::from(Ipv4Addr::new(192, 0, 2, 9));
        for n in 0..MAX_TUNNELS_LISTED as u32 + 6 {
            tally.count(TunnelKind::ErspanII, src(n), sensor);
            tally.count(TunnelKind::ErspanII, src(n), sensor);
        }
        tally.count(TunnelKind::Vxlan, src(0), sensor);
        let listed: Vec<_> = tally.iter().collect();
        assert_eq!(listed.len(), MAX_TUNNELS_LISTED);
        assert_eq!(listed[0], (TunnelKind::ErspanII, src(0), sensor, 2));
        assert_eq!(tally.unlisted_frames, 13);
    }
}
