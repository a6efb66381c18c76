//! The report: one verdict per phone as docs/report.md defines it, the other
//! devices seen, a fleet summary, and what the capture held. [`json`] serialises it
//! (the types' derives are the document; times are whole microseconds, [`Seconds`]),
//! [`table`] draws the fleet table, [`phone`] writes one phone's troubleshooting
//! report, [`html`] writes the whole report as one self-contained HTML page with
//! ladder diagrams. All renderers take the same [`Report`].

pub mod html;
pub mod json;
pub mod phone;
mod seconds;
pub mod table;

pub use seconds::{civil_from_days, Seconds};

use std::collections::BTreeMap;

use rules::{Severity, Stage};
use serde::Serialize;

/// A device's state at the end of the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Registered (or already registered as the capture starts).
    Registered,
    /// Failed a stage, or made no progress for longer than its timeout.
    Stalled,
    /// The capture ended while it was still booting.
    InProgress,
    /// A device whose boot bootscope does not judge (a PC doing DHCP).
    Seen,
}

impl Status {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Registered => "registered",
            Status::Stalled => "stalled",
            Status::InProgress => "in_progress",
            Status::Seen => "seen",
        }
    }
}

/// The report format's version, written first in the document as `format_version`
/// (docs/report.md): fields may be added within a version, none renamed or changed.
pub const FORMAT_VERSION: &str = "1";

/// Everything `bootscope analyze` found.
#[derive(Debug, Clone, Serialize)]
// serde writes a struct's tag first, with the struct's (renamed) name as its value:
// `"format_version": "1"`, which must stay equal to [`FORMAT_VERSION`] (a test holds it).
#[serde(tag = "format_version", rename = "1")]
pub struct Report {
    /// What the capture itself cannot show (one direction only, frames cut short):
    /// said once, before anything else, in every output.
    pub capture_findings: Vec<CaptureFinding>,
    /// Findings about the site rather than one phone (a DHCP starvation flood).
    pub site_findings: Vec<SiteFinding>,
    /// One entry per phone, sorted by MAC.
    pub phones: Vec<PhoneReport>,
    /// Devices seen that are not phones (PCs, PXE clients, access points, SIP user
    /// agents, SCCP gateway ports); never reported as failing phones.
    pub other_devices: Vec<PhoneReport>,
    /// The fleet view.
    pub summary: Summary,
    /// What was read.
    pub capture: CaptureInfo,
    /// The phones registered to a survivable router (SRST) rather than to their call
    /// managers; absent when none.
    #[serde(skip_serializing_if = "SrstView::is_empty")]
    pub srst: SrstView,
}

/// How many phones live on SRST, and on which routers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SrstView {
    /// Phones registered to a survivable router (`srst-fallback`).
    pub phones: usize,
    /// Phones per router.
    pub routers: BTreeMap<String, usize>,
}

impl SrstView {
    /// No phone on SRST.
    pub fn is_empty(&self) -> bool {
        self.phones == 0
    }

    /// The phones of `phones` that registered to a survivable router.
    pub fn of(phones: &[PhoneReport]) -> Self {
        let mut v = SrstView::default();
        for p in phones
            .iter()
            .filter(|p| p.findings.iter().any(|f| f.code == "srst-fallback"))
        {
            v.phones += 1;
            let router = p.callmanager.clone().unwrap_or_default();
            *v.routers.entry(router).or_default() += 1;
        }
        v
    }
}

/// One device's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneReport {
    /// Lower-case, colon-separated MAC (`null` for a device keyed by name).
    pub mac: Option<String>,
    /// Its name as the wire gives it (CDP device id, LLDP system name, the name it
    /// registered with, a file named after it); for a phone whose name was never seen,
    /// `SEP<MAC>` made up from its MAC; `null` otherwise.
    pub device_name: Option<String>,
    /// Where the name was read (`cdp_device_id`, `lldp_system_name`, `registration`,
    /// `config_file`, `dhcp_host_name`, `sip_address_of_record`), or `made_up_from_mac`;
    /// `null` with the name.
    pub name_source: Option<&'static str>,
    /// registered, stalled or in_progress.
    pub status: Status,
    /// The first stage not completed, when stalled.
    pub stalled_stage: Option<Stage>,
    /// What the rules found, most severe first.
    pub findings: Vec<Finding>,
    /// The device's events in time order.
    pub timeline: Vec<TimelineEntry>,
    /// phone, dhcp-client, sip-agent, sccp-device, router, voice-gateway,
    /// media-resource or pc.
    pub kind: &'static str,
    /// Why the device is taken for what it is.
    pub identified_by: &'static str,
    /// Model (CDP platform, SCCP device type, User-Agent).
    pub model: Option<String>,
    /// VLAN of its DHCP.
    pub vlan: Option<u16>,
    /// Its address.
    pub ip: Option<String>,
    /// sccp or sip.
    pub protocol: Option<&'static str>,
    /// The call manager it registered with (or tried first).
    pub callmanager: Option<String>,
    /// Boots seen.
    pub boots: u32,
    /// Start of the last boot (seconds from the capture's start).
    pub boot_started: Seconds,
    /// Time from the last boot's start to registration (seconds), when registered in it.
    pub boot_duration: Option<Seconds>,
    /// What was expected next and never came, for a phone not registered.
    pub expected_next: Option<Expectation>,
    /// Which of the phone's exchanges with its servers the capture holds: `both`,
    /// `from_phone` (its requests only), `to_phone` (the answers only) or `none`.
    pub directions: &'static str,
    /// Steps the boot passed that the capture does not show, proved by the phone's
    /// own progress (their ids in the boot sequence): the answer was not captured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inferred_steps: Vec<String>,
    /// Timeline entries not kept (the per-device bound).
    pub timeline_dropped: u64,
    /// What its device configuration says, when the capture holds it (the last one
    /// read); absent when none was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigView>,
    /// What `bootscope inventory` lists beyond the above (not in the JSON report).
    #[serde(skip)]
    pub inventory: Option<Box<crate::engine::inventory::Facts>>,
}

/// A limit of the capture that bears on every verdict drawn from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptureFinding {
    /// Stable kebab-case code (`capture-one-way`).
    pub code: &'static str,
    /// warning or info.
    pub severity: Severity,
    /// What the capture lacks, and what bootscope does about it.
    pub message: String,
    /// How to make a capture without the limit.
    pub checks: Vec<String>,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable kebab-case code (docs/report.md).
    pub code: String,
    /// error, warning or info.
    pub severity: Severity,
    /// The stage it belongs to.
    pub stage: Stage,
    /// What happened, in an engineer's words.
    pub message: String,
    /// Frames that show it.
    pub evidence: Vec<u64>,
    /// The next checks to make.
    pub checks: Vec<String>,
}

/// A finding about the whole site: what the network did to every phone on a VLAN.
#[derive(Debug, Clone, Serialize)]
pub struct SiteFinding {
    /// Stable kebab-case code (`dhcp-starvation`).
    pub code: String,
    /// error, warning or info.
    pub severity: Severity,
    /// The stage it hits.
    pub stage: Stage,
    /// What happened, in an engineer's words.
    pub message: String,
    /// The VLAN (innermost tag; `null`: untagged).
    pub vlan: Option<u16>,
    /// DHCP clients never seen before that sent a DISCOVER during the flood
    /// (`dhcp-starvation` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<u64>,
    /// REQUESTs from clients that are not phones during the flood (`dhcp-starvation`
    /// only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// DISCOVERs whose Ethernet source is not the client hardware address
    /// (`dhcp-starvation` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forged_chaddr: Option<u64>,
    /// The messages counted (the floods told by rate: `arp-storm`, `dns-flood`,
    /// `eapol-start-flood`, `icmp-error-flood`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// The one Ethernet source that sent them all, when there was one.
    pub source: Option<String>,
    /// Its first message (seconds from the capture's start).
    pub start: Seconds,
    /// Its last message (seconds from the capture's start).
    pub end: Seconds,
    /// Most messages (new clients, for DHCP starvation) in one second.
    pub peak_per_second: u64,
    /// Frame of its first message.
    pub first_frame: u64,
    /// Frame of its last message.
    pub last_frame: u64,
    /// Frames that show it (the first and the last).
    pub evidence: Vec<u64>,
    /// The next checks to make.
    pub checks: Vec<String>,
}

/// One timeline entry.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Seconds from the capture's start.
    pub time: Seconds,
    /// Frame number (from 1).
    pub frame: u64,
    /// Boot stage.
    pub stage: Stage,
    /// What happened.
    pub event: String,
    /// The event type (as rules name it).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Who the phone exchanged the message with: `switch`, `authenticator` (the switch
    /// port's 802.1X), `dhcp_server`, `dns_server`, `file_server` or `call_manager`.
    /// Absent for a message with no peer (malformed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_role: Option<&'static str>,
    /// The peer's address, when known (absent for the switch, a DISCOVER, or a
    /// server the capture never names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// `from_phone` or `to_phone`; absent when the event does not say (TLS data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<&'static str>,
}

/// What should have come next for a phone that stopped, and what the reference model
/// predicts.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    /// The earliest stage of the next steps the boot cannot skip (of all of them when every
    /// one is optional).
    pub stage: Stage,
    /// The next steps of the expected sequence, in words.
    pub expected: Vec<String>,
    /// The frame of the last progress.
    pub after_frame: u64,
    /// What that was.
    pub after: String,
    /// Seconds waited since, to the end of the capture.
    pub waited: Seconds,
    /// The sequence's timeout for it (seconds).
    pub timeout: Seconds,
    /// The reference model's prediction from the last event that tells where the boot
    /// stands (the one that reached the furthest step, or a later one of its stage or a
    /// later stage); `None` when it makes none (no MAC, an event it does not read, a range the
    /// rules lack).
    pub model: Option<ModelPrediction>,
}

/// The reference model's word on what comes next.
#[derive(Debug, Clone, Serialize)]
pub struct ModelPrediction {
    /// The stage of the predicted step.
    pub stage: Stage,
    /// What a phone does next, in words.
    pub expect: String,
    /// Within how many seconds of the last event.
    pub within: Seconds,
    /// The frame of the last event, the one the prediction starts from.
    pub after_frame: u64,
    /// Who the predicted message is exchanged with (as in the timeline); absent
    /// when the model expects nothing more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_role: Option<&'static str>,
    /// That peer's address, when the model names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// `from_phone` or `to_phone`; absent when the model expects nothing more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<&'static str>,
}

impl ModelPrediction {
    /// The model expects nothing more: the boot ends here (no peer, no deadline).
    pub fn is_dead_end(&self) -> bool {
        self.peer_role.is_none()
    }
}

/// The fleet view.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Phones.
    pub phones: usize,
    /// Phones per status.
    pub status: BTreeMap<&'static str, usize>,
    /// Stalled phones per stage.
    pub stalled_stage: BTreeMap<&'static str, usize>,
    /// Phones per finding code.
    pub findings: BTreeMap<String, usize>,
    /// Other devices per kind.
    pub other_devices: BTreeMap<&'static str, usize>,
    /// The reading: systemic or local failures.
    pub diagnoses: Vec<Diagnosis>,
}

/// A group of phones that failed the same way.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// systemic (many phones, same stage and server) or local (one phone).
    pub scope: &'static str,
    /// The finding code.
    pub code: String,
    /// The stage.
    pub stage: Stage,
    /// The server involved, when the finding names one.
    pub server: Option<String>,
    /// Phones affected.
    pub phones: usize,
    /// Their names (the first few).
    pub examples: Vec<String>,
    /// Where to look.
    pub advice: String,
}

/// What was read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureInfo {
    /// The files.
    pub files: Vec<String>,
    /// Frames read.
    pub frames: u64,
    /// Bytes read.
    pub bytes: u64,
    /// First frame time (seconds since the epoch).
    pub start: Seconds,
    /// Capture length (seconds).
    pub duration: Seconds,
    /// Boot-protocol messages decoded.
    pub messages: u64,
    /// Messages a dissector could not read.
    pub malformed: u64,
    /// Messages no device could be found for.
    pub unattributed: u64,
    /// TCP stream holes.
    pub stream_gaps: u64,
    /// Times a device was not followed because the table (or the memory budget) was
    /// full of phones: a refused device is refused again each time it is seen.
    pub devices_refused: u64,
    /// Devices forgotten to make room (never shown to be phones, oldest first).
    pub devices_evicted: u64,
    /// Devices whose timeline and lists stopped growing because the memory budget
    /// was spent on phones (their counters and verdicts go on).
    pub devices_frozen: u64,
    /// Events of frozen devices not recorded because their strings did not fit
    /// the memory budget.
    pub events_dropped: u64,
    /// Transactions (TFTP transfers, HTTP requests, SIP REGISTERs, named endpoints)
    /// not followed because their table was full, or forgotten when idle.
    pub transactions_evicted: u64,
    /// TCP stream directions forgotten: idle, or half-open (a SYN, no byte since)
    /// when the table was full.
    pub streams_evicted: u64,
    /// Segments read without stream state because the table was full of streams
    /// carrying data.
    pub streams_untracked: u64,
    /// TFTP transfers the dispatcher forgot (idle) or did not follow (table full).
    pub tftp_evicted: u64,
    /// IP/endpoint bindings refused because the attribution tables were full.
    pub bindings_refused: u64,
    /// The bounds in force.
    pub limits: LimitsInfo,
    /// Which directions of the phones' exchanges with their servers the capture
    /// holds: `both`, `from_phones`, `to_phones` or `unknown`.
    pub directions: &'static str,
    /// The snap length the capture's headers declare (`null`: none).
    pub snaplen: Option<u32>,
    /// Frames worth reading that were cut short (captured length below the length
    /// on the wire).
    pub frames_cut: u64,
    /// Packets the capturing interface or host dropped, as the capture's own counters
    /// say (`null`: they say nothing).
    pub dropped: Option<u64>,
    /// Bytes of followed TCP streams their receivers acknowledged and the capture never
    /// held.
    pub tcp_bytes_unseen: u64,
    /// Warnings about the capture (damage, cut records).
    pub warnings: Vec<String>,
    /// The rule files in force.
    pub rules: Vec<String>,
    /// For a live session: the interface and libpcap's counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveInfo>,
    /// The tunnels the boot protocols' frames came in (ERSPAN from a remote switch,
    /// VXLAN, CAPWAP from a wireless controller), outermost first; absent when every
    /// frame was captured natively.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<TunnelInfo>,
}

/// A tunnel frames came in, by its outer addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TunnelInfo {
    /// `GRE`, `ERSPAN I`, `ERSPAN II`, `ERSPAN III`, `VXLAN` or `CAPWAP`.
    pub kind: &'static str,
    /// The outer source address (the mirroring switch, a tunnel end point).
    pub src: String,
    /// The outer destination address (the sensor, the other end point).
    pub dst: String,
    /// Frames of the boot protocols (those dissected) that came in it.
    pub frames: u64,
}

/// The bounds an analysis ran with (docs/usage.md "Limits").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LimitsInfo {
    /// Devices followed at once (`--max-devices`).
    pub max_devices: usize,
    /// TCP stream directions followed at once (`--max-streams`).
    pub max_streams: usize,
    /// Open transactions per table (`--max-flows`).
    pub max_flows: usize,
    /// The heap bytes the devices and their report entries may take (what
    /// `--max-memory` leaves them).
    pub max_device_bytes: usize,
}

impl CaptureInfo {
    /// Whether a bound dropped, evicted or refused anything.
    pub fn state_capped(&self) -> bool {
        self.devices_refused
            + self.devices_evicted
            + self.devices_frozen
            + self.events_dropped
            + self.transactions_evicted
            + self.streams_evicted
            + self.streams_untracked
            + self.tftp_evicted
            + self.bindings_refused
            > 0
    }
}

/// What a live session captured, as libpcap counted it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveInfo {
    /// The interface.
    pub interface: String,
    /// The capture filter in force (BPF syntax; empty: everything).
    pub filter: String,
    /// Packets that passed the filter, as the kernel counted them.
    pub received: u64,
    /// Packets the kernel dropped because the capture buffer was full.
    pub dropped_by_kernel: u64,
    /// Packets the interface or its driver dropped (where the platform tells).
    pub dropped_by_interface: u64,
    /// Where every captured packet was written (`-w`), if anywhere.
    pub written_to: Option<String>,
}

impl Report {
    /// Whether any phone, or the site, has an error finding (exit code 1).
    pub fn has_errors(&self) -> bool {
        self.site_findings
            .iter()
            .any(|f| f.severity == Severity::Error)
            || self
                .phones
                .iter()
                .chain(&self.other_devices)
                .any(|p| p.findings.iter().any(|f| f.severity == Severity::Error))
    }

    /// The phone (or other device) named by `query`: a MAC in any usual notation, a
    /// SEP name, or a device name.
    pub fn find(&self, query: &str) -> Option<&PhoneReport> {
        let want = normalise_mac(query);
        self.phones.iter().chain(&self.other_devices).find(|p| {
            want.is_some() && p.mac.as_deref().and_then(normalise_mac) == want
                || p.device_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(query))
        })
    }
}

/// 12 lower-case hex digits from `00:11:22:33:44:55`, `0011.2233.4455`,
/// `00-11-22-33-44-55`, `001122334455` or `SEP001122334455`.
pub fn normalise_mac(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix("SEP")
        .or_else(|| s.strip_prefix("sep"))
        .unwrap_or(s);
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// Write the report as one JSON document.
///
/// # Errors
/// Writing fails.
pub fn write_json(report: &Report, out: &mut impl std::io::Write) -> std::io::Result<()> {
    json::write_pretty(report, out)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_recognised_in_every_usual_notation() {
        for s in [
            "00:1b:54:aa:00:01",
            "001B.54AA.0001",
            "00-1B-54-AA-00-01",
            "001b54aa0001",
            "SEP001B54AA0001",
        ] {
            assert_eq!(normalise_mac(s).as_deref(), Some("001b54aa0001"), "{s}");
        }
        assert_eq!(normalise_mac("SEP001B54AA00"), None);
        assert_eq!(normalise_mac("ANC288093711081"), None);
    }
}

/// What a phone's device configuration says, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigView {
    /// The file it came in.
    pub file: String,
    /// `plain`, `signed` or `encrypted` (nothing more is known of an encrypted one).
    pub envelope: &'static str,
    /// The call-manager group in priority order.
    pub call_managers: Vec<ConfigCmView>,
    /// `deviceSecurityMode`: 1, 2 or 3; `null` when absent.
    pub security_mode: Option<u8>,
    /// The mode in words: `non-secure`, `authenticated`, `encrypted`.
    pub security: Option<&'static str>,
    /// The SRST routers of `srstInfo` (empty when absent or disabled).
    pub srst: Vec<String>,
    /// `srstOption` as written.
    pub srst_option: Option<String>,
    /// The TVS servers (`address`, `port`).
    pub tvs: Vec<ServerView>,
    /// `capfAuthMode`.
    pub capf_auth_mode: Option<u8>,
    /// The CAPF servers (`address`, `port`).
    pub capf: Vec<ServerView>,
    /// `loadInformation`: the load it is to run.
    pub load: Option<String>,
    /// `transportLayerProtocol` as a number.
    pub transport: Option<u8>,
    /// `loadServer`.
    pub load_server: Option<String>,
    /// The whole file was read (false: cut by the capture or the bound kept).
    pub complete: bool,
}

/// A call manager of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigCmView {
    /// The address or host name the phone connects to (`processNodeName`).
    pub host: String,
    /// SCCP port (`ethernetPhonePort`).
    pub sccp_port: Option<u16>,
    /// SIP port (`sipPort`).
    pub sip_port: Option<u16>,
    /// SIP over TLS port (`securedSipPort`).
    pub secured_sip_port: Option<u16>,
    /// SCCP over TLS (2443), when the security mode asks for a secure registration.
    pub secure_sccp_port: Option<u16>,
}

/// A server of the configuration and its port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerView {
    /// Its address or host name.
    pub address: String,
    /// Its port.
    pub port: u16,
}

impl ConfigView {
    /// The report's view of a configuration read.
    pub fn of(c: &crate::timeline::ConfigSummary) -> Self {
        let servers = |l: &[(Box<str>, u16)]| {
            l.iter()
                .map(|(a, p)| ServerView {
                    address: a.to_string(),
                    port: *p,
                })
                .collect()
        };
        let text = |t: &Option<Box<str>>| t.as_deref().map(str::to_owned);
        ConfigView {
            file: c.file.to_string(),
            envelope: c.envelope.as_str(),
            call_managers: c
                .call_managers
                .iter()
                .map(|m| ConfigCmView {
                    host: m.host.to_string(),
                    sccp_port: m.sccp_port,
                    sip_port: m.sip_port,
                    secured_sip_port: m.secured_sip_port,
                    // Unified CM's SCCP over TLS port; the configuration does not name it.
                    secure_sccp_port: c.secure().then_some(2443),
                })
                .collect(),
            security_mode: c.security_mode,
            security: c.security_name(),
            srst: c.srst.iter().map(|s| s.to_string()).collect(),
            srst_option: text(&c.srst_option),
            tvs: servers(&c.tvs),
            capf_auth_mode: c.capf_auth_mode,
            capf: servers(&c.capf),
            load: text(&c.load),
            transport: c.transport,
            load_server: text(&c.load_server),
            complete: c.complete,
        }
    }
}
