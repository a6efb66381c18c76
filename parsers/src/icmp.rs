//! ICMP (RFC 792) and ICMPv6 (RFC 4443) messages, read from the ICMP header
//! (the IP header already stripped): [`parse_v4`] and [`parse_v6`]. What a boot
//! capture needs from them is the error that answers a phone's datagram (a TFTP
//! server's "port unreachable", a firewall's "administratively prohibited", a
//! loop's "time exceeded") and the flow it answers: an error's quoted IP header
//! (source, destination, protocol) and the first 8 bytes of the quoted
//! transport header (the ports of UDP and TCP).
//!
//! Choices:
//! - The kind ([`IcmpKind`]) is derived from type and code; an unknown type or
//!   code is data (`Other`), not an error.
//! - An error message must quote a whole IP header (20 bytes and options for
//!   IPv4, 40 for IPv6) of the right version; fewer than 8 transport bytes is
//!   fine (the `transport` slice is then shorter). IPv6 extension headers of the
//!   quoted datagram (hop-by-hop, routing, fragment, destination options) are
//!   walked, at most [`MAX_EXTENSIONS`], to find the transport protocol.
//! - The RFC 4884 length (in 32-bit words for ICMP, 64-bit words for ICMPv6)
//!   splits the quote from the extension structure (MPLS labels of a
//!   traceroute) when it announces at least 128 bytes and fits the message;
//!   extensions are kept raw. Without it (older routers append extensions
//!   after a 128-byte quote with the length left 0) every byte is the quote.
//! - The checksum is kept as read, not verified, and written back as kept.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::codepoint::code_points;
use crate::emit::{self, EmitError, Writer};
use crate::error::{DissectError, ErrorKind, Proto};

/// Most IPv6 extension headers walked in a quoted datagram.
pub const MAX_EXTENSIONS: usize = 8;
/// The shortest quote an RFC 4884 length may announce (a shorter one is ignored).
pub const RFC4884_MIN_QUOTE: usize = 128;

code_points! {
    /// The type of an ICMP (IPv4) message.
    IcmpType(u8), debug = name "{}" {
        /// Echo reply.
        ECHO_REPLY = 0 => "Echo Reply",
        /// Destination unreachable.
        DEST_UNREACHABLE = 3 => "Destination Unreachable",
        /// Source quench (deprecated).
        SOURCE_QUENCH = 4 => "Source Quench",
        /// Redirect.
        REDIRECT = 5 => "Redirect",
        /// Echo request.
        ECHO_REQUEST = 8 => "Echo Request",
        /// Time exceeded.
        TIME_EXCEEDED = 11 => "Time Exceeded",
        /// Parameter problem.
        PARAMETER_PROBLEM = 12 => "Parameter Problem",
    }
}

code_points! {
    /// The type of an ICMPv6 message.
    Icmpv6Type(u8), debug = name "{}" {
        /// Destination unreachable.
        DEST_UNREACHABLE = 1 => "Destination Unreachable",
        /// Packet too big.
        PACKET_TOO_BIG = 2 => "Packet Too Big",
        /// Time exceeded.
        TIME_EXCEEDED = 3 => "Time Exceeded",
        /// Parameter problem.
        PARAMETER_PROBLEM = 4 => "Parameter Problem",
        /// Echo request.
        ECHO_REQUEST = 128 => "Echo Request",
        /// Echo reply.
        ECHO_REPLY = 129 => "Echo Reply",
    }
}

code_points! {
    /// The code of an ICMP destination unreachable (type 3).
    UnreachableCode(u8), debug = name "{}" {
        /// Net unreachable.
        NET = 0 => "Network unreachable",
        /// Host unreachable.
        HOST = 1 => "Host unreachable",
        /// Protocol unreachable.
        PROTOCOL = 2 => "Protocol unreachable",
        /// Port unreachable (nothing listens: a TFTP or DNS server down).
        PORT = 3 => "Port unreachable",
        /// Fragmentation needed and DF set (the next-hop MTU follows, RFC 1191).
        FRAG_NEEDED = 4 => "Fragmentation needed",
        /// Source route failed.
        SOURCE_ROUTE_FAILED = 5 => "Source route failed",
        /// Destination network unknown.
        NET_UNKNOWN = 6 => "Destination network unknown",
        /// Destination host unknown.
        HOST_UNKNOWN = 7 => "Destination host unknown",
        /// Source host isolated.
        SOURCE_HOST_ISOLATED = 8 => "Source host isolated",
        /// Network administratively prohibited.
        NET_PROHIBITED = 9 => "Network administratively prohibited",
        /// Host administratively prohibited.
        HOST_PROHIBITED = 10 => "Host administratively prohibited",
        /// Network unreachable for TOS.
        NET_TOS = 11 => "Network unreachable for TOS",
        /// Host unreachable for TOS.
        HOST_TOS = 12 => "Host unreachable for TOS",
        /// Communication administratively prohibited (a filter, RFC 1812).
        ADMIN_PROHIBITED = 13 => "Communication administratively filtered",
        /// Host precedence violation.
        PRECEDENCE_VIOLATION = 14 => "Host precedence violation",
        /// Precedence cutoff in effect.
        PRECEDENCE_CUTOFF = 15 => "Precedence cutoff in effect",
    }
}

code_points! {
    /// The code of an ICMPv6 destination unreachable (type 1).
    Unreachable6Code(u8), debug = name "{}" {
        /// No route to destination.
        NO_ROUTE = 0 => "no route to destination",
        /// Communication administratively prohibited.
        ADMIN_PROHIBITED = 1 => "administratively prohibited",
        /// Beyond scope of source address.
        BEYOND_SCOPE = 2 => "beyond scope of source address",
        /// Address unreachable.
        ADDRESS = 3 => "address unreachable",
        /// Port unreachable.
        PORT = 4 => "port unreachable",
        /// Source address failed ingress/egress policy.
        SOURCE_POLICY = 5 => "source address failed ingress/egress policy",
        /// Reject route to destination.
        REJECT_ROUTE = 6 => "reject route to destination",
        /// Error in source routing header.
        SOURCE_ROUTING_HEADER = 7 => "error in source routing header",
    }
}

/// Which ICMP a message was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpVersion {
    /// ICMP over IPv4 ([`parse_v4`]).
    V4,
    /// ICMPv6 ([`parse_v6`]).
    V6,
}

/// Why a destination was unreachable, the same for both versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unreachable {
    /// ICMP net unreachable (0), net unknown (6), unreachable for TOS (11); ICMPv6 no route (0).
    Net,
    /// ICMP host unreachable (1), host unknown (7), isolated (8), for TOS (12);
    /// ICMPv6 address unreachable (3).
    Host,
    /// ICMP protocol unreachable (2).
    Protocol,
    /// ICMP port unreachable (3), ICMPv6 port unreachable (4).
    Port,
    /// ICMP fragmentation needed (4), with the next-hop MTU (0 from old routers).
    FragmentationNeeded {
        /// The next-hop MTU.
        mtu: u16,
    },
    /// ICMP net (9), host (10) or communication (13) prohibited, precedence (14, 15);
    /// ICMPv6 administratively prohibited (1), source policy (5), reject route (6).
    AdminProhibited,
    /// Any other code (ICMP source route failed, ICMPv6 beyond scope...): see `code`.
    Other,
}

/// What a message is, from its type and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpKind {
    /// Destination unreachable.
    Unreachable(Unreachable),
    /// Time exceeded: TTL / hop limit (code 0) or fragment reassembly (code 1).
    TimeExceeded {
        /// Code 1: reassembly time exceeded.
        reassembly: bool,
    },
    /// ICMPv6 packet too big.
    PacketTooBig {
        /// The next-hop MTU.
        mtu: u32,
    },
    /// Parameter problem.
    ParameterProblem {
        /// Offset of the fault in the quoted datagram.
        pointer: u32,
    },
    /// ICMP redirect or source quench: an error quoting a datagram.
    OtherError,
    /// Echo request.
    EchoRequest {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// Echo reply.
    EchoReply {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// Any other type (router or neighbour discovery, timestamps...).
    Other,
}

/// The start of the datagram an error answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted<'a> {
    /// The quoted datagram's source (the host the error is sent to).
    pub src: IpAddr,
    /// The quoted datagram's destination.
    pub dst: IpAddr,
    /// Its transport protocol (17 UDP, 6 TCP), past any IPv6 extension headers.
    pub protocol: u8,
    /// Up to the first 8 bytes after the IP header(s).
    pub transport: &'a [u8],
    /// Every quoted byte, from the IP header (what `emit` writes back).
    pub raw: &'a [u8],
}

impl Quoted<'_> {
    /// Source and destination ports, for UDP, TCP, SCTP and UDP-Lite with 4
    /// quoted transport bytes.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match (self.protocol, self.transport.get(..4)) {
            (6 | 17 | 132 | 136, Some(&[a, b, c, d])) => {
                Some((u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])))
            }
            _ => None,
        }
    }
}

/// The body after the 8-byte ICMP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IcmpBody<'a> {
    /// An error's quoted datagram, and the RFC 4884 extensions after it (raw).
    Error {
        /// The quoted datagram.
        quoted: Quoted<'a>,
        /// Bytes after the quote when its RFC 4884 length is set (empty otherwise).
        extensions: &'a [u8],
    },
    /// Any other message's data (an echo's payload).
    Data(&'a [u8]),
}

/// One dissected ICMP or ICMPv6 message, borrowing its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpMessage<'a> {
    /// ICMP or ICMPv6.
    pub version: IcmpVersion,
    /// The type ([`IcmpType`] or [`Icmpv6Type`] values).
    pub icmp_type: u8,
    /// The code.
    pub code: u8,
    /// The checksum, as read (not verified).
    pub checksum: u16,
    /// Bytes 4..8 of the header (id and sequence, MTU, pointer, RFC 4884 length...).
    pub rest: [u8; 4],
    /// What follows the header.
    pub body: IcmpBody<'a>,
}

fn err(offset: usize, kind: ErrorKind) -> DissectError {
    DissectError {
        proto: Proto::Icmp,
        offset,
        kind,
    }
}

/// Whether this type quotes a datagram.
fn is_error(version: IcmpVersion, t: u8) -> bool {
    match version {
        IcmpVersion::V4 => matches!(t, 3 | 4 | 5 | 11 | 12),
        IcmpVersion::V6 => matches!(t, 1..=4),
    }
}

impl IcmpMessage<'_> {
    /// What the message is.
    pub fn kind(&self) -> IcmpKind {
        let [r0, r1, r2, r3] = self.rest;
        let hi = u16::from_be_bytes([r0, r1]);
        let lo = u16::from_be_bytes([r2, r3]);
        let word = u32::from_be_bytes(self.rest);
        let unreachable = |u| IcmpKind::Unreachable(u);
        match (self.version, self.icmp_type, self.code) {
            (IcmpVersion::V4, 3, c) => unreachable(match UnreachableCode(c) {
                UnreachableCode::NET | UnreachableCode::NET_UNKNOWN | UnreachableCode::NET_TOS => {
                    Unreachable::Net
                }
                UnreachableCode::HOST
                | UnreachableCode::HOST_UNKNOWN
                | UnreachableCode::SOURCE_HOST_ISOLATED
                | UnreachableCode::HOST_TOS => Unreachable::Host,
                UnreachableCode::PROTOCOL => Unreachable::Protocol,
                UnreachableCode::PORT => Unreachable::Port,
                UnreachableCode::FRAG_NEEDED => Unreachable::FragmentationNeeded { mtu: lo },
                UnreachableCode::NET_PROHIBITED
                | UnreachableCode::HOST_PROHIBITED
                | UnreachableCode::ADMIN_PROHIBITED
                | UnreachableCode::PRECEDENCE_VIOLATION
                | UnreachableCode::PRECEDENCE_CUTOFF => Unreachable::AdminProhibited,
                _ => Unreachable::Other,
            }),
            (IcmpVersion::V6, 1, c) => unreachable(match Unreachable6Code(c) {
                Unreachable6Code::NO_ROUTE => Unreachable::Net,
                Unreachable6Code::ADDRESS => Unreachable::Host,
                Unreachable6Code::PORT => Unreachable::Port,
                Unreachable6Code::ADMIN_PROHIBITED
                | Unreachable6Code::SOURCE_POLICY
                | Unreachable6Code::REJECT_ROUTE => Unreachable::AdminProhibited,
                _ => Unreachable::Other,
            }),
            (IcmpVersion::V4, 11, c) | (IcmpVersion::V6, 3, c) => {
                IcmpKind::TimeExceeded { reassembly: c == 1 }
            }
            (IcmpVersion::V6, 2, _) => IcmpKind::PacketTooBig { mtu: word },
            (IcmpVersion::V4, 12, _) => IcmpKind::ParameterProblem {
                pointer: u32::from(r0),
            },
            (IcmpVersion::V6, 4, _) => IcmpKind::ParameterProblem { pointer: word },
            (IcmpVersion::V4, 4 | 5, _) => IcmpKind::OtherError,
            (IcmpVersion::V4, 8, _) | (IcmpVersion::V6, 128, _) => {
                IcmpKind::EchoRequest { id: hi, seq: lo }
            }
            (IcmpVersion::V4, 0, _) | (IcmpVersion::V6, 129, _) => {
                IcmpKind::EchoReply { id: hi, seq: lo }
            }
            _ => IcmpKind::Other,
        }
    }

    /// The quoted datagram, for an error.
    pub fn quoted(&self) -> Option<&Quoted<'_>> {
        match &self.body {
            IcmpBody::Error { quoted, .. } => Some(quoted),
            IcmpBody::Data(_) => None,
        }
    }
}

/// Dissect an ICMP (IPv4) message, from its type byte.
///
/// # Errors
/// `Truncated` when the message is shorter than its 8-byte header (offset: the
/// field cut), or an error's quote is shorter than its IP header (offset 8, or 28
/// for cut IPv4 options); `BadVersion(n)` when an error quotes a header that is
/// not IPv4 (offset 8); `BadLength { min: 20 }` for a quoted IHL below 5 (offset 8).
pub fn parse_v4(input: &[u8]) -> Result<IcmpMessage<'_>, DissectError> {
    parse(IcmpVersion::V4, input)
}

/// Dissect an ICMPv6 message, from its type byte.
///
/// # Errors
/// As [`parse_v4`], with a quoted IPv6 header (40 bytes, version 6); a quoted
/// extension header cut short ends the walk (the protocol is then that
/// extension header's number and `transport` is empty).
pub fn parse_v6(input: &[u8]) -> Result<IcmpMessage<'_>, DissectError> {
    parse(IcmpVersion::V6, input)
}

fn parse(version: IcmpVersion, input: &[u8]) -> Result<IcmpMessage<'_>, DissectError> {
    let (icmp_type, code) = match input {
        [t, c, ..] => (*t, *c),
        _ => return Err(err(input.len().min(1), ErrorKind::Truncated)),
    };
    let checksum = match input.get(2..4) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => return Err(err(2, ErrorKind::Truncated)),
    };
    let rest: [u8; 4] = input
        .get(4..8)
        .and_then(|r| r.try_into().ok())
        .ok_or(err(4, ErrorKind::Truncated))?;
    let data = input.get(8..).unwrap_or_default();
    let body = if is_error(version, icmp_type) {
        // RFC 4884 (ICMP types 3, 11, 12; ICMPv6 types 1, 3): the quote's
        // length, honoured when it is the 128 bytes or more the RFC requires
        // and within the message.
        let quote_len = match (version, icmp_type) {
            (IcmpVersion::V4, 3 | 11 | 12) => usize::from(rest[1]) * 4,
            (IcmpVersion::V6, 1 | 3) => usize::from(rest[0]) * 8,
            _ => 0,
        };
        let (raw, extensions) = match data.split_at_checked(quote_len) {
            Some((q, e)) if quote_len >= RFC4884_MIN_QUOTE => (q, e),
            _ => (data, &[][..]),
        };
        let quoted = match version {
            IcmpVersion::V4 => quoted_v4(raw)?,
            IcmpVersion::V6 => quoted_v6(raw)?,
        };
        IcmpBody::Error { quoted, extensions }
    } else {
        IcmpBody::Data(data)
    };
    Ok(IcmpMessage {
        version,
        icmp_type,
        code,
        checksum,
        rest,
        body,
    })
}

/// The first 8 bytes at `at` of `raw`, or as many as there are.
fn first8(raw: &[u8], at: usize) -> &[u8] {
    let t = raw.get(at..).unwrap_or_default();
    t.get(..8).unwrap_or(t)
}

fn quoted_v4(raw: &[u8]) -> Result<Quoted<'_>, DissectError> {
    let h: &[u8; 20] = raw
        .get(..20)
        .and_then(|h| h.try_into().ok())
        .ok_or(err(8, ErrorKind::Truncated))?;
    let [vihl, _, _, _, _, _, _, _, _, protocol, _, _, s0, s1, s2, s3, d0, d1, d2, d3] = *h;
    if vihl >> 4 != 4 {
        return Err(err(8, ErrorKind::BadVersion(u32::from(vihl >> 4))));
    }
    let ihl = usize::from(vihl & 0xf) * 4;
    if ihl < 20 {
        return Err(err(8, ErrorKind::BadLength { len: ihl, min: 20 }));
    }
    if raw.len() < ihl {
        return Err(err(28, ErrorKind::Truncated));
    }
    Ok(Quoted {
        src: IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3)),
        dst: IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3)),
        protocol,
        transport: first8(raw, ihl),
        raw,
    })
}

fn quoted_v6(raw: &[u8]) -> Result<Quoted<'_>, DissectError> {
    let h = raw.get(..40).ok_or(err(8, ErrorKind::Truncated))?;
    let version = h.first().map_or(0, |b| b >> 4);
    if version != 6 {
        return Err(err(8, ErrorKind::BadVersion(u32::from(version))));
    }
    let addr = |at: usize| {
        h.get(at..at + 16)
            .and_then(|a| <[u8; 16]>::try_from(a).ok())
            .map_or(Ipv6Addr::UNSPECIFIED, Ipv6Addr::from)
    };
    let mut protocol = h.get(6).copied().unwrap_or_default();
    let mut at = 40;
    let mut complete = true;
    for _ in 0..MAX_EXTENSIONS {
        let len = match protocol {
            // Hop-by-hop, routing, destination options: (length + 1) * 8 bytes.
            0 | 43 | 60 => raw.get(at + 1).map(|l| (usize::from(*l) + 1) * 8),
            // Fragment: 8 bytes.
            44 => Some(8),
            _ => break,
        };
        match (raw.get(at).copied(), len) {
            (Some(next), Some(len)) if raw.len() >= at + len => {
                protocol = next;
                at += len;
            }
            _ => {
                complete = false;
                break;
            }
        }
    }
    Ok(Quoted {
        src: IpAddr::V6(addr(8)),
        dst: IpAddr::V6(addr(24)),
        protocol,
        transport: if complete { first8(raw, at) } else { &[] },
        raw,
    })
}

/// Writing a message back: `emit` writes exactly what `parse_v4` / `parse_v6`
/// read, so `parse(&msg.to_vec()?) == Ok(msg)` for a message they returned.
/// The checksum and bytes 4..8 are written as kept (not computed), the quote
/// and extensions as raw bytes; `version` picks nothing on the wire (the IP
/// header carrying the message does).
impl IcmpMessage<'_> {
    /// The exact number of bytes [`IcmpMessage::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        8usize.saturating_add(match &self.body {
            IcmpBody::Error { quoted, extensions } => {
                quoted.raw.len().saturating_add(extensions.len())
            }
            IcmpBody::Data(d) => d.len(),
        })
    }

    /// Write the message (from its type byte) into `buf[..self.buffer_len()]`;
    /// returns the length written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`IcmpMessage::buffer_len`]; nothing is written then.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Icmp, buf, needed)?;
        w.u8(self.icmp_type)?;
        w.u8(self.code)?;
        w.be_u16(self.checksum)?;
        w.bytes(&self.rest)?;
        match &self.body {
            IcmpBody::Error { quoted, extensions } => w.parts(&[quoted.raw, extensions])?,
            IcmpBody::Data(d) => w.bytes(d)?,
        }
        Ok(needed)
    }

    /// The message in a new buffer of [`IcmpMessage::buffer_len`] bytes.
    ///
    /// # Errors
    /// None in practice: the buffer is always big enough.
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PORT_UNREACH: &[u8] = include_bytes!("../testdata/icmp/port-unreachable-udp-mpls.bin");
    const TIME_EXCEEDED: &[u8] = include_bytes!("../testdata/icmp/time-exceeded-udp-mpls.bin");

    /// A quoted IPv4 header, 20 bytes: UDP 10.0.0.5 -> 10.0.0.1.
    const IP4_UDP: &[u8] = b"\x45\x00\x00\x30\x00\x01\x00\x00\x40\x11\x00\x00\
        \x0a\x00\x00\x05\x0a\x00\x00\x01";
    /// The first 8 bytes of a TFTP request's UDP header: 49152 -> 69.
    const UDP_TFTP: &[u8] = b"\xc0\x00\x00\x45\x00\x1c\x00\x00";

    /// A quoted IPv6 header, 40 bytes: UDP (17) 2001:db8::5 -> 2001:db8::1.
    fn ip6(next: u8) -> Vec<u8> {
        let mut h = b"\x60\x00\x00\x00\x00\x10".to_vec();
        h.extend_from_slice(&[next, 64]);
        h.extend_from_slice(&"2001:db8::5".parse::<Ipv6Addr>().unwrap().octets());
        h.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        h
    }

    fn v4_error(t: u8, c: u8, rest: [u8; 4]) -> Vec<u8> {
        [&[t, c, 0x12, 0x34][..], &rest, IP4_UDP, UDP_TFTP].concat()
    }

    #[test]
    fn port_unreachable_quoting_udp() {
        // tshark: type 3 code 3, checksum 0xd4fb; quoted 12.4.4.4 -> 12.1.1.1,
        // protocol 17, UDP 42315 -> 33441.
        let m = parse_v4(PORT_UNREACH).unwrap();
        assert_eq!((m.icmp_type, m.code, m.checksum), (3, 3, 0xd4fb));
        assert_eq!(m.kind(), IcmpKind::Unreachable(Unreachable::Port));
        let q = m.quoted().unwrap();
        assert_eq!(q.src, IpAddr::V4(Ipv4Addr::new(12, 4, 4, 4)));
        assert_eq!(q.dst, IpAddr::V4(Ipv4Addr::new(12, 1, 1, 1)));
        assert_eq!((q.protocol, q.ports()), (17, Some((42315, 33441))));
        assert_eq!(q.transport.len(), 8);
    }

    #[test]
    fn time_exceeded_with_mpls_extensions() {
        // tshark: type 11 code 0, checksum 0xcd04; quoted 12.4.4.4 -> 12.1.1.1,
        // UDP 42315 -> 33435; the quote padded to 128 bytes, then an RFC 4950
        // MPLS extension (no RFC 4884 length: all 140 bytes are the quote).
        let m = parse_v4(TIME_EXCEEDED).unwrap();
        assert_eq!((m.icmp_type, m.code, m.checksum), (11, 0, 0xcd04));
        assert_eq!(m.kind(), IcmpKind::TimeExceeded { reassembly: false });
        let q = m.quoted().unwrap();
        assert_eq!(q.ports(), Some((42315, 33435)));
        assert_eq!(q.raw.len(), 140);
        // With its RFC 4884 length set (32 words), the extension splits off.
        let mut b = TIME_EXCEEDED.to_vec();
        b[5] = 32;
        let m = parse_v4(&b).unwrap();
        let IcmpBody::Error { quoted, extensions } = &m.body else {
            panic!("{m:?}")
        };
        assert_eq!((quoted.raw.len(), extensions.len()), (128, 12));
        assert_eq!(extensions[0] >> 4, 2); // extension version 2
        assert_eq!(m.to_vec().unwrap(), b);
    }

    #[test]
    fn v4_unreachable_codes() {
        for (code, kind) in [
            (0, Unreachable::Net),
            (1, Unreachable::Host),
            (2, Unreachable::Protocol),
            (3, Unreachable::Port),
            (5, Unreachable::Other),
            (9, Unreachable::AdminProhibited),
            (10, Unreachable::AdminProhibited),
            (13, Unreachable::AdminProhibited),
            (16, Unreachable::Other), // unknown code: data, not an error
        ] {
            let b = v4_error(3, code, [0; 4]);
            let m = parse_v4(&b).unwrap();
            assert_eq!(m.kind(), IcmpKind::Unreachable(kind), "{code}");
            assert_eq!(m.quoted().unwrap().ports(), Some((49152, 69)));
        }
        let b = v4_error(3, 4, [0, 0, 0x05, 0xdc]);
        let m = parse_v4(&b).unwrap();
        assert_eq!(
            m.kind(),
            IcmpKind::Unreachable(Unreachable::FragmentationNeeded { mtu: 1500 })
        );
        assert_eq!(
            UnreachableCode(13).name(),
            Some("Communication administratively filtered")
        );
        assert_eq!(format!("{:?}", UnreachableCode(16)), "UnreachableCode(16)");
        let b = v4_error(11, 1, [0; 4]);
        let m = parse_v4(&b).unwrap();
        assert_eq!(m.kind(), IcmpKind::TimeExceeded { reassembly: true });
        let b = v4_error(12, 0, [9, 0, 0, 0]);
        let m = parse_v4(&b).unwrap();
        assert_eq!(m.kind(), IcmpKind::ParameterProblem { pointer: 9 });
        let b = v4_error(5, 1, [10, 0, 0, 254]);
        let m = parse_v4(&b).unwrap();
        assert_eq!(m.kind(), IcmpKind::OtherError);
    }

    #[test]
    fn echo_and_unknown_types_are_kinds() {
        let m = parse_v4(b"\x08\x00\xf7\xfe\x00\x01\x00\x02abc").unwrap();
        assert_eq!(m.kind(), IcmpKind::EchoRequest { id: 1, seq: 2 });
        assert_eq!((m.body.clone(), m.quoted()), (IcmpBody::Data(b"abc"), None));
        let m = parse_v4(b"\x00\x00\x00\x00\x00\x01\x00\x02").unwrap();
        assert_eq!(m.kind(), IcmpKind::EchoReply { id: 1, seq: 2 });
        let m = parse_v6(b"\x80\x00\x00\x00\x12\x34\x00\x07").unwrap();
        assert_eq!(m.kind(), IcmpKind::EchoRequest { id: 0x1234, seq: 7 });
        let m = parse_v6(b"\x81\x00\x00\x00\x12\x34\x00\x07").unwrap();
        assert_eq!(m.kind(), IcmpKind::EchoReply { id: 0x1234, seq: 7 });
        // Router solicitation (133), an unknown type 42: data.
        for t in [133, 42] {
            let b = [t, 0, 0, 0, 0, 0, 0, 0, 1];
            let m = parse_v6(&b).unwrap();
            assert_eq!((m.kind(), m.body), (IcmpKind::Other, IcmpBody::Data(&[1])));
        }
        assert_eq!(
            parse_v4(b"\x2a\x00\x00\x00\x00\x00\x00\x00")
                .unwrap()
                .kind(),
            IcmpKind::Other
        );
    }

    #[test]
    fn v6_errors_quoting_udp() {
        let body = [ip6(17), UDP_TFTP.to_vec()].concat();
        for (t, code, kind) in [
            (1, 4, IcmpKind::Unreachable(Unreachable::Port)),
            (1, 1, IcmpKind::Unreachable(Unreachable::AdminProhibited)),
            (1, 0, IcmpKind::Unreachable(Unreachable::Net)),
            (1, 3, IcmpKind::Unreachable(Unreachable::Host)),
            (1, 2, IcmpKind::Unreachable(Unreachable::Other)),
            (1, 99, IcmpKind::Unreachable(Unreachable::Other)),
            (3, 0, IcmpKind::TimeExceeded { reassembly: false }),
            (2, 0, IcmpKind::PacketTooBig { mtu: 1280 }),
            (4, 0, IcmpKind::ParameterProblem { pointer: 1280 }),
        ] {
            let b = [&[t, code, 0, 0, 0, 0, 5, 0][..], &body].concat();
            let m = parse_v6(&b).unwrap();
            assert_eq!((m.version, m.kind()), (IcmpVersion::V6, kind), "{t}/{code}");
            let q = m.quoted().unwrap();
            assert_eq!(q.src, "2001:db8::5".parse::<IpAddr>().unwrap());
            assert_eq!(q.dst, "2001:db8::1".parse::<IpAddr>().unwrap());
            assert_eq!((q.protocol, q.ports()), (17, Some((49152, 69))));
            assert_eq!(m.to_vec().unwrap(), b);
        }
        assert_eq!(Unreachable6Code::ADMIN_PROHIBITED.0, 1);
        assert_eq!(Unreachable6Code(99).name(), None);
    }

    #[test]
    fn v6_extension_headers_are_walked() {
        // Hop-by-hop (8 bytes) then fragment (8 bytes) then UDP.
        let mut b = b"\x01\x04\x00\x00\x00\x00\x00\x00".to_vec();
        b.extend_from_slice(&ip6(0));
        b.extend_from_slice(b"\x2c\x00\x01\x04\x00\x00\x00\x00"); // next 44
        b.extend_from_slice(b"\x11\x00\x00\x01\x00\x00\x00\x01"); // next 17
        b.extend_from_slice(&UDP_TFTP[..4]);
        let m = parse_v6(&b).unwrap();
        let q = m.quoted().unwrap();
        assert_eq!((q.protocol, q.ports()), (17, Some((49152, 69))));
        assert_eq!(q.transport.len(), 4);
        // Cut inside the fragment header: the walk stops there.
        let m = parse_v6(&b[..8 + 40 + 8 + 3]).unwrap();
        let q = m.quoted().unwrap();
        assert_eq!((q.protocol, q.transport, q.ports()), (44, &[][..], None));
        // TCP quoted without extension headers.
        let mut b = b"\x01\x04\x00\x00\x00\x00\x00\x00".to_vec();
        b.extend_from_slice(&ip6(6));
        b.extend_from_slice(b"\x13\xc4\x13\xc4");
        assert_eq!(
            parse_v6(&b).unwrap().quoted().unwrap().ports(),
            Some((5060, 5060))
        );
        // ICMP quoted: no ports.
        let b = [
            &[3, 1, 0, 0, 0, 0, 0, 0][..],
            b"\x45\x00\x00\x1c\x00\x00\x00\x00\x40\x01\x00\x00\x0a\x00\x00\x05\x0a\x00\x00\x01\x08\x00",
        ]
        .concat();
        let m = parse_v4(&b).unwrap();
        assert_eq!(m.quoted().unwrap().ports(), None);
    }

    #[test]
    fn truncation_and_bad_quotes() {
        let good = v4_error(3, 3, [0; 4]);
        for (bytes, offset, kind) in [
            (&b""[..], 0, ErrorKind::Truncated),
            (&b"\x03"[..], 1, ErrorKind::Truncated),
            (&b"\x03\x03\x00"[..], 2, ErrorKind::Truncated),
            (&b"\x03\x03\x00\x00\x00\x00"[..], 4, ErrorKind::Truncated),
            (&good[..8], 8, ErrorKind::Truncated),
            (&good[..27], 8, ErrorKind::Truncated),
        ] {
            let e = parse_v4(bytes).unwrap_err();
            assert_eq!(
                (e.proto, e.offset, e.kind),
                (Proto::Icmp, offset, kind),
                "{bytes:?}"
            );
        }
        // The quoted header alone, no transport bytes: fine.
        let m = parse_v4(&good[..28]).unwrap();
        assert_eq!(
            (m.quoted().unwrap().transport, m.quoted().unwrap().ports()),
            (&[][..], None)
        );
        // IHL 6 (options) with the options cut.
        let mut b = good.clone();
        b[8] = 0x46;
        let e = parse_v4(&b[..30]).unwrap_err();
        assert_eq!((e.offset, e.kind), (28, ErrorKind::Truncated));
        // With the options present, the ports come after them.
        let m = parse_v4(&b).unwrap();
        assert_eq!(m.quoted().unwrap().transport, &UDP_TFTP[4..]);
        // IHL 4, version 6 in an ICMP (v4) error.
        b[8] = 0x44;
        let e = parse_v4(&b).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (8, ErrorKind::BadLength { len: 16, min: 20 })
        );
        b[8] = 0x65;
        let e = parse_v4(&b).unwrap_err();
        assert_eq!((e.offset, e.kind), (8, ErrorKind::BadVersion(6)));
        // ICMPv6: a quote shorter than 40 bytes, or of IPv4.
        let short = [&[1, 4, 0, 0, 0, 0, 0, 0][..], &ip6(17)[..39]].concat();
        let e = parse_v6(&short).unwrap_err();
        assert_eq!((e.offset, e.kind), (8, ErrorKind::Truncated));
        let e = parse_v6(&[&[1, 4, 0, 0, 0, 0, 0, 0][..], IP4_UDP, IP4_UDP].concat()).unwrap_err();
        assert_eq!((e.offset, e.kind), (8, ErrorKind::BadVersion(4)));
    }

    #[test]
    fn fixtures_re_emit_byte_exact() {
        for bytes in [PORT_UNREACH, TIME_EXCEEDED] {
            let m = parse_v4(bytes).unwrap();
            assert_eq!(m.buffer_len(), bytes.len());
            assert_eq!(m.to_vec().unwrap(), bytes);
        }
        let m = parse_v4(PORT_UNREACH).unwrap();
        assert_eq!(
            m.emit(&mut [0; 8]),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Icmp,
                needed: PORT_UNREACH.len()
            })
        );
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            v6 in any::<bool>(),
            t in prop_oneof![Just(1u8), Just(3), Just(11), Just(0), Just(8), Just(128), any::<u8>()],
            code in any::<u8>(),
            checksum in any::<u16>(),
            rest in any::<[u8; 4]>(),
            next in prop_oneof![Just(17u8), Just(6), Just(0), Just(44), any::<u8>()],
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            // A well-formed quote for either version, then any bytes.
            let head = [t, code, (checksum >> 8) as u8, checksum as u8];
            let quote = if v6 { ip6(next) } else { IP4_UDP.to_vec() };
            let b = [&head[..], &rest, &quote, &tail].concat();
            let m = if v6 { parse_v6(&b) } else { parse_v4(&b) }.unwrap();
            let out = m.to_vec().unwrap();
            prop_assert_eq!(&out, &b);
            let again = if v6 { parse_v6(&out) } else { parse_v4(&out) }.unwrap();
            prop_assert_eq!(again, m);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            for m in [parse_v4(&data), parse_v6(&data)].into_iter().flatten() {
                let _ = m.kind();
                if let Some(q) = m.quoted() {
                    prop_assert!(q.transport.len() <= 8);
                    let _ = q.ports();
                }
                prop_assert_eq!(m.to_vec().unwrap(), data.clone());
            }
        }
    }
}
