//! Events: what the engine keeps of a dissected message once the packet is gone.
//! An [`Event`] owns only what the rules and the report need (a file name, an
//! address, a reject reason), carries its frame number and capture time, and lands
//! on one device's [`Timeline`]. [`EventType`] is its fieldless mirror: the names
//! rule files count and cite as evidence.

use std::fmt;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use parsers::DissectError;
pub use rules::FileClass;
/// How a file travelled (the rules' name: `via`).
pub use rules::FileVia as FileTransport;
/// Which signalling protocol a registration used (the rules' name: `proto`).
pub use rules::Protocol as Signalling;
use rules::Stage;

/// Timeline entries kept per device; past it only counters grow (a phone that loops
/// for an hour must not grow without bound).
pub const MAX_TIMELINE: usize = 400;

/// Addresses of one DNS answer kept on the timeline.
pub const MAX_DNS_ADDRS: usize = 8;

/// Which discovery protocol an announcement or a switch's answer came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryProto {
    /// Cisco Discovery Protocol.
    Cdp,
    /// LLDP (with LLDP-MED).
    Lldp,
}

impl DiscoveryProto {
    /// Its name as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscoveryProto::Cdp => "CDP",
            DiscoveryProto::Lldp => "LLDP",
        }
    }
}

impl fmt::Display for DiscoveryProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// The DNS servers (option 6), the first few.
    pub dns_servers: Vec<Ipv4Addr>,
    /// The default routers (option 3), the first few.
    pub routers: Vec<Ipv4Addr>,
}

/// One thing that happened to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The phone's own CDP or LLDP-MED: it is up and announcing itself.
    PhoneAnnounce {
        /// CDP or LLDP.
        proto: DiscoveryProto,
        /// The address it announces: a phone with one is already up, not booting.
        ip: Option<Ipv4Addr>,
    },
    /// The switch's CDP / LLDP-MED with a voice VLAN.
    SwitchVoiceVlan {
        /// CDP or LLDP.
        proto: DiscoveryProto,
        /// The voice VLAN.
        vlan: u16,
    },
    /// The switch's CDP / LLDP without a voice VLAN.
    SwitchNoVoiceVlan {
        /// CDP or LLDP.
        proto: DiscoveryProto,
    },
    /// The phone's EAPOL-Start: it asks the switch port to authenticate it (802.1X).
    EapolStart,
    /// The authenticator's (switch port's) EAP Request/Identity.
    EapIdentityRequest,
    /// The phone's EAP Response/Identity: who it says it is (`CP-<model>-SEP<MAC>`).
    EapIdentity {
        /// The identity, escaped.
        identity: Box<str>,
    },
    /// An EAP method offered by the authentication server (a Request of a new type), or
    /// one the phone asked for instead (its Legacy Nak).
    EapMethod {
        /// The EAP type code (13 TLS, 25 PEAP, 43 FAST, 4 MD5, …).
        method: u8,
        /// Whether the phone sent it (a Nak) rather than the authenticator.
        from_phone: bool,
    },
    /// EAP-Success: the port is authorised.
    EapSuccess,
    /// EAP-Failure: the port stays unauthorised.
    EapFailure,
    /// The phone's EAPOL-Logoff.
    EapolLogoff,
    /// The PoE power the phone asks for (CDP Power Requested, else Power Consumption;
    /// LLDP 802.3 PD requested power; LLDP-MED Extended Power-via-MDI from a PD).
    PoeRequest {
        /// CDP or LLDP.
        proto: DiscoveryProto,
        /// The most it asks for, in milliwatts.
        mw: u32,
    },
    /// The PoE power the switch offers the phone (CDP Power Available; LLDP 802.3 PSE
    /// allocated power; LLDP-MED Extended Power-via-MDI from the PSE).
    PoeGrant {
        /// CDP or LLDP.
        proto: DiscoveryProto,
        /// The power offered, in milliwatts.
        mw: u32,
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
        /// Option 150 offered as text (`"10.1.1.5"`) rather than addresses.
        option150_ascii: Option<Box<str>>,
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
        /// The address declined (option 50), when given.
        addr: Option<Ipv4Addr>,
    },
    /// A file requested (TFTP RRQ or HTTP GET).
    FileRequest {
        /// File name.
        file: Box<str>,
        /// What the file is (classified once, by `rules/files.json`).
        class: FileClass,
        /// Server asked.
        server: IpAddr,
        /// TFTP or HTTP.
        via: FileTransport,
    },
    /// A file received complete.
    FileReceived {
        /// File name.
        file: Box<str>,
        /// What the file is.
        class: FileClass,
        /// Bytes received.
        bytes: u64,
        /// TFTP or HTTP.
        via: FileTransport,
    },
    /// The server has no such file (TFTP error 1, HTTP 404).
    FileNotFound {
        /// File name.
        file: Box<str>,
        /// What the file is.
        class: FileClass,
        /// TFTP or HTTP.
        via: FileTransport,
    },
    /// Another error answer to a file request.
    FileError {
        /// File name.
        file: Box<str>,
        /// What the file is.
        class: FileClass,
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
    /// The phone keeps a registration whose answer the capture does not hold: an SCCP
    /// KeepAliveReq (sent only once registered), or a SIP REGISTER renewing the last
    /// one when it was due, that last one sent once and never retransmitted (so it
    /// was answered, and not refused: a refused phone tries again at once).
    Keepalive {
        /// SCCP or SIP.
        proto: Signalling,
        /// Call manager.
        cm: IpAddr,
    },
    /// A keepalive answered (SCCP KeepAliveAck): the call manager holds the registration.
    KeepaliveAck {
        /// Call manager.
        cm: IpAddr,
    },
    /// The call manager confirmed a de-registration (SIP 2xx to a REGISTER with
    /// `Expires: 0`, SCCP UnregisterAck): the phone is no longer registered.
    Unregistered {
        /// SCCP or SIP.
        proto: Signalling,
        /// Call manager.
        cm: IpAddr,
    },
    /// A SIP message of a call or a service (INVITE and its answers, BYE, REFER,
    /// NOTIFY, …) that names the phone: a call manager serves it, so it is registered.
    SipCall {
        /// The call manager (the phone's peer, or the sender that named the phone).
        cm: IpAddr,
        /// The method, or the status code and reason.
        message: Box<str>,
        /// Whether the phone sent it.
        from_phone: bool,
    },
    /// The phone's own account of its last failure (SCCP Alarm, SIP cisco-alarm).
    Alarm {
        /// The text (`Name=SEP… Load=… Last=…`).
        text: Box<str>,
    },
    /// Another MAC claims the phone's address over ARP (a reply, or an announcement,
    /// with the address as its sender): the address is taken.
    AddressInUse {
        /// The address.
        ip: Ipv4Addr,
        /// The MAC that claims it.
        mac: crate::link::MacAddr,
    },
    /// A TCP SYN to the configuration server's HTTP (6970) or HTTPS (6971) port.
    ConfigSyn {
        /// The server.
        server: IpAddr,
        /// Its port.
        port: u16,
    },
    /// The configuration server accepted the connection (SYN-ACK).
    ConfigSynAck {
        /// The server.
        server: IpAddr,
        /// Its port.
        port: u16,
    },
    /// The configuration server (or something on the path) reset the connection.
    ConfigRst {
        /// The server.
        server: IpAddr,
        /// Its port.
        port: u16,
    },
    /// An ICMP error in reply to one of the phone's datagrams or SYNs to a server it
    /// asked (TFTP, the config ports, a call manager's signalling port): the server
    /// host, or a router or firewall on the way, says the packet cannot be delivered.
    IcmpUnreachable {
        /// Who sent the error (the server itself, or a router).
        from: IpAddr,
        /// The server the quoted packet was for.
        server: IpAddr,
        /// Its port.
        port: u16,
        /// The quoted packet was TCP (else UDP).
        tcp: bool,
        /// Why, as ICMP says it ("port unreachable", "host unreachable", ...).
        reason: &'static str,
    },
    /// The phone asked DNS for a name.
    DnsQuery {
        /// The name asked for (escaped).
        name: Box<str>,
        /// The record type (1 A, 28 AAAA, 33 SRV).
        qtype: u16,
        /// The DNS server asked.
        server: IpAddr,
    },
    /// The DNS server's answer to the phone.
    DnsAnswer {
        /// The name asked for (escaped).
        name: Box<str>,
        /// The response code (0 no error, 2 server failure, 3 no such name).
        rcode: u8,
        /// The addresses answered (A and AAAA records, at most [`MAX_DNS_ADDRS`]).
        addrs: Box<[IpAddr]>,
        /// The DNS server.
        server: IpAddr,
    },
    /// The phone's SYN to a Trust Verification Service (TCP 2445): it asks a call
    /// manager's TVS to vouch for a certificate its ITL does not hold.
    TvsSyn {
        /// The TVS server.
        server: IpAddr,
    },
    /// The TVS server's SYN-ACK.
    TvsSynAck {
        /// The TVS server.
        server: IpAddr,
    },
    /// A reset from the TVS port: the service refuses the phone.
    TvsRst {
        /// The TVS server.
        server: IpAddr,
    },
    /// What the phone's device configuration says, read from the bytes it downloaded
    /// (boxed: an event is as small as its largest kind).
    ConfigRead {
        /// The configuration, as read.
        config: Box<ConfigSummary>,
    },
    /// A message of this device the capture's snap length cut short, unreadable: what
    /// it said is not known (not that it was wrong).
    Cut {
        /// The protocol it was in.
        proto: parsers::Proto,
    },
    /// A message of this device a dissector could not read: the dissector, the byte
    /// offset and what was wrong there.
    Malformed {
        /// The dissector's error (boxed: an event is as small as its largest kind).
        error: Box<DissectError>,
    },
    /// A registered SCCP phone's keepalive left unanswered: it sent the next one, or
    /// its connection ended, with no KeepAliveAck in between.
    KeepaliveMissed {
        /// Call manager.
        cm: IpAddr,
        /// Keepalives unanswered in a row so far.
        misses: u32,
    },
    /// The phone lost the registration it had: keepalives unanswered, the signalling
    /// connection reset or closed, a SIP refresh unanswered or refused.
    RegistrationLost {
        /// SCCP or SIP.
        proto: Signalling,
        /// The call manager it had.
        cm: IpAddr,
        /// Why.
        cause: LossCause,
    },
    /// The phone's TLS ClientHello to a call manager's signalling port.
    TlsClientHello {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
        /// The server name it asked for (escaped), if any.
        server_name: Option<Box<str>>,
        /// How many cipher suites it offered.
        suites: u16,
    },
    /// The call manager's ServerHello: the cipher suite it chose.
    TlsServerHello {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
        /// The suite chosen (IANA number).
        suite: u16,
        /// The suite does not encrypt (NULL): the signalling inside is read in clear.
        null: bool,
    },
    /// A TLS alert on a call-manager connection, either way.
    TlsAlert {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
        /// Its level and description, when in clear (`None`: an encrypted alert).
        alert: Option<(u8, u8)>,
        /// Sent by the phone (else by the call manager).
        from_phone: bool,
    },
    /// Both ends finished the TLS handshake (ChangeCipherSpec both ways, or records
    /// both ways after a TLS 1.3 ServerHello).
    TlsHandshakeDone {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
    },
    /// An encrypted session with the call manager stayed up with records both ways
    /// after its handshake: registered, inferred (what it carries cannot be read).
    TlsSessionUp {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
    },
    /// The TLS handshake with the call manager failed.
    TlsHandshakeFailed {
        /// Call manager.
        cm: IpAddr,
        /// Its port.
        port: u16,
        /// How.
        failure: TlsFailure,
    },
}
/// Why a registration was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossCause {
    /// SCCP keepalives in a row left unanswered (how many).
    KeepalivesUnanswered(u32),
    /// The signalling connection reset (by the call manager, else the phone).
    Reset {
        /// The call manager sent the reset.
        by_cm: bool,
    },
    /// The signalling connection closed (FIN) by one side.
    Closed {
        /// The call manager closed it.
        by_cm: bool,
    },
    /// A SIP REGISTER refresh got no final answer within Timer F.
    RefreshUnanswered,
    /// A SIP REGISTER refresh was refused (its status).
    RefreshRejected(u16),
}

/// A signalling protocol as the timeline writes it (`SCCP`, `SIP`).
fn signalling_name(proto: Signalling) -> &'static str {
    match proto {
        Signalling::Sccp => "SCCP",
        Signalling::Sip => "SIP",
    }
}

impl LossCause {
    /// Said in words, for the timeline and the findings.
    pub fn describe(self) -> String {
        match self {
            LossCause::KeepalivesUnanswered(n) => format!("{n} keepalive(s) in a row unanswered"),
            LossCause::Reset { by_cm: true } => "the call manager reset the connection".into(),
            LossCause::Reset { by_cm: false } => "the phone reset the connection".into(),
            LossCause::Closed { by_cm: true } => "the call manager closed the connection".into(),
            LossCause::Closed { by_cm: false } => "the phone closed the connection".into(),
            LossCause::RefreshUnanswered => {
                "a REGISTER refresh got no answer within Timer F".into()
            }
            LossCause::RefreshRejected(code) => format!("a REGISTER refresh was refused ({code})"),
        }
    }
}

/// How a TLS handshake with a call manager failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// A fatal alert in clear, with its description; or an encrypted one (`None`)
    /// before the session carried data.
    Alert(Option<u8>),
    /// A TCP reset before the handshake finished.
    Reset,
    /// No ServerHello answered the ClientHello in time (`tls_server_hello_ms`), or
    /// the connection closed without one.
    NoServerHello,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::Alert(Some(d)) => match parsers::tls::TlsAlertDescription(*d).name() {
                Some(n) => write!(f, "fatal alert {n} ({d})"),
                None => write!(f, "fatal alert {d}"),
            },
            TlsFailure::Alert(None) => f.write_str("encrypted alert before any data"),
            TlsFailure::Reset => f.write_str("reset during the handshake"),
            TlsFailure::NoServerHello => f.write_str("no ServerHello answered the ClientHello"),
        }
    }
}

impl EventKind {
    /// The text of the TLS events, written with `Display`: a few per connection.
    fn tls_text(&self) -> Option<String> {
        let suite = |n: u16| match parsers::tls::TlsCipherSuite(n).name() {
            Some(name) => name.to_string(),
            None => format!("suite {n:#06x}"),
        };
        Some(match self {
            EventKind::TlsClientHello {
                cm,
                port,
                server_name,
                suites,
            } => {
                let sni = server_name
                    .as_deref()
                    .map_or(String::new(), |n| format!(" for \"{n}\""));
                format!("TLS ClientHello to {cm}:{port}{sni}, {suites} suite(s) offered")
            }
            EventKind::TlsServerHello {
                cm,
                port,
                suite: n,
                null,
            } => {
                let clear = if *null {
                    " (no encryption: signalling read in clear)"
                } else {
                    ""
                };
                format!("TLS ServerHello from {cm}:{port}: {}{clear}", suite(*n))
            }
            EventKind::TlsAlert {
                cm,
                port,
                alert,
                from_phone,
            } => {
                let who = if *from_phone {
                    "from the phone to"
                } else {
                    "from"
                };
                let what = match alert {
                    Some((level, d)) => {
                        let level = parsers::tls::TlsAlertLevel(*level)
                            .name()
                            .map_or_else(|| format!("level {level}"), str::to_string);
                        let d = parsers::tls::TlsAlertDescription(*d)
                            .name()
                            .map_or_else(|| format!("{d}"), str::to_string);
                        format!("{level} {d}")
                    }
                    None => "encrypted".to_string(),
                };
                format!("TLS alert {who} {cm}:{port}: {what}")
            }
            EventKind::TlsHandshakeDone { cm, port } => {
                format!("TLS handshake with {cm}:{port} finished")
            }
            EventKind::TlsSessionUp { cm, port } => format!(
                "TLS session with {cm}:{port} up, records both ways: registration inferred \
                 from an encrypted session"
            ),
            EventKind::TlsHandshakeFailed { cm, port, failure } => {
                format!("TLS handshake with {cm}:{port} failed: {failure}")
            }
            _ => return None,
        })
    }
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

            /// Its place in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }

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
    EapolStart => "eapol_start", Discovery, "the phone's EAPOL-Start (802.1X)";
    EapIdentityRequest => "eap_identity_request", Discovery, "EAP Request/Identity from the switch port (802.1X authenticator)";
    EapIdentity => "eap_identity", Discovery, "the phone's EAP Response/Identity";
    EapMethod => "eap_method", Discovery, "EAP methods offered by the authentication server, or asked for by the phone (Nak)";
    EapSuccess => "eap_success", Discovery, "EAP-Success: the switch port authorised the phone";
    EapFailure => "eap_failure", Discovery, "EAP-Failure: the switch port refused the phone";
    EapolLogoff => "eapol_logoff", Discovery, "the phone's EAPOL-Logoff";
    PoeRequest => "poe_request", Discovery, "the PoE power the phone asks for (CDP, LLDP 802.3 / LLDP-MED)";
    PoeGrant => "poe_grant", Discovery, "the PoE power the switch offers the phone (CDP Power Available, LLDP)";
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
    Keepalive => "keepalive", Registration, "keepalives from the phone (SCCP KeepAliveReq, SIP REGISTER refreshes when due) whose answers are not in the capture";
    KeepaliveAck => "keepalive_ack", Registration, "keepalives answered by the call manager";
    Unregistered => "unregistered", Registration, "de-registrations the call manager confirmed (SIP 2xx to Expires 0, SCCP UnregisterAck)";
    SipCall => "sip_call", Registration, "SIP call and service messages (INVITE and answers, BYE, REFER, NOTIFY) that name the phone";
    Alarm => "alarm", Registration, "alarms from the phone (SCCP Alarm, SIP cisco-alarm)";
    AddressInUse => "address_in_use", Dhcp, "ARP replies or announcements from another MAC for the phone's address";
    ConfigSyn => "config_syn", Config, "TCP SYNs to a configuration server's HTTP / HTTPS port (6970 / 6971)";
    ConfigSynAck => "config_syn_ack", Config, "SYN-ACKs from a configuration server's 6970 / 6971";
    ConfigRst => "config_rst", Config, "TCP resets from a configuration server's 6970 / 6971";
    IcmpUnreachable => "icmp_unreachable", Registration, "ICMP / ICMPv6 unreachables answering the phone's TFTP, config or call-manager packets";
    DnsQuery => "dns_query", Config, "DNS lookups by the phone";
    DnsAnswer => "dns_answer", Config, "DNS answers to the phone";
    TvsSyn => "tvs_syn", Config, "TCP SYNs to a TVS server (2445, Trust Verification Service)";
    TvsSynAck => "tvs_syn_ack", Config, "SYN-ACKs from a TVS server";
    TvsRst => "tvs_rst", Config, "TCP resets from a TVS server: the service refused the phone";
    ConfigRead => "config_read", Config, "device configurations read: call managers, SRST, security mode (encrypted ones say so)";
    Cut => "cut", Discovery, "messages the capture's snap length cut short, unreadable";
    Malformed => "malformed", Discovery, "messages that could not be read";
    KeepaliveMissed => "keepalive_missed", Registration, "a registered phone's SCCP keepalives left unanswered (the next one sent, or the connection ended, without a KeepAliveAck)";
    RegistrationLost => "registration_lost", Registration, "registrations lost: keepalives unanswered, the signalling connection reset or closed, a SIP refresh unanswered or refused";
    TlsClientHello => "tls_client_hello", Registration, "TLS ClientHellos from the phone to a call manager's signalling port";
    TlsServerHello => "tls_server_hello", Registration, "TLS ServerHellos from a call manager (the suite chosen)";
    TlsAlert => "tls_alert", Registration, "TLS alerts on a call-manager connection, either way";
    TlsHandshakeDone => "tls_handshake_done", Registration, "TLS handshakes with a call manager finished both ways";
    TlsSessionUp => "tls_session_up", Registration, "encrypted sessions with a call manager up with records both ways (registration inferred)";
    TlsHandshakeFailed => "tls_handshake_failed", Registration, "TLS handshakes with a call manager that failed (fatal alert, reset, no ServerHello)";
}

impl EventType {
    /// Sent to the phone by one of its servers (DHCP server, file server, call
    /// manager): what a capture of the phone's side alone never holds.
    pub fn is_server_answer(self) -> bool {
        use EventType::*;
        matches!(
            self,
            DhcpOffer
                | DhcpAck
                | DhcpNak
                | FileReceived
                | FileNotFound
                | FileError
                | CmSynAck
                | CmRst
                | RegisterAck
                | RegisterReject
                | RegisterChallenge
                | KeepaliveAck
                | Unregistered
                | ConfigSynAck
                | ConfigRst
                | IcmpUnreachable
        )
    }

    /// Sent by the phone to one of its servers.
    pub fn is_phone_ask(self) -> bool {
        use EventType::*;
        matches!(
            self,
            DhcpDiscover
                | DhcpRequest
                | DhcpDecline
                | FileRequest
                | CmSyn
                | Register
                | Keepalive
                | ConfigSyn
        )
    }
}

impl EventKind {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::PhoneAnnounce { .. } => EventType::PhoneAnnounce,
            EventKind::SwitchVoiceVlan { .. } => EventType::SwitchVoiceVlan,
            EventKind::SwitchNoVoiceVlan { .. } => EventType::SwitchNoVoiceVlan,
            EventKind::EapolStart => EventType::EapolStart,
            EventKind::EapIdentityRequest => EventType::EapIdentityRequest,
            EventKind::EapIdentity { .. } => EventType::EapIdentity,
            EventKind::EapMethod { .. } => EventType::EapMethod,
            EventKind::EapSuccess => EventType::EapSuccess,
            EventKind::EapFailure => EventType::EapFailure,
            EventKind::EapolLogoff => EventType::EapolLogoff,
            EventKind::PoeRequest { .. } => EventType::PoeRequest,
            EventKind::PoeGrant { .. } => EventType::PoeGrant,
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
            EventKind::Keepalive { .. } => EventType::Keepalive,
            EventKind::KeepaliveAck { .. } => EventType::KeepaliveAck,
            EventKind::Unregistered { .. } => EventType::Unregistered,
            EventKind::SipCall { .. } => EventType::SipCall,
            EventKind::Alarm { .. } => EventType::Alarm,
            EventKind::AddressInUse { .. } => EventType::AddressInUse,
            EventKind::ConfigSyn { .. } => EventType::ConfigSyn,
            EventKind::ConfigSynAck { .. } => EventType::ConfigSynAck,
            EventKind::ConfigRst { .. } => EventType::ConfigRst,
            EventKind::IcmpUnreachable { .. } => EventType::IcmpUnreachable,
            EventKind::DnsQuery { .. } => EventType::DnsQuery,
            EventKind::DnsAnswer { .. } => EventType::DnsAnswer,
            EventKind::ConfigRead { .. } => EventType::ConfigRead,
            EventKind::TvsSyn { .. } => EventType::TvsSyn,
            EventKind::TvsSynAck { .. } => EventType::TvsSynAck,
            EventKind::TvsRst { .. } => EventType::TvsRst,
            EventKind::Cut { .. } => EventType::Cut,
            EventKind::Malformed { .. } => EventType::Malformed,
            EventKind::KeepaliveMissed { .. } => EventType::KeepaliveMissed,
            EventKind::RegistrationLost { .. } => EventType::RegistrationLost,
            EventKind::TlsClientHello { .. } => EventType::TlsClientHello,
            EventKind::TlsServerHello { .. } => EventType::TlsServerHello,
            EventKind::TlsAlert { .. } => EventType::TlsAlert,
            EventKind::TlsHandshakeDone { .. } => EventType::TlsHandshakeDone,
            EventKind::TlsSessionUp { .. } => EventType::TlsSessionUp,
            EventKind::TlsHandshakeFailed { .. } => EventType::TlsHandshakeFailed,
        }
    }

    /// The boot stage the event belongs to (a firmware file is `firmware`).
    pub fn stage(&self) -> Stage {
        match self {
            EventKind::FileRequest { class, .. }
            | EventKind::FileReceived { class, .. }
            | EventKind::FileNotFound { class, .. }
            | EventKind::FileError { class, .. } => class.stage(),
            EventKind::Cut { proto } => match proto {
                parsers::Proto::Cdp
                | parsers::Proto::Lldp
                | parsers::Proto::Gre
                | parsers::Proto::Erspan
                | parsers::Proto::Vxlan
                | parsers::Proto::Capwap
                | parsers::Proto::Ieee80211
                | parsers::Proto::Eapol
                | parsers::Proto::Arp => Stage::Discovery,
                parsers::Proto::Dns | parsers::Proto::Icmp => Stage::Registration,
                parsers::Proto::Dhcp => Stage::Dhcp,
                parsers::Proto::Tftp | parsers::Proto::Http | parsers::Proto::CnfXml => {
                    Stage::Config
                }
                parsers::Proto::Sccp | parsers::Proto::Sip => Stage::Registration,
                parsers::Proto::Tls => Stage::Registration,
            },
            // An unreachable answers a file request (config) or a call manager's
            // signalling (registration).
            EventKind::IcmpUnreachable { port, .. } if is_config_port(*port) => Stage::Config,
            k => k.event_type().stage(),
        }
    }
}

/// Whether `port` is a configuration server's (TFTP 69, HTTP 6970, HTTPS 6971).
pub fn is_config_port(port: u16) -> bool {
    matches!(port, 69 | 6970 | 6971)
}

/// The side of a boot a message was exchanged with: a lane of a ladder diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PeerRole {
    /// The access switch (CDP / LLDP-MED).
    Switch,
    /// The switch port as 802.1X authenticator (EAPOL), relaying the authentication
    /// server's EAP.
    Authenticator,
    /// The DHCP server (or its relay).
    DhcpServer,
    /// A TFTP or HTTP (6970) configuration / firmware server.
    FileServer,
    /// A call manager (SCCP / SIP).
    CallManager,
    /// A DNS server.
    DnsServer,
}

impl PeerRole {
    /// The snake_case name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerRole::Switch => "switch",
            PeerRole::Authenticator => "authenticator",
            PeerRole::DhcpServer => "dhcp_server",
            PeerRole::FileServer => "file_server",
            PeerRole::CallManager => "call_manager",
            PeerRole::DnsServer => "dns_server",
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
            EventKind::EapolStart | EventKind::EapIdentity { .. } | EventKind::EapolLogoff => {
                x(PeerRole::Authenticator, FromPhone, None)
            }
            EventKind::EapIdentityRequest | EventKind::EapSuccess | EventKind::EapFailure => {
                x(PeerRole::Authenticator, ToPhone, None)
            }
            EventKind::EapMethod { from_phone, .. } => x(
                PeerRole::Authenticator,
                if *from_phone { FromPhone } else { ToPhone },
                None,
            ),
            EventKind::PoeRequest { .. } => x(PeerRole::Switch, FromPhone, None),
            EventKind::PoeGrant { .. } => x(PeerRole::Switch, ToPhone, None),
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
            EventKind::CmSyn { cm, .. }
            | EventKind::Register { cm, .. }
            | EventKind::Keepalive { cm, .. } => x(PeerRole::CallManager, FromPhone, Some(*cm)),
            // A reset is reported from the call manager's side of the connection.
            EventKind::CmSynAck { cm, .. }
            | EventKind::CmRst { cm, .. }
            | EventKind::RegisterAck { cm, .. }
            | EventKind::RegisterReject { cm, .. }
            | EventKind::RegisterChallenge { cm, .. }
            | EventKind::KeepaliveAck { cm }
            | EventKind::Unregistered { cm, .. } => x(PeerRole::CallManager, ToPhone, Some(*cm)),
            EventKind::SipCall { cm, from_phone, .. } => x(
                PeerRole::CallManager,
                if *from_phone { FromPhone } else { ToPhone },
                Some(*cm),
            ),
            // Reported once per boot, for the first encrypted segment either way.
            EventKind::CmTls { cm, .. } => Some(Exchange {
                role: PeerRole::CallManager,
                dir: None,
                addr: Some(*cm),
            }),
            // SCCP Alarm and SIP cisco-alarm travel to the call manager.
            EventKind::Alarm { .. } => x(PeerRole::CallManager, FromPhone, None),
            // Another host on the phone's segment: drawn from the switch's lane.
            EventKind::AddressInUse { .. } => x(PeerRole::Switch, ToPhone, None),
            EventKind::ConfigSyn { server, .. } => {
                x(PeerRole::FileServer, FromPhone, Some(*server))
            }
            EventKind::ConfigSynAck { server, .. } | EventKind::ConfigRst { server, .. } => {
                x(PeerRole::FileServer, ToPhone, Some(*server))
            }
            // Drawn from the lane of the server the phone's packet was for.
            EventKind::IcmpUnreachable { server, port, .. } => {
                let role = if is_config_port(*port) {
                    PeerRole::FileServer
                } else {
                    PeerRole::CallManager
                };
                x(role, ToPhone, Some(*server))
            }
            EventKind::DnsQuery { server, .. } => x(PeerRole::DnsServer, FromPhone, Some(*server)),
            EventKind::DnsAnswer { server, .. } => x(PeerRole::DnsServer, ToPhone, Some(*server)),
            // Read from the file the server sent: drawn on its lane.
            EventKind::ConfigRead { .. } => x(PeerRole::FileServer, ToPhone, None),
            // The TVS runs on the call managers.
            EventKind::TvsSyn { server } => x(PeerRole::CallManager, FromPhone, Some(*server)),
            EventKind::TvsSynAck { server } | EventKind::TvsRst { server } => {
                x(PeerRole::CallManager, ToPhone, Some(*server))
            }
            EventKind::Cut { .. } | EventKind::Malformed { .. } => None,
            // The phone's keepalive, unanswered; a loss is the phone's with its call manager.
            EventKind::KeepaliveMissed { cm, .. } | EventKind::RegistrationLost { cm, .. } => {
                x(PeerRole::CallManager, FromPhone, Some(*cm))
            }
            EventKind::TlsClientHello { cm, .. } => x(PeerRole::CallManager, FromPhone, Some(*cm)),
            EventKind::TlsServerHello { cm, .. } | EventKind::TlsHandshakeFailed { cm, .. } => {
                x(PeerRole::CallManager, ToPhone, Some(*cm))
            }
            EventKind::TlsAlert { cm, from_phone, .. } => x(
                PeerRole::CallManager,
                if *from_phone { FromPhone } else { ToPhone },
                Some(*cm),
            ),
            EventKind::TlsHandshakeDone { cm, .. } | EventKind::TlsSessionUp { cm, .. } => {
                Some(Exchange {
                    role: PeerRole::CallManager,
                    dir: None,
                    addr: Some(*cm),
                })
            }
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
            EventKind::EapIdentity { identity } => identity.len(),
            EventKind::SipCall { message, .. } => message.len(),
            EventKind::DnsQuery { name, .. } => name.len(),
            EventKind::DnsAnswer { name, addrs, .. } => {
                name.len() + std::mem::size_of_val::<[IpAddr]>(addrs)
            }
            EventKind::DhcpOffer {
                option150_ascii, ..
            } => option150_ascii.as_ref().map_or(0, |t| t.len()),
            EventKind::Malformed { .. } => std::mem::size_of::<DissectError>(),
            EventKind::ConfigRead { config } => config.heap_bytes(),
            EventKind::DhcpAck { tftp, .. } => {
                let text = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
                std::mem::size_of::<TftpOffer>()
                    + (tftp.servers.capacity()
                        + tftp.dns_servers.capacity()
                        + tftp.routers.capacity())
                        * std::mem::size_of::<Ipv4Addr>()
                    + text(&tftp.option150_ascii)
                    + text(&tftp.option66)
            }
            _ => 0,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl EventKind {
    /// The event in words, as the report's timeline says it (what `Display` writes).
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        self.push_text_bytes(&mut out);
        utf8(out)
    }

    /// Append the event in words to `out`, as UTF-8 (a buffer reused across events
    /// costs no allocation per event; [`utf8`] makes the text a `String`).
    //
    // Pieces and numbers go out as bytes, without `core::fmt` and without checking
    // each piece is UTF-8 (they are `&str`s or ASCII digits): the timelines of a
    // 10 000-phone capture hold a quarter of a million events, and formatting each
    // address through `Ipv4Addr`'s `Display` (padding machinery, one call per octet)
    // was most of the verdicts' time.
    pub fn push_text_bytes(&self, out: &mut Vec<u8>) {
        match self {
            EventKind::PhoneAnnounce { proto, ip } => {
                out.put(proto.as_str());
                out.put(" from the phone");
                if let Some(ip) = ip {
                    out.put(", already at ");
                    put_ipv4(out, *ip);
                }
            }
            EventKind::SwitchVoiceVlan { proto, vlan } => {
                out.put("switch ");
                out.put(proto.as_str());
                out.put(": voice VLAN ");
                put_decimal(out, (*vlan).into());
            }
            EventKind::SwitchNoVoiceVlan { proto } => {
                out.put("switch ");
                out.put(proto.as_str());
                out.put(": no voice VLAN");
            }
            EventKind::EapolStart => out.put("802.1X: EAPOL-Start from the phone"),
            EventKind::EapIdentityRequest => {
                out.put("802.1X: EAP Request/Identity from the switch port");
            }
            EventKind::EapIdentity { identity } => {
                out.put("802.1X: EAP Response/Identity \"");
                out.put(identity);
                out.put("\"");
            }
            EventKind::EapMethod { method, from_phone } => {
                out.put(if *from_phone {
                    "802.1X: the phone asks for EAP method "
                } else {
                    "802.1X: EAP method "
                });
                put_eap_method(out, *method);
                if !*from_phone {
                    out.put(" offered");
                }
            }
            EventKind::EapSuccess => out.put("802.1X: EAP-Success, port authorised"),
            EventKind::EapFailure => out.put("802.1X: EAP-Failure, port not authorised"),
            EventKind::EapolLogoff => out.put("802.1X: EAPOL-Logoff from the phone"),
            EventKind::PoeRequest { proto, mw } => {
                out.put(proto.as_str());
                out.put(": the phone asks for ");
                put_decimal(out, (*mw).into());
                out.put(" mW of PoE");
            }
            EventKind::PoeGrant { proto, mw } => {
                out.put("switch ");
                out.put(proto.as_str());
                out.put(": ");
                put_decimal(out, (*mw).into());
                out.put(" mW of PoE available");
            }
            EventKind::DhcpDiscover { xid, vlan } => {
                out.put("DHCP DISCOVER xid ");
                put_xid(out, *xid);
                match vlan {
                    Some(v) => {
                        out.put(" on VLAN ");
                        put_decimal(out, (*v).into());
                    }
                    None => out.put(" untagged"),
                }
            }
            EventKind::DhcpOffer {
                yiaddr,
                server,
                option150_ascii,
                ..
            } => {
                out.put("DHCP OFFER ");
                put_ipv4(out, *yiaddr);
                put_from(out, *server);
                if let Some(t) = option150_ascii {
                    out.put(", option 150 as text \"");
                    out.put(t);
                    out.put("\"");
                }
            }
            EventKind::DhcpRequest { requested, .. } => {
                out.put("DHCP REQUEST");
                if let Some(ip) = requested {
                    out.put(" ");
                    put_ipv4(out, *ip);
                }
            }
            EventKind::DhcpAck {
                yiaddr,
                server,
                tftp,
                ..
            } => {
                out.put("DHCP ACK ");
                put_ipv4(out, *yiaddr);
                put_from(out, *server);
                for (i, s) in tftp.servers.iter().enumerate() {
                    out.put(if i == 0 { ", TFTP " } else { "," });
                    put_ipv4(out, *s);
                }
                // The texts were escaped when they left the wire: quoted, not
                // `{:?}`, which would escape the escapes again.
                if let Some(t) = &tftp.option150_ascii {
                    out.put(", option 150 as text \"");
                    out.put(t);
                    out.put("\"");
                }
                let option66_name = tftp
                    .option66
                    .as_deref()
                    .filter(|n| n.parse::<Ipv4Addr>().is_err());
                if let Some(n) = option66_name {
                    out.put(", option 66 name \"");
                    out.put(n);
                    out.put("\"");
                }
                if tftp.servers.is_empty()
                    && tftp.option150_ascii.is_none()
                    && tftp.option66.is_none()
                {
                    out.put(", no option 150 / 66");
                }
            }
            EventKind::DhcpNak { server, .. } => {
                out.put("DHCP NAK");
                put_from(out, *server);
            }
            EventKind::DhcpDecline { addr, .. } => {
                out.put("DHCP DECLINE");
                if let Some(ip) = addr {
                    out.put(" ");
                    put_ipv4(out, *ip);
                    out.put(": the address is in use");
                }
            }
            EventKind::FileRequest {
                file, server, via, ..
            } => {
                out.put(via_request(*via));
                out.put(" ");
                out.put(file);
                out.put(" from ");
                push_ip(out, *server);
            }
            EventKind::FileReceived { file, bytes, .. } => {
                out.put("received ");
                out.put(file);
                out.put(" (");
                put_decimal(out, *bytes);
                out.put(" bytes)");
            }
            EventKind::FileNotFound { file, .. } => {
                out.put(file);
                out.put(": file not found");
            }
            EventKind::FileError {
                file, code, text, ..
            } => {
                out.put(file);
                out.put(": error ");
                put_decimal(out, (*code).into());
                out.put(" ");
                out.put(text);
            }
            EventKind::CmSyn { cm, port } => {
                out.put("TCP SYN to ");
                put_endpoint(out, *cm, *port);
            }
            EventKind::CmSynAck { cm, port } => {
                out.put("SYN-ACK from ");
                put_endpoint(out, *cm, *port);
            }
            EventKind::CmRst { cm, port } => {
                out.put("TCP RST on ");
                put_endpoint(out, *cm, *port);
            }
            EventKind::CmTls { cm, port } => {
                out.put("TLS data with ");
                put_endpoint(out, *cm, *port);
            }
            EventKind::Register { proto, cm, expires } => {
                out.put(match proto {
                    Signalling::Sccp => "SCCP RegisterReq to ",
                    Signalling::Sip => "SIP REGISTER to ",
                });
                push_ip(out, *cm);
                if let Some(e) = expires {
                    out.put(" (Expires ");
                    put_decimal(out, (*e).into());
                    out.put(")");
                }
            }
            EventKind::RegisterAck { proto, cm } => {
                out.put(match proto {
                    Signalling::Sccp => "SCCP RegisterAck from ",
                    Signalling::Sip => "SIP 200 OK to REGISTER from ",
                });
                push_ip(out, *cm);
            }
            EventKind::RegisterReject {
                proto,
                cm,
                code,
                reason,
                ..
            } => match proto {
                Signalling::Sccp => {
                    out.put("SCCP RegisterReject from ");
                    push_ip(out, *cm);
                    out.put(": \"");
                    out.put(reason);
                    out.put("\"");
                }
                Signalling::Sip => {
                    out.put("SIP ");
                    put_decimal(out, (*code).into());
                    out.put(" ");
                    out.put(reason);
                    out.put(" to REGISTER from ");
                    push_ip(out, *cm);
                }
            },
            EventKind::RegisterChallenge { cm, code } => {
                out.put("SIP ");
                put_decimal(out, (*code).into());
                out.put(": ");
                push_ip(out, *cm);
                out.put(" asks for credentials");
            }
            EventKind::Keepalive { proto, cm } => {
                out.put(match proto {
                    Signalling::Sccp => "SCCP keepalive to ",
                    Signalling::Sip => "SIP REGISTER refresh, the last one answered, to ",
                });
                push_ip(out, *cm);
            }
            EventKind::KeepaliveAck { cm } => {
                out.put("keepalive answered by ");
                push_ip(out, *cm);
            }
            EventKind::Unregistered { proto, cm } => {
                out.put(match proto {
                    Signalling::Sccp => "SCCP UnregisterAck from ",
                    Signalling::Sip => "SIP 200 OK to the de-registration (Expires 0) from ",
                });
                push_ip(out, *cm);
                out.put(": no longer registered");
            }
            EventKind::SipCall {
                cm,
                message,
                from_phone,
            } => {
                out.put("SIP ");
                out.put(message);
                if *from_phone {
                    out.put(" to ");
                    push_ip(out, *cm);
                    out.put(": in a call, so registered");
                } else {
                    out.put(" from ");
                    push_ip(out, *cm);
                    out.put(" names the phone: in a call, so registered");
                }
            }
            EventKind::Alarm { text } => {
                out.put("phone alarm: ");
                out.put(text);
            }
            EventKind::AddressInUse { .. }
            | EventKind::ConfigSyn { .. }
            | EventKind::ConfigSynAck { .. }
            | EventKind::ConfigRst { .. }
            | EventKind::IcmpUnreachable { .. }
            | EventKind::DnsQuery { .. }
            | EventKind::DnsAnswer { .. }
            | EventKind::ConfigRead { .. }
            | EventKind::TvsSyn { .. }
            | EventKind::TvsSynAck { .. }
            | EventKind::TvsRst { .. } => {
                let _ = self.write_address_text(out);
            }
            EventKind::Cut { proto } => {
                out.put(proto.name());
                out.put(" message cut short by the capture's snap length: unreadable");
            }
            EventKind::Malformed { error } => {
                out.put("malformed ");
                out.put(error.proto.name());
                out.put(": ");
                out.put(&error.kind.to_string());
            }
            EventKind::KeepaliveMissed { cm, misses } => {
                out.put("keepalive to ");
                push_ip(out, *cm);
                out.put(" unanswered (");
                put_decimal(out, (*misses).into());
                out.put(" in a row)");
            }
            EventKind::RegistrationLost { proto, cm, cause } => {
                out.put(signalling_name(*proto));
                out.put(" registration with ");
                push_ip(out, *cm);
                out.put(" lost: ");
                out.put(&cause.describe());
            }
            EventKind::TlsClientHello { .. }
            | EventKind::TlsServerHello { .. }
            | EventKind::TlsAlert { .. }
            | EventKind::TlsHandshakeDone { .. }
            | EventKind::TlsSessionUp { .. }
            | EventKind::TlsHandshakeFailed { .. } => {
                out.put(&self.tls_text().unwrap_or_default());
            }
        }
    }
}

impl EventKind {
    /// The text of the address and lookup events (ARP, the config server's TCP, ICMP,
    /// DNS), written with `Display`: they are few per phone.
    fn write_address_text(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        match self {
            EventKind::AddressInUse { ip, mac } => {
                write!(
                    out,
                    "ARP: {ip} is at {mac}, another device: the address is taken"
                )
            }
            EventKind::ConfigSyn { server, port } => write!(out, "TCP SYN to {server}:{port}"),
            EventKind::ConfigSynAck { server, port } => {
                write!(out, "SYN-ACK from {server}:{port}")
            }
            EventKind::ConfigRst { server, port } => {
                write!(out, "TCP RST from {server}:{port}: connection refused")
            }
            EventKind::IcmpUnreachable {
                from,
                server,
                port,
                tcp,
                reason,
            } => {
                let proto = if *tcp { "TCP" } else { "UDP" };
                write!(out, "ICMP {reason} from {from} for {proto} {server}:{port}")
            }
            EventKind::DnsQuery {
                name,
                qtype,
                server,
            } => {
                write!(
                    out,
                    "DNS query {} {name} to {server}",
                    dns_type_name(*qtype)
                )
            }
            EventKind::DnsAnswer {
                name,
                rcode,
                addrs,
                server,
            } => {
                write!(out, "DNS answer for {name} from {server}: ")?;
                match rcode {
                    0 if addrs.is_empty() => write!(out, "no address"),
                    0 => {
                        for (i, a) in addrs.iter().enumerate() {
                            write!(out, "{}{a}", if i > 0 { ", " } else { "" })?;
                        }
                        Ok(())
                    }
                    2 => write!(out, "server failure (SERVFAIL)"),
                    3 => write!(out, "no such name (NXDOMAIN)"),
                    5 => write!(out, "refused"),
                    r => write!(out, "error {r}"),
                }
            }
            EventKind::ConfigRead { config } => config.write_text(out),
            EventKind::TvsSyn { server } => write!(out, "TCP SYN to the TVS {server}:2445"),
            EventKind::TvsSynAck { server } => write!(out, "SYN-ACK from the TVS {server}:2445"),
            EventKind::TvsRst { server } => {
                write!(out, "TCP RST from the TVS {server}:2445: refused")
            }
            _ => Ok(()),
        }
    }
}

/// A DNS record type's name (the few a phone asks for), else its number.
fn dns_type_name(qtype: u16) -> std::borrow::Cow<'static, str> {
    match qtype {
        1 => "A".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        35 => "NAPTR".into(),
        t => format!("type {t}").into(),
    }
}

/// Appending text to a byte buffer that holds UTF-8.
trait Put {
    fn put(&mut self, s: &str);
}

impl Put for Vec<u8> {
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

/// Text written by [`EventKind::push_text_bytes`] as a `String`. Every piece it
/// writes is a `&str` or ASCII, so the check never fails (and would only replace,
/// never panic).
pub fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// ` from <server>`, when there is one.
fn put_from(out: &mut Vec<u8>, server: Option<Ipv4Addr>) {
    if let Some(s) = server {
        out.put(" from ");
        put_ipv4(out, s);
    }
}

/// `<address>:<port>`.
fn put_endpoint(out: &mut Vec<u8>, ip: IpAddr, port: u16) {
    push_ip(out, ip);
    out.put(":");
    put_decimal(out, port.into());
}

/// An address as `IpAddr`'s `Display` writes it (dotted quad; IPv6 through std),
/// appended to `out`.
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => put_ipv4(out, v4),
        IpAddr::V6(v6) => out.put(&v6.to_string()),
    }
}

/// A dotted quad.
fn put_ipv4(out: &mut Vec<u8>, ip: Ipv4Addr) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        put_decimal(out, octet.into());
    }
}

/// An address as `to_string()` writes it.
pub fn ip_string(ip: IpAddr) -> String {
    ip.to_string()
}

/// An unsigned number in decimal.
fn put_decimal(out: &mut Vec<u8>, n: u64) {
    // Writing into a `Vec` cannot fail.
    let _ = write!(out, "{n}");
}

/// A DHCP transaction id as `{:#010x}` writes it: `0x` and eight lower-case digits.
fn put_xid(out: &mut Vec<u8>, xid: u32) {
    let _ = write!(out, "{xid:#010x}");
}

/// An EAP method: its name and code (`TLS (13)`), or `type N` when it has none.
fn put_eap_method(out: &mut Vec<u8>, method: u8) {
    match parsers::eapol::EapType(method).name() {
        Some(name) => {
            out.put(name);
            out.put(" (");
            put_decimal(out, method.into());
            out.put(")");
        }
        None => {
            out.put("type ");
            put_decimal(out, method.into());
        }
    }
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

    /// Sort by (time, frame): capture order is not always time order, though it
    /// nearly always is, and then one pass tells.
    pub fn finish(&mut self) {
        let order = |e: &Event| (e.ts_ns, e.frame);
        if !self.events.is_sorted_by_key(order) {
            self.events.sort_by_key(order);
        }
    }
}

/// How a device configuration came: the XML, signed (readable behind the signature) or
/// encrypted (unreadable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfigEnvelope {
    /// `.cnf.xml`.
    #[default]
    Plain,
    /// `.cnf.xml.sgn`.
    Signed,
    /// `.cnf.xml.enc.sgn`.
    Encrypted,
}

impl ConfigEnvelope {
    /// The snake_case name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigEnvelope::Plain => "plain",
            ConfigEnvelope::Signed => "signed",
            ConfigEnvelope::Encrypted => "encrypted",
        }
    }
}

/// A call manager of the configuration's group, in priority order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfiguredCm {
    /// What the phone connects to: its `processNodeName` (an address or a host name).
    pub host: Box<str>,
    /// SCCP (`ethernetPhonePort`, 2000).
    pub sccp_port: Option<u16>,
    /// SIP (`sipPort`, 5060).
    pub sip_port: Option<u16>,
    /// SIP over TLS (`securedSipPort`, 5061).
    pub secured_sip_port: Option<u16>,
}

/// What a phone's device configuration says (`parsers::cnfxml`, made owned and escaped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigSummary {
    /// The file it came in.
    pub file: Box<str>,
    /// Plain, signed or encrypted (nothing else is known of an encrypted one).
    pub envelope: ConfigEnvelope,
    /// The call-manager group, in priority order.
    pub call_managers: Vec<ConfiguredCm>,
    /// `deviceSecurityMode`: 1 non-secure, 2 authenticated, 3 encrypted.
    pub security_mode: Option<u8>,
    /// The SRST routers of `srstInfo` (none when absent or disabled).
    pub srst: Vec<Box<str>>,
    /// `srstInfo`'s `srstOption`.
    pub srst_option: Option<Box<str>>,
    /// The TVS servers, with their ports (2445).
    pub tvs: Vec<(Box<str>, u16)>,
    /// `capfAuthMode`.
    pub capf_auth_mode: Option<u8>,
    /// The CAPF servers, with their ports (3804).
    pub capf: Vec<(Box<str>, u16)>,
    /// `loadInformation`.
    pub load: Option<Box<str>>,
    /// `transportLayerProtocol`.
    pub transport: Option<u8>,
    /// `loadServer`.
    pub load_server: Option<Box<str>>,
    /// The whole document was read (not cut by the capture or by the bound kept).
    pub complete: bool,
}

impl ConfigSummary {
    /// The security mode in words.
    pub fn security_name(&self) -> Option<&'static str> {
        self.security_mode.map(|m| match m {
            1 => "non-secure",
            2 => "authenticated",
            3 => "encrypted",
            _ => "unknown",
        })
    }

    /// Whether the configuration demands a secure registration (mode 2 or 3).
    pub fn secure(&self) -> bool {
        self.security_mode.is_some_and(|m| m >= 2)
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        let t = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
        std::mem::size_of::<Self>()
            + self.file.len()
            + self
                .call_managers
                .iter()
                .map(|c| std::mem::size_of::<ConfiguredCm>() + c.host.len())
                .sum::<usize>()
            + self.srst.iter().map(|s| 16 + s.len()).sum::<usize>()
            + self
                .tvs
                .iter()
                .chain(&self.capf)
                .map(|s| 24 + s.0.len())
                .sum::<usize>()
            + t(&self.srst_option)
            + t(&self.load)
            + t(&self.load_server)
    }

    /// The timeline's words: "config read: 3 call managers a, b, c, security mode
    /// authenticated, SRST 10.1.1.1".
    fn write_text(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        if self.envelope == ConfigEnvelope::Encrypted {
            return write!(
                out,
                "config {} is encrypted: what it says cannot be read",
                self.file
            );
        }
        write!(out, "config read from {}: ", self.file)?;
        match self.call_managers.len() {
            0 => write!(out, "no call manager")?,
            1 => write!(out, "1 call manager ")?,
            n => write!(out, "{n} call managers ")?,
        }
        for (i, c) in self.call_managers.iter().enumerate() {
            write!(out, "{}{}", if i > 0 { ", " } else { "" }, c.host)?;
        }
        if let Some(m) = self.security_name() {
            write!(out, ", security mode {m}")?;
        }
        if !self.srst.is_empty() {
            write!(out, ", SRST {}", self.srst.join(", "))?;
        }
        for (host, port) in &self.tvs {
            write!(out, ", TVS {host}:{port}")?;
        }
        if !self.complete {
            write!(out, " (read in part: the file was cut)")?;
        }
        Ok(())
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
                EventKind::EapolStart => write!(f, "802.1X: EAPOL-Start from the phone"),
                EventKind::EapIdentityRequest => {
                    write!(f, "802.1X: EAP Request/Identity from the switch port")
                }
                EventKind::EapIdentity { identity } => {
                    write!(f, "802.1X: EAP Response/Identity \"{identity}\"")
                }
                EventKind::EapMethod { method, from_phone } => {
                    let name = match parsers::eapol::EapType(*method).name() {
                        Some(n) => format!("{n} ({method})"),
                        None => format!("type {method}"),
                    };
                    if *from_phone {
                        write!(f, "802.1X: the phone asks for EAP method {name}")
                    } else {
                        write!(f, "802.1X: EAP method {name} offered")
                    }
                }
                EventKind::EapSuccess => write!(f, "802.1X: EAP-Success, port authorised"),
                EventKind::EapFailure => write!(f, "802.1X: EAP-Failure, port not authorised"),
                EventKind::EapolLogoff => write!(f, "802.1X: EAPOL-Logoff from the phone"),
                EventKind::PoeRequest { proto, mw } => {
                    write!(f, "{proto}: the phone asks for {mw} mW of PoE")
                }
                EventKind::PoeGrant { proto, mw } => {
                    write!(f, "switch {proto}: {mw} mW of PoE available")
                }
                EventKind::DhcpDiscover { xid, vlan } => match vlan {
                    Some(v) => write!(f, "DHCP DISCOVER xid {xid:#010x} on VLAN {v}"),
                    None => write!(f, "DHCP DISCOVER xid {xid:#010x} untagged"),
                },
                EventKind::DhcpOffer {
                    yiaddr,
                    server,
                    option150_ascii,
                    ..
                } => {
                    write!(f, "DHCP OFFER {yiaddr}")?;
                    if let Some(s) = server {
                        write!(f, " from {s}")?;
                    }
                    if let Some(t) = option150_ascii {
                        write!(f, ", option 150 as text \"{t}\"")?;
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
                EventKind::DhcpDecline { addr: None, .. } => write!(f, "DHCP DECLINE"),
                EventKind::DhcpDecline { addr: Some(a), .. } => {
                    write!(f, "DHCP DECLINE {a}: the address is in use")
                }
                EventKind::FileRequest {
                    file, server, via, ..
                } => {
                    write!(f, "{} {file} from {server}", via_request(*via))
                }
                EventKind::FileReceived { file, bytes, .. } => {
                    write!(f, "received {file} ({bytes} bytes)")
                }
                EventKind::FileNotFound { file, .. } => write!(f, "{file}: file not found"),
                EventKind::FileError {
                    file, code, text, ..
                } => {
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
                EventKind::Keepalive { proto, cm } => match proto {
                    Signalling::Sccp => write!(f, "SCCP keepalive to {cm}"),
                    Signalling::Sip => {
                        write!(f, "SIP REGISTER refresh, the last one answered, to {cm}")
                    }
                },
                EventKind::KeepaliveAck { cm } => write!(f, "keepalive answered by {cm}"),
                EventKind::Unregistered { proto, cm } => match proto {
                    Signalling::Sccp => write!(f, "SCCP UnregisterAck from {cm}: no longer registered"),
                    Signalling::Sip => write!(
                        f,
                        "SIP 200 OK to the de-registration (Expires 0) from {cm}: no longer registered"
                    ),
                },
                EventKind::SipCall {
                    cm,
                    message,
                    from_phone: true,
                } => write!(f, "SIP {message} to {cm}: in a call, so registered"),
                EventKind::SipCall { cm, message, .. } => {
                    write!(f, "SIP {message} from {cm} names the phone: in a call, so registered")
                }
                EventKind::Alarm { text } => write!(f, "phone alarm: {text}"),
                // Written with `Display` in the first place.
                k @ (EventKind::AddressInUse { .. }
                | EventKind::ConfigSyn { .. }
                | EventKind::ConfigSynAck { .. }
                | EventKind::ConfigRst { .. }
                | EventKind::IcmpUnreachable { .. }
                | EventKind::DnsQuery { .. }
                | EventKind::DnsAnswer { .. }
                | EventKind::ConfigRead { .. }
                | EventKind::TvsSyn { .. }
                | EventKind::TvsSynAck { .. }
                | EventKind::TvsRst { .. }) => {
                    let mut b = Vec::new();
                    k.write_address_text(&mut b).unwrap();
                    f.write_str(&String::from_utf8(b).unwrap())
                }
                EventKind::Cut { proto } => write!(
                    f,
                    "{} message cut short by the capture's snap length: unreadable",
                    proto.name()
                ),
                EventKind::Malformed { error } => {
                    write!(f, "malformed {}: {}", error.proto.name(), error.kind)
                }
                EventKind::KeepaliveMissed { cm, misses } => {
                    write!(f, "keepalive to {cm} unanswered ({misses} in a row)")
                }
                EventKind::RegistrationLost { proto, cm, cause } => write!(
                    f,
                    "{} registration with {cm} lost: {}",
                    signalling_name(*proto),
                    cause.describe()
                ),
                EventKind::TlsClientHello {
                    cm,
                    port,
                    server_name,
                    suites,
                } => {
                    write!(f, "TLS ClientHello to {cm}:{port}")?;
                    if let Some(n) = server_name {
                        write!(f, " for \"{n}\"")?;
                    }
                    write!(f, ", {suites} suite(s) offered")
                }
                EventKind::TlsServerHello {
                    cm,
                    port,
                    suite,
                    null,
                } => {
                    write!(f, "TLS ServerHello from {cm}:{port}: ")?;
                    match parsers::tls::TlsCipherSuite(*suite).name() {
                        Some(n) => write!(f, "{n}")?,
                        None => write!(f, "suite {suite:#06x}")?,
                    }
                    if *null {
                        write!(f, " (no encryption: signalling read in clear)")?;
                    }
                    Ok(())
                }
                EventKind::TlsAlert {
                    cm,
                    port,
                    alert,
                    from_phone,
                } => {
                    let who = if *from_phone { "from the phone to" } else { "from" };
                    write!(f, "TLS alert {who} {cm}:{port}: ")?;
                    match alert {
                        Some((l, d)) => {
                            match parsers::tls::TlsAlertLevel(*l).name() {
                                Some(n) => write!(f, "{n} ")?,
                                None => write!(f, "level {l} ")?,
                            }
                            match parsers::tls::TlsAlertDescription(*d).name() {
                                Some(n) => write!(f, "{n}"),
                                None => write!(f, "{d}"),
                            }
                        }
                        None => write!(f, "encrypted"),
                    }
                }
                EventKind::TlsHandshakeDone { cm, port } => {
                    write!(f, "TLS handshake with {cm}:{port} finished")
                }
                EventKind::TlsSessionUp { cm, port } => write!(
                    f,
                    "TLS session with {cm}:{port} up, records both ways: \
                     registration inferred from an encrypted session"
                ),
                EventKind::TlsHandshakeFailed { cm, port, failure } => {
                    write!(f, "TLS handshake with {cm}:{port} failed: {failure}")
                }
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
                    proto: DiscoveryProto::Cdp,
                    ip: some_v4,
                },
                EventKind::SwitchVoiceVlan {
                    proto: DiscoveryProto::Lldp,
                    vlan: n16,
                },
                EventKind::SwitchNoVoiceVlan {
                    proto: DiscoveryProto::Cdp,
                },
                EventKind::EapolStart,
                EventKind::EapIdentityRequest,
                EventKind::EapIdentity {
                    identity: text.clone(),
                },
                EventKind::EapMethod {
                    method: n as u8,
                    from_phone: i % 2 == 0,
                },
                EventKind::EapSuccess,
                EventKind::EapFailure,
                EventKind::EapolLogoff,
                EventKind::PoeRequest {
                    proto: DiscoveryProto::Cdp,
                    mw: n as u32,
                },
                EventKind::PoeGrant {
                    proto: DiscoveryProto::Lldp,
                    mw: n as u32,
                },
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
                    option150_ascii: (i % 3 == 1).then(|| text.clone()),
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
                        ..TftpOffer::default()
                    }),
                },
                EventKind::DhcpNak {
                    xid: 1,
                    server: some_v4,
                },
                EventKind::DhcpDecline {
                    xid: 1,
                    addr: some_v4,
                },
                EventKind::FileRequest {
                    file: text.clone(),
                    class: FileClass::Firmware,
                    server: ip,
                    via,
                },
                EventKind::FileReceived {
                    file: text.clone(),
                    class: FileClass::Ctl,
                    bytes: n,
                    via,
                },
                EventKind::FileNotFound {
                    file: text.clone(),
                    class: FileClass::DeviceConfig,
                    via,
                },
                EventKind::FileError {
                    file: text.clone(),
                    class: FileClass::Other,
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
                EventKind::Keepalive { proto, cm: ip },
                EventKind::KeepaliveAck { cm: ip },
                EventKind::Unregistered { proto, cm: ip },
                EventKind::SipCall {
                    cm: ip,
                    message: text.clone(),
                    from_phone: i % 2 == 0,
                },
                EventKind::Alarm { text: text.clone() },
                EventKind::AddressInUse {
                    ip: v4,
                    mac: crate::link::MacAddr([0, 0x50, 0x56, 1, 2, n as u8]),
                },
                EventKind::ConfigSyn {
                    server: ip,
                    port: n16,
                },
                EventKind::ConfigSynAck {
                    server: ip,
                    port: n16,
                },
                EventKind::ConfigRst {
                    server: ip,
                    port: n16,
                },
                EventKind::IcmpUnreachable {
                    from: ip,
                    server: ip,
                    port: n16,
                    tcp: i % 2 == 0,
                    reason: "port unreachable",
                },
                EventKind::DnsQuery {
                    name: text.clone(),
                    qtype: n16,
                    server: ip,
                },
                EventKind::DnsAnswer {
                    name: text.clone(),
                    rcode: n as u8,
                    addrs: ips.iter().take(i % 3).copied().collect(),
                    server: ip,
                },
                EventKind::TvsSyn { server: ip },
                EventKind::TvsSynAck { server: ip },
                EventKind::TvsRst { server: ip },
                EventKind::ConfigRead {
                    config: Box::new(ConfigSummary {
                        file: text.clone(),
                        envelope: [ConfigEnvelope::Plain, ConfigEnvelope::Signed][i % 2],
                        call_managers: vec![ConfiguredCm {
                            host: text.clone(),
                            sccp_port: Some(2000),
                            sip_port: Some(5060),
                            secured_sip_port: None,
                        }],
                        security_mode: Some(n as u8 % 4),
                        srst: ips
                            .iter()
                            .take(i % 3)
                            .map(|a| a.to_string().into())
                            .collect(),
                        ..ConfigSummary::default()
                    }),
                },
                EventKind::Cut {
                    proto: parsers::Proto::Dhcp,
                },
                EventKind::Malformed {
                    error: Box::new(DissectError {
                        proto: parsers::Proto::Sip,
                        offset: n as usize,
                        kind: parsers::ErrorKind::Truncated,
                    }),
                },
                EventKind::KeepaliveMissed {
                    cm: ip,
                    misses: n as u32,
                },
                EventKind::RegistrationLost {
                    proto,
                    cm: ip,
                    cause: [
                        LossCause::KeepalivesUnanswered(n as u32),
                        LossCause::Reset { by_cm: i % 2 == 0 },
                        LossCause::Closed { by_cm: i % 2 == 1 },
                        LossCause::RefreshUnanswered,
                        LossCause::RefreshRejected(n16),
                    ][i % 5],
                },
                EventKind::TlsClientHello {
                    cm: ip,
                    port: n16,
                    server_name: (i % 2 == 0).then(|| text.clone()),
                    suites: n16,
                },
                EventKind::TlsServerHello {
                    cm: ip,
                    port: n16,
                    suite: n16,
                    null: i % 2 == 0,
                },
                EventKind::TlsAlert {
                    cm: ip,
                    port: n16,
                    alert: (i % 3 > 0).then_some((n as u8, (n >> 8) as u8)),
                    from_phone: i % 2 == 1,
                },
                EventKind::TlsHandshakeDone { cm: ip, port: n16 },
                EventKind::TlsSessionUp { cm: ip, port: n16 },
                EventKind::TlsHandshakeFailed {
                    cm: ip,
                    port: n16,
                    failure: match i % 4 {
                        0 => TlsFailure::Alert(Some(n as u8)),
                        1 => TlsFailure::Alert(None),
                        2 => TlsFailure::Reset,
                        _ => TlsFailure::NoServerHello,
                    },
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
        for kind in &events {
            let want = reference_text(kind);
            assert_eq!(kind.text(), want);
            assert_eq!(kind.to_string(), want);
            // After other text, as the report writes a timeline's texts.
            let mut bytes = b"before ".to_vec();
            kind.push_text_bytes(&mut bytes);
            assert_eq!(bytes, format!("before {want}").into_bytes());
        }
    }

    /// Every octet value at every place of a dotted quad, after other text (the
    /// table's fixed-size copies are cut back to the address), as std writes it.
    #[test]
    fn every_octet_is_written_as_std_writes_it() {
        for octet in 0..=255u8 {
            for place in 0..4 {
                let mut octets = [10, 200, 3, 99];
                octets[place] = octet;
                let ip = Ipv4Addr::from(octets);
                assert_eq!(ip_string(ip.into()), ip.to_string());
                let mut out = b"x".to_vec();
                push_ip(&mut out, ip.into());
                assert_eq!(out, format!("x{ip}").into_bytes());
            }
        }
    }

    #[test]
    fn finish_sorts_by_time_then_frame_and_keeps_an_ordered_timeline() {
        let event = |ts_ns, frame| Event {
            ts_ns,
            frame,
            kind: EventKind::Alarm { text: "x".into() },
        };
        let mut t = Timeline::default();
        for (ts, frame) in [(5, 1), (3, 2), (3, 1), (9, 4)] {
            t.push(event(ts, frame));
        }
        t.finish();
        let order: Vec<(i64, u64)> = t.events.iter().map(|e| (e.ts_ns, e.frame)).collect();
        assert_eq!(order, [(3, 1), (3, 2), (5, 1), (9, 4)]);
        t.finish();
        let again: Vec<(i64, u64)> = t.events.iter().map(|e| (e.ts_ns, e.frame)).collect();
        assert_eq!(again, order);
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
            option150_ascii: None,
        }
        .exchange()
        .unwrap();
        assert_eq!((offer.role, offer.addr), (PeerRole::DhcpServer, None));
        let found = EventKind::FileNotFound {
            file: "CTLSEP001122334455.tlv".into(),
            class: FileClass::Ctl,
            via: FileTransport::Tftp,
        };
        assert_eq!(found.exchange().unwrap().role, PeerRole::FileServer);
        let bad = EventKind::Malformed {
            error: Box::new(DissectError {
                proto: parsers::Proto::Sip,
                offset: 3,
                kind: parsers::ErrorKind::Truncated,
            }),
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
