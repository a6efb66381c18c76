//! Floods told by their rate: an ARP storm, a DNS flood, an EAPOL-Start flood, ICMP
//! errors by the thousand (`"floods"` in `rules/findings.json`). Per kind and VLAN, a
//! sliding window of one-second buckets counts the messages; a window holding at
//! least `min_in_window` of them opens an *episode*, which lasts while the window stays
//! at the threshold, and takes in a later burst on the same VLAN that starts within a
//! window of its end: one flood, one site finding. Memory: at most [`MAX_VLANS`]
//! windows per kind, [`MAX_EPISODES`] episodes in all; nothing per sender.

use rules::{Counted, RateFlood};

use super::flood::Stretch;
use super::shared::Ctx;
use crate::link::MacAddr;
use crate::report::SiteFinding;

/// Episodes kept, every kind together; past it further ones are counted only.
pub const MAX_EPISODES: usize = 256;

/// The episode index of a flood under way that was not kept.
const NOT_KEPT: usize = usize::MAX;

/// VLANs watched per kind (untagged is one of them); the messages of a VLAN beyond
/// them are not watched, and counted.
pub const MAX_VLANS: usize = 64;

/// One second of one VLAN.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    second: i64,
    count: u64,
    /// Time and frame of its first message.
    first: (i64, u64),
    /// Its messages are counted in an episode (it turned hot while one was open).
    counted: bool,
}

/// The sliding window of one VLAN.
#[derive(Debug, Clone)]
struct Window {
    vlan: Option<u16>,
    buckets: Box<[Bucket]>,
    /// The latest second counted (capture time never goes back in the window).
    latest: i64,
    /// The episode under way, as an index in [`RateFloods::episodes`].
    open: Option<usize>,
    /// The last episode of this VLAN, which a burst soon after its end continues.
    last: Option<usize>,
}

impl Window {
    /// Messages within the window ending at its latest second.
    fn sum(&self) -> u64 {
        let from = self.latest - self.buckets.len() as i64;
        self.buckets
            .iter()
            .filter(|b| b.second > from)
            .map(|b| b.count)
            .sum()
    }
}

/// One flood on one VLAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// What was counted.
    pub counts: Counted,
    /// The VLAN (the innermost tag; `None`: untagged).
    pub vlan: Option<u16>,
    /// Messages from the window that opened it to its end.
    pub messages: u64,
    /// Its first and last message, the most in one second, its one sender.
    pub stretch: Stretch,
}

/// The watch on one kind of message.
#[derive(Debug, Clone)]
struct Watch {
    rule: RateFlood,
    /// Windows by VLAN, in the order first seen (a few: a linear search).
    windows: Vec<Window>,
}

/// The rate floods' state for one capture.
#[derive(Debug, Clone)]
pub struct RateFloods {
    /// By [`Counted::index`]: `None` when the rules watch no flood of that kind.
    watches: [Option<Watch>; 4],
    episodes: Vec<Episode>,
    /// Episodes not kept (past [`MAX_EPISODES`]).
    pub episodes_dropped: u64,
    /// Messages on a VLAN beyond the first [`MAX_VLANS`] of their kind.
    pub unwatched: u64,
}

impl RateFloods {
    /// The watches the rules ask for.
    pub fn new(floods: &[RateFlood]) -> Self {
        let mut watches: [Option<Watch>; 4] = Default::default();
        for f in floods {
            if let Some(slot) = watches.get_mut(f.counts.index()) {
                *slot = Some(Watch {
                    rule: f.clone(),
                    windows: Vec::new(),
                });
            }
        }
        RateFloods {
            watches,
            episodes: Vec::new(),
            episodes_dropped: 0,
            unwatched: 0,
        }
    }

    /// The most heap the watches can take: every kind's windows at the longest window
    /// the rules allow, and every episode kept.
    pub fn max_heap_bytes() -> usize {
        use std::mem::size_of;
        let seconds = usize::try_from(rules::MAX_FLOOD_WINDOW_MS / 1000).unwrap_or(60);
        4 * MAX_VLANS * (size_of::<Window>() + seconds * size_of::<Bucket>())
            + 2 * MAX_EPISODES * size_of::<Episode>()
    }

    /// The episodes so far (the last ones may still be under way).
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    /// One message of kind `counts`, in the frame `ctx`.
    pub fn count(&mut self, counts: Counted, ctx: &Ctx) {
        self.count_at(counts, ctx.ts_ns, ctx.frame, ctx.vlan, ctx.src_mac);
    }

    /// One message of kind `counts`, sent by `source` on `vlan`.
    fn count_at(
        &mut self,
        counts: Counted,
        ts_ns: i64,
        frame: u64,
        vlan: Option<u16>,
        source: Option<MacAddr>,
    ) {
        let Some(Some(watch)) = self.watches.get_mut(counts.index()) else {
            return;
        };
        let seconds = usize::try_from(watch.rule.window_ms / 1000)
            .unwrap_or(1)
            .max(1);
        let min = watch.rule.min_in_window;
        // A second is hot at the window's threshold spread evenly over it.
        let hot = (min / seconds as u64).max(1);
        let i = match watch.windows.iter().position(|w| w.vlan == vlan) {
            Some(i) => i,
            None if watch.windows.len() < MAX_VLANS => {
                watch.windows.push(Window {
                    vlan,
                    buckets: vec![Bucket::default(); seconds].into_boxed_slice(),
                    latest: i64::MIN,
                    open: None,
                    last: None,
                });
                watch.windows.len() - 1
            }
            None => {
                self.unwatched += 1;
                return;
            }
        };
        let Some(w) = watch.windows.get_mut(i) else {
            return;
        };
        // The bucket of this second, emptied when it held an older one.
        let second = ts_ns.div_euclid(1_000_000_000).max(w.latest);
        w.latest = second;
        let n = w.buckets.len() as i64;
        let at = usize::try_from(second.rem_euclid(n)).unwrap_or(0);
        let Some(b) = w.buckets.get_mut(at) else {
            return;
        };
        if b.second != second || b.count == 0 {
            *b = Bucket {
                second,
                count: 0,
                first: (ts_ns, frame),
                counted: false,
            };
        }
        b.count += 1;
        if w.sum() < min {
            w.open = None;
            return;
        }
        // The window is at the threshold: a flood, under way, resumed (a burst within a
        // window of the last one's end) or new.
        let window_ns = n * 1_000_000_000;
        let episode = match w.open {
            Some(i) => Some(i),
            None => w.last.filter(|&i| {
                self.episodes
                    .get(i)
                    .is_some_and(|e| ts_ns - e.stretch.last_ns <= window_ns)
            }),
        };
        let episode = match episode {
            Some(i) => i,
            None if self.episodes.len() < MAX_EPISODES => {
                self.episodes.push(Episode {
                    counts,
                    vlan,
                    messages: 0,
                    stretch: Stretch::from(ts_ns, frame),
                });
                self.episodes.len() - 1
            }
            None => {
                // No room: counted once, and the window marked as in a flood not kept.
                self.episodes_dropped += 1;
                NOT_KEPT
            }
        };
        w.open = Some(episode);
        w.last = Some(episode);
        let Some(ep) = self.episodes.get_mut(episode) else {
            return;
        };
        // What the flood is made of: the hot seconds of the window, each taken in whole
        // when it turns hot, and then message by message; the quiet seconds around it
        // (a phone's own ARP before the storm, after it) are no part of it.
        let from = w.latest - n;
        let mut in_second = 0;
        let mut counted_now = false;
        for b in w.buckets.iter_mut() {
            if b.second <= from || b.count < hot {
                continue;
            }
            if b.counted {
                if b.second == second {
                    ep.messages += 1;
                    counted_now = true;
                }
            } else {
                b.counted = true;
                ep.messages += b.count;
                counted_now |= b.second == second;
                let x = &mut ep.stretch;
                if b.first < (x.first_ns, x.first_frame) || ep.messages == b.count {
                    (x.first_ns, x.first_frame) = b.first;
                }
            }
            in_second = in_second.max(b.count);
        }
        if counted_now {
            ep.stretch.extend(ts_ns, frame, source, in_second);
        }
    }

    /// The site findings, times counted from `start_ns`.
    pub fn findings(&self, start_ns: i64) -> Vec<SiteFinding> {
        self.episodes
            .iter()
            .filter_map(|e| {
                let rule = &self.watches.get(e.counts.index())?.as_ref()?.rule;
                let vlan = e
                    .vlan
                    .map_or_else(|| "untagged".to_owned(), |v| format!("VLAN {v}"));
                let x = &e.stretch;
                let span = x.span_s();
                let from = match x.one_source() {
                    Some(src) => format!(", all from {src}"),
                    None => ", from several sources".to_owned(),
                };
                let message = format!(
                    "{} {} on {vlan} in {span:.1} s (peak {}/s){from}: {} (frames {} to {})",
                    e.messages,
                    e.counts.noun(),
                    x.peak_per_second,
                    rule.meaning,
                    x.first_frame,
                    x.last_frame
                );
                Some(SiteFinding {
                    code: rule.code.clone(),
                    severity: rule.severity,
                    stage: rule.stage,
                    message,
                    messages: Some(e.messages),
                    ..x.finding(e.vlan, start_ns, &rule.checks)
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(counts: Counted, window_ms: u64, min: u64) -> RateFlood {
        RateFlood {
            code: "test-flood".into(),
            counts,
            stage: rules::Stage::Dhcp,
            window_ms,
            min_in_window: min,
            severity: rules::Severity::Warning,
            meaning: "a test".into(),
            checks: vec!["look at VLAN {vlan}".into()],
        }
    }

    const S: i64 = 1_000_000_000;

    /// `n` messages at `per_second`, from `at_s`, frames from `frame`.
    fn burst(f: &mut RateFloods, at_s: i64, n: u64, per_second: u64, frame: u64, vlan: u16) {
        for k in 0..n {
            let ts = at_s * S + i64::try_from(k * 1_000_000_000 / per_second).unwrap();
            let src = MacAddr([2, 0, 0, 0, (k >> 8) as u8, k as u8]);
            f.count_at(Counted::ArpRequests, ts, frame + k, Some(vlan), Some(src));
        }
    }

    #[test]
    fn a_flood_is_one_episode_with_every_message_of_its_window() {
        let mut f = RateFloods::new(&[rule(Counted::ArpRequests, 10_000, 1000)]);
        // Below the threshold: 50/s for 60 s never fills a window to 1000.
        burst(&mut f, 0, 3000, 50, 1, 20);
        assert!(f.episodes().is_empty());
        // 500/s for 20 s: the window reaches 1000 after 2 s; all 10 000 belong to it.
        burst(&mut f, 100, 10_000, 500, 10_000, 20);
        // A pause of 5 s, then more: the same flood.
        burst(&mut f, 125, 2000, 500, 30_000, 20);
        let [ep] = f.episodes() else {
            panic!("{:?}", f.episodes())
        };
        assert_eq!(ep.messages, 12_000);
        assert_eq!(
            (ep.stretch.first_frame, ep.stretch.last_frame),
            (10_000, 31_999)
        );
        assert_eq!(ep.stretch.peak_per_second, 500);
        assert_eq!(ep.vlan, Some(20));
        assert!(ep.stretch.one_source().is_none());
        let [finding] = f.findings(0).try_into().unwrap();
        assert_eq!(finding.messages, Some(12_000));
        assert!(finding.message.starts_with("12000 ARP requests on VLAN 20"));
        assert_eq!(finding.checks, ["look at VLAN 20"]);
        // Long after, another: a second episode.
        burst(&mut f, 500, 2000, 500, 50_000, 20);
        assert_eq!(f.episodes().len(), 2);
    }

    #[test]
    fn vlans_and_kinds_are_apart_and_bounded() {
        let mut f = RateFloods::new(&[rule(Counted::DnsQueries, 1000, 10)]);
        // ARP is not watched by these rules.
        burst(&mut f, 0, 100, 100, 1, 1);
        assert!(f.episodes().is_empty());
        // 9 a second on each of two VLANs: neither reaches 10 in its window.
        for k in 0..9 {
            for vlan in [1, 2] {
                f.count_at(Counted::DnsQueries, k * 1000, 1, Some(vlan), None);
            }
        }
        assert!(f.episodes().is_empty());
        // More VLANs than watched: counted, not kept.
        for vlan in 0..(MAX_VLANS as u16 + 10) {
            f.count_at(Counted::DnsQueries, 5 * S, 1, Some(vlan + 100), None);
        }
        assert_eq!(f.unwatched, 12);
        assert!(f.watches[1].as_ref().unwrap().windows.len() <= MAX_VLANS);
    }

    #[test]
    fn one_sender_is_named() {
        let mut f = RateFloods::new(&[rule(Counted::EapolStarts, 1000, 5)]);
        let one = MacAddr([2, 0, 0, 0, 0, 9]);
        for k in 0..20 {
            f.count_at(Counted::EapolStarts, k * 1000, k as u64, None, Some(one));
        }
        let [finding] = f.findings(0).try_into().unwrap();
        assert_eq!(finding.source.as_deref(), Some("02:00:00:00:00:09"));
        assert!(finding.message.contains("untagged"), "{}", finding.message);
    }
}
