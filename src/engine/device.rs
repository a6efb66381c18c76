//! Per-device state: identity, the timeline, and the progress of the current boot
//! against the expected sequence. A device's boots are cut where a phone starts
//! DHCP over after having had a lease; each boot keeps counters per event type,
//! the furthest step reached, and the few facts the rules ask about (files asked
//! and answered, call managers tried, the last DHCP ACK). Everything is bounded,
//! and [`Device::heap_bytes`] tells what a device holds, so the engine can keep all
//! devices within a memory budget: a *frozen* device (the budget is spent) keeps its
//! counters and facts but grows no list any more.

use std::net::{IpAddr, Ipv4Addr};

use rules::{Sequence, Stage, StepId};

use super::progress::Carried;

use crate::link::MacAddr;
use crate::timeline::{
    Event, EventKind, EventType, FileClass, FileTransport, Signalling, Timeline,
};

/// Files followed per boot; past it further files are counted only.
const MAX_FILES: usize = 64;
/// Call managers followed per boot.
const MAX_CMS: usize = 8;
/// Evidence frames kept per event type per boot.
const MAX_EVIDENCE: usize = 8;
/// Earlier boots kept in full per device (older ones are summarised by counters).
pub const MAX_BOOTS_KEPT: usize = 4;
/// Report bytes a judged device (a phone, a SIP agent, an SCCP device) becomes at
/// most, before its timeline: the entry, its strings, the findings with their checks,
/// what was expected next. These three are upper estimates: on a 1000-phone fleet
/// the report took 4.3 KB a device, timeline entries included, about 205 bytes per
/// entry, and the charges came to 1.6 times the state and the report together
/// (`tests/flood.rs`, README "Limits").
pub const REPORT_PER_PHONE: usize = 6 * 1024;
/// Report bytes a device that is not judged (a DHCP client) becomes, before its
/// timeline.
pub const REPORT_PER_DEVICE: usize = 1024;
/// Report bytes per timeline entry beyond the event's own strings (the entry, its
/// text and peer).
pub const REPORT_PER_EVENT: usize = 320;

/// How a device is keyed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceKey {
    /// By MAC: phones and DHCP clients.
    Mac(MacAddr),
    /// By name, when no MAC is known: a SIP user agent (`user@host from ip`) or an
    /// SCCP device with a non-SEP name (gateway port, media resource).
    Name(Box<str>),
}

/// What a device is, as far as the capture tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceKind {
    /// A Cisco IP phone.
    Phone,
    /// A DHCP client with no sign of being a phone (PC, PXE client, access point).
    DhcpClient,
    /// A SIP user agent without a Cisco device name.
    SipAgent,
    /// An SCCP device without a SEP name (gateway port, MTP, conference bridge).
    SccpDevice,
}

impl DeviceKind {
    /// Name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Phone => "phone",
            DeviceKind::DhcpClient => "dhcp-client",
            DeviceKind::SipAgent => "sip-agent",
            DeviceKind::SccpDevice => "sccp-device",
        }
    }
}

/// A file as the current boot asked for it.
#[derive(Debug, Clone)]
pub struct FileState {
    /// Name.
    pub name: Box<str>,
    /// What it is.
    pub class: FileClass,
    /// The server asked last.
    pub server: IpAddr,
    /// TFTP or HTTP.
    pub via: FileTransport,
    /// Requests sent.
    pub requests: u32,
    /// Requests since the last answer.
    pub unanswered: u32,
    /// Frame of the first request.
    pub first_frame: u64,
    /// Outcome, once answered.
    pub outcome: Option<FileOutcome>,
    /// The outcome is inferred from the phone moving on, not seen.
    pub inferred: bool,
}

/// How a file request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOutcome {
    /// Received complete.
    Received,
    /// Not on the server.
    NotFound,
    /// Another error.
    Error,
    /// The server answered (data flowing) but the transfer is not complete yet.
    Answered,
}

/// One call manager as the current boot tried it.
#[derive(Debug, Clone)]
pub struct CmState {
    /// Address.
    pub ip: IpAddr,
    /// SYNs not (yet) answered by a SYN-ACK.
    pub syns_unanswered: u32,
    /// SYN-ACKs.
    pub syn_acks: u32,
    /// Resets from it.
    pub rsts: u32,
    /// Registers sent since its last answer.
    pub registers_unanswered: u32,
    /// Registrations accepted.
    pub acks: u32,
    /// Registrations refused.
    pub rejects: u32,
    /// First frame involving it.
    pub first_frame: u64,
}

impl CmState {
    /// Whether this call manager failed the phone: no answer to the handshake, a
    /// reset, a refusal or silence after Register, and no success.
    pub fn failed(&self) -> bool {
        self.acks == 0
            && (self.syns_unanswered > 0
                || self.rsts > 0
                || self.rejects > 0
                || self.registers_unanswered > 0)
    }
}

/// One boot of a device.
#[derive(Debug, Clone)]
pub struct Boot {
    /// Capture time of its first event.
    pub start_ns: i64,
    /// Frame of its first event.
    pub start_frame: u64,
    /// Counters per event type.
    pub counts: [u32; EventType::COUNT],
    /// Evidence frames per event type (the first few).
    pub evidence: Vec<(EventType, u64)>,
    /// The furthest step reached, with when.
    pub furthest: Option<(StepId, i64, u64)>,
    /// The stage of the furthest step.
    pub furthest_stage: Option<Stage>,
    /// Steps reached (a bit per step rank; sequences are small).
    pub reached: u128,
    /// Messages of the boot cut short by the snap length since its last progress:
    /// what came after its furthest step cannot be read.
    pub cut_since_progress: u32,
    /// Steps reached only by an inference from the phone's own progress (a `reached_by`
    /// match marked `inferred`), not by the answer itself (a bit per step rank).
    pub inferred: u128,
    /// Capture time of the last progress (a step further than before).
    pub last_progress_ns: i64,
    /// The last event that tells where the boot stands, for the model's prediction: the
    /// event that reached the furthest step, or a later one of that step's stage or a later
    /// stage (the request after the ACK), never an earlier stage's (a running phone's
    /// periodic announcement, a DHCP renewal after the registration).
    pub last_event: Option<Event>,
    /// Capture time of the last event of any kind.
    pub last_ns: i64,
    /// A NAK not yet followed by an ACK.
    pub nak_pending: bool,
    /// The last DHCP ACK.
    pub ack: Option<Event>,
    /// DHCP server that answered.
    pub dhcp_server: Option<Ipv4Addr>,
    /// VLAN of the phone's DHCP (`Some(None)`: untagged).
    pub dhcp_vlan: Option<Option<u16>>,
    /// Voice VLAN the switch gave.
    pub voice_vlan: Option<u16>,
    /// Files asked.
    pub files: Vec<FileState>,
    /// Call managers tried, in order.
    pub cms: Vec<CmState>,
    /// Registered in this boot (RegisterAck, SIP 2xx, or keepalives answered).
    pub registered: bool,
    /// Registered only by keepalives: the phone was registered before the capture.
    pub registered_before: bool,
    /// The call manager that accepted.
    pub registered_cm: Option<IpAddr>,
    /// The last refusal (code, reason, whether it answered an un-register).
    pub reject: Option<(u16, Box<str>, bool)>,
    /// A challenge not yet followed by success.
    pub challenge_pending: bool,
    /// The phone's last alarm text.
    pub alarm: Option<Box<str>>,
    /// Signalling protocol used.
    pub protocol: Option<Signalling>,
    /// The load the phone downloaded (a firmware file received).
    pub firmware_received: bool,
    /// The memory budget is spent: counters and facts still move, no list grows
    /// (evidence, files, call managers).
    pub frozen: bool,
    /// Bytes of the names in `files`, kept as they are added: the budget asks at
    /// every event.
    file_name_bytes: usize,
}

impl Boot {
    /// A boot starting with the given event time and frame.
    pub fn new(ts_ns: i64, frame: u64) -> Self {
        Boot {
            start_ns: ts_ns,
            start_frame: frame,
            counts: [0; EventType::COUNT],
            evidence: Vec::new(),
            furthest: None,
            furthest_stage: None,
            reached: 0,
            inferred: 0,
            cut_since_progress: 0,
            last_progress_ns: ts_ns,
            last_event: None,
            last_ns: ts_ns,
            nak_pending: false,
            ack: None,
            dhcp_server: None,
            dhcp_vlan: None,
            voice_vlan: None,
            files: Vec::new(),
            cms: Vec::new(),
            registered: false,
            registered_before: false,
            registered_cm: None,
            reject: None,
            challenge_pending: false,
            alarm: None,
            protocol: None,
            firmware_received: false,
            frozen: false,
            file_name_bytes: 0,
        }
    }

    /// Heap bytes the boot holds (its lists and strings), as requested from the
    /// allocator.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        debug_assert_eq!(
            self.file_name_bytes,
            self.files.iter().map(|f| f.name.len()).sum::<usize>()
        );
        let text = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
        self.evidence.capacity() * size_of::<(EventType, u64)>()
            + self.files.capacity() * size_of::<FileState>()
            + self.file_name_bytes
            + self.cms.capacity() * size_of::<CmState>()
            + self.last_event.as_ref().map_or(0, Event::heap_bytes)
            + self.ack.as_ref().map_or(0, Event::heap_bytes)
            + text(&self.alarm)
            + self.reject.as_ref().map_or(0, |r| r.1.len())
    }

    /// How many events of a type this boot saw.
    pub fn count(&self, t: EventType) -> u32 {
        self.counts.get(t as usize).copied().unwrap_or(0)
    }

    /// Whether the boot reached `step`.
    pub fn has_reached(&self, seq: &Sequence, step: StepId) -> bool {
        let r = seq.rank(step);
        r < 128 && self.reached & (1u128 << r) != 0
    }

    /// Record that the boot reached `step`.
    pub fn reach(&mut self, seq: &Sequence, step: StepId, ts_ns: i64, frame: u64, inferred: bool) {
        let r = seq.rank(step);
        if r < 128 {
            let bit = 1u128 << r;
            if inferred && self.reached & bit == 0 {
                self.inferred |= bit;
            } else if !inferred {
                self.inferred &= !bit;
            }
            self.reached |= bit;
        }
        let further = self.furthest.is_none_or(|(f, _, _)| r > seq.rank(f));
        if further {
            self.furthest = Some((step, ts_ns, frame));
            self.furthest_stage = Some(seq.step(step).stage);
            self.last_progress_ns = ts_ns;
            self.cut_since_progress = 0;
        }
    }

    /// The phone moved on, to `next` (another file) or to its call manager (`None`):
    /// the files it asked before and got no answer to in the capture were answered
    /// out of its sight. Those it moved on from to the call manager it had (received);
    /// one it moved on from to another file was answered (found or not). Returns the
    /// files so marked, as the events whose steps they reach.
    pub fn moved_on(&mut self, next: Option<&str>) -> Vec<EventKind> {
        let mut passed = Vec::new();
        for f in &mut self.files {
            if f.outcome.is_some() || next == Some(&*f.name) {
                continue;
            }
            f.unanswered = 0;
            f.inferred = true;
            let (file, class, via) = (f.name.clone(), f.class, f.via);
            passed.push(if next.is_none() {
                f.outcome = Some(FileOutcome::Received);
                if class == FileClass::Firmware {
                    self.firmware_received = true;
                }
                EventKind::FileReceived {
                    file,
                    class,
                    bytes: 0,
                    via,
                }
            } else {
                f.outcome = Some(FileOutcome::Answered);
                EventKind::FileNotFound { file, class, via }
            });
        }
        passed
    }

    /// Whether `step` was reached only by an inference from the phone's own progress.
    pub fn inferred_at(&self, seq: &Sequence, step: StepId) -> bool {
        seq.rank(step) < 128 && self.inferred >> seq.rank(step) & 1 == 1
    }

    /// The rank of the furthest step (0 before any).
    pub fn furthest_rank(&self, seq: &Sequence) -> Option<usize> {
        self.furthest.map(|(s, _, _)| seq.rank(s))
    }

    /// Frames that show events of type `t`.
    pub fn evidence_of(&self, t: EventType) -> impl Iterator<Item = u64> + '_ {
        self.evidence
            .iter()
            .filter(move |(x, _)| *x == t)
            .map(|(_, f)| *f)
    }

    /// Count an event and keep its frame as evidence.
    pub fn note(&mut self, t: EventType, frame: u64, ts_ns: i64) {
        self.last_ns = self.last_ns.max(ts_ns);
        let Some(count) = self.counts.get_mut(t as usize) else {
            return;
        };
        // Only `note` adds to both, so the evidence kept of `t` is its count so far,
        // up to the bound: no scan of the evidence per event.
        let kept = (*count as usize).min(MAX_EVIDENCE);
        *count = count.saturating_add(1);
        // The first frames, and the latest in the last slot.
        if kept < MAX_EVIDENCE && !self.frozen {
            self.evidence.push((t, frame));
        } else if let Some(last) = self.evidence.iter_mut().rev().find(|(x, _)| *x == t) {
            last.1 = frame;
        }
    }

    /// The state of `file` (asked of `server`), created on first request.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut FileState> {
        self.files.iter_mut().rev().find(|f| &*f.name == name)
    }

    /// Record a request for a file.
    pub fn file_requested(
        &mut self,
        name: &str,
        class: FileClass,
        server: IpAddr,
        via: FileTransport,
        frame: u64,
    ) {
        if let Some(f) = self
            .files
            .iter_mut()
            .rev()
            .find(|f| &*f.name == name && f.server == server)
        {
            f.requests += 1;
            f.unanswered += 1;
            if f.outcome == Some(FileOutcome::Received) || f.outcome == Some(FileOutcome::NotFound)
            {
                // Asked again after an answer (a retry of the whole sequence): start over.
                f.outcome = None;
                f.unanswered = 1;
            }
            return;
        }
        if self.files.len() < MAX_FILES && !self.frozen {
            self.file_name_bytes += name.len();
            self.files.push(FileState {
                inferred: false,
                name: name.into(),
                class,
                server,
                via,
                requests: 1,
                unanswered: 1,
                first_frame: frame,
                outcome: None,
            });
        }
    }

    /// The state of a call manager, created on first contact.
    pub fn cm_mut(&mut self, ip: IpAddr, frame: u64) -> Option<&mut CmState> {
        let i = match self.cms.iter().position(|c| c.ip == ip) {
            Some(i) => i,
            None if self.cms.len() < MAX_CMS && !self.frozen => {
                self.cms.push(CmState {
                    ip,
                    syns_unanswered: 0,
                    syn_acks: 0,
                    rsts: 0,
                    registers_unanswered: 0,
                    acks: 0,
                    rejects: 0,
                    first_frame: frame,
                });
                self.cms.len() - 1
            }
            None => return None,
        };
        self.cms.get_mut(i)
    }
}

/// Everything known about one device.
#[derive(Debug, Clone)]
pub struct Device {
    /// How it is keyed.
    pub key: DeviceKey,
    /// What it is.
    pub kind: DeviceKind,
    /// Why it is taken for a phone (or what it is otherwise).
    pub evidence_of_kind: &'static str,
    /// Cisco device name (SEP…), or the name it registered with.
    pub name: Option<Box<str>>,
    /// Model (CDP platform, LLDP model, SCCP device type, SIP User-Agent).
    pub model: Option<Box<str>>,
    /// Its IP address (DHCP lease, or the source of its signalling).
    pub ip: Option<IpAddr>,
    /// The VLAN its frames carried.
    pub vlan: Option<u16>,
    /// Its timeline.
    pub timeline: Timeline,
    /// The current boot.
    pub boot: Boot,
    /// Earlier boots (the last [`MAX_BOOTS_KEPT`]).
    pub earlier: Vec<Boot>,
    /// Boots seen (including the current one).
    pub boots: u32,
    /// Boots that followed a firmware download (expected, not failures).
    pub firmware_reboots: u32,
    /// The phone's last CDP / LLDP announcement (time, frame), carried into a new boot.
    pub last_announce: Option<(i64, u64)>,
    /// The switch's last answer to it (time, frame, voice VLAN).
    pub last_switch: Option<(i64, u64, Option<u16>)>,
    /// The memory budget is spent: no timeline entry or earlier boot is kept any more.
    frozen: bool,
    /// First and last capture time it was seen.
    pub first_ns: i64,
    /// Last capture time it was seen.
    pub last_ns: i64,
    /// Bumped at every change (event recorded, taken for a phone, new boot): a live
    /// watcher re-reads only the devices that changed.
    pub revision: u64,
    /// Which device this is among all created (a key evicted and seen again is a new
    /// device with a new serial).
    pub serial: u64,
    /// The bytes the engine's memory budget counts for it ([`Self::charge`]).
    pub charged: usize,
    /// Heap bytes of the earlier boots (kept up to date as they come and go).
    earlier_heap: usize,
}

impl Device {
    /// A device first seen at `ts_ns`, `frame`.
    pub fn new(
        key: DeviceKey,
        kind: DeviceKind,
        why: &'static str,
        ts_ns: i64,
        frame: u64,
    ) -> Self {
        let name = match &key {
            DeviceKey::Mac(m) if kind == DeviceKind::Phone => {
                Some(format!("SEP{}", m.to_sep_hex()).into_boxed_str())
            }
            DeviceKey::Name(n) => Some(n.clone()),
            DeviceKey::Mac(_) => None,
        };
        Device {
            key,
            kind,
            evidence_of_kind: why,
            name,
            model: None,
            ip: None,
            vlan: None,
            timeline: Timeline::default(),
            boot: Boot::new(ts_ns, frame),
            earlier: Vec::new(),
            boots: 1,
            firmware_reboots: 0,
            last_announce: None,
            last_switch: None,
            frozen: false,
            first_ns: ts_ns,
            last_ns: ts_ns,
            revision: 0,
            serial: 0,
            charged: 0,
            earlier_heap: 0,
        }
    }

    /// Heap bytes the device holds beyond its own struct (timeline, boots, strings),
    /// as requested from the allocator; O(files of the current boot).
    pub fn heap_bytes(&self) -> usize {
        let text = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
        // A name key is held three times: here, as the table's key, and in the
        // engine's queue of unconfirmed devices.
        let key = match &self.key {
            DeviceKey::Name(n) => 3 * n.len(),
            DeviceKey::Mac(_) => 0,
        };
        key + text(&self.name)
            + text(&self.model)
            + self.timeline.heap_bytes()
            + self.boot.heap_bytes()
            + self.earlier.capacity() * std::mem::size_of::<Boot>()
            + self.earlier_heap
    }

    /// What the memory budget counts for the device: its heap, and an upper estimate
    /// of the report entry it becomes at the end (the report is built while the
    /// devices still exist). See README "Limits" for the measurements behind it.
    pub fn charge(&self) -> usize {
        let events = self.timeline.events.len();
        let judged = self.kind != DeviceKind::DhcpClient;
        let report = if judged {
            REPORT_PER_PHONE
        } else {
            REPORT_PER_DEVICE
        } + events * REPORT_PER_EVENT
            + 2 * self
                .timeline
                .heap_bytes()
                .saturating_sub(self.timeline.events.capacity() * std::mem::size_of::<Event>());
        self.heap_bytes() + report
    }

    /// Set the device name; a frozen device keeps its own unless the new one is no
    /// longer.
    pub fn set_name(&mut self, name: String) {
        if !self.frozen || name.len() <= self.name.as_ref().map_or(0, |n| n.len()) {
            self.name = Some(name.into());
        }
    }

    /// Set the model; a frozen device keeps its own unless the new one is no longer.
    pub fn set_model(&mut self, model: String) {
        if !self.frozen || model.len() <= self.model.as_ref().map_or(0, |m| m.len()) {
            self.model = Some(model.into());
        }
    }

    /// The most the device can grow by when `ev` is recorded (its lists may double,
    /// a new boot may start, the event's strings are copied up to four times: the
    /// timeline, the last event, the DHCP ACK or the alarm or refusal kept, and the
    /// file asked for), its report entry included.
    pub fn growth_bound(&self, ev: &Event) -> usize {
        use std::mem::size_of;
        let strings = ev.heap_bytes();
        if self.frozen {
            // No list grows: only the strings kept of the last event, the ACK, the
            // alarm or the refusal may be replaced by the event's.
            return 4 * strings;
        }
        // A push into a full vector doubles it (at least 4 entries).
        fn doubling<T>(v: &Vec<T>) -> usize {
            if v.len() == v.capacity() {
                v.capacity().max(4) * size_of::<T>()
            } else {
                0
            }
        }
        doubling(&self.timeline.events)
            + doubling(&self.boot.evidence)
            + doubling(&self.boot.files)
            + doubling(&self.boot.cms)
            + doubling(&self.earlier)
            + 4 * strings
            + REPORT_PER_EVENT
            + 2 * strings
    }

    /// Stop growing lists (the memory budget is spent); counters go on.
    pub fn freeze(&mut self) {
        self.frozen = true;
        self.boot.frozen = true;
    }

    /// Whether the device grows no list any more.
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// The MAC, when keyed by one.
    pub fn mac(&self) -> Option<MacAddr> {
        match self.key {
            DeviceKey::Mac(m) => Some(m),
            DeviceKey::Name(_) => None,
        }
    }

    /// Take the device for a phone (evidence found later than its first sighting).
    pub fn mark_phone(&mut self, why: &'static str) {
        if self.kind != DeviceKind::Phone {
            self.revision += 1;
            self.kind = DeviceKind::Phone;
            self.evidence_of_kind = why;
            if let (None, Some(m)) = (&self.name, self.mac()) {
                self.name = Some(format!("SEP{}", m.to_sep_hex()).into_boxed_str());
            }
        }
    }

    /// Start a new boot at the event about to be recorded; discovery seen shortly
    /// before (the phone's CDP, the switch's answer) belongs to it.
    pub fn new_boot(&mut self, seq: &Sequence, carried: &Carried, ts_ns: i64, frame: u64) {
        let after_firmware = self.boot.firmware_received;
        let last_progress = self.boot.last_progress_ns;
        let mut boot = Boot::new(ts_ns, frame);
        boot.frozen = self.frozen;
        if let Some((t, f)) = self.last_announce {
            if t > last_progress && ts_ns - t <= carried.window_ns {
                boot.start_ns = t;
                boot.start_frame = f;
                boot.note(EventType::PhoneAnnounce, f, t);
                if let Some(s) = carried.announce {
                    boot.reach(seq, s, t, f, false);
                }
                if let Some((st, sf, vlan)) = self.last_switch {
                    if st >= t {
                        match vlan {
                            Some(v) => {
                                boot.note(EventType::SwitchVoiceVlan, sf, st);
                                boot.voice_vlan = Some(v);
                                if let Some(s) = carried.voice_vlan {
                                    boot.reach(seq, s, st, sf, false);
                                }
                            }
                            None => boot.note(EventType::SwitchNoVoiceVlan, sf, st),
                        }
                    }
                }
            }
        }
        self.revision += 1;
        let old = std::mem::replace(&mut self.boot, boot);
        // Frozen, a device keeps as many earlier boots as it had, no more (none if
        // it had none: a verdict that would have stood on the previous boot is lost,
        // the boot counter goes on).
        let keep = if self.frozen {
            self.earlier.len()
        } else {
            MAX_BOOTS_KEPT
        };
        while keep > 0 && self.earlier.len() >= keep {
            let gone = self.earlier.remove(0);
            self.earlier_heap = self.earlier_heap.saturating_sub(gone.heap_bytes());
        }
        if keep > 0 {
            self.earlier_heap += old.heap_bytes();
            self.earlier.push(old);
        }
        self.boots += 1;
        if after_firmware {
            self.firmware_reboots += 1;
        }
    }

    /// Record an event: timeline, counters, evidence.
    pub fn record(&mut self, ev: Event) {
        let t = ev.kind.event_type();
        self.revision += 1;
        self.boot.note(t, ev.frame, ev.ts_ns);
        self.last_ns = self.last_ns.max(ev.ts_ns);
        // The event that reached the furthest step (just before it was recorded) stands,
        // whatever its stage; another only if it is not of an earlier stage.
        let reached_furthest = self
            .boot
            .furthest
            .is_some_and(|(_, ts, frame)| ts == ev.ts_ns && frame == ev.frame);
        let not_behind = self
            .boot
            .furthest_stage
            .is_none_or(|s| ev.kind.stage() >= s);
        if !matches!(
            ev.kind,
            EventKind::Keepalive { .. }
                | EventKind::KeepaliveAck { .. }
                | EventKind::Malformed { .. }
                | EventKind::Cut { .. }
        ) && (reached_furthest || not_behind)
        {
            self.boot.last_event = Some(ev.clone());
        }
        // Keepalives every 30 s and REGISTER refreshes of a registered phone would fill
        // the timeline over a long capture: keep the first, count the rest.
        let refresh = matches!(t, EventType::Register | EventType::RegisterAck)
            && self.boot.registered
            && self.boot.count(t) > 1;
        let keepalive = matches!(t, EventType::Keepalive | EventType::KeepaliveAck);
        if (keepalive && self.boot.count(t) > 1) || refresh {
            return;
        }
        if self.frozen {
            self.timeline.dropped += 1;
            return;
        }
        self.timeline.push(ev);
    }
}
