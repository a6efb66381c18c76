//! What every protocol's handler shares: the devices (within their budget), who
//! owns an address or an endpoint ([`Attribution`], and the endpoints of devices
//! known only by name), the boot progression, and the counters of what could not be
//! followed. A handler finds or creates the device a message belongs to here and
//! hands it events through [`Shared::emit`].

use std::net::IpAddr;

use rules::RuleSet;

use super::budget::Devices;
use super::device::{Clue, Device, DeviceKey, DeviceKind, Weight};
use super::progress::{self, Steps};
use crate::attribution::Attribution;
use crate::link::MacAddr;
use crate::timeline::{Event, EventKind};
use crate::FastMap;

/// Where an IP message came from and went to.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
}

/// What a handler knows of the frame a message came in.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub ts_ns: i64,
    pub frame: u64,
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    pub vlan: Option<u16>,
    pub flow: Option<Flow>,
    /// The frame was cut short by the capture's snap length.
    pub cut: bool,
}

/// The state all handlers share.
pub struct Shared<'r> {
    pub rules: &'r RuleSet,
    steps: Steps,
    pub devices: Devices,
    pub attribution: Attribution,
    /// Signalling endpoints of devices known by a name rather than a MAC (an SCCP
    /// RegisterReq without a MAC in its device name).
    named_endpoints: FastMap<(IpAddr, u16), Box<str>>,
    /// Addresses of devices that are no phones though they speak the phones'
    /// protocols (a voice gateway, the router of a media resource): a session with the
    /// call manager from one is that device's, never a phone's.
    hosts: FastMap<IpAddr, DeviceKey>,
    /// The most entries of a transaction table.
    pub max_transactions: usize,
    /// Messages of a boot protocol no device could be found for.
    pub unattributed: u64,
    /// Transactions not followed (table full) or forgotten (idle while it was).
    pub transactions_evicted: u64,
}

impl<'r> Shared<'r> {
    /// Shared state applying `rules`.
    pub fn new(
        rules: &'r RuleSet,
        devices: Devices,
        attribution: Attribution,
        max_transactions: usize,
    ) -> Self {
        Shared {
            rules,
            steps: Steps::resolve(rules),
            devices,
            attribution,
            named_endpoints: FastMap::default(),
            hosts: FastMap::default(),
            max_transactions,
            unattributed: 0,
            transactions_evicted: 0,
        }
    }

    /// The most heap the named endpoints and the hosts that are no phones take.
    pub fn max_named_heap_bytes(max_transactions: usize) -> usize {
        let buckets = (max_transactions * 8 / 7).next_power_of_two();
        buckets
            * (std::mem::size_of::<((IpAddr, u16), Box<str>)>()
                + std::mem::size_of::<(IpAddr, DeviceKey)>()
                + 2)
    }

    /// The device for `key`, created when new (unless there is no room) and taken for
    /// what `clue` says; a device already followed weighs it ([`Device::take`]).
    pub fn device(&mut self, key: &DeviceKey, clue: Clue, ctx: Ctx) -> Option<&mut Device> {
        self.devices.open(key, clue, ctx.ts_ns, ctx.frame)
    }

    /// The device that is no phone at address `ip` ([`Self::note_host`]), if still
    /// followed.
    pub fn host_of(&self, ip: IpAddr) -> Option<DeviceKey> {
        self.hosts
            .get(&ip)
            .filter(|k| self.devices.contains(k))
            .cloned()
    }

    /// `key`, a device that is no phone (a voice gateway, a media resource), speaks
    /// from `ip` (its frames from `l2`): remember the address (counted as evicted when
    /// the table is full), and what was taken for a phone on a hint only there (SCCP
    /// keepalives from that address or MAC) is that device's host instead, of the kind
    /// `clue` says.
    pub fn note_host(&mut self, ip: IpAddr, l2: Option<MacAddr>, key: &DeviceKey, clue: Clue) {
        if self.hosts.len() < self.max_transactions || self.hosts.contains_key(&ip) {
            self.hosts.insert(ip, key.clone());
        } else {
            self.transactions_evicted += 1;
        }
        let by_ip = self.attribution.bound_ip(ip).map(DeviceKey::Mac);
        let by_l2 = self.attribution.plausible_l2(l2).map(DeviceKey::Mac);
        for other in [by_ip, by_l2].into_iter().flatten() {
            if other != *key {
                self.weigh_hinted_phone(&other, clue);
            }
        }
    }

    /// Let a device taken for a phone on a hint only weigh `clue` (a sure sign it is
    /// something else); a device that was no phone, or a sure one, is left as it is.
    fn weigh_hinted_phone(&mut self, key: &DeviceKey, clue: Clue) {
        let hinted = self
            .devices
            .get(key)
            .is_some_and(|d| d.kind == DeviceKind::Phone && d.weight < Weight::Sure);
        if hinted {
            self.devices.open(key, clue, 0, 0);
        }
    }

    /// Record an event on a device: boot boundary, progress along the sequence,
    /// the boot's facts, the timeline; within the memory budget.
    pub fn emit(&mut self, key: &DeviceKey, ctx: Ctx, kind: EventKind, starts_boot: bool) {
        let ev = Event {
            ts_ns: ctx.ts_ns,
            frame: ctx.frame,
            kind,
        };
        let (seq, steps) = (&self.rules.sequence, &self.steps);
        self.devices.grow(key, ev, |dev, ev| {
            progress::advance(dev, seq, steps, ev, starts_boot);
        });
    }

    /// The registration of `key` with `cm` lost, for `cause` (a SIP refresh's, else
    /// SCCP's).
    pub fn lose_registration(
        &mut self,
        key: &DeviceKey,
        ctx: Ctx,
        cm: IpAddr,
        cause: crate::timeline::LossCause,
    ) {
        use crate::timeline::{LossCause, Signalling};
        let proto = match cause {
            LossCause::RefreshUnanswered | LossCause::RefreshRejected(_) => Signalling::Sip,
            _ => Signalling::Sccp,
        };
        let ev = EventKind::RegistrationLost { proto, cm, cause };
        self.emit(key, ctx, ev, false);
    }

    /// A message of `proto` the snap length cut short: on the followed device that
    /// sent it, or else the one it was for.
    pub fn cut(&mut self, ctx: Ctx, proto: parsers::Proto) {
        let by_mac = [ctx.src_mac, ctx.dst_mac]
            .into_iter()
            .flatten()
            .map(DeviceKey::Mac)
            .find(|k| self.devices.contains(k));
        let by_flow = || {
            let f = ctx.flow?;
            self.owner_of((f.src, f.sport), ctx.src_mac)
                .or_else(|| self.owner_of((f.dst, f.dport), ctx.dst_mac))
        };
        if let Some(key) = by_mac.or_else(by_flow) {
            self.emit(&key, ctx, EventKind::Cut { proto }, false);
        }
    }

    /// The device a phone-side endpoint belongs to: a named device bound to it,
    /// else the attribution rules (IP→MAC binding, the frame's MAC).
    pub fn owner_of(&self, endpoint: (IpAddr, u16), l2: Option<MacAddr>) -> Option<DeviceKey> {
        if let Some(n) = self.named_endpoints.get(&endpoint) {
            return Some(DeviceKey::Name(n.clone()));
        }
        let devices = &self.devices;
        self.attribution
            .resolve(endpoint, l2, |m| devices.contains(&DeviceKey::Mac(m)))
            .map(DeviceKey::Mac)
    }

    /// Bind a signalling endpoint to a device known by `name` (counted as evicted
    /// when the table is full).
    pub fn name_endpoint(&mut self, endpoint: (IpAddr, u16), name: Box<str>) {
        if self.named_endpoints.len() < self.max_transactions
            || self.named_endpoints.contains_key(&endpoint)
        {
            self.named_endpoints.insert(endpoint, name);
        } else {
            self.transactions_evicted += 1;
        }
    }

    /// Note that the frame's source MAC sent from its source address (a router's MAC
    /// sends for many; a phone's is its own). A MAC found to send for several
    /// addresses is a router, so a phone made of it on a hint only is one.
    pub fn note_source(&mut self, ctx: Ctx) {
        if let (Some(mac), Some(f)) = (ctx.src_mac, ctx.flow) {
            // A phone that got a new lease keeps its MAC: it is no router.
            let key = DeviceKey::Mac(mac);
            let sure_phone = self
                .devices
                .get(&key)
                .is_some_and(|d| d.kind == DeviceKind::Phone && d.weight == Weight::Sure);
            if sure_phone {
                return;
            }
            let was_router = self.attribution.is_router(mac);
            self.attribution.saw_source(mac, f.src);
            if !was_router && self.attribution.is_router(mac) {
                self.weigh_hinted_phone(&key, ROUTED);
            }
        }
    }
}

/// What a MAC that sends for several addresses is.
const ROUTED: Clue = Clue::sure(DeviceKind::Router, "its MAC sends for several addresses");

/// What the handlers' unit tests share: the builtin rules, a [`Shared`] with room,
/// and frames' contexts.
#[cfg(test)]
pub(super) mod harness {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::timeline::EventType;

    /// The builtin rules, for the life of the test.
    pub fn rules() -> &'static RuleSet {
        Box::leak(Box::new(crate::analyze::load_rules(None).unwrap()))
    }

    /// Shared state with room for 100 devices and 8 transactions a table.
    pub fn shared() -> Shared<'static> {
        Shared::new(
            rules(),
            Devices::new(100, usize::MAX),
            Attribution::with_limit(1000),
            8,
        )
    }

    pub const PHONE: MacAddr = MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01]);
    /// A sure phone, for tests that need one followed.
    pub const TEST_PHONE: Clue = Clue::sure(DeviceKind::Phone, "test");
    pub const SERVER: MacAddr = MacAddr([0x00, 0x0c, 0x29, 0, 0, 1]);

    pub fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 1, 1, last))
    }

    /// A frame at `frame` seconds from `src` to `dst` (MAC, address, port).
    pub fn ctx(frame: u64, src: (MacAddr, IpAddr, u16), dst: (MacAddr, IpAddr, u16)) -> Ctx {
        Ctx {
            ts_ns: i64::try_from(frame).unwrap() * 1_000_000_000,
            frame,
            src_mac: Some(src.0),
            dst_mac: Some(dst.0),
            vlan: Some(100),
            flow: Some(Flow {
                src: src.1,
                dst: dst.1,
                sport: src.2,
                dport: dst.2,
            }),
            cut: false,
        }
    }

    /// The event types of `key`'s timeline, in order.
    pub fn types(sh: &Shared<'_>, key: &DeviceKey) -> Vec<EventType> {
        sh.devices
            .get(key)
            .map(|d| {
                d.timeline
                    .events
                    .iter()
                    .map(|e| e.kind.event_type())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;
    use crate::timeline::EventType;

    #[test]
    fn named_endpoints_win_over_attribution_and_are_bounded() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        sh.device(
            &key,
            TEST_PHONE,
            ctx(1, (PHONE, ip(20), 1), (SERVER, ip(5), 2)),
        )
        .unwrap();
        sh.attribution.bind_ip(ip(20), PHONE);
        assert_eq!(sh.owner_of((ip(20), 5000), None), Some(key));
        sh.name_endpoint((ip(20), 5000), "VG224-port-1".into());
        assert_eq!(
            sh.owner_of((ip(20), 5000), None),
            Some(DeviceKey::Name("VG224-port-1".into()))
        );
        for port in 0..20 {
            sh.name_endpoint((ip(30), port), "gw".into());
        }
        assert_eq!(sh.transactions_evicted, 20 - 7);
    }

    #[test]
    fn a_phone_on_a_hint_whose_mac_sends_for_several_addresses_is_a_router() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(20), 51000), (SERVER, ip(10), 2000));
        sh.device(&key, Clue::hint(DeviceKind::Phone, "keepalives"), c)
            .unwrap();
        sh.note_source(c);
        assert_eq!(sh.devices.kind(&key), Some(DeviceKind::Phone));
        sh.note_source(ctx(2, (PHONE, ip(21), 51000), (SERVER, ip(10), 2000)));
        assert_eq!(sh.devices.kind(&key), Some(DeviceKind::Router));
        // A sure phone keeps its MAC through a new lease.
        let mut sh = shared();
        sh.device(&key, TEST_PHONE, c).unwrap();
        sh.note_source(c);
        sh.note_source(ctx(2, (PHONE, ip(21), 51000), (SERVER, ip(10), 2000)));
        assert_eq!(sh.devices.kind(&key), Some(DeviceKind::Phone));
        assert!(!sh.attribution.is_router(PHONE));
    }

    #[test]
    fn emit_records_and_moves_the_boot_along() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(0), 68), (SERVER, ip(255), 67));
        sh.device(&key, TEST_PHONE, c).unwrap();
        sh.emit(
            &key,
            c,
            EventKind::DhcpDiscover {
                xid: 1,
                vlan: Some(100),
            },
            true,
        );
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(types(&sh, &key), [EventType::DhcpDiscover]);
        assert!(dev.boot.furthest.is_some());
        // An event for a device not followed goes nowhere.
        sh.emit(
            &DeviceKey::Mac(SERVER),
            c,
            EventKind::DhcpDecline { xid: 1, addr: None },
            false,
        );
        assert!(!sh.devices.contains(&DeviceKey::Mac(SERVER)));
    }
}
