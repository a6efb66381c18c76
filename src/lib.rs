//! bootscope: passive analysis of Cisco IP phone boots.
//!
//! The pipeline runs one way: a capture source ([`capture`]) yields frames; the
//! link layer ([`link`]) slices them; [`dispatch`] hands each payload to its
//! dissector in the `parsers` crate (following TCP streams and TFTP transfers on
//! the way) and yields borrowed messages; [`dissect`] renders them for the
//! `bootscope dissect` debugging view. [`engine`] turns messages into per-device
//! events ([`timeline`]), attributed to phones by `attribution`, follows each boot
//! along the expected sequence of the `rules` crate and gives the verdicts of the
//! [`report`]. [`pipeline`] is that chain from frame to report; [`analyze`] runs it
//! over capture files and [`live`] over an interface, within the bounds of
//! [`limits`]. [`rng`] is the one random generator (the simulator's and the
//! tests'), [`heap`] the counting allocator a binary may install.

// No packet may make the analysis panic: no indexing, unwrap, expect or panic outside
// tests, in every module (the `parsers` crate's lints). The reference model, which
// writes its own bytes rather than reading a capture's, is the one exception.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
pub mod analyze;
mod attribution;
pub mod capture;
pub mod describe;
pub mod dispatch;
pub mod dissect;
pub mod engine;
mod escape;
pub mod events;
pub mod export;
pub mod heap;
pub mod inventory;
pub mod limits;
pub mod link;
pub mod live;
// The model writes the bytes it later reads; its tables are indexed by its own counts.
#[cfg_attr(
    not(test),
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
pub mod model;
pub mod pipeline;
mod prefetch;
pub mod reassembly;
pub mod report;
pub mod rng;
pub mod rules_view;
pub mod timeline;

/// The hash map of every per-packet table. Keys are chosen by whoever sends packets,
/// so the hasher is keyed at random per map (no collision flood can be prepared);
/// foldhash rather than std's SipHash because the tables are hit several times a
/// packet and SipHash was a tenth of the dissect thread's time.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
