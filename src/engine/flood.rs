//! The site-wide DHCP starvation detector. A starvation flood (Yersinia's DHCP
//! DISCOVER attack: a random Ethernet source and client hardware address per
//! message; dhcpstarv: one source, a random `chaddr` each time) asks the server for
//! addresses under thousands of made-up clients until the scope is empty; phones
//! booting then get no OFFER. Per VLAN, over a sliding window of one-second buckets
//! (`dhcp_starvation` in `rules/findings.json`), the detector counts DHCP clients
//! seen for the first time that sent a DISCOVER, and the REQUESTs of clients that
//! are not phones. A window holding at least `min_silent_clients` more new clients
//! than requests opens an *episode*, which lasts while the window stays over the
//! threshold; each episode becomes a `dhcp-starvation` site finding, and phones
//! whose DHCP stalled on that VLAN after it began get the per-phone finding through
//! the `dhcp_flood_macs` fact. Memory: one ring of buckets per VLAN (at most 4096),
//! at most [`MAX_EPISODES`] episodes; nothing per client.

use std::collections::HashMap;

use rules::{DhcpStarvation, Stage};

use crate::link::MacAddr;
use crate::report::{Seconds, SiteFinding};

/// Episodes kept; past it further ones are counted only.
pub const MAX_EPISODES: usize = 256;

/// The longest window the rules may set, in seconds (rules/src: `window_ms`).
pub const MAX_WINDOW_S: u64 = 60;

/// The site finding's code.
pub const CODE: &str = "dhcp-starvation";

/// One second of one VLAN.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    second: i64,
    new_clients: u64,
    requests: u64,
    forged: u64,
    /// Time and frame of its first new client.
    first: Option<(i64, u64)>,
}

/// The sliding window of one VLAN.
#[derive(Debug, Clone)]
struct Window {
    buckets: Box<[Bucket]>,
    /// The latest second counted (capture time never goes back in the window).
    latest: i64,
    /// The episode under way, as an index in [`Detector::episodes`].
    open: Option<usize>,
}

/// One flood: a stretch of time in which one VLAN saw many new DHCP clients that
/// never asked for the address offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// The VLAN (the innermost tag; `None`: untagged).
    pub vlan: Option<u16>,
    /// New clients that sent a DISCOVER from the window that opened it to its end.
    pub clients: u64,
    /// REQUESTs from clients that are not phones over the same stretch.
    pub requests: u64,
    /// DISCOVERs whose Ethernet source is not the client hardware address (one host
    /// forging clients, dhcpstarv style).
    pub forged: u64,
    /// Its first and last new client, the most in one second, and the one Ethernet
    /// source that sent every DISCOVER (dhcpstarv style).
    pub stretch: Stretch,
}

/// A flood's extent, as every flood detector keeps it: its first and last message, its
/// busiest second, and its one sender while every message came from one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    /// Time of its first message.
    pub first_ns: i64,
    /// Frame of its first message.
    pub first_frame: u64,
    /// Time of its last message.
    pub last_ns: i64,
    /// Frame of its last message.
    pub last_frame: u64,
    /// Most messages in one second.
    pub peak_per_second: u64,
    one_source: Option<MacAddr>,
    several_sources: bool,
}

impl Stretch {
    /// A stretch from its first message at (`ts_ns`, `frame`).
    pub fn from(ts_ns: i64, frame: u64) -> Self {
        Stretch {
            first_ns: ts_ns,
            first_frame: frame,
            last_ns: ts_ns,
            last_frame: frame,
            peak_per_second: 0,
            one_source: None,
            several_sources: false,
        }
    }

    /// One more message, at (`ts_ns`, `frame`) from `source`, in a second that holds
    /// `in_second` so far.
    pub fn extend(&mut self, ts_ns: i64, frame: u64, source: Option<MacAddr>, in_second: u64) {
        self.last_ns = ts_ns;
        self.last_frame = frame;
        self.peak_per_second = self.peak_per_second.max(in_second);
        match (self.one_source, source) {
            (_, None) => {}
            (None, Some(s)) if !self.several_sources => self.one_source = Some(s),
            (Some(o), Some(s)) if o != s => {
                self.one_source = None;
                self.several_sources = true;
            }
            _ => {}
        }
    }

    /// The Ethernet source of every message, when there was one.
    pub fn one_source(&self) -> Option<MacAddr> {
        self.one_source.filter(|_| !self.several_sources)
    }

    /// Seconds from its first message to its last.
    pub fn span_s(&self) -> f64 {
        (self.last_ns - self.first_ns).max(0) as f64 / 1e9
    }

    /// The site finding of a flood over this stretch on `vlan`, times from `start_ns`,
    /// `checks` with `{vlan}` filled in; its code, words and counts are the detector's
    /// to set over it.
    pub fn finding(&self, vlan: Option<u16>, start_ns: i64, checks: &[String]) -> SiteFinding {
        let rel = |ns: i64| Seconds::of_ns(ns - start_ns);
        let vlan_text = vlan.map_or_else(|| "untagged".to_owned(), |v| v.to_string());
        SiteFinding {
            code: String::new(),
            severity: rules::Severity::Warning,
            stage: Stage::Dhcp,
            message: String::new(),
            vlan,
            clients: None,
            requests: None,
            forged_chaddr: None,
            messages: None,
            source: self.one_source().map(|m| m.to_string()),
            start: rel(self.first_ns),
            end: rel(self.last_ns),
            peak_per_second: self.peak_per_second,
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            evidence: vec![self.first_frame, self.last_frame],
            checks: checks
                .iter()
                .map(|c| c.replace("{vlan}", &vlan_text))
                .collect(),
        }
    }
}

/// The detector's state for one capture.
#[derive(Debug, Clone)]
pub struct Detector {
    rule: DhcpStarvation,
    seconds: usize,
    windows: HashMap<Option<u16>, Window>,
    episodes: Vec<Episode>,
    /// Episodes not kept (past [`MAX_EPISODES`]).
    pub episodes_dropped: u64,
}

impl Detector {
    /// A detector with the thresholds of `rule`.
    pub fn new(rule: &DhcpStarvation) -> Self {
        let seconds = usize::try_from(rule.window_ms / 1000).unwrap_or(1).max(1);
        Detector {
            rule: rule.clone(),
            seconds,
            windows: HashMap::new(),
            episodes: Vec::new(),
            episodes_dropped: 0,
        }
    }

    /// The most heap a detector can take: a window for every VLAN id and untagged,
    /// at the longest window the rules allow, and every episode kept.
    pub fn max_heap_bytes() -> usize {
        use std::mem::size_of;
        let windows: usize = 4097;
        let seconds = usize::try_from(MAX_WINDOW_S).unwrap_or(60);
        (windows * 8 / 7).next_power_of_two() * (size_of::<(Option<u16>, Window)>() + 1)
            + windows * seconds * size_of::<Bucket>()
            + 2 * MAX_EPISODES * size_of::<Episode>()
    }

    /// The episodes so far (the last ones may still be under way).
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    /// The window of `vlan` moved to `ts_ns`'s second; the bucket for it.
    fn bucket(
        windows: &mut HashMap<Option<u16>, Window>,
        n: usize,
        vlan: Option<u16>,
        ts_ns: i64,
    ) -> (&mut Window, usize) {
        let w = windows.entry(vlan).or_insert_with(|| Window {
            buckets: vec![Bucket::default(); n].into_boxed_slice(),
            latest: i64::MIN,
            open: None,
        });
        let second = ts_ns.div_euclid(1_000_000_000).max(w.latest);
        w.latest = second;
        let at = usize::try_from(second.rem_euclid(n as i64)).unwrap_or(0);
        if let Some(b) = w.buckets.get_mut(at) {
            if b.second != second {
                *b = Bucket {
                    second,
                    ..Bucket::default()
                };
            }
        }
        (w, at)
    }

    /// New clients and requests in `w`'s window ending at its latest second.
    fn sums(w: &Window, seconds: usize) -> (u64, u64) {
        let from = w.latest - seconds as i64;
        w.buckets
            .iter()
            .filter(|b| b.second > from)
            .fold((0, 0), |(n, r), b| (n + b.new_clients, r + b.requests))
    }

    /// Close the episode of `vlan` when its window fell under the threshold.
    fn settle(&mut self, vlan: Option<u16>) {
        let Some(w) = self.windows.get_mut(&vlan) else {
            return;
        };
        let (new, req) = Self::sums(w, self.seconds);
        if w.open.is_some() && new.saturating_sub(req) < self.rule.min_silent_clients {
            w.open = None;
        }
    }

    /// A DHCP client never seen before (not a phone) sent a DISCOVER.
    pub fn new_client(
        &mut self,
        ts_ns: i64,
        frame: u64,
        vlan: Option<u16>,
        source: Option<MacAddr>,
        client: MacAddr,
    ) {
        let forged = source.is_some_and(|s| s != client);
        let seconds = self.seconds;
        let (w, at) = Self::bucket(&mut self.windows, seconds, vlan, ts_ns);
        if let Some(b) = w.buckets.get_mut(at) {
            b.new_clients += 1;
            b.forged += u64::from(forged);
            b.first.get_or_insert((ts_ns, frame));
        }
        let bucket_clients = w.buckets.get(at).map_or(0, |b| b.new_clients);
        self.settle(vlan);
        let Some(w) = self.windows.get_mut(&vlan) else {
            return;
        };
        if let Some(ep) = w.open.and_then(|i| self.episodes.get_mut(i)) {
            ep.clients += 1;
            ep.forged += u64::from(forged);
            ep.stretch.extend(ts_ns, frame, source, bucket_clients);
            return;
        }
        let (new, req) = Self::sums(w, seconds);
        if new.saturating_sub(req) < self.rule.min_silent_clients {
            return;
        }
        // The flood: everything the window holds belongs to it.
        let from = w.latest - seconds as i64;
        let live = || w.buckets.iter().filter(|b| b.second > from);
        let (first_ns, first_frame) = live()
            .filter_map(|b| b.first)
            .min()
            .unwrap_or((ts_ns, frame));
        let mut stretch = Stretch::from(first_ns, first_frame);
        let peak = live().map(|b| b.new_clients).max().unwrap_or(0);
        stretch.extend(ts_ns, frame, source, peak);
        let ep = Episode {
            vlan,
            clients: new,
            requests: req,
            forged: live().map(|b| b.forged).sum(),
            stretch,
        };
        if self.episodes.len() < MAX_EPISODES {
            w.open = Some(self.episodes.len());
            self.episodes.push(ep);
        } else {
            self.episodes_dropped += 1;
        }
    }

    /// A client that is not a phone sent a REQUEST.
    pub fn request(&mut self, ts_ns: i64, vlan: Option<u16>) {
        let (w, at) = Self::bucket(&mut self.windows, self.seconds, vlan, ts_ns);
        if let Some(b) = w.buckets.get_mut(at) {
            b.requests += 1;
        }
        if let Some(ep) = w.open.and_then(|i| self.episodes.get_mut(i)) {
            ep.requests += 1;
        }
        self.settle(vlan);
    }

    /// New clients of the floods on `vlan` that began at or before `until_ns` (a
    /// phone still asking for an address then was asking into the flood).
    pub fn clients_before(&self, vlan: Option<u16>, until_ns: i64) -> u64 {
        self.episodes
            .iter()
            .filter(|e| e.vlan == vlan && e.stretch.first_ns <= until_ns)
            .map(|e| e.clients)
            .sum()
    }

    /// The site findings, times counted from `start_ns`.
    pub fn findings(&self, start_ns: i64) -> Vec<SiteFinding> {
        self.episodes
            .iter()
            .map(|e| {
                let vlan = e
                    .vlan
                    .map_or_else(|| "untagged".to_owned(), |v| format!("VLAN {v}"));
                let x = &e.stretch;
                let span = x.span_s();
                let style = match (e.forged, x.one_source()) {
                    (0, _) => "each from its own Ethernet source (Yersinia style)".to_owned(),
                    (_, Some(src)) => format!(
                        "all sent by {src} under client addresses that are not its own \
                         (dhcpstarv style)"
                    ),
                    (n, None) => {
                        format!("{n} of them under a client address that is not the sender's")
                    }
                };
                let message = format!(
                    "DHCP starvation: {} DHCP clients never seen before sent DISCOVERs on {vlan} \
                     in {span:.1} s (peak {}/s), {style}; {} REQUEST(s) followed: something is \
                     emptying the DHCP scope, and phones booting now get no address (frames {} \
                     to {})",
                    e.clients, x.peak_per_second, e.requests, x.first_frame, x.last_frame
                );
                SiteFinding {
                    code: CODE.to_owned(),
                    severity: self.rule.severity,
                    stage: Stage::Dhcp,
                    message,
                    clients: Some(e.clients),
                    requests: Some(e.requests),
                    forged_chaddr: Some(e.forged),
                    // Named only when it forged client addresses (dhcpstarv).
                    source: x
                        .one_source()
                        .filter(|_| e.forged > 0)
                        .map(|m| m.to_string()),
                    ..x.finding(e.vlan, start_ns, &self.rule.checks)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(min: u64) -> DhcpStarvation {
        DhcpStarvation {
            window_ms: 10_000,
            min_silent_clients: min,
            severity: rules::Severity::Error,
            checks: vec!["snoop on VLAN {vlan}".into()],
        }
    }

    fn mac(i: u32) -> MacAddr {
        let b = i.to_be_bytes();
        MacAddr([0x02, 0, b[0], b[1], b[2], b[3]])
    }

    const S: i64 = 1_000_000_000;

    #[test]
    fn a_burst_of_silent_new_clients_is_one_episode_with_every_client() {
        let mut d = Detector::new(&rule(100));
        // Client i at 50 a second, on VLAN 100.
        let clients = |d: &mut Detector, range: std::ops::Range<u32>| {
            for i in range {
                let at = i64::from(i) * S / 50;
                d.new_client(at, u64::from(i) + 1, Some(100), Some(mac(i)), mac(i));
            }
        };
        // 99 clients are not yet a flood.
        clients(&mut d, 0..99);
        assert!(d.episodes().is_empty());
        // From the 100th on, one episode holding all of them (500 over 10 s at 50/s).
        clients(&mut d, 99..500);
        let [e] = d.episodes() else {
            panic!("{:?}", d.episodes())
        };
        assert_eq!((e.clients, e.requests, e.forged), (500, 0, 0));
        assert_eq!((e.stretch.first_frame, e.stretch.last_frame), (1, 500));
        assert_eq!(e.stretch.peak_per_second, 50);
        assert_eq!(e.stretch.one_source(), None);
        // Another VLAN, and a later quiet client, do not join it; nor does a phone's
        // request elsewhere.
        d.new_client(9 * S, 501, Some(200), Some(mac(9999)), mac(9999));
        d.new_client(60 * S, 502, Some(100), Some(mac(10_000)), mac(10_000));
        assert_eq!(d.episodes().len(), 1);
        assert_eq!(d.episodes()[0].clients, 500);
        assert_eq!(d.clients_before(Some(100), 60 * S), 500);
        assert_eq!(d.clients_before(Some(100), 0), 500, "it began at 0 s");
        assert_eq!(d.clients_before(Some(100), -1), 0);
        assert_eq!(d.clients_before(Some(200), 60 * S), 0);
        let f = d.findings(0);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "dhcp-starvation");
        assert_eq!(f[0].checks, ["snoop on VLAN 100"]);
        assert!(
            f[0].message.contains("500 DHCP clients"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn clients_that_request_are_a_busy_morning_not_a_flood() {
        let mut d = Detector::new(&rule(100));
        for i in 0..2000 {
            let t = i64::from(i) * S / 100;
            d.new_client(t, 2 * u64::from(i) + 1, None, Some(mac(i)), mac(i));
            d.request(t + S / 200, None);
        }
        assert!(d.episodes().is_empty());
    }

    #[test]
    fn one_source_forging_client_addresses_is_named() {
        let mut d = Detector::new(&rule(10));
        let attacker = MacAddr([0x02, 0xaa, 0, 0, 0, 1]);
        for i in 0..50 {
            d.new_client(
                i64::from(i) * S / 10,
                u64::from(i) + 1,
                Some(7),
                Some(attacker),
                mac(i),
            );
        }
        let [e] = d.episodes() else { panic!() };
        assert_eq!((e.clients, e.forged), (50, 50));
        assert_eq!(e.stretch.one_source(), Some(attacker));
        let f = d.findings(0);
        assert_eq!(f[0].source.as_deref(), Some("02:aa:00:00:00:01"));
        assert!(f[0].message.contains("dhcpstarv"), "{}", f[0].message);
    }

    #[test]
    fn a_flood_that_stops_and_starts_again_later_is_two_episodes() {
        let mut d = Detector::new(&rule(10));
        for round in 0..2i64 {
            for i in 0..20u32 {
                let t = round * 100 * S + i64::from(i) * S / 10;
                d.new_client(t, 1, Some(100), None, mac(i + 100 * round as u32));
            }
        }
        assert_eq!(d.episodes().len(), 2);
        assert!(d.episodes().iter().all(|e| e.clients == 20));
    }
}
