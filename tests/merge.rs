//! One capture path: pcap, pcapng and stdin go through the same time-ordered merge.
//! A capture split into pcapng files, or into a pcap and a pcapng half, or half of
//! it on stdin, is analyzed as the whole; the merged frames are numbered as
//! `mergecap` numbers them.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bootscope::capture::{self, Input, Merge, Source};

use crate::common::{
    json, ng, read_frames, sample_path, scratch, strip_files, write_pcap, write_pcapng, OwnedFrame,
};

/// Samples with TFTP transfers and TCP streams, whose outcomes need frames in time
/// order.
const SAMPLES: [&str; 3] = ["mixed-site", "boot-loop", "firmware-upgrade-one-reboot"];

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_owned()
}

/// Odd and even frames (two taps on one segment).
fn halves(frames: &[OwnedFrame]) -> (Vec<OwnedFrame>, Vec<OwnedFrame>) {
    frames.iter().cloned().partition(|f| f.number % 2 == 1)
}

#[test]
fn a_split_pcapng_is_analyzed_as_the_whole() {
    for sample in SAMPLES {
        let (frames, _) = read_frames(&sample_path(sample));
        // The whole, as the sample's pcap and as a pcapng of the same frames.
        let want = strip_files(&json(&[sample_path(sample)], 1));
        let whole = write(
            &scratch(&format!("ng-split-{sample}-whole.pcapng")),
            &write_pcapng(&frames, 1),
        );
        assert_eq!(strip_files(&json(&[whole], 1)), want, "{sample}: whole");

        // Interleaved: odd and even frames in two files, given in either order.
        let (odd, even) = halves(&frames);
        let a = write(
            &scratch(&format!("ng-split-{sample}-odd.pcapng")),
            &write_pcapng(&odd, 1),
        );
        let b = write(
            &scratch(&format!("ng-split-{sample}-even.pcapng")),
            &write_pcapng(&even, 1),
        );
        for threads in [1, 2] {
            assert_eq!(
                strip_files(&json(&[b.clone(), a.clone()], threads)),
                want,
                "{sample}: interleaved, {threads} thread(s)"
            );
        }

        // Rotated: consecutive pieces, given in reverse.
        let thirds = frames.len().div_ceil(3);
        let mut pieces: Vec<PathBuf> = frames
            .chunks(thirds)
            .enumerate()
            .map(|(i, chunk)| {
                let p = scratch(&format!("ng-split-{sample}-{i}.pcapng"));
                write(&p, &write_pcapng(chunk, 1))
            })
            .collect();
        pieces.reverse();
        assert_eq!(
            strip_files(&json(&pieces, 2)),
            want,
            "{sample}: rotated pieces in reverse"
        );
    }
}

#[test]
fn a_pcap_half_and_a_pcapng_half_merge_as_the_whole() {
    for sample in SAMPLES {
        let (frames, _) = read_frames(&sample_path(sample));
        let want = strip_files(&json(&[sample_path(sample)], 1));
        let (odd, even) = halves(&frames);
        let pcap = write(
            &scratch(&format!("mixed-{sample}-odd.pcap")),
            &write_pcap(&odd, 1, false, true),
        );
        let pcapng = write(
            &scratch(&format!("mixed-{sample}-even.pcapng")),
            &write_pcapng(&even, 1),
        );
        for threads in [1, 2] {
            for paths in [
                [pcap.clone(), pcapng.clone()],
                [pcapng.clone(), pcap.clone()],
            ] {
                assert_eq!(
                    strip_files(&json(&paths, threads)),
                    want,
                    "{sample}: {paths:?}, {threads} thread(s)"
                );
            }
        }
    }
}

#[test]
fn half_a_capture_on_stdin_merges_with_a_file() {
    let sample = "mixed-site";
    let (frames, _) = read_frames(&sample_path(sample));
    let (odd, even) = halves(&frames);
    let file = write(
        &scratch("stdin-merge-odd.pcap"),
        &write_pcap(&odd, 1, false, true),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args(["analyze", "--format", "json", "-"])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = write_pcapng(&even, 1);
    let feeder = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["capture"]["files"], serde_json::json!(["-", file]));
    let got = strip_files(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(got, strip_files(&json(&[sample_path(sample)], 1)));
}

#[test]
fn merged_frames_are_numbered_along_the_merged_stream() {
    let (frames, _) = read_frames(&sample_path("boot-loop"));
    let (odd, even) = halves(&frames);
    let a = write(
        &scratch("numbered-odd.pcap"),
        &write_pcap(&odd, 1, false, true),
    );
    let b = write(&scratch("numbered-even.pcapng"), &write_pcapng(&even, 1));
    let maps: Vec<_> = capture::mapped::map(&a).into_iter().collect();
    let inputs = vec![
        Input::Streamed(capture::open(&b).unwrap()),
        Input::Mapped(maps[0].walk()),
    ];
    let mut merge = Merge::new(inputs).unwrap();
    let mut got = Vec::new();
    while let Some(f) = merge.next_frame().unwrap() {
        got.push(OwnedFrame::of(&f));
    }
    assert_eq!(got, frames);
    let stats = merge.into_stats();
    assert_eq!(stats.frames, frames.len() as u64);
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
}

#[test]
fn ties_go_to_the_earlier_file() {
    let (frames, _) = read_frames(&sample_path("boot-loop"));
    let [f1, f2, f3] = [&frames[0], &frames[1], &frames[2]];
    // File A: packets at t=1 and t=2 (ns); file B, a pcap: one at t=1, the tie.
    let mut a = ng::shb();
    a.extend(ng::idb(1, Some(9)));
    a.extend(ng::epb(0, 1, &f1.data));
    a.extend(ng::epb(0, 2, &f3.data));
    let a = write(&scratch("ties-a.pcapng"), &a);
    let tie = OwnedFrame {
        ts_ns: 1,
        ..f2.clone()
    };
    let b = write(&scratch("ties-b.pcap"), &write_pcap(&[tie], 1, false, true));
    for (paths, want) in [([&a, &b], [f1, f2, f3]), ([&b, &a], [f2, f1, f3])] {
        let inputs = paths
            .iter()
            .map(|p| Input::Streamed(capture::open(p).unwrap()))
            .collect();
        let mut merge = Merge::new(inputs).unwrap();
        let mut got = Vec::new();
        while let Some(f) = merge.next_frame().unwrap() {
            got.push((f.number, f.data.to_vec()));
        }
        let want: Vec<_> = (1..).zip(want.map(|f| f.data.clone())).collect();
        assert_eq!(got, want, "{paths:?}");
    }
}

#[test]
fn a_packet_counted_but_not_delivered_keeps_its_number() {
    let (frames, _) = read_frames(&sample_path("boot-loop"));
    // A packet on an interface no block describes is counted (tshark numbers it) but
    // not delivered: the merge numbers the frames after it as their file does.
    let mut a = ng::shb();
    a.extend(ng::idb(1, Some(9)));
    a.extend(ng::epb(0, 1, &frames[0].data));
    a.extend(ng::epb(7, 2, &frames[1].data));
    a.extend(ng::epb(0, 3, &frames[2].data));
    let a = write(&scratch("skipped.pcapng"), &a);
    let mut merge = Merge::new(vec![capture::open(&a).unwrap()]).unwrap();
    let mut got = Vec::new();
    while let Some(f) = merge.next_frame().unwrap() {
        got.push(f.number);
    }
    assert_eq!(got, [1, 3]);
    let stats = merge.into_stats();
    assert_eq!(stats.frames, 3);
    // The warning names the file and the skipped frame, by its number there.
    let [w] = &stats.warnings[..] else {
        panic!("{:?}", stats.warnings)
    };
    assert_eq!((w.file.as_path(), w.after_frame), (a.as_path(), 2));
}
