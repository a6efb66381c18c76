//! A fleet scenario built in code: N phones on one site, most booting cleanly,
//! some with per-phone faults, plus background PCs. For benchmarks and scale
//! tests (`bootscope simulate --fleet N`).

use std::net::Ipv4Addr;

use super::scenario::{
    Background, Bulk, CallManager, ConfigSecurity, Discovery, Fault, Mac, PhoneSpec, Protocol,
    Scenario, SipTransport, Site, TftpOption, TftpTimeout,
};
use super::sim::Rng;
use crate::link::MacAddr;

/// `n` phones starting within the first minutes of a `duration_s` capture.
pub fn scenario(n: u32, seed: u64, duration_s: u64) -> Scenario {
    with_traffic(n, seed, duration_s, 0.0)
}

/// [`scenario`] with `traffic_mbps` of background traffic (RTP and bulk TCP).
pub fn with_traffic(n: u32, seed: u64, duration_s: u64, traffic_mbps: f64) -> Scenario {
    let mut rng = Rng::new(seed);
    let n = n.min(60_000);
    let phones = (0..n)
        .map(|i| {
            let faults = match rng.range(0, 99) {
                0..=2 => vec![Fault::DhcpSilent],
                3..=4 => vec![Fault::TftpSilent],
                5..=6 => vec![Fault::NotProvisioned],
                7 => vec![Fault::DhcpNak],
                8 => vec![Fault::NoVoiceVlan],
                _ => Vec::new(),
            };
            let sip = rng.range(0, 2) == 0;
            PhoneSpec {
                mac: Mac(MacAddr([
                    0x00,
                    0x1b,
                    0x54,
                    0x40 | (i >> 16) as u8,
                    (i >> 8) as u8,
                    i as u8,
                ])),
                model: if sip { "8851".into() } else { "7970".into() },
                protocol: if sip { Protocol::Sip } else { Protocol::Sccp },
                transport: if rng.range(0, 1) == 0 {
                    SipTransport::Udp
                } else {
                    SipTransport::Tcp
                },
                running_load: None,
                // Power returns floor by floor over five minutes.
                start_ms: u64::try_from(rng.range(0, 300_000)).unwrap_or(0),
                already_registered: rng.range(0, 19) == 0,
                faults,
                config_load: None,
                trust_files: None,
                config_security: ConfigSecurity::Plain,
                tftp_timeout: TftpTimeout::Fixed,
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
