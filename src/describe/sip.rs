//! SIP rendering for `bootscope dissect`: tshark's Info wording (`REGISTER uri`,
//! `503 reason (REGISTER)`) plus what identifies a phone and its registration
//! outcome (From user, Contact device name, Expires, User-Agent, Server, realm,
//! cisco-alarm).
//!
//! JSON fields (present only when the message has them): `kind` (`request` /
//! `response`), `method`, `uri`, `status`, `reason_phrase`, `call_id`, `cseq`,
//! `cseq_method`, `from_user`, `from_tag`, `to_user`, `to_tag`, `via_transport`,
//! `via_host`, `via_port`, `via_branch`, `contact_uri`, `contact_expires`,
//! `device_name`, `model`, `instance_mac`, `expires`, `user_agent`, `server`,
//! `reason`, `cisco_alarm`, `auth_scheme`, `auth_realm` (quotes removed),
//! `content_type`, `content_length`, `content_length_invalid`, `body_len`,
//! `head_complete` (false only for a datagram cut inside its headers),
//! `malformed_headers` (count, when any).

use parsers::sip::{SipMessage, SipStartLine};
use serde_json::{Map, Value};

use super::{mac, push_str, text_str};

/// One-line tshark-like summary, starting with the upper-case protocol name, e.g.
/// `SIP REGISTER sip:10.180.110.58 From 1034 Contact SEPF87B204EEEDE Expires 0 UA Cisco-CP8811/12.1.1`
/// or `SIP 401 Unauthorized (REGISTER) realm "sip.cybercity.dk"`.
pub fn summary(msg: &SipMessage<'_>, out: &mut String) {
    out.push_str("SIP ");
    match msg.start {
        SipStartLine::Request { method, uri, .. } => {
            push_str(out, method.as_str());
            out.push(' ');
            push_str(out, uri);
            if let Some(user) = msg.from().and_then(|f| f.user()) {
                out.push_str(" From ");
                push_str(out, user);
            }
        }
        SipStartLine::Response { code, reason, .. } => {
            out.push_str(&code.to_string());
            if !reason.is_empty() {
                out.push(' ');
                push_str(out, reason);
            }
            if let Some((_, method)) = msg.cseq() {
                out.push_str(" (");
                push_str(out, method.as_str());
                out.push(')');
            }
        }
    }
    if let Some(name) = msg.device_name() {
        out.push_str(" Contact ");
        push_str(out, name);
    }
    let contact_expires = msg.contact().iter().find_map(|c| c.expires());
    if let Some(exp) = msg.expires().or(contact_expires) {
        out.push_str(&format!(" Expires {exp}"));
    }
    if let Some(ua) = msg.user_agent().filter(|ua| !ua.is_empty()) {
        out.push_str(" UA ");
        push_str(out, ua);
    }
    if let Some(server) = msg.server().filter(|s| !s.is_empty()) {
        out.push_str(" Server ");
        push_str(out, server);
    }
    let challenge = msg.www_authenticate().or_else(|| msg.proxy_authenticate());
    if let Some(realm) = challenge.and_then(|c| c.realm) {
        out.push_str(" realm \"");
        push_str(out, realm);
        out.push('"');
    }
    if let Some(alarm) = msg.cisco_alarm() {
        out.push_str(" Alarm \"");
        push_str(out, alarm.text);
        out.push('"');
    }
    if msg.content_length_invalid {
        out.push_str(" [invalid Content-Length]");
    }
    if !msg.head_complete {
        out.push_str(" [headers cut]");
    }
}

/// Decoded fields for `dissect --format json` (names listed in the module doc).
pub fn fields(msg: &SipMessage<'_>, out: &mut Map<String, Value>) {
    match msg.start {
        SipStartLine::Request { method, uri, .. } => {
            out.insert("kind".into(), Value::from("request"));
            out.insert("method".into(), text_str(method.as_str()));
            out.insert("uri".into(), text_str(uri));
        }
        SipStartLine::Response { code, reason, .. } => {
            out.insert("kind".into(), Value::from("response"));
            out.insert("status".into(), Value::from(code));
            out.insert("reason_phrase".into(), text_str(reason));
        }
    }
    let mut put = |key: &str, v: Option<&str>| {
        if let Some(v) = v {
            out.insert(key.into(), text_str(v));
        }
    };
    put("call_id", msg.call_id());
    let from = msg.from();
    put("from_user", from.as_ref().and_then(|f| f.user()));
    put("from_tag", from.as_ref().and_then(|f| f.tag()));
    let to = msg.to();
    put("to_user", to.as_ref().and_then(|t| t.user()));
    put("to_tag", to.as_ref().and_then(|t| t.tag()));
    let via = msg.via();
    let first = via.first();
    put("via_transport", first.map(|v| v.transport));
    put("via_host", first.map(|v| v.host));
    put("via_branch", first.and_then(|v| v.branch()));
    let contacts = msg.contact();
    let contact = contacts
        .iter()
        .find(|c| c.device_name().is_some())
        .or(contacts.first());
    put("contact_uri", contact.map(|c| c.uri));
    put("device_name", contact.and_then(|c| c.device_name()));
    put("model", contact.and_then(|c| c.model()));
    put("user_agent", msg.user_agent());
    put("server", msg.server());
    put("reason", msg.reason());
    put("cisco_alarm", msg.cisco_alarm().map(|a| a.text));
    let challenge = msg.www_authenticate().or_else(|| msg.proxy_authenticate());
    put("auth_scheme", challenge.map(|c| c.scheme));
    put("auth_realm", challenge.and_then(|c| c.realm));
    put("content_type", msg.content_type());

    if let Some((seq, method)) = msg.cseq() {
        out.insert("cseq".into(), Value::from(seq));
        out.insert("cseq_method".into(), text_str(method.as_str()));
    }
    if let Some(port) = first.and_then(|v| v.port) {
        out.insert("via_port".into(), Value::from(port));
    }
    if let Some(exp) = contact.and_then(|c| c.expires()) {
        out.insert("contact_expires".into(), Value::from(exp));
    }
    if let Some(m) = contact.and_then(|c| c.instance_mac()).and_then(|m| mac(&m)) {
        out.insert("instance_mac".into(), Value::from(m));
    }
    if let Some(exp) = msg.expires() {
        out.insert("expires".into(), Value::from(exp));
    }
    if let Some(len) = msg.content_length() {
        out.insert("content_length".into(), Value::from(len));
    }
    out.insert(
        "content_length_invalid".into(),
        Value::from(msg.content_length_invalid),
    );
    out.insert("body_len".into(), Value::from(msg.body.len()));
    out.insert("head_complete".into(), Value::from(msg.head_complete));
    if !msg.malformed_headers.is_empty() {
        out.insert(
            "malformed_headers".into(),
            Value::from(msg.malformed_headers.len()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(bytes: &[u8]) -> (String, Map<String, Value>) {
        let msg = parsers::sip::parse(bytes).unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        let mut m = Map::new();
        fields(&msg, &mut m);
        (s, m)
    }

    #[test]
    fn cisco_register_and_its_503() {
        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/sip/register-cp8811.bin"
        ));
        assert_eq!(
            s,
            "SIP REGISTER sip:10.180.110.58 From 1034 Contact SEPF87B204EEEDE Expires 0 UA Cisco-CP8811/12.1.1"
        );
        assert_eq!(m["kind"], "request");
        assert_eq!(m["method"], "REGISTER");
        assert_eq!(m["cseq"], 12917);
        assert_eq!(m["via_branch"], "z9hG4bK5f6c4d6b");
        assert_eq!(m["device_name"], "SEPF87B204EEEDE");
        assert_eq!(m["model"], "36217");
        assert_eq!(m["instance_mac"], "f8:7b:20:4e:ee:de");
        assert_eq!(m["expires"], 0);
        assert_eq!(m["content_length_invalid"], false);

        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/sip/register-503-cube.bin"
        ));
        assert_eq!(
            s,
            "SIP 503 Service Unavailable - registrar unavail or not enabled (REGISTER) Server Cisco-SIPGateway/IOS-16.9.1"
        );
        assert_eq!(m["status"], 503);
        assert_eq!(m["cseq_method"], "REGISTER");
        assert_eq!(m["server"], "Cisco-SIPGateway/IOS-16.9.1");
    }

    #[test]
    fn challenge_and_invalid_content_length() {
        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/sip/register-401-nero.bin"
        ));
        assert_eq!(
            s,
            "SIP 401 Unauthorized (REGISTER) realm \"sip.cybercity.dk\""
        );
        assert_eq!(m["auth_realm"], "sip.cybercity.dk");
        assert_eq!(m["auth_scheme"], "Digest");

        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/sip/invite-invalid-content-length.bin"
        ));
        assert_eq!(
            s,
            "SIP INVITE sip:bob@10.0.0.2 From alice [invalid Content-Length]"
        );
        assert_eq!(m["content_length_invalid"], true);
        assert!(!m.contains_key("content_length"));
    }
}
