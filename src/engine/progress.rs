//! Boot progression: how an event recorded on a device moves its boot along the
//! expected sequence of `rules/boot_sequence.json` (the step it reaches, a new boot
//! when a DISCOVER or INIT-REBOOT comes after a lease), and the boot's facts it
//! updates for the verdict.

use std::net::IpAddr;

use rules::{EventMatch, Qualities, RuleSet, Sequence, StepId, Windows};

use super::device::{Device, FileOutcome};
use crate::timeline::{
    DiscoveryProto, Event, EventKind, EventType, FileClass, LossCause, Signalling,
};

/// The steps events reach, read once from the `reached_by` of the loaded sequence.
#[derive(Debug, Clone, Default)]
pub struct Steps {
    /// Per event type (by [`EventType::index`]): its matches, with their step, earliest
    /// step of the sequence first.
    by_type: Vec<Vec<(EventMatch, StepId)>>,
    /// The step a DHCP ACK reaches: a DISCOVER past it starts a new boot.
    lease: Option<StepId>,
    /// The steps a boot's announcement and the switch's voice VLAN reach, and how
    /// long before a new boot they may come and still be carried into it.
    pub carried: Carried,
}

/// What a new boot takes over from the announcements just before it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Carried {
    /// The step a phone's announcement (without an address) reaches.
    pub announce: Option<StepId>,
    /// The step the switch's voice VLAN reaches.
    pub voice_vlan: Option<StepId>,
    /// The step an EAP-Success (the port authorised) reaches.
    pub port_auth: Option<StepId>,
    /// How long before the new boot an announcement may come (`windows.json`).
    pub window_ns: i64,
}

impl Steps {
    /// The steps of `rules`' sequence, by the events that reach them.
    pub fn resolve(rules: &RuleSet) -> Self {
        let seq = &rules.sequence;
        let mut by_type = vec![Vec::new(); EventType::COUNT];
        for step in seq.steps() {
            for m in &seq.step(step).reached_by {
                // The sequence was checked against the vocabulary: every name is known.
                if let Some(t) = EventType::ALL.iter().find(|t| t.name() == m.event) {
                    if let Some(list) = by_type.get_mut(t.index()) {
                        list.push((m.clone(), step));
                    }
                }
            }
        }
        let lease = by_type
            .get(EventType::DhcpAck.index())
            .and_then(|l| l.iter().map(|(_, s)| *s).min_by_key(|&s| seq.rank(s)));
        let mut steps = Steps {
            by_type,
            lease,
            carried: Carried::default(),
        };
        steps.carried = Carried {
            announce: steps.of(&EventKind::PhoneAnnounce {
                proto: DiscoveryProto::Cdp,
                ip: None,
            }),
            voice_vlan: steps.of(&EventKind::SwitchVoiceVlan {
                proto: DiscoveryProto::Cdp,
                vlan: 1,
            }),
            port_auth: steps.of(&EventKind::EapSuccess),
            window_ns: Windows::ns(rules.windows.announcement_carried_ms),
        };
        steps
    }

    /// The step an event reaches, if any: the first whose match it meets.
    pub fn of(&self, kind: &EventKind) -> Option<StepId> {
        self.reached_by(kind).map(|(s, _)| s)
    }

    /// The step an event reaches, and whether that is an inference from the phone's
    /// own progress rather than the step's answer seen (the match's `inferred`).
    pub fn reached_by(&self, kind: &EventKind) -> Option<(StepId, bool)> {
        self.by_type
            .get(kind.event_type().index())?
            .iter()
            .find(|(m, _)| meets(kind, m))
            .map(|(m, s)| (*s, m.inferred))
    }
}

/// The qualifiers of a step's `reached_by` an event type takes (the vocabulary's word to
/// the rules loader); [`meets`] reads each.
pub fn qualifiers(t: EventType) -> &'static [&'static str] {
    match t {
        EventType::PhoneAnnounce => &["with_address"],
        EventType::FileRequest | EventType::FileReceived | EventType::FileNotFound => {
            &["file", "via"]
        }
        // An error answer does not say how the file travelled.
        EventType::FileError => &["file"],
        EventType::Register => &["proto", "deregister"],
        EventType::RegisterAck | EventType::RegisterReject => &["proto"],
        _ => &[],
    }
}

/// Whether `kind` (of the match's event type) meets every qualifier of `m`.
fn meets(kind: &EventKind, m: &EventMatch) -> bool {
    m.admits(&qualities(kind))
}

/// What an event states that a step's qualifiers ask about.
fn qualities(kind: &EventKind) -> Qualities {
    let none = Qualities::default();
    match kind {
        EventKind::PhoneAnnounce { ip, .. } => Qualities {
            with_address: Some(ip.is_some()),
            ..none
        },
        EventKind::FileRequest { class, via, .. }
        | EventKind::FileReceived { class, via, .. }
        | EventKind::FileNotFound { class, via, .. } => Qualities {
            file: Some(*class),
            via: Some(*via),
            ..none
        },
        // An error answer does not say how the file travelled.
        EventKind::FileError { class, .. } => Qualities {
            file: Some(*class),
            ..none
        },
        EventKind::Register { proto, expires, .. } => Qualities {
            proto: Some(*proto),
            deregister: Some(*expires == Some(0)),
            ..none
        },
        EventKind::RegisterAck { proto, .. } | EventKind::RegisterReject { proto, .. } => {
            Qualities {
                proto: Some(*proto),
                ..none
            }
        }
        _ => none,
    }
}

/// Record `ev` on `dev`: a new boot first if `starts_boot` and the current one is
/// past its lease, then the boot's facts, the step reached and the timeline.
pub fn advance(dev: &mut Device, seq: &Sequence, steps: &Steps, ev: Event, starts_boot: bool) {
    // After a DECLINE the phone starts over for another address in the same boot.
    if starts_boot && !dev.boot.decline_pending {
        // A registered phone (by its calls, say, with no step reached) had a lease too.
        let past_lease = dev.boot.registered
            || match (dev.boot.furthest_rank(seq), steps.lease) {
                (Some(r), Some(ack)) => r >= seq.rank(ack),
                _ => false,
            };
        if past_lease {
            dev.new_boot(seq, &steps.carried, ev.ts_ns, ev.frame);
        }
    }
    // A phone that moves on had the answers before: the steps they reach are passed,
    // by inference.
    let moved_to = match &ev.kind {
        EventKind::FileRequest { file, .. } => Some(Some(&**file)),
        EventKind::CmSyn { .. } | EventKind::Register { .. } | EventKind::Keepalive { .. } => {
            Some(None)
        }
        _ => None,
    };
    if let Some(next) = moved_to {
        for kind in dev.boot.moved_on(next) {
            // An answer of unknown kind stands as "not found": it reaches only a step
            // that a file received would reach too (CTL, ITL: "found or not").
            let step = match &kind {
                EventKind::FileNotFound { file, class, via } => {
                    let received = EventKind::FileReceived {
                        file: file.clone(),
                        class: *class,
                        bytes: 0,
                        via: *via,
                    };
                    steps.of(&kind).filter(|&s| steps.of(&received) == Some(s))
                }
                _ => steps.of(&kind),
            };
            if let Some(step) = step {
                dev.boot.reach(seq, step, ev.ts_ns, ev.frame, true);
            }
        }
    }
    apply_state(dev, &ev);
    if let Some((step, inferred)) = steps.reached_by(&ev.kind) {
        dev.boot.reach(seq, step, ev.ts_ns, ev.frame, inferred);
    }
    dev.record(ev);
}

/// An 802.1X message of the boot's port. A Start or an Identity request after the
/// port had let the phone in, and after the boot moved on, opens a new exchange (the
/// phone restarted, or the switch authenticates it again).
fn port_auth(boot: &mut super::device::Boot, ev: &Event) {
    use super::device::PortAuth;
    let fresh = || {
        Box::new(PortAuth {
            first_ns: ev.ts_ns,
            ..PortAuth::default()
        })
    };
    let opens = matches!(
        ev.kind,
        EventKind::EapolStart | EventKind::EapIdentityRequest
    );
    let last_progress = boot.last_progress_ns;
    let auth = boot.port.auth.get_or_insert_with(fresh);
    if opens && auth.outcome.is_some_and(|(_, t)| t < last_progress) && ev.ts_ns > last_progress {
        // The method and identity stand until the new exchange says otherwise.
        let (method, identity) = (auth.method, auth.identity.take());
        *auth = fresh();
        auth.method = method;
        auth.identity = identity;
    }
    match &ev.kind {
        EventKind::EapolStart | EventKind::EapolLogoff => auth.phone_spoke = true,
        EventKind::EapIdentityRequest => {
            auth.identity_requests = auth.identity_requests.saturating_add(1);
        }
        EventKind::EapIdentity { identity } => {
            auth.phone_spoke = true;
            auth.identity = Some(identity.clone());
        }
        EventKind::EapMethod { method, from_phone } => {
            auth.phone_spoke |= *from_phone;
            auth.method = Some(*method);
        }
        EventKind::EapSuccess => auth.outcome = Some((true, ev.ts_ns)),
        EventKind::EapFailure => auth.outcome = Some((false, ev.ts_ns)),
        _ => {}
    }
    boot.port.keep(ev.kind.event_type(), ev.frame, ev.ts_ns);
}

/// Update the boot's facts for an event about to be recorded.
fn apply_state(dev: &mut Device, ev: &Event) {
    let boot = &mut dev.boot;
    match &ev.kind {
        EventKind::PhoneAnnounce { ip, .. } => boot.announced_address |= ip.is_some(),
        EventKind::SwitchVoiceVlan { vlan, proto } => {
            boot.voice_vlan = Some(*vlan);
            *boot.port.of_mut(*proto).0 = Some(*vlan);
            boot.port
                .keep(EventType::SwitchVoiceVlan, ev.frame, ev.ts_ns);
        }
        EventKind::SwitchNoVoiceVlan { .. } => {}
        EventKind::EapolStart
        | EventKind::EapIdentityRequest
        | EventKind::EapIdentity { .. }
        | EventKind::EapMethod { .. }
        | EventKind::EapSuccess
        | EventKind::EapFailure
        | EventKind::EapolLogoff => port_auth(boot, ev),
        EventKind::PoeRequest { proto, mw } => {
            let r = boot.port.of_mut(*proto).1;
            *r = Some(r.map_or(*mw, |was| was.max(*mw)));
            boot.port.keep(EventType::PoeRequest, ev.frame, ev.ts_ns);
        }
        EventKind::PoeGrant { proto, mw } => {
            *boot.port.of_mut(*proto).2 = Some(*mw);
            boot.port.keep(EventType::PoeGrant, ev.frame, ev.ts_ns);
        }
        EventKind::DhcpDiscover { vlan, .. } => {
            boot.dhcp_vlan = Some(*vlan);
            dev.vlan = *vlan;
            // Asking again after an offer: the phone did not take it.
            if std::mem::take(&mut boot.offer_pending) {
                boot.offers_refused = boot.offers_refused.saturating_add(1);
            }
        }
        EventKind::DhcpOffer {
            server,
            option150_ascii,
            ..
        } => {
            if server.is_some() {
                boot.dhcp_server = *server;
            }
            boot.offer_pending = true;
            if let Some(a) = boot.port.auth.as_deref_mut() {
                a.first_offer_ns.get_or_insert(ev.ts_ns);
            }
            if let Some(t) = option150_ascii {
                boot.option150_ascii = Some(t.clone());
            }
        }
        EventKind::DhcpRequest { .. } => boot.offer_pending = false,
        EventKind::DhcpAck {
            yiaddr,
            server,
            tftp,
            ..
        } => {
            boot.nak_pending = false;
            boot.offer_pending = false;
            boot.decline_pending = false;
            if dev.address_conflict.is_some_and(|(a, _)| a != *yiaddr) {
                dev.address_recovered = true;
            }
            boot.ack = Some(ev.clone());
            if server.is_some() {
                boot.dhcp_server = *server;
            }
            if let Some(t) = &tftp.option150_ascii {
                boot.option150_ascii = Some(t.clone());
            }
            dev.ip = Some(IpAddr::V4(*yiaddr));
        }
        EventKind::DhcpNak { .. } => boot.nak_pending = true,
        EventKind::DhcpDecline { addr, .. } => {
            boot.decline_pending = true;
            let ip = addr.or(match dev.ip {
                Some(IpAddr::V4(a)) => Some(a),
                _ => None,
            });
            if let (Some(ip), None) = (ip, &dev.address_conflict) {
                dev.address_conflict = Some((ip, None));
                dev.address_recovered = false;
            }
        }
        EventKind::AddressInUse { ip, mac } => {
            let same = dev.address_conflict.is_some_and(|(a, _)| a == *ip);
            if !same || dev.address_conflict.is_some_and(|(_, m)| m.is_none()) {
                dev.address_conflict = Some((*ip, Some(*mac)));
                dev.address_recovered = false;
            }
        }
        EventKind::ConfigSyn { server, port } => {
            boot.config_syns_unanswered += 1;
            boot.config_tcp_server = Some((*server, *port));
        }
        EventKind::ConfigSynAck { .. } => {
            boot.config_connected = true;
            boot.config_syns_unanswered = 0;
        }
        EventKind::ConfigRst { server, port } => {
            boot.config_rsts += 1;
            boot.config_syns_unanswered = 0;
            boot.config_tcp_server = Some((*server, *port));
        }
        EventKind::IcmpUnreachable {
            server,
            port,
            reason,
            ..
        } => {
            if *port == 69 {
                boot.config_unreachable
                    .get_or_insert((*server, *port, *reason));
                // The request was answered, by a "no".
                for f in boot.files.iter_mut().filter(|f| f.server == *server) {
                    f.unanswered = 0;
                }
            } else if crate::timeline::is_config_port(*port) {
                // The connection to 6970 / 6971 refused, as by a reset: the phone falls
                // back to TFTP, which decides.
                boot.config_rsts += 1;
                boot.config_syns_unanswered = 0;
                boot.config_tcp_server = Some((*server, *port));
            } else {
                boot.cm_unreachable.get_or_insert((*server, *port, *reason));
                if let Some(c) = boot.cm_mut(*server, ev.frame) {
                    c.unreachable += 1;
                    c.syns_unanswered = 0;
                    c.registers_unanswered = 0;
                }
            }
        }
        EventKind::DnsQuery { name, server, .. } => boot.dns_query(name, *server, ev.frame),
        EventKind::DnsAnswer {
            name, rcode, addrs, ..
        } => boot.dns_answer(name, *rcode, addrs),
        EventKind::ConfigRead { config } => {
            boot.config_heap_bytes = config.heap_bytes();
            boot.config = Some(config.clone());
        }
        EventKind::TvsSyn { server } => {
            boot.tvs.0 += 1;
            boot.tvs_server = Some(*server);
        }
        EventKind::TvsSynAck { .. } => boot.tvs = (0, boot.tvs.1, true),
        EventKind::TvsRst { server } => {
            boot.tvs = (0, boot.tvs.1 + 1, boot.tvs.2);
            boot.tvs_server = Some(*server);
        }
        EventKind::FileRequest {
            file,
            class,
            server,
            via,
        } => {
            boot.file_requested(file, *class, *server, *via, ev.frame);
        }
        EventKind::FileReceived { file, class, .. }
        | EventKind::FileNotFound { file, class, .. }
        | EventKind::FileError { file, class, .. } => {
            let outcome = match &ev.kind {
                EventKind::FileReceived { .. } => FileOutcome::Received,
                EventKind::FileNotFound { .. } => FileOutcome::NotFound,
                _ => FileOutcome::Error,
            };
            if let Some(fs) = boot.file_mut(file) {
                fs.outcome = Some(outcome);
                fs.unanswered = 0;
            }
            if outcome == FileOutcome::Received && *class == FileClass::Firmware {
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
            registration_kept(boot, *cm, ev.ts_ns, true);
            boot.protocol = Some(*proto);
            boot.registered = true;
            boot.unregistered = None;
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
            // The refresh was answered (a refusal while registered is a loss of its own).
            if let Some(s) = boot.steady.as_deref_mut() {
                s.refresh_due = None;
            }
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                if !unregister {
                    c.rejects += 1;
                }
                c.registers_unanswered = 0;
            }
        }
        EventKind::RegisterChallenge { cm, .. } => {
            // A refresh answered by a challenge: the one with credentials follows.
            if let Some(s) = boot.steady.as_deref_mut() {
                s.refresh_due = None;
            }
            boot.challenge_pending = true;
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.registers_unanswered = 0;
            }
        }
        EventKind::Keepalive { proto, cm } => {
            let lost = boot.steady.as_deref().is_some_and(|s| s.lost.is_some());
            if boot.steady.is_none() || lost {
                registration_kept(boot, *cm, ev.ts_ns, false);
            }
            if lost {
                boot.registered_cm = Some(*cm);
            }
            boot.unregistered = None;
            if !boot.registered {
                boot.registered = true;
                boot.registered_before = boot.count(EventType::Register) == 0;
                boot.registered_cm = Some(*cm);
                boot.protocol.get_or_insert(*proto);
            }
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.registers_unanswered = 0;
            }
        }
        EventKind::KeepaliveAck { cm } => {
            if boot.steady.is_none() {
                registration_kept(boot, *cm, ev.ts_ns, true);
            }
            if let Some(s) = boot.steady.as_deref_mut().filter(|s| s.cm == *cm) {
                s.answers_seen = true;
                s.pending = None;
                s.misses = 0;
            }
            boot.unregistered = None;
            if !boot.registered {
                boot.registered = true;
                boot.registered_before = boot.count(EventType::Register) == 0;
                boot.registered_cm = Some(*cm);
                boot.protocol.get_or_insert(Signalling::Sccp);
            }
        }
        EventKind::Unregistered { proto, cm } => {
            boot.protocol = Some(*proto);
            boot.registered = false;
            boot.registered_before = false;
            boot.unregistered = Some(*cm);
            if let Some(c) = boot.cm_mut(*cm, ev.frame) {
                c.registers_unanswered = 0;
            }
        }
        // Only a registered phone is in calls: registered before, when its
        // registration is not in the capture.
        EventKind::SipCall { cm, .. } => {
            if boot.steady.is_none() {
                registration_kept(boot, *cm, ev.ts_ns, false);
            }
            boot.unregistered = None;
            if !boot.registered {
                boot.registered = true;
                boot.registered_before = boot.count(EventType::Register) == 0;
                boot.registered_cm = Some(*cm);
                boot.protocol.get_or_insert(Signalling::Sip);
            }
        }
        EventKind::Alarm { text } => {
            boot.alarm = Some(text.clone());
            // Once registered, an alarm is the phone's account of losing it (it sends one
            // as it registers again).
            if let Some(s) = boot.steady.as_deref_mut().filter(|_| boot.registered) {
                s.phone_says = Some(last_failure(text).into());
            }
        }
        EventKind::KeepaliveMissed { misses, .. } => {
            if let Some(s) = boot.steady.as_deref_mut() {
                s.misses = *misses;
                s.misses_total = s.misses_total.saturating_add(1);
                s.pending = None;
            }
        }
        EventKind::RegistrationLost { cm, cause, .. } => {
            if let Some(s) = boot.steady.as_deref_mut() {
                // A refresh unanswered is found at the phone's next REGISTER; it was lost
                // when Timer F ran out.
                let since = match cause {
                    LossCause::RefreshUnanswered => s.refresh_due.unwrap_or(ev.ts_ns),
                    _ => ev.ts_ns,
                };
                s.lost = Some((since.min(ev.ts_ns), *cause, *cm));
                s.last_cause = Some((*cause, *cm));
                s.losses = s.losses.saturating_add(1);
                s.pending = None;
                s.refresh_due = None;
            }
        }
        EventKind::Malformed { .. } => {}
        EventKind::Cut { .. } => boot.cut_since_progress += 1,
        // An encrypted session up both ways is a registration the capture cannot
        // read: registered, as by keepalives.
        EventKind::TlsSessionUp { cm, port } => {
            boot.unregistered = None;
            if !boot.registered {
                boot.registered = true;
                boot.registered_before = false;
                boot.registered_cm = Some(*cm);
                boot.protocol
                    .get_or_insert(if *port == crate::dispatch::SIP_TLS {
                        Signalling::Sip
                    } else {
                        Signalling::Sccp
                    });
            }
        }
        EventKind::TlsHandshakeFailed { cm, port, failure } => {
            boot.tls_failure = Some((*cm, *port, *failure));
        }
        // The secure port says which signalling the phone speaks.
        EventKind::TlsClientHello { port, .. } => match *port {
            crate::dispatch::SCCP_TLS | crate::dispatch::SCCP => {
                boot.protocol.get_or_insert(Signalling::Sccp);
            }
            crate::dispatch::SIP_TLS | crate::dispatch::SIP => {
                boot.protocol.get_or_insert(Signalling::Sip);
            }
            _ => {}
        },
        EventKind::TlsServerHello { .. }
        | EventKind::TlsAlert { .. }
        | EventKind::TlsHandshakeDone { .. } => {}
    }
}

/// A registration accepted with `cm` at `ts_ns` (`answered`: the call manager's side is
/// in the capture), or seen kept alive: the state that follows it is made, or, after a
/// loss, the outage ends. A frozen boot makes none.
fn registration_kept(boot: &mut super::device::Boot, cm: IpAddr, ts_ns: i64, answered: bool) {
    use super::device::Steady;
    if boot.steady.is_none() && !boot.frozen {
        boot.steady = Some(Box::new(Steady::new(cm, 0)));
    }
    let Some(s) = boot.steady.as_deref_mut() else {
        return;
    };
    if let Some((since, _, _)) = s.lost.take() {
        s.back_now = true;
        let outage = ts_ns.saturating_sub(since).max(0);
        s.outage_total_ns = s.outage_total_ns.saturating_add(outage);
        s.outage_longest_ns = s.outage_longest_ns.max(outage);
    }
    s.cm = cm;
    // The connection holding it is told by its first keepalive or its RegisterAck.
    s.port = 0;
    s.pending = None;
    s.misses = 0;
    s.refresh_due = None;
    s.reset_asked = false;
    s.answers_seen |= answered;
}

/// The phone's own word for its last failure in an alarm text: its `Last=` value
/// (`Name=SEP… Load=… Last=KeepaliveTO`, a SIP `Reason`'s `…Last=cm-closed-tcp"`: the last
/// field, `Last=Load Rejected HC` whole), else the whole text.
fn last_failure(text: &str) -> &str {
    match text.find("Last=") {
        Some(at) => {
            let rest = text.get(at..).unwrap_or(text);
            let end = rest.find(['"', ';', '\\']).unwrap_or(rest.len());
            rest.get(..end).unwrap_or(rest).trim_end()
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::engine::device::DeviceKey;
    use crate::engine::shared::harness::{rules, PHONE, TEST_PHONE};
    use crate::timeline::{FileTransport, TftpOffer};

    fn ev(ms: i64, kind: EventKind) -> Event {
        Event {
            ts_ns: ms * 1_000_000,
            frame: u64::try_from(ms).unwrap(),
            kind,
        }
    }

    fn step_id(kind: &EventKind) -> Option<String> {
        let seq = &rules().sequence;
        Steps::resolve(rules())
            .of(kind)
            .map(|s| seq.step(s).id.clone())
    }

    #[test]
    fn events_reach_the_steps_of_the_sequence() {
        let files = &rules().files;
        let file = |f: &str| EventKind::FileReceived {
            file: f.into(),
            class: files.classify(f),
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
        let announce = |ip| EventKind::PhoneAnnounce {
            proto: DiscoveryProto::Cdp,
            ip,
        };
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
    fn a_discover_after_an_offer_is_an_offer_refused_and_option_150_text_is_kept() {
        let seq = &rules().sequence;
        let steps = Steps::resolve(rules());
        let mut dev = Device::new(DeviceKey::Mac(PHONE), TEST_PHONE, 0, 1);
        let discover = || EventKind::DhcpDiscover { xid: 1, vlan: None };
        let offer = || EventKind::DhcpOffer {
            xid: 1,
            yiaddr: Ipv4Addr::new(10, 1, 1, 20),
            server: None,
            option150_ascii: Some("10.1.1.5".into()),
        };
        // DISCOVER, DISCOVER (no offer yet), OFFER, DISCOVER, OFFER, DISCOVER.
        for (ms, kind) in [
            (1, discover()),
            (2, discover()),
            (3, offer()),
            (4, discover()),
            (5, offer()),
            (6, discover()),
        ] {
            advance(&mut dev, seq, &steps, ev(ms, kind), true);
        }
        assert_eq!(dev.boot.offers_refused, 2);
        assert_eq!(dev.boot.option150_ascii.as_deref(), Some("10.1.1.5"));
        // A REQUEST takes the offer: no refusal.
        advance(&mut dev, seq, &steps, ev(7, offer()), false);
        let request = EventKind::DhcpRequest {
            xid: 1,
            requested: None,
        };
        advance(&mut dev, seq, &steps, ev(8, request), false);
        advance(&mut dev, seq, &steps, ev(9, discover()), true);
        assert_eq!(dev.boot.offers_refused, 2);
    }

    #[test]
    fn the_ports_exchange_after_a_boots_progress_is_the_next_boots() {
        let seq = &rules().sequence;
        let steps = Steps::resolve(rules());
        let mut dev = Device::new(DeviceKey::Mac(PHONE), TEST_PHONE, 0, 1);
        let discover = || EventKind::DhcpDiscover { xid: 1, vlan: None };
        let ack = || EventKind::DhcpAck {
            xid: 1,
            yiaddr: Ipv4Addr::new(10, 1, 1, 20),
            server: None,
            tftp: Box::new(TftpOffer::default()),
        };
        // A first boot through 802.1X to its lease.
        for (ms, kind) in [
            (1, EventKind::EapolStart),
            (2, EventKind::EapSuccess),
            (3, discover()),
            (4, ack()),
        ] {
            advance(&mut dev, seq, &steps, ev(ms, kind), true);
        }
        assert!(dev.boot.port.auth.as_ref().unwrap().outcome.unwrap().0);
        // It restarts: its port refuses it now, then its DISCOVER opens the new boot.
        for (ms, kind) in [
            (100, EventKind::EapolStart),
            (101, EventKind::EapIdentityRequest),
            (
                102,
                EventKind::EapIdentity {
                    identity: "CP-8851-SEP001B54AA0001".into(),
                },
            ),
            (103, EventKind::EapFailure),
            (
                104,
                EventKind::PoeGrant {
                    proto: DiscoveryProto::Cdp,
                    mw: 7000,
                },
            ),
            (105, discover()),
        ] {
            advance(&mut dev, seq, &steps, ev(ms, kind), true);
        }
        assert_eq!(dev.boots, 2);
        let auth = dev.boot.port.auth.as_deref().unwrap();
        assert_eq!(auth.outcome, Some((false, 103_000_000)));
        assert_eq!(auth.identity.as_deref(), Some("CP-8851-SEP001B54AA0001"));
        assert!(auth.unauthorised());
        assert_eq!(dev.boot.count(EventType::EapFailure), 1);
        assert_eq!(dev.boot.count(EventType::EapolStart), 1);
        assert_eq!(dev.boot.port.granted(DiscoveryProto::Cdp), Some(7000));
        // The first boot keeps its own success.
        let first = dev.earlier.last().unwrap();
        assert_eq!(first.count(EventType::EapSuccess), 1);
    }

    #[test]
    fn a_discover_after_the_lease_starts_a_new_boot_and_before_it_does_not() {
        let seq = &rules().sequence;
        let steps = Steps::resolve(rules());
        let mut dev = Device::new(DeviceKey::Mac(PHONE), TEST_PHONE, 0, 1);
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

    #[test]
    fn the_phone_s_last_failure_is_read_from_its_alarm_whole() {
        assert_eq!(
            last_failure("Name=SEP001B54AA0001 Load=SCCP70.9-4-2SR3-1S Last=KeepaliveTO"),
            "Last=KeepaliveTO"
        );
        assert_eq!(
            last_failure("Name=SEP001B54AA0001 Load=x Last=Load Rejected HC"),
            "Last=Load Rejected HC"
        );
        // A SIP Reason, escaped as the engine keeps it.
        assert_eq!(
            last_failure(r#"SIP;cause=200;text=\"cisco-alarm:14 Name=SEP1 Last=cm-closed-tcp\""#),
            "Last=cm-closed-tcp"
        );
        assert_eq!(last_failure("no reason given"), "no reason given");
    }
}
