//! Discovery: CDP and LLDP(-MED). A phone's announcement without an address starts
//! its boot and waits for the switch's answer (the voice VLAN, or none); one with
//! an address is a running phone's periodic announcement. A switch's CDP/LLDP is
//! the answer to the oldest announcement still waiting for one from that protocol.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use parsers::{cdp, lldp};

use super::device::{DeviceKey, DeviceKind};
use super::shared::{Ctx, Shared};
use super::text::lossy;
use rules::Windows;

use crate::attribution::mac_in_name;
use crate::link::MacAddr;
use crate::timeline::{DiscoveryProto, EventKind};
use crate::FastMap;

/// Phone announcements waiting for the switch's answer, at most.
const MAX_ANNOUNCES: usize = 4096;

/// The discovery state: announcements waiting for the switch's answer.
#[derive(Debug, Default)]
pub struct Discovery {
    announces: Announces,
}

impl Discovery {
    /// The most heap the waiting announcements take.
    pub fn max_heap_bytes() -> usize {
        use std::mem::size_of;
        let table = |n: usize, entry: usize| (n * 8 / 7).next_power_of_two() * (entry + 1);
        MAX_ANNOUNCES * 2 * size_of::<Announce>()
            // The latest time per MAC, as the table grows (old and new at once).
            + 2 * table(MAX_ANNOUNCES + 1, size_of::<(MacAddr, (u32, i64))>())
    }

    /// A CDP packet: a phone's announcement or a switch's answer.
    pub fn cdp(&mut self, sh: &mut Shared<'_>, ctx: Ctx, p: &cdp::CdpPacket<'_>) {
        let Some(src) = ctx.src_mac else { return };
        let device_id = p.device_id().map(lossy);
        let platform = p.platform().map(lossy);
        let phone = p
            .capabilities()
            .is_some_and(|c| c.contains(cdp::CdpCapabilities::VOIP_PHONE))
            || device_id.as_deref().and_then(mac_in_name).is_some()
            || platform
                .as_deref()
                .is_some_and(|p| sh.rules.phones.cdp_platform(p));
        if phone {
            let ip = p.ipv4_addresses().find(|a| !a.is_unspecified());
            self.announce(sh, ctx, src, DiscoveryProto::Cdp, device_id, platform, ip);
        } else {
            let vlan = p.voice_vlan_reply().and_then(|v| v.vlan);
            self.switch_answer(sh, ctx, src, DiscoveryProto::Cdp, vlan);
        }
    }

    /// An LLDP PDU: a phone's (LLDP-MED endpoint) or a switch's (MED network policy).
    pub fn lldp(&mut self, sh: &mut Shared<'_>, ctx: Ctx, p: &lldp::LldpPdu<'_>) {
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
            self.announce(sh, ctx, src, DiscoveryProto::Lldp, name, model, ip);
        } else if p.med_capabilities().is_some() || p.network_policies().next().is_some() {
            let vlan = p
                .policy(lldp::MedAppType::VOICE)
                .filter(|pol| !pol.unknown && pol.tagged)
                .map(|pol| pol.vlan);
            self.switch_answer(sh, ctx, src, DiscoveryProto::Lldp, vlan);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn announce(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        mac: MacAddr,
        proto: DiscoveryProto,
        name: Option<String>,
        model: Option<String>,
        ip: Option<Ipv4Addr>,
    ) {
        let key = DeviceKey::Mac(mac);
        if let Some(ip) = ip {
            sh.attribution.bind_ip(IpAddr::V4(ip), mac);
        }
        let why = if proto == DiscoveryProto::Cdp {
            "CDP: VoIP phone"
        } else {
            "LLDP-MED endpoint"
        };
        let Some(dev) = sh.device(&key, DeviceKind::Phone, why, ctx) else {
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
            let ev = EventKind::PhoneAnnounce {
                proto,
                ip: Some(ip),
            };
            sh.emit(&key, ctx, ev, false);
            return;
        }
        dev.last_announce = Some((ctx.ts_ns, ctx.frame));
        // CDP and LLDP of one boot close together wait for one answer each, not two.
        let same = Windows::ns(sh.rules.windows.same_announcement_ms);
        if !self.announces.recent(mac, ctx.ts_ns, same) {
            self.announces.push(Announce {
                mac,
                ts_ns: ctx.ts_ns,
                cdp_answered: false,
                lldp_answered: false,
            });
        }
        sh.emit(
            &key,
            ctx,
            EventKind::PhoneAnnounce { proto, ip: None },
            false,
        );
    }

    /// A switch's CDP/LLDP: the answer to the oldest phone announcement still
    /// waiting for one from that protocol.
    fn switch_answer(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        switch: MacAddr,
        proto: DiscoveryProto,
        vlan: Option<u16>,
    ) {
        self.announces
            .expire(ctx.ts_ns, Windows::ns(sh.rules.windows.switch_answer_ms));
        let Some(mac) = self.announces.answer(switch, proto == DiscoveryProto::Cdp) else {
            return;
        };
        let kind = match vlan {
            Some(vlan) => EventKind::SwitchVoiceVlan { proto, vlan },
            None => EventKind::SwitchNoVoiceVlan { proto },
        };
        if let Some(dev) = sh.devices.get_mut(&DeviceKey::Mac(mac)) {
            dev.last_switch = Some((ctx.ts_ns, ctx.frame, vlan));
            // A second answer (LLDP after CDP) only adds the VLAN if the first lacked it.
            if vlan.is_none() && dev.boot.voice_vlan.is_some() {
                return;
            }
        }
        sh.emit(&DeviceKey::Mac(mac), ctx, kind, false);
    }
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

    /// Whether `mac` announced less than `window` before `now` (or after it).
    fn recent(&self, mac: MacAddr, now: i64, window: i64) -> bool {
        self.latest
            .get(&mac)
            .is_some_and(|&(_, ts)| now - ts < window)
    }

    /// Forget announcements older than `window` (the switch's answer) at `now`.
    fn expire(&mut self, now: i64, window: i64) {
        while self.queue.front().is_some_and(|a| now - a.ts_ns > window) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The builtin windows (`rules/windows.json`).
    const SWITCH_ANSWER_NS: i64 = 10_000_000_000;
    const SAME_BOOT_NS: i64 = 2_000_000_000;

    fn announce(i: u8, ts_s: i64) -> Announce {
        Announce {
            mac: MacAddr([2, 0, 0, 0, 0, i]),
            ts_ns: ts_s * 1_000_000_000,
            cdp_answered: false,
            lldp_answered: false,
        }
    }

    #[test]
    fn each_protocol_answers_the_oldest_waiting_announcement_once() {
        let mut a = Announces::default();
        a.push(announce(1, 0));
        a.push(announce(2, 1));
        let switch = MacAddr([0xaa; 6]);
        assert_eq!(a.answer(switch, true), Some(announce(1, 0).mac));
        assert_eq!(a.answer(switch, true), Some(announce(2, 0).mac));
        assert_eq!(a.answer(switch, true), None);
        // LLDP answers apart from CDP.
        assert_eq!(a.answer(switch, false), Some(announce(1, 0).mac));
    }

    #[test]
    fn a_switch_never_answers_itself_and_old_announcements_expire() {
        let mut a = Announces::default();
        let phone = announce(1, 0);
        a.push(phone);
        assert_eq!(a.answer(phone.mac, true), None);
        assert!(a.recent(phone.mac, 1_000_000_000, SAME_BOOT_NS));
        a.expire(SWITCH_ANSWER_NS + 1, SWITCH_ANSWER_NS);
        assert_eq!(a.answer(MacAddr([0xaa; 6]), true), None);
        assert!(!a.recent(phone.mac, SWITCH_ANSWER_NS + 1, SAME_BOOT_NS));
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut a = Announces::default();
        for i in 0..(MAX_ANNOUNCES + 10) {
            a.push(announce((i % 200) as u8, i as i64));
        }
        assert_eq!(a.queue.len(), MAX_ANNOUNCES);
        assert!(a.latest.len() <= 200);
    }

    #[test]
    fn announcements_answer_and_recall_as_a_full_walk_would() {
        // The naive queue: every answer walks from the front.
        fn naive_answer(q: &mut [Announce], switch: MacAddr, cdp: bool) -> Option<MacAddr> {
            let a = q.iter_mut().find(|a| {
                a.mac != switch
                    && if cdp {
                        !a.cdp_answered
                    } else {
                        !a.lldp_answered
                    }
            })?;
            if cdp {
                a.cdp_answered = true;
            } else {
                a.lldp_answered = true;
            }
            Some(a.mac)
        }
        let mut rng = crate::rng::Rng::new(0x1234_5678_9abc_def1_u64);
        let mut next = |n: u64| rng.below(n);
        let mut fast = Announces::default();
        let mut naive: std::collections::VecDeque<Announce> = Default::default();
        let mut now = 0i64;
        for _ in 0..50_000 {
            now += next(400_000_000) as i64;
            match next(5) {
                0 | 1 => {
                    // Now and then a frame out of time order.
                    let late = if next(8) == 0 {
                        next(12_000_000_000) as i64
                    } else {
                        0
                    };
                    let a = Announce {
                        mac: MacAddr([0, 0, 0, 0, 0, next(6) as u8]),
                        ts_ns: now - late,
                        cdp_answered: false,
                        lldp_answered: false,
                    };
                    fast.push(a);
                    naive.push_back(a);
                    if naive.len() > MAX_ANNOUNCES {
                        naive.pop_front();
                    }
                }
                2 => {
                    let mac = MacAddr([0, 0, 0, 0, 0, next(6) as u8]);
                    let at = now - next(20_000_000_000) as i64;
                    let naive_recent = naive
                        .iter()
                        .rev()
                        .any(|a| a.mac == mac && at - a.ts_ns < SAME_BOOT_NS);
                    assert_eq!(fast.recent(mac, at, SAME_BOOT_NS), naive_recent);
                }
                _ => {
                    fast.expire(now, SWITCH_ANSWER_NS);
                    while naive
                        .front()
                        .is_some_and(|a| now - a.ts_ns > SWITCH_ANSWER_NS)
                    {
                        naive.pop_front();
                    }
                    let switch = MacAddr([0, 0, 0, 0, 0, next(8) as u8]);
                    let cdp = next(2) == 0;
                    let expected = naive_answer(naive.make_contiguous(), switch, cdp);
                    assert_eq!(fast.answer(switch, cdp), expected);
                }
            }
            assert_eq!(fast.queue.len(), naive.len());
        }
    }
}
