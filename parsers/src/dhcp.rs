//! DHCPv4 and BOOTP (RFC 2131 message, RFC 2132 options, RFC 951 BOOTP), with the
//! options a Cisco phone boot depends on: 150 TFTP servers (RFC 5859), 66 TFTP server
//! name, 82 relay agent information (RFC 3046) and 52 overload. `dispatch` hands over
//! the UDP payload of ports 67/68; the phone's MAC comes from `chaddr` or option 61.
//!
//! Quirks, following Wireshark's `packet-dhcp.c` where the RFCs leave room:
//! - The 236-byte fixed header is framing: a shorter datagram fails as `Truncated`.
//!   A message without the magic cookie 99.130.83.99 is plain BOOTP and has no options.
//! - Options are read lazily by [`DhcpMessage::options`]; `parse` walks them once to
//!   find option 52 and to record where a broken option (a missing length byte or a
//!   value running past the end) stops the walk: [`DhcpMessage::options_error`].
//!   tshark reports such a message as "Malformed Packet"; here the header and every
//!   option before the break remain usable.
//! - Overload (52) is honoured only when found in the `options` field (RFC 2131 §4.1);
//!   then `file` and then `sname` are read as further option areas, in that order.
//! - RFC 3396 split options: typed accessors read the *first* instance of an option;
//!   [`DhcpMessage::option_concat`] joins every instance, in order, when needed.
//! - Option 150 sent as text ("10.1.1.5", a classic server misconfiguration) is
//!   recognised and reported as [`Option150::AsciiString`] instead of bogus addresses.

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv4Addr;

use nom::{
    bytes::complete::take,
    number::complete::{be_u16, be_u32, be_u8},
    Parser,
};

use crate::codepoint::code_points;
use crate::error::{fail, finish, DissectError, ErrorKind, PErr, PResult, Proto};

/// The magic cookie that starts the options area of a DHCP (not BOOTP) message.
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Length of the fixed BOOTP header, up to and including `file`.
pub const HEADER_LEN: usize = 236;
/// Offset of `sname` (64 bytes) in the message.
const SNAME_OFFSET: usize = 44;
/// Offset of `file` (128 bytes) in the message.
const FILE_OFFSET: usize = 108;
/// Offset of the first option, after the header and the cookie.
const OPTIONS_OFFSET: usize = HEADER_LEN + MAGIC_COOKIE.len();

code_points! {
    /// BOOTP `op`: who sent the message.
    DhcpOp(u8), debug = name "{}" {
        /// Client to server.
        BOOT_REQUEST = 1 => "Boot Request",
        /// Server to client.
        BOOT_REPLY = 2 => "Boot Reply",
    }
}

code_points! {
    /// Option 53, the DHCP message type. Unknown values (e.g. 106) are kept as data.
    DhcpMessageType(u8), debug = name "{}" {
        /// A client looks for servers.
        DISCOVER = 1 => "Discover",
        /// A server offers an address (and the phone's TFTP servers).
        OFFER = 2 => "Offer",
        /// A client requests the offered address (or renews).
        REQUEST = 3 => "Request",
        /// A client found the address already in use.
        DECLINE = 4 => "Decline",
        /// A server confirms the lease.
        ACK = 5 => "ACK",
        /// A server refuses the request.
        NAK = 6 => "NAK",
        /// A client gives the address back.
        RELEASE = 7 => "Release",
        /// A client with an address asks for configuration only.
        INFORM = 8 => "Inform",
        /// RFC 3203.
        FORCE_RENEW = 9 => "Force Renew",
        /// RFC 4388.
        LEASE_QUERY = 10 => "Lease query",
        /// RFC 4388.
        LEASE_UNASSIGNED = 11 => "Lease Unassigned",
        /// RFC 4388.
        LEASE_UNKNOWN = 12 => "Lease Unknown",
        /// RFC 4388.
        LEASE_ACTIVE = 13 => "Lease Active",
        /// RFC 6926.
        BULK_LEASE_QUERY = 14 => "Bulk Lease Query",
        /// RFC 6926.
        LEASE_QUERY_DONE = 15 => "Lease Query Done",
        /// RFC 7724.
        ACTIVE_LEASE_QUERY = 16 => "Active LeaseQuery",
        /// RFC 7724.
        LEASE_QUERY_STATUS = 17 => "Lease Query Status",
        /// RFC 7724.
        TLS = 18 => "TLS",
    }
}

code_points! {
    /// Option 52: which header fields carry more options.
    DhcpOverload(u8), debug = name "{}" {
        /// `file` holds options.
        FILE = 1 => "file",
        /// `sname` holds options.
        SNAME = 2 => "sname",
        /// Both hold options.
        BOTH = 3 => "file+sname",
    }
}

impl DhcpOverload {
    /// Whether `file` holds options.
    pub fn file(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether `sname` holds options.
    pub fn sname(self) -> bool {
        self.0 & 2 != 0
    }
}

code_points! {
    /// A DHCP option code: the ones this dissector decodes (RFC 2132 unless
    /// noted), with tshark's names.
    DhcpOptionCode(u8), debug = name "{}" {
        /// Padding, skipped by the option iterator.
        PAD = 0 => "Padding",
        /// Subnet mask (4 bytes).
        SUBNET_MASK = 1 => "Subnet Mask",
        /// Routers (list of IPv4).
        ROUTER = 3 => "Router",
        /// DNS servers (list of IPv4).
        DNS = 6 => "Domain Name Server",
        /// Host name (text).
        HOST_NAME = 12 => "Host Name",
        /// Domain name (text).
        DOMAIN_NAME = 15 => "Domain Name",
        /// Vendor-specific information (opaque).
        VENDOR_SPECIFIC = 43 => "Vendor-Specific Information",
        /// Requested IP address (4 bytes).
        REQUESTED_IP = 50 => "Requested IP Address",
        /// Lease time in seconds (u32).
        LEASE_TIME = 51 => "IP Address Lease Time",
        /// Option overload (1 byte).
        OVERLOAD = 52 => "Option Overload",
        /// DHCP message type (1 byte).
        MESSAGE_TYPE = 53 => "DHCP Message Type",
        /// Server identifier (4 bytes).
        SERVER_ID = 54 => "DHCP Server Identifier",
        /// Parameter request list (codes).
        PARAMETER_REQUEST_LIST = 55 => "Parameter Request List",
        /// Vendor class identifier (text; Cisco phones add a trailing NUL).
        VENDOR_CLASS = 60 => "Vendor class identifier",
        /// Client identifier (type + id).
        CLIENT_ID = 61 => "Client identifier",
        /// TFTP server name (text: a name or a dotted address).
        TFTP_SERVER_NAME = 66 => "TFTP Server Name",
        /// Relay agent information (RFC 3046 sub-options).
        RELAY_AGENT = 82 => "Agent Information Option",
        /// TFTP server addresses (RFC 5859, list of IPv4).
        TFTP_SERVERS = 150 => "TFTP Server Address",
        /// End of an option area.
        END = 255 => "End",
    }
}

/// One dissected DHCP (or BOOTP) message, borrowing the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpMessage<'a> {
    /// Request or reply.
    pub op: DhcpOp,
    /// Hardware address type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address length (6 for Ethernet).
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id, shared by a DISCOVER and its OFFER (and REQUEST/ACK).
    pub xid: u32,
    /// Seconds since the client began acquiring.
    pub secs: u16,
    /// Flags; bit 15 is broadcast ([`DhcpMessage::broadcast`]).
    pub flags: u16,
    /// Client address (when it already has one).
    pub ciaddr: Ipv4Addr,
    /// "Your" address: the address offered or assigned.
    pub yiaddr: Ipv4Addr,
    /// Next server (often the TFTP server for BOOTP clients).
    pub siaddr: Ipv4Addr,
    /// Relay agent address.
    pub giaddr: Ipv4Addr,
    /// Client hardware address field, 16 bytes; see [`DhcpMessage::client_mac`].
    pub chaddr: [u8; 16],
    /// Server host name field, 64 raw bytes (options when overloaded).
    pub sname: &'a [u8],
    /// Boot file name field, 128 raw bytes (options when overloaded).
    pub file: &'a [u8],
    /// Everything after `file`: the magic cookie and options, or a BOOTP vendor area.
    pub vendor: &'a [u8],
    /// Options after the cookie; `None` for BOOTP (no cookie).
    options_area: Option<&'a [u8]>,
    /// Option 52 as found in the `options` field, when valid.
    overload: Option<DhcpOverload>,
    /// Where the option walk broke, if it did.
    options_error: Option<DissectError>,
}

/// One option as found on the wire (pad and end are not reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpOption<'a> {
    /// Option code.
    pub code: DhcpOptionCode,
    /// Option value, without code and length bytes.
    pub data: &'a [u8],
}

/// An option's value, decoded for the codes this dissector knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpOptionValue<'a> {
    /// 1.
    SubnetMask(Ipv4Addr),
    /// 3.
    Routers(Ipv4List<'a>),
    /// 6.
    DnsServers(Ipv4List<'a>),
    /// 12, trailing NULs removed.
    HostName(&'a [u8]),
    /// 15, trailing NULs removed.
    DomainName(&'a [u8]),
    /// 43, opaque.
    VendorSpecific(&'a [u8]),
    /// 50.
    RequestedIp(Ipv4Addr),
    /// 51, seconds.
    LeaseTime(u32),
    /// 52.
    Overload(DhcpOverload),
    /// 53.
    MessageType(DhcpMessageType),
    /// 54.
    ServerId(Ipv4Addr),
    /// 55, the requested option codes.
    ParameterRequestList(&'a [u8]),
    /// 60, trailing NULs removed.
    VendorClass(&'a [u8]),
    /// 61.
    ClientId(ClientId<'a>),
    /// 66, trailing NULs removed.
    TftpServerName(&'a [u8]),
    /// 82.
    RelayAgent(RelayAgentInfo<'a>),
    /// 150, including its own misconfiguration cases.
    TftpServers(Option150<'a>),
    /// A known option whose length is wrong for its type.
    Malformed {
        /// Option code.
        code: DhcpOptionCode,
        /// The raw value.
        data: &'a [u8],
    },
    /// An option this dissector does not decode.
    Other {
        /// Option code.
        code: DhcpOptionCode,
        /// The raw value.
        data: &'a [u8],
    },
}

impl<'a> DhcpOption<'a> {
    /// tshark's name of the option, if known.
    pub fn name(&self) -> Option<&'static str> {
        self.code.name()
    }

    /// Decode the value; a known option of the wrong size is `Malformed`.
    pub fn value(&self) -> DhcpOptionValue<'a> {
        use DhcpOptionValue as V;
        let (code, data) = (self.code, self.data);
        match (code, data) {
            (DhcpOptionCode::SUBNET_MASK, &[a, b, c, d]) => {
                V::SubnetMask(Ipv4Addr::new(a, b, c, d))
            }
            (DhcpOptionCode::ROUTER, d) if Ipv4List::new(d).is_some() => V::Routers(Ipv4List(d)),
            (DhcpOptionCode::DNS, d) if Ipv4List::new(d).is_some() => V::DnsServers(Ipv4List(d)),
            (DhcpOptionCode::HOST_NAME, d @ [_, ..]) => V::HostName(trim_nul(d)),
            (DhcpOptionCode::DOMAIN_NAME, d @ [_, ..]) => V::DomainName(trim_nul(d)),
            (DhcpOptionCode::VENDOR_SPECIFIC, d) => V::VendorSpecific(d),
            (DhcpOptionCode::REQUESTED_IP, &[a, b, c, d]) => {
                V::RequestedIp(Ipv4Addr::new(a, b, c, d))
            }
            (DhcpOptionCode::LEASE_TIME, &[a, b, c, d]) => {
                V::LeaseTime(u32::from_be_bytes([a, b, c, d]))
            }
            (DhcpOptionCode::OVERLOAD, &[v @ 1..=3]) => V::Overload(DhcpOverload(v)),
            (DhcpOptionCode::MESSAGE_TYPE, &[t]) => V::MessageType(DhcpMessageType(t)),
            (DhcpOptionCode::SERVER_ID, &[a, b, c, d]) => V::ServerId(Ipv4Addr::new(a, b, c, d)),
            (DhcpOptionCode::PARAMETER_REQUEST_LIST, d @ [_, ..]) => V::ParameterRequestList(d),
            (DhcpOptionCode::VENDOR_CLASS, d @ [_, ..]) => V::VendorClass(trim_nul(d)),
            // RFC 2132 §9.14: type byte plus at least one byte of id.
            (DhcpOptionCode::CLIENT_ID, &[kind, ref id @ ..]) if !id.is_empty() => {
                V::ClientId(ClientId { kind, id })
            }
            (DhcpOptionCode::TFTP_SERVER_NAME, d @ [_, ..]) => V::TftpServerName(trim_nul(d)),
            (DhcpOptionCode::RELAY_AGENT, d) => match RelayAgentInfo::new(d) {
                Some(info) => V::RelayAgent(info),
                None => V::Malformed { code, data },
            },
            (DhcpOptionCode::TFTP_SERVERS, d) => V::TftpServers(Option150::decode(d)),
            (
                DhcpOptionCode::SUBNET_MASK
                | DhcpOptionCode::ROUTER
                | DhcpOptionCode::DNS
                | DhcpOptionCode::HOST_NAME
                | DhcpOptionCode::DOMAIN_NAME
                | DhcpOptionCode::REQUESTED_IP
                | DhcpOptionCode::LEASE_TIME
                | DhcpOptionCode::OVERLOAD
                | DhcpOptionCode::MESSAGE_TYPE
                | DhcpOptionCode::SERVER_ID
                | DhcpOptionCode::PARAMETER_REQUEST_LIST
                | DhcpOptionCode::VENDOR_CLASS
                | DhcpOptionCode::CLIENT_ID
                | DhcpOptionCode::TFTP_SERVER_NAME,
                _,
            ) => V::Malformed { code, data },
            _ => V::Other { code, data },
        }
    }
}

/// A non-empty list of IPv4 addresses, borrowed (options 3, 6, 150).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4List<'a>(&'a [u8]);

impl<'a> Ipv4List<'a> {
    /// Wrap `bytes` if it is a non-empty multiple of 4 bytes long.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        (!bytes.is_empty() && bytes.len() % 4 == 0).then_some(Self(bytes))
    }

    /// The addresses, in wire order.
    pub fn iter(&self) -> Ipv4Iter<'a> {
        Ipv4Iter(self.0.chunks_exact(4))
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Always false (the list is non-empty by construction); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The addresses, collected.
    pub fn to_vec(&self) -> Vec<Ipv4Addr> {
        self.iter().collect()
    }
}

impl fmt::Debug for Ipv4List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Ipv4List<'a> {
    type Item = Ipv4Addr;
    type IntoIter = Ipv4Iter<'a>;
    fn into_iter(self) -> Ipv4Iter<'a> {
        self.iter()
    }
}

/// Iterator over an [`Ipv4List`].
#[derive(Debug, Clone)]
pub struct Ipv4Iter<'a>(std::slice::ChunksExact<'a, u8>);

impl Iterator for Ipv4Iter<'_> {
    type Item = Ipv4Addr;
    fn next(&mut self) -> Option<Ipv4Addr> {
        // Every chunk has exactly 4 bytes, so the conversion cannot fail.
        self.0
            .next()
            .and_then(|c| <[u8; 4]>::try_from(c).ok())
            .map(Ipv4Addr::from)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Ipv4Iter<'_> {}

/// Option 150 (RFC 5859), with the "typed as a string" misconfiguration told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Option150<'a> {
    /// The normal case: one or more TFTP server addresses.
    Addresses(Ipv4List<'a>),
    /// The server sent text such as `"10.1.1.5"` instead of 4-byte addresses (e.g. IOS
    /// `option 150 ascii ...`): the phone would read bogus addresses (49.48.46.49).
    /// Trailing NULs removed.
    AsciiString(&'a str),
    /// Neither: empty, or a length that is not a multiple of 4.
    Malformed(&'a [u8]),
}

impl<'a> Option150<'a> {
    /// Classify an option 150 value.
    ///
    /// Text is recognised whatever the length: after trailing NULs are removed, only
    /// digits, dots, commas and spaces, starting with a digit and with at least one dot.
    /// A real address list of that shape would need every octet in 32..=57 with the
    /// first in 48..=57, which no sane TFTP server has.
    pub fn decode(data: &'a [u8]) -> Self {
        let text = trim_nul(data);
        let texty = matches!(text.first(), Some(b'0'..=b'9'))
            && text.contains(&b'.')
            && text
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b' '));
        if texty {
            if let Ok(s) = std::str::from_utf8(text) {
                return Option150::AsciiString(s);
            }
        }
        match Ipv4List::new(data) {
            Some(list) => Option150::Addresses(list),
            None => Option150::Malformed(data),
        }
    }

    /// The addresses when the option is well-formed.
    pub fn addresses(&self) -> Option<Ipv4List<'a>> {
        match self {
            Option150::Addresses(list) => Some(*list),
            _ => None,
        }
    }
}

/// Option 61, the client identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientId<'a> {
    /// Type byte: 1 = Ethernet MAC follows, 0 = free-form, 255 = RFC 4361 DUID.
    pub kind: u8,
    /// The identifier after the type byte.
    pub id: &'a [u8],
}

impl ClientId<'_> {
    /// The MAC when the type is 1 (Ethernet) with 6 bytes of id.
    pub fn mac(&self) -> Option<[u8; 6]> {
        if self.kind == 1 {
            <[u8; 6]>::try_from(self.id).ok()
        } else {
            None
        }
    }
}

/// Option 82 (RFC 3046): sub-options added by a relay agent, checked to tile the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayAgentInfo<'a>(&'a [u8]);

/// One option 82 sub-option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayAgentSubOption<'a> {
    /// Sub-option code: 1 circuit id, 2 remote id, others (5 link selection, 9 vendor...).
    pub code: u8,
    /// Its value.
    pub data: &'a [u8],
}

impl<'a> RelayAgentInfo<'a> {
    /// Circuit ID sub-option code.
    pub const CIRCUIT_ID: u8 = 1;
    /// Remote ID sub-option code.
    pub const REMOTE_ID: u8 = 2;

    /// Wrap `data` if it is a non-empty sequence of whole sub-options.
    pub fn new(data: &'a [u8]) -> Option<Self> {
        let mut rest = data;
        while !rest.is_empty() {
            rest = sub_option(rest)?.1;
        }
        (!data.is_empty()).then_some(Self(data))
    }

    /// The sub-options, in wire order.
    pub fn sub_options(&self) -> RelayAgentIter<'a> {
        RelayAgentIter(self.0)
    }

    /// The first sub-option with `code`.
    pub fn get(&self, code: u8) -> Option<&'a [u8]> {
        self.sub_options().find(|s| s.code == code).map(|s| s.data)
    }

    /// Sub-option 1: the switch port the request came in on (often text).
    pub fn circuit_id(&self) -> Option<&'a [u8]> {
        self.get(Self::CIRCUIT_ID)
    }

    /// Sub-option 2: the relay agent's identity (often its MAC).
    pub fn remote_id(&self) -> Option<&'a [u8]> {
        self.get(Self::REMOTE_ID)
    }

    /// The raw option value.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// Iterator over option 82 sub-options.
#[derive(Debug, Clone)]
pub struct RelayAgentIter<'a>(&'a [u8]);

impl<'a> Iterator for RelayAgentIter<'a> {
    type Item = RelayAgentSubOption<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let (item, rest) = sub_option(self.0)?;
        self.0 = rest;
        Some(item)
    }
}

/// One code/length/value sub-option, or `None` when it does not fit.
fn sub_option(input: &[u8]) -> Option<(RelayAgentSubOption<'_>, &[u8])> {
    let [code, len, rest @ ..] = input else {
        return None;
    };
    let (data, rest) = rest.split_at_checked(usize::from(*len))?;
    Some((RelayAgentSubOption { code: *code, data }, rest))
}

/// Remove trailing NUL bytes (C strings, Cisco's option 60).
pub fn trim_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    bytes.get(..end).unwrap_or_default()
}

/// Text up to the first NUL (for `sname`/`file`, which are C strings in a fixed field).
fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or_default()
}

/// Dissect one DHCPv4/BOOTP message (a UDP payload, ports 67/68).
///
/// # Errors
/// `Truncated` when the datagram is shorter than the 236-byte fixed header (the
/// offset is where the cut field starts). Broken options do not fail the message:
/// see [`DhcpMessage::options_error`].
pub fn parse(input: &[u8]) -> Result<DhcpMessage<'_>, DissectError> {
    finish(Proto::Dhcp, input, message(input)).map(|(msg, _rest)| msg)
}

fn ipv4(input: &[u8]) -> PResult<'_, Ipv4Addr> {
    be_u32.map(Ipv4Addr::from).parse(input)
}

fn array<const N: usize>(input: &[u8]) -> PResult<'_, [u8; N]> {
    let (rest, bytes) = take(N).parse(input)?;
    match <[u8; N]>::try_from(bytes) {
        Ok(a) => Ok((rest, a)),
        Err(_) => fail(input, ErrorKind::Truncated),
    }
}

fn message(input: &[u8]) -> PResult<'_, DhcpMessage<'_>> {
    let (i, (op, htype, hlen, hops, xid, secs, flags)) =
        (be_u8, be_u8, be_u8, be_u8, be_u32, be_u16, be_u16).parse(input)?;
    let (i, (ciaddr, yiaddr, siaddr, giaddr)) = (ipv4, ipv4, ipv4, ipv4).parse(i)?;
    let (vendor, (chaddr, sname, file)) = (array::<16>, take(64usize), take(128usize)).parse(i)?;
    // RFC 1497: without the cookie the vendor area is not options (plain BOOTP).
    let options_area = match vendor {
        [99, 130, 83, 99, rest @ ..] => Some(rest),
        _ => None,
    };
    let mut msg = DhcpMessage {
        op: DhcpOp(op),
        htype,
        hlen,
        hops,
        xid,
        secs,
        flags,
        ciaddr,
        yiaddr,
        siaddr,
        giaddr,
        chaddr,
        sname,
        file,
        vendor,
        options_area,
        overload: None,
        options_error: None,
    };
    let (overload, error) = scan(&msg);
    msg.overload = overload;
    msg.options_error = error;
    Ok((&[], msg))
}

/// One step of an option walk.
enum Item<'a> {
    Pad,
    End,
    Opt(DhcpOption<'a>),
}

/// One option (code, length, value), a pad byte or the end marker.
fn option(input: &[u8]) -> PResult<'_, Item<'_>> {
    let (i, code) = be_u8(input)?;
    let code = DhcpOptionCode(code);
    match code {
        DhcpOptionCode::PAD => Ok((i, Item::Pad)),
        DhcpOptionCode::END => Ok((i, Item::End)),
        _ => {
            let (i, len) = be_u8(i)?;
            let (i, data) = take(len).parse(i)?;
            Ok((i, Item::Opt(DhcpOption { code, data })))
        }
    }
}

/// The error of a broken option in `region`, which starts at `base` in the message.
fn region_error(base: usize, region: &[u8], e: PErr<'_>) -> DissectError {
    DissectError {
        proto: Proto::Dhcp,
        offset: base + region.len().saturating_sub(e.input.len()),
        kind: e.kind,
    }
}

/// Walk every option area once: find option 52 and the first broken option.
fn scan(msg: &DhcpMessage<'_>) -> (Option<DhcpOverload>, Option<DissectError>) {
    let Some(area) = msg.options_area else {
        return (None, None);
    };
    let mut overload = None;
    let mut regions = [
        (OPTIONS_OFFSET, area),
        (FILE_OFFSET, &[][..]),
        (SNAME_OFFSET, &[][..]),
    ];
    for slot in 0..3 {
        let Some(&(base, region)) = regions.get(slot) else {
            break;
        };
        let mut i = region;
        while !i.is_empty() {
            match option(i) {
                Ok((_, Item::End)) => break,
                Ok((rest, Item::Pad)) => i = rest,
                Ok((rest, Item::Opt(o))) => {
                    // Only the `options` field may hold option 52 (RFC 2131 §4.1).
                    let candidate =
                        slot == 0 && overload.is_none() && o.code == DhcpOptionCode::OVERLOAD;
                    let value = candidate.then(|| o.value());
                    if let Some(DhcpOptionValue::Overload(v)) = value {
                        overload = Some(v);
                        let [_, file, sname] = &mut regions;
                        if v.file() {
                            *file = (FILE_OFFSET, msg.file);
                        }
                        if v.sname() {
                            *sname = (SNAME_OFFSET, msg.sname);
                        }
                    }
                    i = rest;
                }
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    return (overload, Some(region_error(base, region, e)));
                }
                Err(nom::Err::Incomplete(_)) => {
                    let kind = ErrorKind::Truncated;
                    let e = PErr { input: i, kind };
                    return (overload, Some(region_error(base, region, e)));
                }
            }
        }
    }
    (overload, None)
}

/// Zero-copy iterator over a message's options, in RFC 2131 order (`options`, then
/// `file` and `sname` when overloaded). Skips pad, stops each area at end (255), and
/// stops for good at a broken option ([`DhcpMessage::options_error`] says where).
#[derive(Debug, Clone)]
pub struct DhcpOptions<'a> {
    region: &'a [u8],
    file: Option<&'a [u8]>,
    sname: Option<&'a [u8]>,
}

impl<'a> Iterator for DhcpOptions<'a> {
    type Item = DhcpOption<'a>;
    fn next(&mut self) -> Option<DhcpOption<'a>> {
        loop {
            let step = if self.region.is_empty() {
                Item::End
            } else {
                match option(self.region) {
                    Ok((rest, item)) => {
                        self.region = rest;
                        item
                    }
                    Err(_) => {
                        // Broken option: nothing after it can be trusted.
                        *self = DhcpOptions {
                            region: &[],
                            file: None,
                            sname: None,
                        };
                        return None;
                    }
                }
            };
            match step {
                Item::Opt(o) => return Some(o),
                Item::Pad => {}
                Item::End => {
                    self.region = match (self.file.take(), self.sname.take()) {
                        (Some(f), s) => {
                            self.sname = s;
                            f
                        }
                        (None, Some(s)) => s,
                        (None, None) => {
                            self.region = &[];
                            return None;
                        }
                    };
                }
            }
        }
    }
}

impl<'a> DhcpMessage<'a> {
    /// Whether the magic cookie is present (DHCP rather than plain BOOTP).
    pub fn has_cookie(&self) -> bool {
        self.options_area.is_some()
    }

    /// The broadcast flag (bit 15 of `flags`).
    pub fn broadcast(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The client's MAC from `chaddr`, when htype is 1 (Ethernet) and hlen 6.
    pub fn client_mac(&self) -> Option<[u8; 6]> {
        let [a, b, c, d, e, f, ..] = self.chaddr;
        (self.htype == 1 && self.hlen == 6).then_some([a, b, c, d, e, f])
    }

    /// The server host name up to its first NUL, or `None` when `sname` holds options.
    pub fn server_name(&self) -> Option<&'a [u8]> {
        let overloaded = self.overload.is_some_and(DhcpOverload::sname);
        (!overloaded).then(|| until_nul(self.sname))
    }

    /// The boot file name up to its first NUL, or `None` when `file` holds options.
    pub fn boot_file(&self) -> Option<&'a [u8]> {
        let overloaded = self.overload.is_some_and(DhcpOverload::file);
        (!overloaded).then(|| until_nul(self.file))
    }

    /// Option 52 from the `options` field, when present and valid.
    pub fn overload(&self) -> Option<DhcpOverload> {
        self.overload
    }

    /// Where the option walk stopped on a broken option: the offset (from the start of
    /// the message) of the missing length byte or value, and `Truncated`.
    pub fn options_error(&self) -> Option<&DissectError> {
        self.options_error.as_ref()
    }

    /// Whether an option was broken (tshark: "Malformed Packet").
    pub fn is_malformed(&self) -> bool {
        self.options_error.is_some()
    }

    /// Every option, lazily; empty for BOOTP.
    pub fn options(&self) -> DhcpOptions<'a> {
        let overload = self.overload.unwrap_or(DhcpOverload(0));
        DhcpOptions {
            region: self.options_area.unwrap_or_default(),
            file: overload.file().then_some(self.file),
            sname: overload.sname().then_some(self.sname),
        }
    }

    /// The first option with `code`.
    pub fn option(&self, code: DhcpOptionCode) -> Option<DhcpOption<'a>> {
        self.options().find(|o| o.code == code)
    }

    /// Every instance of `code` joined in order (RFC 3396 long options); borrowed when
    /// there is only one instance.
    pub fn option_concat(&self, code: DhcpOptionCode) -> Option<Cow<'a, [u8]>> {
        let mut all = self.options().filter(|o| o.code == code);
        let first = all.next()?;
        let mut joined: Option<Vec<u8>> = None;
        for more in all {
            joined
                .get_or_insert_with(|| first.data.to_vec())
                .extend_from_slice(more.data);
        }
        Some(joined.map_or(Cow::Borrowed(first.data), Cow::Owned))
    }

    /// The decoded value of the first option with `code`.
    pub fn value(&self, code: DhcpOptionCode) -> Option<DhcpOptionValue<'a>> {
        self.option(code).map(|o| o.value())
    }

    /// Option 53; `None` for BOOTP or a malformed option.
    pub fn message_type(&self) -> Option<DhcpMessageType> {
        match self.value(DhcpOptionCode::MESSAGE_TYPE)? {
            DhcpOptionValue::MessageType(t) => Some(t),
            _ => None,
        }
    }

    /// Option 50.
    pub fn requested_ip(&self) -> Option<Ipv4Addr> {
        match self.value(DhcpOptionCode::REQUESTED_IP)? {
            DhcpOptionValue::RequestedIp(a) => Some(a),
            _ => None,
        }
    }

    /// Option 54.
    pub fn server_id(&self) -> Option<Ipv4Addr> {
        match self.value(DhcpOptionCode::SERVER_ID)? {
            DhcpOptionValue::ServerId(a) => Some(a),
            _ => None,
        }
    }

    /// Option 51, seconds.
    pub fn lease_time(&self) -> Option<u32> {
        match self.value(DhcpOptionCode::LEASE_TIME)? {
            DhcpOptionValue::LeaseTime(t) => Some(t),
            _ => None,
        }
    }

    /// Option 1.
    pub fn subnet_mask(&self) -> Option<Ipv4Addr> {
        match self.value(DhcpOptionCode::SUBNET_MASK)? {
            DhcpOptionValue::SubnetMask(a) => Some(a),
            _ => None,
        }
    }

    /// Option 3 (an ACK without it leaves the phone without a default gateway).
    pub fn routers(&self) -> Option<Ipv4List<'a>> {
        match self.value(DhcpOptionCode::ROUTER)? {
            DhcpOptionValue::Routers(l) => Some(l),
            _ => None,
        }
    }

    /// Option 6.
    pub fn dns_servers(&self) -> Option<Ipv4List<'a>> {
        match self.value(DhcpOptionCode::DNS)? {
            DhcpOptionValue::DnsServers(l) => Some(l),
            _ => None,
        }
    }

    /// Option 12, trailing NULs removed.
    pub fn host_name(&self) -> Option<&'a [u8]> {
        match self.value(DhcpOptionCode::HOST_NAME)? {
            DhcpOptionValue::HostName(s) => Some(s),
            _ => None,
        }
    }

    /// Option 15, trailing NULs removed.
    pub fn domain_name(&self) -> Option<&'a [u8]> {
        match self.value(DhcpOptionCode::DOMAIN_NAME)? {
            DhcpOptionValue::DomainName(s) => Some(s),
            _ => None,
        }
    }

    /// Option 55: the option codes the client asks for.
    pub fn parameter_request_list(&self) -> Option<&'a [u8]> {
        match self.value(DhcpOptionCode::PARAMETER_REQUEST_LIST)? {
            DhcpOptionValue::ParameterRequestList(l) => Some(l),
            _ => None,
        }
    }

    /// Option 60, trailing NULs removed (e.g. "Cisco Systems, Inc. IP Phone CP-7941G").
    pub fn vendor_class(&self) -> Option<&'a [u8]> {
        match self.value(DhcpOptionCode::VENDOR_CLASS)? {
            DhcpOptionValue::VendorClass(s) => Some(s),
            _ => None,
        }
    }

    /// Option 61.
    pub fn client_id(&self) -> Option<ClientId<'a>> {
        match self.value(DhcpOptionCode::CLIENT_ID)? {
            DhcpOptionValue::ClientId(c) => Some(c),
            _ => None,
        }
    }

    /// Option 66, trailing NULs removed: a host name or a dotted address as text.
    pub fn tftp_server_name(&self) -> Option<&'a [u8]> {
        match self.value(DhcpOptionCode::TFTP_SERVER_NAME)? {
            DhcpOptionValue::TftpServerName(s) => Some(s),
            _ => None,
        }
    }

    /// Option 82, when its sub-options are well-formed.
    pub fn relay_agent(&self) -> Option<RelayAgentInfo<'a>> {
        match self.value(DhcpOptionCode::RELAY_AGENT)? {
            DhcpOptionValue::RelayAgent(r) => Some(r),
            _ => None,
        }
    }

    /// Option 43, raw.
    pub fn vendor_specific(&self) -> Option<&'a [u8]> {
        self.option(DhcpOptionCode::VENDOR_SPECIFIC).map(|o| o.data)
    }

    /// Option 150, classified (addresses, text by mistake, or malformed).
    pub fn tftp_servers(&self) -> Option<Option150<'a>> {
        self.option(DhcpOptionCode::TFTP_SERVERS)
            .map(|o| Option150::decode(o.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ARKIME_DISCOVER: &[u8] = include_bytes!("../testdata/dhcp/arkime-discover.bin");
    const ARKIME_OFFER: &[u8] = include_bytes!("../testdata/dhcp/arkime-offer.bin");
    const ARKIME_REQUEST: &[u8] = include_bytes!("../testdata/dhcp/arkime-request.bin");
    const ARKIME_ACK: &[u8] = include_bytes!("../testdata/dhcp/arkime-ack.bin");
    const RFC5859_DISCOVER: &[u8] = include_bytes!("../testdata/dhcp/rfc5859-discover.bin");
    const RFC5859_OFFER: &[u8] = include_bytes!("../testdata/dhcp/rfc5859-offer.bin");
    const RFC5859_ACK: &[u8] = include_bytes!("../testdata/dhcp/rfc5859-ack.bin");
    const NDPI_FUZZ: &[u8] = include_bytes!("../testdata/dhcp/ndpi-fuzz.bin");
    const BOOTP_ASAN: &[u8] = include_bytes!("../testdata/dhcp/bootp-asan.bin");

    /// A hand-built message: a fixed header (op, Ethernet, xid 0x3903f326, chaddr
    /// 00:11:22:33:44:55), the given `sname`/`file` fields, the cookie, then `options`.
    fn build(op: u8, sname: &[u8], file: &[u8], options: &[u8]) -> Vec<u8> {
        let mut m = vec![
            op, 1, 6, 0, // op, htype Ethernet, hlen 6, hops 0
            0x39, 0x03, 0xf3, 0x26, // xid
            0, 0, 0x80, 0, // secs 0, flags: broadcast
            0, 0, 0, 0, // ciaddr
            10, 1, 1, 20, // yiaddr
            0, 0, 0, 0, // siaddr
            10, 1, 1, 1, // giaddr
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // chaddr (MAC) ...
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ... and its 10 bytes of padding
        ];
        let mut field = |bytes: &[u8], len: usize| {
            let mut f = bytes.to_vec();
            f.resize(len, 0);
            m.extend_from_slice(&f);
        };
        field(sname, 64);
        field(file, 128);
        m.extend_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(options);
        m
    }

    fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
        Ipv4Addr::new(a, b, c, d)
    }

    #[test]
    fn arkime_discover_header_and_client_id() {
        // tshark: arkime/wireshark-dhcp.pcap frame 1.
        let m = parse(ARKIME_DISCOVER).unwrap();
        assert_eq!(m.op, DhcpOp::BOOT_REQUEST);
        assert_eq!((m.htype, m.hlen, m.hops), (1, 6, 0));
        assert_eq!(m.xid, 0x0000_3d1d);
        assert_eq!((m.secs, m.flags, m.broadcast()), (0, 0, false));
        assert_eq!(m.ciaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(m.client_mac(), Some([0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42]));
        assert_eq!(m.server_name(), Some(&b""[..]));
        assert_eq!(m.boot_file(), Some(&b""[..]));
        assert!(m.has_cookie());
        assert_eq!(m.message_type(), Some(DhcpMessageType::DISCOVER));
        let cid = m.client_id().unwrap();
        assert_eq!(cid.kind, 1);
        assert_eq!(cid.mac(), Some([0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42]));
        assert_eq!(m.requested_ip(), Some(ip(0, 0, 0, 0)));
        assert_eq!(m.parameter_request_list(), Some(&[1, 3, 6, 42][..]));
        let codes: Vec<u8> = m.options().map(|o| o.code.0).collect();
        assert_eq!(codes, [53, 61, 50, 55]);
        assert!(!m.is_malformed());
        assert_eq!(m.tftp_servers(), None);
    }

    #[test]
    fn arkime_offer_and_ack_have_no_tftp_option() {
        // tshark: frame 2 Offer, yiaddr 192.168.0.10, siaddr 192.168.0.1.
        let m = parse(ARKIME_OFFER).unwrap();
        assert_eq!(m.op, DhcpOp::BOOT_REPLY);
        assert_eq!(m.message_type(), Some(DhcpMessageType::OFFER));
        assert_eq!(m.yiaddr, ip(192, 168, 0, 10));
        assert_eq!(m.siaddr, ip(192, 168, 0, 1));
        assert_eq!(m.subnet_mask(), Some(ip(255, 255, 255, 0)));
        assert_eq!(m.lease_time(), Some(3600));
        assert_eq!(m.server_id(), Some(ip(192, 168, 0, 1)));
        // 58 and 59 (renewal/rebinding) are not decoded: Other.
        assert_eq!(
            m.value(DhcpOptionCode(58)),
            Some(DhcpOptionValue::Other {
                code: DhcpOptionCode(58),
                data: &[0, 0, 0x07, 0x08]
            })
        );
        // tshark: frame 3 Request, frame 4 ACK (xid 0x00003d1e).
        let r = parse(ARKIME_REQUEST).unwrap();
        assert_eq!(r.message_type(), Some(DhcpMessageType::REQUEST));
        assert_eq!(r.requested_ip(), Some(ip(192, 168, 0, 10)));
        assert_eq!(r.server_id(), Some(ip(192, 168, 0, 1)));
        let a = parse(ARKIME_ACK).unwrap();
        assert_eq!(a.xid, 0x0000_3d1e);
        assert_eq!(a.message_type(), Some(DhcpMessageType::ACK));
        assert_eq!(a.yiaddr, ip(192, 168, 0, 10));
        assert_eq!(a.tftp_servers(), None);
        assert_eq!(a.tftp_server_name(), None);
        assert_eq!(a.routers(), None);
    }

    #[test]
    fn rfc5859_offer_and_ack_carry_two_tftp_servers() {
        // tshark: tcpdump/dhcp-rfc5859.pcap frames 2 and 4.
        for (bytes, t) in [
            (RFC5859_OFFER, DhcpMessageType::OFFER),
            (RFC5859_ACK, DhcpMessageType::ACK),
        ] {
            let m = parse(bytes).unwrap();
            assert_eq!(m.xid, 0xde54_9277);
            assert_eq!(m.message_type(), Some(t));
            assert_eq!(m.client_mac(), Some([0x00, 0x0c, 0x29, 0x1f, 0x74, 0x06]));
            assert_eq!(m.yiaddr, ip(192, 168, 1, 4));
            assert_eq!(m.server_id(), Some(ip(192, 168, 1, 1)));
            assert_eq!(m.lease_time(), Some(43200));
            assert_eq!(m.subnet_mask(), Some(ip(255, 255, 255, 0)));
            assert_eq!(m.routers().unwrap().to_vec(), [ip(192, 168, 1, 1)]);
            let tftp = m.tftp_servers().unwrap().addresses().unwrap();
            assert_eq!(tftp.to_vec(), [ip(192, 168, 1, 10), ip(192, 168, 1, 11)]);
            assert_eq!(tftp.len(), 2);
            assert_eq!(m.tftp_server_name(), None);
        }
    }

    #[test]
    fn rfc5859_discover_asks_for_option_150() {
        let m = parse(RFC5859_DISCOVER).unwrap();
        assert_eq!(m.message_type(), Some(DhcpMessageType::DISCOVER));
        assert_eq!(
            m.parameter_request_list(),
            Some(&[1, 28, 2, 3, 15, 6, 12, 150][..])
        );
    }

    #[test]
    fn ndpi_fuzz_unknown_type_and_broken_option_60() {
        // tshark: Unknown (106), client id 00:1f:29:da:2d:79, host name MK03862, then
        // option 60 claims 49 bytes where 30 remain: "Malformed Packet".
        let m = parse(NDPI_FUZZ).unwrap();
        assert_eq!(m.xid, 0xc979_b960);
        assert_eq!(m.ciaddr, ip(192, 168, 1, 104));
        assert_eq!(m.client_mac(), Some([0x00, 0x1f, 0x29, 0xda, 0x2d, 0x79]));
        let t = m.message_type().unwrap();
        assert_eq!(t, DhcpMessageType(106));
        assert_eq!(t.name(), None);
        assert_eq!(format!("{t:?}"), "DhcpMessageType(106)");
        assert_eq!(m.host_name(), Some(&b"MK03862"[..]));
        assert_eq!(
            m.client_id().unwrap().mac(),
            Some([0x00, 0x1f, 0x29, 0xda, 0x2d, 0x79])
        );
        assert_eq!(m.vendor_class(), None);
        assert!(m.is_malformed());
        let e = m.options_error().unwrap();
        // Option 60 code at 240+3+9+9 = 261, its length at 262, value from 263.
        assert_eq!(
            (e.proto, e.offset, &e.kind),
            (Proto::Dhcp, 263, &ErrorKind::Truncated)
        );
        let codes: Vec<u8> = m.options().map(|o| o.code.0).collect();
        assert_eq!(codes, [53, 61, 12]);
        // The fuzzed `file` starts with NUL: tshark "Boot file name not given".
        assert_eq!(m.boot_file(), Some(&b""[..]));
    }

    #[test]
    fn bootp_asan_truncated_header_is_an_error() {
        // 48 bytes captured: the cut falls in `sname` (offset 44).
        let e = parse(BOOTP_ASAN).unwrap_err();
        assert_eq!(
            (e.proto, e.offset, e.kind),
            (Proto::Dhcp, 44, ErrorKind::Truncated)
        );
    }

    #[test]
    fn truncation_in_each_header_field() {
        let full = build(1, b"", b"", &[255]);
        for (len, offset) in [
            (0, 0),
            (3, 3),
            (7, 4),
            (11, 10),
            (27, 24),
            (43, 28),
            (100, 44),
            (200, 108),
        ] {
            let e = parse(full.get(..len).unwrap()).unwrap_err();
            assert_eq!(
                (e.offset, e.kind),
                (offset, ErrorKind::Truncated),
                "len {len}"
            );
        }
        // Exactly the header: BOOTP, no cookie, no options.
        let m = parse(full.get(..HEADER_LEN).unwrap()).unwrap();
        assert!(!m.has_cookie());
        assert_eq!(m.options().count(), 0);
    }

    #[test]
    fn bootp_without_cookie_has_no_options() {
        let mut m = build(2, b"tftp-host", b"boot.img", &[53, 1, 5, 255]);
        // Replace the cookie with RFC 951 vendor bytes.
        m.splice(236..240, [0, 0, 0, 0]);
        let msg = parse(&m).unwrap();
        assert!(!msg.has_cookie());
        assert_eq!(msg.message_type(), None);
        assert_eq!(msg.server_name(), Some(&b"tftp-host"[..]));
        assert_eq!(msg.boot_file(), Some(&b"boot.img"[..]));
        assert_eq!(msg.vendor.len(), 8);
    }

    #[test]
    fn nak_hand_built() {
        let m = build(
            2,
            b"",
            b"",
            &[
                53, 1, 6, // message type NAK
                54, 4, 10, 1, 1, 1, // server id
                56, 12, b'w', b'r', b'o', b'n', b'g', b' ', b'n', b'e', b't', b'w', b'o',
                b'k', // 56 message (not decoded)
                255,
            ],
        );
        let m = parse(&m).unwrap();
        assert_eq!(m.message_type(), Some(DhcpMessageType::NAK));
        assert_eq!(format!("{:?}", m.message_type().unwrap()), "NAK");
        assert_eq!(m.server_id(), Some(ip(10, 1, 1, 1)));
        assert!(m.broadcast());
        assert!(matches!(
            m.value(DhcpOptionCode(56)),
            Some(DhcpOptionValue::Other {
                code: DhcpOptionCode(56),
                ..
            })
        ));
    }

    #[test]
    fn option_66_and_150_addresses_hand_built() {
        let m = build(
            2,
            b"",
            b"",
            &[
                53, 1, 2, // OFFER
                66, 9, b'1', b'0', b'.', b'1', b'.', b'1', b'.', b'5', 0, // 66 "10.1.1.5\0"
                150, 8, 10, 1, 1, 5, 10, 1, 1, 6, // 150 [10.1.1.5, 10.1.1.6]
                255,
            ],
        );
        let m = parse(&m).unwrap();
        assert_eq!(m.tftp_server_name(), Some(&b"10.1.1.5"[..]));
        let l = m.tftp_servers().unwrap().addresses().unwrap();
        assert_eq!(l.to_vec(), [ip(10, 1, 1, 5), ip(10, 1, 1, 6)]);
    }

    #[test]
    fn option_150_typed_as_ascii_is_detected() {
        // 8 bytes "10.1.1.5": a multiple of 4 that would decode to 49.48.46.49, 46.49.46.53.
        let m = build(
            2,
            b"",
            b"",
            &[150, 8, b'1', b'0', b'.', b'1', b'.', b'1', b'.', b'5', 255],
        );
        let m = parse(&m).unwrap();
        assert_eq!(m.tftp_servers(), Some(Option150::AsciiString("10.1.1.5")));
        // 9 bytes "10.1.1.50": not a multiple of 4 either.
        assert_eq!(
            Option150::decode(b"10.1.1.50"),
            Option150::AsciiString("10.1.1.50")
        );
        assert_eq!(
            Option150::decode(b"10.1.1.5,10.1.1.6\0"),
            Option150::AsciiString("10.1.1.5,10.1.1.6")
        );
        // Wrong size, not text: malformed.
        assert_eq!(
            Option150::decode(&[10, 1, 1]),
            Option150::Malformed(&[10, 1, 1])
        );
        assert_eq!(Option150::decode(&[]), Option150::Malformed(&[]));
    }

    #[test]
    fn option_82_sub_options_hand_built() {
        let m = build(
            1,
            b"",
            b"",
            &[
                53, 1, 1, // DISCOVER
                82, 14, // relay agent information, 14 bytes:
                1, 6, b'G', b'i', b'0', b'/', b'1', b'2', // circuit id "Gi0/12"
                2, 4, 0xaa, 0xbb, 0xcc, 0xdd, // remote id
                255,
            ],
        );
        let m = parse(&m).unwrap();
        let r = m.relay_agent().unwrap();
        assert_eq!(r.circuit_id(), Some(&b"Gi0/12"[..]));
        assert_eq!(r.remote_id(), Some(&[0xaa, 0xbb, 0xcc, 0xdd][..]));
        assert_eq!(r.sub_options().count(), 2);
        assert_eq!(m.giaddr, ip(10, 1, 1, 1));
        // A sub-option running past the option is Malformed, not a relay agent.
        let bad = DhcpOption {
            code: DhcpOptionCode(82),
            data: &[1, 5, b'x'],
        };
        assert!(matches!(
            bad.value(),
            DhcpOptionValue::Malformed {
                code: DhcpOptionCode(82),
                ..
            }
        ));
    }

    #[test]
    fn overload_continues_into_file_then_sname() {
        let file = [
            150, 4, 10, 1, 1, 5, // 150 in `file`
            255,
        ];
        let sname = [
            0, 0, // pad
            66, 4, b't', b'f', b't', b'p', // 66 in `sname`
            255,
        ];
        let m = build(2, &sname, &file, &[53, 1, 5, 52, 1, 3, 255]);
        let m = parse(&m).unwrap();
        assert_eq!(m.overload(), Some(DhcpOverload::BOTH));
        let codes: Vec<u8> = m.options().map(|o| o.code.0).collect();
        assert_eq!(codes, [53, 52, 150, 66]);
        assert_eq!(m.tftp_server_name(), Some(&b"tftp"[..]));
        assert_eq!(m.server_name(), None);
        assert_eq!(m.boot_file(), None);
        // Overload of `file` only: `sname` stays a name.
        let m = build(2, b"srv", &file, &[52, 1, 1]);
        let m = parse(&m).unwrap();
        assert_eq!(m.overload(), Some(DhcpOverload::FILE));
        assert_eq!(m.server_name(), Some(&b"srv"[..]));
        assert!(m.tftp_servers().is_some());
    }

    #[test]
    fn broken_option_in_overloaded_file_reports_its_offset() {
        // `file` (offset 108): 127 pad bytes, then a code in its last byte.
        let mut file = vec![0; 127];
        file.push(66); // code at 108+127 = 235, no length byte
        let m = build(2, b"", &file, &[52, 1, 1, 255]);
        let m = parse(&m).unwrap();
        let e = m.options_error().unwrap();
        assert_eq!((e.offset, &e.kind), (236, &ErrorKind::Truncated));
        assert_eq!(m.options().count(), 1);
    }

    #[test]
    fn truncation_at_option_length_and_value() {
        // Code without length byte: the offset is the missing length (240 + 1).
        let b = build(1, b"", b"", &[53]);
        let m = parse(&b).unwrap();
        assert_eq!(
            m.options_error().map(|e| (e.offset, e.kind.clone())),
            Some((241, ErrorKind::Truncated))
        );
        // Length 4 with 2 bytes: the offset is the value (240 + 2).
        let b = build(1, b"", b"", &[50, 4, 10, 1]);
        let m = parse(&b).unwrap();
        assert_eq!(m.options_error().map(|e| e.offset), Some(242));
        assert_eq!(m.options().count(), 0);
        // No end option: the area simply ends, not an error.
        let b = build(1, b"", b"", &[53, 1, 3]);
        let m = parse(&b).unwrap();
        assert!(!m.is_malformed());
        assert_eq!(m.message_type(), Some(DhcpMessageType::REQUEST));
    }

    #[test]
    fn zero_length_and_wrong_size_options_are_malformed_and_walk_goes_on() {
        let m = build(
            1,
            b"",
            b"",
            &[
                12, 0, // host name, zero length
                53, 2, 1, 1, // message type with 2 bytes
                50, 3, 10, 1, 1, // requested IP with 3 bytes
                3, 0, // routers, zero length
                61, 1, 1, // client id, type only
                52, 1, 7, // overload, bad value
                224, 2, 0xde, 0xad, // unknown site-specific code
                54, 4, 10, 1, 1, 1, // server id, fine
                255,
            ],
        );
        let m = parse(&m).unwrap();
        assert!(!m.is_malformed());
        assert_eq!(m.host_name(), None);
        assert_eq!(
            m.value(DhcpOptionCode(12)),
            Some(DhcpOptionValue::Malformed {
                code: DhcpOptionCode(12),
                data: &[]
            })
        );
        assert_eq!(m.message_type(), None);
        assert_eq!(
            m.value(DhcpOptionCode(53)),
            Some(DhcpOptionValue::Malformed {
                code: DhcpOptionCode(53),
                data: &[1, 1]
            })
        );
        assert_eq!(m.requested_ip(), None);
        assert_eq!(m.routers(), None);
        assert_eq!(m.client_id(), None);
        assert_eq!(m.overload(), None);
        assert_eq!(
            m.value(DhcpOptionCode(224)),
            Some(DhcpOptionValue::Other {
                code: DhcpOptionCode(224),
                data: &[0xde, 0xad]
            })
        );
        assert_eq!(m.server_id(), Some(ip(10, 1, 1, 1)));
        assert_eq!(
            DhcpOption {
                code: DhcpOptionCode(224),
                data: &[]
            }
            .name(),
            None
        );
    }

    #[test]
    fn split_option_is_concatenated_rfc3396() {
        let m = build(
            2,
            b"",
            b"",
            &[150, 4, 10, 1, 1, 5, 53, 1, 5, 150, 4, 10, 1, 1, 6, 255],
        );
        let m = parse(&m).unwrap();
        assert_eq!(
            m.option_concat(DhcpOptionCode(150)).as_deref(),
            Some(&[10, 1, 1, 5, 10, 1, 1, 6][..])
        );
        assert!(matches!(
            m.option_concat(DhcpOptionCode(53)),
            Some(Cow::Borrowed(&[5]))
        ));
        assert_eq!(m.option_concat(DhcpOptionCode(66)), None);
        // The typed accessor reads the first instance.
        assert_eq!(
            m.tftp_servers()
                .and_then(|o| o.addresses())
                .map(|l| l.len()),
            Some(1)
        );
    }

    #[test]
    fn client_mac_needs_ethernet() {
        let mut m = build(1, b"", b"", &[255]);
        m.splice(1..3, [6, 6]); // htype IEEE 802
        assert_eq!(parse(&m).unwrap().client_mac(), None);
        assert_eq!(
            ClientId {
                kind: 0,
                id: &[1, 2, 3, 4, 5, 6]
            }
            .mac(),
            None
        );
    }

    #[test]
    fn names() {
        assert_eq!(DhcpMessageType::INFORM.name(), Some("Inform"));
        assert_eq!(DhcpMessageType::TLS.name(), Some("TLS"));
        assert_eq!(DhcpMessageType(0).name(), None);
        assert_eq!(format!("{:?}", DhcpOp::BOOT_REPLY), "Boot Reply");
        assert_eq!(DhcpOptionCode(150).name(), Some("TFTP Server Address"));
        assert_eq!(trim_nul(b"a\0\0"), b"a");
        assert_eq!(trim_nul(b"\0"), b"");
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            if let Ok(m) = parse(&data) {
                // The lazy walk and every accessor must hold up too.
                for o in m.options() {
                    let _ = o.value();
                }
                let _ = (m.message_type(), m.tftp_servers(), m.relay_agent(), m.client_id());
                let _ = m.option_concat(DhcpOptionCode(150));
            }
        }

        #[test]
        fn never_panics_with_cookie(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut data = build(2, &[], &[], &[]);
            data.extend_from_slice(&tail);
            let m = parse(&data).unwrap();
            let n = m.options().count();
            prop_assert!(n <= tail.len() + 128 + 64);
            let _ = (m.tftp_servers(), m.relay_agent(), m.overload(), m.options_error());
        }
    }
}
