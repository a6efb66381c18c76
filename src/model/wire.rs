//! Frames for the reference model: Ethernet II (802.1Q-tagged when a VLAN is
//! given), 802.3 + LLC/SNAP for CDP, and IPv4 / UDP / TCP through etherparse's
//! builders; plus a streaming pcap writer, so a simulated capture of any size is
//! written with flat memory.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use etherparse::{PacketBuilder, VlanId};

use crate::link::MacAddr;

/// CDP's multicast destination.
pub const CDP_MULTICAST: MacAddr = MacAddr([0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc]);
/// LLDP's nearest-bridge destination.
pub const LLDP_MULTICAST: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e]);
/// Ethernet broadcast.
pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

/// The two ends of a frame at layer 2, and the VLAN tag it carries on the SPAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2 {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC.
    pub dst: MacAddr,
    /// 802.1Q VLAN id, or untagged.
    pub vlan: Option<u16>,
}

/// An IPv4 endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Address.
    pub ip: Ipv4Addr,
    /// Port.
    pub port: u16,
}

/// TCP header fields the model sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFields {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (sent when `ack` is set).
    pub ack_no: u32,
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// RST.
    pub rst: bool,
    /// FIN.
    pub fin: bool,
    /// PSH.
    pub psh: bool,
}

impl TcpFields {
    /// A SYN opening a connection at `seq`.
    pub fn syn(seq: u32) -> Self {
        TcpFields {
            seq,
            syn: true,
            ..TcpFields::default()
        }
    }

    /// A SYN-ACK at `seq` accepting a connection, acknowledging `ack_no`.
    pub fn syn_ack(seq: u32, ack_no: u32) -> Self {
        TcpFields {
            seq,
            ack_no,
            syn: true,
            ack: true,
            ..TcpFields::default()
        }
    }

    /// A FIN+ACK at `seq` acknowledging `ack_no`: one direction closed.
    pub fn fin(seq: u32, ack_no: u32) -> Self {
        TcpFields {
            seq,
            ack_no,
            ack: true,
            fin: true,
            ..TcpFields::default()
        }
    }

    /// A RST+ACK at `seq` acknowledging `ack_no`: a SYN refused (`seq` 0, `ack_no` the
    /// SYN's plus one), or a connection reset.
    pub fn reset(seq: u32, ack_no: u32) -> Self {
        TcpFields {
            seq,
            ack_no,
            ack: true,
            rst: true,
            ..TcpFields::default()
        }
    }
}

/// 802.3 + LLC/SNAP framing around a CDP PDU (padded to the Ethernet minimum).
pub fn cdp_frame(src: MacAddr, vlan: Option<u16>, cdp: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(cdp.len() + 26);
    f.extend_from_slice(&CDP_MULTICAST.0);
    f.extend_from_slice(&src.0);
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&(0xa000 | (v & 0x0fff)).to_be_bytes());
    }
    let llc_len = u16::try_from(cdp.len() + 8).unwrap_or(u16::MAX);
    f.extend_from_slice(&llc_len.to_be_bytes());
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00]);
    f.extend_from_slice(cdp);
    pad(&mut f);
    f
}

/// An Ethernet II frame with the given ether type.
pub fn ether_frame(l2: L2, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 18);
    f.extend_from_slice(&l2.dst.0);
    f.extend_from_slice(&l2.src.0);
    if let Some(v) = l2.vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&(0xa000 | (v & 0x0fff)).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    pad(&mut f);
    f
}

fn pad(f: &mut Vec<u8>) {
    if f.len() < 60 {
        f.resize(60, 0);
    }
}

fn vlan_id(v: u16) -> VlanId {
    VlanId::try_new(v & 0x0fff).expect("a 12-bit VLAN id is always valid")
}

/// A DHCP client's broadcast from 0.0.0.0:68 to 255.255.255.255:67.
pub fn dhcp_client_broadcast(mac: MacAddr, vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    udp_frame(
        L2 {
            src: mac,
            dst: BROADCAST,
            vlan,
        },
        Endpoint {
            ip: Ipv4Addr::UNSPECIFIED,
            port: 68,
        },
        Endpoint {
            ip: Ipv4Addr::BROADCAST,
            port: 67,
        },
        payload,
    )
}

/// A UDP datagram in a (tagged) Ethernet frame.
pub fn udp_frame(l2: L2, src: Endpoint, dst: Endpoint, payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(l2.src.0, l2.dst.0);
    let mut out = Vec::with_capacity(payload.len() + 50);
    let ip = |b: etherparse::PacketBuilderStep<etherparse::IpHeaders>| b.udp(src.port, dst.port);
    let res = match l2.vlan {
        Some(v) => ip(eth
            .single_vlan(vlan_id(v))
            .ipv4(src.ip.octets(), dst.ip.octets(), 64))
        .write(&mut out, payload),
        None => ip(eth.ipv4(src.ip.octets(), dst.ip.octets(), 64)).write(&mut out, payload),
    };
    // Writing into a Vec fails only if the payload exceeds the IP length field.
    debug_assert!(res.is_ok(), "{res:?}");
    pad(&mut out);
    out
}

/// A TCP segment in a (tagged) Ethernet frame.
pub fn tcp_frame(l2: L2, src: Endpoint, dst: Endpoint, t: TcpFields, payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(l2.src.0, l2.dst.0);
    let mut out = Vec::with_capacity(payload.len() + 60);
    let tcp = |b: etherparse::PacketBuilderStep<etherparse::IpHeaders>| {
        let mut s = b.tcp(src.port, dst.port, t.seq, 64240);
        if t.syn {
            s = s.syn();
        }
        if t.ack {
            s = s.ack(t.ack_no);
        }
        if t.rst {
            s = s.rst();
        }
        if t.fin {
            s = s.fin();
        }
        if t.psh {
            s = s.psh();
        }
        s
    };
    let res = match l2.vlan {
        Some(v) => tcp(eth
            .single_vlan(vlan_id(v))
            .ipv4(src.ip.octets(), dst.ip.octets(), 64))
        .write(&mut out, payload),
        None => tcp(eth.ipv4(src.ip.octets(), dst.ip.octets(), 64)).write(&mut out, payload),
    };
    debug_assert!(res.is_ok(), "{res:?}");
    pad(&mut out);
    out
}

/// An ARP request or reply for IPv4 over Ethernet.
pub fn arp_frame(
    l2: L2,
    op: u16,
    sender: (MacAddr, Ipv4Addr),
    target: (MacAddr, Ipv4Addr),
) -> Vec<u8> {
    let mut p = Vec::with_capacity(28);
    p.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sender.0 .0);
    p.extend_from_slice(&sender.1.octets());
    p.extend_from_slice(&target.0 .0);
    p.extend_from_slice(&target.1.octets());
    ether_frame(l2, 0x0806, &p)
}

/// An IPv4 packet of protocol `protocol` (ICMP: 1) in a (tagged) Ethernet frame,
/// its header checksum computed.
pub fn ipv4_frame(l2: L2, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = ipv4_header(src, dst, protocol, payload.len());
    p.extend_from_slice(payload);
    ether_frame(l2, 0x0800, &p)
}

/// A 20-byte IPv4 header (TTL 64, no options) for `payload_len` bytes after it, its
/// checksum computed: what an ICMP error quotes, too.
pub fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload_len: usize) -> Vec<u8> {
    let total = u16::try_from(20 + payload_len).unwrap_or(u16::MAX);
    let mut h = Vec::with_capacity(20 + payload_len);
    h.extend_from_slice(&[0x45, 0]);
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = internet_checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

/// The Internet checksum (RFC 1071) of `bytes`.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A classic pcap writer (microsecond timestamps, Ethernet), record by record.
pub struct PcapWriter<W: Write> {
    out: W,
    /// Records written.
    pub frames: u64,
    /// Bytes written, header included.
    pub bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Write the file header.
    ///
    /// # Errors
    /// The writer fails.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            frames: 0,
            bytes: 24,
        })
    }

    /// Write one record stamped `ts_ns` (nanoseconds since the epoch, kept to µs).
    ///
    /// # Errors
    /// The writer fails.
    pub fn record(&mut self, ts_ns: i64, frame: &[u8]) -> io::Result<()> {
        let secs = u32::try_from(ts_ns.div_euclid(1_000_000_000)).unwrap_or(0);
        let usecs = u32::try_from(ts_ns.rem_euclid(1_000_000_000) / 1000).unwrap_or(0);
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let mut h = [0u8; 16];
        h[..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&usecs.to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes());
        h[12..].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(frame)?;
        self.frames += 1;
        self.bytes += 16 + frame.len() as u64;
        Ok(())
    }

    /// Flush and hand back the writer.
    ///
    /// # Errors
    /// The writer fails.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
