//! The one error type of the dissectors. `offset` counts from the start of the
//! slice handed to `parse`, so a caller can point at the exact byte; truncation
//! (`Truncated`, `NeedMore`) is kept apart from bad content.

use std::fmt;

use nom::error::ParseError;

/// Which dissector produced an error (or a message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    /// Cisco Discovery Protocol.
    Cdp,
    /// Link Layer Discovery Protocol (with LLDP-MED).
    Lldp,
    /// DHCPv4 / BOOTP.
    Dhcp,
    /// Trivial File Transfer Protocol.
    Tftp,
    /// Skinny Client Control Protocol.
    Sccp,
    /// Session Initiation Protocol.
    Sip,
    /// HTTP (config download on TCP 6970).
    Http,
    /// GRE (a tunnel's header).
    Gre,
    /// ERSPAN (a remote mirror's header, inside GRE).
    Erspan,
    /// VXLAN (a fabric tunnel's header).
    Vxlan,
    /// CAPWAP data (a wireless controller's tunnel header).
    Capwap,
    /// An IEEE 802.11 data frame (inside CAPWAP).
    Ieee80211,
    /// EAPOL (802.1X) and the EAP it carries.
    Eapol,
    /// ARP (Ethernet / IPv4).
    Arp,
    /// Domain Name System.
    Dns,
    /// ICMP and ICMPv6.
    Icmp,
    /// TLS (the record layer and the handshake in clear).
    Tls,
    /// A phone's device configuration file (`SEP<MAC>.cnf.xml`).
    CnfXml,
}

impl Proto {
    /// Lower-case name, as used in the `proto` field of bootscope's JSON.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Cdp => "cdp",
            Proto::Lldp => "lldp",
            Proto::Dhcp => "dhcp",
            Proto::Tftp => "tftp",
            Proto::Sccp => "sccp",
            Proto::Sip => "sip",
            Proto::Http => "http",
            Proto::Gre => "gre",
            Proto::Erspan => "erspan",
            Proto::Vxlan => "vxlan",
            Proto::Capwap => "capwap",
            Proto::Ieee80211 => "wlan",
            Proto::Eapol => "eapol",
            Proto::Arp => "arp",
            Proto::Dns => "dns",
            Proto::Icmp => "icmp",
            Proto::Tls => "tls",
            Proto::CnfXml => "cnfxml",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dissector's failure: which protocol, where in its input, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{proto} at byte {offset}: {kind}")]
pub struct DissectError {
    /// The dissector that failed.
    pub proto: Proto,
    /// Byte offset from the start of the input handed to `parse`.
    pub offset: usize,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong, with the values involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The datagram ends before a field it announces.
    #[error("truncated")]
    Truncated,
    /// A stream PDU continues past the buffer: this many more bytes are needed (at least).
    #[error("need {0} more byte(s)")]
    NeedMore(usize),
    /// A length field below the minimum the format allows (a loop would never advance).
    #[error("length field {len} below minimum {min}")]
    BadLength {
        /// The length read.
        len: usize,
        /// The smallest legal value.
        min: usize,
    },
    /// A length field above what bootscope accepts for this protocol (never allocate on a claim).
    #[error("length field {len} above maximum {max}")]
    TooLong {
        /// The length read.
        len: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// A version this dissector does not speak.
    #[error("unsupported version {0}")]
    BadVersion(u32),
    /// A field holds a value that rules the packet out (e.g. a bad magic cookie or opcode).
    #[error("bad {field} {value:#x}")]
    BadValue {
        /// The field's name.
        field: &'static str,
        /// The value read.
        value: u32,
    },
    /// Anything else that breaks the framing, described.
    #[error("malformed ({0})")]
    Malformed(&'static str),
}

/// nom's error inside the dissectors: where it failed and why. Never public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PErr<'a> {
    pub input: &'a [u8],
    pub kind: ErrorKind,
}

impl<'a> ParseError<&'a [u8]> for PErr<'a> {
    fn from_error_kind(input: &'a [u8], kind: nom::error::ErrorKind) -> Self {
        let kind = match kind {
            // `complete` parsers report running out of input as Eof.
            nom::error::ErrorKind::Eof => ErrorKind::Truncated,
            nom::error::ErrorKind::Tag => ErrorKind::Malformed("unexpected bytes"),
            nom::error::ErrorKind::Verify => ErrorKind::Malformed("value failed a check"),
            _ => ErrorKind::Malformed("framing"),
        };
        PErr { input, kind }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of the dissectors' private nom parsers.
pub(crate) type PResult<'a, T> = nom::IResult<&'a [u8], T, PErr<'a>>;

/// Fail at `input` with `kind` (as a nom `Error`, so alternatives may still be tried).
pub(crate) fn fail<'a, T>(input: &'a [u8], kind: ErrorKind) -> PResult<'a, T> {
    Err(nom::Err::Error(PErr { input, kind }))
}

/// Turn a nom result into the public one, computing the byte offset from `start`.
pub(crate) fn finish<'a, T>(
    proto: Proto,
    start: &'a [u8],
    result: PResult<'a, T>,
) -> Result<(T, &'a [u8]), DissectError> {
    match result {
        Ok((rest, value)) => Ok((value, rest)),
        Err(nom::Err::Incomplete(needed)) => Err(DissectError {
            proto,
            offset: start.len(),
            kind: ErrorKind::NeedMore(match needed {
                nom::Needed::Size(n) => n.get(),
                nom::Needed::Unknown => 1,
            }),
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(DissectError {
            proto,
            offset: start.len().saturating_sub(e.input.len()),
            kind: e.kind,
        }),
    }
}

/// Build an error directly, for checks made outside nom.
pub(crate) fn error_at(proto: Proto, start: &[u8], at: &[u8], kind: ErrorKind) -> DissectError {
    DissectError {
        proto,
        offset: start.len().saturating_sub(at.len()),
        kind,
    }
}
