//! DNS (RFC 1035) with SRV (RFC 2782) and AAAA (RFC 3596) records: the lookups a
//! phone makes for its TFTP server, its call agents (`_sip._udp` SRV) and its
//! HTTP services. [`parse`] reads a UDP payload; [`parse_tcp`] reads one message
//! behind the 2-byte length prefix of TCP 53.
//!
//! Choices:
//! - Names are not copied: a [`DnsName`] points into the message and
//!   [`DnsName::labels`] walks its labels, following compression pointers. Each
//!   name is checked once, when the message is parsed: at most
//!   [`MAX_POINTERS`] pointers per name and [`MAX_NAME_LEN`] bytes in all, so a
//!   pointer loop is an error, never a hang. Forward pointers are accepted
//!   (tshark and tcpdump read them too).
//! - The header's four counts are checked against the bytes present: records
//!   are read one by one until a count is met, so a message claiming 65535
//!   answers fails with `Truncated` where its bytes end, after work bounded by
//!   its length. Bytes after the last record are ignored.
//! - A, AAAA, CNAME and SRV rdata are decoded; other types stay raw. Typed
//!   rdata whose length does not fit its type (an A of 3 bytes, a CNAME with
//!   bytes after its name, a name that does not decode) is kept raw too.
//! - Record classes and TTLs are kept as read (in an OPT record they carry the
//!   UDP payload size and the extended flags).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::codepoint::code_points;
use crate::emit::{self, unrepresentable, EmitError, Writer};
use crate::error::{DissectError, ErrorKind, Proto};

/// Most compression pointers followed in one name.
pub const MAX_POINTERS: usize = 32;
/// Most bytes of a name in wire form, length bytes and root included (RFC 1035 §3.1).
pub const MAX_NAME_LEN: usize = 255;
/// The size of the fixed header.
pub const HEADER_LEN: usize = 12;

code_points! {
    /// The 4-bit operation code of the header.
    DnsOpcode(u8), debug = name "{}" {
        /// A standard query.
        QUERY = 0 => "Standard query",
        /// An inverse query (obsolete).
        IQUERY = 1 => "Inverse query",
        /// A server status request.
        STATUS = 2 => "Server status request",
        /// A zone change notification (RFC 1996).
        NOTIFY = 4 => "Zone change notification",
        /// A dynamic update (RFC 2136).
        UPDATE = 5 => "Dynamic update",
    }
}

code_points! {
    /// The 4-bit response code of the header.
    DnsRcode(u8), debug = name "{}" {
        /// No error.
        NOERROR = 0 => "No error",
        /// The server could not read the query.
        FORMERR = 1 => "Format error",
        /// The server failed (a resolver with no upstream answers this).
        SERVFAIL = 2 => "Server failure",
        /// The name does not exist.
        NXDOMAIN = 3 => "No such name",
        /// The server does not do this kind of query.
        NOTIMP = 4 => "Not implemented",
        /// The server refuses to answer.
        REFUSED = 5 => "Refused",
        /// A name exists that should not (RFC 2136).
        YXDOMAIN = 6 => "Name exists",
        /// An RR set exists that should not (RFC 2136).
        YXRRSET = 7 => "RRset exists",
        /// An RR set that should exist does not (RFC 2136).
        NXRRSET = 8 => "RRset does not exist",
        /// Not authoritative (RFC 2136).
        NOTAUTH = 9 => "Not authoritative",
        /// A name outside the zone (RFC 2136).
        NOTZONE = 10 => "Name out of zone",
    }
}

code_points! {
    /// A question's or record's type.
    DnsType(u16), debug = name "{}" {
        /// An IPv4 address.
        A = 1 => "A",
        /// A name server.
        NS = 2 => "NS",
        /// The canonical name of an alias.
        CNAME = 5 => "CNAME",
        /// A zone's start of authority (in the authority section of NXDOMAIN).
        SOA = 6 => "SOA",
        /// A pointer (reverse lookups).
        PTR = 12 => "PTR",
        /// A mail exchanger.
        MX = 15 => "MX",
        /// Text.
        TXT = 16 => "TXT",
        /// An IPv6 address (RFC 3596).
        AAAA = 28 => "AAAA",
        /// A service location (RFC 2782).
        SRV = 33 => "SRV",
        /// A naming authority pointer (RFC 3403, SIP server discovery).
        NAPTR = 35 => "NAPTR",
        /// The EDNS(0) pseudo-record (RFC 6891).
        OPT = 41 => "OPT",
        /// Any type (a query only).
        ANY = 255 => "ANY",
    }
}

code_points! {
    /// A question's or record's class.
    DnsClass(u16), debug = name "{}" {
        /// The Internet.
        IN = 1 => "IN",
        /// Chaos.
        CH = 3 => "CH",
        /// Hesiod.
        HS = 4 => "HS",
        /// Any class (a query only).
        ANY = 255 => "ANY",
    }
}

/// A domain name inside a message: where it starts, and how many bytes it takes
/// there (up to its root label or first compression pointer). Equality compares
/// the labels, byte for byte, not where they are.
#[derive(Clone, Copy)]
pub struct DnsName<'a> {
    msg: &'a [u8],
    start: usize,
    wire_len: usize,
}

/// The labels of a [`DnsName`], first to last (the root is not yielded).
#[derive(Debug, Clone)]
pub struct DnsLabels<'a> {
    msg: &'a [u8],
    pos: usize,
    pointers: usize,
    done: bool,
}

impl<'a> Iterator for DnsLabels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The name was checked when parsed; the bounds are kept anyway so the
        // iterator ends on any input.
        while !self.done {
            let len = usize::from(*self.msg.get(self.pos)?);
            match len & 0xc0 {
                0 if len == 0 => self.done = true,
                0 => {
                    let label = self.msg.get(self.pos + 1..self.pos + 1 + len);
                    self.pos += 1 + len;
                    if label.is_none() {
                        self.done = true;
                    }
                    return label;
                }
                0xc0 if self.pointers < MAX_POINTERS => {
                    let low = usize::from(*self.msg.get(self.pos + 1)?);
                    self.pos = (len & 0x3f) << 8 | low;
                    self.pointers += 1;
                }
                _ => self.done = true,
            }
        }
        None
    }
}

impl<'a> DnsName<'a> {
    /// The root name (`.`).
    pub const ROOT: DnsName<'static> = DnsName {
        msg: &[0],
        start: 0,
        wire_len: 1,
    };

    /// A name from its uncompressed wire form (`\x03www\x07example\x03com\x00`),
    /// for building messages to emit.
    ///
    /// # Errors
    /// As [`parse`] fails on a name; a compression pointer (which would point
    /// into `wire`, not into a message) is `Malformed`, and so are bytes after
    /// the root label.
    pub fn uncompressed(wire: &'a [u8]) -> Result<Self, DissectError> {
        let name = read_name(wire, 0)?;
        if name.wire_len != wire.len() || name.wire().last() != Some(&0) {
            return Err(DissectError {
                proto: Proto::Dns,
                offset: name.wire_len,
                kind: ErrorKind::Malformed("not one uncompressed name"),
            });
        }
        Ok(name)
    }

    /// The labels, following compression pointers (no allocation).
    pub fn labels(&self) -> DnsLabels<'a> {
        DnsLabels {
            msg: self.msg,
            pos: self.start,
            pointers: 0,
            done: false,
        }
    }

    /// The bytes the name takes where it is written (a pointer included, not
    /// what it points to): what `emit` writes back.
    pub fn wire(&self) -> &'a [u8] {
        self.msg
            .get(self.start..self.start + self.wire_len)
            .unwrap_or_default()
    }

    /// Whether this is the root name (no labels).
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// Append the name in dotted form (`www.example.com`, the root as `.`) to
    /// `out`, writing at most `max` more bytes; bytes outside printable ASCII, dots
    /// and backslashes inside a label are written `\DDD` as in zone files.
    /// Returns false when the name was cut to fit `max`.
    pub fn write_to(&self, out: &mut String, max: usize) -> bool {
        let limit = out.len().saturating_add(max);
        let push = |out: &mut String, s: &str| -> bool {
            if out.len() + s.len() > limit {
                return false;
            }
            out.push_str(s);
            true
        };
        let mut any = false;
        for (i, label) in self.labels().enumerate() {
            any = true;
            if i > 0 && !push(out, ".") {
                return false;
            }
            for &b in label {
                // A plain byte, or `\DDD` (three decimal digits), on the stack.
                let escaped = [b'\\', b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10];
                let plain = [b];
                let bytes: &[u8] = if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    &plain
                } else {
                    &escaped
                };
                let ok = push(out, std::str::from_utf8(bytes).unwrap_or_default());
                if !ok {
                    return false;
                }
            }
        }
        any || push(out, ".")
    }

    /// The name in dotted form, at most [`MAX_NAME_LEN`] * 4 bytes (every byte escaped).
    pub fn to_dotted(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s, MAX_NAME_LEN * 4);
        s
    }
}

impl PartialEq for DnsName<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.labels().eq(other.labels())
    }
}

impl Eq for DnsName<'_> {}

impl fmt::Debug for DnsName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DnsName({:?})", self.to_dotted())
    }
}

impl fmt::Display for DnsName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_dotted())
    }
}

/// The fixed 12-byte header, without its counts (they are the lengths of the
/// message's sections).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsHeader {
    /// Transaction id, matching a response to its query.
    pub id: u16,
    /// QR: a response (true) or a query.
    pub response: bool,
    /// Operation code (4 bits).
    pub opcode: DnsOpcode,
    /// AA: authoritative answer.
    pub authoritative: bool,
    /// TC: truncated (retry over TCP).
    pub truncated: bool,
    /// RD: recursion desired.
    pub recursion_desired: bool,
    /// RA: recursion available.
    pub recursion_available: bool,
    /// The three bits between RA and the rcode (Z, AD and CD of RFC 4035).
    pub z: u8,
    /// Response code (4 bits).
    pub rcode: DnsRcode,
}

/// One question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsQuestion<'a> {
    /// The name asked for.
    pub name: DnsName<'a>,
    /// The type asked for.
    pub qtype: DnsType,
    /// The class asked for (its top bit is mDNS's unicast-response bit).
    pub qclass: DnsClass,
}

/// The data of a record, decoded for the types a phone's boot uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsRdata<'a> {
    /// An A record's address.
    A(Ipv4Addr),
    /// An AAAA record's address.
    Aaaa(Ipv6Addr),
    /// A CNAME record's canonical name.
    Cname(DnsName<'a>),
    /// An SRV record (RFC 2782).
    Srv {
        /// Lower is tried first.
        priority: u16,
        /// Share among equal priorities.
        weight: u16,
        /// The service's port.
        port: u16,
        /// The host offering it (`.` for "not here").
        target: DnsName<'a>,
    },
    /// Any other type (or a typed record whose data does not fit its type), raw.
    Other(&'a [u8]),
}

/// One resource record of the answer, authority or additional section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsRecord<'a> {
    /// The owner name.
    pub name: DnsName<'a>,
    /// The record type.
    pub rtype: DnsType,
    /// The class (the UDP payload size in an OPT record).
    pub class: DnsClass,
    /// Time to live, seconds (the extended rcode and flags in an OPT record).
    pub ttl: u32,
    /// The data.
    pub rdata: DnsRdata<'a>,
}

/// One dissected DNS message, borrowing its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage<'a> {
    /// The header.
    pub header: DnsHeader,
    /// The question section.
    pub questions: Vec<DnsQuestion<'a>>,
    /// The answer section.
    pub answers: Vec<DnsRecord<'a>>,
    /// The authority section.
    pub authority: Vec<DnsRecord<'a>>,
    /// The additional section.
    pub additional: Vec<DnsRecord<'a>>,
}

impl<'a> DnsMessage<'a> {
    /// The records of all three sections, in order.
    pub fn records(&self) -> impl Iterator<Item = &DnsRecord<'a>> {
        self.answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
    }
}

/// An error at `offset` of the message.
fn err(offset: usize, kind: ErrorKind) -> DissectError {
    DissectError {
        proto: Proto::Dns,
        offset,
        kind,
    }
}

/// The name starting at `start` of `msg`, checked: every label and pointer
/// inside the message, at most [`MAX_POINTERS`] pointers and [`MAX_NAME_LEN`] bytes.
fn read_name(msg: &[u8], start: usize) -> Result<DnsName<'_>, DissectError> {
    let mut pos = start;
    let mut wire_len = None;
    let mut pointers = 0;
    let mut total = 0usize;
    loop {
        let len = usize::from(*msg.get(pos).ok_or(err(pos, ErrorKind::Truncated))?);
        match len & 0xc0 {
            0 => {
                total += len + 1;
                if total > MAX_NAME_LEN {
                    return Err(err(
                        start,
                        ErrorKind::TooLong {
                            len: total,
                            max: MAX_NAME_LEN,
                        },
                    ));
                }
                if len == 0 {
                    wire_len.get_or_insert_with(|| pos + 1 - start);
                    break;
                }
                if msg.len() < pos + 1 + len {
                    return Err(err(pos, ErrorKind::Truncated));
                }
                pos += 1 + len;
            }
            0xc0 => {
                let low = usize::from(*msg.get(pos + 1).ok_or(err(pos, ErrorKind::Truncated))?);
                wire_len.get_or_insert_with(|| pos + 2 - start);
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(err(pos, ErrorKind::Malformed("DNS name compression loop")));
                }
                let target = (len & 0x3f) << 8 | low;
                if target >= msg.len() {
                    return Err(err(
                        pos,
                        ErrorKind::BadValue {
                            field: "compression pointer",
                            value: target as u32,
                        },
                    ));
                }
                pos = target;
            }
            _ => {
                return Err(err(
                    pos,
                    ErrorKind::BadValue {
                        field: "label type",
                        value: len as u32,
                    },
                ))
            }
        }
    }
    Ok(DnsName {
        msg,
        start,
        wire_len: wire_len.unwrap_or(1),
    })
}

/// A read position in the message.
struct Cursor<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DissectError> {
        let b = self
            .msg
            .get(self.pos..self.pos + n)
            .ok_or(err(self.pos, ErrorKind::Truncated))?;
        self.pos += n;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, DissectError> {
        let b = self.take(2)?;
        Ok(b.iter().fold(0, |v, &x| v << 8 | u16::from(x)))
    }

    fn u32(&mut self) -> Result<u32, DissectError> {
        let b = self.take(4)?;
        Ok(b.iter().fold(0, |v, &x| v << 8 | u32::from(x)))
    }

    fn name(&mut self) -> Result<DnsName<'a>, DissectError> {
        let name = read_name(self.msg, self.pos)?;
        self.pos += name.wire_len;
        Ok(name)
    }

    fn remaining(&self) -> usize {
        self.msg.len().saturating_sub(self.pos)
    }
}

/// Typed rdata when `raw` (at `start` of `msg`) fits its type exactly, else raw.
fn rdata<'a>(msg: &'a [u8], start: usize, rtype: DnsType, raw: &'a [u8]) -> DnsRdata<'a> {
    let name_filling = |at: usize| {
        read_name(msg, at)
            .ok()
            .filter(|n| at + n.wire_len == start + raw.len())
    };
    match rtype {
        DnsType::A => <[u8; 4]>::try_from(raw)
            .map_or(DnsRdata::Other(raw), |b| DnsRdata::A(Ipv4Addr::from(b))),
        DnsType::AAAA => <[u8; 16]>::try_from(raw)
            .map_or(DnsRdata::Other(raw), |b| DnsRdata::Aaaa(Ipv6Addr::from(b))),
        DnsType::CNAME => name_filling(start).map_or(DnsRdata::Other(raw), DnsRdata::Cname),
        DnsType::SRV => match (raw.get(..6), name_filling(start + 6)) {
            (Some(&[p0, p1, w0, w1, o0, o1]), Some(target)) => DnsRdata::Srv {
                priority: u16::from_be_bytes([p0, p1]),
                weight: u16::from_be_bytes([w0, w1]),
                port: u16::from_be_bytes([o0, o1]),
                target,
            },
            _ => DnsRdata::Other(raw),
        },
        _ => DnsRdata::Other(raw),
    }
}

fn record<'a>(c: &mut Cursor<'a>) -> Result<DnsRecord<'a>, DissectError> {
    let name = c.name()?;
    let rtype = DnsType(c.u16()?);
    let class = DnsClass(c.u16()?);
    let ttl = c.u32()?;
    let rdlength = usize::from(c.u16()?);
    let start = c.pos;
    let raw = c.take(rdlength)?;
    Ok(DnsRecord {
        name,
        rtype,
        class,
        ttl,
        rdata: rdata(c.msg, start, rtype, raw),
    })
}

/// `count` items read by `item`, each taking at least `min` bytes: the Vec is
/// sized by what the bytes left can hold, not by the count claimed.
fn section<'a, T>(
    c: &mut Cursor<'a>,
    count: u16,
    min: usize,
    item: impl Fn(&mut Cursor<'a>) -> Result<T, DissectError>,
) -> Result<Vec<T>, DissectError> {
    let mut v = Vec::with_capacity(usize::from(count).min(c.remaining() / min));
    for _ in 0..count {
        v.push(item(c)?);
    }
    Ok(v)
}

/// Dissect one DNS message (a UDP payload, from the transaction id).
///
/// # Errors
/// `Truncated` when the message ends inside the header, a name, a fixed field or
/// an rdata, or before a section holds its count (offset: the field that is cut);
/// `TooLong { max: 255 }` for a name over 255 bytes (offset: the name's start);
/// `Malformed("DNS name compression loop")` past [`MAX_POINTERS`] pointers and
/// `BadValue { field: "compression pointer" }` for a pointer past the end (offset:
/// the pointer); `BadValue { field: "label type" }` for the reserved label types
/// 0x40 and 0x80 (offset: the label).
pub fn parse(input: &[u8]) -> Result<DnsMessage<'_>, DissectError> {
    let mut c = Cursor { msg: input, pos: 0 };
    let id = c.u16()?;
    let flags = c.u16()?;
    let counts = [c.u16()?, c.u16()?, c.u16()?, c.u16()?];
    let [qd, an, ns, ar] = counts;
    let bit = |n: u16| flags & (1 << n) != 0;
    let header = DnsHeader {
        id,
        response: bit(15),
        opcode: DnsOpcode(((flags >> 11) & 0xf) as u8),
        authoritative: bit(10),
        truncated: bit(9),
        recursion_desired: bit(8),
        recursion_available: bit(7),
        z: ((flags >> 4) & 0x7) as u8,
        rcode: DnsRcode((flags & 0xf) as u8),
    };
    let questions = section(&mut c, qd, 5, |c| {
        Ok(DnsQuestion {
            name: c.name()?,
            qtype: DnsType(c.u16()?),
            qclass: DnsClass(c.u16()?),
        })
    })?;
    let answers = section(&mut c, an, 11, record)?;
    let authority = section(&mut c, ns, 11, record)?;
    let additional = section(&mut c, ar, 11, record)?;
    Ok(DnsMessage {
        header,
        questions,
        answers,
        authority,
        additional,
    })
}

/// Dissect one DNS message behind its 2-byte length prefix (TCP 53); returns it
/// and the bytes after it. Error offsets count from the prefix.
///
/// # Errors
/// `NeedMore(n)` when the prefix or the message continues past `input`;
/// `BadLength { min: 12 }` for a length below a header's; otherwise as [`parse`].
pub fn parse_tcp(input: &[u8]) -> Result<(DnsMessage<'_>, &[u8]), DissectError> {
    let Some(&[hi, lo]) = input.get(..2) else {
        return Err(err(input.len(), ErrorKind::NeedMore(2 - input.len())));
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < HEADER_LEN {
        return Err(err(
            0,
            ErrorKind::BadLength {
                len,
                min: HEADER_LEN,
            },
        ));
    }
    let body = input.get(2..2 + len).ok_or_else(|| {
        err(
            input.len(),
            ErrorKind::NeedMore((2 + len).saturating_sub(input.len())),
        )
    })?;
    let rest = input.get(2 + len..).unwrap_or_default();
    let msg = parse(body).map_err(|e| err(e.offset + 2, e.kind))?;
    Ok((msg, rest))
}

impl DnsRdata<'_> {
    fn buffer_len(&self) -> usize {
        match self {
            DnsRdata::A(_) => 4,
            DnsRdata::Aaaa(_) => 16,
            DnsRdata::Cname(n) => n.wire_len,
            DnsRdata::Srv { target, .. } => 6 + target.wire_len,
            DnsRdata::Other(raw) => raw.len(),
        }
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        match self {
            DnsRdata::A(a) => w.bytes(&a.octets()),
            DnsRdata::Aaaa(a) => w.bytes(&a.octets()),
            DnsRdata::Cname(n) => w.bytes(n.wire()),
            DnsRdata::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                w.be_u16(*priority)?;
                w.be_u16(*weight)?;
                w.be_u16(*port)?;
                w.bytes(target.wire())
            }
            DnsRdata::Other(raw) => w.bytes(raw),
        }
    }
}

impl DnsRecord<'_> {
    fn buffer_len(&self) -> usize {
        self.name
            .wire_len
            .saturating_add(10)
            .saturating_add(self.rdata.buffer_len())
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let rdlength = u16::try_from(self.rdata.buffer_len())
            .map_err(|_| unrepresentable(Proto::Dns, "rdata", "over 65535 bytes"))?;
        w.bytes(self.name.wire())?;
        w.be_u16(self.rtype.0)?;
        w.be_u16(self.class.0)?;
        w.be_u32(self.ttl)?;
        w.be_u16(rdlength)?;
        self.rdata.write(w)
    }
}

/// Writing a message back: `emit` writes exactly what `parse` reads, so
/// `parse(&msg.to_vec()?) == Ok(msg)` for a message `parse` returned.
///
/// - Names are written as they were read, compression pointers included: a
///   parsed message comes back byte for byte (but for bytes after its last
///   record), and a message assembled from names of several messages must use
///   uncompressed names ([`DnsName::uncompressed`]) for its pointers to stay right.
/// - The counts are the sections' lengths; more than 65535 items in one is
///   `Unrepresentable`, as is rdata over 65535 bytes. The opcode and rcode keep
///   their low 4 bits, `z` its low 3.
impl DnsMessage<'_> {
    /// The exact number of bytes [`DnsMessage::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let q = self
            .questions
            .iter()
            .fold(0usize, |n, q| n.saturating_add(q.name.wire_len + 4));
        self.records().fold(HEADER_LEN.saturating_add(q), |n, r| {
            n.saturating_add(r.buffer_len())
        })
    }

    /// Write the message (the UDP payload) into `buf[..self.buffer_len()]`;
    /// returns the length written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`DnsMessage::buffer_len`]; `Unrepresentable` for a section over 65535
    /// items or rdata over 65535 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Dns, buf, needed)?;
        self.write(&mut w)?;
        Ok(needed)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let h = &self.header;
        let flag = |b: bool, n: u16| u16::from(b) << n;
        let flags = flag(h.response, 15)
            | u16::from(h.opcode.0 & 0xf) << 11
            | flag(h.authoritative, 10)
            | flag(h.truncated, 9)
            | flag(h.recursion_desired, 8)
            | flag(h.recursion_available, 7)
            | u16::from(h.z & 0x7) << 4
            | u16::from(h.rcode.0 & 0xf);
        let count = |n: usize, field| {
            u16::try_from(n).map_err(|_| unrepresentable(Proto::Dns, field, "over 65535 items"))
        };
        w.be_u16(h.id)?;
        w.be_u16(flags)?;
        w.be_u16(count(self.questions.len(), "questions")?)?;
        w.be_u16(count(self.answers.len(), "answers")?)?;
        w.be_u16(count(self.authority.len(), "authority")?)?;
        w.be_u16(count(self.additional.len(), "additional")?)?;
        for q in &self.questions {
            w.bytes(q.name.wire())?;
            w.be_u16(q.qtype.0)?;
            w.be_u16(q.qclass.0)?;
        }
        self.records().try_for_each(|r| r.write(w))
    }

    /// The message in a new buffer of [`DnsMessage::buffer_len`] bytes.
    ///
    /// # Errors
    /// As [`DnsMessage::emit`], but never `BufferTooSmall`.
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }

    /// The message behind its 2-byte length prefix, as sent over TCP.
    ///
    /// # Errors
    /// As [`DnsMessage::emit`]; `Unrepresentable` for a message over 65535 bytes.
    pub fn to_vec_tcp(&self) -> Result<Vec<u8>, EmitError> {
        let len = self.buffer_len();
        let prefix = u16::try_from(len)
            .map_err(|_| unrepresentable(Proto::Dns, "length", "over 65535 bytes"))?;
        emit::to_vec(len.saturating_add(2), |buf| {
            let mut w = Writer::new(Proto::Dns, buf, len.saturating_add(2))?;
            w.be_u16(prefix)?;
            self.write(&mut w)?;
            Ok(w.pos())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRV_SIP: &[u8] = include_bytes!("../testdata/dns/srv-sip-udp-google.bin");
    const NXDOMAIN: &[u8] = include_bytes!("../testdata/dns/nxdomain-dne-oisf.bin");
    const CNAME: &[u8] = include_bytes!("../testdata/dns/cname-additionals.bin");
    const A_AAAA: &[u8] = include_bytes!("../testdata/dns/a-aaaa-tcpdump-org.bin");
    const TCP_A: &[u8] = include_bytes!("../testdata/dns/tcp-a-tcpdump-org.bin");

    /// A hand-built SERVFAIL: id 0x1234, QR RD RA, rcode 2, one question
    /// `tftp.example.com` A IN, no records.
    const SERVFAIL: &[u8] = b"\x12\x34\x81\x82\x00\x01\x00\x00\x00\x00\x00\x00\
        \x04tftp\x07example\x03com\x00\x00\x01\x00\x01";

    fn dotted(n: &DnsName<'_>) -> String {
        n.to_dotted()
    }

    #[test]
    fn srv_answer_for_sip_udp() {
        // tshark: id 0xeb56, rcode 0, _sip._udp.sip.voice.google.com SRV,
        // targets sip-anycast-2 (prio 20) and sip-anycast-1 (prio 10), port 5060,
        // weight 1, TTL 275; one OPT additional.
        let m = parse(SRV_SIP).unwrap();
        let h = m.header;
        assert_eq!(
            (h.id, h.response, h.rcode),
            (0xeb56, true, DnsRcode::NOERROR)
        );
        assert_eq!((h.opcode, h.recursion_desired), (DnsOpcode::QUERY, true));
        assert_eq!(m.questions.len(), 1);
        let q = m.questions[0];
        assert_eq!(dotted(&q.name), "_sip._udp.sip.voice.google.com");
        assert_eq!((q.qtype, q.qclass), (DnsType::SRV, DnsClass::IN));
        let srv: Vec<_> = m
            .answers
            .iter()
            .map(|r| match r.rdata {
                DnsRdata::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => (r.ttl, priority, weight, port, dotted(&target)),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            srv,
            [
                (275, 20, 1, 5060, "sip-anycast-2.voice.google.com".into()),
                (275, 10, 1, 5060, "sip-anycast-1.voice.google.com".into()),
            ]
        );
        assert_eq!(m.answers[0].name, q.name);
        assert!(m.authority.is_empty());
        let opt = m.additional[0];
        assert_eq!((opt.rtype, opt.class.0), (DnsType::OPT, 4096));
        assert!(opt.name.is_root());
        assert_eq!(opt.rdata, DnsRdata::Other(&[]));
    }

    #[test]
    fn nxdomain_with_soa() {
        // tshark: id 0x8295, rcode 3, dne.oisf.net, one authority (oisf.net, TTL 899).
        let m = parse(NXDOMAIN).unwrap();
        assert_eq!((m.header.id, m.header.rcode), (0x8295, DnsRcode::NXDOMAIN));
        assert_eq!(format!("{:?}", m.header.rcode), "No such name");
        assert_eq!(dotted(&m.questions[0].name), "dne.oisf.net");
        assert!(m.answers.is_empty());
        let soa = m.authority[0];
        assert_eq!(
            (dotted(&soa.name), soa.rtype, soa.ttl),
            ("oisf.net".into(), DnsType::SOA, 899)
        );
        assert!(matches!(soa.rdata, DnsRdata::Other(r) if !r.is_empty()));
        assert_eq!(m.additional.len(), 1);
    }

    #[test]
    fn cname_in_additionals() {
        // tshark: example.com A 192.168.1.1 (TTL 300); service.example.com CNAME
        // internal-service.example.net (TTL 300).
        let m = parse(CNAME).unwrap();
        assert_eq!((m.header.id, m.header.authoritative), (0, true));
        let a = m.answers[0];
        assert_eq!(dotted(&a.name), "example.com");
        assert_eq!(a.rdata, DnsRdata::A(Ipv4Addr::new(192, 168, 1, 1)));
        let c = m.additional[0];
        assert_eq!(
            (dotted(&c.name), c.ttl),
            ("service.example.com".into(), 300)
        );
        let DnsRdata::Cname(target) = c.rdata else {
            panic!("{c:?}")
        };
        assert_eq!(dotted(&target), "internal-service.example.net");
    }

    #[test]
    fn a_and_aaaa_with_compression() {
        // tshark: id 0x5934, www.tcpdump.org, 2 answers, 2 authority, 5 additional;
        // A 192.139.46.66, 198.199.88.104, 209.87.249.18, 97.107.133.15;
        // AAAA 2607:f0b0:f::babe:f00d, 2600:3c03::f03c:91ff:fe96:e8ef.
        let m = parse(A_AAAA).unwrap();
        assert_eq!(m.header.id, 0x5934);
        assert_eq!(
            (m.answers.len(), m.authority.len(), m.additional.len()),
            (2, 2, 5)
        );
        let a: Vec<_> = m
            .records()
            .filter_map(|r| match r.rdata {
                DnsRdata::A(a) => Some(a.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            a,
            [
                "192.139.46.66",
                "198.199.88.104",
                "209.87.249.18",
                "97.107.133.15"
            ]
        );
        let aaaa: Vec<_> = m
            .records()
            .filter_map(|r| match r.rdata {
                DnsRdata::Aaaa(a) => Some(a.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            aaaa,
            ["2607:f0b0:f::babe:f00d", "2600:3c03::f03c:91ff:fe96:e8ef"]
        );
        let names: Vec<_> = m.records().map(|r| dotted(&r.name)).collect();
        assert_eq!(
            names,
            [
                "www.tcpdump.org",
                "www.tcpdump.org",
                "tcpdump.org",
                "tcpdump.org",
                "nic.sandelman.ca",
                "nic.sandelman.ca",
                "sns.cooperix.net",
                "sns.cooperix.net",
                "."
            ]
        );
        // A compressed owner name is a 2-byte pointer in place.
        assert_eq!(m.answers[0].name.wire(), b"\xc0\x0c");
    }

    #[test]
    fn tcp_length_prefix() {
        // tshark: id 0x4319, the same answer as the UDP one, 2 + 224 bytes.
        let (m, rest) = parse_tcp(TCP_A).unwrap();
        assert!(rest.is_empty());
        assert_eq!((m.header.id, m.answers.len()), (0x4319, 2));
        assert_eq!(m.to_vec_tcp().unwrap(), TCP_A);
        // Two messages back to back.
        let mut two = TCP_A.to_vec();
        two.extend_from_slice(TCP_A);
        let (_, rest) = parse_tcp(&two).unwrap();
        assert_eq!(rest, TCP_A);
        // Cut: the prefix, then the message.
        let e = parse_tcp(&TCP_A[..1]).unwrap_err();
        assert_eq!((e.offset, e.kind), (1, ErrorKind::NeedMore(1)));
        let e = parse_tcp(&TCP_A[..100]).unwrap_err();
        assert_eq!((e.offset, e.kind), (100, ErrorKind::NeedMore(126)));
        let e = parse_tcp(b"\x00\x05hello").unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (0, ErrorKind::BadLength { len: 5, min: 12 })
        );
        // An error inside counts from the prefix.
        let mut bad = TCP_A.to_vec();
        bad[2 + 12] = 0x40;
        let e = parse_tcp(&bad).unwrap_err();
        assert_eq!(e.offset, 14);
    }

    #[test]
    fn servfail_hand_built() {
        let m = parse(SERVFAIL).unwrap();
        let h = m.header;
        assert_eq!(
            (h.id, h.rcode, h.recursion_available),
            (0x1234, DnsRcode::SERVFAIL, true)
        );
        assert_eq!(DnsRcode::SERVFAIL.name(), Some("Server failure"));
        assert_eq!(dotted(&m.questions[0].name), "tftp.example.com");
        assert_eq!(m.to_vec().unwrap(), SERVFAIL);
    }

    #[test]
    fn unknown_codes_are_data() {
        let mut b = SERVFAIL.to_vec();
        b[2] = 0x80 | (7 << 3); // opcode 7
        b[3] = 0x0c; // rcode 12
        let n = b.len();
        b[n - 3] = 99; // qtype 99
        let m = parse(&b).unwrap();
        assert_eq!(
            (m.header.opcode, m.header.rcode),
            (DnsOpcode(7), DnsRcode(12))
        );
        assert_eq!(m.header.rcode.name(), None);
        assert_eq!(format!("{:?}", m.questions[0].qtype), "DnsType(99)");
        assert_eq!(m.to_vec().unwrap(), b);
    }

    #[test]
    fn truncation_at_each_field() {
        // A header with one answer, then its parts cut one by one.
        let msg: &[u8] = b"\x00\x01\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\
            \x01a\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01";
        assert!(parse(msg).is_ok());
        for (len, offset) in [
            (0, 0),   // id
            (3, 2),   // flags
            (11, 10), // arcount
            (12, 12), // no record at all
            (13, 12), // label cut (offset: its length byte)
            (14, 14), // no root label
            (16, 15), // type cut
            (20, 19), // TTL cut
            (24, 23), // rdlength cut
            (26, 25), // rdata cut
        ] {
            let e = parse(&msg[..len]).unwrap_err();
            assert_eq!(
                (e.proto, e.offset, e.kind),
                (Proto::Dns, offset, ErrorKind::Truncated),
                "{len}"
            );
        }
        // A pointer cut after its first byte.
        let e = parse(b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0").unwrap_err();
        assert_eq!((e.offset, e.kind), (12, ErrorKind::Truncated));
    }

    #[test]
    fn counts_are_bounded_by_the_bytes() {
        // 65535 answers claimed, none present: Truncated where they should start.
        let e = parse(b"\x00\x01\x81\x80\x00\x00\xff\xff\xff\xff\xff\xff").unwrap_err();
        assert_eq!((e.offset, e.kind), (12, ErrorKind::Truncated));
        // The same claim on a real answer: fails at its end.
        let mut b = SRV_SIP.to_vec();
        b[6] = 0xff;
        b[7] = 0xff;
        assert_eq!(parse(&b).unwrap_err().kind, ErrorKind::Truncated);
    }

    #[test]
    fn pointer_loops_and_bad_names() {
        // A pointer to itself.
        let e = parse(b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01")
            .unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (12, ErrorKind::Malformed("DNS name compression loop"))
        );
        // A label then a pointer back to it: stopped at the pointer, its 33rd use.
        let e = parse(
            b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03abc\xc0\x0c\x00\x01\x00\x01",
        )
        .unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (16, ErrorKind::Malformed("DNS name compression loop"))
        );
        // A long label then a pointer back: the name grows past 255 bytes first.
        let mut b = b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f".to_vec();
        b.extend_from_slice(&[b'y'; 63]);
        b.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        let e = parse(&b).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (12, ErrorKind::TooLong { len: 256, max: 255 })
        );
        let long = [&[0x3f][..], &[b'x'; 63]].concat().repeat(4);
        let mut b = b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
        b.extend_from_slice(&long);
        b.extend_from_slice(b"\x00\x00\x01\x00\x01");
        let e = parse(&b).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (12, ErrorKind::TooLong { len: 256, max: 255 })
        );
        // Two pointers that point at each other.
        let e = parse(
            b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0e\xc0\x0c\x00\x01\x00\x01",
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed("DNS name compression loop"));
        // A pointer past the end.
        let e = parse(b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc1\x00\x00\x01\x00\x01")
            .unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (
                12,
                ErrorKind::BadValue {
                    field: "compression pointer",
                    value: 256
                }
            )
        );
        // The reserved label type 0x40.
        let e = parse(b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x41\x00").unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (
                12,
                ErrorKind::BadValue {
                    field: "label type",
                    value: 0x41
                }
            )
        );
        // A forward pointer is read.
        let m = parse(
            b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x12\x00\x01\x00\x01\x02hi\x00",
        )
        .unwrap();
        assert_eq!(dotted(&m.questions[0].name), "hi");
    }

    #[test]
    fn odd_rdata_is_kept_raw() {
        let base: &[u8] = b"\x00\x01\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\x00";
        // An A of 3 bytes, a CNAME with a byte after its name, an SRV of 5 bytes.
        for (rr, raw) in [
            (
                &b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x03\x0a\x00\x01"[..],
                &b"\x0a\x00\x01"[..],
            ),
            (
                b"\x00\x05\x00\x01\x00\x00\x00\x00\x00\x02\x00\x07",
                b"\x00\x07",
            ),
            (
                b"\x00\x21\x00\x01\x00\x00\x00\x00\x00\x05\x00\x01\x00\x02\x00",
                b"\x00\x01\x00\x02\x00",
            ),
        ] {
            let b = [base, rr].concat();
            let m = parse(&b).unwrap();
            assert_eq!(m.answers[0].rdata, DnsRdata::Other(raw));
            assert_eq!(m.to_vec().unwrap(), b);
        }
    }

    #[test]
    fn names_write_into_a_bounded_string() {
        let n = DnsName::uncompressed(b"\x03www\x07ex.am\\e\x03com\x00").unwrap();
        let mut s = String::from(">");
        assert!(n.write_to(&mut s, 100));
        assert_eq!(s, ">www.ex\\046am\\092e.com");
        let mut s = String::new();
        assert!(!n.write_to(&mut s, 6));
        assert_eq!(s, "www.ex");
        assert_eq!(DnsName::ROOT.to_dotted(), ".");
        assert_eq!(format!("{n}"), "www.ex\\046am\\092e.com");
        assert!(DnsName::uncompressed(b"\x01a").is_err());
        assert!(DnsName::uncompressed(b"\x01a\x00\x00").is_err());
        assert!(DnsName::uncompressed(b"\xc0\x00").is_err());
    }

    #[test]
    fn fixtures_re_emit_byte_exact() {
        for (name, bytes) in [
            ("srv", SRV_SIP),
            ("nxdomain", NXDOMAIN),
            ("cname", CNAME),
            ("a-aaaa", A_AAAA),
            ("servfail", SERVFAIL),
        ] {
            let m = parse(bytes).unwrap();
            assert_eq!(m.buffer_len(), bytes.len(), "{name}");
            assert_eq!(m.to_vec().unwrap(), bytes, "{name}");
        }
        let m = parse(SRV_SIP).unwrap();
        let mut buf = [0u8; 10];
        assert_eq!(
            m.emit(&mut buf),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Dns,
                needed: SRV_SIP.len()
            })
        );
    }

    /// An owned record for the round-trip property: (name wire, type choice, ttl, data).
    #[derive(Debug, Clone)]
    enum GenData {
        A([u8; 4]),
        Aaaa([u8; 16]),
        Cname(Vec<u8>),
        Srv(u16, u16, u16, Vec<u8>),
        Other(u16, Vec<u8>),
    }

    fn gen_name() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec("[a-z0-9_-]{1,10}", 0..5).prop_map(|labels| {
            let mut w = Vec::new();
            for l in labels {
                w.push(l.len() as u8);
                w.extend_from_slice(l.as_bytes());
            }
            w.push(0);
            w
        })
    }

    fn gen_data() -> impl Strategy<Value = GenData> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(GenData::A),
            any::<[u8; 16]>().prop_map(GenData::Aaaa),
            gen_name().prop_map(GenData::Cname),
            (any::<u16>(), any::<u16>(), any::<u16>(), gen_name())
                .prop_map(|(p, w, o, t)| GenData::Srv(p, w, o, t)),
            // Types other than A, AAAA, CNAME and SRV.
            (
                prop_oneof![Just(2u16), Just(6), Just(16), Just(41), Just(65280)],
                proptest::collection::vec(any::<u8>(), 0..20)
            )
                .prop_map(|(t, d)| GenData::Other(t, d)),
        ]
    }

    type GenRecord = (Vec<u8>, u16, u32, GenData);

    fn record_of(g: &GenRecord) -> DnsRecord<'_> {
        let (name, class, ttl, data) = g;
        let (rtype, rdata) = match data {
            GenData::A(a) => (DnsType::A, DnsRdata::A(Ipv4Addr::from(*a))),
            GenData::Aaaa(a) => (DnsType::AAAA, DnsRdata::Aaaa(Ipv6Addr::from(*a))),
            GenData::Cname(n) => (
                DnsType::CNAME,
                DnsRdata::Cname(DnsName::uncompressed(n).unwrap()),
            ),
            GenData::Srv(priority, weight, port, t) => (
                DnsType::SRV,
                DnsRdata::Srv {
                    priority: *priority,
                    weight: *weight,
                    port: *port,
                    target: DnsName::uncompressed(t).unwrap(),
                },
            ),
            GenData::Other(t, d) => (DnsType(*t), DnsRdata::Other(d)),
        };
        DnsRecord {
            name: DnsName::uncompressed(name).unwrap(),
            rtype,
            class: DnsClass(*class),
            ttl: *ttl,
            rdata,
        }
    }

    fn gen_records() -> impl Strategy<Value = Vec<GenRecord>> {
        proptest::collection::vec((gen_name(), any::<u16>(), any::<u32>(), gen_data()), 0..4)
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            id in any::<u16>(),
            flags in any::<[bool; 5]>(),
            opcode in 0u8..16,
            z in 0u8..8,
            rcode in 0u8..16,
            questions in proptest::collection::vec((gen_name(), any::<u16>(), any::<u16>()), 0..3),
            answers in gen_records(),
            authority in gen_records(),
            additional in gen_records(),
        ) {
            let [response, authoritative, truncated, recursion_desired, recursion_available] = flags;
            let msg = DnsMessage {
                header: DnsHeader {
                    id,
                    response,
                    opcode: DnsOpcode(opcode),
                    authoritative,
                    truncated,
                    recursion_desired,
                    recursion_available,
                    z,
                    rcode: DnsRcode(rcode),
                },
                questions: questions
                    .iter()
                    .map(|(n, t, c)| DnsQuestion {
                        name: DnsName::uncompressed(n).unwrap(),
                        qtype: DnsType(*t),
                        qclass: DnsClass(*c),
                    })
                    .collect(),
                answers: answers.iter().map(record_of).collect(),
                authority: authority.iter().map(record_of).collect(),
                additional: additional.iter().map(record_of).collect(),
            };
            let bytes = msg.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), msg.buffer_len());
            prop_assert_eq!(&parse(&bytes).unwrap(), &msg);
            let tcp = msg.to_vec_tcp().unwrap();
            prop_assert_eq!(parse_tcp(&tcp).unwrap(), (msg, &[][..]));
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(m) = parse(&data) {
                let out = m.to_vec().unwrap();
                prop_assert!(data.starts_with(&out));
                for r in m.records() {
                    let mut s = String::new();
                    r.name.write_to(&mut s, 64);
                    prop_assert!(s.len() <= 64);
                }
            }
            let _ = parse_tcp(&data);
        }

        #[test]
        fn names_with_pointers_never_panic(
            tail in proptest::collection::vec(prop_oneof![Just(0xc0u8), Just(0x0c), Just(0), Just(1), any::<u8>()], 0..120),
        ) {
            // One question whose name is any mix of pointers and labels.
            let mut data = b"\x00\x01\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00".to_vec();
            data.extend_from_slice(&tail);
            if let Ok(m) = parse(&data) {
                for q in &m.questions {
                    prop_assert!(q.name.labels().count() <= MAX_NAME_LEN / 2);
                    prop_assert!(q.name.to_dotted().len() <= MAX_NAME_LEN * 4);
                }
            }
        }
    }
}
