//! The device table under pressure: eviction order, phones protected, refusals,
//! the memory budget and its accounting.

use std::net::Ipv4Addr;

use super::*;
use crate::capture::Linktype;
use crate::link::MacAddr;
use crate::model::encode::{self, DhcpClientKind};
use crate::model::wire::{self, Endpoint, L2};
use crate::pipeline::Pipeline;
use crate::reassembly::StreamLimits;
use crate::report::Report;

fn rules() -> RuleSet {
    crate::analyze::load_rules(None).unwrap()
}

fn mac(i: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, i])
}

/// A DHCP DISCOVER broadcast from `m`: a phone's (option 60 Cisco IP Phone) or a PC's.
fn discover(m: MacAddr, phone: bool) -> Vec<u8> {
    let msg = if phone {
        let name = format!("SEP{}", m.to_sep_hex());
        encode::dhcp_client(m, &name, "7970", 7, DhcpClientKind::Discover, 0)
    } else {
        encode::dhcp_pc(m, 7, DhcpClientKind::Discover)
    };
    let l2 = L2 {
        src: m,
        dst: wire::BROADCAST,
        vlan: Some(100),
    };
    let any = |ip, port| Endpoint { ip, port };
    wire::udp_frame(
        l2,
        any(Ipv4Addr::UNSPECIFIED, 68),
        any(Ipv4Addr::BROADCAST, 67),
        &msg,
    )
}

struct Run<'r> {
    p: Pipeline<'r>,
    n: u64,
}

impl<'r> Run<'r> {
    fn new(rules: &'r RuleSet, limits: EngineLimits) -> Self {
        Run {
            p: Pipeline::new("t", rules, limits, StreamLimits::default()),
            n: 0,
        }
    }

    fn frame(&mut self, data: &[u8]) {
        self.n += 1;
        let f = crate::capture::Frame {
            number: self.n,
            ts_ns: 1_000_000_000 + i64::try_from(self.n).unwrap() * 1_000_000,
            linktype: Linktype::ETHERNET,
            data,
            orig_len: u32::try_from(data.len()).unwrap(),
        };
        self.p.frame(&f);
        let e = self.p.engine();
        assert!(
            e.device_bytes() <= e.limits().max_device_bytes,
            "frame {}: {} > {}",
            self.n,
            e.device_bytes(),
            e.limits().max_device_bytes
        );
    }

    fn finish(self) -> Report {
        self.p
            .finish(None, &crate::capture::CaptureStats::default(), Vec::new())
    }
}

fn macs(devices: &[crate::report::PhoneReport]) -> Vec<String> {
    devices.iter().filter_map(|d| d.mac.clone()).collect()
}

fn small(max_devices: usize) -> EngineLimits {
    EngineLimits {
        max_devices,
        ..EngineLimits::default()
    }
}

#[test]
fn the_oldest_non_phone_goes_first_and_a_phone_never_goes_for_one() {
    let rules = rules();
    let mut r = Run::new(&rules, small(3));
    r.frame(&discover(mac(1), false));
    r.frame(&discover(mac(0xa), true));
    for i in 2..=6 {
        r.frame(&discover(mac(i), false));
    }
    let report = r.finish();
    // The phone stayed; of the PCs, the two newest (1, 2, 3, 4 went, in that order).
    assert_eq!(macs(&report.phones), ["02:00:00:00:00:0a"]);
    assert_eq!(
        macs(&report.other_devices),
        ["02:00:00:00:00:05", "02:00:00:00:00:06"]
    );
    assert_eq!(report.capture.devices_evicted, 4);
    assert_eq!(report.capture.devices_refused, 0);
}

#[test]
fn a_client_later_shown_to_be_a_phone_is_kept() {
    let rules = rules();
    let mut r = Run::new(&rules, small(2));
    // First seen as a plain client, then its DISCOVER names it a Cisco phone.
    r.frame(&discover(mac(1), false));
    r.frame(&discover(mac(1), true));
    for i in 2..=9 {
        r.frame(&discover(mac(i), false));
    }
    let report = r.finish();
    assert_eq!(macs(&report.phones), ["02:00:00:00:00:01"]);
    assert_eq!(macs(&report.other_devices), ["02:00:00:00:00:09"]);
    // 2..=8 went, one each time 3..=9 came.
    assert_eq!(report.capture.devices_evicted, 7);
}

#[test]
fn only_a_table_full_of_phones_refuses() {
    let rules = rules();
    let mut r = Run::new(&rules, small(2));
    r.frame(&discover(mac(1), true));
    r.frame(&discover(mac(2), true));
    r.frame(&discover(mac(3), true));
    r.frame(&discover(mac(4), false));
    r.frame(&discover(mac(3), true));
    let report = r.finish();
    assert_eq!(
        macs(&report.phones),
        ["02:00:00:00:00:01", "02:00:00:00:00:02"]
    );
    assert!(report.other_devices.is_empty());
    assert_eq!(report.capture.devices_refused, 3);
    assert_eq!(report.capture.devices_evicted, 0);
    assert!(report.capture.state_capped());
}

#[test]
fn the_memory_budget_holds_by_eviction_then_refusal_and_freezing() {
    let rules = rules();
    // Room for a handful of devices only (the check after every frame is in `Run`).
    let limits = EngineLimits {
        max_device_bytes: 49 * 1024,
        ..EngineLimits::default()
    };
    let mut r = Run::new(&rules, limits);
    for i in 0..40 {
        r.frame(&discover(mac(i), false));
    }
    let evicted = r.p.engine().stats().budget.evicted;
    assert!(evicted > 0, "the budget made room by forgetting clients");
    // Phones take the place of the clients, then fill the budget: the next ones
    // are refused, and one still growing is frozen rather than let past it.
    for i in 100..160 {
        r.frame(&discover(mac(i), true));
        r.frame(&discover(mac(i), true));
    }
    let report = r.finish();
    let c = &report.capture;
    eprintln!(
        "budget: {} phones, {} evicted, {} refused, {} frozen, {} events dropped",
        report.phones.len(),
        c.devices_evicted,
        c.devices_refused,
        c.devices_frozen,
        c.events_dropped
    );
    assert!(report.other_devices.is_empty(), "every client gave way");
    assert!(!report.phones.is_empty());
    assert!(c.devices_refused > 0);
    assert!(c.devices_frozen >= 1, "a phone still growing was frozen");
    for p in &report.phones {
        assert_eq!(p.kind, "phone");
    }
}

#[test]
fn the_accounting_follows_what_a_device_holds() {
    let rules = rules();
    let mut r = Run::new(&rules, EngineLimits::default());
    r.frame(&discover(mac(1), true));
    let e = r.p.engine();
    let dev = e.devices().next().unwrap();
    // One DISCOVER: a timeline of 4 slots, an evidence list of 4, a name.
    let expected = 4 * std::mem::size_of::<crate::timeline::Event>()
        + 4 * std::mem::size_of::<(crate::timeline::EventType, u64)>()
        + dev.name.as_ref().unwrap().len()
        + dev.model.as_ref().map_or(0, |m| m.len())
        // Its DHCP vendor class, kept for the inventory.
        + dev.inventory.as_ref().map_or(0, |i| {
            std::mem::size_of::<super::inventory::Inventory>() + i.heap_bytes()
        });
    assert_eq!(dev.heap_bytes(), expected);
    assert_eq!(dev.charged, dev.charge());
    assert!(
        dev.charge() > dev.heap_bytes(),
        "the report entry is counted too"
    );
    assert_eq!(e.device_bytes(), dev.charged);
}
