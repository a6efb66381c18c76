//! The slice of HTTP/1.x (RFC 9112 message syntax, RFC 9110 semantics) a Cisco
//! phone's configuration download needs: newer phones fetch `SEP<MAC>.cnf.xml`,
//! ITL/CTL files and firmware over HTTP on TCP 6970 (HTTPS 6971) before falling
//! back to TFTP. This reads one message head — request or status line and header
//! fields, all borrowed — off a reassembled TCP stream buffer, and frames a body
//! delimited by `Content-Length`.
//!
//! Limits and quirks: a head is at most [`MAX_HEAD_LEN`] bytes with at most
//! [`MAX_HEADERS`] fields (else `TooLong`); a line may end in CRLF or a bare LF
//! (RFC 9112 §2.2); obsolete line folding is refused. Bytes that cannot start an
//! HTTP message (binary junk, a body continuation segment) are refused after at
//! most the first 17 bytes, never after a scan. Chunked bodies are detected
//! ([`HttpMessage::is_chunked`]) but not de-chunked: [`parse`] then returns the
//! head alone, like [`parse_head`], and leaves the chunks in the rest.
//! Empty lines before a request line (RFC 9112 §2.2) are not skipped here: the
//! stream reader trims them.
//!
//! Writing: [`HttpMessage::emit`] / [`HttpMessage::buffer_len`] write a message
//! in canonical form (`name: value`, CRLF); [`HttpMessage::from_parts`] builds one.

use std::fmt;

use nom::bytes::complete::{tag, take_while1, take_while_m_n};
use nom::character::complete::char;
use nom::combinator::{all_consuming, rest};
use nom::Parser;

use crate::emit::{self, EmitError, Writer};
use crate::error::{DissectError, ErrorKind, PErr, Proto};

/// Largest head (start line + fields + blank line) accepted, in bytes.
pub const MAX_HEAD_LEN: usize = 64 * 1024;
/// Most header fields accepted in one head.
pub const MAX_HEADERS: usize = 100;
/// Largest `Content-Length` [`parse`] waits for (64 MiB): above it, it answers
/// `TooLong` instead of asking the reassembler to buffer; use [`parse_head`] then.
pub const MAX_BODY_LEN: u64 = 64 * 1024 * 1024;
/// Longest method token accepted (the junk check looks no further than this + 1).
pub const MAX_METHOD_LEN: usize = 16;

/// HTTP version from the start line (`HTTP/1.1` → major 1, minor 1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpVersion {
    /// Major digit.
    pub major: u8,
    /// Minor digit.
    pub minor: u8,
}

impl fmt::Debug for HttpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for HttpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/{}.{}", self.major, self.minor)
    }
}

/// The first line: a request line or a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpStartLine<'a> {
    /// `method SP request-target SP HTTP-version`.
    Request {
        /// Method token (`GET`, `HEAD`, ...), case kept.
        method: &'a str,
        /// Request target as sent (e.g. `/SEP001122334455.cnf.xml`).
        target: &'a [u8],
        /// Protocol version.
        version: HttpVersion,
    },
    /// `HTTP-version SP status-code SP [reason-phrase]`.
    Response {
        /// Protocol version.
        version: HttpVersion,
        /// Three-digit status code.
        status: u16,
        /// Reason phrase (may be empty).
        reason: &'a [u8],
    },
}

/// One header field, borrowed; the value has surrounding whitespace removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpHeader<'a> {
    /// Field name as sent (compare case-insensitively).
    pub name: &'a str,
    /// Field value, leading and trailing SP/HTAB trimmed.
    pub value: &'a [u8],
}

/// One HTTP message: its head and, when the framing says where it ends, its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpMessage<'a> {
    /// Request or status line.
    pub start: HttpStartLine<'a>,
    /// Header fields in wire order.
    pub headers: Vec<HttpHeader<'a>>,
    /// Bytes of the head, blank line included (the body starts here).
    pub head_len: usize,
    /// The body: `Some` when [`parse`] could frame it (Content-Length, or a message
    /// that has none by rule), `None` from [`parse_head`], for chunked bodies and
    /// for responses that run until the connection closes.
    pub body: Option<&'a [u8]>,
}

/// How an HTTP message's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpBodyFraming {
    /// Exactly this many bytes follow the head (0: no body).
    Length(u64),
    /// A Transfer-Encoding (chunked): the body is not framed by this dissector.
    Chunked,
    /// A response without a length: the body runs until the connection closes.
    UntilClose,
    /// An unreadable or conflicting Content-Length.
    Invalid,
}

impl<'a> HttpMessage<'a> {
    /// True for a request, false for a response.
    #[must_use]
    pub fn is_request(&self) -> bool {
        matches!(self.start, HttpStartLine::Request { .. })
    }

    /// True for a response (status line).
    #[must_use]
    pub fn is_response(&self) -> bool {
        matches!(self.start, HttpStartLine::Response { .. })
    }

    /// The method of a request.
    #[must_use]
    pub fn method(&self) -> Option<&'a str> {
        match self.start {
            HttpStartLine::Request { method, .. } => Some(method),
            HttpStartLine::Response { .. } => None,
        }
    }

    /// The request target (URI) of a request.
    #[must_use]
    pub fn target(&self) -> Option<&'a [u8]> {
        match self.start {
            HttpStartLine::Request { target, .. } => Some(target),
            HttpStartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self.start {
            HttpStartLine::Response { status, .. } => Some(status),
            HttpStartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response.
    #[must_use]
    pub fn reason(&self) -> Option<&'a [u8]> {
        match self.start {
            HttpStartLine::Response { reason, .. } => Some(reason),
            HttpStartLine::Request { .. } => None,
        }
    }

    /// The protocol version of the start line.
    #[must_use]
    pub fn version(&self) -> HttpVersion {
        match self.start {
            HttpStartLine::Request { version, .. } | HttpStartLine::Response { version, .. } => {
                version
            }
        }
    }

    /// The value of the first field called `name` (ASCII case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers_named(name).next()
    }

    /// The values of every field called `name`, in order.
    pub fn headers_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// `Content-Length`, when present and valid: every occurrence (and every
    /// comma-separated item) must be the same decimal number (RFC 9110 §8.6).
    #[must_use]
    pub fn content_length(&self) -> Option<u64> {
        let mut found = None;
        for value in self.headers_named("content-length") {
            for item in value.split(|&c| c == b',') {
                let n = decimal(item.trim_ascii())?;
                if found.is_some_and(|f| f != n) {
                    return None;
                }
                found = Some(n);
            }
        }
        found
    }

    /// `Host`.
    #[must_use]
    pub fn host(&self) -> Option<&'a [u8]> {
        self.header("host")
    }

    /// `User-Agent`.
    #[must_use]
    pub fn user_agent(&self) -> Option<&'a [u8]> {
        self.header("user-agent")
    }

    /// `Content-Type`.
    #[must_use]
    pub fn content_type(&self) -> Option<&'a [u8]> {
        self.header("content-type")
    }

    /// How the body after this head is delimited: Content-Length, none for a
    /// request or a 1xx/204/304 response without one, until the connection closes
    /// for any other response without one, or chunked.
    #[must_use]
    pub fn body_framing(&self) -> HttpBodyFraming {
        if self.is_chunked() || self.header("transfer-encoding").is_some() {
            // Transfer-Encoding overrides Content-Length.
            return HttpBodyFraming::Chunked;
        }
        if self.header("content-length").is_some() {
            return match self.content_length() {
                Some(n) => HttpBodyFraming::Length(n),
                None => HttpBodyFraming::Invalid,
            };
        }
        match self.start {
            HttpStartLine::Request { .. } => HttpBodyFraming::Length(0),
            HttpStartLine::Response { status, .. }
                if (100..200).contains(&status) || status == 204 || status == 304 =>
            {
                HttpBodyFraming::Length(0)
            }
            HttpStartLine::Response { .. } => HttpBodyFraming::UntilClose,
        }
    }

    /// True when `Transfer-Encoding` is present and its final coding is `chunked`.
    #[must_use]
    pub fn is_chunked(&self) -> bool {
        self.headers_named("transfer-encoding")
            .flat_map(|v| v.split(|&c| c == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|c| !c.is_empty())
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"))
    }
}

/// Dissect one message head from the start of a stream buffer, without waiting for
/// the body; returns it (with `body` = `None`) and the bytes after the blank line.
///
/// # Errors
/// `BadValue`/`Malformed` (looking at most at the first 17 bytes) when the buffer
/// cannot start an HTTP message; `Malformed` for a bad start line or field line
/// (offset of that line); `NeedMore(n)` (offset = input length) while the blank
/// line ending the head is missing; `TooLong` above [`MAX_HEAD_LEN`] bytes or
/// [`MAX_HEADERS`] fields.
pub fn parse_head(input: &[u8]) -> Result<(HttpMessage<'_>, &[u8]), DissectError> {
    let kind = sniff(input)?;
    // The start line, checked as soon as it is complete.
    let (first, mut pos) = line_at(input, 0)?;
    let start = match kind {
        Sniffed::Request => request_line(first),
        Sniffed::Response => status_line(first),
    }
    .ok_or_else(|| err_at(0, ErrorKind::Malformed("bad start line")))?;
    let mut headers = Vec::new();
    loop {
        let (line, next) = line_at(input, pos)?;
        if line.is_empty() {
            pos = next;
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(err_at(
                pos,
                ErrorKind::TooLong {
                    len: headers.len().saturating_add(1),
                    max: MAX_HEADERS,
                },
            ));
        }
        headers.push(field_line(line).map_err(|kind| err_at(pos, kind))?);
        pos = next;
    }
    let rest = input.get(pos..).unwrap_or_default();
    Ok((
        HttpMessage {
            start,
            headers,
            head_len: pos,
            body: None,
        },
        rest,
    ))
}

/// Dissect one whole message: the head, then a body of `Content-Length` bytes,
/// returning the bytes after it. Without a length, a request (and a 1xx, 204 or
/// 304 response) has an empty body; a chunked message or a response delimited by
/// the connection close comes back with `body` = `None` and the rest after the head.
/// A response to HEAD carries a length but no body: use [`parse_head`] for it.
///
/// # Errors
/// Those of [`parse_head`]; `Malformed` for an invalid or conflicting
/// `Content-Length`; `TooLong` above [`MAX_BODY_LEN`]; `NeedMore(n)` (offset =
/// input length) until the whole body is in the buffer.
pub fn parse(input: &[u8]) -> Result<(HttpMessage<'_>, &[u8]), DissectError> {
    let (mut msg, after_head) = parse_head(input)?;
    let len = match msg.body_framing() {
        HttpBodyFraming::Chunked | HttpBodyFraming::UntilClose => return Ok((msg, after_head)),
        HttpBodyFraming::Invalid => {
            let at = msg.header("content-length").unwrap_or(after_head);
            return Err(err_at(
                offset_in(input, at),
                ErrorKind::Malformed("bad Content-Length"),
            ));
        }
        HttpBodyFraming::Length(len) => len,
    };
    if len > MAX_BODY_LEN {
        return Err(err_at(
            offset_in(input, msg.header("content-length").unwrap_or(after_head)),
            ErrorKind::TooLong {
                len: usize::try_from(len).unwrap_or(usize::MAX),
                max: usize::try_from(MAX_BODY_LEN).unwrap_or(usize::MAX),
            },
        ));
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let Some((body, rest)) = after_head.split_at_checked(len) else {
        return Err(err_at(
            input.len(),
            ErrorKind::NeedMore(len.saturating_sub(after_head.len())),
        ));
    };
    msg.body = Some(body);
    Ok((msg, rest))
}

/// What the first bytes announce.
#[derive(Clone, Copy)]
enum Sniffed {
    Request,
    Response,
}

fn err_at(offset: usize, kind: ErrorKind) -> DissectError {
    DissectError {
        proto: Proto::Http,
        offset,
        kind,
    }
}

/// Where `inner` (a sub-slice of `outer`) starts in `outer`.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// RFC 9110 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Decide from at most the first `MAX_METHOD_LEN + 1` bytes whether this can be
/// an HTTP message: `HTTP/` starts a response, a token then SP a request.
fn sniff(input: &[u8]) -> Result<Sniffed, DissectError> {
    const PREFIX: &[u8] = b"HTTP/";
    if input.starts_with(PREFIX) {
        return Ok(Sniffed::Response);
    }
    let mut method_len = 0usize;
    for &c in input.iter().take(MAX_METHOD_LEN.saturating_add(1)) {
        if c == b' ' && method_len > 0 {
            return Ok(Sniffed::Request);
        }
        if !is_tchar(c) {
            return Err(err_at(
                method_len,
                ErrorKind::BadValue {
                    field: "method",
                    value: c.into(),
                },
            ));
        }
        method_len = method_len.saturating_add(1);
    }
    if method_len > MAX_METHOD_LEN {
        return Err(err_at(0, ErrorKind::Malformed("method token too long")));
    }
    // All token bytes so far: the method (or "HTTP/") is still arriving.
    Err(err_at(input.len(), ErrorKind::NeedMore(1)))
}

/// The line starting at `pos` (without its CRLF / LF) and where the next begins;
/// `NeedMore` when it is not terminated yet, `TooLong` past [`MAX_HEAD_LEN`].
fn line_at(input: &[u8], pos: usize) -> Result<(&[u8], usize), DissectError> {
    let window = input
        .get(..input.len().min(MAX_HEAD_LEN))
        .unwrap_or_default();
    let tail = window.get(pos..).unwrap_or_default();
    let Some(eol) = tail.iter().position(|&c| c == b'\n') else {
        if input.len() >= MAX_HEAD_LEN {
            return Err(err_at(
                pos,
                ErrorKind::TooLong {
                    len: input.len(),
                    max: MAX_HEAD_LEN,
                },
            ));
        }
        return Err(err_at(input.len(), ErrorKind::NeedMore(missing(input))));
    };
    let line = tail.get(..eol).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok((line, pos.saturating_add(eol).saturating_add(1)))
}

/// Least number of bytes that could end the head, given how the buffer ends.
fn missing(input: &[u8]) -> usize {
    if input.ends_with(b"\r\n\r") {
        1
    } else if input.ends_with(b"\r\n") {
        2
    } else if input.ends_with(b"\n") {
        // Bare-LF lines: one more LF is a blank line.
        1
    } else if input.ends_with(b"\r") {
        3
    } else if input.contains(&b'\n') && !input.windows(2).any(|w| w == b"\r\n") {
        2
    } else {
        4
    }
}

type LineResult<'a, T> = nom::IResult<&'a [u8], T, PErr<'a>>;

/// `HTTP/` DIGIT `.` DIGIT.
fn version(i: &[u8]) -> LineResult<'_, HttpVersion> {
    let digit = || take_while_m_n(1, 1, |c: u8| c.is_ascii_digit());
    (tag("HTTP/"), digit(), char('.'), digit())
        .map(|(_, major, _, minor): (_, &[u8], _, &[u8])| HttpVersion {
            major: first_digit(major),
            minor: first_digit(minor),
        })
        .parse(i)
}

fn first_digit(d: &[u8]) -> u8 {
    d.first().map_or(0, |c| c.saturating_sub(b'0'))
}

/// Visible request-target bytes (no SP, no controls).
fn is_target_byte(c: u8) -> bool {
    c > b' ' && c != 0x7f
}

fn request_line(line: &[u8]) -> Option<HttpStartLine<'_>> {
    let parsed: LineResult<'_, _> = all_consuming((
        take_while1(is_tchar),
        char(' '),
        take_while1(is_target_byte),
        char(' '),
        version,
    ))
    .parse(line);
    let (_, (method, _, target, _, version)) = parsed.ok()?;
    Some(HttpStartLine::Request {
        method: std::str::from_utf8(method).ok()?,
        target,
        version,
    })
}

fn status_line(line: &[u8]) -> Option<HttpStartLine<'_>> {
    let parsed: LineResult<'_, _> = (
        version,
        char(' '),
        take_while_m_n(3, 3, |c: u8| c.is_ascii_digit()),
        rest,
    )
        .parse(line);
    let (_, (version, _, code, tail)) = parsed.ok()?;
    // The SP before an empty reason phrase is sometimes left out.
    let reason = match tail {
        [] => tail,
        [b' ', reason @ ..] => reason,
        _ => return None,
    };
    if reason.iter().any(|&c| c < b' ' && c != b'\t' || c == 0x7f) {
        return None;
    }
    Some(HttpStartLine::Response {
        version,
        status: u16::try_from(decimal(code)?).ok()?,
        reason,
    })
}

fn field_line(line: &[u8]) -> Result<HttpHeader<'_>, ErrorKind> {
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return Err(ErrorKind::Malformed("obsolete line folding"));
    }
    let parsed: LineResult<'_, _> = (take_while1(is_tchar), char(':'), rest).parse(line);
    let Ok((_, (name, _, value))) = parsed else {
        return Err(ErrorKind::Malformed("bad header field"));
    };
    let name = std::str::from_utf8(name).map_err(|_| ErrorKind::Malformed("bad header field"))?;
    let value = value.trim_ascii_start();
    let value = match value.iter().rposition(|&c| c != b' ' && c != b'\t') {
        Some(last) => value.get(..=last).unwrap_or(value),
        None => value.get(..0).unwrap_or(value),
    };
    Ok(HttpHeader { name, value })
}

/// A non-empty run of ASCII digits as a number (`None` on overflow or other bytes).
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?
            .checked_add(u64::from(c.saturating_sub(b'0')))
    })
}

// ---- emitter ----

/// An [`EmitError::Unrepresentable`] of this dissector.
fn unrepresentable(field: &'static str, reason: &'static str) -> EmitError {
    emit::unrepresentable(Proto::Http, field, reason)
}

impl<'a> HttpMessage<'a> {
    /// A message to emit, built without parsing: `headers` are `(name, value)`
    /// pairs in wire order and `head_len` is computed. Framing headers are not
    /// added: put a `Content-Length` among `headers` for a body (see
    /// [`HttpMessage::emit`]).
    #[must_use]
    pub fn from_parts(
        start: HttpStartLine<'a>,
        headers: &[(&'a str, &'a [u8])],
        body: Option<&'a [u8]>,
    ) -> Self {
        let mut msg = HttpMessage {
            start,
            headers: headers
                .iter()
                .map(|&(name, value)| HttpHeader { name, value })
                .collect(),
            head_len: 0,
            body,
        };
        msg.head_len = msg.head_buffer_len();
        msg
    }

    /// Exactly the number of bytes of the head [`HttpMessage::emit`] writes
    /// (start line, fields and blank line): `head_len` of the message read back.
    #[must_use]
    pub fn head_buffer_len(&self) -> usize {
        let start = match self.start {
            // METHOD SP TARGET SP HTTP/d.d CRLF
            HttpStartLine::Request { method, target, .. } => method.len() + target.len() + 12,
            // HTTP/d.d SP ddd SP REASON CRLF
            HttpStartLine::Response { reason, .. } => 15 + reason.len(),
        };
        let fields = self
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 4)
            .sum::<usize>();
        start.saturating_add(fields).saturating_add(2)
    }

    /// Exactly the number of bytes [`HttpMessage::emit`] writes: the head and the body.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        self.head_buffer_len()
            .saturating_add(self.body.map_or(0, <[u8]>::len))
    }

    /// Write the message into `buf[..buffer_len()]` and return its length.
    ///
    /// Canonical text, CRLF line ends: the start line (a status code as 3 digits
    /// and a space before the reason even when it is empty), each field as
    /// `name: value` in order, the blank line, then the body when it is `Some`
    /// (`None`: the head alone, as for a chunked message whose chunks follow).
    /// Nothing is recomputed: `Content-Length` and `Transfer-Encoding` are
    /// written as given and the body is not checked against them (for [`parse`]
    /// to read the same body back, they must frame it); `head_len` is ignored
    /// (see [`HttpMessage::head_buffer_len`]). The caps of [`parse`]
    /// ([`MAX_HEAD_LEN`], [`MAX_HEADERS`], [`MAX_METHOD_LEN`]) are not checked.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`HttpMessage::buffer_len`] (nothing written); [`EmitError::Unrepresentable`]
    /// for a value [`parse_head`] would not read back (`buf` then partly written):
    /// a method or field name that is not a token, a target with a space or
    /// control byte, a version digit above 9, a status code above 999, a reason
    /// phrase with a control byte, a field value with surrounding SP/HTAB or a
    /// CR or LF (no obsolete folding, no header injection).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Http, buf, needed)?;
        match self.start {
            HttpStartLine::Request {
                method,
                target,
                version,
            } => {
                if method.is_empty() || !method.bytes().all(is_tchar) {
                    return Err(unrepresentable("method", "not a token"));
                }
                if target.is_empty() || !target.iter().all(|&c| is_target_byte(c)) {
                    return Err(unrepresentable(
                        "request target",
                        "empty, or holds a space or control byte",
                    ));
                }
                w.parts(&[method.as_bytes(), b" ", target, b" "])?;
                http_version(&mut w, version)?;
            }
            HttpStartLine::Response {
                version,
                status,
                reason,
            } => {
                http_version(&mut w, version)?;
                if status > 999 {
                    return Err(unrepresentable("status code", "more than 3 digits"));
                }
                if reason.iter().any(|&c| c < b' ' && c != b'\t' || c == 0x7f) {
                    return Err(unrepresentable("reason phrase", "holds a control byte"));
                }
                let digits = [
                    b'0' + digit(status / 100),
                    b'0' + digit(status / 10),
                    b'0' + digit(status),
                ];
                w.parts(&[b" ", &digits, b" ", reason])?;
            }
        }
        w.bytes(b"\r\n")?;
        for h in &self.headers {
            if h.name.is_empty() || !h.name.bytes().all(is_tchar) {
                return Err(unrepresentable("field name", "not a token"));
            }
            let v = h.value;
            let blank = |c: Option<&u8>| matches!(c, Some(b' ' | b'\t'));
            if blank(v.first()) || blank(v.last()) {
                return Err(unrepresentable(
                    "field value",
                    "leading or trailing SP/HTAB (parse trims it)",
                ));
            }
            if v.iter().any(|&c| c == b'\r' || c == b'\n') {
                return Err(unrepresentable("field value", "holds a CR or LF"));
            }
            w.parts(&[h.name.as_bytes(), b": ", v, b"\r\n"])?;
        }
        w.bytes(b"\r\n")?;
        if let Some(body) = self.body {
            w.bytes(body)?;
        }
        Ok(w.pos())
    }

    /// The message in a new buffer of [`HttpMessage::buffer_len`] bytes.
    ///
    /// # Errors
    /// [`EmitError::Unrepresentable`], as [`HttpMessage::emit`].
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

/// The last decimal digit of `n`.
fn digit(n: u16) -> u8 {
    u8::try_from(n % 10).unwrap_or(0)
}

fn http_version(w: &mut Writer<'_>, v: HttpVersion) -> Result<(), EmitError> {
    if v.major > 9 || v.minor > 9 {
        return Err(unrepresentable("version", "a digit above 9"));
    }
    w.parts(&[b"HTTP/", &[b'0' + v.major, b'.', b'0' + v.minor]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Hand-built (no public capture has TCP 6970); see testdata/http/README.md.
    const GET_CNF: &[u8] = include_bytes!("../testdata/http/get-sep-cnf.bin");
    const NOT_FOUND: &[u8] = include_bytes!("../testdata/http/404-not-found.bin");
    const OK_XML: &[u8] = include_bytes!("../testdata/http/200-ok-xml.bin");
    const OK_CHUNKED: &[u8] = include_bytes!("../testdata/http/200-chunked.bin");

    fn err(input: &[u8]) -> DissectError {
        parse(input).unwrap_err()
    }

    #[test]
    fn get_config_file() {
        let (m, rest) = parse(GET_CNF).unwrap();
        assert!(rest.is_empty());
        assert!(m.is_request() && !m.is_response());
        assert_eq!(m.method(), Some("GET"));
        assert_eq!(m.target(), Some(&b"/SEP001122334455.cnf.xml"[..]));
        assert_eq!(m.version(), HttpVersion { major: 1, minor: 1 });
        assert_eq!(m.version().to_string(), "HTTP/1.1");
        assert_eq!(m.host(), Some(&b"10.1.1.5:6970"[..]));
        assert_eq!(m.user_agent(), Some(&b"Cisco-CP8851/12.8.1"[..]));
        assert_eq!(m.headers.len(), 3);
        assert_eq!(m.header("CONNECTION"), Some(&b"close"[..]));
        assert_eq!(m.content_length(), None);
        assert_eq!(m.body, Some(&b""[..]));
        assert_eq!(m.head_len, GET_CNF.len());
        assert_eq!(m.status(), None);
    }

    #[test]
    fn not_found_with_zero_length() {
        let (m, rest) = parse(NOT_FOUND).unwrap();
        assert!(rest.is_empty());
        assert_eq!(m.status(), Some(404));
        assert_eq!(m.reason(), Some(&b"Not Found"[..]));
        assert_eq!(m.content_length(), Some(0));
        assert_eq!(m.body, Some(&b""[..]));
        assert_eq!(m.method(), None);
    }

    #[test]
    fn ok_with_body_waits_for_the_whole_body() {
        let (m, rest) = parse(OK_XML).unwrap();
        assert!(rest.is_empty());
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.content_type(), Some(&b"text/xml"[..]));
        assert_eq!(m.content_length(), Some(94));
        let body = m.body.unwrap();
        assert_eq!(body.len(), 94);
        assert!(body.starts_with(b"<?xml"));
        // Head only: no waiting.
        let cut = &OK_XML[..m.head_len + 10];
        let (h, after) = parse_head(cut).unwrap();
        assert_eq!((h.body, after.len()), (None, 10));
        let e = err(cut);
        assert_eq!(e.kind, ErrorKind::NeedMore(84));
        assert_eq!(e.offset, cut.len());
        // Two messages back to back.
        let two = [OK_XML, NOT_FOUND].concat();
        let (_, rest) = parse(&two).unwrap();
        assert_eq!(rest, NOT_FOUND);
    }

    #[test]
    fn chunked_is_detected_not_framed() {
        let (m, rest) = parse(OK_CHUNKED).unwrap();
        assert!(m.is_chunked());
        assert_eq!(m.body, None);
        assert_eq!(rest, &OK_CHUNKED[m.head_len..]);
        assert!(rest.starts_with(b"5\r\n"));
    }

    #[test]
    fn head_split_across_segments_needs_more() {
        let e = err(&GET_CNF[..GET_CNF.len() - 2]);
        assert_eq!(e.kind, ErrorKind::NeedMore(2));
        assert_eq!(e.offset, GET_CNF.len() - 2);
        assert_eq!(
            err(&GET_CNF[..GET_CNF.len() - 1]).kind,
            ErrorKind::NeedMore(1)
        );
        assert_eq!(err(b"GET /x HTTP/1.1").kind, ErrorKind::NeedMore(4));
        assert_eq!(err(b"GE").kind, ErrorKind::NeedMore(1));
        assert_eq!(err(b"HTT").kind, ErrorKind::NeedMore(1));
        assert_eq!(err(b"").kind, ErrorKind::NeedMore(1));
    }

    #[test]
    fn bare_lf_lines_are_accepted() {
        let (m, rest) = parse(b"HTTP/1.0 200 OK\nContent-Length: 2\n\nhiX").unwrap();
        assert_eq!(m.version(), HttpVersion { major: 1, minor: 0 });
        assert_eq!(m.body, Some(&b"hi"[..]));
        assert_eq!(rest, b"X");
        assert_eq!(
            err(b"GET / HTTP/1.1\nHost: a\n").kind,
            ErrorKind::NeedMore(1)
        );
    }

    #[test]
    fn junk_is_refused_at_the_first_bytes() {
        // SCCP KeepAliveReq bytes, a TLS record, a body continuation.
        let e = err(&[4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            e.kind,
            ErrorKind::BadValue {
                field: "method",
                value: 4
            }
        );
        assert_eq!(e.offset, 0);
        assert!(matches!(
            err(&[0x16, 3, 1, 0, 0x50]).kind,
            ErrorKind::BadValue { .. }
        ));
        assert!(matches!(
            err(b"<?xml version=").kind,
            ErrorKind::BadValue { .. }
        ));
        // A long token with no space, however long the buffer, is refused after 17 bytes.
        let mut big = vec![b'A'; 10 * 1024 * 1024];
        big.push(b' ');
        assert_eq!(
            err(&big).kind,
            ErrorKind::Malformed("method token too long")
        );
        // Not HTTP versions.
        assert_eq!(
            err(b"REGISTER sip:a SIP/2.0\r\n\r\n").kind,
            ErrorKind::Malformed("bad start line")
        );
        assert_eq!(
            err(b"HTTP/1.1 2000 OK\r\n\r\n").kind,
            ErrorKind::Malformed("bad start line")
        );
    }

    #[test]
    fn bad_fields_are_malformed_at_their_line() {
        let e = err(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n");
        assert_eq!(e.kind, ErrorKind::Malformed("bad header field"));
        assert_eq!(e.offset, 16);
        let e = err(b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n");
        assert_eq!(e.kind, ErrorKind::Malformed("obsolete line folding"));
        assert_eq!(e.offset, 22);
    }

    #[test]
    fn bad_or_huge_content_length() {
        let e = err(b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n");
        assert_eq!(e.kind, ErrorKind::Malformed("bad Content-Length"));
        assert_eq!(e.offset, 33);
        let conflicting = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
        assert_eq!(
            err(conflicting).kind,
            ErrorKind::Malformed("bad Content-Length")
        );
        let (m, _) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab").unwrap();
        assert_eq!(m.content_length(), Some(2));
        let e = err(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n");
        assert!(matches!(e.kind, ErrorKind::TooLong { .. }));
        // Overflowing u64 is invalid, not wrapped.
        let e = err(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n");
        assert_eq!(e.kind, ErrorKind::Malformed("bad Content-Length"));
        // parse_head does not care about the body.
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_ok());
    }

    #[test]
    fn response_without_length_runs_to_close() {
        let (m, rest) = parse(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody...").unwrap();
        assert_eq!(m.body, None);
        assert_eq!(rest, b"body...");
        let (m, _) = parse(b"HTTP/1.1 304 Not Modified\r\n\r\n").unwrap();
        assert_eq!(m.body, Some(&b""[..]));
        let (m, _) = parse(b"HTTP/1.1 204\r\n\r\n").unwrap();
        assert_eq!((m.status(), m.reason()), (Some(204), Some(&b""[..])));
    }

    #[test]
    fn too_many_fields_or_too_big_a_head() {
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for n in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{n}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            err(&many).kind,
            ErrorKind::TooLong {
                len: MAX_HEADERS + 1,
                max: MAX_HEADERS
            }
        );
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD_LEN + 10, b'a');
        assert!(matches!(err(&huge).kind, ErrorKind::TooLong { .. }));
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let _ = parse(&data);
        }

        #[test]
        fn parse_head_never_panics(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let _ = parse_head(&data);
        }

        #[test]
        fn message_loop_terminates(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let mut buf = [GET_CNF, &data].concat();
            buf.extend_from_slice(NOT_FOUND);
            let mut rest: &[u8] = &buf;
            while let Ok((m, next)) = parse(rest) {
                // Each message consumes at least its head.
                prop_assert!(m.head_len > 0 && next.len() < rest.len());
                rest = next;
            }
        }

        #[test]
        fn arbitrary_header_values_round_trip(value in "[ -~]{0,40}") {
            let raw = format!("GET /a HTTP/1.1\r\nX-V: {value}\r\n\r\n");
            let (m, _) = parse(raw.as_bytes()).unwrap();
            prop_assert_eq!(m.header("x-v"), Some(value.trim_matches([' ', '\t']).as_bytes()));
        }
    }

    // ---- emitter ----

    /// Emit `x`, parse it back and check it comes back equal, with nothing left.
    fn round_trip(x: &HttpMessage<'_>) -> Vec<u8> {
        let bytes = x.to_vec().unwrap();
        assert_eq!(bytes.len(), x.buffer_len());
        let (y, rest) = parse(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(&y, x);
        bytes
    }

    const V11: HttpVersion = HttpVersion { major: 1, minor: 1 };

    fn get(target: &[u8]) -> HttpStartLine<'_> {
        HttpStartLine::Request {
            method: "GET",
            target,
            version: V11,
        }
    }

    fn status(status: u16, reason: &[u8]) -> HttpStartLine<'_> {
        HttpStartLine::Response {
            version: V11,
            status,
            reason,
        }
    }

    #[test]
    fn built_messages_round_trip() {
        let req = HttpMessage::from_parts(
            get(b"/SEP001122334455.cnf.xml"),
            &[
                ("Host", b"10.1.1.5:6970"),
                ("User-Agent", b"Cisco-CP8851/12.8.1"),
                ("Connection", b"close"),
            ],
            Some(b""),
        );
        // Byte for byte the hand-built fixture.
        assert_eq!(round_trip(&req), GET_CNF);
        assert_eq!(req.head_len, GET_CNF.len());

        let xml = b"<?xml version=\"1.0\"?><device/>";
        let cl = xml.len().to_string();
        let ok = HttpMessage::from_parts(
            status(200, b"OK"),
            &[
                ("Content-Type", b"text/xml"),
                ("Content-Length", cl.as_bytes()),
            ],
            Some(xml),
        );
        let bytes = round_trip(&ok);
        assert!(bytes.ends_with(b"Content-Length: 30\r\n\r\n<?xml version=\"1.0\"?><device/>"));
        round_trip(&HttpMessage::from_parts(
            status(404, b"Not Found"),
            &[("Content-Length", b"0")],
            Some(b""),
        ));
        // No reason phrase (a space is still written), a status below 100, an empty value.
        let bytes = round_trip(&HttpMessage::from_parts(status(204, b""), &[], Some(b"")));
        assert_eq!(bytes, b"HTTP/1.1 204 \r\n\r\n");
        let bytes = round_trip(&HttpMessage::from_parts(
            status(42, b"Odd"),
            &[("X-Empty", b"")],
            None,
        ));
        assert!(bytes.starts_with(b"HTTP/1.1 042 Odd\r\nX-Empty: \r\n"));
        // A chunked message: the head alone, the chunks follow separately.
        let chunked = HttpMessage::from_parts(
            status(200, b"OK"),
            &[("Transfer-Encoding", b"chunked")],
            None,
        );
        let mut bytes = round_trip(&chunked);
        bytes.extend_from_slice(b"0\r\n\r\n");
        let (m, rest) = parse(&bytes).unwrap();
        assert_eq!((m, rest), (chunked, &b"0\r\n\r\n"[..]));
        // HTTP/1.0 POST with a body and a target that is not UTF-8.
        round_trip(&HttpMessage::from_parts(
            HttpStartLine::Request {
                method: "POST",
                target: b"/up\xffload",
                version: HttpVersion { major: 1, minor: 0 },
            },
            &[("Content-Length", b"3")],
            Some(b"a\0b"),
        ));
    }

    #[test]
    fn fixtures_are_re_emitted_byte_for_byte() {
        for fixture in [GET_CNF, NOT_FOUND, OK_XML] {
            let (m, rest) = parse(fixture).unwrap();
            assert!(rest.is_empty());
            assert_eq!(m.to_vec().unwrap(), fixture);
            assert_eq!(m.head_buffer_len(), m.head_len);
        }
        // Chunked: the message is the head; the chunks are what parse leaves.
        let (m, rest) = parse(OK_CHUNKED).unwrap();
        assert_eq!([m.to_vec().unwrap(), rest.to_vec()].concat(), OK_CHUNKED);
    }

    #[test]
    fn emit_into_a_short_buffer_says_how_much_it_needs() {
        let x = HttpMessage::from_parts(status(200, b"OK"), &[], Some(b"x"));
        let mut buf = [0u8; 18];
        assert_eq!(
            x.emit(&mut buf),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Http,
                needed: 20
            })
        );
        let mut big = [b'#'; 21];
        assert_eq!(x.emit(&mut big), Ok(20));
        assert_eq!(&big, b"HTTP/1.1 200 OK\r\n\r\nx#");
    }

    #[test]
    fn unrepresentable_values_are_errors_not_panics() {
        let unrep = |x: HttpMessage<'_>| {
            assert!(
                matches!(x.to_vec(), Err(EmitError::Unrepresentable { .. })),
                "{x:?}"
            );
        };
        let req = |method, target, major| {
            HttpMessage::from_parts(
                HttpStartLine::Request {
                    method,
                    target,
                    version: HttpVersion { major, minor: 1 },
                },
                &[],
                None,
            )
        };
        unrep(req("", b"/", 1));
        unrep(req("G T", b"/", 1));
        unrep(req("GET", b"", 1));
        unrep(req("GET", b"/a b", 1));
        unrep(req("GET", b"/", 10));
        unrep(HttpMessage::from_parts(status(1000, b"x"), &[], None));
        unrep(HttpMessage::from_parts(status(200, b"O\nK"), &[], None));
        let field = |name, value| HttpMessage::from_parts(get(b"/"), &[(name, value)], None);
        unrep(field("Bad Name", b"x"));
        unrep(field("", b"x"));
        unrep(field("X", b" x"));
        unrep(field("X", b"x\t"));
        unrep(field("X", b"a\r\nInjected: yes"));
        unrep(field("X", b"a\rb"));
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            request in any::<bool>(),
            method in "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}",
            target in proptest::collection::vec(0x21u8..=0xff, 1..40),
            (major, minor) in (0u8..=9, 0u8..=9),
            code in 0u16..=999,
            reason in proptest::collection::vec(
                prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff], 0..30),
            // `X-` names cannot collide with the framing fields.
            fields in proptest::collection::vec(
                ("X-[A-Za-z0-9-]{0,12}", "([!-~]([ -~]{0,30}[!-~])?)?"), 0..12),
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let target: Vec<u8> = target.into_iter().filter(|&c| c != 0x7f).chain([b'/']).collect();
            let version = HttpVersion { major, minor };
            let start = if request {
                HttpStartLine::Request { method: &method, target: &target, version }
            } else {
                HttpStartLine::Response { version, status: code, reason: &reason }
            };
            let cl = body.len().to_string();
            let mut pairs: Vec<(&str, &[u8])> =
                fields.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
            pairs.push(("Content-Length", cl.as_bytes()));
            let x = HttpMessage::from_parts(start, &pairs, Some(&body));
            let bytes = x.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), x.buffer_len());
            let (y, rest) = parse(&bytes).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(y, x);
        }

        #[test]
        fn parsed_heads_re_emit_and_read_back(
            fields in proptest::collection::vec(
                ("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}", "[ \t]{0,2}", "[ -~\t]{0,30}"), 0..12),
        ) {
            // Odd spacing around values is trimmed on reading and written canonically.
            let mut data = b"GET /a HTTP/1.1\r\n".to_vec();
            for (n, sp, v) in &fields {
                data.extend_from_slice(format!("{n}:{sp}{v}\r\n").as_bytes());
            }
            data.extend_from_slice(b"\r\n");
            let (m, _) = parse_head(&data).unwrap();
            let bytes = m.to_vec().unwrap();
            let (again, rest) = parse_head(&bytes).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(&again.headers, &m.headers);
            prop_assert_eq!(&again.start, &m.start);
            prop_assert_eq!(again.head_len, m.head_buffer_len());
        }
    }
}
