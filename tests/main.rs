//! The integration tests: one binary (see Cargo.toml), one module per concern.

mod common;

mod analyze;
mod capture_reader;
mod cli;
mod damaged;
mod dissect_view;
mod escaping;
mod events;
mod export;
mod fuzz_regressions;
mod hostile;
mod html;
mod identity;
mod inventory;
#[cfg(feature = "live")]
mod live;
#[cfg(feature = "live")]
mod live_prometheus;
mod live_watch;
mod merge;
mod metamorphic;
mod metrics;
mod model_truth;
mod mutation;
mod port;
mod progress;
mod readings;
mod report_schema;
mod rules_docs;
mod rules_guide;
mod samples;
mod scale;
mod tcp_flows;
mod tshark_compare;
mod tshark_parity;
mod tunnels;
