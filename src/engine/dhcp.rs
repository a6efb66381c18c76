//! DHCP: the client's DISCOVER / REQUEST / DECLINE and the server's OFFER / ACK / NAK
//! as events of the client (keyed by `chaddr`, else client-id type 1). A DISCOVER,
//! or an INIT-REBOOT REQUEST, after a lease starts a new boot; an ACK binds the
//! leased address to the client for the later protocols; a relay's copy of the
//! message just seen is not a retransmission. Clients that are not phones also feed
//! the starvation detector ([`flood`]).

use std::net::{IpAddr, Ipv4Addr};

use parsers::dhcp;

use super::device::{Clue, DeviceKey, DeviceKind, NameSource};
use super::flood;
use super::shared::{Ctx, Shared};
use super::text::lossy;
use crate::attribution::mac_in_name;
use crate::link::MacAddr;
use crate::timeline::{EventKind, TftpOffer};

/// The DHCP state: the starvation detector.
pub struct Dhcp {
    pub flood: flood::Detector,
}

impl Dhcp {
    /// DHCP following `rules`' starvation thresholds.
    pub fn new(rules: &rules::RuleSet) -> Self {
        Dhcp {
            flood: flood::Detector::new(&rules.dhcp_starvation),
        }
    }

    /// One DHCP message.
    pub fn message(&mut self, sh: &mut Shared<'_>, ctx: Ctx, m: &dhcp::DhcpMessage<'_>) {
        let Some(mt) = m.message_type() else { return };
        let Some(client) = m
            .client_mac()
            .or_else(|| m.client_id().and_then(|c| c.mac()))
            .map(MacAddr)
        else {
            sh.unattributed += 1;
            return;
        };
        let key = DeviceKey::Mac(client);
        if m.op == dhcp::DhcpOp::BOOT_REQUEST {
            if !self.client(sh, ctx, &key, client, mt, m) {
                return;
            }
        } else if sh.device(&key, DHCP_CLIENT, ctx).is_none() {
            return;
        }
        // A relay's copy of the message just seen is not a retransmission.
        if let Some(last) = sh
            .devices
            .get(&key)
            .and_then(|dev| dev.timeline.events.last())
        {
            let window = rules::Windows::ns(sh.rules.windows.dhcp_relay_copy_ms);
            if ctx.ts_ns - last.ts_ns < window && same_message(&last.kind, mt, m.xid) {
                return;
            }
        }
        let server = m.server_id();
        let (kind, starts_boot) = match mt {
            dhcp::DhcpMessageType::DISCOVER => (
                EventKind::DhcpDiscover {
                    xid: m.xid,
                    vlan: ctx.vlan,
                },
                true,
            ),
            dhcp::DhcpMessageType::REQUEST => {
                let requested = m
                    .requested_ip()
                    .or((!m.ciaddr.is_unspecified()).then_some(m.ciaddr));
                // INIT-REBOOT (RFC 2131 §4.3.2): no server id, no ciaddr: a reboot.
                let init_reboot = server.is_none() && m.ciaddr.is_unspecified();
                (
                    EventKind::DhcpRequest {
                        xid: m.xid,
                        requested,
                    },
                    init_reboot,
                )
            }
            dhcp::DhcpMessageType::OFFER => (
                EventKind::DhcpOffer {
                    xid: m.xid,
                    yiaddr: m.yiaddr,
                    server,
                    option150_ascii: tftp_offer(m).option150_ascii,
                },
                false,
            ),
            dhcp::DhcpMessageType::ACK => {
                let leased = if m.yiaddr.is_unspecified() {
                    m.ciaddr
                } else {
                    m.yiaddr
                };
                if leased.is_unspecified() {
                    // An ACK to INFORM without an address: nothing learned.
                    return;
                }
                sh.attribution.bind_ip(IpAddr::V4(leased), client);
                (
                    EventKind::DhcpAck {
                        xid: m.xid,
                        yiaddr: leased,
                        server,
                        tftp: Box::new(tftp_offer(m)),
                    },
                    false,
                )
            }
            dhcp::DhcpMessageType::NAK => (EventKind::DhcpNak { xid: m.xid, server }, false),
            dhcp::DhcpMessageType::DECLINE => (
                EventKind::DhcpDecline {
                    xid: m.xid,
                    addr: m.requested_ip(),
                },
                false,
            ),
            _ => return,
        };
        sh.emit(&key, ctx, kind, starts_boot);
    }

    /// A client's message: is it a phone (option 60, a SEP host name)? Clients that
    /// are not feed the starvation detector. False when the device is not followed.
    fn client(
        &mut self,
        sh: &mut Shared<'_>,
        ctx: Ctx,
        key: &DeviceKey,
        client: MacAddr,
        mt: dhcp::DhcpMessageType,
        m: &dhcp::DhcpMessage<'_>,
    ) -> bool {
        let vendor = m.vendor_class().map(lossy);
        let host = m.host_name().map(lossy);
        let phone_vendor = vendor
            .as_deref()
            .is_some_and(|v| sh.rules.phones.dhcp_vendor_class(v));
        let phone_host = host.as_deref().and_then(mac_in_name).is_some();
        let clue = if phone_vendor {
            DHCP_PHONE_VENDOR
        } else if phone_host {
            DHCP_PHONE_HOST
        } else {
            DHCP_CLIENT
        };
        // The starvation detector counts clients that are not phones, before the
        // table decides whether to follow them.
        let known = sh.devices.kind(key);
        if clue.kind != DeviceKind::Phone && known != Some(DeviceKind::Phone) {
            match mt {
                dhcp::DhcpMessageType::DISCOVER if known.is_none() => {
                    self.flood
                        .new_client(ctx.ts_ns, ctx.frame, ctx.vlan, ctx.src_mac, client);
                }
                dhcp::DhcpMessageType::REQUEST => self.flood.request(ctx.ts_ns, ctx.vlan),
                _ => {}
            }
        }
        let Some(dev) = sh.device(key, clue, ctx) else {
            return false;
        };
        super::inventory::vendor_class(dev, m.vendor_class());
        if let Some(v) = vendor.filter(|_| dev.kind != DeviceKind::Phone && dev.model.is_none()) {
            dev.set_model(v);
        }
        // A phone's host name is its device name (`SEP<MAC>`).
        if let Some(h) = host.filter(|h| dev.kind == DeviceKind::Phone && mac_in_name(h).is_some())
        {
            dev.set_name(h, NameSource::DhcpHostName);
        }
        true
    }
}

const DHCP_CLIENT: Clue = Clue::default(DeviceKind::DhcpClient, "DHCP client");
const DHCP_PHONE_VENDOR: Clue = Clue::sure(DeviceKind::Phone, "DHCP option 60: Cisco IP Phone");
const DHCP_PHONE_HOST: Clue = Clue::sure(DeviceKind::Phone, "DHCP host name SEP<MAC>");

/// Whether `last` is the same DHCP message as (`mt`, `xid`).
fn same_message(last: &EventKind, mt: dhcp::DhcpMessageType, xid: u32) -> bool {
    use dhcp::DhcpMessageType as T;
    let (last_type, last_xid) = match last {
        EventKind::DhcpDiscover { xid, .. } => (T::DISCOVER, xid),
        EventKind::DhcpOffer { xid, .. } => (T::OFFER, xid),
        EventKind::DhcpRequest { xid, .. } => (T::REQUEST, xid),
        EventKind::DhcpAck { xid, .. } => (T::ACK, xid),
        EventKind::DhcpNak { xid, .. } => (T::NAK, xid),
        _ => return false,
    };
    last_type == mt && *last_xid == xid
}

/// The TFTP servers an OFFER or an ACK names: option 150 (a list, or ASCII text by mistake) and
/// option 66 (a name or an address).
fn tftp_offer(m: &dhcp::DhcpMessage<'_>) -> TftpOffer {
    let mut offer = TftpOffer::default();
    match m.tftp_servers() {
        Some(dhcp::Option150::Addresses(list)) => offer.servers = list.iter().take(8).collect(),
        Some(dhcp::Option150::AsciiString(text)) => offer.option150_ascii = Some(text.into()),
        Some(dhcp::Option150::Malformed(_)) | None => {}
    }
    if let Some(name) = m.tftp_server_name().map(lossy) {
        let name = name.trim_end_matches('\0').trim().to_owned();
        if offer.servers.is_empty() {
            if let Ok(ip) = name.parse::<Ipv4Addr>() {
                offer.servers.push(ip);
            }
        }
        offer.option66 = Some(name.into());
    }
    if let Some(list) = m.dns_servers() {
        offer.dns_servers = list.iter().take(4).collect();
    }
    if let Some(list) = m.routers() {
        offer.routers = list.iter().take(4).collect();
    }
    offer
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::shared::harness::*;
    use super::*;
    use crate::model::encode::{self, DhcpClientKind, DhcpServerKind};
    use crate::model::scenario::TftpOption;
    use crate::timeline::EventType;

    const LEASE: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 20);

    fn client(kind: DhcpClientKind) -> Vec<u8> {
        encode::dhcp_client(PHONE, "SEP001B54AA0001", "7970", 7, kind, 0)
    }

    fn server(kind: DhcpServerKind, tftp: &TftpOption) -> Vec<u8> {
        let relay = Ipv4Addr::new(10, 1, 1, 1);
        encode::dhcp_server(
            PHONE,
            7,
            kind,
            LEASE,
            relay,
            Ipv4Addr::new(10, 1, 1, 2),
            tftp,
        )
    }

    fn run(d: &mut Dhcp, sh: &mut Shared<'_>, ts_ms: i64, bytes: &[u8], up: bool) {
        let (phone, srv) = ((PHONE, ip(0), 68), (SERVER, ip(2), 67));
        let mut c = if up {
            ctx(1, phone, srv)
        } else {
            ctx(1, srv, phone)
        };
        c.ts_ns = ts_ms * 1_000_000;
        c.frame = u64::try_from(ts_ms).unwrap();
        d.message(sh, c, &dhcp::parse(bytes).unwrap());
    }

    #[test]
    fn a_phone_lease_binds_its_address_and_names_the_tftp_servers() {
        let (mut sh, mut d) = (shared(), Dhcp::new(rules()));
        let tftp = TftpOption::Option150(vec![Ipv4Addr::new(10, 1, 1, 5)]);
        let requested = DhcpClientKind::Request {
            requested: LEASE,
            server: Ipv4Addr::new(10, 1, 1, 2),
        };
        run(
            &mut d,
            &mut sh,
            1000,
            &client(DhcpClientKind::Discover),
            true,
        );
        run(
            &mut d,
            &mut sh,
            1010,
            &server(DhcpServerKind::Offer, &tftp),
            false,
        );
        run(&mut d, &mut sh, 1020, &client(requested), true);
        run(
            &mut d,
            &mut sh,
            1030,
            &server(DhcpServerKind::Ack, &tftp),
            false,
        );
        let key = DeviceKey::Mac(PHONE);
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(dev.kind, DeviceKind::Phone);
        assert_eq!(
            types(&sh, &key),
            [
                EventType::DhcpDiscover,
                EventType::DhcpOffer,
                EventType::DhcpRequest,
                EventType::DhcpAck
            ]
        );
        match &dev.boot.ack.as_ref().unwrap().kind {
            EventKind::DhcpAck { tftp, .. } => {
                assert_eq!(tftp.servers, [Ipv4Addr::new(10, 1, 1, 5)]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sh.owner_of((IpAddr::V4(LEASE), 1), None), Some(key));
    }

    #[test]
    fn a_relay_copy_is_dropped_and_a_retransmission_kept() {
        let (mut sh, mut d) = (shared(), Dhcp::new(rules()));
        let discover = client(DhcpClientKind::Discover);
        run(&mut d, &mut sh, 1000, &discover, true);
        run(&mut d, &mut sh, 1100, &discover, true);
        run(&mut d, &mut sh, 5000, &discover, true);
        let key = DeviceKey::Mac(PHONE);
        assert_eq!(types(&sh, &key).len(), 2);
    }

    #[test]
    fn option_150_as_text_is_kept_as_text() {
        let (mut sh, mut d) = (shared(), Dhcp::new(rules()));
        let tftp = TftpOption::Option150Ascii("10.1.1.5".into());
        run(
            &mut d,
            &mut sh,
            1000,
            &client(DhcpClientKind::Discover),
            true,
        );
        run(
            &mut d,
            &mut sh,
            1010,
            &server(DhcpServerKind::Offer, &tftp),
            false,
        );
        // The OFFER carries it already.
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        match &dev.timeline.events[1].kind {
            EventKind::DhcpOffer {
                option150_ascii, ..
            } => assert_eq!(option150_ascii.as_deref(), Some("10.1.1.5")),
            other => panic!("{other:?}"),
        }
        assert_eq!(dev.boot.option150_ascii.as_deref(), Some("10.1.1.5"));
        run(
            &mut d,
            &mut sh,
            1030,
            &server(DhcpServerKind::Ack, &tftp),
            false,
        );
        let dev = sh.devices.get(&DeviceKey::Mac(PHONE)).unwrap();
        match &dev.boot.ack.as_ref().unwrap().kind {
            EventKind::DhcpAck { tftp, .. } => {
                assert!(tftp.servers.is_empty());
                assert_eq!(tftp.option150_ascii.as_deref(), Some("10.1.1.5"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_relay_copy_is_the_same_type_and_xid() {
        let discover = EventKind::DhcpDiscover { xid: 7, vlan: None };
        assert!(same_message(&discover, dhcp::DhcpMessageType::DISCOVER, 7));
        assert!(!same_message(&discover, dhcp::DhcpMessageType::DISCOVER, 8));
        assert!(!same_message(&discover, dhcp::DhcpMessageType::REQUEST, 7));
        let decline = EventKind::DhcpDecline { xid: 7, addr: None };
        assert!(!same_message(&decline, dhcp::DhcpMessageType::DECLINE, 7));
    }
}
