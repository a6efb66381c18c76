//! The integration tests: one binary (see Cargo.toml), one module per concern.

mod common;

mod analyze;
mod capture_reader;
mod damaged;
mod dissect_view;
mod escaping;
mod export;
mod fuzz_regressions;
mod hostile;
mod html;
mod identity;
mod inventory;
#[cfg(feature = "live")]
mod live;
mod live_watch;
mod merge;
mod metamorphic;
mod model_truth;
mod mutation;
mod port;
mod progress;
mod readings;
mod rules_docs;
mod samples;
mod scale;
mod tcp_flows;
mod tshark_compare;
mod tshark_parity;
mod tunnels;
