//! ICMP errors answering a phone: a port unreachable from its TFTP server, or from a
//! call manager to its SIP REGISTER over UDP, is the server saying "nothing listens
//! here" at once, with no timeout to wait for; a host unreachable or an
//! administratively prohibited from a router or firewall on the way says the same of
//! the path. The error quotes the packet it answers (its IP header and first 8
//! bytes): its source endpoint names the phone, its destination the server. Only an
//! error for a server the phone's boot asked (a file request to it, a connection or
//! a Register to that call manager) is kept, so a scanner's unreachables or an old
//! flow's are nobody's finding.

use std::net::IpAddr;

use parsers::icmp::{IcmpKind, IcmpMessage, Unreachable};

use super::cm::is_signalling_port;
use super::device::DeviceKind;
use super::shared::{Ctx, Shared};
use crate::timeline::{is_config_port, EventKind};

/// IP protocol numbers of the quoted packet.
const TCP: u8 = 6;
const UDP: u8 = 17;

/// One ICMP or ICMPv6 error, sent by `from`.
pub fn message(sh: &mut Shared<'_>, ctx: Ctx, from: IpAddr, m: &IcmpMessage<'_>) {
    let reason = match m.kind() {
        IcmpKind::Unreachable(Unreachable::Port) => "port unreachable",
        IcmpKind::Unreachable(Unreachable::Host) => "host unreachable",
        IcmpKind::Unreachable(Unreachable::AdminProhibited) => "administratively prohibited",
        _ => return,
    };
    let Some(q) = m.quoted() else { return };
    if !matches!(q.protocol, TCP | UDP) {
        return;
    }
    let Some((sport, dport)) = q.ports() else {
        return;
    };
    let config = is_config_port(dport);
    if !config && !is_signalling_port(dport) {
        return;
    }
    // The phone sent the quoted packet; the error travels to it.
    let Some(key) = sh.owner_of((q.src, sport), ctx.dst_mac) else {
        return;
    };
    let server = q.dst;
    let asked = sh.devices.get(&key).is_some_and(|d| {
        d.kind == DeviceKind::Phone
            && if config {
                d.boot.files.iter().any(|f| f.server == server)
                    || d.boot.config_tcp_server.is_some_and(|(s, _)| s == server)
            } else {
                d.boot.cms.iter().any(|c| c.ip == server)
            }
    });
    if !asked {
        return;
    }
    let ev = EventKind::IcmpUnreachable {
        from,
        server,
        port: dport,
        tcp: q.protocol == TCP,
        reason,
    };
    sh.emit(&key, ctx, ev, false);
}

#[cfg(test)]
mod tests {
    use super::super::device::DeviceKey;
    use super::super::shared::harness::*;
    use super::*;
    use crate::model::encode;
    use crate::timeline::{EventType, FileClass, FileTransport};
    use std::net::Ipv4Addr;

    fn unreachable(code: u8, dport: u16) -> Vec<u8> {
        let datagram = (
            Ipv4Addr::new(10, 1, 1, 20),
            50000,
            Ipv4Addr::new(10, 1, 1, 5),
            dport,
        );
        encode::icmp_unreachable(code, datagram, UDP, 32, 0).unwrap()
    }

    #[test]
    fn a_port_unreachable_for_a_server_the_phone_asked_is_kept_and_others_are_not() {
        let mut sh = shared();
        let key = DeviceKey::Mac(PHONE);
        let c = ctx(1, (PHONE, ip(20), 50000), (SERVER, ip(5), 69));
        sh.device(&key, TEST_PHONE, c).unwrap();
        sh.attribution.bind_ip(ip(20), PHONE);
        let back = ctx(3, (SERVER, ip(5), 0), (PHONE, ip(20), 0));
        let back = Ctx { flow: None, ..back };
        // Not asked yet: nobody's.
        let bytes = unreachable(3, 69);
        let m = parsers::icmp::parse_v4(&bytes).unwrap();
        message(&mut sh, back, ip(5), &m);
        assert!(types(&sh, &key).is_empty());
        let rrq = EventKind::FileRequest {
            file: "SEP001B54AA0001.cnf.xml".into(),
            class: FileClass::DeviceConfig,
            server: ip(5),
            via: FileTransport::Tftp,
        };
        sh.emit(&key, c, rrq, false);
        message(&mut sh, back, ip(5), &m);
        // A time exceeded, or a port the boot does not use, is not the server's "no".
        let other = unreachable(3, 80);
        message(
            &mut sh,
            back,
            ip(5),
            &parsers::icmp::parse_v4(&other).unwrap(),
        );
        assert_eq!(
            types(&sh, &key),
            [EventType::FileRequest, EventType::IcmpUnreachable]
        );
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(
            dev.boot.config_unreachable,
            Some((ip(5), 69, "port unreachable"))
        );
        assert_eq!(dev.boot.files[0].unanswered, 0);
        // An unreachable answering the SYN to 6970 is a refusal, as a reset is: TFTP,
        // the phone's fallback, decides.
        sh.emit(
            &key,
            c,
            EventKind::ConfigSyn {
                server: ip(5),
                port: 6970,
            },
            false,
        );
        let datagram = (
            Ipv4Addr::new(10, 1, 1, 20),
            50002,
            Ipv4Addr::new(10, 1, 1, 5),
            6970,
        );
        let syn = encode::icmp_unreachable(3, datagram, TCP, 20, 7).unwrap();
        message(
            &mut sh,
            back,
            ip(5),
            &parsers::icmp::parse_v4(&syn).unwrap(),
        );
        let boot = &sh.devices.get(&key).unwrap().boot;
        assert_eq!((boot.config_rsts, boot.config_syns_unanswered), (1, 0));
        assert_eq!(boot.config_unreachable.map(|u| u.1), Some(69));
    }
}
