//! Link Layer Discovery Protocol (IEEE 802.1AB) with the 802.1 and 802.3
//! organisational TLVs and LLDP-MED (ANSI/TIA-1057): where a phone learns its
//! voice VLAN from a non-Cisco switch (MED network policy) and says what it is
//! (inventory, power). `parse` starts at the first TLV after ethertype 0x88cc.
//!
//! Quirks, following Wireshark's `packet-lldp.c` and tcpdump's `print-lldp.c`:
//! the TLV header is a 7-bit type and a 9-bit length; the PDU stops at the End
//! TLV (anything after it, e.g. Ethernet padding, is ignored). A PDU cut short
//! (no End TLV, or a TLV running past the data) is returned with
//! [`LldpPdu::truncated`] set, unless even the first TLV is cut, which is an
//! error. A missing or misplaced mandatory TLV (Chassis ID, Port ID, TTL must
//! come first, in that order) or a known TLV of the wrong shape makes
//! [`LldpPdu::malformed`] true; parsing goes on.

use std::net::Ipv4Addr;

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::Parser;

use crate::cdp::until_nul;
use crate::codepoint::{bit_flags, code_points};
use crate::emit::{self, EmitError, Writer};
use crate::error::{finish, DissectError, PResult, Proto};

code_points! {
    /// An LLDP TLV type (7 bits).
    LldpTlvType(u8) {
        END = 0 => "End of LLDPDU",
        CHASSIS_ID = 1 => "Chassis Id",
        PORT_ID = 2 => "Port Id",
        TTL = 3 => "Time to Live",
        PORT_DESCRIPTION = 4 => "Port Description",
        SYSTEM_NAME = 5 => "System Name",
        SYSTEM_DESCRIPTION = 6 => "System Description",
        SYSTEM_CAPABILITIES = 7 => "System Capabilities",
        MANAGEMENT_ADDRESS = 8 => "Management Address",
        ORGANIZATION_SPECIFIC = 127 => "Organization Specific",
    }
}

code_points! {
    /// Chassis ID subtype (802.1AB 8.5.2.2); 0 and 8-255 are reserved.
    LldpChassisIdSubtype(u8) {
        CHASSIS_COMPONENT = 1 => "Chassis component",
        INTERFACE_ALIAS = 2 => "Interface alias",
        PORT_COMPONENT = 3 => "Port component",
        MAC_ADDRESS = 4 => "MAC address",
        NETWORK_ADDRESS = 5 => "Network address",
        INTERFACE_NAME = 6 => "Interface name",
        LOCALLY_ASSIGNED = 7 => "Locally assigned",
    }
}

code_points! {
    /// Port ID subtype (802.1AB 8.5.3.2); 0 and 8-255 are reserved.
    LldpPortIdSubtype(u8) {
        INTERFACE_ALIAS = 1 => "Interface alias",
        PORT_COMPONENT = 2 => "Port component",
        MAC_ADDRESS = 3 => "MAC address",
        NETWORK_ADDRESS = 4 => "Network address",
        INTERFACE_NAME = 5 => "Interface name",
        AGENT_CIRCUIT_ID = 6 => "Agent circuit ID",
        LOCALLY_ASSIGNED = 7 => "Locally assigned",
    }
}

code_points! {
    /// Organisationally unique identifier of a type-127 TLV (24 bits).
    Oui(u32) {
        IEEE_802_1 = 0x00_80c2 => "IEEE 802.1",
        IEEE_802_3 = 0x00_120f => "IEEE 802.3",
        TIA = 0x00_12bb => "TIA TR-41 (LLDP-MED)",
        CISCO = 0x00_0142 => "Cisco",
    }
}

code_points! {
    /// LLDP-MED (TIA OUI) TLV subtype.
    MedSubtype(u8) {
        CAPABILITIES = 1 => "Media Capabilities",
        NETWORK_POLICY = 2 => "Network Policy",
        LOCATION = 3 => "Location Identification",
        EXTENDED_POWER = 4 => "Extended Power-via-MDI",
        HARDWARE_REVISION = 5 => "Hardware Revision",
        FIRMWARE_REVISION = 6 => "Firmware Revision",
        SOFTWARE_REVISION = 7 => "Software Revision",
        SERIAL_NUMBER = 8 => "Serial Number",
        MANUFACTURER = 9 => "Manufacturer Name",
        MODEL = 10 => "Model Name",
        ASSET_ID = 11 => "Asset ID",
    }
}

code_points! {
    /// LLDP-MED device type of the Media Capabilities TLV.
    MedDeviceClass(u8) {
        NOT_DEFINED = 0 => "Type Not Defined",
        ENDPOINT_CLASS_1 = 1 => "Endpoint Class I",
        ENDPOINT_CLASS_2 = 2 => "Endpoint Class II",
        ENDPOINT_CLASS_3 = 3 => "Endpoint Class III",
        NETWORK_CONNECTIVITY = 4 => "Network Connectivity",
    }
}

code_points! {
    /// LLDP-MED network policy application type.
    MedAppType(u8) {
        VOICE = 1 => "Voice",
        VOICE_SIGNALING = 2 => "Voice Signaling",
        GUEST_VOICE = 3 => "Guest Voice",
        GUEST_VOICE_SIGNALING = 4 => "Guest Voice Signaling",
        SOFTPHONE_VOICE = 5 => "Softphone Voice",
        VIDEO_CONFERENCING = 6 => "Video Conferencing",
        STREAMING_VIDEO = 7 => "Streaming Video",
        VIDEO_SIGNALING = 8 => "Video Signaling",
    }
}

code_points! {
    /// LLDP-MED location data format.
    MedLocationFormat(u8) {
        COORDINATE = 1 => "Coordinate-based LCI",
        CIVIC = 2 => "Civic Address LCI",
        ECS_ELIN = 3 => "ECS ELIN",
    }
}

code_points! {
    /// LLDP-MED extended power priority (low 4 bits).
    MedPowerPriority(u8) {
        UNKNOWN = 0 => "Unknown",
        CRITICAL = 1 => "Critical",
        HIGH = 2 => "High",
        LOW = 3 => "Low",
    }
}

bit_flags! {
    /// System Capabilities bits (802.1AB 8.5.8).
    LldpCapabilities(u16) {
        OTHER = 0x0001 => "other",
        REPEATER = 0x0002 => "repeater",
        BRIDGE = 0x0004 => "bridge",
        WLAN_AP = 0x0008 => "wlan-ap",
        ROUTER = 0x0010 => "router",
        TELEPHONE = 0x0020 => "telephone",
        DOCSIS = 0x0040 => "docsis",
        STATION_ONLY = 0x0080 => "station-only",
        C_VLAN = 0x0100 => "c-vlan",
        S_VLAN = 0x0200 => "s-vlan",
        TPMR = 0x0400 => "tpmr",
    }
}

bit_flags! {
    /// LLDP-MED capability bits (Media Capabilities TLV).
    MedCapabilities(u16) {
        CAPABILITIES = 0x0001 => "capabilities",
        NETWORK_POLICY = 0x0002 => "network-policy",
        LOCATION = 0x0004 => "location",
        EXTENDED_POWER_PSE = 0x0008 => "ext-power-pse",
        EXTENDED_POWER_PD = 0x0010 => "ext-power-pd",
        INVENTORY = 0x0020 => "inventory",
    }
}

/// Management Address TLV (type 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LldpMgmtAddress<'a> {
    /// IANA address family (1 = IPv4, 2 = IPv6, 6 = 802).
    pub addr_subtype: u8,
    /// The address (1-31 bytes).
    pub address: &'a [u8],
    /// Interface numbering subtype (1 unknown, 2 ifIndex, 3 system port number).
    pub if_subtype: u8,
    /// Interface number.
    pub if_number: u32,
    /// Object identifier (0-128 bytes, BER), usually empty.
    pub oid: &'a [u8],
}

impl LldpMgmtAddress<'_> {
    /// The address when it is IPv4 (family 1, 4 bytes).
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        match (self.addr_subtype, self.address) {
            (1, &[a, b, c, d]) => Some(Ipv4Addr::new(a, b, c, d)),
            _ => None,
        }
    }
}

/// One LLDP-MED network policy (TIA-1057 10.2.3): the VLAN/priority a phone
/// must use for an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedPolicy {
    /// Application type (1 = voice).
    pub app: MedAppType,
    /// U flag (0x800000): the policy is unknown/undefined on this port.
    pub unknown: bool,
    /// T flag (0x400000): tagged with `vlan`; clear means untagged, DSCP only.
    pub tagged: bool,
    /// VLAN id, 12 bits (`(x & 0x1FFE00) >> 9`); 0 = priority tagged.
    pub vlan: u16,
    /// 802.1p priority, 3 bits (`(x & 0x1C0) >> 6`).
    pub priority: u8,
    /// DSCP, 6 bits (`x & 0x3F`).
    pub dscp: u8,
}

/// LLDP-MED location identification (format + undecoded LCI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedLocation<'a> {
    /// Data format.
    pub format: MedLocationFormat,
    /// Location data, undecoded.
    pub data: &'a [u8],
}

/// LLDP-MED extended power-via-MDI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedExtendedPower {
    /// Power type, bits 7-6: 0 PSE, 1 PD.
    pub power_type: u8,
    /// Power source, bits 5-4 (PD: 1 PSE, 2 local, 3 both; PSE: 1 primary, 2 backup).
    pub source: u8,
    /// Priority, bits 3-0.
    pub priority: MedPowerPriority,
    /// Power value in units of 0.1 W.
    pub power_dw: u16,
}

impl MedExtendedPower {
    /// Power value in milliwatts.
    pub fn power_mw(&self) -> u32 {
        u32::from(self.power_dw) * 100
    }
}

/// 802.3 Power via MDI (OUI 00-12-0F subtype 2), with the 802.3at fields when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dot3MdiPower {
    /// MDI power support bits (port class, supported, enabled, pair control).
    pub support: u8,
    /// PSE power pair (1 signal, 2 spare).
    pub pair: u8,
    /// Power class as sent (class + 1; 0 = unknown in old senders).
    pub class: u8,
    /// The 802.3at extension (type/source/priority, requested and allocated power).
    pub extension: Option<Dot3PowerExtension>,
}

/// 802.3at fields of Power via MDI, and the 802.3bt ones after them when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dot3PowerExtension {
    /// Power type, bits 7-6 (bit 6: 1 = PD; bit 7: 1 = Type 1, 0 = Type 2).
    pub power_type: u8,
    /// Power source, bits 5-4.
    pub source: u8,
    /// Power priority, bits 1-0 (0 unknown, 1 critical, 2 high, 3 low).
    pub priority: u8,
    /// PD requested power, 0.1 W units.
    pub requested_dw: u16,
    /// PSE allocated power, 0.1 W units.
    pub allocated_dw: u16,
    /// The 802.3bt fields (a TLV of 29 bytes or more, IEEE 802.3bt-2018 79.3.2).
    pub bt: Option<Dot3BtExtension>,
}

/// The 802.3bt fields of Power via MDI (IEEE 802.3bt-2018 79.3.2.6 to 79.3.2.11), as
/// Wireshark's `packet-lldp.c` reads them: 17 bytes after the 802.3at part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dot3BtExtension {
    /// Dual-signature PD requested power, mode A, 0.1 W units.
    pub pd_requested_a_dw: u16,
    /// Dual-signature PD requested power, mode B, 0.1 W units.
    pub pd_requested_b_dw: u16,
    /// Dual-signature PSE allocated power, alternative A, 0.1 W units.
    pub pse_allocated_a_dw: u16,
    /// Dual-signature PSE allocated power, alternative B, 0.1 W units.
    pub pse_allocated_b_dw: u16,
    /// Power status: PSE powering status (bits 15-14), PD powered status (13-12),
    /// PSE power pairs (11-10), dual-signature class A (9-7) and B (6-4), class (3-0).
    pub power_status: u16,
    /// System setup: power type extension (bits 3-1) and PD load (bit 0).
    pub system_setup: u8,
    /// PSE maximum available power, 0.1 W units.
    pub pse_max_available_dw: u16,
    /// Autoclass: PSE support (bit 2), completed (1), request (0).
    pub autoclass: u8,
    /// Power down: request (bits 23-18) and time in seconds (17-0), 24 bits.
    pub power_down: u32,
}

/// The length of the 802.3bt part of Power via MDI.
const DOT3_BT_LEN: usize = 17;

/// The LLDP-MED inventory strings, each cut at its first NUL (senders pad them,
/// and tshark shows them that way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LldpInventory<'a> {
    /// Subtype 5.
    pub hardware_revision: Option<&'a [u8]>,
    /// Subtype 6.
    pub firmware_revision: Option<&'a [u8]>,
    /// Subtype 7 (for a Cisco phone: its load).
    pub software_revision: Option<&'a [u8]>,
    /// Subtype 8.
    pub serial_number: Option<&'a [u8]>,
    /// Subtype 9.
    pub manufacturer: Option<&'a [u8]>,
    /// Subtype 10.
    pub model: Option<&'a [u8]>,
    /// Subtype 11.
    pub asset_id: Option<&'a [u8]>,
}

impl LldpInventory<'_> {
    /// True when no inventory TLV was present.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One decoded LLDP TLV (the End TLV is not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LldpTlv<'a> {
    /// Type 1, subtype 1-7 and a 1-255 byte id.
    ChassisId {
        /// How to read `id`.
        subtype: LldpChassisIdSubtype,
        /// The id (a MAC for subtype 4; family byte + address for 5).
        id: &'a [u8],
    },
    /// Type 2, subtype 1-7 and a 1-255 byte id.
    PortId {
        /// How to read `id`.
        subtype: LldpPortIdSubtype,
        /// The id.
        id: &'a [u8],
    },
    /// Type 3: seconds (0 = forget this neighbour).
    Ttl(u16),
    /// Type 4.
    PortDescription(&'a [u8]),
    /// Type 5 (a Cisco phone: `SEP<MAC>`).
    SystemName(&'a [u8]),
    /// Type 6.
    SystemDescription(&'a [u8]),
    /// Type 7.
    Capabilities {
        /// What the system can do.
        system: LldpCapabilities,
        /// What is enabled.
        enabled: LldpCapabilities,
    },
    /// Type 8.
    ManagementAddress(LldpMgmtAddress<'a>),
    /// 802.1 subtype 1: port VLAN id (PVID).
    PortVlan(u16),
    /// 802.3 subtype 2: power via MDI.
    MdiPower(Dot3MdiPower),
    /// MED subtype 1.
    MedCapabilities {
        /// Capability bits.
        capabilities: MedCapabilities,
        /// Device type.
        class: MedDeviceClass,
    },
    /// MED subtype 2.
    MedNetworkPolicy(MedPolicy),
    /// MED subtype 3.
    MedLocation(MedLocation<'a>),
    /// MED subtype 4.
    MedExtendedPower(MedExtendedPower),
    /// MED subtypes 5-11: inventory strings, raw (NUL padding kept).
    MedInventory {
        /// Which string.
        subtype: MedSubtype,
        /// The bytes as sent.
        value: &'a [u8],
    },
    /// Type 127 with an OUI/subtype not decoded here (Cisco 00-01-42, other
    /// 802.1/802.3 subtypes, other organisations).
    OrgSpecific {
        /// Organisation.
        oui: Oui,
        /// Its subtype.
        subtype: u8,
        /// The rest of the value.
        value: &'a [u8],
    },
    /// A known TLV of the wrong size or shape (including a reserved chassis or
    /// port id subtype); for type 127 `value` starts at the OUI.
    Malformed {
        /// TLV type.
        kind: LldpTlvType,
        /// The whole value.
        value: &'a [u8],
    },
    /// A reserved TLV type (9-126).
    Other {
        /// TLV type.
        kind: LldpTlvType,
        /// The value.
        value: &'a [u8],
    },
}

/// One LLDP PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LldpPdu<'a> {
    /// TLVs in wire order, End excluded.
    pub tlvs: Vec<LldpTlv<'a>>,
    /// The data ended before an End TLV (a cut TLV is dropped). When set,
    /// [`LldpPdu::emit`] writes no End TLV.
    pub truncated: bool,
}

/// Dissect one LLDPDU, from the first TLV after the ethertype.
///
/// # Errors
/// `Truncated` only when the input is empty or its first TLV (the Chassis ID)
/// is cut; any later truncation sets [`LldpPdu::truncated`] instead. Bad
/// content never fails the PDU: see [`LldpPdu::malformed`].
pub fn parse(input: &[u8]) -> Result<LldpPdu<'_>, DissectError> {
    finish(Proto::Lldp, input, pdu(input)).map(|(p, _rest)| p)
}

/// What one TLV header + value turned into.
enum Step<'a> {
    Tlv(LldpTlv<'a>),
    /// The End TLV; with a value it is kept as `Malformed`.
    End(Option<LldpTlv<'a>>),
}

fn pdu(input: &[u8]) -> PResult<'_, LldpPdu<'_>> {
    let mut tlvs = Vec::new();
    let mut i = input;
    loop {
        match tlv(i) {
            Ok((rest, Step::Tlv(t))) => {
                // Every TLV consumes at least its 2-byte header: the loop advances
                // and `tlvs` grows at most input.len() / 2.
                tlvs.push(t);
                i = rest;
            }
            Ok((rest, Step::End(bad))) => {
                tlvs.extend(bad);
                return Ok((
                    rest,
                    LldpPdu {
                        tlvs,
                        truncated: false,
                    },
                ));
            }
            Err(e) if tlvs.is_empty() => return Err(e),
            Err(_) => {
                return Ok((
                    i,
                    LldpPdu {
                        tlvs,
                        truncated: true,
                    },
                ))
            }
        }
    }
}

fn tlv(input: &[u8]) -> PResult<'_, Step<'_>> {
    let (i, hdr) = be_u16(input)?;
    let (kind, len) = (hdr >> 9, hdr & 0x01ff); // 7-bit type, 9-bit length
    let kind = LldpTlvType(u8::try_from(kind).unwrap_or(u8::MAX));
    let (i, value) = take(len).parse(i)?;
    let step = match kind {
        LldpTlvType::END if value.is_empty() => Step::End(None),
        // An End TLV with a value still ends the PDU, flagged.
        LldpTlvType::END => Step::End(Some(LldpTlv::Malformed { kind, value })),
        _ => Step::Tlv(decode(kind, value)),
    };
    Ok((i, step))
}

/// nom's own error for the value decoders, whose failures become `Malformed`.
type VErr<'a> = nom::error::Error<&'a [u8]>;

fn decode(kind: LldpTlvType, v: &[u8]) -> LldpTlv<'_> {
    let decoded = match kind {
        LldpTlvType::CHASSIS_ID => match v {
            [sub @ 1..=7, id @ ..] if (1..=255).contains(&id.len()) => Some(LldpTlv::ChassisId {
                subtype: LldpChassisIdSubtype(*sub),
                id,
            }),
            _ => None,
        },
        LldpTlvType::PORT_ID => match v {
            [sub @ 1..=7, id @ ..] if (1..=255).contains(&id.len()) => Some(LldpTlv::PortId {
                subtype: LldpPortIdSubtype(*sub),
                id,
            }),
            _ => None,
        },
        LldpTlvType::TTL => match v {
            &[hi, lo] => Some(LldpTlv::Ttl(u16::from_be_bytes([hi, lo]))),
            _ => None,
        },
        LldpTlvType::PORT_DESCRIPTION => Some(LldpTlv::PortDescription(v)),
        LldpTlvType::SYSTEM_NAME => Some(LldpTlv::SystemName(v)),
        LldpTlvType::SYSTEM_DESCRIPTION => Some(LldpTlv::SystemDescription(v)),
        LldpTlvType::SYSTEM_CAPABILITIES => match v {
            &[a, b, c, d] => Some(LldpTlv::Capabilities {
                system: LldpCapabilities(u16::from_be_bytes([a, b])),
                enabled: LldpCapabilities(u16::from_be_bytes([c, d])),
            }),
            _ => None,
        },
        LldpTlvType::MANAGEMENT_ADDRESS => mgmt_address(v).map(LldpTlv::ManagementAddress),
        LldpTlvType::ORGANIZATION_SPECIFIC => org_specific(v),
        _ => return LldpTlv::Other { kind, value: v },
    };
    decoded.unwrap_or(LldpTlv::Malformed { kind, value: v })
}

/// Address string length (subtype + address, 2-32), subtype, address,
/// interface subtype, interface number u32, OID length (0-128), OID.
fn mgmt_address(v: &[u8]) -> Option<LldpMgmtAddress<'_>> {
    let (i, alen) = be_u8::<_, VErr>(v).ok()?;
    if !(2..=32).contains(&alen) {
        return None;
    }
    let (i, addr_subtype) = be_u8::<_, VErr>(i).ok()?;
    let (i, address) = take::<_, _, VErr>(alen - 1).parse(i).ok()?;
    let (i, (if_subtype, if_number, olen)) = (be_u8::<_, VErr>, be_u32, be_u8).parse(i).ok()?;
    if olen > 128 {
        return None;
    }
    let (i, oid) = take::<_, _, VErr>(olen).parse(i).ok()?;
    i.is_empty().then_some(LldpMgmtAddress {
        addr_subtype,
        address,
        if_subtype,
        if_number,
        oid,
    })
}

fn org_specific(v: &[u8]) -> Option<LldpTlv<'_>> {
    let &[a, b, c, subtype, ref rest @ ..] = v else {
        return None;
    };
    let oui = Oui(u32::from_be_bytes([0, a, b, c]));
    match (oui, subtype) {
        (Oui::IEEE_802_1, 1) => match rest {
            &[hi, lo] => Some(LldpTlv::PortVlan(u16::from_be_bytes([hi, lo]))),
            _ => None,
        },
        (Oui::IEEE_802_3, 2) => mdi_power(rest).map(LldpTlv::MdiPower),
        (Oui::TIA, 1) => match rest {
            &[hi, lo, class] => Some(LldpTlv::MedCapabilities {
                capabilities: MedCapabilities(u16::from_be_bytes([hi, lo])),
                class: MedDeviceClass(class),
            }),
            _ => None,
        },
        (Oui::TIA, 2) => match rest {
            &[app, b1, b2, b3] => Some(LldpTlv::MedNetworkPolicy(policy(app, [b1, b2, b3]))),
            _ => None,
        },
        (Oui::TIA, 3) => match rest {
            [format, data @ ..] => Some(LldpTlv::MedLocation(MedLocation {
                format: MedLocationFormat(*format),
                data,
            })),
            _ => None,
        },
        (Oui::TIA, 4) => match rest {
            // Type bits 7-6, source 5-4, priority 3-0, then u16 power in 0.1 W.
            &[b, hi, lo] => Some(LldpTlv::MedExtendedPower(MedExtendedPower {
                power_type: b >> 6,
                source: (b >> 4) & 0x03,
                priority: MedPowerPriority(b & 0x0f),
                power_dw: u16::from_be_bytes([hi, lo]),
            })),
            _ => None,
        },
        (Oui::TIA, 5..=11) => Some(LldpTlv::MedInventory {
            subtype: MedSubtype(subtype),
            value: rest,
        }),
        _ => Some(LldpTlv::OrgSpecific {
            oui,
            subtype,
            value: rest,
        }),
    }
}

/// App type, then 24 bits: U, T, X (reserved), 12-bit VLAN, 3-bit L2 priority, 6-bit DSCP.
fn policy(app: u8, bits: [u8; 3]) -> MedPolicy {
    let [b1, b2, b3] = bits;
    let x = u32::from_be_bytes([0, b1, b2, b3]);
    // The masks keep every value within its field's width.
    let field = |mask: u32, shift: u32| (x & mask) >> shift;
    MedPolicy {
        app: MedAppType(app),
        unknown: x & 0x80_0000 != 0,
        tagged: x & 0x40_0000 != 0,
        vlan: u16::try_from(field(0x1f_fe00, 9)).unwrap_or(0),
        priority: u8::try_from(field(0x1c0, 6)).unwrap_or(0),
        dscp: u8::try_from(field(0x3f, 0)).unwrap_or(0),
    }
}

/// Support, pair, class; then optionally (802.3at) type/source/priority,
/// requested u16 and allocated u16; then optionally (802.3bt) 17 more bytes
/// ([`Dot3BtExtension`]). Bytes after those, or fewer than 17, are ignored (as
/// Wireshark does).
fn mdi_power(v: &[u8]) -> Option<Dot3MdiPower> {
    let (support, pair, class, extension) = match *v {
        [support, pair, class] => (support, pair, class, None),
        [support, pair, class, tsp, r1, r2, a1, a2, ref bt @ ..] => (
            support,
            pair,
            class,
            Some(Dot3PowerExtension {
                power_type: tsp >> 6,
                source: (tsp >> 4) & 0x03,
                priority: tsp & 0x03,
                requested_dw: u16::from_be_bytes([r1, r2]),
                allocated_dw: u16::from_be_bytes([a1, a2]),
                bt: dot3_bt(bt),
            }),
        ),
        _ => return None,
    };
    Some(Dot3MdiPower {
        support,
        pair,
        class,
        extension,
    })
}

/// The 802.3bt fields, when the 17 bytes are there.
fn dot3_bt(v: &[u8]) -> Option<Dot3BtExtension> {
    let &[a1, a2, b1, b2, c1, c2, d1, d2, s1, s2, setup, m1, m2, auto, p1, p2, p3, ..] = v else {
        return None;
    };
    Some(Dot3BtExtension {
        pd_requested_a_dw: u16::from_be_bytes([a1, a2]),
        pd_requested_b_dw: u16::from_be_bytes([b1, b2]),
        pse_allocated_a_dw: u16::from_be_bytes([c1, c2]),
        pse_allocated_b_dw: u16::from_be_bytes([d1, d2]),
        power_status: u16::from_be_bytes([s1, s2]),
        system_setup: setup,
        pse_max_available_dw: u16::from_be_bytes([m1, m2]),
        autoclass: auto,
        power_down: u32::from_be_bytes([0, p1, p2, p3]),
    })
}

impl<'a> LldpPdu<'a> {
    fn find<T>(&self, f: impl Fn(&LldpTlv<'a>) -> Option<T>) -> Option<T> {
        self.tlvs.iter().find_map(f)
    }

    /// Chassis ID subtype and id.
    pub fn chassis(&self) -> Option<(LldpChassisIdSubtype, &'a [u8])> {
        self.find(|t| match t {
            LldpTlv::ChassisId { subtype, id } => Some((*subtype, *id)),
            _ => None,
        })
    }

    /// Chassis ID bytes.
    pub fn chassis_id(&self) -> Option<&'a [u8]> {
        self.chassis().map(|(_, id)| id)
    }

    /// Chassis ID subtype.
    pub fn chassis_id_subtype(&self) -> Option<LldpChassisIdSubtype> {
        self.chassis().map(|(s, _)| s)
    }

    /// The chassis MAC when the Chassis ID is of subtype 4 with 6 bytes.
    pub fn chassis_mac(&self) -> Option<[u8; 6]> {
        match self.chassis()? {
            (LldpChassisIdSubtype::MAC_ADDRESS, id) => id.try_into().ok(),
            _ => None,
        }
    }

    /// The chassis IPv4 address when the Chassis ID is a network address (subtype 5)
    /// of the IPv4 family (IANA 1): what phones that know their address send there
    /// (`0.0.0.0` while they do not).
    pub fn chassis_ipv4(&self) -> Option<Ipv4Addr> {
        match self.chassis()? {
            (LldpChassisIdSubtype::NETWORK_ADDRESS, &[1, a, b, c, d]) => {
                Some(Ipv4Addr::new(a, b, c, d))
            }
            _ => None,
        }
    }

    /// Port ID subtype and id.
    pub fn port(&self) -> Option<(LldpPortIdSubtype, &'a [u8])> {
        self.find(|t| match t {
            LldpTlv::PortId { subtype, id } => Some((*subtype, *id)),
            _ => None,
        })
    }

    /// Port ID bytes.
    pub fn port_id(&self) -> Option<&'a [u8]> {
        self.port().map(|(_, id)| id)
    }

    /// Port ID subtype.
    pub fn port_id_subtype(&self) -> Option<LldpPortIdSubtype> {
        self.port().map(|(s, _)| s)
    }

    /// Time to live in seconds.
    pub fn ttl(&self) -> Option<u16> {
        self.find(|t| match t {
            LldpTlv::Ttl(s) => Some(*s),
            _ => None,
        })
    }

    /// System name (type 5), up to its first NUL (as tshark shows it).
    pub fn system_name(&self) -> Option<&'a [u8]> {
        self.find(|t| match t {
            LldpTlv::SystemName(v) => Some(until_nul(v)),
            _ => None,
        })
    }

    /// System description (type 6), up to its first NUL.
    pub fn system_description(&self) -> Option<&'a [u8]> {
        self.find(|t| match t {
            LldpTlv::SystemDescription(v) => Some(until_nul(v)),
            _ => None,
        })
    }

    /// Port description (type 4), up to its first NUL (Extreme pads with one).
    pub fn port_description(&self) -> Option<&'a [u8]> {
        self.find(|t| match t {
            LldpTlv::PortDescription(v) => Some(until_nul(v)),
            _ => None,
        })
    }

    /// System capabilities: (system, enabled).
    pub fn capabilities(&self) -> Option<(LldpCapabilities, LldpCapabilities)> {
        self.find(|t| match t {
            LldpTlv::Capabilities { system, enabled } => Some((*system, *enabled)),
            _ => None,
        })
    }

    /// Every Management Address TLV.
    pub fn management_addresses(&self) -> impl Iterator<Item = LldpMgmtAddress<'a>> + '_ {
        self.tlvs.iter().filter_map(|t| match t {
            LldpTlv::ManagementAddress(m) => Some(*m),
            _ => None,
        })
    }

    /// 802.1 port VLAN id.
    pub fn pvid(&self) -> Option<u16> {
        self.find(|t| match t {
            LldpTlv::PortVlan(v) => Some(*v),
            _ => None,
        })
    }

    /// 802.3 power via MDI.
    pub fn mdi_power(&self) -> Option<Dot3MdiPower> {
        self.find(|t| match t {
            LldpTlv::MdiPower(p) => Some(*p),
            _ => None,
        })
    }

    /// LLDP-MED capabilities and device class.
    pub fn med_capabilities(&self) -> Option<(MedCapabilities, MedDeviceClass)> {
        self.find(|t| match t {
            LldpTlv::MedCapabilities {
                capabilities,
                class,
            } => Some((*capabilities, *class)),
            _ => None,
        })
    }

    /// Every LLDP-MED network policy, in wire order.
    pub fn network_policies(&self) -> impl Iterator<Item = MedPolicy> + '_ {
        self.tlvs.iter().filter_map(|t| match t {
            LldpTlv::MedNetworkPolicy(p) => Some(*p),
            _ => None,
        })
    }

    /// The first network policy for `app` (e.g. [`MedAppType::VOICE`]).
    pub fn policy(&self, app: MedAppType) -> Option<MedPolicy> {
        self.network_policies().find(|p| p.app == app)
    }

    /// LLDP-MED location.
    pub fn location(&self) -> Option<MedLocation<'a>> {
        self.find(|t| match t {
            LldpTlv::MedLocation(l) => Some(*l),
            _ => None,
        })
    }

    /// LLDP-MED extended power.
    pub fn extended_power(&self) -> Option<MedExtendedPower> {
        self.find(|t| match t {
            LldpTlv::MedExtendedPower(p) => Some(*p),
            _ => None,
        })
    }

    /// LLDP-MED inventory strings (first of each, cut at NUL).
    pub fn inventory(&self) -> LldpInventory<'a> {
        let mut inv = LldpInventory::default();
        for t in &self.tlvs {
            let LldpTlv::MedInventory { subtype, value } = t else {
                continue;
            };
            let slot = match *subtype {
                MedSubtype::HARDWARE_REVISION => &mut inv.hardware_revision,
                MedSubtype::FIRMWARE_REVISION => &mut inv.firmware_revision,
                MedSubtype::SOFTWARE_REVISION => &mut inv.software_revision,
                MedSubtype::SERIAL_NUMBER => &mut inv.serial_number,
                MedSubtype::MANUFACTURER => &mut inv.manufacturer,
                MedSubtype::MODEL => &mut inv.model,
                MedSubtype::ASSET_ID => &mut inv.asset_id,
                _ => continue,
            };
            slot.get_or_insert(until_nul(value));
        }
        inv
    }

    /// Whether the PDU starts with Chassis ID, Port ID and TTL, in that order
    /// (802.1AB 9.2.7.7.1; tshark: "Invalid Chassis ID (0x08), expected (0x01)").
    pub fn mandatory_ok(&self) -> bool {
        matches!(
            self.tlvs.as_slice(),
            [
                LldpTlv::ChassisId { .. },
                LldpTlv::PortId { .. },
                LldpTlv::Ttl(_),
                ..
            ]
        )
    }

    /// A mandatory TLV is missing or misplaced, or a TLV is [`LldpTlv::Malformed`].
    /// Truncation is reported apart, in [`LldpPdu::truncated`].
    pub fn malformed(&self) -> bool {
        !self.mandatory_ok()
            || self
                .tlvs
                .iter()
                .any(|t| matches!(t, LldpTlv::Malformed { .. }))
    }
}

/// Largest TLV value: the length field has 9 bits.
const MAX_VALUE: usize = 0x01ff;

impl LldpTlv<'_> {
    /// The TLV type this TLV is written with (127 for every organisational TLV).
    pub fn kind(&self) -> LldpTlvType {
        match self {
            LldpTlv::ChassisId { .. } => LldpTlvType::CHASSIS_ID,
            LldpTlv::PortId { .. } => LldpTlvType::PORT_ID,
            LldpTlv::Ttl(_) => LldpTlvType::TTL,
            LldpTlv::PortDescription(_) => LldpTlvType::PORT_DESCRIPTION,
            LldpTlv::SystemName(_) => LldpTlvType::SYSTEM_NAME,
            LldpTlv::SystemDescription(_) => LldpTlvType::SYSTEM_DESCRIPTION,
            LldpTlv::Capabilities { .. } => LldpTlvType::SYSTEM_CAPABILITIES,
            LldpTlv::ManagementAddress(_) => LldpTlvType::MANAGEMENT_ADDRESS,
            LldpTlv::PortVlan(_)
            | LldpTlv::MdiPower(_)
            | LldpTlv::MedCapabilities { .. }
            | LldpTlv::MedNetworkPolicy(_)
            | LldpTlv::MedLocation(_)
            | LldpTlv::MedExtendedPower(_)
            | LldpTlv::MedInventory { .. }
            | LldpTlv::OrgSpecific { .. } => LldpTlvType::ORGANIZATION_SPECIFIC,
            LldpTlv::Malformed { kind, .. } | LldpTlv::Other { kind, .. } => *kind,
        }
    }

    /// Length of the value as serialised, before the cut to [`MAX_VALUE`].
    fn value_len(&self) -> usize {
        // Organisational TLVs: 3-byte OUI + subtype, then their own part.
        let org = |n: usize| n.saturating_add(4);
        match self {
            LldpTlv::ChassisId { id, .. } | LldpTlv::PortId { id, .. } => {
                id.len().saturating_add(1)
            }
            LldpTlv::Ttl(_) => 2,
            LldpTlv::PortDescription(v)
            | LldpTlv::SystemName(v)
            | LldpTlv::SystemDescription(v)
            | LldpTlv::Malformed { value: v, .. }
            | LldpTlv::Other { value: v, .. } => v.len(),
            LldpTlv::Capabilities { .. } => 4,
            LldpTlv::ManagementAddress(m) => m.wire_len(),
            LldpTlv::PortVlan(_) => org(2),
            LldpTlv::MdiPower(p) => org(match p.extension {
                None => 3,
                Some(Dot3PowerExtension { bt: None, .. }) => 8,
                Some(Dot3PowerExtension { bt: Some(_), .. }) => 8 + DOT3_BT_LEN,
            }),
            LldpTlv::MedCapabilities { .. } | LldpTlv::MedExtendedPower(_) => org(3),
            LldpTlv::MedNetworkPolicy(_) => org(4),
            LldpTlv::MedLocation(l) => org(l.data.len().saturating_add(1)),
            LldpTlv::MedInventory { value, .. } | LldpTlv::OrgSpecific { value, .. } => {
                org(value.len())
            }
        }
    }

    /// Bytes this TLV takes on the wire, header included.
    pub fn buffer_len(&self) -> usize {
        self.value_len().min(MAX_VALUE) + 2
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let len = self.value_len().min(MAX_VALUE);
        // 7-bit type, 9-bit length.
        let hdr = (u16::from(self.kind().0 & 0x7f) << 9) | u16::try_from(len).unwrap_or(0x01ff);
        w.be_u16(hdr)?;
        let mut v = w.cut(len)?;
        let org = |v: &mut Writer<'_>, oui: Oui, subtype: u8| {
            let [_, a, b, c] = oui.0.to_be_bytes();
            v.bytes(&[a, b, c, subtype])
        };
        match self {
            LldpTlv::ChassisId { subtype, id } => {
                v.u8(subtype.0)?;
                v.bytes(id)
            }
            LldpTlv::PortId { subtype, id } => {
                v.u8(subtype.0)?;
                v.bytes(id)
            }
            LldpTlv::Ttl(s) => v.be_u16(*s),
            LldpTlv::PortDescription(b)
            | LldpTlv::SystemName(b)
            | LldpTlv::SystemDescription(b)
            | LldpTlv::Malformed { value: b, .. }
            | LldpTlv::Other { value: b, .. } => v.bytes(b),
            LldpTlv::Capabilities { system, enabled } => {
                v.be_u16(system.0)?;
                v.be_u16(enabled.0)
            }
            LldpTlv::ManagementAddress(m) => m.write(&mut v),
            LldpTlv::PortVlan(pvid) => {
                org(&mut v, Oui::IEEE_802_1, 1)?;
                v.be_u16(*pvid)
            }
            LldpTlv::MdiPower(p) => {
                org(&mut v, Oui::IEEE_802_3, 2)?;
                v.bytes(&[p.support, p.pair, p.class])?;
                if let Some(x) = p.extension {
                    // Type bits 7-6, source 5-4, reserved 3-2 (zero), priority 1-0.
                    v.u8(((x.power_type & 0x03) << 6)
                        | ((x.source & 0x03) << 4)
                        | (x.priority & 0x03))?;
                    v.be_u16(x.requested_dw)?;
                    v.be_u16(x.allocated_dw)?;
                    if let Some(bt) = x.bt {
                        v.be_u16(bt.pd_requested_a_dw)?;
                        v.be_u16(bt.pd_requested_b_dw)?;
                        v.be_u16(bt.pse_allocated_a_dw)?;
                        v.be_u16(bt.pse_allocated_b_dw)?;
                        v.be_u16(bt.power_status)?;
                        v.u8(bt.system_setup)?;
                        v.be_u16(bt.pse_max_available_dw)?;
                        v.u8(bt.autoclass)?;
                        let [_, p1, p2, p3] = bt.power_down.to_be_bytes();
                        v.bytes(&[p1, p2, p3])?;
                    }
                }
                Ok(())
            }
            LldpTlv::MedCapabilities {
                capabilities,
                class,
            } => {
                org(&mut v, Oui::TIA, 1)?;
                v.be_u16(capabilities.0)?;
                v.u8(class.0)
            }
            LldpTlv::MedNetworkPolicy(p) => {
                org(&mut v, Oui::TIA, 2)?;
                v.u8(p.app.0)?;
                v.bytes(&policy_bits(p))
            }
            LldpTlv::MedLocation(l) => {
                org(&mut v, Oui::TIA, 3)?;
                v.u8(l.format.0)?;
                v.bytes(l.data)
            }
            LldpTlv::MedExtendedPower(p) => {
                org(&mut v, Oui::TIA, 4)?;
                // Type bits 7-6, source 5-4, priority 3-0.
                v.u8(((p.power_type & 0x03) << 6)
                    | ((p.source & 0x03) << 4)
                    | (p.priority.0 & 0x0f))?;
                v.be_u16(p.power_dw)
            }
            LldpTlv::MedInventory { subtype, value } => {
                org(&mut v, Oui::TIA, subtype.0)?;
                v.bytes(value)
            }
            LldpTlv::OrgSpecific {
                oui,
                subtype,
                value,
            } => {
                org(&mut v, *oui, *subtype)?;
                v.bytes(value)
            }
        }
    }
}

/// The 24 bits after the app type: U, T, X (written 0), 12-bit VLAN, 3-bit
/// priority, 6-bit DSCP; each field masked to its width.
fn policy_bits(p: &MedPolicy) -> [u8; 3] {
    let x = (u32::from(p.unknown) << 23)
        | (u32::from(p.tagged) << 22)
        | ((u32::from(p.vlan) & 0x0fff) << 9)
        | ((u32::from(p.priority) & 0x07) << 6)
        | (u32::from(p.dscp) & 0x3f);
    let [_, b1, b2, b3] = x.to_be_bytes();
    [b1, b2, b3]
}

impl LldpMgmtAddress<'_> {
    /// Address cut to 254 bytes and OID to 255, so their u8 lengths hold them.
    fn wire_len(&self) -> usize {
        8 + self.address.len().min(254) + self.oid.len().min(255)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        let alen = self.address.len().min(254);
        let olen = self.oid.len().min(255);
        // The address string length counts the subtype byte.
        w.u8(u8::try_from(alen + 1).unwrap_or(u8::MAX))?;
        w.u8(self.addr_subtype)?;
        w.cut(alen)?.bytes(self.address)?;
        w.u8(self.if_subtype)?;
        w.be_u32(self.if_number)?;
        w.u8(u8::try_from(olen).unwrap_or(u8::MAX))?;
        w.cut(olen)?.bytes(self.oid)
    }
}

/// Writing a PDU back: `emit` writes exactly what `parse` reads, so
/// `parse(&pdu.to_vec()?) == Ok(pdu)` for a PDU `parse` returned, except where
/// `parse` drops bits (below). The TLVs are written in order, as given:
///
/// - An End TLV (`00 00`) follows them, unless [`LldpPdu::truncated`] is set
///   (a truncated PDU is written without its End, which is how `parse` reads
///   it back; with no TLV at all that is empty input, an error) or the last
///   TLV already has type 0 (a [`LldpTlv::Malformed`] End with a value). A
///   type-0 TLV before the last ends the PDU early for `parse`.
/// - No content check: a reserved chassis or port id subtype, an empty id, a
///   management address outside 1-31 bytes, an `Other` of a known type, a
///   `Malformed` of the right shape are written as given and parse back as
///   whatever they are. Types are masked to 7 bits and OUIs to 24.
/// - Bit fields are masked to their width: MED policy VLAN 12 bits, priority
///   3, DSCP 6 (the reserved X bit is written 0); extended power type and
///   source 2 bits, priority 4; the 802.3at type/source 2 bits, priority 2
///   (bits 3-2 written 0), the 802.3bt power down 24 bits. `parse` does not
///   keep the bits written as 0, nor bytes after the 802.3bt part of Power via
///   MDI (or after the 802.3at part when fewer than the 17 of 802.3bt follow).
/// - Values too long for their length field are cut: a TLV value to 511
///   bytes, a management address to 254 and its OID to 255.
impl LldpPdu<'_> {
    /// Whether `emit` appends an End TLV (see the impl's notes).
    fn writes_end(&self) -> bool {
        !self.truncated && self.tlvs.last().is_none_or(|t| t.kind().0 & 0x7f != 0)
    }

    /// The exact number of bytes [`LldpPdu::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let end = if self.writes_end() { 2 } else { 0 };
        self.tlvs
            .iter()
            .fold(end, |n, t| n.saturating_add(t.buffer_len()))
    }

    /// Write the LLDPDU (the TLVs after ethertype 0x88cc, no Ethernet padding)
    /// into `buf[..self.buffer_len()]`; returns the length written.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`LldpPdu::buffer_len`]; nothing is written then.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        let mut w = Writer::new(Proto::Lldp, buf, needed)?;
        for t in &self.tlvs {
            t.write(&mut w)?;
        }
        if self.writes_end() {
            w.be_u16(0)?;
        }
        Ok(needed)
    }

    /// The PDU in a new buffer of [`LldpPdu::buffer_len`] bytes.
    ///
    /// # Errors
    /// None in practice: the buffer is always big enough (see [`LldpPdu::emit`]).
    pub fn to_vec(&self) -> Result<Vec<u8>, EmitError> {
        emit::to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    const SUMMIT300: &[u8] = include_bytes!("../testdata/lldp/summit300.bin");
    const PROCURVE_MED: &[u8] = include_bytes!("../testdata/lldp/procurve-med.bin");
    const SG200: &[u8] = include_bytes!("../testdata/lldp/sg200-inventory.bin");
    const S2_3560G: &[u8] = include_bytes!("../testdata/lldp/s2-3560g.bin");
    const INFINITE_LOOP: &[u8] = include_bytes!("../testdata/lldp/infinite-loop.bin");
    const ASAN_PORT: &[u8] = include_bytes!("../testdata/lldp/asan-bad-port-id.bin");
    const ASAN_CHASSIS: &[u8] = include_bytes!("../testdata/lldp/asan-bad-chassis-id.bin");
    const CAT9K_BT: &[u8] = include_bytes!("../testdata/lldp/cat9k-8023bt.bin");

    /// A phone-like LLDP-MED PDU no capture has, checked against tshark 4.0.17
    /// (written to a pcap with an Ethernet header; see testdata/lldp/README.md).
    const PHONE: &[u8] = &[
        0x02, 0x06, 0x05, 0x01, 192, 168, 1,
        10, // Chassis: network address, IPv4 192.168.1.10
        0x04, 0x10, 0x07, b'B', b'0', b'0', b'0', b'B', b'4', b'B', b'B', b'F', b'1', b'F', b'0',
        b':', b'P', b'1', // Port: locally assigned "B000B4BBF1F0:P1"
        0x06, 0x02, 0x00, 0xb4, // TTL 180
        0x0a, 0x0f, b'S', b'E', b'P', b'B', b'0', b'0', b'0', b'B', b'4', b'B', b'B', b'F', b'1',
        b'F', b'0', // System Name "SEPB000B4BBF1F0"
        0x0e, 0x04, 0x00, 0x24, 0x00, 0x20, // Capabilities: bridge+telephone / telephone
        0x10, 0x0c, 0x05, 0x01, 192, 168, 1, 10, 0x02, 0, 0, 0, 1,
        0x00, // Mgmt IPv4, ifIndex 1
        0xfe, 0x07, 0x00, 0x12, 0xbb, 0x01, 0x00, 0x33, 0x03, // MED caps 0x0033, class III
        0xfe, 0x08, 0x00, 0x12, 0xbb, 0x02, 0x01, 0x40, 0xc9,
        0x6e, // Voice: T, vlan 100, prio 5, dscp 46
        0xfe, 0x08, 0x00, 0x12, 0xbb, 0x02, 0x02, 0x80, 0x00,
        0xd8, // Voice Signaling: U, prio 3, dscp 24
        0xfe, 0x07, 0x00, 0x12, 0xbb, 0x04, 0x53, 0x00,
        0x61, // Ext power: PD, PSE, low, 9.7 W
        0xfe, 0x0c, 0x00, 0x12, 0x0f, 0x02, 0x0f, 0x01, 0x05, 0x53, 0x00, 0x61, 0x00,
        0x5a, // 802.3 MDI power + 802.3at: PD type 2, PSE, low, req 9.7 W, alloc 9.0 W
        0xfe, 0x12, 0x00, 0x12, 0xbb, 0x07, b's', b'i', b'p', b'8', b'8', b'x', b'x', b'.', b'1',
        b'4', b'-', b'2', b'-', b'1', // MED software revision "sip88xx.14-2-1"
        0xfe, 0x05, 0x00, 0x01, 0x42, 0x01, 0x0b, // Cisco OUI subtype 1, raw
        0x12, 0x02, 0xab, 0xcd, // reserved type 9
        0x00, 0x00, // End
    ];

    fn err(input: &[u8]) -> (usize, ErrorKind) {
        let e = parse(input).unwrap_err();
        assert_eq!(e.proto, Proto::Lldp);
        (e.offset, e.kind)
    }

    #[test]
    fn mdi_power_8023bt_fields_from_cat9k() {
        let p = parse(CAT9K_BT).unwrap();
        assert_eq!(p.system_name(), Some(&b"cisco-bt-switch"[..]));
        // tshark (lldp.ieee.802_3.*): MDI power support 0x0f, PSE pair 1, class 5;
        // Type 2 PSE (0), primary source (1), low (3); PD requested 710, PSE
        // allocated 510 (0.1 W); bt_ds_pd_requested_power_value_mode_a/b 355,
        // bt_ds_pse_allocated_power_value_alt_a/b 255, bt_power_status 0xce4f,
        // bt_system_setup 0x00, bt_pse_maximum_available_power_value 510,
        // bt_autoclass 0x00, bt_power_down 0x000000.
        assert_eq!(
            p.mdi_power(),
            Some(Dot3MdiPower {
                support: 0x0f,
                pair: 1,
                class: 5,
                extension: Some(Dot3PowerExtension {
                    power_type: 0,
                    source: 1,
                    priority: 3,
                    requested_dw: 710,
                    allocated_dw: 510,
                    bt: Some(Dot3BtExtension {
                        pd_requested_a_dw: 355,
                        pd_requested_b_dw: 355,
                        pse_allocated_a_dw: 255,
                        pse_allocated_b_dw: 255,
                        power_status: 0xce4f,
                        system_setup: 0,
                        pse_max_available_dw: 510,
                        autoclass: 0,
                        power_down: 0,
                    }),
                }),
            })
        );
        // Written back byte for byte, the 29-byte TLV included.
        let mut out = vec![0; p.buffer_len()];
        let n = p.emit(&mut out).unwrap();
        assert_eq!(&out[..n], &CAT9K_BT[..n]);
    }

    #[test]
    fn mdi_power_shorter_than_8023bt_keeps_the_8023at_part() {
        // 802.3at part (8 bytes) and 16 of the 17 bytes of 802.3bt: no bt fields.
        let mut v = vec![0x0f, 1, 5, 0x13, 0x02, 0xc6, 0x01, 0xfe];
        v.extend_from_slice(&[0; 16]);
        let x = mdi_power(&v).unwrap().extension.unwrap();
        assert_eq!((x.requested_dw, x.allocated_dw, x.bt), (710, 510, None));
        v.push(7);
        let bt = mdi_power(&v).unwrap().extension.unwrap().bt.unwrap();
        assert_eq!(bt.power_down, 7);
    }

    #[test]
    fn procurve_med_policy_from_lldpmed_civicloc() {
        let p = parse(PROCURVE_MED).unwrap();
        assert!(!p.truncated && !p.malformed());
        assert_eq!(p.chassis_mac(), Some([0x00, 0x13, 0x21, 0x57, 0xca, 0x40]));
        assert_eq!(
            p.port(),
            Some((LldpPortIdSubtype::LOCALLY_ASSIGNED, &b"1"[..]))
        );
        assert_eq!(p.ttl(), Some(120));
        assert_eq!(p.port_description(), Some(&b"1"[..]));
        assert_eq!(p.system_name(), Some(&b"ProCurve Switch 2600-8-PWR"[..]));
        assert!(p
            .system_description()
            .unwrap()
            .starts_with(b"ProCurve J8762A"));
        // Capabilities 0x0014, enabled 0x0004.
        assert_eq!(
            p.capabilities(),
            Some((LldpCapabilities(0x14), LldpCapabilities::BRIDGE))
        );
        // Management address IPv4 15.255.122.148, ifIndex, interface 0, OID length 0.
        let m = p.management_addresses().next().unwrap();
        assert_eq!(m.ipv4(), Some(Ipv4Addr::new(15, 255, 122, 148)));
        assert_eq!((m.if_subtype, m.if_number, m.oid), (2, 0, &[][..]));
        // Media Capabilities 0x000f, Network Connectivity.
        assert_eq!(
            p.med_capabilities(),
            Some((MedCapabilities(0x0f), MedDeviceClass::NETWORK_CONNECTIVITY))
        );
        // Network Policy: Voice, Defined, Tagged, VLAN 50, L2 priority 6, DSCP 46.
        assert_eq!(
            p.network_policies().collect::<Vec<_>>(),
            [MedPolicy {
                app: MedAppType::VOICE,
                unknown: false,
                tagged: true,
                vlan: 50,
                priority: 6,
                dscp: 46
            }]
        );
        // Location: Civic Address LCI (2), LCI length 40.
        let loc = p.location().unwrap();
        assert_eq!(loc.format, MedLocationFormat::CIVIC);
        assert_eq!(loc.data.first(), Some(&40));
        // Extended power: PSE (0), source 0, priority Low (3), 6500 mW.
        let pw = p.extended_power().unwrap();
        assert_eq!((pw.power_type, pw.source), (0, 0));
        assert_eq!(pw.priority, MedPowerPriority::LOW);
        assert_eq!(pw.power_mw(), 6500);
        // 802.3 MAC/PHY configuration (subtype 1) stays raw.
        assert!(p.tlvs.contains(&LldpTlv::OrgSpecific {
            oui: Oui::IEEE_802_3,
            subtype: 1,
            value: &[0x03, 0x6c, 0x00, 0x00, 0x10]
        }));
    }

    #[test]
    fn summit300_dot1_and_dot3_from_lldp_detailed() {
        let p = parse(SUMMIT300).unwrap();
        assert!(!p.truncated && !p.malformed());
        assert_eq!(p.chassis_mac(), Some([0x00, 0x01, 0x30, 0xf9, 0xad, 0xa0]));
        assert_eq!(
            p.port(),
            Some((LldpPortIdSubtype::INTERFACE_NAME, &b"1/1"[..]))
        );
        assert_eq!(p.ttl(), Some(120));
        assert_eq!(p.port_description(), Some(&b"Summit300-48-Port 1001"[..]));
        assert_eq!(p.system_name(), Some(&b"Summit300-48"[..]));
        assert_eq!(p.pvid(), Some(488));
        // Management address: 802 (6), 000130f9ada0, ifIndex 1001.
        let m = p.management_addresses().next().unwrap();
        assert_eq!(m.addr_subtype, 6);
        assert_eq!(m.address, [0x00, 0x01, 0x30, 0xf9, 0xad, 0xa0]);
        assert_eq!(m.if_number, 1001);
        // Power Via MDI: support 0x07, pair 1, class 0, no 802.3at part.
        assert_eq!(
            p.mdi_power(),
            Some(Dot3MdiPower {
                support: 7,
                pair: 1,
                class: 0,
                extension: None
            })
        );
        assert_eq!(p.network_policies().count(), 0);
    }

    #[test]
    fn sg200_inventory_and_nine_bit_length() {
        let p = parse(SG200).unwrap();
        assert!(!p.truncated && !p.malformed());
        assert_eq!(p.chassis_mac(), Some([0x00, 0x35, 0x35, 0x35, 0x35, 0x35]));
        assert_eq!(p.port_id(), Some(&b"g1"[..]));
        assert_eq!(p.ttl(), Some(120));
        // Capabilities 0x002f, Network Connectivity.
        assert_eq!(
            p.med_capabilities(),
            Some((MedCapabilities(0x2f), MedDeviceClass::NETWORK_CONNECTIVITY))
        );
        // Location TLV length 261 (needs the 9th length bit): LCI length 39.
        let loc = p.location().unwrap();
        assert_eq!(loc.data.len(), 261 - 5);
        assert_eq!(loc.data.first(), Some(&39));
        let inv = p.inventory();
        assert_eq!(inv.hardware_revision, Some(&b"V02"[..]));
        assert_eq!(inv.firmware_revision, Some(&b"1.0.8.3"[..]));
        assert_eq!(inv.software_revision, Some(&b"1.0.8.3"[..]));
        assert_eq!(inv.serial_number, Some(&b"XXX11111ZZZ"[..]));
        assert_eq!(inv.manufacturer, Some(&b"0xbc00"[..]));
        assert_eq!(inv.model, Some(&b"SG 200-08P"[..]));
        assert_eq!(inv.asset_id, Some(&b"1"[..]));
        assert_eq!(p.network_policies().count(), 0);
    }

    #[test]
    fn cisco_3560_interface_alias_port_and_pvid() {
        // LLDP_and_CDP.pcap frame 3 (S2).
        let p = parse(S2_3560G).unwrap();
        assert!(!p.truncated && !p.malformed());
        assert_eq!(p.chassis_mac(), Some([0x00, 0x19, 0x2f, 0xa7, 0xb2, 0x8d]));
        assert_eq!(
            p.port(),
            Some((LldpPortIdSubtype::INTERFACE_ALIAS, &b"Uplink to S1"[..]))
        );
        assert_eq!(p.system_name(), Some(&b"S2.cisco.com"[..]));
        assert_eq!(p.port_description(), Some(&b"GigabitEthernet0/13"[..]));
        assert_eq!(p.pvid(), Some(1));
        assert_eq!(
            p.capabilities(),
            Some((LldpCapabilities(0x14), LldpCapabilities(0x04)))
        );
    }

    #[test]
    fn infinite_loop_regression_terminates() {
        // tcpdump lldp-infinite-loop-1.pcap: TLV types 1,2,3,127x5,0.
        let p = parse(INFINITE_LOOP).unwrap();
        assert!(!p.truncated && !p.malformed());
        let mac = [0x08, 0x00, 0x27, 0x42, 0xba, 0x59];
        assert_eq!(p.chassis_mac(), Some(mac));
        assert_eq!(p.port(), Some((LldpPortIdSubtype::MAC_ADDRESS, &mac[..])));
        assert_eq!(p.ttl(), Some(120));
        assert_eq!(p.pvid(), Some(0));
        assert_eq!(p.tlvs.len(), 8);
        assert_eq!(p.system_name(), None);
    }

    #[test]
    fn asan_second_tlv_not_port_id_is_malformed() {
        // tcpdump lldp_asan.pcap: tshark "Invalid Port ID (0x7F), expected (0x02)".
        let p = parse(ASAN_PORT).unwrap();
        assert_eq!(
            p.chassis(),
            Some((
                LldpChassisIdSubtype::NETWORK_ADDRESS,
                &[1, 0, 0, 0x20, 0][..]
            ))
        );
        assert_eq!(p.port_id(), None);
        assert!(!p.mandatory_ok());
        assert!(p.malformed());
        assert_eq!(p.system_name(), None);
    }

    #[test]
    fn asan_first_tlv_not_chassis_id_is_malformed_and_truncated() {
        // tcpdump lldp_mgmt_addr_tlv_asan.pcap frame 1: tshark "Invalid Chassis
        // ID (0x08), expected (0x01)"; the management address OID is cut.
        let p = parse(ASAN_CHASSIS).unwrap();
        assert_eq!(p.chassis_id(), None);
        assert!(matches!(
            p.tlvs.as_slice(),
            [LldpTlv::Malformed {
                kind: LldpTlvType::MANAGEMENT_ADDRESS,
                ..
            }]
        ));
        assert!(p.malformed());
        assert!(p.truncated);
    }

    #[test]
    fn hand_built_phone_pdu() {
        let p = parse(PHONE).unwrap();
        assert!(!p.truncated && !p.malformed());
        // tshark: Chassis Subtype = Network address, Id: 192.168.1.10.
        assert_eq!(
            p.chassis(),
            Some((
                LldpChassisIdSubtype::NETWORK_ADDRESS,
                &[1, 192, 168, 1, 10][..]
            ))
        );
        assert_eq!(p.chassis_ipv4(), Some(Ipv4Addr::new(192, 168, 1, 10)));
        assert_eq!(p.chassis_mac(), None);
        assert_eq!(
            p.port(),
            Some((LldpPortIdSubtype::LOCALLY_ASSIGNED, &b"B000B4BBF1F0:P1"[..]))
        );
        assert_eq!(p.ttl(), Some(180));
        assert_eq!(p.system_name(), Some(&b"SEPB000B4BBF1F0"[..]));
        let (system, enabled) = p.capabilities().unwrap();
        assert_eq!(system.names().collect::<Vec<_>>(), ["bridge", "telephone"]);
        assert_eq!(enabled, LldpCapabilities::TELEPHONE);
        assert_eq!(
            p.management_addresses().next().and_then(|m| m.ipv4()),
            Some(Ipv4Addr::new(192, 168, 1, 10))
        );
        // tshark: Capabilities 0x0033, Class Type: Endpoint Class III (3).
        let (caps, class) = p.med_capabilities().unwrap();
        assert_eq!(
            caps.names().collect::<Vec<_>>(),
            [
                "capabilities",
                "network-policy",
                "ext-power-pd",
                "inventory"
            ]
        );
        assert_eq!(class, MedDeviceClass::ENDPOINT_CLASS_3);
        // tshark: Voice, Defined, Tagged Yes, VLAN 100, L2 Priority 5, DSCP 46;
        // Voice Signaling, Policy Unknown, Tagged No, VLAN 0, L2 Priority 3, DSCP 24.
        assert_eq!(
            p.policy(MedAppType::VOICE),
            Some(MedPolicy {
                app: MedAppType::VOICE,
                unknown: false,
                tagged: true,
                vlan: 100,
                priority: 5,
                dscp: 46
            })
        );
        assert_eq!(
            p.policy(MedAppType::VOICE_SIGNALING),
            Some(MedPolicy {
                app: MedAppType::VOICE_SIGNALING,
                unknown: true,
                tagged: false,
                vlan: 0,
                priority: 3,
                dscp: 24
            })
        );
        // tshark: Power Type PD Device (1), Power Source PSE (1), Low (3), 9700 mW.
        let ext = p.extended_power().unwrap();
        assert_eq!((ext.power_type, ext.source), (1, 1));
        assert_eq!(ext.priority, MedPowerPriority::LOW);
        assert_eq!(ext.power_mw(), 9700);
        // tshark: MDI Power Support 0x0f, pair 1, class 5; Type 2 PD, PSE, low,
        // PD requested 9.7 W, PSE allocated 9.0 W.
        assert_eq!(
            p.mdi_power(),
            Some(Dot3MdiPower {
                support: 0x0f,
                pair: 1,
                class: 5,
                extension: Some(Dot3PowerExtension {
                    power_type: 1,
                    source: 1,
                    priority: 3,
                    requested_dw: 97,
                    allocated_dw: 90,
                    bt: None
                })
            })
        );
        assert_eq!(
            p.inventory().software_revision,
            Some(&b"sip88xx.14-2-1"[..])
        );
        assert!(p.tlvs.contains(&LldpTlv::OrgSpecific {
            oui: Oui::CISCO,
            subtype: 1,
            value: &[0x0b]
        }));
        assert!(p.tlvs.contains(&LldpTlv::Other {
            kind: LldpTlvType(9),
            value: &[0xab, 0xcd]
        }));
        assert_eq!(format!("{:?}", MedAppType::VOICE), "Voice");
        assert_eq!(format!("{:?}", MedAppType(9)), "MedAppType(0x9)");
    }

    /// Chassis (MAC), Port (locally assigned "1"), TTL 120, then `tail`.
    fn with_mandatory(tail: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x02, 0x07, 0x04, 0, 1, 2, 3, 4, 5, // Chassis ID, MAC 00:01:02:03:04:05
            0x04, 0x02, 0x07, b'1', // Port ID, locally assigned "1"
            0x06, 0x02, 0x00, 0x78, // TTL 120
        ];
        v.extend_from_slice(tail);
        v
    }

    #[test]
    fn reserved_id_subtypes_are_malformed() {
        for sub in [0u8, 8, 0xff] {
            let bytes = [
                0x02, 0x02, sub, b'x', 0x04, 0x02, 0x07, b'1', 0x06, 0x02, 0, 1, 0, 0,
            ];
            let p = parse(&bytes).unwrap();
            assert_eq!(
                p.tlvs.first(),
                Some(&LldpTlv::Malformed {
                    kind: LldpTlvType::CHASSIS_ID,
                    value: &[sub, b'x']
                })
            );
            assert!(p.malformed());
            let bytes = with_mandatory(&[0x04, 0x02, sub, b'y', 0x00, 0x00]);
            let p = parse(&bytes).unwrap();
            assert!(p.malformed(), "port id subtype {sub}");
        }
    }

    #[test]
    fn wrong_size_known_tlvs_are_malformed_and_parsing_goes_on() {
        let bytes = with_mandatory(&[
            0x06, 0x03, 0x00, 0x78, 0x00, // second TTL, 3 bytes
            0x0e, 0x02, 0x00, 0x04, // Capabilities, 2 bytes
            0xfe, 0x03, 0x00, 0x12, 0xbb, // org TLV shorter than OUI + subtype
            0xfe, 0x07, 0x00, 0x12, 0xbb, 0x02, 0x01, 0x40, 0xc9, // policy, 3 bytes
            0xfe, 0x08, 0x00, 0x12, 0x0f, 0x02, 0x0f, 0x01, 0x05, 0x53, // MDI power, 4 bytes
            0x10, 0x03, 0x01, 0x01, 0x00, // mgmt address string length 1
            0x0a, 0x01, b'n', // System Name "n" still parsed
            0x00, 0x01, 0xff, // End with a value: flagged, and still the end
            0x0a, 0x01, b'z', // not read
        ]);
        let p = parse(&bytes).unwrap();
        let malformed: Vec<_> = p
            .tlvs
            .iter()
            .filter_map(|t| match t {
                LldpTlv::Malformed { kind, .. } => Some(kind.0),
                _ => None,
            })
            .collect();
        assert_eq!(malformed, [3, 7, 127, 127, 127, 8, 0]);
        assert_eq!(p.system_name(), Some(&b"n"[..]));
        assert!(p.mandatory_ok());
        assert!(p.malformed());
        assert!(!p.truncated);
    }

    #[test]
    fn unknown_oui_and_subtypes_are_org_specific() {
        let bytes = with_mandatory(&[
            0xfe, 0x05, 0xaa, 0xbb, 0xcc, 0x01, 0x02, // OUI aa-bb-cc subtype 1
            0xfe, 0x04, 0x00, 0x12, 0xbb, 0x0c, // TIA subtype 12, empty
            0x00, 0x00,
        ]);
        let p = parse(&bytes).unwrap();
        assert_eq!(
            p.tlvs.get(3..),
            Some(
                &[
                    LldpTlv::OrgSpecific {
                        oui: Oui(0xaabbcc),
                        subtype: 1,
                        value: &[2]
                    },
                    LldpTlv::OrgSpecific {
                        oui: Oui::TIA,
                        subtype: 12,
                        value: &[]
                    }
                ][..]
            )
        );
        assert!(!p.malformed());
    }

    #[test]
    fn zero_length_tlvs_advance() {
        // Empty System Name and Port Description, then End.
        let bytes = with_mandatory(&[0x0a, 0x00, 0x08, 0x00, 0x00, 0x00]);
        let p = parse(&bytes).unwrap();
        assert_eq!(p.system_name(), Some(&b""[..]));
        assert_eq!(p.port_description(), Some(&b""[..]));
        assert!(!p.truncated);
        // Only End TLVs of length 0: the first ends the PDU.
        let p = parse(&[0, 0, 0, 0]).unwrap();
        assert!(p.tlvs.is_empty() && !p.truncated && p.malformed());
    }

    #[test]
    fn truncation_at_each_length_field() {
        // Empty input and a cut first TLV header or value are errors.
        assert_eq!(err(&[]), (0, ErrorKind::Truncated));
        assert_eq!(err(&[0x02]), (0, ErrorKind::Truncated));
        assert_eq!(err(&[0x02, 0x07, 0x04, 0, 1]), (2, ErrorKind::Truncated));
        // Later: a cut header, a cut value, or no End TLV set `truncated`.
        let full = with_mandatory(&[0x0a, 0x03, b'a', b'b', b'c', 0x00, 0x00]);
        for (cut, tlvs) in [(17, 3), (18, 3), (20, 3), (22, 4)] {
            let p = parse(full.get(..cut).unwrap()).unwrap();
            assert!(p.truncated, "cut at {cut}");
            assert_eq!(p.tlvs.len(), tlvs, "cut at {cut}");
        }
        let p = parse(&full).unwrap();
        assert!(!p.truncated);
        assert_eq!(p.system_name(), Some(&b"abc"[..]));
    }

    #[test]
    fn bytes_after_end_are_ignored() {
        let bytes = with_mandatory(&[0x00, 0x00, 0xff, 0xff, 0xff]);
        let p = parse(&bytes).unwrap();
        assert_eq!(p.tlvs.len(), 3);
        assert!(!p.truncated && !p.malformed());
    }

    #[test]
    fn fixtures_re_emit_byte_exact_up_to_padding() {
        for (name, bytes) in [
            ("summit300", SUMMIT300),
            ("procurve-med", PROCURVE_MED),
            ("sg200-inventory", SG200),
            ("s2-3560g", S2_3560G),
            ("infinite-loop", INFINITE_LOOP),
            ("hand-built phone", PHONE),
        ] {
            let p = parse(bytes).unwrap();
            assert!(!p.truncated && !p.malformed(), "{name}");
            let out = p.to_vec().unwrap();
            assert_eq!(out.len(), p.buffer_len(), "{name}");
            // The fixtures run to the end of the frame: `parse` stops at the End
            // TLV and drops the Ethernet padding after it, so the re-emitted PDU
            // is the fixture up to its End TLV, and the rest is padding.
            let (pdu, padding) = bytes.split_at(out.len());
            assert_eq!(out, pdu, "{name}");
            assert!(out.ends_with(&[0, 0]), "{name}");
            // Only tcpdump's infinite-loop input has bytes after its End TLV
            // (1404 bytes of junk); the others end at their End TLV.
            let expected = if name == "infinite-loop" { 1404 } else { 0 };
            assert_eq!(padding.len(), expected, "{name}");
        }
    }

    #[test]
    fn damaged_fixtures_round_trip_at_parse_level() {
        // A cut TLV is dropped by `parse`, so these cannot come back byte for
        // byte; what `parse` kept does, and the PDU is still read as truncated.
        for (name, bytes) in [
            ("asan-bad-port-id", ASAN_PORT),
            ("asan-bad-chassis-id", ASAN_CHASSIS),
        ] {
            let p = parse(bytes).unwrap();
            assert!(p.malformed(), "{name}");
            let out = p.to_vec().unwrap();
            assert!(bytes.starts_with(&out), "{name}");
            assert_eq!(parse(&out).unwrap(), p, "{name}");
        }
    }

    #[test]
    fn every_variant_round_trips() {
        let pdu = LldpPdu {
            tlvs: vec![
                LldpTlv::ChassisId {
                    subtype: LldpChassisIdSubtype::MAC_ADDRESS,
                    id: &[0, 1, 2, 3, 4, 5],
                },
                LldpTlv::PortId {
                    subtype: LldpPortIdSubtype::LOCALLY_ASSIGNED,
                    id: b"B000B4BBF1F0:P1",
                },
                LldpTlv::Ttl(180),
                LldpTlv::PortDescription(b"SW PORT"),
                LldpTlv::SystemName(b"SEPB000B4BBF1F0"),
                LldpTlv::SystemDescription(b""),
                LldpTlv::Capabilities {
                    system: LldpCapabilities(0x24),
                    enabled: LldpCapabilities::TELEPHONE,
                },
                LldpTlv::ManagementAddress(LldpMgmtAddress {
                    addr_subtype: 1,
                    address: &[192, 168, 1, 10],
                    if_subtype: 2,
                    if_number: 1,
                    oid: &[0x2b, 0x06],
                }),
                LldpTlv::PortVlan(488),
                LldpTlv::MdiPower(Dot3MdiPower {
                    support: 7,
                    pair: 1,
                    class: 0,
                    extension: None,
                }),
                LldpTlv::MdiPower(Dot3MdiPower {
                    support: 0x0f,
                    pair: 1,
                    class: 5,
                    extension: Some(Dot3PowerExtension {
                        power_type: 1,
                        source: 1,
                        priority: 3,
                        requested_dw: 97,
                        allocated_dw: 90,
                        bt: None,
                    }),
                }),
                LldpTlv::MedCapabilities {
                    capabilities: MedCapabilities(0x33),
                    class: MedDeviceClass::ENDPOINT_CLASS_3,
                },
                LldpTlv::MedNetworkPolicy(MedPolicy {
                    app: MedAppType::VOICE,
                    unknown: false,
                    tagged: true,
                    vlan: 4095,
                    priority: 7,
                    dscp: 63,
                }),
                LldpTlv::MedNetworkPolicy(MedPolicy {
                    app: MedAppType::VOICE_SIGNALING,
                    unknown: true,
                    tagged: false,
                    vlan: 0,
                    priority: 3,
                    dscp: 24,
                }),
                LldpTlv::MedLocation(MedLocation {
                    format: MedLocationFormat::ECS_ELIN,
                    data: b"5551234567",
                }),
                LldpTlv::MedExtendedPower(MedExtendedPower {
                    power_type: 1,
                    source: 3,
                    priority: MedPowerPriority(0x0f),
                    power_dw: 97,
                }),
                LldpTlv::MedInventory {
                    subtype: MedSubtype::SOFTWARE_REVISION,
                    value: b"sip88xx.14-2-1\0",
                },
                LldpTlv::MedInventory {
                    subtype: MedSubtype::ASSET_ID,
                    value: b"",
                },
                LldpTlv::OrgSpecific {
                    oui: Oui::CISCO,
                    subtype: 1,
                    value: &[0x0b],
                },
                LldpTlv::OrgSpecific {
                    oui: Oui::IEEE_802_3,
                    subtype: 1,
                    value: &[0x03, 0x6c, 0x00, 0x00, 0x10],
                },
                LldpTlv::Malformed {
                    kind: LldpTlvType::TTL,
                    value: &[0, 0x78, 0],
                },
                LldpTlv::Malformed {
                    kind: LldpTlvType::ORGANIZATION_SPECIFIC,
                    value: &[0x00, 0x12],
                },
                LldpTlv::Other {
                    kind: LldpTlvType(9),
                    value: &[0xab, 0xcd],
                },
            ],
            truncated: false,
        };
        let bytes = pdu.to_vec().unwrap();
        assert_eq!(bytes.len(), pdu.buffer_len());
        assert_eq!(parse(&bytes).unwrap(), pdu);
        // No End TLV when `truncated`; an End with a value is the End.
        for tail in [
            None,
            Some(LldpTlv::Malformed {
                kind: LldpTlvType::END,
                value: &[0xff],
            }),
        ] {
            let mut p = LldpPdu {
                truncated: tail.is_none(),
                ..pdu.clone()
            };
            p.tlvs.extend(tail);
            let bytes = p.to_vec().unwrap();
            assert_eq!(bytes.len(), p.buffer_len());
            assert_eq!(parse(&bytes).unwrap(), p);
        }
    }

    #[test]
    fn short_buffer_is_an_error_not_a_panic() {
        let p = parse(PHONE).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            p.emit(&mut buf),
            Err(EmitError::BufferTooSmall {
                proto: Proto::Lldp,
                needed: PHONE.len()
            })
        );
        assert_eq!(buf, [0; 16]);
    }

    #[test]
    fn out_of_range_fields_are_masked_and_long_values_cut() {
        let policy = MedPolicy {
            app: MedAppType::VOICE,
            unknown: false,
            tagged: true,
            vlan: 0x1064, // 13 bits: written as 0x064 (100)
            priority: 0x0d,
            dscp: 0xee,
        };
        let long = [b'd'; 600];
        let pdu = LldpPdu {
            tlvs: vec![
                LldpTlv::MedNetworkPolicy(policy),
                LldpTlv::SystemDescription(&long),
                LldpTlv::Other {
                    kind: LldpTlvType(0x89), // type 9 once masked to 7 bits
                    value: &[],
                },
            ],
            truncated: false,
        };
        let bytes = pdu.to_vec().unwrap();
        assert_eq!(bytes.len(), pdu.buffer_len());
        let p = parse(&bytes).unwrap();
        assert_eq!(
            p.network_policies().next(),
            Some(MedPolicy {
                vlan: 100,
                priority: 5,
                dscp: 0x2e,
                ..policy
            })
        );
        assert_eq!(p.system_description().map(<[u8]>::len), Some(511));
        assert_eq!(
            p.tlvs.get(2),
            Some(&LldpTlv::Other {
                kind: LldpTlvType(9),
                value: &[]
            })
        );
    }

    /// The 802.3at part of Power via MDI and its optional 802.3bt part, generated.
    type MdiPowerExtension = (u8, u8, u8, u16, u16, Option<([u16; 5], u8, u16, u8, u32)>);

    /// An owned TLV for the round-trip property; `tlv` borrows it.
    #[derive(Debug, Clone)]
    enum Gen {
        Id(bool, u8, Vec<u8>),
        Ttl(u16),
        Text(u8, Vec<u8>),
        Capabilities(u16, u16),
        Mgmt(u8, Vec<u8>, u8, u32, Vec<u8>),
        PortVlan(u16),
        MdiPower(u8, u8, u8, Option<MdiPowerExtension>),
        MedCapabilities(u16, u8),
        Policy(u8, bool, bool, u16, u8, u8),
        Location(u8, Vec<u8>),
        ExtPower(u8, u8, u8, u16),
        Inventory(u8, Vec<u8>),
        /// Any type 1-127 and value, decoded as `parse` would (typed,
        /// Malformed, OrgSpecific or Other).
        Raw(u8, Vec<u8>),
    }

    fn gen_tlv() -> impl Strategy<Value = Gen> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..24);
        let some_bytes = || proptest::collection::vec(any::<u8>(), 1..24);
        prop_oneof![
            (any::<bool>(), 1u8..=7, some_bytes()).prop_map(|(p, s, id)| Gen::Id(p, s, id)),
            any::<u16>().prop_map(Gen::Ttl),
            (4u8..=6, bytes()).prop_map(|(k, v)| Gen::Text(k, v)),
            (any::<u16>(), any::<u16>()).prop_map(|(a, b)| Gen::Capabilities(a, b)),
            (
                any::<u8>(),
                proptest::collection::vec(any::<u8>(), 1..=31),
                any::<u8>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..=128)
            )
                .prop_map(|(s, a, i, n, o)| Gen::Mgmt(s, a, i, n, o)),
            any::<u16>().prop_map(Gen::PortVlan),
            (
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                proptest::option::of((
                    0u8..4,
                    0u8..4,
                    0u8..4,
                    any::<u16>(),
                    any::<u16>(),
                    proptest::option::of((
                        any::<[u16; 5]>(),
                        any::<u8>(),
                        any::<u16>(),
                        any::<u8>(),
                        0u32..0x0100_0000
                    ))
                ))
            )
                .prop_map(|(s, p, c, x)| Gen::MdiPower(s, p, c, x)),
            (any::<u16>(), any::<u8>()).prop_map(|(c, k)| Gen::MedCapabilities(c, k)),
            (
                any::<u8>(),
                any::<bool>(),
                any::<bool>(),
                0u16..4096,
                0u8..8,
                0u8..64
            )
                .prop_map(|(a, u, t, v, p, d)| Gen::Policy(a, u, t, v, p, d)),
            (any::<u8>(), bytes()).prop_map(|(f, d)| Gen::Location(f, d)),
            (0u8..4, 0u8..4, 0u8..16, any::<u16>())
                .prop_map(|(t, s, p, w)| Gen::ExtPower(t, s, p, w)),
            (5u8..=11, bytes()).prop_map(|(s, v)| Gen::Inventory(s, v)),
            // Organisational TLVs with a known or random OUI, any subtype.
            (
                prop_oneof![
                    Just([0x00, 0x80, 0xc2]),
                    Just([0x00, 0x12, 0x0f]),
                    Just([0x00, 0x12, 0xbb]),
                    Just([0x00, 0x01, 0x42]),
                    any::<[u8; 3]>()
                ],
                0u8..16,
                bytes()
            )
                .prop_map(|(oui, s, v)| Gen::Raw(127, [&oui[..], &[s], &v].concat())),
            (1u8..=127, bytes()).prop_map(|(k, v)| Gen::Raw(k, v)),
        ]
    }

    fn tlv(g: &Gen) -> LldpTlv<'_> {
        match g {
            Gen::Id(false, s, id) => LldpTlv::ChassisId {
                subtype: LldpChassisIdSubtype(*s),
                id,
            },
            Gen::Id(true, s, id) => LldpTlv::PortId {
                subtype: LldpPortIdSubtype(*s),
                id,
            },
            Gen::Ttl(s) => LldpTlv::Ttl(*s),
            Gen::Text(4, v) => LldpTlv::PortDescription(v),
            Gen::Text(5, v) => LldpTlv::SystemName(v),
            Gen::Text(_, v) => LldpTlv::SystemDescription(v),
            Gen::Capabilities(s, e) => LldpTlv::Capabilities {
                system: LldpCapabilities(*s),
                enabled: LldpCapabilities(*e),
            },
            Gen::Mgmt(addr_subtype, address, if_subtype, if_number, oid) => {
                LldpTlv::ManagementAddress(LldpMgmtAddress {
                    addr_subtype: *addr_subtype,
                    address,
                    if_subtype: *if_subtype,
                    if_number: *if_number,
                    oid,
                })
            }
            Gen::PortVlan(v) => LldpTlv::PortVlan(*v),
            Gen::MdiPower(support, pair, class, x) => LldpTlv::MdiPower(Dot3MdiPower {
                support: *support,
                pair: *pair,
                class: *class,
                extension: x.map(
                    |(power_type, source, priority, requested_dw, allocated_dw, bt)| {
                        Dot3PowerExtension {
                            power_type,
                            source,
                            priority,
                            requested_dw,
                            allocated_dw,
                            bt: bt.map(|([a, b, c, d, status], setup, max, auto, down)| {
                                Dot3BtExtension {
                                    pd_requested_a_dw: a,
                                    pd_requested_b_dw: b,
                                    pse_allocated_a_dw: c,
                                    pse_allocated_b_dw: d,
                                    power_status: status,
                                    system_setup: setup,
                                    pse_max_available_dw: max,
                                    autoclass: auto,
                                    power_down: down,
                                }
                            }),
                        }
                    },
                ),
            }),
            Gen::MedCapabilities(c, k) => LldpTlv::MedCapabilities {
                capabilities: MedCapabilities(*c),
                class: MedDeviceClass(*k),
            },
            Gen::Policy(app, unknown, tagged, vlan, priority, dscp) => {
                LldpTlv::MedNetworkPolicy(MedPolicy {
                    app: MedAppType(*app),
                    unknown: *unknown,
                    tagged: *tagged,
                    vlan: *vlan,
                    priority: *priority,
                    dscp: *dscp,
                })
            }
            Gen::Location(f, data) => LldpTlv::MedLocation(MedLocation {
                format: MedLocationFormat(*f),
                data,
            }),
            Gen::ExtPower(t, s, p, w) => LldpTlv::MedExtendedPower(MedExtendedPower {
                power_type: *t,
                source: *s,
                priority: MedPowerPriority(*p),
                power_dw: *w,
            }),
            Gen::Inventory(s, value) => LldpTlv::MedInventory {
                subtype: MedSubtype(*s),
                value,
            },
            Gen::Raw(k, v) => decode(LldpTlvType(*k), v),
        }
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(
            gens in proptest::collection::vec(gen_tlv(), 1..12),
            truncated in any::<bool>(),
        ) {
            let pdu = LldpPdu { tlvs: gens.iter().map(tlv).collect(), truncated };
            let bytes = pdu.to_vec().unwrap();
            prop_assert_eq!(bytes.len(), pdu.buffer_len());
            prop_assert_eq!(parse(&bytes).unwrap(), pdu);
        }

        #[test]
        fn whatever_parses_re_emits_to_the_same_pdu(
            data in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            if let Ok(p) = parse(&data) {
                let out = p.to_vec().unwrap();
                prop_assert_eq!(parse(&out).unwrap(), p);
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            if let Ok(p) = parse(&data) {
                prop_assert!(p.tlvs.len() <= data.len() / 2);
                let _ = (p.malformed(), p.inventory(), p.network_policies().count());
            }
        }
    }
}
