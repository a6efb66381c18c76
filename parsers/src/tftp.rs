//! TFTP (RFC 1350) with option negotiation (RFC 2347 OACK and error 8; options
//! blksize RFC 2348, tsize/timeout RFC 2349, windowsize RFC 7440). `dispatch` hands over
//! the UDP payload of port 69 and of the transfer's later ports (TIDs); phones fetch
//! `CTLSEP<MAC>.tlv`, `SEP<MAC>.cnf.xml` and their firmware this way.
//!
//! Choices where the RFCs leave room (Wireshark's `packet-tftp.c` is more lenient):
//! - Every string must end in NUL: a missing terminator on the last string is
//!   `Truncated` (tshark shows the string anyway).
//! - File names, modes and error messages stay raw `&[u8]` (a file name may be in any
//!   8-bit encoding); `*_lossy` helpers give text. Option names and values are NETASCII
//!   by RFC 2347, so they are `&str`, and an option that is not UTF-8 fails the packet.
//! - NUL padding after the last string (sent by some clients) is ignored, as are bytes
//!   after an ACK's block number or an ERROR's message.
//! - An unknown opcode is not TFTP: `BadValue { field: "opcode" }`.

use std::borrow::Cow;

use nom::{
    bytes::complete::{take_till, take_while},
    number::complete::{be_u16, be_u8},
    Parser,
};

use crate::cdp::until_nul;
use crate::codepoint::code_points;
use crate::emit::{self, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

code_points! {
    /// The 2-byte opcode that starts every TFTP packet.
    TftpOpcode(u16), debug = name "{}" {
        /// Read request (RRQ).
        RRQ = 1 => "Read Request",
        /// Write request (WRQ).
        WRQ = 2 => "Write Request",
        /// A block of data.
        DATA = 3 => "Data Packet",
        /// Acknowledgement of a block.
        ACK = 4 => "Acknowledgement",
        /// Error, ends the transfer.
        ERROR = 5 => "Error Code",
        /// Option acknowledgement (RFC 2347).
        OACK = 6 => "Option Acknowledgement",
    }
}

code_points! {
    /// The error code of an ERROR packet. Unknown values are kept as data.
    TftpErrorCode(u16), debug = name "{}" {
        /// See the message.
        NOT_DEFINED = 0 => "Not defined",
        /// File not found (a phone's missing `SEP<MAC>.cnf.xml`, CTL or ITL file).
        FILE_NOT_FOUND = 1 => "File not found",
        /// Access violation.
        ACCESS_VIOLATION = 2 => "Access violation",
        /// Disk full or allocation exceeded.
        DISK_FULL = 3 => "Disk full or allocation exceeded",
        /// Illegal TFTP operation.
        ILLEGAL_OPERATION = 4 => "Illegal TFTP Operation",
        /// Unknown transfer ID (does not end the transfer).
        UNKNOWN_TID = 5 => "Unknown transfer ID",
        /// File already exists.
        FILE_EXISTS = 6 => "File already exists",
        /// No such user.
        NO_SUCH_USER = 7 => "No such user",
        /// Option negotiation refused (RFC 2347); after an OACK it is often a tsize probe.
        OPTION_REFUSED = 8 => "Option negotiation failed",
    }
}

/// One dissected TFTP packet, borrowing the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TftpPacket<'a> {
    /// Opcode 1: the client asks for a file.
    ReadRequest(TftpRequest<'a>),
    /// Opcode 2: the client offers a file.
    WriteRequest(TftpRequest<'a>),
    /// Opcode 3: a block; one shorter than the block size ends the transfer.
    Data {
        /// Block number (wraps at 65535 on large files).
        block: u16,
        /// The block's bytes.
        data: &'a [u8],
    },
    /// Opcode 4: a block received (block 0 answers a WRQ or an OACK).
    Ack {
        /// Block number.
        block: u16,
    },
    /// Opcode 5: the transfer failed.
    Error {
        /// Error code.
        code: TftpErrorCode,
        /// The server's message, without its NUL.
        message: &'a [u8],
    },
    /// Opcode 6: the server accepts these options (RFC 2347).
    OptionAck(TftpOptions<'a>),
}

/// A read or write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpRequest<'a> {
    /// File name, raw (may be empty or non-UTF-8).
    pub filename: &'a [u8],
    /// Transfer mode, raw: "netascii", "octet" or "mail", in any case.
    pub mode: &'a [u8],
    /// RFC 2347 options after the mode.
    pub options: TftpOptions<'a>,
}

/// One RFC 2347 option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TftpOption<'a> {
    /// Name as sent (match it case-insensitively).
    pub name: &'a str,
    /// Value as sent.
    pub value: &'a str,
}

/// The options of a request or OACK, in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TftpOptions<'a>(pub Vec<TftpOption<'a>>);

impl<'a> TftpOptions<'a> {
    /// The value of the first option called `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
            .map(|o| o.value)
    }

    /// The value of option `name` as a decimal number; `None` if absent or not a number.
    pub fn number(&self, name: &str) -> Option<u64> {
        let v = self.get(name)?;
        // Digits only: `u64::from_str` would also take a leading '+'.
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.parse().ok()
    }

    /// `blksize` (RFC 2348, 8..=65464 bytes per block).
    pub fn blksize(&self) -> Option<u64> {
        self.number("blksize")
    }

    /// `tsize` (RFC 2349): 0 in a request asks the server for the size.
    pub fn tsize(&self) -> Option<u64> {
        self.number("tsize")
    }

    /// `timeout` (RFC 2349), seconds.
    pub fn timeout(&self) -> Option<u64> {
        self.number("timeout")
    }

    /// `windowsize` (RFC 7440), blocks per ACK.
    pub fn windowsize(&self) -> Option<u64> {
        self.number("windowsize")
    }

    /// The options in wire order.
    pub fn iter(&self) -> std::slice::Iter<'_, TftpOption<'a>> {
        self.0.iter()
    }

    /// Number of options.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> TftpRequest<'a> {
    /// The file name as text, invalid UTF-8 replaced.
    pub fn filename_lossy(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.filename)
    }

    /// The mode as text, invalid UTF-8 replaced.
    pub fn mode_lossy(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.mode)
    }
}

impl<'a> TftpPacket<'a> {
    /// The opcode this packet was read from.
    pub fn opcode(&self) -> TftpOpcode {
        match self {
            TftpPacket::ReadRequest(_) => TftpOpcode::RRQ,
            TftpPacket::WriteRequest(_) => TftpOpcode::WRQ,
            TftpPacket::Data { .. } => TftpOpcode::DATA,
            TftpPacket::Ack { .. } => TftpOpcode::ACK,
            TftpPacket::Error { .. } => TftpOpcode::ERROR,
            TftpPacket::OptionAck(_) => TftpOpcode::OACK,
        }
    }

    /// The request, for RRQ and WRQ.
    pub fn request(&self) -> Option<&TftpRequest<'a>> {
        match self {
            TftpPacket::ReadRequest(r) | TftpPacket::WriteRequest(r) => Some(r),
            _ => None,
        }
    }

    /// The file name, for RRQ and WRQ.
    pub fn filename(&self) -> Option<&'a [u8]> {
        self.request().map(|r| r.filename)
    }

    /// The options, for RRQ, WRQ and OACK.
    pub fn options(&self) -> Option<&TftpOptions<'a>> {
        match self {
            TftpPacket::ReadRequest(r) | TftpPacket::WriteRequest(r) => Some(&r.options),
            TftpPacket::OptionAck(o) => Some(o),
            _ => None,
        }
    }
}

/// Dissect one TFTP packet (a UDP payload).
///
/// # Errors
/// `Truncated` when the packet ends inside the opcode, a block or error number, or a
/// string without its NUL (offset: where the missing bytes should be);
/// `BadValue { field: "opcode" }` for an opcode outside 1..=6 (offset 0);
/// `Malformed` for an option name or value that is not UTF-8 (offset: its start).
pub fn parse(input: &[u8]) -> Result<TftpPacket<'_>, DissectError> {
    finish(Proto::Tftp, input, packet(input)).map(|(pkt, _rest)| pkt)
}

fn packet(input: &[u8]) -> PResult<'_, TftpPacket<'_>> {
    let (i, opcode) = be_u16(input)?;
    match TftpOpcode(opcode) {
        TftpOpcode::RRQ => request.map(TftpPacket::ReadRequest).parse(i),
        TftpOpcode::WRQ => request.map(TftpPacket::WriteRequest).parse(i),
        TftpOpcode::DATA => {
            let (i, block) = be_u16(i)?;
            Ok((&[], TftpPacket::Data { block, data: i }))
        }
        TftpOpcode::ACK => {
            let (i, block) = be_u16(i)?;
            Ok((i, TftpPacket::Ack { block }))
        }
        TftpOpcode::ERROR => {
            let (i, (code, message)) = (be_u16, cstr).parse(i)?;
            let code = TftpErrorCode(code);
            Ok((i, TftpPacket::Error { code, message }))
        }
        TftpOpcode::OACK => options.map(TftpPacket::OptionAck).parse(i),
        _ => fail(
            input,
            ErrorKind::BadValue {
                field: "opcode",
                value: opcode.into(),
            },
        ),
    }
}

/// A NUL-terminated string, without its NUL. No NUL before the end is `Truncated`
/// at the end of the input (where the NUL should have been).
fn cstr(input: &[u8]) -> PResult<'_, &[u8]> {
    let (i, s) = take_till(|b| b == 0).parse(input)?;
    let (i, _nul) = be_u8(i)?;
    Ok((i, s))
}

/// A NUL-terminated string that must be UTF-8 (option names and values).
fn cstr_utf8(input: &[u8]) -> PResult<'_, &str> {
    let (i, s) = cstr(input)?;
    match std::str::from_utf8(s) {
        Ok(s) => Ok((i, s)),
        Err(_) => fail(input, ErrorKind::Malformed("TFTP option is not UTF-8")),
    }
}

fn request(input: &[u8]) -> PResult<'_, TftpRequest<'_>> {
    let (i, (filename, mode)) = (cstr, cstr).parse(input)?;
    let (i, options) = options(i)?;
    Ok((
        i,
        TftpRequest {
            filename,
            mode,
            options,
        },
    ))
}

/// Name/value pairs up to the end of the packet, ignoring trailing NUL padding.
fn options(input: &[u8]) -> PResult<'_, TftpOptions<'_>> {
    // Counted once: `i` is always a suffix of `input`, so it holds a non-NUL byte
    // exactly while it is longer than the trailing run of NULs (no rescans).
    let padding = input.iter().rev().take_while(|&&b| b == 0).count();
    let mut list = Vec::new();
    let mut i = input;
    // Each pair takes at least its two NULs, so the loop ends and `list` stays
    // below input.len() / 2 entries.
    while i.len() > padding {
        let (rest, (name, value)) = (cstr_utf8, cstr_utf8).parse(i)?;
        list.push(TftpOption { name, value });
        i = rest;
    }
    let (i, _padding) = take_while(|b| b == 0).parse(i)?;
    Ok((i, TftpOptions(list)))
}

/// A NUL-terminated field: the string up to its first NUL, and a NUL.
fn cstr_len(s: &[u8]) -> usize {
    until_nul(s).len().saturating_add(1)
}

fn put_cstr(w: &mut Writer<'_>, s: &[u8]) -> Result<(), EmitError> {
    w.bytes(until_nul(s))?;
    w.u8(0)
}

impl TftpOptions<'_> {
    /// Bytes the options take on the wire (name and value, each NUL-terminated).
    pub fn buffer_len(&self) -> usize {
        self.0.iter().fold(0usize, |n, o| {
            n.saturating_add(cstr_len(o.name.as_bytes()))
                .saturating_add(cstr_len(o.value.as_bytes()))
        })
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        self.0.iter().try_for_each(|o| {
            put_cstr(w, o.name.as_bytes())?;
            put_cstr(w, o.value.as_bytes())
        })
    }
}

impl TftpRequest<'_> {
    fn buffer_len(&self) -> usize {
        cstr_len(self.filename)
            .saturating_add(cstr_len(self.mode))
            .saturating_add(self.options.buffer_len())
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        put_cstr(w, self.filename)?;
        put_cstr(w, self.mode)?;
        self.options.write(w)
    }
}

/// Writing a packet back: `emit` writes exactly what `parse` reads, so
/// `parse(&pkt.to_vec()?) == Ok(pkt)` for a packet `parse` returned.
///
/// - Strings are written NUL-terminated. A NUL inside one (file name, mode,
///   error message, option name or value) cannot be represented: the string
///   is written up to that NUL, so the packet stays well formed and parses
///   back with the string cut there.
/// - No NUL padding is written (`parse` drops it). As a consequence, options
///   at the end whose name *and* value are both empty (`00 00`) are read back
///   as padding, not as options.
/// - Opcodes and error codes come from the variant; DATA is written whole (no
///   check against a block size).
impl TftpPacket<'_> {
    /// The exact number of bytes [`TftpPacket::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        2 + match self {
            TftpPacket::ReadRequest(r) | TftpPacket::WriteRequest(r) => r.buffer_len(),
            TftpPacket::Data { data, .. } => data.len().saturating_add(2),
            TftpPacket::Ack { .. } => 2,
            TftpPacket::Error { message, .. } => cstr_len(message).saturating_add(2),
            TftpPacket::OptionAck(o) => o.buffer_len(),
        }
    }

    /// Write the packet (the UDP payload, from the opcode) into
    /// `buf[..self.buffer_len()]`; returns the length written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`TftpPacket::buffer_len`]; nothing is written then.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Tftp, buf, needed)?;
        w.be_u16(self.opcode().0)?;
        match self {
            TftpPacket::ReadRequest(r) | TftpPacket::WriteRequest(r) => r.write(&mut w)?,
            TftpPacket::Data { block, data } => {
                w.be_u16(*block)?;
                w.bytes(data)?;
            }
            TftpPacket::Ack { block } => w.be_u16(*block)?,
            TftpPacket::Error { code, message } => {
                w.be_u16(code.0)?;
                put_cstr(&mut w, message)?;
            }
            TftpPacket::OptionAck(o) => o.write(&mut w)?,
        }
        Ok(needed)
    }

    /// The packet in a new buffer of [`TftpPacket::buffer_len`] bytes.
    ///
    /// # Errors
    /// None in practice: the buffer is always big enough (see [`TftpPacket::emit`]).
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RRQ_FILE1: &[u8] = include_bytes!("../testdata/tftp/rrq-file1.bin");
    const DATA_BLOCK1: &[u8] = include_bytes!("../testdata/tftp/data-block1.bin");
    const DATA_BLOCK3: &[u8] = include_bytes!("../testdata/tftp/data-block3.bin");
    const ACK_BLOCK3: &[u8] = include_bytes!("../testdata/tftp/ack-block3.bin");
    const WRQ_RFC1350: &[u8] = include_bytes!("../testdata/tftp/wrq-rfc1350.bin");
    const ACK_BLOCK0: &[u8] = include_bytes!("../testdata/tftp/ack-block0.bin");
    const WRQ_DATA_BLOCK49: &[u8] = include_bytes!("../testdata/tftp/wrq-data-block49.bin");
    const HEAPOVERFLOW_RRQ: &[u8] = include_bytes!("../testdata/tftp/heapoverflow-rrq.bin");

    /// RRQ of a phone config with options, hand-built (no public capture has one).
    const RRQ_OPTIONS: &[u8] = b"\x00\x01\
        SEP001122334455.cnf.xml\x00\
        octet\x00\
        blksize\x001428\x00\
        tsize\x000\x00";
    /// ERROR 1, as a CUCM TFTP server answers a missing CTL/ITL file.
    const ERROR_NOT_FOUND: &[u8] = b"\x00\x05\x00\x01File not found\x00";
    /// ERROR 8 after an OACK (a client refusing the options).
    const ERROR_OPTION_REFUSED: &[u8] = b"\x00\x05\x00\x08Option negotiation failed\x00";
    /// OACK with blksize and tsize; option names in upper case on purpose.
    const OACK: &[u8] = b"\x00\x06BLKSIZE\x001428\x00TSize\x001234\x00";

    #[test]
    fn tcpdump_rrq_file1_octet() {
        // tshark: tcpdump/tftp.pcap frame 1, Read Request, Source File: file1, Type: octet.
        let p = parse(RRQ_FILE1).unwrap();
        assert_eq!(p.opcode(), TftpOpcode::RRQ);
        let TftpPacket::ReadRequest(r) = &p else {
            panic!("{p:?}")
        };
        assert_eq!(r.filename, b"file1");
        assert_eq!(r.mode, b"octet");
        assert!(r.options.is_empty());
        assert_eq!(p.filename(), Some(&b"file1"[..]));
    }

    #[test]
    fn tcpdump_data_and_ack() {
        // tshark: frame 2 Data Packet block 1, 512 bytes; frame 6 block 3, 105 bytes;
        // frame 7 Acknowledgement block 3.
        let p = parse(DATA_BLOCK1).unwrap();
        let TftpPacket::Data { block, data } = p else {
            panic!("{p:?}")
        };
        assert_eq!((block, data.len()), (1, 512));
        assert!(data.starts_with(b"#! /bin/sh"));
        let p = parse(DATA_BLOCK3).unwrap();
        assert!(matches!(p, TftpPacket::Data { block: 3, data } if data.len() == 105));
        assert_eq!(parse(ACK_BLOCK3).unwrap(), TftpPacket::Ack { block: 3 });
    }

    #[test]
    fn suricata_wrq_and_ack_block0() {
        // tshark: suricata-verify tftp-tx-handling-wrq frame 1 Write Request
        // "rfc1350.txt" octet; frame 2 ACK block 0; frame 99 DATA block 49, 23 bytes.
        let p = parse(WRQ_RFC1350).unwrap();
        assert_eq!(p.opcode(), TftpOpcode::WRQ);
        let r = p.request().unwrap();
        assert_eq!((r.filename, r.mode), (&b"rfc1350.txt"[..], &b"octet"[..]));
        assert_eq!(r.filename_lossy(), "rfc1350.txt");
        assert_eq!(parse(ACK_BLOCK0).unwrap(), TftpPacket::Ack { block: 0 });
        let p = parse(WRQ_DATA_BLOCK49).unwrap();
        assert!(matches!(p, TftpPacket::Data { block: 49, data } if data.len() == 23));
    }

    #[test]
    fn heapoverflow_rrq_without_nul_is_truncated() {
        // "00 01 30 30": RRQ whose file name "00" never ends.
        let e = parse(HEAPOVERFLOW_RRQ).unwrap_err();
        assert_eq!(
            (e.proto, e.offset, e.kind),
            (Proto::Tftp, 4, ErrorKind::Truncated)
        );
    }

    #[test]
    fn rrq_with_options_hand_built() {
        let p = parse(RRQ_OPTIONS).unwrap();
        let r = p.request().unwrap();
        assert_eq!(r.filename, b"SEP001122334455.cnf.xml");
        let o = p.options().unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!((o.blksize(), o.tsize()), (Some(1428), Some(0)));
        assert_eq!((o.timeout(), o.windowsize()), (None, None));
        assert_eq!(o.get("BlkSize"), Some("1428"));
    }

    #[test]
    fn error_1_and_8_hand_built() {
        let p = parse(ERROR_NOT_FOUND).unwrap();
        assert_eq!(
            p,
            TftpPacket::Error {
                code: TftpErrorCode::FILE_NOT_FOUND,
                message: b"File not found"
            }
        );
        assert_eq!(p.opcode(), TftpOpcode::ERROR);
        let p = parse(ERROR_OPTION_REFUSED).unwrap();
        assert!(matches!(
            p,
            TftpPacket::Error {
                code: TftpErrorCode::OPTION_REFUSED,
                ..
            }
        ));
        assert_eq!(
            format!("{:?}", TftpErrorCode::OPTION_REFUSED),
            "Option negotiation failed"
        );
    }

    #[test]
    fn oack_hand_built_case_insensitive() {
        let p = parse(OACK).unwrap();
        assert_eq!(p.opcode(), TftpOpcode::OACK);
        let o = p.options().unwrap();
        assert_eq!((o.blksize(), o.tsize()), (Some(1428), Some(1234)));
        assert_eq!(o.iter().next().map(|o| o.name), Some("BLKSIZE"));
        // An OACK with no option at all is accepted (empty list).
        assert_eq!(
            parse(b"\x00\x06").unwrap(),
            TftpPacket::OptionAck(TftpOptions::default())
        );
    }

    #[test]
    fn truncation_at_each_field() {
        for (bytes, offset) in [
            (&b""[..], 0),                                         // no opcode
            (&b"\x00"[..], 0),                                     // half an opcode
            (&b"\x00\x03\x00"[..], 2),                             // DATA, half a block number
            (&b"\x00\x04"[..], 2),                                 // ACK without block
            (&b"\x00\x05\x00"[..], 2),                             // ERROR, half a code
            (&b"\x00\x05\x00\x01File"[..], 8),                     // ERROR message without NUL
            (&b"\x00\x01file\x00oct"[..], 10),                     // RRQ mode without NUL
            (&b"\x00\x01file\x00octet\x00blksize"[..], 20),        // option name without NUL
            (&b"\x00\x01file\x00octet\x00blksize\x00512"[..], 24), // value without NUL
            (&b"\x00\x06tsize\x00"[..], 8),                        // OACK option without value
        ] {
            let e = parse(bytes).unwrap_err();
            assert_eq!(
                (e.offset, e.kind),
                (offset, ErrorKind::Truncated),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn zero_lengths_are_data() {
        // Empty file name and mode.
        let p = parse(b"\x00\x01\x00\x00").unwrap();
        assert_eq!(p.filename(), Some(&b""[..]));
        // DATA with no bytes: the end of a file that is a multiple of 512 long.
        assert_eq!(
            parse(b"\x00\x03\x00\x07").unwrap(),
            TftpPacket::Data {
                block: 7,
                data: &[]
            }
        );
        // ERROR with an empty message.
        let p = parse(b"\x00\x05\x00\x02\x00").unwrap();
        assert_eq!(
            p,
            TftpPacket::Error {
                code: TftpErrorCode::ACCESS_VIOLATION,
                message: b""
            }
        );
        // Empty option value: present, but not a number.
        let p = parse(b"\x00\x06tsize\x00\x00").unwrap();
        assert_eq!(p.options().unwrap().get("tsize"), Some(""));
        assert_eq!(p.options().unwrap().tsize(), None);
    }

    #[test]
    fn trailing_nul_padding_is_ignored() {
        let p = parse(b"\x00\x01f\x00octet\x00\x00\x00\x00").unwrap();
        assert!(p.options().unwrap().is_empty());
        let p = parse(b"\x00\x01f\x00octet\x00tsize\x000\x00\x00\x00").unwrap();
        assert_eq!(p.options().unwrap().tsize(), Some(0));
    }

    #[test]
    fn unknown_opcode_and_error_code() {
        let e = parse(b"\x00\x07abc\x00").unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (
                0,
                ErrorKind::BadValue {
                    field: "opcode",
                    value: 7
                }
            )
        );
        let e = parse(b"\x00\x00").unwrap_err();
        assert_eq!(e.offset, 0);
        // Error code 9 is unknown but is data.
        let p = parse(b"\x00\x05\x00\x09odd\x00").unwrap();
        let TftpPacket::Error { code, .. } = p else {
            panic!("{p:?}")
        };
        assert_eq!((code, code.name()), (TftpErrorCode(9), None));
        assert_eq!(format!("{code:?}"), "TftpErrorCode(9)");
        assert_eq!(TftpOpcode(9).name(), None);
    }

    #[test]
    fn bad_option_values() {
        let p = parse(
            b"\x00\x06blksize\x00+512\x00timeout\x0099999999999999999999\x00windowsize\x00x\x00",
        )
        .unwrap();
        let o = p.options().unwrap();
        assert_eq!(
            (o.blksize(), o.timeout(), o.windowsize()),
            (None, None, None)
        );
        // A non-UTF-8 option name fails at its start.
        let e = parse(b"\x00\x06\xffname\x001\x00").unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (2, ErrorKind::Malformed("TFTP option is not UTF-8"))
        );
        // A non-UTF-8 file name is fine.
        let p = parse(b"\x00\x01SEP\xff.cnf\x00octet\x00").unwrap();
        assert_eq!(p.request().unwrap().filename_lossy(), "SEP\u{fffd}.cnf");
    }

    #[test]
    fn fixtures_re_emit_byte_exact() {
        for (name, bytes) in [
            ("rrq-file1", RRQ_FILE1),
            ("data-block1", DATA_BLOCK1),
            ("data-block3", DATA_BLOCK3),
            ("ack-block3", ACK_BLOCK3),
            ("wrq-rfc1350", WRQ_RFC1350),
            ("ack-block0", ACK_BLOCK0),
            ("wrq-data-block49", WRQ_DATA_BLOCK49),
            ("hand-built rrq with options", RRQ_OPTIONS),
            ("hand-built error 1", ERROR_NOT_FOUND),
            ("hand-built error 8", ERROR_OPTION_REFUSED),
            ("hand-built oack", OACK),
        ] {
            let p = parse(bytes).unwrap();
            assert_eq!(p.buffer_len(), bytes.len(), "{name}");
            assert_eq!(p.to_vec().unwrap(), bytes, "{name}");
        }
        // heapoverflow-rrq.bin does not parse (no NUL): nothing to re-emit.
        assert!(parse(HEAPOVERFLOW_RRQ).is_err());
    }

    #[test]
    fn every_opcode_round_trips() {
        let options = TftpOptions(vec![
            TftpOption {
                name: "blksize",
                value: "1428",
            },
            TftpOption {
                name: "tsize",
                value: "",
            },
            TftpOption {
                name: "",
                value: "x",
            },
        ]);
        let request = TftpRequest {
            filename: b"SEP001122334455.cnf.xml",
            mode: b"octet",
            options: options.clone(),
        };
        for pkt in [
            TftpPacket::ReadRequest(request.clone()),
            TftpPacket::WriteRequest(TftpRequest {
                filename: b"",
                mode: b"",
                options: TftpOptions::default(),
            }),
            TftpPacket::WriteRequest(request),
            TftpPacket::Data {
                block: 65535,
                data: &[0; 512],
            },
            TftpPacket::Data {
                block: 0,
                data: &[],
            },
            TftpPacket::Ack { block: 7 },
            TftpPacket::Error {
                code: TftpErrorCode::FILE_NOT_FOUND,
                message: b"File not found",
            },
            TftpPacket::Error {
                code: TftpErrorCode(9),
                message: b"\xffodd",
            },
            TftpPacket::OptionAck(options),
            TftpPacket::OptionAck(TftpOptions::default()),
        ] {
            let bytes = pkt.to_vec().unwrap();
            assert_eq!(bytes.len(), pkt.buffer_len(), "{pkt:?}");
            assert_eq!(parse(&bytes).unwrap(), pkt);
        }
    }

    #[test]
    fn a_nul_inside_a_string_cuts_it_there() {
        let pkt = TftpPacket::ReadRequest(TftpRequest {
            filename: b"a\0b",
            mode: b"octet",
            options: TftpOptions(vec![TftpOption {
                name: "tsize",
                value: "0\0junk",
            }]),
        });
        let bytes = pkt.to_vec().unwrap();
        assert_eq!(bytes, b"\x00\x01a\x00octet\x00tsize\x000\x00");
        let p = parse(&bytes).unwrap();
        assert_eq!(p.filename(), Some(&b"a"[..]));
        assert_eq!(p.options().unwrap().tsize(), Some(0));
        let err = TftpPacket::Error {
            code: TftpErrorCode::NOT_DEFINED,
            message: b"x\0y",
        };
        assert_eq!(err.to_vec().unwrap(), b"\x00\x05\x00\x00x\x00");
    }

    #[test]
    fn short_buffer_is_an_error_not_a_panic() {
        let p = parse(RRQ_OPTIONS).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            p.emit(&mut buf),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Tftp,
                needed: RRQ_OPTIONS.len()
            })
        );
        assert_eq!(buf, [0; 8]);
        assert_eq!(
            TftpPacket::Ack { block: 1 }.emit(&mut []),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Tftp,
                needed: 4
            })
        );
    }

    /// NUL-free text for file names, modes, messages and option values.
    fn text() -> impl Strategy<Value = String> {
        "[^\u{0}]{0,12}"
    }

    /// An owned packet for the round-trip property; `packet` borrows it.
    #[derive(Debug, Clone)]
    enum Gen {
        Request(bool, String, String, Vec<(String, String)>),
        Data(u16, Vec<u8>),
        Ack(u16),
        Error(u16, Vec<u8>),
        OptionAck(Vec<(String, String)>),
    }

    fn gen_packet() -> impl Strategy<Value = Gen> {
        // A non-empty name: a trailing empty name + empty value reads as padding.
        let options = || proptest::collection::vec(("[^\u{0}]{1,8}", text()), 0..5);
        prop_oneof![
            (any::<bool>(), text(), text(), options())
                .prop_map(|(w, f, m, o)| Gen::Request(w, f, m, o)),
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..600))
                .prop_map(|(b, d)| Gen::Data(b, d)),
            any::<u16>().prop_map(Gen::Ack),
            (any::<u16>(), proptest::collection::vec(1u8..=255, 0..40))
                .prop_map(|(c, m)| Gen::Error(c, m)),
            options().prop_map(Gen::OptionAck),
        ]
    }

    fn options_of(list: &[(String, String)]) -> TftpOptions<'_> {
        TftpOptions(
            list.iter()
                .map(|(name, value)| TftpOption { name, value })
                .collect(),
        )
    }

    fn packet(g: &Gen) -> TftpPacket<'_> {
        match g {
            Gen::Request(write, filename, mode, options) => {
                let r = TftpRequest {
                    filename: filename.as_bytes(),
                    mode: mode.as_bytes(),
                    options: options_of(options),
                };
                if *write {
                    TftpPacket::WriteRequest(r)
                } else {
                    TftpPacket::ReadRequest(r)
                }
            }
            Gen::Data(block, data) => TftpPacket::Data {
                block: *block,
                data,
            },
            Gen::Ack(block) => TftpPacket::Ack { block: *block },
            Gen::Error(code, message) => TftpPacket::Error {
                code: TftpErrorCode(*code),
                message,
            },
            Gen::OptionAck(options) => TftpPacket::OptionAck(options_of(options)),
        }
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(g in gen_packet()) {
            let pkt = packet(&g);
            let bytes = pkt.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), pkt.buffer_len());
            prop_assert_eq!(parse(&bytes).unwrap(), pkt);
        }

        #[test]
        fn parse_emit_is_identity_without_padding(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            // Whatever parses re-emits to its input, minus NUL padding after the
            // last string and bytes after an ACK or ERROR, which parse drops.
            if let Ok(p) = parse(&data) {
                let out = p.to_vec().unwrap();
                prop_assert!(data.starts_with(&out));
                prop_assert_eq!(parse(&out).unwrap(), p);
            }
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            if let Ok(p) = parse(&data) {
                if let Some(o) = p.options() {
                    prop_assert!(o.len() <= data.len() / 2);
                    let _ = (o.blksize(), o.tsize(), o.timeout(), o.windowsize());
                }
            }
        }

        #[test]
        fn requests_never_panic(tail in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..200)) {
            let mut data = vec![0, 1];
            data.extend_from_slice(&tail);
            let _ = parse(&data);
        }
    }
}
