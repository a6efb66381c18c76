//! EAPOL / EAP rendering for `bootscope dissect`: tshark's wording in its Info column
//! ("Start", "Request, Identity", "Response, Identity", "Success", "Failure") after the
//! protocol tshark names (EAPOL for the header's own packet types, EAP for what an
//! EAP-Packet carries), and the decoded fields.

use std::fmt::Write;

use parsers::eapol::{EapBody, EapData, EapPacket, EapolBody, EapolPdu};
use serde_json::{Map, Value};

use super::{push_quoted, text};

/// One-line tshark-like summary, e.g. `EAPOL Start`, `EAP Request, Identity`,
/// `EAP Response, Identity "CP-7970-SEP001B54AA0001"`, `EAP Failure`.
pub fn summary(msg: &EapolPdu<'_>, out: &mut String) {
    match &msg.body {
        EapolBody::Eap(e) => {
            out.push_str("EAP ");
            push_code(e, out);
            if let Some(t) = e.eap_type() {
                out.push_str(", ");
                match t.name() {
                    Some(n) => out.push_str(n),
                    None => {
                        let _ = write!(out, "Unknown type {}", t.0);
                    }
                }
            }
            if let EapBody::Typed(m) = &e.body {
                if let EapData::Identity(id) = m.data {
                    if !id.is_empty() {
                        out.push(' ');
                        push_quoted(out, id);
                    }
                }
            }
        }
        EapolBody::Raw(_) => {
            out.push_str("EAPOL ");
            let name = msg.packet_type.name().unwrap_or("Unknown");
            // tshark writes "Start" and "Logoff" for EAPOL-Start and EAPOL-Logoff.
            out.push_str(name.strip_prefix("EAPOL-").unwrap_or(name));
        }
    }
}

fn push_code(e: &EapPacket<'_>, out: &mut String) {
    match e.code.name() {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "Unknown code {}", e.code.0);
        }
    }
}

/// Decoded fields for `dissect --format json`: `version`, `packet_type` (name),
/// `packet_type_code`; for an EAP-Packet `eap_code` (name), `eap_code_value`,
/// `eap_id`, and for a Request or Response `eap_type` (name or `Unknown`),
/// `eap_type_code`, `identity` (escaped) for Identity, `tls_flags` and
/// `tls_message_length` for the TLS-based methods.
pub fn fields(msg: &EapolPdu<'_>, out: &mut Map<String, Value>) {
    let ptype = msg.packet_type;
    code_point(
        out,
        ("packet_type", "packet_type_code"),
        ptype.name(),
        ptype.0,
    );
    out.insert("version".into(), Value::from(msg.version));
    let EapolBody::Eap(e) = &msg.body else {
        return;
    };
    code_point(out, ("eap_code", "eap_code_value"), e.code.name(), e.code.0);
    out.insert("eap_id".into(), Value::from(e.identifier));
    let EapBody::Typed(m) = &e.body else {
        return;
    };
    code_point(
        out,
        ("eap_type", "eap_type_code"),
        m.eap_type.name(),
        m.eap_type.0,
    );
    match m.data {
        EapData::Identity(id) => {
            out.insert("identity".into(), text(id));
        }
        EapData::Tls(t) => {
            out.insert("tls_flags".into(), Value::from(t.flags.0));
            if let Some(len) = t.message_length {
                out.insert("tls_message_length".into(), Value::from(len));
            }
        }
        EapData::Other(_) => {}
    }
}

/// A code point: its name (or `Unknown`) under the first key, its number under the second.
fn code_point(
    out: &mut Map<String, Value>,
    (name_key, code_key): (&str, &str),
    name: Option<&str>,
    code: u8,
) {
    out.insert(name_key.into(), Value::from(name.unwrap_or("Unknown")));
    out.insert(code_key.into(), Value::from(code));
}

#[cfg(test)]
mod tests {
    use super::*;
    use parsers::eapol::{EapCode, EapMessage, EapType, EapolType};

    fn eap(code: EapCode, body: EapBody<'_>) -> EapolPdu<'_> {
        EapolPdu {
            version: 3,
            packet_type: EapolType::EAP_PACKET,
            body: EapolBody::Eap(EapPacket {
                code,
                identifier: 7,
                body,
            }),
        }
    }

    fn said(m: &EapolPdu<'_>) -> String {
        let mut s = String::new();
        summary(m, &mut s);
        s
    }

    #[test]
    fn summaries_use_tsharks_words_and_escape_the_identity() {
        let start = EapolPdu {
            version: 1,
            packet_type: EapolType::START,
            body: EapolBody::Raw(&[]),
        };
        assert_eq!(said(&start), "EAPOL Start");
        let req = eap(
            EapCode::REQUEST,
            EapBody::Typed(EapMessage {
                eap_type: EapType::IDENTITY,
                data: EapData::Identity(b""),
            }),
        );
        assert_eq!(said(&req), "EAP Request, Identity");
        let resp = eap(
            EapCode::RESPONSE,
            EapBody::Typed(EapMessage {
                eap_type: EapType::IDENTITY,
                data: EapData::Identity(b"CP-7970-SEP001B54AA0001\x1b[2J"),
            }),
        );
        let s = said(&resp);
        assert!(s.starts_with("EAP Response, Identity \"CP-7970-SEP001B54AA0001"));
        assert!(!s.contains('\x1b'), "{s}");
        assert_eq!(
            said(&eap(EapCode::FAILURE, EapBody::Raw(&[]))),
            "EAP Failure"
        );
        let mut obj = Map::new();
        fields(&resp, &mut obj);
        assert_eq!(obj["eap_code"], "Response");
        assert_eq!(obj["eap_type"], "Identity");
        assert_eq!(obj["eap_id"], 7);
        assert!(!obj["identity"].as_str().unwrap().contains('\x1b'));
    }
}
