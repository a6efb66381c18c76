//! ICMP / ICMPv6 error rendering for `bootscope dissect`: the type and code as
//! tshark names them, and the flow the error answers (the quoted datagram's
//! addresses and ports), e.g. `ICMP Destination Unreachable (Port unreachable)
//! for UDP 10.100.0.20:50000 → 10.1.1.5:69`.

use std::fmt::Write;

use parsers::icmp::{IcmpMessage, IcmpType, IcmpVersion, Icmpv6Type, UnreachableCode};
use serde_json::{Map, Value};

/// The type's name (tshark's wording).
fn type_name(msg: &IcmpMessage<'_>) -> &'static str {
    match msg.version {
        IcmpVersion::V4 => IcmpType(msg.icmp_type).name(),
        IcmpVersion::V6 => Icmpv6Type(msg.icmp_type).name(),
    }
    .unwrap_or("Unknown type")
}

/// The code's name, for a destination unreachable.
fn code_name(msg: &IcmpMessage<'_>) -> Option<&'static str> {
    match (msg.version, msg.icmp_type) {
        (IcmpVersion::V4, 3) => UnreachableCode(msg.code).name(),
        (IcmpVersion::V6, 1) => parsers::icmp::Unreachable6Code(msg.code).name(),
        _ => None,
    }
}

/// The transport's name by IP protocol number.
fn proto_name(p: u8) -> &'static str {
    match p {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "ICMPv6",
        _ => "IP",
    }
}

/// One-line summary: `ICMP` or `ICMPv6`, the type, the code, the flow answered.
pub fn summary(msg: &IcmpMessage<'_>, out: &mut String) {
    out.push_str(match msg.version {
        IcmpVersion::V4 => "ICMP ",
        IcmpVersion::V6 => "ICMPv6 ",
    });
    out.push_str(type_name(msg));
    match code_name(msg) {
        Some(c) => {
            let _ = write!(out, " ({c})");
        }
        None => {
            let _ = write!(out, " (code {})", msg.code);
        }
    }
    if let Some(q) = msg.quoted() {
        let _ = write!(out, " for {} ", proto_name(q.protocol));
        match q.ports() {
            Some((s, d)) => {
                let _ = write!(out, "{}:{s} → {}:{d}", q.src, q.dst);
            }
            None => {
                let _ = write!(out, "{} → {}", q.src, q.dst);
            }
        }
    }
}

/// Decoded fields for `dissect --format json`: `version` (4 or 6), `type`,
/// `type_name`, `code`, `code_name` (unreachables); for an error the quoted flow:
/// `quoted_src`, `quoted_dst`, `quoted_protocol`, `quoted_src_port`,
/// `quoted_dst_port` (UDP, TCP).
pub fn fields(msg: &IcmpMessage<'_>, out: &mut Map<String, Value>) {
    let v = match msg.version {
        IcmpVersion::V4 => 4,
        IcmpVersion::V6 => 6,
    };
    out.insert("version".into(), Value::from(v));
    out.insert("type".into(), msg.icmp_type.into());
    out.insert("type_name".into(), type_name(msg).into());
    out.insert("code".into(), msg.code.into());
    if let Some(c) = code_name(msg) {
        out.insert("code_name".into(), c.into());
    }
    if let Some(q) = msg.quoted() {
        out.insert("quoted_src".into(), q.src.to_string().into());
        out.insert("quoted_dst".into(), q.dst.to_string().into());
        out.insert("quoted_protocol".into(), q.protocol.into());
        if let Some((s, d)) = q.ports() {
            out.insert("quoted_src_port".into(), s.into());
            out.insert("quoted_dst_port".into(), d.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::encode;

    #[test]
    fn a_port_unreachable_names_the_flow_it_answers() {
        let datagram = ([10, 100, 0, 20].into(), 50000, [10, 1, 1, 5].into(), 69);
        let bytes = encode::icmp_unreachable(3, datagram, 17, 28, 0).unwrap();
        let m = parsers::icmp::parse_v4(&bytes).unwrap();
        let mut s = String::new();
        summary(&m, &mut s);
        assert_eq!(
            s,
            "ICMP Destination Unreachable (Port unreachable) for UDP 10.100.0.20:50000 → 10.1.1.5:69"
        );
        let mut f = Map::new();
        fields(&m, &mut f);
        assert_eq!(f["quoted_dst_port"], Value::from(69));
        assert_eq!(f["code_name"], Value::from("Port unreachable"));
    }
}
