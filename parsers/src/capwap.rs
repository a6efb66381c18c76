//! CAPWAP data channel (RFC 5415 section 4.3, the IEEE 802.11 binding of RFC 5416):
//! the header a lightweight access point puts before each client frame it tunnels to
//! its wireless controller, on UDP port 5247. A header view: `parse` borrows the
//! frame behind it ([`CapwapPacket::payload`]); the link layer slices it, an 802.11
//! frame through [`crate::ieee80211`].
//!
//! As Wireshark's `packet-capwap.c` reads it:
//! - The header is HLEN 4-byte words long, the optional radio MAC address and
//!   wireless-specific information included, whatever else a vendor puts there
//!   (Cisco controllers send a word more than those two announce): the payload
//!   starts at HLEN × 4. [`CapwapPacket::radio_mac`] and
//!   [`CapwapPacket::wireless_info`] read the two fields when they fit.
//! - Preamble version 0 only (`BadVersion`); preamble type 1, a DTLS-encrypted
//!   packet, is `BadValue`: nothing in it is readable.
//! - Fragments (F bit) are read one by one, not reassembled; the caller decides what a
//!   fragment's payload is worth. Reserved bits are ignored, and written back as zero.

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32};
use nom::Parser;

use crate::codepoint::code_points;
use crate::emit::{self, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

/// The UDP port of the CAPWAP data channel (IANA).
pub const DATA_PORT: u16 = 5247;

code_points! {
    /// The wireless binding id (WBID, 5 bits): what a native frame is.
    CapwapBinding(u8), debug = name "{}" {
        /// IEEE 802.11 (RFC 5416).
        IEEE_802_11 = 1 => "IEEE 802.11",
        /// EPCGlobal.
        EPCGLOBAL = 3 => "EPCGlobal",
    }
}

/// One CAPWAP data packet, borrowing the frame it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapwapPacket<'a> {
    /// The radio the frame was received on or goes out on (5 bits).
    pub radio_id: u8,
    /// The wireless binding (5 bits).
    pub binding: CapwapBinding,
    /// The T bit: the payload is a native frame of the binding (802.11); clear, an
    /// IEEE 802.3 frame.
    pub native: bool,
    /// The F bit: the packet is one fragment of a larger one.
    pub fragment: bool,
    /// The L bit: the last fragment.
    pub last_fragment: bool,
    /// The W bit: wireless-specific information is among the optional fields.
    pub has_wireless_info: bool,
    /// The M bit: a radio MAC address is among the optional fields.
    pub has_radio_mac: bool,
    /// The K bit: a data channel keep-alive (message elements, not a frame).
    pub keep_alive: bool,
    /// The fragment id.
    pub fragment_id: u16,
    /// The fragment's offset, in 8-byte units (13 bits).
    pub fragment_offset: u16,
    /// The header's optional fields as on the wire: bytes 8 to HLEN × 4.
    pub optional: &'a [u8],
    /// Everything after the header.
    pub payload: &'a [u8],
}

/// Read a CAPWAP data header; the payload is the rest of `input`.
///
/// # Errors
/// A preamble version other than 0 (`BadVersion`), a DTLS preamble (`BadValue`), a
/// header length below 8 bytes (`BadLength`), fewer bytes than it (`Truncated`).
pub fn parse(input: &[u8]) -> Result<CapwapPacket<'_>, DissectError> {
    finish(Proto::Capwap, input, capwap(input)).map(|(pkt, _rest)| pkt)
}

fn capwap(input: &[u8]) -> PResult<'_, CapwapPacket<'_>> {
    let (i, (w0, fragment_id, w1)) = (be_u32, be_u16, be_u16).parse(input)?;
    let preamble = w0 >> 24;
    if preamble >> 4 != 0 {
        return fail(input, ErrorKind::BadVersion(preamble >> 4));
    }
    if preamble & 0x0f != 0 {
        return fail(
            input,
            ErrorKind::BadValue {
                field: "preamble type",
                value: preamble & 0x0f,
            },
        );
    }
    let header_len = ((w0 >> 19) & 0x1f) as usize * 4;
    if header_len < 8 {
        return fail(
            input,
            ErrorKind::BadLength {
                len: header_len,
                min: 8,
            },
        );
    }
    let bit = |n: u32| w0 >> n & 1 != 0;
    let (payload, optional) = take(header_len - 8).parse(i)?;
    Ok((
        &[],
        CapwapPacket {
            radio_id: ((w0 >> 14) & 0x1f) as u8,
            binding: CapwapBinding(((w0 >> 9) & 0x1f) as u8),
            native: bit(8),
            fragment: bit(7),
            last_fragment: bit(6),
            has_wireless_info: bit(5),
            has_radio_mac: bit(4),
            keep_alive: bit(3),
            fragment_id,
            fragment_offset: w1 >> 3,
            optional,
            payload,
        },
    ))
}

/// A length-prefixed optional field at the start of `b`, and what follows its
/// padding to a 4-byte boundary.
fn prefixed(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&len, rest) = b.split_first()?;
    let len = usize::from(len);
    let value = rest.get(..len)?;
    let padded = (1 + len).div_ceil(4) * 4;
    Some((value, b.get(padded..).unwrap_or_default()))
}

impl<'a> CapwapPacket<'a> {
    /// The radio MAC address field (M bit), when it fits in the header.
    pub fn radio_mac(&self) -> Option<&'a [u8]> {
        self.has_radio_mac
            .then(|| prefixed(self.optional).map(|(v, _)| v))
            .flatten()
    }

    /// The wireless-specific information field (W bit), when it fits in the header.
    pub fn wireless_info(&self) -> Option<&'a [u8]> {
        if !self.has_wireless_info {
            return None;
        }
        let after_mac = if self.has_radio_mac {
            prefixed(self.optional)?.1
        } else {
            self.optional
        };
        prefixed(after_mac).map(|(v, _)| v)
    }

    /// The exact number of bytes [`CapwapPacket::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        8usize
            .saturating_add(self.optional.len())
            .saturating_add(self.payload.len())
    }

    /// Write the header (preamble 0, HLEN from the optional fields, reserved bits
    /// zero) and the payload into `buf[..self.buffer_len()]`; returns the length
    /// written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`CapwapPacket::buffer_len`]; [`EmitError::Unrepresentable`] when the optional
    /// fields are not whole 4-byte words or make the header longer than 124 bytes,
    /// or a field is wider than its bits (radio id and binding 5, fragment offset 13).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let bad = |field, reason| Err(emit::unrepresentable(Proto::Capwap, field, reason));
        if self.optional.len() % 4 != 0 {
            return bad("optional", "not whole 4-byte words");
        }
        let words = 2 + self.optional.len() / 4;
        if words > 31 {
            return bad("optional", "header longer than 31 words");
        }
        if self.radio_id > 31 || self.binding.0 > 31 {
            return bad("radio id / binding", "wider than 5 bits");
        }
        if self.fragment_offset >> 13 != 0 {
            return bad("fragment offset", "wider than 13 bits");
        }
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Capwap, buf, needed)?;
        let bit = |set: bool, n: u32| u32::from(set) << n;
        w.be_u32(
            (words as u32) << 19
                | u32::from(self.radio_id) << 14
                | u32::from(self.binding.0) << 9
                | bit(self.native, 8)
                | bit(self.fragment, 7)
                | bit(self.last_fragment, 6)
                | bit(self.has_wireless_info, 5)
                | bit(self.has_radio_mac, 4)
                | bit(self.keep_alive, 3),
        )?;
        w.be_u16(self.fragment_id)?;
        w.be_u16(self.fragment_offset << 3)?;
        w.bytes(self.optional)?;
        w.bytes(self.payload)?;
        Ok(needed)
    }

    /// The packet in a new buffer of [`CapwapPacket::buffer_len`] bytes.
    ///
    /// # Errors
    /// As [`CapwapPacket::emit`].
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CAPWAP_DHCP: &[u8] = include_bytes!("../testdata/tunnel/capwap-dhcp.bin");

    #[test]
    fn a_cisco_access_point_tunnels_a_client_frame() {
        // tshark: header length 4 (16), radio id 1, WBID IEEE 802.11, flags 0x120
        // (T, W), fragment id 0, offset 0; wireless length 1, data 04, then padding
        // and a word Cisco adds (tshark: "Wrong calculate length"); then IEEE 802.11
        // with the frame control swapped (0x0108).
        let c = parse(CAPWAP_DHCP).unwrap();
        assert_eq!((c.radio_id, c.binding), (1, CapwapBinding::IEEE_802_11));
        assert!(c.native && c.has_wireless_info);
        assert!(!c.has_radio_mac && !c.fragment && !c.last_fragment && !c.keep_alive);
        assert_eq!((c.fragment_id, c.fragment_offset), (0, 0));
        assert_eq!(c.optional.len(), 8);
        assert_eq!(c.wireless_info(), Some(&[0x04][..]));
        assert_eq!(c.radio_mac(), None);
        assert_eq!(c.payload[..2], [0x01, 0x08]);
        assert_eq!(c.payload.len(), CAPWAP_DHCP.len() - 16);
        assert_eq!(c.to_vec().unwrap(), CAPWAP_DHCP);
    }

    #[test]
    fn optional_fields_are_read_in_order_when_they_fit() {
        let mut c = parse(CAPWAP_DHCP).unwrap();
        let optional = [6, 0, 0x1b, 0x54, 1, 2, 3, 0, 2, 9, 9, 0];
        c.optional = &optional;
        c.has_radio_mac = true;
        let bytes = c.to_vec().unwrap();
        let back = parse(&bytes).unwrap();
        assert_eq!(back.radio_mac(), Some(&[0, 0x1b, 0x54, 1, 2, 3][..]));
        assert_eq!(back.wireless_info(), Some(&[9, 9][..]));
        // A length past the header: not read.
        let short = [9, 1, 2, 3];
        c.optional = &short;
        assert_eq!(c.radio_mac(), None);
        assert_eq!(c.wireless_info(), None);
    }

    #[test]
    fn dtls_versions_lengths_and_truncation() {
        let mut b = CAPWAP_DHCP.to_vec();
        b[0] = 0x01;
        let e = parse(&b).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::BadValue {
                field: "preamble type",
                value: 1
            }
        );
        b[0] = 0x10;
        assert_eq!(parse(&b).unwrap_err().kind, ErrorKind::BadVersion(1));
        b[0] = 0x00;
        b[1] = 0x08; // HLEN 1
        assert_eq!(
            parse(&b).unwrap_err().kind,
            ErrorKind::BadLength { len: 4, min: 8 }
        );
        for n in 0..16 {
            let e = parse(&CAPWAP_DHCP[..n]).unwrap_err();
            assert_eq!(
                (e.kind, e.proto),
                (ErrorKind::Truncated, Proto::Capwap),
                "{n}"
            );
        }
        let mut c = parse(CAPWAP_DHCP).unwrap();
        c.optional = &[1, 2, 3];
        assert!(matches!(c.to_vec(), Err(EmitError::Unrepresentable { .. })));
        c.optional = &[];
        c.fragment_offset = 1 << 13;
        assert!(matches!(c.to_vec(), Err(EmitError::Unrepresentable { .. })));
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            radio_id in 0u8..32,
            binding in 0u8..32,
            bits in any::<[bool; 6]>(),
            fragment_id in any::<u16>(),
            fragment_offset in 0u16..1 << 13,
            words in proptest::collection::vec(any::<[u8; 4]>(), 0..6),
            payload in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let optional: Vec<u8> = words.concat();
            let [native, fragment, last_fragment, has_wireless_info, has_radio_mac, keep_alive] = bits;
            let c = CapwapPacket {
                radio_id,
                binding: CapwapBinding(binding),
                native,
                fragment,
                last_fragment,
                has_wireless_info,
                has_radio_mac,
                keep_alive,
                fragment_id,
                fragment_offset,
                optional: &optional,
                payload: &payload,
            };
            let bytes = c.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), c.buffer_len());
            prop_assert_eq!(parse(&bytes).unwrap(), c);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(c) = parse(&data) {
                prop_assert_eq!(8 + c.optional.len() + c.payload.len(), data.len());
                let _ = (c.radio_mac(), c.wireless_info());
            }
        }
    }
}
