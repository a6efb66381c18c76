//! LLDP rendering for `bootscope dissect`: chassis, port and system name as
//! tshark reads them (MAC, network address or text by subtype), the LLDP-MED
//! network policies a phone takes its voice VLAN from, and the decoded fields.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use parsers::lldp::{
    LldpChassisIdSubtype, LldpMgmtAddress, LldpPdu, LldpPortIdSubtype, LldpTlv, MedPolicy,
};
use serde_json::{Map, Value};

use super::{hex, mac, push_text, text};

/// An IANA-family-prefixed address (`01` + 4 bytes IPv4, `02` + 16 bytes IPv6).
fn family_address(family: u8, addr: &[u8]) -> Option<String> {
    match family {
        1 => <[u8; 4]>::try_from(addr)
            .ok()
            .map(|a| Ipv4Addr::from(a).to_string()),
        2 => <[u8; 16]>::try_from(addr)
            .ok()
            .map(|a| Ipv6Addr::from(a).to_string()),
        _ => None,
    }
}

/// A Chassis/Port ID as text: a MAC, an IP, or the bytes escaped by
/// [`push_text`]. Already safe to print: push it as-is, never escape it again.
fn id_text(is_mac: bool, is_network: bool, id: &[u8]) -> String {
    if is_mac {
        if let Some(m) = mac(id) {
            return m;
        }
    }
    if is_network {
        if let Some((family, addr)) = id.split_first() {
            if let Some(a) = family_address(*family, addr) {
                return a;
            }
        }
    }
    let mut s = String::new();
    push_text(&mut s, id);
    s
}

fn chassis_text(msg: &LldpPdu<'_>) -> Option<String> {
    let (sub, id) = msg.chassis()?;
    Some(id_text(
        sub == LldpChassisIdSubtype::MAC_ADDRESS,
        sub == LldpChassisIdSubtype::NETWORK_ADDRESS,
        id,
    ))
}

fn port_text(msg: &LldpPdu<'_>) -> Option<String> {
    let (sub, id) = msg.port()?;
    Some(id_text(
        sub == LldpPortIdSubtype::MAC_ADDRESS,
        sub == LldpPortIdSubtype::NETWORK_ADDRESS,
        id,
    ))
}

fn mgmt_text(m: &LldpMgmtAddress<'_>) -> String {
    family_address(m.addr_subtype, m.address).unwrap_or_else(|| hex(m.address))
}

fn policy_json(p: &MedPolicy) -> Value {
    let mut m = Map::new();
    m.insert("app".into(), Value::from(p.app.name().unwrap_or("Unknown")));
    m.insert("app_type".into(), Value::from(p.app.0));
    m.insert("vlan".into(), Value::from(p.vlan));
    m.insert("priority".into(), Value::from(p.priority));
    m.insert("dscp".into(), Value::from(p.dscp));
    m.insert("tagged".into(), Value::from(p.tagged));
    m.insert("unknown".into(), Value::from(p.unknown));
    Value::Object(m)
}

fn names<'n>(it: impl Iterator<Item = &'n str>) -> Value {
    Value::from(it.collect::<Vec<_>>())
}

/// One-line summary, starting with the upper-case protocol name, e.g.
/// `LLDP Chassis 00:13:21:57:ca:40 Port 1 Sys ProCurve Switch 2600-8-PWR MED policy Voice vlan 50 prio 6 dscp 46 tagged Power 6500 mW`.
/// Then `PVID n`, `TTL 0` (a shutdown PDU), `[malformed]` and `[truncated]` when they apply.
pub fn summary(msg: &LldpPdu<'_>, out: &mut String) {
    out.push_str("LLDP");
    if let Some(c) = chassis_text(msg) {
        out.push_str(" Chassis ");
        out.push_str(&c);
    }
    if let Some(p) = port_text(msg) {
        out.push_str(" Port ");
        out.push_str(&p);
    }
    if let Some(n) = msg.system_name() {
        out.push_str(" Sys ");
        push_text(out, n);
    }
    for p in msg.network_policies() {
        out.push_str(" MED policy ");
        match p.app.name() {
            Some(n) => out.push_str(n),
            None => {
                let _ = write!(out, "app {}", p.app.0);
            }
        }
        let _ = write!(
            out,
            " vlan {} prio {} dscp {} {}",
            p.vlan,
            p.priority,
            p.dscp,
            if p.tagged { "tagged" } else { "untagged" }
        );
        if p.unknown {
            out.push_str(" unknown");
        }
    }
    if let Some(v) = msg.pvid() {
        let _ = write!(out, " PVID {v}");
    }
    if let Some(p) = msg.extended_power() {
        let _ = write!(out, " Power {} mW", p.power_mw());
    }
    if msg.ttl() == Some(0) {
        out.push_str(" TTL 0");
    }
    if msg.malformed() {
        out.push_str(" [malformed]");
    }
    if msg.truncated {
        out.push_str(" [truncated]");
    }
}

/// Decoded fields for `dissect --format json`. Always: `malformed` (a mandatory
/// TLV missing/misplaced or a TLV of the wrong shape) and `truncated` (no End
/// TLV). When present: `chassis_id` (MAC, IP or text by subtype),
/// `chassis_id_subtype`, `port_id`, `port_id_subtype`, `ttl`, `system_name`,
/// `system_description`, `port_description`, `capabilities` {`system`,
/// `enabled`, `system_names`, `enabled_names`}, `management_addresses`
/// [{`address`, `subtype`, `if_subtype`, `if_number`}], `pvid`, `mdi_power`
/// {`support`, `pair`, `class`, and 802.3at `power_type`, `source`, `priority`,
/// `requested_mw`, `allocated_mw`}, `med_capabilities` {`value`, `names`},
/// `med_device_class` (number) and `med_device_class_name`, `network_policies`
/// [{`app`, `app_type`, `vlan`, `priority`, `dscp`, `tagged`, `unknown`}],
/// `location` {`format`, `data` (hex)}, `power` (MED extended power: `power_type`,
/// `source`, `priority`, `power_mw`), `inventory` {`hardware_revision`,
/// `firmware_revision`, `software_revision`, `serial_number`, `manufacturer`,
/// `model`, `asset_id`}, `unknown_tlvs` (type numbers).
pub fn fields(msg: &LldpPdu<'_>, out: &mut Map<String, Value>) {
    if let (Some(c), Some((sub, _))) = (chassis_text(msg), msg.chassis()) {
        out.insert("chassis_id".into(), Value::String(c));
        out.insert("chassis_id_subtype".into(), Value::from(sub.0));
    }
    if let (Some(p), Some((sub, _))) = (port_text(msg), msg.port()) {
        out.insert("port_id".into(), Value::String(p));
        out.insert("port_id_subtype".into(), Value::from(sub.0));
    }
    if let Some(t) = msg.ttl() {
        out.insert("ttl".into(), Value::from(t));
    }
    let strings = [
        ("system_name", msg.system_name()),
        ("system_description", msg.system_description()),
        ("port_description", msg.port_description()),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            out.insert(k.into(), text(v));
        }
    }
    if let Some((system, enabled)) = msg.capabilities() {
        let mut m = Map::new();
        m.insert("system".into(), Value::from(system.0));
        m.insert("enabled".into(), Value::from(enabled.0));
        m.insert("system_names".into(), names(system.names()));
        m.insert("enabled_names".into(), names(enabled.names()));
        out.insert("capabilities".into(), Value::Object(m));
    }
    let mgmt: Vec<Value> = msg
        .management_addresses()
        .map(|a| {
            let mut m = Map::new();
            m.insert("address".into(), Value::from(mgmt_text(&a)));
            m.insert("subtype".into(), Value::from(a.addr_subtype));
            m.insert("if_subtype".into(), Value::from(a.if_subtype));
            m.insert("if_number".into(), Value::from(a.if_number));
            Value::Object(m)
        })
        .collect();
    if !mgmt.is_empty() {
        out.insert("management_addresses".into(), Value::from(mgmt));
    }
    if let Some(v) = msg.pvid() {
        out.insert("pvid".into(), Value::from(v));
    }
    if let Some(p) = msg.mdi_power() {
        let mut m = Map::new();
        m.insert("support".into(), Value::from(p.support));
        m.insert("pair".into(), Value::from(p.pair));
        m.insert("class".into(), Value::from(p.class));
        if let Some(x) = p.extension {
            m.insert("power_type".into(), Value::from(x.power_type));
            m.insert("source".into(), Value::from(x.source));
            m.insert("priority".into(), Value::from(x.priority));
            m.insert(
                "requested_mw".into(),
                Value::from(u32::from(x.requested_dw) * 100),
            );
            m.insert(
                "allocated_mw".into(),
                Value::from(u32::from(x.allocated_dw) * 100),
            );
        }
        out.insert("mdi_power".into(), Value::Object(m));
    }
    if let Some((caps, class)) = msg.med_capabilities() {
        let mut m = Map::new();
        m.insert("value".into(), Value::from(caps.0));
        m.insert("names".into(), names(caps.names()));
        out.insert("med_capabilities".into(), Value::Object(m));
        out.insert("med_device_class".into(), Value::from(class.0));
        out.insert(
            "med_device_class_name".into(),
            Value::from(class.name().unwrap_or("Reserved")),
        );
    }
    let policies: Vec<Value> = msg.network_policies().map(|p| policy_json(&p)).collect();
    if !policies.is_empty() {
        out.insert("network_policies".into(), Value::from(policies));
    }
    if let Some(l) = msg.location() {
        let mut m = Map::new();
        m.insert("format".into(), Value::from(l.format.0));
        m.insert("data".into(), Value::from(hex(l.data)));
        out.insert("location".into(), Value::Object(m));
    }
    if let Some(p) = msg.extended_power() {
        let mut m = Map::new();
        m.insert("power_type".into(), Value::from(p.power_type));
        m.insert("source".into(), Value::from(p.source));
        m.insert("priority".into(), Value::from(p.priority.0));
        m.insert("power_mw".into(), Value::from(p.power_mw()));
        out.insert("power".into(), Value::Object(m));
    }
    let inv = msg.inventory();
    if !inv.is_empty() {
        let items = [
            ("hardware_revision", inv.hardware_revision),
            ("firmware_revision", inv.firmware_revision),
            ("software_revision", inv.software_revision),
            ("serial_number", inv.serial_number),
            ("manufacturer", inv.manufacturer),
            ("model", inv.model),
            ("asset_id", inv.asset_id),
        ];
        let mut m = Map::new();
        for (k, v) in items {
            if let Some(v) = v {
                m.insert(k.into(), text(v));
            }
        }
        out.insert("inventory".into(), Value::Object(m));
    }
    let unknown: Vec<u8> = msg
        .tlvs
        .iter()
        .filter_map(|t| match t {
            LldpTlv::Other { kind, .. } => Some(kind.0),
            _ => None,
        })
        .collect();
    if !unknown.is_empty() {
        out.insert("unknown_tlvs".into(), Value::from(unknown));
    }
    out.insert("malformed".into(), Value::from(msg.malformed()));
    out.insert("truncated".into(), Value::from(msg.truncated));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(bytes: &[u8]) -> (String, Map<String, Value>) {
        let msg = parsers::lldp::parse(bytes).unwrap();
        let mut s = String::new();
        summary(&msg, &mut s);
        let mut m = Map::new();
        fields(&msg, &mut m);
        (s, m)
    }

    #[test]
    fn procurve_med_policy_summary_and_fields() {
        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/lldp/procurve-med.bin"
        ));
        assert_eq!(
            s,
            "LLDP Chassis 00:13:21:57:ca:40 Port 1 Sys ProCurve Switch 2600-8-PWR \
             MED policy Voice vlan 50 prio 6 dscp 46 tagged Power 6500 mW"
        );
        assert_eq!(m["chassis_id"], "00:13:21:57:ca:40");
        assert_eq!(m["chassis_id_subtype"], 4);
        assert_eq!(m["ttl"], 120);
        assert_eq!(
            m["network_policies"],
            serde_json::json!([{"app": "Voice", "app_type": 1, "vlan": 50, "priority": 6,
                                "dscp": 46, "tagged": true, "unknown": false}])
        );
        assert_eq!(m["med_device_class_name"], "Network Connectivity");
        assert_eq!(m["power"]["power_mw"], 6500);
        assert_eq!(m["management_addresses"][0]["address"], "15.255.122.148");
        assert_eq!(m["malformed"], false);
        assert_eq!(m["truncated"], false);
    }

    #[test]
    fn malformed_and_inventory() {
        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/lldp/asan-bad-chassis-id.bin"
        ));
        assert_eq!(s, "LLDP [malformed] [truncated]");
        assert_eq!(m["malformed"], true);

        let (s, m) = render(include_bytes!(
            "../../parsers/testdata/lldp/sg200-inventory.bin"
        ));
        assert_eq!(s, "LLDP Chassis 00:35:35:35:35:35 Port g1");
        assert_eq!(m["inventory"]["model"], "SG 200-08P");
        assert_eq!(m["inventory"]["serial_number"], "XXX11111ZZZ");
    }

    #[test]
    fn port_id_text_is_escaped_exactly_once() {
        let pdu = [
            0x02, 0x07, 0x04, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // chassis: MAC
            0x04, 0x06, 0x07, b'a', 0x1b, b'b', b'\\', b'c', // port: local
            0x06, 0x02, 0x00, 0x78, // TTL 120
            0x00, 0x00, // End
        ];
        let (s, m) = render(&pdu);
        // `\x1b` (4 chars) for ESC, `\\` (2 chars) for the backslash.
        assert_eq!(s, r"LLDP Chassis 00:11:22:33:44:55 Port a\x1bb\\c");
        assert_eq!(s.matches(r"\x1b").count(), 1);
        assert!(!s.contains(r"\\x1b") && !s.contains(r"\\\\"));
        assert_eq!(m["port_id"], r"a\x1bb\\c");
        assert_eq!(m["port_id_subtype"], 7);
        assert_eq!(m["chassis_id"], "00:11:22:33:44:55");
    }
}
