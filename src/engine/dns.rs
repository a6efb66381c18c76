//! DNS: the names a phone looks up (its call managers' names from its configuration,
//! an option 66 name) and what the server answered, on the phone's timeline. A
//! lookup is the phone's own when it comes from a followed phone's address; the
//! answer meets it by the phone's endpoint and the query id. No finding yet: the
//! events are the evidence later rules read.

use std::net::IpAddr;

use parsers::dns::{DnsMessage, DnsRdata};

use super::device::{DeviceKey, DeviceKind};
use super::shared::{Ctx, Shared};
use super::text::{clean, MAX_TEXT_BYTES};
use crate::dispatch;
use crate::timeline::{EventKind, MAX_DNS_ADDRS};
use crate::FastMap;

/// A lookup waiting for its answer, keyed by the phone's endpoint and the query id.
#[derive(Debug)]
struct Lookup {
    owner: DeviceKey,
    name: Box<str>,
    last_ns: i64,
}

/// Lookups open at once, out of the transactions a table may hold: a phone makes one
/// or two per call manager named, and answers come within milliseconds.
pub fn max_lookups(max_transactions: usize) -> usize {
    (max_transactions / 4).max(1)
}

/// The lookups waiting for their answers.
#[derive(Debug, Default)]
pub struct Dns {
    pending: FastMap<(IpAddr, u16, u16), Lookup>,
}

impl Dns {
    /// The most heap the lookups take, their names included, with `max_transactions`
    /// per table ([`max_lookups`] of them).
    pub fn max_heap_bytes(max_transactions: usize) -> usize {
        let n = max_lookups(max_transactions);
        (n * 8 / 7).next_power_of_two() * (std::mem::size_of::<((IpAddr, u16, u16), Lookup)>() + 1)
            + n * (2 * MAX_TEXT_BYTES + 64)
    }

    /// Lookups open.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Forget lookups `keep` says are idle too long; returns how many.
    pub fn sweep(&mut self, keep: impl Fn(i64) -> bool) -> u64 {
        let before = self.pending.len();
        self.pending.retain(|_, l| keep(l.last_ns));
        (before - self.pending.len()) as u64
    }

    /// One DNS message on UDP or TCP 53.
    pub fn message(&mut self, sh: &mut Shared<'_>, ctx: Ctx, m: &DnsMessage<'_>) {
        let Some(f) = ctx.flow else { return };
        let Some(q) = m.questions.first() else { return };
        let mut name = String::new();
        q.name.write_to(&mut name, MAX_TEXT_BYTES);
        if !m.header.response && f.dport == dispatch::DNS {
            // Only a followed phone's lookups: a PC's web browsing is no boot.
            let Some(owner) = sh.owner_of((f.src, f.sport), ctx.src_mac) else {
                return;
            };
            if sh
                .devices
                .get(&owner)
                .is_none_or(|d| d.kind != DeviceKind::Phone)
            {
                return;
            }
            let name: Box<str> = clean(&name).into();
            let key = (f.src, f.sport, m.header.id);
            let room = self.pending.len() < max_lookups(sh.max_transactions);
            if room || self.pending.contains_key(&key) {
                let lookup = Lookup {
                    owner: owner.clone(),
                    name: name.clone(),
                    last_ns: ctx.ts_ns,
                };
                self.pending.insert(key, lookup);
            } else {
                sh.transactions_evicted += 1;
            }
            let ev = EventKind::DnsQuery {
                name,
                qtype: q.qtype.0,
                server: f.dst,
            };
            sh.emit(&owner, ctx, ev, false);
        } else if m.header.response && f.sport == dispatch::DNS {
            let Some(lookup) = self.pending.remove(&(f.dst, f.dport, m.header.id)) else {
                return;
            };
            let addrs: Box<[IpAddr]> = m
                .answers
                .iter()
                .filter_map(|r| match r.rdata {
                    DnsRdata::A(a) => Some(IpAddr::V4(a)),
                    DnsRdata::Aaaa(a) => Some(IpAddr::V6(a)),
                    _ => None,
                })
                .take(MAX_DNS_ADDRS)
                .collect();
            let ev = EventKind::DnsAnswer {
                name: lookup.name,
                rcode: m.header.rcode.0,
                addrs,
                server: f.src,
            };
            sh.emit(&lookup.owner, ctx, ev, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::shared::harness::*;
    use super::*;
    use crate::model::encode;
    use crate::timeline::EventType;

    #[test]
    fn a_phone_s_lookup_meets_its_answer_and_a_pc_s_is_not_kept() {
        let (mut sh, mut dns) = (shared(), Dns::default());
        let key = DeviceKey::Mac(PHONE);
        let p = (PHONE, ip(20), 40000);
        let s = (SERVER, ip(53), 53);
        sh.device(&key, TEST_PHONE, ctx(1, p, s)).unwrap();
        sh.attribution.bind_ip(ip(20), PHONE);
        let q = encode::dns_a_query(9, "cucm-sub1.example.com").unwrap();
        dns.message(&mut sh, ctx(2, p, s), &parsers::dns::parse(&q).unwrap());
        let a = encode::dns_a_answer(9, "cucm-sub1.example.com", &[[10, 1, 1, 10].into()]).unwrap();
        dns.message(&mut sh, ctx(3, s, p), &parsers::dns::parse(&a).unwrap());
        assert_eq!(
            types(&sh, &key),
            [EventType::DnsQuery, EventType::DnsAnswer]
        );
        let dev = sh.devices.get(&key).unwrap();
        assert_eq!(
            dev.timeline.events[1].kind.text(),
            "DNS answer for cucm-sub1.example.com from 10.1.1.53: 10.1.1.10"
        );
        assert_eq!(dns.len(), 0);
        // A lookup from an address no phone holds is nobody's.
        let pc = (SERVER, ip(77), 40001);
        dns.message(&mut sh, ctx(4, pc, s), &parsers::dns::parse(&q).unwrap());
        assert_eq!(dns.len(), 0);
        // NXDOMAIN is said as such.
        let q = encode::dns_a_query(10, "gone.example.com").unwrap();
        dns.message(&mut sh, ctx(5, p, s), &parsers::dns::parse(&q).unwrap());
        let nx = encode::dns_a_answer(10, "gone.example.com", &[]).unwrap();
        dns.message(&mut sh, ctx(6, s, p), &parsers::dns::parse(&nx).unwrap());
        let dev = sh.devices.get(&key).unwrap();
        assert!(dev.timeline.events[3]
            .kind
            .text()
            .ends_with("no such name (NXDOMAIN)"));
    }
}
