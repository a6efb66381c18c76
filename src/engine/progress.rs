//! Boot progression: how an event recorded on a device moves its boot along the
//! expected sequence of `rules/boot_sequence.json` (the step it reaches, a new boot
//! when a DISCOVER or INIT-REBOOT comes after a lease), and the boot's facts it
//! updates for the verdict.

use std::net::IpAddr;

use rules::{Sequence, StepId};

use super::device::{Device, FileOutcome};
use crate::timeline::{Event, EventKind, EventType, FileClass, FileTransport, Signalling};

/// The step ids events reach, resolved once from the loaded sequence.
#[derive(Debug, Clone, Copy, Default)]
pub struct Steps {
    announce: Option<StepId>,
    voice_vlan: Option<StepId>,
    dhcp_discover: Option<StepId>,
    dhcp_offer: Option<StepId>,
    dhcp_request: Option<StepId>,
    dhcp_ack: Option<StepId>,
    ctl: Option<StepId>,
    itl: Option<StepId>,
    config_tftp: Option<StepId>,
    config_http: Option<StepId>,
    firmware: Option<StepId>,
    cm_connect: Option<StepId>,
    register_sccp: Option<StepId>,
    register_sip: Option<StepId>,
    registered: Option<StepId>,
}

impl Steps {
    /// The steps of `seq` the engine knows events for.
    pub fn resolve(seq: &Sequence) -> Self {
        let s = |id| seq.step_id(id);
        Steps {
            announce: s("announce"),
            voice_vlan: s("voice-vlan"),
            dhcp_discover: s("dhcp-discover"),
            dhcp_offer: s("dhcp-offer"),
            dhcp_request: s("dhcp-request"),
            dhcp_ack: s("dhcp-ack"),
            ctl: s("ctl"),
            itl: s("itl"),
            config_tftp: s("config-tftp"),
            config_http: s("config-http"),
            firmware: s("firmware"),
            cm_connect: s("cm-connect"),
            register_sccp: s("register-sccp"),
            register_sip: s("register-sip"),
            registered: s("registered"),
        }
    }

    /// The step an event reaches, if any.
    pub fn of(&self, kind: &EventKind) -> Option<StepId> {
        match kind {
            EventKind::PhoneAnnounce { ip: None, .. } => self.announce,
            EventKind::SwitchVoiceVlan { .. } => self.voice_vlan,
            EventKind::DhcpDiscover { .. } => self.dhcp_discover,
            EventKind::DhcpOffer { .. } => self.dhcp_offer,
            EventKind::DhcpRequest { .. } => self.dhcp_request,
            EventKind::DhcpAck { .. } => self.dhcp_ack,
            EventKind::FileReceived { file, via, .. } | EventKind::FileNotFound { file, via } => {
                let found = matches!(kind, EventKind::FileReceived { .. });
                match FileClass::of(file) {
                    FileClass::Ctl => self.ctl,
                    FileClass::Itl => self.itl,
                    FileClass::DeviceConfig | FileClass::DefaultConfig if found => match via {
                        FileTransport::Tftp => self.config_tftp,
                        FileTransport::Http => self.config_http,
                    },
                    FileClass::Firmware if found => self.firmware,
                    _ => None,
                }
            }
            EventKind::CmSynAck { .. } => self.cm_connect,
            EventKind::Register { proto, expires, .. } if *expires != Some(0) => match proto {
                Signalling::Sccp => self.register_sccp,
                Signalling::Sip => self.register_sip,
            },
            EventKind::RegisterAck { .. } | EventKind::KeepaliveAck { .. } => self.registered,
            _ => None,
        }
    }
}

/// Record `ev` on `dev`: a new boot first if `starts_boot` and the current one is
/// past its lease, then the boot's facts, the step reached and the timeline.
pub fn advance(dev: &mut Device, seq: &Sequence, steps: &Steps, ev: Event, starts_boot: bool) {
    if starts_boot {
        let past_lease = match (dev.boot.furthest_rank(seq), steps.dhcp_ack) {
            (Some(r), Some(ack)) => r >= seq.rank(ack),
            _ => false,
        };
        if past_lease {
            dev.new_boot(seq, ev.ts_ns, ev.frame);
        }
    }
    apply_state(dev, &ev);
    if let Some(step) = steps.of(&ev.kind) {
        dev.boot.reach(seq, step, ev.ts_ns, ev.frame);
    }
    dev.record(ev);
}

/// Update the boot's facts for an event about to be recorded.
fn apply_state(dev: &mut Device, ev: &Event) {
    let boot = &mut dev.boot;
    match &ev.kind {
        EventKind::PhoneAnnounce { .. } => {}
        EventKind::SwitchVoiceVlan { vlan, .. } => boot.voice_vlan = Some(*vlan),
        EventKind::SwitchNoVoiceVlan { .. } => {}
        EventKind::DhcpDiscover { vlan, .. } => {
            boot.dhcp_vlan = Some(*vlan);
            dev.vlan = *vlan;
        }
        EventKind::DhcpOffer { server, .. } => {
            if server.is_some() {
                boot.dhcp_server = *server;
            }
        }
        EventKind::DhcpRequest { .. } => {}
        EventKind::DhcpAck { yiaddr, server, .. } => {
            boot.nak_pending = false;
            boot.ack = Some(ev.clone());
            if server.is_some() {
                boot.dhcp_server = *server;
            }
            dev.ip = Some(IpAddr::V4(*yiaddr));
        }
        EventKind::DhcpNak { .. } => boot.nak_pending = true,
        EventKind::DhcpDecline { .. } => {}
        EventKind::FileRequest { file, server, via } => {
            boot.file_requested(file, *server, *via, ev.frame);
        }
        EventKind::FileReceived { file, .. }
        | EventKind::FileNotFound { file, .. }
        | EventKind::FileError { file, .. } => {
            let outcome = match &ev.kind {
                EventKind::FileReceived { .. } => FileOutcome::Received,
                EventKind::FileNotFound { .. } => FileOutcome::NotFound,
                _ => FileOutcome::Error,
            };
            if let Some(fs) = boot.file_mut(file) {
                fs.outcome = Some(outcome);
                fs.unanswered = 0;
            }
            if outcome == FileOutcome::Received && FileClass::of(file) == FileClass::Firmware {
                boot.firmware_received = true;
            }
        }
        EventKind::CmSyn { cm, .. } => {
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.syns_unanswered += 1;
            }
        }
        EventKind::CmSynAck { cm, .. } => {
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.syn_acks += 1;
                c.syns_unanswered = 0;
            }
        }
        EventKind::CmRst { cm, .. } => {
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.rsts += 1;
                c.syns_unanswered = 0;
            }
        }
        EventKind::CmTls { .. } => {}
        EventKind::Register { proto, cm, expires } => {
            boot.protocol = Some(*proto);
            if *expires != Some(0) {
                if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                    c.registers_unanswered += 1;
                }
            }
        }
        EventKind::RegisterAck { proto, cm } => {
            boot.protocol = Some(*proto);
            boot.registered = true;
            boot.registered_cm = Some(*cm);
            boot.challenge_pending = false;
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.acks += 1;
                c.registers_unanswered = 0;
            }
        }
        EventKind::RegisterReject {
            cm,
            code,
            reason,
            unregister,
            ..
        } => {
            boot.reject = Some((*code, reason.clone(), *unregister));
            boot.challenge_pending = false;
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                if !unregister {
                    c.rejects += 1;
                }
                c.registers_unanswered = 0;
            }
        }
        EventKind::RegisterChallenge { cm, .. } => {
            boot.challenge_pending = true;
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.registers_unanswered = 0;
            }
        }
        EventKind::KeepaliveAck { cm } => {
            if !boot.registered {
                boot.registered = true;
                boot.registered_before = boot.count(EventType::Register) == 0;
                boot.registered_cm = Some(*cm);
                boot.protocol.get_or_insert(Signalling::Sccp);
            }
        }
        EventKind::Alarm { text } => boot.alarm = Some(text.clone()),
        EventKind::Malformed { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::engine::device::{DeviceKey, DeviceKind};
    use crate::engine::shared::harness::{rules, PHONE};
    use crate::timeline::TftpOffer;

    fn ev(ms: i64, kind: EventKind) -> Event {
        Event {
            ts_ns: ms * 1_000_000,
            frame: u64::try_from(ms).unwrap(),
            kind,
        }
    }

    fn step_id(kind: &EventKind) -> Option<String> {
        let seq = &rules().sequence;
        Steps::resolve(seq).of(kind).map(|s| seq.step(s).id.clone())
    }

    #[test]
    fn events_reach_the_steps_of_the_sequence() {
        let file = |f: &str| EventKind::FileReceived {
            file: f.into(),
            bytes: 1,
            via: FileTransport::Http,
        };
        assert_eq!(
            step_id(&file("CTLSEP001B54AA0001.tlv")).as_deref(),
            Some("ctl")
        );
        assert_eq!(
            step_id(&file("SEP001B54AA0001.cnf.xml")).as_deref(),
            Some("config-http")
        );
        assert_eq!(step_id(&file("RingList.xml")), None);
        let announce = |ip| EventKind::PhoneAnnounce { proto: "CDP", ip };
        assert_eq!(step_id(&announce(None)).as_deref(), Some("announce"));
        // A running phone's periodic announcement (with its address) starts nothing.
        assert_eq!(step_id(&announce(Some(Ipv4Addr::new(10, 1, 1, 20)))), None);
        let register = |expires| EventKind::Register {
            proto: Signalling::Sip,
            cm: IpAddr::V4(Ipv4Addr::new(10, 1, 1, 10)),
            expires,
        };
        assert_eq!(
            step_id(&register(Some(3600))).as_deref(),
            Some("register-sip")
        );
        assert_eq!(step_id(&register(Some(0))), None);
    }

    #[test]
    fn a_discover_after_the_lease_starts_a_new_boot_and_before_it_does_not() {
        let seq = &rules().sequence;
        let steps = Steps::resolve(seq);
        let mut dev = Device::new(DeviceKey::Mac(PHONE), DeviceKind::Phone, "test", 0, 1);
        let discover = || EventKind::DhcpDiscover { xid: 1, vlan: None };
        advance(&mut dev, seq, &steps, ev(1, discover()), true);
        advance(&mut dev, seq, &steps, ev(2, discover()), true);
        assert_eq!(dev.boots, 1);
        let ack = EventKind::DhcpAck {
            xid: 1,
            yiaddr: Ipv4Addr::new(10, 1, 1, 20),
            server: None,
            tftp: Box::new(TftpOffer::default()),
        };
        advance(&mut dev, seq, &steps, ev(3, ack), false);
        assert_eq!(dev.ip, Some(IpAddr::V4(Ipv4Addr::new(10, 1, 1, 20))));
        advance(&mut dev, seq, &steps, ev(4, discover()), true);
        assert_eq!(dev.boots, 2);
        assert_eq!(dev.boot.start_frame, 4);
    }
}
