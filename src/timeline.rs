//! Events: what the engine keeps of a dissected message once the packet is gone.
//! An [`Event`] owns only what the rules and the report need (a file name, an
//! address, a reject reason), carries its frame number and capture time, and lands
//! on one device's [`Timeline`]. [`EventType`] is its fieldless mirror: the names
//! rule files count and cite as evidence.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use rules::Stage;

/// Timeline entries kept per device; past it only counters grow (a phone that loops
/// for an hour must not grow without bound).
pub const MAX_TIMELINE: usize = 400;

/// How a file travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTransport {
    /// TFTP (UDP 69 and the server's transfer port).
    Tftp,
    /// HTTP on TCP 6970.
    Http,
}

/// Which signalling protocol a registration used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signalling {
    /// Skinny, TCP 2000 (2443 over TLS).
    Sccp,
    /// SIP, UDP/TCP 5060 (5061 over TLS).
    Sip,
}

impl Signalling {
    /// Lower-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Signalling::Sccp => "sccp",
            Signalling::Sip => "sip",
        }
    }
}

/// What DHCP said about TFTP servers in an ACK.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TftpOffer {
    /// Usable servers: option 150 addresses, or option 66 when it is an address.
    pub servers: Vec<Ipv4Addr>,
    /// Option 150 sent as text (`"10.1.1.5"`): the phone reads bogus addresses.
    pub option150_ascii: Option<Box<str>>,
    /// Option 66 as sent (a name or an address).
    pub option66: Option<Box<str>>,
}

/// One thing that happened to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The phone's own CDP or LLDP-MED: it is up and announcing itself.
    PhoneAnnounce {
        /// "CDP" or "LLDP".
        proto: &'static str,
        /// The address it announces: a phone with one is already up, not booting.
        ip: Option<Ipv4Addr>,
    },
    /// The switch's CDP / LLDP-MED with a voice VLAN.
    SwitchVoiceVlan {
        /// "CDP" or "LLDP".
        proto: &'static str,
        /// The voice VLAN.
        vlan: u16,
    },
    /// The switch's CDP / LLDP without a voice VLAN.
    SwitchNoVoiceVlan {
        /// "CDP" or "LLDP".
        proto: &'static str,
    },
    /// DHCP DISCOVER.
    DhcpDiscover {
        /// Transaction id.
        xid: u32,
        /// The VLAN tag it carried.
        vlan: Option<u16>,
    },
    /// DHCP OFFER.
    DhcpOffer {
        /// Transaction id.
        xid: u32,
        /// Offered address.
        yiaddr: Ipv4Addr,
        /// Server identifier.
        server: Option<Ipv4Addr>,
    },
    /// DHCP REQUEST.
    DhcpRequest {
        /// Transaction id.
        xid: u32,
        /// Requested address (option 50 or ciaddr).
        requested: Option<Ipv4Addr>,
    },
    /// DHCP ACK.
    DhcpAck {
        /// Transaction id.
        xid: u32,
        /// Leased address.
        yiaddr: Ipv4Addr,
        /// Server identifier.
        server: Option<Ipv4Addr>,
        /// TFTP servers named.
        tftp: Box<TftpOffer>,
    },
    /// DHCP NAK.
    DhcpNak {
        /// Transaction id.
        xid: u32,
        /// Server identifier.
        server: Option<Ipv4Addr>,
    },
    /// DHCP DECLINE (the phone found its address in use).
    DhcpDecline {
        /// Transaction id.
        xid: u32,
    },
    /// A file requested (TFTP RRQ or HTTP GET).
    FileRequest {
        /// File name.
        file: Box<str>,
        /// Server asked.
        server: IpAddr,
        /// TFTP or HTTP.
        via: FileTransport,
    },
    /// A file received complete.
    FileReceived {
        /// File name.
        file: Box<str>,
        /// Bytes received.
        bytes: u64,
        /// TFTP or HTTP.
        via: FileTransport,
    },
    /// The server has no such file (TFTP error 1, HTTP 404).
    FileNotFound {
        /// File name.
        file: Box<str>,
        /// TFTP or HTTP.
        via: FileTransport,
    },
    /// Another error answer to a file request.
    FileError {
        /// File name.
        file: Box<str>,
        /// TFTP error code or HTTP status.
        code: u16,
        /// The server's text.
        text: Box<str>,
    },
    /// A TCP SYN to a call manager.
    CmSyn {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
    },
    /// The call manager's SYN-ACK.
    CmSynAck {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
    },
    /// The call manager (or something on the path) reset the connection.
    CmRst {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
    },
    /// Data on an encrypted call-manager connection (SCCP/SIP over TLS).
    CmTls {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
    },
    /// SCCP Register / SIP REGISTER.
    Register {
        /// SCCP or SIP.
        proto: Signalling,
        /// Call manager.
        cm: IpAddr,
        /// SIP Expires (0 = un-register).
        expires: Option<u32>,
    },
    /// SCCP RegisterAck / SIP 2xx to REGISTER.
    RegisterAck {
        /// SCCP or SIP.
        proto: Signalling,
        /// Call manager.
        cm: IpAddr,
    },
    /// SCCP RegisterReject / SIP final 3xx–6xx to REGISTER.
    RegisterReject {
        /// SCCP or SIP.
        proto: Signalling,
        /// Call manager.
        cm: IpAddr,
        /// SIP status (0 for SCCP).
        code: u16,
        /// Reject text or reason phrase.
        reason: Box<str>,
        /// Whether the REGISTER answered was an un-register (Expires 0).
        unregister: bool,
    },
    /// SIP 401 / 407: credentials asked.
    RegisterChallenge {
        /// Call manager.
        cm: IpAddr,
        /// 401 or 407.
        code: u16,
    },
    /// A keepalive answered (SCCP KeepAliveAck): the call manager holds the registration.
    KeepaliveAck {
        /// Call manager.
        cm: IpAddr,
    },
    /// The phone's own account of its last failure (SCCP Alarm, SIP cisco-alarm).
    Alarm {
        /// The text (`Name=SEP… Load=… Last=…`).
        text: Box<str>,
    },
    /// A message of this device a dissector could not read.
    Malformed {
        /// Protocol.
        proto: &'static str,
        /// Why.
        error: Box<str>,
    },
}

macro_rules! event_types {
    ($($variant:ident => $name:literal, $stage:ident, $doc:literal;)*) => {
        /// The fieldless mirror of [`EventKind`]: what rule files count and cite.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $(#[doc = $doc] $variant,)*
        }

        impl EventType {
            /// Every type, in declaration order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];
            /// How many types there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The snake_case name rules use.
            pub fn name(self) -> &'static str {
                match self { $(EventType::$variant => $name,)* }
            }

            /// The boot stage the event belongs to.
            pub fn stage(self) -> Stage {
                match self { $(EventType::$variant => Stage::$stage,)* }
            }

            /// One line of documentation.
            pub fn doc(self) -> &'static str {
                match self { $(EventType::$variant => $doc,)* }
            }
        }
    };
}

event_types! {
    PhoneAnnounce => "phone_announce", Discovery, "the phone's own CDP / LLDP-MED";
    SwitchVoiceVlan => "switch_voice_vlan", Discovery, "the switch's CDP / LLDP-MED with a voice VLAN";
    SwitchNoVoiceVlan => "switch_no_voice_vlan", Discovery, "the switch's CDP / LLDP without a voice VLAN";
    DhcpDiscover => "dhcp_discover", Dhcp, "DHCP DISCOVERs";
    DhcpOffer => "dhcp_offer", Dhcp, "DHCP OFFERs";
    DhcpRequest => "dhcp_request", Dhcp, "DHCP REQUESTs";
    DhcpAck => "dhcp_ack", Dhcp, "DHCP ACKs";
    DhcpNak => "dhcp_nak", Dhcp, "DHCP NAKs";
    DhcpDecline => "dhcp_decline", Dhcp, "DHCP DECLINEs";
    FileRequest => "file_request", Config, "file requests (TFTP RRQ, HTTP GET)";
    FileReceived => "file_received", Config, "files received complete";
    FileNotFound => "file_not_found", Config, "files not found";
    FileError => "file_error", Config, "other file errors";
    CmSyn => "cm_syn", Registration, "TCP SYNs to a call manager";
    CmSynAck => "cm_syn_ack", Registration, "SYN-ACKs from a call manager";
    CmRst => "cm_rst", Registration, "TCP resets on a call-manager connection";
    CmTls => "cm_tls", Registration, "TLS data to or from a call manager";
    Register => "register", Registration, "SCCP Register / SIP REGISTER";
    RegisterAck => "register_ack", Registration, "RegisterAck / SIP 2xx to REGISTER";
    RegisterReject => "register_reject", Registration, "RegisterReject / SIP 3xx-6xx to REGISTER";
    RegisterChallenge => "register_challenge", Registration, "SIP 401 / 407 to REGISTER";
    KeepaliveAck => "keepalive_ack", Registration, "keepalives answered by the call manager";
    Alarm => "alarm", Registration, "alarms from the phone (SCCP Alarm, SIP cisco-alarm)";
    Malformed => "malformed", Discovery, "messages that could not be read";
}

impl EventKind {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::PhoneAnnounce { .. } => EventType::PhoneAnnounce,
            EventKind::SwitchVoiceVlan { .. } => EventType::SwitchVoiceVlan,
            EventKind::SwitchNoVoiceVlan { .. } => EventType::SwitchNoVoiceVlan,
            EventKind::DhcpDiscover { .. } => EventType::DhcpDiscover,
            EventKind::DhcpOffer { .. } => EventType::DhcpOffer,
            EventKind::DhcpRequest { .. } => EventType::DhcpRequest,
            EventKind::DhcpAck { .. } => EventType::DhcpAck,
            EventKind::DhcpNak { .. } => EventType::DhcpNak,
            EventKind::DhcpDecline { .. } => EventType::DhcpDecline,
            EventKind::FileRequest { .. } => EventType::FileRequest,
            EventKind::FileReceived { .. } => EventType::FileReceived,
            EventKind::FileNotFound { .. } => EventType::FileNotFound,
            EventKind::FileError { .. } => EventType::FileError,
            EventKind::CmSyn { .. } => EventType::CmSyn,
            EventKind::CmSynAck { .. } => EventType::CmSynAck,
            EventKind::CmRst { .. } => EventType::CmRst,
            EventKind::CmTls { .. } => EventType::CmTls,
            EventKind::Register { .. } => EventType::Register,
            EventKind::RegisterAck { .. } => EventType::RegisterAck,
            EventKind::RegisterReject { .. } => EventType::RegisterReject,
            EventKind::RegisterChallenge { .. } => EventType::RegisterChallenge,
            EventKind::KeepaliveAck { .. } => EventType::KeepaliveAck,
            EventKind::Alarm { .. } => EventType::Alarm,
            EventKind::Malformed { .. } => EventType::Malformed,
        }
    }

    /// The boot stage the event belongs to (a firmware file is `firmware`).
    pub fn stage(&self) -> Stage {
        match self {
            EventKind::FileRequest { file, .. }
            | EventKind::FileReceived { file, .. }
            | EventKind::FileNotFound { file, .. }
            | EventKind::FileError { file, .. } => FileClass::of(file).stage(),
            k => k.event_type().stage(),
        }
    }
}

/// The side of a boot a message was exchanged with: a lane of a ladder diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PeerRole {
    /// The access switch (CDP / LLDP-MED).
    Switch,
    /// The DHCP server (or its relay).
    DhcpServer,
    /// A TFTP or HTTP (6970) configuration / firmware server.
    FileServer,
    /// A call manager (SCCP / SIP).
    CallManager,
}

impl PeerRole {
    /// The snake_case name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerRole::Switch => "switch",
            PeerRole::DhcpServer => "dhcp_server",
            PeerRole::FileServer => "file_server",
            PeerRole::CallManager => "call_manager",
        }
    }
}

/// Which way a message went, seen from the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the phone.
    FromPhone,
    /// Sent to the phone.
    ToPhone,
}

impl Direction {
    /// The snake_case name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::FromPhone => "from_phone",
            Direction::ToPhone => "to_phone",
        }
    }
}

/// Who a message was exchanged with, which way, and the peer's address when the
/// event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// The other side.
    pub role: PeerRole,
    /// Which way; `None` when the event does not say (TLS data seen either way).
    pub dir: Option<Direction>,
    /// The peer's address, when the event carries it (a file answer or an alarm
    /// does not: the timeline's earlier request names it).
    pub addr: Option<IpAddr>,
}

impl EventKind {
    /// The exchange this event is a message of; `None` for a malformed message.
    pub fn exchange(&self) -> Option<Exchange> {
        use Direction::{FromPhone, ToPhone};
        let x = |role, dir, addr: Option<IpAddr>| {
            Some(Exchange {
                role,
                dir: Some(dir),
                addr,
            })
        };
        let v4 = |a: &Option<Ipv4Addr>| a.map(IpAddr::V4);
        match self {
            EventKind::PhoneAnnounce { .. } => x(PeerRole::Switch, FromPhone, None),
            EventKind::SwitchVoiceVlan { .. } | EventKind::SwitchNoVoiceVlan { .. } => {
                x(PeerRole::Switch, ToPhone, None)
            }
            EventKind::DhcpDiscover { .. }
            | EventKind::DhcpRequest { .. }
            | EventKind::DhcpDecline { .. } => x(PeerRole::DhcpServer, FromPhone, None),
            EventKind::DhcpOffer { server, .. }
            | EventKind::DhcpAck { server, .. }
            | EventKind::DhcpNak { server, .. } => x(PeerRole::DhcpServer, ToPhone, v4(server)),
            EventKind::FileRequest { server, .. } => {
                x(PeerRole::FileServer, FromPhone, Some(*server))
            }
            EventKind::FileReceived { .. }
            | EventKind::FileNotFound { .. }
            | EventKind::FileError { .. } => x(PeerRole::FileServer, ToPhone, None),
            EventKind::CmSyn { cm, .. } | EventKind::Register { cm, .. } => {
                x(PeerRole::CallManager, FromPhone, Some(*cm))
            }
            // A reset is reported from the call manager's side of the connection.
            EventKind::CmSynAck { cm, .. }
            | EventKind::CmRst { cm, .. }
            | EventKind::RegisterAck { cm, .. }
            | EventKind::RegisterReject { cm, .. }
            | EventKind::RegisterChallenge { cm, .. }
            | EventKind::KeepaliveAck { cm } => x(PeerRole::CallManager, ToPhone, Some(*cm)),
            // Reported once per boot, for the first encrypted segment either way.
            EventKind::CmTls { cm, .. } => Some(Exchange {
                role: PeerRole::CallManager,
                dir: None,
                addr: Some(*cm),
            }),
            // SCCP Alarm and SIP cisco-alarm travel to the call manager.
            EventKind::Alarm { .. } => x(PeerRole::CallManager, FromPhone, None),
            EventKind::Malformed { .. } => None,
        }
    }
}

/// What a requested file is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileClass {
    /// CTL<name>.tlv: the certificate trust list (absent on non-secure clusters).
    Ctl,
    /// ITL<name>.tlv: the identity trust list.
    Itl,
    /// SEP<MAC>.cnf.xml: the phone's own configuration.
    DeviceConfig,
    /// XMLDefault.cnf.xml: the auto-registration default.
    DefaultConfig,
    /// A firmware load (`.loads`, `.sbn`, `.zz`, `.sgn`, `.bin`).
    Firmware,
    /// Anything else (ring lists, dial plans, locales, backgrounds).
    Other,
}

impl FileClass {
    /// Classify a file name (path components and case are ignored).
    pub fn of(file: &str) -> FileClass {
        let base = file.rsplit('/').next().unwrap_or(file).as_bytes();
        // Case-blind, without a lower-cased copy: this runs for every file event.
        let starts = |p: &str| {
            base.get(..p.len())
                .is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()))
        };
        let ends = |p: &str| {
            base.len() >= p.len() && base[base.len() - p.len()..].eq_ignore_ascii_case(p.as_bytes())
        };
        if starts("ctl") && ends(".tlv") {
            FileClass::Ctl
        } else if starts("itl") && ends(".tlv") {
            FileClass::Itl
        } else if starts("sep") && ends(".cnf.xml") {
            FileClass::DeviceConfig
        } else if base.eq_ignore_ascii_case(b"xmldefault.cnf.xml") {
            FileClass::DefaultConfig
        } else if [".loads", ".sbn", ".zz", ".sgn", ".bin", ".sb2"]
            .iter()
            .any(|s| ends(s))
        {
            FileClass::Firmware
        } else {
            FileClass::Other
        }
    }

    /// The boot stage a file belongs to.
    pub fn stage(self) -> Stage {
        match self {
            FileClass::Firmware => Stage::Firmware,
            _ => Stage::Config,
        }
    }
}

/// One entry of a device's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Capture time, ns since the epoch.
    pub ts_ns: i64,
    /// Frame number (from 1).
    pub frame: u64,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// Heap bytes the event holds (its strings and boxes), as requested from the
    /// allocator.
    pub fn heap_bytes(&self) -> usize {
        match &self.kind {
            EventKind::FileRequest { file, .. }
            | EventKind::FileReceived { file, .. }
            | EventKind::FileNotFound { file, .. } => file.len(),
            EventKind::FileError { file, text, .. } => file.len() + text.len(),
            EventKind::RegisterReject { reason, .. } => reason.len(),
            EventKind::Alarm { text } => text.len(),
            EventKind::Malformed { error, .. } => error.len(),
            EventKind::DhcpAck { tftp, .. } => {
                let text = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
                std::mem::size_of::<TftpOffer>()
                    + tftp.servers.capacity() * std::mem::size_of::<Ipv4Addr>()
                    + text(&tftp.option150_ascii)
                    + text(&tftp.option66)
            }
            _ => 0,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

impl EventKind {
    /// The event in words, as the report's timeline says it (what `Display` writes).
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.push_text(&mut out);
        out
    }

    /// Append the event in words to `out` (a buffer reused across events costs no
    /// allocation per event).
    pub fn push_text(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = self.write_text(out);
    }

    // Pieces and numbers go out through `write_str` without `core::fmt`: the
    // timelines of a 10 000-phone capture hold a quarter of a million events, and
    // formatting each address through `Ipv4Addr`'s `Display` (padding machinery,
    // one call per octet) was most of the verdicts' time.
    fn write_text<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        match self {
            EventKind::PhoneAnnounce { proto, ip } => {
                w.write_str(proto)?;
                w.write_str(" from the phone")?;
                if let Some(ip) = ip {
                    w.write_str(", already at ")?;
                    write_ipv4(w, *ip)?;
                }
                Ok(())
            }
            EventKind::SwitchVoiceVlan { proto, vlan } => {
                w.write_str("switch ")?;
                w.write_str(proto)?;
                w.write_str(": voice VLAN ")?;
                write_decimal(w, (*vlan).into())
            }
            EventKind::SwitchNoVoiceVlan { proto } => {
                w.write_str("switch ")?;
                w.write_str(proto)?;
                w.write_str(": no voice VLAN")
            }
            EventKind::DhcpDiscover { xid, vlan } => {
                w.write_str("DHCP DISCOVER xid ")?;
                write_xid(w, *xid)?;
                match vlan {
                    Some(v) => {
                        w.write_str(" on VLAN ")?;
                        write_decimal(w, (*v).into())
                    }
                    None => w.write_str(" untagged"),
                }
            }
            EventKind::DhcpOffer { yiaddr, server, .. } => {
                w.write_str("DHCP OFFER ")?;
                write_ipv4(w, *yiaddr)?;
                write_from(w, *server)
            }
            EventKind::DhcpRequest { requested, .. } => {
                w.write_str("DHCP REQUEST")?;
                if let Some(ip) = requested {
                    w.write_str(" ")?;
                    write_ipv4(w, *ip)?;
                }
                Ok(())
            }
            EventKind::DhcpAck {
                yiaddr,
                server,
                tftp,
                ..
            } => {
                w.write_str("DHCP ACK ")?;
                write_ipv4(w, *yiaddr)?;
                write_from(w, *server)?;
                for (i, s) in tftp.servers.iter().enumerate() {
                    w.write_str(if i == 0 { ", TFTP " } else { "," })?;
                    write_ipv4(w, *s)?;
                }
                // The texts were escaped when they left the wire: quoted, not
                // `{:?}`, which would escape the escapes again.
                if let Some(t) = &tftp.option150_ascii {
                    w.write_str(", option 150 as text \"")?;
                    w.write_str(t)?;
                    w.write_str("\"")?;
                }
                let option66_name = tftp
                    .option66
                    .as_deref()
                    .filter(|n| n.parse::<Ipv4Addr>().is_err());
                if let Some(n) = option66_name {
                    w.write_str(", option 66 name \"")?;
                    w.write_str(n)?;
                    w.write_str("\"")?;
                }
                if tftp.servers.is_empty()
                    && tftp.option150_ascii.is_none()
                    && tftp.option66.is_none()
                {
                    w.write_str(", no option 150 / 66")?;
                }
                Ok(())
            }
            EventKind::DhcpNak { server, .. } => {
                w.write_str("DHCP NAK")?;
                write_from(w, *server)
            }
            EventKind::DhcpDecline { .. } => w.write_str("DHCP DECLINE"),
            EventKind::FileRequest { file, server, via } => {
                w.write_str(via_request(*via))?;
                w.write_str(" ")?;
                w.write_str(file)?;
                w.write_str(" from ")?;
                write_ip(w, *server)
            }
            EventKind::FileReceived { file, bytes, .. } => {
                w.write_str("received ")?;
                w.write_str(file)?;
                w.write_str(" (")?;
                write_decimal(w, *bytes)?;
                w.write_str(" bytes)")
            }
            EventKind::FileNotFound { file, .. } => {
                w.write_str(file)?;
                w.write_str(": file not found")
            }
            EventKind::FileError { file, code, text } => {
                w.write_str(file)?;
                w.write_str(": error ")?;
                write_decimal(w, (*code).into())?;
                w.write_str(" ")?;
                w.write_str(text)
            }
            EventKind::CmSyn { cm, port } => {
                w.write_str("TCP SYN to ")?;
                write_endpoint(w, *cm, *port)
            }
            EventKind::CmSynAck { cm, port } => {
                w.write_str("SYN-ACK from ")?;
                write_endpoint(w, *cm, *port)
            }
            EventKind::CmRst { cm, port } => {
                w.write_str("TCP RST on ")?;
                write_endpoint(w, *cm, *port)
            }
            EventKind::CmTls { cm, port } => {
                w.write_str("TLS data with ")?;
                write_endpoint(w, *cm, *port)
            }
            EventKind::Register { proto, cm, expires } => {
                w.write_str(match proto {
                    Signalling::Sccp => "SCCP RegisterReq to ",
                    Signalling::Sip => "SIP REGISTER to ",
                })?;
                write_ip(w, *cm)?;
                if let Some(e) = expires {
                    w.write_str(" (Expires ")?;
                    write_decimal(w, (*e).into())?;
                    w.write_str(")")?;
                }
                Ok(())
            }
            EventKind::RegisterAck { proto, cm } => {
                w.write_str(match proto {
                    Signalling::Sccp => "SCCP RegisterAck from ",
                    Signalling::Sip => "SIP 200 OK to REGISTER from ",
                })?;
                write_ip(w, *cm)
            }
            EventKind::RegisterReject {
                proto,
                cm,
                code,
                reason,
                ..
            } => match proto {
                Signalling::Sccp => {
                    w.write_str("SCCP RegisterReject from ")?;
                    write_ip(w, *cm)?;
                    w.write_str(": \"")?;
                    w.write_str(reason)?;
                    w.write_str("\"")
                }
                Signalling::Sip => {
                    w.write_str("SIP ")?;
                    write_decimal(w, (*code).into())?;
                    w.write_str(" ")?;
                    w.write_str(reason)?;
                    w.write_str(" to REGISTER from ")?;
                    write_ip(w, *cm)
                }
            },
            EventKind::RegisterChallenge { cm, code } => {
                w.write_str("SIP ")?;
                write_decimal(w, (*code).into())?;
                w.write_str(": ")?;
                write_ip(w, *cm)?;
                w.write_str(" asks for credentials")
            }
            EventKind::KeepaliveAck { cm } => {
                w.write_str("keepalive answered by ")?;
                write_ip(w, *cm)
            }
            EventKind::Alarm { text } => {
                w.write_str("phone alarm: ")?;
                w.write_str(text)
            }
            EventKind::Malformed { proto, error } => {
                w.write_str("malformed ")?;
                w.write_str(proto)?;
                w.write_str(": ")?;
                w.write_str(error)
            }
        }
    }
}

/// ` from <server>`, when there is one.
fn write_from<W: fmt::Write>(w: &mut W, server: Option<Ipv4Addr>) -> fmt::Result {
    match server {
        Some(s) => {
            w.write_str(" from ")?;
            write_ipv4(w, s)
        }
        None => Ok(()),
    }
}

/// `<address>:<port>`.
fn write_endpoint<W: fmt::Write>(w: &mut W, ip: IpAddr, port: u16) -> fmt::Result {
    write_ip(w, ip)?;
    w.write_str(":")?;
    write_decimal(w, port.into())
}

/// An address as `IpAddr`'s `Display` writes it (dotted quad; IPv6 through std).
pub fn write_ip<W: fmt::Write>(w: &mut W, ip: IpAddr) -> fmt::Result {
    match ip {
        IpAddr::V4(v4) => write_ipv4(w, v4),
        IpAddr::V6(v6) => write!(w, "{v6}"),
    }
}

/// A dotted quad, written at once from a stack buffer.
pub fn write_ipv4<W: fmt::Write>(w: &mut W, ip: Ipv4Addr) -> fmt::Result {
    let mut buf = [0u8; 15];
    let mut len = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[len] = b'.';
            len += 1;
        }
        // Leading digits only when the octet needs them: no zero padding.
        if octet >= 100 {
            buf[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            buf[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        buf[len] = b'0' + octet % 10;
        len += 1;
    }
    w.write_str(ascii(&buf[..len]))
}

/// An address as a new string, the same text as `to_string()`.
pub fn ip_string(ip: IpAddr) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_ip(&mut s, ip);
    s
}

/// An unsigned number in decimal.
fn write_decimal<W: fmt::Write>(w: &mut W, mut n: u64) -> fmt::Result {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    w.write_str(ascii(&buf[at..]))
}

/// A DHCP transaction id as `{:#010x}` writes it: `0x` and eight lower-case digits.
fn write_xid<W: fmt::Write>(w: &mut W, xid: u32) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = *b"0x00000000";
    for (i, digit) in buf[2..].iter_mut().enumerate() {
        *digit = HEX[(xid >> (28 - 4 * i) & 0xf) as usize];
    }
    w.write_str(ascii(&buf))
}

/// Digits and dots written above: ASCII, so always UTF-8.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn via_request(via: FileTransport) -> &'static str {
    match via {
        FileTransport::Tftp => "TFTP read request",
        FileTransport::Http => "HTTP GET",
    }
}

/// A device's events in capture order, bounded by [`MAX_TIMELINE`].
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The events kept.
    pub events: Vec<Event>,
    /// Events not kept because the timeline was full.
    pub dropped: u64,
    /// Heap bytes held by the kept events' strings.
    strings: usize,
}

impl Timeline {
    /// Append an event (or count it when full).
    pub fn push(&mut self, ev: Event) {
        if self.events.len() < MAX_TIMELINE {
            self.strings += ev.heap_bytes();
            self.events.push(ev);
        } else {
            self.dropped += 1;
        }
    }

    /// Heap bytes the timeline holds: its buffer and the events' strings.
    pub fn heap_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<Event>() + self.strings
    }

    /// Sort by (time, frame): capture order is not always time order.
    pub fn finish(&mut self) {
        self.events.sort_by_key(|e| (e.ts_ns, e.frame));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timeline text as it was written with `write!` and std's `Display` of
    /// addresses and numbers: the hand-written text must not change a byte of it.
    fn reference_text(kind: &EventKind) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let f = &mut s;
        let result: fmt::Result = (|| {
            match kind {
                EventKind::PhoneAnnounce { proto, ip: None } => write!(f, "{proto} from the phone"),
                EventKind::PhoneAnnounce {
                    proto,
                    ip: Some(ip),
                } => {
                    write!(f, "{proto} from the phone, already at {ip}")
                }
                EventKind::SwitchVoiceVlan { proto, vlan } => {
                    write!(f, "switch {proto}: voice VLAN {vlan}")
                }
                EventKind::SwitchNoVoiceVlan { proto } => {
                    write!(f, "switch {proto}: no voice VLAN")
                }
                EventKind::DhcpDiscover { xid, vlan } => match vlan {
                    Some(v) => write!(f, "DHCP DISCOVER xid {xid:#010x} on VLAN {v}"),
                    None => write!(f, "DHCP DISCOVER xid {xid:#010x} untagged"),
                },
                EventKind::DhcpOffer { yiaddr, server, .. } => {
                    write!(f, "DHCP OFFER {yiaddr}")?;
                    if let Some(s) = server {
                        write!(f, " from {s}")?;
                    }
                    Ok(())
                }
                EventKind::DhcpRequest { requested, .. } => match requested {
                    Some(ip) => write!(f, "DHCP REQUEST {ip}"),
                    None => write!(f, "DHCP REQUEST"),
                },
                EventKind::DhcpAck {
                    yiaddr,
                    server,
                    tftp,
                    ..
                } => {
                    write!(f, "DHCP ACK {yiaddr}")?;
                    if let Some(s) = server {
                        write!(f, " from {s}")?;
                    }
                    if !tftp.servers.is_empty() {
                        write!(f, ", TFTP ")?;
                        for (i, s) in tftp.servers.iter().enumerate() {
                            write!(f, "{}{s}", if i > 0 { "," } else { "" })?;
                        }
                    }
                    // The texts were escaped when they left the wire: quoted, not
                    // `{:?}`, which would escape the escapes again.
                    if let Some(t) = &tftp.option150_ascii {
                        write!(f, ", option 150 as text \"{t}\"")?;
                    }
                    let option66_name = tftp
                        .option66
                        .as_deref()
                        .filter(|n| n.parse::<Ipv4Addr>().is_err());
                    if let Some(n) = option66_name {
                        write!(f, ", option 66 name \"{n}\"")?;
                    }
                    if tftp.servers.is_empty()
                        && tftp.option150_ascii.is_none()
                        && tftp.option66.is_none()
                    {
                        write!(f, ", no option 150 / 66")?;
                    }
                    Ok(())
                }
                EventKind::DhcpNak { server, .. } => match server {
                    Some(s) => write!(f, "DHCP NAK from {s}"),
                    None => write!(f, "DHCP NAK"),
                },
                EventKind::DhcpDecline { .. } => write!(f, "DHCP DECLINE"),
                EventKind::FileRequest { file, server, via } => {
                    write!(f, "{} {file} from {server}", via_request(*via))
                }
                EventKind::FileReceived { file, bytes, .. } => {
                    write!(f, "received {file} ({bytes} bytes)")
                }
                EventKind::FileNotFound { file, .. } => write!(f, "{file}: file not found"),
                EventKind::FileError { file, code, text } => {
                    write!(f, "{file}: error {code} {text}")
                }
                EventKind::CmSyn { cm, port } => write!(f, "TCP SYN to {cm}:{port}"),
                EventKind::CmSynAck { cm, port } => write!(f, "SYN-ACK from {cm}:{port}"),
                EventKind::CmRst { cm, port } => write!(f, "TCP RST on {cm}:{port}"),
                EventKind::CmTls { cm, port } => write!(f, "TLS data with {cm}:{port}"),
                EventKind::Register { proto, cm, expires } => {
                    match proto {
                        Signalling::Sccp => write!(f, "SCCP RegisterReq to {cm}")?,
                        Signalling::Sip => write!(f, "SIP REGISTER to {cm}")?,
                    }
                    if let Some(e) = expires {
                        write!(f, " (Expires {e})")?;
                    }
                    Ok(())
                }
                EventKind::RegisterAck { proto, cm } => match proto {
                    Signalling::Sccp => write!(f, "SCCP RegisterAck from {cm}"),
                    Signalling::Sip => write!(f, "SIP 200 OK to REGISTER from {cm}"),
                },
                EventKind::RegisterReject {
                    proto,
                    cm,
                    code,
                    reason,
                    ..
                } => match proto {
                    Signalling::Sccp => write!(f, "SCCP RegisterReject from {cm}: \"{reason}\""),
                    Signalling::Sip => write!(f, "SIP {code} {reason} to REGISTER from {cm}"),
                },
                EventKind::RegisterChallenge { cm, code } => {
                    write!(f, "SIP {code}: {cm} asks for credentials")
                }
                EventKind::KeepaliveAck { cm } => write!(f, "keepalive answered by {cm}"),
                EventKind::Alarm { text } => write!(f, "phone alarm: {text}"),
                EventKind::Malformed { proto, error } => write!(f, "malformed {proto}: {error}"),
            }
        })();
        result.unwrap();
        s
    }

    /// Every kind of event, over addresses and numbers at their edges and texts that
    /// need quoting.
    fn every_kind_of_event() -> Vec<EventKind> {
        let v4s = [
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(10, 1, 1, 5),
            Ipv4Addr::new(100, 99, 10, 9),
            Ipv4Addr::new(255, 255, 255, 255),
            Ipv4Addr::new(1, 20, 200, 109),
        ];
        let ips: Vec<IpAddr> = v4s
            .iter()
            .map(|&a| IpAddr::V4(a))
            .chain(
                ["::1", "fe80::1:2", "::ffff:10.1.1.5", "2001:db8::"].map(|s| s.parse().unwrap()),
            )
            .collect();
        let texts = [
            "",
            "SEP001B54BB0005.cnf.xml",
            "a \"quoted\" \\ name\u{2028}é",
        ];
        let mut out = Vec::new();
        for (i, &ip) in ips.iter().enumerate() {
            let v4 = v4s[i % v4s.len()];
            let n = [0u64, 7, 10, 99, 100, 65535, u32::MAX.into(), u64::MAX][i % 8];
            let n16 = n as u16;
            let text: Box<str> = texts[i % texts.len()].into();
            let some_v4 = (i % 2 == 0).then_some(v4);
            let proto = if i % 2 == 0 {
                Signalling::Sccp
            } else {
                Signalling::Sip
            };
            let via = if i % 2 == 0 {
                FileTransport::Tftp
            } else {
                FileTransport::Http
            };
            out.extend([
                EventKind::PhoneAnnounce {
                    proto: "CDP",
                    ip: some_v4,
                },
                EventKind::SwitchVoiceVlan {
                    proto: "LLDP",
                    vlan: n16,
                },
                EventKind::SwitchNoVoiceVlan { proto: "CDP" },
                EventKind::DhcpDiscover {
                    xid: n as u32,
                    vlan: (i % 3 > 0).then_some(n16),
                },
                EventKind::DhcpDiscover {
                    xid: 0x00ab_cdef,
                    vlan: None,
                },
                EventKind::DhcpOffer {
                    xid: 1,
                    yiaddr: v4,
                    server: some_v4,
                },
                EventKind::DhcpRequest {
                    xid: 1,
                    requested: some_v4,
                },
                EventKind::DhcpAck {
                    xid: 1,
                    yiaddr: v4,
                    server: some_v4,
                    tftp: Box::new(TftpOffer {
                        servers: v4s[..i % 4].to_vec(),
                        option150_ascii: (i % 3 == 1).then(|| text.clone()),
                        option66: [None, Some("10.1.1.5".into()), Some(text.clone())][i % 3]
                            .clone(),
                    }),
                },
                EventKind::DhcpNak {
                    xid: 1,
                    server: some_v4,
                },
                EventKind::DhcpDecline { xid: 1 },
                EventKind::FileRequest {
                    file: text.clone(),
                    server: ip,
                    via,
                },
                EventKind::FileReceived {
                    file: text.clone(),
                    bytes: n,
                    via,
                },
                EventKind::FileNotFound {
                    file: text.clone(),
                    via,
                },
                EventKind::FileError {
                    file: text.clone(),
                    code: n16,
                    text: text.clone(),
                },
                EventKind::CmSyn { cm: ip, port: n16 },
                EventKind::CmSynAck { cm: ip, port: n16 },
                EventKind::CmRst { cm: ip, port: n16 },
                EventKind::CmTls { cm: ip, port: n16 },
                EventKind::Register {
                    proto,
                    cm: ip,
                    expires: (i % 3 > 0).then_some(n as u32),
                },
                EventKind::RegisterAck { proto, cm: ip },
                EventKind::RegisterReject {
                    proto,
                    cm: ip,
                    code: n16,
                    reason: text.clone(),
                    unregister: false,
                },
                EventKind::RegisterChallenge { cm: ip, code: n16 },
                EventKind::KeepaliveAck { cm: ip },
                EventKind::Alarm { text: text.clone() },
                EventKind::Malformed {
                    proto: "SIP",
                    error: text,
                },
            ]);
        }
        out
    }

    #[test]
    fn the_text_of_every_event_is_what_write_made_of_it() {
        let events = every_kind_of_event();
        let mut kinds: Vec<EventType> = events.iter().map(EventKind::event_type).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), EventType::COUNT);
        let mut buf = String::new();
        for kind in &events {
            let want = reference_text(kind);
            assert_eq!(kind.text(), want);
            assert_eq!(kind.to_string(), want);
            buf.clear();
            kind.push_text(&mut buf);
            assert_eq!(buf, want);
        }
    }

    proptest::proptest! {
        #[test]
        fn addresses_are_written_as_std_writes_them(bits: u32, v6: u128) {
            let v4 = Ipv4Addr::from(bits);
            proptest::prop_assert_eq!(ip_string(IpAddr::V4(v4)), v4.to_string());
            let v6 = std::net::Ipv6Addr::from(v6);
            proptest::prop_assert_eq!(ip_string(IpAddr::V6(v6)), v6.to_string());
        }
    }

    #[test]
    fn file_classes_follow_cisco_names() {
        assert_eq!(FileClass::of("CTLSEP001122334455.tlv"), FileClass::Ctl);
        assert_eq!(FileClass::of("ITLSEP001122334455.tlv"), FileClass::Itl);
        assert_eq!(
            FileClass::of("SEP001122334455.cnf.xml"),
            FileClass::DeviceConfig
        );
        assert_eq!(
            FileClass::of("XMLDefault.cnf.xml"),
            FileClass::DefaultConfig
        );
        assert_eq!(
            FileClass::of("SCCP70.9-4-2SR3-1S.loads"),
            FileClass::Firmware
        );
        assert_eq!(FileClass::of("/firmware/cmterm.sbn"), FileClass::Firmware);
        assert_eq!(FileClass::of("RingList.xml"), FileClass::Other);
        assert_eq!(FileClass::of("SEP.loads").stage(), Stage::Firmware);
    }

    #[test]
    fn event_type_names_are_unique_snake_case() {
        let mut names: Vec<_> = EventType::ALL.iter().map(|t| t.name()).collect();
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::COUNT);
    }

    #[test]
    fn requests_go_from_the_phone_and_answers_come_back() {
        let cm = IpAddr::V4(Ipv4Addr::new(10, 1, 1, 10));
        let syn = EventKind::CmSyn { cm, port: 2000 }.exchange().unwrap();
        assert_eq!(
            (syn.role, syn.dir, syn.addr),
            (PeerRole::CallManager, Some(Direction::FromPhone), Some(cm))
        );
        let ack = EventKind::RegisterAck {
            proto: Signalling::Sccp,
            cm,
        }
        .exchange()
        .unwrap();
        assert_eq!(ack.dir, Some(Direction::ToPhone));
        let offer = EventKind::DhcpOffer {
            xid: 1,
            yiaddr: Ipv4Addr::new(10, 100, 0, 20),
            server: None,
        }
        .exchange()
        .unwrap();
        assert_eq!((offer.role, offer.addr), (PeerRole::DhcpServer, None));
        let found = EventKind::FileNotFound {
            file: "CTLSEP001122334455.tlv".into(),
            via: FileTransport::Tftp,
        };
        assert_eq!(found.exchange().unwrap().role, PeerRole::FileServer);
        let bad = EventKind::Malformed {
            proto: "SIP",
            error: "x".into(),
        };
        assert_eq!(bad.exchange(), None);
    }

    #[test]
    fn the_timeline_is_bounded() {
        let mut t = Timeline::default();
        for i in 0..(MAX_TIMELINE as u64 + 10) {
            t.push(Event {
                ts_ns: 0,
                frame: i,
                kind: EventKind::Alarm { text: "x".into() },
            });
        }
        assert_eq!(t.events.len(), MAX_TIMELINE);
        assert_eq!(t.dropped, 10);
    }
}
