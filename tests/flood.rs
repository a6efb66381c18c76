//! State under attack: a DHCP starvation flood of 1 000 000 made-up client
//! MACs and 100 000 half-open TCP flows, with real phones booting amid them. The
//! reference model writes the capture and its frames go straight into the pipeline
//! (no 300 MB file); the library's counting allocator measures the peak heap, which
//! is why this is a test binary of its own (one test function: the phases must not
//! overlap). Expected counts come from arithmetic over the scenario, the verdicts
//! from the model's truth; the sample's site finding from tshark's reading.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bootscope::capture::{CaptureStats, Frame, Linktype};
use bootscope::heap;
use bootscope::limits::Limits;
use bootscope::model::scenario::{Flood, FloodStyle, Protocol, SipTransport, Storm, StormKind};
use bootscope::model::truth::ExpectedReport;
use bootscope::model::{self, fleet, Scenario};
use bootscope::pipeline::Pipeline;
use bootscope::report::{PhoneReport, Report};

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

/// The tests of this binary run one at a time: the heap is counted for the process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Count the heap (from the first test on: what the harness allocated before is not
/// counted) and wait for the other tests.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    heap::count();
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A pcap byte stream from the model, cut into records and fed to a pipeline as it
/// comes: memory stays flat however long the capture.
struct Feed<'p, 'r> {
    pipeline: &'p mut Pipeline<'r>,
    buf: Vec<u8>,
    header: bool,
    stats: CaptureStats,
}

impl Write for Feed<'_, '_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        let mut at = 0;
        if !self.header {
            if self.buf.len() < 24 {
                return Ok(data.len());
            }
            self.header = true;
            at = 24;
        }
        while let Some(h) = self.buf.get(at..at + 16) {
            let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
            let (secs, usecs, len) = (word(0), word(4), word(8) as usize);
            let Some(data) = self.buf.get(at + 16..at + 16 + len) else {
                break;
            };
            self.stats.frames += 1;
            self.stats.bytes += len as u64;
            let frame = Frame {
                number: self.stats.frames,
                ts_ns: i64::from(secs) * 1_000_000_000 + i64::from(usecs) * 1000,
                linktype: Linktype::ETHERNET,
                data,
                orig_len: len as u32,
            };
            self.pipeline.frame(&frame);
            at += 16 + len;
        }
        self.buf.drain(..at);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Simulate `sc` straight into `pipeline`: what was read, and the model's truth.
fn simulate_into(sc: &Scenario, pipeline: &mut Pipeline<'_>) -> (CaptureStats, ExpectedReport) {
    let feed = Feed {
        pipeline,
        buf: Vec::new(),
        header: false,
        stats: CaptureStats::default(),
    };
    let (feed, truth) = model::simulate(sc, feed).unwrap();
    assert!(feed.buf.is_empty(), "a record was cut");
    (feed.stats, truth)
}

/// Simulate `sc` straight into a pipeline with `limits`: the report, the model's
/// truth, and the peak heap of the run above what was in use before it.
fn run(sc: &Scenario, limits: &Limits) -> (Report, ExpectedReport, usize) {
    let rules = bootscope::analyze::load_rules(None).unwrap();
    let base = heap::reset_peak();
    let mut pipeline = Pipeline::new("flood", &rules, limits.engine, limits.streams);
    let (stats, truth) = simulate_into(sc, &mut pipeline);
    let report = pipeline.finish(None, &stats, vec!["flood".into()]);
    let peak = heap::peak() - base;
    (report, truth, peak)
}

/// A site of `phones` phones (SIP over UDP: no TCP of their own, so the stream
/// table holds only the flood's flows) and a tenth as many PCs, the flood starting
/// at 100 s once some phones have their address; the capture runs to 420 s, so
/// every phone (powered on within 300 s) has time to stall or register.
fn flooded_site(phones: u32, macs: u32, half_open: u32, seed: u64) -> Scenario {
    let mut sc = fleet::scenario(phones, seed, 420);
    for p in &mut sc.phones {
        p.protocol = Protocol::Sip;
        p.transport = SipTransport::Udp;
        p.model = "7965".into();
    }
    sc.site.http_config = false;
    // The scope: the phones and ten more; the flood takes what is left.
    sc.site.dhcp_pool = Some(phones + 10);
    sc.flood = Some(Flood {
        start_ms: 100_000,
        macs,
        rate: 20_000,
        style: FloodStyle::RandomSource,
        vlan: None,
        half_open,
        syn_start_ms: 100_000,
        syn_rate: 10_000,
        storms: Vec::new(),
    });
    sc.check().unwrap();
    sc
}

/// The outcome in expected.json's shape.
fn outcome(p: &PhoneReport) -> (String, String, Option<String>, Vec<String>) {
    let mut codes: Vec<String> = p
        .findings
        .iter()
        .filter(|f| f.severity != rules::Severity::Info)
        .map(|f| f.code.clone())
        .collect();
    codes.sort();
    (
        p.mac.clone().unwrap_or_default(),
        p.status.as_str().to_owned(),
        p.stalled_stage.map(|s| s.as_str().to_owned()),
        codes,
    )
}

fn truth_outcomes(t: &ExpectedReport) -> Vec<(String, String, Option<String>, Vec<String>)> {
    t.phones
        .iter()
        .map(|p| {
            let status = serde_json::to_value(p.status).unwrap();
            (
                p.mac.clone(),
                status.as_str().unwrap().to_owned(),
                p.stalled_stage.map(|s| s.as_str().to_owned()),
                p.findings.clone(),
            )
        })
        .collect()
}

/// Flows the flood sends to a port the reassembler follows (SCCP 2000, SCCP over TLS
/// 2443, SIP 5060, HTTP 6970: every one): each is one stream.
fn stream_flows(half_open: u32) -> u64 {
    u64::from(half_open)
}

fn check(sc: &Scenario, limits: &Limits, what: &str) {
    let started = Instant::now();
    let (report, truth, peak) = run(sc, limits);
    let secs = started.elapsed().as_secs_f64();
    let flood = sc.flood.as_ref().unwrap();
    let c = &report.capture;
    eprintln!(
        "{what}: {} frames in {secs:.1} s; peak heap {:.1} MiB of {} MiB; {} devices evicted, \
         {} refused, {} frozen; {} streams evicted, {} untracked",
        c.frames,
        peak as f64 / f64::from(1 << 20),
        limits.max_memory >> 20,
        c.devices_evicted,
        c.devices_refused,
        c.devices_frozen,
        c.streams_evicted,
        c.streams_untracked,
    );

    // Bounded: the heap stays within the budget the limits were made from.
    assert!(
        peak <= limits.max_memory,
        "{what}: peak heap {peak} over the {} budget",
        limits.max_memory
    );

    // The flood is the site finding, with every made-up client counted once.
    let [site] = report.site_findings.as_slice() else {
        panic!("{what}: {:?}", report.site_findings)
    };
    assert_eq!(site.code, "dhcp-starvation");
    assert_eq!(site.vlan, Some(sc.site.voice_vlan));
    assert_eq!(
        site.clients,
        Some(u64::from(flood.macs)),
        "{what}: {}",
        site.message
    );
    assert_eq!(truth.site_findings[0].clients, u64::from(flood.macs));
    assert_eq!(site.requests, Some(0), "Yersinia style: nothing follows");
    assert_eq!(site.peak_per_second, u64::from(flood.rate));
    let span = f64::from(flood.macs - 1) / f64::from(flood.rate);
    assert!(
        (site.end.as_secs() - site.start.as_secs() - span).abs() < 0.01,
        "{site:?}"
    );
    let mut site_only = report.clone();
    site_only.phones.clear();
    site_only.other_devices.clear();
    assert!(site_only.has_errors(), "the flood alone gives exit code 1");

    // Every phone, booting before, during or after the flood, gets the model's verdict.
    let got: Vec<_> = report.phones.iter().map(outcome).collect();
    let want = truth_outcomes(&truth);
    assert_eq!(got.len(), sc.phones.len(), "{what}: every phone followed");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{what}");
    }
    let starved = got
        .iter()
        .filter(|o| o.3.contains(&"dhcp-starvation".into()));
    let registered = got.iter().filter(|o| o.1 == "registered").count();
    assert!(
        starved.count() > 10 && registered > 10,
        "{what}: both kinds"
    );

    // Evictions: every device but the ones the table holds at the end, no phone
    // among them, none refused; every flow to a followed port but the table's.
    let devices = u64::from(flood.macs) + sc.phones.len() as u64 + u64::from(sc.background.pcs);
    let held = report.phones.len() + report.other_devices.len();
    assert_eq!(c.devices_refused, 0);
    assert_eq!(c.devices_frozen, 0);
    assert_eq!(c.devices_evicted, devices - held as u64, "{what}");
    if held == limits.engine.max_devices {
        assert_eq!(
            c.devices_evicted,
            devices - limits.engine.max_devices as u64,
            "{what}: the count cap binds"
        );
    }
    let flows = stream_flows(flood.half_open);
    let kept = limits.streams.max_streams as u64;
    assert_eq!(c.streams_evicted, flows.saturating_sub(kept), "{what}");
    assert_eq!(c.streams_untracked, 0);
}

#[test]
fn a_million_mac_dhcp_flood_and_100k_half_open_flows_stay_within_their_bounds() {
    let _one = one_at_a_time();
    // The defaults: the device count binds (25 000 of the 1 000 165 devices).
    let sc = flooded_site(150, 1_000_000, 100_000, 3);
    check(&sc, &Limits::default(), "defaults");

    // A smaller budget: 136 MiB with smaller tables (their part grew with the 802.1X
    // ports, the phones' port state and the DNS lookups); the devices' memory binds
    // before their count, and the phones are still all followed.
    let small = Limits::new(136, 10_000, 16_384, 2048).unwrap();
    for (name, bytes) in small.parts() {
        eprintln!(
            "136 MiB: {name}: {:.1} MiB",
            bytes as f64 / f64::from(1 << 20)
        );
    }
    let sc = flooded_site(150, 200_000, 40_000, 4);
    check(&sc, &small, "136 MiB");
}

/// The engine's accounting against the heap it stands for: a fleet of phones and
/// PCs (no flood), its state as the counting allocator sees it before the report,
/// and the report once built.
#[test]
fn the_memory_accounting_covers_the_devices_and_their_report() {
    let _one = one_at_a_time();
    let rules = bootscope::analyze::load_rules(None).unwrap();
    let limits = Limits::default();
    for (n, seed, duration) in [(1000, 11, 600), (300, 12, 3600)] {
        let sc = fleet::scenario(n, seed, duration);
        let base = heap::in_use();
        let mut pipeline = Pipeline::new("fleet", &rules, limits.engine, limits.streams);
        let (stats, _) = simulate_into(&sc, &mut pipeline);
        let charged = pipeline.engine().device_bytes();
        let state = heap::in_use() - base;
        let report = pipeline.finish(None, &stats, Vec::new());
        let kept = heap::in_use() - base;
        let devices = report.phones.len() + report.other_devices.len();
        let events: usize = report
            .phones
            .iter()
            .chain(&report.other_devices)
            .map(|p| p.timeline.len())
            .sum();
        eprintln!(
            "{n} phones, {duration} s: {devices} devices, {events} timeline entries; charged \
             {:.1} MiB, all state {:.1} MiB, report {:.1} MiB ({} bytes a device, {} an entry)",
            charged as f64 / f64::from(1 << 20),
            state as f64 / f64::from(1 << 20),
            kept as f64 / f64::from(1 << 20),
            kept / devices,
            kept / events.max(1),
        );
        assert!(charged >= state, "the charge covers every table's state");
        assert!(charged >= kept, "the charge covers the report");
        assert_eq!(
            report.capture.devices_evicted + report.capture.devices_frozen,
            0
        );
        // A site booting, PCs included (a tenth as many, in the first 20 s), is no
        // flood.
        assert!(
            report.site_findings.is_empty(),
            "{:?}",
            report.site_findings
        );
        drop(report);
    }
}

/// An ARP storm, a DNS flood, an EAPOL-Start flood and ICMP errors by the thousand,
/// each from made-up senders (the ICMP errors from the gateway), amid phones booting:
/// each is one site finding with every message counted, the phones keep the model's
/// verdicts, and the heap stays within a small budget.
#[test]
fn the_floods_told_by_rate_are_each_reported_once_within_memory() {
    let _one = one_at_a_time();
    let storm = |kind, messages, rate, start_s: u64, style| Storm {
        kind,
        messages,
        rate,
        start_ms: start_s * 1000,
        vlan: None,
        style,
    };
    let mut sc = flooded_site(150, 0, 0, 8);
    let flood = sc.flood.as_mut().unwrap();
    flood.storms = vec![
        storm(StormKind::Arp, 60_000, 3000, 60, FloodStyle::RandomSource),
        storm(StormKind::Dns, 80_000, 4000, 120, FloodStyle::OneSource),
        storm(
            StormKind::EapolStart,
            20_000,
            1000,
            180,
            FloodStyle::RandomSource,
        ),
        storm(
            StormKind::IcmpUnreachable,
            6000,
            300,
            240,
            FloodStyle::OneSource,
        ),
    ];
    sc.check().unwrap();
    let limits = Limits::new(136, 10_000, 16_384, 2048).unwrap();
    let (report, truth, peak) = run(&sc, &limits);
    eprintln!(
        "rate floods: {} frames; peak heap {:.1} MiB of {} MiB",
        report.capture.frames,
        peak as f64 / f64::from(1 << 20),
        limits.max_memory >> 20
    );
    assert!(peak <= limits.max_memory, "peak heap {peak}");
    let c = &report.capture;
    eprintln!(
        "devices: {} phones, {} others; {} evicted, {} refused, {} frozen; kinds {:?}",
        report.phones.len(),
        report.other_devices.len(),
        c.devices_evicted,
        c.devices_refused,
        c.devices_frozen,
        report.summary.other_devices
    );
    // Each storm once, on its VLAN, with every message the model sent (its truth);
    // the phones' own ARP requests and DNS queries on the VLAN during the storm are
    // counted with it (a few a phone at most).
    let mut got: Vec<(String, Option<u16>, u64)> = report
        .site_findings
        .iter()
        .map(|f| (f.code.clone(), f.vlan, f.messages.unwrap_or(0)))
        .collect();
    got.sort();
    let mut want: Vec<(String, Option<u16>, u64)> = truth
        .site_findings
        .iter()
        .map(|f| (f.code.clone(), f.vlan, f.messages))
        .collect();
    want.sort();
    let voice = Some(sc.site.voice_vlan);
    assert_eq!(
        want,
        [
            ("arp-storm".to_owned(), voice, 60_000),
            ("dns-flood".to_owned(), voice, 80_000),
            ("eapol-start-flood".to_owned(), None, 20_000),
            ("icmp-error-flood".to_owned(), voice, 6000),
        ]
    );
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0, g.1), (&w.0, w.1));
        let others =
            g.2.checked_sub(w.2)
                .unwrap_or_else(|| panic!("{g:?} < {w:?}"));
        assert!(others <= 2 * sc.phones.len() as u64, "{g:?} {w:?}");
    }
    for f in &report.site_findings {
        let storm = sc
            .flood
            .as_ref()
            .unwrap()
            .storms
            .iter()
            .find(|s| s.code() == f.code);
        let storm = storm.unwrap();
        let over = f.peak_per_second.checked_sub(u64::from(storm.rate));
        assert!(
            over.is_some_and(|n| n <= 2 * sc.phones.len() as u64),
            "{}",
            f.message
        );
        let span = f64::from(storm.messages - 1) / f64::from(storm.rate);
        assert!(
            (f.end.as_secs() - f.start.as_secs() - span).abs() < 0.01,
            "{f:?}"
        );
        // One sender named where there was one: the DNS flood's host, the gateway.
        let one = matches!(f.code.as_str(), "dns-flood" | "icmp-error-flood");
        assert_eq!(f.source.is_some(), one, "{}", f.message);
        assert!(!f.checks.is_empty() && !f.checks.iter().any(|c| c.contains("{vlan}")));
    }
    // The phones keep the verdicts the model gives them.
    let got: Vec<_> = report.phones.iter().map(outcome).collect();
    assert_eq!(got, truth_outcomes(&truth));
}

#[test]
fn the_sample_flood_is_the_one_tshark_reads() {
    let _one = one_at_a_time();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/dhcp-starvation");
    let report = bootscope::analyze::run(&dir.join("capture.pcap"), &Default::default()).unwrap();
    // tshark: every DISCOVER without a Cisco phone's option 60, by client address.
    let text = std::fs::read_to_string(dir.join("tshark-discovers.tsv")).unwrap();
    let mut macs = std::collections::BTreeSet::new();
    let mut frames = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [frame, _src, chaddr, vlan, vendor] = f[..] else {
            panic!("{line}")
        };
        if vendor.starts_with("Cisco Systems, Inc. IP Phone") {
            continue;
        }
        assert_eq!(vlan, "100");
        macs.insert(chaddr.split(',').next().unwrap().to_owned());
        frames.push(frame.parse::<u64>().unwrap());
    }
    let [site] = report.site_findings.as_slice() else {
        panic!("{:?}", report.site_findings)
    };
    assert_eq!(site.clients, Some(macs.len() as u64));
    assert_eq!(site.first_frame, *frames.iter().min().unwrap());
    assert_eq!(site.last_frame, *frames.iter().max().unwrap());
    assert_eq!(site.vlan, Some(100));
    // tshark: the half-open flows, from the flood's spoofed sources.
    let syns = std::fs::read_to_string(dir.join("tshark-syns.tsv")).unwrap();
    let spoofed = syns
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .filter_map(|ip| ip.parse::<Ipv4Addr>().ok())
        .filter(|ip| ip.octets()[0] == 172 && ip.octets()[1] & 0xf0 == 16)
        .count();
    let scenario = Scenario::load(&dir.join("scenario.json")).unwrap();
    assert_eq!(
        spoofed as u32,
        scenario.flood.as_ref().unwrap().half_open,
        "every flow in the capture"
    );
    // Each made-up client is a device of its own; a smaller table evicts, oldest
    // first, and counts it: 2000 clients and 3 phones, 500 kept.
    let opts = bootscope::analyze::Options {
        limits: bootscope::engine::EngineLimits {
            max_devices: 500,
            ..Default::default()
        },
        ..Default::default()
    };
    let small = bootscope::analyze::run(&dir.join("capture.pcap"), &opts).unwrap();
    assert_eq!(small.capture.devices_evicted, macs.len() as u64 + 3 - 500);
    assert_eq!(small.phones.len(), 3);
    assert_eq!(small.site_findings[0].clients, Some(macs.len() as u64));
    let table = bootscope::report::table::render(&small, None);
    assert!(
        table.starts_with("SITE dhcp-starvation (error, dhcp)"),
        "{table}"
    );
    assert!(table.contains("1503 device(s) evicted"), "{table}");
}
