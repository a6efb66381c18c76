//! `docs/rules.md` keeps its promise: every `json` example in it is a whole rules file
//! that loads through the loader `--rules DIR` uses, and its findings example does
//! what the page says on the sample it names.

use std::path::PathBuf;

use bootscope::analyze::{self, Options};

use crate::common::sample_path;

const GUIDE: &str = include_str!("../docs/rules.md");

/// The guide's ```json blocks, in order.
fn json_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for line in GUIDE.lines() {
        match open.take() {
            Some(text) if line.starts_with("```") => blocks.push(text),
            Some(mut text) => {
                text.push_str(line);
                text.push('\n');
                open = Some(text);
            }
            None if line.trim_end() == "```json" => open = Some(String::new()),
            None => assert!(
                !line.starts_with("```json"),
                "a json block with an info string the test does not read: {line}"
            ),
        }
    }
    assert!(open.is_none(), "an unclosed ```json block in docs/rules.md");
    blocks
}

/// The rules file an example is, by its top-level fields.
fn file_of(doc: &serde_json::Value) -> &'static str {
    let has = |k: &str| doc.get(k).is_some();
    match () {
        _ if has("steps") => "boot_sequence.json",
        _ if has("rules") => "findings.json",
        _ if has("patterns") => "files.json",
        _ if has("dhcp_vendor_class_prefixes") => "phones.json",
        _ if has("switch_answer_ms") => "windows.json",
        _ => panic!("a json example of docs/rules.md that is no rules file: {doc}"),
    }
}

/// A fresh directory holding `text` as `file`.
fn rules_dir(i: usize, file: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bootscope-guide-{}-{i}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
    dir
}

#[test]
fn every_example_of_the_rules_guide_loads() {
    let mut files = Vec::new();
    for (i, text) in json_blocks().into_iter().enumerate() {
        let doc: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("example {i} is not JSON: {e}\n{text}"));
        let file = file_of(&doc);
        let dir = rules_dir(i, file, &text);
        let set = analyze::load_rules(Some(&dir))
            .unwrap_or_else(|e| panic!("example {i} ({file}) does not load: {e}\n{text}"));
        // The example was read, not the builtin file.
        assert!(
            set.sources
                .iter()
                .any(|s| s.ends_with(file) && !s.starts_with("<builtin>")),
            "example {i}: {:?}",
            set.sources
        );
        std::fs::remove_dir_all(&dir).unwrap();
        files.push(file);
    }
    files.sort_unstable();
    files.dedup();
    assert_eq!(files.len(), 5, "an example of each rules file: {files:?}");
}

#[test]
fn a_broken_example_would_fail_the_guide() {
    // What the test above relies on: the loader refuses an unknown fact.
    let broken = r#"{ "rules": [ { "code": "x", "stage": "dhcp", "severity": "error",
        "when": "dhcp_ofer == 0", "message": "m" } ] }"#;
    let dir = rules_dir(99, "findings.json", broken);
    let err = analyze::load_rules(Some(&dir)).unwrap_err().to_string();
    assert!(err.contains("dhcp_ofer"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_guides_findings_example_flags_the_sip_phones_of_the_mixed_site() {
    let text = json_blocks()
        .into_iter()
        .find(|t| t.contains("sip-on-sccp-site"))
        .expect("the findings example");
    let dir = rules_dir(100, "findings.json", &text);
    let opts = Options {
        rules: Some(dir.clone()),
        ..Options::default()
    };
    let report = analyze::run(&sample_path("mixed-site"), &opts).unwrap();
    let (mut sip, mut sccp) = (0, 0);
    for p in &report.phones {
        let flagged = p.findings.iter().any(|f| f.code == "sip-on-sccp-site");
        match p.protocol {
            Some("sip") => {
                assert!(flagged, "{:?} speaks SIP", p.device_name);
                sip += 1;
            }
            _ => assert!(!flagged, "{:?} does not speak SIP", p.device_name),
        }
        sccp += usize::from(p.protocol == Some("sccp"));
    }
    assert!(sip >= 2 && sccp >= 2, "{sip} SIP, {sccp} SCCP phones");
    std::fs::remove_dir_all(&dir).unwrap();
}
