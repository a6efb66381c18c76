//! The reference boot model, run as a discrete-event simulation: every phone is a
//! state machine over discovery → DHCP → config → firmware → registration, the
//! network (switch, DHCP relay and server, TFTP, call managers) answers it with its
//! faults, and every message is written as a frame, in time order, to a pcap. The
//! event queue holds a few timers per phone, so memory is flat in the capture's
//! length: a fleet of any size streams to disk. A scenario's `flood` adds an
//! attacker on the site: made-up DHCP clients emptying the scope (the server's pool
//! is counted, so phones asking after it is empty get no OFFER) and half-open TCP
//! flows; its clients are computed from their index, never stored.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::net::Ipv4Addr;

use super::encode;
use super::scenario::{
    Bulk, CmFault, ConfigSecurity, Discovery, DnsAnswer, Dot1x, Fault, FloodStyle, LapseBack,
    LapseKind, PhoneSpec, PortSpec, Protocol, Scenario, SipTransport, Site, Storm, StormKind,
    TftpOption, TftpTimeout, TlsMode, TrustFiles,
};
use super::timing::{StepTiming, Timing};
use super::truth::{ExpectedReport, ExpectedSite, Stage, Truth};
use super::variant::{self, FileScheme, Neighbours, Variant};
use super::wire::{self, Endpoint, PcapWriter, TcpFields, L2};
use crate::link::MacAddr;
use parsers::EmitError;
use rules::{FileClass, FileVia, ModelTiming, MsRange};

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;

/// The crate's one generator (SplitMix64, stable across versions: the samples are
/// compared byte for byte), here where the simulator and the fleet have named it.
pub use crate::rng::Rng;

/// Where a phone is in its boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Off,
    Discovery,
    Dhcp,
    Config,
    Firmware,
    Connecting,
    Registering,
    Registered,
    Idle,
}

/// A timer or an arrival for one device.
/// The background traffic's tick.
const TRAFFIC_TICK_NS: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Boot,
    SwitchAnswers,
    StartDhcp,
    DhcpRetry(u32),
    DhcpOffer,
    DhcpRequest,
    DhcpAnswer,
    DhcpRestart,
    NextFile,
    FileRetry(u32),
    ServerAnswersFile(u32),
    PhoneAcksBlock(u32),
    Connect(u32),
    SynRetry(u32),
    CmAnswersSyn,
    SendRegister,
    RegisterAnswer,
    RegisterRetry(u32),
    RegisterTimeout,
    KeepAlive,
    KeepAliveAnswer,
    /// A SIP refresh unanswered until Timer F: the registration is lost.
    RefreshLost,
    Reboot,
    PcBoot,
    PcNext(u32),
    Traffic,
    HttpConnect(u32),
    HttpAnswer,
    FloodTick,
    SynTick,
    /// The storms' messages due in the next millisecond.
    StormTick,
    /// A secure registration's handshake failed (alert, reset, no ServerHello in time).
    TlsFailed,
}

/// A file the phone fetches, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileReq {
    name: String,
    kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Ctl,
    Itl,
    Config,
    XmlDefault,
    LoadManifest,
    LoadImage,
    /// The 7940/7960 dual-boot file, `OS79XX.TXT`.
    DualBoot,
    /// The 7940/7960 SIP loads' `SIPDefault.cnf`.
    SipDefault,
}

impl FileKind {
    /// The class the analyzer gives such a file: the step its answer reaches.
    fn class(self) -> FileClass {
        match self {
            FileKind::Ctl => FileClass::Ctl,
            FileKind::Itl => FileClass::Itl,
            FileKind::Config => FileClass::DeviceConfig,
            FileKind::XmlDefault | FileKind::SipDefault => FileClass::DefaultConfig,
            FileKind::LoadManifest | FileKind::LoadImage => FileClass::Firmware,
            FileKind::DualBoot => FileClass::Other,
        }
    }

    /// The class whose step times the server's answer: the file's own, and for the
    /// dual-boot file, which reaches no step, a configuration's.
    fn timed_as(self) -> FileClass {
        match self {
            FileKind::DualBoot => FileClass::DeviceConfig,
            k => k.class(),
        }
    }
}

#[derive(Debug, Clone)]
struct Phone {
    mac: MacAddr,
    name: String,
    phase: Phase,
    vlan: Option<u16>,
    ip: Option<Ipv4Addr>,
    xid: u32,
    running_load: String,
    tftp: Vec<Ipv4Addr>,
    tftp_index: usize,
    files: Vec<FileReq>,
    file: Option<FileReq>,
    file_port: u16,
    server_port: u16,
    file_size: usize,
    cm_index: usize,
    failed_cm: bool,
    local_port: u16,
    seq: u32,
    peer_seq: u32,
    truth: Truth,
    epoch: u32,
    /// What the phone will report as its last failure (SCCP Alarm `Last=`).
    last_reason: &'static str,
    /// The call manager reset the secure connection: no FIN of the phone follows.
    tls_reset: bool,
    /// SIP: the CSeq of the next REGISTER, and whether it answers a challenge.
    cseq: u32,
    authorized: bool,
    /// Files come over HTTP 6970 on this connection (port, seq, peer seq).
    via_http: bool,
    http: (u16, u32, u32),
    /// What its model does differently in its boot.
    variant: Variant,
    /// The first wait before an unanswered TFTP request is sent again, in ns.
    tftp_first_ns: i64,
    /// Its port drops its frames (802.1X) until then: `i64::MAX` while unauthorised
    /// for good, 0 on an open port.
    port_open_ns: i64,
    /// It sends no DISCOVER before then (its supplicant waits for EAP-Success).
    dhcp_not_before: i64,
    /// It declined the first address it was given (another device holds it): the
    /// server gives it another.
    declined: bool,
    /// The call managers (by their place in the list) whose names it looked up in this
    /// boot.
    resolved: u8,
    /// It rebooted after a failure and has not sent its DISCOVER yet.
    rebooting: bool,
    /// Its registration lost this many times (`after_registration`).
    lapses: u32,
    /// Keepalives or refreshes answered since it registered.
    answered: u32,
    /// Keepalives sent since the call manager stopped answering them.
    misses: u32,
    /// The call managers' hosts answer no more SYNs: it will not register again.
    cut_off: bool,
    /// SIP: the registration period its REGISTERs ask for (s).
    sip_expires: u32,
    /// SIP: its next REGISTER tells why its registration was lost (`Reason`).
    tell_last: bool,
    /// Rounds of trust lists and signed configuration it asked for (a phone that does
    /// not take its signed configuration asks again).
    trust_rounds: u8,
    /// A call manager of its list failed it in DNS (its name did not resolve).
    unresolved_cm: bool,
    /// The SRST router of its configuration, as the call manager after its list.
    srst: Option<super::scenario::CallManager>,
}

/// How long port authentication may hold a phone's DHCP back before the builtin rules
/// call it slow (`dot1x-slow`: `dot1x_held_ms >= 30000` in `rules/findings.json`; a test
/// holds the two equal).
pub const DOT1X_SLOW_MS: i64 = 30_000;

/// A minimal TLS 1.2 ClientHello (`client`) or ServerHello record: a zero random, no
/// session id, the cipher suite TLS_RSA_WITH_AES_128_CBC_SHA, no compression.
fn tls_hello(client: bool) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0u8; 32]);
    body.push(0); // session id
    if client {
        body.extend_from_slice(&[0x00, 0x02, 0x00, 0x2f, 0x01, 0x00]);
    } else {
        body.extend_from_slice(&[0x00, 0x2f, 0x00]);
    }
    let len = body.len();
    let mut hs = vec![if client { 1 } else { 2 }, 0, (len >> 8) as u8, len as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x03, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

/// The 802.1X PAE group address (802.1X-2010 table 11-1).
const PAE_GROUP: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);
/// The ether type of EAPOL.
const ETHERTYPE_EAPOL: u16 = 0x888e;

/// The registration period the simulated registrar asks for at least (`CmFault::MinExpires`,
/// its 423's `Min-Expires`), in seconds: above the 3600 the phones ask.
const MIN_EXPIRES_S: u32 = 7200;

/// A queued event: (time, insertion order, device, boot epoch, event).
type Scheduled = (i64, u64, usize, u32, Ev);

/// Runs a scenario, writing frames to `out`; returns the expected outcome per phone.
pub struct Sim<'s, W: Write> {
    sc: &'s Scenario,
    /// The builtin boot sequence's timing: each step's `model_ms`, and the phone's.
    t: Timing<'static>,
    m: ModelTiming,
    rng: Rng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    order: u64,
    /// Frames stamped a little ahead of the event that made them, held until the
    /// clock reaches them, so the pcap is written in time order.
    ahead: BinaryHeap<Reverse<(i64, u64, Vec<u8>)>>,
    phones: Vec<Phone>,
    pcs: usize,
    out: PcapWriter<W>,
    end_ns: i64,
    start_ns: i64,
    /// Addresses left in the voice scope (`None`: as many as asked).
    pool_left: Option<u32>,
    /// Phones holding an address of the voice scope.
    holds: Vec<bool>,
    /// The flood: its own generator (the rest of the run draws what it drew without
    /// one), DISCOVERs and SYNs sent, addresses it took.
    flood_rng: Rng,
    flood_sent: u32,
    flood_in_capture: u64,
    flood_taken: u32,
    syns_sent: u32,
    /// Each storm's messages sent, and those inside the capture.
    storm_sent: Vec<u32>,
    storm_in_capture: Vec<u64>,
}

impl<'s, W: Write> Sim<'s, W> {
    /// Prepare a run of `sc` writing to `out`.
    ///
    /// # Errors
    /// Writing the pcap header fails; the builtin boot sequence does not load or lacks a
    /// range the model needs (a test sees that it loads and has them all).
    pub fn new(sc: &'s Scenario, out: W) -> std::io::Result<Self> {
        let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
        let t = Timing::builtin().map_err(|e| invalid(e.to_string()))?;
        let lacks = |what: &str| {
            invalid(format!(
                "the builtin boot sequence lacks the model's {what}"
            ))
        };
        if let Some(what) = t.missing_for_simulation() {
            return Err(lacks(what));
        }
        let m = t.model.ok_or_else(|| lacks("model_timing"))?;
        let mut rng = Rng::new(sc.seed);
        let start_ns = sc.start_epoch.saturating_mul(S);
        let phones = sc
            .phones
            .iter()
            .map(|p| {
                let load = p.running_load.clone().unwrap_or_else(|| phone_load(sc, p));
                Phone {
                    mac: p.mac.0,
                    name: format!("SEP{}", p.mac.0.to_sep_hex()),
                    phase: Phase::Off,
                    vlan: None,
                    ip: None,
                    xid: rng.next_u64() as u32,
                    running_load: load,
                    tftp: Vec::new(),
                    tftp_index: 0,
                    files: Vec::new(),
                    file: None,
                    file_port: 0,
                    server_port: 0,
                    file_size: 0,
                    cm_index: 0,
                    failed_cm: false,
                    local_port: 0,
                    seq: 0,
                    peer_seq: 0,
                    truth: Truth::default(),
                    epoch: 0,
                    last_reason: "Initialized",
                    tls_reset: false,
                    cseq: 101,
                    authorized: false,
                    via_http: false,
                    http: (0, 0, 0),
                    variant: variant::of(&p.model, p.protocol),
                    tftp_first_ns: m.tftp_retry_first_ms * MS,
                    port_open_ns: 0,
                    dhcp_not_before: 0,
                    declined: false,
                    resolved: 0,
                    rebooting: false,
                    lapses: 0,
                    answered: 0,
                    misses: 0,
                    cut_off: false,
                    sip_expires: 3600,
                    tell_last: false,
                    trust_rounds: 0,
                    unresolved_cm: false,
                    srst: phone_srst(sc, p),
                }
            })
            .collect();
        Ok(Sim {
            sc,
            t,
            m,
            rng,
            queue: BinaryHeap::new(),
            order: 0,
            ahead: BinaryHeap::new(),
            phones,
            pcs: sc.background.pcs as usize,
            out: PcapWriter::new(out)?,
            end_ns: start_ns.saturating_add(i64::try_from(sc.duration_s).unwrap_or(0) * S),
            start_ns,
            pool_left: sc.site.dhcp_pool,
            holds: vec![false; sc.phones.len()],
            flood_rng: Rng::new(sc.seed ^ 0x5eed_f100d),
            flood_sent: 0,
            flood_in_capture: 0,
            flood_taken: 0,
            syns_sent: 0,
            storm_sent: vec![0; sc.flood.as_ref().map_or(0, |f| f.storms.len())],
            storm_in_capture: vec![0; sc.flood.as_ref().map_or(0, |f| f.storms.len())],
        })
    }

    /// Schedule `ev` for device `who`. Phone events carry the phone's boot epoch: a
    /// timer from before a reboot or a restart is dropped when it fires.
    fn at(&mut self, t: i64, who: usize, ev: Ev) {
        self.order += 1;
        let epoch = self.phones.get(who).map_or(0, |p| p.epoch);
        self.queue.push(Reverse((t, self.order, who, epoch, ev)));
    }

    fn emit(&mut self, t: i64, frame: &[u8]) -> std::io::Result<()> {
        if t <= self.end_ns {
            self.order += 1;
            self.ahead.push(Reverse((t, self.order, frame.to_vec())));
        }
        Ok(())
    }

    /// Write every held frame stamped at or before `now`.
    fn flush_until(&mut self, now: i64) -> std::io::Result<()> {
        while let Some(Reverse((t, _, _))) = self.ahead.peek() {
            if *t > now {
                break;
            }
            if let Some(Reverse((t, _, f))) = self.ahead.pop() {
                self.out.record(t, &f)?;
            }
        }
        Ok(())
    }

    /// Run to the end of the capture; returns the writer and the expected report.
    ///
    /// # Errors
    /// Writing fails.
    pub fn run(mut self) -> std::io::Result<(W, ExpectedReport)> {
        for i in 0..self.phones.len() {
            let spec = &self.sc.phones[i];
            let t = self.start_ns + i64::try_from(spec.start_ms).unwrap_or(0) * MS;
            if spec.already_registered {
                self.resume_registered(i, t);
            } else {
                self.at(t, i, Ev::Boot);
            }
        }
        for pc in 0..self.pcs {
            let t = self.start_ns + self.rng.range(0, 20_000) * MS;
            self.at(t, self.phones.len() + pc, Ev::PcBoot);
        }
        if self.sc.background.traffic_mbps > 0.0 {
            self.at(self.start_ns, self.phones.len() + self.pcs, Ev::Traffic);
        }
        if let Some(f) = &self.sc.flood {
            let who = self.phones.len() + self.pcs;
            let ms = |v: u64| self.start_ns + i64::try_from(v).unwrap_or(0) * MS;
            let (dhcp, syn) = (ms(f.start_ms), ms(f.syn_start_ms));
            let storms = f.storms.iter().map(|st| ms(st.start_ms)).min();
            if f.macs > 0 {
                self.at(dhcp, who, Ev::FloodTick);
            }
            if f.half_open > 0 {
                self.at(syn, who, Ev::SynTick);
            }
            if let Some(first) = storms {
                self.at(first, who, Ev::StormTick);
            }
        }
        while let Some(Reverse((t, _, who, epoch, ev))) = self.queue.pop() {
            if t > self.end_ns {
                break;
            }
            self.flush_until(t)?;
            if ev == Ev::Traffic {
                self.traffic(t)?;
                self.at(t + TRAFFIC_TICK_NS, who, Ev::Traffic);
            } else if ev == Ev::FloodTick {
                if self.flood_tick(t)? {
                    self.at(t + MS, who, Ev::FloodTick);
                }
            } else if ev == Ev::SynTick {
                if self.syn_tick(t)? {
                    self.at(t + MS, who, Ev::SynTick);
                }
            } else if ev == Ev::StormTick {
                if self.storm_tick(t)? {
                    self.at(t + MS, who, Ev::StormTick);
                }
            } else if who >= self.phones.len() {
                self.pc_event(t, who - self.phones.len(), ev)?;
            } else if epoch == self.phones[who].epoch || ev == Ev::Reboot {
                self.phone_event(t, who, ev)?;
            }
        }
        self.flush_until(self.end_ns)?;
        let mut phones: Vec<_> = self
            .phones
            .iter()
            .map(|p| p.truth.outcome(p.mac.to_string(), p.name.clone()))
            .collect();
        phones.sort_by(|a, b| a.mac.cmp(&b.mac));
        let mut site_findings = match &self.sc.flood {
            Some(f) if self.flood_in_capture > 0 => vec![ExpectedSite {
                code: "dhcp-starvation".into(),
                vlan: Some(f.vlan_in(&self.sc.site)),
                clients: self.flood_in_capture,
                messages: 0,
            }],
            _ => Vec::new(),
        };
        let storms = self.sc.flood.iter().flat_map(|f| &f.storms);
        for (storm, &messages) in storms.zip(&self.storm_in_capture) {
            if messages > 0 {
                site_findings.push(ExpectedSite {
                    code: storm.code().into(),
                    vlan: storm.vlan_in(&self.sc.site),
                    clients: 0,
                    messages,
                });
            }
        }
        let w = self.out.finish()?;
        Ok((
            w,
            ExpectedReport {
                site_findings,
                phones,
            },
        ))
    }

    // ---- addressing -------------------------------------------------------------

    fn host_ip(&self, base: Ipv4Addr, i: usize) -> Ipv4Addr {
        let b = u32::from(base);
        Ipv4Addr::from(b.wrapping_add(u32::try_from(i).unwrap_or(0)))
    }

    fn lease_for(&self, i: usize) -> Ipv4Addr {
        // After a DECLINE: an address past every phone's first one.
        let host = if self.phones[i].declined {
            self.phones.len() + i
        } else {
            i
        };
        if self.phones[i].vlan.is_some() {
            self.host_ip(self.sc.site.pool_start, host)
        } else {
            // The data subnet: same host part, data gateway's network.
            let pool = u32::from(self.sc.site.pool_start) & 0xff;
            let net = u32::from(self.sc.site.data_gateway) & 0xffff_ff00;
            Ipv4Addr::from(net | pool).saturating_host(host)
        }
    }

    fn gateway_ip(&self, i: usize) -> Ipv4Addr {
        if self.phones[i].vlan.is_some() {
            self.sc.site.voice_gateway
        } else {
            self.sc.site.data_gateway
        }
    }

    fn phone_l2(&self, i: usize, dst: MacAddr) -> L2 {
        L2 {
            src: self.phones[i].mac,
            dst,
            vlan: self.phones[i].vlan,
        }
    }

    fn to_phone_l2(&self, i: usize) -> L2 {
        L2 {
            src: self.sc.site.gateway_mac.0,
            dst: self.phones[i].mac,
            vlan: self.phones[i].vlan,
        }
    }

    /// A delay drawn from one of the model's ranges.
    fn span(&mut self, range: MsRange) -> i64 {
        self.jitter(range.lo, range.hi)
    }

    /// A delay drawn from the `model_ms` of a step (every one the simulator asks for is
    /// there: [`Sim::new`] checked).
    fn step_span(&mut self, step: Option<StepTiming>) -> i64 {
        step.and_then(|s| s.ms).map_or(0, |r| self.span(r))
    }

    fn jitter(&mut self, lo_ms: i64, hi_ms: i64) -> i64 {
        self.rng.range(lo_ms * 1000, hi_ms * 1000) * 1000
    }

    fn spec(&self, i: usize) -> &PhoneSpec {
        &self.sc.phones[i]
    }

    /// The load phone `i`'s configuration names.
    fn load_for(&self, i: usize) -> String {
        phone_load(self.sc, self.spec(i))
    }

    /// Whether phone `i` announces itself with CDP and with LLDP-MED: the neighbour
    /// protocols its family speaks that the site's switch speaks too.
    /// Whether phone `i` asks its switch, over CDP, for more PoE than the port has.
    fn poe_short(&self, i: usize) -> bool {
        let spec = self.port(i);
        let asked = spec.poe_requested_mw.unwrap_or(encode::PHONE_POWER_MW);
        let offered = spec.poe_available_mw.unwrap_or(encode::SWITCH_POWER_MW);
        self.speaks(i).0 && offered < asked
    }

    fn speaks(&self, i: usize) -> (bool, bool) {
        let disc = self.sc.site.discovery;
        let cdp = matches!(disc, Discovery::Cdp | Discovery::Both);
        let lldp = matches!(disc, Discovery::Lldp | Discovery::Both);
        match self.phones[i].variant.neighbours {
            Neighbours::AsSite => (cdp, lldp),
            Neighbours::CdpOnly => (cdp, false),
            Neighbours::Wireless => (false, false),
        }
    }

    // ---- the phone ------------------------------------------------------------

    fn phone_event(&mut self, t: i64, i: usize, ev: Ev) -> std::io::Result<()> {
        match ev {
            Ev::Boot => self.boot(t, i),
            Ev::SwitchAnswers => self.switch_answers(t, i),
            Ev::StartDhcp => {
                self.phones[i].phase = Phase::Dhcp;
                self.discover(t, i, 0)
            }
            Ev::DhcpRetry(n) if self.phones[i].phase == Phase::Dhcp => self.discover(t, i, n),
            Ev::DhcpOffer if self.phones[i].phase == Phase::Dhcp => self.offer(t, i),
            Ev::DhcpRequest if self.phones[i].phase == Phase::Dhcp => self.request(t, i),
            Ev::DhcpAnswer if self.phones[i].phase == Phase::Dhcp => self.dhcp_answer(t, i),
            Ev::DhcpRestart => {
                self.phones[i].phase = Phase::Dhcp;
                self.phones[i].xid = self.rng.next_u64() as u32;
                self.discover(t, i, 0)
            }
            Ev::NextFile => self.next_file(t, i),
            Ev::FileRetry(n) => self.file_retry(t, i, n),
            Ev::ServerAnswersFile(block) => self.server_block(t, i, block),
            Ev::PhoneAcksBlock(block) => self.phone_ack(t, i, block),
            Ev::Connect(attempt) => self.connect(t, i, attempt),
            Ev::SynRetry(n) if self.phones[i].phase == Phase::Connecting => self.syn(t, i, n),
            Ev::CmAnswersSyn if self.phones[i].phase == Phase::Connecting => {
                self.cm_answers_syn(t, i)
            }
            Ev::SendRegister => self.send_register(t, i),
            Ev::RegisterAnswer if self.phones[i].phase == Phase::Registering => {
                self.register_answer(t, i)
            }
            Ev::RegisterRetry(n) if self.phones[i].phase == Phase::Registering => {
                self.register_retry(t, i, n)
            }
            Ev::RegisterTimeout if self.phones[i].phase == Phase::Registering => {
                self.register_timeout(t, i)
            }
            Ev::KeepAlive if self.phones[i].phase == Phase::Registered => self.keepalive(t, i),
            Ev::KeepAliveAnswer if self.phones[i].phase == Phase::Registered => {
                self.keepalive_answer(t, i)
            }
            Ev::RefreshLost if self.phones[i].phase == Phase::Registered => {
                self.lose_registration(t, i, "KeepaliveTO", false)
            }
            Ev::Reboot => {
                self.phones[i].epoch += 1;
                self.boot(t, i)
            }
            Ev::HttpConnect(n) if self.phones[i].phase == Phase::Config => {
                self.http_connect(t, i, n)
            }
            Ev::HttpAnswer if self.phones[i].phase == Phase::Config => self.http_answer(t, i),
            Ev::TlsFailed if self.phones[i].phase == Phase::Registering => self.tls_failed(t, i),
            _ => Ok(()),
        }
    }

    fn boot(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let p = &mut self.phones[i];
        p.phase = Phase::Discovery;
        p.vlan = None;
        p.ip = None;
        p.tftp.clear();
        p.files.clear();
        p.file = None;
        p.cm_index = 0;
        p.port_open_ns = 0;
        p.dhcp_not_before = 0;
        p.resolved = 0;
        if self.spec(i).tftp_timeout == TftpTimeout::Drawn {
            self.phones[i].tftp_first_ns = self.span(self.m.tftp_timeout_ms);
        }
        let model = self.spec(i).model.clone();
        let load = self.phones[i].running_load.clone();
        let (mac, name) = (self.phones[i].mac, self.phones[i].name.clone());
        if self.phones[i].variant.neighbours == Neighbours::Wireless {
            // On Wi-Fi: no switch port to announce itself on, no voice VLAN to learn. The
            // DISCOVER follows the association, timed (an assumption) as it follows a
            // switch's voice VLAN.
            let d = self.step_span(self.t.discover);
            self.at(t + d, i, Ev::StartDhcp);
            return Ok(());
        }
        let (cdp, lldp) = self.speaks(i);
        if cdp {
            let platform = self.phones[i].variant.platform.clone();
            let pdu = match self.port(i).poe_requested_mw {
                Some(mw) => encode::cdp_phone_power(&name, &platform, &load, mw)?,
                None => encode::cdp_phone_as(&name, &platform, &load)?,
            };
            self.emit(t, &wire::cdp_frame(mac, None, &pdu))?;
        }
        if lldp {
            let pdu = encode::lldp_phone(mac, &name, &model, &load)?;
            let l2 = L2 {
                src: mac,
                dst: wire::LLDP_MULTICAST,
                vlan: None,
            };
            self.emit(t + MS, &wire::ether_frame(l2, 0x88cc, &pdu))?;
        }
        let d = self.step_span(self.t.switch_answer);
        let Some(how) = self.port(i).dot1x else {
            self.at(t + d, i, Ev::SwitchAnswers);
            return Ok(());
        };
        // A port that authenticates answers from its own MAC, once it has asked the
        // phone for its identity (an assumption of the model).
        let asked = self.dot1x(t, i, how)?;
        self.at(
            (t + d).max(asked.map_or(0, |a| a + MS)),
            i,
            Ev::SwitchAnswers,
        );
        Ok(())
    }

    /// Phone `i`'s switch port (the site's defaults when the scenario says nothing).
    fn port(&self, i: usize) -> PortSpec {
        self.spec(i).port.clone().unwrap_or_default()
    }

    /// The MAC the switch port of phone `i` sends from when it authenticates it: one
    /// per port, after the switch's own (a Catalyst's ports each have theirs).
    fn port_mac(&self, i: usize) -> MacAddr {
        let m = self.sc.site.switch_mac.0 .0;
        let low = u32::from_be_bytes([0, m[3], m[4], m[5]]);
        let n = low
            .wrapping_add(1 + u32::try_from(i).unwrap_or(0))
            .to_be_bytes();
        MacAddr([m[0], m[1], m[2], n[1], n[2], n[3]])
    }

    /// The 802.1X exchange of phone `i`'s port, from its power-on at `t`, played whole
    /// (its frames are held until the clock reaches them): EAPOL-Start, the identity
    /// `CP-<model>-SEP<MAC>`, EAP-TLS, and its end. The port lets DHCP through from
    /// EAP-Success (the phone's supplicant waits for it), from MAB after the unanswered
    /// identity requests of a phone without one, or never after an EAP-Failure.
    /// When the port first asked the phone itself for its identity (none under MAB).
    fn dot1x(&mut self, t: i64, i: usize, how: Dot1x) -> std::io::Result<Option<i64>> {
        let (mac, port) = (self.phones[i].mac, self.port_mac(i));
        let identity = format!("CP-{}-{}", self.spec(i).model, self.phones[i].name);
        let tx_period = self.m.dot1x_tx_period_ms * MS;
        let frame = |src, dst, pdu: &[u8]| {
            wire::ether_frame(
                L2 {
                    src,
                    dst,
                    vlan: None,
                },
                ETHERTYPE_EAPOL,
                pdu,
            )
        };
        let mut id = 0u8;
        let mut at = t + 2 * MS;
        if how == Dot1x::Mab {
            // No supplicant: the switch's identity requests at link-up and after each
            // tx-period go unanswered (Cisco `dot1x max-reauth-req` 2: three in all),
            // then MAB lets the phone in.
            for k in 0..3 {
                let pdu = encode::eapol(encode::Eapol::RequestIdentity, k + 1)?;
                self.emit(at + i64::from(k) * tx_period, &frame(port, PAE_GROUP, &pdu))?;
            }
            self.phones[i].port_open_ns = at + 3 * tx_period;
            if 3 * tx_period >= DOT1X_SLOW_MS * MS {
                self.phones[i].truth.warn("dot1x-slow");
            }
            return Ok(None);
        }
        // The RADIUS server answers only the last attempt of a slow port.
        let attempts = if how == Dot1x::SlowSuccess { 3 } else { 1 };
        let first = at;
        let pdu = encode::eapol(encode::Eapol::Start, 0)?;
        self.emit(at, &frame(mac, PAE_GROUP, &pdu))?;
        // A ClientHello and a ServerHello, well formed and minimal (TLS 1.2, one cipher
        // suite, no extensions): the model plays the exchange's shape, not its
        // cryptography.
        let client_hello = tls_hello(true);
        let server_hello = tls_hello(false);
        let mut attempt_start = at;
        let mut first_request = None;
        for k in 0..attempts {
            if k > 0 {
                attempt_start += tx_period;
                at = attempt_start;
            }
            let mut step = |sim: &mut Self, src, dst, pdu: encode::Eapol<'_>| {
                at += sim.span(sim.m.eap_answer_ms);
                if matches!(
                    pdu,
                    encode::Eapol::RequestIdentity | encode::Eapol::TlsRequest { .. }
                ) {
                    id = id.wrapping_add(1);
                }
                let bytes = encode::eapol(pdu, id)?;
                sim.emit(at, &frame(src, dst, &bytes))?;
                Ok::<_, std::io::Error>(at)
            };
            let asked = step(self, port, mac, encode::Eapol::RequestIdentity)?;
            first_request.get_or_insert(asked);
            step(self, mac, port, encode::Eapol::ResponseIdentity(&identity))?;
            step(
                self,
                port,
                mac,
                encode::Eapol::TlsRequest {
                    start: true,
                    data: &[],
                },
            )?;
            step(self, mac, port, encode::Eapol::TlsResponse(&client_hello))?;
            if k + 1 < attempts {
                continue;
            }
            step(
                self,
                port,
                mac,
                encode::Eapol::TlsRequest {
                    start: false,
                    data: &server_hello,
                },
            )?;
            // The phone's empty answer acknowledges the server's record (RFC 5216 §3.2).
            step(self, mac, port, encode::Eapol::TlsResponse(&[]))?;
            let end = if how == Dot1x::Failure {
                encode::Eapol::Failure
            } else {
                encode::Eapol::Success
            };
            step(self, port, mac, end)?;
        }
        if how == Dot1x::Failure {
            self.phones[i].port_open_ns = i64::MAX;
            self.phones[i].truth.fail(Stage::Discovery, "dot1x-failed");
            // After each quiet-period the switch tries again, and fails again.
            let quiet = self.m.dot1x_quiet_period_ms * MS;
            while at + quiet <= self.end_ns {
                at += quiet;
                for pdu in [
                    encode::Eapol::RequestIdentity,
                    encode::Eapol::ResponseIdentity(&identity),
                    encode::Eapol::Failure,
                ] {
                    let (src, dst) = if matches!(pdu, encode::Eapol::ResponseIdentity(_)) {
                        (mac, port)
                    } else {
                        (port, mac)
                    };
                    if pdu == encode::Eapol::RequestIdentity {
                        id = id.wrapping_add(1);
                    }
                    at += self.span(self.m.eap_answer_ms);
                    let bytes = encode::eapol(pdu, id)?;
                    self.emit(at, &frame(src, dst, &bytes))?;
                }
            }
            return Ok(first_request);
        }
        let d = self.span(self.m.dot1x_success_to_discover_ms);
        self.phones[i].dhcp_not_before = at + d;
        if at - first >= DOT1X_SLOW_MS * MS {
            self.phones[i].truth.warn("dot1x-slow");
        }
        Ok(first_request)
    }

    fn switch_answers(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let site = &self.sc.site;
        let heard = self.speaks(i) != (false, false);
        if !heard {
            // The phone speaks no protocol of the switch's: no answer, no voice VLAN; it
            // waits for one, then boots on the native VLAN. The analyzer, which saw no
            // announcement either, has nothing to warn about.
            let wait = self.span(self.m.no_voice_vlan_ms);
            self.at(t + wait, i, Ev::StartDhcp);
            return Ok(());
        }
        let voice = (!self.sc.has_fault(i, Fault::NoVoiceVlan)).then_some(site.voice_vlan);
        let port = format!("GigabitEthernet1/0/{}", i % 48 + 1);
        let spec = self.port(i);
        // A port that authenticates sends from its own MAC (CDP and LLDP too).
        let src = if spec.dot1x.is_some() {
            self.port_mac(i)
        } else {
            site.switch_mac.0
        };
        let cdp = matches!(site.discovery, Discovery::Cdp | Discovery::Both);
        if cdp {
            let pdu = match spec.poe_available_mw {
                Some(mw) => {
                    encode::cdp_switch_power(&site.switch_name, &port, site.native_vlan, voice, mw)?
                }
                None => encode::cdp_switch(&site.switch_name, &port, site.native_vlan, voice)?,
            };
            self.emit(t, &wire::cdp_frame(src, None, &pdu))?;
            if self.poe_short(i) {
                self.phones[i].truth.warn("poe-power-denied");
            }
        }
        let lldp_voice = voice.and(spec.lldp_voice_vlan).or(voice);
        if matches!(site.discovery, Discovery::Lldp | Discovery::Both) {
            let pdu = encode::lldp_switch(src, &site.switch_name, &port, lldp_voice)?;
            let l2 = L2 {
                src,
                dst: wire::LLDP_MULTICAST,
                vlan: None,
            };
            self.emit(t + MS, &wire::ether_frame(l2, 0x88cc, &pdu))?;
        }
        // The phone follows CDP's voice VLAN when both speak (an assumption), and a
        // DHCP VLAN of its own when the scenario gives one.
        let took = if cdp { voice } else { lldp_voice };
        self.phones[i].vlan = took.and(spec.dhcp_vlan).or(took);
        let lldp_differs = cdp
            && self.speaks(i).1
            && matches!(site.discovery, Discovery::Both)
            && lldp_voice != voice;
        if lldp_differs || self.phones[i].vlan != took {
            self.phones[i].truth.warn("voice-vlan-conflict");
        }
        if voice.is_none() {
            // No voice VLAN: the phone waits for one, then boots on the native VLAN.
            self.phones[i].truth.warn("no-voice-vlan");
        }
        let wait = if voice.is_some() {
            self.step_span(self.t.discover)
        } else {
            self.span(self.m.no_voice_vlan_ms)
        };
        let start = (t + wait).max(self.phones[i].dhcp_not_before);
        self.at(start, i, Ev::StartDhcp);
        Ok(())
    }

    fn discover(&mut self, t: i64, i: usize, attempt: u32) -> std::io::Result<()> {
        let p = &self.phones[i];
        let msg = encode::dhcp_client(
            p.mac,
            &p.name,
            &p.variant.dhcp_model,
            p.xid,
            encode::DhcpClientKind::Discover,
            u16::try_from(attempt * 4).unwrap_or(u16::MAX),
        );
        self.emit(t, &self.client_broadcast(i, &msg))?;
        if std::mem::take(&mut self.phones[i].rebooting) {
            self.phones[i].truth.failure_reboots += 1;
        }
        // A port that is not authorised drops the DISCOVER: nothing to answer.
        let blocked = t < self.phones[i].port_open_ns;
        let starved = !blocked && !self.take_address(i);
        if blocked {
            // The port's fault, which the phone's truth already holds: refused for good
            // (EAP-Failure), the phone stalls at discovery, whose port never opened,
            // though it goes on asking DHCP.
        } else if self.sc.has_fault(i, Fault::DhcpSilent) || starved {
            if attempt >= 2 {
                self.phones[i].truth.fail(Stage::Dhcp, "dhcp-no-offer");
                self.starved_by_flood(t, i);
            }
        } else {
            let d = self.step_span(self.t.offer);
            self.at(t + d, i, Ev::DhcpOffer);
        }
        // RFC 2131: 4 s, doubling to 64 s, each ±1 s.
        let m = self.m;
        let base = (m.discover_retry_first_ms << attempt.min(4)).min(m.discover_retry_cap_ms);
        let spread = m.discover_retry_spread_ms;
        let wait = base * MS + self.jitter(-spread, spread);
        self.at(t + wait, i, Ev::DhcpRetry(attempt + 1));
        Ok(())
    }

    /// The phone's DHCP failed at `t`: if a flood on its VLAN had begun by then, that
    /// is the reason the analyzer gives (and the usual one: the flood emptied the
    /// scope), whatever else kept the server quiet.
    fn starved_by_flood(&mut self, t: i64, i: usize) {
        let Some(f) = &self.sc.flood else { return };
        let began = self.start_ns + i64::try_from(f.start_ms).unwrap_or(0) * MS;
        if f.macs > 0 && began <= t && self.phones[i].vlan == Some(f.vlan_in(&self.sc.site)) {
            self.phones[i].truth.fail(Stage::Dhcp, "dhcp-starvation");
        }
    }

    /// Whether the server has an address for phone `i`: one it holds already, or
    /// one left in the voice scope (then taken). The data scope never runs out.
    fn take_address(&mut self, i: usize) -> bool {
        let voice = self.phones[i].vlan == Some(self.sc.site.voice_vlan);
        match self.pool_left {
            Some(_) if !voice || self.holds[i] => true,
            Some(0) => false,
            Some(n) => {
                self.pool_left = Some(n - 1);
                self.holds[i] = true;
                true
            }
            None => true,
        }
    }

    fn client_broadcast(&self, i: usize, payload: &[u8]) -> Vec<u8> {
        let p = &self.phones[i];
        wire::dhcp_client_broadcast(p.mac, p.vlan, payload)
    }

    fn server_to_client(&self, i: usize, yiaddr: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
        wire::udp_frame(
            self.to_phone_l2(i),
            Endpoint {
                ip: self.gateway_ip(i),
                port: 67,
            },
            Endpoint {
                ip: yiaddr,
                port: 68,
            },
            payload,
        )
    }

    fn offer(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let yiaddr = self.lease_for(i);
        let msg = self.dhcp_reply(i, encode::DhcpServerKind::Offer, yiaddr);
        self.emit(t, &self.server_to_client(i, yiaddr, &msg))?;
        // Cancel the pending retransmission by moving on: a REQUEST follows.
        self.phones[i].phase = Phase::Dhcp;
        let d = self.step_span(self.t.request);
        self.at(t + d, i, Ev::DhcpRequest);
        Ok(())
    }

    fn dhcp_reply(&self, i: usize, kind: encode::DhcpServerKind, yiaddr: Ipv4Addr) -> Vec<u8> {
        let p = &self.phones[i];
        encode::dhcp_server(
            p.mac,
            p.xid,
            kind,
            yiaddr,
            self.gateway_ip(i),
            self.sc.site.dhcp_server,
            &self.sc.site.tftp_option,
        )
    }

    fn request(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let p = &self.phones[i];
        let yiaddr = self.lease_for(i);
        let msg = encode::dhcp_client(
            p.mac,
            &p.name,
            &p.variant.dhcp_model,
            p.xid,
            encode::DhcpClientKind::Request {
                requested: yiaddr,
                server: self.sc.site.dhcp_server,
            },
            0,
        );
        self.emit(t, &self.client_broadcast(i, &msg))?;
        let d = self.step_span(self.t.ack);
        self.at(t + d, i, Ev::DhcpAnswer);
        Ok(())
    }

    fn dhcp_answer(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let yiaddr = self.lease_for(i);
        if self.sc.has_fault(i, Fault::DhcpNak) {
            let msg = self.dhcp_reply(i, encode::DhcpServerKind::Nak, Ipv4Addr::UNSPECIFIED);
            self.emit(t, &self.server_to_client(i, Ipv4Addr::BROADCAST, &msg))?;
            self.phones[i].truth.fail(Stage::Dhcp, "dhcp-nak");
            self.starved_by_flood(t, i);
            // A new epoch stops the old retransmission timers; then start over.
            self.phones[i].epoch += 1;
            let d = self.span(self.m.nak_to_discover_ms);
            self.at(t + d, i, Ev::DhcpRestart);
            return Ok(());
        }
        let msg = self.dhcp_reply(i, encode::DhcpServerKind::Ack, yiaddr);
        self.emit(t, &self.server_to_client(i, yiaddr, &msg))?;
        let cut = self.port(i).poe_cut_after_ms.filter(|_| self.poe_short(i));
        let p = &mut self.phones[i];
        p.ip = Some(yiaddr);
        if let Some(ms) = cut {
            // The switch cuts the power it could not grant: the phone goes dark before
            // its configuration and boots again.
            p.truth.fail(Stage::Discovery, "poe-power-denied");
            p.phase = Phase::Idle;
            p.rebooting = true;
            let at = t + i64::try_from(ms).unwrap_or(0) * MS;
            self.at(at, i, Ev::Reboot);
            return Ok(());
        }
        p.phase = Phase::Config;
        p.tftp = match &self.sc.site.tftp_option {
            TftpOption::Option150(list) => list.clone(),
            TftpOption::Option66(name) => name.parse().into_iter().collect(),
            // The phone reads the ASCII bytes as addresses, four at a time.
            TftpOption::Option150Ascii(text) => text
                .as_bytes()
                .chunks_exact(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                .collect(),
            TftpOption::None => Vec::new(),
        };
        p.tftp_index = 0;
        if matches!(self.sc.site.tftp_option, TftpOption::Option150Ascii(_)) {
            // DHCP completes; the phone then stalls asking a bogus TFTP address.
            p.truth.warn("dhcp-option150-ascii");
        }
        // Option 66 a host name: the phone resolves it at the site's DNS server (which
        // gives the first TFTP server's address) before it asks for a file.
        let tftp_name = match &self.sc.site.tftp_option {
            TftpOption::Option66(name) if name.parse::<Ipv4Addr>().is_err() => Some(name.clone()),
            _ => None,
        };
        let server = self.sc.site.tftp_servers.first().copied();
        if let (Some(name), Some(server), Some(_)) = (tftp_name, server, self.phone_dns(i)) {
            let (_, resolved) = self.lookup(t + MS, i, &name, server)?;
            let p = &mut self.phones[i];
            if !resolved {
                p.truth.fail(Stage::Config, "cm-name-unresolved");
                p.phase = Phase::Idle;
                return Ok(());
            }
            p.tftp = vec![server];
        }
        let p = &mut self.phones[i];
        if p.tftp.is_empty() {
            p.truth.fail(Stage::Config, "dhcp-no-tftp-option");
            p.phase = Phase::Idle;
            return Ok(());
        }
        if self.sc.has_fault(i, Fault::AddressTaken) && !p.declined {
            return self.address_taken(t, i, yiaddr);
        }
        // Gratuitous ARP for the new address, then the config files.
        let mac = p.mac;
        let l2 = self.phone_l2(i, wire::BROADCAST);
        let arp = wire::arp_frame(l2, 1, (mac, yiaddr), (MacAddr::default(), yiaddr));
        self.emit(t + 2 * MS, &arp)?;
        self.phones[i].files = self.config_files(i);
        self.phones[i].files.reverse();
        let d = self.span(self.m.ack_to_first_file_ms);
        if self.sc.site.http_config && self.phones[i].variant.http_first {
            // Newer loads try HTTP on 6970 first.
            self.at(t + d, i, Ev::HttpConnect(0));
        } else {
            self.at(t + d, i, Ev::NextFile);
        }
        Ok(())
    }

    /// Another device holds `yiaddr`: it answers the phone's ARP probe (RFC 5227), the
    /// phone DECLINEs the lease and starts over (RFC 2131 §3.1), to be given another.
    fn address_taken(&mut self, t: i64, i: usize, yiaddr: Ipv4Addr) -> std::io::Result<()> {
        let mac = self.phones[i].mac;
        let zero = Ipv4Addr::UNSPECIFIED;
        let probe = encode::arp(1, (mac, zero), (MacAddr::default(), yiaddr))?;
        let l2 = self.phone_l2(i, wire::BROADCAST);
        self.emit(t + 2 * MS, &wire::ether_frame(l2, 0x0806, &probe))?;
        // The squatter, a VMware-made MAC of its own per phone.
        let holder = MacAddr([0x00, 0x50, 0x56, 0xee, (i >> 8) as u8, i as u8]);
        let reply = encode::arp(2, (holder, yiaddr), (mac, zero))?;
        let back = L2 {
            src: holder,
            dst: mac,
            vlan: self.phones[i].vlan,
        };
        // The neighbour's answer: the LAN's round trip, no timing of the boot's.
        let d = 2 * MS + self.jitter(1, 3);
        self.emit(t + d, &wire::ether_frame(back, 0x0806, &reply))?;
        let p = &self.phones[i];
        let decline = encode::dhcp_client(
            p.mac,
            &p.name,
            &p.variant.dhcp_model,
            p.xid,
            encode::DhcpClientKind::Decline {
                requested: yiaddr,
                server: self.sc.site.dhcp_server,
            },
            0,
        );
        self.emit(t + d + MS, &self.client_broadcast(i, &decline))?;
        let p = &mut self.phones[i];
        p.declined = true;
        p.ip = None;
        p.phase = Phase::Dhcp;
        p.truth.warn("duplicate-ip");
        // A new epoch stops the old retransmission timers; then start over.
        p.epoch += 1;
        let wait = self.span(self.m.decline_to_discover_ms);
        self.at(t + d + MS + wait, i, Ev::DhcpRestart);
        Ok(())
    }

    /// The files phone `i` asks for after its ACK, in order: its trust lists, then its
    /// configuration as its family names it.
    fn config_files(&self, i: usize) -> Vec<FileReq> {
        let p = &self.phones[i];
        let spec = self.spec(i);
        let name = &p.name;
        let file = |name: String, kind| FileReq { name, kind };
        let ctl = || file(format!("CTL{name}.tlv"), FileKind::Ctl);
        let itl = || file(format!("ITL{name}.tlv"), FileKind::Itl);
        let mut files = match spec.trust_files.unwrap_or(p.variant.trust_files) {
            TrustFiles::CtlItl => vec![ctl(), itl()],
            TrustFiles::ItlCtl => vec![itl(), ctl()],
            TrustFiles::Ctl => vec![ctl()],
            TrustFiles::None => Vec::new(),
        };
        match p.variant.files {
            FileScheme::Xml => {
                let suffix = match spec.config_security {
                    ConfigSecurity::Plain => ".cnf.xml",
                    ConfigSecurity::Signed => ".cnf.xml.sgn",
                    ConfigSecurity::Encrypted => ".cnf.xml.enc.sgn",
                };
                files.push(file(format!("{name}{suffix}"), FileKind::Config));
            }
            FileScheme::LegacySip => {
                // The dual-boot file, the default configuration, then the phone's own,
                // named SIP<MAC>.cnf with the MAC in upper case.
                let mac = p.mac.to_sep_hex();
                files.push(file("OS79XX.TXT".into(), FileKind::DualBoot));
                files.push(file("SIPDefault.cnf".into(), FileKind::SipDefault));
                files.push(file(format!("SIP{mac}.cnf"), FileKind::Config));
            }
        }
        files
    }

    fn http_ends(&self, i: usize) -> Option<(Endpoint, Endpoint)> {
        let p = &self.phones[i];
        Some((
            Endpoint {
                ip: p.ip?,
                port: p.http.0,
            },
            Endpoint {
                ip: self.tftp_server(i)?,
                port: 6970,
            },
        ))
    }

    fn http_connect(&mut self, t: i64, i: usize, n: u32) -> std::io::Result<()> {
        if n == 0 {
            let port = u16::try_from(self.rng.range(49152, 65000)).unwrap_or(52000);
            self.phones[i].http = (port, self.rng.next_u64() as u32, 0);
        }
        let Some((me, srv)) = self.http_ends(i) else {
            return Ok(());
        };
        let l2 = self.phone_l2(i, self.sc.site.gateway_mac.0);
        let seq = self.phones[i].http.1;
        let syn = TcpFields::syn(seq);
        self.emit(t, &wire::tcp_frame(l2, me, srv, syn, &[]))?;
        if self.sc.has_fault(i, Fault::HttpRefused) {
            let rst = TcpFields::reset(0, seq.wrapping_add(1));
            // The handshake's round trip: the network's, no timing of the boot's.
            let d = self.jitter(1, 4);
            self.emit(
                t + d,
                &wire::tcp_frame(self.to_phone_l2(i), srv, me, rst, &[]),
            )?;
            // Refused: TFTP at once, as after the last unanswered SYN.
            let f = self.span(self.m.http_fallback_ms);
            self.at(t + d + f, i, Ev::NextFile);
            return Ok(());
        }
        let up = self.sc.site.tftp_servers.contains(&srv.ip)
            && !self.sc.has_fault(i, Fault::TftpSilent)
            && !self.sc.has_fault(i, Fault::HttpSilent);
        if !up {
            if n >= 2 {
                // No HTTP: fall back to TFTP.
                let d = self.span(self.m.http_fallback_ms);
                self.at(t + d, i, Ev::NextFile);
            } else {
                // TCP's own SYN retransmission, 1 s doubling: the stack's, not the phone's.
                self.at(t + (S << n), i, Ev::HttpConnect(n + 1));
            }
            return Ok(());
        }
        let peer = self.rng.next_u64() as u32;
        let synack = TcpFields::syn_ack(peer, seq.wrapping_add(1));
        // The TCP handshake's round trip: the network's, no timing of the boot's.
        let d = self.jitter(1, 4);
        self.emit(
            t + d,
            &wire::tcp_frame(self.to_phone_l2(i), srv, me, synack, &[]),
        )?;
        let ack = TcpFields {
            seq: seq.wrapping_add(1),
            ack_no: peer.wrapping_add(1),
            ack: true,
            ..TcpFields::default()
        };
        self.emit(t + d + MS / 5, &wire::tcp_frame(l2, me, srv, ack, &[]))?;
        self.phones[i].http = (me.port, seq.wrapping_add(1), peer.wrapping_add(1));
        self.phones[i].via_http = true;
        self.at(t + d + MS, i, Ev::NextFile);
        Ok(())
    }

    fn send_get(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let (Some(file), Some((me, srv))) = (self.phones[i].file.clone(), self.http_ends(i)) else {
            return Ok(());
        };
        let agent = format!("Cisco-CP{}", self.spec(i).model);
        let get = encode::http_get_as(&file.name, &format!("{}:6970", srv.ip), &agent)?;
        let (_, seq, peer) = self.phones[i].http;
        let f = TcpFields {
            seq,
            ack_no: peer,
            ack: true,
            psh: true,
            ..TcpFields::default()
        };
        let l2 = self.phone_l2(i, self.sc.site.gateway_mac.0);
        self.emit(t, &wire::tcp_frame(l2, me, srv, f, &get))?;
        self.phones[i].http.1 = seq.wrapping_add(u32::try_from(get.len()).unwrap_or(0));
        self.phones[i].file_size = self.file_size(i, &file);
        let d = self.span(self.m.http_answer_ms);
        self.at(t + d, i, Ev::HttpAnswer);
        Ok(())
    }

    fn http_answer(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let (Some(file), Some((me, srv))) = (self.phones[i].file.clone(), self.http_ends(i)) else {
            return Ok(());
        };
        let body = (self.phones[i].file_size > 0).then(|| self.file_body(i, &file));
        let resp = encode::http_response(body.as_deref())?;
        let (_, seq, mut peer) = self.phones[i].http;
        let to_phone = self.to_phone_l2(i);
        // Segments of at most one MSS.
        for (k, chunk) in resp.chunks(1460).enumerate() {
            let f = TcpFields {
                seq: peer,
                ack_no: seq,
                ack: true,
                psh: true,
                ..TcpFields::default()
            };
            self.emit(
                t + i64::try_from(k).unwrap_or(0) * MS / 10,
                &wire::tcp_frame(to_phone, srv, me, f, chunk),
            )?;
            peer = peer.wrapping_add(u32::try_from(chunk.len()).unwrap_or(0));
        }
        self.phones[i].http.2 = peer;
        let ack = TcpFields {
            seq,
            ack_no: peer,
            ack: true,
            ..TcpFields::default()
        };
        let l2 = self.phone_l2(i, self.sc.site.gateway_mac.0);
        self.emit(t + MS, &wire::tcp_frame(l2, me, srv, ack, &[]))?;
        if body.is_none() {
            return self.file_missing(t + MS, i, &file);
        }
        self.phones[i].file = None;
        let d = self.span(self.m.between_files_ms);
        self.at(t + d, i, Ev::NextFile);
        Ok(())
    }

    /// Close the HTTP connection once the configuration files are in.
    fn http_close(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let Some((me, srv)) = self.http_ends(i) else {
            return Ok(());
        };
        let (_, seq, peer) = self.phones[i].http;
        let l2 = self.phone_l2(i, self.sc.site.gateway_mac.0);
        let fin = TcpFields::fin(seq, peer);
        self.emit(t, &wire::tcp_frame(l2, me, srv, fin, &[]))?;
        let back = TcpFields::fin(peer, seq.wrapping_add(1));
        self.emit(
            t + MS,
            &wire::tcp_frame(self.to_phone_l2(i), srv, me, back, &[]),
        )?;
        let last = TcpFields {
            seq: seq.wrapping_add(1),
            ack_no: peer.wrapping_add(1),
            ack: true,
            ..TcpFields::default()
        };
        self.emit(t + 2 * MS, &wire::tcp_frame(l2, me, srv, last, &[]))?;
        self.phones[i].via_http = false;
        Ok(())
    }

    fn tftp_server(&self, i: usize) -> Option<Ipv4Addr> {
        let p = &self.phones[i];
        p.tftp.get(p.tftp_index).copied()
    }

    fn next_file(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let Some(file) = self.phones[i].files.pop() else {
            if self.phones[i].via_http {
                self.http_close(t, i)?;
            }
            return self.config_done(t, i);
        };
        self.phones[i].file = Some(file);
        if self.phones[i].via_http {
            return self.send_get(t, i);
        }
        self.phones[i].file_port = u16::try_from(self.rng.range(49152, 65000)).unwrap_or(50000);
        self.send_rrq(t, i, 0)
    }

    fn send_rrq(&mut self, t: i64, i: usize, retry: u32) -> std::io::Result<()> {
        let Some(server) = self.tftp_server(i) else {
            return Ok(());
        };
        let Some(file) = self.phones[i].file.clone() else {
            return Ok(());
        };
        let p = &self.phones[i];
        let (Some(ip), port) = (p.ip, p.file_port) else {
            return Ok(());
        };
        let rrq = encode::tftp_rrq(&file.name)?;
        let frame = wire::udp_frame(
            self.phone_l2(i, self.sc.site.gateway_mac.0),
            Endpoint { ip, port },
            Endpoint {
                ip: server,
                port: 69,
            },
            &rrq,
        );
        self.emit(t, &frame)?;
        let answers = self.sc.site.tftp_servers.contains(&server)
            && !self.sc.has_fault(i, Fault::TftpSilent)
            && !self.sc.has_fault(i, Fault::TftpPortUnreachable);
        if answers {
            self.phones[i].server_port =
                u16::try_from(self.rng.range(1024, 65000)).unwrap_or(30000);
            self.phones[i].file_size = self.file_size(i, &file);
            let d = self.step_span(self.t.file(file.kind.timed_as(), Some(FileVia::Tftp)));
            self.at(t + d, i, Ev::ServerAnswersFile(1));
        } else {
            if self.sc.has_fault(i, Fault::TftpPortUnreachable) {
                // The server's host answers at the pace of a file's answer.
                let d = self.step_span(self.t.file(file.kind.timed_as(), Some(FileVia::Tftp)));
                let icmp =
                    encode::icmp_unreachable(3, (ip, port, server, 69), 17, 8 + rrq.len(), 0)?;
                let l2 = self.to_phone_l2(i);
                self.emit(t + d, &wire::ipv4_frame(l2, server, ip, 1, &icmp))?;
                self.phones[i].truth.fail(Stage::Config, "tftp-no-response");
            }
            let first = self.phones[i].tftp_first_ns << retry.min(3);
            let d = first + self.span(self.m.tftp_retry_jitter_ms);
            self.at(t + d, i, Ev::FileRetry(retry + 1));
        }
        Ok(())
    }

    fn file_retry(&mut self, t: i64, i: usize, retry: u32) -> std::io::Result<()> {
        if self.phones[i].phase != Phase::Config && self.phones[i].phase != Phase::Firmware {
            return Ok(());
        }
        if retry >= 2 {
            self.phones[i].truth.fail(Stage::Config, "tftp-no-response");
        }
        if retry >= 4 {
            // Give up on this server; try the next, or start the list again.
            let p = &mut self.phones[i];
            p.tftp_index = (p.tftp_index + 1) % p.tftp.len().max(1);
            return self.send_rrq(t, i, 0);
        }
        self.send_rrq(t, i, retry)
    }

    /// Whether the server holds the trust lists: on a cluster whose phones take signed
    /// or encrypted configurations (a mixed-mode cluster: CTL and ITL); elsewhere the
    /// phone's requests find nothing, as on a non-secure cluster.
    fn trust_lists_served(&self, i: usize) -> bool {
        self.spec(i).config_security != ConfigSecurity::Plain
    }

    /// The size of a file on the server; 0 when it is not there.
    fn file_size(&self, i: usize, f: &FileReq) -> usize {
        let provisioned = !self.sc.has_fault(i, Fault::NotProvisioned);
        match f.kind {
            // Stand-ins of a trust list's size: a few certificates.
            FileKind::Ctl if self.trust_lists_served(i) => 4_870,
            FileKind::Itl if self.trust_lists_served(i) => 6_215,
            FileKind::Ctl | FileKind::Itl => 0,
            FileKind::Config if provisioned => self.file_text(i, f).len(),
            FileKind::Config => 0,
            FileKind::XmlDefault if self.sc.site.xml_default => self.file_text(i, f).len(),
            FileKind::XmlDefault => 0,
            FileKind::DualBoot | FileKind::SipDefault => self.file_text(i, f).len(),
            FileKind::LoadManifest | FileKind::LoadImage => {
                let load = self.load_for(i);
                let image_missing = f.kind == FileKind::LoadImage
                    && self.phones[i].variant.files == FileScheme::Xml
                    && self.sc.has_fault(i, Fault::ImageMissing);
                if !self.sc.site.loads_on_server.contains(&load) || image_missing {
                    0
                } else if f.kind == FileKind::LoadManifest {
                    700
                } else {
                    24 * 512 + 100
                }
            }
        }
    }

    fn config_xml(&self, i: usize) -> String {
        let dns = self.phone_dns(i);
        let domain = dns.as_ref().map(|d| d.domain.as_str());
        let extras = encode::ConfigExtras {
            srst: self.phones[i].srst.as_ref().map(|c| c.ip),
            security_mode: self.security_mode(i),
        };
        encode::config_xml_with(
            &self.sc.site.callmanagers,
            &self.load_for(i),
            domain,
            &extras,
        )
    }

    /// The DNS phone `i`'s configuration sends it to: the site's, or for a phone with
    /// `cm-name-unresolved` the site's (else the DHCP server, its option 6) answering
    /// NXDOMAIN for the names it lists.
    fn phone_dns(&self, i: usize) -> Option<super::scenario::SiteDns> {
        let mut dns = self.sc.site.dns.clone();
        if self.sc.has_fault(i, Fault::CmNameUnresolved) {
            let d = dns.get_or_insert_with(|| super::scenario::SiteDns {
                server: self.sc.site.dhcp_server,
                domain: "voice.example.com".into(),
                answer: DnsAnswer::Nxdomain,
            });
            d.answer = DnsAnswer::Nxdomain;
        }
        dns
    }

    /// The `deviceSecurityMode` of phone `i`'s configuration.
    fn security_mode(&self, i: usize) -> Option<u8> {
        if self.sc.has_fault(i, Fault::SecureModeClear) {
            return Some(2);
        }
        self.sc.site.device_security_mode
    }

    /// What the server sends for a file it holds with a content of its own (the
    /// configurations, the dual-boot file); empty for a load's or a trust list's bytes,
    /// which are made up block by block.
    fn file_text(&self, i: usize, f: &FileReq) -> Vec<u8> {
        let security = self.spec(i).config_security;
        let signer = self
            .sc
            .site
            .callmanagers
            .first()
            .map_or("cucm", |c| &c.name);
        let p = &self.phones[i];
        match (f.kind, p.variant.files) {
            (FileKind::Config, FileScheme::LegacySip) => {
                encode::sip_phone_cnf(&p.name, p.mac).into_bytes()
            }
            (FileKind::Config, FileScheme::Xml) => {
                let xml = self.config_xml(i).into_bytes();
                match security {
                    ConfigSecurity::Plain => xml,
                    ConfigSecurity::Signed => encode::signed(&xml, signer),
                    ConfigSecurity::Encrypted => {
                        encode::signed(&encode::encrypted(&xml, p.mac), signer)
                    }
                }
            }
            // The default file is shared: signed for a phone that asks for it signed,
            // never encrypted (encryption is per device).
            (FileKind::XmlDefault, _) if security != ConfigSecurity::Plain => {
                encode::signed(self.config_xml(i).as_bytes(), signer)
            }
            (FileKind::XmlDefault, _) => self.config_xml(i).into_bytes(),
            (FileKind::DualBoot, _) => encode::os79xx_txt(&self.load_for(i)).into_bytes(),
            (FileKind::SipDefault, _) => {
                encode::sip_default_cnf(&self.sc.site.callmanagers, &self.load_for(i)).into_bytes()
            }
            (FileKind::Ctl | FileKind::Itl | FileKind::LoadManifest | FileKind::LoadImage, _) => {
                Vec::new()
            }
        }
    }

    /// The body of an HTTP answer for a file the server holds: its text, or made-up bytes
    /// of its size.
    fn file_body(&self, i: usize, f: &FileReq) -> Vec<u8> {
        let text = self.file_text(i, f);
        if text.is_empty() {
            let size = self.file_size(i, f);
            (0..size).map(|k| (k as u8).wrapping_mul(31)).collect()
        } else {
            text
        }
    }

    fn server_endpoint(&self, i: usize) -> (Endpoint, Endpoint) {
        let p = &self.phones[i];
        let server = self.tftp_server(i).unwrap_or(Ipv4Addr::UNSPECIFIED);
        (
            Endpoint {
                ip: server,
                port: p.server_port,
            },
            Endpoint {
                ip: p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                port: p.file_port,
            },
        )
    }

    fn server_block(&mut self, t: i64, i: usize, block: u32) -> std::io::Result<()> {
        let Some(file) = self.phones[i].file.clone() else {
            return Ok(());
        };
        let (srv, phone) = self.server_endpoint(i);
        let size = self.phones[i].file_size;
        if size == 0 {
            let err = encode::tftp_error(1, "File not found")?;
            self.emit(t, &wire::udp_frame(self.to_phone_l2(i), srv, phone, &err))?;
            return self.file_missing(t, i, &file);
        }
        let from = (block as usize - 1) * 512;
        let len = size.saturating_sub(from).min(512);
        let content = self.file_text(i, &file);
        let data: Vec<u8> = match content.get(from..from + len) {
            Some(d) => d.to_vec(),
            None => (0..len).map(|k| (k as u8).wrapping_mul(31)).collect(),
        };
        let pkt = encode::tftp_data(u16::try_from(block).unwrap_or(u16::MAX), &data)?;
        self.emit(t, &wire::udp_frame(self.to_phone_l2(i), srv, phone, &pkt))?;
        // A block's round trip, and the phone's ACK's below: the transfer's pace on the
        // wire, no timing of the boot's.
        let d = self.jitter(1, 4);
        self.at(t + d, i, Ev::PhoneAcksBlock(block));
        Ok(())
    }

    fn phone_ack(&mut self, t: i64, i: usize, block: u32) -> std::io::Result<()> {
        let (srv, phone) = self.server_endpoint(i);
        let ack = encode::tftp_ack(u16::try_from(block).unwrap_or(u16::MAX))?;
        let l2 = self.phone_l2(i, self.sc.site.gateway_mac.0);
        self.emit(t, &wire::udp_frame(l2, phone, srv, &ack))?;
        let size = self.phones[i].file_size;
        if (block as usize) * 512 <= size {
            let d = self.jitter(1, 4);
            self.at(t + d, i, Ev::ServerAnswersFile(block + 1));
            return Ok(());
        }
        // The last block was short: the file is complete.
        let file = self.phones[i].file.take();
        if file.as_ref().is_some_and(|f| f.kind == FileKind::Config)
            && self.sc.has_fault(i, Fault::TrustListMismatch)
        {
            return self.signed_config_refused(t, i);
        }
        if let Some(f) = file {
            if f.kind == FileKind::LoadImage {
                // Firmware written: one reboot, now running the new load.
                self.phones[i].running_load = self.load_for(i);
                let d = self.span(self.m.firmware_reboot_ms);
                self.phones[i].phase = Phase::Off;
                self.at(t + d, i, Ev::Reboot);
                return Ok(());
            }
        }
        let d = self.span(self.m.between_files_ms);
        self.at(t + d, i, Ev::NextFile);
        Ok(())
    }

    /// The phone did not take its signed configuration: it asks for its trust lists and
    /// the file again, three rounds back to back, then, as after a failed registration,
    /// a round every `register_retry_ms` (an assumption: the pace of the loop is not
    /// documented); it never registers.
    fn signed_config_refused(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        if self.phones[i].trust_rounds == 0 {
            self.tvs_refused(t, i)?;
        }
        let p = &mut self.phones[i];
        p.trust_rounds = p.trust_rounds.saturating_add(1);
        if p.trust_rounds >= 2 {
            // Its trust lists asked again after they came: a mismatch, likely.
            p.truth.warn("trust-list-mismatch");
        }
        let d = if p.trust_rounds >= 3 {
            // A third round: it loops, and gets no further than its configuration.
            p.truth.fail(Stage::Config, "trust-list-mismatch");
            self.span(self.m.register_retry_ms)
        } else {
            self.span(self.m.between_files_ms)
        };
        self.phones[i].files = self.config_files(i);
        self.phones[i].files.reverse();
        self.at(t + d, i, Ev::NextFile);
        Ok(())
    }

    /// The phone asks the first call manager's TVS (TCP 2445) to vouch for the signer its
    /// ITL does not hold, and the service resets the connection (its certificate was
    /// regenerated, or it is stopped).
    fn tvs_refused(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let (Some(ip), Some(cm)) = (self.phones[i].ip, self.sc.site.callmanagers.first()) else {
            return Ok(());
        };
        let me = Endpoint {
            ip,
            port: u16::try_from(self.rng.range(49152, 65000)).unwrap_or(51500),
        };
        let tvs = Endpoint {
            ip: cm.ip,
            port: 2445,
        };
        let seq = self.rng.next_u64() as u32;
        let syn = TcpFields::syn(seq);
        let l2 = self.phone_l2(i, self.sc.site.gateway_mac.0);
        self.emit(t, &wire::tcp_frame(l2, me, tvs, syn, &[]))?;
        let rst = TcpFields::reset(0, seq.wrapping_add(1));
        // The handshake's round trip: the network's.
        let d = self.jitter(1, 5);
        self.emit(
            t + d,
            &wire::tcp_frame(self.to_phone_l2(i), tvs, me, rst, &[]),
        )
    }

    fn file_missing(&mut self, t: i64, i: usize, file: &FileReq) -> std::io::Result<()> {
        self.phones[i].file = None;
        match file.kind {
            // Normal on a non-secure cluster.
            FileKind::Ctl | FileKind::Itl => {}
            FileKind::Config => {
                // A phone that asked for its own file signed asks for the default signed too
                // (an assumption: CUCM's TFTP signs every configuration file it builds).
                let name = if self.spec(i).config_security == ConfigSecurity::Plain {
                    "XMLDefault.cnf.xml"
                } else {
                    "XMLDefault.cnf.xml.sgn"
                };
                self.phones[i].files.push(FileReq {
                    name: name.into(),
                    kind: FileKind::XmlDefault,
                });
            }
            // The dual-boot and default files are on every server the model plays.
            FileKind::DualBoot | FileKind::SipDefault => {}
            FileKind::XmlDefault => {
                self.phones[i].truth.fail(Stage::Config, "config-not-found");
                self.phones[i].phase = Phase::Idle;
                return Ok(());
            }
            FileKind::LoadManifest | FileKind::LoadImage => {
                self.phones[i]
                    .truth
                    .fail(Stage::Firmware, "firmware-not-found");
                self.phones[i].phase = Phase::Idle;
                return Ok(());
            }
        }
        let d = self.span(self.m.between_files_ms);
        self.at(t + d, i, Ev::NextFile);
        Ok(())
    }

    fn config_done(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let want = self.load_for(i);
        if self.phones[i].phase == Phase::Config && self.phones[i].running_load != want {
            self.phones[i].phase = Phase::Firmware;
            let image = FileReq {
                name: format!("{want}.sbn"),
                kind: FileKind::LoadImage,
            };
            self.phones[i].files = match self.phones[i].variant.files {
                FileScheme::Xml => vec![
                    image,
                    FileReq {
                        name: format!("{want}.loads"),
                        kind: FileKind::LoadManifest,
                    },
                ],
                // The image OS79XX.TXT and image_version name, asked for at once: the old
                // loads' check has no `.loads` file.
                FileScheme::LegacySip => vec![image],
            };
            let d = self.span(self.m.config_to_firmware_ms);
            self.at(t + d, i, Ev::NextFile);
            return Ok(());
        }
        self.phones[i].cm_index = 0;
        let d = self.span(self.m.config_to_connect_ms);
        self.at(t + d, i, Ev::Connect(0));
        Ok(())
    }

    // ---- registration -----------------------------------------------------------

    fn cm(&self, i: usize) -> Option<&super::scenario::CallManager> {
        let at = self.phones[i].cm_index;
        let list = &self.sc.site.callmanagers;
        // Past the list: the configuration's SRST router, when it names one.
        list.get(at)
            .or_else(|| self.phones[i].srst.as_ref().filter(|_| at == list.len()))
    }

    /// Whether phone `i` is at the SRST router rather than a call manager of its list.
    fn at_srst(&self, i: usize) -> bool {
        self.phones[i].srst.is_some() && self.phones[i].cm_index == self.sc.site.callmanagers.len()
    }

    fn signalling_port(&self, i: usize) -> u16 {
        match (self.spec(i).protocol, self.spec(i).tls.is_some()) {
            (Protocol::Sccp, false) => 2000,
            (Protocol::Sip, false) => 5060,
            (Protocol::Sccp, true) => 2443,
            (Protocol::Sip, true) => 5061,
        }
    }

    fn uses_tcp(&self, i: usize) -> bool {
        let s = self.spec(i);
        s.protocol == Protocol::Sccp || s.transport == SipTransport::Tcp || s.tls.is_some()
    }

    fn connect(&mut self, t: i64, i: usize, attempt: u32) -> std::io::Result<()> {
        if self.phones[i].phase == Phase::Registered || self.phones[i].ip.is_none() {
            return Ok(());
        }
        let bit = 1u8 << self.phones[i].cm_index.min(7);
        if self.phone_dns(i).is_some() && self.phones[i].resolved & bit == 0 && !self.at_srst(i) {
            // The configuration names the call manager: look it up first.
            self.phones[i].resolved |= bit;
            let (d, resolved) = self.lookup_cm(t, i)?;
            if !resolved {
                // Looked up again when the phone comes back to it.
                self.phones[i].resolved &= !bit;
                return self.cm_unresolved(t + d, i);
            }
            self.at(t + d + MS, i, Ev::Connect(attempt));
            return Ok(());
        }
        self.phones[i].local_port = u16::try_from(self.rng.range(49152, 65000)).unwrap_or(51000);
        self.phones[i].seq = self.rng.next_u64() as u32;
        if self.uses_tcp(i) {
            self.phones[i].phase = Phase::Connecting;
            self.syn(t, i, 0)
        } else {
            self.phones[i].phase = Phase::Registering;
            self.send_register(t, i)
        }
    }

    /// The DNS lookup of the call manager's name (`<name>.<domain>`) and the server's
    /// answer (`site.dns.answer`); returns when the answer came (or the phone gave up),
    /// after `t`, and whether the name resolved.
    fn lookup_cm(&mut self, t: i64, i: usize) -> std::io::Result<(i64, bool)> {
        let (Some(dns), Some(cm)) = (self.phone_dns(i), self.cm(i).cloned()) else {
            return Ok((0, true));
        };
        self.lookup(t, i, &format!("{}.{}", cm.name, dns.domain), cm.ip)
    }

    /// The DNS lookup of `name`, which the site's server answers (`site.dns.answer`)
    /// with `addr`; returns when the answer came (or the phone gave up), after `t`,
    /// and whether the name resolved.
    fn lookup(
        &mut self,
        t: i64,
        i: usize,
        name: &str,
        addr: Ipv4Addr,
    ) -> std::io::Result<(i64, bool)> {
        let (Some(dns), Some(ip)) = (self.phone_dns(i), self.phones[i].ip) else {
            return Ok((0, true));
        };
        let id = self.rng.next_u64() as u16;
        let port = u16::try_from(self.rng.range(49152, 65000)).unwrap_or(53000);
        let me = Endpoint { ip, port };
        let server = Endpoint {
            ip: dns.server,
            port: 53,
        };
        let query = encode::dns_a_query(id, name)?;
        let l2 = self.phone_l2(i, self.sc.site.gateway_mac.0);
        self.emit(t, &wire::udp_frame(l2, me, server, &query))?;
        let answer = match dns.answer {
            DnsAnswer::Address => encode::dns_a_answer(id, name, &[addr])?,
            DnsAnswer::Nxdomain => encode::dns_a_failure(id, name, 3)?,
            DnsAnswer::Servfail => encode::dns_a_failure(id, name, 2)?,
            DnsAnswer::Silent => {
                // The resolver's retries, 2 s then 4 s (an assumption: the phones'
                // resolver is not documented), then the call manager is given up.
                for after in [2 * S, 6 * S] {
                    self.emit(t + after, &wire::udp_frame(l2, me, server, &query))?;
                }
                return Ok((10 * S, false));
            }
        };
        let d = self.span(self.m.dns_answer_ms);
        self.emit(
            t + d,
            &wire::udp_frame(self.to_phone_l2(i), server, me, &answer),
        )?;
        Ok((d, dns.answer == DnsAnswer::Address))
    }

    /// The call manager's name did not resolve: on to the next, as for one that failed.
    fn cm_unresolved(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        self.phones[i].unresolved_cm = true;
        self.cm_failed(t, i)
    }

    /// The phone closes its connection to the call manager (FIN) at `t`.
    fn close_cm_connection(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        if let Some((l2, me, cm)) = self.cm_ends(i) {
            let p = &self.phones[i];
            let fin = TcpFields::fin(p.seq, p.peer_seq);
            self.emit(t, &wire::tcp_frame(l2, me, cm, fin, &[]))?;
        }
        Ok(())
    }

    /// The call manager's digest challenge (401) to phone `i`'s last REGISTER.
    fn challenge(&self, i: usize) -> std::io::Result<Vec<u8>> {
        let p = &self.phones[i];
        let ip = p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let transport = self.spec(i).transport;
        let bytes = encode::sip_challenge(&p.name, p.mac, ip, p.local_port, transport, p.cseq)?;
        Ok(bytes)
    }

    fn cm_ends(&self, i: usize) -> Option<(L2, Endpoint, Endpoint)> {
        let cm = self.cm(i)?;
        let p = &self.phones[i];
        Some((
            self.phone_l2(i, self.sc.site.gateway_mac.0),
            Endpoint {
                ip: p.ip?,
                port: p.local_port,
            },
            Endpoint {
                ip: cm.ip,
                port: self.signalling_port(i),
            },
        ))
    }

    fn syn(&mut self, t: i64, i: usize, n: u32) -> std::io::Result<()> {
        let Some((l2, me, cm)) = self.cm_ends(i) else {
            return Ok(());
        };
        let seq = self.phones[i].seq;
        let f = TcpFields::syn(seq);
        self.emit(t, &wire::tcp_frame(l2, me, cm, f, &[]))?;
        // Cut off after its registration was lost, or from its group (`srst-fallback`):
        // the hosts answer no more.
        let cut_off = self.phones[i].cut_off
            || (self.sc.has_fault(i, Fault::SrstFallback) && !self.at_srst(i));
        let fault = if cut_off {
            Some(CmFault::Silent)
        } else {
            self.cm(i).and_then(|c| c.fault)
        };
        match fault {
            Some(CmFault::Silent) => {
                if n >= 3 {
                    return self.cm_failed(t, i);
                }
                // TCP's own SYN retransmission, 1 s doubling: the stack's, not the phone's.
                let d = S << n;
                self.at(t + d, i, Ev::SynRetry(n + 1));
            }
            Some(CmFault::PortUnreachable) => {
                // The handshake's round trip: the network's.
                let d = self.jitter(1, 5);
                let quote = (me.ip, me.port, cm.ip, cm.port);
                let icmp = encode::icmp_unreachable(3, quote, 6, 20, seq)?;
                let frame = wire::ipv4_frame(self.to_phone_l2(i), cm.ip, me.ip, 1, &icmp);
                self.emit(t + d, &frame)?;
                return self.cm_failed(t + d, i);
            }
            Some(CmFault::Rst) => {
                let back = TcpFields::reset(0, seq.wrapping_add(1));
                // The TCP handshake's round trip (here and for the SYN-ACK below): the
                // network's, narrower than the cm-connect step's range.
                let d = self.jitter(1, 5);
                self.emit(
                    t + d,
                    &wire::tcp_frame(self.to_phone_l2(i), cm, me, back, &[]),
                )?;
                return self.cm_failed(t + d, i);
            }
            _ => {
                let d = self.jitter(1, 5);
                self.at(t + d, i, Ev::CmAnswersSyn);
            }
        }
        Ok(())
    }

    fn cm_failed(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let srst = self.phones[i].srst.is_some();
        let p = &mut self.phones[i];
        p.failed_cm = true;
        p.cm_index += 1;
        if srst && p.cm_index == self.sc.site.callmanagers.len() {
            // The list failed: the configuration's SRST router next.
            let d = self.span(self.m.cm_failover_ms);
            self.at(t + d, i, Ev::Connect(1));
        } else if p.cm_index >= self.sc.site.callmanagers.len() {
            // After a registration lost, the loss is what the capture shows.
            if p.lapses == 0 {
                let code = if p.unresolved_cm {
                    "cm-name-unresolved"
                } else {
                    "cucm-unreachable"
                };
                p.truth.fail(Stage::Registration, code);
            }
            p.last_reason = "TCP-timeout";
            p.cm_index = 0;
            let d = self.span(self.m.cm_list_retry_ms);
            self.at(t + d, i, Ev::Connect(1));
        } else {
            let d = self.span(self.m.cm_failover_ms);
            self.at(t + d, i, Ev::Connect(1));
        }
        Ok(())
    }

    fn cm_answers_syn(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let Some((l2, me, cm)) = self.cm_ends(i) else {
            return Ok(());
        };
        let peer = self.rng.next_u64() as u32;
        let p = &mut self.phones[i];
        p.peer_seq = peer.wrapping_add(1);
        p.seq = p.seq.wrapping_add(1);
        let (seq, peer_seq) = (p.seq, p.peer_seq);
        let synack = TcpFields::syn_ack(peer, seq);
        self.emit(
            t,
            &wire::tcp_frame(self.to_phone_l2(i), cm, me, synack, &[]),
        )?;
        let ack = TcpFields {
            seq,
            ack_no: peer_seq,
            ack: true,
            ..TcpFields::default()
        };
        self.emit(t + MS / 5, &wire::tcp_frame(l2, me, cm, ack, &[]))?;
        self.phones[i].phase = Phase::Registering;
        let proto = match self.spec(i).protocol {
            Protocol::Sccp => rules::Protocol::Sccp,
            Protocol::Sip => rules::Protocol::Sip,
        };
        let mut t = t;
        if let Some(mode) = self.spec(i).tls {
            match self.tls_handshake(t + MS, i, mode)? {
                Some(done) => t = done,
                None => return Ok(()),
            }
        }
        let d = self.step_span(self.t.register(Some(proto)));
        self.at(t + d, i, Ev::SendRegister);
        Ok(())
    }

    /// A secure registration's TLS handshake from `t`: the phone's ClientHello, then
    /// as `mode` says the call manager's flight, the phone's and the call manager's
    /// ChangeCipherSpec and Finished (returns when the last came), or the failure
    /// (a fatal alert after the phone's certificate, a reset, silence), the phone's
    /// account of it scheduled (`None`).
    fn tls_handshake(&mut self, t: i64, i: usize, mode: TlsMode) -> std::io::Result<Option<i64>> {
        let cm_name = self.cm(i).map(|c| c.name.clone());
        let suites = [0x002f, 0x0035, 0x0002, 0x0001];
        let hello = encode::tls_client_hello(cm_name.as_deref(), &suites)?;
        self.tcp_payload(t, i, true, &hello)?;
        let mut now = t;
        match mode {
            TlsMode::NoServerHello => {
                let d = self.span(self.m.tls_hello_timeout_ms);
                self.at(now + d, i, Ev::TlsFailed);
                return Ok(None);
            }
            TlsMode::Reset => {
                now += self.span(self.m.tls_answer_ms);
                if let Some((_, me, cm)) = self.cm_ends(i) {
                    let p = &self.phones[i];
                    let rst = TcpFields::reset(p.peer_seq, p.seq);
                    self.emit(now, &wire::tcp_frame(self.to_phone_l2(i), cm, me, rst, &[]))?;
                }
                self.phones[i].tls_reset = true;
                self.at(now + MS, i, Ev::TlsFailed);
                return Ok(None);
            }
            TlsMode::Alert | TlsMode::Null | TlsMode::Encrypted => {}
        }
        let (suite, mac) = match mode {
            TlsMode::Null => (0x0002, Some(20)),
            _ => (0x002f, None),
        };
        now += self.span(self.m.tls_answer_ms);
        self.tcp_payload(now, i, false, &encode::tls_server_flight(suite)?)?;
        now += self.span(self.m.tls_answer_ms);
        self.tcp_payload(now, i, true, &encode::tls_finish(true, mac)?)?;
        now += self.span(self.m.tls_answer_ms);
        if mode == TlsMode::Alert {
            // 42 bad_certificate: the call manager does not trust the phone's LSC / MIC.
            self.tcp_payload(now, i, false, &encode::tls_fatal_alert(42)?)?;
            self.at(now + MS, i, Ev::TlsFailed);
            return Ok(None);
        }
        self.tcp_payload(now, i, false, &encode::tls_finish(false, mac)?)?;
        Ok(Some(now))
    }

    /// The secure registration failed: the phone closes the connection (unless reset)
    /// and tries again, or reboots, as after any failed registration.
    fn tls_failed(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        self.phones[i]
            .truth
            .fail(Stage::Registration, "secure-register-failed");
        self.phones[i].last_reason = "TLS-failure";
        if std::mem::take(&mut self.phones[i].tls_reset) {
            self.phones[i].epoch += 1;
            self.phones[i].phase = Phase::Connecting;
            let d = self.span(self.m.register_retry_ms);
            self.at(t + d, i, Ev::Connect(1));
            return Ok(());
        }
        self.after_failure(t, i)
    }

    fn phone_payload(&mut self, t: i64, i: usize, payload: &[u8]) -> std::io::Result<()> {
        self.signalling(t, i, true, payload)
    }

    /// Signalling inside a secure registration's records: in clear with a 20-byte MAC
    /// (NULL suite), or as ciphertext of about its length.
    fn tls_wrapped(&self, i: usize, payload: &[u8]) -> Result<Option<Vec<u8>>, EmitError> {
        match self.spec(i).tls {
            Some(TlsMode::Null) => encode::tls_app_data(payload, Some(20)).map(Some),
            Some(_) => encode::tls_app_data(payload, None).map(Some),
            None => Ok(None),
        }
    }

    fn cm_payload(&mut self, t: i64, i: usize, payload: &[u8]) -> std::io::Result<()> {
        self.signalling(t, i, false, payload)
    }

    /// A signalling payload between the phone and its call manager, over TCP (the
    /// sender's sequence number advances) or UDP.
    fn signalling(
        &mut self,
        t: i64,
        i: usize,
        from_phone: bool,
        payload: &[u8],
    ) -> std::io::Result<()> {
        if let Some(record) = self.tls_wrapped(i, payload)? {
            return self.tcp_payload(t, i, from_phone, &record);
        }
        self.tcp_payload(t, i, from_phone, payload)
    }

    /// Bytes on the phone's connection to its call manager, as they are: over TCP (the
    /// sender's sequence number advances) or UDP.
    fn tcp_payload(
        &mut self,
        t: i64,
        i: usize,
        from_phone: bool,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let Some((phone_l2, me, cm)) = self.cm_ends(i) else {
            return Ok(());
        };
        let (l2, src, dst) = if from_phone {
            (phone_l2, me, cm)
        } else {
            (self.to_phone_l2(i), cm, me)
        };
        if !self.uses_tcp(i) {
            return self.emit(t, &wire::udp_frame(l2, src, dst, payload));
        }
        let p = &mut self.phones[i];
        let (seq, ack_no) = if from_phone {
            (&mut p.seq, p.peer_seq)
        } else {
            (&mut p.peer_seq, p.seq)
        };
        let f = TcpFields {
            seq: *seq,
            ack_no,
            ack: true,
            psh: true,
            ..TcpFields::default()
        };
        *seq = seq.wrapping_add(u32::try_from(payload.len()).unwrap_or(0));
        self.emit(t, &wire::tcp_frame(l2, src, dst, f, payload))
    }

    fn register_payload(&self, i: usize, cseq: u32) -> Result<Vec<u8>, EmitError> {
        let p = &self.phones[i];
        let spec = self.spec(i);
        let cm = self.cm(i).map(|c| c.ip).unwrap_or(Ipv4Addr::UNSPECIFIED);
        match spec.protocol {
            Protocol::Sccp => encode::sccp_register(
                &p.name,
                p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                p.mac,
                &spec.model,
                &p.running_load,
            ),
            Protocol::Sip => encode::sip_register_for(
                &encode::Registrant {
                    name: &p.name,
                    mac: p.mac,
                    model: &spec.model,
                    user_agent: &p.variant.sip.user_agent(&p.running_load),
                    legacy_contact: p.variant.sip.legacy_contact,
                },
                p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                p.local_port,
                cm,
                spec.transport,
                cseq,
                p.authorized,
                p.sip_expires,
                p.tell_last.then_some(p.last_reason),
            ),
        }
    }

    fn send_register(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        if self.phones[i].phase != Phase::Registering {
            return Ok(());
        }
        if self.spec(i).protocol == Protocol::Sccp {
            // The phone's own account of its last failure precedes the Register.
            let p = &self.phones[i];
            let alarm = encode::sccp_alarm(&p.name, &p.running_load, p.last_reason)?;
            self.phone_payload(t, i, &alarm)?;
        }
        let msg = self.register_payload(i, self.phones[i].cseq)?;
        self.phones[i].tell_last = false;
        self.phone_payload(t + MS, i, &msg)?;
        let secure = self.security_mode(i).is_some_and(|m| m >= 2);
        let readable = self.spec(i).config_security != ConfigSecurity::Encrypted
            && self.phones[i].variant.files == FileScheme::Xml;
        if secure && readable {
            // Its configuration asks for TLS; it registers in the clear all the same.
            self.phones[i].truth.warn("secure-register-failed");
        }
        let refused = self.cm(i).and_then(|c| c.fault) == Some(CmFault::PortUnreachable);
        if refused && !self.uses_tcp(i) {
            if let Some((_, me, cm)) = self.cm_ends(i) {
                // The call manager's host answers at once: the network's round trip.
                let d = MS + self.jitter(1, 5);
                let quote = (me.ip, me.port, cm.ip, cm.port);
                let icmp = encode::icmp_unreachable(3, quote, 17, 8 + msg.len(), 0)?;
                let frame = wire::ipv4_frame(self.to_phone_l2(i), cm.ip, me.ip, 1, &icmp);
                self.emit(t + d, &frame)?;
                // RFC 3261 §8.1.3.1: a transport error fails the transaction at once.
                self.phones[i].last_reason = "TCP-timeout";
                return self.cm_failed(t + d, i);
            }
        }
        match self.cm(i).and_then(|c| c.fault) {
            Some(CmFault::Unanswered) | Some(CmFault::Silent) => {
                if self.uses_tcp(i) {
                    let d = self.span(self.m.register_timeout_ms);
                    self.at(t + d, i, Ev::RegisterTimeout);
                } else {
                    // SIP over UDP: Timer A from 500 ms, doubling to 4 s, until Timer F.
                    self.at(t + self.m.sip_timer_a_ms * MS, i, Ev::RegisterRetry(1));
                }
            }
            _ => {
                let d = self.span(self.m.register_answer_ms);
                self.at(t + d, i, Ev::RegisterAnswer);
            }
        }
        Ok(())
    }

    fn register_answer(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let spec = self.spec(i).clone();
        let rejected = self.cm(i).and_then(|c| c.fault) == Some(CmFault::Reject);
        let fault = self.cm(i).and_then(|c| c.fault);
        if spec.protocol == Protocol::Sip
            && fault == Some(CmFault::MinExpires)
            && self.phones[i].sip_expires < MIN_EXPIRES_S
        {
            // 423 with the registrar's minimum; the phone asks again for that much.
            let p = &self.phones[i];
            let min = MIN_EXPIRES_S.to_string();
            let answer = encode::sip_response_with(
                423,
                &p.name,
                p.mac,
                p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                p.local_port,
                spec.transport,
                p.cseq,
                &[("Min-Expires", &min)],
            )?;
            self.cm_payload(t, i, &answer)?;
            self.phones[i].sip_expires = MIN_EXPIRES_S;
            self.phones[i].cseq += 1;
            let d = self.span(self.m.challenge_to_register_ms);
            self.at(t + d, i, Ev::SendRegister);
            return Ok(());
        }
        if spec.protocol == Protocol::Sip
            && fault == Some(CmFault::WrongCredentials)
            && self.phones[i].authorized
        {
            // Challenged again after its credentials: refused; it starts over later.
            let again = self.challenge(i)?;
            self.cm_payload(t, i, &again)?;
            let p = &mut self.phones[i];
            p.authorized = false;
            p.cseq += 1;
            p.truth.fail(Stage::Registration, "register-rejected");
            p.last_reason = "Phone-Reg-Rej";
            return self.after_failure(t, i);
        }
        if spec.protocol == Protocol::Sip && self.sc.site.sip_digest && !self.phones[i].authorized {
            // The challenge, then the same REGISTER with credentials and the next CSeq.
            let challenge = self.challenge(i)?;
            self.cm_payload(t, i, &challenge)?;
            self.phones[i].authorized = true;
            self.phones[i].cseq += 1;
            let d = self.span(self.m.challenge_to_register_ms);
            self.at(t + d, i, Ev::SendRegister);
            return Ok(());
        }
        if self.cm(i).and_then(|c| c.fault) == Some(CmFault::SecurityMismatch) {
            let host = self.cm(i).map(|c| c.name.clone()).unwrap_or_default();
            let p = &self.phones[i];
            let answer = encode::sip_security_mismatch(
                &p.name,
                p.mac,
                p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                p.local_port,
                spec.transport,
                p.cseq,
                &host,
            )?;
            self.cm_payload(t, i, &answer)?;
            self.phones[i]
                .truth
                .fail(Stage::Registration, "secure-register-failed");
            self.phones[i].last_reason = "Phone-Reg-Rej";
            return self.after_failure(t, i);
        }
        let answer = match (spec.protocol, rejected) {
            (Protocol::Sccp, false) => encode::sccp_register_ack(),
            (Protocol::Sccp, true) => encode::sccp_register_reject("Error DBConfig"),
            (Protocol::Sip, rej) => {
                let p = &self.phones[i];
                let code = if rej { 404 } else { 200 };
                encode::sip_response(
                    code,
                    &p.name,
                    p.mac,
                    p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    p.local_port,
                    spec.transport,
                    p.cseq,
                )
            }
        }?;
        self.cm_payload(t, i, &answer)?;
        if rejected {
            self.phones[i]
                .truth
                .fail(Stage::Registration, "register-rejected");
            self.phones[i].last_reason = "Phone-Reg-Rej";
            return self.after_failure(t, i);
        }
        let srst = self.at_srst(i);
        let p = &mut self.phones[i];
        p.phase = Phase::Registered;
        p.truth.registered = true;
        p.truth.lost = false;
        p.answered = 0;
        p.misses = 0;
        if p.failed_cm && !srst {
            p.truth.warn("cucm-failover");
        }
        if srst {
            p.truth.warn("srst-fallback");
            if p.unresolved_cm {
                // Its group's names did not resolve: registered, but not to them.
                p.truth.warn("cm-name-unresolved");
            }
        }
        let period = self.keepalive_period(i);
        let d = period + self.span(self.m.keepalive_jitter_ms);
        self.at(t + d, i, Ev::KeepAlive);
        Ok(())
    }

    fn register_retry(&mut self, t: i64, i: usize, n: u32) -> std::io::Result<()> {
        let msg = self.register_payload(i, self.phones[i].cseq)?;
        self.phone_payload(t, i, &msg)?;
        // Timer A doubles up to 8 times itself (RFC 3261: T2 = 4 s), until Timer F.
        let a = self.m.sip_timer_a_ms;
        let elapsed_ms: i64 = (0..n).map(|k| a << k.min(3)).sum();
        let wait = a << n.min(3);
        if elapsed_ms + wait >= self.m.sip_timer_f_ms {
            self.at(t + wait * MS, i, Ev::RegisterTimeout);
        } else {
            self.at(t + wait * MS, i, Ev::RegisterRetry(n + 1));
        }
        Ok(())
    }

    fn register_timeout(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        self.phones[i]
            .truth
            .fail(Stage::Registration, "register-no-response");
        self.phones[i].last_reason = "KeepaliveTO";
        self.after_failure(t, i)
    }

    fn after_failure(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        if self.uses_tcp(i) {
            self.close_cm_connection(t + MS, i)?;
        }
        self.phones[i].epoch += 1;
        if self.sc.has_fault(i, Fault::RebootOnFailure) {
            self.phones[i].last_reason = "Reset-Restart";
            // Counted when its DISCOVER is sent: a reboot whose boot the capture does not
            // reach is no restart the analyzer can see.
            self.phones[i].rebooting = true;
            self.phones[i].phase = Phase::Off;
            let d = self.span(self.m.failure_reboot_ms);
            self.at(t + d, i, Ev::Reboot);
        } else {
            self.phones[i].phase = Phase::Connecting;
            let d = self.span(self.m.register_retry_ms);
            self.at(t + d, i, Ev::Connect(1));
        }
        Ok(())
    }

    /// How the call manager lets the phone down at its next keepalive or refresh, if
    /// it does (`after_registration`: not yet as many times as it says, and enough
    /// answered since the registration).
    fn lapse_due(&self, i: usize) -> Option<LapseKind> {
        let lapse = self.spec(i).after_registration.as_ref()?;
        let p = &self.phones[i];
        (p.lapses < lapse.times && p.answered >= lapse.answered).then_some(lapse.kind)
    }

    /// The registration lost at `t` (the phone closes its connection first when
    /// `close`): it connects again, to the call manager `after_registration` says, or,
    /// cut off, to hosts that answer no more.
    fn lose_registration(
        &mut self,
        t: i64,
        i: usize,
        reason: &'static str,
        close: bool,
    ) -> std::io::Result<()> {
        if close && self.uses_tcp(i) {
            self.close_cm_connection(t, i)?;
        }
        let Some(lapse) = self.spec(i).after_registration.clone() else {
            return Ok(());
        };
        let cms = self.sc.site.callmanagers.len().max(1);
        let p = &mut self.phones[i];
        p.lapses += 1;
        p.misses = 0;
        p.answered = 0;
        p.truth.warn("registration-lost");
        p.truth.lost = true;
        p.last_reason = reason;
        p.tell_last = true;
        // Its keepalive timers stop.
        p.epoch += 1;
        if p.lapses >= lapse.times {
            match lapse.back {
                LapseBack::Same => {}
                LapseBack::Next => p.cm_index = (p.cm_index + 1) % cms,
                LapseBack::Never => p.cut_off = true,
            }
        }
        p.phase = Phase::Connecting;
        let d = self.span(self.m.cm_failover_ms);
        self.at(t + d, i, Ev::Connect(1));
        Ok(())
    }

    fn keepalive(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let lapse = self.lapse_due(i);
        let give_up = u32::try_from(self.m.keepalive_misses).unwrap_or(3);
        if lapse == Some(LapseKind::KeepaliveLoss) && self.phones[i].misses >= give_up {
            // The last keepalive's period is over, unanswered: the phone gives up.
            return self.lose_registration(t, i, "KeepaliveTO", true);
        }
        match lapse {
            Some(LapseKind::KeepaliveLoss) => {
                self.phone_payload(t, i, &encode::sccp_keepalive()?)?;
                self.phones[i].misses += 1;
                let next = self.keepalive_period(i) + self.span(self.m.keepalive_jitter_ms);
                self.at(t + next, i, Ev::KeepAlive);
                return Ok(());
            }
            Some(LapseKind::ConnectionReset) => {
                self.phone_payload(t, i, &encode::sccp_keepalive()?)?;
                let d = self.span(self.m.keepalive_answer_ms);
                if let Some((_, me, cm)) = self.cm_ends(i) {
                    let p = &self.phones[i];
                    let rst = TcpFields::reset(p.peer_seq, p.seq);
                    let frame = wire::tcp_frame(self.to_phone_l2(i), cm, me, rst, &[]);
                    self.emit(t + d, &frame)?;
                }
                return self.lose_registration(t + d, i, "CM-reset-TCP", false);
            }
            Some(LapseKind::RefreshUnanswered) => {
                self.phones[i].cseq += 1;
                let msg = self.register_payload(i, self.phones[i].cseq)?;
                self.phone_payload(t, i, &msg)?;
                if !self.uses_tcp(i) {
                    // Timer A from 500 ms, doubling to 4 s, until Timer F.
                    let (a, f) = (self.m.sip_timer_a_ms, self.m.sip_timer_f_ms);
                    let (mut at, mut n) = (a, 0u32);
                    while at < f {
                        self.phone_payload(t + at * MS, i, &msg)?;
                        n += 1;
                        at += a << n.min(3);
                    }
                }
                self.at(t + self.m.sip_timer_f_ms * MS, i, Ev::RefreshLost);
                return Ok(());
            }
            Some(LapseKind::RefreshRejected) => {
                self.phones[i].cseq += 1;
                let msg = self.register_payload(i, self.phones[i].cseq)?;
                self.phone_payload(t, i, &msg)?;
                let d = self.span(self.m.keepalive_answer_ms);
                let spec = self.spec(i).clone();
                let p = &self.phones[i];
                let answer = encode::sip_response(
                    503,
                    &p.name,
                    p.mac,
                    p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    p.local_port,
                    spec.transport,
                    p.cseq,
                )?;
                self.cm_payload(t + d, i, &answer)?;
                return self.lose_registration(t + d, i, "Phone-Reg-Rej", false);
            }
            None => {}
        }
        self.phones[i].answered += 1;
        let msg = match self.spec(i).protocol {
            Protocol::Sccp => encode::sccp_keepalive(),
            Protocol::Sip => {
                self.phones[i].cseq += 1;
                self.register_payload(i, self.phones[i].cseq)
            }
        }?;
        self.phone_payload(t, i, &msg)?;
        let d = self.span(self.m.keepalive_answer_ms);
        self.at(t + d, i, Ev::KeepAliveAnswer);
        let d = self.keepalive_period(i) + self.span(self.m.keepalive_jitter_ms);
        self.at(t + d, i, Ev::KeepAlive);
        Ok(())
    }

    /// SCCP KeepAliveReq every 30 s (RegisterAck); SIP re-REGISTER every 120 s (the
    /// Expires CUCM answers).
    fn keepalive_period(&self, i: usize) -> i64 {
        match self.spec(i).protocol {
            Protocol::Sccp => self.m.keepalive_sccp_ms * MS,
            Protocol::Sip => self.m.keepalive_sip_ms * MS,
        }
    }

    fn keepalive_answer(&mut self, t: i64, i: usize) -> std::io::Result<()> {
        let spec = self.spec(i).clone();
        let msg = match spec.protocol {
            Protocol::Sccp => encode::sccp_keepalive_ack(),
            Protocol::Sip => {
                let p = &self.phones[i];
                encode::sip_response(
                    200,
                    &p.name,
                    p.mac,
                    p.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    p.local_port,
                    spec.transport,
                    p.cseq,
                )
            }
        }?;
        self.cm_payload(t, i, &msg)
    }

    /// A phone that was registered before the capture started: a live connection
    /// (no handshake seen) and keepalives.
    fn resume_registered(&mut self, i: usize, t: i64) {
        let ip = self.lease_for_registered(i);
        let p = &mut self.phones[i];
        // A wireless phone's frames carry no tag.
        p.vlan = (p.variant.neighbours != Neighbours::Wireless).then_some(self.sc.site.voice_vlan);
        p.ip = Some(ip);
        p.phase = Phase::Registered;
        p.truth.registered = true;
        p.local_port = 50000 + u16::try_from(i % 10_000).unwrap_or(0);
        p.seq = self.rng.next_u64() as u32;
        p.peer_seq = self.rng.next_u64() as u32;
        // Where in its keepalive cycle the capture finds the phone: the scenario's
        // staging, no timing of a boot's.
        let d = self.jitter(0, 25_000);
        self.at(t + d, i, Ev::KeepAlive);
    }

    fn lease_for_registered(&self, i: usize) -> Ipv4Addr {
        self.host_ip(self.sc.site.pool_start, i)
    }

    // ---- background traffic -----------------------------------------------------

    /// One tick's worth of background traffic, written at once (it is stamped `t`,
    /// and everything before `t` is already out): a third of the bytes RTP (G.711,
    /// 20 ms, tagged on the voice VLAN), the rest 1514-byte TCP segments of a file
    /// copy on the data VLAN.
    fn traffic(&mut self, t: i64) -> std::io::Result<()> {
        const RTP_FRAME: f64 = 218.0;
        const BULK_FRAME: f64 = 1514.0;
        let bytes = self.sc.background.traffic_mbps * 1e6 / 8.0 * (TRAFFIC_TICK_NS as f64 / 1e9);
        // Whole frames per tick, the fractions carried by chance so the rate holds.
        let frames = |share: f64, size: f64, rng: &mut Rng| {
            let want = bytes * share / size;
            let whole = want.floor();
            let frac = ((want - whole) * 1e6) as i64;
            whole as u64 + u64::from(rng.range(0, 1_000_000) < frac)
        };
        let rtp = frames(1.0 / 3.0, RTP_FRAME, &mut self.rng);
        let bulk = frames(2.0 / 3.0, BULK_FRAME, &mut self.rng);
        let site = &self.sc.site;
        let n = self.phones.len().max(2);
        for k in 0..rtp {
            let a = self.rng.range(0, n as i64) as usize;
            let b = (a + 1) % n;
            let mut payload = [0xd5u8; 172];
            payload[..2].copy_from_slice(&[0x80, 0x00]);
            payload[2..4].copy_from_slice(&((t / TRAFFIC_TICK_NS) as u16).to_be_bytes());
            let l2 = L2 {
                src: MacAddr([0x00, 0x1b, 0x54, 0xee, (a >> 8) as u8, a as u8]),
                dst: MacAddr([0x00, 0x1b, 0x54, 0xee, (b >> 8) as u8, b as u8]),
                vlan: Some(site.voice_vlan),
            };
            let src = Endpoint {
                ip: self.host_ip(site.pool_start, a),
                port: 16384 + 2 * (k as u16 % 100),
            };
            let dst = Endpoint {
                ip: self.host_ip(site.pool_start, b),
                port: 16384 + 2 * (k as u16 % 100),
            };
            let f = wire::udp_frame(l2, src, dst, &payload);
            self.out.record(t, &f)?;
        }
        match self.sc.background.bulk {
            Bulk::FileCopy => self.file_copy(t, bulk)?,
            Bulk::Web => self.web(t, bulk)?,
        }
        Ok(())
    }

    /// `frames` full-size segments of file copies from a server to 50 PCs.
    fn file_copy(&mut self, t: i64, frames: u64) -> std::io::Result<()> {
        let site = &self.sc.site;
        for k in 0..frames {
            let pc = k as usize % 50;
            let l2 = L2 {
                src: site.gateway_mac.0,
                dst: MacAddr([0x3c, 0x52, 0x82, 0x20, 0, pc as u8]),
                vlan: None,
            };
            let data_net = u32::from(site.data_gateway) & 0xffff_ff00;
            let server = Endpoint {
                ip: Ipv4Addr::new(10, 1, 2, 20),
                port: 445,
            };
            let client = Endpoint {
                ip: Ipv4Addr::from(data_net | (100 + pc as u32)),
                port: 49_152 + pc as u16,
            };
            let seq = (t / TRAFFIC_TICK_NS) as u32 ^ (k as u32).wrapping_mul(1460);
            let tcp = wire::TcpFields {
                seq,
                ack_no: 1,
                ack: true,
                ..wire::TcpFields::default()
            };
            let f = wire::tcp_frame(l2, server, client, tcp, &[0x5a; 1460]);
            self.out.record(t, &f)?;
        }
        Ok(())
    }

    /// `frames` segments of PCs browsing: HTTP and TLS connections to a few web
    /// servers, each PC on a new client port every 256 ticks; a request up for every
    /// seven segments of response down (TLS application-data records, or HTTP bodies).
    fn web(&mut self, t: i64, frames: u64) -> std::io::Result<()> {
        let site = &self.sc.site;
        let pcs = (self.sc.background.pcs as usize).clamp(1, 250);
        let data_net = u32::from(site.data_gateway) & 0xffff_ff00;
        let tick = (t / TRAFFIC_TICK_NS) as u64;
        for k in 0..frames {
            // Less than a frame a tick at a few Mb/s: the frames are told apart by a
            // count that runs on across ticks.
            let i = tick * 5 + k;
            let pc = (i as usize / 8) % pcs;
            let tls = i % 3 != 0;
            let server = Endpoint {
                ip: Ipv4Addr::new(93, 184, 216, (i / 8 % 8) as u8 + 1),
                port: if tls { 443 } else { 80 },
            };
            let client = Endpoint {
                ip: Ipv4Addr::from(data_net | (20 + pc as u32)),
                port: 49_152 + (((tick >> 8) as u16).wrapping_add(pc as u16 * 13) % 16_000),
            };
            let pc_mac = MacAddr([0x3c, 0x52, 0x82, 0x30, (pc >> 8) as u8, pc as u8]);
            // A browser resolves names as it goes: one lookup and its answer in every
            // 64 frames, so DNS is in the path the budget is measured on.
            if i % 64 < 2 {
                let f = browsing_lookup(site, pc_mac, client.ip, i);
                self.out.record(t, &f)?;
                continue;
            }
            let up = i % 8 == 0;
            let (l2, from, to) = if up {
                let l2 = L2 {
                    src: pc_mac,
                    dst: site.gateway_mac.0,
                    vlan: None,
                };
                (l2, client, server)
            } else {
                let l2 = L2 {
                    src: site.gateway_mac.0,
                    dst: pc_mac,
                    vlan: None,
                };
                (l2, server, client)
            };
            let mut payload = if up { vec![0u8; 420] } else { vec![0u8; 1460] };
            if tls {
                // A TLS 1.2 application-data record header.
                let len = (payload.len() - 5) as u16;
                payload[..3].copy_from_slice(&[0x17, 0x03, 0x03]);
                payload[3..5].copy_from_slice(&len.to_be_bytes());
            } else if up {
                let req = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
                payload.truncate(req.len());
                payload.copy_from_slice(req);
            }
            let tcp = wire::TcpFields {
                seq: (i as u32).wrapping_mul(1460),
                ack_no: 1,
                ack: true,
                ..wire::TcpFields::default()
            };
            let f = wire::tcp_frame(l2, from, to, tcp, &payload);
            self.out.record(t, &f)?;
        }
        Ok(())
    }

    // ---- the flood ----------------------------------------------------------------

    /// The flood's DISCOVERs due in the millisecond from `t` (each at its own time),
    /// and the server's answers while its pool lasts. False once all are sent.
    fn flood_tick(&mut self, t: i64) -> std::io::Result<bool> {
        let Some(f) = self.sc.flood.clone() else {
            return Ok(false);
        };
        let site = &self.sc.site;
        let vlan = f.vlan_in(site);
        let first = self.start_ns + i64::try_from(f.start_ms).unwrap_or(0) * MS;
        let attacker = flood_mac(self.sc.seed, (1 << 46) - 1);
        while self.flood_sent < f.macs {
            let k = u64::from(self.flood_sent);
            let at = first + i64::try_from(k * 1_000_000_000 / u64::from(f.rate)).unwrap_or(0);
            if at >= t + MS {
                return Ok(true);
            }
            self.flood_sent += 1;
            if at > self.end_ns {
                continue;
            }
            self.flood_in_capture += 1;
            let client = flood_mac(self.sc.seed, k);
            let source = match f.style {
                FloodStyle::RandomSource => client,
                FloodStyle::OneSource => attacker,
            };
            let xid = self.flood_rng.next_u64() as u32;
            let discover = encode::dhcp_flood(client, xid, encode::DhcpClientKind::Discover);
            self.emit(
                at,
                &wire::dhcp_client_broadcast(source, Some(vlan), &discover),
            )?;
            // The server offers an address while its scope has one (the flood's VLAN
            // is the voice VLAN's scope; any other is never short).
            let offered = if vlan == site.voice_vlan {
                match self.pool_left {
                    Some(0) => false,
                    Some(n) => {
                        self.pool_left = Some(n - 1);
                        true
                    }
                    None => true,
                }
            } else {
                true
            };
            if !offered {
                continue;
            }
            self.flood_taken += 1;
            let host = self.phones.len() + usize::try_from(self.flood_taken).unwrap_or(0);
            let yiaddr = self.host_ip(site.pool_start, host);
            let gateway = site.voice_gateway;
            let l2 = L2 {
                src: site.gateway_mac.0,
                dst: client,
                vlan: Some(vlan),
            };
            let server = Endpoint {
                ip: gateway,
                port: 67,
            };
            let to = Endpoint {
                ip: yiaddr,
                port: 68,
            };
            let answer = |kind| {
                encode::dhcp_server(
                    client,
                    xid,
                    kind,
                    yiaddr,
                    gateway,
                    site.dhcp_server,
                    &TftpOption::None,
                )
            };
            let d = self.flood_rng.range(2, 30) * MS;
            let offer = answer(encode::DhcpServerKind::Offer);
            self.emit(at + d, &wire::udp_frame(l2, server, to, &offer))?;
            if f.style == FloodStyle::OneSource {
                // dhcpstarv takes the lease: REQUEST, ACK.
                let d2 = d + self.flood_rng.range(5, 40) * MS;
                let request = encode::dhcp_flood(
                    client,
                    xid,
                    encode::DhcpClientKind::Request {
                        requested: yiaddr,
                        server: site.dhcp_server,
                    },
                );
                self.emit(
                    at + d2,
                    &wire::dhcp_client_broadcast(source, Some(vlan), &request),
                )?;
                let d3 = d2 + self.flood_rng.range(2, 30) * MS;
                let ack = answer(encode::DhcpServerKind::Ack);
                self.emit(at + d3, &wire::udp_frame(l2, server, to, &ack))?;
            }
        }
        Ok(false)
    }

    /// The flood's SYNs due in the millisecond from `t`: flow `k` from its own
    /// address and port (172.16.0.0/12, never two alike) to SCCP 2000, SCCP/TLS
    /// 2443, SIP 5060 or HTTP 6970 in turn; none is answered. False once all are sent.
    fn syn_tick(&mut self, t: i64) -> std::io::Result<bool> {
        let Some(f) = self.sc.flood.clone() else {
            return Ok(false);
        };
        let site = &self.sc.site;
        let vlan = f.vlan_in(site);
        let first = self.start_ns + i64::try_from(f.syn_start_ms).unwrap_or(0) * MS;
        let cm = site
            .callmanagers
            .first()
            .map_or(site.voice_gateway, |c| c.ip);
        let config = site.tftp_servers.first().copied().unwrap_or(cm);
        while self.syns_sent < f.half_open {
            let k = self.syns_sent;
            let at = first
                + i64::try_from(u64::from(k) * 1_000_000_000 / u64::from(f.syn_rate)).unwrap_or(0);
            if at >= t + MS {
                return Ok(true);
            }
            self.syns_sent += 1;
            if at > self.end_ns {
                continue;
            }
            let (port, to) = match k % 4 {
                0 => (2000, cm),
                1 => (2443, cm),
                2 => (5060, cm),
                _ => (6970, config),
            };
            let src = Endpoint {
                ip: Ipv4Addr::from(0xac10_0000 | (k >> 4)),
                port: 40_000 + u16::try_from(k & 0xf).unwrap_or(0),
            };
            // Spoofed addresses, one sender: the attacker's own MAC.
            let l2 = L2 {
                src: flood_mac(self.sc.seed, (1 << 46) - 2),
                dst: site.gateway_mac.0,
                vlan: Some(vlan),
            };
            let syn = TcpFields::syn(self.flood_rng.next_u64() as u32);
            self.emit(
                at,
                &wire::tcp_frame(l2, src, Endpoint { ip: to, port }, syn, &[]),
            )?;
        }
        Ok(false)
    }

    /// The storms' messages due in the millisecond from `t`, each at its own time.
    /// False once all are sent.
    fn storm_tick(&mut self, t: i64) -> std::io::Result<bool> {
        let Some(f) = self.sc.flood.clone() else {
            return Ok(false);
        };
        let mut more = false;
        for (n, storm) in f.storms.iter().enumerate() {
            let first = self.start_ns + i64::try_from(storm.start_ms).unwrap_or(0) * MS;
            let rate = u64::from(storm.rate.max(1));
            while let Some(&k) = self.storm_sent.get(n).filter(|&&k| k < storm.messages) {
                let at = first + i64::try_from(u64::from(k) * 1_000_000_000 / rate).unwrap_or(0);
                if at >= t + MS {
                    more = true;
                    break;
                }
                self.storm_sent[n] += 1;
                if at > self.end_ns {
                    continue;
                }
                self.storm_in_capture[n] += 1;
                let frame = self.storm_frame(storm, n, k)?;
                self.emit(at, &frame)?;
            }
        }
        Ok(more)
    }

    /// Message `k` of storm `n`.
    fn storm_frame(&self, storm: &Storm, n: usize, k: u32) -> Result<Vec<u8>, EmitError> {
        let site = &self.sc.site;
        let vlan = storm.vlan_in(site);
        // Made-up senders of their own, apart from the DHCP flood's and from storm to storm.
        let made_up = |k: u64| flood_mac(self.sc.seed ^ (0x5707_0000 + n as u64), k);
        let source = match storm.style {
            FloodStyle::RandomSource => made_up(u64::from(k)),
            FloodStyle::OneSource => made_up((1 << 46) - 1),
        };
        // Addresses of nobody on the site (172.16/12), so that no phone's is taken.
        let host = |k: u32| Ipv4Addr::from(0xac10_0000 | (k & 0xf_ffff));
        Ok(match storm.kind {
            StormKind::Arp => wire::arp_frame(
                L2 {
                    src: source,
                    dst: wire::BROADCAST,
                    vlan,
                },
                1,
                (source, host(k)),
                (MacAddr::default(), host(k.wrapping_add(7))),
            ),
            StormKind::Dns => {
                let server = site.dns.as_ref().map_or(site.dhcp_server, |d| d.server);
                let name = format!("h{k}.flood.example.com");
                let query = encode::dns_query(u16::try_from(k & 0xffff).unwrap_or(0), &name);
                wire::udp_frame(
                    L2 {
                        src: source,
                        dst: site.gateway_mac.0,
                        vlan,
                    },
                    Endpoint {
                        ip: host(k),
                        port: 1024 + u16::try_from(k % 60_000).unwrap_or(0),
                    },
                    Endpoint {
                        ip: server,
                        port: 53,
                    },
                    &query,
                )
            }
            StormKind::EapolStart => wire::ether_frame(
                L2 {
                    src: source,
                    dst: PAE_GROUP,
                    vlan,
                },
                ETHERTYPE_EAPOL,
                &encode::eapol(encode::Eapol::Start, 0)?,
            ),
            StormKind::IcmpUnreachable => {
                let (to, gateway) = (host(k), site.voice_gateway);
                let tftp = site.tftp_servers.first().copied().unwrap_or(gateway);
                let quote = (to, 49_152 + u16::try_from(k % 1000).unwrap_or(0), tftp, 69);
                let icmp = encode::icmp_unreachable(3, quote, 17, 30, 0)?;
                wire::ipv4_frame(
                    L2 {
                        src: site.gateway_mac.0,
                        dst: source,
                        vlan,
                    },
                    gateway,
                    to,
                    1,
                    &icmp,
                )
            }
        })
    }

    // ---- background PCs ---------------------------------------------------------

    /// The background PCs' pace (their DHCP and their DNS) is scenery around the phones,
    /// no part of the model of a phone's boot: its delays stay written here.
    fn pc_event(&mut self, t: i64, pc: usize, ev: Ev) -> std::io::Result<()> {
        let mac = MacAddr([0x3c, 0x52, 0x82, 0x10, (pc >> 8) as u8, pc as u8]);
        let ip = Ipv4Addr::from(
            (u32::from(self.sc.site.data_gateway) & 0xffff_ff00) | (200 + (pc % 50) as u32),
        );
        let gw = self.sc.site.gateway_mac.0;
        let xid = 0x5c00_0000 | pc as u32;
        match ev {
            Ev::PcBoot => {
                let m = encode::dhcp_pc(mac, xid, encode::DhcpClientKind::Discover);
                self.emit(t, &wire::dhcp_client_broadcast(mac, None, &m))?;
                let d = self.jitter(5, 30);
                self.at(t + d, self.phones.len() + pc, Ev::PcNext(1));
            }
            Ev::PcNext(step) => {
                let l2_to = L2 {
                    src: gw,
                    dst: mac,
                    vlan: None,
                };
                let l2_from = L2 {
                    src: mac,
                    dst: gw,
                    vlan: None,
                };
                let server = Endpoint {
                    ip: self.sc.site.data_gateway,
                    port: 67,
                };
                let client = Endpoint { ip, port: 68 };
                match step {
                    1 => {
                        let m = encode::dhcp_server(
                            mac,
                            xid,
                            encode::DhcpServerKind::Offer,
                            ip,
                            self.sc.site.data_gateway,
                            self.sc.site.dhcp_server,
                            &TftpOption::None,
                        );
                        self.emit(t, &wire::udp_frame(l2_to, server, client, &m))?;
                    }
                    2 => {
                        let m = encode::dhcp_pc(
                            mac,
                            xid,
                            encode::DhcpClientKind::Request {
                                requested: ip,
                                server: self.sc.site.dhcp_server,
                            },
                        );
                        self.emit(t, &wire::dhcp_client_broadcast(mac, None, &m))?;
                    }
                    3 => {
                        let m = encode::dhcp_server(
                            mac,
                            xid,
                            encode::DhcpServerKind::Ack,
                            ip,
                            self.sc.site.data_gateway,
                            self.sc.site.dhcp_server,
                            &TftpOption::None,
                        );
                        self.emit(t, &wire::udp_frame(l2_to, server, client, &m))?;
                    }
                    4 => {
                        let l2 = L2 {
                            src: mac,
                            dst: wire::BROADCAST,
                            vlan: None,
                        };
                        let f = wire::arp_frame(
                            l2,
                            1,
                            (mac, ip),
                            (MacAddr::default(), self.sc.site.data_gateway),
                        );
                        self.emit(t, &f)?;
                        let f =
                            wire::arp_frame(l2_to, 2, (gw, self.sc.site.data_gateway), (mac, ip));
                        self.emit(t + MS, &f)?;
                    }
                    _ => {
                        let q = encode::dns_query(
                            u16::try_from(step).unwrap_or(1),
                            "intranet.example.com",
                        );
                        let dns = Endpoint {
                            ip: self.sc.site.dhcp_server,
                            port: 53,
                        };
                        let me = Endpoint {
                            ip,
                            port: 40000 + u16::try_from(step).unwrap_or(0),
                        };
                        self.emit(t, &wire::udp_frame(l2_from, me, dns, &q))?;
                    }
                }
                if step < 12 {
                    let d = if step < 4 {
                        self.jitter(5, 40)
                    } else {
                        self.jitter(5_000, 20_000)
                    };
                    self.at(t + d, self.phones.len() + pc, Ev::PcNext(step + 1));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The `k`th made-up client MAC of a flood seeded `seed`: a bijection of `k` over
/// 46 bits (an odd multiplier and a shift-xor, both invertible), so no two clients
/// share a MAC, set in a unicast, locally administered address (second bit of the
/// first byte), which no phone's (vendor-assigned) MAC can be.
pub fn flood_mac(seed: u64, k: u64) -> MacAddr {
    const BITS: u64 = (1 << 46) - 1;
    let mut x = (k & BITS)
        .wrapping_mul(0x2545_f491_4f6c_dd1d)
        .wrapping_add(seed)
        & BITS;
    x ^= x >> 23;
    x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15) & BITS;
    let b = x.to_be_bytes();
    MacAddr([(b[2] << 2) | 0x02, b[3], b[4], b[5], b[6], b[7]])
}

/// The load the configuration names for a protocol.
pub fn config_load(sc: &Scenario, protocol: Protocol) -> String {
    match protocol {
        Protocol::Sccp => sc.site.sccp_load.clone(),
        Protocol::Sip => sc.site.sip_load.clone(),
    }
}

/// The load the configuration names for a phone: its own, or its protocol's.
pub fn phone_load(sc: &Scenario, spec: &PhoneSpec) -> String {
    spec.config_load
        .clone()
        .unwrap_or_else(|| config_load(sc, spec.protocol))
}

trait SaturatingHost {
    fn saturating_host(self, i: usize) -> Ipv4Addr;
}

impl SaturatingHost for Ipv4Addr {
    fn saturating_host(self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self).wrapping_add(u32::try_from(i).unwrap_or(0)))
    }
}

/// The DNS server browsing PCs ask (on the data VLAN's server subnet).
const BROWSING_DNS: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 53);

/// Frame `i` of a browsing PC's lookup: an even `i` the query for a web server's name
/// (an A record), an odd one the server's answer.
fn browsing_lookup(site: &Site, pc_mac: MacAddr, pc_ip: Ipv4Addr, i: u64) -> Vec<u8> {
    let name = b"\x03www\x07example\x03com\x00";
    let id = (i / 64) as u16;
    let answer = i % 2 == 1;
    let mut dns = Vec::with_capacity(64);
    dns.extend_from_slice(&id.to_be_bytes());
    dns.extend_from_slice(if answer { &[0x81, 0x80] } else { &[0x01, 0x00] });
    dns.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    dns.extend_from_slice(name);
    dns.extend_from_slice(&[0, 1, 0, 1]);
    if answer {
        // A pointer to the question's name, type A, class IN, TTL 300, 4 bytes.
        dns.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4]);
        dns.extend_from_slice(&[93, 184, 216, (i / 64 % 8) as u8 + 1]);
    }
    let pc = Endpoint {
        ip: pc_ip,
        port: 50_000 + (id % 10_000),
    };
    let server = Endpoint {
        ip: BROWSING_DNS,
        port: 53,
    };
    let (l2, src, dst) = if answer {
        let l2 = L2 {
            src: site.gateway_mac.0,
            dst: pc_mac,
            vlan: None,
        };
        (l2, server, pc)
    } else {
        let l2 = L2 {
            src: pc_mac,
            dst: site.gateway_mac.0,
            vlan: None,
        };
        (l2, pc, server)
    };
    wire::udp_frame(l2, src, dst, &dns)
}

/// The SRST router of `p`'s configuration: the site's, or for a phone with
/// `srst-fallback` its gateway (the branch router that runs SRST).
fn phone_srst(sc: &Scenario, p: &PhoneSpec) -> Option<super::scenario::CallManager> {
    let own = (p.faults.contains(&Fault::SrstFallback)
        || sc.site.faults.contains(&Fault::SrstFallback))
    .then_some(sc.site.voice_gateway);
    sc.site.srst.or(own).map(|ip| super::scenario::CallManager {
        name: "srst".into(),
        ip,
        fault: None,
    })
}
