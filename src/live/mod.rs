//! `bootscope live`: follow phones as they boot on a SPAN port. libpcap delivers
//! frames ([`crate::capture::live`]), the same [`crate::pipeline::Pipeline`] as
//! `analyze` judges them, the [`watch::Watcher`] turns what changed into event lines
//! on the wall clock, and at the end the same renderers print the report. Only the
//! capture itself needs libpcap (`--features live`); the watcher and the renderers are
//! built always, so they are tested without it.

pub mod metrics;
#[cfg(feature = "live")]
pub mod privilege;
pub mod render;
#[cfg(feature = "live")]
mod session;
pub mod watch;

#[cfg(feature = "live")]
pub use session::{
    replay, run, stop_on_signals, LiveOptions, Output, ReplayError, ReplayStats, Session,
};

/// The IP part of [`DEFAULT_FILTER`] (a macro, so `concat!` can use it twice).
macro_rules! boot_ip_filter {
    () => {
        "udp port 67 or udp port 68 or udp port 69 \
         or (udp and udp[8] = 0 and udp[9] >= 1 and udp[9] <= 6) \
         or tcp port 6970 or tcp port 6971 or tcp port 2000 or tcp port 2443 or tcp port 2445 \
         or port 5060 or port 5061 \
         or (udp and (udp[8:4] = 0x5349502f or udp[8:4] = 0x52454749)) \
         or (tcp and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x5349502f \
         or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x52454749)) \
         or port 53 or (icmp and (icmp[0] = 3 or icmp[0] = 11)) \
         or (icmp6 and (ip6[40] = 1 or ip6[40] = 3)) \
         or ip proto 47 or ip6 proto 47 or udp dst port 4789 or udp port 5247"
    };
}

/// The default capture filter: what phone boots are made of, without the bulk (RTP,
/// file shares, web):
/// - CDP: an 802.3 frame whose LLC/SNAP protocol id is 0x2000, whatever its
///   destination; LLDP;
/// - DHCP; TFTP requests and, since a transfer goes on between ports both ends
///   choose, any UDP datagram whose payload starts with a TFTP opcode (0x0001-0x0006;
///   RTP starts with 0x80);
/// - HTTP config on 6970/6971, SCCP on 2000/2443, SIP on 5060/5061 over UDP and TCP
///   (handshakes and resets included), and SIP on other ports when the payload starts
///   with `SIP/` or `REGI`(STER);
/// - 802.1X (EAPOL) and ARP; DNS on UDP and TCP 53; ICMP destination unreachable and
///   time exceeded, ICMPv6 the same (types 1 and 3, read where no extension header
///   comes first): not echoes or neighbour discovery;
/// - tunnels whole (GRE, which ERSPAN rides; VXLAN on UDP 4789; CAPWAP data on UDP
///   5247): a filter cannot look inside them, so bootscope sorts their frames itself;
/// - all of it also inside an 802.1Q tag (CDP read at its offsets behind one tag).
pub const DEFAULT_FILTER: &str = concat!(
    "(ether[12:2] <= 1500 and ether[20:2] = 0x2000) \
     or (ether[12:2] = 0x8100 and ether[16:2] <= 1500 and ether[24:2] = 0x2000) \
     or ether proto 0x88cc or ether proto 0x888e or arp or (",
    boot_ip_filter!(),
    ") or (vlan and (ether proto 0x88cc or ether proto 0x888e or arp or ",
    boot_ip_filter!(),
    "))"
);
