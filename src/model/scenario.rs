//! Scenarios as data (JSON): the site (switch, DHCP, TFTP, call managers), the
//! phones, and the faults, per phone or for the whole site. A typo is a load
//! error naming the file, line and column (`deny_unknown_fields`).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::link::MacAddr;

/// A MAC address written `00:11:22:33:44:55` in scenario files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub MacAddr);

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_mac(&text)
            .map(Mac)
            .ok_or_else(|| serde::de::Error::custom(format!("bad MAC address {text:?}")))
    }
}

/// Parse `00:11:22:33:44:55` (or with `-`).
pub fn parse_mac(text: &str) -> Option<MacAddr> {
    let mut out = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(MacAddr(out))
}

/// A whole scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short kebab-case name (the sample's directory).
    pub name: String,
    /// What happens, for the sample's README.
    pub description: String,
    /// Seed of the timing jitter: same seed, same bytes.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Capture start, seconds since the epoch.
    #[serde(default = "default_start")]
    pub start_epoch: i64,
    /// Capture length in seconds: frames after it are not written.
    pub duration_s: u64,
    /// The network.
    pub site: Site,
    /// The phones.
    pub phones: Vec<PhoneSpec>,
    /// Other devices on the segment.
    #[serde(default)]
    pub background: Background,
    /// An attack on the site: a DHCP starvation flood, half-open TCP flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flood: Option<Flood>,
}

/// How a DHCP starvation flood makes up its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FloodStyle {
    /// Yersinia's DISCOVER attack: a random Ethernet source and the same random
    /// client hardware address in each DISCOVER; nothing follows.
    #[default]
    RandomSource,
    /// dhcpstarv: one Ethernet source, a random client hardware address in each
    /// DISCOVER, and a REQUEST for every address offered (real leases).
    OneSource,
}

/// An attack on the site, from a host on the flooded VLAN: DHCP DISCOVERs under
/// made-up client MACs, one each, until the scope is empty (the server offers while
/// it has addresses, `site.dhcp_pool`), and SYNs from made-up sources to the call
/// managers' and the configuration server's ports that nobody answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flood {
    /// When the first DISCOVER goes, in ms after the capture starts.
    #[serde(default)]
    pub start_ms: u64,
    /// Made-up client MACs, one DISCOVER each (seeded, never two alike).
    #[serde(default)]
    pub macs: u32,
    /// DISCOVERs per second.
    #[serde(default = "default_flood_rate")]
    pub rate: u32,
    /// Yersinia (`random-source`) or dhcpstarv (`one-source`).
    #[serde(default)]
    pub style: FloodStyle,
    /// The VLAN the flood is sent on; absent: the voice VLAN.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Half-open TCP flows: one SYN each, from its own source address and port,
    /// to SCCP 2000, SCCP/TLS 2443, SIP 5060 and HTTP 6970 in turn; never answered.
    #[serde(default)]
    pub half_open: u32,
    /// When the first SYN goes, in ms after the capture starts.
    #[serde(default)]
    pub syn_start_ms: u64,
    /// SYNs per second.
    #[serde(default = "default_flood_rate")]
    pub syn_rate: u32,
    /// Floods of one kind of message each, told by their rate (an ARP storm, a DNS
    /// flood, an EAPOL-Start flood, ICMP errors by the thousand).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storms: Vec<Storm>,
}

/// What a [`Storm`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StormKind {
    /// ARP requests (who-has), broadcast, between addresses of nobody on the site
    /// (172.16/12).
    Arp,
    /// DNS queries for made-up names to the site's DNS server (else the DHCP server),
    /// from addresses of nobody on the site.
    Dns,
    /// EAPOL-Starts to the PAE group address, untagged unless `vlan` is given.
    EapolStart,
    /// ICMP port unreachables from the VLAN's gateway to addresses of nobody on the
    /// site, quoting a datagram to TFTP (69).
    IcmpUnreachable,
}

/// A flood of one kind of message, `messages` of them at `rate` a second from
/// `start_ms`, on `vlan` (absent: the voice VLAN; untagged for EAPOL).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storm {
    /// What is sent.
    pub kind: StormKind,
    /// How many.
    pub messages: u32,
    /// Messages per second.
    #[serde(default = "default_flood_rate")]
    pub rate: u32,
    /// When the first goes, in ms after the capture starts.
    #[serde(default)]
    pub start_ms: u64,
    /// The VLAN it is sent on.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Every message from its own made-up MAC (`random-source`) or all from one.
    #[serde(default)]
    pub style: FloodStyle,
}

impl Storm {
    /// The VLAN it is sent on in `site` (`None`: untagged).
    pub fn vlan_in(&self, site: &Site) -> Option<u16> {
        match (self.vlan, self.kind) {
            (Some(v), _) => Some(v),
            (None, StormKind::EapolStart) => None,
            (None, _) => Some(site.voice_vlan),
        }
    }

    /// The site finding's code the analyzer gives it.
    pub fn code(&self) -> &'static str {
        match self.kind {
            StormKind::Arp => "arp-storm",
            StormKind::Dns => "dns-flood",
            StormKind::EapolStart => "eapol-start-flood",
            StormKind::IcmpUnreachable => "icmp-error-flood",
        }
    }
}

fn default_flood_rate() -> u32 {
    1000
}

impl Flood {
    /// The VLAN the flood is sent on in `site`.
    pub fn vlan_in(&self, site: &Site) -> u16 {
        self.vlan.unwrap_or(site.voice_vlan)
    }
}

fn default_seed() -> u64 {
    1
}

fn default_start() -> i64 {
    // 2026-03-02 08:00:00 UTC: a Monday morning, when phones are power-cycled.
    1_772_438_400
}

/// How the switch tells phones their voice VLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discovery {
    /// CDP only.
    Cdp,
    /// LLDP-MED only.
    Lldp,
    /// Both.
    Both,
}

/// The network side.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Switch name (CDP device id / LLDP system name).
    pub switch_name: String,
    /// Switch MAC.
    pub switch_mac: Mac,
    /// CDP, LLDP-MED or both.
    pub discovery: Discovery,
    /// Voice VLAN the switch assigns.
    pub voice_vlan: u16,
    /// Native (data) VLAN.
    pub native_vlan: u16,
    /// The default gateway / DHCP relay on the phones' VLANs.
    pub gateway_mac: Mac,
    /// Voice subnet: the gateway is .1, leases start at `pool_start`.
    pub voice_gateway: Ipv4Addr,
    /// Data subnet gateway (phones without a voice VLAN land here).
    pub data_gateway: Ipv4Addr,
    /// First address leased on the voice subnet (the data subnet uses the same host part).
    pub pool_start: Ipv4Addr,
    /// The DHCP server (behind the relay).
    pub dhcp_server: Ipv4Addr,
    /// What the DHCP server gives as TFTP server.
    pub tftp_option: TftpOption,
    /// The TFTP servers that exist.
    pub tftp_servers: Vec<Ipv4Addr>,
    /// Whether the TFTP server has XMLDefault.cnf.xml (auto-registration on).
    #[serde(default = "yes")]
    pub xml_default: bool,
    /// The load the configuration names, per protocol.
    pub sccp_load: String,
    /// The SIP load.
    pub sip_load: String,
    /// Loads the TFTP server holds.
    pub loads_on_server: Vec<String>,
    /// Call managers in priority order.
    pub callmanagers: Vec<CallManager>,
    /// Whether the TFTP server also serves HTTP on TCP 6970: newer phones (88xx,
    /// 78xx) then fetch their files there first and fall back to TFTP.
    #[serde(default)]
    pub http_config: bool,
    /// Whether the call managers challenge a SIP REGISTER (401, digest) first.
    #[serde(default)]
    pub sip_digest: bool,
    /// Faults applied to every phone.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Addresses free in the voice VLAN's scope when the capture starts; absent:
    /// as many as asked. Each phone (and each client of a flood) that gets an OFFER
    /// holds one for the rest of the capture; once none is left the server offers
    /// nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_pool: Option<u32>,
    /// When present, the configuration lists the call managers by name
    /// (`<name>.<domain>`) and the phone looks each up at this DNS server before it
    /// connects; absent: by address, no DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<SiteDns>,
    /// The SRST router the configuration names (`srstInfo`, SCCP 2000 / SIP 5060). When
    /// every call manager of the list fails a phone, it registers with this router,
    /// which accepts; absent: no `srstInfo`, the phone goes round its list again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srst: Option<Ipv4Addr>,
    /// The `deviceSecurityMode` the configuration carries (2 authenticated, 3
    /// encrypted), with the first call manager as its TVS (2445). The model's phones
    /// still register in the clear and its call managers accept them; absent: neither
    /// element is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_security_mode: Option<u8>,
}

/// The site's DNS, for a configuration that names its call managers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteDns {
    /// The DNS server.
    pub server: Ipv4Addr,
    /// The domain of the call managers' names.
    pub domain: String,
    /// How the server answers the phone's lookups of those names; absent: with the
    /// address.
    #[serde(default, skip_serializing_if = "DnsAnswer::is_address")]
    pub answer: DnsAnswer,
}

/// How the site's DNS server answers a lookup of a call manager's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsAnswer {
    /// With the call manager's address.
    #[default]
    Address,
    /// No such name (NXDOMAIN): the record is missing.
    Nxdomain,
    /// Server failure (SERVFAIL): the server cannot resolve the zone.
    Servfail,
    /// Never: the phone asks three times and gives the call manager up.
    Silent,
}

impl DnsAnswer {
    fn is_address(&self) -> bool {
        *self == DnsAnswer::Address
    }
}

fn yes() -> bool {
    true
}

/// The TFTP server the DHCP server announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TftpOption {
    /// Option 150 as a list of addresses.
    Option150(Vec<Ipv4Addr>),
    /// Option 66 as a name or dotted address.
    Option66(String),
    /// Option 150 configured as a string: the server sends its ASCII bytes.
    Option150Ascii(String),
    /// Neither.
    None,
}

/// A call manager.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallManager {
    /// Its name in the configuration.
    pub name: String,
    /// Its address.
    pub ip: Ipv4Addr,
    /// How it misbehaves.
    #[serde(default)]
    pub fault: Option<CmFault>,
}

/// A call manager's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CmFault {
    /// SYNs get no answer.
    Silent,
    /// SYNs get a RST.
    Rst,
    /// The registration is rejected (SCCP RegisterReject / SIP 404).
    Reject,
    /// The TCP connection opens but Register gets no answer.
    Unanswered,
    /// Nothing listens on the signalling port (the service stopped, SIP over UDP off, or a
    /// firewall that rejects): the SYN, or the SIP REGISTER over UDP, is answered by an
    /// ICMP port unreachable.
    PortUnreachable,
    /// SIP: the call manager answers a REGISTER asking less than its minimum with 423
    /// Interval Too Brief and `Min-Expires` (RFC 3261 §10.3); the phone asks again for
    /// that much and is accepted.
    MinExpires,
    /// SIP: the call manager challenges the REGISTER with credentials again (401): the
    /// phone's digest user or password is wrong (needs `sip_digest`).
    WrongCredentials,
    /// The phones' security profile wants TLS and they register on the plain port: a
    /// SIP REGISTER is refused `403` with `Warning: 399 … "Device security mismatch"`
    /// (SIP phones only).
    SecurityMismatch,
}

/// A fault, applied to one phone or (in `site.faults`) to all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The switch answers CDP without a VoIP VLAN and LLDP without a voice policy.
    NoVoiceVlan,
    /// The DHCP server never answers.
    DhcpSilent,
    /// The DHCP server NAKs every REQUEST.
    DhcpNak,
    /// The TFTP server never answers.
    TftpSilent,
    /// HTTP on TCP 6970 never answers (newer phones then fall back to TFTP).
    HttpSilent,
    /// The phone is not provisioned: SEP<MAC>.cnf.xml is not on the server.
    NotProvisioned,
    /// The phone reboots after a failed registration.
    RebootOnFailure,
    /// Another device already uses the address the DHCP server gives first: it answers the
    /// phone's ARP probe, the phone DECLINEs the lease and, 10 s on, gets another address.
    AddressTaken,
    /// The TFTP service is stopped on the server: each request is answered by an ICMP port
    /// unreachable.
    TftpPortUnreachable,
    /// HTTP on TCP 6970 is refused: the server resets the SYN (the phone falls back to TFTP).
    HttpRefused,
    /// The load's `.loads` manifest is on the TFTP server, but not the image it lists.
    ImageMissing,
    /// The phone does not take the signed configuration it receives (its ITL no longer
    /// matches the cluster's signer): it asks for its trust lists and the signed file
    /// again, three times in all, then waits (a phone with a signed configuration only).
    TrustListMismatch,
    /// The phone's configuration names its call managers by host name
    /// (`<name>.voice.example.com`, or the site's DNS domain) and the DNS server (the
    /// site's, else the DHCP server, its option 6) answers NXDOMAIN.
    CmNameUnresolved,
    /// The phone is cut off from its call managers (every SYN unanswered) and its
    /// configuration names its gateway as SRST router, which accepts it (SCCP or SIP over
    /// TCP phones only).
    SrstFallback,
    /// The phone's configuration asks for security mode 2 (authenticated); the phone
    /// registers in the clear and the call manager accepts it.
    SecureModeClear,
}

/// One phone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneSpec {
    /// Its MAC.
    pub mac: Mac,
    /// Model number, e.g. "7970" or "8851".
    pub model: String,
    /// Signalling protocol.
    pub protocol: Protocol,
    /// SIP transport (ignored for SCCP).
    #[serde(default)]
    pub transport: SipTransport,
    /// The load it runs before booting; absent: the one the configuration names.
    #[serde(default)]
    pub running_load: Option<String>,
    /// When it is powered on, in ms after the capture starts.
    #[serde(default)]
    pub start_ms: u64,
    /// Already registered when the capture starts (only keepalives are seen).
    #[serde(default)]
    pub already_registered: bool,
    /// Faults for this phone only.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// The load its configuration names; absent: the site's for its protocol
    /// (`sccp_load`, `sip_load`). A site of several families names one load each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_load: Option<String>,
    /// Which trust lists it asks for before its configuration, in what order; absent:
    /// its family's (see [`super::variant`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_files: Option<TrustFiles>,
    /// The configuration file it asks for: plain, signed or encrypted.
    #[serde(default, skip_serializing_if = "ConfigSecurity::is_plain")]
    pub config_security: ConfigSecurity,
    /// How long it waits before sending an unanswered TFTP request again.
    #[serde(default, skip_serializing_if = "TftpTimeout::is_fixed")]
    pub tftp_timeout: TftpTimeout,
    /// Its switch port, where it does more than give the site's voice VLAN: 802.1X,
    /// a PoE budget, voice VLANs that disagree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSpec>,
    /// What goes wrong once it registered: its registration lost, and how it comes
    /// back (absent: nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_registration: Option<Lapse>,
    /// A secure registration (its security profile's transport is TLS): SCCP on 2443,
    /// SIP over TCP on 5061, after a TLS handshake; absent, the plain port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsMode>,
}

/// A registration lost after it was accepted, `times` times: each time, after
/// `answered` keepalives (SCCP) or refreshes (SIP) answered, the call manager lets the
/// phone down as `kind` says and the phone registers again as `back` says (the last
/// time; the times before, it comes back to the same call manager).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lapse {
    /// How the call manager lets the phone down.
    pub kind: LapseKind,
    /// Keepalives or refreshes answered after each registration, before it.
    #[serde(default)]
    pub answered: u32,
    /// Where the phone registers again after the last time.
    #[serde(default)]
    pub back: LapseBack,
    /// How many times (lost and back, the last one as `back` says).
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// How a call manager lets a registered phone down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LapseKind {
    /// SCCP: it stops answering keepalives; the phone gives up after `keepalive_misses`
    /// of them and closes the connection.
    KeepaliveLoss,
    /// SCCP: it resets the connection in answer to a keepalive.
    ConnectionReset,
    /// SIP: a refresh gets no answer (retransmitted over UDP) until Timer F.
    RefreshUnanswered,
    /// SIP: a refresh is refused (503).
    RefreshRejected,
}

/// Where a phone registers again after its registration was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LapseBack {
    /// To the same call manager.
    #[default]
    Same,
    /// To the next call manager of its list.
    Next,
    /// Never in the capture: the call managers' hosts answer no more SYNs (SCCP only).
    Never,
}

/// How a secure registration's TLS goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// "Authenticated" mode: the call manager chooses TLS_RSA_WITH_NULL_SHA, and the
    /// signalling travels in clear inside the records, each with a 20-byte MAC.
    Null,
    /// "Encrypted" mode: AES; the registration and the keepalives are ciphertext both ways.
    Encrypted,
    /// The call manager ends the handshake with a fatal alert (bad certificate): the
    /// phone's certificate is not trusted.
    Alert,
    /// The call manager resets the connection after the ClientHello.
    Reset,
    /// No ServerHello answers the ClientHello; the phone closes and tries again.
    NoServerHello,
}

impl TlsMode {
    /// The handshake completes.
    pub fn completes(self) -> bool {
        matches!(self, TlsMode::Null | TlsMode::Encrypted)
    }
}

/// A phone's switch port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// 802.1X on the port, and how it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dot1x: Option<Dot1x>,
    /// The PoE the phone asks for, in mW (absent: 12 900, what the model's phones ask).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poe_requested_mw: Option<u32>,
    /// The PoE the switch has left for the port, in mW (absent: 30 000). Below the
    /// request the phone runs in low power (its accessories off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poe_available_mw: Option<u32>,
    /// With less PoE than asked: the switch cuts the port's power this long after the
    /// phone's lease (it polices what it granted, and the phone draws more once it lights
    /// its screen), and the phone boots again, each time; absent: it runs in low power.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poe_cut_after_ms: Option<u64>,
    /// The voice VLAN of the switch's LLDP-MED network policy, when it is not the
    /// site's (the CDP's). The phone follows CDP's (an assumption of the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lldp_voice_vlan: Option<u16>,
    /// The VLAN the phone's DHCP runs on, when it is not the voice VLAN it was given
    /// (a port configured by hand on the phone, or a second policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_vlan: Option<u16>,
}

/// How 802.1X on a phone's port goes (Cisco defaults: the switch asks for the identity
/// every `dot1x timeout tx-period`, waits a `quiet-period` after a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dot1x {
    /// EAPOL-Start, identity `CP-<model>-SEP<MAC>`, EAP-TLS with the phone's
    /// certificate, EAP-Success; then DHCP.
    Success,
    /// As `success`, but the RADIUS server answers only the third attempt: the switch
    /// starts again after each tx-period, and the phone's DHCP waits a minute.
    SlowSuccess,
    /// EAP-TLS ends in EAP-Failure, again after every quiet-period: the port stays
    /// unauthorised and the phone's DISCOVERs get nowhere.
    Failure,
    /// The phone runs no supplicant: the switch's three identity requests go
    /// unanswered, then MAB lets it in; DISCOVERs before that get nowhere.
    Mab,
}

/// The trust lists a phone asks for after its DHCP ACK, before its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustFiles {
    /// `CTL<name>.tlv`, then `ITL<name>.tlv` (CUCM 8.0 and later: "The phone requests the
    /// ITL file after it requests the CTL file", Cisco Unified IP Phone Administration
    /// Guide for CUCM 8.5, Understanding the Phone Startup Process).
    CtlItl,
    /// `ITL<name>.tlv` first, then `CTL<name>.tlv`. An assumption, not a documented
    /// order: it lets a scenario check that the analyzer does not depend on the order.
    ItlCtl,
    /// `CTL<name>.tlv` only: loads older than the ITL (Security by Default came with CUCM
    /// 8.0); a 7960 on SIP 8.12 asks CTL and no ITL in a published in.tftpd log.
    Ctl,
    /// Neither: loads older than CTL files (the 7940/7960 SIP loads' original boot).
    None,
}

/// The configuration file a phone asks for (Cisco technote 116232, "Communications
/// Manager Security By Default and ITL Operation and Troubleshooting",
/// <https://www.cisco.com/c/en/us/support/docs/voice-unified-communications/unified-communications-manager-callmanager/116232-technote-sbd-00.html>):
/// with a CTL or ITL the phone asks for `SEP<MAC>.cnf.xml.sgn`, and with TFTP
/// encryption on in its security profile for `SEP<MAC>.cnf.xml.enc.sgn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigSecurity {
    /// `SEP<MAC>.cnf.xml`.
    #[default]
    Plain,
    /// `SEP<MAC>.cnf.xml.sgn`: signed by the TFTP server, XML after the signature.
    Signed,
    /// `SEP<MAC>.cnf.xml.enc.sgn`: signed and encrypted.
    Encrypted,
}

impl ConfigSecurity {
    fn is_plain(&self) -> bool {
        *self == ConfigSecurity::Plain
    }
}

/// An unanswered TFTP request's first retransmission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TftpTimeout {
    /// After the boot sequence's `tftp_retry_first_ms`, doubling.
    #[default]
    Fixed,
    /// After a time drawn for each boot from its `tftp_timeout_ms` (1 to 4 s), doubling.
    Drawn,
}

impl TftpTimeout {
    fn is_fixed(&self) -> bool {
        *self == TftpTimeout::Fixed
    }
}

/// SCCP or SIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Skinny, TCP 2000.
    Sccp,
    /// SIP, 5060.
    Sip,
}

/// SIP over UDP or TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SipTransport {
    /// UDP.
    #[default]
    Udp,
    /// TCP.
    Tcp,
}

/// Devices that are not phones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Background {
    /// PCs that boot (DHCP on the data VLAN, ARP, DNS).
    #[serde(default)]
    pub pcs: u32,
    /// Traffic that has nothing to do with boots, in megabits per second: RTP
    /// between phones on the voice VLAN and bulk TCP (file shares) on the data VLAN,
    /// the bulk a SPAN port carries around the boots.
    #[serde(default)]
    pub traffic_mbps: f64,
    /// What the data VLAN's share of that traffic is.
    #[serde(default)]
    pub bulk: Bulk,
}

/// The data VLAN's background traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bulk {
    /// One long file copy per PC (SMB, full-size segments).
    #[default]
    FileCopy,
    /// PCs browsing: short HTTP (TCP 80) and TLS (TCP 443) connections, a new client
    /// port every few hundred milliseconds, requests up and responses down.
    Web,
}

/// Failures to load a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The JSON is wrong; serde names the line and column.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Why, with line and column.
        source: serde_json::Error,
    },
    /// A value is out of range.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

impl Scenario {
    /// Load and check a scenario file.
    ///
    /// # Errors
    /// The file is unreadable, not valid JSON for a scenario, or inconsistent.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_owned(),
            source,
        })?;
        let s: Scenario = serde_json::from_str(&text).map_err(|source| ScenarioError::Json {
            path: path.to_owned(),
            source,
        })?;
        s.check().map_err(|what| ScenarioError::Invalid {
            path: path.to_owned(),
            what,
        })?;
        Ok(s)
    }

    /// Consistency checks serde cannot express.
    ///
    /// # Errors
    /// A description of the first problem.
    pub fn check(&self) -> Result<(), String> {
        if self.site.callmanagers.is_empty() {
            return Err("site.callmanagers is empty".into());
        }
        if self.site.callmanagers.len() > 3 {
            return Err("a configuration lists at most three call managers".into());
        }
        if let Some(m) = self.site.device_security_mode {
            if !(1..=3).contains(&m) {
                return Err(format!("site.device_security_mode {m} out of 1..3"));
            }
        }
        for v in [self.site.voice_vlan, self.site.native_vlan] {
            if !(1..4095).contains(&v) {
                return Err(format!("VLAN {v} out of 1..4094"));
            }
        }
        if self.phones.len() > 60_000 {
            return Err("more than 60000 phones: the address plan has no room".into());
        }
        let mut macs: Vec<_> = self.phones.iter().map(|p| p.mac).collect();
        macs.sort();
        if macs.windows(2).any(|w| w[0] == w[1]) {
            return Err("two phones share a MAC".into());
        }
        for p in &self.phones {
            self.check_phone(p)?;
        }
        let mismatch = self
            .site
            .callmanagers
            .iter()
            .any(|c| c.fault == Some(CmFault::SecurityMismatch));
        if mismatch
            && self
                .phones
                .iter()
                .any(|p| p.protocol != Protocol::Sip || p.tls.is_some())
        {
            return Err(
                "a security-mismatch call manager: for SIP phones on the plain port only".into(),
            );
        }
        if let Some(f) = &self.flood {
            if (f.macs > 0 && f.rate == 0) || (f.half_open > 0 && f.syn_rate == 0) {
                return Err("flood.rate and flood.syn_rate must be positive".into());
            }
            if f.half_open > 1 << 24 {
                return Err(
                    "flood.half_open: at most 16777216 flows (their sources are distinct)".into(),
                );
            }
            if !(1..4095).contains(&f.vlan_in(&self.site)) {
                return Err("flood.vlan out of 1..4094".into());
            }
            for st in &f.storms {
                if st.rate == 0 {
                    return Err("flood.storms: rate must be positive".into());
                }
                if st.vlan.is_some_and(|v| !(1..4095).contains(&v)) {
                    return Err("flood.storms: vlan out of 1..4094".into());
                }
            }
        }
        let wrong_credentials = self
            .site
            .callmanagers
            .iter()
            .any(|c| c.fault == Some(CmFault::WrongCredentials));
        if wrong_credentials && !self.site.sip_digest {
            return Err(
                "callmanagers: wrong-credentials needs sip_digest (a challenge to answer)".into(),
            );
        }
        Ok(())
    }

    /// What a phone's family allows: its protocol, a signed configuration only with a trust
    /// list to check it by and a `SEP<MAC>.cnf.xml` to sign, and no boot the model does not
    /// play.
    fn check_phone(&self, p: &PhoneSpec) -> Result<(), String> {
        use super::variant::{self, FileScheme};
        let at = || format!("phone {} ({})", p.mac.0, p.model);
        let v = variant::of(&p.model, p.protocol);
        if let Some(only) = variant::only_protocol(v.family) {
            if only != p.protocol {
                return Err(format!("{}: this model runs {only:?} only", at()));
            }
        }
        if p.config_security != ConfigSecurity::Plain {
            if v.files == FileScheme::LegacySip {
                return Err(format!(
                    "{}: config_security: the SIP load's SIP<MAC>.cnf has no signed form",
                    at()
                ));
            }
            if p.trust_files.unwrap_or(v.trust_files) == TrustFiles::None {
                return Err(format!(
                    "{}: config_security: a phone asks for a signed configuration only \
                     when it holds a CTL or ITL (trust_files must ask for one)",
                    at()
                ));
            }
        }
        let trust_mismatch = p.faults.contains(&Fault::TrustListMismatch)
            || self.site.faults.contains(&Fault::TrustListMismatch);
        if trust_mismatch && p.config_security == ConfigSecurity::Plain {
            return Err(format!(
                "{}: trust-list-mismatch: only a phone that asks for a signed configuration \
                 (config_security) checks it against its trust list",
                at()
            ));
        }
        let has = |f: Fault| p.faults.contains(&f) || self.site.faults.contains(&f);
        if has(Fault::SrstFallback)
            && p.protocol == Protocol::Sip
            && p.transport == SipTransport::Udp
        {
            return Err(format!(
                "{}: srst-fallback: the model cuts a phone off by its SYNs (SCCP or SIP over TCP)",
                at()
            ));
        }
        if (has(Fault::CmNameUnresolved) || has(Fault::SecureModeClear) || has(Fault::SrstFallback))
            && v.files == FileScheme::LegacySip
        {
            return Err(format!(
                "{}: the SIP load's SIP<MAC>.cnf has no call-manager group, SRST or security mode",
                at()
            ));
        }
        let unprovisioned = p.faults.contains(&Fault::NotProvisioned)
            || self.site.faults.contains(&Fault::NotProvisioned);
        if v.files == FileScheme::LegacySip && unprovisioned {
            return Err(format!(
                "{}: not-provisioned: the model does not play a SIP load without its \
                 SIP<MAC>.cnf",
                at()
            ));
        }
        if let Some(lapse) = &p.after_registration {
            let sccp = matches!(
                lapse.kind,
                LapseKind::KeepaliveLoss | LapseKind::ConnectionReset
            );
            if sccp != (p.protocol == Protocol::Sccp) {
                return Err(format!(
                    "{}: after_registration: {:?} is a {} lapse",
                    at(),
                    lapse.kind,
                    if sccp { "SCCP" } else { "SIP" }
                ));
            }
            if lapse.back == LapseBack::Never && !sccp {
                return Err(format!(
                    "{}: after_registration: `never` is played for SCCP only",
                    at()
                ));
            }
            if lapse.times == 0 || p.already_registered {
                return Err(format!(
                    "{}: after_registration: times must be at least 1, on a phone that boots",
                    at()
                ));
            }
        }
        Ok(())
    }

    /// Whether `fault` applies to phone `i`.
    pub fn has_fault(&self, i: usize, fault: Fault) -> bool {
        self.site.faults.contains(&fault)
            || self
                .phones
                .get(i)
                .is_some_and(|p| p.faults.contains(&fault))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_both_ways() {
        let m = parse_mac("00:1b:54:AA:00:0f").unwrap();
        assert_eq!(m.to_string(), "00:1b:54:aa:00:0f");
        assert_eq!(parse_mac("00-1b-54-aa-00-0f"), Some(m));
        assert_eq!(parse_mac("00:1b:54:aa:00"), None);
        assert_eq!(parse_mac("00:1b:54:aa:00:0f:01"), None);
    }

    #[test]
    fn a_family_is_held_to_what_it_does() {
        let base = || -> Scenario {
            let text = include_str!("../../samples/healthy-sccp/scenario.json");
            serde_json::from_str(text).unwrap()
        };
        let mut sc = base();
        sc.phones[0].model = "7937".into();
        assert!(sc.check().is_ok());
        sc.phones[0].protocol = Protocol::Sip;
        assert!(sc.check().unwrap_err().contains("Sccp only"));
        let mut sc = base();
        sc.phones[0].config_security = ConfigSecurity::Signed;
        assert!(sc.check().is_ok());
        sc.phones[0].trust_files = Some(TrustFiles::None);
        assert!(sc.check().unwrap_err().contains("CTL or ITL"));
        let mut sc = base();
        sc.phones[0].model = "7960".into();
        sc.phones[0].protocol = Protocol::Sip;
        assert!(sc.check().is_ok());
        sc.site.faults.push(Fault::NotProvisioned);
        assert!(sc.check().unwrap_err().contains("SIP<MAC>.cnf"));
    }

    #[test]
    fn a_typo_is_an_error_with_line_and_column() {
        let path = std::env::temp_dir().join("bootscope-typo-scenario.json");
        std::fs::write(&path, "{\n  \"name\": \"x\",\n  \"descriptoin\": \"y\"\n}").unwrap();
        let e = Scenario::load(&path).unwrap_err().to_string();
        assert!(e.contains("descriptoin") && e.contains("line 3"), "{e}");
    }
}
