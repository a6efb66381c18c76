//! The facts rule files may use, and their values for one boot of one device.
//! The vocabulary is: one count per event type (`dhcp_discover`, `file_not_found`,
//! …, see [`EventType`]), then the derived facts of [`DERIVED`]. `rules/README.md`
//! lists them; `bootscope rules --facts` prints them.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::IpAddr;

use rules::{EventDef, FactDef, FactId, FactType, Facts, Sequence, Value, Vocabulary};

use super::device::{Boot, Device, DeviceKind, FileOutcome};
use crate::link::MacAddr;
use crate::timeline::{ip_string, EventKind, EventType, FileClass};

/// The derived facts: name, type, one line of documentation.
pub const DERIVED: &[(&str, FactType, &str)] = &[
    (
        "mac",
        FactType::Str,
        "the device's MAC (empty when keyed by name)",
    ),
    (
        "name",
        FactType::Str,
        "its device name (SEP<MAC>) or registered name",
    ),
    (
        "model",
        FactType::Str,
        "its model (CDP platform, SCCP device type, User-Agent)",
    ),
    (
        "is_phone",
        FactType::Bool,
        "whether it is taken for a Cisco IP phone",
    ),
    (
        "kind",
        FactType::Str,
        "phone, dhcp-client, sip-agent or sccp-device",
    ),
    (
        "vlan",
        FactType::Int,
        "the VLAN its DHCP carried (0: untagged or unseen)",
    ),
    (
        "voice_vlan",
        FactType::Int,
        "the voice VLAN learned from the switch or seen on its DHCP (0: none)",
    ),
    ("ip", FactType::Str, "its address"),
    ("boots", FactType::Int, "boots seen in the capture"),
    (
        "restarts",
        FactType::Int,
        "boots after the first, not counting the one after a firmware download",
    ),
    (
        "firmware_reboots",
        FactType::Int,
        "reboots after a firmware download",
    ),
    (
        "dhcp_server",
        FactType::Str,
        "the DHCP server that answered",
    ),
    ("dhcp_acked", FactType::Bool, "a DHCP ACK came in this boot"),
    (
        "dhcp_nak_unrecovered",
        FactType::Bool,
        "a NAK not followed by a lease",
    ),
    (
        "ack_tftp_usable",
        FactType::Bool,
        "the ACK named a TFTP server (option 150 addresses, or 66)",
    ),
    (
        "ack_option150_ascii",
        FactType::Bool,
        "option 150 came as text, not addresses",
    ),
    ("ack_option150_text", FactType::Str, "that text"),
    ("tftp_server", FactType::Str, "the first TFTP server named"),
    ("option66", FactType::Str, "option 66 as sent"),
    (
        "file_unanswered_max",
        FactType::Int,
        "the most requests for one file that got no answer",
    ),
    ("unanswered_file", FactType::Str, "that file"),
    (
        "unanswered_server",
        FactType::Str,
        "the server it was asked of",
    ),
    (
        "config_file",
        FactType::Str,
        "the device configuration file asked for",
    ),
    (
        "config_not_found",
        FactType::Bool,
        "the device's own configuration was not found",
    ),
    (
        "default_not_found",
        FactType::Bool,
        "XMLDefault.cnf.xml was not found",
    ),
    (
        "config_received",
        FactType::Bool,
        "a configuration (own or XMLDefault) was received",
    ),
    (
        "default_config_used",
        FactType::Bool,
        "the phone fell back to XMLDefault.cnf.xml",
    ),
    (
        "config_server",
        FactType::Str,
        "the server the configuration was asked of",
    ),
    (
        "firmware_file",
        FactType::Str,
        "the firmware file asked for last",
    ),
    (
        "firmware_not_found",
        FactType::Bool,
        "a firmware file was not found",
    ),
    (
        "firmware_received",
        FactType::Bool,
        "a firmware file was received",
    ),
    ("cm_first", FactType::Str, "the first call manager tried"),
    ("cm_tried", FactType::Int, "call managers tried"),
    (
        "cm_failed",
        FactType::Int,
        "call managers that failed the phone",
    ),
    (
        "cm_connected",
        FactType::Bool,
        "a call manager accepted a TCP connection",
    ),
    (
        "cm_unanswered_syns",
        FactType::Int,
        "SYNs to call managers never answered",
    ),
    ("cm_rsts", FactType::Int, "resets from call managers"),
    (
        "cm_failed_list",
        FactType::Str,
        "the call managers that failed, comma separated",
    ),
    (
        "register_unanswered",
        FactType::Int,
        "Registers / REGISTERs to one call manager with no answer",
    ),
    ("registered", FactType::Bool, "registered in this boot"),
    (
        "registered_before",
        FactType::Bool,
        "registered before the capture (keepalives only)",
    ),
    (
        "registered_cm",
        FactType::Str,
        "the call manager that accepted",
    ),
    (
        "rejected",
        FactType::Bool,
        "a registration refused (an un-register refused counts only if never registered)",
    ),
    (
        "reject_code",
        FactType::Int,
        "the SIP status of the refusal (0 for SCCP)",
    ),
    ("reject_reason", FactType::Str, "its reason text"),
    (
        "challenge_unanswered",
        FactType::Bool,
        "a SIP 401/407 not followed by success",
    ),
    (
        "failover",
        FactType::Bool,
        "registered with a later call manager after the first failed",
    ),
    ("protocol", FactType::Str, "sccp or sip"),
    (
        "alarm_text",
        FactType::Str,
        "the phone's last alarm text (SCCP Alarm, SIP cisco-alarm)",
    ),
    (
        "step",
        FactType::Str,
        "the furthest step of the boot sequence reached",
    ),
    (
        "waited_ms",
        FactType::Int,
        "time since the last progress, to the end of the capture",
    ),
    (
        "timeout_ms",
        FactType::Int,
        "the timeout of the furthest step",
    ),
    (
        "timed_out",
        FactType::Bool,
        "no progress for longer than the step's timeout while the capture went on",
    ),
    (
        "dhcp_flood_macs",
        FactType::Int,
        "client MACs of the DHCP starvation floods on the boot's DHCP VLAN that began before its last event (0: none)",
    ),
    (
        "errors_so_far",
        FactType::Int,
        "error findings already raised for this boot by earlier rules",
    ),
];

/// The engine's vocabulary: event counts, then [`DERIVED`].
pub fn vocabulary() -> Vocabulary {
    let mut facts: Vec<FactDef> = EventType::ALL
        .iter()
        .map(|t| FactDef {
            name: t.name(),
            ty: FactType::Int,
            doc: t.doc(),
        })
        .collect();
    facts.extend(
        DERIVED
            .iter()
            .map(|&(name, ty, doc)| FactDef { name, ty, doc }),
    );
    let events = EventType::ALL
        .iter()
        .map(|&t| EventDef {
            name: t.name(),
            qualifiers: super::progress::qualifiers(t),
            doc: t.doc(),
        })
        .collect();
    Vocabulary { facts, events }
}

/// The event-type names rules may cite as evidence.
pub fn event_type_names() -> Vec<&'static str> {
    EventType::ALL.iter().map(|t| t.name()).collect()
}

/// A fact's value. Texts the device holds are borrowed from it; addresses are
/// written only when a rule reads them (most never are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactValue<'a> {
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
    /// Text.
    Str(Cow<'a, str>),
    /// An IP address, as text once read.
    Addr(IpAddr, OnceCell<String>),
    /// A MAC address, as text once read.
    Mac(MacAddr, OnceCell<String>),
}

/// The facts of one boot of one device, indexed like the vocabulary: the event
/// counts, then the derived facts.
#[derive(Debug, Clone)]
pub struct BootFacts<'a> {
    /// The event counts, by [`EventType`] (a copy: nothing to build or drop).
    counts: [u32; EventType::COUNT],
    /// The derived facts, in the order of [`DERIVED`].
    derived: Vec<FactValue<'a>>,
}

impl Facts for BootFacts<'_> {
    fn value(&self, id: FactId) -> Value<'_> {
        let Some(at) = id.checked_sub(EventType::COUNT) else {
            return Value::Int(self.counts.get(id).map_or(0, |&n| i64::from(n)));
        };
        match self.derived.get(at) {
            Some(FactValue::Int(i)) => Value::Int(*i),
            Some(FactValue::Bool(b)) => Value::Bool(*b),
            Some(FactValue::Str(s)) => Value::Str(s),
            Some(FactValue::Addr(ip, text)) => Value::Str(text.get_or_init(|| ip_string(*ip))),
            Some(FactValue::Mac(mac, text)) => Value::Str(text.get_or_init(|| mac.to_string())),
            None => Value::Int(0),
        }
    }
}

impl BootFacts<'_> {
    /// Set `errors_so_far` (updated while the rules run in order).
    pub fn set_errors_so_far(&mut self, n: i64) {
        // Set once per rule of every boot: its place is found at compile time.
        const AT: usize = derived_at("errors_so_far");
        if let Some(v) = self.derived.get_mut(AT) {
            *v = FactValue::Int(n);
        }
    }

    /// The `timed_out` fact, without a lookup by name.
    pub fn timed_out(&self) -> bool {
        const AT: usize = derived_at("timed_out");
        matches!(self.derived.get(AT), Some(FactValue::Bool(true)))
    }

    /// A fact by name (for the report and tests).
    pub fn get(&self, name: &str) -> Option<Value<'_>> {
        let at = EventType::ALL
            .iter()
            .position(|t| t.name() == name)
            .or_else(|| {
                DERIVED
                    .iter()
                    .position(|d| d.0 == name)
                    .map(|i| i + EventType::COUNT)
            })?;
        Some(self.value(at))
    }
}

/// Where the derived fact `name` sits among the derived facts.
const fn derived_at(name: &str) -> usize {
    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    let mut i = 0;
    while i < DERIVED.len() {
        if same(DERIVED[i].0, name) {
            return i;
        }
        i += 1;
    }
    panic!("not a derived fact")
}

/// What the facts of a boot are computed against.
pub struct FactContext<'a> {
    /// The sequence (timeouts, step names).
    pub sequence: &'a Sequence,
    /// The end of the boot: the next boot's start, or the capture's end.
    pub end_ns: i64,
    /// Whether this is the device's last boot (the capture went on to `end_ns`).
    pub last: bool,
    /// Whether the capture keeps VLAN tags (some phone's DHCP was tagged): then a
    /// phone's own untagged DHCP outweighs a switch answer paired to it by timing.
    pub tags_kept: bool,
    /// The DHCP starvation floods seen.
    pub floods: &'a super::flood::Detector,
}

/// Compute the facts of `boot` of `dev`.
pub fn compute<'a>(dev: &'a Device, boot: &'a Boot, cx: &FactContext<'a>) -> BootFacts<'a> {
    let counts = std::array::from_fn(|i| EventType::ALL.get(i).map_or(0, |t| boot.count(*t)));
    let mut v: Vec<FactValue<'a>> = Vec::with_capacity(DERIVED.len());
    fn s<'a>(x: Option<impl Into<Cow<'a, str>>>) -> FactValue<'a> {
        FactValue::Str(x.map_or(Cow::Borrowed(""), Into::into))
    }
    let addr = |x: Option<IpAddr>| match x {
        Some(ip) => FactValue::Addr(ip, OnceCell::new()),
        None => FactValue::Str(Cow::Borrowed("")),
    };

    // DHCP
    let ack = boot.ack.as_ref().and_then(|e| match &e.kind {
        EventKind::DhcpAck { tftp, .. } => Some(tftp.as_ref()),
        _ => None,
    });
    let dhcp_vlan = boot.dhcp_vlan.flatten();
    let voice_vlan = match boot.dhcp_vlan {
        Some(tag) if cx.tags_kept => tag,
        _ => boot.voice_vlan.or(dhcp_vlan),
    };

    // Files
    let unanswered = boot
        .files
        .iter()
        .filter(|f| f.outcome.is_none() || f.unanswered > 0)
        .max_by_key(|f| f.unanswered);
    let class_files = |c: FileClass| boot.files.iter().filter(move |f| f.class == c);
    let own_config = class_files(FileClass::DeviceConfig).next_back();
    let default_config = class_files(FileClass::DefaultConfig).next_back();
    let config_received = boot.files.iter().any(|f| {
        matches!(f.class, FileClass::DeviceConfig | FileClass::DefaultConfig)
            && f.outcome == Some(FileOutcome::Received)
    });
    let config_not_found = own_config.is_some_and(|f| f.outcome == Some(FileOutcome::NotFound));
    let default_not_found =
        default_config.is_some_and(|f| f.outcome == Some(FileOutcome::NotFound));
    let default_used = default_config.is_some_and(|f| f.outcome == Some(FileOutcome::Received));
    let firmware = class_files(FileClass::Firmware).next_back();
    let firmware_not_found = class_files(FileClass::Firmware)
        .any(|f| f.outcome == Some(FileOutcome::NotFound) || f.outcome == Some(FileOutcome::Error));

    // Call managers
    let failed: Vec<&super::device::CmState> = boot.cms.iter().filter(|c| c.failed()).collect();
    let connected = boot.cms.iter().any(|c| c.syn_acks > 0);
    let failover = boot.registered
        && boot
            .registered_cm
            .is_some_and(|r| boot.cms.first().is_some_and(|c| c.ip != r && c.failed()));
    // An un-register refused by a backup is benign once registered elsewhere.
    let rejected = boot.reject.is_some() && !boot.registered;

    // Progress
    let seq = cx.sequence;
    let furthest = boot.furthest.map(|(s, _, _)| seq.step(s));
    let timeout = furthest.map_or(0, |s| s.timeout_ms);
    let waited_ms = (cx.end_ns - boot.last_progress_ns).max(0) / 1_000_000;
    let terminal = furthest.is_some_and(|s| s.terminal);
    let timed_out = furthest.is_some()
        && !terminal
        && !boot.registered
        && u64::try_from(waited_ms).unwrap_or(0) > timeout;

    let restarts = i64::from(dev.boots) - 1 - i64::from(dev.firmware_reboots);
    let b = FactValue::Bool;
    let i = FactValue::Int;
    // In the order of DERIVED (checked in debug builds, which the tests run): each
    // value pushed straight into its place, no lookup by name.
    let mut push = |name: &str, value: FactValue<'a>| {
        debug_assert_eq!(DERIVED.get(v.len()).map(|d| d.0), Some(name));
        v.push(value);
    };
    push(
        "mac",
        match dev.mac() {
            Some(mac) => FactValue::Mac(mac, OnceCell::new()),
            None => FactValue::Str(Cow::Borrowed("")),
        },
    );
    push("name", s(dev.name.as_deref()));
    push("model", s(dev.model.as_deref()));
    push("is_phone", b(dev.kind == DeviceKind::Phone));
    push("kind", s(Some(dev.kind.as_str())));
    push("vlan", i(dhcp_vlan.map_or(0, i64::from)));
    push("voice_vlan", i(voice_vlan.map_or(0, i64::from)));
    push("ip", addr(dev.ip));
    push("boots", i(i64::from(dev.boots)));
    push("restarts", i(restarts.max(0)));
    push("firmware_reboots", i(i64::from(dev.firmware_reboots)));
    push("dhcp_server", addr(boot.dhcp_server.map(IpAddr::V4)));
    push("dhcp_acked", b(boot.ack.is_some()));
    push("dhcp_nak_unrecovered", b(boot.nak_pending));
    push(
        "ack_tftp_usable",
        b(ack.is_some_and(|a| {
            !a.servers.is_empty() || a.option66.as_deref().is_some_and(|n| !n.is_empty())
        })),
    );
    push(
        "ack_option150_ascii",
        b(ack.is_some_and(|a| a.option150_ascii.is_some())),
    );
    push(
        "ack_option150_text",
        s(ack.and_then(|a| a.option150_ascii.as_deref())),
    );
    push(
        "tftp_server",
        match ack.and_then(|a| a.servers.first()) {
            Some(server) => addr(Some(IpAddr::V4(*server))),
            None => s(ack.and_then(|a| a.option66.as_deref())),
        },
    );
    push("option66", s(ack.and_then(|a| a.option66.as_deref())));
    push(
        "file_unanswered_max",
        i(unanswered.map_or(0, |f| i64::from(f.unanswered))),
    );
    push("unanswered_file", s(unanswered.map(|f| &*f.name)));
    push("unanswered_server", addr(unanswered.map(|f| f.server)));
    push("config_file", s(own_config.map(|f| &*f.name)));
    push("config_not_found", b(config_not_found));
    push("default_not_found", b(default_not_found));
    push("config_received", b(config_received));
    push("default_config_used", b(default_used));
    push(
        "config_server",
        addr(own_config.or(default_config).map(|f| f.server)),
    );
    push("firmware_file", s(firmware.map(|f| &*f.name)));
    push("firmware_not_found", b(firmware_not_found));
    push("firmware_received", b(boot.firmware_received));
    push("cm_first", addr(boot.cms.first().map(|c| c.ip)));
    push("cm_tried", i(boot.cms.len() as i64));
    push("cm_failed", i(failed.len() as i64));
    push("cm_connected", b(connected));
    push(
        "cm_unanswered_syns",
        i(boot.cms.iter().map(|c| i64::from(c.syns_unanswered)).sum()),
    );
    push(
        "cm_rsts",
        i(boot.cms.iter().map(|c| i64::from(c.rsts)).sum()),
    );
    push(
        "cm_failed_list",
        s(Some(
            failed
                .iter()
                .map(|c| ip_string(c.ip))
                .collect::<Vec<_>>()
                .join(", "),
        )),
    );
    push(
        "register_unanswered",
        i(boot
            .cms
            .iter()
            .map(|c| i64::from(c.registers_unanswered))
            .max()
            .unwrap_or(0)),
    );
    push("registered", b(boot.registered));
    push("registered_before", b(boot.registered_before));
    push("registered_cm", addr(boot.registered_cm));
    push("rejected", b(rejected));
    push(
        "reject_code",
        i(boot.reject.as_ref().map_or(0, |r| i64::from(r.0))),
    );
    push("reject_reason", s(boot.reject.as_ref().map(|r| &*r.1)));
    push(
        "challenge_unanswered",
        b(boot.challenge_pending && !boot.registered),
    );
    push("failover", b(failover));
    push("protocol", s(boot.protocol.map(|p| p.as_str())));
    push("alarm_text", s(boot.alarm.as_deref()));
    push("step", s(furthest.map(|st| st.id.as_str())));
    push("waited_ms", i(waited_ms));
    push("timeout_ms", i(i64::try_from(timeout).unwrap_or(i64::MAX)));
    push("timed_out", b(timed_out && cx.last));
    push(
        "dhcp_flood_macs",
        i(boot.dhcp_vlan.map_or(0, |vlan| {
            i64::try_from(cx.floods.clients_before(vlan, boot.last_ns)).unwrap_or(i64::MAX)
        })),
    );
    push("errors_so_far", i(0));
    debug_assert_eq!(v.len(), DERIVED.len());
    BootFacts { counts, derived: v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_is_documented_in_the_rules_readme() {
        let readme = include_str!("../../rules/README.md");
        for f in vocabulary().facts {
            assert!(readme.contains(&format!("| `{}` |", f.name)), "{}", f.name);
        }
    }

    #[test]
    fn addresses_read_as_their_text_and_absent_ones_as_empty() {
        let ip: IpAddr = "10.1.2.30".parse().unwrap();
        let mac = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x0f]);
        let facts = BootFacts {
            counts: [7; EventType::COUNT],
            derived: vec![
                FactValue::Addr(ip, OnceCell::new()),
                FactValue::Mac(mac, OnceCell::new()),
                FactValue::Str(Cow::Borrowed("")),
            ],
        };
        let at = EventType::COUNT;
        for _ in 0..2 {
            assert_eq!(facts.value(0), Value::Int(7));
            assert_eq!(facts.value(at), Value::Str("10.1.2.30"));
            assert_eq!(facts.value(at + 1), Value::Str("00:1b:54:aa:00:0f"));
            assert_eq!(facts.value(at + 2), Value::Str(""));
            assert_eq!(facts.value(at + 3), Value::Int(0));
        }
    }

    #[test]
    fn timed_out_is_read_where_it_is_set() {
        let mut facts = BootFacts {
            counts: [0; EventType::COUNT],
            derived: vec![FactValue::Bool(false); DERIVED.len()],
        };
        assert!(!facts.timed_out());
        let at = DERIVED.iter().position(|f| f.0 == "timed_out").unwrap();
        facts.derived[at] = FactValue::Bool(true);
        assert!(facts.timed_out());
        assert_eq!(facts.get("timed_out"), Some(Value::Bool(true)));
        // Read through the vocabulary's numbering, as rules read it.
        let id = vocabulary()
            .facts
            .iter()
            .position(|f| f.name == "timed_out")
            .unwrap();
        assert_eq!(facts.value(id), Value::Bool(true));
    }

    #[test]
    fn errors_so_far_is_set_where_it_is_read() {
        let mut facts = BootFacts {
            counts: [0; EventType::COUNT],
            derived: vec![FactValue::Int(0); DERIVED.len()],
        };
        facts.set_errors_so_far(3);
        assert_eq!(facts.get("errors_so_far"), Some(Value::Int(3)));
        assert_eq!(
            facts
                .derived
                .iter()
                .filter(|v| **v == FactValue::Int(3))
                .count(),
            1
        );
    }

    #[test]
    fn the_builtin_rules_compile_against_the_vocabulary() {
        let vocab = vocabulary();
        let set = rules::RuleSet::builtin(&vocab, &event_type_names()).unwrap();
        assert!(set.rules.len() >= 12);
        // Names are unique.
        let mut names: Vec<_> = vocab.facts.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), vocab.facts.len());
    }
}
