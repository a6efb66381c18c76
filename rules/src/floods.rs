//! Floods told by their rate (`"floods"` in `findings.json`): on one VLAN, within a
//! sliding window, at least so many messages of one kind — ARP requests, DNS queries,
//! EAPOL-Starts, ICMP errors. Each is a site finding, its words and next checks data
//! like every other finding's.

use serde::Deserialize;

use crate::span::{Key, Source};
use crate::{is_kebab, LoadError, Severity, Stage};

/// The longest window a flood may be watched over, in ms.
pub const MAX_FLOOD_WINDOW_MS: u64 = 60_000;

/// What a rate flood counts (`"counts"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    /// ARP requests (gratuitous ones and probes included).
    ArpRequests,
    /// DNS queries (not answers), UDP or TCP.
    DnsQueries,
    /// EAPOL-Start frames.
    EapolStarts,
    /// ICMP and ICMPv6 errors: destination unreachable, time exceeded.
    IcmpErrors,
}

impl Counted {
    /// Every kind, in a fixed order (the engine's index).
    pub const ALL: [Counted; 4] = [
        Counted::ArpRequests,
        Counted::DnsQueries,
        Counted::EapolStarts,
        Counted::IcmpErrors,
    ];

    /// Its place in [`Counted::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// What one of them is called in a report.
    pub fn noun(self) -> &'static str {
        match self {
            Counted::ArpRequests => "ARP requests",
            Counted::DnsQueries => "DNS queries",
            Counted::EapolStarts => "EAPOL-Starts",
            Counted::IcmpErrors => "ICMP errors",
        }
    }
}

/// One flood watched by rate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateFlood {
    /// The site finding's kebab-case code (`arp-storm`).
    pub code: String,
    /// What is counted.
    pub counts: Counted,
    /// The stage it hits.
    pub stage: Stage,
    /// The sliding window, in whole seconds of capture time (1000..=60000 ms).
    pub window_ms: u64,
    /// Messages within the window, on one VLAN, that make a flood.
    pub min_in_window: u64,
    /// The site finding's severity.
    pub severity: Severity,
    /// What it means, after the counts the report puts first.
    pub meaning: String,
    /// The next checks; `{vlan}` is replaced by the VLAN.
    #[serde(default)]
    pub checks: Vec<String>,
}

/// Check the `"floods"` section: whole-second windows within bounds, positive
/// thresholds, kebab-case codes, each kind counted once.
pub(crate) fn check(src: &Source<'_>, floods: &[RateFlood]) -> Result<(), LoadError> {
    for (i, f) in floods.iter().enumerate() {
        let field = |name: &str| src.node(&[Key::Field("floods"), Key::Index(i), Key::Field(name)]);
        if !is_kebab(&f.code) {
            return Err(src.error(
                field("code"),
                format!("flood code `{}` is not kebab-case", f.code),
            ));
        }
        // The engine keeps a bucket per second per VLAN: the window bounds its memory.
        if !(1000..=MAX_FLOOD_WINDOW_MS).contains(&f.window_ms) || f.window_ms % 1000 != 0 {
            return Err(src.error(
                field("window_ms"),
                format!(
                    "floods `{}`: window_ms must be whole seconds between 1000 and 60000",
                    f.code
                ),
            ));
        }
        if f.min_in_window == 0 {
            return Err(src.error(
                field("min_in_window"),
                format!("floods `{}`: min_in_window must be positive", f.code),
            ));
        }
        if floods[..i].iter().any(|g| g.counts == f.counts) {
            return Err(src.error(
                field("counts"),
                format!(
                    "floods `{}`: another flood counts the same messages",
                    f.code
                ),
            ));
        }
        if floods[..i].iter().any(|g| g.code == f.code) {
            return Err(src.error(
                field("code"),
                format!("flood code `{}` appears twice", f.code),
            ));
        }
    }
    Ok(())
}
