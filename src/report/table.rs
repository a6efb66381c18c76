//! The fleet table (comfy-table): one row per phone, then the summary and the
//! systemic / local reading. Every string in it was escaped when it left the wire.

use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use super::{PhoneReport, Report, Status};

/// The phones' table, one row each (also the live status screen's).
pub fn phones_table<'p>(
    phones: impl Iterator<Item = &'p PhoneReport>,
    width: Option<u16>,
) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = width {
        t.set_width(w);
    }
    t.set_header([
        "MAC",
        "Name",
        "Model",
        "VLAN",
        "IP",
        "Proto",
        "Status",
        "Stalled at",
        "Main finding",
        "Boot",
    ]);
    for p in phones {
        t.add_row(row(p));
    }
    t
}

/// What the capture cannot show, said before anything else (every text output starts
/// with it).
pub fn capture_findings(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.capture_findings {
        let _ = writeln!(out, "CAPTURE {} ({}): {}", f.code, f.severity, f.message);
        for c in &f.checks {
            let _ = writeln!(out, "  check: {c}");
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Render the fleet table and summary; what the capture cannot show first, then
/// findings about the whole site.
pub fn render(report: &Report, width: Option<u16>) -> String {
    let mut out = capture_findings(report);
    for f in &report.site_findings {
        let _ = writeln!(
            out,
            "SITE {} ({}, {}): {}",
            f.code, f.severity, f.stage, f.message
        );
        for c in &f.checks {
            let _ = writeln!(out, "  check: {c}");
        }
    }
    if !report.site_findings.is_empty() {
        out.push('\n');
    }
    if report.phones.is_empty() {
        out.push_str("No IP phone seen in the capture.\n");
    } else {
        let _ = writeln!(out, "{}", phones_table(report.phones.iter(), width));
    }
    let s = &report.summary;
    let counts: Vec<String> = s.status.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(
        out,
        "\n{} phone(s): {}",
        s.phones,
        if counts.is_empty() {
            "-".into()
        } else {
            counts.join(", ")
        }
    );
    if !s.stalled_stage.is_empty() {
        let stages: Vec<String> = s
            .stalled_stage
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(out, "stalled per stage: {}", stages.join(", "));
    }
    if !report.srst.is_empty() {
        let routers: Vec<String> = report
            .srst
            .routers
            .iter()
            .map(|(r, n)| format!("{r} ({n})"))
            .collect();
        let _ = writeln!(
            out,
            "on SRST: {} phone(s) registered to a survivable router, not their call managers: {}",
            report.srst.phones,
            routers.join(", ")
        );
    }
    for d in &s.diagnoses {
        let _ = writeln!(
            out,
            "{}: {} phone(s) {} at {}{}: {}",
            d.scope,
            d.phones,
            d.code,
            d.stage,
            d.server
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default(),
            d.advice
        );
    }
    if !s.other_devices.is_empty() {
        let kinds: Vec<String> = s
            .other_devices
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let _ = writeln!(out, "other devices (not phones): {}", kinds.join(", "));
        for o in report
            .other_devices
            .iter()
            .filter(|o| o.status != Status::Seen)
        {
            let main = o.findings.first().map_or("", |f| f.code.as_str());
            let _ = writeln!(
                out,
                "  {} {} {} {}",
                o.kind,
                // A gateway may give no name: its MAC or address then.
                o.device_name
                    .as_deref()
                    .or(o.mac.as_deref())
                    .or(o.ip.as_deref())
                    .unwrap_or("-"),
                o.status.as_str(),
                main
            );
        }
    }
    let c = &report.capture;
    if let Some(w) = caps_warning(c) {
        let _ = writeln!(out, "{w}");
    }
    let _ = writeln!(
        out,
        "capture: {} frame(s), {:.1} s, {} boot message(s), {} malformed, {} unattributed",
        c.frames, c.duration, c.messages, c.malformed, c.unattributed
    );
    if !c.tunnels.is_empty() {
        const SHOWN: usize = 4;
        let mut shown: Vec<String> = c
            .tunnels
            .iter()
            .take(SHOWN)
            .map(|t| format!("{} {} → {} ({} frame(s))", t.kind, t.src, t.dst, t.frames))
            .collect();
        if c.tunnels.len() > SHOWN {
            shown.push(format!("{} more", c.tunnels.len() - SHOWN));
        }
        let _ = writeln!(out, "came in tunnels: {}", shown.join(", "));
    }
    if let Some(l) = &c.live {
        let _ = writeln!(
            out,
            "live on {}: {} packet(s) received, {} dropped by the kernel, {} dropped by the \
             interface{}",
            l.interface,
            l.received,
            l.dropped_by_kernel,
            l.dropped_by_interface,
            l.written_to
                .as_deref()
                .map(|w| format!("; written to {w}"))
                .unwrap_or_default()
        );
        if l.dropped_by_kernel + l.dropped_by_interface > 0 {
            let _ = writeln!(
                out,
                "warning: packets were dropped, so some verdicts may miss events: narrow \
                 the filter (-f) or enlarge the buffer (--buffer-size)"
            );
        }
    }
    out
}

/// The warning line when a state bound dropped, evicted or refused anything
/// (docs/usage.md "Limits"), or `None`.
pub fn caps_warning(c: &super::CaptureInfo) -> Option<String> {
    if !c.state_capped() {
        return None;
    }
    let mut parts = Vec::new();
    let mut say = |n: u64, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    say(
        c.devices_evicted,
        "device(s) evicted (never shown to be phones)",
    );
    say(
        c.devices_refused,
        "device(s) refused (the table full of phones)",
    );
    say(c.devices_frozen, "phone(s) frozen (memory budget spent)");
    say(c.events_dropped, "event(s) of frozen phones dropped");
    say(
        c.streams_evicted,
        "TCP stream(s) evicted (idle or half-open)",
    );
    say(c.streams_untracked, "segment(s) read without stream state");
    say(c.transactions_evicted, "transaction(s) not followed");
    say(c.tftp_evicted, "TFTP transfer(s) not followed or forgotten");
    say(c.bindings_refused, "address binding(s) refused");
    let l = &c.limits;
    Some(format!(
        "warning: state bounds reached: {}; limits: --max-devices {}, --max-streams {}, \
         --max-flows {}, {} MiB for devices (--max-memory)",
        parts.join(", "),
        l.max_devices,
        l.max_streams,
        l.max_flows,
        l.max_device_bytes >> 20
    ))
}

fn row(p: &PhoneReport) -> Vec<String> {
    let dash = || "-".to_owned();
    let main = p
        .findings
        .first()
        .map_or_else(dash, |f| format!("{} ({})", f.code, f.severity));
    vec![
        p.mac.clone().unwrap_or_else(dash),
        p.device_name.clone().unwrap_or_else(dash),
        p.model.clone().unwrap_or_else(dash),
        p.vlan.map_or_else(dash, |v| v.to_string()),
        p.ip.clone().unwrap_or_else(dash),
        p.protocol.map_or_else(dash, str::to_owned),
        p.status.as_str().to_owned(),
        p.stalled_stage.map_or_else(dash, |s| s.as_str().to_owned()),
        main,
        p.boot_duration.map_or_else(dash, |d| format!("{d:.1} s")),
    ]
}
