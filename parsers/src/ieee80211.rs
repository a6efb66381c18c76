//! IEEE 802.11 data frames (IEEE Std 802.11-2020, 9.3.2), as a CAPWAP access point
//! tunnels a wireless client's frames (a Cisco 8821 phone's DHCP, CDP, SIP) to its
//! controller: the frame control, the three or four addresses the To DS / From DS
//! bits give their meaning, the sequence control, the QoS and HT control fields, and
//! the body (an LLC/SNAP header, then the client's packet). A header view: `parse`
//! borrows the body; the link layer reads its LLC header.
//!
//! - Data frames only (type 2): a management or control frame is `BadValue`.
//!   Subtypes 4-7 and 12-15 carry no body; QoS subtypes (8-15) add the QoS control
//!   field, and the +HTC/Order flag on them the 4-byte HT control field.
//! - No FCS: a tunnelled frame has none.
//! - [`FcOrder::Swapped`]: Cisco controllers and access points send the two frame
//!   control bytes swapped, and Wireshark's CAPWAP dissector swaps them back by
//!   default (its "Swap Frame Control" preference); the order a frame was read in
//!   is the order it is written back in.
//! - Multi-byte fields are little-endian, as on the air.

use nom::bytes::complete::take;
use nom::number::complete::{le_u16, le_u32};
use nom::Parser;

use crate::emit::{self, EmitError, Writer};
use crate::error::{fail, finish, DissectError, ErrorKind, PResult, Proto};

/// The order of the two frame control bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FcOrder {
    /// As the standard has them: type and subtype first, then the flags.
    #[default]
    Standard,
    /// Flags first (Cisco's CAPWAP).
    Swapped,
}

/// Frame control flags (second byte).
pub mod flags {
    /// To DS: the frame goes to the distribution system (a client's uplink).
    pub const TO_DS: u8 = 0x01;
    /// From DS: the frame comes from the distribution system (a client's downlink).
    pub const FROM_DS: u8 = 0x02;
    /// More fragments follow.
    pub const MORE_FRAGMENTS: u8 = 0x04;
    /// A retransmission.
    pub const RETRY: u8 = 0x08;
    /// The body is encrypted.
    pub const PROTECTED: u8 = 0x40;
    /// +HTC / Order: a QoS data frame carries an HT control field.
    pub const ORDER: u8 = 0x80;
}

/// The A-MSDU present bit of the QoS control field.
const QOS_AMSDU: u16 = 0x0080;

/// An 802.11 data frame, borrowing its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dot11Data<'a> {
    /// The order the frame control bytes were (are to be) in.
    pub order: FcOrder,
    /// The subtype (4 bits): 0 data, 4 null, 8 QoS data, 12 QoS null…
    pub subtype: u8,
    /// The frame control flags ([`flags`]).
    pub flags: u8,
    /// Duration / ID.
    pub duration: u16,
    /// Address 1 (the receiver).
    pub addr1: [u8; 6],
    /// Address 2 (the transmitter).
    pub addr2: [u8; 6],
    /// Address 3.
    pub addr3: [u8; 6],
    /// Sequence control (fragment number in the low 4 bits).
    pub sequence: u16,
    /// Address 4, in a frame with both To DS and From DS set.
    pub addr4: Option<[u8; 6]>,
    /// QoS control, in a QoS subtype.
    pub qos: Option<u16>,
    /// HT control, in a QoS subtype with the +HTC/Order flag.
    pub ht_control: Option<u32>,
    /// The frame body (empty for the subtypes without one).
    pub body: &'a [u8],
}

/// Read an 802.11 data frame whose frame control bytes are in `order`.
///
/// # Errors
/// A protocol version other than 0 (`BadVersion`), a frame that is not data
/// (`BadValue`), fewer bytes than the header (`Truncated`), a body on a subtype
/// that has none (`Malformed`).
pub fn parse(input: &[u8], order: FcOrder) -> Result<Dot11Data<'_>, DissectError> {
    finish(Proto::Ieee80211, input, data_frame(input, order)).map(|(pkt, _rest)| pkt)
}

fn mac(i: &[u8]) -> PResult<'_, [u8; 6]> {
    let (i, b) = take(6usize).parse(i)?;
    let mut a = [0; 6];
    a.copy_from_slice(b);
    Ok((i, a))
}

fn data_frame(input: &[u8], order: FcOrder) -> PResult<'_, Dot11Data<'_>> {
    let (i, (b0, b1)) = (take1, take1).parse(input)?;
    let (fc, flags) = match order {
        FcOrder::Standard => (b0, b1),
        FcOrder::Swapped => (b1, b0),
    };
    if fc & 0x03 != 0 {
        return fail(input, ErrorKind::BadVersion(u32::from(fc & 0x03)));
    }
    let frame_type = (fc >> 2) & 0x03;
    if frame_type != 2 {
        return fail(
            input,
            ErrorKind::BadValue {
                field: "frame type",
                value: frame_type.into(),
            },
        );
    }
    let subtype = fc >> 4;
    let (i, (duration, addr1, addr2, addr3, sequence)) =
        (le_u16, mac, mac, mac, le_u16).parse(i)?;
    let both_ds = flags & (flags::TO_DS | flags::FROM_DS) == flags::TO_DS | flags::FROM_DS;
    let (i, addr4) = if both_ds {
        mac.map(Some).parse(i)?
    } else {
        (i, None)
    };
    let is_qos = subtype & 0x08 != 0;
    let (i, qos) = if is_qos {
        le_u16.map(Some).parse(i)?
    } else {
        (i, None)
    };
    let (i, ht_control) = if is_qos && flags & flags::ORDER != 0 {
        le_u32.map(Some).parse(i)?
    } else {
        (i, None)
    };
    if subtype & 0x04 != 0 && !i.is_empty() {
        return fail(i, ErrorKind::Malformed("a body on a subtype without one"));
    }
    Ok((
        &[],
        Dot11Data {
            order,
            subtype,
            flags,
            duration,
            addr1,
            addr2,
            addr3,
            sequence,
            addr4,
            qos,
            ht_control,
            body: i,
        },
    ))
}

fn take1(i: &[u8]) -> PResult<'_, u8> {
    nom::number::complete::u8(i)
}

impl<'a> Dot11Data<'a> {
    /// To DS set.
    pub fn to_ds(&self) -> bool {
        self.flags & flags::TO_DS != 0
    }

    /// From DS set.
    pub fn from_ds(&self) -> bool {
        self.flags & flags::FROM_DS != 0
    }

    /// The body is encrypted.
    pub fn protected(&self) -> bool {
        self.flags & flags::PROTECTED != 0
    }

    /// The body is an A-MSDU (several subframes), not one LLC packet.
    pub fn amsdu(&self) -> bool {
        self.qos.is_some_and(|q| q & QOS_AMSDU != 0)
    }

    /// The station that sent the packet (SA): address 2 with neither DS bit or
    /// To DS alone, address 3 with From DS alone, address 4 with both.
    pub fn source(&self) -> [u8; 6] {
        match (self.to_ds(), self.from_ds()) {
            (_, false) => self.addr2,
            (false, true) => self.addr3,
            (true, true) => self.addr4.unwrap_or(self.addr2),
        }
    }

    /// The station the packet is for (DA): address 1 but with To DS, then address 3.
    pub fn destination(&self) -> [u8; 6] {
        if self.to_ds() {
            self.addr3
        } else {
            self.addr1
        }
    }

    /// The header's length.
    pub fn header_len(&self) -> usize {
        24 + if self.addr4.is_some() { 6 } else { 0 }
            + if self.qos.is_some() { 2 } else { 0 }
            + if self.ht_control.is_some() { 4 } else { 0 }
    }

    /// The exact number of bytes [`Dot11Data::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.header_len().saturating_add(self.body.len())
    }

    /// Write the frame into `buf[..self.buffer_len()]`, frame control in
    /// [`Dot11Data::order`]; returns the length written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`Dot11Data::buffer_len`]; [`EmitError::Unrepresentable`] when the optional
    /// fields disagree with what the subtype and flags announce (address 4 with both
    /// DS bits, QoS control with a QoS subtype, HT control with QoS and the Order
    /// flag), or a body is given to a subtype without one, or the subtype is wider
    /// than 4 bits.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let bad = |field, reason| Err(emit::unrepresentable(Proto::Ieee80211, field, reason));
        let is_qos = self.subtype & 0x08 != 0;
        if self.subtype > 15 {
            return bad("subtype", "wider than 4 bits");
        }
        if self.addr4.is_some() != (self.to_ds() && self.from_ds()) {
            return bad("addr4", "present exactly when both DS bits are set");
        }
        if self.qos.is_some() != is_qos {
            return bad("qos", "present exactly on a QoS subtype");
        }
        if self.ht_control.is_some() != (is_qos && self.flags & flags::ORDER != 0) {
            return bad("ht_control", "present exactly on QoS with the Order flag");
        }
        if self.subtype & 0x04 != 0 && !self.body.is_empty() {
            return bad("body", "the subtype has none");
        }
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Ieee80211, buf, needed)?;
        let fc = self.subtype << 4 | 2 << 2;
        match self.order {
            FcOrder::Standard => w.parts(&[&[fc], &[self.flags]])?,
            FcOrder::Swapped => w.parts(&[&[self.flags], &[fc]])?,
        }
        w.bytes(&self.duration.to_le_bytes())?;
        w.parts(&[&self.addr1, &self.addr2, &self.addr3])?;
        w.bytes(&self.sequence.to_le_bytes())?;
        if let Some(a) = self.addr4 {
            w.bytes(&a)?;
        }
        if let Some(q) = self.qos {
            w.bytes(&q.to_le_bytes())?;
        }
        if let Some(h) = self.ht_control {
            w.bytes(&h.to_le_bytes())?;
        }
        w.bytes(self.body)?;
        Ok(needed)
    }

    /// The frame in a new buffer of [`Dot11Data::buffer_len`] bytes.
    ///
    /// # Errors
    /// As [`Dot11Data::emit`].
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The CAPWAP payload of `capwap-dhcp.bin`: a client's DHCP Discover.
    fn client_frame() -> &'static [u8] {
        &include_bytes!("../testdata/tunnel/capwap-dhcp.bin")[16..]
    }

    const AP: [u8; 6] = [0x58, 0x0a, 0x20, 0x69, 0x0e, 0x20];
    const CLIENT: [u8; 6] = [0x1c, 0xab, 0xa7, 0xf2, 0x13, 0x9d];

    #[test]
    fn a_swapped_data_frame_from_a_client() {
        // tshark: Data (0x0020), frame control 0x0108 (swapped), To DS; duration 44;
        // receiver/BSS id 58:0a:20:69:0e:20, source 1c:ab:a7:f2:13:9d, destination
        // ff:ff:ff:ff:ff:ff; sequence 0; then LLC/SNAP, IPv4.
        let d = parse(client_frame(), FcOrder::Swapped).unwrap();
        assert_eq!((d.subtype, d.flags, d.duration), (0, flags::TO_DS, 44));
        assert!(d.to_ds() && !d.from_ds() && !d.protected() && !d.amsdu());
        assert_eq!((d.addr1, d.addr2, d.addr3), (AP, CLIENT, [0xff; 6]));
        assert_eq!((d.source(), d.destination()), (CLIENT, [0xff; 6]));
        assert_eq!((d.addr4, d.qos, d.ht_control), (None, None, None));
        assert_eq!(d.header_len(), 24);
        assert_eq!(d.body[..8], [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        assert_eq!(d.to_vec().unwrap(), client_frame());
        // Read in the standard order, the flag byte is the frame control: version 1.
        let e = parse(client_frame(), FcOrder::Standard).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadVersion(1));
    }

    fn frame(
        subtype: u8,
        flags: u8,
        qos: Option<u16>,
        ht: Option<u32>,
        body: &[u8],
    ) -> Dot11Data<'_> {
        let both = flags & 3 == 3;
        Dot11Data {
            order: FcOrder::Standard,
            subtype,
            flags,
            duration: 0,
            addr1: [1; 6],
            addr2: [2; 6],
            addr3: [3; 6],
            sequence: 0x1230,
            addr4: both.then_some([4; 6]),
            qos,
            ht_control: ht,
            body,
        }
    }

    #[test]
    fn the_ds_bits_say_which_address_is_which() {
        // IEEE 802.11-2020 Table 9-30: (To DS, From DS) → (DA, SA).
        for (ds, da, sa) in [
            (0, 1, 2),
            (flags::TO_DS, 3, 2),
            (flags::FROM_DS, 1, 3),
            (3, 3, 4),
        ] {
            let d = frame(0, ds, None, None, b"x");
            assert_eq!((d.destination(), d.source()), ([da; 6], [sa; 6]), "{ds}");
            let bytes = d.to_vec().unwrap();
            assert_eq!(parse(&bytes, FcOrder::Standard).unwrap(), d);
        }
    }

    #[test]
    fn qos_ht_control_and_subtypes_without_a_body() {
        let d = frame(
            8,
            flags::ORDER | flags::TO_DS,
            Some(0x0080),
            Some(7),
            b"\xaa\xaa",
        );
        assert_eq!(d.header_len(), 30);
        let bytes = d.to_vec().unwrap();
        let back = parse(&bytes, FcOrder::Standard).unwrap();
        assert!(back.amsdu());
        assert_eq!(back, d);
        // QoS Null with bytes after it: malformed; without, an empty body.
        let null = frame(12, 0, Some(0), None, b"");
        let mut bytes = null.to_vec().unwrap();
        assert_eq!(parse(&bytes, FcOrder::Standard).unwrap().body, b"");
        bytes.push(0);
        let e = parse(&bytes, FcOrder::Standard).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Malformed("a body on a subtype without one")
        );
        // A beacon (management) is not a data frame.
        let e = parse(&[0x80, 0x00], FcOrder::Standard).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::BadValue {
                field: "frame type",
                value: 0
            }
        );
        for n in 0..24 {
            let e = parse(&client_frame()[..n], FcOrder::Swapped).unwrap_err();
            assert_eq!(
                (e.kind, e.proto),
                (ErrorKind::Truncated, Proto::Ieee80211),
                "{n}"
            );
        }
        let bad = frame(0, 0, Some(0), None, b"");
        assert!(matches!(
            bad.to_vec(),
            Err(EmitError::Unrepresentable { .. })
        ));
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            swapped in any::<bool>(),
            subtype in 0u8..16,
            fl in any::<u8>(),
            qos in any::<u16>(),
            ht in any::<u32>(),
            body in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            let is_qos = subtype & 8 != 0;
            let mut d = frame(
                subtype,
                fl,
                is_qos.then_some(qos),
                (is_qos && fl & flags::ORDER != 0).then_some(ht),
                if subtype & 4 == 0 { &body } else { &[] },
            );
            d.order = if swapped { FcOrder::Swapped } else { FcOrder::Standard };
            let bytes = d.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), d.buffer_len());
            prop_assert_eq!(parse(&bytes, d.order).unwrap(), d);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            for order in [FcOrder::Standard, FcOrder::Swapped] {
                if let Ok(d) = parse(&data, order) {
                    prop_assert_eq!(d.header_len() + d.body.len(), data.len());
                    let _ = (d.source(), d.destination(), d.amsdu());
                }
            }
        }
    }
}
