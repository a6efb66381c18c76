//! The rules of `findings.json` and the [`RuleSet`] the engine runs: a [`Sequence`] plus rules,
//! each compiled against the engine's [`Vocabulary`] and event types at load time, so that a
//! typo or a type error is a `file:line:column` error before any capture is read. The builtin
//! files are embedded; [`RuleSet::load_dir`] (`bootscope analyze --rules DIR`) overrides them.

use std::path::Path;

use serde::Deserialize;

use crate::floods::{self, RateFlood};
use crate::knowledge::{FileClasses, PhoneMarkers, Windows, FILES_FILE, PHONES_FILE, WINDOWS_FILE};
use crate::span::{Key, Source};
use crate::{
    is_kebab, Expr, LoadError, Sequence, Severity, Stage, Template, Vocabulary, BUILTIN_FILES,
    BUILTIN_FINDINGS, BUILTIN_PHONES, BUILTIN_SEQUENCE, BUILTIN_WINDOWS,
};

/// File name of the boot sequence in a rules directory.
pub const SEQUENCE_FILE: &str = "boot_sequence.json";
/// File name of the findings in a rules directory.
pub const FINDINGS_FILE: &str = "findings.json";

/// One rule of `findings.json`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable kebab-case finding code, e.g. `dhcp-no-offer`.
    pub code: String,
    /// The stage the finding belongs to; `None` for JSON `"any"`.
    pub stage: Option<Stage>,
    /// How bad it is.
    pub severity: Severity,
    /// When the rule fires.
    pub when: Expr,
    /// The finding's message.
    pub message: Template,
    /// Next checks to make (may be empty).
    pub checks: Vec<Template>,
    /// Event-type names whose frames are the evidence.
    pub evidence: Vec<String>,
    /// The finding stalls the phone at `stage` (or, for `None`, wherever it stopped). JSON
    /// `"stalls"`, by default `severity == error`.
    pub stalls: bool,
    /// The phone stalls at `stage` even when it went on to try later steps: the fault
    /// is why those failed (a port left unauthorised drops the DHCP DISCOVERs). JSON
    /// `"holds_stage"`, by default false: a stalling finding otherwise names no stage
    /// before the earliest one the boot could still be in.
    pub holds_stage: bool,
    /// 1-based line in its file where the rule object starts.
    pub line: usize,
}

/// Everything `bootscope analyze` checks a boot against.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The expected boot sequence.
    pub sequence: Sequence,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The files loaded (sequence first, then findings), for the report.
    pub sources: Vec<String>,
    /// The site-wide DHCP starvation detector (`"dhcp_starvation"` in `findings.json`;
    /// the builtin one when the file has none).
    pub dhcp_starvation: DhcpStarvation,
    /// The floods told by rate (`"floods"` in `findings.json`; the builtin ones when the
    /// file has none).
    pub floods: Vec<RateFlood>,
    /// How a phone is told from other devices (`phones.json`).
    pub phones: PhoneMarkers,
    /// What a file is, by its name (`files.json`).
    pub files: FileClasses,
    /// How far apart packets may be and still be read together (`windows.json`).
    pub windows: Windows,
}

/// The texts a [`RuleSet`] is made of, each as (file name, text); the names are only used in
/// errors and [`RuleSet::sources`].
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// `boot_sequence.json`.
    pub sequence: (&'a str, &'a str),
    /// `findings.json`.
    pub findings: (&'a str, &'a str),
    /// `phones.json`.
    pub phones: (&'a str, &'a str),
    /// `files.json`.
    pub files: (&'a str, &'a str),
    /// `windows.json`.
    pub windows: (&'a str, &'a str),
}

impl<'a> Sources<'a> {
    /// The five files, in the order of [`BUILTIN`].
    fn in_order([sequence, findings, phones, files, windows]: [(&'a str, &'a str); 5]) -> Self {
        Sources {
            sequence,
            findings,
            phones,
            files,
            windows,
        }
    }
}

/// The embedded files, in the order of [`Sources`].
const BUILTIN: [(&str, &str); 5] = [
    (SEQUENCE_FILE, BUILTIN_SEQUENCE),
    (FINDINGS_FILE, BUILTIN_FINDINGS),
    (PHONES_FILE, BUILTIN_PHONES),
    (FILES_FILE, BUILTIN_FILES),
    (WINDOWS_FILE, BUILTIN_WINDOWS),
];

/// The thresholds of the site-wide DHCP starvation detector: on one VLAN, within a
/// sliding window, DHCP clients seen for the first time that sent a DISCOVER and not
/// a REQUEST (phones excluded). `"dhcp_starvation"` in `findings.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpStarvation {
    /// The sliding window, in whole seconds of capture time (1000..=60000 ms).
    pub window_ms: u64,
    /// Silent new clients (DISCOVER, no REQUEST) within the window that make a flood.
    pub min_silent_clients: u64,
    /// The site finding's severity.
    pub severity: Severity,
    /// The next checks, for the report; `{vlan}` is replaced by the VLAN.
    #[serde(default)]
    pub checks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingsFile {
    rules: Vec<RuleFile>,
    #[serde(default)]
    dhcp_starvation: Option<DhcpStarvation>,
    #[serde(default)]
    floods: Option<Vec<RateFlood>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    code: String,
    stage: StageSel,
    severity: Severity,
    when: String,
    message: String,
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    stalls: Option<bool>,
    #[serde(default)]
    holds_stage: bool,
}

/// A rule's `"stage"`: a stage name or `"any"`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum StageSel {
    Discovery,
    Dhcp,
    Config,
    Firmware,
    Registration,
    Any,
}

impl StageSel {
    fn stage(self) -> Option<Stage> {
        match self {
            StageSel::Discovery => Some(Stage::Discovery),
            StageSel::Dhcp => Some(Stage::Dhcp),
            StageSel::Config => Some(Stage::Config),
            StageSel::Firmware => Some(Stage::Firmware),
            StageSel::Registration => Some(Stage::Registration),
            StageSel::Any => None,
        }
    }
}

/// Name under which the embedded files appear in errors and [`RuleSet::sources`].
fn builtin_name(file: &str) -> String {
    format!("<builtin>/{file}")
}

impl RuleSet {
    /// The builtin files, checked against `vocab` and `event_types` (the names a rule's
    /// `evidence` may use).
    ///
    /// # Errors
    /// As [`RuleSet::from_sources`]; for the builtin files that is a bug (a test catches it).
    pub fn builtin(vocab: &Vocabulary, event_types: &[&str]) -> Result<RuleSet, LoadError> {
        let names = BUILTIN.map(|(file, _)| builtin_name(file));
        let sources = Sources::in_order(std::array::from_fn(|i| (names[i].as_str(), BUILTIN[i].1)));
        RuleSet::from_sources(sources, vocab, event_types)
    }

    /// Load the rule files of `dir` (`boot_sequence.json`, `findings.json`, `phones.json`,
    /// `files.json`, `windows.json`); a file missing from `dir` falls back to the builtin one.
    ///
    /// # Errors
    /// `dir` is not a directory or holds none of the files, a file cannot be read (line 0), or
    /// as [`RuleSet::from_sources`].
    pub fn load_dir(
        dir: &Path,
        vocab: &Vocabulary,
        event_types: &[&str],
    ) -> Result<RuleSet, LoadError> {
        let whole = |file: String, message: String| LoadError {
            file,
            line: 0,
            column: 0,
            message,
        };
        if !dir.is_dir() {
            return Err(whole(
                dir.display().to_string(),
                "not a directory".to_owned(),
            ));
        }
        let read = |name: &str| -> Result<Option<(String, String)>, LoadError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some((path.display().to_string(), text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(whole(path.display().to_string(), e.to_string())),
            }
        };
        let mut found = Vec::with_capacity(BUILTIN.len());
        for (file, _) in BUILTIN {
            found.push(read(file)?);
        }
        if found.iter().all(Option::is_none) {
            let names: Vec<&str> = BUILTIN.iter().map(|(file, _)| *file).collect();
            return Err(whole(
                dir.display().to_string(),
                format!("holds none of {}", names.join(", ")),
            ));
        }
        let texts: Vec<(String, String)> = found
            .into_iter()
            .zip(BUILTIN)
            .map(|(f, (file, text))| f.unwrap_or_else(|| (builtin_name(file), text.to_owned())))
            .collect();
        let sources = Sources::in_order(std::array::from_fn(|i| {
            (texts[i].0.as_str(), texts[i].1.as_str())
        }));
        RuleSet::from_sources(sources, vocab, event_types)
    }

    /// Parse and check every text of `sources`.
    ///
    /// # Errors
    /// Any [`Sequence::from_json`], [`PhoneMarkers::from_json`], [`FileClasses::from_json`]
    /// or [`Windows::from_json`] error; in the findings: JSON or field errors (unknown fields
    /// included), a code not in kebab-case, a `when`, `message` or `checks` entry that does not
    /// compile (the column points into the string), an unknown evidence event type, or two rules
    /// with the same code and the same condition.
    pub fn from_sources(
        sources: Sources<'_>,
        vocab: &Vocabulary,
        event_types: &[&str],
    ) -> Result<RuleSet, LoadError> {
        let Sources {
            sequence,
            findings,
            phones,
            files,
            windows,
        } = sources;
        let seq = Sequence::from_json(sequence.0, sequence.1, vocab)?;
        let loaded = load_rules(findings.0, findings.1, vocab, event_types)?;
        let (rules, dhcp_starvation, floods) = match loaded {
            (rules, Some(s), Some(f)) => (rules, s, f),
            (rules, s, f) => {
                let builtin = builtin_sections()?;
                (rules, s.unwrap_or(builtin.0), f.unwrap_or(builtin.1))
            }
        };
        Ok(RuleSet {
            sequence: seq,
            rules,
            sources: [sequence, findings, phones, files, windows]
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .collect(),
            dhcp_starvation,
            floods,
            phones: PhoneMarkers::from_json(phones.0, phones.1)?,
            files: FileClasses::from_json(files.0, files.1)?,
            windows: Windows::from_json(windows.0, windows.1)?,
        })
    }
}

/// The builtin `"dhcp_starvation"` and `"floods"` sections, for a findings file
/// without them.
fn builtin_sections() -> Result<(DhcpStarvation, Vec<RateFlood>), LoadError> {
    let name = builtin_name(FINDINGS_FILE);
    let (parsed, src) = Source::parse::<FindingsFile>(&name, BUILTIN_FINDINGS)?;
    let starvation = parsed
        .dhcp_starvation
        .ok_or_else(|| src.error(src.node(&[]), "the builtin findings lack dhcp_starvation"))?;
    let floods = parsed
        .floods
        .ok_or_else(|| src.error(src.node(&[]), "the builtin findings lack floods"))?;
    Ok((starvation, floods))
}

/// Check the starvation detector's thresholds.
fn check_starvation(src: &Source<'_>, s: &DhcpStarvation) -> Result<(), LoadError> {
    let field = |f: &str| src.node(&[Key::Field("dhcp_starvation"), Key::Field(f)]);
    // The engine keeps a bucket per second per VLAN: the window bounds its memory.
    if !(1000..=60_000).contains(&s.window_ms) || s.window_ms % 1000 != 0 {
        return Err(src.error(
            field("window_ms"),
            "dhcp_starvation.window_ms must be whole seconds between 1000 and 60000",
        ));
    }
    if s.min_silent_clients == 0 {
        return Err(src.error(
            field("min_silent_clients"),
            "dhcp_starvation.min_silent_clients must be positive",
        ));
    }
    Ok(())
}

/// The rules, and the starvation detector's and the floods' sections when the file
/// has them.
type LoadedFindings = (Vec<Rule>, Option<DhcpStarvation>, Option<Vec<RateFlood>>);

fn load_rules(
    file: &str,
    text: &str,
    vocab: &Vocabulary,
    event_types: &[&str],
) -> Result<LoadedFindings, LoadError> {
    let (parsed, src) = Source::parse::<FindingsFile>(file, text)?;
    if let Some(s) = &parsed.dhcp_starvation {
        check_starvation(&src, s)?;
    }
    if let Some(f) = &parsed.floods {
        floods::check(&src, f)?;
    }
    let mut rules: Vec<Rule> = Vec::with_capacity(parsed.rules.len());
    for (i, r) in parsed.rules.into_iter().enumerate() {
        let node = |path: &[Key<'_>]| {
            let mut full = vec![Key::Field("rules"), Key::Index(i)];
            full.extend_from_slice(path);
            src.node(&full)
        };
        let code = r.code;
        if !is_kebab(&code) {
            return Err(src.error(
                node(&[Key::Field("code")]),
                format!("rule code `{code}` is not kebab-case ([a-z0-9]+(-[a-z0-9]+)*)"),
            ));
        }
        let when = Expr::compile(&r.when, vocab).map_err(|e| {
            src.error_in_string(
                node(&[Key::Field("when")]),
                e.column,
                format!("rule `{code}`, \"when\": {}", e.message),
            )
        })?;
        let message = Template::compile(&r.message, vocab).map_err(|e| {
            src.error_in_string(
                node(&[Key::Field("message")]),
                e.column,
                format!("rule `{code}`, \"message\": {}", e.message),
            )
        })?;
        let checks = r
            .checks
            .iter()
            .enumerate()
            .map(|(j, c)| {
                Template::compile(c, vocab).map_err(|e| {
                    src.error_in_string(
                        node(&[Key::Field("checks"), Key::Index(j)]),
                        e.column,
                        format!("rule `{code}`, \"checks\": {}", e.message),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (j, ev) in r.evidence.iter().enumerate() {
            if !event_types.contains(&ev.as_str()) {
                return Err(src.error(
                    node(&[Key::Field("evidence"), Key::Index(j)]),
                    format!(
                        "rule `{code}`: unknown event type `{ev}` in \"evidence\" (known: {})",
                        event_types.join(", ")
                    ),
                ));
            }
        }
        let line = src.line(node(&[]));
        if let Some(twin) = rules.iter().find(|p| p.code == code && p.when == when) {
            return Err(src.error(
                node(&[]),
                format!(
                    "rule `{code}` repeats the condition of the rule on line {}",
                    twin.line
                ),
            ));
        }
        rules.push(Rule {
            code,
            stage: r.stage.stage(),
            severity: r.severity,
            when,
            message,
            checks,
            evidence: r.evidence,
            stalls: r.stalls.unwrap_or(r.severity == Severity::Error),
            holds_stage: r.holds_stage,
            line,
        });
    }
    Ok((rules, parsed.dhcp_starvation, parsed.floods))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{vocab, MapFacts, EVENT_TYPES};
    use crate::Value;

    /// The builtin files but the sequence and the findings given.
    fn with<'a>(sequence: (&'a str, &'a str), findings: (&'a str, &'a str)) -> Sources<'a> {
        Sources {
            sequence,
            findings,
            phones: BUILTIN[2],
            files: BUILTIN[3],
            windows: BUILTIN[4],
        }
    }

    fn load(findings: &str) -> Result<RuleSet, LoadError> {
        RuleSet::from_sources(
            with(("seq.json", BUILTIN_SEQUENCE), ("findings.json", findings)),
            &vocab(),
            EVENT_TYPES,
        )
    }

    fn fails(findings: &str, line: usize, column: usize, msg: &str) {
        let e = load(findings).expect_err("loaded");
        assert_eq!(e.file, "findings.json", "{e}");
        assert_eq!((e.line, e.column), (line, column), "{e}");
        assert!(e.message.contains(msg), "{e}");
    }

    /// A findings file with one rule per entry; each rule's fields on lines of their own.
    fn file(rules: &[&str]) -> String {
        format!("{{\n  \"rules\": [\n{}\n  ]\n}}\n", rules.join(",\n"))
    }

    const OK_RULE: &str = r#"    {
      "code": "dhcp-no-offer",
      "stage": "dhcp",
      "severity": "error",
      "when": "dhcp.discovers > 0 && dhcp.offers == 0",
      "message": "{dhcp.discovers} DISCOVER(s), no OFFER",
      "checks": ["relay on VLAN {voice_vlan}?"],
      "evidence": ["dhcp_discover"]
    }"#;

    // This test pins the example findings.json to the test vocabulary. When findings.json is
    // rewritten against the engine's real vocabulary, the engine's tests take over: change this
    // test to load only the builtin sequence, or delete it.
    #[test]
    fn builtin_sequence_loads_with_the_test_findings() {
        // The builtin findings are written against the engine's vocabulary (the
        // engine's tests load them); here the builtin sequence is checked alone.
        let findings = file(&[OK_RULE]);
        let set = RuleSet::from_sources(
            with(
                (SEQUENCE_FILE, crate::BUILTIN_SEQUENCE),
                (FINDINGS_FILE, &findings),
            ),
            &vocab(),
            EVENT_TYPES,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(set.sequence.step_id("registered").is_some());
        assert_eq!(set.rules.len(), 1);
    }

    #[test]
    fn a_rule_loads_and_evaluates() {
        let set = load(&file(&[OK_RULE])).unwrap();
        let [r] = set.rules.as_slice() else {
            panic!("{:?}", set.rules)
        };
        assert_eq!(r.code, "dhcp-no-offer");
        assert_eq!(r.stage, Some(Stage::Dhcp));
        assert_eq!(r.severity, Severity::Error);
        assert!(r.stalls, "errors stall by default");
        assert_eq!(r.line, 3);
        assert_eq!(r.evidence, ["dhcp_discover"]);
        let v = vocab();
        let facts = MapFacts::new(
            &v,
            &[
                ("dhcp.discovers", Value::Int(3)),
                ("voice_vlan", Value::Int(20)),
            ],
        );
        assert!(r.when.eval(&facts));
        assert_eq!(r.message.render(&facts), "3 DISCOVER(s), no OFFER");
        assert_eq!(r.checks[0].render(&facts), "relay on VLAN 20?");
    }

    #[test]
    fn stage_any_stalls_default_and_optional_fields() {
        let rule = r#"    {"code": "malformed-packets", "stage": "any", "severity": "warning",
     "when": "malformed > 0", "message": "{malformed} malformed"}"#;
        let stalling = r#"    {"code": "x", "stage": "config", "severity": "info", "stalls": true,
     "when": "true", "message": "m"}"#;
        let quiet = r#"    {"code": "y", "stage": "config", "severity": "error", "stalls": false,
     "holds_stage": true, "when": "true", "message": "m"}"#;
        let set = load(&file(&[rule, stalling, quiet])).unwrap();
        let r = &set.rules;
        assert_eq!(r[0].stage, None);
        assert!(!r[0].stalls && r[0].checks.is_empty() && r[0].evidence.is_empty());
        assert!(r[1].stalls);
        assert!(!r[2].stalls);
        assert!(!r[0].holds_stage && !r[1].holds_stage && r[2].holds_stage);
        assert_eq!((r[0].line, r[1].line, r[2].line), (3, 5, 7));
    }

    #[test]
    fn the_starvation_thresholds_load_or_fall_back_to_the_builtin_ones() {
        // No section: the builtin thresholds.
        let set = load(&file(&[OK_RULE])).unwrap();
        assert_eq!(set.dhcp_starvation.window_ms, 10_000);
        assert_eq!(set.dhcp_starvation.min_silent_clients, 200);
        assert_eq!(set.dhcp_starvation.severity, Severity::Error);
        assert!(!set.dhcp_starvation.checks.is_empty());
        // A section of one's own.
        let own = |section: &str| {
            format!("{{\n  \"rules\": [\n{OK_RULE}\n  ],\n  \"dhcp_starvation\": {section}\n}}\n")
        };
        let set = load(&own(
            r#"{"window_ms": 5000, "min_silent_clients": 50, "severity": "warning"}"#,
        ))
        .unwrap();
        assert_eq!(
            set.dhcp_starvation,
            DhcpStarvation {
                window_ms: 5000,
                min_silent_clients: 50,
                severity: Severity::Warning,
                checks: Vec::new(),
            }
        );
        // Checked, with the position of the bad value.
        fails(
            &own(r#"{"window_ms": 1500, "min_silent_clients": 50, "severity": "error"}"#),
            13,
            36,
            "whole seconds",
        );
        fails(
            &own(r#"{"window_ms": 1000, "min_silent_clients": 0, "severity": "error"}"#),
            13,
            64,
            "must be positive",
        );
        fails(
            &own(r#"{"window_ms": 1000, "min_clients": 5, "severity": "error"}"#),
            13,
            54,
            "unknown field `min_clients`",
        );
    }

    #[test]
    fn typo_in_a_field_name_is_an_error_with_its_line() {
        let typo = OK_RULE.replace("\"severity\"", "\"severty\"");
        let e = load(&file(&[OK_RULE, &typo])).expect_err("loaded");
        assert_eq!(e.line, 15, "{e}");
        assert!(e.message.contains("unknown field `severty`"), "{e}");
        assert!(e.to_string().starts_with("findings.json:15:"), "{e}");
    }

    #[test]
    fn bad_stage_severity_and_missing_field() {
        fails(
            &file(&[&OK_RULE.replace("\"dhcp\",", "\"dhcpp\",")]),
            5,
            22,
            "unknown variant `dhcpp`",
        );
        fails(
            &file(&[&OK_RULE.replace("\"error\"", "\"fatal\"")]),
            6,
            25,
            "unknown variant `fatal`",
        );
        let e = load(&file(&[&OK_RULE.replace(
            "      \"when\": \"dhcp.discovers > 0 && dhcp.offers == 0\",\n",
            "",
        )]))
        .expect_err("loaded");
        assert!(e.message.contains("missing field `when`"), "{e}");
        assert_eq!(e.line, 10);
    }

    #[test]
    fn expression_errors_point_into_the_string() {
        // "when" is on line 7, its opening quote at column 15.
        let bad = OK_RULE.replace("dhcp.offers == 0", "dhcp.ofers == 0");
        fails(
            &file(&[&bad]),
            7,
            15 + 23,
            "rule `dhcp-no-offer`, \"when\": unknown fact `dhcp.ofers`",
        );
        let bad = OK_RULE.replace("dhcp.discovers > 0", "dhcp.discovers > true");
        fails(
            &file(&[&bad]),
            7,
            15 + 18,
            "`>` needs int operands, found bool",
        );
        // Escapes before the error are counted as their source width.
        let bad = OK_RULE.replace(
            "\"dhcp.discovers > 0 && dhcp.offers == 0\"",
            r#""dhcp.server == \"a\\\\b\" && nope""#,
        );
        // Expression column 26; `\"`, `\\`, `\\` and `\"` each take one more source column.
        fails(&file(&[&bad]), 7, 15 + 26 + 4, "unknown fact `nope`");
    }

    #[test]
    fn template_errors_point_into_the_string() {
        let bad = OK_RULE.replace("{dhcp.discovers} DISCOVER", "{dhcp.discover} DISCOVER");
        fails(
            &file(&[&bad]),
            8,
            18 + 2,
            "rule `dhcp-no-offer`, \"message\": unknown fact `dhcp.discover`",
        );
        let bad = OK_RULE.replace("{voice_vlan}", "{vlan}");
        fails(
            &file(&[&bad]),
            9,
            18 + 16,
            "\"checks\": unknown fact `vlan`",
        );
    }

    #[test]
    fn code_and_evidence_are_validated() {
        fails(
            &file(&[&OK_RULE.replace("dhcp-no-offer", "DHCP_no_offer")]),
            4,
            15,
            "not kebab-case",
        );
        fails(
            &file(&[&OK_RULE.replace("[\"dhcp_discover\"]", "[\"dhcp_discover\", \"dhcp_offr\"]")]),
            10,
            37,
            "unknown event type `dhcp_offr`",
        );
    }

    #[test]
    fn same_code_needs_a_different_condition() {
        let warning = OK_RULE
            .replace("\"error\"", "\"warning\"")
            .replace("dhcp.offers == 0", "dhcp.offers == 1");
        let set = load(&file(&[OK_RULE, &warning])).unwrap();
        assert_eq!(set.rules.len(), 2);
        let twin = OK_RULE.replace(
            "dhcp.discovers > 0 && dhcp.offers == 0",
            "(dhcp.discovers > 0) && dhcp.offers==0",
        );
        fails(
            &file(&[OK_RULE, &twin]),
            12,
            5,
            "repeats the condition of the rule on line 3",
        );
    }

    #[test]
    fn sequence_errors_are_reported_for_the_sequence_file() {
        let e = RuleSet::from_sources(
            with(
                ("seq.json", "{\"steps\": [], \"extra\": 1}"),
                ("findings.json", "{\"rules\": []}"),
            ),
            &vocab(),
            EVENT_TYPES,
        )
        .expect_err("loaded");
        assert_eq!(e.file, "seq.json");
        assert!(e.message.contains("unknown field `extra`"), "{e}");
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rules-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn load_dir_with_only_findings_falls_back_to_the_builtin_sequence() {
        let dir = temp_dir("findings-only");
        std::fs::write(dir.join(FINDINGS_FILE), file(&[OK_RULE])).unwrap();
        let set = RuleSet::load_dir(&dir, &vocab(), EVENT_TYPES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.sequence.graph().node_count(), 16);
        assert_eq!(set.sources[0], "<builtin>/boot_sequence.json");
        assert_eq!(
            set.sources[1],
            dir.join(FINDINGS_FILE).display().to_string()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_dir_with_only_a_sequence_uses_the_builtin_findings_and_names_its_files() {
        let dir = temp_dir("sequence-only");
        let seq = "{\"steps\": [\n{\"id\": \"a\", \"stage\": \"dhcp\", \"what\": \"w\", \"timeout_ms\": 5, \"next\": [\"b\"], \"reached_by\": [{\"event\": \"dhcp_discover\"}]},\n{\"id\": \"b\", \"stage\": \"dhcp\", \"what\": \"w\", \"timeout_ms\": 5, \"next\": [\"b\"], \"terminal\": true, \"reached_by\": [{\"event\": \"dhcp_offer\"}]}\n]}";
        std::fs::write(dir.join(SEQUENCE_FILE), seq).unwrap();
        let e = RuleSet::load_dir(&dir, &vocab(), EVENT_TYPES).expect_err("loaded");
        assert_eq!(e.file, dir.join(SEQUENCE_FILE).display().to_string());
        assert_eq!(e.line, 3);
        std::fs::write(
            dir.join(SEQUENCE_FILE),
            seq.replace("[\"b\"], \"terminal\"", "[], \"terminal\""),
        )
        .unwrap();
        // The builtin findings are written against the engine's vocabulary, not this
        // test's: that they are the ones loaded shows in the error's file name (the
        // engine's tests load the same directory shape successfully).
        let e = RuleSet::load_dir(&dir, &vocab(), EVENT_TYPES).expect_err("loaded");
        assert_eq!(e.file, "<builtin>/findings.json");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_dir_takes_each_knowledge_file_it_holds() {
        let dir = temp_dir("files-only");
        let files = BUILTIN_FILES.replace(
            "{ \"class\": \"firmware\"",
            "{ \"class\": \"device_config\", \"prefix\": \"ATA\", \"suffix\": [\".cnf.xml\"] },\n    { \"class\": \"firmware\"",
        );
        std::fs::write(dir.join(FILES_FILE), files).unwrap();
        // Without findings written for this test's vocabulary the builtin ones fail;
        // a findings file of its own makes the set load.
        std::fs::write(dir.join(FINDINGS_FILE), file(&[OK_RULE])).unwrap();
        let set = RuleSet::load_dir(&dir, &vocab(), EVENT_TYPES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            set.files.classify("ATA001122334455.cnf.xml"),
            crate::FileClass::DeviceConfig
        );
        assert_eq!(set.sources[3], dir.join(FILES_FILE).display().to_string());
        assert_eq!(set.sources[2], "<builtin>/phones.json");
        std::fs::write(dir.join(WINDOWS_FILE), "{\"switch_answer_ms\": 1}").unwrap();
        let e = RuleSet::load_dir(&dir, &vocab(), EVENT_TYPES).expect_err("loaded");
        assert_eq!(e.file, dir.join(WINDOWS_FILE).display().to_string());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_dir_needs_a_directory_with_a_rules_file() {
        let dir = temp_dir("empty");
        let e = RuleSet::load_dir(&dir, &vocab(), EVENT_TYPES).expect_err("loaded");
        assert!(e.message.contains("holds none of"), "{e}");
        assert_eq!(e.to_string(), format!("{}: {}", dir.display(), e.message));
        let e = RuleSet::load_dir(&dir.join("missing"), &vocab(), EVENT_TYPES).expect_err("loaded");
        assert!(e.message.contains("not a directory"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_rate_floods_load_are_checked_or_fall_back_to_the_builtin_ones() {
        use crate::Counted;
        // No section: the builtin floods, one per kind counted.
        let set = load(&file(&[OK_RULE])).unwrap();
        let kinds: Vec<Counted> = set.floods.iter().map(|f| f.counts).collect();
        assert_eq!(kinds, Counted::ALL);
        assert!(set.floods.iter().all(|f| !f.checks.is_empty()));
        let own = |section: &str| {
            format!("{{\n  \"rules\": [\n{OK_RULE}\n  ],\n  \"floods\": {section}\n}}\n")
        };
        let one = |code: &str, counts: &str, window: u64, min: u64| {
            format!(
                r#"{{"code": "{code}", "counts": "{counts}", "stage": "dhcp", "window_ms": {window}, "min_in_window": {min}, "severity": "warning", "meaning": "m"}}"#
            )
        };
        // A section of one's own replaces the builtin one whole.
        let set = load(&own(&format!(
            "[{}]",
            one("arp-storm", "arp_requests", 5000, 50)
        )))
        .unwrap();
        assert_eq!(set.floods.len(), 1);
        assert_eq!(
            (
                set.floods[0].counts,
                set.floods[0].window_ms,
                set.floods[0].min_in_window
            ),
            (Counted::ArpRequests, 5000, 50)
        );
        let err = |section: String, msg: &str| {
            let e = load(&own(&section)).expect_err("loaded");
            assert_eq!((e.file.as_str(), e.line), ("findings.json", 13), "{e}");
            assert!(e.message.contains(msg), "{e}");
        };
        err(
            format!("[{}]", one("arp-storm", "arp_requests", 1500, 50)),
            "whole seconds",
        );
        err(
            format!("[{}]", one("arp-storm", "arp_requests", 1000, 0)),
            "must be positive",
        );
        err(
            format!("[{}]", one("ARP", "arp_requests", 1000, 5)),
            "kebab-case",
        );
        err(
            format!(
                "[{}, {}]",
                one("arp-storm", "arp_requests", 1000, 5),
                one("arp-again", "arp_requests", 1000, 5)
            ),
            "counts the same messages",
        );
        err(
            format!("[{}]", one("x", "tcp_syns", 1000, 5)),
            "unknown variant",
        );
    }
}
