//! The boot knowledge that is neither a step nor a finding, each in a data file of its own
//! beside `boot_sequence.json`: how a phone is told from other devices by the strings it sends
//! (`phones.json`), what a file is by its name (`files.json`), and how far apart in time two
//! packets may be and still belong together (`windows.json`). Loaded and checked like the
//! others (unknown fields are errors, every error has its file:line:column).

use serde::{Deserialize, Serialize};

use crate::span::{Key, Source};
use crate::{LoadError, Stage};

/// File name of the phone markers in a rules directory.
pub const PHONES_FILE: &str = "phones.json";
/// File name of the file classes in a rules directory.
pub const FILES_FILE: &str = "files.json";
/// File name of the correlation windows in a rules directory.
pub const WINDOWS_FILE: &str = "windows.json";

/// The strings that tell a Cisco IP phone from the other devices of a voice network
/// (`phones.json`): what marks a phone (any one is enough), and what marks a device that is
/// not one although it speaks the phones' protocols (a voice gateway, a media resource).
/// Matching is case-sensitive, as the devices send the strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneMarkers {
    /// DHCP option 60 (vendor class) starts with one of these.
    pub dhcp_vendor_class_prefixes: Vec<String>,
    /// The CDP platform contains one of these.
    pub cdp_platform_contains: Vec<String>,
    /// A SIP User-Agent (or, in a response, Server) starting with one of these is a Cisco
    /// phone's, so its Contact's `+sip.instance` MAC names it.
    pub sip_user_agent_prefixes: Vec<String>,
    /// A SIP User-Agent or Server starting with one of these is a voice gateway's (an IOS
    /// gateway, a CUBE): never a phone. Absent: the builtin list.
    #[serde(default = "builtin_gateway_prefixes")]
    pub sip_gateway_prefixes: Vec<String>,
    /// SCCP device types (`deviceType` of a RegisterReq) of media resources: conference
    /// bridges, MTPs, transcoders, music on hold, annunciators. Never phones. Absent: the
    /// builtin list.
    #[serde(default = "builtin_media_resource_types")]
    pub sccp_media_resource_types: Vec<u32>,
}

/// A field of the builtin `phones.json` (for a file of one's own that leaves it out).
fn builtin_field<T: serde::de::DeserializeOwned + Default>(field: &str) -> T {
    serde_json::from_str::<serde_json::Value>(crate::BUILTIN_PHONES)
        .ok()
        .and_then(|mut v| v.get_mut(field).map(serde_json::Value::take))
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

fn builtin_gateway_prefixes() -> Vec<String> {
    builtin_field("sip_gateway_prefixes")
}

fn builtin_media_resource_types() -> Vec<u32> {
    builtin_field("sccp_media_resource_types")
}

impl PhoneMarkers {
    /// Parse and check a `phones.json` text.
    ///
    /// # Errors
    /// JSON or field errors; an empty marker string (it would match everything).
    pub fn from_json(file: &str, text: &str) -> Result<Self, LoadError> {
        let (parsed, src) = Source::parse::<PhoneMarkers>(file, text)?;
        for (field, list) in [
            (
                "dhcp_vendor_class_prefixes",
                &parsed.dhcp_vendor_class_prefixes,
            ),
            ("cdp_platform_contains", &parsed.cdp_platform_contains),
            ("sip_user_agent_prefixes", &parsed.sip_user_agent_prefixes),
            ("sip_gateway_prefixes", &parsed.sip_gateway_prefixes),
        ] {
            if let Some(i) = list.iter().position(String::is_empty) {
                return Err(src.error(
                    src.node(&[Key::Field(field), Key::Index(i)]),
                    format!("{field}: an empty marker would match every device"),
                ));
            }
        }
        let overlap = parsed.sip_gateway_prefixes.iter().position(|g| {
            parsed
                .sip_user_agent_prefixes
                .iter()
                .any(|p| g.starts_with(p.as_str()) || p.starts_with(g.as_str()))
        });
        if let Some(i) = overlap {
            return Err(src.error(
                src.node(&[Key::Field("sip_gateway_prefixes"), Key::Index(i)]),
                "sip_gateway_prefixes: this marker and one of sip_user_agent_prefixes match \
                 the same agents (a device cannot be both a phone and a gateway)",
            ));
        }
        Ok(parsed)
    }

    /// Whether DHCP option 60 `vendor_class` is a phone's.
    pub fn dhcp_vendor_class(&self, vendor_class: &str) -> bool {
        starts_with_any(vendor_class, &self.dhcp_vendor_class_prefixes)
    }

    /// Whether the CDP `platform` is a phone's.
    pub fn cdp_platform(&self, platform: &str) -> bool {
        self.cdp_platform_contains
            .iter()
            .any(|m| platform.contains(m.as_str()))
    }

    /// Whether the SIP `user_agent` (User-Agent or Server) is a Cisco phone's.
    pub fn sip_user_agent(&self, user_agent: &str) -> bool {
        starts_with_any(user_agent, &self.sip_user_agent_prefixes)
    }

    /// Whether the SIP `user_agent` (User-Agent or Server) is a voice gateway's.
    pub fn sip_gateway(&self, user_agent: &str) -> bool {
        starts_with_any(user_agent, &self.sip_gateway_prefixes)
    }

    /// Whether an SCCP RegisterReq of `device_type` comes from a media resource.
    pub fn sccp_media_resource(&self, device_type: u32) -> bool {
        self.sccp_media_resource_types.contains(&device_type)
    }
}

fn starts_with_any(text: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| text.starts_with(p.as_str()))
}

/// What a file a phone asks for is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileClass {
    /// The Certificate Trust List (`CTLSEP<MAC>.tlv`).
    Ctl,
    /// The Identity Trust List (`ITLSEP<MAC>.tlv`).
    Itl,
    /// The phone's own configuration (`SEP<MAC>.cnf.xml`).
    DeviceConfig,
    /// The default configuration of auto-registration (`XMLDefault.cnf.xml`).
    DefaultConfig,
    /// A firmware load (`.loads`) or one of its images.
    Firmware,
    /// Anything else (ring lists, dial plans, locales, backgrounds).
    Other,
}

impl FileClass {
    /// The name used in the data files.
    pub fn as_str(self) -> &'static str {
        match self {
            FileClass::Ctl => "ctl",
            FileClass::Itl => "itl",
            FileClass::DeviceConfig => "device_config",
            FileClass::DefaultConfig => "default_config",
            FileClass::Firmware => "firmware",
            FileClass::Other => "other",
        }
    }

    /// The boot stage a file of this class belongs to.
    pub fn stage(self) -> Stage {
        match self {
            FileClass::Firmware => Stage::Firmware,
            _ => Stage::Config,
        }
    }
}

/// One pattern of `files.json`: a file whose name (after the last `/`, any case) matches
/// every part given is of `class`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePattern {
    /// The class of the files it matches.
    pub class: FileClass,
    /// The name starts with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The name ends with one of these.
    #[serde(default)]
    pub suffix: Vec<String>,
    /// The name is this.
    #[serde(default)]
    pub name: Option<String>,
}

impl FilePattern {
    fn matches(&self, base: &[u8]) -> bool {
        let starts = |p: &str| {
            base.get(..p.len())
                .is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()))
        };
        let ends = |p: &str| {
            base.len()
                .checked_sub(p.len())
                .and_then(|at| base.get(at..))
                .is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()))
        };
        self.prefix.as_deref().is_none_or(starts)
            && (self.suffix.is_empty() || self.suffix.iter().any(|s| ends(s)))
            && self
                .name
                .as_deref()
                .is_none_or(|n| base.eq_ignore_ascii_case(n.as_bytes()))
    }
}

/// The file classes (`files.json`): patterns in order, the first that matches wins; a name no
/// pattern matches is [`FileClass::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileClasses {
    /// The patterns, in order.
    pub patterns: Vec<FilePattern>,
}

impl FileClasses {
    /// Parse and check a `files.json` text.
    ///
    /// # Errors
    /// JSON or field errors; a pattern with no part (it would match every file), an empty
    /// part, or a pattern for `other` (what no pattern matches is other already).
    pub fn from_json(file: &str, text: &str) -> Result<Self, LoadError> {
        let (parsed, src) = Source::parse::<FileClasses>(file, text)?;
        for (i, p) in parsed.patterns.iter().enumerate() {
            let at = || src.node(&[Key::Field("patterns"), Key::Index(i)]);
            if p.prefix.is_none() && p.suffix.is_empty() && p.name.is_none() {
                return Err(src.error(
                    at(),
                    "a pattern needs a prefix, a suffix or a name (it would match every file)",
                ));
            }
            let parts = p.prefix.iter().chain(&p.suffix).chain(&p.name);
            if parts.clone().any(String::is_empty) {
                return Err(src.error(at(), "a pattern's parts must not be empty"));
            }
            if p.class == FileClass::Other {
                return Err(src.error(
                    at(),
                    "a pattern for `other` is not needed: a file no pattern matches is other",
                ));
            }
        }
        Ok(parsed)
    }

    /// The class of `file` (path components and case are ignored).
    pub fn classify(&self, file: &str) -> FileClass {
        let bytes = file.as_bytes();
        let base = match bytes.iter().rposition(|&b| b == b'/') {
            Some(slash) => bytes.get(slash + 1..).unwrap_or_default(),
            None => bytes,
        };
        self.patterns
            .iter()
            .find(|p| p.matches(base))
            .map_or(FileClass::Other, |p| p.class)
    }
}

/// How far apart in capture time two packets may be and still be read together
/// (`windows.json`), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Windows {
    /// A switch's CDP / LLDP answers a phone's announcement made at most this long before.
    pub switch_answer_ms: u64,
    /// A phone's CDP and LLDP this close together are one announcement of one boot.
    pub same_announcement_ms: u64,
    /// A phone's announcement this long before its DISCOVER belongs to the new boot.
    pub announcement_carried_ms: u64,
    /// The same DHCP message (type and xid) seen again this soon is a relay's copy.
    pub dhcp_relay_copy_ms: u64,
    /// A finished TFTP transfer is kept this long for late copies of its last packets.
    pub finished_transfer_ms: u64,
    /// An open transaction (transfer, request, REGISTER) silent this long is forgotten
    /// when the tables are half full.
    pub idle_transaction_ms: u64,
    /// Another MAC's ARP reply or announcement for an address a phone probed at most
    /// this long before answers that probe: the address is taken.
    pub arp_probe_answer_ms: u64,
    /// A phone's TLS ClientHello to a call manager not answered by a ServerHello
    /// within this long: the secure handshake failed.
    pub tls_server_hello_ms: u64,
}

impl Windows {
    /// Parse and check a `windows.json` text.
    ///
    /// # Errors
    /// JSON or field errors; a window of zero, or of more than a day.
    pub fn from_json(file: &str, text: &str) -> Result<Self, LoadError> {
        let (parsed, src) = Source::parse::<Windows>(file, text)?;
        const DAY_MS: u64 = 86_400_000;
        for (field, ms) in parsed.by_name() {
            if ms == 0 || ms > DAY_MS {
                return Err(src.error(
                    src.node(&[Key::Field(field)]),
                    format!("{field} must be between 1 ms and a day"),
                ));
            }
        }
        Ok(parsed)
    }

    /// Every window, by its name in the file.
    pub fn by_name(&self) -> [(&'static str, u64); 8] {
        // Every field named: a new window is a compile error until it is listed.
        let Windows {
            switch_answer_ms,
            same_announcement_ms,
            announcement_carried_ms,
            dhcp_relay_copy_ms,
            finished_transfer_ms,
            idle_transaction_ms,
            arp_probe_answer_ms,
            tls_server_hello_ms,
        } = *self;
        [
            ("switch_answer_ms", switch_answer_ms),
            ("same_announcement_ms", same_announcement_ms),
            ("announcement_carried_ms", announcement_carried_ms),
            ("dhcp_relay_copy_ms", dhcp_relay_copy_ms),
            ("finished_transfer_ms", finished_transfer_ms),
            ("idle_transaction_ms", idle_transaction_ms),
            ("arp_probe_answer_ms", arp_probe_answer_ms),
            ("tls_server_hello_ms", tls_server_hello_ms),
        ]
    }

    /// A window in nanoseconds of capture time.
    pub fn ns(ms: u64) -> i64 {
        i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BUILTIN_FILES, BUILTIN_PHONES, BUILTIN_WINDOWS};

    #[test]
    fn the_builtin_files_load() {
        PhoneMarkers::from_json(PHONES_FILE, BUILTIN_PHONES).unwrap();
        FileClasses::from_json(FILES_FILE, BUILTIN_FILES).unwrap();
        Windows::from_json(WINDOWS_FILE, BUILTIN_WINDOWS).unwrap();
    }

    #[test]
    fn file_names_are_classified_by_the_first_pattern_that_matches() {
        let c = FileClasses::from_json(FILES_FILE, BUILTIN_FILES).unwrap();
        assert_eq!(c.classify("CTLSEP001122334455.tlv"), FileClass::Ctl);
        assert_eq!(c.classify("ITLSEP001122334455.tlv"), FileClass::Itl);
        assert_eq!(
            c.classify("SEP001122334455.cnf.xml"),
            FileClass::DeviceConfig
        );
        assert_eq!(c.classify("xmldefault.CNF.xml"), FileClass::DefaultConfig);
        // Signed and encrypted configurations are the phone's, not a load's `.sgn`.
        for name in [
            "SEP001122334455.cnf.xml.sgn",
            "SEP001122334455.cnf.xml.enc.sgn",
        ] {
            assert_eq!(c.classify(name), FileClass::DeviceConfig, "{name}");
        }
        assert_eq!(
            c.classify("XMLDefault.cnf.xml.sgn"),
            FileClass::DefaultConfig
        );
        // The 7940/7960 SIP loads: their default file, their own, and the dual-boot file.
        assert_eq!(c.classify("SIPDefault.cnf"), FileClass::DefaultConfig);
        assert_eq!(c.classify("./SIP001122AABBCC.cnf"), FileClass::DeviceConfig);
        assert_eq!(c.classify("OS79XX.TXT"), FileClass::Other);
        assert_eq!(c.classify("P0S3-08-12-00.sbn"), FileClass::Firmware);
        assert_eq!(c.classify("SCCP70.9-4-2SR3-1S.loads"), FileClass::Firmware);
        assert_eq!(c.classify("/firmware/cmterm.sbn"), FileClass::Firmware);
        assert_eq!(c.classify("RingList.xml"), FileClass::Other);
        assert_eq!(c.classify("SEP.loads").stage(), Stage::Firmware);
        assert_eq!(c.classify(""), FileClass::Other);
    }

    #[test]
    fn markers_match_as_documented() {
        let m = PhoneMarkers::from_json(PHONES_FILE, BUILTIN_PHONES).unwrap();
        assert!(m.dhcp_vendor_class("Cisco Systems, Inc. IP Phone CP-7970\0"));
        assert!(!m.dhcp_vendor_class("MSFT 5.0"));
        assert!(m.cdp_platform("Cisco IP Phone 7970"));
        assert!(m.sip_user_agent("Cisco-CP8841/14.1.1"));
        assert!(!m.sip_user_agent("Cisco-SIPGateway/IOS-15"));
        assert!(m.sip_gateway("Cisco-SIPGateway/IOS-16.9.1"));
        assert!(!m.sip_gateway("Cisco-CUCM12.0"));
        // SoftwareMtpDixieLand (83), as an IOS "NONSECURE_MTP" registers; a 7970 is no
        // media resource.
        assert!(m.sccp_media_resource(83));
        assert!(!m.sccp_media_resource(30006));
    }

    #[test]
    fn a_file_without_the_non_phone_markers_keeps_the_builtin_ones() {
        let m = PhoneMarkers::from_json(
            "p.json",
            "{\"dhcp_vendor_class_prefixes\": [\"Acme\"], \"cdp_platform_contains\": [], \
             \"sip_user_agent_prefixes\": []}",
        )
        .unwrap();
        let builtin = PhoneMarkers::from_json(PHONES_FILE, BUILTIN_PHONES).unwrap();
        assert_eq!(m.sip_gateway_prefixes, builtin.sip_gateway_prefixes);
        assert_eq!(
            m.sccp_media_resource_types,
            builtin.sccp_media_resource_types
        );
        assert!(!m.sip_gateway_prefixes.is_empty() && !m.sccp_media_resource_types.is_empty());
        // A marker that would make one agent both a phone and a gateway is refused.
        let e = PhoneMarkers::from_json(
            "p.json",
            "{\"dhcp_vendor_class_prefixes\": [], \"cdp_platform_contains\": [],\n\
             \"sip_user_agent_prefixes\": [\"Cisco-\"],\n\"sip_gateway_prefixes\": [\"Cisco-SIPGateway\"]}",
        )
        .unwrap_err();
        assert_eq!((e.line, e.message.contains("both")), (3, true), "{e}");
    }

    #[test]
    fn bad_files_are_errors_with_their_place() {
        let e = FileClasses::from_json("f.json", "{\"patterns\": [\n  {\"class\": \"ctl\"}\n]}")
            .unwrap_err();
        assert_eq!(
            (e.line, e.message.contains("match every file")),
            (2, true),
            "{e}"
        );
        let e = FileClasses::from_json(
            "f.json",
            "{\"patterns\": [{\"class\": \"bogus\", \"name\": \"x\"}]}",
        )
        .unwrap_err();
        assert!(e.message.contains("unknown variant"), "{e}");
        let e = PhoneMarkers::from_json(
            "p.json",
            "{\"dhcp_vendor_class_prefixes\": [\"\"], \"cdp_platform_contains\": [], \
             \"sip_user_agent_prefixes\": []}",
        )
        .unwrap_err();
        assert!(e.message.contains("every device"), "{e}");
        let text =
            BUILTIN_WINDOWS.replace("\"switch_answer_ms\": 10000", "\"switch_answer_ms\": 0");
        let e = Windows::from_json("w.json", &text).unwrap_err();
        assert!(e.message.contains("switch_answer_ms"), "{e}");
    }
}
