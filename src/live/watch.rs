//! The live watcher: it looks at the engine's devices while frames still come and
//! turns what changed into [`LiveEvent`]s — phone seen, voice VLAN learned, address
//! acquired, config fetched, firmware downloading, registered, stalled (with the
//! finding), rebooting. Stalls are judged at the time it is given (the wall clock in
//! a live session), so a phone that goes quiet is declared stalled while the capture
//! runs. Only devices whose revision changed, and phones still booting, are re-judged.

use std::collections::HashMap;
use std::net::IpAddr;

use rules::Stage;
use serde::Serialize;

use crate::engine::device::FileOutcome;
use crate::engine::verdict;
use crate::engine::{Analyzer, Device, DeviceKey, DeviceKind};
use crate::report::{PhoneReport, Status};
use crate::timeline::{Event, EventKind, FileClass, FileTransport};

/// What happened to a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LiveEventKind {
    /// First seen as a phone.
    PhoneSeen,
    /// It started a new boot (after a firmware download, or a restart).
    Rebooting,
    /// The switch gave it a voice VLAN.
    VoiceVlan,
    /// DHCP gave it an address.
    IpAcquired,
    /// Its configuration file arrived.
    ConfigFetched,
    /// It asked for a firmware load.
    FirmwareDownloading,
    /// A call manager accepted it.
    Registered,
    /// It stalled: the finding says why.
    Stalled,
}

impl LiveEventKind {
    /// The name in lines and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveEventKind::PhoneSeen => "phone-seen",
            LiveEventKind::Rebooting => "rebooting",
            LiveEventKind::VoiceVlan => "voice-vlan",
            LiveEventKind::IpAcquired => "ip-acquired",
            LiveEventKind::ConfigFetched => "config-fetched",
            LiveEventKind::FirmwareDownloading => "firmware-downloading",
            LiveEventKind::Registered => "registered",
            LiveEventKind::Stalled => "stalled",
        }
    }

    /// The milestone bit of a boot (0: not a per-boot milestone).
    fn bit(self) -> u8 {
        match self {
            LiveEventKind::VoiceVlan => 1,
            LiveEventKind::IpAcquired => 2,
            LiveEventKind::ConfigFetched => 4,
            LiveEventKind::FirmwareDownloading => 8,
            LiveEventKind::Registered => 16,
            LiveEventKind::PhoneSeen | LiveEventKind::Rebooting | LiveEventKind::Stalled => 0,
        }
    }
}

/// One line of the live log.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// When (nanoseconds since the epoch): the frame's time, or the judging time for
    /// a stall declared on the clock.
    #[serde(skip)]
    pub ts_ns: i64,
    /// What happened.
    pub event: LiveEventKind,
    /// The phone's MAC (`None` for a phone keyed by its name).
    pub mac: Option<String>,
    /// Its device name.
    pub device_name: Option<String>,
    /// The frame that marks it (none for a stall declared on the clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// The details, in words (escaped when they left the wire).
    pub detail: String,
    /// The stage, for a stall.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// The finding's code, for a stall.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// What the watcher remembers of a phone.
struct Watched {
    revision: u64,
    boots: u32,
    firmware_reboots: u32,
    milestones: u8,
    /// The finding announced for the current stall (code and stage).
    stalled: Option<(String, Option<Stage>)>,
    /// The latest verdict, for the status table (its timeline kept only for
    /// `--events`).
    verdict: PhoneReport,
}

/// Follows the phones of an [`Analyzer`] and reports their progress.
#[derive(Default)]
pub struct Watcher {
    phones: HashMap<DeviceKey, Watched>,
    events: Vec<LiveEvent>,
    /// Keep each verdict's timeline (for `--events`); else dropped at once.
    keep_timelines: bool,
}

impl Watcher {
    /// A watcher that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A watcher whose verdicts keep their timelines (`live --events` writes them).
    pub fn keeping_timelines() -> Self {
        Watcher {
            keep_timelines: true,
            ..Self::default()
        }
    }

    /// Look at the engine as of `now_ns`; returns what changed since the last look,
    /// in the order found.
    pub fn poll(&mut self, engine: &Analyzer<'_>, now_ns: i64) -> &[LiveEvent] {
        self.events.clear();
        let tags_kept = verdict::tags_kept(engine.devices());
        let visibility = engine.visibility();
        let mut live = 0usize;
        for dev in engine.devices() {
            if dev.kind != DeviceKind::Phone {
                continue;
            }
            live += 1;
            let seen = self.phones.get(&dev.key);
            let changed = seen.is_none_or(|w| w.revision != dev.revision);
            // A phone still booting is judged again on the clock: its step may time out.
            let booting = seen.is_some_and(|w| w.verdict.status == Status::InProgress);
            if !changed && !booting {
                continue;
            }
            let mut v = engine.judge(dev, now_ns, tags_kept, &visibility);
            if !self.keep_timelines {
                v.timeline = Vec::new();
            }
            let events = &mut self.events;
            let w = self.phones.entry(dev.key.clone()).or_insert_with(|| {
                let mut e = event(
                    dev,
                    LiveEventKind::PhoneSeen,
                    dev.first_ns,
                    seen_detail(dev),
                );
                e.frame = dev.timeline.events.first().map(|e| e.frame);
                events.push(e);
                Watched {
                    revision: 0,
                    boots: dev.boots,
                    firmware_reboots: dev.firmware_reboots,
                    milestones: 0,
                    stalled: None,
                    verdict: v.clone(),
                }
            });
            if dev.boots > w.boots {
                w.boots = dev.boots;
                w.milestones = 0;
                w.stalled = None;
                let why = if dev.firmware_reboots > w.firmware_reboots {
                    "after the firmware download"
                } else {
                    "restarted its boot"
                };
                w.firmware_reboots = dev.firmware_reboots;
                let mut e = event(
                    dev,
                    LiveEventKind::Rebooting,
                    dev.boot.start_ns,
                    format!("boot {} ({why})", dev.boots),
                );
                e.frame = Some(dev.boot.start_frame);
                events.push(e);
            }
            w.revision = dev.revision;
            for (kind, detail, marker) in milestones(dev, &v) {
                if w.milestones & kind.bit() == 0 {
                    w.milestones |= kind.bit();
                    let mut e = event(dev, kind, dev.last_ns, detail);
                    if let Some(m) = marker {
                        e.ts_ns = m.ts_ns;
                        e.frame = Some(m.frame);
                    }
                    events.push(e);
                }
            }
            if v.status == Status::Stalled {
                let main = v.findings.first();
                let key = (
                    main.map_or_else(|| "timeout".to_owned(), |f| f.code.clone()),
                    v.stalled_stage,
                );
                if w.stalled.as_ref() != Some(&key) {
                    let detail = match main {
                        Some(f) => f.message.clone(),
                        None => "no progress for longer than the step's timeout".to_owned(),
                    };
                    let mut e = event(dev, LiveEventKind::Stalled, now_ns, detail);
                    e.stage = v.stalled_stage;
                    e.code = Some(key.0.clone());
                    events.push(e);
                    w.stalled = Some(key);
                }
            } else {
                w.stalled = None;
            }
            w.verdict = v;
        }
        // The engine keeps devices in no particular order: the events go out by time.
        self.events.sort_by(|a, b| {
            (a.ts_ns, &a.mac, &a.device_name).cmp(&(b.ts_ns, &b.mac, &b.device_name))
        });
        // Devices the engine merged or dropped leave stale entries: prune now and then.
        if self.phones.len() > 2 * live + 64 {
            let keys: std::collections::HashSet<&DeviceKey> =
                engine.devices().map(|d| &d.key).collect();
            self.phones.retain(|k, _| keys.contains(k));
        }
        &self.events
    }

    /// The latest verdict of every phone, sorted for the status table: stalled first,
    /// then booting, then registered; by MAC within each.
    pub fn phones(&self) -> Vec<&PhoneReport> {
        let mut v: Vec<&PhoneReport> = self.phones.values().map(|w| &w.verdict).collect();
        v.sort_by(|a, b| {
            let rank = |s: Status| match s {
                Status::Stalled => 0,
                Status::InProgress => 1,
                Status::Registered => 2,
                Status::Seen => 3,
            };
            rank(a.status)
                .cmp(&rank(b.status))
                .then_with(|| a.mac.cmp(&b.mac))
                .then_with(|| a.device_name.cmp(&b.device_name))
        });
        v
    }
}

fn event(dev: &Device, kind: LiveEventKind, ts_ns: i64, detail: String) -> LiveEvent {
    LiveEvent {
        ts_ns,
        event: kind,
        mac: dev.mac().map(|m| m.to_string()),
        device_name: dev.report_name().0.map(Into::into),
        frame: None,
        detail,
        stage: None,
        code: None,
    }
}

fn seen_detail(dev: &Device) -> String {
    match &dev.model {
        Some(m) => format!("{m}, identified by {}", dev.evidence_of_kind),
        None => format!("identified by {}", dev.evidence_of_kind),
    }
}

/// The milestones the phone's current boot has reached, with their details and the
/// event that marks each (found from the end of the timeline).
fn milestones<'d>(
    dev: &'d Device,
    v: &PhoneReport,
) -> Vec<(LiveEventKind, String, Option<&'d Event>)> {
    let boot = &dev.boot;
    let last = |pred: &dyn Fn(&EventKind) -> bool| {
        dev.timeline
            .events
            .iter()
            .rev()
            .take_while(|e| e.ts_ns >= boot.start_ns)
            .find(|e| pred(&e.kind))
    };
    let mut out = Vec::new();
    if let Some(vlan) = boot.voice_vlan {
        let e = last(&|k| matches!(k, EventKind::SwitchVoiceVlan { .. }));
        out.push((LiveEventKind::VoiceVlan, format!("VLAN {vlan}"), e));
    }
    if let (Some(ack), Some(ip)) = (&boot.ack, dev.ip) {
        let mut d = ip.to_string();
        if let Some(vlan) = dev.vlan {
            d.push_str(&format!(" on VLAN {vlan}"));
        }
        if let Some(server) = boot.dhcp_server {
            d.push_str(&format!(" from {server}"));
        }
        out.push((LiveEventKind::IpAcquired, d, Some(ack)));
    }
    let config = boot.files.iter().find(|f| {
        matches!(f.class, FileClass::DeviceConfig | FileClass::DefaultConfig)
            && f.outcome == Some(FileOutcome::Received)
    });
    if let Some(f) = config {
        let e = last(&|k| matches!(k, EventKind::FileReceived { file, .. } if *file == f.name));
        let d = file_detail(&f.name, f.server, f.via);
        out.push((LiveEventKind::ConfigFetched, d, e));
    }
    if let Some(f) = boot.files.iter().find(|f| f.class == FileClass::Firmware) {
        let e = last(&|k| matches!(k, EventKind::FileRequest { file, .. } if *file == f.name));
        let d = file_detail(&f.name, f.server, f.via);
        out.push((LiveEventKind::FirmwareDownloading, d, e));
    }
    if boot.registered {
        let mut d = v.protocol.unwrap_or("?").to_uppercase();
        if let Some(cm) = boot.registered_cm {
            d.push_str(&format!(" with {cm}"));
        }
        if boot.registered_before {
            d.push_str(" (registered before the capture)");
        }
        let e = last(&|k| {
            matches!(
                k,
                EventKind::RegisterAck { .. } | EventKind::KeepaliveAck { .. }
            )
        });
        out.push((LiveEventKind::Registered, d, e));
    }
    out
}

fn file_detail(name: &str, server: IpAddr, via: FileTransport) -> String {
    let via = match via {
        FileTransport::Tftp => "TFTP",
        FileTransport::Http => "HTTP",
    };
    format!("{name} from {server} over {via}")
}
