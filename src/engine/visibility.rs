//! What the capture can show of a boot. A SPAN of one direction (`source interface …
//! rx`), an asymmetric path or a capture on the phone's side of a firewall holds the
//! phone's messages and none of its servers' answers: then a missing answer is no
//! evidence that the server failed. This module tells which directions were captured,
//! for the capture and for each boot, and which steps a boot passed without the
//! capture showing them: steps the phone's own progress proves (it sent a REQUEST, so
//! an OFFER came; it registered, so a lease came before), found as the steps every
//! path of the sequence to the boot's furthest step goes through.

use rules::{Sequence, Severity, StepId};

use super::device::{Boot, Device, DeviceKind};
use crate::report::CaptureFinding;
use crate::timeline::EventType;

/// Which directions of the phones' exchanges with their servers the capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Directions {
    /// Messages both ways.
    Both,
    /// Only what the phones sent: their requests, and steps their progress proves
    /// passed, yet not one answer of a server.
    FromPhones,
    /// Only what the servers sent the phones.
    ToPhones,
    /// Too little to tell (no exchange, or requests nobody answered and nothing
    /// after them).
    #[default]
    Unknown,
}

impl Directions {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Directions::Both => "both",
            Directions::FromPhones => "from_phones",
            Directions::ToPhones => "to_phones",
            Directions::Unknown => "unknown",
        }
    }

    /// Only one direction was captured.
    pub fn one_way(self) -> bool {
        matches!(self, Directions::FromPhones | Directions::ToPhones)
    }
}

/// The sequence's dominators, and what the capture as a whole shows.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// Per step rank: the ranks of the steps every path from the start to it passes
    /// (itself included), as bits.
    dominators: Vec<u128>,
    /// The directions the capture holds, judged over every phone.
    pub directions: Directions,
    /// Phone messages to servers, over the capture.
    pub asks: u64,
    /// Server answers to phones, over the capture.
    pub answers: u64,
    /// Steps passed without their answer in the capture, over the capture.
    pub inferred: u64,
    /// Frames the capture is known to have missed (the capturing host's drops, and
    /// TCP segments acknowledged that it never held).
    pub missed: u64,
}

impl Visibility {
    /// The visibility of a capture whose devices are `devices`.
    pub fn new<'d>(seq: &Sequence, devices: impl Iterator<Item = &'d Device>) -> Self {
        let mut v = Visibility {
            dominators: dominators(seq),
            directions: Directions::Unknown,
            asks: 0,
            answers: 0,
            inferred: 0,
            missed: 0,
        };
        for dev in devices.filter(|d| d.kind == DeviceKind::Phone) {
            for boot in dev.earlier.iter().chain(std::iter::once(&dev.boot)) {
                v.asks += u64::from(asks(boot));
                v.answers += u64::from(answers(boot));
                v.inferred += u64::from(v.passed_unseen(seq, boot).count_ones());
            }
        }
        v.directions = match (v.asks > 0, v.answers > 0) {
            (true, true) => Directions::Both,
            (true, false) if v.inferred > 0 => Directions::FromPhones,
            (false, true) => Directions::ToPhones,
            _ => Directions::Unknown,
        };
        v
    }

    /// The steps (bits by rank) `boot` passed that the capture does not show: those
    /// every path to its furthest step goes through that lie between two steps it was
    /// seen at, and those reached only by an inference.
    pub fn passed_unseen(&self, seq: &Sequence, boot: &Boot) -> u128 {
        let Some((furthest, _, _)) = boot.furthest else {
            return 0;
        };
        let on_every_path = self
            .dominators
            .get(seq.rank(furthest))
            .copied()
            .unwrap_or(0);
        // The dominators form a chain, in rank order. A step of it counts as passed
        // unseen only between two seen ones: a REQUEST after a DISCOVER proves the
        // OFFER, but a REQUEST with no DISCOVER before it is a phone rebooting with
        // the lease it remembers (INIT-REBOOT), which has no OFFER to prove; and a boot
        // the capture joins late passed its earlier steps out of sight, as expected.
        let seen = |r: u32| (boot.reached | boot.inferred) >> r & 1 == 1;
        let mut unseen = 0u128;
        // The last two steps of the chain, walking it in rank order.
        let (mut before, mut step): (Option<u32>, Option<u32>) = (None, None);
        for after in (0..128).filter(|r| on_every_path >> r & 1 == 1) {
            if let (Some(b), Some(s)) = (before, step) {
                if seen(b) && !seen(s) && seen(after) {
                    unseen |= 1u128 << s;
                }
            }
            (before, step) = (step, Some(after));
        }
        unseen | boot.inferred
    }

    /// Whether the capture can show the answers `boot` waits for, given the steps it
    /// passed unseen ([`Self::passed_unseen`]): not when the capture holds only the
    /// phones' side, nor when this boot has steps its progress proves passed and not
    /// one answer.
    pub fn answers_captured(&self, boot: &Boot, passed_unseen: u128) -> bool {
        self.directions != Directions::FromPhones && (answers(boot) > 0 || passed_unseen == 0)
    }
}

impl Visibility {
    /// What the report says of the capture's directions, once, before anything else.
    pub fn finding(&self) -> Option<CaptureFinding> {
        let both = "capture both directions of the phones' ports: `monitor session 1 source \
                    interface <port> both` on the switch (not `rx` or `tx`), or a TAP";
        let (message, checks) = match self.directions {
            Directions::FromPhones => (
                format!(
                    "only the phones' side of their exchanges was captured: {} message(s) from \
                     phones to their servers, not one answer, and {} step(s) the phones' own \
                     progress proves they passed. A missing answer is no evidence of a failure \
                     here: no server is blamed, and the steps the phones' progress shows are \
                     reported as inferred",
                    self.asks, self.inferred
                ),
                vec![
                    both.to_owned(),
                    "or capture where the servers' answers pass too (the uplink, the servers' \
                     VLAN): an asymmetric path may return them another way"
                        .to_owned(),
                ],
            ),
            Directions::ToPhones => (
                format!(
                    "only what the servers sent the phones was captured: {} answer(s), not one \
                     message from a phone. A request that got no answer cannot be told from one \
                     never sent",
                    self.answers
                ),
                vec![both.to_owned()],
            ),
            Directions::Both | Directions::Unknown => return None,
        };
        Some(CaptureFinding {
            code: "capture-one-way",
            severity: Severity::Warning,
            message,
            checks,
        })
    }
}

/// The steps of `seq` by rank, each with the bits of the ranks that dominate it.
fn dominators(seq: &Sequence) -> Vec<u128> {
    let n = seq.steps().count();
    let bit = |s: StepId| match seq.rank(s) {
        r @ 0..128 => 1u128 << r,
        _ => 0,
    };
    let mut preds: Vec<Vec<StepId>> = vec![Vec::new(); n];
    for s in seq.steps() {
        for t in seq.successors(s) {
            if let Some(p) = preds.get_mut(seq.rank(t)) {
                p.push(s);
            }
        }
    }
    let mut dom = vec![0u128; n];
    // Rank order is a topological order: every predecessor is done before its step.
    for s in seq.steps() {
        let r = seq.rank(s);
        let common = preds
            .get(r)
            .into_iter()
            .flatten()
            .map(|&p| dom.get(seq.rank(p)).copied().unwrap_or(0))
            .reduce(|a, b| a & b)
            .unwrap_or(0);
        if let Some(d) = dom.get_mut(r) {
            *d = common | bit(s);
        }
    }
    dom
}

/// Which of a phone's exchanges with its servers the capture holds, over its boots:
/// `both`, `from_phone`, `to_phone` or `none`.
pub fn phone_directions(dev: &Device) -> &'static str {
    let boots = || dev.earlier.iter().chain(std::iter::once(&dev.boot));
    let asked = boots().any(|b| asks(b) > 0);
    let answered = boots().any(|b| answers(b) > 0);
    match (asked, answered) {
        (true, true) => "both",
        (true, false) => "from_phone",
        (false, true) => "to_phone",
        (false, false) => "none",
    }
}

/// The boot's messages to its servers.
pub fn asks(boot: &Boot) -> u32 {
    EventType::ALL
        .iter()
        .filter(|t| t.is_phone_ask())
        .map(|&t| boot.count(t))
        .sum()
}

/// The servers' answers to the boot.
pub fn answers(boot: &Boot) -> u32 {
    EventType::ALL
        .iter()
        .filter(|t| t.is_server_answer())
        .map(|&t| boot.count(t))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::shared::harness::rules;

    fn id(seq: &Sequence, s: &str) -> StepId {
        seq.step_id(s).unwrap()
    }

    fn names(seq: &Sequence, bits: u128) -> Vec<String> {
        seq.steps()
            .filter(|&s| bits & (1u128 << seq.rank(s)) != 0)
            .map(|s| seq.step(s).id.clone())
            .collect()
    }

    #[test]
    fn every_path_to_registration_passes_the_lease_not_an_optional_step() {
        let seq = &rules().sequence;
        let dom = dominators(seq);
        let of = |s| names(seq, dom[seq.rank(id(seq, s))]);
        assert_eq!(
            of("registered"),
            [
                "announce",
                "dhcp-discover",
                "dhcp-offer",
                "dhcp-request",
                "dhcp-ack",
                "registered"
            ]
        );
        // The configuration comes over TFTP or HTTP: neither is on every path.
        assert!(!of("register-sccp").contains(&"config-tftp".to_string()));
        assert_eq!(of("announce"), ["announce"]);
    }

    #[test]
    fn a_boot_seen_from_its_start_passed_the_answers_it_lacks() {
        let seq = &rules().sequence;
        // No device: the sequence's dominators, nothing known of the capture.
        let v = Visibility::new(seq, std::iter::empty());
        let mut boot = Boot::new(0, 1);
        for (i, s) in ["announce", "dhcp-discover", "dhcp-request", "register-sccp"]
            .iter()
            .enumerate()
        {
            boot.reach(seq, id(seq, s), i as i64, i as u64, false);
        }
        assert_eq!(
            names(seq, v.passed_unseen(seq, &boot)),
            ["dhcp-offer", "dhcp-ack"]
        );
        boot.reach(seq, id(seq, "registered"), 9, 9, true);
        assert_eq!(
            names(seq, v.passed_unseen(seq, &boot)),
            ["dhcp-offer", "dhcp-ack", "registered"]
        );
        // The acknowledgement seen afterwards: registered is no longer inferred.
        boot.reach(seq, id(seq, "registered"), 10, 10, false);
        assert_eq!(
            names(seq, v.passed_unseen(seq, &boot)),
            ["dhcp-offer", "dhcp-ack"]
        );
        // A phone rebooting with the lease it remembers asks straight for it (INIT-REBOOT):
        // no DISCOVER, so no OFFER to infer, answered or not.
        let mut init_reboot = Boot::new(0, 1);
        init_reboot.reach(seq, id(seq, "announce"), 1, 1, false);
        init_reboot.reach(seq, id(seq, "dhcp-request"), 2, 2, false);
        assert_eq!(v.passed_unseen(seq, &init_reboot), 0);
        // A boot the capture joins at its registration passed nothing unseen.
        let mut late = Boot::new(0, 1);
        late.reach(seq, id(seq, "register-sccp"), 1, 1, false);
        late.reach(seq, id(seq, "registered"), 2, 2, false);
        assert_eq!(v.passed_unseen(seq, &late), 0);
    }
}
