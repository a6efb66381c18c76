//! Discovery: CDP and LLDP(-MED). What the sender is comes first, weighed from what it
//! says of itself: a phone (the CDP phone capability or a phone platform, LLDP-MED class
//! III or the telephone capability, a `SEP<MAC>` name), a router (CDP router capability
//! without the switch's or the phone's), a computer (LLDP-MED Endpoint Class I or II
//! without the telephone capability or a network policy), or the switch. A phone's
//! announcement without an address starts its boot and waits for the switch's answer (the
//! voice VLAN, or none); one with an address (CDP Addresses or Management Address, the
//! LLDP management address or a Chassis ID that is the address) is a running phone's
//! periodic announcement.
//! A switch's CDP/LLDP is the answer to the announcement of the device its port
//! authenticated (802.1X, when the port sends from its own MAC), else to the oldest
//! announcement still waiting for one from that protocol. Every device is named as it names itself (CDP device id, LLDP system
//! name), whatever the form.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use parsers::{cdp, lldp};

use super::device::{Clue, DeviceKey, DeviceKind, NameSource};
use super::inventory;
use super::shared::{Ctx, Shared};
use super::text::lossy;
use rules::Windows;

use crate::attribution::mac_in_name;
use crate::link::MacAddr;
use crate::timeline::{DiscoveryProto, EventKind};
use crate::FastMap;

/// What a CDP or LLDP sender says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    /// A phone, and why.
    Phone(Clue),
    /// A device that is no phone and no switch (a router, a computer), and why.
    Other(Clue),
    /// The switch (or anything that may answer a phone's announcement).
    Switch,
    /// Nothing that matters to a phone's boot.
    Ignored,
}

const CDP_PHONE: Clue = Clue::sure(DeviceKind::Phone, "CDP: VoIP phone");
const CDP_ROUTER: Clue = Clue::sure(
    DeviceKind::Router,
    "CDP: router capability, neither switch nor phone",
);
const LLDP_PHONE: Clue = Clue::sure(DeviceKind::Phone, "LLDP-MED endpoint");
const LLDP_POLICY_ENDPOINT: Clue = Clue::hint(
    DeviceKind::Phone,
    "LLDP-MED endpoint asking for a network policy",
);
const LLDP_PC: Clue = Clue::sure(
    DeviceKind::Pc,
    "LLDP-MED Endpoint Class I/II without telephone capability or network policy",
);

/// What a CDP sender is: the phone capability (0x80, VoIP Phone), a phone platform or a
/// `SEP<MAC>` device id make a phone; the router capability (0x01) without the switch's
/// (0x08) a router; anything else may be the switch.
fn cdp_sender(sh: &Shared<'_>, p: &cdp::CdpPacket<'_>, device_id: Option<&str>) -> Sender {
    let caps = p.capabilities().unwrap_or(cdp::CdpCapabilities(0));
    let phone = caps.contains(cdp::CdpCapabilities::VOIP_PHONE)
        || device_id.and_then(mac_in_name).is_some()
        || p.platform()
            .map(lossy)
            .is_some_and(|pl| sh.rules.phones.cdp_platform(&pl));
    if phone {
        Sender::Phone(CDP_PHONE)
    } else if caps.contains(cdp::CdpCapabilities::ROUTER)
        && !caps.contains(cdp::CdpCapabilities::SWITCH)
    {
        Sender::Other(CDP_ROUTER)
    } else {
        Sender::Switch
    }
}

/// What an LLDP sender is (TIA-1057 device classes): class III (communication device),
/// the telephone capability (802.1AB 8.5.8) or a `SEP<MAC>` system name make a phone;
/// class I or II (generic, media endpoint) without the telephone capability is a
/// computer, unless it asks for a network policy (then a phone, on a hint); a network
/// connectivity device, or MED TLVs without a class, may be the switch.
fn lldp_sender(p: &lldp::LldpPdu<'_>, name: Option<&str>) -> Sender {
    use lldp::MedDeviceClass as Class;
    let class = p.med_capabilities().map(|(_, c)| c);
    let telephone = p.capabilities().is_some_and(|(system, enabled)| {
        (system.contains(lldp::LldpCapabilities::TELEPHONE)
            || enabled.contains(lldp::LldpCapabilities::TELEPHONE))
            && class != Some(Class::NETWORK_CONNECTIVITY)
    });
    let policy = p.network_policies().next().is_some();
    if class == Some(Class::ENDPOINT_CLASS_3) || telephone || name.and_then(mac_in_name).is_some() {
        Sender::Phone(LLDP_PHONE)
    } else if matches!(
        class,
        Some(Class::ENDPOINT_CLASS_1 | Class::ENDPOINT_CLASS_2)
    ) {
        if policy {
            Sender::Phone(LLDP_POLICY_ENDPOINT)
        } else {
            Sender::Other(LLDP_PC)
        }
    } else if class.is_some() || policy {
        Sender::Switch
    } else {
        Sender::Ignored
    }
}

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

    /// A CDP packet: a phone's announcement, a router's, or a switch's answer. A
    /// switch's answer paired with a phone gives both MACs (switch, phone);
    /// `on_port` is the device the sender's port authenticated, if any.
    pub fn cdp(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        p: &cdp::CdpPacket<'_>,
        on_port: Option<MacAddr>,
    ) -> Option<(MacAddr, MacAddr)> {
        let src = ctx.src_mac?;
        let device_id = p.device_id().map(lossy);
        let sender = cdp_sender(sh, p, device_id.as_deref());
        let said = Said {
            proto: DiscoveryProto::Cdp,
            name: device_id,
            model: p.platform().map(lossy),
            // The Addresses TLV (0x02), else the Management Address TLV (0x16).
            ip: p
                .ipv4_addresses()
                .chain(p.management_addresses().filter_map(|a| a.ipv4()))
                .find(|a| !a.is_unspecified()),
        };
        match sender {
            Sender::Phone(why) => {
                self.announce(sh, ctx, src, why, said);
                if let Some(dev) = sh.devices.get_mut(&DeviceKey::Mac(src)) {
                    inventory::cdp_phone(dev, p);
                }
                // What it asks for: the most of its Power Requested levels (CDPv2,
                // mW), else its Power Consumption (mW).
                let asked = p
                    .power_requested()
                    .and_then(|r| r.levels_mw().max())
                    .or_else(|| p.power_consumption_mw().map(u32::from));
                poe(sh, ctx, src, DiscoveryProto::Cdp, asked, false);
            }
            Sender::Other(why) => other_device(sh, ctx, src, why, said),
            Sender::Switch => {
                let vlan = p.voice_vlan_reply().and_then(|v| v.vlan);
                let port = p.port_id().map(lossy);
                let phone =
                    self.switch_answer(sh, ctx, (src, on_port), DiscoveryProto::Cdp, vlan, port)?;
                if let Some(dev) = sh.devices.get_mut(&DeviceKey::Mac(phone)) {
                    inventory::cdp_switch(dev, p);
                }
                // Power Available: the power available first, then the management
                // power level (`pwr avail 15400, pwr man -1` in the switch's debug).
                let offered = p.power_available().and_then(|a| a.levels_mw().next());
                poe(sh, ctx, phone, DiscoveryProto::Cdp, offered, true);
                return Some((src, phone));
            }
            Sender::Ignored => {}
        }
        None
    }

    /// An LLDP PDU: a phone's (LLDP-MED endpoint), a computer's, or a switch's (MED
    /// network policy). A switch's answer paired with a phone gives both MACs;
    /// `on_port` is the device the sender's port authenticated, if any.
    pub fn lldp(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        p: &lldp::LldpPdu<'_>,
        on_port: Option<MacAddr>,
    ) -> Option<(MacAddr, MacAddr)> {
        let src = ctx.src_mac?;
        let name = p.system_name().map(lossy);
        let sender = lldp_sender(p, name.as_deref());
        let said = Said {
            proto: DiscoveryProto::Lldp,
            name,
            model: p.inventory().model.map(lossy),
            // The management address, else a Chassis ID that is the address (the
            // network address subtype, as Cisco 88xx, SPA and others send it).
            ip: p
                .management_addresses()
                .filter_map(|a| a.ipv4())
                .chain(p.chassis_ipv4())
                .find(|a| !a.is_unspecified()),
        };
        match sender {
            Sender::Phone(why) => {
                self.announce(sh, ctx, src, why, said);
                if let Some(dev) = sh.devices.get_mut(&DeviceKey::Mac(src)) {
                    inventory::lldp_phone(dev, p);
                }
                poe(
                    sh,
                    ctx,
                    src,
                    DiscoveryProto::Lldp,
                    lldp_power(p, false),
                    false,
                );
            }
            Sender::Other(why) => other_device(sh, ctx, src, why, said),
            Sender::Switch => {
                let vlan = p
                    .policy(lldp::MedAppType::VOICE)
                    .filter(|pol| !pol.unknown && pol.tagged)
                    .map(|pol| pol.vlan);
                let port = p.port_id().map(lossy);
                let phone =
                    self.switch_answer(sh, ctx, (src, on_port), DiscoveryProto::Lldp, vlan, port)?;
                if let Some(dev) = sh.devices.get_mut(&DeviceKey::Mac(phone)) {
                    inventory::lldp_switch(dev, p);
                }
                poe(
                    sh,
                    ctx,
                    phone,
                    DiscoveryProto::Lldp,
                    lldp_power(p, true),
                    true,
                );
                return Some((src, phone));
            }
            Sender::Ignored => {}
        }
        None
    }

    fn announce(&mut self, sh: &mut Shared<'_>, ctx: Ctx, mac: MacAddr, why: Clue, said: Said) {
        let key = DeviceKey::Mac(mac);
        if let Some(ip) = said.ip {
            sh.attribution.bind_ip(IpAddr::V4(ip), mac);
        }
        let (proto, ip) = (said.proto, said.ip);
        let Some(dev) = sh.device(&key, why, ctx) else {
            return;
        };
        said.name_and_model(dev);
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

    /// A switch's CDP/LLDP: the answer to a phone announcement still waiting for one
    /// from that protocol (`Announces::answer`); the phone it answered.
    fn switch_answer(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        (switch, on_port): (MacAddr, Option<MacAddr>),
        proto: DiscoveryProto,
        vlan: Option<u16>,
        port: Option<String>,
    ) -> Option<MacAddr> {
        self.announces
            .expire(ctx.ts_ns, Windows::ns(sh.rules.windows.switch_answer_ms));
        let mac = self
            .announces
            .answer(switch, on_port, proto == DiscoveryProto::Cdp, |m| {
                sh.devices
                    .get(&DeviceKey::Mac(m))
                    .and_then(|d| d.boot.port.auth.as_ref())
                    .is_some_and(|a| a.phone_spoke)
            })?;
        let kind = match vlan {
            Some(vlan) => EventKind::SwitchVoiceVlan { proto, vlan },
            None => EventKind::SwitchNoVoiceVlan { proto },
        };
        if let Some(dev) = sh.devices.get_mut(&DeviceKey::Mac(mac)) {
            dev.last_switch = Some((ctx.ts_ns, ctx.frame, vlan));
            if let Some(port) = port.filter(|p| dev.switch_port.as_deref() != Some(p)) {
                dev.switch_port = Some(port.into());
            }
            // A second answer (LLDP after CDP) only adds the VLAN if the first lacked it.
            if vlan.is_none() && dev.boot.voice_vlan.is_some() {
                return Some(mac);
            }
        }
        sh.emit(&DeviceKey::Mac(mac), ctx, kind, false);
        Some(mac)
    }
}

/// The PoE an LLDP PDU asks for (`grant` false: a powered device's) or offers (a
/// PSE's), in mW: the 802.3at fields of Power via MDI (requested, allocated; 0.1 W
/// units), else LLDP-MED Extended Power-via-MDI of that power type (0.1 W units).
fn lldp_power(p: &lldp::LldpPdu<'_>, grant: bool) -> Option<u32> {
    // Port class bit 0 of the MDI power support: 1 for a PSE, 0 for a PD.
    let mdi = p
        .mdi_power()
        .filter(|m| (m.support & 1 == 1) == grant)
        .and_then(|m| m.extension)
        .map(|x| {
            if grant {
                x.allocated_dw
            } else {
                x.requested_dw
            }
        })
        .filter(|&dw| dw > 0)
        .map(|dw| u32::from(dw) * 100);
    // Power type 0 is a PSE's, 1 a PD's (2 and 3 are reserved).
    let med = p
        .extended_power()
        .filter(|e| e.power_type == u8::from(!grant) && e.power_dw > 0)
        .map(|e| e.power_mw());
    mdi.or(med)
}

/// The PoE `mac` asks for (`grant` false) or the switch offers it, recorded when it
/// is new for its boot (a running phone repeats it every minute).
fn poe(
    sh: &mut Shared<'_>,
    ctx: Ctx,
    mac: MacAddr,
    proto: DiscoveryProto,
    mw: Option<u32>,
    grant: bool,
) {
    let Some(mw) = mw.filter(|&mw| mw > 0) else {
        return;
    };
    let key = DeviceKey::Mac(mac);
    let Some(dev) = sh.devices.get(&key) else {
        return;
    };
    let port = &dev.boot.port;
    let known = if grant {
        port.granted(proto) == Some(mw)
    } else {
        port.requested(proto).is_some_and(|was| was >= mw)
    };
    if dev.kind != DeviceKind::Phone || known {
        return;
    }
    let kind = if grant {
        EventKind::PoeGrant { proto, mw }
    } else {
        EventKind::PoeRequest { proto, mw }
    };
    sh.emit(&key, ctx, kind, false);
}

/// What a device says of itself in its CDP or LLDP.
struct Said {
    proto: DiscoveryProto,
    name: Option<String>,
    model: Option<String>,
    ip: Option<Ipv4Addr>,
}

impl Said {
    /// Name the device as it names itself, and give it the model it says.
    fn name_and_model(self, dev: &mut super::device::Device) {
        let source = match self.proto {
            DiscoveryProto::Cdp => NameSource::Cdp,
            DiscoveryProto::Lldp => NameSource::Lldp,
        };
        if let Some(n) = self.name {
            dev.set_name(n, source);
        }
        if let Some(m) = self.model {
            dev.set_model(m);
        }
    }
}

/// A device that announces itself and is no phone (a router, a computer): listed with
/// what it says and never judged; its announcement is no phone's, so it goes on no
/// timeline and starts no boot.
fn other_device(sh: &mut Shared<'_>, ctx: Ctx, mac: MacAddr, why: Clue, said: Said) {
    let key = DeviceKey::Mac(mac);
    if let Some(ip) = said.ip {
        sh.attribution.bind_ip(IpAddr::V4(ip), mac);
    }
    let Some(dev) = sh.device(&key, why, ctx) else {
        return;
    };
    if let Some(ip) = said.ip {
        dev.ip.get_or_insert(IpAddr::V4(ip));
    }
    said.name_and_model(dev);
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

    /// The MAC of the announcement not answered by `cdp` (else LLDP) that `switch`
    /// did not send, marked answered: that of `on_port` (the device the switch port
    /// authenticated) when one waits; else the oldest of a device that does no 802.1X
    /// (`supplicant` false), since a port that authenticates answers from its own MAC;
    /// else the oldest. In a boot storm the ports that authenticate thus still find
    /// their phones; the others' answers are paired by time alone.
    fn answer(
        &mut self,
        switch: MacAddr,
        on_port: Option<MacAddr>,
        cdp: bool,
        supplicant: impl Fn(MacAddr) -> bool,
    ) -> Option<MacAddr> {
        let answered = |a: &Announce| if cdp { a.cdp_answered } else { a.lldp_answered };
        let from = if cdp { self.cdp_done } else { self.lldp_done };
        let waiting = |want: &dyn Fn(&Announce) -> bool| {
            self.queue
                .range(from..)
                .position(|a| a.mac != switch && !answered(a) && want(a))
        };
        let own = on_port.and_then(|m| waiting(&|a| a.mac == m));
        let i = from
            + own
                .or_else(|| waiting(&|a| !supplicant(a.mac)))
                .or_else(|| waiting(&|_| true))?;
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
    use super::super::device::Weight;
    use super::super::shared::harness::*;
    use super::*;
    use crate::timeline::EventType;
    use parsers::cdp::{CdpAddress, CdpCapabilities, CdpTlv};
    use parsers::lldp::{
        LldpCapabilities, LldpChassisIdSubtype, LldpPdu, LldpPortIdSubtype, LldpTlv, MedAppType,
        MedCapabilities, MedDeviceClass, MedPolicy,
    };

    /// A link-layer frame from `src` at `secs`.
    fn l2_ctx(secs: i64, src: MacAddr) -> Ctx {
        Ctx {
            ts_ns: secs * 1_000_000_000,
            frame: u64::try_from(secs).unwrap(),
            src_mac: Some(src),
            dst_mac: None,
            vlan: None,
            flow: None,
            cut: false,
        }
    }

    fn cdp(id: &str, caps: u32, mgmt: Option<[u8; 4]>) -> Vec<u8> {
        let mut tlvs = vec![
            CdpTlv::DeviceId(id.as_bytes()),
            CdpTlv::Capabilities(CdpCapabilities(caps)),
            CdpTlv::Platform(b"some platform"),
        ];
        let addr = mgmt.unwrap_or_default();
        if mgmt.is_some() {
            tlvs.push(CdpTlv::ManagementAddresses(vec![CdpAddress {
                protocol_type: CdpAddress::NLPID,
                protocol: &[0xcc],
                address: &addr,
            }]));
        }
        crate::model::encode::cdp_pdu(tlvs).unwrap()
    }

    /// An LLDP PDU from `chassis`'s port `port` (subtype, id): those TLVs, a TTL of
    /// 120 s, then `rest`.
    fn lldp_pdu<'a>(
        chassis: &'a MacAddr,
        port: (LldpPortIdSubtype, &'a [u8]),
        rest: Vec<LldpTlv<'a>>,
    ) -> Vec<u8> {
        let mut tlvs = vec![
            LldpTlv::ChassisId {
                subtype: LldpChassisIdSubtype::MAC_ADDRESS,
                id: &chassis.0,
            },
            LldpTlv::PortId {
                subtype: port.0,
                id: port.1,
            },
            LldpTlv::Ttl(120),
        ];
        tlvs.extend(rest);
        LldpPdu {
            tlvs,
            truncated: false,
        }
        .to_vec()
        .unwrap()
    }

    fn lldp(class: MedDeviceClass, caps: u16, voice_policy: bool) -> Vec<u8> {
        let mut tlvs = vec![
            LldpTlv::SystemName(b"HOST-1"),
            LldpTlv::Capabilities {
                system: LldpCapabilities(caps),
                enabled: LldpCapabilities(caps),
            },
            LldpTlv::MedCapabilities {
                capabilities: MedCapabilities(MedCapabilities::CAPABILITIES.0),
                class,
            },
        ];
        if voice_policy {
            tlvs.push(LldpTlv::MedNetworkPolicy(MedPolicy {
                app: MedAppType::VOICE,
                unknown: true,
                tagged: false,
                vlan: 0,
                priority: 0,
                dscp: 0,
            }));
        }
        lldp_pdu(&PHONE, (LldpPortIdSubtype::LOCALLY_ASSIGNED, b"1"), tlvs)
    }

    /// `d` hears CDP `bytes` at second `secs` from `src`; the pair a switch answer makes.
    fn heard_cdp(
        d: &mut Discovery,
        sh: &mut Shared<'_>,
        (secs, src): (i64, MacAddr),
        bytes: &[u8],
    ) -> Option<(MacAddr, MacAddr)> {
        d.cdp(sh, l2_ctx(secs, src), &cdp::parse(bytes).unwrap(), None)
    }

    /// `d` hears LLDP `bytes` at second `secs` from `src`; the pair a switch answer makes.
    fn heard_lldp(
        d: &mut Discovery,
        sh: &mut Shared<'_>,
        (secs, src): (i64, MacAddr),
        bytes: &[u8],
    ) -> Option<(MacAddr, MacAddr)> {
        d.lldp(sh, l2_ctx(secs, src), &lldp::parse(bytes).unwrap(), None)
    }

    /// The PoE events of `key`'s timeline: (grant, protocol, mW).
    fn poe_of(sh: &Shared<'_>, key: &DeviceKey) -> Vec<(bool, DiscoveryProto, u32)> {
        sh.devices.get(key).map_or_else(Vec::new, |d| {
            d.timeline
                .events
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::PoeRequest { proto, mw } => Some((false, proto, mw)),
                    EventKind::PoeGrant { proto, mw } => Some((true, proto, mw)),
                    _ => None,
                })
                .collect()
        })
    }

    #[test]
    fn cdp_power_is_read_in_milliwatts_once_per_boot_and_paired_with_the_phone() {
        use crate::model::encode;
        let (mut sh, mut d) = (shared(), Discovery::default());
        let switch = MacAddr([0, 0x1e, 0x4a, 0x10, 0, 1]);
        let phone =
            encode::cdp_phone_power("SEP001B54AA0001", "Cisco IP Phone 8851", "x", 12_900).unwrap();
        let answer =
            encode::cdp_switch_power("access-sw1", "Gi1/0/3", 10, Some(100), 7_000).unwrap();
        heard_cdp(&mut d, &mut sh, (1, PHONE), &phone);
        let paired = heard_cdp(&mut d, &mut sh, (2, switch), &answer);
        assert_eq!(paired, Some((switch, PHONE)));
        // The phone's next CDP asks the same: said once.
        heard_cdp(&mut d, &mut sh, (3, PHONE), &phone);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(
            poe_of(&sh, &key),
            [
                (false, DiscoveryProto::Cdp, 12_900),
                (true, DiscoveryProto::Cdp, 7_000)
            ]
        );
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.switch_port.as_deref(), Some("Gi1/0/3"));
        assert_eq!(dev.boot.port.voice_vlans, [Some(100), None]);
    }

    #[test]
    fn lldp_power_is_read_in_tenths_of_a_watt_from_the_pd_and_the_pse() {
        use parsers::lldp::{Dot3MdiPower, Dot3PowerExtension, MedExtendedPower, MedPowerPriority};
        let (mut sh, mut d) = (shared(), Discovery::default());
        let switch = MacAddr([0, 0x1e, 0x4a, 0x10, 0, 1]);
        // The phone: LLDP-MED class III, Extended Power-via-MDI of a PD, 12.9 W.
        let phone = lldp_pdu(
            &PHONE,
            (LldpPortIdSubtype::LOCALLY_ASSIGNED, b"1"),
            vec![
                LldpTlv::SystemName(b"SEP001B54AA0001"),
                LldpTlv::MedCapabilities {
                    capabilities: MedCapabilities(MedCapabilities::CAPABILITIES.0),
                    class: MedDeviceClass::ENDPOINT_CLASS_3,
                },
                LldpTlv::MedExtendedPower(MedExtendedPower {
                    power_type: 1,
                    source: 3,
                    priority: MedPowerPriority(0),
                    power_dw: 129,
                }),
            ],
        );
        heard_lldp(&mut d, &mut sh, (1, PHONE), &phone);
        // The switch: a PSE's Power via MDI with the 802.3at fields, echoing 12.9 W
        // asked and allocating 7.0 W, and its voice policy.
        let mdi = Dot3MdiPower {
            support: 0x0f,
            pair: 1,
            class: 4,
            extension: Some(Dot3PowerExtension {
                power_type: 0,
                source: 1,
                priority: 3,
                requested_dw: 129,
                allocated_dw: 70,
                bt: None,
            }),
        };
        let answer = lldp_pdu(
            &switch,
            (LldpPortIdSubtype::INTERFACE_NAME, b"Gi1/0/3"),
            vec![
                LldpTlv::MedCapabilities {
                    capabilities: MedCapabilities(MedCapabilities::CAPABILITIES.0),
                    class: MedDeviceClass::NETWORK_CONNECTIVITY,
                },
                LldpTlv::MdiPower(mdi),
                LldpTlv::MedNetworkPolicy(MedPolicy {
                    app: MedAppType::VOICE,
                    unknown: false,
                    tagged: true,
                    vlan: 200,
                    priority: 5,
                    dscp: 46,
                }),
            ],
        );
        heard_lldp(&mut d, &mut sh, (2, switch), &answer);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(
            poe_of(&sh, &key),
            [
                (false, DiscoveryProto::Lldp, 12_900),
                (true, DiscoveryProto::Lldp, 7_000)
            ]
        );
        assert_eq!(
            sh.devices.get(&key).unwrap().boot.port.voice_vlans,
            [None, Some(200)]
        );
    }

    #[test]
    fn cdp_tells_a_phone_a_router_and_a_switch_apart() {
        let (mut sh, mut d) = (shared(), Discovery::default());
        let phone = cdp(
            "SIP001B54AA0001",
            CdpCapabilities::HOST.0 | CdpCapabilities::VOIP_PHONE.0,
            Some([10, 1, 1, 20]),
        );
        heard_cdp(&mut d, &mut sh, (1, PHONE), &phone);
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        assert_eq!((dev.kind, dev.weight), (DeviceKind::Phone, Weight::Sure));
        // Its name as it gives it, not SEP<MAC>; its address in the Management
        // Address TLV: a running phone's announcement.
        assert_eq!(
            (dev.name.as_deref(), dev.name_source),
            (Some("SIP001B54AA0001"), Some(NameSource::Cdp))
        );
        assert!(dev.boot.announced_address && dev.boot.furthest.is_none());
        let router = cdp("wan-rtr1", CdpCapabilities::ROUTER.0, None);
        heard_cdp(&mut d, &mut sh, (2, SERVER), &router);
        let dev = sh.devices.get(&DeviceKey::Mac(SERVER)).unwrap();
        assert_eq!(
            (dev.kind, dev.name.as_deref()),
            (DeviceKind::Router, Some("wan-rtr1"))
        );
        assert!(types(&sh, &DeviceKey::Mac(SERVER)).is_empty());
        // A layer 3 switch (router and switch) is the switch: no device.
        let l3 = MacAddr([0, 0x1e, 0x4a, 0, 0, 3]);
        let switch = cdp(
            "core-sw1",
            CdpCapabilities::ROUTER.0 | CdpCapabilities::SWITCH.0,
            None,
        );
        heard_cdp(&mut d, &mut sh, (3, l3), &switch);
        assert!(!sh.devices.contains(&DeviceKey::Mac(l3)));
    }

    #[test]
    fn a_chassis_id_that_is_the_address_is_a_running_phones_announcement() {
        // An LLDP-MED phone that sends no Management Address TLV, its address as a
        // network-address Chassis ID (IANA family 1); 0.0.0.0 while it has none.
        for (chassis, running) in [([1u8, 10, 1, 1, 20], true), ([1, 0, 0, 0, 0], false)] {
            let pdu = LldpPdu {
                tlvs: vec![
                    LldpTlv::ChassisId {
                        subtype: LldpChassisIdSubtype::NETWORK_ADDRESS,
                        id: &chassis,
                    },
                    LldpTlv::PortId {
                        subtype: LldpPortIdSubtype::MAC_ADDRESS,
                        id: &PHONE.0,
                    },
                    LldpTlv::Ttl(180),
                    LldpTlv::MedCapabilities {
                        capabilities: MedCapabilities(MedCapabilities::CAPABILITIES.0),
                        class: MedDeviceClass::ENDPOINT_CLASS_3,
                    },
                ],
                truncated: false,
            }
            .to_vec()
            .unwrap();
            let (mut sh, mut d) = (shared(), Discovery::default());
            heard_lldp(&mut d, &mut sh, (1, PHONE), &pdu);
            let boot = &sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap().boot;
            assert_eq!(boot.is_running(), running, "{chassis:?}");
            assert_eq!(boot.furthest.is_some(), !running, "{chassis:?}");
        }
    }

    #[test]
    fn lldp_med_classes_tell_a_phone_a_pc_and_an_endpoint_asking_for_voice() {
        let tel = LldpCapabilities::TELEPHONE.0;
        let station = LldpCapabilities::STATION_ONLY.0;
        for (class, caps, policy, want) in [
            (
                MedDeviceClass::ENDPOINT_CLASS_3,
                station,
                false,
                Some((DeviceKind::Phone, Weight::Sure)),
            ),
            (
                MedDeviceClass::ENDPOINT_CLASS_1,
                tel,
                false,
                Some((DeviceKind::Phone, Weight::Sure)),
            ),
            (
                MedDeviceClass::ENDPOINT_CLASS_1,
                station,
                false,
                Some((DeviceKind::Pc, Weight::Sure)),
            ),
            (
                MedDeviceClass::ENDPOINT_CLASS_2,
                station,
                false,
                Some((DeviceKind::Pc, Weight::Sure)),
            ),
            (
                MedDeviceClass::ENDPOINT_CLASS_2,
                station,
                true,
                Some((DeviceKind::Phone, Weight::Hint)),
            ),
            (MedDeviceClass::NETWORK_CONNECTIVITY, tel, true, None),
        ] {
            let (mut sh, mut d) = (shared(), Discovery::default());
            let pdu = lldp(class, caps, policy);
            heard_lldp(&mut d, &mut sh, (1, PHONE), &pdu);
            let got = sh
                .devices
                .get(&DeviceKey::Mac(PHONE))
                .map(|d| (d.kind, d.weight));
            assert_eq!(got, want, "{class:?} {caps:#x} {policy}");
            let announced = types(&sh, &DeviceKey::Mac(PHONE)) == [EventType::PhoneAnnounce];
            assert_eq!(announced, want.is_some_and(|w| w.0 == DeviceKind::Phone));
        }
    }

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
        assert_eq!(
            a.answer(switch, None, true, |_| false),
            Some(announce(1, 0).mac)
        );
        assert_eq!(
            a.answer(switch, None, true, |_| false),
            Some(announce(2, 0).mac)
        );
        assert_eq!(a.answer(switch, None, true, |_| false), None);
        // LLDP answers apart from CDP.
        assert_eq!(
            a.answer(switch, None, false, |_| false),
            Some(announce(1, 0).mac)
        );
    }

    #[test]
    fn a_port_that_authenticated_a_phone_answers_that_phone_first() {
        let mut a = Announces::default();
        for i in 1..=3 {
            a.push(announce(i, 0));
        }
        let port = MacAddr([0xaa, 0, 0, 0, 0, 9]);
        let third = announce(3, 0).mac;
        assert_eq!(a.answer(port, Some(third), true, |_| false), Some(third));
        // Answered already: the port's next CDP goes by time, as any other's.
        assert_eq!(
            a.answer(port, Some(third), true, |_| false),
            Some(announce(1, 0).mac)
        );
        assert_eq!(
            a.answer(port, None, true, |_| false),
            Some(announce(2, 0).mac)
        );
        assert_eq!(a.answer(port, None, true, |_| false), None);
        // LLDP from the same port finds its phone too.
        assert_eq!(a.answer(port, Some(third), false, |_| false), Some(third));
    }

    #[test]
    fn a_switch_mac_of_no_known_port_answers_a_phone_doing_no_802_1x_first() {
        let mut a = Announces::default();
        a.push(announce(1, 0));
        a.push(announce(2, 0));
        let supplicant = announce(1, 0).mac;
        let doing_8021x = |m: MacAddr| m == supplicant;
        let switch = MacAddr([0xaa; 6]);
        assert_eq!(
            a.answer(switch, None, true, doing_8021x),
            Some(announce(2, 0).mac)
        );
        // With nobody else waiting, the supplicant is answered all the same.
        assert_eq!(a.answer(switch, None, true, doing_8021x), Some(supplicant));
    }

    #[test]
    fn a_switch_never_answers_itself_and_old_announcements_expire() {
        let mut a = Announces::default();
        let phone = announce(1, 0);
        a.push(phone);
        assert_eq!(a.answer(phone.mac, None, true, |_| false), None);
        assert!(a.recent(phone.mac, 1_000_000_000, SAME_BOOT_NS));
        a.expire(SWITCH_ANSWER_NS + 1, SWITCH_ANSWER_NS);
        assert_eq!(a.answer(MacAddr([0xaa; 6]), None, true, |_| false), None);
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
        fn naive_answer(
            q: &mut [Announce],
            switch: MacAddr,
            on_port: Option<MacAddr>,
            cdp: bool,
        ) -> Option<MacAddr> {
            let open = |a: &Announce| {
                a.mac != switch
                    && if cdp {
                        !a.cdp_answered
                    } else {
                        !a.lldp_answered
                    }
            };
            let own = q.iter().position(|a| open(a) && Some(a.mac) == on_port);
            let i = own.or_else(|| q.iter().position(open))?;
            let a = &mut q[i];
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
                    let on_port = (next(2) == 0).then(|| MacAddr([0, 0, 0, 0, 0, next(6) as u8]));
                    let expected = naive_answer(naive.make_contiguous(), switch, on_port, cdp);
                    assert_eq!(fast.answer(switch, on_port, cdp, |_| false), expected);
                }
            }
            assert_eq!(fast.queue.len(), naive.len());
        }
    }
}
