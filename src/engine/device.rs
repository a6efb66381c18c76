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
    DiscoveryProto, Event, EventKind, EventType, FileClass, FileTransport, LossCause, Signalling,
    Timeline,
};

/// Files followed per boot; past it further files are counted only.
const MAX_FILES: usize = 64;
/// Call managers followed per boot.
const MAX_CMS: usize = 8;
/// Keepalive misses kept in a boot's timeline (the rest are counted).
const MAX_MISSES_KEPT: u32 = 16;
/// Evidence frames kept per event type per boot.
const MAX_EVIDENCE: usize = 8;
/// Earlier boots kept in full per device (older ones are summarised by counters).
pub const MAX_BOOTS_KEPT: usize = 4;
/// Report bytes a judged device (a phone, a SIP agent, an SCCP device) becomes at
/// most, before its timeline: the entry, its strings, the findings with their checks,
/// what was expected next. These three are upper estimates: on a 1000-phone fleet
/// the report took 4.3 KB a device, timeline entries included, about 205 bytes per
/// entry, and the charges came to 1.6 times the state and the report together
/// (`tests/flood.rs`, docs/usage.md "Limits").
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
    /// An SCCP device without a SEP name that is no media resource (a gateway's analog
    /// port, its virtual phone).
    SccpDevice,
    /// A router: CDP with the router capability and neither the switch's nor the
    /// phone's, or a MAC that sends for several addresses.
    Router,
    /// A voice gateway or CUBE: its SIP User-Agent / Server says so (`phones.json`).
    VoiceGateway,
    /// A media resource registering with the call manager over SCCP: a conference
    /// bridge, an MTP, a transcoder (`phones.json`), or the router that hosts one.
    MediaResource,
    /// A computer (or its docking station): LLDP-MED Endpoint Class I or II without
    /// the telephone capability.
    Pc,
}

impl DeviceKind {
    /// Name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Phone => "phone",
            DeviceKind::DhcpClient => "dhcp-client",
            DeviceKind::SipAgent => "sip-agent",
            DeviceKind::SccpDevice => "sccp-device",
            DeviceKind::Router => "router",
            DeviceKind::VoiceGateway => "voice-gateway",
            DeviceKind::MediaResource => "media-resource",
            DeviceKind::Pc => "pc",
        }
    }

    /// Whether its boot is judged (status from the boot sequence, findings): phones, and
    /// the agents that register as phones do (a SIP agent, an SCCP gateway port). The
    /// others are listed with what the capture shows of them, never with a finding.
    pub fn is_judged(self) -> bool {
        matches!(
            self,
            DeviceKind::Phone | DeviceKind::SipAgent | DeviceKind::SccpDevice
        )
    }

    /// Whether it is more precise than `other` about a device that is no phone: a
    /// voice gateway or a media resource is a router that says what it does.
    fn refines(self, other: DeviceKind) -> bool {
        other == DeviceKind::Router
            && matches!(self, DeviceKind::VoiceGateway | DeviceKind::MediaResource)
    }
}

/// How much a sign of what a device is weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    /// What a protocol makes of any device that speaks it: a DHCP client, a SIP agent,
    /// an SCCP device known by its name.
    Default,
    /// A sign phones give and other devices may too: SCCP keepalives with a call
    /// manager, an LLDP-MED endpoint asking for a network policy.
    Hint,
    /// A sign only one kind of device gives: a phone's (the CDP phone capability or
    /// platform, LLDP-MED class III or the telephone capability, DHCP option 60, a
    /// `SEP<MAC>` name, a Cisco phone's SIP agent or device name), or another's (a
    /// gateway's SIP agent, a media resource's SCCP device type, a PC's LLDP-MED class,
    /// a router's CDP).
    Sure,
}

/// One sign of what a device is, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clue {
    /// What it says the device is.
    pub kind: DeviceKind,
    /// How much it weighs.
    pub weight: Weight,
    /// The evidence, for the report (`identified_by`).
    pub why: &'static str,
}

impl Clue {
    /// A sign only `kind` gives.
    pub const fn sure(kind: DeviceKind, why: &'static str) -> Self {
        Clue {
            kind,
            weight: Weight::Sure,
            why,
        }
    }

    /// A sign phones give and other devices may too.
    pub const fn hint(kind: DeviceKind, why: &'static str) -> Self {
        Clue {
            kind,
            weight: Weight::Hint,
            why,
        }
    }

    /// What a protocol makes of any device that speaks it.
    pub const fn default(kind: DeviceKind, why: &'static str) -> Self {
        Clue {
            kind,
            weight: Weight::Default,
            why,
        }
    }

    /// Whether it outweighs what a device of `kind` was taken for on `weight`: a heavier
    /// sign wins; of two sure signs that disagree, a phone's wins (a phone marker is
    /// never a guess), and a gateway's or media resource's wins over a router's.
    pub fn outweighs(&self, kind: DeviceKind, weight: Weight) -> bool {
        match self.weight.cmp(&weight) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => {
                self.kind != kind
                    && self.weight != Weight::Default
                    && (self.kind == DeviceKind::Phone
                        || (kind != DeviceKind::Phone && self.kind.refines(kind)))
            }
        }
    }
}

/// Where a device's name was read, from the most telling source down. A name is
/// replaced only by one from a source further up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameSource {
    /// Made up from the SIP address of record and the address it came from (a SIP
    /// agent with no device name).
    AddressOfRecord,
    /// The DHCP host name (option 12) of a phone, when it is a `SEP<MAC>` name.
    DhcpHostName,
    /// The `SEP<MAC>` of its 802.1X identity (`CP-<model>-SEP<MAC>`).
    Dot1xIdentity,
    /// A file named after it that it asked for (`SEP<MAC>.cnf.xml`, `CTLSEP<MAC>.tlv`).
    ConfigFile,
    /// The LLDP system name.
    Lldp,
    /// The CDP device id.
    Cdp,
    /// The name it registered with: SCCP RegisterReq, SIP Contact `devicename`.
    Registration,
}

impl NameSource {
    /// Name for reports (`name_source`).
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::AddressOfRecord => "sip_address_of_record",
            NameSource::DhcpHostName => "dhcp_host_name",
            NameSource::Dot1xIdentity => "dot1x_identity",
            NameSource::ConfigFile => "config_file",
            NameSource::Lldp => "lldp_system_name",
            NameSource::Cdp => "cdp_device_id",
            NameSource::Registration => "registration",
        }
    }
}

/// The `name_source` of a phone's name made up from its MAC (`SEP<MAC>`, as the call
/// manager names a Cisco phone): no name was seen on the wire.
pub const MADE_UP_FROM_MAC: &str = "made_up_from_mac";

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
    /// ICMP unreachables answering the phone's packets to it (SYN, Register over UDP).
    pub unreachable: u32,
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
                || self.unreachable > 0
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
    /// Counters per event type, saturating: 16 bits hold any boot's (a rule asks
    /// "none", "one", "a few"), and every boot of every device carries one per type.
    pub counts: [u16; EventType::COUNT],
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
    /// An OFFER not yet followed by the phone's REQUEST (or its next DISCOVER).
    pub offer_pending: bool,
    /// DISCOVERs sent again after an OFFER: offers the phone did not take.
    pub offers_refused: u32,
    /// Option 150 as text, as an OFFER or the ACK carried it (the last one).
    pub option150_ascii: Option<Box<str>>,
    /// The phone announced its address (CDP address TLV, LLDP management address): it
    /// was up.
    pub announced_address: bool,
    /// The call manager that confirmed a de-registration not followed by a
    /// registration.
    pub unregistered: Option<IpAddr>,
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
    /// A DECLINE not yet followed by a lease: the DISCOVER after it goes on with this
    /// boot (RFC 2131 §3.1: the client starts over for another address).
    pub decline_pending: bool,
    /// SYNs to the configuration server's 6970 / 6971 not (yet) answered.
    pub config_syns_unanswered: u32,
    /// Resets from the configuration server's 6970 / 6971.
    pub config_rsts: u32,
    /// The configuration server accepted a connection on 6970 / 6971.
    pub config_connected: bool,
    /// The configuration server the last SYN went to, and its port.
    pub config_tcp_server: Option<(IpAddr, u16)>,
    /// The first ICMP unreachable answering a request to the configuration server: the
    /// server, its port and the reason.
    pub config_unreachable: Option<(IpAddr, u16, &'static str)>,
    /// The first ICMP unreachable answering the phone's signalling: the call manager,
    /// its port and the reason.
    pub cm_unreachable: Option<(IpAddr, u16, &'static str)>,
    /// The memory budget is spent: counters and facts still move, no list grows
    /// (evidence, files, call managers).
    pub frozen: bool,
    /// Bytes of the names in `files`, kept as they are added: the budget asks at
    /// every event.
    file_name_bytes: usize,
    /// What the switch port said: voice VLAN, PoE and 802.1X (`engine/dot1x.rs`).
    pub port: PortState,
    /// The registration kept after it was accepted ([`Steady`]), once registered.
    pub steady: Option<Box<Steady>>,
    /// The last failed TLS handshake with a call manager: its address, port and how.
    pub tls_failure: Option<(IpAddr, u16, crate::timeline::TlsFailure)>,
    /// What the last configuration read in this boot says (`engine/config.rs`).
    pub config: Option<Box<crate::timeline::ConfigSummary>>,
    /// The heap `config` holds, counted when it was set (the budget asks at every event).
    pub config_heap_bytes: usize,
    /// The names the phone looked up in DNS and what came back (at most
    /// [`MAX_LOOKUPS`]).
    pub lookups: Vec<DnsLookup>,
    /// Trust files (CTL, ITL) and signed configurations asked for again after they
    /// were received whole: the phone did not accept what it got.
    pub trust_refetches: u32,
    /// SYNs to a TVS (2445) not answered, resets from it, and whether one accepted.
    pub tvs: (u32, u32, bool),
    /// The TVS server tried last.
    pub tvs_server: Option<IpAddr>,
}

/// A registration as the phone keeps it after it was accepted: its connection, its
/// keepalives (counted, not recorded: one every 30 s on every phone), their misses, and
/// its losses and returns. Made at the registration, boxed: a device that never
/// registers pays one pointer.
#[derive(Debug, Clone)]
pub struct Steady {
    /// The call manager holding the registration.
    pub cm: IpAddr,
    /// The phone's port of the SCCP connection holding it (0: not known, or SIP).
    pub port: u16,
    /// The keepalive period the RegisterAck gave (ms).
    pub interval_ms: u32,
    /// Keepalives sent while registered.
    pub keepalives: u32,
    /// The keepalive awaiting its answer (time sent).
    pub pending: Option<i64>,
    /// Keepalives unanswered in a row.
    pub misses: u32,
    /// Keepalives unanswered in all.
    pub misses_total: u32,
    /// The call manager's side of the registration is in the capture (its acceptance
    /// or a keepalive answer): only then is a missing answer a miss.
    pub answers_seen: bool,
    /// The call manager reset the phone (SCCP Reset): the close that follows is the
    /// phone restarting, not a loss.
    pub reset_asked: bool,
    /// A SIP refresh sent while registered and not answered yet: when it is due
    /// (its first sending plus Timer F).
    pub refresh_due: Option<i64>,
    /// The registration lost and not back: since when, why, with which call manager.
    pub lost: Option<(i64, LossCause, IpAddr)>,
    /// The last cause of a loss (the current one, or the last one that came back).
    pub last_cause: Option<(LossCause, IpAddr)>,
    /// Losses (the current one included).
    pub losses: u32,
    /// Outages that ended: their total and the longest (ns).
    pub outage_total_ns: i64,
    /// The longest outage that ended.
    pub outage_longest_ns: i64,
    /// The phone's own account of the loss (`Last=…` of its alarm, or the SIP Reason),
    /// escaped.
    pub phone_says: Option<Box<str>>,
    /// The event being recorded ended an outage: the timeline keeps it.
    pub back_now: bool,
    /// TCP segments the phone sent again on the signalling connection while registered
    /// (the call manager did not acknowledge them).
    pub resent: u32,
}

impl Steady {
    /// A registration with `cm` accepted (or seen kept alive).
    pub fn new(cm: IpAddr, interval_ms: u32) -> Self {
        Steady {
            cm,
            port: 0,
            interval_ms,
            keepalives: 0,
            pending: None,
            misses: 0,
            misses_total: 0,
            answers_seen: false,
            reset_asked: false,
            refresh_due: None,
            lost: None,
            last_cause: None,
            losses: 0,
            outage_total_ns: 0,
            outage_longest_ns: 0,
            phone_says: None,
            back_now: false,
            resent: 0,
        }
    }

    /// Heap bytes it holds, itself included (it lives in a box).
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Steady>() + self.phone_says.as_ref().map_or(0, |s| s.len())
    }

    /// Whether the registration is lost at `end_ns`: a loss not followed by a return, or a
    /// refresh unanswered past Timer F.
    pub fn lost_at(&self, end_ns: i64) -> bool {
        self.lost.is_some() || self.refresh_due.is_some_and(|due| due <= end_ns)
    }
}

/// Names kept per boot of the phone's DNS lookups (a configuration names at most three
/// call managers, option 66 one TFTP server).
pub const MAX_LOOKUPS: usize = 8;

/// One name a phone looked up, and the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsLookup {
    /// The name asked for (escaped).
    pub name: Box<str>,
    /// The server asked last.
    pub server: IpAddr,
    /// Queries sent for it (retries, A and AAAA).
    pub queries: u32,
    /// Answers received.
    pub answers: u32,
    /// The response code of the last answer.
    pub rcode: Option<u8>,
    /// Addresses answered (the first few).
    pub addrs: Vec<IpAddr>,
    /// Frame of the first query.
    pub first_frame: u64,
}

impl DnsLookup {
    /// Whether the name gave an address.
    pub fn resolved(&self) -> bool {
        !self.addrs.is_empty()
    }

    /// Whether the lookup is of `host` (case and a final dot aside).
    pub fn is_of(&self, host: &str) -> bool {
        self.name
            .trim_end_matches('.')
            .eq_ignore_ascii_case(host.trim_end_matches('.'))
    }

    /// What came back, in words: "no such name (NXDOMAIN) from 10.1.1.53".
    pub fn outcome(&self) -> String {
        let what = match self.rcode {
            None => format!(
                "no answer to {} quer{}",
                self.queries,
                if self.queries == 1 { "y" } else { "ies" }
            ),
            Some(0) if self.addrs.is_empty() => "an answer without an address".to_owned(),
            Some(0) => "an address".to_owned(),
            Some(2) => "server failure (SERVFAIL)".to_owned(),
            Some(3) => "no such name (NXDOMAIN)".to_owned(),
            Some(5) => "refused (REFUSED)".to_owned(),
            Some(r) => format!("error {r}"),
        };
        format!("{what} from {}", crate::timeline::ip_string(self.server))
    }
}

impl Boot {
    /// Note a DNS query of the phone.
    pub fn dns_query(&mut self, name: &str, server: IpAddr, frame: u64) {
        if let Some(l) = self.lookups.iter_mut().find(|l| l.is_of(name)) {
            l.queries = l.queries.saturating_add(1);
            l.server = server;
        } else if self.lookups.len() < MAX_LOOKUPS && !self.frozen {
            self.lookups.push(DnsLookup {
                name: name.into(),
                server,
                queries: 1,
                answers: 0,
                rcode: None,
                addrs: Vec::new(),
                first_frame: frame,
            });
        }
    }

    /// Note a DNS answer to the phone.
    pub fn dns_answer(&mut self, name: &str, rcode: u8, addrs: &[IpAddr]) {
        if let Some(l) = self.lookups.iter_mut().find(|l| l.is_of(name)) {
            l.answers = l.answers.saturating_add(1);
            // An A answer with the address and an AAAA answer without one: the
            // address stands.
            if l.addrs.is_empty() || !addrs.is_empty() {
                l.rcode = Some(rcode);
            }
            for a in addrs.iter().take(4) {
                if l.addrs.len() < 4 && !l.addrs.contains(a) {
                    l.addrs.push(*a);
                }
            }
        }
    }
}

/// How many of a boot's port events (802.1X, PoE) are kept to carry into the next
/// boot when they came after the last progress of this one.
pub const MAX_PORT_EVENTS: usize = 24;

/// What the switch port said to a boot: the voice VLAN each protocol gave, the PoE
/// asked for and offered, and the port's 802.1X authentication.
#[derive(Debug, Clone, Default)]
pub struct PortState {
    /// The voice VLAN given by CDP (VoIP VLAN reply) and by LLDP-MED (voice policy).
    pub voice_vlans: [Option<u16>; 2],
    /// The PoE the phone asked for, per protocol (CDP, LLDP), in mW: the most.
    pub poe_requested: [Option<u32>; 2],
    /// The PoE the switch offered, per protocol, in mW: the last.
    pub poe_granted: [Option<u32>; 2],
    /// The 802.1X exchange, when the port ran one.
    pub auth: Option<Box<PortAuth>>,
    /// The port events (802.1X, PoE, voice VLAN), the latest ones, with their frames and
    /// times: those after the boot's last progress belong to the next boot, which a
    /// DISCOVER opens only after them.
    pub events: Vec<(EventType, u64, i64)>,
}

/// A port's 802.1X exchange with the phone, as far as the boot saw it.
#[derive(Debug, Clone, Default)]
pub struct PortAuth {
    /// When its first message came.
    pub first_ns: i64,
    /// The identity the phone gave (escaped).
    pub identity: Option<Box<str>>,
    /// The last EAP method offered or asked for.
    pub method: Option<u8>,
    /// The last outcome: success (`true`) or failure, and when.
    pub outcome: Option<(bool, i64)>,
    /// The phone sent EAPOL (Start, a Response, Logoff).
    pub phone_spoke: bool,
    /// The Identity requests of the switch port.
    pub identity_requests: u32,
    /// The first DHCP OFFER after the exchange began: where MAB let the phone in when
    /// no EAP outcome came.
    pub first_offer_ns: Option<i64>,
}

impl PortAuth {
    /// Heap bytes it holds.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<PortAuth>() + self.identity.as_ref().map_or(0, |s| s.len())
    }

    /// Whether the port is unauthorised at the end: a failure last, or requests and
    /// no outcome at all and no OFFER (MAB never let the phone in).
    pub fn unauthorised(&self) -> bool {
        match self.outcome {
            Some((ok, _)) => !ok,
            None => self.first_offer_ns.is_none(),
        }
    }

    /// When the port let the phone in: EAP-Success, else (MAB, or an open port) the
    /// first OFFER; `None` while it has not.
    pub fn authorised_ns(&self) -> Option<i64> {
        match self.outcome {
            Some((true, t)) => Some(t),
            Some((false, _)) => None,
            None => self.first_offer_ns,
        }
    }
}

impl PortState {
    /// The PoE asked for by `proto` (mW).
    pub fn requested(&self, proto: DiscoveryProto) -> Option<u32> {
        match proto {
            DiscoveryProto::Cdp => self.poe_requested[0],
            DiscoveryProto::Lldp => self.poe_requested[1],
        }
    }

    /// The PoE offered by `proto` (mW).
    pub fn granted(&self, proto: DiscoveryProto) -> Option<u32> {
        match proto {
            DiscoveryProto::Cdp => self.poe_granted[0],
            DiscoveryProto::Lldp => self.poe_granted[1],
        }
    }

    /// The slots of `proto`: its voice VLAN, PoE asked for and offered.
    pub fn of_mut(
        &mut self,
        proto: DiscoveryProto,
    ) -> (&mut Option<u16>, &mut Option<u32>, &mut Option<u32>) {
        let [c_v, l_v] = &mut self.voice_vlans;
        let [c_r, l_r] = &mut self.poe_requested;
        let [c_g, l_g] = &mut self.poe_granted;
        match proto {
            DiscoveryProto::Cdp => (c_v, c_r, c_g),
            DiscoveryProto::Lldp => (l_v, l_r, l_g),
        }
    }

    /// Note a port event for carrying (the last [`MAX_PORT_EVENTS`]).
    pub fn keep(&mut self, t: EventType, frame: u64, ts_ns: i64) {
        // The latest ones: a running phone's periodic CDP would fill it for good.
        if self.events.len() >= MAX_PORT_EVENTS {
            self.events.remove(0);
        }
        self.events.push((t, frame, ts_ns));
    }

    /// Heap bytes it holds.
    pub fn heap_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<(EventType, u64, i64)>()
            + self.auth.as_ref().map_or(0, |a| a.heap_bytes())
    }

    /// What of it came after `since` (a boot's last progress): the part of the port's
    /// exchange that belongs to the next boot.
    fn after(&self, since: i64) -> PortState {
        let events: Vec<_> = self
            .events
            .iter()
            .copied()
            .filter(|&(_, _, t)| t > since)
            .collect();
        let has = |f: fn(EventType) -> bool| events.iter().any(|&(t, _, _)| f(t));
        let auth = self.auth.as_ref().filter(|a| a.first_ns > since).cloned();
        PortState {
            voice_vlans: if has(|t| t == EventType::SwitchVoiceVlan) {
                self.voice_vlans
            } else {
                [None; 2]
            },
            poe_requested: if has(|t| t == EventType::PoeRequest) {
                self.poe_requested
            } else {
                [None; 2]
            },
            poe_granted: if has(|t| t == EventType::PoeGrant) {
                self.poe_granted
            } else {
                [None; 2]
            },
            auth,
            events,
        }
    }
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
            offer_pending: false,
            offers_refused: 0,
            option150_ascii: None,
            announced_address: false,
            unregistered: None,
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
            decline_pending: false,
            config_syns_unanswered: 0,
            config_rsts: 0,
            config_connected: false,
            config_tcp_server: None,
            config_unreachable: None,
            cm_unreachable: None,
            frozen: false,
            file_name_bytes: 0,
            port: PortState::default(),
            steady: None,
            tls_failure: None,
            config: None,
            config_heap_bytes: 0,
            lookups: Vec::new(),
            trust_refetches: 0,
            tvs: (0, 0, false),
            tvs_server: None,
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
            + text(&self.option150_ascii)
            + self.reject.as_ref().map_or(0, |r| r.1.len())
            + self.port.heap_bytes()
            + self.steady.as_ref().map_or(0, |s| s.heap_bytes())
            + self.config_heap_bytes
            + self.lookups.capacity() * size_of::<DnsLookup>()
            + self
                .lookups
                .iter()
                .map(|l| l.name.len() + l.addrs.capacity() * size_of::<IpAddr>())
                .sum::<usize>()
    }

    /// Whether the boot registered and, at `end_ns`, has its registration still (not
    /// lost, or lost and back).
    pub fn holds_registration(&self, end_ns: i64) -> bool {
        self.registered && !self.steady.as_ref().is_some_and(|s| s.lost_at(end_ns))
    }

    /// A running phone's boot: it announced its address, and nothing of a boot (no
    /// step of the sequence), of a registration or of a de-registration is in it.
    pub fn is_running(&self) -> bool {
        self.announced_address
            && self.furthest.is_none()
            && !self.registered
            && self.unregistered.is_none()
    }

    /// How many events of a type this boot saw.
    pub fn count(&self, t: EventType) -> u32 {
        self.counts.get(t as usize).copied().map_or(0, u32::from)
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
            let trust = matches!(class, FileClass::Ctl | FileClass::Itl)
                || name.to_ascii_lowercase().ends_with(".sgn")
                    && matches!(class, FileClass::DeviceConfig | FileClass::DefaultConfig);
            if trust && f.outcome == Some(FileOutcome::Received) {
                self.trust_refetches = self.trust_refetches.saturating_add(1);
            }
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
                    unreachable: 0,
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
    /// Why it is taken for what it is.
    pub evidence_of_kind: &'static str,
    /// How much that weighs ([`Clue`]): only a heavier sign changes the kind.
    pub weight: Weight,
    /// Its name as the wire gives it (CDP device id, LLDP system name, the name it
    /// registered with, a file named after it); `None` when none was seen.
    pub name: Option<Box<str>>,
    /// Where the name was read.
    pub name_source: Option<NameSource>,
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
    /// The address the phone found taken in the capture (its DECLINE, or another MAC's
    /// ARP for it), with the MAC that holds it when ARP told: kept across boots, as a
    /// phone that reboots asks for the address it got after the conflict.
    pub address_conflict: Option<(Ipv4Addr, Option<MacAddr>)>,
    /// After the conflict the phone was given another address (an ACK of it).
    pub address_recovered: bool,
    /// The switch's last answer to it (time, frame, voice VLAN).
    pub last_switch: Option<(i64, u64, Option<u16>)>,
    /// The switch port it is on, as the switch's CDP / LLDP Port ID names it.
    pub switch_port: Option<Box<str>>,
    /// What it and its switch said of its hardware, software and port (boxed: most
    /// devices never say).
    pub inventory: Option<Box<super::inventory::Inventory>>,
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
    /// A device first seen at `ts_ns`, `frame`, taken for what `clue` says. It has no
    /// name until the wire gives one ([`Self::set_name`]).
    pub fn new(key: DeviceKey, clue: Clue, ts_ns: i64, frame: u64) -> Self {
        Device {
            key,
            kind: clue.kind,
            evidence_of_kind: clue.why,
            weight: clue.weight,
            name: None,
            name_source: None,
            model: None,
            ip: None,
            vlan: None,
            timeline: Timeline::default(),
            boot: Boot::new(ts_ns, frame),
            earlier: Vec::new(),
            boots: 1,
            firmware_reboots: 0,
            last_announce: None,
            address_conflict: None,
            address_recovered: false,
            last_switch: None,
            switch_port: None,
            inventory: None,
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
            + text(&self.switch_port)
            + self.inventory.as_ref().map_or(0, |i| {
                std::mem::size_of::<super::inventory::Inventory>() + i.heap_bytes()
            })
            + self.timeline.heap_bytes()
            + self.boot.heap_bytes()
            + self.earlier.capacity() * std::mem::size_of::<Boot>()
            + self.earlier_heap
    }

    /// What the memory budget counts for the device: its heap, and an upper estimate
    /// of the report entry it becomes at the end (the report is built while the
    /// devices still exist). See docs/usage.md "Limits" and docs/performance.md for
    /// the measurements behind it.
    pub fn charge(&self) -> usize {
        let events = self.timeline.events.len();
        let judged = self.kind.is_judged();
        let report = if judged {
            REPORT_PER_PHONE
        } else {
            REPORT_PER_DEVICE
        } + events * REPORT_PER_EVENT
            + 2 * self
                .timeline
                .heap_bytes()
                .saturating_sub(self.timeline.events.capacity() * std::mem::size_of::<Event>())
            + self.report_inventory_bytes();
        self.heap_bytes() + report
    }

    /// The report entry's inventory facts ([`super::inventory::Facts`]): the box (made
    /// when there is anything to hold), the copies of its strings, the port's and the
    /// alarm's.
    fn report_inventory_bytes(&self) -> usize {
        let text = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
        let strings = self.inventory.as_ref().map_or(0, |i| i.heap_bytes())
            + text(&self.switch_port)
            + text(&self.boot.alarm);
        let any = self.inventory.is_some()
            || self.switch_port.is_some()
            || self.boot.alarm.is_some()
            || self.boot.voice_vlan.is_some()
            // An earlier boot may hold a voice VLAN (not looked for: this is asked at
            // every event).
            || !self.earlier.is_empty();
        if any {
            std::mem::size_of::<super::inventory::Facts>() + strings
        } else {
            0
        }
    }

    /// Set the device name read from `source`, unless the name it has came from a more
    /// telling source (or the same one: the first name stays). A frozen device keeps
    /// its own unless the new one is no longer. An empty name is none.
    pub fn set_name(&mut self, name: String, source: NameSource) {
        if name.is_empty() || self.name_source.is_some_and(|s| s >= source) {
            return;
        }
        if !self.frozen || name.len() <= self.name.as_ref().map_or(0, |n| n.len()) {
            self.name = Some(name.into());
            self.name_source = Some(source);
        }
    }

    /// The name the report gives it, with where it came from: the wire's, else for a
    /// phone keyed by its MAC `SEP<MAC>`, said to be made up.
    pub fn report_name(&self) -> (Option<std::borrow::Cow<'_, str>>, Option<&'static str>) {
        match (&self.name, self.name_source, self.mac()) {
            (Some(n), source, _) => (Some(n.as_ref().into()), source.map(NameSource::as_str)),
            (None, _, Some(mac)) if self.kind == DeviceKind::Phone => (
                Some(format!("SEP{}", mac.to_sep_hex()).into()),
                Some(MADE_UP_FROM_MAC),
            ),
            (None, _, _) => (None, None),
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
        // The registration kept is made at the first event that registers; the phone's
        // account of a loss is kept there too.
        let steady = match (&self.boot.steady, &ev.kind) {
            (
                None,
                EventKind::RegisterAck { .. }
                | EventKind::Keepalive { .. }
                | EventKind::KeepaliveAck { .. }
                | EventKind::SipCall { .. },
            ) => std::mem::size_of::<Steady>(),
            (Some(_), EventKind::Alarm { .. }) => strings,
            _ => 0,
        };
        doubling(&self.timeline.events)
            + steady
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

    /// Weigh a sign of what the device is (found later than its first sighting): a
    /// heavier one changes what it is taken for ([`Clue::outweighs`]). True when the
    /// kind changed.
    pub fn take(&mut self, clue: Clue) -> bool {
        if !clue.outweighs(self.kind, self.weight) {
            return false;
        }
        let changed = clue.kind != self.kind;
        self.revision += 1;
        self.kind = clue.kind;
        self.evidence_of_kind = clue.why;
        self.weight = clue.weight;
        changed
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
        // The port's exchange after the last progress (the phone restarted: its new
        // announcement, PoE and 802.1X come before the DISCOVER that opens this boot).
        let port = self.boot.port.after(last_progress);
        for &(t, f, ts) in &port.events {
            if t != EventType::SwitchVoiceVlan {
                boot.note(t, f, ts);
            }
        }
        if let (Some(s), Some(at)) = (
            carried.port_auth,
            port.auth.as_ref().and_then(|a| a.outcome).filter(|o| o.0),
        ) {
            let frame = port
                .events
                .iter()
                .find(|e| e.0 == EventType::EapSuccess && e.2 == at.1)
                .map_or(frame, |e| e.1);
            boot.reach(seq, s, at.1, frame, false);
        }
        boot.port = port;
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
        // A port that refused the phone (EAP-Failure) bars what follows until it lets the
        // phone in: the refusal stands as where the boot is, its DISCOVERs after it go
        // nowhere.
        let refused = self
            .boot
            .port
            .auth
            .as_deref()
            .is_some_and(|a| a.outcome.is_some_and(|(ok, _)| !ok));
        let refusal_stands = refused
            && self
                .boot
                .last_event
                .as_ref()
                .is_some_and(|e| matches!(e.kind, EventKind::EapFailure));
        let refusal = matches!(ev.kind, EventKind::EapFailure) && !self.boot.registered;
        // Nor an address or lookup event: the sequence has no step for them, so the
        // model predicts nothing from one.
        let moves_on = !refusal_stands
            && !matches!(
                ev.kind,
                EventKind::Keepalive { .. }
                    | EventKind::KeepaliveAck { .. }
                    | EventKind::Malformed { .. }
                    | EventKind::Cut { .. }
                    | EventKind::AddressInUse { .. }
                    | EventKind::ConfigSyn { .. }
                    | EventKind::ConfigSynAck { .. }
                    | EventKind::ConfigRst { .. }
                    | EventKind::IcmpUnreachable { .. }
                    | EventKind::DnsQuery { .. }
                    | EventKind::DnsAnswer { .. }
                    | EventKind::KeepaliveMissed { .. }
                    | EventKind::RegistrationLost { .. }
            )
            && (reached_furthest || not_behind);
        if refusal || moves_on {
            self.boot.last_event = Some(ev.clone());
        }
        // Keepalives every 30 s and REGISTER refreshes of a registered phone would fill
        // the timeline over a long capture: keep the first, count the rest. A
        // de-registration is no refresh.
        let deregistration = matches!(
            ev.kind,
            EventKind::Register {
                expires: Some(0),
                ..
            }
        );
        // Nor is a registration again after a loss (its Register while lost, the
        // acknowledgement that ends the outage).
        let again = self
            .boot
            .steady
            .as_deref_mut()
            .is_some_and(|s| s.lost.is_some() || std::mem::take(&mut s.back_now));
        let refresh = matches!(t, EventType::Register | EventType::RegisterAck)
            && self.boot.registered
            && self.boot.count(t) > 1
            && !deregistration
            && !again;
        // Keepalives, and a call's many messages, once each per boot.
        let keepalive = matches!(
            t,
            EventType::Keepalive | EventType::KeepaliveAck | EventType::SipCall
        );
        // A call manager late with its answers over a long capture: the first misses
        // are kept, the rest counted.
        let misses_enough = t == EventType::KeepaliveMissed && self.boot.count(t) > MAX_MISSES_KEPT;
        if (keepalive && self.boot.count(t) > 1 && !again) || refresh || misses_enough {
            return;
        }
        if self.frozen {
            self.timeline.dropped += 1;
            return;
        }
        self.timeline.push(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE_MAC: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);

    #[test]
    fn a_heavier_sign_wins_and_a_sure_phone_wins_a_tie() {
        let sure = |k| Clue::sure(k, "sure");
        let hint = Clue::hint(DeviceKind::Phone, "hint");
        use DeviceKind::*;
        use Weight::{Default as D, Hint as H, Sure as S};
        for (clue, kind, weight, wins) in [
            (hint, DhcpClient, D, true),
            (sure(VoiceGateway), Phone, H, true),
            (sure(Phone), Pc, S, true),
            (sure(Pc), Phone, S, false),
            (sure(MediaResource), Router, S, true),
            (sure(Router), VoiceGateway, S, false),
            (Clue::default(DhcpClient, "d"), SipAgent, D, false),
            (hint, Phone, S, false),
        ] {
            assert_eq!(
                clue.outweighs(kind, weight),
                wins,
                "{clue:?} over {kind:?} {weight:?}"
            );
        }
        let mut d = Device::new(DeviceKey::Mac(PHONE_MAC), hint, 0, 1);
        assert!(d.take(sure(VoiceGateway)));
        assert_eq!(
            (d.kind, d.weight, d.evidence_of_kind),
            (VoiceGateway, S, "sure")
        );
        assert!(!d.take(hint));
    }

    #[test]
    fn a_name_is_replaced_only_from_a_more_telling_source() {
        let clue = Clue::sure(DeviceKind::Phone, "test");
        let mut d = Device::new(DeviceKey::Mac(PHONE_MAC), clue, 0, 1);
        // No name on the wire: the report makes one up for a phone, and says so.
        assert_eq!(
            d.report_name(),
            (Some("SEP001B54AA0001".into()), Some(MADE_UP_FROM_MAC))
        );
        d.set_name("SEP001B54AA0001".into(), NameSource::ConfigFile);
        d.set_name("SIP001B54AA0001".into(), NameSource::Cdp);
        d.set_name("phone-lldp".into(), NameSource::Lldp);
        d.set_name(String::new(), NameSource::Registration);
        assert_eq!(
            d.report_name(),
            (Some("SIP001B54AA0001".into()), Some("cdp_device_id"))
        );
        d.set_name("SEP001B54AA0001".into(), NameSource::Registration);
        assert_eq!(d.name_source, Some(NameSource::Registration));
        // A device that is no phone gets no made-up name.
        let pc = Device::new(
            DeviceKey::Mac(PHONE_MAC),
            Clue::sure(DeviceKind::Pc, "pc"),
            0,
            1,
        );
        assert_eq!(pc.report_name(), (None, None));
    }

    #[test]
    fn a_refresh_is_lost_only_once_its_timer_f_ran_out_in_the_capture() {
        let cm = IpAddr::V4(Ipv4Addr::new(10, 1, 1, 10));
        let mut s = Steady::new(cm, 0);
        assert!(!s.lost_at(i64::MAX));
        s.refresh_due = Some(100);
        assert!(!s.lost_at(99), "Timer F runs past the capture's end");
        assert!(s.lost_at(100));
        s.refresh_due = None;
        s.lost = Some((5, LossCause::Reset { by_cm: true }, cm));
        assert!(s.lost_at(0));
    }
}
