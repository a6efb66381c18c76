//! `bootscope rules`: what a rules directory holds, in words — the steps of the boot
//! sequence and the events that reach them, the event types and facts rules may use,
//! the file classes, phone markers and correlation windows — so a voice engineer
//! writing rules sees the vocabulary without reading Rust.

use std::fmt::Write as _;

use rules::{EventMatch, ModelValue, RuleSet, Vocabulary};

/// The parts `bootscope rules` can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// The boot sequence's steps, in order.
    Steps,
    /// The event types (what `reached_by` and `evidence` name).
    Events,
    /// The facts findings' conditions and texts use.
    Facts,
    /// The findings.
    Findings,
    /// The file classes (`files.json`).
    Files,
    /// The phone markers (`phones.json`).
    Phones,
    /// The correlation windows (`windows.json`).
    Windows,
}

/// The text of `sections` of `rules` (every section when none is named).
pub fn render(rules: &RuleSet, vocab: &Vocabulary, sections: &[Section]) -> String {
    let sections = if sections.is_empty() {
        <Section as clap::ValueEnum>::value_variants()
    } else {
        sections
    };
    let mut out = format!("rules: {}\n", rules.sources.join(", "));
    for s in sections {
        out.push('\n');
        match s {
            Section::Steps => steps(rules, &mut out),
            Section::Events => events(vocab, &mut out),
            Section::Facts => facts(vocab, &mut out),
            Section::Findings => findings(rules, &mut out),
            Section::Files => files(rules, &mut out),
            Section::Phones => phones(rules, &mut out),
            Section::Windows => windows(rules, &mut out),
        }
    }
    out
}

fn steps(rules: &RuleSet, out: &mut String) {
    let seq = &rules.sequence;
    out.push_str("steps (boot_sequence.json), in order:\n");
    for id in seq.steps() {
        let s = seq.step(id);
        let mut flags = String::new();
        if s.optional {
            flags.push_str(", optional");
        }
        if s.terminal {
            flags.push_str(", terminal");
        }
        if let Some(r) = s.model_ms {
            let _ = write!(flags, ", model {}-{} ms", r.lo, r.hi);
        }
        let _ = writeln!(
            out,
            "  {:<14} {:<12} timeout {} ms{flags}: {}",
            s.id,
            s.stage.as_str(),
            s.timeout_ms,
            s.what
        );
        let reached: Vec<String> = s.reached_by.iter().map(event_match).collect();
        let _ = writeln!(out, "  {:<14} reached by {}", "", reached.join(" or "));
        let next: Vec<&str> = seq
            .successors(id)
            .iter()
            .map(|&n| seq.step(n).id.as_str())
            .collect();
        if !next.is_empty() {
            let _ = writeln!(out, "  {:<14} then {}", "", next.join(", "));
        }
    }
    if let Some(m) = seq.model_timing() {
        out.push_str("the reference model's timing (boot_sequence.json, model_timing), ms:\n");
        for (name, value) in m.by_name() {
            let _ = match value {
                ModelValue::Range(r) => writeln!(out, "  {name:<26} {}-{}", r.lo, r.hi),
                ModelValue::Ms(ms) => writeln!(out, "  {name:<26} {ms}"),
            };
        }
    }
}

/// A `reached_by` entry as written: `file_received (file ctl|itl, via tftp)`.
fn event_match(m: &EventMatch) -> String {
    let mut q = Vec::new();
    if !m.file.is_empty() {
        let classes: Vec<&str> = m.file.iter().map(|c| c.as_str()).collect();
        q.push(format!("file {}", classes.join("|")));
    }
    if let Some(v) = m.via {
        q.push(format!("via {}", v.as_str()));
    }
    if let Some(p) = m.proto {
        q.push(format!("proto {}", p.as_str()));
    }
    if let Some(w) = m.with_address {
        q.push(format!("with_address {w}"));
    }
    if let Some(d) = m.deregister {
        q.push(format!("deregister {d}"));
    }
    if m.inferred {
        q.push("inferred: the step passed, its answer unseen".to_owned());
    }
    if q.is_empty() {
        m.event.clone()
    } else {
        format!("{} ({})", m.event, q.join(", "))
    }
}

fn events(vocab: &Vocabulary, out: &mut String) {
    out.push_str("event types (reached_by, evidence; each is also a fact: its count):\n");
    for e in &vocab.events {
        let q = if e.qualifiers.is_empty() {
            String::new()
        } else {
            format!(" [{}]", e.qualifiers.join(", "))
        };
        let _ = writeln!(out, "  {:<22} {}{q}", e.name, e.doc);
    }
}

fn facts(vocab: &Vocabulary, out: &mut String) {
    out.push_str("facts (when, message, checks):\n");
    for f in &vocab.facts {
        let _ = writeln!(out, "  {:<22} {:<7} {}", f.name, f.ty.as_str(), f.doc);
    }
}

fn findings(rules: &RuleSet, out: &mut String) {
    out.push_str("findings (findings.json):\n");
    for r in &rules.rules {
        let stage = r.stage.map_or("any", |s| s.as_str());
        let _ = writeln!(
            out,
            "  {:<26} {:<12} {:<8} line {}",
            r.code,
            stage,
            r.severity.as_str(),
            r.line
        );
    }
}

fn files(rules: &RuleSet, out: &mut String) {
    out.push_str("file classes (files.json), the first pattern that matches wins:\n");
    for p in &rules.files.patterns {
        let mut parts = Vec::new();
        if let Some(x) = &p.prefix {
            parts.push(format!("starts with {x}"));
        }
        if !p.suffix.is_empty() {
            parts.push(format!("ends with {}", p.suffix.join(" or ")));
        }
        if let Some(x) = &p.name {
            parts.push(format!("is {x}"));
        }
        let _ = writeln!(out, "  {:<16} {}", p.class.as_str(), parts.join(", "));
    }
    out.push_str("  other            anything else\n");
}

fn phones(rules: &RuleSet, out: &mut String) {
    let p = &rules.phones;
    out.push_str("phone markers (phones.json):\n");
    let list = |l: &[String]| {
        l.iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "  DHCP option 60 starts with  {}",
        list(&p.dhcp_vendor_class_prefixes)
    );
    let _ = writeln!(
        out,
        "  CDP platform contains       {}",
        list(&p.cdp_platform_contains)
    );
    let _ = writeln!(
        out,
        "  SIP User-Agent starts with  {}",
        list(&p.sip_user_agent_prefixes)
    );
    out.push_str("not phones:\n");
    let _ = writeln!(
        out,
        "  voice gateway: SIP User-Agent / Server starts with  {}",
        list(&p.sip_gateway_prefixes)
    );
    let types: Vec<String> = p
        .sccp_media_resource_types
        .iter()
        .map(|&t| match parsers::sccp::SccpDeviceType(t).name() {
            Some(name) => format!("{t} {name}"),
            None => t.to_string(),
        })
        .collect();
    let _ = writeln!(
        out,
        "  media resource: SCCP device type  {}",
        types.join(", ")
    );
}

fn windows(rules: &RuleSet, out: &mut String) {
    let w = &rules.windows;
    out.push_str("correlation windows (windows.json):\n");
    for (name, ms) in w.by_name() {
        let _ = writeln!(out, "  {name:<24} {ms}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::facts;

    #[test]
    fn every_step_fact_event_and_finding_is_listed() {
        let rules = crate::analyze::load_rules(None).unwrap();
        let vocab = facts::vocabulary();
        let text = render(&rules, &vocab, &[]);
        for s in rules.sequence.steps() {
            assert!(text.contains(&rules.sequence.step(s).id), "{text}");
        }
        for f in &vocab.facts {
            assert!(text.contains(&format!("  {:<22}", f.name)), "{}", f.name);
        }
        for r in &rules.rules {
            assert!(text.contains(&r.code), "{}", r.code);
        }
        assert!(text.contains("file_received (file device_config|default_config, via tftp)"));
        assert!(text.contains("register (proto sip, deregister false)"));
        assert!(text.contains("\"Cisco Systems, Inc. IP Phone\""));
        assert!(text.contains("switch_answer_ms"));
        assert!(text.contains("timeout 10000 ms, model 2-30 ms: the DHCP OFFER"));
        assert!(
            text.contains("  between_files_ms           50-300\n"),
            "{text}"
        );
        assert!(
            text.contains("  sip_timer_f_ms             32000\n"),
            "{text}"
        );
    }

    #[test]
    fn one_section_prints_alone() {
        let rules = crate::analyze::load_rules(None).unwrap();
        let text = render(&rules, &facts::vocabulary(), &[Section::Windows]);
        assert!(text.contains("correlation windows") && !text.contains("facts ("));
    }
}
