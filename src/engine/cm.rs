//! Connections to the call manager's signalling ports (SCCP 2000 / 2443, SIP 5060 /
//! 5061): the phone's SYN, the call manager's SYN-ACK or reset, and an encrypted
//! session (its contents are not readable: that it exists is the event).

use super::shared::{Ctx, Shared};
use crate::dispatch::{self, TcpControlKind};
use crate::reassembly::FlowKey;
use crate::timeline::{EventKind, EventType};

/// Call-manager signalling ports: SCCP, SCCP over TLS, SIP, SIP over TLS.
const SIGNALLING_PORTS: [u16; 4] = [
    dispatch::SCCP,
    dispatch::SCCP_TLS,
    dispatch::SIP,
    dispatch::SIP_TLS,
];
/// Encrypted signalling ports.
const TLS_PORTS: [u16; 2] = [dispatch::SCCP_TLS, dispatch::SIP_TLS];

/// Whether `port` is a call manager's signalling port.
pub fn is_signalling_port(port: u16) -> bool {
    SIGNALLING_PORTS.contains(&port)
}

/// Configuration server ports over TCP: HTTP and HTTPS.
const CONFIG_PORTS: [u16; 2] = [dispatch::HTTP_TFTP, dispatch::HTTPS_TFTP];

/// A TCP handshake or reset on a signalling port, or on the configuration server's
/// 6970 / 6971 (then a phone's: the server unanswered or refusing is the config
/// stage's failure, whatever the transport).
pub fn tcp_control(sh: &mut Shared<'_>, ctx: Ctx, flow: FlowKey, kind: TcpControlKind) {
    if kind == TcpControlKind::Retransmission {
        resent(sh, ctx, flow);
        return;
    }
    if config_control(sh, ctx, flow, kind) || tvs_control(sh, ctx, flow, kind) {
        return;
    }
    handshake(sh, ctx, flow, kind);
    if matches!(kind, TcpControlKind::Rst | TcpControlKind::Fin) {
        sccp_connection_ended(sh, ctx, flow, kind == TcpControlKind::Rst);
    }
}

/// A segment the phone sent again to the call manager holding its registration: counted
/// on the registration (the loss's finding says it), no event.
fn resent(sh: &mut Shared<'_>, ctx: Ctx, flow: FlowKey) {
    if !is_signalling_port(flow.dst_port) {
        return;
    }
    let Some(key) = sh.owner_of((flow.src, flow.src_port), ctx.src_mac) else {
        return;
    };
    let steady = sh
        .devices
        .get_mut(&key)
        .and_then(|d| d.boot.steady.as_deref_mut())
        .filter(|s| s.cm == flow.dst);
    if let Some(s) = steady {
        s.resent = s.resent.saturating_add(1);
    }
}

/// A SYN to, or a SYN-ACK or reset from, a signalling port: on the phone's device.
fn handshake(sh: &mut Shared<'_>, ctx: Ctx, flow: FlowKey, kind: TcpControlKind) {
    let (phone, cm, port, l2) = match kind {
        TcpControlKind::Syn if is_signalling_port(flow.dst_port) => (
            (flow.src, flow.src_port),
            flow.dst,
            flow.dst_port,
            ctx.src_mac,
        ),
        TcpControlKind::SynAck | TcpControlKind::Rst if is_signalling_port(flow.src_port) => (
            (flow.dst, flow.dst_port),
            flow.src,
            flow.src_port,
            ctx.dst_mac,
        ),
        _ => return,
    };
    let Some(key) = sh.owner_of(phone, l2) else {
        sh.unattributed += 1;
        return;
    };
    let ev = match kind {
        TcpControlKind::Syn => EventKind::CmSyn { cm, port },
        TcpControlKind::SynAck => EventKind::CmSynAck { cm, port },
        _ => EventKind::CmRst { cm, port },
    };
    sh.emit(&key, ctx, ev, false);
}

/// A reset or FIN, either way, on an SCCP connection: the registration it held may be
/// lost (`sccp::connection_ended`).
fn sccp_connection_ended(sh: &mut Shared<'_>, ctx: Ctx, flow: FlowKey, reset: bool) {
    const SCCP_PORTS: [u16; 2] = [dispatch::SCCP, dispatch::SCCP_TLS];
    let (phone, cm, l2, by_cm) = if SCCP_PORTS.contains(&flow.dst_port) {
        ((flow.src, flow.src_port), flow.dst, ctx.src_mac, false)
    } else if SCCP_PORTS.contains(&flow.src_port) {
        ((flow.dst, flow.dst_port), flow.src, ctx.dst_mac, true)
    } else {
        return;
    };
    let Some(key) = sh.owner_of(phone, l2) else {
        return;
    };
    super::sccp::connection_ended(sh, ctx, &key, (cm, phone.1), by_cm, reset);
}

/// A SYN to, or a SYN-ACK or reset from, a configuration port: on the phone that
/// asked. True when the segment was of a configuration port (handled or not).
fn config_control(sh: &mut Shared<'_>, ctx: Ctx, flow: FlowKey, kind: TcpControlKind) -> bool {
    let (phone, server, port, l2) = match kind {
        TcpControlKind::Syn if CONFIG_PORTS.contains(&flow.dst_port) => (
            (flow.src, flow.src_port),
            flow.dst,
            flow.dst_port,
            ctx.src_mac,
        ),
        TcpControlKind::SynAck | TcpControlKind::Rst if CONFIG_PORTS.contains(&flow.src_port) => (
            (flow.dst, flow.dst_port),
            flow.src,
            flow.src_port,
            ctx.dst_mac,
        ),
        _ => return CONFIG_PORTS.contains(&flow.src_port) || CONFIG_PORTS.contains(&flow.dst_port),
    };
    let Some(key) = sh.owner_of(phone, l2) else {
        return true;
    };
    let is_phone = sh
        .devices
        .get(&key)
        .is_some_and(|d| d.kind == super::device::DeviceKind::Phone);
    if is_phone {
        let ev = match kind {
            TcpControlKind::Syn => EventKind::ConfigSyn { server, port },
            TcpControlKind::SynAck => EventKind::ConfigSynAck { server, port },
            _ => EventKind::ConfigRst { server, port },
        };
        sh.emit(&key, ctx, ev, false);
    }
    true
}

/// A phone's SYN to a TVS (TCP 2445), or the server's SYN-ACK or reset. True when the
/// segment was of the TVS port (handled or not).
fn tvs_control(sh: &mut Shared<'_>, ctx: Ctx, flow: FlowKey, kind: TcpControlKind) -> bool {
    let tvs = dispatch::TVS;
    let (phone, server, l2) = match kind {
        TcpControlKind::Syn if flow.dst_port == tvs => {
            ((flow.src, flow.src_port), flow.dst, ctx.src_mac)
        }
        TcpControlKind::SynAck | TcpControlKind::Rst if flow.src_port == tvs => {
            ((flow.dst, flow.dst_port), flow.src, ctx.dst_mac)
        }
        _ => return flow.src_port == tvs || flow.dst_port == tvs,
    };
    let Some(key) = sh.owner_of(phone, l2) else {
        return true;
    };
    if sh
        .devices
        .get(&key)
        .is_some_and(|d| d.kind == super::device::DeviceKind::Phone)
    {
        let ev = match kind {
            TcpControlKind::Syn => EventKind::TvsSyn { server },
            TcpControlKind::SynAck => EventKind::TvsSynAck { server },
            _ => EventKind::TvsRst { server },
        };
        sh.emit(&key, ctx, ev, false);
    }
    true
}

/// Encrypted bytes on a secure signalling port: the session exists, once per boot.
pub fn encrypted(sh: &mut Shared<'_>, ctx: Ctx, flow: FlowKey) {
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
    let Some(key) = sh.owner_of(phone, l2) else {
        return;
    };
    if sh
        .devices
        .get(&key)
        .is_some_and(|d| d.boot.count(EventType::CmTls) > 0)
    {
        return;
    }
    sh.emit(&key, ctx, EventKind::CmTls { cm, port }, false);
}

#[cfg(test)]
mod tests {
    use super::super::device::DeviceKey;
    use super::super::shared::harness::*;
    use super::*;

    fn flow(src: u16, dst: u16, phone_to_cm: bool) -> FlowKey {
        let (a, b) = ((ip(20), src), (ip(10), dst));
        let ((s, sp), (d, dp)) = if phone_to_cm { (a, b) } else { (b, a) };
        FlowKey {
            src: s,
            dst: d,
            src_port: sp,
            dst_port: dp,
        }
    }

    #[test]
    fn handshakes_on_signalling_ports_reach_the_phone_and_others_do_not() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(20), 51000), (SERVER, ip(10), 2000));
        sh.device(&key, TEST_PHONE, c).unwrap();
        sh.attribution.bind_ip(ip(20), PHONE);
        tcp_control(&mut sh, c, flow(51000, 2000, true), TcpControlKind::Syn);
        let back = ctx(2, (SERVER, ip(10), 2000), (PHONE, ip(20), 51000));
        tcp_control(
            &mut sh,
            back,
            flow(51000, 2000, false),
            TcpControlKind::SynAck,
        );
        tcp_control(&mut sh, c, flow(51000, 80, true), TcpControlKind::Syn);
        assert_eq!(types(&sh, &key), [EventType::CmSyn, EventType::CmSynAck]);
        assert!(is_signalling_port(5061) && !is_signalling_port(80));
    }

    #[test]
    fn the_config_port_s_handshakes_and_resets_reach_the_phone() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(20), 51000), (SERVER, ip(10), 6970));
        sh.device(&key, TEST_PHONE, c).unwrap();
        sh.attribution.bind_ip(ip(20), PHONE);
        tcp_control(&mut sh, c, flow(51000, 6970, true), TcpControlKind::Syn);
        tcp_control(&mut sh, c, flow(51000, 6970, true), TcpControlKind::Syn);
        let back = ctx(2, (SERVER, ip(10), 6970), (PHONE, ip(20), 51000));
        tcp_control(&mut sh, back, flow(51000, 6970, false), TcpControlKind::Rst);
        // The phone's FIN is no event.
        tcp_control(&mut sh, c, flow(51000, 6970, true), TcpControlKind::Fin);
        assert_eq!(
            types(&sh, &key),
            [
                EventType::ConfigSyn,
                EventType::ConfigSyn,
                EventType::ConfigRst
            ]
        );
        let boot = &sh.devices.get(&key).unwrap().boot;
        assert_eq!((boot.config_syns_unanswered, boot.config_rsts), (0, 1));
    }

    #[test]
    fn an_encrypted_session_is_one_event_per_boot() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(20), 51000), (SERVER, ip(10), 2443));
        sh.device(&key, TEST_PHONE, c).unwrap();
        sh.attribution.bind_ip(ip(20), PHONE);
        encrypted(&mut sh, c, flow(51000, 2443, true));
        encrypted(&mut sh, c, flow(51000, 2443, false));
        assert_eq!(types(&sh, &key), [EventType::CmTls]);
    }
}
