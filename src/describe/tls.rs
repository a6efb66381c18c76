//! TLS rendering for `bootscope dissect`: tshark's Info column for a record
//! ("Client Hello", "Server Hello, Certificate", "Change Cipher Spec", "Alert (Level:
//! Fatal, Description: Handshake Failure)", "Application Data") with the version,
//! and the decoded fields: content type, version, length, handshake types, the
//! suites offered or chosen, the server name, the alert.

use std::fmt::Write;

use parsers::tls::{TlsBody, TlsHandshake, TlsRecord, TlsVersion};
use serde_json::{Map, Value};

use super::{push_quoted, text};

/// "TLS 1.2", "SSL 3.0", or "TLS 0x0305" for a version without a name.
fn version_name(v: TlsVersion) -> String {
    v.name()
        .map_or_else(|| format!("TLS {:#06x}", v.0), str::to_string)
}

/// One-line tshark-like summary, e.g. `TLS 1.0 Client Hello "cucm.example" (2 suites)`,
/// `TLS 1.0 Server Hello TLS_RSA_WITH_NULL_SHA, Certificate`,
/// `TLS 1.2 Alert Fatal Handshake Failure`, `TLS 1.2 Application Data 156 bytes`.
pub fn summary(msg: &TlsRecord<'_>, out: &mut String) {
    let _ = write!(out, "{} ", version_name(msg.version));
    match &msg.body {
        TlsBody::Handshake(messages) if messages.is_empty() => out.push_str("Handshake (empty)"),
        TlsBody::Handshake(messages) => {
            for (i, m) in messages.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let kind = m.kind();
                out.push_str(kind.name().unwrap_or("Handshake"));
                match m {
                    TlsHandshake::ClientHello(h) => {
                        if let Some(n) = h.server_name() {
                            out.push(' ');
                            push_quoted(out, n);
                        }
                        let _ = write!(out, " ({} suites)", h.cipher_suites.len());
                    }
                    TlsHandshake::ServerHello(h) => {
                        let _ = match h.cipher_suite.name() {
                            Some(n) => write!(out, " {n}"),
                            None => write!(out, " {:#06x}", h.cipher_suite.0),
                        };
                    }
                    TlsHandshake::Certificate(c) => {
                        let _ = write!(out, " ({} certificates)", c.len());
                    }
                    TlsHandshake::Malformed { .. } => out.push_str(" [malformed]"),
                    TlsHandshake::Other { .. } => {}
                }
            }
        }
        TlsBody::ChangeCipherSpec(_) => out.push_str("Change Cipher Spec"),
        TlsBody::Alert { level, description } => {
            let _ = write!(
                out,
                "Alert {} {}",
                level
                    .name()
                    .map_or_else(|| level.0.to_string(), str::to_string),
                description
                    .name()
                    .map_or_else(|| description.0.to_string(), str::to_string)
            );
        }
        TlsBody::ApplicationData(d) => {
            let _ = write!(out, "Application Data {} bytes", d.len());
        }
        TlsBody::Heartbeat(d) => {
            let _ = write!(out, "Heartbeat {} bytes", d.len());
        }
        TlsBody::Opaque(d) => {
            let kind = msg.content_type.name().unwrap_or("record");
            let _ = write!(out, "Encrypted {kind} {} bytes", d.len());
        }
    }
}

/// Decoded fields for `dissect --format json`: `content_type`, `version` (numbers
/// as tshark's `tls.record.*`), `length`, and as the record gives them
/// `handshake_types`, `cipher_suites` (offered), `cipher_suite` (chosen),
/// `server_name`, `supported_versions`, `certificates`, `alert_level`,
/// `alert_description`, `opaque`.
pub fn fields(msg: &TlsRecord<'_>, out: &mut Map<String, Value>) {
    out.insert("content_type".into(), msg.content_type.0.into());
    out.insert("version".into(), msg.version.0.into());
    out.insert("length".into(), (msg.buffer_len() - 5).into());
    match &msg.body {
        TlsBody::Handshake(messages) => {
            let types: Vec<Value> = messages.iter().map(|m| m.kind().0.into()).collect();
            out.insert("handshake_types".into(), types.into());
            for m in messages {
                match m {
                    TlsHandshake::ClientHello(h) => {
                        let suites: Vec<Value> =
                            h.cipher_suites.iter().map(|s| s.0.into()).collect();
                        out.insert("cipher_suites".into(), suites.into());
                        if let Some(n) = h.server_name() {
                            out.insert("server_name".into(), text(n));
                        }
                        let versions: Vec<Value> =
                            h.supported_versions().iter().map(|v| v.0.into()).collect();
                        if !versions.is_empty() {
                            out.insert("supported_versions".into(), versions.into());
                        }
                    }
                    TlsHandshake::ServerHello(h) => {
                        out.insert("cipher_suite".into(), h.cipher_suite.0.into());
                        if let Some(v) = h.supported_version() {
                            out.insert("supported_versions".into(), vec![v.0].into());
                        }
                    }
                    TlsHandshake::Certificate(c) => {
                        out.insert("certificates".into(), c.len().into());
                    }
                    TlsHandshake::Other { .. } | TlsHandshake::Malformed { .. } => {}
                }
            }
        }
        TlsBody::Alert { level, description } => {
            out.insert("alert_level".into(), level.0.into());
            out.insert("alert_description".into(), description.0.into());
        }
        TlsBody::Opaque(_) => {
            out.insert("opaque".into(), true.into());
        }
        TlsBody::ChangeCipherSpec(_) | TlsBody::ApplicationData(_) | TlsBody::Heartbeat(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parsers::tls::{parse, TlsAlertDescription, TlsAlertLevel, TlsContentType};

    #[test]
    fn a_fatal_alert_and_a_server_flight_read_as_tshark_names_them() {
        let r = TlsRecord {
            content_type: TlsContentType::ALERT,
            version: TlsVersion::TLS_1_2,
            body: TlsBody::Alert {
                level: TlsAlertLevel::FATAL,
                description: TlsAlertDescription::UNKNOWN_CA,
            },
        };
        let mut s = String::new();
        summary(&r, &mut s);
        assert_eq!(s, "TLS 1.2 Alert Fatal Unknown CA");
        let mut m = Map::new();
        fields(&r, &mut m);
        assert_eq!(m["alert_description"], 48);
        let flight = include_bytes!("../../parsers/testdata/tls/server-hello-certificate.bin");
        let (r, _) = parse(flight).unwrap();
        let mut s = String::new();
        summary(&r, &mut s);
        assert_eq!(s, "TLS 1.0 Server Hello TLS_RSA_WITH_NULL_SHA");
        let mut m = Map::new();
        fields(&r, &mut m);
        assert_eq!(m["cipher_suite"], 2);
        assert_eq!(m["content_type"], 22);
    }
}
