//! bootscope's knowledge of a Cisco IP phone boot, kept as data: the expected boot sequence
//! (`boot_sequence.json`, a graph of steps) and the findings (`findings.json`, conditions over
//! facts). This crate loads, checks and evaluates them; it knows nothing about packets. The engine
//! supplies a [`Vocabulary`] of facts and implements [`Facts`] per phone.
//! The only I/O is [`RuleSet::load_dir`]; the builtin files are embedded with `include_str!`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod expr;
mod floods;
mod knowledge;
mod ruleset;
mod sequence;
mod span;
mod template;
mod timing;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use error::{ExprError, LoadError};
pub use expr::Expr;
pub use floods::{Counted, RateFlood, MAX_FLOOD_WINDOW_MS};
pub use knowledge::{
    FileClass, FileClasses, FilePattern, PhoneMarkers, Windows, FILES_FILE, PHONES_FILE,
    WINDOWS_FILE,
};
pub use ruleset::{DhcpStarvation, Rule, RuleSet, Sources, FINDINGS_FILE, SEQUENCE_FILE};
pub use sequence::{EventMatch, FileVia, Protocol, Qualities, Sequence, Step, StepId};
pub use template::Template;
pub use timing::{ModelTiming, ModelValue, MsRange, MAX_MODEL_MS};

/// The builtin boot sequence (`rules/boot_sequence.json`).
pub const BUILTIN_SEQUENCE: &str = include_str!("../boot_sequence.json");
/// The builtin findings (`rules/findings.json`).
pub const BUILTIN_FINDINGS: &str = include_str!("../findings.json");
/// The builtin phone markers (`rules/phones.json`).
pub const BUILTIN_PHONES: &str = include_str!("../phones.json");
/// The builtin file classes (`rules/files.json`).
pub const BUILTIN_FILES: &str = include_str!("../files.json");
/// The builtin correlation windows (`rules/windows.json`).
pub const BUILTIN_WINDOWS: &str = include_str!("../windows.json");

/// Boot stages in boot order. serde snake_case: "discovery", "dhcp", "config", "firmware",
/// "registration".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// CDP / LLDP-MED: the phone announces itself and learns its voice VLAN.
    Discovery,
    /// DHCP: address and TFTP server (option 150 / 66).
    Dhcp,
    /// CTL / ITL and the device configuration file (TFTP or HTTP 6970).
    Config,
    /// Firmware download, when the load differs.
    Firmware,
    /// Connection and registration to the call manager (SCCP or SIP).
    Registration,
}

impl Stage {
    /// All stages, in boot order.
    pub const ALL: [Stage; 5] = [
        Stage::Discovery,
        Stage::Dhcp,
        Stage::Config,
        Stage::Firmware,
        Stage::Registration,
    ];

    /// The name used in the JSON files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Discovery => "discovery",
            Stage::Dhcp => "dhcp",
            Stage::Config => "config",
            Stage::Firmware => "firmware",
            Stage::Registration => "registration",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a finding is. serde lowercase "error", "warning", "info"; `Error > Warning > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a fault.
    Info,
    /// Unusual or slow, but the boot can go on.
    Warning,
    /// A fault: by default it stalls the phone.
    Error,
}

impl Severity {
    /// The name used in the JSON files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Types of facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactType {
    /// A signed 64-bit integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// A string.
    Str,
}

impl FactType {
    /// The name used in error messages: "int", "bool", "string".
    pub fn as_str(self) -> &'static str {
        match self {
            FactType::Int => "int",
            FactType::Bool => "bool",
            FactType::Str => "string",
        }
    }
}

impl fmt::Display for FactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fact's value as the engine supplies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// An [`FactType::Int`] value.
    Int(i64),
    /// A [`FactType::Bool`] value.
    Bool(bool),
    /// A [`FactType::Str`] value.
    Str(&'a str),
}

impl Value<'_> {
    /// The type of this value.
    pub fn ty(self) -> FactType {
        match self {
            Value::Int(_) => FactType::Int,
            Value::Bool(_) => FactType::Bool,
            Value::Str(_) => FactType::Str,
        }
    }
}

/// Index of a fact in [`Vocabulary::facts`].
pub type FactId = usize;

/// The vocabulary the engine offers: fact names (lowercase ascii, digits, '_' and '.') with types
/// and a one-line doc each. Rules may only use these names; the index in `facts` is the
/// [`FactId`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    /// The facts, indexed by [`FactId`].
    pub facts: Vec<FactDef>,
    /// The event types the engine records: what a step's `reached_by` may name.
    pub events: Vec<EventDef>,
}

/// One event type of the [`Vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDef {
    /// Its name, e.g. `file_received`.
    pub name: &'static str,
    /// The qualifiers of [`EventMatch`] it takes (`file`, `via`, `proto`, `with_address`,
    /// `deregister`).
    pub qualifiers: &'static [&'static str],
    /// One line saying what it is.
    pub doc: &'static str,
}

/// One fact of the [`Vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactDef {
    /// The name rules use, e.g. `dhcp.offers`.
    pub name: &'static str,
    /// The type of its value.
    pub ty: FactType,
    /// One line saying what it is.
    pub doc: &'static str,
}

impl Vocabulary {
    /// The id of the fact called `name`.
    pub fn id(&self, name: &str) -> Option<FactId> {
        self.facts.iter().position(|f| f.name == name)
    }
}

/// What the engine implements, per phone.
pub trait Facts {
    /// The value of fact `id`; it must be of the type the [`Vocabulary`] declares (a value of
    /// another type makes the comparisons using it false).
    fn value(&self, id: FactId) -> Value<'_>;
}

/// `[a-z0-9]+(-[a-z0-9]+)*`: finding codes and step ids.
pub(crate) fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
pub(crate) mod testutil {
    //! The test vocabulary that `findings.json` type-checks against, and a map-backed [`Facts`].
    use super::*;
    use std::cell::RefCell;

    /// Event types the test rules may name as evidence.
    pub const EVENT_TYPES: &[&str] = &[
        "phone_announce",
        "switch_voice_vlan",
        "eap_success",
        "dhcp_discover",
        "dhcp_offer",
        "dhcp_request",
        "dhcp_ack",
        "dhcp_nak",
        "file_received",
        "file_not_found",
        "cm_syn_ack",
        "register",
        "register_ack",
        "keepalive",
        "keepalive_ack",
        "cut",
        "malformed",
        "tls_session_up",
    ];

    /// The qualifiers each of [`EVENT_TYPES`] takes, as the engine declares them.
    fn qualifiers(name: &str) -> &'static [&'static str] {
        match name {
            "phone_announce" => &["with_address"],
            "file_received" | "file_not_found" => &["file", "via"],
            "register" => &["proto", "deregister"],
            "register_ack" => &["proto"],
            _ => &[],
        }
    }

    /// A vocabulary shaped like the engine's (the real one lives in the root crate).
    pub fn vocab() -> Vocabulary {
        let f = |name, ty, doc| FactDef { name, ty, doc };
        Vocabulary {
            facts: vec![
                f(
                    "lldp.seen",
                    FactType::Bool,
                    "an LLDP-MED frame from the phone",
                ),
                f("cdp.seen", FactType::Bool, "a CDP frame from the phone"),
                f(
                    "voice_vlan",
                    FactType::Int,
                    "voice VLAN from the switch, 0 if none",
                ),
                f("dhcp.discovers", FactType::Int, "DISCOVERs sent"),
                f("dhcp.offers", FactType::Int, "OFFERs received"),
                f("dhcp.naks", FactType::Int, "NAKs received"),
                f(
                    "dhcp.tftp_servers",
                    FactType::Int,
                    "servers in option 150/66",
                ),
                f(
                    "dhcp.server",
                    FactType::Str,
                    "address of the offering server",
                ),
                f(
                    "tftp.error_code",
                    FactType::Int,
                    "last TFTP error code, -1 if none",
                ),
                f("tftp.file", FactType::Str, "file of the last TFTP error"),
                f("reg.protocol", FactType::Str, "\"sccp\", \"sip\" or \"\""),
                f("reg.rejected", FactType::Bool, "the call manager refused"),
                f(
                    "sip.status",
                    FactType::Int,
                    "last final SIP status, 0 if none",
                ),
                f("malformed", FactType::Int, "malformed packets seen"),
                f(
                    "stall.step",
                    FactType::Str,
                    "id of the step it stalled after",
                ),
            ],
            events: EVENT_TYPES
                .iter()
                .map(|&name| EventDef {
                    name,
                    qualifiers: qualifiers(name),
                    doc: "",
                })
                .collect(),
        }
    }

    /// Facts from a list of (name, value); unlisted facts are 0 / false / "". Records reads.
    pub struct MapFacts {
        pub values: Vec<Value<'static>>,
        pub reads: RefCell<Vec<FactId>>,
    }

    impl MapFacts {
        pub fn new(vocab: &Vocabulary, set: &[(&str, Value<'static>)]) -> MapFacts {
            let values = vocab
                .facts
                .iter()
                .map(|d| {
                    set.iter()
                        .find(|(n, _)| *n == d.name)
                        .map(|(_, v)| *v)
                        .unwrap_or(match d.ty {
                            FactType::Int => Value::Int(0),
                            FactType::Bool => Value::Bool(false),
                            FactType::Str => Value::Str(""),
                        })
                })
                .collect();
            MapFacts {
                values,
                reads: RefCell::new(Vec::new()),
            }
        }
    }

    impl Facts for MapFacts {
        fn value(&self, id: FactId) -> Value<'_> {
            self.reads.borrow_mut().push(id);
            self.values[id]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_and_severity_order_and_names() {
        assert!(Stage::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Stage::Dhcp.as_str(), "dhcp");
        assert_eq!(
            serde_json::to_string(&Stage::Registration).unwrap(),
            "\"registration\""
        );
        for s in Stage::ALL {
            let json = format!("\"{}\"", s.as_str());
            assert_eq!(serde_json::from_str::<Stage>(&json).unwrap(), s);
        }
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
        assert_eq!(
            serde_json::from_str::<Severity>("\"warning\"").unwrap(),
            Severity::Warning
        );
        assert_eq!(Severity::Error.as_str(), "error");
    }

    #[test]
    fn kebab_case_is_checked() {
        for ok in ["a", "dhcp-no-offer", "ctl", "x1-2b"] {
            assert!(is_kebab(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "Dhcp", "a_b", "a b", "é"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }

    #[test]
    fn vocabulary_ids_are_indices() {
        let v = testutil::vocab();
        assert_eq!(v.id("lldp.seen"), Some(0));
        assert_eq!(v.id("dhcp.offers"), Some(4));
        assert_eq!(v.id("nope"), None);
    }
}
