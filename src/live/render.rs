//! How a live session shows itself: one plain line per event (not a TTY), one JSON
//! object per line (`--format json`, for log shippers), or a status table redrawn in
//! place on a terminal with the latest events under it.

use std::collections::VecDeque;
use std::fmt::Write as _;

use super::watch::LiveEvent;
use crate::report::{table, PhoneReport};

/// Event lines kept under the status table.
pub const RECENT_LINES: usize = 12;
/// Phones listed in the status table at most (the rest are counted).
pub const MAX_ROWS: usize = 40;

/// `2026-11-21T12:01:03.123Z` for a time in nanoseconds since the epoch.
pub fn iso_time(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let ms = ts_ns.rem_euclid(1_000_000_000) / 1_000_000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = crate::report::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// One plain line: time (UTC), phone, event, details.
pub fn text_line(e: &LiveEvent) -> String {
    let time = iso_time(e.ts_ns);
    format!(
        "{}  {:>7}  {:<17}  {:<15}  {:<20}  {}",
        &time[11..23],
        e.frame.map_or_else(String::new, |f| format!("#{f}")),
        e.mac.as_deref().unwrap_or("-"),
        e.device_name.as_deref().unwrap_or("-"),
        e.event.as_str(),
        match (&e.code, e.stage) {
            (Some(code), Some(stage)) => format!("at {stage}: {code}: {}", e.detail),
            (Some(code), None) => format!("{code}: {}", e.detail),
            _ => e.detail.clone(),
        }
    )
}

/// One JSON object: `{"time": ISO, "ts": seconds, "event": …, "mac": …, …}`.
pub fn json_line(e: &LiveEvent) -> String {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("time".into(), iso_time(e.ts_ns).into());
        o.insert("ts".into(), (e.ts_ns as f64 / 1e9).into());
    }
    v.to_string()
}

/// The terminal screen: cursor home, clear, a header, the phones' status table and
/// the latest event lines.
pub fn screen(
    header: &str,
    phones: &[&PhoneReport],
    recent: &VecDeque<String>,
    width: Option<u16>,
) -> String {
    let mut out = String::from("\x1b[H\x1b[2J");
    let _ = writeln!(out, "{header}");
    if phones.is_empty() {
        out.push_str("No IP phone seen yet.\n");
    } else {
        let shown = phones.get(..MAX_ROWS).unwrap_or(phones);
        let t = table::phones_table(shown.iter().copied(), width);
        let _ = writeln!(out, "{t}");
        if phones.len() > shown.len() {
            let _ = writeln!(out, "… and {} more phone(s)", phones.len() - shown.len());
        }
    }
    out.push('\n');
    for line in recent {
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_matches_known_dates() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century divisible by 400) 12:34:56.789.
        assert_eq!(
            iso_time(951_827_696_789_000_000),
            "2000-02-29T12:34:56.789Z"
        );
        // 2026-11-21T00:00:00Z = 1 795 219 200 s.
        assert_eq!(
            iso_time(1_795_219_200_000_000_000),
            "2026-11-21T00:00:00.000Z"
        );
        assert_eq!(iso_time(-1_000_000), "1969-12-31T23:59:59.999Z");
    }
}
