//! Value parsers for the command line: a bad value is refused with what was expected
//! (`expected a whole number, 0 or more (e.g. 4)`), not only what went wrong.

use std::path::PathBuf;
use std::str::FromStr;

/// A whole number, 0 or more.
pub fn whole<T: FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("expected a whole number, 0 or more (e.g. 4), got '{s}'"))
}

/// Seconds, 0 or more (`60`, `1.5`).
pub fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "expected a number of seconds, 0 or more (e.g. 60 or 1.5), got '{s}'"
        )),
    }
}

/// Seconds, more than 0.
pub fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "expected a positive number of seconds (e.g. 300 or 0.5), got '{s}'"
        )),
    }
}

/// A rate or factor, 0 or more (`2`, `0.5`).
pub fn non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "expected a number, 0 or more (e.g. 2 or 0.5), got '{s}'"
        )),
    }
}

/// A phone: a MAC in any usual notation, a `SEP` name, or another device name. A
/// `SEP` name must carry the 12 hex digits of a MAC.
pub fn phone(s: &str) -> Result<String, String> {
    let expected = "expected a MAC (00:1b:54:aa:00:01, 001b.54aa.0001, 001b54aa0001) or a \
                    device name (SEP001B54AA0001)";
    let t = s.trim();
    let sep = t.len() >= 3 && t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("SEP"));
    if t.is_empty() || (sep && bootscope::report::normalise_mac(t).is_none()) {
        return Err(format!("{expected}, got '{s}'"));
    }
    Ok(t.to_owned())
}

/// A capture to read: `-` (stdin), or a file or directory that exists.
pub fn capture(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if s == "-" || p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "expected a pcap or pcapng file, a directory of them, or - for stdin: '{s}' does not exist"
        ))
    }
}

/// A rules directory that exists.
pub fn rules_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.is_dir() {
        Ok(p)
    } else {
        Err(format!(
            "expected a directory of rule files (boot_sequence.json, findings.json, …; \
             see docs/rules.md): '{s}' is not a directory"
        ))
    }
}

/// A scenario file that exists.
pub fn scenario(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "expected a scenario file (JSON, as samples/*/scenario.json): '{s}' is no file"
        ))
    }
}

/// A file to write, in a directory that exists (checked before any work is done).
pub fn output_file(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if s.is_empty() || p.is_dir() {
        Err(format!("expected a file name to write, got '{s}'"))
    } else if !dir.is_dir() {
        Err(format!(
            "expected a file to write in an existing directory: '{}' does not exist",
            dir.display()
        ))
    } else {
        Ok(p)
    }
}
