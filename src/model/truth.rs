//! What really happened to each simulated phone: the ground truth a sample's
//! `expected.json` records, in the vocabulary of docs/report.md (status,
//! stalled stage, finding codes). The model writes it as it runs, from the faults
//! it applies; the analyzer never sees it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use rules::Stage;

/// A phone's final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Registered (or already registered as the capture starts).
    Registered,
    /// Failed a stage.
    Stalled,
    /// The capture ended while it was still booting.
    InProgress,
}

/// The expected outcome of one phone, as `expected.json` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Lower-case, colon-separated MAC.
    pub mac: String,
    /// SEP<MAC>.
    pub device_name: String,
    /// Final status.
    pub status: Status,
    /// The first stage not completed, when stalled.
    pub stalled_stage: Option<Stage>,
    /// Finding codes the analyzer must report (errors and warnings), sorted.
    pub findings: Vec<String>,
}

/// The expected outcome of a whole sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedReport {
    /// Findings about the site (a DHCP starvation flood); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_findings: Vec<ExpectedSite>,
    /// One entry per phone, sorted by MAC.
    pub phones: Vec<Expected>,
}

/// A site finding the analyzer must report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSite {
    /// Its code (`dhcp-starvation`).
    pub code: String,
    /// The VLAN.
    pub vlan: Option<u16>,
    /// The made-up client MACs that sent a DISCOVER within the capture
    /// (`dhcp-starvation`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clients: u64,
    /// The messages sent within the capture (the floods told by rate).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub messages: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The truth being recorded for one phone.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Finding codes, with the stage each failure happened in.
    pub findings: BTreeSet<&'static str>,
    /// The first stage that failed for good, with the capture time it failed.
    pub failed: Option<Stage>,
    /// Whether a registration succeeded.
    pub registered: bool,
    /// The registration it had is lost, and it has not registered again.
    pub lost: bool,
    /// Reboots after a failure whose new boot's DISCOVER is in the capture (the reboot
    /// after a firmware download is no failure).
    pub failure_reboots: u32,
}

impl Truth {
    /// Record a failure of `stage` with `code` (the first failing stage is kept).
    pub fn fail(&mut self, stage: Stage, code: &'static str) {
        self.findings.insert(code);
        if self.failed.is_none() && !self.registered {
            self.failed = Some(stage);
        }
    }

    /// Record a warning that does not stall the phone.
    pub fn warn(&mut self, code: &'static str) {
        self.findings.insert(code);
    }

    /// The outcome once the capture is over.
    pub fn outcome(&self, mac: String, device_name: String) -> Expected {
        let mut findings: Vec<String> = self.findings.iter().map(|s| (*s).to_owned()).collect();
        if self.failure_reboots >= 2 {
            findings.push("boot-loop".into());
            findings.sort();
        }
        let (status, stalled_stage) = if self.registered && self.lost {
            // Registered, then lost it: stalled at registration until it is back.
            (Status::Stalled, Some(Stage::Registration))
        } else if self.registered {
            (Status::Registered, None)
        } else if let Some(stage) = self.failed {
            (Status::Stalled, Some(stage))
        } else {
            (Status::InProgress, None)
        };
        Expected {
            mac,
            device_name,
            status,
            stalled_stage,
            findings,
        }
    }
}
