//! From a sliced packet to dissected messages: picks the dissector by ether type,
//! port and (for SIP on odd ports) the first line, follows TFTP transfers onto the
//! server's new port (TID) and TCP streams across segments, and hands every
//! message, or the dissector's error, to the caller while the frame is still
//! borrowed. Owns the only per-flow state of the dissection; all of it is bounded.

use std::collections::HashMap;
use std::net::IpAddr;

use parsers::{cdp, dhcp, http, lldp, sccp, sip, tftp, DissectError, ErrorKind, Proto};

use crate::capture::Frame;
use crate::link::{self, LinkError, Net, Packet, TcpFlags, TcpSegment, Transport};
use crate::reassembly::{FlowKey, Placement, Stream, StreamLimits, Streams};

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
        }
    }
}

/// Well-known ports.
const DHCP_SERVER: u16 = 67;
const DHCP_CLIENT: u16 = 68;
const TFTP: u16 = 69;
const SCCP: u16 = 2000;
const SIP: u16 = 5060;
const HTTP_TFTP: u16 = 6970;

/// Bounds on the TFTP transfers followed at once.
const MAX_TFTP_TRANSFERS: usize = 65_536;
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
    /// TFTP transfers forgotten because the table was full.
    pub tftp_evicted: u64,
}

/// The dissection state of one capture (or one live session).
#[derive(Debug, Default)]
pub struct Dispatcher {
    streams: Streams,
    tftp: HashMap<(IpAddr, u16), TftpTransfer>,
    /// Counters.
    pub stats: DispatchStats,
}

/// Which stream protocol a TCP port selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamProto {
    Sccp,
    Sip,
    Http,
}

impl Dispatcher {
    /// A dispatcher with the given TCP stream bounds.
    pub fn new(limits: StreamLimits) -> Self {
        Dispatcher {
            streams: Streams::new(limits),
            ..Dispatcher::default()
        }
    }

    /// TCP stream counters (retransmissions, gaps, evictions).
    pub fn stream_stats(&self) -> crate::reassembly::StreamStats {
        self.streams.stats
    }

    /// Dissect one frame: `on_msg` gets the packet view and each message (or a
    /// dissector error) found in it, in order.
    ///
    /// # Errors
    /// The link or IP layer cannot be sliced; the frame carries nothing further.
    pub fn frame<'f, F>(&mut self, frame: &Frame<'f>, mut on_msg: F) -> Result<(), LinkError>
    where
        F: FnMut(&Packet<'f>, Result<Message<'_>, DissectError>),
    {
        let packet = link::decode(frame).inspect_err(|_| self.stats.link_errors += 1)?;
        let mut emit = |stats: &mut DispatchStats, m: Result<Message<'_>, DissectError>| {
            match m {
                Ok(_) => stats.messages += 1,
                Err(_) => stats.malformed += 1,
            }
            on_msg(&packet, m);
        };
        match packet.net {
            Net::Cdp(b) => emit(&mut self.stats, cdp::parse(b).map(Message::Cdp)),
            Net::Lldp(b) => emit(&mut self.stats, lldp::parse(b).map(Message::Lldp)),
            Net::Ip(ip) => match ip.transport {
                Transport::Udp {
                    src_port,
                    dst_port,
                    payload,
                } => {
                    if let Some(m) =
                        self.udp(ip.src, ip.dst, src_port, dst_port, payload, frame.ts_ns)
                    {
                        emit(&mut self.stats, m);
                    }
                }
                Transport::Tcp(seg) => {
                    let proto = match (seg.src_port, seg.dst_port) {
                        (SCCP, _) | (_, SCCP) => Some(StreamProto::Sccp),
                        (SIP, _) | (_, SIP) => Some(StreamProto::Sip),
                        (HTTP_TFTP, _) | (_, HTTP_TFTP) => Some(StreamProto::Http),
                        _ => None,
                    };
                    if let Some(proto) = proto {
                        let key = FlowKey {
                            src: ip.src,
                            dst: ip.dst,
                            src_port: seg.src_port,
                            dst_port: seg.dst_port,
                        };
                        let stats = &mut self.stats;
                        tcp_stream(&mut self.streams, proto, key, &seg, frame.ts_ns, |m| {
                            emit(stats, m)
                        });
                    }
                }
                Transport::Fragment { .. } | Transport::Other { .. } => {}
            },
            Net::OtherEthertype(_) | Net::OtherLlc => {}
        }
        Ok(())
    }

    fn udp<'a>(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        sport: u16,
        dport: u16,
        payload: &'a [u8],
        ts_ns: i64,
    ) -> Option<Result<Message<'a>, DissectError>> {
        // Either port, as tshark decides: relays and odd clients use other source ports.
        if matches!(sport, DHCP_SERVER | DHCP_CLIENT) || matches!(dport, DHCP_SERVER | DHCP_CLIENT)
        {
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
        if sport == SIP || dport == SIP || looks_like_sip(payload) {
            return Some(sip::parse(payload).map(Message::Sip));
        }
        None
    }

    fn follow_tftp(&mut self, client: IpAddr, client_port: u16, server: IpAddr, ts_ns: i64) {
        if self.tftp.len() >= MAX_TFTP_TRANSFERS {
            let before = self.tftp.len();
            self.tftp
                .retain(|_, t| ts_ns.saturating_sub(t.last_ns) <= TFTP_IDLE_NS);
            self.stats.tftp_evicted += (before - self.tftp.len()) as u64;
            if self.tftp.len() >= MAX_TFTP_TRANSFERS {
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
    if payload.starts_with(b"SIP/2.0 ") {
        return true;
    }
    // "METHOD uri SIP/2.0\r\n": look only at the first line, and only so far.
    let head = payload.get(..payload.len().min(512)).unwrap_or_default();
    let Some(eol) = head.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return false;
    };
    let line = head.get(..eol).unwrap_or_default();
    let method_ok = line
        .iter()
        .take_while(|&&b| b != b' ')
        .all(|b| b.is_ascii_uppercase());
    method_ok && line.ends_with(b" SIP/2.0") && line.first().is_some_and(u8::is_ascii_uppercase)
}

/// Whether unaligned stream bytes start like a PDU of `proto`, so that a mid-PDU
/// segment (after a gap, or at a capture's start) is not read as garbage.
fn plausible_start(proto: StreamProto, data: &[u8]) -> bool {
    match proto {
        StreamProto::Sccp => {
            // data length u32, header version u32, message id u32 (little-endian)
            let Some(&[l0, l1, l2, l3, v0, v1, v2, v3, m0, m1, m2, m3]) = data.get(..12) else {
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
        StreamProto::Http => {
            let d = data.get(..data.len().min(16)).unwrap_or_default();
            d.starts_with(b"HTTP/")
                || [&b"GET "[..], b"HEAD ", b"POST ", b"PUT "]
                    .iter()
                    .any(|m| d.starts_with(m))
        }
    }
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

/// Place a segment in its stream and dissect what it completes.
fn tcp_stream<F>(
    streams: &mut Streams,
    proto: StreamProto,
    key: FlowKey,
    seg: &TcpSegment<'_>,
    ts_ns: i64,
    mut emit: F,
) where
    F: FnMut(Result<Message<'_>, DissectError>),
{
    let limits = streams.limits();
    let ends = seg.flags.has(TcpFlags::FIN) || seg.flags.has(TcpFlags::RST);
    let placed = streams.place(key, seg, ts_ns);
    let fresh = placed.fresh;
    match (placed.placement, placed.stream) {
        (Placement::Retransmission, _) => {}
        (placement, None) => {
            // No state (table full): read the segment on its own.
            let mut skip = 0;
            let aligned = placement == Placement::InOrder;
            parse_stream_bytes(proto, fresh, aligned, &mut skip, &mut emit);
        }
        (placement, Some(stream)) => {
            let before = stream.pending.len();
            let aligned = placement == Placement::InOrder;
            let budget = limits
                .max_pending
                .min((limits.max_pending_total + before).saturating_sub(*placed.pending_total));
            if feed(stream, proto, fresh, aligned, budget, &mut emit) {
                placed.stats.over_budget += 1;
            }
            *placed.pending_total =
                placed.pending_total.saturating_sub(before) + stream.pending.len();
        }
    }
    if ends {
        streams.close(&key);
    }
}

/// Parse what `fresh` completes in `stream`; keep an unfinished message's bytes (at
/// most `budget`). Returns true when the budget forced the stream to drop them.
fn feed<F>(
    stream: &mut Stream,
    proto: StreamProto,
    fresh: &[u8],
    aligned: bool,
    budget: usize,
    emit: &mut F,
) -> bool
where
    F: FnMut(Result<Message<'_>, DissectError>),
{
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
        let c = parse_stream_bytes(proto, fresh, aligned, &mut skip, emit);
        (c, fresh.len() - c.used)
    } else {
        stream.pending.extend_from_slice(fresh);
        let c = parse_stream_bytes(proto, &stream.pending, true, &mut skip, emit);
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
        stream.pending.drain(..c.used);
    }
    stream.need = if rest_len == 0 { 0 } else { rest_len + c.need };
    false
}

/// Dissect every complete message in `data`; stop at a message that continues past it.
fn parse_stream_bytes<F>(
    proto: StreamProto,
    data: &[u8],
    mut aligned: bool,
    skip: &mut u64,
    emit: &mut F,
) -> Consumed
where
    F: FnMut(Result<Message<'_>, DissectError>),
{
    let mut rest = data;
    loop {
        if *skip > 0 {
            let n = usize::try_from(*skip).unwrap_or(usize::MAX).min(rest.len());
            rest = rest.get(n..).unwrap_or_default();
            *skip -= n as u64;
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
        if !aligned {
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
        let parsed = match proto {
            StreamProto::Sccp => sccp::parse(rest).map(|(m, r)| (Message::Sccp(m), r, Some(0))),
            StreamProto::Sip => sip::parse_stream(rest).map(|(m, r)| (Message::Sip(m), r, Some(0))),
            StreamProto::Http => http::parse_head(rest).map(|(m, r)| {
                let body = http_body_len(&m);
                (Message::Http(m), r, body)
            }),
        };
        match parsed {
            Ok((msg, after, body)) => {
                emit(Ok(msg));
                rest = after;
                match body {
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
                emit(Err(e));
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
