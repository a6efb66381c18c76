//! GRE (RFC 2784, with the key and sequence number of RFC 2890) and the ERSPAN
//! headers a Cisco switch puts inside it to mirror a port to a remote sensor
//! (draft-foschiano-erspan-03). Header views only: `parse` borrows the payload and
//! says what it is; the link layer (`bootscope::link`) slices the frame inside.
//!
//! GRE, as Wireshark's `packet-gre.c` reads it:
//! - flags C (checksum, with a reserved word), K (key), S (sequence number) add their
//!   4-byte fields in that order; the checksum is read, never verified.
//! - Version 0 only: version 1 (PPTP's enhanced GRE) is `BadVersion`; the routing bit
//!   (RFC 1701 source routes, which RFC 2784 dropped) is `Malformed`. Other reserved
//!   bits are ignored, and written back as zero.
//!
//! ERSPAN ([`parse_erspan`], [`GrePacket::erspan`]), as Wireshark's `packet-erspan.c`:
//! - GRE protocol 0x88be without the GRE sequence bit is type I: no header, the
//!   mirrored Ethernet frame follows at once. With it, the version nibble says the
//!   header: 1 is type II (8 bytes), 2 type III (12 bytes); 0x22eb is always type III.
//! - Type III with the O bit has an 8-byte platform-specific subheader after the
//!   12 bytes. Its frame type 0 is an Ethernet frame; any other ([`ErspanPacket::ethernet`]
//!   gives `None`) is not sliced, as tshark shows it as data.

use nom::number::complete::{be_u16, be_u32, be_u64, be_u8};
use nom::Parser;

use crate::codepoint::code_points;
use crate::emit::{self, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

code_points! {
    /// The protocol type of a GRE header: an ether type, and a few of Cisco's own.
    GreProtocol(u16), debug = name "{:#06x}" {
        /// An IPv4 packet, no link header.
        IPV4 = 0x0800 => "IPv4",
        /// An IPv6 packet, no link header.
        IPV6 = 0x86dd => "IPv6",
        /// A whole Ethernet frame (RFC 1701 "transparent Ethernet bridging").
        TRANSPARENT_ETHERNET = 0x6558 => "Transparent Ethernet bridging",
        /// ERSPAN types I and II.
        ERSPAN = 0x88be => "ERSPAN",
        /// ERSPAN type III.
        ERSPAN_III = 0x22eb => "ERSPAN III",
        /// A CDP PDU (as in Cisco HDLC): CDP between the two ends of a GRE tunnel.
        CDP = 0x2000 => "CDP",
        /// Cisco MetaData (TrustSec tag) before an ether type.
        CISCO_METADATA = 0x8909 => "CiscoMetaData",
    }
    also_named {
        0x0000 => "Keepalive",
        0x880b => "PPP",
        0x883e => "WCCP",
        0x8847 => "MPLS",
    }
}

/// GRE flag bits (first byte).
const FLAG_CHECKSUM: u8 = 0x80;
const FLAG_ROUTING: u8 = 0x40;
const FLAG_KEY: u8 = 0x20;
const FLAG_SEQUENCE: u8 = 0x10;

/// One GRE packet, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrePacket<'a> {
    /// What the payload is.
    pub protocol: GreProtocol,
    /// The checksum field, when the C bit is set (as read: not verified).
    pub checksum: Option<u16>,
    /// The key (RFC 2890), when the K bit is set.
    pub key: Option<u32>,
    /// The sequence number (RFC 2890), when the S bit is set.
    pub sequence: Option<u32>,
    /// Everything after the header.
    pub payload: &'a [u8],
}

/// Read a GRE header; the payload is the rest of `input`.
///
/// # Errors
/// Fewer bytes than the header announces (`Truncated`), version 1 or more
/// (`BadVersion`), the routing bit (`Malformed`).
pub fn parse(input: &[u8]) -> Result<GrePacket<'_>, DissectError> {
    finish(Proto::Gre, input, gre(input)).map(|(pkt, _rest)| pkt)
}

fn gre(input: &[u8]) -> PResult<'_, GrePacket<'_>> {
    let (i, (flags, version, protocol)) = (be_u8, be_u8, be_u16).parse(input)?;
    if version & 0x07 != 0 {
        return fail(input, ErrorKind::BadVersion(u32::from(version & 0x07)));
    }
    if flags & FLAG_ROUTING != 0 {
        return fail(input, ErrorKind::Malformed("GRE source routing"));
    }
    let (i, checksum) = if flags & FLAG_CHECKSUM != 0 {
        let (i, (sum, _reserved)) = (be_u16, be_u16).parse(i)?;
        (i, Some(sum))
    } else {
        (i, None)
    };
    let (i, key) = optional_u32(i, flags & FLAG_KEY != 0)?;
    let (i, sequence) = optional_u32(i, flags & FLAG_SEQUENCE != 0)?;
    Ok((
        &[],
        GrePacket {
            protocol: GreProtocol(protocol),
            checksum,
            key,
            sequence,
            payload: i,
        },
    ))
}

fn optional_u32(i: &[u8], present: bool) -> PResult<'_, Option<u32>> {
    if present {
        be_u32.map(Some).parse(i)
    } else {
        Ok((i, None))
    }
}

impl<'a> GrePacket<'a> {
    /// The length of the header (4 to 16 bytes).
    pub fn header_len(&self) -> usize {
        4 + 4
            * (usize::from(self.checksum.is_some())
                + usize::from(self.key.is_some())
                + usize::from(self.sequence.is_some()))
    }

    /// The ERSPAN header and mirrored frame in the payload, for protocols 0x88be and
    /// 0x22eb (see [`parse_erspan`]).
    ///
    /// # Errors
    /// Another protocol (`BadValue`), or the ERSPAN header's own errors.
    pub fn erspan(&self) -> Result<ErspanPacket<'a>, DissectError> {
        parse_erspan(self.protocol, self.sequence.is_some(), self.payload)
    }

    /// The exact number of bytes [`GrePacket::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.header_len().saturating_add(self.payload.len())
    }

    /// Write the header (version 0, the flags of the fields present, reserved bits
    /// zero) and the payload into `buf[..self.buffer_len()]`; returns the length
    /// written. The checksum is written as given, not computed.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`GrePacket::buffer_len`]; nothing is written then.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Gre, buf, needed)?;
        let flag = |present: bool, bit: u8| if present { bit } else { 0 };
        w.u8(flag(self.checksum.is_some(), FLAG_CHECKSUM)
            | flag(self.key.is_some(), FLAG_KEY)
            | flag(self.sequence.is_some(), FLAG_SEQUENCE))?;
        w.u8(0)?;
        w.be_u16(self.protocol.0)?;
        if let Some(sum) = self.checksum {
            w.be_u16(sum)?;
            w.be_u16(0)?;
        }
        for field in [self.key, self.sequence].into_iter().flatten() {
            w.be_u32(field)?;
        }
        w.bytes(self.payload)?;
        Ok(needed)
    }

    /// The packet in a new buffer of [`GrePacket::buffer_len`] bytes.
    ///
    /// # Errors
    /// None in practice: the buffer is always big enough.
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

/// The ERSPAN type II header (8 bytes after the GRE header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErspanII {
    /// The mirrored frame's VLAN (12 bits).
    pub vlan: u16,
    /// Its class of service (3 bits).
    pub cos: u8,
    /// How the frame was encapsulated at the source port (2 bits: 0 untagged,
    /// 1 ISL, 2 802.1Q, 3 tag kept).
    pub encap: u8,
    /// The frame was cut to fit.
    pub truncated: bool,
    /// The monitor session (10 bits).
    pub session: u16,
    /// The source port or module index (20 bits).
    pub index: u32,
}

/// The ERSPAN type III header (12 bytes, 20 with the platform subheader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErspanIII {
    /// The mirrored frame's VLAN (12 bits).
    pub vlan: u16,
    /// Its class of service (3 bits).
    pub cos: u8,
    /// Bad/short/oversized frame (2 bits: 0 good, 3 CRC error…).
    pub bso: u8,
    /// The frame was cut to fit.
    pub truncated: bool,
    /// The monitor session (10 bits).
    pub session: u16,
    /// Timestamp, in the granularity's units.
    pub timestamp: u32,
    /// TrustSec security group tag.
    pub sgt: u16,
    /// The P bit (the frame is an Ethernet PDU without its FCS).
    pub pdu: bool,
    /// What the mirrored frame is (5 bits: 0 Ethernet, 2 IP).
    pub frame_type: u8,
    /// Hardware id (6 bits).
    pub hardware_id: u8,
    /// Mirrored on egress rather than ingress.
    pub egress: bool,
    /// Timestamp granularity (2 bits).
    pub granularity: u8,
    /// The platform-specific subheader (present when the O bit is set).
    pub platform: Option<u64>,
}

/// An ERSPAN header by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErspanHeader {
    /// Type I: no header (GRE protocol 0x88be without a sequence number).
    TypeI,
    /// Type II (GRE protocol 0x88be with a sequence number, version 1).
    TypeII(ErspanII),
    /// Type III (GRE protocol 0x22eb, version 2).
    TypeIII(ErspanIII),
}

impl ErspanHeader {
    /// The GRE protocol type that announces this header.
    pub fn gre_protocol(&self) -> GreProtocol {
        match self {
            ErspanHeader::TypeI | ErspanHeader::TypeII(_) => GreProtocol::ERSPAN,
            ErspanHeader::TypeIII(_) => GreProtocol::ERSPAN_III,
        }
    }

    /// Whether the GRE header must carry a sequence number for the header to read
    /// back as this type (type I must not have one; the others do in practice).
    pub fn gre_sequenced(&self) -> bool {
        !matches!(self, ErspanHeader::TypeI)
    }

    /// The length of the header.
    pub fn len(&self) -> usize {
        match self {
            ErspanHeader::TypeI => 0,
            ErspanHeader::TypeII(_) => 8,
            ErspanHeader::TypeIII(h) => 12 + if h.platform.is_some() { 8 } else { 0 },
        }
    }

    /// Whether the header takes no bytes (type I).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An ERSPAN packet: its header and the mirrored frame, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErspanPacket<'a> {
    /// The header.
    pub header: ErspanHeader,
    /// What follows the header: the mirrored frame, without its FCS.
    pub frame: &'a [u8],
}

/// Read the ERSPAN header that GRE `protocol` announces at the start of `input`
/// (`sequenced`: the GRE header carried a sequence number).
///
/// # Errors
/// A protocol other than 0x88be or 0x22eb (`BadValue`), a version other than 1 or 2
/// (`BadVersion`), fewer bytes than the header (`Truncated`).
pub fn parse_erspan(
    protocol: GreProtocol,
    sequenced: bool,
    input: &[u8],
) -> Result<ErspanPacket<'_>, DissectError> {
    finish(Proto::Erspan, input, erspan(protocol, sequenced, input)).map(|(pkt, _rest)| pkt)
}

fn erspan(protocol: GreProtocol, sequenced: bool, input: &[u8]) -> PResult<'_, ErspanPacket<'_>> {
    match protocol {
        GreProtocol::ERSPAN if !sequenced => {
            return Ok((
                &[],
                ErspanPacket {
                    header: ErspanHeader::TypeI,
                    frame: input,
                },
            ))
        }
        GreProtocol::ERSPAN | GreProtocol::ERSPAN_III => {}
        other => {
            return fail(
                input,
                ErrorKind::BadValue {
                    field: "GRE protocol",
                    value: other.0.into(),
                },
            )
        }
    }
    let (i, (w0, w1)) = (be_u32, be_u32).parse(input)?;
    let version = w0 >> 28;
    let vlan = ((w0 >> 16) & 0x0fff) as u16;
    let cos = ((w0 >> 13) & 0x07) as u8;
    let two = ((w0 >> 11) & 0x03) as u8;
    let truncated = w0 & 0x0400 != 0;
    let session = (w0 & 0x03ff) as u16;
    match version {
        1 => Ok((
            &[],
            ErspanPacket {
                header: ErspanHeader::TypeII(ErspanII {
                    vlan,
                    cos,
                    encap: two,
                    truncated,
                    session,
                    index: w1 & 0x000f_ffff,
                }),
                frame: i,
            },
        )),
        2 => {
            let (i, w2) = be_u32(i)?;
            let (i, platform) = if w2 & 1 != 0 {
                be_u64.map(Some).parse(i)?
            } else {
                (i, None)
            };
            let header = ErspanIII {
                vlan,
                cos,
                bso: two,
                truncated,
                session,
                timestamp: w1,
                sgt: (w2 >> 16) as u16,
                pdu: w2 & 0x8000 != 0,
                frame_type: ((w2 >> 10) & 0x1f) as u8,
                hardware_id: ((w2 >> 4) & 0x3f) as u8,
                egress: w2 & 0x08 != 0,
                granularity: ((w2 >> 1) & 0x03) as u8,
                platform,
            };
            Ok((
                &[],
                ErspanPacket {
                    header: ErspanHeader::TypeIII(header),
                    frame: i,
                },
            ))
        }
        v => fail(input, ErrorKind::BadVersion(v)),
    }
}

impl<'a> ErspanPacket<'a> {
    /// The mirrored Ethernet frame: types I and II always, type III when its frame
    /// type is 0 (Ethernet).
    pub fn ethernet(&self) -> Option<&'a [u8]> {
        match self.header {
            ErspanHeader::TypeIII(h) if h.frame_type != 0 => None,
            _ => Some(self.frame),
        }
    }

    /// The exact number of bytes [`ErspanPacket::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.header.len().saturating_add(self.frame.len())
    }

    /// Write the header (nothing for type I; reserved bits zero; the O bit when a
    /// platform subheader is given) and the frame into `buf[..self.buffer_len()]`;
    /// returns the length written. The GRE header around it must carry
    /// [`ErspanHeader::gre_protocol`] and, but for type I, a sequence number.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`ErspanPacket::buffer_len`]; [`EmitError::Unrepresentable`] for a field wider
    /// than its bits (VLAN 12, COS 3, encapsulation / BSO 2, session 10, index 20,
    /// frame type 5, hardware id 6, granularity 2).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Erspan, buf, needed)?;
        let first = |version: u32, vlan: u16, cos: u8, two: u8, t: bool, session: u16| {
            check("vlan", vlan.into(), 12)?;
            check("cos", cos.into(), 3)?;
            check("encap", two.into(), 2)?;
            check("session", session.into(), 10)?;
            Ok::<u32, EmitError>(
                version << 28
                    | u32::from(vlan) << 16
                    | u32::from(cos) << 13
                    | u32::from(two) << 11
                    | u32::from(t) << 10
                    | u32::from(session),
            )
        };
        match self.header {
            ErspanHeader::TypeI => {}
            ErspanHeader::TypeII(h) => {
                check("index", h.index, 20)?;
                w.be_u32(first(1, h.vlan, h.cos, h.encap, h.truncated, h.session)?)?;
                w.be_u32(h.index)?;
            }
            ErspanHeader::TypeIII(h) => {
                check("frame type", h.frame_type.into(), 5)?;
                check("hardware id", h.hardware_id.into(), 6)?;
                check("granularity", h.granularity.into(), 2)?;
                w.be_u32(first(2, h.vlan, h.cos, h.bso, h.truncated, h.session)?)?;
                w.be_u32(h.timestamp)?;
                w.be_u32(
                    u32::from(h.sgt) << 16
                        | u32::from(h.pdu) << 15
                        | u32::from(h.frame_type) << 10
                        | u32::from(h.hardware_id) << 4
                        | u32::from(h.egress) << 3
                        | u32::from(h.granularity) << 1
                        | u32::from(h.platform.is_some()),
                )?;
                if let Some(p) = h.platform {
                    w.bytes(&p.to_be_bytes())?;
                }
            }
        }
        w.bytes(self.frame)?;
        Ok(needed)
    }

    /// The packet in a new buffer of [`ErspanPacket::buffer_len`] bytes.
    ///
    /// # Errors
    /// As [`ErspanPacket::emit`].
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

/// `Unrepresentable` when `value` needs more than `bits` bits.
fn check(field: &'static str, value: u32, bits: u32) -> Result<(), EmitError> {
    if value >> bits == 0 {
        Ok(())
    } else {
        Err(emit::unrepresentable(
            Proto::Erspan,
            field,
            "wider than its bits",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ERSPAN_II_CDP: &[u8] = include_bytes!("../testdata/tunnel/erspan-ii-cdp.bin");
    const ERSPAN_I_DOT1Q: &[u8] = include_bytes!("../testdata/tunnel/erspan-i-dot1q-ospf.bin");
    const ERSPAN_III_PLATFORM: &[u8] =
        include_bytes!("../testdata/tunnel/erspan-iii-platform-dot1q.bin");
    const ERSPAN_III_FT7: &[u8] = include_bytes!("../testdata/tunnel/erspan-iii-frame-type-7.bin");
    const GRE_CDP: &[u8] = include_bytes!("../testdata/tunnel/gre-cdp.bin");
    const GRE_METADATA: &[u8] = include_bytes!("../testdata/tunnel/gre-metadata-keepalive.bin");

    const FIXTURES: [&[u8]; 6] = [
        ERSPAN_II_CDP,
        ERSPAN_I_DOT1Q,
        ERSPAN_III_PLATFORM,
        ERSPAN_III_FT7,
        GRE_CDP,
        GRE_METADATA,
    ];

    #[test]
    fn erspan_ii_carries_a_cdp_frame() {
        // tshark: sequence 1794; ERSPAN II VLAN 23, COS 0, encap 1 (ISL), span id 100,
        // index 0; then IEEE 802.3 to 01:00:0c:cc:cc:cc with CDP from CSR3.
        let g = parse(ERSPAN_II_CDP).unwrap();
        assert_eq!(g.protocol, GreProtocol::ERSPAN);
        assert_eq!((g.checksum, g.key, g.sequence), (None, None, Some(1794)));
        assert_eq!(g.header_len(), 8);
        let e = g.erspan().unwrap();
        let want = ErspanII {
            vlan: 23,
            cos: 0,
            encap: 1,
            truncated: false,
            session: 100,
            index: 0,
        };
        assert_eq!(e.header, ErspanHeader::TypeII(want));
        assert_eq!(e.frame.len(), ERSPAN_II_CDP.len() - 16);
        assert_eq!(
            e.ethernet().unwrap()[..6],
            [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc]
        );
    }

    #[test]
    fn erspan_without_a_sequence_number_is_type_i() {
        // tshark: "Encapsulated Remote Switch Packet ANalysis Type I", then Ethernet
        // 00:23:89:ce:44:13 → 01:00:5e:00:00:05 with an 802.1Q tag, VLAN 10.
        let g = parse(ERSPAN_I_DOT1Q).unwrap();
        assert_eq!(g.sequence, None);
        let e = g.erspan().unwrap();
        assert_eq!(e.header, ErspanHeader::TypeI);
        assert!(e.header.is_empty());
        assert_eq!(e.frame, g.payload);
        assert_eq!(e.frame[..6], [0x01, 0x00, 0x5e, 0x00, 0x00, 0x05]);
        assert_eq!(e.frame[12..16], [0x81, 0x00, 0x00, 0x0a]);
    }

    #[test]
    fn erspan_iii_reads_the_platform_subheader() {
        // tshark: VLAN 10, span id 0, timestamp 1884323413, SGT 0, frame type 0
        // (Ethernet), hardware id 0, ingress, granularity 3, optional subheader: platform
        // id 3, port id 3, upper timestamp 368526056. Then 00:ae:cd:00:0c:f1 →
        // 00:50:56:8b:6d:c7, 802.1Q VLAN 10.
        let g = parse(ERSPAN_III_PLATFORM).unwrap();
        assert_eq!(g.protocol, GreProtocol::ERSPAN_III);
        let e = g.erspan().unwrap();
        let ErspanHeader::TypeIII(h) = e.header else {
            panic!("{e:?}")
        };
        assert_eq!((h.vlan, h.session, h.timestamp), (10, 0, 1_884_323_413));
        assert_eq!(
            (h.frame_type, h.hardware_id, h.egress, h.granularity),
            (0, 0, false, 3)
        );
        assert_eq!(h.platform, Some(0x0c00_0003_15f7_42e8));
        assert_eq!(h.platform.map(|p| p >> 58), Some(3));
        assert_eq!(e.header.len(), 20);
        assert_eq!(
            e.ethernet().unwrap()[..6],
            [0x00, 0x50, 0x56, 0x8b, 0x6d, 0xc7]
        );
    }

    #[test]
    fn erspan_iii_of_another_frame_type_is_not_ethernet() {
        // tshark: sequence 47838; BSO 3 (CRC error), span id 101, frame type 7, hardware
        // id 32, granularity 0; then "Data (72 bytes)".
        let g = parse(ERSPAN_III_FT7).unwrap();
        assert_eq!(g.sequence, Some(47838));
        let e = g.erspan().unwrap();
        let ErspanHeader::TypeIII(h) = e.header else {
            panic!("{e:?}")
        };
        assert_eq!((h.vlan, h.bso, h.session), (1, 3, 101));
        assert_eq!((h.frame_type, h.hardware_id, h.platform), (7, 32, None));
        assert_eq!(e.frame.len(), 72);
        assert_eq!(e.ethernet(), None);
    }

    #[test]
    fn gre_with_a_key_carries_cdp_and_cisco_metadata() {
        // tshark: flags 0x2000 (key), key 0x00000028; protocol CDP (0x2000), and in
        // another frame CiscoMetaData (0x8909) whose first two bytes are the type 0x0800.
        let g = parse(GRE_CDP).unwrap();
        assert_eq!((g.protocol, g.key), (GreProtocol::CDP, Some(0x28)));
        assert_eq!(g.payload[..2], [0x02, 0xb4]);
        assert_eq!(format!("{:?}", g.protocol), "CDP");
        let g = parse(GRE_METADATA).unwrap();
        assert_eq!(g.protocol, GreProtocol::CISCO_METADATA);
        assert_eq!(g.payload[..2], [0x08, 0x00]);
        assert!(g.erspan().is_err());
    }

    #[test]
    fn the_fixtures_write_back_byte_for_byte() {
        for f in FIXTURES {
            let g = parse(f).unwrap();
            assert_eq!(g.to_vec().unwrap(), f);
            if let Ok(e) = g.erspan() {
                assert_eq!(e.to_vec().unwrap(), g.payload);
            }
        }
    }

    #[test]
    fn checksum_routing_version_and_truncation() {
        let with_sum = [0x80, 0, 0x08, 0x00, 0x12, 0x34, 0, 0, 0x45];
        let g = parse(&with_sum).unwrap();
        assert_eq!((g.checksum, g.payload), (Some(0x1234), &[0x45][..]));
        let e = parse(&[0x00, 0x01, 0x88, 0x0b]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadVersion(1));
        let e = parse(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed("GRE source routing"));
        for n in 0..8 {
            let e = parse(&ERSPAN_II_CDP[..n]).unwrap_err();
            assert_eq!((e.kind, e.proto), (ErrorKind::Truncated, Proto::Gre), "{n}");
        }
        let g = parse(&ERSPAN_II_CDP[..12]).unwrap();
        let e = g.erspan().unwrap_err();
        assert_eq!(
            (e.kind, e.proto, e.offset),
            (ErrorKind::Truncated, Proto::Erspan, 4)
        );
    }

    #[test]
    fn erspan_versions_and_protocols_that_are_not_erspan() {
        let e = parse_erspan(GreProtocol::IPV4, true, &[0; 20]).unwrap_err();
        assert!(matches!(
            e.kind,
            ErrorKind::BadValue {
                field: "GRE protocol",
                value: 0x0800
            }
        ));
        let e = parse_erspan(GreProtocol::ERSPAN, true, &[0x30; 20]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadVersion(3));
        // 0x22eb is never type I, with or without a sequence number.
        let e = parse_erspan(GreProtocol::ERSPAN_III, false, &[0x10; 4]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated);
    }

    #[test]
    fn fields_wider_than_their_bits_are_unrepresentable() {
        let frame = [0u8; 14];
        let ii = |h: ErspanII| ErspanPacket {
            header: ErspanHeader::TypeII(h),
            frame: &frame,
        };
        for h in [
            ErspanII {
                vlan: 4096,
                ..ErspanII::default()
            },
            ErspanII {
                cos: 8,
                ..ErspanII::default()
            },
            ErspanII {
                encap: 4,
                ..ErspanII::default()
            },
            ErspanII {
                session: 1024,
                ..ErspanII::default()
            },
            ErspanII {
                index: 1 << 20,
                ..ErspanII::default()
            },
        ] {
            assert!(
                matches!(ii(h).to_vec(), Err(EmitError::Unrepresentable { .. })),
                "{h:?}"
            );
        }
        let iii = ErspanPacket {
            header: ErspanHeader::TypeIII(ErspanIII {
                frame_type: 32,
                ..ErspanIII::default()
            }),
            frame: &frame,
        };
        assert!(matches!(
            iii.to_vec(),
            Err(EmitError::Unrepresentable { .. })
        ));
        let mut small = [0u8; 4];
        assert_eq!(
            ii(ErspanII::default()).emit(&mut small),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Erspan,
                needed: 22
            })
        );
    }

    fn gen_erspan() -> impl Strategy<Value = ErspanHeader> {
        let ii = (
            0u16..4096,
            0u8..8,
            0u8..4,
            any::<bool>(),
            0u16..1024,
            0u32..1 << 20,
        )
            .prop_map(|(vlan, cos, encap, truncated, session, index)| {
                ErspanHeader::TypeII(ErspanII {
                    vlan,
                    cos,
                    encap,
                    truncated,
                    session,
                    index,
                })
            });
        let iii = (
            (
                0u16..4096,
                0u8..8,
                0u8..4,
                any::<bool>(),
                0u16..1024,
                any::<u32>(),
            ),
            (
                any::<u16>(),
                any::<bool>(),
                0u8..32,
                0u8..64,
                any::<bool>(),
                0u8..4,
            ),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(
                |((vlan, cos, bso, truncated, session, timestamp), rest, platform)| {
                    let (sgt, pdu, frame_type, hardware_id, egress, granularity) = rest;
                    ErspanHeader::TypeIII(ErspanIII {
                        vlan,
                        cos,
                        bso,
                        truncated,
                        session,
                        timestamp,
                        sgt,
                        pdu,
                        frame_type,
                        hardware_id,
                        egress,
                        granularity,
                        platform,
                    })
                },
            );
        prop_oneof![Just(ErspanHeader::TypeI), ii, iii]
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            protocol in any::<u16>(),
            checksum in proptest::option::of(any::<u16>()),
            key in proptest::option::of(any::<u32>()),
            sequence in proptest::option::of(any::<u32>()),
            payload in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let g = GrePacket { protocol: GreProtocol(protocol), checksum, key, sequence, payload: &payload };
            let bytes = g.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), g.buffer_len());
            prop_assert_eq!(parse(&bytes).unwrap(), g);
        }

        #[test]
        fn erspan_emit_parse_round_trip(
            header in gen_erspan(),
            frame in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let e = ErspanPacket { header, frame: &frame };
            let bytes = e.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), e.buffer_len());
            let back = parse_erspan(header.gre_protocol(), header.gre_sequenced(), &bytes).unwrap();
            prop_assert_eq!(back, e);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), sequenced in any::<bool>()) {
            if let Ok(g) = parse(&data) {
                prop_assert_eq!(g.header_len() + g.payload.len(), data.len());
                let _ = g.erspan();
            }
            for protocol in [GreProtocol::ERSPAN, GreProtocol::ERSPAN_III] {
                if let Ok(e) = parse_erspan(protocol, sequenced, &data) {
                    prop_assert_eq!(e.header.len() + e.frame.len(), data.len());
                    let _ = e.ethernet();
                }
            }
        }
    }
}
