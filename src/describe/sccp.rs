//! SCCP (Skinny) rendering for `bootscope dissect`: tshark's message names
//! (`RegisterReq`, `KeepAliveAck`) plus the registration facts that matter for a
//! boot (device name and type, firmware, keepalive, reject text, alarm reason).

use std::fmt::Write;

use parsers::sccp::{SccpBody, SccpDeviceType, SccpMessage};
use serde_json::{Map, Value};

use super::{mac, push_quoted, push_text, text};

fn push_device_type(out: &mut String, t: SccpDeviceType) {
    match t.name() {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{}", t.0);
        }
    }
}

/// One-line tshark-like summary, starting with the upper-case protocol name, e.g.
/// `SCCP RegisterReq "SEP002155D548AC" type 7970 proto 20 load SCCP70.9-2-3S`,
/// `SCCP RegisterAck keepalive 30s`, `SCCP RegisterReject "Error DBConfig"`;
/// other messages `SCCP <Name>`, or `SCCP 0x1234` for an id Wireshark does not know.
pub fn summary(msg: &SccpMessage<'_>, out: &mut String) {
    out.push_str("SCCP ");
    match msg.name() {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{:#06x}", msg.id.0);
        }
    }
    match &msg.body {
        SccpBody::RegisterReq(r) => {
            out.push(' ');
            push_quoted(out, r.device_name);
            out.push_str(" type ");
            push_device_type(out, r.device_type);
            if let Some(p) = r.protocol_version {
                let _ = write!(out, " proto {p}");
            }
            if let Some(fw) = r.firmware.filter(|f| !f.is_empty()) {
                out.push_str(" load ");
                push_text(out, fw);
            }
        }
        SccpBody::RegisterAck(a) => {
            let _ = write!(out, " keepalive {}s", a.keepalive);
        }
        SccpBody::RegisterReject { text } => {
            out.push(' ');
            push_quoted(out, text);
        }
        SccpBody::Alarm(a) => {
            out.push(' ');
            push_quoted(out, a.text);
        }
        SccpBody::Reset { reset_type } => match reset_type.name() {
            Some(n) => {
                out.push(' ');
                out.push_str(n);
            }
            None => {
                let _ = write!(out, " type {}", reset_type.0);
            }
        },
        SccpBody::RegisterTokenReq(t) => {
            out.push(' ');
            push_quoted(out, t.device_name);
            out.push_str(" type ");
            push_device_type(out, t.device_type);
        }
        SccpBody::RegisterTokenReject { wait_time } => {
            let _ = write!(out, " wait {wait_time}s");
        }
        SccpBody::UnregisterAck { status } => {
            out.push(' ');
            out.push_str(unregister_status(*status));
        }
        SccpBody::IpPort { rtp_port } => {
            let _ = write!(out, " port {rtp_port}");
        }
        SccpBody::ServerRes(s) => {
            for server in s.servers.iter().filter(|s| !s.name.is_empty()) {
                out.push(' ');
                push_text(out, server.name);
                if let Some(ip) = server.ip {
                    let _ = write!(out, "={ip}");
                }
                let _ = write!(out, ":{}", server.port);
            }
        }
        SccpBody::Malformed { body } => {
            let _ = write!(out, " [malformed: {}-byte body too short]", body.len());
        }
        SccpBody::KeepAliveReq
        | SccpBody::KeepAliveAck
        | SccpBody::RegisterTokenAck
        | SccpBody::UnregisterReq { .. }
        | SccpBody::Other { .. } => {}
    }
}

fn unregister_status(status: u32) -> &'static str {
    match status {
        0 => "Ok",
        1 => "Error",
        2 => "NAK",
        _ => "Unknown",
    }
}

/// Decoded fields for `dissect --format json`. Always: `message_id` (number),
/// `message` (tshark's name, or null), `header_version` (number), `data_length`.
/// RegisterReq: `device_name`, `device_type` (number), `device_type_name`,
/// `instance`, `station_ip`, `max_streams`, and when present `protocol_version`,
/// `mac`, `station_ipv6`, `firmware`, `phone_features`. RegisterAck: `keepalive`,
/// `secondary_keepalive` (seconds), `date_template`, `max_protocol_version`.
/// RegisterReject: `reject_text`. Alarm: `alarm_severity`, `alarm_text`,
/// `alarm_last`, `alarm_param1`, `alarm_param2`. Reset: `reset_type`,
/// `reset_type_name`. RegisterTokenReq: `device_name`, `device_type`,
/// `device_type_name`, `station_ip`. RegisterTokenReject: `wait_time`.
/// UnregisterReq: `unregister_reason`; UnregisterAck: `unregister_status`.
/// IpPort: `rtp_port`. ServerRes: `servers` [{`name`, `port`, `ip`}].
/// A known message with a short body: `malformed` {`offset`, `error`}.
pub fn fields(msg: &SccpMessage<'_>, out: &mut Map<String, Value>) {
    out.insert("message_id".into(), Value::from(msg.id.0));
    out.insert(
        "message".into(),
        msg.name().map_or(Value::Null, Value::from),
    );
    out.insert("header_version".into(), Value::from(msg.header_version.0));
    out.insert("data_length".into(), Value::from(msg.data_length));
    let mut put = |k: &str, v: Value| {
        out.insert(k.into(), v);
    };
    match &msg.body {
        SccpBody::RegisterReq(r) => {
            put("device_name", text(r.device_name));
            put("device_type", Value::from(r.device_type.0));
            put(
                "device_type_name",
                r.device_type.name().map_or(Value::Null, Value::from),
            );
            put("instance", Value::from(r.instance));
            put("station_ip", Value::from(r.station_ip.to_string()));
            put("max_streams", Value::from(r.max_streams));
            if let Some(p) = r.protocol_version {
                put("protocol_version", Value::from(p));
            }
            if let Some(f) = r.phone_features {
                put("phone_features", Value::from(f));
            }
            if let Some(m) = r.mac.as_ref().and_then(|m| mac(m)) {
                put("mac", Value::from(m));
            }
            if let Some(v6) = r.station_ipv6 {
                put("station_ipv6", Value::from(v6.to_string()));
            }
            if let Some(fw) = r.firmware {
                put("firmware", text(fw));
            }
        }
        SccpBody::RegisterAck(a) => {
            put("keepalive", Value::from(a.keepalive));
            put("secondary_keepalive", Value::from(a.secondary_keepalive));
            put("date_template", text(a.date_template));
            if let Some(v) = a.max_protocol_version {
                put("max_protocol_version", Value::from(v));
            }
        }
        SccpBody::RegisterReject { text: t } => put("reject_text", text(t)),
        SccpBody::Alarm(a) => {
            put("alarm_severity", Value::from(a.severity.0));
            put("alarm_text", text(a.text));
            put("alarm_last", a.last().map_or(Value::Null, text));
            put("alarm_param1", Value::from(a.param1));
            put("alarm_param2", Value::from(a.param2));
        }
        SccpBody::Reset { reset_type } => {
            put("reset_type", Value::from(reset_type.0));
            put(
                "reset_type_name",
                reset_type.name().map_or(Value::Null, Value::from),
            );
        }
        SccpBody::RegisterTokenReq(t) => {
            put("device_name", text(t.device_name));
            put("device_type", Value::from(t.device_type.0));
            put(
                "device_type_name",
                t.device_type.name().map_or(Value::Null, Value::from),
            );
            put("station_ip", Value::from(t.station_ip.to_string()));
        }
        SccpBody::RegisterTokenReject { wait_time } => put("wait_time", Value::from(*wait_time)),
        SccpBody::UnregisterReq { reason } => {
            if let Some(r) = reason {
                put("unregister_reason", Value::from(*r));
            }
        }
        SccpBody::UnregisterAck { status } => put("unregister_status", Value::from(*status)),
        SccpBody::IpPort { rtp_port } => put("rtp_port", Value::from(*rtp_port)),
        SccpBody::ServerRes(s) => {
            let servers = s
                .servers
                .iter()
                .map(|sv| {
                    let mut o = Map::new();
                    o.insert("name".into(), text(sv.name));
                    o.insert("port".into(), Value::from(sv.port));
                    o.insert(
                        "ip".into(),
                        sv.ip.map_or(Value::Null, |ip| Value::from(ip.to_string())),
                    );
                    Value::Object(o)
                })
                .collect::<Vec<_>>();
            put("servers", Value::from(servers));
        }
        SccpBody::Malformed { body } => {
            let mut m = Map::new();
            m.insert("offset".into(), Value::from(parsers::sccp::HEADER_LEN));
            m.insert(
                "error".into(),
                Value::from(format!(
                    "{}-byte body too short for this message",
                    body.len()
                )),
            );
            put("malformed", Value::Object(m));
        }
        SccpBody::KeepAliveReq
        | SccpBody::KeepAliveAck
        | SccpBody::RegisterTokenAck
        | SccpBody::Other { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> String {
        let (m, _) = parsers::sccp::parse(bytes).unwrap();
        let mut s = String::new();
        summary(&m, &mut s);
        s
    }

    #[test]
    fn registration_summaries() {
        assert_eq!(
            line(include_bytes!(
                "../../parsers/testdata/sccp/phone-register-req.bin"
            )),
            r#"SCCP RegisterReq "SEP002155D548AC" type 7970 proto 20 load SCCP70.9-2-3S"#
        );
        assert_eq!(
            line(include_bytes!(
                "../../parsers/testdata/sccp/phone-register-ack.bin"
            )),
            "SCCP RegisterAck keepalive 30s"
        );
        assert_eq!(
            line(include_bytes!(
                "../../parsers/testdata/sccp/hand-register-reject.bin"
            )),
            r#"SCCP RegisterReject "Error DBConfig""#
        );
        assert_eq!(
            line(include_bytes!("../../parsers/testdata/sccp/hand-alarm.bin")),
            r#"SCCP Alarm "Name=SEP001122334455 Load=SCCP41.8-2-1S Last=TCP-timeout""#
        );
        assert_eq!(
            line(include_bytes!(
                "../../parsers/testdata/sccp/phone-keepalive-ack.bin"
            )),
            "SCCP KeepAliveAck"
        );
        assert_eq!(
            line(include_bytes!("../../parsers/testdata/sccp/hand-reset.bin")),
            "SCCP Reset RESTART"
        );
        assert_eq!(
            line(&[4, 0, 0, 0, 0, 0, 0, 0, 0x34, 0x12, 0, 0]),
            "SCCP 0x1234"
        );
    }

    #[test]
    fn register_req_fields() {
        let (m, _) = parsers::sccp::parse(include_bytes!(
            "../../parsers/testdata/sccp/phone-register-req.bin"
        ))
        .unwrap();
        let mut o = Map::new();
        fields(&m, &mut o);
        assert_eq!(o["message_id"], 1);
        assert_eq!(o["message"], "RegisterReq");
        assert_eq!(o["device_name"], "SEP002155D548AC");
        assert_eq!(o["device_type"], 30006);
        assert_eq!(o["device_type_name"], "7970");
        assert_eq!(o["station_ip"], "14.50.224.5");
        assert_eq!(o["protocol_version"], 20);
        assert_eq!(o["mac"], "00:21:55:d5:48:ac");
        assert_eq!(o["firmware"], "SCCP70.9-2-3S");
    }
}
