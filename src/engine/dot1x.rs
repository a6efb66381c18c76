//! 802.1X port authentication (EAPOL, with the EAP the switch relays for the RADIUS
//! server). The supplicant is the device on the port (a phone, or the PC behind it);
//! the authenticator is the switch port. A supplicant sends EAPOL-Start, EAP Responses
//! and EAPOL-Logoff; the authenticator sends EAP Requests, Success and Failure, to the
//! supplicant's MAC or to the PAE group address (01:80:c2:00:00:03) while it knows no
//! supplicant yet.
//!
//! A message to the group address from an authenticator is for the device that spoke
//! to the group address just before (a PC behind the phone answers so on a
//! multi-domain port), unless another port holds it; else for the supplicant last
//! heard on that port: the one that sent EAPOL to it, or the phone whose CDP / LLDP the
//! same switch MAC answered ([`Dot1x::port_of`]). Identity requests nobody is known for yet wait
//! (a few per port) for that phone: a phone that does no 802.1X leaves them
//! unanswered until the switch falls back to MAB.
//!
//! A Cisco phone's identity is `CP-<model>-SEP<MAC>`: a sure sign of a phone, and its
//! name. Any other identity (`user@realm`) says nothing of the device: a PC doing
//! 802.1X stays what its other signs make it.

use parsers::eapol::{EapBody, EapCode, EapData, EapType, EapolPdu, EapolType};

use super::device::{Clue, DeviceKey, DeviceKind, NameSource};
use super::shared::{Ctx, Shared};
use super::text::lossy;
use crate::attribution::mac_in_name;
use crate::link::MacAddr;
use crate::timeline::EventKind;
use crate::FastMap;
use rules::Windows;

/// Ports (authenticator MACs) followed at most, and the requests kept per port
/// waiting for their supplicant.
const MAX_PORTS: usize = 4096;
const MAX_PENDING: usize = 8;

const IDENTITY_PHONE: Clue = Clue::sure(DeviceKind::Phone, "802.1X identity CP-<model>-SEP<MAC>");
const SUPPLICANT: Clue = Clue::default(DeviceKind::Pc, "802.1X supplicant");

/// The 802.1X state: who is on each port.
#[derive(Debug, Default)]
pub struct Dot1x {
    /// Per authenticator: the supplicant last heard on its port.
    ports: FastMap<MacAddr, MacAddr>,
    /// Per authenticator: Identity requests to the group address before any
    /// supplicant was known (frame, time).
    pending: FastMap<MacAddr, Vec<(u64, i64)>>,
    /// The last supplicant that spoke to the group address, and when.
    last_group: Option<(MacAddr, i64)>,
}

/// What a message is, seen from the port.
enum Said {
    /// From the supplicant (`src`), with the event it makes (if any).
    Supplicant(Option<EventKind>, Option<Box<str>>),
    /// From the authenticator (`src`), with the event it makes (if any).
    Authenticator(Option<EventKind>),
    /// Neither side's concern (EAPOL-Key, announcements).
    Nothing,
}

impl Dot1x {
    /// The most heap its tables take.
    pub fn max_heap_bytes() -> usize {
        use std::mem::size_of;
        let table = |n: usize, entry: usize| (n * 8 / 7).next_power_of_two() * (entry + 1);
        table(MAX_PORTS, size_of::<(MacAddr, MacAddr)>())
            + table(MAX_PORTS, size_of::<(MacAddr, Vec<(u64, i64)>)>())
            + MAX_PORTS * MAX_PENDING * size_of::<(u64, i64)>()
    }

    /// One EAPOL PDU.
    pub fn message(&mut self, sh: &mut Shared<'_>, ctx: Ctx, p: &EapolPdu<'_>) {
        let Some(src) = ctx.src_mac else { return };
        let group = ctx.dst_mac.is_none_or(is_group);
        match said(p) {
            Said::Nothing => {}
            Said::Supplicant(kind, identity) => {
                if let Some(auth) = ctx.dst_mac.filter(|d| !is_group(*d)) {
                    self.bind(sh, ctx, auth, src);
                } else {
                    self.last_group = Some((src, ctx.ts_ns));
                    // The pending requests of the port it answers, if only one waits.
                    let only = (self.pending.len() == 1)
                        .then(|| self.pending.keys().next().copied())
                        .flatten();
                    if let Some(auth) = only {
                        self.bind(sh, ctx, auth, src);
                    }
                }
                // A TLS fragment, a Notification answered: nothing of the boot's.
                let Some(kind) = kind else { return };
                let clue = match identity.as_deref().map(|i| phone_identity(i, src)) {
                    Some(Some(_)) => IDENTITY_PHONE,
                    _ => SUPPLICANT,
                };
                let key = DeviceKey::Mac(src);
                let Some(dev) = sh.device(&key, clue, ctx) else {
                    return;
                };
                if let Some(name) = identity.as_deref().and_then(|i| phone_identity(i, src)) {
                    dev.set_name(name.to_owned(), NameSource::Dot1xIdentity);
                }
                sh.emit(&key, ctx, kind, false);
            }
            Said::Authenticator(kind) => {
                let window = Windows::ns(sh.rules.windows.switch_answer_ms);
                let supplicant = if group {
                    // The device that just spoke to the group address (a PC behind the
                    // phone, on a multi-domain port), unless another port holds it; else
                    // the port's own.
                    let recent = self
                        .last_group
                        .filter(|&(mac, at)| ctx.ts_ns - at <= window && mac != src)
                        .map(|(mac, _)| mac)
                        .filter(|&mac| !self.ports.iter().any(|(a, s)| *s == mac && *a != src));
                    recent.or_else(|| self.ports.get(&src).copied())
                } else {
                    ctx.dst_mac
                };
                let Some(kind) = kind else { return };
                // A method is said once per exchange: every TLS fragment is a Request.
                let said_before = |sh: &Shared<'_>, mac: MacAddr| match kind {
                    EventKind::EapMethod { method, .. } => sh
                        .devices
                        .get(&DeviceKey::Mac(mac))
                        .and_then(|d| d.boot.port.auth.as_ref())
                        .is_some_and(|a| a.method == Some(method)),
                    _ => false,
                };
                if supplicant.is_some_and(|mac| said_before(sh, mac)) {
                    return;
                }
                match supplicant {
                    Some(mac) => {
                        // The port speaks to its supplicant, to the group address or
                        // to its MAC.
                        if group || self.ports.get(&src) != Some(&mac) {
                            self.bind(sh, ctx, src, mac);
                        }
                        let key = DeviceKey::Mac(mac);
                        if sh.device(&key, SUPPLICANT, ctx).is_some() {
                            sh.emit(&key, ctx, kind, false);
                        }
                    }
                    None if matches!(kind, EventKind::EapIdentityRequest) => {
                        if self.pending.len() < MAX_PORTS || self.pending.contains_key(&src) {
                            let list = self.pending.entry(src).or_default();
                            if list.len() < MAX_PENDING {
                                list.push((ctx.frame, ctx.ts_ns));
                            }
                        } else {
                            sh.transactions_evicted += 1;
                        }
                    }
                    None => sh.unattributed += 1,
                }
            }
        }
    }

    /// The supplicant last heard on the port that sends from `auth`, if it is one.
    pub fn supplicant_on(&self, auth: MacAddr) -> Option<MacAddr> {
        self.ports.get(&auth).copied()
    }

    /// The switch `switch` answered the discovery of `phone`: it is the phone's port.
    /// Identity requests of that switch MAC waiting for a supplicant are the phone's.
    pub fn port_of(&mut self, sh: &mut Shared<'_>, ctx: Ctx, switch: MacAddr, phone: MacAddr) {
        if !self.ports.contains_key(&switch) && !self.pending.contains_key(&switch) {
            return;
        }
        self.bind(sh, ctx, switch, phone);
    }

    /// `supplicant` is on the port of `auth`: remembered, and the port's waiting
    /// requests given to it.
    fn bind(&mut self, sh: &mut Shared<'_>, ctx: Ctx, auth: MacAddr, supplicant: MacAddr) {
        if self.ports.len() < MAX_PORTS || self.ports.contains_key(&auth) {
            self.ports.insert(auth, supplicant);
        } else {
            sh.transactions_evicted += 1;
        }
        let Some(waiting) = self.pending.remove(&auth) else {
            return;
        };
        let key = DeviceKey::Mac(supplicant);
        if sh.device(&key, SUPPLICANT, ctx).is_none() {
            return;
        }
        for (frame, ts_ns) in waiting {
            let at = Ctx {
                frame,
                ts_ns,
                ..ctx
            };
            sh.emit(&key, at, EventKind::EapIdentityRequest, false);
        }
    }
}

/// Whether a MAC is a group (multicast) address: the PAE group address, or another.
fn is_group(mac: MacAddr) -> bool {
    mac.0[0] & 1 == 1
}

/// The name in a Cisco phone's identity, `CP-<model>-SEP<MAC>`, when its MAC is the
/// sender's.
fn phone_identity(identity: &str, src: MacAddr) -> Option<&str> {
    let starts = identity
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("CP-"));
    let name = identity.rsplit('-').next()?;
    (starts && mac_in_name(name) == Some(src)).then_some(name)
}

/// Who sent a PDU and the event it makes.
fn said(p: &EapolPdu<'_>) -> Said {
    let Some(eap) = p.eap() else {
        return match p.packet_type {
            EapolType::START => Said::Supplicant(Some(EventKind::EapolStart), None),
            EapolType::LOGOFF => Said::Supplicant(Some(EventKind::EapolLogoff), None),
            // EAPOL-Key (a Wi-Fi handshake, MACsec) and the rest: either side's, of no
            // consequence to the boot.
            _ => Said::Nothing,
        };
    };
    let typed = match &eap.body {
        EapBody::Typed(m) => Some(m),
        EapBody::Raw(_) => None,
    };
    match eap.code {
        EapCode::REQUEST => Said::Authenticator(typed.and_then(|m| match m.eap_type {
            EapType::IDENTITY => Some(EventKind::EapIdentityRequest),
            EapType::NOTIFICATION | EapType::NAK => None,
            t => Some(EventKind::EapMethod {
                method: t.0,
                from_phone: false,
            }),
        })),
        EapCode::RESPONSE => match typed {
            Some(m) => match m.data {
                EapData::Identity(id) => {
                    let identity: Box<str> = lossy(id).into();
                    Said::Supplicant(
                        Some(EventKind::EapIdentity {
                            identity: identity.clone(),
                        }),
                        Some(identity),
                    )
                }
                EapData::Other(data) if m.eap_type == EapType::NAK => Said::Supplicant(
                    data.first().map(|&method| EventKind::EapMethod {
                        method,
                        from_phone: true,
                    }),
                    None,
                ),
                _ => Said::Supplicant(None, None),
            },
            None => Said::Supplicant(None, None),
        },
        EapCode::SUCCESS => Said::Authenticator(Some(EventKind::EapSuccess)),
        EapCode::FAILURE => Said::Authenticator(Some(EventKind::EapFailure)),
        _ => Said::Authenticator(None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::shared::harness::*;
    use super::*;
    use crate::timeline::EventType;
    use parsers::eapol::{EapMessage, EapPacket, EapolBody};

    const SWITCH: MacAddr = MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0x01]);
    const PAE: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);
    const PC: MacAddr = MacAddr([0x00, 0x50, 0x56, 0x01, 0x02, 0x03]);

    fn l2(secs: i64, src: MacAddr, dst: MacAddr) -> Ctx {
        Ctx {
            ts_ns: secs * 1_000_000_000,
            frame: u64::try_from(secs).unwrap(),
            src_mac: Some(src),
            dst_mac: Some(dst),
            vlan: None,
            flow: None,
            cut: false,
        }
    }

    fn eap(code: EapCode, body: EapBody<'_>) -> Vec<u8> {
        EapolPdu {
            version: 3,
            packet_type: EapolType::EAP_PACKET,
            body: EapolBody::Eap(EapPacket {
                code,
                identifier: 1,
                body,
            }),
        }
        .to_vec()
        .unwrap()
    }

    fn typed<'a>(t: EapType, data: EapData<'a>) -> EapBody<'a> {
        EapBody::Typed(EapMessage { eap_type: t, data })
    }

    fn feed(d: &mut Dot1x, sh: &mut Shared<'_>, ctx: Ctx, bytes: &[u8]) {
        let p = parsers::eapol::parse(bytes).unwrap();
        d.message(sh, ctx, &p);
    }

    #[test]
    fn a_phone_authenticates_and_is_named_by_its_identity() {
        let mut sh = shared();
        let mut d = Dot1x::default();
        let start = EapolPdu {
            version: 3,
            packet_type: EapolType::START,
            body: EapolBody::Raw(&[]),
        }
        .to_vec()
        .unwrap();
        feed(&mut d, &mut sh, l2(1, PHONE, PAE), &start);
        let req = eap(
            EapCode::REQUEST,
            typed(EapType::IDENTITY, EapData::Identity(b"")),
        );
        feed(&mut d, &mut sh, l2(2, SWITCH, PAE), &req);
        let resp = eap(
            EapCode::RESPONSE,
            typed(
                EapType::IDENTITY,
                EapData::Identity(b"CP-7970-SEP001B54AA0001"),
            ),
        );
        feed(&mut d, &mut sh, l2(3, PHONE, PAE), &resp);
        let tls = eap(
            EapCode::REQUEST,
            typed(
                EapType::TLS,
                EapData::Tls(parsers::eapol::EapTls {
                    flags: parsers::eapol::TlsFlags(0x20),
                    message_length: None,
                    data: &[],
                }),
            ),
        );
        feed(&mut d, &mut sh, l2(4, SWITCH, PHONE), &tls);
        feed(
            &mut d,
            &mut sh,
            l2(5, SWITCH, PHONE),
            &eap(EapCode::SUCCESS, EapBody::Raw(&[])),
        );
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(
            types(&sh, &key),
            [
                EventType::EapolStart,
                EventType::EapIdentityRequest,
                EventType::EapIdentity,
                EventType::EapMethod,
                EventType::EapSuccess
            ]
        );
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.kind, DeviceKind::Phone);
        assert_eq!(dev.name.as_deref(), Some("SEP001B54AA0001"));
        let auth = dev.boot.port.auth.as_deref().unwrap();
        assert_eq!(auth.method, Some(13));
        assert_eq!(auth.outcome.map(|o| o.0), Some(true));
        assert!(!auth.unauthorised());
    }

    #[test]
    fn a_pc_with_its_own_identity_stays_a_pc_and_is_never_judged() {
        let mut sh = shared();
        let mut d = Dot1x::default();
        let resp = eap(
            EapCode::RESPONSE,
            typed(EapType::IDENTITY, EapData::Identity(b"alice@corp.example")),
        );
        feed(&mut d, &mut sh, l2(1, PC, SWITCH), &resp);
        feed(
            &mut d,
            &mut sh,
            l2(2, SWITCH, PC),
            &eap(EapCode::FAILURE, EapBody::Raw(&[])),
        );
        let dev = sh.devices.get(&DeviceKey::Mac(PC)).unwrap();
        assert_eq!(dev.kind, DeviceKind::Pc);
        assert!(!dev.kind.is_judged());
        assert!(dev.boot.port.auth.as_deref().unwrap().unauthorised());
        // An identity naming another MAC than the sender's is no phone's either.
        assert_eq!(phone_identity("CP-7970-SEP001B54AA0001", PC), None);
        assert_eq!(
            phone_identity("cp-8851-SEP001B54AA0001", PHONE),
            Some("SEP001B54AA0001")
        );
    }

    #[test]
    fn a_failure_to_the_group_address_is_the_pc_behind_the_phones_not_the_phones() {
        let mut sh = shared();
        let mut d = Dot1x::default();
        let phone_id = eap(
            EapCode::RESPONSE,
            typed(
                EapType::IDENTITY,
                EapData::Identity(b"CP-8851-SEP001B54AA0001"),
            ),
        );
        feed(&mut d, &mut sh, l2(1, PHONE, SWITCH), &phone_id);
        feed(
            &mut d,
            &mut sh,
            l2(2, SWITCH, PHONE),
            &eap(EapCode::SUCCESS, EapBody::Raw(&[])),
        );
        // Later, the PC behind the phone answers to the group address and is refused
        // there.
        let pc_id = eap(
            EapCode::RESPONSE,
            typed(EapType::IDENTITY, EapData::Identity(b"alice@corp.example")),
        );
        feed(&mut d, &mut sh, l2(40, PC, PAE), &pc_id);
        feed(
            &mut d,
            &mut sh,
            l2(41, SWITCH, PAE),
            &eap(EapCode::FAILURE, EapBody::Raw(&[])),
        );
        let phone = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        let auth = phone.boot.port.auth.as_deref().unwrap();
        assert_eq!(auth.outcome.map(|o| o.0), Some(true));
        let pc = sh.devices.get(&DeviceKey::Mac(PC)).unwrap();
        assert_eq!(pc.kind, DeviceKind::Pc);
        assert_eq!(
            types(&sh, &DeviceKey::Mac(PC)).last(),
            Some(&EventType::EapFailure)
        );
    }

    #[test]
    fn a_wifi_key_handshake_makes_no_device() {
        let mut sh = shared();
        let mut d = Dot1x::default();
        let key = EapolPdu {
            version: 2,
            packet_type: EapolType::KEY,
            body: EapolBody::Raw(&[2, 0, 0x8a, 0, 16]),
        }
        .to_vec()
        .unwrap();
        feed(&mut d, &mut sh, l2(1, SWITCH, PHONE), &key);
        feed(&mut d, &mut sh, l2(2, PHONE, SWITCH), &key);
        assert_eq!(sh.devices.iter().count(), 0);
        assert!(d.ports.is_empty());
    }

    #[test]
    fn the_tables_stay_within_their_bounds() {
        let mut sh = shared();
        let mut d = Dot1x::default();
        let req = eap(
            EapCode::REQUEST,
            typed(EapType::IDENTITY, EapData::Identity(b"")),
        );
        for i in 0..(MAX_PORTS as u32 + 100) {
            let b = i.to_be_bytes();
            let auth = MacAddr([0x02, 0, b[0], b[1], b[2], b[3]]);
            for k in 0..(MAX_PENDING as i64 + 3) {
                feed(&mut d, &mut sh, l2(k, auth, PAE), &req);
            }
        }
        assert_eq!(d.pending.len(), MAX_PORTS);
        assert!(d.pending.values().all(|v| v.len() <= MAX_PENDING));
        assert!(sh.transactions_evicted >= 100);
        assert_eq!(sh.devices.iter().count(), 0);
    }

    #[test]
    fn identity_requests_nobody_answers_wait_for_the_phone_the_switch_answered() {
        let mut sh = shared();
        let mut d = Dot1x::default();
        let req = eap(
            EapCode::REQUEST,
            typed(EapType::IDENTITY, EapData::Identity(b"")),
        );
        for s in [1, 31, 61] {
            feed(&mut d, &mut sh, l2(s, SWITCH, PAE), &req);
        }
        assert!(sh.devices.get(&DeviceKey::Mac(PHONE)).is_none());
        sh.device(&DeviceKey::Mac(PHONE), TEST_PHONE, l2(2, PHONE, PAE));
        d.port_of(&mut sh, l2(62, SWITCH, PHONE), SWITCH, PHONE);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(types(&sh, &key), [EventType::EapIdentityRequest; 3]);
        // Later ones go to the phone at once.
        feed(&mut d, &mut sh, l2(91, SWITCH, PAE), &req);
        assert_eq!(types(&sh, &key).len(), 4);
        let auth = sh
            .devices
            .get(&key)
            .unwrap()
            .boot
            .port
            .auth
            .as_deref()
            .unwrap();
        assert_eq!(auth.identity_requests, 4);
        assert!(!auth.phone_spoke);
        assert!(auth.unauthorised());
    }

    #[test]
    fn a_port_speaking_to_a_mac_is_that_devices_port() {
        let mut sh = shared();
        let mut d = Dot1x::default();
        let req = eap(
            EapCode::REQUEST,
            typed(EapType::IDENTITY, EapData::Identity(b"")),
        );
        assert_eq!(d.supplicant_on(SWITCH), None);
        feed(&mut d, &mut sh, l2(1, SWITCH, PHONE), &req);
        // Known before the phone answers: its switch's CDP from that MAC is its own.
        assert_eq!(d.supplicant_on(SWITCH), Some(PHONE));
    }
}
