//! VXLAN (RFC 7348): the 8-byte header a fabric's tunnel end points put before an
//! Ethernet frame, on UDP destination port 4789. A header view: `parse` borrows the
//! frame behind it; the link layer slices it.
//!
//! The I flag must be set (RFC 7348: it marks a valid VNI); the other flag bits and
//! the reserved fields are ignored on reading (RFC 7348: "ignored on receipt") and
//! written back as zero. Wireshark's `packet-vxlan.c` decodes the frame whatever the
//! flags; a header without the I flag is `BadValue` here, so that a datagram that
//! merely uses port 4789 is not read as a tunnel.

use nom::number::complete::{be_u32, be_u8};
use nom::Parser;

use crate::emit::{self, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

/// The UDP destination port of VXLAN (IANA).
pub const PORT: u16 = 4789;

/// The I flag: the VNI is valid.
const FLAG_VNI: u8 = 0x08;

/// One VXLAN packet, borrowing the frame it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VxlanPacket<'a> {
    /// The VXLAN network identifier (24 bits).
    pub vni: u32,
    /// The Ethernet frame inside (no FCS).
    pub frame: &'a [u8],
}

/// The header's length.
pub const HEADER_LEN: usize = 8;

/// Read a VXLAN header; the frame is the rest of `input`.
///
/// # Errors
/// Fewer than 8 bytes (`Truncated`), the I flag clear (`BadValue`).
pub fn parse(input: &[u8]) -> Result<VxlanPacket<'_>, DissectError> {
    finish(Proto::Vxlan, input, vxlan(input)).map(|(pkt, _rest)| pkt)
}

fn vxlan(input: &[u8]) -> PResult<'_, VxlanPacket<'_>> {
    let (i, (flags, _reserved, vni)) = (be_u8, take3, be_u32).parse(input)?;
    if flags & FLAG_VNI == 0 {
        return fail(
            input,
            ErrorKind::BadValue {
                field: "flags",
                value: flags.into(),
            },
        );
    }
    Ok((
        &[],
        VxlanPacket {
            vni: vni >> 8,
            frame: i,
        },
    ))
}

fn take3(i: &[u8]) -> PResult<'_, &[u8]> {
    nom::bytes::complete::take(3usize).parse(i)
}

impl VxlanPacket<'_> {
    /// The exact number of bytes [`VxlanPacket::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.frame.len())
    }

    /// Write the header (the I flag, reserved fields zero) and the frame into
    /// `buf[..self.buffer_len()]`; returns the length written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`VxlanPacket::buffer_len`]; [`EmitError::Unrepresentable`] for a VNI wider
    /// than 24 bits.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        if self.vni >> 24 != 0 {
            return Err(emit::unrepresentable(
                Proto::Vxlan,
                "vni",
                "wider than 24 bits",
            ));
        }
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Vxlan, buf, needed)?;
        w.u8(FLAG_VNI)?;
        w.zeros(3)?;
        w.be_u32(self.vni << 8)?;
        w.bytes(self.frame)?;
        Ok(needed)
    }

    /// The packet in a new buffer of [`VxlanPacket::buffer_len`] bytes.
    ///
    /// # Errors
    /// As [`VxlanPacket::emit`].
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VXLAN_ICMP: &[u8] = include_bytes!("../testdata/tunnel/vxlan-icmp.bin");

    #[test]
    fn tcpdump_vxlan_frame() {
        // tshark: flags 0x0800 (VNI valid), VNI 100; Ethernet 00:16:3e:37:f6:04 →
        // 00:30:88:01:00:02, IPv4.
        let v = parse(VXLAN_ICMP).unwrap();
        assert_eq!(v.vni, 100);
        assert_eq!(v.frame.len(), VXLAN_ICMP.len() - HEADER_LEN);
        assert_eq!(v.frame[..6], [0x00, 0x30, 0x88, 0x01, 0x00, 0x02]);
        assert_eq!(v.to_vec().unwrap(), VXLAN_ICMP);
    }

    #[test]
    fn the_i_flag_is_required_and_the_header_whole() {
        let mut no_flag = VXLAN_ICMP.to_vec();
        no_flag[0] = 0x00;
        let e = parse(&no_flag).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::BadValue {
                field: "flags",
                value: 0
            }
        );
        // Other flags and reserved bytes are ignored.
        let mut gbp = VXLAN_ICMP.to_vec();
        gbp[0] = 0x88;
        gbp[2] = 0x12;
        gbp[7] = 0xff;
        assert_eq!(parse(&gbp).unwrap().vni, 100);
        for n in 0..HEADER_LEN {
            assert_eq!(
                parse(&VXLAN_ICMP[..n]).unwrap_err().kind,
                ErrorKind::Truncated
            );
        }
        let wide = VxlanPacket {
            vni: 1 << 24,
            frame: &[],
        };
        assert!(matches!(
            wide.to_vec(),
            Err(EmitError::Unrepresentable { .. })
        ));
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(vni in 0u32..1 << 24, frame in proptest::collection::vec(any::<u8>(), 0..100)) {
            let v = VxlanPacket { vni, frame: &frame };
            let bytes = v.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), v.buffer_len());
            prop_assert_eq!(parse(&bytes).unwrap(), v);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(v) = parse(&data) {
                prop_assert_eq!(v.frame.len() + HEADER_LEN, data.len());
            }
        }
    }
}
