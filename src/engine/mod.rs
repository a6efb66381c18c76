//! The analysis engine: dissected messages in, per-device boots out. [`Analyzer`]
//! takes what the dispatcher observed in each frame (messages, TCP handshakes,
//! encrypted call-manager traffic), turns it into owned [`Event`]s, attributes each
//! to one device ([`crate::attribution`]), follows TFTP transfers, HTTP requests and
//! SIP transactions to their answers, and advances the device's boot along the
//! expected sequence of `rules/`. [`Analyzer::finish`] then evaluates the rules per
//! device ([`verdict`]) and builds the report. One streaming pass; the state is
//! bounded by devices and open transactions, never by capture size: every table a
//! sender can grow has a cap ([`EngineLimits`]), the devices stay within a memory
//! budget, and when the device table is full the least valuable device goes first
//! (never shown to be a phone, oldest first), so a phone booting into a flood of
//! made-up clients is still followed. [`flood`] watches for DHCP starvation.

pub mod device;
pub mod facts;
pub mod flood;
pub mod verdict;

use std::collections::VecDeque;

use crate::FastMap;
use std::net::{IpAddr, Ipv4Addr};

use parsers::{cdp, dhcp, http, lldp, sccp, sip, tftp};
use rules::{RuleSet, Sequence, StepId};

use crate::attribution::{mac_in_name, Attribution};
use crate::capture::Frame;
use crate::dispatch::{self, Message, Observed, TcpControlKind};
use crate::link::{MacAddr, Net, Packet, Transport};
use crate::timeline::{Event, EventKind, FileClass, FileTransport, Signalling, TftpOffer};
pub use device::{Device, DeviceKey, DeviceKind};

/// Call-manager signalling ports: SCCP, SCCP over TLS, SIP, SIP over TLS.
const CM_PORTS: [u16; 4] = [
    dispatch::SCCP,
    dispatch::SCCP_TLS,
    dispatch::SIP,
    dispatch::SIP_TLS,
];
/// Encrypted signalling ports.
const TLS_PORTS: [u16; 2] = [dispatch::SCCP_TLS, dispatch::SIP_TLS];
/// HTTP configuration port of Cisco call managers.
const HTTP_CONFIG: u16 = dispatch::HTTP_TFTP;
/// A switch's CDP/LLDP answers the phone announcement at most this long before it.
const SWITCH_ANSWER_NS: i64 = 10 * 1_000_000_000;
/// The same DHCP message (type and xid) seen again within this window is a relay's
/// copy, not a retransmission.
const RELAY_COPY_NS: i64 = 500_000_000;
/// Phone announcements waiting for the switch's answer, at most.
const MAX_ANNOUNCES: usize = 4096;
/// A finished TFTP transfer silent this long is forgotten.
const DONE_TRANSFER_IDLE_NS: i64 = 10 * 1_000_000_000;
/// A transaction silent this long is forgotten.
const TRANSACTION_IDLE_NS: i64 = 300 * 1_000_000_000;
/// Wire bytes kept of one string (a file name, a reason, an alarm): longer ones are
/// cut and end in `…`. Escaping may write up to 4 bytes per byte kept.
pub const MAX_TEXT: usize = 160;
/// The most heap one wire string can take once escaped and cut.
pub const MAX_TEXT_BYTES: usize = 4 * MAX_TEXT + '…'.len_utf8();

/// Bounds on the engine's state (README "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// Devices followed at once. Past it the oldest device never shown to be a
    /// phone is forgotten to make room; only a table full of phones refuses one.
    pub max_devices: usize,
    /// Heap bytes the devices may take, their report entries included (see
    /// [`Device::charge`]). Past it devices are forgotten as above, then the
    /// growing ones are frozen and new ones refused.
    pub max_device_bytes: usize,
    /// Open transactions per table (TFTP transfers, HTTP requests, SIP REGISTERs,
    /// named SCCP endpoints).
    pub max_transactions: usize,
    /// IP→MAC, endpoint→MAC and source bindings per table ([`Attribution`]).
    pub max_bindings: usize,
}

/// The default `--max-devices`: the 10 000 phones and 1 000 PCs of a big site twice
/// over, and within the 32 768 buckets of one hash table allocation.
pub const DEFAULT_MAX_DEVICES: usize = 25_000;
/// The default `--max-flows`.
pub const DEFAULT_MAX_TRANSACTIONS: usize = 8192;

impl Default for EngineLimits {
    /// The engine's part of [`crate::limits::Limits::default`].
    fn default() -> Self {
        crate::limits::Limits::default().engine
    }
}

impl EngineLimits {
    /// The most heap the engine's tables can take with these limits, but what the
    /// devices hold: the device table's slots and the queue of unconfirmed devices;
    /// the four transaction tables full, each entry with its strings at their
    /// longest (a file name, an owner named by a SIP or SCCP name, a Call-ID); the
    /// pending switch answers, the attribution bindings and the starvation detector.
    pub fn max_table_heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let buckets = |n: usize| (n * 8 / 7).next_power_of_two();
        let table = |n: usize, entry: usize| buckets(n) * (entry + 1);
        let devices = table(self.max_devices, size_of::<(DeviceKey, Device)>())
            + 2 * self.max_devices * size_of::<(DeviceKey, u64)>();
        let n = self.max_transactions;
        let owner = MAX_TEXT_BYTES + 64;
        devices
            + table(n, size_of::<((IpAddr, u16), Transfer)>())
            + table(n, size_of::<((IpAddr, u16), HttpRequest)>())
            + table(n, size_of::<((Box<str>, IpAddr), SipTransaction)>())
            + table(n, size_of::<((IpAddr, u16), Box<str>)>())
            + n * (3 * owner + 2 * MAX_TEXT_BYTES + MAX_TEXT)
            + MAX_ANNOUNCES * 2 * size_of::<Announce>()
            // The latest time per MAC, as the table grows (old and new at once).
            + 2 * table(MAX_ANNOUNCES + 1, size_of::<(MacAddr, (u32, i64))>())
            + Attribution::max_heap_bytes(self.max_bindings)
            + flood::Detector::max_heap_bytes()
    }
}

/// Counters for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Messages of a boot protocol no device could be found for.
    pub unattributed: u64,
    /// Times a new device was not followed because the table (or the memory
    /// budget) was full of phones.
    pub devices_refused: u64,
    /// Devices forgotten to make room (never shown to be phones, oldest first).
    pub devices_evicted: u64,
    /// Devices frozen because the memory budget was spent on phones.
    pub devices_frozen: u64,
    /// Events of frozen devices not recorded: their strings did not fit the budget.
    pub events_dropped: u64,
    /// Transactions not followed (table full) or forgotten (idle while it was).
    pub transactions_evicted: u64,
    /// TCP stream gaps reported by the dispatcher.
    pub stream_gaps: u64,
}

/// The step ids the engine advances, resolved once from the loaded sequence.
#[derive(Debug, Clone, Copy, Default)]
struct Steps {
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
    fn resolve(seq: &Sequence) -> Self {
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
    fn of(&self, kind: &EventKind) -> Option<StepId> {
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

/// A TFTP transfer, keyed by the client's endpoint.
#[derive(Debug)]
struct Transfer {
    owner: DeviceKey,
    file: Box<str>,
    server: IpAddr,
    blksize: usize,
    bytes: u64,
    last_block: u16,
    answered: bool,
    done: bool,
    last_ns: i64,
}

/// An HTTP request waiting for its response, keyed by the client's endpoint.
#[derive(Debug)]
struct HttpRequest {
    owner: DeviceKey,
    file: Box<str>,
    last_ns: i64,
}

/// A SIP REGISTER waiting for its final answer, keyed by Call-ID and the address
/// that sent it (a proxy forwards the same Call-ID on its own leg; the answer goes
/// back to the sender's address, maybe another port).
#[derive(Debug)]
struct SipTransaction {
    owner: DeviceKey,
    expires: Option<u32>,
    last_ns: i64,
}

/// A phone announcement waiting for the switch's answer.
#[derive(Debug, Clone, Copy)]
struct Announce {
    mac: MacAddr,
    ts_ns: i64,
    cdp_answered: bool,
    lldp_answered: bool,
}

/// The announcements waiting for answers, oldest first, with how many at the front
/// are answered already per protocol, so an answer does not walk past them again
/// (a boot storm keeps thousands waiting).
#[derive(Debug, Default)]
struct Announces {
    queue: VecDeque<Announce>,
    /// Every entry before these is answered: by CDP, by LLDP.
    cdp_done: usize,
    lldp_done: usize,
    /// Per MAC: its entries, and the latest time among them.
    latest: FastMap<MacAddr, (u32, i64)>,
}

impl Announces {
    fn push(&mut self, a: Announce) {
        self.queue.push_back(a);
        let e = self.latest.entry(a.mac).or_insert((0, a.ts_ns));
        *e = (e.0 + 1, e.1.max(a.ts_ns));
        if self.queue.len() > MAX_ANNOUNCES {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        let Some(a) = self.queue.pop_front() else {
            return;
        };
        self.cdp_done = self.cdp_done.saturating_sub(1);
        self.lldp_done = self.lldp_done.saturating_sub(1);
        let Some(&(n, latest)) = self.latest.get(&a.mac) else {
            return;
        };
        if n <= 1 {
            self.latest.remove(&a.mac);
            return;
        }
        // Only when time ran backwards was the oldest entry its MAC's latest: then
        // the latest is found again among the rest.
        let latest = if a.ts_ns < latest {
            latest
        } else {
            self.queue
                .iter()
                .filter(|q| q.mac == a.mac)
                .map(|q| q.ts_ns)
                .max()
                .unwrap_or(latest)
        };
        self.latest.insert(a.mac, (n - 1, latest));
    }

    /// Whether `mac` announced less than 2 s before `now` (or after it).
    fn recent(&self, mac: MacAddr, now: i64) -> bool {
        self.latest
            .get(&mac)
            .is_some_and(|&(_, ts)| now - ts < 2_000_000_000)
    }

    /// Forget announcements older than the answer window at `now`.
    fn expire(&mut self, now: i64) {
        while self
            .queue
            .front()
            .is_some_and(|a| now - a.ts_ns > SWITCH_ANSWER_NS)
        {
            self.pop_front();
        }
    }

    /// The MAC of the oldest announcement not answered by `cdp` (else LLDP) that
    /// `switch` did not send; marked answered.
    fn answer(&mut self, switch: MacAddr, cdp: bool) -> Option<MacAddr> {
        let answered = |a: &Announce| if cdp { a.cdp_answered } else { a.lldp_answered };
        let from = if cdp { self.cdp_done } else { self.lldp_done };
        let i = from
            + self
                .queue
                .range(from..)
                .position(|a| a.mac != switch && !answered(a))?;
        let a = self.queue.get_mut(i)?;
        if cdp {
            a.cdp_answered = true;
        } else {
            a.lldp_answered = true;
        }
        let mac = a.mac;
        let mut done = from;
        while self.queue.get(done).is_some_and(answered) {
            done += 1;
        }
        if cdp {
            self.cdp_done = done;
        } else {
            self.lldp_done = done;
        }
        Some(mac)
    }
}

/// Where an IP message came from and went to.
#[derive(Debug, Clone, Copy)]
struct Flow {
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
}

/// Per-frame context.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    ts_ns: i64,
    frame: u64,
    src_mac: Option<MacAddr>,
    dst_mac: Option<MacAddr>,
    vlan: Option<u16>,
    flow: Option<Flow>,
}

/// The analysis of one capture (or one live session).
pub struct Analyzer<'r> {
    rules: &'r RuleSet,
    steps: Steps,
    limits: EngineLimits,
    // Hashed, not ordered: looked up for every message; ordered once, for the report.
    // Boxed: the table then holds 24 bytes a device, not 720, so it stays in the
    // cache, and growing it moves and maps little (a device is allocated once, with
    // the other small blocks, rather than moved at every doubling).
    devices: FastMap<DeviceKey, Box<Device>>,
    attribution: Attribution,
    named_endpoints: FastMap<(IpAddr, u16), Box<str>>,
    transfers: FastMap<(IpAddr, u16), Transfer>,
    http: FastMap<(IpAddr, u16), HttpRequest>,
    sip: FastMap<(Box<str>, IpAddr), SipTransaction>,
    announces: Announces,
    next_sweep_ns: i64,
    first_ns: Option<i64>,
    last_ns: Option<i64>,
    /// Devices never shown to be phones, oldest first, with their serials: stale
    /// entries (a device since taken for a phone, or gone) are skipped when popped.
    unconfirmed: VecDeque<(DeviceKey, u64)>,
    serials: u64,
    /// The sum of the devices' charges ([`Device::charge`]).
    device_bytes: usize,
    flood: flood::Detector,
    /// Counters.
    pub stats: EngineStats,
}

impl<'r> Analyzer<'r> {
    /// An analyzer applying `rules`.
    pub fn new(rules: &'r RuleSet, limits: EngineLimits) -> Self {
        Analyzer {
            rules,
            steps: Steps::resolve(&rules.sequence),
            limits,
            devices: FastMap::default(),
            attribution: Attribution::with_limit(limits.max_bindings),
            named_endpoints: FastMap::default(),
            transfers: FastMap::default(),
            http: FastMap::default(),
            sip: FastMap::default(),
            announces: Announces::default(),
            next_sweep_ns: i64::MIN,
            first_ns: None,
            last_ns: None,
            unconfirmed: VecDeque::new(),
            serials: 0,
            device_bytes: 0,
            flood: flood::Detector::new(&rules.dhcp_starvation),
            stats: EngineStats::default(),
        }
    }

    /// The DHCP starvation floods seen so far.
    pub fn floods(&self) -> &[flood::Episode] {
        self.flood.episodes()
    }

    /// The heap the memory budget counts: every device's charge (the table's slots
    /// are reserved apart, at their most: [`EngineLimits::max_table_heap_bytes`]).
    pub fn device_bytes(&self) -> usize {
        self.device_bytes
    }

    /// Forget the oldest device never shown to be a phone; false when there is none.
    fn evict_one(&mut self) -> bool {
        while let Some((key, serial)) = self.unconfirmed.pop_front() {
            let evictable = self
                .devices
                .get(&key)
                .is_some_and(|d| d.serial == serial && d.kind != DeviceKind::Phone);
            if evictable {
                if let Some(d) = self.devices.remove(&key) {
                    self.device_bytes = self.device_bytes.saturating_sub(d.charged);
                }
                self.stats.devices_evicted += 1;
                return true;
            }
        }
        false
    }

    /// Room for one more device: forget unconfirmed ones while the table or the
    /// budget is full. False when only phones are left.
    fn make_room(&mut self) -> bool {
        // A new device's first charge, at most.
        let first = device::REPORT_PER_PHONE + 2 * MAX_TEXT_BYTES;
        while self.devices.len() >= self.limits.max_devices
            || self.device_bytes() + first > self.limits.max_device_bytes
        {
            if !self.evict_one() {
                return false;
            }
        }
        true
    }

    /// Room in the budget for `key`'s device to take `ev` (growing by `growth` at
    /// most): forget unconfirmed devices (the device itself, too, if it is the
    /// oldest); if only phones are left, freeze it, so it grows no list, and see if
    /// the event's strings fit then. False when the device is gone or the event
    /// does not fit.
    fn make_room_for(&mut self, key: &DeviceKey, ev: &Event, mut growth: usize) -> bool {
        while self.device_bytes() + growth > self.limits.max_device_bytes {
            if self.evict_one() {
                continue;
            }
            let Some(dev) = self.devices.get_mut(key) else {
                return false;
            };
            if dev.is_frozen() {
                return false;
            }
            dev.freeze();
            self.stats.devices_frozen += 1;
            growth = dev.growth_bound(ev);
            self.recharge(key);
        }
        self.devices.contains_key(key)
    }

    /// Count `key`'s device at its current size.
    fn recharge(&mut self, key: &DeviceKey) {
        if let Some(dev) = self.devices.get_mut(key) {
            recharge(&mut self.device_bytes, dev);
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &'r RuleSet {
        self.rules
    }

    /// Ask for the state of the device this MAC keys (a frame's, a few frames
    /// before it is judged), so that its misses overlap the frames judged meanwhile.
    pub fn prefetch(&self, mac: MacAddr) {
        if let Some(dev) = self.devices.get(&DeviceKey::Mac(mac)) {
            crate::prefetch::value(std::ptr::from_ref::<Device>(dev));
        }
    }

    /// The devices followed so far, in no particular order.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.values().map(|d| &**d)
    }

    /// Capture time of the first and last frame seen.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.first_ns.zip(self.last_ns)
    }

    /// Note a frame's time (every frame, observed or not: the capture's extent decides
    /// timeouts).
    pub fn tick(&mut self, ts_ns: i64) {
        if self.first_ns.is_none_or(|f| ts_ns < f) {
            self.first_ns = Some(ts_ns);
        }
        if self.last_ns.is_none_or(|l| ts_ns > l) {
            self.last_ns = Some(ts_ns);
        }
    }

    /// Take in one observation of a frame.
    pub fn observe(&mut self, frame: &Frame<'_>, packet: &Packet<'_>, obs: &Observed<'_>) {
        let flow = match packet.net {
            Net::Ip(ip) => match ip.transport {
                Transport::Udp {
                    src_port, dst_port, ..
                } => Some(Flow {
                    src: ip.src,
                    dst: ip.dst,
                    sport: src_port,
                    dport: dst_port,
                }),
                Transport::Tcp(seg) => Some(Flow {
                    src: ip.src,
                    dst: ip.dst,
                    sport: seg.src_port,
                    dport: seg.dst_port,
                }),
                _ => None,
            },
            _ => None,
        };
        let ctx = Ctx {
            ts_ns: frame.ts_ns,
            frame: frame.number,
            src_mac: packet.src_mac,
            dst_mac: packet.dst_mac,
            vlan: packet.vlans.inner(),
            flow,
        };
        self.sweep(ctx.ts_ns);
        match obs {
            Observed::Message(m) => match m {
                Message::Cdp(p) => self.cdp(ctx, p),
                Message::Lldp(p) => self.lldp(ctx, p),
                Message::Dhcp(m) => self.dhcp(ctx, m),
                Message::Tftp(t) => self.tftp(ctx, t),
                Message::Sccp(m) => self.sccp(ctx, m),
                Message::Sip(m) => self.sip(ctx, m),
                Message::Http(m) => self.http(ctx, m),
            },
            Observed::Malformed(e) => {
                let key = ctx.src_mac.map(DeviceKey::Mac);
                if let Some(key) = key.filter(|k| self.devices.contains_key(k)) {
                    let ev = EventKind::Malformed {
                        proto: e.proto.name(),
                        error: e.kind.to_string().into(),
                    };
                    self.emit(&key, ctx, ev, false);
                }
            }
            Observed::Tcp(c) => self.tcp_control(ctx, c.flow, c.kind),
            Observed::Encrypted { flow, .. } => self.encrypted(ctx, *flow),
            Observed::StreamGap { .. } => self.stats.stream_gaps += 1,
        }
    }

    /// Forget transactions idle for long, at most once per capture second.
    fn sweep(&mut self, now: i64) {
        if now < self.next_sweep_ns {
            return;
        }
        self.next_sweep_ns = now.saturating_add(1_000_000_000);
        let full = self.transfers.len() + self.http.len() + self.sip.len()
            >= self.limits.max_transactions / 2;
        if !full {
            return;
        }
        let keep = |last: i64| now.saturating_sub(last) <= TRANSACTION_IDLE_NS;
        // A finished transfer is kept a little while for late copies of its last
        // packets, then let go without loss (a boot storm runs thousands an hour).
        let done_keep = |last: i64| now.saturating_sub(last) <= DONE_TRANSFER_IDLE_NS;
        let mut lost = 0u64;
        self.transfers.retain(|_, t| {
            if t.done {
                return done_keep(t.last_ns);
            }
            let k = keep(t.last_ns);
            lost += u64::from(!k);
            k
        });
        let before = self.http.len() + self.sip.len();
        self.http.retain(|_, t| keep(t.last_ns));
        self.sip.retain(|_, t| keep(t.last_ns));
        let after = self.http.len() + self.sip.len();
        self.stats.transactions_evicted += lost + (before - after) as u64;
    }

    /// The device for `key`, created when new (unless the table is full); a device
    /// shown to be a phone is marked so.
    fn device(
        &mut self,
        key: &DeviceKey,
        kind: DeviceKind,
        why: &'static str,
        ctx: Ctx,
    ) -> Option<&mut Device> {
        if !self.devices.contains_key(key) {
            if !self.make_room() {
                self.stats.devices_refused += 1;
                return None;
            }
            self.serials += 1;
            let mut dev = Device::new(key.clone(), kind, why, ctx.ts_ns, ctx.frame);
            dev.serial = self.serials;
            if kind != DeviceKind::Phone {
                self.unconfirmed.push_back((key.clone(), dev.serial));
            }
            self.devices.insert(key.clone(), Box::new(dev));
            self.recharge(key);
        }
        let dev = self.devices.get_mut(key)?;
        if kind == DeviceKind::Phone {
            dev.mark_phone(why);
        }
        Some(dev)
    }

    /// Record an event on a device: boot boundary, progress along the sequence,
    /// the boot's facts, the timeline.
    fn emit(&mut self, key: &DeviceKey, ctx: Ctx, kind: EventKind, starts_boot: bool) {
        let ev = Event {
            ts_ns: ctx.ts_ns,
            frame: ctx.frame,
            kind,
        };
        // The budget holds before the device grows, not after: room is made first,
        // or the device is frozen (it then grows no list). One lookup unless room
        // must be made.
        let Some(dev) = self.devices.get_mut(key) else {
            return;
        };
        let growth = dev.growth_bound(&ev);
        let dev = if self.device_bytes + growth > self.limits.max_device_bytes {
            if !self.make_room_for(key, &ev, growth) {
                // Unless the device itself made the room (it was the oldest unconfirmed).
                if self.devices.contains_key(key) {
                    self.stats.events_dropped += 1;
                }
                return;
            }
            let Some(dev) = self.devices.get_mut(key) else {
                return;
            };
            dev
        } else {
            dev
        };
        let seq = &self.rules.sequence;
        let steps = self.steps;
        if starts_boot {
            let past_lease = match (dev.boot.furthest_rank(seq), steps.dhcp_ack) {
                (Some(r), Some(ack)) => r >= seq.rank(ack),
                _ => false,
            };
            if past_lease {
                dev.new_boot(seq, ctx.ts_ns, ctx.frame);
            }
        }
        apply_state(dev, &ev);
        if let Some(step) = steps.of(&ev.kind) {
            dev.boot.reach(seq, step, ctx.ts_ns, ctx.frame);
        }
        dev.record(ev);
        // Recharged on the device at hand: no second lookup.
        recharge(&mut self.device_bytes, dev);
    }

    fn cdp(&mut self, ctx: Ctx, p: &cdp::CdpPacket<'_>) {
        let Some(src) = ctx.src_mac else { return };
        let device_id = p.device_id().map(lossy);
        let platform = p.platform().map(lossy);
        let phone = p
            .capabilities()
            .is_some_and(|c| c.contains(cdp::CdpCapabilities::VOIP_PHONE))
            || device_id.as_deref().and_then(mac_in_name).is_some()
            || platform.as_deref().is_some_and(|p| p.contains("IP Phone"));
        if phone {
            let ip = p.ipv4_addresses().find(|a| !a.is_unspecified());
            self.announce(ctx, src, "CDP", device_id, platform, ip);
        } else {
            let vlan = p.voice_vlan_reply().and_then(|v| v.vlan);
            self.switch_answer(ctx, src, "CDP", vlan);
        }
    }

    fn lldp(&mut self, ctx: Ctx, p: &lldp::LldpPdu<'_>) {
        let Some(src) = ctx.src_mac else { return };
        let name = p.system_name().map(lossy);
        let endpoint = p.med_capabilities().is_some_and(|(_, class)| {
            matches!(
                class,
                lldp::MedDeviceClass::ENDPOINT_CLASS_1
                    | lldp::MedDeviceClass::ENDPOINT_CLASS_2
                    | lldp::MedDeviceClass::ENDPOINT_CLASS_3
            )
        });
        let telephone = p.capabilities().is_some_and(|(_, enabled)| {
            enabled.contains(lldp::LldpCapabilities::TELEPHONE)
                && !enabled.contains(lldp::LldpCapabilities::BRIDGE)
        });
        let phone = endpoint || telephone || name.as_deref().and_then(mac_in_name).is_some();
        if phone {
            let model = p.inventory().model.map(lossy);
            let ip = p
                .management_addresses()
                .find_map(|a| a.ipv4())
                .filter(|a| !a.is_unspecified());
            self.announce(ctx, src, "LLDP", name, model, ip);
        } else if p.med_capabilities().is_some() || p.network_policies().next().is_some() {
            let vlan = p
                .policy(lldp::MedAppType::VOICE)
                .filter(|pol| !pol.unknown && pol.tagged)
                .map(|pol| pol.vlan);
            self.switch_answer(ctx, src, "LLDP", vlan);
        }
    }

    fn announce(
        &mut self,
        ctx: Ctx,
        mac: MacAddr,
        proto: &'static str,
        name: Option<String>,
        model: Option<String>,
        ip: Option<Ipv4Addr>,
    ) {
        let key = DeviceKey::Mac(mac);
        if let Some(ip) = ip {
            self.attribution.bind_ip(IpAddr::V4(ip), mac);
        }
        let why = if proto == "CDP" {
            "CDP: VoIP phone"
        } else {
            "LLDP-MED endpoint"
        };
        let Some(dev) = self.device(&key, DeviceKind::Phone, why, ctx) else {
            return;
        };
        if let Some(n) = name.filter(|n| mac_in_name(n).is_some()) {
            dev.set_name(n);
        }
        if let Some(m) = model {
            dev.set_model(m);
        }
        if let Some(ip) = ip {
            // Already up: this is its periodic announcement, not a boot.
            dev.ip.get_or_insert(IpAddr::V4(ip));
            self.emit(
                &key,
                ctx,
                EventKind::PhoneAnnounce {
                    proto,
                    ip: Some(ip),
                },
                false,
            );
            return;
        }
        dev.last_announce = Some((ctx.ts_ns, ctx.frame));
        // CDP and LLDP of one boot 1 ms apart wait for one answer each, not two.
        if !self.announces.recent(mac, ctx.ts_ns) {
            self.announces.push(Announce {
                mac,
                ts_ns: ctx.ts_ns,
                cdp_answered: false,
                lldp_answered: false,
            });
        }
        self.emit(
            &key,
            ctx,
            EventKind::PhoneAnnounce { proto, ip: None },
            false,
        );
    }

    /// A switch's CDP/LLDP: the answer to the oldest phone announcement still
    /// waiting for one from that protocol.
    fn switch_answer(&mut self, ctx: Ctx, switch: MacAddr, proto: &'static str, vlan: Option<u16>) {
        self.announces.expire(ctx.ts_ns);
        let Some(mac) = self.announces.answer(switch, proto == "CDP") else {
            return;
        };
        let kind = match vlan {
            Some(vlan) => EventKind::SwitchVoiceVlan { proto, vlan },
            None => EventKind::SwitchNoVoiceVlan { proto },
        };
        if let Some(dev) = self.devices.get_mut(&DeviceKey::Mac(mac)) {
            dev.last_switch = Some((ctx.ts_ns, ctx.frame, vlan));
            // A second answer (LLDP after CDP) only adds the VLAN if the first lacked it.
            if vlan.is_none() && dev.boot.voice_vlan.is_some() {
                return;
            }
        }
        self.emit(&DeviceKey::Mac(mac), ctx, kind, false);
    }

    fn dhcp(&mut self, ctx: Ctx, m: &dhcp::DhcpMessage<'_>) {
        let Some(mt) = m.message_type() else { return };
        let Some(client) = m
            .client_mac()
            .or_else(|| m.client_id().and_then(|c| c.mac()))
            .map(MacAddr)
        else {
            self.stats.unattributed += 1;
            return;
        };
        let key = DeviceKey::Mac(client);
        let from_client = m.op == dhcp::DhcpOp::BOOT_REQUEST;
        if from_client {
            let vendor = m.vendor_class().map(lossy);
            let host = m.host_name().map(lossy);
            let phone_vendor = vendor
                .as_deref()
                .is_some_and(|v| v.starts_with("Cisco Systems, Inc. IP Phone"));
            let phone_host = host.as_deref().and_then(mac_in_name).is_some();
            let (kind, why) = if phone_vendor {
                (DeviceKind::Phone, "DHCP option 60: Cisco IP Phone")
            } else if phone_host {
                (DeviceKind::Phone, "DHCP host name SEP<MAC>")
            } else {
                (DeviceKind::DhcpClient, "DHCP client")
            };
            // The starvation detector counts clients that are not phones, before the
            // table decides whether to follow them.
            let known = self.devices.get(&key).map(|d| d.kind);
            if kind != DeviceKind::Phone && known != Some(DeviceKind::Phone) {
                match mt {
                    dhcp::DhcpMessageType::DISCOVER if known.is_none() => {
                        self.flood
                            .new_client(ctx.ts_ns, ctx.frame, ctx.vlan, ctx.src_mac, client);
                    }
                    dhcp::DhcpMessageType::REQUEST => self.flood.request(ctx.ts_ns, ctx.vlan),
                    _ => {}
                }
            }
            let Some(dev) = self.device(&key, kind, why, ctx) else {
                return;
            };
            if let Some(v) = vendor.filter(|_| dev.kind != DeviceKind::Phone && dev.model.is_none())
            {
                dev.set_model(v);
            }
        } else if self
            .device(&key, DeviceKind::DhcpClient, "DHCP client", ctx)
            .is_none()
        {
            return;
        }
        // A relay's copy of the message just seen is not a retransmission.
        if let Some(dev) = self.devices.get(&key) {
            if let Some(last) = dev.timeline.events.last() {
                if ctx.ts_ns - last.ts_ns < RELAY_COPY_NS && same_dhcp(&last.kind, mt, m.xid) {
                    return;
                }
            }
        }
        let server = m.server_id();
        let (kind, starts_boot) = match mt {
            dhcp::DhcpMessageType::DISCOVER => (
                EventKind::DhcpDiscover {
                    xid: m.xid,
                    vlan: ctx.vlan,
                },
                true,
            ),
            dhcp::DhcpMessageType::REQUEST => {
                let requested = m
                    .requested_ip()
                    .or((!m.ciaddr.is_unspecified()).then_some(m.ciaddr));
                // INIT-REBOOT (RFC 2131 §4.3.2): no server id, no ciaddr: a reboot.
                let init_reboot = server.is_none() && m.ciaddr.is_unspecified();
                (
                    EventKind::DhcpRequest {
                        xid: m.xid,
                        requested,
                    },
                    init_reboot,
                )
            }
            dhcp::DhcpMessageType::OFFER => (
                EventKind::DhcpOffer {
                    xid: m.xid,
                    yiaddr: m.yiaddr,
                    server,
                },
                false,
            ),
            dhcp::DhcpMessageType::ACK => {
                let leased = if m.yiaddr.is_unspecified() {
                    m.ciaddr
                } else {
                    m.yiaddr
                };
                if leased.is_unspecified() {
                    // An ACK to INFORM without an address: nothing learned.
                    return;
                }
                self.attribution.bind_ip(IpAddr::V4(leased), client);
                (
                    EventKind::DhcpAck {
                        xid: m.xid,
                        yiaddr: leased,
                        server,
                        tftp: Box::new(tftp_offer(m)),
                    },
                    false,
                )
            }
            dhcp::DhcpMessageType::NAK => (EventKind::DhcpNak { xid: m.xid, server }, false),
            dhcp::DhcpMessageType::DECLINE => (EventKind::DhcpDecline { xid: m.xid }, false),
            _ => return,
        };
        self.emit(&key, ctx, kind, starts_boot);
    }

    /// The device a phone-side endpoint belongs to (rules 2–4 of attribution), or a
    /// named SCCP/SIP device bound to it.
    fn owner_of(&self, endpoint: (IpAddr, u16), l2: Option<MacAddr>) -> Option<DeviceKey> {
        if let Some(n) = self.named_endpoints.get(&endpoint) {
            return Some(DeviceKey::Name(n.clone()));
        }
        let devices = &self.devices;
        self.attribution
            .resolve(endpoint, l2, |m| devices.contains_key(&DeviceKey::Mac(m)))
            .map(DeviceKey::Mac)
    }

    /// The device asking `client` for `file`: the MAC in a SEP-named file (which also
    /// binds the client's address to it), else the endpoint's owner.
    fn file_owner(
        &mut self,
        ctx: Ctx,
        client: (IpAddr, u16),
        file: &str,
        why: &'static str,
    ) -> Option<DeviceKey> {
        let owner = match mac_in_name(file) {
            Some(mac) => {
                let key = DeviceKey::Mac(mac);
                self.device(&key, DeviceKind::Phone, why, ctx)?;
                self.attribution.bind_ip(client.0, mac);
                Some(key)
            }
            None => self.owner_of(client, ctx.src_mac),
        };
        if owner.is_none() {
            self.stats.unattributed += 1;
        }
        owner
    }

    fn note_source(&mut self, ctx: Ctx) {
        if let (Some(mac), Some(f)) = (ctx.src_mac, ctx.flow) {
            // A phone that got a new lease keeps its MAC: it is no router.
            let known_phone = self
                .devices
                .get(&DeviceKey::Mac(mac))
                .is_some_and(|d| d.kind == DeviceKind::Phone);
            if !known_phone {
                self.attribution.saw_source(mac, f.src);
            }
        }
    }

    fn tftp(&mut self, ctx: Ctx, t: &tftp::TftpPacket<'_>) {
        let Some(f) = ctx.flow else { return };
        self.note_source(ctx);
        match t {
            tftp::TftpPacket::ReadRequest(r) => {
                let file = lossy(r.filename);
                let client = (f.src, f.sport);
                let Some(owner) = self.file_owner(ctx, client, &file, "TFTP file named SEP<MAC>")
                else {
                    return;
                };
                if self.transfers.len() >= self.limits.max_transactions
                    && !self.transfers.contains_key(&client)
                {
                    self.stats.transactions_evicted += 1;
                    return;
                }
                self.transfers.insert(
                    client,
                    Transfer {
                        owner: owner.clone(),
                        file: file.clone().into(),
                        server: f.dst,
                        // A blksize asked for applies only once the server's OACK
                        // accepts it (RFC 2348).
                        blksize: 512,
                        bytes: 0,
                        last_block: 0,
                        answered: false,
                        done: false,
                        last_ns: ctx.ts_ns,
                    },
                );
                let ev = EventKind::FileRequest {
                    file: file.into(),
                    server: f.dst,
                    via: FileTransport::Tftp,
                };
                self.emit(&owner, ctx, ev, false);
            }
            tftp::TftpPacket::OptionAck(opts) => {
                if let Some(t) = self.transfers.get_mut(&(f.dst, f.dport)) {
                    t.answered = true;
                    t.last_ns = ctx.ts_ns;
                    if let Some(b) = opts.blksize().and_then(|b| usize::try_from(b).ok()) {
                        t.blksize = b.clamp(8, 65464);
                    }
                    let owner = t.owner.clone();
                    let file = t.file.clone();
                    self.file_answered(&owner, &file);
                }
            }
            tftp::TftpPacket::Data { block, data } => {
                let Some(t) = self.transfers.get_mut(&(f.dst, f.dport)) else {
                    return;
                };
                if t.done || f.src != t.server {
                    return;
                }
                t.last_ns = ctx.ts_ns;
                let first = !t.answered;
                t.answered = true;
                if *block == t.last_block.wrapping_add(1) {
                    t.last_block = *block;
                    t.bytes += data.len() as u64;
                    if data.len() < t.blksize {
                        t.done = true;
                    }
                }
                let (owner, file, bytes, done) = (t.owner.clone(), t.file.clone(), t.bytes, t.done);
                if first {
                    self.file_answered(&owner, &file);
                }
                if done {
                    let ev = EventKind::FileReceived {
                        file,
                        bytes,
                        via: FileTransport::Tftp,
                    };
                    self.emit(&owner, ctx, ev, false);
                }
            }
            tftp::TftpPacket::Error { code, message } => {
                // From the server: the request failed. From the client: it gave up
                // (e.g. after a tsize probe), which is its own choice, not a failure.
                if let Some(t) = self.transfers.get_mut(&(f.dst, f.dport)) {
                    if t.done {
                        return;
                    }
                    t.done = true;
                    let (owner, file) = (t.owner.clone(), t.file.clone());
                    let ev = if *code == tftp::TftpErrorCode::FILE_NOT_FOUND {
                        EventKind::FileNotFound {
                            file,
                            via: FileTransport::Tftp,
                        }
                    } else {
                        EventKind::FileError {
                            file,
                            code: code.0,
                            text: lossy(message).into(),
                        }
                    };
                    self.emit(&owner, ctx, ev, false);
                } else if let Some(t) = self.transfers.get_mut(&(f.src, f.sport)) {
                    t.done = true;
                    let (owner, file) = (t.owner.clone(), t.file.clone());
                    self.file_answered(&owner, &file);
                }
            }
            tftp::TftpPacket::Ack { .. } | tftp::TftpPacket::WriteRequest(_) => {}
        }
    }

    /// The server answered a file request (data or options): not silent.
    fn file_answered(&mut self, owner: &DeviceKey, file: &str) {
        if let Some(dev) = self.devices.get_mut(owner) {
            if let Some(fs) = dev.boot.file_mut(file) {
                fs.unanswered = 0;
                if fs.outcome.is_none() {
                    fs.outcome = Some(device::FileOutcome::Answered);
                }
            }
        }
    }

    fn http(&mut self, ctx: Ctx, m: &http::HttpMessage<'_>) {
        let Some(f) = ctx.flow else { return };
        if f.dport == HTTP_CONFIG && m.is_request() {
            self.note_source(ctx);
            let Some(target) = m.target() else { return };
            let target = lossy(target);
            let path = target.split(['?', '#']).next().unwrap_or_default();
            let file = path.rsplit('/').next().unwrap_or(path).to_owned();
            if file.is_empty() {
                return;
            }
            let client = (f.src, f.sport);
            let Some(owner) = self.file_owner(ctx, client, &file, "HTTP file named SEP<MAC>")
            else {
                return;
            };
            if self.http.len() < self.limits.max_transactions || self.http.contains_key(&client) {
                self.http.insert(
                    client,
                    HttpRequest {
                        owner: owner.clone(),
                        file: file.clone().into(),
                        last_ns: ctx.ts_ns,
                    },
                );
            } else {
                self.stats.transactions_evicted += 1;
            }
            let ev = EventKind::FileRequest {
                file: file.into(),
                server: f.dst,
                via: FileTransport::Http,
            };
            self.emit(&owner, ctx, ev, false);
        } else if f.sport == HTTP_CONFIG {
            let Some(status) = m.status() else { return };
            let Some(req) = self.http.remove(&(f.dst, f.dport)) else {
                return;
            };
            let ev = match status {
                200..=299 => EventKind::FileReceived {
                    file: req.file,
                    bytes: m.content_length().unwrap_or(0),
                    via: FileTransport::Http,
                },
                404 => EventKind::FileNotFound {
                    file: req.file,
                    via: FileTransport::Http,
                },
                _ => EventKind::FileError {
                    file: req.file,
                    code: status,
                    text: m.reason().map(lossy).unwrap_or_default().into(),
                },
            };
            self.emit(&req.owner, ctx, ev, false);
        }
    }

    fn sccp(&mut self, ctx: Ctx, m: &sccp::SccpMessage<'_>) {
        let Some(f) = ctx.flow else { return };
        let to_cm = CM_PORTS.contains(&f.dport);
        let (phone, cm, phone_l2) = if to_cm {
            ((f.src, f.sport), f.dst, ctx.src_mac)
        } else {
            ((f.dst, f.dport), f.src, ctx.dst_mac)
        };
        if to_cm {
            self.note_source(ctx);
        }
        match &m.body {
            sccp::SccpBody::RegisterReq(r) => {
                let name = lossy(r.device_name);
                let key = match mac_in_name(&name) {
                    Some(mac) => {
                        self.attribution.bind_endpoint(phone, mac);
                        DeviceKey::Mac(mac)
                    }
                    None => {
                        let key: Box<str> = name.clone().into();
                        if self.named_endpoints.len() < self.limits.max_transactions
                            || self.named_endpoints.contains_key(&phone)
                        {
                            self.named_endpoints.insert(phone, key.clone());
                        } else {
                            self.stats.transactions_evicted += 1;
                        }
                        DeviceKey::Name(key)
                    }
                };
                let kind = match key {
                    DeviceKey::Mac(_) => DeviceKind::Phone,
                    DeviceKey::Name(_) => DeviceKind::SccpDevice,
                };
                let Some(dev) = self.device(&key, kind, "SCCP RegisterReq", ctx) else {
                    return;
                };
                if let (None, Some(t)) = (&dev.model, r.device_type.name()) {
                    dev.set_model(t.into());
                }
                if dev.ip.is_none() || matches!(key, DeviceKey::Name(_)) {
                    dev.ip = Some(phone.0);
                }
                let ev = EventKind::Register {
                    proto: Signalling::Sccp,
                    cm,
                    expires: None,
                };
                self.emit(&key, ctx, ev, false);
            }
            sccp::SccpBody::Alarm(a) => {
                let key = a
                    .device_name()
                    .map(lossy)
                    .as_deref()
                    .and_then(mac_in_name)
                    .map(DeviceKey::Mac)
                    .filter(|k| self.devices.contains_key(k))
                    .or_else(|| self.owner_of(phone, phone_l2));
                if let Some(key) = key {
                    if let DeviceKey::Mac(mac) = key {
                        self.attribution.bind_endpoint(phone, mac);
                    }
                    let ev = EventKind::Alarm {
                        text: lossy(a.text).into(),
                    };
                    self.emit(&key, ctx, ev, false);
                } else {
                    self.stats.unattributed += 1;
                }
            }
            sccp::SccpBody::RegisterAck(_)
            | sccp::SccpBody::RegisterReject { .. }
            | sccp::SccpBody::KeepAliveAck => {
                let key = match self.owner_of(phone, phone_l2) {
                    Some(k) => Some(k),
                    // A device keeping a session with a call manager alive was
                    // registered before the capture started.
                    None if m.body == sccp::SccpBody::KeepAliveAck => {
                        self.attribution.plausible_l2(phone_l2).and_then(|mac| {
                            let key = DeviceKey::Mac(mac);
                            self.device(
                                &key,
                                DeviceKind::Phone,
                                "SCCP keepalives with a call manager",
                                ctx,
                            )
                            .map(|_| key)
                        })
                    }
                    None => None,
                };
                let Some(key) = key else {
                    self.stats.unattributed += 1;
                    return;
                };
                let ev = match &m.body {
                    sccp::SccpBody::RegisterAck(_) => EventKind::RegisterAck {
                        proto: Signalling::Sccp,
                        cm,
                    },
                    sccp::SccpBody::RegisterReject { text } => EventKind::RegisterReject {
                        proto: Signalling::Sccp,
                        cm,
                        code: 0,
                        reason: lossy(text).into(),
                        unregister: false,
                    },
                    _ => EventKind::KeepaliveAck { cm },
                };
                self.emit(&key, ctx, ev, false);
            }
            _ => {}
        }
    }

    fn sip(&mut self, ctx: Ctx, m: &sip::SipMessage<'_>) {
        let Some(f) = ctx.flow else { return };
        let Some(call_id) = m.call_id() else { return };
        if m.is_request() {
            if m.method().map(|x| x.as_str()) != Some("REGISTER") {
                return;
            }
            self.note_source(ctx);
            let ua = m.user_agent();
            let cisco =
                ua.is_some_and(|u| u.starts_with("Cisco-CP") || u.starts_with("Cisco-CIPC"));
            // The Contact header read once, for the device name and the instance.
            let contacts = m.contact();
            let contact = contacts.first();
            let named = contacts
                .iter()
                .find_map(|c| c.device_name())
                .and_then(mac_in_name)
                .map(|mac| (mac, "SIP Contact device name"))
                .or_else(|| {
                    contact
                        .as_ref()
                        .and_then(|c| c.instance_mac())
                        .filter(|_| cisco)
                        .map(|mac| (MacAddr(mac), "SIP Contact instance"))
                });
            let key = match named {
                Some((mac, why)) => {
                    self.attribution.bind_endpoint((f.src, f.sport), mac);
                    let key = DeviceKey::Mac(mac);
                    if self.device(&key, DeviceKind::Phone, why, ctx).is_none() {
                        return;
                    }
                    key
                }
                None => {
                    let from = m.from();
                    let aor = from
                        .as_ref()
                        .and_then(|a| a.uri_parts())
                        .map(|u| match u.user {
                            Some(user) => clean(&format!("{user}@{}", u.host)),
                            None => clean(u.host),
                        })
                        .unwrap_or_else(|| "?".into());
                    let key = DeviceKey::Name(format!("sip:{aor} from {}", f.src).into());
                    if self
                        .device(&key, DeviceKind::SipAgent, "SIP REGISTER", ctx)
                        .is_none()
                    {
                        return;
                    }
                    key
                }
            };
            let expires = contact
                .as_ref()
                .and_then(|c| c.expires())
                .or_else(|| m.expires());
            if let Some(dev) = self.devices.get_mut(&key) {
                if let (None, Some(u)) = (&dev.model, ua) {
                    dev.set_model(clean(u));
                }
                if matches!(key, DeviceKey::Name(_)) || dev.ip.is_none() {
                    dev.ip = Some(f.src);
                }
            }
            if let Some(alarm) = m.cisco_alarm() {
                let text = alarm.last().unwrap_or(alarm.name().unwrap_or_default());
                let ev = EventKind::Alarm {
                    text: clean(m.reason().unwrap_or(text)).into(),
                };
                self.emit(&key, ctx, ev, false);
            }
            let tx_key: (Box<str>, IpAddr) = (call_id_key(call_id), f.src);
            if self.sip.len() < self.limits.max_transactions || self.sip.contains_key(&tx_key) {
                self.sip.insert(
                    tx_key,
                    SipTransaction {
                        owner: key.clone(),
                        expires,
                        last_ns: ctx.ts_ns,
                    },
                );
            } else {
                self.stats.transactions_evicted += 1;
            }
            let ev = EventKind::Register {
                proto: Signalling::Sip,
                cm: f.dst,
                expires,
            };
            self.emit(&key, ctx, ev, false);
        } else {
            let Some(status) = m.status() else { return };
            if m.cseq().map(|(_, method)| method.as_str()) != Some("REGISTER") || status < 200 {
                return;
            }
            let Some(tx) = self.sip.get_mut(&(call_id_key(call_id), f.dst)) else {
                return;
            };
            tx.last_ns = ctx.ts_ns;
            let (owner, expires) = (tx.owner.clone(), tx.expires);
            let cm = f.src;
            let ev = match status {
                200..=299 if expires == Some(0) => return,
                200..=299 => EventKind::RegisterAck {
                    proto: Signalling::Sip,
                    cm,
                },
                401 | 407 => EventKind::RegisterChallenge { cm, code: status },
                _ => EventKind::RegisterReject {
                    proto: Signalling::Sip,
                    cm,
                    code: status,
                    reason: clean(m.reason_phrase().unwrap_or_default()).into(),
                    unregister: expires == Some(0),
                },
            };
            self.emit(&owner, ctx, ev, false);
        }
    }

    fn tcp_control(&mut self, ctx: Ctx, flow: crate::reassembly::FlowKey, kind: TcpControlKind) {
        let (phone, cm, port, l2) = match kind {
            TcpControlKind::Syn if CM_PORTS.contains(&flow.dst_port) => (
                (flow.src, flow.src_port),
                flow.dst,
                flow.dst_port,
                ctx.src_mac,
            ),
            TcpControlKind::SynAck | TcpControlKind::Rst if CM_PORTS.contains(&flow.src_port) => (
                (flow.dst, flow.dst_port),
                flow.src,
                flow.src_port,
                ctx.dst_mac,
            ),
            _ => return,
        };
        let Some(key) = self.owner_of(phone, l2) else {
            self.stats.unattributed += 1;
            return;
        };
        let ev = match kind {
            TcpControlKind::Syn => EventKind::CmSyn { cm, port },
            TcpControlKind::SynAck => EventKind::CmSynAck { cm, port },
            _ => EventKind::CmRst { cm, port },
        };
        self.emit(&key, ctx, ev, false);
    }

    fn encrypted(&mut self, ctx: Ctx, flow: crate::reassembly::FlowKey) {
        let (phone, cm, port, l2) = if TLS_PORTS.contains(&flow.dst_port) {
            (
                (flow.src, flow.src_port),
                flow.dst,
                flow.dst_port,
                ctx.src_mac,
            )
        } else if TLS_PORTS.contains(&flow.src_port) {
            (
                (flow.dst, flow.dst_port),
                flow.src,
                flow.src_port,
                ctx.dst_mac,
            )
        } else {
            return;
        };
        let Some(key) = self.owner_of(phone, l2) else {
            return;
        };
        // Once per boot: the session exists; its contents are not readable.
        if self
            .devices
            .get(&key)
            .is_some_and(|d| d.boot.count(crate::timeline::EventType::CmTls) > 0)
        {
            return;
        }
        self.emit(&key, ctx, EventKind::CmTls { cm, port }, false);
    }

    /// One device's verdict as of `now_ns`: a live session judges on the wall clock
    /// while frames still come. `tags_kept` is [`verdict::tags_kept`] over
    /// [`Self::devices`] (computed once per look at all devices).
    pub fn judge(&self, dev: &Device, now_ns: i64, tags_kept: bool) -> crate::report::PhoneReport {
        let end = self.last_ns.map_or(now_ns, |l| l.max(now_ns));
        let start = self.first_ns.unwrap_or(end);
        let site = verdict::Site {
            tags_kept,
            floods: &self.flood,
        };
        verdict::verdict(self.rules, dev, start, end, &site)
    }

    /// Evaluate every device and build the report. `end_ns` is the capture's end
    /// (for a live session: now).
    pub fn finish(mut self, end_ns: Option<i64>) -> crate::report::Report {
        let end = end_ns.or(self.last_ns).unwrap_or(0);
        let start = self.first_ns.unwrap_or(end);
        // Moved out of the table (freed at once) in the table's order: the report
        // places each entry by key itself, and drops each device once judged.
        let mut devices: Vec<Box<Device>> = self.devices.drain().map(|(_, d)| d).collect();
        self.devices = FastMap::default();
        self.unconfirmed = VecDeque::new();
        for dev in &mut devices {
            dev.timeline.finish();
        }
        let mut report = verdict::report(self.rules, devices, start, end, &self.flood);
        let c = &mut report.capture;
        c.unattributed = self.stats.unattributed;
        c.stream_gaps = self.stats.stream_gaps;
        c.devices_refused = self.stats.devices_refused;
        c.devices_evicted = self.stats.devices_evicted;
        c.devices_frozen = self.stats.devices_frozen;
        c.events_dropped = self.stats.events_dropped;
        c.transactions_evicted = self.stats.transactions_evicted;
        c.bindings_refused = self.attribution.refused;
        c.limits.max_devices = self.limits.max_devices;
        c.limits.max_flows = self.limits.max_transactions;
        c.limits.max_device_bytes = self.limits.max_device_bytes;
        report
    }
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
                EventKind::FileReceived { .. } => device::FileOutcome::Received,
                EventKind::FileNotFound { .. } => device::FileOutcome::NotFound,
                _ => device::FileOutcome::Error,
            };
            if let Some(fs) = boot.file_mut(file) {
                fs.outcome = Some(outcome);
                fs.unanswered = 0;
            }
            if outcome == device::FileOutcome::Received
                && FileClass::of(file) == FileClass::Firmware
            {
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
                boot.registered_before = boot.count(crate::timeline::EventType::Register) == 0;
                boot.registered_cm = Some(*cm);
                boot.protocol.get_or_insert(Signalling::Sccp);
            }
        }
        EventKind::Alarm { text } => boot.alarm = Some(text.clone()),
        EventKind::Malformed { .. } => {}
    }
}

/// Whether `last` is the same DHCP message as (`mt`, `xid`).
fn same_dhcp(last: &EventKind, mt: dhcp::DhcpMessageType, xid: u32) -> bool {
    match last {
        EventKind::DhcpDiscover { xid: x, .. } => {
            mt == dhcp::DhcpMessageType::DISCOVER && *x == xid
        }
        EventKind::DhcpOffer { xid: x, .. } => mt == dhcp::DhcpMessageType::OFFER && *x == xid,
        EventKind::DhcpRequest { xid: x, .. } => mt == dhcp::DhcpMessageType::REQUEST && *x == xid,
        EventKind::DhcpAck { xid: x, .. } => mt == dhcp::DhcpMessageType::ACK && *x == xid,
        EventKind::DhcpNak { xid: x, .. } => mt == dhcp::DhcpMessageType::NAK && *x == xid,
        _ => false,
    }
}

/// The TFTP servers an ACK names.
fn tftp_offer(m: &dhcp::DhcpMessage<'_>) -> TftpOffer {
    let mut offer = TftpOffer::default();
    match m.tftp_servers() {
        Some(dhcp::Option150::Addresses(list)) => offer.servers = list.iter().take(8).collect(),
        Some(dhcp::Option150::AsciiString(text)) => offer.option150_ascii = Some(text.into()),
        Some(dhcp::Option150::Malformed(_)) | None => {}
    }
    if let Some(name) = m.tftp_server_name().map(lossy) {
        let name = name.trim_end_matches('\0').trim().to_owned();
        if offer.servers.is_empty() {
            if let Ok(ip) = name.parse::<Ipv4Addr>() {
                offer.servers.push(ip);
            }
        }
        offer.option66 = Some(name.into());
    }
    offer
}

/// Count `dev` at its current size in `device_bytes`, the sum over the devices.
fn recharge(device_bytes: &mut usize, dev: &mut Device) {
    let now = dev.charge();
    *device_bytes = device_bytes.saturating_sub(dev.charged) + now;
    dev.charged = now;
}

/// Wire bytes as text, escaped once here (controls, terminal escapes, bidi marks)
/// so no renderer can pass a packet's bytes to a terminal or a page; cut after
/// [`MAX_TEXT`] bytes, so no string a sender writes costs more than
/// [`MAX_TEXT_BYTES`].
fn lossy(b: &[u8]) -> String {
    let kept = b.get(..MAX_TEXT).unwrap_or(b);
    let mut s = String::with_capacity(kept.len());
    crate::describe::push_text(&mut s, kept);
    if kept.len() < b.len() {
        s.push('…');
    }
    s
}

/// A wire string, escaped and cut as [`lossy`] does.
fn clean(text: &str) -> String {
    if text.len() > MAX_TEXT {
        return lossy(text.as_bytes());
    }
    let mut s = String::with_capacity(text.len());
    crate::describe::push_str(&mut s, text);
    s
}

/// A SIP Call-ID as a transaction key: at most [`MAX_TEXT`] bytes of it (the
/// request and its answer are cut alike).
fn call_id_key(call_id: &str) -> Box<str> {
    let mut end = call_id.len().min(MAX_TEXT);
    while !call_id.is_char_boundary(end) {
        end -= 1;
    }
    call_id.get(..end).unwrap_or_default().into()
}

#[cfg(test)]
mod tests;
