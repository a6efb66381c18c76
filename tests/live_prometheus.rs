//! `live --metrics` scraped by a real Prometheus, and `live --events` (built with
//! `--features live`, run as root, like tests/live.rs).
//!
//! In a namespace of its own: `bootscope live --metrics` on the veth, Prometheus
//! scraping it every second (with deploy/prometheus/alerts.yml loaded), samples
//! replayed onto the veth; then Prometheus's HTTP API must give the phones by status
//! and the findings by code that the session's own JSON report gives, and the event
//! lines must hold the report's timeline and findings. A second test feeds the events
//! to a pipe nobody reads: lines are dropped and counted, capture goes on.
//!
//! Without Prometheus (Debian: `apt-get install prometheus`) the scrape test says so
//! and passes, unless `BOOTSCOPE_PROMETHEUS_TESTS=require` (as `.ci/run` sets it).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{sample_path, scratch};
use crate::live::{can_run, drain, replay, sh, Live, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_bootscope");
const METRICS: &str = "127.0.0.1:9898";
/// Inside the test's own namespace: no port is shared with anything.
const PROMETHEUS: &str = "127.0.0.1:9090";

fn prometheus_binary() -> Option<PathBuf> {
    let ok = |p: &Path| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let p = PathBuf::from("/usr/bin/prometheus");
    if ok(&p) {
        return Some(p);
    }
    let p = PathBuf::from("prometheus");
    if ok(&p) {
        return Some(p);
    }
    assert!(
        std::env::var("BOOTSCOPE_PROMETHEUS_TESTS").as_deref() != Ok("require"),
        "prometheus missing (Debian: apt-get install prometheus)"
    );
    eprintln!("skipped: prometheus missing (Debian: apt-get install prometheus)");
    None
}

/// A process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on `addr` inside the namespace `ns` (the request is made from a thread
/// moved into it); the body.
fn get_in(ns: &str, addr: &str, path: &str) -> Option<String> {
    let (ns, addr, path) = (ns.to_owned(), addr.to_owned(), path.to_owned());
    std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/var/run/netns/{ns}")).ok()?;
        use std::os::fd::AsRawFd;
        // SAFETY: setns on this thread only, with a descriptor we hold open.
        if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        let mut s = TcpStream::connect(&addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200")
            .then(|| body.to_owned())
            .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_owned()))
    })
    .join()
    .ok()
    .flatten()
}

/// A PromQL query's vector as `label value -> number`.
fn query(ns: &str, promql: &str, label: &str) -> Option<BTreeMap<String, f64>> {
    let q: String = promql
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let body = get_in(ns, PROMETHEUS, &format!("/api/v1/query?query={q}"))?;
    let v: Value = serde_json::from_str(&body).ok()?;
    if v["status"] != "success" {
        return None;
    }
    Some(
        v["data"]["result"]
            .as_array()?
            .iter()
            .map(|r| {
                (
                    r["metric"][label].as_str().unwrap_or("").to_owned(),
                    r["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .collect(),
    )
}

fn start_prometheus(ns: &Netns, bin: &Path) -> Killed {
    let dir = scratch(&format!("prometheus-{}", ns.0));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/alerts.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: bootscope\n    static_configs:\n      - targets: ['{METRICS}']\n",
        rules.display()
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(bin)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={PROMETHEUS}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Killed(child);
    let until = Instant::now() + Duration::from_secs(60);
    while get_in(&ns.0, PROMETHEUS, "/-/ready").is_none() {
        assert!(Instant::now() < until, "prometheus did not become ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

/// The report's count of phones per status (every status, 0 when none) and of
/// findings per code.
fn report_counts(report: &Value) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let mut status: BTreeMap<String, f64> = ["registered", "stalled", "in_progress", "seen"]
        .iter()
        .map(|s| ((*s).to_owned(), 0.0))
        .collect();
    let mut codes = BTreeMap::new();
    for p in report["phones"].as_array().unwrap() {
        *status
            .entry(p["status"].as_str().unwrap().to_owned())
            .or_default() += 1.0;
        for f in p["findings"].as_array().unwrap() {
            *codes
                .entry(f["code"].as_str().unwrap().to_owned())
                .or_default() += 1.0;
        }
    }
    (status, codes)
}

#[test]
fn prometheus_scrapes_what_the_report_says() {
    let Some(prometheus) = prometheus_binary() else {
        return;
    };
    if !can_run() {
        return;
    }
    let ns = Netns::new();
    sh(&["ip", "-n", &ns.0, "link", "set", "lo", "up"]);
    let events = scratch(&format!("live-events-{}.ndjson", ns.0));
    let live = Live::start(
        &ns,
        &[
            "--format",
            "json",
            "--metrics",
            METRICS,
            "--sensor",
            "site-a",
            "--events",
            events.to_str().unwrap(),
        ],
    );
    let _prom = start_prometheus(&ns, &prometheus);
    // Phones whose verdicts are final once their frames are in (no step left to
    // time out), so what Prometheus saw last is what the report says at the end.
    for s in ["secure-register-failed", "healthy-sccp", "config-not-found"] {
        replay(&ns, &sample_path(s), "0");
    }
    // Wait until Prometheus has scraped the settled page twice over.
    let status_q = "sum by (status) (bootscope_phones{sensor=\"site-a\"})";
    let codes_q = "sum by (code) (bootscope_findings{sensor=\"site-a\"})";
    let until = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    let mut same = 0;
    let (status, codes) = loop {
        assert!(Instant::now() < until, "prometheus never settled: {last:?}");
        std::thread::sleep(Duration::from_millis(1500));
        let now = (
            query(&ns.0, status_q, "status"),
            query(&ns.0, codes_q, "code"),
        );
        let (Some(s), Some(c)) = now.clone() else {
            continue;
        };
        if s.values().sum::<f64>() > 0.0 && last.as_ref() == Some(&(s.clone(), c.clone())) {
            same += 1;
            if same >= 2 {
                break (s, c);
            }
        } else {
            same = 0;
        }
        last = Some((s, c));
    };
    let stalled = query(
        &ns.0,
        "sum by (stage) (bootscope_phones_stalled{sensor=\"site-a\"})",
        "stage",
    )
    .unwrap();
    let received = query(
        &ns.0,
        "bootscope_capture_packets_received_total{sensor=\"site-a\"}",
        "sensor",
    )
    .unwrap();
    // The alert rules loaded.
    let rules: Value =
        serde_json::from_str(&get_in(&ns.0, PROMETHEUS, "/api/v1/rules").unwrap()).unwrap();
    let loaded = rules["data"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(loaded, 6, "alert rules loaded");

    let (code, lines) = live.stop();
    assert!(code.is_some_and(|c| c <= 1), "exit {code:?}");
    let report: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let (want_status, want_codes) = report_counts(&report);
    assert_eq!(status, want_status, "phones by status");
    assert_eq!(codes, want_codes, "findings by code");
    assert!(want_status["stalled"] >= 3.0 && want_status["registered"] >= 1.0);
    let want_stalled: BTreeMap<String, f64> = report["summary"]["stalled_stage"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect();
    assert_eq!(stalled, want_stalled, "stalled phones by stage");
    assert_eq!(
        received.get("site-a").copied(),
        report["capture"]["live"]["received"].as_f64(),
        "packets received"
    );

    // The event lines of the same session: every one parses; the report's findings
    // and timeline are there, each entry at the capture start plus its time.
    let text = std::fs::read_to_string(&events).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["observer"]["name"] == "site-a" && l["@timestamp"].is_string()));
    let start = (report["capture"]["start"].as_f64().unwrap() * 1e6).round() as i64;
    for p in report["phones"].as_array().unwrap() {
        let mac = p["mac"].as_str().unwrap();
        let of_phone: Vec<&Value> = lines
            .iter()
            .filter(|l| l["bootscope"]["mac"] == mac)
            .collect();
        for f in p["findings"].as_array().unwrap() {
            assert!(
                of_phone
                    .iter()
                    .any(|l| l["event"]["kind"] == "alert" && l["rule"]["name"] == f["code"]),
                "{mac}: no line for {}",
                f["code"]
            );
        }
        for e in p["timeline"].as_array().unwrap() {
            let at = start + (e["time"].as_f64().unwrap() * 1e6).round() as i64;
            let line = of_phone
                .iter()
                .find(|l| l["event"]["kind"] == "event" && l["bootscope"]["frame"] == e["frame"])
                .unwrap_or_else(|| panic!("{mac}: no line for frame {}", e["frame"]));
            assert_eq!(
                crate::events::parse_rfc3339(line["@timestamp"].as_str().unwrap()),
                at,
                "{mac} frame {}",
                e["frame"]
            );
        }
    }
}

#[test]
fn an_events_reader_that_never_reads_does_not_stall_capture() {
    if !can_run() {
        return;
    }
    // Many phones booting: more lines than the queue and the pipe hold.
    let fleet = scratch("live-events-fleet.pcap");
    let out = Command::new(BIN)
        .args([
            "simulate",
            "--fleet",
            "400",
            "--all-boot",
            "--duration",
            "120",
            "-o",
        ])
        .arg(&fleet)
        .output()
        .unwrap();
    assert!(out.status.success());
    let fifo = scratch(&format!("live-events-{}.fifo", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    sh(&["mkfifo", fifo.to_str().unwrap()]);
    // Held open for reading (so the writer can open it), never read.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let ns = Netns::new();
    let mut live = Live::start(
        &ns,
        &["--format", "json", "--events", fifo.to_str().unwrap()],
    );
    // At a pace the kernel buffer keeps up with (speed 0 overflows it, events or not).
    replay(&ns, &fleet, "20");
    std::thread::sleep(Duration::from_secs(2));
    live.signal("-TERM");
    let code = live.exit_code(Duration::from_secs(60), "on SIGTERM with a stuck reader");
    assert!(code.is_some_and(|c| c <= 1), "exit {code:?}");
    let out = drain(&live.stdout);
    let err = drain(&live.stderr);
    let report: Value = serde_json::from_str(out.last().unwrap()).unwrap();
    // Capture went on: every frame replayed was received, none dropped.
    let frames = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .arg(&fleet)
        .output()
        .unwrap();
    let offline: Value = serde_json::from_slice(&frames.stdout).unwrap();
    assert_eq!(report["capture"]["live"]["dropped_by_kernel"], 0);
    assert_eq!(
        report["capture"]["live"]["received"],
        offline["capture"]["frames"]
    );
    assert_eq!(
        report["phones"].as_array().unwrap().len(),
        offline["phones"].as_array().unwrap().len()
    );
    // And the lines that could not be written were counted and said.
    let said = err
        .iter()
        .find_map(|l| {
            l.strip_prefix("bootscope: ")?
                .split_once(" event line(s) dropped")?
                .0
                .parse::<u64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no drop count on stderr: {err:?}"));
    assert!(said > 0);
    eprintln!("{said} event line(s) dropped, capture whole");
    let _ = std::fs::remove_file(&fifo);
}
