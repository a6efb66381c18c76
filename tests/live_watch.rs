//! The live watcher without libpcap: a sample's frames go through the same pipeline
//! as `live`, and the watcher is asked at chosen clock times. Expected values come
//! from tshark's reading of the sample (frame numbers, VLAN, addresses) and from
//! rules/boot_sequence.json (the step timeouts), not from bootscope's output.

use std::ops::ControlFlow;
use std::path::Path;

use bootscope::analyze;
use bootscope::capture;
use bootscope::engine::EngineLimits;
use bootscope::live::render;
use bootscope::live::watch::{LiveEventKind, Watcher};
use bootscope::pipeline::Pipeline;
use bootscope::reassembly::StreamLimits;
use rules::Stage;

const S: i64 = 1_000_000_000;

fn sample(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("samples/{name}/capture.pcap"))
}

/// Every frame of a sample through a pipeline, `each` called after each frame; the
/// pipeline and the last frame's time.
fn through_pipeline<'r>(
    rules: &'r rules::RuleSet,
    name: &str,
    mut each: impl FnMut(&Pipeline<'r>, i64),
) -> (Pipeline<'r>, i64) {
    let mut p = Pipeline::new("t", rules, EngineLimits::default(), StreamLimits::default());
    let mut last = 0;
    capture::open(&sample(name))
        .unwrap()
        .for_each_frame(|f| {
            p.frame(f);
            last = f.ts_ns;
            each(&p, f.ts_ns);
            ControlFlow::Continue(())
        })
        .unwrap();
    (p, last)
}

#[test]
fn a_phone_that_goes_quiet_is_declared_stalled_on_the_clock() {
    // tshark: frames 1-2 CDP (the switch's reply carries VoIP VLAN 100), 3-6 DHCP on
    // VLAN 100 (ACK: 10.100.0.20 from 10.1.1.2), 8-11 CTL and ITL "File not found", the
    // last at 1.967176 s. Then nothing: the capture ends before the config request.
    let rules = analyze::load_rules(None).unwrap();
    let (p, last) = through_pipeline(&rules, "capture-ends-mid-boot", |_, _| {});
    let mut w = Watcher::new();
    let ev: Vec<_> = w.poll(p.engine(), last + S).to_vec();
    let got: Vec<(LiveEventKind, Option<u64>)> = ev.iter().map(|e| (e.event, e.frame)).collect();
    assert_eq!(
        got,
        [
            (LiveEventKind::PhoneSeen, Some(1)),
            (LiveEventKind::VoiceVlan, Some(2)),
            (LiveEventKind::IpAcquired, Some(6)),
        ]
    );
    assert_eq!(ev[1].detail, "VLAN 100");
    assert_eq!(ev[2].detail, "10.100.0.20 on VLAN 100 from 10.1.1.2");
    assert!(ev
        .iter()
        .all(|e| e.mac.as_deref() == Some("00:1b:54:aa:15:01")));
    // Asking again with nothing new says nothing.
    assert!(w.poll(p.engine(), last + 2 * S).is_empty());
    // The ITL step's timeout is 20 s: at 19 s the phone is still booting...
    assert!(w.poll(p.engine(), last + 19 * S).is_empty());
    // ...past it, it is stalled at config (it never asked for its configuration).
    let ev = w.poll(p.engine(), last + 21 * S).to_vec();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].event, LiveEventKind::Stalled);
    assert_eq!(ev[0].stage, Some(Stage::Config));
    assert_eq!(ev[0].ts_ns, last + 21 * S);
    // Declared once.
    assert!(w.poll(p.engine(), last + 60 * S).is_empty());
    let phones = w.phones();
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].status.as_str(), "stalled");
    // The lines name the phone, the event and the frame.
    let line = render::text_line(&ev[0]);
    assert!(
        line.contains("stalled") && line.contains("at config"),
        "{line}"
    );
    // The terminal screen: cleared and redrawn from the top, the phone's row, the lines.
    let recent: std::collections::VecDeque<String> = [line.clone()].into();
    let screen = render::screen("bootscope live on eth1", &phones, &recent, Some(160));
    assert!(screen.starts_with("\x1b[H\x1b[2J"), "{screen:?}");
    let row = screen
        .lines()
        .find(|l| l.contains("00:1b:54:aa:15:01"))
        .expect("a row for the phone");
    assert!(row.contains("stalled") && row.contains("config"), "{row}");
    assert!(screen.trim_end().ends_with(line.trim_end()), "{screen}");
    let json: serde_json::Value = serde_json::from_str(&render::json_line(&ev[0])).unwrap();
    assert_eq!(json["event"], "stalled");
    assert_eq!(json["stage"], "config");
    assert_eq!(json["mac"], "00:1b:54:aa:15:01");
}

#[test]
fn every_milestone_of_a_firmware_upgrade_is_announced_once_per_boot() {
    // The sample: the phone fetches its config, downloads a new load over TFTP, reboots
    // and then registers (samples/firmware-upgrade-one-reboot/scenario.json).
    let rules = analyze::load_rules(None).unwrap();
    let mut w = Watcher::new();
    let mut events = Vec::new();
    // Look after every frame, as often as a session could.
    through_pipeline(&rules, "firmware-upgrade-one-reboot", |p, now| {
        events.extend(w.poll(p.engine(), now).iter().map(|e| e.event));
    });
    use LiveEventKind::*;
    let count = |k| events.iter().filter(|e| **e == k).count();
    assert_eq!(count(PhoneSeen), 1, "{events:?}");
    assert_eq!(count(Rebooting), 1, "{events:?}");
    assert_eq!(count(FirmwareDownloading), 1, "{events:?}");
    // Config fetched in both boots, registered only in the second.
    assert_eq!(count(ConfigFetched), 2, "{events:?}");
    assert_eq!(count(Registered), 1, "{events:?}");
    assert_eq!(count(Stalled), 0, "{events:?}");
    let pos = |k| events.iter().position(|e| *e == k).unwrap();
    assert!(pos(FirmwareDownloading) < pos(Rebooting));
    assert!(pos(Rebooting) < pos(Registered));
}

#[test]
fn without_libpcap_live_says_how_to_get_it() {
    if cfg!(feature = "live") {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args(["live", "-i", "lo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without live capture") && err.contains("--features live"),
        "{err}"
    );
    assert!(err.contains("libpcap-dev"), "{err}");
}
