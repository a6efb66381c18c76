//! DHCP rendering for `bootscope dissect`: a tshark-like line (message type, xid,
//! client MAC, offered address, server, TFTP servers) and the decoded fields.

use std::fmt::Write;
use std::net::Ipv4Addr;

use parsers::dhcp::{DhcpMessage, DhcpOp, Option150};
use serde_json::{Map, Value};

use super::{hex, mac, push_quoted, text};

/// The message type name ("Offer"), "Unknown (106)", or BOOTP's op when there is none.
fn type_label(msg: &DhcpMessage<'_>) -> String {
    match msg.message_type() {
        Some(t) => match t.name() {
            Some(n) => n.to_owned(),
            None => format!("Unknown ({})", t.0),
        },
        None => match msg.op {
            DhcpOp::BOOT_REQUEST => "BOOTP Request".to_owned(),
            DhcpOp::BOOT_REPLY => "BOOTP Reply".to_owned(),
            op => format!("BOOTP op {}", op.0),
        },
    }
}

fn addrs(list: impl IntoIterator<Item = Ipv4Addr>) -> Value {
    Value::Array(
        list.into_iter()
            .map(|a| Value::String(a.to_string()))
            .collect(),
    )
}

/// One-line tshark-like summary, starting with the upper-case protocol name, e.g.
/// `DHCP Offer xid 0x3903f326 mac 00:11:22:33:44:55 yiaddr 10.1.1.20 server 10.1.1.1 tftp [10.1.1.5, 10.1.1.6]`.
pub fn summary(msg: &DhcpMessage<'_>, out: &mut String) {
    let _ = write!(out, "DHCP {} xid {:#010x}", type_label(msg), msg.xid);
    if let Some(m) = msg.client_mac().and_then(|m| mac(&m)) {
        let _ = write!(out, " mac {m}");
    }
    if !msg.yiaddr.is_unspecified() {
        let _ = write!(out, " yiaddr {}", msg.yiaddr);
    }
    if let Some(s) = msg.server_id() {
        let _ = write!(out, " server {s}");
    }
    match msg.tftp_servers() {
        Some(Option150::Addresses(list)) => {
            let list: Vec<String> = list.iter().map(|a| a.to_string()).collect();
            let _ = write!(out, " tftp [{}]", list.join(", "));
        }
        Some(Option150::AsciiString(s)) => {
            out.push_str(" option 150 typed as ASCII ");
            push_quoted(out, s.as_bytes());
        }
        Some(Option150::Malformed(d)) => {
            let _ = write!(out, " option 150 malformed ({} bytes)", d.len());
        }
        None => {}
    }
    if let Some(name) = msg.tftp_server_name() {
        out.push_str(" tftp-server-name ");
        push_quoted(out, name);
    }
    if let Some(ip) = msg.requested_ip() {
        let _ = write!(out, " requested {ip}");
    }
    if let Some(h) = msg.host_name() {
        out.push_str(" host ");
        push_quoted(out, h);
    }
    if let Some(v) = msg.vendor_class() {
        out.push_str(" vendor ");
        push_quoted(out, v);
    }
    if let Some(e) = msg.options_error() {
        let _ = write!(out, " [malformed options at byte {}]", e.offset);
    }
}

/// Decoded fields for `dissect --format json`. Always: `op` (name), `op_code`, `xid`
/// (number), `xid_hex`, `hops`, `secs`, `flags`, `broadcast`, `ciaddr`, `yiaddr`,
/// `siaddr`, `giaddr`, `dhcp` (cookie present), `option_codes` (wire order),
/// `options_malformed`. When present: `client_mac`, `server_name`, `boot_file`,
/// `message_type` (name or "Unknown"), `message_type_code`, `server_id`,
/// `requested_ip`, `lease_time`, `subnet_mask`, `routers`, `dns`, `host_name`,
/// `domain_name`, `vendor_class`, `client_id` {`type`, `id` hex, `mac`},
/// `param_request_list`, `tftp_servers` (list), `option150_ascii` (the text when
/// option 150 was sent as a string), `option150_malformed` (hex), `tftp_server_name`
/// (66), `relay_agent` {`circuit_id`, `remote_id` hex, `sub_options`}, `overload`,
/// `options_error` (the error text, with its byte offset).
pub fn fields(msg: &DhcpMessage<'_>, out: &mut Map<String, Value>) {
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("op", Value::from(msg.op.name().unwrap_or("Unknown")));
    put("op_code", Value::from(msg.op.0));
    put("xid", Value::from(msg.xid));
    put("xid_hex", Value::from(format!("{:#010x}", msg.xid)));
    put("hops", Value::from(msg.hops));
    put("secs", Value::from(msg.secs));
    put("flags", Value::from(msg.flags));
    put("broadcast", Value::from(msg.broadcast()));
    put("ciaddr", Value::from(msg.ciaddr.to_string()));
    put("yiaddr", Value::from(msg.yiaddr.to_string()));
    put("siaddr", Value::from(msg.siaddr.to_string()));
    put("giaddr", Value::from(msg.giaddr.to_string()));
    put("dhcp", Value::from(msg.has_cookie()));
    if let Some(m) = msg.client_mac().and_then(|m| mac(&m)) {
        put("client_mac", Value::from(m));
    }
    if let Some(s) = msg.server_name().filter(|s| !s.is_empty()) {
        put("server_name", text(s));
    }
    if let Some(f) = msg.boot_file().filter(|f| !f.is_empty()) {
        put("boot_file", text(f));
    }
    if let Some(t) = msg.message_type() {
        put("message_type", Value::from(t.name().unwrap_or("Unknown")));
        put("message_type_code", Value::from(t.0));
    }
    let codes: Vec<Value> = msg.options().map(|o| Value::from(o.code.0)).collect();
    put("option_codes", Value::Array(codes));
    if let Some(a) = msg.server_id() {
        put("server_id", Value::from(a.to_string()));
    }
    if let Some(a) = msg.requested_ip() {
        put("requested_ip", Value::from(a.to_string()));
    }
    if let Some(t) = msg.lease_time() {
        put("lease_time", Value::from(t));
    }
    if let Some(a) = msg.subnet_mask() {
        put("subnet_mask", Value::from(a.to_string()));
    }
    if let Some(l) = msg.routers() {
        put("routers", addrs(l));
    }
    if let Some(l) = msg.dns_servers() {
        put("dns", addrs(l));
    }
    if let Some(s) = msg.host_name() {
        put("host_name", text(s));
    }
    if let Some(s) = msg.domain_name() {
        put("domain_name", text(s));
    }
    if let Some(s) = msg.vendor_class() {
        put("vendor_class", text(s));
    }
    if let Some(c) = msg.client_id() {
        let mut o = Map::new();
        o.insert("type".into(), Value::from(c.kind));
        o.insert("id".into(), Value::from(hex(c.id)));
        if let Some(m) = c.mac().and_then(|m| mac(&m)) {
            o.insert("mac".into(), Value::from(m));
        }
        put("client_id", Value::Object(o));
    }
    if let Some(l) = msg.parameter_request_list() {
        put(
            "param_request_list",
            Value::Array(l.iter().map(|&c| Value::from(c)).collect()),
        );
    }
    match msg.tftp_servers() {
        Some(Option150::Addresses(l)) => put("tftp_servers", addrs(l)),
        Some(Option150::AsciiString(s)) => {
            put("option150_ascii", text(s.as_bytes()));
            // What a phone (and tshark) reads of those bytes as RFC 5859 addresses: each
            // whole group of four, the rest dropped.
            let groups = s.as_bytes().chunks_exact(4);
            let read = groups.filter_map(|g| <[u8; 4]>::try_from(g).ok().map(Ipv4Addr::from));
            put("tftp_servers", addrs(read));
        }
        Some(Option150::Malformed(d)) => put("option150_malformed", Value::from(hex(d))),
        None => {}
    }
    if let Some(s) = msg.tftp_server_name() {
        put("tftp_server_name", text(s));
    }
    if let Some(r) = msg.relay_agent() {
        let mut o = Map::new();
        if let Some(c) = r.circuit_id() {
            o.insert("circuit_id".into(), text(c));
        }
        if let Some(id) = r.remote_id() {
            o.insert("remote_id".into(), Value::from(hex(id)));
        }
        let subs: Vec<Value> = r
            .sub_options()
            .map(|s| {
                let mut so = Map::new();
                so.insert("code".into(), Value::from(s.code));
                so.insert("data".into(), Value::from(hex(s.data)));
                Value::Object(so)
            })
            .collect();
        o.insert("sub_options".into(), Value::Array(subs));
        put("relay_agent", Value::Object(o));
    }
    if let Some(v) = msg.overload() {
        put("overload", Value::from(v.0));
    }
    put("options_malformed", Value::from(msg.is_malformed()));
    if let Some(e) = msg.options_error() {
        put("options_error", Value::from(e.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_with_option_150_summary_and_fields() {
        let bytes = include_bytes!("../../parsers/testdata/dhcp/rfc5859-offer.bin");
        let msg = parsers::dhcp::parse(bytes).unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        assert_eq!(
            s,
            "DHCP Offer xid 0xde549277 mac 00:0c:29:1f:74:06 yiaddr 192.168.1.4 \
             server 192.168.1.1 tftp [192.168.1.10, 192.168.1.11]"
        );
        let mut m = Map::new();
        fields(&msg, &mut m);
        assert_eq!(m["message_type"], "Offer");
        assert_eq!(m["message_type_code"], 2);
        assert_eq!(m["xid"], 0xde54_9277_u32);
        assert_eq!(
            m["tftp_servers"],
            serde_json::json!(["192.168.1.10", "192.168.1.11"])
        );
        assert_eq!(m["routers"], serde_json::json!(["192.168.1.1"]));
        assert_eq!(m["options_malformed"], false);
    }

    #[test]
    fn fuzzed_request_reports_unknown_type_and_malformed_options() {
        let bytes = include_bytes!("../../parsers/testdata/dhcp/ndpi-fuzz.bin");
        let msg = parsers::dhcp::parse(bytes).unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        assert_eq!(
            s,
            "DHCP Unknown (106) xid 0xc979b960 mac 00:1f:29:da:2d:79 host \"MK03862\" \
             [malformed options at byte 263]"
        );
        let mut m = Map::new();
        fields(&msg, &mut m);
        assert_eq!(m["host_name"], "MK03862");
        assert_eq!(m["client_id"]["mac"], "00:1f:29:da:2d:79");
        assert_eq!(m["options_malformed"], true);
    }
}
