//! `bootscope live` on a real interface (built with `--features live`, run as root).
//!
//! Each test makes its own network namespace holding both ends of a veth pair — no
//! addresses, no routes, IPv6 off: nothing can leave it, and nothing but the replayed
//! frames crosses it. `bootscope live` listens on one end, `bootscope replay` sends a
//! sample into the other at its recorded pace, and the report after SIGTERM must be
//! the one `analyze` gives. The namespace is removed even when the test fails.
//!
//! Without root or `ip`, the tests say so and pass, unless
//! `BOOTSCOPE_LIVE_TESTS=require` (as `.ci/run` sets it) makes that a failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::scratch;

const BIN: &str = env!("CARGO_BIN_EXE_bootscope");

/// Whether this machine can run the tests (root, iproute2).
pub(crate) fn can_run() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let ip = Command::new("ip").arg("-V").output().is_ok();
    if root && ip {
        return true;
    }
    let why = format!("live tests need root and iproute2 (root: {root}, ip: {ip})");
    assert!(
        std::env::var("BOOTSCOPE_LIVE_TESTS").as_deref() != Ok("require"),
        "{why}"
    );
    eprintln!("skipped: {why}");
    false
}

pub(crate) fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace with a veth pair `va` / `vb` inside it; deleted on drop (which takes
/// the pair with it).
pub(crate) struct Netns(pub(crate) String);

impl Netns {
    pub(crate) fn new() -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "bscope-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns(name);
        let n = ns.0.as_str();
        sh(&[
            "ip", "-n", n, "link", "add", "va", "type", "veth", "peer", "name", "vb",
        ]);
        // No IPv6: no router solicitations or MLD reports on the wire.
        sh(&[
            "ip",
            "netns",
            "exec",
            n,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
            "net.ipv6.conf.va.disable_ipv6=1",
            "net.ipv6.conf.vb.disable_ipv6=1",
        ]);
        for dev in ["va", "vb"] {
            sh(&["ip", "-n", n, "link", "set", dev, "mtu", "9000", "up"]);
        }
        ns
    }

    pub(crate) fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, BIN]).args(args);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A running `bootscope live`, killed on drop if still running.
pub(crate) struct Live {
    child: Child,
    pub(crate) stdout: mpsc::Receiver<String>,
    pub(crate) stderr: mpsc::Receiver<String>,
}

impl Live {
    /// Start `live -i va` with `args`, and wait until it listens.
    pub(crate) fn start(ns: &Netns, args: &[&str]) -> Live {
        Live::start_command(ns.exec(&[&["live", "-i", "va"], args].concat()))
    }

    /// Start `cmd` (a `bootscope live -i va …`), and wait until it listens.
    pub(crate) fn start_command(mut cmd: Command) -> Live {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (etx, erx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let mut said = Vec::new();
        loop {
            match erx.recv_timeout(Duration::from_secs(20)) {
                Ok(l) if l.contains("listening on va") => break,
                Ok(l) => said.push(l),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("live did not start listening: {said:?}");
                }
            }
        }
        Live {
            child,
            stdout,
            stderr: erx,
        }
    }

    pub(crate) fn signal(&self, sig: &str) {
        sh(&["kill", sig, &self.child.id().to_string()]);
    }

    /// SIGTERM, then the exit code and every stdout line.
    pub(crate) fn stop(mut self) -> (Option<i32>, Vec<String>) {
        self.signal("-TERM");
        let code = self.exit_code(Duration::from_secs(30), "on SIGTERM");
        (code, drain(&self.stdout))
    }

    /// Wait for the process to end by itself (failing after `limit`); its exit code.
    pub(crate) fn exit_code(&mut self, limit: Duration, cause: &str) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            assert!(Instant::now() < deadline, "live did not stop {cause}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every line a reader thread passes on until its process's pipe closes.
pub(crate) fn drain(rx: &mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(10)) {
        lines.push(l);
    }
    lines
}

pub(crate) fn replay(ns: &Netns, capture: &Path, speed: &str) {
    let out = ns
        .exec(&["replay", "-i", "vb", "--speed", speed])
        .arg(capture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn analyze(capture: &Path) -> Value {
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .arg(capture)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "analyze failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A phone's verdict without what a replay cannot keep: frame numbers (the capture
/// filter drops ARP, so live numbers differ from the file's) and exact times.
fn verdict(p: &Value) -> Value {
    let findings: Vec<Value> = p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!([f["code"], f["severity"], f["stage"], f["message"]]))
        .collect();
    let timeline: Vec<Value> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::json!([e["stage"], e["type"], e["event"]]))
        .collect();
    serde_json::json!({
        "mac": p["mac"], "name": p["device_name"], "status": p["status"],
        "stage": p["stalled_stage"], "findings": findings, "timeline": timeline,
        "vlan": p["vlan"], "ip": p["ip"], "boots": p["boots"],
    })
}

/// The report without what depends on when it was judged (`waited`) or where it came
/// from (`capture`).
fn judged(mut r: Value) -> Value {
    for list in ["phones", "other_devices"] {
        for p in r[list].as_array_mut().unwrap() {
            if let Some(e) = p.get_mut("expected_next").and_then(Value::as_object_mut) {
                e.remove("waited");
            }
        }
    }
    r.as_object_mut().unwrap().remove("capture");
    r
}

/// Replay `sample` into a live session and compare its report with `analyze`.
fn live_equals_analyze(sample: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("samples/{sample}/capture.pcap"));
    let written: PathBuf = scratch(&format!("live-{sample}.pcap"));
    let ns = Netns::new();
    let live = Live::start(&ns, &["--format", "json", "-w", written.to_str().unwrap()]);
    replay(&ns, &path, "1");
    std::thread::sleep(Duration::from_millis(200));
    let (code, lines) = live.stop();
    let report: Value = serde_json::from_str(lines.last().expect("no report")).unwrap();
    let events: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // The session's own capture, analyzed offline: the same report in every field.
    let offline = analyze(&written);
    assert_eq!(
        judged(report.clone()),
        judged(offline.clone()),
        "{sample}: live and analyze of its -w file differ"
    );
    // The sample itself: the same verdicts, timelines in the same order, the same
    // findings, and timeline times within the replay's jitter (eight replays and eight
    // sessions share two cores here: a stall of 0.7 s between two frames was seen on a
    // loaded machine).
    let original = analyze(&path);
    let (lp, op) = (
        report["phones"].as_array().unwrap(),
        original["phones"].as_array().unwrap(),
    );
    assert_eq!(lp.len(), op.len(), "{sample}: phones");
    for (l, o) in lp.iter().zip(op) {
        assert_eq!(verdict(l), verdict(o), "{sample}");
        for (a, b) in l["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .zip(o["timeline"].as_array().unwrap())
        {
            let (a, b) = (a["time"].as_f64().unwrap(), b["time"].as_f64().unwrap());
            assert!((a - b).abs() < 2.0, "{sample}: time {a} vs {b}");
        }
        // The event lines told the outcome while it ran.
        let said = |kind: &str| {
            events
                .iter()
                .any(|e| e["event"] == kind && e["mac"] == l["mac"])
        };
        assert!(said("phone-seen"), "{sample}: {}", l["mac"]);
        match l["status"].as_str().unwrap() {
            "registered" => assert!(said("registered"), "{sample}: {}", l["mac"]),
            "stalled" => assert!(
                events.iter().any(|e| e["event"] == "stalled"
                    && e["mac"] == l["mac"]
                    && e["stage"] == l["stalled_stage"]),
                "{sample}: {} stalled at {} but no such event",
                l["mac"],
                l["stalled_stage"]
            ),
            _ => {}
        }
    }
    let has_errors = lp.iter().any(|p| {
        p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error")
    });
    assert_eq!(code, Some(i32::from(has_errors)), "{sample}: exit code");
    // Every frame captured is counted, none dropped.
    let c = &report["capture"];
    assert_eq!(c["live"]["interface"], "va");
    assert_eq!(c["live"]["dropped_by_kernel"], 0);
    assert_eq!(c["live"]["received"], offline["capture"]["frames"]);
    assert_eq!(c["frames"], offline["capture"]["frames"]);
}

#[test]
fn live_reports_equal_analyze_on_replayed_samples() {
    if !can_run() {
        return;
    }
    // At the recorded pace (timeouts depend on it), all at once: each in its own
    // namespace, so the longest sample (139 s) sets the time.
    let samples = [
        "mixed-site",
        "healthy-http-6970-sip-digest",
        "firmware-upgrade-one-reboot",
        "boot-loop",
        "tftp-no-response",
        "cucm-failover",
        "dhcp-nak",
        "sip-udp-register-no-response",
    ];
    std::thread::scope(|s| {
        let handles: Vec<_> = samples
            .iter()
            .map(|name| (name, s.spawn(move || live_equals_analyze(name))))
            .collect();
        let failed: Vec<_> = handles
            .into_iter()
            .filter_map(|(n, h)| h.join().is_err().then_some(*n))
            .collect();
        assert!(failed.is_empty(), "failed: {failed:?}");
    });
}

#[test]
fn kernel_drops_are_counted_in_the_report() {
    if !can_run() {
        return;
    }
    // A fleet capture sent as fast as possible while the session is stopped (SIGSTOP)
    // and its buffer is the smallest: the kernel must drop, and the report must say so.
    // (Its boot frames, about 30 000, are several MiB however densely the ring packs
    // them.)
    let fleet = scratch("live-drops-fleet.pcap");
    let st = Command::new(BIN)
        .args([
            "simulate",
            "--fleet",
            "2000",
            "--seed",
            "3",
            "--duration",
            "120",
            "-o",
        ])
        .arg(&fleet)
        .status()
        .unwrap();
    assert!(st.success());
    let ns = Netns::new();
    let live = Live::start(&ns, &["--buffer-size", "1", "--format", "table"]);
    live.signal("-STOP");
    replay(&ns, &fleet, "0");
    live.signal("-CONT");
    std::thread::sleep(Duration::from_millis(500));
    let (_, lines) = live.stop();
    let text = lines.join("\n");
    let line = lines
        .iter()
        .find(|l| l.starts_with("live on va:"))
        .unwrap_or_else(|| panic!("no capture counters in:\n{text}"));
    // "live on va: N packet(s) received, K dropped by the kernel, I dropped by the interface"
    let number_before = |what: &str| -> u64 {
        let head = &line[..line.find(what).unwrap()];
        head.split_whitespace().last().unwrap().parse().unwrap()
    };
    let received = number_before(" packet(s) received");
    let dropped = number_before(" dropped by the kernel");
    assert!(dropped > 0, "{line}");
    assert!(received >= dropped, "{line}");
    assert!(text.contains("warning: packets were dropped"), "{text}");
}

#[test]
fn a_missing_interface_is_named_with_the_ones_that_exist() {
    if !can_run() {
        return;
    }
    let ns = Netns::new();
    let out = ns.exec(&["live", "-i", "nosuch0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no interface 'nosuch0'"), "{err}");
    assert!(err.contains("va") && err.contains("vb"), "{err}");
}

#[test]
fn no_permission_names_the_capabilities() {
    if !can_run() {
        return;
    }
    let ns = Netns::new();
    // The same binary as an unprivileged user (nobody), inside the namespace.
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
        ])
        .args(["--clear-groups", BIN, "live", "-i", "va"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cap_net_raw,cap_net_admin"), "{err}");
}

#[test]
fn the_default_filter_keeps_boots_and_drops_the_bulk() {
    // Compiled by libpcap and run over every frame of every sample: all the frames
    // bootscope decodes pass; RTP (the bulk of a voice VLAN) does not.
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap();
    let prog = dead
        .compile(bootscope::live::DEFAULT_FILTER, true)
        .expect("the default filter compiles");
    // The samples, and the third-party captures (SIP over TCP, LLDP-MED, HTTP 6970…).
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"))
            .unwrap()
            .map(|e| e.unwrap().path().join("capture.pcap"))
            .filter(|p| p.exists())
            .collect();
    files.extend(
        crate::common::all_captures()
            .iter()
            .map(|c| crate::common::capture_path(c)),
    );
    let mut checked = 0;
    for p in &files {
        let (frames, _) = crate::common::read_frames(p);
        let mut d = bootscope::dispatch::Dispatcher::new(Default::default());
        for f in frames.iter().filter(|f| f.linktype == 1) {
            let frame = bootscope::capture::Frame {
                number: f.number,
                ts_ns: f.ts_ns,
                linktype: bootscope::capture::Linktype(f.linktype),
                data: &f.data,
                orig_len: f.orig_len,
            };
            let mut decoded = false;
            let _ = d.frame(&frame, |_, obs| {
                decoded |= matches!(obs, bootscope::dispatch::Observed::Message(_));
            });
            if decoded {
                checked += 1;
                assert!(
                    prog.filter(&f.data),
                    "{}: frame {} decoded but filtered out",
                    p.display(),
                    f.number
                );
            }
        }
    }
    // Counted by `tshark -Y 'cdp||lldp||dhcp||tftp||skinny||sip||http'` over the same
    // files, give or take what bootscope decodes beyond tshark: well over a thousand.
    assert!(checked > 1000, "{checked}");
    // An RTP packet (UDP 16384 → 16386, version 2, PT 0), tagged and untagged.
    let rtp = rtp_frame();
    assert!(!prog.filter(&rtp));
    let mut tagged = rtp[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 100]);
    tagged.extend_from_slice(&rtp[12..]);
    assert!(!prog.filter(&tagged));
    // The same bytes as a TFTP DATA block (opcode 3) on those ports pass, tagged too.
    let (mut data, mut data_tagged) = (rtp.clone(), tagged.clone());
    data[42..44].copy_from_slice(&[0, 3]);
    data_tagged[46..48].copy_from_slice(&[0, 3]);
    assert!(prog.filter(&data) && prog.filter(&data_tagged));
}

/// Ethernet / IPv4 / UDP 16384→16386 / RTP v2 header, built by hand.
fn rtp_frame() -> Vec<u8> {
    let mut f = vec![
        0x00, 0x1b, 0x54, 0, 0, 1, 0x00, 0x1b, 0x54, 0, 0, 2, 0x08, 0x00,
    ];
    let payload = [
        0x80u8, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef,
    ];
    let udp_len = 8 + payload.len() as u16;
    let ip_len = 20 + udp_len;
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&[10, 100, 0, 20, 10, 100, 0, 21]);
    f.extend_from_slice(&[
        0x40,
        0x00,
        0x40,
        0x02,
        (udp_len >> 8) as u8,
        udp_len as u8,
        0,
        0,
    ]);
    f.extend_from_slice(&payload);
    f
}

/// Start a session, replay a short sample, then break the interface with `ip …`:
/// the session must end by itself with the report of what it saw, the error, exit 2.
fn interface_fault(fault: &[&str], expect: &str, tag: &str) {
    let ns = Netns::new();
    let written = scratch(&format!("live-fault-{tag}.pcap"));
    let live = Live::start(&ns, &["--format", "json", "-w", written.to_str().unwrap()]);
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/config-not-found/capture.pcap");
    replay(&ns, &sample, "0");
    std::thread::sleep(Duration::from_millis(300));
    let mut cmd = vec!["ip", "-n", &ns.0];
    cmd.extend_from_slice(fault);
    sh(&cmd);
    let mut live = live;
    let code = live.exit_code(Duration::from_secs(15), &format!("after `ip {fault:?}`"));
    assert_eq!(code, Some(2));
    let lines = drain(&live.stdout);
    let report: Value = serde_json::from_str(lines.last().expect("no report")).unwrap();
    // tshark: the sample's 15 frames reached it, its ARP announcement with them (the
    // filter keeps ARP).
    assert_eq!(report["capture"]["frames"], 15);
    assert_eq!(report["phones"][0]["mac"], "00:1b:54:aa:0a:01");
    assert_eq!(
        report["phones"][0]["findings"][0]["code"],
        "config-not-found"
    );
    let err = drain(&live.stderr);
    assert!(
        err.iter().any(|l| l.contains("capture on 'va' ended")
            && l.contains(expect)
            && l.contains(
                "bootscope cannot reopen it without the privileges it gave up: start it again"
            )),
        "{err:?}"
    );
    // What was captured until then is in the -w file, whole.
    assert_eq!(whole_capture_frames(&written), 15);
}

#[test]
fn an_interface_that_vanishes_ends_the_session_with_the_report() {
    if !can_run() {
        return;
    }
    interface_fault(&["link", "del", "va"], "disappeared", "vanished");
}

#[test]
fn an_interface_taken_down_ends_the_session_with_the_report() {
    if !can_run() {
        return;
    }
    interface_fault(&["link", "set", "va", "down"], "down", "down");
}

/// Each thread's credentials in /proc: (Uid, Gid, Groups, CapEff, CapPrm) lines' values.
fn thread_credentials(pid: u32) -> Vec<[String; 5]> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        out.push([
            field("Uid:"),
            field("Gid:"),
            field("Groups:"),
            field("CapEff:"),
            field("CapPrm:"),
        ]);
    }
    out
}

/// Every thread of `pid` as `uid`:`gid` with no group and no capability.
fn assert_unprivileged(pid: u32, uid: u32, gid: u32) -> usize {
    let creds = thread_credentials(pid);
    let want = [
        format!("{uid} {uid} {uid} {uid}"),
        format!("{gid} {gid} {gid} {gid}"),
        String::new(),
        "0000000000000000".to_owned(),
        "0000000000000000".to_owned(),
    ];
    for c in &creds {
        assert_eq!(c, &want, "a thread of {pid} kept a privilege: {creds:?}");
    }
    creds.len()
}

#[test]
fn started_as_root_it_runs_as_nobody_once_the_interface_is_open() {
    if !can_run() {
        return;
    }
    let ns = Netns::new();
    let dir = scratch("live-privilege-root");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (pcap, events, html) = (
        dir.join("w.pcap"),
        dir.join("ev.ndjson"),
        dir.join("r.html"),
    );
    let live = Live::start(
        &ns,
        &[
            "--format",
            "json",
            "-w",
            pcap.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/mixed-site/capture.pcap");
    replay(&ns, &sample, "0");
    std::thread::sleep(Duration::from_millis(700));
    // The analysing thread, the metrics server and the events writer: all nobody.
    let threads = assert_unprivileged(live.child.id(), 65534, 65534);
    assert!(threads >= 3, "{threads} thread(s)");
    let (code, lines) = live.stop();
    assert_eq!(code, Some(1), "the sample has error findings");
    let report: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    // What root created before it left is complete: the -w file holds every frame the
    // session read (analyzed again), the events and the page were written.
    let frames = report["capture"]["frames"].as_u64().unwrap();
    assert!(frames > 100, "{frames}");
    assert_eq!(analyze(&pcap)["capture"]["frames"].as_u64(), Some(frames));
    assert!(std::fs::read_to_string(&events).unwrap().lines().count() > 10);
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("SEP001B54BB0003"));

    // -Z names the user; a root user or an unknown one is refused before capture.
    let live = Live::start(&ns, &["-Z", "daemon"]);
    std::thread::sleep(Duration::from_millis(200));
    let (uid, gid) = (1, 1);
    assert_unprivileged(live.child.id(), uid, gid);
    drop(live);
    for (user, says) in [
        ("root", "that user is root"),
        ("no-such-user-x", "no such user"),
    ] {
        let out = ns.exec(&["live", "-i", "va", "-Z", user]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "-Z {user}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn started_with_capabilities_only_it_captures_and_keeps_none() {
    if !can_run() {
        return;
    }
    if Command::new("setcap").arg("-v").output().is_err() {
        assert!(
            std::env::var("BOOTSCOPE_LIVE_TESTS").as_deref() != Ok("require"),
            "setcap (libcap2-bin) is needed"
        );
        return;
    }
    let ns = Netns::new();
    // A copy of the binary nobody may run, given the two capabilities, as tcpdump's
    // packagers do (`setcap cap_net_raw,cap_net_admin=eip`).
    let dir = std::env::temp_dir().join(format!("bootscope-caps-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    sh(&["chmod", "755", dir.to_str().unwrap()]);
    let bin = dir.join("bootscope");
    std::fs::copy(BIN, &bin).unwrap();
    sh(&["chmod", "755", bin.to_str().unwrap()]);
    sh(&[
        "setcap",
        "cap_net_raw,cap_net_admin=eip",
        bin.to_str().unwrap(),
    ]);
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.0, "setpriv"])
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["live", "-i", "va", "--format", "json"]);
    let live = Live::start_command(cmd);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/mixed-site/capture.pcap");
    replay(&ns, &sample, "0");
    std::thread::sleep(Duration::from_millis(700));
    assert_unprivileged(live.child.id(), 65534, 65534);
    let (code, lines) = live.stop();
    assert_eq!(code, Some(1));
    // Not root, it cannot become another user.
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "setpriv"])
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["live", "-i", "va", "-Z", "daemon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only a session started as root"), "{err}");
    let report: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert!(report["capture"]["frames"].as_u64().unwrap() > 100);
    assert_eq!(report["phones"].as_array().map(Vec::len), Some(6));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Read a `-w` file with bootscope's reader and with tshark: both must read it to the
/// end without a warning (no cut record). The number of frames in it.
pub(crate) fn whole_capture_frames(file: &Path) -> u64 {
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "analyze {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = &report["capture"]["warnings"];
    assert_eq!(warnings, &serde_json::json!([]), "{}", file.display());
    let ours = report["capture"]["frames"].as_u64().unwrap();
    if Command::new("tshark").arg("-v").output().is_ok() {
        let t = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(file)
            .args(["-T", "fields", "-e", "frame.number"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&t.stderr);
        assert!(t.status.success(), "tshark -r {}: {said}", file.display());
        // tshark warns about a cut last record on stderr ("cut short in the middle of a
        // packet") and still exits 0 on some versions: its words are a failure too.
        assert!(!said.contains("cut short"), "tshark: {said}");
        let theirs = String::from_utf8_lossy(&t.stdout).lines().count() as u64;
        assert_eq!(
            theirs,
            ours,
            "tshark and bootscope count {}",
            file.display()
        );
    } else {
        eprintln!(
            "tshark absent: only bootscope's reader read {}",
            file.display()
        );
    }
    ours
}

/// How a test ends a session.
enum Ending {
    Signal(&'static str),
    Duration,
}

/// Replay a sample into a session writing `-w`, end it, and read the file: it holds
/// exactly the frames the report counts, the last one whole.
fn the_written_file_is_whole_after(ending: Ending, tag: &str) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/boot-loop/capture.pcap");
    let written = scratch(&format!("live-end-{tag}.pcap"));
    let ns = Netns::new();
    let w = written.to_str().unwrap();
    let mut args = vec!["--format", "json", "-w", w];
    if let Ending::Duration = ending {
        args.extend(["--duration", "6"]);
    }
    let mut live = Live::start(&ns, &args);
    replay(&ns, &sample, "0");
    std::thread::sleep(Duration::from_millis(300));
    let code = match ending {
        Ending::Signal(sig) => {
            live.signal(sig);
            live.exit_code(Duration::from_secs(30), &format!("on {sig}"))
        }
        Ending::Duration => live.exit_code(Duration::from_secs(30), "at its --duration"),
    };
    assert!(code.is_some_and(|c| c <= 1), "{tag}: exit {code:?}");
    let lines = drain(&live.stdout);
    let report: Value = serde_json::from_str(lines.last().expect("no report")).unwrap();
    let counted = report["capture"]["frames"].as_u64().unwrap();
    assert!(counted > 0, "{tag}: nothing captured");
    assert_eq!(whole_capture_frames(&written), counted, "{tag}");
}

#[test]
fn the_written_file_is_whole_after_ctrl_c() {
    if !can_run() {
        return;
    }
    the_written_file_is_whole_after(Ending::Signal("-INT"), "int");
}

#[test]
fn the_written_file_is_whole_after_sigterm() {
    if !can_run() {
        return;
    }
    the_written_file_is_whole_after(Ending::Signal("-TERM"), "term");
}

#[test]
fn the_written_file_is_whole_after_the_duration() {
    if !can_run() {
        return;
    }
    the_written_file_is_whole_after(Ending::Duration, "duration");
}

/// A small tmpfs, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn new(name: &str, size: &str) -> SmallDisk {
        let dir = scratch(name);
        let _ = Command::new("umount")
            .arg(&dir)
            .stderr(Stdio::null())
            .status();
        std::fs::create_dir_all(&dir).unwrap();
        let opt = format!("size={size}");
        sh(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &opt,
            "tmpfs",
            dir.to_str().unwrap(),
        ]);
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_said_and_the_file_keeps_its_whole_records() {
    if !can_run() {
        return;
    }
    // 64 KiB of tmpfs and a 640 KiB sample of DHCP floods: the disk fills early.
    let disk = SmallDisk::new("live-full-disk", "64k");
    let written = disk.0.join("full.pcap");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/dhcp-starvation/capture.pcap");
    let ns = Netns::new();
    let w = written.to_str().unwrap();
    let mut live = Live::start(&ns, &["--format", "json", "-w", w]);
    replay(&ns, &sample, "0");
    std::thread::sleep(Duration::from_millis(1500));
    live.signal("-TERM");
    let code = live.exit_code(Duration::from_secs(30), "on SIGTERM after a full disk");
    let lines = drain(&live.stdout);
    let err = drain(&live.stderr);
    // The report is printed, the exit says something went wrong.
    assert_eq!(code, Some(2), "{err:?}");
    let report: Value = serde_json::from_str(lines.last().expect("no report")).unwrap();
    let counted = report["capture"]["frames"].as_u64().unwrap();
    // Said at once (while the analysis went on) and again at the end, naming the file.
    let said: Vec<_> = err
        .iter()
        .filter(|l| {
            l.contains(&format!("cannot write the capture to {w}"))
                && l.contains("No space left on device")
        })
        .collect();
    assert!(said.len() >= 2, "{err:?}");
    assert!(said[0].contains("the analysis goes on"), "{err:?}");
    // The file: every record whole, as many as the message says, fewer than captured.
    let in_file = whole_capture_frames(&written);
    assert!(
        said[0].contains(&format!("holds the {in_file} whole frame(s)")),
        "{in_file}: {err:?}"
    );
    assert!(in_file > 0 && in_file < counted, "{in_file} of {counted}");
    eprintln!("full disk: {in_file} whole frame(s) in the file of {counted} captured");
    // The analysis went on past the disk: the report counts the whole replay's DHCP.
    let size = std::fs::metadata(&written).unwrap().len();
    assert!(size <= 64 * 1024, "{size}");
}

#[test]
fn an_attacking_phone_reaches_no_live_output_raw() {
    if !can_run() {
        return;
    }
    use crate::fuzz_regressions::fuzz_targets::{assert_json_printable, assert_printable};
    let capture = crate::escaping::attacker_capture("live-attacker.pcap");
    let inventory = scratch("live-attacker-inventory.csv");
    let events = scratch("live-attacker-events.ndjson");
    for format in ["table", "json"] {
        let ns = Netns::new();
        let mut args = vec!["--format", format];
        if format == "table" {
            args.extend([
                "--inventory",
                inventory.to_str().unwrap(),
                "--events",
                events.to_str().unwrap(),
            ]);
        }
        let live = Live::start(&ns, &args);
        replay(&ns, &capture, "0");
        std::thread::sleep(Duration::from_millis(1200));
        let (code, lines) = live.stop();
        assert!(code.is_some_and(|c| c <= 1), "{format}: exit {code:?}");
        let text = lines.join("\n");
        assert_printable(&text, &format!("live --format {format}"));
        // The phone's strings were shown (escaped), not dropped.
        assert!(text.contains("calc'!A0"), "{format}:\n{text}");
        if format == "json" {
            for l in &lines {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
                assert_json_printable(&v, "live json line");
                assert!(v.get("x").is_none(), "{l}");
            }
        }
    }
    let csv = std::fs::read_to_string(&inventory).unwrap();
    assert_printable(&csv.replace("\r\n", "\n"), "live --inventory");
    assert!(csv.contains("\"'=cmd|"), "{csv}");
    for l in std::fs::read_to_string(&events).unwrap().lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert_json_printable(&v, "live --events");
    }
}

#[test]
fn a_link_blip_shorter_than_the_grace_does_not_end_the_session() {
    if !can_run() {
        return;
    }
    // Down for half a second and back: the session goes on, counts both replays, and
    // its -w file holds them all.
    let ns = Netns::new();
    let written = scratch("live-blip.pcap");
    let live = Live::start(&ns, &["--format", "json", "-w", written.to_str().unwrap()]);
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/config-not-found/capture.pcap");
    replay(&ns, &sample, "0");
    std::thread::sleep(Duration::from_millis(300));
    sh(&["ip", "-n", &ns.0, "link", "set", "va", "down"]);
    std::thread::sleep(Duration::from_millis(500));
    sh(&["ip", "-n", &ns.0, "link", "set", "va", "up"]);
    std::thread::sleep(Duration::from_millis(1000));
    replay(&ns, &sample, "0");
    std::thread::sleep(Duration::from_millis(300));
    let (code, lines) = live.stop();
    assert!(code.is_some_and(|c| c <= 1), "exit {code:?}");
    let report: Value = serde_json::from_str(lines.last().expect("no report")).unwrap();
    // tshark: the sample holds 15 frames; sent twice.
    assert_eq!(report["capture"]["frames"], 30);
    assert_eq!(whole_capture_frames(&written), 30);
}
