//! HTTP rendering for `bootscope dissect` (config download on TCP 6970/6971):
//! the request line's method and target, or the status code and reason, with the
//! body framing (`Content-Length`, chunked) when the head announces it.

use std::fmt::Write;

use parsers::http::HttpMessage;
use serde_json::{Map, Value};

use super::{push_str, push_text, text, text_str};

/// One-line tshark-like summary, starting with the upper-case protocol name, e.g.
/// `HTTP GET /SEP001122334455.cnf.xml` or `HTTP 404 Not Found (Content-Length 0)`.
pub fn summary(msg: &HttpMessage<'_>, out: &mut String) {
    out.push_str("HTTP ");
    if let (Some(method), Some(target)) = (msg.method(), msg.target()) {
        push_str(out, method);
        out.push(' ');
        push_text(out, target);
    } else if let Some(status) = msg.status() {
        let _ = write!(out, "{status}");
        if let Some(reason) = msg.reason().filter(|r| !r.is_empty()) {
            out.push(' ');
            push_text(out, reason);
        }
    }
    if msg.is_chunked() {
        out.push_str(" (chunked)");
    } else if let Some(n) = msg.content_length() {
        let _ = write!(out, " (Content-Length {n})");
    }
}

/// Decoded fields for `dissect --format json`: `kind` (`request`/`response`),
/// `version` (`HTTP/1.1`); requests `method`, `uri`; responses `status`, `reason`;
/// when present `content_length`, `host`, `user_agent`, `content_type`;
/// `chunked` (bool) and `header_count` always.
pub fn fields(msg: &HttpMessage<'_>, out: &mut Map<String, Value>) {
    let kind = if msg.is_request() {
        "request"
    } else {
        "response"
    };
    out.insert("kind".into(), Value::from(kind));
    out.insert("version".into(), Value::from(msg.version().to_string()));
    if let Some(m) = msg.method() {
        out.insert("method".into(), text_str(m));
    }
    if let Some(t) = msg.target() {
        out.insert("uri".into(), text(t));
    }
    if let Some(s) = msg.status() {
        out.insert("status".into(), Value::from(s));
    }
    if let Some(r) = msg.reason() {
        out.insert("reason".into(), text(r));
    }
    if let Some(n) = msg.content_length() {
        out.insert("content_length".into(), Value::from(n));
    }
    let optional = [
        ("host", msg.host()),
        ("user_agent", msg.user_agent()),
        ("content_type", msg.content_type()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            out.insert(k.into(), text(v));
        }
    }
    out.insert("chunked".into(), Value::from(msg.is_chunked()));
    out.insert("header_count".into(), Value::from(msg.headers.len()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> String {
        let (m, _) = parsers::http::parse_head(bytes).unwrap();
        let mut s = String::new();
        summary(&m, &mut s);
        s
    }

    #[test]
    fn request_and_response_summaries() {
        assert_eq!(
            line(include_bytes!(
                "../../parsers/testdata/http/get-sep-cnf.bin"
            )),
            "HTTP GET /SEP001122334455.cnf.xml"
        );
        assert_eq!(
            line(include_bytes!(
                "../../parsers/testdata/http/404-not-found.bin"
            )),
            "HTTP 404 Not Found (Content-Length 0)"
        );
        assert_eq!(
            line(include_bytes!(
                "../../parsers/testdata/http/200-chunked.bin"
            )),
            "HTTP 200 OK (chunked)"
        );
        // A hostile target cannot reach the terminal.
        assert_eq!(
            line(b"GET /\xe2\x80\xaeevil\xff HTTP/1.1\r\n\r\n"),
            "HTTP GET /\\u{202e}evil\\xff"
        );
    }

    #[test]
    fn request_fields() {
        let (m, _) = parsers::http::parse(include_bytes!(
            "../../parsers/testdata/http/get-sep-cnf.bin"
        ))
        .unwrap();
        let mut o = Map::new();
        fields(&m, &mut o);
        assert_eq!(o["kind"], "request");
        assert_eq!(o["method"], "GET");
        assert_eq!(o["uri"], "/SEP001122334455.cnf.xml");
        assert_eq!(o["version"], "HTTP/1.1");
        assert_eq!(o["host"], "10.1.1.5:6970");
        assert_eq!(o["user_agent"], "Cisco-CP8851/12.8.1");
        assert!(o.get("content_length").is_none());
    }
}
