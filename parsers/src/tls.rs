//! TLS as far as the wire shows it without keys: the record layer (RFC 5246 §6.2,
//! RFC 8446 §5.1) and, in clear, ClientHello, ServerHello, Certificate, Alert and
//! ChangeCipherSpec; what follows ChangeCipherSpec is opaque. Field names and
//! readings follow Wireshark's `packet-tls.c` / `packet-tls-utils.c`: tshark's
//! `tls.record.content_type`, `tls.record.version`, `tls.handshake.type`,
//! `tls.handshake.ciphersuite`, `tls.handshake.extensions_server_name`,
//! `tls.alert_message.level` / `.desc`.
//!
//! Framing: `content type u8 | version u16 | length u16 | fragment`, big-endian.
//! A TCP segment holds several records and a record may span segments: [`parse`]
//! takes one record off a reassembled stream (or says how many bytes are missing).
//!
//! Without keys the dissector cannot know that a ChangeCipherSpec came before a
//! handshake or alert record (that is the stream's state). It reads the fragment in
//! clear only when it frames exactly: handshake messages of known types whose
//! 24-bit lengths fill the record to its last byte, an alert of 2 bytes; anything
//! else is [`TlsBody::Opaque`] (an encrypted Finished, an encrypted alert). A
//! handshake message fragmented over several records is opaque too. With a NULL
//! cipher the records after ChangeCipherSpec are plaintext followed by the MAC:
//! [`TlsCipherSuite::null_mac_len`] gives its size and [`handshake_messages`]
//! reads what precedes it. SSL 2.0 records (first bit set) are not read.

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u24, be_u8};
use nom::Parser;

use crate::codepoint::code_points;
use crate::emit::{self, unrepresentable, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

/// Bytes of a record header: content type, version, length.
pub const RECORD_HEADER_LEN: usize = 5;
/// Largest fragment accepted: 2^14 plus the 2048 bytes of expansion a
/// `TLSCiphertext` may add (RFC 5246 §6.2.3). A larger claim means the stream
/// is not TLS, or is out of step.
pub const MAX_FRAGMENT_LEN: usize = (1 << 14) + 2048;
/// Bytes of a handshake message header: type u8, length u24.
const HANDSHAKE_HEADER_LEN: usize = 4;
/// Bytes of a hello's random.
pub const RANDOM_LEN: usize = 32;
/// Handshake messages read from one record; a record of more (4-byte empty messages
/// fill 18 KiB with thousands) is read as opaque, so a record never costs more than
/// a few KiB of items.
pub const MAX_HANDSHAKES: usize = 64;
/// Extensions read from one hello, and certificates from one Certificate; a message
/// with more is [`TlsHandshake::Malformed`]. Real ones have a few dozen at most.
pub const MAX_ITEMS: usize = 128;

code_points! {
    /// The content type of a record (`tls.record.content_type`).
    TlsContentType(u8), debug = name_value "{}" {
        CHANGE_CIPHER_SPEC = 20 => "Change Cipher Spec",
        ALERT = 21 => "Alert",
        HANDSHAKE = 22 => "Handshake",
        APPLICATION_DATA = 23 => "Application Data",
        HEARTBEAT = 24 => "Heartbeat",
    }
}

code_points! {
    /// A protocol version (`tls.record.version`, `tls.handshake.version`).
    TlsVersion(u16), debug = name_value "{:#06x}" {
        SSL_3_0 = 0x0300 => "SSL 3.0",
        TLS_1_0 = 0x0301 => "TLS 1.0",
        TLS_1_1 = 0x0302 => "TLS 1.1",
        TLS_1_2 = 0x0303 => "TLS 1.2",
        TLS_1_3 = 0x0304 => "TLS 1.3",
    }
}

code_points! {
    /// The type of a handshake message (`tls.handshake.type`).
    TlsHandshakeType(u8), debug = name_value "{}" {
        HELLO_REQUEST = 0 => "Hello Request",
        CLIENT_HELLO = 1 => "Client Hello",
        SERVER_HELLO = 2 => "Server Hello",
        NEW_SESSION_TICKET = 4 => "New Session Ticket",
        END_OF_EARLY_DATA = 5 => "End of Early Data",
        ENCRYPTED_EXTENSIONS = 8 => "Encrypted Extensions",
        CERTIFICATE = 11 => "Certificate",
        SERVER_KEY_EXCHANGE = 12 => "Server Key Exchange",
        CERTIFICATE_REQUEST = 13 => "Certificate Request",
        SERVER_HELLO_DONE = 14 => "Server Hello Done",
        CERTIFICATE_VERIFY = 15 => "Certificate Verify",
        CLIENT_KEY_EXCHANGE = 16 => "Client Key Exchange",
        FINISHED = 20 => "Finished",
        CERTIFICATE_STATUS = 22 => "Certificate Status",
        KEY_UPDATE = 24 => "Key Update",
    }
}

code_points! {
    /// The level of an alert (`tls.alert_message.level`).
    TlsAlertLevel(u8), debug = name_value "{}" {
        WARNING = 1 => "Warning",
        FATAL = 2 => "Fatal",
    }
}

code_points! {
    /// The description of an alert (`tls.alert_message.desc`; RFC 5246 §7.2,
    /// RFC 8446 §6).
    TlsAlertDescription(u8), debug = name_value "{}" {
        CLOSE_NOTIFY = 0 => "Close Notify",
        UNEXPECTED_MESSAGE = 10 => "Unexpected Message",
        BAD_RECORD_MAC = 20 => "Bad Record MAC",
        DECRYPTION_FAILED = 21 => "Decryption Failed",
        RECORD_OVERFLOW = 22 => "Record Overflow",
        DECOMPRESSION_FAILURE = 30 => "Decompression Failure",
        HANDSHAKE_FAILURE = 40 => "Handshake Failure",
        NO_CERTIFICATE = 41 => "No Certificate",
        BAD_CERTIFICATE = 42 => "Bad Certificate",
        UNSUPPORTED_CERTIFICATE = 43 => "Unsupported Certificate",
        CERTIFICATE_REVOKED = 44 => "Certificate Revoked",
        CERTIFICATE_EXPIRED = 45 => "Certificate Expired",
        CERTIFICATE_UNKNOWN = 46 => "Certificate Unknown",
        ILLEGAL_PARAMETER = 47 => "Illegal Parameter",
        UNKNOWN_CA = 48 => "Unknown CA",
        ACCESS_DENIED = 49 => "Access Denied",
        DECODE_ERROR = 50 => "Decode Error",
        DECRYPT_ERROR = 51 => "Decrypt Error",
        PROTOCOL_VERSION = 70 => "Protocol Version",
        INSUFFICIENT_SECURITY = 71 => "Insufficient Security",
        INTERNAL_ERROR = 80 => "Internal Error",
        INAPPROPRIATE_FALLBACK = 86 => "Inappropriate Fallback",
        USER_CANCELED = 90 => "User Canceled",
        NO_RENEGOTIATION = 100 => "No Renegotiation",
        MISSING_EXTENSION = 109 => "Missing Extension",
        UNSUPPORTED_EXTENSION = 110 => "Unsupported Extension",
        UNRECOGNIZED_NAME = 112 => "Unrecognized Name",
        BAD_CERTIFICATE_STATUS_RESPONSE = 113 => "Bad Certificate Status Response",
        UNKNOWN_PSK_IDENTITY = 115 => "Unknown PSK Identity",
        CERTIFICATE_REQUIRED = 116 => "Certificate Required",
        NO_APPLICATION_PROTOCOL = 120 => "No Application Protocol",
    }
}

code_points! {
    /// The type of a hello extension (`tls.handshake.extension.type`).
    TlsExtensionType(u16), debug = name_value "{}" {
        SERVER_NAME = 0 => "server_name",
        SUPPORTED_GROUPS = 10 => "supported_groups",
        EC_POINT_FORMATS = 11 => "ec_point_formats",
        SIGNATURE_ALGORITHMS = 13 => "signature_algorithms",
        ALPN = 16 => "application_layer_protocol_negotiation",
        EXTENDED_MASTER_SECRET = 23 => "extended_master_secret",
        SESSION_TICKET = 35 => "session_ticket",
        SUPPORTED_VERSIONS = 43 => "supported_versions",
        KEY_SHARE = 51 => "key_share",
        RENEGOTIATION_INFO = 0xff01 => "renegotiation_info",
    }
}

code_points! {
    /// A cipher suite (`tls.handshake.ciphersuite`, IANA "TLS Cipher Suites"):
    /// the NULL-encryption ones a Cisco phone in "authenticated" mode may
    /// negotiate, and a few common others.
    TlsCipherSuite(u16), debug = name_value "{:#06x}" {
        NULL_WITH_NULL_NULL = 0x0000 => "TLS_NULL_WITH_NULL_NULL",
        RSA_WITH_NULL_MD5 = 0x0001 => "TLS_RSA_WITH_NULL_MD5",
        RSA_WITH_NULL_SHA = 0x0002 => "TLS_RSA_WITH_NULL_SHA",
        RSA_WITH_NULL_SHA256 = 0x003b => "TLS_RSA_WITH_NULL_SHA256",
        ECDH_ECDSA_WITH_NULL_SHA = 0xc001 => "TLS_ECDH_ECDSA_WITH_NULL_SHA",
        ECDHE_ECDSA_WITH_NULL_SHA = 0xc006 => "TLS_ECDHE_ECDSA_WITH_NULL_SHA",
        ECDH_RSA_WITH_NULL_SHA = 0xc00b => "TLS_ECDH_RSA_WITH_NULL_SHA",
        ECDHE_RSA_WITH_NULL_SHA = 0xc010 => "TLS_ECDHE_RSA_WITH_NULL_SHA",
        ECDH_ANON_WITH_NULL_SHA = 0xc015 => "TLS_ECDH_anon_WITH_NULL_SHA",
        RSA_WITH_RC4_128_MD5 = 0x0004 => "TLS_RSA_WITH_RC4_128_MD5",
        RSA_WITH_AES_128_CBC_SHA = 0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        RSA_WITH_AES_256_CBC_SHA = 0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        RSA_WITH_AES_128_GCM_SHA256 = 0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
        AES_128_GCM_SHA256 = 0x1301 => "TLS_AES_128_GCM_SHA256",
        AES_256_GCM_SHA384 = 0x1302 => "TLS_AES_256_GCM_SHA384",
        ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    }
}

impl TlsCipherSuite {
    /// For a suite without encryption, the size of the MAC that follows the
    /// plaintext of each record (MD5 16, SHA-1 20, SHA-256 32 bytes; RFC 5246
    /// appendix C, RFC 4492 §6); `None` for a suite that encrypts.
    /// `TLS_NULL_WITH_NULL_NULL` protects nothing and has no MAC (0).
    #[must_use]
    pub fn null_mac_len(self) -> Option<usize> {
        match self {
            Self::NULL_WITH_NULL_NULL => Some(0),
            Self::RSA_WITH_NULL_MD5 => Some(16),
            Self::RSA_WITH_NULL_SHA
            | Self::ECDH_ECDSA_WITH_NULL_SHA
            | Self::ECDHE_ECDSA_WITH_NULL_SHA
            | Self::ECDH_RSA_WITH_NULL_SHA
            | Self::ECDHE_RSA_WITH_NULL_SHA
            | Self::ECDH_ANON_WITH_NULL_SHA => Some(20),
            Self::RSA_WITH_NULL_SHA256 => Some(32),
            _ => None,
        }
    }
}

/// One TLS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRecord<'a> {
    /// The content type (one of 20-24).
    pub content_type: TlsContentType,
    /// The record layer's version (`0x0301` in many TLS 1.2 and every TLS 1.3 hello).
    pub version: TlsVersion,
    /// The fragment, read as far as it is in clear.
    pub body: TlsBody<'a>,
}

/// What a record's fragment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsBody<'a> {
    /// Handshake messages, in clear, filling the fragment exactly.
    Handshake(Vec<TlsHandshake<'a>>),
    /// A ChangeCipherSpec (its one byte, 1).
    ChangeCipherSpec(u8),
    /// An alert in clear.
    Alert {
        /// Warning or fatal.
        level: TlsAlertLevel,
        /// What went wrong.
        description: TlsAlertDescription,
    },
    /// Application data (encrypted, or plaintext and MAC under a NULL suite).
    ApplicationData(&'a [u8]),
    /// A heartbeat message (RFC 6520), not read further.
    Heartbeat(&'a [u8]),
    /// A handshake, alert or ChangeCipherSpec record that does not read in clear:
    /// encrypted after ChangeCipherSpec (or a handshake message spanning records).
    Opaque(&'a [u8]),
}

/// One handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsHandshake<'a> {
    /// ClientHello.
    ClientHello(TlsClientHello<'a>),
    /// ServerHello.
    ServerHello(TlsServerHello<'a>),
    /// Certificate (TLS ≤ 1.2 form): the DER certificates of the chain.
    Certificate(Vec<&'a [u8]>),
    /// Another message of a known type, its body not read.
    Other {
        /// Its type.
        kind: TlsHandshakeType,
        /// Its body.
        body: &'a [u8],
    },
    /// A hello or Certificate whose body does not follow its layout.
    Malformed {
        /// Its type.
        kind: TlsHandshakeType,
        /// Its body.
        body: &'a [u8],
    },
}

/// A ClientHello (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientHello<'a> {
    /// The legacy version the client offers (`tls.handshake.version`).
    pub version: TlsVersion,
    /// The client's 32 random bytes.
    pub random: &'a [u8],
    /// The session id (0-255 bytes as read; the RFC allows 32).
    pub session_id: &'a [u8],
    /// The cipher suites offered, in order.
    pub cipher_suites: Vec<TlsCipherSuite>,
    /// The compression methods offered.
    pub compression_methods: &'a [u8],
    /// The extensions; `None` when the hello ends before their block.
    pub extensions: Option<Vec<TlsExtension<'a>>>,
}

/// A ServerHello (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsServerHello<'a> {
    /// The legacy version the server chose.
    pub version: TlsVersion,
    /// The server's 32 random bytes.
    pub random: &'a [u8],
    /// The session id.
    pub session_id: &'a [u8],
    /// The cipher suite the server chose.
    pub cipher_suite: TlsCipherSuite,
    /// The compression method chosen.
    pub compression_method: u8,
    /// The extensions; `None` when the hello ends before their block.
    pub extensions: Option<Vec<TlsExtension<'a>>>,
}

/// One hello extension, its data not read (see the hellos' accessors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsExtension<'a> {
    /// Its type.
    pub kind: TlsExtensionType,
    /// Its data.
    pub data: &'a [u8],
}

/// The data of the first extension of `kind`.
fn extension<'a>(exts: Option<&[TlsExtension<'a>]>, kind: TlsExtensionType) -> Option<&'a [u8]> {
    exts?.iter().find(|e| e.kind == kind).map(|e| e.data)
}

impl<'a> TlsClientHello<'a> {
    /// The host name of the server_name extension (RFC 6066 §3: the first entry of
    /// name type 0), as sent (`tls.handshake.extensions_server_name`).
    #[must_use]
    pub fn server_name(&self) -> Option<&'a [u8]> {
        let data = extension(self.extensions.as_deref(), TlsExtensionType::SERVER_NAME)?;
        // server_name_list length u16, then entries: type u8, length u16, name.
        let (_, list) = u16_prefixed(data).ok()?;
        let mut rest = list;
        while let [kind, hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            let name = tail.get(..len)?;
            if *kind == 0 {
                return Some(name);
            }
            rest = tail.get(len..)?;
        }
        None
    }

    /// The versions of the supported_versions extension (RFC 8446 §4.2.1), in the
    /// client's order (`tls.handshake.extensions.supported_version`); empty without it.
    #[must_use]
    pub fn supported_versions(&self) -> Vec<TlsVersion> {
        let Some([len, list @ ..]) = extension(
            self.extensions.as_deref(),
            TlsExtensionType::SUPPORTED_VERSIONS,
        ) else {
            return Vec::new();
        };
        list.get(..usize::from(*len))
            .unwrap_or_default()
            .chunks_exact(2)
            .filter_map(|c| match c {
                [hi, lo] => Some(TlsVersion(u16::from_be_bytes([*hi, *lo]))),
                _ => None,
            })
            .collect()
    }
}

impl<'a> TlsServerHello<'a> {
    /// The version of the supported_versions extension (TLS 1.3 says so there, the
    /// legacy version staying 0x0303).
    #[must_use]
    pub fn supported_version(&self) -> Option<TlsVersion> {
        match extension(
            self.extensions.as_deref(),
            TlsExtensionType::SUPPORTED_VERSIONS,
        )? {
            [hi, lo] => Some(TlsVersion(u16::from_be_bytes([*hi, *lo]))),
            _ => None,
        }
    }

    /// The version the session runs: the supported_versions extension's, else the
    /// hello's own.
    #[must_use]
    pub fn negotiated_version(&self) -> TlsVersion {
        self.supported_version().unwrap_or(self.version)
    }
}

/// Whether `data` may start a TLS record: a content type of 20-24 and a major
/// version of 3, as far as the bytes go (at least one byte).
#[must_use]
pub fn looks_like_record(data: &[u8]) -> bool {
    match data {
        [t, rest @ ..] => {
            (20..=24).contains(t)
                && rest.first().is_none_or(|&v| v == 3)
                && rest.get(1).is_none_or(|&v| v <= 4)
        }
        [] => false,
    }
}

/// Read one record from the start of a stream buffer; returns it and the rest.
///
/// # Errors
/// `NeedMore` when the record continues past the buffer; `BadValue` for a content
/// type outside 20-24, `BadVersion` for a major version other than 3, `TooLong`
/// for a length above [`MAX_FRAGMENT_LEN`].
pub fn parse(input: &[u8]) -> Result<(TlsRecord<'_>, &[u8]), DissectError> {
    finish(Proto::Tls, input, record(input))
}

fn record(input: &[u8]) -> PResult<'_, TlsRecord<'_>> {
    let need = |have: usize, want: usize| {
        Err(nom::Err::Incomplete(nom::Needed::new(
            want.saturating_sub(have).max(1),
        )))
    };
    let [kind, rest @ ..] = input else {
        return need(0, RECORD_HEADER_LEN);
    };
    if !(20..=24).contains(kind) {
        return fail(
            input,
            ErrorKind::BadValue {
                field: "content type",
                value: (*kind).into(),
            },
        );
    }
    if let Some(&major) = rest.first() {
        if major != 3 {
            let minor = rest.get(1).copied().unwrap_or(0);
            return fail(
                rest,
                ErrorKind::BadVersion(u32::from(u16::from_be_bytes([major, minor]))),
            );
        }
    }
    let Some(&[v0, v1, l0, l1]) = rest.get(..4) else {
        return need(input.len(), RECORD_HEADER_LEN);
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if len > MAX_FRAGMENT_LEN {
        return fail(
            rest.get(2..).unwrap_or_default(),
            ErrorKind::TooLong {
                len,
                max: MAX_FRAGMENT_LEN,
            },
        );
    }
    let after_header = rest.get(4..).unwrap_or_default();
    let (Some(fragment), Some(after)) = (after_header.get(..len), after_header.get(len..)) else {
        return need(after_header.len(), len);
    };
    let content_type = TlsContentType(*kind);
    let body = match content_type {
        TlsContentType::HANDSHAKE => {
            handshake_messages(fragment).map_or(TlsBody::Opaque(fragment), TlsBody::Handshake)
        }
        TlsContentType::ALERT => match fragment {
            [level, description] => TlsBody::Alert {
                level: TlsAlertLevel(*level),
                description: TlsAlertDescription(*description),
            },
            _ => TlsBody::Opaque(fragment),
        },
        TlsContentType::CHANGE_CIPHER_SPEC => match fragment {
            [b] => TlsBody::ChangeCipherSpec(*b),
            _ => TlsBody::Opaque(fragment),
        },
        TlsContentType::APPLICATION_DATA => TlsBody::ApplicationData(fragment),
        _ => TlsBody::Heartbeat(fragment),
    };
    Ok((
        after,
        TlsRecord {
            content_type,
            version: TlsVersion(u16::from_be_bytes([v0, v1])),
            body,
        },
    ))
}

/// Read `data` as handshake messages in clear: `None` unless they are of known
/// types and fill it exactly (the test that tells a plaintext handshake record
/// from an encrypted one). A hello or Certificate whose body breaks its layout is
/// [`TlsHandshake::Malformed`], and reading goes on.
#[must_use]
pub fn handshake_messages(data: &[u8]) -> Option<Vec<TlsHandshake<'_>>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if out.len() == MAX_HANDSHAKES {
            return None;
        }
        let (after, (kind, len)) = handshake_header(rest).ok()?;
        let kind = TlsHandshakeType(kind);
        kind.name()?;
        let len = usize::try_from(len).ok()?;
        let (Some(body), Some(next)) = (after.get(..len), after.get(len..)) else {
            return None;
        };
        out.push(handshake(kind, body));
        rest = next;
    }
    Some(out)
}

fn handshake_header(i: &[u8]) -> PResult<'_, (u8, u32)> {
    (be_u8, be_u24).parse(i)
}

fn handshake(kind: TlsHandshakeType, body: &[u8]) -> TlsHandshake<'_> {
    let read = match kind {
        TlsHandshakeType::CLIENT_HELLO => client_hello(body),
        TlsHandshakeType::SERVER_HELLO => server_hello(body),
        TlsHandshakeType::CERTIFICATE => certificate(body),
        _ => return TlsHandshake::Other { kind, body },
    };
    match read {
        // The body must end where its layout does.
        Ok(([], m)) => m,
        _ => TlsHandshake::Malformed { kind, body },
    }
}

fn u8_prefixed(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, len) = be_u8(i)?;
    take(len).parse(i)
}

fn u16_prefixed(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, len) = be_u16(i)?;
    take(len).parse(i)
}

fn u24_prefixed(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, len) = be_u24(i)?;
    take(len).parse(i)
}

fn client_hello(i: &[u8]) -> PResult<'_, TlsHandshake<'_>> {
    let (i, (version, random, session_id)) = (be_u16, take(RANDOM_LEN), u8_prefixed).parse(i)?;
    let (i, suites) = u16_prefixed(i)?;
    if suites.len() % 2 != 0 {
        return fail(suites, ErrorKind::Malformed("odd cipher suite list"));
    }
    let cipher_suites = suites
        .chunks_exact(2)
        .filter_map(|c| match c {
            [hi, lo] => Some(TlsCipherSuite(u16::from_be_bytes([*hi, *lo]))),
            _ => None,
        })
        .collect();
    let (i, compression_methods) = u8_prefixed(i)?;
    let (i, extensions) = extensions(i)?;
    Ok((
        i,
        TlsHandshake::ClientHello(TlsClientHello {
            version: TlsVersion(version),
            random,
            session_id,
            cipher_suites,
            compression_methods,
            extensions,
        }),
    ))
}

fn server_hello(i: &[u8]) -> PResult<'_, TlsHandshake<'_>> {
    let (i, (version, random, session_id, suite, compression_method)) =
        (be_u16, take(RANDOM_LEN), u8_prefixed, be_u16, be_u8).parse(i)?;
    let (i, extensions) = extensions(i)?;
    Ok((
        i,
        TlsHandshake::ServerHello(TlsServerHello {
            version: TlsVersion(version),
            random,
            session_id,
            cipher_suite: TlsCipherSuite(suite),
            compression_method,
            extensions,
        }),
    ))
}

/// The extension block: absent when the hello ends, else a u16-prefixed list.
fn extensions(i: &[u8]) -> PResult<'_, Option<Vec<TlsExtension<'_>>>> {
    if i.is_empty() {
        return Ok((i, None));
    }
    let (rest, mut block) = u16_prefixed(i)?;
    let mut out = Vec::new();
    while !block.is_empty() {
        if out.len() == MAX_ITEMS {
            return fail(block, ErrorKind::Malformed("too many extensions"));
        }
        let (after, (kind, data)) = (be_u16, u16_prefixed).parse(block)?;
        out.push(TlsExtension {
            kind: TlsExtensionType(kind),
            data,
        });
        block = after;
    }
    Ok((rest, Some(out)))
}

fn certificate(i: &[u8]) -> PResult<'_, TlsHandshake<'_>> {
    let (rest, mut list) = u24_prefixed(i)?;
    let mut certs = Vec::new();
    while !list.is_empty() {
        if certs.len() == MAX_ITEMS {
            return fail(list, ErrorKind::Malformed("too many certificates"));
        }
        let (after, cert) = u24_prefixed(list)?;
        certs.push(cert);
        list = after;
    }
    Ok((rest, TlsHandshake::Certificate(certs)))
}

impl TlsRecord<'_> {
    /// The handshake messages of a handshake record in clear (empty otherwise).
    #[must_use]
    pub fn handshakes(&self) -> &[TlsHandshake<'_>] {
        match &self.body {
            TlsBody::Handshake(m) => m,
            _ => &[],
        }
    }

    /// The exact number of bytes [`TlsRecord::emit`] writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        RECORD_HEADER_LEN + self.body.len()
    }

    /// Write the record, its length computed from the body; returns the bytes
    /// written. A parsed record writes back byte for byte.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`TlsRecord::buffer_len`]; [`EmitError::Unrepresentable`] for a fragment
    /// above [`MAX_FRAGMENT_LEN`], a length its field cannot hold, a random that is
    /// not 32 bytes, a content type that does not match the body, or a body
    /// `parse` would read as another kind (a handshake of an unknown type, an
    /// opaque fragment that frames as handshake messages).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let body_len = self.body.len();
        if body_len > MAX_FRAGMENT_LEN {
            return Err(unrepresentable(Proto::Tls, "length", "above 2^14 + 2048"));
        }
        self.check_kind()?;
        let mut w = Writer::new(Proto::Tls, buf, needed)?;
        w.u8(self.content_type.0)?;
        w.be_u16(self.version.0)?;
        w.be_u16(u16::try_from(body_len).map_err(|_| too_long("length"))?)?;
        match &self.body {
            TlsBody::Handshake(messages) => {
                for m in messages {
                    m.write(&mut w)?;
                }
            }
            TlsBody::ChangeCipherSpec(b) => w.u8(*b)?,
            TlsBody::Alert { level, description } => {
                w.u8(level.0)?;
                w.u8(description.0)?;
            }
            TlsBody::ApplicationData(d) | TlsBody::Heartbeat(d) | TlsBody::Opaque(d) => {
                w.bytes(d)?;
            }
        }
        Ok(w.pos())
    }

    /// The record in a new buffer of [`TlsRecord::buffer_len`] bytes.
    ///
    /// # Errors
    /// As [`TlsRecord::emit`], short of the buffer size.
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }

    /// The body must be one `parse` reads back under the record's content type.
    fn check_kind(&self) -> Result<(), EmitError> {
        let bad = |reason| Err(unrepresentable(Proto::Tls, "body", reason));
        match (&self.body, self.content_type) {
            (TlsBody::Handshake(m), TlsContentType::HANDSHAKE) => {
                if m.iter().any(|h| h.kind().name().is_none()) {
                    return bad("a handshake message of an unknown type");
                }
                Ok(())
            }
            (TlsBody::ChangeCipherSpec(_), TlsContentType::CHANGE_CIPHER_SPEC)
            | (TlsBody::Alert { .. }, TlsContentType::ALERT)
            | (TlsBody::ApplicationData(_), TlsContentType::APPLICATION_DATA)
            | (TlsBody::Heartbeat(_), TlsContentType::HEARTBEAT) => Ok(()),
            (TlsBody::Opaque(d), TlsContentType::HANDSHAKE) => match handshake_messages(d) {
                Some(_) => bad("an opaque fragment that reads as handshake messages"),
                None => Ok(()),
            },
            (TlsBody::Opaque(d), TlsContentType::ALERT) if d.len() != 2 => Ok(()),
            (TlsBody::Opaque(d), TlsContentType::CHANGE_CIPHER_SPEC) if d.len() != 1 => Ok(()),
            _ => bad("does not match the content type"),
        }
    }
}

fn too_long(field: &'static str) -> EmitError {
    unrepresentable(Proto::Tls, field, "longer than its length field holds")
}

impl TlsBody<'_> {
    /// The fragment's length.
    fn len(&self) -> usize {
        match self {
            TlsBody::Handshake(m) => m.iter().map(TlsHandshake::len).sum(),
            TlsBody::ChangeCipherSpec(_) => 1,
            TlsBody::Alert { .. } => 2,
            TlsBody::ApplicationData(d) | TlsBody::Heartbeat(d) | TlsBody::Opaque(d) => d.len(),
        }
    }
}

impl TlsHandshake<'_> {
    /// The message's type.
    #[must_use]
    pub fn kind(&self) -> TlsHandshakeType {
        match self {
            TlsHandshake::ClientHello(_) => TlsHandshakeType::CLIENT_HELLO,
            TlsHandshake::ServerHello(_) => TlsHandshakeType::SERVER_HELLO,
            TlsHandshake::Certificate(_) => TlsHandshakeType::CERTIFICATE,
            TlsHandshake::Other { kind, .. } | TlsHandshake::Malformed { kind, .. } => *kind,
        }
    }

    /// Header and body length.
    fn len(&self) -> usize {
        HANDSHAKE_HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        let exts = |e: &Option<Vec<TlsExtension<'_>>>| {
            e.as_ref()
                .map_or(0, |e| 2 + e.iter().map(|x| 4 + x.data.len()).sum::<usize>())
        };
        match self {
            TlsHandshake::ClientHello(h) => {
                2 + RANDOM_LEN
                    + 1
                    + h.session_id.len()
                    + 2
                    + 2 * h.cipher_suites.len()
                    + 1
                    + h.compression_methods.len()
                    + exts(&h.extensions)
            }
            TlsHandshake::ServerHello(h) => {
                2 + RANDOM_LEN + 1 + h.session_id.len() + 2 + 1 + exts(&h.extensions)
            }
            TlsHandshake::Certificate(c) => 3 + c.iter().map(|c| 3 + c.len()).sum::<usize>(),
            TlsHandshake::Other { body, .. } | TlsHandshake::Malformed { body, .. } => body.len(),
        }
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        w.u8(self.kind().0)?;
        be_u24_write(w, self.body_len(), "handshake length")?;
        let u8_len = |n: usize| u8::try_from(n).map_err(|_| too_long("vector length"));
        let u16_len = |n: usize| u16::try_from(n).map_err(|_| too_long("vector length"));
        let random = |r: &[u8]| {
            if r.len() == RANDOM_LEN {
                Ok(())
            } else {
                Err(unrepresentable(Proto::Tls, "random", "not 32 bytes"))
            }
        };
        match self {
            TlsHandshake::ClientHello(h) => {
                random(h.random)?;
                w.be_u16(h.version.0)?;
                w.bytes(h.random)?;
                w.u8(u8_len(h.session_id.len())?)?;
                w.bytes(h.session_id)?;
                w.be_u16(u16_len(2 * h.cipher_suites.len())?)?;
                for s in &h.cipher_suites {
                    w.be_u16(s.0)?;
                }
                w.u8(u8_len(h.compression_methods.len())?)?;
                w.bytes(h.compression_methods)?;
                write_extensions(w, h.extensions.as_deref())?;
            }
            TlsHandshake::ServerHello(h) => {
                random(h.random)?;
                w.be_u16(h.version.0)?;
                w.bytes(h.random)?;
                w.u8(u8_len(h.session_id.len())?)?;
                w.bytes(h.session_id)?;
                w.be_u16(h.cipher_suite.0)?;
                w.u8(h.compression_method)?;
                write_extensions(w, h.extensions.as_deref())?;
            }
            TlsHandshake::Certificate(certs) => {
                be_u24_write(w, self.body_len() - 3, "certificate list")?;
                for c in certs {
                    be_u24_write(w, c.len(), "certificate length")?;
                    w.bytes(c)?;
                }
            }
            TlsHandshake::Other { body, .. } | TlsHandshake::Malformed { body, .. } => {
                w.bytes(body)?;
            }
        }
        Ok(())
    }
}

fn be_u24_write(w: &mut Writer<'_>, n: usize, field: &'static str) -> Result<(), EmitError> {
    match u32::try_from(n) {
        Ok(v) if v < 1 << 24 => {
            let [_, a, b, c] = v.to_be_bytes();
            w.bytes(&[a, b, c])
        }
        _ => Err(too_long(field)),
    }
}

fn write_extensions(
    w: &mut Writer<'_>,
    exts: Option<&[TlsExtension<'_>]>,
) -> Result<(), EmitError> {
    let Some(exts) = exts else {
        return Ok(());
    };
    let total: usize = exts.iter().map(|e| 4 + e.data.len()).sum();
    w.be_u16(u16::try_from(total).map_err(|_| too_long("extensions length"))?)?;
    for e in exts {
        w.be_u16(e.kind.0)?;
        w.be_u16(u16::try_from(e.data.len()).map_err(|_| too_long("extension length"))?)?;
        w.bytes(e.data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SCCP over TLS 1.0 on 2443, an IOS media resource's secure registration
    /// (`testdata/tls/README.md` names every fixture's capture and frame).
    const CLIENT_HELLO_NULL: &[u8] = include_bytes!("../testdata/tls/client-hello-null-sha.bin");
    const SERVER_HELLO_CERT: &[u8] = include_bytes!("../testdata/tls/server-hello-certificate.bin");
    const CCS_FINISHED: &[u8] = include_bytes!("../testdata/tls/ccs-encrypted-finished.bin");
    const APP_DATA_NULL: &[u8] = include_bytes!("../testdata/tls/app-data-null-sccp.bin");
    const CLIENT_HELLO_OLD: &[u8] = include_bytes!("../testdata/tls/client-hello-sslv3-suites.bin");
    const ENCRYPTED_ALERT: &[u8] = include_bytes!("../testdata/tls/encrypted-alert.bin");
    const CLIENT_HELLO_GREASE: &[u8] = include_bytes!("../testdata/tls/client-hello-grease.bin");

    fn records(mut data: &[u8]) -> Vec<TlsRecord<'_>> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let (r, rest) = parse(data).unwrap();
            out.push(r);
            data = rest;
        }
        out
    }

    fn client_hello<'a>(r: &'a TlsRecord<'_>) -> &'a TlsClientHello<'a> {
        match r.handshakes() {
            [TlsHandshake::ClientHello(h)] => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_client_hello_offering_null_sha_reads_as_tshark_does() {
        // tshark: record 22 0x0301, handshake 1, version 0x0301, suites 0x0002,0x00ff,
        // no server name.
        let (r, rest) = parse(CLIENT_HELLO_NULL).unwrap();
        assert!(rest.is_empty());
        assert_eq!(r.content_type, TlsContentType::HANDSHAKE);
        assert_eq!(r.version, TlsVersion::TLS_1_0);
        let h = client_hello(&r);
        assert_eq!(h.version, TlsVersion::TLS_1_0);
        assert_eq!(
            h.cipher_suites,
            [
                TlsCipherSuite::RSA_WITH_NULL_SHA,
                TlsCipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV
            ]
        );
        assert_eq!(h.server_name(), None);
        assert!(h.supported_versions().is_empty());
        assert_eq!(r.to_vec().unwrap(), CLIENT_HELLO_NULL);
    }

    #[test]
    fn a_client_hello_with_grease_and_a_modern_list_round_trips() {
        // tshark: suites start 0x6a6a,0xc02b,0xc02f and end 0x000a (14 of them).
        let (r, _) = parse(CLIENT_HELLO_GREASE).unwrap();
        let h = client_hello(&r);
        assert_eq!(h.cipher_suites.len(), 14);
        assert_eq!(h.cipher_suites[0], TlsCipherSuite(0x6a6a));
        assert_eq!(h.cipher_suites[13], TlsCipherSuite(0x000a));
        assert_eq!(r.to_vec().unwrap(), CLIENT_HELLO_GREASE);
        let (r, _) = parse(CLIENT_HELLO_OLD).unwrap();
        assert_eq!(client_hello(&r).cipher_suites.len(), 11);
    }

    #[test]
    fn a_server_flight_is_hello_certificate_request_and_done() {
        // tshark: three records, handshake types 2, 11, 13, 14; suite 0x0002.
        let rs = records(SERVER_HELLO_CERT);
        assert_eq!(rs.len(), 3);
        let kinds: Vec<_> = rs
            .iter()
            .flat_map(|r| r.handshakes().iter().map(TlsHandshake::kind))
            .collect();
        assert_eq!(
            kinds,
            [
                TlsHandshakeType::SERVER_HELLO,
                TlsHandshakeType::CERTIFICATE,
                TlsHandshakeType::CERTIFICATE_REQUEST,
                TlsHandshakeType::SERVER_HELLO_DONE
            ]
        );
        let TlsHandshake::ServerHello(sh) = &rs[0].handshakes()[0] else {
            panic!()
        };
        assert_eq!(sh.cipher_suite, TlsCipherSuite::RSA_WITH_NULL_SHA);
        assert_eq!(sh.cipher_suite.null_mac_len(), Some(20));
        assert_eq!(sh.negotiated_version(), TlsVersion::TLS_1_0);
        let TlsHandshake::Certificate(certs) = &rs[1].handshakes()[0] else {
            panic!()
        };
        assert_eq!(certs.len(), 1);
        let mut back = Vec::new();
        for r in &rs {
            back.extend(r.to_vec().unwrap());
        }
        assert_eq!(back, SERVER_HELLO_CERT);
    }

    #[test]
    fn the_finished_after_change_cipher_spec_is_opaque_until_its_mac_is_known() {
        let rs = records(CCS_FINISHED);
        assert_eq!(rs[0].body, TlsBody::ChangeCipherSpec(1));
        let TlsBody::Opaque(f) = rs[1].body else {
            panic!("{:?}", rs[1].body)
        };
        // Under TLS_RSA_WITH_NULL_SHA it is a Finished in clear and a 20-byte MAC.
        let plain = &f[..f.len() - 20];
        let m = handshake_messages(plain).unwrap();
        assert_eq!(m[0].kind(), TlsHandshakeType::FINISHED);
    }

    #[test]
    fn application_data_under_a_null_suite_is_sccp_and_a_mac() {
        let (r, rest) = parse(APP_DATA_NULL).unwrap();
        assert!(rest.is_empty());
        let TlsBody::ApplicationData(d) = r.body else {
            panic!()
        };
        assert_eq!(d.len(), 156);
        // data length 0x80, header version 0, message id 1 (RegisterReq).
        assert_eq!(&d[..12], &[0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(8 + 0x80 + 20, d.len());
    }

    #[test]
    fn an_alert_in_clear_and_an_encrypted_one() {
        let alert = [21, 3, 3, 0, 2, 2, 40];
        let (r, _) = parse(&alert).unwrap();
        assert_eq!(
            r.body,
            TlsBody::Alert {
                level: TlsAlertLevel::FATAL,
                description: TlsAlertDescription::HANDSHAKE_FAILURE
            }
        );
        assert_eq!(format!("{:?}", TlsAlertDescription(48)), "Unknown CA(48)");
        let (r, _) = parse(ENCRYPTED_ALERT).unwrap();
        assert_eq!(r.content_type, TlsContentType::ALERT);
        assert!(matches!(r.body, TlsBody::Opaque(d) if d.len() == 18));
        assert_eq!(r.to_vec().unwrap(), ENCRYPTED_ALERT);
    }

    #[test]
    fn truncation_at_each_length_asks_for_the_rest() {
        for cut in 0..CLIENT_HELLO_NULL.len() {
            let e = parse(&CLIENT_HELLO_NULL[..cut]).unwrap_err();
            assert!(
                matches!(e.kind, ErrorKind::NeedMore(n) if n >= 1),
                "{cut}: {e:?}"
            );
            assert_eq!(e.offset, cut);
        }
        // The header alone: the whole fragment is missing.
        let e = parse(&CLIENT_HELLO_NULL[..5]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NeedMore(CLIENT_HELLO_NULL.len() - 5));
    }

    #[test]
    fn unknown_content_types_versions_and_huge_lengths_are_rejected() {
        let e = parse(&[25, 3, 3, 0, 0]).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (
                0,
                ErrorKind::BadValue {
                    field: "content type",
                    value: 25
                }
            )
        );
        let e = parse(&[22, 2, 0, 0, 0]).unwrap_err();
        assert_eq!((e.offset, e.kind), (1, ErrorKind::BadVersion(0x0200)));
        let e = parse(&[23, 3, 3, 0xff, 0xff]).unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(matches!(e.kind, ErrorKind::TooLong { len: 0xffff, .. }));
        // SSL 2.0's first byte has the high bit set: not a record.
        assert!(!looks_like_record(&[0x80, 0x2e, 1]));
        assert!(looks_like_record(&[22, 3]) && looks_like_record(&[23, 3, 3, 0]));
    }

    #[test]
    fn zero_lengths_and_unknown_codes_are_data() {
        let (r, _) = parse(&[23, 3, 3, 0, 0]).unwrap();
        assert_eq!(r.body, TlsBody::ApplicationData(&[]));
        let (r, _) = parse(&[22, 3, 1, 0, 0]).unwrap();
        assert_eq!(r.body, TlsBody::Handshake(Vec::new()));
        // An unknown handshake type does not read in clear.
        let (r, _) = parse(&[22, 3, 3, 0, 4, 99, 0, 0, 0]).unwrap();
        assert!(matches!(r.body, TlsBody::Opaque(_)));
        // A known type whose body breaks its layout is Malformed, and kept.
        let (r, _) = parse(&[22, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3]).unwrap();
        assert!(matches!(
            r.handshakes(),
            [TlsHandshake::Malformed {
                kind: TlsHandshakeType::SERVER_HELLO,
                ..
            }]
        ));
        assert_eq!(
            format!("{:?}", TlsCipherSuite(0x1234)),
            "TlsCipherSuite(0x1234)"
        );
        assert_eq!(TlsCipherSuite(0xc02f).null_mac_len(), None);
        assert_eq!(TlsCipherSuite::RSA_WITH_NULL_MD5.null_mac_len(), Some(16));
        assert_eq!(
            TlsCipherSuite::RSA_WITH_NULL_SHA256.null_mac_len(),
            Some(32)
        );
    }

    #[test]
    fn a_record_of_thousands_of_empty_messages_is_opaque_and_items_are_capped() {
        let mut data = vec![22, 3, 3, 0, 0];
        data.extend(std::iter::repeat_n([0u8, 0, 0, 0], MAX_HANDSHAKES + 1).flatten());
        let len = u16::try_from(data.len() - 5).unwrap();
        data[3..5].copy_from_slice(&len.to_be_bytes());
        let (r, _) = parse(&data).unwrap();
        assert!(matches!(r.body, TlsBody::Opaque(_)));
        assert_eq!(r.to_vec().unwrap(), data);
        // Exactly the cap still reads.
        let short = &data[..data.len() - 4];
        let mut short = short.to_vec();
        let len = u16::try_from(short.len() - 5).unwrap();
        short[3..5].copy_from_slice(&len.to_be_bytes());
        assert_eq!(parse(&short).unwrap().0.handshakes().len(), MAX_HANDSHAKES);
        // A Certificate of more than MAX_ITEMS (empty) certificates is malformed.
        let n = MAX_ITEMS + 1;
        let mut body = Vec::new();
        body.extend_from_slice(&u32::try_from(3 * n).unwrap().to_be_bytes()[1..]);
        body.extend(std::iter::repeat_n(0u8, 3 * n));
        let mut msg = vec![11];
        msg.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
        msg.extend(body);
        assert!(matches!(
            &handshake_messages(&msg).unwrap()[..],
            [TlsHandshake::Malformed { .. }]
        ));
    }

    #[test]
    fn server_name_and_supported_versions_are_read_from_their_extensions() {
        let sni = [
            0, 14, 0, 0, 11, b'c', b'u', b'c', b'm', b'.', b'l', b'o', b'c', b'a', b'l', b'x',
        ];
        let sv = [4, 3, 4, 3, 3];
        let hello = TlsClientHello {
            version: TlsVersion::TLS_1_2,
            random: &[7; 32],
            session_id: &[],
            cipher_suites: vec![TlsCipherSuite::AES_128_GCM_SHA256],
            compression_methods: &[0],
            extensions: Some(vec![
                TlsExtension {
                    kind: TlsExtensionType::SERVER_NAME,
                    data: &sni[..16],
                },
                TlsExtension {
                    kind: TlsExtensionType::SUPPORTED_VERSIONS,
                    data: &sv,
                },
            ]),
        };
        // The list (14 bytes) holds one entry: type 0, length 11, the name.
        assert_eq!(hello.server_name(), Some(&b"cucm.localx"[..]));
        assert_eq!(
            hello.supported_versions(),
            [TlsVersion::TLS_1_3, TlsVersion::TLS_1_2]
        );
        let r = TlsRecord {
            content_type: TlsContentType::HANDSHAKE,
            version: TlsVersion::TLS_1_0,
            body: TlsBody::Handshake(vec![TlsHandshake::ClientHello(hello)]),
        };
        let bytes = r.to_vec().unwrap();
        assert_eq!(parse(&bytes).unwrap().0, r);
    }

    #[test]
    fn emit_refuses_what_parse_would_read_otherwise() {
        let r = TlsRecord {
            content_type: TlsContentType::ALERT,
            version: TlsVersion::TLS_1_2,
            body: TlsBody::ApplicationData(b"x"),
        };
        assert!(matches!(r.to_vec(), Err(EmitError::Unrepresentable { .. })));
        let big = vec![0u8; MAX_FRAGMENT_LEN + 1];
        let r = TlsRecord {
            content_type: TlsContentType::APPLICATION_DATA,
            version: TlsVersion::TLS_1_2,
            body: TlsBody::ApplicationData(&big),
        };
        assert!(matches!(r.to_vec(), Err(EmitError::Unrepresentable { .. })));
        let mut small = [0u8; 4];
        let r = TlsRecord {
            content_type: TlsContentType::APPLICATION_DATA,
            version: TlsVersion::TLS_1_2,
            body: TlsBody::ApplicationData(b"ab"),
        };
        assert_eq!(
            r.emit(&mut small),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Tls,
                needed: 7
            })
        );
    }

    fn arb_extensions() -> impl Strategy<Value = Option<Vec<(u16, Vec<u8>)>>> {
        proptest::option::of(proptest::collection::vec(
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20)),
            0..4,
        ))
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            version in any::<u16>(),
            random in proptest::collection::vec(any::<u8>(), 32),
            session_id in proptest::collection::vec(any::<u8>(), 0..33),
            suites in proptest::collection::vec(any::<u16>(), 0..20),
            compression in proptest::collection::vec(any::<u8>(), 0..3),
            exts in arb_extensions(),
            server in any::<bool>(),
            certs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..3),
        ) {
            let extensions = exts.as_ref().map(|v| {
                v.iter()
                    .map(|(k, d)| TlsExtension { kind: TlsExtensionType(*k), data: d })
                    .collect()
            });
            let hello = if server {
                TlsHandshake::ServerHello(TlsServerHello {
                    version: TlsVersion(version),
                    random: &random,
                    session_id: &session_id,
                    cipher_suite: TlsCipherSuite(suites.first().copied().unwrap_or(2)),
                    compression_method: compression.first().copied().unwrap_or(0),
                    extensions,
                })
            } else {
                TlsHandshake::ClientHello(TlsClientHello {
                    version: TlsVersion(version),
                    random: &random,
                    session_id: &session_id,
                    cipher_suites: suites.iter().copied().map(TlsCipherSuite).collect(),
                    compression_methods: &compression,
                    extensions,
                })
            };
            let certs: Vec<&[u8]> = certs.iter().map(Vec::as_slice).collect();
            let r = TlsRecord {
                content_type: TlsContentType::HANDSHAKE,
                version: TlsVersion(0x0300 | version & 0x00ff),
                body: TlsBody::Handshake(vec![hello, TlsHandshake::Certificate(certs)]),
            };
            let bytes = r.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), r.buffer_len());
            let (back, rest) = parse(&bytes).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(back, r);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            match parse(&data) {
                Ok((r, rest)) => {
                    let used = data.len() - rest.len();
                    prop_assert_eq!(r.to_vec().unwrap(), &data[..used]);
                }
                Err(e) => prop_assert!(e.offset <= data.len()),
            }
        }

        #[test]
        fn records_of_any_bytes_write_back(
            kind in 20u8..=24,
            minor in 0u8..=4,
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut data = vec![kind, 3, minor];
            data.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
            data.extend_from_slice(&body);
            let (r, rest) = parse(&data).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(r.to_vec().unwrap(), data);
        }
    }
}
