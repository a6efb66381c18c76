//! SCCP (Skinny) between a phone and its call manager: RegisterReq names the device
//! (a `SEP<MAC>` name binds the phone's endpoint to its MAC; any other name is a
//! device known by that name, a gateway port or a media resource), RegisterAck /
//! RegisterReject answer it, KeepAliveAck keeps it registered (a device keeping a
//! session alive was registered before the capture began), alarms carry its words.

use parsers::sccp;

use super::cm;
use super::device::{DeviceKey, DeviceKind};
use super::shared::{Ctx, Shared};
use super::text::lossy;
use crate::attribution::mac_in_name;
use crate::timeline::{EventKind, Signalling};

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
            let key = match mac_in_name(&name) {
                Some(mac) => {
                    sh.attribution.bind_endpoint(phone, mac);
                    DeviceKey::Mac(mac)
                }
                None => {
                    let key: Box<str> = name.into();
                    sh.name_endpoint(phone, key.clone());
                    DeviceKey::Name(key)
                }
            };
            let kind = match key {
                DeviceKey::Mac(_) => DeviceKind::Phone,
                DeviceKey::Name(_) => DeviceKind::SccpDevice,
            };
            let Some(dev) = sh.device(&key, kind, "SCCP RegisterReq", ctx) else {
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
        sccp::SccpBody::RegisterAck(_)
        | sccp::SccpBody::RegisterReject { .. }
        | sccp::SccpBody::KeepAliveAck => {
            let key = match sh.owner_of(phone, phone_l2) {
                Some(k) => Some(k),
                // A device keeping a session with a call manager alive was
                // registered before the capture started.
                None if m.body == sccp::SccpBody::KeepAliveAck => {
                    sh.attribution.plausible_l2(phone_l2).and_then(|mac| {
                        let key = DeviceKey::Mac(mac);
                        sh.device(
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
                _ => EventKind::KeepaliveAck { cm },
            };
            sh.emit(&key, ctx, ev, false);
        }
        _ => {}
    }
}
