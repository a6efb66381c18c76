//! The analysis engine: dissected messages in, per-device boots out. Laid out like
//! Suricata's app-layers: each protocol family has a module that owns its tables and
//! turns its messages into owned [`Event`](crate::timeline::Event)s of one device —
//! `discovery` (CDP, LLDP), `dhcp`, `files` (TFTP, HTTP 6970), `sccp`,
//! `sip`, `cm` (connections to the call manager and the config server), `dot1x`
//! (802.1X port authentication), `arp` (a phone's address taken), `dns` (a phone's
//! lookups), `icmp` (errors answering a phone), `tls` (the secure signalling
//! ports' handshakes and sessions), `config` (what the phone's configuration
//! says) — through the state they
//! share (`shared`: the devices, attribution, counters). `progress` moves a
//! device's boot along the expected sequence of `rules/`; `budget` keeps the
//! devices within their memory; [`verdict`] judges each device at the end.
//! [`Analyzer`] only routes messages and sweeps idle transactions. One streaming
//! pass: the state is bounded by devices and open transactions, never by capture
//! size ([`EngineLimits`]). [`flood`] watches for DHCP starvation, [`rates`] for the
//! floods told by their rate (ARP, DNS, EAPOL-Start, ICMP errors).

mod arp;
mod budget;
mod cm;
mod config;
pub mod device;
mod dhcp;
mod discovery;
mod dns;
mod dot1x;
pub mod facts;
mod files;
pub mod flood;
mod icmp;
pub mod inventory;
mod progress;
pub mod rates;
mod sccp;
mod shared;
mod sip;
mod text;
mod tls;
pub mod verdict;
pub mod visibility;

use rules::{Counted, RuleSet};

use crate::attribution::Attribution;
use crate::capture::Frame;
use crate::dispatch::{Message, Observed};
use crate::link::{Net, Packet, Transport};
use crate::timeline::EventKind;
pub use budget::BudgetStats;
pub use config::DEFAULT_MAX_CONFIG_BYTES;
pub use device::{Device, DeviceKey, DeviceKind};
use shared::{Ctx, Flow, Shared};
pub use text::{MAX_TEXT, MAX_TEXT_BYTES};

/// Bounds on the engine's state (docs/usage.md "Limits").
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
    /// IP→MAC, endpoint→MAC and source bindings per table (`Attribution`).
    pub max_bindings: usize,
    /// Bytes kept of one device configuration being received, to read what it says
    /// (the first of the file; a few of them at once, one per phone).
    pub max_config_bytes: usize,
}

/// The default `--max-devices`: the 10 000 phones and 1 000 PCs of a big site twice
/// over, and within the 32 768 buckets of one hash table allocation.
pub const DEFAULT_MAX_DEVICES: usize = 25_000;
/// The default `--max-flows`.
pub const DEFAULT_MAX_TRANSACTIONS: usize = 8192;

impl EngineLimits {
    /// The most heap the engine's tables can take with these limits, but what the
    /// devices hold: the device table's slots and the queue of unconfirmed devices;
    /// the transaction tables full, each entry with its strings at their longest;
    /// the pending switch answers, the attribution bindings and the starvation
    /// detector.
    pub fn max_table_heap_bytes(&self) -> usize {
        let n = self.max_transactions;
        budget::Devices::max_heap_bytes(self.max_devices)
            + files::Files::max_heap_bytes(n)
            + sip::Sip::max_heap_bytes(n)
            + Shared::max_named_heap_bytes(n)
            + discovery::Discovery::max_heap_bytes()
            + dot1x::Dot1x::max_heap_bytes()
            + Attribution::max_heap_bytes(self.max_bindings)
            + flood::Detector::max_heap_bytes()
            + rates::RateFloods::max_heap_bytes()
            + arp::Arp::max_heap_bytes(n)
            + dns::Dns::max_heap_bytes(n)
            + tls::Tls::max_heap_bytes(n)
            + config::ConfigBuffers::max_heap_bytes(n, self.max_config_bytes)
    }
}

/// Counters for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Messages of a boot protocol no device could be found for.
    pub unattributed: u64,
    /// What the memory budget cost (devices refused, evicted, frozen; events dropped).
    pub budget: BudgetStats,
    /// Transactions not followed (table full) or forgotten (idle while it was).
    pub transactions_evicted: u64,
    /// TCP stream gaps reported by the dispatcher.
    pub stream_gaps: u64,
}

/// The analysis of one capture (or one live session).
pub struct Analyzer<'r> {
    limits: EngineLimits,
    shared: Shared<'r>,
    discovery: discovery::Discovery,
    dot1x: dot1x::Dot1x,
    dhcp: dhcp::Dhcp,
    files: files::Files,
    sip: sip::Sip,
    arp: arp::Arp,
    dns: dns::Dns,
    tls: tls::Tls,
    rates: rates::RateFloods,
    next_sweep_ns: i64,
    first_ns: Option<i64>,
    last_ns: Option<i64>,
    stream_gaps: u64,
}

impl<'r> Analyzer<'r> {
    /// An analyzer applying `rules`.
    pub fn new(rules: &'r RuleSet, limits: EngineLimits) -> Self {
        let devices = budget::Devices::new(limits.max_devices, limits.max_device_bytes);
        let attribution = Attribution::with_limit(limits.max_bindings);
        Analyzer {
            limits,
            shared: Shared::new(rules, devices, attribution, limits.max_transactions),
            discovery: discovery::Discovery::default(),
            dot1x: dot1x::Dot1x::default(),
            dhcp: dhcp::Dhcp::new(rules),
            files: files::Files::new(limits.max_config_bytes),
            sip: sip::Sip::default(),
            arp: arp::Arp::default(),
            dns: dns::Dns::default(),
            tls: tls::Tls::default(),
            rates: rates::RateFloods::new(&rules.floods),
            next_sweep_ns: i64::MIN,
            first_ns: None,
            last_ns: None,
            stream_gaps: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> EngineLimits {
        self.limits
    }

    /// The counters so far.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            unattributed: self.shared.unattributed,
            budget: self.shared.devices.stats,
            transactions_evicted: self.shared.transactions_evicted,
            stream_gaps: self.stream_gaps,
        }
    }

    /// The DHCP starvation floods seen so far.
    pub fn floods(&self) -> &[flood::Episode] {
        self.dhcp.flood.episodes()
    }

    /// The floods told by rate seen so far (ARP, DNS, EAPOL-Start, ICMP errors).
    pub fn rate_floods(&self) -> &[rates::Episode] {
        self.rates.episodes()
    }

    /// What the flood detectors could not keep, in words for the capture's warnings.
    pub fn flood_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let dropped = self.dhcp.flood.episodes_dropped + self.rates.episodes_dropped;
        if dropped > 0 {
            notes.push(format!(
                "{dropped} flood(s) not listed: a flood detector lists its first {}",
                rates::MAX_EPISODES
            ));
        }
        if self.rates.unwatched > 0 {
            notes.push(format!(
                "{} message(s) on VLANs beyond the first {} of their kind not watched for \
                 floods",
                self.rates.unwatched,
                rates::MAX_VLANS
            ));
        }
        notes
    }

    /// The heap the memory budget counts: every device's charge (the table's slots
    /// are reserved apart, at their most: [`EngineLimits::max_table_heap_bytes`]).
    pub fn device_bytes(&self) -> usize {
        self.shared.devices.bytes()
    }

    /// The rules in force.
    pub fn rules(&self) -> &'r RuleSet {
        self.shared.rules
    }

    /// The devices followed so far, in no particular order.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.shared.devices.iter()
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

    /// Take in one observation of a frame: to the handler of its protocol.
    pub fn observe(&mut self, frame: &Frame<'_>, packet: &Packet<'_>, obs: &Observed<'_>) {
        let ctx = Ctx {
            ts_ns: frame.ts_ns,
            frame: frame.number,
            src_mac: packet.src_mac,
            dst_mac: packet.dst_mac,
            vlan: packet.vlans.inner(),
            flow: flow_of(packet),
            cut: frame.data.len() < frame.orig_len as usize,
        };
        self.sweep(ctx.ts_ns);
        let sh = &mut self.shared;
        if let (true, Observed::Message(m)) = (ctx.cut, obs) {
            // Read in part: said before what it still gave, which may move the boot on.
            if m.damage().is_some() {
                sh.cut(ctx, m.proto());
            }
        }
        match obs {
            Observed::Message(m) => match m {
                Message::Cdp(p) => {
                    let on_port = ctx.src_mac.and_then(|m| self.dot1x.supplicant_on(m));
                    if let Some((switch, phone)) = self.discovery.cdp(sh, ctx, p, on_port) {
                        self.dot1x.port_of(sh, ctx, switch, phone);
                    }
                }
                Message::Lldp(p) => {
                    let on_port = ctx.src_mac.and_then(|m| self.dot1x.supplicant_on(m));
                    if let Some((switch, phone)) = self.discovery.lldp(sh, ctx, p, on_port) {
                        self.dot1x.port_of(sh, ctx, switch, phone);
                    }
                }
                Message::Eapol(p) => {
                    if p.packet_type == parsers::eapol::EapolType::START {
                        self.rates.count(Counted::EapolStarts, &ctx);
                    }
                    self.dot1x.message(sh, ctx, p);
                }
                Message::Dhcp(m) => self.dhcp.message(sh, ctx, m),
                Message::Tftp(t) => self.files.tftp(sh, ctx, t),
                Message::Http(m) => self.files.http(sh, ctx, m),
                Message::Sccp(m) => sccp::message(sh, ctx, m),
                Message::Sip(m) => self.sip.message(sh, ctx, m),
                Message::Arp(p) => {
                    if p.opcode == parsers::arp::ArpOpcode::REQUEST {
                        self.rates.count(Counted::ArpRequests, &ctx);
                    }
                    self.arp.packet(sh, ctx, p);
                }
                Message::Dns(m) => {
                    if !m.header.response {
                        self.rates.count(Counted::DnsQueries, &ctx);
                    }
                    self.dns.message(sh, ctx, m);
                }
                Message::Icmp(m) => {
                    // The dispatcher lets only ICMP errors through.
                    self.rates.count(Counted::IcmpErrors, &ctx);
                    if let Net::Ip(ip) = packet.net {
                        icmp::message(sh, ctx, ip.src, m);
                    }
                }
                Message::Tls(r) => self.tls.record(sh, ctx, r),
            },
            // Cut by the snap length: said on the device it was from or for, whose
            // verdict then rests on nothing that followed.
            Observed::Malformed(e) if ctx.cut => sh.cut(ctx, e.proto),
            Observed::Malformed(e) => {
                // Said on a device already followed; the warning names the frame.
                let key = ctx.src_mac.map(DeviceKey::Mac);
                if let Some(key) = key.filter(|k| sh.devices.contains(k)) {
                    let ev = EventKind::Malformed {
                        error: Box::new(e.clone()),
                    };
                    sh.emit(&key, ctx, ev, false);
                }
            }
            Observed::Tcp(c) => {
                cm::tcp_control(sh, ctx, c.flow, c.kind);
                self.tls.tcp(sh, ctx, c);
            }
            Observed::Encrypted { flow, .. } => cm::encrypted(sh, ctx, *flow),
            Observed::HttpBody { bytes, left } => self.files.http_body(sh, ctx, bytes, *left),
            Observed::StreamGap { flow, cut, .. } => {
                self.stream_gaps += 1;
                if let (true, Some(proto)) = (*cut, crate::dispatch::stream_proto(flow)) {
                    sh.cut(ctx, proto);
                }
            }
        }
    }

    /// Forget transactions idle for long, at most once per capture second, and only
    /// when the tables are half full (a boot storm runs thousands an hour).
    fn sweep(&mut self, now: i64) {
        if now < self.next_sweep_ns {
            return;
        }
        self.next_sweep_ns = now.saturating_add(1_000_000_000);
        // ClientHellos left unanswered past their window fail, full tables or not.
        let windows = &self.shared.rules.windows;
        let hello_window = rules::Windows::ns(windows.tls_server_hello_ms);
        let idle = rules::Windows::ns(windows.idle_transaction_ms);
        let full =
            self.files.len() + self.sip.len() + self.arp.len() + self.dns.len() + self.tls.len()
                >= self.limits.max_transactions / 2;
        let keep_tls = |last: i64| !full || now.saturating_sub(last) <= idle;
        self.shared.transactions_evicted +=
            self.tls
                .sweep(&mut self.shared, now, hello_window, keep_tls);
        if !full {
            return;
        }
        let windows = &self.shared.rules.windows;
        let idle = rules::Windows::ns(windows.idle_transaction_ms);
        let done = rules::Windows::ns(windows.finished_transfer_ms);
        let keep = |last: i64| now.saturating_sub(last) <= idle;
        self.arp
            .sweep(now, rules::Windows::ns(windows.arp_probe_answer_ms));
        let lost = self.files.sweep(now, done, keep) + self.sip.sweep(keep) + self.dns.sweep(keep);
        self.shared.transactions_evicted += lost;
    }

    /// One device's verdict as of `now_ns`: a live session judges on the wall clock
    /// while frames still come. `tags_kept` is [`verdict::tags_kept`] and `visibility`
    /// [`Self::visibility`], over [`Self::devices`] (computed once per look at all
    /// devices).
    pub fn judge(
        &self,
        dev: &Device,
        now_ns: i64,
        tags_kept: bool,
        visibility: &visibility::Visibility,
    ) -> crate::report::PhoneReport {
        let end = self.last_ns.map_or(now_ns, |l| l.max(now_ns));
        let start = self.first_ns.unwrap_or(end);
        let site = verdict::Site {
            tags_kept,
            floods: &self.dhcp.flood,
            visibility,
        };
        verdict::verdict(self.shared.rules, dev, start, end, &site)
    }

    /// What the capture so far shows of the phones' exchanges (for [`Self::judge`]).
    pub fn visibility(&self) -> visibility::Visibility {
        visibility::Visibility::new(&self.shared.rules.sequence, self.devices())
    }

    /// Evaluate every device and build the report. `end_ns` is the capture's end
    /// (for a live session: now).
    pub fn finish(mut self, end_ns: Option<i64>, missed: u64) -> crate::report::Report {
        let end = end_ns.or(self.last_ns).unwrap_or(0);
        let start = self.first_ns.unwrap_or(end);
        let stats = self.stats();
        // Moved out of the table (freed at once) in the table's order: the report
        // places each entry by key itself, and drops each device once judged.
        let mut devices = self.shared.devices.drain();
        for dev in &mut devices {
            dev.timeline.finish();
        }
        let floods = &self.dhcp.flood;
        let mut report = verdict::report(self.shared.rules, devices, start, end, floods, missed);
        report.site_findings.extend(self.rates.findings(start));
        let c = &mut report.capture;
        c.unattributed = stats.unattributed;
        c.stream_gaps = stats.stream_gaps;
        c.devices_refused = stats.budget.refused;
        c.devices_evicted = stats.budget.evicted;
        c.devices_frozen = stats.budget.frozen;
        c.events_dropped = stats.budget.events_dropped;
        c.transactions_evicted = stats.transactions_evicted;
        c.bindings_refused = self.shared.attribution.refused;
        c.limits.max_devices = self.limits.max_devices;
        c.limits.max_flows = self.limits.max_transactions;
        c.limits.max_device_bytes = self.limits.max_device_bytes;
        report
    }
}

/// A frame's UDP or TCP endpoints.
fn flow_of(packet: &Packet<'_>) -> Option<Flow> {
    let Net::Ip(ip) = packet.net else {
        return None;
    };
    let (sport, dport) = match ip.transport {
        Transport::Udp {
            src_port, dst_port, ..
        } => (src_port, dst_port),
        Transport::Tcp(seg) => (seg.src_port, seg.dst_port),
        _ => return None,
    };
    Some(Flow {
        src: ip.src,
        dst: ip.dst,
        sport,
        dport,
    })
}

#[cfg(test)]
mod tests;
