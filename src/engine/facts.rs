//! The facts rule files may use, and their values for one boot of one device.
//! The vocabulary is: one count per event type (`dhcp_discover`, `file_not_found`,
//! …, see [`EventType`]), then the derived facts of [`DERIVED`]. `rules/README.md`
//! lists them; `bootscope rules facts` prints them.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::IpAddr;

use rules::{EventDef, FactDef, FactId, FactType, Facts, Sequence, Step, Value, Vocabulary};

use super::device::{Boot, CmState, Device, DeviceKind, DnsLookup, FileOutcome, FileState};
use crate::link::MacAddr;
use crate::timeline::{
    ip_string, ConfigEnvelope, ConfigSummary, EventKind, EventType, FileClass, LossCause, TftpOffer,
};

/// A derived fact: its name, type and one line of documentation, and how it is computed
/// from the [`Basis`] of a boot. The one table of them: the vocabulary, the rules
/// documentation test and [`compute`] all read it.
pub struct Derived {
    /// The name rules use.
    pub name: &'static str,
    /// The type of its value.
    pub ty: FactType,
    /// One line saying what it is.
    pub doc: &'static str,
    /// Its value for one boot.
    pub value: for<'a> fn(&Basis<'a>) -> FactValue<'a>,
}

/// The derived facts, in vocabulary order.
pub const DERIVED: &[Derived] = &[
    Derived {
        name: "mac",
        ty: FactType::Str,
        doc: "the device's MAC (empty when keyed by name)",
        value: |x| match x.dev.mac() {
            Some(mac) => FactValue::Mac(mac, OnceCell::new()),
            None => FactValue::Str(Cow::Borrowed("")),
        },
    },
    Derived {
        name: "name",
        ty: FactType::Str,
        doc: "its device name as the wire gives it (else SEP<MAC> for a phone)",
        value: |x| s(x.dev.report_name().0),
    },
    Derived {
        name: "model",
        ty: FactType::Str,
        doc: "its model (CDP platform, SCCP device type, User-Agent)",
        value: |x| s(x.dev.model.as_deref()),
    },
    Derived {
        name: "is_phone",
        ty: FactType::Bool,
        doc: "whether it is taken for a Cisco IP phone",
        value: |x| b(x.dev.kind == DeviceKind::Phone),
    },
    Derived {
        name: "kind",
        ty: FactType::Str,
        doc: "phone, dhcp-client, sip-agent, sccp-device, router, voice-gateway, media-resource or pc",
        value: |x| s(Some(x.dev.kind.as_str())),
    },
    Derived {
        name: "vlan",
        ty: FactType::Int,
        doc: "the VLAN its DHCP carried (0: untagged or unseen)",
        value: |x| i(x.dhcp_vlan.map_or(0, i64::from)),
    },
    Derived {
        name: "voice_vlan",
        ty: FactType::Int,
        doc: "the voice VLAN learned from the switch or seen on its DHCP (0: none)",
        value: |x| i(x.voice_vlan.map_or(0, i64::from)),
    },
    Derived {
        name: "ip",
        ty: FactType::Str,
        doc: "its address",
        value: |x| addr(x.dev.ip),
    },
    Derived {
        name: "boots",
        ty: FactType::Int,
        doc: "boots seen in the capture",
        value: |x| i(i64::from(x.dev.boots)),
    },
    Derived {
        name: "restarts",
        ty: FactType::Int,
        doc: "boots after the first, not counting the one after a firmware download",
        value: |x| i((i64::from(x.dev.boots) - 1 - i64::from(x.dev.firmware_reboots)).max(0)),
    },
    Derived {
        name: "firmware_reboots",
        ty: FactType::Int,
        doc: "reboots after a firmware download",
        value: |x| i(i64::from(x.dev.firmware_reboots)),
    },
    Derived {
        name: "dhcp_server",
        ty: FactType::Str,
        doc: "the DHCP server that answered",
        value: |x| addr(x.boot.dhcp_server.map(IpAddr::V4)),
    },
    Derived {
        name: "dhcp_acked",
        ty: FactType::Bool,
        doc: "a DHCP ACK came in this boot",
        value: |x| b(x.boot.ack.is_some()),
    },
    Derived {
        name: "dhcp_nak_unrecovered",
        ty: FactType::Bool,
        doc: "a NAK not followed by a lease",
        value: |x| b(x.boot.nak_pending),
    },
    Derived {
        name: "ack_tftp_usable",
        ty: FactType::Bool,
        doc: "the ACK named a TFTP server (option 150 addresses, or 66)",
        value: |x| b(x.ack.is_some_and(|a| {
            !a.servers.is_empty() || a.option66.as_deref().is_some_and(|n| !n.is_empty())
        })),
    },
    Derived {
        name: "ack_option150_ascii",
        ty: FactType::Bool,
        doc: "option 150 came as text, not addresses",
        value: |x| b(x.ack.is_some_and(|a| a.option150_ascii.is_some())),
    },
    Derived {
        name: "ack_option150_text",
        ty: FactType::Str,
        doc: "that text",
        value: |x| s(x.ack.and_then(|a| a.option150_ascii.as_deref())),
    },
    Derived {
        name: "tftp_server",
        ty: FactType::Str,
        doc: "the first TFTP server named",
        value: |x| match x.ack.and_then(|a| a.servers.first()) {
            Some(server) => addr(Some(IpAddr::V4(*server))),
            None => s(x.ack.and_then(|a| a.option66.as_deref())),
        },
    },
    Derived {
        name: "option66",
        ty: FactType::Str,
        doc: "option 66 as sent",
        value: |x| s(x.ack.and_then(|a| a.option66.as_deref())),
    },
    Derived {
        name: "file_unanswered_max",
        ty: FactType::Int,
        doc: "the most requests for one file that got no answer",
        value: |x| i(x.unanswered.map_or(0, |f| i64::from(f.unanswered))),
    },
    Derived {
        name: "unanswered_file",
        ty: FactType::Str,
        doc: "that file",
        value: |x| s(x.unanswered.map(|f| &*f.name)),
    },
    Derived {
        name: "unanswered_server",
        ty: FactType::Str,
        doc: "the server it was asked of",
        value: |x| addr(x.unanswered.map(|f| f.server)),
    },
    Derived {
        name: "config_file",
        ty: FactType::Str,
        doc: "the device configuration file asked for",
        value: |x| s(x.own_config.map(|f| &*f.name)),
    },
    Derived {
        name: "config_not_found",
        ty: FactType::Bool,
        doc: "the device's own configuration was not found",
        value: |x| b(x.own_config.is_some_and(|f| f.outcome == Some(FileOutcome::NotFound))),
    },
    Derived {
        name: "default_not_found",
        ty: FactType::Bool,
        doc: "the default configuration (XMLDefault.cnf.xml, SIPDefault.cnf) was not found",
        value: |x| b(x.default_config.is_some_and(|f| f.outcome == Some(FileOutcome::NotFound))),
    },
    Derived {
        name: "config_received",
        ty: FactType::Bool,
        doc: "a configuration (own or default) was received",
        value: |x| b(x.boot.files.iter().any(|f| {
            matches!(f.class, FileClass::DeviceConfig | FileClass::DefaultConfig)
                && f.outcome == Some(FileOutcome::Received)
        })),
    },
    Derived {
        name: "default_config_used",
        ty: FactType::Bool,
        doc: "a default configuration was received: XMLDefault.cnf.xml, an unprovisioned phone's fallback, or SIPDefault.cnf, which a 7940/7960 SIP load always takes before its own",
        value: |x| b(x.default_config.is_some_and(|f| f.outcome == Some(FileOutcome::Received))),
    },
    Derived {
        name: "config_server",
        ty: FactType::Str,
        doc: "the server the configuration was asked of",
        value: |x| addr(x.own_config.or(x.default_config).map(|f| f.server)),
    },
    Derived {
        name: "firmware_file",
        ty: FactType::Str,
        doc: "the firmware file asked for last",
        value: |x| s(x.firmware.map(|f| &*f.name)),
    },
    Derived {
        name: "firmware_not_found",
        ty: FactType::Bool,
        doc: "a firmware file was not found",
        value: |x| b(x.boot.files.iter().any(|f| {
            f.class == FileClass::Firmware
                && matches!(f.outcome, Some(FileOutcome::NotFound | FileOutcome::Error))
        })),
    },
    Derived {
        name: "firmware_received",
        ty: FactType::Bool,
        doc: "a firmware file was received",
        value: |x| b(x.boot.firmware_received),
    },
    Derived {
        name: "cm_first",
        ty: FactType::Str,
        doc: "the first call manager tried",
        value: |x| addr(x.boot.cms.first().map(|c| c.ip)),
    },
    Derived {
        name: "cm_tried",
        ty: FactType::Int,
        doc: "call managers tried",
        value: |x| i(x.boot.cms.len() as i64),
    },
    Derived {
        name: "cm_failed",
        ty: FactType::Int,
        doc: "call managers that failed the phone",
        value: |x| i(x.failed.len() as i64),
    },
    Derived {
        name: "cm_connected",
        ty: FactType::Bool,
        doc: "a call manager accepted a TCP connection",
        value: |x| b(x.boot.cms.iter().any(|c| c.syn_acks > 0)),
    },
    Derived {
        name: "cm_unanswered_syns",
        ty: FactType::Int,
        doc: "SYNs to call managers never answered",
        value: |x| i(x.boot.cms.iter().map(|c| i64::from(c.syns_unanswered)).sum()),
    },
    Derived {
        name: "cm_rsts",
        ty: FactType::Int,
        doc: "resets from call managers",
        value: |x| i(x.boot.cms.iter().map(|c| i64::from(c.rsts)).sum()),
    },
    Derived {
        name: "cm_failed_list",
        ty: FactType::Str,
        doc: "the call managers that failed, comma separated",
        value: |x| s(Some(
            x.failed
                .iter()
                .map(|c| ip_string(c.ip))
                .collect::<Vec<_>>()
                .join(", "),
        )),
    },
    Derived {
        name: "register_unanswered",
        ty: FactType::Int,
        doc: "Registers / REGISTERs to one call manager with no answer",
        value: |x| i(x.boot
            .cms
            .iter()
            .map(|c| i64::from(c.registers_unanswered))
            .max()
            .unwrap_or(0)),
    },
    Derived {
        name: "registered",
        ty: FactType::Bool,
        doc: "registered in this boot",
        value: |x| b(x.boot.registered),
    },
    Derived {
        name: "registered_before",
        ty: FactType::Bool,
        doc: "registered before the capture (keepalives only)",
        value: |x| b(x.boot.registered_before),
    },
    Derived {
        name: "registered_cm",
        ty: FactType::Str,
        doc: "the call manager that accepted",
        value: |x| addr(x.boot.registered_cm),
    },
    Derived {
        name: "rejected",
        ty: FactType::Bool,
        doc: "a registration refused (an un-register refused counts only if never registered)",
        value: |x| // An un-register refused by a backup is benign once registered elsewhere.
        b(x.boot.reject.is_some() && !x.boot.registered),
    },
    Derived {
        name: "reject_code",
        ty: FactType::Int,
        doc: "the SIP status of the refusal (0 for SCCP)",
        value: |x| i(x.boot.reject.as_ref().map_or(0, |r| i64::from(r.0))),
    },
    Derived {
        name: "reject_reason",
        ty: FactType::Str,
        doc: "its reason text",
        value: |x| s(x.boot.reject.as_ref().map(|r| &*r.1)),
    },
    Derived {
        name: "challenge_unanswered",
        ty: FactType::Bool,
        doc: "a SIP 401/407 not followed by success",
        value: |x| b(x.boot.challenge_pending && !x.boot.registered),
    },
    Derived {
        name: "failover",
        ty: FactType::Bool,
        doc: "registered with a later call manager after the first failed",
        value: |x| b(x.boot.registered
            && x.boot.registered_cm.is_some_and(|r| {
                x.boot.cms.first().is_some_and(|c| c.ip != r && c.failed())
            })),
    },
    Derived {
        name: "protocol",
        ty: FactType::Str,
        doc: "sccp or sip",
        value: |x| s(x.boot.protocol.map(|p| p.as_str())),
    },
    Derived {
        name: "alarm_text",
        ty: FactType::Str,
        doc: "the phone's last alarm text (SCCP Alarm, SIP cisco-alarm)",
        value: |x| s(x.boot.alarm.as_deref()),
    },
    Derived {
        name: "step",
        ty: FactType::Str,
        doc: "the furthest step of the boot sequence reached",
        value: |x| s(x.furthest.map(|st| st.id.as_str())),
    },
    Derived {
        name: "waited_ms",
        ty: FactType::Int,
        doc: "time since the last progress, to the end of the capture",
        value: |x| i(x.waited_ms),
    },
    Derived {
        name: "timeout_ms",
        ty: FactType::Int,
        doc: "the timeout of the furthest step",
        value: |x| i(i64::try_from(x.timeout_ms()).unwrap_or(i64::MAX)),
    },
    Derived {
        name: "timed_out",
        ty: FactType::Bool,
        doc: "no progress for longer than the step's timeout while the capture went on, and could show it (answers_captured)",
        value: |x| b(x.cx.last
            && x.answers_captured
            && x.furthest.is_some_and(|s| !s.terminal)
            && !x.boot.registered
            && u64::try_from(x.waited_ms).unwrap_or(0) > x.timeout_ms()),
    },
    Derived {
        name: "dhcp_flood_macs",
        ty: FactType::Int,
        doc: "client MACs of the DHCP starvation floods on the boot's DHCP VLAN that began before its last event (0: none)",
        value: |x| i(x.boot.dhcp_vlan.map_or(0, |vlan| {
            i64::try_from(x.cx.floods.clients_before(vlan, x.boot.last_ns)).unwrap_or(i64::MAX)
        })),
    },
    Derived {
        name: "errors_so_far",
        ty: FactType::Int,
        doc: "error findings already raised for this boot by earlier rules",
        value: |_| i(0),
    },
    Derived {
        name: "answers_captured",
        ty: FactType::Bool,
        doc: "the capture can show the servers' answers to this boot: not when it holds only the phones' side, nor when the boot has steps its own progress proves passed and no answer at all, nor when messages after its last progress were cut by the snap length",
        value: |x| b(x.answers_captured),
    },
    Derived {
        name: "frames_readable",
        ty: FactType::Bool,
        doc: "no message of the boot since its last progress was cut short by the capture's snap length",
        value: |x| b(x.boot.cut_since_progress == 0),
    },
    Derived {
        name: "cut_since_progress",
        ty: FactType::Int,
        doc: "messages of the boot cut short by the snap length since its last progress",
        value: |x| i(x.boot.cut_since_progress.into()),
    },
    Derived {
        name: "restarted",
        ty: FactType::Bool,
        doc: "the phone started a new boot after this one: it gave up waiting for what the boot lacked",
        value: |x| b(!x.cx.last),
    },
    Derived {
        name: "capture_missed_frames",
        ty: FactType::Int,
        doc: "frames the capture is known to have missed: the capturing host's drops (pcapng statistics, live kernel counters) and TCP segments acknowledged that it never held",
        value: |x| i(i64::try_from(x.cx.visibility.missed).unwrap_or(i64::MAX)),
    },
    Derived {
        name: "capture_one_way",
        ty: FactType::Bool,
        doc: "the capture holds only one direction of the phones' exchanges with their servers",
        value: |x| b(x.cx.visibility.directions.one_way()),
    },
    Derived {
        name: "phone_asks",
        ty: FactType::Int,
        doc: "the boot's messages to its servers (DHCP, file requests, SYNs, registrations, keepalives)",
        value: |x| i(super::visibility::asks(x.boot).into()),
    },
    Derived {
        name: "server_answers",
        ty: FactType::Int,
        doc: "the servers' answers to the boot seen in the capture",
        value: |x| i(super::visibility::answers(x.boot).into()),
    },
    Derived {
        name: "steps_inferred",
        ty: FactType::Int,
        doc: "steps the boot passed that the capture does not show, proved by the phone's own progress",
        value: |x| i(x.passed_unseen.count_ones().into()),
    },
    Derived {
        name: "dhcp_offers_refused",
        ty: FactType::Int,
        doc: "DISCOVERs sent again after an OFFER: offers the phone did not take (refused, or never received)",
        value: |x| i(i64::from(x.boot.offers_refused)),
    },
    Derived {
        name: "dhcp_option150_ascii",
        ty: FactType::Bool,
        doc: "option 150 came as text, not addresses, in an OFFER or the ACK",
        value: |x| b(x.boot.option150_ascii.is_some()),
    },
    Derived {
        name: "dhcp_option150_text",
        ty: FactType::Str,
        doc: "that text",
        value: |x| s(x.boot.option150_ascii.as_deref()),
    },
    Derived {
        name: "running",
        ty: FactType::Bool,
        doc: "the phone announced its address (CDP address, LLDP management address) and the boot reached no step: it is up, not booting",
        value: |x| b(x.boot.is_running()),
    },
    Derived {
        name: "deregistered",
        ty: FactType::Bool,
        doc: "the call manager confirmed a de-registration (SIP 2xx to Expires 0, SCCP UnregisterAck) and no registration followed",
        value: |x| b(x.boot.unregistered.is_some()),
    },
    Derived {
        name: "deregistered_cm",
        ty: FactType::Str,
        doc: "the call manager that confirmed it",
        value: |x| addr(x.boot.unregistered),
    },
    // The switch port: 802.1X, PoE, the voice VLAN each protocol gave.
    Derived {
        name: "switch_port",
        ty: FactType::Str,
        doc: "the switch port the phone is on, as the switch's CDP / LLDP names it (empty: not seen)",
        value: |x| s(x.dev.switch_port.as_deref()),
    },
    Derived {
        name: "dot1x",
        ty: FactType::Bool,
        doc: "the switch port ran 802.1X (EAPOL) with the device in this boot",
        value: |x| b(x.boot.port.auth.is_some()),
    },
    Derived {
        name: "dot1x_identity",
        ty: FactType::Str,
        doc: "the identity the device gave (EAP Response/Identity; a Cisco phone's is CP-<model>-SEP<MAC>)",
        value: |x| s(x.boot.port.auth.as_ref().and_then(|a| a.identity.as_deref())),
    },
    Derived {
        name: "dot1x_method",
        ty: FactType::Str,
        doc: "the last EAP method offered or asked for (TLS, PEAP, FAST, MD5-Challenge, …; empty: none)",
        value: |x| s(x.boot.port.auth.as_ref().and_then(|a| a.method).map(|m| {
            parsers::eapol::EapType(m)
                .name()
                .map_or_else(|| format!("type {m}"), str::to_owned)
        })),
    },
    Derived {
        name: "dot1x_identity_requests",
        ty: FactType::Int,
        doc: "EAP Request/Identity messages of the switch port",
        value: |x| i(x.boot.port.auth.as_ref().map_or(0, |a| i64::from(a.identity_requests))),
    },
    Derived {
        name: "dot1x_phone_silent",
        ty: FactType::Bool,
        doc: "the switch port asked for an identity and the device sent no EAPOL at all (no 802.1X supplicant: only MAB lets it in)",
        value: |x| b(x.boot.port.auth.as_ref().is_some_and(|a| !a.phone_spoke && a.identity_requests > 0)),
    },
    Derived {
        name: "dot1x_failed",
        ty: FactType::Bool,
        doc: "802.1X ended in EAP-Failure and no EAP-Success followed",
        value: |x| b(x.boot.port.auth.as_ref().is_some_and(|a| a.outcome.is_some_and(|o| !o.0))),
    },
    Derived {
        name: "port_unauthorised",
        ty: FactType::Bool,
        doc: "the port ran 802.1X and never let the device in: EAP-Failure last, or no outcome and no DHCP OFFER (MAB did not either)",
        value: |x| b(x.boot.port.auth.as_ref().is_some_and(|a| a.unauthorised())),
    },
    Derived {
        name: "dot1x_held_ms",
        ty: FactType::Int,
        doc: "from the first 802.1X message to the port letting the device in (EAP-Success, else the first DHCP OFFER: MAB); 0 when it never did",
        value: |x| i(x.boot.port.auth.as_ref().map_or(0, |a| {
            a.authorised_ns().map_or(0, |t| (t - a.first_ns).max(0) / 1_000_000)
        })),
    },
    Derived {
        name: "poe_requested_mw",
        ty: FactType::Int,
        doc: "the PoE the phone asked for, in mW (CDP Power Requested, else Power Consumption; LLDP 802.3 / LLDP-MED): of the protocol whose offer fell short, else the first that has both (0: not seen)",
        value: |x| i(x.poe.map_or(0, |p| i64::from(p.1))),
    },
    Derived {
        name: "poe_granted_mw",
        ty: FactType::Int,
        doc: "the PoE the switch offered the phone, in mW (CDP Power Available, LLDP PSE allocated power), of that protocol (0: not seen)",
        value: |x| i(x.poe.map_or(0, |p| i64::from(p.2))),
    },
    Derived {
        name: "poe_proto",
        ty: FactType::Str,
        doc: "that protocol: CDP or LLDP",
        value: |x| s(x.poe.map(|p| p.0.as_str())),
    },
    Derived {
        name: "poe_denied",
        ty: FactType::Bool,
        doc: "the switch offered less PoE than the phone asked for, by the same protocol",
        value: |x| b(x.poe.is_some_and(|p| p.2 < p.1)),
    },
    Derived {
        name: "poe_denied_boots",
        ty: FactType::Int,
        doc: "the device's boots, up to this one, in which the switch offered less PoE than asked, of those kept (the last four at most): more than one means it restarted over it",
        value: |x| i(x.dev.earlier.iter().chain(std::iter::once(&x.dev.boot))
            .filter(|b| b.start_ns <= x.boot.start_ns && poe_short(b).is_some_and(|p| p.2 < p.1))
            .count() as i64),
    },
    Derived {
        name: "cdp_voice_vlan",
        ty: FactType::Int,
        doc: "the voice VLAN of the switch's CDP (VoIP VLAN reply; 0: none)",
        value: |x| i(x.boot.port.voice_vlans[0].map_or(0, i64::from)),
    },
    Derived {
        name: "lldp_voice_vlan",
        ty: FactType::Int,
        doc: "the voice VLAN of the switch's LLDP-MED network policy (0: none)",
        value: |x| i(x.boot.port.voice_vlans[1].map_or(0, i64::from)),
    },
    Derived {
        name: "voice_vlan_conflict",
        ty: FactType::Bool,
        doc: "CDP and LLDP-MED gave different voice VLANs, or the phone's DHCP carried a VLAN tag other than the voice VLAN it was given (judged only when the capture keeps tags)",
        value: |x| {
            let [cdp, lldp] = x.boot.port.voice_vlans;
            let both_differ = matches!((cdp, lldp), (Some(a), Some(b)) if a != b);
            let given = x.boot.voice_vlan;
            let dhcp_off = x.cx.tags_kept
                && matches!((x.dhcp_vlan, given), (Some(tag), Some(v)) if tag != v);
            b(both_differ || dhcp_off)
        },
    },
    Derived {
        name: "address_conflict",
        ty: FactType::Bool,
        doc: "the phone found its address taken in the capture (this boot or one before): it declined its lease (DHCPDECLINE), or another MAC answered ARP for the address it was given or probed",
        value: |x| b(x.dev.address_conflict.is_some()),
    },
    Derived {
        name: "conflict_ip",
        ty: FactType::Str,
        doc: "that address",
        value: |x| addr(x.dev.address_conflict.map(|(a, _)| IpAddr::V4(a))),
    },
    Derived {
        name: "conflict_by",
        ty: FactType::Str,
        doc: "who holds it, in words: the MAC that answered ARP for it, or that the phone's DECLINE says so",
        value: |x| match x.dev.address_conflict {
            Some((_, Some(mac))) => s(Some(format!("by {mac}, which answers ARP for it"))),
            Some((_, None)) => s(Some("(the phone's DHCPDECLINE says so)")),
            None => s(None::<&str>),
        },
    },
    Derived {
        name: "conflict_mac",
        ty: FactType::Str,
        doc: "the MAC that answered ARP for it (empty when only the DECLINE tells)",
        value: |x| match x.dev.address_conflict {
            Some((_, Some(mac))) => FactValue::Mac(mac, OnceCell::new()),
            _ => s(None::<&str>),
        },
    },
    Derived {
        name: "address_recovered",
        ty: FactType::Bool,
        doc: "after the conflict the phone was given another address (an ACK of it)",
        value: |x| b(x.dev.address_recovered),
    },
    Derived {
        name: "config_syns_unanswered",
        ty: FactType::Int,
        doc: "SYNs to the configuration server's 6970 / 6971 never answered",
        value: |x| i(x.boot.config_syns_unanswered.into()),
    },
    Derived {
        name: "config_rsts",
        ty: FactType::Int,
        doc: "resets from the configuration server's 6970 / 6971 (an ICMP unreachable answering the SYN counts as one)",
        value: |x| i(x.boot.config_rsts.into()),
    },
    Derived {
        name: "config_connected",
        ty: FactType::Bool,
        doc: "the configuration server accepted a TCP connection on 6970 / 6971",
        value: |x| b(x.boot.config_connected),
    },
    Derived {
        name: "config_tcp_server",
        ty: FactType::Str,
        doc: "the configuration server the phone tried over TCP last",
        value: |x| addr(x.boot.config_tcp_server.map(|(a, _)| a)),
    },
    Derived {
        name: "config_tcp_port",
        ty: FactType::Int,
        doc: "its port (6970 HTTP, 6971 HTTPS; 0: none tried)",
        value: |x| i(x.boot.config_tcp_server.map_or(0, |(_, p)| p.into())),
    },
    Derived {
        name: "config_unreachable",
        ty: FactType::Bool,
        doc: "an ICMP port or host unreachable (or administratively prohibited) answered a TFTP request to the configuration server",
        value: |x| b(x.boot.config_unreachable.is_some()),
    },
    Derived {
        name: "config_unreachable_server",
        ty: FactType::Str,
        doc: "the server the request was for",
        value: |x| addr(x.boot.config_unreachable.map(|(a, _, _)| a)),
    },
    Derived {
        name: "config_unreachable_port",
        ty: FactType::Int,
        doc: "the port the request was for",
        value: |x| i(x.boot.config_unreachable.map_or(0, |(_, p, _)| p.into())),
    },
    Derived {
        name: "config_unreachable_reason",
        ty: FactType::Str,
        doc: "what ICMP said (port unreachable, host unreachable, administratively prohibited)",
        value: |x| s(x.boot.config_unreachable.map(|(_, _, r)| r)),
    },
    Derived {
        name: "cm_unreachables",
        ty: FactType::Int,
        doc: "ICMP unreachables answering the phone's SYNs or Registers to call managers",
        value: |x| i(x.boot.cms.iter().map(|c| i64::from(c.unreachable)).sum()),
    },
    Derived {
        name: "cm_unreachable_reason",
        ty: FactType::Str,
        doc: "what the first of them said, and for which port (\"port unreachable for 5060\")",
        value: |x| s(x.boot.cm_unreachable.map(|(_, p, r)| format!("{r} for {p}"))),
    },
    Derived {
        name: "firmware_missing",
        ty: FactType::Bool,
        doc: "a file of the load (the .loads manifest or an image it names) was not found or refused, and not received later in the boot",
        value: |x| b(x.firmware_missing.is_some()),
    },
    Derived {
        name: "firmware_missing_file",
        ty: FactType::Str,
        doc: "that file",
        value: |x| s(x.firmware_missing.map(|f| &*f.name)),
    },    Derived {
        name: "config_readable",
        ty: FactType::Bool,
        doc: "the phone's configuration was read from the capture (not an encrypted one): the facts below say what it holds",
        value: |x| b(x.boot.config.as_ref().is_some_and(|c| c.envelope != ConfigEnvelope::Encrypted)),
    },
    Derived {
        name: "config_cms",
        ty: FactType::Str,
        doc: "the call managers its configuration lists, in priority order, comma separated (a configuration received but unreadable, encrypted or cut by the snap length, after which the phone tried no call manager: the names it looked up)",
        value: |x| s(Some(cm_hosts(x.boot).join(", "))),
    },
    Derived {
        name: "cm_names_unresolved",
        ty: FactType::Int,
        doc: "call managers the configuration names by host name that never resolved: the phone's lookups got NXDOMAIN, SERVFAIL, no address or no answer (or, with no DNS server from DHCP, it made none)",
        value: |x| i(cm_names_unresolved(x.boot, x.ack).len() as i64),
    },
    Derived {
        name: "tftp_name_unresolved",
        ty: FactType::Bool,
        doc: "DHCP named the TFTP server only by host name (option 66, no option 150), the phone could not resolve it (its lookups failed, or DHCP gave no DNS server) and it asked no server for a file",
        value: |x| b(tftp_name_lookup(x).is_some()),
    },
    Derived {
        name: "tftp_name_outcome",
        ty: FactType::Str,
        doc: "what DNS said of the option 66 name (as `cm_name_outcome` words it)",
        value: |x| s(tftp_name_lookup(x).map(|l| match l {
            Some(l) => l.outcome(),
            None => "no lookup: DHCP gave no DNS server (option 6)".to_owned(),
        })),
    },
    Derived {
        name: "cm_name_unresolved",
        ty: FactType::Str,
        doc: "the first of them",
        value: |x| s(cm_names_unresolved(x.boot, x.ack).first().map(|(h, _)| *h)),
    },
    Derived {
        name: "cm_name_outcome",
        ty: FactType::Str,
        doc: "what DNS said of it (\"no such name (NXDOMAIN) from 10.1.1.53\", \"no answer to 3 queries from …\", \"no lookup: DHCP gave no DNS server\")",
        value: |x| s(cm_names_unresolved(x.boot, x.ack).first().map(|(_, l)| match l {
            Some(l) => l.outcome(),
            None => "no lookup: DHCP gave no DNS server (option 6)".to_owned(),
        })),
    },
    Derived {
        name: "cm_name_dns_server",
        ty: FactType::Str,
        doc: "the DNS server the phone asked for it (else the first option 6 server; empty: none)",
        value: |x| {
            let asked = cm_names_unresolved(x.boot, x.ack).first().and_then(|(_, l)| l.map(|l| l.server));
            addr(asked.or(x.ack.and_then(|a| a.dns_servers.first().map(|d| IpAddr::V4(*d)))))
        },
    },
    Derived {
        name: "dhcp_gave_dns",
        ty: FactType::Bool,
        doc: "the DHCP ACK named a DNS server (option 6)",
        value: |x| b(x.ack.is_some_and(|a| !a.dns_servers.is_empty())),
    },
    Derived {
        name: "cm_group_connected",
        ty: FactType::Bool,
        doc: "a call manager of the configuration's group (its address, or an address its name resolved to) accepted a connection or a registration",
        value: |x| b(group_connected(x.boot)),
    },
    Derived {
        name: "srst_registered",
        ty: FactType::Bool,
        doc: "registered to a survivable router: the configuration's srstInfo address, or the default gateway (DHCP option 3), and not a call manager of its group",
        value: |x| b(srst_registration(x.boot, x.ack).is_some()),
    },
    Derived {
        name: "srst_router",
        ty: FactType::Str,
        doc: "that router",
        value: |x| addr(srst_registration(x.boot, x.ack).map(|(ip, _)| ip)),
    },
    Derived {
        name: "srst_named_by",
        ty: FactType::Str,
        doc: "where the phone took it from: \"the configuration's srstInfo\" or \"its default gateway (DHCP option 3)\"",
        value: |x| s(srst_registration(x.boot, x.ack).map(|(_, by)| by)),
    },
    Derived {
        name: "trust_refetches",
        ty: FactType::Int,
        doc: "CTL, ITL or signed configurations asked for again after they were received whole, in this boot and the device's earlier ones: the phone did not accept them",
        value: |x| i(boots_to(x).map(|b| i64::from(b.trust_refetches)).sum()),
    },
    Derived {
        name: "signed_config_failed",
        ty: FactType::Int,
        doc: "requests for a signed configuration (.cnf.xml.sgn, .enc.sgn) that were not found, refused or unanswered, in this boot and the earlier ones, while no configuration was received in this boot",
        value: |x| i(if config_got(x.boot) { 0 } else { boots_to(x).map(signed_config_failures).sum() }),
    },
    Derived {
        name: "signed_config_file",
        ty: FactType::Str,
        doc: "the signed configuration asked for last",
        value: |x| s(x.boot.files.iter().rev().find(|f| is_signed_config(f)).map(|f| &*f.name)),
    },
    Derived {
        name: "security_mode",
        ty: FactType::Int,
        doc: "the configuration's deviceSecurityMode (1 non-secure, 2 authenticated, 3 encrypted; 0: none read)",
        value: |x| i(x.boot.config.as_ref().and_then(|c| c.security_mode).map_or(0, i64::from)),
    },
    Derived {
        name: "security_mode_name",
        ty: FactType::Str,
        doc: "that mode in words",
        value: |x| s(x.boot.config.as_ref().and_then(|c| c.security_name())),
    },
    Derived {
        name: "tvs_failed",
        ty: FactType::Bool,
        doc: "the phone's connections to a TVS (TCP 2445) failed: reset, or two SYNs unanswered, and none accepted",
        value: |x| {
            let (unanswered, rsts, connected) = x.boot.tvs;
            b(!connected && (rsts > 0 || unanswered >= 2))
        },
    },
    Derived {
        name: "tvs_server",
        ty: FactType::Str,
        doc: "the TVS server it tried last",
        value: |x| addr(x.boot.tvs_server),
    },
    Derived {
        name: "tvs_rsts",
        ty: FactType::Int,
        doc: "resets from the TVS port",
        value: |x| i(x.boot.tvs.1.into()),
    },
    Derived {
        name: "tvs_syns_unanswered",
        ty: FactType::Int,
        doc: "SYNs to the TVS port not answered",
        value: |x| i(x.boot.tvs.0.into()),
    },
    Derived {
        name: "registration_lost_at_end",
        ty: FactType::Bool,
        doc: "registered, then lost it (keepalives unanswered, the connection reset or closed, a SIP refresh unanswered or refused) and not registered again by the end of the boot",
        value: |x| b(x.boot.registered && x.steady.is_some_and(|s| s.lost_at(x.cx.end_ns))),
    },
    Derived {
        name: "registration_back",
        ty: FactType::Bool,
        doc: "lost its registration and registered again by the end of the boot",
        value: |x| b(x.boot.registered
            && x.steady.is_some_and(|s| s.losses > 0 && !s.lost_at(x.cx.end_ns))),
    },
    Derived {
        name: "registration_losses",
        ty: FactType::Int,
        doc: "registrations lost in the boot (a SIP refresh still unanswered past Timer F at the end counts)",
        value: |x| i(x.steady.map_or(0, |s| {
            i64::from(s.losses) + i64::from(s.lost.is_none() && s.lost_at(x.cx.end_ns))
        })),
    },
    Derived {
        name: "lost_cm",
        ty: FactType::Str,
        doc: "the call manager whose registration was lost (the last loss)",
        value: |x| addr(x.steady.map(|s| s.last_cause.map_or(s.cm, |c| c.1))),
    },
    Derived {
        name: "lost_cause",
        ty: FactType::Str,
        doc: "why, in words (\"3 keepalive(s) in a row unanswered (one every 30 s)\", \"the call manager reset the connection\", …)",
        value: |x| s(x.steady.and_then(|s| match (s.lost, s.last_cause) {
            (None, _) if s.lost_at(x.cx.end_ns) => Some(LossCause::RefreshUnanswered.describe()),
            // The keepalive period the RegisterAck gave, when the capture holds it.
            (_, Some((cause @ LossCause::KeepalivesUnanswered(_), _))) if s.interval_ms > 0 => {
                Some(format!("{} (one every {} s)", cause.describe(), s.interval_ms / 1000))
            }
            (_, Some((cause, _))) => Some(cause.describe()),
            _ => None,
        })),
    },
    Derived {
        name: "lost_account",
        ty: FactType::Str,
        doc: "the phone's own account of the loss, as a clause (\"; the phone says Last=KeepaliveTO\"), empty when it gave none",
        value: |x| s(x.steady
            .and_then(|s| s.phone_says.as_deref())
            .map(|said| format!("; the phone says {said}"))),
    },
    Derived {
        name: "lost_resent",
        ty: FactType::Str,
        doc: "the TCP segments the phone sent again on the signalling connection while registered, as a clause (\"; the phone resent 4 TCP segment(s) the call manager did not acknowledge\"), empty when none",
        value: |x| s(x.steady
            .filter(|s| s.resent > 0)
            .map(|s| format!("; the phone resent {} TCP segment(s) the call manager did not acknowledge", s.resent))),
    },
    Derived {
        name: "lost_outages",
        ty: FactType::Str,
        doc: "how often and how long it was without registration, as a clause (\", lost and back 3 times: 95 s without registration in all, the longest 40 s\"), empty for one loss not back",
        value: |x| s(x.steady.and_then(|s| outages(s, x.cx.end_ns))),
    },
    Derived {
        name: "keepalives",
        ty: FactType::Int,
        doc: "SCCP keepalives the phone sent once registered, on the connection holding its registration",
        value: |x| i(x.steady.map_or(0, |s| i64::from(s.keepalives))),
    },
    Derived {
        name: "keepalive_interval_s",
        ty: FactType::Int,
        doc: "the keepalive period its RegisterAck gave, in seconds (0: not seen)",
        value: |x| i(x.steady.map_or(0, |s| i64::from(s.interval_ms / 1000))),
    },
    Derived {
        name: "tls_failed",
        ty: FactType::Bool,
        doc: "a TLS handshake with a call manager's signalling port failed (fatal alert, reset, or no ServerHello where the capture could hold one: answers_captured)",
        value: |x| {
            b(match x.boot.tls_failure {
                Some((_, _, crate::timeline::TlsFailure::NoServerHello)) => x.answers_captured,
                Some(_) => true,
                None => false,
            })
        },
    },
    Derived {
        name: "reject_security",
        ty: FactType::Bool,
        doc: "the call manager's refusal speaks of security (a SIP 403 whose reason or Warning says so)",
        value: |x| b(x.boot.reject.as_ref().is_some_and(|r| {
            r.1.to_ascii_lowercase().contains("secur")
        })),
    },
    Derived {
        name: "secure_failure",
        ty: FactType::Str,
        doc: "what failed the secure registration: the TLS handshake (with whom, how) or the security refusal",
        value: |x| match (&x.boot.tls_failure, &x.boot.reject) {
            (Some((cm, port, failure)), _) => FactValue::Str(Cow::Owned(format!(
                "the TLS handshake with {}:{port} failed ({failure})",
                ip_string(*cm)
            ))),
            (None, Some(r)) => FactValue::Str(Cow::Owned(format!(
                "the call manager refused it: {} {}",
                r.0, r.1
            ))),
            (None, None) => s(None::<&str>),
        },
    },
];

/// How often and how long a phone was without its registration: a clause for the
/// finding's message, `None` for a single loss not back.
fn outages(s: &super::device::Steady, end_ns: i64) -> Option<String> {
    let current = s.lost.map_or(0, |(since, _, _)| (end_ns - since).max(0));
    // Seconds to the tenth: a phone back at once is out for less than one.
    let secs = |ns: i64| format!("{:.1}", ns as f64 / 1e9);
    let total = secs(s.outage_total_ns.saturating_add(current));
    let longest = secs(s.outage_longest_ns.max(current));
    let back = s.losses - u32::from(s.lost.is_some());
    match (s.losses, back) {
        (0, _) | (1, 0) => None,
        (1, _) => Some(format!(" after {total} s without it")),
        (n, _) => Some(format!(
            "; lost {n} times, back {back}: {total} s without registration in all, the longest {longest} s"
        )),
    }
}

/// The call managers the configuration names by host name that never resolved, each with
/// its lookup (`None`: none made, and the DHCP ACK named no DNS server).
/// The option 66 name of a boot that got no usable TFTP address otherwise and asked
/// for no file, when it did not resolve: its failed lookup, or none when DHCP gave no
/// DNS server; `None` otherwise.
fn tftp_name_lookup<'a>(x: &Basis<'a>) -> Option<Option<&'a DnsLookup>> {
    let ack = x.ack?;
    if !ack.servers.is_empty() || !x.boot.files.is_empty() {
        return None;
    }
    let name = ack
        .option66
        .as_deref()
        .filter(|n| !n.is_empty() && n.parse::<IpAddr>().is_err())?;
    match x.boot.lookups.iter().find(|l| l.is_of(name)) {
        Some(l) if !l.resolved() => Some(Some(l)),
        Some(_) => None,
        None if ack.dns_servers.is_empty() => Some(None),
        None => None,
    }
}

fn cm_names_unresolved<'a>(
    boot: &'a Boot,
    ack: Option<&TftpOffer>,
) -> Vec<(&'a str, Option<&'a DnsLookup>)> {
    let no_dns = ack.is_some_and(|a| a.dns_servers.is_empty());
    cm_hosts(boot)
        .into_iter()
        .filter(|h| h.parse::<IpAddr>().is_err())
        .filter_map(|h| match boot.lookups.iter().find(|l| l.is_of(h)) {
            Some(l) if !l.resolved() => Some((h, Some(l))),
            Some(_) => None,
            None if no_dns => Some((h, None)),
            None => None,
        })
        .collect()
}

/// The call managers of the configuration read (addresses or host names), in priority
/// order. A configuration received but not readable (encrypted, or cut by the capture's
/// snap length) stands for members named by host name when the phone then looked names up
/// and tried no call manager at all: the names it looked up are theirs (what else would it
/// look up between its configuration and its registration).
fn cm_hosts(boot: &Boot) -> Vec<&str> {
    let looked_up = || -> Vec<&str> {
        if boot.cms.is_empty() {
            boot.lookups.iter().map(|l| &*l.name).collect()
        } else {
            Vec::new()
        }
    };
    match boot.config.as_deref() {
        Some(c) if unread(c) => looked_up(),
        Some(c) => c.call_managers.iter().map(|m| &*m.host).collect(),
        None if config_got(boot) => looked_up(),
        None => Vec::new(),
    }
}

/// A configuration whose call managers cannot be known: encrypted, or cut before them.
fn unread(c: &ConfigSummary) -> bool {
    c.envelope == ConfigEnvelope::Encrypted || (!c.complete && c.call_managers.is_empty())
}

/// The addresses of the configuration's group: its members given by address, and the
/// addresses their names resolved to.
fn group_addresses(boot: &Boot) -> Vec<IpAddr> {
    cm_hosts(boot)
        .into_iter()
        .flat_map(|h| match h.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => boot
                .lookups
                .iter()
                .filter(|l| l.is_of(h))
                .flat_map(|l| l.addrs.iter().copied())
                .collect(),
        })
        .collect()
}

/// Whether a member of the group accepted the phone (a handshake or a registration); of
/// an encrypted configuration's unknown group, any call manager.
fn group_connected(boot: &Boot) -> bool {
    if boot.config.as_deref().is_none_or(unread) {
        return boot.registered || boot.cms.iter().any(|c| c.syn_acks > 0 || c.acks > 0);
    }
    let group = group_addresses(boot);
    boot.cms
        .iter()
        .any(|c| group.contains(&c.ip) && (c.syn_acks > 0 || c.acks > 0))
        || boot.registered_cm.is_some_and(|ip| group.contains(&ip))
}

/// The survivable router the phone registered to, and where it took it from: an address of
/// the configuration's `srstInfo`, else its default gateway; never a member of its group.
fn srst_registration(boot: &Boot, ack: Option<&TftpOffer>) -> Option<(IpAddr, &'static str)> {
    let cm = boot.registered_cm.filter(|_| boot.registered)?;
    let c = boot.config.as_deref()?;
    if group_addresses(boot).contains(&cm) {
        return None;
    }
    if c.srst.iter().any(|a| a.parse::<IpAddr>().ok() == Some(cm)) {
        return Some((cm, "the configuration's srstInfo"));
    }
    let gateway = ack.is_some_and(|a| a.routers.iter().any(|r| IpAddr::V4(*r) == cm));
    gateway.then_some((cm, "its default gateway (DHCP option 3)"))
}

/// The device's boots up to this one.
fn boots_to<'a>(x: &Basis<'a>) -> impl Iterator<Item = &'a Boot> {
    let start = x.boot.start_ns;
    x.dev
        .earlier
        .iter()
        .chain(std::iter::once(&x.dev.boot))
        .filter(move |b| b.start_ns <= start)
}

fn is_signed_config(f: &FileState) -> bool {
    matches!(f.class, FileClass::DeviceConfig | FileClass::DefaultConfig)
        && f.name.to_ascii_lowercase().ends_with(".sgn")
}

/// Requests of a signed configuration that came to nothing in `boot`.
fn signed_config_failures(boot: &Boot) -> i64 {
    boot.files
        .iter()
        .filter(|f| is_signed_config(f) && f.outcome != Some(FileOutcome::Received))
        .map(|f| i64::from(f.requests))
        .sum()
}

/// Whether a configuration (own or default) was received in `boot`.
fn config_got(boot: &Boot) -> bool {
    boot.files.iter().any(|f| {
        matches!(f.class, FileClass::DeviceConfig | FileClass::DefaultConfig)
            && f.outcome == Some(FileOutcome::Received)
    })
}

/// The PoE of a boot, by protocol: the first protocol whose offer fell short of what
/// the phone asked, else the first with both (protocol, asked, offered), in mW.
fn poe_short(boot: &Boot) -> Option<(crate::timeline::DiscoveryProto, u32, u32)> {
    use crate::timeline::DiscoveryProto::{Cdp, Lldp};
    let port = &boot.port;
    let both = [Cdp, Lldp]
        .into_iter()
        .filter_map(|proto| Some((proto, port.requested(proto)?, port.granted(proto)?)));
    let mut first = None;
    for p in both {
        if p.2 < p.1 {
            return Some(p);
        }
        first.get_or_insert(p);
    }
    first
}

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
    facts.extend(DERIVED.iter().map(|d| FactDef {
        name: d.name,
        ty: d.ty,
        doc: d.doc,
    }));
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
/// counts, then the derived facts. A derived fact is worked out when a rule first
/// reads it: a healthy phone's rules read a few of them, not all.
pub struct BootFacts<'a> {
    /// The event counts, by [`EventType`] (a copy: nothing to build or drop).
    counts: [u32; EventType::COUNT],
    /// What the derived facts are read from (none where they are given: tests).
    basis: Option<Basis<'a>>,
    /// The derived facts, in the order of [`DERIVED`], once read.
    derived: Vec<OnceCell<FactValue<'a>>>,
}

impl std::fmt::Debug for BootFacts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootFacts")
            .field("counts", &self.counts)
            .field("derived", &self.derived)
            .finish_non_exhaustive()
    }
}

impl<'a> BootFacts<'a> {
    /// The derived fact at `at`, worked out on first reading.
    fn derived(&self, at: usize) -> Option<&FactValue<'a>> {
        let (cell, d) = (self.derived.get(at)?, DERIVED.get(at)?);
        Some(cell.get_or_init(|| {
            self.basis
                .as_ref()
                .map_or(FactValue::Int(0), |b| (d.value)(b))
        }))
    }
}

impl Facts for BootFacts<'_> {
    fn value(&self, id: FactId) -> Value<'_> {
        let Some(at) = id.checked_sub(EventType::COUNT) else {
            return Value::Int(self.counts.get(id).map_or(0, |&n| i64::from(n)));
        };
        match self.derived(at) {
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
        // Set once per rule of every boot: its place is a constant, no lookup.
        if let Some(v) = self.derived.get_mut(ERRORS_SO_FAR_AT) {
            *v = OnceCell::from(FactValue::Int(n));
        }
    }

    /// The `timed_out` fact, without a lookup by name.
    pub fn timed_out(&self) -> bool {
        matches!(self.derived(TIMED_OUT_AT), Some(FactValue::Bool(true)))
    }

    /// A fact by name (for the report and tests).
    pub fn get(&self, name: &str) -> Option<Value<'_>> {
        let at = EventType::ALL
            .iter()
            .position(|t| t.name() == name)
            .or_else(|| {
                DERIVED
                    .iter()
                    .position(|d| d.name == name)
                    .map(|i| i + EventType::COUNT)
            })?;
        Some(self.value(at))
    }
}

/// Where `timed_out` sits in [`DERIVED`] (a unit test checks it against the table).
const TIMED_OUT_AT: usize = 52;
/// Where `errors_so_far` sits in [`DERIVED`] (a unit test checks it against the table).
const ERRORS_SO_FAR_AT: usize = 54;

/// What the facts of a boot are computed against.
#[derive(Clone, Copy)]
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
    /// What the capture shows of the phones' exchanges.
    pub visibility: &'a super::visibility::Visibility,
}

/// What the derived facts of one boot are read from: the device, the boot, the
/// capture, and what several facts share (worked out once per boot).
pub struct Basis<'a> {
    dev: &'a Device,
    boot: &'a Boot,
    cx: FactContext<'a>,
    /// The TFTP servers of the boot's DHCP ACK.
    ack: Option<&'a TftpOffer>,
    /// The VLAN its DHCP carried (`None`: untagged).
    dhcp_vlan: Option<u16>,
    /// The voice VLAN, from the switch or the phone's tagged DHCP.
    voice_vlan: Option<u16>,
    /// The file with the most unanswered requests.
    unanswered: Option<&'a FileState>,
    /// The last request of the phone's own configuration, and of XMLDefault.
    own_config: Option<&'a FileState>,
    default_config: Option<&'a FileState>,
    /// The last firmware file asked for.
    firmware: Option<&'a FileState>,
    /// The first file of the load not found or refused (and not received since).
    firmware_missing: Option<&'a FileState>,
    /// The call managers that failed the phone.
    failed: Vec<&'a CmState>,
    /// The furthest step reached.
    furthest: Option<&'a Step>,
    /// The boot's PoE: protocol, asked, offered ([`poe_short`]).
    poe: Option<(crate::timeline::DiscoveryProto, u32, u32)>,
    /// Time since the last progress, to the end of the boot.
    waited_ms: i64,
    /// Steps the boot passed that the capture does not show (bits by rank).
    passed_unseen: u128,
    /// The capture can show the answers the boot waits for: both directions, and
    /// nothing after the last progress cut by the snap length.
    answers_captured: bool,
    /// The registration kept after it was accepted.
    steady: Option<&'a super::device::Steady>,
}

impl Basis<'_> {
    /// The timeout of the furthest step (0 before any).
    fn timeout_ms(&self) -> u64 {
        self.furthest.map_or(0, |s| s.timeout_ms)
    }
}

/// Compute the facts of `boot` of `dev`.
pub fn compute<'a>(dev: &'a Device, boot: &'a Boot, cx: &FactContext<'a>) -> BootFacts<'a> {
    let counts = std::array::from_fn(|i| EventType::ALL.get(i).map_or(0, |t| boot.count(*t)));
    let dhcp_vlan = boot.dhcp_vlan.flatten();
    let class_files = |c: FileClass| boot.files.iter().filter(move |f| f.class == c);
    let passed_unseen = cx.visibility.passed_unseen(cx.sequence, boot);
    let basis = Basis {
        dev,
        boot,
        cx: *cx,
        ack: boot.ack.as_ref().and_then(|e| match &e.kind {
            EventKind::DhcpAck { tftp, .. } => Some(tftp.as_ref()),
            _ => None,
        }),
        dhcp_vlan,
        voice_vlan: match boot.dhcp_vlan {
            Some(tag) if cx.tags_kept => tag,
            _ => boot.voice_vlan.or(dhcp_vlan),
        },
        unanswered: boot
            .files
            .iter()
            .filter(|f| f.outcome.is_none() || f.unanswered > 0)
            .max_by_key(|f| f.unanswered),
        own_config: class_files(FileClass::DeviceConfig).next_back(),
        default_config: class_files(FileClass::DefaultConfig).next_back(),
        firmware: class_files(FileClass::Firmware).next_back(),
        firmware_missing: class_files(FileClass::Firmware).find(|f| {
            matches!(f.outcome, Some(FileOutcome::NotFound | FileOutcome::Error))
                && !class_files(FileClass::Firmware)
                    .any(|g| g.name == f.name && g.outcome == Some(FileOutcome::Received))
        }),
        failed: boot.cms.iter().filter(|c| c.failed()).collect(),
        furthest: boot.furthest.map(|(s, _, _)| cx.sequence.step(s)),
        poe: poe_short(boot),
        waited_ms: (cx.end_ns - boot.last_progress_ns).max(0) / 1_000_000,
        passed_unseen,
        answers_captured: cx.visibility.answers_captured(boot, passed_unseen)
            && boot.cut_since_progress == 0,
        steady: boot.steady.as_deref(),
    };
    let derived = DERIVED.iter().map(|_| OnceCell::new()).collect();
    BootFacts {
        counts,
        basis: Some(basis),
        derived,
    }
}

/// A text fact; absent is empty.
fn s<'a>(x: Option<impl Into<Cow<'a, str>>>) -> FactValue<'a> {
    FactValue::Str(x.map_or(Cow::Borrowed(""), Into::into))
}

/// An address fact, written only when a rule reads it; absent is empty.
fn addr<'a>(x: Option<IpAddr>) -> FactValue<'a> {
    match x {
        Some(ip) => FactValue::Addr(ip, OnceCell::new()),
        None => FactValue::Str(Cow::Borrowed("")),
    }
}

fn b<'a>(x: bool) -> FactValue<'a> {
    FactValue::Bool(x)
}

fn i<'a>(x: i64) -> FactValue<'a> {
    FactValue::Int(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_places_match_the_table() {
        // The constants the hot setters use instead of a lookup by name: this fails
        // when DERIVED is reordered, so they cannot go stale.
        let at = |name: &str| DERIVED.iter().position(|d| d.name == name);
        assert_eq!(at("timed_out"), Some(TIMED_OUT_AT));
        assert_eq!(at("errors_so_far"), Some(ERRORS_SO_FAR_AT));
    }

    #[test]
    fn every_fact_is_documented_in_the_rules_readme() {
        let readme = include_str!("../../rules/README.md");
        for f in vocabulary().facts {
            assert!(readme.contains(&format!("| `{}` |", f.name)), "{}", f.name);
        }
    }

    /// Facts given rather than worked out.
    fn given(counts: [u32; EventType::COUNT], derived: Vec<FactValue<'_>>) -> BootFacts<'_> {
        BootFacts {
            counts,
            basis: None,
            derived: derived.into_iter().map(OnceCell::from).collect(),
        }
    }

    #[test]
    fn addresses_read_as_their_text_and_absent_ones_as_empty() {
        let ip: IpAddr = "10.1.2.30".parse().unwrap();
        let mac = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x0f]);
        let facts = given(
            [7; EventType::COUNT],
            vec![
                FactValue::Addr(ip, OnceCell::new()),
                FactValue::Mac(mac, OnceCell::new()),
                FactValue::Str(Cow::Borrowed("")),
            ],
        );
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
        let mut facts = given(
            [0; EventType::COUNT],
            vec![FactValue::Bool(false); DERIVED.len()],
        );
        assert!(!facts.timed_out());
        let at = DERIVED.iter().position(|f| f.name == "timed_out").unwrap();
        facts.derived[at] = OnceCell::from(FactValue::Bool(true));
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
        let mut facts = given(
            [0; EventType::COUNT],
            vec![FactValue::Int(0); DERIVED.len()],
        );
        facts.set_errors_so_far(3);
        assert_eq!(facts.get("errors_so_far"), Some(Value::Int(3)));
        assert_eq!(
            facts
                .derived
                .iter()
                .filter(|v| v.get() == Some(&FactValue::Int(3)))
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
