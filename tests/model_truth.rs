//! The analyzer against the reference model's truth on scenarios nobody wrote: random
//! small sites (phones of both protocols and transports, any mix of faults, powered on
//! at any time, some already registered) played by the model, each phone's verdict
//! held to what the model knows it did. A failing case prints its seed and scenario.

use std::collections::BTreeMap;

use bootscope::model::scenario::{CmFault, Discovery, DnsAnswer, Fault, Protocol, SipTransport};
use bootscope::model::{fleet, Scenario};
use bootscope::report::PhoneReport;
use proptest::prelude::*;

use crate::common::{analyze, outcome, scratch};

const FAULTS: [Fault; 13] = [
    Fault::NoVoiceVlan,
    Fault::DhcpSilent,
    Fault::DhcpNak,
    Fault::TftpSilent,
    Fault::HttpSilent,
    Fault::NotProvisioned,
    Fault::RebootOnFailure,
    Fault::AddressTaken,
    Fault::TftpPortUnreachable,
    Fault::HttpRefused,
    Fault::ImageMissing,
    Fault::CmNameUnresolved,
    Fault::SecureModeClear,
];

/// A site of `n` phones from `seed`, shaped by `site` (discovery, the first call
/// manager's fault, XMLDefault, HTTP config, SIP digest, call managers named in DNS and
/// how DNS answers, an SRST router, a secure device security mode),
/// each phone then given `picks`' faults and shape.
fn scenario(
    seed: u64,
    n: u32,
    duration_s: u64,
    site: u16,
    picks: &[(u16, u8, u32, bool)],
) -> Scenario {
    let mut sc = fleet::scenario(n, seed, duration_s);
    sc.site.discovery = [Discovery::Cdp, Discovery::Lldp, Discovery::Both][usize::from(site % 3)];
    if let Some(cm) = sc.site.callmanagers.first_mut() {
        cm.fault = [
            None,
            Some(CmFault::Silent),
            Some(CmFault::Rst),
            Some(CmFault::Reject),
            Some(CmFault::Unanswered),
            Some(CmFault::PortUnreachable),
        ][usize::from(site / 3 % 6)];
    }
    sc.site.xml_default = site >> 4 & 1 == 0;
    sc.site.http_config = site >> 5 & 1 == 0;
    sc.site.sip_digest = site >> 6 & 1 == 1;
    if site >> 7 & 1 == 1 {
        sc.site.dns = Some(bootscope::model::scenario::SiteDns {
            server: std::net::Ipv4Addr::new(10, 1, 1, 53),
            domain: "voice.example.com".into(),
            answer: [
                DnsAnswer::Address,
                DnsAnswer::Address,
                DnsAnswer::Nxdomain,
                DnsAnswer::Servfail,
                DnsAnswer::Silent,
            ][usize::from(site >> 8 & 7) % 5],
        });
    }
    // The configuration's SRST router (the phones' gateway) and its security mode.
    if site >> 11 & 1 == 1 {
        sc.site.srst = Some(sc.site.voice_gateway);
    }
    if site >> 12 & 1 == 1 {
        sc.site.device_security_mode = Some(2);
    }
    // A capture runs until it is stopped, with other traffic around the boots: the
    // model's truth is judged at the capture's end, which the analyzer sees only as
    // the last frame.
    sc.background.traffic_mbps = 0.05;
    for (p, &(faults, shape, start_ms, registered)) in sc.phones.iter_mut().zip(picks) {
        p.faults = FAULTS
            .iter()
            .enumerate()
            .filter(|(i, _)| faults >> i & 1 == 1)
            .map(|(_, f)| *f)
            .take(2)
            .collect();
        p.protocol = if shape & 1 == 0 {
            Protocol::Sccp
        } else {
            Protocol::Sip
        };
        p.model = if shape & 1 == 0 {
            "7970".into()
        } else {
            "8851".into()
        };
        p.transport = if shape & 2 == 0 {
            SipTransport::Udp
        } else {
            SipTransport::Tcp
        };
        p.start_ms = u64::from(start_ms);
        p.already_registered = registered && p.faults.is_empty();
    }
    sc
}

proptest! {
    // 48 cases in CI; PROPTEST_CASES=2000 for a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_phone_gets_the_verdict_the_model_knows(
        seed in any::<u64>(),
        duration_s in 90u64..400,
        site in any::<u16>(),
        picks in prop::collection::vec((any::<u16>(), any::<u8>(), 0u32..60_000, prop::bool::weighted(0.1)), 1..6),
    ) {
        let sc = scenario(seed, picks.len() as u32, duration_s, site, &picks);
        let (pcap, truth) = bootscope::model::simulate(&sc, Vec::new()).unwrap();
        let path = scratch(&format!("truth-{seed}.pcap"));
        std::fs::write(&path, pcap).unwrap();
        let r = analyze(&path);
        let got: BTreeMap<&str, &PhoneReport> =
            r.phones.iter().map(|p| (p.mac.as_deref().unwrap_or(""), p)).collect();
        for e in &truth.phones {
            let want = serde_json::to_value(e).unwrap();
            let have = got.get(e.mac.as_str()).map(|p| outcome(p));
            prop_assert_eq!(
                have.as_ref(),
                Some(&want),
                "seed {} scenario {}",
                seed,
                serde_json::to_string(&sc).unwrap()
            );
        }
        let _ = std::fs::remove_file(&path);
    }
}
