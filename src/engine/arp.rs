//! ARP: who holds a phone's address. A phone checks the address DHCP gave it
//! before using it (an RFC 5227 probe, sender 0.0.0.0) and announces it; another
//! MAC that answers for that address, or announces it as its own, means the address
//! is taken: the phone declines it or, if it goes on, shares it with that device.
//! Said once per address and MAC per device.
//! Only ARP replies and announcements count (a request proves no ownership of the
//! target), and only for an address a followed phone probed lately or was leased.

use std::net::{IpAddr, Ipv4Addr};

use parsers::arp::{ArpOpcode, ArpPacket};

use super::device::{DeviceKey, DeviceKind};
use super::shared::{Ctx, Shared};
use crate::link::MacAddr;
use crate::timeline::EventKind;
use crate::FastMap;
use rules::Windows;

/// The addresses phones probed lately, bounded.
#[derive(Debug, Default)]
pub struct Arp {
    probes: FastMap<Ipv4Addr, (MacAddr, i64)>,
}

impl Arp {
    /// The most heap `n` probes take.
    pub fn max_heap_bytes(n: usize) -> usize {
        (n * 8 / 7).next_power_of_two() * (std::mem::size_of::<(Ipv4Addr, (MacAddr, i64))>() + 1)
    }

    /// Probes followed.
    pub fn len(&self) -> usize {
        self.probes.len()
    }

    /// Forget probes older than `window` (`arp_probe_answer_ms`, in ns).
    pub fn sweep(&mut self, now: i64, window: i64) {
        self.probes
            .retain(|_, (_, ts)| now.saturating_sub(*ts) <= window);
    }

    /// One ARP packet.
    pub fn packet(&mut self, sh: &mut Shared<'_>, ctx: Ctx, p: &ArpPacket) {
        let sender = MacAddr(p.sender_mac);
        if p.is_probe() {
            let key = DeviceKey::Mac(sender);
            let is_phone = sh
                .devices
                .get(&key)
                .is_some_and(|d| d.kind == DeviceKind::Phone);
            if is_phone
                && (self.probes.len() < sh.max_transactions
                    || self.probes.contains_key(&p.target_ip))
            {
                self.probes.insert(p.target_ip, (sender, ctx.ts_ns));
            }
            return;
        }
        let claims = p.opcode == ArpOpcode::REPLY || p.is_announcement();
        let ip = p.sender_ip;
        if !claims || ip.is_unspecified() || ip.is_broadcast() || sender.0[0] & 1 == 1 {
            return;
        }
        // The phone that probed the address lately, else the one it is leased to.
        let window = Windows::ns(sh.rules.windows.arp_probe_answer_ms);
        let probed = self
            .probes
            .get(&ip)
            .filter(|(_, ts)| ctx.ts_ns.saturating_sub(*ts) <= window)
            .map(|(m, _)| *m);
        let leased = sh.attribution.bound_ip(IpAddr::V4(ip)).filter(|&m| {
            sh.devices
                .get(&DeviceKey::Mac(m))
                .is_some_and(|d| d.ip == Some(IpAddr::V4(ip)))
        });
        let Some(phone) = probed.or(leased).filter(|&m| m != sender) else {
            return;
        };
        let key = DeviceKey::Mac(phone);
        let Some(dev) = sh.devices.get(&key) else {
            return;
        };
        // A phone's, said once per address and MAC per boot (replies repeat).
        if dev.kind != DeviceKind::Phone || dev.address_conflict == Some((ip, Some(sender))) {
            return;
        }
        let ev = EventKind::AddressInUse { ip, mac: sender };
        sh.emit(&key, ctx, ev, false);
    }
}

#[cfg(test)]
mod tests {
    use super::super::shared::harness::*;
    use super::*;
    use crate::model::encode;
    use crate::timeline::EventType;

    const OTHER: MacAddr = MacAddr([0x00, 0x50, 0x56, 0x01, 0x02, 0x03]);

    fn arp(arp: &mut Arp, sh: &mut Shared<'_>, frame: u64, bytes: Vec<u8>) {
        let c = ctx(frame, (PHONE, ip(20), 0), (SERVER, ip(5), 0));
        let c = Ctx { flow: None, ..c };
        arp.packet(sh, c, &parsers::arp::parse(&bytes).unwrap());
    }

    fn v4(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 1, 1, last)
    }

    #[test]
    fn an_answer_counts_within_the_probe_window_of_the_rules() {
        // A reply 68 s after the probe: too late for the builtin 60 s window, in time
        // for a window of 120 s set in the rules' data.
        let late = |window_ms: u64| {
            let mut set = crate::analyze::load_rules(None).unwrap();
            set.windows.arp_probe_answer_ms = window_ms;
            let mut sh = Shared::new(
                Box::leak(Box::new(set)),
                crate::engine::budget::Devices::new(100, usize::MAX),
                crate::attribution::Attribution::with_limit(1000),
                8,
            );
            let mut a = Arp::default();
            let key = DeviceKey::Mac(PHONE);
            let c = ctx(1, (PHONE, ip(20), 68), (SERVER, ip(5), 67));
            sh.device(&key, TEST_PHONE, c).unwrap();
            let zero = Ipv4Addr::UNSPECIFIED;
            let probe = encode::arp(1, (PHONE, zero), (MacAddr::default(), v4(20))).unwrap();
            arp(&mut a, &mut sh, 2, probe);
            let reply = encode::arp(2, (OTHER, v4(20)), (PHONE, zero)).unwrap();
            arp(&mut a, &mut sh, 70, reply);
            types(&sh, &key)
        };
        assert!(late(60_000).is_empty());
        assert_eq!(late(120_000), [EventType::AddressInUse]);
    }

    #[test]
    fn another_mac_answering_a_phone_s_probe_takes_its_address() {
        let (mut sh, mut a) = (shared(), Arp::default());
        let key = DeviceKey::Mac(PHONE);
        sh.device(
            &key,
            TEST_PHONE,
            ctx(1, (PHONE, ip(20), 68), (SERVER, ip(5), 67)),
        )
        .unwrap();
        let zero = Ipv4Addr::UNSPECIFIED;
        let probe = encode::arp(1, (PHONE, zero), (MacAddr::default(), v4(20))).unwrap();
        arp(&mut a, &mut sh, 2, probe);
        // The phone's own announcement is no conflict; the gateway's reply for itself
        // neither.
        let own = encode::arp(1, (PHONE, v4(20)), (MacAddr::default(), v4(20))).unwrap();
        arp(&mut a, &mut sh, 3, own);
        let gw = encode::arp(2, (SERVER, v4(1)), (PHONE, v4(20))).unwrap();
        arp(&mut a, &mut sh, 4, gw);
        assert!(types(&sh, &key).is_empty());
        let reply = encode::arp(2, (OTHER, v4(20)), (PHONE, zero)).unwrap();
        arp(&mut a, &mut sh, 5, reply.clone());
        arp(&mut a, &mut sh, 6, reply);
        assert_eq!(types(&sh, &key), [EventType::AddressInUse]);
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.address_conflict, Some((v4(20), Some(OTHER))));
    }

    #[test]
    fn a_leased_address_announced_by_another_mac_is_taken_and_no_phone_is_not_judged() {
        let (mut sh, mut a) = (shared(), Arp::default());
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(20), 68), (SERVER, ip(5), 67));
        sh.device(&key, TEST_PHONE, c).unwrap().ip = Some(ip(20));
        sh.attribution.bind_ip(ip(20), PHONE);
        // A request from another MAC for the address proves nothing.
        let ask = encode::arp(1, (OTHER, v4(30)), (MacAddr::default(), v4(20))).unwrap();
        arp(&mut a, &mut sh, 2, ask);
        assert!(types(&sh, &key).is_empty());
        let gratuitous = encode::arp(1, (OTHER, v4(20)), (MacAddr::default(), v4(20))).unwrap();
        arp(&mut a, &mut sh, 3, gratuitous);
        assert_eq!(types(&sh, &key), [EventType::AddressInUse]);
        // Nobody's probe, nobody's lease: nothing.
        let stray = encode::arp(2, (OTHER, v4(99)), (SERVER, v4(5))).unwrap();
        arp(&mut a, &mut sh, 4, stray);
        assert_eq!(types(&sh, &key).len(), 1);
    }
}
