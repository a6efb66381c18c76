//! A fleet scenario built in code: N phones on one site, most booting cleanly,
//! some with per-phone faults, plus background PCs. For benchmarks and scale
//! tests (`bootscope simulate --fleet N`). [`varied`] mixes every phone family of
//! [`super::variant`], each phone drawing its trust lists, its configuration's security and
//! its TFTP timeout, and a phone without a fault now and then an address or reachability
//! one (a taken address, ICMP from the TFTP service, 6970 refused, a missing load image),
//! from a generator of its own (`--fleet N --varied`), and secure registrations (NULL
//! suite, encrypted, a failing handshake) from another. The plain fleet's draws are as
//! they were: its captures are byte for byte the same.

use std::net::Ipv4Addr;

use super::scenario::{
    Background, Bulk, CallManager, ConfigSecurity, Discovery, Dot1x, Fault, Lapse, LapseBack,
    LapseKind, Mac, PhoneSpec, PortSpec, Protocol, Scenario, SipTransport, Site, TftpOption,
    TftpTimeout, TlsMode, TrustFiles,
};
use super::sim::Rng;
use super::variant::{self, FileScheme, Neighbours};
use crate::link::MacAddr;

/// `n` phones starting within the first minutes of a `duration_s` capture.
pub fn scenario(n: u32, seed: u64, duration_s: u64) -> Scenario {
    with_traffic(n, seed, duration_s, 0.0)
}

/// A fleet phone's faults: 3 % a silent DHCP server, 2 % a silent TFTP server, 2 % not
/// provisioned, 1 % a NAK, 1 % no voice VLAN, the rest none.
fn drawn_faults(rng: &mut Rng) -> Vec<Fault> {
    match rng.range(0, 99) {
        0..=2 => vec![Fault::DhcpSilent],
        3..=4 => vec![Fault::TftpSilent],
        5..=6 => vec![Fault::NotProvisioned],
        7 => vec![Fault::DhcpNak],
        8 => vec![Fault::NoVoiceVlan],
        _ => Vec::new(),
    }
}

/// A fleet phone's SIP transport, UDP or TCP alike.
fn drawn_transport(rng: &mut Rng) -> SipTransport {
    if rng.range(0, 1) == 0 {
        SipTransport::Udp
    } else {
        SipTransport::Tcp
    }
}

/// The `i`th phone's MAC of a fleet whose MACs start `00:1b:54:<block>`.
fn fleet_mac(block: u8, i: u32) -> Mac {
    Mac(MacAddr([
        0x00,
        0x1b,
        0x54,
        block | (i >> 16) as u8,
        (i >> 8) as u8,
        i as u8,
    ]))
}

/// [`scenario`] with `traffic_mbps` of background traffic (RTP and bulk TCP).
pub fn with_traffic(n: u32, seed: u64, duration_s: u64, traffic_mbps: f64) -> Scenario {
    let mut rng = Rng::new(seed);
    let n = n.min(60_000);
    let phones = (0..n)
        .map(|i| {
            let faults = drawn_faults(&mut rng);
            let sip = rng.range(0, 2) == 0;
            PhoneSpec {
                mac: fleet_mac(0x40, i),
                model: if sip { "8851".into() } else { "7970".into() },
                protocol: if sip { Protocol::Sip } else { Protocol::Sccp },
                transport: drawn_transport(&mut rng),
                running_load: None,
                // Power returns floor by floor over five minutes.
                start_ms: u64::try_from(rng.range(0, 300_000)).unwrap_or(0),
                already_registered: rng.range(0, 19) == 0,
                faults,
                config_load: None,
                trust_files: None,
                config_security: ConfigSecurity::Plain,
                tftp_timeout: TftpTimeout::Fixed,
                port: None,
                after_registration: None,
                tls: None,
            }
        })
        .collect();
    Scenario {
        name: format!("fleet-{n}"),
        description: format!("{n} phones booting on one site, seed {seed}"),
        seed,
        start_epoch: 1_772_438_400,
        duration_s,
        site: Site {
            switch_name: "access-sw1".into(),
            switch_mac: Mac(MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0x01])),
            discovery: Discovery::Both,
            voice_vlan: 100,
            native_vlan: 10,
            gateway_mac: Mac(MacAddr([0x00, 0x1e, 0x4a, 0x10, 0x00, 0xfe])),
            voice_gateway: Ipv4Addr::new(10, 100, 0, 1),
            data_gateway: Ipv4Addr::new(10, 10, 0, 1),
            pool_start: Ipv4Addr::new(10, 100, 0, 20),
            dhcp_server: Ipv4Addr::new(10, 1, 1, 2),
            tftp_option: TftpOption::Option150(vec![
                Ipv4Addr::new(10, 1, 1, 5),
                Ipv4Addr::new(10, 1, 1, 6),
            ]),
            tftp_servers: vec![Ipv4Addr::new(10, 1, 1, 5), Ipv4Addr::new(10, 1, 1, 6)],
            xml_default: true,
            sccp_load: "SCCP70.9-4-2SR3-1S".into(),
            sip_load: "sip88xx.14-2-1-0001-14".into(),
            loads_on_server: vec!["SCCP70.9-4-2SR3-1S".into(), "sip88xx.14-2-1-0001-14".into()],
            callmanagers: vec![
                CallManager {
                    name: "cucm-sub1".into(),
                    ip: Ipv4Addr::new(10, 1, 1, 10),
                    fault: None,
                },
                CallManager {
                    name: "cucm-sub2".into(),
                    ip: Ipv4Addr::new(10, 1, 1, 11),
                    fault: None,
                },
            ],
            http_config: true,
            sip_digest: false,
            faults: Vec::new(),
            dhcp_pool: None,
            dns: None,
            srst: None,
            device_security_mode: None,
        },
        phones,
        background: Background {
            pcs: n / 10,
            traffic_mbps,
            bulk: Bulk::FileCopy,
        },
        flood: None,
    }
}

/// The phone models of [`varied`], one or two per family, with the load each one's
/// configuration names (load names in each family's pattern; the numbers are examples).
const MODELS: [(&str, Protocol, &str); 11] = [
    ("7970", Protocol::Sccp, "SCCP70.9-4-2SR3-1S"),
    ("7942", Protocol::Sccp, "SCCP42.9-4-2SR3-1S"),
    ("7960", Protocol::Sip, "P0S3-08-12-00"),
    ("7937", Protocol::Sccp, "apps37sccp.1-4-5-7"),
    ("8831", Protocol::Sip, "sip8831.10-3-1-16"),
    ("8821", Protocol::Sip, "sip8821.11-0-6SR1-1"),
    ("6941", Protocol::Sccp, "SCCP69xx.9-4-1-3"),
    ("7841", Protocol::Sip, "sip78xx.14-2-1-0001-14"),
    ("8851", Protocol::Sip, "sip88xx.14-2-1-0001-14"),
    ("8865", Protocol::Sip, "sip88xx.14-2-1-0001-14"),
    ("9971", Protocol::Sip, "sip9971.9-4-2SR4-3"),
];

/// `n` phones of every family on one site (CDP and LLDP-MED, HTTP on TCP 6970), starting
/// within the first five minutes of a `duration_s` capture, with `traffic_mbps` of background
/// traffic. Each phone draws, from a generator of the fleet's own (the site's draws are
/// [`with_traffic`]'s): its model, its faults (as [`scenario`]'s, less those its family cannot have), its trust
/// lists (CTL then ITL mostly; CTL only, none, or ITL first, the last an assumption), a signed
/// or encrypted configuration for some of those holding a trust list, and its TFTP timeout
/// from the boot sequence's `tftp_timeout_ms`. A few register securely ([`drawn_tls`]).
pub fn varied(n: u32, seed: u64, duration_s: u64, traffic_mbps: f64) -> Scenario {
    let mut sc = with_traffic(0, seed, duration_s, traffic_mbps);
    let n = n.min(60_000);
    sc.name = format!("varied-fleet-{n}");
    sc.description = format!("{n} phones of every family on one site, seed {seed}");
    let mut loads: Vec<String> = MODELS.iter().map(|(_, _, l)| (*l).to_owned()).collect();
    loads.sort();
    loads.dedup();
    sc.site.loads_on_server = loads;
    sc.background.pcs = n / 10;
    let mut rng = Rng::new(seed ^ 0x7a71_e7ed);
    // The ports draw from a generator of their own: the phones' draws stay as they were.
    let mut ports = Rng::new(seed ^ 0x0d01_1c5e);
    // The address and reachability faults come from a generator of their own, drawn
    // after the rest: the draws above, and so every phone they made, stay as they were.
    let mut more = Rng::new(seed ^ 0xadd7_e550);
    sc.phones = (0..n)
        .map(|i| {
            let (model, protocol, load) = MODELS[rng.index(MODELS.len())];
            let v = variant::of(model, protocol);
            let mut faults = drawn_faults(&mut rng);
            faults.retain(|f| match f {
                Fault::NotProvisioned => v.files != FileScheme::LegacySip,
                Fault::NoVoiceVlan => v.neighbours != Neighbours::Wireless,
                _ => true,
            });
            let trust_files = if v.files == FileScheme::LegacySip {
                [TrustFiles::None, TrustFiles::None, TrustFiles::Ctl][rng.index(3)]
            } else {
                match rng.range(0, 19) {
                    0..=11 => TrustFiles::CtlItl,
                    12..=14 => TrustFiles::Ctl,
                    15..=16 => TrustFiles::None,
                    _ => TrustFiles::ItlCtl,
                }
            };
            let config_security =
                if v.files == FileScheme::LegacySip || trust_files == TrustFiles::None {
                    ConfigSecurity::Plain
                } else {
                    match rng.range(0, 9) {
                        0..=5 => ConfigSecurity::Plain,
                        6..=8 => ConfigSecurity::Signed,
                        _ => ConfigSecurity::Encrypted,
                    }
                };
            PhoneSpec {
                mac: fleet_mac(0x80, i),
                model: model.into(),
                protocol,
                transport: drawn_transport(&mut rng),
                running_load: None,
                start_ms: u64::try_from(rng.range(0, 300_000)).unwrap_or(0),
                already_registered: rng.range(0, 19) == 0,
                faults,
                config_load: Some(load.into()),
                trust_files: Some(trust_files),
                config_security,
                tftp_timeout: TftpTimeout::Drawn,
                port: drawn_port(&mut ports),
                after_registration: None,
                tls: None,
            }
        })
        .collect();
    for p in &mut sc.phones {
        let extra = drawn_address_fault(&mut more);
        if p.faults.is_empty() && !p.already_registered {
            p.faults.extend(extra);
        }
    }
    // The switch ports' power and VLAN faults from a generator of their own
    // drawn last: every phone drawn above stays as it was.
    let mut port_faults = Rng::new(seed ^ 0x90e5_7a7e);
    for p in &mut sc.phones {
        let neighbours = variant::of(&p.model, p.protocol).neighbours;
        let fault = drawn_port_fault(&mut port_faults);
        // LLDP-MED's VLAN matters to a phone that speaks LLDP only.
        let heard = match fault {
            PortFault::LldpVlanDiffers => neighbours == Neighbours::AsSite,
            _ => neighbours != Neighbours::Wireless,
        };
        if p.faults.is_empty() && !p.already_registered && heard {
            p.port = fault.apply(p.port.take());
        }
    }
    // Half the ports short of power cut it once the phone draws more (the error form of
    // the finding), from a generator of their own.
    let mut cut = Rng::new(seed ^ 0x90e5_c0ff);
    for port in sc.phones.iter_mut().filter_map(|p| p.port.as_mut()) {
        if port.poe_available_mw.is_some() && cut.range(0, 1) == 0 {
            port.poe_cut_after_ms = Some(20_000);
        }
    }
    // Registrations lost after they were accepted, from a generator of their own: every
    // phone above stays as it was.
    let mut lapses = Rng::new(seed ^ 0x1a95_e10d);
    for p in &mut sc.phones {
        let lapse = drawn_lapse(&mut lapses, p.protocol);
        if p.faults.is_empty() && !p.already_registered {
            p.after_registration = lapse;
        }
    }
    // Secure registrations draw from a generator of their own, after the rest, so every
    // phone drawn above stays as it was.
    let mut secure = Rng::new(seed ^ 0x5ec0_7e15);
    for p in &mut sc.phones {
        let tls = drawn_tls(&mut secure);
        let legacy = variant::of(&p.model, p.protocol).files == FileScheme::LegacySip;
        // A registration lost later is played on the plain port only.
        let lapse = p.after_registration.is_some();
        if p.faults.is_empty() && !p.already_registered && !legacy && !lapse {
            p.tls = tls;
        }
    }
    // What the configuration says comes from a generator of its own, drawn last: every
    // phone above stays as it was.
    let mut config = Rng::new(seed ^ 0xc0f1_6c0d);
    for p in &mut sc.phones {
        let drawn = drawn_config_fault(&mut config);
        let v = variant::of(&p.model, p.protocol);
        // A phone registering securely or losing its registration later has its story.
        let other_story = p.tls.is_some() || p.after_registration.is_some();
        if !p.faults.is_empty()
            || p.already_registered
            || v.files == FileScheme::LegacySip
            || other_story
        {
            continue;
        }
        let fits = match drawn {
            Some(Fault::SrstFallback) => {
                p.protocol == Protocol::Sccp || p.transport == SipTransport::Tcp
            }
            Some(Fault::TrustListMismatch) => p.config_security == ConfigSecurity::Signed,
            _ => true,
        };
        if fits {
            p.faults.extend(drawn);
        }
    }
    sc
}

/// A switch port fault of the varied fleet. MAB is not among them: a port that knows
/// no supplicant sends its identity requests to the group address, which in a boot
/// storm another port's supplicant may have spoken to an instant before (its sample
/// plays it alone).
enum PortFault {
    None,
    /// The switch has less power left than the phone asks for.
    PowerDenied,
    /// LLDP-MED's voice VLAN is not CDP's.
    LldpVlanDiffers,
    /// The phone's DHCP runs on a VLAN it was not given.
    DhcpOnOtherVlan,
}

impl PortFault {
    /// The port with the fault. What the switch's CDP and LLDP say is paired with a
    /// phone by the port's MAC only where the port authenticated it (802.1X), else by
    /// timing, which simultaneous boots make ambiguous: the power and VLAN faults go
    /// on ports that authenticate (an open port becomes one).
    fn apply(self, port: Option<PortSpec>) -> Option<PortSpec> {
        let authenticating = |port: Option<PortSpec>| {
            let mut p = port.unwrap_or_default();
            if p.dot1x.is_none() {
                p.dot1x = Some(Dot1x::Success);
            }
            p
        };
        match self {
            PortFault::None => port,
            PortFault::PowerDenied => Some(PortSpec {
                poe_available_mw: Some(7_000),
                ..authenticating(port)
            }),
            PortFault::LldpVlanDiffers => Some(PortSpec {
                lldp_voice_vlan: Some(LLDP_OTHER_VLAN),
                ..authenticating(port)
            }),
            PortFault::DhcpOnOtherVlan => Some(PortSpec {
                dhcp_vlan: Some(LLDP_OTHER_VLAN),
                ..authenticating(port)
            }),
        }
    }
}

/// The voice VLAN a misconfigured port's LLDP-MED policy (or the phone's own setting)
/// gives instead of the site's.
const LLDP_OTHER_VLAN: u16 = 310;

/// A varied fleet phone's port fault: 1 % each a power budget too small, LLDP-MED
/// giving another voice VLAN than CDP, DHCP on another VLAN; the rest none.
fn drawn_port_fault(rng: &mut Rng) -> PortFault {
    match rng.range(0, 99) {
        0 => PortFault::PowerDenied,
        1 => PortFault::LldpVlanDiffers,
        2 => PortFault::DhcpOnOtherVlan,
        _ => PortFault::None,
    }
}

/// A varied fleet phone's registration lost once it was accepted: of the SCCP phones 2 %
/// stop getting keepalive answers and register with the next call manager, 2 % have
/// their connection reset and come back to the same one; of the SIP phones 2 % have a
/// refresh refused and 2 % one unanswered, each registering again with the same call
/// manager. The rest keep theirs.
fn drawn_lapse(rng: &mut Rng, protocol: Protocol) -> Option<Lapse> {
    let draw = rng.range(0, 99);
    let (kind, back) = match (protocol, draw) {
        (Protocol::Sccp, 0..=1) => (LapseKind::KeepaliveLoss, LapseBack::Next),
        (Protocol::Sccp, 2..=3) => (LapseKind::ConnectionReset, LapseBack::Same),
        (Protocol::Sip, 0..=1) => (LapseKind::RefreshRejected, LapseBack::Same),
        (Protocol::Sip, 2..=3) => (LapseKind::RefreshUnanswered, LapseBack::Same),
        _ => return None,
    };
    Some(Lapse {
        kind,
        answered: u32::try_from(rng.range(0, 2)).unwrap_or(0),
        back,
        times: 1,
    })
}

/// A varied fleet phone's secure registration: 3 % authenticated (a NULL suite, the
/// signalling in clear inside TLS), 3 % encrypted, 1 % each a handshake refused by a
/// fatal alert, reset, or left without a ServerHello; the rest register in the clear.
/// A phone registered before the capture, with a fault of its own or a 7940 / 7960 SIP
/// load keeps the plain port.
fn drawn_tls(rng: &mut Rng) -> Option<TlsMode> {
    match rng.range(0, 99) {
        0..=2 => Some(TlsMode::Null),
        3..=5 => Some(TlsMode::Encrypted),
        6 => Some(TlsMode::Alert),
        7 => Some(TlsMode::Reset),
        8 => Some(TlsMode::NoServerHello),
        _ => None,
    }
}

/// A varied fleet phone's configuration fault: 1 % each name their call managers in a
/// DNS that does not know them, are cut off from their group and fall back to SRST, are
/// asked for a secure mode they do not use, or refuse their signed configuration.
fn drawn_config_fault(rng: &mut Rng) -> Option<Fault> {
    match rng.range(0, 99) {
        0 => Some(Fault::CmNameUnresolved),
        1 => Some(Fault::SrstFallback),
        2 => Some(Fault::SecureModeClear),
        3 => Some(Fault::TrustListMismatch),
        _ => None,
    }
}

/// A varied fleet phone's switch port: 6 % authenticate by 802.1X, 1 % slowly (the RADIUS
/// server answers the third attempt), 1 % are refused; the rest are open ports. The
/// port's 802.1X is told apart from its neighbours' by the port's own MAC and its unicast
/// frames. What a switch's CDP / LLDP says (PoE, the voice VLANs) is paired with a phone
/// by timing only, which simultaneous boots on one switch make ambiguous: those faults
/// have their samples, not a place in the fleet.
fn drawn_port(rng: &mut Rng) -> Option<PortSpec> {
    let dot1x = match rng.range(0, 99) {
        0..=5 => Dot1x::Success,
        6 => Dot1x::SlowSuccess,
        7 => Dot1x::Failure,
        _ => return None,
    };
    Some(PortSpec {
        dot1x: Some(dot1x),
        ..PortSpec::default()
    })
}

/// A varied fleet phone's address or reachability fault: 1 % each an address another
/// device holds, a TFTP service that answers ICMP port unreachable, TCP 6970 refused
/// (the phone falls back to TFTP), a load image missing (it matters to a phone whose
/// configuration names a new load), the rest none.
fn drawn_address_fault(rng: &mut Rng) -> Option<Fault> {
    match rng.range(0, 99) {
        0 => Some(Fault::AddressTaken),
        1 => Some(Fault::TftpPortUnreachable),
        2 => Some(Fault::HttpRefused),
        3 => Some(Fault::ImageMissing),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_varied_fleet_holds_every_family_and_passes_its_checks() {
        let sc = varied(400, 3, 600, 0.0);
        sc.check().unwrap();
        let families: std::collections::BTreeSet<_> = sc
            .phones
            .iter()
            .map(|p| format!("{:?}", variant::family(&p.model, p.protocol)))
            .collect();
        assert_eq!(families.len(), 9, "{families:?}");
        assert!(sc
            .phones
            .iter()
            .any(|p| p.config_security == ConfigSecurity::Encrypted));
        assert!(sc
            .phones
            .iter()
            .any(|p| p.trust_files == Some(TrustFiles::ItlCtl)));
        // Some ports run 802.1X, each way it ends.
        for how in [Dot1x::Success, Dot1x::SlowSuccess, Dot1x::Failure] {
            assert!(
                sc.phones
                    .iter()
                    .any(|p| p.port.as_ref().and_then(|s| s.dot1x) == Some(how)),
                "{how:?}"
            );
        }
        // Some registrations are lost after they were accepted, each way the fleet plays.
        for kind in [
            LapseKind::KeepaliveLoss,
            LapseKind::ConnectionReset,
            LapseKind::RefreshRejected,
            LapseKind::RefreshUnanswered,
        ] {
            assert!(
                sc.phones
                    .iter()
                    .any(|p| p.after_registration.as_ref().map(|l| l.kind) == Some(kind)),
                "{kind:?}"
            );
        }
        for mode in [
            TlsMode::Null,
            TlsMode::Encrypted,
            TlsMode::Alert,
            TlsMode::Reset,
            TlsMode::NoServerHello,
        ] {
            assert!(sc.phones.iter().any(|p| p.tls == Some(mode)), "{mode:?}");
        }
        for f in [
            Fault::AddressTaken,
            Fault::TftpPortUnreachable,
            Fault::HttpRefused,
            Fault::ImageMissing,
        ] {
            assert!(sc.phones.iter().any(|p| p.faults == [f]), "{f:?}");
        }
        // The plain fleet is the one it always was.
        assert!(scenario(50, 3, 600)
            .phones
            .iter()
            .all(|p| p.config_load.is_none() && p.tftp_timeout == TftpTimeout::Fixed));
    }
}
