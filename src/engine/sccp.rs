//! SCCP (Skinny) between a phone and its call manager: RegisterReq names the device
//! (a `SEP<MAC>` name binds the phone's endpoint to its MAC; any other name is a device
//! known by that name: a media resource by its device type (`phones.json`), else a
//! gateway port), RegisterAck / RegisterReject answer it, keepalives keep it registered
//! (a device keeping a session alive was registered before the capture began: a phone,
//! unless its address is that of a device that is none), UnregisterAck ends the
//! registration, alarms carry its words.
//!
//! Once registered, the phone is followed: its keepalives are counted on the
//! registration's state (no event: one every 30 s on every phone), one left unanswered
//! when the next goes is a miss, and the registration is lost when as many go unanswered
//! in a row as make a phone give its call manager up (three, in Cisco's accounts of SCCP
//! failover; `keepalive_misses`), or when its connection is reset or closed (`cm` says so).
//! A miss needs the call manager's side in the capture; a keepalive whose answer could
//! still come when the capture ends is none.

use std::net::IpAddr;

use parsers::sccp;

use super::cm;
use super::device::{Clue, DeviceKey, DeviceKind, NameSource};
use super::shared::{Ctx, Shared};
use super::text::lossy;
use crate::attribution::mac_in_name;
use crate::link::MacAddr;
use crate::timeline::{EventKind, LossCause, Signalling};

const REGISTER_REQ: Clue = Clue::sure(DeviceKind::Phone, "SCCP RegisterReq");
const MEDIA_RESOURCE: Clue = Clue::sure(
    DeviceKind::MediaResource,
    "SCCP RegisterReq of a media resource device type",
);
const GATEWAY_PORT: Clue = Clue::default(DeviceKind::SccpDevice, "SCCP RegisterReq");
/// What sends keepalives from the address of a media resource.
const MEDIA_HOST: Clue = Clue::sure(
    DeviceKind::MediaResource,
    "SCCP from the address of a media resource",
);
/// What sends keepalives from the address of an SCCP gateway port.
const GATEWAY_HOST: Clue = Clue::sure(
    DeviceKind::VoiceGateway,
    "SCCP from the address of a gateway's ports",
);
const KEEPALIVES: Clue = Clue::hint(DeviceKind::Phone, "SCCP keepalives with a call manager");

/// One SCCP message.
pub fn message(sh: &mut Shared<'_>, ctx: Ctx, m: &sccp::SccpMessage<'_>) {
    let Some(f) = ctx.flow else { return };
    let to_cm = cm::is_signalling_port(f.dport);
    let (phone, cm, phone_l2) = if to_cm {
        ((f.src, f.sport), f.dst, ctx.src_mac)
    } else {
        ((f.dst, f.dport), f.src, ctx.dst_mac)
    };
    if to_cm {
        sh.note_source(ctx);
    }
    match &m.body {
        sccp::SccpBody::RegisterReq(r) => {
            let name = lossy(r.device_name);
            let (key, clue) = match mac_in_name(&name) {
                Some(mac) => {
                    sh.attribution.bind_endpoint(phone, mac);
                    (DeviceKey::Mac(mac), REGISTER_REQ)
                }
                None => {
                    let key: Box<str> = name.clone().into();
                    sh.name_endpoint(phone, key.clone());
                    let media = sh.rules.phones.sccp_media_resource(r.device_type.0);
                    let (clue, host) = if media {
                        (MEDIA_RESOURCE, MEDIA_HOST)
                    } else {
                        (GATEWAY_PORT, GATEWAY_HOST)
                    };
                    let key = DeviceKey::Name(key);
                    sh.note_host(phone.0, phone_l2, &key, host);
                    (key, clue)
                }
            };
            let Some(dev) = sh.device(&key, clue, ctx) else {
                return;
            };
            dev.set_name(name, NameSource::Registration);
            if let (None, Some(t)) = (&dev.model, r.device_type.name()) {
                dev.set_model(t.into());
            }
            if dev.ip.is_none() || matches!(key, DeviceKey::Name(_)) {
                dev.ip = Some(phone.0);
            }
            // Registering again after keepalives went unanswered: the registration it
            // had is lost, though the capture shows no close of its connection.
            let misses = dev
                .boot
                .steady
                .as_deref()
                .filter(|s| dev.boot.registered && s.lost.is_none() && s.misses > 0)
                .map(|s| (s.misses, s.cm));
            if let Some((misses, had)) = misses {
                let cause = LossCause::KeepalivesUnanswered(misses);
                sh.lose_registration(&key, ctx, had, cause);
            }
            let ev = EventKind::Register {
                proto: Signalling::Sccp,
                cm,
                expires: None,
            };
            sh.emit(&key, ctx, ev, false);
        }
        sccp::SccpBody::Alarm(a) => {
            let key = a
                .device_name()
                .map(lossy)
                .as_deref()
                .and_then(mac_in_name)
                .map(DeviceKey::Mac)
                .filter(|k| sh.devices.contains(k))
                .or_else(|| sh.owner_of(phone, phone_l2));
            let Some(key) = key else {
                sh.unattributed += 1;
                return;
            };
            if let DeviceKey::Mac(mac) = key {
                sh.attribution.bind_endpoint(phone, mac);
            }
            let ev = EventKind::Alarm {
                text: lossy(a.text).into(),
            };
            sh.emit(&key, ctx, ev, false);
        }
        // Only a registered phone keeps its session alive: when the call manager's
        // answers are not in the capture, this is what tells of the registration.
        sccp::SccpBody::KeepAliveReq if to_cm => {
            let Some(key) = keepalive_owner(sh, phone, phone_l2, ctx) else {
                return;
            };
            // Once registered, a keepalive tells nothing more (every 30 s of a long
            // capture, on every phone): only the one that shows the registration counts.
            if !keepalive_sent(sh, &key, ctx, cm, phone.1) {
                let ev = EventKind::Keepalive {
                    proto: Signalling::Sccp,
                    cm,
                };
                sh.emit(&key, ctx, ev, false);
                keepalive_sent(sh, &key, ctx, cm, phone.1);
            }
        }
        // The call manager resets the phone: the close that follows is no loss.
        sccp::SccpBody::Reset { .. } if !to_cm => {
            if let Some(key) = sh.owner_of(phone, phone_l2) {
                let steady = sh
                    .devices
                    .get_mut(&key)
                    .and_then(|d| d.boot.steady.as_deref_mut());
                if let Some(s) = steady.filter(|s| s.cm == cm) {
                    s.reset_asked = true;
                }
            }
        }
        sccp::SccpBody::RegisterAck(_)
        | sccp::SccpBody::RegisterReject { .. }
        | sccp::SccpBody::KeepAliveAck
        | sccp::SccpBody::UnregisterAck { .. } => {
            let key = match m.body {
                sccp::SccpBody::KeepAliveAck => keepalive_owner(sh, phone, phone_l2, ctx),
                _ => sh.owner_of(phone, phone_l2),
            };
            let Some(key) = key else {
                sh.unattributed += 1;
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
                // Status 0 is Ok; an error or a NAK leaves the registration as it was.
                sccp::SccpBody::UnregisterAck { status: 0 } => EventKind::Unregistered {
                    proto: Signalling::Sccp,
                    cm,
                },
                sccp::SccpBody::UnregisterAck { .. } => return,
                _ => EventKind::KeepaliveAck { cm },
            };
            sh.emit(&key, ctx, ev, false);
            if let sccp::SccpBody::RegisterAck(ack) = &m.body {
                // The connection that holds the registration, and its keepalive period.
                let steady = sh
                    .devices
                    .get_mut(&key)
                    .and_then(|d| d.boot.steady.as_deref_mut());
                if let Some(s) = steady {
                    s.port = phone.1;
                    s.interval_ms = ack.keepalive.saturating_mul(1000);
                }
            }
        }
        _ => {}
    }
}

/// A registered phone's keepalive on the connection holding its registration: counted;
/// the one before it still unanswered (when the call manager's side is in the capture)
/// is a miss, and as many misses in a row as make the phone give up
/// (`keepalive_misses`) lose the registration. Only a miss or a loss is an event.
/// False when the phone is not registered: the keepalive is then an event of its boot.
fn keepalive_sent(sh: &mut Shared<'_>, key: &DeviceKey, ctx: Ctx, cm: IpAddr, port: u16) -> bool {
    let give_up = give_up_after(sh);
    let Some(dev) = sh.devices.get_mut(key) else {
        return true;
    };
    // After a loss, a keepalive on another connection (or to another call manager)
    // shows the phone registered again, its RegisterAck unseen: not yet registered.
    let steady = dev.boot.steady.as_deref_mut();
    let moved_on = |s: &super::device::Steady| s.lost.is_some() && (s.cm != cm || s.port != port);
    if !dev.boot.registered || steady.as_deref().is_some_and(moved_on) {
        return false;
    }
    let Some(s) = steady else {
        return true;
    };
    if s.lost.is_some() || s.cm != cm {
        return true;
    }
    if s.port == 0 {
        s.port = port;
    } else if s.port != port {
        // Another connection to the same call manager: not the one followed.
        return true;
    }
    s.keepalives = s.keepalives.saturating_add(1);
    let missed = (s.answers_seen && s.pending.is_some()).then_some(s.misses + 1);
    s.pending = Some(ctx.ts_ns);
    let Some(misses) = missed else {
        return true;
    };
    sh.emit(key, ctx, EventKind::KeepaliveMissed { cm, misses }, false);
    if misses >= give_up {
        sh.lose_registration(key, ctx, cm, LossCause::KeepalivesUnanswered(misses));
    }
    // The miss cleared the one pending: this keepalive waits for its answer.
    let steady = sh
        .devices
        .get_mut(key)
        .and_then(|d| d.boot.steady.as_deref_mut());
    if let Some(s) = steady.filter(|s| s.lost.is_none()) {
        s.pending = Some(ctx.ts_ns);
    }
    true
}

/// The keepalives in a row unanswered after which a phone gives its call manager up
/// (the model's `keepalive_misses`; three when the sequence has no model timing).
fn give_up_after(sh: &Shared<'_>) -> u32 {
    sh.rules
        .sequence
        .model_timing()
        .and_then(|m| u32::try_from(m.keepalive_misses).ok())
        .filter(|&n| n > 0)
        .unwrap_or(3)
}

/// The SCCP connection of `phone` with `cm` reset or closed (`by_cm`: the call manager's
/// segment): when it held the phone's registration, the registration is lost, for the
/// keepalives unanswered before (the one pending counts once its answer is overdue:
/// half a period), else for the close itself. Not after the call manager reset the
/// phone, nor once the phone unregistered.
pub fn connection_ended(
    sh: &mut Shared<'_>,
    ctx: Ctx,
    key: &DeviceKey,
    (cm, port): (IpAddr, u16),
    by_cm: bool,
    reset: bool,
) {
    let default_ms = sh
        .rules
        .sequence
        .model_timing()
        .map_or(30_000, |m| m.keepalive_sccp_ms);
    let Some(dev) = sh.devices.get(key) else {
        return;
    };
    let Some(s) = dev.boot.steady.as_deref() else {
        return;
    };
    let ours = s.cm == cm && (s.port == 0 || s.port == port);
    if !dev.boot.registered || s.lost.is_some() || !ours || s.reset_asked {
        return;
    }
    let period_ns = match s.interval_ms {
        0 => default_ms.saturating_mul(1_000_000),
        ms => i64::from(ms) * 1_000_000,
    };
    let overdue = s.answers_seen
        && s.pending
            .is_some_and(|t| ctx.ts_ns.saturating_sub(t) >= period_ns / 2);
    let misses = s.misses + u32::from(overdue);
    if overdue {
        sh.emit(key, ctx, EventKind::KeepaliveMissed { cm, misses }, false);
    }
    let cause = match (misses, reset) {
        (1.., _) => LossCause::KeepalivesUnanswered(misses),
        (0, true) => LossCause::Reset { by_cm },
        (0, false) => LossCause::Closed { by_cm },
    };
    sh.lose_registration(key, ctx, cm, cause);
}

/// The device keeping a session with a call manager alive: the endpoint's owner (one
/// keyed by its MAC taken for a phone, on a hint, if nothing weightier is known of it); the device
/// that is no phone at that address (a media resource's router keeps several sessions);
/// else one registered before the capture started, known by its frames' MAC, which is
/// then bound to the address.
fn keepalive_owner(
    sh: &mut Shared<'_>,
    phone: (IpAddr, u16),
    phone_l2: Option<MacAddr>,
    ctx: Ctx,
) -> Option<DeviceKey> {
    if let Some(k) = sh.owner_of(phone, phone_l2) {
        // A DHCP client keeping a session alive is a phone; a device known by its SCCP
        // name (a gateway port) stays what its registration said.
        if matches!(k, DeviceKey::Mac(_)) {
            sh.device(&k, KEEPALIVES, ctx);
        }
        return Some(k);
    }
    if let Some(k) = sh.host_of(phone.0) {
        return Some(k);
    }
    let mac = sh.attribution.plausible_l2(phone_l2)?;
    let key = DeviceKey::Mac(mac);
    sh.device(&key, KEEPALIVES, ctx)?;
    sh.attribution.bind_ip(phone.0, mac);
    Some(key)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::shared::harness::*;
    use super::*;
    use crate::model::encode;
    use crate::timeline::EventType;

    fn run(sh: &mut Shared<'_>, frame: u64, bytes: &[u8], up: bool) {
        let phone = (PHONE, ip(20), 51000);
        let cm = (SERVER, ip(10), 2000);
        let c = if up {
            ctx(frame, phone, cm)
        } else {
            ctx(frame, cm, phone)
        };
        message(sh, c, &sccp::parse(bytes).unwrap().0);
    }

    /// A phone registered: its RegisterReq (frame 1) and the RegisterAck (frame 2).
    fn registered() -> Shared<'static> {
        let mut sh = shared();
        register_at(&mut sh, 1);
        sh
    }

    /// The phone's RegisterReq in frame `frame`, acknowledged in the next.
    fn register_at(sh: &mut Shared<'_>, frame: u64) {
        let reg = encode::sccp_register(
            "SEP001B54AA0001",
            Ipv4Addr::new(10, 1, 1, 20),
            PHONE,
            "7970",
            "SCCP70.9-4-2SR3-1S",
        )
        .unwrap();
        run(sh, frame, &reg, true);
        run(sh, frame + 1, &encode::sccp_register_ack().unwrap(), false);
    }

    #[test]
    fn a_sep_register_and_its_ack_register_the_phone() {
        let mut sh = registered();
        run(&mut sh, 3, &encode::sccp_keepalive_ack().unwrap(), false);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(
            types(&sh, &key),
            [
                EventType::Register,
                EventType::RegisterAck,
                EventType::KeepaliveAck
            ]
        );
        assert_eq!(sh.devices.get(&key).unwrap().kind, DeviceKind::Phone);
    }

    #[test]
    fn another_name_is_a_device_known_by_it_and_owns_its_endpoint() {
        let mut sh = shared();
        let reg = encode::sccp_register("CFB0001", Ipv4Addr::new(10, 1, 1, 20), PHONE, "7970", "x")
            .unwrap();
        run(&mut sh, 1, &reg, true);
        run(
            &mut sh,
            2,
            &encode::sccp_register_reject("no such device").unwrap(),
            false,
        );
        let key = DeviceKey::Name("CFB0001".into());
        assert_eq!(sh.devices.get(&key).unwrap().kind, DeviceKind::SccpDevice);
        assert_eq!(
            types(&sh, &key),
            [EventType::Register, EventType::RegisterReject]
        );
    }

    /// A RegisterReq of a media resource (SoftwareMtpDixieLand, 0x53) from the
    /// phone's address, on another port.
    fn mtp_register() -> Vec<u8> {
        let body = sccp::SccpBody::RegisterReq(sccp::SccpRegisterReq {
            device_name: b"NONSECURE_MTP",
            reserved: 0,
            instance: 1,
            station_ip: Ipv4Addr::new(10, 1, 1, 20),
            device_type: sccp::SccpDeviceType::SOFTWARE_MTP_DIXIELAND,
            max_streams: 200,
            active_streams: Some(0),
            protocol_version: Some(18),
            unknown: Some(0),
            phone_features: Some(0),
            max_conferences: Some(0),
            active_conferences: None,
            mac: None,
            ipv4_scope: None,
            max_lines: None,
            station_ipv6: None,
            ipv6_scope: None,
            firmware: None,
            config_version_stamp: None,
        });
        sccp::SccpMessage::new(
            sccp::SccpHeaderVersion(0),
            sccp::SccpMessageId::REGISTER_REQ,
            body,
        )
        .to_vec()
        .unwrap()
    }

    #[test]
    fn a_media_resource_and_the_keepalives_of_its_router_make_no_phone() {
        let mut sh = shared();
        // Keepalives of a session open before the capture: a phone, on a hint.
        run(&mut sh, 1, &encode::sccp_keepalive_ack().unwrap(), false);
        let router = DeviceKey::Mac(PHONE);
        assert_eq!(sh.devices.get(&router).unwrap().kind, DeviceKind::Phone);
        // The same address registers a media resource on another port.
        let c = ctx(2, (PHONE, ip(20), 51002), (SERVER, ip(10), 2000));
        message(&mut sh, c, &sccp::parse(&mtp_register()).unwrap().0);
        let mtp = sh
            .devices
            .get(&DeviceKey::Name("NONSECURE_MTP".into()))
            .unwrap();
        assert_eq!(
            (mtp.kind, mtp.model.as_deref(), mtp.name_source),
            (
                DeviceKind::MediaResource,
                Some("SoftwareMtpDixieLand"),
                Some(NameSource::Registration)
            )
        );
        assert_eq!(
            sh.devices.get(&router).unwrap().kind,
            DeviceKind::MediaResource
        );
        // Keepalives from that address on a third port make no phone either.
        let mut sh2 = shared();
        message(&mut sh2, c, &sccp::parse(&mtp_register()).unwrap().0);
        let other = ctx(3, (SERVER, ip(10), 2000), (PHONE, ip(20), 51003));
        let ack = encode::sccp_keepalive_ack().unwrap();
        message(&mut sh2, other, &sccp::parse(&ack).unwrap().0);
        assert!(sh2.devices.iter().all(|d| d.kind != DeviceKind::Phone));
    }

    #[test]
    fn an_unregister_ack_ends_the_registration() {
        let mut sh = registered();
        let unreg = |status| {
            sccp::SccpMessage::new(
                sccp::SccpHeaderVersion(0),
                sccp::SccpMessageId::UNREGISTER_ACK,
                sccp::SccpBody::UnregisterAck { status },
            )
            .to_vec()
            .unwrap()
        };
        // A NAK leaves it registered; Ok ends it.
        run(&mut sh, 3, &unreg(2), false);
        assert!(
            sh.devices
                .get(&DeviceKey::Mac(PHONE))
                .unwrap()
                .boot
                .registered
        );
        run(&mut sh, 4, &unreg(0), false);
        let boot = &sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap().boot;
        assert!(!boot.registered);
        assert_eq!(boot.unregistered, Some(ip(10)));
    }

    #[test]
    fn keepalives_of_an_unknown_device_take_it_for_a_phone_registered_before() {
        let mut sh = shared();
        run(&mut sh, 1, &encode::sccp_keepalive_ack().unwrap(), false);
        let key = DeviceKey::Mac(PHONE);
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.kind, DeviceKind::Phone);
        assert!(dev.boot.registered && dev.boot.registered_before);
    }

    /// A FIN or reset on the phone's connection 51000 ↔ 2000 at `frame`.
    fn close(sh: &mut Shared<'_>, frame: u64, up: bool, kind: crate::dispatch::TcpControlKind) {
        use crate::reassembly::FlowKey;
        let (phone, cm) = ((ip(20), 51000), (ip(10), 2000));
        let ((src, src_port), (dst, dst_port)) = if up { (phone, cm) } else { (cm, phone) };
        let flow = FlowKey {
            src,
            dst,
            src_port,
            dst_port,
        };
        let c = if up {
            ctx(frame, (PHONE, ip(20), 51000), (SERVER, ip(10), 2000))
        } else {
            ctx(frame, (SERVER, ip(10), 2000), (PHONE, ip(20), 51000))
        };
        cm::tcp_control(sh, c, flow, kind);
    }

    fn steady<'a>(sh: &'a Shared<'_>) -> &'a crate::engine::device::Steady {
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        dev.boot.steady.as_deref().unwrap()
    }

    #[test]
    fn keepalives_unanswered_then_a_close_lose_the_registration_until_it_comes_back() {
        use crate::dispatch::TcpControlKind;
        let mut sh = registered();
        let (ka, ack) = (
            encode::sccp_keepalive().unwrap(),
            encode::sccp_keepalive_ack().unwrap(),
        );
        // One keepalive answered, then none: the phone sends three more 30 s apart and
        // closes its connection 30 s after the last (the third left unanswered).
        run(&mut sh, 30, &ka, true);
        run(&mut sh, 31, &ack, false);
        for t in [60, 90, 120] {
            run(&mut sh, t, &ka, true);
        }
        assert_eq!(steady(&sh).misses, 2);
        close(&mut sh, 150, true, TcpControlKind::Fin);
        close(&mut sh, 150, false, TcpControlKind::Fin);
        let key = DeviceKey::Mac(PHONE);
        let lost: Vec<_> = sh
            .devices
            .get(&key)
            .unwrap()
            .timeline
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::KeepaliveMissed { misses, .. } => Some((e.frame, misses, None)),
                EventKind::RegistrationLost { cause, .. } => Some((e.frame, 0, Some(cause))),
                _ => None,
            })
            .collect();
        assert_eq!(
            lost,
            [
                (90, 1, None),
                (120, 2, None),
                (150, 3, None),
                (150, 0, Some(LossCause::KeepalivesUnanswered(3)))
            ]
        );
        let s = steady(&sh);
        assert_eq!((s.keepalives, s.interval_ms, s.losses), (4, 30_000, 1));
        assert!(s.lost.is_some());
        // It registers again, saying why; the outage ends at the RegisterAck.
        let alarm = encode::sccp_alarm("SEP001B54AA0001", "SCCP70.9-4-2SR3-1S", "KeepaliveTO");
        run(&mut sh, 160, &alarm.unwrap(), true);
        register_at(&mut sh, 161);
        let s = steady(&sh);
        assert!(s.lost.is_none());
        assert_eq!(s.outage_total_ns, 12_000_000_000);
        assert_eq!(s.phone_says.as_deref(), Some("Last=KeepaliveTO"));
    }

    #[test]
    fn segments_the_phone_sends_again_are_counted_on_its_registration() {
        use crate::dispatch::TcpControlKind;
        let mut sh = registered();
        run(&mut sh, 30, &encode::sccp_keepalive().unwrap(), true);
        close(&mut sh, 31, true, TcpControlKind::Retransmission);
        close(&mut sh, 33, true, TcpControlKind::Retransmission);
        // The call manager's own resending is not the phone's.
        close(&mut sh, 34, false, TcpControlKind::Retransmission);
        assert_eq!(steady(&sh).resent, 2);
        assert!(steady(&sh).lost.is_none());
    }

    #[test]
    fn a_reset_by_the_call_manager_loses_the_registration_but_not_after_it_reset_the_phone() {
        use crate::dispatch::TcpControlKind;
        let mut sh = registered();
        close(&mut sh, 40, false, TcpControlKind::Rst);
        let s = steady(&sh);
        assert_eq!(s.lost.map(|l| l.1), Some(LossCause::Reset { by_cm: true }));
        // Asked to restart by its call manager, a phone closing its connection loses
        // nothing.
        let mut sh = registered();
        let reset = sccp::SccpMessage::new(
            sccp::SccpHeaderVersion(0),
            sccp::SccpMessageId::RESET,
            sccp::SccpBody::Reset {
                reset_type: sccp::SccpResetType(2),
            },
        )
        .to_vec()
        .unwrap();
        run(&mut sh, 40, &reset, false);
        close(&mut sh, 41, true, TcpControlKind::Fin);
        assert_eq!(steady(&sh).losses, 0);
    }

    #[test]
    fn without_the_call_manager_s_side_a_keepalive_is_never_a_miss() {
        // The phone's direction alone: keepalives, never an answer.
        let mut sh = shared();
        let ka = encode::sccp_keepalive().unwrap();
        for t in [30, 60, 90, 120, 150] {
            run(&mut sh, t, &ka, true);
        }
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(types(&sh, &key), [EventType::Keepalive]);
        let s = steady(&sh);
        assert_eq!((s.keepalives, s.misses_total, s.losses), (5, 0, 0));
    }
}
