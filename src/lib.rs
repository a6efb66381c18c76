//! bootscope: passive analysis of Cisco IP phone boots.
//!
//! The pipeline runs one way: a capture source ([`capture`]) yields frames; the
//! link layer ([`link`]) slices them; [`dispatch`] hands each payload to its
//! dissector in the `parsers` crate (following TCP streams and TFTP transfers on
//! the way) and yields borrowed messages; [`dissect`] renders them for the
//! `bootscope dissect` debugging view.

pub mod capture;
pub mod describe;
pub mod dispatch;
pub mod dissect;
pub mod link;
pub mod model;
pub mod reassembly;
