//! The `live --metrics` page: the exposition text parsed back (every sample typed,
//! label values unescaped to what went in), its counts those of the report, no
//! series forged by a hostile string, and the server's bounds; the deploy files
//! (alert rules, Grafana dashboard) use only metric names the page holds, and
//! `promtool` accepts the rules.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bootscope::live::metrics::{self, Counters, Metrics, METRIC_NAMES};
use bootscope::report::PhoneReport;

use crate::common::{analyze, sample_path};

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parse the text exposition format (0.0.4): `# TYPE` lines and samples; panics on
/// anything else, so a broken page fails the test.
pub fn parse(text: &str) -> (HashMap<String, String>, Vec<Sample>) {
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap();
        let name = &line[..name_end];
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(r) = rest.strip_prefix('{') {
            let mut chars = r.char_indices().peekable();
            let end;
            loop {
                let (i, c) = chars.next().expect("unterminated labels");
                if c == '}' {
                    end = i;
                    break;
                }
                if c == ',' {
                    continue;
                }
                let mut key = String::from(c);
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    key.push(c);
                }
                assert_eq!(chars.next().map(|x| x.1), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    let (_, c) = chars.next().expect("unterminated value");
                    match c {
                        '"' => break,
                        '\\' => match chars.next().unwrap().1 {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            other => panic!("bad escape \\{other} in {line}"),
                        },
                        '\n' => panic!("raw newline"),
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(key, value).is_none(), "label twice: {line}");
            }
            rest = &r[end + 1..];
        }
        let value: f64 = match rest.trim() {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    // Every sample belongs to a typed family.
    for s in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suf| {
                s.name
                    .strip_suffix(suf)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(&s.name);
        assert!(types.contains_key(family), "{} has no TYPE", s.name);
    }
    (types, samples)
}

fn sum(samples: &[Sample], name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for s in samples.iter().filter(|s| s.name == name) {
        *m.entry(s.labels[label].clone()).or_default() += s.value;
    }
    m
}

#[test]
fn the_page_parses_back_to_the_reports_counts() {
    let report = analyze(&sample_path("mixed-site"));
    let phones: Vec<&PhoneReport> = report.phones.iter().collect();
    let mut m = Metrics::new("site-1");
    let text = m.update(
        &phones,
        Counters {
            received: 164,
            dropped: 3,
            events_dropped: 2,
        },
    );
    let (types, samples) = parse(&text);
    for name in METRIC_NAMES {
        assert!(types.contains_key(name), "{name} missing");
    }
    assert!(samples.iter().all(|s| s.labels["sensor"] == "site-1"));
    // Phones by status: the report's summary.
    let status = sum(&samples, "bootscope_phones", "status");
    for (st, n) in &report.summary.status {
        assert_eq!(status[*st], *n as f64, "{st}");
    }
    assert_eq!(status.values().sum::<f64>(), report.phones.len() as f64);
    // Findings by code: the report's phones' findings.
    let mut want: BTreeMap<String, f64> = BTreeMap::new();
    for p in &report.phones {
        for f in &p.findings {
            *want.entry(f.code.clone()).or_default() += 1.0;
        }
    }
    assert_eq!(sum(&samples, "bootscope_findings", "code"), want);
    // Stalled by stage: the summary's.
    let stalled = sum(&samples, "bootscope_phones_stalled", "stage");
    let want: BTreeMap<String, f64> = report
        .summary
        .stalled_stage
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v as f64))
        .collect();
    assert_eq!(stalled, want);
    // The histogram: one observation per registered boot, buckets cumulative.
    let registered = report
        .phones
        .iter()
        .filter(|p| p.boot_duration.is_some() && p.status.as_str() == "registered")
        .count() as f64;
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == "bootscope_boot_duration_seconds_bucket")
        .map(|s| s.value)
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(buckets.last(), Some(&registered));
    let one = |name: &str| samples.iter().find(|s| s.name == name).unwrap().value;
    assert_eq!(one("bootscope_boot_duration_seconds_count"), registered);
    assert_eq!(one("bootscope_capture_packets_received_total"), 164.0);
    assert_eq!(one("bootscope_capture_packets_dropped_total"), 3.0);
    assert_eq!(one("bootscope_events_dropped_total"), 2.0);
    let boots: u32 = report.phones.iter().map(|p| p.boots).sum();
    assert_eq!(one("bootscope_boots_total"), f64::from(boots));
    // Seen again, nothing counted twice.
    let again = m.update(&phones, Counters::default());
    let (_, samples2) = parse(&again);
    let one2 = |name: &str| samples2.iter().find(|s| s.name == name).unwrap().value;
    assert_eq!(one2("bootscope_boots_total"), f64::from(boots));
    assert_eq!(one2("bootscope_boot_duration_seconds_count"), registered);
}

#[test]
fn no_label_injection_from_hostile_strings() {
    let report = analyze(&sample_path("mixed-site"));
    let mut phones: Vec<PhoneReport> = report.phones.clone();
    let forged = "x\"} 99\nbootscope_phones{sensor=\"s\",status=\"registered";
    phones[0].findings.push(bootscope::report::Finding {
        code: forged.to_owned(),
        ..report
            .phones
            .iter()
            .flat_map(|p| p.findings.clone())
            .next()
            .unwrap()
    });
    phones[0].device_name = Some(forged.to_owned());
    let sensor = "site \"A\"\\\nB";
    let mut m = Metrics::new(sensor);
    let text = m.update(&phones.iter().collect::<Vec<_>>(), Counters::default());
    let (_, samples) = parse(&text);
    // The sensor comes back exactly; the forged code is `other`; no extra series.
    assert!(samples.iter().all(|s| s.labels["sensor"] == sensor));
    let codes = sum(&samples, "bootscope_findings", "code");
    assert_eq!(codes.get("other"), Some(&1.0));
    assert!(codes.keys().all(|c| !c.contains('"')));
    let status = sum(&samples, "bootscope_phones", "status");
    assert_eq!(status.values().sum::<f64>(), phones.len() as f64);
    assert_eq!(text.lines().filter(|l| l.contains("99")).count(), 0);
    assert_eq!(metrics::escape_label("a\\\"\n"), "a\\\\\\\"\\n");
}

fn get(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn the_server_is_bounded_and_a_silent_client_does_not_hold_it() {
    let page = Arc::new(Mutex::new(
        "bootscope_boots_total{sensor=\"a\"} 1\n".to_owned(),
    ));
    let (addr, _) = metrics::serve("127.0.0.1:0".parse().unwrap(), Arc::clone(&page)).unwrap();
    // A client that connects and says nothing.
    let _silent = TcpStream::connect(addr).unwrap();
    let t = Instant::now();
    let answer = get(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(t.elapsed() < metrics::IO_TIMEOUT + Duration::from_secs(2));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("text/plain; version=0.0.4"));
    assert!(answer.ends_with("bootscope_boots_total{sensor=\"a\"} 1\n"));
    // The page follows the session.
    *page.lock().unwrap() = "x 2\n".to_owned();
    assert!(get(addr, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").ends_with("\r\n\r\nx 2\n"));
    assert!(get(addr, b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    assert!(get(addr, b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    // A request past the limit is refused, not read on.
    let mut big = b"GET /metrics HTTP/1.1\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'a', metrics::MAX_REQUEST + 10));
    assert!(get(addr, &big).starts_with("HTTP/1.1 431"));
}

/// Every `bootscope_...` name in `text`, suffixes of the histogram folded.
fn names_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("bootscope_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

#[test]
fn deploy_files_use_only_exported_metric_names() {
    let report = analyze(&sample_path("mixed-site"));
    let text = Metrics::new("s").update(
        &report.phones.iter().collect::<Vec<_>>(),
        Counters::default(),
    );
    let (_, samples) = parse(&text);
    let exported: std::collections::HashSet<&str> =
        samples.iter().map(|s| s.name.as_str()).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/bootscope.json",
    ] {
        let body = std::fs::read_to_string(root.join(file)).unwrap();
        let names = names_in(&body);
        assert!(!names.is_empty(), "{file}: no metric");
        for n in names {
            // Rule and dashboard names (`bootscope_...` uid) are not metrics: only
            // names in an expression are checked, which all start with the prefix
            // of an exported family.
            assert!(exported.contains(n.as_str()), "{file}: {n} is not exported");
        }
    }
    // The dashboard is valid JSON whose targets all have an expression.
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana/bootscope.json")).unwrap(),
    )
    .unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 4);
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            assert!(t["expr"].as_str().unwrap().contains("bootscope_"));
        }
    }
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/alerts.yml");
    let Ok(out) = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
    else {
        assert!(
            std::env::var("BOOTSCOPE_PROMETHEUS_TESTS").as_deref() != Ok("require"),
            "promtool missing"
        );
        eprintln!("skipped: promtool missing (Debian: apt-get install prometheus)");
        return;
    };
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("SUCCESS"), "{said}");
}
