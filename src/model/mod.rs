//! The reference model of a Cisco phone's boot: scenarios as data
//! ([`scenario`]), the phone and the network as a discrete-event simulation
//! ([`sim`]), the bytes each message becomes ([`encode`], [`wire`]), and the
//! ground truth a sample's expected outcome records ([`truth`]).

pub mod encode;
pub mod fleet;
pub mod predict;
pub mod scenario;
pub mod sim;
pub mod timing;
pub mod truth;
pub mod variant;
pub mod wire;

use std::io::Write;

pub use scenario::Scenario;
pub use truth::ExpectedReport;

/// Simulate `scenario` into a pcap written to `out`; returns the writer and the
/// expected outcome per phone.
///
/// # Errors
/// Writing fails.
pub fn simulate<W: Write>(scenario: &Scenario, out: W) -> std::io::Result<(W, ExpectedReport)> {
    sim::Sim::new(scenario, out)?.run()
}
