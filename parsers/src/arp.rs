//! ARP for Ethernet and IPv4 (RFC 826): the 28-byte packet after the Ethernet
//! header (ether type 0x0806). A phone ARPs for its gateway and TFTP server, and
//! checks and announces the address DHCP gave it (RFC 5227 probes and
//! announcements, the "gratuitous" ARP).
//!
//! As Wireshark's `packet-arp.c` reads it:
//! - The hardware and protocol types are kept as read (known ones named); the
//!   address sizes must be 6 and 4 (`BadValue` otherwise: this view has room
//!   for a MAC and an IPv4 address only).
//! - Any opcode is kept; request 1 and reply 2 are the ones that matter.
//! - Bytes after the 28 (Ethernet padding up to 60 bytes, zero or not) are not
//!   part of the packet: `parse` ignores them and `emit` writes 28 bytes.

use std::net::Ipv4Addr;

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::Parser;

use crate::codepoint::code_points;
use crate::emit::{self, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

code_points! {
    /// The hardware type of an ARP packet (IANA "Hardware Types").
    ArpHardware(u16) {
        /// Ethernet (10 Mb and every speed since).
        ETHERNET = 1 => "Ethernet",
        /// IEEE 802 networks (Token Ring...).
        IEEE802 = 6 => "IEEE 802",
    }
    also_named {
        32 => "InfiniBand",
    }
}

code_points! {
    /// The protocol type of an ARP packet: an ether type.
    ArpProtocol(u16), debug = name "{:#06x}" {
        /// IPv4.
        IPV4 = 0x0800 => "IPv4",
    }
}

code_points! {
    /// The operation of an ARP packet.
    ArpOpcode(u16) {
        /// Who has the target IP? Tell the sender.
        REQUEST = 1 => "request",
        /// The target IP is at the sender MAC.
        REPLY = 2 => "reply",
    }
    also_named {
        3 => "reverse request",
        4 => "reverse reply",
        8 => "inverse request",
        9 => "inverse reply",
    }
}

/// The length of an Ethernet/IPv4 ARP packet.
pub const ARP_LEN: usize = 28;

/// One ARP packet for Ethernet and IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    /// The hardware type (Ethernet 1).
    pub hardware: ArpHardware,
    /// The protocol type (IPv4 0x0800).
    pub protocol: ArpProtocol,
    /// The operation.
    pub opcode: ArpOpcode,
    /// The sender's hardware (MAC) address.
    pub sender_mac: [u8; 6],
    /// The sender's protocol (IPv4) address.
    pub sender_ip: Ipv4Addr,
    /// The target's hardware address (zero in a request).
    pub target_mac: [u8; 6],
    /// The target's protocol address.
    pub target_ip: Ipv4Addr,
}

/// Read an ARP packet from the start of `input` (what follows the Ethernet
/// header); bytes after its 28 are padding and ignored.
///
/// # Errors
/// Fewer than 28 bytes (`Truncated`), a hardware size other than 6 or a
/// protocol size other than 4 (`BadValue`).
pub fn parse(input: &[u8]) -> Result<ArpPacket, DissectError> {
    finish(Proto::Arp, input, arp(input)).map(|(pkt, _rest)| pkt)
}

fn arp(input: &[u8]) -> PResult<'_, ArpPacket> {
    let (i, (hardware, protocol)) = (be_u16, be_u16).parse(input)?;
    let (after_hlen, hlen) = be_u8(i)?;
    if hlen != 6 {
        return fail(
            i,
            ErrorKind::BadValue {
                field: "hardware size",
                value: hlen.into(),
            },
        );
    }
    let (after_plen, plen) = be_u8(after_hlen)?;
    if plen != 4 {
        return fail(
            after_hlen,
            ErrorKind::BadValue {
                field: "protocol size",
                value: plen.into(),
            },
        );
    }
    let (i, opcode) = be_u16(after_plen)?;
    let (i, (sender_mac, sender_ip, target_mac, target_ip)) =
        (mac, be_u32, mac, be_u32).parse(i)?;
    Ok((
        i,
        ArpPacket {
            hardware: ArpHardware(hardware),
            protocol: ArpProtocol(protocol),
            opcode: ArpOpcode(opcode),
            sender_mac,
            sender_ip: Ipv4Addr::from(sender_ip),
            target_mac,
            target_ip: Ipv4Addr::from(target_ip),
        },
    ))
}

fn mac(i: &[u8]) -> PResult<'_, [u8; 6]> {
    let (rest, b) = take(6usize).parse(i)?;
    let mut out = [0u8; 6];
    out.copy_from_slice(b);
    Ok((rest, out))
}

impl ArpPacket {
    /// An RFC 5227 probe: a request whose sender IP is 0.0.0.0 (a host checking
    /// that the address it was given is free before using it).
    pub fn is_probe(&self) -> bool {
        self.opcode == ArpOpcode::REQUEST && self.sender_ip.is_unspecified()
    }

    /// An RFC 5227 announcement (§2.3: "identical to the ARP Probe", a request,
    /// with the sender's new address as sender and target): a gratuitous request.
    /// Tshark's `arp.isannouncement`, which a gratuitous reply is not.
    pub fn is_announcement(&self) -> bool {
        self.opcode == ArpOpcode::REQUEST && self.is_gratuitous()
    }

    /// A gratuitous ARP: the sender IP is the target IP, and not 0.0.0.0; a
    /// request (an announcement) or a reply (an AP or router claiming its address,
    /// RFC 5944 §4.6). Tshark's `arp.isgratuitous`.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip && !self.sender_ip.is_unspecified()
    }

    /// The exact number of bytes [`ArpPacket::emit`] writes: 28.
    pub fn buffer_len(&self) -> usize {
        ARP_LEN
    }

    /// Write the packet (sizes 6 and 4) into `buf[..28]`; returns 28.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than 28 bytes;
    /// nothing is written then.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Arp, buf, needed)?;
        w.be_u16(self.hardware.0)?;
        w.be_u16(self.protocol.0)?;
        w.u8(6)?;
        w.u8(4)?;
        w.be_u16(self.opcode.0)?;
        w.bytes(&self.sender_mac)?;
        w.bytes(&self.sender_ip.octets())?;
        w.bytes(&self.target_mac)?;
        w.bytes(&self.target_ip.octets())?;
        Ok(needed)
    }

    /// The packet in a new buffer of 28 bytes.
    ///
    /// # Errors
    /// None in practice: the buffer is always big enough.
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REQUEST: &[u8] = include_bytes!("../testdata/arp/request.bin");
    const REPLY_PADDED: &[u8] = include_bytes!("../testdata/arp/reply-padded.bin");
    const ANNOUNCEMENT: &[u8] = include_bytes!("../testdata/arp/announcement.bin");
    const REQUEST_TRAILER: &[u8] = include_bytes!("../testdata/arp/request-trailer.bin");

    const FIXTURES: [&[u8]; 4] = [REQUEST, REPLY_PADDED, ANNOUNCEMENT, REQUEST_TRAILER];

    const ZERO_MAC: [u8; 6] = [0; 6];

    #[test]
    fn a_request_for_the_gateway() {
        // tshark: opcode 1, 00:04:23:57:a5:7a 192.168.1.249 asks for 192.168.1.1;
        // not gratuitous, not a probe.
        let a = parse(REQUEST).unwrap();
        assert_eq!(a.hardware, ArpHardware::ETHERNET);
        assert_eq!(a.protocol, ArpProtocol::IPV4);
        assert_eq!(a.opcode, ArpOpcode::REQUEST);
        assert_eq!(a.sender_mac, [0x00, 0x04, 0x23, 0x57, 0xa5, 0x7a]);
        assert_eq!(a.sender_ip, Ipv4Addr::new(192, 168, 1, 249));
        assert_eq!(a.target_mac, ZERO_MAC);
        assert_eq!(a.target_ip, Ipv4Addr::new(192, 168, 1, 1));
        assert!(!a.is_probe() && !a.is_announcement() && !a.is_gratuitous());
        assert_eq!(format!("{:?}", a.opcode), "request");
    }

    #[test]
    fn a_reply_padded_to_the_ethernet_minimum() {
        // tshark: opcode 2, 00:0d:88:4f:25:91 192.168.1.1 → 00:04:23:57:a5:7a
        // 192.168.1.249; 18 bytes of zero padding after the 28.
        assert_eq!(REPLY_PADDED.len(), 46);
        let a = parse(REPLY_PADDED).unwrap();
        assert_eq!(a.opcode, ArpOpcode::REPLY);
        assert_eq!(a.sender_mac, [0x00, 0x0d, 0x88, 0x4f, 0x25, 0x91]);
        assert_eq!(a.sender_ip, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(a.target_mac, [0x00, 0x04, 0x23, 0x57, 0xa5, 0x7a]);
        assert_eq!(a.target_ip, Ipv4Addr::new(192, 168, 1, 249));
        assert!(!a.is_probe() && !a.is_announcement());
    }

    #[test]
    fn a_gratuitous_request_announces_a_link_local_address() {
        // tshark: opcode 1, sender 169.254.67.194 = target 169.254.67.194,
        // arp.isgratuitous 1 (and arp.isannouncement 1), not a probe.
        let a = parse(ANNOUNCEMENT).unwrap();
        assert_eq!(a.opcode, ArpOpcode::REQUEST);
        assert_eq!(a.sender_ip, Ipv4Addr::new(169, 254, 67, 194));
        assert_eq!(a.target_ip, a.sender_ip);
        assert!(a.is_announcement() && a.is_gratuitous());
        assert!(!a.is_probe());
    }

    #[test]
    fn a_gratuitous_reply_is_no_announcement() {
        // nDPI/capwap.pcap frame 8 (a Cisco AP claiming its address): tshark reads
        // opcode 2, b8:38:61:f3:05:ac 192.168.10.10 to ff:ff:ff:ff:ff:ff
        // 192.168.10.10, arp.isgratuitous 1 and no arp.isannouncement (RFC 5227
        // §2.3: an announcement is a request).
        let reply = [
            0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02, // Ethernet, IPv4, reply
            0xb8, 0x38, 0x61, 0xf3, 0x05, 0xac, 192, 168, 10, 10, // sender
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 168, 10, 10, // target
        ];
        let a = parse(&reply).unwrap();
        assert!(a.is_gratuitous());
        assert!(!a.is_announcement() && !a.is_probe());
    }

    #[test]
    fn a_request_with_a_non_zero_trailer() {
        // tshark: opcode 1, d0:7a:b5:96:cd:0a 192.168.1.1 asks for 192.168.1.101;
        // the 18 bytes after it are not all zero ("undecoded trailer").
        let a = parse(REQUEST_TRAILER).unwrap();
        assert_eq!(a.sender_mac, [0xd0, 0x7a, 0xb5, 0x96, 0xcd, 0x0a]);
        assert_eq!(a.sender_ip, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(a.target_ip, Ipv4Addr::new(192, 168, 1, 101));
        assert!(REQUEST_TRAILER[ARP_LEN..].iter().any(|&b| b != 0));
    }

    #[test]
    fn a_probe_has_no_sender_address() {
        // Hand-built (no capture at hand has one): an RFC 5227 probe for 10.10.15.201.
        let probe = [
            0x00, 0x01, // hardware: Ethernet
            0x08, 0x00, // protocol: IPv4
            6, 4, // sizes
            0x00, 0x01, // request
            0x00, 0x1b, 0x53, 0x48, 0x9e, 0xe0, // sender MAC
            0, 0, 0, 0, // sender IP 0.0.0.0
            0, 0, 0, 0, 0, 0, // target MAC
            10, 10, 15, 201, // target IP
        ];
        let a = parse(&probe).unwrap();
        assert!(a.is_probe());
        assert!(!a.is_announcement());
        assert_eq!(a.to_vec().unwrap(), probe);
    }

    #[test]
    fn the_fixtures_write_back_byte_for_byte() {
        for f in FIXTURES {
            let a = parse(f).unwrap();
            assert_eq!(a.to_vec().unwrap(), f[..ARP_LEN]);
        }
    }

    #[test]
    fn truncation_reports_the_offset() {
        for n in 0..ARP_LEN {
            let e = parse(&REQUEST[..n]).unwrap_err();
            assert_eq!(
                (e.proto, e.kind.clone()),
                (Proto::Arp, ErrorKind::Truncated)
            );
            // Each field fails at its own start.
            let field_start = match n {
                0..=1 => 0,
                2..=3 => 2,
                4 => 4,
                5 => 5,
                6..=7 => 6,
                8..=13 => 8,
                14..=17 => 14,
                18..=23 => 18,
                _ => 24,
            };
            assert_eq!(e.offset, field_start, "{n}");
        }
    }

    #[test]
    fn sizes_other_than_ethernet_and_ipv4_are_refused() {
        let mut b = REQUEST.to_vec();
        b[4] = 20; // InfiniBand's 20-byte hardware address
        let e = parse(&b).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (
                4,
                ErrorKind::BadValue {
                    field: "hardware size",
                    value: 20
                }
            )
        );
        let mut b = REQUEST.to_vec();
        b[5] = 16;
        let e = parse(&b).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (
                5,
                ErrorKind::BadValue {
                    field: "protocol size",
                    value: 16
                }
            )
        );
    }

    #[test]
    fn unknown_codes_are_kept() {
        let mut b = REQUEST.to_vec();
        b[0..2].copy_from_slice(&[0x12, 0x34]);
        b[2..4].copy_from_slice(&[0x86, 0xdd]);
        b[6..8].copy_from_slice(&[0x00, 0x63]);
        let a = parse(&b).unwrap();
        assert_eq!(a.hardware, ArpHardware(0x1234));
        assert_eq!(a.protocol, ArpProtocol(0x86dd));
        assert_eq!(a.opcode, ArpOpcode(99));
        assert_eq!(a.opcode.name(), None);
        assert_eq!(format!("{:?}", a.opcode), "ArpOpcode(0x63)");
        assert_eq!(ArpOpcode(3).name(), Some("reverse request"));
        assert!(!a.is_probe());
        assert_eq!(a.to_vec().unwrap(), b);
    }

    #[test]
    fn a_small_buffer_is_an_error() {
        let a = parse(REQUEST).unwrap();
        let mut small = [0u8; 27];
        assert_eq!(
            a.emit(&mut small),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Arp,
                needed: 28
            })
        );
        assert_eq!(small, [0; 27]);
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            hardware in any::<u16>(),
            protocol in any::<u16>(),
            opcode in any::<u16>(),
            sender_mac in any::<[u8; 6]>(),
            sender_ip in any::<u32>(),
            target_mac in any::<[u8; 6]>(),
            target_ip in any::<u32>(),
        ) {
            let a = ArpPacket {
                hardware: ArpHardware(hardware),
                protocol: ArpProtocol(protocol),
                opcode: ArpOpcode(opcode),
                sender_mac,
                sender_ip: Ipv4Addr::from(sender_ip),
                target_mac,
                target_ip: Ipv4Addr::from(target_ip),
            };
            let bytes = a.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), a.buffer_len());
            prop_assert_eq!(parse(&bytes).unwrap(), a);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            match parse(&data) {
                Ok(a) => {
                    prop_assert!(data.len() >= ARP_LEN);
                    prop_assert_eq!(a.to_vec().unwrap(), &data[..ARP_LEN]);
                }
                Err(e) => prop_assert!(e.offset <= data.len()),
            }
        }
    }
}
