//! EAPOL (IEEE 802.1X-2010 §11, ether type 0x888e) and the EAP it carries
//! (RFC 3748), with the flags and message length of the TLS-based methods
//! (RFC 5216 for EAP-TLS; TTLS, PEAP and FAST share its framing). A phone on an
//! 802.1X port answers the switch's Identity request with `CP-<model>-SEP<MAC>`
//! before it may send anything else, DHCP included.
//!
//! As Wireshark's `packet-eapol.c` and `packet-eap.c` read it:
//! - The EAPOL header is version, packet type and body length; the body is the
//!   body length's bytes. What follows (Ethernet padding) is ignored.
//! - Any version and packet type is kept; only an EAP-Packet's body is read
//!   further, the others (Start, Logoff, Key...) are borrowed as they are.
//! - The EAP length counts the 4-byte EAP header; below 4 (5 for a Request or
//!   a Response, which carry a type) is `BadLength`, above the EAPOL body
//!   `TooLong`. Body bytes past the EAP length are ignored.
//! - Request and Response carry a type; Identity's data is the identity (or,
//!   in a Request, an optional prompt), borrowed. TLS, TTLS, PEAP and FAST data
//!   starts with a flags byte (L, M, S and a 3-bit version), then the 4-byte TLS
//!   message length when L is set. Other types' data is borrowed as it is.
//!   Success, Failure and unknown codes keep what follows their header.

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::Parser;

use crate::codepoint::{bit_flags, code_points};
use crate::emit::{self, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

/// The ether type of EAPOL frames.
pub const ETHER_TYPE: u16 = 0x888e;

code_points! {
    /// The packet type of an EAPOL header (802.1X-2010 table 11-3).
    EapolType(u8) {
        /// The body is an EAP packet.
        EAP_PACKET = 0 => "EAP-Packet",
        /// The supplicant asks the authenticator to start.
        START = 1 => "EAPOL-Start",
        /// The supplicant logs off.
        LOGOFF = 2 => "EAPOL-Logoff",
        /// A key descriptor (RC4 or 802.11).
        KEY = 3 => "EAPOL-Key",
        /// An encapsulated ASF alert.
        ASF_ALERT = 4 => "EAPOL-Encapsulated-ASF-Alert",
    }
    also_named {
        5 => "EAPOL-MKA",
        6 => "EAPOL-Announcement (Generic)",
        7 => "EAPOL-Announcement (Specific)",
        8 => "EAPOL-Announcement-Req",
    }
}

code_points! {
    /// The code of an EAP packet (RFC 3748 §4).
    EapCode(u8) {
        /// The authenticator asks.
        REQUEST = 1 => "Request",
        /// The peer answers.
        RESPONSE = 2 => "Response",
        /// Authentication succeeded.
        SUCCESS = 3 => "Success",
        /// Authentication failed.
        FAILURE = 4 => "Failure",
    }
    also_named {
        5 => "Initiate",
        6 => "Finish",
    }
}

code_points! {
    /// The type of an EAP Request or Response (IANA "Method Types").
    EapType(u8) {
        /// The peer's identity (or the authenticator's prompt for it).
        IDENTITY = 1 => "Identity",
        /// A message to display.
        NOTIFICATION = 2 => "Notification",
        /// Legacy Nak: the peer wants other methods (listed in the data).
        NAK = 3 => "Legacy Nak",
        /// MD5-Challenge.
        MD5_CHALLENGE = 4 => "MD5-Challenge",
        /// EAP-TLS (RFC 5216).
        TLS = 13 => "TLS",
        /// Cisco LEAP.
        LEAP = 17 => "LEAP",
        /// EAP-SIM (RFC 4186).
        SIM = 18 => "SIM",
        /// EAP-TTLS (RFC 5281).
        TTLS = 21 => "TTLS",
        /// EAP-AKA (RFC 4187).
        AKA = 23 => "AKA",
        /// PEAP.
        PEAP = 25 => "PEAP",
        /// MS-CHAPv2 (inside PEAP).
        MSCHAPV2 = 26 => "MS-CHAP-v2",
        /// EAP-FAST (RFC 4851).
        FAST = 43 => "FAST",
    }
    also_named {
        6 => "Generic Token Card",
        29 => "EAP-MS-CHAP-v2",
        33 => "TLV",
        50 => "AKA'",
        52 => "PWD",
        254 => "Expanded Type",
        255 => "Experimental",
    }
}

impl EapType {
    /// Whether the type's data has the TLS framing (flags, then the TLS message
    /// length when L is set): TLS, TTLS, PEAP and FAST.
    pub fn is_tls_based(self) -> bool {
        matches!(self, Self::TLS | Self::TTLS | Self::PEAP | Self::FAST)
    }
}

bit_flags! {
    /// The flags byte of TLS-based EAP data; its low 3 bits are the version
    /// of TTLS, PEAP and FAST ([`EapTls::version`]).
    TlsFlags(u8) {
        START = 0x20 => "start",
        MORE = 0x40 => "more fragments",
        LENGTH = 0x80 => "length included",
    }
}

/// One EAPOL PDU, borrowing its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EapolPdu<'a> {
    /// The protocol version (1: 802.1X-2001, 2: -2004, 3: -2010).
    pub version: u8,
    /// The packet type.
    pub packet_type: EapolType,
    /// The body: EAP for an EAP-Packet, raw for the others.
    pub body: EapolBody<'a>,
}

/// The body of an EAPOL PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EapolBody<'a> {
    /// The EAP packet of an EAP-Packet.
    Eap(EapPacket<'a>),
    /// The body of any other packet type (empty for Start and Logoff).
    Raw(&'a [u8]),
}

/// One EAP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EapPacket<'a> {
    /// The code.
    pub code: EapCode,
    /// The identifier matching a Response to its Request.
    pub identifier: u8,
    /// What follows the 4-byte header.
    pub body: EapBody<'a>,
}

/// What follows an EAP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EapBody<'a> {
    /// A Request's or a Response's type and data.
    Typed(EapMessage<'a>),
    /// The bytes after the header of any other code (none for Success and
    /// Failure).
    Raw(&'a [u8]),
}

/// The type and data of an EAP Request or Response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EapMessage<'a> {
    /// The type (method).
    pub eap_type: EapType,
    /// The type's data.
    pub data: EapData<'a>,
}

/// The data of an EAP Request or Response, by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EapData<'a> {
    /// Identity: the peer's identity in a Response (a phone's is
    /// `CP-<model>-SEP<MAC>`), an optional prompt in a Request.
    Identity(&'a [u8]),
    /// TLS, TTLS, PEAP, FAST: the TLS framing.
    Tls(EapTls<'a>),
    /// Any other type's data, as it is.
    Other(&'a [u8]),
}

/// The framing of TLS-based EAP data (RFC 5216 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EapTls<'a> {
    /// The flags byte as read (L, M, S and the version bits).
    pub flags: TlsFlags,
    /// The total TLS message length, present exactly when L is set.
    pub message_length: Option<u32>,
    /// The TLS records (or fragment of them) that follow.
    pub data: &'a [u8],
}

impl EapTls<'_> {
    /// The method version in the low 3 bits of the flags (TTLS, PEAP, FAST).
    pub fn version(&self) -> u8 {
        self.flags.0 & 0x07
    }
}

/// Read an EAPOL PDU from the start of `input` (what follows the Ethernet
/// header, or its 802.1Q tag); bytes past its body length are ignored.
///
/// # Errors
/// A header or body shorter than announced (`Truncated`); for an EAP-Packet,
/// an EAP length below 4, or 5 for a Request or Response (`BadLength`), or
/// above the body (`TooLong`), and TLS-based data without its flags or
/// announced length (`Truncated`).
pub fn parse(input: &[u8]) -> Result<EapolPdu<'_>, DissectError> {
    finish(Proto::Eapol, input, eapol(input)).map(|(pdu, _rest)| pdu)
}

fn eapol(input: &[u8]) -> PResult<'_, EapolPdu<'_>> {
    let (i, (version, packet_type, body_len)) = (be_u8, be_u8, be_u16).parse(input)?;
    let (rest, body) = take(body_len).parse(i)?;
    let packet_type = EapolType(packet_type);
    let body = if packet_type == EapolType::EAP_PACKET {
        EapolBody::Eap(eap(body)?.1)
    } else {
        EapolBody::Raw(body)
    };
    Ok((
        rest,
        EapolPdu {
            version,
            packet_type,
            body,
        },
    ))
}

/// One EAP packet from `body` (the EAPOL body).
fn eap(body: &[u8]) -> PResult<'_, EapPacket<'_>> {
    let (i, (code, identifier)) = (be_u8, be_u8).parse(body)?;
    let (after_len, len) = be_u16(i)?;
    let code = EapCode(code);
    let typed = matches!(code, EapCode::REQUEST | EapCode::RESPONSE);
    let min = if typed { 5 } else { 4 };
    let len = usize::from(len);
    if len < min {
        return fail(i, ErrorKind::BadLength { len, min });
    }
    if len > body.len() {
        return fail(
            i,
            ErrorKind::TooLong {
                len,
                max: body.len(),
            },
        );
    }
    let (_padding, data) = take(len - 4).parse(after_len)?;
    let body = if typed {
        let (data, eap_type) = be_u8(data)?;
        let eap_type = EapType(eap_type);
        let data = match eap_type {
            EapType::IDENTITY => EapData::Identity(data),
            t if t.is_tls_based() => EapData::Tls(tls(data)?.1),
            _ => EapData::Other(data),
        };
        EapBody::Typed(EapMessage { eap_type, data })
    } else {
        EapBody::Raw(data)
    };
    Ok((
        &[],
        EapPacket {
            code,
            identifier,
            body,
        },
    ))
}

fn tls(data: &[u8]) -> PResult<'_, EapTls<'_>> {
    let (i, flags) = be_u8(data)?;
    let flags = TlsFlags(flags);
    let (i, message_length) = if flags.contains(TlsFlags::LENGTH) {
        be_u32.map(Some).parse(i)?
    } else {
        (i, None)
    };
    Ok((
        &[],
        EapTls {
            flags,
            message_length,
            data: i,
        },
    ))
}

impl<'a> EapolPdu<'a> {
    /// The EAP packet of an EAP-Packet.
    pub fn eap(&self) -> Option<&EapPacket<'a>> {
        match &self.body {
            EapolBody::Eap(e) => Some(e),
            EapolBody::Raw(_) => None,
        }
    }

    /// The identity of an EAP Response/Identity, as text (`None` for any
    /// other PDU, or an identity that is not UTF-8).
    pub fn identity(&self) -> Option<&'a str> {
        self.eap().and_then(EapPacket::identity)
    }

    /// The length of the body as the header announces it.
    pub fn body_len(&self) -> usize {
        match &self.body {
            EapolBody::Eap(e) => e.buffer_len(),
            EapolBody::Raw(b) => b.len(),
        }
    }

    /// The exact number of bytes [`EapolPdu::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.body_len().saturating_add(4)
    }

    /// Write the PDU (the body length and EAP length computed) into
    /// `buf[..self.buffer_len()]`; returns the length written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`EapolPdu::buffer_len`]; [`EmitError::Unrepresentable`] for a body over
    /// 65535 bytes, an EAP body with a packet type other than EAP-Packet or a
    /// raw one with it, a typed EAP body with a code other than Request or
    /// Response or a raw one with them, data of another kind than the type's
    /// (Identity for type 1, TLS for the TLS-based types, other for the rest),
    /// and TLS data whose L flag and message length disagree.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let body_len = u16::try_from(self.body_len())
            .map_err(|_| emit::unrepresentable(Proto::Eapol, "body", "over 65535 bytes"))?;
        let mut w = Writer::new(Proto::Eapol, buf, needed)?;
        w.u8(self.version)?;
        w.u8(self.packet_type.0)?;
        w.be_u16(body_len)?;
        match (&self.body, self.packet_type == EapolType::EAP_PACKET) {
            (EapolBody::Eap(e), true) => e.write(&mut w)?,
            (EapolBody::Raw(b), false) => w.bytes(b)?,
            (EapolBody::Eap(_), false) => {
                return Err(emit::unrepresentable(
                    Proto::Eapol,
                    "body",
                    "an EAP body needs packet type EAP-Packet",
                ))
            }
            (EapolBody::Raw(_), true) => {
                return Err(emit::unrepresentable(
                    Proto::Eapol,
                    "body",
                    "an EAP-Packet's body is read as EAP",
                ))
            }
        }
        Ok(needed)
    }

    /// The PDU in a new buffer of [`EapolPdu::buffer_len`] bytes.
    ///
    /// # Errors
    /// As [`EapolPdu::emit`].
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

impl<'a> EapPacket<'a> {
    /// The type of a Request or Response.
    pub fn eap_type(&self) -> Option<EapType> {
        match &self.body {
            EapBody::Typed(m) => Some(m.eap_type),
            EapBody::Raw(_) => None,
        }
    }

    /// The identity of a Response/Identity, as text (`None` for any other
    /// packet, or an identity that is not UTF-8).
    pub fn identity(&self) -> Option<&'a str> {
        match self.body {
            EapBody::Typed(EapMessage {
                data: EapData::Identity(id),
                ..
            }) if self.code == EapCode::RESPONSE => std::str::from_utf8(id).ok(),
            _ => None,
        }
    }

    /// The EAP length: header, type and data.
    pub fn buffer_len(&self) -> usize {
        let rest = match &self.body {
            EapBody::Raw(b) => b.len(),
            EapBody::Typed(m) => {
                1 + match &m.data {
                    EapData::Identity(b) | EapData::Other(b) => b.len(),
                    EapData::Tls(t) => {
                        1 + if t.message_length.is_some() { 4 } else { 0 } + t.data.len()
                    }
                }
            }
        };
        rest.saturating_add(4)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let bad = |field, reason| Err(emit::unrepresentable(Proto::Eapol, field, reason));
        let len = u16::try_from(self.buffer_len())
            .map_err(|_| emit::unrepresentable(Proto::Eapol, "EAP", "over 65535 bytes"))?;
        let typed = matches!(self.code, EapCode::REQUEST | EapCode::RESPONSE);
        w.u8(self.code.0)?;
        w.u8(self.identifier)?;
        w.be_u16(len)?;
        match (&self.body, typed) {
            (EapBody::Raw(b), false) => w.bytes(b),
            (EapBody::Typed(m), true) => {
                w.u8(m.eap_type.0)?;
                match (&m.data, m.eap_type) {
                    (EapData::Identity(b), EapType::IDENTITY) => w.bytes(b),
                    (EapData::Tls(t), ty) if ty.is_tls_based() => {
                        if t.flags.contains(TlsFlags::LENGTH) != t.message_length.is_some() {
                            return bad("TLS flags", "the L flag and the message length disagree");
                        }
                        w.u8(t.flags.0)?;
                        if let Some(n) = t.message_length {
                            w.be_u32(n)?;
                        }
                        w.bytes(t.data)
                    }
                    (EapData::Other(b), ty) if ty != EapType::IDENTITY && !ty.is_tls_based() => {
                        w.bytes(b)
                    }
                    _ => bad("EAP data", "not the kind its type is read as"),
                }
            }
            (EapBody::Typed(_), false) => bad("EAP body", "only a Request or Response has a type"),
            (EapBody::Raw(_), true) => bad("EAP body", "a Request or Response needs a type"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const START: &[u8] = include_bytes!("../testdata/eapol/start.bin");
    const REQUEST_IDENTITY: &[u8] = include_bytes!("../testdata/eapol/request-identity.bin");
    const RESPONSE_IDENTITY: &[u8] = include_bytes!("../testdata/eapol/response-identity.bin");
    const REQUEST_SIM: &[u8] = include_bytes!("../testdata/eapol/request-sim.bin");
    const SUCCESS: &[u8] = include_bytes!("../testdata/eapol/success.bin");
    const KEY: &[u8] = include_bytes!("../testdata/eapol/key.bin");

    const FIXTURES: [&[u8]; 6] = [
        START,
        REQUEST_IDENTITY,
        RESPONSE_IDENTITY,
        REQUEST_SIM,
        SUCCESS,
        KEY,
    ];

    /// The EAP message of a Request or Response.
    fn message<'a>(p: &EapolPdu<'a>) -> (EapCode, u8, EapMessage<'a>) {
        let e = p.eap().unwrap();
        let EapBody::Typed(m) = e.body else {
            panic!("{p:?}")
        };
        (e.code, e.identifier, m)
    }

    #[test]
    fn start_has_an_empty_body_and_a_trailing_byte() {
        // tshark: version 1, type 1 (Start), length 0; the frame has one byte more.
        let p = parse(START).unwrap();
        assert_eq!((p.version, p.packet_type), (1, EapolType::START));
        assert_eq!(p.body, EapolBody::Raw(&[]));
        assert_eq!(p.eap(), None);
        assert_eq!(format!("{:?}", p.packet_type), "EAPOL-Start");
    }

    #[test]
    fn the_switch_asks_for_the_identity() {
        // tshark: version 1, type 0, length 5; EAP Request (1), id 2, length 5,
        // type Identity (1) with no prompt.
        let p = parse(REQUEST_IDENTITY).unwrap();
        assert_eq!((p.version, p.packet_type), (1, EapolType::EAP_PACKET));
        assert_eq!(p.body_len(), 5);
        let (code, id, m) = message(&p);
        assert_eq!((code, id), (EapCode::REQUEST, 2));
        assert_eq!(m.eap_type, EapType::IDENTITY);
        assert_eq!(m.data, EapData::Identity(&[]));
        assert_eq!(p.identity(), None);
    }

    #[test]
    fn the_peer_answers_with_its_identity() {
        // tshark: EAP Response (2), id 2, length 45, Identity
        // "1295023820005391@mnc023.mcc295.owlan.org".
        let p = parse(RESPONSE_IDENTITY).unwrap();
        let (code, id, m) = message(&p);
        assert_eq!(
            (code, id, m.eap_type),
            (EapCode::RESPONSE, 2, EapType::IDENTITY)
        );
        assert_eq!(
            p.identity(),
            Some("1295023820005391@mnc023.mcc295.owlan.org")
        );
        assert_eq!(p.eap().unwrap().buffer_len(), 45);
    }

    #[test]
    fn an_eap_sim_request_is_kept_as_data() {
        // tshark: EAP Request, id 16, length 20, type SIM (18), subtype 10 (Start).
        let p = parse(REQUEST_SIM).unwrap();
        let (code, id, m) = message(&p);
        assert_eq!((code, id, m.eap_type), (EapCode::REQUEST, 16, EapType::SIM));
        let EapData::Other(data) = m.data else {
            panic!("{m:?}")
        };
        assert_eq!(data.len(), 15);
        assert_eq!(data[0], 10);
    }

    #[test]
    fn success_has_no_type() {
        // tshark: EAP Success (3), id 0, length 4.
        let p = parse(SUCCESS).unwrap();
        let e = p.eap().unwrap();
        assert_eq!((e.code, e.identifier), (EapCode::SUCCESS, 0));
        assert_eq!(e.body, EapBody::Raw(&[]));
        assert_eq!(e.eap_type(), None);
    }

    #[test]
    fn a_key_body_is_borrowed() {
        // tshark: version 1, type 3 (Key), length 57, descriptor type 1 (RC4).
        let p = parse(KEY).unwrap();
        assert_eq!(p.packet_type, EapolType::KEY);
        let EapolBody::Raw(body) = p.body else {
            panic!("{p:?}")
        };
        assert_eq!((body.len(), body[0]), (57, 1));
    }

    #[test]
    fn the_fixtures_write_back_byte_for_byte() {
        for f in FIXTURES {
            let p = parse(f).unwrap();
            let bytes = p.to_vec().unwrap();
            assert_eq!(bytes, f[..p.buffer_len()]);
        }
    }

    #[test]
    fn a_phone_identity_response() {
        // Hand-built: what a Cisco 8845 on an 802.1X port answers.
        let id = b"CP-8845-SEP001B53489EE0";
        let mut b = vec![
            0x03, 0x00, 0x00, 28, // EAPOL v3, EAP-Packet, body 28
            0x02, 0x07, 0x00, 28,   // Response, id 7, length 28
            0x01, // Identity
        ];
        b.extend_from_slice(id);
        let p = parse(&b).unwrap();
        assert_eq!(p.identity(), Some("CP-8845-SEP001B53489EE0"));
        assert_eq!(p.to_vec().unwrap(), b);
    }

    #[test]
    fn tls_flags_and_message_length() {
        // Hand-built: PEAP Request Start (flags S, version 1), no data.
        let start = [
            0x02, 0x00, 0x00, 6, // EAPOL v2, EAP-Packet, body 6
            0x01, 0x09, 0x00, 6,    // Request, id 9, length 6
            25,   // PEAP
            0x21, // flags: S, version 1
        ];
        let p = parse(&start).unwrap();
        let (_, _, m) = message(&p);
        assert_eq!(m.eap_type, EapType::PEAP);
        let EapData::Tls(t) = m.data else {
            panic!("{m:?}")
        };
        assert!(t.flags.contains(TlsFlags::START) && !t.flags.contains(TlsFlags::LENGTH));
        assert_eq!((t.version(), t.message_length, t.data), (1, None, &[][..]));
        assert_eq!(p.to_vec().unwrap(), start);

        // EAP-TLS Response, first fragment: flags L and M, message length 1492.
        let frag = [
            0x01, 0x00, 0x00, 13, // EAPOL v1, EAP-Packet, body 13
            0x02, 0x0a, 0x00, 13,   // Response, id 10, length 13
            13,   // TLS
            0xc0, // flags: L, M
            0x00, 0x00, 0x05, 0xd4, // TLS message length 1492
            0x16, 0x03, 0x01, // the start of a handshake record
        ];
        let p = parse(&frag).unwrap();
        let (_, _, m) = message(&p);
        let EapData::Tls(t) = m.data else {
            panic!("{m:?}")
        };
        assert!(t.flags.contains(TlsFlags::LENGTH) && t.flags.contains(TlsFlags::MORE));
        assert_eq!(t.message_length, Some(1492));
        assert_eq!(t.data, [0x16, 0x03, 0x01]);
        assert_eq!(
            format!("{:?}", t.flags),
            "TlsFlags(0xc0: more fragments|length included)"
        );
        assert_eq!(p.to_vec().unwrap(), frag);

        // L set and the length cut short; no flags byte at all.
        let e = parse(&[1, 0, 0, 8, 2, 10, 0, 8, 13, 0x80, 0, 0]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 10));
        let e = parse(&[1, 0, 0, 5, 2, 10, 0, 5, 21]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 9));
    }

    #[test]
    fn truncation_reports_the_offset() {
        for n in 0..4 {
            let e = parse(&RESPONSE_IDENTITY[..n]).unwrap_err();
            assert_eq!(
                (e.proto, e.kind.clone()),
                (Proto::Eapol, ErrorKind::Truncated)
            );
            assert_eq!(e.offset, if n < 2 { n } else { 2 }, "{n}");
        }
        // The body is shorter than its length: the error points at the body.
        for n in 4..RESPONSE_IDENTITY.len() {
            let e = parse(&RESPONSE_IDENTITY[..n]).unwrap_err();
            assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 4), "{n}");
        }
        // An EAP header cut inside a complete (short) EAPOL body.
        let e = parse(&[1, 0, 0, 3, 2, 2, 0]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 6));
    }

    #[test]
    fn bad_eap_lengths() {
        // Shorter than the header; a Response without its type; longer than the body.
        let e = parse(&[1, 0, 0, 4, 3, 0, 0, 3]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::BadLength { len: 3, min: 4 }, 6)
        );
        let e = parse(&[1, 0, 0, 4, 2, 1, 0, 4]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::BadLength { len: 4, min: 5 }, 6)
        );
        let e = parse(&[1, 0, 0, 5, 2, 1, 0, 9, 1]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::TooLong { len: 9, max: 5 }, 6)
        );
        // Body bytes past the EAP length are ignored.
        let p = parse(&[1, 0, 0, 6, 3, 1, 0, 4, 0xee, 0xee]).unwrap();
        assert_eq!(p.eap().unwrap().body, EapBody::Raw(&[]));
    }

    #[test]
    fn unknown_codes_are_kept() {
        // EAPOL packet type 5 (MKA) and 42; EAP code 9; EAP type 200.
        let p = parse(&[3, 5, 0, 2, 0xab, 0xcd]).unwrap();
        assert_eq!(p.packet_type, EapolType(5));
        assert_eq!(p.packet_type.name(), Some("EAPOL-MKA"));
        assert_eq!(p.body, EapolBody::Raw(&[0xab, 0xcd]));
        let p = parse(&[1, 42, 0, 0]).unwrap();
        assert_eq!(format!("{:?}", p.packet_type), "EapolType(0x2a)");
        let b = [1, 0, 0, 6, 9, 1, 0, 6, 0x55, 0x66];
        let p = parse(&b).unwrap();
        let e = p.eap().unwrap();
        assert_eq!((e.code, e.code.name()), (EapCode(9), None));
        assert_eq!(e.body, EapBody::Raw(&[0x55, 0x66]));
        assert_eq!(p.to_vec().unwrap(), b);
        let b = [1, 0, 0, 6, 1, 1, 0, 6, 200, 0x77];
        let (_, _, m) = message(&parse(&b).unwrap());
        assert_eq!(
            (m.eap_type, m.data),
            (EapType(200), EapData::Other(&[0x77]))
        );
        assert_eq!(EapType(33).name(), Some("TLV"));
    }

    #[test]
    fn inconsistent_values_are_unrepresentable() {
        let raw = EapolPdu {
            version: 1,
            packet_type: EapolType::EAP_PACKET,
            body: EapolBody::Raw(&[]),
        };
        let eap = |code, body| EapolPdu {
            version: 1,
            packet_type: EapolType::EAP_PACKET,
            body: EapolBody::Eap(EapPacket {
                code: EapCode(code),
                identifier: 0,
                body,
            }),
        };
        let msg = |t, data| {
            EapBody::Typed(EapMessage {
                eap_type: EapType(t),
                data,
            })
        };
        let tls = |flags, message_length| {
            EapData::Tls(EapTls {
                flags: TlsFlags(flags),
                message_length,
                data: &[],
            })
        };
        let mut key = eap(3, EapBody::Raw(&[]));
        key.packet_type = EapolType::KEY;
        let big = vec![0u8; 70_000];
        for p in [
            raw,
            key,
            eap(3, msg(1, EapData::Identity(&[]))),
            eap(1, EapBody::Raw(&[])),
            eap(1, msg(1, EapData::Other(&[]))),
            eap(1, msg(13, EapData::Identity(&[]))),
            eap(1, msg(4, tls(0, None))),
            eap(1, msg(13, tls(0x80, None))),
            eap(1, msg(13, tls(0, Some(1)))),
            EapolPdu {
                version: 1,
                packet_type: EapolType::KEY,
                body: EapolBody::Raw(&big),
            },
        ] {
            assert!(
                matches!(p.to_vec(), Err(EmitError::Unrepresentable { .. })),
                "{p:?}"
            );
        }
        let mut small = [0u8; 3];
        assert_eq!(
            raw.emit(&mut small),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Eapol,
                needed: 4
            })
        );
    }

    /// The fields of a generated PDU, its bytes owned; [`Spec::pdu`] borrows them.
    #[derive(Debug, Clone)]
    struct Spec {
        version: u8,
        /// The EAPOL packet type; for EAP-Packet (0), the EAP code.
        packet_type: u8,
        code: u8,
        identifier: u8,
        eap_type: u8,
        flags: u8,
        message_length: u32,
        bytes: Vec<u8>,
    }

    impl Spec {
        fn pdu(&self) -> EapolPdu<'_> {
            let b = &self.bytes[..];
            let body = if self.packet_type != 0 {
                EapolBody::Raw(b)
            } else {
                let code = EapCode(self.code);
                let body = if matches!(code, EapCode::REQUEST | EapCode::RESPONSE) {
                    let eap_type = EapType(self.eap_type);
                    let data = match eap_type {
                        EapType::IDENTITY => EapData::Identity(b),
                        t if t.is_tls_based() => {
                            let flags = TlsFlags(self.flags);
                            EapData::Tls(EapTls {
                                flags,
                                message_length: flags
                                    .contains(TlsFlags::LENGTH)
                                    .then_some(self.message_length),
                                data: b,
                            })
                        }
                        _ => EapData::Other(b),
                    };
                    EapBody::Typed(EapMessage { eap_type, data })
                } else {
                    EapBody::Raw(b)
                };
                EapolBody::Eap(EapPacket {
                    code,
                    identifier: self.identifier,
                    body,
                })
            };
            EapolPdu {
                version: self.version,
                packet_type: EapolType(self.packet_type),
                body,
            }
        }
    }

    fn gen_spec() -> impl Strategy<Value = Spec> {
        (
            (
                any::<u8>(),
                prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
                prop_oneof![Just(1u8), Just(2), any::<u8>()],
                any::<u8>(),
            ),
            (
                prop_oneof![
                    Just(1u8),
                    Just(13),
                    Just(21),
                    Just(25),
                    Just(43),
                    any::<u8>()
                ],
                any::<u8>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..40),
            ),
        )
            .prop_map(
                |((version, packet_type, code, identifier), (eap_type, flags, n, bytes))| Spec {
                    version,
                    packet_type,
                    code,
                    identifier,
                    eap_type,
                    flags,
                    message_length: n,
                    bytes,
                },
            )
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(spec in gen_spec()) {
            let p = spec.pdu();
            let bytes = p.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), p.buffer_len());
            prop_assert_eq!(parse(&bytes).unwrap(), p);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            match parse(&data) {
                Ok(p) => {
                    prop_assert!(p.buffer_len() <= data.len());
                    let _ = p.identity();
                    // What was read writes back, and reads back the same.
                    let bytes = p.to_vec().unwrap();
                    prop_assert_eq!(parse(&bytes).unwrap(), p);
                }
                Err(e) => prop_assert!(e.offset <= data.len()),
            }
        }
    }
}
