//! Zero-copy dissectors for every message a Cisco IP phone's boot is made of:
//! CDP, LLDP(-MED), DHCPv4, TFTP, SCCP (Skinny), SIP and the bit of HTTP a
//! config download over TCP 6970 needs. No I/O and no allocation beyond small
//! `Vec`s of borrowed items: each `parse` borrows the packet it reads.
//!
//! Datagram protocols expose `parse(&[u8]) -> Result<Msg<'_>, DissectError>`;
//! stream protocols (SCCP, SIP over TCP, HTTP) return the rest of the buffer, or
//! `ErrorKind::NeedMore(n)` when a PDU continues in a later segment.
//!
//! Every message `parse` returns also writes back (`buffer_len`, `emit`,
//! `to_vec`), failing with the one [`EmitError`]. Code points (TLV types,
//! message ids, opcodes) are newtypes declared with their names, one way
//! for all dissectors (`codepoint.rs`).
//!
//! The tunnels a sensor's traffic may arrive in have header views here too: GRE
//! and ERSPAN, VXLAN, CAPWAP data and the 802.11 data frames it carries. Each
//! `parse` borrows what follows its header; the link layer slices that.
//!
//! Two link-layer protocols of a boot have views too: EAPOL with the EAP of an
//! 802.1X authentication, and ARP (the phone's probes, announcements and its
//! look-ups of gateway and servers).
//! Around the boot: DNS (the phone's lookups of its TFTP server and call
//! agents, SRV included) and the ICMP / ICMPv6 errors that answer its
//! datagrams, with the quoted flow they name.
//! TLS on the call manager's secure ports: the record layer and what of the
//! handshake is in clear (hellos, certificates, alerts).
//! And the device configuration a phone downloads (`cnfxml`), read for its call
//! managers, SRST and security.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod error;

mod codepoint;
mod emit;

pub mod arp;
pub mod capwap;
pub mod cdp;
pub mod cnfxml;
pub mod dhcp;
pub mod dns;
pub mod eapol;
pub mod gre;
pub mod http;
pub mod icmp;
pub mod ieee80211;
pub mod lldp;
pub mod sccp;
pub mod sip;
pub mod tftp;
pub mod tls;
pub mod vxlan;

pub use emit::EmitError;
pub use error::{DissectError, ErrorKind, Proto};
