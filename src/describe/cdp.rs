//! CDP rendering for `bootscope dissect`: tshark's Info wording ("Device ID: ...
//! Port ID: ...") plus what matters to a phone boot (VoIP VLAN, native VLAN,
//! power, the phone capability), and the decoded fields.

use std::fmt::Write;

use parsers::cdp::{CdpAddress, CdpCapabilities, CdpPacket, CdpPower, CdpTlv, CdpVoipVlan};
use serde_json::{Map, Value};

use super::{hex, push_text, text};

/// An address as text: IPv4/IPv6 when recognised, else protocol and address in hex.
fn address(a: &CdpAddress<'_>) -> String {
    if let Some(ip) = a.ipv4() {
        return ip.to_string();
    }
    if let Some(ip) = a.ipv6() {
        return ip.to_string();
    }
    format!(
        "type {} protocol {} address {}",
        a.protocol_type,
        hex(a.protocol),
        hex(a.address)
    )
}

fn voip_vlan(v: CdpVoipVlan) -> Value {
    let mut m = Map::new();
    m.insert("appliance_id".into(), Value::from(v.appliance_id));
    m.insert("vlan".into(), v.vlan.map_or(Value::Null, Value::from));
    Value::Object(m)
}

fn levels(p: &CdpPower<'_>) -> Value {
    Value::from(p.levels_mw().collect::<Vec<_>>())
}

/// One-line tshark-like summary, starting with the upper-case protocol name, e.g.
/// `CDP Device ID: SEPB000B4BBF1F0  Port ID: Port 1  Platform: Cisco IP Phone 8851  phone  Power 9791 mW`
/// or `CDP Device ID: myswitch  Port ID: FastEthernet0/1  Platform: cisco WS-C2950-12  Native VLAN 1  VoIP VLAN 10`.
pub fn summary(msg: &CdpPacket<'_>, out: &mut String) {
    out.push_str("CDP");
    let strings = [
        ("Device ID", msg.device_id()),
        ("Port ID", msg.port_id()),
        ("Platform", msg.platform()),
    ];
    // One space after the name, then two between parts, like tshark's Info column.
    let mut sep = " ";
    for (label, value) in strings {
        if let Some(v) = value {
            let _ = write!(out, "{sep}{label}: ");
            push_text(out, v);
            sep = "  ";
        }
    }
    if msg
        .capabilities()
        .is_some_and(|c| c.contains(CdpCapabilities::VOIP_PHONE))
    {
        out.push_str("  phone");
    }
    if let Some(v) = msg.native_vlan() {
        let _ = write!(out, "  Native VLAN {v}");
    }
    match msg.voice_vlan_reply() {
        Some(CdpVoipVlan { vlan: Some(v), .. }) => {
            let _ = write!(out, "  VoIP VLAN {v}");
        }
        Some(CdpVoipVlan { vlan: None, .. }) => out.push_str("  VoIP VLAN reply (no VLAN)"),
        None => {}
    }
    match msg.voice_vlan_query() {
        Some(CdpVoipVlan { vlan: Some(v), .. }) => {
            let _ = write!(out, "  VoIP VLAN query {v}");
        }
        Some(CdpVoipVlan { vlan: None, .. }) => out.push_str("  VoIP VLAN query"),
        None => {}
    }
    if let Some(mw) = msg.power_consumption_mw() {
        let _ = write!(out, "  Power {mw} mW");
    } else if let Some(first) = msg.power_requested().and_then(|p| p.levels_mw().next()) {
        let _ = write!(out, "  Power requested {first} mW");
    }
    if let Some(p) = msg.power_available() {
        out.push_str("  Power available ");
        for (i, mw) in p.levels_mw().enumerate() {
            if i > 0 {
                out.push('/');
            }
            let _ = write!(out, "{mw}");
        }
        out.push_str(" mW");
    }
    if !msg.checksum_valid {
        out.push_str("  [bad checksum]");
    }
    for t in &msg.tlvs {
        if let CdpTlv::Malformed { kind, .. } = t {
            let _ = write!(out, "  [malformed TLV {:#06x}]", kind.0);
        }
    }
}

/// Decoded fields for `dissect --format json`. Always: `version`, `ttl`,
/// `checksum` (as sent), `checksum_ok`. When present: `device_id`, `port_id`,
/// `platform`, `software_version`, `system_name`, `vtp_domain` (strings, cut at
/// NUL), `capabilities` {`value`, `names`}, `addresses` and `management_addresses`
/// (strings: IPv4/IPv6, else protocol and address in hex), `native_vlan`, `duplex`
/// ("half"/"full"/number), `voice_vlan` (from the reply), `voice_vlan_reply` and
/// `voice_vlan_query` {`appliance_id`, `vlan` or null}, `power_consumption_mw`,
/// `power_requested_mw` and `power_available_mw` (lists), `power_request_id`,
/// `trust_bitmap`, `untrusted_cos`, `spare_pair_poe`, `malformed_tlvs` and
/// `unknown_tlvs` (lists of TLV type numbers).
pub fn fields(msg: &CdpPacket<'_>, out: &mut Map<String, Value>) {
    out.insert("version".into(), Value::from(msg.version));
    out.insert("ttl".into(), Value::from(msg.ttl));
    out.insert("checksum".into(), Value::from(msg.checksum));
    out.insert("checksum_ok".into(), Value::from(msg.checksum_valid));
    let strings = [
        ("device_id", msg.device_id()),
        ("port_id", msg.port_id()),
        ("platform", msg.platform()),
        ("software_version", msg.software_version()),
        ("system_name", msg.system_name()),
        ("vtp_domain", msg.vtp_domain()),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            out.insert(k.into(), text(v));
        }
    }
    if let Some(c) = msg.capabilities() {
        let mut m = Map::new();
        m.insert("value".into(), Value::from(c.0));
        m.insert("names".into(), Value::from(c.names().collect::<Vec<_>>()));
        out.insert("capabilities".into(), Value::Object(m));
    }
    let addrs: Vec<_> = msg.addresses().map(address).collect();
    if !addrs.is_empty() {
        out.insert("addresses".into(), Value::from(addrs));
    }
    let mgmt: Vec<_> = msg.management_addresses().map(address).collect();
    if !mgmt.is_empty() {
        out.insert("management_addresses".into(), Value::from(mgmt));
    }
    if let Some(v) = msg.native_vlan() {
        out.insert("native_vlan".into(), Value::from(v));
    }
    if let Some(d) = msg.duplex() {
        let v = match d {
            0 => Value::from("half"),
            1 => Value::from("full"),
            n => Value::from(n),
        };
        out.insert("duplex".into(), v);
    }
    if let Some(r) = msg.voice_vlan_reply() {
        if let Some(v) = r.vlan {
            out.insert("voice_vlan".into(), Value::from(v));
        }
        out.insert("voice_vlan_reply".into(), voip_vlan(r));
    }
    if let Some(q) = msg.voice_vlan_query() {
        out.insert("voice_vlan_query".into(), voip_vlan(q));
    }
    if let Some(mw) = msg.power_consumption_mw() {
        out.insert("power_consumption_mw".into(), Value::from(mw));
    }
    if let Some(p) = msg.power_requested() {
        out.insert("power_requested_mw".into(), levels(&p));
        out.insert("power_request_id".into(), Value::from(p.request_id));
    }
    if let Some(p) = msg.power_available() {
        out.insert("power_available_mw".into(), levels(&p));
    }
    let mut malformed = Vec::new();
    let mut unknown = Vec::new();
    for t in &msg.tlvs {
        match t {
            CdpTlv::TrustBitmap(b) => {
                out.insert("trust_bitmap".into(), Value::from(*b));
            }
            CdpTlv::UntrustedCos(c) => {
                out.insert("untrusted_cos".into(), Value::from(*c));
            }
            CdpTlv::SparePairPoe(b) => {
                out.insert("spare_pair_poe".into(), Value::from(*b));
            }
            CdpTlv::Malformed { kind, .. } => malformed.push(kind.0),
            CdpTlv::Other { kind, .. } => unknown.push(kind.0),
            _ => {}
        }
    }
    if !malformed.is_empty() {
        out.insert("malformed_tlvs".into(), Value::from(malformed));
    }
    if !unknown.is_empty() {
        out.insert("unknown_tlvs".into(), Value::from(unknown));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(bytes: &[u8]) -> (String, Map<String, Value>) {
        let msg = parsers::cdp::parse(bytes).unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        let mut m = Map::new();
        fields(&msg, &mut m);
        (s, m)
    }

    #[test]
    fn phone_summary_and_fields() {
        let (s, m) = render(include_bytes!("../../parsers/testdata/cdp/phone-8851.bin"));
        assert_eq!(
            s,
            "CDP Device ID: SEPB000B4BBF1F0  Port ID: Port 1  Platform: Cisco IP Phone 8851  phone  Power 9791 mW"
        );
        assert_eq!(m["device_id"], "SEPB000B4BBF1F0");
        assert_eq!(m["capabilities"]["value"], 0x490);
        assert_eq!(
            m["capabilities"]["names"],
            serde_json::json!(["host", "phone", "two-port-mac-relay"])
        );
        assert_eq!(m["addresses"], serde_json::json!(["192.168.110.57"]));
        assert_eq!(m["power_requested_mw"], serde_json::json!([9791]));
        assert_eq!(m["checksum_ok"], true);
        assert_eq!(m["unknown_tlvs"], serde_json::json!([0x1c]));
    }

    #[test]
    fn switch_voice_vlan_summary() {
        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/cdp/switch-voice-vlan.bin"
        ));
        assert_eq!(
            s,
            "CDP Device ID: myswitch  Port ID: FastEthernet0/1  Platform: cisco WS-C2950-12  Native VLAN 1  VoIP VLAN 10"
        );
        assert_eq!(m["voice_vlan"], 10);
        assert_eq!(m["native_vlan"], 1);
        assert_eq!(m["vtp_domain"], "MYDOMAIN");
        assert_eq!(m["duplex"], "full");
    }
}
