//! What a phone model does differently in its boot: the family a model number belongs to,
//! and what the family sends (its CDP platform, the neighbour protocols it speaks, the files
//! it asks for and how, its SIP agent). The models the model played first (7970, 7942, 8811,
//! 8851, and any number not listed here) keep exactly the boot they always had: the bundled
//! samples regenerate byte for byte.
//!
//! Sources, per family (what is not from them is marked an assumption where it is used):
//!
//! - 7940/7960 on their SIP load: Cisco SIP IP Phone 7960 Administrator Guide, "Initialization
//!   Process Overview" (the dual-boot file `OS79XX.TXT` on the TFTP server, then the default
//!   configuration file, then the phone-specific one); Cisco IP Phone 7960 and 7940 Firmware
//!   Upgrade Matrix, "Original Boot Mechanism for Firmware Image Selection"
//!   (<https://www.cisco.com/en/US/docs/voice_ip_comm/cuipph/7960g_7940g/mgcp/firmware/matrix/frmwrup.html>:
//!   `OS79XX.TXT` is the first file requested and holds the image name, `P0S3-xx-y-zz` for
//!   SIP); the file names `SIPDefault.cnf` and `SIP<MAC>.cnf`, the MAC in upper case (Cisco
//!   SIP IP Phone Administrator Guide, "Configuring SIP Parameters via a TFTP Server"). The
//!   REGISTER's shape (User-Agent `Cisco-CP7960G/8.0`, a Contact with `user=phone`, the MAC in
//!   `+sip.instance` and `+u.sip!model.ccm.cisco.com="7"`) is that of a 7960 on SIP 8.12 in a
//!   tcpdump published with a FreePBX set-up guide. They speak CDP only (their platform
//!   "Cisco IP Phone 7960"); LLDP-MED came after them.
//! - 7937 conference station: SCCP, `SEP<MAC>.cnf.xml`, CDP platform "Cisco IP Conference
//!   Station 7937"; SCCP device type 431 (Wireshark's SCCP device types).
//! - 8831 conference phone: SIP. Its CDP platform ("Cisco IP Conference Phone 8831") is an
//!   assumption.
//! - 8821 wireless phone: on Wi-Fi, so the capture sees its DHCP and its files but no switch
//!   port: no CDP or LLDP-MED exchange and no voice VLAN tag.
//! - 6921/6941/6961: SCCP (Cisco Unified IP Phone 6921, 6941, and 6961 Administration Guide
//!   for Cisco Unified CM 8.0 (SCCP)); SCCP device types 495, 496, 497.
//! - 7811/7821/7841/7861 and 8811/8841/8851/8861/8865: SIP, CDP and LLDP-MED, files over HTTP
//!   on TCP 6970 first where the server offers it (the model's behaviour for them already).
//! - 9951/9971: SIP; newer loads fetch their files over HTTP on TCP 6970 first and fall back
//!   to TFTP (Cisco Unified CM 9.0 TCP and UDP Port Usage: TCP 6970 is "HTTP service from the
//!   TFTP server to phones"; the 89xx and 99xx loads try HTTP once, then TFTP, as Cisco's
//!   community thread "Phone firmware update over HTTP" says). SCCP device types 537, 493.

use super::scenario::{Protocol, TrustFiles};

/// The family a model number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// The models played first (7970, 7942, …) and any model not listed: the boot they
    /// always had.
    Classic,
    /// 7940 / 7960 on their SIP load.
    Legacy79xxSip,
    /// The 7937 conference station (SCCP).
    Conference7937,
    /// The 8831 conference phone (SIP).
    Conference8831,
    /// The 8821 wireless phone (SIP, Wi-Fi).
    Wireless8821,
    /// 6921 / 6941 / 6961 (SCCP).
    Ip69xx,
    /// 7811 / 7821 / 7841 / 7861 (SIP).
    Ip78xx,
    /// 8811 / 8841 / 8851 / 8861 / 8865 (SIP).
    Ip88xx,
    /// 9951 / 9971 (SIP).
    Ip99xx,
}

/// The neighbour protocols a phone announces itself with on its switch port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Neighbours {
    /// Whatever the site's switch speaks (CDP, LLDP-MED or both).
    AsSite,
    /// CDP only: on a switch that speaks LLDP-MED alone the phone hears no voice VLAN.
    CdpOnly,
    /// None: the phone is on Wi-Fi, the capture sees no switch port of its own.
    Wireless,
}

/// The files a phone asks for after its trust lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileScheme {
    /// `SEP<MAC>.cnf.xml` (or its signed or encrypted form), XMLDefault when missing, and a
    /// new load's `.loads` and image.
    Xml,
    /// `OS79XX.TXT`, `SIPDefault.cnf`, `SIP<MAC>.cnf`; a new load's image named by
    /// `OS79XX.TXT`, with no `.loads` file.
    LegacySip,
}

/// What a model does differently in its boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Its family.
    pub family: Family,
    /// The CDP platform it announces.
    pub platform: String,
    /// The neighbour protocols it speaks.
    pub neighbours: Neighbours,
    /// Its files.
    pub files: FileScheme,
    /// Whether it asks for its files over HTTP on TCP 6970 first, where the server offers it.
    pub http_first: bool,
    /// The trust lists it asks for when the scenario does not say.
    pub trust_files: TrustFiles,
    /// The model as its DHCP option 60 names it (`Cisco Systems, Inc. IP Phone CP-…`).
    pub dhcp_model: String,
    /// The SIP agent it registers as.
    pub sip: SipAgent,
}

/// How a phone's SIP REGISTER names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipAgent {
    /// The User-Agent header, without the load: the load follows a `/` unless `version` is
    /// set.
    pub user_agent: String,
    /// A fixed version after the `/` (the 7960's `8.0`), instead of the running load.
    pub version: Option<String>,
    /// The Contact of the old SIP loads: `user=phone`, the MAC in `+sip.instance`, the model
    /// id, and no device name.
    pub legacy_contact: bool,
}

impl SipAgent {
    /// The User-Agent of a phone running `load`.
    pub fn user_agent(&self, load: &str) -> String {
        match &self.version {
            Some(v) => format!("{}/{v}", self.user_agent),
            None => format!("{}/{load}", self.user_agent),
        }
    }
}

/// The family of `model` running `protocol`.
pub fn family(model: &str, protocol: Protocol) -> Family {
    match model {
        "7940" | "7960" if protocol == Protocol::Sip => Family::Legacy79xxSip,
        "7937" => Family::Conference7937,
        "8831" => Family::Conference8831,
        "8821" => Family::Wireless8821,
        "6921" | "6941" | "6961" => Family::Ip69xx,
        "7811" | "7821" | "7841" | "7861" => Family::Ip78xx,
        "8811" | "8841" | "8851" | "8861" | "8865" => Family::Ip88xx,
        "9951" | "9971" => Family::Ip99xx,
        _ => Family::Classic,
    }
}

/// What `model` running `protocol` does in its boot.
pub fn of(model: &str, protocol: Protocol) -> Variant {
    let family = family(model, protocol);
    // What every model did before the families: the platform and agent named after the
    // model, the site's neighbour protocols, CTL then ITL then SEP<MAC>.cnf.xml, and HTTP
    // first for the 78xx and 88xx numbers.
    let mut v = Variant {
        family,
        platform: format!("Cisco IP Phone {model}"),
        neighbours: Neighbours::AsSite,
        files: FileScheme::Xml,
        http_first: model.starts_with("88") || model.starts_with("78"),
        trust_files: TrustFiles::CtlItl,
        dhcp_model: model.to_owned(),
        sip: SipAgent {
            user_agent: format!("Cisco-CP{model}"),
            version: None,
            legacy_contact: false,
        },
    };
    match family {
        Family::Legacy79xxSip => {
            v.neighbours = Neighbours::CdpOnly;
            v.files = FileScheme::LegacySip;
            v.trust_files = TrustFiles::None;
            v.dhcp_model = format!("{model}G");
            v.sip = SipAgent {
                user_agent: format!("Cisco-CP{model}G"),
                version: Some("8.0".into()),
                legacy_contact: true,
            };
        }
        Family::Conference7937 => {
            v.platform = "Cisco IP Conference Station 7937".into();
            v.dhcp_model = "7937G".into();
        }
        Family::Conference8831 => {
            // An assumption: the 8831's own CDP platform string is not documented here.
            v.platform = "Cisco IP Conference Phone 8831".into();
        }
        Family::Wireless8821 => v.neighbours = Neighbours::Wireless,
        Family::Ip99xx => v.http_first = true,
        Family::Classic | Family::Ip69xx | Family::Ip78xx | Family::Ip88xx => {}
    }
    v
}

/// The signalling protocol a family runs, when it runs one only.
pub fn only_protocol(family: Family) -> Option<Protocol> {
    match family {
        Family::Conference7937 | Family::Ip69xx => Some(Protocol::Sccp),
        Family::Legacy79xxSip
        | Family::Conference8831
        | Family::Wireless8821
        | Family::Ip78xx
        | Family::Ip88xx
        | Family::Ip99xx => Some(Protocol::Sip),
        Family::Classic => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_played_first_keep_their_boot() {
        for (model, proto, http) in [
            ("7970", Protocol::Sccp, false),
            ("7942", Protocol::Sccp, false),
            ("8811", Protocol::Sip, true),
            ("8851", Protocol::Sip, true),
            ("7960", Protocol::Sccp, false),
        ] {
            let v = of(model, proto);
            assert_eq!(v.platform, format!("Cisco IP Phone {model}"));
            assert_eq!(v.neighbours, Neighbours::AsSite);
            assert_eq!(v.files, FileScheme::Xml);
            assert_eq!(v.http_first, http, "{model}");
            assert_eq!(v.trust_files, TrustFiles::CtlItl);
            assert_eq!(v.dhcp_model, model);
            assert_eq!(v.sip.user_agent("L"), format!("Cisco-CP{model}/L"));
        }
    }

    #[test]
    fn each_family_has_its_documented_traits() {
        let legacy = of("7960", Protocol::Sip);
        assert_eq!(legacy.family, Family::Legacy79xxSip);
        assert_eq!(legacy.files, FileScheme::LegacySip);
        assert_eq!(legacy.neighbours, Neighbours::CdpOnly);
        assert_eq!(legacy.platform, "Cisco IP Phone 7960");
        assert_eq!(legacy.sip.user_agent("P0S3-08-12-00"), "Cisco-CP7960G/8.0");
        assert_eq!(
            of("7937", Protocol::Sccp).platform,
            "Cisco IP Conference Station 7937"
        );
        assert_eq!(of("8821", Protocol::Sip).neighbours, Neighbours::Wireless);
        assert!(of("9971", Protocol::Sip).http_first);
        assert!(!of("6941", Protocol::Sccp).http_first);
        assert_eq!(
            only_protocol(family("7937", Protocol::Sip)),
            Some(Protocol::Sccp)
        );
        assert_eq!(only_protocol(family("7970", Protocol::Sip)), None);
    }
}
