//! One phone's troubleshooting report: who it is, how far it got, its timeline,
//! what was expected next and never came (and what the reference model predicts),
//! the findings with their evidence frames, and the next checks to make.

use std::fmt::Write as _;

use super::PhoneReport;

/// Render the troubleshooting report of one phone.
pub fn render(p: &PhoneReport) -> String {
    let mut o = String::new();
    let name = p.device_name.as_deref().unwrap_or("(unnamed)");
    let _ = writeln!(o, "{name}  {}", p.mac.as_deref().unwrap_or(""));
    let _ = writeln!(o, "{}", "=".repeat(name.len() + 19));
    let field = |o: &mut String, k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = writeln!(o, "{k:<14} {v}");
        }
    };
    field(
        &mut o,
        "kind",
        Some(format!("{} ({})", p.kind, p.identified_by)),
    );
    field(
        &mut o,
        "name from",
        p.name_source.map(|s| s.replace('_', " ")),
    );
    field(&mut o, "model", p.model.clone());
    field(&mut o, "VLAN", p.vlan.map(|v| v.to_string()));
    field(&mut o, "IP", p.ip.clone());
    field(&mut o, "protocol", p.protocol.map(str::to_owned));
    field(&mut o, "call manager", p.callmanager.clone());
    field(&mut o, "boots seen", Some(p.boots.to_string()));
    let status = match p.stalled_stage {
        Some(s) => format!("{} at {s}", p.status.as_str()),
        None => p.status.as_str().to_owned(),
    };
    field(&mut o, "status", Some(status));
    field(
        &mut o,
        "boot time",
        p.boot_duration.map(|d| format!("{d:.3} s")),
    );

    if let Some(c) = &p.config {
        config_lines(&mut o, c);
    }

    let _ = writeln!(o, "\nTimeline");
    for e in &p.timeline {
        let _ = writeln!(
            o,
            "  {:>12.6}  #{:<7} {:<12} {}",
            e.time,
            e.frame,
            e.stage.as_str(),
            e.event
        );
    }
    if p.timeline_dropped > 0 {
        let _ = writeln!(o, "  … {} more event(s) not kept", p.timeline_dropped);
    }

    if let Some(x) = &p.expected_next {
        let _ = writeln!(o, "\nExpected next ({})", x.stage);
        let _ = writeln!(
            o,
            "  after {} (frame {}), the sequence expects {}",
            x.after,
            x.after_frame,
            x.expected.join(" or ")
        );
        let _ = writeln!(
            o,
            "  within {:.0} s; nothing came in {:.1} s",
            x.timeout, x.waited
        );
        match &x.model {
            // A dead end: the model expects nothing more, so no deadline.
            Some(m) if m.is_dead_end() => {
                let _ = writeln!(o, "  the reference model predicts: {}", m.expect);
            }
            Some(m) => {
                let _ = writeln!(
                    o,
                    "  the reference model predicts: {} within {:.1} s",
                    m.expect, m.within
                );
            }
            None => {}
        }
    }

    let _ = writeln!(o, "\nFindings");
    if p.findings.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for f in &p.findings {
        let _ = writeln!(
            o,
            "  [{}] {} ({}): {}",
            f.severity, f.code, f.stage, f.message
        );
        if !f.evidence.is_empty() {
            let frames: Vec<String> = f.evidence.iter().map(u64::to_string).collect();
            let _ = writeln!(o, "      evidence: frame(s) {}", frames.join(", "));
        }
    }
    let checks: Vec<&String> = p.findings.iter().flat_map(|f| &f.checks).collect();
    if !checks.is_empty() {
        let _ = writeln!(o, "\nNext checks");
        for (i, c) in checks.iter().enumerate() {
            let _ = writeln!(o, "  {}. {c}", i + 1);
        }
    }
    o
}

/// What the configuration says, a line per part.
fn config_lines(o: &mut String, c: &super::ConfigView) {
    let _ = writeln!(o, "\nConfiguration ({}, {})", c.file, c.envelope);
    if c.envelope == "encrypted" {
        let _ = writeln!(o, "  encrypted: what it says cannot be read");
        return;
    }
    for (i, m) in c.call_managers.iter().enumerate() {
        let ports: Vec<String> = [
            ("SCCP", m.sccp_port),
            ("SCCP/TLS", m.secure_sccp_port),
            ("SIP", m.sip_port),
            ("SIP/TLS", m.secured_sip_port),
        ]
        .iter()
        .filter_map(|(k, p)| p.map(|p| format!("{k} {p}")))
        .collect();
        let _ = writeln!(
            o,
            "  call manager {}  {} ({})",
            i + 1,
            m.host,
            ports.join(", ")
        );
    }
    if let Some(s) = c.security {
        let _ = writeln!(o, "  security mode  {s}");
    }
    if !c.srst.is_empty() {
        let _ = writeln!(o, "  SRST           {}", c.srst.join(", "));
    }
    for t in &c.tvs {
        let _ = writeln!(o, "  TVS            {}:{}", t.address, t.port);
    }
    for t in &c.capf {
        let _ = writeln!(o, "  CAPF           {}:{}", t.address, t.port);
    }
    if let Some(l) = &c.load {
        let _ = writeln!(o, "  load           {l}");
    }
    if let Some(l) = &c.load_server {
        let _ = writeln!(o, "  load server    {l}");
    }
    if !c.complete {
        let _ = writeln!(o, "  (read in part: the file was cut)");
    }
}
