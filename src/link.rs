//! Link and network layers: a [`Frame`] becomes a [`Packet`] view that borrows it.
//! Ethernet II, 802.3 + LLC/SNAP (CDP: etherparse would take the 802.3 length for
//! an ether type, so LLC/SNAP is recognised here), 802.1Q / 802.1ad / 0x9100 tag
//! stacks with every VLAN id kept, Linux SLL and SLL2, raw IP, BSD loopback and
//! Cisco HDLC; then IPv4 / IPv6 (etherparse, lax so snaplen-cut packets still
//! slice), UDP and TCP. A non-first IPv4 fragment is never read as UDP/TCP.
//!
//! A frame that reached the sensor in a tunnel is read to the frame inside, up to
//! [`MAX_TUNNELS`] tunnels deep: GRE (an Ethernet frame, an IP packet, CDP, Cisco
//! MetaData), ERSPAN types I, II and III in GRE, VXLAN on UDP 4789, CAPWAP data on
//! UDP 5247 (an 802.3 frame, or an 802.11 data frame and its LLC/SNAP header). The
//! headers are read by the `parsers` crate's views (`gre`, `vxlan`, `capwap`,
//! `ieee80211`); what they carry is sliced here, as if captured natively.
//! [`Packet::tunnel`] says the outermost tunnel's kind and how deep the frame was, in
//! two bytes (a packet view is moved around for every frame: it stays small);
//! [`tunnel_endpoints`] reads that tunnel's addresses from the frame when wanted.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};
use parsers::gre::{self, GreProtocol};
use parsers::ieee80211::{self, FcOrder};
use parsers::{capwap, vxlan};

use crate::capture::{Frame, Linktype};

/// An Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// From a slice of exactly six bytes.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        b.try_into().ok().map(MacAddr)
    }

    /// Upper-case hex without separators, as in `SEP001122AABBCC`.
    pub fn to_sep_hex(self) -> String {
        let mut s = String::with_capacity(12);
        for b in self.0 {
            s.push(char::from(hex_digit(b >> 4, b'A')));
            s.push(char::from(hex_digit(b, b'A')));
        }
        s
    }
}

/// The ASCII hex digit of the low four bits of `n`; `ten` is the digit for 10
/// (`b'a'` or `b'A'`), which sets the case.
fn hex_digit(n: u8, ten: u8) -> u8 {
    let n = n & 15;
    if n < 10 {
        b'0' + n
    } else {
        ten + (n - 10)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `00:1b:54:aa:00:01` in one piece: every report entry names its device, and
        // six `{:02x}` through core::fmt cost more than the rest of the entry's name.
        let mut text = *b"00:00:00:00:00:00";
        for (digits, b) in text.chunks_mut(3).zip(self.0) {
            // Every chunk holds two digits (and a colon but the last).
            if let [hi, lo, ..] = digits {
                *hi = hex_digit(b >> 4, b'a');
                *lo = hex_digit(b, b'a');
            }
        }
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One 802.1Q-style tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VlanTag {
    /// The tag protocol id (0x8100, 0x88a8 or 0x9100).
    pub tpid: u16,
    /// VLAN id (0 = priority tag only).
    pub id: u16,
    /// 802.1p priority.
    pub pcp: u8,
}

/// The VLAN tags of a frame, outermost first. Fixed size: no allocation per packet.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Vlans {
    tags: [VlanTag; MAX_TAGS],
    len: u8,
}

/// The deepest tag stack decoded; a frame with more is malformed.
pub const MAX_TAGS: usize = 4;

impl Vlans {
    /// The tags, outermost first.
    pub fn tags(&self) -> &[VlanTag] {
        self.tags.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The VLAN ids, outermost first.
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.tags().iter().map(|t| t.id)
    }

    /// The innermost VLAN id: the one the phone's own frame carried on a SPAN of a trunk.
    /// A service tag (802.1ad, 0x88a8 / 0x9100) is a provider's, never the phone's: a
    /// frame with only service tags carries no VLAN of the phone.
    pub fn inner(&self) -> Option<u16> {
        self.tags()
            .iter()
            .rev()
            .find(|t| t.tpid == ETHERTYPE_VLAN)
            .map(|t| t.id)
    }

    fn push(&mut self, tag: VlanTag) -> bool {
        match self.tags.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = tag;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

impl fmt::Debug for Vlans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

/// TCP flag bits as on the wire (FIN 0x01 … CWR 0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// A TCP segment, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Payload (possibly cut at the snap length).
    pub payload: &'a [u8],
}

/// The transport layer of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// UDP.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Payload (bounded by the UDP length when it fits the capture).
        payload: &'a [u8],
    },
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// A non-first fragment: its bytes are the middle of some datagram, never a header.
    Fragment {
        /// The IP protocol number of the datagram.
        protocol: u8,
    },
    /// Another protocol (ICMP, GRE, …) or a transport header cut short.
    Other {
        /// The IP protocol number.
        protocol: u8,
        /// The IP payload (cut at the snap length).
        payload: &'a [u8],
    },
}

/// An IPv4 or IPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// True for the first fragment of a fragmented datagram: its payload is partial (it is
    /// still dissected, as tshark does when it cannot reassemble).
    pub first_fragment: bool,
    /// The transport layer.
    pub transport: Transport<'a>,
}

/// What the link layer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net<'a> {
    /// A CDP PDU (after 802.3 + LLC/SNAP, or Cisco HDLC protocol 0x2000).
    Cdp(&'a [u8]),
    /// An LLDP PDU (ether type 0x88cc).
    Lldp(&'a [u8]),
    /// An EAPOL PDU (ether type 0x888e: 802.1X port authentication).
    Eapol(&'a [u8]),
    /// IPv4 or IPv6.
    Ip(Ip<'a>),
    /// An ARP packet (ether type 0x0806), padding included.
    Arp(&'a [u8]),
    /// Another ether type (MACsec, PPPoE, …).
    OtherEthertype(u16),
    /// Another 802.2 LLC frame (STP, other SNAP protocols, …).
    OtherLlc,
}

/// The decoded view of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Source MAC, when the link type has one.
    pub src_mac: Option<MacAddr>,
    /// Destination MAC, when the link type has one.
    pub dst_mac: Option<MacAddr>,
    /// VLAN tags, outermost first.
    pub vlans: Vlans,
    /// The network layer.
    pub net: Net<'a>,
    /// The tunnel the frame came in, when it did: the fields above are then the
    /// innermost frame's (its MACs, its own VLAN tags, its IP packet).
    pub tunnel: Option<Tunnel>,
}

/// What kind of tunnel a frame came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TunnelKind {
    /// Plain GRE (an Ethernet frame, an IP packet, CDP).
    Gre,
    /// ERSPAN type I (GRE 0x88be, no ERSPAN header).
    ErspanI,
    /// ERSPAN type II (GRE 0x88be).
    ErspanII,
    /// ERSPAN type III (GRE 0x22eb).
    ErspanIII,
    /// VXLAN (UDP 4789).
    Vxlan,
    /// CAPWAP data (UDP 5247): a wireless controller's tunnel to its access points.
    Capwap,
}

impl TunnelKind {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Gre => "GRE",
            TunnelKind::ErspanI => "ERSPAN I",
            TunnelKind::ErspanII => "ERSPAN II",
            TunnelKind::ErspanIII => "ERSPAN III",
            TunnelKind::Vxlan => "VXLAN",
            TunnelKind::Capwap => "CAPWAP",
        }
    }
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a frame reached the capture when it came in a tunnel: the outermost tunnel's
/// kind (its addresses, the mirroring switch and the sensor, the two tunnel end
/// points, the access point and its controller: [`tunnel_endpoints`]) and how many
/// tunnels deep the frame was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// The outermost tunnel's kind.
    pub kind: TunnelKind,
    /// Tunnels entered, 1 to [`MAX_TUNNELS`].
    pub depth: u8,
}

/// The deepest nesting of tunnels entered: a frame in a tunnel in a tunnel (the
/// ERSPAN copy of a fabric's VXLAN traffic) is read to the innermost frame; one
/// nested deeper is read as the payload of the second tunnel, so that no input can
/// make the slicing loop.
pub const MAX_TUNNELS: u8 = 2;

/// Why a frame could not be sliced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The frame ends inside the named header.
    #[error("frame ends inside the {0} header")]
    Truncated(&'static str),
    /// More stacked VLAN tags than bootscope decodes.
    #[error("more than {MAX_TAGS} stacked VLAN tags")]
    TooManyTags,
    /// A link type bootscope does not decode.
    #[error("link type {0} is not decoded")]
    UnsupportedLinktype(Linktype),
    /// The IP header is malformed (etherparse's reading of it).
    #[error("bad IP header: {0}")]
    Ip(#[source] etherparse::err::ip::LaxHeaderSliceError),
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_LLDP: u16 = 0x88cc;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// Linux SLL "protocol" for frames carrying an 802.2 LLC header.
const SLL_PROTO_802_2: u16 = 0x0004;
/// Cisco HDLC protocol for CDP.
const HDLC_PROTO_CDP: u16 = 0x2000;
/// The LLC/SNAP header that introduces CDP: DSAP/SSAP 0xaa, UI, OUI 00000c, PID 0x2000.
const SNAP_CDP: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];

/// Slice one frame down to its network and transport layers.
///
/// # Errors
/// A header cut short, a tag stack deeper than [`MAX_TAGS`], an unsupported link
/// type, or a malformed IP header.
pub fn decode<'a>(frame: &Frame<'a>) -> Result<Packet<'a>, LinkError> {
    let mut pkt = Packet::empty();
    outer(frame, &mut pkt)?;
    if let Net::Ip(ip) = &pkt.net {
        // The common case stops at this test, inlined.
        if maybe_tunnel(&ip.transport) {
            if let Some((kind, inner)) = tunnel(ip) {
                return enter_tunnels(kind, inner);
            }
        }
    }
    Ok(pkt)
}

/// Whether a transport may be a tunnel [`tunnel`] enters: GRE, or UDP on a tunnel port.
#[inline(always)]
fn maybe_tunnel(t: &Transport<'_>) -> bool {
    match *t {
        Transport::Other { protocol, .. } => protocol == 47,
        Transport::Udp {
            src_port, dst_port, ..
        } => tunnel_ports(src_port, dst_port),
        _ => false,
    }
}

/// The source and destination addresses of the outermost tunnel a frame came in (as
/// [`decode`] reads it: `Some` exactly when its packet has a [`Packet::tunnel`]).
pub fn tunnel_endpoints(frame: &Frame<'_>) -> Option<(IpAddr, IpAddr)> {
    let mut pkt = Packet::empty();
    outer(frame, &mut pkt).ok()?;
    match pkt.net {
        Net::Ip(ip) if tunnel(&ip).is_some() => Some((ip.src, ip.dst)),
        _ => None,
    }
}

/// [`decode`] without entering a tunnel, into `pkt` (empty).
#[inline(always)]
fn outer<'a>(frame: &Frame<'a>, pkt: &mut Packet<'a>) -> Result<(), LinkError> {
    let data = frame.data;
    match frame.linktype {
        Linktype::ETHERNET => ethernet(data, pkt)?,
        Linktype::LINUX_SLL => {
            // packet type u16, ARPHRD u16, address length u16, address [8], protocol u16
            let Some(hdr) = data.get(..16) else {
                return Err(LinkError::Truncated("Linux SLL"));
            };
            let (addr_len, addr) = (be16(hdr, 4), hdr.get(6..14).unwrap_or_default());
            if addr_len == 6 {
                pkt.src_mac = MacAddr::from_slice(addr.get(..6).unwrap_or_default());
            }
            pkt.net = sll_payload(data.get(14..).unwrap_or_default(), &mut pkt.vlans)?;
        }
        Linktype::LINUX_SLL2 => {
            // protocol u16, reserved u16, ifindex u32, ARPHRD u16, packet type u8,
            // address length u8, address [8]
            let Some(hdr) = data.get(..20) else {
                return Err(LinkError::Truncated("Linux SLL2"));
            };
            let addr_len = hdr.get(11).copied().unwrap_or(0);
            if addr_len == 6 {
                pkt.src_mac = MacAddr::from_slice(hdr.get(12..18).unwrap_or_default());
            }
            let proto = be16(hdr, 0);
            let payload = data.get(20..).unwrap_or_default();
            pkt.net = sll_proto_payload(proto, payload, &mut pkt.vlans)?;
        }
        Linktype::RAW | Linktype::RAW_BSD | Linktype::RAW_OPENBSD | Linktype::IPV4 => {
            pkt.net = Net::Ip(ip(data)?);
        }
        Linktype::IPV6 => pkt.net = Net::Ip(ip(data)?),
        Linktype::NULL => {
            // 4-byte address family in the capturing host's byte order.
            let Some(&[a, b, c, d]) = data.get(..4) else {
                return Err(LinkError::Truncated("loopback"));
            };
            let (le, be) = (
                u32::from_le_bytes([a, b, c, d]),
                u32::from_be_bytes([a, b, c, d]),
            );
            let is_ip = |f: u32| matches!(f, 2 | 24 | 28 | 30);
            pkt.net = if is_ip(le) || is_ip(be) {
                Net::Ip(ip(data.get(4..).unwrap_or_default())?)
            } else {
                Net::OtherEthertype(0)
            };
        }
        Linktype::C_HDLC => {
            // address u8, control u8, protocol u16
            let Some(hdr) = data.get(..4) else {
                return Err(LinkError::Truncated("Cisco HDLC"));
            };
            let rest = data.get(4..).unwrap_or_default();
            pkt.net = match be16(hdr, 2) {
                HDLC_PROTO_CDP => Net::Cdp(rest),
                proto => ethertype_payload_after(proto, rest, &mut pkt.vlans)?,
            };
        }
        other => return Err(LinkError::UnsupportedLinktype(other)),
    }
    Ok(())
}

impl Packet<'_> {
    fn empty() -> Self {
        Packet {
            src_mac: None,
            dst_mac: None,
            vlans: Vlans::default(),
            net: Net::OtherLlc,
            tunnel: None,
        }
    }
}

/// An Ethernet frame from its destination MAC on.
#[inline(always)]
fn ethernet<'a>(data: &'a [u8], pkt: &mut Packet<'a>) -> Result<(), LinkError> {
    let (Some(d), Some(s), Some(rest)) = (data.get(..6), data.get(6..12), data.get(12..)) else {
        return Err(LinkError::Truncated("Ethernet"));
    };
    pkt.dst_mac = MacAddr::from_slice(d);
    pkt.src_mac = MacAddr::from_slice(s);
    pkt.net = ethertype_payload(rest, &mut pkt.vlans, true)?;
    Ok(())
}

/// What a tunnel carries, for the link layer to slice.
#[derive(Debug, Clone, Copy)]
enum Inner<'a> {
    /// An Ethernet (802.3) frame.
    Ethernet(&'a [u8]),
    /// What follows an ether type (an IP packet, a tag, …).
    Ethertype(u16, &'a [u8]),
    /// A CDP PDU.
    Cdp(&'a [u8]),
    /// The body of an 802.11 data frame: an LLC header first.
    Wireless {
        src: [u8; 6],
        dst: [u8; 6],
        llc: &'a [u8],
    },
}

/// The UDP ports whose datagrams may be tunnels ([`tunnel`]): a datagram to the VXLAN
/// port, from or to the CAPWAP data port.
#[inline(always)]
fn tunnel_ports(src_port: u16, dst_port: u16) -> bool {
    dst_port == vxlan::PORT || src_port == capwap::DATA_PORT || dst_port == capwap::DATA_PORT
}

/// The tunnel an IP packet is, and what it carries, when its header reads as one
/// and it carries a frame this module slices: GRE (IP protocol 47) with an Ethernet
/// frame, an IP packet, CDP, Cisco MetaData or ERSPAN (whose type III frame type is
/// Ethernet); VXLAN with the I flag; CAPWAP data neither DTLS nor a keep-alive nor a
/// fragment (not reassembled), with an 802.3 frame or an 802.11 data frame with a
/// clear, single body (not protected, not an A-MSDU). Anything else stays the IP
/// packet it is.
fn tunnel<'a>(ip: &Ip<'a>) -> Option<(TunnelKind, Inner<'a>)> {
    match ip.transport {
        Transport::Other {
            protocol: 47,
            payload,
        } => gre_tunnel(payload),
        Transport::Udp {
            src_port,
            dst_port,
            payload,
        } if tunnel_ports(src_port, dst_port) => {
            if dst_port == vxlan::PORT {
                let v = vxlan::parse(payload).ok()?;
                return Some((TunnelKind::Vxlan, Inner::Ethernet(v.frame)));
            }
            capwap_tunnel(payload)
        }
        _ => None,
    }
}

fn gre_tunnel(payload: &[u8]) -> Option<(TunnelKind, Inner<'_>)> {
    let g = gre::parse(payload).ok()?;
    let inner = match g.protocol {
        GreProtocol::TRANSPARENT_ETHERNET => Inner::Ethernet(g.payload),
        GreProtocol::IPV4 | GreProtocol::IPV6 => Inner::Ethertype(g.protocol.0, g.payload),
        GreProtocol::CDP => Inner::Cdp(g.payload),
        // Cisco MetaData in GRE: the ether type first, then version, length, option and
        // SGT (Wireshark's packet-cisco-metadata.c).
        GreProtocol::CISCO_METADATA => Inner::Ethertype(be16(g.payload, 0), g.payload.get(8..)?),
        GreProtocol::ERSPAN | GreProtocol::ERSPAN_III => {
            let e = g.erspan().ok()?;
            let kind = match e.header {
                gre::ErspanHeader::TypeI => TunnelKind::ErspanI,
                gre::ErspanHeader::TypeII(_) => TunnelKind::ErspanII,
                gre::ErspanHeader::TypeIII(_) => TunnelKind::ErspanIII,
            };
            return Some((kind, Inner::Ethernet(e.ethernet()?)));
        }
        _ => return None,
    };
    Some((TunnelKind::Gre, inner))
}

fn capwap_tunnel(payload: &[u8]) -> Option<(TunnelKind, Inner<'_>)> {
    let c = capwap::parse(payload).ok()?;
    if c.fragment || c.keep_alive {
        return None;
    }
    if !c.native {
        return Some((TunnelKind::Capwap, Inner::Ethernet(c.payload)));
    }
    if c.binding != capwap::CapwapBinding::IEEE_802_11 {
        return None;
    }
    // Cisco's frame control byte order first, as tshark reads CAPWAP; the standard
    // order when only it gives a data frame with an LLC/SNAP header.
    let d = ieee80211::parse(c.payload, FcOrder::Swapped)
        .ok()
        .or_else(|| {
            ieee80211::parse(c.payload, FcOrder::Standard)
                .ok()
                .filter(|d| d.body.starts_with(&[0xaa, 0xaa, 0x03]))
        })?;
    if d.protected() || d.amsdu() || d.body.is_empty() {
        return None;
    }
    let inner = Inner::Wireless {
        src: d.source(),
        dst: d.destination(),
        llc: d.body,
    };
    Some((TunnelKind::Capwap, inner))
}

/// The innermost frame of a tunnel of `kind` carrying `inner`, entering at most
/// [`MAX_TUNNELS`] tunnels.
///
/// # Errors
/// The innermost frame cannot be sliced, as it could not be natively.
fn enter_tunnels(kind: TunnelKind, inner: Inner<'_>) -> Result<Packet<'_>, LinkError> {
    let mut seen = Tunnel { kind, depth: 0 };
    let mut next = inner;
    loop {
        seen.depth += 1;
        let mut pkt = Packet::empty();
        match next {
            Inner::Ethernet(data) => ethernet(data, &mut pkt)?,
            Inner::Ethertype(kind, body) => {
                pkt.net = ethertype_payload_after(kind, body, &mut pkt.vlans)?;
            }
            Inner::Cdp(body) => pkt.net = Net::Cdp(body),
            Inner::Wireless {
                src,
                dst,
                llc: body,
            } => {
                pkt.src_mac = Some(MacAddr(src));
                pkt.dst_mac = Some(MacAddr(dst));
                pkt.net = llc(body, &mut pkt.vlans)?;
            }
        }
        pkt.tunnel = Some(seen);
        match pkt.net {
            Net::Ip(ip) if seen.depth < MAX_TUNNELS => match tunnel(&ip) {
                Some((_, deeper)) => next = deeper,
                None => return Ok(pkt),
            },
            _ => return Ok(pkt),
        }
    }
}

/// The transport of an Ethernet frame (up to [`MAX_TAGS`] VLAN tags) carrying IPv4
/// on the fast path's terms ([`fast_ipv4`]), found without building a [`Packet`]:
/// exactly what [`decode`] puts in `Net::Ip(ip).transport` for such a frame. `None`
/// for any other frame: decode it. The walker sorts the bulk of a capture out with
/// this (a test holds it to [`decode`] on generated frames).
#[inline]
pub fn glance<'a>(frame: &Frame<'a>) -> Option<Transport<'a>> {
    if frame.linktype != Linktype::ETHERNET {
        return None;
    }
    let data = frame.data;
    // A missing type reads as 0: neither a tag nor IPv4, so the frame is decoded.
    let mut kind = be16(data, 12);
    let mut body = data.get(14..)?;
    let mut tags = 0;
    while is_tag_type(kind) {
        if tags == MAX_TAGS {
            return None;
        }
        tags += 1;
        let (_, next) = vlan_tag(body)?;
        kind = next;
        body = body.get(4..)?;
    }
    if kind != ETHERTYPE_IPV4 {
        return None;
    }
    match fast_ipv4(body)?.transport {
        // Perhaps a tunnel: decode enters it.
        Transport::Udp {
            src_port, dst_port, ..
        } if tunnel_ports(src_port, dst_port) => None,
        t => Some(t),
    }
}

/// Whether an ether type announces an 802.1Q / 802.1ad tag.
fn is_tag_type(kind: u16) -> bool {
    matches!(kind, ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD)
}

/// The tag at the start of `body`: its TCI (PCP 3 bits, DEI 1, VID 12) and the
/// type or length that follows it; `None` when cut short.
fn vlan_tag(body: &[u8]) -> Option<(u16, u16)> {
    match body.get(..4) {
        Some(&[t0, t1, k0, k1]) => {
            Some((u16::from_be_bytes([t0, t1]), u16::from_be_bytes([k0, k1])))
        }
        _ => None,
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

/// `rest` starts at an Ethernet type/length field.
fn ethertype_payload<'a>(
    rest: &'a [u8],
    vlans: &mut Vlans,
    is_ethernet: bool,
) -> Result<Net<'a>, LinkError> {
    let Some(&[hi, lo]) = rest.get(..2) else {
        return Err(LinkError::Truncated("Ethernet"));
    };
    let kind = u16::from_be_bytes([hi, lo]);
    let body = rest.get(2..).unwrap_or_default();
    if is_ethernet && kind <= 1500 {
        // 802.3: a length, then 802.2 LLC. Trailing padding beyond the length is dropped.
        let llc_len = usize::from(kind).min(body.len());
        return llc(body.get(..llc_len).unwrap_or_default(), vlans);
    }
    ethertype_payload_after(kind, body, vlans)
}

/// `body` follows an ether type `kind`.
fn ethertype_payload_after<'a>(
    mut kind: u16,
    mut body: &'a [u8],
    vlans: &mut Vlans,
) -> Result<Net<'a>, LinkError> {
    while is_tag_type(kind) {
        let Some((tci, next)) = vlan_tag(body) else {
            return Err(LinkError::Truncated("802.1Q"));
        };
        let pushed = vlans.push(VlanTag {
            tpid: kind,
            id: tci & 0x0fff,
            pcp: (tci >> 13) as u8,
        });
        if !pushed {
            return Err(LinkError::TooManyTags);
        }
        kind = next;
        body = body.get(4..).unwrap_or_default();
        if kind <= 1500 {
            let llc_len = usize::from(kind).min(body.len());
            return llc(body.get(..llc_len).unwrap_or_default(), vlans);
        }
    }
    Ok(match kind {
        ETHERTYPE_LLDP => Net::Lldp(body),
        parsers::eapol::ETHER_TYPE => Net::Eapol(body),
        ETHERTYPE_ARP => Net::Arp(body),
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Net::Ip(ip(body)?),
        other => Net::OtherEthertype(other),
    })
}

fn sll_payload<'a>(rest: &'a [u8], vlans: &mut Vlans) -> Result<Net<'a>, LinkError> {
    let proto = be16(rest, 0);
    sll_proto_payload(proto, rest.get(2..).unwrap_or_default(), vlans)
}

fn sll_proto_payload<'a>(
    proto: u16,
    body: &'a [u8],
    vlans: &mut Vlans,
) -> Result<Net<'a>, LinkError> {
    if proto == SLL_PROTO_802_2 {
        return llc(body, vlans);
    }
    ethertype_payload_after(proto, body, vlans)
}

/// An 802.2 LLC frame: CDP behind its SNAP header; an ether type behind a SNAP
/// header of OUI 00-00-00 (RFC 1042, as 802.11 carries every packet) or 00-00-f8
/// (802.1H); anything else is [`Net::OtherLlc`].
fn llc<'a>(body: &'a [u8], vlans: &mut Vlans) -> Result<Net<'a>, LinkError> {
    match body.split_at_checked(SNAP_CDP.len()) {
        Some((snap, cdp)) if snap == SNAP_CDP => Ok(Net::Cdp(cdp)),
        Some((&[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00 | 0xf8, t0, t1], rest)) => {
            ethertype_payload_after(u16::from_be_bytes([t0, t1]), rest, vlans)
        }
        _ => Ok(Net::OtherLlc),
    }
}

fn ip(data: &[u8]) -> Result<Ip<'_>, LinkError> {
    match fast_ipv4(data) {
        Some(ip) => Ok(ip),
        None => sliced_ip(data),
    }
}

/// The common case sliced by hand, for speed: IPv4 without options, its total
/// length within the frame, not a fragment, carrying UDP or TCP with a header that
/// fits. Anything else goes to etherparse ([`sliced_ip`]); a test holds the two to
/// the same answer on every input the fast path takes.
// Inlined so that a glance, which keeps only the transport, builds nothing else.
#[inline(always)]
fn fast_ipv4(data: &[u8]) -> Option<Ip<'_>> {
    let h: &[u8; 20] = data.first_chunk()?;
    let &[version_ihl, _, _, _, _, _, _, _, _, protocol, _, _, s0, s1, s2, s3, d0, d1, d2, d3] = h;
    let total = usize::from(be16(h, 2));
    // Version 4, 20-byte header; MF clear and offset 0.
    if version_ihl != 0x45 || total < 20 || total > data.len() || be16(h, 6) & 0x3fff != 0 {
        return None;
    }
    let payload = data.get(20..total)?;
    let transport = match protocol {
        17 => {
            let u = payload.get(..8)?;
            // As etherparse's lax UDP: a length that does not fit gives the rest.
            let len = usize::from(be16(u, 4));
            let datagram = if len < 8 {
                payload
            } else {
                payload.get(..len).unwrap_or(payload)
            };
            Transport::Udp {
                src_port: be16(u, 0),
                dst_port: be16(u, 2),
                payload: datagram.get(8..)?,
            }
        }
        6 => {
            let t: &[u8; 20] = payload.first_chunk()?;
            let &[_, _, _, _, q0, q1, q2, q3, a0, a1, a2, a3, offset, flags, ..] = t;
            let header_len = usize::from(offset >> 4) * 4;
            if header_len < 20 {
                return None;
            }
            Transport::Tcp(TcpSegment {
                src_port: be16(t, 0),
                dst_port: be16(t, 2),
                seq: u32::from_be_bytes([q0, q1, q2, q3]),
                ack: u32::from_be_bytes([a0, a1, a2, a3]),
                // The wire's flag byte, bit for bit as `TcpFlags` orders them.
                flags: TcpFlags(flags),
                payload: payload.get(header_len..)?,
            })
        }
        _ => return None,
    };
    Some(Ip {
        src: IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3)),
        dst: IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3)),
        first_fragment: false,
        transport,
    })
}

/// Any IP packet, sliced by etherparse.
fn sliced_ip(data: &[u8]) -> Result<Ip<'_>, LinkError> {
    let (slice, _ext_err) = LaxIpSlice::from_slice(data).map_err(LinkError::Ip)?;
    let payload = slice.payload();
    let protocol = payload.ip_number.0;
    let other = Transport::Other {
        protocol,
        payload: payload.payload,
    };
    let (non_first, first_fragment) = match &slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let offset = h.fragments_offset().value();
            (offset != 0, offset == 0 && h.more_fragments())
        }
        // An IPv6 fragment header: etherparse marks the payload fragmented; without the
        // offset at hand, read none of them as a transport header.
        LaxIpSlice::Ipv6(_) => (payload.fragmented, false),
    };
    let transport = if non_first {
        Transport::Fragment { protocol }
    } else {
        match payload.ip_number {
            IpNumber::UDP => match UdpSlice::from_slice_lax(payload.payload) {
                Ok(udp) => Transport::Udp {
                    src_port: udp.source_port(),
                    dst_port: udp.destination_port(),
                    payload: udp.payload(),
                },
                Err(_) => other,
            },
            IpNumber::TCP => match TcpSlice::from_slice(payload.payload) {
                Ok(tcp) => {
                    let flags = u8::from(tcp.fin())
                        | u8::from(tcp.syn()) << 1
                        | u8::from(tcp.rst()) << 2
                        | u8::from(tcp.psh()) << 3
                        | u8::from(tcp.ack()) << 4
                        | u8::from(tcp.urg()) << 5
                        | u8::from(tcp.ece()) << 6
                        | u8::from(tcp.cwr()) << 7;
                    Transport::Tcp(TcpSegment {
                        src_port: tcp.source_port(),
                        dst_port: tcp.destination_port(),
                        seq: tcp.sequence_number(),
                        ack: tcp.acknowledgment_number(),
                        flags: TcpFlags(flags),
                        payload: tcp.payload(),
                    })
                }
                Err(_) => other,
            },
            _ => other,
        }
    };
    Ok(Ip {
        src: slice.source_addr(),
        dst: slice.destination_addr(),
        first_fragment,
        transport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_ipv4_path_slices_as_etherparse_does() {
        // Headers near the fast path's edges: options, odd lengths, fragments,
        // short transport headers, other protocols; random bytes elsewhere.
        let mut rng = crate::rng::Rng::new(0x2545_f491_4f6c_dd1d_u64);
        let mut next = |n: u64| rng.below(n);
        let mut taken = 0;
        for _ in 0..200_000 {
            let len = next(90) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
            if let Some(b) = d.get_mut(0) {
                *b = [0x45, 0x45, 0x45, 0x46, 0x44, 0x65][next(6) as usize];
            }
            if len >= 4 {
                let total = (len as i64 + next(9) as i64 - 4).max(0) as u16;
                d[2..4].copy_from_slice(&total.to_be_bytes());
            }
            if len >= 8 && next(3) > 0 {
                d[6] &= [0x40, 0x00, 0x20, 0x5f][next(4) as usize];
                d[7] = if next(4) == 0 { d[7] } else { 0 };
            }
            if len >= 10 {
                d[9] = [6, 17, 6, 17, 1, 51][next(6) as usize];
            }
            if len >= 26 && next(2) == 0 {
                // A UDP length near the datagram's.
                let u = (len as i64 - 20 + next(7) as i64 - 3).max(0) as u16;
                d[24..26].copy_from_slice(&u.to_be_bytes());
            }
            if len >= 33 && next(2) == 0 {
                d[32] = (next(16) as u8) << 4;
            }
            if let Some(fast) = fast_ipv4(&d) {
                taken += 1;
                assert_eq!(Ok(fast), sliced_ip(&d), "{d:02x?}");
            }
        }
        assert!(taken > 2_000, "the fast path took only {taken} inputs");
    }

    #[test]
    fn a_glance_sees_the_transport_decode_sees() {
        // Ethernet frames with 0-6 tags of every tag type, other ether types and
        // lengths, IPv4 headers near the fast path's edges, cut anywhere.
        let mut rng = crate::rng::Rng::new(0x9e37_79b9_7f4a_7c15_u64);
        let mut next = |n: u64| rng.below(n);
        let (mut seen, mut tagged, mut tunnelled) = (0, 0, 0);
        for _ in 0..200_000 {
            let mut f: Vec<u8> = (0..12).map(|_| next(256) as u8).collect();
            let tags = next(7);
            for _ in 0..tags {
                let tpid = [ETHERTYPE_VLAN, ETHERTYPE_QINQ, ETHERTYPE_QINQ_OLD][next(3) as usize];
                f.extend_from_slice(&tpid.to_be_bytes());
                f.extend_from_slice(&[next(256) as u8, next(256) as u8]);
            }
            let kind = [
                ETHERTYPE_IPV4,
                ETHERTYPE_IPV4,
                ETHERTYPE_IPV4,
                ETHERTYPE_IPV6,
                0x0806,
                46,
            ][next(6) as usize];
            f.extend_from_slice(&kind.to_be_bytes());
            let mut ip = ipv4_udp(0, false);
            ip[9] = [6, 17, 17, 1][next(4) as usize];
            if next(8) == 0 {
                ip[0] = 0x46;
            }
            if next(8) == 0 {
                ip[6] = 0x20;
            }
            // Now and then a datagram on a tunnel port carrying a frame (VXLAN, CAPWAP
            // with an 802.3 frame): decode enters it, a glance must not answer.
            match next(8) {
                0 => {
                    ip[22..24].copy_from_slice(&vxlan::PORT.to_be_bytes());
                    ip[28] = 0x08;
                }
                1 => {
                    let at = [20, 22][next(2) as usize];
                    ip[at..at + 2].copy_from_slice(&capwap::DATA_PORT.to_be_bytes());
                    ip[28..36].copy_from_slice(&[0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0]);
                }
                _ => {}
            }
            if ip[22..24] == vxlan::PORT.to_be_bytes() || ip[28..36] == [0, 0x10, 0, 0, 0, 0, 0, 0]
            {
                ip.truncate(36);
                ip.extend((0..12).map(|_| next(256) as u8));
                ip.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                ip.extend_from_slice(&ipv4_udp(0, false));
                let udp_len = (ip.len() - 20) as u16;
                ip[24..26].copy_from_slice(&udp_len.to_be_bytes());
            }
            ip.extend((0..next(40)).map(|_| next(256) as u8));
            // A total length mostly within the packet, now and then beyond it.
            let total = (ip.len() as i64 - next(8) as i64 + 2 * next(2) as i64).max(0) as u16;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&ip);
            if next(4) == 0 {
                f.truncate(f.len() - next(f.len() as u64 / 2) as usize);
            }
            let fr = frame(Linktype::ETHERNET, &f);
            if let Some(t) = glance(&fr) {
                seen += 1;
                tagged += usize::from(tags > 0);
                let Ok(Packet {
                    net: Net::Ip(ip), ..
                }) = decode(&fr)
                else {
                    panic!("decode disagrees on {f:02x?}");
                };
                assert_eq!(ip.transport, t, "{f:02x?}");
            }
            if decode(&fr).is_ok_and(|p| p.tunnel.is_some()) {
                tunnelled += 1;
                assert_eq!(glance(&fr), None, "{f:02x?}");
            }
            assert_eq!(glance(&frame(Linktype::LINUX_SLL, &f)), None);
        }
        assert!(
            seen > 10_000 && tagged > 5_000 && tunnelled > 2_000,
            "{seen} frames glanced, {tagged} tagged, {tunnelled} tunnelled"
        );
    }

    #[test]
    fn macs_print_as_lower_case_colon_separated_pairs() {
        for bytes in [[0u8; 6], [0xff; 6], [0x00, 0x1b, 0x54, 0xaa, 0x0f, 0xf0]] {
            let [a, b, c, d, e, g] = bytes;
            let want = format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}");
            assert_eq!(MacAddr(bytes).to_string(), want);
        }
        assert_eq!(
            MacAddr([0x00, 0x1b, 0x54, 0xaa, 0x0f, 0xf0]).to_string(),
            "00:1b:54:aa:0f:f0"
        );
    }

    fn frame(linktype: Linktype, data: &[u8]) -> Frame<'_> {
        Frame {
            number: 1,
            ts_ns: 0,
            linktype,
            data,
            orig_len: data.len() as u32,
        }
    }

    const DST: [u8; 6] = [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];
    const SRC: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];

    #[test]
    fn ieee_802_3_llc_snap_is_cdp_not_an_ether_type() {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0x00, 0x0c]); // 802.3 length: 8 SNAP + 4 CDP bytes
        f.extend_from_slice(&SNAP_CDP);
        f.extend_from_slice(&[0x02, 0xb4, 0x12, 0x34]);
        f.extend_from_slice(&[0u8; 20]); // Ethernet padding, beyond the 802.3 length
        let p = decode(&frame(Linktype::ETHERNET, &f)).unwrap();
        assert_eq!(p.net, Net::Cdp(&[0x02, 0xb4, 0x12, 0x34]));
        assert_eq!(p.src_mac, Some(MacAddr(SRC)));
    }

    #[test]
    fn stacked_tags_keep_every_vlan_id() {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64]); // S-tag VLAN 100
        f.extend_from_slice(&[0x91, 0x00, 0x00, 0xc8]); // old QinQ VLAN 200
        f.extend_from_slice(&[0x81, 0x00, 0xa0, 0x4d]); // C-tag PCP 5 VLAN 77
        f.extend_from_slice(&[0x88, 0xcc, 0x02, 0x07]);
        let p = decode(&frame(Linktype::ETHERNET, &f)).unwrap();
        assert_eq!(p.vlans.ids().collect::<Vec<_>>(), vec![100, 200, 77]);
        assert_eq!(p.vlans.tags()[2].pcp, 5);
        assert_eq!(p.vlans.inner(), Some(77));
        assert_eq!(p.net, Net::Lldp(&[0x02, 0x07]));
    }

    #[test]
    fn too_many_tags_is_an_error_not_a_loop() {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        for _ in 0..100 {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
        }
        assert_eq!(
            decode(&frame(Linktype::ETHERNET, &f)),
            Err(LinkError::TooManyTags)
        );
    }

    fn ipv4_udp(frag: u16, more: bool) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 36, 0, 1, // version/ihl, tos, total length 36, id
        ];
        let ff = (u16::from(more) << 13) | frag;
        p.extend_from_slice(&ff.to_be_bytes());
        p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&[0, 68, 0, 67, 0, 16, 0, 0]); // UDP 68 -> 67, length 16
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p
    }

    #[test]
    fn non_first_fragment_is_never_udp() {
        let bytes = ipv4_udp(185, false);
        let p = decode(&frame(Linktype::RAW, &bytes)).unwrap();
        let Net::Ip(ip) = p.net else { panic!() };
        assert_eq!(ip.transport, Transport::Fragment { protocol: 17 });
        let bytes = ipv4_udp(0, false);
        let p = decode(&frame(Linktype::RAW, &bytes)).unwrap();
        let Net::Ip(ip) = p.net else { panic!() };
        assert!(
            matches!(ip.transport, Transport::Udp { src_port: 68, dst_port: 67, payload } if payload.len() == 8)
        );
        assert!(!ip.first_fragment);
        let bytes = ipv4_udp(0, true);
        let p = decode(&frame(Linktype::RAW, &bytes)).unwrap();
        let Net::Ip(ip) = p.net else { panic!() };
        assert!(ip.first_fragment);
    }

    #[test]
    fn ipv6_udp_and_tcp_slice_through_extension_headers() {
        let mut p = vec![0x60, 0, 0, 0, 0, 16, 0, 64]; // payload length 16, next header hop-by-hop
        p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop: next UDP, PadN
        p.extend_from_slice(&[0x02, 0x22, 0x02, 0x23, 0, 8, 0, 0]); // UDP 546 -> 547
        let f = frame(Linktype::IPV6, &p);
        let Net::Ip(ip) = decode(&f).unwrap().net else {
            panic!()
        };
        assert_eq!(ip.src.to_string(), "fe80::1");
        assert!(matches!(
            ip.transport,
            Transport::Udp {
                src_port: 546,
                dst_port: 547,
                ..
            }
        ));
    }

    #[test]
    fn sll2_carries_the_mac_and_protocol() {
        let mut f = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&ipv4_udp(0, false));
        let p = decode(&frame(Linktype::LINUX_SLL2, &f)).unwrap();
        assert_eq!(p.src_mac, Some(MacAddr(SRC)));
        assert!(matches!(p.net, Net::Ip(_)));
    }

    #[test]
    fn short_frames_are_errors_for_every_link_type() {
        for lt in [
            Linktype::ETHERNET,
            Linktype::LINUX_SLL,
            Linktype::LINUX_SLL2,
            Linktype::NULL,
            Linktype::C_HDLC,
            Linktype::RAW,
        ] {
            for n in 0..3 {
                assert!(decode(&frame(lt, &[0x45; 3][..n])).is_err(), "{lt} {n}");
            }
        }
        assert_eq!(
            decode(&frame(Linktype(147), &[0; 40])),
            Err(LinkError::UnsupportedLinktype(Linktype(147)))
        );
    }

    // Tunnels: frames built with the parsers' emitters.

    const SENSOR: [u8; 4] = [192, 0, 2, 9];
    const MIRROR: [u8; 4] = [192, 0, 2, 1];

    fn eth(dst: [u8; 6], src: [u8; 6], tags: &[u16], kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = [dst, src].concat();
        for &id in tags {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&id.to_be_bytes());
        }
        f.extend_from_slice(&kind.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0, 0, 64, protocol, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = sport.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    /// A phone's DHCP Discover on voice VLAN 100, as the access switch sees it.
    fn phone_frame() -> Vec<u8> {
        let dhcp = udp(68, 67, &[1, 1, 6, 0]);
        let ip = ipv4(17, [0; 4], [255; 4], &dhcp);
        eth([0xff; 6], SRC, &[100], ETHERTYPE_IPV4, &ip)
    }

    /// `inner` in a GRE packet of `protocol`, in IPv4 from the mirroring switch to the
    /// sensor, in an Ethernet frame on the sensor's VLAN 7.
    fn in_gre(protocol: GreProtocol, sequence: Option<u32>, inner: &[u8]) -> Vec<u8> {
        let g = gre::GrePacket {
            protocol,
            checksum: None,
            key: None,
            sequence,
            payload: inner,
        };
        let ip = ipv4(47, MIRROR, SENSOR, &g.to_vec().unwrap());
        eth([2; 6], [3; 6], &[7], ETHERTYPE_IPV4, &ip)
    }

    fn in_erspan_ii(inner: &[u8]) -> Vec<u8> {
        let e = gre::ErspanPacket {
            header: gre::ErspanHeader::TypeII(gre::ErspanII {
                vlan: 100,
                session: 3,
                ..Default::default()
            }),
            frame: inner,
        };
        in_gre(GreProtocol::ERSPAN, Some(1), &e.to_vec().unwrap())
    }

    fn in_vxlan(inner: &[u8]) -> Vec<u8> {
        let v = vxlan::VxlanPacket {
            vni: 5000,
            frame: inner,
        };
        let ip = ipv4(
            17,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &udp(49152, vxlan::PORT, &v.to_vec().unwrap()),
        );
        eth([2; 6], [3; 6], &[], ETHERTYPE_IPV4, &ip)
    }

    fn decoded(f: &[u8]) -> Packet<'_> {
        decode(&frame(Linktype::ETHERNET, f)).unwrap_or_else(|e| panic!("{e}: {f:02x?}"))
    }

    /// What the phone's frame reads as natively, with the tunnel that brought it.
    fn as_native_via(f: &[u8], tunnel: (TunnelKind, [u8; 4], [u8; 4], u8)) {
        let (kind, src, dst, depth) = tunnel;
        let native = phone_frame();
        let want = Packet {
            tunnel: Some(Tunnel { kind, depth }),
            ..decoded(&native)
        };
        assert_eq!(decoded(f), want);
        let ends = (IpAddr::from(src), IpAddr::from(dst));
        assert_eq!(tunnel_endpoints(&frame(Linktype::ETHERNET, f)), Some(ends));
    }

    fn tunnel(
        kind: TunnelKind,
        src: [u8; 4],
        dst: [u8; 4],
        depth: u8,
    ) -> (TunnelKind, [u8; 4], [u8; 4], u8) {
        (kind, src, dst, depth)
    }

    #[test]
    fn an_erspan_copy_reads_as_the_frame_it_mirrors() {
        let t = |kind| tunnel(kind, MIRROR, SENSOR, 1);
        as_native_via(&in_erspan_ii(&phone_frame()), t(TunnelKind::ErspanII));
        as_native_via(
            &in_gre(GreProtocol::ERSPAN, None, &phone_frame()),
            t(TunnelKind::ErspanI),
        );
        let iii = gre::ErspanPacket {
            header: gre::ErspanHeader::TypeIII(gre::ErspanIII {
                platform: Some(7),
                ..Default::default()
            }),
            frame: &phone_frame(),
        };
        let f = in_gre(GreProtocol::ERSPAN_III, Some(9), &iii.to_vec().unwrap());
        as_native_via(&f, t(TunnelKind::ErspanIII));
        let f = in_gre(GreProtocol::TRANSPARENT_ETHERNET, None, &phone_frame());
        as_native_via(&f, t(TunnelKind::Gre));
        // The sensor's own tag (VLAN 7) is the outer frame's, not the phone's.
        assert_eq!(decoded(&f).vlans.ids().collect::<Vec<_>>(), vec![100]);
    }

    #[test]
    fn gre_carries_ip_cdp_and_cisco_metadata_without_a_link_header() {
        let native = phone_frame();
        let ip = &native[18..];
        let f = in_gre(GreProtocol::IPV4, None, ip);
        let p = decoded(&f);
        assert_eq!((p.src_mac, p.dst_mac), (None, None));
        assert_eq!(p.net, decoded(&native).net);
        let f = in_gre(GreProtocol::CDP, None, &[0x02, 0xb4]);
        let p = decoded(&f);
        assert_eq!(p.net, Net::Cdp(&[0x02, 0xb4]));
        let mut cmd = vec![0x08, 0x00, 1, 1, 0, 1, 0, 0];
        cmd.extend_from_slice(ip);
        let f = in_gre(GreProtocol::CISCO_METADATA, None, &cmd);
        let p = decoded(&f);
        assert_eq!(p.net, decoded(&native).net);
        assert_eq!(p.tunnel.map(|t| t.kind), Some(TunnelKind::Gre));
    }

    #[test]
    fn what_is_no_tunnel_we_slice_stays_the_outer_packet() {
        // A GRE keepalive (protocol 0), ERSPAN III of frame type IP, VXLAN without the
        // I flag, a CAPWAP keep-alive: the outer IP packet.
        let keepalive = in_gre(GreProtocol(0), None, &[]);
        let iii = gre::ErspanPacket {
            header: gre::ErspanHeader::TypeIII(gre::ErspanIII {
                frame_type: 2,
                ..Default::default()
            }),
            frame: &phone_frame(),
        };
        let ip_type = in_gre(GreProtocol::ERSPAN_III, None, &iii.to_vec().unwrap());
        let mut no_i_flag = in_vxlan(&phone_frame());
        no_i_flag[14 + 20 + 8] = 0;
        for f in [keepalive, ip_type, no_i_flag] {
            let p = decoded(&f);
            assert_eq!(p.tunnel, None, "{f:02x?}");
            assert_eq!(tunnel_endpoints(&frame(Linktype::ETHERNET, &f)), None);
            assert_eq!(p.src_mac, Some(MacAddr([3; 6])));
        }
        let f = in_gre(GreProtocol(0), None, &[]);
        let Net::Ip(ip) = decoded(&f).net else {
            panic!()
        };
        assert!(
            matches!(ip.transport, Transport::Other { protocol: 47, payload } if payload.len() == 4)
        );
    }

    #[test]
    fn a_cut_inner_frame_is_the_frame_error_it_is_natively() {
        let native = phone_frame();
        assert_eq!(
            decode(&frame(Linktype::ETHERNET, &in_vxlan(&native[..10]))),
            Err(LinkError::Truncated("Ethernet"))
        );
        assert_eq!(
            decode(&frame(Linktype::ETHERNET, &in_erspan_ii(&native[..16]))),
            Err(LinkError::Truncated("802.1Q"))
        );
    }

    #[test]
    fn nested_tunnels_are_entered_twice_at_most() {
        // ERSPAN of a fabric's VXLAN: the phone's frame, two tunnels deep, the outer
        // one (ERSPAN) kept.
        let f = in_erspan_ii(&in_vxlan(&phone_frame()));
        as_native_via(&f, tunnel(TunnelKind::ErspanII, MIRROR, SENSOR, 2));
        // A third tunnel is not entered: the packet is the innermost VXLAN datagram.
        let f = in_erspan_ii(&in_vxlan(&in_vxlan(&phone_frame())));
        let p = decoded(&f);
        assert_eq!(p.tunnel.map(|t| t.depth), Some(MAX_TUNNELS));
        let Net::Ip(ip) = p.net else { panic!() };
        assert!(matches!(
            ip.transport,
            Transport::Udp {
                dst_port: vxlan::PORT,
                ..
            }
        ));
        // IP in GRE in IP in GRE… a thousand deep: read, two deep, at once.
        let mut ip = phone_frame()[18..].to_vec();
        for _ in 0..1000 {
            let g = gre::GrePacket {
                protocol: GreProtocol::IPV4,
                checksum: None,
                key: None,
                sequence: None,
                payload: &ip,
            };
            ip = ipv4(47, MIRROR, SENSOR, &g.to_vec().unwrap());
        }
        let f = eth([2; 6], [3; 6], &[], ETHERTYPE_IPV4, &ip);
        assert_eq!(decoded(&f).tunnel.map(|t| t.depth), Some(MAX_TUNNELS));
    }

    /// `frame` in CAPWAP data from an access point to its controller.
    fn in_capwap(native: bool, frame: &[u8]) -> Vec<u8> {
        let c = capwap::CapwapPacket {
            radio_id: 1,
            binding: capwap::CapwapBinding::IEEE_802_11,
            native,
            fragment: false,
            last_fragment: false,
            has_wireless_info: false,
            has_radio_mac: false,
            keep_alive: false,
            fragment_id: 0,
            fragment_offset: 0,
            optional: &[],
            payload: frame,
        };
        let dgram = udp(12380, capwap::DATA_PORT, &c.to_vec().unwrap());
        let ip = ipv4(17, [10, 9, 0, 5], [10, 9, 0, 1], &dgram);
        eth([2; 6], [3; 6], &[], ETHERTYPE_IPV4, &ip)
    }

    fn client_uplink(order: FcOrder, flags: u8, body: &[u8]) -> Vec<u8> {
        ieee80211::Dot11Data {
            order,
            subtype: 8,
            flags: ieee80211::flags::TO_DS | flags,
            duration: 0,
            addr1: [0xa0; 6],
            addr2: SRC,
            addr3: DST,
            sequence: 0,
            addr4: None,
            qos: Some(6),
            ht_control: None,
            body,
        }
        .to_vec()
        .unwrap()
    }

    #[test]
    fn capwap_carries_802_11_data_and_802_3_frames() {
        let cdp_llc = [&SNAP_CDP[..], &[0x02, 0xb4]].concat();
        let at_the_controller = tunnel(TunnelKind::Capwap, [10, 9, 0, 5], [10, 9, 0, 1], 1);
        for order in [FcOrder::Swapped, FcOrder::Standard] {
            let f = in_capwap(true, &client_uplink(order, 0, &cdp_llc));
            let p = decoded(&f);
            assert_eq!(p.net, Net::Cdp(&[0x02, 0xb4]), "{order:?}");
            let ends = tunnel_endpoints(&frame(Linktype::ETHERNET, &f));
            assert_eq!(
                ends,
                Some((at_the_controller.1.into(), at_the_controller.2.into()))
            );
            assert_eq!(
                (p.src_mac, p.dst_mac),
                (Some(MacAddr(SRC)), Some(MacAddr(DST)))
            );
            assert_eq!(
                p.tunnel,
                Some(Tunnel {
                    kind: TunnelKind::Capwap,
                    depth: 1
                })
            );
        }
        // An IP packet behind RFC 1042 SNAP: as the phone's frame, less its tag.
        let native = phone_frame();
        let llc = [&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00][..], &native[18..]].concat();
        let f = in_capwap(true, &client_uplink(FcOrder::Swapped, 0, &llc));
        let p = decoded(&f);
        assert_eq!(p.net, decoded(&native).net);
        assert!(p.vlans.tags().is_empty());
        // T clear: an 802.3 frame, tags and all.
        as_native_via(&in_capwap(false, &native), at_the_controller);
        // Protected or A-MSDU bodies, fragments: the outer datagram.
        let protected = client_uplink(FcOrder::Swapped, ieee80211::flags::PROTECTED, &llc);
        assert_eq!(decoded(&in_capwap(true, &protected)).tunnel, None);
        let mut fragment = in_capwap(false, &native);
        fragment[14 + 20 + 8 + 3] |= 0x80;
        assert_eq!(decoded(&fragment).tunnel, None);
    }

    #[test]
    fn snap_with_an_ether_type_is_read_on_802_3_too() {
        let native = phone_frame();
        let llc = [&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00][..], &native[18..]].concat();
        let f = eth(DST, SRC, &[], llc.len() as u16, &llc);
        assert_eq!(decoded(&f).net, decoded(&native).net);
    }
}
