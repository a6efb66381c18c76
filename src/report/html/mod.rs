//! The report as one self-contained HTML page (`analyze --html`): the fleet summary
//! (status counts, stalled phones per stage, boot-duration distribution, the
//! systemic / local reading), a sortable, filterable phone table, and per phone a
//! ladder diagram in SVG with its findings and next checks. Inline CSS, SVG and a
//! little script; nothing is fetched, so the file works offline and as an attachment.
//!
//! Size. The summary and the table are plain HTML written here. The per-phone part
//! (ladder, findings, checks) is embedded as compact JSON ([`ladder::PhoneView`],
//! arrows as arrays) and drawn by the page's script when a phone is opened — all of
//! them at load for a small capture ([`INLINE_PHONES`]). Drawing every ladder as SVG
//! here would take about five times the bytes (some 680 of SVG per arrow against 130
//! of data) and, for 10 000 phones, give the browser about two million elements to
//! build before showing anything; a folder of per-phone files would no longer be one
//! file to mail. The table shows [`TABLE_PAGE`] matching rows at a time for the same
//! reason: laying out 10 000 rows at each sort took seconds. Everything that decides what
//! a ladder shows (lanes, grouping, the stall and the model's predicted arrow) is
//! computed in [`ladder`]; the script only places it.
//!
//! Escaping. Every string that came from the wire (device names, models, file names,
//! SIP reasons, alarm texts) is HTML-escaped where this module writes it; in the
//! embedded JSON `<`, `>` and `&` are written as `\u003c`, `\u003e` and `\u0026`, so
//! no string can close the `<script>` element; and the script puts data in the page
//! only through `textContent` and attribute setters, never as markup.

pub mod ladder;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Write};

use rules::Stage;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use super::{PhoneReport, Report, Seconds, Status};

/// Up to this many phones every ladder is drawn at load, one under the other; past
/// it a phone's ladder is drawn when it is opened from the table.
pub const INLINE_PHONES: usize = 50;

/// Table rows shown at a time (the rows matching the filters, in the sorted order);
/// "show more" adds as many. Laying out 10 000 rows at each sort or filter takes
/// seconds; hidden rows cost nothing.
pub const TABLE_PAGE: usize = 200;

const CSS: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Write the report as one HTML page.
///
/// # Errors
/// Writing fails.
pub fn write(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let title = match report.capture.files.as_slice() {
        [] => "bootscope report".to_owned(),
        [one] => format!("bootscope: {}", base_name(one)),
        [first, ..] => format!(
            "bootscope: {} and {} more",
            base_name(first),
            report.capture.files.len() - 1
        ),
    };
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"bootscope {}\">\n<title>{}</title>\n<style>\n{CSS}#phone-table.paged tbody tr:nth-child(n+{}) {{ display: none; }}\n</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        Esc(&title),
        TABLE_PAGE + 1
    )?;
    header(report, out)?;
    capture_findings(report, out)?;
    site_findings(report, out)?;
    summary(report, out)?;
    phone_table(report, out)?;
    other_devices(report, out)?;
    writeln!(
        out,
        "<section id=\"detail\" aria-live=\"polite\"></section>\n\
         <noscript><p class=\"note\">The ladder diagrams are drawn by the page's script; \
         enable JavaScript to see them, or run <code>bootscope analyze CAPTURE --phone NAME</code>.</p></noscript>"
    )?;
    out.write_all(b"<script type=\"application/json\" id=\"bootscope-data\">")?;
    {
        let mut json = serde_json::Serializer::new(JsonInScript(&mut *out));
        PageData { report }
            .serialize(&mut json)
            .map_err(io::Error::other)?;
    }
    write!(
        out,
        "</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    )
}

/// HTML-escapes a string for text and quoted attribute values.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            let (head, tail) = rest.split_at(i);
            f.write_str(head)?;
            let mut chars = tail.chars();
            f.write_str(match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#39;",
            })?;
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

/// A writer for JSON inside `<script>`: `<`, `>` and `&` only occur inside JSON
/// strings, where `\u003c`, `\u003e` and `\u0026` mean the same, and without them no
/// `</script>` or `<!--` can appear. The three are ASCII, so a byte never splits a
/// UTF-8 sequence.
struct JsonInScript<W>(W);

impl<W: Write> Write for JsonInScript<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (i, b) in buf.iter().enumerate() {
            let esc: &[u8] = match b {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                _ => continue,
            };
            self.0.write_all(buf.get(start..i).unwrap_or_default())?;
            self.0.write_all(esc)?;
            start = i + 1;
        }
        self.0.write_all(buf.get(start..).unwrap_or_default())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The data the page's script reads; phones are serialised one at a time.
struct PageData<'a> {
    report: &'a Report,
}

impl Serialize for PageData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PageData", 6)?;
        st.serialize_field("types", &ladder::type_names())?;
        st.serialize_field(
            "stages",
            &Stage::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        )?;
        st.serialize_field("inline", &(self.report.phones.len() <= INLINE_PHONES))?;
        st.serialize_field("page", &TABLE_PAGE)?;
        st.serialize_field(
            "flags",
            &[
                ladder::FLAG_BOTH_WAYS,
                ladder::FLAG_ERROR_EVIDENCE,
                ladder::FLAG_WARNING_EVIDENCE,
            ],
        )?;
        st.serialize_field("phones", &Phones(&self.report.phones))?;
        st.end()
    }
}

struct Phones<'a>(&'a [PhoneReport]);

impl Serialize for Phones<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for p in self.0 {
            seq.serialize_element(&ladder::view(p))?;
        }
        seq.end()
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn header(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let c = &report.capture;
    let files = if c.files.is_empty() {
        "(no file)".to_owned()
    } else {
        c.files.join(", ")
    };
    writeln!(
        out,
        "<header>\n<h1>bootscope: {}</h1>\n<p class=\"meta\">",
        Esc(&files)
    )?;
    if c.start.as_secs() > 0.0 {
        write!(out, "capture from {} UTC, ", utc(c.start.as_secs()))?;
    }
    writeln!(
        out,
        "{:.1} s, {} frame(s), {} boot message(s), {} malformed, {} unattributed, {} TCP gap(s)</p>",
        c.duration, c.frames, c.messages, c.malformed, c.unattributed, c.stream_gaps
    )?;
    writeln!(out, "</header>")
}

/// What the capture cannot show, before anything it shows.
fn capture_findings(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.capture_findings.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"capture-limits\">\n<h2>What this capture cannot show</h2>"
    )?;
    for f in &report.capture_findings {
        writeln!(
            out,
            "<div class=\"site-finding sev-{0}\"><p><span class=\"badge\">{0}</span> \
             <code>{1}</code>: {2}</p>",
            f.severity,
            f.code,
            Esc(&f.message)
        )?;
        writeln!(out, "<ul class=\"checks\">")?;
        for c in &f.checks {
            writeln!(out, "<li>{}</li>", Esc(c))?;
        }
        writeln!(out, "</ul>\n</div>")?;
    }
    writeln!(out, "</section>")
}

/// Findings about the whole site (a DHCP starvation flood), above the fleet.
fn site_findings(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.site_findings.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section id=\"site\">\n<h2>Site</h2>")?;
    for f in &report.site_findings {
        writeln!(
            out,
            "<div class=\"site-finding sev-{0}\"><p><span class=\"badge\">{0}</span> \
             <code>{1}</code> at {2}: {3}</p>",
            f.severity,
            Esc(&f.code),
            f.stage,
            Esc(&f.message)
        )?;
        if !f.checks.is_empty() {
            writeln!(out, "<ul class=\"checks\">")?;
            for c in &f.checks {
                writeln!(out, "<li>{}</li>", Esc(c))?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(out, "</div>")?;
    }
    writeln!(out, "</section>")
}

/// `YYYY-MM-DD HH:MM:SS` of epoch seconds (proleptic Gregorian, UTC).
fn utc(epoch: f64) -> String {
    let secs = epoch.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = crate::report::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn summary(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "<section id=\"summary\">\n<h2>Fleet</h2>\n<div class=\"tiles\">"
    )?;
    let count = |k: &str| s.status.get(k).copied().unwrap_or(0);
    writeln!(out, "<div class=\"tile\"><b>{}</b>phone(s)</div>", s.phones)?;
    for (status, label) in [
        (Status::Registered, "registered"),
        (Status::Stalled, "stalled"),
        (Status::InProgress, "in progress"),
    ] {
        writeln!(
            out,
            "<div class=\"tile s-{0}\"><b>{1}</b>{label}</div>",
            status.as_str(),
            count(status.as_str())
        )?;
    }
    let others: usize = s.other_devices.values().sum();
    writeln!(
        out,
        "<div class=\"tile s-seen\"><b>{others}</b>other device(s)</div>\n</div>"
    )?;
    writeln!(out, "<div class=\"charts\">")?;
    stall_chart(report, out)?;
    duration_chart(report, out)?;
    writeln!(out, "</div>")?;

    writeln!(out, "<h3>Reading</h3>")?;
    if s.diagnoses.is_empty() {
        writeln!(out, "<p class=\"ok\">No phone stalled.</p>")?;
    } else {
        let index: BTreeMap<&str, usize> = report
            .phones
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.device_name
                    .as_deref()
                    .or(p.mac.as_deref())
                    .map(|n| (n, i))
            })
            .collect();
        writeln!(out, "<ul class=\"diagnoses\">")?;
        for d in &s.diagnoses {
            write!(
                out,
                "<li class=\"{0}\"><span class=\"badge {0}\">{0}</span> <b>{1}</b> phone(s) \
                 <code>{2}</code> at {3}",
                Esc(d.scope),
                d.phones,
                Esc(&d.code),
                d.stage
            )?;
            if let Some(server) = &d.server {
                write!(out, " ({})", Esc(server))?;
            }
            write!(out, ": {}<br><span class=\"examples\">", Esc(&d.advice))?;
            for (k, name) in d.examples.iter().enumerate() {
                let sep = if k > 0 { ", " } else { "" };
                match index.get(name.as_str()) {
                    Some(i) => write!(out, "{sep}<a href=\"#p{i}\">{}</a>", Esc(name))?,
                    None => write!(out, "{sep}{}", Esc(name))?,
                }
            }
            if d.phones > d.examples.len() {
                write!(out, " and {} more", d.phones - d.examples.len())?;
            }
            writeln!(out, "</span></li>")?;
        }
        writeln!(out, "</ul>")?;
    }
    if !s.findings.is_empty() {
        write!(out, "<p class=\"codes\">Phones per finding: ")?;
        for (k, (code, n)) in s.findings.iter().enumerate() {
            let sep = if k > 0 { ", " } else { "" };
            write!(out, "{sep}<code>{}</code> {n}", Esc(code))?;
        }
        writeln!(out, "</p>")?;
    }
    let c = &report.capture;
    if let Some(w) = super::table::caps_warning(c) {
        let w = w.strip_prefix("warning: ").unwrap_or(&w);
        writeln!(out, "<p class=\"warn\" id=\"caps\">{}.</p>", Esc(w))?;
    }
    if !c.warnings.is_empty() {
        writeln!(
            out,
            "<details class=\"warnings\"><summary>{} capture warning(s)</summary><ul>",
            c.warnings.len()
        )?;
        for w in &c.warnings {
            writeln!(out, "<li>{}</li>", Esc(w))?;
        }
        writeln!(out, "</ul></details>")?;
    }
    writeln!(out, "</section>")
}

/// Stalled phones per stage, a horizontal bar per stage in boot order; a bar filters
/// the table.
fn stall_chart(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let per = &report.summary.stalled_stage;
    let max = per.values().copied().max().unwrap_or(0).max(1);
    let (bar_x, bar_w, row_h) = (110.0, 260.0, 26.0);
    let height = row_h * Stage::ALL.len() as f64 + 10.0;
    writeln!(
        out,
        "<figure class=\"chart\" id=\"stall-chart\"><figcaption>Stalled phones per stage</figcaption>\n\
         <svg class=\"bars\" viewBox=\"0 0 420 {height}\" width=\"420\" height=\"{height}\" role=\"img\">"
    )?;
    for (k, stage) in Stage::ALL.iter().enumerate() {
        let n = per.get(stage.as_str()).copied().unwrap_or(0);
        let y = 6.0 + row_h * k as f64;
        let w = if n > 0 {
            (bar_w * n as f64 / max as f64).max(2.0)
        } else {
            0.0
        };
        writeln!(
            out,
            "<a href=\"#phones\" class=\"stage-bar\" data-filter-stage=\"{s}\"><title>{n} phone(s) stalled at {s}</title>\
             <text x=\"{tx}\" y=\"{ty}\" class=\"axis\" text-anchor=\"end\">{s}</text>\
             <rect x=\"{bar_x}\" y=\"{y}\" width=\"{w:.1}\" height=\"{h}\" class=\"bar st-{s}\"/>\
             <text x=\"{nx:.1}\" y=\"{ty}\" class=\"num\">{n}</text></a>",
            s = stage.as_str(),
            tx = bar_x - 8.0,
            ty = y + 13.0,
            h = row_h - 8.0,
            nx = bar_x + w + 6.0,
        )?;
    }
    writeln!(out, "</svg></figure>")
}

/// A bin width out of 1-2-5 steps that gives at most `max_bins` bins up to `max`.
fn bin_width(max: f64, max_bins: f64) -> f64 {
    let mut w = 0.1;
    for _ in 0..12 {
        for step in [1.0, 2.0, 5.0] {
            if max / (w * step) <= max_bins {
                return w * step;
            }
        }
        w *= 10.0;
    }
    w
}

/// Boot durations (DHCP-to-registered, last boot) as a histogram with its median, 90th
/// percentile and maximum.
fn duration_chart(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let mut d: Vec<f64> = report
        .phones
        .iter()
        .filter_map(|p| p.boot_duration.map(Seconds::as_secs))
        .filter(|d| d.is_finite() && *d >= 0.0)
        .collect();
    writeln!(
        out,
        "<figure class=\"chart\" id=\"duration-chart\"><figcaption>Boot duration (to registration)</figcaption>"
    )?;
    if d.is_empty() {
        return writeln!(
            out,
            "<p class=\"note\">No phone booted to registration in the capture.</p></figure>"
        );
    }
    d.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let i = ((d.len() - 1) as f64 * q).round() as usize;
        d.get(i).copied().unwrap_or(0.0)
    };
    let max = d.last().copied().unwrap_or(0.0);
    let width = bin_width(max.max(0.1), 24.0);
    let bins = ((max / width).floor() as usize + 1).min(25);
    let mut counts = vec![0usize; bins];
    for v in &d {
        let i = ((v / width).floor() as usize).min(bins - 1);
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1);
    let (x0, plot_w, plot_h, y0) = (36.0, 380.0, 110.0, 8.0);
    let bw = plot_w / bins as f64;
    writeln!(
        out,
        "<svg class=\"hist\" viewBox=\"0 0 430 150\" width=\"430\" height=\"150\" role=\"img\">\
         <text x=\"{tx}\" y=\"{ty}\" class=\"axis\" text-anchor=\"end\">{top}</text>\
         <line x1=\"{x0}\" y1=\"{yb}\" x2=\"{xe}\" y2=\"{yb}\" class=\"axisline\"/>",
        tx = x0 - 4.0,
        ty = y0 + 9.0,
        yb = y0 + plot_h,
        xe = x0 + plot_w,
    )?;
    for (i, n) in counts.iter().enumerate() {
        let h = plot_h * *n as f64 / top as f64;
        let lo = width * i as f64;
        writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" class=\"bar\">\
             <title>{n} phone(s) between {lo} and {hi} s</title></rect>",
            x = x0 + bw * i as f64 + 1.0,
            y = y0 + plot_h - h,
            w = (bw - 2.0).max(1.0),
            lo = trim_num(lo),
            hi = trim_num(lo + width),
        )?;
    }
    // About five tick labels along the axis, and one at its end.
    let every = bins.div_ceil(5).max(1);
    let ticks = (0..bins)
        .step_by(every)
        .filter(|i| bins - i > every / 2)
        .chain([bins]);
    for i in ticks {
        writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{y}\" class=\"axis\" text-anchor=\"middle\">{v}</text>",
            x = x0 + bw * i as f64,
            y = y0 + plot_h + 14.0,
            v = trim_num(width * i as f64),
        )?;
    }
    writeln!(
        out,
        "<text x=\"{x}\" y=\"{y}\" class=\"axis\" text-anchor=\"end\">seconds</text></svg>\n\
         <p class=\"note\">{n} phone(s): median {med:.1} s, 90th percentile {p90:.1} s, slowest {max:.1} s</p></figure>",
        x = x0 + plot_w,
        y = y0 + plot_h + 30.0,
        n = d.len(),
        med = pct(0.5),
        p90 = pct(0.9),
    )
}

fn trim_num(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

fn phone_table(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let phones = &report.phones;
    writeln!(out, "<section id=\"phones\">\n<h2>Phones</h2>")?;
    if phones.is_empty() {
        return writeln!(
            out,
            "<p class=\"note\">No IP phone seen in the capture.</p>\n<table id=\"phone-table\" hidden><thead><tr></tr></thead><tbody></tbody></table></section>"
        );
    }
    let vlans: BTreeSet<u16> = phones.iter().filter_map(|p| p.vlan).collect();
    let models: BTreeSet<&str> = phones.iter().filter_map(|p| p.model.as_deref()).collect();
    let statuses: BTreeSet<&str> = phones.iter().map(|p| p.status.as_str()).collect();
    let stages: BTreeSet<Stage> = phones.iter().filter_map(|p| p.stalled_stage).collect();
    writeln!(out, "<div class=\"filters\">")?;
    let select = |out: &mut dyn Write, key: &str, label: &str, values: Vec<String>| {
        write!(
            out,
            "<label>{label} <select data-filter=\"{key}\"><option value=\"\">all</option>"
        )?;
        for v in values {
            write!(out, "<option>{}</option>", Esc(&v))?;
        }
        writeln!(out, "</select></label>")
    };
    select(
        out,
        "status",
        "status",
        statuses.into_iter().map(str::to_owned).collect(),
    )?;
    select(
        out,
        "stage",
        "stalled at",
        stages.into_iter().map(|s| s.as_str().to_owned()).collect(),
    )?;
    select(
        out,
        "vlan",
        "VLAN",
        vlans.into_iter().map(|v| v.to_string()).collect(),
    )?;
    select(
        out,
        "model",
        "model",
        models.into_iter().map(str::to_owned).collect(),
    )?;
    writeln!(
        out,
        "<label>search <input type=\"search\" id=\"q\" placeholder=\"name, MAC, IP, finding\"></label>\
         <span id=\"shown\">{0} of {0} phone(s)</span></div>",
        phones.len()
    )?;
    // Before the script runs (or without it) a big table shows its first page only.
    let paged = if phones.len() > TABLE_PAGE {
        " class=\"paged\""
    } else {
        ""
    };
    writeln!(
        out,
        "<table id=\"phone-table\"{paged}>\n<thead><tr>\
         <th data-sort=\"text\">Name</th><th data-sort=\"text\">MAC</th><th data-sort=\"text\">Model</th>\
         <th data-sort=\"num\">VLAN</th><th data-sort=\"ip\">IP</th><th data-sort=\"text\">Proto</th>\
         <th data-sort=\"text\">Status</th><th data-sort=\"stage\">Stalled at</th>\
         <th data-sort=\"text\">Main finding</th><th data-sort=\"num\">Boot (s)</th></tr></thead>\n<tbody>"
    )?;
    for (i, p) in phones.iter().enumerate() {
        let dash = "-";
        let name = p
            .device_name
            .as_deref()
            .or(p.mac.as_deref())
            .unwrap_or("(unnamed)");
        let stage = p.stalled_stage.map_or("", Stage::as_str);
        write!(
            out,
            "<tr id=\"r{i}\" data-status=\"{}\" data-stage=\"{stage}\" data-vlan=\"{}\" data-model=\"{}\">\
             <td><a href=\"#p{i}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><span class=\"badge s-{0}\">{0}</span></td><td data-v=\"{}\">{}</td>",
            p.status.as_str(),
            p.vlan.map(|v| v.to_string()).unwrap_or_default(),
            Esc(p.model.as_deref().unwrap_or("")),
            Esc(name),
            Esc(p.mac.as_deref().unwrap_or(dash)),
            Esc(p.model.as_deref().unwrap_or(dash)),
            p.vlan.map_or_else(|| dash.to_owned(), |v| v.to_string()),
            Esc(p.ip.as_deref().unwrap_or(dash)),
            p.protocol.unwrap_or(dash),
            p.stalled_stage
                .and_then(|s| Stage::ALL.iter().position(|x| *x == s))
                .map_or_else(String::new, |k| k.to_string()),
            if stage.is_empty() { dash } else { stage },
        )?;
        match p.findings.first() {
            Some(f) => write!(
                out,
                "<td><span class=\"sev-{}\">{}</span></td>",
                f.severity.as_str(),
                Esc(&f.code)
            )?,
            None => write!(out, "<td>-</td>")?,
        }
        match p.boot_duration {
            Some(d) => writeln!(out, "<td data-v=\"{d}\">{d:.1}</td></tr>")?,
            None => writeln!(out, "<td>-</td></tr>")?,
        }
    }
    writeln!(
        out,
        "</tbody>\n</table>\n<p class=\"more\"><button id=\"more\" type=\"button\" hidden>show {TABLE_PAGE} more</button> \
         <button id=\"all\" type=\"button\" hidden>show all</button></p>\n</section>"
    )
}

fn other_devices(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.other_devices.is_empty() {
        return Ok(());
    }
    let kinds: Vec<String> = report
        .summary
        .other_devices
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    writeln!(
        out,
        "<section id=\"others\"><details><summary>Other devices (not phones): {}</summary>\n\
         <table><thead><tr><th>Kind</th><th>Name</th><th>MAC</th><th>IP</th><th>Status</th><th>Finding</th></tr></thead><tbody>",
        Esc(&kinds.join(", "))
    )?;
    for o in &report.other_devices {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            Esc(o.kind),
            Esc(o.device_name.as_deref().unwrap_or("-")),
            Esc(o.mac.as_deref().unwrap_or("-")),
            Esc(o.ip.as_deref().unwrap_or("-")),
            o.status.as_str(),
            Esc(o.findings.first().map_or("-", |f| f.code.as_str())),
        )?;
    }
    writeln!(out, "</tbody></table></details></section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            Esc("a<b>&\"c\"'d'").to_string(),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;"
        );
        assert_eq!(Esc("SEP001122334455").to_string(), "SEP001122334455");
        assert_eq!(Esc("é<ü").to_string(), "é&lt;ü");
    }

    #[test]
    fn json_in_a_script_cannot_close_it() {
        let mut out = Vec::new();
        serde_json::to_writer(JsonInScript(&mut out), &["</script><!--x", "a&b>"]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        // The same strings once parsed back.
        let back: Vec<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, ["</script><!--x", "a&b>"]);
    }

    #[test]
    fn utc_dates_follow_the_calendar() {
        // 1 700 000 000 s is 2023-11-14 22:13:20 UTC (date -u -d @1700000000).
        assert_eq!(utc(1_700_000_000.5), "2023-11-14 22:13:20");
        assert_eq!(utc(0.0), "1970-01-01 00:00:00");
        // 951 782 400 s is 2000-02-29 00:00:00 UTC, a leap day of a century year.
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00");
    }

    #[test]
    fn histogram_bins_step_one_two_five() {
        assert_eq!(bin_width(3.4, 24.0), 0.2);
        assert_eq!(bin_width(11.0, 24.0), 0.5);
        assert_eq!(bin_width(90.0, 24.0), 5.0);
    }
}
