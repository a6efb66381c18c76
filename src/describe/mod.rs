//! Human and JSON renderings of one dissected message, for `bootscope dissect`:
//! a tshark-like one-line summary and the decoded fields. One submodule per
//! protocol, each with `summary(msg, &mut String)` and `fields(msg, &mut Map)`.
//! Every string that came off the wire goes through [`push_text`] or [`text`],
//! so no control character or terminal escape from a packet reaches the output.

use std::fmt::Write;

use serde_json::Value;

pub mod arp;
pub mod cdp;
pub mod dhcp;
pub mod dns;
pub mod eapol;
pub mod http;
pub mod icmp;
pub mod lldp;
pub mod sccp;
pub mod sip;
pub mod tftp;
pub mod tls;

pub use crate::escape::{push_str, push_text};

/// Wire bytes as a JSON string, escaped as [`push_text`] does (JSON escaping alone
/// would let an ESC reach a terminal that prints the value).
pub fn text(bytes: &[u8]) -> Value {
    let mut s = String::with_capacity(bytes.len());
    push_text(&mut s, bytes);
    Value::String(s)
}

/// [`text`] for a `&str`.
pub fn text_str(s: &str) -> Value {
    let mut out = String::with_capacity(s.len());
    push_str(&mut out, s);
    Value::String(out)
}

/// Wire bytes between double quotes, escaped as [`push_text`] does.
pub fn push_quoted(out: &mut String, bytes: &[u8]) {
    out.push('"');
    push_text(out, bytes);
    out.push('"');
}

/// Bytes as lower-case hex without separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A MAC address as lower-case colon-separated hex; `None` unless exactly 6 bytes.
pub fn mac(bytes: &[u8]) -> Option<String> {
    crate::link::MacAddr::from_slice(bytes).map(|m| m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_quoted() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
        assert_eq!(hex(&[]), "");
        let mut s = String::new();
        push_quoted(&mut s, b"a\nb");
        assert_eq!(s, "\"a\\nb\"");
    }

    #[test]
    fn mac_needs_six_bytes() {
        assert_eq!(
            mac(&[0, 0x11, 0x22, 0x33, 0x44, 0xff]).as_deref(),
            Some("00:11:22:33:44:ff")
        );
        assert_eq!(mac(&[1, 2, 3]), None);
    }
}
