//! What every protocol's handler shares: the devices (within their budget), who
//! owns an address or an endpoint ([`Attribution`], and the endpoints of devices
//! known only by name), the boot progression, and the counters of what could not be
//! followed. A handler finds or creates the device a message belongs to here and
//! hands it events through [`Shared::emit`].

use std::net::IpAddr;

use rules::RuleSet;

use super::budget::Devices;
use super::device::{Device, DeviceKey, DeviceKind};
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
            max_transactions,
            unattributed: 0,
            transactions_evicted: 0,
        }
    }

    /// The most heap the named endpoints take.
    pub fn max_named_heap_bytes(max_transactions: usize) -> usize {
        let buckets = (max_transactions * 8 / 7).next_power_of_two();
        buckets * (std::mem::size_of::<((IpAddr, u16), Box<str>)>() + 1)
    }

    /// The device for `key`, created when new (unless there is no room); a device
    /// shown to be a phone is marked so.
    pub fn device(
        &mut self,
        key: &DeviceKey,
        kind: DeviceKind,
        why: &'static str,
        ctx: Ctx,
    ) -> Option<&mut Device> {
        self.devices.open(key, kind, why, ctx.ts_ns, ctx.frame)
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
    /// sends for many; a phone's is its own).
    pub fn note_source(&mut self, ctx: Ctx) {
        if let (Some(mac), Some(f)) = (ctx.src_mac, ctx.flow) {
            // A phone that got a new lease keeps its MAC: it is no router.
            let known_phone = self.devices.kind(&DeviceKey::Mac(mac)) == Some(DeviceKind::Phone);
            if !known_phone {
                self.attribution.saw_source(mac, f.src);
            }
        }
    }
}

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
            DeviceKind::Phone,
            "test",
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
    fn emit_records_and_moves_the_boot_along() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(0), 68), (SERVER, ip(255), 67));
        sh.device(&key, DeviceKind::Phone, "test", c).unwrap();
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
            EventKind::DhcpDecline { xid: 1 },
            false,
        );
        assert!(!sh.devices.contains(&DeviceKey::Mac(SERVER)));
    }
}
