//! Session Initiation Protocol (RFC 3261), as Cisco phones use it to register
//! with a call manager over UDP or TCP 5060. `parse` takes one UDP datagram;
//! `parse_stream` and `messages` cut SIP messages out of a reassembled TCP byte
//! stream (RFC 3261 §18.3: a message ends `Content-Length` bytes after the blank
//! line). Everything borrows the input: header values are `&str` slices of it.
//!
//! Quirks followed (Wireshark `packet-sip.c` does the same): bare LF line ends
//! are accepted besides CRLF; leading CRLFs (RFC 5626 keep-alive pings) are
//! skipped; a folded header line (leading SP/HT) continues the previous header,
//! and its value keeps the fold bytes (`"a\r\n b"`); header names match
//! case-insensitively and through their compact forms (`i` = Call-ID, `v` =
//! Via, …); a header line that is not `name: value` or not UTF-8 is kept aside
//! in [`SipMessage::malformed_headers`] and parsing goes on. On UDP a missing,
//! unreadable or too-large `Content-Length` is not fatal (the body is the rest
//! of the datagram and [`SipMessage::content_length_invalid`] is set; tshark's
//! "Invalid content_length"); on TCP it cannot be framed, so it is an error.
//! Cisco specifics: the Contact parameters `+u.sip!devicename.ccm.cisco.com` (or plain
//! `devicename`),
//! `+u.sip!model.ccm.cisco.com` and `+sip.instance` (whose UUID ends in the
//! phone's MAC), and the `cisco-alarm:` text of the `Reason` header.
//!
//! Writing: [`SipMessage::emit`] / [`SipMessage::buffer_len`] write a message
//! in canonical form (`name: value`, CRLF), headers in stored order;
//! [`SipMessage::from_parts`] builds one from a start line, `(name, value)`
//! pairs and a body.

use std::fmt;

use nom::bytes::streaming::{tag, take_till, take_till1, take_while1, take_while_m_n};
use nom::character::streaming::{char, digit1};
use nom::combinator::{opt, recognize};
use nom::Parser;

use crate::emit::{self, EmitError, Writer};
use crate::error::{error_at, fail, DissectError, ErrorKind, PErr, PResult, Proto};

/// Largest accepted head (start line, headers and the blank line) on a stream,
/// so that a reassembler never buffers a header block forever.
pub const MAX_HEAD_LEN: usize = 64 * 1024;
/// Largest accepted `Content-Length` on a stream (bodies of phone traffic are a few KiB).
pub const MAX_BODY_LEN: usize = 1024 * 1024;
/// Header lines kept per message (good and malformed together); more are counted, not kept.
pub const MAX_HEADERS: usize = 256;
/// Items kept per list: parameters of one value, Via or Contact values of one message.
pub const MAX_ITEMS: usize = 64;

/// A SIP method token (case-sensitive, RFC 3261 §7.1), with the common ones as consts.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipMethod<'a>(pub &'a str);

impl SipMethod<'static> {
    /// Register a contact with a registrar (RFC 3261).
    pub const REGISTER: Self = Self("REGISTER");
    /// Start a session (RFC 3261).
    pub const INVITE: Self = Self("INVITE");
    /// Acknowledge a final answer to INVITE (RFC 3261).
    pub const ACK: Self = Self("ACK");
    /// End a session (RFC 3261).
    pub const BYE: Self = Self("BYE");
    /// Cancel a pending request (RFC 3261).
    pub const CANCEL: Self = Self("CANCEL");
    /// Query capabilities; also a keep-alive (RFC 3261).
    pub const OPTIONS: Self = Self("OPTIONS");
    /// Event notification (RFC 6665).
    pub const NOTIFY: Self = Self("NOTIFY");
    /// Event subscription (RFC 6665).
    pub const SUBSCRIBE: Self = Self("SUBSCRIBE");
    /// Transfer / Cisco remotecc (RFC 3515).
    pub const REFER: Self = Self("REFER");
    /// Mid-session information (RFC 6086).
    pub const INFO: Self = Self("INFO");
    /// Session update (RFC 3311).
    pub const UPDATE: Self = Self("UPDATE");
    /// Provisional acknowledgement (RFC 3262).
    pub const PRACK: Self = Self("PRACK");
    /// Instant message (RFC 3428).
    pub const MESSAGE: Self = Self("MESSAGE");
    /// Event state publication (RFC 3903).
    pub const PUBLISH: Self = Self("PUBLISH");
}

/// The methods with a const, in the order above.
const KNOWN_METHODS: [&str; 14] = [
    "REGISTER",
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "NOTIFY",
    "SUBSCRIBE",
    "REFER",
    "INFO",
    "UPDATE",
    "PRACK",
    "MESSAGE",
    "PUBLISH",
];

impl<'a> SipMethod<'a> {
    /// The token as it appeared on the wire.
    pub fn as_str(self) -> &'a str {
        self.0
    }

    /// The method's name if it is one of the consts, `None` for an extension method.
    pub fn name(self) -> Option<&'static str> {
        KNOWN_METHODS.iter().copied().find(|m| *m == self.0)
    }
}

impl fmt::Debug for SipMethod<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "SipMethod({:?})", self.0),
        }
    }
}

impl fmt::Display for SipMethod<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The first line of a message: a request or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipStartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`.
    Request {
        /// The method token.
        method: SipMethod<'a>,
        /// The Request-URI, raw.
        uri: &'a str,
        /// `SIP/2.0` (any `SIP/d.d` is accepted).
        version: &'a str,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Response {
        /// `SIP/2.0` (any `SIP/d.d` is accepted).
        version: &'a str,
        /// Status code, 100..=699.
        code: u16,
        /// Reason phrase, possibly empty.
        reason: &'a str,
    },
}

/// One header as it appeared: name (maybe compact) and trimmed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipHeader<'a> {
    /// Header name as sent (`Call-ID`, `call-id` or `i`).
    pub name: &'a str,
    /// Value without surrounding whitespace; a folded value keeps its line breaks.
    pub value: &'a str,
}

/// Compact header forms (RFC 3261 §7.3.3 and later RFCs, IANA registry) and their long names.
const COMPACT_FORMS: [(u8, &str); 20] = [
    (b'a', "Accept-Contact"),
    (b'b', "Referred-By"),
    (b'c', "Content-Type"),
    (b'd', "Request-Disposition"),
    (b'e', "Content-Encoding"),
    (b'f', "From"),
    (b'i', "Call-ID"),
    (b'j', "Reject-Contact"),
    (b'k', "Supported"),
    (b'l', "Content-Length"),
    (b'm', "Contact"),
    (b'n', "Identity-Info"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b's', "Subject"),
    (b't', "To"),
    (b'u', "Allow-Events"),
    (b'v', "Via"),
    (b'x', "Session-Expires"),
    (b'y', "Identity"),
];

/// The long form of a header name: a compact letter is expanded, anything else returned as is.
fn long_name(name: &str) -> &str {
    match name.as_bytes() {
        [c] => COMPACT_FORMS
            .iter()
            .find(|(k, _)| *k == c.to_ascii_lowercase())
            .map_or(name, |(_, long)| long),
        _ => name,
    }
}

/// Whether two header names denote the same header (case-insensitive, compact forms expanded).
fn same_header(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || long_name(a).eq_ignore_ascii_case(long_name(b))
}

impl<'a> SipHeader<'a> {
    /// Whether this header is `name` (case-insensitive; `v` matches `Via` and back).
    pub fn is(&self, name: &str) -> bool {
        same_header(self.name, name)
    }

    /// The long name: `Call-ID` for `i`, otherwise the name as sent.
    pub fn canonical_name(&self) -> &'a str {
        long_name(self.name)
    }
}

/// One parameter: `name` or `name=value`, both trimmed, value raw (quotes kept).
pub type SipParam<'a> = (&'a str, Option<&'a str>);

/// The parts of a SIP/SIPS URI (RFC 3261 §19.1.1), borrowed; `tel:` and others keep `host` = rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sip`, `sips`, `tel`, …
    pub scheme: &'a str,
    /// The user part before `@`, password removed.
    pub user: Option<&'a str>,
    /// Host name or address (IPv6 references keep their brackets).
    pub host: &'a str,
    /// Port, when present and numeric.
    pub port: Option<u16>,
    /// URI parameters after the first `;` (raw, without the `;`), empty if none.
    pub params: &'a str,
}

impl<'a> SipUri<'a> {
    /// Split a URI into its parts; `None` without a `scheme:`.
    pub fn parse(uri: &'a str) -> Option<Self> {
        let (scheme, rest) = uri.split_once(':')?;
        let scheme_ok = !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return None;
        }
        // URI headers (`?h=v`) are not wanted; a user containing `@` must be escaped.
        let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
        let (user, hostpart) = match rest.split_once('@') {
            Some((userinfo, host)) => (
                Some(userinfo.split_once(':').map_or(userinfo, |(u, _)| u)),
                host,
            ),
            None => (None, rest),
        };
        let (hostport, params) = hostpart.split_once(';').unwrap_or((hostpart, ""));
        let (host, port) = host_port(hostport);
        Some(Self {
            scheme,
            user,
            host,
            port,
            params,
        })
    }
}

/// `host[:port]` with IPv6 references (`[::1]:5060`); an unreadable port is dropped.
fn host_port(s: &str) -> (&str, Option<u16>) {
    let s = lws_trim(s);
    let split = if s.starts_with('[') {
        s.find(']').and_then(|end| s.split_at_checked(end + 1))
    } else {
        s.rfind(':').and_then(|c| s.split_at_checked(c))
    };
    match split {
        Some((host, port)) => match port.strip_prefix(':') {
            Some(p) => (host, lws_trim(p).parse().ok()),
            None if port.is_empty() => (host, None),
            None => (s, None),
        },
        None => (s, None),
    }
}

/// A `name-addr` or `addr-spec` with parameters: From, To, Contact, Refer-To values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipNameAddr<'a> {
    /// Display name, quotes removed (tshark shows it quoted), `None` if absent or empty.
    pub display_name: Option<&'a str>,
    /// The URI, without angle brackets (`*` for `Contact: *`).
    pub uri: &'a str,
    /// Header parameters after the URI (`tag`, `expires`, `+sip.instance`, …).
    pub params: Vec<SipParam<'a>>,
}

impl<'a> SipNameAddr<'a> {
    /// Read one value; `None` if empty or without a URI.
    pub fn parse(value: &'a str) -> Option<Self> {
        let v = lws_trim(value);
        let (display_name, uri, params) = if let Some(quoted) = v.strip_prefix('"') {
            let end = closing_quote(quoted)?;
            let (name, rest) = quoted.split_at_checked(end)?;
            let rest = rest.get(1..)?;
            let (uri, params) = bracketed(rest)?;
            (Some(name), uri, params)
        } else {
            match v.find(['<', ';']) {
                Some(i) if v.as_bytes().get(i) == Some(&b'<') => {
                    let (name, rest) = v.split_at_checked(i)?;
                    let (uri, params) = bracketed(rest)?;
                    (Some(lws_trim(name)), uri, params)
                }
                // addr-spec: every `;` parameter belongs to the header (RFC 3261 §20.10).
                Some(i) => {
                    let (uri, params) = v.split_at_checked(i)?;
                    (None, lws_trim(uri), params.get(1..)?)
                }
                None => (None, v, ""),
            }
        };
        if uri.is_empty() {
            return None;
        }
        Some(Self {
            display_name: display_name.filter(|n| !n.is_empty()),
            uri,
            params: params_of(params),
        })
    }

    /// A parameter by name (case-insensitive): `Some(None)` when present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        find_param(&self.params, name)
    }

    /// A parameter's value with surrounding quotes removed.
    pub fn param_value(&self, name: &str) -> Option<&'a str> {
        self.param(name).flatten().map(unquote)
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&'a str> {
        self.param_value("tag")
    }

    /// The URI's parts.
    pub fn uri_parts(&self) -> Option<SipUri<'a>> {
        SipUri::parse(self.uri)
    }

    /// The URI's user part (`1034` in `<sip:1034@10.180.110.58>`).
    pub fn user(&self) -> Option<&'a str> {
        self.uri_parts().and_then(|u| u.user)
    }

    /// Cisco device name from `+u.sip!devicename.ccm.cisco.com="SEP…"` (Contact), or
    /// from the plain `devicename="SEP…"` parameter the call manager's trunk messages
    /// and some phones carry (any case: `DeviceName=`).
    pub fn device_name(&self) -> Option<&'a str> {
        self.param_value("+u.sip!devicename.ccm.cisco.com")
            .or_else(|| self.param_value("devicename"))
    }

    /// Cisco model code from `+u.sip!model.ccm.cisco.com="…"` (Contact; e.g. 36217 = CP-8811).
    pub fn model(&self) -> Option<&'a str> {
        self.param_value("+u.sip!model.ccm.cisco.com")
    }

    /// `+sip.instance` (RFC 5626), quotes removed: `<urn:uuid:…>`.
    pub fn instance(&self) -> Option<&'a str> {
        self.param_value("+sip.instance")
    }

    /// The MAC in a Cisco-style instance `<urn:uuid:00000000-0000-0000-0000-<12 hex>>`;
    /// `None` for any other UUID (the first 20 digits must be zero).
    pub fn instance_mac(&self) -> Option<[u8; 6]> {
        let inst = self.instance()?;
        let inst = inst.strip_prefix('<').unwrap_or(inst);
        let inst = inst.strip_suffix('>').unwrap_or(inst);
        let (scheme, uuid) = inst.split_at_checked(9)?;
        if !scheme.eq_ignore_ascii_case("urn:uuid:") {
            return None;
        }
        let (zeros, mac) = uuid.rsplit_once('-')?;
        if zeros != "00000000-0000-0000-0000" {
            return None;
        }
        hex6(mac)
    }

    /// The `expires` parameter (Contact), in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.param_value("expires").and_then(decimal_u32)
    }
}

/// Twelve hex digits as six bytes.
fn hex6(s: &str) -> Option<[u8; 6]> {
    let b = s.as_bytes();
    if b.len() != 12 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        let hex = |c: u8| {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        *o = (hex(*hi)? << 4) | hex(*lo)?;
    }
    Some(out)
}

/// One Via value (RFC 3261 §20.42): `SIP/2.0/UDP host:port;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipVia<'a> {
    /// The sent-protocol, raw (`SIP/2.0/UDP`).
    pub protocol: &'a str,
    /// Its last part: `UDP`, `TCP`, `TLS`, `WS`, …
    pub transport: &'a str,
    /// sent-by host.
    pub host: &'a str,
    /// sent-by port, when present.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`, …).
    pub params: Vec<SipParam<'a>>,
}

impl<'a> SipVia<'a> {
    /// Read one Via value; `None` without both a protocol and a sent-by.
    pub fn parse(value: &'a str) -> Option<Self> {
        let (head, params) = value.split_once(';').unwrap_or((value, ""));
        let (protocol, sent_by) = lws_trim(head).rsplit_once([' ', '\t', '\r', '\n'])?;
        let protocol = lws_trim(protocol);
        let transport = lws_trim(protocol.rsplit('/').next().unwrap_or(protocol));
        let (host, port) = host_port(sent_by);
        if protocol.is_empty() || host.is_empty() {
            return None;
        }
        Some(Self {
            protocol,
            transport,
            host,
            port,
            params: params_of(params),
        })
    }

    /// A parameter by name (case-insensitive): `Some(None)` when present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        find_param(&self.params, name)
    }

    /// The transaction `branch` (`z9hG4bK…`).
    pub fn branch(&self) -> Option<&'a str> {
        self.param("branch").flatten()
    }

    /// `received`: the source address the next hop saw.
    pub fn received(&self) -> Option<&'a str> {
        self.param("received").flatten()
    }

    /// `rport` (RFC 3581): `Some(None)` when requested, `Some(Some(port))` when filled in.
    pub fn rport(&self) -> Option<Option<&'a str>> {
        self.param("rport")
    }
}

/// An authentication challenge (`WWW-Authenticate` / `Proxy-Authenticate`) or the
/// credentials answering it (`Authorization` / `Proxy-Authorization`): same syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipChallenge<'a> {
    /// The scheme (`Digest`).
    pub scheme: &'a str,
    /// The realm, quotes removed (tshark shows it quoted).
    pub realm: Option<&'a str>,
    /// The comma-separated auth-params, raw.
    pub params: &'a str,
}

impl<'a> SipChallenge<'a> {
    /// Read one challenge value; `None` if empty.
    pub fn parse(value: &'a str) -> Option<Self> {
        let v = lws_trim(value);
        let (scheme, params) = match v.find([' ', '\t', '\r', '\n']) {
            Some(i) => v.split_at_checked(i)?,
            None => (v, ""),
        };
        if scheme.is_empty() {
            return None;
        }
        let params = lws_trim(params);
        let realm = auth_param(params, "realm");
        Some(Self {
            scheme,
            realm,
            params,
        })
    }

    /// An auth-param by name (case-insensitive), quotes removed.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        auth_param(self.params, name)
    }
}

/// A `name=value` from a comma-separated auth-param list.
fn auth_param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    SplitOutside::new(params, b',').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        lws_trim(k)
            .eq_ignore_ascii_case(name)
            .then(|| unquote(lws_trim(v)))
    })
}

/// The `cisco-alarm:` text a Cisco phone puts in `Reason` after a restart, e.g.
/// `cisco-alarm:14 Name=SEP… Load=… Last=cm-closed-tcp` (the previous failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipCiscoAlarm<'a> {
    /// The whole text, quotes removed, starting with `cisco-alarm:`.
    pub text: &'a str,
}

impl<'a> SipCiscoAlarm<'a> {
    /// The alarm number after `cisco-alarm:`.
    pub fn code(&self) -> Option<u32> {
        let rest = self.text.get("cisco-alarm:".len()..)?;
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest.get(..end).and_then(decimal_u32)
    }

    /// A `Key=value` field (key case-insensitive); the value runs to the next `Key=` word,
    /// so `Last=Load Rejected HC` is read whole.
    pub fn field(&self, key: &str) -> Option<&'a str> {
        let mut found: Option<usize> = None;
        for (at, word) in words(self.text) {
            let Some((k, _)) = word.split_once('=') else {
                continue;
            };
            let is_key = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !is_key {
                continue;
            }
            if let Some(start) = found {
                return self.text.get(start..at).map(str::trim_end);
            }
            if k.eq_ignore_ascii_case(key) {
                found = Some(at + k.len() + 1);
            }
        }
        found
            .and_then(|start| self.text.get(start..))
            .map(str::trim_end)
    }

    /// The `Name=` field: the phone's device name.
    pub fn name(&self) -> Option<&'a str> {
        self.field("Name")
    }

    /// The `Last=` field: why the previous registration ended.
    pub fn last(&self) -> Option<&'a str> {
        self.field("Last")
    }
}

/// Space-separated words with their byte offsets.
fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0usize;
    s.split(' ').map(move |w| {
        let start = at;
        at = at.saturating_add(w.len() + 1);
        (start, w)
    })
}

/// One dissected SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage<'a> {
    /// Request or status line.
    pub start: SipStartLine<'a>,
    /// Headers in wire order (at most [`MAX_HEADERS`] with `malformed_headers`).
    pub headers: Vec<SipHeader<'a>>,
    /// Header lines that are not `token: value` or not UTF-8, raw.
    pub malformed_headers: Vec<&'a [u8]>,
    /// Header lines beyond [`MAX_HEADERS`], counted but not kept.
    pub dropped_headers: usize,
    /// The body: `Content-Length` bytes after the blank line (UDP: the rest if that is unusable).
    pub body: &'a [u8],
    /// `Content-Length` is unreadable, conflicting or larger than the datagram (UDP only).
    pub content_length_invalid: bool,
    /// `false` when the datagram ended before the blank line closing the headers (UDP only).
    pub head_complete: bool,
}

impl<'a> SipMessage<'a> {
    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, SipStartLine::Request { .. })
    }

    /// The request method.
    pub fn method(&self) -> Option<SipMethod<'a>> {
        match self.start {
            SipStartLine::Request { method, .. } => Some(method),
            SipStartLine::Response { .. } => None,
        }
    }

    /// The Request-URI.
    pub fn request_uri(&self) -> Option<&'a str> {
        match self.start {
            SipStartLine::Request { uri, .. } => Some(uri),
            SipStartLine::Response { .. } => None,
        }
    }

    /// The response status code.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            SipStartLine::Response { code, .. } => Some(code),
            SipStartLine::Request { .. } => None,
        }
    }

    /// The response reason phrase.
    pub fn reason_phrase(&self) -> Option<&'a str> {
        match self.start {
            SipStartLine::Response { reason, .. } => Some(reason),
            SipStartLine::Request { .. } => None,
        }
    }

    /// The first value of header `name` (case-insensitive, compact forms understood).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|h| h.is(name)).map(|h| h.value)
    }

    /// Every value of header `name`, one per header line, in order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |h| h.is(name))
            .map(|h| h.value)
    }

    /// Every comma-separated item of header `name` across its lines (quotes and `<>` respected).
    fn list_items<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.header_values(name)
            .flat_map(|v| SplitOutside::new(v, b','))
            .map(lws_trim)
            .filter(|v| !v.is_empty())
            .take(MAX_ITEMS)
    }

    /// `Call-ID`.
    pub fn call_id(&self) -> Option<&'a str> {
        self.header("Call-ID")
    }

    /// `CSeq`: sequence number and method.
    pub fn cseq(&self) -> Option<(u32, SipMethod<'a>)> {
        let mut parts = self.header("CSeq")?.split_ascii_whitespace();
        let seq = decimal_u32(parts.next()?)?;
        let method = parts.next()?;
        method
            .bytes()
            .all(is_token)
            .then_some((seq, SipMethod(method)))
    }

    /// `From`.
    pub fn from(&self) -> Option<SipNameAddr<'a>> {
        self.header("From").and_then(SipNameAddr::parse)
    }

    /// `To`.
    pub fn to(&self) -> Option<SipNameAddr<'a>> {
        self.header("To").and_then(SipNameAddr::parse)
    }

    /// Every Via value, topmost (the sender's) first.
    pub fn via(&self) -> Vec<SipVia<'a>> {
        self.list_items("Via").filter_map(SipVia::parse).collect()
    }

    /// Every Contact value (`Contact: *` gives one with URI `*`).
    pub fn contact(&self) -> Vec<SipNameAddr<'a>> {
        self.list_items("Contact")
            .filter_map(SipNameAddr::parse)
            .collect()
    }

    /// The Cisco device name of the first Contact carrying one.
    pub fn device_name(&self) -> Option<&'a str> {
        self.list_items("Contact")
            .filter_map(SipNameAddr::parse)
            .find_map(|c| c.device_name())
    }

    /// `Expires` in seconds (the obsolete SIP-date form gives `None`).
    pub fn expires(&self) -> Option<u32> {
        self.header("Expires").and_then(decimal_u32)
    }

    /// `User-Agent` (may be empty).
    pub fn user_agent(&self) -> Option<&'a str> {
        self.header("User-Agent")
    }

    /// `Server`.
    pub fn server(&self) -> Option<&'a str> {
        self.header("Server")
    }

    /// `Reason` (RFC 3326), raw.
    pub fn reason(&self) -> Option<&'a str> {
        self.header("Reason")
    }

    /// The `cisco-alarm:` text of a `Reason` header's `text` parameter.
    pub fn cisco_alarm(&self) -> Option<SipCiscoAlarm<'a>> {
        self.list_items("Reason").find_map(|item| {
            let (_, params) = item.split_once(';')?;
            let text = find_param(&params_of(params), "text")
                .flatten()
                .map(unquote)?;
            let prefix = text.get(.."cisco-alarm:".len())?;
            prefix
                .eq_ignore_ascii_case("cisco-alarm:")
                .then_some(SipCiscoAlarm { text })
        })
    }

    /// `WWW-Authenticate` (401): scheme and realm.
    pub fn www_authenticate(&self) -> Option<SipChallenge<'a>> {
        self.header("WWW-Authenticate")
            .and_then(SipChallenge::parse)
    }

    /// `Proxy-Authenticate` (407): scheme and realm.
    pub fn proxy_authenticate(&self) -> Option<SipChallenge<'a>> {
        self.header("Proxy-Authenticate")
            .and_then(SipChallenge::parse)
    }

    /// `Authorization` (a request answering a 401): scheme and realm of the credentials.
    pub fn authorization(&self) -> Option<SipChallenge<'a>> {
        self.header("Authorization").and_then(SipChallenge::parse)
    }

    /// `Proxy-Authorization` (a request answering a 407): scheme and realm.
    pub fn proxy_authorization(&self) -> Option<SipChallenge<'a>> {
        self.header("Proxy-Authorization")
            .and_then(SipChallenge::parse)
    }

    /// `Content-Length`, if present and readable (see `content_length_invalid`).
    pub fn content_length(&self) -> Option<usize> {
        if self.content_length_invalid {
            return None;
        }
        let v = self.header("Content-Length")?;
        usize::try_from(decimal(v.as_bytes())?).ok()
    }

    /// `Content-Type`, raw (`application/sdp`).
    pub fn content_type(&self) -> Option<&'a str> {
        self.header("Content-Type")
    }
}

/// Dissect one SIP message carried in one UDP datagram. Leading CRLFs are skipped;
/// the body is what follows the blank line, cut to `Content-Length` when that fits.
///
/// # Errors
/// The first line is not a SIP request or status line (`Malformed`, or `BadValue`
/// for a status code outside 100..=699; found within the first line, so binary
/// data fails fast); the datagram ends inside the first line (`Truncated`); the
/// datagram holds only CRLF keep-alives (`Malformed`, see [`is_keepalive`]).
pub fn parse(input: &[u8]) -> Result<SipMessage<'_>, DissectError> {
    dissect(input, Mode::Datagram).map(|(msg, _end)| msg)
}

/// Cut one SIP message off the front of a TCP byte stream; returns it and the rest.
/// Leading CRLF keep-alives (RFC 5626 `\r\n\r\n` pings) are skipped.
///
/// # Errors
/// `NeedMore(n)` (offset = input length) when the header block is not complete
/// yet (`n` = 1) or the body is `n` bytes short of `Content-Length`; `TooLong`
/// when the header block exceeds [`MAX_HEAD_LEN`] or `Content-Length` exceeds
/// [`MAX_BODY_LEN`]; `Malformed` for an unreadable or conflicting `Content-Length`
/// and for a first line that is not SIP (e.g. a continuation segment), found on
/// the first line; `BadValue` for a status code outside 100..=699.
pub fn parse_stream(input: &[u8]) -> Result<(SipMessage<'_>, &[u8]), DissectError> {
    let (msg, end) = dissect(input, Mode::Stream)?;
    Ok((msg, input.get(end..).unwrap_or_default()))
}

/// Iterate over every complete message of a TCP buffer (several may share a segment).
/// After the loop, [`SipMessages::error`] tells why it stopped (`NeedMore` for a
/// trailing partial message) and [`SipMessages::remainder`] what is left to keep.
pub fn messages(input: &[u8]) -> SipMessages<'_> {
    SipMessages {
        input,
        pos: 0,
        stop: None,
    }
}

/// Whether a payload is only CRLF keep-alives (RFC 5626 ping `\r\n\r\n`, pong `\r\n`).
pub fn is_keepalive(input: &[u8]) -> bool {
    !input.is_empty() && crlf_prefix(input) == input.len()
}

/// Iterator over the complete messages of a TCP buffer; see [`messages`].
#[derive(Debug, Clone)]
pub struct SipMessages<'a> {
    input: &'a [u8],
    pos: usize,
    stop: Option<DissectError>,
}

impl<'a> SipMessages<'a> {
    /// Bytes consumed so far: messages and the keep-alives between them.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// The bytes not consumed: a partial message to keep for the next segment, or junk.
    pub fn remainder(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    /// Why iteration stopped early: `NeedMore` for a partial message, another kind
    /// for bytes that are not SIP (offsets count from the start of the whole buffer).
    pub fn error(&self) -> Option<&DissectError> {
        self.stop.as_ref()
    }

    /// How many more bytes the trailing partial message needs, at least.
    pub fn need_more(&self) -> Option<usize> {
        match self.stop {
            Some(DissectError {
                kind: ErrorKind::NeedMore(n),
                ..
            }) => Some(n),
            _ => None,
        }
    }
}

impl<'a> Iterator for SipMessages<'a> {
    type Item = SipMessage<'a>;

    fn next(&mut self) -> Option<SipMessage<'a>> {
        if self.stop.is_some() {
            return None;
        }
        let rest = self.input.get(self.pos..)?;
        let skip = crlf_prefix(rest);
        if skip == rest.len() {
            // Only keep-alives (or nothing) left: consume them, the buffer is done.
            self.pos = self.input.len();
            return None;
        }
        match dissect(rest, Mode::Stream) {
            Ok((msg, end)) => {
                // A message has a non-empty start line, so `end > 0` and the loop advances.
                self.pos = self.pos.saturating_add(end.max(1));
                Some(msg)
            }
            Err(mut e) => {
                e.offset = e.offset.saturating_add(self.pos);
                self.pos = self.pos.saturating_add(skip);
                self.stop = Some(e);
                None
            }
        }
    }
}

impl std::iter::FusedIterator for SipMessages<'_> {}

/// How the end of a message is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// UDP: the datagram is the message; framing problems are flagged, not fatal.
    Datagram,
    /// TCP: `Content-Length` frames the body; an incomplete message is `NeedMore`.
    Stream,
}

/// What the `Content-Length` headers of a head say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentLength {
    /// No such header.
    Absent,
    /// Every such header agrees on this value.
    Valid(u64),
    /// Unreadable or conflicting; `at` = offset of the offending value in the message.
    Invalid { at: usize },
}

/// Dissect one message at the front of `input`; returns it and where it ends.
fn dissect(input: &[u8], mode: Mode) -> Result<(SipMessage<'_>, usize), DissectError> {
    let skip = crlf_prefix(input);
    let msg = input.get(skip..).unwrap_or_default();
    // Errors are reported as offsets from the start of `input`.
    let err_at = |off: usize, kind| DissectError {
        proto: Proto::Sip,
        offset: skip.saturating_add(off),
        kind,
    };
    let need_more = |n: usize| DissectError {
        proto: Proto::Sip,
        offset: input.len(),
        kind: ErrorKind::NeedMore(n),
    };
    if msg.is_empty() {
        return match mode {
            Mode::Stream => Err(need_more(1)),
            Mode::Datagram if input.is_empty() => Err(err_at(0, ErrorKind::Truncated)),
            Mode::Datagram => Err(err_at(0, ErrorKind::Malformed("CRLF keep-alive only"))),
        };
    }
    // On a stream, never look past the head cap, so junk without newlines fails fast.
    let window = match mode {
        Mode::Stream => msg.get(..MAX_HEAD_LEN).unwrap_or(msg),
        Mode::Datagram => msg,
    };
    let too_long = || {
        err_at(
            0,
            ErrorKind::TooLong {
                len: msg.len(),
                max: MAX_HEAD_LEN,
            },
        )
    };

    let (after_start, start) = match start_line(window) {
        Ok(ok) => ok,
        Err(nom::Err::Incomplete(_)) => {
            return Err(match mode {
                Mode::Stream if window.len() >= MAX_HEAD_LEN => too_long(),
                Mode::Stream => need_more(1),
                Mode::Datagram => error_at(Proto::Sip, input, &[], ErrorKind::Truncated),
            })
        }
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            // nom's own kinds say little; name the problem instead.
            let kind = match e.kind {
                ErrorKind::Malformed("unexpected bytes" | "framing" | "value failed a check")
                | ErrorKind::Truncated => ErrorKind::Malformed("not a SIP request or status line"),
                k => k,
            };
            return Err(err_at(window.len().saturating_sub(e.input.len()), kind));
        }
    };
    let head_start = window.len().saturating_sub(after_start.len());

    // Find the blank line: `head_end` is where it starts, `body_start` where it ends.
    let (head_end, body_start, head_complete) = match blank_line(window, head_start) {
        Some((end, body)) => (end, body, true),
        None => match mode {
            Mode::Stream if window.len() >= MAX_HEAD_LEN => return Err(too_long()),
            Mode::Stream => return Err(need_more(1)),
            Mode::Datagram => (window.len(), window.len(), false),
        },
    };

    let head = Head::read(msg, head_start, head_end);
    let avail = msg.get(body_start..).unwrap_or_default();
    let (body, content_length_invalid, end) = match (mode, head.content_length) {
        (Mode::Datagram, ContentLength::Valid(n)) => {
            match usize::try_from(n).ok().and_then(|n| avail.get(..n)) {
                Some(body) => (body, false, input.len()),
                // RFC 3261 §18.3 says discard; tshark flags it and keeps the rest.
                None => (avail, true, input.len()),
            }
        }
        (Mode::Datagram, ContentLength::Absent) => (avail, false, input.len()),
        (Mode::Datagram, ContentLength::Invalid { .. }) => (avail, true, input.len()),
        (Mode::Stream, ContentLength::Invalid { at }) => {
            return Err(err_at(
                at,
                ErrorKind::Malformed("unreadable Content-Length"),
            ))
        }
        (Mode::Stream, cl) => {
            // RFC 3261 §18.3 makes Content-Length mandatory on streams; absent reads as 0.
            let n = match cl {
                ContentLength::Valid(n) => n,
                _ => 0,
            };
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > MAX_BODY_LEN {
                return Err(err_at(
                    0,
                    ErrorKind::TooLong {
                        len: n,
                        max: MAX_BODY_LEN,
                    },
                ));
            }
            match avail.get(..n) {
                Some(body) => (body, false, skip + body_start + n),
                None => return Err(need_more(n.saturating_sub(avail.len()).max(1))),
            }
        }
    };
    Ok((
        SipMessage {
            start,
            headers: head.headers,
            malformed_headers: head.malformed,
            dropped_headers: head.dropped,
            body,
            content_length_invalid,
            head_complete,
        },
        end,
    ))
}

/// Number of leading CR and LF bytes (keep-alives before a message, RFC 3261 §7.5).
fn crlf_prefix(input: &[u8]) -> usize {
    input
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// From `from` (the start of a header line), find the empty line ending the head:
/// `(start of the empty line, first byte after it)`, or `None` if `buf` ends first.
fn blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    loop {
        let rest = buf.get(pos..)?;
        let nl = memchr::memchr(b'\n', rest)?;
        let line = rest.get(..nl)?;
        if line.is_empty() || line == b"\r" {
            return Some((pos, pos + nl + 1));
        }
        pos += nl + 1;
    }
}

/// The header lines of a head, read.
struct Head<'a> {
    headers: Vec<SipHeader<'a>>,
    malformed: Vec<&'a [u8]>,
    dropped: usize,
    content_length: ContentLength,
}

impl<'a> Head<'a> {
    /// Read the header lines of `msg[start..end]` (each ends with LF, except
    /// perhaps the last of a cut datagram), joining folded lines.
    fn read(msg: &'a [u8], start: usize, end: usize) -> Self {
        let mut head = Head {
            // A phone's REGISTER carries a dozen headers: one allocation, not four.
            headers: Vec::with_capacity(16),
            malformed: Vec::new(),
            dropped: 0,
            content_length: ContentLength::Absent,
        };
        // The header being read: offsets of its first byte and of the end of its last line.
        let mut current: Option<(usize, usize)> = None;
        let mut pos = start;
        while pos < end {
            let rest = msg.get(pos..end).unwrap_or_default();
            let (len, advance) = match memchr::memchr(b'\n', rest) {
                Some(n) => (n, n + 1),
                None => (rest.len(), rest.len()),
            };
            let line = rest.get(..len).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line_end = pos + line.len();
            match (line.first(), current.as_mut()) {
                // A line starting with whitespace continues the header above (RFC 3261 §7.3.1).
                (Some(b' ' | b'\t'), Some((_, cur_end))) => *cur_end = line_end,
                (Some(b' ' | b'\t'), None) => head.keep_malformed(line),
                _ => {
                    if let Some((s, e)) = current.replace((pos, line_end)) {
                        head.header(msg, s, e);
                    }
                }
            }
            // `advance` >= 1: `rest` is not empty while `pos < end`.
            pos += advance.max(1);
        }
        if let Some((s, e)) = current {
            head.header(msg, s, e);
        }
        head
    }

    /// Keep a malformed line, or count it past the cap.
    fn keep_malformed(&mut self, raw: &'a [u8]) {
        if self.headers.len() + self.malformed.len() < MAX_HEADERS {
            self.malformed.push(raw);
        } else {
            self.dropped += 1;
        }
    }

    /// Read one (possibly folded) header `msg[s..e]`.
    fn header(&mut self, msg: &'a [u8], s: usize, e: usize) {
        let raw = msg.get(s..e).unwrap_or_default();
        let Some(colon) = memchr::memchr(b':', raw) else {
            return self.keep_malformed(raw);
        };
        let (name, value) = raw.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        // `HCOLON = *( SP / HTAB ) ":" SWS`: whitespace may precede the colon.
        let name = trim_bytes(name);
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return self.keep_malformed(raw);
        }
        let value_trimmed = trim_bytes(value);
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            // Framing needs it even when the line is past the cap or not UTF-8.
            let value_at = e.saturating_sub(value.len());
            self.content_length = match (self.content_length, decimal(value_trimmed)) {
                (ContentLength::Absent, Some(n)) => ContentLength::Valid(n),
                (ContentLength::Valid(a), Some(b)) if a == b => ContentLength::Valid(a),
                (ContentLength::Invalid { at }, _) => ContentLength::Invalid { at },
                _ => ContentLength::Invalid { at: value_at },
            };
        }
        if self.headers.len() + self.malformed.len() >= MAX_HEADERS {
            self.dropped += 1;
            return;
        }
        match (
            std::str::from_utf8(name),
            std::str::from_utf8(value_trimmed),
        ) {
            (Ok(name), Ok(value)) => self.headers.push(SipHeader { name, value }),
            _ => self.malformed.push(raw),
        }
    }
}

/// RFC 3261 `token` characters (method names, header names): a table, as every
/// byte of every header name is asked.
fn is_token(b: u8) -> bool {
    TOKEN.get(usize::from(b)).copied().unwrap_or(false)
}

/// [`is_token`] by byte value, built from the grammar's list at compile time.
// Indexed in a const block: an index out of range would fail the build, not a run.
#[allow(clippy::indexing_slicing)]
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        b += 1;
    }
    t
};

/// Linear whitespace: SP, HT and the CR LF of folded lines.
fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without leading and trailing linear whitespace.
fn lws_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// Bytes without leading and trailing linear whitespace.
fn trim_bytes(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if !is_lws(*first) {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !is_lws(*last) {
            break;
        }
        b = rest;
    }
    b
}

/// A decimal number (whitespace around allowed); `None` if empty, not digits, or above u64.
fn decimal(b: &[u8]) -> Option<u64> {
    let b = trim_bytes(b);
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// [`decimal`] for a `&str`, fitting a u32.
fn decimal_u32(s: &str) -> Option<u32> {
    decimal(s.as_bytes()).and_then(|n| u32::try_from(n).ok())
}

/// `"x"` → `x`; anything else unchanged (escapes are left in place: no allocation).
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Offset of the quote closing a quoted string whose opening quote was just consumed.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// `<uri>params` (leading whitespace allowed) → (uri, params after the first `;`).
fn bracketed(s: &str) -> Option<(&str, &str)> {
    let s = lws_trim(s).strip_prefix('<')?;
    let (uri, rest) = s.split_once('>')?;
    let rest = lws_trim(rest);
    Some((lws_trim(uri), rest.strip_prefix(';').unwrap_or(rest)))
}

/// Parse `a=1;b;c="x;y"` into at most [`MAX_ITEMS`] parameters.
fn params_of(s: &str) -> Vec<SipParam<'_>> {
    SplitOutside::new(s, b';')
        .map(lws_trim)
        .filter(|p| !p.is_empty())
        .take(MAX_ITEMS)
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (lws_trim(k), Some(lws_trim(v))),
            None => (p, None),
        })
        .collect()
}

/// A parameter by name, case-insensitive (RFC 3261 §7.3.1).
fn find_param<'a>(params: &[SipParam<'a>], name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// Split at a separator byte that is outside double quotes and `<…>`.
struct SplitOutside<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> SplitOutside<'a> {
    fn new(s: &'a str, sep: u8) -> Self {
        Self { rest: Some(s), sep }
    }
}

impl<'a> Iterator for SplitOutside<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let b = s.as_bytes();
        let (mut at, mut angle) = (0, false);
        // Only `"`, `<`, `>` and the separator change anything: jump from one to the
        // next (a Cisco Contact runs to hundreds of bytes).
        loop {
            let rest = b.get(at..).unwrap_or_default();
            let found = if angle {
                memchr::memchr2(b'"', b'>', rest)
            } else {
                memchr::memchr3(b'"', b'<', self.sep, rest)
            };
            let Some(i) = found.map(|off| at + off) else {
                break;
            };
            match b.get(i) {
                Some(b'"') => at = after_quoted(b, i + 1),
                Some(b'<') => (angle, at) = (true, i + 1),
                Some(b'>') => (angle, at) = (false, i + 1),
                _ => {
                    // `sep` is ASCII, so `i` and `i + 1` are char boundaries.
                    self.rest = s.get(i + 1..);
                    return s.get(..i);
                }
            }
        }
        self.rest = None;
        Some(s)
    }
}

/// Where a quoted string that opened before `from` ends: just past its closing quote
/// (a backslash escapes the next byte), or the end of `b`.
fn after_quoted(b: &[u8], mut from: usize) -> usize {
    loop {
        let rest = b.get(from..).unwrap_or_default();
        match memchr::memchr2(b'"', b'\\', rest) {
            None => return b.len(),
            Some(off) if rest.get(off) == Some(&b'\\') => from = (from + off + 2).min(b.len()),
            Some(off) => return from + off + 1,
        }
    }
}

/// The request or status line, with its line end. Streaming parsers: a first line
/// that is still plausible but not finished is `Incomplete`; the first byte that
/// cannot belong to a SIP start line is an `Error`, so non-SIP input fails fast.
fn start_line(i: &[u8]) -> PResult<'_, SipStartLine<'_>> {
    // "SIP/" starts a status line; a method token cannot contain '/'.
    if b"SIP/".iter().zip(i).all(|(a, b)| a == b) {
        status_line(i)
    } else {
        request_line(i)
    }
}

/// `SIP/2.0 503 Service Unavailable CRLF`.
fn status_line(input: &[u8]) -> PResult<'_, SipStartLine<'_>> {
    let (i, version) = version(input)?;
    let (i, _) = char(' ').parse(i)?;
    let code_at = i;
    let (i, code) = take_while_m_n(3, 3, |b: u8| b.is_ascii_digit()).parse(i)?;
    let reason_at = i;
    let (i, reason) = take_till(|b: u8| b == b'\r' || b == b'\n').parse(i)?;
    let reason = match reason {
        [] => reason,
        [b' ', rest @ ..] => rest,
        _ => {
            return fail(
                reason_at,
                ErrorKind::Malformed("status code without a space"),
            )
        }
    };
    if reason
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return fail(
            reason_at,
            ErrorKind::Malformed("control byte in reason phrase"),
        );
    }
    let (i, _) = line_end(i)?;
    let code = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    if !(100..=699).contains(&code) {
        return fail(
            code_at,
            ErrorKind::BadValue {
                field: "status code",
                value: code.into(),
            },
        );
    }
    let reason = utf8(reason_at, reason)?;
    Ok((
        i,
        SipStartLine::Response {
            version,
            code,
            reason,
        },
    ))
}

/// `REGISTER sip:10.180.110.58 SIP/2.0 CRLF`.
fn request_line(input: &[u8]) -> PResult<'_, SipStartLine<'_>> {
    let (i, method) = take_while1(is_token).parse(input)?;
    let (i, _) = char(' ').parse(i)?;
    let uri_at = i;
    let (i, uri) = take_till1(|b: u8| b <= b' ' || b == 0x7f).parse(i)?;
    let (i, _) = char(' ').parse(i)?;
    let (i, version) = version(i)?;
    let (i, _) = line_end(i)?;
    Ok((
        i,
        SipStartLine::Request {
            method: SipMethod(utf8(input, method)?),
            uri: utf8(uri_at, uri)?,
            version,
        },
    ))
}

/// `SIP/` DIGITS `.` DIGITS.
fn version(i: &[u8]) -> PResult<'_, &str> {
    let (rest, v) = recognize((tag(&b"SIP/"[..]), digit1, char('.'), digit1)).parse(i)?;
    Ok((rest, utf8(i, v)?))
}

/// CRLF, or a bare LF (accepted, as Wireshark does).
fn line_end(i: &[u8]) -> PResult<'_, ()> {
    let (i, _) = (opt(char('\r')), char('\n')).parse(i)?;
    Ok((i, ()))
}

/// Bytes as `&str`, or a `Malformed` error at `at`.
fn utf8<'a>(at: &'a [u8], bytes: &'a [u8]) -> Result<&'a str, nom::Err<PErr<'a>>> {
    std::str::from_utf8(bytes).map_err(|_| {
        nom::Err::Error(PErr {
            input: at,
            kind: ErrorKind::Malformed("start line not UTF-8"),
        })
    })
}

// ---- emitter ----

/// An [`EmitError::Unrepresentable`] of this dissector.
fn unrepresentable(field: &'static str, reason: &'static str) -> EmitError {
    emit::unrepresentable(Proto::Sip, field, reason)
}

/// `SIP/` DIGITS `.` DIGITS, as [`version`] reads it.
fn is_sip_version(v: &str) -> bool {
    let Some((major, minor)) = v.strip_prefix("SIP/").and_then(|d| d.split_once('.')) else {
        return false;
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// Every LF is followed by SP or HT (a fold), so no new line starts inside.
fn only_folded_breaks(b: &[u8]) -> bool {
    b.windows(2)
        .all(|w| !matches!(w, [b'\n', next] if *next != b' ' && *next != b'\t'))
        && b.last() != Some(&b'\n')
}

impl<'a> SipMessage<'a> {
    /// A message to emit, built without parsing: `headers` are `(name, value)`
    /// pairs in wire order, no malformed or dropped lines, the head complete and
    /// `content_length_invalid` false. A `Content-Length` header is not added:
    /// put one among `headers` (its value must match `body` for the message to
    /// read back the same, see [`SipMessage::emit`]).
    #[must_use]
    pub fn from_parts(
        start: SipStartLine<'a>,
        headers: &[(&'a str, &'a str)],
        body: &'a [u8],
    ) -> Self {
        SipMessage {
            start,
            headers: headers
                .iter()
                .map(|&(name, value)| SipHeader { name, value })
                .collect(),
            malformed_headers: Vec::new(),
            dropped_headers: 0,
            body,
            content_length_invalid: false,
            head_complete: true,
        }
    }

    /// Bytes of the start line with its CRLF.
    fn start_line_len(&self) -> usize {
        match self.start {
            // METHOD SP URI SP VERSION CRLF
            SipStartLine::Request {
                method,
                uri,
                version,
            } => method.0.len() + uri.len() + version.len() + 4,
            // VERSION SP CODE SP REASON CRLF
            SipStartLine::Response {
                version, reason, ..
            } => version.len() + 3 + reason.len() + 4,
        }
    }

    /// Exactly the number of bytes [`SipMessage::emit`] writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let headers = self
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 4)
            .sum::<usize>();
        let malformed = self
            .malformed_headers
            .iter()
            .map(|l| l.len() + 2)
            .sum::<usize>();
        let blank = if self.head_complete { 2 } else { 0 };
        self.start_line_len()
            .saturating_add(headers)
            .saturating_add(malformed)
            .saturating_add(blank)
            .saturating_add(self.body.len())
    }

    /// Write the message into `buf[..buffer_len()]` and return its length.
    ///
    /// Canonical text, CRLF line ends: the start line (`SIP/2.0 200 OK`, a status
    /// code as 3 digits and a space before the reason even when it is empty), the
    /// `malformed_headers` lines verbatim (first, so that an orphan continuation
    /// line stays one; a continuation line right after another malformed line
    /// would join it), the headers in order as `name: value` (a folded value keeps
    /// its line breaks), the blank line (left out when `head_complete` is false)
    /// and the body. Nothing is recomputed: a `Content-Length` header is written
    /// as given (the body is not cut or checked against it, so on UDP a
    /// mismatching one reads back flagged or cut), `content_length_invalid` is
    /// not looked at and `dropped_headers` lines are gone. The header caps of
    /// [`parse`] ([`MAX_HEADERS`], [`MAX_HEAD_LEN`]) are not checked.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`SipMessage::buffer_len`] (nothing written); [`EmitError::Unrepresentable`]
    /// for a value [`parse`] would not read back (a method or header name that
    /// is not a token, a URI with a space or control byte, a status code outside
    /// 100..=699, a header value with surrounding whitespace or a line break not
    /// followed by SP/HT, which would start a new header line), and for a body
    /// after an incomplete head (`buf` is then partly written).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Sip, buf, needed)?;
        match self.start {
            SipStartLine::Request {
                method,
                uri,
                version,
            } => {
                if method.0.is_empty() || !method.0.bytes().all(is_token) {
                    return Err(unrepresentable("method", "not a token"));
                }
                if uri.is_empty() || uri.bytes().any(|b| b <= b' ' || b == 0x7f) {
                    return Err(unrepresentable(
                        "Request-URI",
                        "empty, or holds a space or control byte",
                    ));
                }
                w.parts(&[method.0.as_bytes(), b" ", uri.as_bytes(), b" "])?;
                sip_version(&mut w, version)?;
            }
            SipStartLine::Response {
                version,
                code,
                reason,
            } => {
                sip_version(&mut w, version)?;
                if !(100..=699).contains(&code) {
                    return Err(unrepresentable("status code", "outside 100..=699"));
                }
                if reason
                    .bytes()
                    .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
                {
                    return Err(unrepresentable("reason phrase", "holds a control byte"));
                }
                let digits = [
                    b'0' + digit(code / 100),
                    b'0' + digit(code / 10),
                    b'0' + digit(code),
                ];
                w.parts(&[b" ", &digits, b" ", reason.as_bytes()])?;
            }
        }
        w.bytes(b"\r\n")?;
        for line in &self.malformed_headers {
            if line.is_empty() || line == b"\r" || !only_folded_breaks(line) {
                return Err(unrepresentable(
                    "malformed header line",
                    "empty, or holds a line break not followed by SP/HT",
                ));
            }
            w.parts(&[line, b"\r\n"])?;
        }
        for h in &self.headers {
            if h.name.is_empty() || !h.name.bytes().all(is_token) {
                return Err(unrepresentable("header name", "not a token"));
            }
            let v = h.value.as_bytes();
            if trim_bytes(v).len() != v.len() {
                return Err(unrepresentable(
                    "header value",
                    "leading or trailing whitespace (parse trims it)",
                ));
            }
            if !only_folded_breaks(v) {
                return Err(unrepresentable(
                    "header value",
                    "a line break not followed by SP/HT",
                ));
            }
            w.parts(&[h.name.as_bytes(), b": ", v, b"\r\n"])?;
        }
        if self.head_complete {
            w.bytes(b"\r\n")?;
        } else if !self.body.is_empty() {
            return Err(unrepresentable(
                "body",
                "a body after an incomplete head (no blank line)",
            ));
        }
        w.bytes(self.body)?;
        Ok(w.pos())
    }

    /// The message in a new buffer of [`SipMessage::buffer_len`] bytes.
    ///
    /// # Errors
    /// [`EmitError::Unrepresentable`], as [`SipMessage::emit`].
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

/// The last decimal digit of `n`.
fn digit(n: u16) -> u8 {
    u8::try_from(n % 10).unwrap_or(0)
}

fn sip_version(w: &mut Writer<'_>, version: &str) -> Result<(), EmitError> {
    if !is_sip_version(version) {
        return Err(unrepresentable("version", "not SIP/<digits>.<digits>"));
    }
    w.bytes(version.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn token_characters_are_rfc_3261s() {
        // RFC 3261 section 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*"
        // / "_" / "+" / "`" / "'" / "~")
        let listed = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~";
        for b in 0..=255u8 {
            assert_eq!(is_token(b), listed.contains(&b), "byte {b:#04x}");
        }
    }

    /// The splitter as a byte-at-a-time state machine: what the jumping one must equal.
    fn split_outside_by_byte(s: &str, sep: u8) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = Some(s);
        'items: while let Some(s) = rest {
            let (mut quoted, mut escaped, mut angle) = (false, false, false);
            for (i, b) in s.bytes().enumerate() {
                if quoted {
                    match b {
                        _ if escaped => escaped = false,
                        b'\\' => escaped = true,
                        b'"' => quoted = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => quoted = true,
                    b'<' => angle = true,
                    b'>' => angle = false,
                    _ if b == sep && !angle => {
                        out.push(&s[..i]);
                        rest = s.get(i + 1..);
                        continue 'items;
                    }
                    _ => {}
                }
            }
            out.push(s);
            rest = None;
        }
        out
    }

    proptest! {
        #[test]
        fn split_outside_jumps_to_what_a_byte_walk_finds(
            s in "[a\\\\\"<>;, é]{0,40}",
            semicolon in any::<bool>(),
        ) {
            let sep = if semicolon { b';' } else { b',' };
            let jumped: Vec<&str> = SplitOutside::new(&s, sep).collect();
            prop_assert_eq!(jumped, split_outside_by_byte(&s, sep));
        }
    }

    // Fixtures: UDP/TCP payloads cut with tshark; see testdata/sip/README.md.
    const CP8811_REGISTER: &[u8] = include_bytes!("../testdata/sip/register-cp8811.bin");
    const CP9971_REGISTER: &[u8] = include_bytes!("../testdata/sip/register-cp9971.bin");
    const CUBE_503: &[u8] = include_bytes!("../testdata/sip/register-503-cube.bin");
    const NERO_REGISTER: &[u8] = include_bytes!("../testdata/sip/register-nero.bin");
    const NERO_401: &[u8] = include_bytes!("../testdata/sip/register-401-nero.bin");
    const NERO_403: &[u8] = include_bytes!("../testdata/sip/register-403-nero.bin");
    const NERO_200: &[u8] = include_bytes!("../testdata/sip/register-200-nero.bin");
    const INVITE_407: &[u8] = include_bytes!("../testdata/sip/invite-407-proxy-auth.bin");
    const INVITE_183: &[u8] = include_bytes!("../testdata/sip/invite-183-sdp.bin");
    const CSTA_REGISTER: &[u8] = include_bytes!("../testdata/sip/register-csta-empty-ua.bin");
    const BAD_CL_INVITE: &[u8] =
        include_bytes!("../testdata/sip/invite-invalid-content-length.bin");
    const BAD_CL_200: &[u8] = include_bytes!("../testdata/sip/ok-invalid-content-length.bin");
    const TCP_REGISTER: &[u8] = include_bytes!("../testdata/sip/tcp-register.bin");
    const TCP_401: &[u8] = include_bytes!("../testdata/sip/tcp-register-401.bin");
    const TCP_200: &[u8] = include_bytes!("../testdata/sip/tcp-register-200.bin");
    const TCP_REFER: &[u8] = include_bytes!("../testdata/sip/tcp-refer-multipart.bin");
    const TCP_202: &[u8] = include_bytes!("../testdata/sip/tcp-refer-202.bin");
    const TCP_NOTIFY_1: &[u8] = include_bytes!("../testdata/sip/tcp-notify-part1.bin");
    const TCP_NOTIFY_2: &[u8] = include_bytes!("../testdata/sip/tcp-notify-part2.bin");

    fn err(r: Result<SipMessage<'_>, DissectError>) -> DissectError {
        match r {
            Ok(m) => panic!("expected an error, got {m:?}"),
            Err(e) => e,
        }
    }

    fn stream_err(r: Result<(SipMessage<'_>, &[u8]), DissectError>) -> DissectError {
        match r {
            Ok((m, _)) => panic!("expected an error, got {m:?}"),
            Err(e) => e,
        }
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    // ---- real frames (values as tshark 4.0 shows them) ----

    #[test]
    fn cisco_cp8811_register_identity_from_contact() {
        // sip_xmf_recording_cube.pcapng frame 355.
        let m = parse(CP8811_REGISTER).unwrap();
        assert_eq!(m.method(), Some(SipMethod::REGISTER));
        assert_eq!(m.method().unwrap().name(), Some("REGISTER"));
        assert_eq!(m.request_uri(), Some("sip:10.180.110.58"));
        assert_eq!(
            m.call_id(),
            Some("f87b204e-eede1e8c-2ecf426b-2768e571@10.1.69.7")
        );
        assert_eq!(m.cseq(), Some((12917, SipMethod::REGISTER)));
        let from = m.from().unwrap();
        assert_eq!(from.user(), Some("1034"));
        assert_eq!(from.tag(), Some("f87b204eeede370e01d51722-71b7f29b"));
        assert_eq!(m.to().unwrap().user(), Some("1034"));
        assert_eq!(m.to().unwrap().tag(), None);
        let via = m.via();
        assert_eq!(via.len(), 1);
        assert_eq!(via[0].transport, "UDP");
        assert_eq!(via[0].host, "10.88.247.132");
        assert_eq!(via[0].port, Some(2039));
        assert_eq!(via[0].branch(), Some("z9hG4bK5f6c4d6b"));
        let contacts = m.contact();
        assert_eq!(contacts.len(), 1);
        let c = &contacts[0];
        assert_eq!(
            c.uri,
            "sip:8f83d778-4c97-4abe-9021-40ca9c3a1d87@10.88.247.132:2039;transport=udp"
        );
        let uri = c.uri_parts().unwrap();
        assert_eq!(uri.user, Some("8f83d778-4c97-4abe-9021-40ca9c3a1d87"));
        assert_eq!(uri.host, "10.88.247.132");
        assert_eq!(uri.port, Some(2039));
        assert_eq!(uri.params, "transport=udp");
        assert_eq!(c.device_name(), Some("SEPF87B204EEEDE"));
        assert_eq!(m.device_name(), Some("SEPF87B204EEEDE"));
        assert_eq!(c.model(), Some("36217"));
        assert_eq!(
            c.instance(),
            Some("<urn:uuid:00000000-0000-0000-0000-f87b204eeede>")
        );
        assert_eq!(c.instance_mac(), Some([0xf8, 0x7b, 0x20, 0x4e, 0xee, 0xde]));
        assert_eq!(m.expires(), Some(0));
        assert_eq!(m.user_agent(), Some("Cisco-CP8811/12.1.1"));
        assert_eq!(m.content_length(), Some(0));
        assert!(m.body.is_empty());
        assert!(!m.content_length_invalid && m.head_complete);
        assert!(m.malformed_headers.is_empty());
        assert_eq!(m.headers.len(), 13); // as in tshark's Message Header tree
    }

    #[test]
    fn cisco_cp9971_register() {
        // sip_xmf_recording_cube.pcapng frame 4342.
        let m = parse(CP9971_REGISTER).unwrap();
        assert_eq!(m.cseq(), Some((12590, SipMethod::REGISTER)));
        assert_eq!(m.from().unwrap().user(), Some("1026"));
        assert_eq!(m.via()[0].port, Some(5060));
        assert_eq!(m.via()[0].branch(), Some("z9hG4bK09c66119"));
        let c = &m.contact()[0];
        assert_eq!(c.device_name(), Some("SEPE8EDF3AA1C0E"));
        assert_eq!(c.model(), Some("493"));
        assert_eq!(c.instance_mac(), Some([0xe8, 0xed, 0xf3, 0xaa, 0x1c, 0x0e]));
        assert_eq!(m.user_agent(), Some("Cisco-CP9971/9.4.2"));
        assert_eq!(m.expires(), Some(0));
    }

    #[test]
    fn cube_503_answer_to_register() {
        // sip_xmf_recording_cube.pcapng frame 356.
        let m = parse(CUBE_503).unwrap();
        assert!(!m.is_request());
        assert_eq!(m.status(), Some(503));
        assert_eq!(
            m.reason_phrase(),
            Some("Service Unavailable - registrar unavail or not enabled")
        );
        assert_eq!(m.server(), Some("Cisco-SIPGateway/IOS-16.9.1"));
        assert_eq!(m.cseq(), Some((12917, SipMethod::REGISTER)));
        assert_eq!(m.to().unwrap().tag(), Some("3F5157-1E86"));
        assert_eq!(m.via()[0].branch(), Some("z9hG4bK5f6c4d6b"));
        assert_eq!(m.user_agent(), None);
        assert!(m.contact().is_empty());
    }

    #[test]
    fn a_contact_names_its_device_in_either_form_and_may_expire_at_once() {
        // The plain `devicename` a CP-8841's answers carry, any case, with a Contact
        // `expires=0` (RFC 3261 10.2.2: remove this binding) and no Expires header.
        let headers = [
            ("Via", "SIP/2.0/UDP 10.1.1.20:5060;branch=z9hG4bK77"),
            ("From", "<sip:1001@10.1.1.10>;tag=1"),
            ("To", "<sip:1001@10.1.1.10>"),
            ("Call-ID", "dereg@10.1.1.20"),
            ("CSeq", "7 REGISTER"),
            (
                "Contact",
                "<sip:1001@10.1.1.20:5060;transport=udp>;DeviceName=\"SEP001B54AA0001\";expires=0",
            ),
            ("Content-Length", "0"),
        ];
        let bytes = register(&headers, b"").to_vec().unwrap();
        let m = parse(&bytes).unwrap();
        let c = &m.contact()[0];
        assert_eq!(c.device_name(), Some("SEP001B54AA0001"));
        assert_eq!(m.device_name(), Some("SEP001B54AA0001"));
        assert_eq!((c.expires(), m.expires()), (Some(0), None));
        // Both forms, as CUCM's 200 to an INVITE carries them (tshark frame 48 of
        // sip_xmf_recording_cube.pcapng): the Cisco parameter first.
        let both = SipNameAddr::parse(
            "<sip:1234@10.180.110.48:5060>;+u.sip!devicename.ccm.cisco.com=\"SEP2C31246A214B\";DeviceName=\"SEP2C31246A214C\"",
        )
        .unwrap();
        assert_eq!(both.device_name(), Some("SEP2C31246A214B"));
        // An Expires header of 0 with a Contact that says nothing.
        let mut zero = headers;
        zero[5] = ("Contact", "<sip:1001@10.1.1.20:5060>");
        zero[6] = ("Expires", "0");
        let bytes = register(&zero, b"").to_vec().unwrap();
        let m = parse(&bytes).unwrap();
        assert_eq!((m.contact()[0].expires(), m.expires()), (None, Some(0)));
    }

    #[test]
    fn nero_register_with_rport_flag_and_contact_expires() {
        // zeek/wireshark.pcap frame 1.
        let m = parse(NERO_REGISTER).unwrap();
        assert_eq!(m.request_uri(), Some("sip:sip.cybercity.dk"));
        assert_eq!(m.call_id(), Some("578222729-4665d775@578222732-4665d772"));
        assert_eq!(m.cseq(), Some((68, SipMethod::REGISTER)));
        assert_eq!(m.from().unwrap().user(), Some("voi18063"));
        assert_eq!(m.from().unwrap().tag(), Some("903df0a"));
        let via = &m.via()[0];
        assert_eq!(via.host, "192.168.1.2");
        assert_eq!(via.port, None);
        assert_eq!(via.branch(), Some("z9hG4bKnp151248737-46ea715e192.168.1.2"));
        assert_eq!(via.rport(), Some(None));
        let c = &m.contact()[0];
        assert_eq!(c.uri, "sip:voi18063@192.168.1.2:5060;line=9c7d2dbd8822013c");
        assert_eq!(c.user(), Some("voi18063"));
        assert_eq!(
            c.params,
            vec![("expires", Some("1200")), ("q", Some("0.500"))]
        );
        assert_eq!(c.expires(), Some(1200));
        assert_eq!(c.device_name(), None);
        assert_eq!(m.expires(), Some(1200));
        assert_eq!(
            m.user_agent(),
            Some("Nero SIPPS IP Phone Version 2.0.51.16")
        );
    }

    #[test]
    fn nero_401_challenge_realm_and_received() {
        // zeek/wireshark.pcap frame 2.
        let m = parse(NERO_401).unwrap();
        assert_eq!(m.status(), Some(401));
        assert_eq!(m.reason_phrase(), Some("Unauthorized"));
        let ch = m.www_authenticate().unwrap();
        assert_eq!(ch.scheme, "Digest");
        assert_eq!(ch.realm, Some("sip.cybercity.dk"));
        assert_eq!(ch.param("nonce"), Some("1701af566be182070084c6f740706bb"));
        assert_eq!(m.proxy_authenticate(), None);
        let via = &m.via()[0];
        assert_eq!(via.received(), Some("80.230.219.70"));
        assert_eq!(via.rport(), Some(Some("5060")));
        assert_eq!(m.to().unwrap().tag(), Some("00-04092-1701af62-120c67172"));
    }

    #[test]
    fn nero_403_and_200() {
        // zeek/wireshark.pcap frames 5 and 18.
        let m = parse(NERO_403).unwrap();
        assert_eq!(m.status(), Some(403));
        assert_eq!(m.reason_phrase(), Some("Wrong password"));
        assert_eq!(m.cseq(), Some((69, SipMethod::REGISTER)));
        let m = parse(NERO_200).unwrap();
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.cseq(), Some((75, SipMethod::REGISTER)));
        assert_eq!(m.from().unwrap().user(), Some("voi18062"));
        let c = &m.contact()[0];
        assert_eq!(c.user(), Some("voi18062"));
        assert_eq!(c.expires(), Some(1200));
    }

    #[test]
    fn invite_407_proxy_challenge_and_display_name() {
        // zeek/wireshark.pcap frame 40.
        let m = parse(INVITE_407).unwrap();
        assert_eq!(m.status(), Some(407));
        assert_eq!(m.cseq(), Some((1, SipMethod::INVITE)));
        let from = m.from().unwrap();
        assert_eq!(from.display_name, Some("arik")); // tshark: "arik" (quoted)
        assert_eq!(from.user(), Some("voi18062"));
        assert_eq!(m.to().unwrap().user(), Some("0097239287044"));
        let ch = m.proxy_authenticate().unwrap();
        assert_eq!((ch.scheme, ch.realm), ("Digest", Some("sip.cybercity.dk")));
        assert_eq!(m.server(), Some("Cirpack/v4.38e (gw_sip)"));
        assert_eq!(m.contact()[0].uri, "sip:212.242.33.35:5060");
        assert_eq!(m.contact()[0].user(), None);
    }

    #[test]
    fn response_183_with_sdp_body() {
        // zeek/wireshark.pcap frame 74.
        let m = parse(INVITE_183).unwrap();
        assert_eq!(m.status(), Some(183));
        assert_eq!(m.reason_phrase(), Some("In band info available"));
        assert_eq!(m.content_type(), Some("application/sdp"));
        assert_eq!(m.content_length(), Some(199));
        assert_eq!(m.body.len(), 199);
        assert!(m.body.starts_with(b"v=0\r\n"));
    }

    #[test]
    fn empty_user_agent_and_unknown_header() {
        // rtp_sip_g711ulaw_20ms.pcapng frame 1 ("User-Agent: " is empty on the wire;
        // tshark shows no value).
        let m = parse(CSTA_REGISTER).unwrap();
        assert_eq!(m.user_agent(), Some(""));
        assert_eq!(m.from().unwrap().user(), Some("csta"));
        assert_eq!(m.from().unwrap().tag(), Some("dsc7fbd6d3"));
        assert_eq!(m.call_id(), Some("15569799951801883@10.180.110.59"));
        assert_eq!(
            m.via()[0].branch(),
            Some("z9hG4bKn5qv19HQ5E1wU+uhq2QHYQ~~1881")
        );
        assert_eq!(
            m.contact()[0].uri,
            "sip:csta@10.180.110.59:5060;transport=udp"
        );
        assert_eq!(m.header("x-cisco-session-server"), Some("cue-csta"));
        assert_eq!(m.expires(), None);
    }

    #[test]
    fn invalid_content_length_is_flagged_on_udp() {
        // zeek/invalid-content-length.pcap frames 1 and 2 (tshark: "Invalid content_length").
        let m = parse(BAD_CL_INVITE).unwrap();
        assert_eq!(m.method(), Some(SipMethod::INVITE));
        assert_eq!(m.request_uri(), Some("sip:bob@10.0.0.2"));
        assert!(m.content_length_invalid);
        assert_eq!(m.content_length(), None);
        assert_eq!(m.header("Content-Length"), Some("bad"));
        assert_eq!(m.via()[0].branch(), Some("z9hG4bK776"));
        let m = parse(BAD_CL_200).unwrap();
        assert_eq!(m.status(), Some(200));
        assert!(m.content_length_invalid);
        assert_eq!(m.to().unwrap().tag(), Some("abc123"));
        // On a stream it cannot be framed: the error points at the value.
        let e = stream_err(parse_stream(BAD_CL_INVITE));
        assert_eq!(e.kind, ErrorKind::Malformed("unreadable Content-Length"));
        let at = BAD_CL_INVITE.windows(3).position(|w| w == b"bad").unwrap();
        assert_eq!(e.offset, at - 1); // the value starts after the colon, at the space
    }

    #[test]
    fn tcp_register_401_200() {
        // heplify/sip_ipv4_tcp_retrans.pcap frames 28, 32 and 36.
        let (m, rest) = parse_stream(TCP_REGISTER).unwrap();
        assert!(rest.is_empty());
        assert_eq!(m.request_uri(), Some("sip:172.168.0.228;transport=tcp"));
        assert_eq!(m.cseq(), Some((42942, SipMethod::REGISTER)));
        let via = &m.via()[0];
        assert_eq!(
            (via.transport, via.host, via.port),
            ("TCP", "172.168.0.252", Some(52795))
        );
        assert_eq!(
            via.branch(),
            Some("z9hG4bKPj1846829dc407403fa639729b4ec6856a")
        );
        assert_eq!(via.rport(), Some(None));
        let from = m.from().unwrap();
        assert_eq!(from.display_name, Some("1001"));
        assert_eq!(from.user(), Some("1001"));
        let c = &m.contact()[0];
        assert_eq!(c.uri, "sip:1001@172.168.0.252:52795;transport=TCP;ob");
        assert_eq!(c.param("reg-id"), Some(Some("1")));
        assert_eq!(c.instance_mac(), Some([0, 0, 0x93, 0x14, 0xfa, 0x8a]));
        assert_eq!(m.expires(), Some(300));
        assert_eq!(m.user_agent(), Some("MicroSIP/3.14.5"));
        assert_eq!(m.content_length(), Some(0)); // "Content-Length:  0"

        let (m, rest) = parse_stream(TCP_401).unwrap();
        assert!(rest.is_empty());
        assert_eq!(m.status(), Some(401));
        // realm is not the first auth-param here.
        let ch = m.www_authenticate().unwrap();
        assert_eq!((ch.scheme, ch.realm), ("Digest", Some("user")));
        assert_eq!(m.server(), Some("UAS/V1.3"));
        assert_eq!(m.via()[0].rport(), Some(Some("52795")));
        assert_eq!(m.to().unwrap().tag(), Some("as22245940"));

        let (m, _) = parse_stream(TCP_200).unwrap();
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.cseq(), Some((42943, SipMethod::REGISTER)));
        assert_eq!(m.contact()[0].expires(), Some(60));
        assert_eq!(m.expires(), Some(60));
    }

    #[test]
    fn tcp_refer_with_body_and_202() {
        // sip_mcast_paging.pcapng frames 20 and 22.
        let (m, rest) = parse_stream(TCP_REFER).unwrap();
        assert!(rest.is_empty());
        assert_eq!(m.method(), Some(SipMethod::REFER));
        assert_eq!(m.request_uri(), Some("sip:70001$@192.168.110.57:51368"));
        assert_eq!(m.to().unwrap().user(), Some("70001$"));
        assert_eq!(m.from().unwrap().user(), None);
        assert_eq!(m.from().unwrap().tag(), Some("3C621170-6DE"));
        assert_eq!(m.cseq(), Some((101, SipMethod::REFER)));
        assert_eq!(m.user_agent(), Some("Cisco-SIPGateway/IOS-16.10.1a"));
        assert_eq!(
            m.content_type(),
            Some("multipart/mixed;boundary=uniqueBoundary")
        );
        assert_eq!(m.content_length(), Some(641));
        assert_eq!(m.body.len(), 641);
        assert_eq!(m.header("r"), Some("cid:0960285983")); // Refer-To via its compact form
        let (m, _) = parse_stream(TCP_202).unwrap();
        assert_eq!(m.status(), Some(202));
        assert_eq!(m.server(), Some("Cisco-CP8851/12.0.1"));
        assert_eq!(m.contact()[0].user(), Some("b000b4bbf1f0"));
    }

    // ---- stream framing ----

    #[test]
    fn two_messages_in_one_buffer() {
        // Frames 32 and 36 are consecutive on the server's side of the connection.
        let buf = cat(&[TCP_401, b"\r\n\r\n", TCP_200, b"\r\n"]);
        let mut it = messages(&buf);
        let codes: Vec<_> = it.by_ref().map(|m| m.status()).collect();
        assert_eq!(codes, vec![Some(401), Some(200)]);
        assert_eq!(it.consumed(), buf.len());
        assert!(it.remainder().is_empty());
        assert_eq!(it.error(), None);
        // parse_stream hands back the second message as the rest.
        let (first, rest) = parse_stream(&buf).unwrap();
        assert_eq!(first.status(), Some(401));
        assert_eq!(rest.len(), 4 + TCP_200.len() + 2);
    }

    #[test]
    fn message_split_across_segments() {
        // sip_mcast_paging.pcapng frames 23 + 26: one NOTIFY (Content-Length 1206).
        let e = stream_err(parse_stream(TCP_NOTIFY_1));
        assert_eq!(e.kind, ErrorKind::NeedMore(TCP_NOTIFY_2.len()));
        assert_eq!(e.offset, TCP_NOTIFY_1.len());
        let whole = cat(&[TCP_NOTIFY_1, TCP_NOTIFY_2]);
        let (m, rest) = parse_stream(&whole).unwrap();
        assert!(rest.is_empty());
        assert_eq!(m.method(), Some(SipMethod::NOTIFY));
        assert_eq!(m.cseq(), Some((1000, SipMethod::NOTIFY)));
        assert_eq!(m.from().unwrap().user(), Some("70001$"));
        assert_eq!(m.content_length(), Some(1206));
        assert_eq!(m.body.len(), 1206);
        // tshark: auth.scheme Digest, auth.realm "" (empty, quoted).
        let cred = m.authorization().unwrap();
        assert_eq!((cred.scheme, cred.realm), ("Digest", Some("")));
        assert_eq!(cred.param("username"), Some("auto3"));
        // Frame 22 then frame 23: one message, then a partial one to keep.
        let buf = cat(&[TCP_202, TCP_NOTIFY_1]);
        let mut it = messages(&buf);
        assert_eq!(it.next().and_then(|m| m.status()), Some(202));
        assert!(it.next().is_none());
        assert_eq!(it.need_more(), Some(TCP_NOTIFY_2.len()));
        assert_eq!(it.remainder(), TCP_NOTIFY_1);
        assert_eq!(it.error().unwrap().offset, buf.len());
    }

    #[test]
    fn continuation_segment_fails_on_first_line() {
        // Frame 26 alone begins inside the XML body ("d>\n").
        let e = stream_err(parse_stream(TCP_NOTIFY_2));
        assert_eq!(e.offset, 1);
        assert_eq!(
            e.kind,
            ErrorKind::Malformed("not a SIP request or status line")
        );
        let mut it = messages(TCP_NOTIFY_2);
        assert!(it.next().is_none());
        assert_eq!(it.need_more(), None);
        assert_eq!(it.error().map(|e| e.offset), Some(1));
        // Binary data fails at its first byte, even without any newline.
        let e = stream_err(parse_stream(&[0x16, 0x03, 0x01, 0x02, 0x00]));
        assert_eq!(
            (e.offset, e.kind.clone()),
            (0, ErrorKind::Malformed("not a SIP request or status line"))
        );
    }

    #[test]
    fn incomplete_head_needs_more() {
        for cut in [1, 5, 20, 200, TCP_REGISTER.len() - 1] {
            let e = stream_err(parse_stream(&TCP_REGISTER[..cut]));
            assert_eq!(e.kind, ErrorKind::NeedMore(1), "cut at {cut}");
            assert_eq!(e.offset, cut);
        }
        // Keep-alives only: nothing to return yet.
        let e = stream_err(parse_stream(b"\r\n\r\n"));
        assert_eq!(e.kind, ErrorKind::NeedMore(1));
        let mut it = messages(b"\r\n\r\n");
        assert!(it.next().is_none());
        assert_eq!((it.consumed(), it.error()), (4, None));
    }

    #[test]
    fn short_body_needs_the_exact_rest() {
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nabcd";
        let e = stream_err(parse_stream(msg));
        assert_eq!((e.offset, e.kind), (msg.len(), ErrorKind::NeedMore(6)));
        // On UDP the same bytes are kept, flagged.
        let m = parse(msg).unwrap();
        assert_eq!(m.method(), Some(SipMethod::MESSAGE));
        assert!(m.content_length_invalid);
        assert_eq!(m.body, b"abcd");
    }

    #[test]
    fn oversized_head_and_body_are_refused() {
        let mut big = b"OPTIONS sip:a@b SIP/2.0\r\nX: ".to_vec();
        big.resize(MAX_HEAD_LEN + 10, b'a');
        let e = stream_err(parse_stream(&big));
        assert_eq!(
            e.kind,
            ErrorKind::TooLong {
                len: big.len(),
                max: MAX_HEAD_LEN
            }
        );
        // A start line longer than the cap.
        let mut big = b"OPTIONS sip:".to_vec();
        big.resize(MAX_HEAD_LEN + 1, b'a');
        let e = stream_err(parse_stream(&big));
        assert!(matches!(e.kind, ErrorKind::TooLong { .. }));
        let msg = b"\r\nINFO sip:a@b SIP/2.0\r\nl: 2000000\r\n\r\n";
        let e = stream_err(parse_stream(msg));
        assert_eq!(
            (e.offset, e.kind),
            (
                2,
                ErrorKind::TooLong {
                    len: 2_000_000,
                    max: MAX_BODY_LEN
                }
            )
        );
    }

    // ---- hand-built messages ----

    #[test]
    fn compact_forms_and_folding() {
        let msg = b"INVITE sip:bob@biloxi.com SIP/2.0\r\n\
            v: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n\
            v: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK2, SIP/2.0/UDP b.example:5062\r\n\
            f: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
            t: Bob <sip:bob@biloxi.com>\r\n\
            i: a84b4c76e66710@pc33.atlanta.com\r\n\
            CSeq: 314159 INVITE\r\n\
            m: <sip:alice@pc33.atlanta.com>;expires=60\r\n\
            s: I know you're there,\r\n  pay attention\r\n\
            o: refer\r\n\
            k: timer\r\n\
            c: application/sdp\r\n\
            l: 4\r\n\
            \r\n\
            v=0\nEXTRA";
        let m = parse(msg).unwrap();
        assert_eq!(m.call_id(), Some("a84b4c76e66710@pc33.atlanta.com"));
        assert_eq!(m.from().unwrap().display_name, Some("Alice"));
        assert_eq!(m.from().unwrap().tag(), Some("1928301774"));
        assert_eq!(m.to().unwrap().user(), Some("bob"));
        let via = m.via();
        assert_eq!(via.len(), 3);
        assert_eq!(via[0].host, "pc33.atlanta.com");
        assert_eq!(
            (via[1].transport, via[1].host, via[1].port),
            ("TCP", "[2001:db8::1]", Some(5061))
        );
        assert_eq!((via[2].host, via[2].port), ("b.example", Some(5062)));
        assert_eq!(m.contact()[0].expires(), Some(60));
        assert_eq!(
            m.header("Subject"),
            Some("I know you're there,\r\n  pay attention")
        );
        assert_eq!(m.header("Event"), Some("refer"));
        assert_eq!(m.header("supported"), Some("timer"));
        assert_eq!(m.headers[0].canonical_name(), "Via");
        assert_eq!(m.content_type(), Some("application/sdp"));
        assert_eq!(m.content_length(), Some(4));
        assert_eq!(m.body, b"v=0\n"); // cut to Content-Length
        assert!(m
            .headers
            .iter()
            .all(|h| h.name.len() == 1 || h.name == "CSeq"));
    }

    #[test]
    fn reason_cisco_alarm() {
        let msg = b"REGISTER sip:10.1.1.1 SIP/2.0\r\n\
            Via: SIP/2.0/TCP 10.2.2.2:51000;branch=z9hG4bK1\r\n\
            Call-ID: 1@10.2.2.2\r\n\
            CSeq: 101 REGISTER\r\n\
            Reason: SIP;cause=200;text=\"cisco-alarm:14 Name=SEP0011223344AA Load=sip88xx.12-1-1 Last=Load Rejected HC\"\r\n\
            Content-Length: 0\r\n\r\n";
        let (m, rest) = parse_stream(msg).unwrap();
        assert!(rest.is_empty());
        assert!(m
            .reason()
            .unwrap()
            .starts_with("SIP;cause=200;text=\"cisco-alarm:14"));
        let alarm = m.cisco_alarm().unwrap();
        assert_eq!(
            alarm.text,
            "cisco-alarm:14 Name=SEP0011223344AA Load=sip88xx.12-1-1 Last=Load Rejected HC"
        );
        assert_eq!(alarm.code(), Some(14));
        assert_eq!(alarm.name(), Some("SEP0011223344AA"));
        assert_eq!(alarm.field("load"), Some("sip88xx.12-1-1"));
        assert_eq!(alarm.last(), Some("Load Rejected HC"));
        assert_eq!(alarm.field("Missing"), None);
        // A Reason without the Cisco text gives none.
        let m = parse(b"BYE sip:a@b SIP/2.0\r\nReason: Q.850;cause=16;text=\"Normal\"\r\n\r\n")
            .unwrap();
        assert_eq!(m.cisco_alarm(), None);
        assert_eq!(m.reason(), Some("Q.850;cause=16;text=\"Normal\""));
    }

    #[test]
    fn unknown_method_is_data() {
        let m = parse(b"FROBNICATE sip:x SIP/2.0\r\nCSeq: 1 FROBNICATE\r\n\r\n").unwrap();
        let method = m.method().unwrap();
        assert_eq!(method.as_str(), "FROBNICATE");
        assert_eq!(method.name(), None);
        assert_eq!(format!("{method:?}"), "SipMethod(\"FROBNICATE\")");
        assert_eq!(format!("{:?}", SipMethod::BYE), "BYE");
        assert_eq!(m.cseq(), Some((1, method)));
    }

    #[test]
    fn status_code_out_of_range_is_bad_value() {
        let e = err(parse(b"SIP/2.0 999 Nope\r\n\r\n"));
        assert_eq!(e.offset, 8);
        assert_eq!(
            e.kind,
            ErrorKind::BadValue {
                field: "status code",
                value: 999
            }
        );
        let e = err(parse(b"SIP/2.0 2000 OK\r\n\r\n"));
        assert_eq!(e.offset, 11);
    }

    #[test]
    fn zero_length_keepalive_and_truncated_first_line() {
        let e = err(parse(b""));
        assert_eq!((e.offset, e.kind), (0, ErrorKind::Truncated));
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(!is_keepalive(b""));
        let e = err(parse(b"\r\n\r\n"));
        assert_eq!(e.kind, ErrorKind::Malformed("CRLF keep-alive only"));
        let e = err(parse(b"REGISTER sip:x SIP/2"));
        assert_eq!((e.offset, e.kind), (20, ErrorKind::Truncated));
        // A datagram cut inside the headers is kept, flagged.
        let m = parse(&CP8811_REGISTER[..200]).unwrap();
        assert!(!m.head_complete);
        assert_eq!(m.call_id(), None);
        assert_eq!(m.from().unwrap().user(), Some("1034"));
    }

    #[test]
    fn bad_header_lines_are_kept_aside() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\n\
            Via: SIP/2.0/UDP h;branch=z9hG4bKx\n\
            User-Agent: caf\xe9\n\
            no colon here\n\
             orphan fold\n\
            Bad Name: x\n\
            CSeq: abc OPTIONS\n\
            Expires: soon\n\
            Server: s\n\n";
        let m = parse(msg).unwrap();
        // Bare LF line ends are accepted.
        assert_eq!(m.server(), Some("s"));
        assert_eq!(m.user_agent(), None);
        assert_eq!(m.malformed_headers.len(), 4);
        assert_eq!(m.malformed_headers[0], b"User-Agent: caf\xe9");
        assert_eq!(m.cseq(), None);
        assert_eq!(m.expires(), None);
        assert_eq!(m.via()[0].branch(), Some("z9hG4bKx"));
        // Via without a sent-by, a From without a URI.
        let m = parse(b"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP\r\nFrom: \"x\"\r\n\r\n").unwrap();
        assert!(m.via().is_empty());
        assert_eq!(m.from(), None);
    }

    #[test]
    fn conflicting_content_lengths() {
        let msg = b"INFO sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab";
        let m = parse(msg).unwrap();
        assert!(m.content_length_invalid);
        assert_eq!(m.body, b"ab");
        let e = stream_err(parse_stream(msg));
        assert_eq!(e.kind, ErrorKind::Malformed("unreadable Content-Length"));
    }

    #[test]
    fn header_cap_still_frames_by_content_length() {
        let mut msg = b"NOTIFY sip:a@b SIP/2.0\r\n".to_vec();
        for i in 0..300 {
            msg.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        msg.extend_from_slice(b"Content-Length: 3\r\n\r\nabcNEXT");
        let (m, rest) = parse_stream(&msg).unwrap();
        assert_eq!(m.headers.len(), MAX_HEADERS);
        assert_eq!(m.dropped_headers, 45);
        assert_eq!(m.body, b"abc");
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn uri_and_instance_edge_cases() {
        let u = SipUri::parse("sips:alice:secret@[::1]:5061;transport=tls?subject=x").unwrap();
        assert_eq!(
            (u.scheme, u.user, u.host, u.port, u.params),
            ("sips", Some("alice"), "[::1]", Some(5061), "transport=tls")
        );
        assert_eq!(SipUri::parse("no-scheme"), None);
        let c = SipNameAddr::parse(
            "sip:x@y;+sip.instance=\"<urn:uuid:12345678-0000-0000-0000-f87b204eeede>\"",
        )
        .unwrap();
        assert_eq!(c.uri, "sip:x@y");
        assert_eq!(c.instance_mac(), None); // not the Cisco all-zero prefix
        let c = SipNameAddr::parse(
            "<sip:x@y>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-f87b204eeeZZ>\"",
        )
        .unwrap();
        assert_eq!(c.instance_mac(), None);
        let star = SipNameAddr::parse("*").unwrap();
        assert_eq!(star.uri, "*");
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            if let Ok(m) = parse(&data) {
                let _ = (m.via(), m.contact(), m.cseq(), m.cisco_alarm(), m.www_authenticate());
            }
        }

        #[test]
        fn stream_never_panics_and_always_advances(
            data in proptest::collection::vec(any::<u8>(), 0..1500)
        ) {
            let mut rest: &[u8] = &data;
            while let Ok((_, r)) = parse_stream(rest) {
                prop_assert!(r.len() < rest.len());
                rest = r;
            }
            let mut it = messages(&data);
            let mut last = 0;
            while it.next().is_some() {
                prop_assert!(it.consumed() > last);
                last = it.consumed();
            }
            prop_assert!(it.consumed() <= data.len());
        }

        #[test]
        fn sip_like_text_never_panics(
            lines in proptest::collection::vec("[ -~\t]{0,40}", 0..20),
            body in proptest::collection::vec(any::<u8>(), 0..64)
        ) {
            let mut data = b"REGISTER sip:a@b SIP/2.0\r\n".to_vec();
            for l in &lines {
                data.extend_from_slice(l.as_bytes());
                data.extend_from_slice(b"\r\n");
            }
            data.extend_from_slice(b"\r\n");
            data.extend_from_slice(&body);
            let m = parse(&data);
            prop_assert!(m.is_ok());
            if let Ok(m) = m {
                let _ = (m.via(), m.contact(), m.from(), m.to(), m.cisco_alarm(), m.proxy_authenticate());
            }
            let _ = messages(&data).count();
        }
    }

    // ---- emitter ----

    /// Emit `x`, parse it back (UDP) and check it comes back equal.
    fn round_trip(x: &SipMessage<'_>) -> Vec<u8> {
        let bytes = x.to_vec().unwrap();
        assert_eq!(bytes.len(), x.buffer_len());
        assert_eq!(&parse(&bytes).unwrap(), x);
        bytes
    }

    fn register<'a>(headers: &[(&'a str, &'a str)], body: &'a [u8]) -> SipMessage<'a> {
        SipMessage::from_parts(
            SipStartLine::Request {
                method: SipMethod::REGISTER,
                uri: "sip:10.1.1.5",
                version: "SIP/2.0",
            },
            headers,
            body,
        )
    }

    fn response<'a>(code: u16, reason: &'a str, headers: &[(&'a str, &'a str)]) -> SipMessage<'a> {
        SipMessage::from_parts(
            SipStartLine::Response {
                version: "SIP/2.0",
                code,
                reason,
            },
            headers,
            b"",
        )
    }

    const REGISTER_HEADERS: [(&str, &str); 9] = [
        ("Via", "SIP/2.0/UDP 10.1.1.20:5060;branch=z9hG4bK5f6c4d6b"),
        ("From", "<sip:1034@10.1.1.5>;tag=f87b204e"),
        ("To", "<sip:1034@10.1.1.5>"),
        ("Call-ID", "f87b204e-eede1e8c@10.1.1.20"),
        ("CSeq", "101 REGISTER"),
        (
            "Contact",
            "<sip:1034@10.1.1.20:5060>;+u.sip!devicename.ccm.cisco.com=\"SEP001122334455\"",
        ),
        ("Expires", "3600"),
        ("User-Agent", ""),
        ("Content-Length", "0"),
    ];

    #[test]
    fn built_messages_round_trip() {
        let bytes = round_trip(&register(&REGISTER_HEADERS, b""));
        assert!(bytes.starts_with(b"REGISTER sip:10.1.1.5 SIP/2.0\r\nVia: SIP/2.0/UDP"));
        assert!(bytes.ends_with(b"User-Agent: \r\nContent-Length: 0\r\n\r\n"));
        let m = parse(&bytes).unwrap();
        assert_eq!(m.device_name(), Some("SEP001122334455"));
        // The same bytes frame on a stream.
        let (s, rest) = parse_stream(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(s, m);

        // A body framed by Content-Length; compact forms; a folded value.
        let sdp = b"v=0\r\no=- 1 1 IN IP4 10.1.1.20\r\n";
        let cl = sdp.len().to_string();
        let headers = [
            ("v", "SIP/2.0/UDP 10.1.1.20"),
            ("i", "abc@10.1.1.20"),
            ("Subject", "first line\r\n  second line"),
            ("c", "application/sdp"),
            ("l", cl.as_str()),
        ];
        let invite = SipMessage::from_parts(
            SipStartLine::Request {
                method: SipMethod::INVITE,
                uri: "sip:1001@10.1.1.5;user=phone",
                version: "SIP/2.0",
            },
            &headers,
            sdp,
        );
        let bytes = round_trip(&invite);
        assert_eq!(parse_stream(&bytes).unwrap(), (invite.clone(), &b""[..]));
        assert_eq!(parse(&bytes).unwrap().content_length(), Some(sdp.len()));

        // Responses, an empty reason phrase, an extension method, no headers.
        round_trip(&response(200, "OK", &[("Content-Length", "0")]));
        round_trip(&response(
            503,
            "Service Unavailable - registrar unavail",
            &[],
        ));
        let bytes = round_trip(&response(180, "", &[]));
        assert_eq!(bytes, b"SIP/2.0 180 \r\n\r\n");
        round_trip(&SipMessage::from_parts(
            SipStartLine::Request {
                method: SipMethod("X-CISCO"),
                uri: "sip:a@b",
                version: "SIP/3.10",
            },
            &[],
            b"",
        ));

        // A head the datagram cut (no blank line) and kept-aside header lines.
        let cut = SipMessage {
            head_complete: false,
            ..register(&REGISTER_HEADERS[..3], b"")
        };
        let bytes = round_trip(&cut);
        assert!(bytes.ends_with(b"To: <sip:1034@10.1.1.5>\r\n"));
        let odd = SipMessage {
            malformed_headers: vec![b" orphan continuation", b"no colon here", b"Bad Name: x"],
            ..register(&REGISTER_HEADERS, b"")
        };
        round_trip(&odd);
        // On UDP a wrong Content-Length is written as given, and read back flagged.
        let flagged = SipMessage {
            content_length_invalid: true,
            ..register(&[("Content-Length", "99")], b"short")
        };
        round_trip(&flagged);
    }

    #[test]
    fn emit_into_a_short_buffer_says_how_much_it_needs() {
        let x = response(200, "OK", &[]);
        let mut buf = [0u8; 17];
        assert_eq!(
            x.emit(&mut buf),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Sip,
                needed: 18
            })
        );
        let mut big = [b'#'; 21];
        assert_eq!(x.emit(&mut big), Ok(18));
        assert_eq!(&big, b"SIP/2.0 200 OK\r\n\r\n###");
    }

    #[test]
    fn unrepresentable_values_are_errors_not_panics() {
        let unrep = |x: SipMessage<'_>| {
            assert!(
                matches!(x.to_vec(), Err(EmitError::Unrepresentable { .. })),
                "{x:?}"
            );
        };
        let req = |method, uri, version| {
            SipMessage::from_parts(
                SipStartLine::Request {
                    method: SipMethod(method),
                    uri,
                    version,
                },
                &[],
                b"",
            )
        };
        unrep(req("", "sip:a", "SIP/2.0"));
        unrep(req("REG ISTER", "sip:a", "SIP/2.0"));
        unrep(req("REGISTER", "sip:a b", "SIP/2.0"));
        unrep(req("REGISTER", "", "SIP/2.0"));
        unrep(req("REGISTER", "sip:a", "SIP/2"));
        unrep(req("REGISTER", "sip:a", "HTTP/1.1"));
        unrep(response(700, "Nope", &[]));
        unrep(response(99, "Nope", &[]));
        unrep(response(200, "O\r\nK", &[]));
        unrep(register(&[("Bad Name", "x")], b""));
        unrep(register(&[("", "x")], b""));
        unrep(register(&[("X", " leading")], b""));
        unrep(register(&[("X", "trailing\r\n")], b""));
        // A bare line break would start a new header: injection, refused.
        unrep(register(&[("X", "a\r\nInjected: yes")], b""));
        unrep(register(&[("X", "a\n\r\n b")], b""));
        unrep(SipMessage {
            head_complete: false,
            ..register(&[], b"body")
        });
        unrep(SipMessage {
            malformed_headers: vec![b"a\nb"],
            ..register(&[], b"")
        });
    }

    #[test]
    fn fixtures_are_re_emitted_byte_for_byte() {
        for (n, fixture) in [
            CP8811_REGISTER,
            CP9971_REGISTER,
            CUBE_503,
            NERO_401,
            NERO_403,
            NERO_200,
            INVITE_407,
            INVITE_183,
            CSTA_REGISTER,
            BAD_CL_INVITE,
            BAD_CL_200,
        ]
        .into_iter()
        .enumerate()
        {
            let m = parse(fixture).unwrap();
            assert_eq!(m.to_vec().unwrap(), fixture, "UDP fixture {n}");
        }
        let notify = cat(&[TCP_NOTIFY_1, TCP_NOTIFY_2]);
        for (n, fixture) in [TCP_401, TCP_200, TCP_REFER, TCP_202, &notify]
            .into_iter()
            .enumerate()
        {
            let (m, rest) = parse_stream(fixture).unwrap();
            assert!(rest.is_empty());
            assert_eq!(m.to_vec().unwrap(), fixture, "TCP fixture {n}");
        }
        // Two fixtures are not in canonical form: `Contact:  <sip:…` (register-nero)
        // and `Content-Length:  0` (tcp-register) have two spaces after the colon,
        // which the trimmed value does not keep. They re-emit with one and read back
        // the same.
        for fixture in [NERO_REGISTER, TCP_REGISTER] {
            let m = parse(fixture).unwrap();
            let bytes = m.to_vec().unwrap();
            assert_eq!(bytes.len(), fixture.len() - 1);
            assert_eq!(parse(&bytes).unwrap(), m);
        }
    }

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9.!%*_+`'~-]{1,12}"
    }

    /// A header value: printable, no surrounding whitespace, maybe folded.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[!-~]([ -~]{0,30}[!-~])?",
            ("[!-~]{1,10}", "(\r\n|\n)[ \t]{1,3}", "[!-~]{1,10}").prop_map(|(a, f, b)| a + &f + &b),
        ]
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            request in any::<bool>(),
            method in token(),
            uri in "[a-z]{1,5}:[!-~]{1,30}",
            version in "SIP/[0-9]{1,2}\\.[0-9]{1,2}",
            code in 100u16..=699,
            reason in "[ -~\t]{0,30}",
            // `X-` names cannot collide with Content-Length (or its compact `l`).
            headers in proptest::collection::vec(("X-[A-Za-z0-9-]{0,12}", value()), 0..12),
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let start = if request {
                SipStartLine::Request { method: SipMethod(&method), uri: &uri, version: &version }
            } else {
                SipStartLine::Response { version: &version, code, reason: &reason }
            };
            let cl = body.len().to_string();
            let mut pairs: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            pairs.push(("Content-Length", &cl));
            let x = SipMessage::from_parts(start, &pairs, &body);
            let bytes = x.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), x.buffer_len());
            prop_assert_eq!(&parse(&bytes).unwrap(), &x);
            let (s, rest) = parse_stream(&bytes).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(s, x);
        }

        #[test]
        fn parsed_messages_re_emit_and_read_back(
            lines in proptest::collection::vec(prop_oneof![
                // `name : value` with odd spacing (trimmed on reading), folds, junk.
                (token(), "[ \t]{0,2}", "[ -~\t]{0,30}").prop_map(|(n, sp, v)| format!("{n}{sp}:{v}")),
                "[ \t][ -~]{0,20}",
                "[ -~\t]{0,40}",
            ], 0..20),
            body in proptest::collection::vec(any::<u8>(), 0..64)
        ) {
            let mut data = b"REGISTER sip:a@b SIP/2.0\r\n".to_vec();
            for l in &lines {
                data.extend_from_slice(l.as_bytes());
                data.extend_from_slice(b"\r\n");
            }
            data.extend_from_slice(b"\r\n");
            data.extend_from_slice(&body);
            let m = parse(&data).unwrap();
            // Kept-aside lines move ahead of the headers, and a continuation line
            // after one of them would join it: compare only when there are none.
            if m.malformed_headers.is_empty() {
                let bytes = m.to_vec().unwrap();
                prop_assert_eq!(parse(&bytes).unwrap(), m);
            }
        }
    }
}
