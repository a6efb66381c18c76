//! Metamorphic tests: every sample reshaped the way real captures come, each reshaping
//! with the change it may make to the verdicts. Those a capture's shape must not touch
//! (every frame twice, as a SPAN of both directions of a trunk gives; the clock moved;
//! pcap written as pcapng; another phone's traffic taken out) leave each phone's
//! status, stalled stage and findings as they were. Those that take information away
//! change them only in the stated, honest way: a capture of the phones' side alone
//! blames no server and stalls no phone that went on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bootscope::report::Report;

use crate::common::{analyze, read_frames, scratch, write_pcap, write_pcapng, OwnedFrame};

/// A phone's verdict: status, stalled stage, finding codes (sorted).
type Verdict = (String, Option<String>, Vec<String>);

fn verdicts(r: &Report) -> BTreeMap<String, Verdict> {
    r.phones
        .iter()
        .map(|p| {
            let mut codes: Vec<String> = p.findings.iter().map(|f| f.code.clone()).collect();
            codes.sort();
            let key = p.mac.clone().or(p.device_name.clone()).unwrap_or_default();
            (
                key,
                (
                    p.status.as_str().to_owned(),
                    p.stalled_stage.map(|s| s.to_string()),
                    codes,
                ),
            )
        })
        .collect()
}

fn samples() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("capture.pcap").is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, p.join("capture.pcap"))
        })
        .collect();
    out.sort();
    out
}

/// The report of `frames` written as `name` (pcap, Ethernet).
fn report_of(name: &str, frames: &[OwnedFrame]) -> Report {
    let path = scratch(name);
    std::fs::write(&path, write_pcap(frames, 1, false, true)).unwrap();
    analyze(&path)
}

fn mac_of(f: &OwnedFrame, at: usize) -> Option<String> {
    let b = f.data.get(at..at + 6)?;
    Some(
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

#[test]
fn a_capture_shape_does_not_change_a_verdict() {
    for (name, path) in samples() {
        let original = analyze(&path);
        let want = verdicts(&original);
        let (frames, _) = read_frames(&path);

        let doubled: Vec<OwnedFrame> = frames.iter().flat_map(|f| [f.clone(), f.clone()]).collect();
        let got = verdicts(&report_of(&format!("meta-doubled-{name}.pcap"), &doubled));
        assert_eq!(got, want, "{name}: every frame twice");

        let shifted: Vec<OwnedFrame> = frames
            .iter()
            .map(|f| OwnedFrame {
                ts_ns: f.ts_ns + 86_400 * 1_000_000_000 * 400 + 123_456_789,
                ..f.clone()
            })
            .collect();
        let got = verdicts(&report_of(&format!("meta-shifted-{name}.pcap"), &shifted));
        assert_eq!(got, want, "{name}: the clock moved 400 days");

        let ng = scratch(&format!("meta-{name}.pcapng"));
        std::fs::write(&ng, write_pcapng(&frames, 1)).unwrap();
        assert_eq!(verdicts(&analyze(&ng)), want, "{name}: as pcapng");
    }
}

#[test]
fn taking_one_phone_out_leaves_the_others_verdicts() {
    for (name, path) in samples() {
        let original = analyze(&path);
        let want = verdicts(&original);
        if want.len() < 2 {
            continue;
        }
        let (frames, _) = read_frames(&path);
        for gone in original.phones.iter().filter_map(|p| p.mac.clone()) {
            let ip = original
                .phones
                .iter()
                .find(|p| p.mac.as_deref() == Some(gone.as_str()))
                .and_then(|p| p.ip.clone());
            let ip_bytes: Option<Vec<u8>> = ip.as_deref().map(|s| {
                s.split('.')
                    .map(|o| o.parse::<u8>().unwrap())
                    .collect::<Vec<u8>>()
            });
            // Its frames either way, by MAC or, past a router, by address.
            let kept: Vec<OwnedFrame> = frames
                .iter()
                .filter(|f| {
                    let by_mac = [mac_of(f, 0), mac_of(f, 6)].contains(&Some(gone.clone()));
                    let by_ip = ip_bytes
                        .as_ref()
                        .is_some_and(|ip| f.data.windows(4).any(|w| w == ip.as_slice()));
                    !by_mac && !by_ip
                })
                .cloned()
                .collect();
            let mut others = want.clone();
            others.remove(&gone);
            let got = verdicts(&report_of(&format!("meta-without-{name}.pcap"), &kept));
            // The phone is gone, or left with no more than a bare trace.
            for (k, v) in &others {
                assert_eq!(got.get(k), Some(v), "{name} without {gone}: {k}");
            }
        }
    }
}

/// The codes that blame a server or the network for an answer that never came.
const BLAMES_AN_ABSENT_ANSWER: [&str; 7] = [
    "dhcp-no-offer",
    "tftp-no-response",
    "cucm-unreachable",
    "register-no-response",
    "no-progress",
    "dhcp-starvation",
    // Its alert and reset come from the call manager; seen from the phones' side
    // alone, only a ServerHello's absence could be said, and is not.
    "secure-register-failed",
];

#[test]
fn a_capture_of_the_phones_side_alone_blames_no_server() {
    for (name, path) in samples() {
        let original = analyze(&path);
        let phones: Vec<String> = original
            .phones
            .iter()
            .filter_map(|p| p.mac.clone())
            .collect();
        let (frames, _) = read_frames(&path);
        // `monitor session … source interface … rx`: what the phones sent, and what
        // was not addressed to one of them.
        let one_way: Vec<OwnedFrame> = frames
            .iter()
            .filter(|f| mac_of(f, 0).is_none_or(|dst| !phones.contains(&dst)))
            .cloned()
            .collect();
        let r = report_of(&format!("meta-one-way-{name}.pcap"), &one_way);
        let before = verdicts(&original);
        let after = verdicts(&r);
        let mut answered = false;
        for p in &r.phones {
            let key = p.mac.clone().unwrap_or_default();
            let lost = frames
                .iter()
                .filter(|f| mac_of(f, 0).as_deref() == Some(key.as_str()))
                .count();
            let undetermined = p.findings.iter().any(|f| f.code == "answers-not-captured");
            if lost == 0 && !(undetermined && r.capture.directions == "from_phones") {
                // Nothing was sent to it, and the capture does not show itself one-way:
                // what it shows of this phone is what it was.
                assert_eq!(after.get(&key), before.get(&key), "{name}: {key}");
                continue;
            }
            for f in &p.findings {
                assert!(
                    !BLAMES_AN_ABSENT_ANSWER.contains(&f.code.as_str()),
                    "{name}: {key}: {} from a one-way capture",
                    f.code
                );
            }
            // A phone the full capture shows registered is never stalled.
            if before.get(&key).is_some_and(|v| v.0 == "registered") {
                assert_ne!(p.status.as_str(), "stalled", "{name}: {key}");
            }
            answered |= !p.inferred_steps.is_empty();
        }
        // When the phones' own progress shows answers came, the capture says it is
        // one-way, once, before anything else.
        if answered {
            assert_eq!(r.capture.directions, "from_phones", "{name}");
            assert_eq!(r.capture_findings.len(), 1, "{name}");
            assert_eq!(r.capture_findings[0].code, "capture-one-way", "{name}");
            let table = bootscope::report::table::render(&r, None);
            assert!(table.starts_with("CAPTURE capture-one-way"), "{name}");
        }
    }
}

#[test]
fn a_capture_of_both_ways_says_so() {
    for (name, path) in samples() {
        let r = analyze(&path);
        assert!(r.capture_findings.is_empty(), "{name}");
        assert!(
            ["both", "unknown"].contains(&r.capture.directions),
            "{name}: {}",
            r.capture.directions
        );
    }
}

#[test]
fn an_sccp_phone_seen_only_from_its_side_is_registered_by_its_keepalives() {
    let path = crate::common::sample_path("healthy-sccp");
    let original = analyze(&path);
    let mac = original.phones[0].mac.clone().unwrap();
    let (frames, _) = read_frames(&path);
    let one_way: Vec<OwnedFrame> = frames
        .into_iter()
        .filter(|f| mac_of(f, 0).as_deref() != Some(mac.as_str()))
        .collect();
    let r = report_of("meta-one-way-sccp.pcap", &one_way);
    let p = &r.phones[0];
    assert_eq!(p.status.as_str(), "registered");
    assert!(
        p.inferred_steps.contains(&"registered".to_owned()),
        "{:?}",
        p.inferred_steps
    );
    // It sent its REQUEST, so an OFFER came; it asked for the next file, so it had the
    // last; it went to its call manager, so it had its configuration.
    for step in ["dhcp-offer", "dhcp-ack", "ctl", "itl", "config-tftp"] {
        let inferred = &p.inferred_steps;
        assert!(inferred.contains(&step.to_owned()), "{step}: {inferred:?}");
    }
    assert_eq!(p.directions, "from_phone");
    // Its boot time is not the first keepalive's, 30 s after the registration.
    assert_eq!(p.boot_duration, None);
}

/// Every frame of `frames` cut to `snap` bytes, as `tcpdump -s` or `editcap -s` does.
fn cut_to(frames: &[OwnedFrame], snap: usize) -> Vec<OwnedFrame> {
    frames
        .iter()
        .map(|f| OwnedFrame {
            data: f.data[..f.data.len().min(snap)].to_vec(),
            ..f.clone()
        })
        .collect()
}

#[test]
fn a_capture_cut_short_stalls_no_phone_on_bytes_it_never_held() {
    for (name, path) in samples() {
        let before = verdicts(&analyze(&path));
        let (frames, _) = read_frames(&path);
        let r = report_of(&format!("meta-cut-{name}.pcap"), &cut_to(&frames, 128));
        assert!(
            r.capture_findings.iter().any(|f| f.code == "capture-cut"),
            "{name}: {:?}",
            r.capture_findings
        );
        assert!(r.capture.frames_cut > 0, "{name}");
        for (key, (status, stage, codes)) in verdicts(&r) {
            assert!(
                !codes.contains(&"no-progress".to_owned()),
                "{name}: {key}: {codes:?}"
            );
            if status == "stalled" {
                // A stall that stands is one the whole capture shows too, read from
                // bytes the cut kept (a TFTP error, a NAK, a reject).
                let (was, was_stage, was_codes) = before.get(&key).cloned().unwrap_or_default();
                assert_eq!(
                    (was.as_str(), &was_stage),
                    ("stalled", &stage),
                    "{name}: {key}: {codes:?}"
                );
                let said = |c: &String| c == "cut-by-snaplen" || was_codes.contains(c);
                assert!(codes.iter().all(said), "{name}: {key}: {codes:?}");
            }
        }
    }
}

#[test]
fn a_fleet_cut_short_says_so_in_a_few_lines() {
    let sc = bootscope::model::fleet::scenario(300, 11, 600);
    let (pcap, _) = bootscope::model::simulate(&sc, Vec::new()).unwrap();
    let path = scratch("meta-fleet.pcap");
    std::fs::write(&path, pcap).unwrap();
    let (frames, _) = read_frames(&path);
    let r = report_of("meta-fleet-cut.pcap", &cut_to(&frames, 128));
    assert!(r.capture.frames_cut > 1000, "{}", r.capture.frames_cut);
    assert!(
        r.capture.warnings.len() <= 40,
        "{} warning lines: {:#?}",
        r.capture.warnings.len(),
        r.capture.warnings
    );
    assert!(r
        .phones
        .iter()
        .all(|p| !p.findings.iter().any(|f| f.code == "no-progress")));
}

/// An Ethernet frame taken apart: destination, source, the tags (4 bytes each,
/// outermost first), the ether type / length, and what follows.
type Ethernet<'a> = ([u8; 6], [u8; 6], Vec<[u8; 4]>, u16, &'a [u8]);

/// The Ethernet header of `f` split.
fn ethernet(f: &OwnedFrame) -> Ethernet<'_> {
    let d = &f.data;
    let (dst, src) = (d[..6].try_into().unwrap(), d[6..12].try_into().unwrap());
    let mut at = 12;
    let mut tags = Vec::new();
    loop {
        let t = u16::from_be_bytes([d[at], d[at + 1]]);
        if matches!(t, 0x8100 | 0x88a8 | 0x9100) {
            tags.push(d[at..at + 4].try_into().unwrap());
            at += 4;
        } else {
            return (dst, src, tags, t, &d[at + 2..]);
        }
    }
}

fn rebuilt(f: &OwnedFrame, data: Vec<u8>) -> OwnedFrame {
    let grown = data.len() as i64 - f.data.len() as i64;
    OwnedFrame {
        orig_len: (i64::from(f.orig_len) + grown) as u32,
        data,
        ..f.clone()
    }
}

/// Every frame with its VLAN tags taken off (a SPAN of an access port, or a NIC
/// that strips them).
fn untagged(frames: &[OwnedFrame]) -> Vec<OwnedFrame> {
    frames
        .iter()
        .map(|f| {
            let (dst, src, _, t, rest) = ethernet(f);
            let data = [&dst[..], &src[..], &t.to_be_bytes(), rest].concat();
            rebuilt(f, data)
        })
        .collect()
}

/// Every frame with an outer service tag added (a SPAN of a provider's QinQ trunk).
fn double_tagged(frames: &[OwnedFrame]) -> Vec<OwnedFrame> {
    frames
        .iter()
        .map(|f| {
            let outer = [0x88, 0xa8, 0x03, 0xe7]; // S-tag, VLAN 999
            let data = [&f.data[..12], &outer[..], &f.data[12..]].concat();
            rebuilt(f, data)
        })
        .collect()
}

/// Every frame as Linux "cooked" capture v1 (`tcpdump -i any`) or v2 sees it: the
/// source MAC, no destination, tags kept after the protocol.
fn cooked(frames: &[OwnedFrame], v2: bool) -> Vec<OwnedFrame> {
    frames
        .iter()
        .map(|f| {
            let (dst, src, tags, t, rest) = ethernet(f);
            // An 802.3 length field: the frame carries LLC (CDP).
            let (proto, body): (u16, Vec<u8>) = if t <= 1500 && tags.is_empty() {
                (0x0004, rest.to_vec())
            } else if let Some((first, more)) = tags.split_first() {
                let mut body: Vec<u8> = first[2..].to_vec();
                for tag in more {
                    body.extend_from_slice(tag);
                }
                body.extend_from_slice(&t.to_be_bytes());
                body.extend_from_slice(rest);
                (u16::from_be_bytes([first[0], first[1]]), body)
            } else {
                (t, rest.to_vec())
            };
            let packet_type: u16 = if dst[0] & 1 == 1 { 2 } else { 0 };
            let mut addr = [0u8; 8];
            addr[..6].copy_from_slice(&src);
            let head: Vec<u8> = if v2 {
                let mut h = proto.to_be_bytes().to_vec();
                h.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1]);
                h.push(packet_type as u8);
                h.push(6);
                h.extend_from_slice(&addr);
                h
            } else {
                let mut h = packet_type.to_be_bytes().to_vec();
                h.extend_from_slice(&[0, 1, 0, 6]);
                h.extend_from_slice(&addr);
                h.extend_from_slice(&proto.to_be_bytes());
                h
            };
            rebuilt(f, [head, body].concat())
        })
        .collect()
}

/// Every TCP segment with payload sent as two, split at `at` bytes (a sender with a
/// smaller MSS, or a middlebox re-segmenting).
fn resegmented(frames: &[OwnedFrame], at: usize) -> Vec<OwnedFrame> {
    let mut out = Vec::new();
    for f in frames {
        let (dst, src, tags, t, rest) = ethernet(f);
        let ihl = rest.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
        let is_tcp = t == 0x0800 && rest.len() > ihl + 20 && rest[9] == 6;
        let thl = if is_tcp {
            usize::from(rest[ihl + 12] >> 4) * 4
        } else {
            0
        };
        let total = if is_tcp {
            usize::from(u16::from_be_bytes([rest[2], rest[3]]))
        } else {
            0
        };
        if !is_tcp || total > rest.len() || total <= ihl + thl + at {
            out.push(f.clone());
            continue;
        }
        let payload = &rest[ihl + thl..total];
        let seq = u32::from_be_bytes(rest[ihl + 4..ihl + 8].try_into().unwrap());
        let mut l2 = [&dst[..], &src[..]].concat();
        for tag in &tags {
            l2.extend_from_slice(tag);
        }
        l2.extend_from_slice(&t.to_be_bytes());
        for (i, part) in [&payload[..at], &payload[at..]].into_iter().enumerate() {
            let mut ip = rest[..ihl + thl].to_vec();
            let len = (ihl + thl + part.len()) as u16;
            ip[2..4].copy_from_slice(&len.to_be_bytes());
            let s = seq.wrapping_add(if i == 0 { 0 } else { at as u32 });
            ip[ihl + 4..ihl + 8].copy_from_slice(&s.to_be_bytes());
            if i == 0 {
                ip[ihl + 13] &= !0x09; // FIN and PSH go with the second half
            }
            let data = [&l2[..], &ip[..], part].concat();
            out.push(OwnedFrame {
                orig_len: data.len() as u32,
                data,
                ts_ns: f.ts_ns + i as i64 * 1000,
                ..f.clone()
            });
        }
    }
    out
}

#[test]
fn tags_link_types_and_segments_do_not_change_a_verdict() {
    for (name, path) in samples() {
        let want = verdicts(&analyze(&path));
        let (frames, _) = read_frames(&path);
        let write = |tag: &str, frames: &[OwnedFrame], linktype: u32| {
            let path = scratch(&format!("meta-{tag}-{name}.pcap"));
            std::fs::write(&path, write_pcap(frames, linktype, false, true)).unwrap();
            verdicts(&analyze(&path))
        };
        assert_eq!(
            write("qinq", &double_tagged(&frames), 1),
            want,
            "{name}: QinQ"
        );
        assert_eq!(
            write("sll", &cooked(&frames, false), 113),
            want,
            "{name}: SLL"
        );
        assert_eq!(
            write("sll2", &cooked(&frames, true), 276),
            want,
            "{name}: SLL2"
        );
        assert_eq!(
            write("reseg", &resegmented(&frames, 7), 1),
            want,
            "{name}: re-segmented"
        );
        assert_eq!(
            write("untagged", &untagged(&frames), 1),
            want,
            "{name}: untagged"
        );
    }
}

#[test]
fn a_capture_rotated_into_files_reads_as_the_whole() {
    for (name, path) in samples() {
        let want = verdicts(&analyze(&path));
        let (frames, _) = read_frames(&path);
        let third = frames.len().div_ceil(3);
        let paths: Vec<PathBuf> = frames
            .chunks(third.max(1))
            .enumerate()
            .map(|(i, part)| {
                let p = scratch(&format!("meta-rotated-{name}-{i}.pcap"));
                std::fs::write(&p, write_pcap(part, 1, false, true)).unwrap();
                p
            })
            .collect();
        let rules = bootscope::analyze::load_rules(None).unwrap();
        let opts = bootscope::analyze::Options::default();
        let r = bootscope::analyze::run_files(&paths, &rules, &opts, &mut |_, _| {}).unwrap();
        assert_eq!(verdicts(&r), want, "{name}: in {} files", paths.len());
    }
}

#[test]
fn background_traffic_added_does_not_change_a_verdict() {
    for (name, path) in samples() {
        let want = verdicts(&analyze(&path));
        let (frames, _) = read_frames(&path);
        // The same site with no phone: PCs booting on the data VLAN and bulk traffic
        // around them, from the sample's first frame to its last.
        let dir = path.parent().unwrap();
        let mut sc = bootscope::model::Scenario::load(&dir.join("scenario.json")).unwrap();
        sc.phones.clear();
        sc.flood = None;
        sc.background.pcs = 4;
        sc.background.traffic_mbps = 0.5;
        let (pcap, _) = bootscope::model::simulate(&sc, Vec::new()).unwrap();
        let bg_path = scratch(&format!("meta-bg-only-{name}.pcap"));
        std::fs::write(&bg_path, pcap).unwrap();
        let (background, _) = read_frames(&bg_path);
        let mut mixed: Vec<OwnedFrame> = frames.iter().chain(&background).cloned().collect();
        mixed.sort_by_key(|f| f.ts_ns);
        assert!(mixed.len() > frames.len() + 100, "{name}: {}", mixed.len());
        let got = verdicts(&report_of(&format!("meta-bg-{name}.pcap"), &mixed));
        assert_eq!(got, want, "{name}: with background traffic");
    }
}

#[test]
fn other_phones_interleaved_leave_each_phones_verdict() {
    for (name, path) in samples() {
        let want = verdicts(&analyze(&path));
        let (frames, _) = read_frames(&path);
        // Four other phones booting on the same site at the same time, on addresses and
        // MACs of their own (the fleet's 00:1b:54:4x), judged alone first.
        let dir = path.parent().unwrap();
        let sample = bootscope::model::Scenario::load(&dir.join("scenario.json")).unwrap();
        let mut others = bootscope::model::fleet::scenario(4, 77, sample.duration_s);
        others.start_epoch = sample.start_epoch;
        others.site = sample.site.clone();
        others.site.pool_start = std::net::Ipv4Addr::new(10, 100, 7, 20);
        others.site.faults.clear();
        for (i, p) in others.phones.iter_mut().enumerate() {
            p.start_ms = 300 * i as u64;
        }
        let (pcap, _) = bootscope::model::simulate(&others, Vec::new()).unwrap();
        let alone_path = scratch(&format!("meta-others-{name}.pcap"));
        std::fs::write(&alone_path, pcap).unwrap();
        let alone = verdicts(&analyze(&alone_path));
        assert!(alone.len() >= 2, "{name}: {alone:?}");
        let (other_frames, _) = read_frames(&alone_path);
        let mut mixed: Vec<OwnedFrame> = frames.iter().chain(&other_frames).cloned().collect();
        mixed.sort_by_key(|f| f.ts_ns);
        let got = verdicts(&report_of(&format!("meta-interleaved-{name}.pcap"), &mixed));
        for (k, v) in want.iter().chain(&alone) {
            assert_eq!(got.get(k), Some(v), "{name}: {k} among other phones");
        }
    }
}
