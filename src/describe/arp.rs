//! ARP rendering for `bootscope dissect`: tshark's Info column ("Who has 10.1.1.1?
//! Tell 10.100.0.20", "10.1.1.1 is at 00:1e:4a:10:00:fe", "ARP Announcement for …",
//! "ARP Probe") and the decoded fields.

use std::fmt::Write;

use parsers::arp::{ArpOpcode, ArpPacket};
use serde_json::{Map, Value};

use crate::link::MacAddr;

/// One-line tshark-like summary, e.g. `ARP Who has 10.1.1.1? Tell 10.100.0.20`.
pub fn summary(msg: &ArpPacket, out: &mut String) {
    out.push_str("ARP ");
    let (sip, tip) = (msg.sender_ip, msg.target_ip);
    let smac = MacAddr(msg.sender_mac);
    let _ = match msg.opcode {
        _ if msg.is_probe() => write!(out, "Probe: who has {tip}? Tell 0.0.0.0 ({smac})"),
        _ if msg.is_announcement() => write!(out, "Announcement for {sip} at {smac}"),
        ArpOpcode::REQUEST => write!(out, "Who has {tip}? Tell {sip}"),
        ArpOpcode::REPLY => write!(out, "{sip} is at {smac}"),
        op => write!(out, "{} {sip} → {tip}", op.name().unwrap_or("opcode")),
    };
}

/// Decoded fields for `dissect --format json`: `opcode` (tshark's name or the
/// number), `sender_mac`, `sender_ip`, `target_mac`, `target_ip`, `probe`,
/// `announcement`.
pub fn fields(msg: &ArpPacket, out: &mut Map<String, Value>) {
    let op = msg
        .opcode
        .name()
        .map_or_else(|| Value::from(msg.opcode.0), Value::from);
    out.insert("opcode".into(), op);
    out.insert(
        "sender_mac".into(),
        MacAddr(msg.sender_mac).to_string().into(),
    );
    out.insert("sender_ip".into(), msg.sender_ip.to_string().into());
    out.insert(
        "target_mac".into(),
        MacAddr(msg.target_mac).to_string().into(),
    );
    out.insert("target_ip".into(), msg.target_ip.to_string().into());
    out.insert("probe".into(), msg.is_probe().into());
    out.insert("announcement".into(), msg.is_announcement().into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use parsers::arp::{ArpHardware, ArpProtocol};

    fn packet(opcode: ArpOpcode, sender: [u8; 4], target: [u8; 4]) -> ArpPacket {
        ArpPacket {
            hardware: ArpHardware::ETHERNET,
            protocol: ArpProtocol::IPV4,
            opcode,
            sender_mac: [0, 0x1b, 0x54, 0xaa, 0, 1],
            sender_ip: sender.into(),
            target_mac: [0; 6],
            target_ip: target.into(),
        }
    }

    #[test]
    fn requests_replies_probes_and_announcements_read_as_tshark_says() {
        let cases = [
            (
                packet(ArpOpcode::REQUEST, [10, 0, 0, 20], [10, 0, 0, 1]),
                "ARP Who has 10.0.0.1? Tell 10.0.0.20",
            ),
            (
                packet(ArpOpcode::REPLY, [10, 0, 0, 1], [10, 0, 0, 20]),
                "ARP 10.0.0.1 is at 00:1b:54:aa:00:01",
            ),
            (
                packet(ArpOpcode::REQUEST, [0, 0, 0, 0], [10, 0, 0, 20]),
                "ARP Probe: who has 10.0.0.20? Tell 0.0.0.0 (00:1b:54:aa:00:01)",
            ),
            (
                packet(ArpOpcode::REQUEST, [10, 0, 0, 20], [10, 0, 0, 20]),
                "ARP Announcement for 10.0.0.20 at 00:1b:54:aa:00:01",
            ),
        ];
        for (p, want) in cases {
            let mut s = String::new();
            summary(&p, &mut s);
            assert_eq!(s, want);
        }
        let mut m = Map::new();
        fields(&cases_probe(), &mut m);
        assert_eq!(m["probe"], Value::Bool(true));
        assert_eq!(m["opcode"], Value::from("request"));
    }

    fn cases_probe() -> ArpPacket {
        packet(ArpOpcode::REQUEST, [0, 0, 0, 0], [10, 0, 0, 20])
    }
}
