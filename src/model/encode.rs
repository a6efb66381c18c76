//! The model's messages as bytes: CDP, LLDP, TFTP, SCCP, SIP and HTTP through
//! the `parsers` crate's own emitters (so every sample round-trips through the
//! dissectors), DHCP through dhcproto's encoder (option 150, a list of addresses,
//! written as a raw option: dhcproto's owned decoding drops a list of several), and
//! the phone's configuration file as XML text; TLS records (a secure registration)
//! through the TLS dissector's emitter.
//!
//! The emitting functions return the emitter's [`EmitError`]: the messages are
//! built here to be representable, so an error is a bug (a scenario value
//! the wire format cannot carry, such as a line break in a SIP header), and
//! the simulator stops on it rather than write an empty packet.

use std::net::Ipv4Addr;

use dhcproto::v4::{self, DhcpOption, MessageType, OptionCode, UnknownOption};
use dhcproto::{Encodable, Encoder};
use parsers::arp::{ArpHardware, ArpOpcode, ArpPacket, ArpProtocol};
use parsers::cdp::{CdpCapabilities, CdpPacket, CdpPower, CdpTlv, CdpVoipVlan};
use parsers::dns::{
    DnsClass, DnsHeader, DnsMessage, DnsName, DnsOpcode, DnsQuestion, DnsRcode, DnsRdata,
    DnsRecord, DnsType,
};
use parsers::http::{HttpMessage, HttpStartLine, HttpVersion};
use parsers::icmp::{IcmpBody, IcmpMessage, IcmpVersion, Quoted};
use parsers::lldp::{
    LldpCapabilities, LldpChassisIdSubtype, LldpPdu, LldpPortIdSubtype, LldpTlv, MedAppType,
    MedCapabilities, MedDeviceClass, MedPolicy, MedSubtype,
};
use parsers::sccp::{
    SccpAlarm, SccpAlarmSeverity, SccpBody, SccpDeviceType, SccpHeaderVersion, SccpMessage,
    SccpMessageId, SccpRegisterAck, SccpRegisterReq,
};
use parsers::sip::{SipMessage, SipMethod, SipStartLine};
use parsers::tftp::{TftpErrorCode, TftpOptions, TftpPacket, TftpRequest};
use parsers::tls;
use parsers::EmitError;

use super::scenario::{CallManager, SipTransport, TftpOption};
use crate::link::MacAddr;

/// The phone's CDP: device id, port, capabilities (host, phone), load, platform
/// (`Cisco IP Phone <model>`), power request and the VoIP VLAN query.
pub fn cdp_phone(name: &str, model: &str, load: &str) -> Result<Vec<u8>, EmitError> {
    cdp_phone_as(name, &format!("Cisco IP Phone {model}"), load)
}

/// The PoE the model's phones ask for (mW), and what the model's switch offers.
pub const PHONE_POWER_MW: u32 = 12_900;
/// See [`PHONE_POWER_MW`].
pub const SWITCH_POWER_MW: u32 = 30_000;

/// A CDP version 2 PDU of `tlvs` (TTL 180, checksum computed), as a phone, a switch or
/// a router sends it.
pub fn cdp_pdu(tlvs: Vec<CdpTlv<'_>>) -> Result<Vec<u8>, EmitError> {
    CdpPacket {
        version: 2,
        ttl: 180,
        checksum: 0,
        checksum_valid: true,
        tlvs,
    }
    .to_vec()
}

/// [`cdp_phone`] with the platform string a family announces (a conference station's).
pub fn cdp_phone_as(name: &str, platform: &str, load: &str) -> Result<Vec<u8>, EmitError> {
    cdp_phone_power(name, platform, load, PHONE_POWER_MW)
}

/// [`cdp_phone_as`] asking for `power_mw` of PoE (Power Consumption and the one level
/// of Power Requested, both in mW).
pub fn cdp_phone_power(
    name: &str,
    platform: &str,
    load: &str,
    power_mw: u32,
) -> Result<Vec<u8>, EmitError> {
    let power = power_mw.to_be_bytes();
    let consumption = u16::try_from(power_mw).unwrap_or(u16::MAX);
    cdp_pdu(vec![
        CdpTlv::DeviceId(name.as_bytes()),
        CdpTlv::PortId(b"Port 1"),
        CdpTlv::Capabilities(CdpCapabilities(
            CdpCapabilities::HOST.0 | CdpCapabilities::IGMP.0 | CdpCapabilities::VOIP_PHONE.0,
        )),
        CdpTlv::SoftwareVersion(load.as_bytes()),
        CdpTlv::Platform(platform.as_bytes()),
        CdpTlv::Duplex(1),
        CdpTlv::PowerConsumption(consumption),
        CdpTlv::PowerRequested(CdpPower {
            request_id: 1,
            management_id: 0,
            levels: &power,
        }),
        CdpTlv::VoipVlanQuery(CdpVoipVlan {
            appliance_id: 1,
            vlan: Some(0),
        }),
    ])
}

/// The access switch's CDP on the phone's port, with the VoIP VLAN reply when one is
/// configured.
pub fn cdp_switch(
    name: &str,
    port: &str,
    native_vlan: u16,
    voice: Option<u16>,
) -> Result<Vec<u8>, EmitError> {
    cdp_switch_power(name, port, native_vlan, voice, SWITCH_POWER_MW)
}

/// [`cdp_switch`] offering `available_mw` of PoE (Power Available: the power
/// available, then the management power level).
pub fn cdp_switch_power(
    name: &str,
    port: &str,
    native_vlan: u16,
    voice: Option<u16>,
    available_mw: u32,
) -> Result<Vec<u8>, EmitError> {
    let available = available_mw.to_be_bytes();
    let mut tlvs = vec![
        CdpTlv::DeviceId(name.as_bytes()),
        CdpTlv::PortId(port.as_bytes()),
        CdpTlv::Capabilities(CdpCapabilities(
            CdpCapabilities::SWITCH.0 | CdpCapabilities::IGMP.0,
        )),
        CdpTlv::SoftwareVersion(b"Cisco IOS Software, C9300 Software, Version 17.9.4"),
        CdpTlv::Platform(b"cisco C9300-48P"),
        CdpTlv::NativeVlan(native_vlan),
        CdpTlv::Duplex(1),
    ];
    if let Some(vlan) = voice {
        tlvs.push(CdpTlv::VoipVlanReply(CdpVoipVlan {
            appliance_id: 1,
            vlan: Some(vlan),
        }));
    }
    tlvs.push(CdpTlv::PowerAvailable(CdpPower {
        request_id: 1,
        management_id: 1,
        levels: &available,
    }));
    cdp_pdu(tlvs)
}

/// The phone's LLDP-MED: `SEP<MAC>`, port `<MAC>:P1`, class III, voice policy
/// request, inventory with the load.
pub fn lldp_phone(mac: MacAddr, name: &str, model: &str, load: &str) -> Result<Vec<u8>, EmitError> {
    let port = format!("{}:P1", mac.to_sep_hex());
    let desc = format!("Cisco IP Phone {model}, {load}");
    let model_name = format!("CP-{model}");
    LldpPdu {
        tlvs: vec![
            LldpTlv::ChassisId {
                subtype: LldpChassisIdSubtype::MAC_ADDRESS,
                id: &mac.0,
            },
            LldpTlv::PortId {
                subtype: LldpPortIdSubtype::LOCALLY_ASSIGNED,
                id: port.as_bytes(),
            },
            LldpTlv::Ttl(180),
            LldpTlv::SystemName(name.as_bytes()),
            LldpTlv::SystemDescription(desc.as_bytes()),
            LldpTlv::Capabilities {
                system: LldpCapabilities(
                    LldpCapabilities::BRIDGE.0 | LldpCapabilities::TELEPHONE.0,
                ),
                enabled: LldpCapabilities(LldpCapabilities::TELEPHONE.0),
            },
            LldpTlv::MedCapabilities {
                capabilities: MedCapabilities(
                    MedCapabilities::CAPABILITIES.0
                        | MedCapabilities::NETWORK_POLICY.0
                        | MedCapabilities::EXTENDED_POWER_PD.0
                        | MedCapabilities::INVENTORY.0,
                ),
                class: MedDeviceClass::ENDPOINT_CLASS_3,
            },
            LldpTlv::MedInventory {
                subtype: MedSubtype::SOFTWARE_REVISION,
                value: load.as_bytes(),
            },
            LldpTlv::MedInventory {
                subtype: MedSubtype::MANUFACTURER,
                value: b"Cisco Systems, Inc.",
            },
            LldpTlv::MedInventory {
                subtype: MedSubtype::MODEL,
                value: model_name.as_bytes(),
            },
        ],
        truncated: false,
    }
    .to_vec()
}

/// The switch's LLDP on the phone's port, with the voice network policy when one is
/// configured.
pub fn lldp_switch(
    mac: MacAddr,
    name: &str,
    port: &str,
    voice: Option<u16>,
) -> Result<Vec<u8>, EmitError> {
    let mut tlvs = vec![
        LldpTlv::ChassisId {
            subtype: LldpChassisIdSubtype::MAC_ADDRESS,
            id: &mac.0,
        },
        LldpTlv::PortId {
            subtype: LldpPortIdSubtype::INTERFACE_NAME,
            id: port.as_bytes(),
        },
        LldpTlv::Ttl(120),
        LldpTlv::SystemName(name.as_bytes()),
        LldpTlv::Capabilities {
            system: LldpCapabilities(LldpCapabilities::BRIDGE.0 | LldpCapabilities::ROUTER.0),
            enabled: LldpCapabilities(LldpCapabilities::BRIDGE.0),
        },
        LldpTlv::MedCapabilities {
            capabilities: MedCapabilities(
                MedCapabilities::CAPABILITIES.0
                    | MedCapabilities::NETWORK_POLICY.0
                    | MedCapabilities::EXTENDED_POWER_PSE.0,
            ),
            class: MedDeviceClass::NETWORK_CONNECTIVITY,
        },
    ];
    if let Some(vlan) = voice {
        for (app, dscp) in [(MedAppType::VOICE, 46), (MedAppType::VOICE_SIGNALING, 24)] {
            tlvs.push(LldpTlv::MedNetworkPolicy(MedPolicy {
                app,
                unknown: false,
                tagged: true,
                vlan,
                priority: if app == MedAppType::VOICE { 5 } else { 3 },
                dscp,
            }));
        }
    }
    LldpPdu {
        tlvs,
        truncated: false,
    }
    .to_vec()
}

/// A client DHCP message kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpClientKind {
    /// DISCOVER.
    Discover,
    /// REQUEST for an offered address.
    Request {
        /// Option 50.
        requested: Ipv4Addr,
        /// Option 54.
        server: Ipv4Addr,
    },
    /// DECLINE of a leased address found in use.
    Decline {
        /// Option 50: the address declined.
        requested: Ipv4Addr,
        /// Option 54.
        server: Ipv4Addr,
    },
}

/// A server DHCP message kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpServerKind {
    /// OFFER.
    Offer,
    /// ACK.
    Ack,
    /// NAK.
    Nak,
}

fn dhcp_bytes(msg: &v4::Message) -> Vec<u8> {
    let mut buf = Vec::with_capacity(400);
    let mut e = Encoder::new(&mut buf);
    // Encoding into a Vec cannot fail for the options built here.
    let res = msg.encode(&mut e);
    debug_assert!(res.is_ok(), "{res:?}");
    buf
}

/// A phone's DISCOVER or REQUEST: option 60 "Cisco Systems, Inc. IP Phone CP-…",
/// 61 (type 1 + MAC), 12 SEP name, and a parameter list asking for 150.
pub fn dhcp_client(
    mac: MacAddr,
    name: &str,
    model: &str,
    xid: u32,
    kind: DhcpClientKind,
    secs: u16,
) -> Vec<u8> {
    let vendor = format!("Cisco Systems, Inc. IP Phone CP-{model}\0");
    client_message(mac, xid, kind, secs, Some(name), vendor.as_bytes())
}

/// A flooding tool's DISCOVER or REQUEST (Yersinia, dhcpstarv): the BOOTP header
/// with `chaddr` and the broadcast flag, the message type, for a REQUEST the address
/// and the server, and nothing else; no vendor class, no host name. Written byte by
/// byte (RFC 2131 §2, RFC 2132): a flood is millions of them.
pub fn dhcp_flood(chaddr: MacAddr, xid: u32, kind: DhcpClientKind) -> Vec<u8> {
    let mut m = Vec::with_capacity(260);
    // op BOOTREQUEST, htype Ethernet, hlen 6, hops 0; xid; secs 0; flags broadcast.
    m.extend_from_slice(&[1, 1, 6, 0]);
    m.extend_from_slice(&xid.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0x80, 0]);
    // ciaddr, yiaddr, siaddr, giaddr.
    m.extend_from_slice(&[0; 16]);
    // chaddr (16 bytes), sname (64), file (128).
    m.extend_from_slice(&chaddr.0);
    m.extend_from_slice(&[0; 10 + 64 + 128]);
    m.extend_from_slice(&[99, 130, 83, 99]);
    match kind {
        DhcpClientKind::Discover => m.extend_from_slice(&[53, 1, 1]),
        DhcpClientKind::Request { requested, server }
        | DhcpClientKind::Decline { requested, server } => {
            let kind = if matches!(kind, DhcpClientKind::Request { .. }) {
                3
            } else {
                4
            };
            m.extend_from_slice(&[53, 1, kind, 50, 4]);
            m.extend_from_slice(&requested.octets());
            m.extend_from_slice(&[54, 4]);
            m.extend_from_slice(&server.octets());
        }
    }
    m.push(255);
    m
}

/// A PC's DISCOVER or REQUEST (option 60 "MSFT 5.0").
pub fn dhcp_pc(mac: MacAddr, xid: u32, kind: DhcpClientKind) -> Vec<u8> {
    client_message(mac, xid, kind, 0, None, b"MSFT 5.0")
}

fn client_message(
    mac: MacAddr,
    xid: u32,
    kind: DhcpClientKind,
    secs: u16,
    name: Option<&str>,
    vendor: &[u8],
) -> Vec<u8> {
    let z = Ipv4Addr::UNSPECIFIED;
    let mut m = v4::Message::new_with_id(xid, z, z, z, z, &mac.0);
    m.set_secs(secs);
    m.set_flags(v4::Flags::default().set_broadcast());
    let o = m.opts_mut();
    match kind {
        DhcpClientKind::Discover => {
            o.insert(DhcpOption::MessageType(MessageType::Discover));
        }
        DhcpClientKind::Request { requested, server } => {
            o.insert(DhcpOption::MessageType(MessageType::Request));
            o.insert(DhcpOption::RequestedIpAddress(requested));
            o.insert(DhcpOption::ServerIdentifier(server));
        }
        DhcpClientKind::Decline { requested, server } => {
            o.insert(DhcpOption::MessageType(MessageType::Decline));
            o.insert(DhcpOption::RequestedIpAddress(requested));
            o.insert(DhcpOption::ServerIdentifier(server));
        }
    }
    let mut client_id = vec![1];
    client_id.extend_from_slice(&mac.0);
    o.insert(DhcpOption::ClientIdentifier(client_id));
    if let Some(n) = name {
        o.insert(DhcpOption::Hostname(n.to_owned()));
    }
    o.insert(DhcpOption::ClassIdentifier(vendor.to_vec()));
    o.insert(DhcpOption::ParameterRequestList(vec![
        OptionCode::SubnetMask,
        OptionCode::Router,
        OptionCode::DomainNameServer,
        OptionCode::DomainName,
        OptionCode::TFTPServerName,
        OptionCode::TFTPServerAddress,
    ]));
    dhcp_bytes(&m)
}

/// The DHCP server's OFFER, ACK or NAK, relayed by `relay` (giaddr) to the phone.
pub fn dhcp_server(
    mac: MacAddr,
    xid: u32,
    kind: DhcpServerKind,
    yiaddr: Ipv4Addr,
    relay: Ipv4Addr,
    server: Ipv4Addr,
    tftp: &TftpOption,
) -> Vec<u8> {
    let z = Ipv4Addr::UNSPECIFIED;
    let mut m = v4::Message::new_with_id(xid, z, yiaddr, z, relay, &mac.0);
    m.set_opcode(v4::Opcode::BootReply);
    let o = m.opts_mut();
    o.insert(DhcpOption::ServerIdentifier(server));
    if kind == DhcpServerKind::Nak {
        o.insert(DhcpOption::MessageType(MessageType::Nak));
        return dhcp_bytes(&m);
    }
    o.insert(DhcpOption::MessageType(match kind {
        DhcpServerKind::Offer => MessageType::Offer,
        _ => MessageType::Ack,
    }));
    o.insert(DhcpOption::AddressLeaseTime(86_400));
    o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
    o.insert(DhcpOption::Router(vec![relay]));
    o.insert(DhcpOption::DomainNameServer(vec![server]));
    o.insert(DhcpOption::DomainName("voice.example.com".into()));
    match tftp {
        TftpOption::Option150(list) => {
            // dhcproto's typed 150 holds one address: a list goes in raw.
            let bytes = list.iter().flat_map(|a| a.octets()).collect();
            o.insert(DhcpOption::Unknown(UnknownOption::new(
                OptionCode::TFTPServerAddress,
                bytes,
            )));
        }
        TftpOption::Option150Ascii(text) => {
            o.insert(DhcpOption::Unknown(UnknownOption::new(
                OptionCode::TFTPServerAddress,
                text.as_bytes().to_vec(),
            )));
        }
        TftpOption::Option66(name) => {
            o.insert(DhcpOption::TFTPServerName(name.as_bytes().to_vec()));
        }
        TftpOption::None => {}
    }
    dhcp_bytes(&m)
}

/// A TFTP read request (octet mode, no options, as older phone loads send it).
pub fn tftp_rrq(file: &str) -> Result<Vec<u8>, EmitError> {
    TftpPacket::ReadRequest(TftpRequest {
        filename: file.as_bytes(),
        mode: b"octet",
        options: TftpOptions(Vec::new()),
    })
    .to_vec()
}

/// A TFTP error.
pub fn tftp_error(code: u16, message: &str) -> Result<Vec<u8>, EmitError> {
    TftpPacket::Error {
        code: TftpErrorCode(code),
        message: message.as_bytes(),
    }
    .to_vec()
}

/// A TFTP data block.
pub fn tftp_data(block: u16, data: &[u8]) -> Result<Vec<u8>, EmitError> {
    TftpPacket::Data { block, data }.to_vec()
}

/// A TFTP acknowledgement.
pub fn tftp_ack(block: u16) -> Result<Vec<u8>, EmitError> {
    TftpPacket::Ack { block }.to_vec()
}

/// The device configuration: the call-manager group in priority order and the load.
pub fn config_xml(cms: &[CallManager], load: &str) -> String {
    config_xml_in(cms, load, None)
}

/// [`config_xml`] naming each call manager's node `<name>.<domain>` rather than by its
/// address when `domain` is given: the phone then looks the names up in DNS.
pub fn config_xml_in(cms: &[CallManager], load: &str, domain: Option<&str>) -> String {
    config_xml_with(cms, load, domain, &ConfigExtras::default())
}

/// What a configuration may carry besides its call managers and load, each written only
/// when set (a configuration without them is byte for byte [`config_xml_in`]'s).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigExtras {
    /// The SRST router of `srstInfo` (SCCP 2000, SIP 5060), in the device pool after the
    /// call-manager group, as Unified CM writes it (`srstOption` "User Specific").
    pub srst: Option<Ipv4Addr>,
    /// `deviceSecurityMode` (1, 2, 3), with a `<TVS>` member (the first call manager,
    /// port 2445) as a secure cluster's configurations name one (Cisco technote 116232).
    pub security_mode: Option<u8>,
}

/// [`config_xml_in`] with the `extras` set.
pub fn config_xml_with(
    cms: &[CallManager],
    load: &str,
    domain: Option<&str>,
    extras: &ConfigExtras,
) -> String {
    let node = |cm: &CallManager| match domain {
        Some(d) => format!("{}.{d}", cm.name),
        None => cm.ip.to_string(),
    };
    let srst = extras.srst.map_or(String::new(), |ip| {
        format!(
            "<srstInfo><name>SRST</name><srstOption>User Specific</srstOption>\
             <ipAddr1>{ip}</ipAddr1><port1>2000</port1>\
             <sipIpAddr1>{ip}</sipIpAddr1><sipPort1>5060</sipPort1>\
             <isSecure>false</isSecure></srstInfo>"
        )
    });
    let security = match (extras.security_mode, cms.first()) {
        (Some(m), Some(first)) => format!(
            "<deviceSecurityMode>{m}</deviceSecurityMode><TVS><members><member priority=\"0\">\
             <port>2445</port><address>{}</address></member></members></TVS>",
            node(first)
        ),
        (Some(m), None) => format!("<deviceSecurityMode>{m}</deviceSecurityMode>"),
        _ => String::new(),
    };
    let xml = config_xml_plain(cms, load, domain);
    // The extras go where Unified CM writes them: `srstInfo` in the device pool, the
    // security elements after the load.
    xml.replacen("</devicePool>", &format!("{srst}</devicePool>"), 1)
        .replacen(
            "</loadInformation>",
            &format!("</loadInformation>{security}"),
            1,
        )
}

fn config_xml_plain(cms: &[CallManager], load: &str, domain: Option<&str>) -> String {
    let mut members = String::new();
    for (i, cm) in cms.iter().enumerate() {
        let node = match domain {
            Some(d) => format!("{}.{d}", cm.name),
            None => cm.ip.to_string(),
        };
        members.push_str(&format!(
            "<member priority=\"{i}\"><callManager><name>{}</name><ports>\
             <ethernetPhonePort>2000</ethernetPhonePort><sipPort>5060</sipPort>\
             <securedSipPort>5061</securedSipPort></ports>\
             <processNodeName>{node}</processNodeName></callManager></member>",
            cm.name
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<device>\
         <deviceProtocol>SCCP</deviceProtocol>\
         <devicePool><callManagerGroup><members>{members}</members></callManagerGroup>\
         </devicePool><loadInformation>{load}</loadInformation>\
         <commonProfile><phonePassword></phonePassword></commonProfile>\
         <vendorConfig><webAccess>0</webAccess></vendorConfig></device>\n"
    )
}

/// The 7940/7960 dual-boot file `OS79XX.TXT`: one line, the image the phone is to run
/// (Cisco IP Phone 7960 and 7940 Firmware Upgrade Matrix, "Original Boot Mechanism").
pub fn os79xx_txt(image: &str) -> String {
    format!("{image}\n")
}

/// A 7940/7960 SIP load's `SIPDefault.cnf`: the image it is to run and the proxies (the
/// call managers), in the `name: value` lines of the Cisco SIP IP Phone Administrator
/// Guide.
pub fn sip_default_cnf(cms: &[CallManager], image: &str) -> String {
    let mut text = format!("image_version: \"{image}\"\n");
    for (i, cm) in cms.iter().enumerate() {
        text.push_str(&format!(
            "proxy{n}_address: \"{}\"\nproxy{n}_port: 5060\n",
            cm.ip,
            n = i + 1
        ));
    }
    text.push_str(
        "proxy_register: 1\ntimer_register_expires: 3600\nnat_enable: 0\n\
         voip_control_port: 5060\ndial_template: \"dialplan\"\ntelnet_level: 0\n",
    );
    text
}

/// A 7940/7960 SIP load's own `SIP<MAC>.cnf`: its line and label.
pub fn sip_phone_cnf(name: &str, mac: MacAddr) -> String {
    let dn = directory_number(mac);
    format!(
        "line1_name: \"{dn}\"\nline1_authname: \"{dn}\"\nline1_shortname: \"{dn}\"\n\
         line1_displayname: \"{name}\"\nphone_label: \"{dn}\"\n"
    )
}

/// `body` as the TFTP server signs it (`.sgn`): a signature header, then the file. The
/// header here is a stand-in of the right order of size (the signer's name and 128 bytes of
/// signature, length-prefixed), not the real layout: nothing in bootscope reads it.
pub fn signed(body: &[u8], signer: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 160 + signer.len());
    let header = 4 + 2 + signer.len() + 128;
    out.extend_from_slice(&[0x01, 0x02]);
    out.extend_from_slice(&u16::try_from(header).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&u16::try_from(signer.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(signer.as_bytes());
    out.extend((0..128u32).map(|k| (k.wrapping_mul(97) ^ 0x5a) as u8));
    out.extend_from_slice(body);
    out
}

/// `body` encrypted for the phone (`.enc.sgn`, before signing): bytes that read as noise, the
/// length of the body. A keyed scramble, not the real cipher: nothing in bootscope reads it.
pub fn encrypted(body: &[u8], key: MacAddr) -> Vec<u8> {
    let k = key.0;
    let mut x = u64::from_be_bytes([0, 0, k[0], k[1], k[2], k[3], k[4], k[5]]);
    body.iter()
        .map(|b| {
            x = x
                .wrapping_mul(0x5851_f42d_4c95_7f2d)
                .wrapping_add(0x1405_7b7e_f767_814f);
            b ^ (x >> 56) as u8
        })
        .collect()
}

/// The server's failure to answer [`dns_a_query`] with `rcode` (2 SERVFAIL, 3 NXDOMAIN):
/// the question and no record.
pub fn dns_a_failure(id: u16, name: &str, rcode: u8) -> Result<Vec<u8>, EmitError> {
    dns_a_question(id, name, true, DnsRcode(rcode))
}

/// A DNS message of one A question for `name` and no record: a query, or an answer
/// (`response`) with `rcode`.
fn dns_a_question(
    id: u16,
    name: &str,
    response: bool,
    rcode: DnsRcode,
) -> Result<Vec<u8>, EmitError> {
    let wire = dns_wire_name(name);
    let qname = DnsName::uncompressed(&wire).map_err(|_| not_a_name())?;
    DnsMessage {
        header: dns_header(id, response, rcode),
        questions: vec![DnsQuestion {
            name: qname,
            qtype: DnsType::A,
            qclass: DnsClass::IN,
        }],
        answers: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
    }
    .to_vec()
}

/// A DNS A query (background traffic).
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(u8::try_from(label.len()).unwrap_or(63).min(63));
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A name in uncompressed wire form (labels longer than 63 bytes are cut).
fn dns_wire_name(name: &str) -> Vec<u8> {
    let mut w = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        w.push(l.len() as u8);
        w.extend_from_slice(l);
    }
    w.push(0);
    w
}

/// A phone's DNS A lookup of `name` (recursion desired), through the DNS emitter.
pub fn dns_a_query(id: u16, name: &str) -> Result<Vec<u8>, EmitError> {
    dns_a_question(id, name, false, DnsRcode::NOERROR)
}

/// The server's answer to [`dns_a_query`]: one A record per address (TTL an hour),
/// or "No such name" (NXDOMAIN) when there is none.
pub fn dns_a_answer(id: u16, name: &str, addrs: &[Ipv4Addr]) -> Result<Vec<u8>, EmitError> {
    let wire = dns_wire_name(name);
    let qname = DnsName::uncompressed(&wire).map_err(|_| not_a_name())?;
    let rcode = if addrs.is_empty() {
        DnsRcode::NXDOMAIN
    } else {
        DnsRcode::NOERROR
    };
    DnsMessage {
        header: dns_header(id, true, rcode),
        questions: vec![DnsQuestion {
            name: qname,
            qtype: DnsType::A,
            qclass: DnsClass::IN,
        }],
        answers: addrs
            .iter()
            .map(|a| DnsRecord {
                name: qname,
                rtype: DnsType::A,
                class: DnsClass::IN,
                ttl: 3600,
                rdata: DnsRdata::A(*a),
            })
            .collect(),
        authority: Vec::new(),
        additional: Vec::new(),
    }
    .to_vec()
}

fn not_a_name() -> EmitError {
    EmitError::Unrepresentable {
        proto: parsers::Proto::Dns,
        field: "name",
        reason: "not a DNS name",
    }
}

fn dns_header(id: u16, response: bool, rcode: DnsRcode) -> DnsHeader {
    DnsHeader {
        id,
        response,
        opcode: DnsOpcode::QUERY,
        authoritative: false,
        truncated: false,
        recursion_desired: true,
        recursion_available: response,
        z: 0,
        rcode,
    }
}

/// An ARP packet (Ethernet / IPv4) through the ARP emitter: opcode 1 (request) or 2
/// (reply), sender and target MAC and address.
pub fn arp(
    opcode: u16,
    sender: (MacAddr, Ipv4Addr),
    target: (MacAddr, Ipv4Addr),
) -> Result<Vec<u8>, EmitError> {
    ArpPacket {
        hardware: ArpHardware::ETHERNET,
        protocol: ArpProtocol::IPV4,
        opcode: ArpOpcode(opcode),
        sender_mac: sender.0 .0,
        sender_ip: sender.1,
        target_mac: target.0 .0,
        target_ip: target.1,
    }
    .to_vec()
}

/// An ICMP destination unreachable of `code` (3: port, 1: host, 13: administratively
/// prohibited) answering a packet `src:sport → dst:dport` of IP protocol `protocol`
/// (17 UDP, 6 TCP) whose transport header and payload are `len` bytes: the quote is
/// the packet's IP header and its first 8 transport bytes (RFC 792) — the ports, then
/// for UDP its length and no checksum, for TCP `seq` — through the ICMP emitter,
/// checksum computed.
pub fn icmp_unreachable(
    code: u8,
    packet: (Ipv4Addr, u16, Ipv4Addr, u16),
    protocol: u8,
    len: usize,
    seq: u32,
) -> Result<Vec<u8>, EmitError> {
    let (src, sport, dst, dport) = packet;
    let mut raw = super::wire::ipv4_header(src, dst, protocol, len);
    raw.extend_from_slice(&sport.to_be_bytes());
    raw.extend_from_slice(&dport.to_be_bytes());
    if protocol == 6 {
        raw.extend_from_slice(&seq.to_be_bytes());
    } else {
        raw.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        raw.extend_from_slice(&[0, 0]);
    }
    let quoted = Quoted {
        src: src.into(),
        dst: dst.into(),
        protocol,
        transport: &raw[20..],
        raw: &raw,
    };
    let mut msg = IcmpMessage {
        version: IcmpVersion::V4,
        icmp_type: 3,
        code,
        checksum: 0,
        rest: [0; 4],
        body: IcmpBody::Error {
            quoted,
            extensions: &[],
        },
    };
    let unsummed = msg.to_vec()?;
    msg.checksum = super::wire::internet_checksum(&unsummed);
    msg.to_vec()
}

/// The SCCP device type of a phone model (7970 when the model is not listed), as
/// Wireshark's SCCP dissector names them.
fn sccp_device_type(model: &str) -> SccpDeviceType {
    SccpDeviceType(match model {
        "7941" => 115,
        "7911" => 307,
        "7962" => 404,
        "7937" => 431,
        "6921" => 495,
        "6941" => 496,
        "6961" => 497,
        "7942" => 434,
        "7945" => 435,
        "7965" => 436,
        "7975" => 437,
        "8945" => 585,
        "8941" => 586,
        _ => 30006,
    })
}

fn sccp(id: SccpMessageId, body: SccpBody<'_>) -> Result<Vec<u8>, EmitError> {
    SccpMessage::new(SccpHeaderVersion(0), id, body).to_vec()
}

/// SCCP RegisterReq in the long form a 79xx sends: name, station IP, type, protocol
/// version, MAC and load.
pub fn sccp_register(
    name: &str,
    ip: Ipv4Addr,
    mac: MacAddr,
    model: &str,
    load: &str,
) -> Result<Vec<u8>, EmitError> {
    sccp(
        SccpMessageId::REGISTER_REQ,
        SccpBody::RegisterReq(SccpRegisterReq {
            device_name: name.as_bytes(),
            reserved: 0,
            instance: 1,
            station_ip: ip,
            device_type: sccp_device_type(model),
            max_streams: 5,
            active_streams: Some(0),
            protocol_version: Some(20),
            unknown: Some(0),
            phone_features: Some(0x8572),
            max_conferences: Some(0),
            active_conferences: Some(0),
            mac: Some(mac.0),
            ipv4_scope: Some(0),
            max_lines: Some(6),
            station_ipv6: Some(std::net::Ipv6Addr::UNSPECIFIED),
            ipv6_scope: Some(0),
            firmware: Some(load.as_bytes()),
            config_version_stamp: None,
        }),
    )
}

/// SCCP Alarm "Name=… Load=… Last=…": the phone's own account of its last failure.
pub fn sccp_alarm(name: &str, load: &str, last: &str) -> Result<Vec<u8>, EmitError> {
    let text = format!("Name={name} Load={load} Last={last}");
    sccp(
        SccpMessageId::ALARM,
        SccpBody::Alarm(SccpAlarm {
            severity: SccpAlarmSeverity::INFORMATIONAL,
            text: text.as_bytes(),
            param1: 0,
            param2: 0,
        }),
    )
}

/// SCCP RegisterAck: keepalive 30 s, secondary 60 s.
pub fn sccp_register_ack() -> Result<Vec<u8>, EmitError> {
    sccp(
        SccpMessageId::REGISTER_ACK,
        SccpBody::RegisterAck(SccpRegisterAck {
            keepalive: 30,
            date_template: b"M/D/Y",
            secondary_keepalive: 60,
            max_protocol_version: Some(20),
            unknown: Some(0),
            phone_features: Some(0),
        }),
    )
}

/// SCCP RegisterReject with its text.
pub fn sccp_register_reject(text: &str) -> Result<Vec<u8>, EmitError> {
    sccp(
        SccpMessageId::REGISTER_REJECT,
        SccpBody::RegisterReject {
            text: text.as_bytes(),
        },
    )
}

/// SCCP KeepAliveReq.
pub fn sccp_keepalive() -> Result<Vec<u8>, EmitError> {
    sccp(SccpMessageId::KEEP_ALIVE_REQ, SccpBody::KeepAliveReq)
}

/// SCCP KeepAliveAck.
pub fn sccp_keepalive_ack() -> Result<Vec<u8>, EmitError> {
    sccp(SccpMessageId::KEEP_ALIVE_ACK, SccpBody::KeepAliveAck)
}

/// The `+u.sip!model` value CUCM uses for a phone model (the 7960's 7 as one sends it;
/// 7940, 9951: their SCCP device types).
fn sip_model_id(model: &str) -> &'static str {
    match model {
        "8811" => "36217",
        "8841" => "36214",
        "9971" => "493",
        "9951" => "537",
        "7841" => "621",
        "7960" => "7",
        "7940" => "8",
        _ => "684",
    }
}

/// The directory number the model gives a phone: 1000 to 9999, from its MAC.
pub fn directory_number(mac: MacAddr) -> u32 {
    1000 + u32::from(u16::from_be_bytes([mac.0[4], mac.0[5]])) % 9000
}

/// What a phone's REGISTER and its answers share.
struct SipDialog {
    via: String,
    from: String,
    to: String,
    call_id: String,
    cseq: String,
    contact: String,
}

#[allow(clippy::too_many_arguments)]
fn sip_dialog(
    name: &str,
    mac: MacAddr,
    model: &str,
    ip: Ipv4Addr,
    port: u16,
    cm: Ipv4Addr,
    transport: SipTransport,
    cseq: u32,
) -> SipDialog {
    let hex = mac.to_sep_hex().to_ascii_lowercase();
    let dn = directory_number(mac);
    let t = match transport {
        SipTransport::Udp => "UDP",
        SipTransport::Tcp => "TCP",
    };
    SipDialog {
        via: format!("SIP/2.0/{t} {ip}:{port};branch=z9hG4bK{hex}{cseq:04x}"),
        from: format!("<sip:{dn}@{cm}>;tag={hex}0001"),
        to: format!("<sip:{dn}@{cm}>"),
        call_id: format!("{hex}-00000001@{ip}"),
        cseq: format!("{cseq} REGISTER"),
        contact: format!(
            "<sip:{dn}@{ip}:{port};transport={}>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-{hex}>\";\
             +u.sip!devicename.ccm.cisco.com=\"{name}\";+u.sip!model.ccm.cisco.com=\"{}\"",
            t.to_ascii_lowercase(),
            sip_model_id(model)
        ),
    }
}

/// A Cisco phone's REGISTER (Expires 3600), User-Agent `Cisco-CP<model>/<load>`.
#[allow(clippy::too_many_arguments)]
pub fn sip_register(
    name: &str,
    mac: MacAddr,
    model: &str,
    load: &str,
    ip: Ipv4Addr,
    port: u16,
    cm: Ipv4Addr,
    transport: SipTransport,
    cseq: u32,
    authorized: bool,
) -> Result<Vec<u8>, EmitError> {
    let agent = Registrant {
        name,
        mac,
        model,
        user_agent: &format!("Cisco-CP{model}/{load}"),
        legacy_contact: false,
    };
    sip_register_as(&agent, ip, port, cm, transport, cseq, authorized)
}

/// Who sends a REGISTER, as it names itself.
#[derive(Debug, Clone, Copy)]
pub struct Registrant<'a> {
    /// Its device name, `SEP<MAC>`.
    pub name: &'a str,
    /// Its MAC.
    pub mac: MacAddr,
    /// Its model number.
    pub model: &'a str,
    /// The whole User-Agent header.
    pub user_agent: &'a str,
    /// The Contact of the 7940/7960 SIP loads: `user=phone`, the MAC in `+sip.instance`,
    /// the model id, no device name (as a 7960 on SIP 8.12 sends it).
    pub legacy_contact: bool,
}

/// A REGISTER from `agent` (Expires 3600).
pub fn sip_register_as(
    agent: &Registrant<'_>,
    ip: Ipv4Addr,
    port: u16,
    cm: Ipv4Addr,
    transport: SipTransport,
    cseq: u32,
    authorized: bool,
) -> Result<Vec<u8>, EmitError> {
    sip_register_for(agent, ip, port, cm, transport, cseq, authorized, 3600, None)
}

/// A REGISTER from `agent` asking for `expires` seconds; after a failure, its `Reason`
/// tells the phone's last one (`SIP;cause=200;text="cisco-alarm:14 Name=… Last=…"`, as
/// Cisco phones send it on the REGISTER that follows).
#[allow(clippy::too_many_arguments)]
pub fn sip_register_for(
    agent: &Registrant<'_>,
    ip: Ipv4Addr,
    port: u16,
    cm: Ipv4Addr,
    transport: SipTransport,
    cseq: u32,
    authorized: bool,
    expires: u32,
    last: Option<&str>,
) -> Result<Vec<u8>, EmitError> {
    let expires = expires.to_string();
    let Registrant {
        name, mac, model, ..
    } = *agent;
    let mut d = sip_dialog(name, mac, model, ip, port, cm, transport, cseq);
    if agent.legacy_contact {
        let t = match transport {
            SipTransport::Udp => "udp",
            SipTransport::Tcp => "tcp",
        };
        d.contact = format!(
            "<sip:{}@{ip}:{port};user=phone;transport={t}>;\
             +sip.instance=\"<urn:uuid:00000000-0000-0000-0000-{}>\";\
             +u.sip!model.ccm.cisco.com=\"{}\"",
            directory_number(mac),
            mac.to_sep_hex().to_ascii_lowercase(),
            sip_model_id(model)
        );
    }
    let uri = format!("sip:{cm}");
    let ua = agent.user_agent;
    // After a 401 the phone answers the challenge (the nonce is the one
    // `sip_challenge` sent for the previous CSeq).
    let auth = format!(
        "Digest username=\"{name}\", realm=\"ccmsipline\", uri=\"{uri}\", \
         nonce=\"{}{:08x}\", response=\"{:032x}\", algorithm=MD5",
        mac.to_sep_hex().to_ascii_lowercase(),
        cseq.saturating_sub(1),
        u128::from(cseq) * 0x9e37_79b9_7f4a_7c15
    );
    let mut headers: Vec<(&str, &str)> = vec![
        ("Via", &d.via),
        ("From", &d.from),
        ("To", &d.to),
        ("Call-ID", &d.call_id),
        ("Max-Forwards", "70"),
        ("CSeq", &d.cseq),
        ("User-Agent", ua),
        ("Contact", &d.contact),
    ];
    if authorized {
        headers.push(("Authorization", &auth));
    }
    let reason =
        last.map(|l| format!("SIP;cause=200;text=\"cisco-alarm:14 Name={name} Last={l}\""));
    if let Some(r) = &reason {
        headers.push(("Reason", r));
    }
    headers.extend([
        (
            "Supported",
            "replaces,join,sdp-anat,norefersub,resource-priority,X-cisco-serviceuri",
        ),
        ("Expires", &expires),
        ("Content-Length", "0"),
    ]);
    SipMessage::from_parts(
        SipStartLine::Request {
            method: SipMethod::REGISTER,
            uri: &uri,
            version: "SIP/2.0",
        },
        &headers,
        b"",
    )
    .to_vec()
}

/// The call manager's answer to a REGISTER: 200 (Expires 120), 401 with a digest
/// challenge, or another code.
pub fn sip_response(
    code: u16,
    name: &str,
    mac: MacAddr,
    ip: Ipv4Addr,
    port: u16,
    transport: SipTransport,
    cseq: u32,
) -> Result<Vec<u8>, EmitError> {
    sip_response_with(code, name, mac, ip, port, transport, cseq, &[])
}

/// The call manager's answer to a REGISTER with `extra` headers (a 423's
/// `Min-Expires`); 423 reads "Interval Too Brief".
#[allow(clippy::too_many_arguments)]
pub fn sip_response_with(
    code: u16,
    name: &str,
    mac: MacAddr,
    ip: Ipv4Addr,
    port: u16,
    transport: SipTransport,
    cseq: u32,
    extra: &[(&str, &str)],
) -> Result<Vec<u8>, EmitError> {
    sip_response_warning(code, name, mac, ip, port, transport, cseq, (extra, None))
}

/// The call manager's refusal of a REGISTER over a security mismatch: the phone's
/// security profile wants TLS, the phone came on the plain port. CUCM answers
/// `403 Forbidden` with `Warning: 399 <host> "Device security mismatch"`.
pub fn sip_security_mismatch(
    name: &str,
    mac: MacAddr,
    ip: Ipv4Addr,
    port: u16,
    transport: SipTransport,
    cseq: u32,
    host: &str,
) -> Result<Vec<u8>, EmitError> {
    let warning = format!("399 {host} \"Device security mismatch\"");
    sip_response_warning(
        403,
        name,
        mac,
        ip,
        port,
        transport,
        cseq,
        (&[], Some(&warning)),
    )
}

#[allow(clippy::too_many_arguments)]
fn sip_response_warning(
    code: u16,
    name: &str,
    mac: MacAddr,
    ip: Ipv4Addr,
    port: u16,
    transport: SipTransport,
    cseq: u32,
    (extra, warning): (&[(&str, &str)], Option<&str>),
) -> Result<Vec<u8>, EmitError> {
    let d = sip_dialog(
        name,
        mac,
        "",
        ip,
        port,
        Ipv4Addr::UNSPECIFIED,
        transport,
        cseq,
    );
    let to = format!("{};tag=cucm{}", d.to, mac.to_sep_hex().to_ascii_lowercase());
    let reason = match code {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        403 => "Forbidden",
        423 => "Interval Too Brief",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let contact = format!("{};expires=120", d.contact);
    let challenge = format!(
        "Digest realm=\"ccmsipline\", nonce=\"{}{cseq:08x}\", algorithm=MD5",
        mac.to_sep_hex().to_ascii_lowercase()
    );
    let mut headers: Vec<(&str, &str)> = vec![
        ("Via", &d.via),
        ("From", &d.from),
        ("To", &to),
        ("Call-ID", &d.call_id),
        ("CSeq", &d.cseq),
    ];
    if code == 401 {
        headers.push(("WWW-Authenticate", &challenge));
    }
    headers.push(("Server", "Cisco-CUCM14.0"));
    headers.extend_from_slice(extra);
    if code == 200 {
        headers.push(("Contact", &contact));
        headers.push(("Expires", "120"));
    }
    if let Some(w) = warning {
        headers.push(("Warning", w));
    }
    headers.push(("Content-Length", "0"));
    SipMessage::from_parts(
        SipStartLine::Response {
            version: "SIP/2.0",
            code,
            reason,
        },
        &headers,
        b"",
    )
    .to_vec()
}

const HTTP_1_1: HttpVersion = HttpVersion { major: 1, minor: 1 };

/// A newer phone's `GET /<file>` on TCP 6970 (User-Agent `Cisco-CP8851`).
pub fn http_get(file: &str, host: &str) -> Result<Vec<u8>, EmitError> {
    http_get_as(file, host, "Cisco-CP8851")
}

/// [`http_get`] with the User-Agent of another model.
pub fn http_get_as(file: &str, host: &str, agent: &str) -> Result<Vec<u8>, EmitError> {
    let target = format!("/{file}");
    HttpMessage::from_parts(
        HttpStartLine::Request {
            method: "GET",
            target: target.as_bytes(),
            version: HTTP_1_1,
        },
        &[
            ("Host", host.as_bytes()),
            ("User-Agent", agent.as_bytes()),
            ("Connection", b"Keep-Alive"),
        ],
        None,
    )
    .to_vec()
}

/// The TFTP server's HTTP answer: 200 with the body, or 404.
pub fn http_response(body: Option<&[u8]>) -> Result<Vec<u8>, EmitError> {
    let len = body.map_or(0, <[u8]>::len).to_string();
    let (status, reason): (u16, &[u8]) = match body {
        Some(_) => (200, b"OK"),
        None => (404, b"Not Found"),
    };
    HttpMessage::from_parts(
        HttpStartLine::Response {
            version: HTTP_1_1,
            status,
            reason,
        },
        &[
            ("Content-Type", b"text/xml"),
            ("Content-Length", len.as_bytes()),
        ],
        Some(body.unwrap_or_default()),
    )
    .to_vec()
}

/// CUCM's digest challenge to a first REGISTER (a 401 with WWW-Authenticate).
pub fn sip_challenge(
    name: &str,
    mac: MacAddr,
    ip: Ipv4Addr,
    port: u16,
    transport: SipTransport,
    cseq: u32,
) -> Result<Vec<u8>, EmitError> {
    sip_response(401, name, mac, ip, port, transport, cseq)
}

/// One EAPOL PDU of an 802.1X exchange, as a phone and its switch port send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eapol<'a> {
    /// The phone's EAPOL-Start.
    Start,
    /// The switch port's EAP Request/Identity.
    RequestIdentity,
    /// The phone's EAP Response/Identity.
    ResponseIdentity(&'a str),
    /// An EAP-TLS Request (the server's records; `start` for the first, empty one).
    TlsRequest {
        /// The S flag: the server starts EAP-TLS.
        start: bool,
        /// TLS records.
        data: &'a [u8],
    },
    /// The phone's EAP-TLS Response.
    TlsResponse(&'a [u8]),
    /// EAP-Success.
    Success,
    /// EAP-Failure.
    Failure,
}

/// An EAPOL PDU (802.1X-2004, version 2), its EAP identifier `id`.
pub fn eapol(pdu: Eapol<'_>, id: u8) -> Result<Vec<u8>, EmitError> {
    use parsers::eapol::{
        EapBody, EapCode, EapData, EapMessage, EapPacket, EapTls, EapType, EapolBody, EapolPdu,
        EapolType, TlsFlags,
    };
    let packet = |code, body| EapolPdu {
        version: 2,
        packet_type: EapolType::EAP_PACKET,
        body: EapolBody::Eap(EapPacket {
            code,
            identifier: id,
            body,
        }),
    };
    let typed = |eap_type, data| EapBody::Typed(EapMessage { eap_type, data });
    let tls = |start: bool, data| {
        EapData::Tls(EapTls {
            flags: TlsFlags(if start { TlsFlags::START.0 } else { 0 }),
            message_length: None,
            data,
        })
    };
    match pdu {
        Eapol::Start => EapolPdu {
            version: 2,
            packet_type: EapolType::START,
            body: EapolBody::Raw(&[]),
        },
        Eapol::RequestIdentity => packet(
            EapCode::REQUEST,
            typed(EapType::IDENTITY, EapData::Identity(&[])),
        ),
        Eapol::ResponseIdentity(who) => packet(
            EapCode::RESPONSE,
            typed(EapType::IDENTITY, EapData::Identity(who.as_bytes())),
        ),
        Eapol::TlsRequest { start, data } => {
            packet(EapCode::REQUEST, typed(EapType::TLS, tls(start, data)))
        }
        Eapol::TlsResponse(data) => {
            packet(EapCode::RESPONSE, typed(EapType::TLS, tls(false, data)))
        }
        Eapol::Success => packet(EapCode::SUCCESS, EapBody::Raw(&[])),
        Eapol::Failure => packet(EapCode::FAILURE, EapBody::Raw(&[])),
    }
    .to_vec()
}

/// The bytes a model TLS session fills what it cannot show with (randoms, the
/// certificate, keys, MACs, ciphertext): `n` bytes counted from `seed`. The first is
/// at least 0x80, so a ciphertext never frames as a handshake message in clear.
pub fn tls_filler(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|k| {
            let b = seed
                .wrapping_mul(31)
                .wrapping_add((k as u8).wrapping_mul(17));
            if k == 0 {
                b | 0x80
            } else {
                b
            }
        })
        .collect()
}

fn tls_record(
    content_type: tls::TlsContentType,
    body: tls::TlsBody<'_>,
) -> Result<Vec<u8>, EmitError> {
    tls::TlsRecord {
        content_type,
        version: tls::TlsVersion::TLS_1_2,
        body,
    }
    .to_vec()
}

/// The phone's ClientHello (TLS 1.2): the suites it offers, the call manager's name
/// as server name when it has one.
pub fn tls_client_hello(server_name: Option<&str>, suites: &[u16]) -> Result<Vec<u8>, EmitError> {
    let random = tls_filler(1, tls::RANDOM_LEN);
    let sni = server_name.map(|n| {
        let mut d = Vec::new();
        d.extend_from_slice(&u16::try_from(n.len() + 3).unwrap_or(0).to_be_bytes());
        d.push(0);
        d.extend_from_slice(&u16::try_from(n.len()).unwrap_or(0).to_be_bytes());
        d.extend_from_slice(n.as_bytes());
        d
    });
    let extensions = sni.as_deref().map(|data| {
        vec![tls::TlsExtension {
            kind: tls::TlsExtensionType::SERVER_NAME,
            data,
        }]
    });
    tls::TlsRecord {
        content_type: tls::TlsContentType::HANDSHAKE,
        version: tls::TlsVersion::TLS_1_0,
        body: tls::TlsBody::Handshake(vec![tls::TlsHandshake::ClientHello(tls::TlsClientHello {
            version: tls::TlsVersion::TLS_1_2,
            random: &random,
            session_id: &[],
            cipher_suites: suites.iter().copied().map(tls::TlsCipherSuite).collect(),
            compression_methods: &[0],
            extensions,
        })]),
    }
    .to_vec()
}

/// The call manager's CallManager certificate and a phone's LSC, as the model's
/// handshakes carry them (self-signed, invented names: `src/model/certs/README.md`).
const CM_CERTIFICATE: &[u8] = include_bytes!("certs/cucm-sub1.der");
const PHONE_CERTIFICATE: &[u8] = include_bytes!("certs/phone-lsc.der");

/// The call manager's first flight: ServerHello choosing `suite`, its Certificate,
/// CertificateRequest (RSA or ECDSA signing, SHA-256, for the phone's LSC or MIC) and
/// ServerHelloDone, in one record.
pub fn tls_server_flight(suite: u16) -> Result<Vec<u8>, EmitError> {
    let random = tls_filler(2, tls::RANDOM_LEN);
    tls::TlsRecord {
        content_type: tls::TlsContentType::HANDSHAKE,
        version: tls::TlsVersion::TLS_1_2,
        body: tls::TlsBody::Handshake(vec![
            tls::TlsHandshake::ServerHello(tls::TlsServerHello {
                version: tls::TlsVersion::TLS_1_2,
                random: &random,
                session_id: &[],
                cipher_suite: tls::TlsCipherSuite(suite),
                compression_method: 0,
                extensions: None,
            }),
            tls::TlsHandshake::Certificate(vec![CM_CERTIFICATE]),
            tls::TlsHandshake::Other {
                kind: tls::TlsHandshakeType::CERTIFICATE_REQUEST,
                // Types rsa_sign, ecdsa_sign; algorithms sha256/rsa, sha256/ecdsa; no
                // authorities named.
                body: &[2, 1, 64, 0, 4, 4, 1, 4, 3, 0, 0],
            },
            tls::TlsHandshake::Other {
                kind: tls::TlsHandshakeType::SERVER_HELLO_DONE,
                body: &[],
            },
        ]),
    }
    .to_vec()
}

/// One side's end of the handshake: (the phone's Certificate and ClientKeyExchange
/// first, when `client`), ChangeCipherSpec, then Finished: in clear followed by a
/// `mac_len`-byte MAC under a NULL suite (`Some`), else ciphertext.
pub fn tls_finish(client: bool, mac_len: Option<usize>) -> Result<Vec<u8>, EmitError> {
    let mut out = Vec::new();
    if client {
        // RSA key exchange: the encrypted premaster secret behind its 2-byte length.
        let mut key = vec![0, 128];
        key.extend(tls_filler(5, 128));
        out.extend(tls_record(
            tls::TlsContentType::HANDSHAKE,
            tls::TlsBody::Handshake(vec![
                tls::TlsHandshake::Certificate(vec![PHONE_CERTIFICATE]),
                tls::TlsHandshake::Other {
                    kind: tls::TlsHandshakeType::CLIENT_KEY_EXCHANGE,
                    body: &key,
                },
            ]),
        )?);
    }
    out.extend(tls_record(
        tls::TlsContentType::CHANGE_CIPHER_SPEC,
        tls::TlsBody::ChangeCipherSpec(1),
    )?);
    let finished = match mac_len {
        Some(mac) => {
            let mut f = vec![20, 0, 0, 12];
            f.extend(tls_filler(6 + u8::from(client), 12));
            f.extend(tls_filler(8, mac));
            f
        }
        None => tls_filler(9 + u8::from(client), 48),
    };
    out.extend(tls_record(
        tls::TlsContentType::HANDSHAKE,
        tls::TlsBody::Opaque(&finished),
    )?);
    Ok(out)
}

/// An application data record: `plaintext` and a `mac_len`-byte MAC under a NULL
/// suite (`Some`), else `len` bytes of ciphertext standing for it.
pub fn tls_app_data(plaintext: &[u8], mac_len: Option<usize>) -> Result<Vec<u8>, EmitError> {
    let data = match mac_len {
        Some(mac) => {
            let mut d = plaintext.to_vec();
            d.extend(tls_filler(11, mac));
            d
        }
        // A CBC record: the IV, the text and its MAC padded to 16 bytes.
        None => tls_filler(12, 16 + (plaintext.len() + 20 + 16) / 16 * 16),
    };
    tls::TlsRecord {
        content_type: tls::TlsContentType::APPLICATION_DATA,
        version: tls::TlsVersion::TLS_1_2,
        body: tls::TlsBody::ApplicationData(&data),
    }
    .to_vec()
}

/// A fatal alert in clear (`description`: 40 handshake failure, 42 bad certificate,
/// 48 unknown CA...).
pub fn tls_fatal_alert(description: u8) -> Result<Vec<u8>, EmitError> {
    tls::TlsRecord {
        content_type: tls::TlsContentType::ALERT,
        version: tls::TlsVersion::TLS_1_2,
        body: tls::TlsBody::Alert {
            level: tls::TlsAlertLevel::FATAL,
            description: tls::TlsAlertDescription(description),
        },
    }
    .to_vec()
}
