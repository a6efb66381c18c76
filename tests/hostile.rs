//! Hostile input: the deliberately malformed captures, random frames on every
//! link type, and seeded damage to real captures. Nothing may panic or hang, and
//! damage is reported with the file and frame.

use std::ops::ControlFlow;

use bootscope::capture::{Frame, Linktype};
use bootscope::dispatch::Dispatcher;
use bootscope::dissect::{self, Format};
use proptest::prelude::*;

use crate::common::{all_captures, capture_path, scratch, Rng, CRASH_REGRESSIONS};

#[test]
fn malformed_captures_give_a_warning_naming_file_and_frame() {
    for (cap, frame) in CRASH_REGRESSIONS {
        let path = capture_path(cap);
        let mut out = Vec::new();
        let summary = dissect::run(&path, Format::Text, &mut out).unwrap();
        let needle = format!("frame {frame}:");
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            summary
                .warnings
                .iter()
                .any(|w| w.contains(&needle) && w.contains(&file)),
            "{cap}: {:?}",
            summary.warnings
        );
    }
}

#[test]
fn the_lldp_loop_regression_ends_with_its_frame_decoded() {
    // tcpdump looped forever on this frame; CATALOG.md: chassis = port = 08:00:27:42:ba:59.
    let mut out = Vec::new();
    dissect::run(
        &capture_path("tcpdump/lldp-infinite-loop-1.pcap"),
        Format::Json,
        &mut out,
    )
    .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8(out).unwrap().trim()).unwrap();
    assert_eq!(line["chassis_id"], "08:00:27:42:ba:59");
    assert_eq!(line["ttl"], 120);
}

#[test]
fn a_sound_capture_gives_no_warning() {
    for cap in ["tcpdump/dhcp-rfc5859.pcap", "zeek/wireshark.pcap"] {
        let mut out = Vec::new();
        let s = dissect::run(&capture_path(cap), Format::Text, &mut out).unwrap();
        assert!(s.warnings.is_empty(), "{cap}: {:?}", s.warnings);
        assert!(s.capture.warnings.is_empty(), "{cap}");
    }
}

#[test]
fn seeded_damage_to_every_capture_never_panics() {
    // 8 mutants per capture: byte flips past the file header, a cut, an insertion.
    let mut rng = Rng::new(0x5eed_b007_5c0e);
    let mut cases = 0;
    for cap in all_captures() {
        let original = std::fs::read(capture_path(&cap)).unwrap();
        for round in 0..8 {
            let mut bytes = original.clone();
            match round % 4 {
                0 | 1 => {
                    for _ in 0..1 + rng.index(16) {
                        let at = 24 + rng.index(bytes.len().saturating_sub(24));
                        if let Some(b) = bytes.get_mut(at) {
                            *b ^= 1 << rng.index(8);
                        }
                    }
                }
                2 => bytes.truncate(rng.index(bytes.len())),
                _ => {
                    let at = rng.index(bytes.len());
                    let junk: Vec<u8> = (0..rng.index(64)).map(|_| rng.next_u64() as u8).collect();
                    bytes.splice(at..at, junk);
                }
            }
            let path = scratch(&format!("mutant-{}-{round}", cap.replace('/', "_")));
            std::fs::write(&path, &bytes).unwrap();
            let mut out = Vec::new();
            // Either a clear error (the header was hit) or a run with warnings.
            let _ = dissect::run(&path, Format::Json, &mut out);
            cases += 1;
        }
    }
    assert_eq!(cases, 55 * 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_frames_on_every_link_type_never_panic(
        linktype in prop::sample::select(vec![0u32, 1, 12, 14, 101, 104, 113, 228, 229, 276, 147]),
        data in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut d = Dispatcher::default();
        let frame = Frame { number: 1, ts_ns: 0, linktype: Linktype(linktype), data: &data, orig_len: 0 };
        let _ = d.frame(&frame, |_, _| {});
    }

    #[test]
    fn random_payloads_on_the_boot_ports_never_panic(
        tcp in any::<bool>(),
        port in prop::sample::select(vec![67u16, 68, 69, 2000, 5060, 6970, 40000]),
        seqs in prop::collection::vec((any::<u32>(), prop::collection::vec(any::<u8>(), 0..300)), 1..8),
    ) {
        // Several segments of one flow, at random sequence numbers: the stream
        // follower and the stream parsers see gaps, overlaps and junk.
        let mut d = Dispatcher::default();
        for (i, (seq, payload)) in seqs.iter().enumerate() {
            let frame_bytes = ipv4(tcp, port, *seq, payload);
            let frame = Frame { number: i as u64 + 1, ts_ns: i as i64, linktype: Linktype::RAW, data: &frame_bytes, orig_len: 0 };
            let _ = d.frame(&frame, |_, _| {});
        }
    }
}

fn ipv4(tcp: bool, port: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let l4 = if tcp { 20 } else { 8 };
    let total = (20 + l4 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 64, if tcp { 6 } else { 17 }, 0, 0]);
    p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&40001u16.to_be_bytes());
    p.extend_from_slice(&port.to_be_bytes());
    if tcp {
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    p.extend_from_slice(payload);
    p
}

#[test]
fn a_reader_stops_cleanly_at_every_cut_of_a_capture() {
    // Cut a real capture at every byte of its headers and first records, then every
    // 7th: the reader never panics, and never delivers a frame the whole file lacks.
    let original = std::fs::read(capture_path("tcpdump/tftp.pcap")).unwrap();
    let (whole, _) = crate::common::read_frames(&capture_path("tcpdump/tftp.pcap"));
    let path = scratch("cut.pcap");
    for cut in (0..original.len()).filter(|&c| c < 200 || c % 7 == 0) {
        std::fs::write(&path, &original[..cut]).unwrap();
        let Ok(file) = bootscope::capture::open(&path) else {
            continue;
        };
        let mut n = 0usize;
        let stats = file
            .for_each_frame(|f| {
                assert_eq!(f.data, &whole[n].data[..], "cut at {cut}");
                n += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(stats.frames as usize, n);
        if n < whole.len() && cut > 24 {
            let cut_inside_a_record = stats.damaged();
            let cut_on_a_boundary = stats.warnings.is_empty();
            assert!(cut_inside_a_record || cut_on_a_boundary, "cut at {cut}");
        }
    }
}
