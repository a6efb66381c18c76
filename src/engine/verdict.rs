//! Verdicts: the rules run over each boot's facts; the findings, the sequence's
//! frontier and the timeouts give the status and the stalled stage; the reference
//! model says what should have come next. Pure: same devices, same report.
//!
//! - status: `registered` when the last boot registered (or is a running phone's:
//!   its announcement carries its address, nothing of a boot is around it); `stalled`
//!   when a stalling error fired or the boot made no progress for longer than its
//!   step's timeout while the capture could show it; otherwise `in_progress` — unless
//!   the boot before it ended stalled (a phone that restarts after each failure), whose
//!   verdict then stands. A device that is no
//!   phone (a router, a gateway, a media resource, a PC) is never judged: `registered`
//!   when it registered, else `seen`, and no finding.
//! - stalled stage: the first stage not completed. It is never before the frontier
//!   (the stages of the steps expected next); a stalling finding of a later stage
//!   (firmware not found, call manager unreachable) names it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rules::{RuleSet, Severity, Stage, StepId};

use super::device::{Boot, Device, DeviceKey, DeviceKind};
use super::facts::{self, BootFacts, FactContext};
use super::flood;
use super::visibility::Visibility;
use crate::model::predict::{self, Seen};
use crate::model::timing::Timing;
use crate::report::{
    CaptureInfo, Diagnosis, Expectation, Finding, ModelPrediction, PhoneReport, Report, Seconds,
    Status, Summary, TimelineEntry,
};
use crate::timeline::{
    ip_string, push_ip, Direction, Event, EventKind, Exchange, FileClass, PeerRole,
};

/// A finding before its `any` stage is resolved.
struct Raw {
    finding: Finding,
    any_stage: bool,
    stalls: bool,
    /// The rule's [`rules::Rule::holds_stage`].
    holds_stage: bool,
}

/// The findings of one boot, and its facts.
fn evaluate<'a>(
    rules: &RuleSet,
    dev: &'a Device,
    boot: &'a Boot,
    cx: &FactContext<'a>,
) -> (Vec<Raw>, BootFacts<'a>) {
    let mut facts = facts::compute(dev, boot, cx);
    let mut out: Vec<Raw> = Vec::new();
    let mut errors = 0i64;
    for rule in &rules.rules {
        facts.set_errors_so_far(errors);
        if out.iter().any(|r| r.finding.code == rule.code) || !rule.when.eval(&facts) {
            continue;
        }
        if rule.severity == Severity::Error {
            errors += 1;
        }
        let mut evidence: Vec<u64> = rule
            .evidence
            .iter()
            .filter_map(|name| {
                crate::timeline::EventType::ALL
                    .iter()
                    .find(|t| t.name() == name)
            })
            .flat_map(|t| boot.evidence_of(*t))
            .collect();
        evidence.sort_unstable();
        evidence.dedup();
        out.push(Raw {
            finding: Finding {
                code: rule.code.clone(),
                severity: rule.severity,
                stage: rule.stage.unwrap_or(Stage::Discovery),
                message: rule.message.render(&facts),
                evidence,
                checks: rule.checks.iter().map(|c| c.render(&facts)).collect(),
            },
            any_stage: rule.stage.is_none(),
            stalls: rule.stalls && rule.severity == Severity::Error,
            holds_stage: rule.holds_stage,
        });
    }
    (out, facts)
}

/// The stage the boot stands at after its furthest step: the earliest stage of the
/// steps expected next that it cannot skip (of all of them when every one may be
/// skipped). After a configuration without a new load that is registration, not the
/// firmware a phone may fetch.
fn next_stage(seq: &rules::Sequence, step: StepId) -> Stage {
    let next = seq.expected_after(step);
    let stage_of =
        |steps: &mut dyn Iterator<Item = &StepId>| steps.map(|&n| seq.step(n).stage).min();
    stage_of(&mut next.iter().filter(|&&n| !seq.step(n).optional))
        .or_else(|| stage_of(&mut next.iter()))
        .unwrap_or(seq.step(step).stage)
}

/// The earliest stage of any step expected after the boot's furthest one, optional
/// ones included (the firmware a phone may fetch after its configuration).
fn earliest_next_stage(rules: &RuleSet, boot: &Boot) -> Stage {
    let seq = &rules.sequence;
    match boot.furthest {
        None => Stage::Discovery,
        Some((s, _, _)) => {
            let step = seq.step(s);
            let next = seq
                .expected_after(s)
                .iter()
                .map(|&n| seq.step(n).stage)
                .min()
                .unwrap_or(step.stage);
            // An optional step reached by one of several messages (a load's files, the
            // .loads before its images) may still fail within its own stage.
            if step.optional {
                next.min(step.stage)
            } else {
                next
            }
        }
    }
}

/// The stage of the boot's frontier ([`next_stage`] of its furthest step).
fn frontier_stage(rules: &RuleSet, boot: &Boot) -> Stage {
    match boot.furthest {
        None => Stage::Discovery,
        Some((s, _, _)) => next_stage(&rules.sequence, s),
    }
}

/// What the site as a whole tells about one device's boot.
pub struct Site<'a> {
    /// The capture keeps the phones' VLAN tags (see [`tags_kept`]).
    pub tags_kept: bool,
    /// The DHCP starvation floods seen.
    pub floods: &'a flood::Detector,
    /// What the capture shows of the phones' exchanges.
    pub visibility: &'a Visibility,
}

/// One device's verdict, judged at `end_ns`.
pub fn verdict(
    rules: &RuleSet,
    dev: &Device,
    start_ns: i64,
    end_ns: i64,
    site: &Site<'_>,
) -> PhoneReport {
    let seq = &rules.sequence;
    let judged = dev.kind.is_judged();
    let tags_kept = site.tags_kept;
    let cx = FactContext {
        sequence: seq,
        end_ns,
        last: true,
        tags_kept,
        floods: site.floods,
        visibility: site.visibility,
    };
    let (mut raw, facts) = if judged {
        evaluate(rules, dev, &dev.boot, &cx)
    } else {
        (Vec::new(), facts::compute(dev, &dev.boot, &cx))
    };
    let timed_out = facts.timed_out();
    let mut boot = &dev.boot;
    let stalls = |raw: &[Raw]| raw.iter().any(|r| r.stalls);
    // A finding of no stage of its own (a boot loop) is about the device, not what
    // stopped this boot.
    let stalls_here = |raw: &[Raw]| raw.iter().any(|r| r.stalls && !r.any_stage);
    if judged && !dev.boot.registered && !stalls_here(&raw) && !timed_out {
        // A boot cut short by a restart: the previous boot's verdict stands.
        if let Some(prev) = dev.earlier.last() {
            let pcx = FactContext {
                sequence: seq,
                end_ns: dev.boot.start_ns,
                last: false,
                tags_kept,
                floods: site.floods,
                visibility: site.visibility,
            };
            let (prev_raw, _) = evaluate(rules, dev, prev, &pcx);
            if stalls(&prev_raw) {
                for r in prev_raw {
                    if !raw.iter().any(|x| x.finding.code == r.finding.code) {
                        raw.push(r);
                    }
                }
                boot = prev;
            }
        }
    }
    // A device that is no phone is never judged: registered if it is, else seen. A
    // running phone (its announcement carries its address, no boot around it) is
    // registered as one seen only by its keepalives is.
    let status = if !judged {
        if dev.boot.registered {
            Status::Registered
        } else {
            Status::Seen
        }
    } else if boot.holds_registration(end_ns) || boot.is_running() {
        Status::Registered
    } else if stalls(&raw) || (timed_out && std::ptr::eq(boot, &dev.boot)) {
        Status::Stalled
    } else {
        Status::InProgress
    };
    let frontier = frontier_stage(rules, boot);
    // A finding may name a stage the boot had entered without reaching a step of it (a
    // load not found): never one before the earliest stage it could be in.
    // A phone that gave its lease back (DECLINE) stands before the lease again.
    let earliest = if boot.decline_pending {
        Stage::Discovery
    } else {
        earliest_next_stage(rules, boot)
    };
    let stalled_stage = (status == Status::Stalled).then(|| {
        raw.iter()
            .filter(|r| r.stalls && !r.any_stage)
            .map(|r| match r.holds_stage {
                true => r.finding.stage,
                false => r.finding.stage.max(earliest),
            })
            .min()
            .unwrap_or(frontier)
    });
    for r in &mut raw {
        if r.any_stage {
            r.finding.stage = stalled_stage.unwrap_or(frontier);
        }
    }
    let mut findings: Vec<Finding> = raw.into_iter().map(|r| r.finding).collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.stage.cmp(&b.stage)));

    let passed_unseen = site.visibility.passed_unseen(seq, &dev.boot);
    let rel = |ts: i64| Seconds::of_ns(ts - start_ns);
    let timeline = timeline_entries(&dev.timeline.events, rel);
    let (device_name, name_source) = dev.report_name();
    let last = &dev.boot;
    let boot_duration = last
        .furthest
        // A capture whose clock runs backwards can put the registration before the
        // boot's start: no duration then, rather than a negative one.
        // A registration inferred from a keepalive came some time before it.
        .filter(|(s, t, _)| {
            seq.step(*s).terminal
                && !last.registered_before
                && *t >= last.start_ns
                && !last.inferred_at(seq, *s)
        })
        .map(|(_, t, _)| Seconds::of_ns(t - last.start_ns));
    let expected_next = (judged && status != Status::Registered)
        .then(|| expectation(rules, dev, boot, end_ns))
        .flatten();
    PhoneReport {
        mac: dev.mac().map(|m| m.to_string()),
        device_name: device_name.map(Into::into),
        name_source,
        status,
        stalled_stage,
        findings,
        timeline,
        kind: dev.kind.as_str(),
        identified_by: dev.evidence_of_kind,
        model: dev.model.as_deref().map(Into::into),
        vlan: dev.vlan,
        ip: dev.ip.map(ip_string),
        protocol: last.protocol.map(|p| p.as_str()),
        callmanager: last
            .registered_cm
            .or(last.cms.first().map(|c| c.ip))
            .map(ip_string),
        boots: dev.boots,
        boot_started: rel(last.start_ns),
        boot_duration,
        expected_next,
        directions: super::visibility::phone_directions(dev),
        inferred_steps: seq
            .steps()
            .filter(|&s| seq.rank(s) < 128 && passed_unseen >> seq.rank(s) & 1 == 1)
            .map(|s| seq.step(s).id.clone())
            .collect(),
        timeline_dropped: dev.timeline.dropped,
        config: std::iter::once(&dev.boot)
            .chain(dev.earlier.iter().rev())
            .find_map(|b| b.config.as_deref())
            .map(crate::report::ConfigView::of),
        inventory: super::inventory::Facts::of(dev),
    }
}

/// The report's timeline: each event with its stage, its text, and who it was
/// exchanged with. A file answer names no server and an alarm no call manager, so
/// they take the server of the request for that file and the call manager of the
/// connection around them.
fn timeline_entries(events: &[Event], rel: impl Fn(i64) -> Seconds) -> Vec<TimelineEntry> {
    // Bounded by the timeline (MAX_TIMELINE events).
    // Each file requested: its server.
    let mut requested: BTreeMap<&str, IpAddr> = BTreeMap::new();
    let mut last_cm: Option<IpAddr> = None;
    let next_cm = |from: usize| {
        events
            .iter()
            .skip(from)
            .find_map(|e| match e.kind.exchange() {
                Some(x) if x.role == PeerRole::CallManager => x.addr,
                _ => None,
            })
    };
    // Every text of the timeline (each event's words, and its peer's address) is
    // written into one buffer, checked as UTF-8 once, then copied out of it at its
    // exact size: one allocation a string, none for growth, and no check of each
    // short piece.
    let mut bytes = Vec::with_capacity(events.len() * 64);
    // Each event's exchange, stage, and where its words and then its peer's
    // address end in `bytes`.
    let mut pieces: Vec<(Option<Exchange>, Stage, usize, usize)> = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let exchange = e.kind.exchange().map(|mut x| {
            match &e.kind {
                EventKind::FileRequest { file, server, .. } => {
                    requested.insert(file, *server);
                }
                EventKind::FileReceived { file, .. }
                | EventKind::FileNotFound { file, .. }
                | EventKind::FileError { file, .. } => {
                    x.addr = requested.get(&**file).copied();
                }
                EventKind::Alarm { .. } => x.addr = last_cm.or_else(|| next_cm(i)),
                _ => {}
            }
            if x.role == PeerRole::CallManager && x.addr.is_some() {
                last_cm = x.addr;
            }
            x
        });
        let stage = e.kind.stage();
        e.kind.push_text_bytes(&mut bytes);
        let text_end = bytes.len();
        if let Some(ip) = exchange.and_then(|x| x.addr) {
            push_ip(&mut bytes, ip);
        }
        pieces.push((exchange, stage, text_end, bytes.len()));
    }
    // Every piece is a `&str` or ASCII: always valid, so borrowed as it is.
    let texts = match std::str::from_utf8(&bytes) {
        Ok(texts) => Cow::Borrowed(texts),
        Err(_) => String::from_utf8_lossy(&bytes),
    };
    let piece = |from: usize, to: usize| texts.get(from..to).unwrap_or_default().to_owned();
    let mut entries = Vec::with_capacity(events.len());
    let mut start = 0;
    for (e, &(exchange, stage, text_end, peer_end)) in events.iter().zip(&pieces) {
        let event = piece(start, text_end);
        // The address's text is the piece written after the event's.
        let (peer_role, peer, dir) = peer_fields(exchange, |_| piece(text_end, peer_end));
        start = peer_end;
        entries.push(TimelineEntry {
            time: rel(e.ts_ns),
            frame: e.frame,
            stage,
            event,
            kind: e.kind.event_type().name(),
            peer_role,
            peer,
            dir,
        });
    }
    entries
}

/// An exchange as the report's `peer_role`, `peer` and `dir` fields, the address
/// written by `text`.
fn peer_fields(
    x: Option<Exchange>,
    text: impl FnOnce(IpAddr) -> String,
) -> (Option<&'static str>, Option<String>, Option<&'static str>) {
    (
        x.map(|x| x.role.as_str()),
        x.and_then(|x| x.addr).map(text),
        x.and_then(|x| x.dir).map(Direction::as_str),
    )
}

/// What the sequence expects after the boot's furthest step, and the model's word: its
/// prediction from the boot's last event that tells where the boot stands (the event that
/// reached the furthest step, or a later one of its stage or a later stage), timed by the
/// ranges of the sequence the analysis runs with.
fn expectation(rules: &RuleSet, dev: &Device, boot: &Boot, end_ns: i64) -> Option<Expectation> {
    let seq = &rules.sequence;
    let (step, _, frame) = boot.furthest?;
    let next = seq.expected_after(step);
    let stage = next_stage(seq, step);
    let model = dev.mac().and_then(|mac| {
        let last = boot.last_event.as_ref()?;
        let seen = seen_of(&last.kind, boot)?;
        let p = predict::next(mac, &seen, &Timing::new(seq))?;
        let x = predicted_exchange(&seen, &p, &dev.timeline.events, last.frame, boot);
        let (peer_role, peer, dir) = peer_fields(x, ip_string);
        Some(ModelPrediction {
            stage: p.stage,
            within: Seconds::from_secs(p.within_ms as f64 / 1000.0),
            after_frame: last.frame,
            peer_role,
            peer,
            dir,
            expect: p.expect,
        })
    });
    Some(Expectation {
        stage,
        expected: next.iter().map(|&n| seq.step(n).what.clone()).collect(),
        after_frame: frame,
        after: seq.step(step).what.clone(),
        waited: Seconds::of_ns((end_ns - boot.last_progress_ns).max(0)),
        timeout: Seconds::from_secs(seq.step(step).timeout_ms as f64 / 1000.0),
        model,
    })
}

/// Who the message the model predicts is exchanged with, and which way: what a
/// ladder diagram draws, dashed, where the stall is. `None` when the model expects
/// nothing more ([`predict::Prediction::dead_end`]).
fn predicted_exchange(
    seen: &Seen,
    p: &predict::Prediction,
    events: &[Event],
    after_frame: u64,
    boot: &Boot,
) -> Option<Exchange> {
    use Direction::{FromPhone, ToPhone};
    if p.dead_end {
        return None;
    }
    let x = |role, dir, addr: Option<IpAddr>| {
        Some(Exchange {
            role,
            dir: Some(dir),
            addr,
        })
    };
    // The peer of that role the phone last talked to, up to the prediction's event.
    let last_peer = |role| {
        events
            .iter()
            .filter(|e| e.frame <= after_frame)
            .rev()
            .filter_map(|e| e.kind.exchange())
            .find(|x| x.role == role && x.addr.is_some())
            .and_then(|x| x.addr)
    };
    let first_cm = || boot.cms.first().map(|c| c.ip);
    match seen {
        Seen::PhoneDiscovery => x(PeerRole::Switch, ToPhone, None),
        Seen::PortAuthenticating | Seen::PortRefused => x(PeerRole::Authenticator, ToPhone, None),
        Seen::PortAuthorised => x(PeerRole::DhcpServer, FromPhone, None),
        Seen::SwitchAnswer { .. } | Seen::DhcpOffer | Seen::DhcpNak | Seen::DhcpDecline => x(
            PeerRole::DhcpServer,
            FromPhone,
            last_peer(PeerRole::DhcpServer),
        ),
        Seen::DhcpDiscover | Seen::DhcpRequest => x(
            PeerRole::DhcpServer,
            ToPhone,
            last_peer(PeerRole::DhcpServer),
        ),
        Seen::DhcpAck { tftp } => x(
            PeerRole::FileServer,
            FromPhone,
            tftp.first().copied().map(IpAddr::V4),
        ),
        Seen::FileRequest { server, .. } => {
            x(PeerRole::FileServer, ToPhone, Some(IpAddr::V4(*server)))
        }
        Seen::FileNotFound { .. } | Seen::FileReceived { .. } => match p.stage {
            // After a firmware image the phone reboots: its CDP comes first.
            Stage::Firmware
                if matches!(
                    seen,
                    Seen::FileReceived {
                        class: FileClass::Firmware,
                        ..
                    }
                ) =>
            {
                x(PeerRole::Switch, FromPhone, None)
            }
            Stage::Registration => x(PeerRole::CallManager, FromPhone, first_cm()),
            _ => x(
                PeerRole::FileServer,
                FromPhone,
                last_peer(PeerRole::FileServer),
            ),
        },
        Seen::ConfigDone {
            new_load: Some(_), ..
        } => x(
            PeerRole::FileServer,
            FromPhone,
            last_peer(PeerRole::FileServer),
        ),
        Seen::ConfigDone {
            new_load: None,
            callmanager,
        } => x(
            PeerRole::CallManager,
            FromPhone,
            callmanager.map(IpAddr::V4).or_else(first_cm),
        ),
        Seen::Syn { callmanager } => x(
            PeerRole::CallManager,
            ToPhone,
            Some(IpAddr::V4(*callmanager)),
        ),
        Seen::Connected | Seen::Registered => x(
            PeerRole::CallManager,
            FromPhone,
            last_peer(PeerRole::CallManager),
        ),
        Seen::Register => x(
            PeerRole::CallManager,
            ToPhone,
            last_peer(PeerRole::CallManager),
        ),
    }
}

/// The model's view of the last event.
fn seen_of(kind: &EventKind, boot: &Boot) -> Option<Seen> {
    let v4 = |ip: &IpAddr| match ip {
        IpAddr::V4(v) => Some(*v),
        IpAddr::V6(_) => None,
    };
    Some(match kind {
        EventKind::PhoneAnnounce { .. } => Seen::PhoneDiscovery,
        EventKind::SwitchVoiceVlan { vlan, .. } => Seen::SwitchAnswer {
            voice_vlan: Some(*vlan),
        },
        EventKind::SwitchNoVoiceVlan { .. } => Seen::SwitchAnswer { voice_vlan: None },
        EventKind::EapolStart
        | EventKind::EapIdentityRequest
        | EventKind::EapIdentity { .. }
        | EventKind::EapMethod { .. } => Seen::PortAuthenticating,
        EventKind::EapSuccess => Seen::PortAuthorised,
        EventKind::EapFailure => Seen::PortRefused,
        EventKind::DhcpDiscover { .. } => Seen::DhcpDiscover,
        EventKind::DhcpOffer { .. } => Seen::DhcpOffer,
        EventKind::DhcpRequest { .. } => Seen::DhcpRequest,
        EventKind::DhcpAck { tftp, .. } => Seen::DhcpAck {
            tftp: tftp.servers.clone(),
        },
        EventKind::DhcpNak { .. } => Seen::DhcpNak,
        EventKind::DhcpDecline { .. } => Seen::DhcpDecline,
        EventKind::FileRequest {
            file,
            class,
            server,
            via,
        } => Seen::FileRequest {
            file: file.to_string(),
            class: *class,
            server: v4(server)?,
            via: *via,
        },
        EventKind::FileNotFound { file, class, .. } | EventKind::FileError { file, class, .. } => {
            Seen::FileNotFound {
                file: file.to_string(),
                class: *class,
            }
        }
        EventKind::FileReceived { file, class, .. } => match class {
            FileClass::DeviceConfig | FileClass::DefaultConfig => Seen::ConfigDone {
                new_load: None,
                callmanager: boot.cms.first().and_then(|c| v4(&c.ip)),
            },
            _ => Seen::FileReceived {
                file: file.to_string(),
                class: *class,
            },
        },
        EventKind::CmSyn { cm, .. } => Seen::Syn {
            callmanager: v4(cm)?,
        },
        EventKind::CmSynAck { .. } => Seen::Connected,
        EventKind::Register { .. } | EventKind::RegisterChallenge { .. } => Seen::Register,
        EventKind::RegisterAck { .. } | EventKind::KeepaliveAck { .. } => Seen::Registered,
        _ => return None,
    })
}

/// The server a finding points at, from the facts of its stage.
fn server_of(stage: Stage, p: &PhoneReport) -> Option<String> {
    let ip = p.ip.clone();
    match stage {
        Stage::Discovery => None,
        Stage::Dhcp => p.vlan.map(|v| format!("VLAN {v}")),
        Stage::Config | Stage::Firmware => p
            .timeline
            .iter()
            .rev()
            .find(|e| e.kind == "file_request")
            .and_then(|e| e.event.rsplit(" from ").next().map(str::to_owned)),
        Stage::Registration => p.callmanager.clone().or(ip),
    }
}

/// The fleet summary and its systemic / local reading.
fn summarise(phones: &[PhoneReport], others: &[PhoneReport]) -> Summary {
    let mut s = Summary {
        phones: phones.len(),
        ..Summary::default()
    };
    for p in phones {
        *s.status.entry(p.status.as_str()).or_default() += 1;
        if let Some(st) = p.stalled_stage {
            *s.stalled_stage.entry(st.as_str()).or_default() += 1;
        }
        let codes: BTreeSet<&str> = p.findings.iter().map(|f| f.code.as_str()).collect();
        for c in codes {
            *s.findings.entry(c.to_owned()).or_default() += 1;
        }
    }
    for o in others {
        *s.other_devices.entry(o.kind).or_default() += 1;
    }
    // Group stalled phones by (main finding, stage, server).
    let mut groups: BTreeMap<(String, Stage, Option<String>), Vec<&PhoneReport>> = BTreeMap::new();
    for p in phones.iter().filter(|p| p.status == Status::Stalled) {
        let stage = p.stalled_stage.unwrap_or(Stage::Discovery);
        let code = p
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error && f.stage == stage)
            .or(p.findings.first())
            .map_or_else(|| "no-progress".to_owned(), |f| f.code.clone());
        groups
            .entry((code, stage, server_of(stage, p)))
            .or_default()
            .push(p);
    }
    for ((code, stage, server), members) in groups {
        let n = members.len();
        let systemic = n >= 3 || (n >= 2 && 2 * n >= phones.len());
        let examples: Vec<String> = members
            .iter()
            .take(5)
            .map(|p| p.device_name.clone().or(p.mac.clone()).unwrap_or_default())
            .collect();
        let at = server
            .clone()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let advice = if code == flood::CODE {
            format!(
                "a DHCP starvation flood emptied the DHCP scope{at}: shut the flooding port (see \
                 the site finding), turn on DHCP snooping with a rate limit, then free the addresses \
                 it took"
            )
        } else if systemic {
            match stage {
                Stage::Discovery => "look at the access switches: voice VLAN and CDP/LLDP-MED on the phone ports".to_owned(),
                Stage::Dhcp => format!("look at the network and the DHCP service{at}: the relay (`ip helper-address`) on the voice VLAN, the server and its scope"),
                Stage::Config => format!("look at the TFTP / configuration server{at}: service up, reachable from the voice VLAN, files present"),
                Stage::Firmware => format!("look at the TFTP server{at}: the load named in the configuration must be there"),
                Stage::Registration => format!("look at the call manager{at}: service up and reachable on the signalling port, devices provisioned"),
            }
        } else {
            format!(
                "look at that device: {} ({code} at {stage})",
                examples.first().cloned().unwrap_or_default()
            )
        };
        s.diagnoses.push(Diagnosis {
            scope: if systemic { "systemic" } else { "local" },
            code,
            stage,
            server,
            phones: n,
            examples,
            advice,
        });
    }
    s.diagnoses
        .sort_by(|a, b| b.phones.cmp(&a.phones).then(a.stage.cmp(&b.stage)));
    s
}

/// Whether the capture keeps the phones' VLAN tags (some DHCP of some phone came
/// tagged): then a phone's own tag outweighs the switch answers paired by time.
pub fn tags_kept<'d>(mut devices: impl Iterator<Item = &'d Device>) -> bool {
    devices.any(|d| {
        d.boot.dhcp_vlan.flatten().is_some()
            || d.earlier.iter().any(|b| b.dhcp_vlan.flatten().is_some())
    })
}

/// Build the report of all devices and of the site. The devices may come in any
/// order: the report lists them by key. Each device is dropped as soon as its entry
/// is made. The engine fills in its counters.
pub fn report(
    rules: &RuleSet,
    devices: Vec<Box<Device>>,
    start_ns: i64,
    end_ns: i64,
    floods: &flood::Detector,
    missed: u64,
) -> Report {
    use rayon::prelude::*;
    let mut visibility = Visibility::new(&rules.sequence, devices.iter().map(|d| &**d));
    visibility.missed = missed;
    let site = Site {
        tags_kept: tags_kept(devices.iter().map(|d| &**d)),
        floods,
        visibility: &visibility,
    };
    // The boxes (a word each) are put in the report's order, phones first: the
    // verdicts are then collected straight into their places, and the other devices
    // split off the end, rather than every entry (hundreds of bytes) moved again.
    let order = key_order(devices.iter().map(|d| &**d));
    let mut slots: Vec<Option<Box<Device>>> = devices.into_iter().map(Some).collect();
    let (mut phones_first, mut others_after) = (Vec::with_capacity(slots.len()), Vec::new());
    for i in order {
        if let Some(dev) = slots.get_mut(i).and_then(Option::take) {
            if dev.kind == DeviceKind::Phone {
                phones_first.push(dev);
            } else {
                others_after.push(dev);
            }
        }
    }
    let n_phones = phones_first.len();
    phones_first.append(&mut others_after);
    // Each verdict reads one device only: judged on every core, and the device
    // (its timeline, its boots: about as much heap as the report itself) freed at
    // once rather than held until the last verdict is made.
    let mut phones: Vec<PhoneReport> = phones_first
        .into_par_iter()
        .map(|dev| verdict(rules, &dev, start_ns, end_ns, &site))
        .collect();
    let others = phones.split_off(n_phones.min(phones.len()));
    let summary = summarise(&phones, &others);
    let srst = crate::report::SrstView::of(&phones);
    Report {
        capture_findings: visibility.finding().into_iter().collect(),
        site_findings: floods.findings(start_ns),
        phones,
        other_devices: others,
        summary,
        capture: CaptureInfo {
            start: Seconds::from_secs(start_ns as f64 / 1e9),
            duration: Seconds::of_ns(end_ns - start_ns),
            rules: rules.sources.clone(),
            directions: visibility.directions.as_str(),
            ..CaptureInfo::default()
        },
        srst,
    }
}

/// The devices' indices in key order (the report's order). Keys are sorted, not the
/// devices, and devices already in order cost one pass. `DeviceKey`'s order puts MAC
/// keys (nearly all) first, as the bytes read; they are sorted as the 48-bit numbers
/// those bytes spell, then names as strings.
fn key_order<'d>(devices: impl ExactSizeIterator<Item = &'d Device>) -> Vec<usize> {
    let n = devices.len();
    let mut macs: Vec<(u64, usize)> = Vec::with_capacity(n);
    let mut names: Vec<(&str, usize)> = Vec::new();
    for (i, d) in devices.enumerate() {
        match &d.key {
            DeviceKey::Mac(mac) => {
                let mut number = [0u8; 8];
                number[2..].copy_from_slice(&mac.0);
                macs.push((u64::from_be_bytes(number), i));
            }
            DeviceKey::Name(name) => names.push((name, i)),
        }
    }
    macs.sort_unstable();
    names.sort_unstable();
    let mut order = Vec::with_capacity(n);
    order.extend(macs.iter().map(|m| m.1));
    order.extend(names.iter().map(|n| n.1));
    order
}

/// A phone's boot played as `events`, 100 ms apart from 1 s (a DISCOVER starts a
/// boot), judged at 60 s: for tests of what the rules say of a boot.
#[cfg(test)]
pub fn played(events: Vec<EventKind>) -> PhoneReport {
    use super::device::Clue;
    use super::progress::{advance, Steps};
    let rules = crate::analyze::load_rules(None).unwrap();
    let seq = &rules.sequence;
    let steps = Steps::resolve(&rules);
    let mac = crate::link::MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);
    let mut dev = Device::new(
        DeviceKey::Mac(mac),
        Clue::default(DeviceKind::Phone, "test"),
        0,
        1,
    );
    for (k, kind) in events.into_iter().enumerate() {
        let starts_boot = matches!(kind, EventKind::DhcpDiscover { .. });
        let ms = 1000 + 100 * i64::try_from(k).unwrap_or(0);
        let frame = u64::try_from(k).unwrap_or(0) + 1;
        advance(
            &mut dev,
            seq,
            &steps,
            Event {
                ts_ns: ms * 1_000_000,
                frame,
                kind,
            },
            starts_boot,
        );
    }
    let floods = flood::Detector::new(&rules.dhcp_starvation);
    let visibility = Visibility::new(seq, std::iter::once(&dev));
    let site = Site {
        tags_kept: true,
        floods: &floods,
        visibility: &visibility,
    };
    verdict(&rules, &dev, 0, 60_000_000_000, &site)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::engine::device::{Clue, NameSource};
    use crate::link::MacAddr;

    fn device(key: DeviceKey) -> Device {
        let kind = match key {
            DeviceKey::Mac(_) => DeviceKind::Phone,
            DeviceKey::Name(_) => DeviceKind::SipAgent,
        };
        let mut d = Device::new(key.clone(), Clue::default(kind, "test"), 0, 1);
        if let DeviceKey::Name(n) = key {
            d.set_name(n.into(), NameSource::AddressOfRecord);
        }
        d
    }

    /// Keys by MAC and by name, in a scrambled order (names sort after MACs).
    fn scrambled_keys() -> Vec<DeviceKey> {
        let mut keys: Vec<DeviceKey> = (0..40u8)
            .map(|i| {
                let b = i.wrapping_mul(97);
                DeviceKey::Mac(MacAddr([b % 3, 0x1b, b, 0xff - b, i % 5, b ^ 0x5a]))
            })
            .collect();
        for name in ["zed@pbx", "alice@pbx", "SEP-gw/1", "", "Alice@pbx"] {
            keys.insert(keys.len() / 2, DeviceKey::Name(name.into()));
        }
        keys.rotate_left(7);
        keys
    }

    #[test]
    fn devices_are_reported_in_key_order_whatever_order_they_come_in() {
        let rules = crate::analyze::load_rules(None).unwrap();
        let floods = flood::Detector::new(&rules.dhcp_starvation);
        let keys = scrambled_keys();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_ne!(keys, sorted, "the input is not in order already");
        // Every third MAC is a PC (a DHCP client): an other device, listed after the
        // phones, in key order too.
        let pc = |k: &DeviceKey| matches!(k, DeviceKey::Mac(m) if m.0[5] % 3 == 0);
        let named = |k: &DeviceKey| match k {
            DeviceKey::Mac(m) => m.to_string(),
            DeviceKey::Name(n) => n.to_string(),
        };
        let want_phones: Vec<String> = sorted
            .iter()
            .filter(|k| matches!(k, DeviceKey::Mac(_)) && !pc(k))
            .map(named)
            .collect();
        let want_others: Vec<String> = sorted
            .iter()
            .filter(|k| matches!(k, DeviceKey::Name(_)) || pc(k))
            .map(named)
            .collect();
        assert!(
            want_others.iter().any(|n| n.contains(':')),
            "no MAC among the others"
        );
        for devices in [keys.clone(), sorted.clone()] {
            let devices: Vec<Box<Device>> = devices
                .into_iter()
                .map(|k| {
                    let mut d = device(k);
                    if pc(&d.key) {
                        d.kind = DeviceKind::DhcpClient;
                    }
                    Box::new(d)
                })
                .collect();
            let report = report(&rules, devices, 0, 1_000_000_000, &floods, 0);
            let name =
                |p: &PhoneReport| p.mac.clone().or(p.device_name.clone()).unwrap_or_default();
            let phones: Vec<String> = report.phones.iter().map(name).collect();
            let others: Vec<String> = report.other_devices.iter().map(name).collect();
            assert_eq!(phones, want_phones);
            assert_eq!(others, want_others);
        }
    }

    #[test]
    fn a_running_phones_announcement_does_not_turn_the_prediction_back() {
        use std::net::Ipv4Addr;

        use super::super::progress::{advance, Steps};
        use crate::timeline::{DiscoveryProto, FileTransport, TftpOffer};

        let rules = crate::analyze::load_rules(None).unwrap();
        let seq = &rules.sequence;
        let steps = Steps::resolve(&rules);
        let mac = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);
        let mut dev = Device::new(
            DeviceKey::Mac(mac),
            Clue::default(DeviceKind::Phone, "test"),
            0,
            1,
        );
        let (server, phone) = (Ipv4Addr::new(10, 1, 1, 5), Ipv4Addr::new(10, 1, 1, 20));
        let announce = |ip| EventKind::PhoneAnnounce {
            proto: DiscoveryProto::Cdp,
            ip,
        };
        let received = |file: &str| EventKind::FileReceived {
            file: file.into(),
            class: rules.files.classify(file),
            bytes: 900,
            via: FileTransport::Tftp,
        };
        let ack = EventKind::DhcpAck {
            xid: 1,
            yiaddr: phone,
            server: Some(server),
            tftp: Box::new(TftpOffer {
                servers: vec![server],
                ..TftpOffer::default()
            }),
        };
        let discover = EventKind::DhcpDiscover {
            xid: 1,
            vlan: Some(100),
        };
        for (ms, kind) in [
            (1, announce(None)),
            (1000, discover),
            (1030, ack),
            (1310, received("SEP001B54AA0001.cnf.xml")),
            (1710, received("SCCP70.9-4-2SR3-1S.loads")),
            // Past its firmware, the phone announces itself with its address: a running
            // phone's re-announcement, no step of the boot.
            (5000, announce(Some(phone))),
        ] {
            let starts_boot = matches!(kind, EventKind::DhcpDiscover { .. });
            let frame = u64::try_from(ms).unwrap();
            let ev = Event {
                ts_ns: ms * 1_000_000,
                frame,
                kind,
            };
            advance(&mut dev, seq, &steps, ev, starts_boot);
        }
        let furthest = dev.boot.furthest.map(|(s, _, _)| seq.step(s).id.as_str());
        assert_eq!(furthest, Some("firmware"));
        let floods = flood::Detector::new(&rules.dhcp_starvation);
        let visibility = Visibility::new(seq, std::iter::once(&dev));
        let site = Site {
            tags_kept: true,
            floods: &floods,
            visibility: &visibility,
        };
        let report = verdict(&rules, &dev, 0, 60_000_000_000, &site);
        let m = report
            .expected_next
            .and_then(|x| x.model)
            .expect("a prediction");
        assert!(!m.expect.contains("switch"), "{}", m.expect);
        assert_eq!(m.after_frame, 1710, "from the firmware received");
        assert!(m.stage >= Stage::Firmware, "{:?}", m.stage);
    }

    proptest! {
        #[test]
        fn key_order_is_the_order_of_device_keys(
            macs in prop::collection::vec(any::<[u8; 6]>(), 0..40),
            names in prop::collection::vec(".{0,6}", 0..6),
            rotate in any::<usize>(),
        ) {
            let mut keys: Vec<DeviceKey> = macs.into_iter().map(|m| DeviceKey::Mac(MacAddr(m))).collect();
            keys.extend(names.into_iter().map(|n| DeviceKey::Name(n.into())));
            if !keys.is_empty() {
                let by = rotate % keys.len();
                keys.rotate_left(by);
            }
            let devices: Vec<Device> = keys.iter().cloned().map(device).collect();
            let order = key_order(devices.iter());
            // The obvious way: indices sorted by key (ties by index).
            let mut want: Vec<usize> = (0..keys.len()).collect();
            want.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then(a.cmp(&b)));
            prop_assert_eq!(order, want);
        }
    }

    #[test]
    fn a_refusal_over_security_is_the_secure_registration_failing_not_a_reject() {
        use std::net::{IpAddr, Ipv4Addr};

        use crate::timeline::Signalling;

        let cm = IpAddr::V4(Ipv4Addr::new(10, 1, 1, 10));
        let codes = |reason: &str| {
            let register = EventKind::Register {
                proto: Signalling::Sip,
                cm,
                expires: Some(3600),
            };
            let reject = EventKind::RegisterReject {
                proto: Signalling::Sip,
                cm,
                code: 403,
                reason: reason.into(),
                unregister: false,
            };
            let report = played(vec![register, reject]);
            let mut c: Vec<String> = report.findings.iter().map(|f| f.code.clone()).collect();
            c.retain(|x| x.contains("register"));
            (c, report.findings)
        };
        // CUCM's answer to a REGISTER on 5060 from a phone whose profile wants TLS.
        let (c, findings) =
            codes("Forbidden (Warning: 399 cucm-sub1 \"Device security mismatch\")");
        assert_eq!(c, ["secure-register-failed"]);
        assert!(findings[0].message.contains("Device security mismatch"));
        let (c, _) = codes("Forbidden");
        assert_eq!(c, ["register-rejected"]);
    }
}
